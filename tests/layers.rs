//! The guest's floors point one way: a module may use its own floor and the ones below, never a
//! higher one. The order is written once, here; a `crate::` path that reaches up fails the test
//! with the file, the line and both floors. (Test code inside `#[cfg(test)]` is not checked.)

mod common;

use std::path::Path;

/// Lowest first. A module is matched by its longest listed path (`intake::config` before
/// `intake`); modules on one floor may use each other.
const FLOORS: &[&[&str]] = &[
    &["host", "error", "time", "adf", "weburl", "text"],
    &["storage"],
    &["jira", "names", "access", "ratelimit", "audit"],
    // What the engine and AI Clearance read: the catalog, the request record, intake settings.
    &[
        "catalog",
        "requests",
        "intake::config",
        "intake::snapshot",
        "intake::options",
    ],
    // The approval path engine and its AI Prompt step: general, below AI Clearance.
    &["approvals", "prompt"],
    // AI Clearance's decisions and their provisioning.
    &["clearance", "provisioning"],
    // Entry points.
    &["intake", "intake::ingest", "panel"],
    &["dispatch", "wasm", "lib"],
];

fn floor_of(module_path: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, names) in FLOORS.iter().enumerate() {
        for n in *names {
            let hit = module_path == *n || module_path.starts_with(&format!("{n}::"));
            if hit && best.is_none_or(|(len, _)| n.len() > len) {
                best = Some((n.len(), i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// `guest/src/a/b.rs` → `a::b`; `guest/src/a/mod.rs` → `a`; `guest/src/lib.rs` → `lib`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    parts.join("::")
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::a::b…` path in `code`, with its line, and the paths of `use crate::{a, b::c}`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let item = item.trim();
                    if !item.is_empty() {
                        out.push((n + 1, item.split(" as ").next().unwrap().to_string()));
                    }
                }
            } else {
                let path: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                out.push((n + 1, path.trim_end_matches(':').to_string()));
            }
            rest = &after[1.min(after.len())..];
        }
    }
    out
}

#[test]
fn no_module_imports_from_a_higher_floor() {
    let src = common::root().join("guest/src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut violations = Vec::new();
    let mut unplaced = Vec::new();
    for f in &all {
        let rel = f.strip_prefix(&src).unwrap();
        let me = module_of(rel);
        let Some(my_floor) = floor_of(&me) else {
            unplaced.push(me);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (line, path) in crate_paths(code) {
            // A path names a module and then items; the longest module prefix decides.
            let Some(target) = floor_of(&path) else {
                continue;
            };
            if target > my_floor {
                violations.push(format!(
                    "guest/src/{}:{line}: {me} (floor {my_floor}) uses crate::{path} (floor {target})",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules on no floor (add them to FLOORS in tests/layers.rs): {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "imports that reach up a floor:\n{}",
        violations.join("\n")
    );
}

/// The approval engine in particular never reaches up into AI Clearance (issue 30).
#[test]
fn the_approval_engine_does_not_import_ai_clearance() {
    let src = common::root().join("guest/src/approvals");
    let mut all = Vec::new();
    files(&src, &mut all);
    for f in all {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (line, path) in crate_paths(code) {
            assert!(
                !path.starts_with("clearance") && !path.starts_with("requests"),
                "{}:{line} uses crate::{path}",
                f.display()
            );
        }
    }
}

#[test]
fn the_layer_checker_sees_an_import_that_reaches_up() {
    assert_eq!(
        crate_paths("use crate::{clearance::routing, audit};\nlet x = crate::storage::keys::a;"),
        vec![
            (1, "clearance::routing".to_string()),
            (1, "audit".to_string()),
            (2, "storage::keys::a".to_string())
        ]
    );
    assert!(floor_of("clearance::routing") > floor_of("approvals::store"));
    assert_eq!(floor_of("intake::config"), Some(3));
    assert_eq!(floor_of("intake::ingest"), Some(6));
}
