//! End-to-end intake: the compiled component ingests issue-created events in host-sim.

mod common;

use common::*;
use host_sim::faults::{Fault, FaultPlan, Service};
use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use serde_json::{json, Value};

/// Every default-site event, one by one, against the outcome it must have.
// covers: CL-008, CL-009, CL-010, CL-011, CL-012, CL-013, CL-021, CL-031, CL-033
#[test]
fn every_fixture_event_has_its_expected_outcome() {
    let expected: &[(&str, &str, &str)] = &[
        ("001", "ingested", ""),
        ("002", "ingested", ""),
        ("003", "ingested", ""),
        ("004", "ingested", ""),
        ("005", "ingested", ""),
        ("006", "ingested", ""),
        ("007", "ingested", ""),
        ("008", "ingested", ""),
        ("009", "ingested", ""),
        ("010", "rejected", "SNAPSHOT_MISSING"),
        ("011", "rejected", "SNAPSHOT_MISSING"),
        ("012", "rejected", "SNAPSHOT_MALFORMED"),
        ("013", "rejected", "TOOL_UNKNOWN"),
        ("014", "rejected", "TOOL_NOT_REQUESTABLE"),
        ("015", "rejected", "TOOL_NOT_REQUESTABLE"),
        ("016", "rejected", "DURATION_TOO_LONG"),
        ("017", "rejected", "DURATION_TOO_LONG"),
        ("018", "rejected", "DURATION_INVALID"),
        ("019", "rejected", "DURATION_INVALID"),
        // A new tool without a URL: the URL is optional (spec §7.1, D-46). covers: CL-004
        ("020", "ingested", ""),
        ("021", "rejected", "NEW_TOOL_URL_INVALID"),
        ("022", "rejected", "TOOL_AMBIGUOUS"),
        ("023", "skipped", "WRONG_PROJECT"),
        ("024", "skipped", "WRONG_PROJECT"),
        ("025", "rejected", "REQUEST_TYPE_NOT_ALLOWED"),
        ("026", "rejected", "NOT_A_PORTAL_REQUEST"),
        ("027", "duplicate", ""),
    ];
    let mut sim = basic();
    for (prefix, kind, code) in expected {
        let ev = event(prefix);
        let out = outcome(&sim.deliver(&ev).unwrap());
        assert_eq!(out["outcome"], *kind, "event {prefix}: {out}");
        if !code.is_empty() {
            let field = if *kind == "skipped" { "reason" } else { "code" };
            assert_eq!(out[field], *code, "event {prefix}: {out}");
        }
        let id = ev["issue"]["id"].as_str().unwrap();
        let request = kvs_value(&sim, &format!("request:{id}"));
        match *kind {
            "ingested" | "duplicate" => {
                let r = request.expect("a request record");
                assert_eq!(r["decision"], "pending");
                assert_eq!(r["issueKey"], ev["issue"]["key"]);
            }
            "rejected" => {
                assert!(request.is_none(), "event {prefix} wrote a request");
                assert_eq!(
                    kvs_value(&sim, &format!("intake-rejection:{id}")).unwrap()["code"],
                    *code
                );
            }
            _ => assert!(
                request.is_none() && kvs_value(&sim, &format!("intake-rejection:{id}")).is_none(),
                "event {prefix} wrote something"
            ),
        }
    }
    assert_eq!(count_prefix(&sim, "request:"), 10);
    assert_eq!(audit_of(&sim, "request_created").len(), 10);
    assert!(verify(&mut sim).ok);
}

/// The request record carries snapshot values, the issue's fields and the flattened description.
// covers: CL-009, CL-010, CL-007
#[test]
fn an_ingested_request_is_enriched_from_the_issue() {
    let mut sim = basic();
    outcome(&sim.deliver(&event("001")).unwrap());
    let r = kvs_value(&sim, "request:10100").unwrap();
    assert_eq!(
        r["tool"],
        json!({"kind": "catalog", "id": "chatgpt-enterprise", "displayName": "ChatGPT Enterprise", "riskLevel": "medium"})
    );
    assert_eq!(r["durationDays"], 30);
    assert_eq!(r["requesterAccountId"], JONAS);
    assert_eq!(
        (
            r["projectKey"].as_str(),
            r["portalId"].as_u64(),
            r["requestTypeId"].as_u64()
        ),
        (Some("AIR"), Some(1), Some(12))
    );
    assert_eq!(r["summary"], "Access to ChatGPT Enterprise");
    let text = r["descriptionText"].as_str().unwrap();
    assert!(
        text.contains("- Drafting replies to customer escalations"),
        "{text}"
    );
    assert!(
        !text.contains("\"type\""),
        "ADF leaked into the text: {text}"
    );
    assert_eq!(r["snapshotSource"], "panel");
    assert_eq!(r["requestedAt"], "2026-11-02T09:05:00.000Z");
    // The index keys written in the same transaction.
    assert!(sim
        .state()
        .kvs
        .keys()
        .any(|k| k.starts_with(&format!("request-by-requester:{JONAS}:"))));
    assert!(kvs_value(&sim, "request-by-decision:pending:AIR:10100").is_some());
    assert_eq!(
        kvs_value(&sim, "request-by-issue-key:AIR-1").unwrap(),
        "10100"
    );
}

