//! HTTP/2 error codes (RFC 9113 §7).

use std::fmt;
use std::hash::{Hash, Hasher};

/// An HTTP/2 error code, as carried by RST_STREAM and GOAWAY frames
/// (RFC 9113 §7).
///
/// Codes this crate does not know are kept as [`ErrorCode::Unknown`]; per
/// RFC 9113 §7 they "MUST NOT trigger any special behavior".
///
/// Equality and hashing compare the numeric value, so
/// `ErrorCode::Unknown(1) == ErrorCode::ProtocolError`. Conversions from
/// `u32` always produce the named variant for known codes.
///
/// ```
/// use ropewalk_proto::error::ErrorCode;
///
/// assert_eq!(ErrorCode::from(0x6), ErrorCode::FrameSizeError);
/// assert_eq!(u32::from(ErrorCode::EnhanceYourCalm), 0xb);
/// assert_eq!(ErrorCode::Unknown(0x1234).to_string(), "UNKNOWN_ERROR(0x1234)");
/// assert_eq!(ErrorCode::FlowControlError.to_string(), "FLOW_CONTROL_ERROR");
/// ```
#[derive(Clone, Copy, Debug, Eq)]
pub enum ErrorCode {
    /// `NO_ERROR` (0x00): not the result of an error (e.g. graceful shutdown).
    NoError,
    /// `PROTOCOL_ERROR` (0x01): unspecific protocol error.
    ProtocolError,
    /// `INTERNAL_ERROR` (0x02): unexpected internal error.
    InternalError,
    /// `FLOW_CONTROL_ERROR` (0x03): the peer violated flow control.
    FlowControlError,
    /// `SETTINGS_TIMEOUT` (0x04): SETTINGS were not acknowledged in time.
    SettingsTimeout,
    /// `STREAM_CLOSED` (0x05): frame received after a stream was half-closed.
    StreamClosed,
    /// `FRAME_SIZE_ERROR` (0x06): frame with an invalid size.
    FrameSizeError,
    /// `REFUSED_STREAM` (0x07): stream refused before any processing.
    RefusedStream,
    /// `CANCEL` (0x08): the stream is no longer needed.
    Cancel,
    /// `COMPRESSION_ERROR` (0x09): field compression context cannot be kept.
    CompressionError,
    /// `CONNECT_ERROR` (0x0a): the tunnel of a CONNECT request failed.
    ConnectError,
    /// `ENHANCE_YOUR_CALM` (0x0b): the peer generates excessive load.
    EnhanceYourCalm,
    /// `INADEQUATE_SECURITY` (0x0c): transport security is insufficient.
    InadequateSecurity,
    /// `HTTP_1_1_REQUIRED` (0x0d): HTTP/1.1 must be used instead.
    Http11Required,
    /// Any other code (RFC 9113 §7: no special behavior).
    Unknown(u32),
}

impl ErrorCode {
    /// The numeric value of this code.
    pub const fn as_u32(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(code) => code,
        }
    }

    /// The code for a numeric value; unknown values map to
    /// [`ErrorCode::Unknown`].
    pub const fn from_u32(code: u32) -> ErrorCode {
        match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolError,
            0x2 => ErrorCode::InternalError,
            0x3 => ErrorCode::FlowControlError,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSizeError,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::CompressionError,
            0xa => ErrorCode::ConnectError,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The RFC 9113 §7 name (e.g. `"PROTOCOL_ERROR"`), or `None` for an
    /// unknown code.
    pub const fn name(self) -> Option<&'static str> {
        Some(match ErrorCode::from_u32(self.as_u32()) {
            ErrorCode::NoError => "NO_ERROR",
            ErrorCode::ProtocolError => "PROTOCOL_ERROR",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::FlowControlError => "FLOW_CONTROL_ERROR",
            ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT",
            ErrorCode::StreamClosed => "STREAM_CLOSED",
            ErrorCode::FrameSizeError => "FRAME_SIZE_ERROR",
            ErrorCode::RefusedStream => "REFUSED_STREAM",
            ErrorCode::Cancel => "CANCEL",
            ErrorCode::CompressionError => "COMPRESSION_ERROR",
            ErrorCode::ConnectError => "CONNECT_ERROR",
            ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY",
            ErrorCode::Http11Required => "HTTP_1_1_REQUIRED",
            ErrorCode::Unknown(_) => return None,
        })
    }
}

impl From<u32> for ErrorCode {
    fn from(code: u32) -> ErrorCode {
        ErrorCode::from_u32(code)
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> u32 {
        code.as_u32()
    }
}

impl PartialEq for ErrorCode {
    fn eq(&self, other: &ErrorCode) -> bool {
        self.as_u32() == other.as_u32()
    }
}

impl Hash for ErrorCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_u32().hash(state);
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "UNKNOWN_ERROR({:#x})", self.as_u32()),
        }
    }
}
