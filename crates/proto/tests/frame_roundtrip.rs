//! Property tests: every frame type survives encode → parse unchanged.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{
    AltSvc, Continuation, Data, Frame, FrameHead, GoAway, Headers, Origin, Parser, Ping, Priority,
    PriorityUpdate, PushPromise, RstStream, Settings, StreamDependency, StreamId, Unknown,
    WindowUpdate, kind,
};

const MAX: u32 = Settings::MAX_MAX_FRAME_SIZE;

const KNOWN: [u8; 13] = [
    kind::DATA,
    kind::HEADERS,
    kind::PRIORITY,
    kind::RST_STREAM,
    kind::SETTINGS,
    kind::PUSH_PROMISE,
    kind::PING,
    kind::GOAWAY,
    kind::WINDOW_UPDATE,
    kind::CONTINUATION,
    kind::ALTSVC,
    kind::ORIGIN,
    kind::PRIORITY_UPDATE,
];

fn nonzero_id() -> impl Strategy<Value = StreamId> {
    (1u32..=StreamId::MAX.get()).prop_map(StreamId::new)
}

fn any_id() -> impl Strategy<Value = StreamId> {
    any::<u32>().prop_map(StreamId::new)
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![0u32..=0xd, any::<u32>()].prop_map(ErrorCode::from)
}

fn dependency() -> impl Strategy<Value = StreamDependency> {
    (any_id(), any::<u8>(), any::<bool>()).prop_map(|(dependency, weight, exclusive)| {
        StreamDependency {
            dependency,
            weight,
            exclusive,
        }
    })
}

/// Encodes `frame`, parses it back with a parser accepting any legal frame
/// size, and checks that exactly the frame's bytes were consumed.
fn roundtrip(frame: Frame) -> Result<(), TestCaseError> {
    let mut wire = BytesMut::new();
    frame.encode(&mut wire);
    let head = FrameHead::parse(&wire).expect("header");
    prop_assert_eq!(head.length as usize + FrameHead::LEN, wire.len());
    prop_assert_eq!(head.kind, frame.kind());
    prop_assert_eq!(head.stream_id, frame.stream_id());
    let mut parser = Parser::new();
    parser.set_max_frame_size(MAX);
    let parsed = parser
        .parse(&mut wire)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(parsed, Some(frame));
    prop_assert!(wire.is_empty());
    Ok(())
}

