//! The portal request-create panel's backend (issue 8, panel part): gate, options and the
//! submit check, called by a JSM customer as the portal would.

mod common;

use common::*;
use serde_json::json;

const CUSTOMER: &str = "712020:7f89dbec-4a8f-59b7-8198-95aeb5fb7d9b"; // Bruno Costa, JSM customer

// covers: CL-001, CL-002, CL-003, CL-014
#[test]
fn the_panel_is_enabled_only_for_the_intake_portal_and_allowed_request_types() {
    let mut sim = wasm();
    let ctx = |sim: &mut host_sim::Sim, p: serde_json::Value| ok(sim, "panel.context", p, CUSTOMER);
    assert_eq!(
        ctx(&mut sim, json!({"portalId": 1, "requestTypeId": 12}))["enabled"],
        true
    );
    assert_eq!(
        ctx(&mut sim, json!({"portalId": "1", "requestTypeId": "13"}))["enabled"],
        true,
        "numeric strings compare as numbers"
    );
    let wrong = ctx(&mut sim, json!({"portalId": 2, "requestTypeId": 12}));
    assert_eq!(
        (wrong["enabled"].as_bool(), wrong["code"].as_str()),
        (Some(false), Some("WRONG_PORTAL"))
    );
    assert!(wrong["reason"]
        .as_str()
        .unwrap()
        .contains("Intake & Approvals"));
    let rt = ctx(&mut sim, json!({"portalId": 1, "requestTypeId": 14}));
    assert_eq!(rt["code"], "REQUEST_TYPE_NOT_ALLOWED");
    let missing = ctx(&mut sim, json!({"portalId": 1}));
    assert_eq!(missing["code"], "CONTEXT_MISSING");
    let mut fresh = unconfigured();
    assert_eq!(
        ok(
            &mut fresh,
            "panel.context",
            json!({"portalId": 1, "requestTypeId": 12}),
            CUSTOMER
        )["code"],
        "NOT_CONFIGURED"
    );
    // The manifest lets customers and unlicensed users use the panel.
    let manifest = std::fs::read_to_string(root().join("manifest.yml")).unwrap();
    assert!(manifest.contains("unlicensedAccess"));
}

// covers: CL-004, CL-021
#[test]
fn the_options_are_approved_tools_plus_request_new_tool() {
    let mut sim = wasm();
    let o = ok(
        &mut sim,
        "panel.options",
        json!({"portalId": 1, "requestTypeId": 12}),
        CUSTOMER,
    );
    let tools = o["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t["id"] == "chatgpt-enterprise"));
    assert!(tools
        .iter()
        .all(|t| t["id"] != "midjourney" && t["id"] != "deepseek-chat"));
    let chatgpt = tools
        .iter()
        .find(|t| t["id"] == "chatgpt-enterprise")
        .unwrap();
    assert_eq!(chatgpt["maxDays"], 90);
    assert_eq!(chatgpt["durations"], json!([7, 14, 30, 60, 90]));
    assert_eq!(o["newTool"]["label"], "Request new tool");
    // The URL is optional for a new tool (spec §7.1, D-46).
    assert_eq!(o["newTool"]["needsUrl"], false);
    assert_eq!(
        err(
            &mut sim,
            "panel.options",
            json!({"portalId": 2, "requestTypeId": 12}),
            CUSTOMER
        ),
        "WRONG_PORTAL"
    );
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"blockUnknownTools": true}),
        ADMIN,
    );
    let o = ok(
        &mut sim,
        "panel.options",
        json!({"portalId": 1, "requestTypeId": 12}),
        CUSTOMER,
    );
    assert!(
        o["newTool"].is_null(),
        "blocking unknown tools hides the option"
    );
}

