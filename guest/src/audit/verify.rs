//! Verification of the audit trail, resumable and bounded per invocation.
//!
//! A *run* walks entries from where the last verified run stopped (mode `new`) or from the
//! oldest retained entry (mode `full`) up to the tree size of the head it started from. For each
//! entry it checks the hash, the MAC, the link to the previous entry and the leaf hash in its
//! tile, and it folds the leaves into a compact range (the tree's frontier); at the end that
//! range's root must equal the head's root, which makes the run a consistency proof from the
//! last verified tree to this one. It then checks the head, the anchor kept with the MAC key,
//! the latest signed checkpoint and the witness in Jira against the same tree.
//!
//! The walk's state (`audit-verify`) is saved after every slice, so the `audit-work` queue runs
//! a 1,000,000-entry chain as a series of invocations, each under its time limit and a share of
//! the per-minute KVS read budget ([`Budget`]).
//!
//! Only what was read and found wrong is a problem. A storage or secrets outage while reading is
//! an error (`unverifiable`): a key that could not be fetched is not a forged entry.

use super::chain::{checked_edge, entry_hash, load_key, mac, unhex, AuditEntry, Head, MacKey};
use super::checkpoint::{self, PublicKey, Signed};
use super::merkle::{self, Hash};
use super::tiles::{self, Edge};
use crate::error::{AppError, ErrorKind};
use crate::host::Host;
use crate::storage::{keys, StorageError, StorageResult, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many problems are kept per run (the first ones say where it went wrong).
const MAX_PROBLEMS: usize = 100;
/// Entries read per `batch-get`, leaving room for the two level-0 tiles they may span.
const ENTRIES_PER_READ: u64 = 23;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The sequence number (position) where the chain first disagrees.
    pub seq: u64,
    /// `edited`, `forged`, `missing`, `reordered`, `broken-link`, `truncated`, `head-mismatch`,
    /// `unreadable`, `rolled-back`, `tile-mismatch`, `root-mismatch`, `bad-signature`.
    pub kind: String,
    pub detail: String,
}

fn problem(seq: u64, kind: &str, detail: impl Into<String>) -> Problem {
    Problem {
        seq,
        kind: kind.into(),
        detail: detail.into(),
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// From the last verified tree to the current head.
    New,
    /// From the oldest retained entry.
    Full,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    pub checked: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The retention point verification started from, if any.
    pub from_checkpoint: Option<u64>,
    /// How long the chain is known to have been (the anchor in secret storage), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchored_seq: Option<u64>,
    pub problems: Vec<Problem>,
    #[serde(default)]
    pub mode: Option<Mode>,
    /// The tree verified: its size and root.
    #[serde(default)]
    pub tree_size: u64,
    #[serde(default)]
    pub root_hash: String,
    /// The latest signed checkpoint and the witnessed one, when they were checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnessed_size: Option<u64>,
    #[serde(default)]
    pub finished_at: String,
}

/// One node of a compact range: a complete subtree's height and hash (base64).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RangeNode {
    pub l: u32,
    pub h: String,
}

/// A verified tree: every entry up to `size` was checked and hashes to `root_hash`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub size: u64,
    pub root_hash: String,
    pub entry_hash: String,
    pub range: Vec<RangeNode>,
    pub at: String,
}

/// A run in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub mode: Mode,
    pub started_at: String,
    #[serde(default)]
    pub started_by: String,
    /// The tree this run verifies (the head when it started).
    pub target: u64,
    pub target_root: String,
    pub from: u64,
    /// The next entry to check.
    pub next: u64,
    pub prev_hash: String,
    /// Leaves `0 .. next − 1` as a compact range.
    pub range: Vec<RangeNode>,
    pub checked: u64,
    #[serde(default)]
    pub retention: Option<u64>,
    pub problems: Vec<Problem>,
    /// Invocations this run has taken so far.
    #[serde(default)]
    pub slices: u64,
}

/// `audit-verify`: what is verified, the run under way, and the last run's report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    #[serde(default)]
    pub verified: Option<Verified>,
    #[serde(default)]
    pub run: Option<Run>,
    #[serde(default)]
    pub last: Option<VerifyReport>,
}

