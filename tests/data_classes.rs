//! Governance that knows it is about AI (issue 35, first slice): tools carry a data profile,
//! requesters declare data classes and a purpose, and the state-changing code enforces the
//! classes: a class the tool's profile does not list is never approved without a person, and a
//! class governance prohibits for the tool is refused at intake with the reason, audited.

mod common;

use common::*;
use host_sim::sim::Sim;
use serde_json::{json, Value};

const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4"; // ai-approvers

fn request(sim: &Sim, issue_id: &str) -> Value {
    kvs_value(sim, &format!("request:{issue_id}")).expect("request stored")
}

/// A portal request by Jonas (engineering: the `copilot-engineering` policy auto-approves his
/// Copilot requests up to 90 days) with this snapshot; returns (issue key, issue id).
fn file(sim: &mut Sim, snapshot: Value) -> (String, String) {
    portal_file(sim, JONAS, "Copilot for on-call tooling", &snapshot)
}

fn copilot(days: u64, classes: Option<Value>) -> Value {
    let mut s = json!({"toolId": "github-copilot", "newTool": null, "durationDays": days,
                       "portalId": 1, "requestTypeId": 12});
    if let Some(c) = classes {
        s["dataClasses"] = c;
        s["purpose"] = json!("Writing runbook scripts for the on-call rotation");
    }
    s
}

/// Copilot's profile: approved for public, internal and source code (an admin's upsert, which
/// is audited like every catalog write).
fn profile_copilot(sim: &mut Sim) {
    let t = ok(
        sim,
        "admin.catalog.upsert",
        json!({"id": "github-copilot", "dataProfile": {
            "approvedClasses": ["public", "internal", "source-code"],
            "vendorTerms": {"trainsOnInputs": "no", "inputRetention": "not retained for completions",
                            "dataResidency": "US", "enterpriseAgreement": true,
                            "termsUrl": "https://github.com/customer-terms", "verify": false}}}),
        ADMIN,
    );
    assert_eq!(
        t["tool"]["dataProfile"]["approvedClasses"],
        json!(["public", "internal", "source-code"])
    );
    let saved = audit_of(sim, "tool_saved");
    let last = saved.iter().max_by_key(|e| e["seq"].as_u64()).unwrap();
    assert!(
        last["data"]["changed"]
            .as_array()
            .unwrap()
            .contains(&json!("dataProfile")),
        "{last}"
    );
}

/// Copilot's record as it was stored before issue 35: no `dataProfile` field at all.
fn strip_profile(sim: &mut Sim) {
    let key = "tool:github-copilot";
    let mut t = kvs_value(sim, key).unwrap();
    t.as_object_mut().unwrap().remove("dataProfile");
    sim.state_mut().kvs.get_mut(key).unwrap().value = t.to_string();
}

// covers: CL-007, CL-040, CL-045
#[test]
fn old_snapshots_still_ingest_and_auto_approve_as_before() {
    let mut sim = wasm();
    strip_profile(&mut sim);
    // A snapshot written before issue 35 (no classes, no purpose): unchanged behaviour.
    let (_, id) = file(&mut sim, copilot(30, None));
    let r = request(&sim, &id);
    assert_eq!(r["decision"], "approved");
    assert_eq!(r["decisionSource"], "auto-policy");
    assert!(r.get("dataClasses").is_none() && r.get("purpose").is_none());
    let a = &audit_of(&sim, "request_approved")[0];
    assert!(a["data"].get("dataClasses").is_none(), "{a}");
}

// covers: CL-007, CL-040, CL-045
#[test]
fn classes_within_the_profile_auto_approve_and_the_audit_names_them() {
    let mut sim = wasm();
    profile_copilot(&mut sim);
    let (_, id) = file(
        &mut sim,
        copilot(30, Some(json!(["source-code", "internal"]))),
    );
    let r = request(&sim, &id);
    assert_eq!(r["decision"], "approved", "{r}");
    assert_eq!(r["dataClasses"], json!(["source-code", "internal"]));
    assert_eq!(
        r["purpose"],
        "Writing runbook scripts for the on-call rotation"
    );
    let a = &audit_of(&sim, "request_approved")[0];
    assert_eq!(a["data"]["dataClasses"], json!(["source-code", "internal"]));
    assert!(a["data"].get("dataClassReview").is_none());
    let created = &audit_of(&sim, "request_created")[0];
    assert_eq!(
        created["data"]["dataClasses"],
        json!(["source-code", "internal"])
    );
    assert!(verify(&mut sim).ok);
}

