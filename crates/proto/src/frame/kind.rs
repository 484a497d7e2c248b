//! Frame type codes (RFC 9113 §6 and extension RFCs).
//!
//! [`FrameHead::kind`](super::FrameHead::kind) is a raw `u8` so that unknown
//! types survive parsing (RFC 9113 §4.1, §5.5); compare it against these
//! constants.

/// DATA (RFC 9113 §6.1).
pub const DATA: u8 = 0x0;
/// HEADERS (RFC 9113 §6.2).
pub const HEADERS: u8 = 0x1;
/// PRIORITY (RFC 9113 §6.3, deprecated).
pub const PRIORITY: u8 = 0x2;
/// RST_STREAM (RFC 9113 §6.4).
pub const RST_STREAM: u8 = 0x3;
/// SETTINGS (RFC 9113 §6.5).
pub const SETTINGS: u8 = 0x4;
/// PUSH_PROMISE (RFC 9113 §6.6).
pub const PUSH_PROMISE: u8 = 0x5;
/// PING (RFC 9113 §6.7).
pub const PING: u8 = 0x6;
/// GOAWAY (RFC 9113 §6.8).
pub const GOAWAY: u8 = 0x7;
/// WINDOW_UPDATE (RFC 9113 §6.9).
pub const WINDOW_UPDATE: u8 = 0x8;
/// CONTINUATION (RFC 9113 §6.10).
pub const CONTINUATION: u8 = 0x9;
/// ALTSVC (RFC 7838 §4).
pub const ALTSVC: u8 = 0xa;
/// ORIGIN (RFC 8336 §2).
pub const ORIGIN: u8 = 0xc;
/// PRIORITY_UPDATE (RFC 9218 §7.1).
pub const PRIORITY_UPDATE: u8 = 0x10;
