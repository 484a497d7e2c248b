//! The client's per-connection task: owns the sans-I/O [`Connection`],
//! feeds it what the socket reads, writes what it emits through the shared
//! [`Output`] queue (vectored, DATA payloads not copied), drives its timers,
//! and talks to request callers over channels — the mirror image of the
//! server's driver.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response, StatusCode};
use ropewalk_proto::conn::{Config, Connection, Error as ConnError, Event, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::StreamId;
use ropewalk_proto::headers::RequestHead;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::debug;

use super::error::Error;
use super::frames::{Direction, FrameLog, FrameScan};
use super::push::PushedResponse;
use crate::body::{BodyMsg, Incoming, Releaser};
use crate::io::{Output, Pulled, ReadSize};

/// Octets of request body a caller may have queued (in this task or the
/// core) per stream before it waits for them to be written.
pub(crate) const STREAM_BUDGET: usize = 256 * 1024;

/// A response head as the task hands it over.
pub(crate) type ResponseResult = Result<Response<Incoming>, Error>;

/// What request callers ask of the connection task.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Open a request stream.
    Request(Box<Open>),
    /// Request body data.
    Data(StreamId, Bytes, bool),
    /// Request trailers (end the stream).
    Trailers(StreamId, HeaderMap),
    /// Reset a stream (the request body failed, or the caller gave up).
    Reset(StreamId, ErrorCode),
    /// A response body was read: give its flow-control capacity back.
    Release(StreamId, usize),
}

/// A request to open.
#[derive(Debug)]
pub(crate) struct Open {
    pub(crate) head: RequestHead,
    pub(crate) end_stream: bool,
    /// Answered at once: the stream and its body credit, or why not.
    pub(crate) opened: oneshot::Sender<Result<(StreamId, Arc<Semaphore>), Error>>,
    /// Answered when the final response head arrives.
    pub(crate) response: oneshot::Sender<ResponseResult>,
    /// Where pushed responses promised on this stream go; `None` refuses them.
    pub(crate) pushes: Option<mpsc::Sender<PushedResponse>>,
}

/// Informational (1xx) responses that preceded the final response, in the
/// order they arrived: a response extension.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InformationalResponses(pub Vec<(StatusCode, HeaderMap)>);

/// What the pool sees of a connection.
#[derive(Debug)]
pub(crate) struct Shared {
    /// GOAWAY received or sent, or the connection is closed: no new requests.
    pub(crate) going_away: AtomicBool,
    /// Streams the task is tracking (requests and pushes).
    pub(crate) active: AtomicUsize,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (100 until known).
    pub(crate) peer_max: AtomicU32,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            going_away: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            peer_max: AtomicU32::new(100),
        }
    }

    /// Takes no new requests.
    pub(crate) fn is_going_away(&self) -> bool {
        self.going_away.load(Ordering::Acquire)
    }

    /// Has a free stream slot.
    pub(crate) fn has_slot(&self) -> bool {
        self.active.load(Ordering::Relaxed) < self.peer_max.load(Ordering::Relaxed) as usize
    }
}

enum Pending {
    Data(Bytes, bool),
    Trailers(HeaderMap),
}

#[derive(Default)]
struct StreamCtx {
    response: Option<oneshot::Sender<ResponseResult>>,
    body_tx: Option<mpsc::UnboundedSender<BodyMsg>>,
    credit: Option<Arc<Semaphore>>,
    pending: VecDeque<Pending>,
    pushes: Option<mpsc::Sender<PushedResponse>>,
    informational: Vec<(StatusCode, HeaderMap)>,
    /// The server's side of the stream is finished (or it failed).
    recv_done: bool,
    /// Our side is finished (request sent, or abandoned).
    send_done: bool,
}

/// Settings of the connection task.
#[derive(Clone)]
pub(crate) struct TaskOptions {
    pub(crate) h2: Config,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) frame_log: Option<FrameLog>,
}

pub(crate) struct Task {
    conn: Connection,
    streams: HashMap<StreamId, StreamCtx>,
    /// Streams with request data waiting in `StreamCtx::pending`.
    queued: Vec<StreamId>,
    /// Weak, so that the command channel closes once the client, every
    /// request and every response body are gone.
    cmd_tx: mpsc::WeakUnboundedSender<Cmd>,
    shared: Arc<Shared>,
    out: Output,
    opts: TaskOptions,
    scan_in: FrameScan,
    scan_out: FrameScan,
    /// A request was opened since the idle check last looked.
    requests_seen: bool,
}

