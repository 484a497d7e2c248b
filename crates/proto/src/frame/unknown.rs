//! Frames of unknown (or ignored) type (RFC 9113 §4.1, §5.5).

use bytes::{BufMut, Bytes, BytesMut};

use super::{FrameHead, StreamId};

/// A frame this crate does not interpret.
///
/// RFC 9113 §4.1 and §5.5: "Implementations MUST ignore and discard frames
/// of unknown types." The parser also uses this variant for extension
/// frames that their RFC says to ignore (invalid ALTSVC and ORIGIN frames).
/// The only rule that still applies is CONTINUATION sequencing
/// (RFC 9113 §6.10), which the parser enforces.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Frame, Parser, StreamId, Unknown};
///
/// let frame = Unknown::new(0xfa, 0x3, StreamId::new(9), Bytes::from_static(b"grease"));
/// let mut wire = BytesMut::new();
/// frame.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::Unknown(frame)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// The frame type.
    pub kind: u8,
    /// The raw flags.
    pub flags: u8,
    /// The stream identifier.
    pub stream_id: StreamId,
    /// The raw payload; a slice of the receive buffer.
    pub payload: Bytes,
}

impl Unknown {
    /// A raw frame (e.g. for GREASE, or for tests).
    pub fn new(kind: u8, flags: u8, stream_id: StreamId, payload: Bytes) -> Unknown {
        Unknown {
            kind,
            flags,
            stream_id,
            payload,
        }
    }

    /// The stream this frame belongs to.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Appends the frame to `dst`, exactly as given.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(FrameHead::LEN + self.payload.len());
        FrameHead::new_out(self.kind, self.flags, self.stream_id, self.payload.len()).encode(dst);
        dst.put_slice(&self.payload);
    }
}
