//! The HTTP/2 client: a connection pool over the same sans-I/O core and
//! tokio driver pattern as the server.
//!
//! * One connection per origin (scheme, host, port), multiplexing as many
//!   requests as the server's SETTINGS_MAX_CONCURRENT_STREAMS allows; past
//!   that, requests wait for a stream slot, or another connection opens if
//!   [`ClientBuilder::max_connections_per_origin`] allows it.
//! * `https://` negotiates `h2` by ALPN and verifies the server's
//!   certificate against the webpki (Mozilla) roots and any extra CA;
//!   `http://` speaks h2c with prior knowledge (RFC 9113 §3.3).
//! * A connection that received GOAWAY takes no new requests; requests the
//!   server did not process (above its last-stream-id, or REFUSED_STREAM)
//!   are sent again on a new connection (RFC 9113 §8.7) when their body can
//!   be sent again.
//! * Request bodies are any [`http_body::Body`], streamed with flow
//!   control; responses are [`Incoming`] bodies that give flow-control
//!   window back as they are read, with trailers as the last frame and
//!   informational (1xx) responses in [`InformationalResponses`].
//!
//! ```no_run
//! # async fn run() -> Result<(), ropewalk::client::Error> {
//! use ropewalk::client::Client;
//!
//! let client = Client::builder().decompress(true).build()?;
//! let resp = client.get("https://example.com/?q=1").await?;
//! println!("{}", resp.status());
//! let page = ropewalk::client::collect(resp).await?;
//! println!("{} bytes", page.body.len());
//!
//! // Or in one call:
//! let page = ropewalk::get("http://127.0.0.1:8080/hello").await?;
//! assert_eq!(page.status, 200);
//! # Ok(()) }
//! ```

pub(crate) mod conn;
mod connect;
pub(crate) mod decode;
mod error;
mod frames;
mod pool;
mod push;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use ropewalk_proto::conn::Config;
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::StreamId;
use ropewalk_proto::headers::RequestHead;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::{Semaphore, mpsc, oneshot};

pub use self::conn::InformationalResponses;
pub use self::error::Error;
pub use self::frames::{Direction, FrameInfo, FrameLog, frame_name};
pub use self::push::{MAX_PENDING_PUSHES, PushedResponse, Pushes};
pub use ropewalk_proto::conn::Initiator;
pub use ropewalk_proto::error::ErrorCode as Reason;

use self::conn::{Cmd, Open, TaskOptions};
use self::connect::TlsOptions;
use self::decode::Decode;
use self::pool::{ConnHandle, Origin, Pool, Slot};
use crate::body::{BoxBody, BoxError, Incoming};

/// Largest piece of request body handed to the connection task at once.
const CHUNK: usize = 64 * 1024;
/// Times a request the server did not process is sent again.
const MAX_RETRIES: usize = 3;
/// Room for a response's fields in the map made for it (see `send_on`):
/// what `HeaderMap` allocates for its first field.
const RESPONSE_FIELDS: usize = 6;

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use ropewalk::client::Client;
///
/// let client = Client::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(30))
///     .decompress(true)
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    tls: TlsOptions,
    h2: Config,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    max_per_origin: usize,
    decompress: bool,
    frame_log: Option<FrameLog>,
    upgrade: bool,
    error: Option<String>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            tls: TlsOptions {
                builtin_roots: true,
                ..TlsOptions::default()
            },
            h2: Config::default()
                .with_initial_window_size(1 << 20)
                .with_connection_window_size(8 << 20),
            connect_timeout: Some(Duration::from_secs(30)),
            request_timeout: None,
            idle_timeout: Some(Duration::from_secs(90)),
            max_per_origin: 1,
            decompress: false,
            frame_log: None,
            upgrade: false,
            error: None,
        }
    }
}

impl ClientBuilder {
    /// Trusts `cert` (DER) as a certificate authority, beside the built-in
    /// roots.
    pub fn add_root_certificate(mut self, cert: CertificateDer<'static>) -> ClientBuilder {
        self.tls.extra_roots.push(cert);
        self
    }

