//! Audit retention (§14): entries older than the retention period — 365 days unless
//! `AICLEARANCE_AUDIT_RETENTION_DAYS` says otherwise — are pruned from the start of the chain by
//! the daily retention sweep.
//!
//! Each batch deletes up to 20 of the oldest entries and, in the same transaction, moves the
//! retention point (`audit-retention-point`: the last pruned entry's seq and hash, MAC'd with the
//! audit key) onto the last one deleted. Verification starts from the checkpoint, so what remains
//! still verifies, and a crash between batches leaves a consistent chain. The head entry is never
//! pruned. The checkpoint write is conditioned on the checkpoint read, so two sweeps running at
//! once cannot both move it.

use super::chain::{mac, mac_key, AuditEntry};
use super::verify::RetentionPoint;
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::storage::{keys, StorageError, Store};

pub const ENV_AUDIT_DAYS: &str = "AICLEARANCE_AUDIT_RETENTION_DAYS";
/// External-identity metadata follows audit retention unless this is set.
pub const ENV_IDENTITY_DAYS: &str = "AICLEARANCE_IDENTITY_RETENTION_DAYS";
pub const DEFAULT_DAYS: u64 = 365;
const DAY_MS: u64 = 86_400_000;
/// Entries deleted per transaction, each with its issue and actor index keys, plus the retention
/// point:
/// within Forge's 25 operations.
const BATCH: usize = 8;

/// A retention period from the environment: whole days in 1..=3650, else `fallback` (and a
/// warning, so a typo does not silently keep or drop data).
pub fn days(host: &dyn Host, var: &str, fallback: u64) -> u64 {
    match host.env(var) {
        None => fallback,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(d) if (1..=3_650).contains(&d) => d,
            _ => {
                host.log(
                    Level::Warn,
                    &format!("{var}={v:?} is not a number of days in 1..=3650; using {fallback}"),
                );
                fallback
            }
        },
    }
}

pub fn audit_days(host: &dyn Host) -> u64 {
    days(host, ENV_AUDIT_DAYS, DEFAULT_DAYS)
}

pub fn identity_days(host: &dyn Host) -> u64 {
    days(host, ENV_IDENTITY_DAYS, audit_days(host))
}

/// Prunes audit entries older than the retention period, at most `budget` of them. Returns how
/// many were deleted.
pub fn prune(host: &dyn Host, budget: usize) -> AppResult<u64> {
    let store = Store::new(host);
    let cutoff = host.now_ms().saturating_sub(audit_days(host) * DAY_MS);
    let head_seq = store
        .get::<super::Head>(keys::AUDIT_HEAD)?
        .map(|h| h.seq)
        .unwrap_or(0);
    let mut pruned = 0u64;
    let mut conflicts = 0;
    while (pruned as usize) < budget && host.remaining_ms() > 10_000 {
        let page = host.kvs_query(keys::AUDIT_EVENT_PREFIX, None, BATCH as u32)?;
        let mut old: Vec<(String, String, AuditEntry)> = Vec::new();
        for e in page.entries {
            let entry: AuditEntry = crate::storage::decode(&e.key, &e.value)?;
            let at = crate::time::parse(&entry.at).unwrap_or(u64::MAX);
            if at >= cutoff || entry.seq >= head_seq || old.len() + pruned as usize >= budget {
                break;
            }
            old.push((e.key, e.value, entry));
        }
        let Some((_, _, last)) = old.last() else {
            break;
        };
        let key = mac_key(store, None)?;
        let cp = RetentionPoint {
            seq: last.seq,
            entry_hash: last.entry_hash.clone(),
            mac_key_id: key.id.clone(),
            mac: mac(
                &key.key,
                &RetentionPoint::message(last.seq, &last.entry_hash),
            ),
        };
        let current = store.get_raw(keys::AUDIT_RETENTION_POINT)?;
        let mut tx = store.tx();
        for (k, raw, entry) in &old {
            tx.delete_if_current(k, raw)?;
            // The entry's issue and actor index keys go with it; its leaf hash stays in the tiles.
            if let Some(issue) = &entry.issue_key {
                let index = keys::audit_issue(issue, entry.seq);
                if crate::storage::check_key(&index).is_ok() {
                    tx.delete(&index)?;
                }
            }
            let index = keys::audit_actor(&entry.actor, entry.seq);
            if super::actors::indexed(&entry.actor) && crate::storage::check_key(&index).is_ok() {
                tx.delete(&index)?;
            }
        }
        tx.set_if_current(keys::AUDIT_RETENTION_POINT, &cp, current.as_deref())?;
        match tx.commit() {
            Ok(()) => pruned += old.len() as u64,
            Err(StorageError::Conflict(_)) if conflicts < 3 => conflicts += 1, // another sweep
            Err(e) => return Err(e.into()),
        }
    }
    if pruned > 0 {
        host.log(
            Level::Info,
            &format!(
                "retention: {pruned} audit entries older than {} pruned; checkpoint moved",
                crate::time::day(cutoff)
            ),
        );
    }
    // The indexes of what is gone: signed checkpoints of trees that end at or before the
    // retention point (the latest one is a separate record and stays), and days before the
    // cutoff. Each key's name says whether it is due, so this reads only what it deletes.
    if let Some(rp) = store.get::<RetentionPoint>(keys::AUDIT_RETENTION_POINT)? {
        prune_keys(store, keys::AUDIT_CHECKPOINT_PREFIX, budget, |rest| {
            rest.parse::<u64>().is_ok_and(|size| size <= rp.seq)
        })?;
    }
    let first_day = crate::time::day(cutoff);
    prune_keys(store, keys::AUDIT_DAY_PREFIX, budget, |day| {
        day < first_day.as_str()
    })?;
    Ok(pruned)
}

/// Deletes keys under `prefix` in key order while `due(rest of the key)` holds, at most
/// `budget`, 20 to a transaction.
fn prune_keys(
    store: Store<'_>,
    prefix: &str,
    budget: usize,
    due: impl Fn(&str) -> bool,
) -> AppResult<usize> {
    let mut deleted = 0;
    while deleted < budget && store.host.remaining_ms() > 10_000 {
        let page = store
            .host
            .kvs_query(prefix, None, crate::storage::MAX_PAGE)?;
        let names: Vec<String> = page
            .entries
            .into_iter()
            .map(|e| e.key)
            .take_while(|k| due(&k[prefix.len()..]))
            .take(budget - deleted)
            .collect();
        if names.is_empty() {
            break;
        }
        let mut tx = store.tx();
        for k in &names {
            tx.delete(k)?;
        }
        tx.commit()?;
        deleted += names.len();
    }
    Ok(deleted)
}