/// The same event delivered N times: one request, one audit entry, and no Jira call after the first.
// covers: CL-013
#[test]
fn duplicate_deliveries_are_idempotent() {
    let mut sim = basic();
    let ev = event("001");
    for i in 0..5 {
        let rec = sim.deliver(&ev).unwrap();
        assert_eq!(
            outcome(&rec)["outcome"],
            if i == 0 { "ingested" } else { "duplicate" }
        );
        if i > 0 {
            assert_eq!(
                rec.counts.service(Service::Jira),
                0,
                "a duplicate should be recognised before calling Jira"
            );
        }
    }
    assert_eq!(count_prefix(&sim, "request:"), 1);
    assert_eq!(audit_of(&sim, "request_created").len(), 1);
}

/// A crash before any host call of an ingest, then redelivery, ends exactly like a clean run.
#[test]
fn a_crash_between_any_two_host_calls_then_redelivery_gives_the_same_state() {
    for prefix in ["001", "009", "013"] {
        let ev = event(prefix);
        let mut clean = basic();
        let clean_rec = clean.deliver(&ev).unwrap();
        let calls = clean_rec.counts.total;
        assert!(calls >= 3, "expected several host calls, got {calls}");
        let expected = clean.export_state();
        for n in 1..=calls {
            let mut sim = basic();
            sim.next_plan = FaultPlan::crash_at(n);
            let crashed = sim.deliver(&ev).unwrap();
            assert_eq!(
                crashed.outcome,
                RawOutcome::Crashed { at_call: n },
                "event {prefix} crash at {n}"
            );
            let again = sim.deliver(&ev).unwrap();
            assert!(
                matches!(again.outcome, RawOutcome::Ok(_)),
                "event {prefix} redelivery after crash at {n}: {:?}",
                again.outcome
            );
            assert_eq!(
                sim.export_state(),
                expected,
                "event {prefix}: state after crash at call {n} + redelivery differs"
            );
            assert!(
                verify(&mut sim).ok,
                "event {prefix}: audit chain broken after crash at {n}"
            );
        }
    }
}

/// Jira throttling during intake defers the event through the retry queue; it lands later.
// covers: CL-012
#[test]
fn a_rate_limited_jira_read_is_retried_through_the_queue() {
    let mut sim = basic();
    sim.next_plan = FaultPlan::service(
        Service::Jira,
        1,
        Fault::Status {
            status: 429,
            retry_after_s: Some(120),
        },
    );
    let out = outcome(&sim.deliver(&event("002")).unwrap());
    assert_eq!(out["outcome"], "deferred");
    assert_eq!(out["retryAfterSeconds"], 120);
    assert_eq!(sim.state().queue.len(), 1);
    assert_eq!(count_prefix(&sim, "request:"), 0);
    let recs = sim.advance(60_000);
    assert!(
        recs.iter().all(|r| r.label != "queue intake-retry"),
        "delivered before Retry-After"
    );
    let recs = sim.advance(61_000);
    let retry = recs
        .iter()
        .find(|r| r.label == "queue intake-retry")
        .expect("the retry was delivered");
    assert_eq!(outcome(retry), json!({"done": true}));
    assert_eq!(
        kvs_value(&sim, "request:10101").unwrap()["decision"],
        "pending"
    );
    assert!(sim.state().queue.is_empty());
}

