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
