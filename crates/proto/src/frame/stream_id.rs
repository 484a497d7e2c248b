//! Stream identifiers (RFC 9113 §5.1.1).

use std::fmt;

/// A 31-bit HTTP/2 stream identifier (RFC 9113 §5.1.1).
///
/// The reserved high bit of the wire field is never part of the value:
/// [`StreamId::new`] clears it, exactly as a receiver must ignore it
/// (RFC 9113 §4.1).
///
/// ```
/// use ropewalk_proto::frame::StreamId;
///
/// let id = StreamId::new(3);
/// assert!(id.is_client_initiated());
/// assert!(StreamId::new(2).is_server_initiated());
/// assert!(StreamId::ZERO.is_zero());
/// assert_eq!(StreamId::new(0x8000_0005), StreamId::new(5)); // reserved bit ignored
/// assert_eq!(u32::from(StreamId::MAX), 0x7fff_ffff);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(u32);

impl StreamId {
    /// Stream 0, the connection control stream.
    pub const ZERO: StreamId = StreamId(0);
    /// The largest stream identifier, 2^31-1.
    pub const MAX: StreamId = StreamId(0x7fff_ffff);

    const MASK: u32 = 0x7fff_ffff;

    /// A stream identifier from a 32-bit value; the reserved high bit is
    /// cleared.
    pub const fn new(id: u32) -> StreamId {
        StreamId(id & StreamId::MASK)
    }

    /// The identifier as a number (always < 2^31).
    pub const fn get(self) -> u32 {
        self.0
    }

    /// `true` for stream 0, which refers to the connection as a whole.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `true` for odd identifiers, used by streams a client opens
    /// (RFC 9113 §5.1.1).
    pub const fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }

    /// `true` for even, non-zero identifiers, used by streams a server
    /// opens (RFC 9113 §5.1.1).
    pub const fn is_server_initiated(self) -> bool {
        self.0 != 0 && self.0 % 2 == 0
    }

    /// The next identifier the same endpoint may use (`self + 2`), or
    /// `None` once the identifier space is exhausted.
    ///
    /// ```
    /// use ropewalk_proto::frame::StreamId;
    /// assert_eq!(StreamId::new(1).next_id(), Some(StreamId::new(3)));
    /// assert_eq!(StreamId::MAX.next_id(), None);
    /// ```
    pub const fn next_id(self) -> Option<StreamId> {
        match self.0.checked_add(2) {
            Some(next) if next <= StreamId::MASK => Some(StreamId(next)),
            _ => None,
        }
    }
}

impl From<u32> for StreamId {
    fn from(id: u32) -> StreamId {
        StreamId::new(id)
    }
}

impl From<StreamId> for u32 {
    fn from(id: StreamId) -> u32 {
        id.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