/// What one slice may spend: KVS read units (10 KB each, every request rounded up, as Forge
/// counts them) and wall time.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub read_units: u64,
    /// Stop when the invocation has less than this left.
    pub reserve_ms: u64,
}

impl Budget {
    pub fn unbounded() -> Self {
        Budget {
            read_units: u64::MAX,
            reserve_ms: 0,
        }
    }
}

/// Forge's read units for one request that returned `bytes` of values.
pub fn units(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(10 * 1024).max(1)
}

/// A MAC key by id: `None` when secret storage has no such key (a forged id), an error when
/// secret storage did not answer.
fn key_by_id(host: &dyn Host, id: &str) -> StorageResult<Option<MacKey>> {
    match load_key(host, id) {
        Ok(k) => Ok(Some(k)),
        Err(StorageError::Host(h)) => Err(StorageError::Host(h)),
        Err(_) => Ok(None),
    }
}

/// The resolver's answer when verification could not read what it needs: never "forged".
pub fn unverifiable(e: StorageError) -> AppError {
    match e {
        StorageError::Host(h) => AppError::new(
            ErrorKind::Unavailable,
            "AUDIT_UNVERIFIABLE",
            format!(
                "could not verify: unavailable ({}); nothing was found wrong, try again later",
                match h {
                    crate::host::HostError::Timeout => "a storage call timed out".to_string(),
                    crate::host::HostError::RateLimited { .. } => "storage is throttling".into(),
                    _ => "storage or secret storage did not answer".into(),
                }
            ),
        ),
        other => other.into(),
    }
}

/// The signed record retention leaves behind: the last pruned entry's seq and hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPoint {
    pub seq: u64,
    pub entry_hash: String,
    pub mac_key_id: String,
    pub mac: String,
}

impl RetentionPoint {
    pub fn message(seq: u64, entry_hash: &str) -> String {
        format!("checkpoint:{seq}:{entry_hash}")
    }
}

fn to_range(nodes: &[(u32, Hash)]) -> Vec<RangeNode> {
    nodes
        .iter()
        .map(|(l, h)| RangeNode {
            l: *l,
            h: tiles::b64(h),
        })
        .collect()
}

fn from_range(nodes: &[RangeNode]) -> Option<Vec<(u32, Hash)>> {
    nodes
        .iter()
        .map(|n| Some((n.l, tiles::unb64(&n.h)?)))
        .collect()
}

/// Adds a leaf to a compact range; returns the complete subtrees it closed (level ≥ 1), so
/// the caller can compare them with the tiles.
fn push_leaf(range: &mut Vec<(u32, Hash)>, leaf: Hash, first_index: u64) -> Vec<(u32, u64, Hash)> {
    range.push((0, leaf));
    let mut closed = Vec::new();
    let mut index = first_index;
    while range.len() >= 2 && range[range.len() - 1].0 == range[range.len() - 2].0 {
        let (l, right) = range.pop().expect("two");
        let (_, left) = range.pop().expect("two");
        let h = merkle::node_hash(&left, &right);
        index /= 2;
        range.push((l + 1, h));
        closed.push((l + 1, index, h));
    }
    closed
}

fn range_root(range: &[(u32, Hash)]) -> Hash {
    let hashes: Vec<Hash> = range.iter().map(|(_, h)| *h).collect();
    merkle::root_from_frontier(&hashes)
}

fn read_head(store: Store<'_>) -> StorageResult<Option<Head>> {
    store.get(keys::AUDIT_HEAD)
}

