//! The client's per-connection task: owns the sans-I/O [`Connection`],
//! feeds it what the socket reads, writes what it emits through the shared
//! [`Output`] queue (vectored, DATA payloads not copied), drives its timers,
//! and talks to request callers over channels — the mirror image of the
//! server's driver.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response, StatusCode};
use ropewalk_proto::conn::{Config, Connection, Error as ConnError, Event, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::StreamId;
use ropewalk_proto::headers::{RequestHead, ResponseHead};
use ropewalk_proto::stream::IdHashing;
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
// Not boxed: a request's command is allocated on the caller's thread and
// would be freed on the connection's, which glibc does under the caller's
// arena lock (contended: the futex calls of a 100-stream client fell from
// about 6,600 to 2,900 per 100,000 requests). The channel keeps its
// blocks of 32 commands for reuse.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Cmd {
    /// Open a request stream.
    Request(Open),
    /// Request body data.
    Data(StreamId, Bytes, bool),
    /// Request trailers (end the stream).
    Trailers(StreamId, HeaderMap),
    /// Reset a stream (the request body failed, or the caller gave up).
    Reset(StreamId, ErrorCode),
    /// A response body was read: give its flow-control capacity back.
    Release(StreamId, usize),
    /// Bodies of ended streams were read: give back the connection window
    /// added up in [`Shared::take_released`].
    Released,
    /// A caller stopped waiting for its response head: reset the streams
    /// whose response nobody waits for any more (see [`Shared::sweep`]).
    Sweep,
}

/// What a request caller waits on: the stream and its body credit (only
/// for requests with a body), then the response head.
pub(crate) type Opened = Result<(StreamId, Arc<Semaphore>), Error>;

/// A request to open.
#[derive(Debug)]
pub(crate) struct Open {
    pub(crate) head: Option<RequestHead>,
    pub(crate) end_stream: bool,
    /// For a request with a body, answered at once: the stream and its body
    /// credit, or why not. A request without one learns nothing until its
    /// response (or why it failed) arrives on `response`.
    pub(crate) opened: Option<oneshot::Sender<Opened>>,
    /// Answered when the final response head arrives.
    pub(crate) response: Option<oneshot::Sender<ResponseResult>>,
    /// Where pushed responses promised on this stream go; `None` refuses them.
    pub(crate) pushes: Option<mpsc::Sender<PushedResponse>>,
}

impl Open {
    /// Tells the caller that the request was not opened.
    fn fail(&mut self, e: Error) {
        match self.opened.take() {
            Some(tx) => {
                let _ = tx.send(Err(e));
            }
            None => {
                if let Some(tx) = self.response.take() {
                    let _ = tx.send(Err(e));
                }
            }
        }
    }
}

