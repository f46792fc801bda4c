//! AI resolvers. Everything under Settings → AI is global-admin only; the approver-facing
//! execution route checks access to the approval and that the step belongs to it, and never
//! returns the assembled prompt, provider, model or tokens.

use super::{providers, settings, templates, usage, worker};
use crate::access;
use crate::approvals::{service as approvals, store};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation};
use crate::storage::Store;
use serde_json::{json, Value};

pub const RESOLVERS: &[&str] = &[
    "admin.ai.settings.get",
    "admin.ai.settings.save",
    "admin.ai.general.get",
    "admin.ai.dataSharing.get",
    "admin.ai.test",
    "admin.ai.models",
    "admin.ai.usage",
    "admin.ai.inbox",
    "admin.ai.executions",
    "admin.ai.templates.list",
    "admin.ai.templates.save",
    "admin.ai.templates.delete",
    "admin.ai.preview",
    "admin.ai.fields.refresh",
    "ai.stepForm",
    "ai.execution",
    "ai.rerun",
];

/// Estimated tokens (4 characters per token) and the warning threshold.
pub const TOKEN_WARNING: usize = 8_000;

fn field<'a>(p: &'a Value, name: &str) -> AppResult<&'a str> {
    p.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::invalid("FIELD_REQUIRED", format!("{name} is required")))
}

pub fn resolve(host: &dyn Host, inv: &Invocation, key: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    // The step form belongs to the definition editor, which is admin-only.
    if key.starts_with("admin.") || key == "ai.stepForm" {
        access::require_admin(host, inv)?;
    }
    let who = access::caller(inv)?;
    match key {
        "admin.ai.settings.get" => settings::view(host, &settings::load(store)?),
        "admin.ai.settings.save" => settings::view(host, &settings::save(host, who, p)?),
        // One resolver per Settings → AI tab: General, Data sharing, Prompt templates, Usage.
        "admin.ai.general.get" => tab(
            settings::view(host, &settings::load(store)?)?,
            &[
                "provider",
                "model",
                "models",
                "keyPageUrl",
                "keyFingerprint",
                "enabled",
                "monthlyTokenBudget",
                "temperature",
                "locale",
                "status",
                "usageStatus",
                "usagePercent",
            ],
        ),
        "admin.ai.dataSharing.get" => tab(
            settings::view(host, &settings::load(store)?)?,
            &[
                "piiSensitive",
                "includeComments",
                "includeAttachments",
                "includeLinkedItems",
                "includeSubtasks",
                "includePrecedents",
                "customFieldWhitelist",
                "allowAllCustomFields",
                "usageStatus",
                "usagePercent",
            ],
        ),
        "admin.ai.test" => settings::test_connection(host, p),
        "admin.ai.fields.refresh" => refresh_fields(host, store),
        "admin.ai.models" => {
            let pr = p
                .get("provider")
                .and_then(Value::as_str)
                .and_then(providers::Provider::parse)
                .ok_or_else(|| {
                    AppError::invalid(
                        "PROVIDER_INVALID",
                        "anthropic, openai, groq, openrouter or forge-llm",
                    )
                })?;
            Ok(
                json!({"provider": pr, "models": providers::curated_models(pr), "keyPageUrl": pr.key_page_url(), "customModelAllowed": true}),
            )
        }
        "admin.ai.usage" => usage_view(host, store, p),
        "admin.ai.inbox" => {
            let items = store.scan::<Value>(super::inbox::PREFIX, 200)?;
            Ok(json!({"items": items.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}))
        }
        "admin.ai.executions" => {
            let (a, _) = store::load(store, field(p, "approvalId")?)?;
            let step = prompt_step(&a, field(p, "stepId")?)?;
            let rows = executions(store, &a.id, &step.id)?;
            Ok(json!({"approvalId": a.id, "stepId": step.id, "executions": rows}))
        }
        "admin.ai.templates.list" => Ok(json!({"templates": templates::list(store)?})),
        "admin.ai.templates.save" => Ok(json!({"template": templates::save(host, who, p)?})),
        "admin.ai.templates.delete" => {
            let id = field(p, "id")?;
            templates::delete(store, who, id)?;
            Ok(json!({"deleted": id}))
        }
        "admin.ai.preview" => {
            // The exact prompt the worker would send, with no provider call and no budget use.
            let (a, _) = store::load(store, field(p, "approvalId")?)?;
            let s = settings::load(store)?;
            let body = match p.get("body").and_then(Value::as_str) {
                Some(b) => b.to_string(),
                None => templates::get(store, field(p, "templateId")?)?.body,
            };
            let step = match p.get("stepId").and_then(Value::as_str) {
                Some(id) => a
                    .find(id)
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| AppError::not_found("STEP_NOT_FOUND", "no such step"))?,
                None => a.steps.first().cloned().ok_or_else(|| {
                    AppError::not_found("STEP_NOT_FOUND", "the approval has no steps")
                })?,
            };
            let issue = worker::fetch_issue(host, &a.issue.key)?;
            let asm = worker::assemble(host, &a, &step, &s, &issue, &body)?;
            let tokens = asm.chars.div_ceil(4);
            Ok(
                json!({"system": asm.parts.system, "user": asm.parts.user_prompt(),
                      "characters": asm.chars, "estimatedTokens": tokens, "warning": tokens >= TOKEN_WARNING,
                      "tooLarge": asm.chars > worker::PROMPT_MAX_CHARS}),
            )
        }
        "ai.stepForm" => {
            let s = settings::load(store)?;
            Ok(
                json!({"blocked": settings::blocker(host, &s)?, "showCustomFieldPicker": !s.allow_all_custom_fields,
                      "templates": templates::list(store)?.into_iter().map(|t| json!({"id": t.id, "name": t.name, "builtin": t.builtin})).collect::<Vec<_>>()}),
            )
        }
        "ai.execution" => {
            let (a, _) = store::load(store, field(p, "approvalId")?)?;
            approvals::require_view(host, who, &a)?;
            let step = prompt_step(&a, field(p, "stepId")?)?;
            let admin = access::is_admin(host, who)?;
            let history = execution_history(store, &a.id, &step.id)?;
            let result = step.output.as_ref().and_then(|o| o.get("result")).cloned();
            let parsed = step.output.as_ref().and_then(|o| o.get("parsed")).cloned();
            Ok(
                json!({"stepId": step.id, "name": step.name, "status": step.status, "executedAt": step.executed_at,
                      "result": result, "parsed": parsed, "resultTeaser": step.result_teaser,
                      "errorCode": step.error_code, "errorMessage": step.error_message,
                      "guidance": super::result::guidance(step.error_code.as_deref(), step.error_message.as_deref()),
                      "canRerun": admin || a.originator == who, "canAudit": admin, "history": history}),
            )
        }
        "ai.rerun" => {
            // Originator and Jira administrators only; uses the current settings and issue.
            let id = field(p, "approvalId")?;
            let step_id = field(p, "stepId")?;
            let (a, _) = store::load(store, id)?;
            approvals::require_view(host, who, &a)?;
            if a.originator != who && !access::is_admin(host, who)? {
                return Err(AppError::forbidden(
                    "NOT_ORIGINATOR",
                    "only whoever started the approval or a Jira administrator can re-run the analysis",
                ));
            }
            let now = host.now_ms();
            let (a, _) = store::transition(
                host,
                id,
                &mut |a, _| crate::approvals::engine::rerun(a, step_id, now),
                &|_| Ok(()),
            )?;
            approvals::view(host, &a).map(|v| json!({"approval": v}))
        }
        other => Err(AppError::not_found(
            "UNKNOWN_FUNCTION",
            format!("no resolver function {other:?}"),
        )),
    }
}

