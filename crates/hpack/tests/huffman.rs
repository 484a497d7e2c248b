//! Huffman coding (RFC 7541 §5.2, Appendix B): every octet, the code table against the RFC
//! text, and the padding rules.

use ropewalk_hpack::{DecodeError, huffman};

#[test]
fn every_octet_round_trips_alone_and_together() {
    let all: Vec<u8> = (0..=255).collect();
    for &b in &all {
        let mut wire = vec![];
        huffman::encode(&[b], &mut wire);
        assert_eq!(wire.len(), huffman::encoded_len(&[b]));
        let mut back = vec![];
        huffman::decode(&wire, &mut back).unwrap();
        assert_eq!(back, [b], "octet {b}");
    }
    // All octets in a row, in every alignment.
    for shift in 0..8 {
        let input: Vec<u8> = all
            .iter()
            .cycle()
            .skip(shift)
            .take(256 + shift)
            .copied()
            .collect();
        let mut wire = vec![];
        huffman::encode(&input, &mut wire);
        assert_eq!(wire.len(), huffman::encoded_len(&input));
        let mut back = vec![];
        huffman::decode(&wire, &mut back).unwrap();
        assert_eq!(back, input);
    }
}

#[test]
fn each_octet_encodes_to_its_code() {
    // With the code in the high bits, padding with ones fills the rest of the bytes.
    for b in 0..=255usize {
        let (code, len) = huffman::CODES[b];
        let bytes = (len as usize).div_ceil(8);
        let pad = bytes * 8 - len as usize;
        let expect = ((u64::from(code) << pad) | ((1 << pad) - 1)).to_be_bytes();
        let mut wire = vec![];
        huffman::encode(&[b as u8], &mut wire);
        assert_eq!(wire, expect[8 - bytes..], "octet {b}");
    }
}

#[test]
fn decode_appends_and_leaves_output_alone_on_error() {
    let mut out = b"keep".to_vec();
    huffman::decode(&[0x1f], &mut out).unwrap(); // 'a' + 3 ones
    assert_eq!(out, b"keepa");
    assert_eq!(
        huffman::decode(&[0x18], &mut out),
        Err(DecodeError::HuffmanPaddingInvalid)
    );
    assert_eq!(out, b"keepa");
}

#[test]
fn empty_string() {
    let mut wire = vec![];
    huffman::encode(b"", &mut wire);
    assert!(wire.is_empty());
    let mut out = vec![];
    huffman::decode(&[], &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn padding_rules() {
    // Up to 7 bits of ones is fine: '0' (00000) + 3 ones; "00" (10 bits) + 6 ones.
    let mut out = vec![];
    huffman::decode(&[0x07], &mut out).unwrap();
    assert_eq!(out, b"0");
    // A whole byte of ones as padding is too long (RFC 7541 §5.2).
    assert_eq!(
        huffman::decode(&[0x07, 0xff], &mut vec![]),
        Err(DecodeError::HuffmanPaddingTooLong)
    );
    assert_eq!(
        huffman::decode(&[0xff], &mut vec![]),
        Err(DecodeError::HuffmanPaddingTooLong)
    );
    // A partial code that is not all ones.
    assert_eq!(
        huffman::decode(&[0x00, 0x00], &mut vec![]),
        Err(DecodeError::HuffmanPaddingInvalid)
    );
    // EOS spelled out, even if followed by more data.
    assert_eq!(
        huffman::decode(&[0xff, 0xff, 0xff, 0xfc, 0x00], &mut vec![]),
        Err(DecodeError::HuffmanEos)
    );
}

/// The code table matches the text of RFC 7541 Appendix B (copied into tests/data).
#[test]
fn code_table_matches_rfc_text() {
    let text = include_str!("data/rfc7541-appendix-b.txt");
    let mut rows = vec![];
    for line in text.lines() {
        // e.g. "    ' ' ( 32)  |010100                                        14  [ 6]"
        // The symbol is the first "(NNN)" group; the ASCII form before it may itself be '('.
        let Some((open, close, sym)) = line.match_indices('(').find_map(|(open, _)| {
            let close = line[open..].find(')')?;
            let sym = line[open + 1..open + close].trim().parse::<usize>().ok()?;
            Some((open, close, sym))
        }) else {
            continue;
        };
        let rest = &line[open + close + 1..];
        let Some(bar) = rest.find('|') else { continue };
        let fields: Vec<&str> = rest[bar..].split_whitespace().collect();
        let bits: String = fields[0]
            .chars()
            .filter(|c| *c == '0' || *c == '1')
            .collect();
        let hex = u32::from_str_radix(fields[1], 16).unwrap();
        let len: u8 = rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()]
            .trim()
            .parse()
            .unwrap();
        assert_eq!(bits.len(), len as usize, "symbol {sym}");
        assert_eq!(u32::from_str_radix(&bits, 2).unwrap(), hex, "symbol {sym}");
        rows.push((sym, hex, len));
    }
    assert_eq!(rows.len(), 257);
    for (sym, code, len) in rows {
        assert_eq!(huffman::CODES[sym], (code, len), "symbol {sym}");
    }
}
