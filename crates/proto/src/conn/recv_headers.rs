//! Receiving field blocks: HEADERS, PUSH_PROMISE and CONTINUATION
//! (RFC 9113 §4.3, §6.2, §6.6, §6.10, §8.1–§8.4).

use super::recv::Kind;
use super::recv::{Res, conn_err, stream_err};
use super::{Connection, Error, Event};
use crate::error::ErrorCode;
use crate::field_cache::{KEEP_MAX, Parsed};
use crate::frame::{Continuation, Headers, PushPromise, StreamId};
use crate::headers::{self, BlockBuilder, BlockKind, Message, ResponseHead};
use crate::limits::Limit;
use crate::priority;
use crate::stream::store::{ClosedCause, RecvPhase, Stream};
use crate::stream::{State, Transition};
use bytes::BytesMut;
use http::{Method, StatusCode};
use ropewalk_hpack::DecodeError;

/// A field block whose CONTINUATION frames are still arriving
/// (RFC 9113 §4.3, §6.10).
#[derive(Debug)]
pub(super) struct PartialBlock {
    id: StreamId,
    promised: Option<StreamId>,
    block: BytesMut,
    frames: u32,
    end_stream: bool,
    self_dependent: bool,
    /// When the block's first frame arrived (for
    /// [`Limits::header_block_timeout`](crate::limits::Limits::header_block_timeout)).
    pub(super) started: std::time::Instant,
}

/// The outcome of decoding a field block.
// Returned once per block and taken apart at once: boxing the message, to
// keep the variants alike, cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub(super) enum Block {
    /// A valid message, and which fields the connection reads came.
    Ok(Message, headers::Seen),
    /// A malformed one (RFC 9113 §8.1.1).
    Malformed(&'static str),
    /// Over SETTINGS_MAX_HEADER_LIST_SIZE or the field-count cap.
    TooLarge,
}

impl Connection {
    pub(super) fn on_headers(&mut self, h: Headers) -> Res {
        let id = h.stream_id;
        // RFC 7540 §5.3.1: "A stream cannot depend on itself" (RFC 9113 §5.3.2
        // keeps the mandatory handling of the deprecated fields).
        let self_dependent = h.priority.is_some_and(|p| p.dependency == id);
        let limits = &self.config.limits;
        if h.header_block.len() > limits.max_header_block_size as usize {
            self.calm(Limit::HeaderBlockSize);
            return Ok(());
        }
        if !h.end_headers {
            if h.header_block.is_empty() && !h.end_stream && self.empty_frame() {
                return Ok(());
            }
            self.partial = Some(PartialBlock {
                id,
                promised: None,
                block: BytesMut::from(&h.header_block[..]),
                frames: 0,
                end_stream: h.end_stream,
                self_dependent,
                started: self.now,
            });
            return Ok(());
        }
        self.on_header_block(id, &h.header_block, h.end_stream, self_dependent)
    }

    pub(super) fn on_continuation(&mut self, c: Continuation) -> Res {
        let max_frames = self.config.limits.max_continuation_frames;
        let max_size = self.config.limits.max_header_block_size as usize;
        let Some(p) = self.partial.as_mut() else {
            // RFC 9113 §6.10: CONTINUATION only follows an unfinished block.
            return conn_err(ErrorCode::ProtocolError, "unexpected CONTINUATION");
        };
        if p.id != c.stream_id {
            return conn_err(ErrorCode::ProtocolError, "CONTINUATION on another stream");
        }
        p.frames += 1;
        // CVE-2024-27316 and siblings: bound frames and octets per block.
        if p.frames > max_frames {
            self.partial = None;
            self.calm(Limit::ContinuationFrames);
            return Ok(());
        }
        if p.block.len() + c.header_block.len() > max_size {
            self.partial = None;
            self.calm(Limit::HeaderBlockSize);
            return Ok(());
        }
        p.block.extend_from_slice(&c.header_block);
        if c.header_block.is_empty() && !c.end_headers && self.empty_frame() {
            return Ok(());
        }
        if !c.end_headers {
            return Ok(());
        }
        let Some(p) = self.partial.take() else {
            return Ok(());
        };
        let block = p.block.freeze();
        match p.promised {
            Some(promised) => self.on_push_block(p.id, promised, &block),
            None => self.on_header_block(p.id, &block, p.end_stream, p.self_dependent),
        }
    }

