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
    /// Approver routing, fallback, escalation and review-before-expiry (§4.2, CL-038).
    #[serde(default)]
    pub approvals: ApprovalSettings,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub updated_by: String,
}

/// Who decides requests that no approval path decides, and the lifecycle timers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSettings {
    /// Named approvers (account ids).
    #[serde(default)]
    pub approver_account_ids: Vec<String>,
    /// Role-based approvers: members of these Jira groups.
    #[serde(default)]
    pub approver_groups: Vec<String>,
    /// Delegated approvers: approver account id → the accounts deciding on their behalf.
    #[serde(default)]
    pub delegates: std::collections::BTreeMap<String, Vec<String>>,
    /// Jira admins decide when nobody else is configured (always true in this release: admins
    /// keep the management role; the flag documents the intent and is reported in Overview).
    #[serde(default = "yes")]
    pub admin_fallback: bool,
    /// Pending longer than this → an escalation (hourly sweep).
    #[serde(default = "default_escalation_hours")]
    pub escalation_after_hours: u32,
    #[serde(default)]
    pub escalation_targets: Vec<String>,
    /// Days before expiry when a recertification issue is created (0 = off).
    #[serde(default)]
    pub review_before_expiry_days: u32,
    #[serde(default)]
    pub review_issue_type_id: Option<u64>,
}

fn yes() -> bool {
    true
}
fn default_escalation_hours() -> u32 {
    48
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            approver_account_ids: vec![],
            approver_groups: vec![],
            delegates: Default::default(),
            admin_fallback: true,
            escalation_after_hours: default_escalation_hours(),
            escalation_targets: vec![],
            review_before_expiry_days: 0,
            review_issue_type_id: None,
        }
    }
}

impl ApprovalSettings {
    pub fn has_approvers(&self) -> bool {
        !self.approver_account_ids.is_empty() || !self.approver_groups.is_empty()
    }
}

fn parse_approvals(
    v: Option<&Value>,
    errors: &mut serde_json::Map<String, Value>,
) -> ApprovalSettings {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return ApprovalSettings::default();
    };
    let s: ApprovalSettings = match serde_json::from_value(v.clone()) {
        Ok(s) => s,
        Err(e) => {
            errors.insert("approvals".into(), json!(format!("{e}")));
            return ApprovalSettings::default();
        }
    };
    let account_ok =
        |a: &String| !a.is_empty() && a.len() <= 128 && crate::storage::check_key(a).is_ok();
    if s.approver_account_ids.len() > 50 || !s.approver_account_ids.iter().all(account_ok) {
        errors.insert(
            "approvals.approverAccountIds".into(),
            json!("at most 50 account ids"),
        );
    }
    if s.approver_groups.len() > 20
        || s.approver_groups
            .iter()
            .any(|g| g.trim().is_empty() || g.len() > 255)
    {
        errors.insert(
            "approvals.approverGroups".into(),
            json!("at most 20 group names"),
        );
    }
    if s.delegates.len() > 50
        || s.delegates
            .iter()
            .any(|(k, ds)| !account_ok(k) || ds.len() > 10 || !ds.iter().all(account_ok))
    {
        errors.insert(
            "approvals.delegates".into(),
            json!("approver account id → at most 10 delegate account ids"),
        );
    }
    if !(1..=720).contains(&s.escalation_after_hours) {
        errors.insert(
            "approvals.escalationAfterHours".into(),
            json!("1-720 hours"),
        );
    }
    if s.escalation_targets.len() > 20 || !s.escalation_targets.iter().all(account_ok) {
        errors.insert(
            "approvals.escalationTargets".into(),
            json!("at most 20 account ids"),
        );
    }
    if s.review_before_expiry_days > 90 {
        errors.insert(
            "approvals.reviewBeforeExpiryDays".into(),
            json!("0-90 days"),
        );
    }
    if s.review_before_expiry_days > 0 && s.review_issue_type_id.is_none() {
        errors.insert(
            "approvals.reviewIssueTypeId".into(),
            json!("a numeric issue type id is needed when review-before-expiry is on"),
        );
    }
    s
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
    let approvals = parse_approvals(payload.get("approvals"), &mut errors);
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
        approvals,
        version: 0,
        updated_at: String::new(),
        updated_by: String::new(),
    })
}

