//! PRIORITY_UPDATE frames (RFC 9218 §7.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, kind};

/// A PRIORITY_UPDATE frame (type 0x10, RFC 9218 §7.1): a client's new
/// Extensible Priorities for a stream. Always on stream 0.
///
/// The Priority Field Value (a Structured Field, RFC 9218 §4) is not
/// parsed here. Role checks (servers must not send it) and stream-state
/// checks are the caller's.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Frame, Parser, PriorityUpdate, StreamId};
///
/// let update = PriorityUpdate::new(StreamId::new(5), Bytes::from_static(b"u=1, i"));
/// let mut wire = BytesMut::new();
/// update.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::PriorityUpdate(update)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityUpdate {
    /// The stream whose priority changes (reserved bit ignored, never 0).
    pub prioritized_stream_id: StreamId,
    /// ASCII Priority Field Value; a slice of the receive buffer.
    pub field_value: Bytes,
}

impl PriorityUpdate {
    /// A PRIORITY_UPDATE frame.
    pub fn new(prioritized_stream_id: StreamId, field_value: Bytes) -> PriorityUpdate {
        PriorityUpdate {
            prioritized_stream_id,
            field_value,
        }
    }

    /// Always stream 0 (see [`PriorityUpdate::prioritized_stream_id`] for
    /// the target).
    pub fn stream_id(&self) -> StreamId {
        StreamId::ZERO
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = 4 + self.field_value.len();
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::PRIORITY_UPDATE, 0, StreamId::ZERO, len).encode(dst);
        dst.put_u32(self.prioritized_stream_id.get());
        dst.put_slice(&self.field_value);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<PriorityUpdate, FrameError> {
        // RFC 9218 §7.1: the frame's stream identifier MUST be zero.
        if !head.stream_id.is_zero() {
            return Err(conn_protocol("PRIORITY_UPDATE frame on a non-zero stream"));
        }
        // RFC 9113 §4.2: too small for the Prioritized Stream ID.
        if payload.len() < 4 {
            return Err(conn_frame_size(
                "PRIORITY_UPDATE frame shorter than 4 octets",
            ));
        }
        let id = StreamId::new(u32::from_be_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ]));
        // RFC 9218 §7.1: a prioritized stream ID of 0 is a PROTOCOL_ERROR.
        if id.is_zero() {
            return Err(conn_protocol("PRIORITY_UPDATE for stream 0"));
        }
        Ok(PriorityUpdate {
            prioritized_stream_id: id,
            field_value: payload.slice(4..),
        })
    }
}
