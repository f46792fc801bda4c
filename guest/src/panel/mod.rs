//! The JSM portal request-create panel "Select AI tool" (spec §7.1, §7.3, §11): what the panel
//! asks the backend before it renders and before it submits. Nothing here writes: the panel
//! itself submits the snapshot (`aiclearance.snapshot.v1`) with the request, and intake checks it
//! again with the same rules.
//!
//! Portal customers and unlicensed users call these resolvers (the panel module declares
//! `unlicensedAccess`), so the answers reveal only what the form needs: approved tools and the
//! gate's state, never other people's data.

use crate::access;
use crate::catalog::{self, ToolStatus};
use crate::clearance::governance;
use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation};
use crate::intake::config::{self, numeric_id, IntakeConfig};
use crate::intake::snapshot::{self, SnapshotError};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

pub mod preview;

pub const RESOLVERS: &[&str] = &[
    "panel.context",
    "panel.options",
    "panel.validate",
    "panel.preview",
];

/// The durations the form offers (days); each tool shows those within its maximum.
pub const DURATIONS: &[u32] = &[7, 14, 30, 60, 90, 180];

/// The gate (A-CL-17): intake configured, this portal, an allowed request type — compared as
/// numbers, whether the panel sends `"12"` or `12`.
fn gate(cfg: Option<&IntakeConfig>, p: &Value) -> Result<(), (&'static str, String)> {
    let Some(cfg) = cfg else {
        return Err((
            "NOT_CONFIGURED",
            "AI Clearance intake is not configured yet: a Jira admin selects the intake project, portal and request types in Intake & Approvals".into(),
        ));
    };
    let portal = p.get("portalId").and_then(numeric_id);
    let request_type = p.get("requestTypeId").and_then(numeric_id);
    match (portal, request_type) {
        (None, _) | (_, None) => Err((
            "CONTEXT_MISSING",
            "the panel did not receive a numeric portal id and request type id".into(),
        )),
        (Some(pid), _) if pid != cfg.portal_id => Err((
            "WRONG_PORTAL",
            format!(
                "portal {pid} is not the intake portal (portal {} is); a Jira admin can change it in Intake & Approvals",
                cfg.portal_id
            ),
        )),
        (_, Some(rt)) if !cfg.allows_request_type(rt) => Err((
            "REQUEST_TYPE_NOT_ALLOWED",
            format!(
                "request type {rt} is not one of the allowed request types {:?}; a Jira admin can add its numeric id in Intake & Approvals",
                cfg.request_type_ids
            ),
        )),
        _ => Ok(()),
    }
}

