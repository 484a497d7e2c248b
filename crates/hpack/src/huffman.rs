//! Huffman coding of string literals (RFC 7541 §5.2, code in Appendix B).
//!
//! * [`encode`] packs codes with a 64-bit bit accumulator and pads the last byte with the
//!   most significant bits of EOS (all ones), as RFC 7541 §5.2 requires.
//! * [`decode`] is table driven: a 4096-entry table indexed by the next 12 bits yields up to
//!   two symbols per lookup; codes longer than 12 bits and the final bits walk the code tree.
//!   The tables are computed at compile time by `const fn` from [`CODES`], so they cannot drift
//!   from the code table. The unit tests cross-check it against a second, independent decoder
//!   (an nghttp2-style 4-bit state machine, 256 states × 16 transitions).
//!
//! ```
//! use ropewalk_hpack::huffman;
//!
//! let mut wire = Vec::new();
//! huffman::encode(b"www.example.com", &mut wire); // RFC 7541 §C.4.1
//! assert_eq!(wire, [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]);
//! assert_eq!(huffman::encoded_len(b"www.example.com"), 12);
//!
//! let mut text = Vec::new();
//! huffman::decode(&wire, &mut text).unwrap();
//! assert_eq!(text, b"www.example.com");
//! ```

use crate::DecodeError;

pub use crate::huffman_table::CODES;

/// Marks a child slot that leads to a leaf; the low 9 bits are the symbol.
const LEAF: u16 = 0x8000;
const NONE: u16 = 0xffff;

/// The code tree: 257 leaves, hence exactly 256 internal nodes; node 0 is the root.
struct Tree {
    children: [[u16; 2]; 256],
    /// Number of bits from the root to this node.
    depth: [u8; 256],
    /// Whether every bit on the path from the root is 1 (a prefix of EOS).
    all_ones: [bool; 256],
}

const fn build_tree() -> Tree {
    let mut t = Tree {
        children: [[NONE; 2]; 256],
        depth: [0; 256],
        all_ones: [false; 256],
    };
    t.all_ones[0] = true;
    let mut next = 1usize;
    let mut sym = 0usize;
    while sym < 257 {
        let (code, len) = CODES[sym];
        let mut node = 0usize;
        let mut i = len as u32;
        while i > 1 {
            i -= 1;
            let bit = ((code >> i) & 1) as usize;
            let c = t.children[node][bit];
            if c == NONE {
                assert!(next < 256, "Huffman code is not a complete prefix code");
                t.children[node][bit] = next as u16;
                t.depth[next] = t.depth[node] + 1;
                t.all_ones[next] = t.all_ones[node] && bit == 1;
                node = next;
                next += 1;
            } else {
                assert!(c & LEAF == 0, "Huffman code is not prefix free");
                node = c as usize;
            }
        }
        let bit = (code & 1) as usize;
        assert!(
            t.children[node][bit] == NONE,
            "Huffman code is not prefix free"
        );
        t.children[node][bit] = LEAF | sym as u16;
        sym += 1;
    }
    assert!(next == 256, "Huffman code is not complete");
    t
}

const TREE: Tree = build_tree();

/// Transition flag: a symbol (bits 8..16) was completed by this nibble.
#[cfg(test)]
const EMIT: u32 = 1 << 16;
/// Transition flag: the nibble completed EOS (RFC 7541 §5.2: a decoding error).
#[cfg(test)]
const FAIL: u32 = 1 << 17;

/// `DECODE[state][nibble]` = next state (bits 0..8) | symbol (bits 8..16) | EMIT | FAIL.
#[cfg(test)]
static DECODE: [[u32; 16]; 256] = build_decode_table();

#[cfg(test)]
const fn build_decode_table() -> [[u32; 16]; 256] {
    let mut table = [[0u32; 16]; 256];
    let mut state = 0usize;
    while state < 256 {
        let mut nibble = 0usize;
        while nibble < 16 {
            let mut node = state;
            let mut entry = 0u32;
            let mut b = 4;
            while b > 0 {
                b -= 1;
                let c = TREE.children[node][(nibble >> b) & 1];
                if c & LEAF != 0 {
                    let sym = (c & !LEAF) as u32;
                    node = 0;
                    if sym == 256 {
                        entry |= FAIL;
                        break;
                    }
                    // Codes are at least 5 bits long, so one nibble completes at most one.
                    entry |= EMIT | (sym << 8);
                } else {
                    node = c as usize;
                }
            }
            table[state][nibble] = entry | node as u32;
            nibble += 1;
        }
        state += 1;
    }
    table
}

