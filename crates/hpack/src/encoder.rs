//! The header block encoder (RFC 7541 §3, §6).

use std::collections::VecDeque;

use crate::dynamic_table::{DynamicTable, ENTRY_OVERHEAD};
use crate::index_map::IndexMap;
use crate::policy::{HuffmanMode, IndexPolicy};
use crate::static_table::{self, STATIC_LEN, STATIC_TABLE, StaticMatch, index};
use crate::{bytes, integer, string};

/// Default dynamic table size: the HTTP/2 initial `SETTINGS_HEADER_TABLE_SIZE` (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;
/// Default upper bound on the table size the encoder uses, whatever the peer allows (64 KiB).
pub const DEFAULT_TABLE_SIZE_LIMIT: usize = 65536;

/// A header field to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name. HTTP/2 requires lowercase names (RFC 9113 §8.2.1); the encoder sends the
    /// bytes as given.
    pub name: &'a [u8],
    /// The field value.
    pub value: &'a [u8],
    /// Send as "literal never indexed" (RFC 7541 §6.2.3) and keep out of every table, e.g. for
    /// credentials (RFC 7541 §7.1.3).
    pub sensitive: bool,
}

impl<'a> Header<'a> {
    /// A normal header field.
    pub fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        Self {
            name,
            value,
            sensitive: false,
        }
    }

    /// A sensitive header field, sent as never-indexed.
    pub fn sensitive(name: &'a [u8], value: &'a [u8]) -> Self {
        Self {
            name,
            value,
            sensitive: true,
        }
    }
}

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// 64×64→128-bit multiply, folded (the wyhash mixing step).
#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline(always)]
fn read_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(*b.first_chunk().expect("8 bytes"))
}

#[inline(always)]
fn read_u32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(*b.first_chunk().expect("4 bytes")))
}

/// A fast non-cryptographic hash of `bytes`, seeded with `seed` (wyhash-style: 16 bytes per
/// multiply). Matches are always confirmed by comparing bytes, so collisions only cost a
/// missed table hit, never a wrong encoding.
#[inline]
fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let mut h = seed ^ P0;
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        h = mix(read_u64(&c[..8]) ^ P1, read_u64(&c[8..]) ^ h);
    }
    let rest = chunks.remainder();
    let n = rest.len();
    let (a, b) = if n >= 8 {
        (read_u64(rest), read_u64(&rest[n - 8..]))
    } else if n >= 4 {
        (read_u32(rest), read_u32(&rest[n - 4..]))
    } else if n > 0 {
        (
            (u64::from(rest[0]) << 16) | (u64::from(rest[n / 2]) << 8) | u64::from(rest[n - 1]),
            0,
        )
    } else {
        (0, 0)
    };
    h = mix(a ^ P1, b ^ h);
    mix(h ^ P2, len as u64 ^ P1)
}

/// Which literal representation to use (RFC 7541 §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literal {
    Incremental,
    WithoutIndexing,
    NeverIndexed,
}

