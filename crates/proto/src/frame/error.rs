//! Errors detected while decoding frames.

use std::fmt;

use super::StreamId;
use crate::error::ErrorCode;

/// How far an error reaches (RFC 9113 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorScope {
    /// A connection error (RFC 9113 §5.4.1): send GOAWAY and close.
    Connection,
    /// A stream error (RFC 9113 §5.4.2): send RST_STREAM on this stream;
    /// the connection stays usable.
    Stream(StreamId),
}

/// A frame that violates RFC 9113 (or an extension RFC).
///
/// Carries the error code and scope the RFC requires, and a short static
/// description for logs or GOAWAY debug data.
///
/// ```
/// use ropewalk_proto::error::ErrorCode;
/// use ropewalk_proto::frame::{ErrorScope, FrameError, StreamId};
///
/// let id = StreamId::new(1);
/// let err = FrameError::stream(id, ErrorCode::FrameSizeError, "bad PRIORITY length");
/// assert_eq!(err.scope, ErrorScope::Stream(StreamId::new(1)));
/// assert_eq!(err.to_string(), "stream 1 error FRAME_SIZE_ERROR: bad PRIORITY length");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Connection or stream error.
    pub scope: ErrorScope,
    /// The error code to send in GOAWAY / RST_STREAM.
    pub code: ErrorCode,
    /// A human-readable description of the violated rule.
    pub reason: &'static str,
    /// Bytes of a rejected DATA frame that still count against the
    /// connection flow-control window (RFC 9113 §6.9: "A receiver that
    /// receives a flow-controlled frame MUST always account for its
    /// contribution against the connection flow-control window, unless the
    /// receiver treats this as a connection error").
    ///
    /// Non-zero only for stream errors on DATA frames; it is the frame's
    /// whole payload length, including padding and any payload bytes the
    /// parser discarded.
    pub flow_controlled_len: u32,
}

impl FrameError {
    /// A connection error.
    pub const fn connection(code: ErrorCode, reason: &'static str) -> FrameError {
        FrameError {
            scope: ErrorScope::Connection,
            code,
            reason,
            flow_controlled_len: 0,
        }
    }

    /// A stream error on `id`.
    pub const fn stream(id: StreamId, code: ErrorCode, reason: &'static str) -> FrameError {
        FrameError {
            scope: ErrorScope::Stream(id),
            code,
            reason,
            flow_controlled_len: 0,
        }
    }

    /// `true` for connection errors.
    pub const fn is_connection_error(&self) -> bool {
        matches!(self.scope, ErrorScope::Connection)
    }

    pub(crate) const fn with_flow_controlled_len(mut self, len: u32) -> FrameError {
        self.flow_controlled_len = len;
        self
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            ErrorScope::Connection => write!(f, "connection error {}: {}", self.code, self.reason),
            ErrorScope::Stream(id) => write!(f, "stream {id} error {}: {}", self.code, self.reason),
        }
    }
}

impl std::error::Error for FrameError {}

/// Shorthand for a connection error with `PROTOCOL_ERROR`.
pub(crate) const fn conn_protocol(reason: &'static str) -> FrameError {
    FrameError::connection(ErrorCode::ProtocolError, reason)
}

/// Shorthand for a connection error with `FRAME_SIZE_ERROR`.
pub(crate) const fn conn_frame_size(reason: &'static str) -> FrameError {
    FrameError::connection(ErrorCode::FrameSizeError, reason)
}
