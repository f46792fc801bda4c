//! AI Prompt results after the call: precedents in the prompt, what downstream HTTP, automation
//! and email templates can quote, the monthly budget and usage table, failure panels and the
//! admin error inbox.

mod common;

use common::prompt::*;
use common::*;
use host_sim::remotes::llm::LlmFault;
use host_sim::Sim;
use serde_json::{json, Value};

/// The JSON block under `### <title>` in an assembled prompt.
fn appendix(prompt: &str, title: &str) -> Value {
    let head = format!("### {title}\n```json\n");
    let start = prompt.find(&head).expect("appendix section") + head.len();
    let end = start + prompt[start..].find("\n```").unwrap();
    serde_json::from_str(&prompt[start..end]).unwrap()
}

fn decide(sim: &mut Sim, id: &str, step: &str, decision: &str, comment: &str) {
    ok(
        sim,
        "approvals.decide",
        json!({"approvalId": id, "stepId": step, "decision": decision, "comment": comment}),
        PRIYA,
    );
    sim.settle();
}

fn preview(sim: &mut Sim, id: &str) -> Value {
    ok(
        sim,
        "admin.ai.preview",
        json!({"approvalId": id, "stepId": "s1", "templateId": "builtin:risk"}),
        ADMIN,
    )
}

fn save_settings(sim: &mut Sim, p: Value) {
    sim.advance(2_000);
    ok(sim, "admin.ai.settings.save", p, ADMIN);
}

