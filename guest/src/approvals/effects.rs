//! Runs the side effect of an ACTIVE informational step, then completes the step in a separate,
//! short transition. Each effect is idempotent by its record id, so a redelivered or re-run job
//! never acts twice:
//! - AUTOMATION: the Jira comment carries the entity property `aiclearance.effect = <id>`; a
//!   retry looks for it before posting again.
//! - HTTP: the request carries `Idempotency-Key: <id>` for the receiver.
//! - EMAIL: the outbox record is keyed by the id and created only if absent.
//! - PROMPT: handed to the AI Prompt worker (`prompt-steps` queue).

use super::definition::{Phase, StepConfig};
use super::email::{self, OutboxEmail, Recipient};
use super::engine::{self, Completion};
use super::model::{Approval, StepStatus};
use super::store::{self, Effect, LiveEval};
use super::{olivlang, views};
use crate::adf;
use crate::error::{AppError, AppResult};
use crate::host::{Host, HostError, HttpRequest, Level};
use crate::jira::{self, Jira, JiraError};
use crate::storage::Store;
use serde_json::{json, Value};

pub const COMMENT_PROPERTY: &str = "aiclearance.effect";
/// Bytes of an HTTP step's response kept on the step.
pub const HTTP_RESPONSE_MAX: usize = 2_048;
/// Attempts for a transient failure of an effect before the step is failed.
pub const MAX_ATTEMPTS: u32 = 4;
pub const PROMPT_QUEUE: &str = "prompt-steps";

pub fn outbox_key(effect_id: &str) -> String {
    format!("email-outbox:{effect_id}")
}
pub const OUTBOX_PREFIX: &str = "email-outbox:";

enum Ran {
    Done(Completion),
    /// Try again later (seconds).
    Retry(u32),
}

/// How long one delivery may hold an effect (a comment, an HTTP call, an email).
pub const LEASE_S: u64 = 120;

/// Queue consumer for `approval-effects`. `Ok(Some(s))` asks for redelivery in `s` seconds.
/// Under a lease: two deliveries running at once would both find no marker and both act.
pub fn run(host: &dyn Host, effect_id: &str) -> AppResult<Option<u32>> {
    let s = Store::new(host);
    if s.get_raw(&store::effect_key(effect_id))?.is_none() {
        return Ok(None); // finished already: a duplicate delivery
    }
    let lease = crate::storage::keys::effect_lease(effect_id);
    crate::storage::lease::hold(s, &lease, LEASE_S, host.now_ms(), || {
        run_held(host, effect_id)
    })
}