pub fn load(store: Store<'_>) -> AppResult<Option<IntakeConfig>> {
    Ok(store.get(keys::SITE_INTAKE_CONFIG)?)
}

/// Saves a new version of the config (the version increments; who and when are recorded).
/// Saves a new version, conditioned on what was read, with an `intake_config_updated` audit entry
/// naming the fields that changed, in one transaction (audited like governance; issue 20).
pub fn save(store: Store<'_>, mut cfg: IntakeConfig, actor: &str) -> AppResult<IntakeConfig> {
    let current_raw = store.get_raw(keys::SITE_INTAKE_CONFIG)?;
    let current: Option<IntakeConfig> = current_raw
        .as_deref()
        .map(|t| crate::storage::decode(keys::SITE_INTAKE_CONFIG, t))
        .transpose()?;
    let from = current.as_ref().map(|c| c.version).unwrap_or(0);
    cfg.version = from + 1;
    cfg.updated_at = crate::time::rfc3339(store.host.now_ms());
    cfg.updated_by = actor.to_string();
    let before = current
        .as_ref()
        .map(|c| serde_json::to_value(c).expect("configs serialize"))
        .unwrap_or(Value::Null);
    let after = serde_json::to_value(&cfg).expect("configs serialize");
    let mut draft = crate::audit::AuditDraft::new("intake_config_updated", actor);
    draft.data = json!({"from": from, "to": cfg.version,
                        "changed": crate::audit::changed_fields(&before, &after),
                        "projectKey": cfg.project_key, "portalId": cfg.portal_id,
                        "requestTypeIds": cfg.request_type_ids,
                        // Who decides, in full: an auditor (and the simulation's adversary
                        // check) can tell who was an approver at any point of the trail.
                        "approvals": cfg.approvals});
    let key = crate::audit::mac_key(store, None)?;
    crate::audit::commit_with_audit(store, &key, None, &[draft], |tx| {
        tx.set_if_current(keys::SITE_INTAKE_CONFIG, &cfg, current_raw.as_deref())?;
        Ok(())
    })
    .map_err(|e| match e {
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

    // covers: CL-038
    #[test]
    fn approver_routing_and_lifecycle_settings_round_trip_and_are_checked() {
        let cfg = parse(&json!({"projectKey":"AIR","portalId":1,"approvals":{
            "approverAccountIds":["a1"],"approverGroups":["ai-approvers"],"delegates":{"a1":["d1"]},
            "escalationAfterHours":24,"escalationTargets":["a2"],
            "reviewBeforeExpiryDays":14,"reviewIssueTypeId":10002}}))
        .unwrap();
        let back: IntakeConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(back.approvals, cfg.approvals);
        assert_eq!(cfg.approvals.delegates["a1"], vec!["d1".to_string()]);
        assert!(cfg.approvals.admin_fallback && cfg.approvals.has_approvers());
        let err = parse(&json!({"projectKey":"AIR","portalId":1,"approvals":{
            "escalationAfterHours":0,"reviewBeforeExpiryDays":7}}))
        .unwrap_err();
        let d = err.details.unwrap();
        assert!(d.get("approvals.escalationAfterHours").is_some());
        assert!(d.get("approvals.reviewIssueTypeId").is_some());
    }

    #[test]
    fn bad_project_and_portal_are_field_errors() {
        let err = parse(&json!({"projectKey":"air project","portalId":-3})).unwrap_err();
        let d = err.details.unwrap();
        assert!(d.get("projectKey").is_some() && d.get("portalId").is_some());
    }
}
