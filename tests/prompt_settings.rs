//! Settings → AI (the four tabs, who may use them, the key), the step form's blocked states,
//! and the worker's shape: enqueue after commit, no lock held over the provider call, one call
//! per invocation, re-runs that store whatever the provider says this time.

mod common;

use common::prompt::*;
use common::*;
use host_sim::faults::{FaultPlan, Service};
use host_sim::remotes::llm::LlmFault;
use host_sim::runtime::RawOutcome;
use host_sim::Sim;
use serde_json::{json, Value};

fn save(sim: &mut Sim, p: Value) -> Value {
    sim.advance(2_000);
    ok(sim, "admin.ai.settings.save", p, ADMIN)
}

// covers: AP-030, AP-031, AP-040
#[test]
fn each_settings_tab_has_a_resolver_and_every_field_round_trips() {
    let mut sim = configured();
    save(
        &mut sim,
        json!({"provider": "openrouter", "model": "acme/private-model-7b", "apiKey": "sk-or-v1-0123456789wxyz",
               "enabled": true, "monthlyTokenBudget": 250_000}),
    );
    let g = ok(&mut sim, "admin.ai.general.get", json!({}), ADMIN);
    assert_eq!(g["provider"], "openrouter");
    assert_eq!(g["model"], "acme/private-model-7b", "a free-text model id");
    assert!(g["models"].as_array().unwrap().len() >= 2, "curated list");
    assert_eq!(g["keyFingerprint"], "••••wxyz");
    assert_eq!(g["enabled"], true);
    assert_eq!(g["monthlyTokenBudget"], 250_000);
    assert!(g.get("piiSensitive").is_none(), "General only");

    // Data sharing: flip every toggle away from its default and back.
    let toggles = [
        "piiSensitive",
        "includeComments",
        "includeAttachments",
        "includeLinkedItems",
        "includeSubtasks",
        "includePrecedents",
        "allowAllCustomFields",
    ];
    let before = ok(&mut sim, "admin.ai.dataSharing.get", json!({}), ADMIN);
    let mut flipped = serde_json::Map::new();
    for t in toggles {
        flipped.insert(t.into(), json!(!before[t].as_bool().unwrap()));
    }
    flipped.insert(
        "customFieldWhitelist".into(),
        json!(["customfield_10050", "customfield_10051"]),
    );
    save(&mut sim, Value::Object(flipped.clone()));
    let after = ok(&mut sim, "admin.ai.dataSharing.get", json!({}), ADMIN);
    for (k, v) in &flipped {
        assert_eq!(&after[k], v, "{k}");
    }
    assert!(after.get("apiKey").is_none() && after.get("provider").is_none());
    // The templates and usage tabs have their own resolvers too.
    assert!(ok(&mut sim, "admin.ai.templates.list", json!({}), ADMIN)["templates"].is_array());
    assert!(ok(&mut sim, "admin.ai.usage", json!({}), ADMIN)["budget"].is_u64());
}

// covers: AP-050
#[test]
fn admins_list_create_edit_and_delete_custom_templates() {
    let mut sim = configured();
    let t = ok(
        &mut sim,
        "admin.ai.templates.save",
        json!({"name": "Vendor check", "description": "Vendor due diligence", "body": "List vendor risks for {{ issue.key }}."}),
        ADMIN,
    )["template"]
        .clone();
    let id = t["id"].as_str().unwrap().to_string();
    let list = ok(&mut sim, "admin.ai.templates.list", json!({}), ADMIN);
    let names: Vec<&str> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 7, "six built-ins first, then ours: {names:?}");
    assert_eq!(names[6], "Vendor check");
    ok(
        &mut sim,
        "admin.ai.templates.save",
        json!({"id": id, "name": "Vendor check v2", "description": "", "body": "Check {{ issue.key }} again."}),
        ADMIN,
    );
    let list = ok(&mut sim, "admin.ai.templates.list", json!({}), ADMIN);
    let mine = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["name"], "Vendor check v2");
    assert_eq!(mine["body"], "Check {{ issue.key }} again.");
    ok(
        &mut sim,
        "admin.ai.templates.delete",
        json!({"id": id}),
        ADMIN,
    );
    let list = ok(&mut sim, "admin.ai.templates.list", json!({}), ADMIN);
    assert_eq!(list["templates"].as_array().unwrap().len(), 6);
}

