//! Commands: what the application asks the connection to do.

use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use super::{
    Connection, Error, Event, INITIAL_MAX_SEND_STREAMS, Initiator, Out, PingKind, Role,
    SHUTDOWN_PING, Shutdown, UserError, at,
};
use crate::error::ErrorCode;
use crate::flow::MAX_WINDOW;
use crate::frame::{Frame, GoAway, Ping, Settings, StreamId};
use crate::headers::{self, OutField, OutFields, RequestHead, ResponseHead};
use crate::priority::Priority;
use crate::stream::State;
use crate::stream::store::{ClosedCause, Stream};

/// The largest request header map (in fields) kept for its response.
const RECYCLED_MAP_CAPACITY: usize = 32;
/// At most this many request maps kept for responses.
const RECYCLED_MAPS: usize = 256;

impl Connection {
    pub(super) fn check_open(&self) -> Result<(), UserError> {
        if self.closing.is_some() || self.goaway_recv.is_some() || self.goaway_sent.is_some() {
            return Err(UserError::GoingAway);
        }
        if self.shutdown.is_some() {
            return Err(UserError::GoingAway);
        }
        Ok(())
    }

    /// RFC 9113 §6.5.2: a field section larger than the peer's
    /// SETTINGS_MAX_HEADER_LIST_SIZE would be refused; fail it here, before a
    /// stream is spent on it.
    pub(super) fn check_peer_header_list(&self, fields: &[OutField]) -> Result<(), UserError> {
        self.check_peer_header_list_size(headers::field_section_size(fields))
    }

    /// As [`check_peer_header_list`](Self::check_peer_header_list), for a
    /// section of `size` octets.
    pub(super) fn check_peer_header_list_size(&self, size: usize) -> Result<(), UserError> {
        let limit = self.peer.max_header_list_size;
        if size > limit as usize {
            return Err(UserError::HeaderListTooLarge { size, limit });
        }
        Ok(())
    }

    pub(super) fn alloc_local_id(&mut self) -> Result<StreamId, UserError> {
        let id = self.next_local_id.ok_or(UserError::StreamIdsExhausted)?;
        self.next_local_id = id.next_id();
        Ok(id)
    }

    /// (Client) opens a request stream. If the peer's
    /// SETTINGS_MAX_CONCURRENT_STREAMS is reached, the request waits (its
    /// stream id is already assigned) until a stream closes.
    pub fn send_request(
        &mut self,
        head: RequestHead,
        end_stream: bool,
    ) -> Result<StreamId, UserError> {
        if !self.role.is_client() {
            return Err(UserError::WrongRole);
        }
        self.check_open()?;
        // RFC 8441 §4: :protocol only after the server enabled it.
        if head.protocol.is_some() && !self.peer.connect_protocol {
            return Err(UserError::ConnectProtocolDisabled);
        }
        let priority = head
            .headers
            .get_all("priority")
            .iter()
            .fold(Priority::default(), |p, v| p.merged(v.as_bytes()));
        let head_request = head.method == http::Method::HEAD;
        let (fields, map) = headers::request_fields_keeping_map(head)?;
        self.check_peer_header_list(&fields)?;
        let id = self.alloc_local_id()?;
        // The request's map, emptied, takes a response's fields: a map
        // the caller allocated is freed by the caller, with the response.
        // (glibc frees memory allocated on another thread under that
        // thread's arena lock, which a runtime's threads then contend for.)
        // Bounded: one per stream, small maps only.
        if map.capacity() != 0
            && map.capacity() <= RECYCLED_MAP_CAPACITY
            && self.recycled_maps.len() <= self.streams.len().min(RECYCLED_MAPS)
        {
            self.recycled_maps.push(map);
        }
        let mut s = Stream::new(id, self.peer.initial_window, self.recv_initial);
        s.recv_window.set_target(self.stream_target);
        s.priority = priority;
        s.head_request = head_request;
        s.pending_open = Some((fields, end_stream));
        s.send_end = end_stream;
        self.streams.insert(s);
        self.queued_open.push_back(id);
        self.open_queued();
        Ok(id)
    }

