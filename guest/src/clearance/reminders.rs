//! Reminders before a grant ends (§10): expiry notices 7 days and 1 day before (hourly, from the
//! job runner) and recertification issues for grants entering the review-before-expiry window
//! (daily sweep).
//!
//! Both read the grant expiry index through `Store::range` between a cursor and `now + lead`,
//! and move the cursor (`grant-reminder-cursors`) to where they stopped, so each run reads only
//! grants that newly entered their window. Duplicates are harmless: an expiry notice is a
//! `decision-notice:` record whose comment carries its id as a property (posted once), and a
//! recertification is claimed with a create-if-absent marker before the Jira issue is created
//! (at most one issue per grant per expiry time; a crash between claim and create loses that one
//! issue and is logged, never duplicated).
//!
//! A grant whose expiry moves into an already-read part of a window (a short extension) gets no
//! reminder for that window; a grant shorter than a lead time gets no reminder for it.

use super::grants::{Grant, GrantStatus, DAY_MS};
use super::notices::{self, Notice};
use crate::error::AppResult;
use crate::host::{Host, HttpRequest, Level, Principal, SetOptions};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursors {
    #[serde(default)]
    expiry7d: Option<u64>,
    #[serde(default)]
    expiry1d: Option<u64>,
    #[serde(default)]
    recert: Option<u64>,
}

/// Recertification markers outlive any grant (180-day lifetime + grace).
pub(crate) const MARKER_TTL_S: u64 = 400 * 86_400;

/// Grants with expiry in (cursor, now + lead] — and the new cursor.
fn window(
    store: Store<'_>,
    now: u64,
    cursor: Option<u64>,
    lead_ms: u64,
    budget: usize,
) -> AppResult<(Vec<Grant>, u64)> {
    let to = now + lead_ms;
    let from = cursor.unwrap_or(now).max(now);
    let hits = store.range::<String>(keys::GRANT_EXPIRY_PREFIX, from, to, budget)?;
    let next = if hits.len() >= budget {
        hits.last()
            .map_or(to, |(k, _)| crate::storage::index_ms(k) - 1)
    } else {
        to
    };
    let want: Vec<String> = hits.iter().map(|(_, id)| keys::grant(id)).collect();
    let grants = store
        .get_many::<Grant>(&want)?
        .into_iter()
        .map(|(_, g)| g)
        .filter(|g| g.status.is_open())
        .collect();
    Ok((grants, next))
}

/// When the next expiry notice falls due (the job runner's hint): the first grant expiring after
/// a window's cursor enters that window at its expiry less the lead time. `now` when a window
/// has no cursor yet, or when more grants sit before a cursor than one bounded read covers.
pub fn next_notice_due(store: Store<'_>, now: u64) -> AppResult<Option<u64>> {
    let cursors: Cursors = store.get(keys::REMINDER_CURSORS)?.unwrap_or_default();
    let mut next: Option<u64> = None;
    for (days, cursor) in [(7u64, cursors.expiry7d), (1, cursors.expiry1d)] {
        let Some(cursor) = cursor else {
            return Ok(Some(now));
        };
        let (_, first) =
            store.due_next::<serde::de::IgnoredAny>(keys::GRANT_EXPIRY_PREFIX, cursor, 60)?;
        if let Some(ms) = first {
            let at = if ms == cursor {
                now
            } else {
                ms.saturating_sub(days * DAY_MS)
            };
            next = Some(next.map_or(at, |n: u64| n.min(at)));
        }
    }
    Ok(next)
}

/// Hourly: the 7-day and 1-day expiry notices. Returns how many were queued.
pub fn expiry_notices(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let now = host.now_ms();
    let mut cursors: Cursors = store.get(keys::REMINDER_CURSORS)?.unwrap_or_default();
    let before = cursors.clone();
    let mut queued = 0;
    for (days, label) in [(7u64, "expiry-7d"), (1, "expiry-1d")] {
        let cursor = if days == 7 {
            cursors.expiry7d
        } else {
            cursors.expiry1d
        };
        let (grants, next) = window(store, now, cursor, days * DAY_MS, budget)?;
        for g in grants {
            let left = g.expires_ms().saturating_sub(now);
            if days == 7 && left <= DAY_MS {
                continue; // the 1-day notice covers it
            }
            let n = Notice {
                id: format!("{}.{label}.{}", g.id, g.expires_ms()),
                issue_key: g.issue_key.clone(),
                heading: format!(
                    "AI Clearance: access ends in {}",
                    if days == 7 { "7 days" } else { "1 day" }
                ),
                lines: vec![
                    format!("Tool: {}", g.tool_name),
                    format!(
                        "Access ends: {} ({})",
                        crate::time::day(g.expires_ms()),
                        g.expires_at
                    ),
                    "To keep access, ask an approver to extend the grant (self-extension is off)"
                        .into(),
                ],
                transitions: Vec::new(),
                comment_done: false,
                mentions: vec![g.account_id.clone()],
                visibility: crate::jira::Visibility::Public,
                leaves_pending: false,
            };
            if store.create(&keys::decision_notice(&n.id), &n)? {
                notices::push(host, &n.id);
                queued += 1;
            }
        }
        if days == 7 {
            cursors.expiry7d = Some(next);
        } else {
            cursors.expiry1d = Some(next);
        }
    }
    if cursors != before {
        store.put(keys::REMINDER_CURSORS, &cursors)?;
    }
    Ok(queued)
}

