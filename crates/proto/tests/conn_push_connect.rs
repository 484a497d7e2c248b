//! RFC 9113 §8.4 (server push) and RFC 8441 (extended CONNECT).

mod common;

use bytes::Bytes;
use common::*;
use http::{Method, StatusCode};
use ropewalk_proto::conn::{Event, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, PushPromise, Settings};
use ropewalk_proto::headers::{Protocol, RequestHead, ResponseHead};

fn push_enabled_server() -> Peer {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_enable_push(Some(true));
    p.handshake_with(s);
    p
}

fn css() -> RequestHead {
    RequestHead::new(
        Method::GET,
        "https://example.com/style.css".parse().unwrap(),
    )
}

fn push_client() -> Peer {
    let mut p = Peer::client_ready(cfg().with_enable_push(true));
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://example.com/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p
}

fn promise(p: &mut Peer, assoc: u32, promised: u32, fields: &[(&str, &str)]) -> PushPromise {
    let block = p.block(fields);
    PushPromise::new(sid(assoc), sid(promised), block)
}

const CSS: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/style.css"),
];

#[test]
fn rfc9113_8_4_server_push() {
    let mut p = push_enabled_server();
    p.send_headers(1, GET, true);
    let promised = p.conn.push_promise(sid(1), css()).unwrap();
    assert_eq!(promised, sid(2));
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), true)
        .unwrap();
    p.conn
        .send_response(promised, ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(promised, Bytes::from_static(b"body{}"), true)
        .unwrap();
    let f = p.frames();
    let Frame::PushPromise(pp) = &f[0] else {
        panic!("{f:?}")
    };
    assert_eq!((pp.stream_id, pp.promised_id), (sid(1), sid(2)));
    let fields = p.decode(&pp.header_block.clone());
    assert!(fields.contains(&(":path".into(), "/style.css".into())));
    assert!(matches!(&f[1], Frame::Headers(h) if h.stream_id == sid(1)));
    assert!(matches!(&f[2], Frame::Headers(h) if h.stream_id == sid(2) && !h.end_stream));
    assert_eq!(f[3], data_frame(2, b"body{}", true));
    assert_eq!(p.conn.stream_count(), 0);
}

#[test]
fn rfc9113_8_4_promised_ids_increase() {
    let mut p = push_enabled_server();
    p.send_headers(1, GET, true);
    assert_eq!(p.conn.push_promise(sid(1), css()).unwrap(), sid(2));
    assert_eq!(p.conn.push_promise(sid(1), css()).unwrap(), sid(4));
}

#[test]
fn rfc9113_8_4_push_disabled_by_client() {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_enable_push(Some(false));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    assert_eq!(
        p.conn.push_promise(sid(1), css()),
        Err(UserError::PushDisabled)
    );
}

