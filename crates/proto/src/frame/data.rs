//! DATA frames (RFC 9113 §6.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::conn_protocol;
use super::{FrameError, FrameHead, StreamId, flags, kind, padding};
use crate::error::ErrorCode;

/// A DATA frame (type 0x0, RFC 9113 §6.1): request or response content.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Data, Frame, Parser, StreamId};
///
/// let mut data = Data::new(StreamId::new(1), Bytes::from_static(b"hello"));
/// data.set_end_stream(true);
/// data.pad_len = Some(3);
/// assert_eq!(data.flow_controlled_len(), 5 + 1 + 3);
///
/// let mut wire = BytesMut::new();
/// data.encode(&mut wire);
/// assert_eq!(Parser::new().parse(&mut wire).unwrap(), Some(Frame::Data(data)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// The stream (never 0 on a valid frame).
    pub stream_id: StreamId,
    /// The application data, without padding. On received frames this is a
    /// slice of the receive buffer.
    pub data: Bytes,
    /// END_STREAM flag: the last frame the sender will send on this stream.
    pub end_stream: bool,
    /// PADDED flag: `Some(n)` carries a Pad Length field and `n` octets of
    /// padding, which count toward flow control.
    pub pad_len: Option<u8>,
}

impl Data {
    /// An unpadded DATA frame without END_STREAM.
    pub fn new(stream_id: StreamId, data: Bytes) -> Data {
        Data {
            stream_id,
            data,
            end_stream: false,
            pad_len: None,
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

    /// Sets the padding (`None` for an unpadded frame).
    pub fn set_padding(&mut self, pad_len: Option<u8>) {
        self.pad_len = pad_len;
    }

    /// `true` if END_STREAM is set.
    pub fn is_end_stream(&self) -> bool {
        self.end_stream
    }

    /// Octets this frame counts against flow-control windows: the whole
    /// frame payload, including the Pad Length field and padding
    /// (RFC 9113 §6.1, §6.9).
    pub fn flow_controlled_len(&self) -> usize {
        self.data.len() + padding::overhead(self.pad_len)
    }

    /// The padding that follows the data on the wire: `pad_len` zero octets.
    ///
    /// Together with [`Data::encode_head`] this allows a vectored write of
    /// header, payload and padding without copying the payload.
    pub fn padding(&self) -> &'static [u8] {
        &padding::ZEROS[..self.pad_len.map_or(0, usize::from)]
    }

    fn head(&self) -> FrameHead {
        let mut f = 0;
        if self.end_stream {
            f |= flags::END_STREAM;
        }
        if self.pad_len.is_some() {
            f |= flags::PADDED;
        }
        FrameHead::new_out(kind::DATA, f, self.stream_id, self.flow_controlled_len())
    }

    /// Appends only the 9-octet frame header and, if padded, the Pad Length
    /// octet. The caller then writes [`Data::data`] followed by
    /// [`Data::padding`].
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use ropewalk_proto::frame::{Data, StreamId};
    ///
    /// let mut data = Data::new(StreamId::new(1), Bytes::from_static(b"abc"));
    /// data.pad_len = Some(2);
    /// let mut head = BytesMut::new();
    /// data.encode_head(&mut head);
    /// assert_eq!(&head[..], &[0, 0, 6, 0, 0x8, 0, 0, 0, 1, 2]);
    /// assert_eq!(data.padding(), &[0, 0]);
    /// ```
    pub fn encode_head(&self, dst: &mut BytesMut) {
        self.head().encode(dst);
        if let Some(p) = self.pad_len {
            dst.put_u8(p);
        }
    }

    /// Appends the whole frame (copying the payload into `dst`).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(FrameHead::LEN + self.flow_controlled_len());
        self.encode_head(dst);
        dst.put_slice(&self.data);
        padding::put_zeros(dst, self.pad_len);
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<Data, FrameError> {
        // RFC 9113 §6.1: DATA frames MUST be associated with a stream.
        if head.stream_id.is_zero() {
            return Err(conn_protocol("DATA frame on stream 0"));
        }
        // RFC 9113 §4.2: a PADDED frame too short for the Pad Length field.
        // DATA only affects its own stream (and connection flow control,
        // which `flow_controlled_len` lets the caller settle).
        let too_short = FrameError::stream(
            head.stream_id,
            ErrorCode::FrameSizeError,
            "PADDED DATA frame without Pad Length field",
        )
        .with_flow_controlled_len(head.length);
        let (data, pad_len) = padding::strip(head, payload, 0, too_short)?;
        Ok(Data {
            stream_id: head.stream_id,
            data,
            end_stream: head.has_flag(flags::END_STREAM),
            pad_len,
        })
    }
}
