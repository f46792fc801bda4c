//! Shared helpers for the end-to-end tests: a fresh simulated default site running the compiled
//! component (wasm) or the same code natively.
#![allow(dead_code)]

use host_sim::runtime::RawOutcome;
use host_sim::scenario;
use host_sim::sim::{default_manifest, EngineKind, Sim};
use serde_json::{json, Value};
use std::path::PathBuf;

pub const ADMIN: &str = "5ad71d4ed1503a19896557c0";
pub const JONAS: &str = "5ad8a1033b4801af4cd6c510";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn site_dir() -> PathBuf {
    root().join("fixtures/default")
}

/// A fresh site with the scenario's setup (intake config + catalog) applied.
pub fn setup(kind: EngineKind) -> Sim {
    let mut sim =
        Sim::from_site(&site_dir(), &default_manifest(), kind, 7).expect("default site loads");
    let steps = scenario::setup_steps(&scenario::load(&site_dir()).unwrap());
    let mut t = String::new();
    for r in scenario::run(&mut sim, &steps, &mut t).unwrap() {
        assert!(
            matches!(r.outcome, RawOutcome::Ok(_)),
            "setup step failed: {:?}",
            r.outcome
        );
    }
    sim
}

pub fn wasm() -> Sim {
    setup(EngineKind::Wasm)
}

/// Intake and catalog only: no approval definitions, webhooks, governance or auto-approval
/// policies (engine tests define their own; requests are decided directly).
pub fn basic() -> Sim {
    let mut sim = Sim::from_site(&site_dir(), &default_manifest(), EngineKind::Wasm, 7)
        .expect("default site loads");
    let steps = scenario::intake_and_catalog_steps(&scenario::load(&site_dir()).unwrap());
    let mut t = String::new();
    for r in scenario::run(&mut sim, &steps, &mut t).unwrap() {
        assert!(
            matches!(r.outcome, RawOutcome::Ok(_)),
            "setup step failed: {:?}",
            r.outcome
        );
    }
    sim
}

fn event_files() -> Vec<PathBuf> {
    let dir = site_dir().join("events");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
}

/// The event file whose name starts with `prefix` (e.g. "001").
pub fn event(prefix: &str) -> Value {
    let path = event_files()
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no event {prefix}"));
    scenario::read_event(&path).unwrap()
}

/// Every default-site event, in file-name order.
pub fn all_events() -> Vec<(String, Value)> {
    event_files()
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                scenario::read_event(&p).unwrap(),
            )
        })
        .collect()
}

/// A fresh default site with nothing configured.
pub fn unconfigured() -> Sim {
    Sim::from_site(&site_dir(), &default_manifest(), EngineKind::Wasm, 7)
        .expect("default site loads")
}

pub fn outcome(rec: &host_sim::InvocationRecord) -> Value {
    match &rec.outcome {
        RawOutcome::Ok(v) => v.clone(),
        other => panic!("invocation did not succeed: {other:?}"),
    }
}

pub fn kvs_value(sim: &Sim, key: &str) -> Option<Value> {
    sim.state()
        .kvs
        .get(key)
        .map(|s| serde_json::from_str(&s.value).unwrap())
}

pub fn count_prefix(sim: &Sim, prefix: &str) -> usize {
    sim.state()
        .kvs
        .keys()
        .filter(|k| k.starts_with(prefix))
        .count()
}

/// Verifies the audit chain with the app's own verifier (natively, against the same emulator).
pub fn verify(sim: &mut Sim) -> aiclearance::audit::VerifyReport {
    let emu = sim.emu_mut();
    emu.begin("verify", None, 900, Default::default());
    let report = {
        let host = host_sim::runtime::native::NativeHost::new(&mut *emu);
        aiclearance::audit::verify(aiclearance::storage::Store::new(&host), usize::MAX).unwrap()
    };
    emu.end();
    report
}

