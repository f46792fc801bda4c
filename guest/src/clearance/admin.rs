//! The admin page (spec §4.1, §4.6, §6): overview readiness, the requests surface, exports,
//! insights and governance-log search. Every function here is called behind `require_admin`.

use super::grants::Grant;
use super::jobs;
use super::rollups::Rollups;
use super::{governance, policies};
use crate::audit::AuditEntry;
use crate::catalog::{self, ToolStatus};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Level};
use crate::intake::config;
use crate::requests::Request;
use crate::storage::{keys, Store};
use serde_json::{json, Value};

/// Readiness cards and counters (CL-169, CL-170).
pub fn overview(host: &dyn Host) -> AppResult<Value> {
    let store = Store::new(host);
    let tools = catalog::list(store)?;
    let approved = tools
        .iter()
        .filter(|t| t.status == ToolStatus::Approved)
        .count();
    let (gov, _) = governance::load(store)?;
    let cfg = config::load(store)?;
    let defs = store.scan::<Value>(crate::approvals::store::DEFINITION_PREFIX, 500)?;
    let definitions = defs.len();
    // Governance is ready only if every path it names exists (D-69).
    let missing: Vec<String> = gov
        .named_definitions()
        .into_iter()
        .filter(|(_, d)| {
            !defs
                .iter()
                .any(|(k, _)| k == &crate::approvals::store::definition_key(d))
        })
        .map(|(w, d)| format!("{w} → {d}"))
        .collect();
    // The counter the state changes keep (D-250): its cost follows the changes not yet folded,
    // not the backlog. Before the first fold made it, the pending index is counted (bounded).
    let pending = match super::pending_count::read(store)? {
        Some(n) => n.max(0) as usize,
        None => store
            .scan::<String>(&keys::request_by_decision_prefix("pending"), 1_000)?
            .len(),
    };
    let connectors = tools.iter().filter(|t| t.connector_id.is_some()).count();
    let card = |id: &str, ready: bool, detail: String, section: &str| json!({"id": id, "ready": ready, "detail": detail, "section": section});
    let paths = [&gov.low, &gov.medium, &gov.high, &gov.critical]
        .iter()
        .filter(|r| r.approval_definition_id.is_some())
        .count();
    let cards = vec![
        card(
            "catalog",
            approved > 0,
            format!("{approved} approved of {} tools", tools.len()),
            "catalog",
        ),
        card(
            "governance",
            gov.version > 0 && missing.is_empty(),
            if !missing.is_empty() {
                format!(
                    "names approval definitions that do not exist: {}; those requests are held",
                    missing.join(", ")
                )
            } else if gov.version > 0 {
                format!("version {}", gov.version)
            } else {
                "built-in defaults (not saved yet)".into()
            },
            "governance",
        ),
        card(
            "approvalDefaults",
            paths > 0 || cfg.as_ref().is_some_and(|c| c.approvals.has_approvers()),
            format!("{paths} of 4 risk levels use an approval path; {definitions} definitions"),
            "governance",
        ),
        card(
            "intakeProject",
            cfg.is_some(),
            cfg.as_ref()
                .map(|c| format!("project {}", c.project_key))
                .unwrap_or_else(|| "not configured".into()),
            "intake",
        ),
        card(
            "portalEntryPoint",
            cfg.is_some(),
            cfg.as_ref()
                .map(|c| {
                    format!(
                        "portal {}, request types {:?}",
                        c.portal_id, c.request_type_ids
                    )
                })
                .unwrap_or_else(|| "not configured".into()),
            "intake",
        ),
        card(
            "connectorAutomation",
            connectors > 0,
            if connectors > 0 {
                format!("{connectors} tools bound to connectors")
            } else {
                "optional: manual fulfilment".into()
            },
            "connectors",
        ),
    ];
    let required_ready = cards.iter().take(5).all(|c| c["ready"] == true);
    Ok(json!({
        "cards": cards,
        "counters": {"catalogTools": tools.len(), "approvedTools": approved,
                     "pendingApprovals": pending, "approvalDefinitions": definitions,
                     "connectors": connectors,
                     "autoApprovalPolicies": policies::list(store)?.len()},
        "readiness": if required_ready { "ready" } else { "setupNeeded" },
    }))
}

fn cursor_of(p: &Value) -> AppResult<Option<String>> {
    match p.get("cursor") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(c)) if c.len() <= 1024 => Ok(Some(c.clone())),
        _ => Err(AppError::invalid(
            "CURSOR_INVALID",
            "cursor must be the string a previous page returned",
        )),
    }
}

