//! The Approvals tab (spec §5.4, §11 "Approve/Deny action fails"): the pending table, single and
//! bulk approve / deny, and the manual provisioning actions.
//!
//! Who may decide (CL-037, CL-060): on a request an approval path decides, whoever may decide
//! its open step (the step's approvers, their delegates, group members) — and Jira admins, as a
//! recorded override. On a request decided directly, the approvers of Intake & Approvals (named
//! accounts, members of approver groups, and their delegates) and Jira admins (admin fallback).
//! Every refusal has its own code: NOT_APPROVER, REQUEST_NOT_PENDING, GRANT_CONFLICT,
//! TOOL_NOT_REQUESTABLE, UNKNOWN_TOOL_BLOCKED, BULK_TOO_LARGE, BULK_RATE_LIMITED.

use super::decision::{self, Basis, Input, Verdict};
use super::kernel::{self, Approvers, Person, Rule};
use super::{facts, jobs, routing};
use crate::approvals::engine::Authority;
use crate::approvals::model::Verdict as StepVerdict;
use crate::approvals::{engine, store as astore};
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::requests::{Decision, DecisionSource, Request, RouteKind};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

pub const BULK_MAX: usize = 50;
const PENDING_SCAN_MAX: usize = 500;

/// The caller, with the kernel's facts about them read at most once per call.
pub struct Caller<'h> {
    host: &'h dyn Host,
    pub who: String,
    person: Option<Person>,
    pub approvers: Approvers,
}