/// Encodes header lists into HPACK header blocks (one encoder per connection direction).
///
/// # Defaults
///
/// Dynamic table size [`DEFAULT_TABLE_SIZE`] (4096), Huffman coding [`HuffmanMode::Shorter`]
/// (only when strictly shorter), indexing policy [`IndexPolicy::Default`], table size limit
/// [`DEFAULT_TABLE_SIZE_LIMIT`] (64 KiB).
///
/// # Representation choice
///
/// A field that is not sensitive and matches a whole static or dynamic table entry is sent as an
/// index (RFC 7541 §6.1), static first. Otherwise it is a literal with the name taken by index
/// when any table has it (the static table first, since its indices are shorter and stable),
/// else as a literal name. The encoder remembers which table entry (static or dynamic) each of
/// the first positions of a block was sent as: a field equal to it (as a response's fields
/// repeat, in order) is sent as that index without a lookup.
///
/// # Indexing policy
///
/// With [`IndexPolicy::Default`]:
///
/// * **never indexed** (RFC 7541 §6.2.3, §7.1.3): [`Header::sensitive`] fields,
///   `authorization`, `proxy-authorization`, and `cookie` values shorter than 20 bytes (short
///   secrets are guessable, as in nghttp2);
/// * **without indexing** (RFC 7541 §6.2.2), to keep values that rarely repeat from evicting
///   useful entries: `:path` and `content-length` (they change from one request or resource to
///   the next), and any field whose size (name + value + 32) exceeds 3/4 of the table size, which
///   would flush most of the table;
/// * **incremental indexing** (RFC 7541 §6.2.1) for everything else, including `date`,
///   `etag`, `last-modified`, `expires` and `set-cookie`: in real traffic (the hpack-test-case
///   corpus) they repeat across responses of a page load often enough that indexing them
///   wins (not indexing `date` alone costs 14% more bytes there).
///
/// [`IndexPolicy::All`] indexes every non-sensitive field that fits in the table;
/// [`IndexPolicy::None`] never adds to the table.
///
/// # Table size
///
/// [`set_max_table_size`](Self::set_max_table_size) takes the peer's
/// `SETTINGS_HEADER_TABLE_SIZE`; the encoder uses the smaller of it and its own limit
/// ([`set_table_size_limit`](Self::set_table_size_limit)), and signals changes with dynamic
/// table size updates at the start of the next block (RFC 7541 §4.2, §6.3).
#[derive(Clone, Debug)]
pub struct Encoder {
    table: DynamicTable,
    /// `(hash of name if it is in `by_name`, hash of name and value)` per table entry, oldest
    /// first.
    hashes: VecDeque<(Option<u64>, u64)>,
    /// Hash of (name, value) → absolute index of the newest entry with that hash.
    by_field: IndexMap,
    /// Hash of name → absolute index of the newest entry with that hash.
    by_name: IndexMap,
    /// Table sizes requested since the last block: `(smallest, last)`.
    pending_size: Option<(usize, usize)>,
    /// Last value passed to `set_max_table_size`.
    peer_max: usize,
    limit: usize,
    huffman: HuffmanMode,
    policy: IndexPolicy,
    /// Per position in a block, the table entry the field there was last sent as (indexed, or
    /// inserted). Responses repeat their fields in the same order: a field equal to that entry
    /// is sent as its index without being hashed and looked up.
    recent: [Option<Sent>; RECENT],
}

/// A table entry a field was sent as (see [`Encoder::recent`]).
#[derive(Clone, Copy, Debug)]
enum Sent {
    /// A whole static entry: its index.
    Static(usize),
    /// A dynamic entry: its absolute index.
    Dynamic(u64),
}

