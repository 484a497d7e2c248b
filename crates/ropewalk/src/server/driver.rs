//! The per-connection task: owns the sans-I/O [`Connection`], feeds it what
//! the socket reads, writes what it emits (vectored, DATA payloads not
//! copied), drives its timers, and talks to handler tasks over channels.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::uri::{Authority, Scheme};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use ropewalk_proto::conn::{
    Connection, Error as ConnError, Event, Initiator, UPGRADE_STREAM, UserError,
};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::StreamId;
use ropewalk_proto::headers::{RequestHead, ResponseHead};
use ropewalk_proto::stream::{IdHashing, State};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tracing::{Instrument, debug, info, warn};

use super::h1::{self, H1Body};
use super::inline::{self, CmdSink};
use super::{Options, ServerHandler, Stats};
use crate::body::{BodyMsg, BoxBody, BoxError, Incoming};
use crate::io::{Output, Pulled, ReadSize};

/// Octets a handler may have queued (in this task or the core) per stream
/// before it waits for them to be written. Within the connection's budget
/// ([`Options::max_buffered_per_connection`]) and the server's
/// ([`Options::max_buffered_total`]).
const STREAM_BUDGET: usize = 256 * 1024;
/// A stream's first credit: enough for most answers to go out as soon as
/// their handler gives them (100 streams hold 800 KiB, within the default
/// per-connection budget); more follows as the handler uses it.
const FIRST_GRANT: usize = 8 * 1024;
/// Response octets every connection may hold even when the server-wide
/// budget is spent, so that slow readers holding it cannot starve the
/// others (the server-wide bound is then `max_buffered_total` plus this per
/// connection).
pub(crate) const BUDGET_FLOOR: usize = 64 * 1024;
/// How often a connection waiting for the server-wide response budget
/// looks again.
const BUDGET_RETRY: Duration = Duration::from_millis(20);
/// Octets of an upgraded request's HTTP/1.1 body read ahead of its handler.
const H1_BODY_BUDGET: usize = 256 * 1024;
/// Largest piece a handler hands over at once.
const CHUNK: usize = 64 * 1024;
/// New requests taken from the read buffer per turn of the loop: the
/// answers of the first ones are written before the next are read, so that
/// a client sending a large batch (browsers, h2load -m 100) gets them while
/// the rest are being answered, instead of all of them after the whole
/// batch. Both sides then work at once: with 100 requests per read, a 1.5x
/// throughput on one connection (bench/README.md), for one more write per
/// 24 answers.
const REQUESTS_PER_TURN: usize = 24;
/// A response body of at most this many octets, made in one piece (its
/// exact size known), goes to the connection with its head, without
/// credit: its octets exist either way, in the handler or queued here, and
/// no more than a stream's first grant (see `respond`).
const WHOLE_BODY: usize = FIRST_GRANT;

/// What handler tasks ask of the connection task.
#[derive(Debug)]
pub(crate) enum Cmd {
    Informational(StreamId, ResponseHead),
    /// A head whose body is streamed, and the credit its task waits on.
    Response(StreamId, ResponseHead, Arc<Semaphore>),
    Data(StreamId, Bytes, bool),
    Trailers(StreamId, HeaderMap),
    Reset(StreamId, ErrorCode),
    /// The handler panicked: counted, then reset as INTERNAL_ERROR.
    Panicked(StreamId),
    Release(StreamId, usize),
    Done(StreamId),
    /// A whole response, head and body (which may be empty), from a
    /// handler that is done with it: `Response`, `Data` and `Done` in one.
    Whole(StreamId, ResponseHead, Bytes),
    /// Boxed: rare, and large; a channel allocates room for 32 commands
    /// at a time, per connection.
    Push(
        StreamId,
        Box<RequestHead>,
        oneshot::Sender<Result<(), UserError>>,
    ),
}

/// What a connection's command channel carries. tokio's channel allocates
/// room for 32 of these at a time: with the 144-byte [`Cmd`] itself that
/// was 4.6 KiB per connection, though most commands never take the channel
/// (handlers polled on the connection's task answer through [`inline`]).
/// So commands go boxed (those of handlers on their own tasks), except the
/// credit a request body gives back as it is read, which goes as it is:
/// one per DATA chunk read, it pays for no allocation.
#[derive(Debug)]
pub(crate) enum ToDriver {
    /// [`Cmd::Release`].
    Release(StreamId, usize),
    Cmd(Box<Cmd>),
}

impl ToDriver {
    pub(crate) fn into_cmd(self) -> Cmd {
        match self {
            ToDriver::Release(id, n) => Cmd::Release(id, n),
            ToDriver::Cmd(cmd) => *cmd,
        }
    }
}

/// A connection's command channel (see [`ToDriver`]).
pub(crate) type CmdTx = mpsc::UnboundedSender<ToDriver>;
/// The receiving end of a [`CmdTx`].
pub(crate) type CmdRx = mpsc::UnboundedReceiver<ToDriver>;

/// Shutdown state broadcast to connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Graceful,
    Immediate,
}

/// Request extension: the request's stream on its connection. It tells
/// the peer's address, sends informational (1xx) responses before the
/// final one, and promises pushes (RFC 9113 §8.4). One extension holds all
/// of it, so that a request costs one entry in its `Extensions`.
///
/// ```
/// use http::{Request, Response};
/// use ropewalk::body::{BoxBody, Incoming, full};
/// use ropewalk::server::StreamHandle;
///
/// async fn hello(req: Request<Incoming>) -> Response<BoxBody> {
///     if let Some(stream) = req.extensions().get::<StreamHandle>() {
///         // 103 Early Hints, then the answer.
///         let hints = Response::builder()
///             .status(103)
///             .header("link", "</style.css>; rel=preload")
///             .body(())
///             .unwrap();
///         stream.send_informational(hints);
///         let _ = stream.push(Request::get("/style.css").body(()).unwrap()).await;
///     }
///     Response::new(full("hello"))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct StreamHandle {
    id: StreamId,
    peer: Option<SocketAddr>,
    cmds: CmdSink,
    /// The request's scheme and authority, which a pushed request with a
    /// relative URI takes; `None` when the client had push turned off as
    /// the request arrived (most clients do), which spares their copy.
    push_origin: Option<(Option<Scheme>, Option<Authority>)>,
}

impl StreamHandle {
    /// The peer's address (`None` for connections served from an I/O object
    /// without one, see [`Server::serve_connection`](super::Server::serve_connection)).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The HTTP/2 stream id.
    pub fn stream_id(&self) -> u32 {
        self.id.get()
    }

    /// Sends a 1xx response head (not 101), e.g. 103 Early Hints, before
    /// the final response. Ignored if the stream is gone.
    pub fn send_informational(&self, response: Response<()>) {
        let (parts, ()) = response.into_parts();
        let _ = self
            .cmds
            .send(Cmd::Informational(self.id, ResponseHead::from_parts(parts)));
    }

