//! Who is calling and what they may do. Every resolver goes through one of these gates.

use crate::error::{AppError, AppResult};
use crate::host::{Host, Invocation};
use crate::jira::Jira;
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};

/// How long an admin check is trusted (Jira permission calls are expensive under rate limits).
pub const ACCESS_CACHE_TTL_S: u64 = 300;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedAccess {
    admin: bool,
    checked_at_ms: u64,
}

/// The calling user, or `UNAUTHENTICATED` (e.g. a resolver invoked without a user context).
pub fn caller(inv: &Invocation) -> AppResult<&str> {
    inv.account_id
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| AppError::forbidden("UNAUTHENTICATED", "this action needs a signed-in user"))
}

/// Jira administrator (global permission ADMINISTER), cached for 5 minutes.
pub fn is_admin(host: &dyn Host, account_id: &str) -> AppResult<bool> {
    let cached = Store::new(host).get_raw(&keys::access_cache(account_id))?;
    is_admin_from(host, account_id, cached.as_deref())
}

/// [`is_admin`] with the cache record already read (a screen batches it with its other reads).
pub fn is_admin_from(host: &dyn Host, account_id: &str, cached: Option<&str>) -> AppResult<bool> {
    let store = Store::new(host);
    let key = keys::access_cache(account_id);
    let now = host.now_ms();
    if let Some(c) = cached
        .map(|t| crate::storage::decode::<CachedAccess>(&key, t))
        .transpose()?
    {
        if now.saturating_sub(c.checked_at_ms) < ACCESS_CACHE_TTL_S * 1000 {
            return Ok(c.admin);
        }
    }
    let admin = Jira::new(host).has_global_permission(account_id, "ADMINISTER")?;
    store.put_ttl(
        &key,
        &CachedAccess {
            admin,
            checked_at_ms: now,
        },
        ACCESS_CACHE_TTL_S,
    )?;
    Ok(admin)
}

/// Gate for management actions (spec §4: admin-gated).
pub fn require_admin<'a>(host: &dyn Host, inv: &'a Invocation) -> AppResult<&'a str> {
    let who = caller(inv)?;
    if is_admin(host, who)? {
        Ok(who)
    } else {
        Err(AppError::forbidden(
            "ADMIN_REQUIRED",
            "only Jira administrators can do this",
        ))
    }
}

/// An account a configuration record names (a governance exception's beneficiary, an identity
/// mapping's Jira user) must be one Jira knows and that is active (issue 30, D-124):
/// `ACCOUNT_UNKNOWN` / `ACCOUNT_INACTIVE`, with `field` in the details. One Jira call.
pub fn require_active_account(
    host: &dyn Host,
    field: &str,
    account_id: &str,
) -> AppResult<crate::jira::JiraUser> {
    match Jira::new(host).user(account_id)? {
        None => Err(AppError::invalid(
            "ACCOUNT_UNKNOWN",
            format!("{field}: Jira knows no account {account_id:?}"),
        )
        .with_details(serde_json::json!({"field": field, "accountId": account_id}))),
        Some(u) if !u.active => Err(AppError::invalid(
            "ACCOUNT_INACTIVE",
            format!("{field}: the Jira account {account_id:?} is deactivated"),
        )
        .with_details(serde_json::json!({"field": field, "accountId": account_id}))),
        Some(u) => Ok(u),
    }
}
