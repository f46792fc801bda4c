//! What the screens need from the resolvers, decided on the server: who may decide which step
//! (the same rules `approvals.decide` enforces), people's display names, the AI teaser card and
//! failure guidance parsed server-side, and admin lists and exports that refuse bad input before
//! it costs anything.

mod common;

use common::*;
use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use serde_json::{json, Value};

const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0";
const HELENA: &str = "5c41318d11064151843f092c";

/// The default site with its whole scenario replayed (what `host-sim serve` opens on).
fn scenario_site() -> Sim {
    let mut sim = Sim::from_site(&site_dir(), &default_manifest(), EngineKind::Wasm, 42).unwrap();
    let steps = scenario::load(&site_dir()).unwrap();
    let mut t = String::new();
    scenario::run(&mut sim, &steps, &mut t).unwrap();
    sim
}

fn step<'a>(a: &'a Value, name: &str) -> &'a Value {
    a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {a}"))
}

#[test]
fn for_issue_says_who_may_decide_by_the_rules_decide_enforces() {
    let mut sim = scenario_site();
    // AIR-3's AI-assisted path waits on "Security lead", whose only approver is Priya.
    let as_priya = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        PRIYA,
    );
    let ai = as_priya["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "AI-assisted access")
        .unwrap()
        .clone();
    let lead = step(&ai, "Security lead");
    assert_eq!(lead["status"], "ACTIVE");
    let id = lead["id"].as_str().unwrap();
    assert_eq!(
        ai["viewer"]["decidable"][id]["as"], "approver",
        "{}",
        ai["viewer"]
    );
    assert_eq!(ai["viewer"]["mayRerun"], false);
    // Someone who is neither approver nor admin gets no decidable steps, and decide agrees.
    let as_helena = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        HELENA,
    );
    for a in as_helena["approvals"].as_array().unwrap() {
        assert_eq!(a["viewer"]["decidable"], json!({}), "{}", a["name"]);
    }
    assert_eq!(
        err(
            &mut sim,
            "approvals.decide",
            json!({"approvalId": ai["id"], "stepId": id, "decision": "approve"}),
            HELENA
        ),
        "NOT_AN_APPROVER"
    );
    // An admin may decide, and is told it is as admin (an override).
    let as_admin = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        ADMIN,
    );
    let ai_admin = as_admin["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "AI-assisted access")
        .unwrap();
    assert_eq!(ai_admin["viewer"]["decidable"][id]["as"], "admin");
    assert_eq!(ai_admin["viewer"]["mayRerun"], true);
    // After Priya decides, the step is no longer hers to decide.
    ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": ai["id"], "stepId": id, "decision": "approve", "comment": "ok"}),
        PRIYA,
    );
    let again = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        PRIYA,
    );
    let ai = again["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "AI-assisted access")
        .unwrap();
    assert!(ai["viewer"]["decidable"].get(id).is_none());
    // The originator (Jonas started it) may re-run.
    let as_jonas = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        JONAS,
    );
    let ai = as_jonas["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "AI-assisted access")
        .unwrap();
    assert_eq!(
        (
            ai["viewer"]["isOriginator"].clone(),
            ai["viewer"]["mayRerun"].clone()
        ),
        (json!(true), json!(true))
    );
}

#[test]
fn for_issue_names_people_and_parses_the_prompt_teaser() {
    let mut sim = scenario_site();
    let v = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        PRIYA,
    );
    assert_eq!(v["people"][PRIYA], "Priya Raman");
    assert_eq!(
        v["people"][JONAS], "Jonas Lindqvist",
        "the originator is named"
    );
    let ai = v["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "AI-assisted access")
        .unwrap();
    let read = step(ai, "Risk read");
    assert_eq!(read["status"], "SUCCESS");
    let card = &read["teaserCard"];
    // The same parse ai.execution gives the dialog.
    let exec = ok(
        &mut sim,
        "ai.execution",
        json!({"approvalId": ai["id"], "stepId": read["id"]}),
        PRIYA,
    );
    assert_eq!(card["lozenge"], exec["parsed"]["lozenge"], "{card}");
    assert_eq!(card["confidence"], exec["parsed"]["confidence"]);
    assert_eq!(card["teaser"], exec["parsed"]["teaser"]);
    assert_eq!(card["analysisPerformed"], true);
    // The public web API keeps its documented shape (AP-240): no screen-only fields.
    let web = ok(
        &mut sim,
        "webapi.v2.approvals.get",
        json!({"id": ai["id"]}),
        PRIYA,
    );
    let text = web.to_string();
    for k in ["teaserCard", "\"viewer\"", "\"people\""] {
        assert!(!text.contains(k), "{k} leaked into the web API");
    }
}