    /// Promises `request` (GET or HEAD, no body; a relative URI takes the
    /// scheme and authority of the client's request); the server's own
    /// handler answers it on the promised stream, as if the client had
    /// asked. Fails if the client disabled push (`SETTINGS_ENABLE_PUSH = 0`,
    /// the default of most clients; judged when the request arrived), the
    /// stream is finished, or the connection is closing.
    pub async fn push(&self, request: Request<()>) -> Result<(), UserError> {
        let Some((scheme, authority)) = &self.push_origin else {
            return Err(UserError::PushDisabled);
        };
        let (parts, ()) = request.into_parts();
        let mut head = RequestHead::from_parts(parts);
        if head.authority.is_none() {
            head.authority = authority.clone();
        }
        if head.scheme.is_none() {
            head.scheme = scheme.clone();
        }
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Cmd::Push(self.id, Box::new(head), tx))
            .map_err(|_| UserError::GoingAway)?;
        rx.await.unwrap_or(Err(UserError::GoingAway))
    }
}

enum Pending {
    Data(Bytes, bool),
    Trailers(HeaderMap),
}

/// A stream's response credit (see `grant_credit`), made by its handler's
/// task when it streams a body: most answers go whole (`WHOLE_BODY`) and
/// never need one.
enum Credit {
    None,
    Open(Arc<Semaphore>),
    /// The stream is gone: a credit that comes now is closed at once.
    Closed,
}

impl Credit {
    fn close(&mut self) {
        if let Credit::Open(credit) = self {
            credit.close();
        }
        *self = Credit::Closed;
    }

    fn is_closed(&self) -> bool {
        matches!(self, Credit::Closed)
    }

    fn open(&self) -> Option<&Semaphore> {
        match self {
            Credit::Open(credit) => Some(credit),
            _ => None,
        }
    }
}

struct StreamCtx {
    body_tx: Option<mpsc::UnboundedSender<BodyMsg>>,
    credit: Credit,
    /// Response octets this stream may hold: permits handed to its handler
    /// plus what it sent that is not yet written out of the core. Counted
    /// in the connection's and the server's budgets.
    granted: usize,
    /// The next top-up: [`FIRST_GRANT`], doubling as the handler uses its
    /// credit, up to [`STREAM_BUDGET`].
    step: usize,
    /// The handler, not yet started: handlers start after the read that
    /// carried their request is processed, so that a request reset in the
    /// same read (Rapid Reset, CVE-2023-44487) never costs a task.
    start: Option<HandlerTask>,
    pending: VecDeque<Pending>,
    handler_done: bool,
    /// Aborts the handler task when the stream is reset or the connection
    /// closes (the client no longer wants the answer).
    task: Option<tokio::task::AbortHandle>,
}

/// Where a connection's first bytes came from.
pub(crate) struct Start {
    /// Bytes already read (after an HTTP/1.1 upgrade request, or sniffed).
    pub(crate) prefix: BytesMut,
    /// After an `Upgrade: h2c` handshake (RFC 7540 §3.2): the core, made
    /// with the request as stream 1, and that request's HTTP/1.1 body.
    pub(crate) upgrade: Option<(Box<Connection>, Option<H1Body>)>,
}

pub(crate) struct Driver {
    conn: Connection,
    /// Keyed hashing: the peer chooses its stream ids.
    streams: HashMap<StreamId, StreamCtx, IdHashing>,
    cmd_tx: CmdTx,
    /// What handlers send with (see `inline`).
    sink: CmdSink,
    /// Commands of handlers polled on this task (see `inline`).
    inline_cmds: Vec<Cmd>,
    handler: ServerHandler,
    opts: Arc<Options>,
    stats: Arc<Stats>,
    peer: Option<SocketAddr>,
    secure: bool,
    out: Output,
    /// The upgraded request's body, still arriving in HTTP/1.1 framing
    /// before the client's preface; delivered to stream 1's body.
    h1_body: Option<H1Body>,
    /// Octets of that body delivered but not yet read by the handler.
    h1_unread: usize,
    /// Stream 1's body comes from HTTP/1.1 (outside HTTP/2 flow control).
    h1_stream: bool,
    /// The upgraded request's body is being read: its 101 is not sent yet,
    /// and neither is any HTTP/2 frame.
    owe_switch: bool,
    /// The upgraded request's body was malformed: a 400 was queued instead
    /// of the 101, and the connection ends once it is written.
    h1_refused: bool,
    /// After the 101: only our SETTINGS go out until the client's preface
    /// arrives (clients such as curl buffer little after the 101 head).
    upgrade_hold: Option<bool>,
    /// A request arrived since the idle check last looked.
    requests_seen: bool,
    /// Streams whose response is complete while the client still sends a
    /// request body nobody reads.
    unread: Vec<StreamId>,
    /// Streams whose handler is not started yet (see `StreamCtx::start`),
    /// so that starting them does not walk every stream.
    to_start: Vec<StreamId>,
    /// Streams with response data the core has not taken yet (their
    /// `pending` was empty when it got some; may name gone streams).
    with_pending: Vec<StreamId>,
    /// Response octets this connection holds (the sum of its streams'
    /// `granted`), also counted in the server-wide budget.
    budget: Budget,
    /// The `Date` of responses sent in this turn of the loop.
    date: Option<HeaderValue>,
    /// The read buffer holds whole frames the core has not taken yet
    /// (see `REQUESTS_PER_TURN`).
    more_frames: bool,
}

/// A connection's share of the server-wide response budget
/// ([`Stats::response_buffered`], capped by [`Options::max_buffered_total`]);
/// given back when dropped, however the connection task ends.
struct Budget {
    stats: Arc<Stats>,
    held: usize,
    /// The server-wide budget was spent when a stream wanted more.
    starved: bool,
}

impl Budget {
    /// Takes up to `want` octets, within `conn_cap` for this connection and
    /// `total_cap` for the server. Returns what it got.
    fn take(&mut self, want: usize, conn_cap: usize, total_cap: usize) -> usize {
        let want = want.min(conn_cap.saturating_sub(self.held));
        if want == 0 {
            return 0;
        }
        let cap = total_cap as u64;
        // Below its floor a connection takes regardless of the others.
        let floor = BUDGET_FLOOR.saturating_sub(self.held).min(want) as u64;
        let mut got = 0u64;
        let _ = self.stats.response_buffered.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |cur| {
                got = (want as u64).min(cap.saturating_sub(cur)).max(floor);
                (got > 0).then_some(cur + got)
            },
        );
        let got = usize::try_from(got).unwrap_or(0);
        if got < want {
            self.starved = true;
        }
        self.held += got;
        got
    }

    fn give(&mut self, n: usize) {
        let n = n.min(self.held);
        if n == 0 {
            // Most streams never held any (their answers went whole): no
            // write to the server-wide counter, shared by every thread.
            return;
        }
        self.held -= n;
        self.stats
            .response_buffered
            .fetch_sub(n as u64, Ordering::Relaxed);
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        self.give(self.held);
    }
}

impl Driver {
    pub(crate) fn new(
        handler: ServerHandler,
        opts: Arc<Options>,
        stats: Arc<Stats>,
        peer: Option<SocketAddr>,
        secure: bool,
        cmd_tx: CmdTx,
    ) -> Driver {
        let stats_for_budget = stats.clone();
        Driver {
            conn: Connection::server(opts.h2.clone(), Instant::now()),
            streams: HashMap::default(),
            sink: CmdSink::new(inline::next_conn_id(), cmd_tx.clone()),
            cmd_tx,
            inline_cmds: Vec::new(),
            handler,
            opts,
            stats,
            peer,
            secure,
            out: Output::new(),
            h1_body: None,
            h1_unread: 0,
            h1_stream: false,
            owe_switch: false,
            h1_refused: false,
            upgrade_hold: None,
            requests_seen: false,
            unread: Vec::new(),
            to_start: Vec::new(),
            with_pending: Vec::new(),
            budget: Budget {
                stats: stats_for_budget,
                held: 0,
                starved: false,
            },
            date: None,
            more_frames: false,
        }
    }

