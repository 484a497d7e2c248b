//! The server against hyper 1.x's HTTP/2 client, over h2c and TLS.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{TestServer, body, fetch, get, pattern, spawn};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use ropewalk::body::{BoxBody, channel, full};
use ropewalk::demo::{HELLO, big_byte};
use ropewalk::router::{BoxService, Router};
use ropewalk::server::Options;

async fn demo(tls: bool) -> TestServer {
    spawn(
        ropewalk::demo::router(None).unwrap(),
        tls,
        Options::default(),
    )
    .await
}

async fn hello_on(tls: bool) {
    let s = demo(tls).await;
    let mut c = s.client().await;
    let (parts, b, _) = fetch(&mut c, get(&s.url("/hello"))).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.version, Version::HTTP_2);
    assert_eq!(parts.headers["content-type"], "text/plain");
    // RFC 9110 §6.6.1: an origin server with a clock sends Date.
    let date = parts.headers["date"].to_str().unwrap();
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    assert_eq!(&b[..], HELLO.as_bytes());
    assert_eq!(b.len(), 13);
    s.shutdown().await;
}

#[tokio::test]
async fn hello_h2c() {
    hello_on(false).await;
}

#[tokio::test]
async fn hello_tls() {
    hello_on(true).await;
}

async fn demo_routes_on(tls: bool) {
    let s = demo(tls).await;
    let mut c = s.client().await;

    let (p, b, _) = fetch(&mut c, get(&s.url("/"))).await;
    assert_eq!(p.status, 200);
    assert!(
        p.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = std::str::from_utf8(&b).unwrap();
    assert!(html.contains("nextHopProtocol"));
    assert!(html.contains("'h2'"));

    let (p, _, _) = fetch(&mut c, get(&s.url("/redirect"))).await;
    assert_eq!(p.status, StatusCode::FOUND);
    assert_eq!(p.headers["location"], "/");

    let (p, _, _) = fetch(&mut c, get(&s.url("/nope"))).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    let t0 = Instant::now();
    let (p, b, _) = fetch(&mut c, get(&s.url("/slow?ms=150"))).await;
    assert_eq!(p.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert_eq!(&b[..], b"slept 150 ms\n");

    let (p, b, _) = fetch(&mut c, get(&s.url("/stream?n=3&interval_ms=20"))).await;
    assert_eq!(p.headers["content-type"], "text/event-stream");
    let text = std::str::from_utf8(&b).unwrap();
    assert_eq!(text.matches("event: tick\n").count(), 3);
    assert!(text.contains("data: event 2 of 3\n\n"));

    let req = Request::post(s.url("/echo?x=1"))
        .header("x-custom", "yes")
        .header("content-type", "text/x-test")
        .body(body("ping"))
        .unwrap();
    let (p, b, _) = fetch(&mut c, req).await;
    assert_eq!(&b[..], b"ping");
    assert_eq!(p.headers["x-echo-method"], "POST");
    assert_eq!(p.headers["x-echo-path"], "/echo?x=1");
    assert_eq!(p.headers["x-echo-x-custom"], "yes");
    assert_eq!(p.headers["content-type"], "text/x-test");

    let (p, b, _) = fetch(&mut c, get(&s.url("/big?size=100000"))).await;
    assert_eq!(p.headers["content-length"], "100000");
    assert_eq!(b.len(), 100_000);
    assert!(b.iter().enumerate().all(|(i, &x)| x == big_byte(i as u64)));

    let (p, _, _) = fetch(&mut c, get(&s.url("/files/x"))).await;
    assert_eq!(p.status, 404);
    s.shutdown().await;
}

#[tokio::test]
async fn demo_routes_h2c() {
    demo_routes_on(false).await;
}

#[tokio::test]
async fn demo_routes_tls() {
    demo_routes_on(true).await;
}

/// Request and response bodies of 0 B, 1 B, 16 KiB + 1 and 10 MiB, every
/// byte checked: uploaded through `/echo` (streamed back) and downloaded
/// from `/big`.
async fn bodies_on(tls: bool) {
    let s = demo(tls).await;
    let mut c = s.client().await;
    for (i, len) in [0usize, 1, 16 * 1024 + 1, 10 << 20].into_iter().enumerate() {
        let data = pattern(len, i as u8);
        let req = Request::post(s.url("/echo"))
            .body(body(data.clone()))
            .unwrap();
        let (p, b, _) = fetch(&mut c, req).await;
        assert_eq!(p.status, 200);
        assert_eq!(b.len(), len, "echo of {len} bytes");
        assert!(b == data, "echo of {len} bytes differs");

        let (p, b, _) = fetch(&mut c, get(&s.url(&format!("/big?size={len}")))).await;
        assert_eq!(p.status, 200);
        assert_eq!(b.len(), len);
        assert!(
            b.iter().enumerate().all(|(i, &x)| x == big_byte(i as u64)),
            "/big?size={len} differs"
        );
    }
    s.shutdown().await;
}

#[tokio::test]
async fn bodies_h2c() {
    bodies_on(false).await;
}

#[tokio::test]
async fn bodies_tls() {
    bodies_on(true).await;
}

/// Trailers both ways: request trailers reach the handler, which sends
/// them back as response trailers (`/echo` streams its body back).
#[tokio::test]
async fn trailers_both_ways() {
    let s = demo(false).await;
    let mut c = s.client().await;
    let (tx, req_body) = channel(4);
    let req = Request::post(s.url("/echo"))
        .body(ropewalk::body::boxed(req_body))
        .unwrap();
    let send = tokio::spawn(async move {
        tx.send_data("part one, ").await.unwrap();
        tx.send_data("part two").await.unwrap();
        let mut t = HeaderMap::new();
        t.insert("x-checksum", HeaderValue::from_static("abc123"));
        tx.send_trailers(t).await.unwrap();
    });
    let (p, b, trailers) = fetch(&mut c, req).await;
    send.await.unwrap();
    assert_eq!(p.status, 200);
    assert_eq!(&b[..], b"part one, part two");
    assert_eq!(trailers.expect("trailers")["x-checksum"], "abc123");
    s.shutdown().await;
}

/// A handler that sends its own response trailers.
#[tokio::test]
async fn response_trailers_from_handler() {
    let router = Router::new().route(
        "/t",
        BoxService::from_fn(|_req| async {
            let (tx, b) = channel(2);
            tokio::spawn(async move {
                tx.send_data("body").await.unwrap();
                let mut t = HeaderMap::new();
                t.insert("grpc-status", HeaderValue::from_static("0"));
                tx.send_trailers(t).await.unwrap();
            });
            Response::new(ropewalk::body::boxed(b))
        }),
    );
    let s = spawn(router, true, Options::default()).await;
    let mut c = s.client().await;
    let (_, b, t) = fetch(&mut c, get(&s.url("/t"))).await;
    assert_eq!(&b[..], b"body");
    assert_eq!(t.unwrap()["grpc-status"], "0");
    s.shutdown().await;
}

/// A body that gives `frames` and claims an exact size of `claims` octets
/// (true or not).
struct Claiming {
    claims: u64,
    frames: std::collections::VecDeque<http_body::Frame<Bytes>>,
}

impl http_body::Body for Claiming {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.frames.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.claims)
    }
}

