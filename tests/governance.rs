//! Governance that holds (issue 20, part A): separation of duties, no silent downgrades, and who
//! may do what. Each test is a way governance was bypassed or quietly weakened before; each fails
//! if that way opens again. The rules are recorded in docs/decisions.md (D-60…D-72).

mod common;

use common::*;
use host_sim::runtime::RawOutcome;
use host_sim::serve::portal::{self, PortalRequest};
use host_sim::sim::Sim;
use serde_json::{json, Value};

const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0"; // named approver, team lead
const HELENA: &str = "5c41318d11064151843f092c"; // ai-approvers, Priya's delegate
const SOFIA: &str = "5d610bd609501844143739a4"; // security-reviewers
const TOMAS: &str = "712020:9da8d250-3734-53dd-9c52-3614f0b0a6ac"; // second Jira admin
const CHLOE: &str = "712020:1da71dc4-ac1b-595b-9c64-d53b508953da"; // marketing, no approver role
const WEI: &str = "712020:6d7314cd-429c-5163-a056-f0c8e2524635"; // engineering
const DANIEL: &str = "712020:998fd4ff-9c0b-514f-82bc-2d9c12a16839"; // ai-approvers

fn request(sim: &Sim, issue_id: &str) -> Value {
    kvs_value(sim, &format!("request:{issue_id}")).expect("request stored")
}

/// A portal request by `who` for a catalog tool; returns (issue key, issue id).
fn file_request(sim: &mut Sim, who: &str, tool: &str, days: u64) -> (String, String) {
    let (key, rec) = portal::create(
        sim,
        &PortalRequest {
            reporter: who.into(),
            portal_id: 1,
            request_type_id: "12".into(),
            summary: format!("{tool} for me"),
            description: "Needed for my work.".into(),
            panel: Some(
                json!({"isValid": true, "fields": [{"key": "aiclearance.snapshot.v1",
                "value": {"toolId": tool, "newTool": null, "durationDays": days,
                          "portalId": 1, "requestTypeId": 12}}]}),
            ),
        },
    )
    .expect("portal accepts the request");
    assert!(
        matches!(rec.outcome, RawOutcome::Ok(_)),
        "{:?}",
        rec.outcome
    );
    sim.settle();
    let id = sim
        .state()
        .site
        .issues
        .iter()
        .find(|i| i.key == key)
        .unwrap()
        .id
        .clone();
    (key, id)
}

fn decide(
    sim: &mut Sim,
    who: &str,
    key: &str,
    decision: &str,
    comment: &str,
) -> Result<Value, String> {
    let rec = sim.resolve(
        "clearance.approvals.decide",
        &json!({"issueKey": key, "decision": decision, "comment": comment}),
        Some(who),
    );
    let out = match &rec.outcome {
        RawOutcome::Ok(v) => Ok(v.clone()),
        RawOutcome::Err(e) => Err(e.code.clone()),
        other => panic!("decide {key}: {other:?}"),
    };
    sim.settle();
    out
}

fn step(
    sim: &mut Sim,
    who: &str,
    approval: &Value,
    step: &str,
    decision: &str,
    comment: &str,
) -> Result<Value, String> {
    let rec = sim.resolve(
        "approvals.decide",
        &json!({"approvalId": approval, "stepId": step, "decision": decision, "comment": comment}),
        Some(who),
    );
    let out = match &rec.outcome {
        RawOutcome::Ok(v) => Ok(v["approval"].clone()),
        RawOutcome::Err(e) => Err(e.code.clone()),
        other => panic!("approvals.decide: {other:?}"),
    };
    sim.settle();
    out
}

fn route_of(sim: &Sim, id: &str) -> Value {
    request(sim, id)["route"].clone()
}

// covers: CL-037, CL-060
#[test]
fn nobody_decides_their_own_request_directly_in_bulk_or_on_a_path() {
    let mut sim = wasm();
    // Marcus (ai-approvers) asks for Copilot (low risk, decided directly).
    let (key, id) = file_request(&mut sim, MARCUS, "github-copilot", 30);
    assert_eq!(route_of(&sim, &id)["kind"], "direct");
    assert_eq!(
        decide(&mut sim, MARCUS, &key, "approve", ""),
        Err("SELF_DECISION_FORBIDDEN".into())
    );
    let bulk = ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": [key], "decision": "approve"}),
        MARCUS,
    );
    assert_eq!(
        bulk["results"][0]["error"]["code"],
        "SELF_DECISION_FORBIDDEN"
    );
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    assert!(
        tab["pending"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["issueKey"] != json!(key)),
        "own requests are not offered for a decision"
    );
    assert_eq!(
        request(&sim, &id)["decision"],
        "pending",
        "nothing was recorded"
    );
    // An administrator is no exception.
    let (akey, _) = file_request(&mut sim, ADMIN, "github-copilot", 30);
    assert_eq!(
        decide(&mut sim, ADMIN, &akey, "approve", "I need it"),
        Err("SELF_DECISION_FORBIDDEN".into())
    );
    // Someone else decides.
    assert_eq!(
        decide(&mut sim, PRIYA, &key, "approve", "").unwrap()["outcome"],
        "approved"
    );

    // Priya asks for ChatGPT (medium: Standard AI access, whose Team lead step is Priya with
    // Helena as her delegate). Neither Priya nor Helena acting for her decides that step.
    let (pkey, pid) = file_request(&mut sim, PRIYA, "chatgpt-enterprise", 30);
    let apr = route_of(&sim, &pid)["approvalId"].clone();
    assert_eq!(
        step(&mut sim, PRIYA, &apr, "s1", "approve", ""),
        Err("SELF_DECISION_FORBIDDEN".into())
    );
    let view = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": pkey}),
        PRIYA,
    );
    assert_eq!(
        view["approvals"][0]["viewer"]["decidable"],
        json!({}),
        "the issue panel offers the requester nothing to decide"
    );
    // Helena is in ai-approvers herself: she may decide the group step as herself, not Priya's.
    let a = step(&mut sim, HELENA, &apr, "s2", "approve", "").unwrap();
    assert_eq!(a["steps"][1]["status"], "SUCCESS");
    assert!(verify(&mut sim).ok);
}

