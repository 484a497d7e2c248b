//! RFC 7540 §3.2: HTTP/2 started by an HTTP/1.1 `Upgrade: h2c` request,
//! which becomes stream 1.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::{Method, StatusCode};
use ropewalk_proto::conn::{Connection, Event, UPGRADE_STREAM, UpgradeError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, Settings};
use ropewalk_proto::headers::{RequestHead, ResponseHead};

const REQ: &[(&[u8], &[u8])] = &[
    (b":method", b"GET"),
    (b":scheme", b"http"),
    (b":authority", b"example.com"),
    (b":path", b"/a?b=c"),
    (b"accept", b"*/*"),
];

/// A SETTINGS payload (what `HTTP2-Settings` carries, base64url-decoded).
fn payload(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (id, value) in entries {
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&value.to_be_bytes());
    }
    v
}

fn upgraded(settings: &[(u16, u32)]) -> Peer {
    let now = Instant::now();
    let conn =
        Connection::server_upgrade(cfg(), now, &payload(settings), REQ.iter().copied()).unwrap();
    Peer::around(conn, now)
}

#[test]
fn rfc7540_3_2_upgrade_request_is_stream_1_half_closed_remote() {
    let mut p = upgraded(&[]);
    let ev = p.events();
    let [
        Event::Request {
            stream,
            head,
            end_stream,
        },
    ] = &ev[..]
    else {
        panic!("{ev:?}");
    };
    assert_eq!(*stream, UPGRADE_STREAM);
    assert!(*end_stream, "the HTTP/1.1 request is complete");
    assert_eq!(head.method, Method::GET);
    assert_eq!(head.path.as_ref().map(|p| p.as_str()), Some("/a?b=c"));
    assert_eq!(head.headers["accept"], "*/*");
    assert_eq!(
        p.conn.stream_state(UPGRADE_STREAM),
        Some(ropewalk_proto::stream::State::HalfClosedRemote)
    );
    // Our SETTINGS come first, then the response on stream 1.
    p.conn
        .send_response(UPGRADE_STREAM, ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(UPGRADE_STREAM, Bytes::from_static(b"hi"), true)
        .unwrap();
    let frames = p.frames();
    assert!(
        matches!(frames[0], Frame::Settings(ref s) if !s.is_ack()),
        "{frames:?}"
    );
    let on_1: Vec<&Frame> = frames
        .iter()
        .filter(|f| matches!(f, Frame::Headers(_) | Frame::Data(_)))
        .collect();
    assert!(
        matches!(on_1[0], Frame::Headers(h) if h.stream_id.get() == 1),
        "{frames:?}"
    );
    assert_eq!(on_1[1], &data_frame(1, b"hi", true));
    assert_eq!(on_1.len(), 2);
}

#[test]
fn rfc7540_3_2_1_http2_settings_apply_without_ack() {
    // INITIAL_WINDOW_SIZE = 5: the response body on stream 1 waits after 5.
    let mut p = upgraded(&[(0x4, 5)]);
    p.events();
    p.conn
        .send_response(UPGRADE_STREAM, ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(UPGRADE_STREAM, Bytes::from_static(b"0123456789"), true)
        .unwrap();
    let frames = p.frames();
    assert_eq!(
        frames.last(),
        Some(&data_frame(1, b"01234", false)),
        "{frames:?}"
    );
    // The client preface's SETTINGS (empty) gets the only ACK: the
    // HTTP2-Settings were acknowledged by the 101.
    p.send(Settings::default());
    assert_eq!(p.frames(), vec![Frame::Settings(Settings::ack())]);
    p.send(wu(1, 5));
    assert_eq!(p.frames(), vec![data_frame(1, b"56789", true)]);
}

#[test]
fn rfc7540_3_2_data_from_client_on_stream_1_is_stream_closed() {
    let mut p = upgraded(&[]);
    p.events();
    p.handshake();
    // RFC 9113 §5.1: half-closed (remote) answers DATA with STREAM_CLOSED.
    p.send_data(1, b"late", false);
    p.expect_rst(1, ErrorCode::StreamClosed);
    // New requests use ids above 1.
    p.send_headers(3, GET, true);
    assert!(
        p.events()
            .iter()
            .any(|e| matches!(e, Event::Request { stream, .. } if stream.get() == 3))
    );
    // A fresh upgrade: HEADERS on stream 1 is also STREAM_CLOSED.
    let mut p = upgraded(&[]);
    p.events();
    p.handshake();
    p.send_headers(1, GET, true);
    p.expect_rst(1, ErrorCode::StreamClosed);
}

#[test]
fn rfc7540_3_2_1_invalid_http2_settings_refuse_the_upgrade() {
    let now = Instant::now();
    let bad = |pl: &[u8]| Connection::server_upgrade(cfg(), now, pl, REQ.iter().copied()).err();
    // Not a multiple of 6 (RFC 9113 §6.5).
    assert!(matches!(bad(&[0, 4, 0]), Some(UpgradeError::Settings(_))));
    // ENABLE_PUSH = 2 (RFC 9113 §6.5.2).
    assert!(matches!(
        bad(&payload(&[(0x2, 2)])),
        Some(UpgradeError::Settings(_))
    ));
    // INITIAL_WINDOW_SIZE over 2^31-1.
    assert!(matches!(
        bad(&payload(&[(0x4, 1 << 31)])),
        Some(UpgradeError::Settings(_))
    ));
    // MAX_FRAME_SIZE below 16384.
    assert!(matches!(
        bad(&payload(&[(0x5, 100)])),
        Some(UpgradeError::Settings(_))
    ));
}

#[test]
fn rfc9113_8_2_upgrade_request_fields_are_checked_like_headers() {
    let now = Instant::now();
    let with = |extra: (&'static [u8], &'static [u8])| {
        Connection::server_upgrade(cfg(), now, &[], REQ.iter().copied().chain([extra])).err()
    };
    assert!(matches!(
        with((b"Accept", b"x")),
        Some(UpgradeError::Malformed(_))
    ));
    assert!(matches!(
        with((b"connection", b"close")),
        Some(UpgradeError::Malformed(_))
    ));
    assert!(matches!(
        with((b"x", b"a\r\nb")),
        Some(UpgradeError::Malformed(_))
    ));
    let no_path: Vec<(&[u8], &[u8])> = REQ.iter().copied().filter(|f| f.0 != b":path").collect();
    assert!(matches!(
        Connection::server_upgrade(cfg(), now, &[], no_path).err(),
        Some(UpgradeError::Malformed(_))
    ));
}

#[test]
fn rfc9113_6_5_2_upgrade_request_over_max_header_list_size() {
    let now = Instant::now();
    let big = vec![b'v'; 2000];
    let fields: Vec<(&[u8], &[u8])> = REQ
        .iter()
        .copied()
        .chain([(&b"x-big"[..], &big[..])])
        .collect();
    let small = cfg().with_max_header_list_size(1000);
    assert_eq!(
        Connection::server_upgrade(small, now, &[], fields.clone()).err(),
        Some(UpgradeError::TooLarge)
    );
    assert!(Connection::server_upgrade(cfg(), now, &[], fields).is_ok());
}

#[test]
fn rfc7540_3_2_client_side_awaits_the_response_on_stream_1() {
    let now = Instant::now();
    let head = RequestHead::new(Method::GET, "http://example.com/x".parse().unwrap());
    let conn = Connection::client_upgraded(cfg(), now, &head);
    let mut p = Peer::around(conn, now);
    p.handshake();
    p.send_headers(1, OK, false);
    p.send_data(1, b"body", true);
    let ev = p.events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Response { stream, head, .. } if stream.get() == 1 && head.status == StatusCode::OK)),
        "{ev:?}"
    );
    assert!(ev.iter().any(|e| matches!(e, Event::Data { stream, data, end_stream: true } if stream.get() == 1 && &data[..] == b"body")));
    let next = p.conn.send_request(head, true).unwrap();
    assert_eq!(next.get(), 3);
}

