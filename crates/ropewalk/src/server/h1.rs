//! What arrives on a connection before HTTP/2: the client preface (prior
//! knowledge), an HTTP/1.1 `Upgrade: h2c` request (RFC 7540 §3.2), or a
//! plain HTTP/1.1 request, which gets a short answer saying that this
//! server speaks HTTP/2.

use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use ropewalk_proto::conn::{Config, Connection, UpgradeError};
use ropewalk_proto::frame::PREFACE;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest HTTP/1.1 request head we read.
const MAX_HEAD: usize = 16 * 1024;
/// Longest chunk-size line or trailer section of a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

/// base64url, padding optional (RFC 4648 §5; RFC 7540 §3.2.1).
const BASE64URL: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The body of the answer to a plain HTTP/1.1 request.
pub const HTTP1_ANSWER: &str = "This server speaks HTTP/2 only.\n\
Try: curl --http2-prior-knowledge http://HOST/ (cleartext h2c),\n\
     curl --http2 http://HOST/ (HTTP/1.1 Upgrade to h2c),\n\
     or https:// with ALPN h2.\n";

/// The answer that switches an upgraded connection to HTTP/2.
pub(crate) const SWITCHING: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";

pub(crate) enum Sniffed {
    /// The client preface starts the connection; `buf` holds what was read.
    H2(BytesMut),
    /// An accepted `Upgrade: h2c` request: the core with the request as
    /// stream 1, the request body's framing if it has one (then the 101 is
    /// still to be sent, once the body is read; else it was sent), and the
    /// bytes read after the request head.
    Upgrade {
        conn: Box<Connection>,
        body: Option<H1Body>,
        rest: BytesMut,
    },
    /// Answered or unusable; close the connection.
    Done,
}

