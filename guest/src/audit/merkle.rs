//! RFC 6962 Merkle tree hashing over the audit trail, as transparency logs do it (RFC 6962 §2.1,
//! C2SP tlog-tiles): leaves are entries, interior nodes are SHA-256 of their two children, and
//! a tree of any size has one root. Everything here is pure: it reads node hashes through a
//! [`Nodes`] source (tiles in storage, a vector in tests) and never touches the host.
//!
//! - leaf hash `SHA-256(0x00 ‖ entryHash)`, where `entryHash` is the entry's own 32-byte hash
//!   (the chain already hashes the entry's canonical text, `prevHash` included);
//! - node hash `SHA-256(0x01 ‖ left ‖ right)`;
//! - `MTH(D[a:b])` splits at the largest power of two below `b − a`.
//!
//! A node is `(level, index)`: the root of leaves `index·2^level .. (index+1)·2^level`. Only
//! complete nodes are ever stored; every other subtree hash is computed from them.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry_hash);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree (RFC 6962: SHA-256 of the empty string).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where complete node hashes come from. `None` means the source does not hold that node (a
/// missing tile): callers turn it into an error, never a guess.
pub trait Nodes {
    fn node(&mut self, level: u32, index: u64) -> Option<Hash>;
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start:end])` for `start < end`, from complete nodes only. Bounded: at most two calls
/// per tree level.
pub fn subtree(src: &mut dyn Nodes, start: u64, end: u64) -> Option<Hash> {
    debug_assert!(start < end);
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.node(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split(n);
    let left = subtree(src, start, start + k)?;
    let right = subtree(src, start + k, end)?;
    Some(node_hash(&left, &right))
}

/// The root of the tree of `size` leaves.
pub fn root(src: &mut dyn Nodes, size: u64) -> Option<Hash> {
    if size == 0 {
        return Some(empty_root());
    }
    subtree(src, 0, size)
}

/// The complete subtrees a tree of `size` leaves decomposes into, largest first: `(level,
/// index)` for each set bit of `size`. Their right fold is the root.
pub fn frontier_nodes(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64).rev() {
        if size & (1u64 << level) != 0 {
            out.push((level, start >> level));
            start += 1u64 << level;
        }
    }
    out
}

/// The root from the frontier's hashes, largest subtree first (RFC 6962's right fold).
pub fn root_from_frontier(frontier: &[Hash]) -> Hash {
    match frontier.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest
            .iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// RFC 6962 §2.1.1 `PATH(m, D[0:n])`: the audit path of leaf `index` in a tree of `size`,
/// bottom-up.
pub fn inclusion_proof(src: &mut dyn Nodes, index: u64, size: u64) -> Option<Vec<Hash>> {
    debug_assert!(index < size);
    let mut proof = Vec::new();
    path(src, index, 0, size, &mut proof)?;
    Some(proof)
}

fn path(src: &mut dyn Nodes, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Option<()> {
    let n = end - start;
    if n <= 1 {
        return Some(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(subtree(src, start, start + k)?);
    }
    Some(())
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `index` (hash `leaf`) in the tree of `size` with
/// `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 6962 §2.1.2 `PROOF(m, D[0:n])`: that the tree of `old` leaves is a prefix of the tree
/// of `new` leaves.
pub fn consistency_proof(src: &mut dyn Nodes, old: u64, new: u64) -> Option<Vec<Hash>> {
    debug_assert!(old <= new);
    let mut out = Vec::new();
    if old == 0 || old == new {
        return Some(out);
    }
    subproof(src, old, 0, new, true, &mut out)?;
    Some(out)
}

fn subproof(
    src: &mut dyn Nodes,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Option<()> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(subtree(src, start, end)?);
        }
        return Some(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, complete, out)?;
        out.push(subtree(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree(src, start, start + k)?);
    }
    Some(())
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree (`old`, `old_root`) is a prefix of (`new`,
/// `new_root`)?
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

/// Complete nodes computed from every leaf, for tests and small in-memory trees.
pub struct Leaves(pub Vec<Hash>);

impl Nodes for Leaves {
    fn node(&mut self, level: u32, index: u64) -> Option<Hash> {
        let width = 1u64 << level;
        let start = index.checked_mul(width)?;
        let end = start.checked_add(width)?;
        if end > self.0.len() as u64 {
            return None;
        }
        Some(naive(&self.0[start as usize..end as usize]))
    }
}

/// RFC 6962's definition, written out directly: the reference the tiled code is tested against.
pub fn naive(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&naive(&leaves[..k]), &naive(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&Sha256::digest((i as u64).to_le_bytes()).into()))
            .collect()
    }

    #[test]
    fn roots_match_the_rfc_definition_for_every_size_up_to_300() {
        for n in 0..300usize {
            let l = leaves(n);
            let mut src = Leaves(l.clone());
            assert_eq!(root(&mut src, n as u64), Some(naive(&l)), "size {n}");
            let frontier: Vec<Hash> = frontier_nodes(n as u64)
                .into_iter()
                .map(|(lv, i)| src.node(lv, i).unwrap())
                .collect();
            assert_eq!(root_from_frontier(&frontier), naive(&l), "frontier {n}");
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_changed_one_does_not() {
        for n in 1..70u64 {
            let l = leaves(n as usize);
            let mut src = Leaves(l.clone());
            let r = naive(&l);
            for i in 0..n {
                let p = inclusion_proof(&mut src, i, n).unwrap();
                assert!(verify_inclusion(i, n, &l[i as usize], &p, &r), "{i} of {n}");
                assert!(!verify_inclusion(i, n, &l[(i as usize + 1) % l.len()], &p, &r) || n == 1);
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0] = node_hash(first, first);
                    assert!(!verify_inclusion(i, n, &l[i as usize], &bad, &r));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_forked_tree_does_not() {
        for new in 1..60u64 {
            let l = leaves(new as usize);
            let mut src = Leaves(l.clone());
            let new_root = naive(&l);
            for old in 1..=new {
                let old_root = naive(&l[..old as usize]);
                let p = consistency_proof(&mut src, old, new).unwrap();
                assert!(
                    verify_consistency(old, new, &old_root, &new_root, &p),
                    "{old} -> {new}"
                );
                // A tree whose first leaf differs (a rewritten history) is not consistent.
                let mut forked = l.clone();
                forked[0] = leaf_hash(&[7u8; 32]);
                let forked_root = naive(&forked);
                if old < new {
                    assert!(!verify_consistency(old, new, &old_root, &forked_root, &p));
                }
                assert!(!verify_consistency(
                    old,
                    new,
                    &naive(&forked[..old as usize]),
                    &new_root,
                    &p
                ));
            }
        }
    }
}
