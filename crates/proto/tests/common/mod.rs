//! A scripted mock peer: frames in, frames out, compared exactly.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ropewalk_hpack::{Decoder, Encoder, Header};
use ropewalk_proto::conn::{Config, Connection, Event};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{
    Continuation, Data, Frame, GoAway, Headers, PREFACE, Parser, Ping, RstStream, Settings,
    StreamId, WindowUpdate,
};

/// Test config: no BDP pings (they would show up in the scripts).
pub fn cfg() -> Config {
    Config::default().with_adaptive_window(false)
}

pub fn sid(n: u32) -> StreamId {
    StreamId::new(n)
}

/// The remote end, scripted by the test, around the connection under test.
pub struct Peer {
    pub now: Instant,
    pub conn: Connection,
    parser: Parser,
    pub enc: Encoder,
    pub dec: Decoder,
    /// Bytes not yet consumed by the connection (when it pauses reading).
    pub pending_in: BytesMut,
    skip_preface: bool,
}

pub const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/"),
];

pub const POST: &[(&str, &str)] = &[
    (":method", "POST"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/upload"),
];

pub const OK: &[(&str, &str)] = &[(":status", "200")];

impl Peer {
    /// The connection under test is a server; the peer is a client that has
    /// already sent its preface.
    pub fn server(config: Config) -> Peer {
        let now = Instant::now();
        let mut p = Peer {
            now,
            conn: Connection::server(config, now),
            parser: Parser::new(),
            enc: Encoder::new(),
            dec: Decoder::new(),
            pending_in: BytesMut::new(),
            skip_preface: false,
        };
        p.send_raw(PREFACE);
        p
    }

    /// The connection under test is a client.
    pub fn client(config: Config) -> Peer {
        let now = Instant::now();
        Peer {
            now,
            conn: Connection::client(config, now),
            parser: Parser::new(),
            enc: Encoder::new(),
            dec: Decoder::new(),
            pending_in: BytesMut::new(),
            skip_preface: true,
        }
    }

    /// A peer around an existing connection (e.g. one made by an HTTP/1.1
    /// upgrade). `server_under_test`: the peer is a client and writes the
    /// preface first.
    pub fn around(conn: Connection, now: Instant) -> Peer {
        let server_under_test = conn.role().is_server();
        let mut p = Peer {
            now,
            conn,
            parser: Parser::new(),
            enc: Encoder::new(),
            dec: Decoder::new(),
            pending_in: BytesMut::new(),
            skip_preface: !server_under_test,
        };
        if server_under_test {
            p.send_raw(PREFACE);
        }
        p
    }

    /// Server under test with the SETTINGS exchange done and events drained.
    pub fn server_ready(config: Config) -> Peer {
        let mut p = Peer::server(config);
        p.handshake();
        p
    }

    /// Client under test with the SETTINGS exchange done and events drained.
    pub fn client_ready(config: Config) -> Peer {
        let mut p = Peer::client(config);
        p.handshake();
        p
    }

    /// Peer SETTINGS (empty) → both ACKs; drains frames and events.
    pub fn handshake(&mut self) {
        self.handshake_with(Settings::default());
    }

    pub fn handshake_with(&mut self, settings: Settings) {
        if let Some(n) = settings.max_frame_size() {
            self.parser.set_max_frame_size(n);
        }
        self.send(settings);
        let frames = self.frames();
        assert!(
            matches!(frames.first(), Some(Frame::Settings(s)) if !s.is_ack()),
            "{frames:?}"
        );
        assert!(
            frames.contains(&Frame::Settings(Settings::ack())),
            "{frames:?}"
        );
        self.send(Settings::ack());
        self.events();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.pending_in.extend_from_slice(bytes);
        let now = self.now;
        self.conn.recv(&mut self.pending_in, now);
    }

    pub fn send(&mut self, frame: impl Into<Frame>) {
        let mut b = BytesMut::new();
        frame.into().encode(&mut b);
        self.send_raw(&b);
    }

    /// Everything the connection wants to write, as frames.
    pub fn frames(&mut self) -> Vec<Frame> {
        let mut wire = BytesMut::new();
        let now = self.now;
        self.conn.poll_transmit_all(now, &mut wire);
        if self.skip_preface && wire.len() >= PREFACE.len() {
            assert_eq!(&wire[..PREFACE.len()], PREFACE, "client preface first");
            let _ = wire.split_to(PREFACE.len());
            self.skip_preface = false;
        }
        let mut out = Vec::new();
        while let Some(f) = self
            .parser
            .parse(&mut wire)
            .expect("connection sent a valid frame")
        {
            out.push(f);
        }
        assert!(wire.is_empty(), "partial frame written");
        out
    }

    /// Everything the connection wants to write, as raw bytes.
    pub fn bytes(&mut self) -> Vec<u8> {
        let mut wire = BytesMut::new();
        let now = self.now;
        self.conn.poll_transmit_all(now, &mut wire);
        wire.to_vec()
    }

    pub fn events(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            v.push(e);
        }
        v
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        let now = self.now;
        self.conn.handle_timeout(now);
    }

    pub fn block(&mut self, fields: &[(&str, &str)]) -> Bytes {
        let mut out = Vec::new();
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes())),
            &mut out,
        );
        Bytes::from(out)
    }

    pub fn headers(&mut self, id: u32, fields: &[(&str, &str)], end_stream: bool) -> Headers {
        let block = self.block(fields);
        let mut h = Headers::new(sid(id), block);
        h.set_end_stream(end_stream);
        h
    }

    pub fn send_headers(&mut self, id: u32, fields: &[(&str, &str)], end_stream: bool) {
        let h = self.headers(id, fields, end_stream);
        self.send(h);
    }

    pub fn send_data(&mut self, id: u32, data: &'static [u8], end_stream: bool) {
        let mut d = Data::new(sid(id), Bytes::from_static(data));
        d.set_end_stream(end_stream);
        self.send(d);
    }

    /// Decodes a received header block to (name, value) strings.
    pub fn decode(&mut self, block: &[u8]) -> Vec<(String, String)> {
        let mut v = Vec::new();
        self.dec
            .decode(block, |f| {
                v.push((
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                ))
            })
            .expect("valid HPACK from the connection");
        v
    }

    /// Asserts the connection sent exactly `expected` (HEADERS compared by
    /// kind only; use `decode` for their fields).
    pub fn expect(&mut self, expected: &[Frame]) {
        let got = self.frames();
        assert_eq!(got, expected);
    }

    pub fn expect_rst(&mut self, id: u32, code: ErrorCode) {
        self.expect(&[RstStream::new(sid(id), code).into()]);
    }

    /// Asserts that the connection sent a GOAWAY with `code` (and maybe
    /// other frames before it) and is closed.
    pub fn expect_goaway(&mut self, code: ErrorCode) -> GoAway {
        let frames = self.frames();
        let g = frames
            .iter()
            .find_map(|f| match f {
                Frame::GoAway(g) => Some(g.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no GOAWAY in {frames:?}"));
        assert_eq!(g.error_code, code, "{g:?}");
        assert!(self.conn.is_closed());
        g
    }

    pub fn expect_nothing(&mut self) {
        let f = self.frames();
        assert!(f.is_empty(), "unexpected frames {f:?}");
    }
}

pub fn wu(id: u32, inc: u32) -> Frame {
    WindowUpdate::new(sid(id), inc).into()
}

pub fn rst(id: u32, code: ErrorCode) -> Frame {
    RstStream::new(sid(id), code).into()
}

pub fn ping(payload: [u8; 8]) -> Frame {
    Ping::new(payload).into()
}

pub fn pong(payload: [u8; 8]) -> Frame {
    Ping::pong(payload).into()
}

pub fn cont(id: u32, block: Bytes, end: bool) -> Frame {
    Continuation::new(sid(id), block, end).into()
}

pub fn data_frame(id: u32, data: &'static [u8], end: bool) -> Frame {
    let mut d = Data::new(sid(id), Bytes::from_static(data));
    d.set_end_stream(end);
    d.into()
}