    /// Decodes a block (always: the HPACK context must stay in sync even
    /// for blocks we discard) and validates it as `kind`.
    pub(super) fn decode_block(&mut self, block: &[u8], kind: BlockKind) -> Result<Block, Error> {
        let connect_protocol = self.role.is_server() && self.config.enable_connect_protocol;
        let values = std::mem::take(&mut self.field_values);
        let mut b = BlockBuilder::with_buffer(kind, connect_protocol, values);
        if kind == BlockKind::Response {
            if let Some(map) = self.recycled_maps.pop() {
                b = b.with_map(map);
            }
        }
        // A field sent by its dynamic-table index is cloned from what it
        // was parsed into the first time (`FieldCache`), or parsed and kept.
        let cache = &mut self.field_cache;
        // A `:path` sent as a literal: cloned when it repeats (`LiteralPath`).
        let paths = &mut self.literal_path;
        let r = self.decoder.decode(block, |f| match f.dynamic {
            Some(n) => match cache.get(n) {
                Some(parsed) => b.kept(parsed),
                None if f.name.len() + f.value.len() <= KEEP_MAX => {
                    if let Some(parsed) = b.field_to_keep(f.name, f.value) {
                        cache.put(n, parsed);
                    }
                }
                None => b.field(f.name, f.value, f.never_indexed),
            },
            None if f.name == b":path" && kind == BlockKind::Request => {
                if let Some(parsed) = paths.get(f.value) {
                    b.kept(parsed);
                } else if paths.repeats(f.value) {
                    if let Some(Parsed::Path(p)) = b.field_to_keep(f.name, f.value) {
                        paths.keep(p);
                    }
                } else {
                    b.field(f.name, f.value, f.never_indexed);
                }
            }
            None => b.field(f.name, f.value, f.never_indexed),
        });
        self.field_values = b.take_buffer();
        match r {
            // RFC 9113 §4.3: a decoding error is a COMPRESSION_ERROR.
            Err(e) if e.is_connection_error() => Err(Error::conn(
                ErrorCode::CompressionError,
                "HPACK decoding failed",
            )),
            Err(e) => {
                // An HPACK bomb: far beyond the limit, not merely over it.
                let fatal = self.config.limits.header_list_fatal_multiple as usize;
                let far = match e {
                    DecodeError::HeaderListTooLarge { size, limit } => {
                        size > limit.saturating_mul(fatal)
                    }
                    DecodeError::TooManyFields { count, limit } => {
                        count > limit.saturating_mul(fatal)
                    }
                    _ => false,
                };
                if far {
                    return Err(Error::conn(
                        ErrorCode::EnhanceYourCalm,
                        Limit::HeaderListSize.name(),
                    ));
                }
                Ok(Block::TooLarge)
            }
            Ok(()) => Ok(match (b.seen(), b.finish()) {
                (seen, Ok(m)) => Block::Ok(m, seen),
                (_, Err(m)) => Block::Malformed(m.0),
            }),
        }
    }

