//! `ropewalk get` end to end, against `ropewalk serve` started as a
//! process: output, `-i`, `-o`, `-O` with several URLs, exit codes, and a
//! TLS failure's message.

use std::io::BufRead;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

struct Serve {
    child: Child,
    http: u16,
    https: u16,
    cert: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ropewalk-get-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn serve(tag: &str) -> Serve {
    let dir = temp(&format!("cert-{tag}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .args([
            "serve",
            "--tls",
            "127.0.0.1:0",
            "--plain",
            "127.0.0.1:0",
            "--cert-dir",
        ])
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (mut http, mut https) = (0, 0);
    for line in out.lines() {
        let line = line.unwrap();
        let port = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|r| r.split(' ').next())
                .and_then(|p| p.parse().ok())
        };
        if let Some(p) = port("serving http://127.0.0.1:") {
            http = p;
        }
        if let Some(p) = port("serving https://127.0.0.1:") {
            https = p;
        }
        if line.starts_with("press Ctrl-C") {
            break;
        }
    }
    assert!(http > 0 && https > 0);
    Serve {
        child,
        http,
        https,
        cert: dir.join("localhost-cert.pem"),
    }
}

fn get(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .arg("get")
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Octet `i` of the demo's `/big` body.
fn big(n: usize) -> Vec<u8> {
    (0..n as u64).map(ropewalk::demo::big_byte).collect()
}

#[test]
fn body_to_stdout_and_include_headers() {
    let s = serve("out");
    let dir = temp("out");
    let url = format!("http://127.0.0.1:{}/hello", s.http);
    let o = get(&dir, &[&url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"Hello, world!");
    assert!(o.stderr.is_empty(), "{}", stderr(&o));

    let o = get(&dir, &["-i", &url]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/2 200\r\n"), "{head}");
    assert!(head.contains("content-type: text/plain"), "{head}");
    assert_eq!(body, "Hello, world!");
}

#[test]
fn several_urls_in_order_over_one_connection() {
    let s = serve("many");
    let dir = temp("many");
    let base = format!("http://127.0.0.1:{}", s.http);
    // A large body first: the small ones finish first on the wire but are
    // written after it.
    let urls = [
        format!("{base}/big?size=6000000"),
        format!("{base}/hello"),
        format!("{base}/echo?x=1"),
        format!("{base}/big?size=100"),
    ];
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let o = get(&dir, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want = big(6_000_000);
    want.extend_from_slice(b"Hello, world!");
    want.extend_from_slice(&big(100));
    assert!(o.stdout == want, "{} bytes out", o.stdout.len());
    // One connection: the frame log shows a single client preface SETTINGS.
    let o = get(&dir, &["-v", &urls[1], &urls[3]]);
    let log = stderr(&o);
    assert_eq!(
        log.matches("send SETTINGS frame <length=24, flags=0x00, stream_id=0>")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("send HEADERS frame"), "{log}");
    assert!(log.contains("stream_id=3"), "{log}");
}

#[test]
fn output_files_with_o_and_remote_names() {
    let s = serve("files");
    let dir = temp("files");
    let base = format!("http://127.0.0.1:{}", s.http);
    let o = get(&dir, &["-o", "one.bin", &format!("{base}/big?size=300000")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    // stderr is not a terminal: no progress bar, nothing at all.
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    assert!(std::fs::read(dir.join("one.bin")).unwrap() == big(300_000));

    let o = get(
        &dir,
        &[
            "-O",
            &format!("{base}/push/style.css"),
            &format!("{base}/push/app.js"),
            &format!("{base}/hello"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("hello")).unwrap(),
        "Hello, world!"
    );
    let css = std::fs::read_to_string(dir.join("style.css")).unwrap();
    let js = std::fs::read_to_string(dir.join("app.js")).unwrap();
    // The same bytes as a plain GET of each.
    let direct = get(&dir, &[&format!("{base}/push/style.css")]);
    assert_eq!(css.as_bytes(), &direct.stdout[..]);
    let direct = get(&dir, &[&format!("{base}/push/app.js")]);
    assert_eq!(js.as_bytes(), &direct.stdout[..]);
}

#[test]
fn pushes_are_saved_with_push_and_o() {
    let s = serve("push");
    let dir = temp("push");
    let o = get(
        &dir,
        &["--push", "-O", &format!("http://127.0.0.1:{}/push", s.http)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("push").exists());
    assert!(dir.join("style.css").exists(), "pushed style.css not saved");
    assert!(dir.join("app.js").exists(), "pushed app.js not saved");
}

#[test]
fn data_method_and_headers_reach_the_server() {
    let s = serve("data");
    let dir = temp("data");
    std::fs::write(dir.join("body.bin"), [0u8, 1, 2, 255, b'\n']).unwrap();
    let url = format!("http://127.0.0.1:{}/echo?q=1", s.http);
    let o = get(
        &dir,
        &[
            "-i",
            "-X",
            "PUT",
            "-d",
            "@body.bin",
            "-H",
            "x-test: yes",
            &url,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pos = o.stdout.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&o.stdout[..pos]).into_owned();
    assert!(head.contains("x-echo-method: PUT"), "{head}");
    assert!(head.contains("x-echo-path: /echo?q=1"), "{head}");
    assert!(head.contains("x-echo-x-test: yes"), "{head}");
    assert_eq!(&o.stdout[pos + 4..], [0u8, 1, 2, 255, b'\n']);
}

#[test]
fn exit_codes() {
    let s = serve("codes");
    let dir = temp("codes");
    let base = format!("http://127.0.0.1:{}", s.http);
    // Usage errors: 2.
    assert_eq!(get(&dir, &[]).status.code(), Some(2));
    assert_eq!(
        get(&dir, &["-o", "f", "http://a/", "http://b/"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(get(&dir, &["-H", "no colon", &base]).status.code(), Some(2));
    assert_eq!(get(&dir, &["ftp://example.com/"]).status.code(), Some(2));
    assert_eq!(
        get(
            &dir,
            &["-O", &format!("{base}/a/x"), &format!("{base}/b/x")]
        )
        .status
        .code(),
        Some(2),
        "two URLs saved to one file"
    );
    // Local failure: 1.
    assert_eq!(get(&dir, &["-d", "@missing", &base]).status.code(), Some(1));
    // Connection refused: 3.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = l.local_addr().unwrap().port();
    drop(l);
    let o = get(&dir, &[&format!("http://127.0.0.1:{closed}/")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("could not connect"), "{}", stderr(&o));
    // HTTP failure: 22 with --fail, 0 without.
    assert_eq!(
        get(&dir, &[&format!("{base}/missing")]).status.code(),
        Some(0)
    );
    let o = get(&dir, &["--fail", &format!("{base}/missing")]);
    assert_eq!(o.status.code(), Some(22));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    // Timeout: 5.
    let o = get(&dir, &["--timeout", "0.3", &format!("{base}/slow?ms=5000")]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    // A server that is not HTTP/2 (HTTP/1.1 only): 3.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut c, _)) = l.accept() {
            let _ = c.read(&mut [0u8; 1024]);
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let o = get(&dir, &["--upgrade", &format!("http://127.0.0.1:{port}/")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not speak HTTP/2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn untrusted_certificate_refused_without_k() {
    let s = serve("tls");
    let dir = temp("tls");
    let url = format!("https://localhost:{}/hello", s.https);
    let o = get(&dir, &[&url]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("TLS handshake failed"), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(err.contains("--cacert"), "{err}");
    assert!(o.stdout.is_empty());
    // Accepted with -k, or with the server's certificate as CA.
    let o = get(&dir, &["-k", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"Hello, world!");
    let o = get(&dir, &["--cacert", s.cert.to_str().unwrap(), &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"Hello, world!");
    // A CA file that does not exist is a usage error.
    let o = get(&dir, &["--cacert", "/nonexistent.pem", &url]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn help_has_examples() {
    let o = Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .args(["get", "--help"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "Examples:",
        "--include",
        "--remote-name",
        "--insecure",
        "--cacert",
        "--upgrade",
        "--push",
        "--fail",
        "Exit status:",
    ] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
}