// covers: CL-042
#[test]
fn a_declared_class_outside_the_profile_goes_to_a_person_who_sees_why() {
    let mut sim = wasm();
    profile_copilot(&mut sim);
    let (key, id) = file(
        &mut sim,
        copilot(30, Some(json!(["source-code", "customer-data"]))),
    );
    let r = request(&sim, &id);
    assert_eq!(r["decision"], "pending", "never auto-approved: {r}");
    assert_eq!(r["route"]["kind"], "direct");
    assert_eq!(r["route"]["autoApproval"]["reason"], "DATA_CLASS_REVIEW");
    let why = r["route"]["autoApproval"]["message"].as_str().unwrap();
    assert!(
        why.contains("customer-data") && !why.contains("source-code"),
        "{why}"
    );
    assert!(audit_of(&sim, "request_approved").is_empty());

    // The approver's row carries what was declared, the purpose and the reason.
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    let rows = tab["pending"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|x| x["issueKey"] == key.as_str())
        .unwrap_or_else(|| panic!("{key} not on the tab: {tab}"));
    assert_eq!(row["dataClasses"], json!(["source-code", "customer-data"]));
    assert_eq!(
        row["purpose"],
        "Writing runbook scripts for the on-call rotation"
    );
    assert_eq!(row["autoApproval"]["reason"], "DATA_CLASS_REVIEW");

    // A person may still approve; the decision's audit entry names the classes and why.
    ok(
        &mut sim,
        "clearance.approvals.decide",
        json!({"issueKey": key, "decision": "approve"}),
        MARCUS,
    );
    sim.settle();
    let a = &audit_of(&sim, "request_approved")[0];
    assert_eq!(a["data"]["source"], "approver");
    assert_eq!(
        a["data"]["dataClasses"],
        json!(["source-code", "customer-data"])
    );
    assert!(a["data"]["dataClassReview"]
        .as_str()
        .unwrap()
        .contains("customer-data"));
    assert!(verify(&mut sim).ok);
}

// covers: CL-042
#[test]
fn a_tool_without_a_profile_auto_approves_no_declared_class() {
    // A Copilot record stored before data profiles existed (no `dataProfile`): any declared
    // class needs a person; declaring none keeps the old behaviour.
    let mut sim = wasm();
    strip_profile(&mut sim);
    let (_, id) = file(&mut sim, copilot(30, Some(json!(["public"]))));
    let r = request(&sim, &id);
    assert_eq!(r["decision"], "pending", "{r}");
    assert_eq!(r["route"]["autoApproval"]["reason"], "DATA_CLASS_REVIEW");
}

// covers: CL-012
#[test]
fn a_prohibited_class_is_refused_at_intake_with_the_reason_told_and_audited() {
    let mut sim = wasm();
    profile_copilot(&mut sim);
    let g = ok(
        &mut sim,
        "admin.governance.save",
        json!({"dataClassRules": {"github-copilot": {"customer-data": "prohibited", "internal": "review"}}}),
        ADMIN,
    );
    let version = g["governance"]["version"].as_u64().unwrap();
    let gov = kvs_value(&sim, "governance-policy").unwrap_or(Value::Null);
    assert_eq!(
        gov["dataClassRules"]["github-copilot"]["customer-data"], "prohibited",
        "{g}"
    );
    let changed = audit_of(&sim, "governance_updated");
    assert!(changed.iter().any(
        |e| e["data"]["governance"]["dataClassRules"]["github-copilot"]["customer-data"]
            == "prohibited"
    ));

    let (key, id) = file(
        &mut sim,
        copilot(30, Some(json!(["customer-data", "internal"]))),
    );
    assert!(
        kvs_value(&sim, &format!("request:{id}")).is_none(),
        "no request"
    );
    let rej = kvs_value(&sim, &format!("intake-rejection:{id}")).unwrap();
    assert_eq!(rej["code"], "DATA_CLASS_PROHIBITED");
    assert_eq!(rej["field"], "dataClasses");
    let msg = rej["message"].as_str().unwrap();
    assert!(
        msg.contains("customer-data") && msg.contains("GitHub Copilot"),
        "{msg}"
    );
    // The requester is told, as for other intake refusals.
    let comments = issue_comments(&sim, &key).join("\n");
    assert!(comments.contains("customer-data"), "{comments}");
    // And it is in the audit trail, with what was declared and the governance version.
    let refused = audit_of(&sim, "request_refused");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["issueKey"], key.as_str());
    assert_eq!(
        refused[0]["data"]["dataClasses"],
        json!(["customer-data", "internal"])
    );
    assert_eq!(refused[0]["data"]["code"], "DATA_CLASS_PROHIBITED");
    assert_eq!(refused[0]["policyVersion"], version);
    // A redelivery writes no second entry.
    let ev = json!({"eventType": "avi:jira:created:issue",
        "issue": {"id": id, "key": key, "fields": {"project": {"id": "10000", "key": "AIR"},
                  "reporter": {"accountId": JONAS}}}, "atlassianId": JONAS});
    sim.deliver(&ev).unwrap();
    sim.settle();
    assert_eq!(audit_of(&sim, "request_refused").len(), 1);

    // The "review" rule: internal is in Copilot's profile, but governance wants a person.
    let (_, id) = file(&mut sim, copilot(30, Some(json!(["internal"]))));
    let r = request(&sim, &id);
    assert_eq!(r["decision"], "pending", "{r}");
    assert_eq!(r["route"]["autoApproval"]["reason"], "DATA_CLASS_REVIEW");
    let (_, id) = file(&mut sim, copilot(30, Some(json!(["source-code"]))));
    assert_eq!(request(&sim, &id)["decision"], "approved");
    assert!(verify(&mut sim).ok);
}

