//! Log output: `tracing` lines on stderr, formatted on the thread that logs
//! and written by a background thread in batches, so that the access log's
//! line per request costs the server no `write` system call (nor a wake-up
//! of another thread) per request.
//!
//! Lines go into a shared buffer; the first line of a batch wakes the
//! writer thread, which waits up to [`BATCH_DELAY`] for more (less once
//! [`EARLY`] octets wait) and writes them all at once: a line shows at most
//! that much later. (`tracing-appender`'s non-blocking writer was tried
//! first: its channel's receiver spins and yields between messages, which
//! with one line per request kept a core busy under load.)
//!
//! Memory is fixed: two buffers of [`CAPACITY`] octets, swapped between the
//! loggers and the writer, never grown or shrunk. (Buffers that grew with
//! bursts and shrank after them left the allocator holding the largest
//! burst seen so far: the server's memory crept up under load each time the
//! writer thread was scheduled late.) With the access log on, they are
//! written over once at start, so that they are resident from the first
//! line and the server's memory does not grow as bursts reach further into
//! them. Without it, lines are few: the buffers' pages come into memory
//! only as lines reach them, and most never do (1 MiB less). If stderr does not
//! keep up and a buffer is full, further lines are dropped and counted,
//! and the count is written once stderr moves again.

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::filter::{LevelFilter, Targets};

use crate::access_format::ACCESS_TARGET;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How long the writer gathers lines after the first of a batch.
const BATCH_DELAY: Duration = Duration::from_millis(10);
/// Octets of log lines that may wait for stderr (about 30 ms of the access
/// log at 100,000 requests a second; the writer starts at a quarter).
const CAPACITY: usize = 512 << 10;
/// Octets waiting that make the writer write without waiting longer.
const EARLY: usize = CAPACITY / 4;

struct Pending {
    buf: Vec<u8>,
    dropped: u64,
    closing: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// The buffers' pages are made resident at start (see the module docs).
    prefault: bool,
}

impl Shared {
    fn new(prefault: bool) -> Shared {
        Shared {
            pending: Mutex::new(Pending {
                buf: buffer(CAPACITY, prefault),
                dropped: 0,
                closing: false,
            }),
            wake: Condvar::new(),
            prefault,
        }
    }
}

/// An empty buffer of `n` octets' capacity. With `prefault`, its pages are
/// in memory already (written once), so that using it later does not grow
/// the process.
fn buffer(n: usize, prefault: bool) -> Vec<u8> {
    if !prefault {
        return Vec::with_capacity(n);
    }
    let mut v = vec![0xa5_u8; n];
    v.clear();
    v
}

thread_local! {
    /// The buffer a line is formatted into, kept between lines.
    static LINE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The `MakeWriter` given to the subscriber.
#[derive(Clone)]
struct Batched(Arc<Shared>);

/// One log line being formatted.
struct Line {
    shared: Arc<Shared>,
    buf: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            // `try_with`: a line may be dropped while the thread ends.
            let _ = LINE.try_with(|l| l.set(buf));
            return;
        }
        let mut p = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = p.buf.len();
        if before + self.buf.len() > p.buf.capacity() {
            p.dropped += 1;
        } else {
            p.buf.extend_from_slice(&self.buf);
        }
        let after = p.buf.len();
        drop(p);
        if before == 0 || (before < EARLY && after >= EARLY) {
            self.shared.wake.notify_one();
        }
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() <= 64 << 10 {
            buf.clear();
            let _ = LINE.try_with(|l| l.set(buf));
        }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            shared: self.0.clone(),
            buf: LINE.try_with(Cell::take).unwrap_or_default(),
        }
    }
}

/// Keeps the writer thread; dropping it writes what is queued.
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closing = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer_thread(shared: Arc<Shared>, mut out: impl Write) {
    let mut batch = buffer(CAPACITY, shared.prefault);
    loop {
        let mut p = shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while p.buf.is_empty() && p.dropped == 0 && !p.closing {
            p = shared.wake.wait(p).unwrap_or_else(PoisonError::into_inner);
        }
        // Gather the lines of the next few milliseconds too, unless many
        // are waiting already.
        p = shared
            .wake
            .wait_timeout_while(p, BATCH_DELAY, |p| p.buf.len() < EARLY && !p.closing)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        std::mem::swap(&mut batch, &mut p.buf);
        let dropped = std::mem::take(&mut p.dropped);
        let closing = p.closing;
        drop(p);
        if dropped > 0 {
            batch.extend_from_slice(
                format!("ropewalk: {dropped} log lines dropped (stderr was not keeping up)\n")
                    .as_bytes(),
            );
        }
        let _ = out.write_all(&batch);
        let _ = out.flush();
        batch.clear();
        if closing {
            return;
        }
    }
}

