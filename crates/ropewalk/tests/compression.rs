//! Response compression negotiated from `accept-encoding`, decoded by the
//! reference decoders of each format.

mod common;

use std::io::Read;

use common::{fetch, spawn};
use http::Request;
use ropewalk::server::Options;

fn decode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::decode_all(data).unwrap(),
        other => panic!("unexpected coding {other}"),
    }
    out
}

#[tokio::test]
async fn gzip_br_zstd_negotiated_and_decodable() {
    let s = spawn(
        ropewalk::demo::site(None).unwrap(),
        true,
        Options::default(),
    )
    .await;
    let mut c = s.client().await;
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=1.0, br;q=0.2", "gzip"),
    ] {
        let req = Request::get(s.url("/"))
            .header("accept-encoding", accept)
            .body(common::body(""))
            .unwrap();
        let (p, b, _) = fetch(&mut c, req).await;
        assert_eq!(p.status, 200);
        assert_eq!(p.headers["content-encoding"], coding, "{accept}");
        assert!(p.headers.get("content-length").is_none());
        assert!(
            p.headers["vary"]
                .to_str()
                .unwrap()
                .contains("accept-encoding")
        );
        assert!(b.len() < ropewalk::demo::INDEX_HTML.len());
        assert_eq!(
            decode(coding, &b),
            ropewalk::demo::INDEX_HTML.as_bytes(),
            "{accept}"
        );
    }
    // A large streamed text body (echo of a 2 MiB text upload), every byte.
    let text: String = (0..200_000).map(|i| format!("line {i}\n")).collect();
    for coding in ["gzip", "br", "zstd"] {
        let req = Request::post(s.url("/echo"))
            .header("accept-encoding", coding)
            .header("content-type", "text/plain")
            .body(common::body(text.clone()))
            .unwrap();
        let (p, b, _) = fetch(&mut c, req).await;
        assert_eq!(p.headers["content-encoding"], coding);
        assert!(b.len() < text.len() / 4);
        assert!(decode(coding, &b) == text.as_bytes(), "{coding} round trip");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn not_compressed_when_not_asked_or_not_worth_it() {
    let s = spawn(
        ropewalk::demo::site(None).unwrap(),
        false,
        Options::default(),
    )
    .await;
    let mut c = s.client().await;
    let cases = [
        ("/", None),                                 // no accept-encoding
        ("/hello", Some("gzip, br")),                // 13 octets: below the threshold
        ("/big?size=5000", Some("gzip, br")),        // octet-stream
        ("/stream?n=2&interval_ms=1", Some("gzip")), // event stream
        ("/", Some("identity")),
        ("/", Some("br;q=0, gzip;q=0")),
    ];
    for (path, accept) in cases {
        let mut req = Request::get(s.url(path));
        if let Some(a) = accept {
            req = req.header("accept-encoding", a);
        }
        let (p, b, _) = fetch(&mut c, req.body(common::body("")).unwrap()).await;
        assert!(
            p.headers.get("content-encoding").is_none(),
            "{path} {accept:?}"
        );
        if path == "/hello" {
            assert_eq!(&b[..], b"Hello, world!");
        }
    }
    s.shutdown().await;
}

/// Static files compressed on the fly keep working validators: the
/// compressed representation's ETag revalidates to 304.
#[tokio::test]
async fn compressed_static_file_revalidates() {
    let root = common::temp_dir("zstatic");
    let text: String = (0..2000).map(|i| format!("row {i}\n")).collect();
    std::fs::write(root.join("t.txt"), &text).unwrap();
    let s = spawn(
        ropewalk::demo::site(Some(&root)).unwrap(),
        false,
        Options::default(),
    )
    .await;
    let mut c = s.client().await;
    let url = s.url("/files/t.txt");
    let req = Request::get(&url)
        .header("accept-encoding", "br")
        .body(common::body(""))
        .unwrap();
    let (p, b, _) = fetch(&mut c, req).await;
    assert_eq!(p.headers["content-encoding"], "br");
    assert_eq!(decode("br", &b), text.as_bytes());
    let etag = p.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.ends_with("-br\""), "{etag}");
    let req = Request::get(&url)
        .header("accept-encoding", "br")
        .header("if-none-match", &etag)
        .body(common::body(""))
        .unwrap();
    let (p, b, _) = fetch(&mut c, req).await;
    assert_eq!(p.status, 304);
    assert!(b.is_empty());
    assert_eq!(p.headers["etag"].to_str().unwrap(), etag);
    // Ranges are served uncompressed.
    let req = Request::get(&url)
        .header("accept-encoding", "br")
        .header("range", "bytes=0-5")
        .body(common::body(""))
        .unwrap();
    let (p, b, _) = fetch(&mut c, req).await;
    assert_eq!(p.status, 206);
    assert_eq!(&b[..], b"row 0\n");
    s.shutdown().await;
}
