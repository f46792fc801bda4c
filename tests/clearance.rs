//! AI Clearance decisions end to end through the compiled component: routing at intake,
//! auto-approval, the Approvals tab (single, bulk, limits, conflicts), grants and their
//! lifecycle, governance versions, the global page and the admin resolvers.

mod common;

use common::*;
use host_sim::faults::FaultPlan;
use host_sim::runtime::RawOutcome;
use host_sim::Sim;
use serde_json::{json, Value};

const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4"; // ai-approvers
const HELENA: &str = "5c41318d11064151843f092c"; // delegate of Priya
const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0"; // named approver, team lead
const SOFIA: &str = "5d610bd609501844143739a4"; // security-reviewers
const CHLOE: &str = "712020:1da71dc4-ac1b-595b-9c64-d53b508953da"; // marketing, no approver role
const WEI: &str = "712020:6d7314cd-429c-5163-a056-f0c8e2524635"; // engineering
const DAY: u64 = 86_400_000;

fn request(sim: &Sim, issue_id: &str) -> Value {
    kvs_value(sim, &format!("request:{issue_id}")).expect("request stored")
}

fn grant(sim: &Sim, id: &str) -> Value {
    kvs_value(sim, &format!("access-grant:{id}")).expect("grant stored")
}

fn decide(sim: &mut Sim, who: &str, key: &str, decision: &str) -> Result<Value, String> {
    let rec = sim.resolve(
        "clearance.approvals.decide",
        &json!({"issueKey": key, "decision": decision}),
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

// covers: CL-040, CL-045, CL-046, CL-047, CL-053, CL-070, CL-079, CL-140, CL-222
#[test]
fn a_matching_policy_auto_approves_inside_the_trigger_with_evidence() {
    let mut sim = wasm();
    // AIR-7: Jonas (engineering) asks for GitHub Copilot for exactly the policy maximum (90 days).
    let rec = sim.deliver(&event("007")).unwrap();
    assert!(matches!(rec.outcome, RawOutcome::Ok(_)));
    let r = request(&sim, "10106");
    assert_eq!(
        r["decision"], "approved",
        "decided before the trigger returned"
    );
    assert_eq!(r["decisionSource"], "auto-policy");
    let g = grant(&sim, "g-10106");
    assert_eq!(g["status"], "pendingProvision");
    let start = aiclearance::time::parse(g["grantedAt"].as_str().unwrap()).unwrap();
    let end = aiclearance::time::parse(g["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(
        end - start,
        90 * DAY,
        "the window starts at approval and lasts what was asked"
    );
    assert!(kvs_value(&sim, "provisioning-job:g-10106.provision.1").is_some());
    sim.settle();
    let job = kvs_value(&sim, "provisioning-job:g-10106.provision.1").unwrap();
    assert_eq!(
        job["status"], "manualPending",
        "no connector: the manual path"
    );
    let c = issue_comments(&sim, "AIR-7").join("\n");
    assert!(c.contains("auto-approved"), "{c}");
    assert!(
        c.contains("copilot-engineering") && c.contains("engineering"),
        "evidence: {c}"
    );
    assert_eq!(
        issue_status(&sim, "AIR-7"),
        "3",
        "the Approve transition ran"
    );
    for kind in [
        "request_approved",
        "grant_created",
        "provisioning_job_queued",
    ] {
        assert_eq!(audit_of(&sim, kind).len(), 1, "{kind}");
    }
    assert_eq!(
        audit_of(&sim, "request_approved")[0]["data"]["source"],
        "auto-policy"
    );
    assert!(verify(&mut sim).ok);
}

// covers: CL-042, CL-043, CL-044
#[test]
fn a_request_the_policy_does_not_cover_waits_and_the_dry_run_says_why() {
    let mut sim = wasm();
    deliver(&mut sim, &["002"]); // AIR-2: Wei, Copilot, 180 days > policy max 90
    let r = request(&sim, "10101");
    assert_eq!(r["decision"], "pending");
    assert_eq!(
        r["route"]["kind"], "direct",
        "low risk: one approver decides directly"
    );
    assert_eq!(r["route"]["autoApproval"]["failedCondition"], "duration");
    let d = ok(
        &mut sim,
        "admin.policies.dryRun",
        json!({"issueKey": "AIR-2"}),
        ADMIN,
    );
    assert_eq!(d["wouldAutoApprove"], false);
    assert_eq!(d["deciding"]["policyId"], "copilot-engineering");
    assert_eq!(d["deciding"]["policyVersion"], 1);
    assert_eq!(d["deciding"]["failedCondition"], "duration");
    // Equal to the maximum passes; a requester outside the groups fails on groups.
    let pass = ok(
        &mut sim,
        "admin.policies.dryRun",
        json!({"projectKey": "AIR", "toolId": "github-copilot", "accountId": WEI, "durationDays": 90}),
        ADMIN,
    );
    assert_eq!(pass["wouldAutoApprove"], true);
    let groups = ok(
        &mut sim,
        "admin.policies.dryRun",
        json!({"projectKey": "AIR", "toolId": "github-copilot", "accountId": CHLOE, "durationDays": 30}),
        ADMIN,
    );
    assert_eq!(groups["deciding"]["failedCondition"], "groups");
    // autoApprove=false: the same request stays pending.
    let mut p = ok(&mut sim, "admin.policies.list", json!({}), ADMIN)["policies"][0].clone();
    p["autoApprove"] = json!(false);
    ok(&mut sim, "admin.policies.save", p, ADMIN);
    deliver(&mut sim, &["007"]);
    assert_eq!(request(&sim, "10106")["decision"], "pending");
    assert_eq!(
        request(&sim, "10106")["route"]["autoApproval"]["failedCondition"],
        "autoApprove"
    );
}

// covers: CL-051, CL-052, CL-054, CL-055, CL-056, CL-057, CL-060, CL-037, CL-221
#[test]
fn approvers_approve_and_deny_directly_with_comments_transitions_and_audit() {
    let mut sim = wasm();
    deliver(&mut sim, &["002", "006"]);
    assert_eq!(
        decide(&mut sim, CHLOE, "AIR-2", "approve"),
        Err("NOT_APPROVER".into())
    );
    let v = decide(&mut sim, MARCUS, "AIR-2", "approve").unwrap();
    assert_eq!(v["outcome"], "approved");
    let r = request(&sim, "10101");
    assert_eq!(
        (r["decision"].as_str(), r["decisionSource"].as_str()),
        (Some("approved"), Some("approver"))
    );
    assert_eq!(grant(&sim, "g-10101")["status"], "pendingProvision");
    assert_eq!(issue_status(&sim, "AIR-2"), "3", "Approve transition");
    assert!(issue_comments(&sim, "AIR-2")
        .join("\n")
        .contains("access approved"));
    let approved = audit_of(&sim, "request_approved");
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["actor"], MARCUS);
    assert_eq!(
        approved[0]["policyVersion"], 1,
        "the governance version in force"
    );
    assert_eq!(audit_of(&sim, "grant_created").len(), 1);

    let v = decide(&mut sim, MARCUS, "AIR-6", "deny").unwrap();
    assert_eq!(v["outcome"], "denied");
    assert_eq!(request(&sim, "10105")["decision"], "denied");
    assert!(
        kvs_value(&sim, "access-grant:g-10105").is_none(),
        "no grant on denial"
    );
    assert_eq!(
        issue_status(&sim, "AIR-6"),
        "4",
        "Decline is a deny candidate"
    );
    assert_eq!(audit_of(&sim, "request_denied").len(), 1);
    // An admin override never approves a review governance requires (AIR-5, high: D-61).
    deliver(&mut sim, &["005"]);
    assert_eq!(
        decide(&mut sim, ADMIN, "AIR-5", "approve"),
        Err("OVERRIDE_NOT_ALLOWED".into())
    );
}

// covers: CL-058, CL-059, CL-066, CL-062, CL-211, CL-210, CL-061
#[test]
fn every_refusal_has_its_own_code_and_changes_nothing() {
    let mut sim = wasm();
    deliver(&mut sim, &["002", "006", "007", "028"]);
    // AIR-27: Jonas already holds the auto-approved AIR-7 grant for Copilot.
    assert_eq!(
        request(&sim, "10129")["route"]["autoApproval"]["reason"],
        "GRANT_CONFLICT"
    );
    let state = |sim: &Sim| {
        let mut s = sim.export_state();
        // The rate-limit slot the call took is the one write a refusal makes.
        s["keysByPrefix"]
            .as_object_mut()
            .unwrap()
            .remove("rate-limit");
        s
    };
    let before = state(&sim);
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-27", "approve"),
        Err("GRANT_CONFLICT".into())
    );
    assert_eq!(state(&sim), before, "a refused approval writes nothing");
    decide(&mut sim, MARCUS, "AIR-2", "approve").unwrap();
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-2", "deny"),
        Err("REQUEST_NOT_PENDING".into())
    );

    let keys: Vec<String> = (1..=51).map(|n| format!("AIR-{n}")).collect();
    let big = sim.resolve(
        "clearance.approvals.bulkDecide",
        &json!({"issueKeys": keys, "decision": "deny"}),
        Some(MARCUS),
    );
    match &big.outcome {
        RawOutcome::Err(e) => assert_eq!(e.code, "BULK_TOO_LARGE"),
        o => panic!("{o:?}"),
    }
    assert_eq!(big.counts.total, 0, "refused before any read");
    let fifty: Vec<String> = (1..=50).map(|n| format!("AIR-{n}")).collect();
    let res = ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": fifty, "decision": "approve"}),
        MARCUS,
    );
    assert_eq!(res["results"].as_array().unwrap().len(), 50);
    let by_key = |k: &str| {
        res["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["issueKey"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(by_key("AIR-6")["outcome"], "approved");
    assert_eq!(by_key("AIR-2")["error"]["code"], "REQUEST_NOT_PENDING");
    assert_eq!(by_key("AIR-27")["error"]["code"], "GRANT_CONFLICT");
    assert_eq!(by_key("AIR-40")["error"]["code"], "REQUEST_NOT_FOUND");
    // Four more calls fit in the minute; the sixth is rate-limited, for Marcus only.
    for _ in 0..4 {
        ok(
            &mut sim,
            "clearance.approvals.bulkDecide",
            json!({"issueKeys": ["AIR-2"], "decision": "deny"}),
            MARCUS,
        );
    }
    assert_eq!(
        err(
            &mut sim,
            "clearance.approvals.bulkDecide",
            json!({"issueKeys": ["AIR-2"], "decision": "deny"}),
            MARCUS
        ),
        "BULK_RATE_LIMITED"
    );
    ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": ["AIR-2"], "decision": "deny"}),
        ADMIN,
    );
    sim.advance(61_000);
    ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": ["AIR-2"], "decision": "deny"}),
        MARCUS,
    );
}

