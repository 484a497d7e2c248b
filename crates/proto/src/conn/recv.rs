//! Receiving: bytes → frames → state changes and events.

use std::time::Instant;

use bytes::{Buf, BytesMut};

use super::{Connection, Error, Event};
use crate::error::ErrorCode;
use crate::frame::{ErrorScope, Frame, FrameError, PREFACE, StreamId};
use crate::limits::Limit;
use crate::stream::State;
use crate::stream::store::ClosedCause;

/// The frame kinds that matter for closed-stream handling (RFC 9113 §5.1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Data,
    Headers,
    WindowUpdate,
    RstStream,
}

pub(super) type Res = Result<(), Error>;

/// The type octet of a HEADERS frame (RFC 9113 §6.2).
const HEADERS_TYPE: u8 = 0x1;

pub(super) fn stream_err(id: StreamId, code: ErrorCode, why: &'static str) -> Res {
    Err(Error::stream(id, code, why))
}

pub(super) fn conn_err(code: ErrorCode, why: &'static str) -> Res {
    Err(Error::conn(code, why))
}

impl Connection {
    /// Feeds bytes read from the peer. Consumes whole frames from `buf`
    /// (a partial frame stays for the next call). Reading pauses — bytes
    /// stay in `buf` — while [`wants_read`](Self::wants_read) is `false`.
    pub fn recv(&mut self, buf: &mut BytesMut, now: Instant) {
        self.recv_heads(buf, now, usize::MAX);
    }

    /// As [`recv`](Self::recv), but stops once `max_heads` new message
    /// heads have arrived (requests on a server, final responses on a
    /// client), at the next HEADERS frame (the frames before it, such as a
    /// reset of one of those requests, are taken), leaving it and what
    /// follows in `buf`: a runtime can then write what those messages called
    /// for before it reads on, so that a peer sending in large batches gets
    /// the first answers sooner. `true` if it stopped there (call again for
    /// the rest).
    pub fn recv_heads(&mut self, buf: &mut BytesMut, now: Instant, max_heads: usize) -> bool {
        let start = self.heads_received;
        self.now = now;
        if self.closing.is_some() {
            buf.clear();
            return false;
        }
        if !buf.is_empty() {
            self.last_recv = now;
        }
        // RFC 9113 §3.4: the server first receives the client preface.
        while self.preface_matched < PREFACE.len() {
            if buf.is_empty() {
                return false;
            }
            let n = (PREFACE.len() - self.preface_matched).min(buf.len());
            if buf[..n] != PREFACE[self.preface_matched..self.preface_matched + n] {
                buf.clear();
                self.fail(Error::conn(
                    ErrorCode::ProtocolError,
                    "invalid connection preface",
                ));
                return false;
            }
            buf.advance(n);
            self.preface_matched += n;
        }
        loop {
            if self.closing.is_some() {
                buf.clear();
                return false;
            }
            // CVE-2019-9512/9515: stop reading while ACKs pile up.
            if self.pending_acks >= self.config.limits.max_pending_acks {
                return false;
            }
            // Stop before the next HEADERS frame, not right after the last
            // request: the frames that follow a request (its RST_STREAM, a
            // Rapid Reset) are still taken in this call, before its handler
            // could start.
            if self.heads_received - start >= max_heads && buf.len() >= 9 && buf[3] == HEADERS_TYPE
            {
                return true;
            }
            match self.parser.parse(buf) {
                Ok(None) => return false,
                Ok(Some(frame)) => {
                    if let Err(e) = self.on_frame(frame) {
                        self.on_error(e);
                    }
                }
                Err(e) => self.on_frame_error(e),
            }
        }
    }

    pub(super) fn on_error(&mut self, e: Error) {
        match e {
            Error::Connection { .. } => self.fail(e),
            Error::Stream { id, code, why, .. } => {
                self.send_rst(id, code, why, true, true);
            }
        }
    }

    pub(super) fn on_frame_error(&mut self, e: FrameError) {
        match e.scope {
            ErrorScope::Connection => self.fail(Error::conn(e.code, e.reason)),
            ErrorScope::Stream(id) => {
                // RFC 9113 §6.9: a rejected DATA frame still counts against
                // the connection window.
                if e.flow_controlled_len > 0 {
                    if self.recv_window.recv(e.flow_controlled_len).is_err() {
                        self.fail(Error::conn(
                            ErrorCode::FlowControlError,
                            "connection flow-control window exceeded",
                        ));
                        return;
                    }
                    self.recv_window.release(e.flow_controlled_len as usize);
                }
                if self.is_idle(id) {
                    // RFC 9113 §5.1: no RST_STREAM on an idle stream, so the
                    // stream error becomes a connection error. It keeps its
                    // code (e.g. FRAME_SIZE_ERROR, §4.2), so that the GOAWAY's
                    // code and debug text agree.
                    self.fail(Error::conn(e.code, e.reason));
                    return;
                }
                self.send_rst(id, e.code, e.reason.into(), true, true);
            }
        }
    }

