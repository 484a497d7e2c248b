//! Abuse limits: each has a safe default, is configurable, and trips here.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use http::StatusCode;
use ropewalk_proto::conn::{Config, Event, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{
    Data, Frame, Headers, Ping, Priority, PriorityUpdate, Settings, StreamDependency,
};
use ropewalk_proto::headers::ResponseHead;
use ropewalk_proto::limits::{Limit, Limits, RateLimit};

fn limited(f: impl FnOnce(&mut Limits)) -> Config {
    let mut l = Limits::default();
    f(&mut l);
    cfg().with_limits(l)
}

fn expect_calm(p: &mut Peer, limit: Limit) {
    let g = p.expect_goaway(ErrorCode::EnhanceYourCalm);
    assert_eq!(&g.debug_data[..], limit.name().as_bytes());
}

fn ten_secs(max: u32) -> RateLimit {
    RateLimit::new(max, Duration::from_secs(10))
}

#[test]
fn defaults_are_safe() {
    let l = Limits::default();
    assert!(l.reset_rate.max > 0 && l.reset_rate.max <= 1000);
    assert!(l.max_continuation_frames <= 64);
    assert!(l.max_header_block_size <= 1 << 20);
    assert!(l.max_header_fields <= 1024);
    assert!(l.max_pending_acks <= 64);
    assert!(l.max_settings_entries <= 64);
    assert!(l.max_closed_streams <= 10_000);
    let c = Config::default();
    assert_eq!(c.max_concurrent_streams, 100);
    assert!(c.max_header_list_size <= 64 * 1024);
    assert!(c.settings_timeout.is_some());
}

#[test]
fn cve_2023_44487_rapid_reset() {
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(10)));
    for i in 0..10 {
        let id = 1 + 2 * i;
        p.send_headers(id, GET, false);
        p.send(rst(id, ErrorCode::Cancel));
    }
    assert!(!p.conn.is_closed());
    p.send_headers(21, GET, false);
    p.send(rst(21, ErrorCode::Cancel));
    expect_calm(&mut p, Limit::ResetRate);
}

#[test]
fn cve_2023_44487_budget_refills() {
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(10)));
    let mut id = 1;
    for _round in 0..3 {
        for _ in 0..10 {
            p.send_headers(id, GET, false);
            p.send(rst(id, ErrorCode::Cancel));
            id += 2;
        }
        p.now += Duration::from_secs(11);
    }
    assert!(!p.conn.is_closed());
    assert!(p.conn.close_reason().is_none());
}

#[test]
fn cve_2025_8671_made_you_reset() {
    // Our own resets for the peer's errors count against the same budget.
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(5)));
    for i in 0..5 {
        let id = 1 + 2 * i;
        p.send_headers(id, GET, true);
        p.send(wu(id, 0x7fff_ffff)); // overflow: we reset it
    }
    assert!(!p.conn.is_closed());
    p.send_headers(11, GET, true);
    p.send(wu(11, 0x7fff_ffff));
    expect_calm(&mut p, Limit::ResetRate);
}

#[test]
fn cve_2025_8671_malformed_requests_count() {
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(3)));
    for i in 0..4 {
        p.send_headers(1 + 2 * i, &[(":method", "GET")], true);
    }
    expect_calm(&mut p, Limit::ResetRate);
}

#[test]
fn cve_2019_9516_empty_header_names() {
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(3)));
    let mut f = GET.to_vec();
    f.push(("", "x"));
    p.send_headers(1, &f, true);
    p.expect_rst(1, ErrorCode::ProtocolError);
    for i in 1..4 {
        p.send_headers(1 + 2 * i, &f, true);
    }
    expect_calm(&mut p, Limit::ResetRate);
}

#[test]
fn cve_2024_27316_continuation_frame_count() {
    let mut p = Peer::server_ready(limited(|l| l.max_continuation_frames = 4));
    let mut h = Headers::new(sid(1), Bytes::from_static(b"\x82"));
    h.set_end_headers(false);
    p.send(h);
    for _ in 0..4 {
        p.send(cont(1, Bytes::from_static(b"\x84"), false));
    }
    assert!(!p.conn.is_closed());
    p.send(cont(1, Bytes::from_static(b"\x84"), false));
    expect_calm(&mut p, Limit::ContinuationFrames);
}

