//! Prunes a Jira issue (REST v3 `GET /rest/api/3/issue/{id}?expand=names`) into the compact,
//! anonymised "Work Item Data" block of the prompt.
//!
//! Output shape: `key` plus the issue's `fields` flattened to the top level, with
//! - users as `<user-N>` tokens, named entities (status, priority, …) as their name;
//! - `customFields: [{name, value}]` by human name (never the `customfield_` id), filtered,
//!   capped and truncated; `comments`, `attachments`, `issueLinks`, `subtasks` shaped and
//!   capped (with `…Omitted` counts); watchers as `watchCount`;
//! - ADF flattened, residual HTML stripped, every string passed through the scrubber;
//! - null/empty values and internal keys (`self`, ids, avatars, schemes, …) dropped.

use regex::Regex;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

use super::privacy::{is_pii_field_name, Scrubber};

pub const MAX_COMMENTS: usize = 15;
pub const COMMENT_MAX_CHARS: usize = 1000;
pub const MAX_CUSTOM_FIELDS: usize = 40;
pub const CUSTOM_VALUE_MAX_CHARS: usize = 500;
pub const MAX_LINKS: usize = 10;
pub const MAX_SUBTASKS: usize = 10;
/// Attachments are metadata only, but a ticket can carry hundreds of them.
pub const MAX_ATTACHMENTS: usize = 25;
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneOptions {
    pub include_comments: bool,
    pub include_attachments: bool,
    pub include_linked: bool,
    pub include_subtasks: bool,
    pub allow_all_custom_fields: bool,
    /// Tenant whitelist of custom field ids (`customfield_10050`).
    pub whitelist: Vec<String>,
    /// Per-step narrowing; `None` = not narrowed, `Some(empty)` = no custom fields.
    pub step_fields: Option<Vec<String>>,
    pub pii_mode: bool,
}

impl Default for PruneOptions {
    /// Comments and attachments default on (spec); linked items and subtasks on as well;
    /// custom fields only by whitelist.
    fn default() -> Self {
        PruneOptions {
            include_comments: true,
            include_attachments: true,
            include_linked: true,
            include_subtasks: true,
            allow_all_custom_fields: false,
            whitelist: Vec::new(),
            step_fields: None,
            pii_mode: false,
        }
    }
}

/// System fields that carry no decision signal (or duplicate another field).
const DROP_FIELDS: &[&str] = &[
    "lastViewed",
    "workratio",
    "issuerestriction",
    "progress",
    "aggregateprogress",
    "aggregatetimespent",
    "aggregatetimeestimate",
    "aggregatetimeoriginalestimate",
    "worklog",
    "thumbnail",
    "statusCategory",
];

/// Keys dropped at any depth: links, avatars, opaque ids and scheme/workflow internals.
const OPAQUE_KEYS: &[&str] = &[
    "self",
    "id",
    "expand",
    "avatarUrls",
    "iconUrl",
    "lastViewed",
    "statusCategory",
    "_links",
    "_expands",
    "avatarId",
    "hierarchyLevel",
    "entityId",
    "accountType",
    "timeZone",
    "locale",
    "active",
    "emailAddress",
    "properties",
    "schema",
    "renderedFields",
    "names",
    "editmeta",
    "changelog",
    "transitions",
    "operations",
    "versionedRepresentations",
    "ancestors",
    "issuerestriction",
    "thumbnail",
    "subtask",
    "colorName",
    "untranslatedName",
    "workflow",
];

fn is_opaque_key(k: &str) -> bool {
    OPAQUE_KEYS.contains(&k)
        || k.ends_with("Id")
        || k.ends_with("Ids")
        || k.ends_with("_id")
        || k.ends_with("Url")
        || k.ends_with("Urls")
        || k.to_ascii_lowercase().contains("scheme")
}

/// At most `max` characters; when cut, the last kept character is `…` (so the result is
/// still within `max`).
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

pub fn prune_issue(issue: &Value, o: &PruneOptions, scrub: &mut Scrubber) -> Value {
    let empty = Map::new();
    let fields = issue
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let names = issue.get("names").and_then(Value::as_object);

    // Tokens first, so names of people anywhere in the issue are known before any free text
    // is scrubbed (reporter/creator/assignee get the lowest numbers, then commenters).
    register_people(fields, scrub);

    let mut out = Map::new();
    if let Some(key) = issue.get("key").and_then(Value::as_str) {
        if !key.is_empty() {
            out.insert("key".into(), json!(key));
        }
    }

    let mut custom: Vec<(String, String, Value)> = Vec::new();
    for (id, raw) in fields {
        let id = id.as_str();
        if id.starts_with("customfield_") {
            if let Some(entry) = custom_field(id, raw, names, o, scrub) {
                custom.push(entry);
            }
            continue;
        }
        match id {
            "comment" => {
                if o.include_comments {
                    if let Some((list, omitted)) = prune_comments(raw, scrub) {
                        out.insert("comments".into(), list);
                        if omitted > 0 {
                            out.insert("commentsOmitted".into(), json!(omitted));
                        }
                    }
                }
            }
            "attachment" => {
                if o.include_attachments {
                    if let Some((list, omitted)) = prune_attachments(raw, scrub) {
                        out.insert("attachments".into(), list);
                        if omitted > 0 {
                            out.insert("attachmentsOmitted".into(), json!(omitted));
                        }
                    }
                }
            }
            "issuelinks" => {
                if o.include_linked {
                    if let Some((list, omitted)) = prune_links(raw, scrub) {
                        out.insert("issueLinks".into(), list);
                        if omitted > 0 {
                            out.insert("issueLinksOmitted".into(), json!(omitted));
                        }
                    }
                }
            }
            "subtasks" => {
                if o.include_subtasks {
                    if let Some((list, omitted)) = prune_subtasks(raw, scrub) {
                        out.insert("subtasks".into(), list);
                        if omitted > 0 {
                            out.insert("subtasksOmitted".into(), json!(omitted));
                        }
                    }
                }
            }
            "watches" | "watchers" => {
                if let Some(n) = watch_count(raw).filter(|n| *n > 0) {
                    out.insert("watchCount".into(), json!(n));
                }
            }
            "votes" => {
                if let Some(n) = raw.get("votes").and_then(Value::as_u64).filter(|n| *n > 0) {
                    out.insert("voteCount".into(), json!(n));
                }
            }
            "project" => {
                if let Some(p) = key_and_name(raw, scrub) {
                    out.insert("project".into(), p);
                }
            }
            "parent" => {
                if let Some(p) = issue_ref(raw, scrub) {
                    out.insert("parent".into(), p);
                }
            }
            _ if DROP_FIELDS.contains(&id) || is_opaque_key(id) => {}
            _ => {
                if let Some(v) = simplify(raw, scrub, 0) {
                    out.insert(id.to_string(), v);
                }
            }
        }
    }

    if !custom.is_empty() {
        // Deterministic order (by name) before the cap.
        custom.sort_by(|a, b| {
            a.0.to_lowercase()
                .cmp(&b.0.to_lowercase())
                .then_with(|| a.1.cmp(&b.1))
        });
        let omitted = custom.len().saturating_sub(MAX_CUSTOM_FIELDS);
        let list: Vec<Value> = custom
            .into_iter()
            .take(MAX_CUSTOM_FIELDS)
            .map(|(name, _, value)| json!({ "name": name, "value": value }))
            .collect();
        out.insert("customFields".into(), Value::Array(list));
        if omitted > 0 {
            out.insert("customFieldsOmitted".into(), json!(omitted));
        }
    }
    Value::Object(out)
}

