//! The AI Prompt step end to end: settings, a PROMPT step on an approval path, the worker calling
//! the emulated provider, results downstream, privacy, failures and crash safety.

mod common;

use common::prompt::*;
use common::*;
use host_sim::faults::FaultPlan;
use host_sim::remotes::llm::LlmFault;
use host_sim::runtime::RawOutcome;
use host_sim::sim::Sim;
use serde_json::{json, Value};

// covers: AP-008, AP-020, AP-070, AP-071, AP-079, AP-170, AP-171, AP-174, AP-175, AP-235, AP-220, AP-242, AP-250, AP-251
#[test]
fn a_prompt_step_runs_in_the_background_and_later_steps_quote_it() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    let jobs = sim
        .state()
        .queue
        .iter()
        .filter(|e| e.queue_key == "approval-effects" || e.queue_key == "prompt-steps")
        .count();
    assert_eq!(
        jobs, 1,
        "exactly one background job, queued with the committed path"
    );
    let a = get(&mut sim, &id);
    assert_eq!(
        a["steps"][0]["status"], "ACTIVE",
        "the start returns before the provider call"
    );
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 0);
    let recs = sim.settle();
    assert!(
        recs.iter().all(|r| matches!(r.outcome, RawOutcome::Ok(_))),
        "{recs:?}"
    );
    assert_eq!(
        sim.state().llm.calls_to(ANTHROPIC),
        1,
        "one provider call per run"
    );
    let a = get(&mut sim, &id);
    let step = &a["steps"][0];
    assert_eq!(step["status"], "SUCCESS");
    assert!(step["resultTeaser"].as_str().unwrap().len() > 20, "{step}");
    assert!(step["executedAt"].is_string());
    // The public view never carries provider, model or tokens.
    for hidden in ["provider", "model", "tokensIn", "tokensOut", "output"] {
        assert!(step.get(hidden).is_none(), "{hidden} leaked: {step}");
    }
    assert_eq!(a["steps"][1]["status"], "ACTIVE");
    let comments: Vec<String> = sim
        .state()
        .site
        .issue("AIR-1")
        .unwrap()
        .comments
        .iter()
        .map(|c| aiclearance::adf::to_text(&c.body))
        .collect();
    assert!(
        comments
            .iter()
            .any(|c| c.starts_with("AI read:") && c.contains("Risk Level:")),
        "{comments:?}"
    );
    // The execution row (admin-only) has usage, and the usage counter moved.
    let rows = exec_rows(&sim);
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["tokensIn"].as_u64().unwrap() > 0);
    assert_eq!(rows[0]["provider"], "anthropic");
    assert_eq!(rows[0]["model"], "claude-sonnet-4-6");
    assert!(rows[0]["latencyMs"].is_u64() && rows[0]["errorCode"].is_null());
    assert!(rows[0]["response"]
        .as_str()
        .unwrap()
        .contains("Risk Level:"));
    assert!(
        rows[0]["prompt"].as_str().unwrap().len() > 100,
        "the scrubbed assembled prompt"
    );
    // Completion is a step decision like any other: a STEP_DECISION webhook for the PROMPT step.
    let hooks = prompt_step_decisions(&sim);
    assert_eq!(hooks.len(), 1, "{:?}", sim.state().hook_inbox);
    assert!(hooks[0].contains("SUCCESS"), "{}", hooks[0]);
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["usage"]["executions"], 1);
    assert_eq!(
        u["usage"]["tokens"],
        rows[0]["tokensIn"].as_u64().unwrap() + rows[0]["tokensOut"].as_u64().unwrap()
    );
}

// covers: AP-033, AP-049, AP-101, AP-137
#[test]
fn no_key_email_account_id_or_real_name_leaves_the_site() {
    let mut sim = configured();
    let s = ok(&mut sim, "admin.ai.settings.get", json!({}), ADMIN);
    assert_eq!(s["keyFingerprint"], "••••abcd");
    assert!(!s.to_string().contains(KEY));
    for issue in ["AIR-1", "AIR-4", "AIR-7"] {
        start(&mut sim, issue);
    }
    sim.settle();
    let rows = exec_rows(&sim);
    assert_eq!(rows.len(), 3);
    let site = sim.state().site.clone();
    for r in &rows {
        let prompt = r["prompt"].as_str().unwrap();
        assert!(prompt.contains("## Request"));
        for u in &site.users {
            assert!(
                !prompt.contains(&u.account_id),
                "account id {} in the prompt",
                u.account_id
            );
            if u.display_name.contains(' ') {
                assert!(
                    !prompt.contains(&u.display_name),
                    "{} in the prompt",
                    u.display_name
                );
            }
            if let Some(e) = &u.email_address {
                assert!(!prompt.contains(e.as_str()), "{e} in the prompt");
            }
        }
    }
    assert!(
        !sim.state().logs.iter().any(|l| l.message.contains(KEY)),
        "the key was logged"
    );
}

