//! Typed wrappers over the host's single Jira REST call. Statuses become `JiraError`s the app can
//! branch on; bodies are parsed into the shapes of the Jira Cloud REST v3 spec.

pub mod groups;

use crate::host::{Host, HostError, HttpRequest, Principal};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JiraError {
    NotFound,
    Forbidden(String),
    Invalid(String),
    RateLimited {
        retry_after_s: u32,
    },
    Unavailable(String),
    /// A 2xx body nested deeper than the JSON parser allows: the same answer every time, so
    /// retrying cannot help (callers treat it as bad data, not as an outage).
    TooDeep,
}

impl JiraError {
    /// Worth retrying later (throttling, outages, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JiraError::RateLimited { .. } | JiraError::Unavailable(_)
        )
    }
}

impl std::fmt::Display for JiraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JiraError::NotFound => write!(f, "Jira: not found"),
            JiraError::Forbidden(m) => write!(f, "Jira: forbidden ({m})"),
            JiraError::Invalid(m) => write!(f, "Jira: bad request ({m})"),
            JiraError::RateLimited { retry_after_s } => {
                write!(f, "Jira: rate limited, retry after {retry_after_s}s")
            }
            JiraError::Unavailable(m) => write!(f, "Jira: unavailable ({m})"),
            JiraError::TooDeep => write!(f, "Jira: the answer nests too deep to read"),
        }
    }
}

impl From<HostError> for JiraError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::NotFound => JiraError::NotFound,
            HostError::Forbidden(m) => JiraError::Forbidden(m),
            HostError::RateLimited { retry_after_s } => JiraError::RateLimited { retry_after_s },
            HostError::Invalid(m) | HostError::TooLarge(m) | HostError::Conflict(m) => {
                JiraError::Invalid(m)
            }
            HostError::Timeout => JiraError::Unavailable("timeout".into()),
            HostError::Unavailable(m) => JiraError::Unavailable(m),
        }
    }
}

impl From<JiraError> for crate::error::AppError {
    fn from(e: JiraError) -> Self {
        use crate::error::{AppError, ErrorKind};
        match e {
            JiraError::NotFound => {
                AppError::not_found("JIRA_NOT_FOUND", "the Jira resource does not exist")
            }
            JiraError::Forbidden(_) => AppError::forbidden(
                "JIRA_FORBIDDEN",
                "Jira refused the call (scope or permission)",
            ),
            JiraError::Invalid(m) => AppError::invalid("JIRA_BAD_REQUEST", m),
            JiraError::RateLimited { retry_after_s } => AppError {
                retry_after_s: Some(retry_after_s),
                ..AppError::new(
                    ErrorKind::RateLimited,
                    "JIRA_RATE_LIMITED",
                    "Jira is rate limiting this app",
                )
            },
            JiraError::Unavailable(_) => AppError::new(
                ErrorKind::Unavailable,
                "JIRA_UNAVAILABLE",
                "Jira is unavailable; retry later",
            ),
            JiraError::TooDeep => AppError::invalid(
                "JIRA_ANSWER_TOO_DEEP",
                "Jira's answer nests deeper than the app can read",
            ),
        }
    }
}

pub type JiraResult<T> = Result<T, JiraError>;

/// Who sees a comment on a JSM request: the customer too, or only agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Visibility {
    #[default]
    Public,
    Internal,
}

/// The comment property JSM reads to keep a comment off the portal.
pub const SD_PUBLIC_COMMENT: &str = "sd.public.comment";

/// Values for a transition screen's required fields, or `None` when one has nothing to choose
/// from. A resolution is the one named like the transition ("Decline" → "Declined"), else
/// "Done", else the first offered.
fn screen_fields(
    screen: Option<&Value>,
    transition: &str,
) -> Option<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    for (key, f) in screen.and_then(Value::as_object).into_iter().flatten() {
        if f.get("required").and_then(Value::as_bool) != Some(true)
            || f.get("hasDefaultValue").and_then(Value::as_bool) == Some(true)
        {
            continue;
        }
        let allowed = f.get("allowedValues").and_then(Value::as_array)?;
        let name_of = |v: &Value| {
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase()
        };
        let stem = transition.trim().to_lowercase();
        let pick = allowed
            .iter()
            .find(|v| !stem.is_empty() && name_of(v).starts_with(&stem))
            .or_else(|| allowed.iter().find(|v| name_of(v) == "done"))
            .or_else(|| allowed.first())?;
        let id = pick.get("id").and_then(Value::as_str)?;
        out.insert(key.clone(), json!({"id": id}));
    }
    Some(out)
}

