//! Incremental frame decoding.

use bytes::{Buf, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{
    AltSvc, Continuation, Data, Frame, FrameError, FrameHead, GoAway, Headers, Origin, Ping,
    Priority, PriorityUpdate, PushPromise, RstStream, Settings, StreamId, Unknown, WindowUpdate,
    kind,
};
use crate::error::ErrorCode;

/// Incremental HTTP/2 frame decoder.
///
/// Feed received bytes into a [`BytesMut`] and call [`Parser::parse`] until
/// it returns `Ok(None)`. Each frame is split off the front of the buffer
/// with [`BytesMut::split_to`] and frozen, so payloads in the returned frame
/// share memory with the buffer instead of being copied.
///
/// Besides the per-frame rules of RFC 9113 §4 and §6, the parser enforces
/// two rules that span frames:
///
/// * **Frame size** (RFC 9113 §4.2): a frame longer than
///   [`Parser::max_frame_size`] is rejected as soon as its 9-octet header is
///   buffered, and its payload is never buffered. For frames that can only
///   affect one stream (DATA, PRIORITY, and unknown/ignored extension types
///   on a non-zero stream) this is a stream error, and the payload is then
///   discarded incrementally by later calls. For everything else (HEADERS,
///   PUSH_PROMISE, CONTINUATION, SETTINGS, frames on stream 0, and RST_STREAM,
///   WINDOW_UPDATE, PING, GOAWAY and PRIORITY_UPDATE, whose size errors are
///   connection errors anyway) it is a connection error.
/// * **Field block sequencing** (RFC 9113 §4.3, §6.10): after HEADERS or
///   PUSH_PROMISE without END_HEADERS, anything but a CONTINUATION on the
///   same stream is a connection error of type PROTOCOL_ERROR.
///
/// After a stream error the offending frame has been consumed and parsing
/// can continue. After a connection error the connection must be closed
/// (RFC 9113 §5.4.1); the parser should not be used further.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ropewalk_proto::frame::{Data, Frame, Parser, StreamId};
///
/// let mut wire = BytesMut::new();
/// Data::new(StreamId::new(1), Bytes::from_static(b"hello")).encode(&mut wire);
///
/// let mut parser = Parser::new();
/// let mut buf = BytesMut::new();
/// buf.extend_from_slice(&wire[..7]);
/// assert_eq!(parser.parse(&mut buf).unwrap(), None); // header incomplete
/// buf.extend_from_slice(&wire[7..]);
/// let Some(Frame::Data(data)) = parser.parse(&mut buf).unwrap() else { panic!() };
/// assert_eq!(data.data, "hello");
/// assert!(buf.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Parser {
    max_frame_size: u32,
    /// Payload octets of an oversized frame still to be dropped.
    discard: usize,
    /// Stream of an unfinished field block, if any.
    continuation: Option<StreamId>,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new()
    }
}

impl Parser {
    /// A parser with the default SETTINGS_MAX_FRAME_SIZE of 16384.
    pub fn new() -> Parser {
        Parser {
            max_frame_size: Settings::DEFAULT_MAX_FRAME_SIZE,
            discard: 0,
            continuation: None,
        }
    }

    /// Sets the largest frame payload accepted: the SETTINGS_MAX_FRAME_SIZE
    /// *we* advertised (once the peer has acknowledged it).
    ///
    /// # Panics
    ///
    /// If `size` is outside 16384..=16777215 (RFC 9113 §6.5.2).
    pub fn set_max_frame_size(&mut self, size: u32) {
        assert!(
            (Settings::DEFAULT_MAX_FRAME_SIZE..=Settings::MAX_MAX_FRAME_SIZE).contains(&size),
            "SETTINGS_MAX_FRAME_SIZE {size} out of range"
        );
        self.max_frame_size = size;
    }

    /// The largest frame payload currently accepted.
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    /// The stream whose field block is unfinished (a HEADERS or
    /// PUSH_PROMISE without END_HEADERS was returned, and the CONTINUATION
    /// with END_HEADERS has not been seen yet).
    pub fn expecting_continuation(&self) -> Option<StreamId> {
        self.continuation
    }

    /// `true` while the payload of a rejected oversized frame is being
    /// skipped.
    pub fn is_discarding(&self) -> bool {
        self.discard > 0
    }