// covers: CL-037, CL-060
#[test]
fn an_admin_override_needs_a_reason_and_cannot_pass_a_governance_review() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "005"]); // AIR-1 medium (Standard), AIR-5 high (Security review)
    let high = route_of(&sim, "10104")["approvalId"].clone();
    // Ada is not a security reviewer: deciding step 1 is an override.
    assert_eq!(
        step(&mut sim, ADMIN, &high, "s1", "approve", "looks fine"),
        Err("OVERRIDE_NOT_ALLOWED".into()),
        "an override cannot approve a review governance requires"
    );
    let view = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-5"}),
        ADMIN,
    );
    let offer = &view["approvals"][0]["viewer"]["decidable"]["s1"];
    assert_eq!(offer["as"], "admin");
    assert_eq!(
        offer["mayApprove"], false,
        "the panel offers reject only: {offer}"
    );
    assert_eq!(offer["approveBlocked"]["code"], "OVERRIDE_NOT_ALLOWED");
    // Overrides need a reason, even to reject.
    assert_eq!(
        step(&mut sim, ADMIN, &high, "s1", "reject", ""),
        Err("OVERRIDE_REASON_REQUIRED".into())
    );
    // The medium path is not a governance review: an override approves, with its reason kept.
    let std = route_of(&sim, "10100")["approvalId"].clone();
    assert_eq!(
        step(&mut sim, ADMIN, &std, "s1", "approve", "  "),
        Err("OVERRIDE_REASON_REQUIRED".into())
    );
    let a = step(
        &mut sim,
        ADMIN,
        &std,
        "s1",
        "approve",
        "Priya is on leave; confirmed by phone",
    )
    .unwrap();
    let d = &a["steps"][0]["decisions"][0];
    assert_eq!(d["adminOverride"], true);
    assert_eq!(d["overrideReason"], "Priya is on leave; confirmed by phone");
    // The rejection override on the high path denies the request, and the chain says who and why.
    step(
        &mut sim,
        ADMIN,
        &high,
        "s1",
        "reject",
        "Vendor failed the DPA check",
    )
    .unwrap();
    assert_eq!(request(&sim, "10104")["decision"], "denied");
    let denied = audit_of(&sim, "request_denied");
    let overrides = &denied.last().unwrap()["data"]["evidence"]["overrides"];
    assert_eq!(
        overrides[0]["reason"], "Vendor failed the DPA check",
        "{denied:?}"
    );
    assert!(verify(&mut sim).ok);
}

// covers: CL-032
#[test]
fn successive_steps_of_a_distinct_deciders_path_need_different_people() {
    let mut sim = wasm();
    let def = ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {
        "name": "Two pairs of eyes", "distinctDeciders": true,
        "steps": [
            {"name": "First", "type": "GROUP", "group": "ai-approvers", "parallelGroupNumber": 1},
            {"name": "Second", "type": "GROUP", "group": "ai-approvers", "parallelGroupNumber": 2}
        ]}}),
        ADMIN,
    )["definition"]["id"]
        .clone();
    let a = ok(
        &mut sim,
        "approvals.start",
        json!({"definitionId": def, "issueKey": "AIR-12"}),
        ADMIN,
    )["approval"]["id"]
        .clone();
    step(&mut sim, MARCUS, &a, "s1", "approve", "").unwrap();
    assert_eq!(
        step(&mut sim, MARCUS, &a, "s2", "approve", ""),
        Err("DECIDER_NOT_DISTINCT".into())
    );
    let done = step(&mut sim, DANIEL, &a, "s2", "approve", "").unwrap();
    assert_eq!(done["status"], "APPROVED");

    // A governance review is always distinct: Security review's two steps, even for someone in
    // both groups (Tomás joins security-reviewers for this test).
    let st = sim.state_mut();
    let g = st
        .site
        .groups
        .iter_mut()
        .find(|g| g.name == "security-reviewers")
        .unwrap();
    g.members.push(TOMAS.into());
    deliver(&mut sim, &["005"]);
    let high = route_of(&sim, "10104")["approvalId"].clone();
    step(&mut sim, TOMAS, &high, "s1", "approve", "").unwrap();
    assert_eq!(
        step(&mut sim, TOMAS, &high, "s2", "approve", ""),
        Err("DECIDER_NOT_DISTINCT".into())
    );
    step(&mut sim, ADMIN, &high, "s2", "approve", "").unwrap();
    assert_eq!(request(&sim, "10104")["decision"], "approved");
}

// covers: CL-037
#[test]
fn admin_fallback_off_means_admins_do_not_decide() {
    let mut sim = basic();
    deliver(&mut sim, &["002"]); // AIR-2, decided directly
    let mut cfg = ok(&mut sim, "admin.intake.get", json!({}), ADMIN)["config"].clone();
    cfg["approvals"]["adminFallback"] = json!(false);
    ok(&mut sim, "admin.intake.set", cfg, ADMIN);
    assert_eq!(
        decide(&mut sim, ADMIN, "AIR-2", "approve", ""),
        Err("NOT_APPROVER".into()),
        "an admin who is not an approver does not decide with admin fallback off"
    );
    // Admins still manage: the manual actions stay theirs.
    ok(&mut sim, "clearance.approvals.tab", json!({}), ADMIN);
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-2", "approve", "").unwrap()["outcome"],
        "approved"
    );
}