    /// Runs the connection to its end.
    pub(crate) async fn run<IO>(
        mut self,
        io: IO,
        start: Start,
        mut cmd_rx: CmdRx,
        mut phase: watch::Receiver<Phase>,
    ) where
        IO: AsyncRead + AsyncWrite + Send + Unpin,
    {
        let (mut rd, mut wr) = tokio::io::split(io);
        let mut read_size = ReadSize::new();
        // The buffer the connection's first octets were read into.
        let mut rbuf = start.prefix;
        if let Some((conn, body)) = start.upgrade {
            self.conn = *conn;
            self.h1_stream = body.is_some();
            self.owe_switch = body.is_some();
            self.upgrade_hold = Some(false);
            self.h1_body = body;
        }
        let started = Instant::now();
        // The handshake deadline counts from here, or from the last progress
        // of an upgraded request's body (the preface comes after it).
        let mut handshake_from = started;
        let mut idle_since = Some(started);
        let mut read_open = true;
        let mut phase_seen = Phase::Running;
        // Since when an incomplete frame has sat in the read buffer.
        let mut partial_since: Option<Instant> = None;
        // The write of the answers to the first requests of a read could not
        // go at once: take the next requests anyway.
        let mut go_on = false;
        // An upgraded request (stream 1) gets its body channel before the
        // body octets read with its head are fed.
        self.process_events();
        if !rbuf.is_empty() {
            self.feed(&mut rbuf);
        }
        // One timer for the connection's life, moved as deadlines change: a
        // new `Sleep` each turn of the loop would register and deregister a
        // timer entry (a lock on the runtime's timer wheel) per request.
        let timer = tokio::time::sleep_until(started.into());
        tokio::pin!(timer);
        loop {
            self.date = None;
            // Reading paused with whole frames left in the buffer (too many
            // ACKs owed): go on once the core wants to read again.
            // The rest of a large batch of requests goes in once the
            // answers to its first part are written, or could not be at once.
            let go = std::mem::take(&mut go_on);
            if !rbuf.is_empty()
                && self.conn.wants_read()
                && !self.conn.is_closed()
                && (!self.more_frames || self.out.is_empty() || go)
            {
                self.feed(&mut rbuf);
            }
            self.process_events();
            // Handlers polled inline below answer through `inline`, but
            // handler tasks on other workers still send over `cmd_rx`
            // meanwhile; with our own waker registered there, each
            // would wake this running task again and make the scheduler rouse
            // an idle worker for nothing. Park a no-op waker in it for now
            // (taking what is already queued); the `select!` below registers
            // ours again and looks at the queue first, so nothing is missed.
            {
                let mut quiet = std::task::Context::from_waker(std::task::Waker::noop());
                while let Poll::Ready(Some(cmd)) = cmd_rx.poll_recv(&mut quiet) {
                    self.on_cmd(cmd.into_cmd());
                }
            }
            // New requests' handlers (not those reset in the same read),
            // with their first credit, so that an answer ready at once goes
            // out at once.
            self.grant_credit();
            self.start_handlers();
            // Handler tasks' commands that arrived meanwhile.
            while let Ok(cmd) = cmd_rx.try_recv() {
                self.on_cmd(cmd.into_cmd());
            }
            self.fill_output();
            self.start_handlers();
            if self.conn.is_closed() && self.out.is_empty() {
                break;
            }
            if (!read_open || self.h1_refused) && self.out.is_empty() {
                break;
            }
            let now = Instant::now();
            // Idle tracking: no live stream and no handler. A connection
            // whose requests are all answered within one turn of this loop
            // looks stream-less at every check, so a request seen since the
            // last check restarts the idle time.
            let busy = std::mem::take(&mut self.requests_seen);
            if self.streams.is_empty() && self.conn.stream_count() == 0 {
                if busy {
                    idle_since = Some(now);
                } else {
                    idle_since.get_or_insert(now);
                }
            } else {
                idle_since = None;
            }
            let mut deadline = self.conn.next_timeout();
            let mut min = |t: Option<Instant>| {
                if let Some(t) = t {
                    deadline = Some(deadline.map_or(t, |d: Instant| d.min(t)));
                }
            };
            if !self.conn.is_ready() {
                min(handshake_from.checked_add(self.opts.handshake_timeout));
            }
            if self.budget.starved {
                // Another connection's octets free the server-wide budget.
                min(now.checked_add(BUDGET_RETRY));
            }
            if rbuf.is_empty() || !read_open || self.more_frames {
                partial_since = None;
            } else if self.conn.wants_read() {
                partial_since.get_or_insert(now);
            }
            if let (Some(since), Some(limit)) = (partial_since, self.opts.frame_timeout) {
                min(since.checked_add(limit));
            }
            if let (Some(since), Some(idle)) = (idle_since, self.opts.idle_timeout) {
                min(since.checked_add(idle));
            }
            let sleep_to = deadline.unwrap_or_else(|| now + Duration::from_secs(3600));
            if timer.deadline() != sleep_to.into() {
                timer.as_mut().reset(sleep_to.into());
            }
            let room = read_size.prepare(&mut rbuf);
            // Requests left in the read buffer (`REQUESTS_PER_TURN`): the
            // write goes first, but what cannot be written at once (a peer
            // that does not read now) does not hold them up.
            let more = self.more_frames && self.conn.wants_read() && !self.conn.is_closed();
            let can_read = read_open
                && if self.h1_body.is_some() {
                    // Backpressure: the handler reads the body first.
                    self.h1_unread < H1_BODY_BUDGET
                } else {
                    self.conn.wants_read()
                };
            let out = &self.out;
            tokio::select! {
                biased;
                cmd = cmd_rx.recv() => {
                    // The wait may have been long: a fresh `Date`.
                    self.date = None;
                    if let Some(cmd) = cmd {
                        self.on_cmd(cmd.into_cmd());
                        while let Ok(cmd) = cmd_rx.try_recv() {
                            self.on_cmd(cmd.into_cmd());
                        }
                    }
                }
                res = out.write_some(&mut wr), if !out.is_empty() => {
                    match res {
                        Ok(0) | Err(_) => {
                            debug!("write failed; closing");
                            break;
                        }
                        Ok(n) => self.out.advance(n),
                    }
                }
                () = std::future::ready(()), if more => go_on = true,
                res = rd.read_buf(&mut rbuf), if can_read => {
                    match res {
                        Ok(0) | Err(_) => {
                            read_open = false;
                            self.fail_all("connection closed by peer");
                            self.out.clear();
                        }
                        Ok(n) => {
                            read_size.record(n, room);
                            if self.h1_body.is_some() {
                                handshake_from = Instant::now();
                            }
                            let before = rbuf.len();
                            self.feed(&mut rbuf);
                            if rbuf.len() < before || rbuf.is_empty() {
                                // A frame completed: progress.
                                partial_since = None;
                            }
                        }
                    }
                }
                () = &mut timer => {
                    let now = Instant::now();
                    let frame_late = match (partial_since, self.opts.frame_timeout) {
                        (Some(since), Some(limit)) => now >= since + limit,
                        _ => false,
                    };
                    if frame_late {
                        debug!("incomplete frame timeout");
                        self.conn.close(ErrorCode::ProtocolError, "incomplete frame timeout");
                        partial_since = None;
                    } else if !self.conn.is_ready() && now >= handshake_from + self.opts.handshake_timeout {
                        debug!("handshake timeout");
                        self.conn.close(ErrorCode::SettingsTimeout, "handshake timeout");
                    } else if let (Some(since), Some(idle)) = (idle_since, self.opts.idle_timeout) {
                        if now >= since + idle {
                            debug!("idle timeout");
                            self.conn.graceful_shutdown(now);
                            idle_since = None;
                        }
                    }
                    self.conn.handle_timeout(now);
                }
                res = phase.changed(), if phase_seen != Phase::Immediate => {
                    let p = if res.is_err() { Phase::Immediate } else { *phase.borrow_and_update() };
                    if p != phase_seen {
                        phase_seen = p;
                        match p {
                            Phase::Graceful => self.conn.graceful_shutdown(Instant::now()),
                            Phase::Immediate => self.conn.close(ErrorCode::NoError, "server shutting down"),
                            Phase::Running => {}
                        }
                    }
                }
            }
        }
        // Best effort: write what is left, then close. Only the output queue
        // lives on while a peer that does not read holds that up: the read
        // buffer, the core (HPACK tables, streams) and the streams' budgets
        // go first, so that connections cut in quick succession (a reset
        // budget spent, then a reconnect) do not pile up in memory.
        self.fill_output();
        self.fail_all("connection closed");
        drop(rbuf);
        let stats = self.stats.clone();
        let mut out = std::mem::replace(&mut self.out, Output::new());
        drop(self);
        out.finish(&mut wr, Duration::from_secs(1)).await;
        stats.connections_active.fetch_sub(1, Ordering::Relaxed);
    }

