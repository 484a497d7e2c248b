//! RFC 9113 §5.1 (stream states), §5.1.1 (identifiers), §5.1.2
//! (concurrency), §6.4 (RST_STREAM), §8.1 (exchanges).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, StatusCode};
use ropewalk_proto::conn::{Event, Initiator, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, Priority, Settings, StreamDependency};
use ropewalk_proto::headers::{RequestHead, ResponseHead};
use ropewalk_proto::stream::State;

fn respond(p: &mut Peer, id: u32, body: &'static [u8]) {
    p.conn
        .send_response(sid(id), ResponseHead::new(StatusCode::OK), body.is_empty())
        .unwrap();
    if !body.is_empty() {
        p.conn
            .send_data(sid(id), Bytes::from_static(body), true)
            .unwrap();
    }
}

fn get(uri: &str) -> RequestHead {
    RequestHead::new(Method::GET, uri.parse().unwrap())
}

#[test]
fn rfc9113_8_1_server_request_response() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    let ev = p.events();
    let Event::Request {
        stream,
        head,
        end_stream,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!((*stream, *end_stream), (sid(1), true));
    assert_eq!(head.method, Method::GET);
    assert_eq!(p.conn.stream_state(sid(1)), Some(State::HalfClosedRemote));
    respond(&mut p, 1, b"hello");
    let f = p.frames();
    assert_eq!(f.len(), 2);
    let Frame::Headers(h) = &f[0] else { panic!() };
    assert!(!h.end_stream && h.end_headers);
    assert_eq!(
        p.decode(&h.header_block.clone()),
        [(":status".to_string(), "200".to_string())]
    );
    assert_eq!(f[1], data_frame(1, b"hello", true));
    assert_eq!(p.conn.stream_count(), 0, "closed streams are forgotten");
}

#[test]
fn rfc9113_8_1_request_body_then_response() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.send_data(1, b"abc", false);
    p.send_data(1, b"def", true);
    let ev = p.events();
    assert_eq!(ev.len(), 3);
    assert_eq!(
        ev[1],
        Event::Data {
            stream: sid(1),
            data: Bytes::from_static(b"abc"),
            end_stream: false
        }
    );
    assert_eq!(
        ev[2],
        Event::Data {
            stream: sid(1),
            data: Bytes::from_static(b"def"),
            end_stream: true
        }
    );
    respond(&mut p, 1, b"");
    let f = p.frames();
    let Frame::Headers(h) = &f[0] else { panic!() };
    assert!(h.end_stream);
}

#[test]
fn rfc9113_8_1_client_exchange() {
    let mut p = Peer::client_ready(cfg());
    let id = p
        .conn
        .send_request(get("https://example.com/"), true)
        .unwrap();
    assert_eq!(id, sid(1));
    let f = p.frames();
    let Frame::Headers(h) = &f[0] else {
        panic!("{f:?}")
    };
    assert!(h.end_stream);
    let fields = p.decode(&h.header_block.clone());
    assert_eq!(fields[0], (":method".into(), "GET".into()));
    assert!(fields.contains(&(":path".into(), "/".into())));
    p.send_headers(1, OK, false);
    p.send_data(1, b"body", true);
    let ev = p.events();
    assert!(
        matches!(&ev[0], Event::Response { stream, head, end_stream: false, .. } if *stream == sid(1) && head.status == 200)
    );
    assert!(matches!(
        &ev[1],
        Event::Data {
            end_stream: true,
            ..
        }
    ));
    assert_eq!(p.conn.stream_count(), 0);
}

#[test]
fn rfc9113_5_1_1_client_ids_are_odd_and_increasing() {
    let mut p = Peer::client_ready(cfg());
    let a = p.conn.send_request(get("https://a/"), true).unwrap();
    let b = p.conn.send_request(get("https://a/"), true).unwrap();
    let c = p.conn.send_request(get("https://a/"), true).unwrap();
    assert_eq!((a, b, c), (sid(1), sid(3), sid(5)));
}