#[test]
fn cve_2024_27316_header_block_size() {
    let mut p = Peer::server_ready(limited(|l| l.max_header_block_size = 1000));
    let mut h = Headers::new(sid(1), Bytes::from(vec![0x82; 600]));
    h.set_end_headers(false);
    p.send(h);
    p.send(cont(1, Bytes::from(vec![0x82; 401]), false));
    expect_calm(&mut p, Limit::HeaderBlockSize);
}

#[test]
fn header_block_size_single_frame() {
    let mut p = Peer::server_ready(limited(|l| l.max_header_block_size = 100));
    p.send(Headers::new(sid(1), Bytes::from(vec![0x82; 101])));
    expect_calm(&mut p, Limit::HeaderBlockSize);
}

#[test]
fn header_block_size_push_promise() {
    let mut p =
        Peer::client_ready(limited(|l| l.max_header_block_size = 100).with_enable_push(true));
    p.conn
        .send_request(
            ropewalk_proto::headers::RequestHead::new(
                http::Method::GET,
                "https://a/".parse().unwrap(),
            ),
            true,
        )
        .unwrap();
    p.frames();
    p.send(ropewalk_proto::frame::PushPromise::new(
        sid(1),
        sid(2),
        Bytes::from(vec![0x82; 101]),
    ));
    expect_calm(&mut p, Limit::HeaderBlockSize);
}

#[test]
fn hpack_bomb_field_count_refuses_stream() {
    let mut p = Peer::server_ready(limited(|l| l.max_header_fields = 8));
    let mut f = GET.to_vec();
    for _ in 0..10 {
        f.push(("x", "y"));
    }
    p.send_headers(1, &f, true);
    let frames = p.frames();
    let Frame::Headers(h) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(p.decode(&h.header_block.clone())[0].1, "431");
    assert!(!p.conn.is_closed());
}

#[test]
fn hpack_bomb_decoded_size_refuses_stream() {
    // one 4 KiB value inserted in the table, referenced many times
    let mut p = Peer::server_ready(cfg().with_max_header_list_size(16 * 1024));
    let big = "b".repeat(4000);
    let mut f = GET.to_vec();
    for _ in 0..10 {
        f.push(("x-bomb", &big));
    }
    let block = p.block(&f);
    let mut wire = BytesMut::new();
    Headers::new(sid(1), block).encode_split(16_384, &mut wire);
    p.send_raw(&wire);
    let frames = p.frames();
    assert!(matches!(&frames[0], Frame::Headers(h) if h.end_stream));
    assert!(p.events().is_empty());
}

#[test]
fn cve_2019_9512_ping_flood_pauses_reading() {
    let mut p = Peer::server_ready(limited(|l| l.max_pending_acks = 4));
    let mut wire = BytesMut::new();
    for i in 0..10u8 {
        Ping::new([i; 8]).encode(&mut wire);
    }
    p.send_raw(&wire);
    assert!(!p.conn.wants_read());
    assert_eq!(p.pending_in.len(), 6 * 17, "6 pings left unread");
    assert_eq!(p.frames().len(), 4);
    assert!(p.conn.wants_read());
    p.send_raw(&[]);
    assert_eq!(p.frames().len(), 4);
    p.send_raw(&[]);
    assert_eq!(p.frames().len(), 2);
    assert!(p.pending_in.is_empty());
}

#[test]
fn cve_2019_9515_settings_flood_pauses_reading() {
    let mut p = Peer::server_ready(limited(|l| l.max_pending_acks = 3));
    let mut wire = BytesMut::new();
    for _ in 0..5 {
        Settings::default().encode(&mut wire);
    }
    p.send_raw(&wire);
    assert!(!p.conn.wants_read());
    assert_eq!(p.frames().len(), 3);
    p.send_raw(&[]);
    assert_eq!(p.frames().len(), 2);
}

#[test]
fn ping_rate_limit() {
    let mut p = Peer::server_ready(limited(|l| l.ping_rate = ten_secs(5)));
    for i in 0..5u8 {
        p.send(ping([i; 8]));
    }
    p.frames();
    p.send(ping([9; 8]));
    expect_calm(&mut p, Limit::PingRate);
}

#[test]
fn settings_rate_limit() {
    let mut p = Peer::server_ready(limited(|l| l.settings_rate = ten_secs(3)));
    // the handshake's SETTINGS counted once
    p.send(Settings::default());
    p.send(Settings::default());
    p.frames();
    p.send(Settings::default());
    expect_calm(&mut p, Limit::SettingsRate);
}

