//! STEP_DECISION webhooks: admins register HTTPS endpoints; every step that reaches SUCCESS or
//! FAIL produces one delivery per endpoint, staged in the transition's transaction and sent by
//! the `webhooks` queue consumer with retries.
//!
//! Signature: `X-AIClearance-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
//! with `X-AIClearance-Timestamp` (Unix seconds) and `X-AIClearance-Delivery` (stable id, for
//! receivers to drop duplicates). The secret lives in Forge secret storage and is shown once.

use super::model::Approval;
use crate::audit::chain::{hex, mac};
use crate::audit::{self, config::Change};
use crate::error::{AppError, AppResult};
use crate::host::{Host, HttpRequest, Level};
use crate::storage::{Store, Tx};
use crate::weburl::{self, HttpsUrl};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const CONFIG_KEY: &str = crate::storage::keys::WEBHOOK_CONFIG;
pub const WEBHOOKS_MAX: usize = 3;
pub const MAX_ATTEMPTS: u32 = 5;
/// Retry delays: 30 s doubling (30, 60, 120, 240), at least what Retry-After asks.
pub const BASE_DELAY_S: u32 = 30;

pub fn secret_key(id: &str) -> String {
    format!("webhook-secret:{id}")
}
pub fn delivery_key(id: &str) -> String {
    format!("webhook-delivery:{id}")
}
pub const DELIVERY_PREFIX: &str = "webhook-delivery:";
pub fn dead_key(id: &str) -> String {
    format!("webhook-dead:{id}")
}
pub const DEAD_PREFIX: &str = "webhook-dead:";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub url: String,
    pub payload: Value,
    #[serde(default)]
    pub attempts: u32,
    pub created_ms: u64,
    #[serde(default)]
    pub last_status: Option<String>,
}

/// A customer endpoint (webhook, HTTP step): an `https` named host that is none of the app's
/// own service hosts — the LLM providers and the ArdSaor Core relay — so an admin-authored
/// target can never receive the app's traffic meant for them or replay requests at them (D-72).
/// `code` names the caller's error (`WEBHOOK_URL_INVALID`, `HTTP_URL_INVALID`).
pub fn customer_endpoint(host: &dyn Host, url: &str, code: &str) -> AppResult<HttpsUrl> {
    if url.len() > 2_000 {
        return Err(AppError::invalid(code, "at most 2,000 characters"));
    }
    let u = weburl::parse(url).map_err(|e| AppError::invalid(code, e.to_string()))?;
    let relay_host = host
        .env(crate::weburl::ENV_CORE_URL)
        .and_then(|c| weburl::parse(&c).ok())
        .map(|c| c.host);
    let reserved = crate::prompt::providers::Provider::ALL
        .iter()
        .any(|p| p.host() == Some(u.host.as_str()))
        || relay_host.as_deref() == Some(u.host.as_str());
    if reserved {
        return Err(AppError::invalid(
            "ENDPOINT_RESERVED",
            format!(
                "{} is one of the app's own service hosts (AI providers, ArdSaor Core); point this at your own endpoint",
                u.host
            ),
        ));
    }
    Ok(u)
}

pub fn list(store: Store<'_>) -> AppResult<Vec<Webhook>> {
    Ok(store.get::<Vec<Webhook>>(CONFIG_KEY)?.unwrap_or_default())
}

/// The endpoints and their stored text (the condition for writing the list back).
fn list_raw(store: Store<'_>) -> AppResult<(Vec<Webhook>, Option<String>)> {
    let raw = store.get_raw(CONFIG_KEY)?;
    let hooks = match raw.as_deref() {
        Some(t) => crate::storage::decode(CONFIG_KEY, t)?,
        None => Vec::new(),
    };
    Ok((hooks, raw))
}

/// Writes the endpoint list with one `config_changed` entry (kind `webhook`, the endpoint as
/// its record: the signing secret is in secret storage and never in the trail).
fn commit_hooks(
    store: Store<'_>,
    who: &str,
    change: Change,
    hooks: &[Webhook],
    raw: Option<&str>,
) -> crate::storage::StorageResult<()> {
    audit::config::commit(store, who, &[change], |tx| {
        tx.set_if_current(CONFIG_KEY, &hooks, raw)?;
        Ok(())
    })?;
    Ok(())
}

fn busy() -> AppError {
    AppError::conflict(
        "WEBHOOKS_CHANGED",
        "the webhooks changed while saving; reload and try again",
    )
}

