//! `ropewalk`: the command-line front of the ropewalk HTTP/2 stack.

use std::net::SocketAddr;
use std::num::NonZero;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ropewalk::server::{Options, Server};
use tokio::sync::watch;

mod access_format;
mod get;
mod logging;
mod shards;

#[derive(Parser, Debug)]
#[command(
    name = "ropewalk",
    version,
    about = "An HTTP/2 stack: server (and client) over a sans-I/O core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the demo site over HTTP/2 (TLS with ALPN h2, and cleartext h2c).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Fetch URLs over HTTP/2 (h2 over TLS, or h2c), curl-style.
    #[command(after_help = get::GET_EXAMPLES)]
    Get(get::GetArgs),
}

const SERVE_EXAMPLES: &str = "\
Examples:
  ropewalk serve
      HTTPS (h2) on https://127.0.0.1:8443/ with a self-signed certificate,
      cleartext h2c on http://127.0.0.1:8080/
  ropewalk serve --tls none --plain 0.0.0.0:8080 --root ./public
      only h2c, on every interface, static files under /files/
  ropewalk serve --cert cert.pem --key key.pem --tls [::]:443 --plain none

Try it:
  curl --http2-prior-knowledge http://127.0.0.1:8080/hello
  curl --http2 http://127.0.0.1:8080/hello          (HTTP/1.1 Upgrade)
  curl --cacert ~/.local/share/ropewalk/localhost-cert.pem https://localhost:8443/hello
  nghttp -nv http://127.0.0.1:8080/hello
";

/// An address, or `none` to turn the listener off.
#[derive(Clone, Debug)]
struct Listen(Option<SocketAddr>);

