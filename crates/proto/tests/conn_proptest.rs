//! Property test: arbitrary and mutated frame sequences never panic a server
//! or a client, every byte it writes is a valid frame, and the state it
//! holds stays inside the configured limits.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use ropewalk_hpack::{Encoder, Header};
use ropewalk_proto::conn::{Config, Connection, Event};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{
    Continuation, Data, Frame, GoAway, Headers, PREFACE, Parser, Ping, Priority, PriorityUpdate,
    PushPromise, RstStream, Settings, StreamDependency, StreamId, WindowUpdate,
};
use ropewalk_proto::headers::ResponseHead;
use ropewalk_proto::limits::Limits;

const FIELD_SETS: &[&[(&str, &str)]] = &[
    &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/"),
        (":authority", "a"),
    ],
    &[
        (":method", "POST"),
        (":scheme", "https"),
        (":path", "/p"),
        ("content-length", "3"),
    ],
    &[(":status", "200"), ("content-length", "2")],
    &[(":status", "103")],
    &[("x-trailer", "1")],
    &[(":method", "CONNECT"), (":authority", "a:443")],
    &[("", "empty-name")],
    &[(":path", "/"), (":method", "GET")],
    &[("Upper", "x"), (":method", "GET")],
];

#[derive(Clone, Debug)]
struct Spec {
    kind: u8,
    id: u32,
    flags: u8,
    a: u32,
    b: u32,
    fields: usize,
    payload: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Op {
    Frame(Spec),
    Raw(Vec<u8>),
    Mutate {
        kind: u8,
        id: u32,
        fields: usize,
        at: usize,
        xor: u8,
    },
    Respond(u32),
    SendData(u32, u16),
    Release(u32, u16),
    Reset(u32),
    Tick(u16),
    /// A valid new request (server: from the peer; client: our own).
    Open(bool),
    Transmit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..17, 0u32..14, any::<u8>(), any::<u32>(), any::<u32>(), 0..FIELD_SETS.len(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(kind, id, flags, a, b, fields, payload)| Op::Frame(Spec { kind, id, flags, a, b, fields, payload })),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Op::Raw),
        2 => (0u8..10, 0u32..14, 0..FIELD_SETS.len(), 0usize..64, 1u8..=255)
            .prop_map(|(kind, id, fields, at, xor)| Op::Mutate { kind, id, fields, at, xor }),
        1 => (0u32..14).prop_map(Op::Respond),
        1 => (0u32..14, any::<u16>()).prop_map(|(i, n)| Op::SendData(i, n)),
        1 => (0u32..14, any::<u16>()).prop_map(|(i, n)| Op::Release(i, n)),
        1 => (0u32..14).prop_map(Op::Reset),
        1 => any::<u16>().prop_map(Op::Tick),
        3 => any::<bool>().prop_map(Op::Open),
        2 => Just(Op::Transmit),
    ]
}

fn block(enc: &mut Encoder, fields: usize) -> Bytes {
    let mut out = Vec::new();
    enc.encode(
        FIELD_SETS[fields]
            .iter()
            .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes())),
        &mut out,
    );
    Bytes::from(out)
}

