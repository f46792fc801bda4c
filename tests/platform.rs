//! The platform: Forge limits in the emulator, Jira's shapes and errors, access checks on
//! resolvers, bad payloads, persistence, and wasm/native parity.

mod common;

use aiclearance::host::{Condition, Entry, HostError, HttpRequest, Principal, SetOptions, TxOp};
use common::*;
use host_sim::faults::{Fault, FaultPlan, Service};
use host_sim::manifest::Manifest;
use host_sim::runtime::RawOutcome;
use host_sim::EngineKind;
use serde_json::{json, Value};

fn emu_sim() -> host_sim::Sim {
    let mut sim = setup(EngineKind::Native);
    sim.emu_mut()
        .begin("test", Some(ADMIN.into()), 25, FaultPlan::default());
    sim
}

#[test]
fn kvs_enforces_forge_key_value_page_and_transaction_limits() {
    let mut sim = emu_sim();
    let e = sim.emu_mut();
    assert!(
        matches!(e.kvs_set("a/b", "1", SetOptions::default()).unwrap(), Err(HostError::Invalid(m)) if m.contains("INVALID_KEY"))
    );
    assert!(
        matches!(e.kvs_set(&"k".repeat(501), "1", SetOptions::default()).unwrap(), Err(HostError::Invalid(m)) if m.contains("KEY_TOO_LONG"))
    );
    // The deployed app stores every record as the entity {key, text, digest}: a text that fits
    // 240 KiB on its own but not with its key and digest is refused too (issue 16).
    let fits_alone = format!("\"{}\"", "x".repeat(240 * 1024 - 40));
    assert!(matches!(
        e.kvs_set("big", &fits_alone, SetOptions::default()).unwrap(),
        Err(HostError::TooLarge(m)) if m.contains("entity")
    ));
    // The guest refuses it first, with a typed error, before any host call.
    {
        let host = host_sim::runtime::native::NativeHost::new(&mut *e);
        let store = aiclearance::storage::Store::new(&host);
        let err = store.put("big", &"x".repeat(240 * 1024 - 40)).unwrap_err();
        assert!(
            matches!(err, aiclearance::storage::StorageError::ValueTooLarge(ref m) if m.contains("entity")),
            "{err:?}"
        );
        assert_eq!(
            aiclearance::AppError::from(err).code,
            "STORAGE_VALUE_TOO_LARGE"
        );
    }
    let big = format!("\"{}\"", "x".repeat(240 * 1024));
    assert!(matches!(
        e.kvs_set("big", &big, SetOptions::default()).unwrap(),
        Err(HostError::TooLarge(_))
    ));
    let deep = format!("{}{}", "[".repeat(32), "]".repeat(32));
    assert!(
        matches!(e.kvs_set("deep", &deep, SetOptions::default()).unwrap(), Err(HostError::Invalid(m)) if m.contains("MAX_DEPTH"))
    );
    e.kvs_set(
        "once",
        "1",
        SetOptions {
            fail_if_exists: true,
            ttl_seconds: None,
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        e.kvs_set(
            "once",
            "2",
            SetOptions {
                fail_if_exists: true,
                ttl_seconds: None
            }
        )
        .unwrap(),
        Err(HostError::Conflict("once".into()))
    );
    assert!(matches!(
        e.kvs_query("x", None, 21).unwrap(),
        Err(HostError::Invalid(_))
    ));
    let ops: Vec<TxOp> = (0..26)
        .map(|i| {
            TxOp::Set(Entry {
                key: format!("t{i}"),
                value: "1".into(),
            })
        })
        .collect();
    assert!(matches!(
        e.kvs_transact(&ops).unwrap(),
        Err(HostError::Invalid(_))
    ));
    let dup = vec![
        TxOp::Set(Entry {
            key: "d".into(),
            value: "1".into(),
        }),
        TxOp::Delete("d".into()),
    ];
    assert!(matches!(
        e.kvs_transact(&dup).unwrap(),
        Err(HostError::Invalid(_))
    ));
    // A failed condition applies nothing and names the key.
    let tx = vec![
        TxOp::Set(Entry {
            key: "t-new".into(),
            value: "1".into(),
        }),
        TxOp::Check("once".into(), Condition::Equals("9".into())),
    ];
    assert_eq!(
        e.kvs_transact(&tx).unwrap(),
        Err(HostError::Conflict("once".into()))
    );
    assert_eq!(e.kvs_get("t-new").unwrap().unwrap(), None);
    let keys: Vec<String> = (0..26).map(|i| format!("k{i}")).collect();
    assert!(matches!(
        e.kvs_batch_get(&keys).unwrap(),
        Err(HostError::Invalid(_))
    ));
}

#[test]
fn queries_page_by_twenty_with_short_lived_cursors() {
    let mut sim = emu_sim();
    let e = sim.emu_mut();
    for i in 0..45 {
        e.kvs_set(&format!("p:{i:03}"), "1", SetOptions::default())
            .unwrap()
            .unwrap();
    }
    let p1 = e.kvs_query("p:", None, 20).unwrap().unwrap();
    assert_eq!(p1.entries.len(), 20);
    let p2 = e
        .kvs_query("p:", p1.next_cursor.as_deref(), 20)
        .unwrap()
        .unwrap();
    assert_eq!(p2.entries[0].key, "p:020");
    let p3 = e
        .kvs_query("p:", p2.next_cursor.as_deref(), 20)
        .unwrap()
        .unwrap();
    assert_eq!((p3.entries.len(), p3.next_cursor.as_ref()), (5, None));
    let stale = p1.next_cursor.unwrap();
    e.end();
    // A UI's next-page call a moment later works; a cursor kept for later does not.
    e.begin("next-page", None, 25, FaultPlan::default());
    assert!(e.kvs_query("p:", Some(&stale), 20).unwrap().is_ok());
    e.state.clock_ms += host_sim::emulator::CURSOR_TTL_MS + 1;
    assert!(
        matches!(
            e.kvs_query("p:", Some(&stale), 20).unwrap(),
            Err(HostError::Invalid(_))
        ),
        "a persisted cursor must not work"
    );
}

#[test]
fn queue_and_egress_follow_forge_rules() {
    let mut sim = emu_sim();
    let e = sim.emu_mut();
    let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
    assert!(matches!(
        e.queue_push("intake-retry", &many, 0).unwrap(),
        Err(HostError::Invalid(_))
    ));
    assert!(matches!(
        e.queue_push("intake-retry", &["1".into()], 901).unwrap(),
        Err(HostError::Invalid(_))
    ));
    assert!(matches!(
        e.queue_push("no-such-queue", &["1".into()], 0).unwrap(),
        Err(HostError::Invalid(_))
    ));
    assert!(matches!(
        e.queue_push("intake-retry", &[format!("\"{}\"", "x".repeat(205_000))], 0)
            .unwrap(),
        Err(HostError::TooLarge(_))
    ));
    let undeclared = HttpRequest::get("https://evil.example.com/steal");
    assert!(matches!(
        e.fetch(&undeclared).unwrap(),
        Err(HostError::Forbidden(_))
    ));
    let plain = HttpRequest::get("http://api.openai.com/v1/models");
    assert!(matches!(
        e.fetch(&plain).unwrap(),
        Err(HostError::Forbidden(_))
    ));
}

#[test]
fn jira_speaks_its_real_shapes_and_errors() {
    let mut sim = emu_sim();
    let e = sim.emu_mut();
    let r = e.jira(Principal::App, &HttpRequest::get("/rest/api/3/issue/AIR-1?fields=summary,customfield_10010&properties=aiclearance.snapshot.v1")).unwrap().unwrap();
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["key"].as_str()),
        (Some("10100"), Some("AIR-1"))
    );
    assert_eq!(v["fields"]["customfield_10010"]["requestType"]["id"], "12");
    assert!(
        v["fields"].get("description").is_none(),
        "fields= must filter"
    );
    let missing = e
        .jira(
            Principal::App,
            &HttpRequest::get("/rest/api/3/issue/AIR-999"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("errorMessages"));
    // An unavailable transition is a 400; an available one moves the status (204).
    let bad = e
        .jira(
            Principal::App,
            &HttpRequest::with_json(
                "POST",
                "/rest/api/3/issue/AIR-1/transitions",
                json!({"transition": {"id": "999"}}).to_string(),
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(bad.status, 400);
    let good = e
        .jira(
            Principal::App,
            &HttpRequest::with_json(
                "POST",
                "/rest/api/3/issue/AIR-1/transitions",
                json!({"transition": {"id": "11"}}).to_string(),
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(good.status, 204);
    let groups = e
        .jira(
            Principal::App,
            &HttpRequest::get(format!("/rest/api/3/user/groups?accountId={ADMIN}")),
        )
        .unwrap()
        .unwrap();
    assert!(groups.body.contains("jira-administrators"));
    // A customer without project permission cannot see an issue as the user: Jira answers 404.
    e.running.account_id = Some("712020:00000000-0000-0000-0000-000000000000".into());
    let hidden = e
        .jira(
            Principal::User,
            &HttpRequest::get("/rest/api/3/issue/AIR-2"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(hidden.status, 404);
    // Comments must be ADF.
    let not_adf = e
        .jira(
            Principal::App,
            &HttpRequest::with_json(
                "POST",
                "/rest/api/3/issue/AIR-1/comment",
                json!({"body": "plain"}).to_string(),
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(not_adf.status, 400);
}

#[test]
fn jira_rejects_calls_outside_the_manifest_scopes_and_rate_limits_when_configured() {
    let mut sim = emu_sim();
    let e = sim.emu_mut();
    e.manifest.scopes.retain(|s| s != "read:jira-work");
    let r = e
        .jira(Principal::App, &HttpRequest::get("/rest/api/3/issue/AIR-1"))
        .unwrap()
        .unwrap();
    // What Jira's gateway answers a Forge app outside its scopes.
    assert_eq!(r.status, 401);
    assert!(r.body.contains("scope does not match"), "{}", r.body);
    e.manifest.scopes.push("read:jira-work".into());
    e.state.jira_rate_limit = Some(host_sim::emulator::JiraRateLimit {
        per_minute: 2,
        retry_after_s: 30,
    });
    for _ in 0..2 {
        assert_eq!(
            e.jira(Principal::App, &HttpRequest::get("/rest/api/3/issue/AIR-1"))
                .unwrap()
                .unwrap()
                .status,
            200
        );
    }
    let limited = e
        .jira(Principal::App, &HttpRequest::get("/rest/api/3/issue/AIR-1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (limited.status, limited.header("Retry-After")),
        (429, Some("30"))
    );
    // asUser without a user context is refused.
    e.state.jira_rate_limit = None;
    e.running.account_id = None;
    assert!(matches!(
        e.jira(Principal::User, &HttpRequest::get("/rest/api/3/myself"))
            .unwrap(),
        Err(HostError::Forbidden(_))
    ));
}

#[test]
fn the_choke_point_counts_every_call_and_injects_planned_faults() {
    let mut sim = basic();
    sim.next_plan = FaultPlan::service(
        Service::Kvs,
        1,
        Fault::Status {
            status: 429,
            retry_after_s: Some(3),
        },
    );
    // The trigger's first storage call is throttled: the event is queued for a retry after the
    // platform's Retry-After (triggers are not retried by Forge), nothing else is called.
    let rec = sim.deliver(&event("001")).unwrap();
    let out = rec.ok().unwrap_or_else(|| panic!("{:?}", rec.outcome));
    assert_eq!(
        (out["outcome"].as_str(), out["retryAfterSeconds"].as_u64()),
        (Some("deferred"), Some(3))
    );
    assert_eq!(rec.counts.total, 2);
    assert_eq!(rec.counts.service(Service::Queue), 1);
    let rec = sim.deliver(&event("001")).unwrap();
    assert_eq!(rec.counts.service(Service::Jira), 1);
    // One transaction for the request and its audit entry, one for its route.
    assert_eq!(rec.counts.kvs_transactions, 2);
    assert_eq!(rec.counts.total, rec.counts.by_op.values().sum::<u64>());
}

/// Admin resolvers refuse non-admins and anonymous callers and change nothing.
// covers: CL-200, CL-038
#[test]
fn admin_resolvers_are_gated_and_bad_payloads_change_nothing() {
    let mut sim = basic();
    let before = kvs_value(&sim, "site-intake-config").unwrap();
    let payload = json!({"projectKey": "ITS", "portalId": 2});
    assert_eq!(
        sim.resolve("admin.intake.set", &payload, Some(JONAS))
            .error_code(),
        Some("ADMIN_REQUIRED")
    );
    assert_eq!(
        sim.resolve("admin.intake.set", &payload, None).error_code(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        sim.resolve("admin.catalog.upsert", &json!({"id": "x"}), Some(JONAS))
            .error_code(),
        Some("ADMIN_REQUIRED")
    );
    assert_eq!(
        sim.resolve("admin.intake.rejections", &json!({}), Some(JONAS))
            .error_code(),
        Some("ADMIN_REQUIRED")
    );
    let bad = sim.resolve(
        "admin.intake.set",
        &json!({"projectKey": "air", "portalId": "one", "requestTypeIds": ["x"]}),
        Some(ADMIN),
    );
    assert_eq!(bad.error_code(), Some("INTAKE_CONFIG_INVALID"));
    assert_eq!(kvs_value(&sim, "site-intake-config").unwrap(), before);
    let got = sim.resolve("admin.intake.get", &json!({}), Some(ADMIN));
    assert_eq!(
        got.ok().unwrap()["config"]["requestTypeIds"],
        json!([12, 13])
    );
    assert_eq!(
        sim.resolve("no.such.function", &json!({}), Some(ADMIN))
            .error_code(),
        Some("UNKNOWN_FUNCTION")
    );
}

#[test]
fn malformed_and_oversize_payloads_get_typed_errors() {
    let mut sim = basic();
    for (payload, code) in [
        ("{not json", "PAYLOAD_MALFORMED"),
        ("[1,2]", "PAYLOAD_MALFORMED"),
    ] {
        let rec = sim.resolve_raw("requests.mine", payload, Some(JONAS));
        assert_eq!(rec.error_code(), Some(code));
    }
    let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(300 * 1024));
    assert_eq!(
        sim.resolve_raw("requests.mine", &huge, Some(JONAS))
            .error_code(),
        Some("PAYLOAD_TOO_LARGE")
    );
    let bad_event = sim
        .deliver(&json!({"eventType": "avi:jira:created:issue", "issue": {"key": "AIR-1"}}))
        .unwrap();
    assert_eq!(bad_event.error_code(), Some("EVENT_INVALID"));
}

/// Requesters see only their own requests, newest first, page by page.
// covers: CL-165, CL-166
#[test]
fn my_requests_are_scoped_to_the_caller_and_paginated() {
    let mut sim = basic();
    for (_, ev) in all_events() {
        sim.deliver(&ev).unwrap();
    }
    let page1 = sim.resolve("requests.mine", &json!({"limit": 1}), Some(JONAS));
    let v = page1.ok().unwrap().clone();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["issueKey"], "AIR-27", "newest first");
    assert_eq!(v["items"][0]["decision"], "pending");
    assert!(v["nextCursor"].is_string());
    // The UI's next-page call with the returned cursor continues where page 1 stopped.
    let page2 = sim.resolve(
        "requests.mine",
        &json!({"limit": 1, "cursor": v["nextCursor"]}),
        Some(JONAS),
    );
    assert_eq!(page2.ok().unwrap()["items"][0]["issueKey"], "AIR-7");
    let all = sim.resolve("requests.mine", &json!({"limit": 20}), Some(JONAS));
    let keys: Vec<&str> = all.ok().unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issueKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["AIR-27", "AIR-7", "AIR-1"]);
    let admin = sim.resolve("requests.mine", &json!({}), Some(ADMIN));
    assert_eq!(
        admin.ok().unwrap()["items"],
        json!([]),
        "an admin's own list does not include others' requests"
    );
    assert_eq!(
        sim.resolve("requests.mine", &json!({}), None).error_code(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        sim.resolve("requests.mine", &json!({"limit": 500}), Some(JONAS))
            .error_code(),
        Some("LIMIT_INVALID")
    );
}

/// The compiled component and the native build of the same code reach the same state.
#[test]
fn wasm_and_native_runs_agree() {
    let run = |kind| {
        let mut sim = setup(kind);
        for (_, ev) in all_events() {
            sim.deliver(&ev).unwrap();
        }
        (
            sim.export_state(),
            sim.state().kvs.clone(),
            sim.history
                .iter()
                .map(|r| r.counts.total)
                .collect::<Vec<_>>(),
        )
    };
    let (ws, wk, wc) = run(EngineKind::Wasm);
    let (ns, nk, nc) = run(EngineKind::Native);
    assert_eq!(ws, ns);
    assert_eq!(wk, nk, "same seed, same bytes: even hashes and MACs agree");
    assert_eq!(wc, nc, "same host calls per invocation");
}

#[test]
fn the_state_directory_round_trips() {
    let mut sim = basic();
    sim.deliver(&event("001")).unwrap();
    let dir = std::env::temp_dir().join(format!("host-sim-state-{}", std::process::id()));
    host_sim::persist::save(&dir, sim.state()).unwrap();
    let loaded = host_sim::persist::load(&dir).unwrap();
    assert_eq!(loaded.kvs, sim.state().kvs);
    assert_eq!(loaded.secrets, sim.state().secrets);
    assert_eq!(loaded.clock_ms, sim.state().clock_ms);
    std::fs::remove_dir_all(dir).ok();
}

/// manifest.yml: the real manifest loads, declares the trigger, ≤ 5 scheduled triggers, the
/// intake queue and the scopes; a panel module allows customer and unlicensed access.
// covers: CL-014, CL-130, CL-201
#[test]
fn the_manifest_declares_what_the_app_needs() {
    let m = Manifest::load(&host_sim::sim::default_manifest()).unwrap();
    assert_eq!(m.runtime, "nodejs24.x");
    assert!(m.triggers.contains_key("avi:jira:created:issue"));
    assert!(m.scheduled.len() <= 5 && !m.scheduled.is_empty());
    assert!(m.consumers.contains_key("intake-retry"));
    let mut scopes = m.scopes.clone();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "manage:jira-configuration",
            "read:jira-user",
            "read:jira-work",
            "read:servicedesk-request",
            "storage:app",
            "write:jira-work",
            "write:servicedesk-request"
        ]
    );
    let text = std::fs::read_to_string(host_sim::sim::default_manifest()).unwrap();
    assert!(
        text.contains("jiraServiceManagement:portalRequestCreatePropertyPanel")
            && text.contains("unlicensedAccess")
    );
    assert!(text.contains("ignoreSelf: true"));
}

#[test]
fn a_crash_reports_the_call_and_leaves_no_trap() {
    let mut sim = basic();
    sim.next_plan = FaultPlan::crash_at(2);
    let rec = sim.deliver(&event("001")).unwrap();
    assert_eq!(rec.outcome, RawOutcome::Crashed { at_call: 2 });
}
