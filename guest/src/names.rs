//! Display names for the people a screen shows, from a short-lived cache instead of a Jira call
//! per page (issue 32 item 2).
//!
//! One record per viewer (`person-names:<viewer>`: an approver's account id, or `admins` for
//! the admin screens, who see everyone anyway) holds the names that viewer's pages showed, each
//! with when Jira said it. A page costs one read; names missing or older than a day come from
//! one Jira bulk call and the record is rewritten once (at most `KEEP` names, entries older than
//! a day dropped, the record itself with a one-day TTL). So a rename or a closed account reaches
//! every screen within a day, the app keeps no name longer than that, and Jira stays the
//! source of personal data.
//!
//! The names Jira answered are also handed to the AI Prompt scrubber's name directory
//! ([`directory`]) as one sighting record: a write of at most ~10 KB and no read, so a cold
//! lookup costs the same whether the directory is empty or full (D-240).

pub mod directory;

use crate::host::{Host, Level};
use crate::jira::{Jira, JiraResult};
use crate::storage::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const PREFIX: &str = "person-names:";
const DAY_MS: u64 = 86_400_000;
/// Names kept per viewer: a few pages' worth, so the record stays small (~20 KB at most).
const KEEP: usize = 300;
/// The viewer name the admin screens share.
pub const ADMINS: &str = "admins";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cached {
    /// account id → (display name, when Jira said it, ms).
    names: BTreeMap<String, (String, u64)>,
}

fn key(viewer: &str) -> String {
    format!("{PREFIX}{viewer}")
}

/// Names of `account_ids` for `viewer`'s screen (repeats and unknown accounts allowed; unknown
/// ones are absent). The cache never fails a screen: if it cannot be read or written, Jira
/// answers as before.
pub fn display_names(
    host: &dyn Host,
    viewer: &str,
    account_ids: &[&str],
) -> JiraResult<BTreeMap<String, String>> {
    names_of(host, viewer, account_ids, None)
}

/// The key of `viewer`'s cache record, for a screen that reads it in its own batch (then
/// `display_names_read` costs no read of its own); `None` when the viewer cannot be cached.
pub fn cache_key(viewer: &str) -> Option<String> {
    let k = key(viewer);
    crate::storage::check_key(&k).ok().map(|_| k)
}

/// `display_names` with the cache record already read (its raw text, or `None` if absent).
pub fn display_names_read(
    host: &dyn Host,
    viewer: &str,
    account_ids: &[&str],
    cached: Option<&str>,
) -> JiraResult<BTreeMap<String, String>> {
    names_of(host, viewer, account_ids, Some(cached))
}

fn names_of(
    host: &dyn Host,
    viewer: &str,
    account_ids: &[&str],
    read: Option<Option<&str>>,
) -> JiraResult<BTreeMap<String, String>> {
    let mut ids: Vec<&str> = account_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(crate::jira::MAX_BULK_USERS);
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let store = Store::new(host);
    let now = host.now_ms();
    let k = key(viewer);
    let cacheable = crate::storage::check_key(&k).is_ok();
    let mut cached: Cached = if let Some(raw) = read.filter(|_| cacheable) {
        raw.and_then(|t| crate::storage::decode(&k, t).ok())
            .unwrap_or_default()
    } else if cacheable {
        store.get(&k).ok().flatten().unwrap_or_default()
    } else {
        Cached::default()
    };
    let fresh = |at: u64| now.saturating_sub(at) < DAY_MS;
    let answer = |c: &Cached| -> BTreeMap<String, String> {
        ids.iter()
            .filter_map(|a| c.names.get(*a).map(|(n, _)| (a.to_string(), n.clone())))
            .collect()
    };
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|a| !cached.names.get(*a).is_some_and(|(_, at)| fresh(*at)))
        .collect();
    if missing.is_empty() {
        return Ok(answer(&cached));
    }
    let fetched = Jira::new(host).display_names(&missing)?;
    // Everyone a screen names is someone the scrubber should know (the name directory, D-220):
    // one sighting written, nothing read, whatever the directory holds (the daily fold takes it
    // in, D-240).
    let seen: Vec<(&str, &str)> = fetched
        .iter()
        .map(|(a, n)| (a.as_str(), n.as_str()))
        .collect();
    directory::seen(host, now, &seen);
    cached.names.retain(|_, (_, at)| fresh(*at));
    for (a, n) in fetched {
        cached.names.insert(a, (n, now));
    }
    let out = answer(&cached);
    {
        if cached.names.len() > KEEP {
            // Keep the newest: drop the oldest entries first.
            let mut by_age: Vec<(u64, String)> = cached
                .names
                .iter()
                .map(|(a, (_, at))| (*at, a.clone()))
                .collect();
            by_age.sort();
            for (_, a) in by_age.into_iter().take(cached.names.len() - KEEP) {
                cached.names.remove(&a);
            }
        }
        if cacheable {
            if let Err(e) = store.put_ttl(&k, &cached, DAY_MS / 1000) {
                host.log(
                    Level::Debug,
                    &format!("names: not cached ({e:?}); Jira is asked again next time"),
                );
            }
        }
    }
    Ok(out)
}