fn build(enc: &mut Encoder, spec: &Spec) -> Frame {
    let Spec {
        kind,
        id,
        flags,
        a,
        b,
        fields,
        ref payload,
    } = *spec;
    let sid = StreamId::new(id);
    let end = flags & 1 != 0;
    match kind {
        0 => {
            let mut d = Data::new(sid, Bytes::copy_from_slice(payload));
            d.set_end_stream(end);
            if flags & 8 != 0 {
                d.set_padding(Some((a % 8) as u8));
            }
            d.into()
        }
        1 => {
            let mut h = Headers::new(sid, block(enc, fields));
            h.set_end_stream(end);
            h.set_end_headers(flags & 4 != 0 || a % 3 != 0);
            if flags & 0x20 != 0 {
                h.set_priority(Some(StreamDependency {
                    dependency: StreamId::new(b % 14),
                    weight: 1,
                    exclusive: false,
                }));
            }
            h.into()
        }
        2 => Priority::new(
            sid,
            StreamDependency {
                dependency: StreamId::new(b % 14),
                weight: a as u8,
                exclusive: flags & 1 != 0,
            },
        )
        .into(),
        3 => RstStream::new(sid, ErrorCode::from(a % 16)).into(),
        4 => {
            if flags & 1 != 0 {
                Settings::ack().into()
            } else {
                let mut s = Settings::default();
                match a % 6 {
                    0 => s.set_initial_window_size(Some(b % 200_000)),
                    1 => s.set_max_concurrent_streams(Some(b % 5)),
                    2 => s.set_max_frame_size(Some(16_384 + b % 100_000)),
                    3 => s.set_header_table_size(Some(b % 8192)),
                    4 => s.set_enable_push(Some(b % 2 == 0)),
                    _ => s.set_enable_connect_protocol(Some(b % 2 == 0)),
                }
                s.into()
            }
        }
        5 => {
            let mut p = PushPromise::new(sid, StreamId::new(a % 16), block(enc, fields));
            p.set_end_headers(flags & 4 != 0 || b % 3 != 0);
            p.into()
        }
        6 => {
            let mut p = Ping::new((u64::from(a) << 32 | u64::from(b)).to_be_bytes());
            p.ack = flags & 1 != 0;
            p.into()
        }
        7 => GoAway::new(StreamId::new(b % 20), ErrorCode::from(a % 16)).into(),
        8 => WindowUpdate::new(sid, 1 + a % 0x7fff_ffff).into(),
        9 => Continuation::new(sid, block(enc, fields), flags & 4 != 0).into(),
        10 => PriorityUpdate::new(sid, Bytes::from_static(b"u=2, i")).into(),
        _ => ropewalk_proto::frame::Unknown::new(
            0x20 + kind,
            flags,
            sid,
            Bytes::copy_from_slice(payload),
        )
        .into(),
    }
}

fn limits() -> Config {
    let l = Limits {
        max_closed_streams: 8,
        reset_rate: ropewalk_proto::limits::RateLimit::new(20, Duration::from_secs(10)),
        max_pending_acks: 4,
        ..Limits::default()
    };
    Config::default()
        .with_max_concurrent_streams(4)
        .with_enable_push(true)
        .with_limits(l)
}

fn check_output(parser: &mut Parser, wire: &mut BytesMut) {
    while let Some(_f) = parser
        .parse(wire)
        .expect("the connection writes valid frames")
    {}
}

fn run(server: bool, ops: Vec<Op>) {
    let mut now = Instant::now();
    let config = limits();
    let mut conn = if server {
        Connection::server(config.clone(), now)
    } else {
        Connection::client(config.clone(), now)
    };
    let mut enc = Encoder::new();
    let mut next_peer_id = 1u32;
    let mut next_local_count = 0u32;
    let mut inbuf = BytesMut::new();
    let mut out = BytesMut::new();
    let mut parser = Parser::new();
    parser.set_max_frame_size((1 << 24) - 1);
    if server {
        inbuf.extend_from_slice(PREFACE);
    } else {
        let _ = conn.send_request(
            ropewalk_proto::headers::RequestHead::new(
                http::Method::GET,
                "https://a/".parse().unwrap(),
            ),
            false,
        );
        next_local_count = 1;
        conn.poll_transmit_all(now, &mut out);
        let _ = out.split_to(PREFACE.len());
    }
    Settings::default().encode(&mut inbuf);
    Settings::ack().encode(&mut inbuf);
    conn.recv(&mut inbuf, now);
    for op in ops {
        match op {
            Op::Frame(mut spec) => {
                // Mostly aim at streams that exist, so that connections live
                // long enough to reach deep states.
                let opened = if server {
                    (next_peer_id - 1) / 2
                } else {
                    next_local_count
                };
                if spec.a % 10 < 7 && opened > 0 && spec.kind != 4 && spec.kind != 7 {
                    spec.id = 1 + 2 * (spec.b % opened);
                }
                build(&mut enc, &spec).encode(&mut inbuf);
            }
            Op::Raw(bytes) => inbuf.extend_from_slice(&bytes),
            Op::Mutate {
                kind,
                id,
                fields,
                at,
                xor,
            } => {
                let mut w = BytesMut::new();
                build(
                    &mut enc,
                    &Spec {
                        kind,
                        id,
                        flags: 5,
                        a: 7,
                        b: 3,
                        fields,
                        payload: b"abc".to_vec(),
                    },
                )
                .encode(&mut w);
                let i = at % w.len();
                w[i] ^= xor;
                inbuf.extend_from_slice(&w);
            }
            Op::Respond(id) => {
                let _ = conn.send_response(
                    StreamId::new(id),
                    ResponseHead::new(http::StatusCode::OK),
                    false,
                );
            }
            Op::SendData(id, n) => {
                let _ = conn.send_data(
                    StreamId::new(id),
                    Bytes::from(vec![1u8; usize::from(n)]),
                    n % 2 == 0,
                );
            }
            Op::Release(id, n) => conn.release_capacity(StreamId::new(id), usize::from(n)),
            Op::Reset(id) => {
                let _ = conn.reset(StreamId::new(id), ErrorCode::Cancel);
            }
            Op::Open(end) => {
                if server {
                    let mut h = Headers::new(StreamId::new(next_peer_id), block(&mut enc, 0));
                    h.set_end_stream(end);
                    h.encode(&mut inbuf);
                    next_peer_id += 2;
                } else {
                    if conn
                        .send_request(
                            ropewalk_proto::headers::RequestHead::new(
                                http::Method::GET,
                                "https://a/".parse().unwrap(),
                            ),
                            end,
                        )
                        .is_ok()
                    {
                        next_local_count += 1;
                    }
                }
            }
            Op::Tick(ms) => {
                now += Duration::from_millis(u64::from(ms) * 10);
                conn.handle_timeout(now);
            }
            Op::Transmit => {
                conn.poll_transmit_all(now, &mut out);
                check_output(&mut parser, &mut out);
            }
        }
        conn.recv(&mut inbuf, now);
        let mut n = 0;
        while let Some(ev) = conn.poll_event() {
            n += 1;
            if let Event::Data { stream, data, .. } = ev {
                conn.release_capacity(stream, data.len());
            }
        }
        assert!(n < 10_000);
        // invariants
        assert!(
            conn.stream_count() <= 4 + 1 + 16,
            "streams {}",
            conn.stream_count()
        );
        assert!(conn.closed_stream_count() <= 8);
        assert!(conn.send_buffered() <= config.limits.max_send_buffer);
        assert!(conn.recv_window() <= ropewalk_proto::flow::MAX_WINDOW);
    }
    conn.poll_transmit_all(now, &mut out);
    check_output(&mut parser, &mut out);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn server_survives_arbitrary_frames(ops in prop::collection::vec(op(), 1..60)) {
        run(true, ops);
    }

    #[test]
    fn client_survives_arbitrary_frames(ops in prop::collection::vec(op(), 1..60)) {
        run(false, ops);
    }
}

