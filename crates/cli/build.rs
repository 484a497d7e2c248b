//! Link-time layout of the `ropewalk` binary.
//!
//! The kernel maps a binary's pages 64 KiB at a time around each first
//! touch ("fault-around"), so a process's resident size follows how many of
//! those windows its code and read-only data touch, not how much it runs.
//! In the default layout the few hundred functions that start and run a
//! server are spread over most of the binary's 4 MiB of code, between the
//! parts it never runs (the client, brotli and zstd, `--help`).
//!
//! `layout/hot-symbols.txt`, written by `bench/layout.py` from a profile of
//! the server under load, lists the functions it ran and the read-only data
//! they read. The linker places them first, together, which takes the
//! binary's resident pages after a benchmark run (S1) from 3.7 MiB to 1.6 MiB
//! (see bench/README.md). Relative relocations are packed (`DT_RELR`), so the
//! dynamic loader reads about 8 KiB of them at start instead of 140 KiB.
//!
//! Both are linker options of LLD, the default linker of
//! `x86_64-unknown-linux-gnu` since Rust 1.90. With any other target, an older
//! compiler or a linker of one's own, nothing is added and the build is the
//! usual one. A list made by another compiler or for other dependency
//! versions names symbols that no longer exist: the linker ignores them, and
//! only the layout suffers (`python3 bench/layout.py --check` tells).

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("layout/hot-symbols.txt");
    println!("cargo:rerun-if-changed={}", list.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if !linker_is_default_lld() {
        return;
    }
    if list.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    // glibc reads packed relocations since 2.36; an older one would refuse
    // to start the binary.
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The target links with rustc's own LLD, as `x86_64-unknown-linux-gnu`
/// does by default from Rust 1.90 (when the compiler ships it), and nobody
/// chose another linker.
fn linker_is_default_lld() -> bool {
    if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
        return false;
    }
    if env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker")
        || flags.contains("link-self-contained")
        || flags.contains("fuse-ld")
    {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(&rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_none_or(|m| m < 90) {
        return false;
    }
    // Some distributions' compilers ship without their own LLD (and link
    // with the system's linker): then it is not in the sysroot.
    let Ok(out) = Command::new(&rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout);
    Path::new(sysroot.trim())
        .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld")
        .exists()
}

/// The build machine's glibc (the one the binary is linked against when
/// host and target are the same) is at least `major.minor`.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    if env::var("HOST").ok() != env::var("TARGET").ok() {
        return false;
    }
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}
