//! The HTTP/2 server: accept loops for cleartext (h2c) and TLS, one driver
//! task per connection, one task per request.
//!
//! ```no_run
//! use ropewalk::server::{Server, service_fn};
//! use ropewalk::body::full;
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let server = Server::new(service_fn(|_req| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(full("Hello, world!")))
//! }));
//! server.serve(listener, None, std::future::pending()).await
//! # }
//! ```

mod date;
pub(crate) mod driver;
pub(crate) mod h1;
mod inline;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use ropewalk_proto::error::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{Instrument, debug, info, warn};

pub use self::driver::StreamHandle;
use self::driver::{Driver, Phase, Start};
pub use self::h1::HTTP1_ANSWER;
use self::h1::Sniffed;
use crate::body::{BoxBody, BoxError, Incoming, boxed};
/// Why [`StreamHandle::push`] failed (the core's error for a refused command).
pub use ropewalk_proto::conn::UserError;

/// A handler's answer to come.
pub(crate) type HandlerFuture = crate::router::ResponseFuture;

/// A type-erased request handler.
pub(crate) type Handler = Arc<dyn Fn(Request<Incoming>) -> HandlerFuture + Send + Sync>;

/// The server's service, type-erased: called with a request and what its
/// task needs, it returns the task (the service's future inside).
pub(crate) type ServerHandler =
    Arc<dyn Fn(Request<Incoming>, driver::Respond) -> driver::HandlerTask + Send + Sync>;

/// Server options. Every field has a safe default.
#[derive(Clone, Debug)]
pub struct Options {
    /// The connection core's configuration: SETTINGS we advertise and all
    /// abuse limits (see [`ropewalk_proto::conn::Config`]).
    pub h2: ropewalk_proto::conn::Config,
    /// Connections served at once, counted across every listener and every
    /// thread serving this [`Server`] and its clones; further ones wait in
    /// the listen queue. Default 10 000.
    pub max_connections: usize,
    /// Time for the TLS handshake, and then for the client's preface and
    /// SETTINGS (or its HTTP/1.1 request head). Default 10 s.
    pub handshake_timeout: Duration,
    /// How long an incomplete frame (a header block or any other frame
    /// trickled in a few octets at a time: slowloris) may sit unfinished
    /// before the connection is closed. Default 20 s; `None` waits.
    pub frame_timeout: Option<Duration>,
    /// A connection without any stream for this long is shut down
    /// gracefully. Default 5 min; `None` keeps it.
    pub idle_timeout: Option<Duration>,
    /// After a graceful shutdown starts, connections still open after this
    /// long are closed. Default 30 s.
    pub drain_timeout: Duration,
    /// Response octets one connection may hold (handed to the core or
    /// queued in the connection task, not yet written to the socket),
    /// across all its streams. A peer that reads slowly or keeps its flow
    /// control windows shut (CVE-2019-9511, CVE-2019-9517) holds at most
    /// this; handlers wait for it to drain. Default 1 MiB.
    pub max_buffered_per_connection: usize,
    /// Response octets all connections together may hold (the sum of what
    /// [`max_buffered_per_connection`](Self::max_buffered_per_connection)
    /// bounds per connection), so that N slow readers cannot hold
    /// N × that. When it is spent, handlers wait until some connection's
    /// data is written (or the slow peer is cut by
    /// [`Limits::zero_window_timeout`](ropewalk_proto::limits::Limits::zero_window_timeout)),
    /// except that every connection may still hold 64 KiB, so that slow
    /// readers cannot starve the others: the bound is this plus 64 KiB per
    /// connection ([`max_connections`](Self::max_connections)).
    /// Default 128 MiB.
    pub max_buffered_total: usize,
    /// Give every request's handler its own task from the start. By
    /// default (`false`) a handler's first poll runs on its connection's
    /// task, and only a handler that has to wait moves to a task of its
    /// own: most answers then cost no spawn and leave in one write with
    /// their neighbours. A handler that blocks or computes for long before
    /// its first `.await` holds up its connection's other streams in the
    /// meantime; set this for such handlers (or use
    /// `tokio::task::spawn_blocking` in them, as anywhere in tokio).
    pub spawn_handlers: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            h2: ropewalk_proto::conn::Config::default(),
            max_connections: 10_000,
            handshake_timeout: Duration::from_secs(10),
            frame_timeout: Some(Duration::from_secs(20)),
            idle_timeout: Some(Duration::from_secs(300)),
            drain_timeout: Duration::from_secs(30),
            max_buffered_per_connection: 1 << 20,
            max_buffered_total: 128 << 20,
            spawn_handlers: false,
        }
    }
}

