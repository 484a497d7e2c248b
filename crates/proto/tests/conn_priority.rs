//! RFC 9218 extensible priorities and RFC 9113 §5.3 (deprecated PRIORITY).

mod common;

use bytes::Bytes;
use common::*;
use http::{HeaderValue, Method, StatusCode};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, Priority, PriorityUpdate, Settings, StreamDependency};
use ropewalk_proto::headers::{RequestHead, ResponseHead};

fn order(frames: &[Frame]) -> Vec<u32> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.stream_id.get()),
            _ => None,
        })
        .collect()
}

/// Server with a big window; requests on `streams` with `priority` header
/// values; each response gets `len` bytes queued.
fn server(streams: &[(u32, Option<&'static str>)], len: usize) -> Peer {
    server_after(&[], streams, len)
}

#[test]
fn rfc9218_4_1_lower_urgency_first() {
    let mut p = server(&[(1, None), (3, Some("u=0")), (5, Some("u=6"))], 100);
    assert_eq!(order(&p.frames()), [3, 1, 5]);
}

#[test]
fn rfc9218_4_2_incremental_round_robin() {
    let mut p = server(&[(1, Some("u=3, i")), (3, Some("u=3, i"))], 40_000);
    assert_eq!(order(&p.frames()), [1, 3, 1, 3, 1, 3]);
}

#[test]
fn rfc9218_4_2_non_incremental_one_at_a_time() {
    let mut p = server(&[(1, None), (3, None)], 40_000);
    assert_eq!(order(&p.frames()), [1, 1, 1, 3, 3, 3]);
}

#[test]
fn rfc9218_7_1_priority_update_reorders() {
    let mut p = server(&[(1, None), (3, None)], 100);
    p.send(PriorityUpdate::new(sid(3), Bytes::from_static(b"u=1")));
    assert_eq!(order(&p.frames()), [3, 1]);
}

#[test]
fn rfc9218_7_1_priority_update_for_an_idle_stream_is_kept_quietly() {
    let mut p = Peer::server_ready(cfg());
    p.send(PriorityUpdate::new(sid(99), Bytes::from_static(b"u=1")));
    p.expect_nothing();
}

/// Server with a big window: `before` goes first, then requests on
/// `streams` (with `priority` header values), each answered with `len`
/// octets.
fn server_after(before: &[Frame], streams: &[(u32, Option<&'static str>)], len: usize) -> Peer {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    p.send(wu(0, 1 << 20));
    for f in before {
        p.send(f.clone());
    }
    for &(id, prio) in streams {
        let mut f = GET.to_vec();
        if let Some(v) = prio {
            f.push(("priority", v));
        }
        p.send_headers(id, &f, true);
        p.conn
            .send_response(sid(id), ResponseHead::new(StatusCode::OK), false)
            .unwrap();
    }
    p.frames();
    for &(id, _) in streams {
        p.conn
            .send_data(sid(id), Bytes::from(vec![0u8; len]), true)
            .unwrap();
    }
    p
}

fn update(id: u32, value: &'static [u8]) -> Frame {
    PriorityUpdate::new(sid(id), Bytes::from_static(value)).into()
}

/// RFC 9218 §7: "Servers SHOULD buffer the most recently received
/// PRIORITY_UPDATE frame and apply it once the referenced stream is
/// opened."
#[test]
fn rfc9218_7_priority_update_before_the_stream_applies_when_it_opens() {
    let mut p = server_after(
        &[update(3, b"u=6"), update(3, b"u=1")],
        &[(1, None), (3, None)],
        100,
    );
    assert_eq!(order(&p.frames()), [3, 1]);
}

/// RFC 9218 §7: the latest signal (the frame) overrides the request's
/// priority field.
#[test]
fn rfc9218_7_early_priority_update_overrides_the_field() {
    let mut p = server_after(&[update(1, b"u=6")], &[(1, Some("u=0")), (3, None)], 100);
    assert_eq!(order(&p.frames()), [3, 1]);
}

/// RFC 9218 §7.1: a client may reprioritize a push stream it was promised
/// (only one not yet promised is an error).
#[test]
fn rfc9218_7_1_priority_update_for_a_promised_push_stream_applies() {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_enable_push(Some(true));
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    p.send(wu(0, 1 << 20));
    p.send_headers(1, GET, true);
    let css = || {
        RequestHead::new(
            Method::GET,
            "https://example.com/style.css".parse().unwrap(),
        )
    };
    let (a, b) = (
        p.conn.push_promise(sid(1), css()).unwrap(),
        p.conn.push_promise(sid(1), css()).unwrap(),
    );
    assert_eq!((a, b), (sid(2), sid(4)));
    for id in [a, b] {
        p.conn
            .send_response(id, ResponseHead::new(StatusCode::OK), false)
            .unwrap();
    }
    p.frames();
    p.send(update(4, b"u=0"));
    for id in [a, b] {
        p.conn
            .send_data(id, Bytes::from(vec![0u8; 100]), true)
            .unwrap();
    }
    assert_eq!(order(&p.frames()), [4, 2]);
    // Stream 6 was never promised.
    p.send(update(6, b"u=0"));
    p.expect_goaway(ErrorCode::ProtocolError);
}

/// RFC 9218 §7.1: the streams prioritized while idle plus the active ones
/// must stay within SETTINGS_MAX_CONCURRENT_STREAMS.
#[test]
fn rfc9218_7_1_too_many_idle_streams_prioritized_is_protocol_error() {
    let mut p = Peer::server_ready(cfg().with_max_concurrent_streams(2));
    p.send_headers(1, GET, false); // active
    p.send(update(3, b"u=1"));
    p.send(update(3, b"u=2")); // the same stream again: still one
    p.expect_nothing();
    p.send(update(5, b"u=1"));
    p.expect_goaway(ErrorCode::ProtocolError);
}

/// A stream opened above idle prioritized ones closes them (RFC 9113
/// §5.1.1): they no longer count, and an update for them is ignored.
#[test]
fn rfc9218_7_1_idle_streams_closed_by_a_higher_one_no_longer_count() {
    let mut p = Peer::server_ready(cfg().with_max_concurrent_streams(2));
    p.send(update(3, b"u=1"));
    p.send(update(5, b"u=1"));
    p.expect_nothing();
    p.send_headers(7, GET, false); // closes 1, 3 and 5; active
    p.send(update(3, b"u=1"));
    p.send(update(9, b"u=1"));
    p.expect_nothing();
    p.send(update(11, b"u=1"));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9218_7_1_server_sent_priority_update_is_protocol_error() {
    let mut p = Peer::client_ready(cfg());
    p.send(PriorityUpdate::new(sid(1), Bytes::from_static(b"u=1")));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9218_7_1_priority_update_for_an_idle_push_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send(PriorityUpdate::new(sid(2), Bytes::from_static(b"u=1")));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9218_7_1_priority_update_on_nonzero_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    // PRIORITY_UPDATE must be on stream 0
    p.send_raw(&[0, 0, 7, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 1, b'u', b'=', b'1']);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9218_4_invalid_priority_header_uses_defaults() {
    let mut p = server(&[(1, Some("u=9")), (3, Some("u=2"))], 100);
    assert_eq!(order(&p.frames()), [3, 1]);
}

#[test]
fn rfc9218_client_request_priority_orders_uploads() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    let a = p
        .conn
        .send_request(
            RequestHead::new(Method::POST, "https://a/1".parse().unwrap()),
            false,
        )
        .unwrap();
    let mut hb = RequestHead::new(Method::POST, "https://a/2".parse().unwrap());
    hb.headers
        .insert("priority", HeaderValue::from_static("u=0"));
    let b = p.conn.send_request(hb, false).unwrap();
    p.frames();
    p.conn.send_data(a, Bytes::from_static(b"a"), true).unwrap();
    p.conn.send_data(b, Bytes::from_static(b"b"), true).unwrap();
    assert_eq!(order(&p.frames()), [3, 1]);
}

#[test]
fn rfc7540_5_3_1_priority_self_dependency_is_stream_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.send(Priority::new(
        sid(1),
        StreamDependency {
            dependency: sid(1),
            weight: 16,
            exclusive: false,
        },
    ));
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc7540_5_3_1_priority_self_dependency_on_idle_stream() {
    let mut p = Peer::server_ready(cfg());
    p.send(Priority::new(
        sid(3),
        StreamDependency {
            dependency: sid(3),
            weight: 16,
            exclusive: false,
        },
    ));
    p.expect_rst(3, ErrorCode::ProtocolError);
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_5_3_2_priority_frames_ignored() {
    let mut p = server(&[(1, None), (3, None)], 100);
    p.send(Priority::new(
        sid(3),
        StreamDependency {
            dependency: sid(0),
            weight: 255,
            exclusive: true,
        },
    ));
    assert_eq!(order(&p.frames()), [1, 3]);
}

#[test]
fn rfc9113_6_3_priority_bad_length_is_stream_frame_size_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.send_raw(&[0, 0, 4, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    p.expect_rst(1, ErrorCode::FrameSizeError);
}

#[test]
fn rfc9113_6_3_priority_on_stream_0_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 16]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9218_7_1_client_sends_priority_update() {
    let mut p = Peer::client_ready(cfg());
    let id = p
        .conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.conn
        .update_priority(
            id,
            ropewalk_proto::priority::Priority {
                urgency: 0,
                incremental: true,
            },
        )
        .unwrap();
    assert_eq!(
        p.frames(),
        vec![PriorityUpdate::new(sid(1), Bytes::from_static(b"u=0, i")).into()]
    );
}

#[test]
fn rfc9218_7_1_server_cannot_send_priority_update() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    assert_eq!(
        p.conn
            .update_priority(sid(1), ropewalk_proto::priority::Priority::default()),
        Err(ropewalk_proto::conn::UserError::WrongRole)
    );
}