/// The requests surface (CL-175), one category per call, 20 rows a page.
///
/// Search (issue 32 item 3): `issueKey`, `tool` (a tool key), `requester` (an account id), or
/// `q`, free text resolved once to one of them (an issue key, the tools whose name contains it,
/// or the people Jira finds by that name). Each filter reads its own index: a request by its key,
/// a tool's requests of one decision (`request-by-tool`), a person's requests or grants, a
/// tool's grants; so a search reads the matching rows' pages, not the category's backlog.
pub fn requests(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let category = p
        .get("category")
        .and_then(Value::as_str)
        .unwrap_or("pending");
    let cursor = cursor_of(p)?;
    let (prefix, entity, status) = match category {
        "pending" | "approved" | "denied" => (keys::request_by_decision_prefix(category), "request", category),
        "active" => (keys::grant_by_status_prefix("active"), "grant", "active"),
        "pendingProvision" => (keys::grant_by_status_prefix("pendingProvision"), "grant", "pendingProvision"),
        "historical" => (keys::grant_by_status_prefix("expired"), "grant", "expired"),
        "revoked" => (keys::grant_by_status_prefix("revoked"), "grant", "revoked"),
        "manualFollowUp" => (keys::job_by_status_prefix("manualPending"), "job", "manualPending"),
        other => {
            return Err(AppError::invalid(
                "CATEGORY_INVALID",
                format!("{other:?}: use pending, approved, denied, active, pendingProvision, historical, revoked or manualFollowUp"),
            ))
        }
    };
    let filter = search_filter(host, p)?;
    let record_key = |id: &str| match entity {
        "request" => keys::request(id),
        "grant" => keys::grant(id),
        _ => keys::job(id),
    };
    // Which index to read, and the record keys of one page of it.
    let (want, next): (Vec<String>, Option<String>) = match &filter {
        Filter::None => {
            let page = store.page::<String>(&prefix, cursor.as_deref(), 20)?;
            let want = page.items.iter().map(|(_, id)| record_key(id)).collect();
            (want, page.next_cursor)
        }
        Filter::Issue(key) => {
            // One request; its grant for a grant category (jobs are filtered on the page).
            let id: Option<String> = store.get(&keys::request_by_issue_key(key))?;
            let want = match (entity, id) {
                (_, None) => Vec::new(),
                ("request", Some(id)) => vec![keys::request(&id)],
                ("grant", Some(id)) => store
                    .get::<Request>(&keys::request(&id))?
                    .and_then(|r| r.grant_id)
                    .map(|g| vec![keys::grant(&g)])
                    .unwrap_or_default(),
                _ => {
                    let page = store.page::<String>(&prefix, cursor.as_deref(), 20)?;
                    let want = page.items.iter().map(|(_, id)| record_key(id)).collect();
                    return rows(host, category, want, page.next_cursor, &filter, status);
                }
            };
            (want, None)
        }
        Filter::Subjects(_) if entity == "job" => {
            let page = store.page::<String>(&prefix, cursor.as_deref(), 20)?;
            let want = page.items.iter().map(|(_, id)| record_key(id)).collect();
            (want, page.next_cursor)
        }
        Filter::Subjects(list) => {
            // One index per tool or person, read in turn until a page's worth of keys; a cursor
            // is `<which>|<index cursor>`.
            let (mut at, mut inner) = match cursor.as_deref().and_then(|c| c.split_once('|')) {
                Some((i, c)) => (
                    i.parse::<usize>().map_err(|_| cursor_invalid())?,
                    Some(c.to_string()).filter(|c| !c.is_empty()),
                ),
                None if cursor.is_some() => return Err(cursor_invalid()),
                None => (0, None),
            };
            if at > list.len() {
                return Err(cursor_invalid());
            }
            let mut want = Vec::new();
            let mut next = None;
            while let Some(subject) = list.get(at) {
                let index = match (subject, entity) {
                    (Subject::Tool(t), "request") => keys::request_by_tool_prefix(t, status),
                    (Subject::Tool(t), _) => keys::grant_by_tool_prefix(t),
                    (Subject::Person(a), "request") => keys::request_by_requester_prefix(a),
                    (Subject::Person(a), _) => keys::grant_by_account_prefix(a),
                };
                let page = store
                    .page::<String>(&index, inner.as_deref(), 20)
                    .map_err(crate::storage::cursor_error)?;
                want.extend(page.items.iter().map(|(_, id)| record_key(id)));
                match page.next_cursor {
                    Some(c) => inner = Some(c),
                    None => {
                        at += 1;
                        inner = None;
                    }
                }
                if want.len() >= 20 {
                    if at < list.len() {
                        next = Some(format!("{at}|{}", inner.clone().unwrap_or_default()));
                    }
                    break;
                }
            }
            want.dedup();
            (want, next)
        }
    };
    rows(host, category, want, next, &filter, status)
}

