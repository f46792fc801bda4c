//! The approval path engine, end to end through the compiled component: definitions, decisions,
//! effects (Jira comment + transition, HTTP, email), STEP_DECISION webhooks, deadlines, access
//! and crash recovery.

mod common;

use common::*;
use hmac::{Hmac, KeyInit, Mac};
use host_sim::faults::{Fault, FaultPlan, Service};
use host_sim::runtime::RawOutcome;
use host_sim::Sim;
use serde_json::{json, Value};
use sha2::Sha256;

const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0"; // ai-approvers, engineering
const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4"; // ai-approvers
const HELENA: &str = "5c41318d11064151843f092c"; // ai-approvers, legal
const DANIEL: &str = "712020:1da71dc4-ac1b-595b-9c64-d53b508953da"; // Chloe: marketing, no approver role
const LIAM: &str = "5fd8f375d9ca892faff3f94f"; // it-ops; not in engineering

/// Two approvers in parallel (a named user and the ai-approvers group), then an automation
/// comment that transitions the issue; success sends an email and calls an HTTP endpoint.
fn standard_definition() -> Value {
    json!({"definition": {
        "name": "Standard AI access",
        "description": "Everyday AI tools for employees",
        "decisionDeadlineHours": 48,
        "validityDays": 90,
        "steps": [
            {"name": "Team lead", "type": "USER", "parallelGroupNumber": 1, "approvers": [PRIYA],
             "delegates": {PRIYA: [HELENA]}},
            {"name": "AI approvers", "type": "GROUP", "parallelGroupNumber": 1, "group": "ai-approvers"},
            {"name": "Record decision", "type": "AUTOMATION", "parallelGroupNumber": 2,
             "comment": "{{ approval.name }}: {% for s in approval.steps %}{{ s.name }}={{ s.decision }} {% endfor %}",
             "transition": "Start progress"}
        ],
        "successSteps": [
            {"name": "Tell the requester", "type": "EMAIL", "event": "APPROVAL_COMPLETED", "recipients": ["reporter", "originator"]},
            {"name": "Notify IAM", "type": "HTTP", "method": "POST", "url": "https://hooks.ardsaor.io/iam/${approval.id}",
             "headers": [["X-Issue", "{{ issue.key }}"]], "body": "{\"approval\": \"{{ approval.id }}\", \"status\": \"{{ approval.status }}\"}"}
        ],
        "rejectionSteps": [
            {"name": "Explain", "type": "AUTOMATION", "comment": "Declined: {{ approval.steps[0].comment }}"}
        ],
        "expirationSteps": [
            {"name": "Expired note", "type": "AUTOMATION", "comment": "No decision before {{ approval.decisionDeadline }}"}
        ]
    }})
}

/// Saves `def`; unless it says otherwise, anyone who can see an issue may start it.
fn define(sim: &mut Sim, mut def: Value) -> String {
    if def["definition"].get("starters").is_none() {
        def["definition"]["starters"] = json!({"mode": "anyone"});
    }
    let v = ok(sim, "admin.definitions.save", def, ADMIN);
    v["definition"]["id"].as_str().unwrap().to_string()
}

fn start(sim: &mut Sim, def: &str, issue: &str, who: &str) -> Value {
    ok(
        sim,
        "approvals.start",
        json!({"definitionId": def, "issueKey": issue}),
        who,
    )["approval"]
        .clone()
}

fn statuses(a: &Value, phase: &str) -> Vec<String> {
    a[phase]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_string())
        .collect()
}

fn get(sim: &mut Sim, id: &str) -> Value {
    ok(sim, "webapi.v2.approvals.get", json!({"id": id}), ADMIN)
}

