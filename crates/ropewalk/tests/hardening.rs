//! Issue #7 hardening, over real sockets: the server-side budgets (response
//! octets per connection and across connections, handler tasks for requests
//! reset at once) each trip here. The core's own limits are tested in
//! `crates/proto/tests/conn_limits.rs`.

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body::{Body, Frame as BodyFrame};
use http_body_util::BodyExt;
use ropewalk::body::{BoxBody, boxed, full};
use ropewalk::server::{Options, Stats, service_fn};
use ropewalk_hpack::{Encoder, Header};
use ropewalk_proto::frame::{
    ErrorCode, Frame, Headers, PREFACE, Parser, RstStream, Settings, StreamId, WindowUpdate,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// An endless response body, 16 KiB per frame.
struct Endless;

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, Infallible>>> {
        Poll::Ready(Some(Ok(BodyFrame::data(Bytes::from(vec![
            b'x';
            16 * 1024
        ])))))
    }
}

/// `/endless` streams forever; anything else answers "hello".
async fn handle(req: Request<ropewalk::Incoming>) -> Result<Response<BoxBody>, Infallible> {
    let body = if req.uri().path() == "/endless" {
        boxed(Endless)
    } else {
        full("hello")
    };
    Ok(Response::new(body))
}

/// A raw HTTP/2 peer: frames go out through `tx`; a reader task ACKs the
/// server's SETTINGS and reports what else arrives.
struct RawPeer {
    tx: mpsc::UnboundedSender<Bytes>,
    frames: mpsc::UnboundedReceiver<Frame>,
    enc: Encoder,
    authority: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RawPeer {
    /// Closes the socket.
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl RawPeer {
    /// Connects, sends the preface and `settings`.
    async fn connect(addr: std::net::SocketAddr, settings: Settings) -> RawPeer {
        let tcp = TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (mut rd, mut wr) = tcp.into_split();
        let (tx, mut out) = mpsc::unbounded_channel::<Bytes>();
        let (ftx, frames) = mpsc::unbounded_channel();
        let writer = tokio::spawn(async move {
            while let Some(b) = out.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
            }
        });
        let ack_tx = tx.clone();
        let reader = tokio::spawn(async move {
            let mut parser = Parser::new();
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                match rd.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                while let Ok(Some(f)) = parser.parse(&mut buf) {
                    if let Frame::Settings(s) = &f {
                        if !s.is_ack() {
                            let mut b = BytesMut::new();
                            Settings::ack().encode(&mut b);
                            let _ = ack_tx.send(b.freeze());
                        }
                    }
                    let _ = ftx.send(f);
                }
            }
        });
        let mut b = BytesMut::from(&PREFACE[..]);
        settings.encode(&mut b);
        tx.send(b.freeze()).unwrap();
        RawPeer {
            tx,
            frames,
            enc: Encoder::new(),
            authority: addr.to_string(),
            tasks: vec![writer, reader],
        }
    }

    fn get(&mut self, id: u32, path: &str) -> BytesMut {
        let mut block = Vec::new();
        let fields = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", self.authority.as_str()),
            (":path", path),
        ];
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes())),
            &mut block,
        );
        let mut h = Headers::new(StreamId::new(id), Bytes::from(block));
        h.set_end_stream(true);
        let mut b = BytesMut::new();
        Frame::from(h).encode(&mut b);
        b
    }

    fn send(&self, b: BytesMut) {
        let _ = self.tx.send(b.freeze());
    }

    /// Waits for the response HEADERS on `id`.
    async fn response_on(&mut self, id: u32) {
        let wait = async {
            while let Some(f) = self.frames.recv().await {
                if let Frame::Headers(h) = f {
                    if h.stream_id.get() == id {
                        return;
                    }
                }
            }
            panic!("connection ended before the response on stream {id}");
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("no response");
    }
}

fn zero_window() -> Settings {
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    s
}

/// Opens `n` endless downloads on a peer whose windows are shut.
async fn stalled_peer(addr: std::net::SocketAddr, n: u32) -> RawPeer {
    let mut p = RawPeer::connect(addr, zero_window()).await;
    let mut b = BytesMut::new();
    for i in 0..n {
        b.extend_from_slice(&p.get(1 + 2 * i, "/endless"));
    }
    p.send(b);
    p
}