/// Counters an embedder can read while the server runs.
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) connections_total: AtomicU64,
    pub(crate) connections_active: AtomicU64,
    pub(crate) streams_total: AtomicU64,
    pub(crate) resets_sent: AtomicU64,
    pub(crate) resets_received: AtomicU64,
    pub(crate) goaways_received: AtomicU64,
    pub(crate) handler_panics: AtomicU64,
    pub(crate) http1_answered: AtomicU64,
    pub(crate) tls_failures: AtomicU64,
    pub(crate) pushes: AtomicU64,
    pub(crate) goaways_sent: AtomicU64,
    pub(crate) connection_errors: AtomicU64,
    pub(crate) handlers_total: AtomicU64,
    pub(crate) handlers_active: AtomicU64,
    pub(crate) response_buffered: AtomicU64,
    pub(crate) goaways_sent_by: CodeCounts,
    pub(crate) goaways_received_by: CodeCounts,
}

macro_rules! getters {
    ($($name:ident: $doc:literal),* $(,)?) => {
        impl Stats {
            $(
                #[doc = $doc]
                pub fn $name(&self) -> u64 {
                    self.$name.load(Ordering::Relaxed)
                }
            )*
        }
    };
}

getters! {
    connections_total: "Connections accepted.",
    connections_active: "Connections being served now.",
    streams_total: "Requests (streams) received.",
    resets_sent: "RST_STREAMs sent (stream errors we detected or handler failures).",
    resets_received: "RST_STREAMs received.",
    goaways_received: "GOAWAY frames received.",
    handler_panics: "Handlers that panicked (counted by their connection, so not once it has ended).",
    http1_answered: "Plain HTTP/1.x requests answered with 505 (or 400).",
    tls_failures: "TLS handshakes that failed (including clients without h2).",
    pushes: "Responses pushed (PUSH_PROMISE sent).",
    goaways_sent: "Connections we closed with a final GOAWAY (graceful or not).",
    connection_errors: "Connections we closed with an error code (peer protocol errors, timeouts, limits).",
    handlers_total: "Handlers started (requests reset before their handler started cost none).",
    handlers_active: "Handlers waiting in a task of their own now (one that answered when first polled never gets one).",
    response_buffered: "Response octets held now, across connections, not yet written (bounded by `Options::max_buffered_total`).",
}

impl Stats {
    /// Final GOAWAYs we sent, by error code (why we closed: NO_ERROR for a
    /// graceful close, PROTOCOL_ERROR, ENHANCE_YOUR_CALM for a tripped
    /// limit, SETTINGS_TIMEOUT, …).
    pub fn goaways_sent_by_code(&self) -> &CodeCounts {
        &self.goaways_sent_by
    }

    /// GOAWAYs received, by the peer's error code.
    pub fn goaways_received_by_code(&self) -> &CodeCounts {
        &self.goaways_received_by
    }
}

/// Counters by HTTP/2 error code (RFC 9113 §7), with one more for codes
/// RFC 9113 does not define.
#[derive(Debug, Default)]
pub struct CodeCounts([AtomicU64; 15]);

impl CodeCounts {
    const UNKNOWN: usize = 14;

    fn slot(code: ErrorCode) -> usize {
        match code.as_u32() {
            c @ 0..=0xd => c as usize,
            _ => Self::UNKNOWN,
        }
    }

    pub(crate) fn add(&self, code: ErrorCode) {
        self.0[Self::slot(code)].fetch_add(1, Ordering::Relaxed);
    }

    /// The count for `code` (all undefined codes share one count).
    pub fn get(&self, code: ErrorCode) -> u64 {
        self.0[Self::slot(code)].load(Ordering::Relaxed)
    }