    /// Feeds the core; first, an upgraded request's HTTP/1.1 body.
    fn feed(&mut self, rbuf: &mut BytesMut) {
        if let Some(body) = &mut self.h1_body {
            loop {
                match body.decode(rbuf) {
                    Ok(Some(data)) => {
                        let n = data.len();
                        let tx = self
                            .streams
                            .get(&UPGRADE_STREAM)
                            .and_then(|c| c.body_tx.as_ref());
                        if tx.is_some_and(|tx| tx.send(BodyMsg::Data(data)).is_ok()) {
                            self.h1_unread += n;
                        }
                    }
                    Ok(None) if body.is_done() => {
                        self.h1_body = None;
                        if std::mem::take(&mut self.owe_switch) {
                            self.out.push(Bytes::from_static(h1::SWITCHING));
                        }
                        self.conn.upgrade_body_done(Instant::now());
                        if let Some(ctx) = self.streams.get_mut(&UPGRADE_STREAM) {
                            ctx.body_tx = None;
                        }
                        self.maybe_forget(UPGRADE_STREAM);
                        break;
                    }
                    Ok(None) => return,
                    Err(why) => {
                        debug!(why, "malformed HTTP/1.1 body of the upgraded request");
                        self.h1_body = None;
                        if let Some(ctx) = self.streams.get_mut(&UPGRADE_STREAM) {
                            if let Some(tx) = ctx.body_tx.take() {
                                let _ = tx.send(BodyMsg::Error(why.to_owned()));
                            }
                        }
                        rbuf.clear();
                        if std::mem::take(&mut self.owe_switch) {
                            // Still HTTP/1.1 on the wire: answer in it.
                            let msg = h1::answer(
                                "400 Bad Request",
                                &format!("malformed HTTP/1.1 request body: {why}\n"),
                            );
                            self.out.push(Bytes::from(msg));
                            self.h1_refused = true;
                        }
                        self.conn
                            .close(ErrorCode::ProtocolError, "malformed HTTP/1.1 request body");
                        return;
                    }
                }
            }
        }
        self.more_frames = self
            .conn
            .recv_heads(rbuf, Instant::now(), REQUESTS_PER_TURN);
    }

    /// Pulls bytes from the core into the output queue.
    fn fill_output(&mut self) {
        self.transmit();
        if self.stop_unread_bodies() {
            self.transmit();
        }
    }

    fn transmit(&mut self) {
        // One clock reading for the whole batch of frames.
        let now = Instant::now();
        if self.owe_switch {
            if let Some(why) = self.conn.close_reason() {
                // Closed (a timeout, shutdown) while the upgraded request's
                // body was still arriving: no 101 was sent, so the answer
                // is HTTP/1.1, and the connection ends once it is written.
                let status = if why.to_string().contains("timeout") {
                    "408 Request Timeout"
                } else {
                    "503 Service Unavailable"
                };
                let msg = h1::answer(status, &format!("request not completed: {why}\n"));
                self.out.push(Bytes::from(msg));
                self.owe_switch = false;
                self.h1_body = None;
                self.h1_refused = true;
            }
        }
        self.flush_pending();
        // No HTTP/2 frame before the 101 (RFC 7540 §3.2), nor after a 400.
        while self.out.has_room() && self.conn.wants_write() && !self.owe_switch && !self.h1_refused
        {
            if let Some(sent) = self.upgrade_hold {
                if self.conn.is_ready() || self.conn.close_reason().is_some() {
                    self.upgrade_hold = None;
                } else if sent {
                    break;
                } else {
                    self.upgrade_hold = Some(true);
                }
            }
            match self.out.pull(&mut self.conn, now) {
                Pulled::Nothing => break,
                Pulled::Frames => {}
                Pulled::Data { stream, len } => {
                    // Out of the core (into the output queue, bounded on its
                    // own): the stream's budget may be topped up.
                    if let Some(ctx) = self.streams.get_mut(&stream) {
                        let n = len.min(ctx.granted);
                        ctx.granted -= n;
                        self.budget.give(n);
                    }
                    self.maybe_forget(stream);
                }
            }
            self.flush_pending();
        }
        self.grant_credit();
        while let Some(ev) = self.conn.poll_event() {
            self.on_event(ev);
        }
    }

    /// RFC 9113 §8.1: once the response is complete, a server may ask the
    /// client to stop sending a request body (RST_STREAM NO_ERROR) — done
    /// when the handler dropped the body unread.
    fn stop_unread_bodies(&mut self) -> bool {
        if self.unread.is_empty() {
            return false;
        }
        let mut reset = false;
        for id in std::mem::take(&mut self.unread) {
            let Some(ctx) = self.streams.get(&id) else {
                continue;
            };
            let dropped = ctx.body_tx.as_ref().is_none_or(|tx| tx.is_closed());
            if !dropped {
                continue;
            }
            match self.conn.stream_state(id) {
                Some(State::HalfClosedLocal) => {
                    debug!(
                        stream = id.get(),
                        "response complete; request body unread: RST_STREAM NO_ERROR"
                    );
                    reset |= self.conn.reset(id, ErrorCode::NoError).is_ok();
                }
                Some(_) if ctx.body_tx.is_some() => {
                    // Response not fully framed yet: look again later.
                    self.unread.push(id);
                }
                _ => {}
            }
        }
        reset
    }

