//! Path semantics, as pure functions over an `Approval` (no I/O: the caller persists the result
//! and runs the side effects the `Outcome` names).
//!
//! - Groups of a phase run in `parallelGroupNumber` order; the steps of a group run together; a
//!   group is done when all of its steps are terminal.
//! - A rejection of a human step ends the main phase at once: the rest is skipped and
//!   `rejectionSteps` run. Completing the main phase runs `successSteps`; a passed decision
//!   deadline runs `expirationSteps`.
//! - Informational steps (automation, HTTP, email, prompt) end in SUCCESS or FAIL and never
//!   decide the path. Conditions and label conditions skip steps.

use super::definition::{Definition, Phase, Quorum, StepConfig};
use super::model::*;
use crate::error::{AppError, AppResult};
use crate::time;

/// What the engine needs to know about the world when a step activates.
pub trait Eval {
    /// `Some(reason)` when the step's condition or label condition says skip.
    fn skip_reason(&mut self, step: &Step) -> AppResult<Option<String>>;
    /// Members of a Jira group (for GROUP steps with an `all` quorum).
    fn group_size(&mut self, group: &str) -> AppResult<u32>;
}

/// What changed in one transition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Informational steps that became ACTIVE: each needs its effect run.
    pub effects: Vec<(Phase, String)>,
    /// Human steps that became ACTIVE (approver inbox entries to add).
    pub tasks_opened: Vec<String>,
    /// Human steps that left ACTIVE (inbox entries to remove).
    pub tasks_closed: Vec<String>,
    /// Steps that reached SUCCESS or FAIL (STEP_DECISION webhooks).
    pub decided: Vec<String>,
    /// The main phase ended (approved, rejected, expired or cancelled).
    pub closed: bool,
}

/// How the caller is allowed to decide a step (worked out by the access layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    Approver,
    DelegateOf(String),
    Admin,
}

/// A running approval of `def` with no step started yet (what `start` begins from, and what
/// conditions see while the first steps are evaluated).
pub fn blank(
    def: &Definition,
    id: &str,
    issue: &IssueRef,
    originator: &str,
    now_ms: u64,
) -> Approval {
    let now = time::rfc3339(now_ms);
    let steps = |p: Phase| def.phase(p).iter().map(Step::from_def).collect::<Vec<_>>();
    Approval {
        id: id.to_string(),
        name: def.name.clone(),
        definition_id: def.id.clone(),
        definition_version: def.version,
        definition_name: def.name.clone(),
        definition_description: def.description.clone(),
        issue: issue.clone(),
        originator: originator.to_string(),
        status: ApprovalStatus::Running,
        phase: Phase::Steps,
        progress: 0,
        decision_deadline: def
            .decision_deadline_hours
            .map(|h| time::rfc3339(now_ms + u64::from(h) * 3_600_000)),
        validity_expiration_date: None,
        expiry: false,
        origin_approval: None,
        restart_reason: None,
        outdated: None,
        started_at: now,
        current_step_activated_at: None,
        completed_at: None,
        finished: false,
        steps: steps(Phase::Steps),
        success_steps: steps(Phase::SuccessSteps),
        rejection_steps: steps(Phase::RejectionSteps),
        expiration_steps: steps(Phase::ExpirationSteps),
        validity_days: def.validity_days,
        rev: 0,
        link: None,
        requester: None,
        distinct_deciders: def.distinct_deciders,
        governance_review: false,
        cancelled_by: None,
    }
}

pub fn start(
    def: &Definition,
    id: String,
    issue: IssueRef,
    originator: &str,
    now_ms: u64,
    eval: &mut dyn Eval,
) -> AppResult<(Approval, Outcome)> {
    let mut a = blank(def, &id, &issue, originator, now_ms);
    let mut out = Outcome::default();
    advance(&mut a, now_ms, eval, &mut out)?;
    Ok((a, out))
}

fn progress(a: &Approval) -> u8 {
    let total = a.steps.len().max(1);
    let done = a.steps.iter().filter(|s| s.status.is_terminal()).count();
    ((done * 100) / total) as u8
}

