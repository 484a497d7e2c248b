//! RFC 9113 §4.3 (field blocks), §6.2, §6.10 (HEADERS, CONTINUATION), §8.1
//! (trailers, 1xx, content-length), §8.2–§8.3 (field validation).

mod common;

use bytes::Bytes;
use common::*;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use ropewalk_proto::conn::{Event, UserError};
use ropewalk_proto::error::ErrorCode;
use ropewalk_proto::frame::{Frame, Headers, Settings, StreamDependency};
use ropewalk_proto::headers::{RequestHead, ResponseHead};

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = GET.to_vec();
    v.extend_from_slice(extra);
    v
}

fn malformed_request(fields: &[(&str, &str)]) {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, fields, true);
    p.expect_rst(1, ErrorCode::ProtocolError);
    assert!(p.events().is_empty(), "malformed request is not delivered");
    assert!(!p.conn.is_closed(), "a stream error only");
}

#[test]
fn rfc9113_4_3_headers_with_continuation() {
    let mut p = Peer::server_ready(cfg());
    let block = p.block(&with(&[("x-long", "value")]));
    let (a, b) = block.split_at(5);
    let mut h = Headers::new(sid(1), Bytes::copy_from_slice(a));
    h.set_end_stream(true);
    h.set_end_headers(false);
    p.send(h);
    assert!(p.events().is_empty());
    p.send(cont(1, Bytes::copy_from_slice(b), true));
    let ev = p.events();
    let Event::Request {
        head, end_stream, ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert!(end_stream);
    assert_eq!(head.headers["x-long"], "value");
}

#[test]
fn rfc9113_4_3_many_continuations() {
    let mut p = Peer::server_ready(cfg());
    let block = p.block(&with(&[("x-a", "1"), ("x-b", "2")]));
    let mut h = Headers::new(sid(1), block.slice(0..1));
    h.set_end_headers(false);
    p.send(h);
    for i in 1..block.len() {
        p.send(cont(1, block.slice(i..i + 1), i == block.len() - 1));
    }
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc9113_4_3_interleaved_frame_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    let block = p.block(GET);
    let mut h = Headers::new(sid(1), block.slice(0..2));
    h.set_end_headers(false);
    p.send(h);
    p.send(ping(*b"pingpong"));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_10_continuation_on_other_stream_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    let block = p.block(GET);
    let mut h = Headers::new(sid(1), block.slice(0..2));
    h.set_end_headers(false);
    p.send(h);
    p.send(cont(3, block.slice(2..), true));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_10_continuation_without_headers_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    let block = p.block(GET);
    p.send(cont(1, block, true));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_10_continuation_after_end_headers_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, false);
    p.events();
    p.send(cont(1, Bytes::from_static(b"\x82"), true));
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_4_3_bad_hpack_is_compression_error() {
    let mut p = Peer::server_ready(cfg());
    // index 0 is invalid (RFC 7541 §6.1)
    p.send(Headers::new(sid(1), Bytes::from_static(b"\x80")));
    p.expect_goaway(ErrorCode::CompressionError);
}

#[test]
fn rfc9113_4_3_truncated_hpack_is_compression_error() {
    let mut p = Peer::server_ready(cfg());
    p.send(Headers::new(sid(1), Bytes::from_static(b"\x40\x05ab")));
    p.expect_goaway(ErrorCode::CompressionError);
}

#[test]
fn rfc9113_6_2_headers_on_stream_0_is_protocol_error() {
    let mut p = Peer::server_ready(cfg());
    p.send_raw(&[0, 0, 1, 1, 5, 0, 0, 0, 0, 0x82]);
    p.expect_goaway(ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_2_padded_headers() {
    let mut p = Peer::server_ready(cfg());
    let mut h = p.headers(1, GET, true);
    h.set_padding(Some(10));
    p.send(h);
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc7540_5_3_1_headers_depending_on_itself_is_stream_error() {
    let mut p = Peer::server_ready(cfg());
    let mut h = p.headers(1, GET, true);
    h.set_priority(Some(StreamDependency {
        dependency: sid(1),
        weight: 16,
        exclusive: false,
    }));
    p.send(h);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_5_3_2_headers_priority_fields_ignored() {
    let mut p = Peer::server_ready(cfg());
    let mut h = p.headers(1, GET, true);
    h.set_priority(Some(StreamDependency {
        dependency: sid(0),
        weight: 200,
        exclusive: true,
    }));
    p.send(h);
    assert_eq!(p.events().len(), 1);
    p.expect_nothing();
}

#[test]
fn rfc9113_8_2_uppercase_field_name_malformed() {
    malformed_request(&with(&[("X-Upper", "1")]));
}

#[test]
fn rfc9113_8_2_1_empty_field_name_malformed() {
    malformed_request(&with(&[("", "1")]));
}

#[test]
fn rfc9113_8_2_1_field_value_with_newline_malformed() {
    malformed_request(&with(&[("x", "a\r\nb")]));
}

#[test]
fn rfc9113_8_2_1_field_value_with_nul_malformed() {
    malformed_request(&with(&[("x", "a\0b")]));
}

#[test]
fn rfc9113_8_2_1_field_value_leading_space_malformed() {
    malformed_request(&with(&[("x", " a")]));
}

#[test]
fn rfc9113_8_2_1_field_name_with_space_malformed() {
    malformed_request(&with(&[("x y", "a")]));
}

#[test]
fn rfc9113_8_2_2_connection_header_malformed() {
    malformed_request(&with(&[("connection", "keep-alive")]));
}

#[test]
fn rfc9113_8_2_2_keep_alive_malformed() {
    malformed_request(&with(&[("keep-alive", "5")]));
}

#[test]
fn rfc9113_8_2_2_proxy_connection_malformed() {
    malformed_request(&with(&[("proxy-connection", "x")]));
}

#[test]
fn rfc9113_8_2_2_transfer_encoding_malformed() {
    malformed_request(&with(&[("transfer-encoding", "chunked")]));
}

#[test]
fn rfc9113_8_2_2_upgrade_malformed() {
    malformed_request(&with(&[("upgrade", "h2c")]));
}

#[test]
fn rfc9113_8_2_2_te_other_than_trailers_malformed() {
    malformed_request(&with(&[("te", "gzip")]));
}

#[test]
fn rfc9113_8_2_2_te_trailers_allowed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, &with(&[("te", "trailers")]), true);
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc9113_8_3_pseudo_after_regular_malformed() {
    malformed_request(&[
        (":method", "GET"),
        (":scheme", "https"),
        ("x", "y"),
        (":path", "/"),
    ]);
}

#[test]
fn rfc9113_8_3_unknown_pseudo_malformed() {
    malformed_request(&with(&[(":foo", "bar")]));
}

#[test]
fn rfc9113_8_3_response_pseudo_in_request_malformed() {
    malformed_request(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/"),
        (":status", "200"),
    ]);
}

#[test]
fn rfc9113_8_3_1_missing_method_malformed() {
    malformed_request(&[(":scheme", "https"), (":path", "/")]);
}

#[test]
fn rfc9113_8_3_1_missing_scheme_malformed() {
    malformed_request(&[(":method", "GET"), (":path", "/")]);
}

#[test]
fn rfc9113_8_3_1_missing_path_malformed() {
    malformed_request(&[(":method", "GET"), (":scheme", "https")]);
}

#[test]
fn rfc9113_8_3_1_empty_path_malformed() {
    malformed_request(&[(":method", "GET"), (":scheme", "https"), (":path", "")]);
}

#[test]
fn rfc9113_8_3_1_duplicate_method_malformed() {
    malformed_request(&with(&[(":method", "POST")]));
}

#[test]
fn rfc9113_8_3_1_duplicate_path_malformed() {
    malformed_request(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/"),
        (":path", "/"),
    ]);
}

#[test]
fn rfc9113_8_3_1_host_differs_from_authority_malformed() {
    malformed_request(&with(&[("host", "other.example")]));
}

#[test]
fn rfc9113_8_3_1_request_parts_conversion() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(
        1,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com:8443"),
            (":path", "/a/b?c=d"),
            ("accept", "text/html"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ],
        true,
    );
    let ev = p.events();
    let Event::Request { head, .. } = ev.into_iter().next().unwrap() else {
        panic!()
    };
    let parts = head.into_parts();
    assert_eq!(parts.method, Method::GET);
    assert_eq!(parts.uri, "https://example.com:8443/a/b?c=d");
    // RFC 9113 §8.2.3: crumbs joined
    assert_eq!(parts.headers["cookie"], "a=1; b=2");
    assert_eq!(parts.version, http::Version::HTTP_2);
}

#[test]
fn rfc9113_8_5_connect_request() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(
        1,
        &[(":method", "CONNECT"), (":authority", "example.com:443")],
        false,
    );
    let ev = p.events();
    let Event::Request { head, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(head.method, Method::CONNECT);
    assert!(head.path.is_none());
}

#[test]
fn rfc9113_8_5_connect_with_path_malformed() {
    malformed_request(&[
        (":method", "CONNECT"),
        (":authority", "example.com:443"),
        (":path", "/"),
    ]);
}

#[test]
fn rfc9113_8_1_trailers_received() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.send_data(1, b"body", false);
    p.send_headers(1, &[("x-checksum", "abc")], true);
    let ev = p.events();
    let Event::Trailers { stream, trailers } = &ev[2] else {
        panic!("{ev:?}")
    };
    assert_eq!(*stream, sid(1));
    assert_eq!(trailers["x-checksum"], "abc");
}