impl Task {
    pub(crate) fn new(
        opts: TaskOptions,
        shared: Arc<Shared>,
        cmd_tx: mpsc::UnboundedSender<Cmd>,
    ) -> Task {
        Task {
            conn: Connection::client(opts.h2.clone(), Instant::now()),
            streams: HashMap::new(),
            queued: Vec::new(),
            cmd_tx: cmd_tx.downgrade(),
            shared,
            out: Output::new(),
            scan_in: FrameScan::new(Direction::Received, false),
            scan_out: FrameScan::new(Direction::Sent, true),
            requests_seen: false,
            opts,
        }
    }

    /// A task for a connection upgraded from HTTP/1.1 (RFC 7540 §3.2): the
    /// upgrade request `head` is stream 1, whose response nobody waits
    /// for; it is read and discarded.
    pub(crate) fn upgraded(
        opts: TaskOptions,
        shared: Arc<Shared>,
        cmd_tx: mpsc::UnboundedSender<Cmd>,
        head: &RequestHead,
    ) -> Task {
        let mut t = Task::new(opts, shared, cmd_tx);
        t.conn = Connection::client_upgraded(t.opts.h2.clone(), Instant::now(), head);
        t.streams.insert(
            ropewalk_proto::conn::UPGRADE_STREAM,
            StreamCtx {
                send_done: true,
                ..StreamCtx::default()
            },
        );
        t
    }

    /// Runs the connection to its end; `prefix` holds octets the server
    /// already sent (after an upgrade's 101 response).
    pub(crate) async fn run<IO>(
        mut self,
        io: IO,
        mut cmd_rx: mpsc::UnboundedReceiver<Cmd>,
        prefix: BytesMut,
    ) where
        IO: AsyncRead + AsyncWrite + Send + Unpin,
    {
        let (mut rd, mut wr) = tokio::io::split(io);
        let mut read_size = ReadSize::new();
        let mut rbuf = BytesMut::new();
        if !prefix.is_empty() {
            if let Some(log) = &self.opts.frame_log {
                self.scan_in.scan(&prefix, log);
            }
            rbuf.extend_from_slice(&prefix);
        }
        let mut read_open = true;
        let mut cmds_open = true;
        let mut idle_since = Some(Instant::now());
        loop {
            if !rbuf.is_empty() && self.conn.wants_read() && !self.conn.is_closed() {
                self.conn.recv(&mut rbuf, Instant::now());
            }
            self.transmit();
            if self.conn.is_closed() && self.out.is_empty() {
                break;
            }
            if !read_open && self.out.is_empty() {
                break;
            }
            let now = Instant::now();
            // A request opened since the last check restarts the idle time
            // (one answered within a turn of this loop leaves no stream).
            let busy = std::mem::take(&mut self.requests_seen);
            if self.streams.is_empty() && self.conn.stream_count() == 0 {
                if busy {
                    idle_since = Some(now);
                } else {
                    idle_since.get_or_insert(now);
                }
                if !cmds_open && !self.shared.is_going_away() {
                    // Nobody can send a request any more: say goodbye
                    // (RFC 9113 §6.8).
                    self.go_away(now);
                    continue;
                }
            } else {
                idle_since = None;
            }
            let mut deadline = self.conn.next_timeout();
            if let (Some(since), Some(idle)) = (idle_since, self.opts.idle_timeout) {
                let t = since + idle;
                deadline = Some(deadline.map_or(t, |d| d.min(t)));
            }
            let sleep_to = deadline.unwrap_or_else(|| now + Duration::from_secs(3600));
            let room = read_size.prepare(&mut rbuf);
            let can_read = read_open && self.conn.wants_read();
            let out = &self.out;
            tokio::select! {
                biased;
                cmd = cmd_rx.recv(), if cmds_open => {
                    match cmd {
                        Some(cmd) => {
                            self.on_cmd(cmd);
                            while let Ok(cmd) = cmd_rx.try_recv() {
                                self.on_cmd(cmd);
                            }
                        }
                        None => cmds_open = false,
                    }
                }
                res = out.write_some(&mut wr), if !out.is_empty() => {
                    match res {
                        Ok(0) | Err(_) => {
                            debug!("write failed; closing");
                            self.fail_all(&Error::Closed("writing to the server failed".into()));
                            break;
                        }
                        Ok(n) => self.out.advance(n),
                    }
                }
                res = rd.read_buf(&mut rbuf), if can_read => {
                    match res {
                        Ok(0) | Err(_) => {
                            read_open = false;
                            self.shared.going_away.store(true, Ordering::Release);
                            self.fail_all(&Error::Closed(
                                "the server closed the connection".into(),
                            ));
                            self.out.clear();
                        }
                        Ok(n) => {
                            read_size.record(n, room);
                            if let Some(log) = &self.opts.frame_log {
                                self.scan_in.scan(&rbuf[rbuf.len() - n..], log);
                            }
                            self.conn.recv(&mut rbuf, Instant::now());
                        }
                    }
                }
                _ = tokio::time::sleep_until(sleep_to.into()) => {
                    let now = Instant::now();
                    if let (Some(since), Some(idle)) = (idle_since, self.opts.idle_timeout) {
                        if now >= since + idle {
                            debug!("idle timeout");
                            self.go_away(now);
                            idle_since = None;
                        }
                    }
                    self.conn.handle_timeout(now);
                }
            }
        }
        self.shared.going_away.store(true, Ordering::Release);
        self.transmit();
        self.out.finish(&mut wr, Duration::from_secs(1)).await;
        self.fail_all(&Error::Closed("connection closed".into()));
    }

