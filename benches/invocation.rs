//! `cargo bench --bench invocation` — what one small invocation costs, wasm against native.
//!
//! The fixed cost every cold Forge invocation pays before its own work: the idle five-minute
//! sweep (one host call) and My Access (a handful of reads), each repeated `BENCH_ROUNDS` times on
//! the configured default site. Guest time excludes simulated host I/O; for wasm it includes the
//! fresh Store and instance each invocation gets (serverless: nothing survives between calls).

use host_sim::scenario;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use serde_json::json;
use std::path::PathBuf;

const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4";

/// One measured invocation on a prepared site.
type Case = fn(&mut Sim) -> host_sim::InvocationRecord;

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

fn p(v: &mut [u64], q: f64) -> f64 {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0
}

fn measure(kind: EngineKind, rounds: usize) -> Vec<(String, f64, f64, u64)> {
    let mut sim = Sim::from_site(&site(), &default_manifest(), kind, 1).unwrap();
    let steps = scenario::setup_steps(&scenario::load(&site()).unwrap());
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    // Settle the sweep's hint, so every measured run is the idle one.
    sim.run_scheduled("prompt-step-cleanup").unwrap();
    let mut out = Vec::new();
    let cases: [(&str, Case); 2] = [
        ("idle 5-minute sweep", |s: &mut Sim| {
            s.run_scheduled("prompt-step-cleanup").unwrap()
        }),
        ("My Access", |s: &mut Sim| {
            s.resolve("page.myAccess", &json!({}), Some(MARCUS))
        }),
    ];
    for (name, case) in cases.iter() {
        let mut ns = Vec::with_capacity(rounds);
        let mut calls = 0;
        for _ in 0..rounds {
            let rec = case(&mut sim);
            assert!(rec.ok().is_some(), "{name}: {:?}", rec.outcome);
            ns.push(rec.wall_ns.saturating_sub(rec.host_ns));
            calls = rec.counts.total;
        }
        out.push((name.to_string(), p(&mut ns, 0.5), p(&mut ns, 0.99), calls));
    }
    out
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let wasm = measure(EngineKind::Wasm, rounds);
    let native = measure(EngineKind::Native, rounds);
    for ((name, w50, w99, calls), (_, n50, n99, _)) in wasm.iter().zip(&native) {
        println!(
            "{name}: {calls} host calls; guest p50 wasm {w50:.1} µs / native {n50:.1} µs ({:.1}x), p99 {w99:.1} / {n99:.1} µs",
            w50 / n50
        );
    }
}
