//! Where the emulated Jira behaves like Jira rather than kinder: the gateway's 401 for a scope
//! the app lacks, group members without deactivated accounts and by `groupId`, comment paging
//! and ordering, the 32 KB entity-property limit on every call that sets one, and what the app
//! makes of a 409 on a transition.

mod common;

use aiclearance::host::{HttpRequest, Principal};
use common::{event, setup};
use host_sim::faults::FaultPlan;
use host_sim::sim::{EngineKind, Sim};
use serde_json::{json, Value};

fn call(sim: &mut Sim, req: HttpRequest) -> (u16, Value) {
    let e = sim.emu_mut();
    e.begin("test", None, 25, FaultPlan::default());
    let r = e.jira(Principal::App, &req).unwrap().unwrap();
    e.end();
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

#[test]
fn a_call_outside_the_granted_scopes_gets_the_gateways_401() {
    let mut sim = setup(EngineKind::Native);
    sim.emu_mut()
        .manifest
        .scopes
        .retain(|s| s != "read:jira-work");
    let (status, body) = call(&mut sim, HttpRequest::get("/rest/api/3/issue/AIR-1"));
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Unauthorized; scope does not match");
    // The app reads it as a refusal, not as "try again".
    let msg = aiclearance::jira::error_messages(&body.to_string());
    assert!(msg.contains("scope does not match"), "{msg}");
}

#[test]
fn group_members_leave_out_deactivated_accounts_and_take_a_group_id() {
    let mut sim = setup(EngineKind::Native);
    let inactive = "5e0e5a0ea42f613749d39487";
    let (s, by_name) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/group/member?groupname=engineering&maxResults=50"),
    );
    assert_eq!(s, 200);
    let ids = |v: &Value| -> Vec<String> {
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["accountId"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!ids(&by_name).contains(&inactive.to_string()), "{by_name}");
    assert_eq!(
        by_name["total"].as_u64().unwrap() as usize,
        ids(&by_name).len()
    );
    let (_, all) = call(
        &mut sim,
        HttpRequest::get(
            "/rest/api/3/group/member?groupname=engineering&includeInactiveUsers=true",
        ),
    );
    assert!(ids(&all).contains(&inactive.to_string()));
    assert_eq!(
        all["total"].as_u64(),
        by_name["total"].as_u64().map(|n| n + 1)
    );
    let (_, by_id) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/group/member?groupId=47cfe7c2-f175-5bb3-ab72-fb164242c915"),
    );
    assert_eq!(ids(&by_id), ids(&by_name));
    let (s, _) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/group/member?groupname=engineering&groupId=47cfe7c2-f175-5bb3-ab72-fb164242c915"),
    );
    assert_eq!(s, 400, "one of the two, not both");
    let (s, _) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/group/member?groupId=nope"),
    );
    assert_eq!(s, 404);
}

#[test]
fn comments_page_and_order_as_jira_pages_and_orders_them() {
    let mut sim = setup(EngineKind::Native);
    for i in 0..7 {
        let t = sim.state().clock_ms;
        sim.state_mut().clock_ms = t + 60_000;
        let body = json!({"body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": format!("c{i}")}]}]}});
        let (s, _) = call(
            &mut sim,
            HttpRequest::with_json("POST", "/rest/api/3/issue/AIR-5/comment", body.to_string()),
        );
        assert_eq!(s, 201);
    }
    let text = |v: &Value| -> Vec<String> {
        v["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["body"]["content"][0]["content"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    let (_, page) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/issue/AIR-5/comment?startAt=2&maxResults=3"),
    );
    assert_eq!(page["total"], 7);
    assert_eq!(page["startAt"], 2);
    assert_eq!(
        text(&page),
        vec!["c2", "c3", "c4"],
        "oldest first by default"
    );
    let (_, newest) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/issue/AIR-5/comment?orderBy=-created&maxResults=2"),
    );
    assert_eq!(text(&newest), vec!["c6", "c5"]);
    let (s, _) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/issue/AIR-5/comment?orderBy=author"),
    );
    assert_eq!(s, 400);
}

