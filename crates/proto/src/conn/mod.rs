//! The sans-I/O HTTP/2 connection (RFC 9113 §3.4–§8).
//!
//! A [`Connection`] does no I/O and reads no clock:
//!
//! * bytes read from the peer go in with [`Connection::recv`];
//! * what happened comes out as [`Event`]s from [`Connection::poll_event`];
//! * the application acts with commands ([`Connection::send_request`],
//!   [`Connection::send_response`], [`Connection::send_data`], …);
//! * bytes to write come out of [`Connection::poll_transmit`] (DATA payloads
//!   as separate [`Bytes`](bytes::Bytes) for vectored writes);
//! * time goes in with [`Connection::handle_timeout`], and
//!   [`Connection::next_timeout`] says when to call it next.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use ropewalk_proto::conn::{Config, Connection, Event};
//! use ropewalk_proto::headers::{RequestHead, ResponseHead};
//!
//! let now = Instant::now();
//! let mut client = Connection::client(Config::default(), now);
//! let mut server = Connection::server(Config::default(), now);
//!
//! let req = RequestHead::new(http::Method::GET, "https://example.com/".parse().unwrap());
//! let id = client.send_request(req, true).unwrap();
//!
//! // Shuttle bytes until both are quiet.
//! let mut got = None;
//! for _ in 0..4 {
//!     let mut wire = BytesMut::new();
//!     client.poll_transmit_all(now, &mut wire);
//!     server.recv(&mut wire, now);
//!     while let Some(ev) = server.poll_event() {
//!         if let Event::Request { stream, .. } = ev {
//!             server.send_response(stream, ResponseHead::new(http::StatusCode::OK), true).unwrap();
//!         }
//!     }
//!     let mut wire = BytesMut::new();
//!     server.poll_transmit_all(now, &mut wire);
//!     client.recv(&mut wire, now);
//!     while let Some(ev) = client.poll_event() {
//!         if let Event::Response { stream, head, .. } = ev {
//!             got = Some((stream, head.status));
//!         }
//!     }
//! }
//! assert_eq!(got, Some((id, http::StatusCode::OK)));
//! ```

mod bdp;
mod commands;
mod config;
mod error;
mod events;
mod recv;
mod recv_control;
mod recv_data;
mod recv_headers;
mod role;
mod send;
mod teardown;
mod timers;
mod upgrade;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use ropewalk_hpack::{Decoder, Encoder};

pub use self::config::Config;
pub use self::error::{Error, Initiator, UserError};
pub use self::events::Event;
pub use self::role::Role;
pub use self::upgrade::{UPGRADE_STREAM, UpgradeError};

use crate::flow::{DEFAULT_WINDOW, MAX_WINDOW, RecvWindow, SendWindow};
use crate::frame::{Frame, Parser, Settings, StreamId};
use crate::headers::{OutField, OutFields};
use crate::limits::RateCounter;
use crate::priority::Scheduler;
use crate::stream::State;
use crate::stream::store::Store;

/// Streams we open before the peer's SETTINGS tell us its limit.
const INITIAL_MAX_SEND_STREAMS: u32 = 100;

/// PING payload of the graceful-shutdown handshake.
const SHUTDOWN_PING: [u8; 8] = *b"rw-shutd";
/// PING payload of keep-alive probes.
const KEEPALIVE_PING: [u8; 8] = *b"rw-alive";
/// PING payload of bandwidth-delay product probes.
const BDP_PING: [u8; 8] = *b"rw-bdp\0\0";

/// One item waiting to be written. Header blocks are HPACK-encoded when
/// written, so that the encoder's dynamic table follows wire order.
#[derive(Debug)]
enum Out {
    Frame(Frame),
    Headers {
        id: StreamId,
        fields: OutFields,
        end_stream: bool,
    },
    PushPromise {
        id: StreamId,
        promised: StreamId,
        fields: Vec<OutField>,
    },
}

