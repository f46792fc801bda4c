//! Provider connectors (§4.4, §8): create, edit, test, enable, disable, delete, and binding a
//! catalog tool to its dedicated entitlement group.
//!
//! A connector's config (Okta org URL and API token, or Entra tenant, client id and secret) is
//! written to Forge secret storage under a key that includes the config version; the record in
//! plain storage holds only that version and a fingerprint. Saving writes the new secret first
//! and then the record, and deletes the old secret last, so a crash at any point leaves a record
//! that points at a complete secret (and at worst an unused secret behind).

use super::relay::{self, CoreConfig};
use crate::audit::{self, AuditDraft};
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation, Level};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "manual")]
    Manual,
    #[serde(rename = "okta-group")]
    OktaGroup,
    #[serde(rename = "entra-group")]
    EntraGroup,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "manual" => Some(Kind::Manual),
            "okta-group" => Some(Kind::OktaGroup),
            "entra-group" => Some(Kind::EntraGroup),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Manual => "manual",
            Kind::OktaGroup => "okta-group",
            Kind::EntraGroup => "entra-group",
        }
    }
    pub fn is_connected(self) -> bool {
        self != Kind::Manual
    }
    /// The provider name Core uses.
    pub fn provider(self) -> Option<&'static str> {
        match self {
            Kind::Manual => None,
            Kind::OktaGroup => Some("okta"),
            Kind::EntraGroup => Some("entra"),
        }
    }
    /// Config fields, all required.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Manual => &[],
            Kind::OktaGroup => &["orgUrl", "apiToken"],
            Kind::EntraGroup => &["tenantId", "clientId", "clientSecret"],
        }
    }
}

/// How a Jira user is matched to a provider account (§4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentityMatch {
    /// An explicit mapping if there is one, else the user's Jira email.
    EmailOrMapping,
    /// Only explicit mappings (for directories whose logins are not the Jira email).
    MappingOnly,
}

/// What reconciliation does with drift for this connector's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReconcileMode {
    /// Record drift for admins; change nothing at the provider.
    #[default]
    ReportOnly,
    /// Remove orphans and re-provision missing members (through ordinary provisioning jobs).
    Repair,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub at: String,
    pub ok: bool,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub enabled: bool,
    pub identity_match: IdentityMatch,
    #[serde(default)]
    pub reconcile_mode: ReconcileMode,
    /// Which `connector-config:<id>:<n>` secret holds the config (0: none).
    pub config_version: u64,
    /// Random part of the config secret's key (see `keys::connector_config_secret`).
    #[serde(default)]
    pub config_nonce: String,
    /// First 12 hex digits of SHA-256 over the config: shows that (not what) it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<TestResult>,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
}

impl Connector {
    /// The admin view: never the config, only whether it is set and its fingerprint.
    pub fn view(&self) -> Value {
        let mut v = serde_json::to_value(self).expect("connector serializes");
        // Where the secret lives is nobody's business outside the app.
        if let Some(o) = v.as_object_mut() {
            o.remove("configNonce");
        }
        v["configured"] = json!(self.config_version > 0 || !self.kind.is_connected());
        v["configFields"] = json!(self.kind.fields());
        v
    }
}

fn slug(id: &str) -> bool {
    crate::catalog::is_tool_id(id)
}

pub fn load(store: Store<'_>, id: &str) -> AppResult<Option<Connector>> {
    if !slug(id) {
        return Ok(None);
    }
    Ok(store.get(&keys::connector(id))?)
}

/// The connector and its stored text (the condition for writing it back).
fn must_raw(store: Store<'_>, id: &str) -> AppResult<(Connector, String)> {
    let key = keys::connector(id);
    let missing = || AppError::not_found("CONNECTOR_NOT_FOUND", format!("no connector {id:?}"));
    if !slug(id) {
        return Err(missing());
    }
    let raw = store.get_raw(&key)?.ok_or_else(missing)?;
    Ok((crate::storage::decode(&key, &raw)?, raw))
}

fn must(store: Store<'_>, id: &str) -> AppResult<Connector> {
    must_raw(store, id).map(|(c, _)| c)
}

pub fn list(store: Store<'_>) -> AppResult<Value> {
    let all = store.scan::<Connector>(keys::CONNECTOR_PREFIX, 200)?;
    Ok(json!({"connectors": all.iter().map(|(_, c)| c.view()).collect::<Vec<_>>()}))
}