proptest! {
    #[test]
    fn data(id in nonzero_id(), data in bytes(3000), end_stream: bool, pad_len in option::of(any::<u8>())) {
        let mut frame = Data::new(id, data);
        frame.set_end_stream(end_stream);
        frame.set_padding(pad_len);
        roundtrip(frame.into())?;
    }

    #[test]
    fn data_encode_head_plus_payload_equals_encode(
        id in nonzero_id(), data in bytes(500), pad_len in option::of(any::<u8>()),
    ) {
        let mut frame = Data::new(id, data);
        frame.set_padding(pad_len);
        let mut whole = BytesMut::new();
        frame.encode(&mut whole);
        let mut vectored = BytesMut::new();
        frame.encode_head(&mut vectored);
        vectored.extend_from_slice(&frame.data);
        vectored.extend_from_slice(frame.padding());
        prop_assert_eq!(&whole, &vectored);
        let overhead = pad_len.map_or(0, |p| p as usize + 1);
        prop_assert_eq!(frame.flow_controlled_len(), frame.data.len() + overhead);
        prop_assert_eq!(whole.len(), FrameHead::LEN + frame.flow_controlled_len());
    }

    #[test]
    fn headers(
        id in nonzero_id(), block in bytes(3000), end_stream: bool, end_headers: bool,
        pad_len in option::of(any::<u8>()), priority in option::of(dependency()),
    ) {
        let mut frame = Headers::new(id, block);
        frame.set_end_stream(end_stream);
        frame.set_end_headers(end_headers);
        frame.set_padding(pad_len);
        frame.set_priority(priority);
        roundtrip(frame.into())?;
    }

    #[test]
    fn priority(id in nonzero_id(), dep in dependency()) {
        roundtrip(Priority::new(id, dep).into())?;
    }

    #[test]
    fn rst_stream(id in nonzero_id(), code in error_code()) {
        roundtrip(RstStream::new(id, code).into())?;
    }

    #[test]
    fn settings(
        header_table_size in option::of(any::<u32>()),
        enable_push in option::of(any::<bool>()),
        max_concurrent_streams in option::of(any::<u32>()),
        initial_window_size in option::of(0..=Settings::MAX_INITIAL_WINDOW_SIZE),
        max_frame_size in option::of(Settings::DEFAULT_MAX_FRAME_SIZE..=Settings::MAX_MAX_FRAME_SIZE),
        max_header_list_size in option::of(any::<u32>()),
        enable_connect_protocol in option::of(any::<bool>()),
        no_rfc7540_priorities in option::of(any::<bool>()),
        ack: bool,
    ) {
        let mut s = if ack { Settings::ack() } else { Settings::default() };
        if !ack {
            s.set_header_table_size(header_table_size);
            s.set_enable_push(enable_push);
            s.set_max_concurrent_streams(max_concurrent_streams);
            s.set_initial_window_size(initial_window_size);
            s.set_max_frame_size(max_frame_size);
            s.set_max_header_list_size(max_header_list_size);
            s.set_enable_connect_protocol(enable_connect_protocol);
            s.set_no_rfc7540_priorities(no_rfc7540_priorities);
        }
        let expected_entries = s.entry_count();
        roundtrip(s.clone().into())?;
        let mut wire = BytesMut::new();
        s.encode(&mut wire);
        let Some(Frame::Settings(parsed)) = Parser::new().parse(&mut wire).unwrap() else {
            unreachable!()
        };
        prop_assert_eq!(parsed.entry_count(), expected_entries);
    }

    #[test]
    fn push_promise(
        id in nonzero_id(), promised in nonzero_id(), block in bytes(3000), end_headers: bool,
        pad_len in option::of(any::<u8>()),
    ) {
        let mut frame = PushPromise::new(id, promised, block);
        frame.set_end_headers(end_headers);
        frame.set_padding(pad_len);
        roundtrip(frame.into())?;
    }

    #[test]
    fn ping(payload: [u8; 8], ack: bool) {
        roundtrip(if ack { Ping::pong(payload) } else { Ping::new(payload) }.into())?;
    }

    #[test]
    fn go_away(last in any_id(), code in error_code(), debug in bytes(500)) {
        roundtrip(GoAway::new(last, code).with_debug_data(debug).into())?;
    }

    #[test]
    fn window_update(id in any_id(), increment in 1..=WindowUpdate::MAX_INCREMENT) {
        roundtrip(WindowUpdate::new(id, increment).into())?;
    }

    #[test]
    fn continuation(id in nonzero_id(), block in bytes(3000), end_headers: bool) {
        roundtrip(Continuation::new(id, block, end_headers).into())?;
    }

    #[test]
    fn altsvc_origin(origin in vec(any::<u8>(), 1..200), value in bytes(300)) {
        roundtrip(AltSvc::for_origin(Bytes::from(origin), value).into())?;
    }

    #[test]
    fn altsvc_stream(id in nonzero_id(), value in bytes(300)) {
        roundtrip(AltSvc::for_stream(id, value).into())?;
    }

    #[test]
    fn origin(origins in vec(bytes(100), 0..10)) {
        roundtrip(Origin::new(origins).into())?;
    }

    #[test]
    fn priority_update(id in nonzero_id(), value in bytes(300)) {
        roundtrip(PriorityUpdate::new(id, value).into())?;
    }

    #[test]
    fn unknown(
        kind in any::<u8>().prop_filter("unknown type", |k| !KNOWN.contains(k)),
        flags: u8, id in any_id(), payload in bytes(500),
    ) {
        roundtrip(Unknown::new(kind, flags, id, payload).into())?;
    }
}