// covers: AP-046, AP-080, AP-117
#[test]
fn precedents_are_the_five_latest_decided_approvals_of_the_definition_and_only_when_shared() {
    let mut sim = configured();
    // Eight decided approvals of the same definition, alternating approve / reject.
    for (n, issue) in [
        "AIR-1", "AIR-2", "AIR-3", "AIR-4", "AIR-5", "AIR-6", "AIR-7", "AIR-8",
    ]
    .iter()
    .enumerate()
    {
        sim.advance(60_000);
        let id = start(&mut sim, issue);
        sim.settle();
        let (d, c) = if n % 2 == 0 {
            ("approve", format!("fine, low risk {n}"))
        } else {
            ("reject", format!("no budget left {n}"))
        };
        decide(&mut sim, &id, "s2", d, &c);
    }
    // One still running: not a precedent.
    start(&mut sim, "AIR-9");
    let id = start(&mut sim, "AIR-10");
    let p = preview(&mut sim, &id);
    let approval = appendix(p["user"].as_str().unwrap(), "Approval Data");
    let cross = approval["crossApprovals"].as_array().unwrap();
    assert_eq!(cross.len(), 5, "{cross:?}");
    // Newest first: AIR-8 … AIR-4, each decided, with its comment tagged by the decision.
    let keys: Vec<&str> = cross
        .iter()
        .map(|c| c["issueKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["AIR-8", "AIR-7", "AIR-6", "AIR-5", "AIR-4"]);
    for c in cross {
        assert!(["APPROVED", "REJECTED"].contains(&c["status"].as_str().unwrap()));
        let comments = c["comments"].as_array().unwrap();
        assert!(!comments.is_empty() && comments.len() <= 5);
        let tag = comments[0]["decision"].as_str().unwrap();
        let text = comments[0]["comment"].as_str().unwrap();
        assert_eq!(tag == "REJECT", text.starts_with("no budget"), "{c}");
        // The approver is a per-execution token, never the account id.
        assert!(comments[0]["author"]
            .as_str()
            .unwrap()
            .starts_with("<user-"));
    }
    assert!(!p["user"].as_str().unwrap().contains(PRIYA));

    // Off: no cross-approvals at all (the pruned Approval Data drops the key: AP-046 "absent").
    save_settings(&mut sim, json!({"includePrecedents": false}));
    let p = preview(&mut sim, &id);
    let approval = appendix(p["user"].as_str().unwrap(), "Approval Data");
    assert!(approval.get("crossApprovals").is_none(), "{approval}");
}

// covers: AP-120, AP-076
#[test]
fn what_leaves_the_site_is_exactly_the_pruned_scrubbed_preview() {
    let mut sim = configured();
    save_settings(&mut sim, json!({"allowAllCustomFields": true}));
    let id = start(&mut sim, "AIR-1");
    // The admin preview of the step while it is waiting for the worker…
    let p = preview(&mut sim, &id);
    sim.settle();
    // …is byte for byte the prompt the worker sent (recorded on the execution row).
    let rows = exec_rows(&sim);
    assert_eq!(rows.len(), 1);
    let sent = rows[0]["prompt"].as_str().unwrap();
    assert_eq!(
        sent,
        format!(
            "{}\n\n{}",
            p["system"].as_str().unwrap(),
            p["user"].as_str().unwrap()
        )
    );
    assert_eq!(
        sim.state().llm.calls[0].prompt_chars as usize,
        p["characters"].as_u64().unwrap() as usize
    );
    // Work Item Data: custom fields as a named list, comment authors as tokens, ADF as text.
    let work = appendix(sent, "Work Item / Content Data");
    let fields = work["customFields"].as_array().expect("customFields list");
    assert!(fields
        .iter()
        .all(|f| f["name"].is_string() && f.get("value").is_some()));
    assert!(!fields.is_empty());
    if let Some(d) = work.get("description") {
        assert!(d.is_string(), "ADF flattened to text: {d}");
    }
}

// covers: AP-200, AP-201
#[test]
fn a_tenant_with_no_budget_set_is_told_so_not_that_it_used_100_percent() {
    let mut sim = configured();
    save_settings(&mut sim, json!({"monthlyTokenBudget": 0}));
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["status"], "NO_BUDGET", "{u}");
    assert_eq!(u["percent"], 0);
    let s = ok(&mut sim, "admin.ai.settings.get", json!({}), ADMIN);
    assert_eq!(s["usageStatus"], "NO_BUDGET");
    assert_eq!(s["usagePercent"], 0);
}

// covers: AP-200, AP-201, AP-202, AP-203, AP-204, AP-205, AP-206, AP-155
#[test]
fn the_budget_warns_at_90_percent_skips_at_100_and_resets_with_the_month() {
    let mut sim = configured();
    start(&mut sim, "AIR-1");
    sim.settle();
    let first = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    let t = first["tokensUsed"].as_u64().unwrap();
    let row = &exec_rows(&sim)[0];
    assert_eq!(
        t,
        row["tokensIn"].as_u64().unwrap() + row["tokensOut"].as_u64().unwrap(),
        "usage grows by the provider's reported tokens"
    );
    assert_eq!(first["status"], "OK");
    // A budget the month's use is 95 % of: WARNING, on every settings tab.
    let budget = t * 100 / 95;
    save_settings(&mut sim, json!({"monthlyTokenBudget": budget}));
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["status"], "WARNING");
    assert_eq!(u["budget"], budget);
    assert_eq!(u["percent"], 95);
    assert_eq!(u["banner"], true);
    let s = ok(&mut sim, "admin.ai.settings.get", json!({}), ADMIN);
    assert_eq!(s["usageStatus"], "WARNING");
    // Still under: the next step runs and pushes usage over.
    let second = start(&mut sim, "AIR-2");
    sim.settle();
    let calls = sim.state().llm.calls_to(ANTHROPIC);
    assert_eq!(calls, 2);
    assert_eq!(
        ok(&mut sim, "admin.ai.usage", json!({}), ADMIN)["status"],
        "EXHAUSTED"
    );
    // At 100 %: skipped, no provider call, counted as an AI error.
    let third = start(&mut sim, "AIR-3");
    sim.settle();
    let a = get(&mut sim, &third);
    assert_eq!(a["steps"][0]["status"], "FAIL");
    assert_eq!(a["steps"][0]["errorCode"], "BUDGET_EXHAUSTED");
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), calls);
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["executions"], 2);
    assert_eq!(u["errors"], 1);
    assert_eq!(u["definitions"][0]["definitionId"], "ai-path");
    assert_eq!(u["definitions"][0]["name"], "AI-assisted access");
    assert_eq!(u["definitions"][0]["errors"], 1);
    assert_eq!(u["definitions"][0]["executions"], 2);

    // A re-run counts against the budget (raise it first so the re-run may call).
    save_settings(&mut sim, json!({"monthlyTokenBudget": 10_000_000}));
    let before = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN)["tokensUsed"]
        .as_u64()
        .unwrap();
    ok(
        &mut sim,
        "ai.rerun",
        json!({"approvalId": second, "stepId": "s1"}),
        ADMIN,
    );
    sim.settle();
    let after = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN)["tokensUsed"]
        .as_u64()
        .unwrap();
    assert!(after > before, "{before} → {after}");

    // A new calendar month starts at zero and steps run again under the old budget.
    save_settings(&mut sim, json!({"monthlyTokenBudget": budget}));
    let month = u["month"].as_str().unwrap().to_string();
    sim.advance(32 * 86_400_000);
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_ne!(u["month"], month.as_str());
    assert_eq!(u["tokensUsed"], 0);
    assert_eq!(u["status"], "OK");
    let id = start(&mut sim, "AIR-4");
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "SUCCESS");
}

