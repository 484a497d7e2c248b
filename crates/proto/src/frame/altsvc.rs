//! ALTSVC frames (RFC 7838 §4).

use bytes::{BufMut, Bytes, BytesMut};

use super::{FrameHead, StreamId, kind};

/// An ALTSVC frame (type 0xa, RFC 7838 §4): advertises alternative services.
///
/// On stream 0 it names the origin it applies to; on another stream it
/// applies to that stream's origin and the origin must be empty.
///
/// Frames that RFC 7838 §4 says "MUST be ignored" (stream 0 with an empty
/// origin, a non-zero stream with an origin) and frames too short for their
/// Origin-Len field are delivered by the parser as
/// [`Frame::Unknown`](super::Frame::Unknown), which callers ignore.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{AltSvc, Frame, Parser};
///
/// let alt = AltSvc::for_origin(
///     Bytes::from_static(b"https://example.com"),
///     Bytes::from_static(b"h2=\"alt.example.com:443\""),
/// );
/// let mut wire = BytesMut::new();
/// alt.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::AltSvc(alt)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltSvc {
    /// Stream 0 for an origin-scoped advertisement, otherwise the stream
    /// whose origin the advertisement applies to.
    pub stream_id: StreamId,
    /// ASCII origin (non-empty exactly when `stream_id` is 0).
    pub origin: Bytes,
    /// Alt-Svc field value (RFC 7838 §3); a slice of the receive buffer.
    pub value: Bytes,
}

impl AltSvc {
    /// An ALTSVC frame on stream 0 for `origin`.
    pub fn for_origin(origin: Bytes, value: Bytes) -> AltSvc {
        AltSvc {
            stream_id: StreamId::ZERO,
            origin,
            value,
        }
    }

    /// An ALTSVC frame for the origin of the request on `stream_id`.
    pub fn for_stream(stream_id: StreamId, value: Bytes) -> AltSvc {
        AltSvc {
            stream_id,
            origin: Bytes::new(),
            value,
        }
    }

    /// The stream this frame belongs to.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Appends the frame to `dst`.
    ///
    /// # Panics
    ///
    /// If the origin is longer than 65535 octets.
    pub fn encode(&self, dst: &mut BytesMut) {
        let origin_len = u16::try_from(self.origin.len()).expect("ALTSVC origin too long");
        let len = 2 + self.origin.len() + self.value.len();
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::ALTSVC, 0, self.stream_id, len).encode(dst);
        dst.put_u16(origin_len);
        dst.put_slice(&self.origin);
        dst.put_slice(&self.value);
    }

    /// Decodes the payload; `None` means the frame must be ignored.
    pub(crate) fn decode(head: &FrameHead, payload: &Bytes) -> Option<AltSvc> {
        let origin_len = usize::from(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]));
        let origin_end = 2usize.checked_add(origin_len)?;
        if origin_end > payload.len() {
            return None;
        }
        // RFC 7838 §4: stream 0 without an origin, or another stream with
        // one, "is invalid and MUST be ignored".
        if head.stream_id.is_zero() == (origin_len == 0) {
            return None;
        }
        Some(AltSvc {
            stream_id: head.stream_id,
            origin: payload.slice(2..origin_end),
            value: payload.slice(origin_end..),
        })
    }
}
