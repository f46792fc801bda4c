//! The five AI providers: curated models, fixed endpoints, real wire formats, and the mapping of
//! provider responses onto the step's error codes.
//!
//! Four are reached over HTTPS through the manifest's egress with the tenant's API key
//! (Anthropic, OpenAI, Groq, OpenRouter). The fifth, Forge LLMs (`forge-llm`), is Atlassian-hosted:
//! the platform's `llm` capability (`@forge/llm` `chat`), no egress and no API key (D-170).
//!
//! Endpoints are constants in code (tenants cannot point a key at another host). Error messages
//! are fixed strings: provider error bodies can echo the prompt (and OpenAI echoes part of the
//! key), so they are read for classification only and never copied into a message.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::host::{Host, HostError, HttpRequest, HttpResponse};

pub const ANTHROPIC_MESSAGES_URL: &str = "https://api.anthropic.com/v1/messages";
pub const OPENAI_CHAT_URL: &str = "https://api.openai.com/v1/chat/completions";
/// `*-pro` OpenAI models are served only by the Responses API (chat completions answers 404).
pub const OPENAI_RESPONSES_URL: &str = "https://api.openai.com/v1/responses";
pub const GROQ_CHAT_URL: &str = "https://api.groq.com/openai/v1/chat/completions";
pub const OPENROUTER_CHAT_URL: &str = "https://openrouter.ai/api/v1/chat/completions";
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// OpenRouter app attribution headers (`HTTP-Referer`, `X-Title`).
pub const APP_TITLE: &str = "AI Clearance";
pub const APP_REFERER: &str = "https://marketplace.atlassian.com";
/// Extra output budget for reasoning models, whose hidden reasoning counts against the cap.
pub const REASONING_HEADROOM_TOKENS: u32 = 4096;
const PROBE_TEXT: &str = "Reply with OK.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Anthropic,
    OpenAi,
    Groq,
    OpenRouter,
    /// Atlassian-hosted (Forge LLMs): `@forge/llm` through the host's `llm` capability.
    #[serde(rename = "forge-llm")]
    ForgeLlm,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Provider::Anthropic,
        Provider::OpenAi,
        Provider::Groq,
        Provider::OpenRouter,
        Provider::ForgeLlm,
    ];

    /// The providers the app reaches over HTTPS (the manifest's egress), with an API key.
    pub const EGRESS: [Provider; 4] = [
        Provider::Anthropic,
        Provider::OpenAi,
        Provider::Groq,
        Provider::OpenRouter,
    ];

    /// `anthropic` | `openai` | `groq` | `openrouter` | `forge-llm` (case-insensitive).
    pub fn parse(s: &str) -> Option<Provider> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Some(Provider::Anthropic),
            "openai" => Some(Provider::OpenAi),
            "groq" => Some(Provider::Groq),
            "openrouter" => Some(Provider::OpenRouter),
            "forge-llm" => Some(Provider::ForgeLlm),
            _ => None,
        }
    }

    /// Every provider but Forge LLMs needs the tenant's API key (secret storage).
    pub fn needs_api_key(self) -> bool {
        self != Provider::ForgeLlm
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
            Provider::Groq => "groq",
            Provider::OpenRouter => "openrouter",
            Provider::ForgeLlm => "forge-llm",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Anthropic => "Anthropic",
            Provider::OpenAi => "OpenAI",
            Provider::Groq => "Groq",
            Provider::OpenRouter => "OpenRouter",
            Provider::ForgeLlm => "Atlassian-hosted (Forge LLMs)",
        }
    }

    /// The chat endpoint (OpenAI `*-pro` models use [`OPENAI_RESPONSES_URL`] instead); Forge
    /// LLMs has none the app calls (the platform routes `@forge/llm`).
    pub fn endpoint(self) -> Option<&'static str> {
        match self {
            Provider::Anthropic => Some(ANTHROPIC_MESSAGES_URL),
            Provider::OpenAi => Some(OPENAI_CHAT_URL),
            Provider::Groq => Some(GROQ_CHAT_URL),
            Provider::OpenRouter => Some(OPENROUTER_CHAT_URL),
            Provider::ForgeLlm => None,
        }
    }

    /// Host for the manifest's egress list (none for Forge LLMs: no egress).
    pub fn host(self) -> Option<&'static str> {
        match self {
            Provider::Anthropic => Some("api.anthropic.com"),
            Provider::OpenAi => Some("api.openai.com"),
            Provider::Groq => Some("api.groq.com"),
            Provider::OpenRouter => Some("openrouter.ai"),
            Provider::ForgeLlm => None,
        }
    }

    /// Where an admin creates an API key (linked from Settings → AI → General); Forge LLMs has
    /// no key to manage.
    pub fn key_page_url(self) -> Option<&'static str> {
        match self {
            Provider::Anthropic => Some("https://console.anthropic.com/settings/keys"),
            Provider::OpenAi => Some("https://platform.openai.com/api-keys"),
            Provider::Groq => Some("https://console.groq.com/keys"),
            Provider::OpenRouter => Some("https://openrouter.ai/settings/keys"),
            Provider::ForgeLlm => None,
        }
    }

    /// Suggested default model for a fresh configuration.
    pub fn default_model(self) -> &'static str {
        match self {
            Provider::Anthropic => "claude-sonnet-4-6",
            Provider::OpenAi => "gpt-5.4",
            Provider::Groq => "llama-3.3-70b-versatile",
            Provider::OpenRouter => "anthropic/claude-sonnet-4.5",
            Provider::ForgeLlm => "claude-sonnet-4-5-20250929",
        }
    }
}

const ANTHROPIC_MODELS: &[&str] = &["claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"];
const OPENAI_MODELS: &[&str] = &[
    "gpt-5.5",
    "gpt-5.5-pro",
    "gpt-5.4",
    "gpt-5.4-pro",
    "gpt-5.4-mini",
    "gpt-4.1",
];
const GROQ_MODELS: &[&str] = &["llama-3.3-70b-versatile", "openai/gpt-oss-120b"];
/// Forge LLMs' Claude models by their dated ids (`@forge/llm` `list()`; D-171).
const FORGE_LLM_MODELS: &[&str] = &[
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-20250514",
];
const OPENROUTER_MODELS: &[&str] = &[
    "anthropic/claude-sonnet-4.5",
    "anthropic/claude-haiku-4.5",
    "openai/gpt-5.4",
    "openai/gpt-5.4-mini",
    "google/gemini-2.5-pro",
    "google/gemini-2.5-flash",
    "meta-llama/llama-3.3-70b-instruct",
    "deepseek/deepseek-chat",
    "mistralai/mistral-large-2411",
    "x-ai/grok-2-1212",
];

/// The curated dropdown per provider (any other model id is accepted and sent verbatim).
pub fn curated_models(p: Provider) -> &'static [&'static str] {
    match p {
        Provider::Anthropic => ANTHROPIC_MODELS,
        Provider::OpenAi => OPENAI_MODELS,
        Provider::Groq => GROQ_MODELS,
        Provider::OpenRouter => OPENROUTER_MODELS,
        Provider::ForgeLlm => FORGE_LLM_MODELS,
    }
}

/// Display name of a curated model id.
pub fn model_label(model: &str) -> Option<&'static str> {
    Some(match model {
        "claude-opus-4-7" => "Claude Opus 4.7",
        "claude-sonnet-4-6" => "Claude Sonnet 4.6",
        "claude-haiku-4-5" => "Claude Haiku 4.5",
        "gpt-5.5" => "GPT-5.5",
        "gpt-5.5-pro" => "GPT-5.5 Pro",
        "gpt-5.4" => "GPT-5.4",
        "gpt-5.4-pro" => "GPT-5.4 Pro",
        "gpt-5.4-mini" => "GPT-5.4 mini",
        "gpt-4.1" => "GPT-4.1",
        "llama-3.3-70b-versatile" => "Llama 3.3 70B",
        "openai/gpt-oss-120b" => "GPT-OSS 120B",
        "anthropic/claude-sonnet-4.5" => "Anthropic Claude Sonnet 4.5",
        "anthropic/claude-haiku-4.5" => "Anthropic Claude Haiku 4.5",
        "openai/gpt-5.4" => "OpenAI GPT-5.4",
        "openai/gpt-5.4-mini" => "OpenAI GPT-5.4 mini",
        "google/gemini-2.5-pro" => "Google Gemini 2.5 Pro",
        "google/gemini-2.5-flash" => "Google Gemini 2.5 Flash",
        "meta-llama/llama-3.3-70b-instruct" => "Meta Llama 3.3 70B Instruct",
        "deepseek/deepseek-chat" => "DeepSeek Chat",
        "mistralai/mistral-large-2411" => "Mistral Large 2411",
        "x-ai/grok-2-1212" => "Grok-2",
        "claude-sonnet-4-5-20250929" => "Claude Sonnet 4.5",
        "claude-haiku-4-5-20251001" => "Claude Haiku 4.5",
        "claude-sonnet-4-20250514" => "Claude Sonnet 4",
        _ => return None,
    })
}

