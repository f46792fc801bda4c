//! The hourly job runner: overdue grants expire (with deprovision jobs), due jobs run, closed
//! jobs are pruned, expiry notices are queued, and decisions whose follow-up was lost (path
//! outcomes, notices, unrouted requests) are finished.
//!
//! When idle it costs one read: the `job-runner` hint (`storage::hint`) says when the next of
//! all that falls due. Every write under one of the indexes it reads dirties the hint in the
//! writer's own transaction (`hint::WATCHED`), so a clean hint can be trusted; after a full pass
//! the runner settles it with the earliest due time it can see, at most a day ahead (a daily full
//! pass is the safety net for anything written around the storage layer).

use super::grants::DAY_MS;
use super::{jobs, lifecycle, notices, reminders, routing};
use crate::error::AppResult;
use crate::host::{Host, Invocation, Level};
use crate::requests;
use crate::storage::{hint, keys, Store};
use serde::de::IgnoredAny;
use serde_json::{json, Value};

/// The longest a clean hint is trusted: one full pass a day even when nothing is due.
const MAX_IDLE_MS: u64 = DAY_MS;

pub fn run(host: &dyn Host, inv: &Invocation) -> AppResult<Value> {
    let store = Store::new(host);
    let now = host.now_ms();
    let seen = hint::read(store, hint::JOB_RUNNER)?;
    let (mut expired, mut jobs_run, mut jobs_pruned, mut reminders_queued) = (0, 0, 0, 0);
    let (mut outcomes, mut notices_requeued, mut routed) = (0, 0, 0);
    let (mut pending_folded, mut bulk_swept) = (0u64, 0u64);
    let mut failed = serde_json::Map::new();
    // A settled hint never reaches past a day; one that does was not written by this runner.
    let trusted = seen.idle_at(now) && seen.next_ms.is_some_and(|t| t <= now + MAX_IDLE_MS);
    if !trusted {
        expired = lifecycle::expire_due(host, 500)?;
        jobs_run = jobs::run_due(host, inv, 500)?;
        jobs_pruned = jobs::prune_closed(host, 2_000)?;
        reminders_queued = reminders::expiry_notices(host, 500)?;
        outcomes = routing::apply_stale_outcomes(host, 200)?;
        notices_requeued = notices::requeue_stale(host, 200)?;
        routed = route_unrouted(host, 100)?;
        // Each on its own (D-250, D-254): a failure is reported and logged, the others run,
        // and the next pass picks up where it stopped.
        let mut more = false;
        match super::pending_count::fold(host, 2_000) {
            Ok((n, left)) => {
                (pending_folded, more) = (n, left);
            }
            Err(e) => isolated_failure(host, &mut failed, "pendingCountFolded", e),
        }
        match super::deferred::sweep(host, 4) {
            Ok(n) => bulk_swept = n,
            Err(e) => isolated_failure(host, &mut failed, "queuedBulkKeysApplied", e),
        }
        // Lost follow-ups were re-sent, not finished: look again next hour.
        let next = if outcomes + notices_requeued + routed > 0 || more || !failed.is_empty() {
            now
        } else {
            let swept_next = super::deferred::sweep_due(store)?.unwrap_or(u64::MAX);
            next_due(store, now)?.min(swept_next.max(now))
        };
        hint::settle(store, hint::JOB_RUNNER, &seen, next.min(now + MAX_IDLE_MS))?;
    }
    let mut out = json!({"trigger": inv.module_key, "grantsExpired": expired, "jobsRun": jobs_run,
                         "pathOutcomesApplied": outcomes, "noticesRequeued": notices_requeued,
                         "requestsRouted": routed, "jobsPruned": jobs_pruned,
                         "expiryNoticesQueued": reminders_queued});
    if pending_folded > 0 {
        out["pendingCountFolded"] = json!(pending_folded);
    }
    if bulk_swept > 0 {
        out["queuedBulkKeysApplied"] = json!(bulk_swept);
    }
    if !failed.is_empty() {
        out["failed"] = Value::Object(failed);
    } else if expired
        + jobs_run
        + outcomes
        + notices_requeued
        + routed
        + jobs_pruned
        + reminders_queued
        + pending_folded as u32
        + bulk_swept as u32
        == 0
    {
        out["work"] = json!("none");
    }
    Ok(out)
}

/// A task of the full pass that failed: reported in the run's answer and logged.
fn isolated_failure(
    host: &dyn Host,
    failed: &mut serde_json::Map<String, Value>,
    name: &str,
    e: crate::error::AppError,
) {
    host.log(Level::Error, &format!("job runner: {name} failed: {e}"));
    failed.insert(
        name.to_string(),
        json!({"code": e.code, "message": e.message}),
    );
}

/// The earliest time any of the runner's indexes has work, read after a full pass: the next
/// grant expiry, the next job due, the next closed job past retention, the next expiry notice
/// window. `now` when a bound stopped a read with more due (the next run looks again).
fn next_due(store: Store<'_>, now: u64) -> AppResult<u64> {
    let first_after = |prefix: &str, after: u64| -> AppResult<Option<u64>> {
        Ok(store.due_next::<IgnoredAny>(prefix, after, 0)?.1)
    };
    let mut next = u64::MAX;
    for t in [
        first_after(keys::GRANT_EXPIRY_PREFIX, now)?,
        first_after(keys::JOB_DUE_PREFIX, now)?,
        first_after(
            keys::JOB_CLOSED_PREFIX,
            now.saturating_sub(jobs::JOB_RETENTION_DAYS * DAY_MS),
        )?
        .map(|ms| ms + jobs::JOB_RETENTION_DAYS * DAY_MS),
        reminders::next_notice_due(store, now)?,
    ]
    .into_iter()
    .flatten()
    {
        next = next.min(t);
    }
    Ok(next.max(now))
}

/// Pending requests that never got a route (routing failed after intake), bounded.
fn route_unrouted(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let ids = store.scan::<String>(&keys::request_by_decision_prefix("pending"), 2_000)?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::request(id)).collect();
    let mut n = 0;
    for (_, r) in store.get_many::<requests::Request>(&want)? {
        if r.route.is_none() && n < budget {
            // One request that cannot be routed must not stop the others (or the runner).
            if let Err(e) = routing::after_intake(host, &r.issue_id) {
                host.log(
                    Level::Warn,
                    &format!("job runner: {} still unrouted ({e})", r.issue_key),
                );
            }
            n += 1;
        }
    }
    Ok(n as u32)
}