/// Registers an endpoint; returns it with its signing secret (the only time it is shown).
pub fn create(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let url = p.get("url").and_then(Value::as_str).unwrap_or("").trim();
    if url.contains(char::is_whitespace) {
        return Err(AppError::invalid(
            "WEBHOOK_URL_INVALID",
            "an https:// URL without spaces is required",
        ));
    }
    customer_endpoint(host, url, "WEBHOOK_URL_INVALID")?;
    let id = format!("wh{}", hex(&host.random_bytes(6)));
    let secret = hex(&host.random_bytes(32));
    let hook = Webhook {
        id: id.clone(),
        url: url.to_string(),
        events: vec!["STEP_DECISION".into()],
        created_at: crate::time::rfc3339(host.now_ms()),
    };
    let mut secret_written = false;
    for _ in 0..4 {
        let (mut hooks, raw) = list_raw(store)?;
        if hooks.len() >= WEBHOOKS_MAX {
            if secret_written {
                let _ = host.secret_delete(&secret_key(&id));
            }
            return Err(AppError::invalid(
                "WEBHOOK_LIMIT",
                format!("at most {WEBHOOKS_MAX} webhooks"),
            ));
        }
        // Secret first: an endpoint is never listed without its signing secret.
        if !secret_written {
            host.secret_set(&secret_key(&id), &secret)?;
            secret_written = true;
        }
        hooks.push(hook.clone());
        let change = Change::new::<Webhook, _>("webhook", &id, None, Some(&hook));
        match commit_hooks(store, who, change, &hooks, raw.as_deref()) {
            Ok(()) => return Ok(json!({"webhook": hook, "secret": secret})),
            Err(crate::storage::StorageError::Conflict(k)) if k == CONFIG_KEY => continue,
            Err(e) => {
                let _ = host.secret_delete(&secret_key(&id));
                return Err(e.into());
            }
        }
    }
    let _ = host.secret_delete(&secret_key(&id));
    Err(busy())
}

pub fn delete(host: &dyn Host, who: &str, id: &str) -> AppResult<Value> {
    let store = Store::new(host);
    for _ in 0..4 {
        let (mut hooks, raw) = list_raw(store)?;
        let Some(gone) = hooks.iter().find(|h| h.id == id).cloned() else {
            return Err(AppError::not_found("WEBHOOK_NOT_FOUND", "no such webhook"));
        };
        hooks.retain(|h| h.id != id);
        let change = Change::new::<_, Webhook>("webhook", id, Some(&gone), None);
        match commit_hooks(store, who, change, &hooks, raw.as_deref()) {
            Ok(()) => {
                host.secret_delete(&secret_key(id))?;
                return Ok(json!({"deleted": id}));
            }
            Err(crate::storage::StorageError::Conflict(k)) if k == CONFIG_KEY => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy())
}

fn delivery_id(a: &Approval, step_id: &str, hook: &Webhook) -> String {
    format!("{}.{}.{}.{}", a.id, step_id, a.rev, hook.id)
}

/// The STEP_DECISION body for one step.
pub fn payload(a: &Approval, step_id: &str, delivery: &str, now_ms: u64) -> Value {
    let step = a.find(step_id).map(|(_, s)| s);
    let last = step.and_then(|s| s.decisions.last());
    json!({
        "event": "STEP_DECISION",
        "deliveryId": delivery,
        "occurredAt": crate::time::rfc3339(now_ms),
        "approval": {"id": a.id, "name": a.name, "status": a.status, "progress": a.progress,
                      "issue": {"id": a.issue.id, "key": a.issue.key}},
        "step": step.map(|s| json!({
            "id": s.id, "name": s.name, "type": s.step_type, "status": s.status,
            "parallelGroupNumber": s.parallel_group_number,
            "decision": s.decision, "comment": s.comment,
            "decidedBy": last.map(|d| d.decider.clone()),
            "onBehalfOf": last.and_then(|d| d.on_behalf_of.clone()),
            "decidedAt": s.completed_at,
            "executedAt": s.executed_at, "resultTeaser": s.result_teaser, "errorCode": s.error_code,
        })),
    })
}

/// Adds one delivery record per endpoint for each decided step to the transition's transaction.
pub fn stage_deliveries(
    store: Store<'_>,
    tx: &mut Tx<'_>,
    a: &Approval,
    decided: &[String],
    now_ms: u64,
) -> AppResult<()> {
    if decided.is_empty() {
        return Ok(());
    }
    let hooks = list(store)?;
    for step_id in decided {
        for h in hooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == "STEP_DECISION"))
        {
            let id = delivery_id(a, step_id, h);
            tx.create(
                &delivery_key(&id),
                &Delivery {
                    id: id.clone(),
                    webhook_id: h.id.clone(),
                    url: h.url.clone(),
                    payload: payload(a, step_id, &id, now_ms),
                    attempts: 0,
                    created_ms: now_ms,
                    last_status: None,
                },
            )?;
        }
    }
    Ok(())
}

