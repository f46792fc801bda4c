//! The Approvals tab (spec §5.4, §11 "Approve/Deny action fails"): the pending table, single and
//! bulk approve / deny, and the manual provisioning actions.
//!
//! Who may decide (CL-037, CL-060): on a request an approval path decides, whoever may decide
//! its open step (the step's approvers, their delegates, group members) — and Jira admins, as a
//! recorded override. On a request decided directly, the approvers of Intake & Approvals (named
//! accounts, members of approver groups, and their delegates) and Jira admins (admin fallback).
//! Every refusal has its own code: NOT_APPROVER, REQUEST_NOT_PENDING, GRANT_CONFLICT,
//! TOOL_NOT_REQUESTABLE, UNKNOWN_TOOL_BLOCKED, BULK_TOO_LARGE, BULK_RATE_LIMITED.

use super::decision::{self, Input, Verdict};
use super::{governance, jobs, routing};
use crate::access;
use crate::approvals::engine::Authority;
use crate::approvals::model::Verdict as StepVerdict;
use crate::approvals::{engine, store as astore};
use crate::catalog::Tool;
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::intake::config::{self, ApprovalSettings};
use crate::jira::Jira;
use crate::requests::{Decision, Request};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

pub const BULK_MAX: usize = 50;
const PENDING_SCAN_MAX: usize = 500;

/// The caller, with facts read at most once per call.
pub struct Caller<'h> {
    host: &'h dyn Host,
    pub who: String,
    admin: Option<bool>,
    groups: Option<Vec<String>>,
    settings: ApprovalSettings,
}

impl<'h> Caller<'h> {
    pub fn new(host: &'h dyn Host, who: &str) -> AppResult<Self> {
        let settings = config::load(Store::new(host))?
            .map(|c| c.approvals)
            .unwrap_or_default();
        Ok(Caller {
            host,
            who: who.to_string(),
            admin: None,
            groups: None,
            settings,
        })
    }
    pub fn is_admin(&mut self) -> AppResult<bool> {
        if self.admin.is_none() {
            self.admin = Some(access::is_admin(self.host, &self.who)?);
        }
        Ok(self.admin.unwrap_or(false))
    }
    fn groups(&mut self) -> AppResult<&[String]> {
        if self.groups.is_none() {
            self.groups = Some(
                Jira::new(self.host)
                    .user_groups(&self.who)
                    .map_err(AppError::from)?,
            );
        }
        Ok(self.groups.as_deref().unwrap_or(&[]))
    }
    /// How the caller may decide a request that no path decides (None = may not).
    pub fn direct_role(&mut self) -> AppResult<Option<DirectRole>> {
        let s = self.settings.clone();
        if s.approver_account_ids.contains(&self.who) {
            return Ok(Some(DirectRole::Approver));
        }
        if !s.approver_groups.is_empty() {
            let mine = self.groups()?.to_vec();
            if s.approver_groups.iter().any(|g| mine.contains(g)) {
                return Ok(Some(DirectRole::Role));
            }
        }
        // A delegate decides for the named approvers who delegated to them (D-63).
        let bosses: Vec<String> = s
            .delegates
            .iter()
            .filter(|(boss, ds)| s.approver_account_ids.contains(boss) && ds.contains(&self.who))
            .map(|(boss, _)| boss.clone())
            .collect();
        if !bosses.is_empty() {
            return Ok(Some(DirectRole::Delegate(bosses)));
        }
        // `adminFallback: false`: administrators manage but do not decide (D-66).
        if s.admin_fallback && self.is_admin()? {
            return Ok(Some(DirectRole::Admin));
        }
        Ok(None)
    }
    /// Approval access (the tab's visibility, CL-167): a direct role, or an open path task.
    pub fn has_approval_access(&mut self) -> AppResult<bool> {
        // Admins keep the tab with admin fallback off: manual actions and path overrides.
        if self.direct_role()?.is_some() || self.is_admin()? {
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
                Ok(self.groups()?.contains(&g))
            }
            None => Ok(false),
        }
    }
}