/// A Jira outage that outlasts every retry ends as a recorded rejection, not a lost request.
#[test]
fn a_persistent_jira_outage_ends_in_a_jira_unavailable_rejection() {
    let mut sim = basic();
    // Only the retry queue runs in this test, so each planned fault hits the retry's Jira call.
    sim.emu_mut().manifest.scheduled.clear();
    sim.next_plan = FaultPlan::service(
        Service::Jira,
        1,
        Fault::Status {
            status: 503,
            retry_after_s: None,
        },
    );
    assert_eq!(
        outcome(&sim.deliver(&event("002")).unwrap())["outcome"],
        "deferred"
    );
    for _ in 0..aiclearance::intake::ingest::MAX_RETRY_ATTEMPTS + 2 {
        // Fail the retry's Jira call too, every time.
        sim.next_plan = FaultPlan::service(Service::Jira, 1, Fault::Timeout);
        let due = sim.state().queue.first().map(|e| e.due_ms);
        let Some(due) = due else { break };
        let now = sim.state().clock_ms;
        sim.advance(due - now);
    }
    assert!(sim.state().queue.is_empty());
    assert_eq!(
        kvs_value(&sim, "intake-rejection:10101").unwrap()["code"],
        "JIRA_UNAVAILABLE"
    );
    assert_eq!(count_prefix(&sim, "request:"), 0);
}

/// Intake is skipped until an admin configures it; a wrong portal id is its own rejection.
// covers: CL-001, CL-011
#[test]
fn intake_respects_configuration_and_portal() {
    let mut sim = unconfigured();
    assert_eq!(
        outcome(&sim.deliver(&event("001")).unwrap())["reason"],
        "NOT_CONFIGURED"
    );
    let mut sim = basic();
    // The configuration names portal 1; then the project's portal is recreated as portal 2
    // (what Jira then reports for the issue's request type).
    let set = sim.resolve(
        "admin.intake.set",
        &json!({"projectKey": "AIR", "portalId": 1, "requestTypeIds": [12]}),
        Some(ADMIN),
    );
    assert!(set.ok().is_some(), "{:?}", set.outcome);
    let air = sim
        .state_mut()
        .site
        .projects
        .iter_mut()
        .find(|p| p.key == "AIR")
        .unwrap();
    air.service_desk.as_mut().unwrap().portal_id = 2;
    let out = outcome(&sim.deliver(&event("001")).unwrap());
    assert_eq!(
        (out["outcome"].as_str(), out["code"].as_str()),
        (Some("rejected"), Some("WRONG_PORTAL"))
    );
}

/// The golden replay CI runs: every fixture event against fixtures/default/expected/state.json,
/// and the same comparison must fail when a golden value is altered.
// covers: CL-008, CL-011, CL-012, CL-013
#[test]
fn golden_replay_matches_and_a_altered_golden_fails() {
    let mut sim = wasm();
    for (_, ev) in all_events() {
        sim.deliver(&ev).unwrap();
        sim.settle();
    }
    let actual = sim.export_state();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(site_dir().join("expected/state.json")).unwrap(),
    )
    .unwrap();
    let diffs = scenario::diff(&golden, &actual);
    assert!(
        diffs.is_empty(),
        "replay differs from the golden file:\n{}",
        diffs.join("\n")
    );
    let mut altered = golden.clone();
    altered["requests"][0]["durationDays"] = json!(31);
    let diffs = scenario::diff(&altered, &actual);
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(diffs[0].contains("durationDays"), "{diffs:?}");
}

/// Saving intake checks the configuration against Jira: a portal of another project, a request
/// type the portal lacks, a group or account Jira does not know are each refused at their field,
/// and nothing is saved.
#[test]
fn intake_configuration_is_checked_against_jira_when_saved() {
    let mut sim = basic();
    let before = ok(&mut sim, "admin.intake.get", json!({}), ADMIN);
    let rec = sim.resolve(
        "admin.intake.set",
        &json!({"projectKey": "AIR", "portalId": 2, "requestTypeIds": [12],
                "approvals": {"approverGroups": ["ai-approvers", "no-such-group"],
                              "approverAccountIds": ["5dcd5fe52bbec7f9dfdb4be0", "nobody-here"],
                              "reviewIssueTypeId": 99999}}),
        Some(ADMIN),
    );
    let RawOutcome::Err(e) = &rec.outcome else {
        panic!("should be refused: {:?}", rec.outcome)
    };
    assert_eq!(e.code, "INTAKE_CONFIG_NOT_IN_JIRA");
    let d = e.details.clone().unwrap();
    assert!(d["projectKey"].as_str().unwrap().contains("ITS"), "{d}");
    assert!(d["approvals.approverGroups"]
        .as_str()
        .unwrap()
        .contains("no-such-group"));
    assert!(!d["approvals.approverGroups"]
        .as_str()
        .unwrap()
        .contains("ai-approvers"));
    assert!(d["approvals.approverAccountIds"]
        .as_str()
        .unwrap()
        .contains("nobody-here"));
    assert!(d["approvals.reviewIssueTypeId"].is_string());
    let rec = sim.resolve(
        "admin.intake.set",
        &json!({"projectKey": "AIR", "portalId": 1, "requestTypeIds": [12, 99]}),
        Some(ADMIN),
    );
    let RawOutcome::Err(e) = &rec.outcome else {
        panic!("should be refused: {:?}", rec.outcome)
    };
    assert!(e.details.as_ref().unwrap()["requestTypeIds"]
        .as_str()
        .unwrap()
        .contains("99"));
    let rec = sim.resolve(
        "admin.intake.set",
        &json!({"projectKey": "AIR", "portalId": 7}),
        Some(ADMIN),
    );
    assert_eq!(rec.error_code(), Some("INTAKE_CONFIG_NOT_IN_JIRA"));
    assert_eq!(
        ok(&mut sim, "admin.intake.get", json!({}), ADMIN),
        before,
        "nothing saved"
    );
}

