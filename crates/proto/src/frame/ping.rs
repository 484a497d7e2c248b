//! PING frames (RFC 9113 §6.7).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, flags, kind};

/// A PING frame (type 0x6, RFC 9113 §6.7): round-trip measurement and
/// liveness check. Always on stream 0.
///
/// ```
/// use ropewalk_proto::frame::Ping;
///
/// let ping = Ping::new(*b"12345678");
/// assert!(!ping.ack);
/// let pong = Ping::pong(ping.payload);
/// assert!(pong.is_ack());
/// assert_eq!(ping.to_pong(), pong);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// ACK flag: this is a response to a PING.
    pub ack: bool,
    /// The opaque 8-octet payload.
    pub payload: [u8; 8],
}

impl Ping {
    /// Length of a PING payload.
    pub const LEN: usize = 8;

    /// A PING request.
    pub fn new(payload: [u8; 8]) -> Ping {
        Ping {
            ack: false,
            payload,
        }
    }

    /// A PING response (ACK set) carrying `payload`.
    pub fn pong(payload: [u8; 8]) -> Ping {
        Ping { ack: true, payload }
    }

    /// The response to this PING: same payload with ACK set
    /// (RFC 9113 §6.7).
    pub fn to_pong(&self) -> Ping {
        Ping::pong(self.payload)
    }

    /// `true` if ACK is set.
    pub fn is_ack(&self) -> bool {
        self.ack
    }

    /// Always stream 0.
    pub fn stream_id(&self) -> StreamId {
        StreamId::ZERO
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.ack { flags::ACK } else { 0 };
        FrameHead::new_out(kind::PING, f, StreamId::ZERO, Ping::LEN).encode(dst);
        dst.put_slice(&self.payload);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<Ping, FrameError> {
        // RFC 9113 §6.7: PING on a stream other than 0 is a connection error.
        if !head.stream_id.is_zero() {
            return Err(conn_protocol("PING frame on a non-zero stream"));
        }
        // RFC 9113 §6.7: a length other than 8 is a connection error.
        let payload: [u8; 8] = payload[..]
            .try_into()
            .map_err(|_| conn_frame_size("PING frame length is not 8"))?;
        Ok(Ping {
            ack: head.has_flag(flags::ACK),
            payload,
        })
    }
}
