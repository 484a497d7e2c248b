//! Server connection fuzz target: see `ropewalk_fuzz::server_conn` for the input format and the
//! oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ropewalk_fuzz::server_conn::run(data));
