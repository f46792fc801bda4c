//! Forge LLMs as the AI Prompt step's fifth provider ("Atlassian-hosted (Forge LLMs)", D-170):
//! a PROMPT step runs through the `llm` host capability (`@forge/llm` `chat`), with no API key
//! and no egress, and arrives at the same result as the emulated Anthropic API; the platform's
//! 429 (100 requests a minute per installation) is retried and reported like any provider's rate
//! limit; its other failures land on the step's existing error codes.

mod common;

use common::prompt::*;
use common::*;
use host_sim::remotes::llm::{self, LlmFault, FORGE_LLM_HOST, FORGE_LLM_RPM};
use host_sim::runtime::RawOutcome;
use host_sim::sim::{EngineKind, Sim};
use host_sim::Service;
use serde_json::{json, Value};

const SONNET: &str = "claude-sonnet-4-5-20250929";

/// The fixture path of `configured()`, with AI on Forge LLMs instead: no key is ever saved.
fn on_forge_llms(kind: EngineKind) -> Sim {
    let mut sim = configured_on(kind);
    sim.advance(2_000);
    let saved = ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"provider": "forge-llm", "model": SONNET}),
        ADMIN,
    );
    assert_eq!(saved["provider"], "forge-llm", "{saved}");
    sim
}

/// `common::prompt::configured()` on any engine (the same steps).
fn configured_on(kind: EngineKind) -> Sim {
    let mut sim = setup(kind);
    sim.state_mut().llm.add_key("anthropic", KEY);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"provider": "anthropic", "model": "claude-sonnet-4-6", "apiKey": KEY, "enabled": true, "monthlyTokenBudget": 1_000_000}),
        ADMIN,
    );
    sim.advance(2_000);
    let def = json!({"definition": {"id": "ai-path", "name": "AI-assisted access", "description": "Decide AI tool requests with a risk read first",
    "starters": {"mode": "groups", "groups": ["engineering"]},
    "steps": [
        {"name": "Risk", "type": "PROMPT", "parallelGroupNumber": 1, "promptTemplate": "builtin:risk"},
        {"name": "Lead", "type": "USER", "parallelGroupNumber": 2, "approvers": [PRIYA]},
        {"name": "Share", "type": "AUTOMATION", "parallelGroupNumber": 2,
         "comment": "AI read: {{ promptSteps[\"Risk\"].result }}"}
    ]}});
    ok(&mut sim, "admin.definitions.save", def, ADMIN);
    sim
}

fn forge_calls(sim: &Sim) -> Vec<llm::LlmCallRecord> {
    sim.state()
        .llm
        .calls
        .iter()
        .filter(|c| c.host == FORGE_LLM_HOST)
        .cloned()
        .collect()
}

/// Runs the fixture's PROMPT step on AIR-1 to its end; the approval.
fn run_step(sim: &mut Sim) -> Value {
    let id = start(sim, "AIR-1");
    let recs = sim.settle();
    assert!(
        recs.iter().all(|r| matches!(r.outcome, RawOutcome::Ok(_))),
        "{recs:?}"
    );
    get(sim, &id)
}