    /// Moves data that the core refused (its send buffer was full) into it.
    fn flush_pending(&mut self) {
        if self.with_pending.is_empty() {
            return;
        }
        let mut ids = std::mem::take(&mut self.with_pending);
        for &id in &ids {
            while let Some(ctx) = self.streams.get_mut(&id) {
                let Some(p) = ctx.pending.pop_front() else {
                    break;
                };
                if let Some(p) = self.offer(id, p) {
                    if let Some(ctx) = self.streams.get_mut(&id) {
                        ctx.pending.push_front(p);
                        self.with_pending.push(id);
                    }
                    break;
                }
            }
            self.maybe_forget(id);
        }
        // Keep the allocation for next time.
        if self.with_pending.is_empty() {
            ids.clear();
            self.with_pending = ids;
        }
    }

    /// Offers a handler's data or trailers to the core. Returns it when the
    /// core's send buffer is full (to wait in `pending`); any other refusal
    /// (the stream is gone or reset) drops what the stream has pending and
    /// stops its handler's credit.
    fn offer(&mut self, id: StreamId, p: Pending) -> Option<Pending> {
        let res = match p {
            Pending::Data(d, end) => match self.conn.try_send_data(id, d, end) {
                Ok(()) => Ok(()),
                Err((UserError::SendBufferFull, d)) => return Some(Pending::Data(d, end)),
                Err((e, _)) => Err(e),
            },
            Pending::Trailers(t) => self.conn.send_trailers(id, t),
        };
        if let Err(e) = res {
            debug!(stream = id.get(), error = %e, "dropping queued response data");
            if let Some(ctx) = self.streams.get_mut(&id) {
                ctx.pending.clear();
                ctx.credit.close();
            }
        }
        None
    }

    fn maybe_forget(&mut self, id: StreamId) {
        if let Some(ctx) = self.streams.get(&id) {
            // Octets still in the core stay counted until written (or
            // dropped with the stream).
            let in_core = ctx.granted > 0 && self.conn.stream_state(id).is_some();
            if ctx.handler_done && ctx.pending.is_empty() && ctx.body_tx.is_none() && !in_core {
                if let Some(ctx) = self.streams.remove(&id) {
                    self.budget.give(ctx.granted);
                }
            }
        }
    }

    /// Tops up the response credit of streams whose handlers are sending,
    /// within [`STREAM_BUDGET`] per stream, the connection's budget and the
    /// server's (CVE-2019-9511, CVE-2019-9517: a peer that does not read
    /// holds at most the connection's budget, and all of them together at
    /// most the server's).
    fn grant_credit(&mut self) {
        let conn_cap = self.opts.max_buffered_per_connection.max(CHUNK);
        let total_cap = self.opts.max_buffered_total.max(CHUNK);
        self.budget.starved = false;
        for ctx in self.streams.values_mut() {
            // Only a handler streaming its body holds credit, from the
            // `Cmd::Response` that starts it (`grant_first`): most answer
            // without.
            if ctx.handler_done {
                continue;
            }
            let Some(credit) = ctx.credit.open() else {
                continue;
            };
            // Ramped up: FIRST_GRANT, then a doubling step each time the
            // handler has used half of what it holds, so that many quiet
            // streams hold little and a bulk one soon holds its whole
            // budget; and topped up in large steps, not octet by octet as a
            // dribbling peer opens its window.
            let unused = credit.available_permits();
            if ctx.granted > 0 && unused >= ctx.step / 2 {
                continue;
            }
            let room = STREAM_BUDGET - ctx.granted.min(STREAM_BUDGET);
            if room < ctx.step / 2 {
                continue;
            }
            let got = self.budget.take(ctx.step.min(room), conn_cap, total_cap);
            if got == 0 {
                break;
            }
            ctx.granted += got;
            credit.add_permits(got);
            ctx.step = (ctx.step * 2).min(STREAM_BUDGET);
        }
    }

    /// A streaming handler's first credit, if it has none yet and the
    /// budgets allow.
    fn grant_first(&mut self, id: StreamId) {
        let conn_cap = self.opts.max_buffered_per_connection.max(CHUNK);
        let total_cap = self.opts.max_buffered_total.max(CHUNK);
        let Some(ctx) = self.streams.get_mut(&id) else {
            return;
        };
        if ctx.granted > 0 || ctx.handler_done {
            return;
        }
        let Some(credit) = ctx.credit.open() else {
            return;
        };
        let got = self.budget.take(ctx.step, conn_cap, total_cap);
        if got == 0 {
            return;
        }
        ctx.granted += got;
        credit.add_permits(got);
        ctx.step = (ctx.step * 2).min(STREAM_BUDGET);
    }

    /// Whether stream `id`'s handler has credit it has not taken yet.
    fn has_unused_credit(&self, id: StreamId) -> bool {
        self.streams
            .get(&id)
            .and_then(|ctx| ctx.credit.open())
            .is_some_and(|credit| credit.available_permits() > 0)
    }

