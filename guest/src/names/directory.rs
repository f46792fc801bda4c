//! The name directory: the multi-word display names of people the installation has seen, so the
//! AI Prompt step's scrubber can tokenise them in free text although the issue and the approval
//! at hand do not name them ("Helena Vogt asked for this last year", in a comment of an
//! unrelated issue; issue 34 item 2, D-220).
//!
//! **Who is in it.** Everyone whose name the app resolved: the people screens showed (requesters,
//! grantees, approvers, deciders, admins on the actor column: `names::display_names` notes what
//! Jira answered), every requester at intake (from the issue intake already read), everyone a
//! PROMPT run named (the reporter, assignee, creator and comment authors, the approval's
//! people, the intake deciders and group members), and the requesters of requests filed before
//! the directory existed (`clearance::name_backfill`, D-242).
//!
//! **Recorded out of band (D-240).** Nobody but the daily fold reads or writes the directory's
//! records. Whoever sees people writes a *sighting*: one small record `name-seen:<inverted
//! ms>:<hash>` holding up to [`PER_SIGHTING`] `(account id, name)` pairs and the day, written
//! with one `put` and no read (a screen's cold name lookup, intake, a PROMPT run), with a
//! [`INBOX_KEEP_DAYS`] TTL. The daily maintenance's [`fold`] reads at most [`FOLD_RECORDS`]
//! sightings (newest first), reads the directory once, notes them, rewrites the records that
//! changed and deletes the sightings it folded: the directory's only writer, under a lease. So a
//! screen's cost never follows the directory's size, and two writers can no longer drop each
//! other's names. A PROMPT run reads the directory and the newest page of sightings
//! ([`Directory::load_with_inbox`]: one `batch-get` and one query), so people seen since the
//! last fold are scrubbed too.
//!
//! **Bounded by construction.** [`SHARDS`] records `name-directory:<n>` (an account id's shard is a
//! hash of it), each holding at most [`PER_SHARD`] entries: [`CAP`] names in all. An entry is
//! an account id of at most 64 characters, a name of at most 120 bytes with two or more words
//! (one-word names are never scrubbed in free text, so they are not kept) and the day it was last
//! seen, so a full shard is ≤ ~125 KB, well under Forge's 240 KiB. A full shard evicts its
//! oldest-seen entries. A read takes every shard in one `batch-get` (16 ≤ 25 keys); the fold
//! rewrites only the shards whose entries changed.
//!
//! **Privacy (TTL).** A name is kept [`KEEP_DAYS`] days after the app last saw it, then dropped
//! (on the next read it is ignored, on the next write of its shard removed); every shard is
//! written with that TTL too, so an installation that stops running forgets the directory on
//! its own, and a sighting the fold never reaches expires after [`INBOX_KEEP_DAYS`]. Seeing
//! someone again refreshes the day at most once a week ([`REFRESH_DAYS`]), which keeps shard
//! writes rare. A rename replaces the name the next time Jira gives it. The directory is only
//! ever used to remove names from what leaves the tenant: no screen or answer reads it.
//!
//! **Races.** The fold holds a lease, so two deliveries of the daily trigger do not write shards
//! at once; a sighting written while the fold runs is either in what it read (and deleted) or
//! left for the next fold. A fold that crashes after saving and before deleting notes the same
//! sightings again next day (noting is idempotent). The directory remains a best-effort privacy
//! aid on top of the names a run always registers (issue and approval people), never a record.