// covers: CL-037
#[test]
fn a_delegate_acts_only_for_the_approver_who_named_them() {
    let mut sim = wasm();
    // Wei is named as Marcus's delegate on a step Marcus does not approve: that gives Wei nothing.
    let def = ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {
        "name": "Team lead only",
        "steps": [{"name": "Lead", "type": "USER", "approvers": [PRIYA],
                   "delegates": {PRIYA: [CHLOE], MARCUS: [WEI]}, "parallelGroupNumber": 1}]}}),
        ADMIN,
    )["definition"]["id"]
        .clone();
    let a = ok(
        &mut sim,
        "approvals.start",
        json!({"definitionId": def, "issueKey": "AIR-12"}),
        ADMIN,
    )["approval"]["id"]
        .clone();
    assert_eq!(
        step(&mut sim, WEI, &a, "s1", "approve", ""),
        Err("NOT_AN_APPROVER".into())
    );
    let done = step(&mut sim, CHLOE, &a, "s1", "approve", "").unwrap();
    assert_eq!(done["steps"][0]["decisions"][0]["onBehalfOf"], PRIYA);
    // Direct decisions record the kernel's rule: whom the delegate stood in for.
    deliver(&mut sim, &["002"]);
    let mut cfg = ok(&mut sim, "admin.intake.get", json!({}), ADMIN)["config"].clone();
    cfg["approvals"]["delegates"] = json!({PRIYA: [CHLOE]});
    ok(&mut sim, "admin.intake.set", cfg, ADMIN);
    decide(&mut sim, CHLOE, "AIR-2", "approve", "").unwrap();
    let approved = audit_of(&sim, "request_approved");
    let rule = &approved.last().unwrap()["data"]["rule"];
    assert_eq!(rule["rule"], "delegate", "{rule}");
    assert_eq!(rule["onBehalfOf"], json!([PRIYA]));
}

// covers: CL-075, CL-076
#[test]
fn extensions_stay_within_the_risk_maximum_and_the_reviewed_window() {
    let mut sim = wasm();
    deliver(&mut sim, &["005"]); // AIR-5 Cursor (high: max 30 days, Security review), 21 days
    let high = route_of(&sim, "10104")["approvalId"].clone();
    step(&mut sim, SOFIA, &high, "s1", "approve", "").unwrap();
    step(&mut sim, ADMIN, &high, "s2", "approve", "").unwrap();
    let ext = |sim: &mut Sim, who: &str, id: &str, days: u64| {
        err(
            sim,
            "clearance.grants.extend",
            json!({"grantId": id, "days": days, "reason": "x"}),
            who,
        )
    };
    // The lifetime since the reviewed decision is what counts, not each extension on its own:
    // 21 + 10 days would be 31 of high risk's 30.
    assert_eq!(
        ext(&mut sim, PRIYA, "g-10104", 150),
        "EXTENSION_OVER_POLICY"
    );
    assert_eq!(ext(&mut sim, PRIYA, "g-10104", 10), "EXTENSION_OVER_POLICY");
    let fine = ok(
        &mut sim,
        "clearance.grants.extend",
        json!({"grantId": "g-10104", "days": 9, "reason": "sprint slipped"}),
        PRIYA,
    );
    assert!(fine["expiresAt"].is_string());
    // Twelve small extensions cannot stack past it either (issue 30: 14 → 168 days).
    assert_eq!(ext(&mut sim, PRIYA, "g-10104", 1), "EXTENSION_OVER_POLICY");
    let last = audit_of(&sim, "grant_extended").pop().unwrap();
    assert!(
        last["data"]["rule"].is_object(),
        "the rule is audited: {last}"
    );
    // Someone who may not manage grants learns nothing about which grant ids exist.
    assert_eq!(ext(&mut sim, CHLOE, "g-10104", 5), "NOT_APPROVER");
    assert_eq!(ext(&mut sim, CHLOE, "g-99999", 5), "NOT_APPROVER");
}

/// A path-reviewed grant may be extended by approvers up to twice what the review approved in
/// all; past that the holder requests access again, so the same review decides.
// covers: CL-075, CL-076
#[test]
fn a_reviewed_grant_is_extended_only_within_what_the_review_covered() {
    let mut sim = wasm();
    // Governance: medium risk up to 90 days through the Standard path; AIR-5's Cursor is made
    // medium so its 21-day grant leaves room under the maximum.
    let mut tool = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "cursor-business"}),
        ADMIN,
    )["tool"]
        .clone();
    tool["riskLevel"] = json!("medium");
    ok(&mut sim, "admin.catalog.upsert", tool, ADMIN);
    deliver(&mut sim, &["005"]);
    let apr = route_of(&sim, "10104")["approvalId"].clone();
    let a = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-5"}),
        ADMIN,
    );
    let steps: Vec<String> = a["approvals"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "USER" || s["type"] == "GROUP")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    for (s, who) in steps.iter().zip([PRIYA, DANIEL]) {
        step(&mut sim, who, &apr, s, "approve", "").unwrap();
    }
    sim.settle();
    let ext = |sim: &mut Sim, days: u64| {
        sim.resolve(
            "clearance.grants.extend",
            &json!({"grantId": "g-10104", "days": days, "reason": "x"}),
            Some(HELENA),
        )
    };
    // 21 reviewed: 21 + 22 = 43 days is more than twice the review.
    assert_eq!(
        ext(&mut sim, 22).error_code(),
        Some("EXTENSION_NEEDS_REVIEW")
    );
    assert!(
        ext(&mut sim, 21).ok().is_some(),
        "21 + 21 = 42 is within it"
    );
    assert_eq!(
        ext(&mut sim, 1).error_code(),
        Some("EXTENSION_NEEDS_REVIEW")
    );
}

