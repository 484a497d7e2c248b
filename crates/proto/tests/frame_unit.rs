//! Unit tests: Settings accessors, ErrorCode conversions, StreamId,
//! FrameError and frame helpers.

use bytes::{Bytes, BytesMut};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{
    Data, ErrorScope, Frame, FrameError, FrameHead, PREFACE, Parser, Ping, Settings, StreamId,
    kind, parse_head,
};

fn parse_settings(payload: &[u8]) -> Result<Settings, FrameError> {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    buf.extend_from_slice(&[kind::SETTINGS, 0, 0, 0, 0, 0]);
    buf.extend_from_slice(payload);
    match Parser::new().parse(&mut buf)? {
        Some(Frame::Settings(s)) => Ok(s),
        other => panic!("{other:?}"),
    }
}

fn entry(id: u16, value: u32) -> Vec<u8> {
    [&id.to_be_bytes()[..], &value.to_be_bytes()[..]].concat()
}

#[test]
fn settings_default_is_empty() {
    let s = Settings::default();
    assert!(!s.is_ack());
    assert_eq!(s.header_table_size(), None);
    assert_eq!(s.enable_push(), None);
    assert_eq!(s.max_concurrent_streams(), None);
    assert_eq!(s.initial_window_size(), None);
    assert_eq!(s.max_frame_size(), None);
    assert_eq!(s.max_header_list_size(), None);
    assert_eq!(s.enable_connect_protocol(), None);
    assert_eq!(s.no_rfc7540_priorities(), None);
    assert_eq!(s.entry_count(), 0);
    let mut wire = BytesMut::new();
    s.encode(&mut wire);
    assert_eq!(&wire[..], &[0, 0, 0, 4, 0, 0, 0, 0, 0]);
}

#[test]
fn settings_setters_and_getters() {
    let mut s = Settings::default();
    s.set_header_table_size(Some(4096));
    s.set_enable_push(Some(false));
    s.set_max_concurrent_streams(Some(250));
    s.set_initial_window_size(Some(Settings::MAX_INITIAL_WINDOW_SIZE));
    s.set_max_frame_size(Some(Settings::MAX_MAX_FRAME_SIZE));
    s.set_max_header_list_size(Some(1 << 16));
    s.set_enable_connect_protocol(Some(true));
    s.set_no_rfc7540_priorities(Some(true));
    assert_eq!(s.header_table_size(), Some(4096));
    assert_eq!(s.enable_push(), Some(false));
    assert_eq!(s.max_concurrent_streams(), Some(250));
    assert_eq!(s.initial_window_size(), Some(0x7fff_ffff));
    assert_eq!(s.max_frame_size(), Some(16_777_215));
    assert_eq!(s.max_header_list_size(), Some(65_536));
    assert_eq!(s.enable_connect_protocol(), Some(true));
    assert_eq!(s.no_rfc7540_priorities(), Some(true));
    assert_eq!(s.entry_count(), 8);

    let mut wire = BytesMut::new();
    s.encode(&mut wire);
    assert_eq!(wire.len(), 9 + 8 * 6);
    // Identifier order on the wire; booleans as 0/1.
    let ids: Vec<u16> = wire[9..]
        .chunks(6)
        .map(|e| u16::from_be_bytes([e[0], e[1]]))
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 8, 9]);
    assert_eq!(&wire[9 + 6..9 + 12], &entry(0x2, 0)[..]);
    assert_eq!(&wire[9 + 36..9 + 42], &entry(0x8, 1)[..]);

    s.set_enable_push(None);
    assert_eq!(s.enable_push(), None);
    assert_eq!(s.entry_count(), 7);
}

#[test]
fn settings_ack() {
    let ack = Settings::ack();
    assert!(ack.is_ack());
    assert_eq!(ack.stream_id(), StreamId::ZERO);
    let mut wire = BytesMut::new();
    ack.encode(&mut wire);
    assert_eq!(&wire[..], &[0, 0, 0, 4, 1, 0, 0, 0, 0]);
    assert_eq!(
        Parser::new().parse(&mut wire),
        Ok(Some(Frame::Settings(Settings::ack())))
    );
    assert_ne!(Settings::ack(), Settings::default());
}

#[test]
fn settings_last_value_wins_and_unknown_are_counted() {
    let payload = [
        entry(0x4, 100),
        entry(0x99, 1),
        entry(0x4, 200),
        entry(0x2, 1),
        entry(0x7, 5),
        entry(0x9, 0),
    ]
    .concat();
    let s = parse_settings(&payload).unwrap();
    assert_eq!(s.initial_window_size(), Some(200));
    assert_eq!(s.enable_push(), Some(true));
    assert_eq!(s.no_rfc7540_priorities(), Some(false));
    assert_eq!(s.entry_count(), 6);
    assert_eq!(s.header_table_size(), None);
}

#[test]
fn settings_boundary_values_accepted() {
    for (id, value) in [
        (0x4, 0x7fff_ffff),
        (0x4, 0),
        (0x5, 16_384),
        (0x5, 16_777_215),
        (0x2, 0),
        (0x8, 0),
        (0x8, 1),
        (0x9, 1),
        (0x1, u32::MAX),
        (0x3, 0),
        (0x6, u32::MAX),
    ] {
        assert!(
            parse_settings(&entry(id, value)).is_ok(),
            "{id:#x} = {value}"
        );
    }
}

