//! The app's front door: every export of the component lands here. Both the WIT glue and
//! host-sim's native driver call these functions, so wasm and native runs share one code path.

use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation, Level};
use crate::storage::Store;
use crate::{access, approvals, audit, catalog, intake, requests};
use serde_json::{json, Value};

/// Largest resolver payload accepted (Forge's invoke payloads are small; this bounds parsing).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Resolver function keys, as the UI calls them (`invoke('<key>', payload)`).
pub const RESOLVERS: &[&str] = &[
    "admin.intake.get",
    "admin.intake.set",
    "admin.intake.rejections",
    "admin.intake.options",
    "admin.people.search",
    "admin.groups.search",
    "admin.catalog.list",
    "admin.catalog.get",
    "admin.catalog.upsert",
    "admin.audit.list",
    "admin.audit.verify",
    "admin.audit.checkpoint",
    "admin.audit.evidence",
    "requests.mine",
];

fn parse_payload(payload: &str) -> AppResult<Value> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(AppError::new(
            crate::error::ErrorKind::TooLarge,
            "PAYLOAD_TOO_LARGE",
            format!("payloads are limited to {MAX_PAYLOAD_BYTES} bytes"),
        ));
    }
    if payload.trim().is_empty() {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_str(payload).map_err(|e| {
        AppError::invalid("PAYLOAD_MALFORMED", format!("the payload is not JSON: {e}"))
    })?;
    if !v.is_object() {
        return Err(AppError::invalid(
            "PAYLOAD_MALFORMED",
            "the payload must be a JSON object",
        ));
    }
    Ok(v)
}

pub fn resolve(
    host: &dyn Host,
    inv: &Invocation,
    function_key: &str,
    payload: &str,
) -> AppResult<Value> {
    // An administrator's change is followed by a signed checkpoint that covers it, so the
    // evidence of a configuration change never waits for the hourly one.
    let watched = AppendWatch::new(host);
    let out = route(&watched, inv, function_key, payload);
    if watched.appended.get() && function_key.starts_with("admin.") {
        if let Err(e) = audit::checkpoint::sign_latest(
            host,
            &inv.cloud_id,
            audit::checkpoint::Witness::WhenSigning,
        ) {
            host.log(
                Level::Warn,
                &format!(
                    "audit: no checkpoint after {function_key} ({e:?}); the hourly one follows"
                ),
            );
        }
    }
    out
}

