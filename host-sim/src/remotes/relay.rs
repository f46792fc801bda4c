//! The ArdSaor Core relay: the signed HTTPS service connected mode talks to, which provisions
//! per-tool entitlement groups in Okta or Microsoft Entra and manages their membership.
//!
//! Every request is signed by the app:
//! `X-Ardsaor-App: <app id>`, `X-Ardsaor-Date: <RFC 3339 UTC>`,
//! `X-Ardsaor-Sig: hex(HMAC-SHA256(secret, canonical))` with
//! `canonical = "v1\n" + METHOD + "\n" + path_and_query + "\n" + date + "\n" + hex(sha256(body))`.
//!
//! Endpoints (all JSON):
//! - `POST /v1/ping` → `{"ok":true}`
//! - `POST /v1/groups/ensure` `{"provider":"okta"|"entra","name","toolId"?}` →
//!   `{"groupId","name","provider","created"}` (idempotent on provider + name)
//! - `GET /v1/groups/{groupId}/members?cursor=&limit=` → `{"members":[{"id","email"}],"nextCursor"}`
//! - `POST /v1/groups/{groupId}/members` `{"email","userId"?}` + `Idempotency-Key` →
//!   `{"applied","member":{"id","email"}}`
//! - `DELETE /v1/groups/{groupId}/members/{email}` + `Idempotency-Key` → `{"removed"}`
//!
//! Errors are `{"error":{"code","message"}}`: 401 `unknown_app` / `stale_date` / `bad_signature`,
//! 400 `invalid_request`, 404 `group_not_found` / `user_not_found` / `not_found`,
//! 405 `method_not_allowed`, 422 `idempotency_key_reused`, 429 `rate_limited`, 503 `unavailable`.

use super::{
    ct_eq, format_rfc3339, header, hex, json_response, parse_rfc3339, path_and_query,
    percent_decode, query_pairs, request_target, sha256_hex, Timeout,
};
use aiclearance::host::{HttpRequest, HttpResponse};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Largest accepted difference between `X-Ardsaor-Date` and the relay's clock.
pub const MAX_SKEW_S: u64 = 300;
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;
/// How long a stored idempotent response is replayed.
pub const IDEMPOTENCY_TTL_MS: u64 = 24 * 3_600_000;

pub const HDR_APP: &str = "X-Ardsaor-App";
pub const HDR_DATE: &str = "X-Ardsaor-Date";
pub const HDR_SIG: &str = "X-Ardsaor-Sig";

/// The string the app signs. `method` is uppercased; `path_and_query` is the request target
/// exactly as sent (e.g. `/v1/groups/00g…/members?cursor=&limit=50`); `body` is the raw body
/// (empty when there is none).
pub fn canonical_string(method: &str, path_and_query: &str, date: &str, body: &str) -> String {
    format!(
        "v1\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        date,
        sha256_hex(body.as_bytes())
    )
}

/// Lowercase hex HMAC-SHA256(secret, canonical).
pub fn sign(secret: &str, canonical: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts any key length");
    Mac::update(&mut mac, canonical.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Adds the three signature headers to `req` (replacing any present), signing its method, URL
/// target and body with `date` (`YYYY-MM-DDTHH:MM:SSZ`). Tests and the CLI use this; the app
/// carries its own copy of the logic.
pub fn sign_request(req: &mut HttpRequest, app_id: &str, secret: &str, date: &str) {
    let canonical = canonical_string(
        &req.method,
        &request_target(&req.url),
        date,
        req.body.as_deref().unwrap_or(""),
    );
    let sig = sign(secret, &canonical);
    req.headers.retain(|(k, _)| {
        !(k.eq_ignore_ascii_case(HDR_APP)
            || k.eq_ignore_ascii_case(HDR_DATE)
            || k.eq_ignore_ascii_case(HDR_SIG))
    });
    req.headers.push((HDR_APP.to_string(), app_id.to_string()));
    req.headers.push((HDR_DATE.to_string(), date.to_string()));
    req.headers.push((HDR_SIG.to_string(), sig));
}

/// What the relay does wrong on purpose, one per authenticated call (front of the queue first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RelayFault {
    /// Answers normally: lets a planned failure hit a later call (e.g. the second page).
    Pass,
    /// 429 `rate_limited` with `Retry-After`.
    RateLimited { retry_after_s: u32 },
    /// 503 `unavailable`.
    ServerError,
    /// No answer; nothing applied.
    Timeout,
    /// The relay applies the request, then the answer is lost (the caller sees a timeout).
    /// This is what `Idempotency-Key` exists for.
    TimeoutAfterApply,
    /// 400 `invalid_request` (a terminal upstream refusal).
    Terminal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayCallRecord {
    pub method: String,
    /// Path only (no query), as sent.
    pub path: String,
    /// 0 when the call timed out.
    pub status: u16,
    pub at_ms: u64,
    /// Top-level keys of the JSON body (names only: bodies can carry credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_keys: Vec<String>,
    /// Whether the call carried an `Idempotency-Key`.
    #[serde(default)]
    pub idempotent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayGroup {
    /// `okta` or `entra`.
    pub provider: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_id: Option<String>,
    pub created_at_ms: u64,
    /// Lowercased email → provider user id.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredResponse {
    fingerprint: String,
    status: u16,
    body: String,
    at_ms: u64,
}

/// The relay and the provider directories behind it. Persisted as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayState {
    /// App id → shared secret.
    #[serde(default)]
    pub apps: BTreeMap<String, String>,
    /// Provider (`okta` / `entra`) → the emails its user directory knows.
    #[serde(default)]
    pub directory: BTreeMap<String, BTreeSet<String>>,
    #[serde(default)]
    pub faults: VecDeque<RelayFault>,
    #[serde(default)]
    pub calls: Vec<RelayCallRecord>,
    /// Membership changes actually applied through the API (adds + removes; replays and
    /// no-op requests do not count; drift does not count).
    #[serde(default)]
    pub applied_count: u64,
    #[serde(default)]
    groups: BTreeMap<String, RelayGroup>,
    /// `app id \n Idempotency-Key` → the first successful response.
    #[serde(default)]
    idempotency: BTreeMap<String, StoredResponse>,
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    json_response(
        status,
        json!({"error": {"code": code, "message": message}}),
        &[],
    )
}

fn invalid(message: &str) -> HttpResponse {
    error(400, "invalid_request", message)
}

/// 20 characters like Okta ids: `prefix` + base62 derived from `seed`.
fn okta_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let digest = Sha256::digest(seed.as_bytes());
    let mut id = prefix.to_string();
    for b in digest.iter().take(20 - prefix.len()) {
        id.push(ALPHABET[(*b as usize) % 62] as char);
    }
    id
}

/// A version-4-shaped UUID derived from `seed`.
fn uuid_from(seed: &str) -> String {
    let h = sha256_hex(seed.as_bytes());
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The deterministic id a group named `name` gets at `provider` (case-insensitive on the name).
pub fn group_id_for(provider: &str, name: &str) -> String {
    let seed = format!("group\n{provider}\n{}", name.trim().to_lowercase());
    match provider {
        "okta" => okta_id("00g", &seed),
        _ => uuid_from(&seed),
    }
}

/// The deterministic provider user id for `email`.
pub fn user_id_for(provider: &str, email: &str) -> String {
    let seed = format!("user\n{provider}\n{}", email.trim().to_lowercase());
    match provider {
        "okta" => okta_id("00u", &seed),
        _ => uuid_from(&seed),
    }
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c == '/')
        }
        None => false,
    }
}

