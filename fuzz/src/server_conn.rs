//! `server_conn`: a server [`Connection`] fed the client preface and then arbitrary bytes in
//! input-chosen chunks, interleaved with input-chosen time advances, `poll_transmit` draining
//! and application commands (responses, data, trailers, resets, capacity releases, pushes,
//! pings, SETTINGS changes, graceful shutdown), so that both the receive and the send path are
//! explored. Everything the server writes is checked from the client's side.
//!
//! The same harness, with the roles swapped, is the `client_conn` target
//! (`run_role(false, _)`, see [`crate::client_conn`]).
//!
//! # Input format
//!
//! ```text
//! byte 0   config A: bits 0-1 SETTINGS_MAX_CONCURRENT_STREAMS  [100, 1, 3, 0]
//!                    bits 2-3 SETTINGS_INITIAL_WINDOW_SIZE     [262144, 65535, 16, 0]
//!                    bits 4-5 SETTINGS_MAX_HEADER_LIST_SIZE    [16384, 100, 400, 4096]
//!                    bit 6    adaptive window (BDP pings) on
//!                    bit 7    no preface: the wire bytes are fed as they are
//! byte 1   config B: bits 0-1 send buffer caps (per stream, total)
//!                             [(1 MiB, 16 MiB), (1000, 3000), (100, 150), (20000, 20000)]
//!                    bits 2-3 SETTINGS_HEADER_TABLE_SIZE       [4096, 0, 256, 65536]
//!                    bit 4    small abuse limits (see `small_limits`)
//!                    bit 5    keep-alive PINGs every second (2 s timeout)
//!                    bit 6    SETTINGS_MAX_FRAME_SIZE 65535 instead of 16384
//!                    bit 7    SETTINGS_ENABLE_CONNECT_PROTOCOL
//! byte 2   n: number of control bytes
//! n bytes  control ops, run in order (below)
//! rest     the wire: what the client sends after the preface (frames)
//! ```
//!
//! Control ops: one byte `op`, `code = op & 15`, `arg = op >> 4`; some take one more byte.
//!
//! | code | op |
//! | --- | --- |
//! | 0–2 | feed the next `CHUNKS[arg]` wire bytes (15: all the rest) to `recv` |
//! | 3 | feed the next `b` wire bytes (`b` the next byte; 0: all the rest) |
//! | 4 | one `poll_transmit` call (a partial drain) |
//! | 5 | `poll_transmit` until nothing is left |
//! | 6 | advance the clock by `TICKS_MS[arg]` (14, 15: to `next_timeout()`), `handle_timeout` |
//! | 7 | final response (`200`, or `204` if `arg & 8`, some with a `connection` field) on request `arg & 7`, END_STREAM if `arg & 8` |
//! | 8 | `103` informational response on stream `arg & 7` |
//! | 9 | `send_data` on stream `arg & 7`, END_STREAM if `arg & 8`, length from the next byte |
//! | 10 | `send_trailers` on stream `arg` |
//! | 11 | `reset` stream `arg & 7` (code by `arg >> 3`: CANCEL, INTERNAL_ERROR), or `drop_stream` |
//! | 12 | `release_capacity` of stream `arg & 7`: all it owes (`arg & 8`) or half |
//! | 13 | `graceful_shutdown` |
//! | 14 | `ping` |
//! | 15 | by `arg`, most with one more byte `b`: 0–2 `push_promise` on stream `b` (GET, 2: HEAD); 3, 4 response on promised stream `b` (4: END_STREAM); 5–7 `update_settings` of INITIAL_WINDOW_SIZE, HEADER_TABLE_SIZE, MAX_HEADER_LIST_SIZE (value from `b`); 8, 9 `close` with INTERNAL_ERROR, NO_ERROR; 10–15 release all received data |
//!
//! "Stream `i`" is the `i`-th (mod their count) of the streams known to the application: the
//! requests that arrived, then the streams it promised. When the control bytes run out, the
//! rest of the wire is fed and the output drained.
//!
//! `fuzz/seeds.sh` writes request sequences in this format.
//!
//! # Oracle
//!
//! * Nothing panics; every op terminates (libFuzzer's timeout) with a bounded number of events.
//! * State stays inside the configured limits after every op: `stream_count()` at most
//!   SETTINGS_MAX_CONCURRENT_STREAMS plus the streams we promised, `closed_stream_count()` at
//!   most `max_closed_streams`, `send_buffered()` at most `max_send_buffer`, the connection
//!   receive window at most 2^31-1.
//! * Once `is_closed()` it stays closed and writes nothing more; after `close_reason()` is set
//!   no DATA is written; a connection error we detected is announced with a GOAWAY carrying
//!   its code before `is_closed()`.
//! * Every byte written parses with a [`Parser`] (at the largest SETTINGS_MAX_FRAME_SIZE the
//!   client allowed) into whole frames; the first frame is a SETTINGS frame; HEADERS and
//!   PUSH_PROMISE blocks (with their CONTINUATIONs) decode with one [`Decoder`] (table limit:
//!   the largest SETTINGS_HEADER_TABLE_SIZE the client announced) into well-formed fields:
//!   lowercase names, pseudo-fields first, no connection-specific fields, a response head
//!   with exactly `:status` (1xx never with END_STREAM), trailers with END_STREAM and no
//!   pseudo-fields, a promised request with `:method`.
//! * Stream rules for what the server writes: HEADERS, DATA, WINDOW_UPDATE and RST_STREAM only
//!   on streams the client opened or the server promised; no HEADERS or DATA after END_STREAM
//!   or RST_STREAM; DATA only after a final response head; nothing but RST_STREAM or PRIORITY
//!   after RST_STREAM; promised ids even and increasing; SETTINGS never enables push; GOAWAY
//!   last-stream-ids never increase and name a client stream (or 0, or 2^31-1).
//! * Flow control: DATA written on the connection stays within 65535 plus the client's
//!   connection WINDOW_UPDATEs, and on a stream within the largest initial window the client
//!   announced plus that stream's WINDOW_UPDATEs (upper bounds read from the client's bytes).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use ropewalk_hpack::Decoder;
use ropewalk_proto::conn::{Config, Connection, Error, Event, Initiator, Role};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::flow::MAX_WINDOW;
use ropewalk_proto::frame::{Frame, PREFACE, Parser, Settings, StreamId};
use ropewalk_proto::headers::{RequestHead, ResponseHead};
use ropewalk_proto::limits::{Limits, RateLimit};
use ropewalk_proto::priority::Priority;

