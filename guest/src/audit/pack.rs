//! The evidence pack for one request: every audit entry that names its issue, each with its
//! inclusion proof in a signed checkpoint, so an auditor verifies it offline with the public key
//! alone (`host-sim audit verify-pack`, or `tools/evidence-verify/verify.mjs`, which needs nothing
//! but Node).
//!
//! The file is canonical JSON (keys sorted, no whitespace, one final newline) and every byte of
//! it is checked: a verifier re-serializes what it parsed and refuses a file that differs, and
//! `packSignature` signs the rest of the pack. Each entry travels as the exact text its
//! `entryHash` was computed over (`canonical`), so no verifier has to reproduce the app's JSON
//! encoding of an entry. The entries' MACs are left out: they need the installation's secret.
//!
//! ```text
//! { "checkpoint": <signed note>, "entries": [{ "canonical", "entryHash", "leafIndex",
//!   "proof": [base64…], "seq" }], "format": "aiclearance.evidence.v1", "generatedAt",
//!   "issueKey", "packSignature": base64(key id ‖ Ed25519 signature), "publicKey": <verifier
//!   key>, "treeSize" }
//! ```

use super::chain::{canonical_json, hex, unhex, AuditEntry, Head};
use super::checkpoint::{self, parse_verifier_key, Signed, Signer25519};
use super::merkle::{self, Hash};
use super::tiles;
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::storage::{keys, Store};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub const FORMAT: &str = "aiclearance.evidence.v1";
/// What `packSignature` signs: this line, then the canonical pack without the signature.
const SIGNED_PREFIX: &str = "aiclearance.evidence.v1\n";
/// Entries one pack carries at most (a request's life is a few dozen).
pub const MAX_ENTRIES: usize = 1_000;

/// The text an entry's `entryHash` is the SHA-256 of.
pub fn entry_text(e: &AuditEntry) -> String {
    let mut v = serde_json::to_value(e).expect("audit entries serialize");
    if let Value::Object(m) = &mut v {
        m.remove("entryHash");
        m.remove("entryMac");
    }
    canonical_json(&v)
}

fn sign_pack(signer: &Signer25519, unsigned: &Value) -> String {
    let text = format!("{SIGNED_PREFIX}{}", canonical_json(unsigned));
    signer.sign_bytes(text.as_bytes())
}

/// Builds the pack for `issue_key` (the admin's "Download evidence"). Signs a checkpoint first
/// if the latest one does not cover the head, so the newest entries are in it.
pub fn build(host: &dyn Host, cloud_id: &str, issue_key: &str) -> AppResult<String> {
    let store = Store::new(host);
    let prefix = keys::audit_issue_prefix(issue_key);
    crate::storage::check_key(&prefix)
        .map_err(|_| AppError::invalid("ISSUE_KEY_INVALID", "not an issue key"))?;
    let Some(cp): Option<Signed> =
        checkpoint::sign_latest(host, cloud_id, checkpoint::Witness::Always)?
    else {
        return Err(AppError::not_found(
            "NO_EVIDENCE",
            "the audit trail is empty: there is nothing to prove yet",
        ));
    };
    let seqs: Vec<u64> = store
        .scan::<Vec<u64>>(&prefix, MAX_ENTRIES)?
        .into_iter()
        .flat_map(|(_, s)| s)
        .filter(|s| *s <= cp.size)
        .take(MAX_ENTRIES)
        .collect();
    if seqs.is_empty() {
        return Err(AppError::not_found(
            "NO_EVIDENCE",
            format!("no audit entry names {issue_key}"),
        ));
    }
    let names: Vec<String> = seqs.iter().map(|s| keys::audit_event(*s)).collect();
    let entries: Vec<AuditEntry> = store
        .get_many::<AuditEntry>(&names)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let head: Head = store
        .get(keys::AUDIT_HEAD)?
        .ok_or_else(|| AppError::conflict("AUDIT_BROKEN", "the audit head is missing"))?;
    let edge = head
        .edge()
        .ok_or_else(|| AppError::conflict("AUDIT_BROKEN", "the audit head's tree is damaged"))?;
    let size = cp.size;
    let indexes: Vec<u64> = entries.iter().map(|e| e.seq - 1).collect();
    let proofs = tiles::with_nodes(store, &edge, size, |n| {
        indexes
            .iter()
            .map(|i| merkle::inclusion_proof(n, *i, size))
            .collect::<Option<Vec<_>>>()
    })?
    .ok_or_else(|| {
        AppError::conflict(
            "AUDIT_BROKEN",
            "the audit tree's tiles are incomplete; run a full verification",
        )
    })?;
    let rows: Vec<Value> = entries
        .iter()
        .zip(proofs)
        .map(|(e, p)| {
            json!({"seq": e.seq, "leafIndex": e.seq - 1, "canonical": entry_text(e),
                   "entryHash": e.entry_hash,
                   "proof": p.iter().map(tiles::b64).collect::<Vec<_>>()})
        })
        .collect();
    let (signer, public) = checkpoint::signer(store, cloud_id)?;
    let mut pack = json!({
        "format": FORMAT,
        "issueKey": issue_key,
        "generatedAt": crate::time::rfc3339(host.now_ms()),
        "publicKey": public.verifier_key,
        "checkpoint": cp.note,
        "treeSize": size,
        "entries": rows,
    });
    let sig = sign_pack(&signer, &pack);
    pack["packSignature"] = json!(sig);
    Ok(format!("{}\n", canonical_json(&pack)))
}

