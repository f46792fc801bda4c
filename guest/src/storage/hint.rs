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

use super::{StorageError, StorageResult, Store, Tx};
use serde::{Deserialize, Serialize};

pub const PREFIX: &str = "sweep-hint:";

pub fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hint {
    #[serde(default)]
    next_ms: Option<u64>,
    #[serde(default)]
    dirty: Option<String>,
}

/// Marks the hint dirty in the writer's own transaction; `mark` must be unique per write.
pub fn dirty(tx: &mut Tx<'_>, name: &str, mark: &str) -> StorageResult<()> {
    tx.set(
        &key(name),
        &Hint {
            next_ms: None,
            dirty: Some(mark.to_string()),
        },
    )?;
    Ok(())
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
    let text = super::encode(&Hint {
        next_ms: Some(next_ms),
        dirty: None,
    })?;
    let mut tx = store.tx();
    tx.set_if_current(&key(name), text, seen.raw.as_deref())?;
    match tx.commit() {
        Ok(()) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