/// Shape check for a free-text model id (it goes into a JSON body, never a URL).
pub fn is_valid_model_id(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 200
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/:@".contains(c))
}

/// The prompt as sent: the user message is `cacheable_prefix + tail`, with the provider cache
/// breakpoint between them (the prefix is byte-identical across runs of the same step).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptParts {
    pub system: String,
    pub cacheable_prefix: String,
    pub tail: String,
}

impl PromptParts {
    pub fn user_prompt(&self) -> String {
        format!("{}{}", self.cacheable_prefix, self.tail)
    }
}

// ---- model capabilities (model-id heuristics; custom ids are free text) ----

fn bare_model(model: &str) -> String {
    let lower = model.trim().to_ascii_lowercase();
    match lower.rfind('/') {
        Some(i) => lower[i + 1..].to_string(),
        None => lower,
    }
}

/// OpenAI reasoning models (o-series, gpt-5 family) reject a non-default temperature.
fn is_openai_reasoning(model: &str) -> bool {
    let m = bare_model(model);
    let o_series = m.len() > 1
        && m.starts_with('o')
        && m[1..].chars().next().is_some_and(|c| c.is_ascii_digit());
    o_series || (m.starts_with("gpt-5") && !m.contains("chat"))
}

fn openai_uses_responses_api(model: &str) -> bool {
    let m = bare_model(model);
    m.ends_with("-pro") || m.contains("-pro-")
}

/// Claude Opus 4.7 and later removed the sampling parameters (a 400 if `temperature` is sent).
fn anthropic_accepts_temperature(model: &str) -> bool {
    let m = bare_model(model);
    if let Some(ver) = m.strip_prefix("claude-opus-") {
        let mut parts = ver.split(['-', '.']);
        let major = parts.next().and_then(|x| x.parse::<u32>().ok());
        let minor = parts.next().and_then(|x| {
            // A date suffix (claude-opus-4-20250514) is not a minor version.
            if x.len() <= 2 {
                x.parse::<u32>().ok()
            } else {
                None
            }
        });
        return match (major, minor) {
            (Some(ma), _) if ma >= 5 => false,
            (Some(4), Some(mi)) => mi < 7,
            _ => true,
        };
    }
    !m.starts_with("claude-fable")
}

fn needs_reasoning_headroom(p: Provider, model: &str) -> bool {
    match p {
        Provider::OpenAi => is_openai_reasoning(model),
        Provider::Groq | Provider::OpenRouter => model.to_ascii_lowercase().contains("gpt-oss"),
        Provider::Anthropic | Provider::ForgeLlm => false,
    }
}

fn clamp_temperature(t: f64, max: f64) -> f64 {
    if t.is_finite() {
        t.clamp(0.0, max)
    } else {
        0.0
    }
}

// ---- requests ----

/// One provider call in that provider's native format. `temperature` is omitted for models
/// that reject it (OpenAI reasoning models, Claude Opus 4.7+).
pub fn build_request(
    p: Provider,
    model: &str,
    api_key: &str,
    temperature: f64,
    max_tokens: u32,
    parts: &PromptParts,
) -> HttpRequest {
    build(
        p,
        model,
        api_key,
        Some(temperature),
        max_tokens,
        parts,
        false,
    )
}

/// A tiny "Test connection" call: one short message, a one-token answer (16 for the Responses
/// API, its minimum). Judge the answer with [`parse_probe`].
pub fn build_probe(p: Provider, model: &str, api_key: &str) -> HttpRequest {
    let parts = PromptParts {
        system: String::new(),
        cacheable_prefix: String::new(),
        tail: PROBE_TEXT.to_string(),
    };
    let max = if p == Provider::OpenAi && openai_uses_responses_api(model) {
        16
    } else {
        1
    };
    build(p, model, api_key, None, max, &parts, true)
}

fn build(
    p: Provider,
    model: &str,
    api_key: &str,
    temperature: Option<f64>,
    max_tokens: u32,
    parts: &PromptParts,
    probe: bool,
) -> HttpRequest {
    let max_tokens = if !probe && needs_reasoning_headroom(p, model) {
        max_tokens.saturating_add(REASONING_HEADROOM_TOKENS)
    } else {
        max_tokens.max(1)
    };
    match p {
        Provider::Anthropic => anthropic_request(model, api_key, temperature, max_tokens, parts),
        Provider::OpenAi if openai_uses_responses_api(model) => {
            openai_responses_request(model, api_key, max_tokens, parts)
        }
        _ => chat_request(p, model, api_key, temperature, max_tokens, parts),
    }
}

// ---- one call, sent the provider's way ----

/// One provider call, ready to send: HTTPS through the manifest's egress with the tenant's key,
/// or a Forge LLMs prompt through the platform's `llm` capability (no egress, no key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Fetch(HttpRequest),
    /// `@forge/llm`'s `Prompt` as JSON.
    ForgeLlm(String),
}

/// The PROMPT step's call for `p` ([`build_request`] for the HTTP providers).
pub fn build_call(
    p: Provider,
    model: &str,
    api_key: &str,
    temperature: f64,
    max_tokens: u32,
    parts: &PromptParts,
) -> Call {
    match p {
        Provider::ForgeLlm => Call::ForgeLlm(forge_llm_prompt(
            model,
            Some(temperature),
            max_tokens.max(1),
            parts,
        )),
        _ => Call::Fetch(build_request(
            p,
            model,
            api_key,
            temperature,
            max_tokens,
            parts,
        )),
    }
}

/// The "Test connection" call for `p` ([`build_probe`] for the HTTP providers).
pub fn build_probe_call(p: Provider, model: &str, api_key: &str) -> Call {
    match p {
        Provider::ForgeLlm => {
            let parts = PromptParts {
                tail: PROBE_TEXT.to_string(),
                ..PromptParts::default()
            };
            Call::ForgeLlm(forge_llm_prompt(model, None, 1, &parts))
        }
        _ => Call::Fetch(build_probe(p, model, api_key)),
    }
}

/// `@forge/llm` `chat`'s `Prompt`: system and user messages as plain strings (Forge LLMs takes
/// no cache breakpoints), `max_completion_tokens`, and `temperature` within the package's 0–1
/// (never `top_p` too: Haiku 4.5 and Sonnet 4.5 refuse both).
pub fn forge_llm_prompt(
    model: &str,
    temperature: Option<f64>,
    max_tokens: u32,
    parts: &PromptParts,
) -> String {
    let mut messages = Vec::new();
    if !parts.system.is_empty() {
        messages.push(json!({ "role": "system", "content": parts.system }));
    }
    let text = parts.user_prompt();
    messages.push(json!({
        "role": "user",
        "content": if text.is_empty() { "(no content)".to_string() } else { text }
    }));
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert("max_completion_tokens".into(), json!(max_tokens.max(1)));
    if let Some(t) = temperature {
        body.insert("temperature".into(), json!(clamp_temperature(t, 1.0)));
    }
    Value::Object(body).to_string()
}

/// Sends a PROMPT step's call and classifies the answer onto the step's error codes.
pub fn send(host: &dyn Host, p: Provider, call: &Call) -> Result<Completion, ProviderFailure> {
    match call {
        Call::Fetch(req) => match host.fetch(req) {
            Ok(r) => parse_response(p, &r),
            Err(HostError::Timeout) => Err(ProviderFailure::new(ErrorCode::Timeout)),
            Err(HostError::Forbidden(_)) => Err(ProviderFailure::new(ErrorCode::Misconfigured)),
            Err(_) => Err(ProviderFailure::new(ErrorCode::Unavailable)),
        },
        Call::ForgeLlm(prompt) => match host.llm_chat(prompt) {
            Ok(body) => parse_forge_llm(&body),
            Err(e) => Err(forge_llm_failure(&e)),
        },
    }
}

/// Sends a "Test connection" call: `Ok` when the provider accepted key and model.
pub fn send_probe(host: &dyn Host, p: Provider, call: &Call) -> Result<(), ErrorCode> {
    match call {
        Call::Fetch(req) => match host.fetch(req) {
            Ok(r) => parse_probe(p, &r).map_err(|f| f.code),
            Err(HostError::Timeout) => Err(ErrorCode::Timeout),
            Err(_) => Err(ErrorCode::Unavailable),
        },
        // Any answer means the module, the model and the prompt were accepted.
        Call::ForgeLlm(prompt) => host
            .llm_chat(prompt)
            .map(|_| ())
            .map_err(|e| forge_llm_failure(&e).code),
    }
}

fn ephemeral() -> Value {
    json!({ "type": "ephemeral" })
}