/// Settings as they apply to one direction.
#[derive(Clone, Copy, Debug)]
struct Applied {
    max_concurrent: u32,
    initial_window: u32,
    max_frame_size: u32,
    header_table_size: u32,
    max_header_list_size: u32,
    enable_push: bool,
    connect_protocol: bool,
}

impl Applied {
    /// The RFC 9113 §6.5.2 initial values.
    fn rfc_defaults() -> Applied {
        Applied {
            max_concurrent: u32::MAX,
            initial_window: DEFAULT_WINDOW,
            max_frame_size: 16_384,
            header_table_size: 4096,
            max_header_list_size: u32::MAX,
            enable_push: true,
            connect_protocol: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PingKind {
    User,
    Shutdown,
    Keepalive,
    Bdp,
}

/// Graceful shutdown progress (RFC 9113 §6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shutdown {
    /// Server sent GOAWAY(2^31-1) and a PING; waiting for the ack.
    AwaitingPing,
    /// The final GOAWAY is sent; waiting for streams to finish.
    Draining,
}

/// Bandwidth-delay product estimator (PING-based).
#[derive(Debug, Default)]
struct Bdp {
    bytes: u64,
    ping_sent: Option<Instant>,
    /// When the last probe was answered: probes are at most one per
    /// [`BDP_PROBE_INTERVAL`], so that our probing stays far below any
    /// peer's PING rate limit.
    last_probe: Option<Instant>,
}

/// Minimum time between two BDP probes.
const BDP_PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// An HTTP/2 connection endpoint, client or server. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    /// Server: octets of the client preface matched so far.
    preface_matched: usize,
    got_peer_settings: bool,
    parser: Parser,
    decoder: Decoder,
    /// Decoded field values are copied here and shared (`BlockBuilder`).
    field_values: bytes::BytesMut,
    /// What fields of the peer's dynamic table were parsed into.
    field_cache: crate::field_cache::FieldCache,
    /// The peer's last literal `:path`, parsed when it repeats.
    literal_path: crate::field_cache::LiteralPath,
    /// (Client) the header maps of requests sent, emptied, which the
    /// responses are decoded into (see `send_request`): at most one per
    /// stream awaiting its response, none once no stream is left.
    recycled_maps: Vec<http::HeaderMap>,
    /// Requests (server) or final responses (client) received so far (see
    /// `recv_heads`).
    heads_received: usize,
    encoder: Encoder,
    streams: Store,
    /// Our settings as acknowledged by the peer.
    local: Applied,
    /// The receive window given to new streams (the larger of the acked
    /// and pending INITIAL_WINDOW_SIZE, RFC 9113 §6.9.2).
    recv_initial: u32,
    /// Target receive window of streams (grows with BDP).
    stream_target: u32,
    pending_settings: VecDeque<(Settings, Instant)>,
    peer: Applied,
    send_window: SendWindow,
    recv_window: RecvWindow,
    /// Next id we open (client odd, server even).
    next_local_id: Option<StreamId>,
    /// The highest of our stream ids the peer has seen (HEADERS of a
    /// request, PUSH_PROMISE): ids above it are idle for the peer even if
    /// allocated (a request queued and given up before its HEADERS).
    local_announced: Option<StreamId>,
    /// Highest id the peer opened or we saw.
    last_peer_id: StreamId,
    /// Highest peer id we acted on (what our GOAWAY reports, RFC 9113 §6.8).
    last_processed: StreamId,
    partial: Option<recv_headers::PartialBlock>,
    out: VecDeque<Out>,
    /// The HPACK encoder's output for HEADERS, reused from block to block.
    block_buf: Vec<u8>,
    pending_acks: usize,
    scheduler: Scheduler,
    /// Streams with data blocked only on the connection window.
    conn_blocked: Vec<StreamId>,
    conn_stalled_since: Option<Instant>,
    /// Streams with released capacity to announce.
    window_dirty: Vec<StreamId>,
    /// Streams refused with `SendBufferFull`, told when space frees up.
    capacity_waiters: Vec<StreamId>,
    /// Client requests waiting for a concurrency slot, in id order.
    queued_open: VecDeque<StreamId>,
    send_buffered: usize,
    events: VecDeque<Event>,
    pings: VecDeque<([u8; 8], Instant, PingKind)>,
    /// The latest time we were given.
    now: Instant,
    /// (Client) the preface magic is still to be written.
    preface_pending: bool,
    last_recv: Instant,
    bdp: Bdp,
    /// GOAWAY we sent (last stream id), and GOAWAY we received.
    goaway_sent: Option<StreamId>,
    goaway_recv: Option<StreamId>,
    shutdown: Option<(Shutdown, Instant)>,
    /// Set when the connection failed or finished; reading stops.
    closing: Option<Error>,
    closed_emitted: bool,
    resets: RateCounter,
    empty_frames: RateCounter,
    priority_frames: RateCounter,
    /// PRIORITY_UPDATEs for the peer's request streams not yet open, the
    /// latest per stream, applied when it opens (RFC 9218 §7). With the
    /// active streams, at most our SETTINGS_MAX_CONCURRENT_STREAMS
    /// (§7.1), so bounded.
    early_priorities: BTreeMap<StreamId, crate::priority::Priority>,
    window_updates: RateCounter,
    settings_frames: RateCounter,
    ping_frames: RateCounter,
}

impl Connection {
    /// A client connection; its preface and SETTINGS are queued for
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn client(config: Config, now: Instant) -> Connection {
        Connection::new(Role::Client, config, now)
    }