const END_OK: u8 = 0;
const END_NOT_ONES: u8 = 1;
const END_TOO_LONG: u8 = 2;

/// What ending the input in a given state means (RFC 7541 §5.2 padding rules).
static END: [u8; 256] = build_end_table();

const fn build_end_table() -> [u8; 256] {
    let mut end = [0u8; 256];
    let mut s = 0;
    while s < 256 {
        end[s] = if !TREE.all_ones[s] {
            END_NOT_ONES
        } else if TREE.depth[s] > 7 {
            END_TOO_LONG
        } else {
            END_OK
        };
        s += 1;
    }
    end
}

/// Code and length per octet, split out of [`CODES`] for the encoder's hot loop.
static ENCODE: [(u32, u32); 256] = {
    let mut t = [(0u32, 0u32); 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (CODES[i].0, CODES[i].1 as u32);
        i += 1;
    }
    t
};

/// The number of bytes [`encode`] produces for `src` (bit count rounded up to whole bytes).
#[inline]
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| ENCODE[b as usize].1 as usize).sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `src` to `dst`, padded with ones to a byte boundary.
pub fn encode(src: &[u8], dst: &mut Vec<u8>) {
    let len = encoded_len(src);
    encode_with_len(src, len, dst);
}

/// Slack [`encode_into`] needs past the encoded bytes: it always stores 8 bytes at a time.
pub(crate) const ENCODE_SLACK: usize = 8;

/// [`encode`] when the caller already knows `len == encoded_len(src)`.
pub(crate) fn encode_with_len(src: &[u8], len: usize, dst: &mut Vec<u8>) {
    let start = dst.len();
    dst.resize(start + len + ENCODE_SLACK, 0);
    let written = encode_into(src, &mut dst[start..], len);
    debug_assert_eq!(written, Some(len));
    dst.truncate(start + len);
}

/// Huffman-encodes `src` into the start of `out` if the result is at most `max_len` bytes;
/// returns the encoded length, or `None` as soon as the result is known to be longer. `out`
/// must hold `max_len + ENCODE_SLACK` bytes; bytes past the returned length are clobbered.
///
/// Branch-free inner loop (the flush points depend on the data, so a branch on them would be
/// mispredicted often): octets go four at a time into a 64-bit accumulator, which is then
/// stored whole (8 bytes, big-endian, overlapping the next store), and the output position
/// advances by the number of complete bytes, leaving at most 7 pending bits. Four codes fit
/// with those 7 bits when they total at most 57 bits, which is nearly always the case (text
/// octets have codes of 5 to 15 bits); otherwise, and for the last 0-3 octets, one code at a
/// time.
#[inline]
pub(crate) fn encode_into(src: &[u8], out: &mut [u8], max_len: usize) -> Option<usize> {
    let out = &mut out[..max_len + ENCODE_SLACK];
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    let mut pos = 0usize;
    let mut quads = src.chunks_exact(4);
    for quad in &mut quads {
        if pos > max_len {
            return None;
        }
        let codes = [
            ENCODE[quad[0] as usize],
            ENCODE[quad[1] as usize],
            ENCODE[quad[2] as usize],
            ENCODE[quad[3] as usize],
        ];
        let total = codes[0].1 + codes[1].1 + codes[2].1 + codes[3].1;
        if total <= 64 - 7 {
            for (code, n) in codes {
                acc = (acc << n) | u64::from(code);
            }
            // `total` is at least 20, so `bits` is in 20..=64 here.
            bits += total;
            out[pos..pos + 8].copy_from_slice(&(acc << (64 - bits)).to_be_bytes());
            pos += (bits / 8) as usize;
            bits %= 8;
        } else {
            for (code, n) in codes {
                if pos > max_len {
                    return None;
                }
                encode_one(code, n, &mut acc, &mut bits, out, &mut pos);
            }
        }
    }
    for &b in quads.remainder() {
        if pos > max_len {
            return None;
        }
        let (code, n) = ENCODE[b as usize];
        encode_one(code, n, &mut acc, &mut bits, out, &mut pos);
    }
    if bits > 0 {
        // RFC 7541 §5.2: pad with the most significant bits of EOS (ones). The byte at `pos`
        // already holds the pending bits followed by zeros.
        if pos >= max_len {
            return None;
        }
        out[pos] |= 0xff >> bits;
        pos += 1;
    }
    (pos <= max_len).then_some(pos)
}