#[test]
fn rfc9113_8_4_1_pushed_request_must_be_safe() {
    let mut p = push_enabled_server();
    p.send_headers(1, GET, true);
    let post = RequestHead::new(Method::POST, "https://example.com/x".parse().unwrap());
    assert!(matches!(
        p.conn.push_promise(sid(1), post),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn rfc9113_6_6_push_on_closed_stream_refused() {
    let mut p = push_enabled_server();
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), true)
        .unwrap();
    assert_eq!(
        p.conn.push_promise(sid(1), css()),
        Err(UserError::UnknownStream(sid(1)))
    );
}

/// Found by the `server_conn` fuzz target: a pushed stream whose response
/// has started is half-closed (remote), but it is not peer-initiated, so it
/// cannot carry a PUSH_PROMISE.
#[test]
fn rfc9113_6_6_push_promise_only_on_peer_initiated_stream() {
    let mut p = push_enabled_server();
    p.send_headers(1, GET, true);
    let promised = p.conn.push_promise(sid(1), css()).unwrap();
    p.conn
        .send_response(promised, ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    assert_eq!(
        p.conn.push_promise(promised, css()),
        Err(UserError::InvalidState(promised))
    );
    // Informational heads leave the pushed stream in the same state.
    let mut p = push_enabled_server();
    p.send_headers(1, GET, true);
    let promised = p.conn.push_promise(sid(1), css()).unwrap();
    p.conn
        .send_informational(promised, ResponseHead::new(StatusCode::EARLY_HINTS))
        .unwrap();
    assert_eq!(
        p.conn.push_promise(promised, css()),
        Err(UserError::InvalidState(promised))
    );
    let f = p.frames();
    assert_eq!(
        f.iter()
            .filter(|f| matches!(f, Frame::PushPromise(_)))
            .count(),
        1,
        "{f:?}"
    );
}

/// Found by the `client_conn` fuzz target: a client that sent GOAWAY with
/// last stream id 0 accepted a later promise of stream 2, and its next
/// GOAWAY named stream 2. Promises above our GOAWAY's last stream id are
/// ignored, and that id never grows.
#[test]
fn rfc9113_6_8_push_after_goaway_ignored_and_last_id_never_grows() {
    let mut p = push_client();
    let now = p.now;
    p.conn.graceful_shutdown(now);
    let f = p.frames();
    let Some(Frame::GoAway(first)) = f.last() else {
        panic!("{f:?}")
    };
    assert_eq!(first.last_stream_id, sid(0));
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    assert!(
        !p.events()
            .iter()
            .any(|e| matches!(e, Event::PushPromise { .. })),
        "a promise above our GOAWAY was accepted"
    );
    // The ignored promise still went through HPACK: a later block that
    // refers to the dynamic table decodes. (Stream 1 stays open, so the
    // shutdown is not complete.)
    p.send_headers(1, OK, false);
    assert!(
        p.events()
            .iter()
            .any(|e| matches!(e, Event::Response { .. })),
        "the response after the ignored promise was lost"
    );
    p.conn.close(ErrorCode::InternalError, "test");
    let g = p.expect_goaway(ErrorCode::InternalError);
    assert_eq!(g.last_stream_id, sid(0), "GOAWAY last stream id grew");
}

#[test]
fn rfc9113_8_4_client_cannot_push() {
    let mut p = push_client();
    assert_eq!(
        p.conn.push_promise(sid(1), css()),
        Err(UserError::WrongRole)
    );
}

#[test]
fn rfc9113_8_4_client_receives_push() {
    let mut p = push_client();
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    let ev = p.events();
    let Event::PushPromise {
        stream,
        promised,
        head,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!((*stream, *promised), (sid(1), sid(2)));
    assert_eq!(head.path.as_ref().unwrap().as_str(), "/style.css");
    p.send_headers(2, OK, false);
    p.send_data(2, b"css", true);
    let ev = p.events();
    assert!(matches!(&ev[0], Event::Response { stream, .. } if *stream == sid(2)));
    assert!(matches!(&ev[1], Event::Data { stream, end_stream: true, .. } if *stream == sid(2)));
}

#[test]
fn rfc9113_6_5_2_push_disabled_and_acked_is_protocol_error() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://example.com/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_4_push_refused_before_settings_ack() {
    let mut p = Peer::client(cfg());
    p.send(Settings::default());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://example.com/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.expect_rst(2, ErrorCode::RefusedStream);
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_8_4_1_unsafe_pushed_request_is_stream_error() {
    let mut p = push_client();
    let pp = promise(
        &mut p,
        1,
        2,
        &[
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/x"),
        ],
    );
    p.send(pp);
    p.expect_rst(2, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_4_malformed_pushed_request_is_stream_error() {
    let mut p = push_client();
    let pp = promise(&mut p, 1, 2, &[(":method", "GET")]);
    p.send(pp);
    p.expect_rst(2, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_1_odd_promised_id_is_protocol_error() {
    let mut p = push_client();
    let pp = promise(&mut p, 1, 3, CSS);
    p.send(pp);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_1_promised_id_must_increase() {
    let mut p = push_client();
    let pp = promise(&mut p, 1, 4, CSS);
    p.send(pp);
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_4_server_receiving_push_promise_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_6_push_promise_on_idle_stream_is_protocol_error() {
    let mut p = Peer::client_ready(cfg().with_enable_push(true));
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_data_on_reserved_remote_is_protocol_error() {
    let mut p = push_client();
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.send_data(2, b"x", false);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_4_client_cancels_push() {
    let mut p = push_client();
    let pp = promise(&mut p, 1, 2, CSS);
    p.send(pp);
    p.events();
    p.conn.reset(sid(2), ErrorCode::Cancel).unwrap();
    p.expect_rst(2, ErrorCode::Cancel);
    // the server's in-flight response is ignored
    p.send_headers(2, OK, true);
    p.expect_nothing();
}

#[test]
fn rfc9113_8_4_push_promise_with_continuation() {
    let mut p = push_client();
    let mut pp = promise(&mut p, 1, 2, CSS);
    let block = pp.header_block.clone();
    pp.header_block = block.slice(..3);
    pp.set_end_headers(false);
    p.send(pp);
    p.send(cont(1, block.slice(3..), true));
    assert!(matches!(p.events()[0], Event::PushPromise { .. }));
}

const WS: &[(&str, &str)] = &[
    (":method", "CONNECT"),
    (":protocol", "websocket"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/chat"),
];

#[test]
fn rfc8441_4_extended_connect_accepted_when_enabled() {
    let mut p = Peer::server_ready(cfg().with_enable_connect_protocol(true));
    p.send_headers(1, WS, false);
    let ev = p.events();
    let Event::Request { head, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(head.protocol, Some(Protocol("websocket".into())));
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from_static(b"frame"), false)
        .unwrap();
    assert_eq!(p.frames().len(), 2);
}

#[test]
fn rfc8441_3_protocol_rejected_when_not_enabled() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, WS, false);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc8441_4_protocol_on_get_is_malformed() {
    let mut p = Peer::server_ready(cfg().with_enable_connect_protocol(true));
    p.send_headers(
        1,
        &[
            (":method", "GET"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
        ],
        false,
    );
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc8441_4_extended_connect_needs_path() {
    let mut p = Peer::server_ready(cfg().with_enable_connect_protocol(true));
    p.send_headers(
        1,
        &[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":authority", "example.com"),
        ],
        false,
    );
    p.expect_rst(1, ErrorCode::ProtocolError);
}

fn ws_request() -> RequestHead {
    let mut head = RequestHead::new(Method::CONNECT, "https://example.com/chat".parse().unwrap());
    head.scheme = Some(http::uri::Scheme::HTTPS);
    head.path = Some("/chat".parse().unwrap());
    head.protocol = Some(Protocol("websocket".into()));
    head
}

#[test]
fn rfc8441_3_client_waits_for_setting() {
    let mut p = Peer::client_ready(cfg());
    assert_eq!(
        p.conn.send_request(ws_request(), false),
        Err(UserError::ConnectProtocolDisabled)
    );
}

#[test]
fn rfc8441_4_client_sends_protocol() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_enable_connect_protocol(Some(true));
    p.handshake_with(s);
    p.conn.send_request(ws_request(), false).unwrap();
    let f = p.frames();
    let Frame::Headers(h) = &f[0] else { panic!() };
    let fields = p.decode(&h.header_block.clone());
    assert!(fields.contains(&(":protocol".into(), "websocket".into())));
    assert!(fields.contains(&(":method".into(), "CONNECT".into())));
    assert!(fields.contains(&(":path".into(), "/chat".into())));
}

#[test]
fn rfc9113_5_1_2_reserved_streams_bounded() {
    let mut p = Peer::client_ready(cfg().with_enable_push(true).with_max_concurrent_streams(2));
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://example.com/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    for promised in [2, 4] {
        let pp = promise(&mut p, 1, promised, CSS);
        p.send(pp);
    }
    p.expect_nothing();
    let pp = promise(&mut p, 1, 6, CSS);
    p.send(pp);
    p.expect_rst(6, ErrorCode::RefusedStream);
    assert_eq!(p.conn.stream_count(), 3);
}

#[test]
fn rfc9113_5_1_2_pushed_responses_respect_peer_limit() {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_enable_push(Some(true));
    s.set_max_concurrent_streams(Some(1));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    let a = p.conn.push_promise(sid(1), css()).unwrap();
    let b = p.conn.push_promise(sid(1), css()).unwrap();
    p.conn
        .send_response(a, ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    assert_eq!(
        p.conn
            .send_response(b, ResponseHead::new(StatusCode::OK), false),
        Err(UserError::ConcurrencyLimit)
    );
    p.conn.send_data(a, Bytes::from_static(b"x"), true).unwrap();
    p.frames();
    p.conn
        .send_response(b, ResponseHead::new(StatusCode::OK), true)
        .unwrap();
}
