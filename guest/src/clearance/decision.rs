//! Deciding a request (spec §9 A–C): the one place a request leaves `pending`.
//!
//! Approve: decision `approved`, a grant in `pendingProvision` whose access window starts now, a
//! provisioning job, an issue notice (ADF comment + the approve transition), and audit entries
//! `request_approved`, `grant_created`, `provisioning_job_queued`. Deny: decision `denied`, no
//! grant, a notice, and `request_denied`. Each is ONE transaction conditioned on the request text
//! and the audit head, so a decision is applied fully or not at all, exactly once: a second
//! attempt finds the request decided (REQUEST_NOT_PENDING), and a replayed path outcome finds its
//! own result and reports it again.

use super::governance::{self, Governance};
use super::grants::{self, Grant, GrantStatus, DAY_MS, LIFETIME_DAYS};
use super::jobs::{self, JobKind};
use super::notices;
use crate::audit::{self, AuditDraft};
use crate::catalog::{Tool, ToolStatus};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::requests::{Decision, Request, RequestedTool};
use crate::storage::{keys, StorageError, Store};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Deny,
}

/// Who decided and why.
#[derive(Debug, Clone)]
pub struct Input {
    pub issue_id: String,
    pub verdict: Verdict,
    /// `auto-policy`, `approver`, `bulk`, `approval-path`, `approval-expired`.
    pub source: String,
    /// An account id, or `app`.
    pub actor: String,
    /// Set when an approval path decided: it must still be the request's path.
    pub approval_id: Option<String>,
    pub evidence: Value,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub issue_key: String,
    pub decision: Decision,
    pub grant_id: Option<String>,
    pub job_id: Option<String>,
    pub policy_version: u64,
    pub note: Option<String>,
}

impl Applied {
    pub fn to_json(&self) -> Value {
        json!({"issueKey": self.issue_key, "decision": self.decision.as_str(),
               "grantId": self.grant_id, "jobId": self.job_id,
               "policyVersion": self.policy_version, "note": self.note})
    }
}

pub fn load_request(store: Store<'_>, issue_id: &str) -> AppResult<(Request, String)> {
    let key = keys::request(issue_id);
    let raw = store.get_raw(&key)?.ok_or_else(|| {
        AppError::not_found(
            "REQUEST_NOT_FOUND",
            "no AI Clearance request for this issue",
        )
    })?;
    Ok((crate::storage::decode(&key, &raw)?, raw))
}

/// The request of an issue key (resolvers receive keys); unknown or malformed keys are
/// `REQUEST_NOT_FOUND`.
pub fn load_request_by_key(store: Store<'_>, issue_key: &str) -> AppResult<(Request, String)> {
    let bad = || {
        AppError::not_found(
            "REQUEST_NOT_FOUND",
            format!("no AI Clearance request {issue_key:?}"),
        )
    };
    let idx = keys::request_by_issue_key(issue_key);
    if issue_key.is_empty() || issue_key.len() > 64 || crate::storage::check_key(&idx).is_err() {
        return Err(bad());
    }
    let id: String = store.get(&idx)?.ok_or_else(bad)?;
    load_request(store, &id)
}

/// Why an approval would not produce a grant right now (CL-022, CL-033, CL-059), or None.
pub fn grant_blocker(
    request: &Request,
    tool: Option<&Tool>,
    gov: &Governance,
    open_grant: Option<&str>,
) -> Option<AppError> {
    match &request.tool {
        RequestedTool::Catalog { id, .. } => match tool {
            None => {
                return Some(AppError::conflict(
                    "TOOL_NOT_REQUESTABLE",
                    format!("{id} is no longer in the catalog"),
                ))
            }
            Some(t) if t.status != ToolStatus::Approved => {
                return Some(AppError::conflict(
                    "TOOL_NOT_REQUESTABLE",
                    format!(
                        "{} is {} in the catalog; only approved tools are granted",
                        t.display_name,
                        t.status.as_str()
                    ),
                ))
            }
            _ => {}
        },
        RequestedTool::New { name, .. } if gov.block_unknown_tools => {
            return Some(AppError::conflict(
                "UNKNOWN_TOOL_BLOCKED",
                format!("{name} is not in the catalog and governance blocks unknown tools"),
            ))
        }
        RequestedTool::New { .. } => {}
    }
    open_grant.map(|g| {
        AppError::conflict(
            "GRANT_CONFLICT",
            format!("the requester already holds open grant {g} for this tool"),
        )
        .with_details(json!({"grantId": g}))
    })
}

