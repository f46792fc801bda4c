//! Insights that know about data (issue 35 item 6): requests and open grants by declared data
//! class and tool, folded into the bounded monthly rollups (never a scan of the requests), and
//! the grants approved before their tool's data profile weakened, with a recertification an
//! admin asks for once: the daily recertification's review issue, audited, never for the
//! admin's own grant, bounded per call.

mod common;

use common::*;
use host_sim::emulator::SimState;
use host_sim::manifest::Manifest;
use host_sim::runtime::RawOutcome;
use host_sim::sim::{default_component, default_manifest, make_engine, EngineKind, Sim};
use host_sim::site::Site;
use serde_json::{json, Value};

const AISHA: &str = "712020:89984cad-7859-5ca0-9ed3-b961974cf056"; // engineering

fn native() -> Sim {
    setup(EngineKind::Native)
}

/// A portal request for GitHub Copilot by `who` declaring `classes`; returns the issue id.
fn file(sim: &mut Sim, who: &str, classes: &[&str]) -> String {
    let mut snap = json!({"toolId": "github-copilot", "newTool": null, "durationDays": 30,
                          "portalId": 1, "requestTypeId": 12});
    if !classes.is_empty() {
        snap["dataClasses"] = json!(classes);
        snap["purpose"] = json!("Runbook scripts");
    }
    portal_file(sim, who, "Copilot for on-call tooling", &snap).1
}

/// Copilot's data profile as an admin records it.
fn profile(sim: &mut Sim, trains: &str, agreement: bool, classes: &[&str]) -> Value {
    ok(
        sim,
        "admin.catalog.upsert",
        json!({"id": "github-copilot", "dataProfile": {
            "approvedClasses": classes,
            "vendorTerms": {"trainsOnInputs": trains, "dataResidency": "US",
                            "enterpriseAgreement": agreement, "verify": false}}}),
        ADMIN,
    )
}

const COPILOT_CLASSES: [&str; 3] = ["public", "internal", "source-code"];

fn insights(sim: &mut Sim) -> Value {
    scheduled(sim, "daily-maintenance");
    ok(sim, "admin.insights", json!({"months": 12}), ADMIN)
}

// covers: CL-185, CL-186
#[test]
fn insights_count_the_open_grants_requests_lists_before_the_nights_run() {
    // Issue 33 item 5: Insights said "1 awaiting provisioning" while Requests listed 2, because
    // a grant reopened after the daily run. Insights now folds the newer entries in for its
    // answer (without writing), so both count the same grants at the same moment.
    let mut sim = native();
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    let before = insights(&mut sim);
    let waiting = |v: &Value| v["activeAccess"]["pendingProvision"].as_i64().unwrap();
    let jonas = file(&mut sim, JONAS, &["internal"]); // auto-approved: awaiting provisioning
    assert_eq!(
        kvs_value(&sim, &format!("access-grant:g-{jonas}")).unwrap()["status"],
        "pendingProvision"
    );
    // No daily run since: the stored rollups do not know the grant yet.
    let now = ok(&mut sim, "admin.insights", json!({"months": 12}), ADMIN);
    let listed = ok(
        &mut sim,
        "admin.requests.list",
        json!({"category": "pendingProvision"}),
        ADMIN,
    );
    let rows = listed["items"].as_array().unwrap().len() as i64;
    assert_eq!(waiting(&now), rows, "{}", now["activeAccess"]);
    assert_eq!(waiting(&now), waiting(&before) + 1);
    assert_eq!(now["caughtUp"], true);
    assert!(now["throughSeq"].as_u64() > before["throughSeq"].as_u64());
    // Read-only: the stored head still stops where the night's run left it.
    assert_eq!(
        kvs_value(&sim, "analytics-rollups").unwrap()["lastSeq"],
        before["throughSeq"]
    );
    // The night's run then stores what the screen already showed.
    assert_eq!(waiting(&insights(&mut sim)), waiting(&now));
}

