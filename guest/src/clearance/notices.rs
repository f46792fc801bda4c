//! What a decision tells the Jira issue (spec §7.2, §9 A–C): an ADF comment and, where the
//! workflow offers one, the approve or deny transition.
//!
//! The notice is written with the decision (same transaction) and run from the `decisions`
//! queue, so a slow or failing Jira never blocks or undoes a decision (A-CL-16: best effort; the
//! decision holds). Idempotent: the comment carries the entity property `aiclearance.notice` with
//! the notice id, checked before posting again; the transition is only attempted while the
//! notice record exists and is deleted after.

use super::grants::{Grant, GrantStatus};
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::jira::{Jira, JiraError};
use crate::requests::{Decision, Request};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const QUEUE: &str = "decisions";
pub const PROPERTY: &str = "aiclearance.notice";

/// Transition names tried on approval (§9 A), case-insensitive.
pub const APPROVE_TRANSITIONS: &[&str] = &["approve", "approved", "accept", "accepted"];
/// Transition names tried on denial (§9 B, "cancel variants": docs/decisions.md A-CL-09).
pub const DENY_TRANSITIONS: &[&str] = &[
    "deny",
    "denied",
    "decline",
    "declined",
    "reject",
    "rejected",
    "cancel",
    "cancelled",
    "canceled",
    "cancel request",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub id: String,
    pub issue_key: String,
    pub heading: String,
    pub lines: Vec<String>,
    pub transitions: Vec<String>,
    #[serde(default)]
    pub comment_done: bool,
    /// People the comment @-mentions (Jira notifies them): escalation targets, the grantee.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// Agents only (escalations): the requester does not see it on the portal (D-100).
    #[serde(default, skip_serializing_if = "is_public")]
    pub visibility: crate::jira::Visibility,
    /// A decision's notice (`<issueId>.<decision>`): its request left pending, and the
    /// overview's counter learns it when the notice is done (`pending_count`, D-250).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaves_pending: bool,
}

fn is_public(v: &crate::jira::Visibility) -> bool {
    *v == crate::jira::Visibility::Public
}

impl Notice {
    pub fn for_decision(r: &Request, grant: Option<&Grant>, evidence: &Value) -> Notice {
        let auto = r.decision_source == Some(crate::requests::DecisionSource::AutoPolicy);
        let tool = r.tool_name();
        let (heading, transitions) = match r.decision {
            Decision::Approved if auto => {
                ("AI Clearance: access auto-approved", APPROVE_TRANSITIONS)
            }
            Decision::Approved => ("AI Clearance: access approved", APPROVE_TRANSITIONS),
            _ if r.decision_source == Some(crate::requests::DecisionSource::DecisionDeadline) => {
                ("AI Clearance: request expired undecided", DENY_TRANSITIONS)
            }
            _ => ("AI Clearance: request denied", DENY_TRANSITIONS),
        };
        let mut lines = vec![format!("Tool: {tool}")];
        if let Some(g) = grant {
            lines.push(format!(
                "Access: {} days, until {} ({})",
                g.duration_days,
                crate::time::day(g.expires_ms()),
                match g.status {
                    GrantStatus::PendingProvision => "waiting to be provisioned",
                    GrantStatus::Active => "active",
                    GrantStatus::Expired => "expired",
                    GrantStatus::Revoked => "revoked",
                }
            ));
            // Approved with conditions (issue 35): the requester reads them where they read
            // the approval.
            if !g.conditions.is_empty() {
                lines.push(format!("Conditions: {}", g.conditions.join("; ")));
            }
            if let Some(c) = g.capped_from_days {
                lines.push(format!(
                    "{c} days were requested; governance allows {}",
                    g.duration_days
                ));
            }
            lines.push(match &g.connector_id {
                Some(c) => format!("Provisioning: queued through connector {c}"),
                None => "Provisioning: manual; an approver confirms when access is in place".into(),
            });
        }
        if auto {
            let p = |k: &str| {
                evidence
                    .pointer(k)
                    .map(|v| v.to_string().trim_matches('"').to_string())
            };
            lines.push(format!(
                "Evidence: policy {} (version {}), requester in group {}, {} days requested{}",
                p("/policyId").unwrap_or_default(),
                p("/policyVersion").unwrap_or_default(),
                p("/matchedGroup").unwrap_or_default(),
                r.duration_days,
                match evidence.pointer("/maxDays").and_then(Value::as_u64) {
                    Some(m) => format!(" (policy maximum {m})"),
                    None => " (no policy maximum)".into(),
                }
            ));
        }
        if let Some(n) = &r.decision_note {
            lines.push(format!("Note: {n}"));
        }
        if let Some(v) = r.policy_version {
            lines.push(format!("Governance version: {v}"));
        }
        Notice {
            id: format!("{}.{}", r.issue_id, r.decision.as_str()),
            issue_key: r.issue_key.clone(),
            heading: heading.into(),
            lines,
            transitions: transitions.iter().map(|s| s.to_string()).collect(),
            comment_done: false,
            mentions: Vec::new(),
            visibility: crate::jira::Visibility::Public,
            leaves_pending: true,
        }
    }

