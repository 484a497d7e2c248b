//! RFC 9113 §5.2 and §6.9: flow control, both directions.

mod common;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use ropewalk_proto::conn::Event;
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Data, Frame, Ping, Settings};
use ropewalk_proto::headers::ResponseHead;

/// A server under test whose peer advertised `initial_window`, with request
/// stream(s) open and a response head sent on each.
fn server_with_window(initial_window: u32, streams: &[u32]) -> Peer {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_initial_window_size(Some(initial_window));
    p.handshake_with(s);
    for &id in streams {
        p.send_headers(id, GET, true);
        p.conn
            .send_response(sid(id), ResponseHead::new(StatusCode::OK), false)
            .unwrap();
    }
    p.frames();
    p.events();
    p
}

fn data_sizes(frames: &[Frame]) -> Vec<(u32, usize, bool)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some((d.stream_id.get(), d.data.len(), d.end_stream)),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc9113_6_9_1_data_limited_by_stream_window() {
    let mut p = server_with_window(10, &[1]);
    p.conn
        .send_data(
            sid(1),
            Bytes::from_static(b"0123456789abcdefghijklmno"),
            true,
        )
        .unwrap();
    assert_eq!(p.frames(), vec![data_frame(1, b"0123456789", false)]);
    assert_eq!(p.conn.stream_send_window(sid(1)), Some(0));
    p.send(wu(1, 15));
    assert_eq!(p.frames(), vec![data_frame(1, b"abcdefghijklmno", true)]);
}

#[test]
fn rfc9113_6_9_1_data_limited_by_connection_window() {
    let mut p = server_with_window(1 << 20, &[1]);
    p.conn
        .send_data(sid(1), Bytes::from(vec![1u8; 70_000]), true)
        .unwrap();
    let f = p.frames();
    let total: usize = data_sizes(&f).iter().map(|d| d.1).sum();
    assert_eq!(total, 65_535);
    assert_eq!(p.conn.send_window(), 0);
    p.send(wu(0, 10_000));
    let f = p.frames();
    assert_eq!(data_sizes(&f), [(1, 70_000 - 65_535, true)]);
}

#[test]
fn rfc9113_6_9_blocked_stream_does_not_block_others() {
    let mut p = server_with_window(0, &[1, 3]);
    p.conn
        .send_data(sid(1), Bytes::from_static(b"one"), true)
        .unwrap();
    p.conn
        .send_data(sid(3), Bytes::from_static(b"three"), true)
        .unwrap();
    p.expect_nothing();
    p.send(wu(3, 5));
    assert_eq!(p.frames(), vec![data_frame(3, b"three", true)]);
    p.send(wu(1, 3));
    assert_eq!(p.frames(), vec![data_frame(1, b"one", true)]);
}

#[test]
fn rfc9113_6_9_empty_end_stream_needs_no_window() {
    let mut p = server_with_window(0, &[1]);
    p.conn.send_data(sid(1), Bytes::new(), true).unwrap();
    assert_eq!(p.frames(), vec![data_frame(1, b"", true)]);
}

#[test]
fn rfc9113_6_9_2_initial_window_change_adjusts_open_streams() {
    let mut p = server_with_window(100, &[1]);
    p.conn
        .send_data(sid(1), Bytes::from(vec![0u8; 60]), false)
        .unwrap();
    p.frames();
    assert_eq!(p.conn.stream_send_window(sid(1)), Some(40));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(200));
    p.send(s);
    assert_eq!(p.conn.stream_send_window(sid(1)), Some(140));
}

#[test]
fn rfc9113_6_9_2_window_can_go_negative() {
    let mut p = server_with_window(100, &[1]);
    p.conn
        .send_data(sid(1), Bytes::from(vec![0u8; 100]), false)
        .unwrap();
    p.frames();
    let mut s = Settings::default();
    s.set_initial_window_size(Some(50));
    p.send(s);
    assert_eq!(p.conn.stream_send_window(sid(1)), Some(-50));
    p.frames();
    p.conn
        .send_data(sid(1), Bytes::from(vec![0u8; 30]), true)
        .unwrap();
    p.expect_nothing();
    p.send(wu(1, 60));
    assert_eq!(data_sizes(&p.frames()), [(1, 10, false)]);
    p.send(wu(1, 100));
    assert_eq!(data_sizes(&p.frames()), [(1, 20, true)]);
}

