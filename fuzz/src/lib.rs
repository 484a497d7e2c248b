//! The logic of ropewalk's fuzz targets, one module per target.
//!
//! Each module's `run(data)` is the whole target: it must never panic, hang or allocate without
//! bound on any input, and panics when one of its oracles finds a bug. The libFuzzer binaries
//! in `fuzz_targets/` only call it; `tests/regressions.rs` replays the saved inputs of
//! `regressions/<target>/` through it on stable Rust.

pub mod client_conn;
pub mod frame_parse;
pub mod hpack_decode;
pub mod server_conn;