// covers: CL-061, CL-058, CL-059, CL-060
#[test]
fn a_bulk_decision_over_the_write_budget_is_queued_and_judged_again_when_it_runs() {
    use host_sim::emulator::Stored;
    let mut sim = wasm();
    deliver(&mut sim, &["002", "006", "007", "028"]);
    // AIR-2 (Wei), AIR-6 and AIR-27 (Jonas, who already holds Copilot) wait for a direct
    // decision. This minute's write budget for bulk decisions is spent (D-210).
    let c = sim.state().clock_ms;
    sim.state_mut().clock_ms = c - c % 60_000 + 60_000 + 5_000;
    let minute = sim.state().clock_ms / 60_000;
    sim.state_mut().kvs.insert(
        format!("write-budget:{}", minute % 16),
        Stored {
            value: json!({"minute": minute, "units": 2_400}).to_string(),
            expires_at_ms: None,
        },
    );
    let queued = |sim: &mut Sim, who: &str, keys: &[&str]| -> String {
        let out = ok(
            sim,
            "clearance.approvals.bulkDecide",
            json!({"issueKeys": keys, "decision": "approve"}),
            who,
        );
        assert_eq!(out["queued"], keys.len(), "{out}");
        for r in out["results"].as_array().unwrap() {
            assert_eq!(r["outcome"], "queued", "{r}");
            assert_eq!(r["withinMinutes"], 2, "{r}");
        }
        format!("{}:{}", out["batchId"].as_str().unwrap(), minute + 1)
    };
    // Someone with no approval role learns nothing and spends nothing of the budget.
    let out = ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": ["AIR-6", "AIR-404"], "decision": "approve"}),
        CHLOE,
    );
    for r in out["results"].as_array().unwrap() {
        assert_eq!(r["error"]["code"], "NOT_APPROVER", "{r}");
    }
    assert_eq!(
        kvs_value(&sim, &format!("write-budget:{}", minute % 16)).unwrap()["units"],
        2_400
    );
    // Marcus queues AIR-6; Priya (a named approver) queues all three.
    let marcus = queued(&mut sim, MARCUS, &["AIR-6"]);
    let priya = queued(&mut sim, PRIYA, &["AIR-2", "AIR-27", "AIR-6"]);
    sim.settle();
    for id in ["10101", "10105"] {
        assert_eq!(
            request(&sim, id)["decision"],
            "pending",
            "queued, not decided"
        );
    }
    // Before the minute turns: Marcus leaves ai-approvers, and Helena (Priya's delegate)
    // denies AIR-2 herself.
    for g in sim.state_mut().site.groups.iter_mut() {
        if g.name == "ai-approvers" {
            g.members.retain(|m| m != MARCUS);
        }
    }
    decide(&mut sim, HELENA, "AIR-2", "deny").unwrap();
    sim.advance(60_000);
    let status = |sim: &mut Sim, who: &str, batch: &str| -> Vec<Value> {
        let b = batch.split(':').next().unwrap();
        let s = ok(
            sim,
            "clearance.approvals.bulkStatus",
            json!({"batchId": b}),
            who,
        );
        assert_eq!(s["queued"], 0, "{s}");
        s["items"].as_array().unwrap().clone()
    };
    // Marcus's queued approval meets his rights as they are now: refused, not applied.
    let m = status(&mut sim, MARCUS, &marcus);
    assert_eq!(m[0]["status"], "refused");
    assert_eq!(m[0]["error"]["code"], "NOT_APPROVER");
    // Priya's: AIR-6 approved by her, AIR-2 was decided meanwhile (Helena's denial stands),
    // Jonas already holds Copilot.
    let p = status(&mut sim, PRIYA, &priya);
    let code = |k: &str| {
        let i = p.iter().find(|i| i["issueKey"] == k).unwrap();
        (
            i["status"].clone(),
            i["outcome"].clone(),
            i["error"]["code"].clone(),
        )
    };
    assert_eq!(
        code("AIR-6"),
        (json!("decided"), json!("approved"), Value::Null)
    );
    assert_eq!(code("AIR-2").2, "REQUEST_NOT_PENDING");
    assert_eq!(code("AIR-27").2, "GRANT_CONFLICT");
    let r6 = request(&sim, "10105");
    assert_eq!(
        (&r6["decision"], &r6["decidedBy"], &r6["decisionSource"]),
        (&json!("approved"), &json!(PRIYA), &json!("bulk"))
    );
    let r2 = request(&sim, "10101");
    assert_eq!(
        (&r2["decision"], &r2["decidedBy"]),
        (&json!("denied"), &json!(HELENA))
    );
    assert_eq!(
        audit_of(&sim, "request_approved").len(),
        2,
        "AIR-7's and AIR-6's"
    );
    // Only the person who queued it sees a batch.
    assert_eq!(
        err(
            &mut sim,
            "clearance.approvals.bulkStatus",
            json!({"batchId": priya.split(':').next().unwrap()}),
            MARCUS
        ),
        "BATCH_NOT_FOUND"
    );
    // Redelivery is safe: the same event again changes nothing; and a delivery that died
    // after deciding AIR-6 but before saving its progress reports the decision, not a refusal.
    let before = sim.export_state();
    let rec = sim.deliver_queue("decisions", &json!({"bulkQueue": priya}));
    assert!(
        matches!(rec.outcome, RawOutcome::Ok(_)),
        "{:?}",
        rec.outcome
    );
    assert_eq!(sim.export_state(), before);
    let key = format!("bulk-queue:{priya}");
    let mut g: Value = kvs_value(&sim, &key).unwrap();
    for i in g["items"].as_array_mut().unwrap() {
        if i["issueKey"] == "AIR-6" {
            *i = json!({"issueKey": "AIR-6", "status": "queued"});
        }
    }
    sim.state_mut().kvs.get_mut(&key).unwrap().value = g.to_string();
    let rec = sim.deliver_queue("decisions", &json!({"bulkQueue": priya}));
    assert!(
        matches!(rec.outcome, RawOutcome::Ok(_)),
        "{:?}",
        rec.outcome
    );
    sim.settle();
    let p = status(&mut sim, PRIYA, &priya);
    let i6 = p.iter().find(|i| i["issueKey"] == "AIR-6").unwrap();
    assert_eq!(
        (&i6["status"], &i6["outcome"]),
        (&json!("decided"), &json!("approved"))
    );
    assert_eq!(audit_of(&sim, "grant_created").len(), 2, "no second grant");
    // An event the platform gave up on (five throttled deliveries) is pushed again when the
    // person looks at the batch: Priya's queued denial of AIR-27 still happens.
    let minute = sim.state().clock_ms / 60_000;
    sim.state_mut().kvs.insert(
        format!("write-budget:{}", minute % 16),
        Stored {
            value: json!({"minute": minute, "units": 2_400}).to_string(),
            expires_at_ms: None,
        },
    );
    let out = ok(
        &mut sim,
        "clearance.approvals.bulkDecide",
        json!({"issueKeys": ["AIR-27"], "decision": "deny"}),
        PRIYA,
    );
    assert_eq!(out["queued"], 1, "{out}");
    let batch = out["batchId"].as_str().unwrap().to_string();
    sim.state_mut()
        .queue
        .retain(|e| !e.body.contains(batch.as_str()));
    sim.advance(22 * 60_000);
    assert_eq!(request(&sim, "10129")["decision"], "pending");
    let s = ok(
        &mut sim,
        "clearance.approvals.bulkStatus",
        json!({"batchId": batch}),
        PRIYA,
    );
    assert_eq!(s["queued"], 1, "{s}");
    sim.settle();
    let s = ok(
        &mut sim,
        "clearance.approvals.bulkStatus",
        json!({"batchId": batch}),
        PRIYA,
    );
    assert_eq!((&s["queued"], &s["decided"]), (&json!(0), &json!(1)), "{s}");
    assert_eq!(request(&sim, "10129")["decision"], "denied");
}