/// Moves the path forward as far as it can go without outside input.
pub fn advance(
    a: &mut Approval,
    now_ms: u64,
    eval: &mut dyn Eval,
    out: &mut Outcome,
) -> AppResult<()> {
    let now = time::rfc3339(now_ms);
    // Bounded: each iteration either activates a group, skips one, or changes phase.
    for _ in 0..(super::definition::STEPS_MAX * 2 + 8) {
        let phase = a.phase;
        let next_group = a
            .phase_steps(phase)
            .iter()
            .filter(|s| !s.status.is_terminal())
            .map(|s| s.parallel_group_number)
            .min();
        let Some(group) = next_group else {
            // The phase is complete.
            if phase == Phase::Steps {
                let rejected = a
                    .steps
                    .iter()
                    .any(|s| s.status == StepStatus::Fail && s.step_type.is_human());
                out.closed = true;
                if rejected {
                    a.status = ApprovalStatus::Rejected;
                    a.phase = Phase::RejectionSteps;
                } else {
                    a.status = ApprovalStatus::Approved;
                    a.phase = Phase::SuccessSteps;
                    a.validity_expiration_date = a
                        .validity_days
                        .map(|d| time::rfc3339(now_ms + u64::from(d) * 86_400_000));
                }
                a.progress = progress(a);
                continue;
            }
            if !a.finished {
                a.finished = true;
                a.completed_at.get_or_insert(now.clone());
            }
            a.progress = progress(a);
            return Ok(());
        };
        let waiting: Vec<usize> = a
            .phase_steps(phase)
            .iter()
            .enumerate()
            .filter(|(_, s)| s.parallel_group_number == group && s.status == StepStatus::Wait)
            .map(|(i, _)| i)
            .collect();
        if waiting.is_empty() {
            // Something in this group is still ACTIVE: wait for it.
            a.progress = progress(a);
            return Ok(());
        }
        let mut any_active = false;
        for i in waiting {
            let skip = eval.skip_reason(&a.phase_steps(phase)[i])?;
            let required = match (&a.phase_steps(phase)[i].config, &skip) {
                (_, Some(_)) => None,
                (
                    StepConfig::User {
                        approvers, quorum, ..
                    },
                    None,
                ) => Some(match quorum {
                    Quorum::Any => 1,
                    Quorum::All => approvers.len() as u32,
                    Quorum::Count(n) => *n,
                }),
                (StepConfig::Group { group, quorum }, None) => Some(match quorum {
                    Quorum::Any => 1,
                    Quorum::Count(n) => *n,
                    Quorum::All => eval.group_size(group)?.max(1),
                }),
                _ => None,
            };
            let step = &mut a.phase_steps_mut(phase)[i];
            match skip {
                Some(reason) => {
                    step.status = StepStatus::Skipped;
                    step.skipped_reason = Some(reason);
                    step.completed_at = Some(now.clone());
                }
                None => {
                    step.status = StepStatus::Active;
                    step.activated_at = Some(now.clone());
                    step.run += 1;
                    step.required = required;
                    any_active = true;
                    if step.step_type.is_human() {
                        out.tasks_opened.push(step.id.clone());
                    } else {
                        out.effects.push((phase, step.id.clone()));
                    }
                }
            }
        }
        if any_active {
            a.current_step_activated_at = Some(now.clone());
            a.progress = progress(a);
            return Ok(());
        }
    }
    Err(AppError::internal(
        "PATH_LOOP",
        "the approval path did not settle (a bug)",
    ))
}

/// Skips every unfinished step of the main phase (after a rejection, expiry or cancel).
fn skip_rest(a: &mut Approval, phase: Phase, reason: &str, now: &str, out: &mut Outcome) {
    for s in a.phase_steps_mut(phase) {
        if !s.status.is_terminal() {
            if s.status == StepStatus::Active && s.step_type.is_human() {
                out.tasks_closed.push(s.id.clone());
            }
            s.status = StepStatus::Skipped;
            s.skipped_reason = Some(reason.to_string());
            s.completed_at = Some(now.to_string());
        }
    }
}