const MAX_CONCURRENT: [u32; 4] = [100, 1, 3, 0];
const INITIAL_WINDOW: [u32; 4] = [256 * 1024, 65_535, 16, 0];
const MAX_HEADER_LIST: [u32; 4] = [16 * 1024, 100, 400, 4096];
const SEND_BUFFERS: [(usize, usize); 4] = [
    (1 << 20, 16 << 20),
    (1000, 3000),
    (100, 150),
    (20_000, 20_000),
];
const HEADER_TABLE: [u32; 4] = [4096, 0, 256, 65_536];
/// Wire chunk sizes of ops 0-2 (`usize::MAX`: everything left).
const CHUNKS: [usize; 16] = [
    1,
    2,
    3,
    5,
    8,
    9,
    13,
    17,
    24,
    32,
    50,
    64,
    100,
    256,
    1024,
    usize::MAX,
];
/// Clock advances of op 6, in milliseconds (`u64::MAX`: to `next_timeout()`).
const TICKS_MS: [u64; 16] = [
    0,
    1,
    10,
    50,
    100,
    500,
    1000,
    2000,
    5000,
    10_000,
    20_000,
    30_000,
    60_000,
    100,
    u64::MAX,
    u64::MAX,
];
/// DATA lengths of op 9 (plus `b >> 3`).
const DATA_LENS: [usize; 8] = [0, 1, 100, 1000, 16_384, 16_385, 65_535, 70_000];
/// Events one op may cause before it counts as a runaway.
const MAX_EVENTS_PER_OP: usize = 100_000;

/// Abuse limits small enough for the fuzzer to reach them.
fn small_limits() -> Limits {
    let ten = Duration::from_secs(10);
    Limits {
        reset_rate: RateLimit::new(10, ten),
        max_continuation_frames: 2,
        max_header_block_size: 512,
        max_header_fields: 8,
        header_list_fatal_multiple: 2,
        max_pending_acks: 2,
        empty_frame_rate: RateLimit::new(5, ten),
        max_settings_entries: 4,
        priority_rate: RateLimit::new(10, ten),
        window_update_rate: RateLimit::new(10, ten),
        settings_rate: RateLimit::new(5, ten),
        ping_rate: RateLimit::new(10, ten),
        zero_window_timeout: Duration::from_secs(1),
        max_closed_streams: 4,
        reset_grace_period: Duration::from_secs(1),
        ..Limits::default()
    }
}