fn route(host: &dyn Host, inv: &Invocation, function_key: &str, payload: &str) -> AppResult<Value> {
    let p = parse_payload(payload)?;
    let store = Store::new(host);
    match function_key {
        "admin.intake.get" => {
            access::require_admin(host, inv)?;
            let cfg = intake::config::load(store)?;
            // The people the settings name, by name (issue 33: no ids where a person reads).
            let mut ids: Vec<&str> = Vec::new();
            if let Some(c) = &cfg {
                let a = &c.approvals;
                ids.extend(a.approver_account_ids.iter().map(String::as_str));
                ids.extend(a.escalation_targets.iter().map(String::as_str));
                for (boss, ds) in &a.delegates {
                    ids.push(boss);
                    ids.extend(ds.iter().map(String::as_str));
                }
                ids.push(&c.updated_by);
            }
            ids.sort_unstable();
            ids.dedup();
            let people = crate::names::display_names(host, crate::names::ADMINS, &ids)
                .map_err(AppError::from)?;
            Ok(json!({"config": cfg, "people": people}))
        }
        "admin.intake.set" => {
            let who = access::require_admin(host, inv)?;
            let cfg = intake::config::parse(&p)?;
            intake::options::check_against_jira(host, &cfg)?;
            Ok(json!({"config": intake::config::save(store, cfg, who)?}))
        }
        "admin.intake.options" => {
            access::require_admin(host, inv)?;
            intake::options::options(host, &p)
        }
        "admin.people.search" => {
            access::require_admin(host, inv)?;
            intake::options::search_people(host, &p)
        }
        "admin.groups.search" => {
            access::require_admin(host, inv)?;
            crate::jira::groups::search(host, &p)
        }
        "admin.intake.rejections" => {
            access::require_admin(host, inv)?;
            intake::ingest::rejections(store, &p)
        }
        "admin.catalog.list" => {
            access::require_admin(host, inv)?;
            Ok(json!({"tools": catalog::list(store)?}))
        }
        "admin.catalog.get" => {
            access::require_admin(host, inv)?;
            let id = p.get("id").and_then(Value::as_str).unwrap_or("");
            catalog::get(store, id)?
                .map(|t| json!({"tool": t}))
                .ok_or_else(|| AppError::not_found("TOOL_NOT_FOUND", format!("no tool {id:?}")))
        }
        "admin.catalog.upsert" => {
            let who = access::require_admin(host, inv)?;
            // The site's data classes are governance's list (the defaults until it names one).
            let classes = crate::clearance::governance::load(store)?
                .0
                .site_data_classes();
            // A save that weakens the tool's data profile is recorded for Insights' report of
            // grants approved before it (issue 35), in the save's transaction.
            let tool = catalog::save_with(store, &p, who, &classes, &|before, after| {
                crate::clearance::data_insights::on_tool_saved(who, before, after)
            })?;
            Ok(json!({ "tool": tool }))
        }
        "admin.audit.list" => {
            access::require_admin(host, inv)?;
            let cursor = p.get("cursor").and_then(Value::as_str);
            let page = store.page::<audit::AuditEntry>(
                crate::storage::keys::AUDIT_EVENT_PREFIX,
                cursor,
                20,
            )?;
            Ok(
                json!({"items": page.items.into_iter().map(|(_, e)| e).collect::<Vec<_>>(), "nextCursor": page.next_cursor}),
            )
        }
        // Verification runs as a job (`audit::work`); the resolver reads one record or starts
        // a run: `{"action": "start", "mode": "new" | "full"}`.
        "admin.audit.verify" => {
            let who = access::require_admin(host, inv)?;
            match p.get("action").and_then(Value::as_str) {
                None | Some("status") => audit::work::status(host),
                Some("start") => {
                    let mode = match p.get("mode").and_then(Value::as_str) {
                        None | Some("new") => audit::verify::Mode::New,
                        Some("full") => audit::verify::Mode::Full,
                        Some(other) => {
                            return Err(AppError::invalid(
                                "MODE_INVALID",
                                format!("mode must be \"new\" or \"full\", not {other:?}"),
                            ))
                        }
                    };
                    crate::ratelimit::take(store, crate::ratelimit::AUDIT_VERIFY, who)?;
                    audit::work::start(host, mode, who).map_err(|e| match e.code.as_str() {
                        "UNAVAILABLE" | "TIMEOUT" => AppError {
                            code: "AUDIT_UNVERIFIABLE".into(),
                            ..e
                        },
                        _ => e,
                    })
                }
                Some(other) => Err(AppError::invalid(
                    "ACTION_INVALID",
                    format!("action must be \"status\" or \"start\", not {other:?}"),
                )),
            }
        }
        // Signs a checkpoint of the current head now (if the latest does not cover it).
        "admin.audit.checkpoint" => {
            access::require_admin(host, inv)?;
            audit::checkpoint::sign_latest(
                host,
                &inv.cloud_id,
                audit::checkpoint::Witness::Always,
            )?;
            audit::work::status(host)
        }
        // The evidence pack of one request, verifiable offline with the public key.
        "admin.audit.evidence" => {
            let who = access::require_admin(host, inv)?;
            let issue = p.get("issueKey").and_then(Value::as_str).unwrap_or("");
            if issue.is_empty() {
                return Err(AppError::invalid(
                    "ISSUE_KEY_INVALID",
                    "issueKey is required",
                ));
            }
            crate::ratelimit::take(store, crate::ratelimit::EXPORTS, who)?;
            let pack = audit::pack::build(host, &inv.cloud_id, issue)?;
            Ok(json!({"fileName": format!("evidence-{issue}.json"), "pack": pack}))
        }
        "requests.mine" => requests::mine(store, inv, &p),
        // A step of a path AI Clearance linked to a request is decided through AI Clearance's
        // door, so the issue panel meets the Approvals tab's rules (pre-checks, rate limit,
        // admin fallback) and the kernel applies the outcome; the engine never reaches up.
        "approvals.decide" if linked_approval(store, &p)? => {
            let who = access::caller(inv)?;
            crate::clearance::tab::decide_linked_step(host, who, &p)
        }
        k if crate::panel::RESOLVERS.contains(&k) => crate::panel::resolve(host, inv, k, &p),
        k if crate::clearance::service::RESOLVERS.contains(&k) => {
            crate::clearance::service::resolve(host, inv, k, &p)
        }
        k if approvals::service::RESOLVERS.contains(&k) => {
            approvals::service::resolve(host, inv, k, &p)
        }
        k if crate::prompt::service::RESOLVERS.contains(&k) => {
            crate::prompt::service::resolve(host, inv, k, &p)
        }
        other => Err(AppError::not_found(
            "UNKNOWN_FUNCTION",
            format!("no resolver function {other:?}"),
        )),
    }
}

