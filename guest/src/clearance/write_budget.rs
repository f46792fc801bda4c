//! The installation's write budget for bulk decisions (issue 32 item 4, D-210).
//!
//! Forge gives each installation 4,000 KVS write units a minute and answers 429 past them. A
//! decision writes ~20 units (the request and its indexes, the grant and its indexes, the job,
//! the notice, the audit entry and head) and its follow-ups a few more, so an approver clearing
//! 250 keys a minute at the allowed bulk rate would need ~7,500. Bulk decisions therefore
//! reserve their estimated units here first: what fits this minute is decided now, the rest is
//! assigned to the next minutes (and queued, `deferred`), and nothing beyond the queue's reach
//! (900 s) is accepted.
//!
//! The bucket is a ring of [`SLOTS`] records `write-budget:<minute mod 16>`, each
//! `{minute, units}`: a record of another minute counts as empty, so the ring never grows and
//! nothing has to be deleted. One reservation reads the ring in one batch and writes only the
//! slots it takes from, in one transaction conditioned on the text it read (a race re-reads).

use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::storage::{StorageError, Store};
use serde::{Deserialize, Serialize};

/// Write units a minute bulk decisions may reserve (their decisions and follow-ups, by the
/// estimates below). The rest of the 3,000 the app aims at is for everything else running in
/// that minute; Forge answers 429 only at 4,000.
pub const UNITS_PER_MINUTE: u64 = 2_400;

/// Minutes the ring covers: this one and the next 15 (a queue event is delayed at most 900 s).
pub const SLOTS: u64 = 16;

const PREFIX: &str = "write-budget:";

/// Estimated write units of one approval by a person, with its follow-ups, measured by
/// `tests/scale.rs clearing_a_backlog…` (~24 in the decision call: the tool-index entry and the
/// decision's transaction; ~9 after it: the notice's claim, progress and delete, the
/// provisioning job's first run): 33, rounded up.
pub const APPROVE_UNITS: u64 = 34;
/// Estimated write units of one denial with its notice (no grant, no job), measured by
/// `denying_a_backlog…`: ~11 + ~5, rounded up.
pub const DENY_UNITS: u64 = 17;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Slot {
    minute: u64,
    units: u64,
}

pub fn slot_key(minute: u64) -> String {
    format!("{PREFIX}{}", minute % SLOTS)
}

/// The minute `ms` falls in.
pub fn minute_of(ms: u64) -> u64 {
    ms / 60_000
}

fn used(raw: Option<&String>, minute: u64) -> u64 {
    raw.and_then(|t| serde_json::from_str::<Slot>(t).ok())
        .filter(|s| s.minute == minute)
        .map_or(0, |s| s.units)
}

/// Reserves `cost` units for each of `n` items, from the current minute on: `(minute, count)`
/// in minute order, counts summing to at most `n` (the rest did not fit within the ring).
/// Costs one batch read and, when anything fits, one transaction of at most [`SLOTS`] writes.
pub fn reserve(host: &dyn Host, n: usize, cost: u64) -> AppResult<Vec<(u64, usize)>> {
    let store = Store::new(host);
    let cost = cost.max(1);
    let now = minute_of(host.now_ms());
    let keys: Vec<String> = (now..now + SLOTS).map(slot_key).collect();
    for _ in 0..6 {
        let got = store.batch_get(&keys)?;
        let (mut left, mut plan, mut tx) = (n, Vec::new(), store.tx());
        for m in now..now + SLOTS {
            if left == 0 {
                break;
            }
            let k = slot_key(m);
            let raw = got.get(&k);
            let before = used(raw, m);
            let take = ((UNITS_PER_MINUTE.saturating_sub(before) / cost) as usize).min(left);
            if take == 0 {
                continue;
            }
            let after = Slot {
                minute: m,
                units: before + take as u64 * cost,
            };
            tx.set_if_current(&k, &after, raw.map(String::as_str))?;
            plan.push((m, take));
            left -= take;
        }
        if plan.is_empty() {
            return Ok(plan);
        }
        match tx.commit() {
            Ok(()) => return Ok(plan),
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "WRITE_BUDGET_BUSY",
        "the write budget changed while reserving; try again",
    ))
}

/// Gives back `units` reserved in `minute` and not spent (keys refused before writing).
/// Best effort: a failure only leaves the minute's budget smaller than it could be.
pub fn refund(host: &dyn Host, minute: u64, units: u64) {
    if units == 0 {
        return;
    }
    let store = Store::new(host);
    let k = slot_key(minute);
    for _ in 0..3 {
        let Ok(raw) = store.get_raw(&k) else { return };
        let before = used(raw.as_ref(), minute);
        if before == 0 {
            return;
        }
        let after = Slot {
            minute,
            units: before.saturating_sub(units),
        };
        let mut tx = store.tx();
        if tx.set_if_current(&k, &after, raw.as_deref()).is_err() {
            return;
        }
        match tx.commit() {
            Err(StorageError::Conflict(_)) => continue,
            _ => return,
        }
    }
}

/// The units reserved so far in `minute` (for tests and the status screen).
pub fn reserved(host: &dyn Host, minute: u64) -> AppResult<u64> {
    let k = slot_key(minute);
    Ok(used(Store::new(host).get_raw(&k)?.as_ref(), minute))
}
