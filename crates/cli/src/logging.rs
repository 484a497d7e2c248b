//! Log output: `tracing` lines on stderr, formatted on the thread that logs
//! and written by a background thread, so that the access log's one line
//! per request costs the server no `write` system call per request (lines
//! logged together leave in one write), yet appears at once when the
//! server is quiet.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

/// Installs the subscriber: `RUST_LOG` if set, else `default` (e.g.
/// `info` for `serve`, whose access log is at INFO). Keep the guard until
/// the process ends: dropping it writes what is still queued.
pub fn init(default: &str) -> WorkerGuard {
    let stderr = std::io::stderr();
    let ansi = stderr.is_terminal();
    // Lossless: under a flood of lines, loggers wait rather than drop.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .finish(BufWriter::with_capacity(64 * 1024, stderr));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_ansi(ansi)
        .with_writer(writer)
        .init();
    guard
}
