//! Exports (CL-180…CL-183) by time: requests, grants or audit entries inside a window (90 days
//! by default, at most 365), read from time indexes so a window costs what is inside it, never
//! what came before. Requests and grants come from their month indexes
//! (`request-by-time:<YYYY-MM>:<ms>:<id>`), audit entries from the day index (`audit::window`).
//!
//! Two ways to get one:
//! - a page at a time (`admin.exports.requests|grants|audit`, 500 rows, `nextCursor`), for small
//!   windows and scripts;
//! - an export job (`admin.exports.start`), for any size: the `exports` queue writes the file in
//!   parts of at most ~150 KB (`export-part:<job>:<n>`), a slice per invocation within a share of
//!   the per-minute KVS budgets, and the screen shows progress and downloads the parts
//!   (`admin.exports.part`) when it is done. Jobs and parts expire after 7 days.
//!
//! Positions are plain data (a month and the last `(ms, id)` read, or an audit seq), never a
//! KVS cursor: Forge cursors must not outlive the invocation that got them.

use super::admin::{grant_row, request_row};
use super::export::{self, Format};
use super::grants::Grant;
use crate::audit::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::requests::Request;
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const QUEUE: &str = "exports";
pub const PAGE_ROWS: usize = 500;
/// A part of a job's file is written once it reaches this size (Forge values ≤ 240 KiB).
const PART_BYTES: usize = 150 * 1024;
const TTL_S: u64 = 7 * 86_400;
/// One slice's share of the installation's per-minute budgets (4,000 read and 4,000 write
/// units): a slice a minute at most.
const SLICE_READ_UNITS: u64 = 1_500;
const SLICE_WRITE_UNITS: u64 = 1_500;
const SLICE_GAP_S: u32 = 60;
const RESERVE_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Requests,
    Grants,
    Audit,
}

impl Kind {
    pub fn parse(s: &str) -> AppResult<Kind> {
        match s {
            "requests" => Ok(Kind::Requests),
            "grants" => Ok(Kind::Grants),
            "audit" => Ok(Kind::Audit),
            other => Err(AppError::invalid(
                "EXPORT_KIND_INVALID",
                format!("an export is of requests, grants or audit, not {other:?}"),
            )),
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Requests => REQUEST_COLUMNS,
            Kind::Grants => GRANT_COLUMNS,
            Kind::Audit => AUDIT_COLUMNS,
        }
    }
}

const REQUEST_COLUMNS: &[&str] = &[
    "issueKey",
    "projectKey",
    "requester",
    "tool",
    "toolName",
    "riskLevel",
    "durationDays",
    "decision",
    "decisionSource",
    "decidedAt",
    "decidedBy",
    "grantId",
    "policyVersion",
    "requestedAt",
];
const GRANT_COLUMNS: &[&str] = &[
    "grantId",
    "issueKey",
    "accountId",
    "tool",
    "toolName",
    "riskLevel",
    "status",
    "durationDays",
    "grantedAt",
    "expiresAt",
    "decisionSource",
    "policyVersion",
    "extensions",
    "endedAt",
];
const AUDIT_COLUMNS: &[&str] = &[
    "seq",
    "type",
    "at",
    "actor",
    "issueKey",
    "subject",
    "data",
    "policyVersion",
    "macKeyId",
    "prevHash",
    "entryHash",
    "entryMac",
];

/// Where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Pos {
    /// Month index `m` of the window, after the row `(ms, id)` (none yet: from the start).
    Indexed {
        m: usize,
        after: Option<(u64, String)>,
    },
    /// The next audit entry to read.
    Audit { seq: u64 },
}

/// "YYYY-MM" of every month the window touches (at most 13 for a 365-day window).
fn months_between(from: u64, to: u64) -> Vec<String> {
    let month = |ms: u64| crate::time::rfc3339(ms)[..7].to_string();
    let mut out = vec![month(from)];
    let mut t = from;
    while month(t) != month(to) {
        t += 28 * 86_400_000;
        let m = month(t.min(to));
        if out.last() != Some(&m) {
            out.push(m);
        }
    }
    out
}