/// One code of [`encode_into`]: at most 7 pending bits plus a code of at most 30 bits fit in
/// 64; the accumulator is stored whole at `pos`, which needs `pos + 8 <= out.len()`.
#[inline(always)]
fn encode_one(code: u32, n: u32, acc: &mut u64, bits: &mut u32, out: &mut [u8], pos: &mut usize) {
    *acc = (*acc << n) | u64::from(code);
    *bits += n;
    out[*pos..*pos + 8].copy_from_slice(&(*acc << (64 - *bits)).to_be_bytes());
    *pos += (*bits / 8) as usize;
    *bits %= 8;
}

/// Lookup width of the fast decoding table.
const FAST_BITS: u32 = 12;

/// `FAST[next 12 bits]` = sym1 (bits 0..8) | sym2 (bits 8..16) | length of sym1's code
/// (16..20) | total length of the decoded codes (20..24) | 8 × the number of symbols, 0-2
/// (24..32; counted in output bits so the bulk loop can shift by it directly).
/// 0 symbols: the first code is longer than 12 bits (or the bits are a prefix of EOS).
static FAST: [u32; 1 << FAST_BITS] = build_fast_table();

const fn build_fast_table() -> [u32; 1 << FAST_BITS] {
    let mut table = [0u32; 1 << FAST_BITS];
    let mut p = 0usize;
    while p < (1 << FAST_BITS) {
        let mut node = 0usize;
        let mut count = 0u32;
        let mut entry = 0u32;
        let mut b = 0u32;
        while b < FAST_BITS && count < 2 {
            let bit = (p >> (FAST_BITS - 1 - b)) & 1;
            let c = TREE.children[node][bit];
            if c & LEAF != 0 {
                // EOS is 30 bits long, so it never completes within 12.
                let sym = (c & !LEAF) as u32;
                if count == 0 {
                    entry |= sym | ((b + 1) << 16);
                } else {
                    entry |= sym << 8;
                }
                count += 1;
                entry = (entry & !(0xf << 20)) | ((b + 1) << 20);
                node = 0;
            } else {
                node = c as usize;
            }
            b += 1;
        }
        table[p] = entry | ((count * 8) << 24);
        p += 1;
    }
    table
}

/// Children of each internal node of the code tree, for the bit-by-bit slow path.
static CHILDREN: [[u16; 2]; 256] = TREE.children;

/// Decodes the Huffman-coded `src` and appends the octets to `dst`.
///
/// On error, `dst` keeps its original contents.
///
/// The fast path looks up the next 12 bits in a 4096-entry table that yields up to two
/// symbols at once; codes longer than 12 bits (rare octets) and the final bits of the input are
/// decoded by walking the code tree bit by bit, which also classifies the padding.
///
/// # Errors
///
/// RFC 7541 §5.2 decoding errors:
/// * [`DecodeError::HuffmanEos`] if the input contains the EOS symbol;
/// * [`DecodeError::HuffmanPaddingTooLong`] if the input ends with more than 7 bits of padding;
/// * [`DecodeError::HuffmanPaddingInvalid`] if the final partial code is not a prefix of EOS
///   (padding that is not all ones).
pub fn decode(src: &[u8], dst: &mut Vec<u8>) -> Result<(), DecodeError> {
    let start = dst.len();
    dst.resize(start + decoded_capacity(src.len()), 0);
    match decode_into(src, &mut dst[start..]) {
        Ok(n) => {
            dst.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            dst.truncate(start);
            Err(e)
        }
    }
}

