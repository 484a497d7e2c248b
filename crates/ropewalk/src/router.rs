//! A small router: exact paths, prefixes (the longest wins) and a fallback
//! (404), plus ready handlers: text/bytes, redirects and a static
//! directory.
//!
//! ```
//! use ropewalk::router::{Router, redirect, text};
//! use http::StatusCode;
//!
//! let router = Router::new()
//!     .route("/hello", text("Hello, world!"))
//!     .route("/old", redirect(StatusCode::MOVED_PERMANENTLY, "/hello"));
//! # let _ = router;
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

use crate::body::{BoxBody, BoxError, Incoming, empty, full};
use crate::server::{Handler, erase};

/// Request extension set by the [`Router`] for prefix routes: the prefix
/// that matched (a [`StaticDir`] serves the rest of the path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedPrefix(pub String);

/// A type-erased, cloneable service, as the ready handlers return.
#[derive(Clone)]
pub struct BoxService(Handler);

impl std::fmt::Debug for BoxService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxService")
    }
}

impl BoxService {
    /// Boxes any service.
    pub fn new<S, B>(service: S) -> BoxService
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        BoxService(erase(service))
    }

    /// The type-erased handler inside.
    pub(crate) fn into_handler(self) -> Handler {
        self.0
    }

    /// A service from an async closure returning a response.
    pub fn from_fn<F, Fut>(f: F) -> BoxService
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<BoxBody>> + Send + 'static,
    {
        BoxService(Arc::new(move |req| {
            ResponseFuture::new(AlwaysOk { fut: f(req) })
        }))
    }

    /// A service from a closure that answers at once: its response is
    /// not wrapped in a boxed future, which spares an allocation per
    /// request. The closure runs on the connection's task, so it must not
    /// block; anything that waits belongs in [`from_fn`](Self::from_fn).
    ///
    /// ```
    /// use ropewalk::body::full;
    /// use ropewalk::router::{BoxService, Router};
    ///
    /// let router = Router::new().route(
    ///     "/ping",
    ///     BoxService::from_sync_fn(|_req| http::Response::new(full("pong"))),
    /// );
    /// # let _ = router;
    /// ```
    pub fn from_sync_fn<F>(f: F) -> BoxService
    where
        F: Fn(Request<Incoming>) -> Response<BoxBody> + Send + Sync + 'static,
    {
        BoxService(Arc::new(move |req| ResponseFuture::ready(f(req))))
    }
}

pin_project_lite::pin_project! {
    /// A response future as one that cannot fail (by hand: an `async`
    /// block would hold the future twice, rust-lang/rust#62958).
    struct AlwaysOk<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future<Output = Response<BoxBody>>> Future for AlwaysOk<F> {
    type Output = Result<Response<BoxBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().fut.poll(cx).map(Ok)
    }
}

/// The answer to come of a [`Router`], a [`BoxService`] or a [`StaticDir`]:
/// ready at once for the handlers that answer at once ([`text`],
/// [`bytes()`], [`redirect`], [`BoxService::from_sync_fn`], the 404), boxed
/// otherwise.
pub struct ResponseFuture(Answer);

enum Answer {
    Ready(Option<Result<Response<BoxBody>, BoxError>>),
    Boxed(Pin<Box<dyn Future<Output = Result<Response<BoxBody>, BoxError>> + Send>>),
}

impl ResponseFuture {
    /// An answer ready now.
    pub fn ready(response: Response<BoxBody>) -> ResponseFuture {
        ResponseFuture(Answer::Ready(Some(Ok(response))))
    }

    /// A failure ready now (the stream is reset).
    pub fn failed(error: BoxError) -> ResponseFuture {
        ResponseFuture(Answer::Ready(Some(Err(error))))
    }

