//! The admin error inbox: stable-cause failures (BUDGET_EXHAUSTED, INVALID_KEY, MISCONFIGURED)
//! appear once per 24 hours; transient ones are logged every time.

use super::providers::ErrorCode;
use crate::error::AppResult;
use crate::host::{Host, Level};
use crate::storage::Store;
use serde_json::json;

pub const PREFIX: &str = "ai-inbox:";
const DEDUP_S: u64 = 24 * 3600;

pub fn record(host: &dyn Host, code: ErrorCode) -> AppResult<()> {
    if !code.is_stable_cause() {
        host.log(
            Level::Warn,
            &format!("AI Prompt step failed: {}", code.as_str()),
        );
        return Ok(());
    }
    let store = Store::new(host);
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