/// A parsed HTTP/1.1 request head.
#[derive(Debug)]
struct H1Head {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl H1Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

fn parse_head(buf: &[u8]) -> Option<H1Head> {
    let text = std::str::from_utf8(buf).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let version = first.next()?.to_owned();
    if !version.starts_with("HTTP/1.") || method.is_empty() {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    Some(H1Head {
        method,
        target,
        version,
        headers,
    })
}

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Reads the start of a connection and sorts it out. `allow_upgrade` is
/// `false` on TLS (RFC 7540 §3.2: h2c is cleartext only).
pub(crate) async fn sniff<IO>(
    io: &mut IO,
    timeout: Duration,
    allow_upgrade: bool,
    config: &Config,
) -> std::io::Result<Sniffed>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(4096);
    let deadline = tokio::time::Instant::now() + timeout;
    // Preface or not?
    loop {
        let n = buf.len().min(PREFACE.len());
        if buf[..n] != PREFACE[..n] {
            break;
        }
        if n == PREFACE.len() {
            return Ok(Sniffed::H2(buf));
        }
        if tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await?? == 0 {
            return Ok(Sniffed::Done);
        }
    }
    // HTTP/1.x: read the request head.
    let end = loop {
        if let Some(end) = find_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Ok(Sniffed::Done);
        }
        match tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return Ok(Sniffed::Done),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    };
    let Some(head) = parse_head(&buf[..end]) else {
        write_answer(io, "400 Bad Request", "malformed HTTP/1.x request\n").await;
        return Ok(Sniffed::Done);
    };
    let rest = buf.split_off(end);
    let wants_upgrade = allow_upgrade
        && head.version == "HTTP/1.1"
        && head.has_token("upgrade", "h2c")
        && head.has_token("connection", "upgrade")
        && head.has_token("connection", "http2-settings");
    if !wants_upgrade {
        tracing::info!(
            method = %head.method,
            target = %head.target,
            "plain HTTP/1.x request answered with 505: this server speaks HTTP/2"
        );
        write_answer(io, "505 HTTP Version Not Supported", HTTP1_ANSWER).await;
        return Ok(Sniffed::Done);
    }
    match upgrade(&head, config) {
        Ok((conn, body)) => {
            // RFC 9110 §10.1.1: a client waiting for 100-continue gets it
            // before the 101 (RFC 9110 §7.8), then sends its body.
            if body.is_some() && head.has_token("expect", "100-continue") {
                io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            // With a body, the 101 waits until the driver has read all of
            // it: a client may take an early 101 as the end of its request
            // and start HTTP/2 without sending the body (curl does, now and
            // then, when 100 and 101 arrive together), although RFC 9110
            // §7.8 has it finish the request first.
            if body.is_none() {
                io.write_all(SWITCHING).await?;
            }
            tracing::debug!(method = %head.method, target = %head.target, "h2c upgrade");
            Ok(Sniffed::Upgrade {
                conn: Box::new(conn),
                body,
                rest,
            })
        }
        Err((status, why)) => {
            tracing::info!(
                method = %head.method,
                target = %head.target,
                %why,
                "h2c upgrade refused"
            );
            write_answer(io, status, &format!("h2c upgrade refused: {why}\n")).await;
            Ok(Sniffed::Done)
        }
    }
}

/// Checks an `Upgrade: h2c` request and makes the connection core that
/// continues it, or says what to answer instead.
fn upgrade(
    head: &H1Head,
    config: &Config,
) -> Result<(Connection, Option<H1Body>), (&'static str, String)> {
    let bad = |why: &str| ("400 Bad Request", why.to_owned());
    // RFC 7540 §3.2.1: exactly one HTTP2-Settings header field.
    let mut settings = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("http2-settings"));
    let (Some((_, settings)), None) = (settings.next(), settings.next()) else {
        return Err(bad("exactly one HTTP2-Settings header field is required"));
    };
    // token68 in the base64url alphabet (RFC 7540 §3.2.1), padding optional.
    let settings = BASE64URL
        .decode(settings.trim())
        .map_err(|_| bad("HTTP2-Settings is not base64url"))?;
    // RFC 9112 §6.1-§6.3: how the body is framed.
    let body = match (head.get("transfer-encoding"), head.get("content-length")) {
        (None, None) => None,
        (None, Some(v)) => match v.trim().parse::<u64>() {
            Ok(0) => None,
            Ok(n) => Some(H1Body::length(n)),
            Err(_) => return Err(bad("invalid content-length")),
        },
        (Some(te), None) => {
            let last = te.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") || te.split(',').count() > 1 {
                return Err(("501 Not Implemented", format!("transfer-encoding {te}")));
            }
            Some(H1Body::chunked())
        }
        // RFC 9112 §6.3: both is a smuggling risk; refuse.
        (Some(_), Some(_)) => return Err(bad("both transfer-encoding and content-length")),
    };
    let authority = head.get("host").unwrap_or("localhost");
    let path = if head.target.starts_with('/') {
        head.target.clone()
    } else {
        // absolute-form (RFC 9112 §3.2.2)
        let uri: http::Uri = head.target.parse().map_err(|_| bad("invalid target"))?;
        uri.path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
    };
    let lower: Vec<(String, &str)> = head
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
        // RFC 9113 §8.2.2: no connection-specific fields; `te` only as
        // "trailers"; the expectation was answered here.
        .filter(|(n, v)| {
            !HOP.contains(&n.as_str())
                && n != "expect"
                && (n != "te" || v.eq_ignore_ascii_case("trailers"))
        })
        .collect();
    let fields = [
        (&b":method"[..], head.method.as_bytes()),
        (b":scheme", b"http"),
        (b":authority", authority.as_bytes()),
        (b":path", path.as_bytes()),
    ]
    .into_iter()
    .chain(lower.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    match Connection::server_upgrade(config.clone(), Instant::now(), &settings, fields) {
        Ok(conn) => Ok((conn, body)),
        Err(UpgradeError::TooLarge) => Err((
            "431 Request Header Fields Too Large",
            UpgradeError::TooLarge.to_string(),
        )),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// A whole HTTP/1.1 answer with a text body, closing the connection.
pub(crate) fn answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn write_answer<IO: AsyncWrite + Unpin>(io: &mut IO, status: &str, body: &str) {
    let msg = answer(status, body);
    let _ = io.write_all(msg.as_bytes()).await;
    let _ = io.flush().await;
    let _ = io.shutdown().await;
}

/// Connection-specific fields that HTTP/2 forbids (RFC 9113 §8.2.2).
const HOP: &[&str] = &[
    "connection",
    "upgrade",
    "http2-settings",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "host",
];

/// The body of an upgraded HTTP/1.1 request, decoded from its framing
/// (RFC 9112 §6, §7.1) as it arrives, before the client's HTTP/2 preface.
#[derive(Debug)]
pub(crate) struct H1Body {
    state: BodyState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// Octets left of a content-length body, or of the current chunk.
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// The trailer section (ignored) up to its empty line.
    Trailers,
    Done,
}

impl H1Body {
    pub(crate) fn length(n: u64) -> H1Body {
        H1Body {
            state: BodyState::Length(n),
        }
    }

    pub(crate) fn chunked() -> H1Body {
        H1Body {
            state: BodyState::ChunkSize,
        }
    }

    /// The whole body has been decoded; what follows is HTTP/2.
    pub(crate) fn is_done(&self) -> bool {
        self.state == BodyState::Done
    }

    /// Takes the next piece of body data out of `buf`: `Ok(None)` when more
    /// input is needed or the body is complete (see [`is_done`]).
    ///
    /// [`is_done`]: H1Body::is_done
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, &'static str> {
        loop {
            match self.state {
                BodyState::Done => return Ok(None),
                BodyState::Length(0) => self.state = BodyState::Done,
                BodyState::ChunkData(0) => self.state = BodyState::ChunkEnd,
                BodyState::Length(n) | BodyState::ChunkData(n) => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
                    let left = n - take as u64;
                    self.state = match self.state {
                        BodyState::Length(_) => BodyState::Length(left),
                        _ => BodyState::ChunkData(left),
                    };
                    return Ok(Some(buf.split_to(take).freeze()));
                }
                BodyState::ChunkSize => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF
                    let size = line.split(|&b| b == b';').next().unwrap_or(&[]);
                    let size = std::str::from_utf8(size)
                        .ok()
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && s.len() <= 16)
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                        .ok_or("invalid chunk size")?;
                    self.state = if size == 0 {
                        BodyState::Trailers
                    } else {
                        BodyState::ChunkData(size)
                    };
                }
                BodyState::ChunkEnd => {
                    if buf.len() < 2 {
                        return Ok(None);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err("chunk data not followed by CRLF");
                    }
                    buf.advance(2);
                    self.state = BodyState::ChunkSize;
                }
                BodyState::Trailers => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        self.state = BodyState::Done;
                    }
                }
            }
        }
    }
}

