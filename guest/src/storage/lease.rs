//! Leases: "only one delivery of this job acts at a time". Forge may run two deliveries of one
//! queue event at once (a sweep's requeue racing the original, a platform duplicate), and a
//! check-then-act (look for our comment, then post it; look for the execution row, then call the
//! provider) is not atomic across them. A lease is a key created if absent with a TTL that
//! covers the holder's longest run, so a holder that dies frees it by itself.

use super::{StorageResult, Store};

/// What the key holds: when the lease runs out (so a waiter knows how long to wait).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Held {
    until_ms: u64,
}

/// Takes the lease `key` for `ttl_s` seconds. `Ok(None)`: held by us now. `Ok(Some(s))`:
/// someone else holds it; come back in `s` seconds (when it runs out, at most 900 s — the
/// queue's delay limit).
pub fn take(store: Store<'_>, key: &str, ttl_s: u64, now_ms: u64) -> StorageResult<Option<u32>> {
    let held = Held {
        until_ms: now_ms + ttl_s * 1000,
    };
    if store.create_ttl(key, &held, ttl_s)? {
        return Ok(None);
    }
    let wait_s = match store.get::<Held>(key)? {
        Some(h) => h.until_ms.saturating_sub(now_ms).div_ceil(1000),
        // Freed between our try and our read: try again at once.
        None => 1,
    };
    Ok(Some(wait_s.clamp(1, 900) as u32))
}

/// Gives the lease back (best effort: if this fails the TTL frees it).
pub fn give_back(store: Store<'_>, key: &str) {
    let _ = store.delete(key);
}

/// Runs `f` holding the lease `key`, giving it back after (whatever `f` returned). A job runs
/// once at a time this way; `Ok(Some(s))` from here without running `f` means "come back in s".
pub fn hold<E: From<super::StorageError>>(
    store: Store<'_>,
    key: &str,
    ttl_s: u64,
    now_ms: u64,
    f: impl FnOnce() -> Result<Option<u32>, E>,
) -> Result<Option<u32>, E> {
    if let Some(wait) = take(store, key, ttl_s, now_ms)? {
        return Ok(Some(wait));
    }
    let r = f();
    give_back(store, key);
    r
}
