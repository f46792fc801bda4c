//! Provisioning jobs (spec §8): provision / deprovision / check, queued on approval, revoke and
//! expiry. A job for a tool without a connector (the manual path) moves to `manualPending` until an
//! approver marks it done from the Approvals tab (§5.4); "Mark fulfilled" on a provision job makes
//! the grant `active`. Jobs are written in the same transaction as the decision that needs them
//! and pushed to the `provisioning` queue after the commit; the hourly job runner picks up any job
//! whose push was lost (its `provisioning-job-due:` key is still there).

use super::grants::{self, Grant, GrantStatus};
use crate::audit::{self, AuditDraft};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation, Level};
use crate::storage::{keys, StorageError, StorageResult, Store, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const QUEUE: &str = "provisioning";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobKind {
    Provision,
    Deprovision,
    Check,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Provision => "provision",
            JobKind::Deprovision => "deprovision",
            JobKind::Check => "check",
        }
    }
    /// The Approvals tab's completion button for this kind (§5.4).
    pub fn completion(self) -> &'static str {
        match self {
            JobKind::Provision => "fulfilled",
            JobKind::Deprovision => "deprovisioned",
            JobKind::Check => "verified",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobStatus {
    Queued,
    Retrying,
    ManualPending,
    Succeeded,
    DeadLetter,
    /// A provision job whose grant ended before it ran.
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Retrying => "retrying",
            JobStatus::ManualPending => "manualPending",
            JobStatus::Succeeded => "succeeded",
            JobStatus::DeadLetter => "deadLetter",
            JobStatus::Cancelled => "cancelled",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::DeadLetter | JobStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub grant_id: String,
    pub issue_key: String,
    pub account_id: String,
    pub tool_key: String,
    pub tool_name: String,
    pub kind: JobKind,
    pub status: JobStatus,
    /// `manual`, or the connector id the tool is bound to.
    pub connector: String,
    pub attempts: u32,
    pub due_at: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub completed_by: Option<String>,
    /// The entitlement group the job acted on (connected jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Why a connected job is waiting without calling Core (connected mode's preconditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// What a successful connected job found or changed (`applied`, or a check's `inSync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// A new job for `g`, staged in `tx` with its indexes. Bumps `g.jobs_created` (part of the id,
/// so a retried commit of the same decision produces the same job id).
pub fn stage_new(tx: &mut Tx<'_>, g: &mut Grant, kind: JobKind, now_ms: u64) -> StorageResult<Job> {
    g.jobs_created += 1;
    let job = Job {
        id: format!("{}.{}.{}", g.id, kind.as_str(), g.jobs_created),
        grant_id: g.id.clone(),
        issue_key: g.issue_key.clone(),
        account_id: g.account_id.clone(),
        tool_key: g.tool_key.clone(),
        tool_name: g.tool_name.clone(),
        kind,
        status: JobStatus::Queued,
        connector: g.connector_id.clone().unwrap_or_else(|| "manual".into()),
        attempts: 0,
        due_at: crate::time::rfc3339(now_ms),
        created_at: crate::time::rfc3339(now_ms),
        updated_at: crate::time::rfc3339(now_ms),
        last_error: None,
        completed_by: None,
        group_id: None,
        blocked: None,
        result: None,
    };
    tx.create(&keys::job(&job.id), &job)?;
    tx.set(&keys::job_by_status(job.status.as_str(), &job.id), &job.id)?;
    tx.create(&keys::job_open(&g.id, kind.as_str()), &job.id)?;
    tx.set(&keys::job_due(now_ms, &job.id), &job.id)?;
    Ok(job)
}

/// Queue pushes after a commit; a lost push is picked up by the job runner from the due index.
pub fn push(host: &dyn Host, job_ids: &[String]) {
    if job_ids.is_empty() {
        return;
    }
    let events: Vec<String> = job_ids
        .iter()
        .map(|id| json!({"jobId": id}).to_string())
        .collect();
    if let Err(e) = host.queue_push(QUEUE, &events, 0) {
        host.log(
            Level::Warn,
            &format!("provisioning jobs not queued ({e}); the job runner will run them"),
        );
    }
}

fn load(store: Store<'_>, id: &str) -> AppResult<(Job, String)> {
    let key = keys::job(id);
    if crate::storage::rules::check_key(&key).is_err() {
        return Err(AppError::not_found("JOB_NOT_FOUND", "no such job"));
    }
    let raw = store
        .get_raw(&key)?
        .ok_or_else(|| AppError::not_found("JOB_NOT_FOUND", "no such job"))?;
    Ok((crate::storage::decode(&key, &raw)?, raw))
}

/// Moves a job to `to` (possibly the status it has), keeping the status index and the due/open/
/// closed keys in step. `next_due` reschedules it: its old due key goes, the new one is written.
fn stage_status(
    tx: &mut Tx<'_>,
    job: &mut Job,
    to: JobStatus,
    now_ms: u64,
    next_due: Option<u64>,
) -> StorageResult<()> {
    let from = job.status;
    if from != to {
        tx.delete(&keys::job_by_status(from.as_str(), &job.id))?;
        tx.set(&keys::job_by_status(to.as_str(), &job.id), &job.id)?;
    }
    if matches!(from, JobStatus::Queued | JobStatus::Retrying) {
        if let Some(d) = crate::time::parse(&job.due_at) {
            tx.delete(&keys::job_due(d, &job.id))?;
        }
    }
    if let Some(d) = next_due {
        job.due_at = crate::time::rfc3339(d);
        tx.set(&keys::job_due(d, &job.id), &job.id)?;
    }
    if to.is_terminal() && !from.is_terminal() {
        tx.delete(&keys::job_open(&job.grant_id, job.kind.as_str()))?;
        tx.set(&keys::job_closed(now_ms, &job.id), &job.id)?;
    }
    job.status = to;
    job.updated_at = crate::time::rfc3339(now_ms);
    Ok(())
}

/// The open job of `kind` for a grant, read before a transaction that cancels it.
pub fn open_of(
    store: Store<'_>,
    grant_id: &str,
    kind: JobKind,
) -> StorageResult<Option<(Job, String)>> {
    let Some(id) = store.get::<String>(&keys::job_open(grant_id, kind.as_str()))? else {
        return Ok(None);
    };
    let key = keys::job(&id);
    Ok(match store.get_raw(&key)? {
        Some(raw) => Some((crate::storage::decode(&key, &raw)?, raw)),
        None => None,
    })
}

/// Stages the cancellation of an open job (read with `open_of`) in `tx`, with its audit draft:
/// a revoked grant's provision job, or a reopened grant's deprovision job, must not run, and the
/// manual-actions list must not offer it. Conditioned on the job as read, so a runner finishing
/// it at the same moment makes the whole change retry.
pub fn stage_cancel(
    tx: &mut Tx<'_>,
    open: &(Job, String),
    why: &str,
    now_ms: u64,
) -> StorageResult<()> {
    let (job, raw) = open;
    let mut j = job.clone();
    debug_assert!(!j.status.is_terminal());
    j.last_error = Some(format!("{why}: cancelled"));
    stage_status(tx, &mut j, JobStatus::Cancelled, now_ms, None)?;
    tx.set_if_current(&keys::job(&j.id), &j, Some(raw))?;
    Ok(())
}

pub fn cancel_draft(job: &Job, why: &str, who: &str) -> AuditDraft {
    let mut d = AuditDraft::new("provisioning_job_cancelled", who);
    d.issue_key = Some(job.issue_key.clone());
    d.subject = json!({"jobId": job.id, "grantId": job.grant_id});
    d.data = json!({"kind": job.kind.as_str(), "attempts": job.attempts, "reason": why,
                    "fromStatus": job.status.as_str()});
    d
}

/// Retryable failures are retried after 1, 2, 4, 8, 16, 32 and 64 minutes (or Core's
/// `Retry-After`, when longer); the 8th failure dead-letters the job.
pub const MAX_ATTEMPTS: u32 = 8;
const BACKOFF_BASE_S: u64 = 60;
const BACKOFF_CAP_S: u64 = 6 * 3_600;
/// A job blocked by connected mode's preconditions is looked at again after an hour.
const BLOCKED_RECHECK_S: u64 = 3_600;
/// Finished job records are kept this long, then the job runner prunes them.
pub const JOB_RETENTION_DAYS: u64 = 30;
/// Queue events can be delayed at most 900 s (Forge); longer waits are delivered in steps.
const MAX_QUEUE_DELAY_S: u64 = 900;

/// The wait before attempt `failures + 1`, given `failures` failed attempts so far (≥ 1).
pub fn backoff_s(failures: u32, retry_after_s: Option<u32>) -> u64 {
    let exp = BACKOFF_BASE_S.saturating_mul(1u64 << failures.saturating_sub(1).min(20));
    // Core's Retry-After wins when longer, but never past the cap (a bad header must not park
    // a job for days).
    exp.max(retry_after_s.unwrap_or(0) as u64)
        .min(BACKOFF_CAP_S)
}

/// Runs one job (queue consumer and job runner). Manual jobs move to `manualPending`; jobs for a
/// tool bound to an enabled connected connector call ArdSaor Core and end `succeeded`,
/// `retrying` (with backoff) or `deadLetter`. Returns a redelivery delay when the job is not due.
pub fn run(host: &dyn Host, inv: &Invocation, job_id: &str) -> AppResult<Option<u32>> {
    let store = Store::new(host);
    let (mut job, raw) = match load(store, job_id) {
        Ok(x) => x,
        Err(e) if e.code == "JOB_NOT_FOUND" => return Ok(None),
        Err(e) => return Err(e),
    };
    if !matches!(job.status, JobStatus::Queued | JobStatus::Retrying) {
        return Ok(None); // duplicate delivery or already handled
    }
    let now = host.now_ms();
    let due = crate::time::parse(&job.due_at).unwrap_or(0);
    if due > now + 1_000 {
        // An early delivery (a retry pushed with a delay, or a duplicate): come back when due.
        let wait = (due - now).div_ceil(1_000).min(MAX_QUEUE_DELAY_S) as u32;
        return Ok(Some(wait));
    }
    let connector = if job.connector == "manual" {
        None
    } else {
        crate::provisioning::connectors::load(store, &job.connector)?
    };
    let connected = connector
        .as_ref()
        .filter(|c| c.kind.is_connected() && c.enabled);
    let Some(c) = connected else {
        let manual_connector = connector.as_ref().is_some_and(|c| !c.kind.is_connected());
        let reason = (job.connector != "manual" && !manual_connector).then(|| {
            format!(
                "CONNECTOR_UNAVAILABLE: connector {} is disabled, deleted or manual; fulfil by hand",
                job.connector
            )
        });
        return to_manual(host, store, job, raw, reason);
    };
    let grant_key = keys::grant(&job.grant_id);
    let grant_raw = store.get_raw(&grant_key)?;
    let grant: Option<Grant> = grant_raw
        .as_deref()
        .map(|t| crate::storage::decode(&grant_key, t))
        .transpose()?;
    if job.kind == JobKind::Provision && !grant.as_ref().is_some_and(|g| g.status.is_open()) {
        let f = crate::provisioning::relay::err(
            "GRANT_ENDED",
            false,
            "the grant ended before it was provisioned".into(),
        );
        return finish(host, store, job, &raw, Outcome::Cancelled(f), None);
    }
    if job.kind == JobKind::Deprovision && grant.as_ref().is_some_and(|g| g.status.is_open()) {
        // The grant was extended back to life after this job was queued: removing access now
        // would leave an open grant without it.
        let f = crate::provisioning::relay::err(
            "GRANT_REOPENED",
            false,
            "the grant is open again; access stays".into(),
        );
        return finish(host, store, job, &raw, Outcome::Cancelled(f), None);
    }
    let core = match crate::provisioning::connected_mode(host, inv.license_active) {
        Ok(core) => core,
        Err(e) => return block(host, store, job, raw, &e),
    };
    job.blocked = None;
    let attempt = job.attempts + 1;
    let result = call_core(host, inv, &core, c, &job, grant.as_ref());
    job.attempts = attempt;
    let outcome = match result {
        Ok(done) => Outcome::Succeeded(done),
        Err(e) if e.retryable && attempt < MAX_ATTEMPTS => Outcome::Retry(e),
        Err(e) => Outcome::DeadLetter(e),
    };
    finish(host, store, job, &raw, outcome, Some(c.id.clone()))
}

/// What a connected job achieved.
struct Done {
    group_id: String,
    data: Value,
}

enum Outcome {
    Succeeded(Done),
    Retry(crate::provisioning::relay::RelayError),
    DeadLetter(crate::provisioning::relay::RelayError),
    Cancelled(crate::provisioning::relay::RelayError),
}

/// The group a job acts on: the one recorded with the grant's identity, else the tool's binding.
fn group_for(store: Store<'_>, job: &Job, recorded: Option<&str>) -> Option<String> {
    if let Some(g) = &job.group_id {
        return Some(g.clone());
    }
    if let Some(g) = recorded.filter(|g| !g.is_empty()) {
        return Some(g.to_string());
    }
    crate::catalog::get(store, &job.tool_key)
        .ok()
        .flatten()
        .and_then(|t| t.entitlement_group)
        .and_then(|g| g["groupId"].as_str().map(String::from))
}

fn call_core(
    host: &dyn Host,
    inv: &Invocation,
    core: &crate::provisioning::relay::CoreConfig,
    c: &crate::provisioning::connectors::Connector,
    job: &Job,
    grant: Option<&Grant>,
) -> Result<Done, crate::provisioning::relay::RelayError> {
    use crate::provisioning::{identities, relay};
    let store = Store::new(host);
    let recorded = identities::for_grant(host, &job.grant_id)?;
    let group_id = group_for(
        store,
        job,
        recorded.as_ref().map(|(m, _)| m.group_id.as_str()),
    )
    .ok_or_else(|| {
        relay::err(
            "TOOL_NOT_BOUND",
            false,
            "the tool has no entitlement group; bind it to the connector".into(),
        )
    })?;
    let ident = match (job.kind, recorded) {
        (_, Some((_, ident))) => ident,
        (JobKind::Deprovision, None) => {
            // Nothing was ever provisioned for this grant: nothing to remove.
            return Ok(Done {
                group_id,
                data: json!({"applied": false, "note": "nothing was provisioned"}),
            });
        }
        (_, None) => {
            let (ident, source) = identities::resolve(host, c, &job.account_id)?;
            if job.kind == JobKind::Provision {
                identities::remember(
                    host,
                    &job.grant_id,
                    c,
                    &job.account_id,
                    &group_id,
                    &ident,
                    source,
                )?;
            }
            ident
        }
    };
    let body = json!({
        "cloudId": inv.cloud_id,
        "connector": {"id": c.id, "type": c.kind.as_str(), "provider": c.kind.provider()},
        // Only what never changes for this job: a retry must send the very same body.
        "grant": {"id": job.grant_id, "toolId": job.tool_key},
        "subject": {"accountId": job.account_id},
        "externalIdentity": {"email": ident.email, "userId": ident.user_id},
        // No attempt number here: a retry must send the very same request, or Core would
        // refuse the reused Idempotency-Key (and a lost answer could never be replayed).
        "context": {"jobId": job.id, "kind": job.kind.as_str()},
    });
    let gid = relay::segment(&group_id);
    match job.kind {
        JobKind::Provision => {
            let out = relay::call(
                host,
                core,
                "POST",
                &format!("/v1/groups/{gid}/members"),
                Some(&body),
                Some(&job.id),
            )?;
            Ok(Done {
                group_id,
                data: json!({"applied": out["applied"].as_bool()}),
            })
        }
        JobKind::Deprovision => {
            let target = format!("/v1/groups/{gid}/members/{}", relay::segment(&ident.email));
            match relay::call(host, core, "DELETE", &target, Some(&body), Some(&job.id)) {
                Ok(out) => Ok(Done {
                    group_id,
                    data: json!({"applied": out["removed"].as_bool()}),
                }),
                // The account or the group is gone at the provider: no access is left to remove.
                Err(e) if matches!(e.code, "IDENTITY_NOT_FOUND" | "GROUP_NOT_FOUND") => Ok(Done {
                    group_id,
                    data: json!({"applied": false, "note": e.code}),
                }),
                Err(e) => Err(e),
            }
        }
        JobKind::Check => {
            let found =
                relay::group_members(host, core, &group_id)?.contains(&ident.email.to_lowercase());
            let expected = grant.is_some_and(|g| g.status.is_open());
            Ok(Done {
                group_id,
                data: json!({"member": found, "expected": expected, "inSync": found == expected}),
            })
        }
    }
}

/// Moves a job to `manualPending` (no connector, or its connector is disabled or gone).
fn to_manual(
    host: &dyn Host,
    store: Store<'_>,
    mut job: Job,
    raw: String,
    reason: Option<String>,
) -> AppResult<Option<u32>> {
    let now = host.now_ms();
    let mut tx = store.tx();
    stage_status(&mut tx, &mut job, JobStatus::ManualPending, now, None)?;
    job.attempts += 1;
    job.last_error = reason.clone();
    commit_if_unchanged(tx, &job, &raw)?;
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    host.log(
        Level::Info,
        &format!(
            "job {}: manual {}; waiting for an approver{why}",
            job.id,
            job.kind.as_str()
        ),
    );
    Ok(None)
}

/// Commits `tx` with the job written over `raw`. Losing the race is fine: whoever changed the job
/// first (a duplicate delivery, an admin) owns it now.
fn commit_if_unchanged(mut tx: Tx<'_>, job: &Job, raw: &str) -> AppResult<()> {
    tx.set_if_current(&keys::job(&job.id), job, Some(raw))?;
    match tx.commit() {
        Ok(()) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Connected mode's preconditions are not met: the job stays queued, is looked at again in an
/// hour, and says why (no Core call is made).
fn block(
    host: &dyn Host,
    store: Store<'_>,
    mut job: Job,
    raw: String,
    e: &AppError,
) -> AppResult<Option<u32>> {
    let now = host.now_ms();
    let reason = format!("{}: {}", e.code, e.message);
    let mut tx = store.tx();
    let status = job.status;
    stage_status(
        &mut tx,
        &mut job,
        status,
        now,
        Some(now + BLOCKED_RECHECK_S * 1_000),
    )?;
    let first = job.blocked.as_deref() != Some(reason.as_str());
    job.blocked = Some(reason.clone());
    commit_if_unchanged(tx, &job, &raw)?;
    if first {
        host.log(
            Level::Warn,
            &format!("job {}: blocked, no Core call ({reason})", job.id),
        );
    }
    Ok(None)
}

/// Writes a connected job's outcome: the job, the grant (activation on a first successful
/// provision), the identity's release (after a deprovision) and the audit entry, in one
/// transaction. A conflict means another delivery got there first (or the grant changed, in
/// which case the outcome is rebuilt against the new grant).
fn finish(
    host: &dyn Host,
    store: Store<'_>,
    job: Job,
    raw: &str,
    outcome: Outcome,
    connector: Option<String>,
) -> AppResult<Option<u32>> {
    let connector = connector.unwrap_or_else(|| job.connector.clone());
    for _ in 0..3 {
        let now = host.now_ms();
        let mut j = job.clone();
        let grant_key = keys::grant(&j.grant_id);
        let grant_raw = store.get_raw(&grant_key)?;
        let mut drafts = Vec::new();
        let mut grant_change: Option<(Grant, Grant)> = None;
        let mut released = false;
        let mut late_end: Option<Grant> = None;
        let mut retry_due: Option<u64> = None;
        let mut follow_up: Option<String> = None;
        let mut push_after: Option<u64> = None;
        let mut check_after: Option<String> = None;
        let (to, log_line) = match &outcome {
            Outcome::Succeeded(done) => {
                j.group_id = Some(done.group_id.clone());
                j.last_error = None;
                j.result = Some(done.data.clone());
                let mut d = AuditDraft::new("provisioning_job_succeeded", "app");
                d.issue_key = Some(j.issue_key.clone());
                d.subject = json!({"jobId": j.id, "grantId": j.grant_id});
                d.data = json!({"kind": j.kind.as_str(), "connector": connector,
                                "groupId": done.group_id, "attempt": j.attempts, "result": done.data});
                drafts.push(d);
                if let (JobKind::Provision, Some(t)) = (j.kind, &grant_raw) {
                    let g: Grant = crate::storage::decode(&grant_key, t)?;
                    if g.status == GrantStatus::PendingProvision {
                        let mut after = g.clone();
                        after.set_status(GrantStatus::Active, &crate::time::rfc3339(now));
                        after.activated_at = Some(crate::time::rfc3339(now));
                        let mut a = AuditDraft::new("grant_activated", "app");
                        a.issue_key = Some(j.issue_key.clone());
                        a.subject = json!({"grantId": g.id});
                        a.data = json!({"grantId": g.id, "toolId": g.tool_key, "riskLevel": g.risk_level,
                                        "connector": connector, "groupId": done.group_id});
                        drafts.push(a);
                        grant_change = Some((g, after));
                    } else if !g.status.is_open()
                        && store
                            .get_raw(&keys::job_open(&g.id, JobKind::Deprovision.as_str()))?
                            .is_none()
                    {
                        // The grant ended while Core was adding the member: take access away
                        // again with an ordinary deprovision job.
                        late_end = Some(g);
                    }
                }
                released = j.kind == JobKind::Deprovision;
                (
                    JobStatus::Succeeded,
                    format!(
                        "job {}: {} succeeded via {connector}",
                        j.id,
                        j.kind.as_str()
                    ),
                )
            }
            Outcome::Retry(e) => {
                let wait = backoff_s(j.attempts, e.retry_after_s);
                let next = now + wait * 1_000;
                retry_due = Some(next);
                let next_at = crate::time::rfc3339(next);
                j.last_error = Some(e.to_string());
                let mut d = AuditDraft::new("provisioning_job_retry_scheduled", "app");
                d.issue_key = Some(j.issue_key.clone());
                d.subject = json!({"jobId": j.id, "grantId": j.grant_id});
                d.data = json!({"kind": j.kind.as_str(), "attempt": j.attempts, "reason": e.code,
                                "nextAttemptAt": next_at, "backoffSeconds": wait});
                drafts.push(d);
                // Queue delays stop at 900 s: a longer wait is delivered early and asks to be
                // redelivered for the rest (`run` answers an early delivery with a retry delay).
                // The hourly runner is the safety net if the push is lost.
                push_after = Some(wait.min(MAX_QUEUE_DELAY_S));
                (
                    JobStatus::Retrying,
                    format!(
                        "job {}: attempt {}/{MAX_ATTEMPTS} failed, retry at {} ({e})",
                        j.id, j.attempts, next_at
                    ),
                )
            }
            Outcome::DeadLetter(e) | Outcome::Cancelled(e) => {
                let cancelled = matches!(outcome, Outcome::Cancelled(_));
                j.last_error = Some(e.to_string());
                let kind = if cancelled {
                    "provisioning_job_cancelled"
                } else {
                    "provisioning_job_dead_lettered"
                };
                let mut d = AuditDraft::new(kind, "app");
                d.issue_key = Some(j.issue_key.clone());
                d.subject = json!({"jobId": j.id, "grantId": j.grant_id});
                d.data = json!({"kind": j.kind.as_str(), "attempts": j.attempts, "reason": e.code});
                drafts.push(d);
                if cancelled {
                    (
                        JobStatus::Cancelled,
                        format!("job {}: cancelled ({e})", j.id),
                    )
                } else {
                    (
                        JobStatus::DeadLetter,
                        format!(
                            "job {}: dead letter after {} attempt(s) ({e})",
                            j.id, j.attempts
                        ),
                    )
                }
            }
        };
        // A connected change is verified right after it (issue 20): one check job, unless one is
        // open already or the grant ended meanwhile (the follow-up deprovision gets its own).
        let verify = matches!(outcome, Outcome::Succeeded(_))
            && j.kind != JobKind::Check
            && late_end.is_none()
            && grant_raw.is_some()
            && store
                .get_raw(&keys::job_open(&j.grant_id, JobKind::Check.as_str()))?
                .is_none();
        if verify {
            let mut d = AuditDraft::new("provisioning_job_queued", "app");
            d.issue_key = Some(j.issue_key.clone());
            d.subject = json!({"grantId": j.grant_id});
            d.data = json!({"kind": "check", "reason": format!("after{}", if j.kind == JobKind::Provision {"Provision"} else {"Deprovision"})});
            drafts.push(d);
        }
        let mac = audit::mac_key(store, None)?;
        let res = audit::commit_with_audit(store, &mac, None, &drafts, |tx| {
            let mut jj = j.clone();
            stage_status(tx, &mut jj, to, now, retry_due)?;
            tx.set_if_current(&keys::job(&jj.id), &jj, Some(raw))?;
            if let Some((before, after)) = &grant_change {
                let mut a = after.clone();
                if verify {
                    check_after = Some(stage_new(tx, &mut a, JobKind::Check, now)?.id);
                }
                tx.set_if_current(&grant_key, &a, grant_raw.as_deref())?;
                grants::stage_indexes(tx, Some(before), &a)?;
                super::notices::stage(tx, &activation_notice(after, now))?;
            } else if let (true, Some(t)) = (verify, &grant_raw) {
                let mut g: Grant = crate::storage::decode(&grant_key, t)?;
                check_after = Some(stage_new(tx, &mut g, JobKind::Check, now)?.id);
                tx.set_if_current(&grant_key, &g, Some(t))?;
            }
            if released {
                tx.set(
                    &keys::external_identity_released(now, &jj.grant_id),
                    &jj.grant_id,
                )?;
            }
            if let Some(g) = &late_end {
                let mut gg = g.clone();
                let dj = stage_new(tx, &mut gg, JobKind::Deprovision, now)?;
                tx.set_if_current(&grant_key, &gg, grant_raw.as_deref())?;
                follow_up = Some(dj.id);
            }
            Ok(())
        });
        match res {
            Ok(_) => {
                let level = match to {
                    JobStatus::DeadLetter => Level::Warn,
                    _ => Level::Info,
                };
                host.log(level, &log_line);
                if let Some((_, after)) = &grant_change {
                    super::notices::push(host, &activation_notice(after, now).id);
                }
                if let Some(id) = &check_after {
                    push(host, std::slice::from_ref(id));
                }
                if let Some(id) = &follow_up {
                    host.log(
                        Level::Info,
                        &format!("job {}: the grant ended meanwhile; {id} queued", j.id),
                    );
                    push(host, std::slice::from_ref(id));
                }
                if let Some(wait) = push_after {
                    if let Err(e) =
                        host.queue_push(QUEUE, &[json!({"jobId": j.id}).to_string()], wait as u32)
                    {
                        host.log(
                            Level::Warn,
                            &format!(
                                "job {}: retry not queued ({e}); the job runner will run it",
                                j.id
                            ),
                        );
                    }
                }
                return Ok(None);
            }
            Err(StorageError::Conflict(k)) if k == grant_key => continue,
            Err(StorageError::Conflict(_)) => return Ok(None), // another delivery finished it
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "JOB_BUSY",
        "the grant kept changing while the job finished",
    ))
}

/// The requester's comment when access goes live (connected or marked fulfilled).
fn activation_notice(g: &Grant, now_ms: u64) -> super::notices::Notice {
    super::notices::Notice::for_grant(g, "activated", now_ms, None)
}

/// "Mark fulfilled / deprovisioned / verified" (§5.4, §4.6): closes a `manualPending` job. A
/// fulfilled provision job makes the grant `active`. The job, the grant and the audit entry are
/// one transaction.
pub fn complete(host: &dyn Host, who: &str, job_id: &str, action: &str) -> AppResult<Value> {
    let store = Store::new(host);
    // The kernel: managers attest (approvers, delegates, admins), never the grantee.
    let person = super::facts::person(host, who)?;
    let rule = super::kernel::manager_rule(&person, &super::facts::approvers(store)?)?;
    for _ in 0..4 {
        let (mut job, raw) = load(store, job_id)?;
        super::kernel::not_beneficiary(
            &person,
            &rule,
            &job.account_id,
            "SELF_ATTESTATION_FORBIDDEN",
            "this is your own access (or that of an approver you stand in for); someone else confirms it was provisioned or removed",
        )?;
        if job.status != JobStatus::ManualPending {
            return Err(AppError::conflict(
                "JOB_NOT_MANUAL_PENDING",
                format!(
                    "the job is {}, not waiting for a manual action",
                    job.status.as_str()
                ),
            ));
        }
        if action != job.kind.completion() {
            return Err(AppError::invalid(
                "COMPLETION_MISMATCH",
                format!(
                    "a {} job is completed with \"{}\", not \"{action}\"",
                    job.kind.as_str(),
                    job.kind.completion()
                ),
            ));
        }
        let now = host.now_ms();
        let grant_key = keys::grant(&job.grant_id);
        let grant_raw = store.get_raw(&grant_key)?;
        let mut drafts = Vec::new();
        let mut d = AuditDraft::new("provisioning_job_succeeded", who);
        d.issue_key = Some(job.issue_key.clone());
        d.subject = json!({"jobId": job.id, "grantId": job.grant_id});
        d.data = json!({"kind": job.kind.as_str(), "connector": "manual", "action": action,
                        "rule": rule.to_json()});
        drafts.push(d);
        let mut new_grant: Option<(Grant, Grant)> = None;
        if let (JobKind::Provision, Some(t)) = (job.kind, &grant_raw) {
            let g: Grant = crate::storage::decode(&grant_key, t)?;
            if g.status == GrantStatus::PendingProvision {
                let mut after = g.clone();
                after.set_status(GrantStatus::Active, &crate::time::rfc3339(now));
                after.activated_at = Some(crate::time::rfc3339(now));
                let mut a = AuditDraft::new("grant_activated", who);
                a.issue_key = Some(job.issue_key.clone());
                a.subject = json!({"grantId": g.id});
                a.data = json!({"grantId": g.id, "toolId": g.tool_key, "riskLevel": g.risk_level});
                drafts.push(a);
                new_grant = Some((g, after));
            }
        }
        job.completed_by = Some(who.to_string());
        let mac = audit::mac_key(store, None)?;
        let res = audit::commit_with_audit(store, &mac, None, &drafts, |tx| {
            let mut j = job.clone();
            stage_status(tx, &mut j, JobStatus::Succeeded, now, None)?;
            tx.set_if_current(&keys::job(&j.id), &j, Some(&raw))?;
            if let Some((before, after)) = &new_grant {
                tx.set_if_current(&grant_key, after, grant_raw.as_deref())?;
                grants::stage_indexes(tx, Some(before), after)?;
                super::notices::stage(tx, &activation_notice(after, now))?;
            }
            Ok(())
        });
        match res {
            Ok(_) => {
                if let Some((_, after)) = &new_grant {
                    super::notices::push(host, &activation_notice(after, now).id);
                }
                return Ok(json!({
                    "jobId": job.id, "status": "succeeded", "kind": job.kind.as_str(),
                    "grantStatus": new_grant.map(|(_, g)| g.status.as_str()),
                }));
            }
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "JOB_BUSY",
        "the job changed while completing; try again",
    ))
}

/// Jobs waiting for a person (the "Manual provisioning actions" table, §5.4).
pub fn manual_pending(store: Store<'_>, limit: usize) -> AppResult<Vec<Job>> {
    let ids = store.scan::<String>(&keys::job_by_status_prefix("manualPending"), limit)?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::job(id)).collect();
    Ok(store
        .get_many::<Job>(&want)?
        .into_iter()
        .map(|(_, j)| j)
        .collect())
}

/// One page of jobs waiting for a person (the Approvals tab), with the cursor to the next.
pub fn manual_page(
    store: Store<'_>,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<(Vec<Job>, Option<String>)> {
    let page = store
        .page::<String>(&keys::job_by_status_prefix("manualPending"), cursor, limit)
        .map_err(crate::storage::cursor_error)?;
    let want: Vec<String> = page.items.iter().map(|(_, id)| keys::job(id)).collect();
    let jobs = store
        .get_many::<Job>(&want)?
        .into_iter()
        .map(|(_, j)| j)
        .collect();
    Ok((jobs, page.next_cursor))
}

/// Runs jobs whose queue event was lost or that wait for a retry (hourly job runner).
pub fn run_due(host: &dyn Host, inv: &Invocation, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let mut ran = 0;
    for (_, id) in store.due::<String>(keys::JOB_DUE_PREFIX, host.now_ms(), budget)? {
        if host.remaining_ms() < 5_000 {
            break;
        }
        // One bad job must not stop the runner (and every sweep after it) every hour.
        if let Err(e) = run(host, inv, &id) {
            host.log(
                Level::Warn,
                &format!("job runner: job {id} failed to run ({e})"),
            );
        }
        ran += 1;
    }
    Ok(ran)
}

/// Deletes finished job records older than `JOB_RETENTION_DAYS` (hourly job runner), reading
/// only the finished-by-time index up to the cut-off; eight jobs per transaction.
pub fn prune_closed(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let cutoff = host
        .now_ms()
        .saturating_sub(JOB_RETENTION_DAYS * grants::DAY_MS);
    let due = store.due::<String>(keys::JOB_CLOSED_PREFIX, cutoff, budget)?;
    let now = host.now_ms();
    let mut pruned = 0;
    for chunk in due.chunks(8) {
        let want: Vec<String> = chunk.iter().map(|(_, id)| keys::job(id)).collect();
        let raws = store.batch_get(&want)?;
        let jobs: Vec<Option<Job>> = chunk
            .iter()
            .map(|(_, id)| {
                let key = keys::job(id);
                raws.get(&key)
                    .map(|raw| crate::storage::decode::<Job>(&key, raw))
                    .transpose()
            })
            .collect::<StorageResult<_>>()?;
        // A dead letter is what an admin recovers an open grant from (retry, manual, revoke):
        // kept while its grant is open, looked at again a retention period later.
        let grant_keys: Vec<String> = jobs
            .iter()
            .flatten()
            .filter(|j| j.status == JobStatus::DeadLetter)
            .map(|j| keys::grant(&j.grant_id))
            .collect();
        let grant_raws = store.batch_get(&grant_keys)?;
        let mut tx = store.tx();
        for ((index_key, id), job) in chunk.iter().zip(&jobs) {
            tx.delete(index_key)?;
            let key = keys::job(id);
            if let (Some(raw), Some(j)) = (raws.get(&key), job) {
                if !j.status.is_terminal() {
                    continue; // requeued since it finished: not ours to prune
                }
                let gk = keys::grant(&j.grant_id);
                let grant_open = grant_raws
                    .get(&gk)
                    .map(|t| crate::storage::decode::<Grant>(&gk, t))
                    .transpose()?
                    .is_some_and(|g| g.status.is_open());
                if j.status == JobStatus::DeadLetter && grant_open {
                    tx.set(&keys::job_closed(now, id), id)?;
                    continue;
                }
                // Conditional: a concurrent requeue fails the commit instead of half-deleting.
                tx.delete_if_current(&key, raw)?;
                tx.delete(&keys::job_by_status(j.status.as_str(), id))?;
            }
        }
        match tx.commit() {
            Ok(()) => pruned += chunk.len() as u32,
            Err(StorageError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(pruned)
}

/// `admin.jobs.retry`: puts a dead-lettered job back in the queue with a fresh attempt count
/// (after an admin fixed the cause: an identity mapping, a binding, the Core credentials).
pub fn retry(host: &dyn Host, who: &str, job_id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let (mut job, raw) = load(store, job_id)?;
    if job.status != JobStatus::DeadLetter {
        return Err(AppError::conflict(
            "JOB_NOT_DEAD_LETTER",
            format!(
                "the job is {}; only dead-lettered jobs can be retried",
                job.status.as_str()
            ),
        ));
    }
    let now = host.now_ms();
    let mut d = AuditDraft::new("provisioning_job_requeued", who);
    d.issue_key = Some(job.issue_key.clone());
    d.subject = json!({"jobId": job.id, "grantId": job.grant_id});
    d.data = json!({"kind": job.kind.as_str(), "previousError": job.last_error});
    let closed_at = crate::time::parse(&job.updated_at).unwrap_or(now);
    job.status = JobStatus::Queued;
    job.attempts = 0;
    job.group_id = None;
    job.due_at = crate::time::rfc3339(now);
    job.updated_at = crate::time::rfc3339(now);
    reopen_dead_letter(store, &job, &raw, closed_at, d, Some(now))?;
    if job.kind == JobKind::Provision {
        // The admin fixed the cause (a mapping, a rebinding): resolve the identity afresh.
        crate::provisioning::identities::forget(host, &job.grant_id)?;
    }
    push(host, std::slice::from_ref(&job.id));
    Ok(json!({"job": job}))
}

/// `admin.jobs.manual`: an admin takes a dead-lettered job over by hand. The job moves to
/// `manualPending` (connector `manual`), so it shows among the manual provisioning actions and
/// "Mark fulfilled / deprovisioned / verified" closes it, with the grant going `active` as for
/// any manual provision. A provision job of a grant that ended meanwhile cannot be taken over.
pub fn take_over(host: &dyn Host, who: &str, job_id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let (mut job, raw) = load(store, job_id)?;
    if job.status != JobStatus::DeadLetter {
        return Err(AppError::conflict(
            "JOB_NOT_DEAD_LETTER",
            format!(
                "the job is {}; only dead-lettered jobs are switched to manual",
                job.status.as_str()
            ),
        ));
    }
    if job.kind == JobKind::Provision {
        let open = store
            .get::<Grant>(&keys::grant(&job.grant_id))?
            .is_some_and(|g| g.status.is_open());
        if !open {
            return Err(AppError::conflict(
                "GRANT_ENDED",
                "the grant has ended; there is nothing to provision",
            ));
        }
    }
    let now = host.now_ms();
    let mut d = AuditDraft::new("provisioning_job_switched_to_manual", who);
    d.issue_key = Some(job.issue_key.clone());
    d.subject = json!({"jobId": job.id, "grantId": job.grant_id});
    d.data = json!({"kind": job.kind.as_str(), "fromConnector": job.connector,
                    "previousError": job.last_error});
    let closed_at = crate::time::parse(&job.updated_at).unwrap_or(now);
    job.status = JobStatus::ManualPending;
    job.connector = "manual".into();
    job.blocked = None;
    job.last_error = Some(format!(
        "switched to manual by an admin after: {}",
        job.last_error.as_deref().unwrap_or("a dead letter")
    ));
    job.updated_at = crate::time::rfc3339(now);
    reopen_dead_letter(store, &job, &raw, closed_at, d, None)?;
    Ok(json!({"job": job}))
}

/// Commits a dead-lettered job (stored as `raw`, closed at `closed_at`) reopened as `job` — its
/// new status index, the open marker, a due entry when it goes back to the queue — with its audit
/// entry. A second open job of the kind for the grant is `JOB_ALREADY_OPEN`.
fn reopen_dead_letter(
    store: Store<'_>,
    job: &Job,
    raw: &str,
    closed_at: u64,
    draft: AuditDraft,
    due_at: Option<u64>,
) -> AppResult<()> {
    let open_key = keys::job_open(&job.grant_id, job.kind.as_str());
    let mac = audit::mac_key(store, None)?;
    audit::commit_with_audit(store, &mac, None, &[draft], |tx| {
        tx.set_if_current(&keys::job(&job.id), job, Some(raw))?;
        tx.delete(&keys::job_by_status("deadLetter", &job.id))?;
        tx.set(&keys::job_by_status(job.status.as_str(), &job.id), &job.id)?;
        tx.delete(&keys::job_closed(closed_at, &job.id))?;
        tx.create(&open_key, &job.id)?;
        if let Some(due) = due_at {
            tx.set(&keys::job_due(due, &job.id), &job.id)?;
        }
        Ok(())
    })
    .map_err(|e| match e {
        StorageError::Conflict(k) if k == open_key => AppError::conflict(
            "JOB_ALREADY_OPEN",
            "another job of this kind is already open for the grant",
        ),
        e => e.into(),
    })?;
    Ok(())
}

/// `admin.jobs.check {grantId}`: an on-demand verification of a grant's access. For a connected
/// tool the check job asks Core whether the member is in the group (and records whether that
/// matches the grant); for a manual one it waits for a person's "Mark verified".
pub fn request_check(host: &dyn Host, who: &str, grant_id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    let key = keys::grant(grant_id);
    if grant_id.is_empty() || crate::storage::check_key(&key).is_err() {
        return Err(AppError::not_found("GRANT_NOT_FOUND", "no such grant"));
    }
    for _ in 0..4 {
        let raw = store
            .get_raw(&key)?
            .ok_or_else(|| AppError::not_found("GRANT_NOT_FOUND", "no such grant"))?;
        let g: Grant = crate::storage::decode(&key, &raw)?;
        let now = host.now_ms();
        let open_key = keys::job_open(&g.id, JobKind::Check.as_str());
        let id = format!("{}.check.{}", g.id, g.jobs_created + 1);
        let mut d = AuditDraft::new("provisioning_job_queued", who);
        d.issue_key = Some(g.issue_key.clone());
        d.subject = json!({"jobId": id, "grantId": g.id});
        d.data = json!({"kind": "check", "reason": "onDemand"});
        let mac = audit::mac_key(store, None)?;
        let res = audit::commit_with_audit(store, &mac, None, &[d], |tx| {
            let mut gg = g.clone();
            stage_new(tx, &mut gg, JobKind::Check, now)?;
            tx.set_if_current(&key, &gg, Some(&raw))?;
            Ok(())
        });
        match res {
            Ok(_) => {
                push(host, std::slice::from_ref(&id));
                return Ok(json!({"jobId": id, "kind": "check"}));
            }
            Err(StorageError::Conflict(k)) if k == open_key => {
                return Err(AppError::conflict(
                    "JOB_ALREADY_OPEN",
                    "a check is already open for the grant",
                ))
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

/// `admin.jobs.list {status?}`: jobs by status (default: those needing attention).
pub fn list(store: Store<'_>, p: &Value) -> AppResult<Value> {
    let statuses: Vec<&str> = match p.get("status").and_then(Value::as_str) {
        Some(s) => vec![s],
        None => vec!["deadLetter", "retrying", "queued", "manualPending"],
    };
    let mut out = Vec::new();
    for st in statuses {
        let ids = store.scan::<String>(&keys::job_by_status_prefix(st), 200)?;
        let want: Vec<String> = ids.iter().map(|(_, id)| keys::job(id)).collect();
        out.extend(store.get_many::<Job>(&want)?.into_iter().map(|(_, j)| {
            let mut v = serde_json::to_value(&j).expect("jobs serialize");
            if j.status == JobStatus::DeadLetter {
                // What an admin can do about it (the grant may be waiting on this job).
                v["recovery"] = json!([
                    "admin.jobs.retry",
                    "admin.jobs.manual",
                    "clearance.grants.revoke"
                ]);
            }
            v
        }));
    }
    Ok(json!({"jobs": out}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_and_honours_a_bounded_retry_after() {
        let waits: Vec<u64> = (1..MAX_ATTEMPTS).map(|n| backoff_s(n, None)).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1_920, 3_840]);
        assert_eq!(
            backoff_s(1, Some(300)),
            300,
            "Retry-After longer than the step wins"
        );
        assert_eq!(
            backoff_s(3, Some(10)),
            240,
            "a shorter Retry-After does not shorten it"
        );
        assert_eq!(backoff_s(1, Some(u32::MAX)), 6 * 3_600, "capped at 6 h");
        assert_eq!(backoff_s(40, None), 6 * 3_600);
    }
}