// covers: CL-030, CL-032
#[test]
fn a_definition_governance_names_cannot_be_deleted_and_a_missing_one_holds_requests() {
    let mut sim = wasm();
    let e = sim.resolve(
        "admin.definitions.delete",
        &json!({"id": "security-review"}),
        Some(ADMIN),
    );
    match &e.outcome {
        RawOutcome::Err(e) => {
            assert_eq!(e.code, "DEFINITION_IN_USE");
            assert!(
                e.message.contains("high") && e.message.contains("critical"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
    // Storage loses it anyway (a restore, a race), every saved version with it: new high-risk
    // requests are held, not sent to laxer direct decisions, and the overview says so.
    let gone: Vec<String> = sim
        .state()
        .kvs
        .keys()
        .filter(|k| {
            k.as_str() == "definition:security-review"
                || k.starts_with("definition-version:security-review:")
        })
        .cloned()
        .collect();
    assert!(gone.len() >= 2, "the definition and its versions: {gone:?}");
    for k in gone {
        sim.state_mut().kvs.remove(&k);
    }
    deliver(&mut sim, &["005"]);
    assert_eq!(route_of(&sim, "10104")["kind"], "held");
    assert_eq!(
        decide(&mut sim, ADMIN, "AIR-5", "approve", "please"),
        Err("GOVERNANCE_NOT_READY".into())
    );
    let o = ok(&mut sim, "admin.overview", json!({}), ADMIN);
    let card = o["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "governance")
        .unwrap();
    assert_eq!(card["ready"], false, "{card}");
    assert_eq!(o["readiness"], "setupNeeded");
    // Governance fixed: the held request walks the path governance names now.
    let saved = ok(
        &mut sim,
        "admin.governance.save",
        json!({"high": {"approvalDefinitionId": "standard-ai-access"},
               "critical": {"approvalDefinitionId": "standard-ai-access"}}),
        ADMIN,
    );
    assert_eq!(saved["reroutedHeld"], 1);
    sim.settle();
    let r = route_of(&sim, "10104");
    assert_eq!(r["kind"], "path");
    assert_eq!(r["definitionId"], "standard-ai-access");
}

// covers: CL-034
#[test]
fn a_governance_exception_counts_only_once_a_second_admin_reviewed_it() {
    let mut sim = wasm();
    // Cursor (high: 30 days max). Aisha asks for 60 days.
    let aisha = "712020:89984cad-7859-5ca0-9ed3-b961974cf056";
    let e = ok(&mut sim, "admin.governance.exceptions.create",
        json!({"toolId": "cursor-business", "accountId": aisha, "maxDays": 60, "reason": "long migration", "validDays": 30}),
        ADMIN)["exception"].clone();
    let list = ok(
        &mut sim,
        "admin.governance.exceptions.list",
        json!({}),
        ADMIN,
    );
    assert_eq!(list["exceptions"][0]["active"], false);
    assert_eq!(list["exceptions"][0]["awaitingReview"], true);
    // Unreviewed, it does not lift the cap: the 60-day request is refused at intake.
    let (_, id) = file_request(&mut sim, aisha, "cursor-business", 60);
    assert!(kvs_value(&sim, &format!("request:{id}")).is_none());
    let rej = ok(&mut sim, "admin.intake.rejections", json!({}), ADMIN);
    assert_eq!(rej["items"][0]["code"], "DURATION_TOO_LONG", "{rej}");
    // A second administrator reviews it; now it applies, to intake and to the grant.
    ok(
        &mut sim,
        "admin.governance.exceptions.review",
        json!({"id": e["id"]}),
        TOMAS,
    );
    let (_, id) = file_request(&mut sim, aisha, "cursor-business", 60);
    let apr = route_of(&sim, &id)["approvalId"].clone();
    step(&mut sim, SOFIA, &apr, "s1", "approve", "").unwrap();
    step(&mut sim, ADMIN, &apr, "s2", "approve", "").unwrap();
    let g = kvs_value(&sim, &format!("access-grant:g-{id}")).unwrap();
    assert_eq!(g["durationDays"], 60);
    let list = ok(
        &mut sim,
        "admin.governance.exceptions.list",
        json!({}),
        ADMIN,
    );
    assert_eq!(list["exceptions"][0]["active"], true);
}

// covers: CL-011, CL-012
#[test]
fn editing_a_tool_keeps_what_the_edit_does_not_name_and_is_audited() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    let before = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "github-copilot"}),
        ADMIN,
    )["tool"]
        .clone();
    assert_eq!(before["connectorId"], "okta");
    let after = ok(
        &mut sim,
        "admin.catalog.upsert",
        json!({"id": "github-copilot", "guidance": "Now with code review."}),
        ADMIN,
    )["tool"]
        .clone();
    assert_eq!(after["guidance"], "Now with code review.");
    assert_eq!(
        after["connectorId"], "okta",
        "the binding survives an edit that does not name it"
    );
    assert_eq!(after["entitlementGroup"], before["entitlementGroup"]);
    let saved = audit_of(&sim, "tool_saved");
    assert_eq!(
        saved.last().unwrap()["data"]["changed"],
        json!(["guidance"])
    );
    // One entitlement group belongs to one tool.
    let code = err(
        &mut sim,
        "admin.catalog.upsert",
        json!({"id": "claude-team", "entitlementGroup": before["entitlementGroup"]}),
        ADMIN,
    );
    assert_eq!(code, "ENTITLEMENT_GROUP_IN_USE");
    // A connector id must name a connector.
    assert_eq!(
        err(
            &mut sim,
            "admin.catalog.upsert",
            json!({"id": "claude-team", "connectorId": "nope"}),
            ADMIN
        ),
        "TOOL_INVALID"
    );
    // Unbinding is explicit.
    let t = ok(
        &mut sim,
        "admin.catalog.upsert",
        json!({"id": "github-copilot", "connectorId": null}),
        ADMIN,
    );
    assert!(t["tool"].get("connectorId").is_none());
    ok(
        &mut sim,
        "admin.catalog.delete",
        json!({"id": "midjourney"}),
        ADMIN,
    );
    assert_eq!(audit_of(&sim, "tool_deleted").len(), 1);
    assert!(verify(&mut sim).ok);
}

// covers: CL-081, CL-084
#[test]
fn a_connector_whose_last_test_failed_cannot_be_enabled() {
    let mut sim = wasm();
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "name": "Okta", "type": "okta-group",
        "config": {"orgUrl": "https://acme.okta.com", "apiToken": OKTA_TOKEN}}),
        ADMIN,
    );
    // A wrong app secret: Core refuses the test.
    let secret = sim.state().env["ARDSAOR_CORE_APP_SECRET"].clone();
    sim.state_mut()
        .env
        .insert("ARDSAOR_CORE_APP_SECRET".into(), "wrong-secret".into());
    let t = ok(
        &mut sim,
        "admin.connectors.test",
        json!({"id": "okta"}),
        ADMIN,
    );
    assert_eq!(t["test"]["ok"], false, "{t}");
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.enable",
            json!({"id": "okta"}),
            ADMIN
        ),
        "CONNECTOR_TEST_FAILED"
    );
    assert_eq!(audit_of(&sim, "connector_enabled").len(), 0);
    // Fixed and tested again: it enables.
    sim.state_mut()
        .env
        .insert("ARDSAOR_CORE_APP_SECRET".into(), secret);
    let t = ok(
        &mut sim,
        "admin.connectors.test",
        json!({"id": "okta"}),
        ADMIN,
    );
    assert_eq!(t["test"]["ok"], true, "{t}");
    ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "okta"}),
        ADMIN,
    );
}