fn cursor_invalid() -> AppError {
    AppError::invalid(
        "CURSOR_INVALID",
        "cursor must be the string a previous page returned",
    )
}

/// What a requests search narrows to.
enum Filter {
    None,
    Issue(String),
    /// The tools (by key) and people (by account id) the search names.
    Subjects(Vec<Subject>),
}

#[derive(PartialEq)]
enum Subject {
    Tool(String),
    Person(String),
}

/// At most this many tools or people a free-text search fans out to.
const SEARCH_FANOUT: usize = 5;

fn search_filter(host: &dyn Host, p: &Value) -> AppResult<Filter> {
    let text = |name: &str| {
        p.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let valid = |name: &str, v: &str| {
        if v.chars().count() > 200 || crate::storage::check_key(&format!("x:{v}")).is_err() {
            Err(AppError::invalid(
                "SEARCH_INVALID",
                format!("{name} has characters a search cannot use"),
            ))
        } else {
            Ok(v.to_string())
        }
    };
    if let Some(k) = text("issueKey") {
        return Ok(Filter::Issue(valid("issueKey", &k.to_uppercase())?));
    }
    if let Some(t) = text("tool") {
        return Ok(Filter::Subjects(vec![Subject::Tool(valid("tool", t)?)]));
    }
    if let Some(a) = text("requester") {
        return Ok(Filter::Subjects(vec![Subject::Person(valid(
            "requester",
            a,
        )?)]));
    }
    let Some(q) = text("q") else {
        return Ok(Filter::None);
    };
    if q.chars().count() > 200 {
        return Err(AppError::invalid(
            "SEARCH_INVALID",
            "q is at most 200 characters",
        ));
    }
    // An issue key (PROJ-123).
    if let Some((proj, num)) = q.split_once('-') {
        if !proj.is_empty()
            && proj.chars().all(|c| c.is_ascii_alphanumeric())
            && !num.is_empty()
            && num.chars().all(|c| c.is_ascii_digit())
        {
            return Ok(Filter::Issue(q.to_uppercase()));
        }
    }
    // Tools whose name or id contains the text (the catalog is small and read whole), a tool
    // no catalog lists by the key its requests get (`new-<slug>`), and the people Jira finds
    // by that name (Jira's privacy applies: hidden emails stay hidden).
    let needle = q.to_lowercase();
    let mut subjects: Vec<Subject> = catalog::list(Store::new(host))?
        .into_iter()
        .filter(|t| {
            t.display_name.to_lowercase().contains(&needle) || t.id.to_lowercase().contains(&needle)
        })
        .map(|t| Subject::Tool(t.id))
        .take(SEARCH_FANOUT)
        .collect();
    let unlisted = crate::requests::new_tool_key(q);
    if unlisted.len() > "new-".len() && crate::storage::check_key(&format!("x:{unlisted}")).is_ok()
    {
        subjects.push(Subject::Tool(unlisted));
    }
    subjects.extend(
        crate::jira::Jira::new(host)
            .search_users(q, SEARCH_FANOUT)
            .map_err(AppError::from)?
            .into_iter()
            .filter_map(|u| {
                u["accountId"]
                    .as_str()
                    .map(|a| Subject::Person(a.to_string()))
            }),
    );
    Ok(Filter::Subjects(subjects))
}

/// The rows of one page: the records, those of the category that match the filter, and the
/// people's display names.
fn rows(
    host: &dyn Host,
    category: &str,
    want: Vec<String>,
    next: Option<String>,
    filter: &Filter,
    status: &str,
) -> AppResult<Value> {
    let found = Store::new(host).batch_get(&want)?;
    let items: Vec<Value> = want
        .iter()
        .filter_map(|k| {
            found
                .get(k)
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
        })
        .filter(|v| {
            // Index pages of a person or a tool hold every state: keep the category's.
            let state = v
                .get("decision")
                .or_else(|| v.get("status"))
                .and_then(Value::as_str);
            let of_category = state == Some(status);
            let who = v
                .get("requesterAccountId")
                .or_else(|| v.get("accountId"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let tool = v
                .get("toolKey")
                .or_else(|| v.get("toolId"))
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| {
                    serde_json::from_value::<Request>(v.clone())
                        .ok()
                        .map(|r| r.tool_key())
                })
                .unwrap_or_default();
            let issue = v.get("issueKey").and_then(Value::as_str).unwrap_or("");
            of_category
                && match filter {
                    Filter::None => true,
                    Filter::Issue(k) => issue == k,
                    Filter::Subjects(xs) => xs.iter().any(|x| match x {
                        Subject::Tool(t) => *t == tool,
                        Subject::Person(p) => p == who,
                    }),
                }
        })
        .collect();
    // Display names for the table (the one-day cache, else one Jira call; ids stay the fallback).
    let ids: Vec<&str> = items
        .iter()
        .filter_map(|v| v.get("requesterAccountId").or_else(|| v.get("accountId")))
        .filter_map(Value::as_str)
        .collect();
    let people =
        crate::names::display_names(host, crate::names::ADMINS, &ids).map_err(AppError::from)?;
    let mut searched = match filter {
        Filter::None => Value::Null,
        Filter::Issue(k) => json!({"issueKey": k}),
        Filter::Subjects(xs) => json!({
            "tools": xs.iter().filter_map(|x| match x { Subject::Tool(t) => Some(t), _ => None }).collect::<Vec<_>>(),
            "people": xs.iter().filter_map(|x| match x { Subject::Person(p) => Some(p), _ => None }).collect::<Vec<_>>(),
        }),
    };
    let by_tool = matches!(filter, Filter::Subjects(ref xs) if xs.iter().any(|x| matches!(x, Subject::Tool(_))));
    if by_tool && ["pending", "approved", "denied"].contains(&category) {
        // Requests filed before the tool index are indexed by the daily backfill.
        searched["complete"] = json!(super::tool_index::complete(Store::new(host))?);
    }
    Ok(
        json!({"category": category, "items": items, "nextCursor": next, "people": people, "searched": searched}),
    )
}

pub(crate) fn request_row(r: &Request) -> Value {
    json!({
        "issueKey": r.issue_key, "projectKey": r.project_key, "requester": r.requester_account_id,
        "tool": r.tool_key(), "toolName": r.tool_name(), "riskLevel": r.risk().as_str(),
        "durationDays": r.duration_days, "decision": r.decision.as_str(),
        "decisionSource": r.decision_source, "decidedAt": r.decided_at, "decidedBy": r.decided_by,
        "grantId": r.grant_id, "policyVersion": r.policy_version, "requestedAt": r.requested_at,
    })
}

pub(crate) fn grant_row(g: &Grant) -> Value {
    json!({
        "grantId": g.id, "issueKey": g.issue_key, "accountId": g.account_id, "tool": g.tool_key,
        "toolName": g.tool_name, "riskLevel": g.risk_level, "status": g.status.as_str(),
        "durationDays": g.duration_days, "grantedAt": g.granted_at, "expiresAt": g.expires_at,
        "decisionSource": g.decision_source, "policyVersion": g.policy_version,
        "extensions": g.extensions.len(), "endedAt": g.ended_at,
    })
}

/// Governance-log search (CL-143): entries newest first, filtered by `type`, `issueKey`, `actor`,
/// the `from`/`to` window (dates or RFC 3339 instants) and `q` (case-insensitive text anywhere in
/// type, actor, issue key, subject or data), at most `limit` hits (default 50, 1..=200). Entries
/// are read by sequence number downwards from the head (`to` finds its starting point by binary
/// search), 500 at most per call; `nextCursor` continues below the last one examined.
pub fn audit_search(host: &dyn Host, p: &Value) -> AppResult<Value> {
    const EXAMINE: usize = 500;
    let store = Store::new(host);
    let text = |name: &str| {
        p.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (kind, issue, actor) = (text("type"), text("issueKey"), text("actor"));
    let q = text("q").map(str::to_lowercase);
    let limit = match p.get("limit") {
        None | Some(Value::Null) => 50,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| AppError::invalid("LIMIT_INVALID", "limit must be 1..200"))?
            as usize,
    };
    // Optional time window: RFC 3339 instants, or dates (`to` then means the end of that day).
    let bound = |name: &str, end_of_day: bool| -> AppResult<Option<u64>> {
        let Some(v) = p.get(name).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let s = v.as_str().unwrap_or("");
        let at = crate::time::parse(s).or_else(|| {
            crate::time::parse(&format!("{s}T00:00:00Z")).map(|d| {
                if end_of_day {
                    d + 86_400_000 - 1
                } else {
                    d
                }
            })
        });
        at.map(Some).ok_or_else(|| {
            AppError::invalid(
                "DATE_INVALID",
                format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 time"),
            )
        })
    };
    let (from, to) = (bound("from", false)?, bound("to", true)?);
    let bad_cursor = || {
        AppError::invalid(
            "CURSOR_INVALID",
            "cursor must be the string a previous page returned",
        )
    };
    // A cursor is the sequence number to continue below, and for an actor search also where
    // its index page starts (`<seq>|<index cursor>`).
    let (cursor, resume) = match cursor_of(p)? {
        None => (None, None),
        Some(c) => {
            let (seq, rest) = match c.split_once('|') {
                Some((a, b)) => (a, Some(b.to_string()).filter(|b| !b.is_empty())),
                None => (c.as_str(), None),
            };
            (Some(seq.parse::<u64>().map_err(|_| bad_cursor())?), rest)
        }
    };
    let head: Option<crate::audit::Head> = store.get(keys::AUDIT_HEAD)?;
    let floor = store
        .get::<crate::audit::RetentionPoint>(keys::AUDIT_RETENTION_POINT)?
        .map_or(1, |c| c.seq + 1);
    let at_of = |e: &AuditEntry| crate::time::parse(&e.at).unwrap_or(0);
    // The highest sequence number to look at: below the cursor, at most the head.
    let mut top = head.map_or(0, |h| h.seq);
    if let Some(c) = cursor {
        top = top.min(c);
    }
    let keep = |e: &AuditEntry| {
        let at = at_of(e);
        let q_hit = || {
            let q = q.as_deref().unwrap_or("");
            [
                e.kind.as_str(),
                e.actor.as_str(),
                e.issue_key.as_deref().unwrap_or(""),
            ]
            .iter()
            .any(|f| f.to_lowercase().contains(q))
                || e.subject.to_string().to_lowercase().contains(q)
                || e.data.to_string().to_lowercase().contains(q)
        };
        kind.is_none_or(|k| e.kind == k)
            && issue.is_none_or(|i| e.issue_key.as_deref() == Some(i))
            && actor.is_none_or(|a| e.actor == a)
            && to.is_none_or(|t| at <= t)
            && from.is_none_or(|f| at >= f)
            && (q.is_none() || q_hit())
    };
    // An issue or an actor narrows the search to that index: the cost follows the entries it
    // lists, not the log (issue 32 item 3).
    if let Some(i) = issue {
        return search_issue(store, i, top, floor, limit, &keep);
    }
    let (mut seen, mut hits) = (0usize, Vec::new());
    if let Some(a) = actor.filter(|a| crate::audit::actors::indexed(a)) {
        // Below the mark the index may be incomplete (a log from before it): the scan below
        // continues there, with what the index found.
        let mark = crate::audit::actors::indexed_from(store)?
            .unwrap_or(u64::MAX)
            .max(floor);
        if top >= mark {
            match search_actor(store, a, top, mark, resume, limit, from, &keep)? {
                Found::Page(v) => return Ok(v),
                Found::Below(h, n) => (hits, seen) = (h, n),
            }
        }
        top = top.min(mark.saturating_sub(1));
    }
    if let (Some(t), None) = (to, cursor) {
        // Entries are appended in time order: the last one at or before `to` by binary search.
        let (mut lo, mut hi) = (floor, top);
        while lo <= hi && hi > 0 {
            let mid = lo + (hi - lo) / 2;
            match store.get::<AuditEntry>(&keys::audit_event(mid))? {
                Some(e) if at_of(&e) <= t => lo = mid + 1,
                Some(_) => hi = mid.saturating_sub(1),
                None => break, // a gap: scan from where we are
            }
        }
        if lo > hi {
            top = hi;
        }
    }
    let mut seq = top;
    let mut next = None;
    'scan: while seq >= floor && seq > 0 {
        let low = seq.saturating_sub(19).max(floor);
        let want: Vec<String> = (low..=seq).rev().map(keys::audit_event).collect();
        let got = store.batch_get(&want)?;
        for k in &want {
            let Some(raw) = got.get(k) else { continue };
            let e: AuditEntry = crate::storage::decode(k, raw)?;
            seen += 1;
            let at = at_of(&e);
            if from.is_some_and(|f| at < f) {
                break 'scan; // everything below is older still
            }
            if keep(&e) {
                hits.push(hit_row(&e));
            }
            if hits.len() >= limit || seen >= EXAMINE {
                if e.seq > floor {
                    next = Some((e.seq - 1).to_string());
                }
                break 'scan;
            }
        }
        seq = low.saturating_sub(1);
    }
    Ok(json!({"items": hits, "examined": seen, "nextCursor": next}))
}

fn hit_row(e: &AuditEntry) -> Value {
    json!({"seq": e.seq, "type": e.kind, "at": e.at, "actor": e.actor,
           "issueKey": e.issue_key, "policyVersion": e.policy_version})
}

/// The entries that name one issue, newest first from `top`: the issue's index (a request's
/// life is a few dozen entries) read whole, the entries in batches until `limit` hits.
fn search_issue(
    store: Store<'_>,
    issue: &str,
    top: u64,
    floor: u64,
    limit: usize,
    keep: &dyn Fn(&AuditEntry) -> bool,
) -> AppResult<Value> {
    const INDEX_MAX: usize = 2_000;
    let mut seqs: Vec<u64> = Vec::new();
    if crate::storage::check_key(&keys::audit_issue_prefix(issue)).is_ok() {
        for (_, list) in store.scan::<Vec<u64>>(&keys::audit_issue_prefix(issue), INDEX_MAX)? {
            seqs.extend(list.into_iter().filter(|s| (floor..=top).contains(s)));
        }
    }
    seqs.sort_unstable_by(|a, b| b.cmp(a));
    let (mut seen, mut hits, mut next) = (0usize, Vec::new(), None);
    'read: for chunk in seqs.chunks(25) {
        let want: Vec<String> = chunk.iter().map(|s| keys::audit_event(*s)).collect();
        let got = store.batch_get(&want)?;
        for k in &want {
            let Some(raw) = got.get(k) else { continue };
            let e: AuditEntry = crate::storage::decode(k, raw)?;
            seen += 1;
            if keep(&e) {
                hits.push(hit_row(&e));
            }
            if hits.len() >= limit {
                if seqs.last().is_some_and(|l| *l < e.seq) {
                    next = Some((e.seq - 1).to_string());
                }
                break 'read;
            }
        }
    }
    Ok(json!({"items": hits, "examined": seen, "nextCursor": next, "index": "issue"}))
}