// covers: CL-050, CL-168, CL-032
#[test]
fn paths_decide_their_requests_and_only_qualifying_approvers_act() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "005", "008"]);
    // AIR-1 medium → Standard AI access; AIR-5 high → Security review.
    assert_eq!(
        request(&sim, "10100")["route"]["definitionId"],
        "standard-ai-access"
    );
    assert_eq!(
        request(&sim, "10104")["route"]["definitionId"],
        "security-review"
    );
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), SOFIA);
    let keys: Vec<&str> = tab["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["issueKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["AIR-5"], "Sofia sees only what she can decide");
    // Review rule: an AI approver is not a security reviewer.
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-5", "approve"),
        Err("NOT_APPROVER".into())
    );
    assert_eq!(
        decide(&mut sim, SOFIA, "AIR-5", "approve").unwrap()["outcome"],
        "recorded"
    );
    assert_eq!(
        request(&sim, "10104")["decision"],
        "pending",
        "the Jira admin step is next"
    );
    let done = decide(&mut sim, ADMIN, "AIR-5", "approve").unwrap();
    assert_eq!(done["outcome"], "approved");
    assert_eq!(request(&sim, "10104")["decisionSource"], "approval-path");
    // AIR-1: the delegate and the group member approve; the path's automation closes it.
    decide(&mut sim, HELENA, "AIR-1", "approve").unwrap();
    decide(&mut sim, MARCUS, "AIR-1", "approve").unwrap();
    assert_eq!(request(&sim, "10100")["decision"], "approved");
    assert_eq!(grant(&sim, "g-10100")["decisionSource"], "approval-path");
    // A rejection on the path denies the request.
    decide(&mut sim, PRIYA, "AIR-8", "deny").unwrap();
    assert_eq!(request(&sim, "10107")["decision"], "denied");
    assert!(verify(&mut sim).ok);
}

