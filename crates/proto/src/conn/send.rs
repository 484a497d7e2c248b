//! Sending: queued frames, window updates and scheduled DATA → bytes.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::{Connection, Event, Out};
use crate::frame::{Data, Frame, Headers, PREFACE, PushPromise, StreamId, WindowUpdate};
use crate::headers;
use crate::stream::{State, Transition};

/// Octets `poll_transmit` writes into `dst` before returning, so that a
/// driver interleaves reads and writes.
const TRANSMIT_CHUNK: usize = 64 * 1024;

/// Capacity of the reused HPACK output buffer kept between header blocks.
const BLOCK_BUF_KEEP: usize = 16 * 1024;

impl Connection {
    /// Writes pending frames into `dst`.
    ///
    /// Control frames and frame headers are appended to `dst`. When a DATA
    /// frame is due, its 9-octet header is appended and its payload is
    /// returned as `Some(Bytes)`: the caller writes `dst` and then the
    /// payload (a vectored write), and calls again. `None` means nothing
    /// more is ready now (or about 64 KiB were written).
    pub fn poll_transmit(&mut self, now: Instant, dst: &mut BytesMut) -> Option<Bytes> {
        self.now = now;
        let start = dst.len();
        if self.preface_pending {
            // RFC 9113 §3.4: the client preface, then SETTINGS.
            self.preface_pending = false;
            dst.extend_from_slice(PREFACE);
        }
        loop {
            if dst.len() - start >= TRANSMIT_CHUNK {
                return None;
            }
            if let Some(o) = self.out.pop_front() {
                self.write_out(o, dst);
                continue;
            }
            if self.closing.is_some() {
                return None;
            }
            self.write_window_updates(dst);
            match self.write_next_data(now, dst) {
                Some(Some(payload)) => return Some(payload),
                Some(None) => {}
                None => {
                    if self.out.is_empty() {
                        return None;
                    }
                }
            }
        }
    }

    /// Like [`poll_transmit`](Self::poll_transmit) but copies DATA payloads
    /// into `dst` too, until nothing more is ready. Convenient for tests and
    /// simple drivers.
    pub fn poll_transmit_all(&mut self, now: Instant, dst: &mut BytesMut) {
        loop {
            let before = dst.len();
            match self.poll_transmit(now, dst) {
                Some(payload) => dst.extend_from_slice(&payload),
                None => {
                    if dst.len() == before {
                        return;
                    }
                }
            }
        }
    }

    fn write_out(&mut self, o: Out, dst: &mut BytesMut) {
        match o {
            Out::Frame(f) => {
                let ack = match &f {
                    Frame::Settings(s) => s.is_ack(),
                    Frame::Ping(p) => p.ack,
                    _ => false,
                };
                if ack {
                    self.pending_acks = self.pending_acks.saturating_sub(1);
                }
                f.encode(dst);
            }
            Out::Headers {
                id,
                fields,
                end_stream,
            } => {
                let mut block = std::mem::take(&mut self.block_buf);
                block.clear();
                match &fields {
                    headers::OutFields::List(list) => self.encode_fields(list, &mut block),
                    headers::OutFields::Response(head) => self.encode_response(head, &mut block),
                }
                let mut h = Headers::new(id, Bytes::new());
                h.set_end_stream(end_stream);
                // RFC 9113 §4.2, §6.10: split at the peer's max frame size.
                h.encode_split_block(&block, self.peer.max_frame_size, dst);
                // Kept for the next block, unless one huge block made it big.
                if block.capacity() <= BLOCK_BUF_KEEP {
                    self.block_buf = block;
                }
            }
            Out::PushPromise {
                id,
                promised,
                fields,
            } => {
                let block = self.encode_block(&fields);
                PushPromise::new(id, promised, block).encode_split(self.peer.max_frame_size, dst);
            }
        }
    }

    fn encode_block(&mut self, fields: &[headers::OutField]) -> Bytes {
        let mut block = Vec::new();
        self.encode_fields(fields, &mut block);
        Bytes::from(block)
    }

    /// HPACK-encodes a response head (RFC 7541) straight from its map,
    /// `:status` first, appending to `block`.
    fn encode_response(&mut self, head: &headers::ResponseHead, block: &mut Vec<u8>) {
        let status = ropewalk_hpack::Header::new(b":status", head.status.as_str().as_bytes());
        let fields = head.headers.iter().map(|(name, value)| {
            if value.is_sensitive() {
                ropewalk_hpack::Header::sensitive(name.as_str().as_bytes(), value.as_bytes())
            } else {
                ropewalk_hpack::Header::new(name.as_str().as_bytes(), value.as_bytes())
            }
        });
        self.encoder
            .encode(std::iter::once(status).chain(fields), block);
    }

    /// HPACK-encodes `fields` (RFC 7541), appending to `block`.
    fn encode_fields(&mut self, fields: &[headers::OutField], block: &mut Vec<u8>) {
        self.encoder.encode(
            fields.iter().map(|f| {
                if f.is_sensitive() {
                    ropewalk_hpack::Header::sensitive(f.name(), f.value())
                } else {
                    ropewalk_hpack::Header::new(f.name(), f.value())
                }
            }),
            block,
        );
    }

