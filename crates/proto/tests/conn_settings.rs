//! RFC 9113 §3.4 (preface) and §6.5 (SETTINGS) scenarios.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use ropewalk_proto::conn::{Config, Connection, Event};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, PREFACE, Settings};

#[test]
fn rfc9113_3_4_server_sends_settings_first() {
    let mut p = Peer::server(cfg());
    let f = p.frames();
    let Frame::Settings(s) = &f[0] else {
        panic!("{f:?}")
    };
    assert!(!s.is_ack());
    assert_eq!(s.max_concurrent_streams(), Some(100));
    assert_eq!(s.enable_push(), None, "servers do not send ENABLE_PUSH");
}

#[test]
fn rfc9113_3_4_client_sends_preface_then_settings() {
    let now = std::time::Instant::now();
    let mut c = Connection::client(cfg(), now);
    let mut wire = BytesMut::new();
    c.poll_transmit_all(now, &mut wire);
    assert_eq!(&wire[..24], PREFACE);
    let mut parser = ropewalk_proto::frame::Parser::new();
    let _ = wire.split_to(24);
    let Some(Frame::Settings(s)) = parser.parse(&mut wire).unwrap() else {
        panic!()
    };
    assert_eq!(s.enable_push(), Some(false));
}

#[test]
fn rfc9113_3_4_invalid_preface_is_protocol_error() {
    let now = std::time::Instant::now();
    let mut c = Connection::server(cfg(), now);
    let mut wire = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
    c.recv(&mut wire, now);
    assert!(c.close_reason().is_some());
    assert_eq!(c.close_reason().unwrap().code(), ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_3_4_preface_in_small_pieces() {
    let now = std::time::Instant::now();
    let mut c = Connection::server(cfg(), now);
    for b in PREFACE.iter() {
        let mut wire = BytesMut::from(&[*b][..]);
        c.recv(&mut wire, now);
    }
    assert!(c.close_reason().is_none());
}

#[test]
fn rfc9113_3_4_first_frame_must_be_settings() {
    let mut p = Peer::server(cfg());
    p.send(ping(*b"12345678"));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_3_4_first_frame_settings_ack_is_not_a_preface() {
    let mut p = Peer::server(cfg());
    p.send(Settings::ack());
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_5_3_settings_are_acknowledged() {
    let mut p = Peer::server(cfg());
    p.send(Settings::default());
    let f = p.frames();
    assert!(f.contains(&Frame::Settings(Settings::ack())));
    let ev = p.events();
    assert!(matches!(ev[0], Event::PeerSettings(_)));
}

#[test]
fn rfc9113_6_5_3_every_settings_frame_acked() {
    let mut p = Peer::server_ready(cfg());
    let mut s = Settings::default();
    s.set_max_frame_size(Some(20_000));
    p.send(s.clone());
    p.send(s);
    p.expect(&[Settings::ack().into(), Settings::ack().into()]);
}

#[test]
fn rfc9113_6_5_3_our_settings_apply_on_ack() {
    let mut p = Peer::server(cfg());
    p.send(Settings::default());
    p.frames();
    p.events();
    p.send(Settings::ack());
    assert_eq!(p.events(), vec![Event::SettingsAcknowledged]);
}

#[test]
fn rfc9113_6_5_3_settings_timeout() {
    let mut p = Peer::server(cfg().with_settings_timeout(Some(Duration::from_secs(5))));
    p.send(Settings::default());
    p.frames();
    assert!(p.conn.next_timeout().is_some());
    p.advance(Duration::from_secs(4));
    assert!(p.conn.close_reason().is_none());
    p.advance(Duration::from_secs(2));
    p.expect_goaway(ErrorCode::SettingsTimeout);
}

#[test]
fn rfc9113_6_5_3_no_timeout_once_acked() {
    let mut p = Peer::server_ready(cfg().with_settings_timeout(Some(Duration::from_secs(5))));
    p.advance(Duration::from_secs(60));
    assert!(p.conn.close_reason().is_none());
    assert_eq!(p.conn.next_timeout(), None);
}

#[test]
fn rfc9113_6_5_2_server_enable_push_1_is_protocol_error() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_enable_push(Some(true));
    p.send(s);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_5_2_server_enable_push_0_is_fine() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_enable_push(Some(false));
    p.send(s);
    assert!(p.conn.close_reason().is_none());
}

#[test]
fn rfc9113_6_5_2_initial_window_size_too_large() {
    let mut p = Peer::server_ready(cfg());
    // 2^31 on the wire (the frame layer rejects it)
    let mut raw = vec![0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4];
    raw.extend_from_slice(&0x8000_0000u32.to_be_bytes());
    p.send_raw(&raw);
    p.expect_goaway(ErrorCode::FlowControlError);
}

#[test]
fn rfc9113_6_5_2_max_frame_size_out_of_range() {
    let mut p = Peer::server_ready(cfg());
    let mut raw = vec![0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 5];
    raw.extend_from_slice(&100u32.to_be_bytes());
    p.send_raw(&raw);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_5_settings_on_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 0, 4, 0, 0, 0, 0, 1]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_5_settings_ack_with_payload_is_frame_size_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 6, 4, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1]);
    p.expect_goaway(ErrorCode::FrameSizeError);
}

