//! Response bodies in the shapes of the Jira Cloud REST v3 OpenAPI spec
//! (IssueBean, UserDetails, Comment, IssueTransition, BulkPermissionGrants, CreatedIssue).

use crate::site::{Comment, Issue, Site, User};
use aiclearance::host::HttpResponse;
use serde_json::{json, Map, Value};

/// The account Jira shows as the author of what the app writes.
pub const APP_ACCOUNT: &str = "557058:app-ai-clearance";

pub fn user(site: &Site, u: &User) -> Value {
    json!({
        "self": format!("{}/rest/api/3/user?accountId={}", site.base_url, u.account_id),
        "accountId": u.account_id,
        "accountType": u.account_type,
        "emailAddress": u.email_address,
        "displayName": u.display_name,
        "active": u.active,
        "timeZone": u.time_zone,
        "locale": u.locale,
    })
}

/// A user embedded in an issue or comment: Jira leaves `locale` out there.
fn user_ref(site: &Site, account: &str) -> Value {
    match site.user(account) {
        Some(u) => {
            let mut v = user(site, u);
            if let Some(o) = v.as_object_mut() {
                o.remove("locale");
            }
            v
        }
        None if account == APP_ACCOUNT => {
            json!({"accountId": APP_ACCOUNT, "accountType": "app", "displayName": "AI Clearance", "active": true})
        }
        None => json!({"accountId": account, "active": false}),
    }
}

fn status(site: &Site, issue: &Issue) -> Value {
    let project = site.project(&issue.project).expect("checked at load");
    let wf = &site.workflows[&project.workflow];
    let s = wf
        .statuses
        .iter()
        .find(|s| s.id == issue.status)
        .expect("checked at load");
    status_bean(site, s)
}

fn status_bean(site: &Site, s: &crate::site::Status) -> Value {
    let (key, name, id) = match s.category.as_str() {
        "new" => ("new", "To Do", 2),
        "done" => ("done", "Done", 3),
        _ => ("indeterminate", "In Progress", 4),
    };
    json!({"self": format!("{}/rest/api/3/status/{}", site.base_url, s.id), "id": s.id, "name": s.name,
           "statusCategory": {"id": id, "key": key, "name": name}})
}

pub fn issue(site: &Site, issue: &Issue, only: Option<&[&str]>, props: &[&str]) -> Value {
    let project = site.project(&issue.project).expect("checked at load");
    let it = site
        .issue_types
        .iter()
        .find(|t| t.id == issue.issue_type_id);
    let mut f = Map::new();
    f.insert("summary".into(), json!(issue.summary));
    f.insert("description".into(), issue.description.clone());
    f.insert("project".into(), json!({"self": format!("{}/rest/api/3/project/{}", site.base_url, project.id), "id": project.id, "key": project.key, "name": project.name, "projectTypeKey": project.project_type_key}));
    f.insert("issuetype".into(), json!({"id": issue.issue_type_id, "name": it.map(|t| t.name.as_str()).unwrap_or("Task"), "subtask": it.is_some_and(|t| t.subtask)}));
    f.insert("status".into(), status(site, issue));
    f.insert("reporter".into(), user_ref(site, &issue.reporter));
    f.insert(
        "creator".into(),
        user_ref(site, issue.creator.as_deref().unwrap_or(&issue.reporter)),
    );
    f.insert(
        "assignee".into(),
        issue
            .assignee
            .as_deref()
            .map(|a| user_ref(site, a))
            .unwrap_or(Value::Null),
    );
    f.insert("created".into(), json!(issue.created));
    f.insert(
        "updated".into(),
        json!(issue
            .updated
            .clone()
            .unwrap_or_else(|| issue.created.clone())),
    );
    if let (Some(rt_id), Some(sd)) = (&issue.request_type_id, &project.service_desk) {
        if let Some(rt) = sd.request_types.iter().find(|r| &r.id == rt_id) {
            f.insert("customfield_10010".into(), json!({
                "_links": {"web": format!("{}/servicedesk/customer/portal/{}/{}", site.base_url, sd.portal_id, issue.key)},
                "requestType": {"id": rt.id, "name": rt.name, "description": "", "helpText": "", "issueTypeId": rt.issue_type_id,
                                "serviceDeskId": sd.id, "portalId": sd.portal_id.to_string(), "groupIds": []},
                "currentStatus": {"status": status(site, issue)["name"], "statusCategory": "NEW"}
            }));
        }
    }
    let comments: Vec<Value> = issue
        .comments
        .iter()
        .map(|c| comment(site, &issue.key, c, false))
        .collect();
    f.insert(
        "comment".into(),
        json!({"comments": comments, "maxResults": comments.len(), "total": comments.len(), "startAt": 0}),
    );
    f.insert("labels".into(), json!(issue.labels));
    f.insert(
        "priority".into(),
        issue
            .priority
            .as_deref()
            .map(|p| json!({"name": p, "id": priority_id(p)}))
            .unwrap_or(Value::Null),
    );
    for (id, v) in &issue.custom_fields {
        f.insert(id.clone(), v.clone());
    }
    if let Some(only) = only {
        f.retain(|k, _| only.contains(&k.as_str()));
    }
    let mut bean = json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue.id,
        "self": format!("{}/rest/api/3/issue/{}", site.base_url, issue.id),
        "key": issue.key,
        "fields": Value::Object(f),
    });
    if !props.is_empty() {
        let p: Map<String, Value> = props
            .iter()
            .filter_map(|k| issue.properties.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect();
        bean["properties"] = Value::Object(p);
    }
    bean
}

