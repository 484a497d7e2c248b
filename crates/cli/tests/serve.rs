//! `ropewalk serve` as a process: what it prints, the certificate it keeps,
//! its answer to HTTP/1.1, and SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Serve {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(cert_dir: &std::path::Path, tls: &str) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ropewalk"));
    cmd.env("RUST_LOG", "warn").stderr(Stdio::null());
    start_with(cmd, cert_dir, tls, &[])
}

fn start_with(mut cmd: Command, cert_dir: &std::path::Path, tls: &str, extra: &[&str]) -> Serve {
    let mut child = cmd
        .args([
            "serve",
            "--tls",
            tls,
            "--plain",
            "127.0.0.1:0",
            "--cert-dir",
        ])
        .arg(cert_dir)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap() == 0 {
            panic!("server exited early: {lines:?}");
        }
        let done = l.starts_with("press Ctrl-C");
        lines.push(l.trim_end().to_owned());
        if done {
            break;
        }
    }
    Serve { child, lines }
}

impl Serve {
    fn port(&self, scheme: &str) -> u16 {
        let prefix = format!("serving {scheme}://127.0.0.1:");
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|r| r.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no {scheme} URL in {:?}", self.lines))
    }

    /// Sends SIGTERM and waits (up to 5 s) for the exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        for _ in 0..100 {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not exit on SIGTERM");
    }

    fn fingerprint(&self) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("SHA-256:"))
            .expect("fingerprint printed")
            .trim()
            .to_owned()
    }
}

fn temp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ropewalk-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn prints_urls_and_keeps_its_certificate() {
    let dir = temp("cert");
    let first = start(&dir, "127.0.0.1:0");
    assert!(first.port("https") > 0);
    assert!(first.port("http") > 0);
    let fp = first.fingerprint();
    assert_eq!(fp.len(), 95, "{fp}");
    assert!(first.lines.iter().any(|l| l.contains("(generated now)")));
    assert!(dir.join("localhost-cert.pem").exists());
    drop(first);
    let second = start(&dir, "127.0.0.1:0");
    assert_eq!(second.fingerprint(), fp, "certificate not reused");
    assert!(!second.lines.iter().any(|l| l.contains("(generated now)")));
}

#[test]
fn http11_request_is_answered_and_sigterm_stops_it() {
    let dir = temp("h1");
    let mut s = start(&dir, "none");
    let port = s.port("http");
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 505"), "{out}");
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_has_examples_and_bad_args_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for needle in [
        "--tls",
        "--plain",
        "--cert",
        "--root",
        "Examples:",
        "--http2-prior-knowledge",
    ] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .args(["serve", "--tls", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .args(["serve", "--tls", "none", "--plain", "none"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to serve"));
}

/// Runs a server with the default log filter (stderr to a file), fetches
/// `/hello?x=1` with `ropewalk get`, stops the server and returns its stderr.
fn stderr_after_one_request(tag: &str, extra: &[&str]) -> String {
    let dir = temp(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stderr.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ropewalk"));
    cmd.env_remove("RUST_LOG")
        .stderr(std::fs::File::create(&log).unwrap());
    let mut s = start_with(cmd, &dir, "none", extra);
    let url = format!("http://127.0.0.1:{}/hello?x=1", s.port("http"));
    let got = Command::new(env!("CARGO_BIN_EXE_ropewalk"))
        .args(["get", &url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(got.status.success(), "{got:?}");
    assert_eq!(got.stdout, b"Hello, world!");
    s.terminate();
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn access_log_has_a_line_per_request_unless_turned_off() {
    let on = stderr_after_one_request("log-on", &[]);
    let line = on
        .lines()
        .find(|l| l.contains("ropewalk::access"))
        .unwrap_or_else(|| panic!("no access-log line in {on:?}"));
    for field in [
        "method=GET",
        "path=\"/hello?x=1\"",
        "status=200",
        "bytes=13",
        "complete=true",
        "us=",
    ] {
        assert!(line.contains(field), "{field} not in {line:?}");
    }
    let off = stderr_after_one_request("log-off", &["--no-access-log"]);
    assert!(!off.contains("ropewalk::access"), "{off:?}");
    assert!(!off.contains("/hello"), "{off:?}");
}

/// By default every thread (`--workers`) runs its own event loop on the
/// shared listeners: each says it listens, requests made at once are all
/// answered, and SIGTERM lets a request in flight finish on every thread.
#[test]
fn every_thread_serves_and_drains_on_sigterm() {
    let dir = temp("threads");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stderr.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ropewalk"));
    cmd.env_remove("RUST_LOG")
        .stderr(std::fs::File::create(&log).unwrap());
    let mut s = start_with(cmd, &dir, "none", &["--workers", "3", "--no-access-log"]);
    let base = format!("http://127.0.0.1:{}", s.port("http"));
    let get = |path: &str| {
        Command::new(env!("CARGO_BIN_EXE_ropewalk"))
            .args(["get", &format!("{base}{path}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let many: Vec<Child> = (0..12).map(|_| get("/hello")).collect();
    for c in many {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, b"Hello, world!");
    }
    // In flight when SIGTERM comes: answered before the server exits.
    let slow = get("/slow?ms=700");
    std::thread::sleep(Duration::from_millis(250));
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    let out = slow.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = std::fs::read_to_string(&log).unwrap();
    for n in 0..3 {
        let tag = format!("thread{{n={n}}}");
        let says = |what: &str| err.lines().any(|l| l.contains(&tag) && l.contains(what));
        assert!(says("listening"), "{tag} not listening: {err}");
        assert!(says("draining"), "{tag} did not drain: {err}");
    }
    assert!(!err.contains("thread{n=3}"), "{err}");
}

/// `--work-stealing`: one multi-thread runtime, no per-thread loops.
#[test]
fn work_stealing_runtime_serves_too() {
    let out = stderr_after_one_request("stealing", &["--work-stealing", "--workers", "2"]);
    assert!(out.contains("listening"), "{out}");
    assert!(!out.contains("thread{"), "{out}");
}
