//! Chain verification: detects edited, forged, deleted, reordered and truncated entries.

use super::chain::{entry_hash, load_key, mac, AuditEntry, Head, GENESIS_HASH};
use crate::storage::{keys, StorageResult, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The sequence number (position) where the chain first disagrees.
    pub seq: u64,
    /// `edited`, `forged`, `missing`, `reordered`, `broken-link`, `truncated`, `head-mismatch`, `unreadable`.
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    pub checked: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The retention checkpoint verification started from, if any.
    pub from_checkpoint: Option<u64>,
    pub problems: Vec<Problem>,
}

/// The signed record retention leaves behind: the last pruned entry's seq and hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub seq: u64,
    pub entry_hash: String,
    pub mac_key_id: String,
    pub mac: String,
}

/// Walks the chain page by page (at most `max_entries`), reporting every problem found.
pub fn verify(store: Store<'_>, max_entries: usize) -> StorageResult<VerifyReport> {
    let head: Option<Head> = store.get(keys::AUDIT_HEAD)?;
    let checkpoint: Option<Checkpoint> = store.get(keys::AUDIT_CHECKPOINT)?;
    let mut key_cache: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut problems = Vec::new();

    let (mut expect_seq, mut expect_prev) = match &checkpoint {
        Some(cp) => {
            let key = load_key(store.host, &cp.mac_key_id)?;
            if mac(
                &key.key,
                &format!("checkpoint:{}:{}", cp.seq, cp.entry_hash),
            ) != cp.mac
            {
                problems.push(Problem {
                    seq: cp.seq,
                    kind: "forged".into(),
                    detail: "the retention checkpoint's MAC does not match".into(),
                });
            }
            key_cache.insert(key.id, key.key);
            (cp.seq + 1, cp.entry_hash.clone())
        }
        None => (1, GENESIS_HASH.to_string()),
    };

    let (mut checked, mut first, mut last) = (0u64, None, None);
    let mut cursor: Option<String> = None;
    'pages: loop {
        let page = store.host.kvs_query(
            keys::AUDIT_EVENT_PREFIX,
            cursor.as_deref(),
            crate::storage::MAX_PAGE,
        )?;
        for e in page.entries {
            let key_seq: u64 = e.key[keys::AUDIT_EVENT_PREFIX.len()..].parse().unwrap_or(0);
            let entry: AuditEntry = match serde_json::from_str(&e.value) {
                Ok(x) => x,
                Err(err) => {
                    problems.push(Problem {
                        seq: key_seq,
                        kind: "unreadable".into(),
                        detail: err.to_string(),
                    });
                    expect_seq = key_seq + 1;
                    continue;
                }
            };
            checked += 1;
            first.get_or_insert(key_seq);
            last = Some(key_seq);
            if entry.seq != key_seq {
                problems.push(Problem {
                    seq: key_seq,
                    kind: "reordered".into(),
                    detail: format!("entry {} is stored at position {key_seq}", entry.seq),
                });
            } else if key_seq > expect_seq {
                problems.push(Problem {
                    seq: expect_seq,
                    kind: "missing".into(),
                    detail: format!("entries {expect_seq}..{} are gone", key_seq - 1),
                });
            }
            if entry.prev_hash != expect_prev {
                problems.push(Problem {
                    seq: key_seq,
                    kind: "broken-link".into(),
                    detail: "prevHash does not match the previous entry".into(),
                });
            }
            let recomputed = entry_hash(&entry);
            if recomputed != entry.entry_hash {
                problems.push(Problem {
                    seq: key_seq,
                    kind: "edited".into(),
                    detail: "the entry's content does not match its entryHash".into(),
                });
            } else {
                if !key_cache.contains_key(&entry.mac_key_id) {
                    match load_key(store.host, &entry.mac_key_id) {
                        Ok(k) => {
                            key_cache.insert(k.id, k.key);
                        }
                        Err(_) => {
                            problems.push(Problem {
                                seq: key_seq,
                                kind: "forged".into(),
                                detail: "the entry names an unknown MAC key".into(),
                            });
                        }
                    }
                }
                if let Some(k) = key_cache.get(&entry.mac_key_id) {
                    if mac(k, &entry.entry_hash) != entry.entry_mac {
                        problems.push(Problem {
                            seq: key_seq,
                            kind: "forged".into(),
                            detail: "entryMac does not match (hash recomputed without the key?)"
                                .into(),
                        });
                    }
                }
            }
            expect_seq = key_seq + 1;
            expect_prev = entry.entry_hash;
            if checked as usize >= max_entries {
                break 'pages;
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }

    if let Some(h) = &head {
        let key = match key_cache.get(&h.mac_key_id) {
            Some(k) => Some(k.clone()),
            None => load_key(store.host, &h.mac_key_id).ok().map(|k| k.key),
        };
        let valid = key.is_some_and(|k| mac(&k, &Head::message(h.seq, &h.entry_hash)) == h.mac);
        if !valid {
            problems.push(Problem {
                seq: h.seq,
                kind: "forged".into(),
                detail: "the head's MAC does not match".into(),
            });
        }
    }
    match &head {
        Some(h) => {
            let last_seq = last.unwrap_or(expect_seq - 1);
            if h.seq > last_seq {
                problems.push(Problem {
                    seq: last_seq + 1,
                    kind: "truncated".into(),
                    detail: format!(
                        "the head names entry {} but the chain ends at {last_seq}",
                        h.seq
                    ),
                });
            } else if h.seq < last_seq || h.entry_hash != expect_prev {
                problems.push(Problem {
                    seq: h.seq,
                    kind: "head-mismatch".into(),
                    detail: "the head does not name the last entry".into(),
                });
            }
        }
        None if checked > 0 => problems.push(Problem {
            seq: 0,
            kind: "head-mismatch".into(),
            detail: "entries exist but the head is missing".into(),
        }),
        None => {}
    }

    Ok(VerifyReport {
        ok: problems.is_empty(),
        checked,
        first_seq: first,
        last_seq: last,
        from_checkpoint: checkpoint.map(|c| c.seq),
        problems,
    })
}
