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
    let r = verify(&mut sim);
    assert!(r.ok, "{r:?}");
    sim
}

fn entry(sim: &Sim, seq: u64) -> Value {
    kvs_value(sim, &format!("audit-event:{seq:012}")).unwrap()
}

fn put(sim: &mut Sim, key: &str, v: &Value) {
    sim.state_mut().kvs.get_mut(key).unwrap().value = v.to_string();
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

/// Appends `n` entries natively, each naming one of four issues (the way decisions do), so a
/// test can reach tile boundaries without ingesting hundreds of requests.
fn grow(sim: &mut Sim, n: u64) {
    grow_as(sim, n, "test_event");
}

fn grow_as(sim: &mut Sim, n: u64, kind: &str) {
    use aiclearance::audit::{commit_with_audit, mac_key, AuditDraft};
    use aiclearance::storage::Store;
    // A history grown in one burst (standing for months of appends) would spend Forge's
    // per-minute KVS budget: it is off while growing, on again for what the test measures.
    let budget = sim.state().kvs_budget.clone();
    sim.state_mut().kvs_budget.enforced = false;
    let emu = sim.emu_mut();
    emu.begin("grow", None, 900, Default::default());
    {
        let host = host_sim::runtime::native::NativeHost::new(&mut *emu);
        let store = Store::new(&host);
        let key = mac_key(store, None).unwrap();
        for i in 0..n {
            let mut d = AuditDraft::new(kind, "app");
            d.issue_key = Some(format!("AIR-{}", 100 + i % 4));
            d.data = serde_json::json!({"i": i});
            commit_with_audit(store, &key, None, &[d], |_| Ok(())).unwrap();
        }
    }
    emu.end();
    sim.state_mut().kvs_budget = budget;
}

fn head_seq(sim: &Sim) -> u64 {
    kvs_value(sim, "audit-head").unwrap()["seq"]
        .as_u64()
        .unwrap()
}

fn sign(sim: &mut Sim) -> Value {
    ok(sim, "admin.audit.checkpoint", serde_json::json!({}), ADMIN)
}

/// The storage an attacker can copy and restore: KVS, and secret storage too for the stronger
/// attacker. Jira (the witness) is out of their reach.
struct Snapshot {
    kvs: std::collections::BTreeMap<String, host_sim::emulator::Stored>,
    secrets: std::collections::BTreeMap<String, String>,
}

fn snapshot(sim: &Sim) -> Snapshot {
    Snapshot {
        kvs: sim.state().kvs.clone(),
        secrets: sim.state().secrets.clone(),
    }
}

fn restore_audit_kvs(sim: &mut Sim, s: &Snapshot) {
    let audit = |k: &str| k.starts_with("audit-");
    sim.state_mut().kvs.retain(|k, _| !audit(k));
    for (k, v) in &s.kvs {
        if audit(k) {
            sim.state_mut().kvs.insert(k.clone(), v.clone());
        }
    }
}

/// The next ordinary write (an admin saving a catalog tool) after tampering: refused with
/// `AUDIT_BROKEN`, and the tool is left as it was.
fn next_write_is_refused(sim: &mut Sim) {
    let tools = ok(sim, "admin.catalog.list", serde_json::json!({}), ADMIN)["tools"].clone();
    let mut tool = tools[0].clone();
    let id = tool["id"].as_str().unwrap().to_string();
    let before = sim.state().kvs.get(&format!("tool:{id}")).cloned();
    tool["guidance"] = serde_json::json!("changed on top of a broken chain");
    let rec = sim.resolve("admin.catalog.upsert", &tool, Some(ADMIN));
    assert_eq!(rec.error_code(), Some("AUDIT_BROKEN"), "{:?}", rec.outcome);
    assert_eq!(
        sim.state().kvs.get(&format!("tool:{id}")).cloned(),
        before,
        "nothing is written on top of a broken chain"
    );
    assert!(
        kvs_value(sim, "audit-broken").is_some(),
        "the admin sees the break"
    );
}

type Tamper = fn(&mut Sim);
type Rollback = fn(&mut Sim, &Snapshot);

/// Every way to tamper with the trail the threat model names, each detected by the verifier
/// with the problem kind an administrator is shown (19 cases; the write-refusal cases also
/// check that the app builds nothing on top). Each starts from 9 ingested requests plus 300
/// generated entries (past two level-0 tiles) and a signed, witnessed checkpoint.
// covers: CL-142
#[test]
fn every_kind_of_tampering_is_detected() {
    let cases: Vec<(&str, &str, Tamper)> = vec![
        ("edit an entry's content", "edited", |sim| {
            let mut e = entry(sim, 4);
            e["data"]["durationDays"] = serde_json::json!(180);
            put(sim, "audit-event:000000000004", &e);
        }),
        ("edit an entry and recompute its hash", "forged", |sim| {
            let mut e = entry(sim, 3);
            e["actor"] = serde_json::json!("someone-else");
            let mut without = e.clone();
            without.as_object_mut().unwrap().remove("entryHash");
            without.as_object_mut().unwrap().remove("entryMac");
            use sha2::Digest;
            let h = sha2::Sha256::digest(aiclearance::audit::canonical_json(&without).as_bytes());
            e["entryHash"] = serde_json::json!(aiclearance::audit::chain::hex(&h));
            put(sim, "audit-event:000000000003", &e);
        }),
        ("delete an entry", "missing", |sim| {
            sim.state_mut().kvs.remove("audit-event:000000000005");
        }),
        ("swap two entries", "reordered", |sim| {
            let (a, b) = (entry(sim, 2), entry(sim, 3));
            put(sim, "audit-event:000000000002", &b);
            put(sim, "audit-event:000000000003", &a);
        }),
        ("insert an entry in the middle", "broken-link", |sim| {
            // Shift entries 50.. up by one and put a copy of entry 49 in the gap.
            let n = head_seq(sim);
            for seq in (50..=n).rev() {
                let v = sim
                    .state()
                    .kvs
                    .get(&format!("audit-event:{seq:012}"))
                    .cloned()
                    .unwrap();
                sim.state_mut()
                    .kvs
                    .insert(format!("audit-event:{:012}", seq + 1), v);
            }
            let copy = sim
                .state()
                .kvs
                .get("audit-event:000000000049")
                .cloned()
                .unwrap();
            sim.state_mut()
                .kvs
                .insert("audit-event:000000000050".into(), copy);
        }),
        ("append an entry beyond the head", "head-mismatch", |sim| {
            let n = head_seq(sim);
            let mut e = entry(sim, n);
            e["seq"] = serde_json::json!(n + 1);
            sim.state_mut().kvs.insert(
                format!("audit-event:{:012}", n + 1),
                host_sim::emulator::Stored {
                    value: e.to_string(),
                    expires_at_ms: None,
                },
            );
        }),
        ("truncate the tail, head untouched", "missing", |sim| {
            let n = head_seq(sim);
            for seq in n - 2..=n {
                sim.state_mut()
                    .kvs
                    .remove(&format!("audit-event:{seq:012}"));
            }
        }),
        ("forge the head's root", "forged", |sim| {
            let mut h = kvs_value(sim, "audit-head").unwrap();
            h["rootHash"] = serde_json::json!(aiclearance::audit::tiles::b64(&[7u8; 32]));
            put(sim, "audit-head", &h);
        }),
        ("edit a leaf in a stored tile", "tile-mismatch", |sim| {
            let t: String =
                serde_json::from_value(kvs_value(sim, "audit-tile:0:0000000000").unwrap()).unwrap();
            let mut hashes = aiclearance::audit::tiles::decode(&t).unwrap();
            hashes[10] = [9u8; 32];
            put(
                sim,
                "audit-tile:0:0000000000",
                &serde_json::json!(aiclearance::audit::tiles::encode(&hashes)),
            );
        }),
        ("edit a subtree in an upper tile", "tile-mismatch", |sim| {
            let t: String =
                serde_json::from_value(kvs_value(sim, "audit-tile:1:0000000000").unwrap()).unwrap();
            let mut hashes = aiclearance::audit::tiles::decode(&t).unwrap();
            hashes[0] = [9u8; 32];
            put(
                sim,
                "audit-tile:1:0000000000",
                &serde_json::json!(aiclearance::audit::tiles::encode(&hashes)),
            );
        }),
        (
            "forge the latest checkpoint's signature",
            "bad-signature",
            |sim| {
                let mut c = kvs_value(sim, "audit-checkpoint-latest").unwrap();
                let note = c["note"].as_str().unwrap().replacen('\n', "\n1", 1);
                c["note"] = serde_json::json!(note);
                put(sim, "audit-checkpoint-latest", &c);
            },
        ),
        (
            "a checkpoint from another installation",
            "bad-signature",
            |sim| {
                use aiclearance::audit::checkpoint::{Body, Signer25519};
                let other = Signer25519::from_seed("aiclearance/another-site/audit", [3; 32]);
                let mut c = kvs_value(sim, "audit-checkpoint-latest").unwrap();
                let body = Body {
                    origin: other.name.clone(),
                    size: c["size"].as_u64().unwrap(),
                    root: aiclearance::audit::tiles::unb64(c["rootHash"].as_str().unwrap())
                        .unwrap(),
                    time: "2026-12-07T05:00:00.000Z".into(),
                };
                c["note"] = serde_json::json!(other.sign(&body));
                put(sim, "audit-checkpoint-latest", &c);
            },
        ),
        ("forge a retention point", "forged", |sim| {
            let e = entry(sim, 20);
            let rp = serde_json::json!({"seq": 20, "entryHash": e["entryHash"], "macKeyId": e["macKeyId"], "mac": "00".repeat(32)});
            sim.state_mut().kvs.insert(
                "audit-retention-point".into(),
                host_sim::emulator::Stored {
                    value: rp.to_string(),
                    expires_at_ms: None,
                },
            );
        }),
    ];
    let rollbacks: Vec<(&str, Rollback)> = vec![
        (
            "restore an older genuine head and drop the tail",
            |sim, old| restore_audit_kvs(sim, old),
        ),
        ("wipe every audit record in KVS", |sim, _| {
            sim.state_mut().kvs.retain(|k, _| !k.starts_with("audit-"));
        }),
        (
            "delete the MAC key (and its anchor) from secret storage",
            |sim, _| {
                sim.state_mut()
                    .secrets
                    .retain(|k, _| !k.starts_with("audit-mac-key:"));
            },
        ),
        ("roll back KVS and secret storage together", |sim, old| {
            restore_audit_kvs(sim, old);
            sim.state_mut().secrets = old.secrets.clone();
        }),
        ("rewrite history with the stolen key", |sim, old| {
            // KVS and secrets restored to the older state, then the same number of entries
            // appended again with the real key: a consistent-looking chain without the
            // entries the witness saw.
            let n = head_seq(sim);
            restore_audit_kvs(sim, old);
            sim.state_mut().secrets = old.secrets.clone();
            let k = head_seq(sim);
            grow_as(sim, n - k, "rewritten");
        }),
        (
            "replace the witness in Jira with another installation's checkpoint",
            |sim, _| {
                use aiclearance::audit::checkpoint::{Body, Signer25519};
                let other = Signer25519::from_seed("aiclearance/another-site/audit", [3; 32]);
                let body = Body {
                    origin: other.name.clone(),
                    size: 1,
                    root: [1; 32],
                    time: String::new(),
                };
                sim.state_mut().site.app_properties.insert(
                    "aiclearance-audit-checkpoint".into(),
                    serde_json::json!({"size": 1, "rootHash": "", "note": other.sign(&body)}),
                );
            },
        ),
    ];
    let base = {
        let mut sim = with_entries(9);
        grow(&mut sim, 300);
        sign(&mut sim);
        assert!(verify(&mut sim).ok);
        sim
    };
    let mut detected = 0;
    for (what, kind, tamper) in &cases {
        let mut sim = clone_sim(&base);
        tamper(&mut sim);
        let r = verify(&mut sim);
        assert!(!r.ok, "{what}: went unnoticed");
        assert!(
            r.problems.iter().any(|p| p.kind == *kind),
            "{what}: expected {kind}, got {:?}",
            r.problems
        );
        detected += 1;
    }
    // Rollbacks: the chain as it was before 20 more entries and a witnessed checkpoint.
    for (what, tamper) in &rollbacks {
        let mut sim = clone_sim(&base);
        let old = snapshot(&sim);
        grow(&mut sim, 20);
        sign(&mut sim);
        tamper(&mut sim, &old);
        let r = verify(&mut sim);
        assert!(!r.ok, "{what}: went unnoticed");
        assert!(
            r.problems
                .iter()
                .any(|p| ["rolled-back", "forged", "bad-signature"].contains(&p.kind.as_str())),
            "{what}: {:?}",
            r.problems
        );
        detected += 1;
        // The app never builds on it: an ordinary write is refused and the break recorded,
        // except where the attacker held the key and could make the head look genuine (the
        // witness still disagrees, and the hourly checkpoint refuses to sign it).
        if what.contains("together") || what.contains("stolen") {
            let rec = sim.resolve(
                "admin.audit.checkpoint",
                &serde_json::json!({}),
                Some(ADMIN),
            );
            assert_eq!(
                rec.error_code(),
                Some("AUDIT_BROKEN"),
                "{what}: {:?}",
                rec.outcome
            );
        } else if !what.contains("witness") {
            next_write_is_refused(&mut sim);
            // And it stays detected after the refused write.
            assert!(
                !verify(&mut sim).ok,
                "{what}: detected only until the next write"
            );
        }
    }
    assert_eq!(detected, 19);
}

fn clone_sim(base: &Sim) -> Sim {
    let mut sim = basic();
    *sim.state_mut() = base.state().clone();
    sim
}

/// The verification job walks in slices, each inside its read budget, and reports "verified up
/// to entry N"; the next run only reads what was appended since.
// covers: CL-142
#[test]
fn verification_runs_as_a_resumable_job_and_then_only_reads_new_entries() {
    use serde_json::json;
    let mut sim = with_entries(9);
    grow(&mut sim, 2_000);
    let n = head_seq(&sim);
    let started = ok(
        &mut sim,
        "admin.audit.verify",
        json!({"action": "start", "mode": "full"}),
        ADMIN,
    );
    assert_eq!(started["run"]["target"], n);
    assert_eq!(
        err(&mut sim, "admin.audit.verify", json!({}), JONAS),
        "ADMIN_REQUIRED"
    );
    let mut slices = 0;
    for _ in 0..20 {
        let recs = sim.advance(61_000);
        for r in recs.iter().filter(|r| r.label.contains("audit-work")) {
            slices += 1;
            assert!(
                r.counts.total < 400,
                "one slice read {} times",
                r.counts.total
            );
        }
        let s = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
        if s["run"].is_null() {
            break;
        }
    }
    let s = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
    assert_eq!(s["last"]["ok"], true, "{s}");
    assert_eq!(s["verified"]["size"], n);
    assert_eq!(s["last"]["checked"], n);
    assert!(slices >= 1);
    // The status read is one call.
    let rec = sim.resolve("admin.audit.verify", &json!({}), Some(ADMIN));
    assert!(rec.counts.total <= 3, "{:?}", rec.counts);

    // New entries: a `new` run checks only those.
    grow(&mut sim, 30);
    ok(
        &mut sim,
        "admin.audit.verify",
        json!({"action": "start"}),
        ADMIN,
    );
    sim.advance(61_000);
    let s = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
    assert_eq!(s["last"]["ok"], true, "{s}");
    assert_eq!(s["last"]["checked"], 30);
    assert_eq!(s["verified"]["size"], n + 30);

    // Tampering with an already verified entry is found by a full run, not hidden by `new`.
    sim.state_mut().kvs.remove("audit-event:000000000007");
    ok(
        &mut sim,
        "admin.audit.verify",
        json!({"action": "start", "mode": "full"}),
        ADMIN,
    );
    for _ in 0..20 {
        sim.advance(61_000);
    }
    let s = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
    assert_eq!(s["last"]["ok"], false, "{s}");
    assert_eq!(
        s["verified"]["size"],
        n + 30,
        "a failed run does not move the verified mark"
    );
    assert!(s["last"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["seq"] == 7));
}

/// A secrets outage while a run starts is "could not verify: unavailable", never "forged".
// covers: CL-142
#[test]
fn a_secrets_outage_during_verification_is_unverifiable_not_forged() {
    use host_sim::faults::{Fault, FaultPlan, Service};
    let mut sim = with_entries(4);
    // The retention point's key lookup is the first secrets call of a full run's start.
    let e = entry(&sim, 2);
    sim.state_mut().kvs.insert(
        "audit-retention-point".into(),
        host_sim::emulator::Stored { value: serde_json::json!({"seq": 1, "entryHash": e["prevHash"], "macKeyId": e["macKeyId"], "mac": ""}).to_string(), expires_at_ms: None },
    );
    sim.next_plan = FaultPlan::service(
        Service::Secrets,
        1,
        Fault::Status {
            status: 503,
            retry_after_s: None,
        },
    );
    let rec = sim.resolve(
        "admin.audit.verify",
        &serde_json::json!({"action": "start", "mode": "full"}),
        Some(ADMIN),
    );
    match &rec.outcome {
        host_sim::runtime::RawOutcome::Err(e) => {
            assert_eq!(e.code, "AUDIT_UNVERIFIABLE", "{e:?}");
        }
        other => panic!("a secrets outage gave {other:?}"),
    }
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