// covers: AP-205
#[test]
fn the_usage_table_sorts_by_any_column() {
    let mut sim = configured();
    ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {"id": "brief", "name": "Briefing", "description": "A short brief", "starters": {"mode": "anyone"},
        "steps": [{"name": "Brief", "type": "PROMPT", "parallelGroupNumber": 1, "promptTemplate": "builtin:summary"}]}}),
        ADMIN,
    );
    start(&mut sim, "AIR-1");
    start(&mut sim, "AIR-2");
    start_on(&mut sim, "brief", "AIR-3");
    sim.settle();
    let order = |sim: &mut Sim, p: Value| -> Vec<String> {
        ok(sim, "admin.ai.usage", p, ADMIN)["definitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["definitionId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        order(&mut sim, json!({"sort": "executions"})),
        ["ai-path", "brief"]
    );
    assert_eq!(
        order(&mut sim, json!({"sort": "executions", "direction": "asc"})),
        ["brief", "ai-path"]
    );
    assert_eq!(
        order(&mut sim, json!({"sort": "name"})),
        ["ai-path", "brief"],
        "AI-assisted access < Briefing"
    );
    assert_eq!(
        err(&mut sim, "admin.ai.usage", json!({"sort": "cost"}), ADMIN),
        "SORT_INVALID"
    );
}

fn failed_step_guidance(sim: &mut Sim, id: &str) -> Value {
    let e = ok(
        sim,
        "ai.execution",
        json!({"approvalId": id, "stepId": "s1"}),
        JONAS,
    );
    assert_eq!(e["status"], "FAIL", "{e}");
    e["guidance"].clone()
}