/// Parses every frame in `wire` with `max_frame_size`, checking each frame's
/// length on the wire.
fn parse_all(mut wire: BytesMut, max_frame_size: u32) -> Vec<Frame> {
    let mut at = 0;
    let mut frames = Vec::new();
    let mut parser = Parser::new();
    parser.set_max_frame_size(max_frame_size);
    while !wire.is_empty() {
        let head = FrameHead::parse(&wire).unwrap();
        assert!(head.length <= max_frame_size, "frame {at} too long");
        frames.push(parser.parse(&mut wire).unwrap().expect("whole frame"));
        at += 1;
    }
    assert_eq!(parser.expecting_continuation(), None);
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn headers_split_into_continuations(
        id in nonzero_id(),
        block in vec(any::<u8>(), 0..70_000),
        max_frame_size in prop_oneof![Just(16_384u32), 16_384u32..=20_000],
        end_stream: bool,
        pad_len in option::of(any::<u8>()),
        priority in option::of(dependency()),
    ) {
        let block = Bytes::from(block);
        let mut headers = Headers::new(id, block.clone());
        headers.set_end_stream(end_stream);
        headers.set_padding(pad_len);
        headers.set_priority(priority);
        let mut wire = BytesMut::new();
        headers.encode_split(max_frame_size, &mut wire);

        let frames = parse_all(wire, max_frame_size);
        let Frame::Headers(first) = &frames[0] else { panic!("first frame is {:?}", frames[0]) };
        prop_assert_eq!(first.stream_id, id);
        prop_assert_eq!(first.end_stream, end_stream);
        prop_assert_eq!(first.pad_len, pad_len);
        prop_assert_eq!(first.priority, priority);
        prop_assert_eq!(first.end_headers, frames.len() == 1);
        let mut joined = first.header_block.to_vec();
        for (i, frame) in frames.iter().enumerate().skip(1) {
            let Frame::Continuation(c) = frame else { panic!("frame {i} is {frame:?}") };
            prop_assert_eq!(c.stream_id, id);
            prop_assert_eq!(c.end_headers, i == frames.len() - 1);
            prop_assert!(!c.header_block.is_empty());
            joined.extend_from_slice(&c.header_block);
        }
        prop_assert_eq!(Bytes::from(joined), block);
    }

    #[test]
    fn push_promise_split_into_continuations(
        id in nonzero_id(),
        promised in nonzero_id(),
        block in vec(any::<u8>(), 0..50_000),
        max_frame_size in 16_384u32..=17_000,
        pad_len in option::of(any::<u8>()),
    ) {
        let block = Bytes::from(block);
        let mut pp = PushPromise::new(id, promised, block.clone());
        pp.set_padding(pad_len);
        let mut wire = BytesMut::new();
        pp.encode_split(max_frame_size, &mut wire);

        let frames = parse_all(wire, max_frame_size);
        let Frame::PushPromise(first) = &frames[0] else { panic!("first frame is {:?}", frames[0]) };
        prop_assert_eq!(first.promised_id, promised);
        prop_assert_eq!(first.pad_len, pad_len);
        prop_assert_eq!(first.end_headers, frames.len() == 1);
        let mut joined = first.header_block.to_vec();
        for (i, frame) in frames.iter().enumerate().skip(1) {
            let Frame::Continuation(c) = frame else { panic!("frame {i} is {frame:?}") };
            prop_assert_eq!(c.end_headers, i == frames.len() - 1);
            joined.extend_from_slice(&c.header_block);
        }
        prop_assert_eq!(Bytes::from(joined), block);
    }
}

/// A block that exactly fills one frame is not followed by an empty
/// CONTINUATION; one more octet needs exactly one.
#[test]
fn split_boundaries() {
    let id = StreamId::new(1);
    for (len, frames) in [(16_384, 1), (16_385, 2), (32_768, 2), (32_769, 3), (0, 1)] {
        let mut wire = BytesMut::new();
        Headers::new(id, Bytes::from(vec![7; len])).encode_split(16_384, &mut wire);
        assert_eq!(parse_all(wire, 16_384).len(), frames, "block of {len}");
    }
}

/// Reserved bits are sent as zero even if a value carries them.
#[test]
fn reserved_bits_zero_on_send() {
    let mut wire = BytesMut::new();
    WindowUpdate::new(StreamId::new(1), 0xffff_ffff).encode(&mut wire);
    assert_eq!(&wire[9..], &[0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(wire[5] & 0x80, 0);

    let mut wire = BytesMut::new();
    GoAway::new(StreamId::new(0xffff_ffff), ErrorCode::NoError).encode(&mut wire);
    assert_eq!(&wire[9..13], &[0x7f, 0xff, 0xff, 0xff]);
}