/// Why the issue behind a request cannot be approved now: it is resolved, cancelled or
/// otherwise done in Jira (statusCategory `done`), or gone. Jira is the source of truth for the
/// request's status; the stored request may not have heard yet (D-65).
pub fn issue_closed(host: &dyn Host, issue_key: &str) -> AppResult<Option<AppError>> {
    match crate::jira::Jira::new(host).issue(issue_key, &["status"], &[]) {
        Ok(issue) => {
            let cat = issue
                .pointer("/fields/status/statusCategory/key")
                .and_then(Value::as_str)
                .unwrap_or("");
            if cat != "done" {
                return Ok(None);
            }
            let name = issue
                .pointer("/fields/status/name")
                .and_then(Value::as_str)
                .unwrap_or("done");
            Ok(Some(AppError::conflict(
                "ISSUE_CLOSED",
                format!("{issue_key} is {name} in Jira; a closed request cannot be approved"),
            )))
        }
        Err(crate::jira::JiraError::NotFound) => Ok(Some(AppError::conflict(
            "ISSUE_CLOSED",
            format!("{issue_key} no longer exists in Jira; it cannot be approved"),
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Applies a decision. Errors leave everything unchanged.
pub fn apply(host: &dyn Host, input: &Input) -> AppResult<Applied> {
    let store = Store::new(host);
    // Read once, before the loop: approving a request whose issue Jira has closed would grant
    // access nobody is still asking for. Auto-approval runs on the just-created issue.
    let mut closed: Option<Option<AppError>> = None;
    for _ in 0..6 {
        let (request, raw) = load_request(store, &input.issue_id)?;
        if request.decision != Decision::Pending {
            // A replayed path outcome: report what it already did.
            if input.approval_id.is_some()
                && request.route.as_ref().and_then(|r| r.approval_id.as_ref())
                    == input.approval_id.as_ref()
            {
                return Ok(Applied {
                    issue_key: request.issue_key.clone(),
                    decision: request.decision,
                    grant_id: request.grant_id.clone(),
                    job_id: None,
                    policy_version: request.policy_version.unwrap_or(0),
                    note: request.decision_note.clone(),
                });
            }
            return Err(AppError::conflict(
                "REQUEST_NOT_PENDING",
                format!(
                    "{} is already {}",
                    request.issue_key,
                    request.decision.as_str()
                ),
            ));
        }
        if let Some(a) = &input.approval_id {
            if request.route.as_ref().and_then(|r| r.approval_id.as_ref()) != Some(a) {
                return Err(AppError::conflict(
                    "PATH_NOT_CURRENT",
                    "this approval path no longer decides the request",
                ));
            }
        }
        let tool_key = request.tool_key();
        let mut want = vec![
            keys::GOVERNANCE_POLICY.to_string(),
            keys::grant_open(&request.requester_account_id, &tool_key),
            keys::AUDIT_HEAD.to_string(),
            keys::AUDIT_MAC_KEY_ID.to_string(),
        ];
        if let Some(id) = request.tool_id() {
            want.push(keys::tool(id));
            want.push(keys::governance_exception_by_subject(
                id,
                &request.requester_account_id,
            ));
        }
        let got = store.batch_get(&want)?;
        let gov = governance::from_text(got.get(keys::GOVERNANCE_POLICY))?;
        let tool: Option<Tool> = request
            .tool_id()
            .and_then(|id| {
                got.get(&keys::tool(id))
                    .map(|t| crate::storage::decode(&keys::tool(id), t))
            })
            .transpose()?;
        let open: Option<String> = got
            .get(&keys::grant_open(&request.requester_account_id, &tool_key))
            .map(|t| crate::storage::decode(&tool_key, t))
            .transpose()?;

        let mut verdict = input.verdict;
        let mut note: Option<String> = None;
        if verdict == Verdict::Approve && input.source != "auto-policy" {
            if closed.is_none() {
                closed = Some(issue_closed(host, &request.issue_key)?);
            }
            if let Some(Some(e)) = &closed {
                if input.approval_id.is_none() {
                    return Err(e.clone());
                }
                verdict = Verdict::Deny;
                note = Some(format!("approved by the approval path, but {}", e.message));
            }
        }
        if verdict == Verdict::Approve {
            if let Some(e) = grant_blocker(&request, tool.as_ref(), &gov, open.as_deref()) {
                if input.approval_id.is_none() {
                    return Err(e);
                }
                // The path approved, but a grant cannot be issued now: the request is denied
                // with the reason, rather than left pending with a finished path.
                verdict = Verdict::Deny;
                note = Some(format!("approved by the approval path, but {}", e.message));
            }
        }

        let now = host.now_ms();
        let now_s = crate::time::rfc3339(now);
        let mut after = request.clone();
        after.decided_at = Some(now_s.clone());
        after.decided_by = Some(input.actor.clone());
        after.decision_source = Some(input.source.clone());
        after.policy_version = Some(gov.version);
        after.decision_note = note.clone().or_else(|| input.comment.clone());

        let mut drafts = Vec::new();
        let mut grant: Option<Grant> = None;
        let tool_json = serde_json::to_value(&request.tool).expect("serializes");
        let risk = request.risk();
        match verdict {
            Verdict::Approve => {
                after.decision = Decision::Approved;
                // Governance maximum (or an active exception's) at decision time: capped, and
                // the cap is recorded, never silent (A-CL-15).
                let mut max = gov.max_days(risk);
                if let Some(id) = request.tool_id() {
                    let idx =
                        keys::governance_exception_by_subject(id, &request.requester_account_id);
                    if let Some(text) = got.get(&idx) {
                        if let Some(e) = governance::active_exception(store, text)? {
                            max = max.max(e.max_days);
                        }
                    }
                }
                let days = request.duration_days.min(max);
                let id = format!("g-{}", request.issue_id);
                let g = Grant {
                    id: id.clone(),
                    issue_id: request.issue_id.clone(),
                    issue_key: request.issue_key.clone(),
                    account_id: request.requester_account_id.clone(),
                    tool_key: tool_key.clone(),
                    tool_name: request.tool_name(),
                    risk_level: risk.as_str().into(),
                    connector_id: tool.as_ref().and_then(|t| t.connector_id.clone()),
                    status: GrantStatus::PendingProvision,
                    duration_days: days,
                    granted_at: now_s.clone(),
                    expires_at: crate::time::rfc3339(now + days as u64 * DAY_MS),
                    lifetime_ends_at: crate::time::rfc3339(now + LIFETIME_DAYS * DAY_MS),
                    decision_source: input.source.clone(),
                    policy_version: gov.version,
                    capped_from_days: (days < request.duration_days)
                        .then_some(request.duration_days),
                    activated_at: None,
                    ended_at: None,
                    revoked_by: None,
                    revoke_reason: None,
                    extensions: vec![],
                    jobs_created: 0,
                    status_changed_at: now_s.clone(),
                };
                after.grant_id = Some(id.clone());
                let mut d = AuditDraft::new("request_approved", &input.actor);
                d.issue_key = Some(request.issue_key.clone());
                d.subject = json!({"requestId": request.issue_id});
                d.policy_version = Some(gov.version);
                d.data = json!({"source": input.source, "tool": tool_json, "riskLevel": risk.as_str(),
                                "approvalId": input.approval_id, "evidence": input.evidence});
                drafts.push(d);
                let mut d = AuditDraft::new("grant_created", &input.actor);
                d.issue_key = Some(request.issue_key.clone());
                d.subject = json!({"grantId": id, "accountId": g.account_id});
                d.policy_version = Some(gov.version);
                d.data = json!({"grantId": id, "toolId": g.tool_key, "riskLevel": g.risk_level,
                                "durationDays": days, "expiresAt": g.expires_at,
                                "cappedFromDays": g.capped_from_days});
                drafts.push(d);
                grant = Some(g);
            }
            Verdict::Deny => {
                after.decision = Decision::Denied;
                let mut d = AuditDraft::new("request_denied", &input.actor);
                d.issue_key = Some(request.issue_key.clone());
                d.subject = json!({"requestId": request.issue_id});
                d.policy_version = Some(gov.version);
                d.data = json!({"source": input.source, "tool": tool_json, "riskLevel": risk.as_str(),
                                "approvalId": input.approval_id, "note": after.decision_note,
                                "evidence": input.evidence});
                drafts.push(d);
            }
        }
        let job_id = grant.as_ref().map(|g| format!("{}.provision.1", g.id));
        if let (Some(g), Some(j)) = (&grant, &job_id) {
            let mut d = AuditDraft::new("provisioning_job_queued", "app");
            d.issue_key = Some(request.issue_key.clone());
            d.subject = json!({"jobId": j, "grantId": g.id});
            d.data = json!({"kind": "provision", "connector": g.connector_id.clone().unwrap_or_else(|| "manual".into())});
            drafts.push(d);
        }
        let notice = notices::Notice::for_decision(&after, grant.as_ref(), &input.evidence);
        let mac = audit::mac_key(store, Some(got.get(keys::AUDIT_MAC_KEY_ID).cloned()))?;
        let res = audit::commit_with_audit(
            store,
            &mac,
            Some(got.get(keys::AUDIT_HEAD).cloned()),
            &drafts,
            |tx| {
                tx.set_if_current(&keys::request(&after.issue_id), &after, Some(&raw))?;
                tx.delete(&keys::request_by_decision(
                    "pending",
                    &after.project_key,
                    &after.issue_id,
                ))?;
                tx.set(
                    &keys::request_by_decision(
                        after.decision.as_str(),
                        &after.project_key,
                        &after.issue_id,
                    ),
                    &after.issue_id,
                )?;
                if let Some(g) = &grant {
                    let mut g = g.clone();
                    jobs::stage_new(tx, &mut g, JobKind::Provision, now)?;
                    tx.create(&keys::grant(&g.id), &g)?;
                    grants::stage_indexes(tx, None, &g)?;
                    tx.set(&keys::grant_by_account(&g.account_id, &g.id), &g.id)?;
                    tx.set(&keys::grant_by_time(now, &g.id), &g.id)?;
                }
                tx.set(&keys::decision_notice(&notice.id), &notice)?;
                if let Some(a) = &input.approval_id {
                    tx.delete(&keys::path_outcome(a))?;
                }
                Ok(())
            },
        );
        match res {
            Ok(_) => {
                host.log(
                    Level::Info,
                    &format!(
                        "decision: {} {} by {} ({}), governance v{}",
                        after.issue_key,
                        after.decision.as_str(),
                        input.actor,
                        input.source,
                        gov.version
                    ),
                );
                notices::push(host, &notice.id);
                if let Some(j) = &job_id {
                    jobs::push(host, std::slice::from_ref(j));
                }
                return Ok(Applied {
                    issue_key: after.issue_key,
                    decision: after.decision,
                    grant_id: after.grant_id,
                    job_id,
                    policy_version: gov.version,
                    note,
                });
            }
            Err(StorageError::Conflict(k)) if k.starts_with("access-grant-open:") => {
                return Err(AppError::conflict(
                    "GRANT_CONFLICT",
                    "the requester already holds an open grant for this tool",
                ))
            }
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "REQUEST_BUSY",
        "the request changed while deciding; try again",
    ))
}
