//! Table-driven tests: malformed frames produce exactly the error (code and
//! scope) that RFC 9113 and the extension RFCs require.

use bytes::{Bytes, BytesMut};
use ropewalk_proto::error::ErrorCode::{self, *};
use ropewalk_proto::frame::{
    ErrorScope, Frame, FrameError, Headers, Parser, Ping, StreamId, Unknown, flags, kind,
};

/// Raw frame bytes; the length field is the payload length.
fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = head(payload.len() as u32, kind, flags, stream);
    v.extend_from_slice(payload);
    v
}

/// A bare frame header with an arbitrary length field.
fn head(len: u32, kind: u8, flags: u8, stream: u32) -> Vec<u8> {
    let mut v = len.to_be_bytes()[1..].to_vec();
    v.push(kind);
    v.push(flags);
    v.extend_from_slice(&stream.to_be_bytes());
    v
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// One SETTINGS entry.
fn setting(id: u16, value: u32) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&value.to_be_bytes());
    v
}

fn conn() -> ErrorScope {
    ErrorScope::Connection
}

fn stream(id: u32) -> ErrorScope {
    ErrorScope::Stream(StreamId::new(id))
}

struct Row {
    name: &'static str,
    wire: Vec<u8>,
    scope: ErrorScope,
    code: ErrorCode,
}

fn row(name: &'static str, wire: Vec<u8>, scope: ErrorScope, code: ErrorCode) -> Row {
    Row {
        name,
        wire,
        scope,
        code,
    }
}

const PADDED: u8 = flags::PADDED;
const PRIO: u8 = flags::PRIORITY;
const EH: u8 = flags::END_HEADERS;

