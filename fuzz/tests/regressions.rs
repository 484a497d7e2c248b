//! Replays every saved input under `regressions/<target>/` through that target's harness, on
//! stable Rust and without libFuzzer:
//!
//! ```text
//! cargo test --manifest-path fuzz/Cargo.toml --no-default-features
//! ```
//!
//! A crash found by fuzzing becomes a regression test by copying its (minimized) input into
//! `regressions/<target>/` under a descriptive name; see README.md.

use std::panic::catch_unwind;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    paths.sort();
    let mut failed = Vec::new();
    for path in &paths {
        let data = std::fs::read(path).expect("readable input");
        if catch_unwind(|| run(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    println!("{target}: replayed {} saved inputs", paths.len());
    assert!(
        failed.is_empty(),
        "{target}: these saved inputs still fail: {failed:#?}"
    );
}

#[test]
fn hpack_decode() {
    replay("hpack_decode", ropewalk_fuzz::hpack_decode::run);
}

#[test]
fn frame_parse() {
    replay("frame_parse", ropewalk_fuzz::frame_parse::run);
}

#[test]
fn server_conn() {
    replay("server_conn", ropewalk_fuzz::server_conn::run);
}

#[test]
fn client_conn() {
    replay("client_conn", ropewalk_fuzz::client_conn::run);
}
