//! The encoder's shortcut for a field repeated at the same position of consecutive blocks (as
//! responses repeat theirs): the same index as a lookup would find, never for a field that must
//! go as a literal.

mod common;

use common::decode_all;
use ropewalk_hpack::{Decoder, Encoder, Header, IndexPolicy};

fn block(encoder: &mut Encoder, fields: &[Header<'_>]) -> Vec<u8> {
    let mut wire = Vec::new();
    encoder.encode(fields.iter().copied(), &mut wire);
    wire
}

/// RFC 7541 §6.1: a field already in the dynamic table goes as one octet, its index.
#[test]
fn a_repeated_response_is_one_octet_per_field() {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let fields = [
        Header::new(b":status", b"200"),
        Header::new(b"content-type", b"text/plain"),
        Header::new(b"vary", b"accept-encoding"),
        Header::new(b"date", b"Thu, 26 Nov 2026 20:45:18 GMT"),
    ];
    let first = block(&mut encoder, &fields);
    assert!(first.len() > 20, "{first:02x?}");
    decode_all(&mut decoder, &first).unwrap();
    for _ in 0..3 {
        let again = block(&mut encoder, &fields);
        // :status 200 is static index 8; the others the newest three dynamic entries
        // (62 = date, 63 = vary, 64 = content-type), RFC 7541 §2.3.3.
        assert_eq!(again, [0x88, 0x80 | 64, 0x80 | 63, 0x80 | 62]);
        let got = decode_all(&mut decoder, &again).unwrap();
        assert_eq!(got[3].1, b"Thu, 26 Nov 2026 20:45:18 GMT");
    }
    // A field that changed at a position is looked up (and inserted) as usual.
    let next = block(
        &mut encoder,
        &[
            Header::new(b":status", b"200"),
            Header::new(b"content-type", b"text/plain"),
            Header::new(b"vary", b"accept-encoding"),
            Header::new(b"date", b"Thu, 26 Nov 2026 20:45:19 GMT"),
        ],
    );
    assert_eq!(next[..3], [0x88, 0x80 | 64, 0x80 | 63]);
    assert_eq!(next[3] & 0xc0, 0x40, "{next:02x?}");
    let got = decode_all(&mut decoder, &next).unwrap();
    assert_eq!(got[3].1, b"Thu, 26 Nov 2026 20:45:19 GMT");
    // A static entry too: 404 where 200 was is static index 13 (RFC 7541 Appendix A).
    let not_found = block(&mut encoder, &[Header::new(b":status", b"404")]);
    assert_eq!(not_found, [0x80 | 13]);
    assert_eq!(
        block(&mut encoder, &[Header::new(b":status", b"200")]),
        [0x88]
    );
}

/// RFC 7541 §7.1.3: a sensitive field goes as a never-indexed literal even when the same name
/// and value, not sensitive, sat at that position in the block before.
#[test]
fn a_sensitive_repeat_is_still_a_never_indexed_literal() {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let plain = [Header::new(b"x-token", b"abc")];
    decode_all(&mut decoder, &block(&mut encoder, &plain)).unwrap();
    assert_eq!(block(&mut encoder, &plain), [0x80 | 62]);
    let secret = block(&mut encoder, &[Header::sensitive(b"x-token", b"abc")]);
    assert_eq!(secret[0] & 0xf0, 0x10, "{secret:02x?}");
    let got = decode_all(&mut decoder, &secret).unwrap();
    assert!(got[0].2, "not never-indexed");
}

/// A change of policy applies at once: `authorization` indexed under `All` goes as a
/// never-indexed literal under `Default` (RFC 7541 §7.1.3), not as the entry it left behind.
#[test]
fn a_new_policy_is_not_bypassed() {
    let mut encoder = Encoder::new();
    encoder.set_index_policy(IndexPolicy::All);
    let auth = [Header::new(b"authorization", b"Bearer 0123456789")];
    block(&mut encoder, &auth);
    assert_eq!(block(&mut encoder, &auth), [0x80 | 62]);
    encoder.set_index_policy(IndexPolicy::Default);
    let after = block(&mut encoder, &auth);
    assert_eq!(after[0] & 0xf0, 0x10, "{after:02x?}");
}

/// An entry evicted since it was sent is not referred to: the field goes as a literal again.
#[test]
fn an_evicted_entry_is_not_referred_to() {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let a = [Header::new(b"x-a", b"0123456789")];
    decode_all(&mut decoder, &block(&mut encoder, &a)).unwrap();
    assert_eq!(block(&mut encoder, &a), [0x80 | 62]);
    decode_all(&mut decoder, &[0x80 | 62]).unwrap();
    // The peer empties its table (RFC 7541 §4.3) and allows one again.
    for n in [0, 4096] {
        encoder.set_max_table_size(n);
        decoder.set_max_table_size(n);
    }
    let wire = block(&mut encoder, &a);
    // Size updates to 0 and to 4096 (RFC 7541 §6.3), then a literal with incremental indexing.
    assert_eq!(wire[..4], [0x20, 0x3f, 0xe1, 0x1f]);
    assert_eq!(wire[4] & 0xc0, 0x40, "{wire:02x?}");
    let got = decode_all(&mut decoder, &wire).unwrap();
    assert_eq!(
        (&got[0].0[..], &got[0].1[..]),
        (&b"x-a"[..], &b"0123456789"[..])
    );
    assert_eq!(encoder.table_len(), 1);
}
