//! Approvals in KVS: records, indexes and the one transaction every transition commits.
//!
//! Crash safety: a transition is computed from the stored text, then committed in ONE
//! transaction conditioned on that text (`set_if_current`), together with the pending effect
//! and webhook-delivery records it creates and the index changes. Queue pushes happen after the
//! commit; if the invocation dies in between, the records are still there and the sweep
//! re-queues them. Side effects run from those records and are idempotent per record id.

use super::definition::{Definition, Phase};
use super::engine::{Eval, Outcome};
use super::model::{Approval, Step};
use super::{olivlang, views, webhooks};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::jira::{self, Jira};
use crate::storage::{self, keys, StorageError, Store, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const EFFECT_QUEUE: &str = "approval-effects";
pub const WEBHOOK_QUEUE: &str = "webhooks";
/// Attempts at committing one transition against concurrent writers.
const MAX_ATTEMPTS: usize = 6;

pub fn definition_key(id: &str) -> String {
    keys::definition(id)
}
pub const DEFINITION_PREFIX: &str = keys::DEFINITION_PREFIX;
pub fn approval_key(id: &str) -> String {
    format!("approval:{id}")
}
pub fn by_issue_key(issue_id: &str, approval_id: &str) -> String {
    format!("approval-by-issue:{issue_id}:{approval_id}")
}
pub fn by_issue_prefix(issue_id: &str) -> String {
    format!("approval-by-issue:{issue_id}:")
}
pub fn by_definition_key(def_id: &str, started_ms: u64, approval_id: &str) -> String {
    format!(
        "approval-by-definition:{def_id}:{:013}:{approval_id}",
        keys::inverted(started_ms)
    )
}
pub fn by_definition_prefix(def_id: &str) -> String {
    format!("approval-by-definition:{def_id}:")
}
pub fn due_key(due_ms: u64, approval_id: &str) -> String {
    format!("approval-due:{due_ms:013}:{approval_id}")
}
pub const DUE_PREFIX: &str = "approval-due:";
pub fn validity_key(due_ms: u64, approval_id: &str) -> String {
    format!("approval-validity:{due_ms:013}:{approval_id}")
}
pub const VALIDITY_PREFIX: &str = "approval-validity:";
/// Finished approvals no owner linked, by when they finished (their retention, D-255).
pub fn closed_key(closed_ms: u64, approval_id: &str) -> String {
    format!("approval-closed:{closed_ms:013}:{approval_id}")
}
pub const CLOSED_PREFIX: &str = "approval-closed:";
/// The approvals sweep's "what is due next" hint (`storage::hint`).
pub const SWEEP_HINT: &str = crate::storage::hint::APPROVALS;
pub fn task_key(approval_id: &str, step_id: &str) -> String {
    format!("approval-task:{approval_id}:{step_id}")
}
pub const TASK_PREFIX: &str = "approval-task:";
pub fn effect_id(approval_id: &str, step_id: &str, run: u32) -> String {
    format!("{approval_id}.{step_id}.{run}")
}
pub fn effect_key(id: &str) -> String {
    format!("approval-effect:{id}")
}
pub const EFFECT_PREFIX: &str = "approval-effect:";

/// A side effect waiting to run for an ACTIVE informational step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    pub id: String,
    pub approval_id: String,
    pub step_id: String,
    pub run: u32,
    pub phase: Phase,
    #[serde(default)]
    pub attempts: u32,
    pub created_ms: u64,
    #[serde(default)]
    pub queued_ms: u64,
    /// A failed PROMPT run was counted in the month's usage (set in the usage transaction, so a
    /// redelivered job does not count it twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failure_counted: bool,
}

/// An open human step: what the approver inbox lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub approval_id: String,
    pub step_id: String,
    pub issue_key: String,
    pub approval_name: String,
    pub step_name: String,
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default)]
    pub delegates: Vec<String>,
    #[serde(default)]
    pub group: Option<String>,
    pub activated_at: String,
}

