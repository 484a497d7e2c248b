//! Decoding errors.

use std::fmt;

/// Why a header block could not be decoded.
///
/// Every variant except [`HeaderListTooLarge`](Self::HeaderListTooLarge) and
/// [`TooManyFields`](Self::TooManyFields) is an HPACK decoding error: the decoder's dynamic
/// table can no longer be trusted, and HTTP/2 requires a connection error of type
/// `COMPRESSION_ERROR` (RFC 9113 §4.3). The two limit errors are raised only after the whole block
/// was processed and the table is still in sync, so the connection can refuse just that stream
/// (e.g. with status 431). [`is_connection_error`](Self::is_connection_error) tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The block ended in the middle of an integer or representation (RFC 7541 §5.1).
    Truncated,
    /// An integer above `u32::MAX` (RFC 7541 §5.1 lets decoders limit integers).
    IntegerOverflow,
    /// An integer with more continuation bytes than any `u32` needs
    /// (see [`crate::integer`] for the exact rule).
    IntegerTooLong,
    /// A string literal's length runs past the end of the block (RFC 7541 §5.2).
    StringTooLong {
        /// The declared string length.
        len: usize,
        /// Bytes left in the block after the length prefix.
        remaining: usize,
    },
    /// A Huffman-coded string contains the EOS symbol (RFC 7541 §5.2).
    HuffmanEos,
    /// A Huffman-coded string ends with more than 7 bits of padding (RFC 7541 §5.2).
    HuffmanPaddingTooLong,
    /// A Huffman-coded string's padding is not a prefix of EOS, i.e. not all ones
    /// (RFC 7541 §5.2).
    HuffmanPaddingInvalid,
    /// Index 0 was used in an indexed field or as a name reference (RFC 7541 §6.1).
    ZeroIndex,
    /// An index past the end of the static and dynamic tables (RFC 7541 §2.3.3).
    IndexOutOfRange {
        /// The index on the wire.
        index: u32,
        /// The largest valid index at that point (61 + dynamic table entries).
        max: usize,
    },
    /// A dynamic table size update above the limit we advertised (RFC 7541 §6.3).
    SizeUpdateTooLarge {
        /// The size the encoder asked for.
        requested: u32,
        /// Our ceiling ([`Decoder::max_table_size`](crate::Decoder::max_table_size)).
        max: usize,
    },
    /// A dynamic table size update after the first field of a block (RFC 7541 §4.2).
    SizeUpdateAfterField,
    /// Our ceiling was lowered below the table size the encoder was using, and the next block did
    /// not start with a size update at most the lowered value (RFC 7541 §4.2).
    MissingSizeUpdate {
        /// The lowest ceiling set since the previous block; a size update at most this was
        /// required.
        required: usize,
    },
    /// The decoded header list is larger than the limit
    /// (RFC 9113 §6.5.2: sum of name + value + 32 per field). The block was fully processed and
    /// the dynamic table is consistent; fields after the limit was passed were not delivered.
    HeaderListTooLarge {
        /// Size of the whole decoded header list.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The block holds more fields than the configured limit. The block was fully processed and
    /// the dynamic table is consistent; fields past the limit were not delivered.
    TooManyFields {
        /// Number of fields in the block.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl DecodeError {
    /// Whether the error breaks the compression context, so HTTP/2 must close the connection
    /// with `COMPRESSION_ERROR` (RFC 9113 §4.3).
    ///
    /// `false` only for [`HeaderListTooLarge`](Self::HeaderListTooLarge) and
    /// [`TooManyFields`](Self::TooManyFields): the decoder stays usable and only the stream
    /// needs to be refused.
    pub fn is_connection_error(&self) -> bool {
        !matches!(
            self,
            Self::HeaderListTooLarge { .. } | Self::TooManyFields { .. }
        )
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => f.write_str("header block truncated"),
            Self::IntegerOverflow => f.write_str("integer exceeds u32::MAX"),
            Self::IntegerTooLong => f.write_str("integer has too many continuation bytes"),
            Self::StringTooLong { len, remaining } => write!(
                f,
                "string literal of {len} bytes but only {remaining} bytes remain"
            ),
            Self::HuffmanEos => f.write_str("Huffman string contains EOS"),
            Self::HuffmanPaddingTooLong => f.write_str("Huffman padding longer than 7 bits"),
            Self::HuffmanPaddingInvalid => f.write_str("Huffman padding is not all ones"),
            Self::ZeroIndex => f.write_str("index 0 is not valid"),
            Self::IndexOutOfRange { index, max } => {
                write!(f, "index {index} out of range (max {max})")
            }
            Self::SizeUpdateTooLarge { requested, max } => write!(
                f,
                "dynamic table size update to {requested} exceeds the limit of {max}"
            ),
            Self::SizeUpdateAfterField => {
                f.write_str("dynamic table size update after a header field")
            }
            Self::MissingSizeUpdate { required } => write!(
                f,
                "expected a dynamic table size update to at most {required} at the start of the block"
            ),
            Self::HeaderListTooLarge { size, limit } => {
                write!(f, "header list size {size} exceeds the limit of {limit}")
            }
            Self::TooManyFields { count, limit } => {
                write!(f, "{count} header fields exceed the limit of {limit}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
