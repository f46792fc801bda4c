//! Signed checkpoints: the tree's size and root, signed with the installation's Ed25519 key, in
//! the C2SP formats transparency logs use (tlog-checkpoint inside a signed note), so anyone with
//! the public key can check an export or evidence pack without any secret.
//!
//! ```text
//! aiclearance/<cloudId>/audit          origin
//! 1234                                 tree size (= the last entry's seq)
//! <base64 root hash>
//! time 2026-12-07T05:00:00.000Z        extension line: when it was signed
//!
//! — aiclearance/<cloudId>/audit <base64(key id ‖ Ed25519 signature)>
//! ```
//!
//! The key id is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key); the verifier
//! key an auditor is handed reads `<name>+<key id hex>+<base64(0x01 ‖ public key)>`.
//!
//! Storage: the seed is the secret `audit-signing-key:<key id>` (written before the public record
//! `audit-signing-key` is published create-if-absent, as the MAC key is); the latest checkpoint
//! is `audit-checkpoint-latest`, each one also `audit-checkpoint:<size>`; and the latest is
//! written to a Forge app property in Jira (`aiclearance-audit-checkpoint`), the **witness**: it
//! lives outside the app's storage, so a rollback of KVS and secret storage together still
//! disagrees with it.

use super::chain::{broken, checked_edge, hex, mac_key, unhex, Head};
use super::merkle::{self, Hash};
use super::tiles;
use crate::host::{Host, HttpRequest, Level, Principal};
use crate::storage::{keys, StorageError, StorageResult, Store};
use crate::time;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The Forge app property that witnesses the latest checkpoint.
pub const WITNESS_PROPERTY: &str = "aiclearance-audit-checkpoint";
const SIG_PREFIX: &str = "\u{2014} ";

/// The log's origin (also its key's name): one per installation. A signed-note name has no
/// spaces and no '+', so the cloud id keeps only the characters an id has.
pub fn origin(cloud_id: &str) -> String {
    let id: String = cloud_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    format!(
        "aiclearance/{}/audit",
        if id.is_empty() { "local" } else { &id }
    )
}

/// The C2SP signed-note key id of an Ed25519 key.
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(public);
    h.finalize()[..4].try_into().expect("four bytes")
}

pub fn verifier_key(name: &str, public: &[u8; 32]) -> String {
    let mut typed = vec![1u8];
    typed.extend_from_slice(public);
    format!(
        "{name}+{}+{}",
        hex(&key_id(name, public)),
        B64.encode(typed)
    )
}

/// `(name, key id, public key)` of a verifier key string.
pub fn parse_verifier_key(text: &str) -> Option<(String, [u8; 4], [u8; 32])> {
    // Names never contain '+' (C2SP signed-note); the base64 key may.
    let mut parts = text.trim().splitn(3, '+');
    let (name, id, key) = (parts.next()?, parts.next()?, parts.next()?);
    let typed = B64.decode(key).ok()?;
    if typed.len() != 33 || typed[0] != 1 || name.is_empty() {
        return None;
    }
    let public: [u8; 32] = typed[1..].try_into().ok()?;
    let id: [u8; 4] = unhex(id)?.try_into().ok()?;
    (id == key_id(name, &public)).then(|| (name.to_string(), id, public))
}

/// A checkpoint's body, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub time: String,
}

impl Body {
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            B64.encode(self.root),
            self.time
        )
    }

    fn parse(text: &str) -> Result<Body, String> {
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .collect();
        if lines.len() < 3 {
            return Err("a checkpoint has an origin, a size and a root hash".into());
        }
        let size = lines[1]
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == lines[1])
            .ok_or("the tree size is not a decimal number")?;
        let root: Hash = B64
            .decode(lines[2])
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the root hash is not 32 bytes of base64")?;
        let time = lines[3..]
            .iter()
            .find_map(|l| l.strip_prefix("time "))
            .unwrap_or("")
            .to_string();
        Ok(Body {
            origin: lines[0].to_string(),
            size,
            root,
            time,
        })
    }
}

/// The installation's signing key (the seed never leaves secret storage but for signing).
pub struct Signer25519 {
    pub name: String,
    key: SigningKey,
}