// covers: CL-059
#[test]
fn a_request_closed_in_jira_cannot_be_approved() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "002"]);
    for key in ["AIR-1", "AIR-2"] {
        let st = sim.state_mut();
        st.site
            .issues
            .iter_mut()
            .find(|i| i.key == key)
            .unwrap()
            .status = "5".into(); // Canceled
    }
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-2", "approve", ""),
        Err("ISSUE_CLOSED".into())
    );
    // The path's step is refused before it records anything.
    assert_eq!(
        decide(&mut sim, HELENA, "AIR-1", "approve", ""),
        Err("ISSUE_CLOSED".into())
    );
    let apr = route_of(&sim, "10100")["approvalId"].clone();
    let a = ok(
        &mut sim,
        "webapi.v2.approvals.get",
        json!({"id": apr}),
        ADMIN,
    );
    assert!(a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["decisions"].as_array().is_none_or(|d| d.is_empty())));
    // Denying a cancelled request is fine.
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-2", "deny", "withdrawn").unwrap()["outcome"],
        "denied"
    );
}

// covers: AP-010
#[test]
fn who_may_start_a_definition_is_the_definitions_rule() {
    let mut sim = wasm();
    let save = |sim: &mut Sim, starters: Value| {
        ok(sim, "admin.definitions.save", json!({"definition": {"name": format!("Note {starters}"),
            "starters": starters,
            "steps": [{"name": "Note", "type": "AUTOMATION", "comment": "hello", "parallelGroupNumber": 1}]}}), ADMIN)
            ["definition"]["id"]
            .clone()
    };
    let start = |sim: &mut Sim, def: &Value, who: &str| {
        let r = sim.resolve(
            "approvals.start",
            &json!({"definitionId": def, "issueKey": "AIR-12"}),
            Some(who),
        );
        match &r.outcome {
            RawOutcome::Ok(_) => "ok".to_string(),
            RawOutcome::Err(e) => e.code.clone(),
            other => panic!("{other:?}"),
        }
    };
    let admins_only = save(&mut sim, json!({}));
    assert_eq!(start(&mut sim, &admins_only, WEI), "START_NOT_ALLOWED");
    assert_eq!(start(&mut sim, &admins_only, ADMIN), "ok");
    let marketing = save(
        &mut sim,
        json!({"mode": "groups", "groups": ["engineering"]}),
    );
    assert_eq!(start(&mut sim, &marketing, WEI), "ok");
    assert_eq!(start(&mut sim, &marketing, CHLOE), "START_NOT_ALLOWED");
    let anyone = save(&mut sim, json!({"mode": "anyone"}));
    assert_eq!(start(&mut sim, &anyone, WEI), "ok");
    assert_eq!(
        err(
            &mut sim,
            "admin.definitions.save",
            json!({"definition": {"name": "Bad",
            "starters": {"mode": "groups", "groups": ["no-such-group"]},
            "steps": [{"name": "Note", "type": "AUTOMATION", "comment": "x", "parallelGroupNumber": 1}]}}),
            ADMIN
        ),
        "DEFINITION_INVALID"
    );
}