/// Rows of `kind` in `[from, to]` from `pos` on, at most `max`; and where to continue (`None`
/// when the window is done).
pub fn rows(
    store: Store<'_>,
    kind: Kind,
    from: u64,
    to: u64,
    pos: Pos,
    max: usize,
) -> AppResult<(Vec<Value>, Option<Pos>)> {
    match (kind, pos) {
        (Kind::Audit, Pos::Audit { seq }) => {
            let (entries, next) = crate::audit::window::read(store, seq, from, to, max)?;
            let rows = entries
                .iter()
                .map(|e: &AuditEntry| serde_json::to_value(e).expect("entries serialize"))
                .collect();
            Ok((rows, next.map(|seq| Pos::Audit { seq })))
        }
        (Kind::Requests | Kind::Grants, Pos::Indexed { mut m, mut after }) => {
            let months = months_between(from, to);
            let prefix = if kind == Kind::Requests {
                keys::REQUEST_BY_TIME_PREFIX
            } else {
                keys::GRANT_BY_TIME_PREFIX
            };
            let mut out = Vec::new();
            while m < months.len() {
                let month_prefix = format!("{prefix}{}:", months[m]);
                // Rows after the last one read: a time range from its ms (ties skipped by id).
                let lo = after
                    .as_ref()
                    .map_or(from.saturating_sub(1), |(ms, _)| ms.saturating_sub(1));
                let want = max - out.len();
                let index = store.range::<String>(&month_prefix, lo, to, want + 64)?;
                let fresh: Vec<(u64, String)> = index
                    .into_iter()
                    .filter_map(|(k, id)| {
                        let ms: u64 = k[month_prefix.len()..].split(':').next()?.parse().ok()?;
                        let newer = after
                            .as_ref()
                            .is_none_or(|(a_ms, a_id)| (ms, &id) > (*a_ms, a_id));
                        (newer && ms >= from).then_some((ms, id))
                    })
                    .take(want)
                    .collect();
                let names: Vec<String> = fresh
                    .iter()
                    .map(|(_, id)| match kind {
                        Kind::Requests => keys::request(id),
                        _ => keys::grant(id),
                    })
                    .collect();
                match kind {
                    Kind::Requests => out.extend(
                        store
                            .get_many::<Request>(&names)?
                            .iter()
                            .map(|(_, r)| request_row(r)),
                    ),
                    _ => out.extend(
                        store
                            .get_many::<Grant>(&names)?
                            .iter()
                            .map(|(_, g)| grant_row(g)),
                    ),
                }
                let read = fresh.len();
                after = fresh.last().cloned().or(after);
                if read >= want {
                    // Full: more may follow in this month.
                    return Ok((out, Some(Pos::Indexed { m, after })));
                }
                m += 1;
                after = None;
            }
            Ok((out, None))
        }
        _ => Err(AppError::invalid(
            "CURSOR_INVALID",
            "the cursor is for another kind of export",
        )),
    }
}

/// Where a window starts.
fn start(store: Store<'_>, kind: Kind, from: u64, to: u64) -> AppResult<Option<Pos>> {
    Ok(match kind {
        Kind::Audit => {
            crate::audit::window::first_seq(store, from, to)?.map(|seq| Pos::Audit { seq })
        }
        _ => Some(Pos::Indexed { m: 0, after: None }),
    })
}

/// One page (≤ 500 rows) of an export: `admin.exports.requests|grants|audit`.
pub fn page(host: &dyn Host, what: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let kind = Kind::parse(what)?;
    let format = export::format(p.get("format"))?;
    let (from, to) = export::window(host.now_ms(), p.get("from"), p.get("to"))?;
    let pos = match p.get("cursor") {
        None | Some(Value::Null) => start(store, kind, from, to)?,
        Some(Value::String(c)) if c.len() <= 1024 => {
            Some(serde_json::from_str(c).map_err(|_| {
                AppError::invalid(
                    "CURSOR_INVALID",
                    "cursor must be the string a previous page returned",
                )
            })?)
        }
        Some(_) => {
            return Err(AppError::invalid(
                "CURSOR_INVALID",
                "cursor must be the string a previous page returned",
            ))
        }
    };
    let (rows, next) = match pos {
        Some(pos) => rows(store, kind, from, to, pos, PAGE_ROWS)?,
        None => (Vec::new(), None),
    };
    let next = next.map(|n| serde_json::to_string(&n).expect("positions serialize"));
    let range = json!({"from": crate::time::rfc3339(from), "to": crate::time::rfc3339(to)});
    let mut out = match format {
        Format::Json => {
            json!({"format": "json", "range": range, "rows": rows, "count": rows.len(), "nextCursor": next})
        }
        Format::Csv => {
            json!({"format": "csv", "range": range, "csv": export::to_csv(kind.columns(), &rows),
                   "count": rows.len(), "nextCursor": next})
        }
    };
    if kind == Kind::Audit {
        // What an auditor checks the trail with, in every audit export.
        let got = store.batch_get(&[
            keys::AUDIT_SIGNING_KEY.to_string(),
            keys::AUDIT_CHECKPOINT_LATEST.to_string(),
        ])?;
        out["verification"] = verification(&got)?;
    }
    Ok(out)
}

