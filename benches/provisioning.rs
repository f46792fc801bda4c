//! `cargo bench --bench provisioning` — provisioning and sweep figures for BENCHMARKS.md.
//!
//! 1. The hourly job runner against 1k / 10k / 100k grants, of which 0 or 100 are overdue: kvs
//!    calls and time. A sweep must cost what is due, not what is stored.
//! 2. Time from approval to active access, in simulated time, for a connected (Okta) grant: with
//!    a healthy relay, after one 503, and after a 429 whose Retry-After is longer than a queue
//!    delay can be.

use host_sim::remotes::relay::RelayFault;
use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use host_sim::Service;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

const ADMIN: &str = "5ad71d4ed1503a19896557c0";
const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4";
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

fn ok(sim: &mut Sim, f: &str, p: Value, who: &str) -> Value {
    match &sim.resolve(f, &p, Some(who)).outcome {
        RawOutcome::Ok(v) => v.clone(),
        other => panic!("{f}: {other:?}"),
    }
}

fn kvs(sim: &Sim, key: &str) -> Value {
    serde_json::from_str(&sim.state().kvs[key].value).unwrap()
}

/// The scenario's setup, then AIR-2 (Wei, Copilot) ingested; scheduled triggers off.
fn setup() -> Sim {
    let mut sim = Sim::from_site(&site(), &default_manifest(), EngineKind::Wasm, 1).unwrap();
    let steps = scenario::setup_steps(&scenario::load(&site()).unwrap());
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    let ev = scenario::read_event(&site().join("events/002-happy-github-copilot.json")).unwrap();
    sim.deliver(&ev).unwrap();
    sim.settle();
    sim
}

fn approve(sim: &mut Sim) {
    ok(
        sim,
        "clearance.approvals.decide",
        json!({"issueKey": "AIR-2", "decision": "approve"}),
        MARCUS,
    );
    sim.settle();
}

fn sweep(total: u64, due: u64) -> (u64, f64, f64) {
    let mut sim = setup();
    approve(&mut sim);
    let template = kvs(&sim, "access-grant:g-10101");
    let now = sim.state().clock_ms;
    let st = sim.state_mut();
    for n in 0..total {
        let at = if n < due {
            now - HOUR - n
        } else {
            now + 30 * DAY + n * 1_000
        };
        let id = format!("g-bulk{n}");
        let mut g = template.clone();
        g["id"] = json!(id);
        g["accountId"] = json!(format!("acct-{n}"));
        g["expiresAt"] = json!(aiclearance::time::rfc3339(at));
        g["status"] = json!("active");
        let mut put = |k: String, v: String| {
            st.kvs.insert(
                k,
                host_sim::emulator::Stored {
                    value: v,
                    expires_at_ms: None,
                },
            );
        };
        put(format!("access-grant:{id}"), g.to_string());
        put(
            format!("access-grant-expiry:{at:013}:{id}"),
            format!("\"{id}\""),
        );
        put(
            format!("access-grant-open:acct-{n}:github-copilot"),
            format!("\"{id}\""),
        );
        put(
            format!("access-grant-by-status:active:{id}"),
            format!("\"{id}\""),
        );
    }
    let t = Instant::now();
    let rec = sim.run_scheduled("job-runner").unwrap();
    let wall_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(
        matches!(rec.outcome, RawOutcome::Ok(_)),
        "{:?}",
        rec.outcome
    );
    let guest_ms = rec.wall_ns.saturating_sub(rec.host_ns) as f64 / 1e6;
    (rec.counts.service(Service::Kvs), guest_ms, wall_ms)
}

/// Seconds from approval to `activatedAt` for a connected grant, after `faults`.
fn approval_to_active(faults: &[RelayFault]) -> u64 {
    let mut sim = setup();
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "name": "Okta", "type": "okta-group",
              "config": {"orgUrl": "https://acme.okta.com", "apiToken": "bench-token"}}),
        ADMIN,
    );
    ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "okta"}),
        ADMIN,
    );
    ok(
        &mut sim,
        "admin.connectors.bindTool",
        json!({"toolId": "github-copilot", "connectorId": "okta"}),
        ADMIN,
    );
    sim.state_mut().relay.faults.extend(faults.iter().cloned());
    let approved_at = sim.state().clock_ms;
    approve(&mut sim);
    for _ in 0..(3 * 60) {
        if kvs(&sim, "access-grant:g-10101")["status"] == "active" {
            break;
        }
        sim.advance(60_000);
    }
    let g = kvs(&sim, "access-grant:g-10101");
    let at = aiclearance::time::parse(g["activatedAt"].as_str().expect("activated")).unwrap();
    (at - approved_at) / 1000
}

fn main() {
    println!("job runner (hourly sweep) against stored and due grants, wasm:");
    println!(
        "{:>8} {:>5} {:>10} {:>10} {:>10}",
        "grants", "due", "kvs calls", "guest ms", "wall ms"
    );
    for total in [1_000u64, 10_000, 100_000] {
        for due in [0u64, 100] {
            let (calls, guest, wall) = sweep(total, due);
            println!("{total:>8} {due:>5} {calls:>10} {guest:>10.2} {wall:>10.2}");
        }
    }
    println!("\napproval → active access (connected, simulated time):");
    println!(
        "  healthy relay:                 {:>5} s",
        approval_to_active(&[])
    );
    println!(
        "  one 503 first:                 {:>5} s",
        approval_to_active(&[RelayFault::ServerError])
    );
    println!(
        "  429 with Retry-After 1200 s:   {:>5} s",
        approval_to_active(&[RelayFault::RateLimited {
            retry_after_s: 1_200
        }])
    );
}
