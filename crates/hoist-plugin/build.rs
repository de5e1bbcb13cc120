//! Builds the wasm guests in `plugins/` (first-party plugins and test guests) for
//! `wasm32-wasip2` and tells the crate where they are (`HOIST_GUEST_<NAME>`).
//!
//! The guests use their own target directory (`<target>/guests`, shared by debug and
//! release host builds) so the inner cargo never waits on the outer one's lock.
//! Host-only flags are cleared so they do not leak into the wasm link.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUESTS: &[&str] = &[
    "env",
    "acr",
    "ecr",
    "gar",
    "ibm",
    "docker-config",
    "profile-dockerhub",
    "profile-acr",
    "profile-ghcr",
    "profile-ecr",
    "profile-gar",
    "profile-ibm",
    "profile-generic",
    "example-myreg",
    "test-hostile",
    "test-sockets",
];

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let plugins = manifest_dir.join("../../plugins");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .filter(|t| t.join("CACHEDIR.TAG").exists())
        .map(|t| t.join("guests"))
        .unwrap_or_else(|| out_dir.join("guests"));

    for p in ["wit", "Cargo.toml", "Cargo.lock", "guest-rt"] {
        println!("cargo:rerun-if-changed={}", plugins.join(p).display());
    }
    for g in GUESTS {
        for p in ["src", "Cargo.toml", "manifest.json"] {
            println!(
                "cargo:rerun-if-changed={}",
                plugins.join(g).join(p).display()
            );
        }
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg("wasm32-wasip2")
        .arg("--workspace")
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir);
    if plugins.join("Cargo.lock").exists() {
        cmd.arg("--locked");
    }
    pin_toolchain(&mut cmd);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo for the wasm guests: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint =
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
                "\nhint: run `rustup target add wasm32-wasip2` (or .ci/setup)"
            } else {
                ""
            };
        panic!(
            "building the wasm guests in {} failed:\n{stderr}{hint}",
            plugins.display()
        );
    }
    let artifacts = target_dir.join("wasm32-wasip2").join("release");
    for g in GUESTS {
        let file = artifacts.join(format!("{}.wasm", g.replace('-', "_")));
        assert!(
            exists(&file),
            "guest {g} was built but {} is missing",
            file.display()
        );
        let var = format!("HOIST_GUEST_{}", g.replace('-', "_").to_ascii_uppercase());
        println!("cargo:rustc-env={var}={}", file.display());
    }
}

/// Makes the inner cargo compile with the outer build's compiler. `$CARGO` is the
/// toolchain's own cargo, but the `rustc` it finds on `PATH` is rustup's proxy, which
/// would pick the default toolchain (possibly one that is not installed). So `RUSTC`
/// (cargo gives build scripts the compiler it resolved) is passed on, and
/// `RUSTUP_TOOLCHAIN` is kept, or derived from a `.../toolchains/<name>/bin/rustc` path.
fn pin_toolchain(cmd: &mut Command) {
    println!("cargo:rerun-if-env-changed=RUSTUP_TOOLCHAIN");
    let rustc = std::env::var_os("RUSTC").map(PathBuf::from);
    if let Some(rustc) = &rustc {
        cmd.env("RUSTC", rustc);
    }
    let toolchain = std::env::var_os("RUSTUP_TOOLCHAIN").or_else(|| {
        let bin = rustc.as_deref()?.parent()?;
        let dir = bin.parent()?;
        (bin.file_name()? == "bin" && dir.parent()?.file_name()? == "toolchains")
            .then(|| dir.file_name())
            .flatten()
            .map(Into::into)
    });
    if let Some(t) = toolchain {
        cmd.env("RUSTUP_TOOLCHAIN", t);
    }
}

fn exists(p: &Path) -> bool {
    p.is_file()
}