fn anthropic_request(
    model: &str,
    api_key: &str,
    temperature: Option<f64>,
    max_tokens: u32,
    parts: &PromptParts,
) -> HttpRequest {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(t) = temperature {
        if anthropic_accepts_temperature(model) {
            body.insert("temperature".into(), json!(clamp_temperature(t, 1.0)));
        }
    }
    if !parts.system.is_empty() {
        body.insert(
            "system".into(),
            json!([{ "type": "text", "text": parts.system, "cache_control": ephemeral() }]),
        );
    }
    // Anthropic rejects empty text blocks, so only non-empty parts become blocks.
    let mut content = Vec::new();
    if !parts.cacheable_prefix.is_empty() {
        content.push(json!({
            "type": "text",
            "text": parts.cacheable_prefix,
            "cache_control": ephemeral()
        }));
    }
    if !parts.tail.is_empty() {
        content.push(json!({ "type": "text", "text": parts.tail }));
    }
    if content.is_empty() {
        content.push(json!({ "type": "text", "text": "(no content)" }));
    }
    body.insert(
        "messages".into(),
        json!([{ "role": "user", "content": content }]),
    );
    let mut req = HttpRequest::with_json(
        "POST",
        ANTHROPIC_MESSAGES_URL,
        Value::Object(body).to_string(),
    );
    req.headers.push(("x-api-key".into(), api_key.to_string()));
    req.headers
        .push(("anthropic-version".into(), ANTHROPIC_VERSION.to_string()));
    req
}

fn chat_request(
    p: Provider,
    model: &str,
    api_key: &str,
    temperature: Option<f64>,
    max_tokens: u32,
    parts: &PromptParts,
) -> HttpRequest {
    // Anthropic models behind OpenRouter only cache with explicit breakpoints; OpenAI and Groq
    // cache the longest identical prefix automatically, so a plain string keeps it stable.
    let explicit_cache =
        p == Provider::OpenRouter && model.to_ascii_lowercase().starts_with("anthropic/");
    let mut messages = Vec::new();
    if !parts.system.is_empty() {
        if explicit_cache {
            messages.push(json!({
                "role": "system",
                "content": [{ "type": "text", "text": parts.system, "cache_control": ephemeral() }]
            }));
        } else {
            messages.push(json!({ "role": "system", "content": parts.system }));
        }
    }
    let user_content = if explicit_cache && !parts.cacheable_prefix.is_empty() {
        let mut blocks = vec![json!({
            "type": "text",
            "text": parts.cacheable_prefix,
            "cache_control": ephemeral()
        })];
        if !parts.tail.is_empty() {
            blocks.push(json!({ "type": "text", "text": parts.tail }));
        }
        Value::Array(blocks)
    } else {
        let text = parts.user_prompt();
        Value::String(if text.is_empty() {
            "(no content)".to_string()
        } else {
            text
        })
    };
    messages.push(json!({ "role": "user", "content": user_content }));

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(t) = temperature {
        if !(p == Provider::OpenAi && is_openai_reasoning(model)) {
            body.insert("temperature".into(), json!(clamp_temperature(t, 2.0)));
        }
    }
    let token_key = if p == Provider::OpenAi {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    body.insert(token_key.into(), json!(max_tokens));

    let url = match p {
        Provider::OpenAi => OPENAI_CHAT_URL,
        Provider::Groq => GROQ_CHAT_URL,
        // Anthropic and Forge LLMs never reach here; keep the match total without a panic.
        Provider::OpenRouter | Provider::Anthropic | Provider::ForgeLlm => OPENROUTER_CHAT_URL,
    };
    let mut req = HttpRequest::with_json("POST", url, Value::Object(body).to_string());
    req.headers
        .push(("Authorization".into(), format!("Bearer {api_key}")));
    if p == Provider::OpenRouter {
        req.headers
            .push(("HTTP-Referer".into(), APP_REFERER.to_string()));
        req.headers.push(("X-Title".into(), APP_TITLE.to_string()));
    }
    req
}

fn openai_responses_request(
    model: &str,
    api_key: &str,
    max_tokens: u32,
    parts: &PromptParts,
) -> HttpRequest {
    let mut content = Vec::new();
    if !parts.cacheable_prefix.is_empty() {
        content.push(json!({ "type": "input_text", "text": parts.cacheable_prefix }));
    }
    if !parts.tail.is_empty() {
        content.push(json!({ "type": "input_text", "text": parts.tail }));
    }
    if content.is_empty() {
        content.push(json!({ "type": "input_text", "text": "(no content)" }));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if !parts.system.is_empty() {
        body.insert("instructions".into(), json!(parts.system));
    }
    body.insert(
        "input".into(),
        json!([{ "role": "user", "content": content }]),
    );
    body.insert("max_output_tokens".into(), json!(max_tokens.max(16)));
    // Responses are stored by default; approval data should not be kept at the provider.
    body.insert("store".into(), json!(false));
    let mut req = HttpRequest::with_json(
        "POST",
        OPENAI_RESPONSES_URL,
        Value::Object(body).to_string(),
    );
    req.headers
        .push(("Authorization".into(), format!("Bearer {api_key}")));
    req
}

// ---- responses ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidKey,
    RateLimited,
    BudgetExhausted,
    Timeout,
    ContentBlocked,
    OutputTruncated,
    EmptyResponse,
    Unavailable,
    Misconfigured,
    PromptTooLarge,
    Other,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidKey,
        ErrorCode::RateLimited,
        ErrorCode::BudgetExhausted,
        ErrorCode::Timeout,
        ErrorCode::ContentBlocked,
        ErrorCode::OutputTruncated,
        ErrorCode::EmptyResponse,
        ErrorCode::Unavailable,
        ErrorCode::Misconfigured,
        ErrorCode::PromptTooLarge,
        ErrorCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidKey => "INVALID_KEY",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::BudgetExhausted => "BUDGET_EXHAUSTED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ContentBlocked => "CONTENT_BLOCKED",
            ErrorCode::OutputTruncated => "OUTPUT_TRUNCATED",
            ErrorCode::EmptyResponse => "EMPTY_RESPONSE",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Misconfigured => "MISCONFIGURED",
            ErrorCode::PromptTooLarge => "PROMPT_TOO_LARGE",
            ErrorCode::Other => "OTHER",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Auto-retried once: the cause usually clears by itself.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited | ErrorCode::Timeout | ErrorCode::Unavailable
        )
    }

    /// Only the first occurrence per 24 h reaches the admin error inbox.
    pub fn is_stable_cause(&self) -> bool {
        matches!(
            self,
            ErrorCode::BudgetExhausted | ErrorCode::InvalidKey | ErrorCode::Misconfigured
        )
    }

    /// A fixed, user-safe one-liner (never provider text).
    pub fn user_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidKey => {
                "The AI provider rejected the API key. Rotate the key in Settings → AI → General."
            }
            ErrorCode::RateLimited => "The AI provider is rate limiting requests. Try again shortly.",
            ErrorCode::BudgetExhausted => {
                "The AI provider account has no remaining quota or credits."
            }
            ErrorCode::Timeout => "The AI provider did not answer in time.",
            ErrorCode::ContentBlocked => {
                "The AI provider's content filter blocked the request or its answer."
            }
            ErrorCode::OutputTruncated => {
                "The AI answer was cut off at the output token limit."
            }
            ErrorCode::EmptyResponse => "The AI provider returned an empty answer.",
            ErrorCode::Unavailable => "The AI provider is temporarily unavailable.",
            ErrorCode::Misconfigured => {
                "The AI provider rejected the request settings. Check the model id in Settings → AI → General."
            }
            ErrorCode::PromptTooLarge => {
                "The prompt is too large for the selected model; trim the template."
            }
            ErrorCode::Other => "The AI provider call failed unexpectedly.",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub text: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// The model the provider reports (may carry a dated suffix); empty if it reports none.
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderFailure {
    pub code: ErrorCode,
    /// Sanitized: [`ErrorCode::user_message`] plus the HTTP status, never the provider body.
    pub message: String,
    pub retry_after_s: Option<u32>,
    /// An HTTP-date `retry-after` (epoch ms): the worker turns it into a wait with its clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// The provider said `x-should-retry: false`: a retry would fail the same way.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_retry: bool,
    /// Tokens the provider billed anyway (truncated or filtered answers), for the budget.
    pub tokens_in: u64,
    pub tokens_out: u64,
}

impl ProviderFailure {
    pub fn new(code: ErrorCode) -> Self {
        ProviderFailure {
            code,
            message: code.user_message().to_string(),
            retry_after_s: None,
            retry_at_ms: None,
            no_retry: false,
            tokens_in: 0,
            tokens_out: 0,
        }
    }

    fn with_status(code: ErrorCode, status: u16) -> Self {
        let mut f = ProviderFailure::new(code);
        f.message = format!("{} (HTTP {status})", code.user_message());
        f
    }

    fn with_usage(mut self, usage: (u64, u64)) -> Self {
        self.tokens_in = usage.0;
        self.tokens_out = usage.1;
        self
    }
}