// covers: CL-030, CL-031, CL-035, CL-144
#[test]
fn governance_versions_are_recorded_on_decisions_and_maxima_apply() {
    let mut sim = wasm();
    let g = ok(&mut sim, "admin.governance.get", json!({}), ADMIN)["governance"].clone();
    assert_eq!(g["version"], 1);
    assert_eq!(g["medium"]["approvalDefinitionId"], "standard-ai-access");
    let bad = sim.resolve(
        "admin.governance.save",
        &json!({"low": {"maxDays": 0}, "high": {"approvalDefinitionId": "nope"}}),
        Some(ADMIN),
    );
    match &bad.outcome {
        RawOutcome::Err(e) => {
            assert_eq!(e.code, "GOVERNANCE_INVALID");
            let d = e.details.as_ref().unwrap();
            assert!(d.get("low.maxDays").is_some() && d.get("high.approvalDefinitionId").is_some());
        }
        o => panic!("{o:?}"),
    }
    // v2: low risk at most 60 days.
    let v2 = ok(
        &mut sim,
        "admin.governance.save",
        json!({"low": {"maxDays": 60}, "medium": {"maxDays": 60}}),
        ADMIN,
    );
    assert_eq!(v2["governance"]["version"], 2);
    deliver(&mut sim, &["006"]); // AIR-6 asks for 60 days of Copilot: allowed
                                 // v3: low risk at most 30 days; the pending request is approved under v3 and capped.
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"low": {"maxDays": 30}, "medium": {"maxDays": 30}}),
        ADMIN,
    );
    decide(&mut sim, MARCUS, "AIR-6", "approve").unwrap();
    let g = grant(&sim, "g-10105");
    assert_eq!(
        (g["durationDays"].as_u64(), g["cappedFromDays"].as_u64()),
        (Some(30), Some(60))
    );
    assert_eq!(audit_of(&sim, "request_approved")[0]["policyVersion"], 3);
    assert_eq!(request(&sim, "10105")["policyVersion"], 3);
    // Intake now refuses a low-risk request over 30 days.
    deliver(&mut sim, &["002"]);
    assert_eq!(
        kvs_value(&sim, "intake-rejection:10101").unwrap()["code"],
        "DURATION_TOO_LONG"
    );
    let history = ok(&mut sim, "admin.governance.history", json!({}), ADMIN);
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    // Newest first, each with what it changed against the version before it.
    assert_eq!(versions[0]["version"], 3);
    let v3: Vec<&str> = versions[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(v3, ["low.maxDays: 60 → 30", "medium.maxDays: 60 → 30"]);
    assert_eq!(versions[0]["previous"], versions[1]["policy"]);
    assert_eq!(versions[0]["policy"]["low"]["maxDays"], 30);
}

// covers: CL-021, CL-022, CL-033
#[test]
fn blocked_and_unknown_tools_never_get_a_grant() {
    let mut sim = wasm();
    deliver(&mut sim, &["002", "009"]);
    let mut tool = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "github-copilot"}),
        ADMIN,
    )["tool"]
        .clone();
    tool["status"] = json!("blocked");
    ok(&mut sim, "admin.catalog.upsert", tool, ADMIN);
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-2", "approve"),
        Err("TOOL_NOT_REQUESTABLE".into())
    );
    assert!(kvs_value(&sim, "access-grant:g-10101").is_none());
    let tools = ok(&mut sim, "page.approvedTools", json!({}), JONAS)["tools"].clone();
    assert!(tools
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["id"] != "github-copilot" && t["status"] == "approved"));
    let admin_list = ok(&mut sim, "admin.catalog.list", json!({}), ADMIN)["tools"].clone();
    assert!(admin_list
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == "github-copilot"));
    // Unknown tools: once governance blocks them, approval is refused and intake rejects new ones.
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"blockUnknownTools": true}),
        ADMIN,
    );
    assert_eq!(
        decide(&mut sim, SOFIA, "AIR-9", "approve"),
        Err("UNKNOWN_TOOL_BLOCKED".into())
    );
    let mut fresh = wasm();
    ok(
        &mut fresh,
        "admin.governance.save",
        json!({"blockUnknownTools": true}),
        ADMIN,
    );
    deliver(&mut fresh, &["009"]);
    assert_eq!(
        kvs_value(&fresh, "intake-rejection:10108").unwrap()["code"],
        "UNKNOWN_TOOL_BLOCKED"
    );
}

// covers: CL-034, CL-036
#[test]
fn exceptions_raise_one_persons_maximum_are_limited_and_expire() {
    let mut sim = wasm();
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"criticalExceptionLimit": 1}),
        ADMIN,
    );
    // DeepSeek (critical) is denied in the catalog; approve it locally for this test.
    let mut t = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "deepseek-chat"}),
        ADMIN,
    )["tool"]
        .clone();
    t["status"] = json!("approved");
    ok(&mut sim, "admin.catalog.upsert", t, ADMIN);
    let e = ok(&mut sim, "admin.governance.exceptions.create",
        json!({"toolId": "deepseek-chat", "accountId": WEI, "maxDays": 60, "reason": "Benchmark study", "validDays": 10}), ADMIN)["exception"].clone();
    assert_eq!(e["reviewStatus"], "pendingReview");
    assert_eq!(
        err(
            &mut sim,
            "admin.governance.exceptions.create",
            json!({"toolId": "deepseek-chat", "accountId": JONAS, "maxDays": 30, "reason": "x", "validDays": 5}),
            ADMIN
        ),
        "EXCEPTION_LIMIT_REACHED"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.governance.exceptions.review",
            json!({"id": e["id"]}),
            ADMIN
        ),
        "SELF_REVIEW"
    );
    let list = ok(
        &mut sim,
        "admin.governance.exceptions.list",
        json!({}),
        ADMIN,
    );
    assert_eq!(
        list["exceptions"][0]["active"], false,
        "an exception applies only once a second admin reviewed it"
    );
    ok(
        &mut sim,
        "admin.governance.exceptions.review",
        json!({"id": e["id"]}),
        "712020:9da8d250-3734-53dd-9c52-3614f0b0a6ac",
    );
    let list = ok(
        &mut sim,
        "admin.governance.exceptions.list",
        json!({}),
        ADMIN,
    );
    assert_eq!(list["exceptions"][0]["active"], true);
    // The portal's checks honour the exception as intake does (its longer maximum is Wei's
    // alone): the submit check, and the preview's longest duration.
    let form =
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "deepseek-chat", "durationDays": 60});
    let v = ok(&mut sim, "panel.validate", form.clone(), WEI);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(
        ok(&mut sim, "panel.preview", form.clone(), WEI)["maxDays"],
        60
    );
    let v = ok(&mut sim, "panel.validate", form.clone(), JONAS);
    assert_eq!(
        v["errors"]["durationDays"]["code"], "DURATION_TOO_LONG",
        "{v}"
    );
    sim.advance(11 * DAY);
    let v = ok(&mut sim, "panel.validate", form, WEI);
    assert_eq!(
        v["errors"]["durationDays"]["code"], "DURATION_TOO_LONG",
        "an expired exception no longer lengthens the form's maximum: {v}"
    );
    let list = ok(
        &mut sim,
        "admin.governance.exceptions.list",
        json!({}),
        ADMIN,
    );
    assert_eq!(
        list["exceptions"][0]["active"], false,
        "expired exceptions stop applying"
    );
    ok(
        &mut sim,
        "admin.governance.exceptions.create",
        json!({"toolId": "deepseek-chat", "accountId": JONAS, "maxDays": 30, "reason": "x", "validDays": 5}),
        ADMIN,
    );
}