fn encode_cursor(last_email: &str) -> String {
    format!("c1{}", hex(last_email.as_bytes()))
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let h = cursor.strip_prefix("c1")?;
    if h.is_empty() || h.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(h.len() / 2);
    for i in (0..h.len()).step_by(2) {
        bytes.push(u8::from_str_radix(h.get(i..i + 2)?, 16).ok()?);
    }
    String::from_utf8(bytes).ok()
}

fn body_object(req: &HttpRequest) -> Result<serde_json::Map<String, Value>, HttpResponse> {
    match req.body.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(m))) => Ok(m),
        Some(Ok(_)) => Err(invalid("the body must be a JSON object")),
        Some(Err(_)) => Err(invalid("the body is not valid JSON")),
        None => Err(invalid("a JSON body is required")),
    }
}

enum MemberOp<'a> {
    Add { group_id: &'a str },
    Remove { group_id: &'a str, email: &'a str },
}

impl RelayState {
    /// Registers an app and its signing secret.
    pub fn register_app(&mut self, app_id: &str, secret: &str) {
        self.apps.insert(app_id.to_string(), secret.to_string());
    }

    /// Adds a user to a provider's directory (so membership calls for it succeed).
    pub fn add_user(&mut self, provider: &str, email: &str) {
        self.directory
            .entry(provider.to_string())
            .or_default()
            .insert(email.trim().to_lowercase());
    }

    /// Creates a group out of band (one that already exists at the provider); returns its id.
    pub fn seed_group(&mut self, provider: &str, name: &str, tool_id: Option<&str>) -> String {
        let id = group_id_for(provider, name);
        self.groups.entry(id.clone()).or_insert_with(|| RelayGroup {
            provider: provider.to_string(),
            name: name.trim().to_string(),
            tool_id: tool_id.map(str::to_string),
            created_at_ms: 0,
            members: BTreeMap::new(),
        });
        id
    }

    /// Someone adds `email` to the group directly at the provider. Returns whether it changed.
    pub fn drift_add(&mut self, group_id: &str, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        match self.groups.get_mut(group_id) {
            Some(g) if !g.members.contains_key(&email) => {
                let id = user_id_for(&g.provider, &email);
                g.members.insert(email, id);
                true
            }
            _ => false,
        }
    }

    /// Someone removes `email` from the group directly at the provider. Returns whether it changed.
    pub fn drift_remove(&mut self, group_id: &str, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        self.groups
            .get_mut(group_id)
            .is_some_and(|g| g.members.remove(&email).is_some())
    }