impl Signer25519 {
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        Signer25519 {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn verifier_key(&self) -> String {
        verifier_key(&self.name, &self.public())
    }

    /// base64(key id ‖ Ed25519 signature) over `bytes`, as a signed note's signature line holds.
    pub fn sign_bytes(&self, bytes: &[u8]) -> String {
        let mut blob = key_id(&self.name, &self.public()).to_vec();
        blob.extend_from_slice(&self.key.sign(bytes).to_bytes());
        B64.encode(blob)
    }

    /// The signed note: the body, a blank line, one signature line.
    pub fn sign(&self, body: &Body) -> String {
        let text = body.text();
        format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            self.sign_bytes(text.as_bytes())
        )
    }
}

/// Opens a signed note with a verifier key: the body if a signature line by that key verifies.
pub fn open(note: &str, vkey: &str) -> Result<Body, String> {
    let (name, id, public) = parse_verifier_key(vkey).ok_or("the public key is malformed")?;
    let split = note
        .find("\n\n")
        .ok_or("a signed note has its body, a blank line and signatures")?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    let vk =
        VerifyingKey::from_bytes(&public).map_err(|_| "the public key is not a curve point")?;
    let mut by_other = false;
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
            return Err("a signature line does not start with an em dash".into());
        };
        let Some((signer, blob)) = rest.rsplit_once(' ') else {
            return Err("a signature line has no signature".into());
        };
        let blob = B64.decode(blob).map_err(|_| "a signature is not base64")?;
        if signer != name || blob.len() != 68 || blob[..4] != id {
            by_other = true;
            continue;
        }
        let sig = Signature::from_bytes(&blob[4..].try_into().expect("64 bytes"));
        vk.verify(text.as_bytes(), &sig)
            .map_err(|_| "the signature does not match the checkpoint")?;
        let body = Body::parse(text)?;
        if body.origin != name {
            return Err(format!(
                "the checkpoint is for {:?}, not {name:?}",
                body.origin
            ));
        }
        return Ok(body);
    }
    Err(if by_other {
        "the checkpoint is signed by another key (another installation?)".into()
    } else {
        "the checkpoint carries no signature".into()
    })
}

/// The public half, as admins and exports show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub name: String,
    pub key_id: String,
    pub public_key: String,
    pub verifier_key: String,
    pub created_at: String,
}

/// A stored checkpoint: the signed note and what it says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Signed {
    pub size: u64,
    pub root_hash: String,
    pub time: String,
    pub note: String,
}

#[derive(Serialize, Deserialize)]
struct Seed {
    seed: String,
    name: String,
}

/// The signing key, created on first use like the MAC key: the secret first, then the public
/// record create-if-absent; the loser of a race drops its secret and uses the winner's.
pub fn signer(store: Store<'_>, cloud_id: &str) -> StorageResult<(Signer25519, PublicKey)> {
    let host = store.host;
    if let Some(public) = store.get::<PublicKey>(keys::AUDIT_SIGNING_KEY)? {
        return load(host, public);
    }
    let name = origin(cloud_id);
    let seed: [u8; 32] = host
        .random_bytes(32)
        .try_into()
        .map_err(|_| StorageError::Corrupt {
            key: keys::AUDIT_SIGNING_KEY.into(),
            reason: "the host gave fewer than 32 random bytes".into(),
        })?;
    let s = Signer25519::from_seed(&name, seed);
    let public = PublicKey {
        name: name.clone(),
        key_id: hex(&key_id(&name, &s.public())),
        public_key: B64.encode(s.public()),
        verifier_key: s.verifier_key(),
        created_at: time::rfc3339(host.now_ms()),
    };
    let text = serde_json::to_string(&Seed {
        seed: hex(&seed),
        name,
    })
    .expect("seeds serialize");
    host.secret_set(&keys::audit_signing_secret(&public.key_id), &text)?;
    if store.create(keys::AUDIT_SIGNING_KEY, &public)? {
        return Ok((s, public));
    }
    let _ = host.secret_delete(&keys::audit_signing_secret(&public.key_id));
    let winner = store
        .get::<PublicKey>(keys::AUDIT_SIGNING_KEY)?
        .ok_or_else(|| StorageError::Conflict(keys::AUDIT_SIGNING_KEY.into()))?;
    load(host, winner)
}

