//! `cargo bench --bench approvals` — approval-engine figures for BENCHMARKS.md.
//!
//! Measures, for the compiled component (wasm) and natively: deciding one step of a 10-step
//! sequential path (guest time excluding simulated host I/O, host calls), the effect worker that
//! follows, walking the whole path, and rendering a typical template (native, in-process).

use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0";
const ADMIN: &str = "5ad71d4ed1503a19896557c0";
const PATHS: usize = 50;

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

fn ok(sim: &mut Sim, f: &str, p: Value, who: &str) -> (Value, host_sim::InvocationRecord) {
    let rec = sim.resolve(f, &p, Some(who));
    match &rec.outcome {
        RawOutcome::Ok(v) => (v.clone(), rec),
        other => panic!("{f}: {other:?}"),
    }
}

fn pct(v: &mut [u64], p: usize) -> f64 {
    v.sort_unstable();
    v[(v.len() - 1) * p / 100] as f64 / 1000.0
}

fn run(kind: EngineKind) {
    let mut sim = Sim::from_site(&site(), &default_manifest(), kind, 1).unwrap();
    sim.emu_mut().manifest.scheduled.clear();
    let steps = scenario::setup_steps(&scenario::load(&site()).unwrap());
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    // Ten sequential USER steps, each followed by nothing; success runs one automation comment.
    let steps: Vec<Value> = (1..=10)
        .map(|g| json!({"name": format!("Approver {g}"), "type": "USER", "parallelGroupNumber": g, "approvers": [PRIYA]}))
        .collect();
    ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {"id": "ten", "name": "Ten steps", "steps": steps,
            "successSteps": [{"name": "Done", "type": "AUTOMATION", "comment": "{{ approval.name }} approved: {% for s in approval.steps %}{{ s.name }} {% endfor %}"}]}}),
        ADMIN,
    );
    let (mut decide_ns, mut decide_calls, mut worker_ns) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for _ in 0..PATHS {
        let (v, _) = ok(
            &mut sim,
            "approvals.start",
            json!({"definitionId": "ten", "issueKey": "AIR-1"}),
            ADMIN,
        );
        let id = v["approval"]["id"].as_str().unwrap().to_string();
        for s in 1..=10 {
            let (_, rec) = ok(
                &mut sim,
                "approvals.decide",
                json!({"approvalId": id, "stepId": format!("s{s}"), "decision": "approve"}),
                PRIYA,
            );
            decide_ns.push(rec.wall_ns.saturating_sub(rec.host_ns));
            decide_calls.push(rec.counts.total);
        }
        for rec in sim.settle() {
            if rec.label.contains("approval-effects") {
                worker_ns.push(rec.wall_ns.saturating_sub(rec.host_ns));
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{kind:?}: decide a step (guest µs) p50 {:.0} p95 {:.0}; host calls per decision p50 {:.0}; effect worker (guest µs) p50 {:.0}; {PATHS} paths × (start + 10 decisions + worker) in {:.2} s wall ({:.1} ms per 10-step path)",
        pct(&mut decide_ns, 50),
        pct(&mut decide_ns, 95),
        pct(&mut decide_calls, 50) * 1000.0,
        pct(&mut worker_ns, 50),
        wall,
        wall * 1000.0 / PATHS as f64
    );
}

fn render() {
    let ctx = json!({
        "approval": {"id": "apr-1", "name": "Standard AI access", "status": "APPROVED", "progress": 100,
                      "steps": (1..=10).map(|i| json!({"name": format!("Step {i}"), "decision": "APPROVED", "comment": "looks fine"})).collect::<Vec<_>>()},
        "issue": {"id": "10100", "key": "AIR-1", "fields": {"summary": "ChatGPT Enterprise for the marketing team", "priority": {"name": "High"}}},
        "definition": {"name": "Standard AI access", "description": "Everyday tools"}
    });
    let t = "{{ approval.name }} on {{ issue.key }} ({{ issue.fields.summary }}) is {{ approval.status }}.\n{% for s in approval.steps %}- {{ s.name }}: {{ s.decision }}{% if s.comment %} — {{ s.comment }}{% endif %}\n{% endfor %}${approval.id}";
    let n = 2_000;
    let started = Instant::now();
    let mut len = 0;
    for _ in 0..n {
        len += aiclearance::approvals::olivlang::render(t, &ctx)
            .unwrap()
            .len();
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("render a typical template (10-step loop, legacy tag, {} bytes out): {per:.1} µs per render (native)", len / n);
}

fn main() {
    run(EngineKind::Wasm);
    run(EngineKind::Native);
    render();
}