// covers: AP-001, AP-002, AP-003, AP-004, AP-005, AP-006, AP-007
#[test]
fn an_approval_walks_its_groups_and_runs_every_step_type() {
    let mut sim = basic();
    let hook = ok(
        &mut sim,
        "admin.webhooks.create",
        json!({"url": "https://hooks.ardsaor.io/step-decisions"}),
        ADMIN,
    );
    let secret = hook["secret"].as_str().unwrap().to_string();
    let def = define(&mut sim, standard_definition());
    let a = start(&mut sim, &def, "AIR-1", JONAS);
    let id = a["id"].as_str().unwrap().to_string();
    // The web API v2 shape.
    for field in [
        "id",
        "name",
        "status",
        "progress",
        "decisionDeadline",
        "validityExpirationDate",
        "expiry",
        "originApproval",
        "restartReason",
        "outdated",
        "startedAt",
        "currentStepActivatedAt",
        "steps",
        "successSteps",
        "rejectionSteps",
        "expirationSteps",
    ] {
        assert!(a.get(field).is_some(), "approval view lacks {field}");
    }
    assert_eq!(a["status"], "RUNNING");
    assert_eq!(statuses(&a, "steps"), ["ACTIVE", "ACTIVE", "WAIT"]);
    assert!(a["decisionDeadline"].is_string());
    // The approver inbox.
    let tasks = ok(&mut sim, "approvals.pending", json!({}), MARCUS);
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(
        ok(&mut sim, "approvals.pending", json!({}), DANIEL)["tasks"],
        json!([])
    );

    // The delegate decides for Priya; a group member approves: group 1 is done.
    let a = ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": id, "stepId": "s1", "decision": "approve", "comment": "fine by me"}),
        HELENA,
    )["approval"]
        .clone();
    assert_eq!(a["steps"][0]["decisions"][0]["onBehalfOf"], PRIYA);
    assert_eq!(statuses(&a, "steps"), ["SUCCESS", "ACTIVE", "WAIT"]);
    let a = ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": id, "stepId": "s2", "decision": "approve"}),
        MARCUS,
    )["approval"]
        .clone();
    assert_eq!(statuses(&a, "steps"), ["SUCCESS", "SUCCESS", "ACTIVE"]);

    // The queue runs the automation: comment + transition, then the success phase.
    let recs = sim.settle();
    assert!(
        recs.iter().all(|r| matches!(r.outcome, RawOutcome::Ok(_))),
        "{recs:?}"
    );
    let a = get(&mut sim, &id);
    assert_eq!(a["status"], "APPROVED");
    assert_eq!(statuses(&a, "steps"), ["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert_eq!(statuses(&a, "successSteps"), ["SUCCESS", "SUCCESS"]);
    assert_eq!(statuses(&a, "rejectionSteps"), ["WAIT"]);
    assert_eq!(a["progress"], 100);
    assert!(a["validityExpirationDate"].is_string());
    let c = issue_comments(&sim, "AIR-1");
    assert!(
        c.iter()
            .any(|t| t.contains("Standard AI access: Team lead=APPROVED AI approvers=APPROVED")),
        "{c:?}"
    );
    assert_eq!(
        sim.state().site.issue("AIR-1").unwrap().status,
        "2",
        "Start progress ran (to In progress)"
    );

    // EMAIL: one outbox record from the tenant template.
    let outbox = ok(&mut sim, "admin.outbox.list", json!({}), ADMIN);
    let emails = outbox["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["event"], "APPROVAL_COMPLETED");
    assert!(emails[0]["subject"]
        .as_str()
        .unwrap()
        .contains("AIR-1: approved"));
    assert_eq!(emails[0]["to"][0]["accountId"], JONAS);

    // HTTP: rendered URL (legacy tag), headers and body, with an idempotency key.
    let inbox = &sim.state().hook_inbox;
    let call = inbox
        .iter()
        .find(|r| r.url.contains("/iam/"))
        .expect("the HTTP step called the endpoint");
    assert_eq!(call.url, format!("https://hooks.ardsaor.io/iam/{id}"));
    assert!(call
        .headers
        .iter()
        .any(|(k, v)| k == "X-Issue" && v == "AIR-1"));
    assert!(call.headers.iter().any(|(k, _)| k == "Idempotency-Key"));
    let body: Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"approval": id, "status": "APPROVED"}));

    // STEP_DECISION webhooks: one per completed step (2 decisions + automation + email + HTTP),
    // each signed with the secret.
    let hooks: Vec<_> = inbox
        .iter()
        .filter(|r| r.url.ends_with("/step-decisions"))
        .collect();
    assert_eq!(
        hooks.len(),
        5,
        "{:?}",
        hooks.iter().map(|h| &h.body).collect::<Vec<_>>()
    );
    for h in &hooks {
        let header = |n: &str| {
            h.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let body = h.body.as_deref().unwrap();
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(format!("{}.{}", header("X-AIClearance-Timestamp"), body).as_bytes());
        let expected = format!(
            "sha256={}",
            aiclearance::audit::chain::hex(&m.finalize().into_bytes())
        );
        assert_eq!(header("X-AIClearance-Signature"), expected);
        assert_eq!(header("X-AIClearance-Event"), "STEP_DECISION");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["approval"]["id"], id);
        assert!(!body.contains(&secret));
    }
    assert_eq!(
        ok(&mut sim, "admin.webhooks.deliveries", json!({}), ADMIN)["pending"],
        json!([])
    );
}

