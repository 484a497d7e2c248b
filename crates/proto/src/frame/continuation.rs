//! CONTINUATION frames (RFC 9113 §6.10) and field block splitting.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::conn_protocol;
use super::{FrameError, FrameHead, StreamId, flags, kind};

/// A CONTINUATION frame (type 0x9, RFC 9113 §6.10): the next fragment of a
/// field block started by HEADERS or PUSH_PROMISE.
///
/// [`Parser`](super::Parser) enforces that CONTINUATION frames follow a
/// HEADERS/PUSH_PROMISE without END_HEADERS on the same stream and that
/// nothing else is interleaved (RFC 9113 §4.3, §6.10). Concatenating the
/// fragments is left to the caller.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Continuation, StreamId};
///
/// let cont = Continuation::new(StreamId::new(1), Bytes::from_static(b"\x82"), true);
/// let mut wire = BytesMut::new();
/// cont.encode(&mut wire);
/// assert_eq!(&wire[..], &[0, 0, 1, 9, 4, 0, 0, 0, 1, 0x82]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuation {
    /// The stream (never 0 on a valid frame).
    pub stream_id: StreamId,
    /// Field block fragment; a slice of the receive buffer.
    pub header_block: Bytes,
    /// END_HEADERS flag: this frame ends the field block.
    pub end_headers: bool,
}

impl Continuation {
    /// A CONTINUATION frame.
    pub fn new(stream_id: StreamId, header_block: Bytes, end_headers: bool) -> Continuation {
        Continuation {
            stream_id,
            header_block,
            end_headers,
        }
    }

    /// The stream this frame belongs to.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// `true` if END_HEADERS is set.
    pub fn is_end_headers(&self) -> bool {
        self.end_headers
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        encode_one(self.stream_id, &self.header_block, self.end_headers, dst);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<Continuation, FrameError> {
        // RFC 9113 §6.10: CONTINUATION frames MUST be associated with a stream.
        if head.stream_id.is_zero() {
            return Err(conn_protocol("CONTINUATION frame on stream 0"));
        }
        Ok(Continuation {
            stream_id: head.stream_id,
            header_block: payload,
            end_headers: head.has_flag(flags::END_HEADERS),
        })
    }
}

fn encode_one(stream_id: StreamId, fragment: &[u8], end_headers: bool, dst: &mut BytesMut) {
    let f = if end_headers { flags::END_HEADERS } else { 0 };
    FrameHead::new_out(kind::CONTINUATION, f, stream_id, fragment.len()).encode(dst);
    dst.put_slice(fragment);
}

/// Appends CONTINUATION frames carrying `rest` in chunks of at most
/// `max_frame_size` octets; the last one has END_HEADERS. Appends nothing
/// if `rest` is empty.
pub(crate) fn encode_continuations(
    stream_id: StreamId,
    rest: &[u8],
    max_frame_size: usize,
    dst: &mut BytesMut,
) {
    assert!(max_frame_size > 0, "max_frame_size must be positive");
    let mut chunks = rest.chunks(max_frame_size).peekable();
    while let Some(chunk) = chunks.next() {
        encode_one(stream_id, chunk, chunks.peek().is_none(), dst);
    }
}

/// How many octets of a field block fit into the first frame when its other
/// payload fields take `overhead` octets.
///
/// # Panics
///
/// If not even one octet of the field block would fit.
pub(crate) fn first_fragment_len(block_len: usize, overhead: usize, max_frame_size: u32) -> usize {
    let max = usize::try_from(max_frame_size).unwrap_or(usize::MAX);
    assert!(
        max > overhead,
        "max_frame_size {max} cannot hold the {overhead} octets of padding/priority/promised id"
    );
    block_len.min(max - overhead)
}