    pub(super) fn on_header_block(
        &mut self,
        id: StreamId,
        block: &[u8],
        end_stream: bool,
        self_dep: bool,
    ) -> Res {
        let Some(s) = self.streams.get(id) else {
            return self.on_new_headers(id, block, end_stream, self_dep);
        };
        let (state, phase) = (s.state, s.recv_phase);
        let kind = match (self.role.is_client(), phase) {
            (true, RecvPhase::AwaitingHead | RecvPhase::Informational) => BlockKind::Response,
            _ => BlockKind::Trailers,
        };
        let outcome = self.decode_block(block, kind)?;
        match state {
            State::Open | State::HalfClosedLocal => {}
            State::ReservedRemote if self.role.is_client() => {}
            // RFC 9113 §5.1 half-closed (remote).
            State::HalfClosedRemote | State::Closed => {
                return stream_err(id, ErrorCode::StreamClosed, "HEADERS after END_STREAM");
            }
            State::Idle | State::ReservedLocal | State::ReservedRemote => {
                return conn_err(
                    ErrorCode::ProtocolError,
                    "HEADERS on a stream in the wrong state",
                );
            }
        }
        if self_dep {
            return stream_err(id, ErrorCode::ProtocolError, "stream depends on itself");
        }
        let (msg, seen) = match outcome {
            Block::Ok(m, seen) => (m, seen),
            Block::Malformed(why) => return stream_err(id, ErrorCode::ProtocolError, why),
            Block::TooLarge => {
                return stream_err(id, ErrorCode::Cancel, "header list too large");
            }
        };
        let Some(s) = self.streams.get_mut(id) else {
            return Ok(());
        };
        match msg {
            Message::Response(head) => {
                if state == State::ReservedRemote {
                    // RFC 9113 §8.4.2: the pushed response opens the stream.
                    s.state = s
                        .state
                        .next(Transition::RecvHeaders)
                        .unwrap_or(State::HalfClosedLocal);
                }
                if head.status.is_informational() {
                    // RFC 9113 §8.1: a 1xx HEADERS with END_STREAM is malformed.
                    if end_stream {
                        return stream_err(id, ErrorCode::ProtocolError, "1xx with END_STREAM");
                    }
                    s.recv_phase = RecvPhase::Informational;
                    self.events
                        .push_back(Event::Informational { stream: id, head });
                    return Ok(());
                }
                let cl = match seen.content_length_in(&head.headers) {
                    Ok(cl) => cl,
                    Err(m) => return stream_err(id, ErrorCode::ProtocolError, m.0),
                };
                s.recv_phase = RecvPhase::Body;
                s.content_length = cl;
                s.no_body = s.head_request
                    || head.status == StatusCode::NO_CONTENT
                    || head.status == StatusCode::NOT_MODIFIED;
                if end_stream && !s.no_body && cl.is_some_and(|n| n > 0) {
                    return stream_err(id, ErrorCode::ProtocolError, "content-length mismatch");
                }
                if end_stream {
                    s.state = s
                        .state
                        .next(Transition::RecvEndStream)
                        .unwrap_or(State::Closed);
                }
                self.heads_received += 1;
                self.events.push_back(Event::Response {
                    stream: id,
                    head,
                    end_stream,
                    body_len: if s.no_body { Some(0) } else { cl },
                });
            }
            Message::Trailers(trailers) => {
                // RFC 9113 §8.1: trailers carry END_STREAM.
                if !end_stream {
                    return stream_err(id, ErrorCode::ProtocolError, "trailers without END_STREAM");
                }
                if !s.no_body && s.content_length.is_some_and(|cl| cl != s.received) {
                    return stream_err(id, ErrorCode::ProtocolError, "content-length mismatch");
                }
                s.state = s
                    .state
                    .next(Transition::RecvEndStream)
                    .unwrap_or(State::Closed);
                self.events.push_back(Event::Trailers {
                    stream: id,
                    trailers,
                });
            }
            Message::Request(_) => {
                return stream_err(id, ErrorCode::ProtocolError, "unexpected request head");
            }
        }
        if end_stream {
            self.maybe_close(id);
        }
        Ok(())
    }