/// The separation-of-duties rules every decision passes, whoever calls (D-60…D-62). Checked in
/// the engine so no caller (single, bulk, tab, web API) can skip them.
pub fn check_duties(
    a: &Approval,
    step_id: &str,
    actor: &str,
    authority: &Authority,
    verdict: Verdict,
) -> AppResult<()> {
    let principal = match authority {
        Authority::DelegateOf(boss) => boss.as_str(),
        _ => actor,
    };
    if let Some(r) = a.requester.as_deref() {
        if r == actor || r == principal {
            return Err(AppError::forbidden(
                "SELF_DECISION_FORBIDDEN",
                "this approval is about your own request; someone else must decide it",
            ));
        }
    }
    if verdict != Verdict::Approve {
        // Rejecting never weakens policy: the duties below guard approvals only.
        return Ok(());
    }
    if *authority == Authority::Admin && a.governance_review {
        return Err(AppError::forbidden(
            "OVERRIDE_NOT_ALLOWED",
            "governance requires this review for high and critical risk: an administrator override can deny a step but not approve it",
        ));
    }
    if a.distinct_deciders || a.governance_review {
        let already = a.steps.iter().filter(|s| s.id != step_id).find(|s| {
            s.decisions.iter().any(|d| {
                d.decision == Verdict::Approve
                    && [Some(d.decider.as_str()), d.on_behalf_of.as_deref()]
                        .into_iter()
                        .flatten()
                        .any(|x| x == actor || x == principal)
            })
        });
        if let Some(s) = already {
            return Err(AppError::conflict(
                "DECIDER_NOT_DISTINCT",
                format!(
                    "you already approved {:?} on this path; each approval must come from a different person",
                    s.name
                ),
            )
            .with_details(serde_json::json!({"stepId": s.id})));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn decide(
    a: &mut Approval,
    step_id: &str,
    actor: &str,
    authority: Authority,
    verdict: Verdict,
    comment: &str,
    now_ms: u64,
    eval: &mut dyn Eval,
) -> AppResult<Outcome> {
    if !a.is_open() {
        return Err(AppError::conflict(
            "APPROVAL_CLOSED",
            format!("the approval is {:?}", a.status),
        ));
    }
    let now = time::rfc3339(now_ms);
    check_duties(a, step_id, actor, &authority, verdict)?;
    let step = a
        .steps
        .iter_mut()
        .find(|s| s.id == step_id)
        .ok_or_else(|| AppError::not_found("STEP_NOT_FOUND", "no such decision step"))?;
    if !step.step_type.is_human() {
        return Err(AppError::invalid(
            "STEP_NOT_DECIDABLE",
            "only USER and GROUP steps take decisions",
        ));
    }
    if step.status != StepStatus::Active {
        return Err(AppError::conflict(
            "STEP_NOT_ACTIVE",
            format!("the step is {:?}", step.status),
        ));
    }
    let on_behalf_of = match &authority {
        Authority::DelegateOf(who) => Some(who.clone()),
        _ => None,
    };
    let principal = on_behalf_of.as_deref().unwrap_or(actor);
    if step.decisions.iter().any(|d| {
        d.decider == actor || d.on_behalf_of.as_deref() == Some(principal) || d.decider == principal
    }) {
        return Err(AppError::conflict(
            "ALREADY_DECIDED",
            "a decision for this approver is already recorded",
        ));
    }
    let admin_override = authority == Authority::Admin;
    // An override is an explicit act with a reason (D-61); the comment is the reason.
    if admin_override && comment.trim().is_empty() {
        return Err(AppError::invalid(
            "OVERRIDE_REASON_REQUIRED",
            "you are not an approver of this step: an administrator override needs a reason in the comment",
        ));
    }
    step.decisions.push(Decision {
        decider: actor.to_string(),
        on_behalf_of,
        admin_override,
        override_reason: admin_override.then(|| comment.trim().to_string()),
        decision: verdict,
        comment: comment.to_string(),
        at: now.clone(),
    });
    step.comment = Some(comment.to_string()).filter(|c| !c.is_empty());
    let mut out = Outcome::default();
    let done = match verdict {
        Verdict::Reject => Some((StepStatus::Fail, "REJECTED")),
        Verdict::Approve if admin_override || step.approvals() >= step.required.unwrap_or(1) => {
            Some((StepStatus::Success, "APPROVED"))
        }
        Verdict::Approve => None,
    };
    if let Some((status, decision)) = done {
        step.status = status;
        step.decision = Some(decision.into());
        step.completed_at = Some(now.clone());
        out.tasks_closed.push(step.id.clone());
        out.decided.push(step.id.clone());
        if status == StepStatus::Fail {
            skip_rest(a, Phase::Steps, "the path was denied", &now, &mut out);
        }
    }
    a.progress = progress(a);
    advance(a, now_ms, eval, &mut out)?;
    Ok(out)
}

/// What an informational step's effect produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub ok: bool,
    pub result_teaser: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub output: Option<serde_json::Value>,
    /// The step did not run, and why (a sentence people read): it ends SKIPPED, not FAIL
    /// (an AI Prompt step while AI Prompt steps are switched off, D-222).
    pub skipped: Option<String>,
}

/// Completes an ACTIVE informational step (ACTIVE → SUCCESS | FAIL | SKIPPED) and advances the path.
/// `run` must match the step's current activation, so a stale job cannot complete a re-run.
pub fn complete(
    a: &mut Approval,
    step_id: &str,
    run: u32,
    c: Completion,
    now_ms: u64,
    eval: &mut dyn Eval,
) -> AppResult<Outcome> {
    let now = time::rfc3339(now_ms);
    let step = a
        .find_mut(step_id)
        .ok_or_else(|| AppError::not_found("STEP_NOT_FOUND", "no such step"))?;
    if step.step_type.is_human() {
        return Err(AppError::invalid(
            "STEP_NOT_INFORMATIONAL",
            "human steps are decided, not completed",
        ));
    }
    if step.status != StepStatus::Active || step.run != run {
        return Err(AppError::conflict(
            "STEP_NOT_ACTIVE",
            "the step is no longer waiting for this run",
        ));
    }
    step.status = match (&c.skipped, c.ok) {
        (Some(_), _) => StepStatus::Skipped,
        (None, true) => StepStatus::Success,
        (None, false) => StepStatus::Fail,
    };
    step.skipped_reason = c.skipped;
    step.executed_at = Some(now.clone());
    step.completed_at = Some(now);
    step.result_teaser = c.result_teaser;
    step.error_code = c.error_code;
    step.error_message = c.error_message;
    step.output = c.output;
    let mut out = Outcome {
        decided: vec![step_id.to_string()],
        ..Outcome::default()
    };
    advance(a, now_ms, eval, &mut out)?;
    Ok(out)
}

/// Runs a finished PROMPT step again (a re-run): ACTIVE with a new run number, results cleared.
/// The rest of the path is left as it is (downstream steps already used the old result).
pub fn rerun(a: &mut Approval, step_id: &str, now_ms: u64) -> AppResult<Outcome> {
    let (phase, _) = a
        .find(step_id)
        .ok_or_else(|| AppError::not_found("STEP_NOT_FOUND", "no such step"))?;
    let step = a.find_mut(step_id).expect("found above");
    if step.step_type != super::definition::StepType::Prompt {
        return Err(AppError::not_found(
            "STEP_NOT_FOUND",
            "no such AI Prompt step in this approval",
        ));
    }
    if !matches!(step.status, StepStatus::Success | StepStatus::Fail) {
        return Err(AppError::conflict(
            "STEP_NOT_FINISHED",
            "only a finished analysis can be re-run",
        ));
    }
    step.status = StepStatus::Active;
    step.run += 1;
    step.activated_at = Some(time::rfc3339(now_ms));
    step.completed_at = None;
    step.executed_at = None;
    step.result_teaser = None;
    step.error_code = None;
    step.error_message = None;
    step.output = None;
    Ok(Outcome {
        effects: vec![(phase, step_id.to_string())],
        ..Outcome::default()
    })
}

/// The decision deadline passed: skip what is left and run `expirationSteps`.
pub fn expire(a: &mut Approval, now_ms: u64, eval: &mut dyn Eval) -> AppResult<Outcome> {
    let mut out = Outcome::default();
    if !a.is_open() {
        return Ok(out);
    }
    let now = time::rfc3339(now_ms);
    skip_rest(
        a,
        Phase::Steps,
        "the decision deadline passed",
        &now,
        &mut out,
    );
    a.status = ApprovalStatus::Expired;
    a.phase = Phase::ExpirationSteps;
    out.closed = true;
    advance(a, now_ms, eval, &mut out)?;
    Ok(out)
}

/// Stops the path: nothing else runs.
/// Cancels a running path; `by` is the person who did (None: the app).
pub fn cancel(a: &mut Approval, reason: &str, by: Option<&str>, now_ms: u64) -> AppResult<Outcome> {
    if !a.is_open() {
        return Err(AppError::conflict(
            "APPROVAL_CLOSED",
            format!("the approval is {:?}", a.status),
        ));
    }
    let now = time::rfc3339(now_ms);
    let mut out = Outcome {
        closed: true,
        ..Outcome::default()
    };
    for p in Phase::ALL {
        skip_rest(a, p, reason, &now, &mut out);
    }
    a.status = ApprovalStatus::Cancelled;
    a.cancelled_by = by.map(String::from);
    a.finished = true;
    a.completed_at = Some(now);
    a.progress = progress(a);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approvals::definition;
    use serde_json::json;

    /// Test evaluation: conditions are literal "true"/"false"; groups have 3 members.
    struct Fixed;
    impl Eval for Fixed {
        fn skip_reason(&mut self, s: &Step) -> AppResult<Option<String>> {
            Ok((s.condition.as_deref() == Some("false")).then(|| "condition is false".into()))
        }
        fn group_size(&mut self, _: &str) -> AppResult<u32> {
            Ok(3)
        }
    }

    fn user(name: &str, group: u32, approvers: &[&str], quorum: Quorum) -> Value {
        json!({"name": name, "type": "USER", "parallelGroupNumber": group, "approvers": approvers, "quorum": quorum})
    }
    use serde_json::Value;

    fn def(v: Value) -> Definition {
        let mut d = definition::parse(&v, |_| Ok(true)).unwrap();
        d.id = "d1".into();
        d
    }

    fn issue() -> IssueRef {
        IssueRef {
            id: "1".into(),
            key: "AIR-1".into(),
            project_id: "10".into(),
        }
    }

    fn statuses(a: &Approval, p: Phase) -> Vec<StepStatus> {
        a.phase_steps(p).iter().map(|s| s.status).collect()
    }

    fn approve(a: &mut Approval, step: &str, who: &str) -> AppResult<Outcome> {
        decide(
            a,
            step,
            who,
            Authority::Approver,
            Verdict::Approve,
            "ok",
            2_000,
            &mut Fixed,
        )
    }

    use StepStatus::*;

    // covers: AP-001, AP-002, AP-003
    #[test]
    fn path_semantics_table() {
        struct Case {
            name: &'static str,
            def: Value,
            decisions: Vec<(&'static str, &'static str, Verdict)>,
            status: ApprovalStatus,
            steps: Vec<StepStatus>,
            success: Vec<StepStatus>,
            rejection: Vec<StepStatus>,
        }
        let note = |n: &str, g: u32| json!({"name": n, "type": "AUTOMATION", "parallelGroupNumber": g, "comment": "done"});
        let cases = vec![
            Case {
                name: "sequential groups",
                def: json!({"name": "d", "steps": [user("a", 1, &["u1"], Quorum::All), user("b", 2, &["u2"], Quorum::All)],
                             "successSteps": [note("s", 1)], "rejectionSteps": [note("r", 1)]}),
                decisions: vec![
                    ("s1", "u1", Verdict::Approve),
                    ("s2", "u2", Verdict::Approve),
                ],
                status: ApprovalStatus::Approved,
                steps: vec![Success, Success],
                success: vec![Active],
                rejection: vec![Wait],
            },
            Case {
                name: "parallel group waits for all",
                def: json!({"name": "d", "steps": [user("a", 1, &["u1"], Quorum::All), user("b", 1, &["u2"], Quorum::All), user("c", 2, &["u3"], Quorum::All)]}),
                decisions: vec![("s2", "u2", Verdict::Approve)],
                status: ApprovalStatus::Running,
                steps: vec![Active, Success, Wait],
                success: vec![],
                rejection: vec![],
            },
            Case {
                name: "quorum any",
                def: json!({"name": "d", "steps": [user("a", 1, &["u1", "u2", "u3"], Quorum::Any)]}),
                decisions: vec![("s1", "u3", Verdict::Approve)],
                status: ApprovalStatus::Approved,
                steps: vec![Success],
                success: vec![],
                rejection: vec![],
            },
            Case {
                name: "quorum all needs everyone",
                def: json!({"name": "d", "steps": [user("a", 1, &["u1", "u2"], Quorum::All)]}),
                decisions: vec![("s1", "u1", Verdict::Approve)],
                status: ApprovalStatus::Running,
                steps: vec![Active],
                success: vec![],
                rejection: vec![],
            },
            Case {
                name: "quorum of two",
                def: json!({"name": "d", "steps": [user("a", 1, &["u1", "u2", "u3"], Quorum::Count(2))]}),
                decisions: vec![
                    ("s1", "u1", Verdict::Approve),
                    ("s1", "u3", Verdict::Approve),
                ],
                status: ApprovalStatus::Approved,
                steps: vec![Success],
                success: vec![],
                rejection: vec![],
            },
            Case {
                name: "a rejection runs rejectionSteps and skips the rest",
                def: json!({"name": "d", "steps": [user("a", 1, &["u1"], Quorum::All), user("b", 1, &["u2"], Quorum::All), user("c", 2, &["u3"], Quorum::All)],
                             "successSteps": [note("s", 1)], "rejectionSteps": [note("r", 1)]}),
                decisions: vec![("s1", "u1", Verdict::Reject)],
                status: ApprovalStatus::Rejected,
                steps: vec![Fail, Skipped, Skipped],
                success: vec![Wait],
                rejection: vec![Active],
            },
            Case {
                name: "conditions skip steps",
                def: json!({"name": "d", "steps": [
                    {"name": "a", "type": "USER", "approvers": ["u1"], "condition": {"id": "c1", "expression": "false"}},
                    user("b", 2, &["u2"], Quorum::All)]}),
                decisions: vec![("s2", "u2", Verdict::Approve)],
                status: ApprovalStatus::Approved,
                steps: vec![Skipped, Success],
                success: vec![],
                rejection: vec![],
            },
        ];
        for c in cases {
            let d = def(c.def);
            let (mut a, _) = start(&d, "a1".into(), issue(), "o", 1_000, &mut Fixed).unwrap();
            for (step, who, v) in c.decisions {
                decide(
                    &mut a,
                    step,
                    who,
                    Authority::Approver,
                    v,
                    "",
                    2_000,
                    &mut Fixed,
                )
                .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            }
            assert_eq!(a.status, c.status, "{}", c.name);
            assert_eq!(statuses(&a, Phase::Steps), c.steps, "{}", c.name);
            assert_eq!(statuses(&a, Phase::SuccessSteps), c.success, "{}", c.name);
            assert_eq!(
                statuses(&a, Phase::RejectionSteps),
                c.rejection,
                "{}",
                c.name
            );
        }
    }

    // covers: AP-002
    #[test]
    fn informational_steps_complete_and_never_fail_the_path() {
        let d = def(json!({"name": "d", "steps": [
            {"name": "hook", "type": "HTTP", "method": "POST", "url": "https://x.ardsaor.io/h"},
            user("a", 2, &["u1"], Quorum::All)]}));
        let (mut a, out) = start(&d, "a1".into(), issue(), "o", 1_000, &mut Fixed).unwrap();
        assert_eq!(out.effects, vec![(Phase::Steps, "s1".to_string())]);
        assert_eq!(statuses(&a, Phase::Steps), vec![Active, Wait]);
        let failed = Completion {
            ok: false,
            error_code: Some("HTTP_500".into()),
            ..Default::default()
        };
        // A stale run cannot complete the step.
        assert!(complete(&mut a, "s1", 9, failed.clone(), 1_500, &mut Fixed).is_err());
        let out = complete(&mut a, "s1", 1, failed, 1_500, &mut Fixed).unwrap();
        assert_eq!(out.decided, vec!["s1".to_string()]);
        assert_eq!(out.tasks_opened, vec!["s2".to_string()]);
        assert_eq!(statuses(&a, Phase::Steps), vec![Fail, Active]);
        approve(&mut a, "s2", "u1").unwrap();
        assert_eq!(
            a.status,
            ApprovalStatus::Approved,
            "an informational FAIL never rejects"
        );
        assert!(a.finished);
        assert_eq!(a.progress, 100);
    }

    #[test]
    fn expiry_runs_expiration_steps_and_cancel_stops_everything() {
        let d = def(json!({"name": "d", "decisionDeadlineHours": 24,
            "steps": [user("a", 1, &["u1"], Quorum::All)],
            "expirationSteps": [{"name": "late", "type": "AUTOMATION", "comment": "expired"}]}));
        let (mut a, _) = start(&d, "a1".into(), issue(), "o", 0, &mut Fixed).unwrap();
        assert_eq!(
            a.decision_deadline.as_deref(),
            Some("1970-01-02T00:00:00.000Z")
        );
        let out = expire(&mut a, 86_400_000, &mut Fixed).unwrap();
        assert_eq!(a.status, ApprovalStatus::Expired);
        assert_eq!(out.tasks_closed, vec!["s1".to_string()]);
        assert_eq!(statuses(&a, Phase::ExpirationSteps), vec![Active]);
        assert!(approve(&mut a, "s1", "u1").is_err());

        let (mut b, _) = start(&d, "b1".into(), issue(), "o", 0, &mut Fixed).unwrap();
        cancel(&mut b, "withdrawn", None, 5).unwrap();
        assert_eq!(b.status, ApprovalStatus::Cancelled);
        assert_eq!(statuses(&b, Phase::Steps), vec![Skipped]);
        assert_eq!(statuses(&b, Phase::ExpirationSteps), vec![Skipped]);
        assert!(cancel(&mut b, "again", None, 6).is_err());
    }

    #[test]
    fn duplicate_and_admin_decisions() {
        let d = def(json!({"name": "d", "steps": [user("a", 1, &["u1", "u2"], Quorum::All)]}));
        let (mut a, _) = start(&d, "a1".into(), issue(), "o", 0, &mut Fixed).unwrap();
        approve(&mut a, "s1", "u1").unwrap();
        let e = approve(&mut a, "s1", "u1").unwrap_err();
        assert_eq!(e.code, "ALREADY_DECIDED");
        // A delegate deciding for u1 is also a duplicate.
        let e = decide(
            &mut a,
            "s1",
            "d9",
            Authority::DelegateOf("u1".into()),
            Verdict::Approve,
            "",
            3,
            &mut Fixed,
        )
        .unwrap_err();
        assert_eq!(e.code, "ALREADY_DECIDED");
        decide(
            &mut a,
            "s1",
            "admin",
            Authority::Admin,
            Verdict::Approve,
            "override",
            3,
            &mut Fixed,
        )
        .unwrap();
        assert_eq!(a.status, ApprovalStatus::Approved);
        assert!(a.steps[0].decisions[1].admin_override);
    }

    #[test]
    fn group_all_quorum_uses_the_group_size() {
        let d = def(
            json!({"name": "d", "steps": [{"name": "g", "type": "GROUP", "group": "security", "quorum": {"kind": "all"}}]}),
        );
        let (mut a, _) = start(&d, "a1".into(), issue(), "o", 0, &mut Fixed).unwrap();
        assert_eq!(a.steps[0].required, Some(3));
        approve(&mut a, "s1", "m1").unwrap();
        approve(&mut a, "s1", "m2").unwrap();
        assert_eq!(a.status, ApprovalStatus::Running);
        approve(&mut a, "s1", "m3").unwrap();
        assert_eq!(a.status, ApprovalStatus::Approved);
    }

    #[test]
    fn validation_reports_every_problem() {
        let e = definition::parse(
            &json!({"name": "", "steps": [
                {"name": "x", "type": "GROUP", "group": "nobody"},
                {"name": "X", "type": "GROUP", "group": ""},
                {"name": "p", "type": "PROMPT", "body": "{% if %}"},
                {"name": "c", "type": "USER", "approvers": [], "condition": {"id": "c", "expression": "a =="}}
            ], "successSteps": [{"name": "h", "type": "USER", "approvers": ["u"]}]}),
            |g| Ok(g == "security"),
        )
        .unwrap_err();
        assert_eq!(e.code, "DEFINITION_INVALID");
        let errs = e.details.unwrap()["errors"].as_array().unwrap().clone();
        let fields: Vec<&str> = errs.iter().map(|e| e["field"].as_str().unwrap()).collect();
        for f in [
            "name",
            "steps[0].group",
            "steps[1].name",
            "steps[1].group",
            "steps[2].body",
            "steps[3].approvers",
            "steps[3].condition",
            "successSteps[0].type",
        ] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
    }
}