fn config(a: u8, b: u8) -> Config {
    let mut limits = if b & 0x10 != 0 {
        small_limits()
    } else {
        Limits::default()
    };
    let (per_stream, total) = SEND_BUFFERS[usize::from(b & 3)];
    limits.max_send_buffer_per_stream = per_stream;
    limits.max_send_buffer = total;
    let mut c = Config::default()
        .with_max_concurrent_streams(MAX_CONCURRENT[usize::from(a & 3)])
        .with_initial_window_size(INITIAL_WINDOW[usize::from(a >> 2 & 3)])
        .with_max_header_list_size(MAX_HEADER_LIST[usize::from(a >> 4 & 3)])
        .with_adaptive_window(a & 0x40 != 0)
        .with_max_frame_size(if b & 0x40 != 0 { 65_535 } else { 16_384 })
        .with_enable_connect_protocol(b & 0x80 != 0)
        .with_limits(limits);
    c.header_table_size = HEADER_TABLE[usize::from(b >> 2 & 3)];
    if b & 0x20 != 0 {
        c = c.with_keepalive(Some(Duration::from_secs(1)));
        c.keepalive_timeout = Duration::from_secs(2);
    }
    c
}

/// What the peer's bytes allowed the connection under test (upper bounds: a frame the
/// connection rejected is still counted, which only loosens the checks).
pub(crate) struct PeerView {
    /// The peer is the client (parity of its stream ids).
    peer_is_client: bool,
    /// Octets of the client preface still to skip before frames; `None` once the bytes are no
    /// longer a valid stream (bad preface, connection error): the bounds then stop growing.
    preface_left: Option<usize>,
    parser: Parser,
    buf: BytesMut,
    max_frame_size: u32,
    max_table_size: u32,
    max_initial_window: u64,
    conn_credit: u64,
    stream_credit: HashMap<u32, u64>,
    /// Highest id of the peer's parity that the peer touched (or promised).
    max_peer_stream: u32,
}

impl PeerView {
    fn new(peer_is_client: bool, local_max_frame_size: u32) -> PeerView {
        let mut parser = Parser::new();
        parser.set_max_frame_size(local_max_frame_size);
        PeerView {
            peer_is_client,
            preface_left: Some(if peer_is_client { PREFACE.len() } else { 0 }),
            parser,
            buf: BytesMut::new(),
            max_frame_size: Settings::DEFAULT_MAX_FRAME_SIZE,
            max_table_size: 4096,
            max_initial_window: 65_535,
            conn_credit: 65_535,
            stream_credit: HashMap::new(),
            max_peer_stream: 0,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        let Some(left) = self.preface_left else {
            return;
        };
        if left > 0 {
            let done = PREFACE.len() - left;
            let n = left.min(bytes.len());
            if bytes[..n] != PREFACE[done..done + n] {
                self.preface_left = None;
                return;
            }
            self.preface_left = Some(left - n);
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let before = self.buf.len();
            match self.parser.parse(&mut self.buf) {
                Ok(Some(f)) => self.on_frame(&f),
                Ok(None) => return,
                Err(e) if e.is_connection_error() || self.buf.len() == before => {
                    self.preface_left = None;
                    return;
                }
                Err(_) => {}
            }
        }
    }

    fn on_frame(&mut self, f: &Frame) {
        // The peer's streams: those it opened, and those it promised (a
        // PUSH_PROMISE's own stream is ours: each id is judged on its own).
        let promised = match f {
            Frame::PushPromise(p) => Some(p.promised_id.get()),
            _ => None,
        };
        for id in std::iter::once(f.stream_id().get()).chain(promised) {
            if (id % 2 == 1) == self.peer_is_client {
                self.max_peer_stream = self.max_peer_stream.max(id);
            }
        }
        let id = f.stream_id().get();
        match f {
            Frame::Settings(s) => {
                if let Some(n) = s.max_frame_size()
                    && (Settings::DEFAULT_MAX_FRAME_SIZE..=Settings::MAX_MAX_FRAME_SIZE)
                        .contains(&n)
                {
                    self.max_frame_size = self.max_frame_size.max(n);
                }
                if let Some(n) = s.header_table_size() {
                    self.max_table_size = self.max_table_size.max(n);
                }
                if let Some(n) = s.initial_window_size() {
                    self.max_initial_window = self.max_initial_window.max(u64::from(n));
                }
            }
            Frame::WindowUpdate(w) if id == 0 => self.conn_credit += u64::from(w.increment),
            Frame::WindowUpdate(w) => {
                *self.stream_credit.entry(id).or_default() += u64::from(w.increment)
            }
            _ => {}
        }
    }
}

/// What the connection under test wrote on one stream.
#[derive(Default)]
struct StreamOut {
    /// One of our own streams (server: promised; client: opened by our HEADERS).
    local: bool,
    final_head: bool,
    ended: bool,
    reset: bool,
    data: u64,
}

/// The peer's side of the output of the connection under test.
pub(crate) struct Output {
    /// The connection under test is the server.
    server: bool,
    /// (Client) the preface magic was seen.
    preface_seen: bool,
    parser: Parser,
    decoder: Decoder,
    buf: BytesMut,
    frames: usize,
    /// An unfinished field block: stream, fragments, END_STREAM, promised stream.
    block: Option<(u32, Vec<u8>, bool, Option<u32>)>,
    streams: HashMap<u32, StreamOut>,
    conn_data: u64,
    last_goaway: Option<u32>,
    goaway_codes: Vec<ErrorCode>,
    /// Server: highest promised stream; client: highest stream opened.
    last_local: u32,
}

impl Output {
    fn new(server: bool) -> Output {
        let mut decoder = Decoder::new();
        decoder.set_max_header_list_size(usize::MAX);
        decoder.set_max_field_count(usize::MAX);
        Output {
            server,
            preface_seen: server,
            parser: Parser::new(),
            decoder,
            buf: BytesMut::new(),
            frames: 0,
            block: None,
            streams: HashMap::new(),
            conn_data: 0,
            last_goaway: None,
            goaway_codes: Vec::new(),
            last_local: 0,
        }
    }

