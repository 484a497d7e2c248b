//! `client_conn`: the [`server_conn`](crate::server_conn) harness with the roles swapped: a
//! client [`Connection`](ropewalk_proto::conn::Connection) that has sent a request, fed
//! arbitrary server bytes in input-chosen chunks, interleaved with clock advances, draining
//! and application commands. Everything the client writes is checked from the server's side.
//!
//! # Input format
//!
//! As for `server_conn` (see its module docs), with these differences:
//!
//! * The wire is what the server sends, from its first byte (its SETTINGS; there is no magic).
//! * Config bit A7 set: no request is sent before the ops run (otherwise a GET with
//!   END_STREAM is); bit B7 means SETTINGS_ENABLE_PUSH (accept pushes) instead of extended
//!   CONNECT.
//! * Op 7 sends a request (GET, or POST if `arg & 1`; a `connection` field if `arg & 6 == 6`;
//!   END_STREAM if `arg & 8`); op 8 changes a stream's priority (PRIORITY_UPDATE). "Stream
//!   `i`" picks among our requests, then the streams the server promised. Server-only ops
//!   (responses, pushes) are refused by the connection and do nothing.
//!
//! # Oracle
//!
//! The `server_conn` oracle, from the server's side: the output starts with the preface and a
//! SETTINGS frame (never ENABLE_CONNECT_PROTOCOL); HEADERS and DATA only on the client's own
//! streams, new stream ids increasing (RFC 9113 §5.1.1); request heads with `:method` and no
//! `:status`; no PUSH_PROMISE; GOAWAY names a server stream (or 0, or 2^31-1); live streams at
//! most the requests made plus twice SETTINGS_MAX_CONCURRENT_STREAMS (reserved and active pushed
//! streams).

/// The whole target.
pub fn run(data: &[u8]) {
    crate::server_conn::run_role(false, data);
}
