//! The signed client for ArdSaor Core, the relay that performs Okta / Entra group actions (§8).
//!
//! Every request carries three headers:
//!
//! - `X-Ardsaor-App`: `ARDSAOR_CORE_APP_ID`
//! - `X-Ardsaor-Date`: the request time, `YYYY-MM-DDTHH:MM:SSZ` (Core refuses more than 300 s skew)
//! - `X-Ardsaor-Sig`: lowercase hex `HMAC-SHA-256(ARDSAOR_CORE_APP_SECRET, canonical)`
//!
//! where the canonical string is
//!
//! ```text
//! v1 \n METHOD \n /path?query \n X-Ardsaor-Date \n hex(SHA-256(body))
//! ```
//!
//! (`body` is empty for a request without one). Membership changes also carry an
//! `Idempotency-Key` (the job id), so a retried call never applies twice.
//!
//! Upstream failures become a [`RelayError`] with a stable code, a fixed message and Core's
//! request id. Core's own error text and response bodies are never kept: they may quote
//! provider responses, tokens or user data.

use crate::host::{Host, HostError, HttpRequest};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const HDR_APP: &str = "X-Ardsaor-App";
pub const HDR_DATE: &str = "X-Ardsaor-Date";
pub const HDR_SIG: &str = "X-Ardsaor-Sig";

/// Where Core is and how the app signs for it (from Forge environment variables).
#[derive(Clone)]
pub struct CoreConfig {
    /// `https://host[:port]` without a trailing slash.
    pub base_url: String,
    pub app_id: String,
    secret: String,
}

impl std::fmt::Debug for CoreConfig {
    // The secret never reaches a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreConfig")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl CoreConfig {
    pub fn new(base_url: &str, app_id: &str, secret: &str) -> Self {
        CoreConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            app_id: app_id.to_string(),
            secret: secret.to_string(),
        }
    }
}

/// The signed string (see the module docs).
pub fn canonical(method: &str, target: &str, date: &str, body: &str) -> String {
    format!(
        "v1\n{}\n{target}\n{date}\n{}",
        method.to_ascii_uppercase(),
        crate::audit::chain::hex(&Sha256::digest(body.as_bytes()))
    )
}

pub fn signature(secret: &str, canonical: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    Mac::update(&mut mac, canonical.as_bytes());
    crate::audit::chain::hex(&mac.finalize().into_bytes())
}

/// `YYYY-MM-DDTHH:MM:SSZ` (whole seconds).
pub fn date(now_ms: u64) -> String {
    format!("{}Z", &crate::time::rfc3339(now_ms)[..19])
}

/// A normalised upstream failure: safe to log, store on a job and show to an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayError {
    /// `RELAY_RATE_LIMITED`, `RELAY_UNAVAILABLE`, `RELAY_TIMEOUT`, `RELAY_AUTH_FAILED`,
    /// `RELAY_REJECTED`, `GROUP_NOT_FOUND`, `IDENTITY_NOT_FOUND`, `RELAY_EGRESS_DENIED`,
    /// `RELAY_BAD_RESPONSE`.
    pub code: &'static str,
    pub message: String,
    /// Worth trying again (with backoff).
    pub retryable: bool,
    /// Core's `Retry-After`, in seconds.
    pub retry_after_s: Option<u32>,
    /// HTTP status (0 when there was no answer).
    pub status: u16,
    /// Core's `X-Request-Id`, for support.
    pub request_id: Option<String>,
}

impl std::fmt::Display for RelayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (Core request {id})")?;
        }
        Ok(())
    }
}

/// Core error codes we pass on (by name only); anything else is reported as `other`.
const KNOWN_UPSTREAM: &[&str] = &[
    "unknown_app",
    "stale_date",
    "bad_signature",
    "invalid_request",
    "group_not_found",
    "user_not_found",
    "not_found",
    "method_not_allowed",
    "idempotency_key_reused",
    "rate_limited",
    "unavailable",
];

fn upstream_code(body: &str) -> &'static str {
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    KNOWN_UPSTREAM
        .iter()
        .find(|k| **k == code)
        .copied()
        .unwrap_or("other")
}

/// A failure with no HTTP answer behind it (also used for identity problems before a call).
pub fn err(code: &'static str, retryable: bool, message: String) -> RelayError {
    RelayError {
        code,
        message,
        retryable,
        retry_after_s: None,
        status: 0,
        request_id: None,
    }
}

/// Maps an HTTP answer (non-2xx) to a normalised error.
pub fn normalise(status: u16, retry_after: Option<&str>, body: &str) -> RelayError {
    let up = upstream_code(body);
    let mut e = match status {
        429 => err(
            "RELAY_RATE_LIMITED",
            true,
            "ArdSaor Core or the provider is throttling; retrying later".into(),
        ),
        401 | 403 => err(
            "RELAY_AUTH_FAILED",
            false,
            format!(
                "ArdSaor Core refused the app's signature ({up}); check ARDSAOR_CORE_APP_ID, \
                 ARDSAOR_CORE_APP_SECRET and the clock"
            ),
        ),
        404 if up == "user_not_found" => err(
            "IDENTITY_NOT_FOUND",
            false,
            "the provider has no account for this person; add an identity mapping".into(),
        ),
        404 if up == "group_not_found" => err(
            "GROUP_NOT_FOUND",
            false,
            "the tool's entitlement group no longer exists at the provider; bind the tool again"
                .into(),
        ),
        500..=599 => err(
            "RELAY_UNAVAILABLE",
            true,
            format!("ArdSaor Core answered {status}"),
        ),
        _ => err(
            "RELAY_REJECTED",
            false,
            format!("ArdSaor Core refused the request ({status} {up})"),
        ),
    };
    e.status = status;
    e.retry_after_s = retry_after.and_then(|v| v.trim().parse::<u32>().ok());
    e
}

