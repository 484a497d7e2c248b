//! ORIGIN frames (RFC 8336 §2).

use bytes::{BufMut, Bytes, BytesMut};

use super::{FrameHead, StreamId, kind};

/// An ORIGIN frame (type 0xc, RFC 8336 §2): the origins the server is
/// authoritative for on this connection. Always on stream 0; defines no
/// flags.
///
/// RFC 8336 §2 says an ORIGIN frame on a non-zero stream "MUST be ignored";
/// such frames, and frames whose Origin-Len fields overrun the payload, are
/// delivered by the parser as [`Frame::Unknown`](super::Frame::Unknown).
/// The ASCII serialization of each origin is not validated here.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Frame, Origin, Parser};
///
/// let origin = Origin::new(vec![
///     Bytes::from_static(b"https://example.com"),
///     Bytes::from_static(b"https://example.org"),
/// ]);
/// let mut wire = BytesMut::new();
/// origin.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::Origin(origin)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The ASCII origins, in order; slices of the receive buffer.
    pub origins: Vec<Bytes>,
}

impl Origin {
    /// An ORIGIN frame listing `origins`.
    pub fn new(origins: Vec<Bytes>) -> Origin {
        Origin { origins }
    }

    /// Always stream 0.
    pub fn stream_id(&self) -> StreamId {
        StreamId::ZERO
    }

    /// Appends the frame to `dst`.
    ///
    /// # Panics
    ///
    /// If an origin is longer than 65535 octets.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = self.origins.iter().map(|o| 2 + o.len()).sum();
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::ORIGIN, 0, StreamId::ZERO, len).encode(dst);
        for origin in &self.origins {
            dst.put_u16(u16::try_from(origin.len()).expect("ORIGIN entry too long"));
            dst.put_slice(origin);
        }
    }

    /// Decodes the payload; `None` means the frame must be ignored.
    pub(crate) fn decode(head: &FrameHead, payload: &Bytes) -> Option<Origin> {
        // RFC 8336 §2: on a non-zero stream the frame MUST be ignored.
        if !head.stream_id.is_zero() {
            return None;
        }
        let mut origins = Vec::new();
        let mut at = 0;
        while at < payload.len() {
            let len_bytes = payload.get(at..at + 2)?;
            let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
            let end = at + 2 + len;
            if end > payload.len() {
                return None;
            }
            origins.push(payload.slice(at + 2..end));
            at = end;
        }
        Some(Origin { origins })
    }
}