/// The issue as prompt templates see it: Jira's own shape (`issue.fields.status.name`,
/// `issue.fields.customfield_10050`, `issue.fields.comment.comments`) so template paths work,
/// but holding only what the appendix may carry — the same custom-field filter, comment and
/// attachment toggles, people as `{displayName: <user-N>}`, attachments as metadata, ADF as
/// text, every string scrubbed. Templates never see the raw issue.
pub fn template_issue(issue: &Value, o: &PruneOptions, scrub: &mut Scrubber) -> Value {
    let empty = Map::new();
    let fields = issue
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let names = issue.get("names").and_then(Value::as_object);
    register_people(fields, scrub);
    let mut f = Map::new();
    for (id, raw) in fields {
        let id = id.as_str();
        if id.starts_with("customfield_") {
            if let Some((_, _, value)) = custom_field(id, raw, names, o, scrub) {
                f.insert(id.to_string(), value);
            }
            continue;
        }
        let shaped: Option<Value> = match id {
            "comment" if o.include_comments => prune_comments(raw, scrub).map(|(list, _)| {
                let list: Vec<Value> = list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let mut c = c.clone();
                        if let Some(t) = c.get("author").cloned() {
                            c["author"] = json!({ "displayName": t });
                        }
                        c
                    })
                    .collect();
                json!({ "comments": list })
            }),
            "attachment" if o.include_attachments => prune_attachments(raw, scrub).map(|x| x.0),
            "issuelinks" if o.include_linked => prune_links(raw, scrub).map(|x| x.0),
            "subtasks" if o.include_subtasks => prune_subtasks(raw, scrub).map(|x| x.0),
            "comment" | "attachment" | "issuelinks" | "subtasks" => None,
            "watches" | "watchers" => watch_count(raw)
                .filter(|n| *n > 0)
                .map(|n| json!({ "watchCount": n })),
            _ if DROP_FIELDS.contains(&id) || is_opaque_key(id) => None,
            _ => jira_shaped(raw, scrub, 0),
        };
        if let Some(v) = shaped {
            f.insert(id.to_string(), v);
        }
    }
    let mut out = Map::new();
    // The issue's own id and key are not personal (the legacy `${issue.id}` tag quotes the id).
    for k in ["id", "key"] {
        if let Some(v) = issue
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            out.insert(k.into(), json!(v));
        }
    }
    out.insert("fields".into(), Value::Object(f));
    Value::Object(out)
}

