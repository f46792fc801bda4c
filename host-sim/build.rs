//! Builds the guest component for wasm32-wasip2 (profile `guest`) and tells the crate where it is
//! (`AICLEARANCE_COMPONENT`), the way wasmtime's test-programs build script ties guest programs to
//! the tests that run them. Installs the target with rustup when it is missing: machines with
//! RUSTUP_AUTO_INSTALL=0 do not install `targets` from rust-toolchain.toml.
//!
//! It also builds the Custom UI (`static/ui` → `static/ui/dist`, npm + Vite) that `host-sim serve`
//! serves and `forge deploy` uploads, so one `cargo build` makes everything the README runs.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for p in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=AICLEARANCE_SKIP_GUEST_BUILD");

    // The guest gets its own target dir (nested cargo must not wait on the outer build's lock).
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("guest-build");
    let out = target_dir
        .join(TARGET)
        .join("guest")
        .join("aiclearance.wasm");
    if std::env::var_os("AICLEARANCE_SKIP_GUEST_BUILD").is_none() {
        ensure_target();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "-p",
                "aiclearance",
                "--target",
                TARGET,
                "--profile",
                "guest",
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_MAKEFLAGS")
            // Under `cargo clippy` the outer build sets a wrapper; the component build stays a plain build.
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("RUSTC_WRAPPER")
            .status()
            .expect("running cargo to build the guest component");
        assert!(status.success(), "building the guest component failed");
    }
    assert!(
        out.exists(),
        "the guest component {} was not built",
        out.display()
    );
    println!("cargo:rustc-env=AICLEARANCE_COMPONENT={}", out.display());
    build_ui(&root);
}

/// The Custom UI's inputs: a change to any of them rebuilds `static/ui/dist`.
const UI_INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn newest(path: &Path) -> std::time::SystemTime {
    let own = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH);
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| newest(&e.path()))
            .fold(own, std::cmp::max),
        Err(_) => own,
    }
}

fn build_ui(root: &Path) {
    let ui = root.join("static/ui");
    println!("cargo:rerun-if-env-changed=AICLEARANCE_SKIP_UI_BUILD");
    for p in UI_INPUTS {
        println!("cargo:rerun-if-changed={}", ui.join(p).display());
    }
    if std::env::var_os("AICLEARANCE_SKIP_UI_BUILD").is_some() || !ui.join("package.json").exists()
    {
        return;
    }
    let npm = |args: &[&str]| {
        let ok = Command::new("npm")
            .current_dir(&ui)
            .args(args)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "`npm {}` in static/ui failed (Node and npm are needed to build the Custom UI; set AICLEARANCE_SKIP_UI_BUILD=1 to build without it)",
            args.join(" ")
        );
    };
    // Exactly the locked packages, reinstalled whenever the lock changes.
    let installed = ui.join("node_modules/.package-lock.json");
    if newest(&installed) < newest(&ui.join("package-lock.json")) || !installed.exists() {
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    let built = ui.join("dist/index.html");
    let inputs = UI_INPUTS
        .iter()
        .map(|p| newest(&ui.join(p)))
        .max()
        .unwrap_or(std::time::UNIX_EPOCH);
    if !built.exists() || newest(&built) < inputs {
        npm(&["run", "build", "--silent"]);
    }
    assert!(
        built.exists(),
        "the Custom UI build wrote no {}",
        built.display()
    );
}

fn ensure_target() {
    let sysroot = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let installed =
        sysroot.is_some_and(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists());
    if !installed {
        println!("cargo:warning=installing the {TARGET} target with rustup (needed for the guest component)");
        let ok = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "`rustup target add {TARGET}` failed; install it and rebuild"
        );
    }
}
