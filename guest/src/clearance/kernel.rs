//! The policy kernel: every act that creates, widens, extends or ends someone's access is judged
//! here, from data, whichever door it came through (the Approvals tab, bulk, the admin Requests
//! screen, the issue panel's path step, an approval path closing, an auto-approval policy, the
//! job runner). The places that change state — `decision::apply`, `lifecycle::extend`,
//! `jobs::complete`, `governance::change_exception` — gather the facts and call [`judge`]; the
//! screens call it too, as a dry run, to decide which controls to show.
//!
//! `judge(act, facts) -> Result<Permit, Refusal>` is pure. Refusals come in a fixed order (who may
//! act, then who benefits, then the record's state, then the route, then the world), so the same
//! facts always give the same answer, and a caller who may not act learns nothing about the
//! record (`NOT_APPROVER` before `REQUEST_NOT_PENDING`).
//!
//! The rules (docs/decisions.md D-130 states them in prose):
//! - A request is decided on the route pinned when it was routed (`Route`): a person decides only
//!   a `direct` request; a path decides only if it is the route's path, started by the app for
//!   this request, on the pinned definition version. Any other path is advisory.
//! - Nobody who benefits (the requester, the grantee, an exception's beneficiary) decides,
//!   reviews or attests anything about their own access, in person or through a delegate.
//! - Approving needs the Jira issue open, the requester's account active, the tool requestable
//!   and no open grant for the same tool.
//! - An approval with no person's approval in it (an auto-approval policy, or a path of only
//!   automatic steps) is allowed only where governance allows auto-approval for the risk level
//!   (off for high and critical unless an admin turns it on).
//! - A request that declares a data class the tool's data profile does not list (or that
//!   governance sends to review) is never approved without a person (issue 35).
//! - A governance path's approvals come from distinct people (unless its definition opts out)
//!   and an admin override never approves a required review.
//! - A cancelled or failed governance path holds the request; it never falls back to a laxer
//!   route.
//! - An extension keeps the lifetime since the reviewed decision within the risk maximum and,
//!   for a reviewed grant, within twice the reviewed duration; beyond that, a new request.

use crate::catalog::RiskLevel;
use crate::error::{AppError, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The kernel's checks by name, so the simulation can show each one matters: its mutation test
/// switches one off (natively, in host-sim) and expects the adversary campaign to find the
/// bypass. Nothing in the component can switch a check off: no export reaches [`switch_off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Check {
    /// Who may act at all (direct rule, manager rule).
    Authority = 1,
    /// Nobody acts on their own access.
    Beneficiary = 2,
    /// Only the pinned governance path decides; held and unrouted requests are not approved.
    PinnedRoute = 4,
    /// A governance path's approvals come from distinct people, no admin override approves a
    /// required review, and a path with no person's approval needs auto-approval allowed.
    PathReview = 8,
    /// Auto-approval only where governance allows it.
    AutoApproval = 16,
    /// Extensions are judged by their cumulative lifetime.
    Cumulative = 32,
    /// Deactivated accounts get no access.
    ActiveAccount = 64,
}

static OFF: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Test-only: switch checks off (`None` switches all back on).
pub fn switch_off(checks: Option<&[Check]>) {
    let bits = checks.map_or(0, |c| c.iter().fold(0, |b, c| b | *c as u32));
    OFF.store(bits, std::sync::atomic::Ordering::SeqCst);
}

fn on(c: Check) -> bool {
    OFF.load(std::sync::atomic::Ordering::Relaxed) & c as u32 == 0
}

/// Whether a check is enforced (always, but in the simulation's mutation test).
pub fn enforced(c: Check) -> bool {
    on(c)
}

/// Approve or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Approve,
    Deny,
}

/// A Jira group as Jira names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub name: String,
    pub group_id: String,
}

/// What Jira says about the person acting (read once per invocation by the state-changing code,
/// never taken from a payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub groups: Vec<Group>,
    pub admin: bool,
}

/// Who decides requests no path decides (Intake & Approvals).
#[derive(Debug, Clone, Default)]
pub struct Approvers {
    pub accounts: Vec<String>,
    pub groups: Vec<String>,
    /// Approver → the people deciding for them (D-63).
    pub delegates: std::collections::BTreeMap<String, Vec<String>>,
    pub admin_fallback: bool,
}