/// Like [`simplify`], but objects keep their shape (`{name: "High"}` stays an object) so Jira
/// paths resolve; users become `{displayName: <user-N>}`.
fn jira_shaped(v: &Value, scrub: &mut Scrubber, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Null => None,
        Value::Bool(_) | Value::Number(_) => Some(v.clone()),
        Value::String(s) => clean_text(s, scrub).map(Value::String),
        Value::Array(items) => {
            let out: Vec<Value> = items
                .iter()
                .filter_map(|i| jira_shaped(i, scrub, depth + 1))
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        Value::Object(map) => {
            if is_adf_doc(map) {
                return clean_text(&adf_text(v, scrub), scrub).map(Value::String);
            }
            if let Some(token) = user_token(map, scrub) {
                return Some(json!({ "displayName": token }));
            }
            let out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| !is_opaque_key(k))
                .filter_map(|(k, x)| jira_shaped(x, scrub, depth + 1).map(|x| (k.clone(), x)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
    }
}

/// Drops nulls, empty strings, empty arrays and empty objects at any depth (the Approval Data
/// block is pruned like the work item). Returns false when `v` itself is empty.
pub fn drop_empty(v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => {
            a.retain_mut(drop_empty);
            !a.is_empty()
        }
        Value::Object(o) => {
            o.retain(|_, x| drop_empty(x));
            !o.is_empty()
        }
        _ => true,
    }
}

// ---- people ----

fn register_people(fields: &Map<String, Value>, scrub: &mut Scrubber) {
    for k in ["reporter", "creator", "assignee"] {
        if let Some(u) = fields.get(k).and_then(Value::as_object) {
            let _ = user_token(u, scrub);
        }
    }
    if let Some(list) = fields
        .get("comment")
        .and_then(|c| c.get("comments"))
        .and_then(Value::as_array)
    {
        let mut sorted: Vec<&Value> = list.iter().collect();
        sorted.sort_by_key(|c| created_ms(c));
        for c in sorted {
            if let Some(a) = c.get("author").and_then(Value::as_object) {
                let _ = user_token(a, scrub);
            }
        }
    }
    for v in fields.values() {
        walk_people(v, scrub, 0);
    }
}

fn walk_people(v: &Value, scrub: &mut Scrubber, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            if user_token(m, scrub).is_some() {
                return;
            }
            // ADF mentions: {"type":"mention","attrs":{"id":"<accountId>","text":"@Alice Smith"}}
            if m.get("type").and_then(Value::as_str) == Some("mention") {
                if let Some(attrs) = m.get("attrs") {
                    let id = attrs.get("id").and_then(Value::as_str).unwrap_or("");
                    let text = attrs.get("text").and_then(Value::as_str).unwrap_or("");
                    let name = text.trim_start_matches('@');
                    if !id.is_empty() || !name.is_empty() {
                        scrub.register_user(id, name, None);
                    }
                }
            }
            for x in m.values() {
                walk_people(x, scrub, depth + 1);
            }
        }
        Value::Array(items) => {
            for x in items {
                walk_people(x, scrub, depth + 1);
            }
        }
        _ => {}
    }
}

/// A Jira user object (has `accountId`, or looks like one) → its token.
/// ADF as plain text, a mention without display text reading its person's token (`@<user-N>`,
/// never "@someone" and never the account id; D-263).
fn adf_text(v: &Value, scrub: &Scrubber) -> String {
    crate::adf::to_text_named(v, &|id| scrub.token_for_account(id).map(String::from))
}

fn user_token(map: &Map<String, Value>, scrub: &mut Scrubber) -> Option<String> {
    let text = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("");
    let account = text("accountId");
    let email = map.get("emailAddress").and_then(Value::as_str);
    let is_user = !account.is_empty()
        || (map.contains_key("displayName")
            && (email.is_some()
                || map.contains_key("avatarUrls")
                || map.contains_key("accountType")));
    if !is_user {
        return None;
    }
    Some(scrub.register_user(account, text("displayName"), email))
}

// ---- generic simplification ----

fn is_adf_doc(map: &Map<String, Value>) -> bool {
    map.get("type").and_then(Value::as_str) == Some("doc")
}

fn simplify(v: &Value, scrub: &mut Scrubber, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Null => None,
        Value::Bool(_) | Value::Number(_) => Some(v.clone()),
        Value::String(s) => clean_text(s, scrub).map(Value::String),
        Value::Array(items) => {
            let out: Vec<Value> = items
                .iter()
                .filter_map(|i| simplify(i, scrub, depth + 1))
                .collect();
            if out.is_empty() {
                None
            } else {
                Some(Value::Array(out))
            }
        }
        Value::Object(map) => {
            if is_adf_doc(map) {
                return clean_text(&adf_text(v, scrub), scrub).map(Value::String);
            }
            simplify_object(map, scrub, depth)
        }
    }
}

fn simplify_object(map: &Map<String, Value>, scrub: &mut Scrubber, depth: usize) -> Option<Value> {
    if let Some(token) = user_token(map, scrub) {
        return Some(Value::String(token));
    }
    // Named entities (status, priority, issue type, component, version, option) → their name.
    if map.contains_key("self") || map.contains_key("id") {
        if let Some(name) = map.get("name").and_then(Value::as_str) {
            return clean_text(name, scrub).map(Value::String);
        }
        if let Some(value) = map.get("value").and_then(Value::as_str) {
            let full = match map
                .get("child")
                .and_then(|c| c.get("value"))
                .and_then(Value::as_str)
            {
                Some(child) => format!("{value} / {child}"),
                None => value.to_string(),
            };
            return clean_text(&full, scrub).map(Value::String);
        }
    }
    let mut out = Map::new();
    for (k, val) in map {
        if is_opaque_key(k) {
            continue;
        }
        if let Some(x) = simplify(val, scrub, depth + 1) {
            out.insert(k.clone(), x);
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    }
}

/// Strips residual HTML, trims, and scrubs; `None` when nothing is left.
fn clean_text(s: &str, scrub: &Scrubber) -> Option<String> {
    let stripped = strip_html(s);
    let t = stripped.trim();
    if t.is_empty() {
        return None;
    }
    // Data never writes the prompt's own headings or fences (the trust boundary).
    Some(super::boundary::neutralise(&scrub.scrub_text(t)).into_owned())
}

fn script_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // ASCII case folding and boundaries (`-u`): the build carries no Unicode tables.
        Regex::new(r"(?s)<(?i-u:script|style)(?-u:\b)[^>]*>.*?</(?i-u:script|style)(?-u:\s)*>")
            .expect("static regex is valid")
    })
}

/// Only real HTML tag names, so text like `Vec<String>` or `a < b > c` survives.
fn tag_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"</?(?i-u:(p|br|div|span|b|i|u|em|strong|a|ul|ol|li|table|thead|tbody|tr|td|th|h[1-6]|pre|code|blockquote|img|hr|font|sup|sub|s|strike|del|ins|small|big|center|section|article|header|footer|label|tt|dl|dt|dd))(?-u:\b)[^<>]*>",
        )
        .expect("static regex is valid")
    })
}