enum Found {
    /// A full answer (a page of hits, or the end of the search).
    Page(Value),
    /// The index ran out above its mark: the hits so far and the entries examined.
    Below(Vec<Value>, usize),
}

/// The entries one actor wrote from `top` down to `mark`, newest first: the actor's index a
/// page at a time (it is ordered newest first), the entries it lists in one batch per page.
/// Stops at `limit` hits, 500 entries examined, or the first entry older than `from`.
#[allow(clippy::too_many_arguments)]
fn search_actor(
    store: Store<'_>,
    actor: &str,
    top: u64,
    mark: u64,
    resume: Option<String>,
    limit: usize,
    from: Option<u64>,
    keep: &dyn Fn(&AuditEntry) -> bool,
) -> AppResult<Found> {
    const EXAMINE: usize = 500;
    const INDEX_PAGE: u32 = 20;
    let prefix = keys::audit_actor_prefix(actor);
    if crate::storage::check_key(&prefix).is_err() {
        return Ok(Found::Below(Vec::new(), 0));
    }
    // Index pages read per call, entries above `top` included (a resumed search skips them).
    const INDEX_PAGES: usize = 25;
    let at_of = |e: &AuditEntry| crate::time::parse(&e.at).unwrap_or(0);
    let page_of = |hits: Vec<Value>, seen: usize, next: Option<String>| {
        Ok(Found::Page(
            json!({"items": hits, "examined": seen, "nextCursor": next, "index": "actor"}),
        ))
    };
    let (mut seen, mut hits) = (0usize, Vec::new());
    let mut page_cursor = resume;
    for _ in 0..INDEX_PAGES {
        let page = store
            .page::<Vec<u64>>(&prefix, page_cursor.as_deref(), INDEX_PAGE)
            .map_err(crate::storage::cursor_error)?;
        let mut seqs: Vec<u64> = page
            .items
            .into_iter()
            .flat_map(|(_, l)| l)
            .filter(|s| (mark..=top).contains(s))
            .collect();
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        for chunk in seqs.chunks(25) {
            let want: Vec<String> = chunk.iter().map(|s| keys::audit_event(*s)).collect();
            let got = store.batch_get(&want)?;
            for k in &want {
                let Some(raw) = got.get(k) else { continue };
                let e: AuditEntry = crate::storage::decode(k, raw)?;
                seen += 1;
                if from.is_some_and(|f| at_of(&e) < f) {
                    return page_of(hits, seen, None); // everything further down is older
                }
                if keep(&e) {
                    hits.push(hit_row(&e));
                }
                if hits.len() >= limit || seen >= EXAMINE {
                    // Continue below this entry, from the start of this index page.
                    let at = page_cursor.as_deref().unwrap_or("");
                    return page_of(hits, seen, Some(format!("{}|{at}", e.seq - 1)));
                }
            }
        }
        match page.next_cursor {
            Some(c) => page_cursor = Some(c),
            None => return Ok(Found::Below(hits, seen)),
        }
    }
    // Many index pages without enough hits: continue from the next page on the next call.
    let at = page_cursor.unwrap_or_default();
    page_of(hits, seen, Some(format!("{top}|{at}")))
}