// covers: CL-063, CL-064, CL-065, CL-072, CL-073, CL-074, CL-077, CL-100, CL-104, CL-106, CL-223, CL-224
#[test]
fn grants_move_through_provisioning_revocation_and_expiry() {
    let mut sim = wasm();
    deliver(&mut sim, &["002", "006", "007"]);
    decide(&mut sim, MARCUS, "AIR-2", "approve").unwrap();
    decide(&mut sim, MARCUS, "AIR-6", "approve").unwrap();
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    let jobs: Vec<String> = tab["manualActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(jobs.len(), 3, "{tab}");
    sim.advance(2 * 3_600_000);
    assert_eq!(
        grant(&sim, "g-10101")["status"],
        "pendingProvision",
        "manual jobs wait for a person"
    );
    assert_eq!(
        err(
            &mut sim,
            "clearance.jobs.complete",
            json!({"jobId": "g-10101.provision.1", "action": "deprovisioned"}),
            MARCUS
        ),
        "COMPLETION_MISMATCH"
    );
    assert_eq!(
        err(
            &mut sim,
            "clearance.jobs.complete",
            json!({"jobId": "g-10101.provision.1", "action": "fulfilled"}),
            CHLOE
        ),
        "NOT_APPROVER"
    );
    let done = ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": "g-10101.provision.1", "action": "fulfilled"}),
        MARCUS,
    );
    assert_eq!(done["grantStatus"], "active");
    assert_eq!(grant(&sim, "g-10101")["status"], "active");
    assert_eq!(audit_of(&sim, "provisioning_job_succeeded").len(), 1);
    // Admins close manual tasks from the admin surface too.
    ok(
        &mut sim,
        "admin.jobs.complete",
        json!({"jobId": "g-10105.provision.1", "action": "fulfilled"}),
        ADMIN,
    );
    // Revoke twice: exactly one open deprovision job.
    let r1 = ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10105", "reason": "contract ended"}),
        ADMIN,
    );
    let r2 = ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10105"}),
        ADMIN,
    );
    assert_eq!(
        (r1["changed"].as_bool(), r2["changed"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        count_prefix(&sim, "provisioning-job-open:g-10105:deprovision"),
        1
    );
    assert!(kvs_value(
        &sim,
        "access-grant-open:712020:7f89dbec-4a8f-59b7-8198-95aeb5fb7d9b:github-copilot"
    )
    .is_none());
    sim.settle();
    let manual = ok(
        &mut sim,
        "admin.requests.list",
        json!({"category": "manualFollowUp"}),
        ADMIN,
    );
    assert!(manual["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["id"] == "g-10105.deprovision.2"));
    ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": "g-10105.deprovision.2", "action": "deprovisioned"}),
        MARCUS,
    );
    // Expiry: AIR-7's 90-day grant expires in the hourly job runner, with a deprovision job.
    sim.advance(91 * DAY);
    let g = grant(&sim, "g-10106");
    assert_eq!(g["status"], "expired");
    assert!(kvs_value(&sim, "provisioning-job:g-10106.deprovision.2").is_some());
    assert_eq!(audit_of(&sim, "grant_expired").len(), 1);
}

// covers: CL-075, CL-076, CL-078
#[test]
fn extensions_respect_the_lifetime_the_grace_window_and_never_self() {
    let mut sim = wasm();
    deliver(&mut sim, &["006", "007"]);
    decide(&mut sim, MARCUS, "AIR-6", "approve").unwrap(); // 60 days; AIR-7 is 90 days
    let ext = |sim: &mut Sim, who: &str, g: &str, days: u64| {
        sim.resolve(
            "clearance.grants.extend",
            &json!({"grantId": g, "days": days}),
            Some(who),
        )
    };
    let code = |r: host_sim::InvocationRecord| match r.outcome {
        RawOutcome::Err(e) => e.code,
        o => panic!("should fail: {o:?}"),
    };
    // The holder is not an approver: refused before the grant is even looked up (so ids cannot
    // be probed); an approver's own grant is SELF_EXTENSION_DISABLED (tests/governance.rs).
    assert_eq!(code(ext(&mut sim, JONAS, "g-10106", 10)), "NOT_APPROVER");
    assert_eq!(code(ext(&mut sim, CHLOE, "g-10106", 10)), "NOT_APPROVER");
    // 90 + 91 days would pass the 180-day lifetime.
    assert_eq!(
        code(ext(&mut sim, ADMIN, "g-10106", 91)),
        "EXTENSION_OVER_LIFETIME"
    );
    // AIR-6 expired on day 60; on day 68 it is out of its 7-day grace window.
    sim.advance(68 * DAY);
    assert_eq!(grant(&sim, "g-10105")["status"], "expired");
    assert_eq!(
        code(ext(&mut sim, ADMIN, "g-10105", 7)),
        "EXTENSION_GRACE_EXPIRED"
    );
    // AIR-7 expired on day 90; on day 96 it can still come back.
    sim.advance(28 * DAY);
    assert_eq!(grant(&sim, "g-10106")["status"], "expired");
    let back = ok(
        &mut sim,
        "clearance.grants.extend",
        json!({"grantId": "g-10106", "days": 7}),
        ADMIN,
    );
    assert_eq!(back["status"], "pendingProvision");
    assert_eq!(audit_of(&sim, "grant_reactivated").len(), 1);
    let mine = ok(&mut sim, "page.myAccess", json!({}), JONAS);
    assert_eq!(mine["extensionEnabled"], false);
}

// covers: CL-160, CL-161, CL-162, CL-163, CL-164, CL-165, CL-166, CL-167
#[test]
fn the_global_page_shows_each_person_only_their_own() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "002", "007"]);
    decide(&mut sim, MARCUS, "AIR-2", "approve").unwrap();
    let mine = ok(&mut sim, "page.myAccess", json!({}), JONAS);
    let grants = mine["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "Jonas holds only the AIR-7 grant: {mine}");
    assert_eq!(grants[0]["issueKey"], "AIR-7");
    assert_eq!(grants[0]["expiryLabel"], "90 days remaining");
    assert_eq!(grants[0]["expiringSoon"], false);
    assert_eq!(grants[0]["extensionEnabled"], false);
    sim.advance(84 * DAY);
    let soon = ok(&mut sim, "page.myAccess", json!({}), JONAS)["grants"][0].clone();
    assert_eq!(
        (soon["expiryLabel"].as_str(), soon["expiringSoon"].as_bool()),
        (Some("6 days remaining"), Some(true))
    );
    let wei = ok(&mut sim, "page.myAccess", json!({}), WEI)["grants"].clone();
    assert!(wei
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["issueKey"] == "AIR-2"));
    let tools = ok(&mut sim, "page.approvedTools", json!({}), JONAS);
    let first = &tools["tools"][0];
    for f in ["status", "defaultExpiryDays", "maxDays", "guidance"] {
        assert!(first.get(f).is_some(), "{f}");
    }
    let history = ok(&mut sim, "page.history", json!({"limit": 1}), JONAS);
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    assert!(history["nextCursor"].is_string(), "paginated");
    let next = ok(
        &mut sim,
        "page.history",
        json!({"limit": 1, "cursor": history["nextCursor"]}),
        JONAS,
    );
    let keys = [
        history["items"][0]["issueKey"].clone(),
        next["items"][0]["issueKey"].clone(),
    ];
    assert!(keys.contains(&json!("AIR-1")) && keys.contains(&json!("AIR-7")));
    assert!(next["items"][0]["decision"].is_string());
    let chloe = ok(&mut sim, "page.context", json!({}), CHLOE);
    assert_eq!(chloe["showApprovals"], false);
    assert_eq!(
        err(&mut sim, "clearance.approvals.tab", json!({}), CHLOE),
        "NO_APPROVAL_ACCESS"
    );
    assert_eq!(
        ok(&mut sim, "page.context", json!({}), MARCUS)["showApprovals"],
        true
    );
    assert_eq!(
        ok(&mut sim, "page.context", json!({}), SOFIA)["showApprovals"],
        false,
        "no open security task yet"
    );
}