pub fn product_event(host: &dyn Host, inv: &Invocation, event: &str) -> AppResult<Value> {
    let v: Value = serde_json::from_str(event)
        .map_err(|e| AppError::invalid("EVENT_MALFORMED", format!("the event is not JSON: {e}")))?;
    match v.get("eventType").and_then(Value::as_str) {
        Some("avi:jira:created:issue") => Ok(intake::ingest::on_created(host, inv, &v)?.to_json()),
        other => {
            host.log(Level::Warn, &format!("ignored product event {other:?}"));
            Ok(json!({"outcome": "ignored"}))
        }
    }
}

/// Scheduled triggers by module key (at most 5 in the manifest).
pub fn scheduled(host: &dyn Host, inv: &Invocation) -> AppResult<Value> {
    match inv.module_key.as_str() {
        // Every 5 minutes: approval deadlines and lost effect/delivery jobs (and, with the AI
        // Prompt step, stuck PROMPT steps). The hourly escalation sweep runs the same safety net.
        // Hourly, the escalation sweep also escalates AI Clearance requests pending past their SLA.
        "prompt-step-cleanup" | "escalation-sweep" => {
            // The hourly run scans in full: the safety net under the 5-minute run's hint.
            let approvals = approvals::service::sweep(host, inv.module_key == "escalation-sweep")?;
            let escalated = if inv.module_key == "escalation-sweep" {
                crate::clearance::escalation::sweep(host, 200)?
            } else {
                0
            };
            let idle = escalated == 0
                && approvals
                    .as_object()
                    .is_some_and(|o| o.values().all(|v| v.as_u64() == Some(0)));
            let mut out = json!({"trigger": inv.module_key, "approvals": approvals});
            if inv.module_key == "escalation-sweep" {
                out["requestsEscalated"] = json!(escalated);
                // Hourly: a signed checkpoint of what was appended since the last one.
                match audit::checkpoint::sign_latest(
                    host,
                    &inv.cloud_id,
                    audit::checkpoint::Witness::WhenSigning,
                ) {
                    Ok(c) => out["checkpoint"] = json!(c.map(|c| c.size)),
                    Err(e) => {
                        host.log(
                            Level::Error,
                            &format!("audit: hourly checkpoint failed: {e:?}"),
                        );
                        out["checkpoint"] = json!({"error": AppError::from(e).code});
                    }
                }
            }
            if idle {
                out["work"] = json!("none");
            }
            return Ok(out);
        }
        // Hourly: expiry, jobs, notices and lost follow-ups (one read when idle).
        "job-runner" => return crate::clearance::runner::run(host, inv),
        // Daily: insights rollups from new audit entries (before retention can prune them),
        // recertification issues, audit and external-identity retention, the name directory's
        // fold, AI Prompt execution rows older than 90 days.
        "daily-maintenance" => {
            // Each task runs on its own: one that fails is reported (and logged) and the
            // others still run; each is bounded and picks up where it stopped the next day.
            type Task<'a> = (&'a str, Box<dyn Fn() -> AppResult<u64> + 'a>);
            let tasks: Vec<Task> = vec![
                (
                    "auditEntriesFolded",
                    Box::new(|| crate::clearance::admin::analytics(host, 20_000)),
                ),
                (
                    "requestsExpiredUndecided",
                    Box::new(|| crate::clearance::deadline::sweep(host, 500)),
                ),
                (
                    "recertificationIssues",
                    Box::new(|| crate::clearance::reminders::recertify(host, 500).map(u64::from)),
                ),
                (
                    "inactiveAccountGrantsRevoked",
                    Box::new(|| crate::clearance::lifecycle::revoke_inactive(host, 20_000)),
                ),
                (
                    "auditEntriesActorIndexed",
                    Box::new(|| audit::actors::backfill(host, 5_000)),
                ),
                (
                    "requestsToolIndexed",
                    Box::new(|| crate::clearance::tool_index::backfill(host, 2_000)),
                ),
                // Requesters on record before intake named them (D-242), then the sightings of
                // the day (and the backfill's) into the AI Prompt scrubber's name directory: its
                // only writer (D-240).
                (
                    "requestersNamedForTheScrubber",
                    Box::new(|| crate::clearance::name_backfill::backfill(host, 100)),
                ),
                (
                    "nameSightingsFolded",
                    Box::new(|| {
                        crate::names::directory::fold(host, crate::names::directory::FOLD_RECORDS)
                            .map_err(Into::into)
                    }),
                ),
                (
                    "auditEntriesPruned",
                    Box::new(|| crate::audit::retention::prune(host, 20_000)),
                ),
                (
                    "requestsPruned",
                    Box::new(|| crate::clearance::retention::prune(host, 500)),
                ),
                (
                    "identitiesPruned",
                    Box::new(|| {
                        crate::provisioning::identities::prune_released(host, 2_000).map(u64::from)
                    }),
                ),
                (
                    "auditVerificationStarted",
                    Box::new(|| audit::work::start_if_behind(host).map(u64::from)),
                ),
                (
                    "promptExecutionsPruned",
                    Box::new(|| crate::prompt::worker::prune_executions(host)),
                ),
            ];
            let mut out = json!({"trigger": inv.module_key});
            let mut failed = serde_json::Map::new();
            let mut work = 0;
            for (name, task) in tasks {
                match task() {
                    Ok(n) => {
                        work += n;
                        out[name] = json!(n);
                    }
                    Err(e) => {
                        host.log(
                            Level::Error,
                            &format!("daily maintenance: {name} failed: {e}"),
                        );
                        failed.insert(
                            name.to_string(),
                            json!({"code": e.code, "message": e.message}),
                        );
                    }
                }
            }
            if !failed.is_empty() {
                out["failed"] = Value::Object(failed);
            } else if work == 0 {
                out["work"] = json!("none");
            }
            return Ok(out);
        }
        // Weekly: one reconciliation check per connected tool, each in its own queue invocation.
        "weekly-reconciliation" => {
            let queued = crate::provisioning::reconciliation::schedule(host, None)?;
            let mut out = json!({"trigger": inv.module_key, "reconciliationChecksQueued": queued});
            if queued == 0 {
                out["work"] = json!("none");
            }
            return Ok(out);
        }
        _ => {}
    }
    host.log(
        Level::Info,
        &format!(
            "scheduled trigger {} has no work in this release",
            inv.module_key
        ),
    );
    Ok(json!({"trigger": inv.module_key, "work": "none"}))
}