/// The rule that allowed an act: recorded in its audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "rule",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Rule {
    /// A named approver of Intake & Approvals.
    DirectApprover,
    /// A member of an approver group.
    ApproverGroup { group: String, group_id: String },
    /// A delegate deciding for these approvers.
    Delegate { on_behalf_of: Vec<String> },
    /// A Jira administrator, under admin fallback.
    AdminFallback,
    /// A Jira administrator managing access (extensions, attestations, exception reviews).
    Admin,
    /// The request's governance path.
    Path {
        approval_id: String,
        definition_id: String,
        definition_version: u64,
        approvers: Vec<String>,
    },
    /// The governance path ran out of time.
    PathExpired { approval_id: String },
    /// Nobody decided a direct request within governance's decision deadline.
    DecisionDeadline { days: u32 },
    /// An auto-approval policy.
    AutoPolicy {
        policy_id: String,
        policy_version: u64,
        matched_group: Option<String>,
    },
    /// The app holds a request whose governance path cannot decide it.
    Hold { approval_id: String, reason: String },
}

impl Rule {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("rules serialize")
    }
}

/// What happens to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approve,
    Deny,
    /// Held: it may be denied, not approved, until an admin re-routes it.
    Hold,
}

impl From<Verdict> for Outcome {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Approve => Outcome::Approve,
            Verdict::Deny => Outcome::Deny,
        }
    }
}

/// What the kernel allows, and on which rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Permit {
    /// What to record: a path's approval that can no longer produce a grant is recorded as a
    /// denial with the reason (`note`), so the request is not left pending.
    pub outcome: Outcome,
    pub rule: Rule,
    pub note: Option<String>,
}

/// Why not. Each has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The actor has no authority for this act (or cannot see the record: same answer).
    NotApprover(&'static str),
    /// The actor benefits from the act.
    Beneficiary(&'static str, &'static str),
    NotPending(String),
    /// No route yet: routing decides first.
    NotRouted,
    /// Governance's path for the request is missing or was cancelled: held until an admin fixes it.
    Held,
    /// A path decides this request: decide its step.
    PathDecides,
    /// This path is not the request's pinned governance path: its outcome is advisory.
    PathNotCurrent,
    IssueClosed(String),
    AccountInactive,
    ToolNotRequestable(String),
    UnknownToolBlocked(String),
    /// The requester already holds this open grant for the tool.
    GrantConflict(String),
    AutoApprovalNotAllowed(RiskLevel),
    /// Declared data classes need a person's review (the reason).
    DataClassReview(String),
    /// A governance path's approvals are not enough to approve.
    ReviewIncomplete(String),
    ExtensionNeedsReview {
        allowed_days: u64,
    },
    ExtensionOverLimit(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotApprover(_) => "NOT_APPROVER",
            Refusal::Beneficiary(code, _) => code,
            Refusal::NotPending(_) => "REQUEST_NOT_PENDING",
            Refusal::NotRouted => "REQUEST_NOT_ROUTED",
            Refusal::Held => "GOVERNANCE_NOT_READY",
            Refusal::PathDecides => "PATH_DECIDES",
            Refusal::PathNotCurrent => "PATH_NOT_CURRENT",
            Refusal::IssueClosed(_) => "ISSUE_CLOSED",
            Refusal::AccountInactive => "ACCOUNT_INACTIVE",
            Refusal::ToolNotRequestable(_) => "TOOL_NOT_REQUESTABLE",
            Refusal::UnknownToolBlocked(_) => "UNKNOWN_TOOL_BLOCKED",
            Refusal::GrantConflict(_) => "GRANT_CONFLICT",
            Refusal::AutoApprovalNotAllowed(_) => "AUTO_APPROVAL_NOT_ALLOWED",
            Refusal::DataClassReview(_) => "DATA_CLASS_REVIEW",
            Refusal::ReviewIncomplete(_) => "REVIEW_INCOMPLETE",
            Refusal::ExtensionNeedsReview { .. } => "EXTENSION_NEEDS_REVIEW",
            Refusal::ExtensionOverLimit(_) => "EXTENSION_OVER_POLICY",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::NotApprover(why) => why.to_string(),
            Refusal::Beneficiary(_, why) => why.to_string(),
            Refusal::NotPending(m)
            | Refusal::IssueClosed(m)
            | Refusal::ToolNotRequestable(m)
            | Refusal::UnknownToolBlocked(m)
            | Refusal::DataClassReview(m)
            | Refusal::ReviewIncomplete(m)
            | Refusal::ExtensionOverLimit(m) => m.clone(),
            Refusal::GrantConflict(g) => {
                format!("the requester already holds open grant {g} for this tool")
            }
            Refusal::NotRouted => "the request is still being routed; try again in a minute".into(),
            Refusal::Held => "governance requires an approval path that cannot decide this request now; an admin fixes governance or re-routes it (it can still be denied)".into(),
            Refusal::PathDecides => "an approval path decides this request: decide its current step".into(),
            Refusal::PathNotCurrent => "this approval path is not the request's governance path; its outcome is advisory".into(),
            Refusal::AccountInactive => "the requester's Jira account is deactivated: no access is granted".into(),
            Refusal::AutoApprovalNotAllowed(r) => format!(
                "governance does not allow automatic approval of {} risk requests; a person decides",
                r.as_str()
            ),
            Refusal::ExtensionNeedsReview { allowed_days } => format!(
                "the reviewed decision covers at most {allowed_days} day(s) of access in all; a longer one needs the same review, so the holder requests access again"
            ),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Refusal::NotApprover(_) | Refusal::Beneficiary(..) => ErrorKind::Forbidden,
            _ => ErrorKind::Conflict,
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        let details = match &r {
            Refusal::ExtensionNeedsReview { allowed_days } => {
                Some(json!({"maxDays": allowed_days}))
            }
            Refusal::GrantConflict(g) => Some(json!({"grantId": g})),
            _ => None,
        };
        let e = AppError::new(r.kind(), r.code(), r.message());
        match details {
            Some(d) => e.with_details(d),
            None => e,
        }
    }
}