#[test]
fn every_call_that_sets_a_property_holds_it_to_32_kb() {
    let mut sim = setup(EngineKind::Native);
    let big = "x".repeat(33_000);
    let body = json!({"body": {"type": "doc", "version": 1, "content": []}, "properties": [{"key": "k", "value": {"v": big}}]});
    let (s, v) = call(
        &mut sim,
        HttpRequest::with_json("POST", "/rest/api/3/issue/AIR-5/comment", body.to_string()),
    );
    assert_eq!(s, 400, "{v}");
    let (s, _) = call(
        &mut sim,
        HttpRequest::with_json(
            "PUT",
            "/rest/api/3/issue/AIR-5/properties/k",
            json!({"v": big}).to_string(),
        ),
    );
    assert_eq!(s, 400);
    let small = json!({"body": {"type": "doc", "version": 1, "content": []}, "properties": [{"key": "k", "value": {"v": "ok"}}]});
    let (s, _) = call(
        &mut sim,
        HttpRequest::with_json("POST", "/rest/api/3/issue/AIR-5/comment", small.to_string()),
    );
    assert_eq!(s, 201);
}

#[test]
fn a_conflicting_update_on_the_transition_is_retried_not_dropped() {
    // covers: CL-013
    // Jira answers 409 when another update got to the issue first. The approval notice comes
    // back later and transitions the issue; it does not log a failure and forget.
    let marcus = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4";
    let mut sim = setup(EngineKind::Native);
    sim.deliver(&event("002")).unwrap();
    sim.settle();
    let before = sim.state().site.issue("AIR-2").unwrap().status.clone();
    // The notice's Jira calls: read comments, post, read transitions, transition. Fail the last.
    sim.armed
        .push(host_sim::faults::parse_armed("queue decisions#1 => jira#4=409").unwrap());
    sim.resolve(
        "clearance.approvals.bulkDecide",
        &json!({"issueKeys": ["AIR-2"], "decision": "approve"}),
        Some(marcus),
    );
    let first = sim.settle();
    let notice = first.iter().find(|r| r.label == "queue decisions").unwrap();
    assert!(
        notice.ok().is_some_and(|v| v.get("retry").is_some()),
        "the 409 asks for a retry: {:?}",
        notice.outcome
    );
    assert_eq!(sim.state().site.issue("AIR-2").unwrap().status, before);
    sim.advance(120_000);
    let issue = sim.state().site.issue("AIR-2").unwrap();
    assert_ne!(issue.status, before, "transitioned on the retry");
    let approved = issue
        .comments
        .iter()
        .filter(|c| c.body.to_string().contains("approved"))
        .count();
    assert_eq!(approved, 1, "commented once");
    assert!(sim
        .state()
        .kvs
        .keys()
        .all(|k| !k.starts_with("decision-notice:")));
}

fn default_run() -> Sim {
    common::whole_scenario(&[])
}

fn comment_texts(sim: &Sim, key: &str, public: bool) -> Vec<String> {
    sim.state()
        .site
        .issue(key)
        .unwrap()
        .comments
        .iter()
        .filter(|c| host_sim::jira::shapes::is_public(c) == public)
        .map(|c| c.body.to_string())
        .collect()
}

#[test]
fn the_requester_sees_outcomes_and_agents_alone_see_escalations_and_path_comments() {
    // covers: CL-053
    let sim = default_run();
    // AIR-1 walked Standard AI access: the path's comment is for approvers; the outcome is for
    // Jonas, who asked.
    let public = comment_texts(&sim, "AIR-1", true);
    let internal = comment_texts(&sim, "AIR-1", false);
    assert!(
        public.iter().any(|c| c.contains("access approved")),
        "{public:?}"
    );
    assert!(
        internal.iter().any(|c| c.contains("Standard AI access")),
        "{internal:?}"
    );
    assert!(
        !public.iter().any(|c| c.contains("Standard AI access")),
        "{public:?}"
    );
    // A rejected snapshot tells the requester what to fix: public.
    assert!(comment_texts(&sim, "AIR-15", true)
        .iter()
        .any(|c| c.contains("not accepted")));
    // Escalations mention the escalation targets: internal, wherever they were posted.
    let escalations: Vec<(bool, String)> = sim
        .state()
        .site
        .issues
        .iter()
        .flat_map(|i| i.comments.iter())
        .filter(|c| c.body.to_string().contains("escalat"))
        .map(|c| (host_sim::jira::shapes::is_public(c), c.body.to_string()))
        .collect();
    assert!(!escalations.is_empty(), "the default run escalates");
    assert!(escalations.iter().all(|(p, _)| !p), "{escalations:?}");
}