// covers: CL-137, CL-185, CL-186
#[test]
fn requests_and_open_grants_count_by_declared_class_and_tool() {
    let mut sim = native();
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    // Jonas declares two classes (auto-approved by the engineering policy); Wei's AIR-2 declares
    // none (an old snapshot: "undeclared"), decided by Marcus.
    let jonas = file(&mut sim, JONAS, &["source-code", "internal"]);
    let v = insights(&mut sim);
    let by = &v["byDataClass"];
    assert_eq!(
        by["requests"],
        json!({"internal": {"github-copilot": 1}, "source-code": {"github-copilot": 1}}),
        "{by}"
    );
    assert_eq!(
        by["openGrants"],
        json!({"internal": {"github-copilot": 1}, "source-code": {"github-copilot": 1}})
    );
    // A new installation counts its grants from the first entry.
    assert_eq!(by["grantsCountedSince"], Value::Null);

    approve_air2(&mut sim);
    let v = insights(&mut sim);
    assert_eq!(
        v["byDataClass"]["requests"]["undeclared"],
        json!({"github-copilot": 1})
    );
    assert_eq!(
        v["byDataClass"]["openGrants"]["undeclared"],
        json!({"github-copilot": 1})
    );

    // Jonas's grant ends: it leaves the class table; the months keep the requests.
    ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": format!("g-{jonas}"), "reason": "left the team"}),
        ADMIN,
    );
    sim.settle();
    let v = insights(&mut sim);
    assert_eq!(
        v["byDataClass"]["openGrants"],
        json!({"undeclared": {"github-copilot": 1}}),
        "{v}"
    );
    assert_eq!(
        v["byDataClass"]["requests"]["source-code"],
        json!({"github-copilot": 1})
    );
    // The class table lives in the bounded records: the month and the head, nowhere else.
    let month = &aiclearance::time::day(sim.state().clock_ms)[..7];
    let m = kvs_value(&sim, &format!("analytics-month:{month}")).unwrap();
    assert_eq!(m["byClassTool"]["internal"]["github-copilot"], 1, "{m}");
    let head = kvs_value(&sim, "analytics-rollups").unwrap();
    assert_eq!(head["classGrantsSince"], "");
}

// covers: CL-137, CL-186
#[test]
fn an_installation_upgraded_mid_life_counts_grants_decided_from_then_on() {
    let mut sim = native();
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    let jonas = file(&mut sim, JONAS, &["source-code"]);
    scheduled(&mut sim, "daily-maintenance");
    // The head as the runner wrote it before classes were counted.
    let mut head = kvs_value(&sim, "analytics-rollups").unwrap();
    let obj = head.as_object_mut().unwrap();
    obj.remove("classGrantsSince");
    obj.remove("openGrantsByClassTool");
    sim.state_mut()
        .kvs
        .get_mut("analytics-rollups")
        .unwrap()
        .value = head.to_string();
    sim.advance(60_000);
    let v = insights(&mut sim);
    assert!(v["byDataClass"]["grantsCountedSince"].is_string(), "{v}");
    assert_eq!(v["byDataClass"]["openGrants"], json!({}));
    // Jonas's grant (decided before counting began) ends: nothing goes below zero; Aisha's,
    // decided after, is counted.
    ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": format!("g-{jonas}")}),
        ADMIN,
    );
    file(&mut sim, AISHA, &["internal"]);
    let v = insights(&mut sim);
    assert_eq!(
        v["byDataClass"]["openGrants"],
        json!({"internal": {"github-copilot": 1}}),
        "{v}"
    );
}

fn recertify(sim: &mut Sim, who: &str) -> Value {
    ok(
        sim,
        "admin.insights.recertify",
        json!({"toolId": "github-copilot"}),
        who,
    )
}

fn review_issues(sim: &Sim) -> Vec<host_sim::site::Issue> {
    sim.state()
        .site
        .issues
        .iter()
        .filter(|i| i.labels.iter().any(|l| l == "ai-clearance-recertification"))
        .cloned()
        .collect()
}

