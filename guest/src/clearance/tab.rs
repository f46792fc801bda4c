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
use crate::approvals::{engine, inbox, store as astore};
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::requests::{Decision, DecisionSource, Request, RouteKind};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

pub const BULK_MAX: usize = 50;

/// The caller, with the kernel's facts about them read at most once per call.
pub struct Caller<'h> {
    host: &'h dyn Host,
    pub who: String,
    person: Option<Person>,
    /// The caller's groups, read before (and without) the admin check: a named approver, group
    /// member or delegate needs no admin check to open the tab (D-251).
    groups: Option<Vec<kernel::Group>>,
    pub approvers: Approvers,
    /// The caller's admin-cache record, read with the approvers in one batch.
    access: Option<String>,
}

impl<'h> Caller<'h> {
    pub fn new(host: &'h dyn Host, who: &str) -> AppResult<Self> {
        let access_key = keys::access_cache(who);
        let mut got = Store::new(host)
            .batch_get(&[keys::SITE_INTAKE_CONFIG.to_string(), access_key.clone()])?;
        let cfg: Option<crate::intake::config::IntakeConfig> = got
            .get(keys::SITE_INTAKE_CONFIG)
            .map(|t| crate::storage::decode(keys::SITE_INTAKE_CONFIG, t))
            .transpose()?;
        Ok(Caller {
            host,
            who: who.to_string(),
            person: None,
            groups: None,
            approvers: facts::approvers_of(&cfg.map(|c| c.approvals).unwrap_or_default()),
            access: got.remove(&access_key),
        })
    }
    pub fn person(&mut self) -> AppResult<&Person> {
        if self.person.is_none() {
            let groups = self.groups()?;
            self.person = Some(Person {
                id: self.who.clone(),
                groups,
                admin: crate::access::is_admin_from(self.host, &self.who, self.access.as_deref())?,
            });
        }
        Ok(self.person.as_ref().expect("loaded"))
    }
    /// The caller's Jira groups (one Jira call, once).
    fn groups(&mut self) -> AppResult<Vec<kernel::Group>> {
        if let Some(p) = &self.person {
            return Ok(p.groups.clone());
        }
        if self.groups.is_none() {
            self.groups = Some(
                crate::jira::Jira::new(self.host)
                    .user_group_ids(&self.who)
                    .map_err(AppError::from)?
                    .into_iter()
                    .map(|(name, group_id)| kernel::Group { name, group_id })
                    .collect(),
            );
        }
        Ok(self.groups.clone().expect("loaded"))
    }
    pub fn is_admin(&mut self) -> AppResult<bool> {
        Ok(self.person()?.admin)
    }
    /// The caller's direct role that does not rest on being a Jira admin (a named approver, an
    /// approver group's member, a delegate): known without the admin check (D-251).
    fn role_without_admin(&mut self) -> AppResult<Option<Rule>> {
        let p = Person {
            id: self.who.clone(),
            groups: self.groups()?,
            admin: false,
        };
        Ok(kernel::direct_rule(&p, &self.approvers))
    }
    /// The caller as the kernel judges a direct decision: when a role that is not admin
    /// fallback applies, the admin flag changes nothing (`kernel::direct_rule` finds that role
    /// first), so it is not asked of Jira (D-251).
    fn person_for_direct(&mut self) -> AppResult<Person> {
        if self.person.is_none() && self.role_without_admin()?.is_some() {
            return Ok(Person {
                id: self.who.clone(),
                groups: self.groups()?,
                admin: false,
            });
        }
        Ok(self.person()?.clone())
    }
    /// How the caller may decide a request that no path decides (the kernel's rule), if at all.
    pub fn direct_rule(&mut self) -> AppResult<Option<Rule>> {
        if let Some(r) = self.role_without_admin()? {
            return Ok(Some(r));
        }
        let approvers = self.approvers.clone();
        Ok(kernel::direct_rule(self.person()?, &approvers))
    }
    /// Approval access (the tab's visibility, CL-167): a direct role, or an open path task.
    pub fn has_approval_access(&mut self) -> AppResult<bool> {
        // Admins keep the tab with admin fallback off: manual actions and path overrides.
        if self.direct_rule()?.is_some() || self.is_admin()? {
            return Ok(true);
        }
        // The approver inbox, not the task backlog: one page per principal, verified.
        let groups = self.group_names()?;
        Ok(!inbox::open_tasks(self.host, &self.who, &groups, true)?.is_empty())
    }
    fn group_names(&mut self) -> AppResult<Vec<String>> {
        Ok(self.groups()?.iter().map(|g| g.name.clone()).collect())
    }
    fn may_take(&mut self, t: &astore::Task) -> AppResult<bool> {
        if t.names(&self.who, &[]) {
            return Ok(true);
        }
        let groups = self.group_names()?;
        Ok(t.names(&self.who, &groups))
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
    // Inside the installation's write budget: decided now, queued for a later minute, or
    // refused, each key reported (issue 32 item 4).
    super::deferred::bulk(host, who, &keys_, verdict, &comment)
}

/// Rows a page of the tab reads from each index (a Forge query page).
pub const PAGE: u32 = 20;

/// Which part of the tab a call reads: both first pages, or the next page of one table.
enum Part<'a> {
    First,
    Pending(&'a str),
    Manual(&'a str),
}

/// The tab's two tables (CL-050, CL-063, CL-168): pending requests the caller can decide, and
/// manual provisioning actions, a page at a time (issue 32: a screen reads a page, never the
/// backlog). `{}` gives the first page of both with `pendingNext` / `manualNext` cursors;
/// `{"more": "pending" | "manual", "cursor": …}` the next page of one. Whatever the backlog,
/// a page costs the caller's facts, one query and one batch read per table, two batch reads
/// for the path rows on it (their approvals, then their open steps' tasks) and one names call.
pub fn tab(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let part = match (
        p.get("more").and_then(Value::as_str),
        p.get("cursor").and_then(Value::as_str),
    ) {
        (None, _) => Part::First,
        (Some("pending"), Some(c)) => Part::Pending(c),
        (Some("manual"), Some(c)) => Part::Manual(c),
        _ => {
            return Err(AppError::invalid(
                "PAGE_INVALID",
                "more must be pending or manual, with the cursor the last page gave",
            ))
        }
    };
    let store = Store::new(host);
    let mut c = Caller::new(host, who)?;
    if !c.has_approval_access()? {
        return Err(AppError::forbidden(
            "NO_APPROVAL_ACCESS",
            "the Approvals tab is for approvers",
        ));
    }
    let direct = c.direct_rule()?.is_some();
    // Only asked of Jira when no direct role answers it (D-251).
    let admin = !direct && c.is_admin()?;
    let (pending, pending_next) = match part {
        Part::Manual(_) => (Vec::new(), None),
        // Someone who decides only path steps: their open steps from the approver inbox, not
        // pages of everyone's pending requests (where theirs may sit far behind a cursor).
        Part::First if !(direct || admin) => (inbox_rows(&mut c)?, None),
        Part::Pending(_) if !(direct || admin) => (Vec::new(), None),
        Part::First => pending_page(&mut c, None)?,
        Part::Pending(cur) => pending_page(&mut c, Some(cur))?,
    };
    // Manual provisioning actions are for the configured approvers and admins (not for someone
    // who only holds one path task).
    let (manual_jobs, manual_next) = match part {
        Part::Pending(_) => (Vec::new(), None),
        _ if !(direct || admin) => (Vec::new(), None),
        Part::First => jobs::manual_page(store, None, PAGE)?,
        Part::Manual(cur) => jobs::manual_page(store, Some(cur), PAGE)?,
    };
    let manual: Vec<Value> = manual_jobs
        .into_iter()
        .map(|j| {
            json!({"jobId": j.id, "kind": j.kind.as_str(), "issueKey": j.issue_key,
            "accountId": j.account_id, "tool": j.tool_name, "action": j.kind.completion(),
            "since": j.updated_at})
        })
        .collect();
    // The approver's facts (issue 33 item 3) and the display names for the people on this page,
    // in one batch read: today's governance (the longest grant per risk, the limit a decision
    // applies), whether each requester already holds open access to the row's tool, and the
    // viewer's name cache (else one Jira call; ids stay the fallback).
    // The same batch reads the keys bulk decisions queued for a later minute (D-253): such a
    // row shows "Decision queued" and offers no decision of its own.
    let names_key = crate::names::cache_key(who).filter(|_| !pending.is_empty());
    let mut want: Vec<String> = Vec::new();
    if !pending.is_empty() {
        want.push(keys::GOVERNANCE_POLICY.to_string());
        want.push(keys::BULK_QUEUED.to_string());
        want.extend(pending.iter().filter_map(|r| r.open_key.clone()));
        want.extend(names_key.clone());
        want.sort();
        want.dedup();
    }
    let mut got = std::collections::BTreeMap::new();
    for chunk in want.chunks(crate::storage::MAX_BATCH) {
        got.extend(store.batch_get(chunk)?);
    }
    let gov = facts::governance_from(keys::GOVERNANCE_POLICY, got.get(keys::GOVERNANCE_POLICY))?;
    let queued: super::write_budget::Queued = got
        .get(keys::BULK_QUEUED)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let queued = queued.shown(super::write_budget::minute_of(host.now_ms()));
    let pending: Vec<Value> = pending
        .into_iter()
        .map(|mut r| {
            r.json["maxDays"] = json!(gov.max_days(r.risk));
            r.json["openGrantForTool"] =
                json!(r.open_key.as_ref().is_some_and(|k| got.contains_key(k)));
            if let Some(m) = r.json["issueKey"].as_str().and_then(|k| queued.get(k)) {
                r.json["queued"] = json!({"withinMinutes": m});
            }
            r.json
        })
        .collect();
    let people: Vec<&str> = pending
        .iter()
        .chain(manual.iter())
        .filter_map(|r| r.get("requester").or_else(|| r.get("accountId")))
        .filter_map(Value::as_str)
        .collect();
    let names = match &names_key {
        Some(k) => {
            crate::names::display_names_read(host, who, &people, got.get(k).map(String::as_str))
        }
        None => crate::names::display_names(host, who, &people),
    }
    .map_err(AppError::from)?;
    Ok(
        json!({"pending": pending, "pendingNext": pending_next, "manualActions": manual,
              "manualNext": manual_next, "bulkMax": BULK_MAX, "people": names}),
    )
}

/// One page of pending requests and the rows the caller may decide on it. A page whose rows are
/// mostly not the caller's is followed by one more, so a path approver does not meet an empty
/// first page while their rows wait behind a cursor; never more than two pages a call.
fn pending_page(c: &mut Caller<'_>, cursor: Option<&str>) -> AppResult<(Vec<Row>, Option<String>)> {
    let store = Store::new(c.host);
    let prefix = keys::request_by_decision_prefix("pending");
    let mut rows = Vec::new();
    let mut cursor = cursor.map(String::from);
    for _ in 0..2 {
        let page = store
            .page::<String>(&prefix, cursor.as_deref(), PAGE)
            .map_err(crate::storage::cursor_error)?;
        let want: Vec<String> = page.items.iter().map(|(_, id)| keys::request(id)).collect();
        let requests: Vec<Request> = store
            .get_many::<Request>(&want)?
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| r.decision == Decision::Pending)
            .collect();
        rows.extend(visible_rows(c, &requests)?);
        cursor = page.next_cursor;
        if cursor.is_none() || rows.len() >= (PAGE / 2) as usize {
            break;
        }
    }
    Ok((rows, cursor))
}

/// The pending requests whose open steps the caller may take (at most the inbox's page).
fn inbox_rows(c: &mut Caller<'_>) -> AppResult<Vec<Row>> {
    let store = Store::new(c.host);
    let groups = c.group_names()?;
    let tasks = inbox::open_tasks(c.host, &c.who, &groups, false)?;
    let mut keys_: Vec<String> = tasks
        .iter()
        .map(|t| keys::request_by_issue_key(&t.issue_key))
        .filter(|k| crate::storage::check_key(k).is_ok())
        .collect();
    keys_.sort();
    keys_.dedup();
    let ids: Vec<String> = store
        .get_many::<String>(&keys_)?
        .into_iter()
        .map(|(_, id)| keys::request(&id))
        .collect();
    let requests: Vec<Request> = store
        .get_many::<Request>(&ids)?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.decision == Decision::Pending)
        .collect();
    visible_rows(c, &requests)
}