#[test]
fn the_approvals_tab_and_admin_lists_name_people() {
    let mut sim = scenario_site();
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), PRIYA);
    for m in tab["manualActions"].as_array().unwrap() {
        let id = m["accountId"].as_str().unwrap();
        assert!(
            tab["people"][id].is_string(),
            "no name for {id}: {}",
            tab["people"]
        );
    }
    let list = ok(
        &mut sim,
        "admin.requests.list",
        json!({"category": "approved"}),
        ADMIN,
    );
    assert!(!list["items"].as_array().unwrap().is_empty());
    for r in list["items"].as_array().unwrap() {
        let id = r["requesterAccountId"].as_str().unwrap();
        let want = sim.state().site.user(id).unwrap().display_name.clone();
        assert_eq!(list["people"][id], json!(want));
    }
    let ins = ok(&mut sim, "admin.insights", json!({}), ADMIN);
    for p in ins["people"]["topRequesters"].as_array().unwrap() {
        let id = p["accountId"].as_str().unwrap();
        assert!(
            ins["names"][id].is_string(),
            "no name for top requester {id}"
        );
    }
}

#[test]
fn a_refused_export_does_not_use_up_the_export_allowance() {
    let mut sim = scenario_site();
    for _ in 0..7 {
        assert_eq!(
            err(
                &mut sim,
                "admin.exports.requests",
                json!({"from": "2025-01-01T00:00:00Z", "to": "2026-11-17T00:00:00Z"}),
                ADMIN
            ),
            "EXPORT_RANGE_TOO_LONG"
        );
    }
    let v = ok(
        &mut sim,
        "admin.exports.requests",
        json!({"format": "csv"}),
        ADMIN,
    );
    assert!(v.to_string().contains("AIR-1"), "{v}");
}

