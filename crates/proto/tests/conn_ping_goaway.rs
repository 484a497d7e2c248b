//! RFC 9113 §6.7 (PING, keep-alive) and §6.8 (GOAWAY, graceful shutdown).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, StatusCode};
use ropewalk_proto::conn::{Event, Initiator, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, GoAway, StreamId};
use ropewalk_proto::headers::{RequestHead, ResponseHead};

fn goaway(last: u32, code: ErrorCode) -> GoAway {
    GoAway::new(sid(last), code)
}

fn get() -> RequestHead {
    RequestHead::new(Method::GET, "https://a/".parse().unwrap())
}

#[test]
fn rfc9113_6_7_ping_is_answered() {
    let mut p = Peer::server_ready(cfg());
    p.send(ping(*b"abcdefgh"));
    p.expect(&[pong(*b"abcdefgh")]);
}

#[test]
fn rfc9113_6_7_ping_ack_not_answered() {
    let mut p = Peer::server_ready(cfg());
    p.send(pong(*b"abcdefgh"));
    p.expect_nothing();
    assert!(p.events().is_empty(), "unsolicited ack ignored");
}

#[test]
fn rfc9113_6_7_ping_on_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 8, 6, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_7_ping_bad_length_is_frame_size_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 7, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
    p.expect_goaway(ErrorCode::FrameSizeError);
}

#[test]
fn rfc9113_6_7_our_ping_reports_rtt() {
    let mut p = Peer::client_ready(cfg());
    p.conn.ping(*b"rtt-test", p.now).unwrap();
    p.expect(&[ping(*b"rtt-test")]);
    p.now += Duration::from_millis(30);
    p.send(pong(*b"rtt-test"));
    assert_eq!(
        p.events(),
        vec![Event::PingAck {
            payload: *b"rtt-test",
            rtt: Duration::from_millis(30)
        }]
    );
}

#[test]
fn rfc9113_6_7_pending_pings_are_bounded() {
    let mut p = Peer::client_ready(cfg());
    for i in 0..16u8 {
        p.conn.ping([i; 8], p.now).unwrap();
    }
    assert_eq!(p.conn.ping([99; 8], p.now), Err(UserError::TooManyPending));
}

#[test]
fn keepalive_pings_when_idle() {
    let mut p = Peer::client_ready(cfg().with_keepalive(Some(Duration::from_secs(10))));
    assert_eq!(p.conn.next_timeout(), Some(p.now + Duration::from_secs(10)));
    p.advance(Duration::from_secs(10));
    let f = p.frames();
    let Frame::Ping(ping) = &f[0] else {
        panic!("{f:?}")
    };
    assert!(!ping.ack);
    let payload = ping.payload;
    p.advance(Duration::from_secs(1));
    p.send(pong(payload));
    p.advance(Duration::from_secs(30));
    assert!(p.conn.close_reason().is_none());
}

#[test]
fn keepalive_closes_after_timeout() {
    let mut c = cfg().with_keepalive(Some(Duration::from_secs(10)));
    c.keepalive_timeout = Duration::from_secs(5);
    let mut p = Peer::client_ready(c);
    p.advance(Duration::from_secs(10));
    p.frames();
    p.advance(Duration::from_secs(5));
    let reason = p.conn.close_reason().expect("closed");
    assert!(reason.why().contains("keep-alive"));
    let ev = p.events();
    assert!(matches!(ev.last(), Some(Event::Closed { .. })));
}

#[test]
fn keepalive_reset_by_traffic() {
    let mut p = Peer::client_ready(cfg().with_keepalive(Some(Duration::from_secs(10))));
    p.advance(Duration::from_secs(8));
    p.send(ping(*b"traffic!"));
    p.advance(Duration::from_secs(8));
    let f = p.frames();
    assert_eq!(f, vec![pong(*b"traffic!")]);
}

