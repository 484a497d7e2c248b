//! Sans-I/O HTTP/2 ([RFC 9113]) protocol layer for ropewalk.
//!
//! This crate performs no I/O. The [`frame`] module turns bytes into typed
//! HTTP/2 frames and back:
//!
//! * [`frame::Parser`] incrementally decodes frames from a
//!   [`bytes::BytesMut`] receive buffer, validating every rule of RFC 9113
//!   §4 and §6 that can be checked without connection or stream state, and
//!   reporting violations as a [`frame::FrameError`] with the exact
//!   [`error::ErrorCode`] and scope (connection or stream) the RFC demands.
//! * Every frame type has an `encode` method that appends its wire form to a
//!   [`bytes::BytesMut`].
//!
//! Payloads (DATA, field block fragments, GOAWAY debug data, …) are
//! [`bytes::Bytes`] slices that share memory with the receive buffer: the
//! parser never copies them.
//!
//! ```
//! use bytes::BytesMut;
//! use ropewalk_proto::frame::{Frame, Parser, Ping};
//!
//! let mut wire = BytesMut::new();
//! Ping::new(*b"ropewalk").encode(&mut wire);
//!
//! let mut parser = Parser::new();
//! match parser.parse(&mut wire).unwrap() {
//!     Some(Frame::Ping(ping)) => assert_eq!(&ping.payload, b"ropewalk"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
//!
//! [RFC 9113]: https://www.rfc-editor.org/rfc/rfc9113

pub mod conn;
pub mod error;
mod field_cache;
pub mod flow;
pub mod frame;
pub mod headers;
pub mod limits;
pub mod priority;
pub mod stream;
