//! The audit trail (spec §14): an append-only hash chain.
//!
//! Each entry stores `prevHash` (the previous entry's `entryHash`), `entryHash` = SHA-256 over the
//! canonical encoding of the entry (every field but `entryHash`/`entryMac`, keys sorted, compact
//! JSON — `prevHash` included), and `entryMac` = HMAC-SHA-256(`entryHash`) with a key held in
//! Forge secret storage and created on first use. Entries are one key each (`audit-event:<seq>`);
//! `audit-head` names the last one. Appends are written in the same transaction as the change they
//! describe, conditioned on the head they read, so concurrent appends never fork the chain: the
//! loser re-reads the head and retries.
//!
//! Under the chain, the entries are the leaves of an RFC 6962 Merkle tree (`merkle`, stored as
//! tiles: `tiles`), whose size and root are signed with an Ed25519 key (`checkpoint`) and
//! witnessed in Jira, so an export or an evidence pack (`pack`) verifies offline with the public
//! key alone, and verification (`verify`) runs as a resumable job over any length.

pub mod actors;
pub mod anchor;
pub mod chain;
pub mod checkpoint;
pub mod config;
pub mod merkle;
pub mod pack;
pub mod retention;
pub mod tiles;
pub mod verify;
pub mod window;
pub mod work;

pub use chain::{
    canonical_json, commit_with_audit, mac_key, seal, AuditDraft, AuditEntry, Head, MacKey,
    GENESIS_HASH,
};
use serde_json::Value;
pub use verify::{unverifiable, verify, Problem, RetentionPoint, VerifyReport};

/// The top-level fields that differ between two versions of a settings record (bookkeeping
/// fields left out), for the audit entry that records the change.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    const BOOKKEEPING: [&str; 4] = ["version", "updatedAt", "updatedBy", "updatedMs"];
    let empty = serde_json::Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut names: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| !BOOKKEEPING.contains(&k.as_str()) && b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}