    /// A grant lifecycle comment for the requester (issue 20 "Requesters hear about it"):
    /// `activated`, `extended`, `reactivated`, `revoked` or `expired`. Comment only (no
    /// transition); `at_ms` makes each event its own notice.
    pub fn for_grant(g: &Grant, event: &str, at_ms: u64, extra: Option<String>) -> Notice {
        let heading = match event {
            "activated" => "AI Clearance: your access is active",
            "extended" => "AI Clearance: your access was extended",
            "reactivated" => "AI Clearance: your access was restored",
            "revoked" => "AI Clearance: your access was revoked",
            _ => "AI Clearance: your access has expired",
        };
        let mut lines = vec![format!("Tool: {}", g.tool_name)];
        match event {
            "activated" | "extended" | "reactivated" => {
                lines.push(format!("Access until {}", crate::time::day(g.expires_ms())))
            }
            "revoked" => lines.push("Access is being removed now.".into()),
            _ => lines.push(format!(
                "Access ended on {}. An approver can still extend it for {} days; after that, request it again.",
                crate::time::day(g.expires_ms()),
                super::grants::GRACE_DAYS
            )),
        }
        lines.extend(extra);
        Notice {
            id: format!("{}.{event}.{at_ms}", g.id),
            issue_key: g.issue_key.clone(),
            heading: heading.into(),
            lines,
            transitions: Vec::new(),
            comment_done: false,
            mentions: vec![g.account_id.clone()],
            visibility: crate::jira::Visibility::Public,
            leaves_pending: false,
        }
    }

    /// Why intake refused a snapshot and what the requester can do (issue 20).
    pub fn for_rejection(issue_id: &str, issue_key: &str, code: &str, message: &str) -> Notice {
        let todo = match code {
            "TOOL_UNKNOWN" | "TOOL_NOT_REQUESTABLE" | "UNKNOWN_TOOL_BLOCKED" => {
                "Create a new request for one of the approved tools (AI Clearance → Approved Tools), or ask an admin to assess this tool first."
            }
            "DURATION_TOO_LONG" | "DURATION_INVALID" => {
                "Create a new request with a duration within the limit shown above."
            }
            "WRONG_PORTAL" | "REQUEST_TYPE_NOT_ALLOWED" | "NOT_A_PORTAL_REQUEST" => {
                "Create the request from the AI tool request form of the AI access portal."
            }
            _ => "Create the request again from the portal form and choose the tool and duration there.",
        };
        Notice {
            id: format!("{issue_id}.rejected"),
            issue_key: issue_key.into(),
            heading: "AI Clearance: this request was not accepted".into(),
            lines: vec![format!("Why: {message}"), format!("What to do: {todo}")],
            transitions: Vec::new(),
            comment_done: false,
            mentions: Vec::new(),
            visibility: crate::jira::Visibility::Public,
            leaves_pending: false,
        }
    }

    pub fn adf(&self) -> Value {
        let mut content = vec![json!({"type": "paragraph", "content": [
            {"type": "text", "text": self.heading, "marks": [{"type": "strong"}]}]})];
        content.push(json!({"type": "bulletList", "content": self.lines.iter().map(|l| json!({
            "type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": l}]}]
        })).collect::<Vec<_>>()}));
        if !self.mentions.is_empty() {
            let mut para = Vec::new();
            for (i, m) in self.mentions.iter().enumerate() {
                if i > 0 {
                    para.push(json!({"type": "text", "text": " "}));
                }
                para.push(json!({"type": "mention", "attrs": {"id": m}}));
            }
            content.push(json!({"type": "paragraph", "content": para}));
        }
        json!({"type": "doc", "version": 1, "content": content})
    }
}

/// Stages a notice in the transaction of the change it tells about (run after the commit).
pub fn stage(tx: &mut crate::storage::Tx<'_>, n: &Notice) -> crate::storage::StorageResult<()> {
    tx.set(&keys::decision_notice(&n.id), n)?;
    Ok(())
}

pub fn push(host: &dyn Host, id: &str) {
    if let Err(e) = host.queue_push(QUEUE, &[json!({"noticeId": id}).to_string()], 0) {
        host.log(
            Level::Warn,
            &format!("notice {id} not queued ({e}); the sweep will"),
        );
    }
}

/// How long a delivery holds a notice; a second delivery meanwhile comes back after it.
pub const CLAIM_TTL_S: u64 = 90;