// covers: AP-060
#[test]
fn customer_endpoints_are_never_the_apps_own_service_hosts_or_a_templated_host() {
    let mut sim = wasm();
    for url in [
        "https://api.openai.com/v1/chat/completions",
        "https://API.Anthropic.com/v1/messages",
        "https://core.ardsaor.io/v1/groups",
    ] {
        assert_eq!(
            err(
                &mut sim,
                "admin.webhooks.create",
                json!({"url": url}),
                ADMIN
            ),
            "ENDPOINT_RESERVED",
            "{url}"
        );
    }
    for url in [
        "https://user:pw@hooks.ardsaor.io/x",
        "http://hooks.ardsaor.io/",
        "https://127.0.0.1/",
    ] {
        assert_eq!(
            err(
                &mut sim,
                "admin.webhooks.create",
                json!({"url": url}),
                ADMIN
            ),
            "WEBHOOK_URL_INVALID",
            "{url}"
        );
    }
    for url in [
        "https://{{ issue.key }}.ardsaor.io/x",
        "https://api.groq.com/openai/v1",
        "https://hooks.ardsaor.io{{ issue.key }}/",
    ] {
        let e = sim.resolve("admin.definitions.save", &json!({"definition": {"name": "Call out",
            "steps": [{"name": "Call", "type": "HTTP", "method": "POST", "url": url, "parallelGroupNumber": 1}]}}), Some(ADMIN));
        match &e.outcome {
            RawOutcome::Err(e) => assert_eq!(e.code, "DEFINITION_INVALID", "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
}

/// The guest reads a URL's host exactly as a WHATWG parser (the `url` crate, what Node's `fetch`
/// implements) does, or refuses it; host-sim's egress check uses that parser.
#[test]
fn the_guest_reads_url_hosts_the_whatwg_way() {
    let corpus = [
        "https://hooks.ardsaor.io/x",
        "https://evil.com\\@hooks.ardsaor.io/",
        "https://evil.com\\hooks.ardsaor.io/",
        "https:\\\\hooks.ardsaor.io\\x",
        "https:hooks.ardsaor.io/x",
        "https:////hooks.ardsaor.io/x",
        "HTTPS://HOOKS.ARDSAOR.IO:443/x",
        "https://hooks.ardsaor.io:8443/x",
        "https://hooks.ardsaor.io?@evil.com",
        "https://hooks.ardsaor.io#@evil.com",
        "https://hooks.ard\tsaor.io/",
        " https://hooks.ardsaor.io/ ",
        "https://a.b.c.ardsaor.io/p?q#f",
        "https://hooks.ardsaor.io.evil.com/",
    ];
    for u in corpus {
        let want = url::Url::parse(u)
            .ok()
            .and_then(|x| x.host_str().map(String::from));
        match aiclearance::weburl::parse(u) {
            Ok(got) => assert_eq!(Some(got.host.clone()), want, "{u}"),
            Err(e) => panic!("{u}: refused ({e}) but WHATWG reads {want:?}"),
        }
        assert_eq!(
            host_sim::emulator::url_host(u),
            want,
            "host-sim egress reads {u}"
        );
    }
    for refused in [
        "https://u@hooks.ardsaor.io/",
        "https://0x7f.1/",
        "https://[::1]/",
        "https://hooks.ardsaor.io./",
    ] {
        assert!(aiclearance::weburl::parse(refused).is_err(), "{refused}");
    }
}

/// Intake reads the whole issue once and hands it to the path routing starts (D-106): one Jira
/// call per routed ingest, conditions on fields intake does not use itself still see them, and
/// the app's own issue properties (the snapshot) stay out of the path's view.
// covers: AP-026
#[test]
fn a_routed_ingest_reads_the_issue_once_and_the_path_sees_every_field_but_no_properties() {
    let mut sim = wasm();
    let def = ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {"name": "Whole issue", "starters": {"mode": "anyone"}, "steps": [
            {"name": "Has a status", "type": "USER", "approvers": [PRIYA],
             "condition": {"id": "status", "expression": "issue.fields.status.name is string"}},
            {"name": "Sees properties", "type": "USER", "approvers": [PRIYA],
             "condition": {"id": "props", "expression": "issue.properties is defined"}},
            {"name": "Everyone", "type": "USER", "parallelGroupNumber": 2, "approvers": [DANIEL]}
        ]}}),
        ADMIN,
    )["definition"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"medium": {"approvalDefinitionId": def}}),
        ADMIN,
    );
    // AIR-1: ChatGPT Enterprise, medium risk.
    let rec = sim.deliver(&event("001")).unwrap();
    assert_eq!(outcome(&rec)["outcome"], "ingested");
    assert_eq!(
        rec.counts.service(host_sim::Service::Jira),
        1,
        "intake's read serves the path's start"
    );
    let route = route_of(&sim, "10100");
    assert_eq!(route["kind"], "path");
    assert_eq!(route["definitionId"], def.as_str());
    let a = ok(
        &mut sim,
        "webapi.v2.approvals.get",
        json!({"id": route["approvalId"]}),
        ADMIN,
    );
    let steps: Vec<&str> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["ACTIVE", "SKIPPED", "WAIT"], "{a}");
    assert_eq!(a["steps"][1]["conditionId"], "props");
}

/// Derek Hollis: a deactivated Jira account on the fixture site.
const DEREK: &str = "5e0e5a0ea42f613749d39487";

// Issue 30 item 3 (names people read are safe); no ledger line names it.
#[test]
fn names_shown_in_pickers_refuse_invisible_and_reordering_characters() {
    let mut sim = wasm();
    let rlo = "\u{202E}"; // right-to-left override: "Claude Team" can read as a harmless name
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "admin.catalog.upsert",
            json!({"id": "lookalike", "displayName": format!("Claude{rlo} Team"), "provider": "Anthropic",
                   "status": "approved", "riskLevel": "critical", "defaultExpiryDays": 7}),
            "displayName",
        ),
        (
            "admin.catalog.upsert",
            json!({"id": "lookalike", "displayName": "Claude Team", "provider": "Anthropic\u{200B}",
                   "status": "approved", "riskLevel": "critical", "defaultExpiryDays": 7}),
            "provider",
        ),
        (
            "admin.definitions.save",
            json!({"definition": {"id": "d-bidi", "name": "Security\u{2066} review",
                "steps": [{"name": "A", "type": "GROUP", "group": "ai-approvers"}], "starters": {"mode": "anyone"}}}),
            "name",
        ),
        (
            "admin.definitions.save",
            json!({"definition": {"id": "d-bidi", "name": "Fine",
                "steps": [{"name": "Approve\u{E0041}", "type": "GROUP", "group": "ai-approvers"}],
                "starters": {"mode": "anyone"}}}),
            "steps[0].name",
        ),
        (
            "admin.policies.save",
            json!({"id": "p-bidi", "name": "All tools\u{0007}", "projectKey": "AIR", "toolId": "github-copilot",
                   "autoApprove": true, "allowedGroups": ["engineering"], "maxDays": 30}),
            "name",
        ),
        (
            "admin.connectors.save",
            json!({"id": "c-bidi", "name": "Okta\u{FEFF}", "type": "manual"}),
            "name",
        ),
        (
            "admin.ai.templates.save",
            json!({"name": "Risk\u{2028}read", "body": "Assess {{ issue.key }}."}),
            "name",
        ),
    ];
    let before = sim.state().kvs.len();
    for (f, p, field) in cases {
        match &sim.resolve(f, &p, Some(ADMIN)).outcome {
            RawOutcome::Err(e) => {
                assert_eq!(e.code, "NAME_INVALID_CHARACTERS", "{f} {p}");
                assert_eq!(e.details.as_ref().unwrap()["field"], field, "{f}");
            }
            other => panic!("{f} {p} must be refused: {other:?}"),
        }
    }
    assert_eq!(sim.state().kvs.len(), before, "nothing was written");
    // Real names in any script pass.
    ok(
        &mut sim,
        "admin.catalog.upsert",
        json!({"id": "tongyi", "displayName": "通义千问 – Qwen Café 🚀", "provider": "Alibaba O'Cloud",
               "status": "approved", "riskLevel": "high", "defaultExpiryDays": 14}),
        ADMIN,
    );
}

