//! What happens to a request right after intake (spec §1 canonical flow, §9 C): auto-approval
//! policy evaluation in the same trigger; otherwise the approval path governance picks for the
//! tool's risk level; otherwise direct decisions by the configured approvers (admin fallback).
//!
//! Resumable: intake writes the request first, then routing records its `route`. If the
//! invocation dies in between, a redelivered event finds the request still unrouted and routes
//! it (see `intake::ingest`), and path starts are idempotent per issue.

use super::decision::{self, Applied, Basis, Input};
use super::{governance, policies};
use crate::approvals::model::Link;
use crate::approvals::{self, store as astore};
use crate::audit::{self, AuditDraft};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::jira::Jira;
use crate::requests::{Decision, Request, Route, RouteKind};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

/// Routes a freshly ingested (or still unrouted) pending request.
pub fn after_intake(host: &dyn Host, issue_id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let (request, raw) = decision::load_request(store, issue_id)?;
    let (gov, _) = governance::load(store)?;
    route_request(host, request, raw, &gov, None, None)
}

/// Routes `request`, whose stored text is `raw`, under governance `gov`, which the route pins.
/// Intake calls this with the request it just wrote, the governance, the whole issue
/// (`fields=*all`, no properties) and the catalog tool (`Some(None)`: a tool the catalog does
/// not have) it already read, so the trigger reads none of them again.
pub fn route_request(
    host: &dyn Host,
    request: Request,
    raw: String,
    gov: &governance::Governance,
    issue: Option<Value>,
    known_tool: Option<Option<&crate::catalog::Tool>>,
) -> AppResult<Value> {
    let store = Store::new(host);
    let issue_id = request.issue_id.clone();
    let issue_id = issue_id.as_str();
    if request.decision != Decision::Pending || request.route.is_some() {
        return Ok(json!({"route": "unchanged"}));
    }

    // 1. Auto-approval (CL-040…CL-047): the kernel approves only where governance allows
    // approval without a person for the request's risk level.
    let all = policies::list(store)?;
    let mut auto_note: Option<Value> = None;
    if !all.is_empty() {
        let facts = policies::Facts {
            project_key: &request.project_key,
            tool_id: request.tool_id(),
            duration_days: request.duration_days,
            data_classes: &request.data_classes,
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
                basis: Basis::Policy {
                    policy: decision::policy_facts(
                        &d.policy_id,
                        d.policy_version,
                        d.matched_group.clone(),
                    ),
                    evidence: evidence.clone(),
                },
                comment: None,
                known_issue: issue.clone(),
            };
            match decision::apply(host, &input) {
                Ok(a) => {
                    return Ok(
                        json!({"route": "auto-policy", "decision": a.to_json(), "evidence": evidence}),
                    )
                }
                // Refused (governance does not allow it at this risk, an open grant, a closed
                // issue…): a person decides on the governance route instead.
                Err(e) if e.kind == crate::error::ErrorKind::Conflict => {
                    let mut note =
                        json!({"autoApproved": false, "reason": e.code, "policyId": d.policy_id});
                    if e.code == "DATA_CLASS_REVIEW" {
                        // Approvers see why the data needs them (issue 35).
                        note["message"] = json!(e.message);
                    }
                    auto_note = Some(note);
                }
                Err(e) => return Err(e),
            }
        } else if let Some(d) = &eval.deciding {
            auto_note = Some(json!({"autoApproved": false, "policyId": d.policy_id,
                "policyVersion": d.policy_version, "failedCondition": d.failed_condition}));
        }
    }

    // 2. The approval path governance picks, or direct decisions, pinned to this version.
    let mut route = pinned_route(host, &request, gov, issue, None, known_tool)?;
    route.auto_approval = auto_note;
    let out = json!({"route": route.kind.as_str(), "approvalId": route.approval_id,
                     "autoApproval": route.auto_approval, "governanceVersion": gov.version});
    set_route_known(
        host,
        issue_id,
        Some(route),
        |r| r.route.is_none(),
        Some((request, raw)),
    )?;
    Ok(out)
}