    /// Notes that stream `id` may owe the peer a WINDOW_UPDATE; sent in a
    /// batch by the next `poll_transmit`.
    pub(super) fn mark_window_dirty(&mut self, id: StreamId) {
        if let Some(s) = self.streams.get_mut(id)
            && !s.window_dirty
        {
            s.window_dirty = true;
            self.window_dirty.push(id);
        }
    }

    /// Batched WINDOW_UPDATEs for released capacity (RFC 9113 §6.9).
    fn write_window_updates(&mut self, dst: &mut BytesMut) {
        if let Some(inc) = self.recv_window.take_update() {
            WindowUpdate::new(StreamId::ZERO, inc).encode(dst);
        }
        for id in std::mem::take(&mut self.window_dirty) {
            if let Some(s) = self.streams.get_mut(id) {
                s.window_dirty = false;
                if s.state.can_recv_data() {
                    if let Some(inc) = s.recv_window.take_update() {
                        WindowUpdate::new(id, inc).encode(dst);
                    }
                }
            }
        }
    }

    /// Frames the next piece of DATA (or trailers, or a bare END_STREAM) of
    /// the stream the scheduler picks. DATA is limited by the peer's max
    /// frame size and both send windows; a stream without window is set
    /// aside, so it never blocks the others.
    fn write_next_data(&mut self, now: Instant, dst: &mut BytesMut) -> Option<Option<Bytes>> {
        loop {
            let id = self.scheduler.pop()?;
            let conn_avail = self.send_window.available();
            let max_frame = self.peer.max_frame_size as usize;
            let Some(s) = self.streams.get_mut(id) else {
                continue;
            };
            if !s.state.can_send_data() {
                continue;
            }
            if let Some(front) = s.send_queue.front_mut() {
                let stream_avail = s.send_window.available();
                let avail = stream_avail.min(conn_avail).min(max_frame);
                if avail == 0 {
                    if stream_avail == 0 {
                        // Re-scheduled by a WINDOW_UPDATE or SETTINGS.
                        s.stalled_since.get_or_insert(now);
                    } else {
                        if !self.conn_blocked.contains(&id) {
                            self.conn_blocked.push(id);
                        }
                        self.conn_stalled_since.get_or_insert(now);
                    }
                    continue;
                }
                s.stalled_since = None;
                let chunk = if front.len() <= avail {
                    s.send_queue.pop_front().unwrap_or_default()
                } else {
                    front.split_to(avail)
                };
                let n = chunk.len();
                s.send_window.consume(n);
                self.send_window.consume(n);
                s.send_buffered -= n.min(s.send_buffered);
                self.send_buffered -= n.min(self.send_buffered);
                let end = s.send_queue.is_empty() && s.send_end && s.send_trailers.is_none();
                let mut frame = Data::new(id, chunk);
                frame.set_end_stream(end);
                frame.encode_head(dst);
                if end {
                    s.send_end = false;
                    s.state = s
                        .state
                        .next(Transition::SendEndStream)
                        .unwrap_or(State::Closed);
                } else if s.has_send_work() {
                    let prio = s.priority;
                    self.scheduler.requeue(id, prio);
                }
                let drained =
                    s.send_queue.is_empty() && !end && !s.send_end && s.send_trailers.is_none();
                if drained {
                    self.events.push_back(Event::SendCapacity { stream: id });
                    self.capacity_waiters.retain(|&w| w != id);
                }
                self.wake_capacity_waiters();
                if end {
                    self.maybe_close(id);
                }
                return Some(Some(frame.data));
            }
            if let Some(fields) = s.send_trailers.take() {
                s.state = s
                    .state
                    .next(Transition::SendEndStream)
                    .unwrap_or(State::Closed);
                self.write_out(
                    Out::Headers {
                        id,
                        fields: headers::OutFields::List(fields),
                        end_stream: true,
                    },
                    dst,
                );
                self.maybe_close(id);
                return Some(None);
            }
            if s.send_end {
                s.send_end = false;
                s.state = s
                    .state
                    .next(Transition::SendEndStream)
                    .unwrap_or(State::Closed);
                let mut frame = Data::new(id, Bytes::new());
                frame.set_end_stream(true);
                frame.encode(dst);
                self.maybe_close(id);
                return Some(None);
            }
        }
    }

    /// Tells streams refused with `SendBufferFull` that the buffers have
    /// drained below half of their limits.
    fn wake_capacity_waiters(&mut self) {
        if self.capacity_waiters.is_empty()
            || self.send_buffered > self.config.limits.max_send_buffer / 2
        {
            return;
        }
        let per_stream = self.config.limits.max_send_buffer_per_stream / 2;
        let mut i = 0;
        while i < self.capacity_waiters.len() {
            let id = self.capacity_waiters[i];
            match self.streams.get(id) {
                Some(s) if s.send_buffered > per_stream => i += 1,
                Some(_) => {
                    self.capacity_waiters.swap_remove(i);
                    self.events.push_back(Event::SendCapacity { stream: id });
                }
                None => {
                    self.capacity_waiters.swap_remove(i);
                }
            }
        }
    }
}
