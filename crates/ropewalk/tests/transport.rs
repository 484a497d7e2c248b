//! Transport-level behaviour: HTTP/1.1 answers, the h2c Upgrade, ALPN,
//! handshake timeouts, the generated certificate, 1xx responses.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::{TestServer, client_tls_config, spawn, temp_dir};
use http::{Response, StatusCode};
use ropewalk::router::{BoxService, Router};
use ropewalk::server::{Options, StreamHandle};
use ropewalk_proto::frame::{Frame, Parser, StreamId};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn demo(tls: bool) -> common::TestServer {
    spawn(
        ropewalk::demo::router(None).unwrap(),
        tls,
        Options::default(),
    )
    .await
}

async fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("connection not closed")
        .unwrap();
    out
}

#[tokio::test]
async fn plain_http1_request_gets_a_clear_answer() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n")
        .await
        .unwrap();
    let out = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
    assert!(out.starts_with("HTTP/1.1 505 "), "{out}");
    assert!(out.contains("speaks HTTP/2"), "{out}");
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, body.len());
    assert_eq!(s.stats.http1_answered(), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn http1_over_tls_without_alpn_gets_the_answer_too() {
    let s = demo(true).await;
    let cfg = client_tls_config(s.cert.as_ref().unwrap(), &[]);
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await;
    assert!(out.starts_with(b"HTTP/1.1 505 "));
    s.shutdown().await;
}

#[tokio::test]
async fn tls_client_offering_only_http11_is_refused() {
    let s = demo(true).await;
    let cfg = client_tls_config(s.cert.as_ref().unwrap(), &[b"http/1.1"]);
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let err = tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect_err("handshake must fail");
    let msg = format!("{err:?}");
    assert!(msg.contains("NoApplicationProtocol"), "{msg}");
    // The server counted it and still serves h2 clients.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.stats.tls_failures(), 1);
    let mut c = s.client().await;
    let (p, _, _) = common::fetch(&mut c, common::get(&s.url("/hello"))).await;
    assert_eq!(p.status, 200);
    s.shutdown().await;
}

/// After a 101: sends the client preface and an empty SETTINGS, and reads
/// frames up to the end of stream 1 (the upgraded request's response).
async fn preface_and_stream_1(tcp: &mut TcpStream) -> Vec<Frame> {
    let mut preface = ropewalk_proto::frame::PREFACE.to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    tcp.write_all(&preface).await.unwrap();
    read_frames(
        tcp,
        |f| matches!(f, Frame::Data(d) if d.stream_id == StreamId::new(1) && d.end_stream),
    )
    .await
}

/// The demo site with a short handshake timeout (milliseconds).
async fn demo_with_handshake_timeout(ms: u64, tls: bool) -> TestServer {
    let opts = Options {
        handshake_timeout: Duration::from_millis(ms),
        ..Options::default()
    };
    spawn(ropewalk::demo::router(None).unwrap(), tls, opts).await
}

/// Slowloris on the TLS handshake: a ClientHello trickled one octet at a
/// time is cut at the handshake timeout, counted as a TLS failure, and the
/// server serves other TLS clients meanwhile.
#[tokio::test]
async fn tls_handshake_slowloris_is_cut_at_the_handshake_timeout() {
    let s = demo_with_handshake_timeout(500, true).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    // A TLS record header for a 512-octet handshake record, then the
    // start of a ClientHello, an octet every 50 ms.
    let hello = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let t0 = std::time::Instant::now();
    let mut cut = false;
    for b in hello.iter().cycle().take(100) {
        if tcp.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        let mut one = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut one)).await
        {
            cut = true;
            break;
        }
        if t0.elapsed() < Duration::from_millis(300) {
            // Meanwhile a real TLS client is served.
            let mut c = s.client().await;
            let (p, _, _) = common::fetch(&mut c, common::get(&s.url("/hello"))).await;
            assert_eq!(p.status, 200);
        }
    }
    assert!(cut, "the trickled handshake was not cut");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.stats.tls_failures(), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn silent_connection_is_closed_after_the_handshake_timeout() {
    let s = demo_with_handshake_timeout(200, false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let t0 = std::time::Instant::now();
    let out = read_to_end(&mut tcp).await;
    assert!(out.is_empty());
    assert!(t0.elapsed() >= Duration::from_millis(150));
    // Preface sent but no SETTINGS: closed too (GOAWAY first).
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(ropewalk_proto::frame::PREFACE).await.unwrap();
    let _ = read_to_end(&mut tcp).await;
    s.shutdown().await;
}

/// Frames from `buf` until `done` says stop.
async fn read_frames(tcp: &mut TcpStream, mut done: impl FnMut(&Frame) -> bool) -> Vec<Frame> {
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    loop {
        while let Some(f) = parser.parse(&mut buf).unwrap() {
            let stop = done(&f);
            frames.push(f);
            if stop {
                return frames;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read_buf(&mut buf))
            .await
            .expect("frames timed out")
            .unwrap();
        assert!(n > 0, "connection closed; frames so far: {frames:?}");
    }
}

fn decode(block: &[u8]) -> Vec<(String, String)> {
    let mut dec = ropewalk_hpack::Decoder::new();
    let mut out = Vec::new();
    dec.decode(block, |f| {
        out.push((
            String::from_utf8_lossy(f.name).into_owned(),
            String::from_utf8_lossy(f.value).into_owned(),
        ));
    })
    .unwrap();
    out
}

/// RFC 7540 §3.2: the HTTP/1.1 request with `Upgrade: h2c` gets 101, and
/// its response arrives on stream 1 over HTTP/2.
#[tokio::test]
async fn h2c_upgrade_answers_on_stream_1() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(
        b"GET /echo?up=1 HTTP/1.1\r\nHost: localhost\r\nX-Test: yes\r\n\
Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(head.to_ascii_lowercase().contains("upgrade: h2c"));
    // Client preface and an empty SETTINGS frame.
    let mut preface = ropewalk_proto::frame::PREFACE.to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    tcp.write_all(&preface).await.unwrap();
    let frames = read_frames(&mut tcp, |f| {
        matches!(f, Frame::Headers(h) if h.stream_id == StreamId::new(1) && h.end_stream)
            || matches!(f, Frame::Data(d) if d.stream_id == StreamId::new(1) && d.end_stream)
    })
    .await;
    assert!(
        matches!(frames[0], Frame::Settings(_)),
        "server preface first"
    );
    let headers = frames
        .iter()
        .find_map(|f| match f {
            Frame::Headers(h) if h.stream_id == StreamId::new(1) => Some(decode(&h.header_block)),
            _ => None,
        })
        .expect("response HEADERS on stream 1");
    assert!(
        headers.contains(&(":status".into(), "200".into())),
        "{headers:?}"
    );
    assert!(headers.contains(&("x-echo-path".into(), "/echo?up=1".into())));
    assert!(headers.contains(&("x-echo-x-test".into(), "yes".into())));
    assert!(!headers.iter().any(|(n, _)| n == "x-echo-upgrade"));
    drop(tcp);
    s.shutdown().await;
}

#[tokio::test]
async fn prior_knowledge_after_sniffing_in_small_pieces() {
    // The preface arriving a few octets at a time is still recognised.
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    for chunk in ropewalk_proto::frame::PREFACE.chunks(5) {
        tcp.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    let frames = read_frames(&mut tcp, |f| matches!(f, Frame::Settings(_))).await;
    assert_eq!(frames.len(), 1);
    drop(tcp);
    s.shutdown().await;
}

#[tokio::test]
async fn self_signed_certificate_is_reused() {
    let dir = temp_dir("reuse");
    let a = ropewalk::tls::self_signed(&dir).unwrap();
    assert!(a.generated);
    let b = ropewalk::tls::self_signed(&dir).unwrap();
    assert!(!b.generated);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint().len(), 32 * 3 - 1);
    assert!(a.cert_path.starts_with(&dir));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a.key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key must be private");
    }
    // Explicit PEM files load the same way.
    let c = ropewalk::tls::load_pem(&a.cert_path, &a.key_path).unwrap();
    assert_eq!(c.fingerprint(), a.fingerprint());
    assert!(ropewalk::tls::load_pem(&a.key_path, &a.key_path).is_err());
}

/// 103 Early Hints from a handler, then the final response, seen by the
/// core's client role.
#[tokio::test]
async fn informational_response_before_final() {
    use ropewalk_proto::conn::{Config, Connection, Event};
    use ropewalk_proto::headers::RequestHead;
    use std::time::Instant;

    let router = Router::new().route(
        "/hints",
        BoxService::from_fn(|req: http::Request<ropewalk::Incoming>| async move {
            let info = req.extensions().get::<StreamHandle>().unwrap().clone();
            info.send_informational(
                Response::builder()
                    .status(StatusCode::EARLY_HINTS)
                    .header("link", "</style.css>; rel=preload")
                    .body(())
                    .unwrap(),
            );
            Response::new(ropewalk::body::full("final"))
        }),
    );
    let s = spawn(router, false, Options::default()).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let now = Instant::now();
    let mut c = Connection::client(Config::default(), now);
    let req = RequestHead::new(http::Method::GET, "http://localhost/hints".parse().unwrap());
    c.send_request(req, true).unwrap();
    let mut out = BytesMut::new();
    c.poll_transmit_all(now, &mut out);
    tcp.write_all(&out).await.unwrap();
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    'outer: loop {
        tokio::time::timeout(Duration::from_secs(5), tcp.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap();
        c.recv(&mut buf, Instant::now());
        while let Some(ev) = c.poll_event() {
            if let Event::Data {
                data, end_stream, ..
            } = &ev
            {
                body.extend_from_slice(data);
                if *end_stream {
                    events.push(ev);
                    break 'outer;
                }
            }
            events.push(ev);
        }
        let mut out = BytesMut::new();
        c.poll_transmit_all(Instant::now(), &mut out);
        tcp.write_all(&out).await.unwrap();
    }
    let info = events
        .iter()
        .position(|e| matches!(e, Event::Informational { head, .. } if head.status == 103 && head.headers["link"] == "</style.css>; rel=preload"))
        .expect("103 received");
    let fin = events
        .iter()
        .position(|e| matches!(e, Event::Response { head, .. } if head.status == 200))
        .expect("200 received");
    assert!(info < fin);
    assert_eq!(body, b"final");
    drop(tcp);
    s.shutdown().await;
}

/// A connection that never sent its preface does not hold up shutdown.
#[tokio::test]
async fn silent_connection_does_not_delay_shutdown() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t0 = std::time::Instant::now();
    s.shutdown().await;
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(read_to_end(&mut tcp).await.is_empty());
}