fn from_host(e: HostError) -> RelayError {
    match e {
        HostError::Timeout => err(
            "RELAY_TIMEOUT",
            true,
            "ArdSaor Core did not answer in time".into(),
        ),
        HostError::RateLimited { retry_after_s } => RelayError {
            retry_after_s: Some(retry_after_s),
            ..err(
                "RELAY_RATE_LIMITED",
                true,
                "outbound requests are throttled; retrying later".into(),
            )
        },
        HostError::Forbidden(_) => err(
            "RELAY_EGRESS_DENIED",
            false,
            "ARDSAOR_CORE_URL is not a host the app may reach (manifest egress)".into(),
        ),
        HostError::Invalid(_) | HostError::TooLarge(_) => err(
            "RELAY_REJECTED",
            false,
            "the platform refused the outbound request".into(),
        ),
        HostError::Unavailable(_) | HostError::NotFound | HostError::Conflict(_) => err(
            "RELAY_UNAVAILABLE",
            true,
            "ArdSaor Core could not be reached".into(),
        ),
    }
}

/// One signed call. `target` is the path and query (`/v1/...`). Returns Core's JSON answer.
pub fn call(
    host: &dyn Host,
    cfg: &CoreConfig,
    method: &str,
    target: &str,
    body: Option<&Value>,
    idempotency_key: Option<&str>,
) -> Result<Value, RelayError> {
    let body_text = body.map(Value::to_string);
    let date = date(host.now_ms());
    let sig = signature(
        &cfg.secret,
        &canonical(method, target, &date, body_text.as_deref().unwrap_or("")),
    );
    let mut req = match &body_text {
        Some(b) => HttpRequest::with_json(method, format!("{}{target}", cfg.base_url), b.clone()),
        None => {
            let mut r = HttpRequest::get(format!("{}{target}", cfg.base_url));
            r.method = method.to_string();
            r
        }
    };
    req.headers.push((HDR_APP.into(), cfg.app_id.clone()));
    req.headers.push((HDR_DATE.into(), date));
    req.headers.push((HDR_SIG.into(), sig));
    if let Some(k) = idempotency_key {
        req.headers.push(("Idempotency-Key".into(), k.to_string()));
    }
    let resp = host.fetch(&req).map_err(from_host)?;
    let request_id = resp.header("X-Request-Id").map(str::to_string);
    if !(200..300).contains(&resp.status) {
        let mut e = normalise(resp.status, resp.header("Retry-After"), &resp.body);
        e.request_id = request_id;
        return Err(e);
    }
    serde_json::from_str(&resp.body).map_err(|_| RelayError {
        status: resp.status,
        request_id,
        ..err(
            "RELAY_BAD_RESPONSE",
            true,
            "ArdSaor Core answered with something that is not JSON".into(),
        )
    })
}

/// Every member email (lowercased) of a provider group, read page by page (200 a page, at most
/// 100 pages: groups over 20,000 members are refused rather than read half).
pub fn group_members(
    host: &dyn Host,
    cfg: &CoreConfig,
    group_id: &str,
) -> Result<std::collections::BTreeSet<String>, RelayError> {
    let gid = segment(group_id);
    let mut out = std::collections::BTreeSet::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let target = format!(
            "/v1/groups/{gid}/members?cursor={}&limit=200",
            segment(&cursor)
        );
        let page = call(host, cfg, "GET", &target, None, None)?;
        for m in page["members"].as_array().into_iter().flatten() {
            if let Some(e) = m["email"].as_str() {
                out.insert(e.to_lowercase());
            }
        }
        match page["nextCursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => return Ok(out),
        }
    }
    Err(err(
        "GROUP_TOO_LARGE",
        false,
        "the group has more than 20,000 members".into(),
    ))
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay as they are).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_has_the_documented_shape() {
        let c = canonical("post", "/v1/ping", "2026-11-22T10:00:00Z", "");
        assert_eq!(
            c,
            "v1\nPOST\n/v1/ping\n2026-11-22T10:00:00Z\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn signature_is_rfc4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn upstream_text_never_survives_normalisation() {
        let body = r#"{"error":{"code":"invalid_request","message":"token sk-live-123 rejected"}}"#;
        let e = normalise(400, None, body);
        assert_eq!(e.code, "RELAY_REJECTED");
        assert!(!e.retryable);
        assert!(!e.message.contains("sk-live"), "{}", e.message);
        let e = normalise(400, None, r#"{"error":{"code":"sk-live-123"}}"#);
        assert!(e.message.contains("other") && !e.message.contains("sk-live"));
    }

    #[test]
    fn retryable_and_terminal_statuses() {
        let e = normalise(429, Some("120"), "{}");
        assert!(e.retryable);
        assert_eq!(e.retry_after_s, Some(120));
        assert!(normalise(503, None, "").retryable);
        assert!(!normalise(401, None, r#"{"error":{"code":"bad_signature"}}"#).retryable);
        assert_eq!(
            normalise(404, None, r#"{"error":{"code":"user_not_found"}}"#).code,
            "IDENTITY_NOT_FOUND"
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("a.b+c@x.example"), "a.b%2Bc%40x.example");
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = CoreConfig::new("https://core.ardsaor.io/", "app", "s3cr3t-value");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"));
        assert_eq!(c.base_url, "https://core.ardsaor.io");
    }
}
