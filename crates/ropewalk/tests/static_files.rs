//! The static directory handler under `/files/` of the demo router.

mod common;

use common::{TestServer, fetch, spawn, temp_dir};
use http::{Request, StatusCode};
use ropewalk::server::Options;

struct Site {
    server: TestServer,
    _root: std::path::PathBuf,
}

async fn site() -> Site {
    let base = temp_dir("static");
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("a.txt"), "0123456789abcdefghij").unwrap();
    std::fs::write(root.join("page.html"), "<p>hi</p>").unwrap();
    std::fs::write(root.join("sub/index.html"), "index of sub").unwrap();
    std::fs::write(root.join("data.bin"), vec![7u8; 200_000]).unwrap();
    std::fs::write(base.join("secret.txt"), "do not serve").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("secret.txt"), root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink(&base, root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("inside.txt")).unwrap();
    }
    let server = spawn(
        ropewalk::demo::router(Some(&root)).unwrap(),
        false,
        Options::default(),
    )
    .await;
    Site {
        server,
        _root: base,
    }
}

fn req(url: &str, headers: &[(&str, &str)]) -> Request<ropewalk::body::BoxBody> {
    let mut b = Request::get(url);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(common::body("")).unwrap()
}

#[tokio::test]
async fn serves_files_with_types_and_validators() {
    let s = site().await;
    let mut c = s.server.client().await;
    let (p, b, _) = fetch(&mut c, req(&s.server.url("/files/a.txt"), &[])).await;
    assert_eq!(p.status, 200);
    assert_eq!(&b[..], b"0123456789abcdefghij");
    assert_eq!(p.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(p.headers["content-length"], "20");
    assert_eq!(p.headers["accept-ranges"], "bytes");
    let etag = p.headers["etag"].to_str().unwrap().to_owned();
    let lm = p.headers["last-modified"].to_str().unwrap().to_owned();

    let (p, b, _) = fetch(
        &mut c,
        req(&s.server.url("/files/a.txt"), &[("if-none-match", &etag)]),
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_MODIFIED);
    assert!(b.is_empty());
    let (p, _, _) = fetch(
        &mut c,
        req(
            &s.server.url("/files/a.txt"),
            &[("if-none-match", "\"other\"")],
        ),
    )
    .await;
    assert_eq!(p.status, 200);
    let (p, _, _) = fetch(
        &mut c,
        req(&s.server.url("/files/a.txt"), &[("if-modified-since", &lm)]),
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_MODIFIED);
    let (p, _, _) = fetch(
        &mut c,
        req(
            &s.server.url("/files/a.txt"),
            &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        ),
    )
    .await;
    assert_eq!(p.status, 200);

    let (p, b, _) = fetch(&mut c, req(&s.server.url("/files/page.html"), &[])).await;
    assert_eq!(p.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(&b[..], b"<p>hi</p>");
    let (p, b, _) = fetch(&mut c, req(&s.server.url("/files/sub/"), &[])).await;
    assert_eq!(p.status, 200);
    assert_eq!(&b[..], b"index of sub");
    let (p, b, _) = fetch(&mut c, req(&s.server.url("/files/data.bin"), &[])).await;
    assert_eq!(p.headers["content-type"], "application/octet-stream");
    assert_eq!(b.len(), 200_000);
    assert!(b.iter().all(|&x| x == 7));
    let (p, _, _) = fetch(&mut c, req(&s.server.url("/files/missing"), &[])).await;
    assert_eq!(p.status, 404);

    let head = Request::head(s.server.url("/files/a.txt"))
        .body(common::body(""))
        .unwrap();
    let (p, b, _) = fetch(&mut c, head).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.headers["content-length"], "20");
    assert!(b.is_empty());
    let post = Request::post(s.server.url("/files/a.txt"))
        .body(common::body("x"))
        .unwrap();
    let (p, _, _) = fetch(&mut c, post).await;
    assert_eq!(p.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn range_requests() {
    let s = site().await;
    let mut c = s.server.client().await;
    let url = s.server.url("/files/a.txt");
    let (p, b, _) = fetch(&mut c, req(&url, &[("range", "bytes=2-5")])).await;
    assert_eq!(p.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&b[..], b"2345");
    assert_eq!(p.headers["content-range"], "bytes 2-5/20");
    assert_eq!(p.headers["content-length"], "4");
    let (_, b, _) = fetch(&mut c, req(&url, &[("range", "bytes=-3")])).await;
    assert_eq!(&b[..], b"hij");
    let (_, b, _) = fetch(&mut c, req(&url, &[("range", "bytes=15-")])).await;
    assert_eq!(&b[..], b"fghij");
    let (p, _, _) = fetch(&mut c, req(&url, &[("range", "bytes=20-")])).await;
    assert_eq!(p.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(p.headers["content-range"], "bytes */20");
    // If-Range with a stale validator: the whole file.
    let (p, b, _) = fetch(
        &mut c,
        req(&url, &[("range", "bytes=0-1"), ("if-range", "\"stale\"")]),
    )
    .await;
    assert_eq!(p.status, 200);
    assert_eq!(b.len(), 20);
    // A range of the larger file, every byte.
    let (p, b, _) = fetch(
        &mut c,
        req(
            &s.server.url("/files/data.bin"),
            &[("range", "bytes=100000-199999")],
        ),
    )
    .await;
    assert_eq!(p.status, 206);
    assert_eq!(b.len(), 100_000);
}

#[tokio::test]
async fn no_escaping_the_root() {
    let s = site().await;
    let mut c = s.server.client().await;
    for path in [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/sub/%2E%2E/%2E%2E/secret.txt",
        "/files/..%2fsecret.txt",
        "/files/escape.txt",
        "/files/up/secret.txt",
    ] {
        let (p, b, _) = fetch(&mut c, req(&s.server.url(path), &[])).await;
        assert!(
            p.status == StatusCode::FORBIDDEN || p.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            p.status
        );
        assert!(
            !String::from_utf8_lossy(&b).contains("do not serve"),
            "{path} leaked"
        );
    }
    #[cfg(unix)]
    {
        let (p, _, _) = fetch(&mut c, req(&s.server.url("/files/escape.txt"), &[])).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        // A symlink that stays inside the root is fine.
        let (p, b, _) = fetch(&mut c, req(&s.server.url("/files/inside.txt"), &[])).await;
        assert_eq!(p.status, 200);
        assert_eq!(&b[..], b"0123456789abcdefghij");
    }
}
