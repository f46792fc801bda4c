//! Settings → AI (global-admin only): provider, model, key (secret storage, last-4 fingerprint
//! only), kill-switch, monthly budget, temperature, and the data-sharing toggles.

use super::providers::{self, Provider};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::host::Host;
use crate::storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const SETTINGS_KEY: &str = crate::storage::keys::AI_SETTINGS;
pub const API_KEY_SECRET: &str = "ai-provider-key";
/// At least this long between two saves (spec: 1 second per host; one Forge site = one host).
pub const SAVE_INTERVAL_MS: u64 = 1_000;
pub const TEST_PER_MINUTE: u32 = 10;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiSettings {
    pub provider: Provider,
    pub model: String,
    #[serde(default)]
    pub enabled: bool,
    /// Tokens (in + out) per calendar month (UTC); 0 = no budget set (nothing runs).
    #[serde(default)]
    pub monthly_token_budget: u64,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default)]
    pub key_fingerprint: Option<String>,
    #[serde(default)]
    pub pii_sensitive: bool,
    #[serde(default = "yes")]
    pub include_comments: bool,
    #[serde(default = "yes")]
    pub include_attachments: bool,
    #[serde(default = "yes")]
    pub include_linked_items: bool,
    #[serde(default = "yes")]
    pub include_subtasks: bool,
    #[serde(default = "yes")]
    pub include_precedents: bool,
    #[serde(default)]
    pub allow_all_custom_fields: bool,
    #[serde(default)]
    pub custom_field_whitelist: Vec<String>,
    #[serde(default = "default_locale")]
    pub locale: String,
    #[serde(default)]
    pub updated_ms: u64,
}

fn default_temperature() -> f64 {
    0.2
}
fn default_locale() -> String {
    "en".into()
}

impl AiSettings {
    pub fn fresh() -> Self {
        AiSettings {
            provider: Provider::Anthropic,
            model: Provider::Anthropic.default_model().into(),
            enabled: false,
            monthly_token_budget: 0,
            temperature: default_temperature(),
            key_fingerprint: None,
            pii_sensitive: false,
            include_comments: true,
            include_attachments: true,
            include_linked_items: true,
            include_subtasks: true,
            include_precedents: true,
            allow_all_custom_fields: false,
            custom_field_whitelist: vec![],
            locale: default_locale(),
            updated_ms: 0,
        }
    }
}

pub fn load(store: Store<'_>) -> AppResult<AiSettings> {
    Ok(store
        .get::<AiSettings>(SETTINGS_KEY)?
        .unwrap_or_else(AiSettings::fresh))
}

/// Why PROMPT steps cannot run now (the step form's explanatory panel), or None.
pub fn blocker(host: &dyn Host, s: &AiSettings) -> AppResult<Option<&'static str>> {
    if let Some(b) = setup_blocker(host, s)? {
        return Ok(Some(b));
    }
    let used = super::usage::used_this_month(host)?;
    Ok((used >= s.monthly_token_budget).then_some("OVER_BUDGET"))
}

/// Not configured (no key) or disabled; the budget is checked separately. Forge LLMs needs no
/// key: the platform runs the model for the app.
fn setup_blocker(host: &dyn Host, s: &AiSettings) -> AppResult<Option<&'static str>> {
    if s.provider.needs_api_key()
        && (s.key_fingerprint.is_none() || host.secret_get(API_KEY_SECRET)?.is_none())
    {
        return Ok(Some("NOT_CONFIGURED"));
    }
    Ok((!s.enabled).then_some("DISABLED"))
}

pub fn view(host: &dyn Host, s: &AiSettings) -> AppResult<Value> {
    let mut v = serde_json::to_value(s).expect("settings serialize");
    v["keyFingerprint"] = json!(s.key_fingerprint.as_ref().map(|f| format!("••••{f}")));
    // The month's usage is read once: for the status and for the banner every tab shows.
    let used = super::usage::used_this_month(host)?;
    let status = match setup_blocker(host, s)? {
        Some(b) => b,
        None if used >= s.monthly_token_budget => "OVER_BUDGET",
        None => "READY",
    };
    v["status"] = json!(status);
    let (pct, usage_status) = super::usage::status(used, s.monthly_token_budget);
    v["usagePercent"] = json!(pct);
    v["usageStatus"] = json!(usage_status);
    v["models"] = json!(providers::curated_models(s.provider));
    v["keyPageUrl"] = json!(s.provider.key_page_url());
    Ok(v)
}

