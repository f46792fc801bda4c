//! The PROMPT step worker (`prompt-steps` queue): assemble the privacy-scrubbed prompt, call the
//! provider with no storage lock held, record the execution, then complete the step in a
//! separate short transition (ACTIVE → SUCCESS | FAIL) that advances the path.
//!
//! Crash safety: the execution row `prompt-exec:<effect id>` is written (with the usage) before
//! the step is completed. A redelivered job that finds a successful row reuses it instead of
//! calling — and billing — the provider again.

use super::privacy::Scrubber;
use super::providers::{self, Completion as ProviderCompletion, ErrorCode, PromptParts, Provider};
use super::prune::{self, PruneOptions};
use super::settings::{self, AiSettings};
use super::system::{self, SystemPromptOptions, REQUEST_MARKER};
use super::{builtins, precedents, result, templates, usage};
use crate::approvals::definition::StepConfig;
use crate::approvals::engine::Completion;
use crate::approvals::model::{Approval, Step, StepStatus};
use crate::approvals::store::{self, Effect};
use crate::approvals::{effects, olivlang, views};
use crate::error::{AppError, AppResult};
use crate::host::{Host, HostError, HttpRequest, Level};
use crate::jira::{self, Jira};
use crate::storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Hard cap on the assembled prompt (system + user), in characters.
pub const PROMPT_MAX_CHARS: usize = 200_000;
pub const MAX_OUTPUT_TOKENS: u32 = 1_500;
/// Transient provider failures are retried once, after at least this long.
pub const TRANSIENT_RETRY_S: u32 = 2;
/// Execution rows are kept this long (the daily cleanup prunes older ones).
pub const EXECUTION_RETENTION_DAYS: u64 = 90;

pub fn exec_key(effect_id: &str) -> String {
    format!("prompt-exec:{effect_id}")
}
pub const EXEC_PREFIX: &str = "prompt-exec:";
/// Time index of execution rows, for the 90-day retention sweep.
pub fn exec_at_key(at_ms: u64, effect_id: &str) -> String {
    format!("prompt-exec-at:{at_ms:013}:{effect_id}")
}
pub const EXEC_AT_PREFIX: &str = "prompt-exec-at:";

/// One provider call (admin-only: it holds the scrubbed prompt and the response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub id: String,
    pub approval_id: String,
    pub step_id: String,
    pub definition_id: String,
    pub provider: Provider,
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub latency_ms: u64,
    pub error_code: Option<ErrorCode>,
    pub response: String,
    /// The assembled, PII-scrubbed prompt that was sent.
    pub prompt: String,
    pub at_ms: u64,
}

pub struct Assembled {
    pub parts: PromptParts,
    pub chars: usize,
}

fn scrub_value(v: &mut Value, s: &Scrubber) {
    match v {
        Value::String(t) => *t = s.scrub_text(t),
        Value::Array(a) => a.iter_mut().for_each(|x| scrub_value(x, s)),
        Value::Object(o) => o.values_mut().for_each(|x| scrub_value(x, s)),
        _ => {}
    }
}

fn days_ago(now_ms: u64, at: Option<&str>) -> Value {
    at.and_then(crate::time::parse)
        .map(|t| json!(now_ms.saturating_sub(t) / 86_400_000))
        .unwrap_or(Value::Null)
}

/// The prompt body a step runs: its own body, else its template's.
pub fn step_body(host: &dyn Host, step: &Step) -> AppResult<String> {
    let StepConfig::Prompt {
        prompt_template,
        body,
        ..
    } = &step.config
    else {
        return Err(AppError::internal("NOT_A_PROMPT_STEP", "a bug"));
    };
    if !body.trim().is_empty() {
        return Ok(body.clone());
    }
    match prompt_template.as_deref() {
        None | Some("") => Ok(String::new()),
        Some(id) if builtins::is_builtin_id(id) => {
            Ok(builtins::builtin(id).expect("checked").body.to_string())
        }
        Some(id) => Ok(templates::get(Store::new(host), id)?.body),
    }
}