use crate::host::{Entry, Host, Level};
use crate::storage::{keys, lease, StorageResult, Store};
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
/// Sightings waiting for the fold: `name-seen:<inverted ms>:<hash>`.
pub const INBOX_PREFIX: &str = "name-seen:";
/// A sighting the fold never reaches is gone after this many days.
pub const INBOX_KEEP_DAYS: u32 = 14;
/// People per sighting record (a Jira bulk answer's worth): ≤ ~10 KB.
pub const PER_SIGHTING: usize = 50;
/// Sightings one fold takes (25 query pages; each sighting ≤ 50 names).
pub const FOLD_RECORDS: usize = 500;
/// The fold's lease: one writer of the shards at a time.
pub const FOLD_LEASE: &str = "name-directory-fold";
const FOLD_LEASE_S: u64 = 900;
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

    /// Every shard (one `batch-get` of [`SHARDS`] keys).
    pub fn load(store: Store<'_>, now_ms: u64) -> StorageResult<Directory> {
        let all: Vec<usize> = (0..SHARDS).collect();
        Self::read(store, now_ms, &all)
    }

    /// What a PROMPT run knows: every shard and the newest page of sightings not folded yet
    /// (one `batch-get` and one query, whatever the directory's or the inbox's size). The
    /// sightings are noted in memory only: [`Directory::note`] then says whether a name is
    /// news to both.
    pub fn load_with_inbox(store: Store<'_>, now_ms: u64) -> StorageResult<Directory> {
        let mut d = Self::load(store, now_ms)?;
        let page = store
            .host
            .kvs_query(INBOX_PREFIX, None, crate::storage::MAX_PAGE)?;
        d.note_sightings(&page.entries);
        d.dirty.clear();
        Ok(d)
    }

    /// Notes sighting records as read (newest first, as the inbox lists them): oldest first, so
    /// a later sighting's name wins. Records that do not decode are skipped.
    fn note_sightings(&mut self, entries: &[Entry]) {
        for e in entries.iter().rev() {
            let Ok(s) = crate::storage::decode::<Sighting>(&e.key, &e.value) else {
                continue;
            };
            for (a, name) in &s.e {
                self.note_at(a, name, s.d);
            }
        }
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
        self.note_at(account_id, name, self.today)
    }

    /// Notes a sighting of `day` (days since 1970-01-01; a day after today counts as today). A
    /// sighting older than the entry's is ignored (the entry already says what a later one
    /// saw), as is one older than [`KEEP_DAYS`].
    pub fn note_at(&mut self, account_id: &str, name: &str, day: u32) -> bool {
        let (account_id, name) = (account_id.trim(), name.trim());
        let day = day.min(self.today);
        if !keepable(account_id, name) || !self.fresh(day) {
            return false;
        }
        let s = shard_of(account_id);
        let Some(shard) = self.shards.get_mut(&s) else {
            return false;
        };
        match shard.e.iter_mut().find(|(a, _, _)| a == account_id) {
            Some(e) if day < e.2 => return false,
            Some(e) if e.1 == name && day.saturating_sub(e.2) < REFRESH_DAYS => return false,
            Some(e) => {
                e.1 = name.to_string();
                e.2 = day;
            }
            None => shard
                .e
                .push((account_id.to_string(), name.to_string(), day)),
        }
        self.dirty.insert(s);
        true
    }

    /// Writes the shards that changed: expired entries dropped, then the oldest-seen beyond
    /// [`PER_SHARD`]; each record with the [`KEEP_DAYS`] TTL. Returns how many were written.
    /// Only the fold writes (D-240).
    fn save(&mut self, store: Store<'_>) -> StorageResult<usize> {
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

/// One sighting record: the day and up to [`PER_SIGHTING`] `(account id, display name)`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sighting {
    pub d: u32,
    #[serde(default)]
    pub e: Vec<(String, String)>,
}