#[test]
fn rfc9113_5_1_1_even_stream_from_client_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(2, GET, true);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_1_decreasing_stream_id_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(5, GET, false);
    p.send_headers(3, GET, false);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_1_skipped_ids_are_closed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(5, GET, false);
    p.events();
    // stream 3 was implicitly closed by opening 5 (§5.1.1)
    p.send_data(3, b"x", false);
    p.expect_rst(3, ErrorCode::StreamClosed);
}

#[test]
fn rfc9113_5_1_1_server_opening_stream_with_headers_is_error() {
    let mut p = Peer::client_ready(cfg());
    p.send_headers(2, OK, true);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_idle_data_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_data(1, b"x", false);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_idle_rst_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send(rst(1, ErrorCode::Cancel));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_idle_window_update_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send(wu(1, 10));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_idle_priority_is_allowed() {
    let mut p = Peer::server_ready(cfg());
    p.send(Priority::new(
        sid(7),
        StreamDependency {
            dependency: sid(0),
            weight: 16,
            exclusive: false,
        },
    ));
    p.expect_nothing();
    p.send_headers(7, GET, true);
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc9113_5_1_client_idle_stream_frames_are_protocol_error() {
    let mut p = Peer::client_ready(cfg());
    p.send_data(1, b"x", false);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_1_half_closed_remote_data_is_stream_closed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.events();
    p.send_data(1, b"x", false);
    p.expect_rst(1, ErrorCode::StreamClosed);
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_5_1_half_closed_remote_headers_is_stream_closed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.events();
    p.send_headers(1, &[("x", "y")], true);
    p.expect_rst(1, ErrorCode::StreamClosed);
}

#[test]
fn rfc9113_5_1_half_closed_remote_window_update_allowed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.events();
    p.send(wu(1, 100));
    p.expect_nothing();
}

#[test]
fn rfc9113_5_1_closed_by_end_stream_then_data_is_connection_stream_closed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    respond(&mut p, 1, b"ok");
    p.frames();
    p.send_data(1, b"x", false);
    p.expect_goaway(ErrorCode::StreamClosed);
}

#[test]
fn rfc9113_5_1_closed_window_update_and_rst_ignored() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    respond(&mut p, 1, b"ok");
    p.frames();
    p.send(wu(1, 100));
    p.send(rst(1, ErrorCode::NoError));
    p.expect_nothing();
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_5_1_after_peer_reset_data_is_stream_closed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.send(rst(1, ErrorCode::Cancel));
    p.events();
    p.send_data(1, b"x", false);
    p.expect_rst(1, ErrorCode::StreamClosed);
}

#[test]
fn rfc9113_5_1_frames_after_our_reset_are_ignored() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.events();
    p.conn.reset(sid(1), ErrorCode::Cancel).unwrap();
    p.expect_rst(1, ErrorCode::Cancel);
    p.send_data(1, b"late", false);
    let h = p.headers(1, &[("trailer", "x")], true);
    p.send(h);
    p.send(wu(1, 5));
    p.expect_nothing();
    assert!(!p.conn.is_closed());
    // the late DATA still counted against the connection window, and was
    // given back
    assert!(p.conn.recv_window() > 0);
}

#[test]
fn rfc9113_5_1_after_grace_period_frames_are_stream_closed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.conn.reset(sid(1), ErrorCode::Cancel).unwrap();
    p.frames();
    p.advance(Duration::from_secs(10));
    p.send_data(1, b"late", false);
    p.expect_rst(1, ErrorCode::StreamClosed);
}

#[test]
fn rfc9113_5_1_reset_stream_hpack_stays_in_sync() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.conn.reset(sid(1), ErrorCode::Cancel).unwrap();
    p.frames();
    p.events();
    // trailers with new literal fields on the reset stream must still be
    // decoded so that later blocks referencing them work
    p.send_headers(1, &[("x-new", "indexed")], true);
    p.send_headers(
        3,
        &[GET[0], GET[1], GET[2], GET[3], ("x-new", "indexed")],
        true,
    );
    let ev = p.events();
    let Event::Request { head, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(head.headers["x-new"], "indexed");
}

#[test]
fn rfc9113_5_1_2_server_advertises_100_streams() {
    let mut p = Peer::server(ropewalk_proto::conn::Config::default());
    let f = p.frames();
    let Frame::Settings(s) = &f[0] else { panic!() };
    assert_eq!(s.max_concurrent_streams(), Some(100));
}