// covers: AP-260
#[test]
fn every_ai_configuration_resolver_refuses_a_non_admin() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    for (f, p) in [
        ("admin.ai.settings.get", json!({})),
        ("admin.ai.settings.save", json!({"enabled": false})),
        ("admin.ai.general.get", json!({})),
        ("admin.ai.dataSharing.get", json!({})),
        ("admin.ai.test", json!({})),
        ("admin.ai.models", json!({"provider": "openai"})),
        ("admin.ai.usage", json!({})),
        ("admin.ai.inbox", json!({})),
        ("admin.ai.templates.list", json!({})),
        ("admin.ai.templates.save", json!({"name": "x", "body": "y"})),
        ("admin.ai.templates.delete", json!({"id": "x"})),
        (
            "admin.ai.preview",
            json!({"approvalId": id, "templateId": "builtin:risk"}),
        ),
        ("admin.ai.fields.refresh", json!({})),
        ("ai.stepForm", json!({})),
    ] {
        for who in [JONAS, PRIYA] {
            assert_eq!(err(&mut sim, f, p.clone(), who), "ADMIN_REQUIRED", "{f}");
        }
    }
    let s = ok(&mut sim, "admin.ai.settings.get", json!({}), ADMIN);
    assert_eq!(s["enabled"], true, "nothing changed");
}

// covers: AP-263, AP-264
#[test]
fn the_key_lives_only_in_secret_storage_and_endpoints_cannot_be_configured() {
    let mut sim = configured();
    start(&mut sim, "AIR-1");
    sim.settle();
    // Secret storage holds it; plain storage, responses and logs never do.
    assert!(sim.state().secrets.values().any(|v| v == KEY));
    assert!(
        !sim.state().kvs.values().any(|v| v.value.contains(KEY)),
        "the key is in plain storage"
    );
    for f in [
        "admin.ai.settings.get",
        "admin.ai.general.get",
        "admin.ai.dataSharing.get",
    ] {
        let v = ok(&mut sim, f, json!({}), ADMIN);
        assert!(!v.to_string().contains(KEY), "{f}");
    }
    assert!(!sim.state().logs.iter().any(|l| l.message.contains(KEY)));
    for field in ["endpoint", "baseUrl", "apiHost", "url"] {
        sim.advance(2_000);
        let rec = sim.resolve(
            "admin.ai.settings.save",
            &json!({ field: "https://evil.example/v1" }),
            Some(ADMIN),
        );
        match rec.outcome {
            RawOutcome::Err(e) => {
                assert_eq!(e.code, "AI_SETTINGS_INVALID");
                assert_eq!(e.details.unwrap()["errors"][0]["field"], field);
            }
            other => panic!("{field} accepted: {other:?}"),
        }
    }
    // Every provider call still went to the fixed host.
    assert!(sim.state().llm.calls.iter().all(|c| c.host == ANTHROPIC));
}

// covers: AP-265
#[test]
fn provider_error_envelopes_never_reach_users() {
    for fault in [
        LlmFault::ServerError,
        LlmFault::QuotaExceeded,
        LlmFault::Unauthorized,
    ] {
        let mut sim = configured();
        for _ in 0..2 {
            sim.state_mut().llm.plan("*", fault.clone());
        }
        let id = start(&mut sim, "AIR-1");
        sim.settle();
        sim.advance(5_000);
        let e = ok(
            &mut sim,
            "ai.execution",
            json!({"approvalId": id, "stepId": "s1"}),
            JONAS,
        );
        let msg = e["errorMessage"].as_str().unwrap();
        for leak in [
            "\"error\"",
            "api_error",
            "invalid_request_error",
            "authentication_error",
            "insufficient_quota",
            "credit balance",
            "request_id",
            KEY,
        ] {
            assert!(!msg.contains(leak), "{fault:?}: {leak} in {msg}");
        }
        assert!(!e.to_string().contains("\"type\":\"error\""), "{e}");
    }
}

// covers: AP-027
#[test]
fn the_step_form_says_why_ai_steps_cannot_run() {
    let mut sim = wasm();
    let form = ok(&mut sim, "ai.stepForm", json!({}), ADMIN);
    assert_eq!(form["blocked"], "NOT_CONFIGURED");
    let mut sim = configured();
    assert_eq!(
        ok(&mut sim, "ai.stepForm", json!({}), ADMIN)["blocked"],
        Value::Null
    );
    save(&mut sim, json!({"enabled": false}));
    assert_eq!(
        ok(&mut sim, "ai.stepForm", json!({}), ADMIN)["blocked"],
        "DISABLED"
    );
    save(&mut sim, json!({"enabled": true, "monthlyTokenBudget": 1}));
    start(&mut sim, "AIR-1");
    sim.settle();
    assert_eq!(
        ok(&mut sim, "ai.stepForm", json!({}), ADMIN)["blocked"],
        "OVER_BUDGET"
    );
}