/// The definition governance `gov` pins for `def_id` (its saved version), or — governance saved
/// before versions were pinned — the definition as it is; with the pinned version. Routing and
/// the portal's preview both read it here.
pub fn pinned_definition(
    store: Store<'_>,
    gov: &governance::Governance,
    def_id: &str,
) -> (
    Option<u32>,
    AppResult<crate::approvals::definition::Definition>,
) {
    let pinned = gov
        .definition_versions
        .get(def_id)
        .and_then(|v| u32::try_from(*v).ok());
    let def = match pinned {
        Some(v) => astore::load_definition_version(store, def_id, v),
        None => astore::load_definition(store, def_id),
    };
    (pinned, def)
}

/// The route governance `gov` gives `request`: its path (the pinned definition version,
/// started by the app and linked to the request), direct decisions, or held when the path it
/// names does not exist (it can be denied, not approved, until governance is fixed, never routed
/// to laxer direct decisions, D-69). `again` names a re-route (when the request was held), so
/// it starts a new path while a retry of the same re-route finds the one it started.
fn pinned_route(
    host: &dyn Host,
    request: &Request,
    gov: &governance::Governance,
    issue: Option<Value>,
    again: Option<&str>,
    known_tool: Option<Option<&crate::catalog::Tool>>,
) -> AppResult<Route> {
    let store = Store::new(host);
    let now = crate::time::rfc3339(host.now_ms());
    let blank = |kind: RouteKind| Route {
        kind,
        approval_id: None,
        definition_id: None,
        definition_version: None,
        governance_version: Some(gov.version),
        held_reason: None,
        at: now.clone(),
        auto_approval: None,
    };
    let Some(def_id) = gov.definition_for(request.tool_id(), request.risk()) else {
        return Ok(blank(RouteKind::Direct));
    };
    let (pinned, def) = pinned_definition(store, gov, def_id);
    let def = match def {
        Ok(d) => d,
        Err(e) if e.code == "DEFINITION_NOT_FOUND" => {
            host.log(
                Level::Warn,
                &format!(
                    "routing: governance v{} names approval definition {def_id:?}{}, which does not exist; {} is held until governance is fixed",
                    gov.version,
                    pinned.map(|v| format!(" v{v}")).unwrap_or_default(),
                    request.issue_key
                ),
            );
            return Ok(Route {
                definition_id: Some(def_id.to_string()),
                definition_version: pinned.map(u64::from),
                held_reason: Some(format!(
                    "governance names approval definition {def_id:?}, which does not exist"
                )),
                ..blank(RouteKind::Held)
            });
        }
        Err(e) => return Err(e),
    };
    let (requester, review_required, distinct) = super::kernel::path_requirements(
        &request.requester_account_id,
        request.risk(),
        def.allow_same_decider,
    );
    // The path's steps (and its AI read) are told what data the request declares (issue 35).
    let read;
    let tool = match (known_tool, request.tool_id()) {
        (Some(known), _) => known,
        (None, Some(id)) => {
            read = crate::catalog::get(store, id)?;
            read.as_ref()
        }
        (None, None) => None,
    };
    let link = Link {
        subject: request.issue_id.clone(),
        requester,
        review_required,
        distinct,
        facts: Some(super::conditions::subject_facts(request, tool, gov)),
    };
    let idem = match again {
        None => format!("clearance:{}", request.issue_id),
        Some(n) => format!("clearance:{}:{n}", request.issue_id),
    };
    let a = approvals::service::start_linked(
        host,
        &def,
        &request.issue_key,
        "app",
        Some(&idem),
        Some(link),
        issue,
    )?;
    Ok(Route {
        approval_id: Some(a.id),
        definition_id: Some(def.id),
        definition_version: Some(u64::from(def.version)),
        ..blank(RouteKind::Path)
    })
}