    /// HEADERS on a stream that is not live.
    pub(super) fn on_new_headers(
        &mut self,
        id: StreamId,
        block: &[u8],
        end_stream: bool,
        self_dep: bool,
    ) -> Res {
        let peer_id = !self.is_local_id(id);
        if !(peer_id && id > self.last_peer_id) {
            // Closed, or a local id: keep HPACK in sync, then §5.1 rules.
            if self.is_idle(id) {
                return conn_err(
                    ErrorCode::ProtocolError,
                    "HEADERS on an idle stream of ours",
                );
            }
            self.decode_block(block, BlockKind::Trailers)?;
            if peer_id && self.streams.closed_cause(id).is_none() {
                // RFC 9113 §5.1.1: ids must increase.
                return conn_err(ErrorCode::ProtocolError, "stream id reused or decreasing");
            }
            return self.on_not_live(id, Kind::Headers);
        }
        if self.role.is_client() {
            // RFC 9113 §8.4: a server opens streams only with PUSH_PROMISE.
            return conn_err(
                ErrorCode::ProtocolError,
                "server opened a stream with HEADERS",
            );
        }
        // RFC 9113 §5.1.1: this implicitly closes lower idle streams.
        self.last_peer_id = id;
        let outcome = self.decode_block(block, BlockKind::Request)?;
        // RFC 9113 §6.8: streams above our GOAWAY's last id are ignored.
        if self.goaway_sent.is_some_and(|last| id > last) {
            return Ok(());
        }
        self.last_processed = id;
        if self_dep {
            return stream_err(id, ErrorCode::ProtocolError, "stream depends on itself");
        }
        let (head, seen) = match outcome {
            Block::Ok(m, seen) => match m {
                Message::Request(head) => (head, seen),
                _ => return stream_err(id, ErrorCode::ProtocolError, "not a request"),
            },
            Block::Malformed(why) => return stream_err(id, ErrorCode::ProtocolError, why),
            Block::TooLarge => {
                self.refuse_431(id, end_stream);
                return Ok(());
            }
        };
        // RFC 9113 §5.1.2: over our SETTINGS_MAX_CONCURRENT_STREAMS.
        if self.streams.active_at_least(
            self.role.is_client(),
            false,
            self.config.max_concurrent_streams,
        ) {
            self.send_rst(
                id,
                ErrorCode::RefusedStream,
                "concurrency limit".into(),
                false,
                false,
            );
            return Ok(());
        }
        let cl = match seen.content_length_in(&head.headers) {
            Ok(cl) => cl,
            Err(m) => return stream_err(id, ErrorCode::ProtocolError, m.0),
        };
        if end_stream && cl.is_some_and(|n| n > 0) {
            return stream_err(id, ErrorCode::ProtocolError, "content-length mismatch");
        }
        let mut s = Stream::new(id, self.peer.initial_window, self.recv_initial);
        s.recv_window.set_target(self.stream_target);
        s.state = State::Idle
            .next(Transition::RecvHeaders)
            .unwrap_or(State::Open);
        if end_stream {
            s.state = s
                .state
                .next(Transition::RecvEndStream)
                .unwrap_or(State::HalfClosedRemote);
        }
        s.recv_phase = RecvPhase::Body;
        s.content_length = cl;
        // RFC 9218 §7: a PRIORITY_UPDATE that came before the stream opened
        // is the latest signal and overrides the field.
        let early = if self.early_priorities.is_empty() {
            None
        } else {
            let early = self.early_priorities.remove(&id);
            self.prune_early_priorities();
            early
        };
        if let Some(p) = early {
            s.priority = p;
        } else if seen.priority {
            // RFC 9218 §5: the priority field, if the request has one.
            s.priority = head
                .headers
                .get_all("priority")
                .iter()
                .fold(priority::Priority::default(), |p, v| p.merged(v.as_bytes()));
        }
        self.streams.insert(s);
        if self.stream_target > self.recv_initial {
            // The BDP-grown target is announced with a WINDOW_UPDATE.
            self.mark_window_dirty(id);
        }
        self.heads_received += 1;
        self.events.push_back(Event::Request {
            stream: id,
            head,
            end_stream,
        });
        Ok(())
    }

    /// A request whose header list is over our limit: answer 431 and stop
    /// the stream (RFC 9113 §8.1; RFC 6585 §5), charged to the reset budget.
    pub(super) fn refuse_431(&mut self, id: StreamId, end_stream: bool) {
        let mut s = Stream::new(id, self.peer.initial_window, self.recv_initial);
        s.state = State::Open;
        if end_stream {
            s.state = State::HalfClosedRemote;
        }
        s.recv_phase = RecvPhase::Body;
        self.streams.insert(s);
        let head = ResponseHead::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let _ = self.send_head(id, headers::OutFields::Response(head), true, true);
        if self.streams.get(id).is_some() {
            self.send_rst(
                id,
                ErrorCode::NoError,
                "header list too large".into(),
                true,
                false,
            );
        } else if self.resets.hit(self.config.limits.reset_rate, self.now) {
            self.calm(Limit::ResetRate);
        }
    }