pub fn get(store: Store<'_>, p: &Value) -> AppResult<Value> {
    Ok(json!({"connector": must(store, field(p, "id")?)?.view()}))
}

fn field<'a>(p: &'a Value, name: &str) -> AppResult<&'a str> {
    p.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::invalid("FIELD_MISSING", format!("{name} is required")))
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks a config object for `kind`; returns it with only the known fields, trimmed.
fn parse_config(kind: Kind, v: &Value) -> AppResult<Map<String, Value>> {
    let obj = v.as_object().ok_or_else(|| {
        AppError::invalid("CONNECTOR_INVALID", "config must be an object")
            .with_details(json!({"config": "an object"}))
    })?;
    let mut errors = Map::new();
    let mut out = Map::new();
    for f in kind.fields() {
        let s = obj
            .get(*f)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        let problem = match *f {
            _ if s.is_empty() => Some("required"),
            _ if s.len() > 4_096 => Some("at most 4096 characters"),
            "orgUrl" if !s.starts_with("https://") || s.contains(char::is_whitespace) => {
                Some("an https:// URL such as https://acme.okta.com")
            }
            "tenantId" | "clientId" if !is_guid(s) => Some("a GUID"),
            _ => None,
        };
        match problem {
            Some(p) => {
                errors.insert((*f).into(), json!(p));
            }
            None => {
                out.insert((*f).into(), json!(s));
            }
        }
    }
    for k in obj.keys() {
        if !kind.fields().contains(&k.as_str()) {
            errors.insert(k.clone(), json!("not a field of this connector type"));
        }
    }
    if !errors.is_empty() {
        // Field names only: the values may be secrets.
        return Err(AppError::invalid(
            "CONNECTOR_INVALID",
            "the connector config has invalid fields",
        )
        .with_details(json!({ "config": errors })));
    }
    Ok(out)
}

fn fingerprint(config: &Map<String, Value>) -> String {
    let text = crate::audit::canonical_json(&Value::Object(config.clone()));
    crate::audit::chain::hex(&Sha256::digest(text.as_bytes()))[..12].to_string()
}

/// The connector's config from secret storage.
pub fn config(host: &dyn Host, c: &Connector) -> AppResult<Option<Value>> {
    if c.config_version == 0 {
        return Ok(None);
    }
    let key = keys::connector_config_secret(&c.id, c.config_version, &c.config_nonce);
    match host.secret_get(&key)? {
        Some(text) => Ok(Some(serde_json::from_str(&text).map_err(|_| {
            AppError::internal(
                "CONNECTOR_CONFIG_UNREADABLE",
                "the connector's stored config is unreadable; save it again",
            )
        })?)),
        None => Err(AppError::internal(
            "CONNECTOR_CONFIG_MISSING",
            "the connector's config is missing from secret storage; save it again",
        )),
    }
}

fn audited(
    store: Store<'_>,
    who: &str,
    kind: &str,
    c: &Connector,
    raw: Option<&str>,
    data: Value,
    write: Option<&Connector>,
) -> AppResult<()> {
    let mut d = AuditDraft::new(kind, who);
    d.subject = json!({"connectorId": c.id});
    d.data = data;
    let mac = audit::mac_key(store, None)?;
    let key = keys::connector(&c.id);
    audit::commit_with_audit(store, &mac, None, &[d], |tx| {
        match write {
            Some(next) => {
                tx.set_if_current(&key, next, raw)?;
            }
            None => {
                tx.delete_if_current(&key, raw.unwrap_or(""))?;
            }
        }
        Ok(())
    })
    .map_err(|e| match e {
        crate::storage::StorageError::Conflict(k) if k == key => AppError::conflict(
            "CONNECTOR_CHANGED",
            "the connector changed while saving; reload and try again",
        ),
        e => e.into(),
    })?;
    Ok(())
}

