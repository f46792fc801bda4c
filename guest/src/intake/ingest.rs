//! The issue-created trigger (`avi:jira:created:issue`).
//!
//! Cost per ingest: two batched KVS reads, one Jira call (every field and both snapshot
//! properties in one `GET issue`, handed on to routing so an approval path's start reads the
//! issue no second time), one secret read and one KVS transaction that writes the request, its
//! index keys and its audit entry together. Idempotent: the request key is created only if
//! absent, so a duplicate delivery — or a redelivery after a crash between any two host calls —
//! ends in the same state with one request and one audit entry.

use super::config::IntakeConfig;
use super::snapshot::{self, Snapshot, SnapshotError, SnapshotTool, SNAPSHOT_KEY};
use crate::audit::{self, AuditDraft};
use crate::catalog::{Tool, ToolStatus};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation, Level};
use crate::jira::{Jira, JiraError};
use crate::requests::{Decision, Request, RequestedTool};
use crate::storage::{keys, StorageError, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const RETRY_QUEUE: &str = "intake-retry";
/// Deliveries of one created event before it becomes an `INTAKE_FAILED` rejection: the waits
/// (30 s doubling to the 15-minute queue delay limit) add up to about two hours, so a Jira or
/// storage outage of that length loses no request (D-74; `dst` found five attempts gave up
/// inside a 20-minute outage).
pub const MAX_RETRY_ATTEMPTS: u32 = 12;
/// The fields intake reads itself, besides the request type field.
const ISSUE_FIELDS: [&str; 6] = [
    "summary",
    "description",
    "project",
    "reporter",
    "creator",
    "created",
];

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ingested {
        issue_key: String,
        audit_seq: u64,
    },
    Duplicate {
        issue_key: String,
    },
    Rejected {
        issue_key: String,
        code: String,
    },
    Skipped {
        issue_key: String,
        reason: String,
    },
    /// Jira was unavailable; the event was queued to try again later.
    Deferred {
        issue_key: String,
        retry_after_s: u32,
        attempt: u32,
    },
}

impl Outcome {
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Ingested {
                issue_key,
                audit_seq,
            } => json!({"outcome": "ingested", "issueKey": issue_key, "auditSeq": audit_seq}),
            Outcome::Duplicate { issue_key } => {
                json!({"outcome": "duplicate", "issueKey": issue_key})
            }
            Outcome::Rejected { issue_key, code } => {
                json!({"outcome": "rejected", "issueKey": issue_key, "code": code})
            }
            Outcome::Skipped { issue_key, reason } => {
                json!({"outcome": "skipped", "issueKey": issue_key, "reason": reason})
            }
            Outcome::Deferred {
                issue_key,
                retry_after_s,
                attempt,
            } => {
                json!({"outcome": "deferred", "issueKey": issue_key, "retryAfterSeconds": retry_after_s, "attempt": attempt})
            }
        }
    }
}

/// A rejected snapshot, listed for admins (spec §11 "check trigger logs for validation errors").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    pub issue_id: String,
    pub issue_key: String,
    pub project_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_account_id: Option<String>,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    pub at: String,
}

/// The parts of the event payload intake uses.
#[derive(Debug, Clone)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
    pub project_key: String,
    pub project_id: String,
    pub reporter: Option<String>,
    pub created: Option<String>,
}