fn buffered(stats: &Stats) -> usize {
    usize::try_from(stats.response_buffered()).unwrap()
}

#[tokio::test]
async fn default_budgets_are_bounded() {
    let o = Options::default();
    assert!(o.max_buffered_per_connection >= 64 * 1024);
    assert!(o.max_buffered_per_connection <= 4 << 20);
    assert!(o.max_buffered_total >= o.max_buffered_per_connection);
    assert!(o.max_buffered_total <= 1 << 30);
}

/// CVE-2019-9517: a peer that keeps every window at zero and asks for large
/// responses on many streams holds at most the connection's budget, not a
/// per-stream budget times its streams.
#[tokio::test]
async fn zero_window_peer_holds_at_most_the_connection_budget() {
    let cap = 256 * 1024;
    let opts = Options {
        max_buffered_per_connection: cap,
        ..Options::default()
    };
    let s = common::spawn(service_fn(handle), false, opts).await;
    let _p = stalled_peer(s.addr, 20).await;
    let stats = s.stats.clone();
    // The handlers fill what they may...
    assert!(
        common::eventually(Duration::from_secs(5), || buffered(&stats) >= cap / 2).await,
        "handlers never filled the budget: {}",
        buffered(&stats)
    );
    // ...and no more, however long the peer stalls.
    let mut peak = 0;
    for _ in 0..25 {
        peak = peak.max(buffered(&stats));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(peak <= cap, "held {peak} > {cap}");
    assert_eq!(stats.handlers_active(), 20, "every download is waiting");
}

/// N stalled connections together hold at most the server-wide budget; when
/// `zero_window_timeout` cuts their streams, the budget comes back and other
/// clients are served.
#[tokio::test]
async fn stalled_connections_share_the_server_budget() {
    let total = 512 * 1024;
    let mut opts = Options {
        max_buffered_per_connection: 256 * 1024,
        max_buffered_total: total,
        ..Options::default()
    };
    opts.h2.limits.zero_window_timeout = Duration::from_secs(1);
    let s = common::spawn(service_fn(handle), false, opts).await;
    let mut peers = Vec::new();
    for _ in 0..6 {
        peers.push(stalled_peer(s.addr, 10).await);
    }
    let stats = s.stats.clone();
    assert!(
        common::eventually(Duration::from_secs(5), || buffered(&stats) >= total / 2).await,
        "budget never filled: {}",
        buffered(&stats)
    );
    let mut peak = 0;
    for _ in 0..20 {
        peak = peak.max(buffered(&stats));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Each connection may hold a 64 KiB floor beyond the total, so that the
    // stalled ones cannot starve others; 6 × 256 KiB would be 1.5 MiB.
    let bound = total + 6 * 64 * 1024;
    assert!(peak <= bound, "held {peak} > {bound} across 6 connections");
    // The stalled streams are reset (CANCEL) after zero_window_timeout.
    let cancelled = async {
        while let Some(f) = peers[0].frames.recv().await {
            if let Frame::RstStream(r) = f {
                if r.error_code == ErrorCode::Cancel {
                    return;
                }
            }
        }
        panic!("connection ended without RST_STREAM");
    };
    tokio::time::timeout(Duration::from_secs(4), cancelled)
        .await
        .expect("no RST_STREAM(CANCEL) for a stalled stream");
    // ...and a well-behaved client gets a large response.
    let mut c = s.client().await;
    let req = Request::get(s.url("/endless")).body(full("")).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), c.send_request(req))
        .await
        .expect("no response head")
        .unwrap();
    let mut body = resp.into_body();
    let mut got = 0;
    while got < 1 << 20 {
        let f = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("body stalled")
            .expect("body ended")
            .unwrap();
        got += f.into_data().map(|d| d.len()).unwrap_or(0);
    }
    drop(body);
    // Connections gone: every octet of the budget is given back.
    drop(peers);
    drop(c);
    assert!(
        common::eventually(Duration::from_secs(5), || buffered(&stats) == 0).await,
        "budget not returned: {}",
        buffered(&stats)
    );
}