    /// Starts the handlers of requests that are still wanted.
    fn start_handlers(&mut self) {
        if self.to_start.is_empty() {
            return;
        }
        let mut ids = std::mem::take(&mut self.to_start);
        for &id in &ids {
            let Some(mut task) = self.streams.get_mut(&id).and_then(|ctx| ctx.start.take()) else {
                continue;
            };
            self.stats.handlers_total.fetch_add(1, Ordering::Relaxed);
            if !self.opts.spawn_handlers {
                // The first poll runs here: a handler that answers at
                // once (most do) costs no task, no wake-up of this task,
                // and its answer leaves in the same write as its
                // neighbours'. One that waits moves to its own task,
                // whose first poll registers its wakers.
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                let mut granted = false;
                let pending = loop {
                    // Unconstrained: a hundred handlers polled in one go must
                    // not run this task's coop budget dry (they would all
                    // come back Pending and be spawned). What the handler
                    // sends meanwhile lands in `inline_cmds`, handled at once.
                    let polled = inline::collect(self.sink.conn(), &mut self.inline_cmds, || {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            std::pin::pin!(tokio::task::unconstrained(task.as_mut())).poll(&mut cx)
                        }))
                    });
                    self.run_inline_cmds();
                    match polled {
                        Ok(Poll::Ready(())) => break false,
                        // Most likely waiting for credit (a body of more
                        // than `WHOLE_BODY`): its `Cmd::Response` has just
                        // brought some, and this poll's waker is a no-op,
                        // so once more.
                        Ok(Poll::Pending) if !granted && self.has_unused_credit(id) => {
                            granted = true;
                        }
                        Ok(Poll::Pending) => break true,
                        // The handler's guard counted the panic and, dropped
                        // with the future, resets the stream.
                        Err(_) => break false,
                    }
                };
                if !pending {
                    continue;
                }
            }
            // Its first poll's commands may have ended the stream.
            let Some(ctx) = self.streams.get_mut(&id) else {
                continue;
            };
            let active = Active::new(self.stats.clone());
            let handle = tokio::spawn(async move {
                let _active = active;
                task.await;
            });
            ctx.task = Some(handle.abort_handle());
        }
        if self.to_start.is_empty() {
            ids.clear();
            self.to_start = ids;
        }
    }

    /// Handles the commands that handlers sent while polled (or called) on
    /// this task, in order (see `inline`).
    fn run_inline_cmds(&mut self) {
        if self.inline_cmds.is_empty() {
            return;
        }
        let mut cmds = std::mem::take(&mut self.inline_cmds);
        for cmd in cmds.drain(..) {
            self.on_cmd(cmd);
        }
        // Keep the allocation, unless a nested call left one there.
        if self.inline_cmds.is_empty() {
            self.inline_cmds = cmds;
        }
    }

    fn process_events(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            self.on_event(ev);
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Request {
                stream,
                head,
                end_stream,
            } => self.on_request(stream, head, end_stream),
            Event::Data {
                stream,
                data,
                end_stream,
            } => {
                let n = data.len();
                let mut delivered = false;
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    if let Some(tx) = &ctx.body_tx {
                        delivered = n == 0 || tx.send(BodyMsg::Data(data)).is_ok();
                        if !delivered && ctx.handler_done && !self.unread.contains(&stream) {
                            // Answered, and the body was dropped unread.
                            self.unread.push(stream);
                        }
                    }
                    if end_stream {
                        ctx.body_tx = None;
                    }
                }
                if !delivered && n > 0 {
                    // Nobody reads this body: give the window back at once.
                    self.conn.release_capacity(stream, n);
                }
                self.maybe_forget(stream);
            }
            Event::Trailers { stream, trailers } => {
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    if let Some(tx) = ctx.body_tx.take() {
                        let _ = tx.send(BodyMsg::Trailers(trailers));
                    }
                }
                self.maybe_forget(stream);
            }
            Event::Reset { error } => {
                if let ConnError::Stream { id, initiator, .. } = &error {
                    match initiator {
                        Initiator::Remote => {
                            self.stats.resets_received.fetch_add(1, Ordering::Relaxed)
                        }
                        Initiator::Local => self.stats.resets_sent.fetch_add(1, Ordering::Relaxed),
                    };
                    debug!(stream = id.get(), %error, "stream reset");
                    if let Some(mut ctx) = self.streams.remove(id) {
                        self.budget.give(ctx.granted);
                        if let Some(tx) = ctx.body_tx.take() {
                            let _ = tx.send(BodyMsg::Error(error.to_string()));
                        }
                        ctx.credit.close();
                        if let Some(task) = ctx.task.take() {
                            task.abort();
                        }
                    }
                }
            }
            Event::GoAway {
                last_stream_id,
                code,
                ..
            } => {
                debug!(last = last_stream_id.get(), %code, "GOAWAY received");
                self.stats.goaways_received.fetch_add(1, Ordering::Relaxed);
                self.stats.goaways_received_by.add(code);
            }
            Event::Closed { error } => {
                debug!(%error, "connection closed");
                if let ConnError::Connection {
                    code, initiator, ..
                } = &error
                {
                    if *initiator == Initiator::Local {
                        self.stats.goaways_sent.fetch_add(1, Ordering::Relaxed);
                        self.stats.goaways_sent_by.add(*code);
                        if *code != ErrorCode::NoError {
                            self.stats.connection_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                self.fail_all(&error.to_string());
            }
            _ => {}
        }
    }

    fn fail_all(&mut self, why: &str) {
        for (_, mut ctx) in self.streams.drain() {
            self.budget.give(ctx.granted);
            if let Some(tx) = ctx.body_tx.take() {
                let _ = tx.send(BodyMsg::Error(why.to_string()));
            }
            ctx.credit.close();
            if let Some(task) = ctx.task.take() {
                task.abort();
            }
        }
    }

    fn on_request(&mut self, id: StreamId, head: RequestHead, end_stream: bool) {
        self.requests_seen = true;
        self.stats.streams_total.fetch_add(1, Ordering::Relaxed);
        let mut parts = head.into_parts();
        if parts.uri.scheme().is_none() {
            // Keep what we know even when :authority was absent.
            let mut up = parts.uri.clone().into_parts();
            if up.authority.is_some() {
                up.scheme = Some(if self.secure {
                    http::uri::Scheme::HTTPS
                } else {
                    http::uri::Scheme::HTTP
                });
                if let Ok(u) = http::Uri::from_parts(up) {
                    parts.uri = u;
                }
            }
        }
        // An upgraded request's body arrives in HTTP/1.1 framing.
        let end_stream = end_stream && !(id == UPGRADE_STREAM && self.h1_body.is_some());
        let (body, body_tx) = if end_stream {
            (Incoming::empty(), None)
        } else {
            // The core checked it (RFC 9113 §8.1.1: a malformed one never
            // gets here); only a body needs it.
            let content_length = ropewalk_proto::headers::content_length(&parts.headers)
                .ok()
                .flatten();
            let (tx, rx) = mpsc::unbounded_channel();
            (
                Incoming::new(id, rx, self.cmd_tx.clone(), content_length),
                Some(tx),
            )
        };
        let push_origin = self
            .conn
            .peer_enables_push()
            .then(|| (parts.uri.scheme().cloned(), parts.uri.authority().cloned()));
        parts.extensions.insert(StreamHandle {
            id,
            peer: self.peer,
            cmds: self.sink.clone(),
            push_origin,
        });
        let req = Request::from_parts(parts, body);
        self.streams.insert(
            id,
            StreamCtx {
                body_tx,
                credit: Credit::None,
                granted: 0,
                step: FIRST_GRANT,
                start: None,
                pending: VecDeque::new(),
                handler_done: false,
                task: None,
            },
        );
        let span = tracing::debug_span!("stream", id = id.get());
        // A handler that panics when called (not polled) resets its stream
        // (`Guard`) and leaves nothing to start. What the service sends as
        // it is called (before its future is polled) is handled here, ahead
        // of what its future sends.
        let (handler, sink, peer) = (&self.handler, self.sink.clone(), self.peer);
        let task = inline::collect(self.sink.conn(), &mut self.inline_cmds, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handle(id, req, handler, sink, peer)
            }))
        });
        self.run_inline_cmds();
        // Started by `start_handlers` unless the stream is reset first.
        if let (Ok(task), Some(ctx)) = (task, self.streams.get_mut(&id)) {
            ctx.start = Some(if span.is_disabled() {
                task
            } else {
                Box::pin(task.instrument(span))
            });
            self.to_start.push(id);
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Informational(id, head) => {
                if let Err(e) = self.conn.send_informational(id, head) {
                    debug!(stream = id.get(), error = %e, "informational response not sent");
                }
            }
            Cmd::Response(id, head, credit) => {
                match self.streams.get_mut(&id) {
                    Some(ctx) if !ctx.credit.is_closed() => ctx.credit = Credit::Open(credit),
                    _ => credit.close(),
                }
                if self.send_response(id, head, false) {
                    // Its first credit at once, within the budgets (then
                    // `grant_credit`): the task asks for it next.
                    self.grant_first(id);
                }
            }
            Cmd::Whole(id, head, body) => {
                let end = body.is_empty();
                if self.send_response(id, head, end) && !end {
                    self.queue(id, Pending::Data(body, true));
                }
                self.on_cmd(Cmd::Done(id));
            }
            Cmd::Data(id, data, end) => self.queue(id, Pending::Data(data, end)),
            Cmd::Trailers(id, t) => self.queue(id, Pending::Trailers(t)),
            Cmd::Panicked(id) => {
                self.stats.handler_panics.fetch_add(1, Ordering::Relaxed);
                self.on_cmd(Cmd::Reset(id, ErrorCode::InternalError));
            }
            Cmd::Reset(id, code) => {
                if let Some(ctx) = self.streams.get_mut(&id) {
                    ctx.pending.clear();
                    ctx.credit.close();
                }
                let _ = self.conn.reset(id, code);
            }
            Cmd::Release(id, n) if id == UPGRADE_STREAM && self.h1_stream => {
                // Not HTTP/2 flow-controlled: only our read budget.
                self.h1_unread = self.h1_unread.saturating_sub(n);
            }
            Cmd::Release(id, n) => self.conn.release_capacity(id, n),
            Cmd::Push(id, head, reply) => {
                let head = *head;
                let res = self.conn.push_promise(id, head.clone());
                match res {
                    Ok(promised) => {
                        debug!(
                            stream = id.get(),
                            promised = promised.get(),
                            "push promised"
                        );
                        self.stats.pushes.fetch_add(1, Ordering::Relaxed);
                        let _ = reply.send(Ok(()));
                        // The pushed request has no body; our handler answers it.
                        self.on_request(promised, head, true);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Cmd::Done(id) => {
                if let Some(ctx) = self.streams.get_mut(&id) {
                    ctx.handler_done = true;
                    // Credit the handler did not use goes back to the budget.
                    let unused = ctx
                        .credit
                        .open()
                        .map_or(0, |c| c.forget_permits(c.available_permits()));
                    let n = unused.min(ctx.granted);
                    ctx.granted -= n;
                    self.budget.give(n);
                    if ctx.body_tx.is_some() {
                        self.unread.push(id);
                    }
                }
                self.maybe_forget(id);
            }
        }
    }

    /// Sends a response head (with a `Date`, RFC 9110 §6.6.1); false if
    /// it could not be (the stream is then reset or gone).
    fn send_response(&mut self, id: StreamId, mut head: ResponseHead, end: bool) -> bool {
        // The clock is read once per turn of the loop, not per response.
        let date = &mut self.date;
        super::date::ensure(&mut head.headers, head.status, || {
            date.get_or_insert_with(super::date::now).clone()
        });
        match self.conn.send_response(id, head, end) {
            Ok(()) => true,
            Err(e) => {
                debug!(stream = id.get(), error = %e, "response not sent");
                if let Some(ctx) = self.streams.get_mut(&id) {
                    ctx.credit.close();
                }
                if !matches!(e, UserError::UnknownStream(_)) {
                    let _ = self.conn.reset(id, ErrorCode::InternalError);
                }
                false
            }
        }
    }

    /// Hands a handler's data or trailers to the core at once, unless some
    /// of the stream's are already waiting (then behind them); what the
    /// core cannot take yet waits in `pending` for `flush_pending`.
    fn queue(&mut self, id: StreamId, p: Pending) {
        let Some(ctx) = self.streams.get_mut(&id) else {
            return;
        };
        if !ctx.pending.is_empty() {
            // Already listed in `with_pending`.
            ctx.pending.push_back(p);
            return;
        }
        if let Some(p) = self.offer(id, p) {
            if let Some(ctx) = self.streams.get_mut(&id) {
                ctx.pending.push_back(p);
                self.with_pending.push(id);
            }
        }
        self.maybe_forget(id);
    }
}

/// Counts a live handler task ([`Stats::handlers_active`]) from its spawn
/// to its end, including a task aborted before it first ran.
struct Active(Arc<Stats>);

impl Active {
    fn new(stats: Arc<Stats>) -> Active {
        stats.handlers_active.fetch_add(1, Ordering::Relaxed);
        Active(stats)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.handlers_active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Resets the stream with INTERNAL_ERROR if the handler task ends without
/// finishing (a panic unwinds through here).
struct Guard {
    id: StreamId,
    cmds: CmdSink,
    armed: bool,
    /// `Done` went already (with `Cmd::Whole`).
    done: bool,
}

impl Guard {
    /// Sends `last` (a command that also says the handler is done) and
    /// disarms.
    fn finish(&mut self, last: Cmd) {
        let _ = self.cmds.send(last);
        self.armed = false;
        self.done = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.armed {
            let cmd = if std::thread::panicking() {
                warn!(stream = self.id.get(), "handler panicked; stream reset");
                Cmd::Panicked(self.id)
            } else {
                Cmd::Reset(self.id, ErrorCode::InternalError)
            };
            let _ = self.cmds.send(cmd);
        }
        let _ = self.cmds.send(Cmd::Done(self.id));
    }
}

/// The handler task of one request. The handler is called here, before
/// the task is polled: its future holds the request, so the task's own
/// state does not (a request is 304 bytes; the task stays small enough for
/// the allocator's fast path and cheap to move into its box).
fn handle(
    id: StreamId,
    req: Request<Incoming>,
    handler: &ServerHandler,
    cmds: CmdSink,
    peer: Option<SocketAddr>,
) -> HandlerTask {
    // Armed first: it resets the stream if the handler panics, even in
    // the call below.
    let guard = Guard {
        id,
        cmds,
        armed: true,
        done: false,
    };
    let method = req.method().clone();
    // The access log's clock and path only when its line will be written
    // (`ropewalk serve --no-access-log`, or a filter without it). The path
    // shares the request's octets (no copy).
    let log = tracing::enabled!(target: "ropewalk::access", tracing::Level::INFO);
    let started = log.then(Instant::now);
    let path = if log {
        req.uri().path_and_query().cloned()
    } else {
        None
    };
    let task = Respond {
        id,
        guard,
        method,
        peer,
        started,
        path,
    };
    // The service is called and its future boxed with the task, in one
    // allocation (`erase_server`).
    handler(req, task)
}

/// What a handler's task needs besides the service's answer (see `respond`).
pub(crate) struct Respond {
    id: StreamId,
    guard: Guard,
    method: http::Method,
    peer: Option<SocketAddr>,
    started: Option<Instant>,
    path: Option<http::uri::PathAndQuery>,
}

/// A handler's task (see `handle`).
pub(crate) type HandlerTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project_lite::pin_project! {
    /// A handler's task: sends the service's answer (through the guard's
    /// sink), the head, then the body as credit allows.
    ///
    /// Most answers are a head and a small body made already: they go at
    /// once ([`Respond::answer`]). A body to stream gets a task state of its
    /// own, boxed ([`Respond::stream`]), so that this one stays small: it is
    /// boxed for every request, and under 1 KiB that is the allocator's
    /// fast path and little to move. It is written by hand because an
    /// `async fn` keeps its arguments twice (rust-lang/rust#62958).
    pub(crate) struct Responding<F> {
        #[pin]
        answer: F,
        task: Option<Respond>,
        streaming: Option<HandlerTask>,
    }
}

/// The task that sends `answer`'s response for `task`'s stream.
pub(crate) fn respond<F>(task: Respond, answer: F) -> Responding<F>
where
    F: Future<Output = Result<Response<BoxBody>, BoxError>>,
{
    Responding {
        answer,
        task: Some(task),
        streaming: None,
    }
}

impl<F> Future for Responding<F>
where
    F: Future<Output = Result<Response<BoxBody>, BoxError>>,
{
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let this = self.project();
        if let Some(streaming) = this.streaming {
            return streaming.as_mut().poll(cx);
        }
        if this.task.is_none() {
            // Done already.
            return Poll::Ready(());
        }
        // A service that panics here drops the task as the panic unwinds,
        // so that its guard counts the panic (as an `async fn` would drop
        // its locals).
        let unwinding = DropOnUnwind(this.task);
        let answer = std::task::ready!(this.answer.poll(cx));
        let Some(task) = unwinding.0.take() else {
            return Poll::Ready(());
        };
        match answer {
            Ok(resp) => match task.answer(resp) {
                Some(mut streaming) => {
                    let poll = streaming.as_mut().poll(cx);
                    *this.streaming = Some(streaming);
                    poll
                }
                None => Poll::Ready(()),
            },
            Err(e) => {
                // The guard resets the stream.
                warn!(stream = task.id.get(), error = %e, "handler failed; stream reset");
                Poll::Ready(())
            }
        }
    }
}

/// Drops the task it holds if dropped while the thread panics.
struct DropOnUnwind<'a>(&'a mut Option<Respond>);

impl Drop for DropOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.take();
        }
    }
}

