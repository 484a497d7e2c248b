//! The bounded memory of how recently closed streams ended, for the late
//! frames RFC 9113 §5.1 tells apart ("closed" state).

use std::time::Instant;

use crate::frame::StreamId;

/// Why a forgotten stream closed (RFC 9113 §5.1 "closed" handling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClosedCause {
    /// Both sides sent END_STREAM.
    EndStream,
    /// We sent RST_STREAM at this time (frames are ignored for a grace
    /// period).
    LocalReset(Instant),
    /// The peer sent RST_STREAM.
    RemoteReset,
}

/// Slots a connection starts with once its first stream closes.
const FIRST_SLOTS: usize = 8;

/// Closed streams, direct-mapped by id: client stream `id` lives in slot
/// `(id / 2) % slots` (server streams half a table further on), so a
/// client's consecutive streams (1, 3, 5, …) take consecutive slots and a
/// newly closed stream evicts the one `slots` streams before it. At most `max` streams are remembered, and an ordinary
/// peer's last `max` streams are (a peer that spaces its ids apart only
/// shortens its own memory).
///
/// A hash map with an eviction queue did the same job, but every close
/// touched two random buckets of a table of up to `max` entries per
/// connection: about 6% of a busy server's time went to those cache misses.
/// Here a close writes the slot next to the previous one.
#[derive(Debug, Default)]
pub(crate) struct ClosedStreams {
    slots: Vec<Option<(StreamId, ClosedCause)>>,
    remembered: usize,
}

fn slot(id: StreamId, slots: usize) -> usize {
    // Server-initiated (even) ids start half a table away, so that streams
    // 2k and 2k+1 do not meet.
    let half = if id.is_server_initiated() {
        slots / 2
    } else {
        0
    };
    ((id.get() / 2) as usize + half) % slots
}

impl ClosedStreams {
    /// Remembers how `id` closed, within `max` streams (0: nothing is
    /// remembered). The table grows, up to `max` slots, when a close would
    /// evict a stream while there are fewer.
    pub(crate) fn remember(&mut self, id: StreamId, cause: ClosedCause, max: usize) {
        if max == 0 {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![None; FIRST_SLOTS.min(max)];
        }
        loop {
            let i = slot(id, self.slots.len());
            match self.slots[i] {
                None => {
                    self.slots[i] = Some((id, cause));
                    self.remembered += 1;
                    return;
                }
                Some((old, _)) if old == id || self.slots.len() >= max => {
                    // The same stream again, or a full-size table: the
                    // latest close wins.
                    self.slots[i] = Some((id, cause));
                    return;
                }
                Some(_) => self.grow(max),
            }
        }
    }

    /// Doubles the table (up to `max` slots) and places each stream again.
    fn grow(&mut self, max: usize) {
        let n = (self.slots.len() * 2).min(max);
        let mut slots = vec![None; n];
        let mut remembered = 0;
        for (id, cause) in self.slots.drain(..).flatten() {
            let s = &mut slots[slot(id, n)];
            // When `n` is not a multiple of the old size two streams can
            // meet; the one placed last stays.
            if s.is_none() {
                remembered += 1;
            }
            *s = Some((id, cause));
        }
        self.slots = slots;
        self.remembered = remembered;
    }

    /// How `id` closed, if it is still remembered.
    pub(crate) fn get(&self, id: StreamId) -> Option<ClosedCause> {
        if self.slots.is_empty() {
            return None;
        }
        match self.slots[slot(id, self.slots.len())] {
            Some((s, cause)) if s == id => Some(cause),
            _ => None,
        }
    }

    /// Streams remembered now (never more than the largest `max` given).
    pub(crate) fn len(&self) -> usize {
        self.remembered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u32) -> StreamId {
        StreamId::new(n)
    }

    #[test]
    fn a_clients_last_max_streams_are_remembered() {
        let mut c = ClosedStreams::default();
        for i in 0..2_000u32 {
            c.remember(sid(1 + 2 * i), ClosedCause::EndStream, 1000);
            assert!(c.len() <= 1000);
        }
        assert_eq!(c.len(), 1000);
        // Streams 1_000..2_000 (ids 2_001..=3_999) are remembered, the
        // first thousand are forgotten.
        for i in 0..2_000u32 {
            let got = c.get(sid(1 + 2 * i));
            assert_eq!(got.is_some(), i >= 1000, "stream {}", 1 + 2 * i);
        }
    }

    #[test]
    fn causes_are_kept_apart_and_a_second_close_updates() {
        let mut c = ClosedStreams::default();
        let t = Instant::now();
        c.remember(sid(1), ClosedCause::EndStream, 10);
        c.remember(sid(3), ClosedCause::RemoteReset, 10);
        c.remember(sid(5), ClosedCause::LocalReset(t), 10);
        assert_eq!(c.get(sid(1)), Some(ClosedCause::EndStream));
        assert_eq!(c.get(sid(3)), Some(ClosedCause::RemoteReset));
        assert_eq!(c.get(sid(5)), Some(ClosedCause::LocalReset(t)));
        assert_eq!(c.get(sid(7)), None);
        c.remember(sid(1), ClosedCause::RemoteReset, 10);
        assert_eq!(c.get(sid(1)), Some(ClosedCause::RemoteReset));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn growing_keeps_what_was_remembered() {
        let mut c = ClosedStreams::default();
        // Out of order, across several doublings and a last step to a
        // size that is not a power of two.
        let ids: Vec<u32> = (0..300u32).rev().map(|i| 1 + 2 * i).collect();
        for &id in &ids {
            c.remember(sid(id), ClosedCause::EndStream, 300);
        }
        assert_eq!(c.len(), 300);
        assert!(ids.iter().all(|&id| c.get(sid(id)).is_some()));
    }

    #[test]
    fn nothing_is_remembered_with_max_zero() {
        let mut c = ClosedStreams::default();
        c.remember(sid(1), ClosedCause::EndStream, 0);
        assert_eq!(c.len(), 0);
        assert_eq!(c.get(sid(1)), None);
    }

    #[test]
    fn spaced_ids_cost_the_peer_its_memory_not_ours() {
        // Ids two `max` apart all fall in one slot: the table grows to
        // `max` slots and no further, and holds one of them.
        let mut c = ClosedStreams::default();
        for i in 0..10_000u32 {
            c.remember(sid(1 + 2 * 64 * i), ClosedCause::EndStream, 64);
        }
        assert_eq!(c.slots.len(), 64);
        assert!(c.len() <= 64);
        assert_eq!(c.get(sid(1 + 2 * 64 * 9_999)), Some(ClosedCause::EndStream));
        assert_eq!(c.get(sid(1 + 2 * 64 * 9_998)), None);
    }

    #[test]
    fn server_and_client_ids_share_the_table() {
        let mut c = ClosedStreams::default();
        c.remember(sid(2), ClosedCause::EndStream, 100);
        c.remember(sid(3), ClosedCause::RemoteReset, 100);
        // Both are remembered: server ids are placed half a table away.
        assert_eq!(c.get(sid(2)), Some(ClosedCause::EndStream));
        assert_eq!(c.get(sid(3)), Some(ClosedCause::RemoteReset));
    }
}