#[test]
fn settings_entries_limit() {
    let mut p = Peer::server_ready(limited(|l| l.max_settings_entries = 3));
    let mut raw = vec![0, 0, 24, 4, 0, 0, 0, 0, 0];
    for _ in 0..4 {
        raw.extend_from_slice(&[0, 3, 0, 0, 0, 10]);
    }
    p.send_raw(&raw);
    expect_calm(&mut p, Limit::SettingsEntries);
}

#[test]
fn cve_2019_9518_empty_data_frames() {
    let mut p = Peer::server_ready(limited(|l| l.empty_frame_rate = ten_secs(5)));
    p.send_headers(1, POST, false);
    for _ in 0..5 {
        p.send_data(1, b"", false);
    }
    assert!(!p.conn.is_closed());
    p.send_data(1, b"", false);
    expect_calm(&mut p, Limit::EmptyFrames);
}

#[test]
fn cve_2019_9518_empty_continuation_frames() {
    let mut p = Peer::server_ready(limited(|l| l.empty_frame_rate = ten_secs(2)));
    let mut h = Headers::new(sid(1), Bytes::from_static(b"\x82"));
    h.set_end_headers(false);
    p.send(h);
    for _ in 0..3 {
        p.send(cont(1, Bytes::new(), false));
    }
    expect_calm(&mut p, Limit::EmptyFrames);
}

#[test]
fn cve_2019_9518_end_stream_data_is_not_empty_flood() {
    let mut p = Peer::server_ready(limited(|l| l.empty_frame_rate = ten_secs(1)));
    for i in 0..5 {
        p.send_headers(1 + 2 * i, POST, false);
        p.send_data(1 + 2 * i, b"", true);
    }
    assert!(!p.conn.is_closed());
}

#[test]
fn cve_2019_9513_priority_flood() {
    let mut p = Peer::server_ready(limited(|l| l.priority_rate = ten_secs(5)));
    let dep = StreamDependency {
        dependency: sid(0),
        weight: 1,
        exclusive: false,
    };
    for i in 0..5 {
        p.send(Priority::new(sid(1 + 2 * i), dep));
    }
    assert!(!p.conn.is_closed());
    p.send(Priority::new(sid(99), dep));
    expect_calm(&mut p, Limit::PriorityRate);
}

#[test]
fn priority_update_flood() {
    let mut p = Peer::server_ready(limited(|l| l.priority_rate = ten_secs(3)));
    for _ in 0..4 {
        p.send(PriorityUpdate::new(sid(1), Bytes::from_static(b"u=1")));
    }
    expect_calm(&mut p, Limit::PriorityRate);
}

#[test]
fn window_update_flood() {
    let mut p = Peer::server_ready(limited(|l| l.window_update_rate = ten_secs(5)));
    for _ in 0..5 {
        p.send(wu(0, 1));
    }
    p.send(wu(0, 1));
    expect_calm(&mut p, Limit::WindowUpdateRate);
}

#[test]
fn cve_2019_9517_zero_window_stall_resets_stream() {
    let mut p = Peer::server(limited(|l| l.zero_window_timeout = Duration::from_secs(5)));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from_static(b"stuck"), true)
        .unwrap();
    p.frames();
    p.events();
    assert!(p.conn.next_timeout().is_some());
    p.advance(Duration::from_secs(4));
    p.expect_nothing();
    p.advance(Duration::from_secs(1));
    p.expect_rst(1, ErrorCode::Cancel);
    let ev = p.events();
    let Event::Reset { error } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(error.why(), Limit::ZeroWindowStall.name());
    assert_eq!(p.conn.send_buffered(), 0);
}

#[test]
fn cve_2019_9517_window_update_clears_stall() {
    let mut p = Peer::server(limited(|l| l.zero_window_timeout = Duration::from_secs(5)));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from_static(b"stuck!"), true)
        .unwrap();
    p.frames();
    p.advance(Duration::from_secs(4));
    p.send(wu(1, 3));
    p.frames();
    p.advance(Duration::from_secs(4));
    p.expect_nothing();
    p.advance(Duration::from_secs(2));
    p.expect_rst(1, ErrorCode::Cancel);
}