/// Saves the General and Data sharing tabs. A new `apiKey` goes to secret storage only. The
/// record is written with its audit entry (`config_changed`, kind `aiSettings`), which says that
/// the key was replaced but never holds it (nor its last characters).
pub fn save(host: &dyn Host, who: &str, p: &Value) -> AppResult<AiSettings> {
    let store = Store::new(host);
    let raw = store.get_raw(SETTINGS_KEY)?;
    let stored: Option<AiSettings> = raw
        .as_deref()
        .map(|t| crate::storage::decode(SETTINGS_KEY, t))
        .transpose()?;
    let mut s = stored.clone().unwrap_or_else(AiSettings::fresh);
    let now = host.now_ms();
    if s.updated_ms != 0 && now < s.updated_ms + SAVE_INTERVAL_MS {
        return Err(AppError {
            retry_after_s: Some(1),
            ..AppError::new(
                ErrorKind::RateLimited,
                "SETTINGS_SAVE_TOO_SOON",
                "settings were saved less than a second ago",
            )
        });
    }
    let mut errors = Vec::new();
    // Provider URLs are fixed in code (and in the manifest's egress): a stolen key cannot be
    // pointed at another host, so no endpoint-like field is accepted.
    if let Some(o) = p.as_object() {
        for k in o.keys() {
            let l = k.to_ascii_lowercase();
            if ["url", "endpoint", "host", "apibase", "baseurl", "proxy"]
                .iter()
                .any(|w| l.contains(w))
            {
                errors.push(json!({"field": k, "message": "provider endpoints are fixed and cannot be configured"}));
            }
        }
    }
    if let Some(pv) = p.get("provider") {
        match pv.as_str().and_then(Provider::parse) {
            Some(pr) => {
                if pr != s.provider && p.get("model").is_none() {
                    s.model = pr.default_model().into();
                }
                s.provider = pr;
            }
            None => errors.push(
                json!({"field": "provider", "message": "anthropic, openai, groq, openrouter or forge-llm"}),
            ),
        }
    }
    if let Some(m) = p.get("model") {
        match m.as_str().map(str::trim) {
            Some(m) if providers::is_valid_model_id(m) => s.model = m.to_string(),
            _ => errors.push(
                json!({"field": "model", "message": "a model id (letters, digits, - . / : _)"}),
            ),
        }
    }
    if let Some(t) = p.get("temperature") {
        match t.as_f64() {
            Some(t) if (0.0..=2.0).contains(&t) => s.temperature = t,
            _ => errors.push(json!({"field": "temperature", "message": "between 0 and 2"})),
        }
    }
    if let Some(b) = p.get("monthlyTokenBudget") {
        match b.as_u64() {
            Some(b) if b <= 10_000_000_000 => s.monthly_token_budget = b,
            _ => errors.push(
                json!({"field": "monthlyTokenBudget", "message": "a whole number of tokens"}),
            ),
        }
    }
    for (field, slot) in [
        ("enabled", &mut s.enabled),
        ("piiSensitive", &mut s.pii_sensitive),
        ("includeComments", &mut s.include_comments),
        ("includeAttachments", &mut s.include_attachments),
        ("includeLinkedItems", &mut s.include_linked_items),
        ("includeSubtasks", &mut s.include_subtasks),
        ("includePrecedents", &mut s.include_precedents),
        ("allowAllCustomFields", &mut s.allow_all_custom_fields),
    ] {
        if let Some(v) = p.get(field) {
            match v.as_bool() {
                Some(b) => *slot = b,
                None => errors.push(json!({"field": field, "message": "true or false"})),
            }
        }
    }
    if let Some(w) = p.get("customFieldWhitelist") {
        match w.as_array() {
            Some(a) if a.len() <= 200 && a.iter().all(|x| x.as_str().is_some_and(|f| f.starts_with("customfield_"))) => {
                s.custom_field_whitelist = a.iter().filter_map(|x| x.as_str().map(String::from)).collect();
            }
            _ => errors.push(json!({"field": "customFieldWhitelist", "message": "customfield_ ids (at most 200)"})),
        }
    }
    if let Some(l) = p.get("locale") {
        match l.as_str() {
            Some(l)
                if l.len() <= 16
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                s.locale = l.into()
            }
            _ => errors.push(json!({"field": "locale", "message": "a locale such as en or de-CH"})),
        }
    }
    let key = match p.get("apiKey") {
        Some(Value::String(k)) if !k.trim().is_empty() => {
            let k = k.trim();
            if k.len() < 8 || k.len() > 400 || k.contains(char::is_whitespace) {
                errors.push(
                    json!({"field": "apiKey", "message": "that does not look like an API key"}),
                );
                None
            } else {
                Some(k.to_string())
            }
        }
        _ => None,
    };
    if !errors.is_empty() {
        return Err(
            AppError::invalid("AI_SETTINGS_INVALID", "the settings have problems")
                .with_details(json!({ "errors": errors })),
        );
    }
    let key_replaced = key.is_some();
    if let Some(k) = key {
        host.secret_set(API_KEY_SECRET, &k)?;
        s.key_fingerprint = Some(
            k.chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
        );
    }
    s.updated_ms = now;
    let change =
        crate::audit::config::Change::new("aiSettings", SETTINGS_KEY, stored.as_ref(), Some(&s))
            .with_detail(json!({"apiKeyReplaced": key_replaced}));
    crate::audit::config::commit(store, who, &[change], |tx| {
        tx.set_if_current(SETTINGS_KEY, &s, raw.as_deref())?;
        Ok(())
    })
    .map_err(|e| match e {
        crate::storage::StorageError::Conflict(k) if k == SETTINGS_KEY => AppError::conflict(
            "SETTINGS_CHANGED",
            "the settings changed while saving; reload and try again",
        ),
        e => e.into(),
    })?;
    Ok(s)
}