    /// A server connection; it expects the client preface first.
    pub fn server(config: Config, now: Instant) -> Connection {
        Connection::new(Role::Server, config, now)
    }

    /// A connection for `role`.
    pub fn new(role: Role, config: Config, now: Instant) -> Connection {
        let mut decoder = Decoder::new();
        decoder.set_max_header_list_size(config.max_header_list_size as usize);
        decoder.set_max_field_count(config.limits.max_header_fields);
        // A larger table is allowed at once (the peer may use it as soon as
        // it has our SETTINGS); a smaller one only once acknowledged.
        if config.header_table_size > 4096 {
            decoder.set_max_table_size(config.header_table_size as usize);
        }
        let first_local = match role {
            Role::Client => StreamId::new(1),
            Role::Server => StreamId::new(2),
        };
        let initial_window = config.initial_window_size.min(MAX_WINDOW as u32);
        let conn_window = config
            .connection_window_size
            .clamp(DEFAULT_WINDOW, MAX_WINDOW as u32);
        let mut conn = Connection {
            role,
            preface_matched: if role.is_server() { 0 } else { 24 },
            got_peer_settings: false,
            parser: Parser::new(),
            decoder,
            field_values: bytes::BytesMut::new(),
            field_cache: Default::default(),
            literal_path: Default::default(),
            recycled_maps: Vec::new(),
            heads_received: 0,
            encoder: Encoder::new(),
            streams: Store::default(),
            local: Applied::rfc_defaults(),
            recv_initial: DEFAULT_WINDOW.max(initial_window),
            stream_target: initial_window,
            pending_settings: VecDeque::new(),
            peer: Applied::rfc_defaults(),
            send_window: SendWindow::new(DEFAULT_WINDOW),
            recv_window: RecvWindow::new(DEFAULT_WINDOW, conn_window),
            next_local_id: Some(first_local),
            local_announced: None,
            last_peer_id: StreamId::ZERO,
            last_processed: StreamId::ZERO,
            partial: None,
            out: VecDeque::new(),
            block_buf: Vec::new(),
            pending_acks: 0,
            scheduler: Scheduler::new(),
            conn_blocked: Vec::new(),
            conn_stalled_since: None,
            window_dirty: Vec::new(),
            capacity_waiters: Vec::new(),
            queued_open: VecDeque::new(),
            send_buffered: 0,
            events: VecDeque::new(),
            pings: VecDeque::new(),
            now,
            preface_pending: role.is_client(),
            last_recv: now,
            bdp: Bdp::default(),
            goaway_sent: None,
            goaway_recv: None,
            shutdown: None,
            closing: None,
            closed_emitted: false,
            resets: RateCounter::default(),
            empty_frames: RateCounter::default(),
            priority_frames: RateCounter::default(),
            early_priorities: BTreeMap::new(),
            window_updates: RateCounter::default(),
            settings_frames: RateCounter::default(),
            ping_frames: RateCounter::default(),
            config,
        };
        // Accept larger frames as soon as we announce them (RFC 9113 §6.5.3:
        // the peer may use them once it has processed our SETTINGS).
        conn.parser
            .set_max_frame_size(conn.config.max_frame_size.clamp(16_384, (1 << 24) - 1));
        let settings = conn.initial_settings();
        conn.pending_settings.push_back((settings.clone(), now));
        conn.out.push_back(Out::Frame(Frame::Settings(settings)));
        conn
    }