// covers: CL-133, CL-134
#[test]
fn a_weakened_profile_reports_the_grants_approved_before_it_and_recertifies_them_once() {
    let mut sim = native();
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    let jonas = file(&mut sim, JONAS, &["source-code"]);
    approve_air2(&mut sim); // Wei: g-10101
    sim.advance(60_000);

    // Saving the same profile, or a stronger one, records nothing.
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    profile(
        &mut sim,
        "no",
        true,
        &["public", "internal", "source-code", "confidential"],
    );
    assert!(audit_of(&sim, "tool_profile_weakened").is_empty());
    let none = ok(&mut sim, "admin.insights.profileChanges", json!({}), ADMIN);
    assert_eq!(none["changes"], json!([]));
    assert_eq!(
        err(
            &mut sim,
            "admin.insights.recertify",
            json!({"toolId": "github-copilot"}),
            ADMIN
        ),
        "PROFILE_CHANGE_NOT_FOUND"
    );

    // The vendor starts training on inputs: recorded with the save, audited.
    sim.advance(60_000);
    profile(
        &mut sim,
        "yes",
        true,
        &["public", "internal", "source-code", "confidential"],
    );
    let weakened = audit_of(&sim, "tool_profile_weakened");
    assert_eq!(weakened.len(), 1);
    assert_eq!(weakened[0]["actor"], ADMIN);
    assert_eq!(
        weakened[0]["data"]["weakened"],
        json!([{"field": "trainsOnInputs", "from": "no", "to": "yes"}])
    );
    // A grant approved after the change is not the report's.
    sim.advance(60_000);
    let aisha = file(&mut sim, AISHA, &["internal"]);
    assert_eq!(
        kvs_value(&sim, &format!("access-grant:g-{aisha}")).unwrap()["status"],
        "pendingProvision"
    );

    let list = ok(&mut sim, "admin.insights.profileChanges", json!({}), ADMIN);
    assert_eq!(list["changes"][0]["toolId"], "github-copilot", "{list}");
    assert!(list["changes"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("trains on inputs: no → yes"));
    let report = ok(
        &mut sim,
        "admin.insights.profileChanges",
        json!({"toolId": "github-copilot"}),
        ADMIN,
    );
    let mut ids: Vec<&str> = report["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["grantId"].as_str().unwrap())
        .collect();
    ids.sort();
    let want_jonas = format!("g-{jonas}");
    assert_eq!(ids, ["g-10101", want_jonas.as_str()], "{report}");
    assert!(report["grants"][0]["recertification"].is_null());
    assert_eq!(report["nextCursor"], Value::Null);

    // One click: a review issue per grant (the recertification's issue type, in the intake
    // project), audited with who asked.
    let before = review_issues(&sim).len();
    let out = recertify(&mut sim, ADMIN);
    assert_eq!(out["created"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(out["nextCursor"], Value::Null);
    let issues = review_issues(&sim);
    assert_eq!(issues.len(), before + 2);
    for i in &issues {
        assert_eq!(i.project, "AIR");
        assert_eq!(i.issue_type_id, "10001");
        assert!(i.summary.contains("data profile changed"), "{}", i.summary);
        assert!(i
            .description
            .to_string()
            .contains("trains on inputs: no → yes"));
    }
    let asked = audit_of(&sim, "grants_recertification_requested");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["actor"], ADMIN);
    assert_eq!(asked[0]["subject"]["toolId"], "github-copilot");
    assert_eq!(asked[0]["data"]["created"].as_array().unwrap().len(), 2);

    // Again: nothing new (one review per grant per change), nothing audited.
    let again = recertify(&mut sim, ADMIN);
    assert_eq!(again["created"], json!([]));
    assert_eq!(again["already"], 2);
    assert_eq!(review_issues(&sim).len(), before + 2);
    assert_eq!(audit_of(&sim, "grants_recertification_requested").len(), 1);
    let report = ok(
        &mut sim,
        "admin.insights.profileChanges",
        json!({"toolId": "github-copilot"}),
        ADMIN,
    );
    for g in report["grants"].as_array().unwrap() {
        assert_eq!(g["recertification"]["state"], "created", "{g}");
        assert!(g["recertification"]["issueKey"].is_string());
    }

    // A second weakening (the agreement ends) asks again; the grant the admin holds is left to
    // another admin (the kernel's beneficiary rule), and said so in the audit entry.
    let key = "access-grant:g-10101";
    let mut g = kvs_value(&sim, key).unwrap();
    g["accountId"] = json!(ADMIN);
    sim.state_mut().kvs.get_mut(key).unwrap().value = g.to_string();
    sim.advance(60_000);
    profile(
        &mut sim,
        "yes",
        false,
        &["public", "internal", "source-code", "confidential"],
    );
    let out = recertify(&mut sim, ADMIN);
    assert_eq!(out["created"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(
        out["leftToAnotherAdmin"],
        json!([{"grantId": "g-10101", "issueKey": "AIR-2"}])
    );
    let asked = audit_of(&sim, "grants_recertification_requested");
    assert_eq!(asked.len(), 2);
    assert!(asked
        .iter()
        .any(|e| e["data"]["leftToAnotherAdmin"][0]["grantId"] == "g-10101"));
    assert!(verify(&mut sim).ok);
}

#[test]
fn recertification_needs_the_review_issue_type_and_an_admin() {
    let mut sim = native();
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    file(&mut sim, JONAS, &["source-code"]);
    sim.advance(60_000);
    profile(&mut sim, "no", false, &COPILOT_CLASSES);
    assert_eq!(
        err(
            &mut sim,
            "admin.insights.recertify",
            json!({"toolId": "github-copilot"}),
            JONAS
        ),
        "ADMIN_REQUIRED"
    );
    let mut cfg = ok(&mut sim, "admin.intake.get", json!({}), ADMIN)["config"].clone();
    cfg["approvals"]["reviewBeforeExpiryDays"] = json!(0);
    cfg["approvals"]["reviewIssueTypeId"] = Value::Null;
    ok(&mut sim, "admin.intake.set", cfg, ADMIN);
    assert_eq!(
        err(
            &mut sim,
            "admin.insights.recertify",
            json!({"toolId": "github-copilot"}),
            ADMIN
        ),
        "RECERTIFICATION_NOT_CONFIGURED"
    );
}

// ---- Cost grows with the work, not with the data -------------------------------------------------

/// A site whose history holds `n` requests for GitHub Copilot, each declaring classes, folded
/// by the daily runner.
fn site_with(n: usize) -> Sim {
    let mut site = Site::load(&site_dir()).unwrap();
    let template = site
        .issues
        .iter()
        .find(|i| i.key == "AIR-2")
        .cloned()
        .unwrap();
    let people: Vec<String> = site
        .users
        .iter()
        .filter(|u| u.active && u.account_type == "atlassian")
        .map(|u| u.account_id.clone())
        .collect();
    let start = aiclearance::time::parse(&site.now).unwrap();
    let classes = [
        json!(["internal"]),
        json!(["source-code", "internal"]),
        json!([]),
    ];
    for i in 0..n {
        let mut issue = template.clone();
        issue.id = (40_000 + i).to_string();
        issue.key = format!("AIR-{}", 40_000 + i);
        issue.reporter = people[i % people.len()].clone();
        issue.creator = Some(issue.reporter.clone());
        issue.created = aiclearance::time::rfc3339(start + i as u64 * 60_000);
        issue.comments.clear();
        for props in issue.properties.values_mut() {
            if let Some(s) = props.get_mut("aiclearance.snapshot.v1") {
                s["dataClasses"] = classes[i % 3].clone();
            }
        }
        site.issues.push(issue);
    }
    let state = SimState::new(site, 7).unwrap();
    let engine = make_engine(EngineKind::Native, &default_component()).unwrap();
    let mut sim = Sim::new(state, Manifest::load(&default_manifest()).unwrap(), engine);
    let steps = host_sim::scenario::intake_and_catalog_steps(
        &host_sim::scenario::load(&site_dir()).unwrap(),
    );
    let mut t = String::new();
    host_sim::scenario::run(&mut sim, &steps, &mut t).unwrap();
    for i in 0..n {
        let issue = sim
            .state()
            .site
            .issue(&format!("AIR-{}", 40_000 + i))
            .unwrap()
            .clone();
        let rec = sim
            .deliver(&host_sim::scenario::created_event(&issue))
            .unwrap();
        assert!(
            matches!(rec.outcome, RawOutcome::Ok(_)),
            "{:?}",
            rec.outcome
        );
    }
    sim.settle();
    sim.advance(24 * 3_600_000);
    sim.settle();
    sim
}

/// Host calls and KVS read units of one `admin.insights`, from the start of a fresh minute.
fn insights_cost(sim: &mut Sim) -> (u64, u64, Value) {
    let c = sim.state().clock_ms;
    sim.state_mut().clock_ms = c - c % 60_000 + 60_000;
    let before = sim.state().kvs_budget.clone();
    let rec = sim.resolve("admin.insights", &json!({"months": 12}), Some(ADMIN));
    let RawOutcome::Ok(v) = rec.outcome else {
        panic!("{:?}", rec.outcome)
    };
    let after = sim.state().kvs_budget.clone();
    assert_eq!(after.throttled, before.throttled);
    (rec.counts.total, after.read_units, v)
}

// covers: CL-185
#[test]
fn the_class_table_costs_the_same_reads_at_ten_times_the_requests() {
    let mut small = site_with(12);
    let mut large = site_with(120);
    let (calls_s, units_s, v_s) = insights_cost(&mut small);
    let (calls_l, units_l, v_l) = insights_cost(&mut large);
    eprintln!("admin.insights: calls {calls_s} → {calls_l}, KVS read units {units_s} → {units_l}");
    // The answer follows the data...
    let n = |v: &Value, c: &str| v["byDataClass"]["requests"][c]["github-copilot"].as_u64();
    assert_eq!(
        (
            n(&v_s, "internal"),
            n(&v_s, "source-code"),
            n(&v_s, "undeclared")
        ),
        (Some(8), Some(4), Some(4)),
        "{}",
        v_s["byDataClass"]
    );
    assert_eq!(
        (
            n(&v_l, "internal"),
            n(&v_l, "source-code"),
            n(&v_l, "undeclared")
        ),
        (Some(80), Some(40), Some(40))
    );
    // ...the cost does not: the same records are read whatever the number of requests.
    assert_eq!(units_l, units_s, "KVS read units grew with the requests");
    assert!(calls_l <= calls_s + 1, "host calls {calls_s} → {calls_l}");
}

// covers: CL-134
#[test]
fn recertification_is_bounded_per_call_and_continues_from_its_cursor() {
    let mut sim = native();
    profile(&mut sim, "no", true, &COPILOT_CLASSES);
    approve_air2(&mut sim); // g-10101, Wei
                            // 59 more open Copilot grants approved as long ago (copies of Wei's, other holders), with
                            // their by-tool index entries: 60 in all.
    let g = kvs_value(&sim, "access-grant:g-10101").unwrap();
    let index = sim
        .state()
        .kvs
        .get("access-grant-by-tool:github-copilot:g-10101")
        .unwrap()
        .clone();
    for i in 0..59 {
        let id = format!("g-9{i:04}");
        let mut c = g.clone();
        c["id"] = json!(id);
        c["accountId"] = json!(format!("712020:holder-{i:04}"));
        let st = sim.state_mut();
        let mut rec = st.kvs.get("access-grant:g-10101").unwrap().clone();
        rec.value = c.to_string();
        st.kvs.insert(format!("access-grant:{id}"), rec);
        let mut ix = index.clone();
        ix.value = json!(id).to_string();
        st.kvs
            .insert(format!("access-grant-by-tool:github-copilot:{id}"), ix);
    }
    sim.advance(60_000);
    profile(&mut sim, "no", true, &["public", "internal"]);
    let first = recertify(&mut sim, ADMIN);
    assert_eq!(first["created"].as_array().unwrap().len(), 50, "{first}");
    let cursor = first["nextCursor"]
        .as_str()
        .expect("more to do")
        .to_string();
    let report = ok(
        &mut sim,
        "admin.insights.profileChanges",
        json!({"toolId": "github-copilot"}),
        ADMIN,
    );
    assert_eq!(report["grants"].as_array().unwrap().len(), 50);
    assert!(report["nextCursor"].is_string());
    let rest = ok(
        &mut sim,
        "admin.insights.recertify",
        json!({"toolId": "github-copilot", "cursor": cursor}),
        ADMIN,
    );
    assert_eq!(rest["created"].as_array().unwrap().len(), 10, "{rest}");
    assert_eq!(rest["nextCursor"], Value::Null);
    assert_eq!(
        (first["more"].as_bool(), rest["more"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(count_prefix(&sim, "grant-reminder:"), 60);
    // Two calls, two audit entries, each naming the admin.
    let asked = audit_of(&sim, "grants_recertification_requested");
    assert_eq!(asked.len(), 2);
    assert!(asked.iter().all(|e| e["actor"] == ADMIN));
    assert!(verify(&mut sim).ok);
}