/// How someone decides a request no path decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectRole {
    Approver,
    /// Members of an approver group.
    Role,
    /// For these approvers, who delegated to the caller.
    Delegate(Vec<String>),
    /// A Jira administrator, under admin fallback.
    Admin,
}

impl DirectRole {
    fn evidence(&self) -> Value {
        match self {
            DirectRole::Approver => json!({"role": "approver"}),
            DirectRole::Role => json!({"role": "role"}),
            DirectRole::Delegate(b) => json!({"role": "delegate", "onBehalfOf": b}),
            DirectRole::Admin => json!({"role": "admin"}),
        }
    }
    /// The people this decision is made as (the caller, or the approvers they stand in for).
    fn principals<'a>(&'a self, who: &'a str) -> Vec<&'a str> {
        match self {
            DirectRole::Delegate(b) => b.iter().map(String::as_str).chain([who]).collect(),
            _ => vec![who],
        }
    }
}

/// Nobody decides their own request, in person or through a delegate (D-60).
fn self_decision(r: &Request, who: &str, role: &DirectRole) -> Option<AppError> {
    role.principals(who)
        .contains(&r.requester_account_id.as_str())
        .then(|| {
            AppError::forbidden(
                "SELF_DECISION_FORBIDDEN",
                "this is your own request (or the request of an approver you stand in for); someone else must decide it",
            )
        })
}