fn strip_html(s: &str) -> String {
    if !s.contains('<') && !s.contains('&') {
        return s.to_string();
    }
    let no_script_cow = script_re().replace_all(s, "");
    let no_script: &str = &no_script_cow;
    let mut out = String::with_capacity(no_script.len());
    let mut last = 0;
    for caps in tag_re().captures_iter(no_script) {
        let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        out.push_str(&no_script[last..whole.start()]);
        let block = matches!(
            name.as_str().to_ascii_lowercase().as_str(),
            "p" | "br"
                | "div"
                | "li"
                | "tr"
                | "table"
                | "ul"
                | "ol"
                | "blockquote"
                | "pre"
                | "hr"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "dt"
                | "dd"
        );
        if block {
            out.push('\n');
        }
        last = whole.end();
    }
    out.push_str(&no_script[last..]);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    // Drop the blank lines block tags leave behind.
    decoded
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

// ---- custom fields ----

fn custom_allowed(id: &str, o: &PruneOptions) -> bool {
    if o.allow_all_custom_fields {
        return true;
    }
    let in_tenant = o.whitelist.iter().any(|w| w.as_str() == id);
    let in_step = o
        .step_fields
        .as_ref()
        .is_none_or(|s| s.iter().any(|w| w.as_str() == id));
    in_tenant && in_step
}

/// `(name, id, value)` for an exposed custom field, or `None` when it is filtered out. Fields
/// without a human name (issue fetched without `expand=names`) are never exposed by id.
fn custom_field(
    id: &str,
    raw: &Value,
    names: Option<&Map<String, Value>>,
    o: &PruneOptions,
    scrub: &mut Scrubber,
) -> Option<(String, String, Value)> {
    let name = names
        .and_then(|n| n.get(id))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())?;
    if !custom_allowed(id, o) {
        return None;
    }
    if o.pii_mode && (is_pii_field_name(name) || is_pii_field_name(id)) {
        return None;
    }
    let value = simplify(raw, scrub, 0)?;
    Some((name.to_string(), id.to_string(), cap_value(value)))
}

fn cap_value(v: Value) -> Value {
    if let Value::String(s) = &v {
        return Value::String(truncate_chars(s, CUSTOM_VALUE_MAX_CHARS));
    }
    if v.is_array() || v.is_object() {
        let s = v.to_string();
        if s.chars().count() > CUSTOM_VALUE_MAX_CHARS {
            return Value::String(truncate_chars(&s, CUSTOM_VALUE_MAX_CHARS));
        }
    }
    v
}

// ---- comments, attachments, links, subtasks ----

fn prune_comments(raw: &Value, scrub: &mut Scrubber) -> Option<(Value, usize)> {
    let list = raw
        .get("comments")
        .and_then(Value::as_array)
        .or_else(|| raw.as_array())?;
    let reported_total = raw
        .get("total")
        .and_then(Value::as_u64)
        .map_or(0, |t| usize::try_from(t).unwrap_or(usize::MAX));
    let total = list.len().max(reported_total);

    let mut indexed: Vec<(i64, usize, &Value)> = list
        .iter()
        .enumerate()
        .map(|(i, c)| (created_ms(c), i, c))
        .collect();
    // Newest first, keep the cap, then back to reading order.
    indexed.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    indexed.truncate(MAX_COMMENTS);
    indexed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));

    let mut out = Vec::new();
    for (_, _, c) in indexed {
        let text = c
            .get("body")
            .map(|b| adf_text(b, scrub))
            .unwrap_or_default();
        let Some(body) = clean_text(&text, scrub) else {
            continue;
        };
        let mut m = Map::new();
        if let Some(author) = c.get("author").and_then(Value::as_object) {
            if let Some(token) = user_token(author, scrub) {
                m.insert("author".into(), json!(token));
            }
        }
        if let Some(created) = c.get("created").and_then(Value::as_str) {
            m.insert("created".into(), json!(created));
        }
        // JSM: an internal note (not shown to the customer) is worth knowing about.
        if c.get("jsdPublic").and_then(Value::as_bool) == Some(false) {
            m.insert("internal".into(), json!(true));
        }
        m.insert(
            "body".into(),
            json!(truncate_chars(&body, COMMENT_MAX_CHARS)),
        );
        out.push(Value::Object(m));
    }
    if out.is_empty() {
        return None;
    }
    Some((Value::Array(out), total.saturating_sub(MAX_COMMENTS)))
}

fn prune_attachments(raw: &Value, scrub: &Scrubber) -> Option<(Value, usize)> {
    let list = raw.as_array()?;
    let mut out: Vec<Value> = Vec::new();
    for a in list {
        // Metadata only: never content/thumbnail URLs, ids or the uploader.
        let mut m = Map::new();
        if let Some(f) = a
            .get("filename")
            .and_then(Value::as_str)
            .and_then(|f| clean_text(f, scrub))
        {
            m.insert("filename".into(), json!(f));
        }
        if let Some(t) = a
            .get("mimeType")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            m.insert("mimeType".into(), json!(t));
        }
        if let Some(size) = a.get("size").filter(|s| s.is_number()) {
            m.insert("size".into(), size.clone());
        }
        if let Some(c) = a
            .get("created")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
        {
            m.insert("created".into(), json!(c));
        }
        if !m.is_empty() {
            out.push(Value::Object(m));
        }
    }
    capped(out, MAX_ATTACHMENTS)
}