// covers: AP-156
#[test]
fn every_failure_has_a_guidance_category_for_its_panel() {
    // Budget reached: points to settings and says it resets monthly.
    let mut sim = configured();
    save_settings(&mut sim, json!({"monthlyTokenBudget": 1}));
    start(&mut sim, "AIR-1");
    sim.settle();
    let id = start(&mut sim, "AIR-2");
    sim.settle();
    let g = failed_step_guidance(&mut sim, &id);
    assert_eq!(g["category"], "budgetReached");
    assert_eq!(g["action"], "settings");
    assert!(g["message"].as_str().unwrap().contains("month"));

    // covers: CL-905
    // A settings-type failure names the exact admin screen and says who else can act.
    assert_eq!(
        g["screen"],
        "Jira settings → Apps → AI Clearance → Settings → AI → General"
    );
    assert!(g["others"].as_str().unwrap().contains("Jira administrator"));

    // No key saved (never set up, or the key is gone) → not configured. (Switched off on
    // purpose is not a failure: the step is skipped, `a_switched_off_ai_step_is_skipped…`.)
    let mut sim = configured();
    sim.state_mut().secrets.remove("ai-provider-key");
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let g = failed_step_guidance(&mut sim, &id);
    assert_eq!(g["category"], "notConfigured");
    assert!(
        g["message"]
            .as_str()
            .unwrap()
            .contains("Settings → AI → General"),
        "{g}"
    );

    // Provider faults: each code its own category.
    for (fault, category) in [
        (LlmFault::Unauthorized, "invalidKey"),
        (LlmFault::Timeout, "timeout"),
        (LlmFault::ContentFilter, "contentBlocked"),
        (LlmFault::MaxTokens, "outputTruncated"),
        (LlmFault::EmptyBody, "emptyResponse"),
    ] {
        let mut sim = configured();
        for _ in 0..2 {
            sim.state_mut().llm.plan("*", fault.clone());
        }
        let id = start(&mut sim, "AIR-1");
        sim.settle();
        sim.advance(5_000);
        let g = failed_step_guidance(&mut sim, &id);
        assert_eq!(g["category"], category, "{fault:?}: {g}");
    }

    // The job was lost: invite a re-run.
    let mut sim = configured();
    let id = start(&mut sim, "AIR-1");
    sim.state_mut().queue.clear();
    sim.advance(25 * 60 * 1000);
    let g = failed_step_guidance(&mut sim, &id);
    assert_eq!(g["category"], "jobLost");
    assert_eq!(g["action"], "rerun");
    // A lost job is an AI error in usage too, counted once.
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["errors"], 1);
    assert_eq!(u["executions"], 0);
}

// covers: AP-158
#[test]
fn the_inbox_gets_a_stable_cause_once_a_day_and_transient_ones_every_time() {
    let mut sim = configured();
    for issue in ["AIR-1", "AIR-2"] {
        sim.state_mut().llm.plan("*", LlmFault::Unauthorized);
        start(&mut sim, issue);
        sim.settle();
    }
    let inbox = |sim: &mut Sim| ok(sim, "admin.ai.inbox", json!({}), ADMIN)["items"].clone();
    assert_eq!(inbox(&mut sim).as_array().unwrap().len(), 1);
    // A day later the same cause is news again.
    sim.advance(25 * 3_600_000);
    sim.state_mut().llm.plan("*", LlmFault::Unauthorized);
    start(&mut sim, "AIR-3");
    sim.settle();
    let items = inbox(&mut sim);
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["code"] == "INVALID_KEY"));

    // Timeouts: in the inbox (and the log) every time they happen — the attempt the transient
    // retry then repeated too: two steps, two attempts each, four entries.
    let mut sim = configured();
    for issue in ["AIR-1", "AIR-2"] {
        for _ in 0..2 {
            sim.state_mut().llm.plan("*", LlmFault::Timeout);
        }
        start(&mut sim, issue);
        sim.settle();
        sim.advance(5_000);
    }
    let items = inbox(&mut sim);
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(items.iter().all(|i| i["code"] == "TIMEOUT"));
    let logged = sim
        .state()
        .logs
        .iter()
        .filter(|l| l.message.contains("AI Prompt step failed: TIMEOUT"))
        .count();
    assert_eq!(logged, 4);
}