/// Create or edit (`admin.connectors.save`). The type is fixed once created; `config` is
/// optional on edit (the stored one is kept). A new connector starts disabled.
pub fn save(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let id = field(p, "id")?;
    if !slug(id) {
        return Err(AppError::invalid(
            "CONNECTOR_INVALID",
            "id must be a slug (a-z, 0-9, -; at most 64)",
        )
        .with_details(json!({"id": "a slug"})));
    }
    let key = keys::connector(id);
    let raw = store.get_raw(&key)?;
    let current: Option<Connector> = raw
        .as_deref()
        .map(|t| crate::storage::decode(&key, t))
        .transpose()?;
    let kind = match (p.get("type").and_then(Value::as_str), &current) {
        (Some(t), _) => Kind::parse(t).ok_or_else(|| {
            AppError::invalid(
                "CONNECTOR_TYPE_UNSUPPORTED",
                format!("{t:?} is not a connector type; use manual, okta-group or entra-group"),
            )
        })?,
        (None, Some(c)) => c.kind,
        (None, None) => return Err(AppError::invalid("FIELD_MISSING", "type is required")),
    };
    if let Some(c) = &current {
        if c.kind != kind {
            return Err(AppError::invalid(
                "CONNECTOR_TYPE_FIXED",
                "a connector's type cannot change; create a new connector",
            ));
        }
    }
    let name = match p.get("name").and_then(Value::as_str).map(str::trim) {
        Some(n) if !n.is_empty() && n.chars().count() <= 120 => {
            // Shown in pickers: nothing invisible or reordering (D-123).
            crate::text::check_name("name", n)?;
            n.to_string()
        }
        Some(_) => {
            return Err(
                AppError::invalid("CONNECTOR_INVALID", "name: 1..=120 characters")
                    .with_details(json!({"name": "1..=120 characters"})),
            )
        }
        None => match &current {
            Some(c) => c.name.clone(),
            None => return Err(AppError::invalid("FIELD_MISSING", "name is required")),
        },
    };
    let identity_match = match p.get("identityMatch").and_then(Value::as_str) {
        None => current
            .as_ref()
            .map_or(IdentityMatch::EmailOrMapping, |c| c.identity_match),
        Some("emailOrMapping") => IdentityMatch::EmailOrMapping,
        Some("mappingOnly") => IdentityMatch::MappingOnly,
        Some(_) => {
            return Err(AppError::invalid(
                "CONNECTOR_INVALID",
                "identityMatch is emailOrMapping or mappingOnly",
            ))
        }
    };
    let reconcile_mode = match p.get("reconcileMode").and_then(Value::as_str) {
        None => current
            .as_ref()
            .map_or(ReconcileMode::ReportOnly, |c| c.reconcile_mode),
        Some("reportOnly") => ReconcileMode::ReportOnly,
        Some("repair") => ReconcileMode::Repair,
        Some(_) => {
            return Err(AppError::invalid(
                "CONNECTOR_INVALID",
                "reconcileMode is reportOnly or repair",
            ))
        }
    };
    let new_config = match p.get("config").filter(|v| !v.is_null()) {
        Some(v) if kind.is_connected() => Some(parse_config(kind, v)?),
        Some(_) => {
            return Err(AppError::invalid(
                "CONNECTOR_INVALID",
                "a manual connector has no config",
            ))
        }
        None if kind.is_connected() && current.as_ref().is_none_or(|c| c.config_version == 0) => {
            return Err(AppError::invalid(
                "CONNECTOR_INVALID",
                "config is required for a connected connector",
            )
            .with_details(json!({"config": kind.fields()})))
        }
        None => None,
    };
    let now = crate::time::rfc3339(host.now_ms());
    let mut next = current.clone().unwrap_or(Connector {
        id: id.to_string(),
        name: name.clone(),
        kind,
        enabled: false,
        identity_match,
        reconcile_mode,
        config_version: 0,
        config_nonce: String::new(),
        config_fingerprint: None,
        last_test: None,
        created_at: now.clone(),
        updated_at: now.clone(),
        updated_by: who.to_string(),
    });
    next.name = name;
    next.identity_match = identity_match;
    next.reconcile_mode = reconcile_mode;
    next.updated_at = now;
    next.updated_by = who.to_string();
    let old_secret = current
        .as_ref()
        .filter(|c| c.config_version > 0 && new_config.is_some())
        .map(|c| keys::connector_config_secret(&c.id, c.config_version, &c.config_nonce));
    if let Some(cfg) = &new_config {
        next.config_version += 1;
        next.config_nonce = crate::audit::chain::hex(&host.random_bytes(4));
        next.config_fingerprint = Some(fingerprint(cfg));
        next.last_test = None;
        // Secret first: the record must never point at a config that is not there.
        host.secret_set(
            &keys::connector_config_secret(id, next.config_version, &next.config_nonce),
            &Value::Object(cfg.clone()).to_string(),
        )?;
    }
    let data = json!({"type": kind.as_str(), "created": current.is_none(),
                      "reconcileMode": reconcile_mode,
                      "configChanged": new_config.is_some(),
                      "configFingerprint": next.config_fingerprint});
    audited(
        store,
        who,
        "connector_saved",
        &next,
        raw.as_deref(),
        data,
        Some(&next),
    )?;
    if let Some(old) = old_secret {
        if let Err(e) = host.secret_delete(&old) {
            host.log(
                Level::Warn,
                &format!("connector {id}: old config secret not deleted ({e})"),
            );
        }
    }
    Ok(json!({"connector": next.view()}))
}