#[test]
fn rfc9113_6_5_unknown_setting_ignored() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 1]);
    p.expect(&[Settings::ack().into()]);
}

#[test]
fn rfc9113_6_5_2_peer_max_frame_size_applies_to_our_data() {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_max_frame_size(Some(20_000));
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    p.events();
    p.conn
        .send_response(
            sid(1),
            ropewalk_proto::headers::ResponseHead::new(http::StatusCode::OK),
            false,
        )
        .unwrap();
    p.conn
        .send_data(sid(1), bytes::Bytes::from(vec![7u8; 50_000]), true)
        .unwrap();
    let f = p.frames();
    let sizes: Vec<usize> = f
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [20_000, 20_000, 10_000]);
}

#[test]
fn rfc9113_6_5_update_settings_applies_on_ack() {
    let mut p = Peer::server_ready(cfg());
    let mut s = Settings::default();
    s.set_max_concurrent_streams(Some(1));
    p.conn.update_settings(s.clone(), p.now).unwrap();
    assert_eq!(p.frames(), vec![Frame::Settings(s)]);
    p.send(Settings::ack());
    assert_eq!(p.events(), vec![Event::SettingsAcknowledged]);
    // now a second concurrent stream is refused
    p.send_headers(1, GET, false);
    p.send_headers(3, GET, false);
    p.frames();
    let ev = p.events();
    assert_eq!(ev.len(), 1, "{ev:?}");
}

#[test]
fn rfc8441_3_server_advertises_connect_protocol() {
    let mut p = Peer::server(Config::default().with_enable_connect_protocol(true));
    let f = p.frames();
    let Frame::Settings(s) = &f[0] else { panic!() };
    assert_eq!(s.enable_connect_protocol(), Some(true));
}

#[test]
fn rfc8441_3_connect_protocol_cannot_be_withdrawn() {
    let mut p = Peer::client(cfg());
    let mut s = Settings::default();
    s.set_enable_connect_protocol(Some(true));
    p.handshake_with(s);
    assert!(p.conn.peer_enables_connect_protocol());
    let mut s = Settings::default();
    s.set_enable_connect_protocol(Some(false));
    p.send(s);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_3_4_server_first_flight_bytes() {
    let mut p = Peer::server(
        Config::default()
            .with_initial_window_size(65_535)
            .with_connection_window_size(65_535),
    );
    #[rustfmt::skip]
    let expected: &[u8] = &[
        // SETTINGS: MAX_CONCURRENT_STREAMS 100, MAX_HEADER_LIST_SIZE 16384
        0, 0, 12, 0x4, 0, 0, 0, 0, 0,
        0, 3, 0, 0, 0, 100,
        0, 6, 0, 0, 0x40, 0,
    ];
    assert_eq!(p.bytes(), expected);
}

#[test]
fn rfc9113_3_4_client_first_flight_bytes() {
    let mut p = Peer::client(
        Config::default()
            .with_initial_window_size(65_535)
            .with_connection_window_size(65_535),
    );
    let mut expected = PREFACE.to_vec();
    #[rustfmt::skip]
    expected.extend_from_slice(&[
        // SETTINGS: ENABLE_PUSH 0, MAX_CONCURRENT_STREAMS 100,
        // MAX_HEADER_LIST_SIZE 16384
        0, 0, 18, 0x4, 0, 0, 0, 0, 0,
        0, 2, 0, 0, 0, 0,
        0, 3, 0, 0, 0, 100,
        0, 6, 0, 0, 0x40, 0,
    ]);
    assert_eq!(p.bytes(), expected);
}

#[test]
fn rfc9113_6_7_ping_ack_bytes() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        p.bytes(),
        [0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    );
}

#[test]
fn rfc9113_6_5_3_settings_ack_bytes() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0]);
    assert_eq!(p.bytes(), [0, 0, 0, 4, 1, 0, 0, 0, 0]);
}

#[test]
fn rfc9113_6_5_2_peer_max_header_list_size_limits_what_we_send() {
    use ropewalk_proto::conn::UserError;
    use ropewalk_proto::headers::ResponseHead;
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_max_header_list_size(Some(100));
    p.handshake_with(s);
    p.send_headers(1, GET, false);
    p.events();
    // ":status" (7) + "200" (3) + 32 = 42, and "x-big" (5) + 70 + 32 = 107: 149 > 100.
    let mut head = ResponseHead::new(http::StatusCode::OK);
    head.headers
        .insert("x-big", http::HeaderValue::from_bytes(&[b'a'; 70]).unwrap());
    assert_eq!(
        p.conn.send_response(sid(1), head, true),
        Err(UserError::HeaderListTooLarge {
            size: 149,
            limit: 100
        })
    );
    // Nothing went out for the refused head, and a head that fits still goes.
    p.expect_nothing();
    p.conn
        .send_response(sid(1), ResponseHead::new(http::StatusCode::OK), false)
        .unwrap();
    assert!(matches!(p.frames().as_slice(), [Frame::Headers(_)]));
    // Trailers are field sections too.
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-t", http::HeaderValue::from_bytes(&[b'b'; 80]).unwrap());
    assert!(matches!(
        p.conn.send_trailers(sid(1), trailers),
        Err(UserError::HeaderListTooLarge { limit: 100, .. })
    ));
}
