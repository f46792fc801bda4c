//! Deciding a request (spec §9 A–C): the one place a request leaves `pending`.
//!
//! Approve: decision `approved`, a grant in `pendingProvision` whose access window starts now, a
//! provisioning job, an issue notice (ADF comment + the approve transition), and audit entries
//! `request_approved`, `grant_created`, `provisioning_job_queued`. Deny: decision `denied`, no
//! grant, a notice, and `request_denied`. Each is ONE transaction conditioned on the request text
//! and the audit head, so a decision is applied fully or not at all, exactly once: a second
//! attempt finds the request decided (REQUEST_NOT_PENDING), and a replayed path outcome finds its
//! own result and reports it again.

use super::facts;
use super::governance::{self, Governance};
use super::grants::{self, Grant, GrantStatus, DAY_MS, LIFETIME_DAYS};
use super::jobs::{self, JobKind};
use super::kernel::{self, Act, Blocker, Outcome, Person, PolicyFacts, RequestFacts, Rule};
use super::notices;
use crate::approvals::model::Approval;
use crate::audit::{self, AuditDraft};
use crate::catalog::{Tool, ToolStatus};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::requests::{Decision, DecisionSource, Request, RequestedTool, Route, RouteKind};
use crate::storage::{keys, StorageError, Store};
use serde_json::{json, Value};

pub use super::kernel::Verdict;

/// On what a decision is made. The kernel judges each from data read here, whichever door
/// the decision came through.
#[derive(Debug, Clone)]
pub enum Basis {
    /// A person decides directly (the Approvals tab, bulk, the admin Requests screen).
    Person {
        person: Person,
        verdict: Verdict,
        source: DecisionSource,
    },
    /// An approval path on the request closed.
    Path { approval_id: String },
    /// An auto-approval policy matched (routing evaluated it; the kernel checks governance
    /// allows it).
    Policy {
        policy: PolicyFacts,
        evidence: Value,
    },
    /// The request's decision deadline (pinned at intake: the index's time) passed with nobody
    /// deciding it.
    Deadline { due_ms: u64 },
}

/// A decision to apply.
#[derive(Debug, Clone)]
pub struct Input {
    pub issue_id: String,
    pub basis: Basis,
    pub comment: Option<String>,
    /// The issue as this invocation already read it (intake's), so its status and reporter are
    /// not read again.
    pub known_issue: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub issue_key: String,
    pub decision: Decision,
    pub grant_id: Option<String>,
    pub job_id: Option<String>,
    pub policy_version: u64,
    pub note: Option<String>,
    /// The request was held instead (a governance path that cannot decide it).
    pub held: bool,
}

