//! Test harness: a ropewalk server on a free port, and hyper 1.x HTTP/2
//! clients (h2c and TLS) as the independent peer.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ropewalk::body::{BoxBody, boxed};
use ropewalk::server::{Options, Server, Stats};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub type Client = SendRequest<BoxBody>;

pub struct TestServer {
    pub addr: SocketAddr,
    pub tls: bool,
    pub cert: Option<CertificateDer<'static>>,
    pub stats: Arc<Stats>,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "ropewalk-test-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub async fn spawn<S, B>(service: S, tls: bool, opts: Options) -> TestServer
where
    S: tower_service::Service<Request<ropewalk::Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<ropewalk::body::BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<ropewalk::body::BoxError>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cfg, cert) = if tls {
        let ck = ropewalk::tls::self_signed(&temp_dir("cert")).unwrap();
        (Some(ck.server_config().unwrap()), Some(ck.certs[0].clone()))
    } else {
        (None, None)
    };
    let server = Server::new(service).with_options(opts);
    let stats = server.stats();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        server
            .serve(listener, cfg, async move {
                let _ = rx.await;
            })
            .await
    });
    TestServer {
        addr,
        tls,
        cert,
        stats,
        stop: Some(tx),
        done,
    }
}

pub fn client_tls_config(
    cert: &CertificateDer<'static>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

impl TestServer {
    /// A new HTTP/2 connection from hyper's client.
    pub async fn client(&self) -> Client {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        if self.tls {
            let cfg = client_tls_config(self.cert.as_ref().unwrap(), &[b"h2"]);
            let tls = tokio_rustls::TlsConnector::from(cfg)
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            handshake(tls).await
        } else {
            handshake(tcp).await
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://localhost:{}{path}", self.addr.port())
    }

    /// Starts the graceful shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(std::time::Duration::from_secs(10), self.done)
            .await
            .expect("server did not stop")
            .unwrap()
            .unwrap();
    }
}

async fn handshake<IO>(io: IO) -> Client
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

pub fn body(b: impl Into<Bytes>) -> BoxBody {
    boxed(http_body_util::Full::new(b.into()))
}

pub fn get(url: &str) -> Request<BoxBody> {
    Request::get(url).body(body(Bytes::new())).unwrap()
}

/// Sends `req`, returns the response head and the whole body.
pub async fn fetch(
    client: &mut Client,
    req: Request<BoxBody>,
) -> (http::response::Parts, Bytes, Option<http::HeaderMap>) {
    client.ready().await.unwrap();
    let resp = client.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    (parts, collected.to_bytes(), trailers)
}

/// `len` octets of a pattern that depends on `seed`.
pub fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8 ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

/// Polls `f` every 20 ms until it holds or `limit` passes; whether it held.
pub async fn eventually(limit: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    f()
}