    fn go_away(&mut self, now: Instant) {
        self.shared.going_away.store(true, Ordering::Release);
        self.conn.graceful_shutdown(now);
    }

    /// Handles the core's events and pulls what it has to send into the
    /// output queue.
    fn transmit(&mut self) {
        for _ in 0..2 {
            while let Some(ev) = self.conn.poll_event() {
                self.on_event(ev);
            }
            self.flush_pending();
            while self.out.has_room() && self.conn.wants_write() {
                let log = self.opts.frame_log.as_ref();
                let scan = &mut self.scan_out;
                let pulled = self.out.pull_tap(&mut self.conn, Instant::now(), |b| {
                    if let Some(log) = log {
                        scan.scan(b, log);
                    }
                });
                match pulled {
                    Pulled::Nothing => break,
                    Pulled::Frames => {}
                    Pulled::Data { stream, len } => {
                        // Written into the core's window: the caller may send more.
                        if let Some(c) = self.streams.get(&stream).and_then(|c| c.credit.as_ref()) {
                            c.add_permits(len);
                        }
                    }
                }
                self.flush_pending();
            }
            // Events the writes produced (SendCapacity) may unblock queued data.
            while let Some(ev) = self.conn.poll_event() {
                self.on_event(ev);
            }
            if !self.out.has_room() || self.queued.is_empty() {
                break;
            }
        }
        self.shared
            .active
            .store(self.streams.len(), Ordering::Relaxed);
    }