/// Intake trusts Jira over the event: a payload whose `issue.id` is not the id Jira returns for
/// its key is refused with a recorded rejection (under the real issue) and creates nothing.
// covers: CL-013, CL-012
#[test]
fn an_event_whose_issue_id_jira_does_not_confirm_is_refused_and_recorded() {
    let mut sim = basic();
    assert_eq!(
        outcome(&sim.deliver(&event("001")).unwrap())["outcome"],
        "ingested"
    );
    let mut forged = event("001");
    forged["issue"]["id"] = json!("99999");
    let out = outcome(&sim.deliver(&forged).unwrap());
    assert_eq!(
        (out["outcome"].as_str(), out["code"].as_str()),
        (Some("rejected"), Some("ISSUE_ID_MISMATCH")),
        "{out}"
    );
    assert_eq!(count_prefix(&sim, "request:"), 1, "no second request");
    assert!(kvs_value(&sim, "request:99999").is_none());
    assert_eq!(
        kvs_value(&sim, "request-by-issue-key:AIR-1").unwrap(),
        "10100",
        "the issue-key index still names the real request"
    );
    let listed = ok(&mut sim, "admin.intake.rejections", json!({}), ADMIN);
    let hit = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "ISSUE_ID_MISMATCH")
        .expect("an admin finds the refusal");
    assert_eq!(
        (hit["issueKey"].as_str(), hit["issueId"].as_str()),
        (Some("AIR-1"), Some("10100"))
    );
    assert!(hit["message"].as_str().unwrap().contains("99999"), "{hit}");

    // An issue not yet ingested: a mismatched event ingests nothing either.
    let mut sim = basic();
    let mut forged = event("002");
    forged["issue"]["id"] = json!("55555");
    let out = outcome(&sim.deliver(&forged).unwrap());
    assert_eq!(out["code"], "ISSUE_ID_MISMATCH", "{out}");
    assert_eq!(count_prefix(&sim, "request:"), 0);
    assert_eq!(
        kvs_value(&sim, "intake-rejection:10101").unwrap()["code"],
        "ISSUE_ID_MISMATCH"
    );
    // The genuine event still ingests afterwards.
    assert_eq!(
        outcome(&sim.deliver(&event("002")).unwrap())["outcome"],
        "ingested"
    );
}

/// JSON nested 200 levels: deeper than a Jira answer holding it can be read.
fn nested_too_deep() -> Value {
    (0..200).fold(json!("bottom"), |v, _| json!({ "x": v }))
}

/// A snapshot nested deeper than Jira's answer can be read is rejected as a snapshot problem
/// at once, not deferred as a Jira outage (five retries over 16 minutes, then JIRA_UNAVAILABLE).
// covers: CL-012
#[test]
fn a_snapshot_nested_too_deep_is_a_snapshot_rejection_not_an_outage() {
    let mut sim = basic();
    let deep = nested_too_deep();
    let issue = sim.state_mut().site.issue_mut("AIR-2").unwrap();
    // The deep part sits in the panel's property, next to the snapshot.
    for v in issue.properties.values_mut() {
        if v.is_object() {
            v["notes"] = deep.clone();
        }
    }
    let out = outcome(&sim.deliver(&event("002")).unwrap());
    assert_eq!(
        (out["outcome"].as_str(), out["code"].as_str()),
        (Some("rejected"), Some("SNAPSHOT_TOO_DEEP")),
        "{out}"
    );
    assert!(
        sim.state()
            .queue
            .iter()
            .all(|e| e.queue_key != "intake-retry"),
        "nothing deferred"
    );
    let r = kvs_value(&sim, "intake-rejection:10101").unwrap();
    assert_eq!(r["code"], "SNAPSHOT_TOO_DEEP");
    assert_eq!(r["issueKey"], "AIR-2");
    assert_eq!(count_prefix(&sim, "request:"), 0);
}

