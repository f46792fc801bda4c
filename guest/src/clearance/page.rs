//! The global page "AI Clearance" (spec §5): context, My Access, Approved Tools and Request
//! History. Every answer is scoped to the caller; nothing here takes another person's id.

use super::governance;
use super::grants::{self, Grant, GrantStatus};
use super::tab::Caller;
use crate::access;
use crate::catalog::{self, ToolStatus};
use crate::error::AppResult;
use crate::host::{Host, Invocation};
use crate::storage::{keys, Store};
use serde_json::{json, Value};

const MY_GRANTS_MAX: usize = 500;

/// Which tabs to show (CL-167: Approvals only with approval access).
pub fn context(host: &dyn Host, inv: &Invocation) -> AppResult<Value> {
    let who = access::caller(inv)?;
    let mut c = Caller::new(host, who)?;
    let show_approvals = c.has_approval_access()?;
    let mut tabs = vec!["myAccess", "approvedTools", "requestHistory"];
    if show_approvals {
        tabs.push("approvals");
    }
    Ok(
        json!({"accountId": who, "showApprovals": show_approvals, "isAdmin": c.is_admin()?, "tabs": tabs}),
    )
}

/// My Access (§5.1): the caller's active and pendingProvision grants, plus expired ones still in
/// their 7-day grace window (highlighted as expired), soonest expiry first.
pub fn my_access(host: &dyn Host, inv: &Invocation) -> AppResult<Value> {
    let who = access::caller(inv)?;
    let store = Store::new(host);
    let now = host.now_ms();
    let ids = store.scan::<String>(&keys::grant_by_account_prefix(who), MY_GRANTS_MAX)?;
    let want: Vec<String> = ids.iter().map(|(_, id)| keys::grant(id)).collect();
    let mut rows: Vec<(u64, Value)> = Vec::new();
    for (_, g) in store.get_many::<Grant>(&want)? {
        // Defence in depth: an index entry never exposes someone else's grant.
        if g.account_id != who {
            continue;
        }
        let in_grace = g.status == GrantStatus::Expired
            && now <= g.expires_ms() + grants::GRACE_DAYS * grants::DAY_MS;
        if g.status.is_open() || in_grace {
            rows.push((g.expires_ms(), grants::my_access_row(&g, now)));
        }
    }
    rows.sort_by_key(|(e, _)| *e);
    Ok(
        json!({"grants": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), "extensionEnabled": false}),
    )
}

/// Approved Tools (§5.2): what can be requested under the current governance. Everyone with the
/// page sees this, so it carries the requester guidance only: a tool's internal fulfilment notes
/// stay with admins (the Catalog) (issue 33, D-180).
pub fn approved_tools(host: &dyn Host, inv: &Invocation) -> AppResult<Value> {
    access::caller(inv)?;
    let store = Store::new(host);
    let (gov, _) = governance::load(store)?;
    let tools: Vec<Value> = catalog::list(store)?
        .into_iter()
        .filter(|t| t.status == ToolStatus::Approved)
        .map(|t| {
            json!({
                "id": t.id, "displayName": t.display_name, "provider": t.provider,
                "status": t.status.as_str(), "riskLevel": t.risk_level.as_str(),
                "defaultExpiryDays": t.default_expiry_days,
                "maxDays": gov.max_days(t.risk_level),
                "guidance": t.guidance,
                "fulfilment": if t.connector_id.is_some() { "connected" } else { "manual" },
            })
        })
        .collect();
    Ok(json!({"tools": tools, "governanceVersion": gov.version}))
}