#[test]
fn rfc9113_6_9_2_initial_window_change_reschedules_blocked_streams() {
    let mut p = server_with_window(0, &[1]);
    p.conn
        .send_data(sid(1), Bytes::from_static(b"abc"), true)
        .unwrap();
    p.expect_nothing();
    let mut s = Settings::default();
    s.set_initial_window_size(Some(10));
    p.send(s);
    let f = p.frames();
    assert!(f.contains(&data_frame(1, b"abc", true)), "{f:?}");
}

#[test]
fn rfc9113_6_9_2_initial_window_overflow_is_flow_control_error() {
    let mut p = server_with_window(65_535, &[1]);
    p.send(wu(1, 0x7fff_ffff - 65_535));
    p.expect_nothing();
    let mut s = Settings::default();
    s.set_initial_window_size(Some(65_536));
    p.send(s);
    p.expect_goaway(ErrorCode::FlowControlError);
}

#[test]
fn rfc9113_6_9_1_stream_window_overflow_is_stream_error() {
    let mut p = server_with_window(65_535, &[1]);
    p.send(wu(1, 0x7fff_ffff));
    p.expect_rst(1, ErrorCode::FlowControlError);
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_6_9_1_connection_window_overflow_is_connection_error() {
    let mut p = server_with_window(65_535, &[]);
    p.send(wu(0, 0x7fff_ffff));
    p.expect_goaway(ErrorCode::FlowControlError);
}

#[test]
fn rfc9113_6_9_1_window_exactly_max_is_fine() {
    let mut p = server_with_window(65_535, &[1]);
    p.send(wu(0, 0x7fff_ffff - 65_535));
    p.send(wu(1, 0x7fff_ffff - 65_535));
    p.expect_nothing();
}

#[test]
fn rfc9113_6_9_zero_increment_on_stream_is_stream_error() {
    let mut p = server_with_window(65_535, &[1]);
    p.send_raw(&[0, 0, 4, 8, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_9_zero_increment_on_connection_is_connection_error() {
    let mut p = server_with_window(65_535, &[]);
    p.send_raw(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_9_window_update_bad_length_is_frame_size_error() {
    let mut p = server_with_window(65_535, &[]);
    p.send_raw(&[0, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.expect_goaway(ErrorCode::FrameSizeError);
}

#[test]
fn rfc9113_6_9_1_peer_exceeding_stream_window() {
    let mut p = Peer::server_ready(cfg().with_initial_window_size(100));
    p.send_headers(1, POST, false);
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 101])));
    p.expect_rst(1, ErrorCode::FlowControlError);
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_6_9_1_peer_exceeding_connection_window() {
    let mut p = Peer::server_ready(cfg().with_connection_window_size(65_535));
    p.send_headers(1, POST, false);
    for _ in 0..4 {
        p.send(Data::new(sid(1), Bytes::from(vec![0u8; 16_000])));
    }
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 1_536])));
    p.expect_goaway(ErrorCode::FlowControlError);
}

#[test]
fn rfc9113_6_1_padding_counts_against_window() {
    let mut p = Peer::server_ready(cfg().with_initial_window_size(100));
    p.send_headers(1, POST, false);
    let mut d = Data::new(sid(1), Bytes::from(vec![0u8; 50]));
    d.set_padding(Some(49));
    p.send(d); // 100 octets of window
    // the 50 octets of padding (and Pad Length) are given back at once
    assert_eq!(p.frames(), vec![wu(1, 50)]);
    let mut d = Data::new(sid(1), Bytes::from(vec![0u8; 20]));
    d.set_padding(Some(29));
    p.send(d); // exactly the 50 octets announced
    p.expect(&[wu(1, 30)]);
    assert!(!p.conn.is_closed());
}

#[test]
fn rfc9113_6_9_window_updates_are_batched() {
    let mut p = Peer::server_ready(cfg().with_initial_window_size(1000));
    p.send_headers(1, POST, false);
    p.events();
    for _ in 0..10 {
        p.send(Data::new(sid(1), Bytes::from(vec![0u8; 40])));
    }
    assert_eq!(p.events().len(), 10);
    for _ in 0..10 {
        p.conn.release_capacity(sid(1), 40);
    }
    // 400 released < 500 (half the window): nothing yet
    p.expect_nothing();
    for _ in 0..3 {
        p.send(Data::new(sid(1), Bytes::from(vec![0u8; 40])));
    }
    for _ in 0..3 {
        p.conn.release_capacity(sid(1), 40);
    }
    assert_eq!(p.frames(), vec![wu(1, 520)]);
}

#[test]
fn rfc9113_6_9_no_stream_update_after_end_stream() {
    let mut p = Peer::server_ready(
        cfg()
            .with_initial_window_size(100)
            .with_connection_window_size(65_535),
    );
    p.send_headers(1, POST, false);
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 100])));
    p.send_data(1, b"", true);
    p.conn.release_capacity(sid(1), 100);
    p.expect_nothing();
    p.events();
    // the connection window still gets its octets back eventually
    assert_eq!(p.conn.recv_window(), 65_535 - 100);
}

