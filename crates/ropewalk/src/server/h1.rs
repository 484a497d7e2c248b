//! What arrives on a connection before HTTP/2: the client preface (prior
//! knowledge), an HTTP/1.1 `Upgrade: h2c` request (RFC 7540 §3.2), or a
//! plain HTTP/1.1 request, which gets a short answer saying that this
//! server speaks HTTP/2.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use ropewalk_proto::frame::PREFACE;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest HTTP/1.1 request head we read.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body carried over an `Upgrade: h2c` (it must fit in
/// the initial flow-control windows, RFC 9113 §6.9.2).
const MAX_UPGRADE_BODY: usize = 65_535;

/// The body of the answer to a plain HTTP/1.1 request.
pub const HTTP1_ANSWER: &str = "This server speaks HTTP/2 only.\n\
Try: curl --http2-prior-knowledge http://HOST/ (cleartext h2c),\n\
     curl --http2 http://HOST/ (HTTP/1.1 Upgrade to h2c),\n\
     or https:// with ALPN h2.\n";

pub(crate) enum Sniffed {
    /// The client preface starts the connection; `buf` holds what was read.
    H2(BytesMut),
    /// An accepted `Upgrade: h2c` request: the HEADERS frame for stream 1
    /// and the bytes read after the request head.
    Upgrade { headers: Bytes, rest: BytesMut },
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
    let mut rest = buf.split_off(end);
    // A request body is carried over when it fits in the initial stream
    // window (RFC 7540 §3.2: it must be sent before the switch).
    let body_len = match (head.get("transfer-encoding"), head.get("content-length")) {
        (None, None) => Some(0),
        (None, Some(v)) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_UPGRADE_BODY),
        _ => None,
    };
    if let Some(body_len) = body_len.filter(|_| {
        allow_upgrade
            && head.version == "HTTP/1.1"
            && head.has_token("upgrade", "h2c")
            && head.has_token("connection", "upgrade")
            && head.has_token("connection", "http2-settings")
            && head.get("http2-settings").is_some()
    }) {
        while rest.len() < body_len {
            match tokio::time::timeout_at(deadline, io.read_buf(&mut rest)).await {
                Ok(Ok(0)) | Err(_) => return Ok(Sniffed::Done),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
        let body = rest.split_to(body_len);
        if let Some(headers) = upgrade_frames(&head, &body) {
            io.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
            )
            .await?;
            tracing::debug!(method = %head.method, target = %head.target, "h2c upgrade");
            return Ok(Sniffed::Upgrade { headers, rest });
        }
    }
    tracing::info!(
        method = %head.method,
        target = %head.target,
        "plain HTTP/1.x request answered with 505: this server speaks HTTP/2"
    );
    write_answer(io, "505 HTTP Version Not Supported", HTTP1_ANSWER).await;
    Ok(Sniffed::Done)
}

async fn write_answer<IO: AsyncWrite + Unpin>(io: &mut IO, status: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
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
    "te",
];

/// The upgrade request as frames of stream 1: HEADERS (HPACK-encoded as
/// literals without indexing, so the core's decoder table stays as the
/// client's encoder expects) and, for a body, DATA frames; the last frame
/// carries END_STREAM.
fn upgrade_frames(head: &H1Head, body: &[u8]) -> Option<Bytes> {
    let mut block = BytesMut::new();
    let authority = head.get("host").unwrap_or("localhost");
    let path = if head.target.starts_with('/') {
        head.target.clone()
    } else {
        // absolute-form
        let uri: http::Uri = head.target.parse().ok()?;
        uri.path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
    };
    literal(&mut block, ":method", &head.method);
    literal(&mut block, ":scheme", "http");
    literal(&mut block, ":authority", authority);
    literal(&mut block, ":path", &path);
    for (n, v) in &head.headers {
        let n = n.to_ascii_lowercase();
        if HOP.contains(&n.as_str()) {
            continue;
        }
        literal(&mut block, &n, v);
    }
    if block.len() > 16_384 {
        return None;
    }
    let mut out = BytesMut::with_capacity(9 + block.len() + body.len() + 36);
    let head_flags = if body.is_empty() { 0x1 | 0x4 } else { 0x4 }; // END_STREAM? | END_HEADERS
    frame_header(&mut out, block.len(), 0x1, head_flags);
    out.put_slice(&block);
    let mut chunks = body.chunks(16_384).peekable();
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        frame_header(&mut out, chunk.len(), 0x0, if last { 0x1 } else { 0 });
        out.put_slice(chunk);
    }
    Some(out.freeze())
}

fn frame_header(out: &mut BytesMut, len: usize, kind: u8, flags: u8) {
    out.put_slice(&(len as u32).to_be_bytes()[1..]);
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_u32(1);
}

/// RFC 7541 §6.2.2: literal header field without indexing, new name.
fn literal(dst: &mut BytesMut, name: &str, value: &str) {
    dst.put_u8(0);
    string(dst, name.as_bytes());
    string(dst, value.as_bytes());
}

fn string(dst: &mut BytesMut, s: &[u8]) {
    // 7-bit prefix integer, no Huffman.
    let mut n = s.len();
    if n < 127 {
        dst.put_u8(n as u8);
    } else {
        dst.put_u8(127);
        n -= 127;
        while n >= 128 {
            dst.put_u8((n % 128) as u8 | 0x80);
            n /= 128;
        }
        dst.put_u8(n as u8);
    }
    dst.put_slice(s);
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

    #[test]
    fn upgrade_block_decodes() {
        let h =
            parse_head(b"GET /x?y HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\nUpgrade: h2c\r\n\r\n")
                .unwrap();
        let f = upgrade_frames(&h, b"").unwrap();
        assert_eq!(&f[3..9], &[1, 5, 0, 0, 0, 1]);
        let mut dec = ropewalk_hpack::Decoder::new();
        let mut got = Vec::new();
        dec.decode(&f[9..], |fl| {
            got.push((fl.name.to_vec(), fl.value.to_vec()));
        })
        .unwrap();
        assert!(got.contains(&(b":path".to_vec(), b"/x?y".to_vec())));
        assert!(got.contains(&(b"accept".to_vec(), b"*/*".to_vec())));
        assert!(!got.iter().any(|(n, _)| n == b"upgrade"));
    }

    #[test]
    fn upgrade_body_becomes_data_frames() {
        let h =
            parse_head(b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 20000\r\n\r\n").unwrap();
        let body = vec![9u8; 20_000];
        let f = upgrade_frames(&h, &body).unwrap();
        let mut buf = BytesMut::from(&f[..]);
        let mut p = ropewalk_proto::frame::Parser::new();
        let mut kinds = Vec::new();
        while let Some(fr) = p.parse(&mut buf).unwrap() {
            kinds.push(match fr {
                ropewalk_proto::frame::Frame::Headers(h) => ("h", 0, h.end_stream),
                ropewalk_proto::frame::Frame::Data(d) => ("d", d.data.len(), d.end_stream),
                _ => ("?", 0, false),
            });
        }
        assert_eq!(
            kinds,
            vec![("h", 0, false), ("d", 16_384, false), ("d", 3_616, true)]
        );
    }

    #[test]
    fn long_strings_use_continuation_bytes() {
        let mut b = BytesMut::new();
        string(&mut b, &[b'a'; 300]);
        assert_eq!(&b[..3], &[127, 173, 1]);
    }
}
