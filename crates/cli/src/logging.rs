//! Log output: `tracing` lines on stderr, formatted on the thread that logs
//! and written by a background thread in batches, so that the access log's
//! line per request costs the server no `write` system call (nor a wake-up
//! of another thread) per request.
//!
//! Lines go into a shared buffer; the first line of a batch wakes the
//! writer thread, which waits [`BATCH_DELAY`] for more and writes them all
//! at once: a line shows at most that much later. (`tracing-appender`'s
//! non-blocking writer was tried first: its channel's receiver spins and
//! yields between messages, which with one line per request kept a core
//! busy under load.) If stderr stops accepting output, at most
//! [`MAX_PENDING`] octets wait; further lines are dropped and counted, and
//! the count is written once stderr moves again.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer gathers lines after the first of a batch.
const BATCH_DELAY: Duration = Duration::from_millis(10);
/// Octets of log lines that may wait for stderr.
const MAX_PENDING: usize = 4 << 20;
/// Buffer capacity kept between batches.
const KEEP_CAPACITY: usize = 64 << 10;

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    dropped: u64,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
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
            return;
        }
        let mut p = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if p.buf.len() + self.buf.len() > MAX_PENDING {
            p.dropped += 1;
            return;
        }
        let first = p.buf.is_empty();
        p.buf.extend_from_slice(&self.buf);
        drop(p);
        if first {
            self.shared.wake.notify_one();
        }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            shared: self.0.clone(),
            buf: Vec::with_capacity(256),
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
    let mut batch = Vec::new();
    loop {
        let mut p = shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while p.buf.is_empty() && p.dropped == 0 && !p.closing {
            p = shared.wake.wait(p).unwrap_or_else(PoisonError::into_inner);
        }
        if !p.closing {
            // Gather the lines of the next few milliseconds too.
            drop(p);
            std::thread::sleep(BATCH_DELAY);
            p = shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
        }
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
        // A burst (or a slow stderr) grows the buffers; give that memory
        // back rather than keep the largest batch ever seen.
        if batch.capacity() > KEEP_CAPACITY {
            batch = Vec::with_capacity(KEEP_CAPACITY);
        }
        if closing {
            return;
        }
    }
}

/// Installs the subscriber: `RUST_LOG` if set, else `default` (e.g.
/// `info` for `serve`, whose access log is at INFO). Keep the guard until
/// the process ends.
pub fn init(default: &str) -> Guard {
    let shared = Arc::new(Shared::default());
    let ansi = std::io::stderr().is_terminal();
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("ropewalk-log".into())
            .spawn(move || writer_thread(shared, std::io::stderr()))
            .ok()
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_ansi(ansi)
        .with_writer(Batched(shared.clone()))
        .init();
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
        let shared = Arc::new(Shared::default());
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
    fn a_stuck_stderr_holds_at_most_max_pending_then_counts_drops() {
        let shared = Arc::new(Shared::default());
        let big = "x".repeat(1 << 20);
        for _ in 0..10 {
            line(&shared, &big);
        }
        let p = shared.pending.lock().unwrap();
        assert!(p.buf.len() <= MAX_PENDING);
        assert_eq!(p.dropped, 6);
    }
}