impl Respond {
    /// Sends `resp` if its body is made already, in one small piece; else
    /// returns the task that streams it.
    fn answer(mut self, resp: Response<BoxBody>) -> Option<HandlerTask> {
        let (parts, mut body) = resp.into_parts();
        let status = parts.status;
        let head = ResponseHead::from_parts(parts);
        let no_body = self.method == http::Method::HEAD
            || status == http::StatusCode::NO_CONTENT
            || status == http::StatusCode::NOT_MODIFIED;
        // A body already made in one small piece (most answers) goes with
        // its head, in one command, without credit (see `WHOLE_BODY`).
        // Otherwise the first frame pulled here leads the stream's loop. A
        // body not ready at once is streamed: the stream's task polls it
        // again, with its own waker.
        let mut first = None;
        let whole = if no_body || body.is_end_stream() {
            Some(Bytes::new())
        } else if body
            .size_hint()
            .exact()
            .is_some_and(|n| n <= WHOLE_BODY as u64)
        {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Pending => None,
                Poll::Ready(None) => Some(Bytes::new()),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if data.len() <= WHOLE_BODY && body.is_end_stream() => Some(data),
                    Ok(data) => {
                        first = Some(Ok(http_body::Frame::data(data)));
                        None
                    }
                    Err(frame) => {
                        first = Some(Ok(frame));
                        None
                    }
                },
                Poll::Ready(Some(Err(e))) => {
                    first = Some(Err(e));
                    None
                }
            }
        } else {
            None
        };
        match whole {
            Some(data) => {
                let sent = data.len() as u64;
                self.guard.finish(Cmd::Whole(self.id, head, data));
                self.log(status, sent, true);
                None
            }
            None => Some(Box::pin(self.stream(head, status, body, first))),
        }
    }

    /// Sends `head`, then `body` as credit allows, `first` (a frame pulled
    /// already) leading.
    async fn stream(
        mut self,
        head: ResponseHead,
        status: http::StatusCode,
        body: BoxBody,
        mut first: Option<Result<http_body::Frame<Bytes>, BoxError>>,
    ) {
        let id = self.id;
        // The driver tops it up (`grant_credit`), and closes it when the
        // stream is gone.
        let credit = Arc::new(Semaphore::new(0));
        let mut body = std::pin::pin!(body);
        let mut sent: u64 = 0;
        let ok = {
            let cmds = &self.guard.cmds;
            let _ = cmds.send(Cmd::Response(id, head, credit.clone()));
            // One octet of credit is held before the next frame is pulled
            // from the body: a stream whose peer does not read makes its
            // body wait instead of holding a generated chunk each
            // (CVE-2019-9517).
            let mut reserved = None;
            'body: loop {
                let pulled = match first.take() {
                    Some(frame) => Some(frame),
                    None => {
                        if reserved.is_none() {
                            match credit.acquire().await {
                                Ok(p) => reserved = Some(p),
                                // The stream is gone.
                                Err(_) => break 'body false,
                            }
                        }
                        body.frame().await
                    }
                };
                match pulled {
                    None => {
                        let _ = cmds.send(Cmd::Data(id, Bytes::new(), true));
                        break true;
                    }
                    Some(Err(e)) => {
                        warn!(stream = id.get(), error = %e, "response body failed; stream reset");
                        let _ = cmds.send(Cmd::Reset(id, ErrorCode::InternalError));
                        break false;
                    }
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(mut data) => {
                            let last = body.is_end_stream();
                            sent += data.len() as u64;
                            loop {
                                // Whatever credit there is (at least one octet, at
                                // most a CHUNK): waiting for a whole CHUNK could
                                // wait forever once the connection's budget is
                                // held by other streams' partial credit.
                                if !data.is_empty() {
                                    let first = match reserved.take() {
                                        Some(p) => p,
                                        None => match credit.acquire().await {
                                            Ok(p) => p,
                                            Err(_) => break 'body false,
                                        },
                                    };
                                    first.forget();
                                }
                                let want = data.len().min(CHUNK);
                                let mut n = want.min(1);
                                let more = credit.available_permits().min(want.saturating_sub(1));
                                if more > 0 {
                                    if let Ok(p) =
                                        credit.try_acquire_many(u32::try_from(more).unwrap_or(0))
                                    {
                                        n += p.num_permits();
                                        p.forget();
                                    }
                                }
                                let piece = if data.len() > n {
                                    data.split_to(n)
                                } else {
                                    std::mem::take(&mut data)
                                };
                                let end = last && data.is_empty();
                                let _ = cmds.send(Cmd::Data(id, piece, end));
                                if data.is_empty() {
                                    break;
                                }
                            }
                            if last {
                                break true;
                            }
                        }
                        Err(frame) => {
                            if let Ok(t) = frame.into_trailers() {
                                let _ = cmds.send(Cmd::Trailers(id, t));
                                break true;
                            }
                        }
                    },
                }
            }
        };
        self.guard.armed = false;
        self.log(status, sent, ok);
    }

    /// The access-log line, when it is written.
    fn log(&self, status: http::StatusCode, sent: u64, complete: bool) {
        if let Some(started) = self.started {
            info!(
                target: "ropewalk::access",
                peer = %Peer(self.peer),
                method = %self.method,
                path = self.path.as_ref().map_or("", |p| p.as_str()),
                status = status.as_u16(),
                bytes = sent,
                complete,
                us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "request"
            );
        }
    }
}

