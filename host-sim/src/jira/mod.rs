//! Jira Cloud REST v3 over the fixture site: the calls FORGE-FACTS.md lists, with the response
//! shapes of the v3 OpenAPI spec and Jira's errors (404 for what the caller cannot see, 403 for a
//! missing scope or permission, 400 for an unavailable transition, 429 with Retry-After).

pub mod shapes;

use crate::site::{Comment, Site};
use aiclearance::host::{HttpRequest, HttpResponse, Principal};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A path with ids replaced by placeholders, for call counting.
pub fn route_name(path: &str) -> String {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["rest", "api", "3", "issue", _] => "/rest/api/3/issue/{key}".into(),
        ["rest", "api", "3", "issue", _, "properties", _] => {
            "/rest/api/3/issue/{key}/properties/{prop}".into()
        }
        ["rest", "api", "3", "issue", _, sub] => format!("/rest/api/3/issue/{{key}}/{sub}"),
        _ => path.to_string(),
    }
}

pub fn error_response(status: u16, retry_after_s: Option<u32>, message: &str) -> HttpResponse {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let Some(s) = retry_after_s {
        headers.push(("Retry-After".into(), s.to_string()));
        headers.push(("RateLimit-Reason".into(), "jira-burst-based".into()));
    }
    HttpResponse {
        status,
        headers,
        body: json!({"errorMessages": [message], "errors": {}}).to_string(),
    }
}