fn load(host: &dyn Host, public: PublicKey) -> StorageResult<(Signer25519, PublicKey)> {
    let name = keys::audit_signing_secret(&public.key_id);
    let corrupt = |reason: &str| StorageError::Corrupt {
        key: name.clone(),
        reason: reason.into(),
    };
    let text = host
        .secret_get(&name)?
        .ok_or_else(|| corrupt("the audit signing key is missing from secret storage"))?;
    let seed: Seed = serde_json::from_str(&text).map_err(|_| corrupt("not a signing key"))?;
    let bytes: [u8; 32] = unhex(&seed.seed)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("not a 32-byte seed"))?;
    let s = Signer25519::from_seed(&seed.name, bytes);
    if s.verifier_key() != public.verifier_key {
        return Err(corrupt(
            "the secret does not match the published public key",
        ));
    }
    Ok((s, public))
}

/// How much [`sign_latest`] checks when nothing new needs signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Witness {
    /// Compare with the witness only when signing (the hourly sweep: an idle hour stays one
    /// read; the daily verification compares it anyway).
    WhenSigning,
    /// Compare with the witness every time (an administrator asked, or evidence is about to
    /// be handed out).
    Always,
}

/// Signs a checkpoint of the current head unless the latest one already covers it, writes it
/// (latest and history) and hands it to the witness. Refuses (`AUDIT_BROKEN`, recorded for the
/// admin) to sign a head the MAC key's anchor, the previous checkpoint or the witness in Jira
/// disagrees with: a signature must never bless a rolled-back or rewritten tree. The witness is
/// the one record a rollback of storage and secrets together cannot reach. Returns the
/// checkpoint that covers the head.
pub fn sign_latest(
    host: &dyn Host,
    cloud_id: &str,
    witness: Witness,
) -> StorageResult<Option<Signed>> {
    let store = Store::new(host);
    let got = store.batch_get(&[
        keys::AUDIT_HEAD.to_string(),
        keys::AUDIT_CHECKPOINT_LATEST.to_string(),
        keys::AUDIT_SIGNING_KEY.to_string(),
    ])?;
    let head_raw = got.get(keys::AUDIT_HEAD);
    let latest_raw = got.get(keys::AUDIT_CHECKPOINT_LATEST);
    let head: Option<Head> = head_raw
        .map(|t| crate::storage::decode(keys::AUDIT_HEAD, t))
        .transpose()?;
    let latest: Option<Signed> = latest_raw
        .map(|t| crate::storage::decode(keys::AUDIT_CHECKPOINT_LATEST, t))
        .transpose()?;
    let public: Option<PublicKey> = got
        .get(keys::AUDIT_SIGNING_KEY)
        .map(|t| crate::storage::decode(keys::AUDIT_SIGNING_KEY, t))
        .transpose()?;
    let Some(head) = head else {
        return Ok(latest);
    };
    let fresh = latest.as_ref().is_some_and(|c| c.size == head.seq);
    let edge = if fresh {
        head.edge()
            .ok_or_else(|| broken(store, "the head's tree does not hash to its root".into()))?
    } else {
        let key = mac_key(store, None)?;
        checked_edge(Some(&head), &key).map_err(|d| broken(store, d))?
    };
    if let Some(public) = public
        .as_ref()
        .filter(|_| !fresh || witness == Witness::Always)
    {
        check_witness(store, &edge, public)?;
    }
    if fresh {
        return Ok(latest);
    }
    if let Some(prev) = &latest {
        // The new tree must extend the one last signed (RFC 6962 consistency, by recomputing
        // the old root from the tiles).
        if root_at(store, &edge, prev.size)?.map(|h| tiles::b64(&h)) != Some(prev.root_hash.clone())
        {
            return Err(broken(
                store,
                format!(
                    "the tree of {} entries no longer contains the {} the last checkpoint signed",
                    edge.size, prev.size
                ),
            ));
        }
    }
    let (signer, _) = signer(store, cloud_id)?;
    let body = Body {
        origin: signer.name.clone(),
        size: head.seq,
        root: edge.root(),
        time: time::rfc3339(host.now_ms()),
    };
    let signed = Signed {
        size: body.size,
        root_hash: head.root_hash.clone(),
        time: body.time.clone(),
        note: signer.sign(&body),
    };
    let mut tx = store.tx();
    tx.set_if_current(
        keys::AUDIT_CHECKPOINT_LATEST,
        &signed,
        latest_raw.map(String::as_str),
    )?;
    tx.set(&keys::audit_checkpoint(signed.size), &signed)?;
    match tx.commit() {
        Ok(()) => {}
        // Another invocation signed first: its checkpoint covers at least what we read.
        Err(StorageError::Conflict(_)) => {
            return store.get(keys::AUDIT_CHECKPOINT_LATEST);
        }
        Err(e) => return Err(e),
    }
    witness_put(host, &signed);
    Ok(Some(signed))
}

