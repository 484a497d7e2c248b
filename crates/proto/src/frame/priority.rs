//! PRIORITY frames and RFC 7540 stream dependencies (RFC 9113 §5.3.2,
//! §6.3).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::conn_protocol;
use super::{FrameError, FrameHead, StreamId, kind};
use crate::error::ErrorCode;

/// The RFC 7540 priority fields carried by PRIORITY frames and by HEADERS
/// frames with the PRIORITY flag (RFC 9113 §6.2, §6.3).
///
/// This priority scheme is deprecated by RFC 9113 §5.3.2, but the fields
/// are still parsed so that peers using them interoperate.
///
/// ```
/// use ropewalk_proto::frame::{StreamDependency, StreamId};
///
/// let dep = StreamDependency { dependency: StreamId::new(3), weight: 15, exclusive: true };
/// assert_eq!(dep.effective_weight(), 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamDependency {
    /// The stream this one depends on.
    pub dependency: StreamId,
    /// The Weight field as sent: the effective weight is `weight + 1`
    /// (1..=256).
    pub weight: u8,
    /// The E (Exclusive) bit. Unlike the reserved bit of other stream
    /// identifier fields, this bit is meaningful.
    pub exclusive: bool,
}

impl StreamDependency {
    /// Encoded size of the fields.
    pub const LEN: usize = 5;

    /// The effective weight, `weight + 1` (RFC 7540 §5.3.2).
    pub fn effective_weight(&self) -> u16 {
        u16::from(self.weight) + 1
    }

    pub(crate) fn decode(b: &[u8]) -> StreamDependency {
        let raw = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        StreamDependency {
            dependency: StreamId::new(raw),
            weight: b[4],
            exclusive: raw & 0x8000_0000 != 0,
        }
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        let e = if self.exclusive { 0x8000_0000 } else { 0 };
        dst.put_u32(e | self.dependency.get());
        dst.put_u8(self.weight);
    }
}

/// A PRIORITY frame (type 0x2, RFC 9113 §6.3, deprecated).
///
/// ```
/// use bytes::BytesMut;
/// use ropewalk_proto::frame::{Frame, Parser, Priority, StreamDependency, StreamId};
///
/// let dep = StreamDependency { dependency: StreamId::ZERO, weight: 255, exclusive: false };
/// let prio = Priority::new(StreamId::new(5), dep);
/// let mut wire = BytesMut::new();
/// prio.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::Priority(prio)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream being prioritized.
    pub stream_id: StreamId,
    /// The dependency, weight and exclusive bit.
    pub dependency: StreamDependency,
}

impl Priority {
    /// A PRIORITY frame.
    pub fn new(stream_id: StreamId, dependency: StreamDependency) -> Priority {
        Priority {
            stream_id,
            dependency,
        }
    }

    /// The stream being prioritized.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        FrameHead::new_out(kind::PRIORITY, 0, self.stream_id, StreamDependency::LEN).encode(dst);
        self.dependency.encode(dst);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<Priority, FrameError> {
        // RFC 9113 §6.3: PRIORITY on stream 0 is a connection error.
        if head.stream_id.is_zero() {
            return Err(conn_protocol("PRIORITY frame on stream 0"));
        }
        // RFC 9113 §6.3: a length other than 5 is a *stream* error.
        if payload.len() != StreamDependency::LEN {
            return Err(FrameError::stream(
                head.stream_id,
                ErrorCode::FrameSizeError,
                "PRIORITY frame length is not 5",
            ));
        }
        Ok(Priority {
            stream_id: head.stream_id,
            dependency: StreamDependency::decode(&payload),
        })
    }
}