fn ok(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

fn field_error(field: &str, message: &str) -> HttpResponse {
    HttpResponse {
        status: 400,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: json!({"errorMessages": [], "errors": {field: message}}).to_string(),
    }
}

fn query(url: &str) -> BTreeMap<String, String> {
    let Some((_, q)) = url.split_once('?') else {
        return BTreeMap::new();
    };
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The scope a route needs (Forge rejects calls outside the manifest's scopes).
fn required_scope(method: &str, parts: &[&str]) -> &'static str {
    match (method, parts) {
        (_, ["rest", "api", "3", "user", ..])
        | (_, ["rest", "api", "3", "myself"])
        | (_, ["rest", "api", "3", "groups", "picker"]) => "read:jira-user",
        (_, ["rest", "servicedeskapi", ..]) => "read:servicedesk-request",
        (_, ["rest", "api", "3", "group", ..]) | (_, ["rest", "api", "3", "field"]) => {
            "manage:jira-configuration"
        }
        ("GET", _) => "read:jira-work",
        (_, ["rest", "api", "3", "permissions", "check"]) => "read:jira-work",
        _ => "write:jira-work",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Serves one request. Returns the response and how many new ids it used.
pub fn handle(
    site: &mut Site,
    scopes: &[String],
    principal: Principal,
    account: Option<&str>,
    req: &HttpRequest,
    now_ms: u64,
    next_id: u64,
) -> (HttpResponse, u64) {
    let path = req.url.split('?').next().unwrap_or("");
    if !path.starts_with("/rest/") {
        return (error_response(404, None, "Not found"), 0);
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["rest", "forge", "1", "app", "properties", rest @ ..] = parts.as_slice() {
        return (
            app_property(site, principal, &req.method, rest, req.body.as_deref()),
            0,
        );
    }
    let scope = required_scope(&req.method, &parts);
    if !scopes.iter().any(|s| s == scope) {
        // What Jira answers a Forge app calling outside its granted scopes (the scope the call
        // needed is in the simulator's log, not in Jira's answer).
        return (
            ok(
                401,
                json!({"code": 401, "message": "Unauthorized; scope does not match"}),
            ),
            0,
        );
    }
    let q = query(&req.url);
    let body: Value = req
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    if req.body.as_deref().is_some_and(|b| !b.trim().is_empty()) && body.is_null() {
        return (
            error_response(
                400,
                None,
                "Unexpected character in request body: not valid JSON",
            ),
            0,
        );
    }
    let viewer = match principal {
        Principal::App => None,
        Principal::User => account,
    };
    let now = aiclearance::time::rfc3339(now_ms).replace('Z', "+0000");
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["rest", "api", "3", "issue", key]) => (get_issue(site, viewer, key, &q), 0),
        ("GET", ["rest", "api", "3", "issue", key, "properties", prop]) => {
            let Some(issue) = visible(site, viewer, key) else {
                return (not_found_issue(), 0);
            };
            match issue.properties.get(*prop) {
                Some(v) => (ok(200, json!({"key": prop, "value": v})), 0),
                None => (
                    error_response(
                        404,
                        None,
                        &format!("The property with key '{prop}' does not exist."),
                    ),
                    0,
                ),
            }
        }
        ("PUT", ["rest", "api", "3", "issue", key, "properties", prop]) => {
            if req.body.as_deref().unwrap_or("").len() > 32_768 {
                return (
                    error_response(
                        400,
                        None,
                        "The property value is too long: the limit is 32768 characters.",
                    ),
                    0,
                );
            }
            if visible(site, viewer, key).is_none() {
                return (not_found_issue(), 0);
            }
            let issue = site.issue_mut(key).expect("visible");
            let existed = issue.properties.insert(prop.to_string(), body).is_some();
            (ok(if existed { 200 } else { 201 }, Value::Null), 0)
        }
        ("GET", ["rest", "api", "3", "issue", key, "comment"]) => {
            let Some(issue) = visible(site, viewer, key) else {
                return (not_found_issue(), 0);
            };
            let with_props = q
                .get("expand")
                .is_some_and(|e| e.split(',').any(|x| x == "properties"));
            // Jira pages comments (maxResults defaults to 100) and orders them by creation,
            // oldest first, unless `orderBy=-created`.
            let start: usize = q.get("startAt").and_then(|v| v.parse().ok()).unwrap_or(0);
            let max: usize = q
                .get("maxResults")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100)
                .clamp(1, 5000);
            // A JSM customer sees public comments only (internal ones are for agents).
            let customer = viewer
                .and_then(|a| site.user(a))
                .is_some_and(|u| u.account_type == "customer");
            let mut ordered: Vec<&crate::site::Comment> = issue
                .comments
                .iter()
                .filter(|c| !customer || shapes::is_public(c))
                .collect();
            match q.get("orderBy").map(String::as_str) {
                Some("-created") => ordered.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id))),
                Some("created") | Some("+created") | None => {
                    ordered.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)))
                }
                Some(other) => {
                    return (
                        error_response(400, None, &format!("The orderBy value '{other}' is not supported. Use 'created', '+created' or '-created'.")),
                        0,
                    )
                }
            }
            let total = ordered.len();
            let comments: Vec<Value> = ordered
                .into_iter()
                .skip(start)
                .take(max)
                .map(|c| shapes::comment(site, &issue.key, c, with_props))
                .collect();
            (
                ok(
                    200,
                    json!({"startAt": start, "maxResults": max, "total": total, "comments": comments}),
                ),
                0,
            )
        }
        ("POST", ["rest", "api", "3", "issue", key, "comment"]) => {
            let Some(issue) = visible(site, viewer, key) else {
                return (not_found_issue(), 0);
            };
            if let Some(a) = viewer {
                let project = site.project(&issue.project).expect("checked").clone();
                if !site.has_project(a, &project, "ADD_COMMENTS") {
                    return (
                        error_response(
                            403,
                            None,
                            "You do not have permission to add comments to this issue.",
                        ),
                        0,
                    );
                }
            }
            let adf = body.get("body").cloned().unwrap_or(Value::Null);
            if adf.get("type").and_then(Value::as_str) != Some("doc")
                || adf.get("version").and_then(Value::as_u64) != Some(1)
                || !adf.get("content").is_some_and(Value::is_array)
            {
                return (
                    field_error(
                        "comment",
                        "Comment body is not valid Atlassian Document Format.",
                    ),
                    0,
                );
            }
            let author = account
                .map(String::from)
                .unwrap_or_else(|| shapes::APP_ACCOUNT.into());
            let mut properties = BTreeMap::new();
            for p in body
                .get("properties")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match (p.get("key").and_then(Value::as_str), p.get("value")) {
                    // Entity properties hold at most 32 KB wherever they are set.
                    (Some(_), Some(v)) if v.to_string().len() > 32_768 => {
                        return (
                            field_error(
                                "properties",
                                "The property value is too long: the limit is 32768 characters.",
                            ),
                            0,
                        )
                    }
                    (Some(k), Some(v)) if !k.is_empty() && k.len() <= 255 => {
                        properties.insert(k.to_string(), v.clone());
                    }
                    _ => {
                        return (
                            field_error(
                                "properties",
                                "Comment property keys must be 1-255 characters.",
                            ),
                            0,
                        )
                    }
                }
            }
            let c = Comment {
                id: next_id.to_string(),
                author,
                body: adf,
                created: now.clone(),
                properties,
            };
            let issue_key = issue.key.clone();
            let resp = shapes::comment(site, &issue_key, &c, true);
            site.issue_mut(key).expect("visible").comments.push(c);
            (ok(201, resp), 1)
        }
        ("GET", ["rest", "api", "3", "issue", key, "transitions"]) => {
            let Some(issue) = visible(site, viewer, key) else {
                return (not_found_issue(), 0);
            };
            (
                ok(
                    200,
                    json!({"expand": "transitions", "transitions": shapes::available_transitions(
                        site,
                        issue,
                        q.get("expand").is_some_and(|e| e.split(',').any(|x| x == "transitions.fields")),
                    )}),
                ),
                0,
            )
        }
        ("POST", ["rest", "api", "3", "issue", key, "transitions"]) => {
            let Some(issue) = visible(site, viewer, key) else {
                return (not_found_issue(), 0);
            };
            if let Some(a) = viewer {
                let project = site.project(&issue.project).expect("checked").clone();
                if !site.has_project(a, &project, "TRANSITION_ISSUES") {
                    return (
                        error_response(
                            403,
                            None,
                            "You do not have permission to transition this issue.",
                        ),
                        0,
                    );
                }
            }
            let id = body
                .pointer("/transition/id")
                .and_then(Value::as_str)
                .unwrap_or("");
            let available = shapes::available_transitions(site, issue, true);
            let Some(t) = available.iter().find(|t| t["id"] == id) else {
                return (
                    error_response(
                        400,
                        None,
                        &format!("Transition id '{id}' is not valid for this issue."),
                    ),
                    0,
                );
            };
            // The transition's screen: every required field must come with the request.
            let missing: Vec<&String> = t["fields"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
                .filter(|k| {
                    body.pointer(&format!("/fields/{k}"))
                        .is_none_or(Value::is_null)
                })
                .collect();
            if !missing.is_empty() {
                let errors: serde_json::Map<String, Value> = missing
                    .iter()
                    .map(|k| {
                        (
                            (*k).clone(),
                            json!(format!("{} is required.", capitalise(k))),
                        )
                    })
                    .collect();
                return (ok(400, json!({"errorMessages": [], "errors": errors})), 0);
            }
            if let Some(r) = body.pointer("/fields/resolution") {
                let known = shapes::RESOLUTIONS
                    .iter()
                    .any(|(id, n)| r["id"] == *id || r["name"] == *n);
                if !known {
                    return (
                        ok(
                            400,
                            json!({"errorMessages": [], "errors": {"resolution": "Resolution is invalid."}}),
                        ),
                        0,
                    );
                }
            }
            let to = t["to"]["id"].as_str().unwrap_or("").to_string();
            let issue = site.issue_mut(key).expect("visible");
            issue.status = to;
            issue.updated = Some(now);
            (ok(204, Value::Null), 0)
        }
        ("GET", ["rest", "api", "3", "group", "member"]) => {
            let g = match (q.get("groupname"), q.get("groupId")) {
                (Some(_), Some(_)) => {
                    return (
                        field_error("groupId", "Only one of groupname and groupId can be given."),
                        0,
                    )
                }
                (None, None) => {
                    return (
                        field_error("groupname", "groupname or groupId is required"),
                        0,
                    )
                }
                (Some(name), None) => site.groups.iter().find(|g| &g.name == name),
                (None, Some(id)) => site.groups.iter().find(|g| &g.group_id == id),
            };
            let Some(g) = g else {
                let which = q
                    .get("groupname")
                    .or(q.get("groupId"))
                    .cloned()
                    .unwrap_or_default();
                return (
                    error_response(
                        404,
                        None,
                        &format!("Specified group does not exist: {which}"),
                    ),
                    0,
                );
            };
            // Jira leaves deactivated accounts out unless asked for them.
            let inactive_too = q.get("includeInactiveUsers").is_some_and(|v| v == "true");
            let listed: Vec<&String> = g
                .members
                .iter()
                .filter(|a| inactive_too || site.user(a).is_some_and(|u| u.active))
                .collect();
            let start: usize = q.get("startAt").and_then(|v| v.parse().ok()).unwrap_or(0);
            let max: usize = q
                .get("maxResults")
                .and_then(|v| v.parse().ok())
                .unwrap_or(50)
                .clamp(1, 50);
            let members: Vec<Value> = listed
                .iter()
                .skip(start)
                .take(max)
                .filter_map(|a| site.user(a))
                .map(|u| shapes::user(site, u))
                .collect();
            let total = listed.len();
            (
                ok(
                    200,
                    json!({"maxResults": max, "startAt": start, "total": total,
                           "isLast": start + max >= total, "values": members}),
                ),
                0,
            )
        }
        // [IssueTypeDetails]: every issue type of the site.
        ("GET", ["rest", "api", "3", "issuetype"]) => {
            let types: Vec<Value> = site
                .issue_types
                .iter()
                .map(|t| json!({"self": format!("{}/rest/api/3/issuetype/{}", site.base_url, t.id),
                                "id": t.id, "name": t.name, "subtask": t.subtask, "description": ""}))
                .collect();
            (ok(200, Value::Array(types)), 0)
        }
        // PageBeanProject (`typeKey` filters by project type).
        ("GET", ["rest", "api", "3", "project", "search"]) => {
            let type_key = q.get("typeKey");
            let values: Vec<Value> = site
                .projects
                .iter()
                .filter(|p| type_key.is_none_or(|t| &p.project_type_key == t))
                .map(|p| json!({"self": format!("{}/rest/api/3/project/{}", site.base_url, p.id),
                                "id": p.id, "key": p.key, "name": p.name, "projectTypeKey": p.project_type_key}))
                .collect();
            let total = values.len();
            (
                ok(
                    200,
                    json!({"startAt": 0, "maxResults": 50, "total": total, "isLast": true, "values": values}),
                ),
                0,
            )
        }
        // FoundGroups (Jira's `findGroups`): groups whose name contains `query` — case-sensitive
        // unless `caseInsensitive=true`, as Jira documents — sorted by name, without the groups
        // `exclude` / `excludeId` name (repeatable; Jira refuses both at once), at most
        // `maxResults` (Jira's autocomplete limit caps it; a value that is not a number is a 400).
        // `html` bolds the first match as Jira's picker does; `header` reads "Showing X of Y
        // matching groups".
        ("GET", ["rest", "api", "3", "groups", "picker"]) => {
            let max: usize = match q.get("maxResults").map(|m| m.parse::<i64>()) {
                None => 20,
                Some(Ok(m)) => m.clamp(0, 1000) as usize,
                Some(Err(_)) => {
                    return (
                        error_response(400, None, "maxResults: must be an integer"),
                        0,
                    )
                }
            };
            let all_values = |name: &str| -> Vec<String> {
                req.url
                    .split_once('?')
                    .map(|(_, qs)| qs)
                    .unwrap_or("")
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .filter(|(k, _)| decode(k) == name)
                    .map(|(_, v)| decode(v))
                    .collect()
            };
            let (exclude, exclude_ids) = (all_values("exclude"), all_values("excludeId"));
            if !exclude.is_empty() && !exclude_ids.is_empty() {
                return (
                    error_response(
                        400,
                        None,
                        "You can't use excludeId and exclude parameters at the same time.",
                    ),
                    0,
                );
            }
            let insensitive = q.get("caseInsensitive").is_some_and(|v| v == "true");
            let query = q.get("query").cloned().unwrap_or_default();
            let find = |name: &str| -> Option<usize> {
                if insensitive {
                    name.to_lowercase().find(&query.to_lowercase())
                } else {
                    name.find(&query)
                }
            };
            // Asked as a person without "Browse users and groups" (USER_PICKER; admins have it),
            // Jira lists only a group named exactly by the query.
            let exact_only = principal == Principal::User
                && !account.is_some_and(|a| {
                    site.has_global(a, "USER_PICKER") || site.has_global(a, "ADMINISTER")
                });
            let mut all: Vec<&crate::site::Group> = site
                .groups
                .iter()
                .filter(|g| !exact_only || g.name == query)
                .filter(|g| !exclude.contains(&g.name) && !exclude_ids.contains(&g.group_id))
                .filter(|g| find(&g.name).is_some())
                .collect();
            all.sort_by_key(|g| g.name.to_lowercase());
            let groups: Vec<Value> = all
                .iter()
                .take(max)
                .map(|g| {
                    let html = match find(&g.name) {
                        // Lower-casing can move byte offsets (non-ASCII): bold only when it does not.
                        Some(at)
                            if !query.is_empty()
                                && g.name.is_char_boundary(at)
                                && g.name
                                    .is_char_boundary((at + query.len()).min(g.name.len())) =>
                        {
                            let end = (at + query.len()).min(g.name.len());
                            format!(
                                "{}<b>{}</b>{}",
                                &g.name[..at],
                                &g.name[at..end],
                                &g.name[end..]
                            )
                        }
                        _ => g.name.clone(),
                    };
                    json!({"name": g.name, "html": html, "labels": [], "groupId": g.group_id})
                })
                .collect();
            (
                ok(
                    200,
                    json!({"header": format!("Showing {} of {} matching groups", groups.len(), all.len()),
                            "total": all.len(), "groups": groups}),
                ),
                0,
            )
        }
        // [User]: active accounts whose display name or email contains `query`.
        ("GET", ["rest", "api", "3", "user", "search"]) => {
            let Some(query) = q.get("query").map(|s| s.to_lowercase()) else {
                return (field_error("query", "query is required"), 0);
            };
            let max: usize = q
                .get("maxResults")
                .and_then(|m| m.parse().ok())
                .unwrap_or(50)
                .min(1000);
            let users: Vec<Value> = site
                .users
                .iter()
                .filter(|u| u.active)
                .filter(|u| {
                    u.display_name.to_lowercase().contains(&query)
                        || u.email_address
                            .as_deref()
                            .is_some_and(|e| e.to_lowercase().contains(&query))
                })
                .take(max)
                .map(|u| shapes::user(site, u))
                .collect();
            (ok(200, Value::Array(users)), 0)
        }
        // JSM: PagedDTO of service desks.
        ("GET", ["rest", "servicedeskapi", "servicedesk"]) => {
            let values: Vec<Value> = site
                .projects
                .iter()
                .filter_map(|p| p.service_desk.as_ref().map(|d| (p, d)))
                .map(|(p, d)| json!({"id": d.id, "projectId": p.id, "projectName": p.name, "projectKey": p.key,
                                     "_links": {"self": format!("{}/rest/servicedeskapi/servicedesk/{}", site.base_url, d.id)}}))
                .collect();
            (
                ok(
                    200,
                    json!({"size": values.len(), "start": 0, "limit": 50, "isLastPage": true, "values": values}),
                ),
                0,
            )
        }
        // JSM: PagedDTO of a service desk's request types (with their portal id).
        ("GET", ["rest", "servicedeskapi", "servicedesk", desk, "requesttype"]) => {
            let Some(d) = site
                .projects
                .iter()
                .filter_map(|p| p.service_desk.as_ref())
                .find(|d| d.id == *desk)
            else {
                return (
                    error_response(404, None, &format!("No service desk {desk}")),
                    0,
                );
            };
            let values: Vec<Value> = d
                .request_types
                .iter()
                .map(|t| json!({"id": t.id, "name": t.name, "description": "", "issueTypeId": t.issue_type_id,
                                "serviceDeskId": d.id, "portalId": d.portal_id.to_string(), "groupIds": [],
                                "_links": {"self": format!("{}/rest/servicedeskapi/servicedesk/{}/requesttype/{}", site.base_url, d.id, t.id)}}))
                .collect();

            (
                ok(
                    200,
                    json!({"size": values.len(), "start": 0, "limit": 50, "isLastPage": true, "values": values}),
                ),
                0,
            )
        }
        // PageBeanUser: the accounts named by repeated `accountId` parameters that exist.
        ("GET", ["rest", "api", "3", "user", "bulk"]) => {
            let ids: Vec<String> = req
                .url
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .filter(|(k, _)| *k == "accountId")
                .map(|(_, v)| decode(v))
                .collect();
            if ids.is_empty() {
                return (field_error("accountId", "accountId is required"), 0);
            }
            let max: usize = q
                .get("maxResults")
                .and_then(|m| m.parse().ok())
                .unwrap_or(10)
                .min(200);
            let values: Vec<Value> = ids
                .iter()
                .filter_map(|a| site.user(a))
                .take(max)
                .map(|u| shapes::user(site, u))
                .collect();
            let total = values.len();
            (
                ok(
                    200,
                    json!({"maxResults": max, "startAt": 0, "total": total, "isLast": true, "values": values}),
                ),
                0,
            )
        }
        ("GET", ["rest", "api", "3", "user", "groups"]) => {
            let Some(a) = q.get("accountId") else {
                return (field_error("accountId", "accountId is required"), 0);
            };
            if site.user(a).is_none() {
                return (error_response(404, None, &format!("Specified user does not exist or you do not have required permissions: {a}")), 0);
            }
            let groups: Vec<Value> = site.groups_of(a).iter().map(|g| json!({"name": g.name, "groupId": g.group_id, "self": format!("{}/rest/api/3/group?groupId={}", site.base_url, g.group_id)})).collect();
            (ok(200, Value::Array(groups)), 0)
        }
        ("GET", ["rest", "api", "3", "user"]) => {
            match q.get("accountId").and_then(|a| site.user(a)) {
                Some(u) => (ok(200, shapes::user(site, u)), 0),
                None => (
                    error_response(
                        404,
                        None,
                        "Specified user does not exist or you do not have required permissions",
                    ),
                    0,
                ),
            }
        }
        // Every field, system and custom (Jira's FieldDetails shape).
        ("GET", ["rest", "api", "3", "field"]) => {
            let system = [
                ("summary", "Summary"),
                ("description", "Description"),
                ("status", "Status"),
                ("priority", "Priority"),
                ("labels", "Labels"),
                ("reporter", "Reporter"),
            ];
            let mut out: Vec<Value> = system
                .iter()
                .map(|(id, name)| json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true,
                                         "navigable": true, "searchable": true, "clauseNames": [id]}))
                .collect();
            // A service project's request type is a field of its own (what `names` and JQL call it).
            if site.projects.iter().any(|p| p.service_desk.is_some())
                && !site.fields.iter().any(|f| f.id == "customfield_10010")
            {
                out.push(json!({"id": "customfield_10010", "key": "customfield_10010", "name": "Request Type",
                                "untranslatedName": "Request Type", "custom": true, "orderable": true, "navigable": true,
                                "searchable": true, "clauseNames": ["cf[10010]", "Customer Request Type", "Request Type"],
                                "schema": {"type": "sd-customerrequesttype", "custom": "com.atlassian.servicedesk:vp-origin", "customId": 10010}}));
            }
            for f in &site.fields {
                let num = f.id.trim_start_matches("customfield_");
                out.push(json!({"id": f.id, "key": f.id, "name": f.name, "custom": f.custom, "orderable": true,
                                "navigable": true, "searchable": true,
                                "clauseNames": [format!("cf[{num}]"), f.name.clone()],
                                "schema": {"type": "string", "customId": num.parse::<u64>().ok()}}));
            }
            (ok(200, Value::Array(out)), 0)
        }
        ("GET", ["rest", "api", "3", "myself"]) => match account.and_then(|a| site.user(a)) {
            Some(u) if principal == Principal::User => (ok(200, shapes::user(site, u)), 0),
            _ => (error_response(401, None, "You are not authenticated."), 0),
        },
        ("POST", ["rest", "api", "3", "permissions", "check"]) => {
            (ok(200, shapes::permissions_check(site, account, &body)), 0)
        }
        ("POST", ["rest", "api", "3", "issue"]) => {
            shapes::create_issue(site, &body, account, &now, next_id)
        }
        _ => (
            error_response(
                404,
                None,
                &format!("No Jira REST resource at {} {path}", req.method),
            ),
            0,
        ),
    }
}