    /// Trusts every certificate of the PEM file `path` as a certificate
    /// authority (what curl's `--cacert` does). A file that cannot be read
    /// makes [`build`](Self::build) fail.
    pub fn add_root_certificate_pem(mut self, path: impl AsRef<std::path::Path>) -> ClientBuilder {
        let path = path.as_ref();
        let certs = std::fs::File::open(path).and_then(|f| {
            rustls_pemfile::certs(&mut std::io::BufReader::new(f)).collect::<Result<Vec<_>, _>>()
        });
        match certs {
            Ok(c) if !c.is_empty() => self.tls.extra_roots.extend(c),
            Ok(_) => self.error = Some(format!("no certificate in {}", path.display())),
            Err(e) => self.error = Some(format!("{}: {e}", path.display())),
        }
        self
    }

    /// Uses only the CAs added with
    /// [`add_root_certificate`](Self::add_root_certificate), not the
    /// built-in webpki roots.
    pub fn only_added_roots(mut self) -> ClientBuilder {
        self.tls.builtin_roots = false;
        self
    }

    /// Presents `certs` (leaf first) with `key` when the server asks for a
    /// client certificate.
    pub fn client_certificate(
        mut self,
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> ClientBuilder {
        self.tls.client_cert = Some((certs, key));
        self
    }

    /// **Disables certificate verification**: any certificate, for any
    /// name, is accepted, so anyone on the path can read and change the
    /// traffic. For tests against self-signed servers only (curl's `-k`).
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> ClientBuilder {
        self.tls.danger_accept_invalid_certs = accept;
        self
    }

    /// How long connecting (TCP and TLS) may take. Default 30 s.
    pub fn connect_timeout(mut self, t: Duration) -> ClientBuilder {
        self.connect_timeout = Some(t);
        self
    }

    /// How long a request may wait for its response head. Default none.
    pub fn request_timeout(mut self, t: Duration) -> ClientBuilder {
        self.request_timeout = Some(t);
        self
    }

    /// A connection with no stream for this long is closed (GOAWAY).
    /// Default 90 s; `None` keeps it open.
    pub fn idle_timeout(mut self, t: Option<Duration>) -> ClientBuilder {
        self.idle_timeout = t;
        self
    }

    /// The core's settings and limits ([`Config`]): windows, frame size,
    /// header list size, keep-alive, abuse limits. Push follows
    /// [`enable_push`](Self::enable_push).
    pub fn h2_config(mut self, config: Config) -> ClientBuilder {
        let push = self.h2.enable_push;
        self.h2 = config;
        self.h2.enable_push = push;
        self
    }

    /// Connections opened per origin when every open one is at the
    /// server's concurrency limit. Default 1 (requests wait for a slot).
    pub fn max_connections_per_origin(mut self, n: usize) -> ClientBuilder {
        self.max_per_origin = n.max(1);
        self
    }

    /// Accepts server push (SETTINGS_ENABLE_PUSH = 1, RFC 9113 §8.4):
    /// pushed responses arrive in the [`Pushes`] extension of the response
    /// they came with. Default off: the server may not push.
    pub fn enable_push(mut self, on: bool) -> ClientBuilder {
        self.h2.enable_push = on;
        self
    }

    /// Decodes gzip, deflate, br and zstd responses and sends
    /// `accept-encoding` to match (unless the request sets its own).
    /// Decoded responses lose their `content-encoding` and
    /// `content-length` fields. Default off (on for [`get`]).
    pub fn decompress(mut self, on: bool) -> ClientBuilder {
        self.decompress = on;
        self
    }

    /// Starts `http://` connections with the HTTP/1.1 `Upgrade: h2c`
    /// handshake (RFC 7540 §3.2, made with a `HEAD /` request whose
    /// response is discarded) instead of prior knowledge (RFC 9113 §3.3).
    /// A server that does not answer 101 fails the request with
    /// [`Error::NoHttp2`]. Default off.
    pub fn http1_upgrade(mut self, on: bool) -> ClientBuilder {
        self.upgrade = on;
        self
    }

    /// Reports every frame sent and received (their headers, and the
    /// fields of control frames) to `log`.
    pub fn frame_log(mut self, log: FrameLog) -> ClientBuilder {
        self.frame_log = Some(log);
        self
    }

    /// The client. Fails if a CA file could not be read or the TLS
    /// configuration is invalid.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(Error::Tls(e));
        }
        let tls = connect::tls_config(&self.tls)?;
        Ok(Client {
            inner: Arc::new(Inner {
                tls,
                pool: Pool::default(),
                task: TaskOptions {
                    h2: self.h2,
                    idle_timeout: self.idle_timeout,
                    frame_log: self.frame_log,
                },
                connect_timeout: self.connect_timeout,
                request_timeout: self.request_timeout,
                max_per_origin: self.max_per_origin,
                decompress: self.decompress,
                upgrade: self.upgrade,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    tls: Arc<rustls::ClientConfig>,
    pool: Pool,
    task: TaskOptions,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_per_origin: usize,
    decompress: bool,
    upgrade: bool,
}

impl std::fmt::Debug for TaskOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskOptions")
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// An HTTP/2 client with a connection pool. Cloning is cheap and shares
/// the pool.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A request body the client may have to send again.
enum ReqBody {
    Empty,
    Full(Bytes),
    Stream(Option<BoxBody>),
}

impl Client {
    /// A client with the default settings (certificates verified against
    /// the webpki roots, no decompression, no push).
    pub fn new() -> Result<Client, Error> {
        ClientBuilder::default().build()
    }

    /// A [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Connections opened so far (for tests and statistics).
    pub fn connections_opened(&self) -> u64 {
        self.inner.pool.opened.load(Ordering::Relaxed)
    }

    /// GET `url` (the query string is kept).
    pub async fn get(&self, url: &str) -> Result<Response<Incoming>, Error> {
        let uri = parse_url(url)?;
        let slot = self.slot(&uri)?;
        self.send(request_head(Method::GET, uri), ReqBody::Empty, slot)
            .await
    }

    /// POST `body` to `url`.
    pub async fn post(
        &self,
        url: &str,
        body: impl Into<Bytes>,
    ) -> Result<Response<Incoming>, Error> {
        let uri = parse_url(url)?;
        let slot = self.slot(&uri)?;
        let body: Bytes = body.into();
        let body = if body.is_empty() {
            ReqBody::Empty
        } else {
            ReqBody::Full(body)
        };
        self.send(request_head(Method::POST, uri), body, slot).await
    }

    /// Sends `request` (its URI must be absolute: `http` or `https`, with
    /// a host). The body is streamed as the server's flow-control windows
    /// allow; trailers are sent if the body has them.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), ropewalk::client::Error> {
    /// use http_body_util::Full;
    ///
    /// let client = ropewalk::client::Client::new()?;
    /// let req = http::Request::put("http://127.0.0.1:8080/echo")
    ///     .header("content-type", "text/plain")
    ///     .body(Full::new(bytes::Bytes::from_static(b"hello")))
    ///     .unwrap();
    /// let resp = client.request(req).await?;
    /// assert!(resp.status().is_success());
    /// # Ok(()) }
    /// ```
    pub async fn request<B>(&self, request: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let body = ReqBody::of(body);
        let slot = self.slot(&parts.uri)?;
        let head = RequestHead::from_parts(parts);
        if head.scheme.is_none() {
            // CONNECT: no `:scheme`, so no origin to send it to.
            Origin::of(&head_uri(&head))?;
        }
        self.send(head, body, slot).await
    }

    /// The connections for `uri`'s origin (an error if it has none).
    fn slot(&self, uri: &Uri) -> Result<Arc<Slot>, Error> {
        self.inner
            .pool
            .slot(uri.scheme(), uri.authority(), || Origin::of(uri))
    }

    /// Opens a connection to `url`'s origin (its path is ignored) for the
    /// caller alone: neither taken from the client's pool nor given to it.
    /// Requests sent with [`Connection::request`] go straight to it, with
    /// none of the pool's bookkeeping, as with hyper's and h2's
    /// `SendRequest`; clones share it, and it closes once the last clone is
    /// dropped and its streams are done. The client's settings apply (TLS,
    /// timeouts, decompression, push).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), ropewalk::client::Error> {
    /// use ropewalk::client::Client;
    ///
    /// let client = Client::new()?;
    /// let conn = client.connection("http://127.0.0.1:8080/").await?;
    /// let mut tasks = Vec::new();
    /// for _ in 0..10 {
    ///     let conn = conn.clone();
    ///     tasks.push(tokio::spawn(async move {
    ///         // A relative URI: the connection's scheme and authority.
    ///         let req = http::Request::get("/hello").body(http_body_util::Empty::<bytes::Bytes>::new());
    ///         conn.request(req.unwrap()).await.map(|r| r.status())
    ///     }));
    /// }
    /// for t in tasks {
    ///     assert_eq!(t.await.unwrap()?, 200);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn connection(&self, url: &str) -> Result<Connection, Error> {
        let uri = parse_url(url)?;
        let origin = Origin::of(&uri)?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(Error::InvalidUrl(format!("{url}: not an absolute URL")));
        };
        let (scheme, authority) = (scheme.clone(), authority.clone());
        let conn = connect::connect(
            &origin,
            Some(&self.inner.tls),
            self.inner.connect_timeout,
            self.inner.task.clone(),
            self.inner.upgrade,
        )
        .await?;
        self.inner.pool.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Connection {
            client: self.clone(),
            conn,
            scheme,
            authority,
        })
    }

    /// `Accept-Encoding` when decompressing, unless the caller set one.
    fn accept_encoding(&self, head: &mut RequestHead) {
        if self.inner.decompress && !head.headers.contains_key(ACCEPT_ENCODING) {
            head.headers.insert(
                ACCEPT_ENCODING,
                HeaderValue::from_static(decode::ACCEPT_ENCODING),
            );
        }
    }

    async fn send(
        &self,
        mut head: RequestHead,
        mut body: ReqBody,
        slot: Arc<Slot>,
    ) -> Result<Response<Incoming>, Error> {
        self.accept_encoding(&mut head);
        let mut attempt = 0;
        loop {
            let conn = self
                .inner
                .pool
                .checkout(&slot, self.inner.max_per_origin, || {
                    // Boxed: connecting (TCP, TLS handshake, h2c upgrade)
                    // is a future of several KiB that most requests never
                    // poll, and it would make every request's future that
                    // large, copied as it is made and moved.
                    Box::pin(connect::connect(
                        &slot.origin,
                        Some(&self.inner.tls),
                        self.inner.connect_timeout,
                        self.inner.task.clone(),
                        self.inner.upgrade,
                    ))
                })
                .await?;
            let res = self.send_on(&conn, head.clone(), &mut body).await;
            match res {
                Err(e) if e.is_retryable() && attempt < MAX_RETRIES && body.replayable() => {
                    // RFC 9113 §8.7: the server did not process it; a new
                    // connection may.
                    tracing::debug!(error = %e, "request not processed; retrying");
                    attempt += 1;
                }
                Err(Error::GoingAway) => return Err(not_sent()),
                other => return other.map(|r| self.finish_response(r)),
            }
        }
    }

    async fn send_on(
        &self,
        conn: &ConnHandle,
        mut head: RequestHead,
        body: &mut ReqBody,
    ) -> Result<Response<Incoming>, Error> {
        // The connection decodes the response's fields into the request's
        // header map (emptied): allocated here, it is freed here too, with
        // the response. A map the connection's task allocated and the
        // caller's thread freed costs glibc a lock on the other thread's
        // arena, one both threads then contend for. An empty request map
        // gets the room a response's first field would take anyway.
        if head.headers.capacity() == 0 {
            head.headers = http::HeaderMap::with_capacity(RESPONSE_FIELDS);
        }
        let push = self.inner.task.h2.enable_push;
        let (resp_tx, resp_rx) = oneshot::channel();
        let (push_tx, pushes) = if push {
            let (tx, rx) = mpsc::channel(push::MAX_PENDING_PUSHES);
            (Some(tx), Some(Pushes::new(rx)))
        } else {
            (None, None)
        };
        let end_stream = matches!(body, ReqBody::Empty);
        // Only a request with a body needs its stream and credit before
        // the response: a request without one waits for the response alone.
        let (opened_tx, opened_rx) = if end_stream {
            (None, None)
        } else {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        };
        conn.tx
            .send(Cmd::Request(Open {
                head: Some(head),
                end_stream,
                opened: opened_tx,
                response: Some(resp_tx),
                pushes: push_tx,
            }))
            .map_err(|_| Error::GoingAway)?;
        let mut waiting = Waiting {
            rx: Some(resp_rx),
            conn,
        };
        if let Some(opened_rx) = opened_rx {
            let (id, credit) = match opened_rx.await {
                Ok(Ok(opened)) => opened,
                // Not opened: there is no stream to reset.
                Ok(Err(e)) => {
                    waiting.rx = None;
                    return Err(e);
                }
                Err(_) => {
                    waiting.rx = None;
                    return Err(Error::GoingAway);
                }
            };
            match body {
                ReqBody::Empty => {}
                ReqBody::Full(b) => {
                    tokio::spawn(send_full(id, b.clone(), conn.tx.clone(), credit));
                }
                ReqBody::Stream(b) => {
                    if let Some(b) = b.take() {
                        tokio::spawn(send_body(id, b, conn.tx.clone(), credit));
                    }
                }
            }
        }
        let Some(rx) = waiting.rx.as_mut() else {
            return Err(Error::GoingAway);
        };
        let resp = match self.inner.request_timeout {
            Some(t) => tokio::time::timeout(t, rx)
                .await
                .map_err(|_| Error::Timeout("request"))?,
            None => rx.await,
        };
        waiting.rx = None;
        let mut resp = resp.map_err(|_| Error::Closed("connection task ended".into()))??;
        if let Some(p) = pushes {
            resp.extensions_mut().insert(p);
        }
        Ok(resp)
    }

    /// Decodes the content coding if asked to.
    fn finish_response(&self, resp: Response<Incoming>) -> Response<Incoming> {
        if !self.inner.decompress {
            return resp;
        }
        let Some(dec) = resp
            .headers()
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .and_then(Decode::new)
        else {
            return resp;
        };
        let (mut parts, body) = resp.into_parts();
        parts.headers.remove(CONTENT_ENCODING);
        parts.headers.remove(CONTENT_LENGTH);
        Response::from_parts(parts, body.with_decoder(dec))
    }
}

/// The error of a request its connection closed before sending.
fn not_sent() -> Error {
    Error::Closed("the connection closed before the request could be sent".into())
}

/// One connection of a [`Client`], opened by [`Client::connection`], that
/// requests go to directly. Cloning is cheap and shares the connection.
#[derive(Clone, Debug)]
pub struct Connection {
    client: Client,
    conn: ConnHandle,
    /// What a relative request URI takes.
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
}

impl Connection {
    /// Sends `request` on this connection. A relative URI (`/path?q`)
    /// takes the connection's scheme and authority. Unlike
    /// [`Client::request`], a request the server did not process is not
    /// sent again elsewhere: its error says so ([`Error::is_retryable`]).
    pub async fn request<B>(&self, request: Request<B>) -> Result<Response<Incoming>, Error>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let mut body = ReqBody::of(body);
        let mut head = RequestHead::from_parts(parts);
        // A plain CONNECT has no `:scheme` (RFC 9113 §8.5); an extended
        // one does (RFC 8441 §4).
        if head.method != Method::CONNECT || head.protocol.is_some() {
            head.scheme.get_or_insert_with(|| self.scheme.clone());
        }
        head.authority.get_or_insert_with(|| self.authority.clone());
        self.client.accept_encoding(&mut head);
        match self.client.send_on(&self.conn, head, &mut body).await {
            Err(Error::GoingAway) => Err(not_sent()),
            other => other.map(|r| self.client.finish_response(r)),
        }
    }

