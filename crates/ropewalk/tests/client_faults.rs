//! The client against scripted servers that misbehave or go away: raw
//! frames on a TcpListener (ropewalk-proto's frame layer and
//! ropewalk-hpack), so each test controls exactly what the server sends.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use ropewalk::client::{self, Client, Error, Initiator, Reason};
use ropewalk_hpack::{Decoder, Encoder, Header};
use ropewalk_proto::frame::{
    Data, Frame, GoAway, Headers, PREFACE, Parser, PushPromise, RstStream, Settings, StreamId,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted server-side connection.
struct Raw {
    tcp: TcpStream,
    rbuf: BytesMut,
    parser: Parser,
    enc: Encoder,
    dec: Decoder,
    /// The client acknowledged our SETTINGS: it applies our limits.
    acked: bool,
}

/// A request the script saw: its stream, `:method`, `:path`, whether
/// END_STREAM came with the HEADERS.
#[derive(Debug, Clone)]
struct Seen {
    id: StreamId,
    method: String,
    path: String,
}

impl Raw {
    /// Accepts a connection, checks the client preface (RFC 9113 §3.4) and
    /// sends our SETTINGS.
    async fn accept(l: &TcpListener, settings: Settings) -> Raw {
        let (tcp, _) = l.accept().await.unwrap();
        let mut raw = Raw {
            tcp,
            rbuf: BytesMut::new(),
            parser: Parser::new(),
            enc: Encoder::new(),
            dec: Decoder::new(),
            acked: false,
        };
        while raw.rbuf.len() < PREFACE.len() {
            assert!(raw.tcp.read_buf(&mut raw.rbuf).await.unwrap() > 0);
        }
        assert_eq!(&raw.rbuf[..PREFACE.len()], PREFACE);
        let _ = raw.rbuf.split_to(PREFACE.len());
        raw.send(Frame::Settings(settings)).await;
        raw
    }

    async fn send(&mut self, f: Frame) {
        let mut out = BytesMut::new();
        f.encode(&mut out);
        self.tcp.write_all(&out).await.unwrap();
    }

    /// The next frame, answering SETTINGS with an ACK.
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.parser.parse(&mut self.rbuf).unwrap() {
                if let Frame::Settings(s) = &f {
                    if s.is_ack() {
                        self.acked = true;
                    } else {
                        self.send(Frame::Settings(Settings::ack())).await;
                    }
                }
                return Some(f);
            }
            match self.tcp.read_buf(&mut self.rbuf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads until the client has acknowledged our SETTINGS.
    async fn wait_acked(&mut self) {
        while !self.acked {
            assert!(
                self.frame().await.is_some(),
                "closed before the SETTINGS ACK"
            );
        }
    }

    /// Reads until `n` requests have arrived (whole HEADERS frames; the
    /// client does not split small heads).
    async fn requests(&mut self, n: usize) -> Vec<Seen> {
        let mut seen = Vec::new();
        while seen.len() < n {
            let Some(f) = self.frame().await else {
                panic!("connection closed after {} requests", seen.len());
            };
            if let Frame::Headers(h) = f {
                assert!(h.end_headers);
                let (mut method, mut path) = (String::new(), String::new());
                self.dec
                    .decode(&h.header_block, |f| match f.name {
                        b":method" => method = String::from_utf8_lossy(f.value).into_owned(),
                        b":path" => path = String::from_utf8_lossy(f.value).into_owned(),
                        _ => {}
                    })
                    .unwrap();
                seen.push(Seen {
                    id: h.stream_id,
                    method,
                    path,
                });
            }
        }
        seen
    }

    async fn respond(&mut self, id: StreamId, body: &[u8], end: bool) {
        let mut block = Vec::new();
        self.enc
            .encode([Header::new(b":status", b"200")], &mut block);
        self.send(Frame::Headers(Headers::new(id, Bytes::from(block))))
            .await;
        let mut d = Data::new(id, Bytes::copy_from_slice(body));
        d.set_end_stream(end);
        self.send(Frame::Data(d)).await;
    }
}

fn settings(max_streams: Option<u32>) -> Settings {
    let mut s = Settings::default();
    s.set_max_concurrent_streams(max_streams);
    s
}

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goaway_retries_unprocessed_requests_on_a_new_connection() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let client = client.clone();
        let url = format!("{base}/r{i}");
        tasks.push(tokio::spawn(async move {
            let resp = client.get(&url).await?;
            client::collect(resp).await
        }));
    }
    let script = async {
        let mut first = Raw::accept(&l, settings(None)).await;
        let seen = first.requests(3).await;
        let mut ids: Vec<_> = seen.iter().map(|s| s.id).collect();
        ids.sort();
        // RFC 9113 §6.8: only the first stream will be processed.
        first
            .send(Frame::GoAway(GoAway::new(ids[0], Reason::NoError)))
            .await;
        let answered = seen.iter().find(|s| s.id == ids[0]).unwrap().path.clone();
        first
            .respond(ids[0], b"from the first connection", true)
            .await;
        // The other two come again on a second connection.
        let mut second = Raw::accept(&l, settings(None)).await;
        let again = second.requests(2).await;
        for s in &again {
            second
                .respond(s.id, format!("retried {}", s.path).as_bytes(), true)
                .await;
        }
        let mut paths: Vec<_> = again.iter().map(|s| s.path.clone()).collect();
        paths.push(answered.clone());
        paths.sort();
        assert_eq!(paths, ["/r0", "/r1", "/r2"]);
        // Keep both sockets open until the client is done.
        tokio::time::sleep(Duration::from_millis(300)).await;
        (answered, first, second)
    };
    let (answered, _a, _b) = script.await;
    let mut bodies = Vec::new();
    for t in tasks {
        let page = t.await.unwrap().unwrap();
        assert_eq!(page.status, StatusCode::OK);
        bodies.push(page.text());
    }
    let i: usize = answered[2..].parse().unwrap();
    assert_eq!(bodies[i], "from the first connection");
    for (j, b) in bodies.iter().enumerate() {
        if j != i {
            assert_eq!(b, &format!("retried /r{j}"));
        }
    }
    assert_eq!(client.connections_opened(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goaway_then_close_reports_processed_requests_and_does_not_resend_unsafe_ones() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let get = {
        let client = client.clone();
        let url = format!("{base}/get");
        tokio::spawn(async move { client.get(&url).await })
    };
    let script = async {
        let mut raw = Raw::accept(&l, settings(None)).await;
        let seen = raw.requests(1).await;
        assert_eq!(seen[0].method, "GET");
        // Last-stream-id covers the request: it may have been processed, so
        // it must not be retried; then the connection dies mid-way.
        raw.send(Frame::GoAway(
            GoAway::new(seen[0].id, Reason::InternalError)
                .with_debug_data(Bytes::from_static(b"out of memory")),
        ))
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(raw);
        // No second connection may come for it.
        tokio::time::timeout(Duration::from_millis(300), l.accept())
            .await
            .is_err()
    };
    let no_retry = script.await;
    let err = get.await.unwrap().unwrap_err();
    assert!(no_retry, "a processed request was sent again");
    match &err {
        Error::Protocol {
            code,
            initiator,
            why,
        } => {
            assert_eq!(*code, Reason::InternalError);
            assert_eq!(*initiator, Initiator::Remote);
            assert_eq!(why, "out of memory");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("INTERNAL_ERROR"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_stream_is_retried() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let req = {
        let client = client.clone();
        let url = format!("{base}/refused");
        tokio::spawn(async move { client::collect(client.post(&url, "payload").await?).await })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let first = raw.requests(1).await;
    // RFC 9113 §8.7: REFUSED_STREAM means not processed.
    raw.send(Frame::RstStream(RstStream::new(
        first[0].id,
        Reason::RefusedStream,
    )))
    .await;
    let second = raw.requests(1).await;
    assert!(second[0].id > first[0].id);
    assert_eq!(second[0].method, "POST");
    // The body came again too.
    let mut body = Vec::new();
    while let Some(f) = raw.frame().await {
        if let Frame::Data(d) = f {
            if d.stream_id == second[0].id {
                body.extend_from_slice(&d.data);
                if d.end_stream {
                    break;
                }
            }
        }
    }
    assert_eq!(body, b"payload");
    raw.respond(second[0].id, b"ok", true).await;
    let page = req.await.unwrap().unwrap();
    assert_eq!(page.text(), "ok");
    assert_eq!(client.connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_by_the_server_is_reported_with_its_code() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let req = {
        let url = format!("{base}/x");
        tokio::spawn(async move { client.get(&url).await })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let seen = raw.requests(1).await;
    raw.send(Frame::RstStream(RstStream::new(
        seen[0].id,
        Reason::EnhanceYourCalm,
    )))
    .await;
    let err = req.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Reset {
                code: Reason::EnhanceYourCalm,
                initiator: Initiator::Remote,
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("ENHANCE_YOUR_CALM"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_closing_mid_response_is_an_error() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let req = {
        let url = format!("{base}/big");
        tokio::spawn(async move {
            let resp = client.get(&url).await?;
            assert_eq!(resp.status(), StatusCode::OK);
            client::collect(resp).await
        })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let seen = raw.requests(1).await;
    // Headers and part of the body, then the socket closes.
    raw.respond(seen[0].id, &[7u8; 1000], false).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(raw);
    let err = req.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violation_by_the_server_is_a_protocol_error() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let req = {
        let url = format!("{base}/x");
        tokio::spawn(async move { client.get(&url).await })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let _ = raw.requests(1).await;
    // RFC 9113 §6.1: DATA on stream 0 is a connection error PROTOCOL_ERROR.
    raw.tcp
        .write_all(&[0, 0, 1, 0, 0, 0, 0, 0, 0, b'x'])
        .await
        .unwrap();
    let err = req.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(Reason::ProtocolError), "{err:?}");
    assert!(
        matches!(
            err,
            Error::Protocol {
                initiator: Initiator::Local,
                ..
            }
        ),
        "{err:?}"
    );
    // The client said so with GOAWAY (RFC 9113 §5.4.1).
    let mut goaway = None;
    while let Some(f) = raw.frame().await {
        if let Frame::GoAway(g) = f {
            goaway = Some(g.error_code);
            break;
        }
    }
    assert_eq!(goaway, Some(Reason::ProtocolError));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_max_concurrent_streams_wait_for_a_slot() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let fetch = |i: usize| {
        let client = client.clone();
        let url = format!("{base}/w{i}");
        tokio::spawn(async move { client::collect(client.get(&url).await?).await })
    };
    let mut tasks = vec![fetch(0)];
    let mut raw = Raw::accept(&l, settings(Some(1))).await;
    let mut seen = raw.requests(1).await;
    // Once our SETTINGS (limit 1) are acknowledged, the client applies them.
    raw.wait_acked().await;
    tasks.push(fetch(1));
    tasks.push(fetch(2));
    for round in 0..3 {
        // RFC 9113 §5.1.2: with a limit of 1, no second request may be open
        // while this one is: nothing else arrives before we answer.
        let next = tokio::time::timeout(Duration::from_millis(100), raw.requests(1)).await;
        assert!(next.is_err(), "a second stream opened past the limit");
        raw.respond(seen[0].id, seen[0].path.as_bytes(), true).await;
        if round < 2 {
            seen = raw.requests(1).await;
        }
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap().text(), format!("/w{i}"));
    }
    assert_eq!(client.connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_opens_when_allowed() {
    let (l, base) = listener().await;
    let client = Client::builder()
        .max_connections_per_origin(2)
        .build()
        .unwrap();
    let first = {
        let client = client.clone();
        let url = format!("{base}/a");
        tokio::spawn(async move { client::collect(client.get(&url).await?).await })
    };
    let mut one = Raw::accept(&l, settings(Some(1))).await;
    let a = one.requests(1).await;
    // The client now knows the limit is 1 and the slot is taken.
    one.wait_acked().await;
    let second = {
        let client = client.clone();
        let url = format!("{base}/b");
        tokio::spawn(async move { client::collect(client.get(&url).await?).await })
    };
    let mut two = Raw::accept(&l, settings(Some(1))).await;
    let b = two.requests(1).await;
    assert_eq!(b[0].path, "/b");
    one.respond(a[0].id, b"a", true).await;
    two.respond(b[0].id, b"b", true).await;
    assert_eq!(first.await.unwrap().unwrap().text(), "a");
    assert_eq!(second.await.unwrap().unwrap().text(), "b");
    assert_eq!(client.connections_opened(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_pushes_are_bounded_and_the_rest_cancelled() {
    let (l, base) = listener().await;
    let client = Client::builder().enable_push(true).build().unwrap();
    let req = {
        let client = client.clone();
        let url = format!("{base}/page");
        tokio::spawn(async move { client.get(&url).await })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let seen = raw.requests(1).await;
    let id = seen[0].id;
    let mut block = Vec::new();
    raw.enc
        .encode([Header::new(b":status", b"200")], &mut block);
    raw.send(Frame::Headers(Headers::new(id, Bytes::from(block))))
        .await;
    // 100 promises; the client's caller takes none of them meanwhile.
    let total = 100u32;
    for i in 0..total {
        let promised = StreamId::new(2 + 2 * i);
        let mut block = Vec::new();
        let path = format!("/p{i}");
        raw.enc.encode(
            [
                Header::new(b":method", b"GET"),
                Header::new(b":scheme", b"http"),
                Header::new(b":authority", b"127.0.0.1"),
                Header::new(b":path", path.as_bytes()),
            ],
            &mut block,
        );
        raw.send(Frame::PushPromise(PushPromise::new(
            id,
            promised,
            Bytes::from(block),
        )))
        .await;
    }
    // The client cancels those past its limit (RFC 9113 §8.4.2).
    let mut cancelled = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while cancelled.len() < total as usize - client::MAX_PENDING_PUSHES {
        let f = tokio::time::timeout_at(deadline, raw.frame())
            .await
            .expect("RST_STREAM CANCEL for the pushes over the limit");
        match f {
            Some(Frame::RstStream(r)) => {
                assert_eq!(r.error_code, Reason::Cancel);
                assert!(r.stream_id.get() % 2 == 0, "a pushed stream");
                cancelled.insert(r.stream_id.get());
            }
            Some(_) => {}
            None => panic!("connection closed"),
        }
    }
    // The kept ones get their responses, then the page ends.
    for i in 0..total {
        let promised = 2 + 2 * i;
        if cancelled.contains(&promised) {
            continue;
        }
        let mut block = Vec::new();
        raw.enc
            .encode([Header::new(b":status", b"200")], &mut block);
        let mut h = Headers::new(StreamId::new(promised), Bytes::from(block));
        h.set_end_stream(true);
        raw.send(Frame::Headers(h)).await;
    }
    let mut d = Data::new(id, Bytes::from_static(b"page"));
    d.set_end_stream(true);
    raw.send(Frame::Data(d)).await;
    let resp = req.await.unwrap().unwrap();
    let pushes = resp.extensions().get::<client::Pushes>().cloned().unwrap();
    assert_eq!(client::collect(resp).await.unwrap().text(), "page");
    let mut kept = 0;
    while let Some(p) = pushes.next().await {
        let r = p.response().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        kept += 1;
    }
    assert_eq!(kept, client::MAX_PENDING_PUSHES);
}

impl Raw {
    /// Reads until RST_STREAM arrives on `id`; returns its code.
    async fn reset_of(&mut self, id: StreamId) -> Reason {
        loop {
            match self.frame().await {
                Some(Frame::RstStream(r)) if r.stream_id == id => return r.error_code,
                Some(_) => {}
                None => panic!("closed before RST_STREAM on {id:?}"),
            }
        }
    }

    /// Frames encoded into one buffer, written at once (one read for the
    /// client, so all their events come together).
    async fn send_all(&mut self, frames: Vec<Frame>) {
        let mut out = BytesMut::new();
        for f in frames {
            f.encode(&mut out);
        }
        self.tcp.write_all(&out).await.unwrap();
    }

    fn head(&mut self, id: StreamId, end: bool) -> Frame {
        let mut block = Vec::new();
        self.enc
            .encode([Header::new(b":status", b"200")], &mut block);
        let mut h = Headers::new(id, Bytes::from(block));
        h.set_end_stream(end);
        Frame::Headers(h)
    }
}

fn data(id: StreamId, body: &'static [u8], end: bool) -> Frame {
    let mut d = Data::new(id, Bytes::from_static(body));
    d.set_end_stream(end);
    Frame::Data(d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_gives_up_has_its_stream_cancelled() {
    let (l, base) = listener().await;
    let client = Client::builder()
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let timed_out = {
        let (client, url) = (client.clone(), format!("{base}/slow"));
        tokio::spawn(async move { client.get(&url).await })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let seen = raw.requests(1).await;
    // RFC 9113 §8.1: a client that no longer wants the response resets
    // the stream with CANCEL.
    assert_eq!(raw.reset_of(seen[0].id).await, Reason::Cancel);
    let err = timed_out.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Timeout("request")), "{err:?}");
    // A caller whose future is dropped, too.
    let dropped = {
        let (client, url) = (client.clone(), format!("{base}/dropped"));
        tokio::spawn(async move { client.get(&url).await })
    };
    let seen = raw.requests(1).await;
    dropped.abort();
    assert_eq!(raw.reset_of(seen[0].id).await, Reason::Cancel);
    // The connection still serves the next request.
    let next = {
        let (client, url) = (client.clone(), format!("{base}/next"));
        tokio::spawn(async move { client::collect(client.get(&url).await?).await })
    };
    let seen = raw.requests(1).await;
    raw.respond(seen[0].id, b"fine", true).await;
    assert_eq!(next.await.unwrap().unwrap().text(), "fine");
    assert_eq!(client.connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_sent_before_their_bodies_get_the_right_bodies() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let fetch = |path: &str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        tokio::spawn(async move {
            let resp = client.get(&url).await?;
            let status = resp.status();
            let full = client::collect(resp).await?;
            Ok::<_, Error>((status, full.body, full.trailers))
        })
    };
    let tasks: Vec<_> = ["/a", "/b", "/c", "/d", "/e"]
        .iter()
        .map(|p| fetch(p))
        .collect();
    let mut raw = Raw::accept(&l, settings(None)).await;
    let seen = raw.requests(5).await;
    let id = |p: &str| seen.iter().find(|s| s.path == p).unwrap().id;
    let (a, b, c, d, e) = (id("/a"), id("/b"), id("/c"), id("/d"), id("/e"));
    // In one write, as nghttpd does it: heads first, then bodies. /a is
    // whole, /b comes in two pieces, /c is whole but empty and /d has no
    // body at all; /e gets its head here and its body in a later write.
    let mut frames = vec![
        raw.head(a, false),
        raw.head(b, false),
        raw.head(c, false),
        raw.head(d, true),
        raw.head(e, false),
    ];
    frames.extend([
        data(b, b"one,", false),
        data(a, b"whole", true),
        data(b, b"two", true),
        data(c, b"", true),
        data(e, b"early,", false),
    ]);
    raw.send_all(frames).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.send_all(vec![data(e, b"late", true)]).await;
    let mut got = Vec::new();
    for t in tasks {
        let (status, body, trailers) = t.await.unwrap().unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(trailers.is_none());
        got.push(String::from_utf8(body.to_vec()).unwrap());
    }
    assert_eq!(got, ["whole", "one,two", "", "", "early,late"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_comes_with_the_head_fails_the_body_not_the_response() {
    let (l, base) = listener().await;
    let client = Client::builder().build().unwrap();
    let req = {
        let url = format!("{base}/x");
        tokio::spawn(async move {
            let resp = client.get(&url).await?;
            assert_eq!(resp.status(), StatusCode::OK);
            Ok::<_, Error>(client::collect(resp).await)
        })
    };
    let mut raw = Raw::accept(&l, settings(None)).await;
    let seen = raw.requests(1).await;
    let id = seen[0].id;
    let head = raw.head(id, false);
    raw.send_all(vec![
        head,
        data(id, b"part", false),
        Frame::RstStream(RstStream::new(id, Reason::InternalError)),
    ])
    .await;
    // The head came: the response is there; its body fails.
    let body = req.await.unwrap().expect("the response head arrived");
    let err = body.unwrap_err();
    assert!(err.to_string().contains("INTERNAL_ERROR"), "{err}");
}