/// Why approving would not produce a grant (read by the state-changing code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    ToolNotRequestable(String),
    UnknownToolBlocked(String),
    OpenGrant(String),
}

impl Blocker {
    fn refusal(&self) -> Refusal {
        match self {
            Blocker::ToolNotRequestable(m) => Refusal::ToolNotRequestable(m.clone()),
            Blocker::UnknownToolBlocked(m) => Refusal::UnknownToolBlocked(m.clone()),
            Blocker::OpenGrant(g) => Refusal::GrantConflict(g.clone()),
        }
    }
}

/// How a request is decided: pinned when it is routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteFacts {
    Unrouted,
    Direct,
    Held,
    Path {
        approval_id: String,
        definition_id: String,
        definition_version: Option<u64>,
    },
}

/// A request, as the kernel needs it.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub issue_key: String,
    pub requester: String,
    pub pending: bool,
    pub decision: String,
    pub risk: RiskLevel,
    pub route: RouteFacts,
    /// Jira has the issue open (statusCategory not `done`, and it exists). `None`: not read (a
    /// dry run assumes open).
    pub issue_open: Option<Result<(), String>>,
    /// The requester's Jira account is active (`None`: not read; dry runs assume active).
    pub requester_active: Option<bool>,
    pub blocker: Option<Blocker>,
    /// Governance (the pinned version) allows approval without a person at this risk level.
    pub auto_approval_allowed: bool,
    /// Why the declared data classes need a person (classes the tool's profile does not list,
    /// or that governance sends to review), if they do: no approval without a person then.
    pub data_class_review: Option<String>,
}

/// One approving decision on a path step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepApproval {
    pub step: String,
    pub decider: String,
    pub on_behalf_of: Option<String>,
    pub admin_override: bool,
}

/// How a path ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStatus {
    Approved,
    Rejected,
    Expired,
    /// Cancelled, failed, or otherwise ended without a decision.
    Cancelled,
}

/// A closed path, as the engine recorded it.
#[derive(Debug, Clone)]
pub struct PathFacts {
    pub approval_id: String,
    pub definition_id: String,
    pub definition_version: u64,
    pub originator: String,
    /// The subject the path was started for (an AI Clearance request's issue id).
    pub subject: Option<String>,
    pub status: PathStatus,
    pub approvals: Vec<StepApproval>,
    /// The definition requires distinct deciders (governance paths do unless they opt out).
    pub distinct: bool,
    /// The path is a required review: an admin override cannot approve a step.
    pub review_required: bool,
}

/// An auto-approval policy that matched.
#[derive(Debug, Clone)]
pub struct PolicyFacts {
    pub policy_id: String,
    pub policy_version: u64,
    pub matched_group: Option<String>,
}

/// What is being done.
#[derive(Debug, Clone)]
pub enum Act<'a> {
    /// A person approves or denies a request directly.
    Decide {
        verdict: Verdict,
        person: &'a Person,
        approvers: &'a Approvers,
    },
    /// The request's path closed.
    PathClosed {
        path: &'a PathFacts,
        issue_id: &'a str,
    },
    /// An auto-approval policy approves the request.
    AutoApprove { policy: &'a PolicyFacts },
    /// A request no path decides reached its decision deadline undecided.
    DeadlinePassed { days: u32 },
}

/// How `person` may decide a request no path decides, if at all: named approver, approver group
/// (which one), delegate (for whom), admin under fallback.
pub fn direct_rule(person: &Person, approvers: &Approvers) -> Option<Rule> {
    if approvers.accounts.contains(&person.id) {
        return Some(Rule::DirectApprover);
    }
    if let Some(g) = person
        .groups
        .iter()
        .find(|g| approvers.groups.contains(&g.name))
    {
        return Some(Rule::ApproverGroup {
            group: g.name.clone(),
            group_id: g.group_id.clone(),
        });
    }
    let bosses: Vec<String> = approvers
        .delegates
        .iter()
        .filter(|(boss, ds)| approvers.accounts.contains(boss) && ds.contains(&person.id))
        .map(|(boss, _)| boss.clone())
        .collect();
    if !bosses.is_empty() {
        return Some(Rule::Delegate {
            on_behalf_of: bosses,
        });
    }
    if approvers.admin_fallback && person.admin {
        return Some(Rule::AdminFallback);
    }
    None
}

