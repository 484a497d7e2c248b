//! Serving third-party services (axum), connection limits, idle timeout.

mod common;

use std::time::Duration;

use common::{fetch, get, spawn};
use ropewalk::server::Options;

/// An `axum::Router` is served as it is.
#[tokio::test]
async fn axum_router_is_served_as_is() {
    use axum::routing::{get as aget, post};
    let app = axum::Router::new()
        .route("/axum", aget(|| async { "from axum" }))
        .route(
            "/len",
            post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
        );
    let s = spawn(app, true, Options::default()).await;
    let mut c = s.client().await;
    let (p, b, _) = fetch(&mut c, get(&s.url("/axum"))).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.version, http::Version::HTTP_2);
    assert_eq!(&b[..], b"from axum");
    let req = http::Request::post(s.url("/len"))
        .body(common::body(vec![0u8; 100_000]))
        .unwrap();
    let (_, b, _) = fetch(&mut c, req).await;
    assert_eq!(&b[..], b"100000 bytes");
    let (p, _, _) = fetch(&mut c, get(&s.url("/missing"))).await;
    assert_eq!(p.status, 404);
    s.shutdown().await;
}

/// With `max_connections = 1`, a second connection is not served until the
/// first one closes.
#[tokio::test]
async fn connection_limit_holds_extra_connections() {
    let opts = Options {
        max_connections: 1,
        ..Options::default()
    };
    let s = spawn(ropewalk::demo::router(None).unwrap(), false, opts).await;
    let mut a = s.client().await;
    let (p, _, _) = fetch(&mut a, get(&s.url("/hello"))).await;
    assert_eq!(p.status, 200);

    let second = hello_on_a_new_connection(s.addr);
    held_until(second, &s.stats, move || drop(a)).await;
    s.shutdown().await;
}

/// An h2c client connection (hyper's) to `addr`.
async fn h2_client(addr: std::net::SocketAddr) -> common::Client {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (c, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    c
}

/// `/hello` fetched on a connection of its own to `addr`, in a task.
fn hello_on_a_new_connection(addr: std::net::SocketAddr) -> tokio::task::JoinHandle<bytes::Bytes> {
    tokio::spawn(async move {
        let mut c = h2_client(addr).await;
        let url = format!("http://localhost:{}/hello", addr.port());
        fetch(&mut c, get(&url)).await.1
    })
}

/// Asserts that `second` is held beyond the limit of one connection (the
/// server's count says one) until `release` closes the first, then served.
async fn held_until(
    second: tokio::task::JoinHandle<bytes::Bytes>,
    stats: &ropewalk::server::Stats,
    release: impl FnOnce(),
) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "second connection served beyond the limit"
    );
    assert_eq!(stats.connections_active(), 1);
    release();
    let body = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("second connection never served")
        .unwrap();
    assert_eq!(&body[..], b"Hello, world!");
}

/// The limit counts the connections of every listener (and of every
/// runtime) a server and its clones serve: a connection on a second
/// listener waits while the first listener's connection holds the one slot.
#[tokio::test]
async fn connection_limit_spans_listeners() {
    let server = ropewalk::server::Server::new(ropewalk::demo::router(None).unwrap()).with_options(
        Options {
            max_connections: 1,
            ..Options::default()
        },
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut addrs = Vec::new();
    let mut serving = Vec::new();
    for _ in 0..2 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(l.local_addr().unwrap());
        let (server, mut stopped) = (server.clone(), stopped.clone());
        serving.push(tokio::spawn(async move {
            server
                .serve(l, None, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        }));
    }
    let mut a = h2_client(addrs[0]).await;
    let (p, _, _) = fetch(
        &mut a,
        get(&format!("http://localhost:{}/hello", addrs[0].port())),
    )
    .await;
    assert_eq!(p.status, 200);
    let second = hello_on_a_new_connection(addrs[1]);
    held_until(second, &server.stats(), move || drop(a)).await;
    let _ = stop.send(true);
    for s in serving {
        s.await.unwrap().unwrap();
    }
}

/// An idle connection is closed (gracefully) after `idle_timeout`.
#[tokio::test]
async fn idle_connections_are_closed() {
    let opts = Options {
        idle_timeout: Some(Duration::from_millis(200)),
        ..Options::default()
    };
    let s = spawn(ropewalk::demo::router(None).unwrap(), false, opts).await;
    let mut c = s.client().await;
    let (p, _, _) = fetch(&mut c, get(&s.url("/hello"))).await;
    assert_eq!(p.status, 200);
    // Streams with request bodies and trailers are forgotten once done
    // (or the connection would never count as idle).
    let req = http::Request::post(s.url("/echo"))
        .body(common::body(vec![5u8; 100_000]))
        .unwrap();
    let (p, b, _) = fetch(&mut c, req).await;
    assert_eq!((p.status.as_u16(), b.len()), (200, 100_000));
    let req = http::Request::post(s.url("/hello"))
        .body(common::body(vec![5u8; 300_000]))
        .unwrap();
    let (p, _, _) = fetch(&mut c, req).await;
    assert_eq!(p.status, 200);
    // A request in progress keeps it open past the idle timeout.
    let (p, _, _) = fetch(&mut c, get(&s.url("/slow?ms=400"))).await;
    assert_eq!(p.status, 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(c.is_closed(), "idle connection still open");
    assert_eq!(s.stats.connections_active(), 0);
    s.shutdown().await;
}

/// `serve_connection` drives any byte stream: here an in-memory pipe.
#[tokio::test]
async fn serve_connection_over_an_in_memory_pipe() {
    let server = ropewalk::Server::new(ropewalk::demo::router(None).unwrap());
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(async move { server.serve_connection(server_io, None, false).await });
    let (mut c, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(client_io),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let (p, b, _) = fetch(&mut c, get("http://localhost/big?size=300000")).await;
    assert_eq!(p.status, 200);
    assert!(
        b.iter()
            .enumerate()
            .all(|(i, &x)| x == ropewalk::demo::big_byte(i as u64))
    );
    drop(c);
    let _ = conn.await;
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("connection task did not end")
        .unwrap();
}
