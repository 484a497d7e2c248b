//! RFC 7541 Appendix C, byte for byte, in both directions.

mod common;

use common::{decode_all, hex};
use ropewalk_hpack::{Decoder, Encoder, Header, HuffmanMode, IndexPolicy, integer};

type Pairs = &'static [(&'static str, &'static str)];

fn owned(list: Pairs) -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    list.iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec(), false))
        .collect()
}

fn headers(list: Pairs) -> Vec<Header<'static>> {
    list.iter()
        .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes()))
        .collect()
}

fn decoder_table(d: &Decoder) -> Vec<(String, String)> {
    (1..=d.table_len())
        .map(|i| {
            let (n, v) = d.table_entry(i).unwrap();
            (
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn encoder_table(e: &Encoder) -> Vec<(String, String)> {
    (1..=e.table_len())
        .map(|i| {
            let (n, v) = e.table_entry(i).unwrap();
            (
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn strings(list: Pairs) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// One block of a C.3-C.6 sequence: headers, wire, table after (newest first), table size.
struct Step {
    headers: Pairs,
    wire: &'static str,
    table: Pairs,
    size: usize,
}

fn run_sequence(steps: &[Step], table_size: usize, huffman: HuffmanMode) {
    let mut decoder = Decoder::with_max_table_size(table_size);
    let mut encoder = Encoder::with_max_table_size(table_size);
    encoder.set_huffman(huffman);
    encoder.set_index_policy(IndexPolicy::All);
    for (i, step) in steps.iter().enumerate() {
        let wire = hex(step.wire);
        // Decoding direction.
        let got = decode_all(&mut decoder, &wire).unwrap();
        assert_eq!(got, owned(step.headers), "block {i}: decoded headers");
        assert_eq!(
            decoder_table(&decoder),
            strings(step.table),
            "block {i}: decoder table"
        );
        assert_eq!(
            decoder.table_size(),
            step.size,
            "block {i}: decoder table size"
        );
        // Encoding direction.
        let mut out = Vec::new();
        encoder.encode(headers(step.headers), &mut out);
        assert_eq!(
            hex_string(&out),
            hex_string(&wire),
            "block {i}: encoded bytes"
        );
        assert_eq!(
            encoder_table(&encoder),
            strings(step.table),
            "block {i}: encoder table"
        );
        assert_eq!(
            encoder.table_size(),
            step.size,
            "block {i}: encoder table size"
        );
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn c1_integers() {
    // C.1.1: 10 with a 5-bit prefix.
    let mut buf = Vec::new();
    integer::encode(10, 5, 0, &mut buf);
    assert_eq!(buf, [0x0a]);
    assert_eq!(
        integer::decode(&[0xea], 5),
        Ok((10, 1)),
        "high bits are ignored"
    );
    // C.1.2: 1337 with a 5-bit prefix.
    buf.clear();
    integer::encode(1337, 5, 0, &mut buf);
    assert_eq!(buf, [0x1f, 0x9a, 0x0a]);
    assert_eq!(integer::decode(&buf, 5), Ok((1337, 3)));
    // C.1.3: 42 on an octet boundary (8-bit prefix).
    buf.clear();
    integer::encode(42, 8, 0, &mut buf);
    assert_eq!(buf, [0x2a]);
    assert_eq!(integer::decode(&buf, 8), Ok((42, 1)));
}

#[test]
fn c2_1_literal_with_indexing() {
    let wire = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    let mut d = Decoder::new();
    assert_eq!(
        decode_all(&mut d, &wire).unwrap(),
        owned(&[("custom-key", "custom-header")])
    );
    assert_eq!(
        decoder_table(&d),
        strings(&[("custom-key", "custom-header")])
    );
    assert_eq!(d.table_size(), 55);

    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    let mut out = Vec::new();
    e.encode([Header::new(b"custom-key", b"custom-header")], &mut out);
    assert_eq!(out, wire);
    assert_eq!(e.table_size(), 55);
}

#[test]
fn c2_2_literal_without_indexing() {
    let wire = hex("040c 2f73 616d 706c 652f 7061 7468");
    let mut d = Decoder::new();
    assert_eq!(
        decode_all(&mut d, &wire).unwrap(),
        owned(&[(":path", "/sample/path")])
    );
    assert_eq!(d.table_len(), 0);

    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    e.set_index_policy(IndexPolicy::None);
    let mut out = Vec::new();
    e.encode([Header::new(b":path", b"/sample/path")], &mut out);
    assert_eq!(out, wire);
    assert_eq!(e.table_len(), 0);
}

#[test]
fn c2_3_literal_never_indexed() {
    let wire = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    let mut d = Decoder::new();
    assert_eq!(
        decode_all(&mut d, &wire).unwrap(),
        vec![(b"password".to_vec(), b"secret".to_vec(), true)],
        "never_indexed must be set"
    );
    assert_eq!(d.table_len(), 0);

    let mut e = Encoder::new();
    e.set_huffman(HuffmanMode::Never);
    let mut out = Vec::new();
    e.encode([Header::sensitive(b"password", b"secret")], &mut out);
    assert_eq!(out, wire);
    assert_eq!(e.table_len(), 0);
}

#[test]
fn c2_4_indexed() {
    let mut d = Decoder::new();
    let got = decode_all(&mut d, &[0x82]).unwrap();
    assert_eq!(got, owned(&[(":method", "GET")]));
    assert!(!got[0].2, "an indexed field is not never-indexed");
    assert_eq!(d.table_len(), 0);

    let mut e = Encoder::new();
    let mut out = Vec::new();
    e.encode([Header::new(b":method", b"GET")], &mut out);
    assert_eq!(out, [0x82]);
}

const REQ1: Pairs = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const REQ2: Pairs = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQ3: Pairs = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const REQ_T1: Pairs = &[(":authority", "www.example.com")];
const REQ_T2: Pairs = &[
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];
const REQ_T3: Pairs = &[
    ("custom-key", "custom-value"),
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];

#[test]
fn c3_requests_without_huffman() {
    run_sequence(
        &[
            Step {
                headers: REQ1,
                wire: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                table: REQ_T1,
                size: 57,
            },
            Step {
                headers: REQ2,
                wire: "8286 84be 5808 6e6f 2d63 6163 6865",
                table: REQ_T2,
                size: 110,
            },
            Step {
                headers: REQ3,
                wire: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                table: REQ_T3,
                size: 164,
            },
        ],
        4096,
        HuffmanMode::Never,
    );
}

#[test]
fn c4_requests_with_huffman() {
    let steps = [
        Step {
            headers: REQ1,
            wire: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            table: REQ_T1,
            size: 57,
        },
        Step {
            headers: REQ2,
            wire: "8286 84be 5886 a8eb 1064 9cbf",
            table: REQ_T2,
            size: 110,
        },
        Step {
            headers: REQ3,
            wire: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            table: REQ_T3,
            size: 164,
        },
    ];
    run_sequence(&steps, 4096, HuffmanMode::Always);
    // Every string in C.4 is shorter Huffman-coded, so the default mode gives the same bytes.
    run_sequence(&steps, 4096, HuffmanMode::Shorter);
}

const RESP1: Pairs = &[
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const RESP2: Pairs = &[
    (":status", "307"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const RESP3: Pairs = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    (
        "set-cookie",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ),
];
const RESP_T1: Pairs = &[
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
    (":status", "302"),
];
const RESP_T2: Pairs = &[
    (":status", "307"),
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
];
const RESP_T3: Pairs = &[
    (
        "set-cookie",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ),
    ("content-encoding", "gzip"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
];

#[test]
fn c5_responses_without_huffman() {
    run_sequence(
        &[
            Step {
                headers: RESP1,
                wire: "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                       6c65 2e63 6f6d",
                table: RESP_T1,
                size: 222,
            },
            Step {
                headers: RESP2,
                wire: "4803 3330 37c1 c0bf",
                table: RESP_T2,
                size: 222,
            },
            Step {
                headers: RESP3,
                wire: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
                       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
                       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
                       3d31",
                table: RESP_T3,
                size: 215,
            },
        ],
        256,
        HuffmanMode::Never,
    );
}

#[test]
fn c6_responses_with_huffman() {
    let steps = [
        Step {
            headers: RESP1,
            wire: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            table: RESP_T1,
            size: 222,
        },
        Step {
            headers: RESP2,
            wire: "4883 640e ffc1 c0bf",
            table: RESP_T2,
            size: 222,
        },
        Step {
            headers: RESP3,
            wire: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
                   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                   9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            table: RESP_T3,
            size: 215,
        },
    ];
    // Only with `Always`: "307" is 3 bytes either way, and `Shorter` then keeps it plain.
    run_sequence(&steps, 256, HuffmanMode::Always);
}