/// Starts a run against the current head. A head that cannot be appended to (rolled back,
/// unsigned) is still verified as far as its entries go; the problem is recorded first.
pub fn begin(store: Store<'_>, mode: Mode, by: &str, progress: &Progress) -> StorageResult<Run> {
    let host = store.host;
    let head = read_head(store)?;
    let retention: Option<RetentionPoint> = store.get(keys::AUDIT_RETENTION_POINT)?;
    let mut problems = Vec::new();
    let (target, target_root) = match &head {
        Some(h) => (h.seq, h.root_hash.clone()),
        None => (0, tiles::b64(&merkle::empty_root())),
    };
    let mut run = Run {
        mode,
        started_at: crate::time::rfc3339(host.now_ms()),
        started_by: by.to_string(),
        target,
        target_root,
        from: 1,
        next: 1,
        prev_hash: super::GENESIS_HASH.into(),
        range: Vec::new(),
        checked: 0,
        retention: retention.as_ref().map(|r| r.seq),
        problems: Vec::new(),
        slices: 0,
    };
    let resume = progress
        .verified
        .as_ref()
        .filter(|v| mode == Mode::New && v.size <= target && v.size > 0);
    if let Some(v) = resume {
        run.from = v.size + 1;
        run.next = v.size + 1;
        run.prev_hash = v.entry_hash.clone();
        run.range = v.range.clone();
    } else if let Some(rp) = &retention {
        run.mode = Mode::Full;
        // The pruned prefix is only hashes now: its subtrees come from the tiles, and the last
        // pruned leaf must be the entry the retention point names.
        let key = key_by_id(host, &rp.mac_key_id)?;
        if !key.is_some_and(|k| {
            mac(&k.key, &RetentionPoint::message(rp.seq, &rp.entry_hash)) == rp.mac
        }) {
            problems.push(problem(
                rp.seq,
                "forged",
                "the retention point's MAC does not match",
            ));
        }
        let edge = head.as_ref().and_then(Head::edge);
        let pruned = match &edge {
            Some(e) if rp.seq <= e.size => tiles::with_nodes(store, e, e.size, |n| {
                let mut out = Vec::new();
                for (l, i) in merkle::frontier_nodes(rp.seq) {
                    out.push((l, n.node(l, i)?));
                }
                Some((out, n.node(0, rp.seq - 1)?))
            })?,
            _ => None,
        };
        let expect_leaf = unhex(&rp.entry_hash)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(|h| merkle::leaf_hash(&h));
        match pruned {
            Some((range, last)) if Some(last) == expect_leaf => run.range = to_range(&range),
            _ => problems.push(problem(
                rp.seq,
                "tile-mismatch",
                "the tiles do not hold the pruned entries the retention point names",
            )),
        }
        run.from = rp.seq + 1;
        run.next = rp.seq + 1;
        run.prev_hash = rp.entry_hash.clone();
    } else {
        run.mode = Mode::Full;
    }
    run.problems = problems;
    Ok(run)
}

/// Checks entries from `run.next` on until the run reaches its target or the budget is spent.
/// Returns `true` when the walk is complete (then call [`finish`]).
pub fn step(store: Store<'_>, run: &mut Run, budget: Budget) -> StorageResult<bool> {
    let host = store.host;
    run.slices += 1;
    let head = read_head(store)?;
    let edge = head
        .as_ref()
        .and_then(Head::edge)
        .unwrap_or_else(Edge::empty);
    let mut range = from_range(&run.range).ok_or_else(|| StorageError::Corrupt {
        key: keys::AUDIT_VERIFY.into(),
        reason: "the run's range is not base64 hashes".into(),
    })?;
    let mut keys_by_id: BTreeMap<String, Option<MacKey>> = BTreeMap::new();
    let mut upper: BTreeMap<(u32, u64), Vec<Hash>> = BTreeMap::new();
    let mut spent = 0u64;
    while run.next <= run.target {
        if spent >= budget.read_units || host.remaining_ms() < budget.reserve_ms {
            run.range = to_range(&range);
            return Ok(false);
        }
        let last = (run.next + ENTRIES_PER_READ - 1).min(run.target);
        let mut want: Vec<String> = (run.next..=last).map(keys::audit_event).collect();
        // Level-0 tiles for these leaves (the one still filling is in the head).
        let first_tile = (run.next - 1) / tiles::WIDTH;
        let last_tile = (last - 1) / tiles::WIDTH;
        for t in first_tile..=last_tile {
            if t != edge.size / tiles::WIDTH && !edge.spill.contains_key(&(0, t)) {
                want.push(tiles::key(0, t));
            }
        }
        let got = store.batch_get(&want)?;
        spent += units(got.values().map(String::len).sum());
        for seq in run.next..=last {
            let idx = seq - 1;
            let tile_leaf = leaf_in_tile(&got, &edge, idx);
            let leaf = match got.get(&keys::audit_event(seq)) {
                None => {
                    note(run, problem(seq, "missing", format!("entry {seq} is gone")));
                    tile_leaf
                }
                Some(text) => check_entry(store.host, run, seq, text, &mut keys_by_id)?,
            };
            let leaf = leaf.unwrap_or([0; 32]);
            if tile_leaf.is_some_and(|t| t != leaf) {
                note(
                    run,
                    problem(
                        seq,
                        "tile-mismatch",
                        "the tile's leaf hash is not this entry's",
                    ),
                );
            }
            for (level, index, hash) in push_leaf(&mut range, leaf, idx) {
                if level % tiles::HEIGHT == 0 {
                    check_upper(store, run, &mut upper, &edge, level, index, &hash)?;
                }
            }
            run.checked += 1;
            run.next = seq + 1;
        }
    }
    run.range = to_range(&range);
    Ok(true)
}