// covers: CL-200, CL-169, CL-170, CL-175, CL-176, CL-177
#[test]
fn admin_resolvers_are_admin_only_and_report_readiness() {
    let mut fresh = unconfigured();
    let o = ok(&mut fresh, "admin.overview", json!({}), ADMIN);
    assert_eq!(o["readiness"], "setupNeeded");
    assert!(o["cards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["ready"] == false));
    let mut sim = wasm();
    for f in aiclearance::clearance::service::RESOLVERS
        .iter()
        .filter(|f| f.starts_with("admin."))
    {
        assert_eq!(err(&mut sim, f, json!({}), JONAS), "ADMIN_REQUIRED", "{f}");
    }
    let o = ok(&mut sim, "admin.overview", json!({}), ADMIN);
    assert_eq!(o["readiness"], "ready");
    assert_eq!(
        o["counters"]["catalogTools"].as_u64(),
        Some(count_prefix(&sim, "tool:") as u64)
    );
    assert_eq!(o["counters"]["autoApprovalPolicies"], 1);
    deliver(&mut sim, &["001", "002"]);
    let pending = ok(
        &mut sim,
        "admin.requests.list",
        json!({"category": "pending"}),
        ADMIN,
    );
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        err(
            &mut sim,
            "admin.requests.list",
            json!({"category": "everything"}),
            ADMIN
        ),
        "CATEGORY_INVALID"
    );
    ok(
        &mut sim,
        "admin.requests.bulkDecide",
        json!({"issueKeys": ["AIR-2"], "decision": "approve"}),
        ADMIN,
    );
    let active = ok(
        &mut sim,
        "admin.requests.list",
        json!({"category": "pendingProvision"}),
        ADMIN,
    );
    assert_eq!(active["items"][0]["id"], "g-10101");
}

// covers: CL-180, CL-181, CL-182, CL-183, CL-212, CL-204
#[test]
fn exports_cover_90_days_by_default_and_at_most_365() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "002", "007"]);
    sim.advance(3_600_000); // the fixture requests were created after the site's clock start
    let all = ok(&mut sim, "admin.exports.requests", json!({}), ADMIN);
    assert_eq!(all["count"], 3);
    let from = aiclearance::time::parse(all["range"]["from"].as_str().unwrap()).unwrap();
    let to = aiclearance::time::parse(all["range"]["to"].as_str().unwrap()).unwrap();
    assert_eq!(to - from, 90 * DAY);
    let csv = ok(
        &mut sim,
        "admin.exports.grants",
        json!({"format": "csv"}),
        ADMIN,
    );
    let text = csv["csv"].as_str().unwrap();
    assert!(text.starts_with("grantId,issueKey,"));
    assert!(text.contains("g-10106"));
    let now = sim.state().clock_ms;
    let iso = |ms: u64| aiclearance::time::rfc3339(ms);
    ok(
        &mut sim,
        "admin.exports.audit",
        json!({"from": iso(now - 365 * DAY), "to": iso(now)}),
        ADMIN,
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.exports.audit",
            json!({"from": iso(now - 366 * DAY), "to": iso(now)}),
            ADMIN
        ),
        "EXPORT_RANGE_TOO_LONG"
    );
    // A window that excludes everything.
    let none = ok(
        &mut sim,
        "admin.exports.requests",
        json!({"from": iso(now - 300 * DAY), "to": iso(now - 200 * DAY)}),
        ADMIN,
    );
    assert_eq!(none["count"], 0);
    sim.advance(61_000);
    let audit = ok(&mut sim, "admin.exports.audit", json!({}), ADMIN);
    let row = &audit["rows"][0];
    for f in ["prevHash", "entryHash", "entryMac"] {
        assert!(row[f].is_string(), "{f}");
    }
    for _ in 0..4 {
        ok(&mut sim, "admin.exports.requests", json!({}), ADMIN);
    }
    assert_eq!(
        err(&mut sim, "admin.exports.requests", json!({}), ADMIN),
        "EXPORT_RATE_LIMITED"
    );
    // Reading the verification status is free; starting runs is limited.
    let start = json!({"action": "start"});
    ok(&mut sim, "admin.audit.verify", start.clone(), ADMIN);
    ok(&mut sim, "admin.audit.verify", start.clone(), ADMIN);
    assert_eq!(
        err(&mut sim, "admin.audit.verify", start, ADMIN),
        "VERIFY_RATE_LIMITED"
    );
    ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
}

// covers: CL-185, CL-186, CL-137, CL-143
#[test]
fn insights_come_from_the_daily_runner_and_logs_are_searchable() {
    let mut sim = wasm();
    deliver(&mut sim, &["001", "002", "007"]);
    // Before the runner nothing is stored; the answer still counts the newer entries (folded
    // for the answer only, so Insights and Requests agree: issue 33 item 5, D-264).
    let before = ok(&mut sim, "admin.insights", json!({}), ADMIN);
    assert!(
        kvs_value(&sim, "analytics-rollups").is_none(),
        "nothing folded before the runner"
    );
    assert_eq!(before["counters"]["requests"], 3);
    assert_eq!(before["caughtUp"], true);
    sim.advance(DAY);
    assert!(kvs_value(&sim, "analytics-rollups").unwrap()["lastSeq"].as_u64() > Some(0));
    let after = ok(&mut sim, "admin.insights", json!({}), ADMIN);
    for section in [
        "monthly",
        "adoption",
        "activeAccess",
        "riskMix",
        "people",
        "counters",
    ] {
        assert!(after.get(section).is_some(), "{section}");
    }
    assert_eq!(after["counters"]["requests"], 3);
    assert_eq!(after["counters"]["autoApproved"], 1);
    assert_eq!(after["activeAccess"]["pendingProvision"], 1);
    let found = ok(
        &mut sim,
        "admin.audit.search",
        json!({"type": "request_created", "issueKey": "AIR-2"}),
        ADMIN,
    );
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let seq = found["items"][0]["seq"].as_u64().unwrap();
    let detail = ok(&mut sim, "admin.audit.get", json!({"seq": seq}), ADMIN)["entry"].clone();
    assert_eq!(detail["issueKey"], "AIR-2");
    assert!(detail["entryMac"].is_string() && detail["prevHash"].is_string());
}