/// One CRLF-terminated line (without the CRLF), if complete.
fn take_line(buf: &mut BytesMut) -> Result<Option<Bytes>, &'static str> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(p) if p <= MAX_CHUNK_LINE => {
            let line = buf.split_to(p).freeze();
            buf.advance(2);
            Ok(Some(line))
        }
        Some(_) => Err("chunk line too long"),
        None if buf.len() > MAX_CHUNK_LINE => Err("chunk line too long"),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_and_tokens() {
        let h = parse_head(
            b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.target, "/a");
        assert!(h.has_token("connection", "http2-settings"));
        assert_eq!(h.get("HOST"), Some("x"));
        assert!(parse_head(b"garbage\r\n\r\n").is_none());
    }

    fn head(text: &str) -> H1Head {
        parse_head(text.as_bytes()).unwrap()
    }

    #[test]
    fn upgrade_makes_stream_1_with_the_request() {
        // HTTP2-Settings: MAX_CONCURRENT_STREAMS = 100, base64url, no padding.
        let h = head(
            "GET /x?y HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\nConnection: Upgrade, HTTP2-Settings\r\n\
             Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n",
        );
        let (mut conn, body) = upgrade(&h, &Config::default()).unwrap();
        assert!(body.is_none());
        match conn.poll_event() {
            Some(ropewalk_proto::conn::Event::Request {
                stream,
                head,
                end_stream,
            }) => {
                assert_eq!(stream.get(), 1);
                assert!(end_stream);
                assert_eq!(head.path.unwrap().as_str(), "/x?y");
                assert_eq!(head.authority.unwrap().as_str(), "h:1");
                assert_eq!(head.headers["accept"], "*/*");
                assert!(head.headers.get("upgrade").is_none());
                assert!(head.headers.get("http2-settings").is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn upgrade_refusals_say_why() {
        let base =
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n";
        let refuse = |extra: &str| {
            upgrade(&head(&format!("{base}{extra}\r\n")), &Config::default())
                .err()
                .unwrap()
        };
        // RFC 7540 §3.2.1: exactly one HTTP2-Settings.
        assert_eq!(refuse("").0, "400 Bad Request");
        assert_eq!(
            refuse("HTTP2-Settings: \r\nHTTP2-Settings: \r\n").0,
            "400 Bad Request"
        );
        assert!(refuse("HTTP2-Settings: !!\r\n").1.contains("base64url"));
        // ENABLE_PUSH = 2: AAIAAAAC
        assert!(
            refuse("HTTP2-Settings: AAIAAAAC\r\n")
                .1
                .contains("HTTP2-Settings")
        );
        assert_eq!(
            refuse("HTTP2-Settings: \r\nTransfer-Encoding: gzip, chunked\r\n").0,
            "501 Not Implemented"
        );
        assert_eq!(
            refuse("HTTP2-Settings: \r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n").0,
            "400 Bad Request"
        );
        let big = format!("HTTP2-Settings: \r\nX-Big: {}\r\n", "v".repeat(20_000));
        assert_eq!(refuse(&big).0, "431 Request Header Fields Too Large");
        // An empty HTTP2-Settings is valid (no settings changed).
        assert!(
            upgrade(
                &head(&format!("{base}HTTP2-Settings:\r\n\r\n")),
                &Config::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn content_length_body_in_pieces() {
        let mut b = H1Body::length(5);
        let mut buf = BytesMut::from(&b"ab"[..]);
        assert_eq!(b.decode(&mut buf).unwrap().unwrap(), &b"ab"[..]);
        assert_eq!(b.decode(&mut buf).unwrap(), None);
        assert!(!b.is_done());
        buf.extend_from_slice(b"cdePRI * HTTP/2.0");
        assert_eq!(b.decode(&mut buf).unwrap().unwrap(), &b"cde"[..]);
        assert_eq!(b.decode(&mut buf).unwrap(), None);
        assert!(b.is_done());
        assert_eq!(&buf[..], b"PRI * HTTP/2.0");
    }

    #[test]
    fn chunked_body_byte_by_byte_and_whole() {
        let wire =
            b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nPRI";
        for step in [1, 3, wire.len()] {
            let mut b = H1Body::chunked();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(step) {
                buf.extend_from_slice(piece);
                while let Some(d) = b.decode(&mut buf).unwrap() {
                    got.extend_from_slice(&d);
                }
            }
            assert!(b.is_done(), "step {step}");
            assert_eq!(got, b"Wikipedia in\r\n\r\nchunks.", "step {step}");
            assert_eq!(&buf[..], b"PRI");
        }
    }

    #[test]
    fn chunked_body_rejects_bad_framing() {
        for wire in [
            &b"zz\r\n"[..],
            b"3\r\nabcX\r\n",
            b"\r\n",
            b"11111111111111111\r\n",
        ] {
            let mut b = H1Body::chunked();
            let mut buf = BytesMut::from(wire);
            let mut r = Ok(None);
            for _ in 0..4 {
                r = b.decode(&mut buf);
                if r.is_err() {
                    break;
                }
            }
            assert!(r.is_err(), "{wire:?}");
        }
        // An endless chunk-size line is cut at MAX_CHUNK_LINE.
        let mut b = H1Body::chunked();
        let mut buf = BytesMut::from(&vec![b'1'; MAX_CHUNK_LINE + 1][..]);
        assert!(b.decode(&mut buf).is_err());
    }
}