/// One audit entry with its metadata and chain fields (the detail drawer).
pub fn audit_get(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let seq = p
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| AppError::invalid("SEQ_INVALID", "seq must be an audit sequence number"))?;
    Store::new(host)
        .get::<AuditEntry>(&keys::audit_event(seq))?
        .map(|e| json!({"entry": e}))
        .ok_or_else(|| {
            AppError::not_found("AUDIT_EVENT_NOT_FOUND", format!("no audit event {seq}"))
        })
}

/// Daily analytics runner (CL-137, CL-186): folds the audit entries it has not seen yet into
/// the rollups; cost grows with new events only. Bounded per run; the next run continues.
///
/// The head (`analytics-rollups`) and each month (`analytics-month:YYYY-MM`) are separate
/// records written in one transaction, so nothing grows with the app's age; months older than
/// `MONTHS_KEPT` are pruned a page at a time.
pub fn analytics(host: &dyn Host, budget: usize) -> AppResult<u64> {
    use super::rollups::{month_of, MONTHS_PER_RUN};
    let store = Store::new(host);
    let mut r: Rollups = store.get(keys::ANALYTICS_ROLLUPS)?.unwrap_or_default();
    // A head from before the split carries its months: move them out first (bounded per tx).
    if !r.months.is_empty() {
        migrate_months(store, &mut r)?;
    }
    // Retention may have pruned entries this runner never saw: skip to the first one left.
    if let Some(cp) = store.get::<crate::audit::RetentionPoint>(keys::AUDIT_RETENTION_POINT)? {
        if r.last_seq < cp.seq {
            host.log(
                Level::Warn,
                &format!(
                    "analytics: entries {}..={} were pruned before they were folded",
                    r.last_seq + 1,
                    cp.seq
                ),
            );
            r.last_seq = cp.seq;
        }
    }
    let mut folded = 0u64;
    let started = r.class_grants_since.is_none();
    super::data_insights::start_counting(&mut r, host.now_ms());
    // Entries are numbered without gaps after the checkpoint, so the unseen ones are read by key, 25 at a time, until the first missing number.
    'batches: while (folded as usize) < budget && host.remaining_ms() > 5_000 {
        let want: Vec<String> = (r.last_seq + 1
            ..=r.last_seq + crate::storage::rules::MAX_BATCH as u64)
            .map(keys::audit_event)
            .collect();
        let found = store.batch_get(&want)?;
        let mut entries: Vec<AuditEntry> = Vec::with_capacity(want.len());
        for k in &want {
            let Some(t) = found.get(k) else { break };
            entries.push(crate::storage::decode(k, t)?);
        }
        // Issue 35: the declared classes behind this batch's grant entries (one batched read).
        let since = r.class_grants_since.clone().unwrap_or_default();
        let classes = super::data_insights::grant_classes(store, &since, &entries)?;
        let complete = entries.len() == want.len();
        for e in entries {
            if let Some(m) = month_of(&e.at) {
                if !r.months.contains_key(m) {
                    // One transaction holds the head and the months touched: stop at the cap
                    // (the next run continues from here).
                    if r.months.len() >= MONTHS_PER_RUN {
                        break 'batches;
                    }
                    let month = store
                        .get::<super::rollups::Month>(&keys::analytics_month(m))?
                        .unwrap_or_default();
                    r.months.insert(m.to_string(), month);
                }
            }
            r.apply_with(&e, classes.get(&e.seq).map(Vec::as_slice));
            folded += 1;
        }
        if !complete {
            break;
        }
    }
    if folded > 0 || started {
        let mut tx = store.tx();
        tx.set(keys::ANALYTICS_ROLLUPS, &r)?;
        for (m, month) in &r.months {
            tx.set(&keys::analytics_month(m), month)?;
        }
        tx.commit()?;
    }
    prune_months(host, store)?;
    Ok(folded)
}