/// JSM: a comment is public (on the portal) unless `sd.public.comment` says `internal: true`.
pub fn is_public(c: &Comment) -> bool {
    c.properties
        .get("sd.public.comment")
        .and_then(|p| p.get("internal"))
        .and_then(Value::as_bool)
        != Some(true)
}

pub fn comment(site: &Site, issue_key: &str, c: &Comment, with_properties: bool) -> Value {
    let issue_id = site
        .issue(issue_key)
        .map(|i| i.id.clone())
        .unwrap_or_default();
    let mut v = json!({"self": format!("{}/rest/api/3/issue/{issue_id}/comment/{}", site.base_url, c.id), "id": c.id,
           "author": user_ref(site, &c.author), "body": c.body, "created": c.created, "updated": c.created, "jsdPublic": is_public(c)});
    if with_properties {
        v["properties"] = Value::Array(
            c.properties
                .iter()
                .map(|(k, val)| json!({"key": k, "value": val}))
                .collect(),
        );
    }
    v
}

/// The resolutions a transition screen offers.
pub const RESOLUTIONS: [(&str, &str); 3] = [
    ("10000", "Done"),
    ("10001", "Won't Do"),
    ("10002", "Declined"),
];

/// Transitions open from the issue's status; with `fields` (`expand=transitions.fields`), the
/// fields each one's screen asks for.
pub fn available_transitions(site: &Site, issue: &Issue, fields: bool) -> Vec<Value> {
    let project = site.project(&issue.project).expect("checked at load");
    let wf = &site.workflows[&project.workflow];
    wf.transitions
        .iter()
        .filter(|t| t.from.is_empty() || t.from.contains(&issue.status))
        .filter_map(|t| {
            let to = wf.statuses.iter().find(|s| s.id == t.to)?;
            let mut v = json!({"id": t.id, "name": t.name, "to": status_bean(site, to), "hasScreen": !t.required_fields.is_empty(),
                        "isGlobal": t.from.is_empty(), "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false});
            if fields {
                let f: serde_json::Map<String, Value> = t
                    .required_fields
                    .iter()
                    .map(|name| {
                        let allowed: Vec<Value> = if name == "resolution" {
                            RESOLUTIONS
                                .iter()
                                .map(|(id, n)| json!({"self": format!("{}/rest/api/3/resolution/{id}", site.base_url), "id": id, "name": n}))
                                .collect()
                        } else {
                            Vec::new()
                        };
                        (name.clone(), json!({"required": true, "name": name, "key": name, "hasDefaultValue": false,
                                              "operations": ["set"], "allowedValues": allowed}))
                    })
                    .collect();
                v["fields"] = Value::Object(f);
            }
            Some(v)
        })
        .collect()
}

/// `POST /rest/api/3/permissions/check` (BulkPermissionsRequestBean → BulkPermissionGrants).
pub fn permissions_check(site: &Site, caller: Option<&str>, body: &Value) -> Value {
    let account = body.get("accountId").and_then(Value::as_str).or(caller);
    let global: Vec<Value> = body
        .get("globalPermissions")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(Value::as_str)
                .filter(|p| account.is_some_and(|a| site.has_global(a, p)))
                .map(|p| json!(p))
                .collect()
        })
        .unwrap_or_default();
    let mut project_grants = Vec::new();
    for req in body
        .get("projectPermissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for perm in req
            .get("permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let projects: Vec<Value> = req
                .get("projects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    p.as_u64()
                        .map(|n| n.to_string())
                        .or_else(|| p.as_str().map(String::from))
                })
                .filter(|pid| {
                    site.project(pid)
                        .zip(account)
                        .is_some_and(|(p, a)| site.has_project(a, p, perm))
                })
                .map(|pid| json!(pid.parse::<u64>().unwrap_or(0)))
                .collect();
            project_grants.push(json!({"permission": perm, "projects": projects, "issues": []}));
        }
    }
    json!({"globalPermissions": global, "projectPermissions": project_grants})
}

