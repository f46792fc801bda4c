//! The site intake configuration (`site-intake-config`): which project, portal and request types
//! feed AI Clearance. Portal and request type ids are stored and compared as numbers (§11).

use crate::error::{AppError, AppResult};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Jira Cloud's JSM "Request Type" field; configurable because field ids differ between sites.
pub const DEFAULT_REQUEST_TYPE_FIELD: &str = "customfield_10010";
const MAX_REQUEST_TYPES: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IntakeConfig {
    pub project_key: String,
    pub portal_id: u64,
    /// Empty = every request type of the intake portal.
    #[serde(default)]
    pub request_type_ids: Vec<u64>,
    #[serde(default = "default_field")]
    pub request_type_field_id: String,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub updated_by: String,
}

fn default_field() -> String {
    DEFAULT_REQUEST_TYPE_FIELD.into()
}

impl IntakeConfig {
    pub fn allows_request_type(&self, id: u64) -> bool {
        self.request_type_ids.is_empty() || self.request_type_ids.contains(&id)
    }
}

/// A Jira/JSM numeric id given as a number or a numeric string ("12" → 12).
pub fn numeric_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().filter(|n| *n > 0),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok().filter(|n| *n > 0)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn is_project_key(k: &str) -> bool {
    let b = k.as_bytes();
    (2..=10).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

/// Validates an admin's payload into a config; every problem is reported per field.
pub fn parse(payload: &Value) -> AppResult<IntakeConfig> {
    let mut errors = serde_json::Map::new();
    let project_key = payload
        .get("projectKey")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if !is_project_key(&project_key) {
        errors.insert(
            "projectKey".into(),
            json!("a Jira project key such as AIR (2-10 upper-case letters, digits or _)"),
        );
    }
    let portal_id = payload.get("portalId").and_then(numeric_id);
    if portal_id.is_none() {
        errors.insert("portalId".into(), json!("a positive numeric portal id"));
    }
    let mut request_type_ids = Vec::new();
    match payload.get("requestTypeIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() <= MAX_REQUEST_TYPES => {
            for item in items {
                match numeric_id(item) {
                    Some(id) if !request_type_ids.contains(&id) => request_type_ids.push(id),
                    Some(_) => {}
                    None => {
                        errors.insert(
                            "requestTypeIds".into(),
                            json!(format!("{item} is not a numeric request type id")),
                        );
                    }
                }
            }
        }
        Some(_) => {
            errors.insert(
                "requestTypeIds".into(),
                json!(format!(
                    "a list of at most {MAX_REQUEST_TYPES} numeric request type ids"
                )),
            );
        }
    }
    let request_type_field_id = match payload.get("requestTypeFieldId").and_then(Value::as_str) {
        None => DEFAULT_REQUEST_TYPE_FIELD.to_string(),
        Some(f)
            if f.starts_with("customfield_")
                && f.len() <= 40
                && f[12..].bytes().all(|b| b.is_ascii_digit())
                && f.len() > 12 =>
        {
            f.to_string()
        }
        Some(_) => {
            errors.insert(
                "requestTypeFieldId".into(),
                json!("a custom field id such as customfield_10010"),
            );
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(AppError::invalid(
            "INTAKE_CONFIG_INVALID",
            "the intake configuration has invalid fields",
        )
        .with_details(Value::Object(errors)));
    }
    request_type_ids.sort_unstable();
    Ok(IntakeConfig {
        project_key,
        portal_id: portal_id.unwrap_or_default(),
        request_type_ids,
        request_type_field_id,
        version: 0,
        updated_at: String::new(),
        updated_by: String::new(),
    })
}

pub fn load(store: Store<'_>) -> AppResult<Option<IntakeConfig>> {
    Ok(store.get(keys::SITE_INTAKE_CONFIG)?)
}

/// Saves a new version of the config (the version increments; who and when are recorded).
pub fn save(store: Store<'_>, mut cfg: IntakeConfig, actor: &str) -> AppResult<IntakeConfig> {
    let current_raw = store.get_raw(keys::SITE_INTAKE_CONFIG)?;
    let current: Option<IntakeConfig> = current_raw
        .as_deref()
        .map(|t| crate::storage::decode(keys::SITE_INTAKE_CONFIG, t))
        .transpose()?;
    cfg.version = current.map(|c| c.version).unwrap_or(0) + 1;
    cfg.updated_at = crate::time::rfc3339(store.host.now_ms());
    cfg.updated_by = actor.to_string();
    let mut tx = store.tx();
    tx.set_if_current(
        keys::SITE_INTAKE_CONFIG,
        crate::storage::encode(&cfg)?,
        current_raw.as_deref(),
    )?;
    tx.commit().map_err(|e| match e {
        crate::storage::StorageError::Conflict(_) => AppError::conflict(
            "CONCURRENT_UPDATE",
            "the intake configuration changed meanwhile; reload and retry",
        ),
        other => other.into(),
    })?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    // covers: CL-003
    #[test]
    fn request_type_ids_are_numbers_and_strings_are_accepted_when_numeric() {
        let cfg =
            parse(&json!({"projectKey":"AIR","portalId":"1","requestTypeIds":["12", 13, "12"]}))
                .unwrap();
        assert_eq!(cfg.portal_id, 1);
        assert_eq!(cfg.request_type_ids, vec![12, 13]);
        assert!(cfg.allows_request_type(12) && !cfg.allows_request_type(14));
        let err = parse(&json!({"projectKey":"AIR","portalId":1,"requestTypeIds":["twelve"]}))
            .unwrap_err();
        assert_eq!(err.code, "INTAKE_CONFIG_INVALID");
        assert!(err.details.unwrap().get("requestTypeIds").is_some());
    }

    // covers: CL-002
    #[test]
    fn no_restriction_allows_every_request_type() {
        let cfg = parse(&json!({"projectKey":"AIR","portalId":1})).unwrap();
        assert!(cfg.allows_request_type(999));
    }

    #[test]
    fn bad_project_and_portal_are_field_errors() {
        let err = parse(&json!({"projectKey":"air project","portalId":-3})).unwrap_err();
        let d = err.details.unwrap();
        assert!(d.get("projectKey").is_some() && d.get("portalId").is_some());
    }
}