/// `admin.connectors.enable` / `disable`. Enabling a connected connector needs connected mode
/// (flag, Core variables, license) and a saved config; each missing precondition is its own
/// error. Manual connectors need nothing.
pub fn set_enabled(
    host: &dyn Host,
    inv: &Invocation,
    who: &str,
    p: &Value,
    on: bool,
) -> AppResult<Value> {
    let store = Store::new(host);
    let id = field(p, "id")?;
    let (c, raw) = must_raw(store, id)?;
    if on && c.kind.is_connected() {
        super::connected_mode(host, inv.license_active)?;
        if c.config_version == 0 {
            return Err(AppError::invalid(
                "CONNECTOR_NOT_CONFIGURED",
                "save the connector's config before enabling it",
            ));
        }
        // A connector whose last test failed would fail every job it takes (D-70).
        if let Some(t) = c.last_test.as_ref().filter(|t| !t.ok) {
            return Err(AppError::conflict(
                "CONNECTOR_TEST_FAILED",
                format!(
                    "the last test ({}) failed with {}: {}; fix the config and test again before enabling",
                    t.at, t.code, t.message
                ),
            ));
        }
    }
    if c.enabled == on {
        return Ok(json!({"connector": c.view(), "changed": false}));
    }
    let mut next = c.clone();
    next.enabled = on;
    next.updated_at = crate::time::rfc3339(host.now_ms());
    next.updated_by = who.to_string();
    let kind = if on {
        "connector_enabled"
    } else {
        "connector_disabled"
    };
    audited(
        store,
        who,
        kind,
        &next,
        Some(&raw),
        json!({"type": c.kind.as_str()}),
        Some(&next),
    )?;
    Ok(json!({"connector": next.view(), "changed": true}))
}

/// `admin.connectors.delete`: refused while a catalog tool is bound to the connector.
pub fn delete(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let id = field(p, "id")?;
    let key = keys::connector(id);
    let Some(raw) = store.get_raw(&key)? else {
        return Ok(json!({"deleted": false}));
    };
    let c: Connector = crate::storage::decode(&key, &raw)?;
    let bound: Vec<String> = crate::catalog::list(store)?
        .into_iter()
        .filter(|t| t.connector_id.as_deref() == Some(id))
        .map(|t| t.id)
        .collect();
    if !bound.is_empty() {
        return Err(AppError::conflict(
            "CONNECTOR_IN_USE",
            format!("unbind these tools first: {}", bound.join(", ")),
        )
        .with_details(json!({"tools": bound})));
    }
    audited(
        store,
        who,
        "connector_deleted",
        &c,
        Some(&raw),
        json!({"type": c.kind.as_str()}),
        None,
    )?;
    if c.config_version > 0 {
        if let Err(e) = host.secret_delete(&keys::connector_config_secret(
            id,
            c.config_version,
            &c.config_nonce,
        )) {
            host.log(
                Level::Warn,
                &format!("connector {id}: config secret not deleted ({e})"),
            );
        }
    }
    Ok(json!({"deleted": true}))
}

/// What Core needs to act for this connector: its id, type and provider, plus (for setup calls
/// only) the provider credentials from secret storage.
pub fn core_connector(host: &dyn Host, c: &Connector, with_credentials: bool) -> AppResult<Value> {
    let mut v = json!({"id": c.id, "type": c.kind.as_str(), "provider": c.kind.provider()});
    if with_credentials {
        v["credentials"] = config(host, c)?.unwrap_or(Value::Null);
    }
    Ok(v)
}