/// Room [`decode_into`] needs to decode `encoded_len` bytes: every code is at least 5 bits
/// long, plus slack for the bulk loop's 8-byte stores past the decoded bytes. Also a bound for
/// several strings decoded one after the other whose encoded lengths add up to `encoded_len`.
#[inline]
pub(crate) fn decoded_capacity(encoded_len: usize) -> usize {
    encoded_len * 8 / 5 + 8
}

/// Number of symbols in a [`FAST`] entry (0 means the next code is longer than 12 bits).
#[inline(always)]
fn fast_count(e: u32) -> usize {
    (e >> 27) as usize
}

/// Decodes one code longer than [`FAST_BITS`] from the top of `acc` by walking the code tree;
/// returns the symbol and the code length. `acc` must hold at least 30 valid bits (the longest
/// code), so the walk always ends on a leaf.
#[inline(never)]
fn decode_long(acc: u64) -> Result<(u8, u32), DecodeError> {
    let mut node = 0usize;
    let mut used = 0u32;
    loop {
        let bit = ((acc << used) >> 63) as usize;
        used += 1;
        let c = CHILDREN[node][bit];
        if c & LEAF != 0 {
            let sym = c & !LEAF;
            if sym == 256 {
                // RFC 7541 §5.2: EOS in a string literal is a decoding error.
                return Err(DecodeError::HuffmanEos);
            }
            return Ok((sym as u8, used));
        }
        node = c as usize;
    }
}