    /// Sends HEADERS for queued requests while the peer's concurrency limit
    /// allows (RFC 9113 §5.1.2).
    pub(super) fn open_queued(&mut self) {
        while let Some(&id) = self.queued_open.front() {
            // Until the peer's SETTINGS arrive its limit is unknown (RFC 9113
            // §6.5.2: initially unlimited); assume the recommended 100.
            let limit = if self.got_peer_settings {
                self.peer.max_concurrent
            } else {
                self.peer.max_concurrent.min(INITIAL_MAX_SEND_STREAMS)
            };
            if self
                .streams
                .active_at_least(self.role.is_client(), true, limit)
            {
                return;
            }
            self.queued_open.pop_front();
            let Some(s) = self.streams.get_mut(id) else {
                continue;
            };
            let Some((fields, end_stream)) = s.pending_open.take() else {
                continue;
            };
            s.state = State::Idle
                .next(crate::stream::Transition::SendHeaders)
                .unwrap_or(State::Open);
            s.sent_head = true;
            if end_stream {
                s.send_end = false;
                s.state = s
                    .state
                    .next(crate::stream::Transition::SendEndStream)
                    .unwrap_or(State::HalfClosedLocal);
            }
            let work = s.has_send_work();
            let prio = s.priority;
            self.out.push_back(Out::Headers {
                id,
                fields: OutFields::List(fields),
                end_stream,
            });
            self.local_announced = Some(self.local_announced.map_or(id, |h| h.max(id)));
            if work {
                self.scheduler.push(id, prio);
            }
        }
    }

    /// (Server) sends the final response head on stream `id`.
    pub fn send_response(
        &mut self,
        id: StreamId,
        head: ResponseHead,
        end_stream: bool,
    ) -> Result<(), UserError> {
        if !self.role.is_server() {
            return Err(UserError::WrongRole);
        }
        if head.status.is_informational() {
            return self.send_informational(id, head);
        }
        let size = headers::check_response(&head)?;
        self.check_peer_header_list_size(size)?;
        self.send_head(id, OutFields::Response(head), end_stream, true)
    }