/// `admin.connectors.test`: a signed call to Core with the connector's credentials; the
/// normalised outcome is stored on the connector and returned. Never echoes upstream text.
pub fn test(host: &dyn Host, inv: &Invocation, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let id = field(p, "id")?;
    let (c, raw) = must_raw(store, id)?;
    let at = crate::time::rfc3339(host.now_ms());
    let result = if !c.kind.is_connected() {
        TestResult {
            at,
            ok: true,
            code: "MANUAL".into(),
            message: "manual connectors need no test: approvers fulfil access by hand".into(),
            request_id: None,
        }
    } else {
        let core = super::connected_mode(host, inv.license_active)?;
        let body = json!({"cloudId": inv.cloud_id, "connector": core_connector(host, &c, true)?,
                          "context": {"operation": "connector-test"}});
        match relay::call(host, &core, "POST", "/v1/ping", Some(&body), None) {
            Ok(_) => TestResult {
                at,
                ok: true,
                code: "OK".into(),
                message: "ArdSaor Core accepted the app's signature and the connector".into(),
                request_id: None,
            },
            Err(e) => TestResult {
                at,
                ok: false,
                code: e.code.into(),
                message: e.message.clone(),
                request_id: e.request_id.clone(),
            },
        }
    };
    let mut next = c.clone();
    next.last_test = Some(result.clone());
    let data = json!({"ok": result.ok, "code": result.code});
    audited(
        store,
        who,
        "connector_tested",
        &next,
        Some(&raw),
        data,
        Some(&next),
    )?;
    Ok(json!({"test": result}))
}

/// `admin.connectors.bindTool`: binds a catalog tool to a connector. For a connected connector
/// Core creates the tool's dedicated entitlement group, or binds the existing one of that name,
/// and the group reference is stored on the tool. `connectorId: null` unbinds (fulfilment goes
/// back to manual).
pub fn bind_tool(host: &dyn Host, inv: &Invocation, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let tool_id = field(p, "toolId")?;
    let tool = crate::catalog::get(store, tool_id)?
        .ok_or_else(|| AppError::not_found("TOOL_NOT_FOUND", format!("no tool {tool_id:?}")))?;
    let connector_id = p.get("connectorId").and_then(Value::as_str);
    let group = match connector_id {
        None => None,
        Some(cid) => {
            let c = must(store, cid)?;
            if !c.enabled {
                return Err(AppError::conflict(
                    "CONNECTOR_DISABLED",
                    format!("enable connector {cid} first"),
                ));
            }
            match c.kind.provider() {
                None => None,
                Some(provider) => {
                    let core: CoreConfig = super::connected_mode(host, inv.license_active)?;
                    let name = p
                        .get("groupName")
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .unwrap_or_else(|| format!("AI Clearance - {}", tool.display_name));
                    if name.chars().count() > 255 {
                        return Err(AppError::invalid(
                            "GROUP_NAME_INVALID",
                            "groupName: at most 255 characters",
                        ));
                    }
                    let body = json!({"cloudId": inv.cloud_id,
                                      "connector": core_connector(host, &c, true)?,
                                      "provider": provider, "name": name, "toolId": tool.id});
                    let out =
                        relay::call(host, &core, "POST", "/v1/groups/ensure", Some(&body), None)
                            .map_err(|e| {
                                host.log(Level::Warn, &format!("bind {tool_id}: {e}"));
                                relay_app_error(&e)
                            })?;
                    let gid = out["groupId"].as_str().unwrap_or("").to_string();
                    if gid.is_empty() {
                        return Err(AppError::new(
                            crate::error::ErrorKind::Unavailable,
                            "RELAY_BAD_RESPONSE",
                            "ArdSaor Core did not return a group id",
                        ));
                    }
                    Some(json!({"provider": provider, "groupId": gid,
                                "name": out["name"].as_str().unwrap_or(&name),
                                "created": out["created"].as_bool().unwrap_or(false),
                                "connectorId": cid,
                                "boundAt": crate::time::rfc3339(host.now_ms())}))
                }
            }
        }
    };
    if let Some(g) = &group {
        if let Some(other) = crate::catalog::group_owner(store, g, &tool.id)? {
            return Err(AppError::conflict(
                "ENTITLEMENT_GROUP_IN_USE",
                format!(
                    "that entitlement group already grants {other}; one group belongs to one tool"
                ),
            )
            .with_details(json!({"toolId": other})));
        }
    }
    let tool = crate::catalog::bind(store, &tool.id, connector_id, group, who)?;
    Ok(json!({"tool": tool}))
}

/// A relay failure as a resolver error: the normalised code and message, nothing upstream.
pub fn relay_app_error(e: &relay::RelayError) -> AppError {
    let kind = if e.retryable {
        crate::error::ErrorKind::Unavailable
    } else {
        crate::error::ErrorKind::Conflict
    };
    let mut a = AppError::new(kind, e.code, e.message.clone());
    a.retry_after_s = e.retry_after_s;
    if let Some(id) = &e.request_id {
        a = a.with_details(json!({"coreRequestId": id}));
    }
    a
}