/// The AI Prompt step `step_id` of `a`; any other step, or none, is not found.
fn prompt_step<'a>(
    a: &'a crate::approvals::model::Approval,
    step_id: &str,
) -> AppResult<&'a crate::approvals::model::Step> {
    a.find(step_id)
        .map(|(_, st)| st)
        .filter(|st| st.step_type == crate::approvals::definition::StepType::Prompt)
        .ok_or_else(|| {
            AppError::not_found("STEP_NOT_FOUND", "no such AI Prompt step in this approval")
        })
}

/// Every provider call of one step (each run, each retried try), newest first.
fn executions(
    store: Store<'_>,
    approval_id: &str,
    step_id: &str,
) -> AppResult<Vec<worker::Execution>> {
    let prefix = format!("{}{approval_id}.{step_id}.", worker::EXEC_PREFIX);
    let mut rows: Vec<worker::Execution> = store
        .scan::<worker::Execution>(&prefix, 200)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    rows.sort_by_key(|e| (std::cmp::Reverse(e.at_ms), std::cmp::Reverse(e.attempt)));
    Ok(rows)
}

/// The step's provider calls for the result dialog, newest first: when, outcome, error code and
/// the first 2,000 characters of the answer. Never the assembled prompt, the provider, the model
/// or token counts (those stay in the admin-only rows of `admin.ai.executions`).
fn execution_history(store: Store<'_>, approval_id: &str, step_id: &str) -> AppResult<Vec<Value>> {
    Ok(executions(store, approval_id, step_id)?
        .iter()
        .map(|e| {
            json!({"executedAt": crate::time::rfc3339(e.at_ms),
                   "status": if e.error_code.is_none() { "SUCCESS" } else { "FAIL" },
                   "errorCode": e.error_code, "attempt": e.attempt, "retried": e.retried,
                   "resultTeaser": e.response.chars().take(2_000).collect::<String>()})
        })
        .collect())
}

