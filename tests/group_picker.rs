//! The group picker (issue 33 item 3, D-262): `admin.groups.search` asks Jira's group picker API
//! once per search and answers names and ids, admins only; the emulated Jira serves `findGroups`
//! in its documented shape and with its rules (sorted, `html` bold, case-sensitive unless asked,
//! exclusions, its 400s, exact match only for a person without Browse users and groups).

mod common;

use aiclearance::host::{HttpRequest, Principal};
use common::*;
use host_sim::faults::FaultPlan;
use host_sim::sim::{EngineKind, Sim};
use serde_json::{json, Value};

const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0"; // approver, not an admin

fn jira(sim: &mut Sim, who: Principal, account: Option<&str>, url: &str) -> (u16, Value) {
    let e = sim.emu_mut();
    e.begin("test", account.map(String::from), 25, FaultPlan::default());
    let r = e.jira(who, &HttpRequest::get(url)).unwrap().unwrap();
    e.end();
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

fn names(v: &Value) -> Vec<&str> {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect()
}

// covers: CL-200
#[test]
fn admins_search_groups_by_part_of_the_name_in_one_jira_call() {
    let mut sim = setup(EngineKind::Native);
    let v = ok(
        &mut sim,
        "admin.groups.search",
        json!({"query": "REVIEW"}),
        ADMIN,
    );
    assert_eq!(
        v,
        json!({"groups": [{"name": "security-reviewers",
                           "groupId": v["groups"][0]["groupId"]}], "total": 1})
    );
    assert!(v["groups"][0]["groupId"].as_str().unwrap().len() > 10);
    let rec = sim.resolve("admin.groups.search", &json!({"query": "e"}), Some(ADMIN));
    let picker_calls: u64 = rec
        .counts
        .by_op
        .iter()
        .filter(|(op, _)| op.contains("groups/picker"))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(picker_calls, 1, "{:?}", rec.counts.by_op);
    // Empty lists the first groups, sorted, at most 20; total counts them all.
    let all = ok(&mut sim, "admin.groups.search", json!({}), ADMIN);
    let listed = names(&all);
    let mut sorted = listed.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(listed, sorted);
    assert!(listed.len() <= 20 && all["total"].as_u64().unwrap() >= listed.len() as u64);
    // Not text, too long; and only for admins.
    assert_eq!(
        err(&mut sim, "admin.groups.search", json!({"query": 7}), ADMIN),
        "QUERY_INVALID"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.groups.search",
            json!({"query": "x".repeat(101)}),
            ADMIN
        ),
        "QUERY_INVALID"
    );
    let refused = err(
        &mut sim,
        "admin.groups.search",
        json!({"query": "eng"}),
        PRIYA,
    );
    assert_ne!(refused, "");
    assert!(ok(
        &mut sim,
        "admin.groups.search",
        json!({"query": "no such"}),
        ADMIN
    )["groups"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn the_emulated_group_picker_follows_jiras_find_groups() {
    let mut sim = setup(EngineKind::Native);
    let app = Principal::App;
    // Case-sensitive unless caseInsensitive=true; html bolds the match; the header counts.
    let (s, v) = jira(&mut sim, app, None, "/rest/api/3/groups/picker?query=SECUR");
    assert_eq!((s, names(&v).len()), (200, 0));
    let (_, v) = jira(
        &mut sim,
        app,
        None,
        "/rest/api/3/groups/picker?query=SECUR&caseInsensitive=true",
    );
    assert_eq!(names(&v), ["security-reviewers"]);
    assert_eq!(v["groups"][0]["html"], "<b>secur</b>ity-reviewers");
    assert_eq!(v["header"], "Showing 1 of 1 matching groups");
    assert_eq!(v["groups"][0]["labels"], json!([]));
    // Exclusions by name or id, not both; maxResults must be a number.
    let (_, v) = jira(
        &mut sim,
        app,
        None,
        "/rest/api/3/groups/picker?query=e&maxResults=3",
    );
    assert_eq!(names(&v).len(), 3);
    assert!(v["total"].as_u64().unwrap() > 3);
    let (_, v) = jira(
        &mut sim,
        app,
        None,
        "/rest/api/3/groups/picker?query=-&exclude=ai-approvers&exclude=it-ops",
    );
    assert!(!names(&v).contains(&"ai-approvers") && !names(&v).contains(&"it-ops"));
    let (s, _) = jira(
        &mut sim,
        app,
        None,
        "/rest/api/3/groups/picker?exclude=legal&excludeId=x",
    );
    assert_eq!(s, 400);
    let (s, _) = jira(
        &mut sim,
        app,
        None,
        "/rest/api/3/groups/picker?maxResults=ten",
    );
    assert_eq!(s, 400);
    // A person without Browse users and groups finds a group only by its exact name.
    let (_, v) = jira(
        &mut sim,
        Principal::User,
        Some(PRIYA),
        "/rest/api/3/groups/picker?query=secur",
    );
    assert!(names(&v).is_empty());
    let (_, v) = jira(
        &mut sim,
        Principal::User,
        Some(PRIYA),
        "/rest/api/3/groups/picker?query=legal",
    );
    assert_eq!(names(&v), ["legal"]);
}