/// A field intake does not use, nested too deeply to read, does not stop the request: intake
/// reads the whole issue to hand it to routing (D-106), and when that cannot be read it falls
/// back to the fields it needs itself, so the request is ingested as it was before.
// covers: CL-010
#[test]
fn an_unrelated_field_nested_too_deep_still_ingests_the_request() {
    let mut sim = basic();
    let deep = nested_too_deep();
    let issue = sim.state_mut().site.issue_mut("AIR-2").unwrap();
    issue.custom_fields.insert("customfield_10999".into(), deep);
    let rec = sim.deliver(&event("002")).unwrap();
    let out = outcome(&rec);
    assert_eq!(out["outcome"], "ingested", "{out}");
    assert_eq!(
        rec.counts.service(Service::Jira),
        2,
        "the whole issue, then intake's own fields"
    );
    let r = kvs_value(&sim, "request:10101").unwrap();
    assert_eq!(r["issueKey"], "AIR-2");
    assert!(!r["summary"].as_str().unwrap().is_empty());
}

/// A deferred intake whose retry meets a storage error is retried again (it lands once storage
/// answers); one that keeps failing leaves an `INTAKE_FAILED` rejection after its last try,
/// never an issue with neither a request nor a rejection.
// covers: CL-012
#[test]
fn a_deferred_intake_retry_that_meets_a_storage_error_is_retried_then_rejected() {
    let kvs_down = || {
        FaultPlan::service(
            Service::Kvs,
            1,
            Fault::Status {
                status: 503,
                retry_after_s: None,
            },
        )
    };
    let jira_down = || {
        FaultPlan::service(
            Service::Jira,
            1,
            Fault::Status {
                status: 503,
                retry_after_s: None,
            },
        )
    };
    let run_next = |sim: &mut host_sim::Sim| {
        let due = sim.state().queue.first().map(|e| e.due_ms)?;
        let now = sim.state().clock_ms;
        Some(sim.advance(due.saturating_sub(now)))
    };

    // One storage error on the retry, then storage answers: the request lands.
    let mut sim = basic();
    sim.emu_mut().manifest.scheduled.clear();
    sim.next_plan = jira_down();
    assert_eq!(
        outcome(&sim.deliver(&event("002")).unwrap())["outcome"],
        "deferred"
    );
    sim.next_plan = kvs_down();
    run_next(&mut sim).expect("the retry ran");
    assert_eq!(
        sim.state().queue.len(),
        1,
        "queued again after the storage error"
    );
    assert_eq!(count_prefix(&sim, "request:"), 0);
    run_next(&mut sim).expect("the second retry ran");
    assert_eq!(
        kvs_value(&sim, "request:10101").unwrap()["decision"],
        "pending"
    );
    assert!(kvs_value(&sim, "intake-rejection:10101").is_none());

    // Storage fails every retry: after the last one, a rejection an admin can find.
    let mut sim = basic();
    sim.emu_mut().manifest.scheduled.clear();
    sim.next_plan = jira_down();
    sim.deliver(&event("002")).unwrap();
    for _ in 0..aiclearance::intake::ingest::MAX_RETRY_ATTEMPTS + 2 {
        sim.next_plan = kvs_down();
        if run_next(&mut sim).is_none() {
            break;
        }
    }
    sim.next_plan = FaultPlan::default();
    assert!(sim.state().queue.is_empty());
    assert_eq!(count_prefix(&sim, "request:"), 0);
    let listed = ok(&mut sim, "admin.intake.rejections", json!({}), ADMIN);
    let hit = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["issueKey"] == "AIR-2")
        .expect("a rejection for AIR-2");
    assert_eq!(hit["code"], "INTAKE_FAILED", "{hit}");
}

/// A rejected snapshot leaves a comment on the requester's issue saying why and what to do.
// covers: CL-012, CL-053
#[test]
fn a_rejected_snapshot_comments_why_and_what_to_do_on_the_request() {
    let mut sim = basic();
    deliver(&mut sim, &["013", "016"]);
    for key in ["AIR-13", "AIR-16"] {
        let comments = issue_comments(&sim, key);
        let c = comments
            .iter()
            .find(|c| c.contains("not accepted"))
            .unwrap_or_else(|| panic!("{key}: {comments:?}"));
        assert!(c.contains("Why:") && c.contains("What to do:"), "{c}");
    }
    assert!(issue_comments(&sim, "AIR-13")
        .iter()
        .any(|c| c.contains("approved tools")));
    // A redelivery does not comment twice.
    deliver(&mut sim, &["013"]);
    let n = issue_comments(&sim, "AIR-13")
        .iter()
        .filter(|c| c.contains("not accepted"))
        .count();
    assert_eq!(n, 1);
}