    /// The SETTINGS of our preface (RFC 9113 §3.4).
    fn initial_settings(&self) -> Settings {
        let c = &self.config;
        let mut s = Settings::default();
        if c.header_table_size != 4096 {
            s.set_header_table_size(Some(c.header_table_size));
        }
        if self.role.is_client() {
            // RFC 9113 §6.5.2: only a client sends ENABLE_PUSH = 1.
            s.set_enable_push(Some(c.enable_push));
        }
        s.set_max_concurrent_streams(Some(c.max_concurrent_streams));
        if c.initial_window_size != DEFAULT_WINDOW {
            s.set_initial_window_size(Some(c.initial_window_size.min(MAX_WINDOW as u32)));
        }
        if c.max_frame_size != 16_384 {
            s.set_max_frame_size(Some(c.max_frame_size.clamp(16_384, (1 << 24) - 1)));
        }
        s.set_max_header_list_size(Some(c.max_header_list_size));
        if self.role.is_server() && c.enable_connect_protocol {
            // RFC 8441 §3.
            s.set_enable_connect_protocol(Some(true));
        }
        s
    }

    // ------------------------------------------------------------------
    // Introspection
    // ------------------------------------------------------------------

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes the next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// `true` once the connection is closed and everything it had to write
    /// has been handed out.
    pub fn is_closed(&self) -> bool {
        self.closing.is_some() && self.out.is_empty()
    }

    /// `false` while reading is paused because too many PING/SETTINGS
    /// acknowledgements are waiting to be written (CVE-2019-9512/9515):
    /// call [`poll_transmit`](Self::poll_transmit) first.
    pub fn wants_read(&self) -> bool {
        self.closing.is_none() && self.pending_acks < self.config.limits.max_pending_acks
    }

    /// `true` if [`poll_transmit`](Self::poll_transmit) has something to write.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
            || (self.closing.is_none()
                && (!self.scheduler.is_empty()
                    || !self.window_dirty.is_empty()
                    || self.recv_window_update_due()))
    }

    fn recv_window_update_due(&self) -> bool {
        let mut w = self.recv_window;
        w.take_update().is_some()
    }

    /// `true` once the peer's first SETTINGS frame has been received and
    /// applied (its limits, e.g. SETTINGS_MAX_CONCURRENT_STREAMS, are known).
    pub fn is_ready(&self) -> bool {
        self.got_peer_settings && self.closing.is_none()
    }

    /// Number of live (not yet closed) streams.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Number of closed streams remembered for late frames.
    pub fn closed_stream_count(&self) -> usize {
        self.streams.closed_len()
    }

    /// Octets queued for sending (all streams).
    pub fn send_buffered(&self) -> usize {
        self.send_buffered
    }

    /// The state of stream `id`, if it is live.
    pub fn stream_state(&self, id: StreamId) -> Option<State> {
        self.streams.get(id).map(|s| s.state)
    }

    /// The current send window of stream `id` (may be negative).
    pub fn stream_send_window(&self, id: StreamId) -> Option<i64> {
        self.streams.get(id).map(|s| s.send_window.get())
    }

    /// The connection send window.
    pub fn send_window(&self) -> i64 {
        self.send_window.get()
    }