fn not_found_issue() -> HttpResponse {
    error_response(
        404,
        None,
        "Issue does not exist or you do not have permission to see it.",
    )
}

/// Jira hides issues the viewer cannot browse behind a 404. The app itself sees everything.
fn visible<'s>(site: &'s Site, viewer: Option<&str>, key: &str) -> Option<&'s crate::site::Issue> {
    let issue = site.issue(key)?;
    match viewer {
        None => Some(issue),
        Some(a) => {
            let project = site.project(&issue.project)?;
            (site.has_project(a, project, "BROWSE_PROJECTS") || issue.reporter == a)
                .then_some(issue)
        }
    }
}

fn get_issue(
    site: &Site,
    viewer: Option<&str>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> HttpResponse {
    let Some(issue) = visible(site, viewer, key) else {
        return not_found_issue();
    };
    let fields: Option<Vec<&str>> = q
        .get("fields")
        .filter(|f| !f.is_empty() && f.as_str() != "*all" && f.as_str() != "*navigable")
        .map(|f| f.split(',').collect());
    let props: Vec<&str> = q
        .get("properties")
        .map(|p| p.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let mut v = shapes::issue(site, issue, fields.as_deref(), &props);
    if q.get("expand")
        .is_some_and(|e| e.split(',').any(|x| x == "names"))
    {
        v["names"] = shapes::names(site, &v["fields"]);
    }
    ok(200, v)
}

/// `/rest/forge/1/app/properties[/{propertyKey}]`: Forge app properties (the optional
/// `write:app-data:jira` scope is not required yet; only `asApp()` calls are accepted).
fn app_property(
    site: &mut Site,
    principal: Principal,
    method: &str,
    rest: &[&str],
    body: Option<&str>,
) -> HttpResponse {
    if principal != Principal::App {
        return ok(
            403,
            json!({"errorMessages": ["Access to this resource must be authenticated as an app."]}),
        );
    }
    let message =
        |status: u16, text: &str| ok(status, json!({"message": text, "statusCode": status}));
    match (method, rest) {
        ("GET", []) => ok(
            200,
            json!({"keys": site.app_properties.keys().map(|k| json!({"key": k})).collect::<Vec<_>>()}),
        ),
        (_, [key]) if key.len() > 127 => {
            message(400, "The property key can't be longer than 127 characters.")
        }
        ("GET", [key]) => match site.app_properties.get(*key) {
            Some(v) => ok(200, json!({"key": key, "value": v})),
            None => message(404, "Property not found."),
        },
        ("PUT", [key]) => {
            let text = body.unwrap_or("");
            let value: Option<Value> = serde_json::from_str(text).ok();
            match value {
                _ if text.len() > 32_768 => {
                    message(400, "The value is longer than 32768 characters.")
                }
                None | Some(Value::Null) => message(400, "The value isn't valid JSON."),
                Some(v) => {
                    if site.app_properties.insert(key.to_string(), v).is_some() {
                        message(200, "Property updated.")
                    } else {
                        message(201, "Property created.")
                    }
                }
            }
        }
        ("DELETE", [key]) => match site.app_properties.remove(*key) {
            Some(_) => ok(204, Value::Null),
            None => message(404, "Property not found."),
        },
        _ => error_response(404, None, "Not found"),
    }
}
