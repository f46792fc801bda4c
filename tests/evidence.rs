//! Evidence an auditor can check without the installation: signed checkpoints, the witness in
//! Jira, and the per-request evidence pack, verified offline by the Rust verifier
//! (`host-sim audit verify-pack`) and by the standalone Node script an admin hands an auditor
//! (`tools/evidence-verify/verify.mjs`).

mod common;

use common::*;
use host_sim::Sim;
use serde_json::{json, Value};
use std::process::Command;

fn pack_of(sim: &mut Sim, issue: &str) -> String {
    ok(
        sim,
        "admin.audit.evidence",
        json!({"issueKey": issue}),
        ADMIN,
    )["pack"]
        .as_str()
        .unwrap()
        .to_string()
}

fn verifier_key(sim: &mut Sim) -> String {
    ok(sim, "admin.audit.verify", json!({}), ADMIN)["publicKey"]["verifierKey"]
        .as_str()
        .unwrap()
        .to_string()
}

fn node() -> String {
    std::env::var("NODE").unwrap_or_else(|_| "node".into())
}

fn script() -> std::path::PathBuf {
    root().join("tools/evidence-verify/verify.mjs")
}

/// The request's whole life is in its pack (intake, the AI read's hashes, the decision, the
/// grant, provisioning), every entry proven in a signed checkpoint, and both verifiers accept
/// it with only the public key.
// covers: CL-141, CL-142
#[test]
fn an_evidence_pack_from_the_default_site_verifies_offline_with_the_public_key() {
    let mut sim = whole_scenario(&[]);
    let vkey = verifier_key(&mut sim);
    assert!(vkey.starts_with("aiclearance/"), "{vkey}");
    // The request whose path ran the built-in AI risk assessment.
    let with_read = sim
        .state()
        .kvs
        .iter()
        .filter(|(k, _)| k.starts_with("audit-event:"))
        .map(|(_, v)| serde_json::from_str::<Value>(&v.value).unwrap())
        .find(|e| e["type"] == "ai_read_recorded")
        .expect("the default scenario runs an AI read");
    let issue = with_read["issueKey"].as_str().unwrap().to_string();
    assert!(with_read["data"]["promptSha256"].as_str().unwrap().len() == 64);
    assert!(
        !with_read.to_string().contains("## Request"),
        "the audit keeps hashes of the prompt, never its text"
    );
    let pack = pack_of(&mut sim, &issue);
    let report = aiclearance::audit::pack::verify_pack(&pack, Some(&vkey)).unwrap();
    let kinds: Vec<&str> = report.entries.iter().map(|(_, k)| k.as_str()).collect();
    for want in ["request_created", "ai_read_recorded"] {
        assert!(kinds.contains(&want), "{issue}: {kinds:?}");
    }
    // AIR-1 is approved, granted and provisioned in the scenario.
    let air1 = pack_of(&mut sim, "AIR-1");
    let r1 = aiclearance::audit::pack::verify_pack(&air1, Some(&vkey)).unwrap();
    let kinds: Vec<&str> = r1.entries.iter().map(|(_, k)| k.as_str()).collect();
    for want in [
        "request_created",
        "request_approved",
        "grant_created",
        "provisioning_job_queued",
    ] {
        assert!(kinds.contains(&want), "AIR-1: {kinds:?}");
    }

    // The standalone verifier agrees, with the key and without it.
    let dir = std::env::temp_dir().join(format!("evidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pack.json");
    std::fs::write(&file, &air1).unwrap();
    let out = Command::new(node())
        .arg(script())
        .arg(&file)
        .args(["--key", &vkey])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("VERIFIED"));

    // Another installation's key is refused by both.
    let other = "aiclearance/other/audit+00000000+AQ".to_string() + &"A".repeat(43) + "=";
    assert!(aiclearance::audit::pack::verify_pack(&air1, Some(&other)).is_err());
    let out = Command::new(node())
        .arg(script())
        .arg(&file)
        .args(["--key", &other])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// Every single-byte change to a pack is refused, by the Rust verifier and by the Node script
/// (every byte position, each flipped two ways, in one Node process).
// covers: CL-142
#[test]
fn any_single_byte_change_to_a_pack_is_refused_by_both_verifiers() {
    let mut sim = whole_scenario(&[]);
    let vkey = verifier_key(&mut sim);
    let pack = pack_of(&mut sim, "AIR-1");
    assert!(aiclearance::audit::pack::verify_pack(&pack, Some(&vkey)).is_ok());
    let bytes = pack.as_bytes();
    let mut accepted = Vec::new();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x20] {
            let mut b = bytes.to_vec();
            b[i] ^= flip;
            if let Ok(text) = String::from_utf8(b) {
                // A change only in the final newline's absence is the same document.
                if text == pack.trim_end_matches('\n') {
                    continue;
                }
                if aiclearance::audit::pack::verify_pack(&text, Some(&vkey)).is_ok() {
                    accepted.push(i);
                }
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "changed bytes accepted at {accepted:?}"
    );

    let dir = std::env::temp_dir().join(format!("evidence-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pack.json");
    std::fs::write(&file, &pack).unwrap();
    let harness = format!(
        r#"
import {{ verifyPack }} from {script:?};
import {{ readFileSync }} from 'node:fs';
const pack = readFileSync({file:?});
verifyPack(pack.toString('utf8'), {vkey:?});
let accepted = [], tried = 0;
const dec = new TextDecoder('utf-8', {{ fatal: true }});
for (let i = 0; i < pack.length; i++) for (const flip of [0x01, 0x20]) {{
  const b = Buffer.from(pack); b[i] ^= flip;
  let text; try {{ text = dec.decode(b); }} catch {{ continue; }}
  if (text === pack.toString('utf8').replace(/\n$/, '')) continue;
  tried++;
  try {{ verifyPack(text, {vkey:?}); accepted.push(i); }} catch (e) {{ if (e.constructor.name !== 'NotVerified') throw e; }}
}}
console.log(JSON.stringify({{ tried, accepted }}));
"#,
        script = script().display().to_string(),
        file = file.display().to_string(),
    );
    let out = Command::new(node())
        .args(["--input-type=module", "-e", &harness])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["tried"].as_u64().unwrap() > pack.len() as u64);
    assert_eq!(r["accepted"], json!([]), "Node accepted changed bytes");
}

/// A checkpoint is signed hourly and after an administrator's change, written to the witness
/// in Jira, and refused for a non-admin.
// covers: CL-142, CL-200
#[test]
fn checkpoints_are_signed_after_admin_changes_and_witnessed_in_jira() {
    let mut sim = basic();
    // The setup's intake and catalog saves were admin changes: a checkpoint covers them.
    let s = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
    let head = s["head"]["seq"].as_u64().unwrap();
    assert_eq!(s["checkpoint"]["size"].as_u64(), Some(head), "{s}");
    let witness = sim
        .state()
        .site
        .app_properties
        .get("aiclearance-audit-checkpoint")
        .cloned()
        .expect("witnessed in Jira");
    assert_eq!(witness["size"].as_u64(), Some(head));
    let vkey = s["publicKey"]["verifierKey"].as_str().unwrap();
    let body =
        aiclearance::audit::checkpoint::open(witness["note"].as_str().unwrap(), vkey).unwrap();
    assert_eq!(body.size, head);

    // Requests arrive (not admin actions): the hourly sweep signs the next checkpoint.
    for (_, ev) in all_events().into_iter().take(3) {
        sim.deliver(&ev).unwrap();
    }
    let moved = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
    assert!(moved["head"]["seq"].as_u64().unwrap() > head);
    assert_eq!(moved["checkpoint"]["size"].as_u64(), Some(head));
    sim.advance(3_600_000);
    let after = ok(&mut sim, "admin.audit.verify", json!({}), ADMIN);
    assert_eq!(after["checkpoint"]["size"], after["head"]["seq"], "{after}");
    assert_eq!(
        err(&mut sim, "admin.audit.checkpoint", json!({}), JONAS),
        "ADMIN_REQUIRED"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.audit.evidence",
            json!({"issueKey": "AIR-1"}),
            JONAS
        ),
        "ADMIN_REQUIRED"
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.audit.evidence",
            json!({"issueKey": "NOPE-1"}),
            ADMIN
        ),
        "NO_EVIDENCE"
    );
}
