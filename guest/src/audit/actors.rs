//! The actor index of the governance log (`audit-actor:<actor>:<inverted seq>` → the seqs of
//! one append by that actor), so a search by actor reads that actor's entries, newest first,
//! instead of walking the log (issue 32 item 3).
//!
//! Every append since the index existed writes it (`chain::commit_with_audit`), just before the
//! append's transaction: an append that fails leaves a key naming entries that are not that
//! actor's, so a search checks every entry's actor (it never trusts the index alone). For a log that
//! began before, `audit-actor-index-from` says from which sequence number on the index is
//! complete; searches read below it the old way, and the daily backfill here indexes older
//! entries a bounded batch at a time, lowering the mark, until it reaches the retention floor.
//! A new installation's first append sets the mark to 1.

use super::chain::AuditEntry;
use crate::error::AppResult;
use crate::storage::{keys, Store};
use std::collections::BTreeMap;

/// Whether an actor's entries are indexed: people, not the app itself. The app writes most of
/// the log; its entries are found by the plain scan, and leaving it out keeps an append (often
/// beside a decision near Forge's 25 operations) to one index key per person acting.
pub fn indexed(actor: &str) -> bool {
    actor != "app"
}

/// Entries read per transaction of the backfill (their index keys, grouped by actor, fit in
/// one transaction with the mark).
const BATCH: u64 = 20;

/// From which sequence number every entry is in the actor index; `None` before the first
/// backfill run of a log that predates the index.
pub fn indexed_from(store: Store<'_>) -> AppResult<Option<u64>> {
    Ok(store.get::<u64>(keys::AUDIT_ACTOR_INDEX_FROM)?)
}

/// Indexes up to `budget` entries below the mark, newest first. Returns how many it indexed.
pub fn backfill(host: &dyn crate::host::Host, budget: u64) -> AppResult<u64> {
    let store = Store::new(host);
    let floor = store
        .get::<super::verify::RetentionPoint>(keys::AUDIT_RETENTION_POINT)?
        .map_or(1, |c| c.seq + 1);
    let mut mark = match indexed_from(store)? {
        Some(m) => m,
        None => {
            // A log from before the index: everything after the head is indexed by appends.
            let head: Option<super::Head> = store.get(keys::AUDIT_HEAD)?;
            let Some(head) = head else { return Ok(0) };
            let m = head.seq + 1;
            store.put(keys::AUDIT_ACTOR_INDEX_FROM, &m)?;
            m
        }
    };
    let mut done = 0;
    while mark > floor && done < budget && host.remaining_ms() > 10_000 {
        let low = mark.saturating_sub(BATCH).max(floor);
        let want: Vec<String> = (low..mark).map(keys::audit_event).collect();
        let got = store.batch_get(&want)?;
        let mut by_actor: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for k in &want {
            if let Some(raw) = got.get(k) {
                let e: AuditEntry = crate::storage::decode(k, raw)?;
                if indexed(&e.actor) {
                    by_actor.entry(e.actor.clone()).or_default().push(e.seq);
                }
            }
        }
        let mut tx = store.tx();
        for (actor, seqs) in &by_actor {
            // Keyed by the newest of the batch's entries by this actor, like an append.
            let name = keys::audit_actor(actor, *seqs.iter().max().expect("non-empty"));
            if crate::storage::check_key(&name).is_ok() {
                tx.set(&name, seqs)?;
            }
        }
        tx.set(keys::AUDIT_ACTOR_INDEX_FROM, &low)?;
        tx.commit()?;
        done += mark - low;
        mark = low;
    }
    Ok(done)
}