/// A small body whose octets come later (from a channel), with its exact
/// size known at once.
struct Later {
    rx: Option<tokio::sync::oneshot::Receiver<Bytes>>,
}

impl http_body::Body for Later {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let Some(rx) = self.rx.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        let got = std::task::ready!(std::pin::Pin::new(rx).poll(cx));
        self.rx = None;
        std::task::Poll::Ready(got.ok().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.rx.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(5)
    }
}

/// Small bodies made in one piece go out with their head, without credit;
/// bodies that only look like one (a size hint that lies, more frames,
/// trailers, octets that come later) still arrive whole, with or without
/// handler tasks.
#[tokio::test]
async fn bodies_that_look_small_arrive_whole() {
    fn claiming(claims: u64, frames: Vec<http_body::Frame<Bytes>>) -> BoxService {
        BoxService::from_fn(move |_req| {
            let frames = frames.iter().map(|f| match f.data_ref() {
                Some(d) => http_body::Frame::data(d.clone()),
                None => http_body::Frame::trailers(f.trailers_ref().unwrap().clone()),
            });
            let body = Claiming {
                claims,
                frames: frames.collect(),
            };
            async move { Response::new(ropewalk::body::boxed(body)) }
        })
    }
    let data = |b: &'static [u8]| http_body::Frame::data(Bytes::from_static(b));
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from_static("0"));
    let big = pattern(100_000, 3);
    for spawn_handlers in [false, true] {
        let router = Router::new()
            .route("/exact", claiming(5, vec![data(b"hello")]))
            .route("/empty", claiming(0, vec![]))
            .route(
                "/lie",
                claiming(4, vec![http_body::Frame::data(big.clone())]),
            )
            .route("/two", claiming(6, vec![data(b"abc"), data(b"def")]))
            .route(
                "/later",
                BoxService::from_fn(|_req| async {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        let _ = tx.send(Bytes::from_static(b"hello"));
                    });
                    Response::new(ropewalk::body::boxed(Later { rx: Some(rx) }))
                }),
            )
            .route(
                "/trailers",
                claiming(
                    5,
                    vec![data(b"hello"), http_body::Frame::trailers(t.clone())],
                ),
            );
        let opts = Options {
            spawn_handlers,
            ..Options::default()
        };
        let s = spawn(router, false, opts).await;
        let mut c = s.client().await;
        for _ in 0..2 {
            let (p, b, _) = fetch(&mut c, get(&s.url("/exact"))).await;
            assert_eq!((p.status, &b[..]), (StatusCode::OK, &b"hello"[..]));
            assert!(p.headers.contains_key("date"));
            let (p, b, _) = fetch(&mut c, get(&s.url("/empty"))).await;
            assert_eq!((p.status, b.len()), (StatusCode::OK, 0));
            assert!(p.headers.contains_key("date"));
            let (_, b, _) = fetch(&mut c, get(&s.url("/lie"))).await;
            assert_eq!(b, big);
            let (_, b, _) = fetch(&mut c, get(&s.url("/two"))).await;
            assert_eq!(&b[..], b"abcdef");
            let (p, b, _) = fetch(&mut c, get(&s.url("/later"))).await;
            assert_eq!((p.status, &b[..]), (StatusCode::OK, &b"hello"[..]));
            let (_, b, tr) = fetch(&mut c, get(&s.url("/trailers"))).await;
            assert_eq!(&b[..], b"hello");
            assert_eq!(tr.unwrap()["grpc-status"], "0");
        }
        assert_eq!(s.stats.response_buffered(), 0);
        drop(c);
        s.shutdown().await;
    }
}

