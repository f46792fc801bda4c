//! The decision preview before Create (issue 35 item 4): as the requester fills the portal
//! panel, what will happen to the request — refused (and why), approved without a person by an
//! auto-approval policy, or decided by people (the route, the approver groups, how many named
//! people), the longest duration governance allows, and the conditions an approval carries.
//!
//! Never a second copy of the rules: the snapshot goes through intake's own checks
//! (`ingest::check_tool`), the auto-approval policies through `policies::evaluate` and the
//! kernel's `judge` on the facts `decision::request_facts` builds, the route through
//! `Governance::definition_for`, the conditions through `conditions::of`. `tests/preview.rs`
//! compares the preview with the real decision over many random snapshots.
//!
//! It reveals only what the requester may see: group names but never their members, a count
//! of named approvers but not who they are (whether a portal customer may browse users is
//! Jira's user-browse permission, which a resolver cannot check as the customer), and only the
//! caller's own grant.

use crate::approvals::definition::{StepConfig, StepType};
use crate::catalog::{RiskLevel, Tool};
use crate::clearance::kernel::{self, Act, Blocker, Outcome};
use crate::clearance::{conditions, decision, governance, policies};
use crate::error::AppResult;
use crate::host::Host;
use crate::intake::config::IntakeConfig;
use crate::intake::snapshot::{self, SnapshotError, SnapshotSource, SnapshotTool};
use crate::jira::Jira;
use crate::requests::Request;
use crate::storage::{keys, Store};
use serde_json::{json, Value};

/// The preview of `draft` (the panel's fields) for requester `who` in intake's project.
pub fn preview(host: &dyn Host, who: &str, cfg: &IntakeConfig, draft: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let snap = match snapshot::parse(draft) {
        Ok(s) => s,
        Err(e) => return Ok(refused_or_incomplete(&e)),
    };
    let tool_id = match &snap.tool {
        SnapshotTool::Catalog { id } => Some(id.clone()),
        SnapshotTool::New { .. } => None,
    };
    // One read: governance, the tool, the caller's exception and open grant for it.
    let mut want = vec![keys::GOVERNANCE_POLICY.to_string()];
    if let Some(id) = &tool_id {
        want.push(keys::tool(id));
        want.push(keys::governance_exception_by_subject(id, who));
    }
    let tool_key = match &snap.tool {
        SnapshotTool::Catalog { id } => id.clone(),
        SnapshotTool::New { name, .. } => crate::requests::new_tool_key(name),
    };
    want.push(keys::grant_open(who, &tool_key));
    let got = store.batch_get(&want)?;
    let gov = governance::from_text(got.get(keys::GOVERNANCE_POLICY))?;
    let tool: Option<Tool> = tool_id
        .as_ref()
        .and_then(|id| {
            got.get(&keys::tool(id))
                .map(|t| crate::storage::decode(&keys::tool(id), t))
        })
        .transpose()?;
    let exception_max = governance::exception_max_days(
        store,
        tool_id
            .as_ref()
            .and_then(|id| got.get(&keys::governance_exception_by_subject(id, who)))
            .map(String::as_str),
    )?;
    // Intake's own checks: what intake would refuse, the preview refuses with the same words.
    let requested =
        match crate::intake::ingest::check_tool(&snap, tool.as_ref(), &gov, exception_max) {
            Ok(t) => t,
            Err(e) => return Ok(refused_or_incomplete(&e)),
        };
    let request = Request {
        issue_id: "preview".into(),
        issue_key: "preview".into(),
        project_key: cfg.project_key.clone(),
        portal_id: cfg.portal_id,
        ..Request::pending(who, requested, &snap, SnapshotSource::Panel)
    };
    let risk = request.risk();
    // Decoded as `decision::apply` decodes it: a corrupt record is an error, not a guess.
    let open: Option<String> = got
        .get(&keys::grant_open(who, &tool_key))
        .map(|t| crate::storage::decode(&tool_key, t))
        .transpose()?;
    let mut rf = decision::request_facts(&request, tool.as_ref(), &gov, open.as_deref());
    // Before Create there is no issue to close and the requester is the caller, signed in.
    rf.issue_open = Some(Ok(()));
    rf.requester_active = Some(true);
    if let Some(Blocker::OpenGrant(_)) = &rf.blocker {
        return Ok(json!({
            "outcome": "refused", "code": "GRANT_CONFLICT", "field": "toolId",
            "message": format!("You already hold access to {}; a new request for it would be denied. Ask for an extension instead.", request.tool_name()),
        }));
    }
    let max = gov.max_days_for(risk, exception_max);
    let days = request.duration_days.min(max);
    let mut out = json!({
        "tool": {"id": request.tool_id(), "name": request.tool_name(), "riskLevel": risk.as_str()},
        "requestedDays": request.duration_days,
        "durationDays": days,
        "maxDays": max,
        // The durations the form offers this person (an exception lengthens them).
        "durations": super::DURATIONS.iter().filter(|d| **d <= max).collect::<Vec<_>>(),
        "conditions": conditions::of(&request, tool.as_ref(), &gov),
        "governanceVersion": gov.version,
    });
    if let Some(why) = &rf.data_class_review {
        out["dataClassReview"] = json!(why);
    }

    // 1. An auto-approval policy, judged by the kernel exactly as routing asks it.
    let all = policies::list(store)?;
    if !all.is_empty() {
        let facts = policies::Facts {
            project_key: &request.project_key,
            tool_id: request.tool_id(),
            duration_days: request.duration_days,
            data_classes: &request.data_classes,
        };
        let eval = policies::evaluate(&all, &facts, &mut || {
            Jira::new(host)
                .user_groups(who)
                .map_err(crate::error::AppError::from)
        })?;
        if let Some(d) = eval.deciding.as_ref().filter(|_| eval.auto_approve) {
            let policy =
                decision::policy_facts(&d.policy_id, d.policy_version, d.matched_group.clone());
            match kernel::judge(&Act::AutoApprove { policy: &policy }, &rf) {
                Ok(p) if p.outcome == Outcome::Approve => {
                    out["outcome"] = json!("auto-approved");
                    out["route"] = json!({"kind": "auto-policy", "policyId": d.policy_id});
                    return Ok(out);
                }
                Ok(_) => {}
                Err(r) => {
                    out["autoApproval"] = json!({"code": r.code(), "message": r.message()});
                }
            }
        } else if let Some(d) = &eval.deciding {
            // A policy would approve but for something the requester chooses (the duration, the
            // data declared): say which. Group membership is not theirs to change, and naming a
            // policy's groups tells them nothing they can act on.
            if let (Some(c @ ("duration" | "dataClasses")), Some(why)) =
                (d.failed_condition, &d.detail)
            {
                out["autoApproval"] = json!({"code": c, "message": why});
            }
        }
    }

    // 2. People decide: the path governance names, or the intake approvers.
    out["outcome"] = json!("people");
    out["route"] = route(store, &gov, request.tool_id(), risk, cfg)?;
    Ok(out)
}