/// The people a decision under `rule` is made as.
fn principals<'a>(person: &'a Person, rule: &'a Rule) -> Vec<&'a str> {
    match rule {
        Rule::Delegate { on_behalf_of } => on_behalf_of
            .iter()
            .map(String::as_str)
            .chain([person.id.as_str()])
            .collect(),
        _ => vec![person.id.as_str()],
    }
}

/// The world-facing conditions of an approval, in order: the issue open, the requester active,
/// a grant possible.
fn approvable(r: &RequestFacts) -> Result<(), Refusal> {
    if let Some(Err(why)) = &r.issue_open {
        return Err(Refusal::IssueClosed(why.clone()));
    }
    if on(Check::ActiveAccount) && r.requester_active == Some(false) {
        return Err(Refusal::AccountInactive);
    }
    if let Some(b) = &r.blocker {
        return Err(b.refusal());
    }
    Ok(())
}

/// Judges a decision on a request.
pub fn judge(act: &Act<'_>, r: &RequestFacts) -> Result<Permit, Refusal> {
    match act {
        Act::Decide {
            verdict,
            person,
            approvers,
        } => {
            let rule = match direct_rule(person, approvers) {
                Some(rule) => rule,
                None if !on(Check::Authority) => Rule::DirectApprover,
                None => {
                    return Err(Refusal::NotApprover(
                        "only the configured approvers, their delegates or Jira administrators (under admin fallback) can decide this request",
                    ))
                }
            };
            if on(Check::Beneficiary) && principals(person, &rule).contains(&r.requester.as_str()) {
                return Err(Refusal::Beneficiary(
                    "SELF_DECISION_FORBIDDEN",
                    "this is your own request (or the request of an approver you stand in for); someone else must decide it",
                ));
            }
            if !r.pending {
                return Err(Refusal::NotPending(format!(
                    "{} is already {}",
                    r.issue_key, r.decision
                )));
            }
            match (&r.route, verdict) {
                _ if !on(Check::PinnedRoute) => {}
                (RouteFacts::Path { .. }, _) => return Err(Refusal::PathDecides),
                // Denying takes no access: a held or unrouted request may be denied.
                (RouteFacts::Unrouted, Verdict::Approve) => return Err(Refusal::NotRouted),
                (RouteFacts::Held, Verdict::Approve) => return Err(Refusal::Held),
                _ => {}
            }
            if *verdict == Verdict::Approve {
                approvable(r)?;
            }
            Ok(Permit {
                outcome: (*verdict).into(),
                rule,
                note: None,
            })
        }
        Act::AutoApprove { policy } => {
            if on(Check::AutoApproval) && !r.auto_approval_allowed {
                return Err(Refusal::AutoApprovalNotAllowed(r.risk));
            }
            if let Some(why) = r
                .data_class_review
                .as_ref()
                .filter(|_| on(Check::AutoApproval))
            {
                return Err(Refusal::DataClassReview(why.clone()));
            }
            if !r.pending {
                return Err(Refusal::NotPending(format!(
                    "{} is already {}",
                    r.issue_key, r.decision
                )));
            }
            approvable(r)?;
            Ok(Permit {
                outcome: Outcome::Approve,
                rule: Rule::AutoPolicy {
                    policy_id: policy.policy_id.clone(),
                    policy_version: policy.policy_version,
                    matched_group: policy.matched_group.clone(),
                },
                note: None,
            })
        }
        Act::PathClosed { path, issue_id } => judge_path(path, issue_id, r),
        Act::DeadlinePassed { days } => {
            if !r.pending {
                return Err(Refusal::NotPending(format!(
                    "{} is already {}",
                    r.issue_key, r.decision
                )));
            }
            // A path has its own timeout; the deadline ends only what people decide directly
            // (or a held request nobody re-routed). It takes access away, never grants it.
            if let RouteFacts::Path { .. } = r.route {
                return Err(Refusal::PathDecides);
            }
            Ok(Permit {
                outcome: Outcome::Deny,
                rule: Rule::DecisionDeadline { days: *days },
                note: Some(format!(
                    "Expired: nobody decided this request within {days} days. Ask again if you still need the tool."
                )),
            })
        }
    }
}

