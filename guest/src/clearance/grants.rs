//! Access grants (spec §5.1, §9 D): `pendingProvision → active → expired | revoked`.
//!
//! The access window starts when access is approved, not when it was requested. A grant's total
//! lifetime never passes 180 days from that first start; an expired grant can be extended only
//! inside a 7-day grace window. People never extend their own grants (§5.1, §12).
//!
//! Indexes kept in step with the status (every change writes them in the same transaction):
//! `access-grant-open:<account>:<tool>` while pendingProvision/active (the duplicate check),
//! `access-grant-by-tool:<tool>:<id>` while open (reconciliation),
//! `access-grant-expiry:<ms>:<id>` while open (the job runner's due list), and
//! `access-grant-by-status:<status>:<id>`.

use crate::error::{AppError, AppResult};
use crate::storage::{keys, StorageResult, Tx};
use serde::{Deserialize, Serialize};

pub const DAY_MS: u64 = 86_400_000;
pub const LIFETIME_DAYS: u64 = 180;
pub const GRACE_DAYS: u64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GrantStatus {
    PendingProvision,
    Active,
    Expired,
    Revoked,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::PendingProvision => "pendingProvision",
            GrantStatus::Active => "active",
            GrantStatus::Expired => "expired",
            GrantStatus::Revoked => "revoked",
        }
    }
    pub fn is_open(self) -> bool {
        matches!(self, GrantStatus::PendingProvision | GrantStatus::Active)
    }

    /// Every edge a grant's status may take: the one table (issue 30). A grant is created
    /// `pendingProvision`; an expired grant comes back to `pendingProvision` only by an extension
    /// inside its grace window.
    pub fn can_become(self, to: GrantStatus) -> bool {
        use GrantStatus::*;
        matches!(
            (self, to),
            (PendingProvision, Active)
                | (PendingProvision, Expired)
                | (PendingProvision, Revoked)
                | (Active, Expired)
                | (Active, Revoked)
                | (Expired, PendingProvision)
                | (Expired, Revoked)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub by: String,
    pub at: String,
    pub days: u32,
    pub from_expires_at: String,
    pub to_expires_at: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub issue_id: String,
    pub issue_key: String,
    pub account_id: String,
    /// Catalog tool id, or `new-<slug>` for an approved "Request new tool" request.
    pub tool_key: String,
    pub tool_name: String,
    pub risk_level: crate::catalog::RiskLevel,
    #[serde(default)]
    pub connector_id: Option<String>,
    pub status: GrantStatus,
    pub duration_days: u32,
    /// When access was approved: the start of the access window and of the 180-day lifetime.
    pub granted_at: String,
    pub expires_at: String,
    pub lifetime_ends_at: String,
    pub decision_source: crate::requests::DecisionSource,
    /// The governance version the decision was made under (extensions are judged by it).
    pub policy_version: u64,
    /// A governance path reviewed the decision (extensions stay within what it reviewed).
    #[serde(default)]
    pub path_reviewed: bool,
    #[serde(default)]
    pub capped_from_days: Option<u32>,
    /// What the approval allows the grantee to put into the tool (issue 35 "approved with
    /// conditions"), fixed at the decision: `catalog::data::conditions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    #[serde(default)]
    pub activated_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    #[serde(default)]
    pub revoked_by: Option<String>,
    #[serde(default)]
    pub revoke_reason: Option<String>,
    #[serde(default)]
    pub extensions: Vec<Extension>,
    /// Provisioning jobs created for this grant so far (part of the next job's id).
    #[serde(default)]
    pub jobs_created: u32,
    pub status_changed_at: String,
}

impl Grant {
    /// The only way a grant's status changes: asserted against [`GrantStatus::can_become`], so a
    /// wrong edge traps the invocation before anything is written.
    pub fn set_status(&mut self, to: GrantStatus, at: &str) {
        assert!(
            self.status.can_become(to),
            "grant {}: {} → {} is not a grant transition",
            self.id,
            self.status.as_str(),
            to.as_str()
        );
        self.status = to;
        self.status_changed_at = at.to_string();
    }

    pub fn expires_ms(&self) -> u64 {
        crate::time::parse(&self.expires_at).unwrap_or(0)
    }
}

/// Writes the index keys for `g` as it is now, removing those of `before` (None = new grant).
pub fn stage_indexes(tx: &mut Tx<'_>, before: Option<&Grant>, g: &Grant) -> StorageResult<()> {
    let status_key = keys::grant_by_status(g.status.as_str(), &g.id);
    if let Some(b) = before {
        if b.status != g.status {
            tx.delete(&keys::grant_by_status(b.status.as_str(), &b.id))?;
        }
        if b.status.is_open() && (!g.status.is_open() || b.expires_at != g.expires_at) {
            tx.delete(&keys::grant_expiry(b.expires_ms(), &b.id))?;
        }
        if b.status.is_open() && !g.status.is_open() {
            tx.delete(&keys::grant_open(&g.account_id, &g.tool_key))?;
            tx.delete(&keys::grant_by_tool(&g.tool_key, &g.id))?;
        }
    }
    if before.is_none_or(|b| b.status != g.status) {
        tx.set(&status_key, &g.id)?;
    }
    if g.status.is_open()
        && before.is_none_or(|b| !b.status.is_open() || b.expires_at != g.expires_at)
    {
        tx.set(&keys::grant_expiry(g.expires_ms(), &g.id), &g.id)?;
    }
    if g.status.is_open() && before.is_none_or(|b| !b.status.is_open()) {
        // Create-if-absent: a second open grant for the same person and tool fails the commit.
        tx.create(&keys::grant_open(&g.account_id, &g.tool_key), &g.id)?;
        // Open grants by tool: reconciliation reads one tool's grants, not every grant.
        tx.set(&keys::grant_by_tool(&g.tool_key, &g.id), &g.id)?;
    }
    Ok(())
}

/// The extension's new expiry, or why it is refused (CL-075, CL-076, CL-078).
pub fn plan_extension(g: &Grant, who: &str, days: u32, now_ms: u64) -> AppResult<u64> {
    if who == g.account_id {
        return Err(AppError::forbidden(
            "SELF_EXTENSION_DISABLED",
            "people cannot extend their own access; an approver or admin extends it",
        ));
    }
    if !(1..=LIFETIME_DAYS as u32).contains(&days) {
        return Err(AppError::invalid("EXTENSION_DAYS_INVALID", "1-180 days"));
    }
    let expires = g.expires_ms();
    let from = match g.status {
        GrantStatus::Revoked => {
            return Err(AppError::conflict(
                "GRANT_REVOKED",
                "a revoked grant cannot be extended; request access again",
            ))
        }
        GrantStatus::Expired => {
            let grace_end = expires + GRACE_DAYS * DAY_MS;
            if now_ms > grace_end {
                return Err(AppError::conflict(
                    "EXTENSION_GRACE_EXPIRED",
                    format!(
                        "the grant expired on {}; it could be extended until {} (7-day grace window)",
                        crate::time::day(expires),
                        crate::time::day(grace_end)
                    ),
                ));
            }
            now_ms
        }
        _ => expires,
    };
    let to = from + days as u64 * DAY_MS;
    let lifetime_end = crate::time::parse(&g.lifetime_ends_at).unwrap_or(0);
    if to > lifetime_end {
        let left = lifetime_end.saturating_sub(from) / DAY_MS;
        return Err(AppError::conflict(
            "EXTENSION_OVER_LIFETIME",
            format!(
                "a grant lives at most 180 days from its start ({}); at most {left} more day(s) are possible",
                crate::time::day(crate::time::parse(&g.granted_at).unwrap_or(0))
            ),
        )
        .with_details(serde_json::json!({"maxDays": left})));
    }
    Ok(to)
}

/// Human-readable record of what a grant looks like to its holder (My Access, §5.1).
pub fn my_access_row(g: &Grant, now_ms: u64) -> serde_json::Value {
    let label = super::labels::expiry_label(now_ms, g.expires_ms());
    serde_json::json!({
        "grantId": g.id,
        "issueKey": g.issue_key,
        "tool": {"key": g.tool_key, "name": g.tool_name, "riskLevel": g.risk_level},
        "status": g.status.as_str(),
        "grantedAt": g.granted_at,
        "expiresAt": g.expires_at,
        "expiryLabel": label.label,
        "daysRemaining": label.days_remaining,
        "expired": label.expired,
        "expiringSoon": label.expiring_soon,
        "extensionEnabled": false,
        "conditions": g.conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(status: GrantStatus, granted: u64, expires: u64) -> Grant {
        Grant {
            id: "g-1".into(),
            issue_id: "1".into(),
            issue_key: "AIR-1".into(),
            account_id: "alice".into(),
            tool_key: "copilot".into(),
            tool_name: "Copilot".into(),
            risk_level: crate::catalog::RiskLevel::Low,
            connector_id: None,
            status,
            duration_days: 30,
            granted_at: crate::time::rfc3339(granted),
            expires_at: crate::time::rfc3339(expires),
            lifetime_ends_at: crate::time::rfc3339(granted + LIFETIME_DAYS * DAY_MS),
            decision_source: crate::requests::DecisionSource::Approver,
            path_reviewed: false,
            policy_version: 1,
            capped_from_days: None,
            conditions: vec![],
            activated_at: None,
            ended_at: None,
            revoked_by: None,
            revoke_reason: None,
            extensions: vec![],
            jobs_created: 1,
            status_changed_at: String::new(),
        }
    }

    const T0: u64 = 1_800_000_000_000;

    // covers: CL-075
    #[test]
    fn extensions_stop_at_180_days_from_the_first_start() {
        let g = grant(GrantStatus::Active, T0, T0 + 170 * DAY_MS);
        let now = T0 + 160 * DAY_MS;
        assert_eq!(
            plan_extension(&g, "bob", 10, now).unwrap(),
            T0 + 180 * DAY_MS
        );
        let e = plan_extension(&g, "bob", 30, now).unwrap_err();
        assert_eq!(e.code, "EXTENSION_OVER_LIFETIME");
        assert_eq!(e.details.unwrap()["maxDays"], 10);
    }

    // covers: CL-076
    #[test]
    fn expired_grants_extend_only_inside_the_grace_window() {
        let g = grant(GrantStatus::Expired, T0, T0 + 30 * DAY_MS);
        let six = T0 + 36 * DAY_MS;
        assert_eq!(
            plan_extension(&g, "bob", 14, six).unwrap(),
            six + 14 * DAY_MS
        );
        let eight = T0 + 38 * DAY_MS;
        assert_eq!(
            plan_extension(&g, "bob", 14, eight).unwrap_err().code,
            "EXTENSION_GRACE_EXPIRED"
        );
    }

    // covers: CL-078
    #[test]
    fn nobody_extends_their_own_grant_and_revoked_grants_stay_revoked() {
        let g = grant(GrantStatus::Active, T0, T0 + 30 * DAY_MS);
        assert_eq!(
            plan_extension(&g, "alice", 5, T0).unwrap_err().code,
            "SELF_EXTENSION_DISABLED"
        );
        let r = grant(GrantStatus::Revoked, T0, T0 + 30 * DAY_MS);
        assert_eq!(
            plan_extension(&r, "bob", 5, T0).unwrap_err().code,
            "GRANT_REVOKED"
        );
        assert!(my_access_row(&g, T0)["extensionEnabled"] == false);
    }
}
