//! What happens to a request right after intake (spec §1 canonical flow, §9 C): auto-approval
//! policy evaluation in the same trigger; otherwise the approval path governance picks for the
//! tool's risk level; otherwise direct decisions by the configured approvers (admin fallback).
//!
//! Resumable: intake writes the request first, then routing records its `route`. If the
//! invocation dies in between, a redelivered event finds the request still unrouted and routes
//! it (see `intake::ingest`), and path starts are idempotent per issue.

use super::decision::{self, Applied, Input, Verdict};
use super::{governance, policies};
use crate::approvals::model::ApprovalStatus;
use crate::approvals::{self, store as astore};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::jira::Jira;
use crate::requests::{Decision, Request, Route};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

/// Routes a freshly ingested (or still unrouted) pending request.
pub fn after_intake(host: &dyn Host, issue_id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let (request, raw) = decision::load_request(store, issue_id)?;
    let (gov, _) = governance::load(store)?;
    route_request(host, request, raw, &gov, None)
}

/// Routes `request`, whose stored text is `raw`. Intake calls this with the request it just
/// wrote, the governance and the whole issue (`fields=*all`, no properties) it already read, so
/// the trigger reads none of them again.
pub fn route_request(
    host: &dyn Host,
    request: Request,
    raw: String,
    gov: &governance::Governance,
    issue: Option<Value>,
) -> AppResult<Value> {
    let store = Store::new(host);
    let issue_id = request.issue_id.clone();
    let issue_id = issue_id.as_str();
    if request.decision != Decision::Pending || request.route.is_some() {
        return Ok(json!({"route": "unchanged"}));
    }

    // 1. Auto-approval (CL-040…CL-047).
    let all = policies::list(store)?;
    let mut auto_note: Option<Value> = None;
    if !all.is_empty() {
        let facts = policies::Facts {
            project_key: &request.project_key,
            tool_id: request.tool_id(),
            duration_days: request.duration_days,
        };
        let requester = request.requester_account_id.clone();
        let eval = policies::evaluate(&all, &facts, &mut || {
            Jira::new(host)
                .user_groups(&requester)
                .map_err(AppError::from)
        })?;
        if let Some(d) = eval.deciding.as_ref().filter(|_| eval.auto_approve) {
            let policy = all.iter().find(|p| p.id == d.policy_id);
            let evidence = json!({
                "policyId": d.policy_id, "policyVersion": d.policy_version,
                "matchedGroup": d.matched_group, "durationDays": request.duration_days,
                "maxDays": policy.and_then(|p| p.max_days), "scope": d.scope,
            });
            let input = Input {
                issue_id: issue_id.to_string(),
                verdict: Verdict::Approve,
                source: "auto-policy".into(),
                actor: "app".into(),
                approval_id: None,
                evidence: evidence.clone(),
                comment: None,
            };
            match decision::apply(host, &input) {
                Ok(a) => {
                    return Ok(
                        json!({"route": "auto-policy", "decision": a.to_json(), "evidence": evidence}),
                    )
                }
                // A conflict (e.g. an open grant already) falls through to a human decision.
                Err(e) if e.kind == crate::error::ErrorKind::Conflict => {
                    auto_note = Some(json!({"autoApproved": false, "reason": e.code}));
                }
                Err(e) => return Err(e),
            }
        } else if let Some(d) = &eval.deciding {
            auto_note = Some(json!({"autoApproved": false, "policyId": d.policy_id,
                "policyVersion": d.policy_version, "failedCondition": d.failed_condition}));
        }
    }

    // 2. The approval path governance picks, or direct decisions.
    // A definition governance names but storage lacks (deletion is refused, so only a race or
    // a restore gets here): the request is held — it can be denied, not approved — until
    // governance is fixed, never routed to laxer direct decisions (D-69).
    let def = match gov.definition_for(request.tool_id(), request.risk()) {
        Some(def_id) => match astore::load_definition(store, def_id) {
            Ok(d) => Some(d),
            Err(e) if e.code == "DEFINITION_NOT_FOUND" => {
                host.log(
                    Level::Warn,
                    &format!(
                        "routing: governance names approval definition {def_id:?}, which does not exist; {} is held until governance is fixed",
                        request.issue_key
                    ),
                );
                let route = Route {
                    kind: HELD.into(),
                    approval_id: None,
                    definition_id: Some(def_id.to_string()),
                    at: crate::time::rfc3339(host.now_ms()),
                    auto_approval: auto_note,
                };
                let out = json!({"route": HELD, "definitionId": def_id});
                set_route_known(
                    host,
                    issue_id,
                    Some(route),
                    |r| r.route.is_none(),
                    Some((request, raw)),
                )?;
                return Ok(out);
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let route = match def {
        Some(def) => {
            let a = approvals::service::start_linked(
                host,
                &def,
                &request.issue_key,
                "app",
                Some(&format!("clearance:{issue_id}")),
                Some(issue_id.to_string()),
                issue,
            )?;
            Route {
                kind: "path".into(),
                approval_id: Some(a.id),
                definition_id: Some(def.id),
                at: crate::time::rfc3339(host.now_ms()),
                auto_approval: auto_note,
            }
        }
        None => Route {
            kind: "direct".into(),
            approval_id: None,
            definition_id: None,
            at: crate::time::rfc3339(host.now_ms()),
            auto_approval: auto_note,
        },
    };
    let out = json!({"route": route.kind, "approvalId": route.approval_id, "autoApproval": route.auto_approval});
    set_route_known(
        host,
        issue_id,
        Some(route),
        |r| r.route.is_none(),
        Some((request, raw)),
    )?;
    Ok(out)
}

/// The route of a request whose governance path is missing (see `route_request`).
pub const HELD: &str = "held";

/// Routes held requests again (after governance is saved): bounded, oldest first.
pub fn reroute_held(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let (gov, _) = governance::load(store)?;
    let ids = store.scan::<String>(&keys::request_by_decision_prefix("pending"), budget)?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::request(id)).collect();
    let mut n = 0;
    for (_, r) in store.get_many::<Request>(&want)? {
        if r.route.as_ref().map(|x| x.kind.as_str()) != Some(HELD) {
            continue;
        }
        let id = r.issue_id.clone();
        if set_route(host, &id, None, |r| {
            r.route.as_ref().map(|x| x.kind.as_str()) == Some(HELD)
        })? {
            let (request, raw) = decision::load_request(store, &id)?;
            route_request(host, request, raw, &gov, None)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Replaces the request's route while it is pending and `when` holds (conditioned write).
pub fn set_route(
    host: &dyn Host,
    issue_id: &str,
    route: Option<Route>,
    when: impl Fn(&Request) -> bool,
) -> AppResult<bool> {
    set_route_known(host, issue_id, route, when, None)
}

/// `set_route` starting from a request and text the caller already holds (re-read only if
/// another writer changed it meanwhile).
fn set_route_known(
    host: &dyn Host,
    issue_id: &str,
    route: Option<Route>,
    when: impl Fn(&Request) -> bool,
    mut known: Option<(Request, String)>,
) -> AppResult<bool> {
    let store = Store::new(host);
    for _ in 0..4 {
        let (mut r, raw) = match known.take() {
            Some(k) => k,
            None => decision::load_request(store, issue_id)?,
        };
        if r.decision != Decision::Pending || !when(&r) {
            return Ok(false);
        }
        r.route = route.clone();
        let mut tx = store.tx();
        tx.set_if_current(&keys::request(issue_id), &r, Some(&raw))?;
        match tx.commit() {
            Ok(()) => return Ok(true),
            Err(crate::storage::StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "REQUEST_BUSY",
        "the request changed; try again",
    ))
}

/// Should a path started by hand on this issue decide its request? Only while the request is
/// pending with no open path deciding it, and only for the definition governance picks for it —
/// or when a Jira admin starts it. Otherwise a requester could start a laxer path on their own
/// request and skip the review governance requires.
pub fn wants_path(
    host: &dyn Host,
    issue_id: &str,
    definition_id: &str,
    originator: &str,
) -> AppResult<bool> {
    let store = Store::new(host);
    let Some(r) = store.get::<Request>(&keys::request(issue_id))? else {
        return Ok(false);
    };
    if r.decision != Decision::Pending {
        return Ok(false);
    }
    let open_path = match r.route.as_ref().and_then(|x| x.approval_id.as_deref()) {
        None => false,
        Some(a) => astore::load(store, a)
            .map(|(a, _)| a.is_open())
            .unwrap_or(false),
    };
    if open_path {
        return Ok(false);
    }
    let (gov, _) = governance::load(store)?;
    if gov.definition_for(r.tool_id(), r.risk()) == Some(definition_id) {
        return Ok(true);
    }
    crate::access::is_admin(host, originator)
}

pub fn push_outcome(host: &dyn Host, approval_id: &str) {
    let body = json!({"approvalId": approval_id}).to_string();
    if let Err(e) = host.queue_push(super::notices::QUEUE, &[body], 0) {
        host.log(
            Level::Warn,
            &format!("path outcome {approval_id} not queued ({e}); the sweep will"),
        );
    }
}

/// Applies a closed path to its request: approved → approve, rejected → deny, expired → deny
/// (no decision in time), cancelled → back to direct decisions. Idempotent.
pub fn apply_outcome(host: &dyn Host, approval_id: &str) -> AppResult<Option<Applied>> {
    let store = Store::new(host);
    let key = keys::path_outcome(approval_id);
    if store.get_raw(&key)?.is_none() {
        return Ok(None);
    }
    let (a, _) = astore::load(store, approval_id)?;
    let Some(issue_id) = a.clearance_request.clone() else {
        store.delete(&key)?;
        return Ok(None);
    };
    let current = store
        .get::<Request>(&keys::request(&issue_id))?
        .and_then(|r| r.route.and_then(|x| x.approval_id))
        .as_deref()
        == Some(approval_id);
    let last_decider = a
        .steps
        .iter()
        .flat_map(|s| s.decisions.iter())
        .max_by(|x, y| x.at.cmp(&y.at))
        .map(|d| d.decider.clone())
        .unwrap_or_else(|| "app".into());
    let (verdict, source) = match a.status {
        ApprovalStatus::Approved => (Verdict::Approve, "approval-path"),
        ApprovalStatus::Rejected => (Verdict::Deny, "approval-path"),
        ApprovalStatus::Expired => (Verdict::Deny, "approval-expired"),
        ApprovalStatus::Cancelled | ApprovalStatus::Running => {
            if current {
                let route = Route {
                    kind: "direct".into(),
                    approval_id: None,
                    definition_id: None,
                    at: crate::time::rfc3339(host.now_ms()),
                    auto_approval: None,
                };
                set_route(host, &issue_id, Some(route), |r| {
                    r.route.as_ref().and_then(|x| x.approval_id.as_deref()) == Some(approval_id)
                })?;
            }
            store.delete(&key)?;
            return Ok(None);
        }
    };
    if !current {
        store.delete(&key)?;
        return Ok(None);
    }
    let input = Input {
        issue_id,
        verdict,
        source: source.into(),
        actor: if source == "approval-expired" {
            "app".into()
        } else {
            last_decider
        },
        approval_id: Some(approval_id.to_string()),
        // Every administrator override on the path goes into the decision's audit entry, with
        // its reason: an override is an audited act (D-61).
        evidence: json!({"approvalId": a.id, "definitionId": a.definition_id,
                         "definitionVersion": a.definition_version, "status": a.status,
                         "overrides": a.steps.iter().flat_map(|s| s.decisions.iter()
                             .filter(|d| d.admin_override)
                             .map(move |d| json!({"stepId": s.id, "step": s.name, "decider": d.decider,
                                                  "decision": d.decision, "reason": d.override_reason, "at": d.at})))
                             .collect::<Vec<_>>()}),
        comment: None,
    };
    match decision::apply(host, &input) {
        Ok(applied) => {
            // The record goes with the decision's transaction; a replay only cleans up.
            store.delete(&key)?;
            Ok(Some(applied))
        }
        Err(e) if e.code == "REQUEST_NOT_PENDING" || e.code == "PATH_NOT_CURRENT" => {
            store.delete(&key)?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Outcomes whose queue event was lost (bounded; called by the sweeps).
pub fn apply_stale_outcomes(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let mut n = 0;
    for (_, v) in store.scan::<Value>(keys::PATH_OUTCOME_PREFIX, budget)? {
        if let Some(id) = v.get("approvalId").and_then(Value::as_str) {
            apply_outcome(host, id)?;
            n += 1;
        }
    }
    Ok(n)
}