/// Runs one GET with the core's client role (push enabled) until the
/// request and every promised stream have ended; returns the events and
/// the body of each stream.
async fn core_client_get(
    addr: std::net::SocketAddr,
    path: &str,
) -> (
    Vec<ropewalk_proto::conn::Event>,
    std::collections::BTreeMap<u32, Vec<u8>>,
) {
    use ropewalk_proto::conn::{Config, Connection, Event};
    use ropewalk_proto::headers::RequestHead;
    use std::time::Instant;

    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let now = Instant::now();
    let mut c = Connection::client(Config::default().with_enable_push(true), now);
    let uri = format!("http://localhost{path}");
    c.send_request(
        RequestHead::new(http::Method::GET, uri.parse().unwrap()),
        true,
    )
    .unwrap();
    let mut events = Vec::new();
    let mut bodies = std::collections::BTreeMap::<u32, Vec<u8>>::new();
    let mut open: std::collections::BTreeSet<u32> = [1].into();
    let mut buf = BytesMut::new();
    loop {
        let mut out = BytesMut::new();
        c.poll_transmit_all(Instant::now(), &mut out);
        tcp.write_all(&out).await.unwrap();
        if open.is_empty() {
            break;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        c.recv(&mut buf, Instant::now());
        while let Some(ev) = c.poll_event() {
            match &ev {
                Event::PushPromise { promised, .. } => {
                    open.insert(promised.get());
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    bodies
                        .entry(stream.get())
                        .or_default()
                        .extend_from_slice(data);
                    c.release_capacity(*stream, data.len());
                    if *end_stream {
                        open.remove(&stream.get());
                    }
                }
                Event::Response {
                    stream,
                    end_stream: true,
                    ..
                } => {
                    open.remove(&stream.get());
                }
                _ => {}
            }
            events.push(ev);
        }
    }
    (events, bodies)
}

/// `/push` pushes its style sheet and script to a client that allows push,
/// and each pushed response carries the right bytes.
#[tokio::test]
async fn push_to_a_client_that_allows_it() {
    use ropewalk_proto::conn::Event;
    let s = demo(false).await;
    let (events, bodies) = core_client_get(s.addr, "/push").await;
    let promised: Vec<(u32, String)> = events
        .iter()
        .filter_map(|e| match e {
            Event::PushPromise { promised, head, .. } => Some((
                promised.get(),
                head.path.as_ref().unwrap().as_str().to_owned(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(promised.len(), 2, "{events:?}");
    for (id, path) in &promised {
        assert_eq!(id % 2, 0, "pushed streams are even");
        let expected = if path == "/push/style.css" {
            ropewalk::demo::PUSH_CSS
        } else {
            assert_eq!(path, "/push/app.js");
            ropewalk::demo::PUSH_JS
        };
        assert_eq!(bodies[id], expected.as_bytes());
    }
    let page = events
        .iter()
        .find_map(|e| match e {
            Event::Response { stream, head, .. } if stream.get() == 1 => Some(head.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(page.headers["x-pushed"], "2");
    assert!(String::from_utf8_lossy(&bodies[&1]).contains("/push/app.js"));
    assert_eq!(s.stats.pushes(), 2);
    s.shutdown().await;
}

/// hyper's client does not allow push: the page comes without pushes.
#[tokio::test]
async fn no_push_when_the_client_disables_it() {
    let s = demo(true).await;
    let mut c = s.client().await;
    let (p, b, _) = common::fetch(&mut c, common::get(&s.url("/push"))).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.headers["x-pushed"], "0");
    assert!(String::from_utf8_lossy(&b).contains("Server push"));
    assert_eq!(s.stats.pushes(), 0);
    s.shutdown().await;
}

/// Many PINGs in one packet: the core pauses reading while ACKs are owed;
/// the driver resumes from its buffer and every PING is answered.
#[tokio::test]
async fn burst_of_pings_all_answered() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let mut out = ropewalk_proto::frame::PREFACE.to_vec();
    out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    for i in 0..40u8 {
        out.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&[i; 8]);
    }
    tcp.write_all(&out).await.unwrap();
    let mut acks = 0;
    let frames = read_frames(&mut tcp, |f| {
        if matches!(f, Frame::Ping(p) if p.ack) {
            acks += 1;
        }
        acks == 40
    })
    .await;
    let payloads: Vec<u8> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Ping(p) if p.ack => Some(p.payload[0]),
            _ => None,
        })
        .collect();
    assert_eq!(payloads, (0..40).collect::<Vec<u8>>());
    drop(tcp);
    s.shutdown().await;
}

/// Slowloris: a HEADERS frame trickled in an octet at a time is cut off
/// after `frame_timeout`.
#[tokio::test]
async fn trickled_header_frame_is_cut_off() {
    let opts = Options {
        frame_timeout: Some(Duration::from_millis(300)),
        ..Options::default()
    };
    let s = spawn(ropewalk::demo::router(None).unwrap(), false, opts).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let mut out = ropewalk_proto::frame::PREFACE.to_vec();
    out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // HEADERS, 200 octets announced, END_HEADERS|END_STREAM, stream 1.
    out.extend_from_slice(&[0, 0, 200, 1, 5, 0, 0, 0, 1]);
    tcp.write_all(&out).await.unwrap();
    let t0 = std::time::Instant::now();
    let (mut rd, mut wr) = tcp.into_split();
    let writer = tokio::spawn(async move {
        for _ in 0..200 {
            if wr.write_all(&[0x82]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), rd.read_to_end(&mut got))
        .await
        .expect("connection not closed")
        .ok();
    let elapsed = t0.elapsed();
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    writer.abort();
    let mut buf = BytesMut::from(&got[..]);
    let mut parser = Parser::new();
    let mut goaway = None;
    while let Ok(Some(f)) = parser.parse(&mut buf) {
        if let Frame::GoAway(g) = f {
            goaway = Some(g);
        }
    }
    let g = goaway.expect("GOAWAY before close");
    assert_eq!(
        g.error_code,
        ropewalk_proto::error::ErrorCode::ProtocolError
    );
    s.shutdown().await;
}

/// An upgrade request with a body: the body reaches the handler as stream
/// 1's request body (here echoed back on stream 1).
#[tokio::test]
async fn h2c_upgrade_with_a_request_body() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let body = pattern_bytes(40_000);
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    tcp.write_all(&req).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    let frames = preface_and_stream_1(&mut tcp).await;
    let echoed = stream_1_data(&frames);
    assert_eq!(echoed, body);
    drop(tcp);
    s.shutdown().await;
}

/// Reads HTTP/1.1 heads up to the first that is not `100 Continue`.
async fn read_h1_heads(tcp: &mut (impl AsyncRead + Unpin)) -> String {
    let mut all = Vec::new();
    loop {
        let start = all.len();
        while !all[start..].ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            tcp.read_exact(&mut b).await.unwrap();
            all.push(b[0]);
        }
        if !all[start..].starts_with(b"HTTP/1.1 100 ") {
            return String::from_utf8(all).unwrap();
        }
    }
}

/// Length and FNV-1a hash of a body, as the `/sum` handler answers.
fn sum(body: &[u8]) -> String {
    let h = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{} {h:016x}", body.len())
}

/// A 1 MiB chunked body with `Expect: 100-continue` over the upgrade
/// (RFC 7540 §3.2: sent whole in HTTP/1.1 before the client's preface):
/// 100 Continue, the body, then 101, and the handler of stream 1 reads
/// every octet.
/// (Stream 1's answer is flow-controlled by windows the client can open
/// only after its body, so a handler that streams its answer while reading
/// a large body — an echo — stalls; one that reads first does not.)
#[tokio::test]
async fn h2c_upgrade_with_a_large_chunked_body_and_expect() {
    use http_body_util::BodyExt;
    let svc = ropewalk::service_fn(|req: http::Request<ropewalk::Incoming>| async move {
        let body = req.into_body().collect().await?.to_bytes();
        Ok::<_, ropewalk::body::BoxError>(Response::new(ropewalk::body::full(sum(&body))))
    });
    let s = spawn(svc, false, Options::default()).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let body = pattern_bytes(1 << 20);
    tcp.write_all(
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
Expect: 100-continue\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n",
    )
    .await
    .unwrap();
    let mut cont = vec![0u8; b"HTTP/1.1 100 Continue\r\n\r\n".len()];
    tcp.read_exact(&mut cont).await.unwrap();
    assert_eq!(cont, b"HTTP/1.1 100 Continue\r\n\r\n");
    let (mut rd, mut wr) = tcp.into_split();
    let send = body.clone();
    let writer = tokio::spawn(async move {
        for chunk in send.chunks(50_000) {
            wr.write_all(format!("{:x};x=y\r\n", chunk.len()).as_bytes())
                .await
                .unwrap();
            wr.write_all(chunk).await.unwrap();
            wr.write_all(b"\r\n").await.unwrap();
        }
        wr.write_all(b"0\r\nX-Trailer: 1\r\n\r\n").await.unwrap();
        let mut preface = ropewalk_proto::frame::PREFACE.to_vec();
        preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        // SETTINGS ACK for the server's SETTINGS.
        preface.extend_from_slice(&[0, 0, 0, 4, 1, 0, 0, 0, 0]);
        // Open the connection window and stream 1's for the echo.
        preface.extend_from_slice(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0x40, 0, 0, 0]);
        preface.extend_from_slice(&[0, 0, 4, 8, 0, 0, 0, 0, 1, 0x40, 0, 0, 0]);
        wr.write_all(&preface).await.unwrap();
        wr
    });
    let heads = read_h1_heads(&mut rd).await;
    assert!(heads.starts_with("HTTP/1.1 101 "), "{heads}");
    let mut parser = Parser::new();
    parser.set_max_frame_size(16_384);
    let mut buf = BytesMut::new();
    let mut echoed = Vec::new();
    let mut status = None;
    'read: loop {
        while let Some(f) = parser.parse(&mut buf).unwrap() {
            match f {
                Frame::Headers(h) if h.stream_id == StreamId::new(1) => {
                    status = decode(&h.header_block)
                        .into_iter()
                        .find(|(n, _)| n == ":status")
                        .map(|(_, v)| v);
                }
                Frame::Data(d) if d.stream_id == StreamId::new(1) => {
                    echoed.extend_from_slice(&d.data);
                    if d.end_stream {
                        break 'read;
                    }
                }
                Frame::GoAway(g) => panic!("GOAWAY {g:?}"),
                _ => {}
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read_buf(&mut buf))
            .await
            .expect("echo timed out")
            .unwrap();
        assert!(n > 0, "closed after {} octets", echoed.len());
    }
    let wr = writer.await.unwrap();
    assert_eq!(status.as_deref(), Some("200"));
    assert_eq!(String::from_utf8(echoed).unwrap(), sum(&body));
    drop((rd, wr));
    s.shutdown().await;
}

/// RFC 7540 §3.2.1: the HTTP2-Settings values apply from the start (here
/// INITIAL_WINDOW_SIZE = 10: the 13-octet answer waits after 10 octets).
#[tokio::test]
async fn h2c_upgrade_applies_http2_settings() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
Upgrade: h2c\r\nHTTP2-Settings: AAQAAAAK\r\n\r\n",
    )
    .await
    .unwrap();
    let heads = read_h1_heads(&mut tcp).await;
    assert!(heads.starts_with("HTTP/1.1 101 "), "{heads}");
    let mut preface = ropewalk_proto::frame::PREFACE.to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    tcp.write_all(&preface).await.unwrap();
    let frames = read_frames(
        &mut tcp,
        |f| matches!(f, Frame::Data(d) if d.stream_id == StreamId::new(1)),
    )
    .await;
    // One SETTINGS ACK only: for the preface's SETTINGS, not HTTP2-Settings.
    let acks = frames
        .iter()
        .filter(|f| matches!(f, Frame::Settings(s) if s.is_ack()))
        .count();
    assert!(acks <= 1, "{frames:?}");
    match frames.last() {
        Some(Frame::Data(d)) => {
            assert_eq!(&d.data[..], b"Hello, wor");
            assert!(!d.end_stream);
        }
        other => panic!("{other:?}"),
    }
    tcp.write_all(&[0, 0, 4, 8, 0, 0, 0, 0, 1, 0, 0, 0, 3])
        .await
        .unwrap();
    let frames = read_frames(
        &mut tcp,
        |f| matches!(f, Frame::Data(d) if d.stream_id == StreamId::new(1)),
    )
    .await;
    match frames.last() {
        Some(Frame::Data(d)) => {
            assert_eq!(&d.data[..], b"ld!");
            assert!(d.end_stream);
        }
        other => panic!("{other:?}"),
    }
    drop(tcp);
    s.shutdown().await;
}

/// An upgrade whose HTTP2-Settings is not valid is refused with 400 and
/// the reason, not switched (RFC 7540 §3.2.1).
#[tokio::test]
async fn h2c_upgrade_with_bad_http2_settings_is_refused() {
    let s = demo(false).await;
    for (settings, why) in [("!!!", "base64url"), ("AAIAAAAC", "HTTP2-Settings")] {
        let mut tcp = TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(
            format!(
                "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
Upgrade: h2c\r\nHTTP2-Settings: {settings}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let out = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
        assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
        assert!(out.contains(why), "{out}");
    }
    s.shutdown().await;
}

/// RFC 9110 §7.8: the client finishes its request before it speaks the new
/// protocol. The 101 waits until the body is read (curl, given 100 and
/// 101 together, would start HTTP/2 without sending its body); a body
/// that is not valid HTTP/1.1 framing gets a 400 in HTTP/1.1, not a GOAWAY.
#[tokio::test]
async fn h2c_upgrade_switches_after_the_body_and_refuses_a_bad_one() {
    let s = demo(false).await;
    let head = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n";

    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(head).await.unwrap();
    tcp.write_all(b"5\r\nhel").await.unwrap();
    let mut b = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut b)).await;
    assert!(
        early.is_err(),
        "answered before the body was read: {early:?}"
    );
    tcp.write_all(b"lo\r\n0\r\n\r\n").await.unwrap();
    let heads = read_h1_heads(&mut tcp).await;
    assert!(heads.starts_with("HTTP/1.1 101 "), "{heads}");
    let frames = preface_and_stream_1(&mut tcp).await;
    assert!(matches!(frames[0], Frame::Settings(_)), "{frames:?}");
    let echoed = stream_1_data(&frames);
    assert_eq!(echoed, b"hello");
    drop(tcp);

    for bad in [&b"zz\r\nabc\r\n"[..], b"3\r\nabcXY"] {
        let mut tcp = TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(head).await.unwrap();
        tcp.write_all(bad).await.unwrap();
        let out = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
        assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
        assert!(out.contains("malformed HTTP/1.1 request body"), "{out}");
        assert!(!out.contains("101"), "{out}");
    }
    s.shutdown().await;
}

/// An upgraded request whose body stops arriving: after the handshake
/// timeout it gets an HTTP/1.1 408 (no 101 was sent), and the connection
/// ends rather than waiting on.
#[tokio::test]
async fn h2c_upgrade_with_a_stalled_body_gets_408() {
    let s = demo_with_handshake_timeout(300, false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\
Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\nonly some",
    )
    .await
    .unwrap();
    let t0 = std::time::Instant::now();
    let out = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    s.shutdown().await;
}

/// The DATA octets of stream 1 among `frames`, in order.
fn stream_1_data(frames: &[Frame]) -> Vec<u8> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) if d.stream_id == StreamId::new(1) => Some(&d.data[..]),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