#[test]
fn error_code_conversions() {
    let named = [
        (0x0, ErrorCode::NoError, "NO_ERROR"),
        (0x1, ErrorCode::ProtocolError, "PROTOCOL_ERROR"),
        (0x2, ErrorCode::InternalError, "INTERNAL_ERROR"),
        (0x3, ErrorCode::FlowControlError, "FLOW_CONTROL_ERROR"),
        (0x4, ErrorCode::SettingsTimeout, "SETTINGS_TIMEOUT"),
        (0x5, ErrorCode::StreamClosed, "STREAM_CLOSED"),
        (0x6, ErrorCode::FrameSizeError, "FRAME_SIZE_ERROR"),
        (0x7, ErrorCode::RefusedStream, "REFUSED_STREAM"),
        (0x8, ErrorCode::Cancel, "CANCEL"),
        (0x9, ErrorCode::CompressionError, "COMPRESSION_ERROR"),
        (0xa, ErrorCode::ConnectError, "CONNECT_ERROR"),
        (0xb, ErrorCode::EnhanceYourCalm, "ENHANCE_YOUR_CALM"),
        (0xc, ErrorCode::InadequateSecurity, "INADEQUATE_SECURITY"),
        (0xd, ErrorCode::Http11Required, "HTTP_1_1_REQUIRED"),
    ];
    for (value, code, name) in named {
        let from = ErrorCode::from(value);
        assert!(
            matches!((from, code), (a, b) if std::mem::discriminant(&a) == std::mem::discriminant(&b))
        );
        assert_eq!(u32::from(code), value);
        assert_eq!(code.to_string(), name);
        assert_eq!(code.name(), Some(name));
    }
    for value in [0xe, 0xff, 0xdead_beef, u32::MAX] {
        let code = ErrorCode::from(value);
        assert_eq!(code, ErrorCode::Unknown(value));
        assert!(matches!(code, ErrorCode::Unknown(v) if v == value));
        assert_eq!(u32::from(code), value);
        assert_eq!(code.name(), None);
    }
    assert_eq!(ErrorCode::Unknown(0xe).to_string(), "UNKNOWN_ERROR(0xe)");
    // Equality is by value, whichever variant holds it.
    assert_eq!(ErrorCode::Unknown(1), ErrorCode::ProtocolError);
    assert_eq!(ErrorCode::Unknown(1).to_string(), "PROTOCOL_ERROR");
    assert_ne!(ErrorCode::Cancel, ErrorCode::Unknown(9));
}

#[test]
fn stream_id_predicates() {
    assert!(StreamId::ZERO.is_zero());
    assert!(!StreamId::ZERO.is_client_initiated());
    assert!(!StreamId::ZERO.is_server_initiated());
    assert!(StreamId::new(1).is_client_initiated());
    assert!(!StreamId::new(1).is_server_initiated());
    assert!(StreamId::new(2).is_server_initiated());
    assert!(StreamId::MAX.is_client_initiated());
    assert_eq!(StreamId::MAX.get(), (1 << 31) - 1);
    assert_eq!(StreamId::new(u32::MAX), StreamId::MAX);
    assert_eq!(StreamId::from(7).to_string(), "7");
    assert_eq!(StreamId::new(0x7fff_fffd).next_id(), Some(StreamId::MAX));
    assert_eq!(StreamId::new(0x7fff_fffe).next_id(), None);
    assert!(StreamId::new(3) < StreamId::new(5));
}

#[test]
fn frame_error_display_and_scope() {
    let conn = FrameError::connection(ErrorCode::ProtocolError, "DATA frame on stream 0");
    assert!(conn.is_connection_error());
    assert_eq!(
        conn.to_string(),
        "connection error PROTOCOL_ERROR: DATA frame on stream 0"
    );
    let stream = FrameError::stream(StreamId::new(5), ErrorCode::FrameSizeError, "x");
    assert_eq!(stream.scope, ErrorScope::Stream(StreamId::new(5)));
    assert!(!stream.is_connection_error());
    let boxed: Box<dyn std::error::Error> = Box::new(stream);
    assert_eq!(boxed.to_string(), "stream 5 error FRAME_SIZE_ERROR: x");
}

#[test]
fn preface_and_head() {
    assert_eq!(PREFACE, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert_eq!(parse_head(&[0; 8]), None);
    let head = parse_head(&[0x01, 0x02, 0x03, 0xfa, 0x81, 0xff, 0xff, 0xff, 0xff]).unwrap();
    assert_eq!(
        head,
        FrameHead {
            length: 0x010203,
            kind: 0xfa,
            flags: 0x81,
            stream_id: StreamId::MAX
        }
    );
    assert!(head.has_flag(0x80));
    assert!(!head.has_flag(0x02));
}

#[test]
fn frame_helpers() {
    let ping: Frame = Ping::new([0; 8]).into();
    assert_eq!(ping.kind(), kind::PING);
    assert_eq!(ping.stream_id(), StreamId::ZERO);
    let mut d = Data::new(StreamId::new(3), Bytes::from_static(b"abc"));
    assert_eq!(d.flow_controlled_len(), 3);
    assert!(d.padding().is_empty());
    d.set_padding(Some(0));
    assert_eq!(d.flow_controlled_len(), 4);
    d.set_padding(Some(255));
    assert_eq!(d.flow_controlled_len(), 3 + 256);
    assert_eq!(d.padding().len(), 255);
    let f: Frame = d.into();
    assert_eq!(f.stream_id(), StreamId::new(3));
    assert_eq!(f.kind(), kind::DATA);
}
