//! Prefix integer edge cases (RFC 7541 §5.1).

use ropewalk_hpack::{DecodeError, integer};

#[test]
fn round_trip_around_every_prefix_boundary() {
    for prefix in 1..=8u8 {
        let max = (1u64 << prefix) - 1;
        let mut values: Vec<u64> = vec![0, 1, max - 1, max, max + 1, max + 127, max + 128];
        values.extend([
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            1 << 28,
            u64::from(u32::MAX),
        ]);
        for v in values {
            let mut buf = vec![];
            integer::encode(v as usize, prefix, 0, &mut buf);
            assert_eq!(buf.len(), integer::encoded_len(v as usize, prefix));
            assert_eq!(
                integer::decode(&buf, prefix),
                Ok((v as u32, buf.len())),
                "value {v}, prefix {prefix}"
            );
            // A shorter buffer is always truncated.
            if buf.len() > 1 {
                assert_eq!(
                    integer::decode(&buf[..buf.len() - 1], prefix),
                    Err(DecodeError::Truncated)
                );
            }
        }
    }
}

#[test]
fn flags_are_kept_and_ignored() {
    let mut buf = vec![];
    integer::encode(3, 4, 0x10, &mut buf);
    assert_eq!(buf, [0x13]);
    assert_eq!(integer::decode(&[0xf3], 4), Ok((3, 1)));
}

#[test]
fn u32_max_needs_exactly_five_continuation_bytes_with_a_1_bit_prefix() {
    let mut buf = vec![];
    integer::encode(u32::MAX as usize, 1, 0, &mut buf);
    assert_eq!(buf.len(), 1 + integer::MAX_CONTINUATION_BYTES);
    assert_eq!(integer::decode(&buf, 1), Ok((u32::MAX, 6)));
}

#[test]
fn one_past_u32_max_overflows() {
    let mut buf = vec![];
    integer::encode(u32::MAX as usize + 1, 8, 0, &mut buf);
    assert_eq!(integer::decode(&buf, 8), Err(DecodeError::IntegerOverflow));
}

#[test]
fn redundant_zero_groups_within_five_bytes_are_accepted() {
    assert_eq!(integer::decode(&[0x1f, 0x80, 0x00], 5), Ok((31, 3)));
    assert_eq!(
        integer::decode(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00], 5),
        Ok((31, 6))
    );
    assert_eq!(
        integer::decode(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5),
        Err(DecodeError::IntegerTooLong)
    );
}

#[test]
fn empty_input_is_truncated() {
    assert_eq!(integer::decode(&[], 7), Err(DecodeError::Truncated));
}