/// The wait before a queue event that met a transient platform error without a Retry-After
/// comes back.
const TRANSIENT_RETRY_S: u32 = 30;

/// Queue consumers. Returns `Ok(None)` when done, `Ok(Some(seconds))` to ask for redelivery.
///
/// Every consumer's work is idempotent per event, so when the platform throttles storage (Forge's
/// per-minute KVS budget, 429 with Retry-After) the event asks to come back after the wait it was
/// given instead of failing: a burst of follow-ups spreads into the next minutes (issue 32).
pub fn queue_event(
    host: &dyn Host,
    inv: &Invocation,
    queue_key: &str,
    body: &str,
) -> AppResult<Option<u32>> {
    use crate::error::ErrorKind;
    match consume(host, inv, queue_key, body) {
        // Throttled (Forge's KVS budget, a 429 from Jira) or a platform service briefly down
        // (a 5xx, a timeout): come back after the wait the platform gave, else 30 s. Forge's
        // five deliveries bound it; after them the safety nets finish the work.
        Err(e) if matches!(e.kind, ErrorKind::RateLimited | ErrorKind::Unavailable) => {
            let wait = e.retry_after_s.unwrap_or(TRANSIENT_RETRY_S).clamp(1, 900);
            host.log(
                Level::Warn,
                &format!(
                    "queue {queue_key}: {} ({}); back in {wait}s",
                    e.code, e.message
                ),
            );
            Ok(Some(wait))
        }
        other => other,
    }
}