/// Routes held requests again under governance as it is now (after governance is saved):
/// bounded, oldest first; each re-route is audited.
pub fn reroute_held(host: &dyn Host, who: &str, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let (gov, _) = governance::load(store)?;
    let ids = store.scan::<String>(&keys::request_by_decision_prefix("pending"), budget)?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::request(id)).collect();
    let mut n = 0;
    for (_, r) in store.get_many::<Request>(&want)? {
        if r.route.as_ref().map(|x| x.kind) != Some(RouteKind::Held) {
            continue;
        }
        reroute(host, who, &r.issue_id, &gov, "governance was saved")?;
        n += 1;
    }
    Ok(n)
}

/// Starts a held request's route again under `gov` (an admin after fixing governance, or
/// re-running a cancelled governance path): a new path on governance's pinned definition, or
/// direct decisions if governance no longer names one. Audited (`request_rerouted`).
pub fn reroute(
    host: &dyn Host,
    who: &str,
    issue_id: &str,
    gov: &governance::Governance,
    reason: &str,
) -> AppResult<Value> {
    let store = Store::new(host);
    for _ in 0..4 {
        let (request, raw) = decision::load_request(store, issue_id)?;
        let before = request.route.clone();
        if request.decision != Decision::Pending
            || before.as_ref().map(|r| r.kind) != Some(RouteKind::Held)
        {
            return Err(AppError::conflict(
                "REQUEST_NOT_HELD",
                format!("{} is not held", request.issue_key),
            ));
        }
        // Each hold gets its own new path (named by when it was held), the held one stays closed.
        let held_at = before.as_ref().map(|r| r.at.clone()).unwrap_or_default();
        let mut route = pinned_route(host, &request, gov, None, Some(&held_at), None)?;
        route.auto_approval = before.as_ref().and_then(|r| r.auto_approval.clone());
        let mut after = request.clone();
        after.route = Some(route.clone());
        let mut d = AuditDraft::new("request_rerouted", who);
        d.issue_key = Some(request.issue_key.clone());
        d.subject = json!({"requestId": request.issue_id});
        d.policy_version = Some(gov.version);
        d.data = json!({"reason": reason, "from": before, "to": route});
        let mac = audit::mac_key(store, None)?;
        let res = audit::commit_with_audit(store, &mac, None, &[d], |tx| {
            tx.set_if_current(&keys::request(issue_id), &after, Some(&raw))?;
            Ok(())
        });
        match res {
            Ok(_) => {
                return Ok(
                    json!({"issueKey": request.issue_key, "route": route.kind.as_str(),
                                 "approvalId": route.approval_id, "governanceVersion": gov.version}),
                )
            }
            Err(crate::storage::StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "REQUEST_BUSY",
        "the request changed; try again",
    ))
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

/// Applies a closed path to its request. The kernel decides what the outcome means: the
/// request's pinned governance path approves or denies it (or holds it, when cancelled or
/// unsound); any other path is advisory and its record is simply dropped. Idempotent.
pub fn apply_outcome(host: &dyn Host, approval_id: &str) -> AppResult<Option<Applied>> {
    let store = Store::new(host);
    let key = keys::path_outcome(approval_id);
    let Some(record) = store.get::<Value>(&key)? else {
        return Ok(None);
    };
    let Some(issue_id) = record
        .get("subject")
        .or_else(|| record.get("issueId"))
        .and_then(Value::as_str)
        .map(String::from)
    else {
        store.delete(&key)?;
        return Ok(None);
    };
    let input = Input {
        issue_id,
        basis: Basis::Path {
            approval_id: approval_id.to_string(),
        },
        comment: None,
        known_issue: None,
    };
    match decision::apply(host, &input) {
        Ok(applied) => Ok(Some(applied)),
        Err(e)
            if matches!(
                e.code.as_str(),
                "REQUEST_NOT_PENDING" | "PATH_NOT_CURRENT" | "REQUEST_NOT_FOUND"
            ) =>
        {
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
