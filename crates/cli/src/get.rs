//! `ropewalk get`: fetch URLs over HTTP/2, curl-style.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Empty, Full, combinators::UnsyncBoxBody};
use ropewalk::Incoming;
use ropewalk::client::{Client, Error, FrameLog, InformationalResponses, Pushes};
use tokio::io::AsyncWriteExt;

/// Exit status: success.
const EXIT_OK: u8 = 0;
/// Exit status: a local failure (writing output, reading `-d @FILE`).
const EXIT_LOCAL: u8 = 1;
/// Exit status: usage error (bad flag, URL or header).
const EXIT_USAGE: u8 = 2;
/// Exit status: could not connect, TLS failure, or no HTTP/2.
const EXIT_CONNECT: u8 = 3;
/// Exit status: HTTP/2 protocol error, stream reset, or connection lost.
const EXIT_PROTOCOL: u8 = 4;
/// Exit status: `--timeout` expired.
const EXIT_TIMEOUT: u8 = 5;
/// Exit status: HTTP status >= 400 with `--fail` (as curl).
const EXIT_HTTP: u8 = 22;

pub(crate) const GET_EXAMPLES: &str = "\
Examples:
  ropewalk get http://127.0.0.1:8080/hello
      h2c with prior knowledge; the body goes to stdout
  ropewalk get -i https://localhost:8443/hello --cacert ~/.local/share/ropewalk/localhost-cert.pem
      status and headers, then the body; the server's CA trusted from a file
  ropewalk get -O http://127.0.0.1:8080/push/style.css http://127.0.0.1:8080/push/app.js
      both fetched at once over one connection, saved as style.css and app.js
  ropewalk get -o big.bin 'http://127.0.0.1:8080/big?size=100000000'
      to a file, with a progress bar when stderr is a terminal
  ropewalk get -d 'hello' -H 'content-type: text/plain' http://127.0.0.1:8080/echo
  ropewalk get -d @body.json -X PUT http://127.0.0.1:8080/echo
  ropewalk get -v --push -O http://127.0.0.1:8080/push
      every frame on stderr (like nghttp -v); pushed resources saved too

Exit status:
  0  success            1  local I/O error (output file, -d @FILE)
  2  usage error        3  connection, TLS or HTTP/2 negotiation failure
  4  protocol error, stream reset or connection lost mid-response
  5  --timeout expired  22 HTTP status >= 400 with --fail
";

#[derive(Args, Debug)]
pub(crate) struct GetArgs {
    /// URLs to fetch (http:// is h2c with prior knowledge, https:// is h2 over TLS).
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,
    /// Show the response status and headers before the body.
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Show the frames sent and received on stderr.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Request method [default: GET, or POST with -d].
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// Request body; `@FILE` reads it from a file (sent byte for byte).
    #[arg(short = 'd', long = "data", value_name = "DATA|@FILE")]
    data: Option<String>,
    /// Do not verify the server's certificate (insecure; for tests).
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Trust the CA certificates of this PEM file.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Use the HTTP/1.1 Upgrade: h2c handshake for http:// URLs.
    #[arg(long)]
    upgrade: bool,
    /// Accept server pushes (saved like the other files with -O).
    #[arg(long)]
    push: bool,
    /// Give up after this many seconds: connecting, and waiting for each response's head (not the whole body).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Exit with status 22 if a response status is 400 or more.
    #[arg(short = 'f', long)]
    fail: bool,
    /// Write the body to FILE (one URL only).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "remote_name"
    )]
    output: Option<PathBuf>,
    /// Write each body to a file named like the URL's last path segment.
    #[arg(short = 'O', long = "remote-name")]
    remote_name: bool,
    /// Do not ask for or decode compressed responses.
    #[arg(long)]
    raw: bool,
}

struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(m: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: m.into(),
        }
    }

    fn local(m: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_LOCAL,
            message: m.into(),
        }
    }

    fn client(e: &Error) -> Failure {
        let code = match e {
            Error::InvalidUrl(_) | Error::Request(_) => EXIT_USAGE,
            Error::Timeout("connect") => EXIT_CONNECT,
            Error::Timeout(_) => EXIT_TIMEOUT,
            e if e.is_connect() => EXIT_CONNECT,
            _ => EXIT_PROTOCOL,
        };
        let mut message = e.to_string();
        if matches!(e, Error::Tls(_)) && message.contains("certificate") {
            message.push_str(
                "\n  (trust the server's CA with --cacert FILE, or skip verification with -k)",
            );
        }
        Failure { code, message }
    }
}