    pub(super) fn on_push_promise(&mut self, p: PushPromise) -> Res {
        // RFC 9113 §8.4: only servers push.
        if self.role.is_server() {
            return conn_err(ErrorCode::ProtocolError, "client sent PUSH_PROMISE");
        }
        // RFC 9113 §6.5.2: push disabled and acknowledged.
        if !self.local.enable_push && self.pending_settings.is_empty() {
            return conn_err(ErrorCode::ProtocolError, "PUSH_PROMISE with push disabled");
        }
        if p.header_block.len() > self.config.limits.max_header_block_size as usize {
            self.calm(Limit::HeaderBlockSize);
            return Ok(());
        }
        if !p.end_headers {
            self.partial = Some(PartialBlock {
                id: p.stream_id,
                promised: Some(p.promised_id),
                block: BytesMut::from(&p.header_block[..]),
                frames: 0,
                end_stream: false,
                self_dependent: false,
                started: self.now,
            });
            return Ok(());
        }
        self.on_push_block(p.stream_id, p.promised_id, &p.header_block)
    }

    pub(super) fn on_push_block(
        &mut self,
        assoc: StreamId,
        promised: StreamId,
        block: &[u8],
    ) -> Res {
        // RFC 9113 §5.1.1, §6.6: a new, server-initiated, increasing id.
        if !promised.is_server_initiated() || promised <= self.last_peer_id {
            return conn_err(ErrorCode::ProtocolError, "invalid promised stream id");
        }
        self.last_peer_id = promised;
        let outcome = self.decode_block(block, BlockKind::Request)?;
        // RFC 9113 §6.8: after our GOAWAY, promises above its last stream id
        // are ignored (the block was decoded, so HPACK stays in sync), and
        // that id must never grow.
        if self.goaway_sent.is_some_and(|last| promised > last) {
            return Ok(());
        }
        self.last_processed = promised;
        match self.streams.get(assoc).map(|s| s.state) {
            // RFC 9113 §6.6: the associated stream is open or half-closed
            // (remote) from the server's view.
            Some(State::Open | State::HalfClosedLocal) => {}
            _ => {
                let grace = self.config.limits.reset_grace_period;
                if let Some(ClosedCause::LocalReset(at)) = self.streams.closed_cause(assoc) {
                    if !super::expired(self.now, at, grace) {
                        self.send_rst(
                            promised,
                            ErrorCode::Cancel,
                            "push on a reset stream".into(),
                            false,
                            false,
                        );
                        return Ok(());
                    }
                }
                return conn_err(
                    ErrorCode::ProtocolError,
                    "PUSH_PROMISE on a stream in the wrong state",
                );
            }
        }
        if !self.config.enable_push {
            self.send_rst(
                promised,
                ErrorCode::RefusedStream,
                "push disabled".into(),
                false,
                false,
            );
            return Ok(());
        }
        let head = match outcome {
            Block::Ok(m, _) => match m {
                Message::Request(head) => head,
                _ => return stream_err(promised, ErrorCode::ProtocolError, "not a request"),
            },
            Block::Malformed(why) => return stream_err(promised, ErrorCode::ProtocolError, why),
            Block::TooLarge => {
                return stream_err(promised, ErrorCode::Cancel, "header list too large");
            }
        };
        // RFC 9113 §8.4.1: promised requests are safe and cacheable.
        if head.method != Method::GET && head.method != Method::HEAD {
            return stream_err(
                promised,
                ErrorCode::ProtocolError,
                "pushed request is not GET or HEAD",
            );
        }
        // Reserved streams do not count toward MAX_CONCURRENT_STREAMS
        // (RFC 9113 §5.1.2), so bound them separately: refuse pushes beyond
        // that many reserved streams, charged to the reset budget.
        let reserved = self
            .streams
            .live
            .values()
            .filter(|s| s.state == State::ReservedRemote)
            .count() as u64;
        if reserved >= u64::from(self.config.max_concurrent_streams) {
            self.send_rst(
                promised,
                ErrorCode::RefusedStream,
                "too many reserved streams".into(),
                true,
                false,
            );
            return Ok(());
        }
        let mut s = Stream::new(promised, self.peer.initial_window, self.recv_initial);
        s.state = State::Idle
            .next(Transition::RecvPushPromise)
            .unwrap_or(State::ReservedRemote);
        s.head_request = head.method == Method::HEAD;
        self.streams.insert(s);
        self.events.push_back(Event::PushPromise {
            stream: assoc,
            promised,
            head,
        });
        Ok(())
    }
}