/// Maps a provider answer to a completion or a classified failure.
pub fn parse_response(p: Provider, resp: &HttpResponse) -> Result<Completion, ProviderFailure> {
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    if !(200..300).contains(&resp.status) {
        return Err(failure_from_status(resp, json.as_ref()));
    }
    if resp.body.trim().is_empty() {
        return Err(ProviderFailure::new(ErrorCode::EmptyResponse));
    }
    let Some(v) = json else {
        return Err(ProviderFailure::new(ErrorCode::Other));
    };
    // OpenRouter reports some upstream failures as a 200 carrying an error envelope.
    if let Some(err) = v.get("error").filter(|e| e.is_object()) {
        if v.get("choices").is_none() && v.get("content").is_none() && v.get("output").is_none() {
            return Err(failure_from_embedded(err));
        }
    }
    match p {
        Provider::Anthropic => parse_anthropic(&v),
        _ if v.get("object").and_then(Value::as_str) == Some("response")
            || v.get("output").is_some_and(Value::is_array) =>
        {
            parse_openai_responses(&v)
        }
        _ => parse_chat(&v),
    }
}

/// Test-connection verdict: any 2xx means key and model were accepted (the one-token answer
/// itself is irrelevant). A 400 that only complains about the tiny token cap also passes.
pub fn parse_probe(p: Provider, resp: &HttpResponse) -> Result<(), ProviderFailure> {
    let _ = p;
    if (200..300).contains(&resp.status) {
        return Ok(());
    }
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    if resp.status == 400 {
        let msg = error_fields(json.as_ref()).2;
        if msg.contains("max_tokens")
            || msg.contains("max_completion_tokens")
            || msg.contains("max_output_tokens")
            || msg.contains("output limit")
        {
            return Ok(());
        }
    }
    Err(failure_from_status(resp, json.as_ref()))
}

/// `@forge/llm`'s `ChatResponse`: `choices[0].message.content` (a string or text parts) and
/// `usage.{input_tokens, output_tokens}` (the API reference page spells them `input_token` /
/// `output_token`; both are read). `finish_reason` is read in either vocabulary the platform
/// may pass through (OpenAI-style `length` / `content_filter`, Claude's `max_tokens` / `refusal`).
pub fn parse_forge_llm(body: &str) -> Result<Completion, ProviderFailure> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Err(if body.trim().is_empty() {
            ProviderFailure::new(ErrorCode::EmptyResponse)
        } else {
            ProviderFailure::new(ErrorCode::Other)
        });
    };
    let usage = v.get("usage");
    let either = |a: &str, b: &str| {
        let x = u64_at(usage, a);
        if x > 0 {
            x
        } else {
            u64_at(usage, b)
        }
    };
    let tokens = (
        either("input_tokens", "input_token"),
        either("output_tokens", "output_token"),
    );
    let Some(choices) = v.get("choices").and_then(Value::as_array) else {
        return Err(ProviderFailure::new(ErrorCode::Other).with_usage(tokens));
    };
    let Some(choice) = choices.first() else {
        return Err(ProviderFailure::new(ErrorCode::EmptyResponse).with_usage(tokens));
    };
    match choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .unwrap_or("")
    {
        "content_filter" | "content_filtered" | "refusal" | "guardrail_intervened" => {
            return Err(ProviderFailure::new(ErrorCode::ContentBlocked).with_usage(tokens))
        }
        "length" | "max_tokens" | "model_context_window_exceeded" => {
            return Err(ProviderFailure::new(ErrorCode::OutputTruncated).with_usage(tokens))
        }
        _ => {}
    }
    let text = match choice.pointer("/message/content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    };
    finish(text, tokens, model_of(&v))
}

/// A failed `@forge/llm` call (the host error the adapter made of its `ForgeLlmAPIError` or
/// `PromptValidationError`) as the step's error code: 429 → RATE_LIMITED with the wait, a
/// timeout → TIMEOUT, 5xx → UNAVAILABLE, over the context window → PROMPT_TOO_LARGE, and a
/// refused request, model or module (400/401/403/404) → MISCONFIGURED. Never the platform's text.
pub fn forge_llm_failure(e: &HostError) -> ProviderFailure {
    match e {
        HostError::RateLimited { retry_after_s } => {
            let mut f = ProviderFailure::new(ErrorCode::RateLimited);
            f.retry_after_s = (*retry_after_s > 0).then_some(*retry_after_s);
            f
        }
        HostError::Timeout => ProviderFailure::new(ErrorCode::Timeout),
        HostError::Unavailable(_) => ProviderFailure::new(ErrorCode::Unavailable),
        HostError::TooLarge(_) => ProviderFailure::new(ErrorCode::PromptTooLarge),
        HostError::Invalid(m) => {
            let m = m.to_lowercase();
            if m.contains("context") || m.contains("too long") || m.contains("too many tokens") {
                ProviderFailure::new(ErrorCode::PromptTooLarge)
            } else {
                ProviderFailure::new(ErrorCode::Misconfigured)
            }
        }
        HostError::Forbidden(_) | HostError::NotFound => {
            ProviderFailure::new(ErrorCode::Misconfigured)
        }
        HostError::Conflict(_) => ProviderFailure::new(ErrorCode::Other),
    }
}

fn u64_at(v: Option<&Value>, key: &str) -> u64 {
    v.and_then(|u| u.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn model_of(v: &Value) -> String {
    v.get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn parse_anthropic(v: &Value) -> Result<Completion, ProviderFailure> {
    let usage = v.get("usage");
    // Cached prefix tokens are billed too (at a different rate); count them as input.
    let tokens = (
        u64_at(usage, "input_tokens")
            + u64_at(usage, "cache_read_input_tokens")
            + u64_at(usage, "cache_creation_input_tokens"),
        u64_at(usage, "output_tokens"),
    );
    let Some(blocks) = v.get("content").and_then(Value::as_array) else {
        return Err(ProviderFailure::new(ErrorCode::Other).with_usage(tokens));
    };
    match v.get("stop_reason").and_then(Value::as_str).unwrap_or("") {
        "refusal" => return Err(ProviderFailure::new(ErrorCode::ContentBlocked).with_usage(tokens)),
        "max_tokens" | "model_context_window_exceeded" => {
            return Err(ProviderFailure::new(ErrorCode::OutputTruncated).with_usage(tokens))
        }
        _ => {}
    }
    let text: String = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("");
    finish(text, tokens, model_of(v))
}

fn parse_chat(v: &Value) -> Result<Completion, ProviderFailure> {
    let usage = v.get("usage");
    let tokens = (
        u64_at(usage, "prompt_tokens"),
        u64_at(usage, "completion_tokens"),
    );
    let Some(choices) = v.get("choices").and_then(Value::as_array) else {
        return Err(ProviderFailure::new(ErrorCode::Other).with_usage(tokens));
    };
    let Some(choice) = choices.first() else {
        return Err(ProviderFailure::new(ErrorCode::EmptyResponse).with_usage(tokens));
    };
    if let Some(err) = choice.get("error").filter(|e| e.is_object()) {
        return Err(failure_from_embedded(err).with_usage(tokens));
    }
    let message = choice.get("message");
    let refused = message
        .and_then(|m| m.get("refusal"))
        .and_then(Value::as_str)
        .is_some_and(|r| !r.trim().is_empty());
    match choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .unwrap_or("")
    {
        "content_filter" => {
            return Err(ProviderFailure::new(ErrorCode::ContentBlocked).with_usage(tokens))
        }
        _ if refused => {
            return Err(ProviderFailure::new(ErrorCode::ContentBlocked).with_usage(tokens))
        }
        "length" => return Err(ProviderFailure::new(ErrorCode::OutputTruncated).with_usage(tokens)),
        _ => {}
    }
    let text = match message.and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        // Some OpenAI-compatible models answer with content parts.
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    };
    finish(strip_think(&text), tokens, model_of(v))
}

fn parse_openai_responses(v: &Value) -> Result<Completion, ProviderFailure> {
    let usage = v.get("usage");
    let tokens = (
        u64_at(usage, "input_tokens"),
        u64_at(usage, "output_tokens"),
    );
    match v.get("status").and_then(Value::as_str).unwrap_or("") {
        "incomplete" => {
            let reason = v
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str)
                .unwrap_or("");
            let code = if reason == "content_filter" {
                ErrorCode::ContentBlocked
            } else {
                ErrorCode::OutputTruncated
            };
            return Err(ProviderFailure::new(code).with_usage(tokens));
        }
        "failed" => {
            let code = match v
                .pointer("/error/code")
                .and_then(Value::as_str)
                .unwrap_or("")
            {
                "rate_limit_exceeded" => ErrorCode::RateLimited,
                "server_error" => ErrorCode::Unavailable,
                _ => ErrorCode::Other,
            };
            return Err(ProviderFailure::new(code).with_usage(tokens));
        }
        _ => {}
    }
    let mut text = String::new();
    let mut refused = false;
    for item in v
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if item.get("type").and_then(Value::as_str) != Some("message") {
            continue;
        }
        for c in item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match c.get("type").and_then(Value::as_str) {
                Some("output_text") => {
                    text.push_str(c.get("text").and_then(Value::as_str).unwrap_or(""))
                }
                Some("refusal") => refused = true,
                _ => {}
            }
        }
    }
    if refused && text.trim().is_empty() {
        return Err(ProviderFailure::new(ErrorCode::ContentBlocked).with_usage(tokens));
    }
    finish(text, tokens, model_of(v))
}

