//! Prefix-coded integers (RFC 7541 §5.1).
//!
//! An integer starts in the low `N` bits (the *prefix*, 1 ≤ N ≤ 8) of a byte whose high bits
//! belong to the representation. Values that do not fit in the prefix continue in 7-bit groups,
//! least significant group first, with the top bit of each continuation byte set while more
//! follow.
//!
//! # Limits enforced by [`decode`]
//!
//! RFC 7541 §5.1 lets implementations limit integers. This crate decodes integers into the
//! `u32` range:
//!
//! * a value above `u32::MAX` is rejected with [`DecodeError::IntegerOverflow`];
//! * at most [`MAX_CONTINUATION_BYTES`] (5) continuation bytes may follow the prefix. Five 7-bit
//!   groups (35 bits) are enough for any `u32` value whatever the prefix, so a sixth byte can
//!   only be padding with redundant zero groups or an overflow; it is rejected with
//!   [`DecodeError::IntegerTooLong`] without reading further. Redundant zero groups *within*
//!   those five bytes (for example `0x1f 0x80 0x00`) are accepted, as RFC 7541 does not forbid
//!   them.
//!
//! ```
//! use ropewalk_hpack::integer;
//!
//! let mut buf = Vec::new();
//! integer::encode(1337, 5, 0x00, &mut buf); // RFC 7541 §C.1.2
//! assert_eq!(buf, [0x1f, 0x9a, 0x0a]);
//! assert_eq!(integer::decode(&buf, 5), Ok((1337, 3)));
//! ```

use crate::DecodeError;

/// The most continuation bytes [`decode`] accepts after the prefix (see the module docs).
pub const MAX_CONTINUATION_BYTES: usize = 5;

/// Appends `value` encoded with an `prefix_bits`-bit prefix (RFC 7541 §5.1).
///
/// `flags` supplies the bits above the prefix in the first byte (the representation's
/// pattern, e.g. `0x80` for an indexed field); its low `prefix_bits` bits must be zero.
///
/// # Panics
///
/// Panics in debug builds if `prefix_bits` is not in `1..=8`.
#[inline]
pub fn encode(value: usize, prefix_bits: u8, flags: u8, dst: &mut Vec<u8>) {
    debug_assert!((1..=8).contains(&prefix_bits));
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        dst.push(flags | value as u8);
        return;
    }
    // RFC 7541 §5.1: all prefix bits set, then 7-bit groups, LSB first.
    dst.push(flags | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 0x80 {
        dst.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    dst.push(rest as u8);
}

/// [`encode`] into a stack buffer: returns the bytes and how many of them are used.
#[inline]
pub(crate) fn encode_array(value: usize, prefix_bits: u8, flags: u8) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        out[0] = flags | value as u8;
        return (out, 1);
    }
    out[0] = flags | max_prefix as u8;
    let mut rest = value - max_prefix;
    let mut n = 1;
    while rest >= 0x80 {
        out[n] = 0x80 | (rest & 0x7f) as u8;
        rest >>= 7;
        n += 1;
    }
    out[n] = rest as u8;
    (out, n + 1)
}

/// The number of bytes [`encode`] writes for `value` with an `prefix_bits`-bit prefix.
#[inline]
pub fn encoded_len(value: usize, prefix_bits: u8) -> usize {
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        return 1;
    }
    let mut rest = value - max_prefix;
    let mut len = 2;
    while rest >= 0x80 {
        rest >>= 7;
        len += 1;
    }
    len
}

/// Decodes an integer with an `prefix_bits`-bit prefix from the start of `buf`.
///
/// Returns the value and the number of bytes consumed. The bits of the first byte above the
/// prefix are ignored.
///
/// # Errors
///
/// * [`DecodeError::Truncated`] if `buf` ends before the integer does (including an empty
///   `buf`);
/// * [`DecodeError::IntegerTooLong`] if more than [`MAX_CONTINUATION_BYTES`] continuation bytes
///   would be needed;
/// * [`DecodeError::IntegerOverflow`] if the value exceeds `u32::MAX`.
#[inline]
pub fn decode(buf: &[u8], prefix_bits: u8) -> Result<(u32, usize), DecodeError> {
    debug_assert!((1..=8).contains(&prefix_bits));
    let Some(&first) = buf.first() else {
        return Err(DecodeError::Truncated);
    };
    let max_prefix = ((1u16 << prefix_bits) - 1) as u8;
    let prefix = first & max_prefix;
    if prefix < max_prefix {
        return Ok((u32::from(prefix), 1));
    }
    decode_continuation(buf, u64::from(max_prefix))
}

fn decode_continuation(buf: &[u8], mut value: u64) -> Result<(u32, usize), DecodeError> {
    // RFC 7541 §5.1: continuation bytes carry 7 bits each, least significant group first.
    for i in 0..MAX_CONTINUATION_BYTES {
        let Some(&b) = buf.get(1 + i) else {
            return Err(DecodeError::Truncated);
        };
        value += u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if value > u64::from(u32::MAX) {
                return Err(DecodeError::IntegerOverflow);
            }
            return Ok((value as u32, 2 + i));
        }
    }
    // A sixth continuation byte would follow: longer than any u32 needs (module docs).
    Err(DecodeError::IntegerTooLong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_boundaries() {
        for prefix in 1..=8u8 {
            let max = (1usize << prefix) - 1;
            for v in [
                0,
                max.saturating_sub(1),
                max,
                max + 1,
                max + 127,
                max + 128,
                1 << 20,
            ] {
                let mut buf = Vec::new();
                encode(v, prefix, 0, &mut buf);
                assert_eq!(buf.len(), encoded_len(v, prefix));
                assert_eq!(
                    decode(&buf, prefix),
                    Ok((v as u32, buf.len())),
                    "v={v} p={prefix}"
                );
            }
        }
    }
}
