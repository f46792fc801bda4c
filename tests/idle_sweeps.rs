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

/// The first `label` run in `recs`, which must have read its indexes (a dirty or due hint).
fn assert_full_pass(recs: &[InvocationRecord], label: &str) {
    let r = runs(recs, label)[0];
    assert!(
        r.counts.total > 1,
        "{label}: a full pass: {:?}",
        r.counts.by_op
    );
}

fn idle(r: &InvocationRecord) -> bool {
    r.ok().is_some_and(|v| v["work"] == "none")
}

fn hint(sim: &Sim) -> Value {
    serde_json::from_str(&sim.state().kvs["sweep-hint:approvals"].value).unwrap()
}

/// The site set up and left alone for a day and an hour: every sweep has settled, and the job
/// runner's daily full pass (its hint is trusted at most a day) is behind it.
fn quiet() -> Sim {
    let mut sim = setup(EngineKind::Native);
    sim.advance(25 * HOUR);
    sim
}

fn runner_hint(sim: &Sim) -> Value {
    serde_json::from_str(&sim.state().kvs["sweep-hint:job-runner"].value).unwrap()
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
    // The hourly runs: the approvals sweep in full (the safety net) plus the escalation index,
    // and one read to see that the latest signed audit checkpoint still covers the head; the
    // job runner reads its hint and stops.
    let esc = runs(&hour, "scheduled escalation-sweep");
    assert_eq!(esc.len(), 1);
    assert!(esc[0].counts.total <= 7, "{:?}", esc[0].counts.by_op);
    assert_eq!(
        esc[0].ok().unwrap()["checkpoint"],
        esc[0].ok().unwrap()["checkpoint"]
    );
    let jobs = runs(&hour, "scheduled job-runner");
    assert_eq!(jobs.len(), 1);
    assert!(idle(jobs[0]), "{:?}", jobs[0].outcome);
    assert_eq!(jobs[0].counts.total, 1, "{:?}", jobs[0].counts.by_op);
    let total: u64 = hour.iter().map(|r| r.counts.total).sum();
    assert!(total <= 20, "an idle hour: {total} host calls");
}

/// AIR-2 (GitHub Copilot, decided directly) ingested and approved by Marcus, its follow-ups run.
fn with_grant(sim: &mut Sim) -> u64 {
    let rec = sim.deliver(&common::event("002")).unwrap();
    assert!(rec.ok().is_some(), "{:?}", rec.outcome);
    sim.settle();
    common::ok(
        sim,
        "clearance.approvals.decide",
        json!({"issueKey": "AIR-2", "decision": "approve"}),
        common::MARCUS,
    );
    sim.settle();
    first_expiry(sim).expect("the grant's expiry is indexed")
}

fn first_expiry(sim: &Sim) -> Option<u64> {
    sim.state()
        .kvs
        .keys()
        .filter_map(|k| k.strip_prefix("access-grant-expiry:"))
        .map(|rest| rest[..13].parse::<u64>().unwrap())
        .min()
}

#[test]
fn a_write_under_a_watched_index_dirties_the_job_runner_hint() {
    // covers: CL-074
    let mut sim = quiet();
    assert!(
        runner_hint(&sim)["nextMs"].is_u64(),
        "{}",
        runner_hint(&sim)
    );
    // Intake writes the pending-request index, the decision the grant's expiry index: each
    // transaction carries the runner's dirty mark, so the next run reads its indexes.
    let ends = with_grant(&mut sim);
    assert!(
        runner_hint(&sim)["dirty"].is_string(),
        "{}",
        runner_hint(&sim)
    );
    assert_full_pass(&sim.advance(HOUR), "scheduled job-runner");
    // Settled on what it saw: nothing later than a day, nothing later than the grant's end.
    let later = sim.advance(HOUR);
    let next = runner_hint(&sim)["nextMs"].as_u64().expect("settled");
    let now = sim.state().clock_ms;
    assert!(
        next > now && next <= now + 24 * HOUR && next <= ends,
        "{next}"
    );
    assert_eq!(runs(&later, "scheduled job-runner")[0].counts.total, 1);
}