pub fn load_definition(store: Store<'_>, id: &str) -> AppResult<Definition> {
    crate::storage::rules::check_key(&definition_key(id))
        .map_err(|_| AppError::invalid("DEFINITION_ID_INVALID", "not a valid definition id"))?;
    store
        .get::<Definition>(&definition_key(id))?
        .ok_or_else(|| AppError::not_found("DEFINITION_NOT_FOUND", format!("no definition {id:?}")))
}

/// Every saved version of a definition is kept: `definition-version:<id>:<version>`.
pub fn definition_version_key(id: &str, version: u32) -> String {
    keys::definition_version(id, u64::from(version))
}

/// A definition as it was saved at `version` (the current record when that is the version it
/// holds, for definitions saved before versions were kept).
pub fn load_definition_version(store: Store<'_>, id: &str, version: u32) -> AppResult<Definition> {
    crate::storage::rules::check_key(&definition_key(id))
        .map_err(|_| AppError::invalid("DEFINITION_ID_INVALID", "not a valid definition id"))?;
    if let Some(d) = store.get::<Definition>(&definition_version_key(id, version))? {
        return Ok(d);
    }
    match store.get::<Definition>(&definition_key(id))? {
        Some(d) if d.version == version => Ok(d),
        _ => Err(AppError::not_found(
            "DEFINITION_NOT_FOUND",
            format!("no version {version} of definition {id:?}"),
        )),
    }
}

/// The stored approval and its exact text (the condition for the next write).
pub fn load(store: Store<'_>, id: &str) -> AppResult<(Approval, String)> {
    if crate::storage::rules::check_key(&approval_key(id)).is_err() {
        return Err(AppError::not_found(
            "APPROVAL_NOT_FOUND",
            "no such approval",
        ));
    }
    let raw = store
        .get_raw(&approval_key(id))?
        .ok_or_else(|| AppError::not_found("APPROVAL_NOT_FOUND", "no such approval"))?;
    Ok((storage::decode(&approval_key(id), &raw)?, raw))
}

/// Conditions, labels and group sizes, read from Jira only when a step needs them.
pub struct LiveEval<'h> {
    host: &'h dyn Host,
    issue_key: String,
    issue: Option<Value>,
    approval_view: Value,
    definition: Value,
}

impl<'h> LiveEval<'h> {
    pub fn new(host: &'h dyn Host, a: &Approval) -> Self {
        LiveEval {
            host,
            issue_key: a.issue.key.clone(),
            issue: None,
            approval_view: views::approval_for_templates(a),
            definition: json!({"name": a.definition_name, "description": a.definition_description,
                               "purpose": a.definition_description}),
        }
    }
    pub fn with_issue(mut self, issue: Value) -> Self {
        self.issue = Some(issue);
        self
    }
    pub fn issue(&mut self) -> AppResult<&Value> {
        if self.issue.is_none() {
            let v = Jira::new(self.host)
                .issue(&self.issue_key, &["*all"], &[])
                .map_err(jira_error)?;
            self.issue = Some(v);
        }
        Ok(self.issue.as_ref().expect("just set"))
    }
    /// The OlivLang context for conditions and templates.
    pub fn context(&mut self, extra: Value) -> AppResult<Value> {
        let issue = self.issue()?.clone();
        let project_id = issue
            .pointer("/fields/project/id")
            .cloned()
            .unwrap_or(Value::Null);
        let mut ctx = json!({
            "approval": self.approval_view,
            "issue": issue,
            "project": {"id": project_id},
            "definition": self.definition,
            "crossApprovals": [],
            "promptSteps": {},
        });
        if let (Some(c), Some(e)) = (ctx.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        Ok(ctx)
    }
}

pub fn jira_error(e: jira::JiraError) -> AppError {
    match e {
        jira::JiraError::NotFound => {
            AppError::not_found("ISSUE_NOT_FOUND", "the issue is not visible")
        }
        other => AppError::from(other),
    }
}

impl Eval for LiveEval<'_> {
    fn skip_reason(&mut self, step: &Step) -> AppResult<Option<String>> {
        if let Some(label) = &step.label_condition {
            let has = self
                .issue()?
                .pointer("/fields/labels")
                .and_then(Value::as_array)
                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(label)));
            if !has {
                return Ok(Some(format!("the issue has no label {label:?}")));
            }
        }
        if let Some(expr) = &step.condition {
            let ctx = self.context(json!({}))?;
            return Ok(match olivlang::eval_condition(expr, &ctx) {
                Ok(true) => None,
                Ok(false) => Some("the condition is false".into()),
                // A broken condition skips the step with the reason rather than stalling the path.
                Err(e) => Some(format!("the condition failed: {e}")),
            });
        }
        Ok(None)
    }

    fn group_size(&mut self, group: &str) -> AppResult<u32> {
        let url = format!(
            "/rest/api/3/group/member?groupname={}&maxResults=1",
            jira::encode(group)
        );
        let v = Jira::new(self.host).request_app(&url).map_err(jira_error)?;
        Ok(v.get("total").and_then(Value::as_u64).unwrap_or(0) as u32)
    }
}

