//! The client against real servers on loopback: ropewalk's own server and
//! a hyper 1.x server, h2c and TLS. Every byte of every body is checked.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use common::{eventually, pattern, spawn};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use ropewalk::client::{self, Client, Error, InformationalResponses, Pushes};
use ropewalk::server::Options;
use ropewalk::{Incoming, service_fn};

fn demo() -> ropewalk::compress::Compression<ropewalk::Router> {
    ropewalk::demo::site(None).unwrap()
}

fn h2c_client() -> Client {
    Client::builder().build().unwrap()
}

const SIZES: [usize; 8] = [0, 1, 13, 16_383, 16_385, 65_536, 1 << 20, 10 << 20];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_both_ways_every_byte_h2c_ropewalk() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = h2c_client();
    for (i, &n) in SIZES.iter().enumerate() {
        let sent = pattern(n, i as u8);
        let resp = client
            .post(&server.url("/echo"), sent.clone())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), http::Version::HTTP_2);
        let got = client::collect(resp).await.unwrap();
        assert_eq!(got.body.len(), n, "echo of {n} bytes");
        assert!(got.body == sent, "echo of {n} bytes differs");
        // And downloads of the same size, octet i being big_byte(i).
        let resp = client
            .get(&server.url(&format!("/big?size={n}")))
            .await
            .unwrap();
        let got = client::collect(resp).await.unwrap();
        assert_eq!(got.body.len(), n);
        assert!(
            got.body
                .iter()
                .enumerate()
                .all(|(i, &b)| b == ropewalk::demo::big_byte(i as u64)),
            "/big?size={n} content"
        );
    }
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.connections_total(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_request_body_with_trailers_is_echoed() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = h2c_client();
    let chunks: Vec<Bytes> = (0..20).map(|i| pattern(50_000 + i, i as u8)).collect();
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-checksum", "abc123".parse().unwrap());
    let mut frames: std::collections::VecDeque<_> =
        chunks.iter().cloned().map(http_body::Frame::data).collect();
    frames.push_back(http_body::Frame::trailers(trailers.clone()));
    let body = Frames(frames);
    let req = Request::post(server.url("/echo"))
        .header("content-type", "application/x-test")
        .body(body)
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/x-test");
    let got = client::collect(resp).await.unwrap();
    let want: Vec<u8> = chunks.concat();
    assert!(got.body == want);
    // RFC 9113 §8.1: trailers end the message; the echo sends ours back.
    assert_eq!(got.trailers.unwrap()["x-checksum"], "abc123");
    server.shutdown().await;
}