fn note(run: &mut Run, p: Problem) {
    if run.problems.len() < MAX_PROBLEMS {
        run.problems.push(p);
    }
}

fn leaf_in_tile(got: &BTreeMap<String, String>, edge: &Edge, idx: u64) -> Option<Hash> {
    let t = idx / tiles::WIDTH;
    let slot = (idx % tiles::WIDTH) as usize;
    if t == edge.size / tiles::WIDTH {
        return edge.partial.get(slot).copied();
    }
    if let Some(h) = edge.spill.get(&(0, t)) {
        return h.get(slot).copied();
    }
    let text: String = serde_json::from_str(got.get(&tiles::key(0, t))?).ok()?;
    tiles::decode(&text)?.get(slot).copied()
}

/// Checks one stored entry; returns its leaf hash when its `entryHash` is readable.
fn check_entry(
    host: &dyn Host,
    run: &mut Run,
    seq: u64,
    text: &str,
    keys_by_id: &mut BTreeMap<String, Option<MacKey>>,
) -> StorageResult<Option<Hash>> {
    let entry: AuditEntry = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(err) => {
            note(run, problem(seq, "unreadable", err.to_string()));
            return Ok(None);
        }
    };
    if entry.seq != seq {
        note(
            run,
            problem(
                seq,
                "reordered",
                format!("entry {} is stored at position {seq}", entry.seq),
            ),
        );
    }
    if entry.prev_hash != run.prev_hash {
        note(
            run,
            problem(
                seq,
                "broken-link",
                "prevHash does not match the previous entry",
            ),
        );
    }
    if entry_hash(&entry) != entry.entry_hash {
        note(
            run,
            problem(
                seq,
                "edited",
                "the entry's content does not match its entryHash",
            ),
        );
    } else {
        if !keys_by_id.contains_key(&entry.mac_key_id) {
            let k = key_by_id(host, &entry.mac_key_id)?;
            keys_by_id.insert(entry.mac_key_id.clone(), k);
        }
        match keys_by_id.get(&entry.mac_key_id).and_then(Option::as_ref) {
            None => note(
                run,
                problem(seq, "forged", "the entry names an unknown MAC key"),
            ),
            Some(k) if mac(&k.key, &entry.entry_hash) != entry.entry_mac => note(
                run,
                problem(
                    seq,
                    "forged",
                    "entryMac does not match (hash recomputed without the key?)",
                ),
            ),
            Some(_) => {}
        }
    }
    run.prev_hash = entry.entry_hash.clone();
    Ok(unhex(&entry.entry_hash)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(|h| merkle::leaf_hash(&h)))
}