fn judge_path(p: &PathFacts, issue_id: &str, r: &RequestFacts) -> Result<Permit, Refusal> {
    // Only the pinned governance path decides; any other path on the issue is advisory.
    let current = match &r.route {
        RouteFacts::Path {
            approval_id,
            definition_id,
            definition_version,
        } => {
            *approval_id == p.approval_id
                && *definition_id == p.definition_id
                && definition_version.is_none_or(|v| v == p.definition_version)
        }
        _ => false,
    };
    let pinned = current && p.originator == "app" && p.subject.as_deref() == Some(issue_id);
    // With the check off, any path linked to the request decides it (the old door).
    if !pinned && (on(Check::PinnedRoute) || p.subject.as_deref() != Some(issue_id)) {
        return Err(Refusal::PathNotCurrent);
    }
    if !r.pending {
        return Err(Refusal::NotPending(format!(
            "{} is already {}",
            r.issue_key, r.decision
        )));
    }
    let hold = |reason: String| Permit {
        outcome: Outcome::Hold,
        rule: Rule::Hold {
            approval_id: p.approval_id.clone(),
            reason,
        },
        note: None,
    };
    let path_rule = || Rule::Path {
        approval_id: p.approval_id.clone(),
        definition_id: p.definition_id.clone(),
        definition_version: p.definition_version,
        approvers: p.approvals.iter().map(|a| a.decider.clone()).collect(),
    };
    match p.status {
        // Cancelled or failed: held, never a laxer route.
        PathStatus::Cancelled => return Ok(hold("the governance path was cancelled".into())),
        PathStatus::Expired => {
            return Ok(Permit {
                outcome: Outcome::Deny,
                rule: Rule::PathExpired {
                    approval_id: p.approval_id.clone(),
                },
                note: None,
            })
        }
        PathStatus::Rejected => {
            return Ok(Permit {
                outcome: Outcome::Deny,
                rule: path_rule(),
                note: None,
            })
        }
        PathStatus::Approved => {}
    }
    // The engine enforces these per step; the kernel checks the whole path again, so a path that
    // got past the engine by any door still cannot approve.
    if let Some(a) = p
        .approvals
        .iter()
        .filter(|_| on(Check::Beneficiary))
        .find(|a| {
            a.decider == r.requester || a.on_behalf_of.as_deref() == Some(r.requester.as_str())
        })
    {
        return Ok(hold(format!(
            "step {:?} was approved by the requester",
            a.step
        )));
    }
    if p.review_required && on(Check::PathReview) {
        if let Some(a) = p.approvals.iter().find(|a| a.admin_override) {
            return Ok(hold(format!(
                "step {:?} was approved by an administrator override on a required review",
                a.step
            )));
        }
    }
    if p.distinct && on(Check::PathReview) {
        let mut seen: Vec<&str> = Vec::new();
        for a in &p.approvals {
            let who = a.on_behalf_of.as_deref().unwrap_or(&a.decider);
            if seen.contains(&who) || seen.contains(&a.decider.as_str()) {
                return Ok(hold(format!(
                    "step {:?} was approved by someone who had already approved another step",
                    a.step
                )));
            }
            seen.push(who);
            seen.push(&a.decider);
        }
    }
    if p.approvals.is_empty() && !r.auto_approval_allowed && on(Check::PathReview) {
        return Ok(hold(format!(
            "the path approved without any person's approval, and governance does not allow automatic approval of {} risk requests",
            r.risk.as_str()
        )));
    }
    if let Some(why) = r
        .data_class_review
        .as_ref()
        .filter(|_| p.approvals.is_empty() && on(Check::PathReview))
    {
        return Ok(hold(format!(
            "the path approved without any person's approval, and {why}"
        )));
    }
    // Approved by the path, but a grant cannot be issued now: denied with the reason rather
    // than left pending with a finished path.
    match approvable(r) {
        Ok(()) => Ok(Permit {
            outcome: Outcome::Approve,
            rule: path_rule(),
            note: None,
        }),
        Err(why) => Ok(Permit {
            outcome: Outcome::Deny,
            rule: path_rule(),
            note: Some(format!(
                "approved by the approval path, but {}",
                why.message()
            )),
        }),
    }
}

/// What a governance path must enforce step by step, decided by the kernel when the path is
/// started (the engine applies it to each step; [`judge`] checks the whole path again when it
/// closes): the requester never decides, a high or critical review admits no administrator
/// override approval, and approvals come from distinct people unless the definition opts out.
pub fn path_requirements(
    requester: &str,
    risk: RiskLevel,
    allow_same_decider: bool,
) -> (Option<String>, bool, bool) {
    (
        on(Check::Beneficiary).then(|| requester.to_string()),
        on(Check::PathReview) && matches!(risk, RiskLevel::High | RiskLevel::Critical),
        on(Check::PathReview) && !allow_same_decider,
    )
}

