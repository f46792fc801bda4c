//! `cargo bench --bench ingest` — the figures in BENCHMARKS.md.
//!
//! Measures: component size; cold start (deserialize the cached artifact + InstancePre, then one
//! fresh Store + instance); guest time per ingest excluding simulated host I/O, over N synthetic
//! issue-created events, as wasm and natively in the same run; host calls per ingest.

use host_sim::runtime::wasm::WasmEngine;
use host_sim::scenario;
use host_sim::sim::{default_component, default_manifest, EngineKind, Sim};
use std::path::PathBuf;
use std::time::Instant;

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

/// A configured site plus `n` copies of AIR-1 (fresh ids/keys) and their events.
fn prepared(kind: EngineKind, n: usize) -> (Sim, Vec<serde_json::Value>) {
    let mut sim = Sim::from_site(&site(), &default_manifest(), kind, 1).unwrap();
    sim.emu_mut().manifest.scheduled.clear();
    let steps = scenario::setup_steps(&scenario::load(&site()).unwrap());
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    let template = sim.state().site.issue("AIR-1").unwrap().clone();
    let event =
        scenario::read_event(&site().join("events/001-happy-chatgpt-enterprise.json")).unwrap();
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let mut issue = template.clone();
        issue.id = (500_000 + i).to_string();
        issue.key = format!("AIR-{}", 1000 + i);
        let mut ev = event.clone();
        ev["issue"]["id"] = issue.id.clone().into();
        ev["issue"]["key"] = issue.key.clone().into();
        sim.state_mut().site.issues.push(issue);
        events.push(ev);
    }
    (sim, events)
}

struct Run {
    guest_ns: Vec<u64>,
    wall_ns: u64,
    calls: (u64, u64, u64, u64),
}

fn ingest_all(kind: EngineKind, n: usize) -> Run {
    let (mut sim, events) = prepared(kind, n);
    let mut guest_ns = Vec::with_capacity(n);
    let started = Instant::now();
    let mut last = None;
    for ev in &events {
        let rec = sim.deliver(ev).unwrap();
        assert_eq!(rec.ok().unwrap()["outcome"], "ingested");
        guest_ns.push(rec.wall_ns.saturating_sub(rec.host_ns));
        last = Some(rec.counts);
    }
    let wall_ns = started.elapsed().as_nanos() as u64;
    let c = last.unwrap();
    guest_ns.sort_unstable();
    Run {
        guest_ns,
        wall_ns,
        calls: (
            c.total,
            c.service(host_sim::Service::Kvs),
            c.service(host_sim::Service::Jira),
            c.kvs_transactions,
        ),
    }
}

fn pct(v: &[u64], p: f64) -> f64 {
    v[((v.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0
}

fn main() {
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let component = default_component();
    let size = std::fs::metadata(&component).unwrap().len();
    println!(
        "component: {} bytes ({:.2} MB) at {}",
        size,
        size as f64 / 1e6,
        component.display()
    );

    // Cold start: the first load may compile; measure a load from the cache.
    let _ = WasmEngine::load(&component).unwrap();
    let t = Instant::now();
    let engine = WasmEngine::load(&component).unwrap();
    let load = t.elapsed();
    let (sim, _) = prepared(EngineKind::Native, 0);
    let emu = host_sim::emulator::Emulator::new(sim.state().clone(), sim.emu().manifest.clone());
    let mut emu = Some(emu);
    let rounds = 2_000;
    let t = Instant::now();
    for _ in 0..rounds {
        let (store, _app) = engine.instantiate(emu.take().unwrap(), 25).unwrap();
        emu = Some(store.into_data().into_emulator());
    }
    let inst = t.elapsed() / rounds;
    println!("cold start: load (deserialize cached artifact + InstancePre) {:.2} ms; fresh Store + instantiate {:.1} µs", load.as_secs_f64() * 1e3, inst.as_secs_f64() * 1e6);

    // `BENCH_ENGINE=native` (or `wasm`) runs one side only, for a profiler.
    let only = std::env::var("BENCH_ENGINE").unwrap_or_default();
    if !only.is_empty() {
        let kind = if only == "wasm" {
            EngineKind::Wasm
        } else {
            EngineKind::Native
        };
        let r = ingest_all(kind, n);
        println!("ingest {only}: p50 {:.1} µs", pct(&r.guest_ns, 0.5));
        return;
    }
    let wasm = ingest_all(EngineKind::Wasm, n);
    let native = ingest_all(EngineKind::Native, n);
    for (name, r) in [("wasm", &wasm), ("native", &native)] {
        let mean = r.guest_ns.iter().sum::<u64>() as f64 / r.guest_ns.len() as f64 / 1000.0;
        println!(
            "ingest {name:6}: {n} events, guest time excl. host calls mean {mean:.1} µs, p50 {:.1} µs, p99 {:.1} µs; end-to-end {:.0} events/s",
            pct(&r.guest_ns, 0.5),
            pct(&r.guest_ns, 0.99),
            n as f64 / (r.wall_ns as f64 / 1e9)
        );
    }
    let ratio = pct(&wasm.guest_ns, 0.5) / pct(&native.guest_ns, 0.5);
    println!("wasm/native guest-time ratio (p50): {ratio:.2}x");
    let (total, kvs, jira, tx) = wasm.calls;
    println!("host calls per ingest: {total} total, {kvs} KVS ({tx} transaction), {jira} Jira");
}