// covers: CL-020, CL-023
#[test]
fn the_catalog_seeds_without_duplicates_and_keeps_local_edits() {
    let mut sim = unconfigured();
    let first = ok(&mut sim, "admin.catalog.seed", json!({}), ADMIN);
    let n = first["created"].as_array().unwrap().len();
    assert!(n >= 15, "{n} seed tools");
    let tool = json!({"id": "claude-team", "displayName": "Claude Team (Acme)", "provider": "Anthropic",
        "status": "approved", "riskLevel": "medium", "defaultExpiryDays": 45, "guidance": "Acme rules",
        "fulfilmentNotes": "IT adds you to the workspace", "connectorId": "by-hand",
        "entitlementGroup": {"name": "ai-claude-team"}});
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "by-hand", "name": "IT desk", "type": "manual"}),
        ADMIN,
    );
    ok(&mut sim, "admin.catalog.upsert", tool.clone(), ADMIN);
    let again = ok(&mut sim, "admin.catalog.seed", json!({}), ADMIN);
    assert_eq!(again["created"].as_array().unwrap().len(), 0);
    assert_eq!(count_prefix(&sim, "tool:"), n);
    let back = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "claude-team"}),
        ADMIN,
    )["tool"]
        .clone();
    for f in [
        "displayName",
        "provider",
        "status",
        "riskLevel",
        "defaultExpiryDays",
        "guidance",
        "fulfilmentNotes",
        "connectorId",
        "entitlementGroup",
    ] {
        assert_eq!(back[f], tool[f], "{f} round-trips");
    }
    assert_eq!(
        ok(
            &mut sim,
            "admin.catalog.delete",
            json!({"id": "claude-team"}),
            ADMIN
        )["deleted"],
        true
    );
    assert_eq!(count_prefix(&sim, "tool:"), n - 1);
}

// Issue 33 item 8 (D-180): a tool's internal fulfilment procedure is for admins; requesters on
// Approved Tools and JSM customers in the portal panel see the requester guidance only.
#[test]
fn requesters_and_customers_see_guidance_but_never_the_fulfilment_notes() {
    const CUSTOMER: &str = "712020:7f89dbec-4a8f-59b7-8198-95aeb5fb7d9b"; // Bruno Costa
    let mut sim = wasm();
    let secret = "INTERNAL: add the requester to the Console organization and rotate keys";
    let mut tool = ok(
        &mut sim,
        "admin.catalog.get",
        json!({"id": "claude-team"}),
        ADMIN,
    )["tool"]
        .clone();
    tool["guidance"] = json!("Use the company Team workspace only.");
    tool["fulfilmentNotes"] = json!(secret);
    ok(&mut sim, "admin.catalog.upsert", tool, ADMIN);
    let notes: Vec<String> = ok(&mut sim, "admin.catalog.list", json!({}), ADMIN)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["fulfilmentNotes"].as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    assert!(notes.iter().any(|n| n == secret), "admins keep the notes");
    let seen = [
        ok(&mut sim, "page.approvedTools", json!({}), JONAS),
        ok(&mut sim, "page.approvedTools", json!({}), CHLOE),
        ok(
            &mut sim,
            "panel.options",
            json!({"portalId": 1, "requestTypeId": 12}),
            CUSTOMER,
        ),
    ];
    for (i, v) in seen.iter().enumerate() {
        let tools = v["tools"].as_array().unwrap();
        let claude = tools.iter().find(|t| t["id"] == "claude-team").unwrap();
        assert_eq!(claude["guidance"], "Use the company Team workspace only.");
        for t in tools {
            assert!(t.get("fulfilmentNotes").is_none(), "{i}: {t}");
        }
        let text = v.to_string();
        for n in &notes {
            assert!(!text.contains(n.as_str()), "{i} leaks {n:?}");
        }
    }
}

/// A crash between the request write and routing (or anywhere in an auto-approval), then the
/// platform's redelivery, ends exactly like a clean run.
#[test]
fn a_crash_anywhere_in_intake_routing_then_redelivery_converges() {
    for prefix in ["007", "005"] {
        let ev = event(prefix);
        let mut clean = wasm();
        let calls = clean.deliver(&ev).unwrap().counts.total;
        clean.settle();
        // The hourly runner finishes follow-ups whose queue push a crash lost.
        clean.run_scheduled("job-runner").unwrap();
        clean.settle();
        // The pending counter's deltas are folded by whichever runner comes after them (the
        // count they make is checked by dst's invariant, D-250): not part of the comparison.
        let unfolded = |mut v: Value| {
            v["keysByPrefix"]
                .as_object_mut()
                .map(|m| m.remove("pending-delta"));
            v
        };
        let expected = unfolded(clean.export_state());
        for n in (1..=calls).step_by(2) {
            let mut sim = wasm();
            sim.next_plan = FaultPlan::crash_at(n);
            let crashed = sim.deliver(&ev).unwrap();
            assert_eq!(crashed.outcome, RawOutcome::Crashed { at_call: n });
            sim.deliver(&ev).unwrap();
            sim.settle();
            sim.run_scheduled("job-runner").unwrap();
            sim.settle();
            let mut got = unfolded(sim.export_state());
            got["queued"] = expected["queued"].clone();
            assert_eq!(
                got, expected,
                "event {prefix}: crash at call {n} + redelivery differs"
            );
            assert!(verify(&mut sim).ok);
        }
    }
}

/// The decision's issue notice is posted once: a redelivered queue event finds nothing to do,
/// and a notice replayed after its comment was posted (a crash before the record was updated)
/// finds its comment by the `aiclearance.notice` property and does not post again.
#[test]
fn decision_notices_are_idempotent() {
    let mut sim = wasm();
    deliver(&mut sim, &["002"]);
    sim.resolve(
        "clearance.approvals.decide",
        &json!({"issueKey": "AIR-2", "decision": "approve"}),
        Some(MARCUS),
    );
    let notice =
        kvs_value(&sim, "decision-notice:10101.approved").expect("staged with the decision");
    sim.settle();
    assert!(kvs_value(&sim, "decision-notice:10101.approved").is_none());
    let approved = |sim: &Sim| {
        issue_comments(sim, "AIR-2")
            .iter()
            .filter(|c| c.contains("access approved"))
            .count()
    };
    assert_eq!(approved(&sim), 1);
    let body = json!({"noticeId": "10101.approved"});
    sim.deliver_queue("decisions", &body);
    // Replay the notice as it was before it ran (comment not yet marked done).
    sim.state_mut().kvs.insert(
        "decision-notice:10101.approved".into(),
        host_sim::emulator::Stored {
            value: notice.to_string(),
            expires_at_ms: None,
        },
    );
    sim.deliver_queue("decisions", &body);
    assert_eq!(
        approved(&sim),
        1,
        "the comment property stops a second post"
    );
    assert!(kvs_value(&sim, "decision-notice:10101.approved").is_none());
}

// covers: CL-225, CL-178
#[test]
fn approval_access_follows_the_site_intake_config() {
    let mut sim = basic();
    let mut cfg = ok(&mut sim, "admin.intake.get", json!({}), ADMIN)["config"].clone();
    cfg["approvals"] = json!({});
    ok(&mut sim, "admin.intake.set", cfg.clone(), ADMIN);
    assert_eq!(
        ok(&mut sim, "page.context", json!({}), MARCUS)["showApprovals"],
        false,
        "no approvers configured: only Jira admins have approval access"
    );
    cfg["approvals"] = json!({"approverGroups": ["ai-approvers"]});
    ok(&mut sim, "admin.intake.set", cfg, ADMIN);
    assert_eq!(
        ok(&mut sim, "page.context", json!({}), MARCUS)["showApprovals"],
        true
    );
    assert_eq!(
        ok(&mut sim, "page.context", json!({}), ADMIN)["showApprovals"],
        true
    );
    // Site-governance first: one intake record, no project-settings page.
    assert_eq!(count_prefix(&sim, "site-intake-config"), 1);
    let manifest = std::fs::read_to_string(root().join("manifest.yml")).unwrap();
    assert!(!manifest.contains("jira:projectSettingsPage"));
}

