//! HPACK decoder fuzz target: see `ropewalk_fuzz::hpack_decode` for the input format and the
//! oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ropewalk_fuzz::hpack_decode::run(data));