// covers: AP-037
#[test]
fn failures_map_to_codes_and_never_fail_the_path() {
    // Switched off: no provider call, the step SKIPPED as the setting promises (issue 33
    // item 6, D-222; AP-037 assumed FAIL/MISCONFIGURED, see A-AP-07).
    let mut sim = configured();
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"enabled": false}),
        ADMIN,
    );
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "SKIPPED");
    assert!(a["steps"][0]["errorCode"].is_null());
    assert_eq!(
        a["steps"][1]["status"], "ACTIVE",
        "the path advances regardless"
    );
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 0);
    let form = ok(&mut sim, "ai.stepForm", json!({}), ADMIN);
    assert_eq!(form["blocked"], "DISABLED");

    // An invalid key.
    let mut sim = configured();
    sim.state_mut().llm.plan("*", LlmFault::Unauthorized);
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    assert_eq!(get(&mut sim, &id)["steps"][0]["errorCode"], "INVALID_KEY");
    let inbox = ok(&mut sim, "admin.ai.inbox", json!({}), ADMIN);
    assert_eq!(inbox["items"][0]["code"], "INVALID_KEY");

    // Overloaded twice: retried once after >= 2 s, then UNAVAILABLE.
    let mut sim = configured();
    sim.state_mut().llm.plan("*", LlmFault::Overloaded);
    sim.state_mut().llm.plan("*", LlmFault::Overloaded);
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    assert_eq!(
        get(&mut sim, &id)["steps"][0]["status"],
        "ACTIVE",
        "waiting for the retry"
    );
    sim.advance(3_000);
    assert_eq!(get(&mut sim, &id)["steps"][0]["errorCode"], "UNAVAILABLE");
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 2);
    // Transient failures reach the admin inbox every time: the retried one and the final one.
    let inbox = ok(&mut sim, "admin.ai.inbox", json!({}), ADMIN);
    let unavailable = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "UNAVAILABLE")
        .count();
    assert_eq!(unavailable, 2, "{inbox}");
    // Both calls are on record and in usage: the retried try keeps its own row (covers: AP-250, AP-251).
    let rows = ok(
        &mut sim,
        "admin.ai.executions",
        json!({"approvalId": id, "stepId": "s1"}),
        ADMIN,
    );
    let rows = rows["executions"].as_array().unwrap().clone();
    assert_eq!(
        rows.iter()
            .map(|r| (
                r["attempt"].as_u64().unwrap(),
                r["retried"].as_bool().unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![(2, false), (1, true)],
        "newest first: {rows:?}"
    );
    assert!(rows.iter().all(|r| r["errorCode"] == "UNAVAILABLE"));
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["executions"], 2, "two calls, two executions");
    assert_eq!(u["errors"], 1, "one failed step, not two");

    // Budget used up: no call, BUDGET_EXHAUSTED.
    let mut sim = configured();
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"monthlyTokenBudget": 10}),
        ADMIN,
    );
    start(&mut sim, "AIR-1");
    sim.settle();
    let id = start(&mut sim, "AIR-4");
    sim.settle();
    assert_eq!(
        get(&mut sim, &id)["steps"][0]["errorCode"],
        "BUDGET_EXHAUSTED"
    );
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 1);
}

// covers: AP-036, AP-053, AP-051, AP-052, AP-068
#[test]
fn settings_and_templates_are_admin_only_and_bounded() {
    let mut sim = configured();
    assert_eq!(
        err(&mut sim, "admin.ai.settings.get", json!({}), CHLOE),
        "ADMIN_REQUIRED"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.ai.preview",
            json!({"approvalId": "x", "templateId": "builtin:risk"}),
            CHLOE
        ),
        "ADMIN_REQUIRED"
    );
    // Two saves within a second: the second is refused.
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"temperature": 0.5}),
        ADMIN,
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.ai.settings.save",
            json!({"temperature": 0.6}),
            ADMIN
        ),
        "SETTINGS_SAVE_TOO_SOON"
    );
    // Built-ins first and read-only.
    let list = ok(&mut sim, "admin.ai.templates.list", json!({}), ADMIN);
    let ids: Vec<&str> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        &ids[..6],
        [
            "builtin:summary",
            "builtin:risk",
            "builtin:compliance",
            "builtin:recommendation",
            "builtin:briefing",
            "builtin:anomaly"
        ]
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.ai.templates.delete",
            json!({"id": "builtin:risk"}),
            ADMIN
        ),
        "TEMPLATE_READ_ONLY"
    );
    // Field limits: the exact limits pass, one more fails.
    let t = |n: usize, d: usize, b: usize| json!({"name": "n".repeat(n), "description": "d".repeat(d), "body": "b".repeat(b)});
    ok(
        &mut sim,
        "admin.ai.templates.save",
        t(120, 500, 4_000),
        ADMIN,
    );
    for bad in [t(121, 1, 1), t(1, 501, 1), t(1, 1, 4_001)] {
        assert_eq!(
            err(&mut sim, "admin.ai.templates.save", bad, ADMIN),
            "TEMPLATE_INVALID"
        );
    }
    for i in 1..50 {
        ok(
            &mut sim,
            "admin.ai.templates.save",
            json!({"name": format!("T{i}"), "body": "x"}),
            ADMIN,
        );
    }
    assert_eq!(
        err(
            &mut sim,
            "admin.ai.templates.save",
            json!({"name": "51st", "body": "x"}),
            ADMIN
        ),
        "TEMPLATE_LIMIT"
    );
}

// covers: AP-065, AP-066, AP-067
#[test]
fn the_preview_shows_the_exact_prompt_without_calling_the_provider() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let calls = sim.state().llm.calls_to(ANTHROPIC);
    let p = ok(
        &mut sim,
        "admin.ai.preview",
        json!({"approvalId": id, "templateId": "builtin:risk"}),
        ADMIN,
    );
    assert_eq!(
        sim.state().llm.calls_to(ANTHROPIC),
        calls,
        "preview makes no provider call"
    );
    assert!(p["system"]
        .as_str()
        .unwrap()
        .contains("approval workflow analyst"));
    assert!(p["user"]
        .as_str()
        .unwrap()
        .contains("### Work Item / Content Data"));
    assert_eq!(p["warning"], false);
    let big = ok(
        &mut sim,
        "admin.ai.preview",
        json!({"approvalId": id, "body": "{% for i in range(400) %}{{ issue.fields.summary }} and more words here {% endfor %}"}),
        ADMIN,
    );
    assert!(big["estimatedTokens"].as_u64().unwrap() > 0);
}

