//! A ~10 MB stream of mostly DATA frames parses identically whether it
//! arrives whole, one byte at a time, or in random-size pieces, and DATA
//! payloads are never copied.

use bytes::{Bytes, BytesMut};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{
    Data, Frame, GoAway, Headers, Parser, Ping, Priority, RstStream, Settings, StreamDependency,
    StreamId, Unknown, WindowUpdate,
};

/// xorshift64*: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TARGET: usize = 10 * 1024 * 1024;
const MAX_FRAME: usize = 16_384;

/// The frames of the test stream and their encoding.
fn build_stream(seed: u64) -> (Vec<Frame>, Vec<u8>) {
    let mut rng = Rng(seed);
    let mut frames: Vec<Frame> = Vec::new();
    let mut wire = BytesMut::new();
    let mut counter = 0u8;
    while wire.len() < TARGET {
        let stream_id = StreamId::new([1, 3, 5, 7][rng.below(4)]);
        let frame: Frame = match rng.below(100) {
            // A few control and header frames in between.
            0 => Ping::new(rng.next().to_be_bytes()).into(),
            1 => WindowUpdate::new(stream_id, 1 + rng.below(1 << 20) as u32).into(),
            2 => {
                let mut s = Settings::default();
                s.set_initial_window_size(Some(rng.below(1 << 31) as u32));
                s.into()
            }
            3 => {
                let mut h = Headers::new(stream_id, Bytes::from(vec![0x82; rng.below(200)]));
                h.set_padding(Some(rng.below(256) as u8));
                h.into()
            }
            4 => Unknown::new(0xf0, 0x7, stream_id, Bytes::from_static(b"ignore me")).into(),
            5 => Priority::new(
                stream_id,
                StreamDependency {
                    dependency: StreamId::new(1),
                    weight: 200,
                    exclusive: false,
                },
            )
            .into(),
            6 => RstStream::new(stream_id, ErrorCode::Cancel).into(),
            // Everything else is DATA of mixed sizes, a third of it padded.
            _ => {
                let pad_len = (rng.below(3) == 0).then(|| rng.below(256) as u8);
                let room = MAX_FRAME - pad_len.map_or(0, |p| 1 + p as usize);
                let len = match rng.below(4) {
                    0 => rng.below(16),
                    1 => room,
                    _ => rng.below(room + 1),
                };
                counter = counter.wrapping_add(1);
                let payload: Vec<u8> = (0..len).map(|i| counter ^ i as u8).collect();
                let mut d = Data::new(stream_id, Bytes::from(payload));
                d.set_end_stream(rng.below(50) == 0);
                d.set_padding(pad_len);
                d.into()
            }
        };
        frame.encode(&mut wire);
        frames.push(frame);
    }
    // A field block split over CONTINUATION frames, then a GOAWAY.
    let big = Headers::new(StreamId::new(9), Bytes::from(vec![0x84; 40_000]));
    big.encode_split(MAX_FRAME as u32, &mut wire);
    let mut tmp = BytesMut::new();
    big.encode_split(MAX_FRAME as u32, &mut tmp);
    let mut parser = Parser::new();
    while let Some(f) = parser.parse(&mut tmp).unwrap() {
        frames.push(f);
    }
    let goaway = GoAway::new(StreamId::new(9), ErrorCode::NoError)
        .with_debug_data(Bytes::from_static(b"done"));
    goaway.encode(&mut wire);
    frames.push(goaway.into());
    (frames, wire.to_vec())
}

/// Feeds `wire` to a parser in pieces whose sizes `piece` picks.
fn parse_in_pieces(wire: &[u8], mut piece: impl FnMut() -> usize) -> Vec<Frame> {
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        let n = piece().clamp(1, wire.len() - at);
        buf.extend_from_slice(&wire[at..at + n]);
        at += n;
        while let Some(frame) = parser.parse(&mut buf).expect("valid stream") {
            frames.push(frame);
        }
    }
    assert!(buf.is_empty());
    frames
}

#[test]
fn whole_byte_by_byte_and_random_pieces_agree() {
    let (expected, wire) = build_stream(0x5eed_0001);
    assert!(wire.len() >= TARGET);
    let data_frames = expected
        .iter()
        .filter(|f| matches!(f, Frame::Data(_)))
        .count();
    assert!(data_frames > 600, "only {data_frames} DATA frames");
    assert!(
        expected
            .iter()
            .any(|f| matches!(f, Frame::Data(d) if d.pad_len.is_some()))
    );

    // Whole: one buffer, and every payload must point into it.
    let mut buf = BytesMut::from(&wire[..]);
    let base = buf.as_ptr() as usize;
    let range = base..base + buf.len();
    let mut parser = Parser::new();
    let mut whole = Vec::new();
    while let Some(frame) = parser.parse(&mut buf).unwrap() {
        whole.push(frame);
    }
    assert!(buf.is_empty());
    assert_eq!(whole.len(), expected.len());
    assert!(
        whole == expected,
        "whole-buffer parse differs from what was encoded"
    );
    let mut checked = 0;
    for frame in &whole {
        if let Frame::Data(d) = frame
            && !d.data.is_empty()
        {
            let start = d.data.as_ptr() as usize;
            assert!(range.contains(&start), "DATA payload was copied");
            assert!(range.contains(&(start + d.data.len() - 1)));
            checked += 1;
        }
    }
    assert!(checked > 500);

    // One byte at a time.
    let bytewise = parse_in_pieces(&wire, || 1);
    assert_eq!(bytewise.len(), expected.len());
    assert!(bytewise == expected, "byte-by-byte parse differs");

    // Random piece sizes, several seeds, from tiny to several frames.
    for seed in [7u64, 0xdead_beef, 42_424_242] {
        let mut rng = Rng(seed);
        let random = parse_in_pieces(&wire, || match rng.below(3) {
            0 => 1 + rng.below(10),
            1 => 1 + rng.below(20_000),
            _ => 1 + rng.below(100_000),
        });
        assert_eq!(random.len(), expected.len(), "seed {seed}");
        assert!(
            random == expected,
            "random-piece parse differs (seed {seed})"
        );
    }
}

/// Flow-control accounting over the stream: the sum of
/// `flow_controlled_len` equals the DATA frames' payload lengths on the wire.
#[test]
fn flow_controlled_len_matches_wire_length() {
    let (_, wire) = build_stream(99);
    let mut at = 0;
    let mut expected = 0usize;
    while at < wire.len() {
        let len = u32::from_be_bytes([0, wire[at], wire[at + 1], wire[at + 2]]) as usize;
        if wire[at + 3] == 0 {
            expected += len;
        }
        at += 9 + len;
    }
    let mut buf = BytesMut::from(&wire[..]);
    let mut parser = Parser::new();
    let mut total = 0;
    while let Some(frame) = parser.parse(&mut buf).unwrap() {
        if let Frame::Data(d) = frame {
            total += d.flow_controlled_len();
        }
    }
    assert_eq!(total, expected);
}
