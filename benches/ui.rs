//! `cargo bench --bench ui` — the Custom UI for BENCHMARKS.md: bundle weight (raw and gzip) and
//! the time from page load to the first rendered rows of each screen, in headless Chromium
//! against `host-sim serve` on the default site (static/ui/bench/load.mjs does the browser part).

use host_sim::serve::{self, Options};
use host_sim::sim::{default_manifest, EngineKind};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let state = std::env::temp_dir().join(format!("aiclearance-bench-ui-{}", std::process::id()));
    let (st, site) = (state.clone(), root.join("fixtures/default"));
    let handle = serve::start(
        Options {
            addr: "127.0.0.1:0".parse().unwrap(),
            ui_dir: root.join("static/ui/dist"),
            state_dir: state.clone(),
            clock_running: false,
        },
        move || {
            serve::open_or_run(&st, &site, &default_manifest(), EngineKind::Wasm, 42, true)
                .map(|(s, _)| s)
        },
    )
    .expect("console starts");
    let out = Command::new("node")
        .arg(root.join("static/ui/bench/load.mjs"))
        .current_dir(root.join("static/ui"))
        .env("CONSOLE_URL", handle.url())
        .output()
        .expect("node runs the browser bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    println!("Custom UI bundle (static/ui/dist):");
    for b in v["bundle"].as_array().unwrap() {
        println!(
            "  {:<40} {:>9} B raw {:>9} B gzip",
            b["file"].as_str().unwrap(),
            b["raw"],
            b["gzip"]
        );
    }
    println!(
        "  first view (index.html + entry JS + CSS): {} B raw, {} B gzip",
        v["firstView"]["raw"], v["firstView"]["gzip"]
    );
    println!(
        "  everything: {} B raw, {} B gzip",
        v["total"]["raw"], v["total"]["gzip"]
    );
    println!("Page load → first rendered content (fresh browser context each run):");
    for l in v["load"].as_array().unwrap() {
        println!(
            "  {:<36} p50 {:>7} ms  p90 {:>7} ms  min {:>7} ms  ({} runs); from the console's frame: p50 {} ms",
            l["screen"].as_str().unwrap(),
            l["p50_ms"],
            l["p90_ms"],
            l["min_ms"],
            l["runs"],
            l["app_p50_ms"]
        );
    }
    drop(handle);
    let _ = std::fs::remove_dir_all(&state);
}
