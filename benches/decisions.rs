//! `cargo bench --bench decisions` — AI Clearance decision figures for BENCHMARKS.md.
//!
//! On the compiled component (wasm) and natively: intake + routing of a request that approvers
//! decide directly, a bulk approval of 50 keys (the tab's maximum), the job runner expiring 50
//! grants, and My Access. Guest time excludes simulated host I/O; host calls are counted by the
//! emulator.

use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use serde_json::{json, Value};
use std::path::PathBuf;

const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4";
const N: u64 = 50;

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

fn guest_us(r: &host_sim::InvocationRecord) -> f64 {
    r.wall_ns.saturating_sub(r.host_ns) as f64 / 1000.0
}

fn p50(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn run(kind: EngineKind) {
    let mut sim = Sim::from_site(&site(), &default_manifest(), kind, 1).unwrap();
    let scheduled = sim.emu_mut().manifest.scheduled.clone();
    sim.emu_mut().manifest.scheduled.clear();
    let steps = scenario::setup_steps(&scenario::load(&site()).unwrap());
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    // N copies of AIR-2 (low risk, 180 days: direct decisions), each with its own issue.
    let template = sim.state().site.issue("AIR-2").unwrap().clone();
    let event: Value =
        scenario::read_event(&site().join("events/002-happy-github-copilot.json")).unwrap();
    let (mut ingest_us, mut ingest_calls) = (Vec::new(), Vec::new());
    let mut keys = Vec::new();
    // Distinct (person, tool) pairs, so no request conflicts with another's grant.
    let users: Vec<String> = sim
        .state()
        .site
        .users
        .iter()
        // Active people only (a deactivated account is refused a grant), and never the
        // deciding approver (no one decides their own request).
        .filter(|u| u.account_type == "atlassian" && u.active && u.account_id != MARCUS)
        .map(|u| u.account_id.clone())
        .collect();
    let tools = [
        "github-copilot",
        "microsoft-365-copilot",
        "grammarly-business",
        "tabnine",
    ];
    for i in 0..N {
        let (id, key) = (format!("{}", 20_000 + i), format!("AIR-{}", 1_000 + i));
        let who = users[i as usize % users.len()].clone();
        let tool = tools[i as usize / users.len()];
        let mut issue = template.clone();
        issue.id = id.clone();
        issue.key = key.clone();
        issue.reporter = who.clone();
        let mut props = serde_json::to_value(&issue.properties).unwrap();
        for (_, panel) in props.as_object_mut().unwrap().iter_mut() {
            panel["aiclearance.snapshot.v1"]["toolId"] = json!(tool);
        }
        issue.properties = serde_json::from_value(props).unwrap();
        sim.state_mut().site.issues.push(issue);
        let mut ev = event.clone();
        ev["issue"]["id"] = json!(id);
        ev["issue"]["key"] = json!(key);
        ev["issue"]["fields"]["reporter"]["accountId"] = json!(who);
        ev["issue"]["fields"]["creator"]["accountId"] = json!(who);
        ev["atlassianId"] = json!(who);
        let rec = sim.deliver(&ev).unwrap();
        assert!(
            matches!(rec.outcome, RawOutcome::Ok(_)),
            "{:?}",
            rec.outcome
        );
        ingest_us.push(guest_us(&rec));
        ingest_calls.push(rec.counts.total as f64);
        keys.push(key);
    }
    let rec = sim.resolve(
        "clearance.approvals.bulkDecide",
        &json!({"issueKeys": keys, "decision": "approve"}),
        Some(MARCUS),
    );
    let v = match &rec.outcome {
        RawOutcome::Ok(v) => v.clone(),
        o => panic!("{o:?}"),
    };
    assert_eq!(v["succeeded"], N, "{}", v["results"]);
    let (bulk_us, bulk_calls) = (guest_us(&rec), rec.counts.total);
    let follow = sim.settle();
    let follow_calls: u64 = follow.iter().map(|r| r.counts.total).sum();
    // 181 days later every grant is overdue: one job-runner run expires them.
    sim.state_mut().clock_ms += 181 * 86_400_000;
    sim.emu_mut().manifest.scheduled = scheduled;
    let runner = sim.run_scheduled("job-runner").unwrap();
    let expired = runner.ok().unwrap()["grantsExpired"].clone();
    let my = sim.resolve("page.myAccess", &json!({}), Some(MARCUS));
    println!(
        "{kind:?}: intake+routing (direct) p50 {:.0} µs guest, {:.0} host calls; bulk approve {N} keys {:.0} µs guest ({:.0} µs/key), {bulk_calls} host calls ({:.1}/key) + {follow_calls} in the notice/job queue; job runner expired {expired} grants in {:.0} µs guest, {} host calls; My Access {:.0} µs, {} host calls",
        p50(&mut ingest_us),
        p50(&mut ingest_calls),
        bulk_us,
        bulk_us / N as f64,
        bulk_calls as f64 / N as f64,
        guest_us(&runner),
        runner.counts.total,
        guest_us(&my),
        my.counts.total,
    );
}

fn main() {
    run(EngineKind::Wasm);
    run(EngineKind::Native);
}
