//! Builds the guest component for wasm32-wasip2 (profile `guest`) and tells the crate where it is
//! (`AICLEARANCE_COMPONENT`), the way wasmtime's test-programs build script ties guest programs to
//! the tests that run them. Installs the target with rustup when it is missing: machines with
//! RUSTUP_AUTO_INSTALL=0 do not install `targets` from rust-toolchain.toml.

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