// covers: AP-003
#[test]
fn a_rejection_runs_the_rejection_branch_only() {
    let mut sim = basic();
    let def = define(&mut sim, standard_definition());
    let id = start(&mut sim, &def, "AIR-2", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": id, "stepId": "s1", "decision": "reject", "comment": "no budget"}),
        PRIYA,
    );
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["status"], "REJECTED");
    assert_eq!(statuses(&a, "steps"), ["FAIL", "SKIPPED", "SKIPPED"]);
    assert_eq!(statuses(&a, "rejectionSteps"), ["SUCCESS"]);
    assert_eq!(statuses(&a, "successSteps"), ["WAIT", "WAIT"]);
    assert!(issue_comments(&sim, "AIR-2")
        .iter()
        .any(|c| c == "Declined: no budget"));
    // Nothing left to decide.
    assert_eq!(
        ok(&mut sim, "approvals.pending", json!({}), MARCUS)["tasks"],
        json!([])
    );
    assert_eq!(
        err(
            &mut sim,
            "approvals.decide",
            json!({"approvalId": id, "stepId": "s2", "decision": "approve"}),
            MARCUS
        ),
        "APPROVAL_CLOSED"
    );
}

#[test]
fn deciding_is_limited_to_approvers_delegates_and_admins() {
    let mut sim = basic();
    let def = define(&mut sim, standard_definition());
    let id = start(&mut sim, &def, "AIR-3", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let decide = |step: &str| json!({"approvalId": id, "stepId": step, "decision": "approve"});
    assert_eq!(
        err(&mut sim, "approvals.decide", decide("s1"), DANIEL),
        "NOT_AN_APPROVER"
    );
    assert_eq!(
        err(&mut sim, "approvals.decide", decide("s2"), DANIEL),
        "NOT_AN_APPROVER"
    );
    // Marcus is in the group, not the named approver of s1.
    assert_eq!(
        err(&mut sim, "approvals.decide", decide("s1"), MARCUS),
        "NOT_AN_APPROVER"
    );
    assert_eq!(
        err(&mut sim, "approvals.decide", decide("s9"), MARCUS),
        "STEP_NOT_FOUND"
    );
    assert_eq!(
        err(
            &mut sim,
            "approvals.decide",
            json!({"approvalId": id, "stepId": "s2", "decision": "maybe"}),
            MARCUS
        ),
        "DECISION_INVALID"
    );
    assert_eq!(
        err(
            &mut sim,
            "approvals.decide",
            json!({"approvalId": "apr-nope", "stepId": "s2", "decision": "approve"}),
            MARCUS
        ),
        "APPROVAL_NOT_FOUND"
    );
    // Nothing changed by the refused attempts.
    let a = get(&mut sim, &id);
    assert_eq!(statuses(&a, "steps"), ["ACTIVE", "ACTIVE", "WAIT"]);
    // An admin may override, with a reason (D-61).
    let mut with_reason = decide("s1");
    with_reason["comment"] = json!("Priya is away; confirmed the need with her manager");
    assert_eq!(
        err(&mut sim, "approvals.decide", decide("s1"), ADMIN),
        "OVERRIDE_REASON_REQUIRED"
    );
    ok(&mut sim, "approvals.decide", with_reason, ADMIN);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["decisions"][0]["adminOverride"], true);
    // Duplicate decisions are refused.
    ok(&mut sim, "approvals.decide", decide("s2"), MARCUS);
    assert_eq!(
        err(&mut sim, "approvals.decide", decide("s2"), MARCUS),
        "STEP_NOT_ACTIVE"
    );
    // Admin-only resolvers.
    assert_eq!(
        err(
            &mut sim,
            "admin.definitions.save",
            standard_definition(),
            MARCUS
        ),
        "ADMIN_REQUIRED"
    );
    assert_eq!(
        err(
            &mut sim,
            "webapi.v2.definitions.get",
            json!({"id": def}),
            MARCUS
        ),
        "ADMIN_REQUIRED"
    );
}

