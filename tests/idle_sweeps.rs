//! What an idle tenant costs: the scheduled sweeps read a "what is due next" hint instead of
//! scanning every index (issue 19), and the hint never hides work (a commit marks it dirty; the
//! hourly run scans in full regardless). Host calls are counted by the emulator, per invocation.

mod common;

use common::{setup, JONAS};
use host_sim::emulator::Stored;
use host_sim::sim::{EngineKind, InvocationRecord, Sim};
use serde_json::{json, Value};

const HOUR: u64 = 3_600_000;

fn runs<'a>(recs: &'a [InvocationRecord], label: &str) -> Vec<&'a InvocationRecord> {
    recs.iter().filter(|r| r.label == label).collect()
}

fn idle(r: &InvocationRecord) -> bool {
    r.ok().is_some_and(|v| v["work"] == "none")
}

fn hint(sim: &Sim) -> Value {
    serde_json::from_str(&sim.state().kvs["sweep-hint:approvals"].value).unwrap()
}

/// The site set up and left alone for a day: every sweep has settled.
fn quiet() -> Sim {
    let mut sim = setup(EngineKind::Native);
    sim.advance(24 * HOUR);
    sim
}

#[test]
fn an_idle_hour_costs_one_call_per_five_minute_sweep() {
    // covers: AP-178
    let mut sim = quiet();
    let hour = sim.advance(HOUR);
    let five = runs(&hour, "scheduled prompt-step-cleanup");
    assert_eq!(five.len(), 12);
    for r in &five {
        assert!(idle(r), "{:?}", r.outcome);
        assert_eq!(r.counts.total, 1, "one hint read: {:?}", r.counts.by_op);
    }
    // The hourly runs: the approvals sweep in full (the safety net) plus the escalation index;
    // the job runner's indexes, its reminder windows at most two bucket queries each.
    let esc = runs(&hour, "scheduled escalation-sweep");
    assert_eq!(esc.len(), 1);
    assert!(esc[0].counts.total <= 6, "{:?}", esc[0].counts.by_op);
    let jobs = runs(&hour, "scheduled job-runner");
    assert_eq!(jobs.len(), 1);
    assert!(idle(jobs[0]), "{:?}", jobs[0].outcome);
    assert!(jobs[0].counts.total <= 12, "{:?}", jobs[0].counts.by_op);
}

#[test]
fn a_commit_that_creates_work_marks_the_hint_dirty_and_the_next_sweep_scans() {
    // covers: AP-178
    let mut sim = quiet();
    assert!(hint(&sim)["nextMs"].is_u64(), "settled: {}", hint(&sim));
    // Starting an approval creates its first step's work (a task, an effect for an AI step).
    let started = common::ok(
        &mut sim,
        "approvals.start",
        json!({"definitionId": "standard-ai-access", "issueKey": "AIR-2"}),
        JONAS,
    );
    assert!(started["approval"]["id"].is_string(), "{started}");
    assert!(hint(&sim)["dirty"].is_string(), "{}", hint(&sim));
    let next = sim.advance(5 * 60_000);
    let sweep = runs(&next, "scheduled prompt-step-cleanup");
    assert!(
        sweep[0].counts.total > 1,
        "a dirty hint means a full pass: {:?}",
        sweep[0].counts.by_op
    );
    // Settled again once the work is done; idle sweeps are one read again.
    let later = sim.advance(HOUR);
    let last = runs(&later, "scheduled prompt-step-cleanup");
    assert_eq!(last.last().unwrap().counts.total, 1);
}

#[test]
fn work_a_stale_hint_would_hide_is_still_found_by_the_hourly_pass() {
    // covers: AP-178
    let mut sim = quiet();
    let now = sim.state().clock_ms;
    // A delivery whose queue event was lost, written behind the app's back (no commit marked
    // the hint), and a hint that claims nothing is due for a year.
    let delivery = json!({"id": "planted.1", "webhookId": "wh-gone", "url": "https://hooks.ardsaor.io/x",
                          "payload": {}, "attempts": 0, "createdMs": now - HOUR});
    let kvs = &mut sim.state_mut().kvs;
    kvs.insert(
        "webhook-delivery:planted.1".into(),
        Stored {
            value: delivery.to_string(),
            expires_at_ms: None,
        },
    );
    kvs.insert(
        "sweep-hint:approvals".into(),
        Stored {
            value: json!({"nextMs": now + 365 * 24 * HOUR}).to_string(),
            expires_at_ms: None,
        },
    );
    let hour = sim.advance(HOUR);
    for r in runs(&hour, "scheduled prompt-step-cleanup") {
        assert_eq!(r.counts.total, 1, "trusts the hint");
    }
    let esc = runs(&hour, "scheduled escalation-sweep");
    assert_eq!(
        esc[0].ok().unwrap()["approvals"]["deliveriesRequeued"],
        1,
        "{:?}",
        esc[0].outcome
    );
    // The hourly pass rewrote the hint from what it found.
    assert!(hint(&sim)["nextMs"].as_u64().unwrap() < now + 365 * 24 * HOUR);
}
