//! HEADERS frames (RFC 9113 §6.2).

use bytes::{BufMut, Bytes, BytesMut};

use super::continuation::{encode_continuations, first_fragment_len};
use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamDependency, StreamId, flags, kind, padding};

/// A HEADERS frame (type 0x1, RFC 9113 §6.2): opens a stream and carries
/// the first fragment of a field block.
///
/// The field block is opaque here (HPACK lives in `ropewalk-hpack`). A
/// block too large for one frame is sent with [`Headers::encode_split`].
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Frame, Headers, Parser, StreamId};
///
/// let mut headers = Headers::new(StreamId::new(1), Bytes::from_static(b"\x82\x86\x84"));
/// headers.set_end_stream(true);
/// let mut wire = BytesMut::new();
/// headers.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::Headers(headers)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// The stream (never 0 on a valid frame).
    pub stream_id: StreamId,
    /// Field block fragment; a slice of the receive buffer.
    pub header_block: Bytes,
    /// END_STREAM flag.
    pub end_stream: bool,
    /// END_HEADERS flag: no CONTINUATION follows.
    pub end_headers: bool,
    /// PADDED flag and Pad Length.
    pub pad_len: Option<u8>,
    /// PRIORITY flag and its fields (deprecated, RFC 9113 §5.3.2). A
    /// dependency on the stream itself is not rejected here (RFC 7540
    /// §5.3.1 required that, RFC 9113 dropped the rule).
    pub priority: Option<StreamDependency>,
}

impl Headers {
    /// A HEADERS frame with END_HEADERS set and no END_STREAM, padding or
    /// priority.
    pub fn new(stream_id: StreamId, header_block: Bytes) -> Headers {
        Headers {
            stream_id,
            header_block,
            end_stream: false,
            end_headers: true,
            pad_len: None,
            priority: None,
        }
    }

    /// The stream this frame belongs to.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Sets or clears END_STREAM.
    pub fn set_end_stream(&mut self, end_stream: bool) {
        self.end_stream = end_stream;
    }

    /// Sets or clears END_HEADERS.
    pub fn set_end_headers(&mut self, end_headers: bool) {
        self.end_headers = end_headers;
    }

    /// Sets the padding (`None` for an unpadded frame).
    pub fn set_padding(&mut self, pad_len: Option<u8>) {
        self.pad_len = pad_len;
    }

    /// Sets the PRIORITY flag fields.
    pub fn set_priority(&mut self, priority: Option<StreamDependency>) {
        self.priority = priority;
    }

    /// `true` if END_STREAM is set.
    pub fn is_end_stream(&self) -> bool {
        self.end_stream
    }

    /// `true` if END_HEADERS is set.
    pub fn is_end_headers(&self) -> bool {
        self.end_headers
    }

    fn overhead(&self) -> usize {
        padding::overhead(self.pad_len) + self.priority.map_or(0, |_| StreamDependency::LEN)
    }

    fn encode_with(&self, fragment: &[u8], end_headers: bool, dst: &mut BytesMut) {
        let mut f = 0;
        if self.end_stream {
            f |= flags::END_STREAM;
        }
        if end_headers {
            f |= flags::END_HEADERS;
        }
        if self.pad_len.is_some() {
            f |= flags::PADDED;
        }
        if self.priority.is_some() {
            f |= flags::PRIORITY;
        }
        let len = self.overhead() + fragment.len();
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::HEADERS, f, self.stream_id, len).encode(dst);
        if let Some(p) = self.pad_len {
            dst.put_u8(p);
        }
        if let Some(dep) = &self.priority {
            dep.encode(dst);
        }
        dst.put_slice(fragment);
        padding::put_zeros(dst, self.pad_len);
    }

    /// Appends this frame as a single HEADERS frame, flags as set. The
    /// caller must keep it within the peer's SETTINGS_MAX_FRAME_SIZE; see
    /// [`Headers::encode_split`].
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_with(&self.header_block, self.end_headers, dst);
    }

    /// Appends a HEADERS frame followed by as many CONTINUATION frames as
    /// needed so that no frame payload exceeds `max_frame_size` (the peer's
    /// SETTINGS_MAX_FRAME_SIZE, RFC 9113 §4.2, §6.10).
    ///
    /// `header_block` must be the complete field block: the last frame
    /// written carries END_HEADERS regardless of [`Headers::end_headers`].
    /// Padding and priority go into the HEADERS frame only.
    ///
    /// # Panics
    ///
    /// If `max_frame_size` cannot hold the padding and priority fields plus
    /// one octet (never the case for a valid SETTINGS_MAX_FRAME_SIZE).
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use ropewalk_proto::frame::{Frame, Headers, Parser, StreamId};
    ///
    /// let block = Bytes::from(vec![0x82; 40_000]);
    /// let mut wire = BytesMut::new();
    /// Headers::new(StreamId::new(1), block).encode_split(16_384, &mut wire);
    ///
    /// let mut parser = Parser::new();
    /// let mut kinds = Vec::new();
    /// while let Some(frame) = parser.parse(&mut wire).unwrap() {
    ///     kinds.push(match frame {
    ///         Frame::Headers(h) => ("HEADERS", h.header_block.len(), h.end_headers),
    ///         Frame::Continuation(c) => ("CONTINUATION", c.header_block.len(), c.end_headers),
    ///         other => panic!("{other:?}"),
    ///     });
    /// }
    /// assert_eq!(kinds, [
    ///     ("HEADERS", 16_384, false),
    ///     ("CONTINUATION", 16_384, false),
    ///     ("CONTINUATION", 7_232, true),
    /// ]);
    /// ```
    pub fn encode_split(&self, max_frame_size: u32, dst: &mut BytesMut) {
        self.encode_split_block(&self.header_block, max_frame_size, dst);
    }

    /// As [`encode_split`](Self::encode_split), with `block` as the field
    /// block instead of [`header_block`](Self::header_block) (which is not
    /// written): the sender encodes into a buffer it reuses.
    pub(crate) fn encode_split_block(&self, block: &[u8], max_frame_size: u32, dst: &mut BytesMut) {
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

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<Headers, FrameError> {
        // RFC 9113 §6.2: HEADERS frames MUST be associated with a stream.
        if head.stream_id.is_zero() {
            return Err(conn_protocol("HEADERS frame on stream 0"));
        }
        let has_priority = head.has_flag(flags::PRIORITY);
        let fixed = if has_priority {
            StreamDependency::LEN
        } else {
            0
        };
        // RFC 9113 §4.2: frames carrying a field block have connection-wide
        // size errors.
        let too_short = conn_frame_size("HEADERS frame too short for PADDED/PRIORITY fields");
        let (mut block, pad_len) = padding::strip(head, payload, fixed, too_short)?;
        let priority = if has_priority {
            let dep = StreamDependency::decode(&block[..StreamDependency::LEN]);
            block = block.slice(StreamDependency::LEN..);
            Some(dep)
        } else {
            None
        };
        Ok(Headers {
            stream_id: head.stream_id,
            header_block: block,
            end_stream: head.has_flag(flags::END_STREAM),
            end_headers: head.has_flag(flags::END_HEADERS),
            pad_len,
            priority,
        })
    }
}
