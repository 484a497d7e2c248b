//! HPACK encode and decode throughput over the whole `raw-data` corpus of
//! [hpack-test-case](../../../testdata/hpack-test-case/ORIGIN.md): ropewalk-hpack side by side
//! with other HPACK crates from crates.io, in the same run.
//!
//! ```text
//! cargo bench -p ropewalk-hpack --bench hpack_corpus
//! cargo bench -p ropewalk-hpack --bench hpack_corpus -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! One iteration is the whole corpus (32 stories, 3384 header blocks, 39359 fields):
//!
//! * `encode/<crate>`: every story with a fresh encoder (dynamic table size 4096), one
//!   header block at a time into a reused output buffer.
//! * `decode/<crate>`: every story with a fresh decoder, decoding that crate's own encoding of
//!   the story (made once, before measuring). The callback touches each name and value.
//! * `decode_same_input_huffman/<crate>` and `decode_same_input_plain/<crate>`: every decoder
//!   on the same input, ropewalk-hpack's encoding with Huffman coding where shorter (the
//!   default) and with none. `hpack` and `loona-hpack` never Huffman-code, so in `decode` their
//!   decoders never Huffman-decode while ours must; these two groups compare like with like.
//!
//! Throughput is reported per header field and in bytes, where the bytes are the
//! *uncompressed* header bytes (sum of name and value lengths, 1,162,372 for the corpus): the
//! same denominator for every crate and both directions, so MB/s compare directly even though
//! the crates' wire sizes differ (printed at start).
//!
//! Before measuring, each crate's round trip (its encoder, then its decoder) must give back
//! exactly the corpus' headers; a crate that fails is skipped with a loud message on stderr.
//!
//! Each crate is used in its fastest sensible way:
//!
//! * `ropewalk-hpack`: `Encoder::encode` into a reused `Vec`, `Decoder::decode` with a callback
//!   that borrows each field (no copies).
//! * `hpack` 0.3 and `loona-hpack` 0.4: `Encoder::encode_into` a reused `Vec` (these encoders
//!   never Huffman-code), `Decoder::decode_with_cb` (borrowed `Cow`s).
//! * `httlib-hpack` 0.1: its encoder takes owned `Vec<u8>` names and values (the copies are
//!   part of its API) with the flags of its documentation (`HUFFMAN_VALUE | WITH_INDEXING |
//!   BEST_FORMAT`); its decoder consumes a `Vec<u8>` input and fills a `Vec` of owned fields, so
//!   each block is copied into a reused input buffer and decoded with `decode_exact` into a
//!   reused output `Vec` (this avoids the one-element `Vec` that `decode` allocates per field).

use std::cell::RefCell;
use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serde_json::Value;

/// One header field of the corpus.
type Field = (Vec<u8>, Vec<u8>);
/// One header block: its fields in order.
type Block = Vec<Field>;
/// One story: its header blocks in order, to go through one encoder (or decoder).
type Story = Vec<Block>;
/// One story's header blocks as some encoder wrote them.
type WireStory = Vec<Vec<u8>>;

/// The dynamic table size every encoder and decoder works with.
const TABLE_SIZE: usize = 4096;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/hpack-test-case/raw-data")
}

