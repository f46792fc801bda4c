//! The screens in a real browser: `static/ui/tests/*.test.mjs` (node's test runner + playwright-core)
//! drives Debian's Chromium against `host-sim serve` on the default site. This test starts the
//! console, installs Chromium when it is missing and the machine lets it (root + apt), runs the
//! browser tests and fails with their output if any fails. Screenshots land in
//! target/ui-screenshots/ (not committed).

mod common;

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Debian's chromium package, installed once when absent (CI does the same up front).
fn ensure_chromium() {
    if Path::new(CHROMIUM).exists() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    assert!(
        root,
        "{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
    );
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "chromium"][..],
    ] {
        let st = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        assert!(
            st.is_ok_and(|s| s.success()),
            "apt-get {args:?} failed; install chromium by hand"
        );
    }
}

#[test]
fn screens_work_in_a_real_browser_against_host_sim_serve() {
    ensure_chromium();
    let c = common::console::start("ui-browser");
    let ui = common::root().join("static/ui");
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "static/ui's packages are installed by host-sim's build script"
    );
    let shots = common::root().join("target/ui-screenshots");
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "tests/"])
        .current_dir(&ui)
        .env("CONSOLE_URL", c.handle.url())
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", CHROMIUM)
        .output()
        .expect("running node --test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "browser tests failed:\n{text}");
    // The runner must have run the whole story, not zero tests.
    let passed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("ℹ pass "))
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(
        passed.is_some_and(|n| n >= 9),
        "expected the 9 browser tests to pass:\n{text}"
    );
    assert!(shots.join("issue-panel-teaser.png").exists());
}