    /// Parses everything in `self.buf` (must be whole frames); returns the number of frames
    /// and of DATA frames.
    fn check(&mut self, peer: &PeerView) -> (usize, usize) {
        if !self.preface_seen && !self.buf.is_empty() {
            assert!(
                self.buf.starts_with(PREFACE),
                "the client output does not start with the preface: {:02x?}",
                &self.buf[..self.buf.len().min(32)]
            );
            let _ = self.buf.split_to(PREFACE.len());
            self.preface_seen = true;
        }
        self.parser.set_max_frame_size(peer.max_frame_size);
        if (peer.max_table_size as usize) > self.decoder.max_table_size() {
            self.decoder
                .set_max_table_size(peer.max_table_size as usize);
        }
        let (mut n, mut data) = (0, 0);
        loop {
            let at = self.buf.len();
            match self.parser.parse(&mut self.buf) {
                Ok(Some(f)) => {
                    n += 1;
                    data += usize::from(matches!(f, Frame::Data(_)));
                    self.on_frame(f, peer);
                }
                Ok(None) => {
                    assert!(
                        self.buf.is_empty(),
                        "wrote a partial frame: {:02x?}",
                        &self.buf[..self.buf.len().min(32)]
                    );
                    return (n, data);
                }
                Err(e) => panic!(
                    "wrote an invalid frame ({e:?}): {:02x?}",
                    &self.buf[..at.min(32)]
                ),
            }
        }
    }

    /// Whether `id` has the parity of the streams the connection under test opens.
    fn is_local(&self, id: u32) -> bool {
        id.is_multiple_of(2) == self.server
    }

    /// The stream `id` written on must exist: opened by the peer (its id is at most the
    /// highest the peer used), or our own (server: promised; client: opened, which only HEADERS
    /// does). `own_only`: a frame only the stream's initiator may send (client HEADERS/DATA).
    fn stream(&mut self, id: u32, peer: &PeerView, what: &str, own_only: bool) -> &mut StreamOut {
        let known = if self.is_local(id) {
            self.streams.get(&id).is_some_and(|s| s.local)
        } else {
            !own_only && id <= peer.max_peer_stream
        };
        assert!(known, "{what} on stream {id}, which is idle or not ours");
        self.streams.entry(id).or_default()
    }

