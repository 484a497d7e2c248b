//! The 9-octet frame header (RFC 9113 §4.1).

use bytes::BytesMut;

use super::StreamId;

/// A decoded frame header (RFC 9113 §4.1).
///
/// ```text
/// HTTP Frame {
///   Length (24),
///   Type (8),
///   Flags (8),
///   Reserved (1),
///   Stream Identifier (31),
///   Frame Payload (..),
/// }
/// ```
///
/// ```
/// use bytes::BytesMut;
/// use ropewalk_proto::frame::{FrameHead, StreamId, kind};
///
/// let head = FrameHead { length: 8, kind: kind::PING, flags: 0, stream_id: StreamId::ZERO };
/// let mut buf = BytesMut::new();
/// head.encode(&mut buf);
/// assert_eq!(&buf[..], &[0, 0, 8, 6, 0, 0, 0, 0, 0]);
/// assert_eq!(FrameHead::parse(&buf), Some(head));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    /// Payload length in octets (24 bits; the header is not included).
    pub length: u32,
    /// Frame type; see [`kind`](super::kind).
    pub kind: u8,
    /// Flag bits; see [`flags`](super::flags).
    pub flags: u8,
    /// Stream identifier (reserved bit already cleared).
    pub stream_id: StreamId,
}

impl FrameHead {
    /// Size of an encoded frame header.
    pub const LEN: usize = 9;
    /// Largest payload length the 24-bit length field can carry.
    pub const MAX_LENGTH: u32 = (1 << 24) - 1;

    /// Decodes a frame header from the first 9 bytes of `buf`, or returns
    /// `None` if `buf` is shorter than that. The reserved bit of the stream
    /// identifier is ignored (RFC 9113 §4.1).
    pub fn parse(buf: &[u8]) -> Option<FrameHead> {
        let b: &[u8; FrameHead::LEN] = buf.get(..FrameHead::LEN)?.try_into().ok()?;
        Some(FrameHead {
            length: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream_id: StreamId::new(u32::from_be_bytes([b[5], b[6], b[7], b[8]])),
        })
    }

    /// `true` if `flag` is set.
    pub const fn has_flag(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }

    /// Appends the 9-octet header to `dst`; the reserved bit is sent as zero.
    ///
    /// # Panics
    ///
    /// If `length` does not fit in 24 bits.
    pub fn encode(&self, dst: &mut BytesMut) {
        assert!(
            self.length <= FrameHead::MAX_LENGTH,
            "frame payload of {} octets does not fit the 24-bit length field",
            self.length
        );
        // RFC 9113 §4.1: length (24 bits), type, flags, R + stream id (31
        // bits), written as one slice.
        let len = self.length.to_be_bytes();
        let id = self.stream_id.get().to_be_bytes();
        dst.extend_from_slice(&[
            len[1], len[2], len[3], self.kind, self.flags, id[0], id[1], id[2], id[3],
        ]);
    }

    /// Builds a header for an outgoing frame, checking the payload length.
    pub(crate) fn new_out(kind: u8, flags: u8, stream_id: StreamId, length: usize) -> FrameHead {
        let length = u32::try_from(length)
            .ok()
            .filter(|&l| l <= FrameHead::MAX_LENGTH)
            .unwrap_or_else(|| panic!("frame payload of {length} octets is too large"));
        FrameHead {
            length,
            kind,
            flags,
            stream_id,
        }
    }
}

/// Decodes a frame header from the start of `buf`; same as
/// [`FrameHead::parse`].
pub fn parse_head(buf: &[u8]) -> Option<FrameHead> {
    FrameHead::parse(buf)
}