    /// Whether the connection takes no more requests (it received or sent
    /// GOAWAY, or closed).
    pub fn is_closed(&self) -> bool {
        !self.conn.usable()
    }
}

impl ReqBody {
    /// Empty bodies end the stream with the HEADERS frame; bodies held in
    /// memory can be sent again if the request must be retried.
    fn of<B>(body: B) -> ReqBody
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        if body.is_end_stream() {
            return ReqBody::Empty;
        }
        // A `BoxBody` of octets in memory (`body::full`) goes as they are,
        // and can be sent again.
        let mut slot = Some(body);
        if let Some(b) = crate::cast::take_as::<BoxBody, _>(&mut slot) {
            return match b.into_whole() {
                Ok(bytes) => ReqBody::Full(bytes),
                Err(b) => ReqBody::Stream(Some(b)),
            };
        }
        let Some(body) = slot else {
            unreachable!("only a BoxBody is taken out of the slot");
        };
        ReqBody::Stream(Some(crate::body::boxed(
            body.map_frame(|f| f.map_data(|mut d| d.copy_to_bytes(d.remaining()))),
        )))
    }

    fn replayable(&self) -> bool {
        match self {
            ReqBody::Empty | ReqBody::Full(_) => true,
            // Not yet handed to a sender task: nothing was read from it.
            ReqBody::Stream(b) => b.is_some(),
        }
    }
}