/// Runs `ropewalk get`.
pub(crate) fn run(args: GetArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ropewalk: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_LOCAL);
        }
    };
    let code = rt.block_on(get(args));
    ExitCode::from(code)
}

/// Where one body goes.
enum Dest {
    Stdout,
    File(PathBuf),
}

async fn get(args: GetArgs) -> u8 {
    match prepare(&args) {
        Ok((client, method, headers, body)) => {
            fetch_all(&args, client, method, headers, body).await
        }
        Err(f) => {
            eprintln!("ropewalk: {}", f.message);
            f.code
        }
    }
}

type Prepared = (Client, Method, http::HeaderMap, Option<Bytes>);

fn prepare(args: &GetArgs) -> Result<Prepared, Failure> {
    if args.output.is_some() && args.urls.len() > 1 {
        return Err(Failure::usage("-o FILE takes one URL; use -O for several"));
    }
    if args.remote_name {
        let mut seen = std::collections::HashSet::new();
        for u in &args.urls {
            let name = remote_name(u);
            if !seen.insert(name.clone()) {
                return Err(Failure::usage(format!(
                    "-O: several URLs would be saved as {name}; use separate runs or -o"
                )));
            }
        }
    }
    if args.upgrade {
        if let Some(u) = args.urls.iter().find(|u| !u.starts_with("http://")) {
            return Err(Failure::usage(format!(
                "--upgrade is for http:// URLs (h2c); {u} is not one"
            )));
        }
    }
    let body = match args.data.as_deref() {
        Some(d) => Some(match d.strip_prefix('@') {
            Some(path) => Bytes::from(
                std::fs::read(path).map_err(|e| Failure::local(format!("-d @{path}: {e}")))?,
            ),
            None => Bytes::copy_from_slice(d.as_bytes()),
        }),
        None => None,
    };
    let method = match &args.method {
        Some(m) => Method::from_bytes(m.as_bytes())
            .map_err(|_| Failure::usage(format!("-X {m}: not a valid method")))?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut headers = http::HeaderMap::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("-H {h:?}: expected `Name: value`")))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Failure::usage(format!("-H {h:?}: invalid header name")))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| Failure::usage(format!("-H {h:?}: invalid header value")))?;
        headers.append(name, value);
    }
    if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    let mut b = Client::builder()
        .decompress(!args.raw)
        .enable_push(args.push)
        .danger_accept_invalid_certs(args.insecure)
        .http1_upgrade(args.upgrade);
    if let Some(ca) = &args.cacert {
        b = b.add_root_certificate_pem(ca);
    }
    if let Some(t) = args.timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(Failure::usage(format!("--timeout {t}: must be positive")));
        }
        let t = Duration::from_secs_f64(t);
        b = b.connect_timeout(t).request_timeout(t);
    }
    if args.verbose {
        let start = Instant::now();
        b = b.frame_log(FrameLog::new(move |f| {
            let t = start.elapsed().as_secs_f64();
            eprintln!("[{t:9.3}] {f}");
        }));
    }
    let client = b.build().map_err(|e| match e {
        Error::Tls(m) => Failure::usage(format!("--cacert: {m}")),
        e => Failure::client(&e),
    })?;
    Ok((client, method, headers, body))
}

/// Bytes written to files, for the progress bar.
#[derive(Default)]
struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

