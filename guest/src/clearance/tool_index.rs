//! The requests-by-tool index (`request-by-tool:<tool>:<decision>:…`, issue 32 item 3).
//!
//! Intake writes the pending entry with the request. A decision's transaction sits near Forge's
//! 25 operations, so the decision's entry is written *before* it (idempotent: a redelivered
//! decision writes the same one) and the pending entry is deleted *in* it: an entry can be
//! stale (a decision that then failed), never missing; the search reads the records behind a
//! page and keeps only those whose decision is the category's. Retention deletes every variant.
//!
//! Requests filed before the index existed: a daily backfill walks the requests oldest first
//! (`request_walk`), a bounded step a day, its place (month and last index key, never a query
//! cursor) kept in `request-by-tool-backfill`, until it records `done`. It walks the requests
//! filed up to its first run (later ones intake indexed). A new installation starts done (its
//! first audit append marks it). Until then a tool search says its answer may miss older
//! requests.

use crate::error::AppResult;
use crate::host::Host;
use crate::requests::Request;
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};

/// Requests indexed per transaction (each one index write, plus the place).
const BATCH: u32 = 20;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Backfill {
    pub done: bool,
    /// Where an older version kept its place: a query cursor, which does not outlive the
    /// invocation. Read and dropped (the walk starts over; its writes are idempotent).
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
    /// Requests filed up to this time are walked (0: the walk has not started).
    #[serde(default)]
    pub upto_ms: u64,
    /// The month being walked (`YYYY-MM`).
    #[serde(default)]
    pub month: String,
    /// The last index key walked in `month`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

fn entry(r: &Request, decision: &str) -> String {
    let ms = crate::time::parse(&r.requested_at).unwrap_or(0);
    keys::request_by_tool(&r.tool_key(), decision, ms, &r.issue_id)
}

/// Before a decision's transaction: the request's entry under its new decision.
pub fn stage_decision(store: Store<'_>, after: &Request) -> crate::storage::StorageResult<()> {
    store.put(&entry(after, after.decision.as_str()), &after.issue_id)
}

/// The request's pending entry (the decision's transaction deletes it).
pub fn pending_entry(r: &Request) -> String {
    entry(r, "pending")
}

/// Every entry a request may have (for retention).
pub fn all_entries(r: &Request) -> [String; 3] {
    ["pending", "approved", "denied"].map(|d| entry(r, d))
}

/// Whether every request is in the index.
pub fn complete(store: Store<'_>) -> AppResult<bool> {
    Ok(store
        .get::<Backfill>(keys::REQUEST_TOOL_INDEX_BACKFILL)?
        .is_some_and(|b| b.done))
}

/// Months a run steps over at most (empty months cost one query each).
const MONTHS: usize = 24;

/// Indexes up to `budget` requests from where the last run stopped. Returns how many.
pub fn backfill(host: &dyn Host, budget: u64) -> AppResult<u64> {
    use super::request_walk::{first_month, month_bounds, month_entries};
    let store = Store::new(host);
    let mut st = store
        .get::<Backfill>(keys::REQUEST_TOOL_INDEX_BACKFILL)?
        .unwrap_or_default();
    if st.done || budget == 0 {
        return Ok(0);
    }
    if st.upto_ms == 0 {
        // The first run (or an older version's cursor-kept place): the requests filed up to now.
        st = Backfill {
            upto_ms: host.now_ms(),
            ..Backfill::default()
        };
        match first_month(store)? {
            Some(m) => st.month = m,
            None => st.done = true,
        }
    }
    let upto_month = crate::time::rfc3339(st.upto_ms)[..7].to_string();
    let (mut done, mut months) = (0u64, 0usize);
    let mut dirty = st.done;
    while !st.done && done < budget && months < MONTHS && host.remaining_ms() > 10_000 {
        if st.month > upto_month || month_bounds(&st.month).is_none() {
            st.done = true;
            dirty = true;
            break;
        }
        let want = (budget - done).min(u64::from(BATCH)) as usize;
        let (entries, more) =
            month_entries(store, &st.month, st.after.as_deref(), st.upto_ms, want)?;
        let ids: Vec<String> = entries
            .iter()
            .filter(|(_, id)| !id.is_empty())
            .map(|(_, id)| keys::request(id))
            .collect();
        let requests = store.get_many::<Request>(&ids)?;
        if let Some((k, _)) = entries.last() {
            st.after = Some(k.clone());
        }
        if !more {
            let (_, _, next) = month_bounds(&st.month).expect("checked above");
            st.month = next;
            st.after = None;
            months += 1;
            st.done = st.month > upto_month;
        }
        if requests.is_empty() {
            // Nothing to write for this step: the place is saved once, below.
            dirty = true;
            continue;
        }
        // The entries and the place in one transaction: a crash repeats at most this step.
        let mut tx = store.tx();
        for (_, r) in &requests {
            tx.set(&entry(r, r.decision.as_str()), &r.issue_id)?;
        }
        tx.set(keys::REQUEST_TOOL_INDEX_BACKFILL, &st)?;
        tx.commit()?;
        dirty = false;
        done += requests.len() as u64;
    }
    if dirty {
        store.put(keys::REQUEST_TOOL_INDEX_BACKFILL, &st)?;
    }
    Ok(done)
}
