//! The JSM customer portal's part of request creation, as the console plays it: the person fills
//! the portal's own fields (summary, description), the app's create panel submits its fields with
//! `view.submit({ fields, isValid })`, and Create makes the issue. JSM stores the panel's fields as
//! one issue property keyed by the app's UUID (FORGE-FACTS "The JSM portal create panel") and
//! fires `avi:jira:created:issue`, which the app's intake trigger handles.

use crate::site::Issue;
use crate::{InvocationRecord, Sim};
use serde_json::{json, Map, Value};

/// What the portal refuses before any issue exists (JSM's own checks, not the app's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalError {
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

fn refuse(
    code: &'static str,
    field: Option<&'static str>,
    message: impl Into<String>,
) -> PortalError {
    PortalError {
        code,
        message: message.into(),
        field,
    }
}

/// One portal "Create" press.
#[derive(Debug, Clone)]
pub struct PortalRequest {
    pub reporter: String,
    pub portal_id: u64,
    pub request_type_id: String,
    pub summary: String,
    pub description: String,
    /// The panel's last `view.submit` payload, if it submitted one.
    pub panel: Option<Value>,
}

/// Longest summary Jira accepts.
const MAX_SUMMARY: usize = 255;

/// Creates the request issue and delivers the issue-created event. Returns the new key and the
/// trigger's invocation.
pub fn create(
    sim: &mut Sim,
    req: &PortalRequest,
) -> Result<(String, InvocationRecord), PortalError> {
    let site = &sim.state().site;
    let Some(user) = site.user(&req.reporter) else {
        return Err(refuse(
            "UNKNOWN_USER",
            None,
            format!("no user {} on this site", req.reporter),
        ));
    };
    let Some(project) = site.projects.iter().find(|p| {
        p.service_desk
            .as_ref()
            .is_some_and(|d| d.portal_id == req.portal_id)
    }) else {
        return Err(refuse(
            "PORTAL_NOT_FOUND",
            None,
            format!("no portal {}", req.portal_id),
        ));
    };
    let desk = project
        .service_desk
        .as_ref()
        .expect("found by its service desk");
    let Some(rt) = desk
        .request_types
        .iter()
        .find(|t| t.id == req.request_type_id)
    else {
        return Err(refuse(
            "REQUEST_TYPE_NOT_FOUND",
            None,
            format!(
                "portal {} has no request type {}",
                req.portal_id, req.request_type_id
            ),
        ));
    };
    let summary = req.summary.trim();
    if summary.is_empty() {
        return Err(refuse(
            "SUMMARY_REQUIRED",
            Some("summary"),
            "Summary is required.",
        ));
    }
    if summary.chars().count() > MAX_SUMMARY {
        return Err(refuse(
            "SUMMARY_TOO_LONG",
            Some("summary"),
            format!("Summary must be {MAX_SUMMARY} characters or fewer."),
        ));
    }
    // The panel's fields: `isValid: false` blocks creation, as in JSM.
    let mut fields = Map::new();
    if let Some(panel) = &req.panel {
        if panel.get("isValid") == Some(&Value::Bool(false)) {
            return Err(refuse(
                "PANEL_INVALID",
                Some("panel"),
                "Finish the \"Select AI tool\" panel first: it reports a problem with what is filled in.",
            ));
        }
        for f in panel
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(key) = f.get("key").and_then(Value::as_str) else {
                return Err(refuse(
                    "PANEL_MALFORMED",
                    Some("panel"),
                    "a panel field has no key",
                ));
            };
            fields.insert(
                key.to_string(),
                f.get("value").cloned().unwrap_or(Value::Null),
            );
        }
    }
    let workflow = site
        .workflows
        .get(&project.workflow)
        .expect("site checked at load");
    let status = workflow
        .statuses
        .iter()
        .find(|s| s.category == "new")
        .unwrap_or(&workflow.statuses[0])
        .clone();
    let issue_type = site
        .issue_types
        .iter()
        .find(|t| t.id == rt.issue_type_id)
        .cloned();
    let next_id = site
        .issues
        .iter()
        .filter_map(|i| i.id.parse::<u64>().ok())
        .max()
        .unwrap_or(10_000)
        + 1;
    let next_num = site
        .issues
        .iter()
        .filter(|i| i.project == project.key || i.project == project.id)
        .filter_map(|i| {
            i.key
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0)
        + 1;
    let key = format!("{}-{next_num}", project.key);
    let id = next_id.to_string();
    let created = aiclearance::time::rfc3339(sim.state().clock_ms).replace('Z', ".000+0000");
    let description = if req.description.trim().is_empty() {
        Value::Null
    } else {
        json!({"type": "doc", "version": 1, "content": [{"type": "paragraph",
               "content": [{"type": "text", "text": req.description.trim()}]}]})
    };
    let uuid = sim.emu().manifest.app_uuid().to_string();
    let mut issue = Issue {
        id: id.clone(),
        key: key.clone(),
        project: project.key.clone(),
        issue_type_id: rt.issue_type_id.clone(),
        request_type_id: Some(rt.id.clone()),
        summary: summary.to_string(),
        description,
        reporter: user.account_id.clone(),
        creator: Some(user.account_id.clone()),
        assignee: None,
        status: status.id.clone(),
        created: created.clone(),
        updated: Some(created.clone()),
        properties: Default::default(),
        comments: vec![],
        labels: vec![],
        priority: None,
        custom_fields: Default::default(),
    };
    if !fields.is_empty() {
        issue.properties.insert(uuid, Value::Object(fields));
    }
    let event = json!({
        "eventType": "avi:jira:created:issue",
        "issue": {"id": id, "key": key, "fields": {
            "summary": issue.summary,
            "issuetype": {"id": rt.issue_type_id, "name": issue_type.map(|t| t.name).unwrap_or_default()},
            "project": {"id": project.id, "key": project.key, "name": project.name},
            "creator": {"accountId": user.account_id},
            "reporter": {"accountId": user.account_id},
            "assignee": null,
            "created": created, "updated": created,
            "status": {"id": status.id, "name": status.name}}},
        "atlassianId": user.account_id,
    });
    sim.state_mut().site.issues.push(issue);
    let rec = sim
        .deliver(&event)
        .map_err(|e| refuse("TRIGGER_MISSING", None, e.to_string()))?;
    Ok((key, rec))
}
