//! The chain's length anchor (D-48, D-110): the last appended `{seq, entryHash}`, kept in secret
//! storage beside the audit MAC key (one secret, `audit-mac-key:<id>`), not in KVS. Entries,
//! head and tiles all live in KVS, so someone who can write KVS can restore an older genuine
//! `audit-head` (hiding a truncated tail) or wipe every entry and the head; the anchor says how
//! long the chain was. An append refuses to build on a head behind it (`chain::checked_edge`),
//! and the verifier reports such a chain as `rolled-back`. Removing the anchor means removing
//! the key, which every entry's MAC needs: that cannot go unnoticed either.
//!
//! Written after each append commits (one `secrets.set`; the key is read anyway). A crash or a
//! lost race between two appenders can leave it behind the head, never ahead, so it is a lower
//! bound: a lag weakens detection by those entries, never raises a false alarm.

use super::chain::{MacKey, GENESIS_HASH};
use crate::host::{Host, Level};
use crate::storage::keys;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    pub seq: u64,
    pub entry_hash: String,
}

impl Anchor {
    pub fn genesis() -> Self {
        Anchor {
            seq: 0,
            entry_hash: GENESIS_HASH.into(),
        }
    }
}

/// Records that the chain reached `seq`, unless the anchor read with the key is already there.
/// A failed write is logged, not returned: the change it follows has committed, and a lagging
/// anchor only narrows what a rollback check can see.
pub fn advance(host: &dyn Host, key: &MacKey, seq: u64, entry_hash: &str) {
    if key.anchor.as_ref().is_some_and(|a| a.seq >= seq) {
        return;
    }
    let moved = MacKey {
        id: key.id.clone(),
        key: key.key.clone(),
        anchor: Some(Anchor {
            seq,
            entry_hash: entry_hash.to_string(),
        }),
    };
    if let Err(e) = host.secret_set(&keys::audit_mac_secret(&key.id), &moved.secret_text()) {
        host.log(
            Level::Warn,
            &format!("audit: anchor not moved to #{seq} ({e:?}); the next append moves it"),
        );
    }
}
