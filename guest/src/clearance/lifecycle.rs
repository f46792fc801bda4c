//! Changing a grant after it exists (spec §9 D, §10): extend, revoke, and the job runner's
//! expiry of overdue grants. Each change is one transaction: the grant (conditioned on what was
//! read), its indexes, any provisioning job it needs, and its audit entry.

use super::facts;
use super::grants::{self, Grant, GrantStatus};
use super::jobs::{self, JobKind};
use super::kernel::{self, ExtensionFacts, Person, Rule};
use super::notices::{self, Notice};
use crate::audit::{self, AuditDraft};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::requests::DecisionSource;
use crate::storage::{keys, StorageError, Store, Tx};
use serde_json::{json, Value};

fn load(store: Store<'_>, id: &str) -> AppResult<(Grant, String)> {
    let key = keys::grant(id);
    if id.is_empty() || crate::storage::check_key(&key).is_err() {
        return Err(AppError::not_found("GRANT_NOT_FOUND", "no such grant"));
    }
    let raw = store
        .get_raw(&key)?
        .ok_or_else(|| AppError::not_found("GRANT_NOT_FOUND", "no such grant"))?;
    Ok((crate::storage::decode(&key, &raw)?, raw))
}

/// Commits `before → after` with `drafts`; `more` stages extra writes (e.g. a job).
fn commit(
    store: Store<'_>,
    before: &Grant,
    raw: &str,
    after: &Grant,
    drafts: &[AuditDraft],
    more: &dyn Fn(&mut Tx<'_>) -> crate::storage::StorageResult<()>,
) -> Result<(), StorageError> {
    let mac = audit::mac_key(store, None)?;
    audit::commit_with_audit(store, &mac, None, drafts, |tx| {
        tx.set_if_current(&keys::grant(&after.id), after, Some(raw))?;
        grants::stage_indexes(tx, Some(before), after)?;
        more(tx)
    })
    .map(|_| ())
}

fn draft(kind: &str, who: &str, g: &Grant, from: GrantStatus, extra: Value) -> AuditDraft {
    let mut d = AuditDraft::new(kind, who);
    d.issue_key = Some(g.issue_key.clone());
    d.subject = json!({"grantId": g.id, "accountId": g.account_id});
    let mut data = json!({"grantId": g.id, "toolId": g.tool_key, "riskLevel": g.risk_level,
                          "fromStatus": from.as_str(), "toStatus": g.status.as_str()});
    if let (Some(o), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    d.data = data;
    d
}

/// Grants are managed by the configured approvers (and their delegates) and Jira admins; an open
/// task on one approval path is not enough to change other people's access (the kernel's
/// manager rule).
fn require_manager(host: &dyn Host, who: &str) -> AppResult<(Person, Rule)> {
    let person = facts::person(host, who)?;
    let rule = kernel::manager_rule(&person, &facts::approvers(Store::new(host))?)?;
    Ok((person, rule))
}

/// The kernel's facts of an extension to `to_ms`: the holder's account, and the lifetime since
/// the reviewed decision against today's risk maximum (or an active exception's) and, for a
/// path-reviewed grant, the reviewed duration (D-67, D-132).
fn extension_facts(host: &dyn Host, g: &Grant, to_ms: u64) -> AppResult<ExtensionFacts> {
    let store = Store::new(host);
    let (gov, _) = super::governance::load(store)?;
    let risk = g.risk_level;
    let index = store.get_raw(&keys::governance_exception_by_subject(
        &g.tool_key,
        &g.account_id,
    ))?;
    let exception_max = super::governance::exception_max_days(store, index.as_deref())?;
    let max = u64::from(gov.max_days_for(risk, exception_max));
    let granted = crate::time::parse(&g.granted_at).unwrap_or(0);
    Ok(ExtensionFacts {
        holder: g.account_id.clone(),
        holder_active: facts::account_active(host, &g.account_id)?,
        risk,
        reviewed_days: u64::from(g.duration_days),
        path_reviewed: g.path_reviewed || g.decision_source == DecisionSource::ApprovalPath,
        max_days: max,
        total_days: to_ms.saturating_sub(granted).div_ceil(grants::DAY_MS),
    })
}

/// Extends a grant (approvers and admins; never the holder). An expired grant inside its grace
/// window comes back as `pendingProvision` with a new provision job.
pub fn extend(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let id = p.get("grantId").and_then(Value::as_str).unwrap_or("");
    let days = p
        .get("days")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(10_000) as u32;
    let reason = p
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(500)
        .collect::<String>();
    // Authorise before looking up: a missing and an existing grant answer alike to someone who
    // may not manage grants, so grant ids cannot be probed.
    let (person, _) = require_manager(host, who)?;
    crate::ratelimit::take(store, crate::ratelimit::DECISIONS, who)?;
    let approvers = facts::approvers(store)?;
    for _ in 0..4 {
        let (g, raw) = load(store, id)?;
        let now = host.now_ms();
        let to = grants::plan_extension(&g, who, days, now)?;
        // The kernel judges the extension as a whole: who, for whom, and how long in all.
        let permit = kernel::judge_extension(&person, &approvers, &extension_facts(host, &g, to)?)?;
        let mut after = g.clone();
        after.extensions.push(grants::Extension {
            by: who.into(),
            at: crate::time::rfc3339(now),
            days,
            from_expires_at: g.expires_at.clone(),
            to_expires_at: crate::time::rfc3339(to),
            reason: reason.clone(),
        });
        after.expires_at = crate::time::rfc3339(to);
        let reactivate = g.status == GrantStatus::Expired;
        if reactivate {
            after.set_status(GrantStatus::PendingProvision, &crate::time::rfc3339(now));
            after.ended_at = None;
        }
        let kind = if reactivate {
            "grant_reactivated"
        } else {
            "grant_extended"
        };
        let d = draft(
            kind,
            who,
            &after,
            g.status,
            json!({"days": days, "expiresAt": after.expires_at, "rule": permit.rule.to_json()}),
        );
        // Reopened in its grace window: the access it still has must not be taken away.
        let cancel = if reactivate {
            jobs::open_of(store, &g.id, JobKind::Deprovision)?
        } else {
            None
        };
        let mut drafts = vec![d];
        drafts.extend(
            cancel
                .as_ref()
                .map(|(j, _)| jobs::cancel_draft(j, "GRANT_REOPENED", who)),
        );
        // Access must be provisioned again — unless a provision job is still open for it.
        let needs_job = reactivate
            && store
                .get_raw(&keys::job_open(&g.id, "provision"))?
                .is_none();
        let job = needs_job.then(|| format!("{}.provision.{}", g.id, g.jobs_created + 1));
        if needs_job {
            after.jobs_created += 1;
        }
        let notice = Notice::for_grant(
            &after,
            if reactivate {
                "reactivated"
            } else {
                "extended"
            },
            now,
            (!reason.is_empty()).then(|| format!("Reason: {reason}")),
        );
        let res = commit(store, &g, &raw, &after, &drafts, &|tx| {
            notices::stage(tx, &notice)?;
            if let Some(open) = &cancel {
                jobs::stage_cancel(tx, open, "GRANT_REOPENED", now)?;
            }
            if needs_job {
                let mut gg = g.clone();
                jobs::stage_new(tx, &mut gg, JobKind::Provision, now)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                notices::push(host, &notice.id);
                if let Some(j) = &job {
                    jobs::push(host, std::slice::from_ref(j));
                }
                return Ok(json!({"grantId": g.id, "status": after.status.as_str(),
                                 "expiresAt": after.expires_at, "jobId": job,
                                 "cancelledJobId": cancel.as_ref().map(|(j, _)| j.id.clone())}));
            }
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "GRANT_BUSY",
        "the grant changed; try again",
    ))
}

/// Revokes an open grant and queues a deprovision job unless one is already open (CL-077).
/// Revoking a revoked grant changes nothing and says so.
pub fn revoke(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    require_manager(host, who)?;
    crate::ratelimit::take(Store::new(host), crate::ratelimit::DECISIONS, who)?;
    let id = p.get("grantId").and_then(Value::as_str).unwrap_or("");
    let reason = p
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(500)
        .collect::<String>();
    end(host, id, GrantStatus::Revoked, who, Some(reason))
}

/// Ends a grant as `expired` or `revoked`, with a deprovision job unless one is open.
fn end(
    host: &dyn Host,
    id: &str,
    to: GrantStatus,
    who: &str,
    reason: Option<String>,
) -> AppResult<Value> {
    let store = Store::new(host);
    for _ in 0..4 {
        let (g, raw) = load(store, id)?;
        let now = host.now_ms();
        let already = match (to, g.status) {
            (GrantStatus::Revoked, GrantStatus::Revoked) => true,
            (GrantStatus::Expired, s) => !s.is_open(),
            _ => false,
        };
        if already {
            return Ok(json!({"grantId": g.id, "status": g.status.as_str(), "changed": false}));
        }
        // Revoking an expired grant closes its grace window; access is already being removed.
        let needs_job = g.status.is_open()
            && store
                .get_raw(&keys::job_open(&g.id, "deprovision"))?
                .is_none();
        let mut after = g.clone();
        after.set_status(to, &crate::time::rfc3339(now));
        after.ended_at = Some(crate::time::rfc3339(now));
        if to == GrantStatus::Revoked {
            after.revoked_by = Some(who.to_string());
            after.revoke_reason = reason.clone();
        }
        let kind = if to == GrantStatus::Revoked {
            "grant_revoked"
        } else {
            "grant_expired"
        };
        let mut drafts = vec![draft(
            kind,
            who,
            &after,
            g.status,
            json!({"reason": reason}),
        )];
        let job_id = needs_job.then(|| format!("{}.deprovision.{}", g.id, g.jobs_created + 1));
        if let Some(j) = &job_id {
            let mut d = AuditDraft::new("provisioning_job_queued", "app");
            d.issue_key = Some(g.issue_key.clone());
            d.subject = json!({"jobId": j, "grantId": g.id});
            d.data = json!({"kind": "deprovision"});
            drafts.push(d);
        }
        if needs_job {
            after.jobs_created += 1;
        }
        // A grant that ends is not provisioned any more (nor offered as "Mark fulfilled").
        let cancel = if g.status.is_open() {
            jobs::open_of(store, &g.id, JobKind::Provision)?
        } else {
            None
        };
        let why = if to == GrantStatus::Revoked {
            "GRANT_REVOKED"
        } else {
            "GRANT_EXPIRED"
        };
        drafts.extend(
            cancel
                .as_ref()
                .map(|(j, _)| jobs::cancel_draft(j, why, who)),
        );
        let notice = Notice::for_grant(
            &after,
            if to == GrantStatus::Revoked {
                "revoked"
            } else {
                "expired"
            },
            now,
            reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!("Reason: {r}")),
        );
        let res = commit(store, &g, &raw, &after, &drafts, &|tx| {
            notices::stage(tx, &notice)?;
            if let Some(open) = &cancel {
                jobs::stage_cancel(tx, open, why, now)?;
            }
            if needs_job {
                let mut gg = g.clone();
                jobs::stage_new(tx, &mut gg, JobKind::Deprovision, now)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                notices::push(host, &notice.id);
                if let Some(j) = &job_id {
                    jobs::push(host, std::slice::from_ref(j));
                }
                host.log(
                    Level::Info,
                    &format!("grant {}: {} → {}", g.id, g.status.as_str(), to.as_str()),
                );
                return Ok(
                    json!({"grantId": g.id, "status": to.as_str(), "changed": true, "deprovisionJobId": job_id,
                           "cancelledJobId": cancel.as_ref().map(|(j, _)| j.id.clone())}),
                );
            }
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "GRANT_BUSY",
        "the grant changed; try again",
    ))
}

/// Job runner: grants past their expiry, read from the expiry index only (cost grows with the
/// due grants, not with all grants). Bounded per run; the next run continues.
pub fn expire_due(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let mut n = 0;
    for (k, id) in store.due::<String>(keys::GRANT_EXPIRY_PREFIX, host.now_ms(), budget)? {
        if host.remaining_ms() < 5_000 {
            break;
        }
        match end(host, &id, GrantStatus::Expired, "app", None) {
            Ok(v) if v["changed"] == true => n += 1,
            // Already ended (or gone): an entry its grant no longer points at is dropped, or
            // every run would find it due again.
            Ok(_) => store.delete(&k)?,
            Err(e) if e.code == "GRANT_NOT_FOUND" => store.delete(&k)?,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Open grants of deactivated Jira accounts are revoked (issue 30): the daily pass reads the
/// open-grant index, asks Jira about up to 50 accounts a call, and revokes, as the app and
/// audited, what a deactivated account still holds. Bounded by `max` grants a run; an account
/// Jira no longer returns at all is checked once more on its own before it counts as gone.
pub fn revoke_inactive(host: &dyn Host, max: usize) -> AppResult<u64> {
    if !kernel::enforced(kernel::Check::ActiveAccount) {
        return Ok(0);
    }
    let store = Store::new(host);
    let open = store.scan::<String>(keys::GRANT_OPEN_PREFIX, max)?;
    let mut by_account: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (k, grant_id) in open {
        // `<account>:<tool>`: account ids may hold colons (`712020:…`), tool keys never do.
        let account = k[keys::GRANT_OPEN_PREFIX.len()..]
            .rsplit_once(':')
            .map_or("", |(a, _)| a)
            .to_string();
        by_account.entry(account).or_default().push(grant_id);
    }
    let accounts: Vec<String> = by_account.keys().cloned().collect();
    let mut revoked = 0;
    for chunk in accounts.chunks(crate::jira::MAX_BULK_USERS) {
        if host.remaining_ms() < 30_000 {
            break;
        }
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let seen = crate::jira::Jira::new(host)
            .active_accounts(&ids)
            .map_err(AppError::from)?;
        for a in chunk {
            let active = match seen.get(a) {
                Some(x) => *x,
                None => facts::account_active(host, a)?,
            };
            if active {
                continue;
            }
            for g in &by_account[a] {
                match end(
                    host,
                    g,
                    GrantStatus::Revoked,
                    "app",
                    Some("the Jira account was deactivated".into()),
                ) {
                    Ok(_) => revoked += 1,
                    Err(e) if e.code == "GRANT_NOT_FOUND" => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    if revoked > 0 {
        host.log(
            Level::Info,
            &format!("{revoked} grant(s) of deactivated accounts revoked"),
        );
    }
    Ok(revoked)
}
