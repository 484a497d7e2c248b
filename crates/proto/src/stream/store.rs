//! Per-stream bookkeeping and the set of live and recently closed streams.

use std::collections::HashMap;
use std::time::Instant;

use super::State;
use crate::flow::{RecvWindow, SendWindow};
use crate::frame::StreamId;
use crate::headers::OutField;
use crate::priority::Priority;
use crate::stream::IdHashing;
pub(crate) use crate::stream::closed::{ClosedCause, ClosedStreams};
use crate::stream::send_queue::SendQueue;

/// How far the peer's side of the message has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecvPhase {
    /// No head yet (client before the response; reserved push streams).
    AwaitingHead,
    /// Only 1xx responses so far.
    Informational,
    /// Final head received; body and trailers may follow.
    Body,
}

/// One live stream.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) id: StreamId,
    pub(crate) state: State,
    pub(crate) send_window: SendWindow,
    pub(crate) recv_window: RecvWindow,
    /// Data the application queued and not yet framed.
    pub(crate) send_queue: SendQueue,
    pub(crate) send_buffered: usize,
    /// The application ended the stream (after the queue drains).
    pub(crate) send_end: bool,
    /// Trailers to send once the queue drains.
    /// Checked trailer fields, sent after the queued data.
    pub(crate) send_trailers: Option<Vec<OutField>>,
    /// (Client) HEADERS of a request waiting for a concurrency slot.
    pub(crate) pending_open: Option<(Vec<OutField>, bool)>,
    /// We sent a final response head (server) / request head (client).
    pub(crate) sent_head: bool,
    pub(crate) recv_phase: RecvPhase,
    /// Declared content-length of what we receive, and DATA received.
    pub(crate) content_length: Option<u64>,
    pub(crate) received: u64,
    /// The received message has no body whatever content-length says
    /// (response to HEAD, 204, 304).
    pub(crate) no_body: bool,
    /// (Client) the request was HEAD.
    pub(crate) head_request: bool,
    pub(crate) priority: Priority,
    /// Since when the stream has had data to send and no window.
    pub(crate) stalled_since: Option<Instant>,
    /// Listed in the connection's `window_dirty` (a WINDOW_UPDATE may be
    /// due); saves a linear search of that list per DATA frame.
    pub(crate) window_dirty: bool,
}

impl Stream {
    pub(crate) fn new(id: StreamId, send_initial: u32, recv_initial: u32) -> Stream {
        Stream {
            id,
            state: State::Idle,
            send_window: SendWindow::new(send_initial),
            recv_window: RecvWindow::new(recv_initial, recv_initial),
            send_queue: SendQueue::default(),
            send_buffered: 0,
            send_end: false,
            send_trailers: None,
            pending_open: None,
            sent_head: false,
            recv_phase: RecvPhase::AwaitingHead,
            content_length: None,
            received: 0,
            no_body: false,
            head_request: false,
            priority: Priority::default(),
            stalled_since: None,
            window_dirty: false,
        }
    }

    /// Something to put on the wire (data, trailers, or a bare END_STREAM).
    pub(crate) fn has_send_work(&self) -> bool {
        self.state.can_send_data()
            && (!self.send_queue.is_empty() || self.send_trailers.is_some() || self.send_end)
    }
}

/// Live streams plus a bounded memory of closed ones.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) live: HashMap<StreamId, Stream, IdHashing>,
    closed: ClosedStreams,
}

impl Store {
    pub(crate) fn get_mut(&mut self, id: StreamId) -> Option<&mut Stream> {
        self.live.get_mut(&id)
    }

    pub(crate) fn get(&self, id: StreamId) -> Option<&Stream> {
        self.live.get(&id)
    }

    pub(crate) fn insert(&mut self, stream: Stream) {
        self.live.insert(stream.id, stream);
    }

    /// Removes a live stream and remembers how it closed (at most
    /// `max_closed` are remembered).
    pub(crate) fn close(
        &mut self,
        id: StreamId,
        cause: ClosedCause,
        max_closed: usize,
    ) -> Option<Stream> {
        let s = self.live.remove(&id);
        self.remember(id, cause, max_closed);
        s
    }

    pub(crate) fn remember(&mut self, id: StreamId, cause: ClosedCause, max_closed: usize) {
        self.closed.remember(id, cause, max_closed);
    }

    pub(crate) fn closed_cause(&self, id: StreamId) -> Option<ClosedCause> {
        self.closed.get(id)
    }

    /// Streams in an active state (RFC 9113 §5.1.2) opened by the local
    /// (`local == true`) or remote endpoint.
    pub(crate) fn active(&self, local_is_client: bool, local: bool) -> usize {
        self.live
            .values()
            .filter(|s| {
                s.state.is_active() && (s.id.is_client_initiated() == local_is_client) == local
            })
            .count()
    }

    /// Whether at least `limit` streams are active (as [`active`]); O(1)
    /// unless there are that many live streams at all.
    ///
    /// [`active`]: Store::active
    pub(crate) fn active_at_least(&self, local_is_client: bool, local: bool, limit: u32) -> bool {
        // Active streams are live streams.
        self.live.len() >= limit as usize && self.active(local_is_client, local) >= limit as usize
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn closed_len(&self) -> usize {
        self.closed.len()
    }

    pub(crate) fn ids(&self) -> Vec<StreamId> {
        let mut v: Vec<_> = self.live.keys().copied().collect();
        v.sort();
        v
    }
}