/// Builds exactly what the provider receives (also what the admin preview shows).
pub fn assemble(
    host: &dyn Host,
    a: &Approval,
    step: &Step,
    s: &AiSettings,
    issue: &Value,
    body: &str,
) -> AppResult<Assembled> {
    let now = host.now_ms();
    let mut scrub = Scrubber::new(s.pii_sensitive);
    // People we know by account id: the issue's users and everyone named on the approval.
    for path in ["/fields/reporter", "/fields/assignee", "/fields/creator"] {
        if let Some(u) = issue.pointer(path) {
            if let Some(id) = u.get("accountId").and_then(Value::as_str) {
                scrub.register_user(
                    id,
                    u.get("displayName").and_then(Value::as_str).unwrap_or(""),
                    u.get("emailAddress").and_then(Value::as_str),
                );
            }
        }
    }
    let mut people: Vec<String> = vec![a.originator.clone()];
    for (_, st) in a.all_steps() {
        people.extend(st.decisions.iter().map(|d| d.decider.clone()));
        people.extend(st.decisions.iter().filter_map(|d| d.on_behalf_of.clone()));
        if let StepConfig::User { approvers, .. } = &st.config {
            people.extend(approvers.iter().cloned());
        }
    }
    // Precedent approvals of the same definition, only when the tenant shares them.
    let cross = if s.include_precedents {
        let (list, named) = precedents::cross_approvals(Store::new(host), a)?;
        people.extend(named);
        list
    } else {
        Vec::new()
    };
    for p in people {
        scrub.register_user(&p, "", None);
    }
    let step_fields = match &step.config {
        StepConfig::Prompt { custom_fields, .. } if !custom_fields.is_empty() => {
            Some(custom_fields.clone())
        }
        _ => None,
    };
    let opts = PruneOptions {
        include_comments: s.include_comments,
        include_attachments: s.include_attachments,
        include_linked: s.include_linked_items,
        include_subtasks: s.include_subtasks,
        allow_all_custom_fields: s.allow_all_custom_fields,
        whitelist: s.custom_field_whitelist.clone(),
        step_fields: if s.allow_all_custom_fields {
            None
        } else {
            step_fields
        },
        pii_mode: s.pii_sensitive,
    };
    let work_item = prune::prune_issue(issue, &opts, &mut scrub);
    // Approval data: every exposed field plus time signals; earlier results by teaser.
    let mut approval = views::approval(a);
    approval["startedDaysAgo"] = days_ago(now, Some(&a.started_at));
    approval["currentStepDaysAgo"] = days_ago(now, a.current_step_activated_at.as_deref());
    approval["definition"] = json!({"name": a.definition_name,
        "description": prune::truncate_chars(&a.definition_description, 2_000),
        "purpose": prune::truncate_chars(&a.definition_description, 2_000)});
    approval["crossApprovals"] = Value::Array(cross);
    if let Some(o) = approval.as_object_mut() {
        o.remove("originator");
    }
    scrub_value(&mut approval, &scrub);
    // The admin's body, rendered through OlivLang, scrubbed like everything else.
    let (phase, _) = a.find(&step.id).expect("the step is on the approval");
    let ctx = json!({
        "approval": approval,
        "issue": issue,
        "definition": approval["definition"],
        "crossApprovals": approval["crossApprovals"],
        "promptSteps": effects::prompt_steps_for(a, phase, step.parallel_group_number),
    });
    let rendered = olivlang::render(body, &ctx)
        .map_err(|e| AppError::invalid("TEMPLATE_ERROR", e.to_string()))?;
    let rendered = scrub.scrub_text(&rendered);
    let system = system::system_prompt(&SystemPromptOptions {
        locale: s.locale.clone(),
        customer_facing: issue
            .pointer("/fields/customfield_10010/requestType")
            .is_some(),
        pii_mode: s.pii_sensitive,
    });
    // Data first (untrusted, above the marker), then the admin's instructions. The work item
    // changes least between runs, so the cache boundary follows it.
    let cacheable_prefix = format!(
        "### Work Item / Content Data\n```json\n{}\n```\n",
        serde_json::to_string_pretty(&work_item).expect("json")
    );
    let mut tail = format!(
        "### Approval Data\n```json\n{}\n```\n\n",
        serde_json::to_string_pretty(&approval).expect("json")
    );
    if !rendered.contains(REQUEST_MARKER) {
        tail.push_str(REQUEST_MARKER);
        tail.push('\n');
    }
    tail.push_str(&rendered);
    let chars = system.chars().count() + cacheable_prefix.chars().count() + tail.chars().count();
    Ok(Assembled {
        parts: PromptParts {
            system,
            cacheable_prefix,
            tail,
        },
        chars,
    })
}

/// The issue as the prompt sees it: every field, human names for custom fields.
pub fn fetch_issue(host: &dyn Host, key: &str) -> AppResult<Value> {
    Jira::new(host)
        .request_app(&format!(
            "/rest/api/3/issue/{}?fields=*all&expand=names",
            jira::encode(key)
        ))
        .map_err(store::jira_error)
}