/// Percent-encodes a query or path component (RFC 3986 unreserved characters pass through).
/// Accounts one `user/bulk` call resolves (Jira pages that endpoint; one page is enough for a
/// screen's people).
pub const MAX_BULK_USERS: usize = 50;

pub fn encode(s: &str) -> String {
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

pub struct Jira<'h> {
    host: &'h dyn Host,
}

impl<'h> Jira<'h> {
    pub fn new(host: &'h dyn Host) -> Self {
        Jira { host }
    }

    fn send(&self, principal: Principal, req: HttpRequest) -> JiraResult<Value> {
        let resp = self.host.jira(principal, &req)?;
        match resp.status {
            200..=299 => {
                if resp.body.trim().is_empty() {
                    Ok(Value::Null)
                } else {
                    serde_json::from_str(&resp.body).map_err(|e| {
                        // serde_json stops at 128 levels; that is a property of the data.
                        if e.to_string().starts_with("recursion limit exceeded") {
                            JiraError::TooDeep
                        } else {
                            JiraError::Unavailable(format!("unreadable response: {e}"))
                        }
                    })
                }
            }
            404 => Err(JiraError::NotFound),
            401 | 403 => Err(JiraError::Forbidden(error_messages(&resp.body))),
            // "The issue could not be updated due to a conflicting update": try again later.
            409 => Err(JiraError::Unavailable(format!(
                "conflicting update: {}",
                error_messages(&resp.body)
            ))),
            429 => Err(JiraError::RateLimited {
                retry_after_s: resp
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(60),
            }),
            400..=499 => Err(JiraError::Invalid(error_messages(&resp.body))),
            s => Err(JiraError::Unavailable(format!("HTTP {s}"))),
        }
    }

    /// `GET /rest/api/3/issue/{key}?fields=…&properties=…` — one call for fields and properties.
    pub fn issue(&self, key: &str, fields: &[&str], properties: &[&str]) -> JiraResult<Value> {
        let mut url = format!(
            "/rest/api/3/issue/{}?fields={}",
            encode(key),
            encode(&fields.join(","))
        );
        if !properties.is_empty() {
            url.push_str(&format!("&properties={}", encode(&properties.join(","))));
        }
        self.send(Principal::App, HttpRequest::get(url))
    }