/// Data sharing → Refresh: re-reads Jira's custom fields (`GET /rest/api/3/field`) so the admin
/// can pick the whitelist by name; each says whether it is whitelisted now.
fn refresh_fields(host: &dyn Host, store: Store<'_>) -> AppResult<Value> {
    let resp = host.jira(
        crate::host::Principal::App,
        &crate::host::HttpRequest::get("/rest/api/3/field"),
    )?;
    if resp.status != 200 {
        return Err(AppError::new(
            crate::error::ErrorKind::Unavailable,
            "JIRA_UNAVAILABLE",
            format!("Jira answered {} listing fields", resp.status),
        ));
    }
    let all: Vec<Value> = serde_json::from_str(&resp.body).unwrap_or_default();
    let s = settings::load(store)?;
    let mut fields: Vec<Value> = all
        .iter()
        .filter(|f| f["custom"].as_bool() == Some(true))
        .filter_map(|f| {
            let id = f["id"].as_str()?;
            Some(json!({"id": id, "name": f["name"].as_str().unwrap_or(id),
                        "whitelisted": s.allow_all_custom_fields || s.custom_field_whitelist.iter().any(|w| w == id)}))
        })
        .collect();
    fields.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(json!({"fields": fields, "allowAll": s.allow_all_custom_fields}))
}

/// Settings → AI → Usage: the current month against the budget, and a per-approval-path table
/// sorted by `sort` (`tokens` | `executions` | `errors` | `name`) and `direction` (`asc` | `desc`).
fn usage_view(host: &dyn Host, store: Store<'_>, p: &Value) -> AppResult<Value> {
    let s = settings::load(store)?;
    let u = usage::load(host)?;
    let (pct, status) = usage::status(u.tokens, s.monthly_token_budget);
    let sort = p.get("sort").and_then(Value::as_str).unwrap_or("tokens");
    if !["tokens", "executions", "errors", "name"].contains(&sort) {
        return Err(AppError::invalid(
            "SORT_INVALID",
            "sort is one of tokens, executions, errors, name",
        ));
    }
    let desc = match p.get("direction").and_then(Value::as_str) {
        None => sort != "name",
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            return Err(AppError::invalid(
                "SORT_INVALID",
                "direction is asc or desc",
            ))
        }
    };
    let ids: std::collections::BTreeSet<&String> = u
        .by_definition
        .keys()
        .chain(u.executions_by_definition.keys())
        .chain(u.errors_by_definition.keys())
        .collect();
    let keys: Vec<String> = ids.iter().map(|id| store::definition_key(id)).collect();
    let names: std::collections::BTreeMap<String, String> = store
        .get_many::<Value>(&keys)?
        .into_iter()
        .filter_map(|(_, d)| {
            Some((
                d.get("id")?.as_str()?.to_string(),
                d.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let n = |m: &std::collections::BTreeMap<String, u64>, id: &str| m.get(id).copied().unwrap_or(0);
    let mut rows: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"definitionId": id, "name": names.get(*id).cloned().unwrap_or_else(|| (*id).clone()),
                   "tokens": n(&u.by_definition, id), "executions": n(&u.executions_by_definition, id),
                   "errors": n(&u.errors_by_definition, id)})
        })
        .collect();
    rows.sort_by(|a, b| {
        let o = if sort == "name" {
            a["name"].as_str().cmp(&b["name"].as_str())
        } else {
            a[sort].as_u64().cmp(&b[sort].as_u64())
        };
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| a["definitionId"].as_str().cmp(&b["definitionId"].as_str()))
    });
    Ok(
        json!({"month": u.month, "tokensUsed": u.tokens, "budget": s.monthly_token_budget, "percent": pct,
              "status": status, "banner": status != "OK", "executions": u.executions, "errors": u.errors,
              "definitions": rows, "sort": sort, "direction": if desc { "desc" } else { "asc" },
              "usage": u}),
    )
}

/// The fields of one settings tab.
fn tab(view: Value, fields: &[&str]) -> AppResult<Value> {
    Ok(Value::Object(
        fields
            .iter()
            .filter_map(|f| view.get(*f).map(|v| ((*f).to_string(), v.clone())))
            .collect(),
    ))
}