/// Who benefits from an act on someone's access may not perform it: the grantee of an
/// attestation, the beneficiary of an exception review, the holder of an extension (in person
/// or through a delegate).
pub fn not_beneficiary(
    actor: &Person,
    rule: &Rule,
    beneficiary: &str,
    code: &'static str,
    why: &'static str,
) -> Result<(), Refusal> {
    if on(Check::Beneficiary) && principals(actor, rule).contains(&beneficiary) {
        return Err(Refusal::Beneficiary(code, why));
    }
    Ok(())
}

/// Managing access (extensions, attestations): a direct role, or a Jira administrator whatever
/// admin fallback says.
pub fn manager_rule(person: &Person, approvers: &Approvers) -> Result<Rule, Refusal> {
    match direct_rule(person, approvers) {
        Some(r) => Ok(r),
        None if person.admin || !on(Check::Authority) => Ok(Rule::Admin),
        None => Err(Refusal::NotApprover(
            "only approvers or Jira administrators manage access",
        )),
    }
}

/// Reviewing a governance exception (the second administrator's check): never by its author,
/// never by the person it benefits, and only while it is live.
pub fn judge_exception_review(
    reviewer: &str,
    author: &str,
    beneficiary: &str,
    live: bool,
) -> Result<(), Refusal> {
    if reviewer == beneficiary && on(Check::Beneficiary) {
        return Err(Refusal::Beneficiary(
            "SELF_REVIEW_FORBIDDEN",
            "this exception is for your own access; another administrator reviews it",
        ));
    }
    if reviewer == author {
        return Err(Refusal::Beneficiary(
            "SELF_REVIEW",
            "an exception is reviewed by a different administrator than its author",
        ));
    }
    if !live {
        return Err(Refusal::NotPending(
            "the exception was revoked or has expired; there is nothing to review".into(),
        ));
    }
    Ok(())
}

/// An extension's facts.
#[derive(Debug, Clone)]
pub struct ExtensionFacts {
    pub holder: String,
    pub holder_active: bool,
    pub risk: RiskLevel,
    /// Days of access the decision granted (the reviewed duration).
    pub reviewed_days: u64,
    /// A governance path reviewed the decision.
    pub path_reviewed: bool,
    /// The risk level's maximum (with an active exception's) under the governance version the
    /// grant was decided on.
    pub max_days: u64,
    /// Days from the decision to the new expiry, if the extension is made.
    pub total_days: u64,
}

