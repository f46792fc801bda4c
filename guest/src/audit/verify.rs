//! Chain verification: detects edited, forged, deleted, reordered and truncated entries, and a
//! chain shorter than its anchor in secret storage (rolled back or wiped).
//!
//! Only what was read and found wrong is a problem. A storage or secrets outage while reading is
//! an error (`unverifiable`): a key that could not be fetched is not a forged entry.

use super::chain::{entry_hash, load_key, mac, AuditEntry, Head, MacKey, GENESIS_HASH};
use crate::error::{AppError, ErrorKind};
use crate::host::Host;
use crate::storage::{keys, StorageError, StorageResult, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The sequence number (position) where the chain first disagrees.
    pub seq: u64,
    /// `edited`, `forged`, `missing`, `reordered`, `broken-link`, `truncated`, `head-mismatch`,
    /// `unreadable`, `rolled-back`.
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
    /// How long the chain is known to have been (the anchor in secret storage), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchored_seq: Option<u64>,
    pub problems: Vec<Problem>,
}

/// A MAC key by id: `None` when secret storage has no such key (a forged id), an error when
/// secret storage did not answer.
fn key_by_id(host: &dyn Host, id: &str) -> StorageResult<Option<MacKey>> {
    match load_key(host, id) {
        Ok(k) => Ok(Some(k)),
        Err(StorageError::Host(h)) => Err(StorageError::Host(h)),
        Err(_) => Ok(None),
    }
}

/// The resolver's answer when verification could not read what it needs: never "forged".
pub fn unverifiable(e: StorageError) -> AppError {
    match e {
        StorageError::Host(h) => AppError::new(
            ErrorKind::Unavailable,
            "AUDIT_UNVERIFIABLE",
            format!(
                "could not verify: unavailable ({}); nothing was found wrong, try again later",
                match h {
                    crate::host::HostError::Timeout => "a storage call timed out".to_string(),
                    crate::host::HostError::RateLimited { .. } => "storage is throttling".into(),
                    _ => "storage or secret storage did not answer".into(),
                }
            ),
        ),
        other => other.into(),
    }
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

    let anchor = super::anchor::read(store.host)?;
    let mut anchored_hash: Option<String> = None;
    let (mut expect_seq, mut expect_prev) = match &checkpoint {
        Some(cp) => {
            let key = key_by_id(store.host, &cp.mac_key_id)?;
            let valid = key.as_ref().is_some_and(|k| {
                mac(&k.key, &format!("checkpoint:{}:{}", cp.seq, cp.entry_hash)) == cp.mac
            });
            if !valid {
                problems.push(Problem {
                    seq: cp.seq,
                    kind: "forged".into(),
                    detail: "the retention checkpoint's MAC does not match".into(),
                });
            }
            if let Some(k) = key {
                key_cache.insert(k.id, k.key);
            }
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
                    match key_by_id(store.host, &entry.mac_key_id)? {
                        Some(k) => {
                            key_cache.insert(k.id, k.key);
                        }
                        None => {
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
            if anchor.as_ref().is_some_and(|a| a.seq == key_seq) {
                anchored_hash = Some(entry.entry_hash.clone());
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
            None => key_by_id(store.host, &h.mac_key_id)?.map(|k| k.key),
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

    // The anchor is out of reach of a KVS rollback: a chain that ends before it lost its tail,
    // whatever the (restored, genuine) head says; wiping everything ends the chain at 0.
    if let Some(a) = &anchor {
        let end = last
            .unwrap_or(0)
            .max(checkpoint.as_ref().map_or(0, |c| c.seq));
        if a.seq > end {
            problems.push(Problem {
                seq: end + 1,
                kind: "rolled-back".into(),
                detail: format!(
                    "the chain ends at #{end} but had reached #{} (the anchor in secret storage): entries {}..{} were removed",
                    a.seq,
                    end + 1,
                    a.seq
                ),
            });
        } else if anchored_hash.as_ref().is_some_and(|h| *h != a.entry_hash) {
            problems.push(Problem {
                seq: a.seq,
                kind: "rolled-back".into(),
                detail: "this entry is not the one the app appended at this position".into(),
            });
        }
    }

    Ok(VerifyReport {
        ok: problems.is_empty(),
        checked,
        first_seq: first,
        last_seq: last,
        from_checkpoint: checkpoint.map(|c| c.seq),
        anchored_seq: anchor.map(|a| a.seq),
        problems,
    })
}
