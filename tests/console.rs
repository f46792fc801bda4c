//! `host-sim serve` without a browser: the console answers bridge calls with the adapter's
//! envelope, serves the built bundle with the bridge in front of it, refuses what it must with
//! typed errors, and the portal's Create makes exactly one issue and one intake delivery.

mod common;

use common::console::{self, get, http, post};
use common::JONAS;
use serde_json::{json, Value};

const LAURA: &str = "712020:d7e80c80-d3f2-5fa3-8081-794445b993cf";

fn issues(c: &console::Console) -> Vec<String> {
    let (_, s) = get(c, "/__console/api/session");
    let v: Value = serde_json::from_str(&s).unwrap();
    v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_console_serves_every_ui_module_with_the_bridge_before_the_app() {
    let c = console::start("console-serve");
    let (_, s) = get(&c, "/__console/api/session");
    let session: Value = serde_json::from_str(&s).unwrap();
    let keys: Vec<&str> = session["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    for k in [
        "ai-clearance",
        "ai-clearance-admin",
        "ai-clearance-issue-panel",
        "ai-clearance-panel",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
        let (status, html) = get(&c, &format!("/ui/{k}/index.html?frame=f1"));
        assert_eq!(status, 200, "{k}: {html}");
        let bridge = html
            .find("/__console/bridge.js")
            .expect("the bridge is injected");
        let app = html.find("./assets/").expect("the app's relative assets");
        assert!(
            bridge < app,
            "the bridge must load before @forge/bridge reads it"
        );
    }
    // The same files under every module; nothing outside the resource folder.
    let (_, html) = get(&c, "/ui/ai-clearance/index.html");
    let asset = html
        .split("src=\"./")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(get(&c, &format!("/ui/ai-clearance-panel/{asset}")).0, 200);
    assert_eq!(get(&c, "/ui/ai-clearance/../index.html").0, 404);
    assert_eq!(get(&c, "/ui/ai-clearance/%2e%2e/Cargo.toml").0, 404);
    assert_eq!(get(&c, "/ui/not-a-module/index.html").0, 404);
}

#[test]
fn invoke_returns_the_forge_adapters_envelope_and_typed_errors() {
    let c = console::start("console-invoke");
    let (s, ok) = post(
        &c,
        "/__console/api/invoke",
        &json!({"moduleKey": "ai-clearance", "accountId": JONAS, "functionKey": "page.myAccess"}),
    );
    assert_eq!(s, 200);
    assert_eq!(ok["ok"], true);
    assert!(
        ok["data"]["grants"]
            .as_array()
            .is_some_and(|g| !g.is_empty()),
        "{ok}"
    );
    // A customer asking for an admin resolver: the app's own typed refusal, in the envelope.
    let (_, denied) = post(
        &c,
        "/__console/api/invoke",
        &json!({"moduleKey": "ai-clearance", "accountId": LAURA, "functionKey": "admin.overview"}),
    );
    assert_eq!(denied["ok"], false);
    assert_eq!(denied["error"]["kind"], "forbidden", "{denied}");
    // The console's own refusals are typed too, and run nothing.
    let before = get(&c, "/__console/api/clock").1;
    let (s, bad) = post(
        &c,
        "/__console/api/invoke",
        &json!({"moduleKey": "no-such-module", "functionKey": "page.myAccess"}),
    );
    assert_eq!(
        (s, bad["error"]["code"].as_str()),
        (400, Some("MODULE_UNKNOWN"))
    );
    let (s, bad) = http(&c, "POST", "/__console/api/invoke", Some("not json"));
    assert_eq!(s, 400, "{}", String::from_utf8_lossy(&bad));
    let huge = format!("{{\"functionKey\":\"{}\"}}", "x".repeat(600 * 1024));
    assert_eq!(
        http(&c, "POST", "/__console/api/invoke", Some(&huge)).0,
        413
    );
    let after = get(&c, "/__console/api/clock").1;
    let seq = |s: &str| serde_json::from_str::<Value>(s).unwrap()["seq"].clone();
    assert_eq!(
        seq(&before),
        seq(&after),
        "refused calls must not invoke the app"
    );
}

#[test]
fn portal_create_refuses_bad_input_without_writing_and_ingests_a_valid_panel() {
    let c = console::start("console-portal");
    let before = issues(&c);
    for (body, code) in [
        (
            json!({"accountId": JONAS, "portalId": 1, "requestTypeId": "12", "summary": "  "}),
            "SUMMARY_REQUIRED",
        ),
        (
            json!({"accountId": JONAS, "portalId": 7, "requestTypeId": "12", "summary": "x"}),
            "PORTAL_NOT_FOUND",
        ),
        (
            json!({"accountId": JONAS, "portalId": 1, "requestTypeId": "99", "summary": "x"}),
            "REQUEST_TYPE_NOT_FOUND",
        ),
        (
            json!({"accountId": "nobody", "portalId": 1, "requestTypeId": "12", "summary": "x"}),
            "UNKNOWN_USER",
        ),
        (
            json!({"accountId": JONAS, "portalId": 1, "requestTypeId": "12", "summary": "x",
                "panel": {"isValid": false, "fields": []}}),
            "PANEL_INVALID",
        ),
        (
            json!({"accountId": JONAS, "portalId": 1, "requestTypeId": "12", "summary": "x",
                "panel": {"isValid": true, "fields": [{"value": 1}]}}),
            "PANEL_MALFORMED",
        ),
    ] {
        let (_, r) = post(&c, "/__console/api/portal/create", &body);
        assert_eq!(r["error"]["code"], code, "{r}");
    }
    assert_eq!(issues(&c), before, "a refused Create writes no issue");

    let (_, v) = post(
        &c,
        "/__console/api/invoke",
        &json!({"moduleKey": "ai-clearance-panel", "accountId": JONAS,
        "functionKey": "panel.validate", "payload": {"portalId": 1, "requestTypeId": 12, "toolId": "slack-ai", "durationDays": 30}}),
    );
    assert_eq!(v["data"]["valid"], true, "{v}");
    let (_, made) = post(
        &c,
        "/__console/api/portal/create",
        &json!({"accountId": JONAS, "portalId": 1, "requestTypeId": "12",
        "summary": "Slack AI", "panel": {"isValid": true, "fields": [{"key": "aiclearance.snapshot.v1", "value": v["data"]["snapshot"]}]}}),
    );
    assert_eq!(made["ok"], true, "{made}");
    let key = made["issueKey"].as_str().unwrap();
    assert_eq!(made["result"]["outcome"], "ingested");
    assert_eq!(issues(&c).len(), before.len() + 1);
    let (_, mine) = post(
        &c,
        "/__console/api/invoke",
        &json!({"moduleKey": "ai-clearance", "accountId": JONAS, "functionKey": "requests.mine"}),
    );
    let r = mine["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["issueKey"] == key)
        .cloned()
        .unwrap();
    assert_eq!(
        (r["tool"]["id"].as_str(), r["durationDays"].as_u64()),
        (Some("slack-ai"), Some(30))
    );
}

#[test]
fn the_clock_moves_only_when_told_and_queued_work_runs_then() {
    let c = console::start("console-clock");
    let (_, v) = post(
        &c,
        "/__console/api/invoke",
        &json!({"moduleKey": "ai-clearance-issue-panel", "accountId": JONAS,
        "functionKey": "approvals.start", "payload": {"definitionId": "ai-assisted-access", "issueKey": "AIR-1"}}),
    );
    assert_eq!(v["ok"], true, "{v}");
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let clock: Value = serde_json::from_str(&get(&c, "/__console/api/clock").1).unwrap();
    assert_eq!(clock["running"], false);
    assert!(
        clock["queued"].as_u64().unwrap() >= 1,
        "the AI job waits on a paused clock: {clock}"
    );
    let forissue = |c: &console::Console| {
        post(
            c,
            "/__console/api/invoke",
            &json!({"moduleKey": "ai-clearance-issue-panel", "accountId": JONAS,
            "functionKey": "approvals.forIssue", "payload": {"issueKey": "AIR-1"}}),
        )
        .1
    };
    assert_eq!(forissue(&c)["data"]["hasActivePromptStep"], true);
    let (_, t) = post(&c, "/__console/api/tick", &json!({"advance": "1m"}));
    assert!(t["invocations"].as_u64().unwrap() >= 1, "{t}");
    assert_eq!(forissue(&c)["data"]["hasActivePromptStep"], false);
    let (s, bad) = post(&c, "/__console/api/tick", &json!({"advance": "1y"}));
    assert_eq!(
        (s, bad["error"]["code"].as_str()),
        (400, Some("ADVANCE_INVALID"))
    );
}

// covers: CL-901
/// Approvals are served through the global page's Approvals tab: the manifest declares the four
/// screens the app has and no standalone approval-queue module, all on the one Custom UI resource.
#[test]
fn the_manifest_has_no_standalone_approval_queue_module() {
    let m = host_sim::manifest::Manifest::load(&host_sim::sim::default_manifest()).unwrap();
    let mut types: Vec<&str> = m
        .ui_modules
        .iter()
        .map(|u| u.module_type.as_str())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "jira:adminPage",
            "jira:globalPage",
            "jira:issuePanel",
            "jiraServiceManagement:portalRequestCreatePropertyPanel"
        ]
    );
    for u in &m.ui_modules {
        assert!(
            !u.key.contains("queue") && !u.title.to_lowercase().contains("queue"),
            "{u:?}"
        );
        assert_eq!(u.resource.as_deref(), Some("main"), "{u:?}");
    }
    assert_eq!(
        m.resources.get("main").map(String::as_str),
        Some("static/ui/dist")
    );
}