/// A subtree the walk closed at a tile level must be the hash that tile holds.
fn check_upper(
    store: Store<'_>,
    run: &mut Run,
    cache: &mut BTreeMap<(u32, u64), Vec<Hash>>,
    edge: &Edge,
    level: u32,
    index: u64,
    hash: &Hash,
) -> StorageResult<()> {
    let at = (level / tiles::HEIGHT, index / tiles::WIDTH);
    if let std::collections::btree_map::Entry::Vacant(slot) = cache.entry(at) {
        let tile = match edge.spill.get(&at) {
            Some(h) => h.clone(),
            None => tiles::read(store, &[at].into_iter().collect())?
                .get(&at)
                .cloned()
                .unwrap_or_default(),
        };
        slot.insert(tile);
    }
    let held = cache[&at].get((index % tiles::WIDTH) as usize);
    if held != Some(hash) {
        let first = index << level;
        note(
            run,
            problem(
                first + 1,
                "tile-mismatch",
                format!(
                    "tile {} does not hold the subtree of entries {}..{}",
                    tiles::key(at.0, at.1),
                    first + 1,
                    first + (1 << level)
                ),
            ),
        );
    }
    Ok(())
}

/// Ends a run: the walked tree's root against the head it started from, then the head, the
/// anchor, the latest signed checkpoint and the witness against the tree as it is now.
pub fn finish(store: Store<'_>, run: &Run) -> StorageResult<VerifyReport> {
    let host = store.host;
    let mut problems = run.problems.clone();
    let range = from_range(&run.range).unwrap_or_default();
    if run.next > run.target && tiles::b64(&range_root(&range)) != run.target_root {
        problems.push(problem(
            run.target,
            "root-mismatch",
            "the entries do not hash to the root the head names",
        ));
    }
    let got = store.batch_get(&[
        keys::AUDIT_HEAD.to_string(),
        keys::AUDIT_CHECKPOINT_LATEST.to_string(),
        keys::AUDIT_SIGNING_KEY.to_string(),
        keys::AUDIT_MAC_KEY_ID.to_string(),
        keys::audit_event(run.target + 1),
    ])?;
    let head: Option<Head> = got
        .get(keys::AUDIT_HEAD)
        .map(|t| crate::storage::decode(keys::AUDIT_HEAD, t))
        .transpose()?;
    let mac_key_id: Option<String> = got
        .get(keys::AUDIT_MAC_KEY_ID)
        .map(|t| crate::storage::decode(keys::AUDIT_MAC_KEY_ID, t))
        .transpose()?;
    let mac_key_id = match mac_key_id {
        Some(id) => Some(id),
        None => super::chain::keyring(host)?,
    };
    let key = match &mac_key_id {
        Some(id) => key_by_id(host, id)?,
        None => None,
    };
    let anchored = key.as_ref().and_then(|k| k.anchor.as_ref()).map(|a| a.seq);
    let now_edge = match (&head, &key) {
        (Some(h), Some(k)) => match checked_edge(Some(h), k) {
            Ok(e) => Some(e),
            Err(d) => {
                let kind = if d.contains("rolled back") || d.contains("is not the entry") {
                    "rolled-back"
                } else {
                    "forged"
                };
                problems.push(problem(h.seq, kind, d));
                h.edge()
            }
        },
        (Some(h), None) => {
            problems.push(problem(
                h.seq,
                "forged",
                "the head names an unknown MAC key",
            ));
            h.edge()
        }
        (None, Some(k)) => {
            if let Err(d) = checked_edge(None, k) {
                problems.push(problem(1, "rolled-back", d));
            }
            None
        }
        (None, None) => {
            if run.target > 0 || got.contains_key(&keys::audit_event(run.target + 1)) {
                problems.push(problem(
                    0,
                    "head-mismatch",
                    "entries exist but the head is missing",
                ));
            }
            None
        }
    };
    if let Some(h) = &head {
        if h.seq < run.target {
            problems.push(problem(
                h.seq + 1,
                "rolled-back",
                format!(
                    "the head moved back from entry {} to {} during the run",
                    run.target, h.seq
                ),
            ));
        }
    }
    if got.contains_key(&keys::audit_event(run.target + 1))
        && head.as_ref().is_none_or(|h| h.seq <= run.target)
    {
        problems.push(problem(
            run.target + 1,
            "head-mismatch",
            "an entry exists beyond the head (inserted, or the head was rolled back)",
        ));
    }
    // Signed checkpoints: the latest in storage and the witness in Jira, each checked with the
    // public key and against the tree as it stands.
    let public: Option<PublicKey> = got
        .get(keys::AUDIT_SIGNING_KEY)
        .map(|t| crate::storage::decode(keys::AUDIT_SIGNING_KEY, t))
        .transpose()?;
    let latest: Option<Signed> = got
        .get(keys::AUDIT_CHECKPOINT_LATEST)
        .map(|t| crate::storage::decode(keys::AUDIT_CHECKPOINT_LATEST, t))
        .transpose()?;
    let empty = Edge::empty();
    let edge = now_edge.as_ref().unwrap_or(&empty);
    let signed_size = latest.as_ref().map(|c| c.size);
    if let Some(c) = &latest {
        check_signed(
            store,
            &mut problems,
            c,
            public.as_ref(),
            edge,
            "the latest checkpoint",
        )?;
    }
    let witnessed = match checkpoint::witness_get(host) {
        Ok(w) => w,
        Err(e) => {
            host.log(
                crate::host::Level::Warn,
                &format!("audit verify: the witness could not be read ({e}); not checked"),
            );
            None
        }
    };
    if let Some(w) = &witnessed {
        check_signed(
            store,
            &mut problems,
            w,
            public.as_ref(),
            edge,
            "the witness in Jira",
        )?;
    }
    Ok(VerifyReport {
        ok: problems.is_empty(),
        checked: run.checked,
        first_seq: (run.checked > 0).then_some(run.from),
        last_seq: (run.next > run.from).then(|| run.next - 1),
        from_checkpoint: run.retention,
        anchored_seq: anchored,
        problems,
        mode: Some(run.mode),
        tree_size: run.target,
        root_hash: run.target_root.clone(),
        signed_size,
        witnessed_size: witnessed.as_ref().map(|w| w.size),
        finished_at: crate::time::rfc3339(host.now_ms()),
    })
}