/// A path that quotes PROMPT results from every kind of downstream step.
fn downstream_path(sim: &mut Sim) {
    ok(
        sim,
        "admin.definitions.save",
        json!({"definition": {"id": "chain", "name": "Chained analysis", "description": "Risk, then a brief that builds on it", "starters": {"mode": "anyone"},
        "steps": [
            {"name": "Risk", "type": "PROMPT", "parallelGroupNumber": 1, "promptTemplate": "builtin:risk"},
            {"name": "Brief", "type": "PROMPT", "parallelGroupNumber": 2, "promptTemplate": "builtin:summary"},
            {"name": "Early hook", "type": "HTTP", "parallelGroupNumber": 2, "method": "POST",
             "url": "https://hooks.ardsaor.io/early/${approval.id}",
             "headers": [["X-Model", "{{ promptSteps[\"Risk\"].model }}"], ["X-Provider", "{{ promptSteps[\"Risk\"].provider }}"]],
             "body": "risk=[{{ promptSteps[\"Risk\"].result }}] brief=[{{ promptSteps[\"Brief\"].result }}] at=[{{ promptSteps[\"Risk\"].executedAt }}] legacy=[${approval.name}|${issue.id}|${ref.id}|${collection.id}|${project.id}] new=[{{ approval.id }}|{{ approval.name }}|{{ approval.status }}|{{ issue.key }}|{{ approval.steps | length }}]"},
            {"name": "Note", "type": "AUTOMATION", "parallelGroupNumber": 3,
             "comment": "Brief for the approver: {{ promptSteps[\"Brief\"].result }} (from {{ approval.steps[1].name }})"},
            {"name": "Lead", "type": "USER", "parallelGroupNumber": 4, "approvers": [PRIYA]}
        ],
        "successSteps": [
            {"name": "Late hook", "type": "HTTP", "method": "POST", "url": "https://hooks.ardsaor.io/late",
             "body": "main=[{{ promptSteps[\"Risk\"].result }}] other=[{{ promptSteps[\"Why not\"].result }}]"},
            {"name": "Mail", "type": "EMAIL", "event": "APPROVAL_COMPLETED", "recipients": ["originator"]}
        ],
        "rejectionSteps": [
            {"name": "Why not", "type": "PROMPT", "promptTemplate": "builtin:summary"}
        ]}}),
        ADMIN,
    );
}

fn hook_body(sim: &Sim, path: &str) -> String {
    sim.state()
        .hook_inbox
        .iter()
        .find(|r| r.url.contains(path))
        .and_then(|r| r.body.clone())
        .unwrap_or_else(|| panic!("no call to {path}"))
}

