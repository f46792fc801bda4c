//! Approved with conditions (issue 35): what an approval lets the grantee put into the tool,
//! and what a governance path's steps are told about the request's data. One copy: the
//! decision stores [`of`] on the grant, the portal's preview shows the same answer before
//! Create, and a path's AI read receives [`subject_facts`].

use crate::catalog::Tool;
use crate::requests::Request;
use serde_json::{json, Value};

use super::governance::Governance;

/// The conditions an approval of `request` carries under `gov`, with the tool as it is now.
pub fn of(request: &Request, tool: Option<&Tool>, gov: &Governance) -> Vec<String> {
    crate::catalog::data::conditions(
        &request.data_classes,
        request.tool_id(),
        tool.and_then(|t| t.data_profile.as_ref()),
        &gov.data_class_rules,
    )
}

/// What a governance path's steps and templates see as `approval.subject`: the declared data
/// classes and purpose, the tool's data profile, why the data needs a person (if it does) and
/// the conditions an approval would carry, so the AI read can flag a mismatch (a "public only"
/// request whose summary mentions customer records). Bounded: at most 24 classes, a 500-char
/// purpose, a profile of short fields and five conditions.
pub fn subject_facts(request: &Request, tool: Option<&Tool>, gov: &Governance) -> Value {
    let mut v = json!({
        "tool": {"id": request.tool_id(), "name": request.tool_name(), "riskLevel": request.risk().as_str()},
        "durationDays": request.duration_days,
        "dataClasses": request.data_classes,
        "conditions": of(request, tool, gov),
    });
    if let Some(p) = &request.purpose {
        v["purpose"] = json!(p);
    }
    if let Some(p) = tool.and_then(|t| t.data_profile.as_ref()) {
        v["tool"]["dataProfile"] = json!(p);
    }
    if let Some(why) = super::decision::data_class_review(request, tool, gov) {
        v["dataClassReview"] = json!(why);
    }
    v
}