// covers: AP-172
#[test]
fn a_prompt_job_exists_only_once_its_approval_is_committed() {
    // Crash `approvals.start` at every host call: whatever survives, a queued PROMPT job always
    // names an approval that exists with the step ACTIVE, and the worker never says "not found".
    for n in 1..80 {
        let mut sim = configured();
        sim.next_plan = FaultPlan::crash_at(n);
        let rec = sim.resolve(
            "approvals.start",
            &json!({"definitionId": "ai-path", "issueKey": "AIR-1"}),
            Some(JONAS),
        );
        let crashed = matches!(rec.outcome, RawOutcome::Crashed { .. });
        for e in sim
            .state()
            .queue
            .iter()
            .filter(|e| e.queue_key == "approval-effects" || e.queue_key == "prompt-steps")
        {
            let body: Value = serde_json::from_str(&e.body).unwrap();
            let effect = body["effectId"].as_str().unwrap_or_default();
            let approval_id = effect.split('.').next().unwrap_or_default();
            assert!(
                kvs_value(&sim, &format!("approval:{approval_id}")).is_some(),
                "crash at {n}: a job for an uncommitted approval ({body})"
            );
        }
        let recs = sim.settle();
        assert!(
            recs.iter()
                .all(|r| !matches!(r.outcome, RawOutcome::Trapped(_))),
            "crash at {n}: {recs:?}"
        );
        assert!(
            !sim.state()
                .logs
                .iter()
                .any(|l| l.message.contains("APPROVAL_NOT_FOUND")),
            "crash at {n}: the worker missed its approval"
        );
        if !crashed {
            assert!(n > 5);
            return;
        }
    }
    panic!("approvals.start never finished within 80 host calls");
}

// covers: AP-173, AP-180
#[test]
fn the_provider_call_holds_no_lock_and_each_invocation_makes_at_most_one() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    let before = sim
        .state()
        .kvs
        .get(&format!("approval:{id}"))
        .unwrap()
        .value
        .clone();
    // The path's job hands the step to the AI worker's queue…
    let job = |sim: &mut Sim, queue: &str| -> Value {
        let q = &mut sim.state_mut().queue;
        let i = q.iter().position(|e| e.queue_key == queue).unwrap();
        let e = q.remove(i);
        serde_json::from_str(&e.body).unwrap()
    };
    let handoff = job(&mut sim, "approval-effects");
    sim.deliver_queue("approval-effects", &handoff);
    let work = job(&mut sim, "prompt-steps");
    // …whose invocation dies at its provider call: nothing about the approval was locked.
    sim.next_plan = FaultPlan::service(Service::Fetch, 1, host_sim::faults::Fault::Crash);
    let rec = sim.deliver_queue("prompt-steps", &work);
    assert!(matches!(rec.outcome, RawOutcome::Crashed { .. }), "{rec:?}");
    let during = sim
        .state()
        .kvs
        .get(&format!("approval:{id}"))
        .unwrap()
        .value
        .clone();
    assert_eq!(before, during, "the approval was written before the call");
    // Other approvals start and the same approval is readable while the call is "in flight".
    let other = start(&mut sim, "AIR-2");
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "ACTIVE");
    assert!(!other.is_empty());
    // The platform redelivers the job (after the dead instance's lease runs out: D-79).
    let rec = sim.redeliver("prompt-steps", &work);
    assert!(matches!(rec.outcome, RawOutcome::Ok(_)), "{rec:?}");
    sim.settle();
    // The job completed; no invocation made more than one provider call.
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "SUCCESS");
    for _ in 0..3 {
        start(&mut sim, "AIR-3");
    }
    sim.settle();
    for r in &sim.history {
        assert!(
            r.counts.service(Service::Fetch) <= 1,
            "{} made {} provider calls",
            r.label,
            r.counts.service(Service::Fetch)
        );
    }
}

// covers: AP-216, AP-217
#[test]
fn a_rerun_stores_whatever_the_provider_answers_this_time() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let teaser = |sim: &mut Sim| {
        ok(
            sim,
            "approvals.forIssue",
            json!({"issueKey": "AIR-1"}),
            JONAS,
        )["approvals"][0]["steps"][0]["resultTeaser"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = teaser(&mut sim);
    let executed = get(&mut sim, &id)["steps"][0]["executedAt"].clone();
    sim.advance(60_000);
    ok(
        &mut sim,
        "ai.rerun",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    sim.settle();
    // Same input at temperature 0.2: the emulated provider answers differently, and the list
    // right after shows the new excerpt and time.
    let second = teaser(&mut sim);
    assert_ne!(first, second);
    assert!(second.contains("Confidence:"));
    assert_ne!(get(&mut sim, &id)["steps"][0]["executedAt"], executed);
    let rows = exec_rows(&sim);
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .any(|r| r["response"].as_str().unwrap() == second
            || second.starts_with(&r["response"].as_str().unwrap()[..40])));
}
