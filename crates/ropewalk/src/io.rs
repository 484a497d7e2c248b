//! The socket side shared by the server's and the client's connection
//! tasks: an output queue filled from the core's `poll_transmit` (frame
//! headers and control frames gathered in one buffer, DATA payloads queued
//! as they are, never copied) and drained with vectored writes.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use ropewalk_proto::conn::Connection;
use ropewalk_proto::frame::StreamId;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Octets of output gathered before writing.
const WRITE_HIGH: usize = 256 * 1024;
/// Buffers per vectored write.
const MAX_IOV: usize = 64;
/// Room for frame headers and control frames, taken again as it runs out:
/// the HEADERS and DATA framing of a dozen small answers. (Each connection
/// holds one; 4 KiB made idle connections a third larger.)
const FRAMING: usize = 1024;
/// First size of a connection's reads, and the largest.
const READ_MIN: usize = 8 * 1024;
const READ_MAX: usize = 256 * 1024;

/// Sizes a connection's read buffer: small at first (most connections
/// carry small frames, and many connections each holding a large buffer
/// cost memory), doubling up to [`READ_MAX`] while reads fill all the room
/// there was.
#[derive(Debug)]
pub(crate) struct ReadSize {
    chunk: usize,
}

impl ReadSize {
    pub(crate) fn new() -> ReadSize {
        ReadSize { chunk: READ_MIN }
    }

    /// Makes room in `buf` before a read; returns the room.
    pub(crate) fn prepare(&self, buf: &mut BytesMut) -> usize {
        if buf.capacity() - buf.len() < self.chunk / 4 {
            buf.reserve(self.chunk);
        }
        buf.capacity() - buf.len()
    }

    /// A read of `n` octets into `room` free octets.
    pub(crate) fn record(&mut self, n: usize, room: usize) {
        if n >= room && self.chunk < READ_MAX {
            self.chunk *= 2;
        }
    }
}

/// What one [`Output::pull`] took from the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pulled {
    /// The core had nothing to send.
    Nothing,
    /// Control frames (or DATA framing without a payload).
    Frames,
    /// A DATA frame of `len` payload octets on `stream`.
    Data { stream: StreamId, len: usize },
}

/// Bytes waiting to be written to the socket.
pub(crate) struct Output {
    queue: VecDeque<Bytes>,
    queued: usize,
    hdr: BytesMut,
}

impl Output {
    pub(crate) fn new() -> Output {
        Output {
            queue: VecDeque::new(),
            queued: 0,
            hdr: BytesMut::with_capacity(FRAMING),
        }
    }

    /// Nothing left to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Below the high-water mark: worth asking the core for more.
    pub(crate) fn has_room(&self) -> bool {
        self.queued < WRITE_HIGH
    }

    /// Queues octets written as they are (an HTTP/1.1 answer before the
    /// HTTP/2 frames of an upgraded connection).
    pub(crate) fn push(&mut self, bytes: Bytes) {
        self.queued += bytes.len();
        self.queue.push_back(bytes);
    }

    /// Drops everything queued (the socket is gone).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.queued = 0;
    }

    /// Takes one frame (or a batch of control frames) from the core.
    pub(crate) fn pull(&mut self, conn: &mut Connection, now: Instant) -> Pulled {
        self.pull_tap(conn, now, |_| {})
    }

    /// [`pull`](Self::pull), showing `tap` every buffer queued, in order
    /// (the client's frame log reads the octets it sends this way).
    pub(crate) fn pull_tap(
        &mut self,
        conn: &mut Connection,
        now: Instant,
        mut tap: impl FnMut(&[u8]),
    ) -> Pulled {
        let before = self.hdr.len();
        match conn.poll_transmit(now, &mut self.hdr) {
            Some(payload) => {
                // The DATA frame's 9-octet header ends `hdr`; its last four
                // octets are the stream id.
                let h = self.hdr.len();
                let stream = if h >= 9 {
                    let b = &self.hdr[h - 4..h];
                    StreamId::new(u32::from_be_bytes([b[0] & 0x7f, b[1], b[2], b[3]]))
                } else {
                    StreamId::new(0)
                };
                let len = payload.len();
                let head = self.hdr.split().freeze();
                self.queued += head.len() + len;
                tap(&head);
                self.queue.push_back(head);
                if len > 0 {
                    tap(&payload);
                    self.queue.push_back(payload);
                    Pulled::Data { stream, len }
                } else {
                    Pulled::Frames
                }
            }
            None => {
                let wrote = self.hdr.len() > before;
                if !self.hdr.is_empty() {
                    let head = self.hdr.split().freeze();
                    self.queued += head.len();
                    tap(&head);
                    self.queue.push_back(head);
                }
                if wrote {
                    Pulled::Frames
                } else {
                    Pulled::Nothing
                }
            }
        }
    }

    /// One vectored write of the front of the queue; returns the octets
    /// written (0 when the socket closed).
    pub(crate) async fn write_some<W: AsyncWrite + Unpin>(
        &self,
        wr: &mut W,
    ) -> std::io::Result<usize> {
        let iov: Vec<IoSlice<'_>> = self
            .queue
            .iter()
            .take(MAX_IOV)
            .map(|b| IoSlice::new(b))
            .collect();
        wr.write_vectored(&iov).await
    }

    /// Forgets `n` written octets.
    pub(crate) fn advance(&mut self, mut n: usize) {
        self.queued -= n.min(self.queued);
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                return;
            };
            if front.len() <= n {
                n -= front.len();
                self.queue.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
    }

    /// Writes what is left, each write allowed `per_write`, then shuts the
    /// write side down: the last frames (a GOAWAY) get their chance
    /// without a stuck peer holding the task.
    pub(crate) async fn finish<W: AsyncWrite + Unpin>(
        &mut self,
        wr: &mut W,
        per_write: std::time::Duration,
    ) {
        while !self.is_empty() {
            match tokio::time::timeout(per_write, self.write_some(wr)).await {
                Ok(Ok(n)) if n > 0 => self.advance(n),
                _ => break,
            }
        }
        let _ = tokio::time::timeout(per_write, wr.shutdown()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_size_starts_small_and_grows_only_while_reads_fill_the_room() {
        let mut r = ReadSize::new();
        let mut buf = BytesMut::new();
        let room = r.prepare(&mut buf);
        assert!((READ_MIN..2 * READ_MIN).contains(&room), "{room}");
        // A small read: no growth.
        r.record(100, room);
        assert_eq!(r.chunk, READ_MIN);
        // Full reads double it, up to READ_MAX.
        for _ in 0..10 {
            r.record(room, room);
        }
        assert_eq!(r.chunk, READ_MAX);
        let mut buf = BytesMut::new();
        assert!(r.prepare(&mut buf) >= READ_MAX);
    }
}