fn verification(got: &std::collections::BTreeMap<String, String>) -> AppResult<Value> {
    let public: Option<crate::audit::checkpoint::PublicKey> = got
        .get(keys::AUDIT_SIGNING_KEY)
        .map(|t| crate::storage::decode(keys::AUDIT_SIGNING_KEY, t))
        .transpose()?;
    let cp: Option<crate::audit::checkpoint::Signed> = got
        .get(keys::AUDIT_CHECKPOINT_LATEST)
        .map(|t| crate::storage::decode(keys::AUDIT_CHECKPOINT_LATEST, t))
        .transpose()?;
    Ok(json!({"publicKey": public.map(|k| k.verifier_key), "checkpoint": cp.map(|c| c.note)}))
}

/// An export job, `export-job:<id>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub kind: Kind,
    pub format: String,
    pub from: String,
    pub to: String,
    pub requested_by: String,
    pub created_at: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    pub rows: u64,
    pub parts: u32,
    pub bytes: u64,
    #[serde(default)]
    pub pos: Option<Pos>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Audit exports: the verifier key and the signed checkpoint current when the job ended.
    #[serde(default)]
    pub verification: Option<Value>,
}

fn job_key(id: &str) -> String {
    format!("export-job:{id}")
}

fn part_key(id: &str, n: u32) -> String {
    format!("export-part:{id}:{n:06}")
}

fn public(job: &Job) -> Value {
    let mut v = serde_json::to_value(job).expect("jobs serialize");
    v.as_object_mut().expect("object").remove("pos");
    v
}

/// `admin.exports.start`: a job for the whole window, whatever its size.
pub fn start_job(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let kind = Kind::parse(p.get("kind").and_then(Value::as_str).unwrap_or(""))?;
    let format = export::format(p.get("format"))?;
    let (from, to) = export::window(host.now_ms(), p.get("from"), p.get("to"))?;
    let id = format!("exp-{}", crate::audit::chain::hex(&host.random_bytes(6)));
    let job = Job {
        id: id.clone(),
        kind,
        format: if format == Format::Csv { "csv" } else { "json" }.into(),
        from: crate::time::rfc3339(from),
        to: crate::time::rfc3339(to),
        requested_by: who.to_string(),
        created_at: crate::time::rfc3339(host.now_ms()),
        status: "running".into(),
        rows: 0,
        parts: 0,
        bytes: 0,
        pos: start(store, kind, from, to)?,
        error: None,
        finished_at: None,
        verification: None,
    };
    store.put_ttl(&job_key(&id), &job, TTL_S)?;
    host.queue_push(QUEUE, &[json!({"exportId": id}).to_string()], 0)?;
    Ok(json!({"job": public(&job)}))
}

fn load(store: Store<'_>, id: &str) -> AppResult<(Job, String)> {
    let key = job_key(id);
    crate::storage::check_key(&key)
        .map_err(|_| AppError::invalid("EXPORT_NOT_FOUND", "not an export id"))?;
    let raw = store.get_raw(&key)?.ok_or_else(|| {
        AppError::not_found(
            "EXPORT_NOT_FOUND",
            format!("no export {id:?} (exports are kept 7 days)"),
        )
    })?;
    Ok((crate::storage::decode(&key, &raw)?, raw))
}

/// `admin.exports.status {id}`.
pub fn status(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let id = p.get("id").and_then(Value::as_str).unwrap_or("");
    let (job, _) = load(Store::new(host), id)?;
    Ok(json!({"job": public(&job)}))
}

/// `admin.exports.part {id, part}`: one part of a finished job's file, in order.
pub fn part(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let id = p.get("id").and_then(Value::as_str).unwrap_or("");
    let (job, _) = load(store, id)?;
    if job.status != "done" {
        return Err(AppError::conflict(
            "EXPORT_NOT_READY",
            format!("the export is {}", job.status),
        ));
    }
    let n = p
        .get("part")
        .and_then(Value::as_u64)
        .filter(|n| *n < u64::from(job.parts))
        .ok_or_else(|| {
            AppError::invalid("PART_INVALID", format!("part must be 0..{}", job.parts))
        })? as u32;
    let text: String = store
        .get(&part_key(id, n))?
        .ok_or_else(|| AppError::not_found("EXPORT_NOT_FOUND", "the part has expired"))?;
    Ok(json!({"id": id, "part": n, "parts": job.parts, "text": text}))
}