// covers: AP-008, AP-070, AP-145, AP-146, AP-153, AP-250, AP-251
#[test]
fn a_prompt_step_runs_on_forge_llms_with_the_same_result_as_the_other_providers() {
    // The reference: the same step on the emulated Anthropic API.
    let mut reference = configured_on(EngineKind::Wasm);
    let a_ref = run_step(&mut reference);
    assert_eq!(a_ref["steps"][0]["status"], "SUCCESS");
    let ref_rows = exec_rows(&reference);

    let mut sim = on_forge_llms(EngineKind::Wasm);
    // No key is needed: the settings are READY without one.
    let g = ok(&mut sim, "admin.ai.settings.get", json!({}), ADMIN);
    assert_eq!(g["status"], "READY", "{g}");
    assert!(g["keyPageUrl"].is_null(), "no key page for Forge LLMs: {g}");
    let form = ok(&mut sim, "ai.stepForm", json!({}), ADMIN);
    assert!(form["blocked"].is_null(), "{form}");

    let id = start(&mut sim, "AIR-1");
    let recs = sim.settle();
    let calls: Vec<(u64, u64)> = recs
        .iter()
        .filter(|r| r.counts.service(Service::Llm) > 0)
        .map(|r| {
            (
                r.counts.service(Service::Llm),
                r.counts.service(Service::Fetch),
            )
        })
        .collect();
    assert_eq!(
        calls,
        vec![(1, 0)],
        "one llm host call, counted as its own service, and no fetch in that invocation"
    );
    let a = get(&mut sim, &id);
    let step = &a["steps"][0];
    assert_eq!(step["status"], "SUCCESS", "{step}");
    assert_eq!(
        step["resultTeaser"], a_ref["steps"][0]["resultTeaser"],
        "the same analysis as on the emulated Anthropic API"
    );
    assert_eq!(a["steps"][1]["status"], "ACTIVE", "the path moves on");

    // The one call went to Forge LLMs, none to an egress provider.
    let fc = forge_calls(&sim);
    assert_eq!(fc.len(), 1);
    assert_eq!((fc[0].status, fc[0].model.as_str()), (200, SONNET));
    assert_eq!(
        sim.state().llm.calls.len(),
        1,
        "no egress provider was called"
    );
    assert!(sim
        .state()
        .llm
        .calls
        .iter()
        .all(|c| c.host == FORGE_LLM_HOST));

    // The execution row, usage and evidence are the same shape as any provider's.
    let rows = exec_rows(&sim);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["provider"], "forge-llm");
    assert_eq!(rows[0]["model"], SONNET);
    assert_eq!(rows[0]["response"], ref_rows[0]["response"]);
    assert_eq!(
        rows[0]["tokensIn"].as_u64().unwrap(),
        fc[0].input_tokens,
        "the platform's usage is billed"
    );
    assert!(rows[0]["tokensOut"].as_u64().unwrap() > 0);
    let keys = |r: &Value| {
        let mut k: Vec<String> = r.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&rows[0]),
        keys(&ref_rows[0]),
        "same execution row fields"
    );
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["executions"], 1, "{u}");
    assert_eq!(
        u["tokensUsed"].as_u64().unwrap(),
        fc[0].input_tokens + fc[0].output_tokens,
        "the budget counts Forge LLMs' tokens: {u}"
    );

    // The prompt that left was the privacy-scrubbed one: no email or account id in it.
    let prompt = rows[0]["prompt"].as_str().unwrap();
    assert!(!prompt.contains(JONAS), "{prompt}");
}

// covers: AP-151, AP-152, AP-153, AP-154, AP-158
#[test]
fn a_forge_llms_429_is_retried_once_then_reported_as_rate_limited() {
    // 429 then 200: SUCCESS after two calls at least 2 s apart.
    let mut sim = on_forge_llms(EngineKind::Wasm);
    sim.state_mut()
        .llm
        .plan(FORGE_LLM_HOST, LlmFault::RateLimited { retry_after_s: 1 });
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "ACTIVE");
    sim.advance(3_000);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "SUCCESS", "{a}");
    let fc = forge_calls(&sim);
    assert_eq!(
        fc.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert!(fc[1].at_ms - fc[0].at_ms >= 2_000, "retried after >= 2 s");

    // 429 twice: FAIL / RATE_LIMITED after exactly two calls, the path moves on, and the
    // admin inbox hears of both (rate limits are logged every time).
    let mut sim = on_forge_llms(EngineKind::Wasm);
    for _ in 0..2 {
        sim.state_mut()
            .llm
            .plan(FORGE_LLM_HOST, LlmFault::RateLimited { retry_after_s: 1 });
    }
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    sim.advance(3_000);
    let a = get(&mut sim, &id);
    let step = &a["steps"][0];
    assert_eq!(step["status"], "FAIL", "{step}");
    assert_eq!(step["errorCode"], "RATE_LIMITED");
    assert!(!step["errorMessage"].as_str().unwrap().contains("429 "));
    assert_eq!(forge_calls(&sim).len(), 2);
    assert_eq!(a["steps"][1]["status"], "ACTIVE");
    let inbox = ok(&mut sim, "admin.ai.inbox", json!({}), ADMIN);
    let n = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(n, 2, "{inbox}");
}

