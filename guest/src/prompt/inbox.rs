//! The admin error inbox: stable-cause failures (BUDGET_EXHAUSTED, INVALID_KEY, MISCONFIGURED)
//! appear once per 24 hours; every other failure appears every time it happens — including the
//! transient attempt a retry then fixed — and ages out after 30 days.

use super::providers::ErrorCode;
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::storage::Store;
use serde_json::json;

pub const PREFIX: &str = "ai-inbox:";
const DEDUP_S: u64 = 24 * 3600;
/// How long an every-time entry stays in the inbox.
const TRANSIENT_KEEP_S: u64 = 30 * 24 * 3600;

pub fn record(host: &dyn Host, code: ErrorCode) -> AppResult<()> {
    let store = Store::new(host);
    if !code.is_stable_cause() {
        host.log(
            Level::Warn,
            &format!("AI Prompt step failed: {}", code.as_str()),
        );
        let now = host.now_ms();
        // Unique per failure: two in one millisecond are two entries.
        let tag: String = host
            .random_bytes(4)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        store.put_ttl(
            &format!("{PREFIX}{now:013}:{}:{tag}", code.as_str()),
            &json!({"code": code.as_str(), "message": code.user_message(), "at": crate::time::rfc3339(now)}),
            TRANSIENT_KEEP_S,
        )?;
        return Ok(());
    }
    let seen = format!("ai-inbox-seen:{}", code.as_str());
    if store.get_raw(&seen)?.is_some() {
        return Ok(());
    }
    let now = host.now_ms();
    // The entry before the marker: a crash between the two repeats an entry, never loses one.
    store.put(
        &format!("{PREFIX}{now:013}:{}", code.as_str()),
        &json!({"code": code.as_str(), "message": code.user_message(), "at": crate::time::rfc3339(now)}),
    )?;
    store.put_ttl(&seen, &json!({"at": now}), DEDUP_S)?;
    Ok(())
}