    /// The member emails of a group, sorted (empty for an unknown group).
    pub fn members(&self, group_id: &str) -> Vec<String> {
        self.groups
            .get(group_id)
            .map(|g| g.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every group, by id.
    pub fn groups(&self) -> &BTreeMap<String, RelayGroup> {
        &self.groups
    }

    /// The group named `name` at `provider`, if it exists.
    pub fn group_by_name(&self, provider: &str, name: &str) -> Option<(&String, &RelayGroup)> {
        self.groups.get_key_value(&group_id_for(provider, name))
    }

    fn in_directory(&self, provider: &str, email: &str) -> bool {
        self.directory
            .get(provider)
            .is_some_and(|users| users.iter().any(|u| u.eq_ignore_ascii_case(email)))
    }

    fn verify(&self, req: &HttpRequest, method: &str, now_ms: u64) -> Result<(), HttpResponse> {
        let app = header(req, HDR_APP).unwrap_or("");
        let secret = match self.apps.get(app) {
            Some(s) if !app.is_empty() => s,
            _ => {
                return Err(error(
                    401,
                    "unknown_app",
                    "the X-Ardsaor-App header names no registered app",
                ))
            }
        };
        let date = header(req, HDR_DATE).unwrap_or("");
        let fresh = parse_rfc3339(date).is_some_and(|t| t.abs_diff(now_ms) <= MAX_SKEW_S * 1000);
        if !fresh {
            return Err(error(
                401,
                "stale_date",
                &format!(
                    "X-Ardsaor-Date must be an RFC 3339 UTC time within {MAX_SKEW_S} s of the relay clock ({})",
                    format_rfc3339(now_ms)
                ),
            ));
        }
        let sig = header(req, HDR_SIG).unwrap_or("");
        let canonical = canonical_string(
            method,
            &request_target(&req.url),
            date,
            req.body.as_deref().unwrap_or(""),
        );
        let expected = sign(secret, &canonical);
        if !ct_eq(expected.as_bytes(), sig.as_bytes()) {
            return Err(error(
                401,
                "bad_signature",
                "X-Ardsaor-Sig does not match the request",
            ));
        }
        Ok(())
    }

    fn handle(
        &mut self,
        req: &HttpRequest,
        method: &str,
        path: &str,
        query: &str,
        now_ms: u64,
    ) -> Result<HttpResponse, Timeout> {
        if let Err(denied) = self.verify(req, method, now_ms) {
            return Ok(denied);
        }
        let app = header(req, HDR_APP).unwrap_or("").to_string();
        let mut lose_answer = false;
        if let Some(fault) = self.faults.pop_front() {
            match fault {
                RelayFault::Pass => {}
                RelayFault::RateLimited { retry_after_s } => {
                    return Ok(json_response(
                        429,
                        json!({"error": {"code": "rate_limited", "message": "upstream provider rate limit; retry later"}}),
                        &[("Retry-After", retry_after_s.to_string())],
                    ));
                }
                RelayFault::ServerError => {
                    return Ok(error(
                        503,
                        "unavailable",
                        "the relay is temporarily unavailable",
                    ));
                }
                RelayFault::Timeout => return Err(Timeout),
                RelayFault::TimeoutAfterApply => lose_answer = true,
                RelayFault::Terminal => {
                    return Ok(invalid("the upstream provider rejected the request"));
                }
            }
        }
        let resp = self.route(req, &app, method, path, query, now_ms);
        if lose_answer {
            return Err(Timeout);
        }
        Ok(resp)
    }

    fn route(
        &mut self,
        req: &HttpRequest,
        app: &str,
        method: &str,
        path: &str,
        query: &str,
        now_ms: u64,
    ) -> HttpResponse {
        let decoded: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
        match (method, segs.as_slice()) {
            ("POST", ["v1", "ping"]) => json_response(200, json!({"ok": true}), &[]),
            ("POST", ["v1", "groups", "ensure"]) => self.ensure_group(req, now_ms),
            ("GET", ["v1", "groups", group_id, "members"]) => self.list_members(group_id, query),
            ("POST", ["v1", "groups", group_id, "members"]) => {
                self.idempotent(req, app, method, now_ms, MemberOp::Add { group_id })
            }
            ("DELETE", ["v1", "groups", group_id, "members", email]) => self.idempotent(
                req,
                app,
                method,
                now_ms,
                MemberOp::Remove { group_id, email },
            ),
            (_, ["v1", "ping"])
            | (_, ["v1", "groups", "ensure"])
            | (_, ["v1", "groups", _, "members"])
            | (_, ["v1", "groups", _, "members", _]) => error(
                405,
                "method_not_allowed",
                &format!("{method} is not allowed on {path}"),
            ),
            _ => error(404, "not_found", &format!("no relay endpoint at {path}")),
        }
    }

    fn ensure_group(&mut self, req: &HttpRequest, now_ms: u64) -> HttpResponse {
        let body = match body_object(req) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let provider = match body.get("provider").and_then(Value::as_str) {
            Some(p @ ("okta" | "entra")) => p.to_string(),
            _ => return invalid("provider must be \"okta\" or \"entra\""),
        };
        let name = match body.get("name").and_then(Value::as_str).map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= 255 => n.to_string(),
            _ => return invalid("name must be a non-empty string of at most 255 characters"),
        };
        let tool_id = match body.get("toolId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return invalid("toolId must be a string"),
        };
        let group_id = group_id_for(&provider, &name);
        if let Some(g) = self.groups.get(&group_id) {
            return json_response(
                200,
                json!({"groupId": group_id, "name": g.name, "provider": g.provider, "created": false}),
                &[],
            );
        }
        self.groups.insert(
            group_id.clone(),
            RelayGroup {
                provider: provider.clone(),
                name: name.clone(),
                tool_id,
                created_at_ms: now_ms,
                members: BTreeMap::new(),
            },
        );
        json_response(
            200,
            json!({"groupId": group_id, "name": name, "provider": provider, "created": true}),
            &[],
        )
    }

    fn list_members(&self, group_id: &str, query: &str) -> HttpResponse {
        let group = match self.groups.get(group_id) {
            Some(g) => g,
            None => return error(404, "group_not_found", &format!("no group {group_id}")),
        };
        let mut limit = DEFAULT_PAGE;
        let mut cursor: Option<String> = None;
        for (k, v) in query_pairs(query) {
            match k.as_str() {
                "limit" if !v.is_empty() => match v.parse::<usize>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => limit = n,
                    _ => return invalid(&format!("limit must be an integer in 1..={MAX_PAGE}")),
                },
                "cursor" if !v.is_empty() => match decode_cursor(&v) {
                    Some(c) => cursor = Some(c),
                    None => return invalid("cursor is not a cursor this relay issued"),
                },
                _ => {}
            }
        }
        let mut rest = group.members.iter().filter(|(email, _)| match &cursor {
            Some(c) => email.as_str() > c.as_str(),
            None => true,
        });
        let page: Vec<(&String, &String)> = rest.by_ref().take(limit).collect();
        let more = rest.next().is_some();
        let next_cursor = if more {
            page.last().map(|(email, _)| encode_cursor(email))
        } else {
            None
        };
        let members: Vec<Value> = page
            .iter()
            .map(|(email, id)| json!({"id": id, "email": email}))
            .collect();
        json_response(
            200,
            json!({"members": members, "nextCursor": next_cursor}),
            &[],
        )
    }