impl<'h> Caller<'h> {
    pub fn new(host: &'h dyn Host, who: &str) -> AppResult<Self> {
        Ok(Caller {
            host,
            who: who.to_string(),
            person: None,
            approvers: facts::approvers(Store::new(host))?,
        })
    }
    pub fn person(&mut self) -> AppResult<&Person> {
        if self.person.is_none() {
            self.person = Some(facts::person(self.host, &self.who)?);
        }
        Ok(self.person.as_ref().expect("loaded"))
    }
    pub fn is_admin(&mut self) -> AppResult<bool> {
        Ok(self.person()?.admin)
    }
    /// How the caller may decide a request that no path decides (the kernel's rule), if at all.
    pub fn direct_rule(&mut self) -> AppResult<Option<Rule>> {
        let approvers = self.approvers.clone();
        Ok(kernel::direct_rule(self.person()?, &approvers))
    }
    /// Approval access (the tab's visibility, CL-167): a direct role, or an open path task.
    pub fn has_approval_access(&mut self) -> AppResult<bool> {
        // Admins keep the tab with admin fallback off: manual actions and path overrides.
        if self.direct_rule()?.is_some() || self.is_admin()? {
            return Ok(true);
        }
        let tasks = Store::new(self.host).scan::<astore::Task>(astore::TASK_PREFIX, 2_000)?;
        for (_, t) in tasks {
            if self.may_take(&t)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
    fn may_take(&mut self, t: &astore::Task) -> AppResult<bool> {
        if t.approvers.contains(&self.who) || t.delegates.contains(&self.who) {
            return Ok(true);
        }
        match &t.group {
            Some(g) => {
                let g = g.clone();
                Ok(self.person()?.groups.iter().any(|x| x.name == g))
            }
            None => Ok(false),
        }
    }
}

/// One decision by `caller` on one issue key: the single-decision rules every bulk item follows.
/// A request a path decides gets a step decision (the engine's rules, then the kernel's when the
/// path closes); any other goes to `decision::apply`, where the kernel judges it.
pub fn decide_one(
    c: &mut Caller<'_>,
    issue_key: &str,
    verdict: Verdict,
    comment: &str,
    source: DecisionSource,
) -> AppResult<Value> {
    let host = c.host;
    let store = Store::new(host);
    // Someone with no approval role at all learns nothing about the key (no existence oracle).
    if !c.has_approval_access()? {
        return Err(kernel::Refusal::NotApprover(
            "only approvers, their delegates or Jira administrators decide requests",
        )
        .into());
    }
    let (r, _) = decision::load_request_by_key(store, issue_key)?;
    let path = match r.route.as_ref() {
        Some(x) if x.kind == RouteKind::Path && r.decision == Decision::Pending => x
            .approval_id
            .clone()
            .map(|id| astore::load(store, &id))
            .transpose()?
            .filter(|(a, _)| a.is_open()),
        _ => None,
    };
    match path {
        None => {
            let person = c.person()?.clone();
            let applied = decision::apply(
                host,
                &Input {
                    issue_id: r.issue_id.clone(),
                    basis: Basis::Person {
                        person,
                        verdict,
                        source,
                    },
                    comment: Some(comment.to_string()).filter(|c| !c.is_empty()),
                    known_issue: None,
                },
            )?;
            Ok(
                json!({"issueKey": r.issue_key, "outcome": applied.decision.as_str(), "decision": applied.to_json()}),
            )
        }
        Some((a, _)) => {
            let (step_id, auth) = pick_step(c, &a)?;
            decide_step(c, &r, &a.id, &step_id, auth, verdict, comment)
        }
    }
}

/// The caller's open step on the path (the first one they may decide; an admin override only
/// when nothing else fits, and only under admin fallback, D-66).
fn pick_step(
    c: &mut Caller<'_>,
    a: &crate::approvals::model::Approval,
) -> AppResult<(String, Authority)> {
    let host = c.host;
    let tasks =
        Store::new(host).scan::<astore::Task>(&format!("{}{}:", astore::TASK_PREFIX, a.id), 50)?;
    let mut chosen: Option<(String, Authority)> = None;
    for (_, t) in &tasks {
        match crate::approvals::service::authority(host, &c.who, a, &t.step_id) {
            Ok(Authority::Admin) if chosen.is_none() => {
                chosen = Some((t.step_id.clone(), Authority::Admin))
            }
            Ok(Authority::Admin) => {}
            Ok(auth) => {
                chosen = Some((t.step_id.clone(), auth));
                break;
            }
            Err(e) if e.code == "NOT_AN_APPROVER" => {}
            Err(e) => return Err(e),
        }
    }
    match chosen {
        Some((_, Authority::Admin)) if !c.approvers.admin_fallback => Err(kernel::Refusal::NotApprover(
            "administrators manage but do not decide here (admin fallback is off)",
        )
        .into()),
        Some(x) => Ok(x),
        None => Err(kernel::Refusal::NotApprover(
            "only the approvers of the request's current approval step, their delegates or Jira administrators can decide it",
        )
        .into()),
    }
}

/// A decision on one step of a request's path, from any door (the Approvals tab, bulk, the
/// issue panel): the same pre-checks (an approval that could not lead to a grant is refused
/// before it is recorded), then the engine's duties, then — when the path closes — the kernel.
pub fn decide_step(
    c: &mut Caller<'_>,
    r: &Request,
    approval_id: &str,
    step_id: &str,
    auth: Authority,
    verdict: Verdict,
    comment: &str,
) -> AppResult<Value> {
    let host = c.host;
    if verdict == Verdict::Approve {
        decision::approvable_now(host, r)?;
    }
    let now = host.now_ms();
    let sv = match verdict {
        Verdict::Approve => StepVerdict::Approve,
        Verdict::Deny => StepVerdict::Reject,
    };
    let who = c.who.clone();
    let (after, out) = astore::transition(
        host,
        approval_id,
        &mut |a, eval| engine::decide(a, step_id, &who, auth.clone(), sv, comment, now, eval),
        &|_| Ok(()),
    )?;
    if out.closed {
        if let Some(applied) = routing::apply_outcome(host, &after.id)? {
            return Ok(
                json!({"issueKey": r.issue_key, "outcome": if applied.held { "held" } else { applied.decision.as_str() },
                       "approvalId": after.id, "decision": applied.to_json()}),
            );
        }
    }
    let waiting: Vec<String> = after
        .steps
        .iter()
        .filter(|s| s.status == crate::approvals::model::StepStatus::Active)
        .map(|s| s.name.clone())
        .collect();
    Ok(
        json!({"issueKey": r.issue_key, "outcome": "recorded", "approvalId": after.id,
              "waitingFor": waiting}),
    )
}

/// The issue panel's step decision (`approvals.decide`) on a path AI Clearance linked to a
/// request: dispatch sends it here, so it meets the tab's rules and rate limit.
pub fn decide_linked_step(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let approval_id = p.get("approvalId").and_then(Value::as_str).unwrap_or("");
    let step_id = p.get("stepId").and_then(Value::as_str).unwrap_or("");
    let verdict = match p.get("decision").and_then(Value::as_str) {
        Some("approve") | Some("APPROVE") => Verdict::Approve,
        Some("reject") | Some("REJECT") | Some("deny") => Verdict::Deny,
        _ => {
            return Err(AppError::invalid(
                "DECISION_INVALID",
                "decision must be approve or reject",
            ))
        }
    };
    let comment = comment_of(p)?;
    crate::ratelimit::take(store, crate::ratelimit::DECISIONS, who)?;
    let (a, _) = astore::load(store, approval_id)?;
    crate::approvals::service::require_view(host, who, &a)?;
    let subject = a
        .link
        .as_ref()
        .map(|l| l.subject.clone())
        .unwrap_or_default();
    let (r, _) = decision::load_request(store, &subject)?;
    let mut c = Caller::new(host, who)?;
    let auth = crate::approvals::service::authority(host, who, &a, step_id)?;
    if auth == Authority::Admin && !c.approvers.admin_fallback {
        return Err(kernel::Refusal::NotApprover(
            "administrators manage but do not decide here (admin fallback is off)",
        )
        .into());
    }
    let out = decide_step(&mut c, &r, approval_id, step_id, auth, verdict, &comment)?;
    let (a, _) = astore::load(store, approval_id)?;
    Ok(json!({"approval": crate::approvals::service::view(host, &a)?, "clearance": out}))
}

pub fn parse_verdict(p: &Value) -> AppResult<Verdict> {
    match p.get("decision").and_then(Value::as_str) {
        Some("approve") => Ok(Verdict::Approve),
        Some("deny") => Ok(Verdict::Deny),
        _ => Err(AppError::invalid(
            "DECISION_INVALID",
            "decision must be approve or deny",
        )),
    }
}

pub fn comment_of(p: &Value) -> AppResult<String> {
    let c = p
        .get("comment")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if c.chars().count() > 2_000 {
        return Err(AppError::invalid(
            "COMMENT_TOO_LONG",
            "at most 2,000 characters",
        ));
    }
    Ok(c)
}

pub fn decide(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let verdict = parse_verdict(p)?;
    let comment = comment_of(p)?;
    let key = p.get("issueKey").and_then(Value::as_str).unwrap_or("");
    crate::ratelimit::take(Store::new(host), crate::ratelimit::DECISIONS, who)?;
    let mut c = Caller::new(host, who)?;
    decide_one(&mut c, key, verdict, &comment, DecisionSource::Approver)
}

/// Bulk approve / deny: at most 50 keys (else nothing is decided), 5 calls a minute per actor;
/// each key is decided by the single-decision rules and reported on its own.
pub fn bulk_decide(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let verdict = parse_verdict(p)?;
    let comment = comment_of(p)?;
    let keys_: Vec<String> = match p.get("issueKeys").and_then(Value::as_array) {
        Some(a) if a.len() > BULK_MAX => {
            return Err(AppError::invalid(
                "BULK_TOO_LARGE",
                format!(
                    "{} issue keys selected; a bulk decision takes at most {BULK_MAX}",
                    a.len()
                ),
            ))
        }
        Some(a) if !a.is_empty() && a.iter().all(Value::is_string) => {
            let mut v: Vec<String> = a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
            v.dedup();
            v
        }
        _ => {
            return Err(AppError::invalid(
                "BULK_KEYS_INVALID",
                "issueKeys must be a non-empty list of issue keys",
            ))
        }
    };
    crate::ratelimit::take(Store::new(host), crate::ratelimit::BULK_DECISIONS, who)?;
    let mut c = Caller::new(host, who)?;
    let mut results = Vec::with_capacity(keys_.len());
    let (mut ok, mut failed) = (0, 0);
    for k in &keys_ {
        match decide_one(&mut c, k, verdict, &comment, DecisionSource::Bulk) {
            Ok(v) => {
                ok += 1;
                results.push(json!({"issueKey": k, "ok": true, "outcome": v["outcome"], "grantId": v.pointer("/decision/grantId")}));
            }
            Err(e) => {
                failed += 1;
                results.push(json!({"issueKey": k, "ok": false, "error": {"code": e.code, "message": e.message}}));
            }
        }
    }
    Ok(json!({"results": results, "succeeded": ok, "failed": failed}))
}

/// The tab's two tables (CL-050, CL-063, CL-168): pending requests the caller can decide, and
/// manual provisioning actions.
pub fn tab(host: &dyn Host, who: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let mut c = Caller::new(host, who)?;
    if !c.has_approval_access()? {
        return Err(AppError::forbidden(
            "NO_APPROVAL_ACCESS",
            "the Approvals tab is for approvers",
        ));
    }
    let direct = c.direct_rule()?.is_some();
    let admin = c.is_admin()?;
    let person = c.person()?.clone();
    let approvers = c.approvers.clone();
    let ids = store.scan::<String>(
        &keys::request_by_decision_prefix("pending"),
        PENDING_SCAN_MAX,
    )?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::request(id)).collect();
    let mut pending = Vec::new();
    for (_, r) in store.get_many::<Request>(&want)? {
        if r.decision != Decision::Pending {
            continue;
        }
        let path = r
            .route
            .as_ref()
            .filter(|x| x.kind == RouteKind::Path)
            .and_then(|x| x.approval_id.clone());
        let (actions, step) = match &path {
            // The kernel's dry run decides which controls a direct row gets (the world is
            // assumed as it is; the decision itself reads it).
            None => {
                let rf = kernel::RequestFacts {
                    issue_key: r.issue_key.clone(),
                    requester: r.requester_account_id.clone(),
                    pending: true,
                    decision: "pending".into(),
                    risk: r.risk(),
                    route: facts::route(&r),
                    issue_open: None,
                    requester_active: None,
                    blocker: None,
                    auto_approval_allowed: false,
                };
                let try_ = |v| {
                    kernel::judge(
                        &kernel::Act::Decide {
                            verdict: v,
                            person: &person,
                            approvers: &approvers,
                        },
                        &rf,
                    )
                };
                let approve = try_(Verdict::Approve);
                let deny = try_(Verdict::Deny);
                if deny.is_err() && approve.is_err() {
                    continue;
                }
                (
                    json!({"approve": approve.is_ok(), "deny": deny.is_ok(),
                           "approveBlockedBy": approve.err().map(|e| e.code())}),
                    None,
                )
            }
            Some(a) => {
                if r.requester_account_id == c.who {
                    // Own requests are never offered for a decision (D-60).
                    continue;
                }
                let tasks =
                    store.scan::<astore::Task>(&format!("{}{a}:", astore::TASK_PREFIX), 50)?;
                let mut hit = None;
                for (_, t) in &tasks {
                    if c.may_take(t)? {
                        hit = Some(t.step_name.clone());
                        break;
                    }
                }
                if hit.is_none() && !(admin && approvers.admin_fallback) {
                    continue;
                }
                (
                    json!({"approve": true, "deny": true}),
                    hit.or_else(|| tasks.first().map(|(_, t)| t.step_name.clone())),
                )
            }
        };
        pending.push(json!({
            "issueKey": r.issue_key, "summary": r.summary, "requester": r.requester_account_id,
            "tool": r.tool, "durationDays": r.duration_days, "requestedAt": r.requested_at,
            "route": r.route.as_ref().map(|x| x.kind.as_str()), "approvalId": path, "step": step,
            "actions": actions,
        }));
    }
    // Manual provisioning actions are for the configured approvers and admins (not for someone
    // who only holds one path task).
    let manual_jobs = if direct || admin {
        jobs::manual_pending(store, 200)?
    } else {
        Vec::new()
    };
    let manual: Vec<Value> = manual_jobs
        .into_iter()
        .map(|j| {
            json!({"jobId": j.id, "kind": j.kind.as_str(), "issueKey": j.issue_key,
            "accountId": j.account_id, "tool": j.tool_name, "action": j.kind.completion(),
            "since": j.updated_at})
        })
        .collect();
    // Display names for the people in both tables (one Jira call; ids stay the fallback).
    let people: Vec<&str> = pending
        .iter()
        .chain(manual.iter())
        .filter_map(|r| r.get("requester").or_else(|| r.get("accountId")))
        .filter_map(Value::as_str)
        .collect();
    let names = crate::jira::Jira::new(host)
        .display_names(&people)
        .map_err(AppError::from)?;
    Ok(json!({"pending": pending, "manualActions": manual, "bulkMax": BULK_MAX, "people": names}))
}

/// "Mark fulfilled / deprovisioned / verified": approvers (or admins) close manual jobs; the
/// kernel's rules are applied where the job changes (`jobs::complete`).
pub fn complete_job(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let id = p.get("jobId").and_then(Value::as_str).unwrap_or("");
    let action = p.get("action").and_then(Value::as_str).unwrap_or("");
    jobs::complete(host, who, id, action)
}