#[test]
fn rfc9113_8_1_trailers_without_end_stream_malformed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.send_headers(1, &[("x-checksum", "abc")], false);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_pseudo_header_in_trailers_malformed() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.send_headers(1, &[(":path", "/")], true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_trailers_sent_after_data() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    p.conn
        .send_data(sid(1), Bytes::from_static(b"data"), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from_static("0"));
    p.conn.send_trailers(sid(1), t).unwrap();
    let f = p.frames();
    assert_eq!(f.len(), 3);
    assert_eq!(f[1], data_frame(1, b"data", false));
    let Frame::Headers(h) = &f[2] else { panic!() };
    assert!(h.end_stream);
    assert_eq!(
        p.decode(&f[0].clone().headers_block()),
        [(":status".into(), "200".into())]
    );
    assert_eq!(
        p.decode(&h.header_block.clone()),
        [("grpc-status".to_string(), "0".to_string())]
    );
    assert_eq!(p.conn.stream_count(), 0);
}

trait Block {
    fn headers_block(self) -> Bytes;
}
impl Block for Frame {
    fn headers_block(self) -> Bytes {
        match self {
            Frame::Headers(h) => h.header_block,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn rfc9113_8_1_trailers_without_data() {
    let mut p = Peer::client_ready(cfg());
    let id = p
        .conn
        .send_request(
            RequestHead::new(Method::POST, "https://a/".parse().unwrap()),
            false,
        )
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-t", HeaderValue::from_static("1"));
    p.conn.send_trailers(id, t).unwrap();
    let f = p.frames();
    assert_eq!(f.len(), 2);
    assert!(matches!(&f[1], Frame::Headers(h) if h.end_stream));
}

#[test]
fn rfc9113_8_1_trailers_with_pseudo_refused_on_send() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("connection", HeaderValue::from_static("close"));
    assert!(matches!(
        p.conn.send_trailers(sid(1), t),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn rfc9113_8_1_informational_then_final() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, &[(":status", "103"), ("link", "</s.css>")], false);
    p.send_headers(1, &[(":status", "100")], false);
    p.send_headers(1, OK, true);
    let ev = p.events();
    assert!(matches!(&ev[0], Event::Informational { head, .. } if head.status == 103));
    assert!(matches!(&ev[1], Event::Informational { head, .. } if head.status == 100));
    assert!(matches!(&ev[2], Event::Response { head, end_stream: true, .. } if head.status == 200));
}

#[test]
fn rfc9113_8_1_informational_with_end_stream_malformed() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, &[(":status", "100")], true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_second_final_response_without_end_stream_malformed() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, OK, false);
    p.send_headers(1, OK, false);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_server_sends_informational() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.conn
        .send_informational(sid(1), ResponseHead::new(StatusCode::CONTINUE))
        .unwrap();
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), true)
        .unwrap();
    let f = p.frames();
    assert_eq!(f.len(), 2);
    let b0 = f[0].clone().headers_block();
    assert_eq!(p.decode(&b0), [(":status".to_string(), "100".to_string())]);
}