    fn idempotent(
        &mut self,
        req: &HttpRequest,
        app: &str,
        method: &str,
        now_ms: u64,
        op: MemberOp<'_>,
    ) -> HttpResponse {
        let key = match header(req, "Idempotency-Key") {
            Some(k) if !k.is_empty() && k.len() <= 255 => k.to_string(),
            _ => return invalid("an Idempotency-Key header (1..=255 characters) is required"),
        };
        self.idempotency
            .retain(|_, s| now_ms.saturating_sub(s.at_ms) < IDEMPOTENCY_TTL_MS);
        let slot = format!("{app}\n{key}");
        let fingerprint = sha256_hex(
            format!(
                "{method}\n{}\n{}",
                request_target(&req.url),
                req.body.as_deref().unwrap_or("")
            )
            .as_bytes(),
        );
        if let Some(stored) = self.idempotency.get(&slot) {
            if stored.fingerprint != fingerprint {
                return error(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                );
            }
            return HttpResponse {
                status: stored.status,
                headers: vec![
                    ("Content-Type".to_string(), "application/json".to_string()),
                    ("Idempotent-Replayed".to_string(), "true".to_string()),
                ],
                body: stored.body.clone(),
            };
        }
        let resp = match op {
            MemberOp::Add { group_id } => self.add_member(req, group_id),
            MemberOp::Remove { group_id, email } => self.remove_member(group_id, email),
        };
        if (200..300).contains(&resp.status) {
            self.idempotency.insert(
                slot,
                StoredResponse {
                    fingerprint,
                    status: resp.status,
                    body: resp.body.clone(),
                    at_ms: now_ms,
                },
            );
        }
        resp
    }