// covers: AP-246, AP-253, AP-261, AP-262
#[test]
fn the_execution_route_checks_access_and_hides_the_prompt() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let v = ok(
        &mut sim,
        "ai.execution",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    assert!(v["result"].as_str().unwrap().contains("Risk Level:"));
    assert_eq!(v["canRerun"], true, "Jonas started the approval");
    assert!(v.get("prompt").is_none() && !v.to_string().contains("## Request"));
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 1);
    for banned in ["prompt", "provider", "model", "tokensIn", "tokensOut"] {
        assert!(h[0].get(banned).is_none(), "{banned} in {}", h[0]);
    }
    assert_eq!(v["canAudit"], false, "Jonas is no administrator");
    // The audit rows, prompt included, are for administrators only.
    assert_eq!(
        err(
            &mut sim,
            "admin.ai.executions",
            json!({"approvalId": id, "stepId": "s1"}),
            JONAS
        ),
        "ADMIN_REQUIRED"
    );
    let audit = ok(
        &mut sim,
        "admin.ai.executions",
        json!({"approvalId": id, "stepId": "s1"}),
        ADMIN,
    );
    let row = &audit["executions"][0];
    assert!(
        row["prompt"].as_str().unwrap().contains("## Request"),
        "{row}"
    );
    assert_eq!(row["provider"], "anthropic");
    assert!(row["tokensIn"].as_u64().unwrap() > 0 && row["model"].is_string());
    assert_eq!(
        ok(
            &mut sim,
            "ai.execution",
            json!({"approvalId": id, "stepId": "s1"}),
            ADMIN
        )["canAudit"],
        true
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.ai.executions",
            json!({"approvalId": id, "stepId": "s2"}),
            ADMIN
        ),
        "STEP_NOT_FOUND",
        "s2 is no AI Prompt step"
    );
    // Someone who cannot see the approval (a JSM customer of another request) is refused.
    let outsider = "712020:7f89dbec-4a8f-59b7-8198-95aeb5fb7d9b";
    let code = err(
        &mut sim,
        "ai.execution",
        json!({"approvalId": id, "stepId": "s1"}),
        outsider,
    );
    assert_eq!(
        code, "APPROVAL_NOT_FOUND",
        "the same answer as a missing approval"
    );
    // A step of another kind, or one that does not belong to this approval: not found.
    assert_eq!(
        err(
            &mut sim,
            "ai.execution",
            json!({"approvalId": id, "stepId": "s2"}),
            JONAS
        ),
        "STEP_NOT_FOUND"
    );
    assert_eq!(
        err(
            &mut sim,
            "ai.execution",
            json!({"approvalId": id, "stepId": "s99"}),
            JONAS
        ),
        "STEP_NOT_FOUND"
    );
    assert_eq!(
        err(
            &mut sim,
            "ai.execution",
            json!({"approvalId": "apr-guess", "stepId": "s1"}),
            JONAS
        ),
        "APPROVAL_NOT_FOUND"
    );
}

/// AIR-1's `ai-path` started and its approval-effects hand-off run, with the PROMPT job taken
/// off the queue for the test to deliver: the site, the approval id and the job.
fn held_prompt_job() -> (Sim, String, Value) {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    let effect = sim
        .state()
        .queue
        .iter()
        .find(|e| e.queue_key == "approval-effects")
        .cloned()
        .unwrap();
    sim.state_mut()
        .queue
        .retain(|e| e.queue_key != "approval-effects");
    sim.deliver_queue(
        "approval-effects",
        &serde_json::from_str(&effect.body).unwrap(),
    );
    let job = sim
        .state()
        .queue
        .iter()
        .find(|e| e.queue_key == "prompt-steps")
        .cloned()
        .unwrap();
    sim.state_mut()
        .queue
        .retain(|e| e.queue_key != "prompt-steps");
    (sim, id, serde_json::from_str::<Value>(&job.body).unwrap())
}

/// A crash at any host call of the worker, then redelivery: the step completes once, and the
/// provider is billed again only when the crash fell between its answer and the recorded row.
// covers: AP-176, AP-177
#[test]
fn a_crash_in_the_worker_never_double_bills_after_the_row_is_recorded() {
    let prep = held_prompt_job;
    let (mut probe, _, job) = prep();
    let calls = probe.deliver_queue("prompt-steps", &job).counts.total;
    assert!(calls >= 8, "{calls}");
    let mut double_billed = Vec::new();
    for n in 1..=calls {
        let (mut sim, id, job) = prep();
        sim.next_plan = FaultPlan::crash_at(n);
        assert_eq!(
            sim.deliver_queue("prompt-steps", &job).outcome,
            RawOutcome::Crashed { at_call: n }
        );
        sim.redeliver("prompt-steps", &job);
        sim.settle();
        let a = get(&mut sim, &id);
        assert_eq!(a["steps"][0]["status"], "SUCCESS", "crash at {n}");
        assert_eq!(exec_rows(&sim).len(), 1, "crash at {n}");
        let billed = sim.state().llm.calls_to(ANTHROPIC);
        if billed > 1 {
            double_billed.push(n);
        }
        assert!(billed <= 2, "crash at {n}: {billed} calls");
    }
    // Only the crash points between the provider's answer and the row's commit re-bill.
    assert!(
        double_billed.len() <= 2,
        "re-billed after crashes at {double_billed:?}"
    );
}