    /// The codes counted at least once, with their counts; all undefined
    /// codes are summed under `ErrorCode::from_u32(0xe)`.
    pub fn nonzero(&self) -> Vec<(ErrorCode, u64)> {
        (0..15u32)
            .map(|c| {
                (
                    ErrorCode::from_u32(c),
                    self.0[c as usize].load(Ordering::Relaxed),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// An HTTP/2 server around one service.
#[derive(Clone)]
pub struct Server {
    handler: ServerHandler,
    opts: Arc<Options>,
    stats: Arc<Stats>,
    /// [`Options::max_connections`], shared by every listener and every
    /// runtime this server (or a clone) serves on.
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("opts", &self.opts).finish()
    }
}

impl Server {
    /// A server calling `service` for every request: any
    /// `tower::Service<http::Request<Incoming>>` whose response body has
    /// `Bytes` data (an `axum::Router`, a [`Router`](crate::router::Router),
    /// a [`service_fn`]).
    pub fn new<S, B>(service: S) -> Server
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let handler = erase_server(service);
        let opts = Options::default();
        Server {
            handler,
            slots: connection_slots(&opts),
            opts: Arc::new(opts),
            stats: Arc::new(Stats::default()),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, opts: Options) -> Server {
        self.slots = connection_slots(&opts);
        self.opts = Arc::new(opts);
        self
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Accepts connections on `listener` until `shutdown` completes: TLS
    /// (ALPN `h2`) when `tls` is given, otherwise cleartext h2c (prior
    /// knowledge or the HTTP/1.1 Upgrade). Then shuts down gracefully:
    /// no new connections, GOAWAY on every connection, in-flight requests
    /// finish (for at most [`Options::drain_timeout`]), and returns.
    ///
    /// Any runtime will do. One address may also be served by several
    /// single-threaded runtimes at once, one per thread, each calling
    /// `serve` (on a clone of this server) with a listener of its own:
    /// sockets in one `SO_REUSEPORT` group, among which the kernel spreads
    /// new connections, or copies of one socket (`try_clone`), which the
    /// threads take connections from as they wake. Each connection then
    /// stays on the thread that accepted it, with its handlers. That is how
    /// `ropewalk serve` runs (its `shards.rs`). [`Options::max_connections`]
    /// counts the connections of every such call together.
    pub async fn serve(
        &self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let (phase_tx, phase_rx) = watch::channel(Phase::Running);
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let local = listener.local_addr().ok();
        info!(addr = ?local, tls = acceptor.is_some(), "listening");
        loop {
            while tasks.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = self.slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (tcp, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off a little.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let this = self.clone();
            let phase = phase_rx.clone();
            let acceptor = acceptor.clone();
            let span = tracing::debug_span!("conn", %peer);
            tasks.spawn(
                async move {
                    this.connection(tcp, peer, acceptor, phase).await;
                    drop(permit);
                }
                .instrument(span),
            );
        }
        drop(listener);
        info!(open = tasks.len(), "shutting down: draining connections");
        let _ = phase_tx.send(Phase::Graceful);
        let drained = tokio::time::timeout(self.opts.drain_timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(open = tasks.len(), "drain timeout: closing connections");
            let _ = phase_tx.send(Phase::Immediate);
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            tasks.abort_all();
        }
        Ok(())
    }

    async fn connection(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
        phase: watch::Receiver<Phase>,
    ) {
        match acceptor {
            None => self.serve_io(tcp, Some(peer), false, phase).await,
            // Boxed: the TLS path's state (handshake, rustls connection) is
            // several KiB that a cleartext connection's task would
            // otherwise reserve too.
            Some(acceptor) => Box::pin(self.tls_connection(tcp, peer, acceptor, phase)).await,
        }
    }

    async fn tls_connection(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        acceptor: tokio_rustls::TlsAcceptor,
        phase: watch::Receiver<Phase>,
    ) {
        let hs = tokio::time::timeout(self.opts.handshake_timeout, acceptor.accept(tcp));
        match hs.await {
            Ok(Ok(tls)) => {
                let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                debug!(alpn = ?alpn.as_deref().map(String::from_utf8_lossy), "TLS established");
                self.serve_io(tls, Some(peer), true, phase).await;
            }
            Ok(Err(e)) => {
                self.stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                let no_alpn = e
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<rustls::Error>())
                    .is_some_and(|e| matches!(e, rustls::Error::NoApplicationProtocol));
                if no_alpn {
                    info!(%peer, "TLS client does not offer h2 in ALPN: sent no_application_protocol alert");
                } else {
                    debug!(%peer, error = %e, "TLS handshake failed");
                }
            }
            Err(_) => {
                self.stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                debug!(%peer, "TLS handshake timeout");
            }
        }
    }

    /// Serves one already-accepted connection (any byte stream: TCP, TLS,
    /// a Unix socket, an in-memory pipe) until it closes. `secure` is
    /// whether it is encrypted (the request URI's scheme; the h2c upgrade
    /// is only accepted when `false`).
    pub async fn serve_connection<IO>(&self, io: IO, peer: Option<SocketAddr>, secure: bool)
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin,
    {
        let (_tx, rx) = watch::channel(Phase::Running);
        self.serve_io(io, peer, secure, rx).await;
    }

    async fn serve_io<IO>(
        &self,
        mut io: IO,
        peer: Option<SocketAddr>,
        secure: bool,
        phase: watch::Receiver<Phase>,
    ) where
        IO: AsyncRead + AsyncWrite + Send + Unpin,
    {
        // A connection still starting is dropped at once on shutdown.
        let mut watch_phase = phase.clone();
        let sniffed = tokio::select! {
            r = Box::pin(h1::sniff(&mut io, self.opts.handshake_timeout, !secure, &self.opts.h2)) => r,
            _ = watch_phase.wait_for(|p| *p != Phase::Running) => return,
        };
        let start = match sniffed {
            Ok(Sniffed::H2(prefix)) => Start {
                prefix,
                upgrade: None,
            },
            Ok(Sniffed::Upgrade { conn, body, rest }) => Start {
                prefix: rest,
                upgrade: Some((conn, body)),
            },
            Ok(Sniffed::Done) => {
                self.stats.http1_answered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                debug!(error = %e, "connection start failed");
                return;
            }
        };
        if *phase.borrow() != Phase::Running {
            return;
        }
        self.stats.connections_total.fetch_add(1, Ordering::Relaxed);
        self.stats
            .connections_active
            .fetch_add(1, Ordering::Relaxed);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let driver = Driver::new(
            self.handler.clone(),
            self.opts.clone(),
            self.stats.clone(),
            peer,
            secure,
            cmd_tx,
        );
        // Boxed, here and for `sniff`: a future keeps room for each value
        // held across an await, and the driver moved into `run` would
        // otherwise be counted twice (as this local and inside `run`).
        Box::pin(driver.run(io, start, cmd_rx, phase)).await;
    }
}

/// Type-erases a service into a [`Handler`].
pub(crate) fn erase<S, B>(service: S) -> Handler
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // A `BoxService` (every ready handler, `from_fn`) is a handler
    // already: used as it is, a route's request skips a layer, a clone of
    // the service (an atomic count) and a move of the request.
    let mut slot = Some(service);
    if let Some(boxed) = crate::cast::take_as::<crate::router::BoxService, _>(&mut slot) {
        return boxed.into_handler();
    }
    let Some(service) = slot else {
        unreachable!("only a BoxService is taken out of the slot");
    };
    Arc::new(move |req| match call_if_ready(service.clone(), req) {
        Called::Now(fut) => {
            // A future that is already a `ResponseFuture` (a `BoxService`'s,
            // a `Router`'s) is not boxed again.
            let mut fut = Some(fut);
            if let Some(same) = crate::cast::take_as::<HandlerFuture, _>(&mut fut) {
                return same;
            }
            let Some(fut) = fut else {
                unreachable!("only a HandlerFuture is taken out of the slot");
            };
            HandlerFuture::new(answer::<S, B>(fut))
        }
        Called::Later(later) => later,
    })
}

/// [`erase`] for the server's own service: the service's future and its
/// stream's task ([`driver::respond`]) in one box.
fn erase_server<S, B>(service: S) -> ServerHandler
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Arc::new(move |req, task| match call_if_ready(service.clone(), req) {
        Called::Now(fut) => Box::pin(driver::respond(task, answer::<S, B>(fut))),
        // The rare paths share one instance of the task's code.
        Called::Later(later) => Box::pin(driver::respond(task, later)),
    })
}

/// What [`call_if_ready`] got.
enum Called<F> {
    /// The service's own future.
    Now(F),
    /// Its answer to come, or its readiness error.
    Later(HandlerFuture),
}

/// Most services are ready at once (a router, a function): then the
/// request goes straight into `call`, here, and `Now` has the service's
/// future. Otherwise `Later` has the answer to come, which waits for
/// readiness as `oneshot` does (tower's contract: no `call` before
/// `poll_ready` said Ready), or the readiness error.
fn call_if_ready<S, B>(mut svc: S, req: Request<Incoming>) -> Called<S::Future>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => Called::Now(svc.call(req)),
        Poll::Ready(Err(e)) => Called::Later(HandlerFuture::failed(e.into())),
        Poll::Pending => Called::Later(HandlerFuture::new(Answer {
            fut: svc.oneshot(req),
        })),
    }
}

pin_project_lite::pin_project! {
    /// The service's answer with its body boxed and its error a
    /// [`BoxError`] (by hand, not an `async fn`, which would hold the
    /// service's future twice: rust-lang/rust#62958).
    struct Answer<Fut> {
        #[pin]
        fut: Fut,
    }
}

fn answer<S, B>(fut: S::Future) -> Answer<S::Future>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>,
{
    Answer { fut }
}

impl<Fut, B, E> Future for Answer<Fut>
where
    Fut: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<BoxBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::task::ready!(self.project().fut.poll(cx)) {
            Ok(resp) => Poll::Ready(Ok(resp.map(boxed))),
            Err(e) => Poll::Ready(Err(e.into())),
        }
    }
}

