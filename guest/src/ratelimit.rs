//! Per-actor rate limits for sensitive actions (§5.4, §14): fixed one-minute windows.
//!
//! A window holds `per_window` slots; taking one is a create-if-absent of the next free slot key
//! (with a TTL, so nothing accumulates). Two concurrent callers can never take the same slot, so
//! the limit holds under races without a read-modify-write.

use crate::error::{AppError, AppResult, ErrorKind};
use crate::host::{HostError, SetOptions};
use crate::storage::Store;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub bucket: &'static str,
    pub per_window: u32,
    pub window_s: u64,
    pub code: &'static str,
    pub what: &'static str,
}

/// Bulk approve / deny: 5 operations per minute per actor (§5.4).
pub const BULK_DECISIONS: Limit = Limit {
    bucket: "bulk",
    per_window: 5,
    window_s: 60,
    code: "BULK_RATE_LIMITED",
    what: "bulk decisions",
};
/// Single approve / deny from the Approvals tab (docs/decisions.md A-CL-21).
pub const DECISIONS: Limit = Limit {
    bucket: "decide",
    per_window: 30,
    window_s: 60,
    code: "DECISION_RATE_LIMITED",
    what: "single decisions",
};
/// Exports of requests, grants and audit events (§14).
pub const EXPORTS: Limit = Limit {
    bucket: "export",
    per_window: 5,
    window_s: 60,
    code: "EXPORT_RATE_LIMITED",
    what: "exports",
};
/// Audit chain verification (§14): it reads the whole retained chain.
pub const AUDIT_VERIFY: Limit = Limit {
    bucket: "verify",
    per_window: 2,
    window_s: 60,
    code: "VERIFY_RATE_LIMITED",
    what: "audit verifications",
};

/// Takes one slot for `actor` or fails with the limit's own error code and a retry hint.
pub fn take(store: Store<'_>, limit: Limit, actor: &str) -> AppResult<()> {
    let host = store.host;
    let now_s = host.now_ms() / 1000;
    let window = now_s / limit.window_s;
    let actor: String = actor
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.'))
        .take(128)
        .collect();
    for slot in 0..limit.per_window {
        let key = format!(
            "{}:{slot}",
            crate::storage::keys::rate_limit(limit.bucket, &actor, window)
        );
        let opts = SetOptions {
            fail_if_exists: true,
            ttl_seconds: Some(limit.window_s * 2),
        };
        match host.kvs_set(&key, "1", opts) {
            Ok(()) => return Ok(()),
            Err(HostError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let retry = (limit.window_s - now_s % limit.window_s).max(1) as u32;
    Err(AppError {
        retry_after_s: Some(retry),
        ..AppError::new(
            ErrorKind::RateLimited,
            limit.code,
            format!(
                "at most {} {} per minute; try again in {retry} s",
                limit.per_window, limit.what
            ),
        )
    })
}
