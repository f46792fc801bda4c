//! Request retention (issue 32 item 5): a request closed longer ago than the retention period —
//! 730 days unless `AICLEARANCE_REQUEST_RETENTION_DAYS` says otherwise — is deleted with its
//! indexes and its grant's records by a bounded daily task, so the app's storage stops growing
//! with its age. What happened stays in the audit trail (its own retention, D-136).
//!
//! Closed means: denied (closed when decided), or approved with its grant expired or revoked
//! (closed when the grant ended). The task walks `request-by-time:` from the oldest request
//! requested before the cutoff (a request cannot close before it was filed), so it reads only
//! what may be due. Each request goes in one transaction (request, its five index keys, its
//! escalation record, the grant and its three remaining index keys), so nothing is half-deleted;
//! a request not yet closed long enough is left for a later day. One `requests_pruned` audit
//! entry a run names what went.
//!
//! The governance paths that decided a request go with it (their records, in their own
//! transactions first, so a crash leaves at worst a request whose path is already gone, which
//! the next run finishes), and intake's refusal records older than the same cutoff go too: both
//! otherwise grew with the app's age. So do approvals no request links (started through the
//! approval engine directly) that finished before the cutoff, read from the engine's own
//! `approval-closed:` index (D-255; the engine knows nothing of clearance, this task calls it).

use super::grants::Grant;
use crate::audit::{self, AuditDraft};
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::requests::{Decision, Request};
use crate::storage::{keys, Store};
use serde_json::json;

pub const ENV_REQUEST_DAYS: &str = "AICLEARANCE_REQUEST_RETENTION_DAYS";
pub const DEFAULT_DAYS: u64 = 730;
const DAY_MS: u64 = 86_400_000;

pub fn request_days(host: &dyn Host) -> u64 {
    crate::audit::retention::days(host, ENV_REQUEST_DAYS, DEFAULT_DAYS)
}

/// Deletes requests closed before the retention cutoff, at most `budget` read. Returns how many
/// were deleted.
pub fn prune(host: &dyn Host, budget: usize) -> AppResult<u64> {
    let store = Store::new(host);
    let days = request_days(host);
    let cutoff = host.now_ms().saturating_sub(days * DAY_MS);
    let due = filed_before(store, cutoff, budget)?;
    let mut pruned: Vec<String> = Vec::new();
    let mut approvals_pruned = 0u32;
    for (time_key, issue_id) in due {
        if host.remaining_ms() < 10_000 {
            break;
        }
        let Some(r) = store.get::<Request>(&keys::request(&issue_id))? else {
            store.delete(&time_key)?; // an index entry whose request is gone
            continue;
        };
        let grant = match &r.grant_id {
            Some(g) => store.get::<Grant>(&keys::grant(g))?,
            None => None,
        };
        let Some(closed_ms) = closed_at(&r, grant.as_ref()) else {
            continue;
        };
        if closed_ms > cutoff {
            continue;
        }
        approvals_pruned +=
            crate::approvals::store::forget_linked(store, &r.issue_id, &r.issue_id)?;
        let requested_ms = crate::time::parse(&r.requested_at).unwrap_or(0);
        let mut tx = store.tx();
        tx.delete(&keys::request(&r.issue_id))?;
        tx.delete(&keys::request_by_requester(
            &r.requester_account_id,
            requested_ms,
            &r.issue_id,
        ))?;
        tx.delete(&keys::request_by_decision(
            r.decision.as_str(),
            &r.project_key,
            &r.issue_id,
        ))?;
        tx.delete(&keys::request_by_issue_key(&r.issue_key))?;
        for k in super::tool_index::all_entries(&r) {
            tx.delete(&k)?;
        }
        tx.delete(&time_key)?;
        tx.delete(&keys::escalation(&r.issue_id))?;
        if let Some(g) = &grant {
            tx.delete(&keys::grant(&g.id))?;
            tx.delete(&keys::grant_by_status(g.status.as_str(), &g.id))?;
            tx.delete(&keys::grant_by_account(&g.account_id, &g.id))?;
            if let Some(ms) = crate::time::parse(&g.granted_at) {
                tx.delete(&keys::grant_by_time(ms, &g.id))?;
            }
        }
        tx.commit()?;
        pruned.push(r.issue_key.clone());
    }
    let rejections = if host.remaining_ms() >= 10_000 {
        prune_rejections(store, cutoff, budget.min(REJECTIONS_PER_RUN))?
    } else {
        0
    };
    // Approvals no request links (started through the approval engine directly) finished
    // before the same cutoff (D-255): the engine's own closed index, oldest first.
    let standalone = if host.remaining_ms() >= 10_000 {
        crate::approvals::store::prune_closed_standalone(
            store,
            cutoff,
            budget.min(STANDALONE_PER_RUN),
        )?
    } else {
        0
    };
    approvals_pruned += standalone;
    if !pruned.is_empty() || rejections > 0 || standalone > 0 {
        let mut d = AuditDraft::new("requests_pruned", "app");
        d.data = json!({"retentionDays": days, "count": pruned.len(),
                        "issueKeys": pruned.iter().take(100).collect::<Vec<_>>(),
                        "approvalsPruned": approvals_pruned, "rejectionsPruned": rejections,
                        "standaloneApprovalsPruned": standalone});
        let mac = audit::mac_key(store, None)?;
        audit::commit_with_audit(store, &mac, None, &[d], |_| Ok(()))?;
        host.log(
            Level::Info,
            &format!(
                "retention: {} request(s) closed more than {days} days ago deleted",
                pruned.len()
            ),
        );
    }
    Ok(pruned.len() as u64 + u64::from(standalone))
}