fn run_held(host: &dyn Host, effect_id: &str) -> AppResult<Option<u32>> {
    let s = Store::new(host);
    let key = store::effect_key(effect_id);
    let Some(raw) = s.get_raw(&key)? else {
        return Ok(None); // finished already: a duplicate delivery
    };
    let mut effect: Effect = crate::storage::decode(&key, &raw)?;
    let (a, _) = match store::load(s, &effect.approval_id) {
        Ok(x) => x,
        Err(e) if e.code == "APPROVAL_NOT_FOUND" => {
            s.delete(&key)?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let step = a.find(&effect.step_id).map(|(_, st)| st.clone());
    let Some(step) = step.filter(|st| st.status == StepStatus::Active && st.run == effect.run)
    else {
        // The path moved on (rejected, cancelled, re-run): this job is stale.
        s.delete(&key)?;
        return Ok(None);
    };
    if matches!(step.config, StepConfig::Prompt { .. }) {
        // The AI Prompt worker owns this job from here (and counts its own attempts).
        host.queue_push(
            PROMPT_QUEUE,
            &[json!({"effectId": effect.id}).to_string()],
            0,
        )?;
        return Ok(None);
    }
    // Record the attempt before acting, so a retry knows it may have acted already — as a
    // compare-and-set: of two deliveries running at once only one may act; the other comes
    // back and finds the attempt (and looks for what it did) or the effect finished.
    effect.attempts += 1;
    effect.queued_ms = host.now_ms();
    let mut tx = s.tx();
    tx.set_if_current(&key, &effect, Some(&raw))?;
    match tx.commit() {
        Ok(()) => {}
        Err(crate::storage::StorageError::Conflict(_)) => return Ok(Some(5)),
        Err(e) => return Err(e.into()),
    }
    let mut eval = LiveEval::new(host, &a);
    let ran = match &step.config {
        StepConfig::Automation {
            comment,
            transition,
        } => automation(host, &a, &effect, &mut eval, comment, transition.as_deref()),
        StepConfig::Http {
            method,
            url,
            headers,
            body,
        } => http(
            host,
            &a,
            &effect,
            &mut eval,
            method,
            url,
            headers,
            body.as_deref(),
        ),
        StepConfig::Email { event, recipients } => {
            email_step(host, &a, &effect, &mut eval, event, recipients)
        }
        // PROMPT jobs were handed to their worker above; human steps have no effect.
        StepConfig::Prompt { .. } | StepConfig::User { .. } | StepConfig::Group { .. } => {
            return Err(AppError::internal("EFFECT_NOT_RUNNABLE", "a bug"))
        }
    };
    let ran = match ran {
        Ok(r) => r,
        // Template and data problems fail the step; they never stall the path.
        Err(e)
            if e.kind != crate::error::ErrorKind::Unavailable
                && e.kind != crate::error::ErrorKind::RateLimited =>
        {
            Ran::Done(Completion {
                ok: false,
                error_code: Some(e.code.clone()),
                error_message: Some(e.message.clone()),
                ..Completion::default()
            })
        }
        Err(e) => Ran::Retry(e.retry_after_s.unwrap_or(30)),
    };
    match ran {
        Ran::Retry(delay) if effect.attempts < MAX_ATTEMPTS => Ok(Some(delay.clamp(5, 900))),
        Ran::Retry(_) => finish(
            host,
            &effect,
            Completion {
                ok: false,
                error_code: Some("UNAVAILABLE".into()),
                error_message: Some(format!("gave up after {} attempts", effect.attempts)),
                ..Completion::default()
            },
        ),
        Ran::Done(c) => finish(host, &effect, c),
    }
}

/// Completes the step and advances the path; deletes the effect record in the same commit.
pub fn finish(host: &dyn Host, effect: &Effect, c: Completion) -> AppResult<Option<u32>> {
    let key = store::effect_key(&effect.id);
    let result = store::transition(
        host,
        &effect.approval_id,
        &mut |a, eval| {
            engine::complete(
                a,
                &effect.step_id,
                effect.run,
                c.clone(),
                host.now_ms(),
                eval,
            )
        },
        &|tx| {
            tx.delete(&key)?;
            Ok(())
        },
    );
    match result {
        Ok(_) => Ok(None),
        Err(e) if e.code == "STEP_NOT_ACTIVE" => {
            Store::new(host).delete(&key)?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Earlier PROMPT results visible to a step: same phase, lower parallel group only.
pub fn prompt_steps_for(a: &Approval, phase: Phase, group: u32) -> Value {
    let mut m = serde_json::Map::new();
    for s in a.phase_steps(phase) {
        if s.step_type == super::definition::StepType::Prompt
            && s.parallel_group_number < group
            && s.status == StepStatus::Success
        {
            let o = s.output.clone().unwrap_or(Value::Null);
            m.insert(
                s.name.clone(),
                json!({"result": o.get("result").cloned().unwrap_or_else(|| json!(s.result_teaser)),
                       "executedAt": s.executed_at, "provider": o.get("provider"), "model": o.get("model")}),
            );
        }
    }
    Value::Object(m)
}

fn step_context(
    host: &dyn Host,
    a: &Approval,
    effect: &Effect,
    eval: &mut LiveEval<'_>,
) -> AppResult<Value> {
    let (phase, step) = a.find(&effect.step_id).expect("checked by the caller");
    let prompt_steps = prompt_steps_for(a, phase, step.parallel_group_number);
    let base = site_url(eval.issue()?);
    let _ = host;
    eval.context(json!({
        "promptSteps": prompt_steps,
        "appName": "AI Clearance",
        "approvalOriginator": a.originator,
        "approvalLink": format!("{base}/browse/{}#approval-{}", a.issue.key, a.id),
        "pendingApprovalsLink": format!("{base}/jira/apps/ai-clearance/approvals"),
        "issueLink": format!("{base}/browse/{}", a.issue.key),
        "stepDetails": match step.step_type {
            super::definition::StepType::Prompt => format!("{}: {}", views::display_name(step), step.action),
            t => format!("{} ({t:?}): {}", step.name, step.action),
        },
        "approvalProcessDocumentationLink": format!("{base}/jira/apps/ai-clearance/help"),
        "approval": views::approval_for_templates(a),
    }))
}

/// The site's base URL, from the issue's `self` link (Forge gives triggers no site URL).
fn site_url(issue: &Value) -> String {
    issue
        .get("self")
        .and_then(Value::as_str)
        .and_then(|s| s.split("/rest/").next())
        .unwrap_or("")
        .to_string()
}

fn render(t: &str, ctx: &Value) -> AppResult<String> {
    olivlang::render(t, ctx).map_err(|e| AppError::invalid("TEMPLATE_ERROR", e.to_string()))
}

/// The AI Prompt steps this step can see (same phase, earlier group) that did not succeed and
/// whose result `template` quotes, with their status in words. Found by rendering once more with
/// a marker as their result: the real rendering sees them empty (AP-228).
fn quoted_unrun_prompts(
    template: &str,
    ctx: &Value,
    a: &Approval,
    effect: &Effect,
) -> AppResult<Vec<(String, String)>> {
    const MARK: &str = "\u{E000}unrun-ai-read\u{E000}";
    let (phase, step) = a.find(&effect.step_id).expect("checked by the caller");
    let unrun: Vec<(String, String)> = a
        .phase_steps(phase)
        .iter()
        .filter(|s| {
            s.step_type == super::definition::StepType::Prompt
                && s.parallel_group_number < step.parallel_group_number
                && s.status != StepStatus::Success
        })
        .map(|s| {
            let status = match s.status {
                StepStatus::Skipped => "skipped",
                StepStatus::Fail => "failed",
                _ => "not finished",
            };
            (s.name.clone(), status.to_string())
        })
        .collect();
    if unrun.is_empty() || !template.contains("promptSteps") {
        return Ok(Vec::new());
    }
    let mut marked = ctx.clone();
    let mut quoted = Vec::new();
    for (name, status) in unrun {
        marked["promptSteps"][&name] = json!({"result": MARK});
        let text = render(template, &marked)?;
        marked["promptSteps"]
            .as_object_mut()
            .expect("an object")
            .remove(&name);
        if text.contains(MARK) {
            quoted.push((name, status));
        }
    }
    Ok(quoted)
}

fn jira_err(e: JiraError) -> AppError {
    store::jira_error(e)
}

fn automation(
    host: &dyn Host,
    a: &Approval,
    effect: &Effect,
    eval: &mut LiveEval<'_>,
    comment: &str,
    transition: Option<&str>,
) -> AppResult<Ran> {
    let ctx = step_context(host, a, effect, eval)?;
    let text = render(comment, &ctx)?;
    let jira = Jira::new(host);
    let mut comment_id = None;
    // A comment that quotes an AI read which did not run would post its heading and nothing
    // ("AI risk read (advisory):"): it is not posted, and the step says why (D-223).
    let unrun = quoted_unrun_prompts(comment, &ctx, a, effect)?;
    let not_posted = (!unrun.is_empty()).then(|| {
        let names: Vec<String> = unrun.iter().map(|(n, _)| format!("“{n}”")).collect();
        let states: Vec<&str> = unrun.iter().map(|(_, st)| st.as_str()).collect();
        format!(
            "No comment posted: it quotes the AI read of {}, which did not run ({}).",
            names.join(", "),
            states.join(", ")
        )
    });
    if let (Some(why), None) = (&not_posted, transition) {
        return Ok(Ran::Done(Completion {
            skipped: Some(why.clone()),
            ..Completion::default()
        }));
    }
    if effect.attempts > 1 && not_posted.is_none() {
        // We may have posted before dying: look for our marker.
        for c in jira
            .comments_with_properties(&a.issue.key)
            .map_err(jira_err)?
        {
            let ours = c
                .get("properties")
                .and_then(Value::as_array)
                .is_some_and(|ps| {
                    ps.iter().any(|p| {
                        p.get("key").and_then(Value::as_str) == Some(COMMENT_PROPERTY)
                            && p.pointer("/value/id").and_then(Value::as_str) == Some(&effect.id)
                    })
                });
            if ours {
                comment_id = c.get("id").and_then(Value::as_str).map(String::from);
            }
        }
    }
    if comment_id.is_none() && not_posted.is_none() {
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let c = jira
            .add_comment_with_property(
                &a.issue.key,
                adf::doc_from_lines(&lines),
                COMMENT_PROPERTY,
                json!({"id": effect.id}),
                // A path's comment speaks to approvers (an AI read, a reviewer's note): agents only.
                crate::jira::Visibility::Internal,
            )
            .map_err(jira_err)?;
        comment_id = c.get("id").and_then(Value::as_str).map(String::from);
    }
    let mut output = json!({"commentId": comment_id});
    if let Some(why) = &not_posted {
        output["commentNotPosted"] = json!(why);
    }
    let mut ok = true;
    let mut error = None;
    if let Some(name) = transition {
        match jira.transition_named(&a.issue.key, &[name]) {
            Ok(Some(n)) => output["transition"] = json!(n),
            Ok(None) => {
                ok = false;
                error = Some(format!(
                    "the workflow offers no transition named {name:?} now"
                ));
            }
            Err(e) if e.is_transient() => return Err(jira_err(e)),
            Err(e) => {
                ok = false;
                error = Some(e.to_string());
            }
        }
    }
    Ok(Ran::Done(Completion {
        ok,
        result_teaser: None,
        error_code: error.as_ref().map(|_| "TRANSITION_UNAVAILABLE".into()),
        error_message: error,
        output: Some(output),
        ..Completion::default()
    }))
}

#[allow(clippy::too_many_arguments)]
fn http(
    host: &dyn Host,
    a: &Approval,
    effect: &Effect,
    eval: &mut LiveEval<'_>,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> AppResult<Ran> {
    let ctx = step_context(host, a, effect, eval)?;
    // The host is fixed by the definition: only what follows it is templated (D-72).
    let written = super::definition::literal_http_host(url)?;
    let url = render(url, &ctx)?;
    let target = super::webhooks::customer_endpoint(host, &url, "HTTP_URL_INVALID")?;
    if target.host != written {
        return Err(AppError::invalid(
            "HTTP_URL_INVALID",
            format!(
                "the rendered URL goes to {}, not the host the definition names ({written})",
                target.host
            ),
        ));
    }
    let mut req = HttpRequest {
        method: method.to_string(),
        url,
        headers: vec![("Idempotency-Key".into(), effect.id.clone())],
        body: None,
    };
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("idempotency-key") {
            continue;
        }
        req.headers.push((k.clone(), render(v, &ctx)?));
    }
    if let Some(b) = body {
        req.body = Some(render(b, &ctx)?);
        if !req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req.headers
                .push(("Content-Type".into(), "application/json".into()));
        }
    }
    match host.fetch(&req) {
        Ok(r) => {
            let transient = r.status == 429 || r.status >= 500;
            if transient && effect.attempts < MAX_ATTEMPTS {
                let after = r
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(30u32 << (effect.attempts - 1).min(4));
                return Ok(Ran::Retry(after));
            }
            let mut excerpt: String = r.body.chars().take(HTTP_RESPONSE_MAX).collect();
            if excerpt.len() < r.body.len() {
                excerpt.push('…');
            }
            let ok = (200..300).contains(&r.status);
            Ok(Ran::Done(Completion {
                ok,
                result_teaser: None,
                error_code: (!ok).then(|| format!("HTTP_{}", r.status)),
                error_message: (!ok).then(|| format!("the endpoint answered {}", r.status)),
                output: Some(json!({"status": r.status, "response": excerpt})),
                ..Completion::default()
            }))
        }
        Err(HostError::Forbidden(m)) => Ok(Ran::Done(Completion {
            ok: false,
            error_code: Some("EGRESS_DENIED".into()),
            error_message: Some(m),
            ..Completion::default()
        })),
        Err(HostError::Timeout)
        | Err(HostError::Unavailable(_))
        | Err(HostError::RateLimited { .. })
            if effect.attempts < MAX_ATTEMPTS =>
        {
            Ok(Ran::Retry(30 << (effect.attempts - 1).min(4)))
        }
        Err(e) => Ok(Ran::Done(Completion {
            ok: false,
            error_code: Some("HTTP_FAILED".into()),
            error_message: Some(e.to_string()),
            ..Completion::default()
        })),
    }
}

fn email_step(
    host: &dyn Host,
    a: &Approval,
    effect: &Effect,
    eval: &mut LiveEval<'_>,
    event: &str,
    recipients: &[String],
) -> AppResult<Ran> {
    let s = Store::new(host);
    let t = email::load(s, event)?;
    let mut to: Vec<Recipient> = Vec::new();
    let issue = eval.issue()?.clone();
    let jira = Jira::new(host);
    for r in recipients {
        let ids: Vec<String> = match r.as_str() {
            "reporter" => issue
                .pointer("/fields/reporter/accountId")
                .and_then(Value::as_str)
                .map(|x| vec![x.to_string()])
                .unwrap_or_default(),
            "originator" => vec![a.originator.clone()],
            g if g.starts_with("group:") => {
                let url = format!(
                    "/rest/api/3/group/member?groupname={}&maxResults={}",
                    jira::encode(&g[6..]),
                    email::RECIPIENTS_MAX
                );
                jira.request_app(&url)
                    .map_err(jira_err)?
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u.get("accountId").and_then(Value::as_str).map(String::from))
                    .collect()
            }
            other => vec![other.to_string()],
        };
        for id in ids {
            if to.len() < email::RECIPIENTS_MAX && !to.iter().any(|x| x.account_id == id) {
                to.push(Recipient {
                    display_name: String::new(),
                    account_id: id,
                });
            }
        }
    }
    // People by name, as a reader of the email knows them (one `user/bulk` call; an account Jira
    // cannot name, or a Jira that does not answer, falls back to the id).
    let mut wanted: Vec<&str> = to.iter().map(|r| r.account_id.as_str()).collect();
    wanted.push(&a.originator);
    let names = jira.display_names(&wanted).unwrap_or_default();
    for r in &mut to {
        if let Some(n) = names.get(&r.account_id) {
            r.display_name = n.clone();
        }
    }
    let name_of = |id: &str| -> String {
        if id == "app" {
            return "AI Clearance".into();
        }
        names.get(id).cloned().unwrap_or_else(|| id.to_string())
    };
    let mut ctx = step_context(host, a, effect, eval)?;
    let mut sent = Vec::new();
    // One render per recipient would multiply work; `activeUser` is the first recipient.
    ctx["activeUser"] = json!(to
        .first()
        .map(|r| name_of(&r.account_id))
        .unwrap_or_default());
    ctx["approvalOriginator"] = json!(name_of(&a.originator));
    // Message templates get the prompt body's context too; precedents are read only when quoted.
    if t.subject.contains("crossApprovals") || t.body.contains("crossApprovals") {
        let (list, _) = crate::prompt::precedents::cross_approvals(Store::new(host), a)?;
        ctx["crossApprovals"] = Value::Array(list);
    }
    let subject = render(&t.subject, &ctx)?;
    let body = render(&t.body, &ctx)?;
    let mail = OutboxEmail {
        id: effect.id.clone(),
        event: event.into(),
        approval_id: a.id.clone(),
        step_id: effect.step_id.clone(),
        issue_key: a.issue.key.clone(),
        to: to.clone(),
        subject: subject.lines().next().unwrap_or("").to_string(),
        body,
        created_at: crate::time::rfc3339(host.now_ms()),
    };
    let created = s.create(&outbox_key(&effect.id), &mail)?;
    if !created {
        host.log(
            Level::Info,
            &format!("email {} was already in the outbox", effect.id),
        );
    }
    sent.extend(to.iter().map(|r| r.account_id.clone()));
    Ok(Ran::Done(Completion {
        ok: !to.is_empty(),
        result_teaser: None,
        error_code: to.is_empty().then(|| "NO_RECIPIENTS".into()),
        error_message: to
            .is_empty()
            .then(|| "no recipient could be resolved".into()),
        output: Some(json!({"outboxId": effect.id, "recipients": sent})),
        ..Completion::default()
    }))
}
