//! The audit trail (spec §14): an append-only hash chain.
//!
//! Each entry stores `prevHash` (the previous entry's `entryHash`), `entryHash` = SHA-256 over the
//! canonical encoding of the entry (every field but `entryHash`/`entryMac`, keys sorted, compact
//! JSON — `prevHash` included), and `entryMac` = HMAC-SHA-256(`entryHash`) with a key held in
//! Forge secret storage and created on first use. Entries are one key each (`audit-event:<seq>`);
//! `audit-head` names the last one. Appends are written in the same transaction as the change they
//! describe, conditioned on the head they read, so concurrent appends never fork the chain: the
//! loser re-reads the head and retries.

pub mod anchor;
pub mod chain;
pub mod retention;
mod verify;

pub use chain::{
    canonical_json, commit_with_audit, mac_key, seal, AuditDraft, AuditEntry, Head, MacKey,
    GENESIS_HASH,
};
pub use verify::{unverifiable, verify, Checkpoint, Problem, VerifyReport};