/// A job that recorded its answer and then lost every redelivery (a crash after the row, the
/// platform gave up): the 5-minute safety net completes the step with the recorded answer, as
/// the worker's own redelivery would, instead of failing it as "background job was lost" and
/// inviting a re-run that bills again (issue 34 item 4).
// covers: AP-176, AP-179
#[test]
fn the_safety_net_reuses_an_answer_recorded_before_the_job_was_lost() {
    let mut reused = 0;
    let mut n = 1;
    loop {
        let (mut sim, id, job) = held_prompt_job();
        sim.state_mut().queue.clear();
        sim.next_plan = FaultPlan::crash_at(n);
        let crashed = matches!(
            sim.deliver_queue("prompt-steps", &job).outcome,
            RawOutcome::Crashed { .. }
        );
        if !crashed {
            break; // past the worker's last host call
        }
        let recorded = exec_rows(&sim).len() == 1;
        // No redelivery ever comes; the cleanup runs.
        sim.state_mut().queue.clear();
        sim.advance(25 * 60 * 1000);
        let a = get(&mut sim, &id);
        if recorded {
            assert_eq!(a["steps"][0]["status"], "SUCCESS", "crash at {n}: {a}");
            assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 1, "crash at {n}");
            reused += 1;
        } else {
            assert_eq!(a["steps"][0]["status"], "FAIL", "crash at {n}");
        }
        n += 1;
    }
    assert!(
        reused >= 1,
        "no crash point fell after the row was recorded"
    );
}

// covers: AP-210, AP-213, AP-218, AP-245, AP-266
#[test]
fn rerun_is_for_the_originator_and_admins_and_bills_again() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    assert_eq!(
        err(
            &mut sim,
            "ai.rerun",
            json!({"approvalId": id, "stepId": "s1"}),
            PRIYA
        ),
        "NOT_ORIGINATOR"
    );
    assert_eq!(
        err(
            &mut sim,
            "ai.rerun",
            json!({"approvalId": id, "stepId": "s2"}),
            JONAS
        ),
        "STEP_NOT_FOUND"
    );
    let v = ok(
        &mut sim,
        "ai.rerun",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    assert_eq!(v["approval"]["steps"][0]["status"], "ACTIVE");
    sim.settle();
    assert_eq!(
        sim.state().llm.calls_to(ANTHROPIC),
        2,
        "a re-run is a fresh provider call"
    );
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "SUCCESS");
    assert_eq!(exec_rows(&sim).len(), 2);
    // The result dialog's history keeps both runs, newest first.
    let v = ok(
        &mut sim,
        "ai.execution",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 2, "{v}");
    assert!(h[0]["executedAt"].as_str() >= h[1]["executedAt"].as_str());
    ok(
        &mut sim,
        "ai.rerun",
        json!({"approvalId": id, "stepId": "s1"}),
        ADMIN,
    );
}

// covers: AP-178, AP-215, AP-252
#[test]
fn a_lost_job_is_force_failed_by_the_five_minute_cleanup_and_rows_expire_after_90_days() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    // The platform drops the job.
    sim.state_mut().queue.clear();
    sim.advance(25 * 60 * 1000);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "FAIL");
    assert_eq!(a["steps"][0]["errorCode"], "OTHER");
    assert!(a["steps"][0]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("background job was lost"));
    assert_eq!(
        a["steps"][1]["status"], "ACTIVE",
        "downstream steps unblock"
    );
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 0);
    // Re-run it, then let 91 days pass: the daily cleanup prunes the execution row.
    ok(
        &mut sim,
        "ai.rerun",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    sim.settle();
    assert_eq!(exec_rows(&sim).len(), 1);
    assert_eq!(
        get(&mut sim, &id)["steps"][0]["status"],
        "SUCCESS",
        "re-run after a lost job"
    );
    sim.advance(89 * 86_400_000);
    assert_eq!(exec_rows(&sim).len(), 1, "kept for 90 days");
    sim.advance(2 * 86_400_000);
    assert_eq!(exec_rows(&sim).len(), 0, "pruned after 90 days");
    assert_eq!(count_prefix(&sim, "prompt-exec-at:"), 0);
}

// covers: AP-179
/// The 5-minute cleanup leaves a step alone while its job is still queued (not yet stale): the
/// job then runs and completes the step normally.
#[test]
fn the_cleanup_never_fails_a_step_whose_job_is_still_queued() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    // The platform has not delivered the job yet.
    let held: Vec<_> = sim.state().queue.clone();
    sim.state_mut().queue.clear();
    sim.state_mut().clock_ms += 6 * 60 * 1000;
    let out = outcome(&sim.run_scheduled("prompt-step-cleanup").unwrap());
    assert_eq!(out["approvals"]["lostPromptStepsFailed"], 0, "{out}");
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "ACTIVE");
    sim.state_mut().queue.extend(held);
    sim.settle();
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "SUCCESS");
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 1);
}