impl Applied {
    pub fn to_json(&self) -> Value {
        json!({"issueKey": self.issue_key, "decision": self.decision.as_str(),
               "grantId": self.grant_id, "jobId": self.job_id,
               "policyVersion": self.policy_version, "note": self.note, "held": self.held})
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
) -> Option<Blocker> {
    match &request.tool {
        RequestedTool::Catalog { id, .. } => match tool {
            None => {
                return Some(Blocker::ToolNotRequestable(format!(
                    "{id} is no longer in the catalog"
                )))
            }
            Some(t) if t.status != ToolStatus::Approved => {
                return Some(Blocker::ToolNotRequestable(format!(
                    "{} is {} in the catalog; only approved tools are granted",
                    t.display_name,
                    t.status.as_str()
                )))
            }
            _ => {}
        },
        RequestedTool::New { name, .. } if gov.block_unknown_tools => {
            return Some(Blocker::UnknownToolBlocked(format!(
                "{name} is not in the catalog and governance blocks unknown tools"
            )))
        }
        RequestedTool::New { .. } => {}
    }
    open_grant.map(|g| Blocker::OpenGrant(g.to_string()))
}

/// The kernel's facts about `request` from the records `apply` reads (the world's facts, Jira's
/// issue and account state, unread): the one builder, so the portal's preview judges exactly
/// what the decision judges (issue 35).
pub fn request_facts(
    request: &Request,
    tool: Option<&Tool>,
    gov: &Governance,
    open_grant: Option<&str>,
) -> RequestFacts {
    let risk = request.risk();
    RequestFacts {
        issue_key: request.issue_key.clone(),
        requester: request.requester_account_id.clone(),
        pending: request.decision == Decision::Pending,
        decision: request.decision.as_str().into(),
        risk,
        route: facts::route(request),
        issue_open: None,
        requester_active: None,
        blocker: grant_blocker(request, tool, gov, open_grant),
        auto_approval_allowed: gov.auto_approval.allows(risk),
        data_class_review: data_class_review(request, tool, gov),
    }
}

/// Applies a decision: the one place a request leaves `pending` (or is held). Reads the
/// request, the governance version it is pinned to, the facts of the world, asks the kernel,
/// and writes the outcome with its audit entries in one transaction. Errors leave everything
/// unchanged.
pub fn apply(host: &dyn Host, input: &Input) -> AppResult<Applied> {
    let store = Store::new(host);
    // Jira is read once, and only when the kernel would otherwise allow an approval.
    let mut world: Option<(Result<(), String>, bool)> = None;
    for _ in 0..6 {
        let (request, raw) = load_request(store, &input.issue_id)?;
        if let Some(done) = replay(&request, &input.basis) {
            return Ok(done);
        }
        let tool_key = request.tool_key();
        // The route is pinned (its kind and path are in the request); the limits are today's
        // governance, so a tightening applies at once and every change is a recorded version.
        let gov_key = keys::GOVERNANCE_POLICY.to_string();
        let mut want = vec![
            gov_key.clone(),
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
        if matches!(input.basis, Basis::Person { .. }) {
            want.push(keys::SITE_INTAKE_CONFIG.to_string());
        }
        if let Basis::Path { approval_id } = &input.basis {
            want.push(crate::approvals::store::approval_key(approval_id));
        }
        let got = store.batch_get(&want)?;
        let gov = facts::governance_from(&gov_key, got.get(&gov_key))?;
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
        let mut rf = request_facts(&request, tool.as_ref(), &gov, open.as_deref());
        rf.issue_open = world.as_ref().map(|w| w.0.clone());
        rf.requester_active = world.as_ref().map(|w| w.1);
        let approvers = match &input.basis {
            Basis::Person { .. } => {
                let cfg: Option<crate::intake::config::IntakeConfig> = got
                    .get(keys::SITE_INTAKE_CONFIG)
                    .map(|t| crate::storage::decode(keys::SITE_INTAKE_CONFIG, t))
                    .transpose()?;
                facts::approvers_of(&cfg.map(|c| c.approvals).unwrap_or_default())
            }
            _ => kernel::Approvers::default(),
        };
        let path: Option<(Approval, kernel::PathFacts)> = match &input.basis {
            Basis::Path { approval_id } => {
                let k = crate::approvals::store::approval_key(approval_id);
                let a: Approval = got
                    .get(&k)
                    .map(|t| crate::storage::decode(&k, t))
                    .transpose()?
                    .ok_or_else(|| AppError::not_found("APPROVAL_NOT_FOUND", "no such approval"))?;
                let f = facts::path(&a);
                Some((a, f))
            }
            _ => None,
        };
        let act = match &input.basis {
            Basis::Person {
                person, verdict, ..
            } => Act::Decide {
                verdict: *verdict,
                person,
                approvers: &approvers,
            },
            Basis::Path { .. } => Act::PathClosed {
                path: &path.as_ref().expect("read above").1,
                issue_id: &request.issue_id,
            },
            Basis::Policy { policy, .. } => Act::AutoApprove { policy },
            Basis::Deadline { due_ms } => Act::DeadlinePassed {
                days: deadline_days(*due_ms, &request),
            },
        };
        let mut permit = kernel::judge(&act, &rf)?;
        if permit.outcome == Outcome::Approve && world.is_none() {
            // Only now ask Jira whether the issue is open and the requester active.
            let w = facts::world(host, &request, input.known_issue.as_ref())?;
            rf.issue_open = Some(w.0.clone());
            rf.requester_active = Some(w.1);
            world = Some(w);
            permit = kernel::judge(&act, &rf)?;
        }
        let res = match permit.outcome {
            Outcome::Hold => commit_hold(
                store,
                &request,
                &raw,
                &input.basis,
                path.as_ref().map(|p| &p.0),
                &permit,
                &got,
            ),
            _ => commit_decision(
                store,
                &request,
                &raw,
                input,
                &gov,
                &permit,
                path.as_ref().map(|p| &p.0),
                tool.as_ref(),
                &got,
            ),
        };
        match res {
            Ok(applied) => return Ok(applied),
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

/// Why the request's declared data classes need a person, if they do: classes the tool's data
/// profile (as it is now) does not list, or that today's governance sends to review or
/// prohibits (a class prohibited after intake is not approved without a person either).
pub fn data_class_review(
    request: &Request,
    tool: Option<&Tool>,
    gov: &super::governance::Governance,
) -> Option<String> {
    if request.data_classes.is_empty() {
        return None;
    }
    let a = crate::catalog::data::assess(
        &request.data_classes,
        request.tool_id(),
        tool.and_then(|t| t.data_profile.as_ref()),
        &gov.data_class_rules,
    );
    let mut needs: Vec<String> = a.prohibited;
    needs.extend(a.review);
    crate::catalog::data::Assessment {
        prohibited: vec![],
        review: needs,
    }
    .review_reason(&request.tool_name())
}

/// A decision's audit entry names the data classes the requester declared and, when they
/// needed a person, why (issue 35). Requests that declare none leave the entry as before.
fn declared_classes(
    d: &mut AuditDraft,
    request: &Request,
    tool: Option<&Tool>,
    gov: &super::governance::Governance,
) {
    if request.data_classes.is_empty() {
        return;
    }
    d.data["dataClasses"] = json!(request.data_classes);
    if let Some(why) = data_class_review(request, tool, gov) {
        d.data["dataClassReview"] = json!(why);
    }
}

/// The days a decision deadline stood for: from when intake stored the request to the deadline.
fn deadline_days(due_ms: u64, request: &Request) -> u32 {
    let ingested = crate::time::parse(&request.ingested_at).unwrap_or(due_ms);
    (due_ms.saturating_sub(ingested) / 86_400_000) as u32
}

/// A path outcome applied before (a redelivery): report what it did.
fn replay(request: &Request, basis: &Basis) -> Option<Applied> {
    let Basis::Path { approval_id } = basis else {
        return None;
    };
    let route = request.route.as_ref()?;
    if route.approval_id.as_deref() != Some(approval_id.as_str()) {
        return None;
    }
    let held = request.decision == Decision::Pending && route.kind == RouteKind::Held;
    (request.decision != Decision::Pending || held).then(|| Applied {
        issue_key: request.issue_key.clone(),
        decision: request.decision,
        grant_id: request.grant_id.clone(),
        job_id: None,
        policy_version: request.policy_version.unwrap_or(0),
        note: request.decision_note.clone(),
        held,
    })
}

/// Who the audit names for a decision, and the source screens show.
fn actor_and_source(
    basis: &Basis,
    path: Option<&Approval>,
    rule: &Rule,
) -> (String, DecisionSource) {
    match basis {
        Basis::Person { person, source, .. } => (person.id.clone(), *source),
        Basis::Policy { .. } => ("app".into(), DecisionSource::AutoPolicy),
        Basis::Deadline { .. } => ("app".into(), DecisionSource::DecisionDeadline),
        Basis::Path { .. } => {
            if matches!(rule, Rule::PathExpired { .. }) {
                return ("app".into(), DecisionSource::ApprovalExpired);
            }
            // The path's last decider acted last; the rule lists everyone who approved.
            let last = path
                .into_iter()
                .flat_map(|a| a.steps.iter().flat_map(|s| s.decisions.iter()))
                .max_by(|x, y| x.at.cmp(&y.at))
                .map(|d| d.decider.clone())
                .unwrap_or_else(|| "app".into());
            (last, DecisionSource::ApprovalPath)
        }
    }
}

/// What the decision's audit entry keeps as evidence beside the rule.
fn evidence(basis: &Basis, path: Option<&Approval>) -> Value {
    match (basis, path) {
        (Basis::Policy { evidence, .. }, _) => evidence.clone(),
        (Basis::Deadline { due_ms }, _) => json!({"deadlineAt": crate::time::rfc3339(*due_ms)}),
        (Basis::Path { .. }, Some(a)) => {
            // Every administrator override on the path goes into the decision's audit entry,
            // with its reason: an override is an audited act (D-61).
            json!({"approvalId": a.id, "definitionId": a.definition_id,
                   "definitionVersion": a.definition_version, "status": a.status,
                   "distinctDeciders": a.distinct_deciders,
                   "overrides": a.steps.iter().flat_map(|s| s.decisions.iter()
                       .filter(|d| d.admin_override)
                       .map(move |d| json!({"stepId": s.id, "step": s.name, "decider": d.decider,
                                            "decision": d.decision, "reason": d.override_reason, "at": d.at})))
                       .collect::<Vec<_>>()})
        }
        _ => Value::Null,
    }
}

/// Holds the request (its governance path cannot decide it): the route becomes `held`, with
/// an audit entry naming who ended the path and why.
fn commit_hold(
    store: Store<'_>,
    request: &Request,
    raw: &str,
    basis: &Basis,
    path: Option<&Approval>,
    permit: &kernel::Permit,
    got: &std::collections::BTreeMap<String, String>,
) -> Result<Applied, StorageError> {
    let host = store.host;
    let reason = match &permit.rule {
        Rule::Hold { reason, .. } => reason.clone(),
        _ => "held".into(),
    };
    let mut after = request.clone();
    let before = request.route.clone();
    after.route = Some(Route {
        kind: RouteKind::Held,
        held_reason: Some(reason.clone()),
        at: crate::time::rfc3339(host.now_ms()),
        ..before.clone().unwrap_or(Route {
            kind: RouteKind::Held,
            approval_id: None,
            definition_id: None,
            definition_version: None,
            governance_version: None,
            held_reason: None,
            at: String::new(),
            auto_approval: None,
        })
    });
    let actor = path
        .and_then(|a| a.cancelled_by.clone())
        .unwrap_or_else(|| "app".into());
    let mut d = AuditDraft::new("request_held", &actor);
    d.issue_key = Some(request.issue_key.clone());
    d.subject = json!({"requestId": request.issue_id});
    d.policy_version = before.as_ref().and_then(|r| r.governance_version);
    d.data =
        json!({"reason": reason, "rule": permit.rule.to_json(), "evidence": evidence(basis, path)});
    let mac = audit::mac_key(store, Some(got.get(keys::AUDIT_MAC_KEY_ID).cloned()))?;
    audit::commit_with_audit(
        store,
        &mac,
        Some(got.get(keys::AUDIT_HEAD).cloned()),
        &[d],
        |tx| {
            tx.set_if_current(&keys::request(&after.issue_id), &after, Some(raw))?;
            if let Basis::Path { approval_id } = basis {
                tx.delete(&keys::path_outcome(approval_id))?;
            }
            Ok(())
        },
    )?;
    host.log(
        Level::Warn,
        &format!("decision: {} held: {reason}", request.issue_key),
    );
    Ok(Applied {
        issue_key: request.issue_key.clone(),
        decision: Decision::Pending,
        grant_id: None,
        job_id: None,
        policy_version: before.and_then(|r| r.governance_version).unwrap_or(0),
        note: Some(reason),
        held: true,
    })
}

/// Approves or denies, with the grant, its provisioning job, the notice and the audit entries
/// (`request_approved` + `grant_created` + `provisioning_job_queued`, or `request_denied`), each
/// naming the rule that allowed it.
#[allow(clippy::too_many_arguments)]
fn commit_decision(
    store: Store<'_>,
    request: &Request,
    raw: &str,
    input: &Input,
    gov: &Governance,
    permit: &kernel::Permit,
    path: Option<&Approval>,
    tool: Option<&Tool>,
    got: &std::collections::BTreeMap<String, String>,
) -> Result<Applied, StorageError> {
    let host = store.host;
    let (actor, source) = actor_and_source(&input.basis, path, &permit.rule);
    let approval_id = match &input.basis {
        Basis::Path { approval_id } => Some(approval_id.clone()),
        _ => None,
    };
    let evidence = evidence(&input.basis, path);
    let rule = permit.rule.to_json();
    let tool_key = request.tool_key();
    let now = host.now_ms();
    let now_s = crate::time::rfc3339(now);
    let mut after = request.clone();
    after.decided_at = Some(now_s.clone());
    after.decided_by = Some(actor.clone());
    after.decision_source = Some(source);
    after.policy_version = Some(gov.version);
    after.decision_note = permit.note.clone().or_else(|| input.comment.clone());

    let mut drafts = Vec::new();
    let mut grant: Option<Grant> = None;
    let tool_json = serde_json::to_value(&request.tool).expect("serializes");
    let risk = request.risk();
    match permit.outcome {
        Outcome::Approve => {
            after.decision = Decision::Approved;
            // Governance maximum (or an active exception's) at decision time: capped, and the
            // cap is recorded, never silent (A-CL-15).
            let exception_max = match request.tool_id() {
                Some(id) => {
                    let idx =
                        keys::governance_exception_by_subject(id, &request.requester_account_id);
                    governance::exception_max_days(store, got.get(&idx).map(String::as_str))
                        .map_err(|e| StorageError::Corrupt {
                            key: idx.clone(),
                            reason: e.message,
                        })?
                }
                None => None,
            };
            let days = request
                .duration_days
                .min(gov.max_days_for(risk, exception_max));
            let id = format!("g-{}", request.issue_id);
            let g = Grant {
                id: id.clone(),
                issue_id: request.issue_id.clone(),
                issue_key: request.issue_key.clone(),
                account_id: request.requester_account_id.clone(),
                tool_key: tool_key.clone(),
                tool_name: request.tool_name(),
                risk_level: risk,
                connector_id: tool.and_then(|t| t.connector_id.clone()),
                status: GrantStatus::PendingProvision,
                duration_days: days,
                granted_at: now_s.clone(),
                expires_at: crate::time::rfc3339(now + days as u64 * DAY_MS),
                lifetime_ends_at: crate::time::rfc3339(now + LIFETIME_DAYS * DAY_MS),
                decision_source: source,
                policy_version: gov.version,
                path_reviewed: approval_id.is_some(),
                capped_from_days: (days < request.duration_days).then_some(request.duration_days),
                conditions: super::conditions::of(request, tool, gov),
                activated_at: None,
                ended_at: None,
                revoked_by: None,
                revoke_reason: None,
                extensions: vec![],
                jobs_created: 0,
                status_changed_at: now_s.clone(),
            };
            after.grant_id = Some(id.clone());
            let mut d = AuditDraft::new("request_approved", &actor);
            d.issue_key = Some(request.issue_key.clone());
            d.subject = json!({"requestId": request.issue_id});
            d.policy_version = Some(gov.version);
            d.data = json!({"source": source, "tool": tool_json, "riskLevel": risk.as_str(),
                            "approvalId": approval_id, "rule": rule, "evidence": evidence});
            declared_classes(&mut d, request, tool, gov);
            if !g.conditions.is_empty() {
                d.data["conditions"] = json!(g.conditions);
            }
            drafts.push(d);
            let mut d = AuditDraft::new("grant_created", &actor);
            d.issue_key = Some(request.issue_key.clone());
            d.subject = json!({"grantId": id, "accountId": g.account_id});
            d.policy_version = Some(gov.version);
            d.data = json!({"grantId": id, "toolId": g.tool_key, "riskLevel": g.risk_level,
                            "durationDays": days, "expiresAt": g.expires_at,
                            "cappedFromDays": g.capped_from_days});
            if !g.conditions.is_empty() {
                d.data["conditions"] = json!(g.conditions);
            }
            drafts.push(d);
            grant = Some(g);
        }
        Outcome::Deny | Outcome::Hold => {
            after.decision = Decision::Denied;
            let mut d = AuditDraft::new("request_denied", &actor);
            d.issue_key = Some(request.issue_key.clone());
            d.subject = json!({"requestId": request.issue_id});
            d.policy_version = Some(gov.version);
            d.data = json!({"source": source, "tool": tool_json, "riskLevel": risk.as_str(),
                            "approvalId": approval_id, "note": after.decision_note,
                            "rule": rule, "evidence": evidence});
            declared_classes(&mut d, request, tool, gov);
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
    let notice = notices::Notice::for_decision(&after, grant.as_ref(), &evidence);
    let mac = audit::mac_key(store, Some(got.get(keys::AUDIT_MAC_KEY_ID).cloned()))?;
    // The search index by tool: the new entry before the decision's transaction (which sits
    // near Forge's 25 operations), the pending one deleted in it (see `tool_index`).
    super::tool_index::stage_decision(store, &after)?;
    audit::commit_with_audit(
        store,
        &mac,
        Some(got.get(keys::AUDIT_HEAD).cloned()),
        &drafts,
        |tx| {
            tx.set_if_current(&keys::request(&after.issue_id), &after, Some(raw))?;
            tx.delete(&super::tool_index::pending_entry(&after))?;
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
            if let Some(a) = &approval_id {
                tx.delete(&keys::path_outcome(a))?;
            }
            Ok(())
        },
    )?;
    host.log(
        Level::Info,
        &format!(
            "decision: {} {} by {} ({}), governance v{}",
            after.issue_key,
            after.decision.as_str(),
            actor,
            source.as_str(),
            gov.version
        ),
    );
    notices::push(host, &notice.id);
    if let Some(j) = &job_id {
        jobs::push(host, std::slice::from_ref(j));
    }
    Ok(Applied {
        issue_key: after.issue_key,
        decision: after.decision,
        grant_id: after.grant_id,
        job_id,
        policy_version: gov.version,
        note: permit.note.clone(),
        held: false,
    })
}

/// Whether approving `request` now would be refused for a reason of the world (the issue
/// closed, the requester deactivated, the tool, an open grant): what a door checks before a
/// path step records an approval, so nobody approves a step that cannot lead anywhere.
pub fn approvable_now(host: &dyn Host, request: &Request) -> AppResult<()> {
    let store = Store::new(host);
    let gov_key = keys::GOVERNANCE_POLICY.to_string();
    let mut want = vec![
        gov_key.clone(),
        keys::grant_open(&request.requester_account_id, &request.tool_key()),
    ];
    if let Some(id) = request.tool_id() {
        want.push(keys::tool(id));
    }
    let got = store.batch_get(&want)?;
    let gov = facts::governance_from(&gov_key, got.get(&gov_key))?;
    let tool: Option<Tool> = request
        .tool_id()
        .and_then(|id| {
            got.get(&keys::tool(id))
                .map(|t| crate::storage::decode(&keys::tool(id), t))
        })
        .transpose()?;
    let open: Option<String> = got
        .get(&keys::grant_open(
            &request.requester_account_id,
            &request.tool_key(),
        ))
        .map(|t| crate::storage::decode("grant-open", t))
        .transpose()?;
    if let Some(b) = grant_blocker(request, tool.as_ref(), &gov, open.as_deref()) {
        return Err(blocker_error(b));
    }
    let (open, active) = facts::world(host, request, None)?;
    if let Err(why) = open {
        return Err(kernel::Refusal::IssueClosed(why).into());
    }
    if !active {
        return Err(kernel::Refusal::AccountInactive.into());
    }
    Ok(())
}

pub fn blocker_error(b: Blocker) -> AppError {
    match b {
        Blocker::ToolNotRequestable(m) => kernel::Refusal::ToolNotRequestable(m),
        Blocker::UnknownToolBlocked(m) => kernel::Refusal::UnknownToolBlocked(m),
        Blocker::OpenGrant(g) => kernel::Refusal::GrantConflict(g),
    }
    .into()
}

/// The policy facts a matched auto-approval policy gives the kernel.
pub fn policy_facts(
    policy_id: &str,
    policy_version: u64,
    matched_group: Option<String>,
) -> PolicyFacts {
    PolicyFacts {
        policy_id: policy_id.into(),
        policy_version,
        matched_group,
    }
}

/// A person's facts for the kernel (see `facts::person`).
pub fn person(host: &dyn Host, who: &str) -> AppResult<Person> {
    facts::person(host, who)
}