#[test]
fn rfc9113_8_6_server_cannot_send_101() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    assert!(
        p.conn
            .send_informational(sid(1), ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS))
            .is_err()
    );
}

#[test]
fn rfc9113_8_6_101_response_malformed() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, &[(":status", "101")], false);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_3_2_response_without_status_malformed() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, &[("x", "y")], true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_1_content_length_too_much_data() {
    let mut p = Peer::server_ready(cfg());
    let mut f = POST.to_vec();
    f.push(("content-length", "3"));
    p.send_headers(1, &f, false);
    p.send_data(1, b"abcd", true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_1_content_length_too_little_data() {
    let mut p = Peer::server_ready(cfg());
    let mut f = POST.to_vec();
    f.push(("content-length", "10"));
    p.send_headers(1, &f, false);
    p.send_data(1, b"abcd", true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_1_content_length_matches() {
    let mut p = Peer::server_ready(cfg());
    let mut f = POST.to_vec();
    f.push(("content-length", "4"));
    p.send_headers(1, &f, false);
    p.send_data(1, b"ab", false);
    p.send_data(1, b"cd", true);
    p.expect_nothing();
    assert_eq!(p.events().len(), 3);
}

#[test]
fn rfc9113_8_1_1_content_length_with_end_stream_on_headers() {
    let mut p = Peer::server_ready(cfg());
    let mut f = POST.to_vec();
    f.push(("content-length", "4"));
    p.send_headers(1, &f, true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_1_content_length_checked_at_trailers() {
    let mut p = Peer::server_ready(cfg());
    let mut f = POST.to_vec();
    f.push(("content-length", "4"));
    p.send_headers(1, &f, false);
    p.send_data(1, b"ab", false);
    p.send_headers(1, &[("x", "y")], true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_8_1_1_invalid_content_length_malformed() {
    let mut p = Peer::server_ready(cfg());
    let mut f = POST.to_vec();
    f.push(("content-length", "abc"));
    p.send_headers(1, &f, false);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9110_9_3_2_head_response_content_length_without_body() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::HEAD, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, &[(":status", "200"), ("content-length", "1000")], true);
    let ev = p.events();
    assert!(matches!(
        &ev[0],
        Event::Response {
            end_stream: true,
            body_len: Some(0),
            ..
        }
    ));
    p.expect_nothing();
}

/// The response event says how long the body that follows is, when that
/// is known: the `content-length` the core checked (so the application
/// need not look it up and parse it again), or 0 for a response that has
/// no body, even when its HEADERS frame does not end the stream.
#[test]
fn rfc9110_8_6_response_event_carries_the_body_length() {
    for (method, fields, want) in [
        (
            Method::GET,
            &[(":status", "200"), ("content-length", "5")][..],
            Some(5),
        ),
        (
            Method::GET,
            &[(":status", "200"), ("content-length", "5, 5")][..],
            Some(5),
        ),
        (Method::GET, &[(":status", "200")][..], None),
        // RFC 9110 §9.3.2: the length of what a GET would have sent.
        (
            Method::HEAD,
            &[(":status", "200"), ("content-length", "5")][..],
            Some(0),
        ),
        (Method::GET, &[(":status", "204")][..], Some(0)),
        (
            Method::GET,
            &[(":status", "304"), ("content-length", "5")][..],
            Some(0),
        ),
    ] {
        let mut p = Peer::client_ready(cfg());
        p.conn
            .send_request(
                RequestHead::new(method.clone(), "https://a/".parse().unwrap()),
                true,
            )
            .unwrap();
        p.frames();
        p.send_headers(1, fields, false);
        let ev = p.events();
        let Event::Response { body_len, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(*body_len, want, "{method} {fields:?}");
    }
}

#[test]
fn rfc9110_15_3_5_204_with_body_malformed() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    p.send_headers(1, &[(":status", "204")], false);
    p.send_data(1, b"x", true);
    p.expect_rst(1, ErrorCode::ProtocolError);
}

#[test]
fn rfc9113_6_5_2_header_list_too_large_gets_431() {
    let mut p = Peer::server_ready(cfg().with_max_header_list_size(200));
    let big = "v".repeat(300);
    let mut f = GET.to_vec();
    f.push(("x-big", &big));
    p.send_headers(1, &f, true);
    let frames = p.frames();
    let Frame::Headers(h) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    assert_eq!(
        p.decode(&h.header_block.clone()),
        [(":status".to_string(), "431".to_string())]
    );
    assert!(p.events().is_empty());
    assert!(!p.conn.is_closed());
    // HPACK stayed in sync: the next request decodes fine
    p.send_headers(3, GET, true);
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc9113_6_5_2_header_list_too_large_with_body_pending() {
    let mut p = Peer::server_ready(cfg().with_max_header_list_size(200));
    let big = "v".repeat(300);
    let mut f = POST.to_vec();
    f.push(("x-big", &big));
    p.send_headers(1, &f, false);
    let frames = p.frames();
    assert!(matches!(&frames[0], Frame::Headers(h) if h.end_stream));
    assert_eq!(frames[1], rst(1, ErrorCode::NoError));
}

#[test]
fn rfc9113_6_5_2_client_response_too_large_is_reset() {
    let mut p = Peer::client_ready(cfg().with_max_header_list_size(100));
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    let big = "v".repeat(300);
    p.send_headers(1, &[(":status", "200"), ("x-big", &big)], true);
    p.expect_rst(1, ErrorCode::Cancel);
}

#[test]
fn rfc9113_6_5_2_max_header_list_size_advertised() {
    let mut p = Peer::server(cfg().with_max_header_list_size(12345));
    let f = p.frames();
    let Frame::Settings(s) = &f[0] else { panic!() };
    assert_eq!(s.max_header_list_size(), Some(12345));
}

#[test]
fn rfc9113_4_2_large_header_block_is_split_into_continuations() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    let mut head = ResponseHead::new(StatusCode::OK);
    for i in 0..40 {
        head.headers.insert(
            http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
            HeaderValue::from_str(&"z".repeat(1000 + i)).unwrap(),
        );
    }
    p.conn.send_response(sid(1), head, true).unwrap();
    let f = p.frames();
    assert!(matches!(&f[0], Frame::Headers(h) if !h.end_headers && h.end_stream));
    assert!(f[1..].iter().all(|f| matches!(f, Frame::Continuation(_))));
    assert!(matches!(f.last(), Some(Frame::Continuation(c)) if c.end_headers));
}

#[test]
fn rfc7541_4_2_peer_table_size_followed() {
    let mut p = Peer::server(cfg());
    let mut s = Settings::default();
    s.set_header_table_size(Some(0));
    p.handshake_with(s);
    p.dec.set_max_table_size(0);
    p.send_headers(1, GET, true);
    let mut head = ResponseHead::new(StatusCode::OK);
    head.headers.insert("x-a", HeaderValue::from_static("b"));
    p.conn.send_response(sid(1), head, true).unwrap();
    let f = p.frames();
    let b = f[0].clone().headers_block();
    assert_eq!(p.decode(&b).len(), 2);
    assert_eq!(p.dec.table_len(), 0);
}

#[test]
fn rfc9113_8_2_sensitive_values_never_indexed() {
    let mut p = Peer::client_ready(cfg());
    let mut head = RequestHead::new(Method::GET, "https://a/".parse().unwrap());
    let mut v = HeaderValue::from_static("secret");
    v.set_sensitive(true);
    head.headers.insert("authorization", v);
    p.conn.send_request(head, true).unwrap();
    let f = p.frames();
    let b = f[0].clone().headers_block();
    let mut never = Vec::new();
    p.dec
        .decode(&b, |f| never.push((f.name.to_vec(), f.never_indexed)))
        .unwrap();
    assert!(never.contains(&(b"authorization".to_vec(), true)));
}

#[test]
fn rfc9113_4_3_client_response_with_continuation() {
    let mut p = Peer::client_ready(cfg());
    p.conn
        .send_request(
            RequestHead::new(Method::GET, "https://a/".parse().unwrap()),
            true,
        )
        .unwrap();
    p.frames();
    let block = p.block(&[(":status", "200"), ("x-a", "1"), ("x-b", "2")]);
    let mut h = Headers::new(sid(1), block.slice(..2));
    h.set_end_headers(false);
    h.set_end_stream(true);
    p.send(h);
    p.send(cont(1, block.slice(2..4), false));
    p.send(cont(1, block.slice(4..), true));
    let ev = p.events();
    let Event::Response {
        head, end_stream, ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert!(end_stream);
    assert_eq!(head.headers["x-b"], "2");
}

#[test]
fn rfc9113_8_1_trailers_in_continuation() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    let block = p.block(&[("x-t1", "a"), ("x-t2", "b")]);
    let mut h = Headers::new(sid(1), block.slice(..1));
    h.set_end_headers(false);
    h.set_end_stream(true);
    p.send(h);
    p.send(cont(1, block.slice(1..), true));
    let ev = p.events();
    assert!(matches!(&ev[1], Event::Trailers { trailers, .. } if trailers["x-t2"] == "b"));
}

#[test]
fn rfc9113_8_2_3_cookie_crumbs_joined_end_to_end() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(
        1,
        &with(&[("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")]),
        true,
    );
    let ev = p.events();
    let Event::Request { head, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(head.headers["cookie"], "a=1; b=2; c=3");
}

#[test]
fn rfc9113_8_3_1_options_asterisk() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(
        1,
        &[
            (":method", "OPTIONS"),
            (":scheme", "https"),
            (":authority", "a"),
            (":path", "*"),
        ],
        true,
    );
    assert_eq!(p.events().len(), 1);
}

#[test]
fn rfc9113_8_3_1_asterisk_on_get_malformed() {
    malformed_request(&[(":method", "GET"), (":scheme", "https"), (":path", "*")]);
}

#[test]
fn rfc9113_8_3_1_relative_path_malformed() {
    malformed_request(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "relative"),
    ]);
}

#[test]
fn rfc9113_8_1_request_trailers_before_body_end() {
    // trailers end the stream; later DATA is on a half-closed stream
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, POST, false);
    p.send_headers(1, &[("x", "y")], true);
    p.events();
    p.send_data(1, b"late", false);
    p.expect_rst(1, ErrorCode::StreamClosed);
}

#[test]
fn rfc9113_8_1_client_sends_body_and_trailers() {
    let mut p = Peer::client_ready(cfg());
    let id = p
        .conn
        .send_request(
            RequestHead::new(Method::POST, "https://a/up".parse().unwrap()),
            false,
        )
        .unwrap();
    p.conn
        .send_data(id, Bytes::from_static(b"part1"), false)
        .unwrap();
    p.conn
        .send_data(id, Bytes::from_static(b"part2"), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-md5", HeaderValue::from_static("abc"));
    p.conn.send_trailers(id, t).unwrap();
    let f = p.frames();
    assert!(matches!(&f[0], Frame::Headers(h) if !h.end_stream));
    assert_eq!(f[1], data_frame(1, b"part1", false));
    assert_eq!(f[2], data_frame(1, b"part2", false));
    assert!(matches!(&f[3], Frame::Headers(h) if h.end_stream));
    assert!(
        p.conn
            .send_data(id, Bytes::from_static(b"x"), true)
            .is_err()
    );
}

#[test]
fn rfc9113_8_1_response_head_only_once() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.conn
        .send_response(sid(1), ResponseHead::new(StatusCode::OK), false)
        .unwrap();
    assert_eq!(
        p.conn
            .send_response(sid(1), ResponseHead::new(StatusCode::OK), false),
        Err(UserError::InvalidState(sid(1)))
    );
}

/// A field the client sends again by its dynamic-table index is parsed
/// once and then cloned (`FieldCache`): the second and third requests share
/// their values' octets; the first (a literal) does not. A field too long to
/// keep is parsed each time. The messages are the same either way.
#[test]
fn fields_sent_again_by_index_are_parsed_once() {
    let mut p = Peer::server_ready(cfg());
    p.enc.set_index_policy(ropewalk_hpack::IndexPolicy::All);
    let long = "v".repeat(300);
    let mut fields = GET.to_vec();
    fields.push(("x-a", "1"));
    fields.push(("x-long", long.as_str()));
    let mut heads = Vec::new();
    for i in 0..3 {
        p.send_headers(1 + 2 * i, &fields, true);
        let head = p
            .events()
            .into_iter()
            .find_map(|e| match e {
                Event::Request { head, .. } => Some(head),
                _ => None,
            })
            .expect("a request");
        heads.push(head);
    }
    let value = |h: &RequestHead, n: &str| h.headers[n].as_bytes().as_ptr();
    let authority = |h: &RequestHead| h.authority.as_ref().unwrap().as_str().as_ptr();
    assert_ne!(value(&heads[0], "x-a"), value(&heads[1], "x-a"));
    assert_eq!(value(&heads[1], "x-a"), value(&heads[2], "x-a"));
    assert_ne!(authority(&heads[0]), authority(&heads[1]));
    assert_eq!(authority(&heads[1]), authority(&heads[2]));
    assert_ne!(value(&heads[1], "x-long"), value(&heads[2], "x-long"));
    assert_eq!(heads[0], heads[1]);
    assert_eq!(heads[1], heads[2]);
}

/// A response head is encoded straight from its map: its fields are still
/// checked (RFC 9113 §8.2.2), every value of a repeated name goes out in
/// order, and sensitive values are never indexed (RFC 7541 §7.1.3).
#[test]
fn response_heads_are_checked_and_sent_whole() {
    let mut p = Peer::server_ready(cfg());
    p.send_headers(1, GET, true);
    p.events();
    let mut head = ResponseHead::new(StatusCode::OK);
    head.headers
        .insert("connection", HeaderValue::from_static("keep-alive"));
    assert!(matches!(
        p.conn.send_response(sid(1), head, true),
        Err(UserError::Malformed(_))
    ));
    p.expect_nothing();
    let mut head = ResponseHead::new(StatusCode::NOT_FOUND);
    head.headers
        .append("set-cookie", HeaderValue::from_static("a=1"));
    head.headers.insert("x-b", HeaderValue::from_static("2"));
    head.headers
        .append("set-cookie", HeaderValue::from_static("c=3"));
    let mut secret = HeaderValue::from_static("s");
    secret.set_sensitive(true);
    head.headers.insert("x-secret", secret);
    p.conn.send_response(sid(1), head, true).unwrap();
    let f = p.frames();
    let b = f[0].clone().headers_block();
    let mut got = Vec::new();
    p.dec
        .decode(&b, |f| {
            got.push((
                String::from_utf8(f.name.to_vec()).unwrap(),
                String::from_utf8(f.value.to_vec()).unwrap(),
                f.never_indexed,
            ))
        })
        .unwrap();
    let want = [
        (":status", "404", false),
        ("set-cookie", "a=1", false),
        ("set-cookie", "c=3", false),
        ("x-b", "2", false),
        ("x-secret", "s", true),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(n, v, s)| (n.to_string(), v.to_string(), *s))
        .collect();
    assert_eq!(got, want);
}

/// A `:path` sent as a literal again and again (nghttp2 never indexes it) is
/// parsed once and then reused: every request still gets its own path, and
/// an invalid one is refused every time it comes (RFC 9113 §8.3.1).
#[test]
fn literal_paths_repeated_and_changed() {
    let mut p = Peer::server_ready(cfg());
    let mut id = 1;
    for path in ["/a", "/a", "/a?q=1", "/a?q=1", "/a?q=1", "/b", "/a?q=1"] {
        p.send_headers(
            id,
            &[(":method", "GET"), (":scheme", "https"), (":path", path)],
            true,
        );
        let ev = p.events();
        let Some(Event::Request { head, .. }) = ev.first() else {
            panic!("{ev:?}")
        };
        assert_eq!(head.path.as_ref().map(|p| p.as_str()), Some(path));
        id += 2;
    }
    for _ in 0..3 {
        p.send_headers(
            id,
            &[(":method", "GET"), (":scheme", "https"), (":path", "/a b")],
            true,
        );
        p.expect_rst(id, ErrorCode::ProtocolError);
        assert!(p.events().is_empty(), "malformed request is not delivered");
        id += 2;
    }
    // A path kept parsed, then sent after a regular field: refused
    // (RFC 9113 §8.3), as it would be parsed anew.
    for path in ["/c", "/c"] {
        p.send_headers(
            id,
            &[(":method", "GET"), (":scheme", "https"), (":path", path)],
            true,
        );
        assert_eq!(p.events().len(), 1);
        id += 2;
    }
    p.send_headers(
        id,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            ("x", "1"),
            (":path", "/c"),
        ],
        true,
    );
    p.expect_rst(id, ErrorCode::ProtocolError);
    assert!(p.events().is_empty(), "malformed request is not delivered");
}
