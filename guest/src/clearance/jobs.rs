//! Provisioning jobs (spec §8): provision / deprovision / check, queued on approval, revoke and
//! expiry. A job for a tool without a connector (the manual path) moves to `manualPending` until an
//! approver marks it done from the Approvals tab (§5.4); "Mark fulfilled" on a provision job makes
//! the grant `active`. Jobs are written in the same transaction as the decision that needs them
//! and pushed to the `provisioning` queue after the commit; the hourly job runner picks up any job
//! whose push was lost (its `provisioning-job-due:` key is still there).

use super::grants::{self, Grant, GrantStatus};
use crate::audit::{self, AuditDraft};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
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
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Retrying => "retrying",
            JobStatus::ManualPending => "manualPending",
            JobStatus::Succeeded => "succeeded",
            JobStatus::DeadLetter => "deadLetter",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::DeadLetter)
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

/// Moves a job to `to`, keeping the status index and the due/open keys in step.
fn stage_status(tx: &mut Tx<'_>, job: &mut Job, to: JobStatus, now_ms: u64) -> StorageResult<()> {
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
    if to.is_terminal() {
        tx.delete(&keys::job_open(&job.grant_id, job.kind.as_str()))?;
    }
    job.status = to;
    job.updated_at = crate::time::rfc3339(now_ms);
    Ok(())
}

/// Runs one job (queue consumer and job runner). Manual jobs move to `manualPending`. Jobs for
/// tools bound to a connector wait for the provisioning relay (they stay `queued`, with the
/// reason recorded, and are retried by the hourly runner).
pub fn run(host: &dyn Host, job_id: &str) -> AppResult<Option<u32>> {
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
    if job.connector == "manual" {
        let mut tx = store.tx();
        stage_status(&mut tx, &mut job, JobStatus::ManualPending, now)?;
        job.attempts += 1;
        tx.set_if_current(
            &keys::job(&job.id),
            crate::storage::encode(&job)?,
            Some(&raw),
        )?;
        match tx.commit() {
            Ok(()) | Err(StorageError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        host.log(
            Level::Info,
            &format!(
                "job {}: manual {}; waiting for an approver",
                job.id,
                job.kind.as_str()
            ),
        );
        return Ok(None);
    }
    host.log(
        Level::Warn,
        &format!(
            "job {}: connector {} is not available in this release; the job stays queued",
            job.id, job.connector
        ),
    );
    Ok(None)
}

/// "Mark fulfilled / deprovisioned / verified" (§5.4, §4.6): closes a `manualPending` job. A
/// fulfilled provision job makes the grant `active`. The job, the grant and the audit entry are
/// one transaction.
pub fn complete(host: &dyn Host, who: &str, job_id: &str, action: &str) -> AppResult<Value> {
    let store = Store::new(host);
    for _ in 0..4 {
        let (mut job, raw) = load(store, job_id)?;
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
        d.data = json!({"kind": job.kind.as_str(), "connector": "manual", "action": action});
        drafts.push(d);
        let mut new_grant: Option<(Grant, Grant)> = None;
        if let (JobKind::Provision, Some(t)) = (job.kind, &grant_raw) {
            let g: Grant = crate::storage::decode(&grant_key, t)?;
            if g.status == GrantStatus::PendingProvision {
                let mut after = g.clone();
                after.status = GrantStatus::Active;
                after.activated_at = Some(crate::time::rfc3339(now));
                after.status_changed_at = crate::time::rfc3339(now);
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
            stage_status(tx, &mut j, JobStatus::Succeeded, now)?;
            tx.set_if_current(&keys::job(&j.id), crate::storage::encode(&j)?, Some(&raw))?;
            if let Some((before, after)) = &new_grant {
                tx.set_if_current(
                    &grant_key,
                    crate::storage::encode(after)?,
                    grant_raw.as_deref(),
                )?;
                grants::stage_indexes(tx, Some(before), after)?;
            }
            Ok(())
        });
        match res {
            Ok(_) => {
                return Ok(json!({
                    "jobId": job.id, "status": "succeeded", "kind": job.kind.as_str(),
                    "grantStatus": new_grant.map(|(_, g)| g.status.as_str()),
                }))
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

/// Runs jobs whose queue event was lost or that wait for a retry (hourly job runner).
pub fn run_due(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let mut ran = 0;
    for (_, id) in store.due::<String>(keys::JOB_DUE_PREFIX, host.now_ms(), budget)? {
        if host.remaining_ms() < 5_000 {
            break;
        }
        run(host, &id)?;
        ran += 1;
    }
    Ok(ran)
}
