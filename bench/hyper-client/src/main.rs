//! hyper 1.x HTTP/2 (h2c prior knowledge) load client for ropewalk's benchmark
//! harness: N requests over ONE connection with at most M streams in flight,
//! like `h2load -n N -c 1 -m M`. Prints one machine-readable line:
//!
//! ```text
//! hyper-client: requests=N ok=N failed=N bytes=N secs=F req_per_s=F
//! ```
//!
//! ```text
//! hyper-client [-n N] [-m M] [--workers W] http://127.0.0.1:PORT/PATH
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};

fn usage() -> ! {
    eprintln!("usage: hyper-client [-n N] [-m M] [--workers W] http://HOST:PORT/PATH");
    std::process::exit(2)
}

fn main() {
    let (mut n, mut m, mut workers, mut url) =
        (100_000usize, 100usize, None::<usize>, None::<String>);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = || {
            it.next()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "-n" => n = num(),
            "-m" => m = num().max(1),
            "--workers" => workers = Some(num().max(1)),
            "-h" | "--help" => usage(),
            _ if url.is_none() && a.starts_with("http://") => url = Some(a),
            _ => usage(),
        }
    }
    let uri: Uri = url
        .unwrap_or_else(|| usage())
        .parse()
        .unwrap_or_else(|_| usage());
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(w) = workers {
        rt.worker_threads(w);
    }
    let rt = rt.build().expect("tokio runtime");
    let code = rt.block_on(run(uri, n, m));
    std::process::exit(code);
}

async fn run(uri: Uri, n: usize, m: usize) -> i32 {
    let host = uri.host().unwrap_or("127.0.0.1").to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = match tokio::net::TcpStream::connect((host.as_str(), port)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hyper-client: connect {host}:{port}: {e}");
            return 1;
        }
    };
    let _ = stream.set_nodelay(true);
    let (sender, conn) = match hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .max_concurrent_reset_streams(0)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
    {
        Ok(x) => x,
        Err(e) => {
            eprintln!("hyper-client: handshake: {e}");
            return 1;
        }
    };
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("hyper-client: connection: {e}");
        }
    });

    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(m);
    for _ in 0..m.min(n) {
        let (mut sender, uri) = (sender.clone(), uri.clone());
        let (next, ok, failed, bytes) = (next.clone(), ok.clone(), failed.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                if sender.ready().await.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let req = Request::get(uri.clone())
                    .body(Empty::new())
                    .expect("valid request");
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let good = resp.status().is_success();
                        match resp.into_body().collect().await {
                            Ok(b) if good => {
                                bytes.fetch_add(b.to_bytes().len() as u64, Ordering::Relaxed);
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "hyper-client: requests={n} ok={ok} failed={failed} bytes={} secs={secs:.6} req_per_s={:.2}",
        bytes.load(Ordering::Relaxed),
        ok as f64 / secs
    );
    if failed == 0 { 0 } else { 1 }
}