// covers: AP-221, AP-222, AP-223, AP-224, AP-225, AP-226, AP-227, AP-229
#[test]
fn downstream_steps_quote_earlier_groups_of_their_own_phase_only() {
    let mut sim = configured();
    downstream_path(&mut sim);
    ok(
        &mut sim,
        "admin.messages.save",
        json!({"event": "APPROVAL_COMPLETED", "subject": "{{ appName }}: {{ approval.name }} {{ approval.status }}",
               "body": "to={{ activeUser }} by={{ approvalOriginator }} link={{ approvalLink }} pending={{ pendingApprovalsLink }} issue={{ issueLink }} step={{ stepDetails }} docs={{ approvalProcessDocumentationLink }} def={{ definition.name }} precedents={{ crossApprovals | length }} risk=[{{ promptSteps[\"Risk\"].result }}] model={{ promptSteps[\"Risk\"].model }} provider={{ promptSteps[\"Risk\"].provider }} at={{ promptSteps[\"Risk\"].executedAt }}"}),
        ADMIN,
    );
    let id = start_on(&mut sim, "chain", "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    let risk_teaser = a["steps"][0]["resultTeaser"].as_str().unwrap().to_string();
    assert_eq!(a["steps"][1]["status"], "SUCCESS");

    // HTTP in group 2: Risk (group 1) renders, Brief (same group) is empty; both syntaxes work.
    let early = hook_body(&sim, "/early/");
    assert!(early.contains("risk=[Risk Level:"), "{early}");
    assert!(
        early.contains("brief=[]"),
        "same-group step leaked: {early}"
    );
    assert!(!early.contains("at=[]"), "{early}");
    let issue_id = sim.state().site.issue("AIR-1").unwrap().id.clone();
    let legacy = early.split("legacy=[").nth(1).unwrap();
    let legacy: Vec<&str> = legacy[..legacy.find(']').unwrap()].split('|').collect();
    assert_eq!(
        legacy[..3],
        ["Chained analysis", issue_id.as_str(), issue_id.as_str()],
        "{early}"
    );
    assert_eq!(legacy[3], legacy[4], "collection.id is project.id");
    assert!(
        !legacy[3].is_empty() && legacy[3].chars().all(|c| c.is_ascii_digit()),
        "{early}"
    );
    assert!(
        early.contains(&format!("new=[{id}|Chained analysis|RUNNING|AIR-1|5]")),
        "{early}"
    );
    let call = sim
        .state()
        .hook_inbox
        .iter()
        .find(|r| r.url.contains("/early/"))
        .unwrap();
    assert!(call
        .headers
        .iter()
        .any(|(k, v)| k == "X-Model" && v == "claude-sonnet-4-6"));
    assert!(call
        .headers
        .iter()
        .any(|(k, v)| k == "X-Provider" && v == "anthropic"));

    // Automation in group 3 sees group 2's PROMPT (chaining).
    let comments = issue_comments(&sim, "AIR-1");
    assert!(
        comments
            .iter()
            .any(|c| c.starts_with("Brief for the approver: ")
                && c.len() > 60
                && c.ends_with("(from Brief (AI Prompt))")),
        "{comments:?}"
    );
    // The second PROMPT step's prompt carried the first one's output without interpolation.
    let brief_row = exec_rows(&sim)
        .into_iter()
        .find(|r| r["stepId"] == "s2")
        .unwrap();
    let first_line = risk_teaser.lines().next().unwrap();
    assert!(brief_row["prompt"].as_str().unwrap().contains(first_line));

    // Approve: successSteps cannot read the main phase or the rejection branch.
    ok(
        &mut sim,
        "approvals.decide",
        json!({"approvalId": id, "stepId": "s5", "decision": "approve"}),
        PRIYA,
    );
    sim.settle();
    let late = hook_body(&sim, "/late");
    assert_eq!(late, "main=[] other=[]");

    // The email template gets the message extras and promptSteps with provider and model.
    let outbox = ok(&mut sim, "admin.outbox.list", json!({}), ADMIN);
    let mail = outbox["emails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "APPROVAL_COMPLETED")
        .unwrap()
        .clone();
    assert_eq!(mail["subject"], "AI Clearance: Chained analysis APPROVED");
    let body = mail["body"].as_str().unwrap();
    // People by name, not by account id.
    assert!(!body.contains(JONAS), "{body}");
    for part in [
        "to=Jonas Lindqvist ",
        "by=Jonas Lindqvist ",
        "link=http",
        "pending=http",
        "issue=http",
        "step=Mail (Email):",
        "docs=http",
        "def=Chained analysis",
        "precedents=0",
        // Success steps quote their own phase only: the main phase's Risk is out of scope.
        "risk=[]",
    ] {
        assert!(body.contains(part), "{part} missing in {body}");
    }
}

// covers: AP-228, AP-236, AP-194, AP-195
#[test]
fn a_failed_prompt_renders_empty_downstream_and_still_fires_step_decision() {
    let mut sim = configured();
    downstream_path(&mut sim);
    sim.state_mut().llm.plan("*", LlmFault::Unauthorized);
    let id = start_on(&mut sim, "chain", "AIR-1");
    // While the analysis runs, the list says so (the page polls).
    let list = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-1"}),
        ADMIN,
    );
    assert_eq!(list["hasActivePromptStep"], true);
    assert_eq!(list["approvals"][0]["steps"][0]["status"], "ACTIVE");
    assert_eq!(
        list["approvals"][0]["steps"][0]["displayName"],
        "Risk (AI Prompt)"
    );
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "FAIL");
    let early = hook_body(&sim, "/early/");
    assert!(
        early.contains("risk=[]"),
        "a FAILed step renders empty: {early}"
    );
    assert!(early.contains("at=[]"), "{early}");
    // Outside the app (a Jira comment) a PROMPT step's name carries the qualifier.
    let comments = issue_comments(&sim, "AIR-1");
    assert!(
        comments
            .iter()
            .any(|c| c.contains("(from Brief (AI Prompt))")),
        "{comments:?}"
    );

    // A forced FAIL by the stuck-step cleanup is a completion too: STEP_DECISION fires.
    let mut sim = configured();
    let id = start(&mut sim, "AIR-2");
    sim.state_mut().queue.clear();
    sim.advance(25 * 60 * 1000);
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "FAIL");
    assert_eq!(a["hasActivePromptStep"], false);
    let fired: Vec<String> = prompt_step_decisions(&sim)
        .into_iter()
        .filter(|b| b.contains("FAIL"))
        .collect();
    assert_eq!(fired.len(), 1, "{:?}", sim.state().hook_inbox);
    // Outside the app, the step is named as an AI step.
    let list = ok(
        &mut sim,
        "approvals.forIssue",
        json!({"issueKey": "AIR-2"}),
        ADMIN,
    );
    assert_eq!(list["hasActivePromptStep"], false);
}