    /// The connection receive window the peer still has (credit).
    pub fn recv_window(&self) -> i64 {
        self.recv_window.window()
    }

    /// The target size of stream receive windows (grows with BDP tuning).
    pub fn stream_recv_target(&self) -> u32 {
        self.stream_target
    }

    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (`u32::MAX` if unlimited).
    pub fn peer_max_concurrent_streams(&self) -> u32 {
        self.peer.max_concurrent
    }

    /// Whether the peer allows server push (its SETTINGS_ENABLE_PUSH, RFC
    /// 9113 §6.5.2; 1 until its SETTINGS say otherwise). Always `false` on a
    /// client's connection (servers may not enable it).
    pub fn peer_enables_push(&self) -> bool {
        self.role.is_server() && self.peer.enable_push
    }

    /// `true` once the peer allowed extended CONNECT (RFC 8441 §3).
    pub fn peer_enables_connect_protocol(&self) -> bool {
        self.peer.connect_protocol
    }

    /// The error that closed the connection, if any.
    pub fn close_reason(&self) -> Option<&Error> {
        self.closing.as_ref()
    }
}

/// `since + d`, or `None` if that is beyond what `Instant` can hold.
pub(crate) fn at(since: Instant, d: Duration) -> Option<Instant> {
    since.checked_add(d)
}