#[test]
fn cve_2019_9517_connection_window_stall() {
    let mut p = Peer::server(limited(|l| l.zero_window_timeout = Duration::from_secs(5)));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from(vec![0u8; 70_000]), true)
        .unwrap();
    p.frames();
    p.advance(Duration::from_secs(5));
    expect_calm(&mut p, Limit::ZeroWindowStall);
}

#[test]
fn send_buffer_per_stream_bounded() {
    let mut p = Peer::server_ready(limited(|l| l.max_send_buffer_per_stream = 10));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    p.send(s);
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from_static(b"0123456789"), false)
        .unwrap();
    assert_eq!(
        p.conn.send_data(sid(1), Bytes::from_static(b"x"), false),
        Err(UserError::SendBufferFull)
    );
}

#[test]
fn send_buffer_per_connection_bounded() {
    let mut p = Peer::server_ready(limited(|l| l.max_send_buffer = 15));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    p.send(s);
    for id in [1, 3] {
        p.send_headers(id, GET, true);
        p.conn
            .send_response(sid(id), ResponseHead::new(StatusCode::OK), false)
            .unwrap();
    }
    p.conn
        .send_data(sid(1), Bytes::from_static(b"0123456789"), false)
        .unwrap();
    assert_eq!(
        p.conn
            .send_data(sid(3), Bytes::from_static(b"0123456789"), false),
        Err(UserError::SendBufferFull)
    );
}

#[test]
fn receive_buffering_bounded_by_windows() {
    // A peer cannot make us buffer more than the connection window.
    let mut p = Peer::server_ready(
        cfg()
            .with_connection_window_size(65_535)
            .with_initial_window_size(1 << 20),
    );
    for i in 0..4 {
        p.send_headers(1 + 2 * i, POST, false);
        for _ in 0..1 {
            p.send(Data::new(sid(1 + 2 * i), Bytes::from(vec![0u8; 16_000])));
        }
    }
    assert!(!p.conn.is_closed());
    p.send(Data::new(sid(1), Bytes::from(vec![0u8; 1_536])));
    p.expect_goaway(ErrorCode::FlowControlError);
}

#[test]
fn closed_stream_memory_bounded() {
    let mut p = Peer::server_ready(limited(|l| l.max_closed_streams = 5));
    for i in 0..20 {
        let id = 1 + 2 * i;
        p.send_headers(id, GET, true);
        p.conn
            .send_response(sid(id), ResponseHead::new(StatusCode::OK), true)
            .unwrap();
    }
    p.frames();
    assert_eq!(p.conn.stream_count(), 0);
    assert_eq!(p.conn.closed_stream_count(), 5);
}

#[test]
fn concurrency_refusals_do_not_grow_state() {
    let mut p = Peer::server_ready(cfg().with_max_concurrent_streams(1));
    p.send_headers(1, GET, false);
    for i in 1..50 {
        p.send_headers(1 + 2 * i, GET, false);
    }
    assert_eq!(p.conn.stream_count(), 1);
    assert!(p.conn.closed_stream_count() <= Limits::default().max_closed_streams);
}

#[test]
fn cve_2025_8671_stream_closed_resets_count() {
    // DATA on half-closed (remote) streams makes us reset: counted.
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(3)));
    for i in 0..4 {
        let id = 1 + 2 * i;
        p.send_headers(id, GET, true);
        p.send_data(id, b"x", false);
    }
    expect_calm(&mut p, Limit::ResetRate);
}

#[test]
fn refused_431_counts_against_reset_budget() {
    let mut p =
        Peer::server_ready(limited(|l| l.reset_rate = ten_secs(2)).with_max_header_list_size(100));
    let big = "v".repeat(150);
    let mut f = GET.to_vec();
    f.push(("x-big", &big));
    for i in 0..3 {
        p.send_headers(1 + 2 * i, &f, true);
    }
    expect_calm(&mut p, Limit::ResetRate);
}

#[test]
fn client_side_continuation_flood() {
    let mut p = Peer::client_ready(limited(|l| l.max_continuation_frames = 2));
    p.conn
        .send_request(
            ropewalk_proto::headers::RequestHead::new(
                http::Method::GET,
                "https://a/".parse().unwrap(),
            ),
            true,
        )
        .unwrap();
    p.frames();
    let mut h = Headers::new(sid(1), Bytes::from_static(b"\x88"));
    h.set_end_headers(false);
    p.send(h);
    for _ in 0..3 {
        p.send(cont(1, Bytes::from_static(b"\x84"), false));
    }
    expect_calm(&mut p, Limit::ContinuationFrames);
}

