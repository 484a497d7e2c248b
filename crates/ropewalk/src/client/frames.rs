//! A frame log for debugging (what `ropewalk get -v` prints): the frame
//! headers of what is sent and received, read from the octets on the wire,
//! with the fields of small control frames.

use std::fmt;
use std::sync::Arc;

use ropewalk_proto::error::ErrorCode;

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// We sent it.
    Sent,
    /// The server sent it.
    Received,
}

/// One frame seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Sent or received.
    pub direction: Direction,
    /// The frame type (RFC 9113 §6).
    pub kind: u8,
    /// The flags.
    pub flags: u8,
    /// The stream identifier.
    pub stream_id: u32,
    /// The payload length.
    pub length: u32,
    /// The payload of a control frame (SETTINGS, PING, GOAWAY,
    /// RST_STREAM, WINDOW_UPDATE), at most 64 octets; empty otherwise.
    pub payload: Vec<u8>,
}

/// The name of frame type `kind`.
pub fn frame_name(kind: u8) -> &'static str {
    match kind {
        0x0 => "DATA",
        0x1 => "HEADERS",
        0x2 => "PRIORITY",
        0x3 => "RST_STREAM",
        0x4 => "SETTINGS",
        0x5 => "PUSH_PROMISE",
        0x6 => "PING",
        0x7 => "GOAWAY",
        0x8 => "WINDOW_UPDATE",
        0x9 => "CONTINUATION",
        0xa => "ALTSVC",
        0xc => "ORIGIN",
        0x10 => "PRIORITY_UPDATE",
        _ => "UNKNOWN",
    }
}

fn setting_name(id: u16) -> String {
    match id {
        1 => "SETTINGS_HEADER_TABLE_SIZE".into(),
        2 => "SETTINGS_ENABLE_PUSH".into(),
        3 => "SETTINGS_MAX_CONCURRENT_STREAMS".into(),
        4 => "SETTINGS_INITIAL_WINDOW_SIZE".into(),
        5 => "SETTINGS_MAX_FRAME_SIZE".into(),
        6 => "SETTINGS_MAX_HEADER_LIST_SIZE".into(),
        8 => "SETTINGS_ENABLE_CONNECT_PROTOCOL".into(),
        9 => "SETTINGS_NO_RFC7540_PRIORITIES".into(),
        n => format!("SETTINGS_0x{n:02x}"),
    }
}

fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl fmt::Display for FrameInfo {
    /// In the style of `nghttp -v`:
    /// `send SETTINGS frame <length=12, flags=0x00, stream_id=0>` followed
    /// by the fields of control frames, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = match self.direction {
            Direction::Sent => "send",
            Direction::Received => "recv",
        };
        write!(
            f,
            "{dir} {} frame <length={}, flags=0x{:02x}, stream_id={}>",
            frame_name(self.kind),
            self.length,
            self.flags,
            self.stream_id
        )?;
        let p = &self.payload;
        match self.kind {
            0x4 if self.flags & 0x1 != 0 => write!(f, "\n          ; ACK")?,
            0x4 => {
                write!(f, "\n          (niv={})", self.length / 6)?;
                for e in p.chunks_exact(6) {
                    let id = u16::from_be_bytes([e[0], e[1]]);
                    let v = u32::from_be_bytes([e[2], e[3], e[4], e[5]]);
                    write!(f, "\n          [{}({id}):{v}]", setting_name(id))?;
                }
            }
            0x3 => {
                if let Some(c) = u32_at(p, 0) {
                    write!(f, "\n          (error_code={})", ErrorCode::from(c))?;
                }
            }
            0x7 => {
                if let (Some(last), Some(c)) = (u32_at(p, 0), u32_at(p, 4)) {
                    write!(
                        f,
                        "\n          (last_stream_id={}, error_code={}, opaque_data={:?})",
                        last & 0x7fff_ffff,
                        ErrorCode::from(c),
                        String::from_utf8_lossy(&p[8..])
                    )?;
                }
            }
            0x8 => {
                if let Some(n) = u32_at(p, 0) {
                    write!(f, "\n          (window_size_increment={})", n & 0x7fff_ffff)?;
                }
            }
            0x6 if self.flags & 0x1 != 0 => write!(f, "\n          ; ACK")?,
            0x0 | 0x1 if self.flags & 0x1 != 0 => write!(f, "\n          ; END_STREAM")?,
            _ => {}
        }
        Ok(())
    }
}

/// Where frame records go: a callback shared by every connection of a
/// client (see [`ClientBuilder::frame_log`](super::ClientBuilder::frame_log)).
#[derive(Clone)]
pub struct FrameLog(Arc<dyn Fn(&FrameInfo) + Send + Sync>);

impl FrameLog {
    /// Logs each frame with `f`.
    pub fn new(f: impl Fn(&FrameInfo) + Send + Sync + 'static) -> FrameLog {
        FrameLog(Arc::new(f))
    }

    fn log(&self, info: &FrameInfo) {
        (self.0)(info)
    }
}

impl fmt::Debug for FrameLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FrameLog(..)")
    }
}

const KEEP: usize = 64;

/// Splits one direction's octet stream into frames, incrementally.
pub(crate) struct FrameScan {
    direction: Direction,
    /// Octets of the connection preface still to skip (sent side).
    preface_left: usize,
    head: [u8; 9],
    head_len: usize,
    current: Option<(FrameInfo, usize)>,
}

impl FrameScan {
    pub(crate) fn new(direction: Direction, preface: bool) -> FrameScan {
        FrameScan {
            direction,
            preface_left: if preface {
                ropewalk_proto::frame::PREFACE.len()
            } else {
                0
            },
            head: [0; 9],
            head_len: 0,
            current: None,
        }
    }

    pub(crate) fn scan(&mut self, mut buf: &[u8], log: &FrameLog) {
        while !buf.is_empty() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(buf.len());
                self.preface_left -= n;
                buf = &buf[n..];
                continue;
            }
            if let Some((info, left)) = self.current.as_mut() {
                let n = (*left).min(buf.len());
                if info.kind != 0x0 && info.kind != 0x1 && info.kind != 0x9 {
                    let keep = KEEP.saturating_sub(info.payload.len()).min(n);
                    info.payload.extend_from_slice(&buf[..keep]);
                }
                *left -= n;
                buf = &buf[n..];
                if *left == 0 {
                    if let Some((info, _)) = self.current.take() {
                        log.log(&info);
                    }
                }
                continue;
            }
            let n = (9 - self.head_len).min(buf.len());
            self.head[self.head_len..self.head_len + n].copy_from_slice(&buf[..n]);
            self.head_len += n;
            buf = &buf[n..];
            if self.head_len == 9 {
                self.head_len = 0;
                let h = &self.head;
                let length = u32::from_be_bytes([0, h[0], h[1], h[2]]);
                let info = FrameInfo {
                    direction: self.direction,
                    kind: h[3],
                    flags: h[4],
                    stream_id: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
                    length,
                    payload: Vec::new(),
                };
                if length == 0 {
                    log.log(&info);
                } else {
                    self.current = Some((info, length as usize));
                }
            }
        }
    }
}
