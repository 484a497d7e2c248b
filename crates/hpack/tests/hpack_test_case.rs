//! Every story of the hpack-test-case folders that carry `wire` decodes to exactly the listed
//! headers, with one decoder per story and `header_table_size` applied before its case.

mod common;

use common::{decode_all, load_folder};
use ropewalk_hpack::Decoder;

/// Decodes every story in `folder`; returns (stories, cases, fields).
fn check_folder(folder: &str) -> (usize, usize, usize) {
    let stories = load_folder(folder);
    let (mut cases, mut fields) = (0, 0);
    for (path, story) in &stories {
        let mut decoder = Decoder::new();
        // Fields of real traffic can exceed the default list limit; this test is about RFC 7541.
        decoder.set_max_header_list_size(usize::MAX);
        for case in story {
            if let Some(size) = case.header_table_size {
                decoder.set_max_table_size(size);
            }
            let wire = case.wire.as_ref().expect("case has wire");
            let got = decode_all(&mut decoder, wire)
                .unwrap_or_else(|e| panic!("{} seqno {}: {e:?}", path.display(), case.seqno));
            let got: Vec<(Vec<u8>, Vec<u8>)> = got.into_iter().map(|(n, v, _)| (n, v)).collect();
            assert_eq!(got, case.headers, "{} seqno {}", path.display(), case.seqno);
            cases += 1;
            fields += got.len();
        }
    }
    eprintln!(
        "hpack-test-case/{folder}: {} stories, {cases} cases, {fields} fields decoded",
        stories.len()
    );
    (stories.len(), cases, fields)
}

#[test]
fn nghttp2() {
    let (stories, cases, _) = check_folder("nghttp2");
    assert_eq!(stories, 32);
    assert!(cases > 0);
}

#[test]
fn nghttp2_change_table_size() {
    let (stories, cases, _) = check_folder("nghttp2-change-table-size");
    assert_eq!(stories, 31);
    assert!(cases > 0);
}

#[test]
fn haskell_http2_linear() {
    let (stories, cases, _) = check_folder("haskell-http2-linear");
    assert_eq!(stories, 32);
    assert!(cases > 0);
}

#[test]
fn python_hpack() {
    let (stories, cases, _) = check_folder("python-hpack");
    assert_eq!(stories, 32);
    assert!(cases > 0);
}