// covers: AP-151, AP-152
/// The emulated platform's own limit, not a planned fault: with this installation's 100 prompts
/// of the last minute already used, the step's call is answered 429 with the seconds until the
/// oldest ages out; the worker waits that long (within its 60 s cap) and the retry succeeds.
#[test]
fn the_hundred_a_minute_limit_answers_429_and_the_worker_waits_it_out() {
    let mut sim = on_forge_llms(EngineKind::Wasm);
    let now = sim.state().clock_ms;
    // 100 prompts: the oldest 20 s ago, the rest just now.
    let window = &mut sim.state_mut().llm.forge_window;
    window.push_back(now - 20_000);
    for _ in 1..FORGE_LLM_RPM {
        window.push_back(now);
    }
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let fc = forge_calls(&sim);
    assert_eq!(fc.iter().map(|c| c.status).collect::<Vec<_>>(), vec![429]);
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "ACTIVE");
    let rows = exec_rows(&sim);
    assert_eq!(rows.len(), 1, "the 429 try keeps its row");
    assert_eq!(rows[0]["errorCode"], "RATE_LIMITED");
    assert_eq!(rows[0]["retried"], true);
    // The oldest prompt ages out ~40 s after the call: not yet after 30 s …
    sim.advance(30_000);
    assert_eq!(forge_calls(&sim).len(), 1, "the retry waits for the window");
    // … and the retry goes through once it has.
    sim.advance(15_000);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "SUCCESS", "{a}");
    let fc = forge_calls(&sim);
    assert_eq!(
        fc.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert!(fc[1].at_ms - fc[0].at_ms >= 39_000, "{fc:?}");
}

// covers: AP-150, AP-153, AP-154, AP-157
/// Every failure the emulated Forge LLMs produces, end to end: the step's code, the calls it
/// cost (transient codes retried once), no platform text in the message, the path moving on.
#[test]
fn forge_llms_failures_map_onto_the_step_error_codes() {
    type Setup = fn(&mut Sim);
    let cases: Vec<(&str, Setup, &str, usize)> = vec![
        (
            "timeout twice",
            |s| {
                for _ in 0..2 {
                    s.state_mut().llm.plan(FORGE_LLM_HOST, LlmFault::Timeout);
                }
            },
            "TIMEOUT",
            2,
        ),
        (
            "server error twice",
            |s| {
                for _ in 0..2 {
                    s.state_mut()
                        .llm
                        .plan(FORGE_LLM_HOST, LlmFault::ServerError);
                }
            },
            "UNAVAILABLE",
            2,
        ),
        (
            "content filter",
            |s| {
                s.state_mut()
                    .llm
                    .plan(FORGE_LLM_HOST, LlmFault::ContentFilter)
            },
            "CONTENT_BLOCKED",
            1,
        ),
        (
            "cut off",
            |s| s.state_mut().llm.plan(FORGE_LLM_HOST, LlmFault::MaxTokens),
            "OUTPUT_TRUNCATED",
            1,
        ),
        (
            "empty",
            |s| s.state_mut().llm.plan(FORGE_LLM_HOST, LlmFault::EmptyBody),
            "EMPTY_RESPONSE",
            1,
        ),
        (
            "not enabled",
            |s| {
                s.state_mut()
                    .llm
                    .plan(FORGE_LLM_HOST, LlmFault::Unauthorized)
            },
            "MISCONFIGURED",
            1,
        ),
        (
            "no llm module in the manifest",
            |s| s.emu_mut().manifest.llm_families.clear(),
            "MISCONFIGURED",
            1,
        ),
    ];
    for (name, setup, code, calls) in cases {
        let mut sim = on_forge_llms(EngineKind::Wasm);
        setup(&mut sim);
        let id = start(&mut sim, "AIR-1");
        sim.settle();
        sim.advance(3_000);
        let a = get(&mut sim, &id);
        let step = &a["steps"][0];
        assert_eq!(step["status"], "FAIL", "{name}: {step}");
        assert_eq!(step["errorCode"], code, "{name}");
        let msg = step["errorMessage"].as_str().unwrap();
        assert!(
            !msg.is_empty() && !msg.contains("{\"") && !msg.contains("llm module"),
            "{name}: no platform text: {msg}"
        );
        assert_eq!(forge_calls(&sim).len(), calls, "{name}: calls");
        assert_eq!(
            a["steps"][1]["status"], "ACTIVE",
            "{name}: the path moves on"
        );
    }

    // An unknown model id is refused by the platform: MISCONFIGURED, one call, no retry.
    let mut sim = on_forge_llms(EngineKind::Wasm);
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"model": "gpt-5.4"}),
        ADMIN,
    );
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["errorCode"], "MISCONFIGURED", "{a}");
    assert_eq!(forge_calls(&sim)[0].status, 400);
}