#[test]
fn rfc9113_6_8_goaway_received_fails_streams_above_last() {
    let mut p = Peer::client_ready(cfg());
    for _ in 0..3 {
        p.conn.send_request(get(), true).unwrap();
    }
    p.frames();
    p.send(goaway(1, ErrorCode::NoError));
    let ev = p.events();
    assert!(matches!(&ev[0], Event::GoAway { last_stream_id, .. } if *last_stream_id == sid(1)));
    let failed: Vec<StreamId> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Reset {
                error:
                    ropewalk_proto::conn::Error::Stream {
                        id,
                        retryable: true,
                        initiator: Initiator::Remote,
                        ..
                    },
            } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [sid(3), sid(5)]);
    // stream 1 still completes
    p.send_headers(1, OK, true);
    let ev = p.events();
    assert!(matches!(&ev[0], Event::Response { .. }));
    assert!(matches!(ev.last(), Some(Event::Closed { .. })), "{ev:?}");
}

#[test]
fn rfc9113_6_8_no_new_streams_after_goaway() {
    let mut p = Peer::client_ready(cfg());
    p.conn.send_request(get(), true).unwrap();
    p.frames();
    p.send(goaway(1, ErrorCode::NoError));
    assert_eq!(p.conn.send_request(get(), true), Err(UserError::GoingAway));
}

#[test]
fn rfc9113_6_8_goaway_fails_queued_requests() {
    let mut p = Peer::client(cfg());
    let mut s = ropewalk_proto::frame::Settings::default();
    s.set_max_concurrent_streams(Some(1));
    p.handshake_with(s);
    p.conn.send_request(get(), true).unwrap();
    let queued = p.conn.send_request(get(), true).unwrap();
    p.frames();
    p.send(goaway(0x7fff_ffff, ErrorCode::NoError));
    let ev = p.events();
    assert!(ev.iter().any(|e| matches!(e, Event::Reset { error } if error.is_retryable() && matches!(error, ropewalk_proto::conn::Error::Stream { id, .. } if *id == queued))));
}

