//! HTTP/2 frames (RFC 9113 §4, §6) and the extension frames ALTSVC
//! (RFC 7838), ORIGIN (RFC 8336) and PRIORITY_UPDATE (RFC 9218).
//!
//! * [`Parser`] decodes frames incrementally from a receive buffer.
//! * [`Frame`] is one decoded frame; each variant wraps a struct with the
//!   frame's fields and flags, an `encode` method and constructors.
//! * [`FrameError`] reports an invalid frame with the error code and scope
//!   RFC 9113 requires.
//!
//! Everything here is stateless with respect to streams: whether a frame is
//! allowed in a stream's current state, flow-control accounting, and HPACK
//! decoding of field blocks are left to the connection layer.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use ropewalk_proto::frame::{Frame, Parser, Settings, StreamId, WindowUpdate, PREFACE};
//!
//! // A client's first flight: preface, SETTINGS, WINDOW_UPDATE.
//! let mut wire = BytesMut::from(&PREFACE[..]);
//! Settings::default().encode(&mut wire);
//! WindowUpdate::new(StreamId::ZERO, 1 << 20).encode(&mut wire);
//!
//! assert!(wire.starts_with(PREFACE));
//! let _ = wire.split_to(PREFACE.len());
//! let mut parser = Parser::new();
//! let mut frames = Vec::new();
//! while let Some(frame) = parser.parse(&mut wire).unwrap() {
//!     frames.push(frame);
//! }
//! assert!(matches!(frames[0], Frame::Settings(_)));
//! assert_eq!(frames[1], Frame::WindowUpdate(WindowUpdate::new(StreamId::ZERO, 1 << 20)));
//! ```

use bytes::BytesMut;

mod altsvc;
mod continuation;
mod data;
mod error;
pub mod flags;
mod go_away;
mod head;
mod headers;
pub mod kind;
mod origin;
mod padding;
mod parser;
mod ping;
mod priority;
mod priority_update;
mod push_promise;
mod rst_stream;
mod settings;
mod stream_id;
mod unknown;
mod window_update;

pub use self::altsvc::AltSvc;
pub use self::continuation::Continuation;
pub use self::data::Data;
pub use self::error::{ErrorScope, FrameError};
pub use self::go_away::GoAway;
pub use self::head::{FrameHead, parse_head};
pub use self::headers::Headers;
pub use self::origin::Origin;
pub use self::parser::Parser;
pub use self::ping::Ping;
pub use self::priority::{Priority, StreamDependency};
pub use self::priority_update::PriorityUpdate;
pub use self::push_promise::PushPromise;
pub use self::rst_stream::RstStream;
pub use self::settings::Settings;
pub use self::stream_id::StreamId;
pub use self::unknown::Unknown;
pub use self::window_update::WindowUpdate;
pub use crate::error::ErrorCode;

/// The client connection preface (RFC 9113 §3.4), sent before the client's
/// first SETTINGS frame.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Any HTTP/2 frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// DATA (0x0).
    Data(Data),
    /// HEADERS (0x1).
    Headers(Headers),
    /// PRIORITY (0x2).
    Priority(Priority),
    /// RST_STREAM (0x3).
    RstStream(RstStream),
    /// SETTINGS (0x4).
    Settings(Settings),
    /// PUSH_PROMISE (0x5).
    PushPromise(PushPromise),
    /// PING (0x6).
    Ping(Ping),
    /// GOAWAY (0x7).
    GoAway(GoAway),
    /// WINDOW_UPDATE (0x8).
    WindowUpdate(WindowUpdate),
    /// CONTINUATION (0x9).
    Continuation(Continuation),
    /// ALTSVC (0xa, RFC 7838).
    AltSvc(AltSvc),
    /// ORIGIN (0xc, RFC 8336).
    Origin(Origin),
    /// PRIORITY_UPDATE (0x10, RFC 9218).
    PriorityUpdate(PriorityUpdate),
    /// A frame to ignore: unknown type, or an extension frame its RFC says
    /// to ignore.
    Unknown(Unknown),
}

macro_rules! frame_dispatch {
    ($self:ident, $f:ident => $e:expr) => {
        match $self {
            Frame::Data($f) => $e,
            Frame::Headers($f) => $e,
            Frame::Priority($f) => $e,
            Frame::RstStream($f) => $e,
            Frame::Settings($f) => $e,
            Frame::PushPromise($f) => $e,
            Frame::Ping($f) => $e,
            Frame::GoAway($f) => $e,
            Frame::WindowUpdate($f) => $e,
            Frame::Continuation($f) => $e,
            Frame::AltSvc($f) => $e,
            Frame::Origin($f) => $e,
            Frame::PriorityUpdate($f) => $e,
            Frame::Unknown($f) => $e,
        }
    };
}

impl Frame {
    /// The stream identifier in the frame header.
    pub fn stream_id(&self) -> StreamId {
        frame_dispatch!(self, f => f.stream_id())
    }

    /// The frame type code (see [`kind`]).
    pub fn kind(&self) -> u8 {
        match self {
            Frame::Data(_) => kind::DATA,
            Frame::Headers(_) => kind::HEADERS,
            Frame::Priority(_) => kind::PRIORITY,
            Frame::RstStream(_) => kind::RST_STREAM,
            Frame::Settings(_) => kind::SETTINGS,
            Frame::PushPromise(_) => kind::PUSH_PROMISE,
            Frame::Ping(_) => kind::PING,
            Frame::GoAway(_) => kind::GOAWAY,
            Frame::WindowUpdate(_) => kind::WINDOW_UPDATE,
            Frame::Continuation(_) => kind::CONTINUATION,
            Frame::AltSvc(_) => kind::ALTSVC,
            Frame::Origin(_) => kind::ORIGIN,
            Frame::PriorityUpdate(_) => kind::PRIORITY_UPDATE,
            Frame::Unknown(u) => u.kind,
        }
    }

    /// Appends the frame to `dst` (HEADERS and PUSH_PROMISE as single
    /// frames; use their `encode_split` to respect a maximum frame size).
    pub fn encode(&self, dst: &mut BytesMut) {
        frame_dispatch!(self, f => f.encode(dst))
    }
}

macro_rules! from_frame {
    ($($ty:ident),*) => {$(
        impl From<$ty> for Frame {
            fn from(frame: $ty) -> Frame {
                Frame::$ty(frame)
            }
        }
    )*};
}

from_frame!(
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    AltSvc,
    Origin,
    PriorityUpdate,
    Unknown
);