// covers: CL-005
#[test]
fn the_panel_refuses_a_prohibited_class_before_create_and_lists_the_classes() {
    let mut sim = wasm();
    profile_copilot(&mut sim);
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"dataClassRules": {"github-copilot": {"customer-data": "prohibited", "internal": "review"}}}),
        ADMIN,
    );
    let o = ok(
        &mut sim,
        "panel.options",
        json!({"portalId": 1, "requestTypeId": 12}),
        JONAS,
    );
    assert_eq!(o["dataClasses"].as_array().unwrap().len(), 8);
    let t = o["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "github-copilot")
        .unwrap();
    // The form's per-class hint is the rule intake and the kernel apply: the profile's classes
    // less those governance sends to review, and the ones it prohibits (refused, not "a person
    // decides").
    assert_eq!(t["approvedClasses"], json!(["public", "source-code"]));
    assert_eq!(t["prohibitedClasses"], json!(["customer-data"]));
    assert!(t.get("vendorTerms").is_none() && t.get("fulfilmentNotes").is_none());
    let v = ok(
        &mut sim,
        "panel.validate",
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "github-copilot", "durationDays": 30,
               "dataClasses": ["customer-data"]}),
        JONAS,
    );
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"]["dataClasses"]["code"], "DATA_CLASS_PROHIBITED");
    let v = ok(
        &mut sim,
        "panel.validate",
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "github-copilot", "durationDays": 30,
               "dataClasses": ["no-such-class"]}),
        JONAS,
    );
    assert_eq!(v["errors"]["dataClasses"]["code"], "DATA_CLASS_UNKNOWN");
    let v = ok(
        &mut sim,
        "panel.validate",
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "github-copilot", "durationDays": 30,
               "dataClasses": ["source-code"], "purpose": "runbooks"}),
        JONAS,
    );
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["snapshot"]["dataClasses"], json!(["source-code"]));
    assert_eq!(v["snapshot"]["purpose"], "runbooks");
    // Without classes the submitted snapshot is exactly the old shape.
    let v = ok(
        &mut sim,
        "panel.validate",
        json!({"portalId": 1, "requestTypeId": 12, "toolId": "github-copilot", "durationDays": 30}),
        JONAS,
    );
    assert!(v["snapshot"].get("dataClasses").is_none() && v["snapshot"].get("purpose").is_none());
}

// covers: CL-020
#[test]
fn catalog_validation_gives_typed_errors_and_old_records_stay_valid() {
    let mut sim = wasm();
    let base = json!({"id": "github-copilot"});
    let with = |p: Value| {
        let mut b = base.clone();
        b["dataProfile"] = p;
        b
    };
    assert_eq!(
        err(
            &mut sim,
            "admin.catalog.upsert",
            with(json!({"approvedClasses": ["trade-secrets"]})),
            ADMIN
        ),
        "DATA_CLASS_UNKNOWN"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.catalog.upsert",
            with(json!({"vendorTerms": {"termsUrl": "http://github.com/terms"}})),
            ADMIN
        ),
        "TERMS_URL_INVALID"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.catalog.upsert",
            with(json!({"vendorTerms": {"trainsOnInputs": "maybe"}})),
            ADMIN
        ),
        "DATA_PROFILE_INVALID"
    );
    // An edit of a record saved before profiles existed (no dataProfile) still saves.
    strip_profile(&mut sim);
    let t = ok(
        &mut sim,
        "admin.catalog.upsert",
        json!({"id": "github-copilot", "guidance": "Company repositories only."}),
        ADMIN,
    );
    assert!(t["tool"].get("dataProfile").is_none(), "{t}");
    // The site's own class list: a class it adds becomes usable, one it drops is unknown.
    ok(
        &mut sim,
        "admin.governance.save",
        json!({"dataClasses": ["public", "internal", "trade-secrets"]}),
        ADMIN,
    );
    let t = ok(
        &mut sim,
        "admin.catalog.upsert",
        with(json!({"approvedClasses": ["trade-secrets"]})),
        ADMIN,
    );
    assert_eq!(
        t["tool"]["dataProfile"]["approvedClasses"],
        json!(["trade-secrets"])
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.catalog.upsert",
            with(json!({"approvedClasses": ["source-code"]})),
            ADMIN
        ),
        "DATA_CLASS_UNKNOWN"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.governance.save",
            json!({"dataClassRules": {"github-copilot": {"source-code": "prohibited"}}}),
            ADMIN
        ),
        "GOVERNANCE_INVALID"
    );
}