/// Queues the deliveries `stage_deliveries` wrote (after the commit).
pub fn queue_staged(host: &dyn Host, a: &Approval, decided: &[String]) {
    if decided.is_empty() {
        return;
    }
    let Ok(hooks) = list(Store::new(host)) else {
        return;
    };
    let events: Vec<String> = decided
        .iter()
        .flat_map(|s| {
            hooks
                .iter()
                .map(move |h| json!({"deliveryId": delivery_id(a, s, h)}).to_string())
        })
        .collect();
    if !events.is_empty() {
        if let Err(e) = host.queue_push(super::store::WEBHOOK_QUEUE, &events, 0) {
            host.log(
                Level::Warn,
                &format!("webhook deliveries not queued ({e}); the sweep will"),
            );
        }
    }
}

pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    format!(
        "sha256={}",
        mac(secret.as_bytes(), &format!("{timestamp}.{body}"))
    )
}

/// Sends one delivery. `Ok(None)`: finished (delivered or dead-lettered); `Ok(Some(s))`: retry
/// after `s` seconds.
pub fn deliver(host: &dyn Host, delivery_id: &str) -> AppResult<Option<u32>> {
    let store = Store::new(host);
    let key = delivery_key(delivery_id);
    let Some(mut d) = store.get::<Delivery>(&key)? else {
        return Ok(None); // already delivered (a duplicate queue event)
    };
    let Some(secret) = host.secret_get(&secret_key(&d.webhook_id))? else {
        // The endpoint was deleted: nothing to send to.
        store.delete(&key)?;
        return Ok(None);
    };
    // Checked again at send time: a stored URL predating the rule (or the relay's host changing
    // since) must not send the app's traffic to a service host.
    if let Err(e) = customer_endpoint(host, &d.url, "WEBHOOK_URL_INVALID") {
        let mut tx = store.tx();
        d.last_status = Some(e.message.clone());
        tx.delete(&key)?;
        tx.set(&dead_key(&d.id), &d)?;
        tx.commit()?;
        host.log(
            Level::Warn,
            &format!("webhook {} refused: {}", d.id, e.code),
        );
        return Ok(None);
    }
    let body = d.payload.to_string();
    let ts = host.now_ms() / 1000;
    let mut req = HttpRequest::with_json("POST", d.url.clone(), body.clone());
    req.headers.extend([
        (
            "X-AIClearance-Event".to_string(),
            "STEP_DECISION".to_string(),
        ),
        ("X-AIClearance-Delivery".to_string(), d.id.clone()),
        ("X-AIClearance-Timestamp".to_string(), ts.to_string()),
        (
            "X-AIClearance-Signature".to_string(),
            signature(&secret, ts, &body),
        ),
    ]);
    d.attempts += 1;
    let (retryable, status, retry_after) = match host.fetch(&req) {
        Ok(r) if (200..300).contains(&r.status) => {
            store.delete(&key)?;
            host.log(
                Level::Info,
                &format!("webhook {} delivered ({})", d.id, r.status),
            );
            return Ok(None);
        }
        Ok(r) => (
            r.status == 429 || r.status == 408 || r.status >= 500,
            format!("HTTP {}", r.status),
            r.header("Retry-After")
                .and_then(|v| v.trim().parse::<u32>().ok()),
        ),
        Err(crate::host::HostError::Forbidden(_)) => (false, "egress refused".to_string(), None),
        Err(e) => (true, e.to_string(), None),
    };
    d.last_status = Some(status);
    if !retryable || d.attempts >= MAX_ATTEMPTS {
        let mut tx = store.tx();
        tx.delete(&key)?;
        tx.set(&dead_key(&d.id), &d)?;
        tx.commit()?;
        host.log(
            Level::Warn,
            &format!("webhook {} dead after {} attempt(s)", d.id, d.attempts),
        );
        return Ok(None);
    }
    store.put(&key, &d)?;
    let backoff = BASE_DELAY_S << (d.attempts - 1).min(5);
    Ok(Some(backoff.max(retry_after.unwrap_or(0)).min(900)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_timestamp_and_body() {
        let s = signature("k", 1_700_000_000, "{}");
        assert!(s.starts_with("sha256="));
        assert_eq!(s.len(), 7 + 64);
        assert_ne!(s, signature("k", 1_700_000_001, "{}"));
        assert_ne!(s, signature("k2", 1_700_000_000, "{}"));
    }
}
