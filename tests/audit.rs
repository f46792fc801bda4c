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

fn entry(sim: &Sim, seq: u64) -> Value {
    kvs_value(sim, &format!("audit-event:{seq:012}")).unwrap()
}

fn put(sim: &mut Sim, key: &str, v: &Value) {
    sim.state_mut().kvs.get_mut(key).unwrap().value = v.to_string();
}

fn kinds(sim: &mut Sim) -> Vec<(u64, String)> {
    let r = verify(sim);
    assert!(!r.ok, "tampering went unnoticed");
    r.problems.into_iter().map(|p| (p.seq, p.kind)).collect()
}

// covers: CL-141
#[test]
fn entries_link_by_hash_and_carry_a_mac() {
    let sim = with_entries(9);
    let mut prev = "0".repeat(64);
    // The setup's intake configuration save is audited too (then one entry per request).
    let n = count_prefix(&sim, "audit-event:") as u64;
    assert_eq!(audit_of(&sim, "request_created").len(), 9);
    for seq in 1..=n {
        let e = entry(&sim, seq);
        assert_eq!(e["prevHash"], prev.as_str(), "entry {seq}");
        assert_eq!(e["entryHash"].as_str().unwrap().len(), 64);
        assert_eq!(e["entryMac"].as_str().unwrap().len(), 64);
        prev = e["entryHash"].as_str().unwrap().to_string();
    }
    let head = kvs_value(&sim, "audit-head").unwrap();
    assert_eq!(
        (head["seq"].as_u64(), head["entryHash"].as_str()),
        (Some(n), Some(prev.as_str()))
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
    put(&mut sim, "audit-event:000000000004", &e);
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
    put(&mut sim, "audit-event:000000000003", &e);
    let k = kinds(&mut sim);
    assert!(k.contains(&(3, "forged".into())), "{k:?}");
}

#[test]
fn a_deleted_entry_is_detected() {
    let mut sim = with_entries(9);
    sim.state_mut().kvs.remove("audit-event:000000000005");
    let k = kinds(&mut sim);
    assert!(k.contains(&(5, "missing".into())), "{k:?}");
    assert!(k.contains(&(6, "broken-link".into())), "{k:?}");
}

#[test]
fn reordered_entries_are_detected() {
    let mut sim = with_entries(9);
    let (a, b) = (entry(&sim, 2), entry(&sim, 3));
    put(&mut sim, "audit-event:000000000002", &b);
    put(&mut sim, "audit-event:000000000003", &a);
    let k = kinds(&mut sim);
    assert!(
        k.contains(&(2, "reordered".into())) && k.contains(&(3, "reordered".into())),
        "{k:?}"
    );
}

#[test]
fn a_truncated_tail_is_detected() {
    let mut sim = with_entries(9);
    let n = count_prefix(&sim, "audit-event:") as u64;
    sim.state_mut().kvs.remove(&format!("audit-event:{n:012}"));
    sim.state_mut()
        .kvs
        .remove(&format!("audit-event:{:012}", n - 1));
    assert!(kinds(&mut sim).contains(&(n - 1, "truncated".into())));
}

#[test]
fn a_head_rolled_back_to_hide_truncation_is_detected() {
    let mut sim = with_entries(9);
    let e8 = entry(&sim, 8);
    sim.state_mut().kvs.remove("audit-event:000000000009");
    let mut head = kvs_value(&sim, "audit-head").unwrap();
    head["seq"] = serde_json::json!(8);
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
    let base = count_prefix(&sim, "audit-event:") as u64;
    let emu = sim.emu_mut();
    emu.begin("test", None, 900, Default::default());
    {
        let host = host_sim::runtime::native::NativeHost::new(&mut *emu);
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
        assert_eq!(seqs, vec![base + 2]);
    }
    emu.end();
    assert_eq!(entry(&sim, base + 1)["type"], "writer_b");
    assert_eq!(entry(&sim, base + 2)["type"], "writer_a");
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
    sim.state_mut().kvs.remove("audit-event:000000000002");
    let broken = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(ADMIN));
    assert_eq!(broken.ok().unwrap()["ok"], false);
}