/// The key of a sighting made at `at_ms`: newest first, then a hash of what it holds, so the
/// same sighting written twice (a redelivered intake) is one record.
pub fn inbox_key(at_ms: u64, people: &[(String, String)]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (a, n) in people {
        for b in a.bytes().chain([0u8]).chain(n.bytes()).chain([1u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{INBOX_PREFIX}{:013}:{h:016x}", keys::inverted(at_ms))
}

/// Notes that the app saw these people today: one `put` per [`PER_SIGHTING`] names (no read),
/// names the scrubber would not match left out, nothing written when none is left. For the fold
/// to take into the directory (D-240). `at_ms` places the record in the inbox (newest first)
/// and names it with a hash of what it holds, so a caller that passes a time of its own (intake:
/// the request's) writes the same record when it runs again. Never fails the caller: a
/// sighting that cannot be written is logged and the names are noted when seen again. Returns
/// the records written.
pub fn seen(host: &dyn Host, at_ms: u64, people: &[(&str, &str)]) -> usize {
    let mut by_id: BTreeMap<&str, &str> = BTreeMap::new();
    for (a, n) in people {
        let (a, n) = (a.trim(), n.trim());
        if keepable(a, n) {
            by_id.insert(a, n);
        }
    }
    let all: Vec<(String, String)> = by_id
        .into_iter()
        .map(|(a, n)| (a.to_string(), n.to_string()))
        .collect();
    let store = Store::new(host);
    let mut written = 0;
    for chunk in all.chunks(PER_SIGHTING) {
        let s = Sighting {
            d: today(host.now_ms()),
            e: chunk.to_vec(),
        };
        let k = inbox_key(at_ms, chunk);
        match store.put_ttl(&k, &s, u64::from(INBOX_KEEP_DAYS) * 86_400) {
            Ok(()) => written += 1,
            Err(e) => host.log(
                Level::Debug,
                &format!("name directory: sighting not written ({e:?}); noted when seen again"),
            ),
        }
    }
    written
}

/// The daily fold (D-240): takes up to `budget` sightings (newest first), notes them in the
/// directory, rewrites the shards that changed and deletes the sightings. One query when there
/// is nothing to fold; otherwise a lease, ⌈budget / 20⌉ queries at most, one `batch-get` of the
/// shards, a write per changed shard and one transaction per 25 sightings deleted: bounded by
/// `budget`, not by the inbox or the directory. Returns the sightings folded. Another fold
/// holding the lease: nothing (it folds them).
pub fn fold(host: &dyn Host, budget: usize) -> StorageResult<u64> {
    let store = Store::new(host);
    let page = host.kvs_query(INBOX_PREFIX, None, crate::storage::MAX_PAGE)?;
    if page.entries.is_empty() || budget == 0 {
        return Ok(0);
    }
    if lease::take(store, FOLD_LEASE, FOLD_LEASE_S, host.now_ms())?.is_some() {
        return Ok(0);
    }
    let r = fold_held(host, store, page, budget);
    lease::give_back(store, FOLD_LEASE);
    r
}

fn fold_held(
    host: &dyn Host,
    store: Store<'_>,
    first: crate::host::QueryPage,
    budget: usize,
) -> StorageResult<u64> {
    let mut entries = first.entries;
    let mut cursor = first.next_cursor;
    while entries.len() < budget && host.remaining_ms() > 10_000 {
        let Some(c) = cursor.take() else { break };
        let page = host.kvs_query(INBOX_PREFIX, Some(&c), crate::storage::MAX_PAGE)?;
        entries.extend(page.entries);
        cursor = page.next_cursor;
    }
    entries.truncate(budget);
    let mut d = Directory::load(store, host.now_ms())?;
    d.note_sightings(&entries);
    d.save(store)?;
    // Saved first: a crash before the deletes notes the same sightings again, losing nothing.
    for chunk in entries.chunks(crate::storage::MAX_TX_OPS) {
        let mut tx = store.tx();
        for e in chunk {
            tx.delete(&e.key)?;
        }
        tx.commit()?;
    }
    Ok(entries.len() as u64)
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
    fn an_older_sighting_never_undoes_a_newer_one() {
        // The fold notes sightings of several days, some after the directory already has a
        // later one (a backlog): the newest name and day stand.
        let mut d = dir(20_000);
        assert!(d.note_at("a1", "Helena Vogt-Berg", 19_998));
        assert!(!d.note_at("a1", "Helena Vogt", 19_990), "older: ignored");
        assert!(d.note_at("a1", "Helena Vogt", 19_999), "a later rename");
        assert!(
            !d.note_at("a2", "Old Timer", 20_000 - KEEP_DAYS - 1),
            "expired"
        );
        assert!(d.note_at("a3", "Future Person", 30_000), "counts as today");
        let days: Vec<u32> = d
            .shards
            .values()
            .flat_map(|s| s.e.iter().map(|e| e.2))
            .collect();
        assert!(days.iter().all(|&x| x <= 20_000), "{days:?}");
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn sightings_list_newest_first_and_one_sighting_is_one_key() {
        let p = vec![(
            "5ad8a1033b4801af4cd6c510".to_string(),
            "Helena Vogt".to_string(),
        )];
        let (older, newer) = (
            inbox_key(1_700_000_000_000, &p),
            inbox_key(1_700_000_060_000, &p),
        );
        assert!(newer < older, "{newer} lists before {older}");
        assert_eq!(inbox_key(1_700_000_000_000, &p), older, "stable");
        let renamed = vec![(p[0].0.clone(), "Helena Berg".to_string())];
        assert_ne!(inbox_key(1_700_000_000_000, &renamed), older);
        crate::storage::check_key(&older).unwrap();
        assert!(
            older.starts_with(INBOX_PREFIX) && older.len() < 50,
            "{older}"
        );
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
