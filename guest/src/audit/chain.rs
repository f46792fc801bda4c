use crate::host::Host;
use crate::storage::{keys, StorageError, StorageResult, Store, Tx};
use crate::time;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Bounded retries when another writer moved the head first.
const MAX_APPEND_ATTEMPTS: usize = 8;

/// What a caller wants recorded; `commit_with_audit` seals it into the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub kind: String,
    /// An account id, or `app` for the app's own actions.
    pub actor: String,
    pub issue_key: Option<String>,
    pub subject: Value,
    pub data: Value,
    pub policy_version: Option<u64>,
}

impl AuditDraft {
    pub fn new(kind: &str, actor: &str) -> Self {
        AuditDraft {
            kind: kind.into(),
            actor: actor.into(),
            issue_key: None,
            subject: Value::Null,
            data: Value::Null,
            policy_version: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: String,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_key: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub subject: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<u64>,
    pub mac_key_id: String,
    pub prev_hash: String,
    pub entry_hash: String,
    pub entry_mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    pub seq: u64,
    pub entry_hash: String,
    /// HMAC over `head:<seq>:<entryHash>`: without the key nobody can roll the head back to hide
    /// a truncated tail.
    #[serde(default)]
    pub mac: String,
    /// The audit MAC key that signed this head.
    #[serde(default)]
    pub mac_key_id: String,
}

impl Head {
    pub fn genesis() -> Self {
        Head {
            seq: 0,
            entry_hash: GENESIS_HASH.into(),
            mac: String::new(),
            mac_key_id: String::new(),
        }
    }

    pub fn signed(seq: u64, entry_hash: String, key: &MacKey) -> Self {
        let mac = mac(&key.key, &Self::message(seq, &entry_hash));
        Head {
            seq,
            entry_hash,
            mac,
            mac_key_id: key.id.clone(),
        }
    }

    pub fn message(seq: u64, entry_hash: &str) -> String {
        format!("head:{seq}:{entry_hash}")
    }
}

pub struct MacKey {
    pub id: String,
    pub key: Vec<u8>,
}

/// Keys sorted at every level, no whitespace: the bytes that are hashed.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::with_capacity(512);
    write_canonical(v, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Scalars and keys go through serde_json's writer (the same bytes `Value`'s `Display` gives,
/// without a `String` and the formatting machinery per key: this was a fifth of an ingest).
fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if !keys.is_sorted() {
                keys.sort();
            }
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k.as_str()).expect("writing to a Vec");
                out.push(b':');
                write_canonical(&map[*k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => serde_json::to_writer(&mut *out, other).expect("writing to a Vec"),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The hash of an entry as stored (its own `entryHash`/`entryMac` excluded).
pub fn entry_hash(entry: &AuditEntry) -> String {
    let mut v = serde_json::to_value(entry).expect("audit entries always serialize");
    if let Value::Object(m) = &mut v {
        m.remove("entryHash");
        m.remove("entryMac");
    }
    hex(&Sha256::digest(canonical_json(&v).as_bytes()))
}

pub fn mac(key: &[u8], message: &str) -> String {
    let mut m =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(message.as_bytes());
    hex(&m.finalize().into_bytes())
}

/// Builds the sealed entry that follows `prev`.
pub fn seal(
    draft: &AuditDraft,
    seq: u64,
    prev_hash: &str,
    now_ms: u64,
    key: &MacKey,
) -> AuditEntry {
    let mut e = AuditEntry {
        seq,
        kind: draft.kind.clone(),
        at: time::rfc3339(now_ms),
        actor: draft.actor.clone(),
        issue_key: draft.issue_key.clone(),
        subject: draft.subject.clone(),
        data: draft.data.clone(),
        policy_version: draft.policy_version,
        mac_key_id: key.id.clone(),
        prev_hash: prev_hash.to_string(),
        entry_hash: String::new(),
        entry_mac: String::new(),
    };
    e.entry_hash = entry_hash(&e);
    e.entry_mac = mac(&key.key, &e.entry_hash);
    e
}

/// The audit MAC key: read through `audit-mac-key-id` → secret `audit-mac-key:<id>`, created on
/// first use. The secret is written *before* the id is published (create-if-absent), so a crash
/// leaves at most an unused secret, and two first writers agree on the winner's key.
pub fn mac_key(store: Store<'_>, known_id: Option<Option<String>>) -> StorageResult<MacKey> {
    let host = store.host;
    let id: Option<String> = match known_id {
        Some(raw) => raw
            .map(|t| crate::storage::decode(keys::AUDIT_MAC_KEY_ID, &t))
            .transpose()?,
        None => store.get(keys::AUDIT_MAC_KEY_ID)?,
    };
    if let Some(id) = id {
        return load_key(host, &id);
    }
    let id = hex(&host.random_bytes(8));
    let key = host.random_bytes(32);
    host.secret_set(&keys::audit_mac_secret(&id), &hex(&key))?;
    if store.create(keys::AUDIT_MAC_KEY_ID, &id)? {
        return Ok(MacKey { id, key });
    }
    // Another invocation published its key first: use that one.
    let _ = host.secret_delete(&keys::audit_mac_secret(&id));
    let winner: String = store
        .get(keys::AUDIT_MAC_KEY_ID)?
        .ok_or_else(|| StorageError::Conflict(keys::AUDIT_MAC_KEY_ID.into()))?;
    load_key(host, &winner)
}

pub fn load_key(host: &dyn Host, id: &str) -> StorageResult<MacKey> {
    let text = host
        .secret_get(&keys::audit_mac_secret(id))?
        .ok_or_else(|| StorageError::Corrupt {
            key: keys::audit_mac_secret(id),
            reason: "the audit MAC key is missing from secret storage".into(),
        })?;
    let key = unhex(&text).ok_or_else(|| StorageError::Corrupt {
        key: keys::audit_mac_secret(id),
        reason: "not hex".into(),
    })?;
    Ok(MacKey {
        id: id.to_string(),
        key,
    })
}

/// Commits `build`'s writes together with `drafts` appended to the chain, in one transaction
/// conditioned on the head. `head_hint` is the head text already read (saves a call on the first
/// attempt); on a head conflict the head is re-read and everything rebuilt, at most 8 times.
/// Returns the sequence numbers given to the drafts. Any other conflict is returned unchanged, so
/// callers can treat e.g. "request already exists" as a duplicate delivery.
pub fn commit_with_audit(
    store: Store<'_>,
    key: &MacKey,
    head_hint: Option<Option<String>>,
    drafts: &[AuditDraft],
    mut build: impl FnMut(&mut Tx<'_>) -> StorageResult<()>,
) -> StorageResult<Vec<u64>> {
    let mut head_raw = match head_hint {
        Some(h) => h,
        None => store.get_raw(keys::AUDIT_HEAD)?,
    };
    for _ in 0..MAX_APPEND_ATTEMPTS {
        let head: Head = match &head_raw {
            Some(t) => crate::storage::decode(keys::AUDIT_HEAD, t)?,
            None => Head::genesis(),
        };
        let mut tx = store.tx();
        build(&mut tx)?;
        let now = store.host.now_ms();
        let (mut seq, mut prev) = (head.seq, head.entry_hash.clone());
        let mut seqs = Vec::with_capacity(drafts.len());
        for d in drafts {
            seq += 1;
            let entry = seal(d, seq, &prev, now, key);
            prev = entry.entry_hash.clone();
            tx.create(&keys::audit_event(seq), &entry)?;
            seqs.push(seq);
        }
        if !drafts.is_empty() {
            let new_head = Head::signed(seq, prev.clone(), key);
            tx.set_if_current(keys::AUDIT_HEAD, &new_head, head_raw.as_deref())?;
        }
        match tx.commit() {
            Ok(()) => {
                if !drafts.is_empty() {
                    super::anchor::advance(store.host, seq, &prev);
                }
                return Ok(seqs);
            }
            Err(StorageError::Conflict(k))
                if k == keys::AUDIT_HEAD || k.starts_with(keys::AUDIT_EVENT_PREFIX) =>
            {
                head_raw = store.get_raw(keys::AUDIT_HEAD)?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::Conflict(keys::AUDIT_HEAD.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_sorted_compact_and_escaped_as_serde_json_writes_them() {
        let v = serde_json::json!({"b": 1, "a": "x\"y\\", "c": [1.5, null, true, {"z": "é\u{1}\n", "y": -0}]});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"x\"y\\","b":1,"c":[1.5,null,true,{"y":0,"z":"é\u0001\n"}]}"#
        );
        // The bytes every stored entry was hashed with: Value's Display, key by key.
        let display = format!("{v}");
        assert_eq!(canonical_json(&v).len(), display.len());
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