/// What an offline check of a pack found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackReport {
    pub issue_key: String,
    pub tree_size: u64,
    pub entries: Vec<(u64, String)>,
    pub checkpoint_time: String,
}

/// Verifies a pack file offline. `expected_key` is the verifier key the auditor was given out
/// of band (Governance logs); without it the pack's own key is used, which proves integrity
/// but not whose log it is.
pub fn verify_pack(text: &str, expected_key: Option<&str>) -> Result<PackReport, String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if canonical_json(&v) != body {
        return Err("the file is not in canonical form (it was edited or re-encoded)".into());
    }
    let o = v.as_object().ok_or("the pack is not a JSON object")?;
    let field = |name: &str| o.get(name).ok_or(format!("the pack has no {name}"));
    let text_of = |name: &str| -> Result<&str, String> {
        field(name)?.as_str().ok_or(format!("{name} is not text"))
    };
    if text_of("format")? != FORMAT {
        return Err(format!("format is not {FORMAT}"));
    }
    let known: [&str; 8] = [
        "checkpoint",
        "entries",
        "format",
        "generatedAt",
        "issueKey",
        "packSignature",
        "publicKey",
        "treeSize",
    ];
    if let Some(extra) = o.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("the pack has an unknown field {extra:?}"));
    }
    let vkey = text_of("publicKey")?;
    if let Some(want) = expected_key {
        if want.trim() != vkey {
            return Err("the pack is signed by another key than the one you were given".into());
        }
    }
    let cp = checkpoint::open(text_of("checkpoint")?, vkey)?;
    let size = field("treeSize")?
        .as_u64()
        .ok_or("treeSize is not a number")?;
    if cp.size != size {
        return Err("treeSize is not the checkpoint's size".into());
    }
    // The pack signature covers every other field.
    let mut unsigned: Map<String, Value> = o.clone();
    unsigned.remove("packSignature");
    let signed_text = format!(
        "{SIGNED_PREFIX}{}",
        canonical_json(&Value::Object(unsigned))
    );
    let (_, id, public) = parse_verifier_key(vkey).ok_or("the public key is malformed")?;
    let blob = B64
        .decode(text_of("packSignature")?)
        .map_err(|_| "packSignature is not base64")?;
    if blob.len() != 68 || blob[..4] != id {
        return Err("packSignature is not by the pack's key".into());
    }
    let vk = VerifyingKey::from_bytes(&public).map_err(|_| "the public key is not valid")?;
    vk.verify(
        signed_text.as_bytes(),
        &Signature::from_bytes(&blob[4..].try_into().expect("64 bytes")),
    )
    .map_err(|_| "packSignature does not match the pack")?;
    let issue = text_of("issueKey")?;
    let mut out = Vec::new();
    let mut last = 0u64;
    for (i, row) in field("entries")?
        .as_array()
        .ok_or("entries is not a list")?
        .iter()
        .enumerate()
    {
        let at = |what: &str| format!("entry {}: {what}", i + 1);
        let seq = row["seq"].as_u64().ok_or_else(|| at("no seq"))?;
        if seq <= last {
            return Err(at("entries are not in increasing seq order"));
        }
        last = seq;
        let canonical = row["canonical"]
            .as_str()
            .ok_or_else(|| at("no canonical text"))?;
        let hash = hex(&Sha256::digest(canonical.as_bytes()));
        if row["entryHash"].as_str() != Some(hash.as_str()) {
            return Err(at("its text does not hash to its entryHash"));
        }
        let e: Value = serde_json::from_str(canonical).map_err(|_| at("its text is not JSON"))?;
        if e["seq"].as_u64() != Some(seq) || row["leafIndex"].as_u64() != Some(seq - 1) {
            return Err(at("seq and leafIndex disagree with the entry"));
        }
        if e["issueKey"].as_str() != Some(issue) {
            return Err(at("the entry is about another issue"));
        }
        let proof: Vec<Hash> = row["proof"]
            .as_array()
            .ok_or_else(|| at("no proof"))?
            .iter()
            .map(|p| p.as_str().and_then(tiles::unb64))
            .collect::<Option<_>>()
            .ok_or_else(|| at("a proof hash is not 32 bytes of base64"))?;
        let digest: Hash = unhex(&hash)
            .and_then(|b| b.try_into().ok())
            .expect("a SHA-256 hex digest");
        if !merkle::verify_inclusion(seq - 1, size, &merkle::leaf_hash(&digest), &proof, &cp.root) {
            return Err(at(
                "its inclusion proof does not lead to the checkpoint's root",
            ));
        }
        out.push((seq, e["type"].as_str().unwrap_or("").to_string()));
    }
    if out.is_empty() {
        return Err("the pack proves no entry".into());
    }
    Ok(PackReport {
        issue_key: issue.to_string(),
        tree_size: size,
        entries: out,
        checkpoint_time: cp.time,
    })
}