#[test]
fn rfc9113_5_1_2_excess_streams_refused() {
    let mut p = Peer::server_ready(cfg().with_max_concurrent_streams(2));
    p.send_headers(1, GET, false);
    p.send_headers(3, GET, false);
    p.send_headers(5, GET, false);
    p.expect_rst(5, ErrorCode::RefusedStream);
    assert_eq!(p.events().len(), 2);
    // a slot frees up
    p.send_data(1, b"", true);
    respond(&mut p, 1, b"");
    p.frames();
    p.send_headers(7, GET, false);
    p.expect_nothing();
    assert_eq!(p.events().len(), 2, "END_STREAM data + request 7");
}

#[test]
fn rfc9113_5_1_2_refused_stream_is_retryable() {
    let mut p = Peer::client_ready(cfg());
    p.conn.send_request(get("https://a/"), true).unwrap();
    p.frames();
    p.send(rst(1, ErrorCode::RefusedStream));
    let ev = p.events();
    let Event::Reset { error } = &ev[0] else {
        panic!()
    };
    assert!(error.is_retryable());
}

#[test]
fn rfc9113_5_1_2_client_requests_queue() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(1));
    p.handshake_with(s);
    let a = p.conn.send_request(get("https://a/1"), true).unwrap();
    let b = p.conn.send_request(get("https://a/2"), true).unwrap();
    let f = p.frames();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].stream_id(), a);
    assert_eq!(p.conn.stream_state(b), Some(State::Idle));
    p.send_headers(1, OK, true);
    let f = p.frames();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].stream_id(), b);
}

#[test]
fn rfc9113_5_1_2_client_queue_opens_when_limit_rises() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(0));
    p.handshake_with(s);
    p.conn.send_request(get("https://a/1"), true).unwrap();
    p.conn.send_request(get("https://a/2"), true).unwrap();
    p.expect_nothing();
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(10));
    p.send(s);
    let f = p.frames();
    assert_eq!(
        f.iter().filter(|f| matches!(f, Frame::Headers(_))).count(),
        2
    );
}

#[test]
fn rfc9113_5_1_2_queued_request_body_waits() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(1));
    p.handshake_with(s);
    p.conn.send_request(get("https://a/1"), true).unwrap();
    let b = p
        .conn
        .send_request(
            RequestHead::new(Method::POST, "https://a/2".parse().unwrap()),
            false,
        )
        .unwrap();
    p.conn
        .send_data(b, Bytes::from_static(b"body"), true)
        .unwrap();
    assert_eq!(p.frames().len(), 1);
    p.send_headers(1, OK, true);
    let f = p.frames();
    assert!(matches!(&f[0], Frame::Headers(h) if h.stream_id == b && !h.end_stream));
    assert_eq!(f[1], data_frame(3, b"body", true));
}

#[test]
fn rfc9113_6_4_peer_reset_is_reported() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.events();
    p.send(rst(1, ErrorCode::Cancel));
    let ev = p.events();
    let Event::Reset { error } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(error.code(), ErrorCode::Cancel);
    assert!(matches!(
        error,
        ropewalk_proto::conn::Error::Stream {
            initiator: Initiator::Remote,
            ..
        }
    ));
    assert_eq!(
        p.conn.send_data(sid(1), Bytes::from_static(b"x"), true),
        Err(UserError::UnknownStream(sid(1)))
    );
    p.expect_nothing();
}

#[test]
fn rfc9113_6_4_reset_command_sends_rst() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.conn.reset(sid(1), ErrorCode::InternalError).unwrap();
    p.expect_rst(1, ErrorCode::InternalError);
    assert_eq!(p.conn.stream_count(), 0);
}

#[test]
fn rfc9113_6_4_reset_drops_queued_data() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from_static(b"never"), true)
        .unwrap();
    p.conn.reset(sid(1), ErrorCode::Cancel).unwrap();
    let f = p.frames();
    assert!(matches!(f[0], Frame::Headers(_)));
    assert_eq!(f[1], rst(1, ErrorCode::Cancel));
    assert_eq!(f.len(), 2);
    assert_eq!(p.conn.send_buffered(), 0);
}

