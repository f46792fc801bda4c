//! Retention of what the app keeps about requests (issue 32 item 5): a request closed longer
//! ago than the retention goes with the governance path that decided it, and intake's refusal
//! records go after the same time; the audit entry says what went and the trail still verifies.

mod common;

use common::*;
use serde_json::{json, Value};

const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4"; // ai-approvers
const DAY: u64 = 86_400_000;

fn keys_with(sim: &host_sim::sim::Sim, needle: &str) -> Vec<String> {
    sim.state()
        .kvs
        .keys()
        .filter(|k| k.contains(needle))
        .cloned()
        .collect()
}

// covers: CL-061
#[test]
fn a_pruned_request_takes_its_path_and_old_refusals_go_too() {
    let mut sim = wasm();
    // AIR-1 (ChatGPT Enterprise, medium risk) walks "Standard AI access"; an AI approver denies
    // it, which closes the path and the request.
    deliver(&mut sim, &["001", "013"]);
    let r = kvs_value(&sim, "request:10100").expect("AIR-1 ingested");
    assert_eq!(r["route"]["kind"], "path", "{r}");
    let approval_id = r["route"]["approvalId"].as_str().unwrap().to_string();
    let a = kvs_value(&sim, &format!("approval:{approval_id}")).unwrap();
    let group_step = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["type"] == "GROUP" || s["config"]["type"] == "GROUP" || s.get("group").is_some()
        })
        .map(|s| s["id"].as_str().unwrap().to_string())
        .expect("the path has a group step");
    ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": approval_id, "stepId": group_step, "decision": "reject", "comment": "not needed"}),
        MARCUS,
    );
    sim.settle();
    assert_eq!(
        kvs_value(&sim, "request:10100").unwrap()["decision"],
        "denied"
    );
    // AIR-13's unknown tool was refused at intake: its record is there.
    let rejections = count_prefix(&sim, "intake-rejection:");
    assert!(rejections >= 1);
    assert!(!keys_with(&sim, &approval_id).is_empty());

    // Within the retention nothing goes.
    sim.state_mut().clock_ms += 700 * DAY;
    scheduled(&mut sim, "daily-maintenance");
    assert!(kvs_value(&sim, "request:10100").is_some());
    assert!(kvs_value(&sim, &format!("approval:{approval_id}")).is_some());
    assert_eq!(count_prefix(&sim, "intake-rejection:"), rejections);

    // Past it: the request, every record of its path and the old refusals go.
    sim.state_mut().clock_ms += 40 * DAY;
    let out = scheduled(&mut sim, "daily-maintenance");
    assert!(out["requestsPruned"].as_u64().unwrap() >= 1, "{out}");
    assert!(kvs_value(&sim, "request:10100").is_none());
    assert_eq!(
        keys_with(&sim, &approval_id),
        Vec::<String>::new(),
        "the path's records are gone"
    );
    assert_eq!(count_prefix(&sim, "intake-rejection:"), 0);
    let e: Vec<Value> = audit_of(&sim, "requests_pruned");
    let last = e.last().unwrap();
    assert!(
        last["data"]["approvalsPruned"].as_u64().unwrap() >= 1,
        "{last}"
    );
    assert_eq!(
        last["data"]["rejectionsPruned"], rejections as u64,
        "{last}"
    );
    assert!(verify(&mut sim).ok);
}

// covers: CL-061
#[test]
fn finished_standalone_approvals_go_after_the_retention_open_ones_stay() {
    const JONAS_: &str = JONAS;
    let mut sim = basic();
    let def = ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {
            "name": "Standalone check", "description": "started directly, no request",
            "starters": {"mode": "anyone"},
            "steps": [{"name": "Lead", "type": "USER", "parallelGroupNumber": 1, "approvers": [MARCUS]}]
        }}),
        ADMIN,
    )["definition"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let start = |sim: &mut host_sim::sim::Sim, issue: &str| -> String {
        ok(
            sim,
            "approvals.start",
            json!({"definitionId": def, "issueKey": issue}),
            JONAS_,
        )["approval"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // One finished (its starter cancels it), one still running.
    let done = start(&mut sim, "AIR-6");
    ok(
        &mut sim,
        "approvals.cancel",
        json!({"approvalId": done}),
        JONAS_,
    );
    let open = start(&mut sim, "AIR-7");
    sim.settle();
    assert_eq!(
        count_prefix(&sim, "approval-closed:"),
        1,
        "the engine's closed index"
    );
    // Within the retention nothing goes.
    sim.state_mut().clock_ms += 700 * DAY;
    scheduled(&mut sim, "daily-maintenance");
    assert!(kvs_value(&sim, &format!("approval:{done}")).is_some());
    // Past it: the finished one and every index of it go; the running one stays.
    sim.state_mut().clock_ms += 40 * DAY;
    let out = scheduled(&mut sim, "daily-maintenance");
    assert!(out.get("failed").is_none(), "{out}");
    assert_eq!(
        keys_with(&sim, &done),
        Vec::<String>::new(),
        "the finished approval's records are gone"
    );
    assert!(kvs_value(&sim, &format!("approval:{open}")).is_some());
    assert_eq!(count_prefix(&sim, "approval-closed:"), 0);
    let e: Vec<Value> = audit_of(&sim, "requests_pruned");
    assert_eq!(
        e.last().unwrap()["data"]["standaloneApprovalsPruned"],
        1,
        "{e:?}"
    );
    // A second run finds nothing more.
    let out = scheduled(&mut sim, "daily-maintenance");
    assert_eq!(out["requestsPruned"], 0, "{out}");
    assert!(verify(&mut sim).ok);
}