/// A body that yields the given frames, one per poll.
struct Frames(std::collections::VecDeque<http_body::Frame<Bytes>>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// `resp` is the demo's echo of `body`, posted to `/echo?i={i}`.
async fn assert_echoed(resp: Response<Incoming>, i: u32, body: &Bytes) {
    assert_eq!(
        resp.headers()["x-echo-path"],
        format!("/echo?i={i}").as_str()
    );
    let got = client::collect(resp).await.unwrap();
    assert!(got.body == *body, "request {i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_share_one_connection() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = h2c_client();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let client = client.clone();
        let url = server.url(&format!("/echo?i={i}"));
        tasks.push(tokio::spawn(async move {
            let body = pattern(1000 + i as usize, i as u8);
            let resp = client.post(&url, body.clone()).await.unwrap();
            assert_echoed(resp, i, &body).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // The server allows 100 concurrent streams: the other 100 waited for a
    // slot on the same connection.
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.connections_total(), 1);
    assert_eq!(server.stats.streams_total(), 200);
    server.shutdown().await;
}

/// A connection of one's own: requests go to it directly (relative URIs
/// take its origin), concurrently from its clones; the pool does not use it,
/// and it closes once its last clone is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_of_ones_own_takes_many_requests() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder().idle_timeout(None).build().unwrap();
    let conn = client.connection(&server.url("/ignored")).await.unwrap();
    assert_eq!(client.connections_opened(), 1);
    let mut tasks = Vec::new();
    for i in 0..150u32 {
        let conn = conn.clone();
        // Relative and absolute URIs alike.
        let uri = if i % 2 == 0 {
            format!("/echo?i={i}")
        } else {
            server.url(&format!("/echo?i={i}"))
        };
        tasks.push(tokio::spawn(async move {
            let body = pattern(100 + i as usize, i as u8);
            let req = Request::post(uri).body(Full::new(body.clone())).unwrap();
            let resp = conn.request(req).await.unwrap();
            assert_echoed(resp, i, &body).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(server.stats.streams_total(), 150);
    assert_eq!(server.stats.connections_total(), 1);
    // The pool opens its own.
    client::collect(client.get(&server.url("/hello")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(client.connections_opened(), 2);
    assert_eq!(server.stats.connections_total(), 2);
    // The last clone gone, the connection says goodbye and ends; the
    // pool's stays (no idle timeout).
    assert!(!conn.is_closed());
    drop(conn);
    assert!(
        eventually(Duration::from_secs(3), || server.stats.connections_active()
            <= 1)
        .await,
        "connection still open after its last clone was dropped"
    );
    assert_eq!(server.stats.goaways_received(), 1);
    assert!(client.connection("ftp://example.com/").await.is_err());
    server.shutdown().await;
}

/// After the server's GOAWAY a connection of one's own says it is closed,
/// and a request on it fails instead of going elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_of_ones_own_is_not_replaced() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = h2c_client();
    let conn = client.connection(&server.url("/")).await.unwrap();
    let req = || {
        Request::get("/hello")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    assert_eq!(conn.request(req()).await.unwrap().status(), 200);
    server.shutdown().await;
    assert!(
        eventually(Duration::from_secs(3), || conn.is_closed()).await,
        "GOAWAY not seen"
    );
    assert!(conn.request(req()).await.is_err());
    assert_eq!(client.connections_opened(), 1);
}

/// A client whose connection window is the smallest there is (65,535
/// octets, no growth).
fn small_window_client() -> Client {
    let mut h2 = ropewalk_proto::conn::Config::default()
        .with_initial_window_size(65_535)
        .with_connection_window_size(65_535);
    h2.adaptive_window = false;
    Client::builder().h2_config(h2).build().unwrap()
}

/// Bodies read give their octets back to the connection's window, whether
/// they came whole with their head (as these mostly do) or streamed, one
/// request at a time and many at once. Fifteen bodies of 4,369 octets fill
/// the 65,535-octet window exactly: without their octets back, the
/// sixteenth never comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_bodies_give_the_connection_window_back() {
    const BODY: usize = 65_535 / 15;
    let service = service_fn(|req: Request<Incoming>| async move {
        let i: u8 = req.uri().query().and_then(|q| q.parse().ok()).unwrap_or(0);
        Ok::<_, Infallible>(Response::new(Full::new(pattern(BODY, i))))
    });
    let server = spawn(service, false, Options::default()).await;
    let client = small_window_client();
    let fetch = |client: Client, url: String, i: usize| async move {
        let resp = client.get(&format!("{url}?{}", i as u8)).await.unwrap();
        let got = client::collect(resp).await.unwrap();
        assert!(got.body == pattern(BODY, i as u8), "request {i}");
    };
    let url = server.url("/");
    let one_by_one = async {
        for i in 0..200 {
            fetch(client.clone(), url.clone(), i).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), one_by_one)
        .await
        .expect("requests one at a time stalled");
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                fetch(client.clone(), url.clone(), t * 50 + i).await;
            }
        }));
    }
    let together = async {
        for t in tasks {
            t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(20), together)
        .await
        .expect("requests four at a time stalled");
    assert_eq!(client.connections_opened(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_string_reaches_the_server() {
    let server = spawn(demo(), false, Options::default()).await;
    let url = server.url("/echo?q=a%20b&x=1&empty=");
    let page = ropewalk::get(&url).await.unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["x-echo-path"], "/echo?q=a%20b&x=1&empty=");
    assert_eq!(page.headers["x-echo-method"], "GET");
    server.shutdown().await;
}

#[test]
fn blocking_get_works_without_a_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(demo(), false, Options::default()));
    let url = server.url("/hello?x=1");
    let page = std::thread::spawn(move || ropewalk::blocking::get(&url))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text(), ropewalk::demo::HELLO);
    // Inside a runtime it refuses rather than blocking a worker.
    let err = rt
        .block_on(async { ropewalk::blocking::get("http://127.0.0.1:1/") })
        .unwrap_err();
    assert!(err.to_string().contains("inside an async runtime"), "{err}");
    rt.block_on(server.shutdown());
}

/// The request's `StreamHandle` extension.
fn stream_of(req: &Request<Incoming>) -> ropewalk::server::StreamHandle {
    req.extensions()
        .get::<ropewalk::server::StreamHandle>()
        .cloned()
        .unwrap()
}

/// A 103 Early Hints head.
fn early_hints() -> Response<()> {
    Response::builder()
        .status(StatusCode::EARLY_HINTS)
        .header("link", "</style.css>; rel=preload")
        .body(())
        .unwrap()
}

/// The response was preceded by exactly the head `early_hints` makes.
fn assert_one_early_hint<B>(resp: &Response<B>) {
    let info = resp
        .extensions()
        .get::<InformationalResponses>()
        .expect("103 recorded");
    assert_eq!(info.0.len(), 1);
    assert_eq!(info.0[0].0, StatusCode::EARLY_HINTS);
    assert_eq!(info.0[0].1["link"], "</style.css>; rel=preload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informational_responses_are_observable() {
    let service = service_fn(|req: Request<Incoming>| async move {
        let info = stream_of(&req);
        info.send_informational(early_hints());
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The client has push off: refused without a round trip.
        let push = info.push(Request::get("/x").body(()).unwrap()).await;
        let push_off = matches!(push, Err(ropewalk::server::UserError::PushDisabled));
        let peer = info.peer_addr().map(|a| a.ip().to_string());
        let body = format!("done {} {peer:?} {push_off}", info.stream_id());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    let server = spawn(service, false, Options::default()).await;
    let resp = h2c_client().get(&server.url("/")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_one_early_hint(&resp);
    assert_eq!(
        client::collect(resp).await.unwrap().body,
        "done 1 Some(\"127.0.0.1\") true"
    );
    server.shutdown().await;
}

/// A 1xx sent by the service as it is called (not from its future) still
/// precedes the final response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informational_sent_while_called_precedes_the_answer() {
    let service = service_fn(|req: Request<Incoming>| {
        stream_of(&req).send_informational(early_hints());
        async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok")))) }
    });
    let server = spawn(service, false, Options::default()).await;
    let client = h2c_client();
    for _ in 0..3 {
        let resp = client.get(&server.url("/")).await.unwrap();
        assert_one_early_hint(&resp);
        assert_eq!(client::collect(resp).await.unwrap().body, "ok");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_responses_are_decoded() {
    let server = spawn(demo(), false, Options::default()).await;
    let plain = Client::builder().build().unwrap();
    let decoding = Client::builder().decompress(true).build().unwrap();
    let url = server.url("/");
    for coding in ["gzip", "br", "zstd"] {
        // What the server sends for this coding, undecoded.
        let req = Request::get(&url)
            .header("accept-encoding", coding)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let raw = plain.request(req).await.unwrap();
        assert_eq!(raw.headers()["content-encoding"], coding);
        let raw = client::collect(raw).await.unwrap();
        assert_ne!(&raw.body[..], ropewalk::demo::INDEX_HTML.as_bytes());
        // Decoded by the client.
        let req = Request::get(&url)
            .header("accept-encoding", coding)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let resp = decoding.request(req).await.unwrap();
        assert!(resp.headers().get("content-encoding").is_none());
        let got = client::collect(resp).await.unwrap();
        assert_eq!(
            &got.body[..],
            ropewalk::demo::INDEX_HTML.as_bytes(),
            "{coding}"
        );
    }
    // The convenience API asks for compression and decodes it.
    let page = ropewalk::get(&url).await.unwrap();
    assert_eq!(page.text(), ropewalk::demo::INDEX_HTML);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_compressed_body_is_an_error_not_a_panic() {
    let service = service_fn(|_req: Request<Incoming>| async move {
        Ok::<_, Infallible>(
            Response::builder()
                .header("content-encoding", "gzip")
                .body(Full::new(Bytes::from_static(
                    b"\x1f\x8b\x08\x00garbage, not deflate",
                )))
                .unwrap(),
        )
    });
    let server = spawn(service, false, Options::default()).await;
    let client = Client::builder().decompress(true).build().unwrap();
    let resp = client.get(&server.url("/")).await.unwrap();
    let err = client::collect(resp).await.unwrap_err();
    assert!(err.to_string().contains("gzip decoding failed"), "{err}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_from_ropewalk_push_page() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder().enable_push(true).build().unwrap();
    let resp = client.get(&server.url("/push")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let pushes = resp.extensions().get::<Pushes>().cloned().unwrap();
    let page = client::collect(resp).await.unwrap();
    assert!(!page.body.is_empty());
    let mut got = Vec::new();
    while let Some(p) = pushes.next().await {
        let uri = p.request().uri().clone();
        let pushed = client::collect(p.response().await.unwrap()).await.unwrap();
        got.push((uri.path().to_owned(), pushed.body));
    }
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "/push/app.js");
    assert_eq!(got[1].0, "/push/style.css");
    // The pushed bodies are what a plain GET returns.
    for (path, body) in &got {
        let direct = client::collect(client.get(&server.url(path)).await.unwrap())
            .await
            .unwrap();
        assert_eq!(&direct.body, body, "{path}");
    }
    assert_eq!(server.stats.pushes(), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_push_enabled_the_server_cannot_push() {
    let server = spawn(demo(), false, Options::default()).await;
    let resp = h2c_client().get(&server.url("/push")).await.unwrap();
    assert!(resp.extensions().get::<Pushes>().is_none());
    client::collect(resp).await.unwrap();
    // RFC 9113 §8.4: SETTINGS_ENABLE_PUSH = 0 forbids promises.
    assert_eq!(server.stats.pushes(), 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_is_reported() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder()
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.get(&server.url("/slow?ms=3000")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout("request")), "{err:?}");
    // The connection is still good for the next request.
    let ok = client.get(&server.url("/hello")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(client.connections_opened(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_a_connect_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let err = h2c_client()
        .get(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert!(err.is_connect());
    let err = h2c_client().get("ftp://example.com/").await.unwrap_err();
    assert!(matches!(err, Error::InvalidUrl(_)), "{err:?}");
}

// --- TLS ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_certificates_are_verified() {
    let server = spawn(demo(), true, Options::default()).await;
    let url = server.url("/hello");
    // Not trusted by default: a TLS error that says why.
    let err = Client::new().unwrap().get(&url).await.unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    // Trusted with the CA added.
    let client = Client::builder()
        .add_root_certificate(server.cert.clone().unwrap())
        .build()
        .unwrap();
    let page = client::collect(client.get(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(page.text(), ropewalk::demo::HELLO);
    // Or with verification explicitly off.
    let client = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let page = client::collect(client.get(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(page.text(), ropewalk::demo::HELLO);
    // The name must match even with the CA trusted: 127.0.0.2 is not in
    // the certificate.
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_bodies_and_concurrency() {
    let server = spawn(demo(), true, Options::default()).await;
    let client = Client::builder()
        .add_root_certificate(server.cert.clone().unwrap())
        .build()
        .unwrap();
    for (i, &n) in SIZES.iter().enumerate() {
        let sent = pattern(n, i as u8 ^ 0x5a);
        let resp = client
            .post(&server.url("/echo"), sent.clone())
            .await
            .unwrap();
        let got = client::collect(resp).await.unwrap();
        assert!(got.body == sent, "TLS echo of {n} bytes");
    }
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = client.clone();
        let url = server.url(&format!("/big?size={}", i * 100));
        tasks.push(tokio::spawn(async move {
            let got = client::collect(client.get(&url).await.unwrap())
                .await
                .unwrap();
            assert_eq!(got.body.len(), i * 100);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.connections_total(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_server_without_h2_is_a_clear_error() {
    // A TLS server that only offers http/1.1 by ALPN (rustls answers with
    // the no_application_protocol alert), and one that ignores ALPN.
    for alpn in [vec![b"http/1.1".to_vec()], vec![]] {
        tls_without_h2(alpn).await;
    }
}

async fn tls_without_h2(alpn: Vec<Vec<u8>>) {
    let dir = common::temp_dir("alpn");
    let ck = ropewalk::tls::self_signed(&dir).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(ck.certs.clone(), ck.key.clone_key())
        .unwrap();
    cfg.alpn_protocols = alpn;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut s) = acceptor.accept(tcp).await {
                    let _ = tokio::io::AsyncReadExt::read(&mut s, &mut [0u8; 1024]).await;
                }
            });
        }
    });
    let client = Client::builder()
        .add_root_certificate(ck.certs[0].clone())
        .build()
        .unwrap();
    let err = client
        .get(&format!("https://localhost:{port}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoHttp2(_)), "{err:?}");
    assert!(err.to_string().contains("does not speak HTTP/2"), "{err}");
}

// --- hyper 1.x as the server ---

async fn hyper_server() -> std::net::SocketAddr {
    hyper_server_on(None).await
}

/// hyper 1.x's HTTP/2 server: `/big?size=N` sends `pattern(N, 7)`, any
/// other path echoes the request body with the path in `x-path`; over TLS
/// (ALPN h2) when `tls` is given.
async fn hyper_server_on(tls: Option<tokio_rustls::TlsAcceptor>) -> std::net::SocketAddr {
    use hyper::service::service_fn as hyper_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                let svc = hyper_fn(|req: Request<hyper::body::Incoming>| async move {
                    let pq = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default();
                    if let Some(n) = pq.strip_prefix("/big?size=") {
                        let n: usize = n.parse().unwrap();
                        let body = Full::new(pattern(n, 7)).map_err(|e| match e {}).boxed();
                        return Ok::<_, Infallible>(Response::new(body));
                    }
                    let mut resp = Response::new(req.into_body().boxed());
                    resp.headers_mut().insert("x-path", pq.parse().unwrap());
                    Ok(resp.map(|b| b.map_err(|_| unreachable_never()).boxed()))
                });
                let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                b.max_concurrent_streams(250);
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            let _ = b.serve_connection(TokioIo::new(stream), svc).await;
                        }
                    }
                    None => {
                        let _ = b.serve_connection(TokioIo::new(tcp), svc).await;
                    }
                }
            });
        }
    });
    addr
}

fn unreachable_never() -> Infallible {
    panic!("hyper request body failed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_hyper_bodies_query_and_concurrency() {
    let addr = hyper_server().await;
    let client = h2c_client();
    let base = format!("http://127.0.0.1:{}", addr.port());
    for (i, &n) in SIZES.iter().enumerate() {
        let sent = pattern(n, i as u8 ^ 0x33);
        let resp = client
            .post(&format!("{base}/echo?n={n}"), sent.clone())
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-path"], format!("/echo?n={n}").as_str());
        let got = client::collect(resp).await.unwrap();
        assert!(got.body == sent, "hyper echo of {n} bytes");
        let got = client::collect(client.get(&format!("{base}/big?size={n}")).await.unwrap())
            .await
            .unwrap();
        assert!(got.body == pattern(n, 7), "hyper download of {n} bytes");
    }
    let mut tasks = Vec::new();
    for i in 0..200usize {
        let client = client.clone();
        let url = format!("{base}/e?i={i}");
        tasks.push(tokio::spawn(async move {
            let body = pattern(i * 10, i as u8);
            let got = client::collect(client.post(&url, body.clone()).await.unwrap())
                .await
                .unwrap();
            assert!(got.body == body);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.connections_opened(), 1);
}

/// A response body's size hint is its `content-length` (hyper sends one
/// for a whole body), as the core checked it; it counts down as the body
/// is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_body_knows_its_length() {
    use http_body::Body as _;
    let addr = hyper_server().await;
    let client = h2c_client();
    let url = format!("http://127.0.0.1:{}/big?size=100000", addr.port());
    let resp = client.get(&url).await.unwrap();
    assert_eq!(resp.headers()["content-length"], "100000");
    let mut body = resp.into_body();
    assert_eq!(body.size_hint().exact(), Some(100_000));
    let first = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx))
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert!(!first.is_empty());
    assert_eq!(body.size_hint().exact(), Some(100_000 - first.len() as u64));
}

// --- HTTP/1.1 Upgrade: h2c ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_upgrade_to_h2c() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder().http1_upgrade(true).build().unwrap();
    for (i, &n) in SIZES.iter().enumerate() {
        let sent = pattern(n, i as u8 ^ 0x77);
        let resp = client
            .post(&server.url("/echo?up=1"), sent.clone())
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-echo-path"], "/echo?up=1");
        let got = client::collect(resp).await.unwrap();
        assert!(got.body == sent, "echo of {n} bytes after the upgrade");
    }
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.connections_total(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_upgrade_declined_is_a_clear_error() {
    // An HTTP/1.1-only server: it answers the upgrade request with 200.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi")
                    .await;
            });
        }
    });
    let client = Client::builder().http1_upgrade(true).build().unwrap();
    let err = client
        .get(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoHttp2(_)), "{err:?}");
    assert!(err.to_string().contains("200 OK"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_is_presented_when_the_server_asks() {
    use std::sync::Arc;
    let server_ck = ropewalk::tls::self_signed(&common::temp_dir("mtls")).unwrap();
    let client_ck = rcgen::generate_simple_self_signed(vec!["client.test".to_owned()]).unwrap();
    let client_der = client_ck.cert.der().clone();
    let client_key =
        rustls::pki_types::PrivateKeyDer::Pkcs8(client_ck.key_pair.serialize_der().into());
    // The server requires a client certificate issued by (here: equal to)
    // the client's self-signed one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_der.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(server_ck.certs.clone(), server_ck.key.clone_key())
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = ropewalk::Server::new(demo());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, server) = (acceptor.clone(), server.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    server.serve_connection(tls, None, true).await;
                }
            });
        }
    });
    let url = format!("https://localhost:{port}/hello");
    let with = Client::builder()
        .add_root_certificate(server_ck.certs[0].clone())
        .client_certificate(vec![client_der], client_key)
        .build()
        .unwrap();
    let page = client::collect(with.get(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(page.text(), ropewalk::demo::HELLO);
    // Without one, the server refuses the connection.
    let without = Client::builder()
        .add_root_certificate(server_ck.certs[0].clone())
        .build()
        .unwrap();
    let res = match without.get(&url).await {
        Ok(resp) => client::collect(resp).await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(res.is_err(), "served without a client certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_client_closes_its_connections_with_goaway() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder().idle_timeout(None).build().unwrap();
    let resp = client.get(&server.url("/big?size=100000")).await.unwrap();
    drop(client);
    // A response body still being read keeps the connection.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.stats.connections_active(), 1);
    let got = client::collect(resp).await.unwrap();
    assert_eq!(got.body.len(), 100_000);
    // Then the client says goodbye (RFC 9113 §6.8) and the connection ends.
    assert!(
        eventually(Duration::from_secs(3), || server.stats.connections_active()
            == 0)
        .await,
        "connection still open after the client was dropped"
    );
    assert_eq!(server.stats.goaways_received(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder()
        .idle_timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    client::collect(client.get(&server.url("/hello")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(server.stats.connections_active(), 1);
    assert!(
        eventually(Duration::from_secs(5), || server.stats.connections_active()
            == 0)
        .await,
        "idle connection not closed"
    );
    assert_eq!(server.stats.goaways_received(), 1);
    // The next request opens a new connection.
    client::collect(client.get(&server.url("/hello")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(client.connections_opened(), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_hyper_over_tls() {
    let ck = ropewalk::tls::self_signed(&common::temp_dir("hyper-tls")).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(ck.server_config().unwrap());
    let addr = hyper_server_on(Some(acceptor)).await;
    let client = Client::builder()
        .add_root_certificate(ck.certs[0].clone())
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", addr.port());
    for (i, &n) in SIZES.iter().enumerate() {
        let sent = pattern(n, i as u8 ^ 0x44);
        let got = client::collect(
            client
                .post(&format!("{base}/e?n={n}"), sent.clone())
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        assert!(got.body == sent, "hyper TLS echo of {n} bytes");
        let got = client::collect(client.get(&format!("{base}/big?size={n}")).await.unwrap())
            .await
            .unwrap();
        assert!(got.body == pattern(n, 7), "hyper TLS download of {n} bytes");
    }
    let mut tasks = Vec::new();
    for i in 0..200usize {
        let client = client.clone();
        let url = format!("{base}/c?i={i}");
        tasks.push(tokio::spawn(async move {
            let resp = client.post(&url, pattern(i, 1)).await.unwrap();
            assert_eq!(resp.headers()["x-path"], format!("/c?i={i}").as_str());
            assert!(client::collect(resp).await.unwrap().body == pattern(i, 1));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.connections_opened(), 1);
}

/// A busy client connection is not closed as idle: requests answered
/// within one turn of its task keep coming for three idle timeouts, all on
/// one connection; once really idle, it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_client_connection_is_not_closed_as_idle() {
    let server = spawn(demo(), false, Options::default()).await;
    let client = Client::builder()
        .idle_timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    let t0 = std::time::Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(600) {
        let resp = client.get(&server.url("/hello")).await.unwrap();
        let got = client::collect(resp).await.unwrap();
        assert_eq!(&got.body[..], b"Hello, world!");
        n += 1;
    }
    assert!(n > 10, "{n}");
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(server.stats.connections_total(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.stats.goaways_received(),
        1,
        "idle client said goodbye"
    );
    server.shutdown().await;
}