    /// `POST /rest/api/3/permissions/check` for global permissions of one account.
    pub fn has_global_permission(&self, account_id: &str, permission: &str) -> JiraResult<bool> {
        let body = json!({"accountId": account_id, "globalPermissions": [permission]}).to_string();
        let v = self.send(
            Principal::App,
            HttpRequest::with_json("POST", "/rest/api/3/permissions/check", body),
        )?;
        Ok(v.get("globalPermissions")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|p| p.as_str() == Some(permission))))
    }

    /// A GET as the app (for routes without a typed wrapper).
    pub fn request_app(&self, url: &str) -> JiraResult<Value> {
        self.send(Principal::App, HttpRequest::get(url))
    }

    /// Display names of up to `MAX_BULK_USERS` distinct accounts (`GET /rest/api/3/user/bulk`, one call;
    /// more ids are ignored). Accounts Jira does not know are left out, so a screen falls back
    /// to the id.
    pub fn display_names(
        &self,
        account_ids: &[&str],
    ) -> JiraResult<std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::BTreeMap::new();
        // Callers pass whoever their rows name, repeats included: ask for each account once.
        let mut ids: Vec<&str> = account_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(MAX_BULK_USERS);
        if ids.is_empty() {
            return Ok(out);
        }
        let q: Vec<String> = ids
            .iter()
            .map(|a| format!("accountId={}", encode(a)))
            .collect();
        let v = self.request_app(&format!(
            "/rest/api/3/user/bulk?maxResults={MAX_BULK_USERS}&{}",
            q.join("&")
        ))?;
        for u in v
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(a), Some(n)) = (
                u.get("accountId").and_then(Value::as_str),
                u.get("displayName").and_then(Value::as_str),
            ) {
                out.insert(a.to_string(), n.to_string());
            }
        }
        Ok(out)
    }

    /// Active users whose name (or visible email) contains `query` (`GET /rest/api/3/user/search`,
    /// one call, at most `max`), as Jira returns them (Jira's privacy applies: hidden emails
    /// stay hidden), in Jira's order.
    pub fn search_users(&self, query: &str, max: usize) -> JiraResult<Vec<Value>> {
        let v = self.request_app(&format!(
            "/rest/api/3/user/search?maxResults={max}&query={}",
            encode(query)
        ))?;
        Ok(match v {
            Value::Array(users) => users,
            _ => Vec::new(),
        })
    }

    /// Which of up to `MAX_BULK_USERS` accounts are active (`GET /rest/api/3/user/bulk`, one
    /// call). Accounts Jira does not return are absent from the map.
    pub fn active_accounts(
        &self,
        account_ids: &[&str],
    ) -> JiraResult<std::collections::BTreeMap<String, bool>> {
        let mut out = std::collections::BTreeMap::new();
        let mut ids: Vec<&str> = account_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(MAX_BULK_USERS);
        if ids.is_empty() {
            return Ok(out);
        }
        let q: Vec<String> = ids
            .iter()
            .map(|a| format!("accountId={}", encode(a)))
            .collect();
        let v = self.request_app(&format!(
            "/rest/api/3/user/bulk?maxResults={MAX_BULK_USERS}&{}",
            q.join("&")
        ))?;
        for u in v
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(a) = u.get("accountId").and_then(Value::as_str) {
                out.insert(a.to_string(), u["active"].as_bool().unwrap_or(true));
            }
        }
        Ok(out)
    }

    /// Whether `account_id`'s own Jira permissions let them see the issue (asUser read).
    pub fn visible_to_user(&self, key: &str) -> JiraResult<bool> {
        match self.send(
            Principal::User,
            HttpRequest::get(format!("/rest/api/3/issue/{}?fields=summary", encode(key))),
        ) {
            Ok(_) => Ok(true),
            Err(JiraError::NotFound) | Err(JiraError::Forbidden(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Comment with entity properties (used to make comment effects idempotent). On a service
    /// project a comment is public — the customer sees it on the portal — unless it carries
    /// `sd.public.comment: {"internal": true}` (D-100).
    pub fn add_comment_with_property(
        &self,
        key: &str,
        adf: Value,
        property: &str,
        value: Value,
        visibility: Visibility,
    ) -> JiraResult<Value> {
        let mut props = vec![json!({"key": property, "value": value})];
        if visibility == Visibility::Internal {
            props.push(json!({"key": SD_PUBLIC_COMMENT, "value": {"internal": true}}));
        }
        self.post_comment(key, json!({"body": adf, "properties": props}))
    }

    /// The issue's comments with their properties (newest last, as Jira returns them).
    pub fn comments_with_properties(&self, key: &str) -> JiraResult<Vec<Value>> {
        let v = self.send(
            Principal::App,
            HttpRequest::get(format!(
                "/rest/api/3/issue/{}/comment?expand=properties&maxResults=100&orderBy=-created",
                encode(key)
            )),
        )?;
        Ok(v.get("comments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Runs the workflow transition whose name matches one of `names` (case-insensitive), if
    /// the issue's workflow offers one now. Returns the transition name used.
    pub fn transition_named(&self, key: &str, names: &[&str]) -> JiraResult<Option<String>> {
        let v = self.send(
            Principal::App,
            HttpRequest::get(format!(
                "/rest/api/3/issue/{}/transitions?expand=transitions.fields",
                encode(key)
            )),
        )?;
        let found = v
            .get("transitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|t| {
                let name = t.get("name").and_then(Value::as_str)?;
                let id = t.get("id").and_then(Value::as_str)?;
                names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(name.trim()))
                    .then(|| (id.to_string(), name.to_string(), t.get("fields").cloned()))
            });
        let Some((id, name, screen)) = found else {
            return Ok(None);
        };
        // A transition screen's required fields (a resolution, typically) are filled from the
        // values it offers; one the app cannot fill means the transition is not for it.
        let Some(fields) = screen_fields(screen.as_ref(), &name) else {
            return Ok(None);
        };
        let mut body = json!({"transition": {"id": id}});
        if !fields.is_empty() {
            body["fields"] = Value::Object(fields);
        }
        self.send(
            Principal::App,
            HttpRequest::with_json(
                "POST",
                format!("/rest/api/3/issue/{}/transitions", encode(key)),
                body.to_string(),
            ),
        )?;
        Ok(Some(name))
    }

    /// `POST /rest/api/3/issue/{key}/comment` with an ADF body.
    pub fn add_comment(&self, key: &str, adf: Value) -> JiraResult<Value> {
        self.post_comment(key, json!({ "body": adf }))
    }

    fn post_comment(&self, key: &str, body: Value) -> JiraResult<Value> {
        let body = body.to_string();
        self.send(
            Principal::App,
            HttpRequest::with_json(
                "POST",
                format!("/rest/api/3/issue/{}/comment", encode(key)),
                body,
            ),
        )
    }

    /// `GET /rest/api/3/user/groups?accountId=` → group names.
    pub fn user_groups(&self, account_id: &str) -> JiraResult<Vec<String>> {
        Ok(self
            .user_group_ids(account_id)?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// `GET /rest/api/3/user/groups?accountId=` → `(name, groupId)` pairs.
    pub fn user_group_ids(&self, account_id: &str) -> JiraResult<Vec<(String, String)>> {
        let v = self.send(
            Principal::App,
            HttpRequest::get(format!(
                "/rest/api/3/user/groups?accountId={}",
                encode(account_id)
            )),
        )?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| {
                        let name = g.get("name").and_then(Value::as_str)?;
                        let id = g.get("groupId").and_then(Value::as_str).unwrap_or("");
                        Some((name.to_string(), id.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `GET /rest/api/3/user?accountId=` → the account, or `None` when Jira does not know it.
    pub fn user(&self, account_id: &str) -> JiraResult<Option<JiraUser>> {
        match self.send(
            Principal::App,
            HttpRequest::get(format!("/rest/api/3/user?accountId={}", encode(account_id))),
        ) {
            Ok(v) => Ok(Some(JiraUser {
                account_id: v["accountId"].as_str().unwrap_or(account_id).to_string(),
                display_name: v["displayName"].as_str().unwrap_or("").to_string(),
                active: v["active"].as_bool().unwrap_or(false),
                account_type: v["accountType"].as_str().unwrap_or("").to_string(),
            })),
            Err(JiraError::NotFound) => Ok(None),
            // An account id Jira cannot parse is one it does not know.
            Err(JiraError::Invalid(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A Jira account as `GET /rest/api/3/user` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraUser {
    pub account_id: String,
    pub display_name: String,
    /// Deactivated accounts are `false`: they get no access (issue 30).
    pub active: bool,
    /// `atlassian`, `app` or `customer`.
    pub account_type: String,
}

/// Jira's `ErrorCollection` (`errorMessages` + `errors`) as one line, for logs and typed errors.
pub fn error_messages(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return "no details".into();
    };
    let mut parts: Vec<String> = v
        .get("errorMessages")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // The gateway's own errors (`{"code": 401, "message": "Unauthorized; scope does not match"}`).
    if let Some(m) = v.get("message").and_then(Value::as_str) {
        parts.push(m.to_string());
    }
    if let Some(errs) = v.get("errors").and_then(Value::as_object) {
        parts.extend(
            errs.iter()
                .map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or(""))),
        );
    }
    if parts.is_empty() {
        "no details".into()
    } else {
        parts.join("; ")
    }
}