#[test]
fn rfc9113_6_8_goaway_with_error_closes() {
    let mut p = Peer::client_ready(cfg());
    p.conn.send_request(get(), true).unwrap();
    p.frames();
    p.send(goaway(1, ErrorCode::InternalError).with_debug_data(Bytes::from_static(b"oops")));
    let ev = p.events();
    let Some(Event::Closed { error }) = ev.last() else {
        panic!("{ev:?}")
    };
    assert_eq!(error.code(), ErrorCode::InternalError);
    assert_eq!(error.why(), "oops");
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_goaway_on_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 8, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_8_idle_client_closes_on_goaway() {
    let mut p = Peer::client_ready(cfg());
    p.send(goaway(0, ErrorCode::NoError));
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_graceful_shutdown_two_steps() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.events();
    p.conn.graceful_shutdown(p.now);
    let f = p.frames();
    assert_eq!(f[0], goaway(0x7fff_ffff, ErrorCode::NoError).into());
    let Frame::Ping(ping) = &f[1] else {
        panic!("{f:?}")
    };
    let payload = ping.payload;
    // a request that crossed the first GOAWAY is still accepted
    p.send_headers(3, GET, true);
    assert_eq!(p.events().len(), 1);
    p.send(pong(payload));
    assert_eq!(p.frames(), vec![goaway(3, ErrorCode::NoError).into()]);
    // streams above 3 are now ignored
    p.send_headers(5, GET, true);
    assert!(p.events().is_empty());
    p.expect_nothing();
    // finishing the streams closes the connection
    for id in [1, 3] {
        p.conn
            .send_response(sid(id), ResponseHead::new(StatusCode::OK), true)
            .unwrap();
    }
    p.frames();
    assert!(p.conn.is_closed());
    let ev = p.events();
    assert!(
        matches!(ev.last(), Some(Event::Closed { error }) if error.code() == ErrorCode::NoError)
    );
}

#[test]
fn rfc9113_6_8_graceful_shutdown_deadline() {
    let mut c = cfg();
    c.shutdown_timeout = Duration::from_secs(3);
    let mut p = Peer::server_ready(c);
    p.send_headers(1, GET, true);
    p.conn.graceful_shutdown(p.now);
    p.frames();
    p.advance(Duration::from_secs(3));
    assert!(p.conn.close_reason().is_some());
    let ev = p.events();
    assert!(matches!(ev.last(), Some(Event::Closed { .. })));
}

#[test]
fn rfc9113_6_8_graceful_shutdown_idle_server_closes_after_ack() {
    let mut p = Peer::server_ready(cfg());
    p.conn.graceful_shutdown(p.now);
    let f = p.frames();
    let Frame::Ping(ping) = &f[1] else { panic!() };
    let payload = ping.payload;
    p.send(pong(payload));
    let f = p.frames();
    assert_eq!(f, vec![goaway(0, ErrorCode::NoError).into()]);
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_client_graceful_shutdown() {
    let mut p = Peer::client_ready(cfg());
    p.conn.send_request(get(), true).unwrap();
    p.frames();
    p.conn.graceful_shutdown(p.now);
    assert_eq!(p.frames(), vec![goaway(0, ErrorCode::NoError).into()]);
    assert!(!p.conn.is_closed());
    p.send_headers(1, OK, true);
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_5_4_1_close_command_sends_goaway() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.conn.close(ErrorCode::InternalError, "bye");
    let g = p.expect_goaway(ErrorCode::InternalError);
    assert_eq!(g.last_stream_id, sid(1));
    assert_eq!(&g.debug_data[..], b"bye");
}

#[test]
fn rfc9113_5_4_1_nothing_read_after_close() {
    let mut p = Peer::server_ready(cfg());
    p.conn.close(ErrorCode::NoError, "bye");
    p.frames();
    p.send_headers(1, GET, true);
    assert!(p.events().iter().all(|e| matches!(e, Event::Closed { .. })));
    p.expect_nothing();
}

#[test]
fn rfc9113_6_8_frames_on_ignored_streams_after_goaway() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.conn.graceful_shutdown(p.now);
    let f = p.frames();
    let Frame::Ping(ping) = &f[1] else { panic!() };
    let payload = ping.payload;
    p.send(pong(payload));
    p.frames();
    p.events();
    p.send_headers(3, POST, false);
    p.send_data(3, b"ignored", false);
    p.send(wu(3, 10));
    p.send(rst(3, ErrorCode::Cancel));
    p.expect_nothing();
    assert!(p.events().is_empty());
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_goaway_reports_last_processed_stream() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.send_headers(3, GET, true);
    p.conn.close(ErrorCode::NoError, "done");
    let g = p.expect_goaway(ErrorCode::NoError);
    assert_eq!(g.last_stream_id, sid(3));
}

#[test]
fn rfc9113_6_8_server_handles_client_goaway() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.events();
    p.send(goaway(0, ErrorCode::NoError));
    let ev = p.events();
    assert!(matches!(&ev[0], Event::GoAway { .. }));
    assert!(!p.conn.is_closed(), "stream 1 is still to be answered");
    assert_eq!(
        p.conn.push_promise(sid(1), get()),
        Err(UserError::GoingAway)
    );
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), true)
        .unwrap();
    p.frames();
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_second_goaway_lowers_last_stream_id() {
    let mut p = Peer::client_ready(cfg());
    for _ in 0..3 {
        p.conn.send_request(get(), true).unwrap();
    }
    p.frames();
    p.send(goaway(0x7fff_ffff, ErrorCode::NoError));
    assert_eq!(p.conn.stream_count(), 3);
    p.send(goaway(3, ErrorCode::NoError));
    assert_eq!(p.conn.stream_count(), 2);
}

#[test]
fn rfc9113_6_7_ack_with_unknown_payload_ignored() {
    let mut p = Peer::client_ready(cfg());
    p.conn.ping(*b"expected", p.now).unwrap();
    p.frames();
    p.send(pong(*b"somethin"));
    assert!(p.events().is_empty());
    p.send(pong(*b"expected"));
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc9113_6_7_ping_acks_in_order_with_other_frames() {
    let mut p = Peer::server_ready(cfg());
    p.send(ping(*b"11111111"));
    p.send_headers(1, GET, true);
    p.send(ping(*b"22222222"));
    p.expect(&[pong(*b"11111111"), pong(*b"22222222")]);
}