/// Restoring an earlier genuine `audit-head` (copied byte for byte from an older state) and
/// deleting the entries after it: the head's MAC is genuine, so only the chain's length anchor in
/// secret storage can tell. Reported as `rolled-back` where the removed tail starts.
// covers: CL-142
#[test]
fn a_restored_older_genuine_head_is_detected_by_the_anchor() {
    let mut sim = with_entries(6);
    let old_head = sim.state().kvs.get("audit-head").unwrap().value.clone();
    let old_seq = kvs_value(&sim, "audit-head").unwrap()["seq"]
        .as_u64()
        .unwrap();
    for (_, ev) in all_events().into_iter().skip(6).take(3) {
        sim.deliver(&ev).unwrap();
    }
    assert!(verify(&mut sim).ok);
    let new_seq = kvs_value(&sim, "audit-head").unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(new_seq, old_seq + 3);
    for seq in old_seq + 1..=new_seq {
        sim.state_mut()
            .kvs
            .remove(&format!("audit-event:{seq:012}"));
    }
    sim.state_mut().kvs.get_mut("audit-head").unwrap().value = old_head;
    let r = verify(&mut sim);
    assert!(!r.ok, "a rolled-back chain verified: {r:?}");
    assert_eq!(r.anchored_seq, Some(new_seq));
    assert!(
        r.problems
            .iter()
            .any(|p| p.seq == old_seq + 1 && p.kind == "rolled-back"),
        "{r:?}"
    );
    assert!(
        !r.problems.iter().any(|p| p.kind == "forged"),
        "the restored head is genuine: {r:?}"
    );
}

/// Wiping every entry, the head and the checkpoint used to verify as "0 checked"; the anchor
/// says how long the chain was.
// covers: CL-142
#[test]
fn a_wiped_chain_is_detected_by_the_anchor() {
    let mut sim = with_entries(9);
    sim.state_mut().kvs.retain(|k, _| {
        !(k.starts_with("audit-event:") || k == "audit-head" || k == "audit-checkpoint")
    });
    let r = verify(&mut sim);
    assert!(!r.ok, "a wiped chain verified: {r:?}");
    assert_eq!(r.checked, 0);
    assert!(
        r.problems
            .iter()
            .any(|p| p.seq == 1 && p.kind == "rolled-back"),
        "{r:?}"
    );
    let res = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(ADMIN));
    assert_eq!(res.ok().unwrap()["ok"], false);
}

/// A secrets outage while verifying is "could not verify: unavailable", never "forged".
// covers: CL-142
#[test]
fn a_secrets_outage_during_verification_is_unverifiable_not_forged() {
    use host_sim::faults::{Fault, FaultPlan, Service};
    for nth in 1..=2 {
        let mut sim = with_entries(4);
        sim.next_plan = FaultPlan::service(
            Service::Secrets,
            nth,
            Fault::Status {
                status: 503,
                retry_after_s: None,
            },
        );
        let rec = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(ADMIN));
        match &rec.outcome {
            host_sim::runtime::RawOutcome::Err(e) => {
                assert_eq!(e.code, "AUDIT_UNVERIFIABLE", "secrets call {nth}: {e:?}");
                assert!(
                    e.message.starts_with("could not verify: unavailable"),
                    "{}",
                    e.message
                );
            }
            other => panic!("secrets call {nth} failing gave {other:?}"),
        }
        // Once secret storage answers, the chain verifies.
        let again = sim.resolve("admin.audit.verify", &serde_json::json!({}), Some(ADMIN));
        assert_eq!(again.ok().unwrap()["ok"], true);
    }
}

