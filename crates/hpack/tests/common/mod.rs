//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ropewalk_hpack::{DecodeError, Decoder};

/// Parses hex with optional whitespace (`"8286 8441"`).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd hex length");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// An owned decoded field: (name, value, never_indexed).
pub type Owned = (Vec<u8>, Vec<u8>, bool);

/// Decodes a block into owned fields.
pub fn decode_all(decoder: &mut Decoder, block: &[u8]) -> Result<Vec<Owned>, DecodeError> {
    let mut out = Vec::new();
    decoder.decode(block, |f| {
        out.push((f.name.to_vec(), f.value.to_vec(), f.never_indexed))
    })?;
    Ok(out)
}

/// The hpack-test-case directory in the repository.
pub fn corpus_root() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/hpack-test-case"
    ))
}

/// One case of a story: optional table size, optional wire bytes, headers in order.
pub struct Case {
    pub seqno: u64,
    pub header_table_size: Option<usize>,
    pub wire: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Loads every `story_*.json` of `folder`, sorted by file name.
pub fn load_folder(folder: &str) -> Vec<(PathBuf, Vec<Case>)> {
    let dir = corpus_root().join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let cases = load_story(&p);
            (p, cases)
        })
        .collect()
}

fn load_story(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            seqno: c["seqno"].as_u64().unwrap_or(0),
            header_table_size: c
                .get("header_table_size")
                .and_then(|s| s.as_u64())
                .map(|s| s as usize),
            wire: c.get("wire").and_then(|w| w.as_str()).map(hex),
            headers: c["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .flat_map(|h| {
                    h.as_object()
                        .expect("header object")
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_bytes().to_vec(),
                                v.as_str().unwrap().as_bytes().to_vec(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        })
        .collect()
}