/// A resolver call as `who` that must succeed; its result.
/// Runs the scheduled trigger `key` now and returns what it reported (it must not fail).
pub fn scheduled(sim: &mut Sim, key: &str) -> Value {
    let rec = sim.run_scheduled(key).unwrap();
    match &rec.outcome {
        RawOutcome::Ok(v) => v.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

pub fn ok(sim: &mut Sim, f: &str, p: Value, who: &str) -> Value {
    let rec = sim.resolve(f, &p, Some(who));
    match &rec.outcome {
        RawOutcome::Ok(v) => v.clone(),
        other => panic!("{f} as {who}: {other:?}"),
    }
}

/// A resolver call as `who` that must fail; its error code.
pub fn err(sim: &mut Sim, f: &str, p: Value, who: &str) -> String {
    match &sim.resolve(f, &p, Some(who)).outcome {
        RawOutcome::Err(e) => e.code.clone(),
        other => panic!("{f} as {who} should fail: {other:?}"),
    }
}

/// The default site's whole scenario, natively, with these `--fault` plans armed.
pub fn whole_scenario(faults: &[&str]) -> Sim {
    let mut sim = Sim::from_site(&site_dir(), &default_manifest(), EngineKind::Native, 7)
        .expect("default site loads");
    for f in faults {
        sim.armed.push(host_sim::faults::parse_armed(f).unwrap());
    }
    let steps = scenario::load(&site_dir()).unwrap();
    scenario::run(&mut sim, &steps, &mut String::new()).unwrap();
    sim
}

/// The issue's comments as plain text (oldest first).
pub fn issue_comments(sim: &Sim, key: &str) -> Vec<String> {
    sim.state()
        .site
        .issue(key)
        .unwrap()
        .comments
        .iter()
        .map(|c| aiclearance::adf::to_text(&c.body))
        .collect()
}

/// The issue's workflow status id.
pub fn issue_status(sim: &Sim, key: &str) -> String {
    sim.state().site.issue(key).unwrap().status.clone()
}

/// A portal request by `who` whose panel submitted `snapshot` (`aiclearance.snapshot.v1`), with
/// everything it queued run; the issue key and id.
pub fn portal_file(sim: &mut Sim, who: &str, summary: &str, snapshot: &Value) -> (String, String) {
    let (key, rec) = host_sim::serve::portal::create(
        sim,
        &host_sim::serve::portal::PortalRequest {
            reporter: who.into(),
            portal_id: 1,
            request_type_id: "12".into(),
            summary: summary.into(),
            description: "Needed for my work.".into(),
            panel: Some(
                json!({"isValid": true, "fields": [{"key": "aiclearance.snapshot.v1",
                                                          "value": snapshot}]}),
            ),
        },
    )
    .expect("portal accepts the request");
    assert!(
        matches!(rec.outcome, RawOutcome::Ok(_)),
        "{:?}",
        rec.outcome
    );
    sim.settle();
    let id = sim.state().site.issue(&key).unwrap().id.clone();
    (key, id)
}

/// Delivers the events with these file prefixes and runs what they queued.
pub fn deliver(sim: &mut Sim, prefixes: &[&str]) {
    for p in prefixes {
        let rec = sim.deliver(&event(p)).unwrap();
        assert!(
            matches!(rec.outcome, RawOutcome::Ok(_)),
            "event {p}: {:?}",
            rec.outcome
        );
        sim.settle();
    }
}

/// Audit entries of one type, as stored.
pub fn audit_of(sim: &Sim, kind: &str) -> Vec<Value> {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("audit-event:"))
        .map(|(_, s)| serde_json::from_str::<Value>(&s.value).unwrap())
        .filter(|e| e["type"] == kind)
        .collect()
}

/// Marcus Webb, of the ai-approvers group (decides low-risk requests directly).
pub const MARCUS: &str = "712020:cbad11ac-0c2c-5fc7-9344-6ed71784eaa4";

/// AIR-2 (Wei, GitHub Copilot, low risk: decided directly) ingested and approved by Marcus, with
/// what that queued run. Its grant is `g-10101`.
pub fn approve_air2(sim: &mut Sim) {
    deliver(sim, &["002"]);
    ok(
        sim,
        "clearance.approvals.decide",
        serde_json::json!({"issueKey": "AIR-2", "decision": "approve"}),
        MARCUS,
    );
    sim.settle();
}

/// Moves a grant's expiry to `at_ms` (optionally marking it active), keeping the expiry index in
/// step: the state a long-lived grant reaches, without waiting months of simulated time.
pub fn set_grant_expiry(sim: &mut Sim, grant_id: &str, at_ms: u64, make_active: bool) {
    let key = format!("access-grant:{grant_id}");
    let mut g = kvs_value(sim, &key).unwrap();
    let old = aiclearance::time::parse(g["expiresAt"].as_str().unwrap()).unwrap();
    g["expiresAt"] = serde_json::json!(aiclearance::time::rfc3339(at_ms));
    if make_active {
        g["status"] = serde_json::json!("active");
    }
    let st = sim.state_mut();
    st.kvs.get_mut(&key).unwrap().value = g.to_string();
    let entry = st
        .kvs
        .remove(&format!("access-grant-expiry:{old:013}:{grant_id}"))
        .unwrap();
    st.kvs
        .insert(format!("access-grant-expiry:{at_ms:013}:{grant_id}"), entry);
}
/// The Okta API token the connector tests use (and check never leaks).
pub const OKTA_TOKEN: &str = "00aTestOktaToken-do-not-leak-7781";

/// An enabled Okta connector (with `reconcileMode` when given) and GitHub Copilot bound to its
/// group; the bind's result.
pub fn connect_okta(sim: &mut Sim, reconcile_mode: Option<&str>) -> Value {
    let mut c = serde_json::json!({"id": "okta", "name": "Okta", "type": "okta-group",
        "config": {"orgUrl": "https://acme.okta.com", "apiToken": OKTA_TOKEN}});
    if let Some(m) = reconcile_mode {
        c["reconcileMode"] = serde_json::json!(m);
    }
    ok(sim, "admin.connectors.save", c, ADMIN);
    ok(
        sim,
        "admin.connectors.enable",
        serde_json::json!({"id": "okta"}),
        ADMIN,
    );
    ok(
        sim,
        "admin.connectors.bindTool",
        serde_json::json!({"toolId": "github-copilot", "connectorId": "okta"}),
        ADMIN,
    )
}

pub mod console;
pub mod prompt;