    fn on_frame(&mut self, f: Frame, peer: &PeerView) {
        if self.frames == 0 {
            assert!(
                matches!(&f, Frame::Settings(s) if !s.is_ack()),
                "the connection preface starts with SETTINGS, not {f:?}"
            );
        }
        self.frames += 1;
        let id = f.stream_id().get();
        let client = !self.server;
        match f {
            Frame::Data(d) => {
                let s = self.stream(id, peer, "DATA", client);
                assert!(!s.reset && !s.ended, "DATA on stream {id} after it ended");
                assert!(s.final_head, "DATA on stream {id} before a head");
                let len = d.flow_controlled_len() as u64;
                s.data += len;
                s.ended = d.end_stream;
                let credit =
                    peer.max_initial_window + peer.stream_credit.get(&id).copied().unwrap_or(0);
                assert!(
                    s.data <= credit,
                    "stream {id}: {} DATA octets written, the peer allowed at most {credit}",
                    s.data
                );
                self.conn_data += len;
                assert!(
                    self.conn_data <= peer.conn_credit,
                    "{} DATA octets written on the connection, the peer allowed at most {}",
                    self.conn_data,
                    peer.conn_credit
                );
            }
            Frame::Headers(h) => {
                if client && !self.streams.get(&id).is_some_and(|s| s.local) {
                    // RFC 9113 §5.1.1: a new stream id is larger than all opened before.
                    assert!(
                        id % 2 == 1 && id > self.last_local,
                        "the client opened stream {id} after {}",
                        self.last_local
                    );
                    self.last_local = id;
                    self.streams.entry(id).or_default().local = true;
                }
                let s = self.stream(id, peer, "HEADERS", client);
                assert!(
                    !s.reset && !s.ended,
                    "HEADERS on stream {id} after it ended"
                );
                let end = h.end_stream;
                self.block = Some((id, h.header_block.to_vec(), end, None));
                if h.end_headers {
                    self.end_block();
                }
            }
            Frame::PushPromise(p) => {
                assert!(self.server, "a client wrote PUSH_PROMISE");
                let promised = p.promised_id.get();
                let s = self.stream(id, peer, "PUSH_PROMISE", false);
                assert!(
                    id % 2 == 1 && !s.reset && !s.ended,
                    "PUSH_PROMISE on stream {id}"
                );
                assert!(
                    promised % 2 == 0 && promised > self.last_local,
                    "promised stream {promised} after {}",
                    self.last_local
                );
                self.last_local = promised;
                self.streams.entry(promised).or_default().local = true;
                self.block = Some((id, p.header_block.to_vec(), false, Some(promised)));
                if p.end_headers {
                    self.end_block();
                }
            }
            Frame::Continuation(c) => {
                // The parser already checks that it follows HEADERS or PUSH_PROMISE.
                let block = self
                    .block
                    .as_mut()
                    .expect("CONTINUATION without a field block");
                block.1.extend_from_slice(&c.header_block);
                if c.end_headers {
                    self.end_block();
                }
            }
            Frame::RstStream(_) => {
                if self.is_local(id) && id < self.last_local && !self.streams.contains_key(&id) {
                    // RFC 9113 §5.1.1: opening a stream implicitly closed the
                    // idle ones of lower ids (a request queued and given up
                    // before its HEADERS), and a closed stream may be reset.
                    self.streams.entry(id).or_default().reset = true;
                } else {
                    self.stream(id, peer, "RST_STREAM", false).reset = true;
                }
            }
            Frame::WindowUpdate(_) if id != 0 => {
                let s = self.stream(id, peer, "WINDOW_UPDATE", false);
                assert!(!s.reset, "WINDOW_UPDATE on stream {id} after RST_STREAM");
            }
            Frame::Settings(s) => {
                if self.server {
                    assert_ne!(s.enable_push(), Some(true), "a server enabled push: {s:?}");
                } else {
                    assert_eq!(
                        s.enable_connect_protocol(),
                        None,
                        "a client sent SETTINGS_ENABLE_CONNECT_PROTOCOL: {s:?}"
                    );
                }
            }
            Frame::GoAway(g) => {
                let last = g.last_stream_id.get();
                assert!(
                    last == StreamId::MAX.get() || last == 0 || !self.is_local(last),
                    "GOAWAY names stream {last}, not a peer stream"
                );
                if let Some(prev) = self.last_goaway {
                    assert!(
                        last <= prev,
                        "GOAWAY last-stream-id grew from {prev} to {last}"
                    );
                }
                self.last_goaway = Some(last);
                self.goaway_codes.push(g.error_code);
            }
            _ => {}
        }
    }