/// A caller waiting for its response head. Dropped before it came (the
/// caller gave up, or timed out), it has the connection task reset the
/// stream (CANCEL): the task resets every request whose response receiver
/// is gone when it gets a [`Cmd::Sweep`], and one sweep serves every caller
/// that gives up before it runs.
struct Waiting<'a> {
    rx: Option<oneshot::Receiver<conn::ResponseResult>>,
    conn: &'a ConnHandle,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        // The receiver goes first, so that the sweep sees it closed.
        if self.rx.take().is_some() && !self.conn.shared.sweep.swap(true, Ordering::AcqRel) {
            let _ = self.conn.tx.send(Cmd::Sweep);
        }
    }
}

async fn send_full(
    id: StreamId,
    mut data: Bytes,
    tx: mpsc::UnboundedSender<Cmd>,
    credit: Arc<Semaphore>,
) {
    loop {
        let piece = data.split_to(CHUNK.min(data.len()));
        let n = u32::try_from(piece.len()).unwrap_or(u32::MAX);
        match credit.acquire_many(n).await {
            Ok(p) => p.forget(),
            Err(_) => return,
        }
        let end = data.is_empty();
        if tx.send(Cmd::Data(id, piece, end)).is_err() || end {
            return;
        }
    }
}

async fn send_body(
    id: StreamId,
    body: BoxBody,
    tx: mpsc::UnboundedSender<Cmd>,
    credit: Arc<Semaphore>,
) {
    let mut body = std::pin::pin!(body);
    loop {
        match body.frame().await {
            None => {
                let _ = tx.send(Cmd::Data(id, Bytes::new(), true));
                return;
            }
            Some(Err(e)) => {
                tracing::debug!(stream = id.get(), error = %e, "request body failed; stream reset");
                let _ = tx.send(Cmd::Reset(id, ErrorCode::Cancel));
                return;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    let last = body.is_end_stream();
                    loop {
                        let piece = data.split_to(CHUNK.min(data.len()));
                        let n = u32::try_from(piece.len()).unwrap_or(u32::MAX);
                        match credit.acquire_many(n).await {
                            Ok(p) => p.forget(),
                            Err(_) => return,
                        }
                        let end = last && data.is_empty();
                        if tx.send(Cmd::Data(id, piece, end)).is_err() {
                            return;
                        }
                        if data.is_empty() {
                            break;
                        }
                    }
                    if last {
                        return;
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        let _ = tx.send(Cmd::Trailers(id, t));
                        return;
                    }
                }
            },
        }
    }
}

