//! WINDOW_UPDATE frames (RFC 9113 §6.9).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, kind};
use crate::error::ErrorCode;

/// A WINDOW_UPDATE frame (type 0x8, RFC 9113 §6.9): grants flow-control
/// credit to a stream, or to the connection on stream 0.
///
/// ```
/// use bytes::BytesMut;
/// use ropewalk_proto::frame::{StreamId, WindowUpdate};
///
/// let mut wire = BytesMut::new();
/// WindowUpdate::new(StreamId::ZERO, 65_535).encode(&mut wire);
/// assert_eq!(&wire[..], &[0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream, or 0 for the connection window.
    pub stream_id: StreamId,
    /// Window Size Increment, 1..=2^31-1 (reserved bit ignored).
    pub increment: u32,
}

impl WindowUpdate {
    /// Largest increment (2^31-1).
    pub const MAX_INCREMENT: u32 = 0x7fff_ffff;

    /// A WINDOW_UPDATE frame.
    pub fn new(stream_id: StreamId, increment: u32) -> WindowUpdate {
        WindowUpdate {
            stream_id,
            increment,
        }
    }

    /// The stream, or 0 for the connection.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Appends the frame to `dst`. The reserved bit is sent as zero
    /// (the increment is masked to 31 bits).
    pub fn encode(&self, dst: &mut BytesMut) {
        FrameHead::new_out(kind::WINDOW_UPDATE, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.increment & WindowUpdate::MAX_INCREMENT);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<WindowUpdate, FrameError> {
        // RFC 9113 §6.9: a length other than 4 is a connection error.
        let raw: [u8; 4] = payload[..]
            .try_into()
            .map_err(|_| conn_frame_size("WINDOW_UPDATE frame length is not 4"))?;
        // RFC 9113 §6.9: reserved bit ignored.
        let increment = u32::from_be_bytes(raw) & WindowUpdate::MAX_INCREMENT;
        // RFC 9113 §6.9: a zero increment is a stream error, or a connection
        // error on stream 0.
        if increment == 0 {
            return Err(if head.stream_id.is_zero() {
                conn_protocol("WINDOW_UPDATE with zero increment on the connection")
            } else {
                FrameError::stream(
                    head.stream_id,
                    ErrorCode::ProtocolError,
                    "WINDOW_UPDATE with zero increment",
                )
            });
        }
        Ok(WindowUpdate {
            stream_id: head.stream_id,
            increment,
        })
    }
}
