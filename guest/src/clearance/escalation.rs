//! Approval escalation (§10, hourly): a request still pending `escalationAfterHours` after it was
//! requested breaches its SLA. The sweep records the breach once (`request-escalation:<issueId>`),
//! appends `request_escalated` to the audit trail and comments on the issue, @-mentioning the
//! configured escalation targets (or saying that admins decide by fallback when there are none).
//!
//! Intake writes `request-escalation-due:<ms>:<issueId>`, so the sweep reads only requests whose
//! time has come; each due key is deleted in the same transaction as the record, so a duplicate
//! run finds nothing to do, and a request decided before its time is simply dropped from the index.

use super::notices::{self, Notice};
use crate::audit::{self, AuditDraft};
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::requests::{Decision, Request};
use crate::storage::{keys, StorageError, Store};
use serde_json::json;

/// Escalates the due requests (at most `budget`). Returns how many were escalated.
pub fn sweep(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let now = host.now_ms();
    let due = store.due::<String>(keys::ESCALATION_DUE_PREFIX, now, budget)?;
    if due.is_empty() {
        return Ok(0);
    }
    let settings = crate::intake::config::load(store)?
        .map(|c| c.approvals)
        .unwrap_or_default();
    let mut escalated = 0;
    for (due_key, issue_id) in due {
        if host.remaining_ms() < 10_000 {
            break;
        }
        let raw = store.get_raw(&keys::request(&issue_id))?;
        let request: Option<Request> = raw
            .as_deref()
            .map(|t| crate::storage::decode(&keys::request(&issue_id), t))
            .transpose()?;
        let Some(r) = request.filter(|r| r.decision == Decision::Pending) else {
            store.delete(&due_key)?; // decided (or gone) in time: nothing to escalate
            continue;
        };
        let hours = settings.escalation_after_hours;
        let targets = settings.escalation_targets.clone();
        let mut lines = vec![
            format!("Tool: {}", r.tool_name()),
            format!(
                "Requested: {} — pending for more than {hours} hours",
                r.requested_at
            ),
        ];
        lines.push(if targets.is_empty() {
            "No escalation targets are configured; Jira administrators decide by fallback".into()
        } else {
            format!("Escalated to {} escalation target(s)", targets.len())
        });
        let notice = Notice {
            id: format!("{}.escalation", r.issue_id),
            issue_key: r.issue_key.clone(),
            heading: "AI Clearance: approval overdue — escalated".into(),
            lines,
            transitions: Vec::new(),
            comment_done: false,
            mentions: targets.clone(),
            visibility: crate::jira::Visibility::Internal,
            leaves_pending: false,
        };
        let mut d = AuditDraft::new("request_escalated", "app");
        d.issue_key = Some(r.issue_key.clone());
        d.subject = json!({"requestId": r.issue_id});
        d.data = json!({"afterHours": hours, "targets": targets, "requestedAt": r.requested_at});
        let record = json!({"issueId": r.issue_id, "issueKey": r.issue_key, "breachedAt": crate::time::rfc3339(now),
                            "afterHours": hours, "escalatedTo": targets});
        let mac = audit::mac_key(store, None)?;
        let res = audit::commit_with_audit(store, &mac, None, &[d], |tx| {
            tx.create(&keys::escalation(&r.issue_id), &record)?;
            tx.create(&keys::decision_notice(&notice.id), &notice)?;
            tx.delete(&due_key)?;
            Ok(())
        });
        match res {
            Ok(_) => {
                notices::push(host, &notice.id);
                host.log(
                    Level::Info,
                    &format!(
                        "escalation: {} pending over {hours} h, escalated",
                        r.issue_key
                    ),
                );
                escalated += 1;
            }
            // Already escalated (a duplicate run got there first): just drop the due key.
            Err(StorageError::Conflict(k)) if k == keys::escalation(&r.issue_id) => {
                store.delete(&due_key)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(escalated)
}