fn prune_links(raw: &Value, scrub: &Scrubber) -> Option<(Value, usize)> {
    let list = raw.as_array()?;
    let mut out: Vec<Value> = Vec::new();
    for link in list {
        let (other, phrase) = if let Some(i) = link.get("outwardIssue") {
            (i, link.pointer("/type/outward"))
        } else if let Some(i) = link.get("inwardIssue") {
            (i, link.pointer("/type/inward"))
        } else {
            continue;
        };
        let phrase = phrase
            .and_then(Value::as_str)
            .or_else(|| link.pointer("/type/name").and_then(Value::as_str))
            .unwrap_or("relates to");
        let mut m = Map::new();
        m.insert("type".into(), json!(phrase));
        if let Some(Value::Object(r)) = issue_ref(other, scrub) {
            m.extend(r);
        }
        out.push(Value::Object(m));
    }
    capped(out, MAX_LINKS)
}

fn prune_subtasks(raw: &Value, scrub: &Scrubber) -> Option<(Value, usize)> {
    let list = raw.as_array()?;
    let out: Vec<Value> = list.iter().filter_map(|s| issue_ref(s, scrub)).collect();
    capped(out, MAX_SUBTASKS)
}

fn capped(mut items: Vec<Value>, max: usize) -> Option<(Value, usize)> {
    if items.is_empty() {
        return None;
    }
    let omitted = items.len().saturating_sub(max);
    items.truncate(max);
    Some((Value::Array(items), omitted))
}

/// `{key, summary, status}` of a linked issue, subtask or parent.
fn issue_ref(v: &Value, scrub: &Scrubber) -> Option<Value> {
    let mut m = Map::new();
    if let Some(k) = v
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    {
        m.insert("key".into(), json!(k));
    }
    if let Some(s) = v
        .pointer("/fields/summary")
        .and_then(Value::as_str)
        .and_then(|s| clean_text(s, scrub))
    {
        m.insert("summary".into(), json!(s));
    }
    if let Some(s) = v
        .pointer("/fields/status/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        m.insert("status".into(), json!(s));
    }
    if m.is_empty() {
        None
    } else {
        Some(Value::Object(m))
    }
}

fn key_and_name(v: &Value, scrub: &Scrubber) -> Option<Value> {
    let mut m = Map::new();
    if let Some(k) = v
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    {
        m.insert("key".into(), json!(k));
    }
    if let Some(n) = v
        .get("name")
        .and_then(Value::as_str)
        .and_then(|n| clean_text(n, scrub))
    {
        m.insert("name".into(), json!(n));
    }
    if m.is_empty() {
        None
    } else {
        Some(Value::Object(m))
    }
}

