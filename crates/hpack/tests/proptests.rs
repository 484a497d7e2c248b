//! Property tests: random header lists round-trip; random bytes never panic the decoder.

mod common;

use common::decode_all;
use proptest::collection::vec;
use proptest::prelude::*;
use ropewalk_hpack::{Decoder, Encoder, Header, HuffmanMode, IndexPolicy};

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Names from the static table, so name references and full matches happen.
        prop::sample::select(vec![
            ":method",
            ":path",
            ":status",
            "cookie",
            "authorization",
            "date",
            "user-agent",
            "content-length",
            "accept-encoding",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        "[a-z0-9:-]{1,12}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..12),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec!["GET", "/", "gzip, deflate", "", "200", "x"])
            .prop_map(|s| s.as_bytes().to_vec()),
        vec(any::<u8>(), 0..40),
        vec(any::<u8>(), 0..300),
    ]
}

type Field = (Vec<u8>, Vec<u8>, bool);

fn header_list() -> impl Strategy<Value = Vec<Field>> {
    vec((name(), value(), any::<bool>()), 0..16)
}

fn policy() -> impl Strategy<Value = IndexPolicy> {
    prop::sample::select(vec![
        IndexPolicy::Default,
        IndexPolicy::All,
        IndexPolicy::None,
    ])
}

fn huffman_mode() -> impl Strategy<Value = HuffmanMode> {
    prop::sample::select(vec![
        HuffmanMode::Shorter,
        HuffmanMode::Always,
        HuffmanMode::Never,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn header_lists_round_trip(
        blocks in vec((header_list(), prop::option::of(0usize..5000)), 1..10),
        policy in policy(),
        mode in huffman_mode(),
    ) {
        let mut encoder = Encoder::new();
        encoder.set_index_policy(policy);
        encoder.set_huffman(mode);
        let mut decoder = Decoder::new();
        decoder.set_max_header_list_size(usize::MAX);
        for (list, size) in &blocks {
            if let Some(size) = *size {
                encoder.set_max_table_size(size);
                decoder.set_max_table_size(size);
            }
            let mut wire = Vec::new();
            encoder.encode(
                list.iter().map(|(n, v, s)| Header { name: n, value: v, sensitive: *s }),
                &mut wire,
            );
            let got = decode_all(&mut decoder, &wire).unwrap();
            prop_assert_eq!(got.len(), list.len());
            for ((n, v, sensitive), (gn, gv, never)) in list.iter().zip(&got) {
                prop_assert_eq!(n, gn);
                prop_assert_eq!(v, gv);
                if *sensitive {
                    prop_assert!(*never, "sensitive field lost its never-indexed flag");
                }
            }
            prop_assert_eq!(decoder.table_size(), encoder.table_size());
            prop_assert!(decoder.table_size() <= decoder.max_table_size());
        }
    }

    /// Blocks drawn from a few fields (one of them a whole static entry), so that a position
    /// often repeats the field it had in the block before (the encoder's shortcut for that)
    /// while table sizes, sensitivity and the policy change under it.
    #[test]
    fn repeated_positions_round_trip(
        blocks in vec(
            (
                vec((0usize..6, any::<bool>()), 0..10),
                prop::option::of(0usize..400),
                prop::option::of(policy()),
            ),
            1..24,
        ),
    ) {
        const POOL: [(&str, &str); 6] = [
            ("content-type", "text/plain"),
            ("vary", "accept-encoding"),
            ("x-request-id", "0123456789abcdef0123456789abcdef"),
            ("authorization", "Bearer 0123456789"),
            ("date", "Thu, 26 Nov 2026 20:45:18 GMT"),
            (":status", "200"),
        ];
        let mut encoder = Encoder::new();
        let mut decoder = Decoder::new();
        for (picks, size, policy) in &blocks {
            if let Some(size) = *size {
                encoder.set_max_table_size(size);
                decoder.set_max_table_size(size);
            }
            if let Some(policy) = *policy {
                encoder.set_index_policy(policy);
            }
            let mut wire = Vec::new();
            encoder.encode(
                picks.iter().map(|&(i, s)| Header {
                    name: POOL[i].0.as_bytes(),
                    value: POOL[i].1.as_bytes(),
                    sensitive: s,
                }),
                &mut wire,
            );
            let got = decode_all(&mut decoder, &wire).unwrap();
            prop_assert_eq!(got.len(), picks.len());
            for (&(i, sensitive), (gn, gv, never)) in picks.iter().zip(&got) {
                prop_assert_eq!(POOL[i].0.as_bytes(), &gn[..]);
                prop_assert_eq!(POOL[i].1.as_bytes(), &gv[..]);
                if sensitive {
                    prop_assert!(*never, "sensitive field lost its never-indexed flag");
                }
            }
            prop_assert_eq!(decoder.table_size(), encoder.table_size());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        blocks in vec(vec(any::<u8>(), 0..200), 1..6),
        ceiling in prop::option::of(0usize..8192),
        list_limit in 0usize..100_000,
    ) {
        let mut decoder = Decoder::new();
        decoder.set_max_header_list_size(list_limit);
        if let Some(c) = ceiling {
            decoder.set_max_table_size(c);
        }
        for block in &blocks {
            let mut total = 0usize;
            let result = decoder.decode(block, |f| total += f.name.len() + f.value.len() + 32);
            // Delivered bytes never exceed the limit, and the table never exceeds the ceiling.
            prop_assert!(total <= list_limit);
            prop_assert!(decoder.table_size() <= decoder.table_capacity());
            prop_assert!(decoder.table_capacity() <= decoder.max_table_size());
            if matches!(result, Err(e) if e.is_connection_error()) {
                break;
            }
        }
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_prefix_never_panic(
        list in header_list(),
        tail in vec(any::<u8>(), 0..100),
    ) {
        let mut encoder = Encoder::new();
        let mut wire = Vec::new();
        encoder.encode(list.iter().map(|(n, v, s)| Header { name: n, value: v, sensitive: *s }), &mut wire);
        let mut decoder = Decoder::new();
        decoder.set_max_header_list_size(usize::MAX);
        decode_all(&mut decoder, &wire).unwrap();
        // The same table state, then a block that is a valid block followed by garbage.
        let mut block = Vec::new();
        encoder.encode(list.iter().map(|(n, v, s)| Header { name: n, value: v, sensitive: *s }), &mut block);
        block.extend_from_slice(&tail);
        let _ = decoder.decode(&block, |_| {});
        prop_assert!(decoder.table_size() <= decoder.max_table_size());
    }
}