    pub(super) fn is_local_id(&self, id: StreamId) -> bool {
        id.is_client_initiated() == self.role.is_client()
    }

    /// `true` if `id` was never used (RFC 9113 §5.1 "idle").
    pub(super) fn is_idle(&self, id: StreamId) -> bool {
        if self.streams.get(id).is_some_and(|s| s.state == State::Idle) {
            return true;
        }
        if self.streams.get(id).is_some() {
            return false;
        }
        if self.is_local_id(id) {
            // Not merely allocated: announced (RFC 9113 §5.1.1: a new id
            // implicitly closes the idle streams below it).
            self.local_announced.is_none_or(|h| id > h)
        } else {
            id > self.last_peer_id
        }
    }

    pub(super) fn on_frame(&mut self, frame: Frame) -> Res {
        // RFC 9113 §3.4: the peer's preface starts with a SETTINGS frame.
        if !self.got_peer_settings {
            match &frame {
                Frame::Settings(s) if !s.is_ack() => {}
                _ => return conn_err(ErrorCode::ProtocolError, "first frame is not SETTINGS"),
            }
        }
        match frame {
            Frame::Data(d) => self.on_data(d),
            Frame::Headers(h) => self.on_headers(h),
            Frame::Continuation(c) => self.on_continuation(c),
            Frame::Priority(p) => self.on_priority(p),
            Frame::RstStream(r) => self.on_rst_stream(r),
            Frame::Settings(s) => self.on_settings(s),
            Frame::PushPromise(p) => self.on_push_promise(p),
            Frame::Ping(p) => self.on_ping(p),
            Frame::GoAway(g) => self.on_goaway(g),
            Frame::WindowUpdate(w) => self.on_window_update(w),
            Frame::PriorityUpdate(p) => self.on_priority_update(p),
            // RFC 9113 §5.5: unknown and uninteresting extension frames are
            // ignored, but may be observed.
            f @ (Frame::AltSvc(_) | Frame::Origin(_) | Frame::Unknown(_)) => {
                if self.config.extension_frames {
                    self.events.push_back(Event::Extension(f));
                }
                Ok(())
            }
        }
    }

    /// A frame for a stream that is not live: idle, or closed and
    /// (perhaps) remembered (RFC 9113 §5.1).
    pub(super) fn on_not_live(&mut self, id: StreamId, kind: Kind) -> Res {
        if self.is_idle(id) {
            // RFC 9113 §5.1 idle: only HEADERS and PRIORITY may arrive.
            return conn_err(ErrorCode::ProtocolError, "frame on an idle stream");
        }
        // RFC 9113 §6.8: after our GOAWAY, frames on streams above its last
        // stream id are ignored.
        if !self.is_local_id(id) && self.goaway_sent.is_some_and(|last| id > last) {
            return Ok(());
        }
        let grace = self.config.limits.reset_grace_period;
        match self.streams.closed_cause(id) {
            // RFC 9113 §5.1: after we send RST_STREAM, frames in flight are
            // ignored.
            Some(ClosedCause::LocalReset(at)) if !super::expired(self.now, at, grace) => Ok(()),
            // RFC 9113 §5.1 (closed): an endpoint MAY treat frames other than
            // PRIORITY on a closed stream as a connection error STREAM_CLOSED;
            // the peer sent END_STREAM, so more DATA or HEADERS is its bug.
            // WINDOW_UPDATE and RST_STREAM may legitimately cross our
            // END_STREAM and are ignored.
            Some(ClosedCause::EndStream) => match kind {
                Kind::Data | Kind::Headers => {
                    conn_err(ErrorCode::StreamClosed, "frame after END_STREAM")
                }
                Kind::WindowUpdate | Kind::RstStream => Ok(()),
            },
            // Reset by the peer, closed long ago, or implicitly closed
            // (RFC 9113 §5.1.1): RFC 9113 §6.1 makes DATA a stream error
            // STREAM_CLOSED, and HEADERS gets the same; WINDOW_UPDATE and
            // RST_STREAM are ignored (never answer RST_STREAM with
            // RST_STREAM, §5.4.2).
            _ => match kind {
                Kind::RstStream | Kind::WindowUpdate => Ok(()),
                Kind::Data | Kind::Headers => {
                    stream_err(id, ErrorCode::StreamClosed, "frame on a closed stream")
                }
            },
        }
    }

    pub(super) fn empty_frame(&mut self) -> bool {
        // CVE-2019-9518.
        if self
            .empty_frames
            .hit(self.config.limits.empty_frame_rate, self.now)
        {
            self.calm(Limit::EmptyFrames);
            return true;
        }
        false
    }
}
