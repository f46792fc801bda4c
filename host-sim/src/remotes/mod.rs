//! The emulated outside services the app reaches through `fetch`: the LLM providers (`llm`) and
//! the ArdSaor Core relay that provisions Okta / Entra groups (`relay`).
//!
//! Both are pure functions over their own persisted state (`LlmState`, `RelayState`) and the
//! simulated clock, so the emulator can dispatch a request to them by host and tests can drive
//! them directly. A planned timeout is signalled as `Err(Timeout)`; the emulator maps it to
//! `HostError::Timeout`.

pub mod llm;
pub mod relay;

use aiclearance::host::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// The service did not answer in time (planned fault). The request may or may not have been
/// applied — exactly the ambiguity a real timeout leaves the caller with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the remote service did not answer in time")
    }
}

impl std::error::Error for Timeout {}

/// A JSON response with `Content-Type: application/json` plus `extra_headers`.
pub fn json_response(
    status: u16,
    body: serde_json::Value,
    extra_headers: &[(&str, String)],
) -> HttpResponse {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    for (name, value) in extra_headers {
        headers.push((name.to_string(), value.clone()));
    }
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// `https://Host:443/a/b?x=1#f` → (`host`, `/a/b`, `x=1`). The host is lowercased and loses
/// userinfo and port; the path is `/` when absent; the query has no `?` and is empty when absent;
/// a fragment is dropped. Path and query stay percent-encoded, as sent.
pub fn path_and_query(url: &str) -> (String, String, String) {
    let rest = match url.split_once("://") {
        Some((_, r)) => r,
        None => url,
    };
    let rest = rest.split('#').next().unwrap_or("");
    let split_at = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split_at);
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = host_port
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    (host, path.to_string(), query.to_string())
}

/// The request target exactly as sent (`/a/b?x=1`, no fragment): what a signer signs.
pub fn request_target(url: &str) -> String {
    let rest = match url.split_once("://") {
        Some((_, r)) => r,
        None => url,
    };
    let rest = rest.split('#').next().unwrap_or("");
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => rest[i..].to_string(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_string(),
    }
}

/// The first header named `name` (case-insensitive), trimmed.
pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    s
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Decodes `%XX` escapes (and nothing else: `+` stays `+`). Invalid escapes are kept verbatim;
/// invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hi = (b[i + 1] as char).to_digit(16);
            let lo = (b[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=x%40y` → [("a","1"), ("b","x@y")] (decoded, in order; `+` is a space as in forms).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Constant-time byte comparison (the length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` with optional fractional seconds into Unix milliseconds. The
/// arithmetic is the app's own (`aiclearance::time`); the relay is stricter on the shape: UTC `Z`
/// only, a `T` separator, and no impossible dates or leap seconds (a value must format back to
/// the same date and time).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    if s.len() < 20 || s.as_bytes()[10] != b'T' || !s.ends_with('Z') || s.ends_with(".Z") {
        return None;
    }
    let ms = aiclearance::time::parse(s)?;
    (format_rfc3339(ms)[..19] == s[..19]).then_some(ms)
}

/// Unix milliseconds → `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, UTC).
pub fn format_rfc3339(ms: u64) -> String {
    format!("{}Z", &aiclearance::time::rfc3339(ms)[..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            path_and_query("https://User@API.Example.com:8443/v1/x?a=1&b=2#frag"),
            ("api.example.com".into(), "/v1/x".into(), "a=1&b=2".into())
        );
        assert_eq!(
            path_and_query("https://core.ardsaor.io"),
            ("core.ardsaor.io".into(), "/".into(), String::new())
        );
        assert_eq!(
            path_and_query("https://core.ardsaor.io?x=1"),
            ("core.ardsaor.io".into(), "/".into(), "x=1".into())
        );
        assert_eq!(
            request_target("https://h/v1/g/m?cursor=&limit=2#x"),
            "/v1/g/m?cursor=&limit=2"
        );
        assert_eq!(request_target("https://h"), "/");
        assert_eq!(request_target("https://h?x=1"), "/?x=1");
    }

    #[test]
    fn decodes() {
        assert_eq!(percent_decode("a%40b.com"), "a@b.com");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(
            query_pairs("cursor=&limit=5&e=a%2Bb+c"),
            vec![
                ("cursor".to_string(), String::new()),
                ("limit".to_string(), "5".to_string()),
                ("e".to_string(), "a+b c".to_string())
            ]
        );
    }

    #[test]
    fn hashes_and_compares() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn json_response_sets_headers() {
        let r = json_response(201, serde_json::json!({"ok": true}), &[("X-A", "1".into())]);
        assert_eq!(r.status, 201);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-a"), Some("1"));
        assert_eq!(r.body, r#"{"ok":true}"#);
    }

    #[test]
    fn rfc3339_round_trip_and_rejects() {
        let t = parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-22T10:00:00Z");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-11-22T10:00:00.5Z"), Some(t + 500));
        assert_eq!(parse_rfc3339("2026-11-22T10:00:00.123456Z"), Some(t + 123));
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z")
                .map(format_rfc3339)
                .as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        for bad in [
            "2026-11-22T10:00:00",
            "2026-11-22T10:00:00+00:00",
            "2026-11-22 10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:60Z",
            "2026-11-22T10:00:00.Z",
            "1969-12-31T23:59:59Z",
            "2026-1x-22T10:00:00Z",
            "",
            "garbage",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