#[test]
fn rfc9113_8_1_drop_unfinished_stream_sends_cancel() {
    let mut p = Peer::client_ready(cfg());
    let id = p.conn.send_request(get("https://a/"), true).unwrap();
    p.frames();
    p.conn.drop_stream(id);
    p.expect_rst(1, ErrorCode::Cancel);
}

#[test]
fn rfc9113_8_1_drop_finished_stream_sends_nothing() {
    let mut p = Peer::client_ready(cfg());
    let id = p.conn.send_request(get("https://a/"), true).unwrap();
    p.frames();
    p.send_headers(1, OK, true);
    p.conn.drop_stream(id);
    p.expect_nothing();
}

#[test]
fn rfc9113_8_1_drop_releases_unconsumed_data() {
    let mut p = Peer::client_ready(cfg().with_connection_window_size(65_535));
    let id = p.conn.send_request(get("https://a/"), true).unwrap();
    p.frames();
    p.send_headers(1, OK, false);
    let before = p.conn.recv_window();
    for _ in 0..4 {
        p.send(ropewalk_proto::frame::Data::new(
            sid(1),
            Bytes::from(vec![0u8; 10_000]),
        ));
    }
    assert_eq!(p.conn.recv_window(), before - 40_000);
    p.conn.drop_stream(id);
    let f = p.frames();
    assert_eq!(f[0], rst(1, ErrorCode::Cancel));
    assert!(f.contains(&wu(0, 40_000)), "{f:?}");
}

#[test]
fn rfc9113_8_1_server_may_respond_before_request_ends() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    respond(&mut p, 1, b"early");
    p.frames();
    assert_eq!(p.conn.stream_state(sid(1)), Some(State::HalfClosedLocal));
    p.send_data(1, b"rest", true);
    let ev = p.events();
    assert!(matches!(
        ev.last(),
        Some(Event::Data {
            end_stream: true,
            ..
        })
    ));
    assert_eq!(p.conn.stream_count(), 0);
}

#[test]
fn rfc9113_8_1_data_before_response_headers_is_malformed() {
    let mut p = Peer::client_ready(cfg());
    p.conn.send_request(get("https://a/"), true).unwrap();
    p.frames();
    p.send_data(1, b"x", true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_4_1_goaway_names_last_processed_stream() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.send_headers(3, GET, false);
    p.send_data(9, b"x", false); // idle stream: connection error
    let g = p.expect_goaway(ErrorCode::ProtocolError);
    assert_eq!(g.last_stream_id, sid(3));
    assert!(!g.debug_data.is_empty());
}

#[test]
fn rfc9113_5_4_1_connection_error_fails_streams() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.events();
    p.send_data(9, b"x", false);
    let ev = p.events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Reset { error } if !error.is_connection()))
    );
    assert!(matches!(ev.last(), Some(Event::Closed { .. })));
}

#[test]
fn rfc9113_5_5_unknown_frame_types_ignored() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 3, 0xfa, 0xff, 0, 0, 0, 1, 1, 2, 3]);
    p.send_raw(&[0, 0, 0, 0xfb, 0, 0, 0, 0, 0]);
    p.expect_nothing();
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_5_5_unknown_frame_inside_header_block_is_error() {
    let mut p = Peer::server_ready(cfg());
    let mut h = p.headers(1, GET, true);
    h.set_end_headers(false);
    p.send(h);
    p.send_raw(&[0, 0, 0, 0xfb, 0, 0, 0, 0, 0]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn user_error_data_after_end_stream() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    respond(&mut p, 1, b"x");
    assert!(
        p.conn
            .send_data(sid(1), Bytes::from_static(b"y"), true)
            .is_err()
    );
}

#[test]
fn user_error_data_before_response_head() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    assert_eq!(
        p.conn.send_data(sid(1), Bytes::from_static(b"y"), true),
        Err(UserError::InvalidState(sid(1)))
    );
}

#[test]
fn user_error_role_checks() {
    let mut p = Peer::server_ready(cfg());
    assert_eq!(
        p.conn.send_request(get("https://a/"), true),
        Err(UserError::WrongRole)
    );
    let mut c = Peer::client_ready(cfg());
    assert_eq!(
        c.conn
            .send_response(sid(1), ResponseHead::new(StatusCode::OK), true),
        Err(UserError::WrongRole)
    );
}