/// Intake configuration and auto-approval policy changes are audited like governance: each
/// save (and a policy delete) appends an entry naming what changed, in the same transaction.
// covers: CL-038, CL-140
#[test]
fn intake_configuration_and_auto_approval_policy_changes_are_audited() {
    use serde_json::json;
    let mut sim = basic();
    let setup = audit_of(&sim, "intake_config_updated");
    assert_eq!(setup.len(), 1, "the setup's save is audited");
    assert_eq!(setup[0]["actor"], ADMIN);
    let mut cfg = ok(&mut sim, "admin.intake.get", json!({}), ADMIN)["config"].clone();
    cfg["approvals"]["escalationAfterHours"] = json!(24);
    ok(&mut sim, "admin.intake.set", cfg, ADMIN);
    let entries = audit_of(&sim, "intake_config_updated");
    assert_eq!(entries.len(), 2);
    let last = entries.iter().max_by_key(|e| e["seq"].as_u64()).unwrap();
    assert_eq!(last["data"]["changed"], json!(["approvals"]), "{last}");
    assert_eq!(
        (last["data"]["from"].as_u64(), last["data"]["to"].as_u64()),
        (Some(1), Some(2))
    );

    let policy = json!({"id": "copilot-eng", "name": "Copilot for engineers", "projectKey": "AIR",
        "toolId": "github-copilot", "autoApprove": true, "allowedGroups": ["engineering"], "maxDays": 90});
    ok(&mut sim, "admin.policies.save", policy.clone(), ADMIN);
    let mut changed = policy.clone();
    changed["maxDays"] = json!(30);
    ok(&mut sim, "admin.policies.save", changed, ADMIN);
    ok(
        &mut sim,
        "admin.policies.delete",
        json!({"id": "copilot-eng"}),
        ADMIN,
    );
    let mut saved = audit_of(&sim, "approval_policy_saved");
    saved.sort_by_key(|e| e["seq"].as_u64());
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0]["data"]["created"], true);
    assert_eq!(
        saved[1]["data"]["changed"],
        json!(["maxDays"]),
        "{}",
        saved[1]
    );
    assert_eq!(saved[1]["data"]["policy"]["maxDays"], 30);
    assert_eq!(saved[1]["subject"]["policyId"], "copilot-eng");
    let deleted = audit_of(&sim, "approval_policy_deleted");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["data"]["version"], 2);
    assert!(verify(&mut sim).ok);
}

/// Governance-log search honours `from`, `to`, `q` and `limit`, newest first, and pages on with
/// its cursor.
// covers: CL-143
#[test]
fn governance_log_search_is_newest_first_and_honours_from_to_q_and_limit() {
    use serde_json::json;
    let mut sim = with_entries(9);
    let all = ok(&mut sim, "admin.audit.search", json!({}), ADMIN);
    let seqs: Vec<u64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.len() >= 9);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );

    // limit, then the cursor continues below.
    let page = ok(&mut sim, "admin.audit.search", json!({"limit": 3}), ADMIN);
    let first: Vec<u64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(first, seqs[..3]);
    let cursor = page["nextCursor"]
        .as_str()
        .expect("more to come")
        .to_string();
    let more = ok(
        &mut sim,
        "admin.audit.search",
        json!({"limit": 3, "cursor": cursor}),
        ADMIN,
    );
    assert_eq!(more["items"][0]["seq"].as_u64(), Some(seqs[3]));
    assert_eq!(
        sim.resolve("admin.audit.search", &json!({"limit": 0}), Some(ADMIN))
            .error_code(),
        Some("LIMIT_INVALID")
    );

    // q: free text over the entry (here the tool id in the data).
    let q = ok(
        &mut sim,
        "admin.audit.search",
        json!({"q": "CLAUDE-TEAM"}),
        ADMIN,
    );
    let items = q["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for h in items {
        let e = ok(&mut sim, "admin.audit.get", json!({"seq": h["seq"]}), ADMIN)["entry"].clone();
        assert!(e.to_string().to_lowercase().contains("claude-team"), "{e}");
    }

    // from / to: move some entries' times apart, then window on them.
    for (seq, at) in [
        (1u64, "2026-09-30T10:00:00.000Z"),
        (2, "2026-10-01T10:00:00.000Z"),
        (3, "2026-10-02T10:00:00.000Z"),
    ] {
        let key = format!("audit-event:{seq:012}");
        let mut e = kvs_value(&sim, &key).unwrap();
        e["at"] = json!(at);
        put(&mut sim, &key, &e);
    }
    let w = ok(
        &mut sim,
        "admin.audit.search",
        json!({"from": "2026-10-01", "to": "2026-10-02"}),
        ADMIN,
    );
    let got: Vec<u64> = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(got, [3, 2], "{w}");
}