/// Would approving produce a grant right now? (Checked before anything is recorded.)
fn precheck(store: Store<'_>, r: &Request) -> AppResult<()> {
    let (gov, _) = governance::load(store)?;
    let tool: Option<Tool> = match r.tool_id() {
        Some(id) => store.get(&keys::tool(id))?,
        None => None,
    };
    let open: Option<String> =
        store.get(&keys::grant_open(&r.requester_account_id, &r.tool_key()))?;
    match decision::grant_blocker(r, tool.as_ref(), &gov, open.as_deref()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// One decision by `caller` on one issue key: the single-decision rules every bulk item follows.
pub fn decide_one(
    c: &mut Caller<'_>,
    issue_key: &str,
    verdict: Verdict,
    comment: &str,
    source: &str,
) -> AppResult<Value> {
    let host = c.host;
    let store = Store::new(host);
    let (r, _) = decision::load_request_by_key(store, issue_key)?;
    if r.decision != Decision::Pending {
        return Err(AppError::conflict(
            "REQUEST_NOT_PENDING",
            format!("{} is already {}", r.issue_key, r.decision.as_str()),
        ));
    }
    if verdict == Verdict::Approve {
        if r.route.as_ref().map(|x| x.kind.as_str()) == Some(routing::HELD) {
            return Err(AppError::conflict(
                "GOVERNANCE_NOT_READY",
                "governance requires an approval path that does not exist; an admin fixes governance, then the request is routed to it (it can still be denied)",
            ));
        }
        precheck(store, &r)?;
    }
    let path = r
        .route
        .as_ref()
        .and_then(|x| x.approval_id.clone())
        .map(|id| astore::load(store, &id))
        .transpose()?
        .filter(|(a, _)| a.is_open());
    match path {
        None => {
            let Some(role) = c.direct_role()? else {
                return Err(AppError::forbidden(
                    "NOT_APPROVER",
                    "only the configured approvers, their delegates or Jira administrators can decide this request",
                ));
            };
            if let Some(e) = self_decision(&r, &c.who, &role) {
                return Err(e);
            }
            let applied = decision::apply(
                host,
                &Input {
                    issue_id: r.issue_id.clone(),
                    verdict,
                    source: source.into(),
                    actor: c.who.clone(),
                    approval_id: None,
                    evidence: role.evidence(),
                    comment: Some(comment.to_string()).filter(|c| !c.is_empty()),
                },
            )?;
            Ok(
                json!({"issueKey": r.issue_key, "outcome": applied.decision.as_str(), "decision": applied.to_json()}),
            )
        }
        Some((a, _)) => {
            // The caller's open step on the path (first one they may decide).
            let tasks =
                store.scan::<astore::Task>(&format!("{}{}:", astore::TASK_PREFIX, a.id), 50)?;
            let mut chosen: Option<(String, Authority)> = None;
            for (_, t) in &tasks {
                match crate::approvals::service::authority(host, &c.who, &a, &t.step_id) {
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
            let Some((step_id, auth)) = chosen else {
                return Err(AppError::forbidden(
                    "NOT_APPROVER",
                    "only the approvers of the request's current approval step, their delegates or Jira administrators can decide it",
                ));
            };
            if verdict == Verdict::Approve {
                // Before the step records anything: a closed issue is not approved (D-65).
                if let Some(e) = decision::issue_closed(host, &r.issue_key)? {
                    return Err(e);
                }
            }
            let now = host.now_ms();
            let sv = match verdict {
                Verdict::Approve => StepVerdict::Approve,
                Verdict::Deny => StepVerdict::Reject,
            };
            let who = c.who.clone();
            let (after, out) = astore::transition(
                host,
                &a.id,
                &mut |a, eval| {
                    engine::decide(a, &step_id, &who, auth.clone(), sv, comment, now, eval)
                },
                &|_| Ok(()),
            )?;
            if out.closed {
                if let Some(applied) = routing::apply_outcome(host, &after.id)? {
                    return Ok(
                        json!({"issueKey": r.issue_key, "outcome": applied.decision.as_str(),
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
    }
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

fn comment_of(p: &Value) -> AppResult<String> {
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
    decide_one(&mut c, key, verdict, &comment, "approver")
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
        match decide_one(&mut c, k, verdict, &comment, "bulk") {
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
    let direct_role = c.direct_role()?;
    let direct = direct_role.is_some();
    let admin = c.is_admin()?;
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
        if r.requester_account_id == c.who {
            // Own requests are never offered for a decision (D-60).
            continue;
        }
        let path = r.route.as_ref().and_then(|x| x.approval_id.clone());
        let (can, step) = match &path {
            None => (
                direct
                    && !matches!(&direct_role, Some(d @ DirectRole::Delegate(_)) if self_decision(&r, &c.who, d).is_some()),
                None,
            ),
            Some(a) => {
                let tasks =
                    store.scan::<astore::Task>(&format!("{}{a}:", astore::TASK_PREFIX), 50)?;
                let mut hit = None;
                for (_, t) in &tasks {
                    if c.may_take(t)? {
                        hit = Some(t.step_name.clone());
                        break;
                    }
                }
                (
                    hit.is_some() || admin,
                    hit.or_else(|| tasks.first().map(|(_, t)| t.step_name.clone())),
                )
            }
        };
        if !can {
            continue;
        }
        pending.push(json!({
            "issueKey": r.issue_key, "summary": r.summary, "requester": r.requester_account_id,
            "tool": r.tool, "durationDays": r.duration_days, "requestedAt": r.requested_at,
            "route": r.route.as_ref().map(|x| x.kind.clone()), "approvalId": path, "step": step,
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

/// "Mark fulfilled / deprovisioned / verified": approvers (or admins) close manual jobs.
pub fn complete_job(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let mut c = Caller::new(host, who)?;
    // Closing a manual action is management, so admins may, whatever admin fallback says.
    if c.direct_role()?.is_none() && !c.is_admin()? {
        return Err(AppError::forbidden(
            "NOT_APPROVER",
            "only approvers or Jira administrators close manual provisioning actions",
        ));
    }
    let id = p.get("jobId").and_then(Value::as_str).unwrap_or("");
    let action = p.get("action").and_then(Value::as_str).unwrap_or("");
    jobs::complete(host, who, id, action)
}