/// Daily: one review issue per active grant entering the review-before-expiry window, of the
/// configured issue type, in the intake project. Unset type or days: nothing is created (and the
/// cursor stays, so grants are picked up once it is configured). A Jira refusal is logged and
/// the cursor stops before that grant, so the next run tries it again.
pub fn recertify(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let Some(cfg) = crate::intake::config::load(store)? else {
        return Ok(0);
    };
    let (days, type_id) = (
        cfg.approvals.review_before_expiry_days,
        cfg.approvals.review_issue_type_id,
    );
    if days == 0 {
        return Ok(0);
    }
    let Some(type_id) = type_id else {
        host.log(
            Level::Warn,
            "recertification: no review-before-expiry issue type is set in Intake & Approvals; no review issues created",
        );
        return Ok(0);
    };
    let now = host.now_ms();
    let mut cursors: Cursors = store.get(keys::REMINDER_CURSORS)?.unwrap_or_default();
    let (grants, mut next) = window(store, now, cursors.recert, days as u64 * DAY_MS, budget)?;
    let mut created = 0;
    for g in grants.iter().filter(|g| g.status == GrantStatus::Active) {
        let marker = keys::grant_reminder(&g.id, "recert", g.expires_ms());
        let claimed = host.kvs_set(
            &marker,
            &json!({"state": "claimed"}).to_string(),
            SetOptions {
                fail_if_exists: true,
                ttl_seconds: Some(MARKER_TTL_S),
            },
        );
        match claimed {
            Ok(()) => {}
            Err(crate::host::HostError::Conflict(_)) => continue, // already done
            Err(e) => return Err(e.into()),
        }
        match create_review_issue(host, &cfg.project_key, type_id, g, None) {
            Ok(key) => {
                store.put_ttl(
                    &marker,
                    &json!({"state": "created", "issueKey": key}),
                    MARKER_TTL_S,
                )?;
                host.log(
                    Level::Info,
                    &format!(
                        "recertification: {key} created for grant {} ({})",
                        g.id, g.issue_key
                    ),
                );
                created += 1;
            }
            Err(why) => {
                host.log(
                    Level::Warn,
                    &format!(
                        "recertification: review issue for grant {} not created ({why})",
                        g.id
                    ),
                );
                store.delete(&marker)?;
                next = next.min(g.expires_ms().saturating_sub(1));
            }
        }
    }
    cursors.recert = Some(next);
    store.put(keys::REMINDER_CURSORS, &cursors)?;
    Ok(created)
}

/// Creates the review issue for `g` (the key Jira gave it, or why not). `why` is a reason to
/// review other than the coming expiry (issue 35: the tool's data profile changed after the
/// approval): it leads the summary and the description, and travels in the issue property.
pub(crate) fn create_review_issue(
    host: &dyn Host,
    project_key: &str,
    type_id: u64,
    g: &Grant,
    why: Option<&str>,
) -> Result<String, String> {
    let text = |t: &str| json!({"type": "text", "text": t});
    let mut summary = format!(
        "Recertify AI access: {} ({}), ends {}",
        g.tool_name,
        g.issue_key,
        crate::time::day(g.expires_ms())
    );
    let mut content = Vec::new();
    let mut property =
        json!({"grantId": g.id, "expiresAt": g.expires_at, "requestKey": g.issue_key});
    if let Some(why) = why {
        summary = format!(
            "Recertify AI access: {} ({}), data profile changed",
            g.tool_name, g.issue_key
        );
        content.push(json!({"type": "paragraph", "content": [text(why)]}));
        property["reason"] = json!(why);
    }
    content.push(json!({"type": "paragraph", "content": [
        text("Access to "), text(&g.tool_name), text(" for "),
        {"type": "mention", "attrs": {"id": g.account_id}},
        text(&format!(" ends on {}. Review whether it is still needed: an approver can extend the grant ({}) or let it expire.",
                      crate::time::day(g.expires_ms()), g.issue_key)),
    ]}));
    let body = json!({
        "fields": {
            "project": {"key": project_key},
            "issuetype": {"id": type_id.to_string()},
            "summary": summary,
            "labels": ["ai-clearance-recertification"],
            "description": {"type": "doc", "version": 1, "content": content},
        },
        "properties": [{"key": "aiclearance.recertification", "value": property}],
    });
    let resp = host
        .jira(
            Principal::App,
            &HttpRequest::with_json("POST", "/rest/api/3/issue", body.to_string()),
        )
        .map_err(|e| format!("Jira unavailable: {e}"))?;
    if resp.status == 201 || resp.status == 200 {
        let v: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
        return Ok(v["key"].as_str().unwrap_or("?").to_string());
    }
    // Jira's field errors name the field (e.g. issuetype); they hold no secrets.
    let errors = serde_json::from_str::<Value>(&resp.body)
        .ok()
        .map(|v| v["errors"].to_string())
        .unwrap_or_default();
    Err(format!("Jira answered {} {errors}", resp.status))
}
