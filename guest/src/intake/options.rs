//! What the Intake & Approvals form picks from (spec §4.2, §11): the site's JSM projects with
//! their portals and request types (names and numeric ids), its groups, and a people search.
//! Read from Jira each time (nothing stored), bounded so a large site costs a fixed number of
//! calls.

use crate::error::{AppError, AppResult};
use crate::host::Host;
use crate::jira::{encode, Jira};
use serde_json::{json, Value};

/// Service desks whose request types are read (one Jira call each).
const MAX_DESKS: usize = 20;
/// Groups and people a picker lists at once.
const MAX_GROUPS: usize = 100;
const MAX_PEOPLE: usize = 20;
/// People a picker lists (Jira is asked for `MAX_PEOPLE`: customers and apps are dropped).
const PICKER_PEOPLE: usize = 10;
/// One JSM portal as Jira reports it: its service desk, project and request types.
struct Portal {
    service_desk_id: String,
    portal_id: Option<u64>,
    project_key: String,
    project_name: String,
    /// The `requesttype` values as Jira sent them.
    request_types: Vec<Value>,
}

/// The site's JSM portals: the service desks, then each desk's request types (one call each, at
/// most `MAX_DESKS`). JSM gives the portal id on the request types; the desk id is the fallback.
fn portals(jira: &Jira<'_>) -> AppResult<Vec<Portal>> {
    let desks = jira
        .request_app("/rest/servicedeskapi/servicedesk?limit=50")
        .map_err(AppError::from)?;
    let mut out = Vec::new();
    for d in desks["values"]
        .as_array()
        .into_iter()
        .flatten()
        .take(MAX_DESKS)
    {
        let id = d["id"].as_str().unwrap_or_default();
        let types = jira
            .request_app(&format!(
                "/rest/servicedeskapi/servicedesk/{}/requesttype?limit=100",
                encode(id)
            ))
            .map_err(AppError::from)?;
        let request_types = types["values"].as_array().cloned().unwrap_or_default();
        let portal_id = request_types
            .first()
            .and_then(|t| t["portalId"].as_str())
            .unwrap_or(id)
            .parse::<u64>()
            .ok();
        out.push(Portal {
            service_desk_id: id.to_string(),
            portal_id,
            project_key: d["projectKey"].as_str().unwrap_or_default().to_string(),
            project_name: d["projectName"].as_str().unwrap_or_default().to_string(),
            request_types,
        });
    }
    Ok(out)
}