#[test]
fn server_limits_configurable_upwards() {
    // a generous budget lets a busy but honest client through
    let mut p = Peer::server_ready(limited(|l| l.reset_rate = ten_secs(1000)));
    for i in 0..500 {
        let id = 1 + 2 * i;
        p.send_headers(id, GET, false);
        p.send(rst(id, ErrorCode::Cancel));
    }
    assert!(!p.conn.is_closed());
}

#[test]
fn cve_2019_9517_exhausted_window_without_pending_data_is_not_a_stall() {
    let mut p = Peer::server(limited(|l| l.zero_window_timeout = Duration::from_secs(5)));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    // exactly the connection window
    p.conn
        .send_data(sid(1), Bytes::from(vec![0u8; 65_535]), true)
        .unwrap();
    p.frames();
    assert_eq!(p.conn.send_window(), 0);
    p.advance(Duration::from_secs(60));
    assert!(p.conn.close_reason().is_none());
    p.expect_nothing();
}

#[test]
fn cve_2019_9517_connection_stall_cleared_when_stream_reset() {
    let mut p = Peer::server(limited(|l| l.zero_window_timeout = Duration::from_secs(5)));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(1 << 20));
    p.handshake_with(s);
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from(vec![0u8; 70_000]), true)
        .unwrap();
    p.frames();
    p.advance(Duration::from_secs(3));
    p.send(rst(1, ErrorCode::Cancel));
    p.advance(Duration::from_secs(10));
    assert!(p.conn.close_reason().is_none());
}

/// A field block: `:method GET`, `:scheme https`, `:path /` from the static
/// table, then either a 4000-octet `x-bomb` literal added to the dynamic
/// table, or `refs` references to that entry (index 62).
fn bomb_block(refs: usize) -> Bytes {
    let mut b = vec![0x82, 0x87, 0x84];
    if refs == 0 {
        b.push(0x40);
        ropewalk_hpack::integer::encode(6, 7, 0, &mut b);
        b.extend_from_slice(b"x-bomb");
        ropewalk_hpack::integer::encode(4000, 7, 0, &mut b);
        b.extend(std::iter::repeat_n(b'b', 4000));
    } else {
        b.extend(std::iter::repeat_n(0x80 | 62, refs));
    }
    Bytes::from(b)
}

#[test]
fn hpack_bomb_far_oversize_ends_connection() {
    // each reference costs 1 octet on the wire and ~4 KiB decoded
    let mut p = Peer::server_ready(cfg().with_max_header_list_size(16 * 1024));
    p.send(Headers::new(sid(1), bomb_block(0)));
    assert_eq!(p.events().len(), 1);
    p.frames();
    p.send(Headers::new(sid(3), bomb_block(30)));
    expect_calm(&mut p, Limit::HeaderListSize);
}

#[test]
fn hpack_bomb_slightly_oversize_refuses_stream_only() {
    let mut p = Peer::server_ready(cfg().with_max_header_list_size(16 * 1024));
    p.send(Headers::new(sid(1), bomb_block(0)));
    assert_eq!(p.events().len(), 1);
    p.frames();
    p.send(Headers::new(sid(3), bomb_block(5)));
    let frames = p.frames();
    assert!(
        matches!(&frames[0], Frame::Headers(h) if h.end_stream),
        "{frames:?}"
    );
    assert!(!p.conn.is_closed());
}

#[test]
fn send_buffer_full_stream_is_told_when_space_frees() {
    let mut p = Peer::server_ready(limited(|l| l.max_send_buffer = 100));
    let mut s = Settings::default();
    s.set_initial_window_size(Some(0));
    p.send(s);
    for id in [1, 3] {
        p.send_headers(id, GET, true);
        p.conn
            .send_response(sid(id), ResponseHead::new(StatusCode::OK), false)
            .unwrap();
    }
    p.conn
        .send_data(sid(1), Bytes::from(vec![1u8; 100]), true)
        .unwrap();
    assert_eq!(
        p.conn.send_data(sid(3), Bytes::from_static(b"x"), true),
        Err(UserError::SendBufferFull)
    );
    p.frames();
    p.events();
    p.send(wu(1, 100));
    p.frames();
    let ev = p.events();
    assert!(
        ev.contains(&Event::SendCapacity { stream: sid(3) }),
        "{ev:?}"
    );
    p.conn
        .send_data(sid(3), Bytes::from_static(b"x"), true)
        .unwrap();
}