/// Decodes `src` into the start of `out`, which must hold [`decoded_capacity`]`(src.len())`
/// bytes; returns the number of decoded bytes. Bytes of `out` past them may be overwritten.
pub(crate) fn decode_into(src: &[u8], out: &mut [u8]) -> Result<usize, DecodeError> {
    // Bits are left-aligned in `acc`; the top `nbits` are valid. Below them `acc` may hold
    // copies of the following input bits (from the 8-byte refill) or zeros, never anything else.
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    let mut i = 0usize;
    let mut n = 0usize;
    // Bulk loop, while a whole 8-byte word can still be loaded: after the refill at least 56
    // bits are valid, enough for 4 table steps of at most 12 bits each, so the steps need no
    // check against `nbits`. Their symbols are gathered in `w` (at most 8) and stored with one
    // 8-byte write, the slack in `out` absorbing the bytes past them.
    while i + 8 <= src.len() {
        let word = u64::from_be_bytes(src[i..i + 8].try_into().expect("8 bytes"));
        acc |= word >> nbits;
        let take = (63 - nbits) / 8;
        i += take as usize;
        nbits += take * 8;
        let e = FAST[(acc >> (64 - FAST_BITS)) as usize];
        if fast_count(e) == 0 {
            // A code longer than 12 bits: 56 valid bits hold any code.
            let (sym, len) = decode_long(acc)?;
            out[n] = sym;
            n += 1;
            acc <<= len;
            nbits -= len;
            continue;
        }
        let mut w = u64::from(e & 0xffff);
        let mut wbits = e >> 24;
        let total = (e >> 20) & 0xf;
        acc <<= total;
        nbits -= total;
        // Three more steps, branch-free: an entry for a long code has no symbols and a total
        // length of 0, so it leaves `w` and `acc` as they are (and so do the steps after it);
        // that code is then decoded after the next refill.
        for _ in 0..3 {
            let e = FAST[(acc >> (64 - FAST_BITS)) as usize];
            w |= u64::from(e & 0xffff) << wbits;
            wbits += e >> 24;
            let total = (e >> 20) & 0xf;
            acc <<= total;
            nbits -= total;
        }
        out[n..n + 8].copy_from_slice(&w.to_le_bytes());
        n += (wbits / 8) as usize;
    }
    // The last (at most 7) bytes, with checks against the input's end. They are gathered once,
    // left-aligned and zero-padded, into `tail`; `tail_len` of its bytes are not yet in `acc`.
    let mut tail_len = (src.len() - i) as u32;
    let mut tail = src[i..]
        .iter()
        .enumerate()
        .fold(0u64, |t, (k, &b)| t | u64::from(b) << (56 - 8 * k));
    loop {
        // Refill to more than 56 bits while input remains (the bytes past `take` land below the
        // valid bits, as copies of the following input bits, which the invariant allows).
        if nbits <= 56 && tail_len > 0 {
            acc |= tail >> nbits;
            let take = ((63 - nbits) / 8).min(tail_len);
            // `take <= 7`, so the shift stays below 64.
            tail <<= take * 8;
            tail_len -= take;
            nbits += take * 8;
            i += take as usize;
        }
        // Up to 4 table steps per refill: each consumes at most 12 of the >= 57 bits, so the
        // lookups stay within valid bits while input remains.
        let mut e = 0;
        let mut steps = 0;
        while steps < 4 {
            e = FAST[(acc >> (64 - FAST_BITS)) as usize];
            let total = (e >> 20) & 0xf;
            if fast_count(e) == 0 || total > nbits {
                break;
            }
            out[n] = e as u8;
            out[n + 1] = (e >> 8) as u8;
            n += fast_count(e);
            acc <<= total;
            nbits -= total;
            steps += 1;
        }
        if steps == 4 {
            continue;
        }
        if nbits == 0 && i == src.len() {
            return Ok(n);
        }
        if steps > 0 && nbits >= FAST_BITS {
            // Stopped on a long code with bits to spare: refill first if input remains.
            if i < src.len() && nbits <= 56 {
                continue;
            }
        }
        let count = fast_count(e);
        let first = (e >> 16) & 0xf;
        if count != 0 && first <= nbits {
            // Near the end: only the first symbol lies within the input.
            out[n] = e as u8;
            n += 1;
            acc <<= first;
            nbits -= first;
            continue;
        }
        if nbits <= 7 && i == src.len() {
            // The common end: no code fits in what is left, so it is padding, which must be the
            // most significant bits of EOS, i.e. all ones (RFC 7541 §5.2).
            let rest = acc >> (64 - nbits);
            return if rest == (1 << nbits) - 1 {
                Ok(n)
            } else {
                Err(DecodeError::HuffmanPaddingInvalid)
            };
        }
        // Slow path: a code longer than 12 bits, or the last bits of the input.
        let mut node = 0usize;
        let mut used = 0u32;
        loop {
            if used == nbits {
                // Input exhausted inside the tree (more input would have given > 56 bits, enough
                // for any code): what is left must be padding (RFC 7541 §5.2).
                debug_assert_eq!(i, src.len());
                return match END[node] {
                    END_OK => Ok(n),
                    END_NOT_ONES => Err(DecodeError::HuffmanPaddingInvalid),
                    _ => Err(DecodeError::HuffmanPaddingTooLong),
                };
            }
            let bit = ((acc << used) >> 63) as usize;
            used += 1;
            let c = CHILDREN[node][bit];
            if c & LEAF != 0 {
                let sym = c & !LEAF;
                if sym == 256 {
                    // RFC 7541 §5.2: EOS in a string literal is a decoding error.
                    return Err(DecodeError::HuffmanEos);
                }
                out[n] = sym as u8;
                n += 1;
                acc <<= used;
                nbits -= used;
                break;
            }
            node = c as usize;
        }
    }
}