/// The root of the first `size` entries, from the head's edge and the tiles.
fn root_at(store: Store<'_>, edge: &tiles::Edge, size: u64) -> StorageResult<Option<Hash>> {
    if size > edge.size {
        return Ok(None);
    }
    if size == edge.size {
        return Ok(Some(edge.root()));
    }
    tiles::with_nodes(store, edge, size, |n| merkle::root(n, size))
}

/// The tree must contain the one the witness in Jira saw (a signature by this installation).
fn check_witness(store: Store<'_>, edge: &tiles::Edge, public: &PublicKey) -> StorageResult<()> {
    let host = store.host;
    match witness_get(host) {
        Ok(Some(w)) => {
            let seen = open(&w.note, &public.verifier_key)
                .map_err(|e| broken(store, format!("the witness in Jira: {e}")))?;
            if root_at(store, edge, seen.size)? != Some(seen.root) {
                return Err(broken(
                    store,
                    format!(
                        "the witness in Jira saw a tree of {} entries that the chain of {} does not contain",
                        seen.size, edge.size
                    ),
                ));
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            host.log(
                Level::Warn,
                &format!("audit: the witness could not be read ({e}); not compared"),
            );
            Ok(())
        }
    }
}

/// Writes the checkpoint to the Jira app property. A failure is logged; the next checkpoint
/// writes it again (the witness only ever needs the latest).
fn witness_put(host: &dyn Host, signed: &Signed) {
    let body =
        serde_json::json!({"size": signed.size, "rootHash": signed.root_hash, "note": signed.note});
    let req = HttpRequest::with_json(
        "PUT",
        format!("/rest/forge/1/app/properties/{WITNESS_PROPERTY}"),
        body.to_string(),
    );
    match host.jira(Principal::App, &req) {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) => host.log(
            Level::Warn,
            &format!(
                "audit: the witness did not take checkpoint {} (Jira {})",
                signed.size, r.status
            ),
        ),
        Err(e) => host.log(
            Level::Warn,
            &format!(
                "audit: the witness did not take checkpoint {} ({e})",
                signed.size
            ),
        ),
    }
}

/// The witnessed checkpoint in Jira, if any. `Err` when Jira did not answer.
pub fn witness_get(host: &dyn Host) -> Result<Option<Signed>, String> {
    let req = HttpRequest::get(format!("/rest/forge/1/app/properties/{WITNESS_PROPERTY}"));
    match host.jira(Principal::App, &req) {
        Ok(r) if r.status == 404 => Ok(None),
        Ok(r) if r.status == 200 => {
            let v: serde_json::Value = serde_json::from_str(&r.body)
                .map_err(|e| format!("the witness is not JSON: {e}"))?;
            let value = &v["value"];
            Ok(Some(Signed {
                size: value["size"].as_u64().unwrap_or(0),
                root_hash: value["rootHash"].as_str().unwrap_or("").into(),
                time: String::new(),
                note: value["note"].as_str().unwrap_or("").into(),
            }))
        }
        Ok(r) => Err(format!("Jira answered {}", r.status)),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_note_opens_with_its_key_and_not_after_any_change() {
        let s = Signer25519::from_seed("aiclearance/site/audit", [7; 32]);
        let body = Body {
            origin: s.name.clone(),
            size: 42,
            root: [9; 32],
            time: "2026-12-07T05:00:00.000Z".into(),
        };
        let note = s.sign(&body);
        assert_eq!(open(&note, &s.verifier_key()).unwrap(), body);
        assert!(note.starts_with("aiclearance/site/audit\n42\n"));
        for i in 0..note.len() {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 1;
            if let Ok(changed) = String::from_utf8(bytes) {
                assert!(
                    open(&changed, &s.verifier_key()).is_err(),
                    "byte {i} changed"
                );
            }
        }
        let other = Signer25519::from_seed("aiclearance/other/audit", [8; 32]);
        let err = open(&other.sign(&body), &s.verifier_key()).unwrap_err();
        assert!(err.contains("another key"), "{err}");
        assert!(parse_verifier_key(&s.verifier_key()).is_some());
        assert!(parse_verifier_key("x+00000000+AQ==").is_none());
    }
}