/// Judges an extension (CL-075…CL-078, issue 30): the manager rules, never the holder, an active
/// account, and the cumulative lifetime since the reviewed decision.
pub fn judge_extension(
    person: &Person,
    approvers: &Approvers,
    f: &ExtensionFacts,
) -> Result<Permit, Refusal> {
    let rule = manager_rule(person, approvers)?;
    not_beneficiary(
        person,
        &rule,
        &f.holder,
        "SELF_EXTENSION_DISABLED",
        "people cannot extend their own access (or that of an approver they stand in for); another approver or an admin extends it",
    )?;
    if !f.holder_active && on(Check::ActiveAccount) {
        return Err(Refusal::AccountInactive);
    }
    if !on(Check::Cumulative) {
        return Ok(Permit {
            outcome: Outcome::Approve,
            rule,
            note: None,
        });
    }
    if f.total_days > f.max_days {
        return Err(Refusal::ExtensionOverLimit(format!(
            "{} risk allows at most {} day(s) of access from the decision; this extension would make {}",
            f.risk.as_str(),
            f.max_days,
            f.total_days
        )));
    }
    if f.path_reviewed && f.total_days > 2 * f.reviewed_days {
        return Err(Refusal::ExtensionNeedsReview {
            allowed_days: 2 * f.reviewed_days,
        });
    }
    Ok(Permit {
        outcome: Outcome::Approve,
        rule,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str) -> Person {
        Person {
            id: id.into(),
            groups: vec![Group {
                name: "ai-approvers".into(),
                group_id: "g-1".into(),
            }],
            admin: false,
        }
    }

    fn approvers() -> Approvers {
        Approvers {
            accounts: vec!["boss".into()],
            groups: vec!["ai-approvers".into()],
            delegates: [("boss".to_string(), vec!["deputy".to_string()])].into(),
            admin_fallback: false,
        }
    }

    fn request(route: RouteFacts) -> RequestFacts {
        RequestFacts {
            issue_key: "AIR-1".into(),
            requester: "req".into(),
            pending: true,
            decision: "pending".into(),
            risk: RiskLevel::High,
            route,
            issue_open: Some(Ok(())),
            requester_active: Some(true),
            blocker: None,
            auto_approval_allowed: false,
            data_class_review: None,
        }
    }

    fn path(status: PathStatus, approvals: Vec<StepApproval>) -> PathFacts {
        PathFacts {
            approval_id: "apr-1".into(),
            definition_id: "security".into(),
            definition_version: 2,
            originator: "app".into(),
            subject: Some("100".into()),
            status,
            approvals,
            distinct: true,
            review_required: true,
        }
    }

    fn pinned() -> RouteFacts {
        RouteFacts::Path {
            approval_id: "apr-1".into(),
            definition_id: "security".into(),
            definition_version: Some(2),
        }
    }

    fn step(s: &str, who: &str) -> StepApproval {
        StepApproval {
            step: s.into(),
            decider: who.into(),
            on_behalf_of: None,
            admin_override: false,
        }
    }

    #[test]
    fn a_group_member_decides_a_direct_request_and_the_rule_names_the_group() {
        let p = person("alice");
        let a = approvers();
        let permit = judge(
            &Act::Decide {
                verdict: Verdict::Approve,
                person: &p,
                approvers: &a,
            },
            &request(RouteFacts::Direct),
        )
        .unwrap();
        assert_eq!(
            permit.rule,
            Rule::ApproverGroup {
                group: "ai-approvers".into(),
                group_id: "g-1".into()
            }
        );
    }

    #[test]
    fn refusals_come_in_a_fixed_order() {
        let a = approvers();
        let outsider = Person {
            groups: vec![],
            ..person("eve")
        };
        let mut r = request(RouteFacts::Direct);
        r.pending = false;
        r.issue_open = Some(Err("closed".into()));
        // No authority comes first, whatever else is wrong (no existence oracle).
        let act = |p| Act::Decide {
            verdict: Verdict::Approve,
            person: p,
            approvers: &a,
        };
        assert_eq!(
            judge(&act(&outsider), &r).unwrap_err().code(),
            "NOT_APPROVER"
        );
        let requester = person("req");
        assert_eq!(
            judge(&act(&requester), &r).unwrap_err().code(),
            "SELF_DECISION_FORBIDDEN"
        );
        let alice = person("alice");
        assert_eq!(
            judge(&act(&alice), &r).unwrap_err().code(),
            "REQUEST_NOT_PENDING"
        );
        r.pending = true;
        assert_eq!(judge(&act(&alice), &r).unwrap_err().code(), "ISSUE_CLOSED");
        r.issue_open = Some(Ok(()));
        r.requester_active = Some(false);
        assert_eq!(
            judge(&act(&alice), &r).unwrap_err().code(),
            "ACCOUNT_INACTIVE"
        );
        r.requester_active = Some(true);
        r.blocker = Some(Blocker::OpenGrant("g-1".into()));
        assert_eq!(
            judge(&act(&alice), &r).unwrap_err().code(),
            "GRANT_CONFLICT"
        );
        // A delegate deciding for the requester is the requester deciding.
        let mut r = request(RouteFacts::Direct);
        r.requester = "boss".into();
        let deputy = Person {
            groups: vec![],
            ..person("deputy")
        };
        assert_eq!(
            judge(&act(&deputy), &r).unwrap_err().code(),
            "SELF_DECISION_FORBIDDEN"
        );
    }

    #[test]
    fn a_person_never_decides_a_routed_held_or_unrouted_request_but_may_deny_held() {
        let a = approvers();
        let alice = person("alice");
        for (route, approve, deny) in [
            (pinned(), Some("PATH_DECIDES"), Some("PATH_DECIDES")),
            (RouteFacts::Held, Some("GOVERNANCE_NOT_READY"), None),
            (RouteFacts::Unrouted, Some("REQUEST_NOT_ROUTED"), None),
        ] {
            let r = request(route);
            for (v, want) in [(Verdict::Approve, approve), (Verdict::Deny, deny)] {
                let got = judge(
                    &Act::Decide {
                        verdict: v,
                        person: &alice,
                        approvers: &a,
                    },
                    &r,
                );
                assert_eq!(got.err().map(|e| e.code()), want);
            }
        }
    }

    #[test]
    fn only_the_pinned_governance_path_decides() {
        let r = request(pinned());
        let ok = path(
            PathStatus::Approved,
            vec![step("lead", "a"), step("sec", "b")],
        );
        fn act(p: &PathFacts) -> Act<'_> {
            Act::PathClosed {
                path: p,
                issue_id: "100",
            }
        }
        assert_eq!(judge(&act(&ok), &r).unwrap().outcome, Outcome::Approve);
        // A hand-started path, another definition, a rewritten definition: advisory.
        for mutate in [
            |p: &mut PathFacts| p.originator = "admin".into(),
            |p: &mut PathFacts| p.definition_id = "automation-only".into(),
            |p: &mut PathFacts| p.definition_version = 3,
            |p: &mut PathFacts| p.approval_id = "apr-2".into(),
            |p: &mut PathFacts| p.subject = Some("101".into()),
        ] {
            let mut p = ok.clone();
            mutate(&mut p);
            assert_eq!(judge(&act(&p), &r).unwrap_err().code(), "PATH_NOT_CURRENT");
        }
        assert_eq!(
            judge(&act(&ok), &request(RouteFacts::Direct))
                .unwrap_err()
                .code(),
            "PATH_NOT_CURRENT"
        );
    }

    #[test]
    fn a_cancelled_or_unsound_governance_path_holds_the_request() {
        let r = request(pinned());
        fn act(p: &PathFacts) -> Act<'_> {
            Act::PathClosed {
                path: p,
                issue_id: "100",
            }
        }
        let held = |p: &PathFacts| matches!(judge(&act(p), &r).unwrap().rule, Rule::Hold { .. });
        assert!(held(&path(PathStatus::Cancelled, vec![])));
        // The requester approved a step; one person approved two steps; an admin override on a
        // required review; no person at all on a high-risk path.
        assert!(held(&path(PathStatus::Approved, vec![step("lead", "req")])));
        assert!(held(&path(
            PathStatus::Approved,
            vec![step("lead", "a"), step("sec", "a")]
        )));
        let mut over = step("sec", "admin");
        over.admin_override = true;
        assert!(held(&path(
            PathStatus::Approved,
            vec![step("lead", "a"), over]
        )));
        assert!(held(&path(PathStatus::Approved, vec![])));
        // The definition opted out of distinct deciders: allowed, and the rule records who.
        let mut same = path(
            PathStatus::Approved,
            vec![step("lead", "a"), step("sec", "a")],
        );
        same.distinct = false;
        assert_eq!(judge(&act(&same), &r).unwrap().outcome, Outcome::Approve);
        // Approved, but the issue is closed now: denied with the reason.
        let mut closed = request(pinned());
        closed.issue_open = Some(Err("AIR-1 is Done".into()));
        let p = judge(
            &act(&path(PathStatus::Approved, vec![step("lead", "a")])),
            &closed,
        )
        .unwrap();
        assert_eq!(p.outcome, Outcome::Deny);
        assert!(p.note.unwrap().contains("AIR-1 is Done"));
    }

    #[test]
    fn auto_approval_only_where_governance_allows_it() {
        let policy = PolicyFacts {
            policy_id: "p".into(),
            policy_version: 1,
            matched_group: None,
        };
        let mut r = request(RouteFacts::Unrouted);
        let act = Act::AutoApprove { policy: &policy };
        assert_eq!(
            judge(&act, &r).unwrap_err().code(),
            "AUTO_APPROVAL_NOT_ALLOWED"
        );
        r.auto_approval_allowed = true;
        assert!(judge(&act, &r).is_ok());
        // Declared data classes outside the tool's profile: a person decides (issue 35).
        r.data_class_review = Some("customer-data is not approved".into());
        assert_eq!(judge(&act, &r).unwrap_err().code(), "DATA_CLASS_REVIEW");
        let direct = Act::Decide {
            verdict: Verdict::Approve,
            person: &person("boss"),
            approvers: &approvers(),
        };
        let mut routed = r.clone();
        routed.route = RouteFacts::Direct;
        assert!(
            judge(&direct, &routed).is_ok(),
            "a person still may approve"
        );
        r.data_class_review = None;
        r.issue_open = Some(Err("closed".into()));
        assert_eq!(judge(&act, &r).unwrap_err().code(), "ISSUE_CLOSED");
    }

    #[test]
    fn extensions_are_cumulative_from_the_reviewed_decision() {
        let a = approvers();
        let alice = person("alice");
        let f = ExtensionFacts {
            holder: "req".into(),
            holder_active: true,
            risk: RiskLevel::High,
            reviewed_days: 14,
            path_reviewed: true,
            max_days: 30,
            total_days: 28,
        };
        assert!(judge_extension(&alice, &a, &f).is_ok());
        let more = ExtensionFacts {
            total_days: 29,
            ..f.clone()
        };
        assert_eq!(
            judge_extension(&alice, &a, &more).unwrap_err().code(),
            "EXTENSION_NEEDS_REVIEW"
        );
        let over = ExtensionFacts {
            total_days: 31,
            path_reviewed: false,
            ..f.clone()
        };
        assert_eq!(
            judge_extension(&alice, &a, &over).unwrap_err().code(),
            "EXTENSION_OVER_POLICY"
        );
        assert_eq!(
            judge_extension(&person("req"), &a, &f).unwrap_err().code(),
            "SELF_EXTENSION_DISABLED"
        );
        let gone = ExtensionFacts {
            holder_active: false,
            ..f
        };
        assert_eq!(
            judge_extension(&alice, &a, &gone).unwrap_err().code(),
            "ACCOUNT_INACTIVE"
        );
    }
}