fn pattern_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 256) as u8).collect()
}

/// A protocol error from the peer closes its connection with GOAWAY and
/// is counted; the server serves the next connection.
#[tokio::test]
async fn protocol_error_is_counted_and_contained() {
    let s = demo(false).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let mut out = ropewalk_proto::frame::PREFACE.to_vec();
    out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // DATA on stream 0 is a connection error (RFC 9113 §6.1).
    out.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]);
    tcp.write_all(&out).await.unwrap();
    let frames = read_frames(&mut tcp, |f| matches!(f, Frame::GoAway(_))).await;
    match frames.last() {
        Some(Frame::GoAway(g)) => {
            assert_eq!(
                g.error_code,
                ropewalk_proto::error::ErrorCode::ProtocolError
            )
        }
        other => panic!("{other:?}"),
    }
    drop(tcp);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.stats.connection_errors(), 1);
    use ropewalk_proto::error::ErrorCode;
    let by_code = s.stats.goaways_sent_by_code();
    assert_eq!(by_code.get(ErrorCode::ProtocolError), 1);
    assert_eq!(by_code.get(ErrorCode::NoError), 0);
    assert_eq!(by_code.nonzero(), vec![(ErrorCode::ProtocolError, 1)]);
    let mut c = s.client().await;
    let (p, _, _) = common::fetch(&mut c, common::get(&s.url("/hello"))).await;
    assert_eq!(p.status, 200);
    s.shutdown().await;
}