fn parse_url(url: &str) -> Result<Uri, Error> {
    url.parse()
        .map_err(|e| Error::InvalidUrl(format!("{url}: {e}")))
}

fn request_head(method: Method, uri: Uri) -> RequestHead {
    RequestHead::new(method, uri)
}

fn head_uri(head: &RequestHead) -> Uri {
    let mut p = http::uri::Parts::default();
    p.scheme = head.scheme.clone();
    p.authority = head.authority.clone();
    p.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    Uri::from_parts(p).unwrap_or_default()
}

/// A whole response: what [`get`] returns.
#[derive(Clone, Debug)]
pub struct FullResponse {
    /// The status.
    pub status: StatusCode,
    /// The header fields.
    pub headers: HeaderMap,
    /// The body (decoded if the client decompresses).
    pub body: Bytes,
    /// The trailers, if the server sent any.
    pub trailers: Option<HeaderMap>,
}

impl FullResponse {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads the whole of `resp`.
pub async fn collect(resp: Response<Incoming>) -> Result<FullResponse, Error> {
    let (parts, body) = resp.into_parts();
    let collected = body
        .collect()
        .await
        .map_err(|e| Error::Closed(e.0.clone()))?;
    let trailers = collected.trailers().cloned();
    Ok(FullResponse {
        status: parts.status,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    })
}

/// GET `url` with a client that decodes compressed responses, and read
/// the whole response. The query string is sent as it is.
///
/// ```no_run
/// # async fn run() -> Result<(), ropewalk::client::Error> {
/// let page = ropewalk::get("https://example.com/search?q=h2").await?;
/// println!("{} {}", page.status, page.text());
/// # Ok(()) }
/// ```
pub async fn get(url: &str) -> Result<FullResponse, Error> {
    let client = Client::builder().decompress(true).build()?;
    collect(client.get(url).await?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_body_in_memory_can_be_sent_again() {
        let full = ReqBody::of(crate::body::full("x"));
        assert!(matches!(&full, ReqBody::Full(b) if b == "x"));
        assert!(full.replayable());
        assert!(matches!(ReqBody::of(crate::body::empty()), ReqBody::Empty));
        // Any other body is streamed: it can be sent again only while
        // nothing was read from it.
        let other = ReqBody::of(http_body_util::Full::new(Bytes::from_static(b"y")));
        assert!(matches!(other, ReqBody::Stream(Some(_))));
    }
}