/// Builds a transition: `f` mutates the approval and returns the engine outcome.
pub type Transition<'a> = dyn FnMut(&mut Approval, &mut LiveEval<'_>) -> AppResult<Outcome> + 'a;

/// Loads, applies `f`, and commits — retrying from a fresh read when another writer won.
/// `extra` adds writes that must land with the transition (e.g. deleting the finished effect).
pub fn transition(
    host: &dyn Host,
    approval_id: &str,
    f: &mut Transition<'_>,
    extra: &dyn Fn(&mut Tx<'_>) -> AppResult<()>,
) -> AppResult<(Approval, Outcome)> {
    let store = Store::new(host);
    for _ in 0..MAX_ATTEMPTS {
        let (mut a, raw) = load(store, approval_id)?;
        let mut eval = LiveEval::new(host, &a);
        let out = f(&mut a, &mut eval)?;
        match commit(host, &mut a, Some(&raw), &out, extra) {
            Ok(()) => {
                after_commit(host, &a, &out);
                return Ok((a, out));
            }
            Err(AppError { code, .. }) if code == "STORAGE_CONFLICT" => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::conflict(
        "APPROVAL_BUSY",
        "the approval is changing too fast; try again",
    ))
}

/// One transaction: the approval (conditioned on `before`), its effects, tasks, indexes and
/// webhook deliveries. `before: None` creates it.
pub fn commit(
    host: &dyn Host,
    a: &mut Approval,
    before: Option<&str>,
    out: &Outcome,
    extra: &dyn Fn(&mut Tx<'_>) -> AppResult<()>,
) -> AppResult<()> {
    let store = Store::new(host);
    let now = host.now_ms();
    a.rev += 1;
    let mut tx = store.tx();
    tx.set_if_current(&approval_key(&a.id), &*a, before)?;
    for (phase, step_id) in &out.effects {
        let step = a
            .find(step_id)
            .map(|(_, s)| s)
            .expect("engine names its steps");
        let id = effect_id(&a.id, step_id, step.run);
        tx.create(
            &effect_key(&id),
            &Effect {
                id: id.clone(),
                approval_id: a.id.clone(),
                step_id: step_id.clone(),
                run: step.run,
                phase: *phase,
                attempts: 0,
                created_ms: now,
                queued_ms: now,
                failure_counted: false,
            },
        )?;
    }
    for step_id in &out.tasks_closed {
        tx.delete(&task_key(&a.id, step_id))?;
    }
    let opened: Vec<Task> = out.tasks_opened.iter().map(|s| task_of(a, s)).collect();
    // The inbox entries go first (see `inbox`): a crash after them leaves only entries readers
    // verify away, never an open task its approvers cannot find.
    super::inbox::stage_open(store, &opened)?;
    for t in &opened {
        tx.set(&task_key(&a.id, &t.step_id), t)?;
    }
    if out.closed {
        // A linked path: its starter learns the outcome from this record (inline, or from
        // OUTCOME_QUEUE), written with the close, so it is never lost between writes.
        if let Some(link) = &a.link {
            tx.set(
                &keys::path_outcome(&a.id),
                &json!({"approvalId": a.id, "subject": link.subject}),
            )?;
        } else {
            // No owner forgets it with its own records: the engine's retention finds it here.
            let at = a
                .completed_at
                .as_deref()
                .and_then(crate::time::parse)
                .unwrap_or(now);
            tx.set(&closed_key(at, &a.id), &json!({"approvalId": a.id}))?;
        }
        if let Some(d) = a.decision_deadline.as_deref().and_then(crate::time::parse) {
            tx.delete(&due_key(d, &a.id))?;
        }
        if let Some(v) = a
            .validity_expiration_date
            .as_deref()
            .and_then(crate::time::parse)
        {
            tx.set(&validity_key(v, &a.id), &json!({"approvalId": a.id}))?;
        }
    }
    if before.is_none() {
        tx.create(
            &by_issue_key(&a.issue.id, &a.id),
            &json!({"approvalId": a.id}),
        )?;
        let started = crate::time::parse(&a.started_at).unwrap_or(now);
        tx.set(
            &by_definition_key(&a.definition_id, started, &a.id),
            &json!({"approvalId": a.id}),
        )?;
        if let (Some(d), true) = (
            a.decision_deadline.as_deref().and_then(crate::time::parse),
            a.is_open(),
        ) {
            tx.set(&due_key(d, &a.id), &json!({"approvalId": a.id}))?;
        }
    }
    webhooks::stage_deliveries(store, &mut tx, a, &out.decided, now)?;
    // The sweep's hint is dirtied by the storage layer with any write above under its indexes
    // (an effect, a delivery, a deadline, a validity end: `storage::hint::WATCHED`).
    extra(&mut tx)?;
    tx.commit().map_err(|e| match e {
        StorageError::Conflict(k) if k == approval_key(&a.id) => {
            AppError::conflict("STORAGE_CONFLICT", "approval changed")
        }
        other => other.into(),
    })?;
    let closed: Vec<Task> = out.tasks_closed.iter().map(|s| task_of(a, s)).collect();
    super::inbox::drop_closed(host, &closed);
    Ok(())
}

/// Deletes the finished approvals linked to `subject` on issue `issue_id` (their owner's
/// retention: the request they decided is being deleted). Open approvals are left alone. Each
/// goes in one transaction of at most five deletes (its record last, so a crash leaves it for the
/// next run); closed paths have no open task, effect or deadline entry left. At most 20 a call.
/// Returns how many went.
pub fn forget_linked(store: Store<'_>, issue_id: &str, subject: &str) -> AppResult<u32> {
    let page = store.page::<Value>(&by_issue_prefix(issue_id), None, 20)?;
    let want: Vec<String> = page
        .items
        .iter()
        .filter_map(|(k, _)| k.rsplit(':').next().map(approval_key))
        .collect();
    let mut n = 0;
    for (_, a) in store.get_many::<Approval>(&want)? {
        if a.is_open() || a.link.as_ref().map(|l| l.subject.as_str()) != Some(subject) {
            continue;
        }
        forget(store, &a, None)?;
        n += 1;
    }
    Ok(n)
}

/// Retention of approvals no owner linked (started through the engine directly, D-255): those
/// finished at or before `cutoff_ms` are deleted with their indexes, oldest first, at most
/// `max` read from the `approval-closed:` index (so the cost follows what is due). Whoever
/// runs the installation's retention calls it with its cutoff; the engine knows no owner.
/// Returns how many went.
pub fn prune_closed_standalone(store: Store<'_>, cutoff_ms: u64, max: usize) -> AppResult<u32> {
    let due = store.due::<Value>(CLOSED_PREFIX, cutoff_ms, max)?;
    let want: Vec<String> = due
        .iter()
        .filter_map(|(k, _)| k.rsplit(':').next().map(approval_key))
        .collect();
    let found: std::collections::BTreeMap<String, Approval> =
        store.get_many::<Approval>(&want)?.into_iter().collect();
    let mut n = 0;
    for ((entry, _), key) in due.iter().zip(&want) {
        match found.get(key) {
            Some(a) if !a.is_open() && a.link.is_none() => {
                forget(store, a, Some(entry))?;
                n += 1;
            }
            // Gone already, or (never expected) open or linked again: only the entry goes.
            _ => store.delete(entry)?,
        }
    }
    Ok(n)
}

/// Deletes a finished approval and its index entries in one transaction (its record last in
/// the list, so a failure leaves it whole); `closed_entry` is its `approval-closed:` entry.
fn forget(store: Store<'_>, a: &Approval, closed_entry: Option<&String>) -> AppResult<()> {
    {
        let mut tx = store.tx();
        if let Some(e) = closed_entry {
            tx.delete(e)?;
        }
        if let Some(v) = a
            .validity_expiration_date
            .as_deref()
            .and_then(crate::time::parse)
        {
            tx.delete(&validity_key(v, &a.id))?;
        }
        if let Some(d) = a.decision_deadline.as_deref().and_then(crate::time::parse) {
            tx.delete(&due_key(d, &a.id))?;
        }
        if let Some(started) = crate::time::parse(&a.started_at) {
            tx.delete(&by_definition_key(&a.definition_id, started, &a.id))?;
        }
        tx.delete(&by_issue_key(&a.issue.id, &a.id))?;
        tx.delete(&approval_key(&a.id))?;
        tx.commit()?;
    }
    Ok(())
}

/// The inbox task of an open (or just closed) human step: who may take it, from its config.
fn task_of(a: &Approval, step_id: &str) -> Task {
    let (_, s) = a.find(step_id).expect("engine names its steps");
    let (approvers, delegates, group) = match &s.config {
        super::definition::StepConfig::User {
            approvers,
            delegates,
            ..
        } => (
            approvers.clone(),
            delegates.values().flatten().cloned().collect(),
            None,
        ),
        super::definition::StepConfig::Group { group, .. } => (vec![], vec![], Some(group.clone())),
        _ => (vec![], vec![], None),
    };
    Task {
        approval_id: a.id.clone(),
        step_id: step_id.to_string(),
        issue_key: a.issue.key.clone(),
        approval_name: a.name.clone(),
        step_name: s.name.clone(),
        approvers,
        delegates,
        group,
        activated_at: s.activated_at.clone().unwrap_or_default(),
    }
}

/// Queue pushes for what the commit staged. A failure here is logged, not returned: the
/// records exist and the sweep re-queues them.
pub fn after_commit(host: &dyn Host, a: &Approval, out: &Outcome) {
    let mut events = Vec::new();
    for (_, step_id) in &out.effects {
        if let Some((_, s)) = a.find(step_id) {
            events.push(json!({"effectId": effect_id(&a.id, step_id, s.run)}).to_string());
        }
    }
    if !events.is_empty() {
        if let Err(e) = host.queue_push(EFFECT_QUEUE, &events, 0) {
            host.log(
                Level::Warn,
                &format!("effects of {} not queued ({e}); the sweep will", a.id),
            );
        }
    }
    webhooks::queue_staged(host, a, &out.decided);
    if out.closed && a.link.is_some() {
        push_outcome(host, &a.id);
    }
}

/// Who depends on a definition: `definition-ref:<definition>:<owner>` = `{"usedBy": [...]}`,
/// written by the owner (AI Clearance's governance) in the transaction that starts or stops
/// depending on it. A definition with references cannot be deleted.
pub fn definition_ref_key(definition_id: &str, owner: &str) -> String {
    format!("definition-ref:{definition_id}:{owner}")
}

pub fn definition_ref_prefix(definition_id: &str) -> String {
    format!("definition-ref:{definition_id}:")
}

/// What references `definition_id` (`usedBy` of every owner), empty when nothing does.
pub fn definition_users(store: Store<'_>, definition_id: &str) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    for (_, v) in store.scan::<Value>(&definition_ref_prefix(definition_id), 20)? {
        out.extend(
            v["usedBy"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from),
        );
    }
    Ok(out)
}

/// Where a linked path's outcome is announced: `{"approvalId"}` (dispatch hands it to the
/// path's starter; the `path-outcome:` record is the safety net a sweep re-reads).
pub const OUTCOME_QUEUE: &str = "decisions";

pub fn push_outcome(host: &dyn Host, approval_id: &str) {
    let body = json!({"approvalId": approval_id}).to_string();
    if let Err(e) = host.queue_push(OUTCOME_QUEUE, &[body], 0) {
        host.log(
            Level::Warn,
            &format!("path outcome {approval_id} not queued ({e}); the sweep will"),
        );
    }
}
