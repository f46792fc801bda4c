use super::anchor::Anchor;
use super::merkle;
use super::tiles::{self, Edge};
use crate::host::{Host, Level};
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
    /// The last entry's sequence number, which is also the Merkle tree's size.
    pub seq: u64,
    pub entry_hash: String,
    /// HMAC over `head:<seq>:<entryHash>:<rootHash>`: without the key nobody can roll the head
    /// back to hide a truncated tail, or change the tree it names.
    #[serde(default)]
    pub mac: String,
    /// The audit MAC key that signed this head.
    #[serde(default)]
    pub mac_key_id: String,
    /// The Merkle root of the first `seq` entries (base64, as checkpoints carry it).
    #[serde(default)]
    pub root_hash: String,
    /// The tree's right edge (`tiles::Edge`): complete subtrees left of the filling tile, then
    /// that tile's leaf hashes, each as base64 of concatenated 32-byte hashes.
    #[serde(default)]
    pub frontier: String,
    #[serde(default)]
    pub tile: String,
    /// The day (`YYYY-MM-DD`) of the last entry: a new day starts an `audit-day:` index key.
    #[serde(default)]
    pub day: String,
    /// Tiles the last append changed and has not written to their keys yet (`tiles::Edge::spill`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spill: Vec<tiles::SpillTile>,
}

impl Head {
    pub fn genesis() -> Self {
        Head {
            seq: 0,
            entry_hash: GENESIS_HASH.into(),
            mac: String::new(),
            mac_key_id: String::new(),
            root_hash: tiles::b64(&merkle::empty_root()),
            frontier: String::new(),
            tile: String::new(),
            day: String::new(),
            spill: Vec::new(),
        }
    }

    pub fn signed(seq: u64, entry_hash: String, edge: &Edge, day: String, key: &MacKey) -> Self {
        let root_hash = tiles::b64(&edge.root());
        let mac = mac(&key.key, &Self::message(seq, &entry_hash, &root_hash));
        Head {
            seq,
            entry_hash,
            mac,
            mac_key_id: key.id.clone(),
            root_hash,
            frontier: tiles::encode(&edge.frontier),
            tile: tiles::encode(&edge.partial),
            day,
            spill: tiles::spill_out(&edge.spill),
        }
    }

    pub fn message(seq: u64, entry_hash: &str, root_hash: &str) -> String {
        format!("head:{seq}:{entry_hash}:{root_hash}")
    }

    /// The right edge the head carries, if it is well formed and hashes to its root.
    pub fn edge(&self) -> Option<Edge> {
        if self.seq == 0 {
            return Some(Edge::empty());
        }
        let edge = Edge {
            size: self.seq,
            partial: tiles::decode(&self.tile)?,
            frontier: tiles::decode(&self.frontier)?,
            spill: tiles::spill_in(&self.spill)?,
        };
        (edge.well_formed() && tiles::b64(&edge.root()) == self.root_hash).then_some(edge)
    }
}