    fn end_block(&mut self) {
        let Some((id, block, end_stream, promised)) = self.block.take() else {
            return;
        };
        let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        if let Err(e) = self
            .decoder
            .decode(&block, |f| fields.push((f.name.to_vec(), f.value.to_vec())))
        {
            panic!("stream {id}: the header block does not decode ({e:?}): {block:02x?}");
        }
        let pseudo: Vec<&[u8]> = fields
            .iter()
            .map(|(n, _)| n.as_slice())
            .take_while(|n| n.starts_with(b":"))
            .collect();
        for (name, value) in &fields[pseudo.len()..] {
            let name_s = String::from_utf8_lossy(name);
            assert!(
                !name.is_empty() && !name.starts_with(b":"),
                "stream {id}: field {name_s:?} out of place"
            );
            assert!(
                !name.iter().any(u8::is_ascii_uppercase),
                "stream {id}: field name {name_s:?} has uppercase"
            );
            assert!(
                !matches!(
                    name.as_slice(),
                    b"connection"
                        | b"keep-alive"
                        | b"proxy-connection"
                        | b"transfer-encoding"
                        | b"upgrade"
                ) && (name.as_slice() != b"te" || value.as_slice() == b"trailers"),
                "stream {id}: connection-specific field {name_s:?} (RFC 9113 §8.2.2)"
            );
        }
        if let Some(p) = promised {
            assert!(
                pseudo.contains(&&b":method"[..]),
                "promise of stream {p} without :method"
            );
            return;
        }
        let server = self.server;
        let s = self.streams.entry(id).or_default();
        if s.final_head {
            assert!(end_stream, "stream {id}: trailers without END_STREAM");
            assert!(pseudo.is_empty(), "stream {id}: pseudo-fields in trailers");
            s.ended = true;
            return;
        }
        if !server {
            assert!(
                pseudo.contains(&&b":method"[..]) && !pseudo.contains(&&b":status"[..]),
                "stream {id}: a request head with pseudo-fields {pseudo:?}"
            );
            s.final_head = true;
            s.ended = end_stream;
            return;
        }
        assert!(
            pseudo == [&b":status"[..]],
            "stream {id}: a response head needs exactly :status, got {pseudo:?}"
        );
        let status = &fields[0].1;
        assert!(
            status.len() == 3 && status.iter().all(u8::is_ascii_digit),
            "stream {id}: :status {status:?}"
        );
        if status[0] == b'1' {
            assert!(!end_stream, "stream {id}: 1xx response with END_STREAM");
            assert_ne!(status.as_slice(), b"101", "stream {id}: 101 in HTTP/2");
        } else {
            s.final_head = true;
            s.ended = end_stream;
        }
    }
}

struct Harness<'a> {
    conn: Connection,
    config: Config,
    now: Instant,
    wire: &'a [u8],
    fed: usize,
    inbuf: BytesMut,
    peer: PeerView,
    out: Output,
    /// Streams known to the application: requests, then promised streams.
    requests: Vec<StreamId>,
    pushed: Vec<StreamId>,
    /// Received DATA octets not yet released, per stream.
    owed: HashMap<StreamId, usize>,
    closed_seen: bool,
    closing_seen: bool,
    ping_count: u64,
}

