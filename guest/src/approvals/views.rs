//! Public shapes, modelled on web API v2 `approvals/{id}` and `definitions/{id}`. Internal
//! details stay out: PROMPT provider, model and token counts; the per-step custom-field list;
//! full prompt results (only the first 2,000 characters as `resultTeaser`).

use super::definition::{Definition, StepConfig, StepDef};
use super::model::{Approval, Step};
use serde_json::{json, Value};

pub const TEASER_MAX: usize = 2_000;

fn teaser(s: &Option<String>) -> Value {
    match s {
        Some(t) => json!(t.chars().take(TEASER_MAX).collect::<String>()),
        None => Value::Null,
    }
}

pub fn step(s: &Step) -> Value {
    let mut v = json!({
        "id": s.id,
        "type": s.step_type,
        "status": s.status,
        "name": s.name,
        "action": s.action,
        "parallelGroupNumber": s.parallel_group_number,
        "conditionId": s.condition_id,
        "labelCondition": s.label_condition,
        "activatedAt": s.activated_at,
        "completedAt": s.completed_at,
        "decision": s.decision,
        "comment": s.comment,
        "decisions": s.decisions,
    });
    match &s.config {
        StepConfig::User { approvers, .. } => {
            v["approvers"] = json!(approvers);
            v["required"] = json!(s.required);
        }
        StepConfig::Group { group, .. } => {
            v["group"] = json!(group);
            v["required"] = json!(s.required);
        }
        StepConfig::Prompt { .. } => {
            // Outside the app (Jira comments, emails) an AI step is qualified as such.
            v["displayName"] = json!(display_name(s));
            v["executedAt"] = json!(s.executed_at);
            v["resultTeaser"] = teaser(&s.result_teaser);
            v["errorCode"] = json!(s.error_code);
            v["errorMessage"] = json!(s.error_message);
        }
        _ => {
            v["executedAt"] = json!(s.executed_at);
            v["resultTeaser"] = teaser(&s.result_teaser);
            v["errorCode"] = json!(s.error_code);
            v["errorMessage"] = json!(s.error_message);
        }
    }
    if let Some(r) = &s.skipped_reason {
        v["skippedReason"] = json!(r);
    }
    v
}

/// The step's name as surfaces outside the app show it: `Risk (AI Prompt)` for a PROMPT step.
pub fn display_name(s: &Step) -> String {
    if s.step_type == super::definition::StepType::Prompt {
        format!("{} (AI Prompt)", s.name)
    } else {
        s.name.clone()
    }
}

/// True while a PROMPT step is analysing (`ACTIVE`): the UI shows "Analyzing…" and polls.
pub fn has_active_prompt_step(a: &Approval) -> bool {
    a.all_steps().any(|(_, s)| {
        s.step_type == super::definition::StepType::Prompt
            && s.status == super::model::StepStatus::Active
    })
}

/// The approval as templates rendered outside the app see it (Jira comments, HTTP bodies,
/// emails): PROMPT step names carry the `(AI Prompt)` qualifier; `statusText` and each step's
/// `decisionText` are the words a person reads ("approved", "denied", …; issue 33), beside the
/// API values `status` and `decision`.
pub fn approval_for_templates(a: &Approval) -> Value {
    let mut v = approval(a);
    v["statusText"] = json!(status_text(a.status));
    for (phase, key) in [
        (&a.steps, "steps"),
        (&a.success_steps, "successSteps"),
        (&a.rejection_steps, "rejectionSteps"),
        (&a.expiration_steps, "expirationSteps"),
    ] {
        for (i, s) in phase.iter().enumerate() {
            v[key][i]["name"] = json!(display_name(s));
            v[key][i]["decisionText"] = json!(match s.decision.as_deref() {
                Some("APPROVED") => "approved",
                Some("REJECTED") => "denied",
                _ => "",
            });
        }
    }
    v
}

/// An approval's status in words people read (the API's `REJECTED` is "denied").
pub fn status_text(s: super::model::ApprovalStatus) -> &'static str {
    use super::model::ApprovalStatus as S;
    match s {
        S::Running => "in progress",
        S::Approved => "approved",
        S::Rejected => "denied",
        S::Expired => "expired",
        S::Cancelled => "cancelled",
    }
}

pub fn approval(a: &Approval) -> Value {
    let steps = |list: &[Step]| list.iter().map(step).collect::<Vec<_>>();
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "status": a.status,
        "progress": a.progress,
        "decisionDeadline": a.decision_deadline,
        "validityExpirationDate": a.validity_expiration_date,
        "expiry": a.expiry,
        "originApproval": a.origin_approval,
        "restartReason": a.restart_reason,
        "outdated": a.outdated,
        "startedAt": a.started_at,
        "currentStepActivatedAt": a.current_step_activated_at,
        "completedAt": a.completed_at,
        "originator": a.originator,
        "phase": a.phase,
        "issue": {"id": a.issue.id, "key": a.issue.key},
        "definition": {"id": a.definition_id, "name": a.definition_name, "version": a.definition_version},
        "steps": steps(&a.steps),
        "successSteps": steps(&a.success_steps),
        "rejectionSteps": steps(&a.rejection_steps),
        "expirationSteps": steps(&a.expiration_steps),
        "hasActivePromptStep": has_active_prompt_step(a),
    });
    // The owner's facts about the subject, for templates and the AI read (issue 35).
    if let Some(f) = a.link.as_ref().and_then(|l| l.facts.as_ref()) {
        v["subject"] = f.clone();
    }
    v
}

fn step_def(s: &StepDef) -> Value {
    let mut v = json!({
        "id": s.id,
        "type": s.step_type(),
        "name": s.name,
        "action": s.action,
        "parallelGroupNumber": s.parallel_group_number,
        "conditionId": s.condition.as_ref().map(|c| c.id.clone()),
        "labelCondition": s.label_condition,
    });
    if let StepConfig::Prompt {
        prompt_template, ..
    } = &s.config
    {
        v["promptTemplate"] = json!(prompt_template);
    }
    v
}

pub fn definition(d: &Definition) -> Value {
    let steps = |list: &[StepDef]| list.iter().map(step_def).collect::<Vec<_>>();
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "version": d.version,
        "decisionDeadlineHours": d.decision_deadline_hours,
        "validityDays": d.validity_days,
        "steps": steps(&d.steps),
        "successSteps": steps(&d.success_steps),
        "rejectionSteps": steps(&d.rejection_steps),
        "expirationSteps": steps(&d.expiration_steps),
    })
}
