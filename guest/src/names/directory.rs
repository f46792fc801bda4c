//! The name directory: the multi-word display names of people the installation has seen, so the
//! AI Prompt step's scrubber can tokenise them in free text although the issue and the approval
//! at hand do not name them ("Helena Vogt asked for this last year", in a comment of an
//! unrelated issue; issue 34 item 2, D-220).
//!
//! **Who is in it.** Everyone whose name the app resolved: the people screens showed (requesters,
//! grantees, approvers, deciders, admins on the actor column: `names::display_names` records what
//! Jira answered), and everyone a PROMPT run named (the reporter, assignee, creator and
//! comment authors, the approval's people, the intake deciders and group members).
//!
//! **Bounded by construction.** [`SHARDS`] records `name-directory:<n>` (an account id's shard is a
//! hash of it), each holding at most [`PER_SHARD`] entries: [`CAP`] names in all. An entry is
//! an account id of at most 64 characters, a name of at most 120 bytes with two or more words
//! (one-word names are never scrubbed in free text, so they are not kept) and the day it was last
//! seen, so a full shard is ≤ ~125 KB, well under Forge's 240 KiB. A full shard evicts its
//! oldest-seen entries. A run reads every shard in one `batch-get` (16 ≤ 25 keys); a write rewrites
//! only the shards whose entries changed.
//!
//! **Privacy (TTL).** A name is kept [`KEEP_DAYS`] days after the app last saw it, then dropped
//! (on the next read it is ignored, on the next write of its shard removed); every shard is
//! written with that TTL too, so an installation that stops running forgets the directory on
//! its own. Seeing someone again refreshes the day at most once a week ([`REFRESH_DAYS`]), which
//! keeps writes rare. A rename replaces the name the next time Jira gives it. The directory is
//! only ever used to remove names from what leaves the tenant: no screen or answer reads it.
//!
//! **Races.** Two writers of one shard at once: the last write wins and the other's new entries
//! are lost until those people are seen again. The directory is a best-effort privacy aid on top
//! of the names a run always registers (issue and approval people), never a record.

use crate::host::{Host, Level};
use crate::storage::{StorageResult, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PREFIX: &str = "name-directory:";
/// Records the directory is split into (one `batch-get` reads them all).
pub const SHARDS: usize = 16;
/// Names kept in all.
pub const CAP: usize = 10_000;
/// Names kept per record.
pub const PER_SHARD: usize = CAP / SHARDS;
/// A name is dropped this many days after the app last saw it.
pub const KEEP_DAYS: u32 = 90;
/// Seeing someone again rewrites their entry only when it is at least this old.
pub const REFRESH_DAYS: u32 = 7;
const MAX_ID_CHARS: usize = 64;
const MAX_NAME_BYTES: usize = 120;
const DAY_MS: u64 = 86_400_000;

pub fn key(shard: usize) -> String {
    format!("{PREFIX}{shard:02}")
}

/// The shard of an account id: FNV-1a, stable across builds and platforms.
pub fn shard_of(account_id: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in account_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h as usize) % SHARDS
}

/// One record: `[account id, display name, day last seen (days since 1970-01-01)]`, compact so
/// a full shard stays small.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shard {
    #[serde(default)]
    pub e: Vec<(String, String, u32)>,
}

/// Whether a name is worth keeping: what the scrubber matches in free text (two or more words),
/// short enough to bound the record, nothing a JSON encoding would blow up.
fn keepable(account_id: &str, name: &str) -> bool {
    let id_ok = !account_id.is_empty()
        && account_id.chars().count() <= MAX_ID_CHARS
        && !account_id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace());
    let name_ok = name.len() <= MAX_NAME_BYTES
        && !name.chars().any(char::is_control)
        && name.split_whitespace().nth(1).is_some();
    id_ok && name_ok
}

/// The directory as read: every shard, and which of them a write must rewrite.
#[derive(Debug, Default)]
pub struct Directory {
    shards: BTreeMap<usize, Shard>,
    dirty: std::collections::BTreeSet<usize>,
    today: u32,
}

fn today(now_ms: u64) -> u32 {
    (now_ms / DAY_MS) as u32
}