/// Forge's units for a value of `bytes` (10 KB each, rounded up).
fn units(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(10 * 1024).max(1)
}

/// One slice of a job (the `exports` consumer): reads on from the job's position and writes
/// whole parts, saving the job after each, until the slice's budget is spent; then queues the
/// next slice a minute later. Text read after the last whole part is dropped and read again by
/// the next slice, so the file never has a gap or a duplicate, whatever crashes.
pub fn slice(host: &dyn Host, id: &str) -> AppResult<Option<u32>> {
    let store = Store::new(host);
    let (mut job, _) = match load(store, id) {
        Ok(x) => x,
        Err(e) if e.code == "EXPORT_NOT_FOUND" => return Ok(None),
        Err(e) => return Err(e),
    };
    if job.status != "running" {
        return Ok(None);
    }
    let from = crate::time::parse(&job.from).unwrap_or(0);
    let to = crate::time::parse(&job.to).unwrap_or(0);
    let csv = job.format == "csv";
    let (mut read_units, mut write_units) = (0u64, 0u64);
    // Read past the job's saved position, not yet in a part.
    let (mut buf, mut pos, mut rows_read) = (String::new(), job.pos.clone(), 0u64);
    loop {
        let done = pos.is_none();
        // A full part, or the end (a JSON file's last part closes it, even when empty).
        let write =
            buf.len() >= PART_BYTES || (done && (!buf.is_empty() || job.parts == 0 || !csv));
        if write {
            let text = wrap(&job, std::mem::take(&mut buf), done, host)?;
            write_units += units(text.len());
            store.put_ttl(&part_key(&job.id, job.parts), &text, TTL_S)?;
            job.parts += 1;
            job.bytes += text.len() as u64;
        }
        if write || done {
            job.rows += rows_read;
            job.pos = pos.clone();
            rows_read = 0;
            if done {
                job.status = "done".into();
                job.finished_at = Some(crate::time::rfc3339(host.now_ms()));
            }
            store.put_ttl(&job_key(&job.id), &job, TTL_S)?;
        }
        if done {
            return Ok(None);
        }
        if read_units >= SLICE_READ_UNITS
            || write_units >= SLICE_WRITE_UNITS
            || host.remaining_ms() < RESERVE_MS
        {
            host.queue_push(
                QUEUE,
                &[json!({"exportId": job.id}).to_string()],
                SLICE_GAP_S,
            )?;
            return Ok(None);
        }
        let (rows, next) = rows(
            store,
            job.kind,
            from,
            to,
            pos.clone().expect("not done"),
            PAGE_ROWS,
        )?;
        read_units += units(rows.iter().map(|r| r.to_string().len()).sum::<usize>()) + 2;
        let first_in_file = job.rows + rows_read == 0;
        if csv {
            let text = export::to_csv(job.kind.columns(), &rows);
            // The header line once, at the top of the file.
            let body = match (first_in_file, text.split_once("\r\n")) {
                (true, _) => text.as_str(),
                (false, Some((_, rest))) => rest,
                (false, None) => "",
            };
            buf.push_str(body);
        } else {
            for (i, r) in rows.iter().enumerate() {
                if !(first_in_file && i == 0) {
                    buf.push(',');
                }
                buf.push_str(&r.to_string());
            }
        }
        rows_read += rows.len() as u64;
        pos = next;
    }
}

/// JSON files are one object: the header opens the first part, the last part closes it.
fn wrap(job: &Job, body: String, last: bool, host: &dyn Host) -> AppResult<String> {
    if job.format == "csv" {
        return Ok(body);
    }
    let mut text = String::new();
    if job.parts == 0 {
        let mut head =
            json!({"format": "json", "kind": job.kind, "range": {"from": job.from, "to": job.to}});
        if job.kind == Kind::Audit {
            let got = Store::new(host).batch_get(&[
                keys::AUDIT_SIGNING_KEY.to_string(),
                keys::AUDIT_CHECKPOINT_LATEST.to_string(),
            ])?;
            head["verification"] = verification(&got)?;
        }
        let head = head.to_string();
        text.push_str(&head[..head.len() - 1]);
        text.push_str(",\"rows\":[");
    }
    text.push_str(&body);
    if last {
        text.push_str("]}");
    }
    Ok(text)
}