    fn flush_pending(&mut self) {
        if self.queued.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.queued);
        for id in ids {
            while let Some(ctx) = self.streams.get_mut(&id) {
                let Some(p) = ctx.pending.pop_front() else {
                    break;
                };
                let res = match &p {
                    Pending::Data(d, end) => self.conn.send_data(id, d.clone(), *end),
                    Pending::Trailers(t) => self.conn.send_trailers(id, t.clone()),
                };
                match res {
                    Ok(()) => {
                        if matches!(p, Pending::Data(_, true) | Pending::Trailers(_)) {
                            if let Some(ctx) = self.streams.get_mut(&id) {
                                ctx.send_done = true;
                            }
                        }
                    }
                    Err(UserError::SendBufferFull) => {
                        if let Some(ctx) = self.streams.get_mut(&id) {
                            ctx.pending.push_front(p);
                        }
                        break;
                    }
                    Err(e) => {
                        debug!(stream = id.get(), error = %e, "dropping queued request data");
                        if let Some(ctx) = self.streams.get_mut(&id) {
                            ctx.pending.clear();
                            ctx.send_done = true;
                            if let Some(c) = &ctx.credit {
                                c.close();
                            }
                        }
                        break;
                    }
                }
            }
            if self.streams.get(&id).is_some_and(|c| !c.pending.is_empty()) {
                self.queued.push(id);
            }
            self.maybe_forget(id);
        }
    }

    fn maybe_forget(&mut self, id: StreamId) {
        let done = self.streams.get(&id).is_some_and(|c| {
            c.recv_done && c.send_done && c.pending.is_empty() && c.response.is_none()
        });
        if done {
            self.streams.remove(&id);
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Request(open) => self.on_open(*open),
            Cmd::Data(id, data, end) => self.enqueue(id, Pending::Data(data, end)),
            Cmd::Trailers(id, t) => self.enqueue(id, Pending::Trailers(t)),
            Cmd::Reset(id, code) => {
                if let Some(ctx) = self.streams.get_mut(&id) {
                    ctx.pending.clear();
                    ctx.send_done = true;
                    ctx.recv_done = true;
                    ctx.response = None;
                    ctx.body_tx = None;
                    if let Some(c) = &ctx.credit {
                        c.close();
                    }
                }
                let _ = self.conn.reset(id, code);
                self.maybe_forget(id);
            }
            Cmd::Release(id, n) => self.conn.release_capacity(id, n),
        }
    }

    fn enqueue(&mut self, id: StreamId, p: Pending) {
        if let Some(ctx) = self.streams.get_mut(&id) {
            if ctx.pending.is_empty() {
                self.queued.push(id);
            }
            ctx.pending.push_back(p);
        }
    }

    fn on_open(&mut self, open: Open) {
        self.requests_seen = true;
        let Open {
            head,
            end_stream,
            opened,
            response,
            pushes,
        } = open;
        match self.conn.send_request(head, end_stream) {
            Ok(id) => {
                let credit = Arc::new(Semaphore::new(STREAM_BUDGET));
                self.streams.insert(
                    id,
                    StreamCtx {
                        response: Some(response),
                        credit: Some(credit.clone()),
                        pushes,
                        send_done: end_stream,
                        ..StreamCtx::default()
                    },
                );
                self.shared
                    .active
                    .store(self.streams.len(), Ordering::Relaxed);
                let _ = opened.send(Ok((id, credit)));
            }
            Err(UserError::GoingAway) => {
                self.shared.going_away.store(true, Ordering::Release);
                let _ = opened.send(Err(Error::GoingAway));
            }
            Err(UserError::StreamIdsExhausted) => {
                // RFC 9113 §5.1.1: a new connection is needed.
                self.go_away(Instant::now());
                let _ = opened.send(Err(Error::GoingAway));
            }
            Err(e) => {
                let _ = opened.send(Err(Error::Request(e.to_string())));
            }
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Response {
                stream,
                head,
                end_stream,
            } => {
                let Some(ctx) = self.streams.get_mut(&stream) else {
                    return;
                };
                let Some(reply) = ctx.response.take() else {
                    // Nobody waits for it (the upgrade request): its data
                    // is released as it arrives.
                    ctx.recv_done |= end_stream;
                    self.maybe_forget(stream);
                    return;
                };
                let content_length = head
                    .headers
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                let mut parts = head.into_parts();
                if !ctx.informational.is_empty() {
                    parts
                        .extensions
                        .insert(InformationalResponses(std::mem::take(
                            &mut ctx.informational,
                        )));
                }
                let releaser = self.cmd_tx.upgrade();
                let body = match releaser {
                    _ if end_stream => {
                        ctx.recv_done = true;
                        ctx.pushes = None;
                        Incoming::empty()
                    }
                    Some(cmds) => {
                        let (tx, rx) = mpsc::unbounded_channel();
                        ctx.body_tx = Some(tx);
                        Incoming::new(stream, rx, Releaser::Client(cmds), content_length)
                    }
                    // Nobody holds the client any more: nobody can read it.
                    None => {
                        self.abandon(stream);
                        return;
                    }
                };
                if reply.send(Ok(Response::from_parts(parts, body))).is_err() {
                    // The caller gave up (RFC 9113 §8.1: a client that no
                    // longer wants the response resets with CANCEL).
                    ctx.body_tx = None;
                    self.abandon(stream);
                }
                self.maybe_forget(stream);
            }
            Event::Informational { stream, head } => {
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    // Bounded: the core limits header blocks per stream.
                    if ctx.informational.len() < 32 {
                        ctx.informational.push((head.status, head.headers));
                    }
                }
            }
            Event::Data {
                stream,
                data,
                end_stream,
            } => {
                let n = data.len();
                let mut delivered = n == 0;
                let mut abandoned = false;
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    if let Some(tx) = &ctx.body_tx {
                        if n > 0 {
                            delivered = tx.send(BodyMsg::Data(data)).is_ok();
                            abandoned = !delivered;
                        }
                    }
                    if end_stream || abandoned {
                        ctx.body_tx = None;
                        ctx.recv_done = true;
                        ctx.pushes = None;
                    }
                }
                if !delivered {
                    // Nobody reads this body: give the window back at once.
                    self.conn.release_capacity(stream, n);
                }
                if abandoned && !end_stream {
                    self.abandon(stream);
                }
                self.maybe_forget(stream);
            }
            Event::Trailers { stream, trailers } => {
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    if let Some(tx) = ctx.body_tx.take() {
                        let _ = tx.send(BodyMsg::Trailers(trailers));
                    }
                    ctx.recv_done = true;
                    ctx.pushes = None;
                }
                self.maybe_forget(stream);
            }
            Event::Reset { error } => {
                if let ConnError::Stream { id, retryable, .. } = &error {
                    debug!(stream = id.get(), %error, "stream reset");
                    // Streams failed because the connection failed report the
                    // connection's error (and its GOAWAY code), unless they
                    // were never processed and may be retried.
                    let e = match self.conn.close_reason() {
                        Some(reason) if !retryable => Error::from_conn(reason),
                        _ => Error::from_conn(&error),
                    };
                    if let Some(ctx) = self.streams.remove(id) {
                        fail_stream(ctx, &e);
                    }
                }
            }
            Event::PushPromise {
                stream,
                promised,
                head,
            } => self.on_push(stream, promised, head),
            Event::PeerSettings(s) => {
                if let Some(n) = s.max_concurrent_streams() {
                    self.shared.peer_max.store(n, Ordering::Relaxed);
                }
            }
            Event::GoAway {
                last_stream_id,
                code,
                ..
            } => {
                debug!(last = last_stream_id.get(), %code, "GOAWAY received");
                self.shared.going_away.store(true, Ordering::Release);
            }
            Event::Closed { error } => {
                debug!(%error, "connection closed");
                self.shared.going_away.store(true, Ordering::Release);
                self.fail_all(&Error::from_conn(&error));
            }
            _ => {}
        }
    }

    /// RFC 9113 §8.4: pushed responses go to the caller that asked for
    /// them; without one the promise is cancelled (§8.4.2: RST_STREAM
    /// CANCEL on the promised stream).
    fn on_push(&mut self, stream: StreamId, promised: StreamId, head: RequestHead) {
        let sink = self
            .streams
            .get(&stream)
            .and_then(|c| c.pushes.as_ref())
            .cloned();
        let Some(sink) = sink else {
            let _ = self.conn.reset(promised, ErrorCode::Cancel);
            return;
        };
        let (tx, rx) = oneshot::channel();
        let pushed = PushedResponse::new(head.into_parts(), rx);
        // A caller that does not take its pushes gets no more than
        // MAX_PENDING_PUSHES of them; the rest are cancelled.
        if sink.try_send(pushed).is_err() {
            let _ = self.conn.reset(promised, ErrorCode::Cancel);
            return;
        }
        self.streams.insert(
            promised,
            StreamCtx {
                response: Some(tx),
                send_done: true,
                ..StreamCtx::default()
            },
        );
    }

    /// The caller no longer wants the stream: reset it with CANCEL.
    fn abandon(&mut self, id: StreamId) {
        if let Some(ctx) = self.streams.get_mut(&id) {
            ctx.pending.clear();
            ctx.send_done = true;
            ctx.recv_done = true;
            if let Some(c) = &ctx.credit {
                c.close();
            }
        }
        self.conn.drop_stream(id);
        self.maybe_forget(id);
    }

    fn fail_all(&mut self, error: &Error) {
        for (_, ctx) in self.streams.drain() {
            fail_stream(ctx, error);
        }
        self.shared.active.store(0, Ordering::Relaxed);
    }
}

fn fail_stream(mut ctx: StreamCtx, error: &Error) {
    if let Some(reply) = ctx.response.take() {
        let _ = reply.send(Err(error.clone()));
    }
    if let Some(tx) = ctx.body_tx.take() {
        let _ = tx.send(BodyMsg::Error(error.to_string()));
    }
    if let Some(c) = &ctx.credit {
        c.close();
    }
}