/// A pending row, and what `tab` adds to it from the page's one batch read.
struct Row {
    json: Value,
    /// `access-grant-open:<requester>:<tool>`: present while the requester holds the tool.
    open_key: Option<String>,
    risk: crate::catalog::RiskLevel,
}

/// The justification as the row shows it: at most this many characters (the issue has it all).
const JUSTIFICATION_MAX: usize = 300;

/// The rows of `requests` the caller may act on, with the controls the kernel's dry run allows.
/// The path rows' approvals are read in one batch and their open steps' tasks in one more.
fn visible_rows(c: &mut Caller<'_>, requests: &[Request]) -> AppResult<Vec<Row>> {
    let store = Store::new(c.host);
    let person = c.person_for_direct()?;
    let approvers = c.approvers.clone();
    let path_of = |r: &Request| {
        r.route
            .as_ref()
            .filter(|x| x.kind == RouteKind::Path)
            .and_then(|x| x.approval_id.clone())
    };
    let approval_keys: Vec<String> = requests
        .iter()
        .filter(|r| r.requester_account_id != c.who)
        .filter_map(path_of)
        .map(|a| astore::approval_key(&a))
        .collect();
    let approvals = store.get_many::<crate::approvals::model::Approval>(&approval_keys)?;
    let task_keys: Vec<String> = approvals
        .iter()
        .flat_map(|(_, a)| {
            a.steps
                .iter()
                .filter(|s| s.status == crate::approvals::model::StepStatus::Active)
                .map(|s| astore::task_key(&a.id, &s.id))
        })
        .collect();
    let mut tasks: std::collections::BTreeMap<String, Vec<astore::Task>> = Default::default();
    for (_, t) in store.get_many::<astore::Task>(&task_keys)? {
        tasks.entry(t.approval_id.clone()).or_default().push(t);
    }
    let mut rows = Vec::new();
    for r in requests {
        let path = path_of(r);
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
                    route: facts::route(r),
                    issue_open: None,
                    requester_active: None,
                    blocker: None,
                    auto_approval_allowed: false,
                    data_class_review: None,
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
                let open = tasks.get(a).map(Vec::as_slice).unwrap_or_default();
                let mut hit = None;
                for t in open {
                    if c.may_take(t)? {
                        hit = Some(t.step_name.clone());
                        break;
                    }
                }
                if hit.is_none() && !(approvers.admin_fallback && c.is_admin()?) {
                    continue;
                }
                (
                    json!({"approve": true, "deny": true}),
                    hit.or_else(|| open.first().map(|t| t.step_name.clone())),
                )
            }
        };
        // The path's name and its AI read's verdict, from the approval already read (issue 33
        // item 3).
        let approval = path
            .as_ref()
            .and_then(|id| approvals.iter().find(|(_, a)| &a.id == id).map(|(_, a)| a));
        let path_name = approval.map(|a| a.definition_name.clone());
        let ai_read = approval.and_then(ai_read);
        let justification = r
            .justification
            .as_deref()
            .map(str::trim)
            .filter(|j| !j.is_empty())
            .map(|j| {
                if j.chars().count() > JUSTIFICATION_MAX {
                    let cut: String = j.chars().take(JUSTIFICATION_MAX - 1).collect();
                    format!("{}…", cut.trim_end())
                } else {
                    j.to_string()
                }
            });
        let open_key = keys::grant_open(&r.requester_account_id, &r.tool_key());
        rows.push(Row {
            json: json!({
                "issueKey": r.issue_key, "summary": r.summary, "requester": r.requester_account_id,
                "tool": r.tool, "durationDays": r.duration_days, "requestedAt": r.requested_at,
                "route": r.route.as_ref().map(|x| x.kind.as_str()), "approvalId": path, "step": step,
                "pathName": path_name, "riskLevel": r.risk().as_str(), "aiRead": ai_read,
                "justification": justification,
                "actions": actions,
                // What the requester declared (issue 35) and why auto-approval did not apply.
                "dataClasses": r.data_classes, "purpose": r.purpose,
                "autoApproval": r.route.as_ref().and_then(|x| x.auto_approval.clone()),
            }),
            open_key: crate::storage::check_key(&open_key).ok().map(|_| open_key),
            risk: r.risk(),
        });
    }
    Ok(rows)
}