    /// (Server) sends an informational (1xx) response head (RFC 9113 §8.1).
    /// 101 is not allowed in HTTP/2 (RFC 9113 §8.6).
    pub fn send_informational(
        &mut self,
        id: StreamId,
        head: ResponseHead,
    ) -> Result<(), UserError> {
        if !self.role.is_server() {
            return Err(UserError::WrongRole);
        }
        if !head.status.is_informational() || head.status == http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(UserError::Malformed(headers::Malformed(
                "not a valid 1xx status",
            )));
        }
        let size = headers::check_response(&head)?;
        self.check_peer_header_list_size(size)?;
        self.send_head(id, OutFields::Response(head), false, false)
    }

    pub(super) fn send_head(
        &mut self,
        id: StreamId,
        fields: OutFields,
        end_stream: bool,
        final_head: bool,
    ) -> Result<(), UserError> {
        if self.closing.is_some() {
            return Err(UserError::GoingAway);
        }
        // RFC 9113 §5.1.2: a pushed response opens a stream that counts
        // toward the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
        if self
            .streams
            .get(id)
            .is_some_and(|s| s.state == State::ReservedLocal)
            && self
                .streams
                .active_at_least(self.role.is_client(), true, self.peer.max_concurrent)
        {
            return Err(UserError::ConcurrencyLimit);
        }
        let s = self
            .streams
            .get_mut(id)
            .ok_or(UserError::UnknownStream(id))?;
        if s.sent_head {
            return Err(UserError::InvalidState(id));
        }
        let next = s
            .state
            .next(crate::stream::Transition::SendHeaders)
            .map_err(|_| UserError::InvalidState(id))?;
        s.state = next;
        if final_head {
            s.sent_head = true;
        }
        if end_stream {
            s.state = s
                .state
                .next(crate::stream::Transition::SendEndStream)
                .map_err(|_| UserError::InvalidState(id))?;
        }
        self.out.push_back(Out::Headers {
            id,
            fields,
            end_stream,
        });
        if end_stream {
            self.maybe_close(id);
        }
        Ok(())
    }

    /// Queues body data on stream `id`; `end_stream` ends the stream after
    /// it. Data is sent as windows allow (RFC 9113 §6.9), split into frames
    /// no larger than the peer's SETTINGS_MAX_FRAME_SIZE.
    pub fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), UserError> {
        self.try_send_data(id, data, end_stream).map_err(|(e, _)| e)
    }

    /// As [`send_data`](Self::send_data), but a refused payload comes back
    /// with the error, so that a caller keeping it for later (after
    /// [`UserError::SendBufferFull`]) need not copy or share it first.
    pub fn try_send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), (UserError, Bytes)> {
        if self.closing.is_some() {
            return Err((UserError::GoingAway, data));
        }
        let per_stream = self.config.limits.max_send_buffer_per_stream;
        let total = self.config.limits.max_send_buffer;
        let Some(s) = self.streams.get_mut(id) else {
            return Err((UserError::UnknownStream(id), data));
        };
        let open_or_queued = s.state.can_send_data() || s.pending_open.is_some();
        if !open_or_queued
            || s.send_end
            || s.send_trailers.is_some()
            || !(s.sent_head || s.pending_open.is_some())
        {
            return Err((UserError::InvalidState(id), data));
        }
        if s.send_buffered + data.len() > per_stream || self.send_buffered + data.len() > total {
            if !self.capacity_waiters.contains(&id) {
                self.capacity_waiters.push(id);
            }
            return Err((UserError::SendBufferFull, data));
        }
        s.send_buffered += data.len();
        self.send_buffered += data.len();
        if !data.is_empty() {
            s.send_queue.push_back(data);
        }
        s.send_end = end_stream;
        if s.state.can_send_data() {
            let prio = s.priority;
            self.scheduler.push(id, prio);
        }
        Ok(())
    }

    /// Sends trailers on stream `id` after its queued data; this ends the
    /// stream.
    pub fn send_trailers(&mut self, id: StreamId, trailers: HeaderMap) -> Result<(), UserError> {
        if self.closing.is_some() {
            return Err(UserError::GoingAway);
        }
        let fields = headers::trailer_fields(trailers)?;
        self.check_peer_header_list(&fields)?;
        let s = self
            .streams
            .get_mut(id)
            .ok_or(UserError::UnknownStream(id))?;
        if !(s.state.can_send_data() || s.pending_open.is_some())
            || s.send_end
            || s.send_trailers.is_some()
            || !(s.sent_head || s.pending_open.is_some())
        {
            return Err(UserError::InvalidState(id));
        }
        s.send_trailers = Some(fields);
        if s.state.can_send_data() {
            let prio = s.priority;
            self.scheduler.push(id, prio);
        }
        Ok(())
    }

    /// Resets stream `id` with `code` (RST_STREAM, RFC 9113 §6.4).
    pub fn reset(&mut self, id: StreamId, code: ErrorCode) -> Result<(), UserError> {
        if !self.streams.live.contains_key(&id) {
            return Err(UserError::UnknownStream(id));
        }
        self.reset_stream(id, code, "reset by application", false);
        Ok(())
    }

    /// The application no longer needs stream `id`: if it is not finished,
    /// it is reset with CANCEL (RFC 9113 §8.1: a client that drops a
    /// request; a server that abandons a response). Unreleased received
    /// data is released.
    pub fn drop_stream(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(id) else {
            return;
        };
        let unreleased = s.recv_window.unreleased();
        let unreleased = usize::try_from(unreleased).unwrap_or(usize::MAX);
        self.recv_window.release(unreleased);
        if !s.state.is_closed() {
            self.reset_stream(id, ErrorCode::Cancel, "stream dropped", false);
        }
    }

    /// Releases `n` octets of received DATA of stream `id` that the
    /// application has consumed, so the peer may send more. WINDOW_UPDATEs
    /// are batched.
    pub fn release_capacity(&mut self, id: StreamId, n: usize) {
        let released = match self.streams.get_mut(id) {
            Some(s) => {
                let r = s.recv_window.release(n);
                if s.state.can_recv_data() {
                    self.mark_window_dirty(id);
                }
                r
            }
            // A closed stream: only the connection window is left.
            None => n,
        };
        self.recv_window.release(released);
    }

    /// Releases `n` octets of received DATA of streams that are closed (or
    /// whose peer ended them): only the connection's window takes them
    /// back, as [`release_capacity`](Self::release_capacity) does for such
    /// a stream.
    pub fn release_connection_capacity(&mut self, n: usize) {
        self.recv_window.release(n);
    }

    /// (Server) promises a pushed response for `request` on stream `id`
    /// (RFC 9113 §8.4). Returns the promised stream; send its response with
    /// [`send_response`](Self::send_response).
    pub fn push_promise(
        &mut self,
        id: StreamId,
        request: RequestHead,
    ) -> Result<StreamId, UserError> {
        if !self.role.is_server() {
            return Err(UserError::WrongRole);
        }
        self.check_open()?;
        if !self.peer.enable_push {
            return Err(UserError::PushDisabled);
        }
        // RFC 9113 §8.4.1: promised requests are safe and cacheable, no body.
        if !(request.method == http::Method::GET || request.method == http::Method::HEAD) {
            return Err(UserError::Malformed(headers::Malformed(
                "pushed request must be GET or HEAD",
            )));
        }
        let head_request = request.method == http::Method::HEAD;
        let fields = headers::request_fields(request)?;
        self.check_peer_header_list(&fields)?;
        let assoc = self.streams.get(id).ok_or(UserError::UnknownStream(id))?;
        // RFC 9113 §6.6: only on a peer-initiated stream (not on a pushed
        // one) that is open or half-closed (remote).
        if !id.is_client_initiated() || !assoc.state.can_send_data() {
            return Err(UserError::InvalidState(id));
        }
        let promised = self.alloc_local_id()?;
        let mut s = Stream::new(promised, self.peer.initial_window, self.recv_initial);
        s.state = State::Idle
            .next(crate::stream::Transition::SendPushPromise)
            .unwrap_or(State::ReservedLocal);
        s.head_request = head_request;
        self.streams.insert(s);
        self.out.push_back(Out::PushPromise {
            id,
            promised,
            fields,
        });
        self.local_announced = Some(promised);
        Ok(promised)
    }

    /// (Client) changes the priority of request stream `id`: sends a
    /// PRIORITY_UPDATE frame (RFC 9218 §7.1) and reorders our own sending.
    pub fn update_priority(&mut self, id: StreamId, priority: Priority) -> Result<(), UserError> {
        if !self.role.is_client() {
            return Err(UserError::WrongRole);
        }
        if self.closing.is_some() {
            return Err(UserError::GoingAway);
        }
        let s = self
            .streams
            .get_mut(id)
            .ok_or(UserError::UnknownStream(id))?;
        let priority = Priority {
            urgency: priority.urgency.min(7),
            incremental: priority.incremental,
        };
        s.priority = priority;
        if self.scheduler.contains(id) {
            self.scheduler.remove(id);
            self.scheduler.push(id, priority);
        }
        self.out.push_back(Out::Frame(Frame::PriorityUpdate(
            crate::frame::PriorityUpdate::new(id, Bytes::from(priority.to_string())),
        )));
        Ok(())
    }

    /// Sends a PING with `payload`; its ack arrives as [`Event::PingAck`].
    pub fn ping(&mut self, payload: [u8; 8], now: Instant) -> Result<(), UserError> {
        if self.closing.is_some() {
            return Err(UserError::GoingAway);
        }
        if self.pings.len() >= self.config.limits.max_pending_acks {
            return Err(UserError::TooManyPending);
        }
        self.send_ping(payload, PingKind::User, now);
        Ok(())
    }

    pub(super) fn send_ping(&mut self, payload: [u8; 8], kind: PingKind, now: Instant) {
        self.pings.push_back((payload, now, kind));
        self.out
            .push_back(Out::Frame(Frame::Ping(Ping::new(payload))));
    }

    /// Sends new SETTINGS. Values we receive under (windows, frame size,
    /// table size, concurrency) take effect when the peer acknowledges them
    /// (RFC 9113 §6.5.3).
    pub fn update_settings(&mut self, settings: Settings, now: Instant) -> Result<(), UserError> {
        if self.closing.is_some() {
            return Err(UserError::GoingAway);
        }
        if settings.is_ack() {
            return Err(UserError::InvalidSetting);
        }
        if self.pending_settings.len() >= self.config.limits.max_pending_acks {
            return Err(UserError::TooManyPending);
        }
        if settings
            .initial_window_size()
            .is_some_and(|w| i64::from(w) > MAX_WINDOW)
            || settings
                .max_frame_size()
                .is_some_and(|f| !(16_384..=(1 << 24) - 1).contains(&f))
            || (self.role.is_server() && settings.enable_push().is_some())
            || (self.role.is_client() && settings.enable_connect_protocol().is_some())
        {
            return Err(UserError::InvalidSetting);
        }
        if let Some(w) = settings.initial_window_size() {
            // Be lenient at once if the window grows (RFC 9113 §6.9.2).
            if w > self.recv_initial {
                let delta = i64::from(w) - i64::from(self.recv_initial);
                for s in self.streams.live.values_mut() {
                    let t = s.recv_window.target().max(w);
                    s.recv_window.adjust(delta, t);
                }
                self.recv_initial = w;
            }
            self.config.initial_window_size = w;
        }
        if let Some(f) = settings.max_frame_size() {
            if f > self.parser.max_frame_size() {
                self.parser.set_max_frame_size(f);
            }
            self.config.max_frame_size = f;
        }
        if let Some(n) = settings.max_header_list_size() {
            self.config.max_header_list_size = n;
            self.decoder.set_max_header_list_size(n as usize);
        }
        if let Some(n) = settings.max_concurrent_streams() {
            self.config.max_concurrent_streams = n;
        }
        if let Some(n) = settings.header_table_size() {
            if n as usize > self.decoder.max_table_size() {
                self.decoder.set_max_table_size(n as usize);
            }
            self.config.header_table_size = n;
        }
        if let Some(p) = settings.enable_push() {
            self.config.enable_push = p;
        }
        if let Some(p) = settings.enable_connect_protocol() {
            self.config.enable_connect_protocol = p;
        }
        self.pending_settings.push_back((settings.clone(), now));
        self.out.push_back(Out::Frame(Frame::Settings(settings)));
        Ok(())
    }

    /// Starts a graceful shutdown (RFC 9113 §6.8). A server first sends
    /// GOAWAY with 2^31-1 and a PING, then, once the PING is acknowledged,
    /// GOAWAY with the last stream it accepted; a client sends one GOAWAY.
    /// Open streams finish; the connection closes when none is left or
    /// after [`Config::shutdown_timeout`](super::Config::shutdown_timeout).
    pub fn graceful_shutdown(&mut self, now: Instant) {
        if self.closing.is_some() || self.shutdown.is_some() {
            return;
        }
        let deadline = at(now, self.config.shutdown_timeout).unwrap_or(now);
        match self.role {
            Role::Server => {
                self.out.push_back(Out::Frame(Frame::GoAway(GoAway::new(
                    StreamId::MAX,
                    ErrorCode::NoError,
                ))));
                self.send_ping(SHUTDOWN_PING, PingKind::Shutdown, now);
                self.shutdown = Some((Shutdown::AwaitingPing, deadline));
            }
            Role::Client => {
                self.send_final_goaway();
                self.shutdown = Some((Shutdown::Draining, deadline));
            }
        }
        self.check_drained();
    }

    pub(super) fn send_final_goaway(&mut self) {
        let last = self.last_processed;
        self.goaway_sent = Some(last);
        self.out.push_back(Out::Frame(Frame::GoAway(GoAway::new(
            last,
            ErrorCode::NoError,
        ))));
        // Queued requests will never be sent.
        let queued: Vec<_> = self.queued_open.drain(..).collect();
        for id in queued {
            self.streams.close(id, ClosedCause::EndStream, 0);
            self.events.push_back(Event::Reset {
                error: Error::Stream {
                    id,
                    code: ErrorCode::RefusedStream,
                    initiator: Initiator::Local,
                    why: "connection shutting down".into(),
                    retryable: true,
                },
            });
        }
    }

    /// Closes the connection at once: GOAWAY with `code` and `debug`
    /// (RFC 9113 §5.4.1), every stream fails.
    pub fn close(&mut self, code: ErrorCode, debug: &'static str) {
        self.fail(Error::conn(code, debug));
    }
}