fn fail(code: ErrorCode, message: impl Into<String>) -> Completion {
    Completion {
        ok: false,
        error_code: Some(code.as_str().into()),
        error_message: Some(message.into()),
        ..Completion::default()
    }
}

/// Queue consumer for `prompt-steps`.
pub fn run(host: &dyn Host, effect_id: &str) -> AppResult<Option<u32>> {
    let s = Store::new(host);
    let Some(mut effect) = s.get::<Effect>(&store::effect_key(effect_id))? else {
        return Ok(None);
    };
    let (a, _) = store::load(s, &effect.approval_id)?;
    let Some(step) = a
        .find(&effect.step_id)
        .map(|(_, st)| st.clone())
        .filter(|st| st.status == StepStatus::Active && st.run == effect.run)
    else {
        s.delete(&store::effect_key(effect_id))?;
        return Ok(None);
    };
    // Crash mid-flight: a recorded execution is reused, never re-billed.
    if let Some(done) = s.get::<Execution>(&exec_key(effect_id))? {
        host.log(
            Level::Info,
            &format!("prompt {effect_id}: reusing the recorded execution"),
        );
        return effects::finish(host, &effect, completion_of(&done));
    }
    let settings = settings::load(s)?;
    if let Some(why) = settings::blocker(host, &settings)? {
        let (code, msg) = match why {
            "OVER_BUDGET" => (
                ErrorCode::BudgetExhausted,
                "the monthly AI token budget is used up",
            ),
            _ => (
                ErrorCode::Misconfigured,
                "AI Prompt steps are not configured or are disabled (Settings → AI)",
            ),
        };
        super::inbox::record(host, code)?;
        return fail_uncalled(host, &effect, &a.definition_id, fail(code, msg));
    }
    let issue = fetch_issue(host, &a.issue.key)?;
    let body = step_body(host, &step)?;
    let assembled = match assemble(host, &a, &step, &settings, &issue, &body) {
        Ok(x) => x,
        Err(e) if e.code == "TEMPLATE_ERROR" => {
            return fail_uncalled(
                host,
                &effect,
                &a.definition_id,
                fail(ErrorCode::Other, e.message),
            );
        }
        Err(e) => return Err(e),
    };
    if assembled.chars > PROMPT_MAX_CHARS {
        return fail_uncalled(
            host,
            &effect,
            &a.definition_id,
            fail(
                ErrorCode::PromptTooLarge,
                format!(
                    "the prompt would be {} characters (limit {PROMPT_MAX_CHARS}); trim the template or narrow the data sharing settings",
                    assembled.chars
                ),
            ),
        );
    }
    let api_key = host
        .secret_get(settings::API_KEY_SECRET)?
        .ok_or_else(|| AppError::invalid("NO_API_KEY", "no API key"))?;
    let req: HttpRequest = providers::build_request(
        settings.provider,
        &settings.model,
        &api_key,
        settings.temperature,
        MAX_OUTPUT_TOKENS,
        &assembled.parts,
    );
    // The record of this attempt first, so a retry knows how many tries were made.
    effect.attempts += 1;
    s.put(&store::effect_key(effect_id), &effect)?;
    let started = host.now_ms();
    let outcome: Result<ProviderCompletion, providers::ProviderFailure> = match host.fetch(&req) {
        Ok(r) => providers::parse_response(settings.provider, &r),
        Err(HostError::Timeout) => Err(providers::ProviderFailure::new(ErrorCode::Timeout)),
        Err(HostError::Forbidden(_)) => {
            Err(providers::ProviderFailure::new(ErrorCode::Misconfigured))
        }
        Err(_) => Err(providers::ProviderFailure::new(ErrorCode::Unavailable)),
    };
    if let Err(f) = &outcome {
        if f.code.is_transient() && effect.attempts < 2 {
            return Ok(Some(f.retry_after_s.unwrap_or(0).max(TRANSIENT_RETRY_S)));
        }
    }
    let prompt_text = format!(
        "{}\n\n{}{}",
        assembled.parts.system, assembled.parts.cacheable_prefix, assembled.parts.tail
    );
    let exec = match &outcome {
        Ok(c) => Execution {
            id: effect_id.into(),
            approval_id: a.id.clone(),
            step_id: step.id.clone(),
            definition_id: a.definition_id.clone(),
            provider: settings.provider,
            model: if c.model.is_empty() {
                settings.model.clone()
            } else {
                c.model.clone()
            },
            tokens_in: c.tokens_in,
            tokens_out: c.tokens_out,
            latency_ms: host.now_ms().saturating_sub(started),
            error_code: None,
            response: c.text.clone(),
            prompt: prompt_text,
            at_ms: host.now_ms(),
        },
        Err(f) => Execution {
            id: effect_id.into(),
            approval_id: a.id.clone(),
            step_id: step.id.clone(),
            definition_id: a.definition_id.clone(),
            provider: settings.provider,
            model: settings.model.clone(),
            tokens_in: f.tokens_in,
            tokens_out: f.tokens_out,
            latency_ms: host.now_ms().saturating_sub(started),
            error_code: Some(f.code),
            response: f.message.clone(),
            prompt: prompt_text,
            at_ms: host.now_ms(),
        },
    };
    // The row and the usage land together: after this, a redelivery reuses the row.
    let row_key = exec_key(effect_id);
    usage::add(
        host,
        &a.definition_id,
        &a.id,
        usage::Spend {
            tokens: exec.tokens_in + exec.tokens_out,
            called: true,
            failed: exec.error_code.is_some(),
        },
        &|tx| {
            tx.set(&row_key, &exec)?;
            tx.set(
                &exec_at_key(exec.at_ms, effect_id),
                &json!({"id": effect_id}),
            )?;
            Ok(())
        },
    )?;
    if let Some(code) = exec.error_code {
        super::inbox::record(host, code)?;
    }
    effects::finish(host, &effect, completion_of(&exec))
}