// covers: AP-240, AP-243, AP-244
/// The public web API views: a PROMPT step's fields on the approval, its config on the
/// definition, and never the internal custom-field whitelist.
#[test]
fn the_web_api_shows_prompt_steps_with_their_public_fields_only() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    let step = a["steps"][0].as_object().unwrap();
    for k in [
        "id",
        "type",
        "status",
        "name",
        "action",
        "parallelGroupNumber",
        "conditionId",
        "executedAt",
        "resultTeaser",
        "errorCode",
        "errorMessage",
    ] {
        assert!(step.contains_key(k), "{k} missing from {step:?}");
    }
    assert_eq!(step["type"], "PROMPT");
    // A step narrowing the tenant whitelist keeps it internal.
    let mut def = ok(
        &mut sim,
        "admin.definitions.get",
        json!({"id": "ai-path"}),
        ADMIN,
    )["definition"]
        .clone();
    def["steps"][0]["customFields"] = json!(["customfield_10050"]);
    ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": def}),
        ADMIN,
    );
    let stored = ok(
        &mut sim,
        "admin.definitions.get",
        json!({"id": "ai-path"}),
        ADMIN,
    );
    assert!(
        stored.to_string().contains("customfield_10050"),
        "admins see it: {stored}"
    );
    let d = ok(
        &mut sim,
        "webapi.v2.definitions.get",
        json!({"id": "ai-path"}),
        ADMIN,
    );
    let s0 = d["definition"]["steps"][0]
        .as_object()
        .or_else(|| d["steps"][0].as_object())
        .unwrap()
        .clone();
    for k in [
        "type",
        "name",
        "action",
        "promptTemplate",
        "parallelGroupNumber",
        "conditionId",
        "labelCondition",
    ] {
        assert!(s0.contains_key(k), "{k} missing from {s0:?}");
    }
    assert_eq!(s0["promptTemplate"], "builtin:risk");
    let text = d.to_string();
    assert!(
        !text.contains("customfield_10050") && !text.contains("customFields"),
        "{text}"
    );
}

// covers: AP-151, AP-153, AP-154, AP-196
/// Every provider failure mode of the emulated Anthropic API, end to end through the worker:
/// its error code on the step, how many calls it cost (transient codes are retried once, at
/// least 2 s later), and the path moving on regardless.
#[test]
fn every_provider_failure_maps_to_its_code_and_the_path_moves_on() {
    let cases: Vec<(Vec<LlmFault>, Option<&str>, usize)> = vec![
        (vec![LlmFault::Unauthorized], Some("INVALID_KEY"), 1),
        (vec![LlmFault::RateLimited { retry_after_s: 1 }], None, 2),
        (
            vec![
                LlmFault::RateLimited { retry_after_s: 1 },
                LlmFault::RateLimited { retry_after_s: 1 },
            ],
            Some("RATE_LIMITED"),
            2,
        ),
        (
            vec![LlmFault::ServerError, LlmFault::ServerError],
            Some("UNAVAILABLE"),
            2,
        ),
        (
            vec![LlmFault::Timeout, LlmFault::Timeout],
            Some("TIMEOUT"),
            2,
        ),
        (vec![LlmFault::ContentFilter], Some("CONTENT_BLOCKED"), 1),
        (vec![LlmFault::MaxTokens], Some("OUTPUT_TRUNCATED"), 1),
        (vec![LlmFault::EmptyBody], Some("EMPTY_RESPONSE"), 1),
        (vec![LlmFault::QuotaExceeded], Some("BUDGET_EXHAUSTED"), 1),
    ];
    for (faults, code, calls) in cases {
        let mut sim = configured();
        for f in &faults {
            sim.state_mut().llm.plan("*", f.clone());
        }
        let id = start(&mut sim, "AIR-1");
        sim.settle();
        sim.advance(3_000);
        let a = get(&mut sim, &id);
        let step = &a["steps"][0];
        match code {
            Some(c) => {
                assert_eq!(step["status"], "FAIL", "{faults:?}: {step}");
                assert_eq!(step["errorCode"], c, "{faults:?}");
                let msg = step["errorMessage"].as_str().unwrap();
                assert!(
                    !msg.is_empty() && !msg.contains("{\""),
                    "{faults:?}: no provider envelope: {msg}"
                );
            }
            None => {
                assert_eq!(step["status"], "SUCCESS", "{faults:?}: {step}");
                assert!(step["resultTeaser"].as_str().is_some_and(|t| !t.is_empty()));
            }
        }
        let recs = &sim.state().llm.calls;
        assert_eq!(recs.len(), calls, "{faults:?}: provider calls");
        if calls == 2 {
            assert!(
                recs[1].at_ms - recs[0].at_ms >= 2_000,
                "{faults:?}: retried after >= 2 s"
            );
        }
        assert_eq!(
            a["steps"][1]["status"], "ACTIVE",
            "{faults:?}: the path moves on"
        );
        assert_ne!(a["status"], "REJECTED", "{faults:?}");
    }
}

// covers: AP-082
/// An assembled prompt over 200,000 characters is never sent: the step fails with
/// PROMPT_TOO_LARGE and a message to trim, and the path moves on.
#[test]
fn an_oversize_prompt_fails_the_step_without_a_provider_call() {
    let mut sim = configured();
    let huge = "Quarterly usage notes. ".repeat(10_000); // ~230,000 characters
    sim.state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == "AIR-1")
        .unwrap()
        .description = json!({
        "type": "doc", "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": huge}]}]
    });
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "FAIL");
    assert_eq!(a["steps"][0]["errorCode"], "PROMPT_TOO_LARGE");
    assert!(a["steps"][0]["errorMessage"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("trim"));
    assert_eq!(sim.state().llm.calls.len(), 0, "nothing left the site");
    assert_eq!(a["steps"][1]["status"], "ACTIVE");
}

