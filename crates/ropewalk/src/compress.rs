//! Response compression (gzip, br, zstd) negotiated from `accept-encoding`
//! (RFC 9110 §12.5.3), as a service wrapper.
//!
//! Compressed: text types (except `text/event-stream`, which must not be
//! held back), JSON, JavaScript, XML, SVG and WebAssembly, of at least
//! [`Compression::min_size`] octets when the size is known. Not touched:
//! responses that already have a `content-encoding`, ranges (206), 204/304,
//! and answers to `HEAD`. A compressed response loses its
//! `content-length`, gets `vary: accept-encoding`, and its strong `ETag`
//! is suffixed with the coding. Bodies are compressed as they stream.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::body::{BoxBody, BoxError, Incoming, boxed};

/// A content coding we produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `br` (RFC 7932).
    Brotli,
    /// `zstd` (RFC 8878).
    Zstd,
}

impl Coding {
    /// The token used in `content-encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Picks a coding from `accept-encoding`: the highest q-value wins; on a
/// tie we prefer br, then zstd, then gzip. `None` if none is acceptable.
pub fn negotiate(headers: &HeaderMap) -> Option<Coding> {
    let mut best: Option<(u32, u8, Coding)> = None;
    let mut star: Option<u32> = None;
    let mut seen = Vec::new();
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1000;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = parse_q(v).unwrap_or(0);
                }
            }
            let coding = match token.as_str() {
                "br" => Coding::Brotli,
                "zstd" => Coding::Zstd,
                "gzip" | "x-gzip" => Coding::Gzip,
                "*" => {
                    star = Some(q);
                    continue;
                }
                _ => continue,
            };
            seen.push(coding);
            consider(&mut best, q, coding);
        }
    }
    if let Some(q) = star {
        for c in [Coding::Brotli, Coding::Zstd, Coding::Gzip] {
            if !seen.contains(&c) {
                consider(&mut best, q, c);
            }
        }
    }
    best.filter(|b| b.0 > 0).map(|b| b.2)
}

fn consider(best: &mut Option<(u32, u8, Coding)>, q: u32, c: Coding) {
    let pref = match c {
        Coding::Brotli => 3,
        Coding::Zstd => 2,
        Coding::Gzip => 1,
    };
    if best.is_none_or(|b| (q, pref) > (b.0, b.1)) {
        *best = Some((q, pref, c));
    }
}

/// q-value in thousandths.
fn parse_q(v: &str) -> Option<u32> {
    let f: f32 = v.trim().parse().ok()?;
    if !(0.0..=1.0).contains(&f) {
        return None;
    }
    Some((f * 1000.0).round() as u32)
}

fn compressible(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct == "text/event-stream" {
        return false;
    }
    ct.starts_with("text/")
        || matches!(
            ct.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "image/svg+xml"
                | "application/wasm"
                | "application/manifest+json"
        )
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
}

/// Wraps a service to compress its responses; see the
/// [module documentation](self).
#[derive(Clone, Debug)]
pub struct Compression<S> {
    inner: S,
    min_size: u64,
}

impl<S> Compression<S> {
    /// Compresses `inner`'s responses (those of known size from 256
    /// octets on).
    pub fn new(inner: S) -> Compression<S> {
        Compression {
            inner,
            min_size: 256,
        }
    }

    /// Bodies of known size below `n` octets are sent as they are.
    pub fn min_size(mut self, n: u64) -> Compression<S> {
        self.min_size = n;
        self
    }
}

pin_project_lite::pin_project! {
    /// What [`Compression`]'s `call` returns: the inner service's answer,
    /// compressed when the request asked for it and the response qualifies.
    /// A named future rather than a boxed one: no allocation per request.
    pub struct CompressionFuture<F> {
        #[pin]
        inner: F,
        coding: Option<Coding>,
        min_size: u64,
    }
}

impl<F, B, E> Future for CompressionFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<BoxBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let resp = std::task::ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(match this.coding.take() {
            Some(c) => compress_response(resp, c, *this.min_size),
            None => resp.map(boxed),
        }))
    }
}

impl<F> std::fmt::Debug for CompressionFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompressionFuture")
            .field("coding", &self.coding)
            .finish_non_exhaustive()
    }
}

impl<S, B> tower_service::Service<Request<Incoming>> for Compression<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<BoxBody>;
    type Error = S::Error;
    type Future = CompressionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let coding = if req.method() == Method::HEAD {
            None
        } else {
            negotiate(req.headers())
        };
        CompressionFuture {
            inner: self.inner.call(req),
            coding,
            min_size: self.min_size,
        }
    }
}