#[test]
fn rfc7540_3_2_1_client_settings_payload_matches_its_preface() {
    let now = Instant::now();
    let config = cfg()
        .with_max_concurrent_streams(7)
        .with_initial_window_size(1 << 20);
    let pl = Connection::upgrade_settings_payload(config, now);
    assert_eq!(pl.len() % 6, 0);
    let entries: Vec<(u16, u32)> = pl
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect();
    assert!(entries.contains(&(0x3, 7)), "{entries:?}");
    assert!(entries.contains(&(0x4, 1 << 20)), "{entries:?}");
    // And a server accepts it.
    assert!(Connection::server_upgrade(cfg(), now, &pl, REQ.iter().copied()).is_ok());
}

#[test]
fn rfc9113_6_5_3_settings_timeout_counts_from_the_end_of_the_upgrade_body() {
    let now = Instant::now();
    let t = Duration::from_secs(10);
    let config = cfg().with_settings_timeout(Some(t));
    let conn = Connection::server_upgrade(config, now, &[], REQ.iter().copied()).unwrap();
    let mut p = Peer::around(conn, now);
    p.events();
    p.frames();
    // A long upload: the client cannot ACK before it ends.
    p.advance(Duration::from_secs(9));
    let done = p.now;
    p.conn.upgrade_body_done(done);
    p.advance(Duration::from_secs(9));
    assert!(
        !p.conn.is_closed(),
        "timer restarted at the end of the body"
    );
    p.advance(Duration::from_secs(2));
    p.expect_goaway(ErrorCode::SettingsTimeout);
}
