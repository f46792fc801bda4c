//! The chain's length anchor (D-48): the last appended `{seq, entryHash}`, kept in the app's
//! secret storage rather than in KVS. Entries, head and checkpoint all live in KVS, so someone
//! who can write KVS can restore an older genuine `audit-head` (hiding a truncated tail) or wipe
//! every entry, the head and the checkpoint; the anchor says how long the chain was, and the
//! verifier reports a chain shorter than that as `rolled-back`.
//!
//! Written after each append commits (one `secrets.set`, no read). A crash or a lost race between
//! two appenders can leave it behind the head, never ahead, so it is a lower bound: a lag weakens
//! detection by those entries, never raises a false alarm.

use crate::host::{Host, HostError, Level};
use crate::storage::keys;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    pub seq: u64,
    pub entry_hash: String,
}

/// Records that the chain reached `seq`. A failed write is logged, not returned: the change it
/// follows has committed, and a lagging anchor only narrows what a rollback check can see.
pub fn advance(host: &dyn Host, seq: u64, entry_hash: &str) {
    let text = serde_json::to_string(&Anchor {
        seq,
        entry_hash: entry_hash.to_string(),
    })
    .expect("anchors serialize");
    if let Err(e) = host.secret_set(keys::AUDIT_ANCHOR_SECRET, &text) {
        host.log(
            Level::Warn,
            &format!("audit: anchor not moved to #{seq} ({e:?}); the next append moves it"),
        );
    }
}

/// The anchor, if one was ever written. An unreadable value is treated as none (only the app
/// writes secrets); an outage is returned, so verification can say it could not check.
pub fn read(host: &dyn Host) -> Result<Option<Anchor>, HostError> {
    Ok(host
        .secret_get(keys::AUDIT_ANCHOR_SECRET)?
        .and_then(|t| serde_json::from_str(&t).ok()))
}
