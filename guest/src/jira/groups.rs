//! Jira's group picker (`GET /rest/api/3/groups/picker`, `findGroups`) behind the admin screens'
//! group pickers (issue 33 item 3, D-262): the admin types part of a group's name and Jira
//! answers the matching groups, sorted by name. One call per search; read-only.

use super::{encode, Jira, JiraResult};
use crate::error::{AppError, AppResult};
use crate::host::Host;
use serde_json::{json, Value};

/// Groups one search lists (Jira's own picker shows 20 by default).
pub const PICKER_GROUPS: usize = 20;
/// Longest query accepted (a group name is at most 255 characters; people type a few).
pub const MAX_QUERY_CHARS: usize = 100;

/// One group as the picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundGroup {
    pub name: String,
    pub group_id: String,
}

impl Jira<'_> {
    /// Groups whose name contains `query` in any case, at most `max`, with how many match in
    /// all (`FoundGroups.total`). An empty query lists the site's groups from the first.
    pub fn find_groups(&self, query: &str, max: usize) -> JiraResult<(Vec<FoundGroup>, u64)> {
        let v = self.request_app(&format!(
            "/rest/api/3/groups/picker?maxResults={max}&caseInsensitive=true&query={}",
            encode(query)
        ))?;
        let groups: Vec<FoundGroup> = v["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| {
                Some(FoundGroup {
                    name: g["name"].as_str()?.to_string(),
                    group_id: g["groupId"].as_str().unwrap_or_default().to_string(),
                })
            })
            .take(max)
            .collect();
        let total = v["total"].as_u64().unwrap_or(groups.len() as u64);
        Ok((groups, total))
    }
}

/// A picker's `query`: absent or text of at most [`MAX_QUERY_CHARS`] characters (trimmed), else
/// `QUERY_INVALID` saying what to type (`of_what`). The people and group pickers share it.
pub fn picker_query<'a>(p: &'a Value, of_what: &str) -> AppResult<&'a str> {
    let query = match p.get("query") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.trim(),
        Some(_) => {
            return Err(AppError::invalid(
                "QUERY_INVALID",
                format!("query must be text: {of_what}"),
            ))
        }
    };
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            "QUERY_INVALID",
            format!("type at most {MAX_QUERY_CHARS} characters: {of_what}"),
        ));
    }
    Ok(query)
}

/// `admin.groups.search {query}` → `{groups: [{name, groupId}], total}`: the groups a picker
/// offers while an admin types (`total` counts every match, so the screen can say "20 of 34").
/// The query is text of at most [`MAX_QUERY_CHARS`] characters; empty lists the first groups.
pub fn search(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let query = picker_query(p, "part of a group's name")?;
    let (groups, total) = Jira::new(host)
        .find_groups(query, PICKER_GROUPS)
        .map_err(AppError::from)?;
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|g| json!({"name": g.name, "groupId": g.group_id}))
        .collect();
    Ok(json!({"groups": groups, "total": total}))
}