/// A signed checkpoint must open with the installation's public key and describe a prefix of
/// the current tree (its root recomputed from the tiles).
fn check_signed(
    store: Store<'_>,
    problems: &mut Vec<Problem>,
    c: &Signed,
    public: Option<&PublicKey>,
    edge: &Edge,
    what: &str,
) -> StorageResult<()> {
    let Some(public) = public else {
        problems.push(problem(
            c.size,
            "bad-signature",
            format!("{what} exists but the signing key is gone"),
        ));
        return Ok(());
    };
    let body = match checkpoint::open(&c.note, &public.verifier_key) {
        Ok(b) => b,
        Err(e) => {
            problems.push(problem(c.size, "bad-signature", format!("{what}: {e}")));
            return Ok(());
        }
    };
    if body.size > edge.size {
        problems.push(problem(
            edge.size + 1,
            "rolled-back",
            format!(
                "{what} signed a tree of {} entries; the chain now ends at {}",
                body.size, edge.size
            ),
        ));
        return Ok(());
    }
    let root = tiles::with_nodes(store, edge, body.size, |n| merkle::root(n, body.size))?;
    if root != Some(body.root) {
        problems.push(problem(
            body.size,
            "rolled-back",
            format!(
                "{what} (entry {}) is not a prefix of the current tree: history was rewritten",
                body.size
            ),
        ));
    }
    Ok(())
}

/// Verifies the whole chain in one invocation: for tools and tests (`host-sim audit verify`,
/// the simulation's invariants). The app itself runs [`begin`]/[`step`]/[`finish`] as a job.
pub fn verify(store: Store<'_>, _max_entries: usize) -> StorageResult<VerifyReport> {
    let mut run = begin(store, Mode::Full, "tool", &Progress::default())?;
    step(store, &mut run, Budget::unbounded())?;
    finish(store, &run)
}

/// Records a finished run: the verified tree moves forward only when nothing was found wrong.
pub fn conclude(progress: &mut Progress, run: &Run, report: VerifyReport) {
    if report.ok {
        progress.verified = Some(Verified {
            size: run.target,
            root_hash: run.target_root.clone(),
            entry_hash: run.prev_hash.clone(),
            range: run.range.clone(),
            at: report.finished_at.clone(),
        });
    }
    progress.run = None;
    progress.last = Some(report);
}