#[test]
fn a_jsm_customer_reading_comments_sees_only_public_ones() {
    let mut sim = default_run();
    // AIR-6 was filed on the portal by a JSM customer.
    let customer = sim.state().site.issue("AIR-6").unwrap().reporter.clone();
    let internal = json!({"body": {"type": "doc", "version": 1, "content": []},
        "properties": [{"key": "sd.public.comment", "value": {"internal": true}}]});
    let (s, _) = call(
        &mut sim,
        HttpRequest::with_json(
            "POST",
            "/rest/api/3/issue/AIR-6/comment",
            internal.to_string(),
        ),
    );
    assert_eq!(s, 201);
    let all = sim.state().site.issue("AIR-6").unwrap().comments.len();
    let e = sim.emu_mut();
    e.begin("test", Some(customer), 25, FaultPlan::default());
    let r = e
        .jira(
            Principal::User,
            &HttpRequest::get("/rest/api/3/issue/AIR-6/comment"),
        )
        .unwrap()
        .unwrap();
    e.end();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let seen = v["comments"].as_array().unwrap();
    assert_eq!(
        seen.len(),
        all - 1,
        "the internal comment stays off the portal"
    );
    assert!(seen.iter().all(|c| c["jsdPublic"] == true));
    // The app (an agent) sees both.
    let (_, app) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/issue/AIR-6/comment"),
    );
    assert_eq!(app["comments"].as_array().unwrap().len(), all);
}

#[test]
fn users_embedded_in_issues_carry_no_locale_and_get_field_names_the_request_type() {
    let mut sim = setup(EngineKind::Native);
    let (_, issue) = call(&mut sim, HttpRequest::get("/rest/api/3/issue/AIR-1"));
    let reporter = &issue["fields"]["reporter"];
    assert!(reporter.get("accountId").is_some(), "{reporter}");
    assert!(reporter.get("locale").is_none(), "{reporter}");
    let (_, fields) = call(&mut sim, HttpRequest::get("/rest/api/3/field"));
    let rt = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "customfield_10010")
        .expect("the request type field");
    assert_eq!(rt["name"], "Request Type");
    assert_eq!(
        rt["schema"]["custom"],
        "com.atlassian.servicedesk:vp-origin"
    );
}

#[test]
fn a_transition_whose_screen_requires_a_resolution_gets_one() {
    // covers: CL-053
    // The AIR workflow's Decline asks for a resolution (site.json `requiredFields`). Jira refuses
    // the bare transition; the app reads the screen and sends one, so the denied request's issue
    // is declined, not left waiting.
    let mut sim = setup(EngineKind::Native);
    let (s, v) = call(
        &mut sim,
        HttpRequest::with_json(
            "POST",
            "/rest/api/3/issue/AIR-8/transitions",
            json!({"transition": {"id": "21"}}).to_string(),
        ),
    );
    assert_eq!(s, 400);
    assert_eq!(v["errors"]["resolution"], "Resolution is required.");
    let (_, t) = call(
        &mut sim,
        HttpRequest::get("/rest/api/3/issue/AIR-8/transitions?expand=transitions.fields"),
    );
    let decline = t["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Decline")
        .unwrap();
    assert_eq!(decline["hasScreen"], true);
    assert_eq!(decline["fields"]["resolution"]["required"], true);
    let sim = default_run();
    let declined = sim
        .state()
        .site
        .issues
        .iter()
        .filter(|i| i.project == "AIR" && i.status == "4")
        .count();
    assert!(
        declined >= 1,
        "denied requests are declined through the screen"
    );
    assert_eq!(sim.state().site.issue("AIR-8").unwrap().status, "4");
}
