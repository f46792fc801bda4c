//! The requests-by-tool index (`request-by-tool:<tool>:<decision>:…`, issue 32 item 3).
//!
//! Intake writes the pending entry with the request. A decision's transaction sits near Forge's
//! 25 operations, so the decision's entry is written *before* it (idempotent: a redelivered
//! decision writes the same one) and the pending entry is deleted *in* it: an entry can be
//! stale (a decision that then failed), never missing; the search reads the records behind a
//! page and keeps only those whose decision is the category's. Retention deletes every variant.
//!
//! Requests filed before the index existed: a daily backfill walks the request records a
//! bounded page at a time, its place kept in `request-by-tool-backfill`, until it records
//! `done`. A new installation starts done (its first audit append marks it). Until then a tool
//! search says its answer may miss older requests.

use crate::error::AppResult;
use crate::host::Host;
use crate::requests::Request;
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};

/// Requests indexed per transaction (each one index write, plus the place).
const BATCH: u32 = 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Backfill {
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
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

/// Indexes up to `budget` requests from where the last run stopped. Returns how many.
pub fn backfill(host: &dyn Host, budget: u64) -> AppResult<u64> {
    let store = Store::new(host);
    let mut state = store
        .get::<Backfill>(keys::REQUEST_TOOL_INDEX_BACKFILL)?
        .unwrap_or(Backfill {
            done: false,
            cursor: None,
        });
    let mut done = 0u64;
    while !state.done && done < budget && host.remaining_ms() > 10_000 {
        let page = match store.page::<Request>(keys::REQUEST_PREFIX, state.cursor.as_deref(), BATCH)
        {
            Ok(p) => p,
            // A cursor the platform no longer honours: start again (the writes are idempotent).
            Err(_) if state.cursor.is_some() => {
                state.cursor = None;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut tx = store.tx();
        for (_, r) in &page.items {
            let ms = crate::time::parse(&r.requested_at).unwrap_or(0);
            tx.set(
                &keys::request_by_tool(&r.tool_key(), r.decision.as_str(), ms, &r.issue_id),
                &r.issue_id,
            )?;
        }
        done += page.items.len() as u64;
        state = Backfill {
            done: page.next_cursor.is_none(),
            cursor: page.next_cursor,
        };
        tx.set(keys::REQUEST_TOOL_INDEX_BACKFILL, &state)?;
        tx.commit()?;
    }
    Ok(done)
}