fn connection_slots(opts: &Options) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(
        opts.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ))
}

/// A service from an async function or closure
/// (`Fn(Request<Incoming>) -> Future<Output = Result<Response<B>, E>>`).
pub fn service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn { f }
}

/// See [`service_fn`].
#[derive(Clone, Copy, Debug)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F, Fut, B, E> tower_service::Service<Request<Incoming>> for ServiceFn<F>
where
    F: Fn(Request<Incoming>) -> Fut,
    Fut: Future<Output = Result<Response<B>, E>>,
{
    type Response = Response<B>;
    type Error = E;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Fut {
        (self.f)(req)
    }
}

/// A never-failing error type for handlers.
pub type NoError = Infallible;

#[cfg(test)]
mod tests {
    use super::*;

    /// A service whose future is already a `ResponseFuture` (a `BoxService`,
    /// a `Router`) has it passed on as it is, not boxed in another box.
    #[test]
    fn a_response_future_is_not_boxed_again() {
        let same = erase(tower::service_fn(|_req: Request<Incoming>| {
            HandlerFuture::ready(Response::new(crate::body::empty()))
        }));
        let fut = same(Request::new(Incoming::empty()));
        assert_eq!(format!("{fut:?}"), "ResponseFuture::Ready");
        assert_eq!(block_on(fut).unwrap().status(), 200);
        // Another future type is boxed (once) and still answers.
        let other = erase(service_fn(|_req: Request<Incoming>| async {
            Ok::<_, std::convert::Infallible>(Response::new(crate::body::full("x")))
        }));
        let fut = other(Request::new(Incoming::empty()));
        assert_eq!(format!("{fut:?}"), "ResponseFuture::Boxed");
        assert_eq!(block_on(fut).unwrap().status(), 200);
    }

    /// A `BoxService` given where any service goes (a route) is used as the
    /// handler it is, not wrapped in another.
    #[test]
    fn a_box_service_is_its_own_handler() {
        let service = crate::router::text("x");
        let inner = service.clone().into_handler();
        let handler = erase(service);
        assert!(Arc::ptr_eq(&inner, &handler));
        let resp = block_on(handler(Request::new(Incoming::empty())));
        assert_eq!(resp.unwrap().status(), 200);
    }

    /// The task boxed for each request (`erase_server`) stays under 1 KiB,
    /// where glibc's malloc takes its fast path (tcache, up to 1032 octets)
    /// and the box is little to move. It was 968 octets as an `async fn`,
    /// and 1216 once a router's future was no longer a box.
    #[test]
    fn a_routers_task_is_small() {
        fn task_size<A, R>(_: impl Fn(driver::Respond, A) -> R, _: &A) -> usize {
            std::mem::size_of::<R>()
        }
        let mut router = crate::router::Router::new();
        let fut = tower_service::Service::call(&mut router, Request::new(Incoming::empty()));
        let answer = answer::<crate::router::Router, BoxBody>(fut);
        let size = task_size(driver::respond, &answer);
        assert!(size <= 512, "a router's task is {size} octets");
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