fn completion_of(e: &Execution) -> Completion {
    match e.error_code {
        None => {
            let parsed = result::parse(&e.response);
            Completion {
                ok: true,
                result_teaser: Some(result::teaser_2000(&e.response)),
                error_code: None,
                error_message: None,
                output: Some(json!({
                    "result": e.response,
                    "provider": e.provider,
                    "model": e.model,
                    "parsed": parsed,
                })),
            }
        }
        Some(code) => fail(code, e.response.clone()),
    }
}

/// Daily: deletes execution rows older than 90 days, oldest first, through the time index.
pub fn prune_executions(host: &dyn Host) -> AppResult<u64> {
    let store = Store::new(host);
    let cutoff = host
        .now_ms()
        .saturating_sub(EXECUTION_RETENTION_DAYS * 86_400_000);
    let mut pruned = 0;
    for _ in 0..50 {
        let page = store.page::<Value>(EXEC_AT_PREFIX, None, 20)?;
        if page.items.is_empty() {
            break;
        }
        let mut tx = store.tx();
        let mut any = false;
        for (k, v) in &page.items {
            if crate::storage::index_ms(k) >= cutoff {
                break;
            }
            let id = v.get("id").and_then(Value::as_str).unwrap_or("");
            tx.delete(k)?;
            tx.delete(&exec_key(id))?;
            pruned += 1;
            any = true;
            if tx.len() >= 24 {
                break;
            }
        }
        if !any {
            break;
        }
        tx.commit()?;
        if host.remaining_ms() < 5_000 {
            break;
        }
    }
    Ok(pruned)
}

/// Message of a step force-failed by the stuck-step cleanup (the UI invites a re-run).
pub const LOST_JOB_MESSAGE: &str = "background job was lost; re-run the analysis";

/// Force-fails an ACTIVE PROMPT step whose job was lost (the 5-minute safety net).
pub fn force_fail_lost(
    host: &dyn Host,
    effect: &Effect,
    definition_id: &str,
) -> AppResult<Option<u32>> {
    fail_uncalled(
        host,
        effect,
        definition_id,
        fail(ErrorCode::Other, LOST_JOB_MESSAGE),
    )
}

/// A run that failed without a provider call still counts as an AI error in usage — once: the
/// job record's flag is written in the usage transaction — and then completes the step.
fn fail_uncalled(
    host: &dyn Host,
    effect: &Effect,
    definition_id: &str,
    c: Completion,
) -> AppResult<Option<u32>> {
    let mut effect = effect.clone();
    if !effect.failure_counted {
        effect.failure_counted = true;
        let key = store::effect_key(&effect.id);
        let spend = usage::Spend {
            tokens: 0,
            called: false,
            failed: true,
        };
        usage::add(host, definition_id, &effect.approval_id, spend, &|tx| {
            tx.set(&key, &effect)?;
            Ok(())
        })?;
    }
    effects::finish(host, &effect, c)
}
