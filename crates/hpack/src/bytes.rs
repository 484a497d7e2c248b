//! Byte-string equality for the short strings of header fields.

/// `a == b`, without a call to `memcmp` for strings of at most 16 bytes (most header names and
/// many values): two loads per side that together cover every byte (they overlap when the
/// length is not a power of two). Longer strings use the slice comparison.
#[inline(always)]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => first::<4>(a) == first::<4>(b) && last::<4>(a) == last::<4>(b),
        8..=16 => first::<8>(a) == first::<8>(b) && last::<8>(a) == last::<8>(b),
        _ => a == b,
    }
}

/// The first `N` bytes of `s` as an array (compared with one load each); `s.len() >= N`.
#[inline(always)]
fn first<const N: usize>(s: &[u8]) -> [u8; N] {
    *s.first_chunk().expect("length checked by the caller")
}

/// The last `N` bytes of `s` as an array; `s.len() >= N`.
#[inline(always)]
fn last<const N: usize>(s: &[u8]) -> [u8; N] {
    *s.last_chunk().expect("length checked by the caller")
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_slice_eq() {
        let base: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..40 {
            let a = &base[..n];
            assert!(super::eq(a, a));
            for k in 0..n {
                let mut b = a.to_vec();
                b[k] ^= 0x20;
                assert!(!super::eq(a, &b), "len {n}, byte {k}");
            }
            assert!(!super::eq(a, &base[..n + 1]));
        }
    }
}