/// Moves the months a pre-split head record carried into their own records, then rewrites the
/// head without them; each step is one transaction, so a crash leaves a state the next run
/// finishes (a month already moved is written again with the same counts).
fn migrate_months(store: Store<'_>, r: &mut Rollups) -> AppResult<()> {
    let months = std::mem::take(&mut r.months);
    let all: Vec<(String, super::rollups::Month)> = months.into_iter().collect();
    for chunk in all.chunks(super::rollups::MONTHS_PER_RUN) {
        let mut tx = store.tx();
        for (m, month) in chunk {
            tx.set(&keys::analytics_month(m), month)?;
        }
        tx.commit()?;
    }
    store.put(keys::ANALYTICS_ROLLUPS, &*r)?;
    Ok(())
}

/// Deletes month records older than the months Insights can show: one page a run.
fn prune_months(host: &dyn Host, store: Store<'_>) -> AppResult<()> {
    let kept = super::rollups::months_back(
        &crate::time::day(host.now_ms()),
        super::rollups::MONTHS_KEPT,
    );
    let Some(oldest_kept) = kept.last() else {
        return Ok(());
    };
    let page = store.page::<Value>(keys::ANALYTICS_MONTH_PREFIX, None, 20)?;
    let old: Vec<String> = page
        .items
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k[keys::ANALYTICS_MONTH_PREFIX.len()..] < **oldest_kept)
        .collect();
    if !old.is_empty() {
        let mut tx = store.tx();
        for k in &old {
            tx.delete(k)?;
        }
        tx.commit()?;
    }
    Ok(())
}

