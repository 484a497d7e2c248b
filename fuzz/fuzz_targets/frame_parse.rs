//! Frame parser fuzz target: see `ropewalk_fuzz::frame_parse` for the input format and the
//! oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ropewalk_fuzz::frame_parse::run(data));
