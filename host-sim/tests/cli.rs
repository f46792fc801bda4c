//! The command-line simulator, run as a user runs it.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn site_dir() -> PathBuf {
    root().join("fixtures/default")
}

/// The CLI's replay command exits non-zero with a readable diff when the golden file is wrong.
#[test]
fn cli_replay_fails_on_an_altered_golden_file() {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(site_dir().join("expected/state.json")).unwrap(),
    )
    .unwrap();
    let mut altered = golden.clone();
    altered["rejections"][0]["code"] = json!("SOMETHING_ELSE");
    let tmp = std::env::temp_dir().join(format!("altered-golden-{}.json", std::process::id()));
    std::fs::write(&tmp, altered.to_string()).unwrap();
    // Cargo builds the binary for this package's integration tests and names it here.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_host-sim"));
    let run = |expect: &std::path::Path| {
        std::process::Command::new(&bin)
            .current_dir(root())
            .args(["replay", "fixtures/default/events", "--expect"])
            .arg(expect)
            .output()
            .unwrap()
    };
    let bad = run(&tmp);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(
        text.contains("state differs") && text.contains("SOMETHING_ELSE"),
        "{text}"
    );
    let good = run(&site_dir().join("expected/state.json"));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    std::fs::remove_file(tmp).ok();
}

/// `run` (the README's main command) shows approval paths progressing, and the outbox and the
/// hook inbox are inspectable afterwards.
#[test]
fn run_shows_approval_paths_and_the_outbox_and_hooks_commands_read_them() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_host-sim"));
    let state = std::env::temp_dir().join(format!("cli-run-{}", std::process::id()));
    let cmd = |args: &[&str]| {
        let out = std::process::Command::new(&bin)
            .current_dir(root())
            .arg("--state")
            .arg(&state)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let t = cmd(&["run"]);
    for needle in [
        "AIR-1: decision recorded; waiting for AI approvers",
        "AIR-8: denied",
        "bulk: 2 decided, 2 refused — AIR-2 approved, AIR-6 approved, AIR-1 REQUEST_NOT_PENDING, AIR-404 REQUEST_NOT_FOUND",
        "error GRANT_CONFLICT",
        "error BULK_RATE_LIMITED",
        "would not auto-approve: policy copilot-engineering v1 fails duration",
        "job g-10101.provision.1 (provision) succeeded; grant now active",
        "admin.connectors.bindTool as Ada Okafor",
        "ArdSaor Core will fail its next 1 call(s)",
        "2 open drift: missing j***@acme.example (chatgpt-enterprise), orphan t***@acme.example (chatgpt-enterprise)",
        "newest first: chatgpt-enterprise repair ok: 1 orphan(s), 1 missing, 2 repaired; chatgpt-enterprise reportOnly ok: 1 orphan(s), 1 missing, 0 repaired",
        "error EXTENSION_OVER_LIFETIME",
        "(already; nothing changed)",
        "error TOOL_NOT_REQUESTABLE",
        "error UNKNOWN_TOOL_BLOCKED",
        "\"grantsExpired\":1",
        "error EXPORT_RANGE_TOO_LONG",
        "grants: 2 active, 2 pendingProvision, 1 revoked",
        "email \"Standard AI access on AIR-1: approved\" to 1 recipient(s)",
        "AI settings saved: anthropic / claude-sonnet-4-6, key ••••7f3a, status READY",
        "AI step \"Risk read\" SUCCESS: Risk Level:",
        "queue prompt-steps: {\"done\":true}",
    ] {
        assert!(t.contains(needle), "transcript lacks {needle:?}:\n{t}");
    }
    let outbox = cmd(&["outbox"]);
    assert!(
        outbox.contains("to Jonas Lindqvist") && outbox.contains("2 email(s)"),
        "{outbox}"
    );
    // covers: CL-086 (the approved requester is in the tool's Okta group), CL-102 (503 → retry)
    let relay = cmd(&["relay"]);
    assert!(
        relay.contains("\"AI Clearance - ChatGPT Enterprise\"")
            && relay.contains("   jonas.lindqvist@acme.example")
            && relay.contains("/members → 503")
            && relay.contains("/members → 200"),
        "{relay}"
    );
    let hooks = cmd(&["hooks"]);
    assert!(
        hooks.contains("(STEP_DECISION)") && hooks.contains("/iam/apr-"),
        "{hooks}"
    );
    assert!(hooks.contains("0 pending, 0 dead"), "{hooks}");
    std::fs::remove_dir_all(&state).ok();
}