impl Harness<'_> {
    fn feed(&mut self, n: usize) {
        let n = n.min(self.wire.len() - self.fed);
        let chunk = &self.wire[self.fed..self.fed + n];
        self.fed += n;
        self.peer.feed(chunk);
        self.inbuf.extend_from_slice(chunk);
        self.conn.recv(&mut self.inbuf, self.now);
    }

    fn pick(&self, i: u8) -> StreamId {
        let n = self.requests.len() + self.pushed.len();
        if n == 0 {
            return StreamId::new(1);
        }
        let i = usize::from(i) % n;
        match self.requests.get(i) {
            Some(&id) => id,
            None => self.pushed[i - self.requests.len()],
        }
    }

    fn transmit(&mut self, all: bool) {
        let before = self.out.buf.len();
        if all {
            self.conn.poll_transmit_all(self.now, &mut self.out.buf);
        } else if let Some(payload) = self.conn.poll_transmit(self.now, &mut self.out.buf) {
            self.out.buf.extend_from_slice(&payload);
        }
        let wrote = self.out.buf.len() - before;
        let (frames, data) = self.out.check(&self.peer);
        assert!(
            !self.closed_seen || wrote == 0,
            "wrote {frames} frames ({wrote} octets) after is_closed()"
        );
        assert!(
            !self.closing_seen || data == 0,
            "wrote {data} DATA frames after the connection closed ({:?})",
            self.conn.close_reason()
        );
    }

    fn op(&mut self, op: u8, next: &mut impl Iterator<Item = u8>) {
        let arg = op >> 4;
        match op & 15 {
            0..=2 => self.feed(CHUNKS[usize::from(arg)]),
            3 => match next.next().unwrap_or(0) {
                0 => self.feed(usize::MAX),
                b => self.feed(usize::from(b)),
            },
            4 => self.transmit(false),
            5 => self.transmit(true),
            6 => {
                let ms = TICKS_MS[usize::from(arg)];
                if ms == u64::MAX {
                    if let Some(t) = self.conn.next_timeout() {
                        self.now = self.now.max(t);
                    }
                } else {
                    self.now += Duration::from_millis(ms);
                }
                self.conn.handle_timeout(self.now);
            }
            7 if !self.out.server => {
                let method = if arg & 1 == 0 {
                    Method::GET
                } else {
                    Method::POST
                };
                let mut head =
                    RequestHead::new(method, "https://example.com/r".parse().expect("uri"));
                if arg & 6 == 6 {
                    head.headers
                        .insert("connection", HeaderValue::from_static("close"));
                }
                if let Ok(id) = self.conn.send_request(head, arg & 8 != 0) {
                    self.requests.push(id);
                }
            }
            8 if !self.out.server => {
                let id = self.pick(arg & 7);
                let p = Priority {
                    urgency: arg >> 1,
                    incremental: arg & 1 != 0,
                };
                let _ = self.conn.update_priority(id, p);
            }
            7 => {
                let id = self.pick(arg & 7);
                let mut head = ResponseHead::new(if arg & 8 != 0 {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::OK
                });
                head.headers
                    .insert("content-type", HeaderValue::from_static("text/plain"));
                if arg & 3 == 3 {
                    head.headers
                        .insert("connection", HeaderValue::from_static("close"));
                }
                let _ = self.conn.send_response(id, head, arg & 8 != 0);
            }
            8 => {
                let id = self.pick(arg & 7);
                let _ =
                    self.conn
                        .send_response(id, ResponseHead::new(StatusCode::EARLY_HINTS), false);
            }
            9 => {
                let b = next.next().unwrap_or(0);
                let len = DATA_LENS[usize::from(b & 7)] + usize::from(b >> 3);
                let id = self.pick(arg & 7);
                let _ = self
                    .conn
                    .send_data(id, Bytes::from(vec![b'x'; len]), arg & 8 != 0);
            }
            10 => {
                let mut trailers = HeaderMap::new();
                trailers.insert("x-checksum", HeaderValue::from_static("abc"));
                let id = self.pick(arg);
                let _ = self.conn.send_trailers(id, trailers);
            }
            11 => {
                let id = self.pick(arg & 7);
                match arg >> 3 {
                    0 => {
                        let _ = self.conn.reset(id, ErrorCode::Cancel);
                    }
                    _ if arg & 1 == 0 => {
                        let _ = self.conn.reset(id, ErrorCode::InternalError);
                    }
                    _ => {
                        self.conn.drop_stream(id);
                        self.owed.remove(&id);
                    }
                }
            }
            12 => {
                let id = self.pick(arg & 7);
                let owed = self.owed.get(&id).copied().unwrap_or(0);
                let n = if arg & 8 != 0 { owed } else { owed / 2 };
                self.conn.release_capacity(id, n);
                *self.owed.entry(id).or_default() -= n;
            }
            13 => self.conn.graceful_shutdown(self.now),
            14 => {
                self.ping_count += 1;
                let _ = self.conn.ping(self.ping_count.to_be_bytes(), self.now);
            }
            _ => self.extra(arg, next),
        }
    }

    fn extra(&mut self, arg: u8, next: &mut impl Iterator<Item = u8>) {
        match arg {
            0..=2 => {
                let id = self.pick(next.next().unwrap_or(0));
                let method = if arg == 2 { Method::HEAD } else { Method::GET };
                let req =
                    RequestHead::new(method, "https://example.com/pushed".parse().expect("uri"));
                if let Ok(p) = self.conn.push_promise(id, req) {
                    self.pushed.push(p);
                }
            }
            3 | 4 => {
                if let Some(&id) = self
                    .pushed
                    .get(usize::from(next.next().unwrap_or(0)) % self.pushed.len().max(1))
                {
                    let _ =
                        self.conn
                            .send_response(id, ResponseHead::new(StatusCode::OK), arg == 4);
                }
            }
            5..=7 => {
                let mut s = Settings::default();
                let b = next.next().unwrap_or(0);
                match arg {
                    5 => s.set_initial_window_size(Some(
                        INITIAL_WINDOW[usize::from(b & 3)] << (b >> 2 & 7),
                    )),
                    6 => s.set_header_table_size(Some(HEADER_TABLE[usize::from(b & 3)])),
                    _ => s.set_max_header_list_size(Some(MAX_HEADER_LIST[usize::from(b & 3)])),
                }
                let _ = self.conn.update_settings(s, self.now);
            }
            8 => self.conn.close(ErrorCode::InternalError, "fuzz close"),
            9 => self.conn.close(ErrorCode::NoError, "fuzz close"),
            _ => {
                // Release everything owed.
                for (id, n) in std::mem::take(&mut self.owed) {
                    self.conn.release_capacity(id, n);
                }
            }
        }
    }

    /// Takes the events and checks the invariants after an op.
    fn after_op(&mut self) {
        let mut n = 0;
        while let Some(ev) = self.conn.poll_event() {
            n += 1;
            assert!(n < MAX_EVENTS_PER_OP, "runaway events");
            match ev {
                Event::Request { stream, .. } => {
                    assert!(
                        self.out.server && stream.is_client_initiated(),
                        "request on {stream:?}"
                    );
                    self.requests.push(stream);
                }
                Event::PushPromise { promised, .. } => {
                    assert!(
                        !self.out.server && promised.is_server_initiated(),
                        "promise of {promised:?}"
                    );
                    self.pushed.push(promised);
                }
                Event::Data { stream, data, .. } => {
                    *self.owed.entry(stream).or_default() += data.len()
                }
                _ => {}
            }
        }
        let c = &self.config;
        // Server: the client's streams within our limit, plus our promises. Client: our
        // requests (queued ones too), plus pushed streams (reserved and active ones, each
        // kind within our limit).
        let max_streams = if self.out.server {
            c.max_concurrent_streams as usize + self.pushed.len()
        } else {
            self.requests.len() + 2 * c.max_concurrent_streams as usize
        };
        assert!(
            self.conn.stream_count() <= max_streams,
            "{} live streams, at most {max_streams} allowed",
            self.conn.stream_count()
        );
        assert!(
            self.conn.closed_stream_count() <= c.limits.max_closed_streams,
            "{} closed streams remembered, cap {}",
            self.conn.closed_stream_count(),
            c.limits.max_closed_streams
        );
        assert!(
            self.conn.send_buffered() <= c.limits.max_send_buffer,
            "{} octets buffered, cap {}",
            self.conn.send_buffered(),
            c.limits.max_send_buffer
        );
        assert!(
            self.conn.recv_window() <= MAX_WINDOW,
            "receive window {}",
            self.conn.recv_window()
        );
        if self.closed_seen {
            assert!(self.conn.is_closed(), "is_closed() went back to false");
        }
        if self.conn.close_reason().is_some() {
            self.closing_seen = true;
        }
        if self.conn.is_closed() && !self.closed_seen {
            self.closed_seen = true;
            if let Some(Error::Connection {
                code,
                initiator: Initiator::Local,
                ..
            }) = self.conn.close_reason()
                && *code != ErrorCode::NoError
            {
                assert!(
                    self.out.goaway_codes.contains(code),
                    "closed with {code:?} but wrote GOAWAYs {:?}",
                    self.out.goaway_codes
                );
            }
        }
    }
}