/// The connection reads the clock for `Date` once per turn of its loop; an
/// answer that comes after a long wait gets the time it comes, not that of
/// the turn before the wait.
#[tokio::test]
async fn a_late_answer_gets_a_fresh_date() {
    let s = demo(false).await;
    let c = s.client().await;
    let date = |p: &http::response::Parts| {
        httpdate::parse_http_date(p.headers["date"].to_str().unwrap()).unwrap()
    };
    let slow = {
        let mut c = c.clone();
        let url = s.url("/slow?ms=2100");
        tokio::spawn(async move { fetch(&mut c, get(&url)).await.0 })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (quick, _, _) = fetch(&mut c.clone(), get(&s.url("/hello"))).await;
    let slow = slow.await.unwrap();
    let waited = date(&slow).duration_since(date(&quick)).unwrap();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    s.shutdown().await;
}

/// 100 concurrent streams on one connection, each with its own body.
async fn concurrent_on(tls: bool) {
    let s = demo(tls).await;
    let c = s.client().await;
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let mut c = c.clone();
        let url = s.url(&format!("/echo?i={i}"));
        tasks.push(tokio::spawn(async move {
            let data = pattern(1000 + i as usize * 97, i as u8);
            let req = Request::post(url).body(body(data.clone())).unwrap();
            let (p, b, _) = fetch(&mut c, req).await;
            assert_eq!(p.status, 200);
            assert_eq!(p.headers["x-echo-path"], format!("/echo?i={i}").as_str());
            assert!(b == data, "stream {i} body differs");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.stats.connections_total(), 1);
    assert_eq!(s.stats.streams_total(), 100);
    s.shutdown().await;
}

#[tokio::test]
async fn hundred_concurrent_streams_h2c() {
    concurrent_on(false).await;
}

#[tokio::test]
async fn hundred_concurrent_streams_tls() {
    concurrent_on(true).await;
}

/// A panicking handler: its stream is reset with INTERNAL_ERROR, other
/// streams on the same connection and the server carry on.
#[tokio::test]
async fn panicking_handler_resets_stream_only() {
    let router = Router::new()
        .route(
            "/panic",
            BoxService::from_fn(|_req| async {
                if std::hint::black_box(true) {
                    panic!("handler panic (expected by the test)");
                }
                Response::new(full(""))
            }),
        )
        .route("/ok", ropewalk::router::text("fine"));
    let s = spawn(router, false, Options::default()).await;
    let mut c = s.client().await;
    c.ready().await.unwrap();
    let err = c.send_request(get(&s.url("/panic"))).await.unwrap_err();
    let msg = format!("{err:?}");
    assert!(msg.contains("INTERNAL_ERROR"), "unexpected error: {msg}");
    let (p, b, _) = fetch(&mut c, get(&s.url("/ok"))).await;
    assert_eq!(p.status, 200);
    assert_eq!(&b[..], b"fine");
    assert_eq!(s.stats.handler_panics(), 1);
    // A new connection works too.
    let mut c2 = s.client().await;
    let (p, _, _) = fetch(&mut c2, get(&s.url("/ok"))).await;
    assert_eq!(p.status, 200);
    s.shutdown().await;
}

/// A body that panics when polled, claiming an exact size or none.
struct Panicking {
    exact: Option<u64>,
}

impl http_body::Body for Panicking {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        panic!("body panic (expected by the test)")
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.exact
            .map_or_else(http_body::SizeHint::new, http_body::SizeHint::with_exact)
    }
}

/// A response body that panics, whether it was to go whole with its head
/// or be streamed after it, counts as a handler panic and resets its
/// stream only, with or without handler tasks.
#[tokio::test]
async fn panicking_body_resets_stream_only() {
    for spawn_handlers in [false, true] {
        let body = |exact: Option<u64>| {
            BoxService::from_fn(move |_req| async move {
                Response::new(ropewalk::body::boxed(Panicking { exact }))
            })
        };
        let router = Router::new()
            .route("/whole", body(Some(5)))
            .route("/streamed", body(None))
            .route("/ok", ropewalk::router::text("fine"));
        let opts = Options {
            spawn_handlers,
            ..Options::default()
        };
        let s = spawn(router, false, opts).await;
        let mut c = s.client().await;
        c.ready().await.unwrap();
        // Whole: the head never went.
        let err = c.send_request(get(&s.url("/whole"))).await.unwrap_err();
        assert!(format!("{err:?}").contains("INTERNAL_ERROR"), "{err:?}");
        // Streamed: the head went, then the reset.
        c.ready().await.unwrap();
        let failed = match c.send_request(get(&s.url("/streamed"))).await {
            Ok(resp) => resp.into_body().collect().await.err(),
            Err(e) => Some(e),
        };
        let err = failed.expect("the streamed body fails");
        assert!(format!("{err:?}").contains("INTERNAL_ERROR"), "{err:?}");
        let (p, b, _) = fetch(&mut c, get(&s.url("/ok"))).await;
        assert_eq!((p.status, &b[..]), (StatusCode::OK, &b"fine"[..]));
        assert_eq!(
            s.stats.handler_panics(),
            2,
            "spawn_handlers {spawn_handlers}"
        );
        s.shutdown().await;
    }
}

/// A service whose `clone` (done per request, when the handler is called,
/// before any poll) panics once armed.
#[derive(Debug)]
struct PanicsOnClone {
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    inner: Router,
}

impl Clone for PanicsOnClone {
    fn clone(&self) -> Self {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("service clone panic (expected by the test)");
        }
        PanicsOnClone {
            armed: self.armed.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl tower_service::Service<Request<ropewalk::Incoming>> for PanicsOnClone {
    type Response = Response<BoxBody>;
    type Error = <Router as tower_service::Service<Request<ropewalk::Incoming>>>::Error;
    type Future = <Router as tower_service::Service<Request<ropewalk::Incoming>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ropewalk::Incoming>) -> Self::Future {
        self.inner.call(req)
    }
}

/// A handler that panics as it is called, not when its future is polled:
/// its stream is reset and the connection carries on.
#[tokio::test]
async fn handler_panicking_when_called_resets_its_stream_only() {
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let service = PanicsOnClone {
        armed: armed.clone(),
        inner: Router::new().route("/ok", ropewalk::router::text("fine")),
    };
    let s = spawn(service, false, Options::default()).await;
    let mut c = s.client().await;
    c.ready().await.unwrap();
    let (p, _, _) = fetch(&mut c, get(&s.url("/ok"))).await;
    assert_eq!(p.status, 200);
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = c.send_request(get(&s.url("/ok"))).await.unwrap_err();
    assert!(format!("{err:?}").contains("INTERNAL_ERROR"), "{err:?}");
    let (p, b, _) = fetch(&mut c, get(&s.url("/ok"))).await;
    assert_eq!(p.status, 200);
    assert_eq!(&b[..], b"fine");
    assert_eq!(s.stats.handler_panics(), 1);
    s.shutdown().await;
}

/// A service that is not ready on its first `poll_ready` of each clone (it
/// wakes the task and is ready on the next), or whose `poll_ready` fails.
#[derive(Clone, Debug)]
struct ReadyLater {
    polled: bool,
    fail: bool,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl tower_service::Service<Request<ropewalk::Incoming>> for ReadyLater {
    type Response = Response<BoxBody>;
    type Error = ropewalk::body::BoxError;
    type Future = std::future::Ready<Result<Response<BoxBody>, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        if self.fail {
            return std::task::Poll::Ready(Err("not today".into()));
        }
        if !self.polled {
            self.polled = true;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ropewalk::Incoming>) -> Self::Future {
        // tower's contract: `call` only after `poll_ready` said Ready.
        assert!(self.polled, "call before ready");
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::ready(Ok(Response::new(full(req.uri().path().to_owned()))))
    }
}

/// Services that are not ready at once are called when they are; a failed
/// `poll_ready` resets the stream.
#[tokio::test]
async fn services_not_ready_at_once_are_waited_for() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let later = ReadyLater {
        polled: false,
        fail: false,
        calls: calls.clone(),
    };
    let s = spawn(later, false, Options::default()).await;
    let mut c = s.client().await;
    for path in ["/a", "/b"] {
        let (p, b, _) = fetch(&mut c, get(&s.url(path))).await;
        assert_eq!(p.status, 200);
        assert_eq!(&b[..], path.as_bytes());
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    s.shutdown().await;

    let failing = ReadyLater {
        polled: true,
        fail: true,
        calls: calls.clone(),
    };
    let s = spawn(failing, false, Options::default()).await;
    let mut c = s.client().await;
    c.ready().await.unwrap();
    let err = c.send_request(get(&s.url("/c"))).await.unwrap_err();
    assert!(format!("{err:?}").contains("INTERNAL_ERROR"), "{err:?}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    s.shutdown().await;
}

/// A handler whose response body fails mid-way: the stream is reset.
#[tokio::test]
async fn failing_body_resets_stream() {
    let router = Router::new().route(
        "/fail",
        BoxService::from_fn(|_req| async {
            let (tx, b) = channel(2);
            tokio::spawn(async move {
                tx.send_data("half").await.unwrap();
                tx.abort("broken").await;
            });
            Response::new(ropewalk::body::boxed(b))
        }),
    );
    let s = spawn(router, false, Options::default()).await;
    let mut c = s.client().await;
    c.ready().await.unwrap();
    let resp = c.send_request(get(&s.url("/fail"))).await.unwrap();
    let err = resp.into_body().collect().await.unwrap_err();
    assert!(format!("{err:?}").contains("INTERNAL_ERROR"), "{err:?}");
    s.shutdown().await;
}

/// Graceful shutdown with requests in flight: none is lost, `serve`
/// returns, and new connections are refused.
async fn graceful_on(tls: bool) {
    let s = demo(tls).await;
    let c = s.client().await;
    let mut tasks = Vec::new();
    for i in 0..10u32 {
        let mut c = c.clone();
        let url = s.url(&format!("/slow?ms={}", 200 + i * 10));
        tasks.push(tokio::spawn(async move {
            let (p, b, _) = fetch(&mut c, get(&url)).await;
            (p.status, b)
        }));
    }
    // Every request has reached its handler.
    let t0 = Instant::now();
    while s.stats.streams_total() < 10 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "requests did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let addr = s.addr;
    let t0 = Instant::now();
    s.shutdown().await;
    assert!(
        t0.elapsed() >= Duration::from_millis(100),
        "did not wait for streams"
    );
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, b) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(b, Bytes::from(format!("slept {} ms\n", 200 + i * 10)));
    }
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn graceful_shutdown_h2c() {
    graceful_on(false).await;
}

#[tokio::test]
async fn graceful_shutdown_tls() {
    graceful_on(true).await;
}

/// A response bigger than every window, to a client that reads slowly:
/// the server keeps its buffering bounded and delivers every byte.
#[tokio::test]
async fn slow_reader_gets_every_byte() {
    let s = demo(false).await;
    let mut c = s.client().await;
    c.ready().await.unwrap();
    let resp = c
        .send_request(get(&s.url("/big?size=3000000")))
        .await
        .unwrap();
    let mut body = resp.into_body();
    let mut n: u64 = 0;
    while let Some(f) = body.frame().await {
        let f = f.unwrap();
        if let Ok(d) = f.into_data() {
            assert!(
                d.iter()
                    .enumerate()
                    .all(|(i, &x)| x == big_byte(n + i as u64))
            );
            n += d.len() as u64;
            if n < 600_000 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    assert_eq!(n, 3_000_000);
    s.shutdown().await;
}

/// A handler that never reads its request body: the window is given back
/// so the connection does not stall for the next requests.
#[tokio::test]
async fn unread_request_bodies_do_not_stall_the_connection() {
    let router = Router::new().route("/ignore", ropewalk::router::text("ignored"));
    let s = spawn(router, false, Options::default()).await;
    let mut c = s.client().await;
    for _ in 0..6 {
        let req = Request::post(s.url("/ignore"))
            .body(body(pattern(300_000, 7)))
            .unwrap();
        c.ready().await.unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(5), c.send_request(req))
            .await
            .expect("stalled")
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    s.shutdown().await;
}

/// `Server::new` takes a plain `service_fn` closure.
#[tokio::test]
async fn service_fn_handler() {
    let svc = ropewalk::service_fn(|req: Request<ropewalk::Incoming>| async move {
        let n = req.into_body().collect().await?.to_bytes().len();
        Ok::<_, ropewalk::body::BodyError>(Response::new(full(format!("got {n}"))))
    });
    let s = spawn(svc, false, Options::default()).await;
    let mut c = s.client().await;
    let req = Request::post(s.url("/"))
        .body(body(vec![1u8; 70_000]))
        .unwrap();
    let (_, b, _) = fetch(&mut c, req).await;
    assert_eq!(&b[..], b"got 70000");
    s.shutdown().await;
}

/// A request body's size hint is its `content-length` (RFC 9110 §8.6),
/// the same value repeated included; a request without a body has none.
#[tokio::test]
async fn request_body_size_hint_is_its_content_length() {
    let svc = ropewalk::service_fn(|req: Request<ropewalk::Incoming>| async move {
        let hint = http_body::Body::size_hint(req.body()).exact();
        Ok::<_, std::convert::Infallible>(Response::new(full(format!("{hint:?}"))))
    });
    let s = spawn(svc, false, Options::default()).await;
    let mut c = s.client().await;
    for (length, want) in [("5", "Some(5)"), ("5, 5", "Some(5)")] {
        let mut req = Request::post(s.url("/")).body(body(vec![1u8; 5])).unwrap();
        req.headers_mut()
            .insert("content-length", HeaderValue::from_static(length));
        let (p, b, _) = fetch(&mut c, req).await;
        assert_eq!(p.status, 200);
        assert_eq!(&b[..], want.as_bytes(), "content-length: {length}");
    }
    let (_, b, _) = fetch(&mut c, get(&s.url("/"))).await;
    assert_eq!(&b[..], b"Some(0)");
    s.shutdown().await;
}

/// Handlers answering at once and handlers that wait, with and without
/// `Options::spawn_handlers`: every answer arrives, in any order, on one
/// connection, and a waiting handler does not hold up a quick one.
#[tokio::test]
async fn quick_and_waiting_handlers_with_and_without_spawn_handlers() {
    for spawn_handlers in [false, true] {
        let router = ropewalk::demo::router(None).unwrap();
        let opts = Options {
            spawn_handlers,
            ..Options::default()
        };
        let s = spawn(router, false, opts).await;
        let mut c = s.client().await;
        c.ready().await.unwrap();
        let slow = c.send_request(get(&s.url("/slow?ms=400")));
        let slow = tokio::spawn(slow);
        let t0 = Instant::now();
        for _ in 0..20 {
            let (p, b, _) = fetch(&mut c, get(&s.url("/hello"))).await;
            assert_eq!(p.status, 200);
            assert_eq!(&b[..], HELLO.as_bytes());
        }
        assert!(
            t0.elapsed() < Duration::from_millis(400),
            "quick answers waited"
        );
        let resp = slow.await.unwrap().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(s.stats.streams_total(), 21);
        drop(c);
        s.shutdown().await;
    }
}

/// A busy connection is not idle: requests answered at once (each within
/// one turn of the connection task, so that no stream is ever left open
/// when it looks) keep coming for three idle timeouts, and every one is
/// answered on the same connection, with no GOAWAY. (Found by the 10-minute
/// soak: after the 300 s default, busy connections got the idle GOAWAY and
/// lost their in-flight requests.)
#[tokio::test]
async fn a_busy_connection_is_not_shut_down_as_idle() {
    let opts = Options {
        idle_timeout: Some(Duration::from_millis(200)),
        ..Options::default()
    };
    let s = spawn(ropewalk::demo::router(None).unwrap(), false, opts).await;
    let mut c = s.client().await;
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(600) {
        let (p, b, _) = fetch(&mut c, get(&s.url("/hello"))).await;
        assert_eq!(p.status, 200);
        assert_eq!(&b[..], HELLO.as_bytes());
        n += 1;
    }
    assert!(n > 10, "{n}");
    assert_eq!(
        s.stats.goaways_sent(),
        0,
        "busy connection shut down as idle"
    );
    assert_eq!(s.stats.connections_total(), 1);
    // Once really idle, it is shut down.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.stats.goaways_sent(), 1);
    drop(c);
    s.shutdown().await;
}

fn _assert_types(_: BoxBody) {}

/// When the client cancels a request (RST_STREAM CANCEL), the handler task
/// is dropped rather than left running.
#[tokio::test]
async fn client_cancel_drops_the_handler() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let started = Arc::new(tokio::sync::Notify::new());
    let (d, st) = (dropped.clone(), started.clone());
    let router = Router::new().route(
        "/forever",
        BoxService::from_fn(move |_req| {
            let guard = SetOnDrop(d.clone());
            let st = st.clone();
            async move {
                st.notify_one();
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(guard);
                Response::new(full("late"))
            }
        }),
    );
    let s = spawn(router, false, Options::default()).await;
    let mut c = s.client().await;
    c.ready().await.unwrap();
    let fut = c.send_request(get(&s.url("/forever")));
    let pending = tokio::spawn(fut);
    started.notified().await;
    pending.abort();
    let t0 = Instant::now();
    while !dropped.load(Ordering::SeqCst) {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "handler still running"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.shutdown().await;
}

/// A handler that answers without reading a large upload: once the
/// response is complete the server sends RST_STREAM(NO_ERROR) so the
/// client stops sending (RFC 9113 §8.1); the client still gets the
/// response, and the connection goes on.
#[tokio::test]
async fn unread_upload_is_stopped_after_the_response() {
    let router = Router::new()
        .route("/ignore", ropewalk::router::text("ignored"))
        .route("/ok", ropewalk::router::text("fine"));
    let s = spawn(router, false, Options::default()).await;
    let mut c = s.client().await;
    let (tx, req_body) = channel(1);
    let sender = tokio::spawn(async move {
        let mut sent = 0usize;
        while sent < (64 << 20) {
            if tx.send_data(vec![1u8; 16 * 1024]).await.is_err() {
                break;
            }
            sent += 16 * 1024;
        }
        sent
    });
    let req = Request::post(s.url("/ignore"))
        .body(ropewalk::body::boxed(req_body))
        .unwrap();
    c.ready().await.unwrap();
    let resp = c.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let b = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&b[..], b"ignored");
    let sent = tokio::time::timeout(Duration::from_secs(5), sender)
        .await
        .expect("upload not stopped")
        .unwrap();
    assert!(sent < (64 << 20), "client sent the whole 64 MiB");
    assert!(s.stats.resets_sent() >= 1);
    let (p, _, _) = fetch(&mut c, get(&s.url("/ok"))).await;
    assert_eq!(p.status, 200);
    s.shutdown().await;
}
