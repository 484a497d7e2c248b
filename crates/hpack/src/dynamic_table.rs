//! The dynamic table (RFC 7541 §2.3.2, §4), shared by the decoder and the encoder.
//!
//! Entries live back to back in one byte buffer (name then value), oldest first; a `VecDeque`
//! of `(offset, name length, value length)` indexes them. Inserting appends to the buffer and
//! evicting only advances past the oldest entry, so neither allocates per entry. When the dead
//! prefix of the buffer grows larger than the live part (and at least [`COMPACT_MIN`] bytes),
//! the live bytes move to the front; each inserted byte is moved at most once on average, and the
//! buffer never holds more than about twice the table size.

use std::collections::VecDeque;

/// Entry overhead added to `name.len() + value.len()` (RFC 7541 §4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// Dead bytes tolerated at the front of the buffer before compaction is considered.
const COMPACT_MIN: usize = 1024;

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Offset of the name in `DynamicTable::buf`; the value follows it.
    off: usize,
    name_len: usize,
    value_len: usize,
}

/// An HPACK dynamic table: a FIFO of header fields bounded by a byte size.
#[derive(Clone, Debug)]
pub(crate) struct DynamicTable {
    buf: Vec<u8>,
    /// Front is the oldest entry, back the newest (dynamic index 1, RFC 7541 §2.3.3).
    entries: VecDeque<Entry>,
    /// Sum of entry sizes (RFC 7541 §4.1).
    size: usize,
    max_size: usize,
    /// Number of entries ever inserted; the next entry gets this absolute index.
    inserted: u64,
}

impl DynamicTable {
    pub(crate) fn new(max_size: usize) -> Self {
        // Nothing is reserved up front: many connections never use their tables (or use a few
        // hundred bytes of them), and a server holds two per connection. The buffers grow by
        // doubling as entries arrive, to about twice the table size at most (compaction), so a
        // table that fills costs a handful of reallocations over the connection's life.
        Self {
            buf: Vec::new(),
            entries: VecDeque::new(),
            size: 0,
            max_size,
            inserted: 0,
        }
    }

    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Current size in the RFC 7541 §4.1 sense.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Current maximum size (the last size update, RFC 7541 §4.2).
    #[inline]
    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// Absolute index the next inserted entry will get (entries ever inserted).
    #[inline]
    pub(crate) fn inserted(&self) -> u64 {
        self.inserted
    }

    /// The entry at 0-based position `rel` counted from the newest (dynamic index `rel + 1`).
    #[inline]
    pub(crate) fn get(&self, rel: usize) -> Option<(&[u8], &[u8])> {
        let i = self.entries.len().checked_sub(rel + 1)?;
        let e = self.entries[i];
        let name_end = e.off + e.name_len;
        Some((
            &self.buf[e.off..name_end],
            &self.buf[name_end..name_end + e.value_len],
        ))
    }

    /// The entry with absolute index `abs`, if it is still in the table.
    #[inline]
    pub(crate) fn get_abs(&self, abs: u64) -> Option<(&[u8], &[u8])> {
        let rel = self.inserted.checked_sub(abs + 1)?;
        self.get(usize::try_from(rel).ok()?)
    }

    /// Changes the maximum size and evicts until the table fits (RFC 7541 §4.3).
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
        self.release_if_empty();
    }

    /// Inserts `(name, value)` at the front, evicting as needed (RFC 7541 §4.4).
    ///
    /// Returns whether the entry was inserted: an entry larger than the maximum size empties the
    /// table and is not inserted.
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) -> bool {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if !self.make_room(size) {
            return false;
        }
        let off = self.buf.len();
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
        self.push(off, name.len(), value.len(), size);
        true
    }

    /// Inserts a new entry whose name is that of the entry at `rel` (see [`Self::get`]).
    ///
    /// RFC 7541 §4.4: the referenced entry may be the one evicted to make room; its bytes stay in
    /// the buffer until after the copy, so this is safe.
    pub(crate) fn insert_with_name_of(&mut self, rel: usize, value: &[u8]) -> bool {
        let e = self.entries[self.entries.len() - 1 - rel];
        let size = e.name_len + value.len() + ENTRY_OVERHEAD;
        if !self.make_room(size) {
            return false;
        }
        // `make_room` only pops entries; the bytes of `e` are still in `buf`.
        let off = self.buf.len();
        self.buf.extend_from_within(e.off..e.off + e.name_len);
        self.buf.extend_from_slice(value);
        self.push(off, e.name_len, value.len(), size);
        true
    }

    /// Evicts so that an entry of `size` fits; false (table emptied) if it can never fit.
    #[inline]
    fn make_room(&mut self, size: usize) -> bool {
        if size > self.max_size {
            // RFC 7541 §4.4: a too-large entry empties the table and is not added.
            self.evict_to(0);
            self.release_if_empty();
            return false;
        }
        self.evict_to(self.max_size - size);
        true
    }

    #[inline]
    fn push(&mut self, off: usize, name_len: usize, value_len: usize, size: usize) {
        self.entries.push_back(Entry {
            off,
            name_len,
            value_len,
        });
        self.size += size;
        self.inserted += 1;
        self.maybe_compact();
    }

    /// Evicts oldest entries until `size <= target` (RFC 7541 §4.3, §4.4). The evicted bytes stay
    /// in the buffer until the next compaction.
    #[inline]
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            self.size -= e.name_len + e.value_len + ENTRY_OVERHEAD;
        }
    }

    /// Frees the buffer's bytes once no entry is left (never while a name is being copied).
    #[inline]
    fn release_if_empty(&mut self) {
        if self.entries.is_empty() {
            self.buf.clear();
        }
    }

    #[inline]
    fn maybe_compact(&mut self) {
        let dead = self.entries.front().map_or(self.buf.len(), |e| e.off);
        if dead >= COMPACT_MIN && dead > self.buf.len() - dead {
            self.buf.drain(..dead);
            for e in &mut self.entries {
                e.off -= dead;
            }
        }
    }

    /// Bytes held by the entry buffer (for memory-bound tests).
    #[cfg(test)]
    pub(crate) fn buffer_len(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_and_name_reference_to_evicted_entry() {
        let mut t = DynamicTable::new(32 + 8);
        assert!(t.insert(b"name", b"valu"));
        // Referencing the entry that must be evicted to make room (RFC 7541 §4.4).
        assert!(t.insert_with_name_of(0, b"xyzw"));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(0), Some((&b"name"[..], &b"xyzw"[..])));
        assert!(!t.insert(b"too", b"large!"));
        assert_eq!(t.len(), 0);
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn buffer_stays_bounded() {
        let mut t = DynamicTable::new(4096);
        for i in 0..100_000u32 {
            let v = i.to_string();
            t.insert(b"x-some-header", v.as_bytes());
            assert!(t.buffer_len() <= 2 * 4096 + COMPACT_MIN + 64);
        }
        assert_eq!(t.get(0).unwrap().1, b"99999");
        assert_eq!(t.get_abs(99_999).unwrap().1, b"99999");
        assert!(t.get_abs(0).is_none());
    }
}
