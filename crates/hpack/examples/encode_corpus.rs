//! Encodes every `raw-data` story of the hpack-test-case corpus with ropewalk's encoder and
//! writes the result in the corpus' own story format, so that an independent decoder can check
//! it (see `interop/hpack/check_with_python_hpack.py`).
//!
//! ```text
//! cargo run -p ropewalk-hpack --example encode_corpus -- OUT_DIR
//! ```
//!
//! Four variants are written, one folder each: the peer's table size fixed at 4096, 256 and 0,
//! and `changing`, where the size moves between 4096, 1024, 0 and 2048 every few blocks (so the
//! encoder has to emit dynamic table size updates mid-story, RFC 7541 §4.2).

use std::path::{Path, PathBuf};

use ropewalk_hpack::{Encoder, Header};
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/hpack-test-case/raw-data")
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The table size the peer has acknowledged before block `seqno` in a variant.
fn table_size(variant: &str, seqno: usize) -> usize {
    match variant {
        "4096" => 4096,
        "256" => 256,
        "0" => 0,
        _ => [4096, 1024, 0, 2048][(seqno / 3) % 4],
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: encode_corpus OUT_DIR")?;
    let mut stories: Vec<PathBuf> = std::fs::read_dir(corpus_dir())?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    stories.retain(|p| p.extension().is_some_and(|e| e == "json"));
    stories.sort();
    if stories.is_empty() {
        return Err(format!("no stories in {}", corpus_dir().display()).into());
    }
    let mut blocks = 0usize;
    for variant in ["4096", "256", "0", "changing"] {
        let dir = out.join(variant);
        std::fs::create_dir_all(&dir)?;
        for path in &stories {
            let story: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
            let cases = story["cases"].as_array().ok_or("story without cases")?;
            let mut encoder = Encoder::new();
            let mut written = Vec::with_capacity(cases.len());
            let mut wire = Vec::new();
            for (seqno, case) in cases.iter().enumerate() {
                let size = table_size(variant, seqno);
                encoder.set_max_table_size(size);
                let pairs: Vec<(String, String)> = case["headers"]
                    .as_array()
                    .ok_or("case without headers")?
                    .iter()
                    .filter_map(|h| h.as_object())
                    .flat_map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    })
                    .collect();
                wire.clear();
                encoder.encode(
                    pairs
                        .iter()
                        .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes())),
                    &mut wire,
                );
                blocks += 1;
                written.push(json!({
                    "seqno": seqno,
                    "header_table_size": size,
                    "wire": hex(&wire),
                    "headers": case["headers"].clone(),
                }));
            }
            let name = path.file_name().ok_or("story without a file name")?;
            let doc = json!({
                "description": format!("ropewalk-hpack encoder, peer table size {variant}"),
                "cases": written,
            });
            std::fs::write(dir.join(name), serde_json::to_string(&doc)?)?;
        }
    }
    eprintln!(
        "encoded {} stories x 4 variants ({blocks} header blocks) into {}",
        stories.len(),
        out.display()
    );
    Ok(())
}