#[test]
fn a_grant_end_planted_behind_the_runner_hint_expires_within_a_day() {
    // covers: CL-074
    let mut sim = setup(EngineKind::Native);
    with_grant(&mut sim);
    sim.advance(25 * HOUR);
    let now = sim.state().clock_ms;
    let hint_before = runner_hint(&sim);
    assert!(
        hint_before["nextMs"].as_u64().unwrap() > now + HOUR,
        "{hint_before}"
    );
    // The grant's expiry entry moved to the past around the storage layer (a restore, a bug):
    // no dirty mark, so the hint still says nothing is due.
    let (key, entry) = sim
        .state()
        .kvs
        .iter()
        .find(|(k, _)| k.starts_with("access-grant-expiry:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let id = key.rsplit(':').next().unwrap().to_string();
    sim.state_mut().kvs.remove(&key);
    sim.state_mut()
        .kvs
        .insert(format!("access-grant-expiry:{:013}:{id}", now - 1), entry);
    let hour = sim.advance(HOUR);
    assert_eq!(runs(&hour, "scheduled job-runner")[0].counts.total, 1);
    let day = sim.advance(24 * HOUR);
    let expired: u64 = runs(&day, "scheduled job-runner")
        .iter()
        .filter_map(|r| r.ok().and_then(|v| v["grantsExpired"].as_u64()))
        .sum();
    assert_eq!(expired, 1, "the daily full pass expires it, once");
    // The stray entry is dropped with it (else every run would find it due): idle again.
    assert_eq!(first_expiry(&sim), None);
    let hour = sim.advance(HOUR);
    assert_eq!(runs(&hour, "scheduled job-runner")[0].counts.total, 1);
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
    assert_full_pass(&sim.advance(5 * 60_000), "scheduled prompt-step-cleanup");
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

/// Runs `f` against the site's storage as one native invocation would see it.
fn with_store<R>(sim: &mut Sim, f: impl FnOnce(aiclearance::storage::Store<'_>) -> R) -> R {
    let emu = sim.emu_mut();
    emu.begin("test", None, 25, host_sim::faults::FaultPlan::default());
    let out = {
        let host = host_sim::runtime::native::NativeHost::new(emu);
        f(aiclearance::storage::Store::new(&host))
    };
    emu.end();
    out
}

#[test]
fn the_storage_layer_adds_the_dirty_mark_and_counts_it_against_the_transaction() {
    // covers: CL-074
    use aiclearance::storage::{keys, StorageError, MAX_TX_OPS};
    let mut sim = quiet();
    let clean = sim.state().kvs["sweep-hint:job-runner"].value.clone();
    with_store(&mut sim, |store| {
        // A watched write takes two of the transaction's operations: itself and the mark.
        let mut tx = store.tx();
        tx.set(&keys::job_due(1, "j-test"), &"j-test").unwrap();
        assert_eq!(tx.len(), 2);
        for i in 0..MAX_TX_OPS - 2 {
            tx.set(&format!("test-key:{i}"), &i).unwrap();
        }
        assert_eq!(tx.len(), MAX_TX_OPS);
        assert!(matches!(
            tx.set("test-key:last", &0),
            Err(StorageError::TooManyOps(_))
        ));
        tx.commit().unwrap();
        // The mark's key cannot also be written by hand in a transaction that carries it.
        let mut tx = store.tx();
        tx.set(&keys::job_due(2, "j-test-2"), &"j-test-2").unwrap();
        assert!(tx.set("sweep-hint:job-runner", &0).is_err());
        drop(tx);
        // Single writes carry it too, create-if-absent keeps its meaning, and a watched key
        // cannot take a TTL (the work would vanish behind the hint's back).
        assert!(store.create(&keys::decision_notice("n-test"), &1).unwrap());
        assert!(!store.create(&keys::decision_notice("n-test"), &2).unwrap());
        assert!(store
            .put_ttl(&keys::path_outcome("a-test"), &1, 60)
            .is_err());
        // Deletes and unwatched writes leave the hint alone.
        store.put("test-key:plain", &1).unwrap();
    });
    let after = sim.state().kvs["sweep-hint:job-runner"].value.clone();
    assert_ne!(after, clean);
    assert!(runner_hint(&sim)["dirty"].is_string(), "{after}");
    assert_eq!(
        serde_json::from_str::<Value>(&sim.state().kvs["decision-notice:n-test"].value).unwrap(),
        json!(1),
        "the second create changed nothing"
    );
    let dirty = runner_hint(&sim)["dirty"].clone();
    with_store(&mut sim, |store| {
        store.delete(&keys::decision_notice("n-test")).unwrap();
        store.put("test-key:plain", &2).unwrap();
    });
    assert_eq!(runner_hint(&sim)["dirty"], dirty);
}

#[test]
fn a_runner_hint_reaching_past_a_day_is_not_trusted() {
    // covers: CL-074
    let mut sim = quiet();
    let now = sim.state().clock_ms;
    let far = json!({"nextMs": now + 365 * 24 * HOUR}).to_string();
    sim.state_mut()
        .kvs
        .get_mut("sweep-hint:job-runner")
        .unwrap()
        .value = far;
    assert_full_pass(&sim.advance(HOUR), "scheduled job-runner");
    let next = runner_hint(&sim)["nextMs"].as_u64().unwrap();
    assert!(
        next <= sim.state().clock_ms + 24 * HOUR,
        "re-settled within a day"
    );
}