fn finish(text: String, tokens: (u64, u64), model: String) -> Result<Completion, ProviderFailure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ProviderFailure::new(ErrorCode::EmptyResponse).with_usage(tokens));
    }
    Ok(Completion {
        text: text.to_string(),
        tokens_in: tokens.0,
        tokens_out: tokens.1,
        model,
    })
}

/// Drops a leading `<think>…</think>` block that some open models emit before the answer.
fn strip_think(text: &str) -> String {
    let t = text.trim_start();
    if t.starts_with("<think>") {
        if let Some(end) = t.find("</think>") {
            return t[end + "</think>".len()..].to_string();
        }
    }
    text.to_string()
}

/// (error type, error code, message), lowercased, from the common envelopes:
/// Anthropic `{"type":"error","error":{"type","message"}}`, OpenAI/Groq
/// `{"error":{"message","type","code"}}`, OpenRouter `{"error":{"code":402,"message"}}`.
fn error_fields(v: Option<&Value>) -> (String, String, String) {
    let err = v.and_then(|v| v.get("error"));
    let text = |key: &str| -> String {
        match err.and_then(|e| e.get(key)) {
            Some(Value::String(s)) => s.to_lowercase(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    let message = match err {
        Some(Value::String(s)) => s.to_lowercase(),
        _ => text("message"),
    };
    (text("type"), text("code"), message)
}

fn classify(status: u16, v: Option<&Value>) -> ErrorCode {
    let (etype, ecode, msg) = error_fields(v);
    let tc = |needle: &str| etype == needle || ecode == needle;
    if status == 402
        || tc("insufficient_quota")
        || tc("billing_error")
        || msg.contains("credit balance is too low")
        || msg.contains("insufficient credits")
        || msg.contains("exceeded your current quota")
    {
        return ErrorCode::BudgetExhausted;
    }
    if (400..500).contains(&status) {
        if tc("content_filter")
            || tc("content_policy_violation")
            || msg.contains("flagged")
            || msg.contains("moderation")
        {
            return ErrorCode::ContentBlocked;
        }
        if status == 413
            || tc("context_length_exceeded")
            || tc("request_too_large")
            || msg.contains("context length")
            || msg.contains("context_length")
            || msg.contains("context window")
            || msg.contains("prompt is too long")
            || msg.contains("maximum context")
            || msg.contains("too many tokens")
            || msg.contains("reduce the length")
        {
            return ErrorCode::PromptTooLarge;
        }
        if msg.contains("max_tokens or model output limit") {
            return ErrorCode::OutputTruncated;
        }
    }
    match status {
        401 | 403 => ErrorCode::InvalidKey,
        408 => ErrorCode::Timeout,
        429 => ErrorCode::RateLimited,
        400 | 404 | 405 | 409 | 415 | 422 => ErrorCode::Misconfigured,
        524 => ErrorCode::Timeout,
        // Groq: "capacity exceeded", transient like an overload.
        498 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Unavailable,
        _ if etype == "overloaded_error" => ErrorCode::Unavailable,
        _ => ErrorCode::Other,
    }
}

fn failure_from_status(resp: &HttpResponse, v: Option<&Value>) -> ProviderFailure {
    let code = classify(resp.status, v);
    let mut f = ProviderFailure::with_status(code, resp.status);
    if code.is_transient() {
        f.retry_after_s = retry_after(resp);
        if f.retry_after_s.is_none() {
            f.retry_at_ms = resp.header("retry-after").and_then(parse_http_date);
        }
        f.no_retry = resp
            .header("x-should-retry")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    }
    f
}

/// `Wed, 21 Oct 2015 07:28:00 GMT` (RFC 9110 IMF-fixdate) → epoch ms.
pub fn parse_http_date(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, hms, zone] = parts.as_slice() else {
        return None;
    };
    if !zone.eq_ignore_ascii_case("GMT") {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(month))? + 1;
    let d: u32 = day.parse().ok()?;
    let y: u32 = year.parse().ok()?;
    crate::time::parse(&format!("{y:04}-{m:02}-{d:02}T{hms}Z"))
}

/// An error object inside a 200 (OpenRouter): its numeric `code` is an HTTP-like status.
fn failure_from_embedded(err: &Value) -> ProviderFailure {
    let status = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(0);
    let wrapped = json!({ "error": err });
    let code = if status == 0 {
        ErrorCode::Other
    } else {
        classify(status, Some(&wrapped))
    };
    ProviderFailure::new(code)
}

/// `retry-after-ms` first (the more precise, as the providers' SDKs read it), then
/// `retry-after` in seconds, or OpenAI's `x-ratelimit-reset-requests` / `-tokens` durations such
/// as `1s`, `6m0s`, `20ms`. Non-positive or unparseable values are ignored; an HTTP-date is read
/// by the caller (it needs the clock).
fn retry_after(resp: &HttpResponse) -> Option<u32> {
    if let Some(ms) = resp.header("retry-after-ms").and_then(parse_seconds) {
        return Some(ms.div_ceil(1000));
    }
    if let Some(s) = resp.header("retry-after").and_then(parse_seconds) {
        return Some(s);
    }
    for h in ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"] {
        if let Some(s) = resp.header(h).and_then(parse_duration) {
            return Some(s);
        }
    }
    None
}

const MAX_RETRY_AFTER_S: f64 = 86_400.0;

fn parse_seconds(v: &str) -> Option<u32> {
    let x: f64 = v.trim().parse().ok()?;
    if !x.is_finite() || x <= 0.0 {
        return None;
    }
    Some(x.min(MAX_RETRY_AFTER_S).ceil() as u32)
}

fn parse_duration(v: &str) -> Option<u32> {
    let v = v.trim();
    if let Some(s) = parse_seconds(v) {
        return Some(s);
    }
    let mut total_ms = 0f64;
    let mut num = String::new();
    let mut unit = String::new();
    let mut seen = false;
    let mut flush = |num: &mut String, unit: &mut String| -> Option<()> {
        if num.is_empty() {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let factor = match unit.as_str() {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1_000.0,
            "ms" => 1.0,
            _ => return None,
        };
        total_ms += n * factor;
        num.clear();
        unit.clear();
        Some(())
    };
    for c in v.chars() {
        if c.is_ascii_digit() || c == '.' {
            if !unit.is_empty() {
                flush(&mut num, &mut unit)?;
            }
            num.push(c);
        } else if c.is_ascii_alphabetic() {
            unit.push(c);
        } else {
            return None;
        }
        seen = true;
    }
    if !seen {
        return None;
    }
    flush(&mut num, &mut unit)?;
    let secs = (total_ms / 1000.0).min(MAX_RETRY_AFTER_S).ceil();
    Some(secs as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> PromptParts {
        PromptParts {
            system: "You are an approval workflow analyst.".into(),
            cacheable_prefix: "## Request\nSummarise.\n".into(),
            tail: "## Work Item Data\n{\"key\":\"FIN-42\"}".into(),
        }
    }

    fn body_of(req: &HttpRequest) -> Value {
        serde_json::from_str(req.body.as_deref().expect("body")).expect("json body")
    }

    fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    fn code(p: Provider, status: u16, body: &str) -> ErrorCode {
        parse_response(p, &resp(status, body)).unwrap_err().code
    }

    // covers: AP-140, AP-141, AP-142, AP-143, AP-038
    #[test]
    fn curated_models_and_key_pages_per_provider() {
        assert_eq!(
            curated_models(Provider::Anthropic),
            ["claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"]
        );
        assert_eq!(
            curated_models(Provider::OpenAi),
            [
                "gpt-5.5",
                "gpt-5.5-pro",
                "gpt-5.4",
                "gpt-5.4-pro",
                "gpt-5.4-mini",
                "gpt-4.1"
            ]
        );
        assert_eq!(
            curated_models(Provider::Groq),
            ["llama-3.3-70b-versatile", "openai/gpt-oss-120b"]
        );
        assert_eq!(curated_models(Provider::OpenRouter).len(), 10);
        assert!(curated_models(Provider::OpenRouter).contains(&"x-ai/grok-2-1212"));
        for p in Provider::ALL {
            for m in curated_models(p) {
                assert!(model_label(m).is_some(), "{m} has no label");
                assert!(is_valid_model_id(m));
            }
            match p.key_page_url() {
                Some(u) => assert!(u.starts_with("https://") && p.needs_api_key()),
                None => assert!(!p.needs_api_key() && p.host().is_none()),
            }
            assert!(curated_models(p).contains(&p.default_model()));
        }
        assert_eq!(model_label("gpt-5.4-mini"), Some("GPT-5.4 mini"));
        assert!(!is_valid_model_id("gpt 4\"}"));
    }

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), json!(p.as_str()));
        }
        assert_eq!(Provider::parse(" OpenAI "), Some(Provider::OpenAi));
        assert_eq!(Provider::parse("azure"), None);
        let p: Provider = serde_json::from_str("\"openrouter\"").unwrap();
        assert_eq!(p, Provider::OpenRouter);
    }

    // covers: AP-032, AP-145, AP-146
    #[test]
    fn anthropic_request_is_the_messages_api_with_cache_breakpoints() {
        let req = build_request(
            Provider::Anthropic,
            "claude-sonnet-4-6",
            "sk-ant-123",
            0.2,
            1500,
            &parts(),
        );
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
        assert_eq!(header(&req, "x-api-key"), Some("sk-ant-123"));
        assert_eq!(header(&req, "anthropic-version"), Some("2023-06-01"));
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(header(&req, "authorization"), None);
        let b = body_of(&req);
        assert_eq!(b["model"], "claude-sonnet-4-6");
        assert_eq!(b["max_tokens"], 1500);
        assert_eq!(b["temperature"], 0.2);
        assert_eq!(b["system"][0]["type"], "text");
        assert_eq!(
            b["system"][0]["text"],
            "You are an approval workflow analyst."
        );
        assert_eq!(b["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(b["messages"][0]["role"], "user");
        let content = b["messages"][0]["content"].as_array().unwrap();
        assert_eq!(content.len(), 2);
        assert_eq!(content[0]["text"], "## Request\nSummarise.\n");
        assert_eq!(content[0]["cache_control"]["type"], "ephemeral");
        assert_eq!(
            content[1]["text"],
            "## Work Item Data\n{\"key\":\"FIN-42\"}"
        );
        assert!(content[1].get("cache_control").is_none());
    }

    #[test]
    fn opus_4_7_gets_no_temperature_and_empty_parts_are_skipped() {
        let p = PromptParts {
            system: String::new(),
            cacheable_prefix: String::new(),
            tail: "hi".into(),
        };
        let b = body_of(&build_request(
            Provider::Anthropic,
            "claude-opus-4-7",
            "k",
            0.5,
            100,
            &p,
        ));
        assert!(b.get("temperature").is_none());
        assert!(b.get("system").is_none());
        assert_eq!(b["messages"][0]["content"].as_array().unwrap().len(), 1);
        let b = body_of(&build_request(
            Provider::Anthropic,
            "claude-opus-4-1-20250805",
            "k",
            1.7,
            100,
            &p,
        ));
        assert_eq!(b["temperature"], 1.0);
    }

    // covers: AP-032, AP-145, AP-146
    #[test]
    fn openai_groq_openrouter_use_chat_completions() {
        let req = build_request(Provider::OpenAi, "gpt-4.1", "sk-open", 0.3, 800, &parts());
        assert_eq!(req.url, "https://api.openai.com/v1/chat/completions");
        assert_eq!(header(&req, "authorization"), Some("Bearer sk-open"));
        let b = body_of(&req);
        assert_eq!(b["model"], "gpt-4.1");
        assert_eq!(b["temperature"], 0.3);
        assert_eq!(b["max_completion_tokens"], 800);
        assert!(b.get("max_tokens").is_none());
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["messages"][1]["role"], "user");
        assert_eq!(
            b["messages"][1]["content"],
            "## Request\nSummarise.\n## Work Item Data\n{\"key\":\"FIN-42\"}"
        );

        let req = build_request(
            Provider::Groq,
            "llama-3.3-70b-versatile",
            "gsk",
            0.3,
            800,
            &parts(),
        );
        assert_eq!(req.url, "https://api.groq.com/openai/v1/chat/completions");
        let b = body_of(&req);
        assert_eq!(b["max_tokens"], 800);
        assert!(b.get("max_completion_tokens").is_none());
        assert_eq!(b["temperature"], 0.3);

        let req = build_request(
            Provider::OpenRouter,
            "google/gemini-2.5-pro",
            "or",
            0.3,
            800,
            &parts(),
        );
        assert_eq!(req.url, "https://openrouter.ai/api/v1/chat/completions");
        assert_eq!(header(&req, "authorization"), Some("Bearer or"));
        assert_eq!(header(&req, "x-title"), Some("AI Clearance"));
        assert!(header(&req, "http-referer").is_some());
        assert_eq!(body_of(&req)["max_tokens"], 800);

        // Anthropic models behind OpenRouter get explicit cache breakpoints.
        let b = body_of(&build_request(
            Provider::OpenRouter,
            "anthropic/claude-sonnet-4.5",
            "or",
            0.3,
            800,
            &parts(),
        ));
        assert_eq!(
            b["messages"][1]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(
            b["messages"][0]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
    }

    #[test]
    fn openai_reasoning_and_pro_models() {
        let b = body_of(&build_request(
            Provider::OpenAi,
            "gpt-5.4",
            "k",
            0.3,
            800,
            &parts(),
        ));
        assert!(b.get("temperature").is_none());
        assert_eq!(b["max_completion_tokens"], 800 + REASONING_HEADROOM_TOKENS);

        let req = build_request(Provider::OpenAi, "gpt-5.5-pro", "k", 0.3, 800, &parts());
        assert_eq!(req.url, OPENAI_RESPONSES_URL);
        let b = body_of(&req);
        assert_eq!(b["instructions"], "You are an approval workflow analyst.");
        assert_eq!(b["input"][0]["content"][0]["type"], "input_text");
        assert_eq!(b["store"], false);
        assert!(b.get("temperature").is_none());
    }

    // covers: AP-035
    #[test]
    fn probe_is_tiny() {
        for p in Provider::EGRESS {
            let model = curated_models(p)[0];
            let req = build_probe(p, model, "key");
            let b = body_of(&req);
            let max = b
                .get("max_tokens")
                .or_else(|| b.get("max_completion_tokens"))
                .or_else(|| b.get("max_output_tokens"))
                .and_then(Value::as_u64)
                .unwrap();
            assert!(max <= 16, "{p:?} probe asks for {max} tokens");
            assert!(req.body.as_deref().unwrap().len() < 400);
        }
        assert!(parse_probe(Provider::OpenAi, &resp(200, "{}")).is_ok());
        let tiny = r#"{"error":{"message":"Could not finish the message because max_tokens or model output limit was reached. Please try again with higher max_tokens.","type":"invalid_request_error","param":null,"code":null}}"#;
        assert!(parse_probe(Provider::OpenAi, &resp(400, tiny)).is_ok());
        let bad = r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        assert_eq!(
            parse_probe(Provider::Anthropic, &resp(401, bad))
                .unwrap_err()
                .code,
            ErrorCode::InvalidKey
        );
    }

    // covers: AP-150
    #[test]
    fn error_codes_serialize_screaming_snake_case() {
        assert_eq!(
            serde_json::to_string(&ErrorCode::InvalidKey).unwrap(),
            "\"INVALID_KEY\""
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::PromptTooLarge).unwrap(),
            "\"PROMPT_TOO_LARGE\""
        );
        for c in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
    }

    // covers: AP-152
    #[test]
    fn only_rate_limit_timeout_unavailable_are_transient() {
        let transient: Vec<ErrorCode> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.is_transient())
            .collect();
        assert_eq!(
            transient,
            [
                ErrorCode::RateLimited,
                ErrorCode::Timeout,
                ErrorCode::Unavailable
            ]
        );
        let stable: Vec<ErrorCode> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.is_stable_cause())
            .collect();
        assert_eq!(
            stable,
            [
                ErrorCode::InvalidKey,
                ErrorCode::BudgetExhausted,
                ErrorCode::Misconfigured
            ]
        );
    }

    // covers: AP-204
    #[test]
    fn anthropic_success_counts_cached_input() {
        let body = r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"Risk Level: High\nConfidence: 7 — clear budget breach"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":120,"cache_creation_input_tokens":2000,"cache_read_input_tokens":300,"output_tokens":80}}"#;
        let c = parse_response(Provider::Anthropic, &resp(200, body)).unwrap();
        assert_eq!(
            c.text,
            "Risk Level: High\nConfidence: 7 — clear budget breach"
        );
        assert_eq!(c.tokens_in, 2420);
        assert_eq!(c.tokens_out, 80);
        assert_eq!(c.model, "claude-sonnet-4-6");
    }

    // covers: AP-150
    #[test]
    fn anthropic_stop_reasons_and_errors() {
        let truncated = r#"{"type":"message","model":"claude-haiku-4-5","content":[{"type":"text","text":"Request: partial"}],"stop_reason":"max_tokens","usage":{"input_tokens":10,"output_tokens":1500}}"#;
        let f = parse_response(Provider::Anthropic, &resp(200, truncated)).unwrap_err();
        assert_eq!(f.code, ErrorCode::OutputTruncated);
        assert_eq!((f.tokens_in, f.tokens_out), (10, 1500));
        let refusal = r#"{"type":"message","content":[],"stop_reason":"refusal","usage":{"input_tokens":10,"output_tokens":0}}"#;
        assert_eq!(
            code(Provider::Anthropic, 200, refusal),
            ErrorCode::ContentBlocked
        );
        let empty = r#"{"type":"message","content":[{"type":"text","text":"  \n"}],"stop_reason":"end_turn","usage":{}}"#;
        assert_eq!(
            code(Provider::Anthropic, 200, empty),
            ErrorCode::EmptyResponse
        );

        let err = |t: &str, m: &str| {
            format!(
                r#"{{"type":"error","error":{{"type":"{t}","message":"{m}"}},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}}"#
            )
        };
        assert_eq!(
            code(
                Provider::Anthropic,
                401,
                &err("authentication_error", "invalid x-api-key")
            ),
            ErrorCode::InvalidKey
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                403,
                &err("permission_error", "no access")
            ),
            ErrorCode::InvalidKey
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                529,
                &err("overloaded_error", "Overloaded")
            ),
            ErrorCode::Unavailable
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                500,
                &err("api_error", "Internal server error")
            ),
            ErrorCode::Unavailable
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                400,
                &err(
                    "invalid_request_error",
                    "prompt is too long: 215000 tokens > 200000 maximum"
                )
            ),
            ErrorCode::PromptTooLarge
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                413,
                &err(
                    "request_too_large",
                    "Request exceeds the maximum allowed number of bytes."
                )
            ),
            ErrorCode::PromptTooLarge
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                404,
                &err("not_found_error", "model: claude-nope")
            ),
            ErrorCode::Misconfigured
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                400,
                &err(
                    "invalid_request_error",
                    "`temperature` is deprecated for this model."
                )
            ),
            ErrorCode::Misconfigured
        );
        assert_eq!(
            code(
                Provider::Anthropic,
                400,
                &err(
                    "invalid_request_error",
                    "Your credit balance is too low to access the Anthropic API."
                )
            ),
            ErrorCode::BudgetExhausted
        );

        let mut r = resp(
            429,
            &err(
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
        );
        r.headers.push(("retry-after".into(), "17".into()));
        let f = parse_response(Provider::Anthropic, &r).unwrap_err();
        assert_eq!(f.code, ErrorCode::RateLimited);
        assert_eq!(f.retry_after_s, Some(17));
    }

    #[test]
    fn openai_success_and_finish_reasons() {
        let ok = r#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Verdict: Approve\nConfidence: 8 — within budget","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1500,"completion_tokens":90,"total_tokens":1590,"prompt_tokens_details":{"cached_tokens":1024}}}"#;
        let c = parse_response(Provider::OpenAi, &resp(200, ok)).unwrap();
        assert_eq!(c.text, "Verdict: Approve\nConfidence: 8 — within budget");
        assert_eq!((c.tokens_in, c.tokens_out), (1500, 90));
        assert_eq!(c.model, "gpt-4.1-2025-04-14");

        let with = |content: &str, refusal: &str, finish: &str| {
            format!(
                r#"{{"object":"chat.completion","model":"gpt-4.1","choices":[{{"index":0,"message":{{"role":"assistant","content":{content},"refusal":{refusal}}},"finish_reason":"{finish}"}}],"usage":{{"prompt_tokens":5,"completion_tokens":7}}}}"#
            )
        };
        assert_eq!(
            code(
                Provider::OpenAi,
                200,
                &with("\"Request: cut\"", "null", "length")
            ),
            ErrorCode::OutputTruncated
        );
        assert_eq!(
            code(
                Provider::OpenAi,
                200,
                &with("null", "null", "content_filter")
            ),
            ErrorCode::ContentBlocked
        );
        assert_eq!(
            code(
                Provider::OpenAi,
                200,
                &with("null", "\"I can't help with that.\"", "stop")
            ),
            ErrorCode::ContentBlocked
        );
        assert_eq!(
            code(Provider::OpenAi, 200, &with("\"   \"", "null", "stop")),
            ErrorCode::EmptyResponse
        );
        assert_eq!(code(Provider::OpenAi, 200, ""), ErrorCode::EmptyResponse);
        assert_eq!(
            code(Provider::OpenAi, 200, "<html>oops</html>"),
            ErrorCode::Other
        );
        assert_eq!(
            code(Provider::OpenAi, 200, r#"{"choices":[]}"#),
            ErrorCode::EmptyResponse
        );
    }

    // covers: AP-150, AP-157, AP-159
    #[test]
    fn openai_errors_map_and_never_echo_the_body() {
        let err = |t: &str, c: &str, m: &str| {
            format!(r#"{{"error":{{"message":"{m}","type":"{t}","param":null,"code":"{c}"}}}}"#)
        };
        let key = err("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-proj-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.");
        let f = parse_response(Provider::OpenAi, &resp(401, &key)).unwrap_err();
        assert_eq!(f.code, ErrorCode::InvalidKey);
        assert!(!f.message.contains("sk-"));
        assert!(f.message.contains("HTTP 401"));

        let quota = err(
            "insufficient_quota",
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details.",
        );
        assert_eq!(
            code(Provider::OpenAi, 429, &quota),
            ErrorCode::BudgetExhausted
        );

        let mut r = resp(429, &err("requests", "rate_limit_exceeded", "Rate limit reached for gpt-4.1 on requests per min (RPM): Limit 3. Add a payment method at https://platform.openai.com/account/billing."));
        r.headers
            .push(("x-ratelimit-reset-requests".into(), "1m30s".into()));
        let f = parse_response(Provider::OpenAi, &r).unwrap_err();
        assert_eq!(f.code, ErrorCode::RateLimited);
        assert_eq!(f.retry_after_s, Some(90));

        let ctx = err("invalid_request_error", "context_length_exceeded", "This model's maximum context length is 128000 tokens. However, your messages resulted in 190000 tokens.");
        assert_eq!(code(Provider::OpenAi, 400, &ctx), ErrorCode::PromptTooLarge);
        let nf = err(
            "invalid_request_error",
            "model_not_found",
            "The model `gpt-9` does not exist or you do not have access to it.",
        );
        assert_eq!(code(Provider::OpenAi, 404, &nf), ErrorCode::Misconfigured);
        assert_eq!(code(Provider::OpenAi, 408, "{}"), ErrorCode::Timeout);
        assert_eq!(
            code(Provider::OpenAi, 502, "<html>Bad gateway</html>"),
            ErrorCode::Unavailable
        );
        assert_eq!(code(Provider::OpenAi, 503, ""), ErrorCode::Unavailable);
        assert_eq!(code(Provider::OpenAi, 504, ""), ErrorCode::Unavailable);
        assert_eq!(code(Provider::OpenAi, 302, ""), ErrorCode::Other);

        // A provider error that echoes the prompt never reaches the message.
        let echo = err(
            "invalid_request_error",
            "",
            "Invalid content: 'CONFIDENTIAL MERGER PLAN for ACME' is not allowed",
        );
        let f = parse_response(Provider::OpenAi, &resp(400, &echo)).unwrap_err();
        assert!(!f.message.contains("CONFIDENTIAL"));
        assert!(!f.message.to_lowercase().contains("merger"));
        assert_eq!(
            f.message,
            format!("{} (HTTP 400)", ErrorCode::Misconfigured.user_message())
        );
    }

    #[test]
    fn openai_responses_api_answers() {
        let ok = r#"{"id":"resp_67ccd2bed1ec8190","object":"response","status":"completed","model":"gpt-5.5-pro-2026-04-23","output":[{"type":"reasoning","id":"rs_1","summary":[]},{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Verdict: Reject","annotations":[]}]}],"usage":{"input_tokens":900,"output_tokens":1200,"output_tokens_details":{"reasoning_tokens":1100}}}"#;
        let c = parse_response(Provider::OpenAi, &resp(200, ok)).unwrap();
        assert_eq!(c.text, "Verdict: Reject");
        assert_eq!((c.tokens_in, c.tokens_out), (900, 1200));
        let cut = r#"{"object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":9,"output_tokens":16}}"#;
        assert_eq!(code(Provider::OpenAi, 200, cut), ErrorCode::OutputTruncated);
        let filtered = r#"{"object":"response","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[]}"#;
        assert_eq!(
            code(Provider::OpenAi, 200, filtered),
            ErrorCode::ContentBlocked
        );
    }

    #[test]
    fn groq_answers_and_errors() {
        let ok = r#"{"id":"chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22","object":"chat.completion","created":1730241104,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"Request: Laptop refresh for 12 engineers."},"logprobs":null,"finish_reason":"stop"}],"usage":{"queue_time":0.037,"prompt_tokens":18,"prompt_time":0.0007,"completion_tokens":556,"completion_time":0.46,"total_tokens":574,"total_time":0.46},"x_groq":{"id":"req_01jbd6g2qdfw2adyrt2az8hz4w"}}"#;
        let c = parse_response(Provider::Groq, &resp(200, ok)).unwrap();
        assert_eq!((c.tokens_in, c.tokens_out), (18, 556));
        let think = r#"{"choices":[{"message":{"content":"<think>hidden</think>\nVerdict: Approve"},"finish_reason":"stop"}]}"#;
        assert_eq!(
            parse_response(Provider::Groq, &resp(200, think))
                .unwrap()
                .text,
            "Verdict: Approve"
        );
        let tpm = r#"{"error":{"message":"Request too large for model `llama-3.3-70b-versatile` on tokens per minute (TPM): Limit 12000, Requested 30000, please reduce your message size and try again.","type":"tokens","code":"rate_limit_exceeded"}}"#;
        assert_eq!(code(Provider::Groq, 413, tpm), ErrorCode::PromptTooLarge);
        let mut r = resp(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
        );
        r.headers.push(("Retry-After".into(), "2.5".into()));
        let f = parse_response(Provider::Groq, &r).unwrap_err();
        assert_eq!((f.code, f.retry_after_s), (ErrorCode::RateLimited, Some(3)));
        assert_eq!(
            code(
                Provider::Groq,
                503,
                r#"{"error":{"message":"Service Unavailable","type":"internal_server_error"}}"#
            ),
            ErrorCode::Unavailable
        );
    }

    #[test]
    fn openrouter_answers_and_errors() {
        let ok = r#"{"id":"gen-1746543","provider":"Google","model":"google/gemini-2.5-flash","object":"chat.completion","created":1746543,"choices":[{"logprobs":null,"finish_reason":"stop","native_finish_reason":"STOP","index":0,"message":{"role":"assistant","content":"Anomaly Level: Minor","refusal":null,"reasoning":null}}],"usage":{"prompt_tokens":2048,"completion_tokens":40,"total_tokens":2088}}"#;
        let c = parse_response(Provider::OpenRouter, &resp(200, ok)).unwrap();
        assert_eq!(c.text, "Anomaly Level: Minor");
        assert_eq!(c.model, "google/gemini-2.5-flash");
        assert_eq!(
            code(
                Provider::OpenRouter,
                402,
                r#"{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}"#
            ),
            ErrorCode::BudgetExhausted
        );
        assert_eq!(
            code(
                Provider::OpenRouter,
                403,
                r#"{"error":{"code":403,"message":"Your chosen model requires moderation and your input was flagged","metadata":{"reasons":["violence"],"flagged_input":"...","provider_name":"OpenAI","model_slug":"openai/gpt-5.4"}}}"#
            ),
            ErrorCode::ContentBlocked
        );
        assert_eq!(
            code(
                Provider::OpenRouter,
                401,
                r#"{"error":{"code":401,"message":"No auth credentials found"}}"#
            ),
            ErrorCode::InvalidKey
        );
        assert_eq!(
            code(
                Provider::OpenRouter,
                400,
                r#"{"error":{"code":400,"message":"nope/model is not a valid model ID"}}"#
            ),
            ErrorCode::Misconfigured
        );
        // Upstream failure delivered as a 200 with an error envelope.
        assert_eq!(
            code(
                Provider::OpenRouter,
                200,
                r#"{"error":{"code":502,"message":"Provider returned error"}}"#
            ),
            ErrorCode::Unavailable
        );
        assert_eq!(code(Provider::OpenRouter, 524, ""), ErrorCode::Timeout);
    }

    #[test]
    fn retry_after_formats() {
        assert_eq!(parse_duration("6m0s"), Some(360));
        assert_eq!(parse_duration("20ms"), Some(1));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("7"), Some(7));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    // covers: AP-152
    #[test]
    fn retry_waits_follow_the_providers_rules() {
        let resp = |headers: &[(&str, &str)], status: u16| HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: String::new(),
        };
        let f = |r: &HttpResponse| failure_from_status(r, None);
        // retry-after-ms wins over retry-after.
        let r = f(&resp(
            &[("retry-after", "30"), ("retry-after-ms", "1500")],
            429,
        ));
        assert_eq!(r.retry_after_s, Some(2));
        // Non-positive and unparseable values are ignored.
        for v in ["0", "-5", "soon", "NaN"] {
            assert_eq!(
                f(&resp(&[("retry-after", v)], 429)).retry_after_s,
                None,
                "{v}"
            );
        }
        // An HTTP-date is kept as a time for the worker's clock.
        let r = f(&resp(
            &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
            503,
        ));
        assert_eq!(r.retry_at_ms, crate::time::parse("2015-10-21T07:28:00Z"));
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 PST"), None);
        // x-should-retry: false is honoured; Groq's 498 (capacity) is transient.
        assert!(f(&resp(&[("x-should-retry", "false")], 503)).no_retry);
        assert!(!f(&resp(&[("x-should-retry", "true")], 503)).no_retry);
        assert!(f(&resp(&[], 498)).code.is_transient());
    }

    // covers: AP-145, AP-146, AP-150, AP-152
    #[test]
    fn forge_llms_prompt_answer_and_failures() {
        // The prompt: @forge/llm's shape, plain strings, temperature within 0–1, never top_p.
        let call = build_call(
            Provider::ForgeLlm,
            "claude-haiku-4-5-20251001",
            "",
            1.7,
            1500,
            &parts(),
        );
        let Call::ForgeLlm(prompt) = call else {
            panic!("Forge LLMs is not a fetch")
        };
        let b: Value = serde_json::from_str(&prompt).unwrap();
        assert_eq!(b["model"], "claude-haiku-4-5-20251001");
        assert_eq!(b["temperature"], 1.0);
        assert_eq!(b["max_completion_tokens"], 1500);
        assert!(b.get("top_p").is_none() && b.get("stream").is_none());
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["messages"][1]["content"], parts().user_prompt());
        assert!(!prompt.contains("cache_control"));
        // The other providers still go through fetch with their key.
        assert!(matches!(
            build_call(
                Provider::Anthropic,
                "claude-sonnet-4-6",
                "k",
                0.2,
                10,
                &parts()
            ),
            Call::Fetch(_)
        ));
        let probe = build_probe_call(Provider::ForgeLlm, "claude-sonnet-4-5-20250929", "");
        let Call::ForgeLlm(p) = probe else { panic!() };
        let pb: Value = serde_json::from_str(&p).unwrap();
        assert_eq!(pb["max_completion_tokens"], 1);
        assert!(pb.get("temperature").is_none());

        // The answer: text parts or a string; usage under either spelling.
        let ok = parse_forge_llm(r#"{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":[{"type":"text","text":"Risk Level: Low"}]}}],"usage":{"input_tokens":120,"output_tokens":9,"total_tokens":129}}"#).unwrap();
        assert_eq!(
            (ok.text.as_str(), ok.tokens_in, ok.tokens_out),
            ("Risk Level: Low", 120, 9)
        );
        let ok = parse_forge_llm(r#"{"choices":[{"finish_reason":"end_turn","message":{"role":"assistant","content":"Hi"}}],"usage":{"input_token":3,"output_token":1}}"#).unwrap();
        assert_eq!((ok.tokens_in, ok.tokens_out), (3, 1));
        let code = |b: &str| parse_forge_llm(b).unwrap_err().code;
        for (reason, want) in [
            ("length", ErrorCode::OutputTruncated),
            ("max_tokens", ErrorCode::OutputTruncated),
            ("content_filter", ErrorCode::ContentBlocked),
            ("refusal", ErrorCode::ContentBlocked),
        ] {
            let body = format!(
                r#"{{"choices":[{{"finish_reason":"{reason}","message":{{"role":"assistant","content":"x"}}}}],"usage":{{"input_tokens":5,"output_tokens":2}}}}"#
            );
            let f = parse_forge_llm(&body).unwrap_err();
            assert_eq!(f.code, want, "{reason}");
            assert_eq!((f.tokens_in, f.tokens_out), (5, 2), "billed anyway");
        }
        assert_eq!(code(r#"{"choices":[]}"#), ErrorCode::EmptyResponse);
        assert_eq!(
            code(
                r#"{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":[]}}]}"#
            ),
            ErrorCode::EmptyResponse
        );
        assert_eq!(code("not json"), ErrorCode::Other);

        // Failures: the host errors the adapter makes of ForgeLlmAPIError / PromptValidationError.
        let f = forge_llm_failure(&HostError::RateLimited { retry_after_s: 40 });
        assert_eq!(
            (f.code, f.retry_after_s),
            (ErrorCode::RateLimited, Some(40))
        );
        assert_eq!(retry_wait_probe(&f), Some(40));
        for (e, want) in [
            (HostError::Timeout, ErrorCode::Timeout),
            (
                HostError::Unavailable("503 X: y".into()),
                ErrorCode::Unavailable,
            ),
            (HostError::TooLarge("413".into()), ErrorCode::PromptTooLarge),
            (
                HostError::Invalid("prompt is too long: 210000 tokens".into()),
                ErrorCode::PromptTooLarge,
            ),
            (
                HostError::Invalid("400 INVALID_MODEL: nope".into()),
                ErrorCode::Misconfigured,
            ),
            (
                HostError::Forbidden("LLM endpoint not enabled".into()),
                ErrorCode::Misconfigured,
            ),
            (HostError::NotFound, ErrorCode::Misconfigured),
        ] {
            let f = forge_llm_failure(&e);
            assert_eq!(f.code, want, "{e:?}");
            assert_eq!(f.message, want.user_message(), "never the platform's text");
        }
    }

    /// The wait the worker's retry rule gives a failure on its first try.
    fn retry_wait_probe(f: &ProviderFailure) -> Option<u32> {
        crate::prompt::worker::retry_wait(f, 0, 1)
    }
}