// Issue 30 item 3 (exceptions name accounts Jira knows); no ledger line names it.
#[test]
fn an_exception_names_an_active_account_jira_knows() {
    let mut sim = wasm();
    let exc = |account: &str| {
        json!({"toolId": "cursor-business", "accountId": account, "maxDays": 60,
               "reason": "long migration", "validDays": 30})
    };
    let e = |sim: &mut Sim, account: &str| match &sim
        .resolve(
            "admin.governance.exceptions.create",
            &exc(account),
            Some(ADMIN),
        )
        .outcome
    {
        RawOutcome::Err(e) => (e.code.clone(), e.details.clone().unwrap()["field"].clone()),
        other => panic!("{account}: {other:?}"),
    };
    assert_eq!(
        e(&mut sim, "5b10ac8d82e05b22cc7d4ef5"),
        ("ACCOUNT_UNKNOWN".to_string(), json!("accountId"))
    );
    assert_eq!(
        e(&mut sim, DEREK),
        ("ACCOUNT_INACTIVE".to_string(), json!("accountId"))
    );
    assert_eq!(count_prefix(&sim, "governance-exception:"), 0);
    ok(
        &mut sim,
        "admin.governance.exceptions.create",
        exc(WEI),
        ADMIN,
    );
    assert_eq!(count_prefix(&sim, "governance-exception:"), 1);
}

// ---- issue 30: every door reaches the kernel --------------------------------------------------

const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4"; // ai-approvers
const LAURA: &str = "712020:d7e80c80-d3f2-5fa3-8081-794445b993cf"; // a JSM customer

fn approval(sim: &mut Sim, id: &Value) -> Value {
    kvs_value(sim, &format!("approval:{}", id.as_str().unwrap())).unwrap()
}

/// Rewriting the definition governance names changes nothing until governance is saved again
/// (which is an audited governance version); the rewrite itself is audited.
// covers: CL-030, CL-035
#[test]
fn rewriting_the_definition_governance_names_changes_nothing_until_governance_adopts_it() {
    let mut sim = wasm();
    let before = ok(
        &mut sim,
        "admin.definitions.get",
        json!({"id": "security-review"}),
        ADMIN,
    )["definition"]
        .clone();
    ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {"id": "security-review", "name": "Security review",
            "steps": [{"name": "Anyone", "type": "GROUP", "group": "all-employees"}]}}),
        ADMIN,
    );
    assert!(
        audit_of(&sim, "config_changed")
            .iter()
            .any(|e| e["actor"] == ADMIN && e.to_string().contains("security-review")),
        "the rewrite is audited"
    );
    let (_, id) = file_request(&mut sim, CHLOE, "cursor-business", 7); // high risk
    let route = route_of(&sim, &id);
    assert_eq!(route["definitionVersion"], before["version"], "{route}");
    let a = approval(&mut sim, &route["approvalId"]);
    assert_eq!(
        a["steps"].as_array().unwrap().len(),
        before["steps"].as_array().unwrap().len(),
        "the pinned version runs, not the rewrite"
    );
    // Saving governance adopts the current version, as a new governance version.
    let g = ok(&mut sim, "admin.governance.save", json!({}), ADMIN)["governance"].clone();
    assert_eq!(
        g["definitionVersions"]["security-review"],
        before["version"].as_u64().unwrap() + 1
    );
    let (_, id2) = file_request(&mut sim, WEI, "cursor-business", 7);
    assert_eq!(route_of(&sim, &id2)["governanceVersion"], g["version"]);
}

/// Two steps of a governance path need two people (the definition would have to opt out), and
/// the decision's audit entry names the rule: the path and who approved; a group member's direct
/// decision names the group and its id.
// covers: CL-037, CL-060, CL-144
#[test]
fn a_governance_path_needs_distinct_people_and_each_rule_is_audited() {
    let mut sim = wasm();
    let (key, id) = file_request(&mut sim, CHLOE, "chatgpt-enterprise", 14); // medium: Standard path
    let apr = route_of(&sim, &id)["approvalId"].clone();
    let a = approval(&mut sim, &apr);
    let humans: Vec<String> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "USER" || s["type"] == "GROUP")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(humans.len(), 2);
    step(&mut sim, PRIYA, &apr, &humans[0], "approve", "").unwrap();
    // Priya is also in ai-approvers: the second step is not hers to pass.
    assert_eq!(
        step(&mut sim, PRIYA, &apr, &humans[1], "approve", ""),
        Err("DECIDER_NOT_DISTINCT".into())
    );
    step(&mut sim, DANIEL, &apr, &humans[1], "approve", "").unwrap();
    assert_eq!(request(&sim, &id)["decision"], "approved");
    let e = audit_of(&sim, "request_approved")
        .into_iter()
        .find(|e| e["issueKey"] == key)
        .unwrap();
    assert_eq!(e["data"]["rule"]["rule"], "path");
    assert_eq!(e["data"]["rule"]["approvers"], json!([PRIYA, DANIEL]));
    // A direct decision by a group member: the group by name and id.
    let (key, _) = file_request(&mut sim, CHLOE, "github-copilot", 7); // low: direct
    decide(&mut sim, MARCUS, &key, "approve", "").unwrap();
    let e = audit_of(&sim, "request_approved")
        .into_iter()
        .find(|e| e["issueKey"] == key)
        .unwrap();
    assert_eq!(e["data"]["rule"]["rule"], "approverGroup", "{e}");
    assert_eq!(e["data"]["rule"]["group"], "ai-approvers");
    assert!(e["data"]["rule"]["groupId"].as_str().unwrap().len() > 8);
}