    /// Decodes the next frame from the front of `buf`.
    ///
    /// Returns `Ok(None)` if `buf` does not yet hold a whole frame (it may
    /// then reserve room for the rest of the frame), `Ok(Some(frame))` after
    /// removing the frame from `buf`, or the error the RFC requires for an
    /// invalid frame.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if self.discard > 0 {
            let n = self.discard.min(buf.len());
            buf.advance(n);
            self.discard -= n;
            if self.discard > 0 {
                return Ok(None);
            }
        }
        let Some(head) = FrameHead::parse(buf) else {
            return Ok(None);
        };
        // RFC 9113 §4.3, §6.10: a field block is contiguous.
        if let Some(id) = self.continuation
            && (head.kind != kind::CONTINUATION || head.stream_id != id)
        {
            return Err(conn_protocol(
                "expected CONTINUATION for unfinished field block",
            ));
        }
        // RFC 9113 §4.2: reject oversized frames without buffering them.
        if head.length > self.max_frame_size {
            return Err(self.oversized(&head, buf));
        }
        let total = FrameHead::LEN + head.length as usize;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let payload = buf.split_to(total).freeze().slice(FrameHead::LEN..);
        let frame = decode(&head, payload)?;
        match &frame {
            Frame::Headers(h) if !h.end_headers => self.continuation = Some(h.stream_id),
            Frame::PushPromise(p) if !p.end_headers => self.continuation = Some(p.stream_id),
            Frame::Continuation(c) if c.end_headers => self.continuation = None,
            _ => {}
        }
        Ok(Some(frame))
    }

    fn oversized(&mut self, head: &FrameHead, buf: &mut BytesMut) -> FrameError {
        let stream_scoped = !head.stream_id.is_zero()
            && !matches!(
                head.kind,
                kind::HEADERS
                    | kind::PUSH_PROMISE
                    | kind::CONTINUATION
                    | kind::SETTINGS
                    | kind::RST_STREAM
                    | kind::WINDOW_UPDATE
                    | kind::PING
                    | kind::GOAWAY
                    | kind::PRIORITY_UPDATE
            );
        if !stream_scoped {
            return conn_frame_size("frame exceeds SETTINGS_MAX_FRAME_SIZE");
        }
        buf.advance(FrameHead::LEN);
        self.discard = head.length as usize;
        let n = self.discard.min(buf.len());
        buf.advance(n);
        self.discard -= n;
        let err = FrameError::stream(
            head.stream_id,
            ErrorCode::FrameSizeError,
            "frame exceeds SETTINGS_MAX_FRAME_SIZE",
        );
        if head.kind == kind::DATA {
            // RFC 9113 §6.9: still counts against the connection window.
            err.with_flow_controlled_len(head.length)
        } else {
            err
        }
    }
}

/// Decodes a complete frame payload according to its header.
fn decode(head: &FrameHead, payload: Bytes) -> Result<Frame, FrameError> {
    let unknown =
        |payload| Frame::Unknown(Unknown::new(head.kind, head.flags, head.stream_id, payload));
    Ok(match head.kind {
        kind::DATA => Frame::Data(Data::decode(head, payload)?),
        kind::HEADERS => Frame::Headers(Headers::decode(head, payload)?),
        kind::PRIORITY => Frame::Priority(Priority::decode(head, payload)?),
        kind::RST_STREAM => Frame::RstStream(RstStream::decode(head, payload)?),
        kind::SETTINGS => Frame::Settings(Settings::decode(head, payload)?),
        kind::PUSH_PROMISE => Frame::PushPromise(PushPromise::decode(head, payload)?),
        kind::PING => Frame::Ping(Ping::decode(head, payload)?),
        kind::GOAWAY => Frame::GoAway(GoAway::decode(head, payload)?),
        kind::WINDOW_UPDATE => Frame::WindowUpdate(WindowUpdate::decode(head, payload)?),
        kind::CONTINUATION => Frame::Continuation(Continuation::decode(head, payload)?),
        kind::ALTSVC => match AltSvc::decode(head, &payload) {
            Some(alt) => Frame::AltSvc(alt),
            None => unknown(payload),
        },
        kind::ORIGIN => match Origin::decode(head, &payload) {
            Some(origin) => Frame::Origin(origin),
            None => unknown(payload),
        },
        kind::PRIORITY_UPDATE => Frame::PriorityUpdate(PriorityUpdate::decode(head, payload)?),
        // RFC 9113 §4.1, §5.5: unknown frame types are passed on to be
        // ignored.
        _ => unknown(payload),
    })
}
