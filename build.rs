//! Links the `agentmux` binary with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR) where the toolchain and C library support them.
//!
//! Why: the binary is position independent, and its tens of thousands of relative relocations
//! fill a `.rela.dyn` of over a megabyte that the dynamic loader reads whole at every start, so
//! every agentmux process (supervisor and each agent) would carry it resident. Packed, the table
//! is a few kilobytes. Nothing else changes: same code, same ASLR.
//!
//! The flag needs GNU ld 2.38+ (or lld) and glibc 2.36+ at run time, so it is used only when a
//! probe program links with it (warnings fatal, so an older ld that would ignore it says no) and
//! then runs. Cross builds skip the probe.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if packed_relocations_work() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

fn packed_relocations_work() -> bool {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("CARGO_CFG_TARGET_OS") != "linux"
        || env("CARGO_CFG_TARGET_ENV") != "gnu"
        || env("TARGET") != env("HOST")
    {
        return false;
    }
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let src = out_dir.join("relr_probe.c");
    let exe = out_dir.join("relr_probe");
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let linked = Command::new(cc)
        .args([
            "-fPIE",
            "-pie",
            "-Wl,-z,pack-relative-relocs",
            "-Wl,--fatal-warnings",
        ])
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    linked
        && Command::new(&exe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
