//! The admin overview's count of pending requests, kept where the state changes (issue 32,
//! D-250): the overview reads one counter and the changes not yet folded into it, so its cost
//! follows the recent work, never the backlog.
//!
//! A request enters pending at intake, which writes `pending-delta:<id>:in` (+1) in the same
//! transaction as the pending index entry. It leaves pending only by a decision
//! (`decision::apply`: approvals, denials, path outcomes, the decision deadline), whose
//! transaction is at 23 of Forge's 25 operations and takes no more: the decision's notice, which
//! that transaction writes anyway, carries `leavesPending`, and the notice consumer writes
//! `pending-delta:<id>:out` (-1) in the transaction that deletes the notice. So at any moment
//!
//! `pending = count + Σ deltas − (live notices with leavesPending)`
//!
//! holds exactly (host-sim's dst checks it). The job runner folds deltas into the counter in
//! transactions conditioned on the counter's text (a race stops the fold; the next run goes on).
//! Retention never prunes a pending request (`retention::closed_at`).
//!
//! An installation upgraded with pending requests filed before the deltas existed gets its
//! counter seeded once by the first fold from a count of the pending index (see `fold`); until
//! the counter exists the overview counts the index as before (bounded).

use super::notices::Notice;
use crate::error::AppResult;
use crate::host::Host;
use crate::storage::{keys, StorageError, Store};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counter {
    pub count: i64,
}

/// Deltas folded in one transaction (with the counter's conditioned write: 24 operations).
const PER_TX: usize = 23;
/// The most deltas or notices the overview reads (20 a page); far above an hour's backlog.
const READ_MAX: usize = 4_000;

/// The count of pending requests, or `None` while no counter exists yet (the caller counts the
/// pending index itself). Reads the counter, the unfolded deltas and the notices still to run.
pub fn read(store: Store<'_>) -> AppResult<Option<i64>> {
    let Some(c) = store.get::<Counter>(keys::PENDING_COUNT)? else {
        return Ok(None);
    };
    Ok(Some(c.count + unfolded(store)?))
}

/// Σ unfolded deltas − decision notices still to run.
fn unfolded(store: Store<'_>) -> AppResult<i64> {
    let deltas: i64 = store
        .scan::<i64>(keys::PENDING_DELTA_PREFIX, READ_MAX)?
        .iter()
        .map(|(_, d)| *d)
        .sum();
    let leaving = store
        .scan::<Notice>(keys::DECISION_NOTICE_PREFIX, READ_MAX)?
        .iter()
        .filter(|(_, n)| n.leaves_pending)
        .count() as i64;
    Ok(deltas - leaving)
}

/// The job runner's fold: at most `budget` deltas into the counter, 23 a transaction. Returns
/// how many were folded; `more` when the budget stopped it with deltas left.
pub fn fold(host: &dyn Host, budget: usize) -> AppResult<(u64, bool)> {
    let store = Store::new(host);
    let mut raw = store.get_raw(keys::PENDING_COUNT)?;
    if raw.is_none() {
        match seed(host)? {
            Some(text) => raw = Some(text),
            // Another run created it meanwhile: the next run folds.
            None => return Ok((0, true)),
        }
    }
    let mut folded = 0u64;
    while (folded as usize) < budget && host.remaining_ms() > 10_000 {
        let page = store.page::<i64>(keys::PENDING_DELTA_PREFIX, None, PER_TX as u32)?;
        if page.items.is_empty() {
            return Ok((folded, false));
        }
        let current: Counter = match raw.as_deref() {
            Some(t) => crate::storage::decode(keys::PENDING_COUNT, t)?,
            None => Counter::default(),
        };
        let take = page.items.len().min(PER_TX).min(budget - folded as usize);
        let next = Counter {
            count: current.count + page.items[..take].iter().map(|(_, d)| *d).sum::<i64>(),
        };
        let mut tx = store.tx();
        tx.set_if_current(keys::PENDING_COUNT, &next, raw.as_deref())?;
        for (k, _) in &page.items[..take] {
            tx.delete(k)?;
        }
        match tx.commit() {
            Ok(()) => {}
            Err(StorageError::Conflict(_)) => return Ok((folded, true)),
            Err(e) => return Err(e.into()),
        }
        raw = Some(crate::storage::encode(&next)?);
        folded += take as u64;
    }
    let more = !store
        .page::<i64>(keys::PENDING_DELTA_PREFIX, None, 1)?
        .items
        .is_empty();
    Ok((folded, more))
}

/// Creates the counter when it is missing. On an installation whose every pending request was
/// filed with its `in` delta (a new one: no delta has ever been folded, so each pending index
/// entry still has its delta), the counter starts at 0 and the deltas make it exact. On an
/// installation upgraded with older pending requests (an entry without its delta), it is seeded
/// from a count of the pending index (at most 20,000): `pending − Σ deltas + leaving notices`,
/// read in one invocation — exact unless a request is filed or decided during those reads
/// (D-250). Returns the counter's text, or `None` if another run created it first.
fn seed(host: &dyn Host) -> AppResult<Option<String>> {
    let store = Store::new(host);
    let prefix = keys::request_by_decision_prefix("pending");
    let first = store.page::<String>(&prefix, None, crate::storage::MAX_PAGE)?;
    let want: Vec<String> = first
        .items
        .iter()
        .map(|(_, id)| keys::pending_delta(id, "in"))
        .collect();
    let got = store.batch_get(&want)?;
    let upgraded = want.iter().any(|k| !got.contains_key(k));
    let counter = if upgraded {
        let pending = store.scan::<serde::de::IgnoredAny>(&prefix, 20_000)?.len() as i64;
        Counter {
            count: pending - unfolded(store)?,
        }
    } else {
        Counter::default()
    };
    let mut tx = store.tx();
    tx.set_if_current(keys::PENDING_COUNT, &counter, None)?;
    match tx.commit() {
        Ok(()) => Ok(Some(crate::storage::encode(&counter)?)),
        Err(StorageError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The earliest time the runner has deltas to fold: `now` if any are waiting.
pub fn due(store: Store<'_>, now_ms: u64) -> AppResult<Option<u64>> {
    Ok((!store
        .page::<i64>(keys::PENDING_DELTA_PREFIX, None, 1)?
        .items
        .is_empty())
    .then_some(now_ms))
}
