//! Access requests: the record intake writes (decision `pending`) and the requester's own list.

use crate::error::{AppError, AppResult};
use crate::host::Invocation;
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Pending,
    Approved,
    Denied,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pending => "pending",
            Decision::Approved => "approved",
            Decision::Denied => "denied",
        }
    }
}

/// The tool as requested, with the catalog facts that applied at intake.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RequestedTool {
    Catalog {
        id: String,
        display_name: String,
        risk_level: String,
    },
    New {
        name: String,
        /// Optional (§7.1); absent when the requester gave none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub issue_id: String,
    pub issue_key: String,
    pub project_key: String,
    pub project_id: String,
    pub portal_id: u64,
    pub request_type_id: u64,
    pub requester_account_id: String,
    pub tool: RequestedTool,
    pub duration_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// From the native issue: summary and the description flattened from ADF.
    pub summary: String,
    pub description_text: String,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_source: Option<DecisionSource>,
    pub snapshot_source: crate::intake::snapshot::SnapshotSource,
    /// When the issue was created in Jira (the request time).
    pub requested_at: String,
    pub ingested_at: String,
    /// How the request is being decided (set once, right after intake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The governance version active when the request was decided (CL-035).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<u64>,
    /// The data classes the requester declared in the snapshot (issue 35; none on older
    /// requests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes: Vec<String>,
    /// The requester's short purpose (at most 500 characters), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// How a decision came about (what screens, exports and notices say).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionSource {
    AutoPolicy,
    Approver,
    Bulk,
    ApprovalPath,
    ApprovalExpired,
    /// Nobody decided a direct request within governance's deadline.
    DecisionDeadline,
}

impl DecisionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::AutoPolicy => "auto-policy",
            DecisionSource::Approver => "approver",
            DecisionSource::Bulk => "bulk",
            DecisionSource::ApprovalPath => "approval-path",
            DecisionSource::ApprovalExpired => "approval-expired",
            DecisionSource::DecisionDeadline => "decision-deadline",
        }
    }
}

/// How a pending request is decided, chosen once when it is routed and pinned there.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum RouteKind {
    /// The approval path governance picks decides.
    Path,
    /// The approvers of Intake & Approvals (or Jira admins under admin fallback) decide.
    Direct,
    /// Governance's path cannot decide it (missing, cancelled, or refused): it may be denied,
    /// not approved, until an admin re-routes it.
    Held,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Path => "path",
            RouteKind::Direct => "direct",
            RouteKind::Held => "held",
        }
    }
}

/// The route pinned when the request was routed: which governance version chose it and, for a
/// path, which approval on which definition version decides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub kind: RouteKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_version: Option<u64>,
    /// The governance version that chose this route: it decides the request (D-130).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance_version: Option<u64>,
    /// Why the request is held, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_reason: Option<String>,
    pub at: String,
    /// Why auto-approval did not apply (the deciding policy's failed condition), if any policy
    /// was in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approval: Option<Value>,
}

impl Request {
    /// A pending request from a checked snapshot (`tool` is what intake's checks made of it),
    /// without the issue's fields (ids, keys, summary, times), which the caller sets. Intake
    /// stores it with the issue's fields; the portal's preview judges it before Create. One
    /// constructor, so a field the snapshot gains reaches both.
    pub fn pending(
        requester: &str,
        tool: RequestedTool,
        snap: &crate::intake::snapshot::Snapshot,
        source: crate::intake::snapshot::SnapshotSource,
    ) -> Request {
        Request {
            issue_id: String::new(),
            issue_key: String::new(),
            project_key: String::new(),
            project_id: String::new(),
            portal_id: snap.portal_id.unwrap_or_default(),
            request_type_id: snap.request_type_id.unwrap_or_default(),
            requester_account_id: requester.to_string(),
            tool,
            duration_days: snap.duration_days,
            justification: snap.justification.clone(),
            summary: String::new(),
            description_text: String::new(),
            decision: Decision::Pending,
            decision_source: None,
            snapshot_source: source,
            requested_at: String::new(),
            ingested_at: String::new(),
            route: None,
            decided_at: None,
            decided_by: None,
            decision_note: None,
            grant_id: None,
            policy_version: None,
            data_classes: snap.data_classes.clone(),
            purpose: snap.purpose.clone(),
        }
    }

    /// The catalog tool id, if the request is for a catalog tool.
    pub fn tool_id(&self) -> Option<&str> {
        match &self.tool {
            RequestedTool::Catalog { id, .. } => Some(id),
            RequestedTool::New { .. } => None,
        }
    }
    /// Grant and conflict key: the catalog id, or `new-<slug of the name>` for a new tool.
    pub fn tool_key(&self) -> String {
        match &self.tool {
            RequestedTool::Catalog { id, .. } => id.clone(),
            RequestedTool::New { name, .. } => new_tool_key(name),
        }
    }
    pub fn tool_name(&self) -> String {
        match &self.tool {
            RequestedTool::Catalog { display_name, .. } => display_name.clone(),
            RequestedTool::New { name, .. } => name.clone(),
        }
    }
    /// Unassessed tools are treated as high risk (docs/decisions.md A-CL-14).
    pub fn risk(&self) -> crate::catalog::RiskLevel {
        match &self.tool {
            RequestedTool::Catalog { risk_level, .. } => {
                crate::catalog::RiskLevel::parse(risk_level)
                    .unwrap_or(crate::catalog::RiskLevel::High)
            }
            RequestedTool::New { .. } => crate::catalog::RiskLevel::High,
        }
    }
}

/// The caller's own requests, newest first, one page at a time (spec §5.3).
pub fn mine(store: Store<'_>, inv: &Invocation, payload: &Value) -> AppResult<Value> {
    let who = crate::access::caller(inv)?;
    let limit = match payload.get("limit") {
        None | Some(Value::Null) => 10,
        Some(v) => v
            .as_u64()
            .filter(|l| (1..=crate::storage::MAX_PAGE as u64).contains(l))
            .ok_or_else(|| AppError::invalid("LIMIT_INVALID", "limit must be 1-20"))?
            as u32,
    };
    let cursor = match payload.get("cursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c.len() <= 1024 => Some(c.as_str()),
        Some(_) => {
            return Err(AppError::invalid(
                "CURSOR_INVALID",
                "cursor must be the string a previous page returned",
            ))
        }
    };
    let page = store.page::<String>(&keys::request_by_requester_prefix(who), cursor, limit)?;
    let ids: Vec<String> = page
        .items
        .iter()
        .map(|(_, issue_id)| keys::request(issue_id))
        .collect();
    let found = store.batch_get(&ids)?;
    let mut items = Vec::with_capacity(ids.len());
    for k in &ids {
        if let Some(text) = found.get(k) {
            let r: Request = crate::storage::decode(k, text)?;
            // Defence in depth: an index entry never exposes someone else's request.
            if r.requester_account_id == who {
                items.push(json!({
                    "issueKey": r.issue_key,
                    "summary": r.summary,
                    "tool": r.tool,
                    "durationDays": r.duration_days,
                    "decision": r.decision.as_str(),
                    "decisionSource": r.decision_source,
                    "decidedAt": r.decided_at,
                    "grantId": r.grant_id,
                    "requestedAt": r.requested_at,
                }));
            }
        }
    }
    Ok(json!({"items": items, "nextCursor": page.next_cursor}))
}

/// The key of a tool no catalog lists, from the name the requester typed: `new-<slug>`.
pub fn new_tool_key(name: &str) -> String {
    let mut slug = String::from("new-");
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(64).collect()
}