fn rows() -> Vec<Row> {
    let headers_open = raw(kind::HEADERS, 0, 1, b"\x82");
    vec![
        // DATA, RFC 9113 §6.1
        row(
            "DATA on stream 0",
            raw(kind::DATA, 0, 0, b"x"),
            conn(),
            ProtocolError,
        ),
        row(
            "DATA PADDED, empty payload",
            raw(kind::DATA, PADDED, 1, b""),
            stream(1),
            FrameSizeError,
        ),
        row(
            "DATA pad length == payload length",
            raw(kind::DATA, PADDED, 1, &[5, 1, 2, 3, 4]),
            conn(),
            ProtocolError,
        ),
        row(
            "DATA pad length > payload length",
            raw(kind::DATA, PADDED, 1, &[200, 1]),
            conn(),
            ProtocolError,
        ),
        row(
            "DATA pad length 1, payload 1",
            raw(kind::DATA, PADDED, 3, &[1]),
            conn(),
            ProtocolError,
        ),
        // HEADERS, RFC 9113 §6.2
        row(
            "HEADERS on stream 0",
            raw(kind::HEADERS, EH, 0, b"\x82"),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS PADDED, empty payload",
            raw(kind::HEADERS, EH | PADDED, 1, b""),
            conn(),
            FrameSizeError,
        ),
        row(
            "HEADERS PRIORITY, 4-octet payload",
            raw(kind::HEADERS, EH | PRIO, 1, &[0, 0, 0, 3]),
            conn(),
            FrameSizeError,
        ),
        row(
            "HEADERS PADDED|PRIORITY, 5-octet payload",
            raw(kind::HEADERS, EH | PADDED | PRIO, 1, &[0, 0, 0, 0, 3]),
            conn(),
            FrameSizeError,
        ),
        row(
            "HEADERS padding too long",
            raw(kind::HEADERS, EH | PADDED, 1, &[4, 0x82, 0, 0]),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS padding overlaps priority",
            raw(kind::HEADERS, EH | PADDED | PRIO, 1, &[1, 0, 0, 0, 3, 16]),
            conn(),
            ProtocolError,
        ),
        // PRIORITY, RFC 9113 §6.3
        row(
            "PRIORITY on stream 0",
            raw(kind::PRIORITY, 0, 0, &[0, 0, 0, 1, 16]),
            conn(),
            ProtocolError,
        ),
        row(
            "PRIORITY length 4",
            raw(kind::PRIORITY, 0, 3, &[0, 0, 0, 1]),
            stream(3),
            FrameSizeError,
        ),
        row(
            "PRIORITY length 6",
            raw(kind::PRIORITY, 0, 5, &[0, 0, 0, 1, 16, 0]),
            stream(5),
            FrameSizeError,
        ),
        // RST_STREAM, RFC 9113 §6.4
        row(
            "RST_STREAM on stream 0",
            raw(kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]),
            conn(),
            ProtocolError,
        ),
        row(
            "RST_STREAM length 3",
            raw(kind::RST_STREAM, 0, 1, &[0, 0, 8]),
            conn(),
            FrameSizeError,
        ),
        row(
            "RST_STREAM length 5",
            raw(kind::RST_STREAM, 0, 1, &[0, 0, 0, 8, 0]),
            conn(),
            FrameSizeError,
        ),
        // SETTINGS, RFC 9113 §6.5, §6.5.2
        row(
            "SETTINGS on stream 1",
            raw(kind::SETTINGS, 0, 1, &[]),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS ACK on stream 1",
            raw(kind::SETTINGS, flags::ACK, 1, &[]),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS length 5",
            raw(kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0]),
            conn(),
            FrameSizeError,
        ),
        row(
            "SETTINGS length 7",
            raw(kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0, 0, 0]),
            conn(),
            FrameSizeError,
        ),
        row(
            "SETTINGS ACK with payload",
            raw(kind::SETTINGS, flags::ACK, 0, &setting(1, 0)),
            conn(),
            FrameSizeError,
        ),
        row(
            "SETTINGS_ENABLE_PUSH = 2",
            raw(kind::SETTINGS, 0, 0, &setting(0x2, 2)),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS_INITIAL_WINDOW_SIZE = 2^31",
            raw(kind::SETTINGS, 0, 0, &setting(0x4, 1 << 31)),
            conn(),
            FlowControlError,
        ),
        row(
            "SETTINGS_INITIAL_WINDOW_SIZE = 2^32-1",
            raw(kind::SETTINGS, 0, 0, &setting(0x4, u32::MAX)),
            conn(),
            FlowControlError,
        ),
        row(
            "SETTINGS_MAX_FRAME_SIZE = 16383",
            raw(kind::SETTINGS, 0, 0, &setting(0x5, 16_383)),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS_MAX_FRAME_SIZE = 2^24",
            raw(kind::SETTINGS, 0, 0, &setting(0x5, 1 << 24)),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS_ENABLE_CONNECT_PROTOCOL = 2",
            raw(kind::SETTINGS, 0, 0, &setting(0x8, 2)),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS_NO_RFC7540_PRIORITIES = 2",
            raw(kind::SETTINGS, 0, 0, &setting(0x9, 2)),
            conn(),
            ProtocolError,
        ),
        row(
            "SETTINGS bad value after valid ones",
            raw(
                kind::SETTINGS,
                0,
                0,
                &cat(&[setting(0x1, 0), setting(0xff, 7), setting(0x2, 9)]),
            ),
            conn(),
            ProtocolError,
        ),
        // PUSH_PROMISE, RFC 9113 §6.6
        row(
            "PUSH_PROMISE on stream 0",
            raw(kind::PUSH_PROMISE, EH, 0, &[0, 0, 0, 2]),
            conn(),
            ProtocolError,
        ),
        row(
            "PUSH_PROMISE length 3",
            raw(kind::PUSH_PROMISE, EH, 1, &[0, 0, 2]),
            conn(),
            FrameSizeError,
        ),
        row(
            "PUSH_PROMISE PADDED, no room for promised id",
            raw(kind::PUSH_PROMISE, EH | PADDED, 1, &[0, 0, 0, 2]),
            conn(),
            FrameSizeError,
        ),
        row(
            "PUSH_PROMISE padding too long",
            raw(kind::PUSH_PROMISE, EH | PADDED, 1, &[2, 0, 0, 0, 2, 0]),
            conn(),
            ProtocolError,
        ),
        row(
            "PUSH_PROMISE promises stream 0",
            raw(kind::PUSH_PROMISE, EH, 1, &[0x80, 0, 0, 0]),
            conn(),
            ProtocolError,
        ),
        // PING, RFC 9113 §6.7
        row(
            "PING length 7",
            raw(kind::PING, 0, 0, &[0; 7]),
            conn(),
            FrameSizeError,
        ),
        row(
            "PING length 9",
            raw(kind::PING, 0, 0, &[0; 9]),
            conn(),
            FrameSizeError,
        ),
        row(
            "PING ACK length 0",
            raw(kind::PING, flags::ACK, 0, &[]),
            conn(),
            FrameSizeError,
        ),
        row(
            "PING on stream 1",
            raw(kind::PING, 0, 1, &[0; 8]),
            conn(),
            ProtocolError,
        ),
        // GOAWAY, RFC 9113 §6.8
        row(
            "GOAWAY on stream 1",
            raw(kind::GOAWAY, 0, 1, &[0; 8]),
            conn(),
            ProtocolError,
        ),
        row(
            "GOAWAY length 7",
            raw(kind::GOAWAY, 0, 0, &[0; 7]),
            conn(),
            FrameSizeError,
        ),
        // WINDOW_UPDATE, RFC 9113 §6.9
        row(
            "WINDOW_UPDATE length 3 (connection)",
            raw(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 1]),
            conn(),
            FrameSizeError,
        ),
        row(
            "WINDOW_UPDATE length 5 (stream)",
            raw(kind::WINDOW_UPDATE, 0, 1, &[0, 0, 0, 1, 0]),
            conn(),
            FrameSizeError,
        ),
        row(
            "WINDOW_UPDATE zero increment on stream",
            raw(kind::WINDOW_UPDATE, 0, 1, &[0, 0, 0, 0]),
            stream(1),
            ProtocolError,
        ),
        row(
            "WINDOW_UPDATE zero increment on connection",
            raw(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]),
            conn(),
            ProtocolError,
        ),
        row(
            "WINDOW_UPDATE only reserved bit set",
            raw(kind::WINDOW_UPDATE, 0, 3, &[0x80, 0, 0, 0]),
            stream(3),
            ProtocolError,
        ),
        // CONTINUATION, RFC 9113 §6.10
        row(
            "CONTINUATION on stream 0",
            raw(kind::CONTINUATION, EH, 0, b"\x82"),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS then DATA",
            cat(&[headers_open.clone(), raw(kind::DATA, 0, 1, b"x")]),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS then CONTINUATION on other stream",
            cat(&[
                headers_open.clone(),
                raw(kind::CONTINUATION, EH, 3, b"\x84"),
            ]),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS then PING",
            cat(&[headers_open.clone(), raw(kind::PING, 0, 0, &[0; 8])]),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS then unknown frame",
            cat(&[headers_open.clone(), raw(0xfa, 0, 1, b"")]),
            conn(),
            ProtocolError,
        ),
        row(
            "HEADERS, CONTINUATION, then HEADERS",
            cat(&[
                headers_open,
                raw(kind::CONTINUATION, 0, 1, b""),
                raw(kind::HEADERS, EH, 3, b""),
            ]),
            conn(),
            ProtocolError,
        ),
        row(
            "PUSH_PROMISE then SETTINGS",
            cat(&[
                raw(kind::PUSH_PROMISE, 0, 1, &[0, 0, 0, 2]),
                raw(kind::SETTINGS, 0, 0, &[]),
            ]),
            conn(),
            ProtocolError,
        ),
        row(
            "stray CONTINUATION is not a frame-layer error, then bad PING",
            cat(&[
                raw(kind::CONTINUATION, EH, 1, b""),
                raw(kind::PING, 0, 0, &[]),
            ]),
            conn(),
            FrameSizeError,
        ),
        // PRIORITY_UPDATE, RFC 9218 §7.1
        row(
            "PRIORITY_UPDATE on stream 1",
            raw(kind::PRIORITY_UPDATE, 0, 1, &[0, 0, 0, 1]),
            conn(),
            ProtocolError,
        ),
        row(
            "PRIORITY_UPDATE length 3",
            raw(kind::PRIORITY_UPDATE, 0, 0, &[0, 0, 1]),
            conn(),
            FrameSizeError,
        ),
        row(
            "PRIORITY_UPDATE for stream 0",
            raw(kind::PRIORITY_UPDATE, 0, 0, b"\0\0\0\0u=1"),
            conn(),
            ProtocolError,
        ),
        // Frame size, RFC 9113 §4.2 (only the header is sent: nothing is buffered)
        row(
            "oversized HEADERS",
            head(16_385, kind::HEADERS, EH, 1),
            conn(),
            FrameSizeError,
        ),
        row(
            "oversized PUSH_PROMISE",
            head(16_385, kind::PUSH_PROMISE, EH, 1),
            conn(),
            FrameSizeError,
        ),
        row(
            "oversized CONTINUATION",
            head(1 << 20, kind::CONTINUATION, EH, 1),
            conn(),
            FrameSizeError,
        ),
        row(
            "oversized SETTINGS",
            head(16_386, kind::SETTINGS, 0, 0),
            conn(),
            FrameSizeError,
        ),
        row(
            "oversized unknown frame on stream 0",
            head(16_385, 0xfa, 0, 0),
            conn(),
            FrameSizeError,
        ),
        row(
            "oversized RST_STREAM",
            head(16_385, kind::RST_STREAM, 0, 1),
            conn(),
            FrameSizeError,
        ),
        row(
            "oversized DATA",
            head(16_385, kind::DATA, 0, 1),
            stream(1),
            FrameSizeError,
        ),
        row(
            "oversized PRIORITY",
            head(0xff_ffff, kind::PRIORITY, 0, 7),
            stream(7),
            FrameSizeError,
        ),
        row(
            "oversized unknown frame on stream 9",
            head(20_000, 0xfa, 0, 9),
            stream(9),
            FrameSizeError,
        ),
    ]
}