pub fn resolve(host: &dyn Host, inv: &Invocation, key: &str, p: &Value) -> AppResult<Value> {
    access::caller(inv)?;
    let store = Store::new(host);
    let cfg = config::load(store)?;
    let gated = gate(cfg.as_ref(), p);
    match key {
        "panel.context" => Ok(match gated {
            Ok(()) => json!({"enabled": true}),
            Err((code, reason)) => json!({"enabled": false, "code": code, "reason": reason}),
        }),
        "panel.options" => {
            if let Err((code, reason)) = gated {
                return Err(AppError::forbidden(code, reason));
            }
            let (gov, _) = governance::load(store)?;
            let site = gov.site_data_classes();
            let tools: Vec<Value> = catalog::list(store)?
                .into_iter()
                .filter(|t| t.status == ToolStatus::Approved)
                .map(|t| {
                    let max = gov.max_days(t.risk_level);
                    // Each class as intake and the kernel will judge it (issue 35): the one
                    // rule (`data::assess`), so the form's hint never disagrees with the
                    // preview or the refusal.
                    let judged = crate::catalog::data::assess(
                        &site,
                        Some(&t.id),
                        t.data_profile.as_ref(),
                        &gov.data_class_rules,
                    );
                    let approved: Vec<&String> = site
                        .iter()
                        .filter(|c| !judged.review.contains(c) && !judged.prohibited.contains(c))
                        .collect();
                    json!({"id": t.id, "label": t.display_name, "provider": t.provider,
                           "riskLevel": t.risk_level.as_str(), "guidance": t.guidance,
                           "defaultExpiryDays": t.default_expiry_days.min(max), "maxDays": max,
                           "durations": DURATIONS.iter().filter(|d| **d <= max).collect::<Vec<_>>(),
                           // Approved: no person needed for the data; prohibited: refused;
                           // any other class: a person decides.
                           "approvedClasses": approved,
                           "prohibitedClasses": judged.prohibited})
                })
                .collect();
            let new_max = gov.max_days(catalog::RiskLevel::High);
            let new_tool = (!gov.block_unknown_tools).then(|| {
                json!({"id": "new-tool", "label": "Request new tool", "needsUrl": false, "maxDays": new_max,
                       "durations": DURATIONS.iter().filter(|d| **d <= new_max).collect::<Vec<_>>()})
            });
            Ok(
                json!({"tools": tools, "newTool": new_tool, "dataClasses": gov.site_data_classes(),
                       "maxPurposeChars": snapshot::MAX_PURPOSE_CHARS}),
            )
        }
        "panel.preview" => {
            if let Err((code, reason)) = gated {
                return Ok(json!({"outcome": "unavailable", "code": code, "message": reason}));
            }
            let cfg = cfg.expect("the gate passed");
            preview::preview(host, access::caller(inv)?, &cfg, &draft_of(p))
        }
        "panel.validate" => {
            if let Err((code, reason)) = gated {
                return Ok(
                    json!({"valid": false, "errors": {"gate": {"code": code, "message": reason}}}),
                );
            }
            Ok(validate(store, access::caller(inv)?, p)?)
        }
        other => Err(AppError::not_found(
            "UNKNOWN_FUNCTION",
            format!("no resolver function {other:?}"),
        )),
    }
}

/// The submit check: the same snapshot rules intake applies, reported per field; valid only
/// when every required field is filled. The snapshot to submit is returned when valid.
fn validate(store: Store<'_>, who: &str, p: &Value) -> AppResult<Value> {
    let draft = draft_of(p);
    let fail = |e: SnapshotError| json!({"valid": false, "errors": {e.field().unwrap_or("snapshot"): {"code": e.code(), "message": e.message()}}});
    let snap = match snapshot::parse(&draft) {
        Ok(s) => s,
        Err(e) => return Ok(fail(e)),
    };
    let (gov, _) = governance::load(store)?;
    let (tool, exception_max) = match &snap.tool {
        snapshot::SnapshotTool::Catalog { id } => {
            // The caller's active exception raises their maximum, as at intake.
            let index = match crate::storage::check_key(who) {
                Ok(()) => store.get_raw(&keys::governance_exception_by_subject(id, who))?,
                Err(_) => None,
            };
            (
                catalog::get(store, id)?,
                governance::exception_max_days(store, index.as_deref())?,
            )
        }
        snapshot::SnapshotTool::New { .. } => (None, None),
    };
    match crate::intake::ingest::check_tool(&snap, tool.as_ref(), &gov, exception_max) {
        Ok(_) => Ok(json!({"valid": true, "snapshotKey": snapshot::SNAPSHOT_KEY,
                           "snapshot": serde_json::to_value(&draft).expect("serializes")})),
        Err(e) => Ok(fail(e)),
    }
}

/// The snapshot the panel's fields make: what it submits, and what validate and preview check.
fn draft_of(p: &Value) -> Value {
    let draft = json!({
        "toolId": p.get("toolId").cloned().unwrap_or(Value::Null),
        "newTool": p.get("newTool").cloned().unwrap_or(Value::Null),
        "durationDays": p.get("durationDays").cloned().unwrap_or(Value::Null),
        "justification": p.get("justification").cloned().unwrap_or(Value::Null),
        "portalId": p.get("portalId").and_then(numeric_id),
        "requestTypeId": p.get("requestTypeId").and_then(numeric_id),
    });
    // Issue 35's optional fields travel only when the panel sends them (older snapshots stay
    // exactly as they were).
    let mut draft = draft;
    for k in ["dataClasses", "purpose"] {
        if let Some(v) = p.get(k).filter(|v| !v.is_null()) {
            draft[k] = v.clone();
        }
    }
    draft
}