// covers: CL-005, CL-007
#[test]
fn the_form_is_valid_only_with_the_gate_open_and_every_required_field() {
    let mut sim = wasm();
    let before = sim.export_state();
    let v = |sim: &mut host_sim::Sim, p: serde_json::Value| ok(sim, "panel.validate", p, CUSTOMER);
    let good = v(
        &mut sim,
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "chatgpt-enterprise", "durationDays": 30}),
    );
    assert_eq!(good["valid"], true);
    assert_eq!(good["snapshotKey"], "aiclearance.snapshot.v1");
    assert_eq!(good["snapshot"]["toolId"], "chatgpt-enterprise");
    assert_eq!(good["snapshot"]["durationDays"], 30);
    let cases = [
        (
            json!({"portalId": 2, "requestTypeId": 12, "toolId": "chatgpt-enterprise", "durationDays": 30}),
            "gate",
            "WRONG_PORTAL",
        ),
        (
            json!({"portalId": 1, "requestTypeId": 12, "durationDays": 30}),
            "toolId",
            "TOOL_MISSING",
        ),
        (
            json!({"portalId": 1, "requestTypeId": 12, "toolId": "chatgpt-enterprise"}),
            "durationDays",
            "DURATION_INVALID",
        ),
        (
            json!({"portalId": 1, "requestTypeId": 12, "toolId": "chatgpt-enterprise", "durationDays": 120}),
            "durationDays",
            "DURATION_TOO_LONG",
        ),
        (
            json!({"portalId": 1, "requestTypeId": 12, "toolId": "midjourney", "durationDays": 14}),
            "toolId",
            "TOOL_NOT_REQUESTABLE",
        ),
        (
            json!({"portalId": 1, "requestTypeId": 12, "newTool": {"name": "Harvey", "url": "http://harvey.ai"}, "durationDays": 14}),
            "newTool.url",
            "NEW_TOOL_URL_INVALID",
        ),
    ];
    for (p, field, code) in cases {
        let r = v(&mut sim, p.clone());
        assert_eq!(r["valid"], false, "{p}");
        assert_eq!(r["errors"][field]["code"], code, "{p} → {r}");
    }
    let new_tool = v(
        &mut sim,
        json!({"portalId": 1, "requestTypeId": 12,
        "newTool": {"name": "Harvey", "url": "https://www.harvey.ai"}, "durationDays": 14}),
    );
    assert_eq!(new_tool["valid"], true);
    // covers: CL-004 (the tool URL is optional for a new tool, spec §7.1)
    let no_url = v(
        &mut sim,
        json!({"portalId": 1, "requestTypeId": 12, "newTool": {"name": "Harvey"}, "durationDays": 14}),
    );
    assert_eq!(no_url["valid"], true, "{no_url}");
    let mut after = sim.export_state();
    after["keysByPrefix"]
        .as_object_mut()
        .unwrap()
        .remove("access-cache");
    assert_eq!(after, before, "validation writes nothing");
}

// covers: CL-006
/// What the panel validated is what intake ingests: the snapshot goes, as the JSM platform
/// stores a request-create panel's fields, into the issue property keyed by the app's UUID with
/// `aiclearance.snapshot.v1` inside it (FORGE-FACTS wins over the spec's standalone property),
/// and Jira returns it through the issue properties API.
#[test]
fn the_snapshot_the_panel_validates_is_the_one_intake_ingests() {
    let mut sim = wasm();
    let good = ok(
        &mut sim,
        "panel.validate",
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "claude-team", "durationDays": 21,
               "justification": "Drafting release notes"}),
        CUSTOMER,
    );
    assert_eq!(good["valid"], true, "{good}");
    let uuid = sim
        .emu()
        .manifest
        .app_id
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    // A new portal issue carrying exactly that (AIR-1's shape, new id and key).
    let mut issue = sim.state().site.issue("AIR-1").unwrap().clone();
    issue.id = "10190".into();
    issue.key = "AIR-90".into();
    issue.reporter = CUSTOMER.into();
    issue.creator = Some(CUSTOMER.into());
    issue.comments.clear();
    issue.properties.clear();
    issue.properties.insert(
        uuid.clone(),
        json!({ good["snapshotKey"].as_str().unwrap(): good["snapshot"].clone() }),
    );
    sim.state_mut().site.issues.push(issue);
    let stored = sim.state().site.issue("AIR-90").unwrap().properties[&uuid].clone();
    assert_eq!(stored["aiclearance.snapshot.v1"], good["snapshot"]);
    let mut ev = event("001");
    ev["issue"]["id"] = json!("10190");
    ev["issue"]["key"] = json!("AIR-90");
    ev["issue"]["fields"]["reporter"]["accountId"] = json!(CUSTOMER);
    ev["issue"]["fields"]["creator"]["accountId"] = json!(CUSTOMER);
    ev["atlassianId"] = json!(CUSTOMER);
    let rec = sim.deliver(&ev).unwrap();
    assert_eq!(outcome(&rec)["outcome"], "ingested", "{:?}", rec.outcome);
    let r = kvs_value(&sim, "request:10190").unwrap();
    assert_eq!(r["tool"]["id"], "claude-team", "{r}");
    assert_eq!(r["durationDays"], 21);
    assert_eq!(r["snapshotSource"], "panel");
}