/// Nobody attests their own provisioning or reviews an exception that is for them.
// covers: CL-060, CL-064
#[test]
fn nobody_attests_their_own_provisioning_or_reviews_their_own_exception() {
    let mut sim = wasm();
    let (key, id) = file_request(&mut sim, DANIEL, "github-copilot", 7); // low, direct, manual
    decide(&mut sim, MARCUS, &key, "approve", "").unwrap();
    let job = format!("g-{id}.provision.1");
    let done = |sim: &mut Sim, who: &str| {
        sim.resolve(
            "clearance.jobs.complete",
            &json!({"jobId": job, "action": "fulfilled"}),
            Some(who),
        )
    };
    assert_eq!(
        done(&mut sim, DANIEL).error_code(),
        Some("SELF_ATTESTATION_FORBIDDEN")
    );
    assert_eq!(
        sim.resolve(
            "admin.jobs.complete",
            &json!({"jobId": job, "action": "fulfilled"}),
            Some(TOMAS)
        )
        .ok()
        .map(|_| ()),
        Some(())
    );
    // An exception for Tomás: he cannot review it, and neither can Ada, who wrote it.
    let ex = ok(
        &mut sim,
        "admin.governance.exceptions.create",
        json!({"toolId": "cursor-business", "accountId": TOMAS, "reason": "pilot",
               "maxDays": 60, "validDays": 30}),
        ADMIN,
    )["exception"]["id"]
        .clone();
    assert_eq!(
        err(
            &mut sim,
            "admin.governance.exceptions.review",
            json!({"id": ex}),
            TOMAS
        ),
        "SELF_REVIEW_FORBIDDEN"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.governance.exceptions.review",
            json!({"id": ex}),
            ADMIN
        ),
        "SELF_REVIEW"
    );
}

/// A deactivated Jira account is never granted access, and what an account holds when Jira
/// deactivates it is revoked by the daily pass, as the app, audited.
// covers: CL-060, CL-077
#[test]
fn deactivated_accounts_get_no_access_and_lose_what_they_hold() {
    let mut sim = wasm();
    let (key, _) = file_request(&mut sim, DEREK, "github-copilot", 7);
    assert_eq!(
        decide(&mut sim, MARCUS, &key, "approve", ""),
        Err("ACCOUNT_INACTIVE".into())
    );
    let (key, id) = file_request(&mut sim, CHLOE, "github-copilot", 7);
    decide(&mut sim, MARCUS, &key, "approve", "").unwrap();
    let grant = format!("g-{id}");
    sim.state_mut()
        .site
        .users
        .iter_mut()
        .find(|u| u.account_id == CHLOE)
        .unwrap()
        .active = false;
    sim.advance(25 * 3_600_000);
    let g = kvs_value(&sim, &format!("access-grant:{grant}")).unwrap();
    assert_eq!(g["status"], "revoked");
    assert_eq!(g["revokedBy"], "app");
    let e = audit_of(&sim, "grant_revoked").pop().unwrap();
    assert_eq!(e["subject"]["grantId"], grant);
    assert!(e.to_string().contains("deactivated"), "{e}");
}

/// A JSM customer learns nothing from the decide door: the same answer for an existing request
/// and for a key that is no request at all.
// covers: CL-200
#[test]
fn the_decide_door_is_no_oracle_for_which_issues_are_requests() {
    let mut sim = wasm();
    deliver(&mut sim, &["001"]);
    for key in ["AIR-1", "AIR-9999", "SUP-1"] {
        assert_eq!(
            decide(&mut sim, LAURA, key, "approve", ""),
            Err("NOT_APPROVER".into()),
            "{key}"
        );
    }
}

/// The issue panel's step door applies the Approvals tab's rules: a closed issue is refused before
/// the step records anything, and decisions share one rate limit.
// covers: CL-060, CL-204
#[test]
fn the_issue_panel_door_meets_the_tab_checks_and_limits() {
    let mut sim = wasm();
    let (key, id) = file_request(&mut sim, CHLOE, "cursor-business", 7); // Security review
    let apr = route_of(&sim, &id)["approvalId"].clone();
    let s1 = approval(&mut sim, &apr)["steps"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let issue = sim
        .state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == key)
        .unwrap();
    issue.status = "5".into(); // Canceled (statusCategory done)
    assert_eq!(
        step(&mut sim, SOFIA, &apr, &s1, "approve", ""),
        Err("ISSUE_CLOSED".into())
    );
    assert!(approval(&mut sim, &apr)["steps"][0]["decisions"]
        .as_array()
        .unwrap()
        .is_empty());
    let mut limited = false;
    for _ in 0..35 {
        if step(&mut sim, SOFIA, &apr, &s1, "approve", "") == Err("DECISION_RATE_LIMITED".into()) {
            limited = true;
            break;
        }
    }
    assert!(
        limited,
        "the panel's decisions are rate-limited like the tab's"
    );
}

/// An all-tools auto-approval policy does not approve a high-risk tool unless governance allows
/// approval without a person at that level (an audited governance change); then it does, and the
/// entry names the policy.
// covers: CL-040, CL-041, CL-047
#[test]
fn auto_approval_applies_only_where_governance_allows_it_for_the_risk_level() {
    let mut sim = wasm();
    ok(
        &mut sim,
        "admin.policies.save",
        json!({"id": "everything", "name": "Everything", "projectKey": "AIR", "autoApprove": true,
               "allowedGroups": ["all-employees"], "maxDays": 180}),
        ADMIN,
    );
    let (_, id) = file_request(&mut sim, CHLOE, "cursor-business", 7);
    let r = request(&sim, &id);
    assert_eq!(r["decision"], "pending");
    assert_eq!(r["route"]["kind"], "path");
    assert_eq!(
        r["route"]["autoApproval"]["reason"],
        "AUTO_APPROVAL_NOT_ALLOWED"
    );
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"autoApproval": {"high": true}}),
        ADMIN,
    );
    let (key, id) = file_request(&mut sim, WEI, "cursor-business", 7);
    assert_eq!(request(&sim, &id)["decision"], "approved");
    let e = audit_of(&sim, "request_approved")
        .into_iter()
        .find(|e| e["issueKey"] == key)
        .unwrap();
    assert_eq!(e["data"]["rule"]["rule"], "autoPolicy");
    assert_eq!(e["data"]["rule"]["policyId"], "everything");
}
