//! "What is due next" hints, so an idle sweep costs one read instead of a scan per index.
//!
//! A hint `sweep-hint:<name>` holds either `{"nextMs": T}` — the sweep that wrote it found
//! nothing due before T — or a dirty mark, which every writer that creates work for that sweep
//! sets blindly inside its own transaction (no read, no extra host call). A sweep trusts a clean
//! hint while T is in the future; otherwise it scans and writes a fresh hint *conditioned on the
//! text it read at its start*. Dirty marks are unique per write (the writer's record and
//! revision), so a writer that lands between the sweep's read and its write always makes that
//! write fail: no ABA, no work hidden behind a stale hint. A hint is derived data, like a cache:
//! losing it costs one full scan, never a missed item.
//!
//! Hints are *watched*: the storage layer itself adds the dirty mark to any write of a key
//! under one of [`WATCHED`]'s prefixes, in the same transaction ([`watching`]), so no writer can
//! forget it — the job runner's seven indexes are written from all over the app. Deletes never
//! dirty: removing work cannot hide work.

use super::{StorageError, StorageResult, Store};
use serde::{Deserialize, Serialize};

pub const PREFIX: &str = "sweep-hint:";

pub fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// The hourly job runner's hint.
pub const JOB_RUNNER: &str = "job-runner";
/// The approvals sweep's hint (every five minutes; the hourly run scans in full regardless).
pub const APPROVALS: &str = "approvals";

/// Key prefixes whose writes create work for a watched hint's sweep.
pub const WATCHED: &[(&str, &str)] = &[
    (super::keys::GRANT_EXPIRY_PREFIX, JOB_RUNNER),
    (super::keys::JOB_DUE_PREFIX, JOB_RUNNER),
    (super::keys::JOB_CLOSED_PREFIX, JOB_RUNNER),
    (super::keys::DECISION_NOTICE_PREFIX, JOB_RUNNER),
    (super::keys::PATH_OUTCOME_PREFIX, JOB_RUNNER),
    // Pending requests: the runner routes the ones intake could not.
    ("request-by-decision:pending:", JOB_RUNNER),
    // The overview's pending counter deltas the runner folds (D-250), and bulk decisions queued
    // for a later minute, which the runner sweeps if their event is lost (D-254).
    (super::keys::PENDING_DELTA_PREFIX, JOB_RUNNER),
    (super::keys::BULK_QUEUED, JOB_RUNNER),
    // The approvals sweep's indexes (`approvals::store`, `approvals::webhooks`; a test below
    // keeps them in step): decision deadlines, validity ends, effects, webhook deliveries.
    ("approval-due:", APPROVALS),
    ("approval-validity:", APPROVALS),
    ("approval-effect:", APPROVALS),
    ("webhook-delivery:", APPROVALS),
];

/// The watched hint a write of `key` dirties, if any.
pub fn watching(key: &str) -> Option<&'static str> {
    WATCHED
        .iter()
        .find(|(prefix, _)| key.starts_with(prefix))
        .map(|(_, name)| *name)
}

/// A dirty mark for the writes of one transaction: a digest of the time and of every key and
/// value it sets under a watched prefix, so two different writes never leave the same mark.
/// (Drawing random bytes instead would shift the simulator's seeded ids.)
pub fn mark_for<'a>(now_ms: u64, writes: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(now_ms.to_le_bytes());
    for (k, v) in writes {
        h.update((k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text of a dirty mark (what [`dirty`] writes).
pub fn dirty_text(mark: &str) -> String {
    serde_json::json!({"dirty": mark}).to_string()
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dirty: Option<String>,
}

/// What a sweep read at its start.
pub struct Seen {
    raw: Option<String>,
    /// Nothing is due before this (a clean hint), if known.
    pub next_ms: Option<u64>,
}

impl Seen {
    /// Whether the sweep may stop here: a clean hint says nothing is due yet.
    pub fn idle_at(&self, now_ms: u64) -> bool {
        self.next_ms.is_some_and(|t| t > now_ms)
    }
}

/// One read: the hint as it stands.
pub fn read(store: Store<'_>, name: &str) -> StorageResult<Seen> {
    let raw = store.get_raw(&key(name))?;
    let next_ms = raw
        .as_deref()
        .and_then(|t| serde_json::from_str::<Hint>(t).ok())
        .filter(|h| h.dirty.is_none())
        .and_then(|h| h.next_ms);
    Ok(Seen { raw, next_ms })
}

/// After a full scan: nothing is due before `next_ms`. Written only if no writer touched the
/// hint since `seen` was read (a conflict is fine: the next sweep scans again) and only if it
/// changes anything.
pub fn settle(store: Store<'_>, name: &str, seen: &Seen, next_ms: u64) -> StorageResult<()> {
    if seen.next_ms == Some(next_ms) {
        return Ok(());
    }
    let hint = Hint {
        next_ms: Some(next_ms),
        dirty: None,
    };
    let mut tx = store.tx();
    tx.set_if_current(&key(name), &hint, seen.raw.as_deref())?;
    match tx.commit() {
        Ok(()) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approvals::{store, webhooks};
    use crate::storage::keys;

    #[test]
    fn every_index_a_sweep_reads_is_watched_for_its_hint() {
        for (prefix, hint) in [
            (keys::GRANT_EXPIRY_PREFIX, JOB_RUNNER),
            (keys::JOB_DUE_PREFIX, JOB_RUNNER),
            (keys::JOB_CLOSED_PREFIX, JOB_RUNNER),
            (keys::DECISION_NOTICE_PREFIX, JOB_RUNNER),
            (keys::PATH_OUTCOME_PREFIX, JOB_RUNNER),
            (&keys::request_by_decision_prefix("pending"), JOB_RUNNER),
            (keys::PENDING_DELTA_PREFIX, JOB_RUNNER),
            (keys::BULK_QUEUED, JOB_RUNNER),
            (store::DUE_PREFIX, APPROVALS),
            (store::VALIDITY_PREFIX, APPROVALS),
            (store::EFFECT_PREFIX, APPROVALS),
            (webhooks::DELIVERY_PREFIX, APPROVALS),
        ] {
            assert_eq!(watching(&format!("{prefix}x")), Some(hint), "{prefix}");
        }
        assert_eq!(store::SWEEP_HINT, APPROVALS);
        assert_eq!(watching("request-by-decision:approved:x"), None);
        assert_eq!(watching(&key(JOB_RUNNER)), None);
    }
}