#[test]
fn audit_search_filters_by_time_window() {
    let mut sim = scenario_site();
    // Newest first, so ask for enough to reach the first day (D-52).
    let all = ok(&mut sim, "admin.audit.search", json!({"limit": 200}), ADMIN);
    let items = all["items"].as_array().unwrap();
    assert!(items.len() > 3);
    // The first day of the scenario only.
    let day = ok(
        &mut sim,
        "admin.audit.search",
        json!({"from": "2026-11-02", "to": "2026-11-02", "limit": 200}),
        ADMIN,
    );
    let got = day["items"].as_array().unwrap();
    assert!(
        !got.is_empty() && got.len() < items.len(),
        "{} of {}",
        got.len(),
        items.len()
    );
    assert!(
        got.iter()
            .all(|e| e["at"].as_str().unwrap().starts_with("2026-11-02")),
        "{day}"
    );
    let want = items
        .iter()
        .filter(|e| e["at"].as_str().unwrap().starts_with("2026-11-02"))
        .count();
    assert_eq!(got.len(), want);
    match &sim
        .resolve(
            "admin.audit.search",
            &json!({"from": "last tuesday"}),
            Some(ADMIN),
        )
        .outcome
    {
        RawOutcome::Err(e) => assert_eq!(e.code, "DATE_INVALID"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn intake_pickers_read_portals_request_types_groups_and_people_from_jira() {
    let mut sim = scenario_site();
    let o = ok(&mut sim, "admin.intake.options", json!({}), ADMIN);
    let air = o["portals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["projectKey"] == "AIR")
        .unwrap();
    assert_eq!(air["portalId"], 1);
    let types: Vec<(String, String)> = air["requestTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().into(),
                t["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        types.contains(&("12".into(), "Request AI tool access".into())),
        "{types:?}"
    );
    assert!(o["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "ai-approvers"));
    let narrowed = ok(
        &mut sim,
        "admin.intake.options",
        json!({"groupQuery": "secur"}),
        ADMIN,
    );
    let names: Vec<&str> = narrowed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["security-reviewers"]);
    let found = ok(
        &mut sim,
        "admin.people.search",
        json!({"query": "priya"}),
        ADMIN,
    );
    assert_eq!(
        found["people"],
        json!([{"accountId": PRIYA, "displayName": "Priya Raman"}])
    );
    // Customers are not approvers: the picker leaves them out.
    let customers = ok(
        &mut sim,
        "admin.people.search",
        json!({"query": "laura"}),
        ADMIN,
    );
    assert_eq!(customers["people"], json!([]));
    assert_eq!(
        err(
            &mut sim,
            "admin.people.search",
            json!({"query": "p"}),
            ADMIN
        ),
        "QUERY_TOO_SHORT"
    );
    // Admin only.
    assert_eq!(
        err(&mut sim, "admin.intake.options", json!({}), PRIYA),
        "ADMIN_REQUIRED"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.people.search",
            json!({"query": "priya"}),
            JONAS
        ),
        "ADMIN_REQUIRED"
    );
}

// Issue 33 item 1 (D-181, D-182): the people picker's search is bounded and typed, and the admin
// lists that name people carry their display names.
#[test]
fn the_people_picker_search_is_bounded_and_lists_name_people() {
    let mut sim = wasm();
    for bad in [json!({"query": "x".repeat(101)}), json!({"query": 42})] {
        assert_eq!(
            err(&mut sim, "admin.people.search", bad, ADMIN),
            "QUERY_INVALID"
        );
    }
    let edge = ok(
        &mut sim,
        "admin.people.search",
        json!({"query": "x".repeat(100)}),
        ADMIN,
    );
    assert_eq!(edge["people"], json!([]));
    // Every employee's email is @acme.example: Jira answers 20, the picker lists 10 people.
    let many = ok(
        &mut sim,
        "admin.people.search",
        json!({"query": "acme"}),
        ADMIN,
    );
    let people = many["people"].as_array().unwrap();
    assert_eq!(people.len(), 10, "{many}");
    for p in people {
        assert!(
            p["accountId"].is_string() && p["displayName"].is_string(),
            "{p}"
        );
        assert!(p.get("emailAddress").is_none(), "no emails: {p}");
    }
    let mut t = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "deepseek-chat"}),
        ADMIN,
    )["tool"]
        .clone();
    t["status"] = json!("approved");
    ok(&mut sim, "admin.catalog.upsert", t, ADMIN);
    ok(
        &mut sim,
        "admin.governance.exceptions.create",
        json!({"toolId": "deepseek-chat", "accountId": PRIYA, "maxDays": 60, "reason": "Benchmark study", "validDays": 10}),
        ADMIN,
    );
    let list = ok(
        &mut sim,
        "admin.governance.exceptions.list",
        json!({}),
        ADMIN,
    );
    assert_eq!(list["people"][PRIYA], "Priya Raman", "{list}");
    assert_eq!(list["people"][ADMIN], "Ada Okafor", "{list}");
}

// covers: CL-050, CL-059, CL-168
#[test]
fn approvals_tab_rows_carry_the_facts_an_approver_decides_on() {
    // Issue 33 item 3: each pending row has its justification, risk level, route (the path's
    // name on a path row), requested vs governance's longest grant for that risk, and whether
    // the requester already holds open access to the tool; from one batch read per page.
    // The scenario up to Marcus opening the Approvals tab: AIR-1 waits on Standard AI access,
    // AIR-27 is Jonas's second Copilot request while his AIR-7 grant is open.
    let mut sim = Sim::from_site(&site_dir(), &default_manifest(), EngineKind::Wasm, 42).unwrap();
    let steps = scenario::load(&site_dir()).unwrap();
    let at = steps
        .iter()
        .position(|s| {
            matches!(s, scenario::Step::Invoke { function, .. } if function == "clearance.approvals.tab")
        })
        .expect("the scenario opens the Approvals tab");
    let mut t = String::new();
    scenario::run(&mut sim, &steps[..at], &mut t).unwrap();
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    let rows = tab["pending"].as_array().unwrap().clone();
    let gov = kvs_value(&sim, "governance-policy").expect("the scenario saves governance");
    let request_of = |sim: &Sim, key: &str| {
        let id = kvs_value(sim, &format!("request-by-issue-key:{key}")).unwrap();
        (
            id.as_str().unwrap().to_string(),
            kvs_value(sim, &format!("request:{}", id.as_str().unwrap())).unwrap(),
        )
    };
    let (mut saw_path, mut saw_held) = (false, false);
    for r in &rows {
        let key = r["issueKey"].as_str().unwrap();
        let (_, req) = request_of(&sim, key);
        let risk = req["tool"]["riskLevel"].as_str().unwrap_or("high");
        assert_eq!(r["riskLevel"], json!(risk), "{r}");
        let max = gov[risk]["maxDays"].as_u64().unwrap().min(180);
        assert_eq!(
            r["maxDays"],
            json!(max),
            "{key}: governance's max for {risk}"
        );
        assert_eq!(r["durationDays"], req["durationDays"]);
        let tool = req["tool"]["id"]
            .as_str()
            .map(String::from)
            .unwrap_or_default();
        let held = kvs_value(
            &sim,
            &format!(
                "access-grant-open:{}:{tool}",
                req["requesterAccountId"].as_str().unwrap()
            ),
        )
        .is_some();
        assert_eq!(r["openGrantForTool"], json!(held), "{key}");
        saw_held |= held;
        match req["justification"].as_str() {
            Some(j) if !j.trim().is_empty() => assert_eq!(r["justification"], json!(j.trim())),
            _ => assert!(r["justification"].is_null()),
        }
        if r["route"] == "path" {
            saw_path = true;
            let a = kvs_value(
                &sim,
                &format!("approval:{}", r["approvalId"].as_str().unwrap()),
            )
            .unwrap();
            assert_eq!(r["pathName"], a["definitionName"], "{r}");
            assert!(r["pathName"].is_string());
        } else {
            assert!(r["pathName"].is_null(), "{r}");
        }
    }
    assert!(saw_path, "a request on an approval path: {tab}");
    assert!(
        saw_held,
        "AIR-27: Jonas already holds Copilot (his AIR-7 grant): {tab}"
    );
    let air27 = rows.iter().find(|r| r["issueKey"] == "AIR-27").unwrap();
    assert_eq!(air27["openGrantForTool"], json!(true));

    // A justification longer than the row shows is cut to 300 characters with an ellipsis.
    let k = rows[0]["issueKey"].as_str().unwrap().to_string();
    let (rid, mut stored) = request_of(&sim, &k);
    let long = "because ".repeat(60);
    stored["justification"] = json!(long);
    sim.state_mut()
        .kvs
        .get_mut(&format!("request:{rid}"))
        .unwrap()
        .value = stored.to_string();
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    let row = tab["pending"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["issueKey"] == json!(k))
        .unwrap();
    let j = row["justification"].as_str().unwrap();
    assert!(j.chars().count() <= 300, "{j}");
    assert!(
        j.ends_with('…') && long.starts_with(j.trim_end_matches('…')),
        "{j}"
    );
}

// covers: CL-168
#[test]
fn an_approvals_row_carries_its_paths_ai_read_verdict() {
    // Issue 33 item 3: a path row whose approval ran an AI read (a PROMPT step that succeeded)
    // carries its verdict chip, parsed as the issue panel parses it (no extra read: the tab
    // already reads the row's approval). AIR-3's "Risk read" from the whole scenario is put on
    // AIR-1's pending path.
    let mut full = scenario_site();
    let v = ok(
        &mut full,
        "approvals.forIssue",
        json!({"issueKey": "AIR-3"}),
        PRIYA,
    );
    let ai = v["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "AI-assisted access")
        .unwrap()
        .clone();
    let card = step(&ai, "Risk read")["teaserCard"].clone();
    assert!(card["lozenge"].is_object(), "{card}");
    let stored = kvs_value(&full, &format!("approval:{}", ai["id"].as_str().unwrap())).unwrap();
    let read = stored["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Risk read")
        .unwrap()
        .clone();

    let mut sim = Sim::from_site(&site_dir(), &default_manifest(), EngineKind::Wasm, 42).unwrap();
    let steps = scenario::load(&site_dir()).unwrap();
    let at = steps
        .iter()
        .position(|s| {
            matches!(s, scenario::Step::Invoke { function, .. } if function == "clearance.approvals.tab")
        })
        .unwrap();
    let mut t = String::new();
    scenario::run(&mut sim, &steps[..at], &mut t).unwrap();
    let before = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    let row = |tab: &Value| {
        tab["pending"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["issueKey"] == "AIR-1")
            .unwrap()
            .clone()
    };
    let air1 = row(&before);
    assert!(
        air1["aiRead"].is_null(),
        "no AI read ran on AIR-1's path yet"
    );
    let key = format!("approval:{}", air1["approvalId"].as_str().unwrap());
    let mut a = kvs_value(&sim, &key).unwrap();
    a["steps"].as_array_mut().unwrap().push(read);
    sim.state_mut().kvs.get_mut(&key).unwrap().value = a.to_string();
    let after = row(&ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS));
    assert_eq!(after["aiRead"]["step"], "Risk read", "{after}");
    assert_eq!(after["aiRead"]["lozenge"], card["lozenge"]);
    assert_eq!(after["aiRead"]["confidence"], card["confidence"]);
    assert_eq!(after["aiRead"]["analysisPerformed"], true);
}

// covers: CL-053
#[test]
fn the_paths_decision_comment_names_decisions_in_words_and_no_none() {
    // Issue 33 item 7: the scenario's "Record decision" comment on AIR-1 reads the decided steps
    // in words (approval.steps[].decisionText), not "APPROVED" / "REJECTED", and leaves out the
    // steps nobody decides (no "Record decision None").
    let sim = scenario_site();
    let comments = issue_comments(&sim, "AIR-1");
    let c = comments
        .iter()
        .find(|c| c.contains("Standard AI access decided:"))
        .unwrap_or_else(|| panic!("{comments:?}"));
    assert!(c.contains("Team lead approved"), "{c}");
    assert!(c.contains("AI approvers approved"), "{c}");
    for bad in ["APPROVED", "REJECTED", "None", "null", "Record decision"] {
        assert!(!c.contains(bad), "{bad:?} in {c}");
    }
}
