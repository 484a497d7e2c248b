//! HPACK header compression for HTTP/2 ([RFC 7541]), with no dependencies and no `unsafe`.
//!
//! * [`Decoder`] turns header blocks into [`Field`]s, borrowing them instead of allocating,
//!   and enforces the RFC's decoding errors and the header list limits of RFC 9113 §6.5.2.
//! * [`Encoder`] turns [`Header`] lists into header blocks, using the static and dynamic tables
//!   and Huffman coding when it is shorter.
//! * [`huffman`] and [`integer`] expose the primitive codings (RFC 7541 §5) for tests, fuzzers
//!   and benchmarks.
//!
//! ```
//! use ropewalk_hpack::{Decoder, Encoder, Header};
//!
//! let mut encoder = Encoder::new();
//! let mut block = Vec::new();
//! encoder.encode(
//!     [
//!         Header::new(b":method", b"GET"),
//!         Header::new(b":path", b"/index.html"),
//!         Header::new(b"user-agent", b"ropewalk"),
//!         Header::sensitive(b"x-api-key", b"secret"),
//!     ],
//!     &mut block,
//! );
//!
//! let mut decoder = Decoder::new();
//! let mut fields = Vec::new();
//! decoder
//!     .decode(&block, |f| fields.push((f.name.to_vec(), f.value.to_vec(), f.never_indexed)))
//!     .unwrap();
//! assert_eq!(fields[0], (b":method".to_vec(), b"GET".to_vec(), false));
//! assert_eq!(fields[2], (b"user-agent".to_vec(), b"ropewalk".to_vec(), false));
//! assert_eq!(fields[3], (b"x-api-key".to_vec(), b"secret".to_vec(), true));
//!
//! // The second block reuses the dynamic table: "user-agent: ropewalk" is now one byte.
//! let mut block2 = Vec::new();
//! encoder.encode([Header::new(b"user-agent", b"ropewalk")], &mut block2);
//! assert_eq!(block2, [0x80 | 62]);
//! decoder.decode(&block2, |f| assert_eq!(f.value, b"ropewalk")).unwrap();
//! ```
//!
//! Errors that break the compression context are told apart from per-stream limits by
//! [`DecodeError::is_connection_error`].
//!
//! [RFC 7541]: https://www.rfc-editor.org/rfc/rfc7541

mod bytes;
mod decoder;
mod dynamic_table;
mod encoder;
mod error;
pub mod huffman;
mod huffman_table;
mod index_map;
pub mod integer;
mod policy;
mod static_table;
mod string;

pub use decoder::{
    DEFAULT_MAX_FIELD_COUNT, DEFAULT_MAX_HEADER_LIST_SIZE, DEFAULT_MAX_TABLE_SIZE, Decoder, Field,
};
pub use dynamic_table::ENTRY_OVERHEAD;
pub use encoder::{DEFAULT_TABLE_SIZE, DEFAULT_TABLE_SIZE_LIMIT, Encoder, Header};
pub use error::DecodeError;
pub use policy::{HuffmanMode, IndexPolicy};
pub use static_table::{STATIC_LEN, STATIC_TABLE};
