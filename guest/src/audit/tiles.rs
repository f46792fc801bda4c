//! The audit trail's Merkle tree in storage, laid out as C2SP tlog-tiles lays out a log: complete
//! node hashes in tiles, never one record per node.
//!
//! - A tile `audit-tile:<L>:<N>` holds up to 128 hashes of the nodes at tree level `7·L`, indexes
//!   `128·N ..`: level-0 tiles hold leaf hashes, a level-1 tile the roots of 128-leaf subtrees,
//!   and so on. Tile height 7 (C2SP uses 8) so a full tile, 128 × 32 bytes as base64 (5.5 KB), is
//!   one 10 KB KVS unit; 1,000,000 entries need three tile levels either way.
//! - The head carries the tree's right edge ([`Edge`]): the leaf hashes of the level-0 tile that
//!   is still filling, and the frontier (the complete subtrees left of it). An append therefore
//!   reads nothing beyond the head it already reads, and writes the head plus, only when a tile
//!   fills, the full level-0 tile and the upper tile the new subtree root goes into (read first).
//!   At 1,000,000 entries that is at most four writes beyond the entry: head and three tiles.
//! - Every other hash (a proof's siblings, the root of an older size) is computed from tiles by
//!   [`merkle`]. [`with_nodes`] runs such a computation twice: once to learn which tiles it
//!   touches, then once over one `batch-get` of them.

use super::merkle::{self, Hash, Nodes};
use crate::storage::{StorageError, StorageResult, Store};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::{BTreeMap, BTreeSet};

pub const HEIGHT: u32 = 7;
pub const WIDTH: u64 = 1 << HEIGHT;
pub const PREFIX: &str = "audit-tile:";

/// Tiles by `(level, index)`, decoded.
pub type TileMap = BTreeMap<(u32, u64), Vec<Hash>>;

pub fn key(level: u32, index: u64) -> String {
    format!("{PREFIX}{level}:{index:010}")
}

pub fn encode(hashes: &[Hash]) -> String {
    B64.encode(hashes.concat())
}

pub fn decode(text: &str) -> Option<Vec<Hash>> {
    let bytes = B64.decode(text).ok()?;
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunks"))
            .collect(),
    )
}

pub fn b64(hash: &Hash) -> String {
    B64.encode(hash)
}

pub fn unb64(text: &str) -> Option<Hash> {
    B64.decode(text).ok()?.try_into().ok()
}

/// The root of a perfect subtree from its 2^k hashes at one level.
fn perfect(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut layer = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer
            .chunks_exact(2)
            .map(|p| merkle::node_hash(&p[0], &p[1]))
            .collect();
    }
    layer[0]
}

/// The tree's right edge, as the head stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub size: u64,
    /// Leaf hashes of the level-0 tile still filling: `size % 128` of them.
    pub partial: Vec<Hash>,
    /// The complete subtrees of the first `size − size % 128` leaves, largest first.
    pub frontier: Vec<Hash>,
    /// Tiles an append changed that are not written to their own keys yet (the *spill*): they
    /// ride in the head, so the audited transaction adds only the head, and the appender writes
    /// them right after in a second, small transaction (`chain::flush_spill`). Readers look here
    /// before the tile keys.
    pub spill: TileMap,
}

impl Edge {
    pub fn empty() -> Self {
        Edge {
            size: 0,
            partial: Vec::new(),
            frontier: Vec::new(),
            spill: TileMap::new(),
        }
    }

    /// The shape a tree of `size` leaves must have (a tampered head fails this or the root).
    pub fn well_formed(&self) -> bool {
        self.partial.len() as u64 == self.size % WIDTH
            && self.frontier.len() as u32 == (self.size >> HEIGHT).count_ones()
    }

    /// The subtrees the tree decomposes into, largest first: the frontier, then the partial
    /// tile's own decomposition.
    fn subtrees(&self) -> Vec<Hash> {
        let mut out = self.frontier.clone();
        let mut start = 0usize;
        for (level, _) in merkle::frontier_nodes(self.partial.len() as u64) {
            let w = 1usize << level;
            out.push(perfect(&self.partial[start..start + w]));
            start += w;
        }
        out
    }

    pub fn root(&self) -> Hash {
        merkle::root_from_frontier(&self.subtrees())
    }
}

/// What one append changes: the new edge (with the tiles it changed in its spill).
#[derive(Debug)]
pub struct Appended {
    pub edge: Edge,
}

/// The upper tiles (level ≥ 1) that appending `count` leaves to a tree of `size` adds a node
/// to: they are read before [`append`] and rewritten by it. Usually none.
pub fn upper_tiles_touched(size: u64, count: u64) -> Vec<(u32, u64)> {
    let mut out = BTreeSet::new();
    for s in size + 1..=size + count {
        // Each time a tile at level L fills, its root is node `s / 128^(L+1) − 1` one level up.
        let mut level = 0u32;
        let mut filled = s;
        while filled.is_multiple_of(WIDTH) && filled > 0 {
            filled /= WIDTH;
            level += 1;
            out.insert((level, (filled - 1) / WIDTH));
        }
    }
    out.into_iter().collect()
}