/// A HEADERS frame without END_HEADERS for stream `id`.
fn open_block(id: u32) -> Headers {
    let mut h = Headers::new(sid(id), Bytes::from_static(b"\x82"));
    h.set_end_headers(false);
    h
}

#[test]
fn header_block_timeout_default_is_bounded() {
    // Issue #7: a slow header trickle is cut within seconds, not minutes,
    // yet a real client (one flight of frames) is never near it.
    let t = Limits::default().header_block_timeout;
    assert!(
        t >= Duration::from_secs(5) && t <= Duration::from_secs(30),
        "{t:?}"
    );
}

#[test]
fn header_block_timeout_trips_on_slow_continuations() {
    // RFC 9113 §10.5: many individually complete CONTINUATION frames, each
    // arriving well within any per-frame timeout, but the block never ends.
    let mut p = Peer::server_ready(limited(|l| {
        l.header_block_timeout = Duration::from_secs(10);
        l.max_continuation_frames = 1000;
    }));
    p.send(open_block(1));
    p.frames();
    // The core asks to be woken for the deadline.
    assert!(
        p.conn
            .next_timeout()
            .is_some_and(|t| t <= p.now + Duration::from_secs(10))
    );
    for _ in 0..9 {
        p.now += Duration::from_millis(1000);
        p.send(cont(1, Bytes::from_static(b""), false));
        let now = p.now;
        p.conn.handle_timeout(now);
    }
    // 9 s in: still fine.
    assert!(!p.conn.is_closed());
    assert!(p.conn.close_reason().is_none());
    p.expect_nothing();
    p.advance(Duration::from_secs(1));
    expect_calm(&mut p, Limit::HeaderBlockTimeout);
}

#[test]
fn header_block_timeout_push_promise() {
    // The same budget for a PUSH_PROMISE block received by a client.
    let mut p = Peer::client_ready(
        limited(|l| l.header_block_timeout = Duration::from_secs(3)).with_enable_push(true),
    );
    let req = p.conn.send_request(
        ropewalk_proto::headers::RequestHead::new(
            http::Method::GET,
            "https://example.com/".parse().unwrap(),
        ),
        true,
    );
    let id = req.expect("request").get();
    p.frames();
    let block = p.block(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/pushed"),
    ]);
    let mut pp = ropewalk_proto::frame::PushPromise::new(sid(id), sid(2), block.slice(..1));
    pp.set_end_headers(false);
    p.send(pp);
    assert!(p.conn.close_reason().is_none());
    p.advance(Duration::from_millis(2999));
    assert!(p.conn.close_reason().is_none());
    p.advance(Duration::from_millis(1));
    expect_calm(&mut p, Limit::HeaderBlockTimeout);
}

#[test]
fn header_block_completed_in_time_is_not_cut() {
    let mut p = Peer::server_ready(limited(|l| {
        l.header_block_timeout = Duration::from_secs(10)
    }));
    let block = p.block(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/"),
    ]);
    let mut h = Headers::new(sid(1), block.slice(..1));
    h.set_end_headers(false);
    h.set_end_stream(true);
    p.send(h);
    p.now += Duration::from_secs(9);
    p.send(cont(1, block.slice(1..), true));
    let ev = p.events();
    assert!(
        ev.iter().any(|e| matches!(e, Event::Request { .. })),
        "{ev:?}"
    );
    // Long after, the finished block's deadline does not fire.
    p.advance(Duration::from_secs(60));
    assert!(p.conn.close_reason().is_none());
    p.expect_nothing();
}

#[test]
fn send_buffer_default_is_bounded() {
    // Issue #7: what one slow-reading peer can make us hold per connection
    // (CVE-2019-9511/9517); 16 MiB let a handful of peers hold 100s of MiB.
    let l = Limits::default();
    assert!(l.max_send_buffer <= 4 << 20, "{}", l.max_send_buffer);
    assert!(l.max_send_buffer_per_stream <= l.max_send_buffer);
}