// covers: AP-035, AP-145
#[test]
fn test_connection_needs_no_key_and_reports_a_refused_model() {
    let mut sim = on_forge_llms(EngineKind::Wasm);
    // The stored Anthropic key is never sent anywhere: the probe is a one-token chat.
    let t = ok(
        &mut sim,
        "admin.ai.test",
        json!({"provider": "forge-llm", "model": "claude-haiku-4-5-20251001"}),
        ADMIN,
    );
    assert_eq!(t["ok"], true, "{t}");
    let t = ok(
        &mut sim,
        "admin.ai.test",
        json!({"provider": "forge-llm", "model": "no-such-model"}),
        ADMIN,
    );
    assert_eq!(t["ok"], false);
    assert_eq!(t["errorCode"], "MISCONFIGURED");
    let fc = forge_calls(&sim);
    assert_eq!(
        fc.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![200, 400]
    );
    // The probe is tiny.
    assert!(fc[0].output_tokens <= 1, "{fc:?}");
    let models = ok(
        &mut sim,
        "admin.ai.models",
        json!({"provider": "forge-llm"}),
        ADMIN,
    );
    assert_eq!(models["models"][0], SONNET, "{models}");
    assert!(models["keyPageUrl"].is_null());
}

/// The same step on the native engine (the guest linked natively over the same emulator).
#[test]
fn the_native_engine_runs_forge_llms_the_same_way() {
    let mut sim = on_forge_llms(EngineKind::Native);
    let a = run_step(&mut sim);
    assert_eq!(a["steps"][0]["status"], "SUCCESS", "{a}");
    assert_eq!(forge_calls(&sim).len(), 1);
    assert_eq!(exec_rows(&sim)[0]["provider"], "forge-llm");
}

/// The emulated service on its own: `@forge/llm`'s prompt validation (the package's words),
/// the 100-a-minute window, the context window, the usage shape.
#[test]
fn the_emulated_service_validates_and_limits_like_forge_llms() {
    use aiclearance::host::HostError;
    let fam = vec!["claude".to_string()];
    let mut st = llm::LlmState::default();
    let prompt = |t: f64| {
        json!({"model": SONNET, "messages": [{"role": "user", "content": "Say hi"}],
               "max_completion_tokens": 50, "temperature": t})
        .to_string()
    };
    // The package's client-side validation.
    let r = llm::forge_chat(&prompt(1.5), &fam, &mut st, 0).unwrap();
    assert_eq!(
        r,
        Err(HostError::Invalid(
            "The payload is invalid: Invalid temperature 1.5: Temperature must be between 0 and 1."
                .into()
        ))
    );
    let r = llm::forge_chat(r#"{"model":"x","messages":[]}"#, &fam, &mut st, 0).unwrap();
    assert!(matches!(r, Err(HostError::Invalid(m)) if m.contains("No messages were provided")));
    // Both sampling parameters on Sonnet 4.5 are refused.
    let both = json!({"model": SONNET, "messages": [{"role": "user", "content": "x"}], "temperature": 0.1, "top_p": 0.9}).to_string();
    assert!(matches!(
        llm::forge_chat(&both, &fam, &mut st, 0).unwrap(),
        Err(HostError::Invalid(_))
    ));
    // The response shape: choices[0].message.content as text parts, usage in tokens.
    let ok = llm::forge_chat(&prompt(0.0), &fam, &mut st, 0)
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(&ok).unwrap();
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"][0]["type"], "text");
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        v["usage"]["total_tokens"].as_u64().unwrap(),
        v["usage"]["input_tokens"].as_u64().unwrap()
            + v["usage"]["output_tokens"].as_u64().unwrap()
    );
    // 100 a minute per installation: the 101st is a 429 until the oldest ages out.
    let mut st = llm::LlmState::default();
    for i in 0..FORGE_LLM_RPM as u64 {
        assert!(llm::forge_chat(&prompt(0.0), &fam, &mut st, i * 100)
            .unwrap()
            .is_ok());
    }
    let r = llm::forge_chat(&prompt(0.0), &fam, &mut st, 30_000).unwrap();
    assert_eq!(r, Err(HostError::RateLimited { retry_after_s: 30 }));
    assert!(llm::forge_chat(&prompt(0.0), &fam, &mut st, 60_000)
        .unwrap()
        .is_ok());
    // Over the 200k-token context window: too large.
    let huge = json!({"model": SONNET, "messages": [{"role": "user", "content": "x".repeat(800_000)}], "max_completion_tokens": 1500}).to_string();
    let mut st = llm::LlmState::default();
    assert!(matches!(
        llm::forge_chat(&huge, &fam, &mut st, 0).unwrap(),
        Err(HostError::TooLarge(_))
    ));
    // Without the manifest's llm module the platform refuses.
    assert!(matches!(
        llm::forge_chat(&prompt(0.0), &[], &mut st, 0).unwrap(),
        Err(HostError::Forbidden(_))
    ));
}