fn automation_comments(sim: &Sim, issue: &str, prefix: &str) -> Vec<String> {
    issue_comments(sim, issue)
        .into_iter()
        .filter(|c| c.contains(prefix))
        .collect()
}

// covers: AP-037, AP-228
#[test]
fn a_switched_off_ai_step_is_skipped_and_no_empty_ai_comment_is_posted() {
    // Issue 33 item 6: the kill switch promises "skipped, and the path continues without it".
    let mut sim = configured();
    save_settings(&mut sim, json!({"enabled": false}));
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    let risk = &a["steps"][0];
    assert_eq!(risk["status"], "SKIPPED", "{risk}");
    assert!(risk["errorCode"].is_null(), "{risk}");
    assert!(
        risk["skippedReason"]
            .as_str()
            .unwrap()
            .contains("switched off"),
        "{risk}"
    );
    assert_eq!(a["steps"][1]["status"], "ACTIVE", "the path continues");
    assert_eq!(sim.state().llm.calls_to(ANTHROPIC), 0);
    // Not an AI error: nothing in usage's errors or the admins' inbox.
    let u = ok(&mut sim, "admin.ai.usage", json!({}), ADMIN);
    assert_eq!(u["errors"], 0, "{u}");
    let inbox = ok(&mut sim, "admin.ai.inbox", json!({}), ADMIN);
    assert!(inbox["items"].as_array().unwrap().is_empty(), "{inbox}");
    // The automation that quotes the read ("AI read: {{ promptSteps["Risk"].result }}") posts
    // nothing, and says why on its step.
    assert!(
        automation_comments(&sim, "AIR-1", "AI read:").is_empty(),
        "{:?}",
        issue_comments(&sim, "AIR-1")
    );
    let share = &a["steps"][2];
    assert_eq!(share["status"], "SKIPPED", "{share}");
    assert!(
        share["skippedReason"]
            .as_str()
            .unwrap()
            .contains("“Risk”, which did not run (skipped)"),
        "{share}"
    );

    // A failed read (invalid key): no empty comment either.
    let mut sim = configured();
    sim.state_mut().llm.plan("*", LlmFault::Unauthorized);
    let id = start(&mut sim, "AIR-1");
    sim.settle();
    let a = get(&mut sim, &id);
    assert_eq!(a["steps"][0]["status"], "FAIL");
    assert!(automation_comments(&sim, "AIR-1", "AI read:").is_empty());
    assert!(a["steps"][2]["skippedReason"]
        .as_str()
        .unwrap()
        .contains("(failed)"));

    // And with a read, the comment is posted as before.
    let mut sim = configured();
    start(&mut sim, "AIR-1");
    sim.settle();
    let posted = automation_comments(&sim, "AIR-1", "AI read:");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].len() > "AI read: ".len() + 20, "{posted:?}");
}