pub fn create_issue(
    site: &mut Site,
    body: &Value,
    account: Option<&str>,
    now: &str,
    next_id: u64,
) -> (HttpResponse, u64) {
    let f = body.get("fields").cloned().unwrap_or(Value::Null);
    let project_ref = f
        .pointer("/project/key")
        .or_else(|| f.pointer("/project/id"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(project) = site.project(project_ref).cloned() else {
        return (
            super::field_error("project", "Specify a valid project ID or key"),
            0,
        );
    };
    let type_id = f
        .pointer("/issuetype/id")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !site.issue_types.iter().any(|t| t.id == type_id) {
        return (super::field_error("issuetype", "Specify an issue type"), 0);
    }
    let summary = f
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if summary.is_empty() {
        return (
            super::field_error("summary", "You must specify a summary of the issue."),
            0,
        );
    }
    let wf = &site.workflows[&project.workflow];
    let first = wf
        .statuses
        .first()
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let number = site
        .issues
        .iter()
        .filter(|i| i.project == project.key)
        .filter_map(|i| i.key.rsplit('-').next()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let id = (20_000 + next_id).to_string();
    let key = format!("{}-{number}", project.key);
    let reporter = f
        .pointer("/reporter/id")
        .or_else(|| f.pointer("/reporter/accountId"))
        .and_then(Value::as_str)
        .map(String::from)
        .or(account.map(String::from))
        .unwrap_or_else(|| APP_ACCOUNT.into());
    let properties = body
        .get("properties")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    Some((p.get("key")?.as_str()?.to_string(), p.get("value")?.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    site.issues.push(Issue {
        id: id.clone(),
        key: key.clone(),
        project: project.key.clone(),
        issue_type_id: type_id.into(),
        request_type_id: None,
        summary,
        description: f.get("description").cloned().unwrap_or(Value::Null),
        reporter: reporter.clone(),
        creator: Some(reporter),
        assignee: None,
        status: first,
        created: now.into(),
        updated: None,
        properties,
        comments: Vec::new(),
        labels: f
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        priority: f
            .pointer("/priority/name")
            .and_then(Value::as_str)
            .map(String::from),
        custom_fields: f
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| k.starts_with("customfield_"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    });
    let resp =
        json!({"id": id, "key": key, "self": format!("{}/rest/api/3/issue/{id}", site.base_url)});
    (
        HttpResponse {
            status: 201,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: resp.to_string(),
        },
        1,
    )
}

fn priority_id(name: &str) -> &'static str {
    match name {
        "Highest" => "1",
        "High" => "2",
        "Medium" => "3",
        "Low" => "4",
        _ => "5",
    }
}

/// `expand=names`: field id → display name for the fields present.
pub fn names(site: &Site, fields: &Value) -> Value {
    let mut m = Map::new();
    if let Some(obj) = fields.as_object() {
        for k in obj.keys() {
            let name = site
                .fields
                .iter()
                .find(|f| &f.id == k)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| k.clone());
            m.insert(k.clone(), json!(name));
        }
    }
    Value::Object(m)
}