#[test]
fn approvals_on_issues_a_user_cannot_see_are_invisible_to_them() {
    let mut sim = basic();
    let def = define(&mut sim, standard_definition());
    let id = start(&mut sim, &def, "ENG-1", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        err(&mut sim, "webapi.v2.approvals.get", json!({"id": id}), LIAM),
        "APPROVAL_NOT_FOUND"
    );
    assert_eq!(
        err(
            &mut sim,
            "approvals.forIssue",
            json!({"issueKey": "ENG-1"}),
            LIAM
        ),
        "ISSUE_NOT_FOUND"
    );
    assert_eq!(
        err(
            &mut sim,
            "approvals.start",
            json!({"definitionId": def, "issueKey": "ENG-1"}),
            LIAM
        ),
        "ISSUE_NOT_FOUND"
    );
    // Priya is in engineering and sees it.
    assert_eq!(
        ok(
            &mut sim,
            "webapi.v2.approvals.get",
            json!({"id": id}),
            PRIYA
        )["id"],
        id
    );
    assert_eq!(
        ok(
            &mut sim,
            "approvals.forIssue",
            json!({"issueKey": "ENG-1"}),
            PRIYA
        )["approvals"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn definitions_are_validated_with_field_errors() {
    let mut sim = basic();
    let rec = sim.resolve(
        "admin.definitions.save",
        &json!({"definition": {"name": "Bad", "steps": [
            {"name": "G", "type": "GROUP", "group": "no-such-group"},
            {"name": "g", "type": "USER", "approvers": []},
            {"name": "P1", "type": "PROMPT", "body": "x"},
            {"name": "h", "type": "HTTP", "method": "POST", "url": "http://plain.example"},
            {"name": "c", "type": "USER", "approvers": [PRIYA], "condition": {"id": "c1", "expression": "issue.fields.summary =="}}
        ], "successSteps": [{"name": "P1", "type": "PROMPT", "body": "y"}]}}),
        Some(ADMIN),
    );
    let RawOutcome::Err(e) = &rec.outcome else {
        panic!("{:?}", rec.outcome)
    };
    assert_eq!(e.code, "DEFINITION_INVALID");
    let details: Value = e.details.clone().unwrap();
    let fields: Vec<String> = details["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap().to_string())
        .collect();
    for f in [
        "steps[0].group",
        "steps[1].name",
        "steps[1].approvers",
        "steps[3].url",
        "steps[4].condition",
        "successSteps[0].name",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
    }
    assert_eq!(count_prefix(&sim, "definition:"), 0, "nothing stored");
}

// covers: CL-200
/// The path editor shows names, never ids (issue 33, D-270): `admin.definitions.get` answers the
/// display names of the people USER steps name and of EMAIL steps' account-id recipients, not of
/// `reporter`, `originator` or `group:<name>` (a role and a group, not people), in one bulk
/// lookup at most; the definition keeps the recipients' strings as saved.
#[test]
fn the_path_editor_gets_the_names_of_email_recipients() {
    let mut sim = basic();
    let mut def = standard_definition();
    let recipients = json!(["reporter", MARCUS, "originator", "group:legal", LIAM]);
    def["definition"]["successSteps"][0]["recipients"] = recipients.clone();
    let id = define(&mut sim, def);
    let rec = sim.resolve("admin.definitions.get", &json!({"id": id}), Some(ADMIN));
    let RawOutcome::Ok(v) = &rec.outcome else {
        panic!("{:?}", rec.outcome)
    };
    assert_eq!(v["definition"]["successSteps"][0]["recipients"], recipients);
    let people = v["people"].as_object().unwrap();
    let mut named: Vec<&str> = people.keys().map(String::as_str).collect();
    named.sort_unstable();
    let mut want = vec![PRIYA, HELENA, MARCUS, LIAM];
    want.sort_unstable();
    assert_eq!(named, want, "{people:?}");
    assert_eq!(people[MARCUS], "Marcus Webb");
    assert!(people
        .values()
        .all(|n| n.as_str().is_some_and(|n| !n.is_empty())));
    let bulk: u64 = rec
        .counts
        .by_op
        .iter()
        .filter(|(op, _)| op.contains("/user/bulk"))
        .map(|(_, n)| *n)
        .sum();
    assert!(
        bulk <= 1,
        "one bulk name lookup at most: {:?}",
        rec.counts.by_op
    );
}

// covers: AP-026
#[test]
fn conditions_and_labels_skip_steps() {
    let mut sim = basic();
    let def = define(
        &mut sim,
        json!({"definition": {"name": "Conditional", "steps": [
            {"name": "Only for urgent", "type": "USER", "approvers": [PRIYA],
             "condition": {"id": "urgent", "expression": "issue.fields.summary is string and 'URGENT' in issue.fields.summary"}},
            {"name": "Only labelled", "type": "USER", "approvers": [PRIYA], "labelCondition": "security-review"},
            {"name": "Everyone", "type": "USER", "parallelGroupNumber": 2, "approvers": [MARCUS]}
        ]}}),
    );
    // AIR-4's summary starts with "URGENT:"; AIR-5's does not. Neither has the label.
    let a = start(&mut sim, &def, "AIR-4", ADMIN);
    assert_eq!(statuses(&a, "steps"), ["ACTIVE", "SKIPPED", "WAIT"]);
    let a = start(&mut sim, &def, "AIR-5", ADMIN);
    assert_eq!(statuses(&a, "steps"), ["SKIPPED", "SKIPPED", "ACTIVE"]);
    assert_eq!(a["steps"][0]["conditionId"], "urgent");
    assert!(a["steps"][1]["skippedReason"]
        .as_str()
        .unwrap()
        .contains("security-review"));
}

#[test]
fn a_passed_deadline_runs_the_expiration_branch_from_the_scheduler() {
    let mut sim = basic();
    let mut d = standard_definition();
    d["definition"]["decisionDeadlineHours"] = json!(1);
    let def = define(&mut sim, d);
    let id = start(&mut sim, &def, "AIR-5", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    sim.advance(30 * 60 * 1000);
    assert_eq!(get(&mut sim, &id)["status"], "RUNNING");
    sim.advance(40 * 60 * 1000);
    let a = get(&mut sim, &id);
    assert_eq!(a["status"], "EXPIRED");
    assert_eq!(statuses(&a, "steps"), ["SKIPPED", "SKIPPED", "SKIPPED"]);
    assert_eq!(statuses(&a, "expirationSteps"), ["SUCCESS"]);
    assert!(issue_comments(&sim, "AIR-5")
        .iter()
        .any(|c| c.starts_with("No decision before")));
    assert_eq!(count_prefix(&sim, "approval-due:"), 0);
    assert_eq!(count_prefix(&sim, "approval-task:"), 0);
}

#[test]
fn cancel_and_restart() {
    let mut sim = basic();
    let def = define(&mut sim, standard_definition());
    let id = start(&mut sim, &def, "AIR-6", JONAS)["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        err(
            &mut sim,
            "approvals.cancel",
            json!({"approvalId": id}),
            MARCUS
        ),
        "NOT_ORIGINATOR"
    );
    let new = ok(
        &mut sim,
        "approvals.restart",
        json!({"approvalId": id, "reason": "tool changed"}),
        JONAS,
    )["approval"]
        .clone();
    assert_eq!(new["originApproval"], id);
    assert_eq!(new["restartReason"], "tool changed");
    assert_eq!(new["status"], "RUNNING");
    let old = get(&mut sim, &id);
    assert_eq!(old["status"], "CANCELLED");
    assert!(old["outdated"]["reason"]
        .as_str()
        .unwrap()
        .contains("tool changed"));
    // A retried restart converges on the same new approval.
    let again = ok(
        &mut sim,
        "approvals.restart",
        json!({"approvalId": id, "reason": "tool changed"}),
        JONAS,
    )["approval"]
        .clone();
    assert_eq!(again["id"], new["id"]);
    let new_id = new["id"].as_str().unwrap();
    ok(
        &mut sim,
        "approvals.cancel",
        json!({"approvalId": new_id, "reason": "withdrawn"}),
        JONAS,
    );
    assert_eq!(get(&mut sim, new_id)["status"], "CANCELLED");
    assert_eq!(count_prefix(&sim, "approval-task:"), 0);
    // Editing the definition marks running approvals as outdated in the view.
    let third = start(&mut sim, &def, "AIR-7", JONAS)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut d = standard_definition();
    d["definition"]["id"] = json!(def);
    d["definition"]["description"] = json!("changed");
    define(&mut sim, d);
    assert!(get(&mut sim, &third)["outdated"]["reason"]
        .as_str()
        .unwrap()
        .contains("version 1"));
}

#[test]
fn hostile_templates_fail_the_step_not_the_path() {
    let mut sim = basic();
    let def = define(
        &mut sim,
        json!({"definition": {"name": "Hostile", "steps": [
            {"name": "Spin", "type": "AUTOMATION",
             "comment": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"},
            {"name": "Approve", "type": "USER", "parallelGroupNumber": 2, "approvers": [PRIYA]}
        ]}}),
    );
    let id = start(&mut sim, &def, "AIR-8", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let recs = sim.settle();
    assert!(
        recs.iter().all(|r| matches!(r.outcome, RawOutcome::Ok(_))),
        "{recs:?}"
    );
    let a = get(&mut sim, &id);
    assert_eq!(statuses(&a, "steps"), ["FAIL", "ACTIVE"]);
    assert_eq!(a["steps"][0]["errorCode"], "TEMPLATE_ERROR");
    assert!(a["steps"][0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("fuel"));
    // Repetition is refused at save time.
    assert_eq!(
        err(
            &mut sim,
            "admin.definitions.save",
            json!({"definition": {"name": "x", "steps": [
            {"name": "A", "type": "AUTOMATION", "comment": "{{ 'x' * 100000000 }}"}]}}),
            ADMIN
        ),
        "DEFINITION_INVALID"
    );
}

#[test]
fn webhook_deliveries_are_retried_with_backoff_then_dead_lettered() {
    let mut sim = basic();
    ok(
        &mut sim,
        "admin.webhooks.create",
        json!({"url": "https://hooks.ardsaor.io/wh"}),
        ADMIN,
    );
    let def = define(
        &mut sim,
        json!({"definition": {"name": "One", "steps": [{"name": "A", "type": "USER", "approvers": [PRIYA]}]}}),
    );
    let id = start(&mut sim, &def, "AIR-9", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The first delivery attempt gets a 503; the retry succeeds.
    ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": id, "stepId": "s1", "decision": "approve"}),
        PRIYA,
    );
    assert_eq!(count_prefix(&sim, "webhook-delivery:"), 1);
    let ev = sim
        .state()
        .queue
        .iter()
        .find(|e| e.queue_key == "webhooks")
        .cloned()
        .unwrap();
    sim.state_mut().queue.retain(|e| e.queue_key != "webhooks");
    let body: Value = serde_json::from_str(&ev.body).unwrap();
    sim.next_plan = FaultPlan::service(
        Service::Fetch,
        1,
        Fault::Status {
            status: 503,
            retry_after_s: None,
        },
    );
    let rec = sim.deliver_queue("webhooks", &body);
    assert_eq!(outcome(&rec), json!({"retry": 30}));
    let rec = sim.deliver_queue("webhooks", &body);
    assert_eq!(outcome(&rec), json!({"done": true}));
    assert_eq!(count_prefix(&sim, "webhook-delivery:"), 0);
    assert_eq!(
        sim.state()
            .hook_inbox
            .iter()
            .filter(|r| r.url.ends_with("/wh"))
            .count(),
        1
    );
    // A duplicate queue event after delivery sends nothing.
    sim.deliver_queue("webhooks", &body);
    assert_eq!(
        sim.state()
            .hook_inbox
            .iter()
            .filter(|r| r.url.ends_with("/wh"))
            .count(),
        1
    );
    // An endpoint that keeps failing: 5 attempts with doubling delays, then a dead letter.
    let id2 = start(&mut sim, &def, "AIR-10", ADMIN)["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": id2, "stepId": "s1", "decision": "approve"}),
        PRIYA,
    );
    let ev = sim
        .state()
        .queue
        .iter()
        .find(|e| e.queue_key == "webhooks")
        .cloned()
        .unwrap();
    sim.state_mut().queue.retain(|e| e.queue_key != "webhooks");
    let body: Value = serde_json::from_str(&ev.body).unwrap();
    let mut delays = Vec::new();
    for _ in 0..5 {
        sim.next_plan = FaultPlan::service(
            Service::Fetch,
            1,
            Fault::Status {
                status: 500,
                retry_after_s: None,
            },
        );
        delays.push(outcome(&sim.deliver_queue("webhooks", &body)));
    }
    assert_eq!(
        delays,
        vec![
            json!({"retry": 30}),
            json!({"retry": 60}),
            json!({"retry": 120}),
            json!({"retry": 240}),
            json!({"done": true})
        ]
    );
    assert_eq!(count_prefix(&sim, "webhook-delivery:"), 0);
    assert_eq!(count_prefix(&sim, "webhook-dead:"), 1);
    let dead = ok(&mut sim, "admin.webhooks.deliveries", json!({}), ADMIN);
    assert_eq!(dead["dead"][0]["attempts"], 5);
    assert_eq!(dead["dead"][0]["lastStatus"], "HTTP 500");
}

/// A crash before any host call of a decision, then the user retrying, ends exactly like a
/// clean decision; a crash anywhere in the effect worker, then redelivery, posts one comment.
#[test]
fn a_crash_at_every_host_call_of_a_transition_recovers_without_double_effects() {
    let base = || {
        let mut sim = basic();
        let def = define(&mut sim, standard_definition());
        let id = start(&mut sim, &def, "AIR-1", JONAS)["id"]
            .as_str()
            .unwrap()
            .to_string();
        ok(
            &mut sim,
            "approvals.decide",
            json!({"approvalId": id, "stepId": "s1", "decision": "approve"}),
            PRIYA,
        );
        (sim, id)
    };
    let decide = |id: &str| json!({"approvalId": id, "stepId": "s2", "decision": "approve", "comment": "ok"});
    let (mut clean, id) = base();
    let rec = clean.resolve("approvals.decide", &decide(&id), Some(MARCUS));
    let calls = rec.counts.total;
    assert!(calls >= 4, "{calls}");
    clean.settle();
    let expected = get(&mut clean, &id);
    let expected_comments = issue_comments(&clean, "AIR-1");
    for n in 1..=calls {
        let (mut sim, id) = base();
        sim.next_plan = FaultPlan::crash_at(n);
        let r = sim.resolve("approvals.decide", &decide(&id), Some(MARCUS));
        assert_eq!(r.outcome, RawOutcome::Crashed { at_call: n });
        // The user retries (unless the decision had landed).
        let r = sim.resolve("approvals.decide", &decide(&id), Some(MARCUS));
        if let RawOutcome::Err(e) = &r.outcome {
            assert_eq!(e.code, "STEP_NOT_ACTIVE", "crash at {n}");
        }
        // Lost queue pushes are picked up by the sweep.
        sim.settle();
        sim.advance(25 * 60 * 1000);
        let got = get(&mut sim, &id);
        assert_eq!(got["status"], expected["status"], "crash at {n}");
        assert_eq!(
            statuses(&got, "steps"),
            statuses(&expected, "steps"),
            "crash at {n}"
        );
        assert_eq!(
            issue_comments(&sim, "AIR-1"),
            expected_comments,
            "crash at {n}"
        );
    }

    // Now the effect worker: crash at each of its calls, then the queue redelivers.
    let (mut probe, id) = base();
    probe.resolve("approvals.decide", &decide(&id), Some(MARCUS));
    let ev = probe
        .state()
        .queue
        .iter()
        .find(|e| e.queue_key == "approval-effects")
        .cloned()
        .unwrap();
    let body: Value = serde_json::from_str(&ev.body).unwrap();
    probe
        .state_mut()
        .queue
        .retain(|e| e.queue_key != "approval-effects");
    let worker_calls = probe.deliver_queue("approval-effects", &body).counts.total;
    assert!(worker_calls >= 5, "{worker_calls}");
    for n in 1..=worker_calls {
        let (mut sim, id) = base();
        sim.resolve("approvals.decide", &decide(&id), Some(MARCUS));
        sim.state_mut()
            .queue
            .retain(|e| e.queue_key != "approval-effects");
        sim.next_plan = FaultPlan::crash_at(n);
        let r = sim.deliver_queue("approval-effects", &body);
        assert_eq!(r.outcome, RawOutcome::Crashed { at_call: n });
        // The redelivery; a lease the dead instance held (D-79) sends it back until it runs out.
        sim.redeliver("approval-effects", &body);
        sim.settle();
        let c = issue_comments(&sim, "AIR-1");
        let ours = c
            .iter()
            .filter(|t| t.starts_with("Standard AI access:"))
            .count();
        assert_eq!(ours, 1, "crash at worker call {n}: {c:?}");
        assert_eq!(
            get(&mut sim, &id)["status"],
            "APPROVED",
            "crash at worker call {n}"
        );
    }
}