const TEST_RATE_KEY: &str = "ai-test-rate";

/// The probe times of the last minute plus `now`, or how many ms until one slot frees up.
pub fn take_probe(mut recent: Vec<u64>, now: u64) -> Result<Vec<u64>, u64> {
    recent.retain(|&t| t + 60_000 > now && t <= now);
    if recent.len() >= TEST_PER_MINUTE as usize {
        let oldest = recent.iter().copied().min().unwrap_or(now);
        return Err(oldest + 60_000 - now);
    }
    recent.push(now);
    Ok(recent)
}

/// Test connection: a one-token probe with the given (or stored) key; 10 per minute per site.
pub fn test_connection(host: &dyn Host, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    // A sliding window (the probes of the last 60 s), so a burst across a minute boundary
    // cannot pass 20.
    let now = host.now_ms();
    let recent = store.get::<Vec<u64>>(TEST_RATE_KEY)?.unwrap_or_default();
    let recent = match take_probe(recent, now) {
        Ok(r) => r,
        Err(wait_ms) => {
            return Err(AppError {
                retry_after_s: Some(wait_ms.div_ceil(1000).max(1) as u32),
                ..AppError::new(
                    ErrorKind::RateLimited,
                    "TEST_RATE_LIMITED",
                    "at most 10 connection tests per minute",
                )
            });
        }
    };
    store.put_ttl(TEST_RATE_KEY, &recent, 120)?;
    let s = load(store)?;
    let provider = p
        .get("provider")
        .and_then(Value::as_str)
        .and_then(Provider::parse)
        .unwrap_or(s.provider);
    let model = p
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&s.model)
        .to_string();
    let api_key = match p.get("apiKey").and_then(Value::as_str) {
        _ if !provider.needs_api_key() => String::new(),
        Some(k) if !k.trim().is_empty() => k.trim().to_string(),
        _ => host
            .secret_get(API_KEY_SECRET)?
            .ok_or_else(|| AppError::invalid("NO_API_KEY", "enter an API key first"))?,
    };
    let call = providers::build_probe_call(provider, &model, &api_key);
    let outcome = providers::send_probe(host, provider, &call);
    Ok(match outcome {
        Ok(()) => json!({"ok": true}),
        Err(code) => {
            json!({"ok": false, "errorCode": code.as_str(), "message": code.user_message()})
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // covers: AP-035
    #[test]
    fn test_connection_limit_is_a_sliding_window() {
        // Ten probes in the last seconds of a minute, then one more just after the boundary.
        let mut recent = Vec::new();
        for i in 0..10 {
            recent = take_probe(recent, 59_000 + i * 10).unwrap();
        }
        let wait = take_probe(recent.clone(), 60_500).unwrap_err();
        assert_eq!(wait, 59_000 + 60_000 - 60_500);
        // A minute after the first probe, one slot is free again.
        assert!(take_probe(recent, 119_001).is_ok());
    }
}