async fn fetch_all(
    args: &GetArgs,
    client: Client,
    method: Method,
    headers: http::HeaderMap,
    body: Option<Bytes>,
) -> u8 {
    // Every request starts at once: same-origin ones share one connection.
    let mut pending = Vec::new();
    for url in &args.urls {
        if args.verbose {
            eprintln!("; request {method} {url}");
            if let Ok(u) = url.parse::<http::Uri>() {
                eprintln!("> :method: {method}");
                eprintln!("> :scheme: {}", u.scheme_str().unwrap_or(""));
                eprintln!(
                    "> :authority: {}",
                    u.authority().map(|a| a.as_str()).unwrap_or("")
                );
                eprintln!(
                    "> :path: {}",
                    u.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                );
            }
            for (n, v) in &headers {
                eprintln!("> {n}: {}", String::from_utf8_lossy(v.as_bytes()));
            }
        }
        let client = client.clone();
        let mut req = Request::builder().method(method.clone()).uri(url.as_str());
        if let Some(h) = req.headers_mut() {
            *h = headers.clone();
        }
        let body = body.clone();
        let url = url.clone();
        pending.push(tokio::spawn(async move {
            let req: Request<UnsyncBoxBody<Bytes, std::convert::Infallible>> = req
                .body(match body {
                    Some(b) => Full::new(b).boxed_unsync(),
                    None => Empty::new().boxed_unsync(),
                })
                .map_err(|e| Error::InvalidUrl(format!("{url}: {e}")))?;
            client.request(req).await
        }));
    }
    let progress = Arc::new(Progress::default());
    let show_progress = std::io::stderr().is_terminal() && !args.verbose;
    let ticker = (show_progress && (args.output.is_some() || args.remote_name))
        .then(|| tokio::spawn(progress_bar(progress.clone())));
    let mut status = EXIT_OK;
    let mut saves = Vec::new();
    let mut first_stdout = true;
    let mut spools: Vec<tokio::task::JoinHandle<Result<Spool, Failure>>> = Vec::new();
    for (url, task) in args.urls.iter().zip(pending) {
        let resp = match task.await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                let f = Failure::client(&e);
                eprintln!("ropewalk: {url}: {}", f.message);
                status = worst(status, f.code);
                continue;
            }
            Err(e) => {
                eprintln!("ropewalk: {url}: {e}");
                status = worst(status, EXIT_LOCAL);
                continue;
            }
        };
        if args.verbose {
            show_response(url, &resp);
        }
        if args.fail && resp.status().as_u16() >= 400 {
            eprintln!("ropewalk: {url}: the server answered {}", resp.status());
            status = worst(status, EXIT_HTTP);
            continue;
        }
        let pushes = resp.extensions().get::<Pushes>().cloned();
        let dest = if let Some(o) = &args.output {
            Dest::File(o.clone())
        } else if args.remote_name {
            Dest::File(PathBuf::from(remote_name(url)))
        } else {
            Dest::Stdout
        };
        let head = args.include.then(|| format_head(&resp));
        match dest {
            Dest::File(path) => {
                saves.push(tokio::spawn(save(
                    resp,
                    head,
                    path,
                    progress.clone(),
                    url.clone(),
                )));
            }
            Dest::Stdout if first_stdout => {
                first_stdout = false;
                // The first body streams straight out; the others are read
                // meanwhile (so that their flow-control windows do not stall
                // the connection) and written in order afterwards.
                let url = url.clone();
                spools.push(tokio::spawn(async move {
                    let mut out = Sink::stdout();
                    if let Some(h) = head {
                        out.write(Bytes::from(h)).await?;
                    }
                    let res = copy_body(resp, &mut out, None, &url).await;
                    let done = out.finish().await;
                    res.and(done).map(|()| Spool::Done)
                }));
            }
            Dest::Stdout => {
                let url = url.clone();
                spools.push(tokio::spawn(spool(resp, head, url)));
            }
        }
        if let Some(p) = pushes {
            let remote = args.remote_name;
            let verbose = args.verbose;
            let progress = progress.clone();
            saves.push(tokio::spawn(async move {
                while let Some(pushed) = p.next().await {
                    let uri = pushed.request().uri().to_string();
                    let resp = pushed.response().await.map_err(|e| Failure::client(&e))?;
                    if verbose {
                        show_response(&format!("{uri} (pushed)"), &resp);
                    }
                    if remote {
                        save(
                            resp,
                            None,
                            PathBuf::from(remote_name(&uri)),
                            progress.clone(),
                            uri,
                        )
                        .await?;
                    } else {
                        eprintln!(
                            "ropewalk: pushed {uri} ({}) not saved (use -O)",
                            resp.status()
                        );
                    }
                }
                Ok(())
            }));
        }
    }
    for s in spools {
        match s.await {
            Ok(Ok(spool)) => {
                if let Err(f) = spool.write_out().await {
                    eprintln!("ropewalk: {}", f.message);
                    status = worst(status, f.code);
                }
            }
            Ok(Err(f)) => {
                eprintln!("ropewalk: {}", f.message);
                status = worst(status, f.code);
            }
            Err(e) => {
                eprintln!("ropewalk: {e}");
                status = worst(status, EXIT_LOCAL);
            }
        }
    }
    for s in saves {
        match s.await {
            Ok(Ok(())) => {}
            Ok(Err(f)) => {
                eprintln!("ropewalk: {}", f.message);
                status = worst(status, f.code);
            }
            Err(e) => {
                eprintln!("ropewalk: {e}");
                status = worst(status, EXIT_LOCAL);
            }
        }
    }
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r\x1b[2K");
    }
    status
}

