//! `cargo bench --bench forge_node` — the Forge deploy path against wasmtime, for BENCHMARKS.md.
//! Needs `npm install --prefix forge && node forge/build.mjs` (the tests do both). The cold start
//! with the real @forge packages is `node forge/bench.mjs` (BENCHMARKS.md "Forge package").
//!
//! 1. The deploy package: bytes of `forge/dist/package` (core wasm plain + asyncified, index.cjs + map).
//! 2. Cold start: spawning Node, loading the simulator bundle and compiling the core modules, against
//!    wasmtime loading its precompiled component.
//! 3. Per-invocation cost of the same resolver and the same issue-created delivery under each
//!    engine (fresh instance per invocation in both), and the protocol overhead per host call.

use host_sim::runtime::node::NodeEngine;
use host_sim::runtime::wasm::WasmEngine;
use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_component, default_forge_dist, default_manifest, Sim};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ADMIN: &str = "5ad71d4ed1503a19896557c0";

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/default")
}

fn dir_bytes(p: &Path) -> (u64, u64) {
    let (mut total, mut wasm) = (0, 0);
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let path = e.path();
        if path.file_name().is_some_and(|n| n == "node_modules") {
            continue;
        }
        if path.is_dir() {
            let (t, w) = dir_bytes(&path);
            total += t;
            wasm += w;
        } else {
            let n = e.metadata().unwrap().len();
            total += n;
            if path.extension().is_some_and(|x| x == "wasm") {
                wasm += n;
            }
        }
    }
    (total, wasm)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn setup(engine: Box<dyn host_sim::runtime::Engine>) -> Sim {
    let mut sim = Sim::from_site_with(&site(), &default_manifest(), engine, 3).unwrap();
    let steps = scenario::setup_steps(&scenario::load(&site()).unwrap());
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    sim
}

fn main() {
    let dist = default_forge_dist();
    // The deploy package (Forge's webpack output); host-sim runs its stand-in twin dist/sim.
    let (total, wasm) = dir_bytes(&dist.join("package"));
    println!(
        "bundle: {} total, of which core wasm {} ({})",
        kib(total),
        kib(wasm),
        dist.join("package").display()
    );

    // Cold start, five times each.
    let mut node_cold = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let e = NodeEngine::start(&dist).expect("forge/dist is built");
        node_cold.push(t.elapsed());
        println!(
            "  node {} ({}) ready in {}, child CPU {}",
            e.node_version,
            e.mode,
            ms(e.load_time),
            e.cpu
        );
    }
    let mut wasm_cold = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let _e = WasmEngine::load(&default_component()).unwrap();
        wasm_cold.push(t.elapsed());
    }
    println!(
        "cold start (median of 5): node {} (spawn + adapter + compile), wasmtime {} (deserialize precompiled)",
        ms(median(node_cold)),
        ms(median(wasm_cold))
    );

    // Per invocation: a KVS-only resolver, and a full issue-created delivery.
    let event =
        scenario::read_event(&site().join("events/001-happy-chatgpt-enterprise.json")).unwrap();
    let mut rows = Vec::new();
    for (name, engine) in [
        (
            "wasmtime",
            Box::new(WasmEngine::load(&default_component()).unwrap())
                as Box<dyn host_sim::runtime::Engine>,
        ),
        ("node", Box::new(NodeEngine::start(&dist).unwrap())),
    ] {
        let mut sim = setup(engine);
        let mut resolve = Vec::new();
        let mut calls = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let r = sim.resolve("admin.intake.get", &json!({}), Some(ADMIN));
            resolve.push(t.elapsed());
            assert!(matches!(r.outcome, RawOutcome::Ok(_)), "{:?}", r.outcome);
            calls = r.counts.total;
        }
        let mut intake = Vec::new();
        let mut intake_calls = 0;
        for _ in 0..10 {
            // A fresh site each time, so every delivery ingests (not a duplicate).
            let engine = sim.into_engine();
            sim = setup(engine);
            let t = Instant::now();
            let r = sim.deliver(&event).unwrap();
            intake.push(t.elapsed());
            intake_calls = r.counts.total;
        }
        let (r, i) = (median(resolve), median(intake));
        println!(
            "{name}: resolver admin.intake.get {} ({calls} host calls); issue-created intake {} ({intake_calls} host calls)",
            ms(r),
            ms(i)
        );
        rows.push((r, i, calls, intake_calls));
    }
    let (w, n) = (&rows[0], &rows[1]);
    let per_call = (n.1.as_secs_f64() - w.1.as_secs_f64()) / n.3.max(1) as f64 * 1e6;
    println!(
        "node/wasmtime: resolver ×{:.1}, intake ×{:.1}; extra per host call ≈ {per_call:.0} µs (line-protocol round trip included)",
        n.0.as_secs_f64() / w.0.as_secs_f64(),
        n.1.as_secs_f64() / w.1.as_secs_f64()
    );
}

fn kib(b: u64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}