/// Parses `wire` until the first error, which it returns.
fn first_error(parser: &mut Parser, buf: &mut BytesMut) -> Option<FrameError> {
    loop {
        match parser.parse(buf) {
            Ok(Some(_)) => continue,
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

#[test]
fn malformed_frames() {
    let rows = rows();
    assert!(rows.len() >= 30);
    let mut failures = Vec::new();
    for row in &rows {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&row.wire[..]);
        match first_error(&mut parser, &mut buf) {
            Some(err) if err.scope == row.scope && err.code == row.code => {
                assert!(!err.reason.is_empty());
                // After a stream error the bad frame is gone and parsing
                // continues.
                // (Oversized rows only sent a header: the parser is still
                // waiting to drop the payload; see the dedicated tests.)
                if let ErrorScope::Stream(_) = err.scope
                    && !parser.is_discarding()
                {
                    assert!(buf.is_empty(), "{}: frame not consumed", row.name);
                    let mut buf = BytesMut::new();
                    Ping::new(*b"still ok").encode(&mut buf);
                    let next = parser.parse(&mut buf);
                    if next != Ok(Some(Frame::Ping(Ping::new(*b"still ok")))) {
                        failures.push(format!(
                            "{}: parser unusable after stream error: {next:?}",
                            row.name
                        ));
                    }
                }
            }
            other => failures.push(format!(
                "{}: expected {:?} {:?}, got {other:?}",
                row.name, row.scope, row.code
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Predicate a parsed frame must satisfy.
type Check = Box<dyn Fn(&Frame) -> bool>;

/// Frames that look odd but must be accepted (or ignored), not rejected.
#[test]
fn accepted_oddities() {
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "unknown flags ignored on PING",
            raw(kind::PING, 0xfe, 0, b"abcdefgh"),
            Box::new(|f| *f == Frame::Ping(Ping::new(*b"abcdefgh"))),
        ),
        (
            "stream id reserved bit ignored",
            raw(kind::DATA, 0, 0x8000_0001, b"x"),
            Box::new(|f| f.stream_id() == StreamId::new(1)),
        ),
        (
            "DATA PADDED pad length 0",
            raw(kind::DATA, PADDED, 1, &[0, b'x']),
            Box::new(
                |f| matches!(f, Frame::Data(d) if d.data == "x" && d.pad_len == Some(0) && d.flow_controlled_len() == 2),
            ),
        ),
        (
            "DATA PADDED, all padding",
            raw(kind::DATA, PADDED, 1, &[2, 0, 0]),
            Box::new(
                |f| matches!(f, Frame::Data(d) if d.data.is_empty() && d.flow_controlled_len() == 3),
            ),
        ),
        (
            "empty DATA",
            raw(kind::DATA, flags::END_STREAM, 1, b""),
            Box::new(|f| matches!(f, Frame::Data(d) if d.data.is_empty() && d.end_stream)),
        ),
        (
            "HEADERS depending on itself (RFC 9113 dropped that rule)",
            raw(kind::HEADERS, EH | PRIO, 1, &[0x80, 0, 0, 1, 255, 0x82]),
            Box::new(
                |f| matches!(f, Frame::Headers(h) if h.priority.unwrap().exclusive && h.priority.unwrap().dependency == StreamId::new(1) && h.header_block[..] == b"\x82"[..]),
            ),
        ),
        (
            "PRIORITY E bit is not reserved",
            raw(kind::PRIORITY, 0, 3, &[0x80, 0, 0, 1, 7]),
            Box::new(
                |f| matches!(f, Frame::Priority(p) if p.dependency.exclusive && p.dependency.dependency == StreamId::new(1) && p.dependency.weight == 7),
            ),
        ),
        (
            "WINDOW_UPDATE reserved bit ignored",
            raw(kind::WINDOW_UPDATE, 0, 0, &[0x80, 0, 0, 5]),
            Box::new(|f| matches!(f, Frame::WindowUpdate(w) if w.increment == 5)),
        ),
        (
            "GOAWAY reserved bit ignored, unknown code kept",
            raw(kind::GOAWAY, 0, 0, &[0x80, 0, 0, 9, 0, 0, 0xff, 0xff, b'd']),
            Box::new(
                |f| matches!(f, Frame::GoAway(g) if g.last_stream_id == StreamId::new(9) && g.error_code == ErrorCode::Unknown(0xffff) && g.debug_data == "d"),
            ),
        ),
        (
            "RST_STREAM with unknown code",
            raw(kind::RST_STREAM, 0, 1, &[0, 0, 1, 0]),
            Box::new(
                |f| matches!(f, Frame::RstStream(r) if r.error_code == ErrorCode::Unknown(256)),
            ),
        ),
        (
            "SETTINGS unknown id ignored but counted",
            raw(
                kind::SETTINGS,
                0,
                0,
                &cat(&[setting(0x7, 1), setting(0xabcd, 9), setting(0x3, 100)]),
            ),
            Box::new(
                |f| matches!(f, Frame::Settings(s) if s.entry_count() == 3 && s.max_concurrent_streams() == Some(100)),
            ),
        ),
        (
            "unknown frame type",
            raw(0xfa, 0x3, 5, b"grease"),
            Box::new(|f| {
                *f == Frame::Unknown(Unknown::new(
                    0xfa,
                    0x3,
                    StreamId::new(5),
                    Bytes::from_static(b"grease"),
                ))
            }),
        ),
        (
            "ALTSVC on stream 0 without origin is ignored",
            raw(kind::ALTSVC, 0, 0, b"\0\0h2=\":443\""),
            Box::new(|f| matches!(f, Frame::Unknown(u) if u.kind == kind::ALTSVC)),
        ),
        (
            "ALTSVC on stream 1 with origin is ignored",
            raw(kind::ALTSVC, 0, 1, b"\0\x01ah2=\":443\""),
            Box::new(|f| matches!(f, Frame::Unknown(u) if u.kind == kind::ALTSVC)),
        ),
        (
            "ALTSVC with overrunning origin length is ignored",
            raw(kind::ALTSVC, 0, 0, b"\0\x09abc"),
            Box::new(|f| matches!(f, Frame::Unknown(u) if u.kind == kind::ALTSVC)),
        ),
        (
            "ALTSVC on stream 3",
            raw(kind::ALTSVC, 0, 3, b"\0\0clear"),
            Box::new(
                |f| matches!(f, Frame::AltSvc(a) if a.stream_id == StreamId::new(3) && a.value == "clear"),
            ),
        ),
        (
            "ORIGIN on stream 1 is ignored",
            raw(kind::ORIGIN, 0, 1, b"\0\x01a"),
            Box::new(|f| matches!(f, Frame::Unknown(u) if u.kind == kind::ORIGIN)),
        ),
        (
            "ORIGIN with truncated entry is ignored",
            raw(kind::ORIGIN, 0, 0, b"\0\x01a\0"),
            Box::new(|f| matches!(f, Frame::Unknown(u) if u.kind == kind::ORIGIN)),
        ),
        (
            "empty ORIGIN",
            raw(kind::ORIGIN, 0xff, 0, b""),
            Box::new(|f| matches!(f, Frame::Origin(o) if o.origins.is_empty())),
        ),
        (
            "PUSH_PROMISE reserved bit of promised id ignored",
            raw(kind::PUSH_PROMISE, EH, 1, &[0x80, 0, 0, 2]),
            Box::new(|f| matches!(f, Frame::PushPromise(p) if p.promised_id == StreamId::new(2))),
        ),
        (
            "frame exactly at max frame size",
            raw(kind::DATA, 0, 1, &[0; 16_384]),
            Box::new(|f| matches!(f, Frame::Data(d) if d.data.len() == 16_384)),
        ),
    ];
    for (name, wire, check) in cases {
        let mut buf = BytesMut::from(&wire[..]);
        let frame = Parser::new().parse(&mut buf);
        match &frame {
            Ok(Some(f)) if check(f) => assert!(buf.is_empty(), "{name}: not consumed"),
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

/// A stream-scoped oversize error never buffers the payload: the bytes are
/// dropped across later calls and the next frame parses normally.
#[test]
fn oversized_data_is_discarded_incrementally() {
    const LEN: usize = 100_000;
    let mut wire = head(LEN as u32, kind::DATA, 0, 3);
    wire.extend(std::iter::repeat_n(0xaa, LEN));
    let mut ping = BytesMut::new();
    Ping::new(*b"after!!!").encode(&mut ping);
    wire.extend_from_slice(&ping);

    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    // Header plus a little payload: error right away.
    buf.extend_from_slice(&wire[..9 + 10]);
    let err = parser.parse(&mut buf).unwrap_err();
    assert_eq!(err.scope, ErrorScope::Stream(StreamId::new(3)));
    assert_eq!(err.code, FrameSizeError);
    assert_eq!(
        err.flow_controlled_len, LEN as u32,
        "discarded DATA still counts for flow control"
    );
    assert!(buf.is_empty());
    assert!(parser.is_discarding());

    // Feed the rest in uneven chunks; nothing is buffered meanwhile.
    let mut at = 19;
    let mut calls = 0;
    for chunk in [1, 7_000, 33_333, 40_000, 19_656] {
        buf.extend_from_slice(&wire[at..at + chunk]);
        at += chunk;
        assert_eq!(parser.parse(&mut buf), Ok(None));
        assert!(buf.is_empty(), "payload must not be buffered");
        calls += 1;
    }
    assert_eq!(at, 9 + LEN);
    assert!(calls >= 3);
    assert!(!parser.is_discarding());

    // The PING after it, itself split across calls.
    buf.extend_from_slice(&wire[at..at + 5]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    buf.extend_from_slice(&wire[at + 5..]);
    assert_eq!(
        parser.parse(&mut buf),
        Ok(Some(Frame::Ping(Ping::new(*b"after!!!"))))
    );
    assert!(buf.is_empty());
}

/// The tail of a discarded frame and the next frame may arrive together.
#[test]
fn oversized_discard_then_frame_in_same_buffer() {
    let mut wire = head(20_000, kind::DATA, PADDED, 1);
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(
        parser.parse(&mut buf).unwrap_err().scope,
        ErrorScope::Stream(StreamId::new(1))
    );
    wire = vec![0; 20_000];
    Ping::pong(*b"12345678").encode(&mut buf);
    let mut joined = BytesMut::from(&wire[..]);
    joined.extend_from_slice(&buf);
    assert_eq!(
        parser.parse(&mut joined),
        Ok(Some(Frame::Ping(Ping::pong(*b"12345678"))))
    );
}

/// HEADERS over the limit is a connection error as soon as the header is
/// in, and nothing of it is buffered.
#[test]
fn oversized_headers_is_connection_error_from_header_alone() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&head(16_385, kind::HEADERS, EH, 1)[..8]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    buf.extend_from_slice(&[1]);
    let err = parser.parse(&mut buf).unwrap_err();
    assert_eq!(
        (err.scope, err.code),
        (ErrorScope::Connection, FrameSizeError)
    );
    assert!(
        buf.capacity() < 16_385,
        "payload space must not be reserved"
    );
}

/// Raising our SETTINGS_MAX_FRAME_SIZE admits larger frames.
#[test]
fn max_frame_size_is_respected() {
    let wire = raw(kind::HEADERS, EH, 1, &[0x82; 20_000]);
    let mut parser = Parser::new();
    assert!(parser.parse(&mut BytesMut::from(&wire[..])).is_err());
    parser.set_max_frame_size(20_000);
    assert_eq!(parser.max_frame_size(), 20_000);
    let mut buf = BytesMut::from(&wire[..]);
    let frame = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(
        frame,
        Frame::Headers(Headers::new(
            StreamId::new(1),
            Bytes::from(vec![0x82; 20_000])
        ))
    );
}

#[test]
#[should_panic(expected = "out of range")]
fn max_frame_size_below_minimum_panics() {
    Parser::new().set_max_frame_size(16_383);
}
