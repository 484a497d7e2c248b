//! One event loop per thread ("shards"): every thread runs a single-threaded
//! tokio runtime with a listening socket of its own on each address, and
//! serves the connections it accepted, their streams and their handlers, to
//! the end. No task moves between threads, so no wake-up crosses threads
//! and no idle worker spins looking for tasks to steal.
//!
//! The sockets of one address form an `SO_REUSEPORT` group (Linux and the
//! BSDs): the kernel spreads new connections over them by a hash of their
//! addresses and ports, so a burst of connections (a client's pool opening,
//! a benchmark starting) is shared among the threads, not taken by whichever
//! woke first. A thread busy with long work still keeps the connections it
//! has; `--work-stealing` is the other choice. Elsewhere the threads accept
//! from one shared socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use ropewalk::server::Server;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::rustls_config::ServerConfig;

/// The sockets of one address, one per thread (or one, shared), and its TLS
/// configuration (`None`: cleartext h2c).
pub(crate) type Listener = (Vec<std::net::TcpListener>, Option<Arc<ServerConfig>>);

/// Whether this platform has `SO_REUSEPORT` with load balancing.
const REUSEPORT: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly"
));

/// Binds `addr` for `copies` threads: `copies` sockets on one port in an
/// `SO_REUSEPORT` group where the platform has one, else one socket. An
/// address already in use is refused as usual (`EADDRINUSE`), not joined.
/// Must run on a tokio runtime (the sockets are made there, then handed
/// over as `std` ones).
pub(crate) fn bind(addr: SocketAddr, copies: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let group = REUSEPORT && copies > 1;
    if group && addr.port() != 0 {
        // Another server listening on this port (with SO_REUSEPORT or
        // not) makes this bind fail, where joining its group would
        // silently share the port.
        drop(socket(addr, false)?);
    }
    let first = listen(addr, group)?;
    // Port 0: the others take the port the first one got.
    let addr = first.local_addr()?;
    let mut all = vec![first];
    if group {
        for _ in 1..copies {
            all.push(listen(addr, true)?);
        }
    }
    Ok(all)
}

fn listen(addr: SocketAddr, reuseport: bool) -> io::Result<std::net::TcpListener> {
    // tokio's own `TcpListener::bind` backlog.
    socket(addr, reuseport)?.listen(1024)?.into_std()
}

/// A socket bound to `addr` (`SO_REUSEADDR`, and `SO_REUSEPORT` if asked).
fn socket(addr: SocketAddr, reuseport: bool) -> io::Result<tokio::net::TcpSocket> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    if reuseport {
        socket.set_reuseport(true)?;
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    )))]
    let _ = reuseport;
    socket.bind(addr)?;
    Ok(socket)
}

/// Serves `listeners` on `threads` threads: this one (whose runtime must be
/// a current-thread one) and `threads - 1` new ones; thread `i` takes the
/// `i`-th socket of each address (a copy of the one socket where there is
/// no group). The handles finish when each thread's [`Server::serve`] calls
/// have returned (after `stop` turned `true` and the connections drained).
pub(crate) fn start(
    server: &Server,
    mut listeners: Vec<Listener>,
    threads: usize,
    stop: &watch::Receiver<bool>,
) -> io::Result<Vec<JoinHandle<io::Result<()>>>> {
    // Thread i's sockets, taken from the back.
    let mut take =
        |i: usize| -> io::Result<Vec<(std::net::TcpListener, Option<Arc<ServerConfig>>)>> {
            listeners
                .iter_mut()
                .map(|(socks, tls)| {
                    // The last thread served (0) takes the one socket left.
                    let sock = if socks.len() > 1 || i == 0 {
                        socks
                            .pop()
                            .ok_or_else(|| io::Error::other("no socket left"))?
                    } else {
                        socks[0].try_clone()?
                    };
                    Ok((sock, tls.clone()))
                })
                .collect()
        };
    let mut handles = Vec::with_capacity(threads);
    for i in (1..threads).rev() {
        // Made here, so that a failure is reported before serving starts.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (server, mine, stop) = (server.clone(), take(i)?, stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("ropewalk-{i}"))
            .spawn(move || rt.block_on(serve_all(server, mine, stop, i)))?;
        handles.push(tokio::task::spawn_blocking(move || {
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a serving thread panicked")))
        }));
    }
    // This thread serves too.
    let (server, mine, stop) = (server.clone(), take(0)?, stop.clone());
    handles.push(tokio::spawn(serve_all(server, mine, stop, 0)));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One socket per thread on one port; the kernel spreads connections
    /// over all of them; a port in use is refused, not joined.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_group_shares_one_port_and_its_connections() {
        let socks = bind("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        assert_eq!(socks.len(), 3);
        let port = socks[0].local_addr().unwrap().port();
        assert!(socks.iter().all(|s| s.local_addr().unwrap().port() == port));
        let err = bind(SocketAddr::from(([127, 0, 0, 1], port)), 3).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);

        // 60 connections: a socket left without one has odds of 3 x (2/3)^60.
        let _clients: Vec<_> = (0..60)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let mut counts = Vec::new();
        for s in &socks {
            let mut n = 0;
            while s.accept().is_ok() {
                n += 1;
            }
            counts.push(n);
        }
        assert_eq!(counts.iter().sum::<usize>(), 60, "{counts:?}");
        assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
    }

    /// One thread: one socket, no group (a second server on the port is
    /// refused as well).
    #[tokio::test]
    async fn one_thread_binds_one_plain_socket() {
        let socks = bind("127.0.0.1:0".parse().unwrap(), 1).unwrap();
        assert_eq!(socks.len(), 1);
        let addr = socks[0].local_addr().unwrap();
        assert_eq!(bind(addr, 1).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    }
}