// covers: AP-021, AP-022, AP-023
/// The definition editor's PROMPT step rules, checked on the server.
#[test]
fn prompt_step_config_is_validated_on_the_server() {
    let mut sim = configured();
    let custom = ok(
        &mut sim,
        "admin.ai.templates.save",
        json!({"name": "Vendor check", "description": "", "body": "Check the vendor of {{ issue.fields.summary }}"}),
        ADMIN,
    );
    let custom_id = custom["template"]["id"].as_str().unwrap().to_string();
    let def = |steps: Value| json!({"definition": {"id": "p2", "name": "P2", "description": "d", "starters": {"mode": "anyone"}, "steps": steps}});
    let prompt = |name: &str, template: Value, body: &str| json!({"name": name, "type": "PROMPT", "parallelGroupNumber": 1, "promptTemplate": template, "body": body});
    let user =
        json!({"name": "Lead", "type": "USER", "parallelGroupNumber": 2, "approvers": [PRIYA]});
    // Blank, built-in and custom templates are all accepted and kept.
    let saved = ok(
        &mut sim,
        "admin.definitions.save",
        def(json!([
            prompt("A", Value::Null, "Say hi"),
            prompt("B", json!("builtin:risk"), ""),
            prompt("C", json!(custom_id.clone()), ""),
            user.clone()
        ])),
        ADMIN,
    );
    let steps = saved["definition"]["steps"].as_array().unwrap();
    assert!(steps[0]["promptTemplate"].is_null());
    assert_eq!(steps[1]["promptTemplate"], "builtin:risk");
    assert_eq!(steps[2]["promptTemplate"], custom_id.as_str());
    // Two PROMPT steps with the same name (case-insensitively) are refused.
    let code = err(
        &mut sim,
        "admin.definitions.save",
        def(json!([
            prompt("Risk", Value::Null, "x"),
            prompt("risk", Value::Null, "y"),
            user.clone()
        ])),
        ADMIN,
    );
    assert_eq!(code, "DEFINITION_INVALID");
    // The body: 4,000 characters pass, 4,001 do not.
    let b4000 = "a".repeat(4_000);
    ok(
        &mut sim,
        "admin.definitions.save",
        def(json!([prompt("A", Value::Null, &b4000), user.clone()])),
        ADMIN,
    );
    let code2 = err(
        &mut sim,
        "admin.definitions.save",
        def(json!([
            prompt("A", Value::Null, &format!("{b4000}a")),
            user.clone()
        ])),
        ADMIN,
    );
    assert_eq!(code2, "DEFINITION_INVALID");
    // A template that does not exist is refused.
    let code3 = err(
        &mut sim,
        "admin.definitions.save",
        def(json!([prompt("A", json!("tpl-missing"), ""), user])),
        ADMIN,
    );
    assert_eq!(code3, "DEFINITION_INVALID");
}

// covers: AP-010, AP-041, AP-034, AP-144, AP-211, AP-212, AP-214
/// Fresh settings keep PII mode off; a model id that is not in the curated list is accepted and
/// sent; a re-run re-reads the issue and uses the settings in force now, and brings a failed
/// step back on the same approval.
#[test]
fn rerun_uses_the_current_issue_and_settings_and_custom_model_ids_are_sent() {
    let mut fresh = wasm();
    let s = ok(&mut fresh, "admin.ai.settings.get", json!({}), ADMIN);
    assert_eq!(
        s["settings"]["piiSensitive"]
            .as_bool()
            .or(s["piiSensitive"].as_bool()),
        Some(false),
        "{s}"
    );
    let models = ok(
        &mut fresh,
        "admin.ai.models",
        json!({"provider": "anthropic"}),
        ADMIN,
    );
    assert!(models.to_string().contains("claude-sonnet-4-6"), "{models}");

    let mut sim = configured();
    sim.state_mut()
        .llm
        .plan("*", LlmFault::RateLimited { retry_after_s: 1 });
    sim.state_mut()
        .llm
        .plan("*", LlmFault::RateLimited { retry_after_s: 1 });
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    sim.advance(3_000);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["errorCode"], "RATE_LIMITED");
    assert_eq!(
        a["originator"], JONAS,
        "the approval records who started it"
    );
    // The issue changes and the admin switches to a model id of their own.
    sim.state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == "AIR-1")
        .unwrap()
        .summary = "Access to ChatGPT Enterprise for the Q3 pricing study".into();
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"model": "claude-sonnet-4-6-20261101"}),
        ADMIN,
    );
    ok(
        &mut sim,
        "ai.rerun",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(
        a["steps"][0]["status"], "SUCCESS",
        "same approval, same step"
    );
    let last = sim.state().llm.calls.last().unwrap().clone();
    assert_eq!(last.model, "claude-sonnet-4-6-20261101");
    let rows = exec_rows(&sim);
    let newest = rows.iter().max_by_key(|r| r["atMs"].as_u64()).unwrap();
    assert!(
        newest["prompt"]
            .as_str()
            .unwrap()
            .contains("Q3 pricing study"),
        "re-fetched issue"
    );
    assert_eq!(newest["model"], "claude-sonnet-4-6-20261101");
}

