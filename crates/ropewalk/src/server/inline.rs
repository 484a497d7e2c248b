//! Commands from handlers polled on the connection's own task.
//!
//! The driver polls each new handler once on its own task (most answer at
//! once). What such a handler sends (its response head, body data, the end)
//! would go through the connection's command channel, with atomic
//! operations per command, only for the driver to take it back out a
//! moment later. Instead, while the driver polls connection `c`'s handler,
//! this thread's slot holds `c`'s command buffer, and a [`CmdSink`] of
//! connection `c` appends to it. The driver handles the buffer right after
//! the poll, in order. Anything else (a handler on its own task, another
//! connection's sink) uses the channel.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::driver::{Cmd, CmdTx, ToDriver};

thread_local! {
    /// The connection whose handler this thread is polling, and its buffer.
    static POLLING: RefCell<Option<(u64, Vec<Cmd>)>> = const { RefCell::new(None) };
}

/// A connection's identity for [`CmdSink`]s: unique in the process.
pub(crate) fn next_conn_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The connection a command was for is gone.
#[derive(Debug)]
pub(crate) struct Gone;

/// Where a connection's handlers send their commands. Every stream holds
/// one or two (its `StreamHandle`, its task), so a clone is one count on a
/// shared `Arc`, not the channel's two (its senders' count and its own).
#[derive(Clone, Debug)]
pub(crate) struct CmdSink(Arc<Sink>);

#[derive(Debug)]
struct Sink {
    conn: u64,
    tx: CmdTx,
}

impl CmdSink {
    pub(crate) fn new(conn: u64, tx: CmdTx) -> CmdSink {
        CmdSink(Arc::new(Sink { conn, tx }))
    }

    /// Sends `cmd` to the driver: into its buffer when the driver is
    /// polling this connection's handler on this thread, else through the
    /// channel. `Err` when the connection is gone.
    pub(crate) fn send(&self, cmd: Cmd) -> Result<(), Gone> {
        let mut cmd = Some(cmd);
        // `try_with`: a sink used while the thread is exiting takes the channel.
        let _ = POLLING.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut()
                && let Some((conn, buf)) = slot.as_mut()
                && *conn == self.0.conn
                && let Some(c) = cmd.take()
            {
                buf.push(c);
            }
        });
        match cmd {
            None => Ok(()),
            Some(cmd) => self
                .0
                .tx
                .send(ToDriver::Cmd(Box::new(cmd)))
                .map_err(|_| Gone),
        }
    }

    /// The connection this sink belongs to.
    pub(crate) fn conn(&self) -> u64 {
        self.0.conn
    }
}

/// Runs `poll` with `buf` as connection `conn`'s command buffer on this
/// thread (see the module docs); the commands sent meanwhile are appended
/// to `buf`. Restores the slot as it was, also if `poll` panics.
pub(crate) fn collect<R>(conn: u64, buf: &mut Vec<Cmd>, poll: impl FnOnce() -> R) -> R {
    struct Restore<'a> {
        buf: &'a mut Vec<Cmd>,
        prev: Option<(u64, Vec<Cmd>)>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let prev = self.prev.take();
            let _ = POLLING.try_with(|slot| {
                if let Some((_, b)) = slot.replace(prev) {
                    *self.buf = b;
                }
            });
        }
    }
    let taken = std::mem::take(buf);
    let prev = POLLING.with(|slot| slot.replace(Some((conn, taken))));
    let _restore = Restore { buf, prev };
    poll()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ropewalk_proto::frame::StreamId;
    use tokio::sync::mpsc;

    fn id(n: u32) -> StreamId {
        StreamId::new(n)
    }

    fn ids(cmds: &[Cmd]) -> Vec<u32> {
        cmds.iter()
            .map(|c| match c {
                Cmd::Done(id) => id.get(),
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn commands_sent_while_polling_land_in_the_buffer_in_order() {
        let (tx_a, mut rx_a) = mpsc::unbounded_channel();
        let (tx_b, mut rx_b) = mpsc::unbounded_channel();
        let (a, b) = (next_conn_id(), next_conn_id());
        let sink_a = CmdSink::new(a, tx_a);
        let sink_b = CmdSink::new(b, tx_b);
        let mut buf = Vec::new();
        collect(a, &mut buf, || {
            sink_a.send(Cmd::Done(id(1))).unwrap();
            // Another connection's sink: its channel.
            sink_b.send(Cmd::Done(id(3))).unwrap();
            sink_a.send(Cmd::Done(id(5))).unwrap();
        });
        assert_eq!(ids(&buf), [1, 5]);
        assert!(rx_a.try_recv().is_err());
        assert_eq!(ids(&[rx_b.try_recv().unwrap().into_cmd()]), [3]);
        // Outside `collect`: the channel.
        sink_a.send(Cmd::Done(id(7))).unwrap();
        assert_eq!(ids(&[rx_a.try_recv().unwrap().into_cmd()]), [7]);
        assert_eq!(buf.len(), 2);
    }

    #[test]
    fn the_slot_is_restored_after_a_panic_and_a_closed_channel_gives_back() {
        let (tx, rx) = mpsc::unbounded_channel();
        let c = next_conn_id();
        let sink = CmdSink::new(c, tx);
        let mut buf = Vec::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect(c, &mut buf, || {
                sink.send(Cmd::Done(id(1))).unwrap();
                panic!("handler panic (expected by the test)");
            })
        }));
        assert!(r.is_err());
        assert_eq!(ids(&buf), [1]);
        drop(rx);
        assert!(sink.send(Cmd::Done(id(3))).is_err());
    }
}