/// The peer's address in the access log, formatted only if the line is.
struct Peer(Option<SocketAddr>);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            // By hand when no width is asked for: `SocketAddrV4`'s Display
            // goes through the padding machinery for each octet, which cost
            // about a fifth of a hand-formatted access-log line.
            Some(SocketAddr::V4(a)) if f.width().is_none() => {
                let mut buf = [0u8; 21]; // 255.255.255.255:65535
                let mut n = 0;
                let mut digits = itoa::Buffer::new();
                let mut put = |text: &str| {
                    buf[n..n + text.len()].copy_from_slice(text.as_bytes());
                    n += text.len();
                };
                for (i, octet) in a.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        put(".");
                    }
                    put(digits.format(octet));
                }
                put(":");
                put(digits.format(a.port()));
                f.write_str(std::str::from_utf8(&buf[..n]).unwrap_or_default())
            }
            Some(p) => p.fmt(f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_read_as_socket_addr_displays_them() {
        for a in [
            "0.0.0.0:0",
            "127.0.0.1:60200",
            "10.2.33.4:8080",
            "255.255.255.255:65535",
            "[::1]:443",
            "[2001:db8::17]:9",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(Peer(Some(addr)).to_string(), addr.to_string());
            assert_eq!(format!("{:>24}", Peer(Some(addr))), format!("{addr:>24}"));
        }
        assert_eq!(Peer(None).to_string(), "");
    }
}