fn consume(
    host: &dyn Host,
    inv: &Invocation,
    queue_key: &str,
    body: &str,
) -> AppResult<Option<u32>> {
    let v: Value = serde_json::from_str(body).map_err(|e| {
        AppError::invalid("EVENT_MALFORMED", format!("queue event is not JSON: {e}"))
    })?;
    match queue_key {
        intake::ingest::RETRY_QUEUE => intake::ingest::retry(host, inv, &v),
        approvals::store::EFFECT_QUEUE => approvals::effects::run(host, field(&v, "effectId")?),
        approvals::store::WEBHOOK_QUEUE => {
            approvals::webhooks::deliver(host, field(&v, "deliveryId")?)
        }
        crate::clearance::notices::QUEUE => {
            if let Some(id) = v.get("noticeId").and_then(Value::as_str) {
                return crate::clearance::notices::run(host, id);
            }
            if let Some(id) = v
                .get(crate::clearance::deferred::EVENT_FIELD)
                .and_then(Value::as_str)
            {
                return crate::clearance::deferred::run(host, id);
            }
            crate::clearance::routing::apply_outcome(host, field(&v, "approvalId")?)?;
            Ok(None)
        }
        crate::clearance::jobs::QUEUE => {
            if let Some(tool) = v
                .get(crate::provisioning::reconciliation::EVENT_FIELD)
                .and_then(Value::as_str)
            {
                crate::provisioning::reconciliation::check_tool(host, inv, tool)?;
                return Ok(None);
            }
            crate::clearance::jobs::run(host, inv, field(&v, "jobId")?)
        }
        audit::work::QUEUE => audit::work::consume(host, &v),
        crate::clearance::exports::QUEUE => {
            crate::clearance::exports::slice(host, field(&v, "exportId")?)
        }
        approvals::effects::PROMPT_QUEUE => {
            crate::prompt::worker::run(host, field(&v, "effectId")?)
        }
        other => Err(AppError::not_found(
            "UNKNOWN_QUEUE",
            format!("no consumer for queue {other:?}"),
        )),
    }
}

