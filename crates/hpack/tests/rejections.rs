//! One test per decoding error: each malformed block is rejected with its exact variant.

mod common;

use common::{decode_all, hex};
use ropewalk_hpack::{DecodeError, Decoder};

fn decode(block: &[u8]) -> Result<Vec<common::Owned>, DecodeError> {
    decode_all(&mut Decoder::new(), block)
}

#[test]
fn index_zero() {
    // RFC 7541 §6.1: index 0 is not used.
    assert_eq!(decode(&[0x80]), Err(DecodeError::ZeroIndex));
}

#[test]
fn index_past_both_tables() {
    // Empty dynamic table: 62 is one past the static table.
    assert_eq!(
        decode(&[0x80 | 62]),
        Err(DecodeError::IndexOutOfRange { index: 62, max: 61 })
    );
    // Same for a literal's name reference (6-bit prefix: 63 = 0x3f then 0x00).
    assert_eq!(
        decode(&[0x7f, 0x00, 0x01, b'v']),
        Err(DecodeError::IndexOutOfRange { index: 63, max: 61 })
    );
    // With one dynamic entry, 62 is valid and 63 is not.
    let mut d = Decoder::new();
    decode_all(&mut d, &hex("4001 61 0162")).unwrap();
    assert!(decode_all(&mut d, &[0x80 | 62]).is_ok());
    assert_eq!(
        decode_all(&mut d, &[0x80 | 63]),
        Err(DecodeError::IndexOutOfRange { index: 63, max: 62 })
    );
}

#[test]
fn integer_overflow() {
    // 127 + 0x7f + 0x7f<<7 + 0x7f<<14 + 0x7f<<21 + 0x0f<<28 > u32::MAX, in 5 continuation bytes.
    assert_eq!(
        decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Err(DecodeError::IntegerOverflow)
    );
}

#[test]
fn integer_too_many_continuation_bytes() {
    // Value 127 padded with redundant zero groups: a sixth continuation byte is never needed.
    assert_eq!(
        decode(&[0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
        Err(DecodeError::IntegerTooLong)
    );
}

#[test]
fn string_longer_than_input() {
    assert_eq!(
        decode(&[0x40, 0x05, b'a', b'b']),
        Err(DecodeError::StringTooLong {
            len: 5,
            remaining: 2
        })
    );
}

#[test]
fn truncated_integer_and_representation() {
    // Indexed field whose integer needs a continuation byte that is missing.
    assert_eq!(decode(&[0xff]), Err(DecodeError::Truncated));
    // Literal with a literal name, but the name length is missing.
    assert_eq!(decode(&[0x40]), Err(DecodeError::Truncated));
    // Literal with an indexed name, but the value is missing.
    assert_eq!(decode(&[0x04]), Err(DecodeError::Truncated));
}

#[test]
fn huffman_eos() {
    // 30 ones (EOS) + 2 ones of padding as the value of `:authority`.
    assert_eq!(
        decode(&[0x41, 0x84, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::HuffmanEos)
    );
}

#[test]
fn huffman_padding_longer_than_7_bits() {
    // 'a' = 00011, then 11 bits of ones.
    assert_eq!(
        decode(&[0x41, 0x82, 0x1f, 0xff]),
        Err(DecodeError::HuffmanPaddingTooLong)
    );
}

#[test]
fn huffman_padding_not_all_ones() {
    // 'a' = 00011, then padding 000.
    assert_eq!(
        decode(&[0x41, 0x81, 0x18]),
        Err(DecodeError::HuffmanPaddingInvalid)
    );
}

#[test]
fn size_update_above_ceiling() {
    // 0x3f 0xe2 0x1f = 31 + 98 + (31 << 7) = 4097.
    assert_eq!(
        decode(&[0x3f, 0xe2, 0x1f, 0x82]),
        Err(DecodeError::SizeUpdateTooLarge {
            requested: 4097,
            max: 4096
        })
    );
    // Exactly the ceiling is fine, and several updates may open a block.
    assert!(decode(&[0x20, 0x3f, 0xe1, 0x1f, 0x82]).is_ok());
}

#[test]
fn size_update_after_field() {
    assert_eq!(
        decode(&[0x82, 0x20]),
        Err(DecodeError::SizeUpdateAfterField)
    );
}

#[test]
fn missing_size_update_after_ceiling_lowered() {
    let mut d = Decoder::new();
    decode_all(&mut d, &hex("4001 61 0162")).unwrap();
    d.set_max_table_size(1024);
    assert_eq!(
        decode_all(&mut d, &[0x82]),
        Err(DecodeError::MissingSizeUpdate { required: 1024 })
    );

    // An update above the lowered value does not acknowledge it.
    let mut d = Decoder::new();
    d.set_max_table_size(1024);
    d.set_max_table_size(4096);
    // 0x3f 0xe1 0x0f = 31 + 97 + (15 << 7) = 2048: within the ceiling, but above 1024.
    assert_eq!(
        decode_all(&mut d, &[0x3f, 0xe1, 0x0f, 0x82]),
        Err(DecodeError::MissingSizeUpdate { required: 1024 })
    );

    // Acknowledged with the lowest value then the final one: accepted.
    let mut d = Decoder::new();
    d.set_max_table_size(1024);
    d.set_max_table_size(4096);
    // 1024 = 31 + 993 = 0x3f 0xe1 0x07; then 4096 = 0x3f 0xe1 0x1f.
    assert!(decode_all(&mut d, &[0x3f, 0xe1, 0x07, 0x3f, 0xe1, 0x1f, 0x82]).is_ok());
    assert_eq!(d.table_capacity(), 4096);
    // The next block needs no update.
    assert!(decode_all(&mut d, &[0x82]).is_ok());

    // Raising the ceiling never requires an update.
    let mut d = Decoder::new();
    d.set_max_table_size(8192);
    assert!(decode_all(&mut d, &[0x82]).is_ok());
}

#[test]
fn lowering_the_ceiling_evicts_at_once() {
    let mut d = Decoder::new();
    decode_all(&mut d, &hex("4001 61 0162")).unwrap();
    assert_eq!(d.table_len(), 1);
    d.set_max_table_size(0);
    assert_eq!(d.table_len(), 0);
    assert_eq!(d.max_table_size(), 0);
    assert_eq!(decode_all(&mut d, &[0x20, 0x82]).unwrap().len(), 1);
}

#[test]
fn compression_errors_are_connection_errors() {
    for e in [
        DecodeError::ZeroIndex,
        DecodeError::Truncated,
        DecodeError::HuffmanEos,
        DecodeError::SizeUpdateAfterField,
    ] {
        assert!(e.is_connection_error(), "{e}");
    }
    assert!(!DecodeError::HeaderListTooLarge { size: 2, limit: 1 }.is_connection_error());
    assert!(!DecodeError::TooManyFields { count: 2, limit: 1 }.is_connection_error());
    // Display is implemented and std::error::Error too.
    let e: Box<dyn std::error::Error> = Box::new(DecodeError::ZeroIndex);
    assert_eq!(e.to_string(), "index 0 is not valid");
}