/// Positions of a block remembered in [`Encoder::recent`].
const RECENT: usize = 8;

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with the [defaults](Self#defaults).
    pub fn new() -> Self {
        Self::with_max_table_size(DEFAULT_TABLE_SIZE)
    }

    /// A fresh encoder whose peer is known to use a dynamic table of `n` bytes from the start
    /// (no size update is sent), as in RFC 7541 §C.5. Over HTTP/2 use [`Encoder::new`] and
    /// [`set_max_table_size`](Self::set_max_table_size) instead.
    pub fn with_max_table_size(n: usize) -> Self {
        Self {
            table: DynamicTable::new(n),
            // One slot per entry, grown as entries arrive (like the table's buffers).
            hashes: VecDeque::new(),
            by_field: IndexMap::default(),
            by_name: IndexMap::default(),
            pending_size: None,
            peer_max: n,
            limit: DEFAULT_TABLE_SIZE_LIMIT.max(n),
            huffman: HuffmanMode::default(),
            policy: IndexPolicy::default(),
            recent: [None; RECENT],
        }
    }

    /// Records the peer's `SETTINGS_HEADER_TABLE_SIZE` (call it when the peer's SETTINGS frame is
    /// received). May be called several times between blocks: the next block starts with a size
    /// update to the smallest value seen since the previous block if that is below the current
    /// size, then one to the final value, as RFC 7541 §4.2 requires.
    pub fn set_max_table_size(&mut self, n: usize) {
        self.peer_max = n;
        let n = n.min(self.limit);
        self.pending_size = Some(match self.pending_size {
            Some((min, _)) => (min.min(n), n),
            None => (n, n),
        });
    }

    /// Caps the table size the encoder uses, whatever the peer allows (memory bound). Takes
    /// effect, with a size update if needed, at the start of the next block.
    pub fn set_table_size_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.set_max_table_size(self.peer_max);
    }

    /// Sets when strings are Huffman-coded.
    pub fn set_huffman(&mut self, mode: HuffmanMode) {
        self.huffman = mode;
    }

    /// Sets the indexing policy.
    pub fn set_index_policy(&mut self, policy: IndexPolicy) {
        self.policy = policy;
        // What was indexed under the old policy may not be under the new one.
        self.recent = [None; RECENT];
    }

    /// The dynamic table's current size (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// The dynamic table's current maximum size (the last size update sent, or the initial
    /// size).
    pub fn table_capacity(&self) -> usize {
        self.table.max_size()
    }

    /// Number of entries in the dynamic table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Dynamic table entry `i` (1 = newest; HPACK index `61 + i`, RFC 7541 §2.3.3).
    pub fn table_entry(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.table.get(i.checked_sub(1)?)
    }

    /// Appends one complete header block holding `headers`, in order, to `dst`.
    pub fn encode<'h, I: IntoIterator<Item = Header<'h>>>(
        &mut self,
        headers: I,
        dst: &mut Vec<u8>,
    ) {
        self.encode_size_updates(dst);
        for (i, h) in headers.into_iter().enumerate() {
            let Some(recent) = self.recent.get(i).copied() else {
                self.encode_field(h, dst);
                continue;
            };
            // The entry sent at this position last time, if it is still in the table and equal:
            // what `encode_field` would find (a sensitive field is never sent indexed).
            let same = |(n, v): (&[u8], &[u8])| bytes::eq(v, h.value) && bytes::eq(n, h.name);
            match recent.filter(|_| !h.sensitive) {
                Some(Sent::Static(i)) if same(STATIC_TABLE[i - 1]) => {
                    // RFC 7541 §6.1: indexed header field, static table.
                    integer::encode(i, 7, 0x80, dst);
                    continue;
                }
                Some(Sent::Dynamic(abs)) if self.table.get_abs(abs).is_some_and(same) => {
                    // RFC 7541 §6.1: indexed header field, dynamic table.
                    integer::encode(self.dynamic_index(abs), 7, 0x80, dst);
                    continue;
                }
                _ => {}
            }
            self.recent[i] = self.encode_field(h, dst);
        }
    }

    /// RFC 7541 §4.2: signal table size changes at the start of the block.
    fn encode_size_updates(&mut self, dst: &mut Vec<u8>) {
        let Some((min, last)) = self.pending_size.take() else {
            return;
        };
        if min < self.table.max_size() && min < last {
            // The smallest size seen since the last block comes first (RFC 7541 §4.2).
            integer::encode(min, 5, 0x20, dst);
            self.set_table_max(min);
        }
        if last != self.table.max_size() {
            // RFC 7541 §6.3: dynamic table size update, 5-bit prefix.
            integer::encode(last, 5, 0x20, dst);
            self.set_table_max(last);
        }
    }

    fn set_table_max(&mut self, n: usize) {
        self.table.set_max_size(n);
        self.sync_evictions();
    }

    /// Drops the hash index entries of evicted table entries.
    #[inline]
    fn sync_evictions(&mut self) {
        while self.hashes.len() > self.table.len() {
            let abs = self.table.inserted() - self.hashes.len() as u64;
            let (name_hash, field_hash) = self.hashes.pop_front().expect("len checked");
            self.by_field.remove(field_hash, abs);
            if let Some(name_hash) = name_hash {
                self.by_name.remove(name_hash, abs);
            }
        }
    }

    /// HPACK index of the dynamic entry with absolute index `abs` (RFC 7541 §2.3.3).
    #[inline]
    fn dynamic_index(&self, abs: u64) -> usize {
        STATIC_LEN + (self.table.inserted() - abs) as usize
    }

    fn literal_kind(&self, h: &Header<'_>, st: StaticMatch) -> Literal {
        if h.sensitive {
            return Literal::NeverIndexed;
        }
        let size = h.name.len() + h.value.len() + ENTRY_OVERHEAD;
        match self.policy {
            IndexPolicy::None => Literal::WithoutIndexing,
            IndexPolicy::All if size <= self.table.max_size() => Literal::Incremental,
            IndexPolicy::All => Literal::WithoutIndexing,
            IndexPolicy::Default => default_policy(st, h.value, size, self.table.max_size()),
        }
    }

    /// Encodes one field; returns the table entry it was sent as (or inserted into), if any.
    fn encode_field(&mut self, h: Header<'_>, dst: &mut Vec<u8>) -> Option<Sent> {
        let st = static_table::lookup(h.name, h.value);
        let kind = self.literal_kind(&h, st);
        if kind != Literal::NeverIndexed {
            if let StaticMatch::Full(i) = st {
                // RFC 7541 §6.1: indexed header field.
                integer::encode(i, 7, 0x80, dst);
                return Some(Sent::Static(i));
            }
        }
        let has_entries = self.table.len() > 0;
        let static_name = match st {
            StaticMatch::Name(i) | StaticMatch::Full(i) => Some(i),
            StaticMatch::None => None,
        };
        // Under the default policy a field it sends without indexing was never inserted (barring
        // a table size change), so looking it up is skipped; a missed match is never incorrect.
        let look_up_field = has_entries
            && match kind {
                Literal::Incremental => true,
                Literal::WithoutIndexing => self.policy != IndexPolicy::Default,
                Literal::NeverIndexed => false,
            };
        let need_hashes = look_up_field || kind == Literal::Incremental;
        // Names of the static table are identified by their index: no need to hash them.
        let name_hash = match static_name {
            Some(i) => (i as u64).wrapping_mul(P2),
            None if need_hashes || has_entries => hash_bytes(0, h.name),
            None => 0,
        };
        let field_hash = if need_hashes {
            hash_bytes(name_hash, h.value)
        } else {
            0
        };
        if look_up_field {
            if let Some(abs) = self.by_field.get(field_hash) {
                if self
                    .table
                    .get_abs(abs)
                    .is_some_and(|(n, v)| bytes::eq(v, h.value) && bytes::eq(n, h.name))
                {
                    // RFC 7541 §6.1: indexed header field, dynamic table.
                    integer::encode(self.dynamic_index(abs), 7, 0x80, dst);
                    return Some(Sent::Dynamic(abs));
                }
            }
        }
        let name_index = match static_name {
            Some(i) => i,
            None if has_entries => match self.by_name.get(name_hash) {
                Some(abs)
                    if self
                        .table
                        .get_abs(abs)
                        .is_some_and(|e| bytes::eq(e.0, h.name)) =>
                {
                    self.dynamic_index(abs)
                }
                _ => 0,
            },
            None => 0,
        };
        let (prefix, pattern) = match kind {
            // RFC 7541 §6.2.1: 01, 6-bit prefix.
            Literal::Incremental => (6, 0x40),
            // RFC 7541 §6.2.2: 0000, 4-bit prefix.
            Literal::WithoutIndexing => (4, 0x00),
            // RFC 7541 §6.2.3: 0001, 4-bit prefix.
            Literal::NeverIndexed => (4, 0x10),
        };
        integer::encode(name_index, prefix, pattern, dst);
        if name_index == 0 {
            string::encode(h.name, self.huffman, dst);
        }
        string::encode(h.value, self.huffman, dst);
        if kind == Literal::Incremental {
            // Static names are never looked up in `by_name`; keep them out of it.
            let name_hash = if static_name.is_some() {
                None
            } else {
                Some(name_hash)
            };
            return self
                .insert(h.name, h.value, name_hash, field_hash)
                .map(Sent::Dynamic);
        }
        None
    }

    /// Returns the new entry's absolute index, if it was inserted.
    fn insert(
        &mut self,
        name: &[u8],
        value: &[u8],
        name_hash: Option<u64>,
        field_hash: u64,
    ) -> Option<u64> {
        if self.table.insert(name, value) {
            let abs = self.table.inserted() - 1;
            self.hashes.push_back((name_hash, field_hash));
            self.sync_evictions();
            self.by_field.insert(field_hash, abs);
            if let Some(name_hash) = name_hash {
                self.by_name.insert(name_hash, abs);
            }
            Some(abs)
        } else {
            self.sync_evictions();
            None
        }
    }
}

/// The [`IndexPolicy::Default`] rules (documented on [`Encoder`]). Every name the rules single
/// out is in the static table, so they are told apart by static index, not by comparing bytes.
#[inline]
fn default_policy(st: StaticMatch, value: &[u8], size: usize, table_max: usize) -> Literal {
    if let StaticMatch::Name(i) | StaticMatch::Full(i) = st {
        match i {
            // RFC 7541 §7.1.3: keep credentials and short, guessable cookies out of the table.
            index::AUTHORIZATION | index::PROXY_AUTHORIZATION => return Literal::NeverIndexed,
            index::COOKIE if value.len() < 20 => return Literal::NeverIndexed,
            index::PATH | index::CONTENT_LENGTH => return Literal::WithoutIndexing,
            _ => {}
        }
    }
    if size > table_max / 4 * 3 {
        return Literal::WithoutIndexing;
    }
    Literal::Incremental
}