/// Appends `leaves` to the tree whose edge is `edge`. `upper` holds the current hashes of the
/// tiles [`upper_tiles_touched`] named (a tile not yet written is absent).
pub fn append(edge: &Edge, leaves: &[Hash], upper: &TileMap) -> Result<Appended, String> {
    let mut size = edge.size;
    let mut partial = edge.partial.clone();
    // The frontier with each subtree's height, so carries merge like a binary counter.
    let mut frontier: Vec<(u32, Hash)> = merkle::frontier_nodes(size - size % WIDTH)
        .into_iter()
        .map(|(level, _)| level)
        .zip(edge.frontier.iter().copied())
        .collect();
    // Unflushed tiles first: they are the newest contents of theirs.
    let mut tiles: TileMap = edge.spill.clone();
    for leaf in leaves {
        partial.push(*leaf);
        size += 1;
        if partial.len() as u64 != WIDTH {
            continue;
        }
        let full = std::mem::take(&mut partial);
        let index = size / WIDTH - 1;
        let mut node = perfect(&full);
        tiles.insert((0, index), full);
        frontier.push((HEIGHT, node));
        while frontier.len() >= 2
            && frontier[frontier.len() - 1].0 == frontier[frontier.len() - 2].0
        {
            let (lv, right) = frontier.pop().expect("two");
            let (_, left) = frontier.pop().expect("two");
            frontier.push((lv + 1, merkle::node_hash(&left, &right)));
        }
        // The new subtree root goes into the upper tile; a tile that fills carries upwards.
        let (mut level, mut idx) = (1u32, index);
        loop {
            let at = (level, idx / WIDTH);
            let tile = tiles
                .entry(at)
                .or_insert_with(|| upper.get(&at).cloned().unwrap_or_default());
            if tile.len() as u64 != idx % WIDTH {
                return Err(format!(
                    "tile {} holds {} hashes where node {idx} belongs at {}",
                    key(at.0, at.1),
                    tile.len(),
                    idx % WIDTH
                ));
            }
            tile.push(node);
            if tile.len() as u64 != WIDTH {
                break;
            }
            node = perfect(tile);
            idx /= WIDTH;
            level += 1;
        }
    }
    Ok(Appended {
        edge: Edge {
            size,
            partial,
            frontier: frontier.into_iter().map(|(_, h)| h).collect(),
            spill: tiles,
        },
    })
}

/// The head's spill as stored: `[{"l", "n", "h"}]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpillTile {
    pub l: u32,
    pub n: u64,
    pub h: String,
}

pub fn spill_out(spill: &TileMap) -> Vec<SpillTile> {
    spill
        .iter()
        .map(|((l, n), hashes)| SpillTile {
            l: *l,
            n: *n,
            h: encode(hashes),
        })
        .collect()
}

pub fn spill_in(stored: &[SpillTile]) -> Option<TileMap> {
    stored
        .iter()
        .map(|t| Some(((t.l, t.n), decode(&t.h)?)))
        .collect()
}

/// Where the hashes of node `(level, index)` live: tile level, tile index, first slot, count.
fn locate(level: u32, index: u64) -> (u32, u64, usize, usize) {
    let (t, r) = (level / HEIGHT, level % HEIGHT);
    let first = index << r;
    (t, first / WIDTH, (first % WIDTH) as usize, 1usize << r)
}

/// Node hashes of the tree of `size` leaves, from tiles and the head's partial tile.
pub struct TileNodes<'a> {
    size: u64,
    edge: &'a Edge,
    tiles: &'a TileMap,
    /// Tiles asked for and not held (the first, recording pass).
    pub wanted: BTreeSet<(u32, u64)>,
    record: bool,
}

impl Nodes for TileNodes<'_> {
    fn node(&mut self, level: u32, index: u64) -> Option<Hash> {
        let end = (index + 1).checked_shl(level)?;
        if end > self.size || self.size > self.edge.size {
            return None;
        }
        let (t, n, slot, count) = locate(level, index);
        let hashes: &[Hash] = if t == 0 && n == self.edge.size / WIDTH {
            &self.edge.partial
        } else if let Some(h) = self.edge.spill.get(&(t, n)) {
            h
        } else {
            match self.tiles.get(&(t, n)) {
                Some(h) => h,
                None if self.record => {
                    self.wanted.insert((t, n));
                    return Some([0; 32]);
                }
                None => return None,
            }
        };
        if slot + count > hashes.len() {
            return if self.record { Some([0; 32]) } else { None };
        }
        Some(perfect(&hashes[slot..slot + count]))
    }
}

