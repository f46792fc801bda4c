//! The audit chain end to end: appended by intake in the component, verified by the app's own
//! verifier, and every kind of tampering detected.

mod common;

use common::*;
use host_sim::Sim;
use serde_json::Value;

fn with_entries(n: usize) -> Sim {
    let mut sim = basic();
    for (_, ev) in all_events().into_iter().take(n) {
        sim.deliver(&ev).unwrap();
    }
    assert!(verify(&mut sim).ok);
    sim
}

/// Entries the setup itself writes (catalog edits are audited): the tests below number the
/// intake entries after them, from 1.
fn setup_entries() -> u64 {
    static N: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        kvs_value(&basic(), "audit-head")
            .and_then(|h| h["seq"].as_u64())
            .unwrap_or(0)
    })
}

/// The key of the `seq`-th intake entry.
fn key(seq: u64) -> String {
    format!("audit-event:{:012}", seq + setup_entries())
}

fn entry(sim: &Sim, seq: u64) -> Value {
    kvs_value(sim, &key(seq)).unwrap()
}

fn put(sim: &mut Sim, key: &str, v: &Value) {
    sim.state_mut().kvs.get_mut(key).unwrap().value = v.to_string();
}

fn kinds(sim: &mut Sim) -> Vec<(u64, String)> {
    let r = verify(sim);
    assert!(!r.ok, "tampering went unnoticed");
    r.problems
        .into_iter()
        .map(|p| (p.seq.saturating_sub(setup_entries()), p.kind))
        .collect()
}

// covers: CL-141
#[test]
fn entries_link_by_hash_and_carry_a_mac() {
    let sim = with_entries(9);
    let mut prev = match setup_entries() {
        0 => "0".repeat(64),
        n => kvs_value(&sim, &format!("audit-event:{n:012}")).unwrap()["entryHash"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    for seq in 1..=9 {
        let e = entry(&sim, seq);
        assert_eq!(e["prevHash"], prev.as_str(), "entry {seq}");
        assert_eq!(e["entryHash"].as_str().unwrap().len(), 64);
        assert_eq!(e["entryMac"].as_str().unwrap().len(), 64);
        assert_eq!(e["type"], "request_created");
        prev = e["entryHash"].as_str().unwrap().to_string();
    }
    let head = kvs_value(&sim, "audit-head").unwrap();
    assert_eq!(
        (head["seq"].as_u64(), head["entryHash"].as_str()),
        (Some(9 + setup_entries()), Some(prev.as_str()))
    );
    // The MAC key lives in secret storage, never in KVS.
    assert!(sim
        .state()
        .secrets
        .keys()
        .any(|k| k.starts_with("audit-mac-key:")));
    assert!(!sim.state().kvs.values().any(|v| v
        .value
        .contains(sim.state().secrets.values().next().unwrap())));
}

// covers: CL-142
#[test]
fn an_edited_entry_is_detected_at_its_position() {
    let mut sim = with_entries(9);
    let mut e = entry(&sim, 4);
    e["data"]["durationDays"] = serde_json::json!(180);
    put(&mut sim, &key(4), &e);
    assert!(kinds(&mut sim).contains(&(4, "edited".into())));
}

#[test]
fn an_edit_with_a_recomputed_hash_is_caught_by_the_mac() {
    let mut sim = with_entries(3);
    let mut e = entry(&sim, 3);
    e["actor"] = serde_json::json!("someone-else");
    // Recompute entryHash the way the app does (canonical JSON without hash and MAC) — no key.
    let mut without = e.clone();
    without.as_object_mut().unwrap().remove("entryHash");
    without.as_object_mut().unwrap().remove("entryMac");
    use sha2::Digest;
    let h: String = sha2::Sha256::digest(aiclearance::audit::canonical_json(&without).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    e["entryHash"] = serde_json::json!(h);
    put(&mut sim, &key(3), &e);
    let k = kinds(&mut sim);
    assert!(k.contains(&(3, "forged".into())), "{k:?}");
}

#[test]
fn a_deleted_entry_is_detected() {
    let mut sim = with_entries(9);
    sim.state_mut().kvs.remove(&key(5));
    let k = kinds(&mut sim);
    assert!(k.contains(&(5, "missing".into())), "{k:?}");
    assert!(k.contains(&(6, "broken-link".into())), "{k:?}");
}

#[test]
fn reordered_entries_are_detected() {
    let mut sim = with_entries(9);
    let (a, b) = (entry(&sim, 2), entry(&sim, 3));
    put(&mut sim, &key(2), &b);
    put(&mut sim, &key(3), &a);
    let k = kinds(&mut sim);
    assert!(
        k.contains(&(2, "reordered".into())) && k.contains(&(3, "reordered".into())),
        "{k:?}"
    );
}

#[test]
fn a_truncated_tail_is_detected() {
    let mut sim = with_entries(9);
    sim.state_mut().kvs.remove(&key(9));
    sim.state_mut().kvs.remove(&key(8));
    assert!(kinds(&mut sim).contains(&(8, "truncated".into())));
}

#[test]
fn a_head_rolled_back_to_hide_truncation_is_detected() {
    let mut sim = with_entries(9);
    let e8 = entry(&sim, 8);
    sim.state_mut().kvs.remove(&key(9));
    let mut head = kvs_value(&sim, "audit-head").unwrap();
    head["seq"] = serde_json::json!(8 + setup_entries());
    head["entryHash"] = e8["entryHash"].clone();
    put(&mut sim, "audit-head", &head);
    assert!(kinds(&mut sim).contains(&(8, "forged".into())));
}

/// Two writers appending at once never fork the chain: the loser of the head race re-reads the
/// head and retries. The second writer here runs between the first one's read and its commit.
#[test]
fn concurrent_appends_never_fork_the_chain() {
    use aiclearance::audit::{commit_with_audit, mac_key, AuditDraft};
    use aiclearance::storage::Store;
    let mut sim = with_entries(2);
    let emu = sim.emu_mut();
    emu.begin("test", None, 900, Default::default());
    {
        let host = host_sim::runtime::native::NativeHost {
            emu: std::cell::RefCell::new(&mut *emu),
        };
        let store = Store::new(&host);
        let key = mac_key(store, None).unwrap();
        let stale_head = store.get_raw("audit-head").unwrap();
        // Writer B lands first.
        commit_with_audit(
            store,
            &key,
            None,
            &[AuditDraft::new("writer_b", "app")],
            |_| Ok(()),
        )
        .unwrap();
        // Writer A still holds the stale head it read before B committed.
        let seqs = commit_with_audit(
            store,
            &key,
            Some(stale_head),
            &[AuditDraft::new("writer_a", "app")],
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(seqs, vec![4 + setup_entries()]);
    }
    emu.end();
    assert_eq!(entry(&sim, 3)["type"], "writer_b");
    assert_eq!(entry(&sim, 4)["type"], "writer_a");
    assert!(verify(&mut sim).ok);
}

/// The admin resolver verifies too, and refuses non-admins.
// covers: CL-142, CL-200
#[test]
fn the_verify_resolver_is_admin_only_and_reports_tampering() {
    let mut sim = with_entries(4);
    let ok = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(ADMIN));
    assert_eq!(ok.ok().unwrap()["ok"], true);
    let denied = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(JONAS));
    assert_eq!(denied.error_code(), Some("ADMIN_REQUIRED"));
    sim.state_mut().kvs.remove(&key(2));
    let broken = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(ADMIN));
    assert_eq!(broken.ok().unwrap()["ok"], false);
}