/// `true` once `d` has passed since `since` (never, if that overflows).
pub(crate) fn expired(now: Instant, since: Instant, d: Duration) -> bool {
    at(since, d).is_some_and(|t| now >= t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::store::{RecvPhase, Stream};
    use bytes::BytesMut;

    #[test]
    fn client_starts_with_preface_and_settings() {
        let now = Instant::now();
        let mut c = Connection::client(Config::default(), now);
        let mut buf = BytesMut::new();
        c.poll_transmit_all(now, &mut buf);
        assert!(buf.starts_with(crate::frame::PREFACE));
    }

    /// Moves what each side has to send into the other, a few times over.
    fn exchange(c: &mut Connection, s: &mut Connection, now: Instant) {
        for _ in 0..4 {
            let mut buf = BytesMut::new();
            c.poll_transmit_all(now, &mut buf);
            s.recv(&mut buf, now);
            let mut buf = BytesMut::new();
            s.poll_transmit_all(now, &mut buf);
            c.recv(&mut buf, now);
        }
    }

    fn get(headers: http::HeaderMap) -> crate::headers::RequestHead {
        let mut head = crate::headers::RequestHead::new(
            http::Method::GET,
            http::Uri::from_static("https://example.com/x"),
        );
        head.headers = headers;
        head
    }

    fn requests(s: &mut Connection) -> Vec<StreamId> {
        std::iter::from_fn(|| s.poll_event())
            .filter_map(|e| match e {
                Event::Request { stream, .. } => Some(stream),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_response_is_decoded_into_its_requests_header_map() {
        let now = Instant::now();
        let mut c = Connection::client(Config::default(), now);
        let mut s = Connection::server(Config::default(), now);
        let mut map = http::HeaderMap::with_capacity(20);
        map.insert("accept", "*/*".parse().unwrap());
        let room = map.capacity();
        c.send_request(get(map), true).unwrap();
        exchange(&mut c, &mut s, now);
        let [id] = requests(&mut s)[..] else {
            panic!("one request")
        };
        let mut head = crate::headers::ResponseHead::new(http::StatusCode::OK);
        head.headers
            .insert("content-type", "text/plain".parse().unwrap());
        s.send_response(id, head, true).unwrap();
        exchange(&mut c, &mut s, now);
        let head = std::iter::from_fn(|| c.poll_event())
            .find_map(|e| match e {
                Event::Response { head, .. } => Some(head),
                _ => None,
            })
            .expect("a response");
        // The request's map (a map of its own would have room for 6).
        assert_eq!(head.headers.capacity(), room);
        assert_eq!(head.headers.len(), 1);
        assert_eq!(head.headers["content-type"], "text/plain");
        assert!(c.recycled_maps.is_empty());
    }

    #[test]
    fn request_maps_kept_for_responses_are_bounded() {
        let now = Instant::now();
        let mut c = Connection::client(Config::default(), now);
        let mut s = Connection::server(Config::default(), now);
        // Large maps are not kept, nor maps without an allocation.
        c.send_request(get(http::HeaderMap::with_capacity(100)), true)
            .unwrap();
        c.send_request(get(http::HeaderMap::new()), true).unwrap();
        assert!(c.recycled_maps.is_empty());
        // Small ones are, one per stream; reset streams leave none behind
        // once no stream is left.
        for _ in 0..3 {
            c.send_request(get(http::HeaderMap::with_capacity(4)), true)
                .unwrap();
        }
        assert_eq!(c.recycled_maps.len(), 3);
        exchange(&mut c, &mut s, now);
        for id in requests(&mut s) {
            s.reset(id, crate::error::ErrorCode::RefusedStream).unwrap();
        }
        exchange(&mut c, &mut s, now);
        assert_eq!(c.stream_count(), 0);
        assert!(c.recycled_maps.is_empty());
    }

    #[test]
    fn recv_heads_stops_after_so_many_heads_and_goes_on_later() {
        let now = Instant::now();
        let mut c = Connection::client(Config::default(), now);
        let mut s = Connection::server(Config::default(), now);
        exchange(&mut c, &mut s, now);
        // (requests, resets) among the server's events.
        let counts = |s: &mut Connection| {
            std::iter::from_fn(|| s.poll_event()).fold((0, 0), |(q, r), e| match e {
                Event::Request { .. } => (q + 1, r),
                Event::Reset { .. } => (q, r + 1),
                _ => (q, r),
            })
        };
        // Five requests, each reset at once (HEADERS, RST_STREAM, ...).
        let mut buf = BytesMut::new();
        for _ in 0..5 {
            let id = c.send_request(get(http::HeaderMap::new()), false).unwrap();
            c.poll_transmit_all(now, &mut buf);
            c.reset(id, crate::error::ErrorCode::Cancel).unwrap();
            c.poll_transmit_all(now, &mut buf);
        }
        let all = buf.len();
        // Two requests, and their resets: it stops at the third HEADERS.
        assert!(s.recv_heads(&mut buf, now, 2));
        assert_eq!(counts(&mut s), (2, 2));
        assert!(!buf.is_empty() && buf.len() < all);
        assert!(s.recv_heads(&mut buf, now, 2));
        assert_eq!(counts(&mut s), (2, 2));
        assert!(!s.recv_heads(&mut buf, now, 2));
        assert_eq!(counts(&mut s), (1, 1));
        assert!(buf.is_empty());
        // `recv` takes them all.
        for _ in 0..5 {
            c.send_request(get(http::HeaderMap::new()), true).unwrap();
        }
        c.poll_transmit_all(now, &mut buf);
        s.recv(&mut buf, now);
        let ids = requests(&mut s);
        assert_eq!(ids.len(), 5);
        assert!(buf.is_empty());
        // On a client, the heads counted are responses.
        for id in ids {
            let head = crate::headers::ResponseHead::new(http::StatusCode::OK);
            s.send_response(id, head, true).unwrap();
        }
        s.poll_transmit_all(now, &mut buf);
        std::iter::from_fn(|| c.poll_event()).for_each(drop);
        let responses = |c: &mut Connection| {
            std::iter::from_fn(|| c.poll_event())
                .filter(|e| matches!(e, Event::Response { .. }))
                .count()
        };
        assert!(c.recv_heads(&mut buf, now, 3));
        assert_eq!(responses(&mut c), 3);
        assert!(!c.recv_heads(&mut buf, now, 3));
        assert_eq!(responses(&mut c), 2);
        assert!(buf.is_empty());
    }

    #[test]
    fn recv_phase_default() {
        let s = Stream::new(StreamId::new(1), 10, 10);
        assert_eq!(s.recv_phase, RecvPhase::AwaitingHead);
    }
}