impl Directory {
    /// Reads `shards` (all of them for a run; the few a write touches otherwise): one call.
    fn read(store: Store<'_>, now_ms: u64, shards: &[usize]) -> StorageResult<Directory> {
        let keys: Vec<String> = shards.iter().map(|&s| key(s)).collect();
        let got = store.batch_get(&keys)?;
        let mut d = Directory {
            today: today(now_ms),
            ..Directory::default()
        };
        for &s in shards {
            // A record that does not decode is treated as empty and rewritten by the next write.
            let shard = got
                .get(&key(s))
                .and_then(|raw| crate::storage::decode::<Shard>(&key(s), raw).ok())
                .unwrap_or_default();
            d.shards.insert(s, shard);
        }
        Ok(d)
    }

    /// Every shard: what a PROMPT run loads (one `batch-get` of [`SHARDS`] keys).
    pub fn load(store: Store<'_>, now_ms: u64) -> StorageResult<Directory> {
        let all: Vec<usize> = (0..SHARDS).collect();
        Self::read(store, now_ms, &all)
    }

    fn fresh(&self, day: u32) -> bool {
        self.today.saturating_sub(day) <= KEEP_DAYS
    }

    /// The names still within their time to live: `(account id, display name)`.
    pub fn names(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.shards
            .values()
            .flat_map(|s| s.e.iter())
            .filter(|(_, _, day)| self.fresh(*day))
            .map(|(a, n, _)| (a.as_str(), n.as_str()))
    }