/// Queue consumer: comment (once), then the transition, then forget the notice.
///
/// Two deliveries of one notice can run at once (the sweep's requeue and the original event,
/// or the platform's duplicate): checking the comments and posting is not atomic, so only the
/// delivery holding the notice's claim does it; the other comes back later and finds the work
/// done. A holder that dies frees the claim when its TTL runs out.
pub fn run(host: &dyn Host, id: &str) -> AppResult<Option<u32>> {
    let store = Store::new(host);
    let key = keys::decision_notice(id);
    if store.get_raw(&key)?.is_none() {
        return Ok(None);
    }
    let claim = keys::notice_claim(id);
    if let Some(wait) = crate::storage::lease::take(store, &claim, CLAIM_TTL_S, host.now_ms())? {
        return Ok(Some(wait));
    }
    let outcome = run_claimed(host, &store, id, &key);
    if let Ok(Some(_)) | Err(_) = &outcome {
        // Coming back later (or failing): let the next delivery in at once.
        crate::storage::lease::give_back(store, &claim);
    }
    outcome
}

fn run_claimed(host: &dyn Host, store: &Store<'_>, id: &str, key: &str) -> AppResult<Option<u32>> {
    let claim = keys::notice_claim(id);
    let key = key.to_string();
    // Read under the claim: a delivery that held it before may have finished the comment.
    let Some(raw) = store.get_raw(&key)? else {
        store.delete(&claim)?;
        return Ok(None);
    };
    let mut n: Notice = crate::storage::decode(&key, &raw)?;
    let jira = Jira::new(host);
    let retry = |e: &JiraError| -> Option<u32> {
        match e {
            JiraError::RateLimited { retry_after_s } => Some((*retry_after_s).clamp(1, 900)),
            e if e.is_transient() => Some(60),
            _ => None,
        }
    };
    if !n.comment_done {
        let posted = match jira.comments_with_properties(&n.issue_key) {
            Ok(cs) => cs.iter().any(|c| {
                c.get("properties")
                    .and_then(Value::as_array)
                    .is_some_and(|ps| {
                        ps.iter()
                            .any(|p| p["key"] == PROPERTY && p["value"] == json!(n.id))
                    })
            }),
            Err(e) => match retry(&e) {
                Some(s) => return Ok(Some(s)),
                None => false,
            },
        };
        if !posted {
            if let Err(e) = jira.add_comment_with_property(
                &n.issue_key,
                n.adf(),
                PROPERTY,
                json!(n.id),
                n.visibility,
            ) {
                if let Some(s) = retry(&e) {
                    return Ok(Some(s));
                }
                host.log(
                    Level::Warn,
                    &format!("notice {id}: comment not added to {} ({e})", n.issue_key),
                );
            }
        }
        n.comment_done = true;
        // Conditioned on the text read: a delivery whose claim ran out while another finished
        // (and deleted) the notice must not bring it back (its leaving-pending delta would
        // count twice, D-250). Still one host call.
        let mut tx = store.tx();
        tx.set_if_current(&key, &n, Some(&raw))?;
        match tx.commit() {
            Ok(()) => {}
            Err(crate::storage::StorageError::Conflict(_)) => {
                store.delete(&claim)?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    if n.transitions.is_empty() {
        forget(store, &key, &claim, &n)?;
        return Ok(None);
    }
    let names: Vec<&str> = n.transitions.iter().map(String::as_str).collect();
    match jira.transition_named(&n.issue_key, &names) {
        Ok(Some(t)) => host.log(
            Level::Info,
            &format!("notice {id}: {} transitioned ({t})", n.issue_key),
        ),
        Ok(None) => host.log(
            Level::Info,
            &format!(
                "notice {id}: {} has no matching transition; the decision stands",
                n.issue_key
            ),
        ),
        Err(e) => {
            if let Some(s) = retry(&e) {
                return Ok(Some(s));
            }
            host.log(
                Level::Warn,
                &format!("notice {id}: transition failed on {} ({e})", n.issue_key),
            );
        }
    }
    forget(store, &key, &claim, &n)?;
    Ok(None)
}

/// The notice is done: drop it and its claim together (a decision's notice hands its request's
/// leaving pending to the overview's counter in the same transaction, D-250).
fn forget(store: &Store<'_>, key: &str, claim: &str, n: &Notice) -> AppResult<()> {
    let mut tx = store.tx();
    tx.delete(key)?;
    tx.delete(claim)?;
    if n.leaves_pending {
        let issue_id = n.id.rsplit_once('.').map_or(n.id.as_str(), |(i, _)| i);
        tx.set(&keys::pending_delta(issue_id, "out"), &-1i64)?;
    }
    tx.commit()?;
    Ok(())
}

/// Notices whose queue event was lost (bounded; called by the sweeps).
pub fn requeue_stale(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let stale = store.scan::<Notice>(keys::DECISION_NOTICE_PREFIX, budget)?;
    let ids: Vec<String> = stale
        .iter()
        .map(|(_, n)| json!({"noticeId": n.id}).to_string())
        .collect();
    // A push holds at most 50 events (Forge).
    for chunk in ids.chunks(50) {
        host.queue_push(QUEUE, chunk, 0)?;
    }
    Ok(ids.len() as u32)
}
