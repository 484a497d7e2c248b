//! String literals (RFC 7541 §5.2): a Huffman flag, a 7-bit-prefix length, then the octets.

use crate::policy::HuffmanMode;
use crate::{DecodeError, huffman, integer};

/// Where a decoded string lives: a range of the input block (plain literal, borrowed as is) or
/// of the decoder's scratch buffer (Huffman-decoded).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StrRef {
    start: usize,
    end: usize,
    in_scratch: bool,
}

impl StrRef {
    /// The string's bytes, given the block and scratch buffer it was decoded against.
    #[inline]
    pub(crate) fn resolve<'a>(self, block: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        let src = if self.in_scratch { scratch } else { block };
        &src[self.start..self.end]
    }

    /// Length of the decoded string.
    #[inline]
    pub(crate) fn len(self) -> usize {
        self.end - self.start
    }
}

/// Decodes the string literal at `block[*pos..]` and advances `pos` past it.
///
/// Plain strings are not copied; Huffman strings are decoded into `scratch[*used..]`, which
/// must hold [`huffman::decoded_capacity`] of the encoded length, and `used` is advanced past
/// them.
#[inline]
pub(crate) fn decode(
    block: &[u8],
    pos: &mut usize,
    scratch: &mut [u8],
    used: &mut usize,
) -> Result<StrRef, DecodeError> {
    let rest = &block[*pos..];
    let (len, n) = integer::decode(rest, 7)?;
    let len = len as usize;
    let start = *pos + n;
    let remaining = block.len() - start;
    if len > remaining {
        // RFC 7541 §5.2: the length covers octets that are not there.
        return Err(DecodeError::StringTooLong { len, remaining });
    }
    let end = start + len;
    *pos = end;
    if rest[0] & 0x80 == 0 {
        return Ok(StrRef {
            start,
            end,
            in_scratch: false,
        });
    }
    let s = *used;
    let n = huffman::decode_into(&block[start..end], &mut scratch[s..])?;
    *used = s + n;
    Ok(StrRef {
        start: s,
        end: s + n,
        in_scratch: true,
    })
}

/// Appends `s` as a string literal, Huffman-coded according to `mode`.
#[inline]
pub(crate) fn encode(s: &[u8], mode: HuffmanMode, dst: &mut Vec<u8>) {
    match mode {
        HuffmanMode::Never => encode_plain(s, dst),
        HuffmanMode::Always => {
            let h = huffman::encoded_len(s);
            // RFC 7541 §5.2: H bit set, length is the encoded length.
            integer::encode(h, 7, 0x80, dst);
            huffman::encode_with_len(s, h, dst);
        }
        HuffmanMode::Shorter => encode_shorter(s, dst),
    }
}

#[inline]
fn encode_plain(s: &[u8], dst: &mut Vec<u8>) {
    integer::encode(s.len(), 7, 0x00, dst);
    dst.extend_from_slice(s);
}

/// Huffman-codes `s` only if that is strictly shorter, in one pass: the code is written where
/// the plain string would go and abandoned as soon as it reaches the plain length.
#[inline]
fn encode_shorter(s: &[u8], dst: &mut Vec<u8>) {
    let n = s.len();
    if n == 0 {
        dst.push(0);
        return;
    }
    let start = dst.len();
    let prefix = integer::encoded_len(n, 7);
    // Room for the plain length prefix, a code shorter than `n`, and the encoder's slack. Most
    // strings fit in 64 bytes: appending a fixed-size block of zeros compiles to a few vector
    // stores, where `resize` by a variable amount calls `memset`.
    let room = prefix + n - 1 + huffman::ENCODE_SLACK;
    if room <= 64 {
        dst.extend_from_slice(&[0; 64]);
    } else {
        dst.resize(start + room, 0);
    }
    let body = start + prefix;
    match huffman::encode_into(s, &mut dst[body..], n - 1) {
        Some(h) if prefix == 1 => {
            // The common case, strings under 127 bytes: h < n < 127, a one-byte prefix with the
            // H bit set (RFC 7541 §5.2).
            dst[start] = 0x80 | h as u8;
            dst.truncate(body + h);
        }
        Some(h) => {
            // RFC 7541 §5.2: H bit set, length is the encoded length.
            let (len_bytes, hprefix) = integer::encode_array(h, 7, 0x80);
            if hprefix < prefix {
                // Rare: the shorter length needs fewer prefix bytes; close the gap.
                dst.copy_within(body..body + h, start + hprefix);
            }
            dst[start..start + hprefix].copy_from_slice(&len_bytes[..hprefix]);
            dst.truncate(start + hprefix + h);
        }
        None => {
            dst.truncate(start);
            encode_plain(s, dst);
        }
    }
}