pub fn insights(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let months = p
        .get("months")
        .and_then(Value::as_u64)
        .unwrap_or(12)
        .clamp(1, 36) as usize;
    let store = Store::new(host);
    let mut r: Rollups = store.get(keys::ANALYTICS_ROLLUPS)?.unwrap_or_default();
    // The calendar months asked for, read by key (at most 36: two batch reads), merged over
    // whatever a pre-split head still carries until the next run migrates it.
    let want = super::rollups::months_back(&crate::time::day(host.now_ms()), months);
    let keys_: Vec<String> = want.iter().map(|m| keys::analytics_month(m)).collect();
    for (k, month) in store.get_many::<super::rollups::Month>(&keys_)? {
        r.months
            .insert(k[keys::ANALYTICS_MONTH_PREFIX.len()..].to_string(), month);
    }
    // What happened since the night's run counts too (issue 33 item 5), up to a bound.
    let caught_up = super::rollups::catch_up(store, &mut r)?;
    r.months.retain(|m, _| want.contains(m));
    let mut v = r.insights(months);
    v["caughtUp"] = json!(caught_up);
    v["manualFollowUp"] = json!(jobs::manual_pending(Store::new(host), 1_000)?.len());
    // Names for the people charts (the rollups keep account ids only).
    let ids: Vec<String> = v["people"]["topRequesters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            v["monthly"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["topRequesters"].as_array().into_iter().flatten()),
        )
        .filter_map(|r| r["accountId"].as_str().map(String::from))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    v["names"] = json!(
        crate::names::display_names(host, crate::names::ADMINS, &refs).map_err(AppError::from)?
    );
    Ok(v)
}