fn compress_response<B>(resp: Response<B>, coding: Coding, min: u64) -> Response<BoxBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = resp.into_parts();
    let h = &parts.headers;
    let small = body.size_hint().exact().is_some_and(|n| n < min);
    let skip = small
        || body.is_end_stream()
        || h.contains_key(header::CONTENT_ENCODING)
        || h.contains_key(header::CONTENT_RANGE)
        || parts.status == StatusCode::PARTIAL_CONTENT
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED
        || !compressible(h.get(header::CONTENT_TYPE));
    let revalidated =
        parts.status == StatusCode::NOT_MODIFIED && compressible(h.get(header::CONTENT_TYPE));
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if revalidated {
        // The validator of the compressed representation the client holds.
        suffix_etag(&mut parts.headers, coding);
    }
    if skip {
        return Response::from_parts(parts, boxed(body));
    }
    let h = &mut parts.headers;
    h.remove(header::CONTENT_LENGTH);
    h.remove(header::ACCEPT_RANGES);
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(coding.as_str()),
    );
    suffix_etag(h, coding);
    let enc = match Encoder::new(coding) {
        Ok(e) => e,
        Err(_) => return Response::from_parts(parts, boxed(body)),
    };
    Response::from_parts(
        parts,
        boxed(Compressed {
            inner: boxed(body),
            enc: Some(enc),
            trailers: None,
            done: false,
        }),
    )
}

/// A strong `ETag` names one representation: suffix it with the coding.
fn suffix_etag(h: &mut HeaderMap, coding: Coding) {
    if let Some(etag) = h.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        if let Some(inner) = etag.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            if let Ok(v) = HeaderValue::from_str(&format!("\"{inner}-{}\"", coding.as_str())) {
                h.insert(header::ETAG, v);
            }
        }
    }
}

enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(c: Coding) -> std::io::Result<Encoder> {
        Ok(match c {
            Coding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(6),
            )),
            Coding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                16 * 1024,
                5,
                22,
            ))),
            Coding::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3)?),
        })
    }

    /// Compresses `data`; returns what the encoder has produced so far.
    fn write(&mut self, data: &[u8]) -> std::io::Result<Bytes> {
        let buf = match self {
            Encoder::Gzip(e) => {
                e.write_all(data)?;
                e.get_mut()
            }
            Encoder::Brotli(e) => {
                e.write_all(data)?;
                e.get_mut()
            }
            Encoder::Zstd(e) => {
                e.write_all(data)?;
                e.get_mut()
            }
        };
        Ok(Bytes::from(std::mem::take(buf)))
    }

    /// Ends the stream; returns the rest.
    fn finish(self) -> std::io::Result<Bytes> {
        Ok(Bytes::from(match self {
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Brotli(e) => e.into_inner(),
            Encoder::Zstd(e) => e.finish()?,
        }))
    }
}

struct Compressed {
    inner: BoxBody,
    enc: Option<Encoder>,
    trailers: Option<HeaderMap>,
    done: bool,
}

impl Body for Compressed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if let Some(t) = self.trailers.take() {
                self.done = true;
                return Poll::Ready(Some(Ok(Frame::trailers(t))));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let next = match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(n) => n,
            };
            match next {
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let Some(enc) = self.enc.as_mut() else {
                            continue;
                        };
                        let out = enc.write(&data)?;
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            self.trailers = Some(t);
                            if let Some(tail) = self.finish()? {
                                return Poll::Ready(Some(Ok(Frame::data(tail))));
                            }
                        }
                    }
                },
                None => {
                    self.done = true;
                    if let Some(tail) = self.finish()? {
                        return Poll::Ready(Some(Ok(Frame::data(tail))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Compressed {
    fn finish(&mut self) -> Result<Option<Bytes>, BoxError> {
        match self.enc.take() {
            Some(enc) => {
                let tail = enc.finish()?;
                Ok((!tail.is_empty()).then_some(tail))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ae(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), None);
        assert_eq!(negotiate(&ae("gzip")), Some(Coding::Gzip));
        assert_eq!(
            negotiate(&ae("gzip, deflate, br, zstd")),
            Some(Coding::Brotli)
        );
        assert_eq!(negotiate(&ae("gzip;q=1, br;q=0.5")), Some(Coding::Gzip));
        assert_eq!(negotiate(&ae("br;q=0, gzip;q=0")), None);
        assert_eq!(negotiate(&ae("identity")), None);
        assert_eq!(negotiate(&ae("*")), Some(Coding::Brotli));
        assert_eq!(negotiate(&ae("*;q=0.5, zstd")), Some(Coding::Zstd));
        assert_eq!(negotiate(&ae("br;q=0, *")), Some(Coding::Zstd));
    }

    #[test]
    fn types() {
        let v = |s| Some(HeaderValue::from_static(s));
        assert!(compressible(v("text/html; charset=utf-8").as_ref()));
        assert!(compressible(v("application/json").as_ref()));
        assert!(compressible(v("application/ld+json").as_ref()));
        assert!(!compressible(v("text/event-stream").as_ref()));
        assert!(!compressible(v("image/png").as_ref()));
        assert!(!compressible(None));
    }
}