impl Drop for Open {
    /// A request dropped unopened (the connection task ended with it still
    /// queued) was not sent: the caller may try another connection.
    fn drop(&mut self) {
        if self.head.is_some() {
            self.fail(Error::GoingAway);
        }
    }
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
    /// A [`Cmd::Sweep`] is on its way: callers that give up meanwhile need
    /// not send another.
    pub(crate) sweep: AtomicBool,
    /// Octets of ended streams' bodies read and not yet given back to the
    /// connection's window (see [`Cmd::Released`]).
    released: AtomicUsize,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            going_away: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            peer_max: AtomicU32::new(100),
            sweep: AtomicBool::new(false),
            released: AtomicUsize::new(0),
        }
    }

    /// Adds `n` read octets of an ended stream; true when the task must be
    /// told (nothing was waiting for it: a [`Cmd::Released`] already on
    /// its way takes these too).
    pub(crate) fn add_released(&self, n: usize) -> bool {
        n > 0 && self.released.fetch_add(n, Ordering::AcqRel) == 0
    }

    /// Takes the octets added up by [`add_released`](Shared::add_released).
    fn take_released(&self) -> usize {
        self.released.swap(0, Ordering::AcqRel)
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

/// A response head held back while the rest of the events of the same read
/// are handled: the first DATA of its body joins it there, so that a small
/// body that came whole with its head (most do) is handed over whole,
/// without a channel. Servers often send the heads of many responses before
/// their bodies, so this cannot look only at the next event.
struct Held {
    parts: http::response::Parts,
    content_length: Option<u64>,
    /// The first DATA of the body, if it came.
    data: Option<Bytes>,
    /// The body ended (with the head, or with `data`).
    end: bool,
}

#[derive(Default)]
struct StreamCtx {
    response: Option<oneshot::Sender<ResponseResult>>,
    body_tx: Option<mpsc::UnboundedSender<BodyMsg>>,
    credit: Option<Arc<Semaphore>>,
    pending: VecDeque<Pending>,
    pushes: Option<mpsc::Sender<PushedResponse>>,
    informational: Vec<(StatusCode, HeaderMap)>,
    /// A request of ours (not a push): reset when its caller gives up.
    request: bool,
    /// Where its response head waits in [`Task::held`] while the events
    /// that came with it are handled.
    held: Option<usize>,
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
    /// Keyed hashing: push ids are the server's choice.
    streams: HashMap<StreamId, StreamCtx, IdHashing>,
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
    /// Response heads that came in the events being handled, held until
    /// they are all handled (see [`Held`]); kept apart from the streams'
    /// entries, which stay small.
    held: Vec<(StreamId, Option<Held>)>,
    /// Callers handed their response since this task last let them run.
    woken: usize,
}

impl Task {
    pub(crate) fn new(
        opts: TaskOptions,
        shared: Arc<Shared>,
        cmd_tx: mpsc::UnboundedSender<Cmd>,
    ) -> Task {
        Task {
            conn: Connection::client(opts.h2.clone(), Instant::now()),
            streams: HashMap::default(),
            queued: Vec::new(),
            cmd_tx: cmd_tx.downgrade(),
            shared,
            out: Output::new(),
            scan_in: FrameScan::new(Direction::Received, false),
            scan_out: FrameScan::new(Direction::Sent, true),
            requests_seen: false,
            held: Vec::new(),
            woken: 0,
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
        // One timer for the task's life, moved rather than made anew each
        // turn (registering a timer takes the timer wheel's lock, and one
        // due sooner than the driver's next wake-up wakes the driver).
        let far = Duration::from_secs(3600);
        let sleep = tokio::time::sleep_until((Instant::now() + far).into());
        tokio::pin!(sleep);
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
            let sleep_to = deadline.unwrap_or_else(|| now + far);
            // A timer due sooner than needed is left alone: waking early
            // costs one turn of this loop (each deadline is checked again
            // when it fires), moving it costs more at every turn.
            if sleep.is_elapsed() || sleep_to < sleep.deadline().into_std() {
                sleep.as_mut().reset(sleep_to.into());
            }
            let room = read_size.prepare(&mut rbuf);
            let can_read = read_open && self.conn.wants_read();
            let out = &self.out;
            tokio::select! {
                biased;
                cmd = cmd_rx.recv(), if cmds_open => {
                    match cmd {
                        Some(cmd) => {
                            self.on_cmd(cmd);
                            // Callers handed their responses together (by one
                            // read), or with requests in flight beside this
                            // one, are about to send their next commands: let
                            // them run first, so that one write carries them
                            // all rather than one write (and one turn of this
                            // loop) per request. A lone request does not wait.
                            if self.woken > 1 || self.streams.len() > 1 {
                                self.woken = 0;
                                tokio::task::yield_now().await;
                            }
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
                _ = &mut sleep => {
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
        // One clock reading for the whole batch of frames.
        let now = Instant::now();
        for _ in 0..2 {
            self.handle_events();
            self.flush_pending();
            while self.out.has_room() && self.conn.wants_write() {
                let log = self.opts.frame_log.as_ref();
                let scan = &mut self.scan_out;
                let pulled = self.out.pull_tap(&mut self.conn, now, |b| {
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
            self.handle_events();
            if !self.out.has_room() || self.queued.is_empty() {
                break;
            }
        }
        self.shared
            .active
            .store(self.streams.len(), Ordering::Relaxed);
    }

    /// Takes the core's events, then hands over the response heads they
    /// held.
    fn handle_events(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            self.on_event(ev);
        }
        self.deliver_held();
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
        // One lookup for both the check and the removal.
        if let Entry::Occupied(e) = self.streams.entry(id) {
            let c = e.get();
            if c.recv_done && c.send_done && c.pending.is_empty() && c.response.is_none() {
                e.remove();
            }
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Request(open) => self.on_open(open),
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
            Cmd::Released => self
                .conn
                .release_connection_capacity(self.shared.take_released()),
            Cmd::Sweep => self.sweep(),
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

    fn on_open(&mut self, mut open: Open) {
        self.requests_seen = true;
        let Some(head) = open.head.take() else {
            return;
        };
        if open.response.as_ref().is_none_or(|r| r.is_closed()) {
            // The caller gave up before the request was sent.
            return;
        }
        let end_stream = open.end_stream;
        match self.conn.send_request(head, end_stream) {
            Ok(id) => {
                // Request bodies get a credit; a request without one needs
                // none.
                let credit = open
                    .opened
                    .is_some()
                    .then(|| Arc::new(Semaphore::new(STREAM_BUDGET)));
                self.streams.insert(
                    id,
                    StreamCtx {
                        response: open.response.take(),
                        credit: credit.clone(),
                        pushes: open.pushes.take(),
                        send_done: end_stream,
                        request: true,
                        ..StreamCtx::default()
                    },
                );
                self.shared
                    .active
                    .store(self.streams.len(), Ordering::Relaxed);
                if let (Some(tx), Some(credit)) = (open.opened.take(), credit) {
                    let _ = tx.send(Ok((id, credit)));
                }
            }
            Err(UserError::GoingAway) => {
                self.shared.going_away.store(true, Ordering::Release);
                open.fail(Error::GoingAway);
            }
            Err(UserError::StreamIdsExhausted) => {
                // RFC 9113 §5.1.1: a new connection is needed.
                self.go_away(Instant::now());
                open.fail(Error::GoingAway);
            }
            Err(e) => open.fail(Error::Request(e.to_string())),
        }
    }

    /// Resets the requests whose callers stopped waiting for the response
    /// head (RFC 9113 §8.1: CANCEL).
    fn sweep(&mut self) {
        self.shared.sweep.swap(false, Ordering::AcqRel);
        let gone: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, c)| c.request && c.response.as_ref().is_some_and(|r| r.is_closed()))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.on_cmd(Cmd::Reset(id, ErrorCode::Cancel));
        }
    }

    fn on_response(
        &mut self,
        stream: StreamId,
        head: ResponseHead,
        end_stream: bool,
        body_len: Option<u64>,
    ) {
        let Some(ctx) = self.streams.get_mut(&stream) else {
            return;
        };
        if ctx.response.is_none() {
            // Nobody waits for it (the upgrade request): its data
            // is released as it arrives.
            ctx.recv_done |= end_stream;
            self.maybe_forget(stream);
            return;
        }
        let mut parts = head.into_parts();
        if !ctx.informational.is_empty() {
            parts
                .extensions
                .insert(InformationalResponses(std::mem::take(
                    &mut ctx.informational,
                )));
        }
        ctx.held = Some(self.held.len());
        self.held.push((
            stream,
            Some(Held {
                parts,
                content_length: body_len,
                data: None,
                end: end_stream,
            }),
        ));
    }

    /// Hands over the response heads held while the events were handled.
    fn deliver_held(&mut self) {
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].1.is_some() {
                self.deliver(self.held[i].0);
            }
            i += 1;
        }
        self.held.clear();
    }

    /// Hands the held response head of `stream` to its caller, with a body
    /// that is already whole when its end came with it, or else one fed
    /// over a channel (with the data that came with the head).
    fn deliver(&mut self, stream: StreamId) {
        let Some(ctx) = self.streams.get_mut(&stream) else {
            return;
        };
        let Some(h) = ctx
            .held
            .take()
            .and_then(|i| self.held.get_mut(i))
            .and_then(|e| e.1.take())
        else {
            return;
        };
        let Some(reply) = ctx.response.take() else {
            return;
        };
        let unread = h.data.as_ref().map_or(0, Bytes::len);
        let body = match self.cmd_tx.upgrade() {
            _ if h.end && unread == 0 => {
                ctx.recv_done = true;
                ctx.pushes = None;
                Incoming::empty()
            }
            Some(cmds) => match h.data {
                Some(data) if h.end => {
                    ctx.recv_done = true;
                    ctx.pushes = None;
                    let releaser = Releaser::ClientEnded(cmds, self.shared.clone());
                    Incoming::ready(stream, data, releaser, h.content_length)
                }
                data => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    if let Some(data) = data.filter(|d| !d.is_empty()) {
                        let _ = tx.send(BodyMsg::Data(data));
                    }
                    ctx.body_tx = Some(tx);
                    Incoming::new(stream, rx, Releaser::Client(cmds), h.content_length)
                }
            },
            // Nobody holds the client any more: nobody can read it.
            None => {
                self.conn.release_capacity(stream, unread);
                self.abandon(stream);
                return;
            }
        };
        let sent = reply.send(Ok(Response::from_parts(h.parts, body)));
        match sent {
            Ok(()) => self.woken += 1,
            Err(back) => {
                // The caller gave up (RFC 9113 §8.1: a client that no
                // longer wants the response resets with CANCEL).
                ctx.body_tx = None;
                // Data that came with the head is given back here, before
                // the stream is dropped, not by the unread body.
                if let Ok(mut resp) = back {
                    let n = resp.body_mut().forget_unread();
                    if n > 0 {
                        self.conn.release_capacity(stream, n);
                    }
                }
                self.abandon(stream);
            }
        }
        self.maybe_forget(stream);
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Response {
                stream,
                head,
                end_stream,
                body_len,
            } => self.on_response(stream, head, end_stream, body_len),
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
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    if let Some(i) = ctx.held {
                        // The first data after a held head waits with it:
                        // a small body often comes whole with its head.
                        if let Some(h) = self.held.get_mut(i).and_then(|e| e.1.as_mut()) {
                            if h.data.is_none() && !h.end {
                                h.data = Some(data);
                                h.end = end_stream;
                                return;
                            }
                        }
                        self.deliver(stream);
                    }
                }
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
                self.deliver(stream);
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
                    // A head held with this event goes first, as it came.
                    self.deliver(*id);
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
        // Heads held with the events that ended the connection go first.
        self.deliver_held();
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
