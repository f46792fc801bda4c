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

/// `admin.intake.options`: projects → portals → request types, plus groups (`groupQuery` narrows).
pub fn options(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let jira = Jira::new(host);
    let desks = jira
        .request_app("/rest/servicedeskapi/servicedesk?limit=50")
        .map_err(AppError::from)?;
    let mut portals = Vec::new();
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
        let request_types: Vec<Value> = types["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| json!({"id": t["id"], "name": t["name"], "issueTypeId": t["issueTypeId"]}))
            .collect();
        // JSM's portal id is on each request type; the service desk id is the fallback.
        let portal_id = types["values"][0]["portalId"]
            .as_str()
            .unwrap_or(id)
            .parse::<u64>()
            .ok();
        portals.push(
            json!({"serviceDeskId": id, "portalId": portal_id, "projectKey": d["projectKey"],
                            "projectName": d["projectName"], "requestTypes": request_types}),
        );
    }
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

/// `admin.people.search {query}`: licensed people by name or email, for the approver pickers.
pub fn search_people(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let query = p.get("query").and_then(Value::as_str).unwrap_or("").trim();
    if query.chars().count() < 2 {
        return Err(AppError::invalid(
            "QUERY_TOO_SHORT",
            "type at least 2 characters of a name or email",
        ));
    }
    let users = Jira::new(host)
        .request_app(&format!(
            "/rest/api/3/user/search?maxResults={MAX_PEOPLE}&query={}",
            encode(query)
        ))
        .map_err(AppError::from)?;
    let people: Vec<Value> = users
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["accountType"] == "atlassian")
        .map(|u| json!({"accountId": u["accountId"], "displayName": u["displayName"]}))
        .collect();
    Ok(json!({"people": people}))
}
