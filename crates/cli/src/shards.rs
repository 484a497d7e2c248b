//! One event loop per thread ("shards"): every thread runs a single-threaded
//! tokio runtime that accepts from the same listening sockets and serves
//! the connections it accepted, their streams and their handlers, to the
//! end. No task moves between threads, so no wake-up crosses threads and no
//! idle worker spins looking for tasks to steal: on a machine whose cores
//! the clients share (a benchmark, a busy host) that is up to twice the
//! throughput for large responses (`bench/README.md`).
//!
//! Connections are spread by the kernel: a new connection wakes the
//! threads waiting in `accept`, and the first one free takes it. A thread
//! busy with long work is the slowest to take new connections, but what it
//! has taken waits for it; `--work-stealing` is the other choice.

use std::io;
use std::sync::Arc;

use ropewalk::server::Server;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::rustls_config::ServerConfig;

/// A listener and its TLS configuration (`None`: cleartext h2c).
pub(crate) type Listener = (tokio::net::TcpListener, Option<Arc<ServerConfig>>);

/// Serves `listeners` on `threads` threads: this one (whose runtime must be
/// a current-thread one) and `threads - 1` new ones. The handles finish
/// when each thread's [`Server::serve`] calls have returned (after `stop`
/// turned `true` and the connections drained).
pub(crate) fn start(
    server: &Server,
    listeners: Vec<Listener>,
    threads: usize,
    stop: &watch::Receiver<bool>,
) -> io::Result<Vec<JoinHandle<io::Result<()>>>> {
    let listeners = listeners
        .into_iter()
        .map(|(l, tls)| Ok((l.into_std()?, tls)))
        .collect::<io::Result<Vec<_>>>()?;
    let copies = |listeners: &[(std::net::TcpListener, Option<Arc<ServerConfig>>)]| {
        listeners
            .iter()
            .map(|(l, tls)| Ok((l.try_clone()?, tls.clone())))
            .collect::<io::Result<Vec<_>>>()
    };
    let mut handles = Vec::with_capacity(threads);
    for i in 1..threads {
        // Made here, so that a failure is reported before serving starts.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (server, listeners, stop) = (server.clone(), copies(&listeners)?, stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("ropewalk-{i}"))
            .spawn(move || rt.block_on(serve_all(server, listeners, stop, i)))?;
        handles.push(tokio::task::spawn_blocking(move || {
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a serving thread panicked")))
        }));
    }
    // This thread serves too.
    let (server, stop) = (server.clone(), stop.clone());
    handles.push(tokio::spawn(serve_all(server, listeners, stop, 0)));
    Ok(handles)
}

/// Serves every listener on the current runtime until `stop`. The log
/// lines of thread `n` (listening, draining) carry `thread{n=…}`.
async fn serve_all(
    server: Server,
    listeners: Vec<(std::net::TcpListener, Option<Arc<ServerConfig>>)>,
    stop: watch::Receiver<bool>,
    n: usize,
) -> io::Result<()> {
    let mut tasks = Vec::with_capacity(listeners.len());
    for (l, tls) in listeners {
        let l = tokio::net::TcpListener::from_std(l)?;
        let span = tracing::info_span!("thread", n);
        let task = crate::spawn_listener(server.clone(), l, tls, stop.clone(), span);
        tasks.push(task);
    }
    for t in tasks {
        t.await.map_err(io::Error::other)??;
    }
    Ok(())
}
