//! ropewalk's HTTP/2 client as a load client for the benchmark harness: N
//! requests over ONE connection with at most M in flight, like
//! `h2load -n N -c 1 -m M` and `hyper-client` (same arguments, same output
//! line):
//!
//! ```text
//! ropewalk-client: requests=N ok=N failed=N bytes=N secs=F req_per_s=F
//! ```
//!
//! ```text
//! ropewalk-client [-n N] [-m M] [--workers W] [--pool] http://127.0.0.1:PORT/PATH
//! ```
//!
//! By default the requests go to one [`Client::connection`], as
//! hyper-client's go to one `SendRequest`: like for like. `--pool` sends
//! them through [`Client::request`] instead, which picks the connection
//! from the client's pool per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use http_body_util::BodyExt;
use ropewalk::client::Client;

fn usage() -> ! {
    eprintln!(
        "usage: ropewalk-client [-n N] [-m M] [--workers W] [--pool] http(s)://HOST:PORT/PATH"
    );
    std::process::exit(2)
}

fn main() {
    let (mut n, mut m, mut workers, mut url) =
        (100_000usize, 100usize, None::<usize>, None::<String>);
    let mut pool = false;
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
            "--pool" => pool = true,
            "-h" | "--help" => usage(),
            _ if url.is_none() && (a.starts_with("http://") || a.starts_with("https://")) => {
                url = Some(a)
            }
            _ => usage(),
        }
    }
    let url = url.unwrap_or_else(|| usage());
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(w) = workers {
        rt.worker_threads(w);
    }
    let rt = rt.build().expect("tokio runtime");
    let code = rt.block_on(run(url, n, m, pool));
    std::process::exit(code);
}

async fn run(url: String, n: usize, m: usize, pool: bool) -> i32 {
    let client = match Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ropewalk-client: {e}");
            return 1;
        }
    };
    // Open the connection first, as the other clients do before timing.
    let conn = if pool {
        if let Err(e) = client.get(&url).await {
            eprintln!("ropewalk-client: {url}: {e}");
            return 1;
        }
        None
    } else {
        match client.connection(&url).await {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("ropewalk-client: {url}: {e}");
                return 1;
            }
        }
    };
    // Parsed once, as hyper-client does; each request clones it.
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("ropewalk-client: {url}: {e}");
            return 1;
        }
    };
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(m);
    for _ in 0..m.min(n) {
        let (client, conn, uri) = (client.clone(), conn.clone(), uri.clone());
        let (next, ok, failed, bytes) = (next.clone(), ok.clone(), failed.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let req = http::Request::get(uri.clone())
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .expect("valid request");
                let resp = match &conn {
                    Some(conn) => conn.request(req).await,
                    None => client.request(req).await,
                };
                match resp {
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
        "ropewalk-client: requests={n} ok={ok} failed={failed} bytes={} secs={secs:.6} req_per_s={:.2} connections={}",
        bytes.load(Ordering::Relaxed),
        ok as f64 / secs,
        client.connections_opened()
    );
    if failed == 0 && client.connections_opened() == 1 {
        0
    } else {
        1
    }
}