/// CVE-2023-44487: requests reset in the same read as their HEADERS never
/// start a handler task (the reset budget alone would let each connection
/// start 200 of them, and a reconnecting attacker many connections).
#[tokio::test]
async fn requests_reset_at_once_start_no_handler() {
    // Every started handler gets its own task, so that each one counts.
    let mut opts = Options {
        spawn_handlers: true,
        ..Options::default()
    };
    opts.h2.limits.reset_rate =
        ropewalk_proto::limits::RateLimit::new(1000, Duration::from_secs(10));
    let s = common::spawn(service_fn(handle), false, opts).await;
    let mut p = RawPeer::connect(s.addr, Settings::default()).await;
    let mut b = BytesMut::new();
    for i in 0..50u32 {
        let id = 1 + 2 * i;
        b.extend_from_slice(&p.get(id, "/hello"));
        Frame::from(RstStream::new(StreamId::new(id), ErrorCode::Cancel)).encode(&mut b);
    }
    p.send(b);
    let last = p.get(101, "/hello");
    p.send(last);
    p.response_on(101).await;
    // One write of 50 HEADERS + RST_STREAM pairs: with loopback it arrives
    // in one read; allow one split read (one pair) anyway.
    let started = s.stats.handlers_total();
    assert!((1..=2).contains(&started), "{started} handlers started");
    assert_eq!(s.stats.resets_received(), 50);
}

/// A client that writes all of its requests before it reads anything is
/// still answered. The server takes a large batch of requests in parts
/// (`REQUESTS_PER_TURN`), writing the answers of each part before it takes
/// the next; a write that cannot go at once must not stop it from reading
/// on, or both sides would wait on each other's writes for ever. An
/// in-memory pipe of 16 KiB each way makes both writes block early.
#[tokio::test]
async fn a_peer_that_writes_everything_before_reading_is_answered() {
    let server = ropewalk::Server::new(ropewalk::demo::router(None).unwrap());
    let stats = server.stats();
    let (mut peer, io) = tokio::io::duplex(16 * 1024);
    tokio::spawn(async move { server.serve_connection(io, None, false).await });
    // Windows wide open; then 100 requests of about 300 octets each: 30 kB
    // the server must read while it cannot write most of its answers
    // (100 x 20 kB).
    let mut b = BytesMut::from(&PREFACE[..]);
    let mut settings = Settings::default();
    settings.set_initial_window_size(Some(WindowUpdate::MAX_INCREMENT));
    settings.encode(&mut b);
    Frame::from(WindowUpdate::new(
        StreamId::new(0),
        WindowUpdate::MAX_INCREMENT - 65_535,
    ))
    .encode(&mut b);
    let mut enc = Encoder::new();
    for i in 0..100u32 {
        // A value of its own each time, so that it is sent, not indexed.
        let pad: String = (0..400u32)
            .map(|k| char::from(b'a' + ((i * 31 + k * 7) % 26) as u8))
            .collect();
        let fields = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "localhost"),
            (":path", "/big?size=20000"),
            ("x-pad", pad.as_str()),
        ];
        let mut block = Vec::new();
        enc.encode(
            fields
                .iter()
                .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes())),
            &mut block,
        );
        let mut h = Headers::new(StreamId::new(1 + 2 * i), Bytes::from(block));
        h.set_end_stream(true);
        Frame::from(h).encode(&mut b);
    }
    assert!(b.len() > 28_000);
    tokio::time::timeout(Duration::from_secs(10), peer.write_all(&b))
        .await
        .expect("the server stopped reading")
        .unwrap();
    let read_all = async {
        let mut parser = Parser::new();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let (mut done, mut octets) = (0, 0usize);
        while done < 100 {
            assert!(
                peer.read_buf(&mut buf).await.unwrap() > 0,
                "closed after {done} answers"
            );
            while let Some(f) = parser.parse(&mut buf).unwrap() {
                match f {
                    Frame::Settings(st) if !st.is_ack() => {
                        let mut ack = BytesMut::new();
                        Settings::ack().encode(&mut ack);
                        peer.write_all(&ack).await.unwrap();
                    }
                    Frame::Data(d) => {
                        octets += d.data.len();
                        done += usize::from(d.is_end_stream());
                    }
                    Frame::GoAway(g) => panic!("GOAWAY after {done} answers: {g:?}"),
                    Frame::RstStream(r) => panic!("reset: {r:?}"),
                    _ => {}
                }
            }
        }
        octets
    };
    let octets = tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .expect("answers stopped coming");
    assert_eq!(octets, 100 * 20_000);
    assert_eq!(stats.streams_total(), 100);
}