/// `admin.intake.options`: projects → portals → request types, plus groups (`groupQuery` narrows).
pub fn options(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let jira = Jira::new(host);
    let portals: Vec<Value> = portals(&jira)?
        .into_iter()
        .map(|p| {
            let types: Vec<Value> = p
                .request_types
                .iter()
                .map(|t| json!({"id": t["id"], "name": t["name"], "issueTypeId": t["issueTypeId"]}))
                .collect();
            json!({"serviceDeskId": p.service_desk_id, "portalId": p.portal_id, "projectKey": p.project_key,
                   "projectName": p.project_name, "requestTypes": types})
        })
        .collect();
    let query = p.get("groupQuery").and_then(Value::as_str).unwrap_or("");
    let found = jira
        .request_app(&format!(
            "/rest/api/3/groups/picker?maxResults={MAX_GROUPS}&query={}",
            encode(query)
        ))
        .map_err(AppError::from)?;
    let groups: Vec<Value> = found["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| json!({"name": g["name"], "groupId": g["groupId"]}))
        .collect();
    Ok(json!({"portals": portals, "groups": groups, "groupsTotal": found["total"]}))
}

/// Checks a parsed intake configuration against the site (spec §11 troubleshooting): the portal
/// exists and belongs to the project, the request types are that portal's, the approver groups,
/// accounts, delegates and escalation targets exist, and so does the review issue type. Refuses
/// with `INTAKE_CONFIG_NOT_IN_JIRA` and one message per field, so the form shows each where it
/// belongs. A bounded, fixed number of Jira calls.
pub fn check_against_jira(
    host: &dyn Host,
    cfg: &crate::intake::config::IntakeConfig,
) -> AppResult<()> {
    let jira = Jira::new(host);
    let mut errors = serde_json::Map::new();
    let portal = portals(&jira)?
        .into_iter()
        .find(|p| p.portal_id == Some(cfg.portal_id));
    match &portal {
        None => {
            errors.insert(
                "portalId".into(),
                json!(format!("Jira has no JSM portal {}", cfg.portal_id)),
            );
        }
        Some(p) => {
            if p.project_key != cfg.project_key {
                errors.insert(
                    "projectKey".into(),
                    json!(format!(
                        "portal {} belongs to project {}, not {}",
                        cfg.portal_id, p.project_key, cfg.project_key
                    )),
                );
            }
            let known: Vec<u64> = p
                .request_types
                .iter()
                .filter_map(|t| t["id"].as_str().and_then(|s| s.parse().ok()))
                .collect();
            let unknown: Vec<String> = cfg
                .request_type_ids
                .iter()
                .filter(|t| !known.contains(t))
                .map(u64::to_string)
                .collect();
            if !unknown.is_empty() {
                errors.insert(
                    "requestTypeIds".into(),
                    json!(format!(
                        "portal {} has no request type {} (it has {known:?})",
                        cfg.portal_id,
                        unknown.join(", ")
                    )),
                );
            }
        }
    }
    let a = &cfg.approvals;
    if !a.approver_groups.is_empty() {
        let found = jira
            .request_app("/rest/api/3/groups/picker?maxResults=1000&query=")
            .map_err(AppError::from)?;
        let names: Vec<&str> = found["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["name"].as_str())
            .collect();
        let missing: Vec<&str> = a
            .approver_groups
            .iter()
            .map(String::as_str)
            .filter(|g| !names.contains(g))
            .collect();
        if !missing.is_empty() {
            errors.insert(
                "approvals.approverGroups".into(),
                json!(format!("Jira has no group {}", missing.join(", "))),
            );
        }
    }
    // Every account the configuration names, in one user/bulk call per field.
    let accounts: [(&str, Vec<&str>); 3] = [
        (
            "approvals.approverAccountIds",
            a.approver_account_ids.iter().map(String::as_str).collect(),
        ),
        (
            "approvals.delegates",
            a.delegates
                .iter()
                .flat_map(|(boss, ds)| {
                    std::iter::once(boss.as_str()).chain(ds.iter().map(String::as_str))
                })
                .collect(),
        ),
        (
            "approvals.escalationTargets",
            a.escalation_targets.iter().map(String::as_str).collect(),
        ),
    ];
    for (field, ids) in accounts {
        if ids.is_empty() {
            continue;
        }
        let names = jira.display_names(&ids).map_err(AppError::from)?;
        let missing: Vec<&str> = ids
            .into_iter()
            .filter(|i| !names.contains_key(*i))
            .collect();
        if !missing.is_empty() {
            errors.insert(
                field.into(),
                json!(format!("Jira has no account {}", missing.join(", "))),
            );
        }
    }
    if let Some(t) = a.review_issue_type_id {
        let types = jira
            .request_app("/rest/api/3/issuetype")
            .map_err(AppError::from)?;
        let exists = types
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["id"].as_str() == Some(t.to_string().as_str()));
        if !exists {
            errors.insert(
                "approvals.reviewIssueTypeId".into(),
                json!(format!("Jira has no issue type {t}")),
            );
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(AppError::invalid(
        "INTAKE_CONFIG_NOT_IN_JIRA",
        "the intake configuration names things this Jira site does not have",
    )
    .with_details(Value::Object(errors)))
}

/// `admin.people.search {query}`: licensed people by name or email, for the people pickers
/// (intake approvers, governance exceptions, identity mappings): at most `PICKER_PEOPLE`, each
/// `{accountId, displayName, avatarUrl?}` (the avatar when Jira gives one). Jira's privacy holds:
/// hidden emails are neither returned nor shown. Read-only (issue 33, D-181).
pub fn search_people(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let query = crate::jira::groups::picker_query(p, "part of a name or email")?;
    if query.chars().count() < 2 {
        return Err(AppError::invalid(
            "QUERY_TOO_SHORT",
            "type at least 2 characters of a name or email",
        ));
    }
    let users = Jira::new(host)
        .search_users(query, MAX_PEOPLE)
        .map_err(AppError::from)?;
    let people: Vec<Value> = users
        .iter()
        .filter(|u| u["accountType"] == "atlassian" && u["accountId"].is_string())
        .take(PICKER_PEOPLE)
        .map(|u| {
            let mut v = json!({"accountId": u["accountId"], "displayName": u["displayName"]});
            if let Some(a) = u["avatarUrls"]["48x48"].as_str() {
                v["avatarUrl"] = json!(a);
            }
            v
        })
        .collect();
    Ok(json!({"people": people}))
}