    pub fn len(&self) -> usize {
        self.names().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Notes that the app saw `account_id` called `name` today. Returns whether the directory
    /// changed (new person, new name, or a refresh of an entry at least a week old).
    pub fn note(&mut self, account_id: &str, name: &str) -> bool {
        let (account_id, name) = (account_id.trim(), name.trim());
        if !keepable(account_id, name) {
            return false;
        }
        let s = shard_of(account_id);
        let Some(shard) = self.shards.get_mut(&s) else {
            return false;
        };
        let today = self.today;
        match shard.e.iter_mut().find(|(a, _, _)| a == account_id) {
            Some(e) if e.1 == name && today.saturating_sub(e.2) < REFRESH_DAYS => return false,
            Some(e) => {
                e.1 = name.to_string();
                e.2 = today;
            }
            None => shard
                .e
                .push((account_id.to_string(), name.to_string(), today)),
        }
        self.dirty.insert(s);
        true
    }

    /// Writes the shards that changed: expired entries dropped, then the oldest-seen beyond
    /// [`PER_SHARD`]; each record with the [`KEEP_DAYS`] TTL. Returns how many were written.
    pub fn save(&mut self, store: Store<'_>) -> StorageResult<usize> {
        let dirty = std::mem::take(&mut self.dirty);
        let (today, mut n) = (self.today, 0);
        for s in dirty {
            let Some(shard) = self.shards.get_mut(&s) else {
                continue;
            };
            settle(shard, today);
            store.put_ttl(&key(s), shard, u64::from(KEEP_DAYS) * 86_400)?;
            n += 1;
        }
        Ok(n)
    }
}

/// Drops expired entries, then the oldest-seen beyond [`PER_SHARD`] (among entries seen the same
/// day, the ones noted first).
fn settle(shard: &mut Shard, today: u32) {
    shard
        .e
        .retain(|(_, _, day)| today.saturating_sub(*day) <= KEEP_DAYS);
    if shard.e.len() > PER_SHARD {
        let cut = shard.e.len() - PER_SHARD;
        let mut order: Vec<usize> = (0..shard.e.len()).collect();
        order.sort_by_key(|&i| (shard.e[i].2, i));
        let mut gone = vec![false; shard.e.len()];
        for &i in &order[..cut] {
            gone[i] = true;
        }
        let mut i = 0;
        shard.e.retain(|_| {
            i += 1;
            !gone[i - 1]
        });
    }
}

/// Records people whose names the app just resolved (reads only their shards, rewrites only
/// those that changed). Never fails the caller: a directory that cannot be read or written is
/// logged and the caller goes on.
pub fn record(host: &dyn Host, people: &[(&str, &str)]) {
    let mut shards: Vec<usize> = people
        .iter()
        .filter(|(a, n)| keepable(a.trim(), n.trim()))
        .map(|(a, _)| shard_of(a.trim()))
        .collect();
    shards.sort_unstable();
    shards.dedup();
    if shards.is_empty() {
        return;
    }
    let store = Store::new(host);
    let result = Directory::read(store, host.now_ms(), &shards).and_then(|mut d| {
        for (a, n) in people {
            d.note(a, n);
        }
        d.save(store)
    });
    if let Err(e) = result {
        host.log(
            Level::Debug,
            &format!("name directory: not recorded ({e:?}); the names are noted when seen again"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(today: u32) -> Directory {
        Directory {
            shards: (0..SHARDS).map(|s| (s, Shard::default())).collect(),
            dirty: Default::default(),
            today,
        }
    }

    #[test]
    fn only_names_the_scrubber_matches_are_kept() {
        let mut d = dir(20_000);
        assert!(d.note("5ad8a1033b4801af4cd6c510", "Helena Vogt"));
        assert!(!d.note("5ad8a1033b4801af4cd6c511", "River"), "one word");
        assert!(!d.note("", "No Id"));
        assert!(!d.note(&"x".repeat(65), "Long Id"));
        assert!(!d.note("5ad8a1033b4801af4cd6c512", &"Ab ".repeat(50)));
        assert!(!d.note("5ad8a1033b4801af4cd6c513", "Bell\u{7}Ringer Jones"));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn a_repeat_sighting_writes_only_when_renamed_or_a_week_old() {
        let mut d = dir(20_000);
        assert!(d.note("a1", "Helena Vogt"));
        d.dirty.clear();
        assert!(!d.note("a1", "Helena Vogt"), "same day, same name");
        assert!(d.note("a1", "Helena Vogt-Berg"), "renamed");
        d.today += REFRESH_DAYS - 1;
        d.dirty.clear();
        assert!(!d.note("a1", "Helena Vogt-Berg"));
        d.today += 1;
        assert!(d.note("a1", "Helena Vogt-Berg"), "a week old: refreshed");
        assert_eq!(d.names().next(), Some(("a1", "Helena Vogt-Berg")));
    }

    #[test]
    fn names_expire_after_keep_days_unseen() {
        let mut d = dir(20_000);
        d.note("a1", "Helena Vogt");
        d.today += KEEP_DAYS;
        assert_eq!(d.len(), 1);
        d.today += 1;
        assert_eq!(d.len(), 0, "not served once expired");
    }

    #[test]
    fn a_full_shard_evicts_the_oldest_seen_and_stays_well_under_the_value_limit() {
        let mut d = dir(20_000);
        // Every id lands in one shard: fill it past the cap over several days.
        let mut ids = Vec::new();
        let mut i = 0u64;
        while ids.len() < PER_SHARD + 40 {
            let id = format!("557058:{:08x}-1c3d-4e5f-8a9b-0c1d2e3f4a5b", i);
            if shard_of(&id) == 3 {
                ids.push(id);
            }
            i += 1;
        }
        for (n, id) in ids.iter().enumerate() {
            d.today = 20_000 + (n / 100) as u32;
            // A long name (the 120-byte limit), so the size check below is the worst case.
            let name = format!("{} {}", "Á".repeat(29), "Ø".repeat(29));
            assert!(d.note(id, &name));
        }
        let today = d.today;
        let shard = d.shards.get_mut(&3).unwrap();
        let text = serde_json::to_string(&*shard).unwrap();
        settle(shard, today);
        assert_eq!(shard.e.len(), PER_SHARD);
        let kept: std::collections::BTreeSet<&str> =
            shard.e.iter().map(|(a, _, _)| a.as_str()).collect();
        // The first 40 (seen on the first day) are the ones evicted.
        assert!(ids[..40].iter().all(|a| !kept.contains(a.as_str())));
        assert!(ids[40..].iter().all(|a| kept.contains(a.as_str())));
        let full = serde_json::to_string(&*shard).unwrap();
        assert!(full.len() < 120 * 1024, "{} bytes", full.len());
        assert!(text.len() > full.len());
    }

    #[test]
    fn shards_spread_ids() {
        let mut counts = [0usize; SHARDS];
        for i in 0..10_000u64 {
            counts[shard_of(&format!("{:024x}", 0x5ad8_a103_3b48_01af_u64 + i * 7919))] += 1;
        }
        assert!(counts.iter().all(|&c| c > 400 && c < 850), "{counts:?}");
    }
}