/// Bad payloads get typed errors and write nothing; a path-task holder cannot manage grants.
#[test]
fn bad_payloads_are_typed_errors_and_change_nothing() {
    let mut sim = wasm();
    deliver(&mut sim, &["002", "005", "007"]);
    let state = |sim: &Sim| {
        let mut s = sim.export_state();
        s["keysByPrefix"]
            .as_object_mut()
            .unwrap()
            .remove("rate-limit");
        s
    };
    let before = state(&sim);
    let cases = [
        (
            "clearance.approvals.decide",
            json!({"issueKey": "AIR-2", "decision": "maybe"}),
            MARCUS,
            "DECISION_INVALID",
        ),
        (
            "clearance.approvals.bulkDecide",
            json!({"issueKeys": [1, 2], "decision": "approve"}),
            MARCUS,
            "BULK_KEYS_INVALID",
        ),
        (
            "clearance.approvals.bulkDecide",
            json!({"issueKeys": [], "decision": "approve"}),
            MARCUS,
            "BULK_KEYS_INVALID",
        ),
        (
            "clearance.approvals.decide",
            json!({"issueKey": "../etc", "decision": "approve"}),
            MARCUS,
            "REQUEST_NOT_FOUND",
        ),
        (
            "admin.policies.save",
            json!({"id": "x y"}),
            ADMIN,
            "POLICY_INVALID",
        ),
        (
            "admin.governance.exceptions.create",
            json!({"toolId": "nope"}),
            ADMIN,
            "EXCEPTION_INVALID",
        ),
        (
            "admin.catalog.upsert",
            json!({"id": "UPPER", "status": "maybe"}),
            ADMIN,
            "TOOL_INVALID",
        ),
        (
            "admin.exports.requests",
            json!({"from": "yesterday"}),
            ADMIN,
            "EXPORT_RANGE_INVALID",
        ),
        (
            "admin.exports.requests",
            json!({"format": "xlsx"}),
            ADMIN,
            "EXPORT_FORMAT_INVALID",
        ),
        (
            "clearance.grants.extend",
            json!({"grantId": "g-nope", "days": 5}),
            ADMIN,
            "GRANT_NOT_FOUND",
        ),
        (
            "clearance.jobs.complete",
            json!({"jobId": "nope", "action": "fulfilled"}),
            MARCUS,
            "JOB_NOT_FOUND",
        ),
        // Sofia holds the AIR-5 security task, but that does not let her change anyone's grant.
        (
            "clearance.grants.revoke",
            json!({"grantId": "g-10106"}),
            SOFIA,
            "NOT_APPROVER",
        ),
    ];
    for (f, p, who, code) in cases {
        assert_eq!(err(&mut sim, f, p.clone(), who), code, "{f} {p}");
    }
    assert_eq!(state(&sim), before);
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), SOFIA);
    assert_eq!(tab["manualActions"].as_array().unwrap().len(), 0);
}

/// Only the governance path pinned when the request was routed decides it. Cancelling it holds
/// the request (never a laxer route), audited with who and why; a hand-started path — even
/// governance's own definition, even by an admin — is advisory; an admin re-routes a held
/// request on the record, and the pinned path runs again.
// covers: CL-030, CL-032
#[test]
fn only_the_pinned_governance_path_decides_and_a_cancel_holds_the_request() {
    let mut sim = wasm();
    deliver(&mut sim, &["005"]); // AIR-5 (high risk) → Security review
    let route = request(&sim, "10104")["route"].clone();
    assert_eq!(route["kind"], "path");
    assert!(route["governanceVersion"].is_u64() && route["definitionVersion"].is_u64());
    ok(
        &mut sim,
        "approvals.cancel",
        json!({"approvalId": route["approvalId"], "reason": "wrong reviewers"}),
        ADMIN,
    );
    sim.settle();
    let held = request(&sim, "10104")["route"].clone();
    assert_eq!(held["kind"], "held", "cancelled: held, not direct");
    let entry = audit_of(&sim, "request_held")
        .pop()
        .expect("the hold is audited");
    assert_eq!(entry["actor"], ADMIN, "{entry}");
    assert_eq!(entry["issueKey"], "AIR-5");
    // A held request is not approved directly, by anyone.
    assert_eq!(
        decide(&mut sim, MARCUS, "AIR-5", "approve").unwrap_err(),
        "GOVERNANCE_NOT_READY"
    );
    // Aisha (the requester) starts the laxer Standard path on her own request, and an admin
    // starts an automation-only path: both run, neither decides the request.
    let aisha = "712020:89984cad-7859-5ca0-9ed3-b961974cf056";
    ok(
        &mut sim,
        "approvals.start",
        json!({"definitionId": "standard-ai-access", "issueKey": "AIR-5"}),
        aisha,
    );
    ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {"id": "rubber-stamp", "name": "Rubber stamp", "steps": [
            {"name": "Note", "type": "AUTOMATION", "comment": "ok"}]}}),
        ADMIN,
    );
    ok(
        &mut sim,
        "approvals.start",
        json!({"definitionId": "rubber-stamp", "issueKey": "AIR-5"}),
        ADMIN,
    );
    sim.settle();
    assert_eq!(request(&sim, "10104")["decision"], "pending");
    assert_eq!(request(&sim, "10104")["route"]["kind"], "held");
    // The admin re-routes it, with a reason: governance's pinned path starts again.
    assert_eq!(
        err(
            &mut sim,
            "admin.requests.reroute",
            json!({"issueKey": "AIR-5"}),
            ADMIN
        ),
        "REASON_REQUIRED"
    );
    let again = ok(
        &mut sim,
        "admin.requests.reroute",
        json!({"issueKey": "AIR-5", "reason": "reviewers fixed"}),
        ADMIN,
    );
    assert_eq!(again["route"], "path");
    assert_ne!(again["approvalId"], route["approvalId"]);
    assert_eq!(
        request(&sim, "10104")["route"]["approvalId"],
        again["approvalId"]
    );
    assert_eq!(audit_of(&sim, "request_rerouted").len(), 1);
}

/// Forge allows 25 operations a transaction; the app's largest (a decision with its grant,
/// job, notice, indexes and audit entries) keeps a margin for what later issues add.
#[test]
fn the_largest_transaction_of_the_whole_scenario_keeps_a_margin_under_forges_25_operations() {
    let sim = whole_scenario(&[]);
    let peak = sim.state().kvs_budget.peak_tx_ops;
    eprintln!("largest transaction: {peak} operations");
    assert!(peak >= 10, "the scenario ran no decision: {peak}");
    assert!(peak <= 23, "a transaction holds {peak} of 25 operations");
}
