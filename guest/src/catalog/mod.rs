//! The catalog of governed AI tools (spec §4.3). Only `approved` tools are requestable; blocked
//! and denied tools stay governed (admins see them) but cannot be requested or granted.
//! `seed` holds the seed catalog that `admin.catalog.seed` copies in.

pub mod data;
pub mod seed;

use crate::error::{AppError, AppResult};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        }
    }

    /// `low`, `medium`, `high` or `critical`.
    pub fn parse(s: &str) -> Option<RiskLevel> {
        match s {
            "low" => Some(RiskLevel::Low),
            "medium" => Some(RiskLevel::Medium),
            "high" => Some(RiskLevel::High),
            "critical" => Some(RiskLevel::Critical),
            _ => None,
        }
    }

    /// Default maximum grant duration per risk level (docs/decisions.md A-CL-08, A-CL-15).
    pub fn default_max_days(self) -> u32 {
        match self {
            RiskLevel::Low => 180,
            RiskLevel::Medium => 90,
            RiskLevel::High => 30,
            RiskLevel::Critical => 14,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ToolStatus {
    Approved,
    Blocked,
    Denied,
}

impl ToolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolStatus::Approved => "approved",
            ToolStatus::Blocked => "blocked",
            ToolStatus::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub id: String,
    pub display_name: String,
    pub provider: String,
    pub status: ToolStatus,
    pub risk_level: RiskLevel,
    pub default_expiry_days: u32,
    /// Guidance for requesters: the only tool text requesters and JSM customers see (Approved
    /// Tools, the portal panel).
    #[serde(default)]
    pub guidance: String,
    /// Internal fulfilment procedure (how IT grants access): admins only, never sent to a
    /// requester or customer (issue 33, D-180).
    #[serde(default)]
    pub fulfilment_notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement_group: Option<Value>,
    /// The data classes the tool is approved for and its vendor's terms (issue 35). Absent on
    /// records saved before: such a tool is approved for no declared class (a person decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_profile: Option<data::DataProfile>,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
}

/// Tool ids are slugs: they become parts of storage keys.
pub fn is_tool_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Checks a tool payload against the default data classes (see [`parse_with_classes`]).
pub fn parse(payload: &Value) -> AppResult<Tool> {
    parse_with_classes(payload, &data::default_classes())
}

/// Checks a tool payload; its `dataProfile` (optional) names classes of the site list `site`
/// (typed errors: `DATA_CLASS_UNKNOWN`, `TERMS_URL_INVALID`, `DATA_PROFILE_INVALID`).
pub fn parse_with_classes(payload: &Value, site: &[String]) -> AppResult<Tool> {
    let data_profile = match payload.get("dataProfile") {
        None | Some(Value::Null) => None,
        Some(v) => Some(data::parse_profile(v, site)?),
    };
    let mut errors = serde_json::Map::new();
    let s = |k: &str| {
        payload
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    let id = s("id");
    if !is_tool_id(&id) {
        errors.insert(
            "id".into(),
            json!("lower-case letters, digits and dashes, at most 64"),
        );
    }
    let display_name = s("displayName");
    let provider = s("provider");
    // Names shown in pickers: nothing invisible or reordering (D-123).
    crate::text::check_name("displayName", &display_name)?;
    crate::text::check_name("provider", &provider)?;
    if display_name.is_empty() || display_name.chars().count() > 120 {
        errors.insert("displayName".into(), json!("1-120 characters"));
    }
    if provider.is_empty() || provider.chars().count() > 120 {
        errors.insert("provider".into(), json!("1-120 characters"));
    }
    let status: Option<ToolStatus> = payload
        .get("status")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok());
    if status.is_none() {
        errors.insert("status".into(), json!("approved, blocked or denied"));
    }
    let risk: Option<RiskLevel> = payload
        .get("riskLevel")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok());
    if risk.is_none() {
        errors.insert("riskLevel".into(), json!("low, medium, high or critical"));
    }
    let expiry = payload
        .get("defaultExpiryDays")
        .and_then(Value::as_u64)
        .filter(|d| (1..=180).contains(d));
    match (expiry, risk) {
        (None, _) => {
            errors.insert("defaultExpiryDays".into(), json!("1-180 days"));
        }
        (Some(d), Some(r)) if d > r.default_max_days() as u64 => {
            errors.insert(
                "defaultExpiryDays".into(),
                json!(format!(
                    "at most {} days for {} risk",
                    r.default_max_days(),
                    r.as_str()
                )),
            );
        }
        _ => {}
    }
    let guidance = s("guidance");
    if guidance.chars().count() > 2000 {
        errors.insert("guidance".into(), json!("at most 2000 characters"));
    }
    let fulfilment_notes = s("fulfilmentNotes");
    if fulfilment_notes.chars().count() > 2000 {
        errors.insert("fulfilmentNotes".into(), json!("at most 2000 characters"));
    }
    if let Some(c) = payload.get("connectorId").filter(|v| !v.is_null()) {
        if !c.as_str().is_some_and(is_tool_id) {
            errors.insert("connectorId".into(), json!("a connector id (slug) or null"));
        }
    }
    match payload.get("entitlementGroup") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => {
            errors.insert(
                "entitlementGroup".into(),
                json!("an object such as {\"name\": \"ai-chatgpt-users\"} or null"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(
            AppError::invalid("TOOL_INVALID", "the tool has invalid fields")
                .with_details(Value::Object(errors)),
        );
    }
    Ok(Tool {
        id,
        display_name,
        provider,
        status: status.expect("checked"),
        risk_level: risk.expect("checked"),
        default_expiry_days: expiry.expect("checked") as u32,
        guidance,
        fulfilment_notes,
        connector_id: payload
            .get("connectorId")
            .and_then(Value::as_str)
            .map(String::from),
        entitlement_group: payload
            .get("entitlementGroup")
            .cloned()
            .filter(|v| !v.is_null()),
        data_profile,
        version: 0,
        updated_at: String::new(),
    })
}

/// `admin.catalog.upsert`: creates or edits a tool, audited (D-71). Fields the edit does not
/// name keep their stored values (an edit of the guidance never drops a connector binding;
/// `connectorId: null` unbinds on purpose); the connector must exist; an entitlement group
/// belongs to one tool. Conditioned on the stored text, so two edits never lose one another.
/// `site_classes` is the site's list of data classes (governance's, which sits a floor above the
/// catalog: its caller reads it).
pub fn save(
    store: Store<'_>,
    payload: &Value,
    who: &str,
    site_classes: &[String],
) -> AppResult<Tool> {
    save_with(store, payload, who, site_classes, &|_, _| {
        AlsoWrite::default()
    })
}

/// What a caller above the catalog records with a tool's save, in the save's own transaction
/// (issue 35: AI Clearance notes a weakened data profile). The catalog knows nothing of it.
#[derive(Debug, Default)]
pub struct AlsoWrite {
    pub drafts: Vec<crate::audit::AuditDraft>,
    pub sets: Vec<(String, Value)>,
}

/// [`save`], with `also(stored, saved)` deciding what else the same transaction writes; it is
/// asked again on every attempt, with the tool as that attempt read it.
pub fn save_with(
    store: Store<'_>,
    payload: &Value,
    who: &str,
    site_classes: &[String],
    also: &dyn Fn(Option<&Tool>, &Tool) -> AlsoWrite,
) -> AppResult<Tool> {
    let id = payload
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    for _ in 0..4 {
        let raw = if is_tool_id(id) {
            store.get_raw(&keys::tool(id))?
        } else {
            None
        };
        let current: Option<Tool> = raw
            .as_deref()
            .map(|t| crate::storage::decode(&keys::tool(id), t))
            .transpose()?;
        let merged = match (&current, payload.as_object()) {
            (Some(t), Some(edit)) => {
                let mut base = serde_json::to_value(t).expect("tool serializes");
                for (k, v) in edit {
                    base[k] = v.clone();
                }
                base
            }
            _ => payload.clone(),
        };
        let mut tool = parse_with_classes(&merged, site_classes)?;
        if let Some(c) = &tool.connector_id {
            if store.get_raw(&keys::connector(c))?.is_none() {
                return Err(
                    AppError::invalid("TOOL_INVALID", "the tool has invalid fields")
                        .with_details(json!({"connectorId": format!("no connector {c:?}; create it under Connectors first")})),
                );
            }
        }
        if let Some(g) = &tool.entitlement_group {
            if let Some(other) = group_owner(store, g, &tool.id)? {
                return Err(AppError::conflict(
                    "ENTITLEMENT_GROUP_IN_USE",
                    format!("that entitlement group already grants {other}; one group belongs to one tool"),
                )
                .with_details(json!({"toolId": other})));
            }
        }
        tool.version = current.as_ref().map(|t| t.version).unwrap_or(0) + 1;
        tool.updated_at = crate::time::rfc3339(store.host.now_ms());
        let changed: Vec<String> = match &current {
            None => vec![],
            Some(c) => {
                let (a, b) = (
                    serde_json::to_value(c).expect("serializes"),
                    serde_json::to_value(&tool).expect("serializes"),
                );
                let keys_: std::collections::BTreeSet<&String> = a
                    .as_object()
                    .into_iter()
                    .chain(b.as_object())
                    .flat_map(|o| o.keys())
                    .filter(|k| !matches!(k.as_str(), "version" | "updatedAt"))
                    .collect();
                keys_
                    .into_iter()
                    .filter(|k| a.get(k.as_str()) != b.get(k.as_str()))
                    .cloned()
                    .collect()
            }
        };
        let mut d = crate::audit::AuditDraft::new("tool_saved", who);
        d.subject = json!({"toolId": tool.id});
        d.data = json!({"created": current.is_none(), "changed": changed,
                        "status": tool.status.as_str(), "riskLevel": tool.risk_level.as_str(),
                        "version": tool.version});
        let extra = also(current.as_ref(), &tool);
        let mut drafts = vec![d];
        drafts.extend(extra.drafts);
        let mac = crate::audit::mac_key(store, None)?;
        let res = crate::audit::commit_with_audit(store, &mac, None, &drafts, |tx| {
            tx.set_if_current(&keys::tool(&tool.id), &tool, raw.as_deref())?;
            for (k, v) in &extra.sets {
                tx.set(k, v)?;
            }
            Ok(())
        });
        match res {
            Ok(_) => return Ok(tool),
            Err(crate::storage::StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "TOOL_BUSY",
        "the tool changed while saving; try again",
    ))
}

/// The other tool holding entitlement group `g` (same group id, or the same name at the same
/// provider), if any.
pub fn group_owner(store: Store<'_>, g: &Value, except: &str) -> AppResult<Option<String>> {
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|x| x.trim().to_lowercase())
            .filter(|x| !x.is_empty())
    };
    let same = |o: &Value| {
        let by_id = matches!((s(g, "groupId"), s(o, "groupId")), (Some(a), Some(b)) if a == b);
        let by_name = matches!((s(g, "name"), s(o, "name")), (Some(a), Some(b)) if a == b)
            && (s(g, "provider").is_none()
                || s(o, "provider").is_none()
                || s(g, "provider") == s(o, "provider"));
        by_id || by_name
    };
    Ok(list(store)?
        .into_iter()
        .find(|t| t.id != except && t.entitlement_group.as_ref().is_some_and(same))
        .map(|t| t.id))
}

/// Removes a tool, audited (`tool_deleted`). Requests and grants keep their own copy of the
/// tool's facts, so history stays readable; the tool simply stops being requestable.
pub fn delete_audited(store: Store<'_>, id: &str, who: &str) -> AppResult<bool> {
    let Some(raw) = (if is_tool_id(id) {
        store.get_raw(&keys::tool(id))?
    } else {
        None
    }) else {
        return Ok(false);
    };
    let mut d = crate::audit::AuditDraft::new("tool_deleted", who);
    d.subject = json!({"toolId": id});
    let mac = crate::audit::mac_key(store, None)?;
    crate::audit::commit_with_audit(store, &mac, None, &[d], |tx| {
        tx.delete_if_current(&keys::tool(id), &raw)?;
        Ok(())
    })?;
    Ok(true)
}

/// Binds tool `id` to a connector (or unbinds it: `connector_id` None) with its entitlement
/// group, audited (`tool_bound`, actor `who`) in the transaction that writes the tool, and
/// conditioned on the stored tool so a concurrent edit is never lost.
pub fn bind(
    store: Store<'_>,
    id: &str,
    connector_id: Option<&str>,
    group: Option<Value>,
    who: &str,
) -> AppResult<Tool> {
    let key = keys::tool(id);
    for _ in 0..4 {
        let raw = store
            .get_raw(&key)?
            .ok_or_else(|| AppError::not_found("TOOL_NOT_FOUND", format!("no tool {id:?}")))?;
        let mut tool: Tool = crate::storage::decode(&key, &raw)?;
        tool.connector_id = connector_id.map(String::from);
        tool.entitlement_group = group.clone();
        tool.version += 1;
        tool.updated_at = crate::time::rfc3339(store.host.now_ms());
        let mut d = crate::audit::AuditDraft::new("tool_bound", who);
        d.subject = json!({"toolId": tool.id});
        d.data = json!({"connectorId": connector_id, "group": group, "version": tool.version});
        let mac = crate::audit::mac_key(store, None)?;
        let res = crate::audit::commit_with_audit(store, &mac, None, &[d], |tx| {
            tx.set_if_current(&key, &tool, Some(&raw))?;
            Ok(())
        });
        match res {
            Ok(_) => return Ok(tool),
            Err(crate::storage::StorageError::Conflict(k)) if k == key => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "TOOL_BUSY",
        "the tool changed while saving; try again",
    ))
}

pub fn get(store: Store<'_>, id: &str) -> AppResult<Option<Tool>> {
    if !is_tool_id(id) {
        return Ok(None);
    }
    Ok(store.get(&keys::tool(id))?)
}

/// Tools created per seeding transaction: with the audit entry, the head, a day key and up to
/// three Merkle tiles, 12 creates stay well inside Forge's 25 operations.
pub const SEED_BATCH: usize = 12;

/// Copies the seed catalog in. Only missing tools are created (create-if-absent), so local edits
/// survive a re-seed and a repeated call creates nothing twice. Each batch of created tools is
/// one transaction with one `config_changed` entry (kind `catalogSeed`) listing them, by `who`.
pub fn seed(store: Store<'_>, who: &str) -> AppResult<Value> {
    let now = crate::time::rfc3339(store.host.now_ms());
    let (mut created, mut kept) = (Vec::new(), Vec::new());
    let tools: Vec<Tool> = self::seed::catalog()
        .into_iter()
        .map(|mut t| {
            t.version = 1;
            t.updated_at = now.clone();
            t
        })
        .collect();
    let seed_id = format!("seed-v{}", self::seed::SEED_VERSION);
    for batch in tools.chunks(SEED_BATCH) {
        let keys_: Vec<String> = batch.iter().map(|t| keys::tool(&t.id)).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let present = store.batch_get(&keys_)?;
            let (missing, here): (Vec<&Tool>, Vec<&Tool>) = batch
                .iter()
                .partition(|t| !present.contains_key(&keys::tool(&t.id)));
            if missing.is_empty() {
                kept.extend(here.iter().map(|t| t.id.clone()));
                break;
            }
            let record = json!({"seedVersion": self::seed::SEED_VERSION,
                                "tools": missing});
            let change = crate::audit::config::Change::new::<Value, _>(
                "catalogSeed",
                &seed_id,
                None,
                Some(&record),
            );
            let res = crate::audit::config::commit(store, who, &[change], |tx| {
                for t in &missing {
                    tx.create(&keys::tool(&t.id), t)?;
                }
                Ok(())
            });
            match res {
                Ok(_) => {
                    created.extend(missing.iter().map(|t| t.id.clone()));
                    kept.extend(here.iter().map(|t| t.id.clone()));
                    break;
                }
                // Another admin created one of them meanwhile: read again.
                Err(crate::storage::StorageError::Conflict(k))
                    if k.starts_with(keys::TOOL_PREFIX) && attempt < 4 =>
                {
                    continue
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(json!({"created": created, "kept": kept, "seedVersion": self::seed::SEED_VERSION}))
}

/// The whole catalog, bounded (a catalog is tens of tools, not thousands).
pub fn list(store: Store<'_>) -> AppResult<Vec<Tool>> {
    Ok(store
        .scan::<Tool>(keys::TOOL_PREFIX, 1_000)?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}
