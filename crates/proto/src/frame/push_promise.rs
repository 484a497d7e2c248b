//! PUSH_PROMISE frames (RFC 9113 §6.6).

use bytes::{BufMut, Bytes, BytesMut};

use super::continuation::{encode_continuations, first_fragment_len};
use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, flags, kind, padding};

/// A PUSH_PROMISE frame (type 0x5, RFC 9113 §6.6): announces a
/// server-initiated stream and carries the first fragment of the promised
/// request's field block.
///
/// Whether push is enabled and whether the promised identifier is a valid
/// new stream is connection state, checked by the caller.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Frame, Parser, PushPromise, StreamId};
///
/// let pp = PushPromise::new(StreamId::new(1), StreamId::new(2), Bytes::from_static(b"\x82"));
/// let mut wire = BytesMut::new();
/// pp.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::PushPromise(pp)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPromise {
    /// The stream the promise is associated with.
    pub stream_id: StreamId,
    /// The stream the server will use for the pushed response (reserved
    /// bit ignored).
    pub promised_id: StreamId,
    /// Field block fragment; a slice of the receive buffer.
    pub header_block: Bytes,
    /// END_HEADERS flag.
    pub end_headers: bool,
    /// PADDED flag and Pad Length.
    pub pad_len: Option<u8>,
}

impl PushPromise {
    /// A PUSH_PROMISE with END_HEADERS set and no padding.
    pub fn new(stream_id: StreamId, promised_id: StreamId, header_block: Bytes) -> PushPromise {
        PushPromise {
            stream_id,
            promised_id,
            header_block,
            end_headers: true,
            pad_len: None,
        }
    }

    /// The stream this frame belongs to (not the promised one).
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Sets the padding (`None` for an unpadded frame).
    pub fn set_padding(&mut self, pad_len: Option<u8>) {
        self.pad_len = pad_len;
    }

    /// Sets or clears END_HEADERS.
    pub fn set_end_headers(&mut self, end_headers: bool) {
        self.end_headers = end_headers;
    }

    /// `true` if END_HEADERS is set.
    pub fn is_end_headers(&self) -> bool {
        self.end_headers
    }

    fn overhead(&self) -> usize {
        padding::overhead(self.pad_len) + 4
    }

    fn encode_with(&self, fragment: &[u8], end_headers: bool, dst: &mut BytesMut) {
        let mut f = 0;
        if end_headers {
            f |= flags::END_HEADERS;
        }
        if self.pad_len.is_some() {
            f |= flags::PADDED;
        }
        let len = self.overhead() + fragment.len();
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::PUSH_PROMISE, f, self.stream_id, len).encode(dst);
        if let Some(p) = self.pad_len {
            dst.put_u8(p);
        }
        // RFC 9113 §6.6: reserved bit sent as zero.
        dst.put_u32(self.promised_id.get());
        dst.put_slice(fragment);
        padding::put_zeros(dst, self.pad_len);
    }

    /// Appends this frame as a single PUSH_PROMISE frame, flags as set.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_with(&self.header_block, self.end_headers, dst);
    }

    /// Appends a PUSH_PROMISE followed by CONTINUATION frames as needed so
    /// that no frame payload exceeds `max_frame_size`; the last frame
    /// carries END_HEADERS. See [`Headers::encode_split`](super::Headers::encode_split).
    ///
    /// # Panics
    ///
    /// If `max_frame_size` cannot hold the padding and promised stream id
    /// plus one octet.
    pub fn encode_split(&self, max_frame_size: u32, dst: &mut BytesMut) {
        let block = &self.header_block[..];
        let first = first_fragment_len(block.len(), self.overhead(), max_frame_size);
        let done = first == block.len();
        self.encode_with(&block[..first], done, dst);
        encode_continuations(
            self.stream_id,
            &block[first..],
            max_frame_size as usize,
            dst,
        );
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<PushPromise, FrameError> {
        // RFC 9113 §6.6: PUSH_PROMISE on stream 0 is a connection error.
        if head.stream_id.is_zero() {
            return Err(conn_protocol("PUSH_PROMISE frame on stream 0"));
        }
        // RFC 9113 §4.2: too small for the Promised Stream ID (connection
        // error: the frame carries a field block).
        let too_short = conn_frame_size("PUSH_PROMISE frame too short for Promised Stream ID");
        let (rest, pad_len) = padding::strip(head, payload, 4, too_short)?;
        let promised_id = StreamId::new(u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]));
        // Stream 0 can never be promised (RFC 9113 §6.6: the identifier
        // "MUST be a valid choice for the next stream sent by the sender").
        if promised_id.is_zero() {
            return Err(conn_protocol("PUSH_PROMISE promises stream 0"));
        }
        Ok(PushPromise {
            stream_id: head.stream_id,
            promised_id,
            header_block: rest.slice(4..),
            end_headers: head.has_flag(flags::END_HEADERS),
            pad_len,
        })
    }
}