/// Who decides a request routing does not auto-approve.
fn route(
    store: Store<'_>,
    gov: &governance::Governance,
    tool_id: Option<&str>,
    risk: RiskLevel,
    cfg: &IntakeConfig,
) -> AppResult<Value> {
    let Some(def_id) = gov.definition_for(tool_id, risk) else {
        let a = &cfg.approvals;
        return Ok(json!({"kind": "direct", "groups": a.approver_groups,
                         "namedApprovers": a.approver_account_ids.len(),
                         "adminFallback": a.admin_fallback}));
    };
    let def = match crate::clearance::routing::pinned_definition(store, gov, def_id).1 {
        Ok(d) => d,
        Err(e) if e.code == "DEFINITION_NOT_FOUND" => {
            return Ok(json!({"kind": "held",
                "message": "Governance names an approval path that does not exist; the request would wait until a Jira admin fixes it."}))
        }
        Err(e) => return Err(e),
    };
    // The decision-making steps, in order; informational steps (AI read, emails) are named so
    // the requester knows an AI read happens, never what it is told.
    let steps: Vec<Value> = def
        .steps
        .iter()
        .map(|s| {
            let conditional = s.condition.is_some() || s.label_condition.is_some();
            let mut v = json!({"name": s.name, "conditional": conditional});
            match (&s.config, s.step_type()) {
                (StepConfig::Group { group, .. }, _) => {
                    v["kind"] = json!("group");
                    v["group"] = json!(group);
                }
                (StepConfig::User { approvers, .. }, _) => {
                    v["kind"] = json!("people");
                    v["namedApprovers"] = json!(approvers.len());
                }
                (_, StepType::Prompt) => v["kind"] = json!("ai-read"),
                _ => v["kind"] = json!("automatic"),
            }
            v
        })
        .collect();
    Ok(json!({"kind": "path", "name": def.name, "steps": steps}))
}

/// A snapshot intake would refuse: the code, the field and intake's words. Fields still empty
/// (no tool chosen yet) are `incomplete`, not refusals.
fn refused_or_incomplete(e: &SnapshotError) -> Value {
    let outcome = match e {
        SnapshotError::ToolMissing
        | SnapshotError::NewToolNameMissing
        | SnapshotError::DurationInvalid(_) => "incomplete",
        _ => "refused",
    };
    json!({"outcome": outcome, "code": e.code(), "field": e.field(), "message": e.message()})
}