pub struct MacKey {
    pub id: String,
    pub key: Vec<u8>,
    /// How far the chain is known to have reached (kept with the key in secret storage, D-110):
    /// `None` only for a key written before anchors lived with it.
    pub anchor: Option<Anchor>,
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

pub fn unhex(s: &str) -> Option<Vec<u8>> {
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
/// leaves at most an unused secret, and two first writers agree on the winner's key. A new key
/// starts with the genesis anchor, so a key whose anchor is missing was not made by the app.
pub fn mac_key(store: Store<'_>, known_id: Option<Option<String>>) -> StorageResult<MacKey> {
    let host = store.host;
    let id: Option<String> = match known_id {
        Some(raw) => raw
            .map(|t| crate::storage::decode(keys::AUDIT_MAC_KEY_ID, &t))
            .transpose()?,
        None => store.get(keys::AUDIT_MAC_KEY_ID)?,
    };
    if let Some(id) = id {
        // A key id whose secret is gone or unreadable: the chain can no longer be signed, and
        // a new key would hide what the old one signed.
        return load_key(host, &id).map_err(|e| match e {
            StorageError::Corrupt { reason, .. } => {
                broken(store, format!("audit key {id}: {reason}"))
            }
            other => other,
        });
    }
    // No key id in KVS. Secret storage remembers whether a key was ever made: if so, KVS was
    // wiped, and starting a new chain would hide that.
    if let Some(id) = keyring(host)? {
        return Err(broken(
            store,
            format!(
                "the audit key id is gone from storage, but key {id} exists: the trail was wiped"
            ),
        ));
    }
    let fresh = MacKey {
        id: hex(&host.random_bytes(8)),
        key: host.random_bytes(32),
        anchor: Some(Anchor::genesis()),
    };
    host.secret_set(&keys::audit_mac_secret(&fresh.id), &fresh.secret_text())?;
    if store.create(keys::AUDIT_MAC_KEY_ID, &fresh.id)? {
        let ring = serde_json::json!({ "macKeyId": fresh.id }).to_string();
        host.secret_set(keys::AUDIT_KEYRING_SECRET, &ring)?;
        return Ok(fresh);
    }
    // Another invocation published its key first: use that one.
    let _ = host.secret_delete(&keys::audit_mac_secret(&fresh.id));
    let winner: String = store
        .get(keys::AUDIT_MAC_KEY_ID)?
        .ok_or_else(|| StorageError::Conflict(keys::AUDIT_MAC_KEY_ID.into()))?;
    load_key(host, &winner)
}

/// The MAC key id secret storage remembers (`audit-keyring`), out of reach of a KVS wipe.
pub fn keyring(host: &dyn Host) -> StorageResult<Option<String>> {
    Ok(host
        .secret_get(keys::AUDIT_KEYRING_SECRET)?
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["macKeyId"].as_str().map(str::to_string)))
}

/// The secret's text: `{"key": hex, "anchor": {...}}` (a bare hex key is read as well).
#[derive(Serialize, Deserialize)]
struct KeySecret {
    key: String,
    #[serde(default)]
    anchor: Option<Anchor>,
}

impl MacKey {
    pub fn secret_text(&self) -> String {
        serde_json::to_string(&KeySecret {
            key: hex(&self.key),
            anchor: self.anchor.clone(),
        })
        .expect("key secrets serialize")
    }
}

pub fn load_key(host: &dyn Host, id: &str) -> StorageResult<MacKey> {
    let name = keys::audit_mac_secret(id);
    let text = host
        .secret_get(&name)?
        .ok_or_else(|| StorageError::Corrupt {
            key: name.clone(),
            reason: "the audit MAC key is missing from secret storage".into(),
        })?;
    let parsed = if text.starts_with('{') {
        serde_json::from_str::<KeySecret>(&text).ok()
    } else {
        Some(KeySecret {
            key: text,
            anchor: None,
        })
    };
    let (key, anchor) = parsed
        .and_then(|s| Some((unhex(&s.key)?, s.anchor)))
        .ok_or_else(|| StorageError::Corrupt {
            key: name,
            reason: "not an audit key".into(),
        })?;
    Ok(MacKey {
        id: id.to_string(),
        key,
        anchor,
    })
}

/// The right edge of the chain's tree at `head`, if the head may be appended to: signed with
/// this key, hashing to its root, and not behind the anchor kept with the key. Anything else
/// means storage was rolled back, wiped or edited, and the append must not paper over it.
pub fn checked_edge(head: Option<&Head>, key: &MacKey) -> Result<Edge, String> {
    let anchored = key.anchor.as_ref().map_or(0, |a| a.seq);
    let Some(h) = head else {
        return if anchored == 0 {
            Ok(Edge::empty())
        } else {
            Err(format!(
                "the chain's head is gone, but the chain had reached entry {anchored}"
            ))
        };
    };
    if h.mac_key_id != key.id
        || mac(&key.key, &Head::message(h.seq, &h.entry_hash, &h.root_hash)) != h.mac
    {
        return Err(format!(
            "the head (entry {}) is not signed with the audit key",
            h.seq
        ));
    }
    let edge = h.edge().ok_or_else(|| {
        format!(
            "the head's tree (entry {}) does not hash to its root",
            h.seq
        )
    })?;
    match &key.anchor {
        Some(a) if a.seq > h.seq => Err(format!(
            "the chain ends at entry {} but had reached entry {}: it was rolled back",
            h.seq, a.seq
        )),
        Some(a) if a.seq == h.seq && a.entry_hash != h.entry_hash => Err(format!(
            "entry {} is not the entry the app appended there",
            h.seq
        )),
        _ => Ok(edge),
    }
}

/// Records that an append found the chain broken, for the admin screens (no audit entry can be
/// written on top of a broken chain), and returns the error the caller reports.
pub fn broken(store: Store<'_>, detail: String) -> StorageError {
    store
        .host
        .log(Level::Error, &format!("audit: appends halted: {detail}"));
    let record =
        serde_json::json!({"detectedAt": time::rfc3339(store.host.now_ms()), "detail": detail});
    if let Err(e) = store.put(keys::AUDIT_BROKEN, &record) {
        store.host.log(
            Level::Warn,
            &format!("audit: could not record the break ({e:?})"),
        );
    }
    StorageError::AuditBroken(detail)
}

/// Writes the tiles a head carries in its spill to their keys, in one transaction that checks
/// the head is still that one (a later head carries newer contents of the same tiles, and its
/// appender writes those). Nothing else is written: the next append sees the tiles stored as its
/// head's spill says and leaves them out of its own head. Best effort: what is not flushed
/// stays in the head, and the next append flushes it.
pub fn flush_spill(store: Store<'_>, head: &Head) {
    let Ok(text) = crate::storage::encode(head) else {
        return;
    };
    let mut tx = store.tx();
    let mut stage = || -> StorageResult<()> {
        for t in &head.spill {
            tx.set(&tiles::key(t.l, t.n), &t.h)?;
        }
        tx.check(
            keys::AUDIT_HEAD,
            crate::host::Condition::Equals(text.clone()),
        )?;
        Ok(())
    };
    let res = stage().and_then(|()| tx.commit());
    if let Err(e) = res {
        if !matches!(e, StorageError::Conflict(_)) {
            store.host.log(
                Level::Warn,
                &format!(
                    "audit: tiles not flushed at entry {} ({e:?}); the next append does",
                    head.seq
                ),
            );
        }
    }
}

/// Commits `build`'s writes together with `drafts` appended to the chain, in one transaction
/// conditioned on the head. `head_hint` is the head text already read (saves a call on the first
/// attempt); on a head conflict the head is re-read and everything rebuilt, at most 8 times.
/// Returns the sequence numbers given to the drafts. Any other conflict is returned unchanged, so
/// callers can treat e.g. "request already exists" as a duplicate delivery.
///
/// Each entry becomes a leaf of the Merkle tree: the same transaction writes the new head (with
/// the tree's new right edge and root), an `audit-issue:` index key for an entry that names an
/// issue (an `audit-actor:` key per person acting is written just before it), an `audit-day:` key for the first entry of a day, and any tile that filled
/// (`tiles`). A head the key's anchor or MAC disagrees with fails closed (`AUDIT_BROKEN`).
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
        let mut tx = store.tx();
        build(&mut tx)?;
        if drafts.is_empty() {
            return tx.commit().map(|()| Vec::new());
        }
        let head: Option<Head> = head_raw
            .as_deref()
            .map(|t| crate::storage::decode(keys::AUDIT_HEAD, t))
            .transpose()?;
        let edge = checked_edge(head.as_ref(), key).map_err(|d| broken(store, d))?;
        if head.is_none() {
            // A new log: every entry is in the actor index from the first on, and (a new
            // installation) no request predates the requests-by-tool index.
            tx.set(keys::AUDIT_ACTOR_INDEX_FROM, &1u64)?;
            tx.set(
                keys::REQUEST_TOOL_INDEX_BACKFILL,
                &serde_json::json!({"done": true}),
            )?;
        }
        let head = head.unwrap_or_else(Head::genesis);
        let now = store.host.now_ms();
        let today = time::day(now);
        let (mut seq, mut prev) = (head.seq, head.entry_hash.clone());
        let mut seqs = Vec::with_capacity(drafts.len());
        let mut leaves = Vec::with_capacity(drafts.len());
        // One index key per issue per append, listing its entries (an append's entries are
        // usually about one issue): the audit adds few operations to the caller's transaction.
        let mut by_issue: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        let mut by_actor: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for d in drafts {
            seq += 1;
            let entry = seal(d, seq, &prev, now, key);
            let digest: merkle::Hash = unhex(&entry.entry_hash)
                .and_then(|b| b.try_into().ok())
                .expect("entry hashes are 32 bytes of hex");
            leaves.push(merkle::leaf_hash(&digest));
            if let Some(issue) = &entry.issue_key {
                by_issue.entry(issue.clone()).or_default().push(seq);
            }
            if super::actors::indexed(&entry.actor) {
                by_actor.entry(entry.actor.clone()).or_default().push(seq);
            }
            prev = entry.entry_hash.clone();
            tx.create(&keys::audit_event(seq), &entry)?;
            seqs.push(seq);
        }
        for (issue, list) in &by_issue {
            let name = keys::audit_issue(issue, list[0]);
            // An issue key Forge's key rules refuse is not indexed (the entry still is).
            if crate::storage::check_key(&name).is_ok() {
                tx.set(&name, list)?;
            }
        }
        // The actor index is written before the transaction, not in it (a decision's
        // transaction sits near Forge's 25 operations): a hint readers verify against the
        // entry (`audit::actors`). An append that then loses the head leaves keys naming
        // other actors' entries, which searches read and drop.
        for (actor, list) in &by_actor {
            let name = keys::audit_actor(actor, list[0]);
            if crate::storage::check_key(&name).is_ok() {
                store.put(&name, list)?;
            }
        }
        if head.day != today {
            tx.set(&keys::audit_day(&today), &seqs[0])?;
        }
        // The tiles this append adds to, and the last append's spill: one read, and only when
        // a tile fills or a spill is still in the head. A spilled tile stored as it is was
        // flushed and leaves the head.
        let mut edge = edge;
        let mut want: std::collections::BTreeSet<(u32, u64)> =
            tiles::upper_tiles_touched(edge.size, leaves.len() as u64)
                .into_iter()
                .collect();
        want.extend(edge.spill.keys().copied());
        let upper = if want.is_empty() {
            Default::default()
        } else {
            tiles::read(store, &want)?
        };
        edge.spill.retain(|at, h| upper.get(at) != Some(h));
        let grown = tiles::append(&edge, &leaves, &upper).map_err(|d| broken(store, d))?;
        let new_head = Head::signed(seq, prev.clone(), &grown.edge, today, key);
        tx.set_if_current(keys::AUDIT_HEAD, &new_head, head_raw.as_deref())?;
        match tx.commit() {
            Ok(()) => {
                super::anchor::advance(store.host, key, seq, &prev);
                if !new_head.spill.is_empty() {
                    flush_spill(store, &new_head);
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
