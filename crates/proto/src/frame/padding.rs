//! Padding shared by DATA, HEADERS and PUSH_PROMISE (RFC 9113 §6.1, §6.2,
//! §6.6).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::conn_protocol;
use super::{FrameError, FrameHead, flags};

/// Enough zero octets for the largest padding (255).
pub(crate) static ZEROS: [u8; 255] = [0; 255];

/// Removes the Pad Length field and the trailing padding from a frame
/// payload.
///
/// `fixed` is the number of mandatory octets that must follow the Pad
/// Length field (e.g. 5 for a HEADERS frame with the PRIORITY flag);
/// `too_short` is returned when the payload cannot hold them.
pub(crate) fn strip(
    head: &FrameHead,
    mut payload: Bytes,
    fixed: usize,
    too_short: FrameError,
) -> Result<(Bytes, Option<u8>), FrameError> {
    if !head.has_flag(flags::PADDED) {
        if payload.len() < fixed {
            return Err(too_short);
        }
        return Ok((payload, None));
    }
    // RFC 9113 §4.2: too small to contain mandatory frame data.
    if payload.len() < 1 + fixed {
        return Err(too_short);
    }
    let pad_len = payload[0];
    // RFC 9113 §6.1, §6.2, §6.6: "If the length of the padding is the length
    // of the frame payload or greater, the recipient MUST treat this as a
    // connection error of type PROTOCOL_ERROR." Padding may not overlap the
    // mandatory fields either.
    if 1 + fixed + usize::from(pad_len) > payload.len() {
        return Err(conn_protocol("padding length exceeds frame payload"));
    }
    let end = payload.len() - usize::from(pad_len);
    payload.truncate(end);
    Ok((payload.slice(1..), Some(pad_len)))
}

/// Wire overhead of padding: the Pad Length octet plus the padding itself.
pub(crate) fn overhead(pad_len: Option<u8>) -> usize {
    pad_len.map_or(0, |p| 1 + usize::from(p))
}

/// Appends `pad_len` zero octets.
pub(crate) fn put_zeros(dst: &mut BytesMut, pad_len: Option<u8>) {
    if let Some(p) = pad_len {
        dst.put_slice(&ZEROS[..usize::from(p)]);
    }
}