/// At most this many finished standalone approvals are examined a run.
const STANDALONE_PER_RUN: usize = 200;

/// At most this many intake refusals are examined a run.
const REJECTIONS_PER_RUN: usize = 100;

/// Intake's refusal records (`intake-rejection:<issueId>`) older than `cutoff`, from the start of
/// the prefix: issue ids grow with time, so the oldest come first and the walk stops at the
/// first page with nothing due. Deleted in transactions of at most 20.
fn prune_rejections(store: Store<'_>, cutoff: u64, max: usize) -> AppResult<u64> {
    let mut due: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let page = store.page::<serde_json::Value>(
            keys::INTAKE_REJECTION_PREFIX,
            cursor.as_deref(),
            20,
        )?;
        let before = due.len();
        for (k, v) in &page.items {
            seen += 1;
            let at = v["at"]
                .as_str()
                .and_then(crate::time::parse)
                .unwrap_or(u64::MAX);
            if at <= cutoff {
                due.push(k.clone());
            }
        }
        match page.next_cursor {
            Some(c) if due.len() > before && seen < max => cursor = Some(c),
            _ => break,
        }
    }
    for chunk in due.chunks(20) {
        let mut tx = store.tx();
        for k in chunk {
            tx.delete(k)?;
        }
        tx.commit()?;
    }
    Ok(due.len() as u64)
}

/// Entries of `request-by-time:<YYYY-MM>:<ms>:<issueId>` filed before `cutoff`, oldest first,
/// at most `max`: the index sorts by month then time, so the walk stops at the first later one.
fn filed_before(store: Store<'_>, cutoff: u64, max: usize) -> AppResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.page::<String>(keys::REQUEST_BY_TIME_PREFIX, cursor.as_deref(), 20)?;
        for (k, v) in page.items {
            let ms = k
                .split(':')
                .nth(2)
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(u64::MAX);
            if ms > cutoff || out.len() >= max {
                return Ok(out);
            }
            out.push((k, v));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// When the request closed, or `None` while it is still open (pending, or its grant open).
fn closed_at(r: &Request, grant: Option<&Grant>) -> Option<u64> {
    match r.decision {
        Decision::Pending => None,
        Decision::Denied => r.decided_at.as_deref().and_then(crate::time::parse),
        Decision::Approved => match grant {
            // An approved request whose grant record is gone closed when it was decided.
            None => r.decided_at.as_deref().and_then(crate::time::parse),
            Some(g) if g.status.is_open() => None,
            Some(g) => g
                .ended_at
                .as_deref()
                .or(Some(g.status_changed_at.as_str()))
                .and_then(crate::time::parse),
        },
    }
}