/// Whether the payload's approval is linked to a subject (an AI Clearance request).
fn linked_approval(store: Store<'_>, p: &Value) -> AppResult<bool> {
    let Some(id) = p.get("approvalId").and_then(Value::as_str) else {
        return Ok(false);
    };
    match approvals::store::load(store, id) {
        Ok((a, _)) => Ok(a.link.is_some()),
        Err(e) if e.code == "APPROVAL_NOT_FOUND" => Ok(false),
        Err(e) => Err(e),
    }
}

fn field<'a>(v: &'a Value, name: &str) -> AppResult<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::invalid("EVENT_INVALID", format!("queue event without {name}")))
}

/// The host, watched for appends to the audit trail (a transaction that moves `audit-head`).
struct AppendWatch<'h> {
    inner: &'h dyn Host,
    appended: std::cell::Cell<bool>,
}

impl<'h> AppendWatch<'h> {
    fn new(inner: &'h dyn Host) -> Self {
        AppendWatch {
            inner,
            appended: std::cell::Cell::new(false),
        }
    }
}

impl Host for AppendWatch<'_> {
    fn kvs_get(&self, key: &str) -> Result<Option<String>, crate::host::HostError> {
        self.inner.kvs_get(key)
    }
    fn kvs_set(
        &self,
        key: &str,
        value: &str,
        options: crate::host::SetOptions,
    ) -> Result<(), crate::host::HostError> {
        self.inner.kvs_set(key, value, options)
    }
    fn kvs_delete(&self, key: &str) -> Result<(), crate::host::HostError> {
        self.inner.kvs_delete(key)
    }
    fn kvs_query(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<crate::host::QueryPage, crate::host::HostError> {
        self.inner.kvs_query(prefix, cursor, limit)
    }
    fn kvs_batch_get(
        &self,
        keys: &[String],
    ) -> Result<Vec<crate::host::Entry>, crate::host::HostError> {
        self.inner.kvs_batch_get(keys)
    }
    fn kvs_transact(&self, ops: &[crate::host::TxOp]) -> Result<(), crate::host::HostError> {
        self.inner.kvs_transact(ops)?;
        if ops
            .iter()
            .any(|o| o.key() == crate::storage::keys::AUDIT_HEAD)
        {
            self.appended.set(true);
        }
        Ok(())
    }
    fn secret_get(&self, key: &str) -> Result<Option<String>, crate::host::HostError> {
        self.inner.secret_get(key)
    }
    fn secret_set(&self, key: &str, value: &str) -> Result<(), crate::host::HostError> {
        self.inner.secret_set(key, value)
    }
    fn secret_delete(&self, key: &str) -> Result<(), crate::host::HostError> {
        self.inner.secret_delete(key)
    }
    fn jira(
        &self,
        principal: crate::host::Principal,
        req: &crate::host::HttpRequest,
    ) -> Result<crate::host::HttpResponse, crate::host::HostError> {
        self.inner.jira(principal, req)
    }
    fn fetch(
        &self,
        req: &crate::host::HttpRequest,
    ) -> Result<crate::host::HttpResponse, crate::host::HostError> {
        self.inner.fetch(req)
    }
    fn llm_chat(&self, prompt: &str) -> Result<String, crate::host::HostError> {
        self.inner.llm_chat(prompt)
    }
    fn queue_push(
        &self,
        queue_key: &str,
        events: &[String],
        delay_seconds: u32,
    ) -> Result<(), crate::host::HostError> {
        self.inner.queue_push(queue_key, events, delay_seconds)
    }
    fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }
    fn remaining_ms(&self) -> u64 {
        self.inner.remaining_ms()
    }
    fn random_bytes(&self, len: u32) -> Vec<u8> {
        self.inner.random_bytes(len)
    }
    fn log(&self, level: Level, message: &str) {
        self.inner.log(level, message)
    }
    fn env(&self, name: &str) -> Option<String> {
        self.inner.env(name)
    }
}