/// Reference decoder: the nibble state machine, one table step per 4 bits. Used by the tests
/// to cross-check [`decode`].
#[cfg(test)]
pub(crate) fn decode_nibble(src: &[u8], dst: &mut Vec<u8>) -> Result<(), DecodeError> {
    let start = dst.len();
    // Every code is at least 5 bits long; one extra slot absorbs the unconditional store below.
    let max = src.len() * 8 / 5 + 1;
    dst.resize(start + max, 0);
    let out = &mut dst[start..];
    let mut n = 0usize;
    let mut state = 0usize;
    let mut failed = false;
    for &b in src {
        let t = DECODE[state][(b >> 4) as usize];
        out[n] = (t >> 8) as u8;
        n += ((t >> 16) & 1) as usize;
        let t2 = DECODE[t as u8 as usize][(b & 0x0f) as usize];
        out[n] = (t2 >> 8) as u8;
        n += ((t2 >> 16) & 1) as usize;
        state = t2 as u8 as usize;
        if (t | t2) & FAIL != 0 {
            failed = true;
            break;
        }
    }
    let result = if failed {
        // RFC 7541 §5.2: "A Huffman-encoded string literal containing the EOS symbol MUST be
        // treated as a decoding error."
        Err(DecodeError::HuffmanEos)
    } else {
        // RFC 7541 §5.2: padding longer than 7 bits, or not matching the MSBs of EOS, MUST be
        // treated as a decoding error.
        match END[state] {
            END_OK => Ok(()),
            END_NOT_ONES => Err(DecodeError::HuffmanPaddingInvalid),
            _ => Err(DecodeError::HuffmanPaddingTooLong),
        }
    };
    match result {
        Ok(()) => {
            dst.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            dst.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_octets_round_trip() {
        for b in 0..=255u8 {
            let mut wire = Vec::new();
            encode(&[b], &mut wire);
            let mut back = Vec::new();
            decode(&wire, &mut back).unwrap();
            assert_eq!(back, [b]);
        }
    }

    /// The fast decoder and the nibble state machine agree on random and near-valid input,
    /// including which error they report.
    #[test]
    fn fast_decoder_matches_reference() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..50_000 {
            let len = (next() % 40) as usize;
            let input: Vec<u8> = if round % 2 == 0 {
                (0..len).map(|_| next() as u8).collect()
            } else {
                // A valid encoding, possibly cut or with a flipped bit.
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        if next() % 4 == 0 {
                            next() as u8
                        } else {
                            b'a' + (next() % 26) as u8
                        }
                    })
                    .collect();
                let mut w = Vec::new();
                encode(&text, &mut w);
                match next() % 4 {
                    0 => {
                        let cut = (next() as usize) % (w.len() + 1);
                        w.truncate(cut);
                    }
                    1 if !w.is_empty() => {
                        let at = (next() as usize) % w.len();
                        w[at] ^= 1 << (next() % 8);
                    }
                    2 => w.extend_from_slice(&[0xff; 4][..(next() % 5) as usize]),
                    _ => {}
                }
                w
            };
            let mut fast = vec![1, 2, 3];
            let mut reference = vec![1, 2, 3];
            let a = decode(&input, &mut fast);
            let b = decode_nibble(&input, &mut reference);
            assert_eq!(a, b, "input {input:02x?}");
            assert_eq!(fast, reference, "input {input:02x?}");
        }
    }

    /// Bit-by-bit reference encoder.
    fn encode_reference(src: &[u8]) -> Vec<u8> {
        let mut bits: Vec<bool> = Vec::new();
        for &b in src {
            let (code, len) = CODES[b as usize];
            bits.extend((0..len).rev().map(|i| (code >> i) & 1 == 1));
        }
        while bits.len() % 8 != 0 {
            bits.push(true);
        }
        bits.chunks(8)
            .map(|byte| {
                byte.iter()
                    .fold(0u8, |acc, &bit| (acc << 1) | u8::from(bit))
            })
            .collect()
    }

    /// `encode_into` (both the four-codes-at-a-time path and the one-code path) agrees with the
    /// reference for every length limit, including the limits just below the encoded length.
    #[test]
    fn encode_into_matches_reference() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..5_000 {
            let len = (next() % 48) as usize;
            let src: Vec<u8> = (0..len)
                .map(|_| match round % 3 {
                    0 => next() as u8,
                    1 => b'a' + (next() % 26) as u8,
                    // Mostly text with some long codes mixed in.
                    _ if next() % 8 == 0 => 0xf0 | (next() as u8 & 0x0f),
                    _ => b'0' + (next() % 10) as u8,
                })
                .collect();
            let want = encode_reference(&src);
            let mut got = Vec::new();
            encode(&src, &mut got);
            assert_eq!(got, want, "src {src:02x?}");
            for max_len in 0..want.len() + 3 {
                let mut out = vec![0xa5; max_len + ENCODE_SLACK];
                let r = encode_into(&src, &mut out, max_len);
                if max_len >= want.len() {
                    assert_eq!(r, Some(want.len()), "src {src:02x?}, max {max_len}");
                    assert_eq!(out[..want.len()], want[..]);
                } else {
                    assert_eq!(r, None, "src {src:02x?}, max {max_len}");
                }
            }
        }
    }

    #[test]
    fn eos_is_rejected() {
        // 30 ones (EOS) + 2 padding ones.
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff], &mut Vec::new()),
            Err(DecodeError::HuffmanEos)
        );
    }
}
