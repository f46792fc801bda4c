//! The AI Prompt test fixture: AI configured with a valid key at the emulated provider and a
//! path whose first group is a risk assessment.
#![allow(dead_code)]

use super::*;
use host_sim::Sim;
use serde_json::{json, Value};

pub const PRIYA: &str = "5dcd5fe52bbec7f9dfdb4be0";
pub const CHLOE: &str = "712020:1da71dc4-ac1b-595b-9c64-d53b508953da";
pub const KEY: &str = "sk-ant-api03-test-key-1234abcd";
pub const ANTHROPIC: &str = "api.anthropic.com";

/// AI configured (Anthropic, valid key at the emulated provider) and a path whose first group
/// is a risk assessment, followed by an approver and an automation that quotes the result.
pub fn configured() -> Sim {
    let mut sim = wasm();
    sim.state_mut().llm.add_key("anthropic", KEY);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"provider": "anthropic", "model": "claude-sonnet-4-6", "apiKey": KEY, "enabled": true, "monthlyTokenBudget": 1_000_000}),
        ADMIN,
    );
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.definitions.save",
        json!({"definition": {"id": "ai-path", "name": "AI-assisted access", "description": "Decide AI tool requests with a risk read first",
        "starters": {"mode": "groups", "groups": ["engineering"]},
        "steps": [
            {"name": "Risk", "type": "PROMPT", "parallelGroupNumber": 1, "promptTemplate": "builtin:risk"},
            {"name": "Lead", "type": "USER", "parallelGroupNumber": 2, "approvers": [PRIYA]},
            {"name": "Share", "type": "AUTOMATION", "parallelGroupNumber": 2,
             "comment": "AI read: {{ promptSteps[\"Risk\"].result }}"}
        ]}}),
        ADMIN,
    );
    sim
}

/// Jonas starts the `ai-path` approval on `issue`; its id.
pub fn start(sim: &mut Sim, issue: &str) -> String {
    start_on(sim, "ai-path", issue)
}

/// Jonas starts an approval of `definition` on `issue`; its id.
pub fn start_on(sim: &mut Sim, definition: &str, issue: &str) -> String {
    ok(
        sim,
        "approvals.start",
        json!({"definitionId": definition, "issueKey": issue}),
        JONAS,
    )["approval"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn get(sim: &mut Sim, id: &str) -> Value {
    ok(sim, "webapi.v2.approvals.get", json!({"id": id}), ADMIN)
}

pub fn exec_rows(sim: &Sim) -> Vec<Value> {
    sim.state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("prompt-exec:"))
        .map(|(_, v)| serde_json::from_str(&v.value).unwrap())
        .collect()
}

/// Bodies of the STEP_DECISION webhooks delivered for PROMPT steps.
pub fn prompt_step_decisions(sim: &Sim) -> Vec<String> {
    sim.state()
        .hook_inbox
        .iter()
        .filter(|r| {
            r.headers
                .iter()
                .any(|(k, v)| k == "X-AIClearance-Event" && v == "STEP_DECISION")
        })
        .filter_map(|r| r.body.clone())
        .filter(|b| b.contains("\"PROMPT\""))
        .collect()
}