/// The verdict chip of the path's latest AI read (a PROMPT step that ran to SUCCESS): its
/// primary lozenge and confidence, parsed as the issue panel parses it; `None` when no AI read
/// ran or it gave no lozenge.
fn ai_read(a: &crate::approvals::model::Approval) -> Option<Value> {
    use crate::approvals::definition::StepType;
    use crate::approvals::model::StepStatus;
    let s = a
        .all_steps()
        .map(|(_, s)| s)
        .filter(|s| s.step_type == StepType::Prompt && s.status == StepStatus::Success)
        .filter(|s| {
            s.result_teaser
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty())
        })
        .max_by(|x, y| x.completed_at.cmp(&y.completed_at))?;
    let p = crate::prompt::result::parse(s.result_teaser.as_deref().unwrap_or(""));
    let lozenge = p.lozenge?;
    Some(
        json!({"step": s.name, "lozenge": lozenge, "confidence": p.confidence,
                "analysisPerformed": p.analysis_performed}),
    )
}

/// "Mark fulfilled / deprovisioned / verified": approvers (or admins) close manual jobs; the
/// kernel's rules are applied where the job changes (`jobs::complete`).
pub fn complete_job(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let id = p.get("jobId").and_then(Value::as_str).unwrap_or("");
    let action = p.get("action").and_then(Value::as_str).unwrap_or("");
    jobs::complete(host, who, id, action)
}
