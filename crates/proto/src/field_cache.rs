//! What the fields of the peer's HPACK dynamic table were parsed into.
//!
//! A client sends most fields of its second and later requests as indices
//! into the dynamic table (RFC 7541 §2.3.2, §6.1): the same authority, path
//! prefix, user agent, cookies. Each one used to be copied and parsed (and
//! checked, RFC 9113 §8.2) again; now what the first parse made is kept under
//! the table entry's number ([`ropewalk_hpack::Field::dynamic`], never reused)
//! and cloned, which is a reference count, not a copy. The checks that depend
//! on the block (order and repetition of pseudo-headers, the kind of block)
//! still run each time: see `BlockBuilder::kept`.
//!
//! Bounded: [`SLOTS`] slots, made on first use; fields of at most
//! [`KEEP_MAX`] octets (name and value), each with octets of its own, so that
//! no slot keeps a connection's shared value buffer alive.

use http::uri::{Authority, PathAndQuery};
use http::{HeaderName, HeaderValue};

/// Slots: an entry lives in slot `number % SLOTS`.
pub(crate) const SLOTS: usize = 16;
/// Largest field (name and value octets) kept.
pub(crate) const KEEP_MAX: usize = 256;

/// A parsed field of the peer's dynamic table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Parsed {
    /// `:authority`.
    Authority(Authority),
    /// `:path`.
    Path(PathAndQuery),
    /// A regular field.
    Field(HeaderName, HeaderValue),
}

/// Parsed fields by dynamic table entry number.
#[derive(Debug, Default)]
pub(crate) struct FieldCache {
    slots: Vec<Option<(u64, Parsed)>>,
}

impl FieldCache {
    /// The parsed field of entry `number`, if kept.
    pub(crate) fn get(&self, number: u64) -> Option<&Parsed> {
        match self.slots.get(slot(number))? {
            Some((n, p)) if *n == number => Some(p),
            _ => None,
        }
    }

    /// Keeps `parsed` as entry `number`'s (in place of whatever shared its
    /// slot).
    pub(crate) fn put(&mut self, number: u64, parsed: Parsed) {
        if self.slots.is_empty() {
            self.slots.resize(SLOTS, None);
        }
        self.slots[slot(number)] = Some((number, parsed));
    }
}

/// The last `:path` a peer sent as a literal (nghttp2, and so curl and
/// h2load, never index `:path`: RFC 7541 §7.1 leaves that to the encoder),
/// parsed once it came twice in a row: a client asking for one path again
/// and again (a health check, an RPC method, a benchmark) has it cloned
/// rather than copied and parsed each time. The octets of the last literal
/// are remembered (in a buffer reused, up to [`KEEP_MAX`]), and only a path
/// seen twice is kept parsed (with octets of its own).
#[derive(Debug, Default)]
pub(crate) struct LiteralPath {
    last: Vec<u8>,
    /// A [`Parsed::Path`], of `last`.
    parsed: Option<Parsed>,
}

impl LiteralPath {
    /// The parsed path if `value` is the last one kept.
    pub(crate) fn get(&self, value: &[u8]) -> Option<&Parsed> {
        self.parsed
            .as_ref()
            .filter(|p| matches!(p, Parsed::Path(p) if p.as_str().as_bytes() == value))
    }

    /// Whether `value` is the last literal path seen; remembers it if not
    /// (and forgets what was kept parsed).
    pub(crate) fn repeats(&mut self, value: &[u8]) -> bool {
        if self.last == value {
            return true;
        }
        self.parsed = None;
        self.last.clear();
        if value.len() <= KEEP_MAX {
            self.last.extend_from_slice(value);
        }
        false
    }

    /// Keeps `path` (the parse of the last literal path).
    pub(crate) fn keep(&mut self, path: PathAndQuery) {
        self.parsed = Some(Parsed::Path(path));
    }
}

fn slot(number: u64) -> usize {
    (number % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(v: &'static str) -> Parsed {
        Parsed::Field(HeaderName::from_static("x-a"), HeaderValue::from_static(v))
    }

    #[test]
    fn a_literal_path_is_kept_parsed_once_it_repeats() {
        let mut c = LiteralPath::default();
        assert!(!c.repeats(b"/a"), "first time");
        assert!(c.get(b"/a").is_none());
        assert!(c.repeats(b"/a"), "second time");
        c.keep(PathAndQuery::from_static("/a"));
        assert_eq!(
            c.get(b"/a"),
            Some(&Parsed::Path(PathAndQuery::from_static("/a")))
        );
        assert!(c.get(b"/b").is_none());
        // Another path: forgotten, remembered anew.
        assert!(!c.repeats(b"/b"));
        assert!(c.get(b"/a").is_none());
        assert!(c.repeats(b"/b"));
        // Too long to remember: never repeats, never kept.
        let long = vec![b'/'; KEEP_MAX + 1];
        assert!(!c.repeats(&long));
        assert!(!c.repeats(&long));
    }

    #[test]
    fn entries_are_found_by_number_and_share_slots() {
        let mut c = FieldCache::default();
        assert!(c.get(0).is_none());
        assert!(c.slots.is_empty(), "no slots before the first entry");
        c.put(3, field("three"));
        assert_eq!(c.get(3), Some(&field("three")));
        assert_eq!(c.slots.len(), SLOTS);
        // Another number of the same slot replaces it; the old one is gone.
        let later = 3 + SLOTS as u64;
        c.put(later, field("later"));
        assert_eq!(c.get(later), Some(&field("later")));
        assert!(c.get(3).is_none());
        assert!(c.get(4).is_none());
    }
}