#[test]
fn rfc9113_6_9_release_after_close_returns_connection_window() {
    let mut p = Peer::server_ready(cfg().with_connection_window_size(65_535));
    p.send_headers(1, POST, false);
    for _ in 0..3 {
        p.send(Data::new(sid(1), Bytes::from(vec![0u8; 15_000])));
    }
    p.send_data(1, b"", true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), true)
        .unwrap();
    p.frames();
    assert_eq!(p.conn.stream_count(), 0);
    p.conn.release_capacity(sid(1), 45_000);
    assert_eq!(p.frames(), vec![wu(0, 45_000)]);
}

#[test]
fn rfc9113_6_9_connection_window_announced_at_start() {
    let mut p = Peer::server(cfg().with_connection_window_size(1 << 20));
    let f = p.frames();
    assert!(f.contains(&wu(0, (1 << 20) - 65_535)), "{f:?}");
}

#[test]
fn rfc9113_6_9_2_lower_initial_window_applies_on_ack() {
    let mut p = Peer::server_ready(cfg().with_initial_window_size(1000));
    p.send_headers(1, POST, false);
    let mut s = Settings::default();
    s.set_initial_window_size(Some(100));
    p.conn.update_settings(s, p.now).unwrap();
    p.frames();
    // before the ACK, the old window (1000) applies
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 500])));
    p.expect_nothing();
    p.send(Settings::ack());
    // now the window is 1000 - 500 - 900 = -400: any DATA is too much
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 1])));
    p.expect_rst(1, ErrorCode::FlowControlError);
}

#[test]
fn rfc9113_6_9_2_higher_initial_window_applies_at_once() {
    let mut p = Peer::server_ready(cfg().with_initial_window_size(100));
    p.send_headers(1, POST, false);
    let mut s = Settings::default();
    s.set_initial_window_size(Some(1000));
    p.conn.update_settings(s, p.now).unwrap();
    p.frames();
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 900])));
    p.expect_nothing();
}

#[test]
fn rfc9113_6_9_send_capacity_event_when_drained() {
    let mut p = server_with_window(65_535, &[1]);
    p.conn
        .send_data(sid(1), Bytes::from_static(b"abc"), false)
        .unwrap();
    p.frames();
    assert!(p.events().contains(&Event::SendCapacity { stream: sid(1) }));
}

#[test]
fn bdp_grows_receive_window() {
    let mut p = Peer::server_ready(
        cfg()
            .with_adaptive_window(true)
            .with_initial_window_size(65_535),
    );
    p.send_headers(1, POST, false);
    p.events();
    let target = p.conn.stream_recv_target();
    // fill most of the window within one "round trip"
    for _ in 0..4 {
        p.send(Data::new(sid(1), Bytes::from(vec![0u8; 16_000])));
    }
    let f = p.frames();
    let bdp_ping = f
        .iter()
        .find_map(|f| match f {
            Frame::Ping(ping) if !ping.ack => Some(ping.payload),
            _ => None,
        })
        .expect("a BDP ping");
    p.send(Ping::pong(bdp_ping));
    assert!(p.conn.stream_recv_target() > target);
    p.conn.release_capacity(sid(1), 64_000);
    let f = p.frames();
    let inc = f
        .iter()
        .find_map(|f| match f {
            Frame::WindowUpdate(w) if w.stream_id == sid(1) => Some(w.increment),
            _ => None,
        })
        .expect("stream window update");
    assert!(inc > 64_000, "window grew: {inc}");
}

#[test]
fn bdp_capped() {
    let mut c = cfg()
        .with_adaptive_window(true)
        .with_initial_window_size(65_535);
    c.max_adaptive_window = 100_000;
    let mut p = Peer::server_ready(c);
    p.send_headers(1, POST, false);
    for round in 0..5 {
        for _ in 0..4 {
            p.send(Data::new(sid(1), Bytes::from(vec![0u8; 16_000])));
        }
        p.conn.release_capacity(sid(1), 64_000);
        let f = p.frames();
        for f in f {
            if let Frame::Ping(ping) = f {
                if !ping.ack {
                    p.send(Ping::pong(ping.payload));
                }
            }
        }
        let _ = round;
        p.now += std::time::Duration::from_millis(200);
    }
    assert!(p.conn.stream_recv_target() <= 100_000);
}
