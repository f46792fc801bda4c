//! What the kernel judges from: read here, from storage and Jira, by the code that changes state
//! (never from a resolver's payload). Each reader is one call or a part of a batch the caller
//! already makes.

use super::governance::Governance;
use super::kernel::{Approvers, Group, PathFacts, PathStatus, Person, RouteFacts, StepApproval};
use crate::approvals::model::{Approval, ApprovalStatus, Verdict as StepVerdict};
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::intake::config::ApprovalSettings;
use crate::jira::{Jira, JiraError};
use crate::requests::{Request, RouteKind};
use crate::storage::Store;
use serde_json::Value;

/// The acting person: their groups (with ids) and whether they are a Jira administrator.
pub fn person(host: &dyn Host, who: &str) -> AppResult<Person> {
    let cached =
        crate::storage::Store::new(host).get_raw(&crate::storage::keys::access_cache(who))?;
    person_from(host, who, cached.as_deref())
}

/// [`person`] with the caller's admin-cache record already read (batched with other reads).
pub fn person_from(host: &dyn Host, who: &str, cached_access: Option<&str>) -> AppResult<Person> {
    let groups = Jira::new(host)
        .user_group_ids(who)
        .map_err(AppError::from)?
        .into_iter()
        .map(|(name, group_id)| Group { name, group_id })
        .collect();
    Ok(Person {
        id: who.to_string(),
        groups,
        admin: crate::access::is_admin_from(host, who, cached_access)?,
    })
}

pub fn approvers_of(s: &ApprovalSettings) -> Approvers {
    Approvers {
        accounts: s.approver_account_ids.clone(),
        groups: s.approver_groups.clone(),
        delegates: s.delegates.clone(),
        admin_fallback: s.admin_fallback,
    }
}

/// Intake & Approvals' approvers (none configured: admins under fallback).
pub fn approvers(store: Store<'_>) -> AppResult<Approvers> {
    let s = crate::intake::config::load(store)?
        .map(|c| c.approvals)
        .unwrap_or_default();
    Ok(approvers_of(&s))
}

/// Decodes governance as read (the defaults when none was ever saved).
pub fn governance_from(key: &str, text: Option<&String>) -> AppResult<Governance> {
    Ok(match text {
        Some(t) => crate::storage::decode(key, t)?,
        None => Governance::default(),
    })
}

pub fn route(r: &Request) -> RouteFacts {
    match &r.route {
        None => RouteFacts::Unrouted,
        Some(x) => match x.kind {
            RouteKind::Direct => RouteFacts::Direct,
            RouteKind::Held => RouteFacts::Held,
            RouteKind::Path => RouteFacts::Path {
                approval_id: x.approval_id.clone().unwrap_or_default(),
                definition_id: x.definition_id.clone().unwrap_or_default(),
                definition_version: x.definition_version,
            },
        },
    }
}

/// A closed (or running) path as the kernel sees it.
pub fn path(a: &Approval) -> PathFacts {
    let status = match a.status {
        ApprovalStatus::Approved => PathStatus::Approved,
        ApprovalStatus::Rejected => PathStatus::Rejected,
        ApprovalStatus::Expired => PathStatus::Expired,
        ApprovalStatus::Cancelled | ApprovalStatus::Running => PathStatus::Cancelled,
    };
    let approvals = a
        .steps
        .iter()
        .flat_map(|s| {
            s.decisions
                .iter()
                .filter(|d| d.decision == StepVerdict::Approve)
                .map(move |d| StepApproval {
                    step: s.name.clone(),
                    decider: d.decider.clone(),
                    on_behalf_of: d.on_behalf_of.clone(),
                    admin_override: d.admin_override,
                })
        })
        .collect();
    PathFacts {
        approval_id: a.id.clone(),
        definition_id: a.definition_id.clone(),
        definition_version: u64::from(a.definition_version),
        originator: a.originator.clone(),
        subject: a.link.as_ref().map(|l| l.subject.clone()),
        status,
        approvals,
        distinct: a.distinct_deciders,
        review_required: a.governance_review,
    }
}

/// Whether the issue is open in Jira (`Err(why)` when it is done or gone), and whether the
/// requester's account is active: one issue read (the reporter's `active` comes with it), plus
/// a user read when the requester is not the reporter. `known` is an issue already read this
/// invocation (intake's).
pub fn world(
    host: &dyn Host,
    r: &Request,
    known: Option<&Value>,
) -> AppResult<(Result<(), String>, bool)> {
    let issue = match known {
        Some(v) => Some(v.clone()),
        None => match Jira::new(host).issue(&r.issue_key, &["status", "reporter"], &[]) {
            Ok(v) => Some(v),
            Err(JiraError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let Some(issue) = issue else {
        let why = format!(
            "{} no longer exists in Jira; it cannot be approved",
            r.issue_key
        );
        return Ok((Err(why), account_active(host, &r.requester_account_id)?));
    };
    let open = if issue
        .pointer("/fields/status/statusCategory/key")
        .and_then(Value::as_str)
        == Some("done")
    {
        let name = issue
            .pointer("/fields/status/name")
            .and_then(Value::as_str)
            .unwrap_or("done");
        Err(format!(
            "{} is {name} in Jira; a closed request cannot be approved",
            r.issue_key
        ))
    } else {
        Ok(())
    };
    let reporter = issue.pointer("/fields/reporter");
    let active = match reporter {
        Some(u) if u["accountId"].as_str() == Some(r.requester_account_id.as_str()) => {
            u["active"].as_bool().unwrap_or(true)
        }
        _ => account_active(host, &r.requester_account_id)?,
    };
    Ok((open, active))
}

/// Jira knows the account and it is active.
pub fn account_active(host: &dyn Host, account_id: &str) -> AppResult<bool> {
    Ok(Jira::new(host)
        .user(account_id)
        .map_err(AppError::from)?
        .is_some_and(|u| u.active))
}