/// The whole target.
pub fn run(data: &[u8]) {
    run_role(true, data);
}

/// The harness for either role (`client_conn` uses it with `server == false`).
pub(crate) fn run_role(server: bool, data: &[u8]) {
    let [a, b, n, rest @ ..] = data else {
        return;
    };
    let n = usize::from(*n).min(rest.len());
    let (control, wire) = rest.split_at(n);
    let mut config = config(*a, *b);
    if !server {
        // B7 means SETTINGS_ENABLE_PUSH for a client.
        config.enable_connect_protocol = false;
        config.enable_push = b & 0x80 != 0;
    }
    let now = Instant::now();
    let role = if server { Role::Server } else { Role::Client };
    let mut h = Harness {
        conn: Connection::new(role, config.clone(), now),
        peer: PeerView::new(server, config.max_frame_size),
        config,
        now,
        wire,
        fed: 0,
        inbuf: BytesMut::new(),
        out: Output::new(server),
        requests: Vec::new(),
        pushed: Vec::new(),
        owed: HashMap::new(),
        closed_seen: false,
        closing_seen: false,
        ping_count: 0,
    };
    if a & 0x80 == 0 {
        if server {
            h.peer.feed(PREFACE);
            h.inbuf.extend_from_slice(PREFACE);
            h.conn.recv(&mut h.inbuf, now);
        } else {
            let head = RequestHead::new(Method::GET, "https://example.com/".parse().expect("uri"));
            if let Ok(id) = h.conn.send_request(head, true) {
                h.requests.push(id);
            }
        }
    }
    let mut ops = control.iter().copied();
    while let Some(op) = ops.next() {
        h.op(op, &mut ops);
        h.after_op();
    }
    h.feed(usize::MAX);
    h.after_op();
    h.transmit(true);
    h.after_op();
}