/// "Would this request auto-approve, and why not?" (dry run; changes nothing).
pub fn dry_run(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let (project, tool, days, account, classes) = match p.get("issueKey").and_then(Value::as_str) {
        Some(k) => {
            let (r, _) = super::decision::load_request_by_key(store, k)?;
            (
                r.project_key.clone(),
                r.tool_id().map(String::from),
                r.duration_days,
                r.requester_account_id.clone(),
                r.data_classes.clone(),
            )
        }
        None => {
            let s = |k: &str| p.get(k).and_then(Value::as_str).map(String::from);
            let days = p.get("durationDays").and_then(Value::as_u64).unwrap_or(0) as u32;
            match (s("projectKey"), s("accountId")) {
                (Some(pk), Some(a)) if days > 0 => {
                    // The classes the request would declare (issue 35), if the admin gives them.
                    let classes = p
                        .get("dataClasses")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(|c| c.trim().to_lowercase())
                                .take(crate::catalog::data::MAX_CLASSES)
                                .collect()
                        })
                        .unwrap_or_default();
                    (pk, s("toolId"), days, a, classes)
                }
                _ => {
                    return Err(AppError::invalid(
                        "DRY_RUN_INVALID",
                        "give issueKey, or projectKey, toolId, accountId and durationDays",
                    ))
                }
            }
        }
    };
    let all = policies::list(store)?;
    let eval = policies::evaluate(
        &all,
        &policies::Facts {
            project_key: &project,
            tool_id: tool.as_deref(),
            duration_days: days,
            data_classes: &classes,
        },
        &mut || {
            crate::jira::Jira::new(host)
                .user_groups(&account)
                .map_err(AppError::from)
        },
    )?;
    let why_not = if eval.auto_approve {
        None
    } else if all.is_empty() {
        Some("no auto-approval policies are configured".to_string())
    } else {
        eval.deciding
            .as_ref()
            .and_then(|d| d.detail.clone())
            .or_else(|| Some("no policy covers this project and tool".into()))
    };
    Ok(
        json!({"wouldAutoApprove": eval.auto_approve, "deciding": eval.deciding,
              "whyNot": why_not, "checks": eval.checks}),
    )
}
