//! Encoder → decoder round trips over every `raw-data` story, at several table sizes and with
//! size changes mid-story, plus the compression figure against nghttp2's encoding.

mod common;

use common::{Case, decode_all, load_folder};
use ropewalk_hpack::{Decoder, Encoder, Header};

/// Round-trips one story; `size_for(seqno)` is the table size both sides agree on before each
/// case (the decoder's ceiling = the encoder's peer setting). Returns the encoded bytes.
fn round_trip(story: &[Case], size_for: impl Fn(usize) -> usize) -> usize {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    decoder.set_max_header_list_size(usize::MAX);
    let mut total = 0;
    let mut wire = Vec::new();
    for (i, case) in story.iter().enumerate() {
        let size = size_for(i);
        encoder.set_max_table_size(size);
        decoder.set_max_table_size(size);
        wire.clear();
        encoder.encode(
            case.headers.iter().map(|(n, v)| Header::new(n, v)),
            &mut wire,
        );
        total += wire.len();
        let got = decode_all(&mut decoder, &wire)
            .unwrap_or_else(|e| panic!("case {i} at size {size}: {e:?}"));
        let got: Vec<(Vec<u8>, Vec<u8>)> = got.into_iter().map(|(n, v, _)| (n, v)).collect();
        assert_eq!(got, case.headers, "case {i} at size {size}");
        assert_eq!(
            decoder.table_size(),
            encoder.table_size(),
            "case {i}: table sizes agree"
        );
        assert_eq!(
            decoder.table_len(),
            encoder.table_len(),
            "case {i}: entry counts agree"
        );
        assert!(encoder.table_size() <= size);
    }
    total
}

fn raw_stories() -> Vec<Vec<Case>> {
    let stories: Vec<Vec<Case>> = load_folder("raw-data").into_iter().map(|s| s.1).collect();
    assert_eq!(stories.len(), 32, "raw-data stories");
    stories
}

#[test]
fn fixed_table_sizes() {
    let stories = raw_stories();
    for size in [4096, 256, 0] {
        let mut cases = 0;
        let mut bytes = 0;
        for story in &stories {
            bytes += round_trip(story, |_| size);
            cases += story.len();
        }
        eprintln!("raw-data at table size {size}: {cases} cases, {bytes} bytes encoded");
    }
}

#[test]
fn changing_table_sizes() {
    let stories = raw_stories();
    let sizes = [4096, 1024, 0, 4096, 2048, 100];
    for every in [1, 3, 7] {
        for story in &stories {
            round_trip(story, |i| sizes[(i / every) % sizes.len()]);
        }
    }
}

#[test]
fn several_size_changes_between_blocks() {
    // The peer lowers then raises its setting before the next block: the encoder must signal the
    // minimum then the final size (RFC 7541 §4.2), which the decoder requires.
    let stories = raw_stories();
    for story in &stories {
        let mut encoder = Encoder::new();
        let mut decoder = Decoder::new();
        decoder.set_max_header_list_size(usize::MAX);
        let mut wire = Vec::new();
        for (i, case) in story.iter().enumerate() {
            if i % 5 == 4 {
                for s in [2048, 512, 3000] {
                    encoder.set_max_table_size(s);
                    decoder.set_max_table_size(s);
                }
            }
            wire.clear();
            encoder.encode(
                case.headers.iter().map(|(n, v)| Header::new(n, v)),
                &mut wire,
            );
            let got = decode_all(&mut decoder, &wire).unwrap();
            assert_eq!(got.len(), case.headers.len());
            assert_eq!(decoder.table_size(), encoder.table_size());
        }
    }
}

/// The compression figure: our encoding of raw-data at table size 4096 must not be larger
/// than nghttp2's encoding of the same stories (the `nghttp2` folder's wire bytes).
#[test]
fn compression_not_worse_than_nghttp2() {
    let stories = raw_stories();
    let ours: usize = stories.iter().map(|s| round_trip(s, |_| 4096)).sum();
    let nghttp2 = load_folder("nghttp2");
    assert_eq!(nghttp2.len(), stories.len());
    let mut theirs = 0;
    for ((_, ng), raw) in nghttp2.iter().zip(&stories) {
        assert_eq!(ng.len(), raw.len(), "same story");
        for (a, b) in ng.iter().zip(raw) {
            assert_eq!(a.headers, b.headers, "same headers");
            theirs += a.wire.as_ref().unwrap().len();
        }
    }
    let raw_bytes: usize = stories
        .iter()
        .flatten()
        .flat_map(|c| &c.headers)
        .map(|(n, v)| n.len() + v.len())
        .sum();
    eprintln!(
        "compression: raw-data {raw_bytes} header bytes; ropewalk {ours} bytes ({:.2}%), nghttp2 {theirs} bytes ({:.2}%)",
        100.0 * ours as f64 / raw_bytes as f64,
        100.0 * theirs as f64 / raw_bytes as f64
    );
    assert!(ours <= theirs, "ours {ours} > nghttp2 {theirs}");
}