fn watch_count(raw: &Value) -> Option<u64> {
    match raw {
        Value::Array(items) => Some(items.len() as u64),
        Value::Object(m) => m.get("watchCount").and_then(Value::as_u64).or_else(|| {
            m.get("watchers")
                .and_then(Value::as_array)
                .map(|w| w.len() as u64)
        }),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

// ---- timestamps ----

fn created_ms(c: &Value) -> i64 {
    c.get("created")
        .and_then(Value::as_str)
        .and_then(parse_timestamp_ms)
        .unwrap_or(i64::MIN)
}

/// Jira's `2024-01-15T10:00:00.000+0000` (also `Z` and `+01:00`) → epoch milliseconds.
fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse::<i64>().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac: String = s[start..i].chars().chain("000".chars()).take(3).collect();
        ms = frac.parse().unwrap_or(0);
    }
    let rest = &s[i..];
    let offset_min: i64 = if rest.is_empty() || rest.eq_ignore_ascii_case("z") {
        0
    } else {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 4 {
            return None;
        }
        let hh: i64 = digits[..2].parse().ok()?;
        let mm: i64 = digits[2..].parse().ok()?;
        sign * (hh * 60 + mm)
    };
    let days = crate::time::days_from_civil(y, mo as u32, d as u32);
    Some((((days * 24 + h) * 60 + mi - offset_min) * 60 + se) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE_ID: &str = "5ad8a1033b4801af4cd6c510";
    const RIVER_ID: &str = "712020:0e2b1c4d-1234-4abc-9def-0123456789ab";

    fn user(id: &str, name: &str, email: Option<&str>) -> Value {
        let mut u = json!({
            "self": format!("https://acme.atlassian.net/rest/api/3/user?accountId={id}"),
            "accountId": id,
            "displayName": name,
            "active": true,
            "timeZone": "Europe/Berlin",
            "accountType": "atlassian",
            "avatarUrls": {"48x48": "https://avatar-management.example/48.png"}
        });
        if let Some(e) = email {
            u["emailAddress"] = json!(e);
        }
        u
    }

    fn adf(text: &str) -> Value {
        json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
        ]})
    }

    fn comment(n: usize, author: Value) -> Value {
        json!({
            "self": format!("https://acme.atlassian.net/rest/api/3/issue/10001/comment/{n}"),
            "id": n.to_string(),
            "author": author.clone(),
            "updateAuthor": author,
            "body": adf(&format!("comment {n}")),
            "created": format!("2024-03-{:02}T09:00:00.000+0000", n),
            "updated": format!("2024-03-{:02}T09:00:00.000+0000", n),
            "jsdPublic": true
        })
    }

    /// A realistic issue: 30 comments (shuffled), 60 populated custom fields, links, subtasks,
    /// attachments, watchers and some PII in free text.
    fn issue() -> Value {
        let alice = user(ALICE_ID, "Alice Smith", Some("alice@example.com"));
        let river = user(RIVER_ID, "River", None);
        let mut comments: Vec<Value> = (1..=30)
            .map(|n| {
                comment(
                    n,
                    if n % 2 == 0 {
                        alice.clone()
                    } else {
                        river.clone()
                    },
                )
            })
            .collect();
        comments.reverse();
        comments.swap(3, 17);
        comments[0]["body"] = adf(&"x".repeat(5000));
        let mut fields = json!({
            "summary": "Buy 40 Figma seats",
            "description": adf(&format!(
                "Alice Smith (alice@example.com, {}) wants this before the river cruise.",
                ALICE_ID
            )),
            "environment": null,
            "labels": [],
            "components": [],
            "duedate": null,
            "timetracking": {},
            "status": {
                "self": "https://acme.atlassian.net/rest/api/3/status/3",
                "description": "Work in progress.",
                "iconUrl": "https://acme.atlassian.net/images/icons/statuses/inprogress.png",
                "name": "In Progress",
                "id": "3",
                "statusCategory": {"self": "x", "id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"}
            },
            "priority": {"self": "x", "iconUrl": "x", "name": "High", "id": "2"},
            "issuetype": {"self": "x", "id": "10002", "description": "A task", "iconUrl": "x", "name": "Task", "subtask": false, "avatarId": 10318, "hierarchyLevel": 0},
            "project": {"self": "x", "id": "10000", "key": "FIN", "name": "Finance", "projectTypeKey": "service_desk", "avatarUrls": {"48x48": "x"}},
            "reporter": alice,
            "creator": alice,
            "assignee": river,
            "created": "2024-02-28T08:00:00.000+0000",
            "lastViewed": "2024-03-30T08:00:00.000+0000",
            "workratio": -1,
            "watches": {"self": "https://acme.atlassian.net/rest/api/3/issue/FIN-42/watchers", "watchCount": 12, "isWatching": false},
            "votes": {"self": "x", "votes": 0, "hasVoted": false},
            "attachment": [{
                "self": "https://acme.atlassian.net/rest/api/3/attachment/10010",
                "id": "10010",
                "filename": "quote.pdf",
                "author": user(ALICE_ID, "Alice Smith", None),
                "created": "2024-03-01T10:00:00.000+0000",
                "size": 23123,
                "mimeType": "application/pdf",
                "content": "https://acme.atlassian.net/rest/api/3/attachment/content/10010",
                "thumbnail": "https://acme.atlassian.net/rest/api/3/attachment/thumbnail/10010"
            }],
            "comment": {"comments": comments, "maxResults": 30, "total": 30, "startAt": 0, "self": "x"}
        });
        let mut names = json!({"summary": "Summary"});
        for n in 0..60 {
            let id = format!("customfield_{}", 10100 + n);
            fields[&id] = json!(format!("value {n}"));
            names[&id] = json!(format!("Field {n:02}"));
        }
        fields["customfield_10050"] = json!(5000);
        names["customfield_10050"] = json!("Budget Amount");
        fields["customfield_10051"] = json!({"self": "x", "value": "Marketing", "id": "10021"});
        names["customfield_10051"] = json!("Cost Centre");
        fields["customfield_10052"] = json!("12 Main Street, Springfield");
        names["customfield_10052"] = json!("Home Address");
        fields["customfield_10053"] = adf("Rich <b>text</b> note");
        names["customfield_10053"] = json!("Justification");
        fields["customfield_10054"] = json!(null);
        names["customfield_10054"] = json!("Empty Field");
        fields["customfield_10055"] = json!("");
        names["customfield_10055"] = json!("Blank Field");
        fields["customfield_10056"] = json!("<p>Line one</p><p>Line <strong>two</strong></p>");
        names["customfield_10056"] = json!("Html Field");
        fields["issuelinks"] = json!((0..12).map(|n| json!({
            "id": format!("{}", 20000 + n),
            "self": "x",
            "type": {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks", "self": "x"},
            "outwardIssue": {"id": "1", "key": format!("OPS-{n}"), "self": "x", "fields": {
                "summary": format!("Linked {n}"),
                "status": {"self": "x", "name": "Done", "id": "5", "statusCategory": {"id": 3}},
                "priority": {"name": "Low"}, "issuetype": {"name": "Task"}
            }}
        })).collect::<Vec<_>>());
        fields["subtasks"] = json!((0..12).map(|n| json!({
            "id": "1", "key": format!("FIN-{}", 100 + n), "self": "x",
            "fields": {"summary": format!("Sub {n}"), "status": {"name": "To Do", "id": "1"}, "priority": {"name": "Low"}}
        })).collect::<Vec<_>>());
        json!({"expand": "renderedFields,names", "id": "10001", "self": "x", "key": "FIN-42", "fields": fields, "names": names})
    }

    fn all_fields() -> PruneOptions {
        PruneOptions {
            allow_all_custom_fields: true,
            ..PruneOptions::default()
        }
    }

    fn run(o: &PruneOptions) -> (Value, String) {
        let mut s = Scrubber::new(o.pii_mode);
        let v = prune_issue(&issue(), o, &mut s);
        let text = v.to_string();
        (v, text)
    }

    fn custom_names(v: &Value) -> Vec<String> {
        v["customFields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    // covers: AP-112, AP-042
    // covers: AP-111, AP-132
    #[test]
    fn a_mention_without_text_reads_the_persons_token_not_someone() {
        let mut issue = issue();
        let alice = user(ALICE_ID, "Alice Smith", Some("alice@example.com"));
        let mut c = comment(31, alice);
        c["body"] = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "Access ends for "},
            {"type": "mention", "attrs": {"id": ALICE_ID}},
            {"type": "text", "text": " and "},
            {"type": "mention", "attrs": {"id": "557058:not-on-this-issue"}}]}]});
        issue["fields"]["comment"]["comments"]
            .as_array_mut()
            .unwrap()
            .push(c);
        let mut s = Scrubber::new(false);
        let v = prune_issue(&issue, &all_fields(), &mut s);
        // Every mentioned person has a token, named on the issue or not.
        let token = s.token_for_account(ALICE_ID).unwrap().to_string();
        let other = s
            .token_for_account("557058:not-on-this-issue")
            .unwrap()
            .to_string();
        assert_ne!(token, other);
        let last = v["comments"].as_array().unwrap().last().unwrap()["body"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(last, format!("Access ends for @{token} and @{other}"));
        assert!(!v.to_string().contains("@someone") && !v.to_string().contains(ALICE_ID));
    }

    #[test]
    fn keeps_the_newest_15_comments_truncated_with_tokenised_authors() {
        let (v, _) = run(&all_fields());
        let comments = v["comments"].as_array().unwrap();
        assert_eq!(comments.len(), MAX_COMMENTS);
        let created: Vec<&str> = comments
            .iter()
            .map(|c| c["created"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (16..=30)
            .map(|n| format!("2024-03-{n:02}T09:00:00.000+0000"))
            .collect();
        assert_eq!(created, expected);
        assert_eq!(v["commentsOmitted"], 15);
        for c in comments {
            let body = c["body"].as_str().unwrap();
            assert!(body.chars().count() <= COMMENT_MAX_CHARS);
            let author = c["author"].as_str().unwrap();
            assert!(author == "<user-1>" || author == "<user-2>", "{author}");
            assert!(c.get("updateAuthor").is_none());
        }
        // The 5 000-char comment (number 30) is cut to the limit.
        assert_eq!(
            comments[14]["body"].as_str().unwrap().chars().count(),
            COMMENT_MAX_CHARS
        );
        assert_eq!(comments[0]["body"], "comment 16");
    }

    // covers: AP-042, AP-043, AP-044, AP-045
    #[test]
    fn toggles_off_drop_their_blocks() {
        let o = PruneOptions {
            include_comments: false,
            include_attachments: false,
            include_linked: false,
            include_subtasks: false,
            ..all_fields()
        };
        let (v, text) = run(&o);
        for k in [
            "comments",
            "attachments",
            "issueLinks",
            "subtasks",
            "comment",
            "attachment",
            "issuelinks",
        ] {
            assert!(v.get(k).is_none(), "{k} present");
        }
        assert!(!text.contains("comment 3"));
        assert!(!text.contains("quote.pdf"));
    }

    // covers: AP-113, AP-114
    #[test]
    fn custom_fields_by_name_capped_at_40_and_never_by_id() {
        let (v, text) = run(&all_fields());
        let list = v["customFields"].as_array().unwrap();
        assert_eq!(list.len(), MAX_CUSTOM_FIELDS);
        assert!(v["customFieldsOmitted"].as_u64().unwrap() > 0);
        assert!(!text.contains("customfield_"));
        let names = custom_names(&v);
        // Sorted by name: the named business fields come first, empty ones are filtered out.
        assert_eq!(
            &names[..5],
            [
                "Budget Amount",
                "Cost Centre",
                "Field 00",
                "Field 01",
                "Field 02"
            ]
        );
        assert!(!names
            .iter()
            .any(|n| n == "Empty Field" || n == "Blank Field"));
        assert_eq!(list[0], json!({"name": "Budget Amount", "value": 5000}));
        assert_eq!(
            list[1],
            json!({"name": "Cost Centre", "value": "Marketing"})
        );
    }

    // covers: AP-114
    #[test]
    fn custom_values_are_truncated_and_rich_text_flattened() {
        let mut i = issue();
        i["fields"]["customfield_10050"] = json!("y".repeat(2000));
        let o = PruneOptions {
            whitelist: vec![
                "customfield_10050".into(),
                "customfield_10053".into(),
                "customfield_10056".into(),
            ],
            ..PruneOptions::default()
        };
        let mut s = Scrubber::new(false);
        let v = prune_issue(&i, &o, &mut s);
        let list = v["customFields"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0]["value"].as_str().unwrap().chars().count(),
            CUSTOM_VALUE_MAX_CHARS
        );
        assert_eq!(
            list[1],
            json!({"name": "Html Field", "value": "Line one\nLine two"})
        );
        assert_eq!(
            list[2],
            json!({"name": "Justification", "value": "Rich text note"})
        );
    }

    // covers: AP-024, AP-047, AP-115
    #[test]
    fn whitelist_intersects_step_fields() {
        let a = "customfield_10050";
        let b = "customfield_10051";
        let c = "customfield_10053";
        let o = PruneOptions {
            whitelist: vec![a.into(), b.into()],
            step_fields: Some(vec![b.into(), c.into()]),
            ..PruneOptions::default()
        };
        assert_eq!(custom_names(&run(&o).0), ["Cost Centre"]);
        let o = PruneOptions {
            whitelist: vec![a.into(), b.into()],
            ..PruneOptions::default()
        };
        assert_eq!(custom_names(&run(&o).0), ["Budget Amount", "Cost Centre"]);
        let o = PruneOptions {
            whitelist: vec![a.into()],
            step_fields: Some(Vec::new()),
            ..PruneOptions::default()
        };
        assert!(run(&o).0.get("customFields").is_none());
        // Nothing whitelisted and "Allow all" off: no custom fields at all.
        assert!(run(&PruneOptions::default())
            .0
            .get("customFields")
            .is_none());
    }

    // covers: AP-025
    #[test]
    fn allow_all_ignores_whitelist_and_step_fields() {
        let o = PruneOptions {
            allow_all_custom_fields: true,
            whitelist: vec!["customfield_10050".into()],
            step_fields: Some(vec!["customfield_10050".into()]),
            ..PruneOptions::default()
        };
        assert_eq!(
            run(&o).0["customFields"].as_array().unwrap().len(),
            MAX_CUSTOM_FIELDS
        );
    }

    // covers: AP-136
    #[test]
    fn pii_mode_drops_pii_named_custom_fields() {
        let ids = vec![
            "customfield_10052".to_string(),
            "customfield_10050".to_string(),
        ];
        let on = PruneOptions {
            whitelist: ids.clone(),
            pii_mode: true,
            ..PruneOptions::default()
        };
        let off = PruneOptions {
            whitelist: ids,
            pii_mode: false,
            ..PruneOptions::default()
        };
        assert_eq!(custom_names(&run(&on).0), ["Budget Amount"]);
        assert_eq!(
            custom_names(&run(&off).0),
            ["Budget Amount", "Home Address"]
        );
    }

    // covers: AP-116, AP-134
    #[test]
    fn watchers_become_a_count() {
        let (v, text) = run(&all_fields());
        assert_eq!(v["watchCount"], 12);
        assert!(v.get("watches").is_none());
        assert!(!text.contains("isWatching"));
        assert_eq!(
            watch_count(&json!([{"accountId": "a"}, {"accountId": "b"}])),
            Some(2)
        );
    }

    // covers: AP-043
    #[test]
    fn attachments_are_metadata_only() {
        let (v, text) = run(&all_fields());
        assert_eq!(
            v["attachments"],
            json!([{"filename": "quote.pdf", "mimeType": "application/pdf", "size": 23123, "created": "2024-03-01T10:00:00.000+0000"}])
        );
        assert!(!text.contains("attachment/content"));
        assert!(!text.contains("thumbnail"));
    }

    // covers: AP-044, AP-045
    #[test]
    fn links_and_subtasks_are_shaped_and_capped() {
        let (v, _) = run(&all_fields());
        let links = v["issueLinks"].as_array().unwrap();
        assert_eq!(links.len(), MAX_LINKS);
        assert_eq!(v["issueLinksOmitted"], 2);
        assert_eq!(
            links[0],
            json!({"type": "blocks", "key": "OPS-0", "summary": "Linked 0", "status": "Done"})
        );
        let subs = v["subtasks"].as_array().unwrap();
        assert_eq!(subs.len(), MAX_SUBTASKS);
        assert_eq!(v["subtasksOmitted"], 2);
        assert_eq!(
            subs[0],
            json!({"key": "FIN-100", "summary": "Sub 0", "status": "To Do"})
        );
    }

    // covers: AP-110, AP-111, AP-118
    #[test]
    fn empties_adf_and_internal_fields_are_gone() {
        let (v, text) = run(&all_fields());
        for k in [
            "environment",
            "labels",
            "components",
            "duedate",
            "timetracking",
            "lastViewed",
            "workratio",
            "votes",
            "id",
            "self",
            "expand",
            "names",
        ] {
            assert!(v.get(k).is_none(), "{k} present");
        }
        assert!(!text.contains("\"type\":\"doc\""));
        for internal in [
            "avatarUrls",
            "iconUrl",
            "statusCategory",
            "\"self\"",
            "hierarchyLevel",
            "projectTypeKey",
            "https://acme.atlassian.net",
        ] {
            assert!(!text.contains(internal), "{internal} leaked");
        }
        assert_eq!(v["key"], "FIN-42");
        assert_eq!(v["status"], "In Progress");
        assert_eq!(v["priority"], "High");
        assert_eq!(v["issuetype"], "Task");
        assert_eq!(v["project"], json!({"key": "FIN", "name": "Finance"}));
        assert_eq!(v["summary"], "Buy 40 Figma seats");
    }

    // covers: AP-130, AP-131, AP-132, AP-133, AP-049
    #[test]
    fn people_are_tokenised_and_identifiers_removed() {
        let (v, text) = run(&all_fields());
        assert!(!text.contains("alice@example.com"));
        assert!(!text.contains(ALICE_ID));
        assert!(!text.contains(RIVER_ID));
        assert!(!text.contains("Alice Smith"));
        assert!(!text.contains("accountId"));
        // Reporter and commenter are the same person → the same token.
        assert_eq!(v["reporter"], "<user-1>");
        assert_eq!(v["creator"], "<user-1>");
        assert_eq!(v["assignee"], "<user-2>");
        assert!(v["comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["author"] == "<user-1>"));
        // Multi-word name and email/id replaced in free text; the word "river" is untouched.
        assert_eq!(
            v["description"],
            "<user-1> (<email>, <user-1>) wants this before the river cruise."
        );
    }

    #[test]
    fn truncate_chars_respects_the_limit() {
        assert_eq!(truncate_chars("hello", 5), "hello");
        assert_eq!(truncate_chars("hello!", 5), "hell…");
        assert_eq!(truncate_chars("héllo wörld", 3).chars().count(), 3);
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn html_is_stripped_but_angle_text_survives() {
        assert_eq!(
            strip_html("<div>Hi <b>there</b></div><script>alert(1)</script>"),
            "Hi there"
        );
        assert_eq!(
            strip_html("Vec<String> and a < b > c &amp; d"),
            "Vec<String> and a < b > c & d"
        );
        // The patterns fold case in ASCII only (no Unicode tables in the build): upper-case tags
        // and scripts go all the same; non-ASCII text around and inside them is kept.
        assert_eq!(
            strip_html("<DIV>Grüße <B>Jörg</B></DIV><SCRIPT type=x>alert('é')</Script >"),
            "Grüße Jörg"
        );
        assert_eq!(strip_html("<pré> stays"), "<pré> stays");
    }

    #[test]
    fn timestamps_parse_with_offsets() {
        let utc = parse_timestamp_ms("2024-01-15T10:00:00.000+0000").unwrap();
        assert_eq!(
            parse_timestamp_ms("2024-01-15T11:00:00.000+0100"),
            Some(utc)
        );
        assert_eq!(parse_timestamp_ms("2024-01-15T10:00:00Z"), Some(utc));
        assert_eq!(
            parse_timestamp_ms("2024-01-15T10:00:00.5+00:00"),
            Some(utc + 500)
        );
        assert_eq!(utc, 1_705_312_800_000);
        assert_eq!(parse_timestamp_ms("yesterday"), None);
    }
}
