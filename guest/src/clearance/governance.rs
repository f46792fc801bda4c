//! Governance (spec §4.5): per risk level, which approval path decides and the longest grant;
//! per tool, an optional path override; unknown-tool blocking; and controlled exceptions with a
//! limit for critical-risk tools.
//!
//! Versioned: every save writes a new version (the current record plus an immutable copy), and
//! every decision records the version that was active (CL-035, CL-144). Until an admin saves,
//! version 0 — the built-in defaults — applies.

use crate::audit::{self, AuditDraft};
use crate::catalog::RiskLevel;
use crate::error::{AppError, AppResult};
use crate::storage::{keys, StorageError, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The absolute ceiling of any grant's lifetime (§9 D).
pub const LIFETIME_MAX_DAYS: u32 = 180;
pub const DEFAULT_CRITICAL_EXCEPTION_LIMIT: u32 = 3;
const MAX_TOOL_RULES: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskRule {
    pub max_days: u32,
    /// The approval definition that decides requests of this risk level. None = admin
    /// fallback: approvers from Intake & Approvals (or Jira admins) decide directly.
    #[serde(default)]
    pub approval_definition_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Governance {
    pub version: u64,
    pub low: RiskRule,
    pub medium: RiskRule,
    pub high: RiskRule,
    pub critical: RiskRule,
    /// Tool id → approval definition id (security / Jira-admin review for one tool).
    #[serde(default)]
    pub tool_rules: BTreeMap<String, String>,
    /// Refuse "Request new tool" requests at intake and at approval (A-CL-14).
    #[serde(default)]
    pub block_unknown_tools: bool,
    #[serde(default = "default_limit")]
    pub critical_exception_limit: u32,
    /// Days a request decided directly may stay pending; then it is denied as expired, the
    /// requester told (issue 32: the backlog stays bounded). Pinned per request at intake.
    #[serde(default = "default_deadline")]
    pub decision_deadline_days: u32,
    /// Risk levels at which a request may be approved without any person's approval (an
    /// auto-approval policy, or a path of only automatic steps). Off for high and critical
    /// unless an admin turns it on (issue 30).
    #[serde(default)]
    pub auto_approval: AutoApproval,
    /// The version of each definition governance names, pinned when governance is saved: a
    /// definition edited later decides nothing until governance is saved again (D-131).
    #[serde(default)]
    pub definition_versions: BTreeMap<String, u64>,
    /// The site's data classes (issue 35); `None`: the defaults
    /// (`catalog::data::DEFAULT_DATA_CLASSES`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_classes: Option<Vec<String>>,
    /// Per tool, classes a person must review or that are prohibited (refused at intake).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data_class_rules: crate::catalog::data::ClassRules,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub updated_by: String,
}

fn default_limit() -> u32 {
    DEFAULT_CRITICAL_EXCEPTION_LIMIT
}

/// Default days a direct request waits for a decision (D-133).
pub const DEFAULT_DECISION_DEADLINE_DAYS: u32 = 30;
/// The longest deadline an admin may set: a year (requests are history after that).
pub const MAX_DECISION_DEADLINE_DAYS: u32 = 365;

fn default_deadline() -> u32 {
    DEFAULT_DECISION_DEADLINE_DAYS
}

/// Where approval without a person is allowed, per risk level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoApproval {
    pub low: bool,
    pub medium: bool,
    pub high: bool,
    pub critical: bool,
}

impl Default for AutoApproval {
    fn default() -> Self {
        AutoApproval {
            low: true,
            medium: true,
            high: false,
            critical: false,
        }
    }
}

impl AutoApproval {
    pub fn allows(&self, risk: RiskLevel) -> bool {
        match risk {
            RiskLevel::Low => self.low,
            RiskLevel::Medium => self.medium,
            RiskLevel::High => self.high,
            RiskLevel::Critical => self.critical,
        }
    }
}

impl Default for Governance {
    fn default() -> Self {
        let rule = |r: RiskLevel| RiskRule {
            max_days: r.default_max_days(),
            approval_definition_id: None,
        };
        Governance {
            version: 0,
            low: rule(RiskLevel::Low),
            medium: rule(RiskLevel::Medium),
            high: rule(RiskLevel::High),
            critical: rule(RiskLevel::Critical),
            tool_rules: BTreeMap::new(),
            block_unknown_tools: false,
            critical_exception_limit: DEFAULT_CRITICAL_EXCEPTION_LIMIT,
            decision_deadline_days: DEFAULT_DECISION_DEADLINE_DAYS,
            auto_approval: AutoApproval::default(),
            definition_versions: BTreeMap::new(),
            data_classes: None,
            data_class_rules: BTreeMap::new(),
            updated_at: String::new(),
            updated_by: String::new(),
        }
    }
}

impl Governance {
    pub fn rule(&self, risk: RiskLevel) -> &RiskRule {
        match risk {
            RiskLevel::Low => &self.low,
            RiskLevel::Medium => &self.medium,
            RiskLevel::High => &self.high,
            RiskLevel::Critical => &self.critical,
        }
    }

    /// The site's data classes: governance's list, or the defaults.
    pub fn site_data_classes(&self) -> Vec<String> {
        self.data_classes
            .clone()
            .unwrap_or_else(crate::catalog::data::default_classes)
    }

    pub fn max_days(&self, risk: RiskLevel) -> u32 {
        self.rule(risk).max_days.min(LIFETIME_MAX_DAYS)
    }

    /// The longest grant a person may get at `risk`: governance's maximum, raised by their
    /// active exception for the tool (§4.5 controlled overrides), never past the 180-day
    /// lifetime. The one copy of the cap: intake's check, the portal's checks and preview, and
    /// the decision all ask here.
    pub fn max_days_for(&self, risk: RiskLevel, exception_max: Option<u32>) -> u32 {
        let max = self.max_days(risk).max(exception_max.unwrap_or(0));
        debug_assert!(
            max <= LIFETIME_MAX_DAYS,
            "exceptions are validated ≤ 180 days"
        );
        max.min(LIFETIME_MAX_DAYS)
    }

    /// The path for a request: the tool's own rule first, then its risk level's.
    pub fn definition_for(&self, tool_id: Option<&str>, risk: RiskLevel) -> Option<&str> {
        tool_id
            .and_then(|t| self.tool_rules.get(t))
            .or(self.rule(risk).approval_definition_id.as_ref())
            .map(String::as_str)
    }
}

impl Governance {
    /// Every approval definition governance names, with where (`high`, `tool:chatgpt`, …).
    pub fn named_definitions(&self) -> Vec<(String, &str)> {
        let mut v: Vec<(String, &str)> = [
            ("low", &self.low),
            ("medium", &self.medium),
            ("high", &self.high),
            ("critical", &self.critical),
        ]
        .into_iter()
        .filter_map(|(n, r)| {
            r.approval_definition_id
                .as_deref()
                .map(|d| (n.to_string(), d))
        })
        .collect();
        v.extend(
            self.tool_rules
                .iter()
                .map(|(t, d)| (format!("tool:{t}"), d.as_str())),
        );
        v
    }
}

pub fn risk_of(s: &str) -> Option<RiskLevel> {
    RiskLevel::parse(s)
}

/// The active governance (defaults until the first save) and its raw text.
pub fn load(store: Store<'_>) -> AppResult<(Governance, Option<String>)> {
    let raw = store.get_raw(keys::GOVERNANCE_POLICY)?;
    let g = match &raw {
        Some(t) => crate::storage::decode(keys::GOVERNANCE_POLICY, t)?,
        None => Governance::default(),
    };
    Ok((g, raw))
}

pub fn from_text(raw: Option<&String>) -> AppResult<Governance> {
    Ok(match raw {
        Some(t) => crate::storage::decode(keys::GOVERNANCE_POLICY, t)?,
        None => Governance::default(),
    })
}

/// Validates an admin's payload; definitions must exist so a request never lands on a missing
/// path. Every problem is reported per field.
pub fn parse(store: Store<'_>, p: &Value, current: &Governance) -> AppResult<Governance> {
    let mut errors = serde_json::Map::new();
    let mut g = current.clone();
    for (name, risk) in [
        ("low", RiskLevel::Low),
        ("medium", RiskLevel::Medium),
        ("high", RiskLevel::High),
        ("critical", RiskLevel::Critical),
    ] {
        let Some(r) = p.get(name) else { continue };
        let mut rule = g.rule(risk).clone();
        if let Some(m) = r.get("maxDays") {
            match m
                .as_u64()
                .filter(|d| (1..=LIFETIME_MAX_DAYS as u64).contains(d))
            {
                Some(d) => rule.max_days = d as u32,
                None => {
                    errors.insert(format!("{name}.maxDays"), json!("1-180 days"));
                }
            }
        }
        match r.get("approvalDefinitionId") {
            None => {}
            Some(Value::Null) => rule.approval_definition_id = None,
            Some(Value::String(id)) if definition_exists(store, id)? => {
                rule.approval_definition_id = Some(id.clone())
            }
            Some(other) => {
                errors.insert(
                    format!("{name}.approvalDefinitionId"),
                    json!(format!("{other} is not a saved approval definition")),
                );
            }
        }
        match risk {
            RiskLevel::Low => g.low = rule,
            RiskLevel::Medium => g.medium = rule,
            RiskLevel::High => g.high = rule,
            RiskLevel::Critical => g.critical = rule,
        }
    }
    // Maxima must not shrink as risk grows: a stricter level never allows longer grants.
    let maxima = [
        g.low.max_days,
        g.medium.max_days,
        g.high.max_days,
        g.critical.max_days,
    ];
    if maxima.windows(2).any(|w| w[1] > w[0]) {
        errors.insert(
            "maxDays".into(),
            json!("a higher risk level cannot allow a longer maximum than a lower one"),
        );
    }
    if let Some(rules) = p.get("toolRules") {
        match rules.as_object() {
            Some(o) if o.len() <= MAX_TOOL_RULES => {
                let mut out = BTreeMap::new();
                for (tool, def) in o {
                    match def.as_str() {
                        Some(d)
                            if crate::catalog::is_tool_id(tool) && definition_exists(store, d)? =>
                        {
                            out.insert(tool.clone(), d.to_string());
                        }
                        _ => {
                            errors.insert(
                                format!("toolRules.{tool}"),
                                json!("a catalog tool id mapped to a saved approval definition"),
                            );
                        }
                    }
                }
                g.tool_rules = out;
            }
            _ => {
                errors.insert(
                    "toolRules".into(),
                    json!("an object of at most 200 tool id → definition id entries"),
                );
            }
        }
    }
    match p.get("blockUnknownTools") {
        None => {}
        Some(Value::Bool(b)) => g.block_unknown_tools = *b,
        Some(_) => {
            errors.insert("blockUnknownTools".into(), json!("true or false"));
        }
    }
    if let Some(a) = p.get("autoApproval") {
        let mut auto = g.auto_approval;
        match a.as_object() {
            Some(o) => {
                for (name, v) in o {
                    let slot = match name.as_str() {
                        "low" => &mut auto.low,
                        "medium" => &mut auto.medium,
                        "high" => &mut auto.high,
                        "critical" => &mut auto.critical,
                        _ => {
                            errors.insert(format!("autoApproval.{name}"), json!("a risk level"));
                            continue;
                        }
                    };
                    match v.as_bool() {
                        Some(b) => *slot = b,
                        None => {
                            errors.insert(format!("autoApproval.{name}"), json!("true or false"));
                        }
                    }
                }
                g.auto_approval = auto;
            }
            None => {
                errors.insert(
                    "autoApproval".into(),
                    json!("an object of risk level → true/false"),
                );
            }
        }
    }
    if let Some(d) = p.get("decisionDeadlineDays") {
        match d
            .as_u64()
            .filter(|n| (1..=MAX_DECISION_DEADLINE_DAYS as u64).contains(n))
        {
            Some(n) => g.decision_deadline_days = n as u32,
            None => {
                errors.insert(
                    "decisionDeadlineDays".into(),
                    json!(format!("1-{MAX_DECISION_DEADLINE_DAYS} days")),
                );
            }
        }
    }
    parse_data_classes(p, &mut g, &mut errors);
    if let Some(l) = p.get("criticalExceptionLimit") {
        match l.as_u64().filter(|n| *n <= 100) {
            Some(n) => g.critical_exception_limit = n as u32,
            None => {
                errors.insert("criticalExceptionLimit".into(), json!("0-100"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(
            "GOVERNANCE_INVALID",
            "the governance settings have invalid fields",
        )
        .with_details(Value::Object(errors)));
    }
    Ok(g)
}

/// `dataClasses` (the site list; null restores the defaults) and `dataClassRules`
/// (`{toolId: {class: "prohibited" | "review"}}`, classes of the site list).
fn parse_data_classes(p: &Value, g: &mut Governance, errors: &mut serde_json::Map<String, Value>) {
    use crate::catalog::data::{self, ClassRule, ClassRules, MAX_CLASSES};
    match p.get("dataClasses") {
        None => {}
        Some(Value::Null) => g.data_classes = None,
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_CLASSES => {
            let mut out: Vec<String> = Vec::new();
            for c in a {
                match c.as_str().map(str::trim).filter(|c| data::is_class(c)) {
                    Some(c) if !out.iter().any(|x| x == c) => out.push(c.to_string()),
                    Some(_) => {}
                    None => {
                        errors.insert(
                            "dataClasses".into(),
                            json!(format!("{c} is not a class name (lower-case letters, digits and dashes, 1-40)")),
                        );
                    }
                }
            }
            g.data_classes = Some(out);
        }
        Some(_) => {
            errors.insert(
                "dataClasses".into(),
                json!(format!(
                    "a list of 1-{MAX_CLASSES} class names, or null for the defaults"
                )),
            );
        }
    }
    let site = g.site_data_classes();
    if let Some(rules) = p.get("dataClassRules") {
        let mut out = ClassRules::new();
        match rules.as_object().filter(|o| o.len() <= MAX_TOOL_RULES) {
            Some(o) => {
                for (tool, per) in o {
                    let Some(per) = per.as_object().filter(|_| crate::catalog::is_tool_id(tool))
                    else {
                        errors.insert(
                            format!("dataClassRules.{tool}"),
                            json!(
                                "a catalog tool id mapped to {class: \"prohibited\" | \"review\"}"
                            ),
                        );
                        continue;
                    };
                    let mut m = BTreeMap::new();
                    for (class, rule) in per {
                        let r: Option<ClassRule> = serde_json::from_value(rule.clone()).ok();
                        match r {
                            Some(r) if site.contains(class) => {
                                m.insert(class.clone(), r);
                            }
                            Some(_) => {
                                errors.insert(
                                    format!("dataClassRules.{tool}.{class}"),
                                    json!("DATA_CLASS_UNKNOWN: not one of the site's data classes"),
                                );
                            }
                            None => {
                                errors.insert(
                                    format!("dataClassRules.{tool}.{class}"),
                                    json!("prohibited or review"),
                                );
                            }
                        }
                    }
                    if !m.is_empty() {
                        out.insert(tool.clone(), m);
                    }
                }
            }
            None => {
                errors.insert(
                    "dataClassRules".into(),
                    json!("an object of at most 200 tool id → {class: rule} entries"),
                );
            }
        }
        g.data_class_rules = out;
    } else if p.get("dataClasses").is_some() {
        // A narrower site list drops rules for classes it no longer has.
        for per in g.data_class_rules.values_mut() {
            per.retain(|c, _| site.contains(c));
        }
        g.data_class_rules.retain(|_, per| !per.is_empty());
    }
}

fn definition_exists(store: Store<'_>, id: &str) -> AppResult<bool> {
    if crate::storage::rules::check_key(&crate::approvals::store::definition_key(id)).is_err() {
        return Ok(false);
    }
    Ok(store
        .get_raw(&crate::approvals::store::definition_key(id))?
        .is_some())
}

/// Saves a new version: the current record (conditioned on what was read), an immutable copy
/// under its version number, and a `governance_updated` audit entry, in one transaction.
pub fn save(store: Store<'_>, p: &Value, who: &str) -> AppResult<Governance> {
    for _ in 0..4 {
        let (current, raw) = load(store)?;
        let mut g = parse(store, p, &current)?;
        g.version = current.version + 1;
        g.updated_at = crate::time::rfc3339(store.host.now_ms());
        g.updated_by = who.to_string();
        // Pin the version of every definition governance names, as it is now.
        let mut named: Vec<String> = g
            .named_definitions()
            .into_iter()
            .map(|(_, d)| d.to_string())
            .collect();
        named.sort();
        named.dedup();
        let mut dropped: Vec<String> = current
            .named_definitions()
            .into_iter()
            .map(|(_, d)| d.to_string())
            .filter(|d| !named.contains(d))
            .collect();
        dropped.sort();
        dropped.dedup();
        g.definition_versions = BTreeMap::new();
        for d in &named {
            if let Some(def) = store.get::<crate::approvals::definition::Definition>(
                &crate::approvals::store::definition_key(d),
            )? {
                g.definition_versions
                    .insert(d.clone(), u64::from(def.version));
            }
        }
        let mut draft = AuditDraft::new("governance_updated", who);
        draft.policy_version = Some(g.version);
        draft.data = json!({"from": current.version, "to": g.version,
                            "changed": crate::audit::changed_fields(
                                &serde_json::to_value(&current).unwrap_or_default(),
                                &serde_json::to_value(&g).unwrap_or_default()),
                            "governance": g});
        let key = audit::mac_key(store, None)?;
        let res = audit::commit_with_audit(store, &key, None, &[draft], |tx| {
            tx.set_if_current(keys::GOVERNANCE_POLICY, &g, raw.as_deref())?;
            tx.create(&keys::governance_version(g.version), &g)?;
            // What governance depends on cannot be deleted from under it (D-69).
            for d in &named {
                let uses: Vec<String> = g
                    .named_definitions()
                    .into_iter()
                    .filter(|(_, x)| x == d)
                    .map(|(w, _)| w)
                    .collect();
                tx.set(
                    &crate::approvals::store::definition_ref_key(d, "governance"),
                    &json!({"usedBy": uses}),
                )?;
            }
            for d in &dropped {
                tx.delete(&crate::approvals::store::definition_ref_key(
                    d,
                    "governance",
                ))?;
            }
            Ok(())
        });
        match res {
            Ok(_) => return Ok(g),
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        "GOVERNANCE_BUSY",
        "governance changed while saving; try again",
    ))
}

/// Saved versions, newest first (bounded).
pub fn history(store: Store<'_>) -> AppResult<Value> {
    let all = store.scan::<Governance>(keys::GOVERNANCE_VERSION_PREFIX, 500)?;
    // What each version changed against the one before it (version 1 against the built-in
    // defaults): `path: before → after` lines, and both policies for a screen's own wording.
    let mut prev = serde_json::to_value(Governance::default()).expect("governance serializes");
    let mut rows = Vec::with_capacity(all.len());
    for (_, g) in all {
        let now = serde_json::to_value(&g).expect("governance serializes");
        let mut changes = Vec::new();
        changed("", &prev, &now, &mut changes);
        rows.push(
            json!({"version": g.version, "updatedAt": g.updated_at, "updatedBy": g.updated_by,
                         "changes": changes, "policy": now, "previous": prev}),
        );
        prev = now;
    }
    rows.reverse();
    rows.truncate(50);
    Ok(json!({"versions": rows}))
}

/// Fields that change on every save and say nothing about the policy.
const UNCHANGED_FIELDS: &[&str] = &["version", "updatedAt", "updatedBy"];

fn changed(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    const MAX_CHANGES: usize = 40;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if path.is_empty() && UNCHANGED_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                changed(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b && out.len() < MAX_CHANGES => {
            let show = |v: &Value| match v {
                Value::Null => "none".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(format!("{path}: {} → {}", show(a), show(b)));
        }
        _ => {}
    }
}

// ---- exceptions ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    pub id: String,
    pub tool_id: String,
    pub account_id: String,
    /// The longest grant this exception allows (instead of the risk level's maximum).
    pub max_days: u32,
    pub reason: String,
    pub risk_level: RiskLevel,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// `pendingReview` until a second admin reviews it (§4.5 "tracked for review").
    pub review_status: String,
    #[serde(default)]
    pub reviewed_by: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<String>,
}

impl Exception {
    /// Not revoked and not expired: it counts toward the critical-exception limit, reviewed or not.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.revoked_at.is_none()
            && crate::time::parse(&self.expires_at).is_some_and(|e| e > now_ms)
    }
    /// Live and reviewed by a second administrator: only then does it change a decision (D-68).
    pub fn is_active(&self, now_ms: u64) -> bool {
        self.is_live(now_ms) && self.review_status == "reviewed"
    }
}

/// The exception an `governance-exception-by-subject:<tool>:<account>` index entry (its raw
/// text, already read by the caller's batch) names, if it is still active: one more read.
pub fn active_exception(store: Store<'_>, index_text: &str) -> AppResult<Option<Exception>> {
    let id: String = crate::storage::decode("governance-exception-by-subject", index_text)?;
    let e: Option<Exception> = store.get(&keys::governance_exception(&id))?;
    Ok(e.filter(|e| e.is_active(store.host.now_ms())))
}

/// The longer maximum of an active exception, from its subject index entry as the caller's
/// batch read it (`None`: no entry): at most one more read.
pub fn exception_max_days(store: Store<'_>, index_text: Option<&str>) -> AppResult<Option<u32>> {
    match index_text {
        Some(text) => Ok(active_exception(store, text)?.map(|e| e.max_days)),
        None => Ok(None),
    }
}

pub fn create_exception(store: Store<'_>, p: &Value, who: &str) -> AppResult<Exception> {
    let host = store.host;
    let now = host.now_ms();
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let (tool_id, account_id, reason) = (s("toolId"), s("accountId"), s("reason"));
    let mut errors = serde_json::Map::new();
    let tool = crate::catalog::get(store, &tool_id)?;
    if tool.is_none() {
        errors.insert("toolId".into(), json!("a catalog tool id"));
    }
    if account_id.is_empty()
        || account_id.len() > 128
        || crate::storage::rules::check_key(&account_id).is_err()
    {
        errors.insert("accountId".into(), json!("an Atlassian account id"));
    }
    if reason.is_empty() || reason.chars().count() > 1000 {
        errors.insert("reason".into(), json!("1-1000 characters"));
    }
    let max_days = p
        .get("maxDays")
        .and_then(Value::as_u64)
        .filter(|d| (1..=LIFETIME_MAX_DAYS as u64).contains(d));
    if max_days.is_none() {
        errors.insert("maxDays".into(), json!("1-180 days"));
    }
    let valid_days = p
        .get("validDays")
        .and_then(Value::as_u64)
        .filter(|d| (1..=90).contains(d));
    if valid_days.is_none() {
        errors.insert(
            "validDays".into(),
            json!("how long the exception applies: 1-90 days"),
        );
    }
    if !errors.is_empty() {
        return Err(
            AppError::invalid("EXCEPTION_INVALID", "the exception has invalid fields")
                .with_details(Value::Object(errors)),
        );
    }
    let tool = tool.expect("checked");
    // The beneficiary is a person Jira knows and who is active (D-124).
    crate::access::require_active_account(host, "accountId", &account_id)?;
    let (g, _) = load(store)?;
    if tool.risk_level == RiskLevel::Critical {
        let active = store
            .scan::<Exception>(keys::GOVERNANCE_EXCEPTION_PREFIX, 1_000)?
            .into_iter()
            .filter(|(_, e)| e.risk_level == RiskLevel::Critical && e.is_live(now))
            .count() as u32;
        if active >= g.critical_exception_limit {
            return Err(AppError::conflict(
                "EXCEPTION_LIMIT_REACHED",
                format!(
                    "{active} critical-risk exceptions are active; governance allows {}",
                    g.critical_exception_limit
                ),
            ));
        }
    }
    let id = format!("exc-{}", crate::audit::chain::hex(&host.random_bytes(6)));
    let e = Exception {
        id: id.clone(),
        tool_id: tool.id.clone(),
        account_id: account_id.clone(),
        max_days: max_days.expect("checked") as u32,
        reason,
        risk_level: tool.risk_level,
        created_by: who.into(),
        created_at: crate::time::rfc3339(now),
        expires_at: crate::time::rfc3339(now + valid_days.expect("checked") * 86_400_000),
        review_status: "pendingReview".into(),
        reviewed_by: None,
        revoked_at: None,
    };
    let mut draft = AuditDraft::new("exception_created", who);
    draft.policy_version = Some(g.version);
    draft.subject = json!({"exceptionId": id, "toolId": e.tool_id, "accountId": e.account_id});
    draft.data = json!({"maxDays": e.max_days, "expiresAt": e.expires_at});
    let key = audit::mac_key(store, None)?;
    audit::commit_with_audit(store, &key, None, &[draft], |tx| {
        tx.create(&keys::governance_exception(&id), &e)?;
        tx.set(
            &keys::governance_exception_by_subject(&e.tool_id, &e.account_id),
            &id,
        )?;
        Ok(())
    })?;
    Ok(e)
}

/// `review` marks an exception reviewed; `revoke` ends it now. The reviewer must not be its author.
pub fn change_exception(
    store: Store<'_>,
    p: &Value,
    who: &str,
    action: &str,
) -> AppResult<Exception> {
    let id = p.get("id").and_then(Value::as_str).unwrap_or("");
    let key = keys::governance_exception(id);
    if crate::storage::rules::check_key(&key).is_err() {
        return Err(AppError::not_found(
            "EXCEPTION_NOT_FOUND",
            "no such exception",
        ));
    }
    let raw = store
        .get_raw(&key)?
        .ok_or_else(|| AppError::not_found("EXCEPTION_NOT_FOUND", "no such exception"))?;
    let mut e: Exception = crate::storage::decode(&key, &raw)?;
    let now = crate::time::rfc3339(store.host.now_ms());
    match action {
        "review" => {
            let live = e.is_live(store.host.now_ms());
            super::kernel::judge_exception_review(who, &e.created_by, &e.account_id, live)
                .map_err(|r| match r {
                    super::kernel::Refusal::NotPending(m) => {
                        AppError::conflict("EXCEPTION_NOT_ACTIVE", m)
                    }
                    other => other.into(),
                })?;
            e.review_status = "reviewed".into();
            e.reviewed_by = Some(who.into());
        }
        _ => {
            if e.revoked_at.is_none() {
                e.revoked_at = Some(now);
            }
        }
    }
    let kind = if action == "review" {
        "exception_reviewed"
    } else {
        "exception_revoked"
    };
    let mut draft = AuditDraft::new(kind, who);
    draft.subject = json!({"exceptionId": e.id, "toolId": e.tool_id, "accountId": e.account_id});
    let mac = audit::mac_key(store, None)?;
    audit::commit_with_audit(store, &mac, None, &[draft], |tx| {
        tx.set_if_current(&key, &e, Some(&raw))?;
        Ok(())
    })?;
    Ok(e)
}

pub fn list_exceptions(store: Store<'_>) -> AppResult<Value> {
    let now = store.host.now_ms();
    let all = store.scan::<Exception>(keys::GOVERNANCE_EXCEPTION_PREFIX, 1_000)?;
    Ok(json!({"exceptions": all.into_iter().map(|(_, e)| {
        let active = e.is_active(now);
        let mut v = serde_json::to_value(&e).expect("serializes");
        v["active"] = json!(active);
        v["awaitingReview"] = json!(e.is_live(now) && !active);
        v
    }).collect::<Vec<_>>()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_risk_maxima_and_pick_no_path() {
        let g = Governance::default();
        assert_eq!(g.version, 0);
        assert_eq!(g.max_days(RiskLevel::Low), 180);
        assert_eq!(g.max_days(RiskLevel::Critical), 14);
        assert_eq!(g.definition_for(Some("x"), RiskLevel::High), None);
    }

    #[test]
    fn a_tool_rule_overrides_the_risk_rule() {
        let mut g = Governance::default();
        g.high.approval_definition_id = Some("security".into());
        g.tool_rules.insert("cursor".into(), "cursor-path".into());
        assert_eq!(
            g.definition_for(Some("cursor"), RiskLevel::High),
            Some("cursor-path")
        );
        assert_eq!(
            g.definition_for(Some("other"), RiskLevel::High),
            Some("security")
        );
        assert_eq!(g.definition_for(None, RiskLevel::High), Some("security"));
        assert_eq!(g.definition_for(None, RiskLevel::Low), None);
    }
}