#[test]
fn rfc9113_6_4_no_rst_for_queued_request() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(1));
    p.handshake_with(s);
    p.conn.send_request(get("https://a/1"), true).unwrap();
    let queued = p.conn.send_request(get("https://a/2"), true).unwrap();
    p.frames();
    p.conn.drop_stream(queued);
    p.expect_nothing();
    assert_eq!(p.conn.stream_state(queued), None);
    // the slot of stream 1 later frees without sending the dropped request
    p.send_headers(1, OK, true);
    p.expect_nothing();
}

/// A client whose server allows one stream at a time.
fn client_limited_to_one_stream() -> Peer {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(1));
    p.handshake_with(s);
    p
}

/// A DATA frame of 20,000 octets on `id`: over the default SETTINGS_MAX_FRAME_SIZE.
fn oversized_data(id: ropewalk_proto::frame::StreamId) -> Vec<u8> {
    let mut raw = vec![0x00, 0x4e, 0x20, 0x00, 0x00];
    raw.extend_from_slice(&id.get().to_be_bytes());
    raw.extend_from_slice(&[0u8; 20_000]);
    raw
}

/// Found by fuzzing (`fuzz/regressions/client_conn/rst-on-never-announced-stream`): a
/// request given up while queued was allocated an id the server never saw. A frame on it
/// from the server (here an oversized one, a stream error by RFC 9113 §4.2) must not be
/// answered with RST_STREAM on what is, for the server, an idle stream (§6.4); it is a
/// connection error (§5.1 idle).
#[test]
fn rfc9113_5_1_frame_on_a_dropped_queued_request_is_a_connection_error() {
    let mut p = client_limited_to_one_stream();
    p.conn.send_request(get("https://a/1"), true).unwrap();
    let queued = p.conn.send_request(get("https://a/2"), true).unwrap();
    p.frames();
    p.conn.drop_stream(queued);
    p.expect_nothing();
    // A DATA frame of 20,000 octets (over the default 16,384) on it.
    p.send_raw(&oversized_data(queued));
    let frames = p.frames();
    assert!(
        !frames.iter().any(|f| matches!(f, Frame::RstStream(_))),
        "{frames:?}"
    );
    assert!(
        frames.iter().any(|f| matches!(f, Frame::GoAway(_))),
        "{frames:?}"
    );
}

/// RFC 9113 §5.1.1: opening stream 3 implicitly closes an idle stream 1 below it. Here
/// the dropped queued request is below a later one that was sent: a frame on it is a
/// frame on a closed stream, which may be answered by RST_STREAM.
#[test]
fn rfc9113_5_1_1_dropped_id_below_an_opened_one_is_closed_not_idle() {
    let mut p = client_limited_to_one_stream();
    p.conn.send_request(get("https://a/1"), true).unwrap();
    let dropped = p.conn.send_request(get("https://a/2"), true).unwrap();
    let later = p.conn.send_request(get("https://a/3"), true).unwrap();
    p.frames();
    p.conn.drop_stream(dropped);
    // Stream 1 ends: the later request goes out, with an id above the dropped one.
    p.send_headers(1, OK, true);
    let frames = p.frames();
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Headers(h) if h.stream_id == later)),
        "{frames:?}"
    );
    p.send_raw(&oversized_data(dropped));
    let frames = p.frames();
    assert!(
        !frames.iter().any(|f| matches!(f, Frame::GoAway(_))),
        "{frames:?}"
    );
}

#[test]
fn rfc9113_5_1_client_stream_lifecycle_states() {
    let mut p = Peer::client_ready(cfg());
    let id = p
        .conn
        .send_request(
            RequestHead::new(Method::POST, "https://a/".parse().unwrap()),
            false,
        )
        .unwrap();
    assert_eq!(p.conn.stream_state(id), Some(State::Open));
    p.conn
        .send_data(id, Bytes::from_static(b"x"), true)
        .unwrap();
    p.frames();
    assert_eq!(p.conn.stream_state(id), Some(State::HalfClosedLocal));
    p.send_headers(1, OK, false);
    assert_eq!(p.conn.stream_state(id), Some(State::HalfClosedLocal));
    p.send_data(1, b"y", true);
    assert_eq!(p.conn.stream_state(id), None, "closed and forgotten");
}