/// The filter: `RUST_LOG` (`target=level` directives, comma-separated, as
/// `env_logger` has them) if set and valid, else `default`; then the access
/// log off if asked.
fn filter(env: Option<&str>, default: &str, no_access: bool) -> Targets {
    let parsed = env
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| match v.parse::<Targets>() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("ropewalk: RUST_LOG={v:?} ignored ({e}); logging at {default:?}");
                None
            }
        });
    let t = parsed.unwrap_or_else(|| {
        default
            .parse()
            .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
    });
    if no_access {
        t.with_target(ACCESS_TARGET, LevelFilter::OFF)
    } else {
        t
    }
}

/// Installs the subscriber: `RUST_LOG` if set, else `default` (e.g.
/// `info` for `serve`, whose access log is at INFO); `no_access` turns the
/// access log (target `ropewalk::access`) off whatever the filter says.
/// Keep the guard until the process ends.
pub fn init(default: &str, no_access: bool) -> Guard {
    let shared = Arc::new(Shared::new(!no_access));
    let ansi = std::io::stderr().is_terminal();
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("ropewalk-log".into())
            .spawn(move || writer_thread(shared, std::io::stderr()))
            .ok()
    };
    let filter = filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        default,
        no_access,
    );
    let fmt = tracing_subscriber::fmt::layer()
        .event_format(crate::access_format::Lines::new(ansi))
        .with_ansi(ansi)
        .with_writer(Batched(shared.clone()));
    tracing_subscriber::registry().with(filter).with(fmt).init();
    Guard { shared, thread }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read, and make refuse output.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn line(shared: &Arc<Shared>, text: &str) {
        let mut l = Batched(shared.clone()).make_writer();
        l.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn lines_arrive_in_order_soon_and_all_on_close() {
        let shared = Arc::new(Shared::new(true));
        let sink = Sink::default();
        let t = {
            let (shared, sink) = (shared.clone(), sink.clone());
            std::thread::spawn(move || writer_thread(shared, sink))
        };
        line(&shared, "a\n");
        line(&shared, "b\n");
        let t0 = std::time::Instant::now();
        while sink.0.lock().unwrap().len() < 4 {
            assert!(t0.elapsed() < Duration::from_secs(2), "lines not written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(&sink.0.lock().unwrap()[..], b"a\nb\n");
        for i in 0..1000 {
            line(&shared, &format!("{i}\n"));
        }
        let guard = Guard {
            shared: shared.clone(),
            thread: Some(t),
        };
        drop(guard);
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let expected: String = ["a\n", "b\n"]
            .into_iter()
            .map(String::from)
            .chain((0..1000).map(|i| format!("{i}\n")))
            .collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn a_stuck_stderr_holds_at_most_capacity_then_counts_drops() {
        // Buffers made resident at start or not, the bound is the same.
        for prefault in [true, false] {
            let shared = Arc::new(Shared::new(prefault));
            let big = "x".repeat(CAPACITY / 4);
            for _ in 0..10 {
                line(&shared, &big);
            }
            let p = shared.pending.lock().unwrap();
            assert_eq!(p.buf.len(), CAPACITY);
            assert_eq!(p.buf.capacity(), CAPACITY, "the buffer never grows");
            assert_eq!(p.dropped, 6);
        }
    }

    #[test]
    fn a_burst_is_written_whole_and_the_buffers_keep_their_size() {
        let shared = Arc::new(Shared::new(true));
        let sink = Sink::default();
        let t = {
            let (shared, sink) = (shared.clone(), sink.clone());
            std::thread::spawn(move || writer_thread(shared, sink))
        };
        // Three quarters of the capacity: nothing may be dropped.
        let big = "y".repeat(EARLY / 8);
        for _ in 0..24 {
            line(&shared, &big);
        }
        let guard = Guard {
            shared: shared.clone(),
            thread: Some(t),
        };
        drop(guard);
        assert_eq!(sink.0.lock().unwrap().len(), 24 * big.len());
        let p = shared.pending.lock().unwrap();
        assert_eq!(p.dropped, 0);
        assert_eq!(p.buf.capacity(), CAPACITY);
    }

    #[test]
    fn filter_reads_rust_log_and_can_silence_the_access_log() {
        use tracing::Level;
        let would = |t: &Targets, target: &str, level: Level| t.would_enable(target, &level);
        let f = filter(None, "info", false);
        assert!(would(&f, ACCESS_TARGET, Level::INFO));
        assert!(!would(&f, "ropewalk::server", Level::DEBUG));
        let f = filter(None, "info", true);
        assert!(!would(&f, ACCESS_TARGET, Level::INFO));
        assert!(would(&f, "ropewalk::server", Level::INFO));
        assert!(!would(&f, ACCESS_TARGET, Level::ERROR));
        let f = filter(Some("warn,ropewalk_proto=trace"), "info", false);
        assert!(!would(&f, ACCESS_TARGET, Level::INFO));
        assert!(would(&f, "ropewalk_proto::conn", Level::TRACE));
        // Not valid: the default applies.
        let f = filter(Some("ropewalk=loud"), "info", false);
        assert!(would(&f, ACCESS_TARGET, Level::INFO));
        assert!(!would(&f, "ropewalk", Level::DEBUG));
    }
}
