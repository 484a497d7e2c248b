//! Header list size and field count limits: the decoder stops delivering fields but keeps the
//! dynamic table in sync, then reports a stream-level error.

mod common;

use common::decode_all;
use ropewalk_hpack::{DEFAULT_MAX_HEADER_LIST_SIZE, DecodeError, Decoder, integer};

/// A literal with incremental indexing and a literal name (RFC 7541 §6.2.1).
fn literal_indexed(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0x40);
    integer::encode(name.len(), 7, 0, out);
    out.extend_from_slice(name);
    integer::encode(value.len(), 7, 0, out);
    out.extend_from_slice(value);
}

#[test]
fn hpack_bomb_stops_delivery_and_keeps_table_in_sync() {
    let mut d = Decoder::new();
    let big = vec![b'x'; 4000];
    let mut block = Vec::new();
    literal_indexed(b"bomb", &big, &mut block);
    decode_all(&mut d, &block).unwrap();
    assert_eq!(d.table_len(), 1);

    // 10,000 references to the 4 KB entry (about 40 MB of headers from 10 KB), then a new entry.
    let mut bomb = vec![0x80 | 62; 10_000];
    literal_indexed(b"after", b"bomb", &mut bomb);
    let mut delivered = 0usize;
    let err = d.decode(&bomb, |_| delivered += 1).unwrap_err();
    let entry = 4 + 4000 + 32;
    assert_eq!(
        err,
        DecodeError::HeaderListTooLarge {
            size: 10_000 * entry + (5 + 4 + 32),
            limit: DEFAULT_MAX_HEADER_LIST_SIZE
        }
    );
    assert!(!err.is_connection_error());
    assert_eq!(
        delivered,
        DEFAULT_MAX_HEADER_LIST_SIZE / entry,
        "delivery stopped at the limit"
    );

    // The table saw the trailing literal: index 62 is now ("after", "bomb"), 63 the big entry.
    let got = decode_all(&mut d, &[0x80 | 62, 0x80 | 63]).unwrap();
    assert_eq!(got[0], (b"after".to_vec(), b"bomb".to_vec(), false));
    assert_eq!(got[1].0, b"bomb");
    assert_eq!(got[1].1, big);
}

#[test]
fn header_list_limit_is_exact() {
    let mut d = Decoder::new();
    // ":method: GET" is 7 + 3 + 32 = 42 bytes.
    d.set_max_header_list_size(84);
    assert_eq!(decode_all(&mut d, &[0x82, 0x82]).unwrap().len(), 2);
    assert_eq!(
        decode_all(&mut d, &[0x82, 0x82, 0x82]),
        Err(DecodeError::HeaderListTooLarge {
            size: 126,
            limit: 84
        })
    );
}

#[test]
fn field_count_limit() {
    let mut d = Decoder::new();
    d.set_max_field_count(1024);
    d.set_max_header_list_size(usize::MAX);
    let mut block = vec![0x82; 2000];
    literal_indexed(b"k", b"v", &mut block);
    let mut delivered = 0usize;
    let err = d.decode(&block, |_| delivered += 1).unwrap_err();
    assert_eq!(
        err,
        DecodeError::TooManyFields {
            count: 2001,
            limit: 1024
        }
    );
    assert!(!err.is_connection_error());
    assert_eq!(delivered, 1024);
    // The trailing literal was still indexed.
    assert_eq!(
        decode_all(&mut d, &[0x80 | 62]).unwrap(),
        vec![(b"k".to_vec(), b"v".to_vec(), false)]
    );
}

#[test]
fn compression_error_wins_over_limit() {
    let mut d = Decoder::new();
    d.set_max_field_count(1);
    assert_eq!(
        decode_all(&mut d, &[0x82, 0x82, 0x80]),
        Err(DecodeError::ZeroIndex)
    );
}
