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

/// Minutes after its own that a queued group still shows as queued on the Approvals tab (its
/// event is delivered inside its minute and may take a little longer to run).
pub const SHOWN_LATE_MIN: u64 = 2;
/// Minutes after its own that the runner's sweep applies a group whose event never came.
pub const SWEEP_AFTER_MIN: u64 = 5;
/// The queued record forgets a group this long after its minute (its record's TTL).
const FORGET_AFTER_MIN: u64 = 2 * 24 * 60;

/// One bulk call's share of a later minute, as the Approvals tab and the runner's sweep see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedGroup {
    pub batch_id: String,
    pub minute: u64,
    /// The issue keys queued, while the tab shows them (dropped after the minute: the record
    /// stays bounded by the ring's reach).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// `bulk-queued`: every group queued by a bulk decision until the runner's sweep has seen it
/// done (D-253, D-254). Written in the reservation's transaction, conditioned on its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    #[serde(default)]
    pub groups: Vec<QueuedGroup>,
}

impl Queued {
    /// Drops what no reader needs any more at minute `now`: the keys of minutes the tab no
    /// longer shows, groups past their record's TTL.
    pub fn trim(&mut self, now: u64) {
        self.groups.retain(|g| g.minute + FORGET_AFTER_MIN >= now);
        for g in &mut self.groups {
            if g.minute + SHOWN_LATE_MIN < now {
                g.keys.clear();
            }
        }
    }
    /// Issue key → minutes until it applies (at least 1), for keys still shown as queued.
    pub fn shown(&self, now: u64) -> std::collections::BTreeMap<&str, u64> {
        let mut out = std::collections::BTreeMap::new();
        for g in self
            .groups
            .iter()
            .filter(|g| g.minute + SHOWN_LATE_MIN >= now)
        {
            for k in &g.keys {
                out.insert(k.as_str(), (g.minute + 1).saturating_sub(now).max(1));
            }
        }
        out
    }
}

/// What a reservation is for: a bulk call's keys in the order they are planned, so the keys of
/// later minutes are recorded as queued in the same transaction (D-253), under the batch id
/// the reservation draws when it queues anything (`id`, for the caller's group records).
pub struct Batch<'a> {
    pub keys: &'a [String],
    pub id: Option<String>,
}

/// A bulk call's id: its time and four random bytes.
fn batch_id(host: &dyn Host) -> String {
    format!(
        "{}-{}",
        host.now_ms(),
        crate::audit::chain::hex(&host.random_bytes(4))
    )
}

/// Reserves `cost` units for each of `n` items, from the current minute on: `(minute, count)`
/// in minute order, counts summing to at most `n` (the rest did not fit within the ring).
/// Costs one batch read and, when anything fits, one transaction of at most [`SLOTS`] writes
/// (and the queued record, when `batch` has keys for a later minute).
pub fn reserve(
    host: &dyn Host,
    n: usize,
    cost: u64,
    mut batch: Option<&mut Batch<'_>>,
) -> AppResult<Vec<(u64, usize)>> {
    let store = Store::new(host);
    let cost = cost.max(1);
    let now = minute_of(host.now_ms());
    let mut keys: Vec<String> = (now..now + SLOTS).map(slot_key).collect();
    if batch.is_some() {
        keys.push(crate::storage::keys::BULK_QUEUED.to_string());
    }
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
        if let Some(b) = batch.as_deref_mut() {
            if b.id.is_none() && plan.iter().any(|(m, _)| *m != now) {
                b.id = Some(batch_id(host));
            }
            let id = b.id.clone().unwrap_or_default();
            let later: Vec<QueuedGroup> = {
                let mut at = 0;
                let mut v = Vec::new();
                for (m, count) in &plan {
                    let end = (at + count).min(b.keys.len());
                    if *m != now {
                        v.push(QueuedGroup {
                            batch_id: id.clone(),
                            minute: *m,
                            keys: b.keys[at..end].to_vec(),
                        });
                    }
                    at = end;
                }
                v
            };
            if !later.is_empty() {
                let k = crate::storage::keys::BULK_QUEUED;
                let raw = got.get(k);
                let mut q: Queued = raw
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or_default();
                q.trim(now);
                q.groups.extend(later);
                tx.set_if_current(k, &q, raw.map(String::as_str))?;
            }
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

/// The queued record as it stands (one read), for the runner's sweep.
pub fn queued(store: Store<'_>) -> AppResult<(Queued, Option<String>)> {
    let raw = store.get_raw(crate::storage::keys::BULK_QUEUED)?;
    let q = raw
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    Ok((q, raw))
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