/// The `server_conn` fuzz oracle on stable Rust: a server fed the preface
/// and then arbitrary bytes in input-chosen chunks, its output drained after
/// each chunk.
fn run_raw(valid_prefix: bool, data: &[u8], chunks: &[usize]) {
    let now = Instant::now();
    let mut conn = Connection::server(limits(), now);
    let mut input = BytesMut::new();
    if valid_prefix {
        input.extend_from_slice(PREFACE);
        Settings::default().encode(&mut input);
    }
    input.extend_from_slice(data);
    let total_in = input.len();
    let mut parser = Parser::new();
    parser.set_max_frame_size((1 << 24) - 1);
    let mut inbuf = BytesMut::new();
    let mut written = 0usize;
    let mut closed_at: Option<usize> = None;
    let mut i = 0;
    while !input.is_empty() {
        let n = chunks.get(i).copied().unwrap_or(64).clamp(1, input.len());
        i += 1;
        inbuf.extend_from_slice(&input.split_to(n));
        conn.recv(&mut inbuf, now);
        while conn.poll_event().is_some() {}
        let mut out = BytesMut::new();
        conn.poll_transmit_all(now, &mut out);
        written += out.len();
        let mut frames = Vec::new();
        while let Some(f) = parser.parse(&mut out).expect("valid output") {
            frames.push(f);
        }
        if let Some(at) = closed_at {
            assert!(
                frames.is_empty(),
                "wrote after closing (closed at chunk {at})"
            );
        }
        if conn.close_reason().is_some() && closed_at.is_none() {
            closed_at = Some(i);
            if conn
                .close_reason()
                .is_some_and(|e| e.code() != ErrorCode::NoError)
            {
                assert!(
                    frames.iter().any(|f| matches!(f, Frame::GoAway(_))),
                    "a connection error sends GOAWAY: {frames:?}"
                );
            }
        }
        assert!(conn.stream_count() <= 4);
        assert!(conn.closed_stream_count() <= 8);
    }
    assert!(
        written <= 16 * total_in + 4096,
        "{written} written for {total_in} read"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

    #[test]
    fn server_survives_arbitrary_bytes(
        valid_prefix in any::<bool>(),
        data in prop::collection::vec(any::<u8>(), 0..600),
        chunks in prop::collection::vec(1usize..100, 0..20),
    ) {
        run_raw(valid_prefix, &data, &chunks);
    }
}
