//! RST_STREAM frames (RFC 9113 §6.4).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, kind};
use crate::error::ErrorCode;

/// An RST_STREAM frame (type 0x3, RFC 9113 §6.4): terminates a stream.
///
/// ```
/// use bytes::BytesMut;
/// use ropewalk_proto::error::ErrorCode;
/// use ropewalk_proto::frame::{RstStream, StreamId};
///
/// let mut wire = BytesMut::new();
/// RstStream::new(StreamId::new(1), ErrorCode::Cancel).encode(&mut wire);
/// assert_eq!(&wire[..], &[0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 8]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStream {
    /// The stream being reset (never 0 on a valid frame).
    pub stream_id: StreamId,
    /// Why the stream is reset.
    pub error_code: ErrorCode,
}

impl RstStream {
    /// An RST_STREAM frame.
    pub fn new(stream_id: StreamId, error_code: ErrorCode) -> RstStream {
        RstStream {
            stream_id,
            error_code,
        }
    }

    /// The stream being reset.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        FrameHead::new_out(kind::RST_STREAM, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.error_code.into());
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<RstStream, FrameError> {
        // RFC 9113 §6.4: RST_STREAM on stream 0 is a connection error.
        if head.stream_id.is_zero() {
            return Err(conn_protocol("RST_STREAM frame on stream 0"));
        }
        // RFC 9113 §6.4: a length other than 4 is a connection error.
        let code: [u8; 4] = payload[..]
            .try_into()
            .map_err(|_| conn_frame_size("RST_STREAM frame length is not 4"))?;
        Ok(RstStream {
            stream_id: head.stream_id,
            error_code: u32::from_be_bytes(code).into(),
        })
    }
}