    /// An answer to come, boxed.
    pub fn new<F>(future: F) -> ResponseFuture
    where
        F: Future<Output = Result<Response<BoxBody>, BoxError>> + Send + 'static,
    {
        ResponseFuture(Answer::Boxed(Box::pin(future)))
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<BoxBody>, BoxError>;

    /// # Panics
    /// If polled again after a ready answer was taken, as
    /// [`std::future::Ready`] does.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Answer::Ready(answer) => Poll::Ready(
                answer
                    .take()
                    .expect("ResponseFuture polled after it completed"),
            ),
            Answer::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Answer::Ready(_) => "ResponseFuture::Ready",
            Answer::Boxed(_) => "ResponseFuture::Boxed",
        })
    }
}

impl tower_service::Service<Request<Incoming>> for BoxService {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> ResponseFuture {
        (self.0)(req)
    }
}

/// Routes requests by path. Exact routes win over prefixes; among
/// prefixes the longest wins; anything else goes to the fallback (404
/// unless set).
///
/// Cloning a router (the server clones its service for each request, as
/// `tower` has it) shares its routes: they are behind an `Arc`.
#[derive(Clone, Default)]
pub struct Router {
    routes: Arc<Routes>,
}

#[derive(Clone, Default)]
struct Routes {
    exact: HashMap<String, Handler>,
    prefixes: Vec<(String, Handler)>,
    fallback: Option<Handler>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("exact", &self.routes.exact.keys().collect::<Vec<_>>())
            .field(
                "prefixes",
                &self
                    .routes
                    .prefixes
                    .iter()
                    .map(|p| &p.0)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Router {
    /// An empty router (everything is 404).
    pub fn new() -> Router {
        Router::default()
    }

    /// Serves `path` exactly (the query string is not part of it).
    pub fn route<S, B>(mut self, path: &str, service: S) -> Router
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Arc::make_mut(&mut self.routes)
            .exact
            .insert(path.to_owned(), erase(service));
        self
    }

    /// Serves every path that starts with `prefix`.
    pub fn prefix<S, B>(mut self, prefix: &str, service: S) -> Router
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let prefixes = &mut Arc::make_mut(&mut self.routes).prefixes;
        prefixes.retain(|(p, _)| p != prefix);
        prefixes.push((prefix.to_owned(), erase(service)));
        // Longest first.
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        self
    }

    /// Serves what no route matches.
    pub fn fallback<S, B>(mut self, service: S) -> Router
    where
        S: tower_service::Service<Request<Incoming>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Arc::make_mut(&mut self.routes).fallback = Some(erase(service));
        self
    }

    fn pick(&self, req: &mut Request<Incoming>) -> Option<Handler> {
        let path = req.uri().path();
        if let Some(h) = self.routes.exact.get(path) {
            return Some(h.clone());
        }
        let (prefix, h) = self
            .routes
            .prefixes
            .iter()
            .find(|(p, _)| path.starts_with(p))?;
        let h = h.clone();
        req.extensions_mut().insert(MatchedPrefix(prefix.clone()));
        Some(h)
    }
}

impl tower_service::Service<Request<Incoming>> for Router {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Incoming>) -> ResponseFuture {
        match self.pick(&mut req).or_else(|| self.routes.fallback.clone()) {
            Some(h) => h(req),
            None => ResponseFuture::ready(not_found()),
        }
    }
}

/// A plain-text response with `status`.
pub fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<BoxBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    // Checked at compile time, not per response.
    let text = const { HeaderValue::from_static("text/plain; charset=utf-8") };
    r.headers_mut().insert(header::CONTENT_TYPE, text);
    r
}

/// The 404 response.
pub fn not_found() -> Response<BoxBody> {
    plain(StatusCode::NOT_FOUND, "404 Not Found\n")
}

/// A handler answering `text/plain; charset=utf-8` with `body`.
pub fn text(body: impl Into<Bytes>) -> BoxService {
    bytes("text/plain; charset=utf-8", body)
}

/// A handler answering `body` with `content_type`.
///
/// # Panics
/// If `content_type` is not a valid header value (here, not at each
/// request).
pub fn bytes(content_type: &'static str, body: impl Into<Bytes>) -> BoxService {
    let body: Bytes = body.into();
    // Checked once, not per response.
    let content_type = HeaderValue::from_static(content_type);
    BoxService::from_sync_fn(move |_req| {
        let mut r = Response::new(full(body.clone()));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
        r
    })
}