pub fn parse_event(event: &Value) -> AppResult<CreatedIssue> {
    let bad = |what: &str| {
        AppError::invalid(
            "EVENT_INVALID",
            format!("the issue-created event has no {what}"),
        )
    };
    let issue = event.get("issue").ok_or_else(|| bad("issue"))?;
    let id = issue
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("numeric issue.id"))?;
    let key = issue
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| k.len() <= 64 && k.contains('-') && crate::storage::check_key(k).is_ok())
        .ok_or_else(|| bad("issue.key"))?;
    let fields = issue.get("fields").ok_or_else(|| bad("issue.fields"))?;
    let project = fields
        .get("project")
        .ok_or_else(|| bad("issue.fields.project"))?;
    let account = |f: &str| {
        fields
            .get(f)
            .and_then(|u| u.get("accountId"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    Ok(CreatedIssue {
        id: id.to_string(),
        key: key.to_string(),
        project_key: project
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("project key"))?
            .to_string(),
        project_id: project
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        reporter: account("reporter")
            .or_else(|| account("creator"))
            .or_else(|| {
                event
                    .get("atlassianId")
                    .and_then(Value::as_str)
                    .map(String::from)
            }),
        created: fields
            .get("created")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

/// Handles one delivery of the event (`attempt` counts retries after Jira outages).
pub fn ingest(
    host: &dyn Host,
    inv: &Invocation,
    event: &Value,
    attempt: u32,
) -> AppResult<Outcome> {
    let store = Store::new(host);
    let ev = parse_event(event)?;
    debug_assert!(ev.id.bytes().all(|b| b.is_ascii_digit()));

    // 1. Configuration and the duplicate check, in one read.
    let first = store.batch_get(&[keys::SITE_INTAKE_CONFIG.to_string(), keys::request(&ev.id)])?;
    let Some(cfg_text) = first.get(keys::SITE_INTAKE_CONFIG) else {
        host.log(
            Level::Info,
            &format!("intake: {} skipped: intake is not configured", ev.key),
        );
        return Ok(Outcome::Skipped {
            issue_key: ev.key,
            reason: "NOT_CONFIGURED".into(),
        });
    };
    let cfg: IntakeConfig = crate::storage::decode(keys::SITE_INTAKE_CONFIG, cfg_text)?;
    if ev.project_key != cfg.project_key {
        return Ok(Outcome::Skipped {
            issue_key: ev.key,
            reason: "WRONG_PROJECT".into(),
        });
    }
    if let Some(text) = first.get(&keys::request(&ev.id)) {
        host.log(
            Level::Info,
            &format!("intake: {} already ingested (duplicate delivery)", ev.key),
        );
        // A crash between the request write and routing leaves it pending and unrouted: the
        // redelivery finishes the job (routing is idempotent).
        let r: Request = crate::storage::decode(&keys::request(&ev.id), text)?;
        if r.decision == Decision::Pending && r.route.is_none() {
            route(host, &ev);
        }
        return Ok(Outcome::Duplicate { issue_key: ev.key });
    }

    // 2. The issue: fields, request type and both snapshot properties in one call.
    let app_uuid = inv.app_uuid().to_string();
    // Every field (`*all`), not only intake's own: an approval path that routing starts
    // evaluates its conditions and templates against the whole issue, and handing this read on
    // saves that start a second Jira call per request (D-106). If the whole issue nests too
    // deeply to read, intake's own fields are read instead and routing reads on its own, as it
    // did before.
    let fields: Vec<&str> = ISSUE_FIELDS
        .iter()
        .copied()
        .chain([cfg.request_type_field_id.as_str()])
        .collect();
    let properties = [app_uuid.as_str(), SNAPSHOT_KEY];
    let (read, whole) = match Jira::new(host).issue(&ev.key, &["*all"], &properties) {
        Err(JiraError::TooDeep) => (Jira::new(host).issue(&ev.key, &fields, &properties), false),
        r => (r, true),
    };
    let mut issue = match read {
        Ok(v) => v,
        Err(JiraError::TooDeep) => return too_deep(store, &ev, event, attempt, &fields),
        Err(JiraError::NotFound) => {
            host.log(
                Level::Warn,
                &format!("intake: {} skipped: the issue no longer exists", ev.key),
            );
            return Ok(Outcome::Skipped {
                issue_key: ev.key,
                reason: "ISSUE_GONE".into(),
            });
        }
        Err(e) if e.is_transient() => return defer(host, &ev, event, attempt, &e),
        Err(e) => return Err(e.into()),
    };
    // Jira, not the event, says which issue this is (D-45).
    let (ev, mismatch) = trust_jira(ev, &issue);
    if let Some(message) = mismatch {
        return reject(store, &ev, "ISSUE_ID_MISMATCH", None, &message);
    }
    if ev.project_key != cfg.project_key {
        return Ok(Outcome::Skipped {
            issue_key: ev.key,
            reason: "WRONG_PROJECT".into(),
        });
    }
    let located = snapshot::locate(issue.get("properties"), &app_uuid);
    let f = issue.get("fields").unwrap_or(&Value::Null);

    // 3. Portal gating (§7.3). Issues without a snapshot are simply not AI Clearance requests;
    //    with one, the mismatch is recorded so an admin can see why nothing was ingested.
    let request_type = f
        .get(&cfg.request_type_field_id)
        .and_then(|v| v.get("requestType"));
    let rt_id = request_type
        .and_then(|rt| rt.get("id"))
        .and_then(super::config::numeric_id);
    let portal_id = request_type
        .and_then(|rt| rt.get("portalId").or_else(|| rt.get("serviceDeskId")))
        .and_then(super::config::numeric_id);
    let gate = match (rt_id, portal_id) {
        (None, _) | (_, None) => Some((
            "NOT_A_PORTAL_REQUEST",
            "the issue was not created through a JSM portal request type".to_string(),
        )),
        (Some(_), Some(p)) if p != cfg.portal_id => Some((
            "WRONG_PORTAL",
            format!("portal {p} is not the intake portal {}", cfg.portal_id),
        )),
        (Some(rt), Some(_)) if !cfg.allows_request_type(rt) => Some((
            "REQUEST_TYPE_NOT_ALLOWED",
            format!(
                "request type {rt} is not one of the intake request types {:?}",
                cfg.request_type_ids
            ),
        )),
        _ => None,
    };
    if let Some((code, message)) = gate {
        if located.is_none() {
            return Ok(Outcome::Skipped {
                issue_key: ev.key,
                reason: code.into(),
            });
        }
        return reject(store, &ev, code, None, &message);
    }

    // 4. The snapshot itself.
    let Some((raw, source)) = located else {
        let e = SnapshotError::Missing;
        return reject(store, &ev, e.code(), e.field(), &e.message());
    };
    let snap = match snapshot::parse(raw) {
        Ok(s) => s,
        Err(e) => return reject(store, &ev, e.code(), e.field(), &e.message()),
    };

    // 5. Catalog facts and the audit chain's state, in one read.
    let tool_key = match &snap.tool {
        SnapshotTool::Catalog { id } => Some(keys::tool(id)),
        SnapshotTool::New { .. } => None,
    };
    let mut second_keys = vec![
        keys::AUDIT_HEAD.to_string(),
        keys::AUDIT_MAC_KEY_ID.to_string(),
        keys::GOVERNANCE_POLICY.to_string(),
    ];
    second_keys.extend(tool_key.clone());
    let exception_key = match (&snap.tool, &ev.reporter) {
        (SnapshotTool::Catalog { id }, Some(r)) if crate::storage::check_key(r).is_ok() => {
            Some(keys::governance_exception_by_subject(id, r))
        }
        _ => None,
    };
    second_keys.extend(exception_key.clone());
    let second = store.batch_get(&second_keys)?;
    let tool: Option<Tool> = tool_key
        .as_ref()
        .and_then(|k| second.get(k).map(|t| crate::storage::decode(k, t)))
        .transpose()?;
    let gov = crate::clearance::governance::from_text(second.get(keys::GOVERNANCE_POLICY))?;
    // An active exception raises this person's maximum for this tool (§4.5 controlled overrides).
    let exception_max = crate::clearance::governance::exception_max_days(
        store,
        exception_key
            .as_ref()
            .and_then(|k| second.get(k))
            .map(String::as_str),
    )?;
    let requested_tool = match check_tool(&snap, tool.as_ref(), &gov, exception_max) {
        Ok(t) => t,
        // A governance refusal over data is part of the audit trail (issue 35), with what was
        // declared and the governance version that refused it.
        Err(e @ SnapshotError::DataClassProhibited(_)) => {
            let mut d = AuditDraft::new("request_refused", ev.reporter.as_deref().unwrap_or("app"));
            d.issue_key = Some(ev.key.clone());
            d.subject = json!({"requestId": ev.id});
            d.policy_version = Some(gov.version);
            d.data = json!({"code": e.code(), "reason": e.message(),
                            "tool": snap.tool, "dataClasses": snap.data_classes});
            return reject_with(store, &ev, e.code(), e.field(), &e.message(), Some(d));
        }
        Err(e) => return reject(store, &ev, e.code(), e.field(), &e.message()),
    };

    // 6. One transaction: the request, its indexes and its audit entry, or nothing.
    let now = host.now_ms();
    let requester = ev
        .reporter
        .clone()
        .or_else(|| {
            f.get("reporter")
                .and_then(|r| r.get("accountId"))
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let requested_at = ev
        .created
        .clone()
        .or_else(|| f.get("created").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| crate::time::rfc3339(now));
    let requested_ms = crate::time::parse(&requested_at).unwrap_or(now);
    let request = Request {
        issue_id: ev.id.clone(),
        issue_key: ev.key.clone(),
        project_key: ev.project_key.clone(),
        project_id: ev.project_id.clone(),
        portal_id: portal_id.unwrap_or_default(),
        request_type_id: rt_id.unwrap_or_default(),
        summary: f
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(500)
            .collect(),
        description_text: crate::adf::to_text(f.get("description").unwrap_or(&Value::Null))
            .chars()
            .take(8_000)
            .collect(),
        requested_at: crate::time::rfc3339(requested_ms),
        ingested_at: crate::time::rfc3339(now),
        ..Request::pending(&requester, requested_tool, &snap, source)
    };
    let mut draft = AuditDraft::new("request_created", &requester);
    draft.issue_key = Some(ev.key.clone());
    draft.subject = json!({"requestId": ev.id});
    draft.data = json!({"tool": request.tool, "durationDays": request.duration_days, "snapshotSource": source});
    if !request.data_classes.is_empty() {
        draft.data["dataClasses"] = json!(request.data_classes);
    }

    // The requester's name joins what the AI Prompt step's scrubber knows (issue 34 item 2:
    // requesters on record), whether or not a screen ever shows them: a sighting for the name
    // directory's daily fold (D-241), from the issue already read (no Jira call), one write and
    // no read. Before the request's transaction and keyed by the request's time, so a crash
    // anywhere and the redelivery write the same record; best effort (never fails intake).
    if let Some(name) = f.pointer("/reporter/displayName").and_then(Value::as_str) {
        crate::names::directory::seen(host, requested_ms, &[(requester.as_str(), name)]);
    }
    let escalate_after_ms = cfg.approvals.escalation_after_hours as u64 * 3_600_000;
    let mac_key = audit::mac_key(store, Some(second.get(keys::AUDIT_MAC_KEY_ID).cloned()))?;
    let head_hint = Some(second.get(keys::AUDIT_HEAD).cloned());
    let (issue_id, issue_key, project_key) =
        (ev.id.clone(), ev.key.clone(), ev.project_key.clone());
    let tool_key = request.tool_key();
    let result = audit::commit_with_audit(
        store,
        &mac_key,
        head_hint,
        std::slice::from_ref(&draft),
        |tx| {
            tx.create(&keys::request(&issue_id), &request)?;
            tx.set(
                &keys::request_by_requester(&requester, requested_ms, &issue_id),
                &issue_id,
            )?;
            tx.set(
                &keys::request_by_decision("pending", &project_key, &issue_id),
                &issue_id,
            )?;
            // The overview's pending counter learns it from this delta (D-250).
            tx.set(&keys::pending_delta(&issue_id, "in"), &1i64)?;
            tx.set(&keys::request_by_issue_key(&issue_key), &issue_id)?;
            tx.set(&keys::request_by_time(requested_ms, &issue_id), &issue_id)?;
            tx.set(
                &keys::request_by_tool(&tool_key, "pending", requested_ms, &issue_id),
                &issue_id,
            )?;
            // The daily deadline pass expires it if nobody decides it in time (pinned now,
            // counted from now: a request the app learns of late still gets its full window).
            tx.set(
                &keys::decision_deadline(
                    now + gov.decision_deadline_days as u64 * 86_400_000,
                    &issue_id,
                ),
                &issue_id,
            )?;
            if escalate_after_ms > 0 {
                // The hourly escalation sweep reads only requests whose SLA has run out.
                tx.set(
                    &keys::escalation_due(requested_ms + escalate_after_ms, &issue_id),
                    &issue_id,
                )?;
            }
            Ok(())
        },
    );
    match result {
        Ok(seqs) => {
            host.log(
                Level::Info,
                &format!(
                    "intake: {} ingested as a pending request (audit #{})",
                    ev.key, seqs[0]
                ),
            );
            let raw = crate::storage::encode(&request)?;
            // A path sees the issue as a plain read shows it: without the app's properties.
            let whole_issue = whole.then(|| {
                if let Some(o) = issue.as_object_mut() {
                    o.remove("properties");
                }
                issue
            });
            report_route(
                host,
                &ev,
                crate::clearance::routing::route_request(
                    host,
                    request,
                    raw,
                    &gov,
                    whole_issue,
                    Some(tool.as_ref()),
                ),
            );
            Ok(Outcome::Ingested {
                issue_key: ev.key,
                audit_seq: seqs[0],
            })
        }
        Err(StorageError::Conflict(k)) if k == keys::request(&ev.id) => {
            host.log(
                Level::Info,
                &format!("intake: {} already ingested (concurrent delivery)", ev.key),
            );
            Ok(Outcome::Duplicate { issue_key: ev.key })
        }
        Err(e) => Err(e.into()),
    }
}

/// Routing (auto-approval, approval path or direct) right after the request is stored. A failure
/// here never loses the request: it stays pending and unrouted, a redelivery or the hourly job
/// runner routes it, and approvers can decide it directly meanwhile.
fn route(host: &dyn Host, ev: &CreatedIssue) {
    report_route(
        host,
        ev,
        crate::clearance::routing::after_intake(host, &ev.id),
    );
}

fn report_route(host: &dyn Host, ev: &CreatedIssue, result: AppResult<Value>) {
    match result {
        Ok(v) => host.log(
            Level::Info,
            &format!(
                "intake: {} routed: {}",
                ev.key,
                v["route"].as_str().unwrap_or("?")
            ),
        ),
        Err(e) => host.log(
            Level::Warn,
            &format!(
                "intake: {} stays pending unrouted ({e}); the job runner retries",
                ev.key
            ),
        ),
    }
}

/// The event's issue as Jira reports it. The event only names the issue; its id must be the one
/// Jira returns for its key, or the event is refused (a forged or stale payload would otherwise
/// create a second request for the same issue). Key, project and people come from Jira too.
fn trust_jira(mut ev: CreatedIssue, issue: &Value) -> (CreatedIssue, Option<String>) {
    let jira_id = issue
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let f = issue.get("fields");
    if let Some(k) = issue
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| k.len() <= 64 && crate::storage::check_key(k).is_ok())
    {
        ev.key = k.to_string();
    }
    if jira_id != Some(ev.id.as_str()) {
        let message = format!(
            "the event names issue id {} but Jira says {} is {}; the event was not trusted",
            ev.id,
            ev.key,
            jira_id.unwrap_or("unknown")
        );
        if let Some(real) = jira_id {
            // Recorded under the real issue, where an admin looks for it.
            ev.id = real.to_string();
        }
        return (ev, Some(message));
    }
    let project = f.and_then(|f| f.get("project"));
    if let Some(k) = project.and_then(|p| p.get("key")).and_then(Value::as_str) {
        ev.project_key = k.to_string();
    }
    if let Some(id) = project.and_then(|p| p.get("id")).and_then(Value::as_str) {
        ev.project_id = id.to_string();
    }
    let account = |name: &str| {
        f.and_then(|f| f.get(name))
            .and_then(|u| u.get("accountId"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    if let Some(r) = account("reporter").or_else(|| account("creator")) {
        ev.reporter = Some(r);
    }
    if let Some(c) = f
        .and_then(|f| f.get("created"))
        .and_then(Value::as_str)
        .filter(|c| crate::time::parse(c).is_some())
    {
        ev.created = Some(c.to_string());
    }
    (ev, None)
}

/// Jira's answer nests deeper than JSON can be read. The issue is read again without its
/// properties: if that reads, the snapshot is the culprit and is rejected like any other bad
/// snapshot (retrying would give the same answer every time).
fn too_deep(
    store: Store<'_>,
    ev: &CreatedIssue,
    event: &Value,
    attempt: u32,
    fields: &[&str],
) -> AppResult<Outcome> {
    let host = store.host;
    match Jira::new(host).issue(&ev.key, fields, &[]) {
        Ok(issue) => {
            let (ev, mismatch) = trust_jira(ev.clone(), &issue);
            if let Some(message) = mismatch {
                return reject(store, &ev, "ISSUE_ID_MISMATCH", None, &message);
            }
            let e = SnapshotError::TooDeep;
            reject(store, &ev, e.code(), e.field(), &e.message())
        }
        Err(JiraError::TooDeep) => reject(
            store,
            ev,
            "ISSUE_UNREADABLE",
            None,
            "the issue's fields nest too deeply to read",
        ),
        Err(JiraError::NotFound) => Ok(Outcome::Skipped {
            issue_key: ev.key.clone(),
            reason: "ISSUE_GONE".into(),
        }),
        Err(e) if e.is_transient() => defer(host, ev, event, attempt, &e),
        Err(e) => Err(e.into()),
    }
}

/// Catalog rules: the tool must exist and be approved; the duration must fit the governance
/// maximum of its risk level (or the person's active exception). New (unassessed) tools are held
/// to the `high` risk maximum, and refused when governance blocks unknown tools.
pub(crate) fn check_tool(
    snap: &Snapshot,
    tool: Option<&Tool>,
    gov: &crate::clearance::governance::Governance,
    exception_max: Option<u32>,
) -> Result<RequestedTool, SnapshotError> {
    match &snap.tool {
        SnapshotTool::Catalog { id } => {
            let t = tool.ok_or_else(|| SnapshotError::ToolUnknown(id.clone()))?;
            if t.status != ToolStatus::Approved {
                return Err(SnapshotError::ToolNotRequestable {
                    id: id.clone(),
                    status: t.status.as_str().into(),
                });
            }
            let max = gov.max_days_for(t.risk_level, exception_max);
            if snap.duration_days > max {
                return Err(SnapshotError::DurationTooLong {
                    requested: snap.duration_days,
                    max,
                    why: format!("{} risk", t.risk_level.as_str()),
                });
            }
            check_classes(snap, Some(t), gov)?;
            Ok(RequestedTool::Catalog {
                id: t.id.clone(),
                display_name: t.display_name.clone(),
                risk_level: t.risk_level.as_str().into(),
            })
        }
        SnapshotTool::New { name, .. } if gov.block_unknown_tools => {
            Err(SnapshotError::UnknownToolBlocked(name.clone()))
        }
        SnapshotTool::New { name, url } => {
            let max = gov.max_days(crate::catalog::RiskLevel::High);
            if snap.duration_days > max {
                return Err(SnapshotError::DurationTooLong {
                    requested: snap.duration_days,
                    max,
                    why: "a tool not yet in the catalog is treated as high risk".into(),
                });
            }
            check_classes(snap, None, gov)?;
            Ok(RequestedTool::New {
                name: name.clone(),
                url: url.clone(),
            })
        }
    }
}

/// The declared data classes: each one of the site's classes, none that governance prohibits
/// for the tool (issue 35). Classes the tool's profile does not list are allowed here; the
/// kernel sends them to a person (never approved without one).
fn check_classes(
    snap: &Snapshot,
    tool: Option<&Tool>,
    gov: &crate::clearance::governance::Governance,
) -> Result<(), SnapshotError> {
    if snap.data_classes.is_empty() {
        return Ok(());
    }
    let site = gov.site_data_classes();
    if let Some(c) = snap.data_classes.iter().find(|c| !site.contains(c)) {
        return Err(SnapshotError::DataClassUnknown(format!(
            "{c:?} is not one of the site's data classes ({})",
            site.join(", ")
        )));
    }
    let a = crate::catalog::data::assess(
        &snap.data_classes,
        tool.map(|t| t.id.as_str()),
        tool.and_then(|t| t.data_profile.as_ref()),
        &gov.data_class_rules,
    );
    let name = tool.map(|t| t.display_name.as_str()).unwrap_or("this tool");
    match a.refusal(name) {
        Some(why) => Err(SnapshotError::DataClassProhibited(why)),
        None => Ok(()),
    }
}

/// Records why the event was refused (idempotent: one record per issue) and logs it.
fn reject(
    store: Store<'_>,
    ev: &CreatedIssue,
    code: &str,
    field: Option<&str>,
    message: &str,
) -> AppResult<Outcome> {
    reject_with(store, ev, code, field, message, None)
}

/// `reject`, with an audit entry in the same transaction when `audit` is given.
fn reject_with(
    store: Store<'_>,
    ev: &CreatedIssue,
    code: &str,
    field: Option<&str>,
    message: &str,
    audit_entry: Option<AuditDraft>,
) -> AppResult<Outcome> {
    let host = store.host;
    host.log(
        Level::Warn,
        &format!("intake: {} rejected ({code}): {message}", ev.key),
    );
    let rejection = Rejection {
        issue_id: ev.id.clone(),
        issue_key: ev.key.clone(),
        project_key: ev.project_key.clone(),
        requester_account_id: ev.reporter.clone(),
        code: code.into(),
        field: field.map(String::from),
        message: message.into(),
        at: crate::time::rfc3339(host.now_ms()),
    };
    // The requester hears why and what to do, unless the refusal is about the event or the
    // platform rather than their request (those are for admins).
    let tell = !matches!(
        code,
        "ISSUE_ID_MISMATCH" | "ISSUE_UNREADABLE" | "JIRA_UNAVAILABLE" | "INTAKE_FAILED"
    );
    if let Some(d) = audit_entry {
        // Idempotent: a redelivery finds the rejection and writes no second entry.
        if store.get_raw(&keys::intake_rejection(&ev.id))?.is_none() {
            let notice =
                crate::clearance::notices::Notice::for_rejection(&ev.id, &ev.key, code, message);
            let mac = audit::mac_key(store, None)?;
            let res = audit::commit_with_audit(store, &mac, None, std::slice::from_ref(&d), |tx| {
                tx.create(&keys::intake_rejection(&ev.id), &rejection)?;
                crate::clearance::notices::stage(tx, &notice)?;
                Ok(())
            });
            match res {
                Ok(_) => crate::clearance::notices::push(host, &notice.id),
                Err(StorageError::Conflict(k)) if k == keys::intake_rejection(&ev.id) => {}
                Err(e) => return Err(e.into()),
            }
        }
    } else if tell {
        let notice =
            crate::clearance::notices::Notice::for_rejection(&ev.id, &ev.key, code, message);
        let mut tx = store.tx();
        tx.set(&keys::intake_rejection(&ev.id), &rejection)?;
        crate::clearance::notices::stage(&mut tx, &notice)?;
        tx.commit()?;
        crate::clearance::notices::push(host, &notice.id);
    } else {
        store.put(&keys::intake_rejection(&ev.id), &rejection)?;
    }
    Ok(Outcome::Rejected {
        issue_key: ev.key.clone(),
        code: code.into(),
    })
}

/// The issue-created trigger: ingests the event; when the platform throttles or fails storage
/// (Forge's per-minute KVS budget answers 429), the event goes to the retry queue after the
/// wait it asked for, so a burst defers intake and loses nothing (triggers are not retried by
/// Forge). Only if even the queue refuses does the error reach the platform.
pub fn on_created(host: &dyn Host, inv: &Invocation, event: &Value) -> AppResult<Outcome> {
    use crate::error::ErrorKind;
    let err = match ingest(host, inv, event, 0) {
        Ok(o) => return Ok(o),
        Err(e) if matches!(e.kind, ErrorKind::RateLimited | ErrorKind::Unavailable) => e,
        Err(e) => return Err(e),
    };
    let ev = parse_event(event)?;
    let wait = err
        .retry_after_s
        .unwrap_or_else(|| retry_delay_s(0))
        .clamp(1, 900);
    let body = json!({"event": event, "attempt": 1}).to_string();
    if host.queue_push(RETRY_QUEUE, &[body], wait).is_err() {
        return Err(err);
    }
    host.log(
        Level::Warn,
        &format!(
            "intake: {} deferred: {} ({}); retry 1 in {wait}s",
            ev.key, err.code, err.message
        ),
    );
    Ok(Outcome::Deferred {
        issue_key: ev.key,
        retry_after_s: wait,
        attempt: 1,
    })
}

/// Jira was throttling or down: queue the event to try again (triggers are not retried by Forge).
fn defer(
    host: &dyn Host,
    ev: &CreatedIssue,
    event: &Value,
    attempt: u32,
    err: &JiraError,
) -> AppResult<Outcome> {
    let next = attempt + 1;
    if next > MAX_RETRY_ATTEMPTS {
        return reject(
            Store::new(host),
            ev,
            "JIRA_UNAVAILABLE",
            None,
            &format!("Jira could not be read after {MAX_RETRY_ATTEMPTS} attempts ({err})"),
        );
    }
    let retry_after_s = match err {
        JiraError::RateLimited { retry_after_s } => (*retry_after_s).clamp(1, 900),
        _ => retry_delay_s(attempt),
    };
    let body = json!({"event": event, "attempt": next}).to_string();
    host.queue_push(RETRY_QUEUE, &[body], retry_after_s)?;
    host.log(
        Level::Warn,
        &format!(
            "intake: {} deferred: {err}; retry {next} in {retry_after_s}s",
            ev.key
        ),
    );
    Ok(Outcome::Deferred {
        issue_key: ev.key.clone(),
        retry_after_s,
        attempt: next,
    })
}

/// The `intake-retry` consumer. A retry that fails for any reason but a bad event (storage or
/// secrets down, the audit head contended) is queued again with the same backoff as a Jira
/// deferral; after the last attempt the issue gets a rejection (`INTAKE_FAILED`) an admin can
/// find, so an issue never ends with neither a request nor a rejection. If even that write fails,
/// the platform is asked to redeliver.
pub fn retry(host: &dyn Host, inv: &Invocation, body: &Value) -> AppResult<Option<u32>> {
    let attempt = body.get("attempt").and_then(Value::as_u64).unwrap_or(1) as u32;
    let event = body.get("event").ok_or_else(|| {
        AppError::invalid("EVENT_INVALID", "retry event without the original event")
    })?;
    let err = match ingest(host, inv, event, attempt) {
        Ok(_) => return Ok(None),
        Err(e) if e.kind == crate::error::ErrorKind::Invalid => return Err(e),
        Err(e) => e,
    };
    let ev = parse_event(event)?;
    let next = attempt + 1;
    if next <= MAX_RETRY_ATTEMPTS {
        let wait = retry_delay_s(attempt);
        let again = json!({"event": event, "attempt": next}).to_string();
        if let Err(e) = host.queue_push(RETRY_QUEUE, &[again], wait) {
            host.log(
                Level::Warn,
                &format!(
                    "intake: {} retry not queued ({e}); asking for redelivery",
                    ev.key
                ),
            );
            return Ok(Some(wait));
        }
        host.log(
            Level::Warn,
            &format!(
                "intake: {} retry {attempt} failed ({err}); retry {next} in {wait}s",
                ev.key
            ),
        );
        return Ok(None);
    }
    let message =
        format!("the request could not be stored after {MAX_RETRY_ATTEMPTS} attempts ({err})");
    match reject(Store::new(host), &ev, "INTAKE_FAILED", None, &message) {
        Ok(_) => Ok(None),
        Err(e) => {
            host.log(
                Level::Error,
                &format!(
                    "intake: {} neither stored nor rejected ({e}); redelivery",
                    ev.key
                ),
            );
            Ok(Some(300))
        }
    }
}

/// The wait before retry `attempt + 1`: 30 s doubling, at most 15 minutes (a queue delay limit).
fn retry_delay_s(attempt: u32) -> u32 {
    (30u32 << attempt.min(5)).min(900)
}

/// The admin list of rejected snapshots, one page at a time.
pub fn rejections(store: Store<'_>, payload: &Value) -> AppResult<Value> {
    let cursor = payload.get("cursor").and_then(Value::as_str);
    let limit = payload
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(20)
        .clamp(1, 20) as u32;
    let page = store.page::<Rejection>(keys::INTAKE_REJECTION_PREFIX, cursor, limit)?;
    Ok(
        json!({"items": page.items.into_iter().map(|(_, r)| r).collect::<Vec<_>>(), "nextCursor": page.next_cursor}),
    )
}