// covers: AP-009, AP-072, AP-073, AP-074, AP-077, AP-078, AP-081, AP-119
/// What the assembled prompt holds (seen through the admin preview, which shows it exactly):
/// the body's variables rendered, and the structured appendix with the approval's time signals,
/// all four phases, and the definition cut down to name, description and purpose.
#[test]
fn the_assembled_prompt_renders_variables_and_carries_the_structured_appendix() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let body = "Def: {{ definition.name }} / {{ definition.description }}. Approval: {{ approval.name }} is {{ approval.status }}. Issue: {{ issue.fields.summary }} ({{ issue.fields.status.name }}).";
    let p = ok(
        &mut sim,
        "admin.ai.preview",
        json!({"approvalId": id, "body": body}),
        ADMIN,
    );
    let all: String = ["system", "user", "appendix"]
        .iter()
        .filter_map(|k| p[*k].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains("Def: AI-assisted access / Decide AI tool requests with a risk read first."),
        "{all}"
    );
    assert!(all.contains("Issue: Access to ChatGPT Enterprise"), "{all}");
    assert!(
        all.contains("Approval: ") && !all.contains("{{ approval"),
        "{all}"
    );
    for k in [
        "startedAt",
        "startedDaysAgo",
        "currentStepActivatedAt",
        "currentStepDaysAgo",
        "successSteps",
        "rejectionSteps",
        "expirationSteps",
        "purpose",
    ] {
        assert!(all.contains(k), "{k} missing from the appendix:\n{all}");
    }
    // The definition is trimmed: its description doubles as `purpose`; no version or
    // timestamps (step condition ids belong to the approval data, not the definition).
    assert!(
        all.contains("\"purpose\":\"Decide AI tool requests with a risk read first\"")
            || all.contains("\"purpose\": \"Decide AI tool requests with a risk read first\""),
        "{all}"
    );
    assert!(
        !all.contains("\"version\"") && !all.contains("\"updatedAt\""),
        "{all}"
    );
}

// covers: AP-048
/// Data sharing → Refresh re-reads the custom fields from Jira (`GET /rest/api/3/field`) and
/// lists them by name, saying which the whitelist lets through.
#[test]
fn the_refresh_action_lists_jiras_custom_fields_by_name() {
    let mut sim = configured();
    for (id, name) in [
        ("customfield_10051", "Vendor contract"),
        ("customfield_10050", "Cost center"),
    ] {
        sim.state_mut().site.fields.push(host_sim::site::FieldDef {
            id: id.into(),
            name: name.into(),
            custom: true,
        });
    }
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"customFieldWhitelist": ["customfield_10050"]}),
        ADMIN,
    );
    let rec = sim.resolve("admin.ai.fields.refresh", &json!({}), Some(ADMIN));
    assert_eq!(
        rec.counts.by_op.get("jira.GET /rest/api/3/field").copied(),
        Some(1),
        "{:?}",
        rec.counts.by_op
    );
    let out = outcome(&rec);
    let fields = out["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    // JSM's own Request Type is a custom field too, as real Jira lists it.
    assert_eq!(
        names,
        ["Cost center", "Request Type", "Vendor contract"],
        "custom fields only, by name"
    );
    assert_eq!(fields[0]["whitelisted"], true);
    assert_eq!(fields[1]["whitelisted"], false);
    assert_eq!(fields[2]["whitelisted"], false);
    assert_eq!(
        err(&mut sim, "admin.ai.fields.refresh", json!({}), JONAS),
        "ADMIN_REQUIRED"
    );
}

// covers: AP-177, AP-178
#[test]
fn the_stuck_step_cleanup_leaves_a_step_whose_retry_is_still_queued_alone() {
    // The job first runs late (19 min 55 s after it was queued), meets a 429 and asks for a
    // retry in 50 s. Ten seconds later — over 20 minutes after the job was queued — the 5-minute
    // cleanup runs: the retry is still waiting in the queue, so the step is not "lost".
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    let handoff = take(&mut sim, "approval-effects");
    sim.deliver_queue("approval-effects", &handoff);
    let job = take(&mut sim, "prompt-steps");
    sim.state_mut().clock_ms += 19 * 60_000 + 55_000;
    sim.state_mut()
        .llm
        .plan("*", LlmFault::RateLimited { retry_after_s: 50 });
    let r = sim.deliver_queue("prompt-steps", &job);
    assert_eq!(
        r.ok().and_then(|v| v["retry"].as_u64()),
        Some(50),
        "{:?}",
        r.outcome
    );
    sim.state_mut().clock_ms += 10_000;
    sim.run_scheduled("prompt-step-cleanup").unwrap();
    assert_eq!(
        get(&mut sim, &id)["steps"][0]["status"],
        "ACTIVE",
        "not failed as lost while its retry waits"
    );
    // The retry arrives and the step completes.
    sim.state_mut().clock_ms += 40_000;
    sim.deliver_queue("prompt-steps", &job);
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "SUCCESS");
    // A job that really is gone is still failed, 20 minutes after it was last due.
    let mut sim = configured();
    let id = start(&mut sim, "AIR-2");
    let handoff = take(&mut sim, "approval-effects");
    sim.deliver_queue("approval-effects", &handoff);
    take(&mut sim, "prompt-steps");
    sim.advance(26 * 60_000);
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "FAIL");
}

/// A job that meets a transient Jira error (a 503) asks to come back instead of being consumed:
/// the redelivery completes the step, which is never failed as "background job was lost".
#[test]
fn a_job_that_meets_a_jira_503_comes_back_and_completes() {
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    let handoff = take(&mut sim, "approval-effects");
    sim.deliver_queue("approval-effects", &handoff);
    let job = take(&mut sim, "prompt-steps");
    sim.next_plan = FaultPlan::service(
        host_sim::Service::Jira,
        1,
        host_sim::Fault::Status {
            status: 503,
            retry_after_s: None,
        },
    );
    let r = sim.deliver_queue("prompt-steps", &job);
    let retry = r.ok().and_then(|v| v["retry"].as_u64());
    assert!(retry.is_some_and(|s| s > 0), "{:?}", r.outcome);
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 0, "nothing billed yet");
    sim.state_mut().clock_ms += retry.unwrap() * 1000;
    sim.deliver_queue("prompt-steps", &job);
    assert_eq!(get(&mut sim, &id)["steps"][0]["status"], "SUCCESS");
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 1, "billed once");
}