fn parse_listen(s: &str) -> Result<Listen, String> {
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("off") {
        return Ok(Listen(None));
    }
    s.parse()
        .map(|a| Listen(Some(a)))
        .map_err(|e| format!("`{s}`: {e} (expected IP:PORT or `none`)"))
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// TLS (h2 via ALPN) listen address, or `none`.
    #[arg(long, value_name = "ADDR|none", default_value = "127.0.0.1:8443", value_parser = parse_listen)]
    tls: Listen,
    /// Cleartext (h2c) listen address, or `none`.
    #[arg(long, value_name = "ADDR|none", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    plain: Listen,
    /// PEM certificate chain (default: a self-signed certificate for localhost, generated once).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key for --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Where the self-signed certificate is kept [default: $XDG_DATA_HOME/ropewalk or ~/.local/share/ropewalk].
    #[arg(long, value_name = "DIR")]
    cert_dir: Option<PathBuf>,
    /// Serve this directory under /files/.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Threads serving connections (default: one per core). Each runs its
    /// own event loop with its own socket on each address (SO_REUSEPORT:
    /// the kernel spreads new connections over them); a connection, its
    /// streams and its handlers stay on the thread that accepted it.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// One tokio multi-thread runtime whose worker threads steal tasks
    /// from each other, instead of one event loop per thread: better when
    /// handlers do long CPU work; slower for many short requests.
    #[arg(long)]
    work_stealing: bool,
    /// Maximum simultaneous connections.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_connections: usize,
    /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients.
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_streams: u32,
    /// Seconds a client has for the TLS handshake and its preface / request head.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    handshake_timeout: u64,
    /// Seconds an incomplete frame may take to arrive, against slowloris (0: no limit).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    frame_timeout: u64,
    /// Seconds before a connection without streams is closed (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    idle_timeout: u64,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    drain_timeout: u64,
    /// KiB of response data one connection may hold unwritten (slow readers).
    #[arg(long, value_name = "KIB", default_value_t = 1024)]
    max_buffered_per_connection: usize,
    /// MiB of response data all connections together may hold unwritten.
    #[arg(long, value_name = "MIB", default_value_t = 128)]
    max_buffered_total: usize,
    /// Seconds a header block (HEADERS + CONTINUATION frames) may take to complete.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    header_block_timeout: u64,
    /// No access-log line per request (warnings and errors are still logged).
    /// Same as adding `ropewalk::access=off` to `RUST_LOG`.
    #[arg(long)]
    no_access_log: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet_access = matches!(&cli.command, Command::Serve(a) if a.no_access_log);
    let _log = logging::init("info", quiet_access);
    match cli.command {
        Command::Get(args) => get::run(args),
        Command::Serve(args) => {
            // The main thread's runtime sets up and serves as the first of
            // the threads (or hosts the work-stealing workers).
            let mut rt = if args.work_stealing {
                let mut rt = tokio::runtime::Builder::new_multi_thread();
                if let Some(n) = args.workers {
                    rt.worker_threads(n.max(1));
                }
                rt
            } else {
                tokio::runtime::Builder::new_current_thread()
            };
            rt.enable_all();
            let rt = match rt.build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("ropewalk: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ropewalk: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.tls.0.is_none() && args.plain.0.is_none() {
        return Err("both --tls and --plain are `none`: nothing to serve".into());
    }
    let mut signals = Signals::new().map_err(|e| format!("signal handlers: {e}"))?;
    let router = ropewalk::demo::site(args.root.as_deref()).map_err(|e| format!("--root: {e}"))?;
    let drain = Duration::from_secs(args.drain_timeout);
    let mut opts = Options {
        max_connections: args.max_connections,
        handshake_timeout: Duration::from_secs(args.handshake_timeout.max(1)),
        frame_timeout: (args.frame_timeout > 0).then(|| Duration::from_secs(args.frame_timeout)),
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        drain_timeout: drain,
        max_buffered_per_connection: args.max_buffered_per_connection.max(1).saturating_mul(1024),
        max_buffered_total: args.max_buffered_total.max(1).saturating_mul(1 << 20),
        ..Options::default()
    };
    opts.h2.limits.header_block_timeout = Duration::from_secs(args.header_block_timeout.max(1));
    opts.h2.max_concurrent_streams = args.max_streams;
    opts.h2.shutdown_timeout = drain;
    let server = Server::new(router).with_options(opts);

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut listeners = Vec::new();
    let threads = if args.work_stealing {
        1
    } else {
        args.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZero::get))
            .max(1)
    };

    if let Some(addr) = args.tls.0 {
        let ck = match (&args.cert, &args.key) {
            (Some(c), Some(k)) => {
                ropewalk::tls::load_pem(c, k).map_err(|e| format!("--cert/--key: {e}"))?
            }
            _ => {
                let dir = args
                    .cert_dir
                    .clone()
                    .unwrap_or_else(ropewalk::tls::default_cert_dir);
                ropewalk::tls::self_signed(&dir)
                    .map_err(|e| format!("self-signed certificate in {}: {e}", dir.display()))?
            }
        };
        let cfg = ck.server_config()?;
        let listener = shards::bind(addr, threads).map_err(|e| format!("--tls {addr}: {e}"))?;
        let local = listener[0].local_addr()?;
        println!("serving https://{} (HTTP/2 over TLS, ALPN h2)", show(local));
        println!(
            "  certificate: {}{}",
            ck.cert_path.display(),
            if ck.generated { " (generated now)" } else { "" }
        );
        println!("  key:         {}", ck.key_path.display());
        println!("  SHA-256:     {}", ck.fingerprint());
        listeners.push((listener, Some(cfg)));
    }
    if let Some(addr) = args.plain.0 {
        let listener = shards::bind(addr, threads).map_err(|e| format!("--plain {addr}: {e}"))?;
        let local = listener[0].local_addr()?;
        println!(
            "serving http://{} (cleartext h2c: prior knowledge or HTTP/1.1 Upgrade)",
            show(local)
        );
        listeners.push((listener, None));
    }
    if let Some(root) = &args.root {
        println!("  static files from {} under /files/", root.display());
    }
    // Started before saying so: the threads' runtimes fail here, if at all.
    let tasks = if args.work_stealing {
        let mut tasks = Vec::new();
        for (socks, tls) in listeners {
            for l in socks {
                let l = tokio::net::TcpListener::from_std(l)?;
                let span = tracing::Span::none();
                tasks.push(spawn_listener(
                    server.clone(),
                    l,
                    tls.clone(),
                    stop_rx.clone(),
                    span,
                ));
            }
        }
        tasks
    } else {
        shards::start(&server, listeners, threads, &stop_rx)?
    };
    println!("press Ctrl-C to stop (twice to stop at once)");

    tokio::spawn(async move {
        signals.wait().await;
        eprintln!(
            "ropewalk: shutting down gracefully (in-flight requests finish; signal again to stop at once)"
        );
        let _ = stop_tx.send(true);
        signals.wait().await;
        eprintln!("ropewalk: stopping now");
        std::process::exit(130);
    });
    for t in tasks {
        t.await??;
    }
    eprintln!("ropewalk: stopped");
    Ok(())
}

fn show(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => format!("127.0.0.1:{}", v4.port()),
        a => a.to_string(),
    }
}

fn spawn_listener(
    server: Server,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls_config::ServerConfig>>,
    mut stop: watch::Receiver<bool>,
    span: tracing::Span,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let serve = async move {
        server
            .serve(listener, tls, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    };
    tokio::spawn(tracing::Instrument::instrument(serve, span))
}

/// `rustls::ServerConfig`, re-exported through the library.
mod rustls_config {
    pub use ropewalk::tls::ServerConfig;
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), registered when made: made before
/// the server says it is serving, so that a signal sent as soon as it does
/// is not lost to the default action (which would kill the process).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