#[test]
fn rfc9113_5_multiplexed_requests_interleave() {
    let mut p = Peer::server_ready(cfg());
    for id in [1, 3, 5] {
        p.send_headers(id, POST, false);
    }
    p.send_data(3, b"b1", false);
    p.send_data(1, b"a1", false);
    p.send_data(5, b"c1", true);
    p.send_data(1, b"a2", true);
    p.send_data(3, b"b2", true);
    let ev = p.events();
    let data: Vec<(u32, Bytes)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Data { stream, data, .. } => Some((stream.get(), data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        data,
        [
            (3, Bytes::from_static(b"b1")),
            (1, Bytes::from_static(b"a1")),
            (5, Bytes::from_static(b"c1")),
            (1, Bytes::from_static(b"a2")),
            (3, Bytes::from_static(b"b2")),
        ]
    );
    for id in [5, 1, 3] {
        respond(&mut p, id, b"ok");
    }
    let f = p.frames();
    assert_eq!(f.len(), 6);
    assert_eq!(p.conn.stream_count(), 0);
}

#[test]
fn rfc9113_6_4_respond_after_peer_reset_fails() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.send(rst(1, ErrorCode::Cancel));
    assert_eq!(
        p.conn
            .send_response(sid(1), ResponseHead::new(StatusCode::OK), true),
        Err(UserError::UnknownStream(sid(1)))
    );
    p.expect_nothing();
}

#[test]
fn rfc9113_6_9_release_on_unknown_stream_is_harmless() {
    let mut p = Peer::server_ready(cfg());
    p.conn.release_capacity(sid(41), 1_000_000);
    p.expect_nothing();
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_5_1_stream_ids_continue_after_many_streams() {
    let mut p = Peer::client_ready(cfg());
    let mut last = sid(0);
    for _ in 0..300 {
        let id = p.conn.send_request(get("https://a/"), true).unwrap();
        assert!(id > last && id.is_client_initiated());
        last = id;
        p.frames();
        p.send_headers(id.get(), OK, true);
    }
    assert_eq!(p.conn.stream_count(), 0);
}

/// An oversized DATA frame on an idle stream cannot be answered with
/// RST_STREAM (RFC 9113 §5.1), so it ends the connection; the GOAWAY keeps
/// the frame-size code of §4.2, matching its debug text.
#[test]
fn rfc9113_4_2_oversized_data_on_idle_stream_is_connection_frame_size_error() {
    let mut p = Peer::server_ready(cfg());
    // 9-octet header: length 16385 (> the default 16384), DATA, no flags, stream 1.
    p.send_raw(&[0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
    let goaway = p.expect_goaway(ErrorCode::FrameSizeError);
    assert_eq!(
        &goaway.debug_data[..],
        b"frame exceeds SETTINGS_MAX_FRAME_SIZE"
    );
}

/// RFC 9113 §5.5: extension frames are ignored by the core, but an
/// application that asks for them sees each one, in order, as an event.
#[test]
fn rfc9113_5_5_extension_frames_observable_when_asked() {
    use ropewalk_proto::frame::{Origin, Unknown};
    let unknown = Unknown::new(0xfa, 0x3, sid(0), bytes::Bytes::from_static(b"ext"));
    let origin = Origin::new(vec![bytes::Bytes::from_static(b"https://example.com")]);

    let mut p = Peer::server_ready(cfg().with_extension_frames(true));
    p.send(Frame::Unknown(unknown.clone()));
    p.send(Frame::Origin(origin.clone()));
    assert_eq!(
        p.events(),
        [
            Event::Extension(Frame::Unknown(unknown.clone())),
            Event::Extension(Frame::Origin(origin))
        ]
    );
    p.expect_nothing();

    // Off by default: ignored without a trace.
    let mut p = Peer::server_ready(cfg());
    p.send(Frame::Unknown(unknown));
    assert_eq!(p.events(), []);
    p.expect_nothing();
}