/// Takes the first event of `queue` out of the platform's queue (to deliver it by hand).
fn take(sim: &mut host_sim::Sim, queue: &str) -> Value {
    let q = &mut sim.state_mut().queue;
    let i = q.iter().position(|e| e.queue_key == queue).unwrap();
    serde_json::from_str(&q.remove(i).body).unwrap()
}

fn of_approval(rows: Vec<Value>, approval_id: &str) -> Vec<Value> {
    rows.into_iter()
        .filter(|r| r["approvalId"] == approval_id)
        .collect()
}

// covers: AP-200, AP-202
#[test]
fn a_call_whose_answer_was_lost_is_counted_against_the_budget_as_an_estimate() {
    let mut sim = configured();
    sim.state_mut().llm.plan("*", LlmFault::Timeout);
    sim.state_mut().llm.plan("*", LlmFault::Timeout);
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    sim.advance(3_000);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["errorCode"], "TIMEOUT");
    // Both tries were sent and never answered: each row carries an estimate, not 0 tokens.
    let rows = of_approval(exec_rows(&sim), &id);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let mut total = 0;
    for r in &rows {
        assert_eq!(r["tokensEstimated"], true, "{r}");
        let prompt_chars = r["prompt"].as_str().unwrap().chars().count() as u64;
        assert_eq!(r["tokensIn"].as_u64().unwrap(), prompt_chars.div_ceil(4));
        assert!(r["tokensOut"].as_u64().unwrap() > 0);
        total += r["tokensIn"].as_u64().unwrap() + r["tokensOut"].as_u64().unwrap();
    }
    // The month's usage holds them.
    let usage: Value = sim
        .state()
        .kvs
        .iter()
        .find(|(k, _)| k.starts_with("ai-usage:"))
        .map(|(_, s)| serde_json::from_str(&s.value).unwrap())
        .expect("usage recorded");
    assert_eq!(usage["tokens"].as_u64().unwrap(), total, "{usage}");
    // A successful call keeps the provider's own counts.
    let mut ok_sim = configured();
    let id = start(&mut ok_sim, "AIR-1");
    ok_sim.settle();
    let row = of_approval(exec_rows(&ok_sim), &id).remove(0);
    assert!(row.get("tokensEstimated").is_none(), "{row}");
}

// covers: AP-135
#[test]
fn an_approver_the_issue_does_not_name_is_scrubbed_from_comments_by_name() {
    // Daniel Kim is in ai-approvers (the intake approver group and this path's group step) but
    // neither on AIR-1 nor a decider of its approval: before, his name passed verbatim.
    let mut sim = configured();
    let issue = sim
        .state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == "AIR-1")
        .unwrap();
    issue.comments.push(host_sim::site::Comment {
        id: "99001".into(),
        author: JONAS.into(),
        body: json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "Daniel Kim said the pilot budget is agreed"}]}]}),
        created: "2026-11-02T10:00:00.000+0000".into(),
        properties: Default::default(),
    });
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let row = of_approval(exec_rows(&sim), &id).remove(0);
    let prompt = row["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("said the pilot budget is agreed"),
        "the comment is in the prompt: {prompt}"
    );
    assert!(!prompt.contains("Daniel Kim"), "{prompt}");
    assert!(!prompt.contains("Daniel"), "{prompt}");
}

/// Adds a comment by Jonas to `issue`.
fn comment_on(sim: &mut host_sim::Sim, issue: &str, id: &str, text: &str) {
    let issue = sim
        .state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == issue)
        .unwrap();
    issue.comments.push(host_sim::site::Comment {
        id: id.into(),
        author: JONAS.into(),
        body: json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": text}]}]}),
        created: "2026-11-02T10:00:00.000+0000".into(),
        properties: Default::default(),
    });
}

// covers: AP-132, AP-133
#[test]
fn a_past_requester_mentioned_on_an_unrelated_issue_is_scrubbed_by_the_name_directory() {
    // Aisha Bello filed AIR-5; she is not on AIR-1, its approval, or any decider list. The
    // installation saw her when AIR-5's analysis ran: her name waits as a sighting for the
    // directory's daily fold (D-240), which the next run reads too, and the comment on AIR-1
    // that names her (in any case) leaves the tenant as a token.
    let mut sim = configured();
    let first = start(&mut sim, "AIR-5");
    sim.settle();
    assert_eq!(get(&mut sim, &first)["steps"][0]["status"], "SUCCESS");
    let noted: Vec<(String, Value)> = sim
        .state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("name-seen:") || k.starts_with("name-directory:"))
        .map(|(k, v)| (k.clone(), serde_json::from_str(&v.value).unwrap()))
        .collect();
    assert!(
        noted
            .iter()
            .any(|(_, v)| v["e"].to_string().contains("Aisha Bello")),
        "{noted:?}"
    );
    comment_on(
        &mut sim,
        "AIR-1",
        "99002",
        "Aisha Bello said the pilot went well; AISHA BELLO will share the numbers",
    );
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let row = of_approval(exec_rows(&sim), &id).remove(0);
    let prompt = row["prompt"].as_str().unwrap();
    assert!(prompt.contains("said the pilot went well"), "{prompt}");
    assert!(!prompt.to_lowercase().contains("aisha"), "{prompt}");
    assert!(!prompt.to_lowercase().contains("bello"), "{prompt}");
    // One token for both spellings.
    let at = prompt.find(" said the pilot went well").unwrap();
    let token = &prompt[prompt[..at].rfind('<').unwrap()..at];
    assert!(token.starts_with("<user-"), "{token}");
    assert!(
        prompt.contains(&format!("{token} will share the numbers")),
        "{prompt}"
    );
}
