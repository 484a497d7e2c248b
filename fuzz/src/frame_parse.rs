//! `frame_parse`: arbitrary bytes fed to one frame [`Parser`] in arbitrary chunk sizes, with a
//! re-encode oracle.
//!
//! # Input format
//!
//! ```text
//! byte 0        config: bits 0-1 SETTINGS_MAX_FRAME_SIZE (index into MAX_FRAME_SIZES)
//! byte 1        n = byte & 15: how many chunk-size bytes follow (0: all bytes in one chunk)
//! n bytes       chunk sizes, used in turn and cycled; 0 means "everything left"
//! rest          the bytes a peer sent (frames; no connection preface)
//! ```
//!
//! `fuzz/seeds.sh` writes frame sequences in this format.
//!
//! # Oracle
//!
//! * `parse` never panics, and every call either makes progress or waits for more bytes:
//!   `Ok(None)` that consumed nothing while the buffer holds a whole frame (9 octets plus the
//!   declared length) is a stall, and `Ok(Some(_))` must consume at least a frame header.
//! * Every frame parsed is re-encoded with `Frame::encode` and parsed by a second parser that
//!   sees exactly the re-encoded frames in order: it must give back an equal frame, consuming
//!   exactly the re-encoded bytes.
//! * After a connection error the input ends (HTTP/2 would send GOAWAY and close). After a
//!   stream error parsing goes on if the parser consumed the frame, and stops otherwise.

use bytes::BytesMut;
use ropewalk_proto::frame::{Frame, Parser};

/// SETTINGS_MAX_FRAME_SIZE values the input can choose (RFC 9113 §6.5.2 range ends included).
const MAX_FRAME_SIZES: [u32; 4] = [16_384, 16_385, 65_535, 16_777_215];
/// The frame header length (RFC 9113 §4.1).
const HEAD_LEN: usize = 9;

fn new_parser(max_frame_size: u32) -> Parser {
    let mut p = Parser::new();
    p.set_max_frame_size(max_frame_size);
    p
}

/// Whether `buf` holds at least one whole frame (header and declared payload).
fn holds_whole_frame(buf: &[u8]) -> bool {
    match buf {
        [a, b, c, ..] if buf.len() >= HEAD_LEN => {
            let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
            buf.len() >= HEAD_LEN + len
        }
        _ => false,
    }
}

/// Re-encodes `frame` and checks that `mirror` parses it back unchanged.
fn check_round_trip(mirror: &mut Parser, frame: &Frame, out: &mut BytesMut) {
    out.clear();
    frame.encode(out);
    let encoded = out.to_vec();
    match mirror.parse(out) {
        Ok(Some(again)) => {
            assert_eq!(
                &again, frame,
                "re-parsed frame differs; re-encoded as {encoded:02x?}"
            );
            assert!(
                out.is_empty(),
                "{} re-encoded bytes left over: {encoded:02x?}",
                out.len()
            );
        }
        other => panic!("re-encoded {frame:?} as {encoded:02x?}, which parses as {other:?}"),
    }
}

/// The whole target.
pub fn run(data: &[u8]) {
    let [config, n, rest @ ..] = data else {
        return;
    };
    let max_frame_size = MAX_FRAME_SIZES[usize::from(config & 3)];
    let n = usize::from(n & 15).min(rest.len());
    let (chunks, wire) = rest.split_at(n);
    let mut chunk_sizes = chunks.iter().cycle();

    let mut parser = new_parser(max_frame_size);
    let mut mirror = new_parser(max_frame_size);
    let mut buf = BytesMut::new();
    let mut out = BytesMut::new();
    let mut fed = 0;
    loop {
        // Feed the next chunk.
        let take = match chunk_sizes.next() {
            None | Some(0) => wire.len() - fed,
            Some(&c) => usize::from(c).min(wire.len() - fed),
        };
        buf.extend_from_slice(&wire[fed..fed + take]);
        fed += take;

        // Parse all that can be parsed.
        loop {
            let before = buf.len();
            match parser.parse(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(
                        buf.len() + HEAD_LEN <= before,
                        "a frame came out of {} bytes: {frame:?}",
                        before - buf.len()
                    );
                    check_round_trip(&mut mirror, &frame, &mut out);
                }
                Ok(None) if buf.len() < before => {}
                Ok(None) => {
                    assert!(
                        !holds_whole_frame(&buf),
                        "parser waits for more bytes but holds a whole frame: {:02x?}",
                        &buf[..HEAD_LEN]
                    );
                    break;
                }
                Err(e) if e.is_connection_error() || buf.len() == before => return,
                Err(_) => {}
            }
        }
        if fed == wire.len() {
            return;
        }
    }
}
