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

/// The browser test files, each with the site it starts on (its first line:
/// `// console-site: scenario` or `// console-site: empty`).
fn test_files(dir: &Path) -> Vec<(String, common::console::SiteStart)> {
    let mut files: Vec<(String, common::console::SiteStart)> = std::fs::read_dir(dir)
        .expect("static/ui/tests")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".test.mjs"))
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap();
            let how = match text
                .lines()
                .find_map(|l| l.trim().strip_prefix("// console-site:"))
            {
                Some(s) if s.trim() == "empty" => common::console::SiteStart::Empty,
                Some(s) if s.trim() == "scenario" => common::console::SiteStart::Scenario,
                other => panic!(
                    "{n}: first line must be `// console-site: scenario|empty`, found {other:?}"
                ),
            };
            (n, how)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

#[test]
fn screens_work_in_a_real_browser_against_host_sim_serve() {
    ensure_chromium();
    let ui = common::root().join("static/ui");
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "static/ui's packages are installed by host-sim's build script"
    );
    let shots = common::root().join("target/ui-screenshots");
    let files = test_files(&ui.join("tests"));
    assert!(!files.is_empty(), "no browser test files");
    let mut failures = Vec::new();
    let mut total_passed = 0;
    // One fresh console per file: each file is one story on its own site.
    for (file, how) in &files {
        let c =
            common::console::start_on(&format!("ui-{}", file.trim_end_matches(".test.mjs")), *how);
        let out = Command::new("node")
            .args(["--test", "--test-reporter=spec", &format!("tests/{file}")])
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
        println!("── {file} ({how:?} site)\n{text}");
        let passed = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("ℹ pass "))
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0);
        total_passed += passed;
        // The runner must have run tests, not zero.
        if !out.status.success() || passed == 0 {
            failures.push(format!("{file}:\n{text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "browser tests failed:\n{}",
        failures.join("\n")
    );
    assert!(
        total_passed >= 10,
        "expected at least the 10 screens tests to pass, {total_passed} did"
    );
    assert!(shots.join("issue-panel-teaser.png").exists());
}