fn load_corpus() -> Vec<Story> {
    let dir = corpus_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no stories in {}", dir.display());
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("readable story");
            let story: Value = serde_json::from_str(&text).expect("story is JSON");
            story["cases"]
                .as_array()
                .expect("story has cases")
                .iter()
                .map(|case| {
                    case["headers"]
                        .as_array()
                        .expect("case has headers")
                        .iter()
                        .flat_map(|h| h.as_object().expect("header is an object"))
                        .map(|(name, value)| {
                            let value = value.as_str().expect("header value is a string");
                            (name.as_bytes().to_vec(), value.as_bytes().to_vec())
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// One HPACK implementation under test.
trait Imp {
    /// The crate's name, as shown in the benchmark ids.
    const NAME: &'static str;

    /// Encodes every story with a fresh encoder; `out` holds each block's encoding in turn
    /// when `on_block` is called with it.
    fn encode_corpus(corpus: &[Story], out: &mut Vec<u8>, on_block: impl FnMut(&[u8]));

    /// Decodes every story with a fresh decoder, calling `on_field` with each field's name and
    /// value; then `on_block_end` after each block.
    fn decode_corpus(
        wire: &[WireStory],
        on_field: impl FnMut(&[u8], &[u8]),
        on_block_end: impl FnMut(),
    ) -> Result<(), String>;
}

struct Ropewalk;

impl Imp for Ropewalk {
    const NAME: &'static str = "ropewalk-hpack";

    fn encode_corpus(corpus: &[Story], out: &mut Vec<u8>, mut on_block: impl FnMut(&[u8])) {
        for story in corpus {
            let mut encoder = ropewalk_hpack::Encoder::new();
            encoder.set_max_table_size(TABLE_SIZE);
            for block in story {
                out.clear();
                encoder.encode(
                    block
                        .iter()
                        .map(|(n, v)| ropewalk_hpack::Header::new(n.as_slice(), v.as_slice())),
                    out,
                );
                on_block(out);
            }
        }
    }

    fn decode_corpus(
        wire: &[WireStory],
        mut on_field: impl FnMut(&[u8], &[u8]),
        mut on_block_end: impl FnMut(),
    ) -> Result<(), String> {
        for story in wire {
            let mut decoder = ropewalk_hpack::Decoder::new();
            decoder.set_max_table_size(TABLE_SIZE);
            // Generous limits: the corpus has long cookie headers and big blocks.
            decoder.set_max_header_list_size(1 << 20);
            decoder.set_max_field_count(1 << 16);
            for block in story {
                decoder
                    .decode(block, |f| on_field(f.name, f.value))
                    .map_err(|e| format!("{e:?}"))?;
                on_block_end();
            }
        }
        Ok(())
    }
}

struct Hpack03;

impl Imp for Hpack03 {
    const NAME: &'static str = "hpack-0.3";

    fn encode_corpus(corpus: &[Story], out: &mut Vec<u8>, mut on_block: impl FnMut(&[u8])) {
        for story in corpus {
            // Its encoder's dynamic table starts (and stays) at 4096.
            let mut encoder = hpack::Encoder::new();
            for block in story {
                out.clear();
                encoder
                    .encode_into(block.iter().map(|(n, v)| (n.as_slice(), v.as_slice())), out)
                    .expect("writing to a Vec cannot fail");
                on_block(out);
            }
        }
    }

    fn decode_corpus(
        wire: &[WireStory],
        mut on_field: impl FnMut(&[u8], &[u8]),
        mut on_block_end: impl FnMut(),
    ) -> Result<(), String> {
        for story in wire {
            let mut decoder = hpack::Decoder::new();
            decoder.set_max_table_size(TABLE_SIZE);
            for block in story {
                decoder
                    .decode_with_cb(block, |n, v| on_field(&n, &v))
                    .map_err(|e| format!("{e:?}"))?;
                on_block_end();
            }
        }
        Ok(())
    }
}

struct Loona;

impl Imp for Loona {
    const NAME: &'static str = "loona-hpack-0.4";

    fn encode_corpus(corpus: &[Story], out: &mut Vec<u8>, mut on_block: impl FnMut(&[u8])) {
        for story in corpus {
            let mut encoder = loona_hpack::Encoder::new();
            encoder.set_max_table_size(TABLE_SIZE);
            for block in story {
                out.clear();
                encoder
                    .encode_into(block.iter().map(|(n, v)| (n.as_slice(), v.as_slice())), out)
                    .expect("writing to a Vec cannot fail");
                on_block(out);
            }
        }
    }

    fn decode_corpus(
        wire: &[WireStory],
        mut on_field: impl FnMut(&[u8], &[u8]),
        mut on_block_end: impl FnMut(),
    ) -> Result<(), String> {
        for story in wire {
            let mut decoder = loona_hpack::Decoder::new();
            decoder.set_max_table_size(TABLE_SIZE);
            for block in story {
                decoder
                    .decode_with_cb(block, |n, v| on_field(&n, &v))
                    .map_err(|e| format!("{e:?}"))?;
                on_block_end();
            }
        }
        Ok(())
    }
}

struct Httlib;

impl Imp for Httlib {
    const NAME: &'static str = "httlib-hpack-0.1";

    fn encode_corpus(corpus: &[Story], out: &mut Vec<u8>, mut on_block: impl FnMut(&[u8])) {
        use httlib_hpack::Encoder;
        const FLAGS: u8 = Encoder::HUFFMAN_VALUE | Encoder::WITH_INDEXING | Encoder::BEST_FORMAT;
        for story in corpus {
            let mut encoder = Encoder::with_dynamic_size(TABLE_SIZE as u32);
            for block in story {
                out.clear();
                for (name, value) in block {
                    encoder
                        .encode((name.clone(), value.clone(), FLAGS), out)
                        .expect("httlib-hpack encodes the field");
                }
                on_block(out);
            }
        }
    }

    fn decode_corpus(
        wire: &[WireStory],
        mut on_field: impl FnMut(&[u8], &[u8]),
        mut on_block_end: impl FnMut(),
    ) -> Result<(), String> {
        let mut input = Vec::with_capacity(64 * 1024);
        // `decode_exact` decodes at most `capacity()` representations: more than any block has.
        let mut fields = Vec::with_capacity(4096);
        for story in wire {
            let mut decoder = httlib_hpack::Decoder::with_dynamic_size(TABLE_SIZE as u32);
            for block in story {
                input.clear();
                input.extend_from_slice(block);
                fields.clear();
                decoder
                    .decode_exact(&mut input, &mut fields)
                    .map_err(|e| format!("{e:?}"))?;
                if !input.is_empty() {
                    return Err(format!("{} bytes of a block left undecoded", input.len()));
                }
                for (name, value, _flags) in &fields {
                    on_field(name, value);
                }
                on_block_end();
            }
        }
        Ok(())
    }
}

/// Encodes the corpus with `I`'s encoder.
fn encode_all<I: Imp>(corpus: &[Story]) -> Vec<WireStory> {
    let mut wire: Vec<WireStory> = corpus.iter().map(|s| Vec::with_capacity(s.len())).collect();
    let lens: Vec<usize> = corpus.iter().map(Vec::len).collect();
    let mut story = 0;
    let mut out = Vec::new();
    I::encode_corpus(corpus, &mut out, |block| {
        while wire[story].len() == lens[story] {
            story += 1;
        }
        wire[story].push(block.to_vec());
    });
    wire
}

/// Checks that `I`'s decoder turns `wire` back into exactly the corpus' headers.
fn check_decode<I: Imp>(corpus: &[Story], wire: &[WireStory]) -> Result<(), String> {
    let decoded: RefCell<Vec<Block>> = RefCell::new(vec![Vec::new()]);
    catch_unwind(AssertUnwindSafe(|| {
        I::decode_corpus(
            wire,
            |n, v| {
                let mut decoded = decoded.borrow_mut();
                let block = decoded.last_mut().expect("a block");
                block.push((n.to_vec(), v.to_vec()));
            },
            || decoded.borrow_mut().push(Vec::new()),
        )
    }))
    .map_err(|_| "decoder panicked".to_owned())??;
    let mut decoded = decoded.into_inner();
    decoded.pop();
    let expected: Vec<&Block> = corpus.iter().flatten().collect();
    if decoded.len() != expected.len() {
        let (got, want) = (decoded.len(), expected.len());
        return Err(format!("{got} blocks decoded, {want} expected"));
    }
    match decoded
        .iter()
        .zip(&expected)
        .position(|(got, want)| got != *want)
    {
        Some(i) => Err(format!(
            "header block {i} (counting over all stories) differs"
        )),
        None => Ok(()),
    }
}

/// `I`'s encoding of the corpus, if its own decoder gives back exactly the corpus' headers.
fn round_trip<I: Imp>(corpus: &[Story]) -> Result<Vec<WireStory>, String> {
    let wire = catch_unwind(|| encode_all::<I>(corpus)).map_err(|_| "encoder panicked")?;
    check_decode::<I>(corpus, &wire)?;
    Ok(wire)
}

fn skip_loudly(name: &str, what: &str, why: &str) {
    let bang = "!".repeat(78);
    eprintln!("\n{bang}\n!!! SKIPPING {name} in {what}: it fails the correctness check:");
    eprintln!("!!!   {why}\n{bang}\n");
}

/// The criterion settings shared by every group: one iteration is the whole corpus.
fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
    throughput: &Throughput,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(throughput.clone());
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group
}

/// Benchmarks `I`'s encoder in `group`.
fn bench_encode<I: Imp>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    corpus: &[Story],
) {
    let mut out = Vec::with_capacity(64 * 1024);
    group.bench_function(I::NAME, |b| {
        b.iter(|| {
            I::encode_corpus(black_box(corpus), &mut out, |block| {
                black_box(block);
            })
        })
    });
}

/// Benchmarks `I`'s decoder on `wire` in `group`, if it decodes `wire` correctly.
fn bench_decode<I: Imp>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    group_name: &str,
    corpus: &[Story],
    wire: &[WireStory],
) {
    if let Err(why) = check_decode::<I>(corpus, wire) {
        skip_loudly(I::NAME, group_name, &why);
        return;
    }
    group.bench_function(I::NAME, |b| {
        b.iter(|| {
            I::decode_corpus(
                black_box(wire),
                |n, v| {
                    black_box((n, v));
                },
                || {},
            )
            .expect("decoded in the check")
        })
    });
}

/// ropewalk-hpack's encoding of the corpus with Huffman mode `huffman`.
fn ropewalk_wire(corpus: &[Story], huffman: ropewalk_hpack::HuffmanMode) -> Vec<WireStory> {
    corpus
        .iter()
        .map(|story| {
            let mut encoder = ropewalk_hpack::Encoder::new();
            encoder.set_max_table_size(TABLE_SIZE);
            encoder.set_huffman(huffman);
            story
                .iter()
                .map(|block| {
                    let mut out = Vec::new();
                    let headers = block.iter().map(|(n, v)| ropewalk_hpack::Header::new(n, v));
                    encoder.encode(headers, &mut out);
                    out
                })
                .collect()
        })
        .collect()
}

/// Calls `$f::<I>($args)` for every implementation `I`, ropewalk-hpack first.
macro_rules! each_imp {
    ($f:ident($($arg:expr),*)) => {
        [
            $f::<Ropewalk>($($arg),*),
            $f::<Hpack03>($($arg),*),
            $f::<Loona>($($arg),*),
            $f::<Httlib>($($arg),*),
        ]
    };
}

/// The round trip check of `I`: its encoding of the corpus, or `None` (loudly) if it fails.
fn checked<I: Imp>(corpus: &[Story]) -> Option<Vec<WireStory>> {
    match round_trip::<I>(corpus) {
        Ok(wire) => {
            let bytes: usize = wire.iter().flatten().map(Vec::len).sum();
            eprintln!(
                "{:>18}: round trip OK, corpus encoded into {bytes} bytes",
                I::NAME
            );
            Some(wire)
        }
        Err(why) => {
            skip_loudly(I::NAME, "encode and decode", &why);
            None
        }
    }
}

fn hpack_corpus(c: &mut Criterion) {
    let corpus = load_corpus();
    let fields: usize = corpus.iter().flatten().map(Vec::len).sum();
    let bytes: usize = corpus
        .iter()
        .flatten()
        .flatten()
        .map(|(n, v)| n.len() + v.len())
        .sum();
    eprintln!(
        "corpus: {} stories, {} header blocks, {fields} fields, {bytes} uncompressed header bytes",
        corpus.len(),
        corpus.iter().map(Vec::len).sum::<usize>(),
    );
    let throughput = Throughput::ElementsAndBytes {
        elements: fields as u64,
        bytes: bytes as u64,
    };
    let own_wire = each_imp!(checked(&corpus));

    // The headline comparison: each crate's encoder, and each decoder on its own encoder's
    // output.
    let mut g = group(c, "encode", &throughput);
    let [a, b, l, h] = &own_wire;
    if a.is_some() {
        bench_encode::<Ropewalk>(&mut g, &corpus)
    }
    if b.is_some() {
        bench_encode::<Hpack03>(&mut g, &corpus)
    }
    if l.is_some() {
        bench_encode::<Loona>(&mut g, &corpus)
    }
    if h.is_some() {
        bench_encode::<Httlib>(&mut g, &corpus)
    }
    g.finish();
    let mut g = group(c, "decode", &throughput);
    if let Some(w) = a {
        bench_decode::<Ropewalk>(&mut g, "decode", &corpus, w)
    }
    if let Some(w) = b {
        bench_decode::<Hpack03>(&mut g, "decode", &corpus, w)
    }
    if let Some(w) = l {
        bench_decode::<Loona>(&mut g, "decode", &corpus, w)
    }
    if let Some(w) = h {
        bench_decode::<Httlib>(&mut g, "decode", &corpus, w)
    }
    g.finish();

    // The decoders on the same input, since `hpack` and `loona-hpack` never Huffman-code (so
    // their decoders never Huffman-decode their own output): ropewalk-hpack's encoding, with
    // Huffman coding where shorter (the default) and without any.
    for (name, huffman) in [
        (
            "decode_same_input_huffman",
            ropewalk_hpack::HuffmanMode::Shorter,
        ),
        (
            "decode_same_input_plain",
            ropewalk_hpack::HuffmanMode::Never,
        ),
    ] {
        let wire = ropewalk_wire(&corpus, huffman);
        let mut g = group(c, name, &throughput);
        each_imp!(bench_decode(&mut g, name, &corpus, &wire));
        g.finish();
    }
}

criterion_group!(benches, hpack_corpus);
criterion_main!(benches);
