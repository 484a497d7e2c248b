//! GOAWAY frames (RFC 9113 §6.8).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, kind};
use crate::error::ErrorCode;

/// A GOAWAY frame (type 0x7, RFC 9113 §6.8): starts connection shutdown.
/// Always on stream 0.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::error::ErrorCode;
/// use ropewalk_proto::frame::{Frame, GoAway, Parser, StreamId};
///
/// let goaway = GoAway::new(StreamId::new(7), ErrorCode::EnhanceYourCalm)
///     .with_debug_data(Bytes::from_static(b"slow down"));
/// let mut wire = BytesMut::new();
/// goaway.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::GoAway(goaway)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoAway {
    /// Highest stream the sender might have processed (reserved bit
    /// ignored).
    pub last_stream_id: StreamId,
    /// Why the connection is closing.
    pub error_code: ErrorCode,
    /// Opaque diagnostic data; a slice of the receive buffer.
    pub debug_data: Bytes,
}

impl GoAway {
    /// A GOAWAY frame without debug data.
    pub fn new(last_stream_id: StreamId, error_code: ErrorCode) -> GoAway {
        GoAway {
            last_stream_id,
            error_code,
            debug_data: Bytes::new(),
        }
    }

    /// Replaces the debug data.
    pub fn with_debug_data(mut self, debug_data: Bytes) -> GoAway {
        self.debug_data = debug_data;
        self
    }

    /// Always stream 0.
    pub fn stream_id(&self) -> StreamId {
        StreamId::ZERO
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = 8 + self.debug_data.len();
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::GOAWAY, 0, StreamId::ZERO, len).encode(dst);
        dst.put_u32(self.last_stream_id.get());
        dst.put_u32(self.error_code.into());
        dst.put_slice(&self.debug_data);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<GoAway, FrameError> {
        // RFC 9113 §6.8: GOAWAY on a non-zero stream is a connection error.
        if !head.stream_id.is_zero() {
            return Err(conn_protocol("GOAWAY frame on a non-zero stream"));
        }
        // RFC 9113 §4.2: too small for Last-Stream-ID and Error Code.
        if payload.len() < 8 {
            return Err(conn_frame_size("GOAWAY frame shorter than 8 octets"));
        }
        let last = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
        let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
        Ok(GoAway {
            last_stream_id: StreamId::new(last),
            error_code: code.into(),
            debug_data: payload.slice(8..),
        })
    }
}
