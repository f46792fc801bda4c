//! The one port the domain talks to. Everything nondeterministic or external — storage, secrets,
//! Jira, outbound HTTP, Forge LLMs, the queue, time, entropy, logs, configuration — goes through `Host`.
//!
//! The WIT glue (`wasm.rs`) implements it over the component's imports; host-sim implements it
//! natively over the same emulator for fast tests and wasm-vs-native benchmarks. These types are
//! plain Rust: the domain never sees wit-bindgen.

use std::fmt;

/// A failure of a host call the app reacts to (mirrors `types.host-error` in wit/forge.wit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    NotFound,
    Conflict(String),
    RateLimited { retry_after_s: u32 },
    Forbidden(String),
    Invalid(String),
    TooLarge(String),
    Timeout,
    Unavailable(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NotFound => write!(f, "not found"),
            HostError::Conflict(m) => write!(f, "conflict: {m}"),
            HostError::RateLimited { retry_after_s } => {
                write!(f, "rate limited (retry after {retry_after_s}s)")
            }
            HostError::Forbidden(m) => write!(f, "forbidden: {m}"),
            HostError::Invalid(m) => write!(f, "invalid: {m}"),
            HostError::TooLarge(m) => write!(f, "too large: {m}"),
            HostError::Timeout => write!(f, "timed out"),
            HostError::Unavailable(m) => write!(f, "unavailable: {m}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    pub fail_if_exists: bool,
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryPage {
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Absent,
    Present,
    Equals(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOp {
    Set(Entry),
    Delete(String),
    Check(String, Condition),
    SetIf(Entry, Condition),
    DeleteIf(String, Condition),
}

impl TxOp {
    pub fn key(&self) -> &str {
        match self {
            TxOp::Set(e) | TxOp::SetIf(e, _) => &e.key,
            TxOp::Delete(k) | TxOp::Check(k, _) | TxOp::DeleteIf(k, _) => k,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    App,
    User,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl HttpRequest {
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
        }
    }

    pub fn with_json(method: &str, url: impl Into<String>, body: String) -> Self {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: Some(body),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Forge's invocation `context`, as the domain sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `ari:cloud:ecosystem::app/<uuid>`; the UUID keys the JSM panel's issue property.
    pub app_ari: String,
    pub cloud_id: String,
    pub module_key: String,
    pub account_id: Option<String>,
    pub license_active: Option<bool>,
    /// UI extension context (JSON), e.g. the portal panel's `portal.id` / `request.typeId`.
    pub extension: Option<String>,
}

impl Invocation {
    /// The UUID part of the app ARI.
    pub fn app_uuid(&self) -> &str {
        self.app_ari.rsplit('/').next().unwrap_or("")
    }
}

/// The host port. `&self` everywhere: a host may hold interior state (counters, caches).
pub trait Host {
    fn kvs_get(&self, key: &str) -> Result<Option<String>, HostError>;
    fn kvs_set(&self, key: &str, value: &str, options: SetOptions) -> Result<(), HostError>;
    fn kvs_delete(&self, key: &str) -> Result<(), HostError>;
    fn kvs_query(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<QueryPage, HostError>;
    fn kvs_batch_get(&self, keys: &[String]) -> Result<Vec<Entry>, HostError>;
    fn kvs_transact(&self, ops: &[TxOp]) -> Result<(), HostError>;

    fn secret_get(&self, key: &str) -> Result<Option<String>, HostError>;
    fn secret_set(&self, key: &str, value: &str) -> Result<(), HostError>;
    fn secret_delete(&self, key: &str) -> Result<(), HostError>;

    fn jira(&self, principal: Principal, req: &HttpRequest) -> Result<HttpResponse, HostError>;
    fn fetch(&self, req: &HttpRequest) -> Result<HttpResponse, HostError>;
    /// Forge LLMs (`@forge/llm` `chat`): the package's `Prompt` as JSON in, its `ChatResponse` as
    /// JSON out. No egress and no API key: the platform runs the model (wit/forge.wit `llm`).
    fn llm_chat(&self, prompt: &str) -> Result<String, HostError>;
    fn queue_push(
        &self,
        queue_key: &str,
        events: &[String],
        delay_seconds: u32,
    ) -> Result<(), HostError>;

    fn now_ms(&self) -> u64;
    fn remaining_ms(&self) -> u64;
    fn random_bytes(&self, len: u32) -> Vec<u8>;
    fn log(&self, level: Level, message: &str);
    fn env(&self, name: &str) -> Option<String>;
}