    fn add_member(&mut self, req: &HttpRequest, group_id: &str) -> HttpResponse {
        let provider = match self.groups.get(group_id) {
            Some(g) => g.provider.clone(),
            None => return error(404, "group_not_found", &format!("no group {group_id}")),
        };
        let body = match body_object(req) {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        // The subject's provider account: `externalIdentity.{email,userId}` (the app's payload
        // shape), or top-level `email` / `userId`.
        let ident = match body.get("externalIdentity") {
            Some(Value::Object(m)) => m.clone(),
            _ => body.clone(),
        };
        let email = match ident.get("email").and_then(Value::as_str) {
            Some(e) if looks_like_email(e) => e.trim().to_lowercase(),
            _ => return invalid("email must be an email address"),
        };
        let user_id = match ident.get("userId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(_) => return invalid("userId must be a non-empty string"),
        };
        if !self.in_directory(&provider, &email) {
            return error(
                404,
                "user_not_found",
                &format!("{provider} has no user with that email"),
            );
        }
        let id = user_id.unwrap_or_else(|| user_id_for(&provider, &email));
        let Some(group) = self.groups.get_mut(group_id) else {
            return error(404, "group_not_found", &format!("no group {group_id}"));
        };
        let applied = !group.members.contains_key(&email);
        if applied {
            group.members.insert(email.clone(), id);
            self.applied_count += 1;
        }
        let member_id = group.members.get(&email).cloned().unwrap_or_default();
        json_response(
            200,
            json!({"applied": applied, "member": {"id": member_id, "email": email}}),
            &[],
        )
    }

    fn remove_member(&mut self, group_id: &str, email: &str) -> HttpResponse {
        let email = email.trim().to_lowercase();
        let provider = match self.groups.get(group_id) {
            Some(g) => g.provider.clone(),
            None => return error(404, "group_not_found", &format!("no group {group_id}")),
        };
        if !looks_like_email(&email) {
            return invalid("the path must end in an email address");
        }
        if !self.in_directory(&provider, &email) {
            return error(
                404,
                "user_not_found",
                &format!("{provider} has no user with that email"),
            );
        }
        let removed = self
            .groups
            .get_mut(group_id)
            .is_some_and(|g| g.members.remove(&email).is_some());
        if removed {
            self.applied_count += 1;
        }
        json_response(200, json!({"removed": removed}), &[])
    }
}

/// Answers one request to the relay (any `*.ardsaor.io` host). Every call is recorded in
/// `state.calls`; a planned timeout comes back as `Err(Timeout)`.
pub fn answer(
    req: &HttpRequest,
    state: &mut RelayState,
    now_ms: u64,
) -> Result<HttpResponse, Timeout> {
    let (_host, path, query) = path_and_query(&req.url);
    let method = req.method.to_ascii_uppercase();
    let seq = state.calls.len() + 1;
    let result = state
        .handle(req, &method, &path, &query, now_ms)
        .map(|mut resp| {
            resp.headers
                .push(("X-Request-Id".to_string(), format!("rq_{seq:08x}")));
            resp
        });
    let body_keys = req
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
        .unwrap_or_default();
    state.calls.push(RelayCallRecord {
        method,
        path,
        status: result.as_ref().map_or(0, |r| r.status),
        at_ms: now_ms,
        body_keys,
        idempotent: header(req, "Idempotency-Key").is_some(),
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "aiclearance-test";
    const SECRET: &str = "relay-secret-7f3a9c";
    const BASE: &str = "https://core.ardsaor.io";

    fn now() -> u64 {
        parse_rfc3339("2026-11-22T10:00:00Z").unwrap()
    }

    fn state() -> RelayState {
        let mut s = RelayState::default();
        s.register_app(APP, SECRET);
        for e in [
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "dan@example.com",
            "erin@example.com",
            "Frank@Example.com",
        ] {
            s.add_user("okta", e);
        }
        s.add_user("entra", "alice@example.com");
        s
    }

    fn signed(method: &str, target: &str, body: Option<&str>) -> HttpRequest {
        signed_at(method, target, body, "2026-11-22T10:00:00Z")
    }

    fn signed_at(method: &str, target: &str, body: Option<&str>, date: &str) -> HttpRequest {
        let mut req = HttpRequest {
            method: method.to_string(),
            url: format!("{BASE}{target}"),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.map(str::to_string),
        };
        sign_request(&mut req, APP, SECRET, date);
        req
    }

    fn with_key(mut req: HttpRequest, key: &str) -> HttpRequest {
        req.headers.push(("Idempotency-Key".into(), key.into()));
        req
    }

    fn json_of(r: &HttpResponse) -> Value {
        serde_json::from_str(&r.body).unwrap()
    }

    fn code_of(r: &HttpResponse) -> String {
        json_of(r)["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn call(s: &mut RelayState, req: &HttpRequest) -> HttpResponse {
        answer(req, s, now()).expect("no timeout planned")
    }

    fn ensure(s: &mut RelayState, provider: &str, name: &str) -> String {
        let body =
            json!({"provider": provider, "name": name, "toolId": "tool-chatgpt"}).to_string();
        let r = call(s, &signed("POST", "/v1/groups/ensure", Some(&body)));
        assert_eq!(r.status, 200, "{}", r.body);
        json_of(&r)["groupId"].as_str().unwrap().to_string()
    }

    fn add(s: &mut RelayState, gid: &str, email: &str, key: &str) -> HttpResponse {
        let body = json!({"email": email}).to_string();
        call(
            s,
            &with_key(
                signed("POST", &format!("/v1/groups/{gid}/members"), Some(&body)),
                key,
            ),
        )
    }

    #[test]
    fn canonical_string_and_signature_are_exact() {
        assert_eq!(
            canonical_string("post", "/v1/ping", "2026-11-22T10:00:00Z", ""),
            "v1\nPOST\n/v1/ping\n2026-11-22T10:00:00Z\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signature_accepted() {
        let mut s = state();
        let r = call(&mut s, &signed("POST", "/v1/ping", Some("{}")));
        assert_eq!(r.status, 200);
        assert_eq!(json_of(&r), json!({"ok": true}));
        assert!(r.header("X-Request-Id").is_some());
        // Without a body, and with a date within the allowed skew either way.
        let r = call(
            &mut s,
            &signed_at("POST", "/v1/ping", None, "2026-11-22T10:04:59Z"),
        );
        assert_eq!(r.status, 200);
        let r = call(
            &mut s,
            &signed_at("POST", "/v1/ping", None, "2026-11-22T09:55:00.250Z"),
        );
        assert_eq!(r.status, 200);
    }

    #[test]
    fn tampered_requests_rejected() {
        let mut s = state();
        let mut req = signed(
            "POST",
            "/v1/groups/ensure",
            Some(r#"{"provider":"okta","name":"A"}"#),
        );
        req.body = Some(r#"{"provider":"okta","name":"B"}"#.into());
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "bad_signature".to_string()));

        let mut req = signed("GET", "/v1/groups/x/members?limit=5", None);
        req.url = format!("{BASE}/v1/groups/x/members?limit=6");
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "bad_signature".to_string()));

        let mut req = signed("POST", "/v1/ping", None);
        req.method = "DELETE".into();
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "bad_signature".to_string()));

        let mut req = signed("POST", "/v1/ping", None);
        req.headers.retain(|(k, _)| k != HDR_SIG);
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "bad_signature".to_string()));

