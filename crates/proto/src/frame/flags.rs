//! Frame flag bits (RFC 9113 §6).
//!
//! Flags not defined for a frame type are ignored on receipt and never sent
//! (RFC 9113 §4.1).

/// END_STREAM on DATA and HEADERS.
pub const END_STREAM: u8 = 0x1;
/// ACK on SETTINGS and PING (same bit as [`END_STREAM`]).
pub const ACK: u8 = 0x1;
/// END_HEADERS on HEADERS, PUSH_PROMISE and CONTINUATION.
pub const END_HEADERS: u8 = 0x4;
/// PADDED on DATA, HEADERS and PUSH_PROMISE.
pub const PADDED: u8 = 0x8;
/// PRIORITY on HEADERS.
pub const PRIORITY: u8 = 0x20;