/// Runs `f` over the nodes of the tree of `size` leaves (≤ the edge's size): first to learn the
/// tiles it needs, then over them, read in one `batch-get` per 25. `Ok(None)` when a tile is
/// missing or too short (the tree in storage is damaged).
pub fn with_nodes<T>(
    store: Store<'_>,
    edge: &Edge,
    size: u64,
    f: impl Fn(&mut dyn Nodes) -> Option<T>,
) -> StorageResult<Option<T>> {
    let empty = BTreeMap::new();
    let mut probe = TileNodes {
        size,
        edge,
        tiles: &empty,
        wanted: BTreeSet::new(),
        record: true,
    };
    f(&mut probe);
    let tiles = read(store, &probe.wanted)?;
    let mut real = TileNodes {
        size,
        edge,
        tiles: &tiles,
        wanted: BTreeSet::new(),
        record: false,
    };
    Ok(f(&mut real))
}

/// The tiles at `at`, decoded; an absent tile is left out, an undecodable one is corrupt.
pub fn read(store: Store<'_>, at: &BTreeSet<(u32, u64)>) -> StorageResult<TileMap> {
    let wanted: Vec<(u32, u64)> = at.iter().copied().collect();
    let mut out = BTreeMap::new();
    for chunk in wanted.chunks(crate::storage::MAX_BATCH) {
        let names: Vec<String> = chunk.iter().map(|(l, n)| key(*l, *n)).collect();
        let got = store.batch_get(&names)?;
        for ((l, n), name) in chunk.iter().zip(&names) {
            if let Some(text) = got.get(name) {
                let s: String = crate::storage::decode(name, text)?;
                let hashes = decode(&s).ok_or_else(|| StorageError::Corrupt {
                    key: name.clone(),
                    reason: "not a tile of 32-byte hashes".into(),
                })?;
                out.insert((*l, *n), hashes);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn leaf(i: u64) -> Hash {
        merkle::leaf_hash(&Sha256::digest(i.to_le_bytes()).into())
    }

    /// Appends `n` leaves in batches of `step`, keeping tiles in a map as storage would.
    fn grow(n: u64, step: u64) -> (Edge, TileMap, Vec<Hash>) {
        let mut edge = Edge::empty();
        let mut store: TileMap = BTreeMap::new();
        let mut all = Vec::new();
        let mut i = 0;
        while i < n {
            let k = step.min(n - i);
            let batch: Vec<Hash> = (i..i + k).map(leaf).collect();
            all.extend(&batch);
            let touched = upper_tiles_touched(edge.size, k);
            let upper: BTreeMap<_, _> = touched
                .iter()
                .filter_map(|t| store.get(t).map(|h| (*t, h.clone())))
                .collect();
            let mut out = append(&edge, &batch, &upper).unwrap();
            // The appender flushes the spill right after (here: every other batch, so a spill
            // is sometimes carried into the next append).
            if i % 2 == 0 {
                store.extend(std::mem::take(&mut out.edge.spill));
            }
            edge = out.edge;
            assert!(edge.well_formed());
            assert_eq!(edge.root(), merkle::naive(&all), "root at {}", edge.size);
            i += k;
        }
        (edge, store, all)
    }

    #[test]
    fn appends_keep_the_root_equal_to_the_rfc_root_across_tile_boundaries() {
        grow(128 * 128 + 300, 1);
        grow(128 * 3 + 5, 7);
    }

    #[test]
    fn proofs_and_old_roots_come_from_tiles_and_the_head() {
        let (mut edge, mut store, all) = grow(128 * 130 + 17, 3);
        store.extend(std::mem::take(&mut edge.spill));
        for size in [1u64, 127, 128, 129, 16_384, 16_385, edge.size] {
            let run = |src: &mut TileNodes| merkle::root(src, size);
            let mut nodes = TileNodes {
                size,
                edge: &edge,
                tiles: &store,
                wanted: BTreeSet::new(),
                record: false,
            };
            assert_eq!(run(&mut nodes), Some(merkle::naive(&all[..size as usize])));
            for i in [0, size / 2, size - 1] {
                let p = merkle::inclusion_proof(&mut nodes, i, size).unwrap();
                assert!(merkle::verify_inclusion(
                    i,
                    size,
                    &all[i as usize],
                    &p,
                    &merkle::naive(&all[..size as usize])
                ));
            }
        }
        // A proof at the full size needs at most two tiles per tile level.
        let mut probe = TileNodes {
            size: edge.size,
            edge: &edge,
            tiles: &BTreeMap::new(),
            wanted: BTreeSet::new(),
            record: true,
        };
        merkle::inclusion_proof(&mut probe, 5, edge.size).unwrap();
        assert!(probe.wanted.len() <= 4, "{:?}", probe.wanted);
    }

    #[test]
    fn only_tile_boundaries_touch_upper_tiles() {
        assert!(upper_tiles_touched(0, 127).is_empty());
        assert_eq!(upper_tiles_touched(127, 1), vec![(1, 0)]);
        // The 128th level-0 tile fills level-1 tile 0, whose root starts level-2 tile 0.
        assert_eq!(upper_tiles_touched(128 * 128 - 1, 1), vec![(1, 0), (2, 0)]);
        assert_eq!(upper_tiles_touched(128 * 129 - 1, 1), vec![(1, 1)]);
    }
}