/// The first failure decides the exit status.
fn worst(current: u8, new: u8) -> u8 {
    if current == EXIT_OK { new } else { current }
}

fn write_err(e: std::io::Error) -> Failure {
    Failure::local(format!("writing the output: {e}"))
}

fn show_response(url: &str, resp: &Response<Incoming>) {
    if let Some(info) = resp.extensions().get::<InformationalResponses>() {
        for (status, headers) in &info.0 {
            eprintln!("; informational response for {url}");
            eprintln!("< :status: {}", status.as_u16());
            for (n, v) in headers {
                eprintln!("< {n}: {}", String::from_utf8_lossy(v.as_bytes()));
            }
        }
    }
    eprintln!("; response for {url}");
    eprintln!("< :status: {}", resp.status().as_u16());
    for (n, v) in resp.headers() {
        eprintln!("< {n}: {}", String::from_utf8_lossy(v.as_bytes()));
    }
}

fn format_head(resp: &Response<Incoming>) -> String {
    let mut s = format!("HTTP/2 {}\r\n", resp.status().as_u16());
    for (n, v) in resp.headers() {
        s.push_str(n.as_str());
        s.push_str(": ");
        s.push_str(&String::from_utf8_lossy(v.as_bytes()));
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s
}

/// The file name `-O` uses: the URL path's last segment, or `index.html`.
/// Never a path: a segment like `..` or one with a separator is replaced.
fn remote_name(url: &str) -> String {
    let path = url
        .parse::<http::Uri>()
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or("");
    let last = percent_decode(last);
    if last.is_empty() || last == "." || last == ".." || last.contains(['/', '\\', '\0']) {
        "index.html".to_owned()
    } else {
        last
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes bodies on a thread of its own with std I/O, the body's `Bytes`
/// handed over as they are (no copy, no blocking of the runtime).
struct Sink {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Sink {
    fn new(w: Box<dyn Write + Send>) -> Sink {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(64);
        let thread = std::thread::spawn(move || {
            let mut w = std::io::BufWriter::with_capacity(256 * 1024, w);
            while let Some(b) = rx.blocking_recv() {
                w.write_all(&b)?;
            }
            w.flush()
        });
        Sink {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn stdout() -> Sink {
        Sink::new(Box::new(std::io::stdout()))
    }

    async fn write(&mut self, b: Bytes) -> Result<(), Failure> {
        let sent = match &self.tx {
            Some(tx) => tx.send(b).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The writer stopped: its error says why.
            self.tx = None;
            self.join().await?;
            Err(write_err(std::io::Error::other("output closed")))
        }
    }

    async fn join(&mut self) -> Result<(), Failure> {
        self.tx = None;
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        match tokio::task::spawn_blocking(move || t.join()).await {
            Ok(Ok(res)) => res.map_err(write_err),
            _ => Err(Failure::local("the output thread failed")),
        }
    }

    async fn finish(mut self) -> Result<(), Failure> {
        self.join().await
    }
}

async fn copy_body(
    resp: Response<Incoming>,
    out: &mut Sink,
    progress: Option<&Progress>,
    url: &str,
) -> Result<(), Failure> {
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure {
            code: EXIT_PROTOCOL,
            message: format!("{url}: {e}"),
        })?;
        if let Ok(data) = frame.into_data() {
            let n = data.len() as u64;
            out.write(data).await?;
            if let Some(p) = progress {
                p.done.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

async fn save(
    resp: Response<Incoming>,
    head: Option<String>,
    path: PathBuf,
    progress: Arc<Progress>,
    url: String,
) -> Result<(), Failure> {
    if let Some(n) = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        progress.total.fetch_add(n, Ordering::Relaxed);
    }
    let file = std::fs::File::create(&path)
        .map_err(|e| Failure::local(format!("{}: {e}", path.display())))?;
    let mut out = Sink::new(Box::new(file));
    if let Some(h) = head {
        out.write(Bytes::from(h)).await?;
    }
    let res = copy_body(resp, &mut out, Some(&progress), &url).await;
    let done = out.finish().await;
    res.and(done)
}

/// A body read ahead of its turn on stdout: in memory up to
/// [`SPOOL_MEMORY`], then in a temporary file.
enum Spool {
    Done,
    Memory(Vec<u8>),
    File(PathBuf),
}

const SPOOL_MEMORY: usize = 4 << 20;

async fn spool(
    resp: Response<Incoming>,
    head: Option<String>,
    url: String,
) -> Result<Spool, Failure> {
    let mut mem = head.map(String::into_bytes).unwrap_or_default();
    let mut body = resp.into_body();
    let mut file: Option<(PathBuf, tokio::fs::File)> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure {
            code: EXIT_PROTOCOL,
            message: format!("{url}: {e}"),
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match &mut file {
            Some((_, f)) => f.write_all(&data).await.map_err(write_err)?,
            None => {
                mem.extend_from_slice(&data);
                if mem.len() > SPOOL_MEMORY {
                    let path = spool_path();
                    let mut f = tokio::fs::File::create(&path)
                        .await
                        .map_err(|e| Failure::local(format!("{}: {e}", path.display())))?;
                    f.write_all(&mem).await.map_err(write_err)?;
                    mem = Vec::new();
                    file = Some((path, f));
                }
            }
        }
    }
    Ok(match file {
        Some((path, mut f)) => {
            f.flush().await.map_err(write_err)?;
            Spool::File(path)
        }
        None => Spool::Memory(mem),
    })
}

fn spool_path() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "ropewalk-get-{}-{}.part",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl Spool {
    async fn write_out(self) -> Result<(), Failure> {
        let res = tokio::task::spawn_blocking(move || {
            let mut out = std::io::stdout().lock();
            match self {
                Spool::Done => {}
                Spool::Memory(m) => out.write_all(&m)?,
                Spool::File(path) => {
                    let res = std::fs::File::open(&path)
                        .and_then(|mut f| std::io::copy(&mut f, &mut out).map(|_| ()));
                    let _ = std::fs::remove_file(&path);
                    res?;
                }
            }
            out.flush()
        })
        .await;
        match res {
            Ok(r) => r.map_err(write_err),
            Err(_) => Err(Failure::local("the output task failed")),
        }
    }
}

/// A one-line progress bar on stderr: bytes, rate, ETA.
async fn progress_bar(p: Arc<Progress>) {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let done = p.done.load(Ordering::Relaxed);
        let total = p.total.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let mut line = format!("\r\x1b[2K{} {}/s", human(done as f64), human(rate));
        if total > 0 && total >= done {
            let pct = done as f64 * 100.0 / total as f64;
            let width = 30usize;
            let filled = ((pct / 100.0) * width as f64) as usize;
            let eta = if rate > 0.0 {
                (total - done) as f64 / rate
            } else {
                0.0
            };
            line = format!(
                "\r\x1b[2K[{}{}] {pct:5.1}% {} of {} {}/s ETA {:.0}s",
                "#".repeat(filled.min(width)),
                " ".repeat(width - filled.min(width)),
                human(done as f64),
                human(total as f64),
                human(rate),
                eta
            );
        }
        let mut err = std::io::stderr();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }
}

fn human(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_are_file_names_never_paths() {
        assert_eq!(remote_name("http://h/a/b/style.css"), "style.css");
        assert_eq!(remote_name("http://h/a/b/x.js?v=1"), "x.js");
        assert_eq!(remote_name("http://h/"), "index.html");
        assert_eq!(remote_name("http://h"), "index.html");
        assert_eq!(remote_name("http://h/a/.."), "index.html");
        assert_eq!(remote_name("http://h/a/%2E%2E"), "index.html");
        assert_eq!(remote_name("http://h/a/..%2Fetc%2Fpasswd"), "index.html");
        assert_eq!(remote_name("http://h/a%20b.txt"), "a b.txt");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(13.0), "13 B");
        assert_eq!(human(1536.0), "1.5 KiB");
        assert_eq!(human(10.0 * 1024.0 * 1024.0), "10.0 MiB");
    }
}