/// A handler redirecting to `location` with `status` (301, 302, 303, 307
/// or 308).
///
/// # Panics
/// If `status` is not a redirection or `location` is not a valid header
/// value.
pub fn redirect(status: StatusCode, location: &str) -> BoxService {
    assert!(status.is_redirection(), "{status} is not a redirect status");
    let location = HeaderValue::from_str(location).expect("valid Location");
    // Made once, not per response.
    let body = Bytes::from(format!(
        "redirecting to {}\n",
        location.to_str().unwrap_or("")
    ));
    BoxService::from_sync_fn(move |_req| {
        let mut r = plain(status, body.clone());
        r.headers_mut().insert(header::LOCATION, location.clone());
        r
    })
}

/// The content type for a file name's extension.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// Serves files under a root directory. Paths that leave the root — by
/// `..`, by an encoded `..`, or through a symlink pointing outside — are
/// refused: the file's canonical path must lie under the canonical root.
/// Supports `ETag`/`Last-Modified` with `304 Not Modified`, single `Range`
/// requests (`206`/`416`), `HEAD`, and `index.html` for directories.
#[derive(Clone, Debug)]
pub struct StaticDir {
    root: Arc<PathBuf>,
}

impl StaticDir {
    /// Serves `root` (which must exist).
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<StaticDir> {
        Ok(StaticDir {
            root: Arc::new(std::fs::canonicalize(root)?),
        })
    }
}

impl tower_service::Service<Request<Incoming>> for StaticDir {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> ResponseFuture {
        let root = self.root.clone();
        ResponseFuture::new(async move { Ok(serve_file(&root, &req).await) })
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The path below the root that `req` asks for, or `None` if it tries to
/// leave it or is not valid.
fn relative_path(req: &Request<Incoming>) -> Option<PathBuf> {
    let mut path = req.uri().path();
    if let Some(MatchedPrefix(p)) = req.extensions().get::<MatchedPrefix>() {
        path = path.strip_prefix(p.as_str()).unwrap_or(path);
    }
    let decoded = String::from_utf8(percent_decode(path)?).ok()?;
    let mut rel = PathBuf::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s if s.contains('\\') || s.contains('\0') => return None,
            s => rel.push(s),
        }
    }
    Some(rel)
}

fn etag_of(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{:x}\"", meta.len(), mtime)
}

/// `true` if `tag` is `etag`, or `etag` with a content-coding suffix as
/// [`Compression`](crate::compress::Compression) writes it.
fn same_entity(tag: &str, etag: &str) -> bool {
    if tag == etag {
        return true;
    }
    let base = etag.trim_end_matches('"');
    ["gzip", "br", "zstd"].iter().any(|c| {
        tag.strip_prefix(base)
            .is_some_and(|rest| rest == format!("-{c}\""))
    })
}

/// Parses a single `bytes=` range against a file of `len` octets.
/// `Ok(None)`: no usable range (serve it all); `Err(())`: unsatisfiable.
#[allow(clippy::result_unit_err)]
pub fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        // Several ranges: serve the whole representation instead.
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || len == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end: u64 = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))
        };
        if start >= len || end < start {
            return Err(());
        }
        (start, end)
    };
    Ok(Some(range))
}