        // Signed with the wrong secret.
        let mut req = signed("POST", "/v1/ping", None);
        sign_request(&mut req, APP, "not-the-secret", "2026-11-22T10:00:00Z");
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "bad_signature".to_string()));
        assert!(s.groups().is_empty());
    }

    #[test]
    fn stale_or_bad_date_rejected() {
        let mut s = state();
        for date in [
            "2026-11-22T09:54:59Z",
            "2026-11-22T10:05:01Z",
            "2026-11-22T10:00:00+00:00",
            "yesterday",
            "",
        ] {
            let r = call(&mut s, &signed_at("POST", "/v1/ping", None, date));
            assert_eq!(
                (r.status, code_of(&r)),
                (401, "stale_date".to_string()),
                "{date}"
            );
        }
    }

    #[test]
    fn unknown_app_rejected() {
        let mut s = state();
        let mut req = HttpRequest {
            method: "POST".into(),
            url: format!("{BASE}/v1/ping"),
            headers: vec![],
            body: None,
        };
        sign_request(&mut req, "someone-else", SECRET, "2026-11-22T10:00:00Z");
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "unknown_app".to_string()));
        req.headers.clear();
        let r = call(&mut s, &req);
        assert_eq!((r.status, code_of(&r)), (401, "unknown_app".to_string()));
    }

    #[test]
    fn faults_are_consumed_only_by_authenticated_calls() {
        let mut s = state();
        s.faults
            .push_back(RelayFault::RateLimited { retry_after_s: 7 });
        s.faults.push_back(RelayFault::ServerError);
        s.faults.push_back(RelayFault::Timeout);
        s.faults.push_back(RelayFault::Terminal);

        // An unauthenticated call does not eat a fault.
        let r = call(
            &mut s,
            &signed_at("POST", "/v1/ping", None, "2020-01-01T00:00:00Z"),
        );
        assert_eq!(r.status, 401);
        assert_eq!(s.faults.len(), 4);

        let r = call(&mut s, &signed("POST", "/v1/ping", None));
        assert_eq!(r.status, 429);
        assert_eq!(r.header("Retry-After"), Some("7"));
        assert_eq!(code_of(&r), "rate_limited");

        let r = call(&mut s, &signed("POST", "/v1/ping", None));
        assert_eq!((r.status, code_of(&r)), (503, "unavailable".to_string()));

        assert_eq!(
            answer(&signed("POST", "/v1/ping", None), &mut s, now()),
            Err(Timeout)
        );

        let r = call(&mut s, &signed("POST", "/v1/ping", None));
        assert_eq!(
            (r.status, code_of(&r)),
            (400, "invalid_request".to_string())
        );

        let r = call(&mut s, &signed("POST", "/v1/ping", None));
        assert_eq!(r.status, 200);

        let statuses: Vec<u16> = s.calls.iter().map(|c| c.status).collect();
        assert_eq!(statuses, vec![401, 429, 503, 0, 400, 200]);
        assert!(s
            .calls
            .iter()
            .all(|c| c.path == "/v1/ping" && c.method == "POST"));
    }

    #[test]
    fn ensure_is_idempotent_and_ids_look_real() {
        let mut s = state();
        let body =
            json!({"provider": "okta", "name": "AI - ChatGPT Users", "toolId": "t1"}).to_string();
        let first = json_of(&call(
            &mut s,
            &signed("POST", "/v1/groups/ensure", Some(&body)),
        ));
        assert_eq!(first["created"], json!(true));
        let gid = first["groupId"].as_str().unwrap().to_string();
        assert!(gid.starts_with("00g") && gid.len() == 20, "{gid}");
        assert!(gid.chars().all(|c| c.is_ascii_alphanumeric()));
        let body2 =
            json!({"provider": "okta", "name": "ai - chatgpt users", "toolId": "t1"}).to_string();
        let second = json_of(&call(
            &mut s,
            &signed("POST", "/v1/groups/ensure", Some(&body2)),
        ));
        assert_eq!(second["created"], json!(false));
        assert_eq!(second["groupId"], json!(gid));
        assert_eq!(second["name"], json!("AI - ChatGPT Users"));

        let entra = ensure(&mut s, "entra", "AI - ChatGPT Users");
        assert_eq!(entra.len(), 36);
        for (i, c) in entra.char_indices() {
            if [8, 13, 18, 23].contains(&i) {
                assert_eq!(c, '-');
            } else {
                assert!(c.is_ascii_hexdigit());
            }
        }
        assert_ne!(entra, gid);
        assert_eq!(group_id_for("entra", "AI - ChatGPT Users"), entra);
        assert_eq!(s.groups().len(), 2);
        assert_eq!(s.groups()[&gid].tool_id.as_deref(), Some("t1"));

        for bad in [
            r#"{"provider":"google","name":"x"}"#,
            r#"{"provider":"okta","name":"  "}"#,
            r#"{"provider":"okta"}"#,
            r#"{"provider":"okta","name":"x","toolId":5}"#,
            r#"["okta"]"#,
            "not json",
        ] {
            let r = call(&mut s, &signed("POST", "/v1/groups/ensure", Some(bad)));
            assert_eq!(
                (r.status, code_of(&r)),
                (400, "invalid_request".to_string()),
                "{bad}"
            );
        }
        let r = call(&mut s, &signed("POST", "/v1/groups/ensure", None));
        assert_eq!(
            (r.status, code_of(&r)),
            (400, "invalid_request".to_string())
        );
    }

    #[test]
    fn idempotency_key_replay_does_not_double_apply() {
        let mut s = state();
        let gid = ensure(&mut s, "okta", "AI - Claude");
        let r1 = add(&mut s, &gid, "alice@example.com", "k-1");
        assert_eq!(r1.status, 200);
        let v1 = json_of(&r1);
        assert_eq!(v1["applied"], json!(true));
        assert_eq!(v1["member"]["email"], json!("alice@example.com"));
        assert!(v1["member"]["id"].as_str().unwrap().starts_with("00u"));
        assert_eq!(s.applied_count, 1);

        // Same key, same request: the stored response, nothing re-applied.
        let r2 = add(&mut s, &gid, "alice@example.com", "k-1");
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, r1.body);
        assert_eq!(r2.header("Idempotent-Replayed"), Some("true"));
        assert_eq!(s.applied_count, 1);
        s.drift_remove(&gid, "alice@example.com");
        let r3 = add(&mut s, &gid, "alice@example.com", "k-1");
        assert_eq!(
            r3.body, r1.body,
            "a replay never re-applies, even after drift"
        );
        assert!(s.members(&gid).is_empty());
        assert_eq!(s.applied_count, 1);

        // A new key re-applies; an already-present member is applied:false.
        let r4 = add(&mut s, &gid, "alice@example.com", "k-2");
        assert_eq!(json_of(&r4)["applied"], json!(true));
        let r5 = add(&mut s, &gid, "ALICE@example.com", "k-3");
        assert_eq!(json_of(&r5)["applied"], json!(false));
        assert_eq!(s.applied_count, 2);
        assert_eq!(s.members(&gid), vec!["alice@example.com".to_string()]);

        // The same key with a different request is refused.
        let r6 = add(&mut s, &gid, "bob@example.com", "k-1");
        assert_eq!(
            (r6.status, code_of(&r6)),
            (422, "idempotency_key_reused".to_string())
        );
        assert_eq!(s.members(&gid).len(), 1);

        // Missing key.
        let body = json!({"email": "bob@example.com"}).to_string();
        let r7 = call(
            &mut s,
            &signed("POST", &format!("/v1/groups/{gid}/members"), Some(&body)),
        );
        assert_eq!(
            (r7.status, code_of(&r7)),
            (400, "invalid_request".to_string())
        );
        assert_eq!(s.members(&gid).len(), 1);

        // Removal: applied once, replay returns the stored answer, a new key sees removed:false.
        let target = format!("/v1/groups/{gid}/members/alice%40example.com");
        let d1 = call(&mut s, &with_key(signed("DELETE", &target, None), "d-1"));
        assert_eq!(json_of(&d1), json!({"removed": true}));
        let d2 = call(&mut s, &with_key(signed("DELETE", &target, None), "d-1"));
        assert_eq!(json_of(&d2), json!({"removed": true}));
        assert_eq!(d2.header("Idempotent-Replayed"), Some("true"));
        let d3 = call(&mut s, &with_key(signed("DELETE", &target, None), "d-2"));
        assert_eq!(json_of(&d3), json!({"removed": false}));
        assert_eq!(s.applied_count, 3);
        assert!(s.members(&gid).is_empty());
    }

    #[test]
    fn timeout_after_apply_then_retry_with_same_key() {
        let mut s = state();
        let gid = ensure(&mut s, "okta", "AI - Gemini");
        s.faults.push_back(RelayFault::TimeoutAfterApply);
        let body = json!({"email": "bob@example.com"}).to_string();
        let req = with_key(
            signed("POST", &format!("/v1/groups/{gid}/members"), Some(&body)),
            "once",
        );
        assert_eq!(answer(&req, &mut s, now()), Err(Timeout));
        assert_eq!(s.members(&gid), vec!["bob@example.com".to_string()]);
        let r = call(&mut s, &req);
        assert_eq!(
            json_of(&r)["applied"],
            json!(true),
            "the retry sees the first outcome"
        );
        assert_eq!(s.applied_count, 1);
    }

    #[test]
    fn terminal_and_not_found_errors() {
        let mut s = state();
        let gid = ensure(&mut s, "okta", "AI - Copilot");
        let r = add(&mut s, &gid, "mallory@example.com", "x-1");
        assert_eq!((r.status, code_of(&r)), (404, "user_not_found".to_string()));
        let r = add(&mut s, "00gDOESNOTEXIST00000", "alice@example.com", "x-2");
        assert_eq!(
            (r.status, code_of(&r)),
            (404, "group_not_found".to_string())
        );
        let r = call(&mut s, &signed("GET", "/v1/groups/nope/members", None));
        assert_eq!(
            (r.status, code_of(&r)),
            (404, "group_not_found".to_string())
        );
        let r = call(
            &mut s,
            &with_key(
                signed(
                    "DELETE",
                    &format!("/v1/groups/{gid}/members/mallory@example.com"),
                    None,
                ),
                "x-3",
            ),
        );
        assert_eq!((r.status, code_of(&r)), (404, "user_not_found".to_string()));
        // Entra's directory is separate from Okta's.
        let entra = ensure(&mut s, "entra", "AI - Copilot");
        let r = add(&mut s, &entra, "bob@example.com", "x-4");
        assert_eq!((r.status, code_of(&r)), (404, "user_not_found".to_string()));
        let r = add(&mut s, &entra, "alice@example.com", "x-5");
        let v = json_of(&r);
        assert_eq!(v["applied"], json!(true));
        assert_eq!(v["member"]["id"].as_str().unwrap().len(), 36);
        // Malformed bodies.
        for bad in [
            r#"{"email":"not-an-email"}"#,
            r#"{"mail":"alice@example.com"}"#,
            "{",
            r#"{"email":"alice@example.com","userId":7}"#,
        ] {
            let r = call(
                &mut s,
                &with_key(
                    signed("POST", &format!("/v1/groups/{gid}/members"), Some(bad)),
                    &format!("bad-{bad}"),
                ),
            );
            assert_eq!(
                (r.status, code_of(&r)),
                (400, "invalid_request".to_string()),
                "{bad}"
            );
        }
        // An explicit userId is kept.
        let body =
            json!({"email": "carol@example.com", "userId": "00uCAROL000000000000"}).to_string();
        let r = call(
            &mut s,
            &with_key(
                signed("POST", &format!("/v1/groups/{gid}/members"), Some(&body)),
                "u-1",
            ),
        );
        assert_eq!(json_of(&r)["member"]["id"], json!("00uCAROL000000000000"));
        // Routing.
        let r = call(&mut s, &signed("GET", "/v1/ping", None));
        assert_eq!(
            (r.status, code_of(&r)),
            (405, "method_not_allowed".to_string())
        );
        let r = call(&mut s, &signed("POST", "/v2/ping", None));
        assert_eq!((r.status, code_of(&r)), (404, "not_found".to_string()));
        assert!(s.calls.iter().all(|c| c.status != 0));
    }

    #[test]
    fn pagination_walks_every_member_once() {
        let mut s = state();
        let gid = ensure(&mut s, "okta", "AI - Perplexity");
        for (i, e) in [
            "erin@example.com",
            "alice@example.com",
            "dan@example.com",
            "bob@example.com",
            "frank@example.com",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(add(&mut s, &gid, e, &format!("p-{i}")).status, 200);
        }
        let mut seen = Vec::new();
        let mut cursor = String::new();
        let mut pages = 0;
        loop {
            let r = call(
                &mut s,
                &signed(
                    "GET",
                    &format!("/v1/groups/{gid}/members?cursor={cursor}&limit=2"),
                    None,
                ),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let v = json_of(&r);
            let members = v["members"].as_array().unwrap();
            assert!(members.len() <= 2);
            for m in members {
                seen.push(m["email"].as_str().unwrap().to_string());
                assert!(m["id"].as_str().unwrap().starts_with("00u"));
            }
            pages += 1;
            match v["nextCursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, s.members(&gid));
        assert_eq!(seen.len(), 5);

        // Default page size holds everything here; an exact-fit page has no next cursor.
        let v = json_of(&call(
            &mut s,
            &signed("GET", &format!("/v1/groups/{gid}/members"), None),
        ));
        assert_eq!(v["members"].as_array().unwrap().len(), 5);
        assert_eq!(v["nextCursor"], Value::Null);
        let v = json_of(&call(
            &mut s,
            &signed("GET", &format!("/v1/groups/{gid}/members?limit=5"), None),
        ));
        assert_eq!(v["nextCursor"], Value::Null);

        for q in [
            "limit=0",
            "limit=201",
            "limit=abc",
            "cursor=zzz",
            "cursor=c1zz",
        ] {
            let r = call(
                &mut s,
                &signed("GET", &format!("/v1/groups/{gid}/members?{q}"), None),
            );
            assert_eq!(
                (r.status, code_of(&r)),
                (400, "invalid_request".to_string()),
                "{q}"
            );
        }
    }

    #[test]
    fn drift_changes_membership_behind_the_apps_back() {
        let mut s = state();
        let gid = ensure(&mut s, "okta", "AI - Midjourney");
        add(&mut s, &gid, "alice@example.com", "a");
        add(&mut s, &gid, "bob@example.com", "b");
        assert!(s.drift_add(&gid, "Zed@Example.com"));
        assert!(!s.drift_add(&gid, "zed@example.com"));
        assert!(s.drift_remove(&gid, "bob@example.com"));
        assert!(!s.drift_remove(&gid, "bob@example.com"));
        assert!(!s.drift_add("missing", "x@example.com"));
        assert_eq!(
            s.members(&gid),
            vec![
                "alice@example.com".to_string(),
                "zed@example.com".to_string()
            ]
        );
        assert_eq!(s.applied_count, 2, "drift is not applied through the API");
        let v = json_of(&call(
            &mut s,
            &signed("GET", &format!("/v1/groups/{gid}/members"), None),
        ));
        let emails: Vec<&str> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, vec!["alice@example.com", "zed@example.com"]);
        assert!(s.members("missing").is_empty());
        assert_eq!(
            s.group_by_name("okta", "ai - midjourney")
                .map(|(id, _)| id.clone()),
            Some(gid)
        );
    }

    #[test]
    fn responses_never_contain_the_secret_and_state_round_trips() {
        let mut s = state();
        let mut bodies = Vec::new();
        let gid = ensure(&mut s, "okta", "AI - Secret Test");
        bodies.push(add(&mut s, &gid, "alice@example.com", "s1").body);
        bodies.push(call(&mut s, &signed("POST", "/v1/ping", None)).body);
        let mut bad = signed("POST", "/v1/ping", Some("{}"));
        bad.body = Some("{ }".into());
        bodies.push(call(&mut s, &bad).body);
        bodies.push(
            call(
                &mut s,
                &signed_at("POST", "/v1/ping", None, "1999-01-01T00:00:00Z"),
            )
            .body,
        );
        for b in &bodies {
            assert!(!b.contains(SECRET), "{b}");
        }
        let json = serde_json::to_string(&s).unwrap();
        let back: RelayState = serde_json::from_str(&json).unwrap();
        assert_eq!(back.members(&gid), s.members(&gid));
        assert_eq!(back.calls, s.calls);
        let _: RelayState = serde_json::from_str("{}").unwrap();
    }
}
