//! hyper 1.x HTTP/2-only server for ropewalk's benchmark harness.
//!
//! `/hello` answers `Hello, world!` (13 bytes, text/plain); `/big` answers
//! 1 MiB (or `?size=N` bytes), sent as one pre-built `Bytes`. Everything else
//! is 404. Cleartext listeners speak h2c with prior knowledge only; TLS
//! listeners offer ALPN `h2` only (rustls with the `ring` provider).
//!
//! ```text
//! hyper-server [--plain ADDR|none] [--tls ADDR|none] [--cert FILE --key FILE] [--workers N]
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const HELLO: &[u8] = b"Hello, world!";
const BIG: usize = 1 << 20;

struct Content {
    big: Bytes,
}

struct Opts {
    plain: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    cert: Option<String>,
    key: Option<String>,
    workers: Option<usize>,
}

fn usage() -> ! {
    eprintln!(
        "usage: hyper-server [--plain ADDR|none] [--tls ADDR|none] [--cert FILE --key FILE] [--workers N]\n\
         defaults: --plain 127.0.0.1:8080 --tls none; --tls needs --cert and --key"
    );
    std::process::exit(2)
}

fn parse_addr(v: &str) -> Option<SocketAddr> {
    if v.eq_ignore_ascii_case("none") {
        return None;
    }
    Some(v.parse().unwrap_or_else(|e| {
        eprintln!("hyper-server: bad address `{v}`: {e}");
        usage()
    }))
}

fn parse_args() -> Opts {
    let mut o = Opts {
        plain: Some("127.0.0.1:8080".parse().unwrap()),
        tls: None,
        cert: None,
        key: None,
        workers: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--plain" => o.plain = parse_addr(&val()),
            "--tls" => o.tls = parse_addr(&val()),
            "--cert" => o.cert = Some(val()),
            "--key" => o.key = Some(val()),
            "--workers" => o.workers = Some(val().parse().unwrap_or_else(|_| usage())),
            "-h" | "--help" => usage(),
            _ => {
                eprintln!("hyper-server: unknown argument `{a}`");
                usage()
            }
        }
    }
    if o.plain.is_none() && o.tls.is_none() {
        eprintln!("hyper-server: nothing to serve");
        usage()
    }
    if o.tls.is_some() && (o.cert.is_none() || o.key.is_none()) {
        eprintln!("hyper-server: --tls needs --cert and --key");
        usage()
    }
    o
}

fn query_size(q: Option<&str>) -> Option<usize> {
    q?.split('&')
        .find_map(|kv| kv.strip_prefix("size="))
        .and_then(|v| v.parse().ok())
}

fn handle(req: &Request<Incoming>, content: &Content) -> Response<Full<Bytes>> {
    let (status, ctype, body) = match req.uri().path() {
        "/hello" => (StatusCode::OK, "text/plain", Bytes::from_static(HELLO)),
        "/big" => {
            let body = match query_size(req.uri().query()) {
                Some(n) if n <= content.big.len() => content.big.slice(..n),
                Some(n) => Bytes::from(vec![b'x'; n.min(1 << 30)]),
                None => content.big.clone(),
            };
            (StatusCode::OK, "application/octet-stream", body)
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found\n"),
        ),
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Full::new(body))
        .expect("static response parts are valid")
}

fn h2_builder() -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    b.max_concurrent_streams(100);
    b
}

async fn serve_conn<I>(io: I, content: Arc<Content>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<Incoming>| {
        let r = handle(&req, &content);
        async move { Ok::<_, Infallible>(r) }
    });
    // Errors here are client resets / disconnects: nothing to report.
    let _ = h2_builder().serve_connection(TokioIo::new(io), svc).await;
}

fn tls_config(cert: &str, key: &str) -> Arc<rustls::ServerConfig> {
    let read = |p: &str| {
        std::fs::read(p).unwrap_or_else(|e| {
            eprintln!("hyper-server: cannot read {p}: {e}");
            std::process::exit(1)
        })
    };
    let certs: Vec<_> = rustls_pemfile::certs(&mut &read(cert)[..])
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            eprintln!("hyper-server: bad certificate {cert}: {e}");
            std::process::exit(1)
        });
    let key = rustls_pemfile::private_key(&mut &read(key)[..])
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            eprintln!("hyper-server: no private key in {key}");
            std::process::exit(1)
        });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap_or_else(|e| {
            eprintln!("hyper-server: certificate/key: {e}");
            std::process::exit(1)
        });
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(cfg)
}

async fn bind(addr: SocketAddr) -> TcpListener {
    TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("hyper-server: cannot listen on {addr}: {e}");
        std::process::exit(1)
    })
}

async fn run(o: Opts) {
    let content = Arc::new(Content {
        big: Bytes::from((0..BIG).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>()),
    });
    if let Some(addr) = o.plain {
        let l = bind(addr).await;
        eprintln!("hyper-server: h2c on {}", l.local_addr().unwrap());
        let content = content.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                tokio::spawn(serve_conn(s, content.clone()));
            }
        });
    }
    if let Some(addr) = o.tls {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls_config(
            o.cert.as_deref().unwrap(),
            o.key.as_deref().unwrap(),
        ));
        let l = bind(addr).await;
        eprintln!("hyper-server: h2 over TLS on {}", l.local_addr().unwrap());
        let content = content.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                let acceptor = acceptor.clone();
                let content = content.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(s).await {
                        serve_conn(tls, content).await;
                    }
                });
            }
        });
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn main() {
    let o = parse_args();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = o.workers {
        rt.worker_threads(n.max(1));
    }
    rt.build().expect("tokio runtime").block_on(run(o));
}