async fn serve_file(root: &Path, req: &Request<Incoming>) -> Response<BoxBody> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(rel) = relative_path(req) else {
        return plain(StatusCode::FORBIDDEN, "403 Forbidden\n");
    };
    let Ok(mut path) = tokio::fs::canonicalize(root.join(&rel)).await else {
        return not_found();
    };
    if !path.starts_with(root) {
        return plain(StatusCode::FORBIDDEN, "403 Forbidden\n");
    }
    let Ok(mut meta) = tokio::fs::metadata(&path).await else {
        return not_found();
    };
    if meta.is_dir() {
        let Ok(index) = tokio::fs::canonicalize(path.join("index.html")).await else {
            return not_found();
        };
        if !index.starts_with(root) {
            return plain(StatusCode::FORBIDDEN, "403 Forbidden\n");
        }
        path = index;
        meta = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => m,
            _ => return not_found(),
        };
    }
    if !meta.is_file() {
        return not_found();
    }
    let len = meta.len();
    let etag = etag_of(&meta);
    let modified = meta.modified().ok();
    let h = req.headers();
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, content_type(&path))
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some(m) = modified {
        builder = builder.header(header::LAST_MODIFIED, httpdate::fmt_http_date(m));
    }
    // RFC 9110 §13.1.2: If-None-Match wins over If-Modified-Since.
    let not_modified = if let Some(inm) = h.get(header::IF_NONE_MATCH) {
        let inm = inm.to_str().unwrap_or("");
        inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || same_entity(t.trim_start_matches("W/"), &etag)
        })
    } else if let (Some(ims), Some(m)) = (h.get(header::IF_MODIFIED_SINCE), modified) {
        let ims = ims
            .to_str()
            .ok()
            .and_then(|s| httpdate::parse_http_date(s).ok());
        let m_secs = m
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        ims.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .is_some_and(|t| m_secs <= t.as_secs())
    } else {
        false
    };
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(empty())
            .unwrap_or_else(|_| not_found());
    }
    let mut range = None;
    if let Some(v) = h.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        let if_range_ok = match h.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(v) => v.trim() == etag,
        };
        if if_range_ok {
            match parse_range(v, len) {
                Ok(r) => range = r,
                Err(()) => {
                    return builder
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                        .body(empty())
                        .unwrap_or_else(|_| not_found());
                }
            }
        }
    }
    let (start, count, status) = match range {
        Some((a, b)) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"));
            (a, b - a + 1, StatusCode::PARTIAL_CONTENT)
        }
        None => (0, len, StatusCode::OK),
    };
    builder = builder.status(status).header(header::CONTENT_LENGTH, count);
    if req.method() == Method::HEAD || count == 0 {
        return builder.body(empty()).unwrap_or_else(|_| not_found());
    }
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return not_found();
    };
    if start > 0 && file.seek(SeekFrom::Start(start)).await.is_err() {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "seek failed\n");
    }
    let body = FileBody {
        file,
        remaining: count,
        buf: vec![0; 64 * 1024],
    };
    builder
        .body(crate::body::boxed(body))
        .unwrap_or_else(|_| not_found())
}

/// A body reading `remaining` octets of a file, 64 KiB at a time.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Vec<u8>,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let want = (this.buf.len() as u64).min(this.remaining) as usize;
        let mut rb = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "file shrank while being sent",
                    ))));
                }
                this.remaining -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(
                    &this.buf[..n],
                )))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-1", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/b.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }

    #[test]
    fn etag_with_coding_suffix_matches() {
        assert!(same_entity("\"a-1\"", "\"a-1\""));
        assert!(same_entity("\"a-1-br\"", "\"a-1\""));
        assert!(same_entity("\"a-1-gzip\"", "\"a-1\""));
        assert!(!same_entity("\"a-1-xx\"", "\"a-1\""));
        assert!(!same_entity("\"a-2\"", "\"a-1\""));
    }

    #[test]
    #[should_panic]
    fn a_bad_content_type_is_refused_when_the_handler_is_made() {
        // Not at each request, where it would panic every stream.
        let _ = bytes("text/plain\n", "x");
    }

    #[test]
    fn bytes_answers_with_its_content_type_every_time() {
        let h = bytes("application/x-thing", "body").into_handler();
        for _ in 0..2 {
            let req = Request::new(Incoming::empty());
            let mut fut = std::pin::pin!(h(req));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let Poll::Ready(Ok(resp)) = fut.as_mut().poll(&mut cx) else {
                panic!("a ready answer");
            };
            assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/x-thing");
        }
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2e%2E/b").unwrap(), b"a../b");
        assert!(percent_decode("%zz").is_none());
        assert!(percent_decode("%2").is_none());
    }
}
