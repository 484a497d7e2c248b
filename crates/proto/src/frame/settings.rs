//! SETTINGS frames (RFC 9113 §6.5) and the extension parameters of
//! RFC 8441 and RFC 9218.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{conn_frame_size, conn_protocol};
use super::{FrameError, FrameHead, StreamId, flags, kind};
use crate::error::ErrorCode;

/// A SETTINGS frame (type 0x4, RFC 9113 §6.5). Always on stream 0.
///
/// Each known parameter is an `Option`: `None` means the frame did not
/// carry it. If a parameter appears several times the last value wins,
/// which is equivalent to processing them in order (RFC 9113 §6.5.3).
/// Unknown identifiers are ignored (RFC 9113 §6.5.2) but counted in
/// [`Settings::entry_count`] so the caller can bound per-frame work.
///
/// Values are validated on receipt (RFC 9113 §6.5.2, RFC 8441 §3,
/// RFC 9218 §2.1).
///
/// ```
/// use bytes::BytesMut;
/// use ropewalk_proto::frame::{Frame, Parser, Settings};
///
/// let mut settings = Settings::default();
/// settings.set_enable_push(Some(false));
/// settings.set_initial_window_size(Some(1 << 20));
/// settings.set_max_concurrent_streams(Some(100));
///
/// let mut wire = BytesMut::new();
/// settings.encode(&mut wire);
/// let Some(Frame::Settings(got)) = Parser::new().parse(&mut wire).unwrap() else { panic!() };
/// assert_eq!(got, settings);
/// assert_eq!(got.initial_window_size(), Some(1 << 20));
/// assert_eq!(got.header_table_size(), None);
/// assert_eq!(got.entry_count(), 3);
///
/// assert!(Settings::ack().is_ack());
/// ```
#[derive(Clone, Debug, Default, Eq)]
pub struct Settings {
    ack: bool,
    header_table_size: Option<u32>,
    enable_push: Option<bool>,
    max_concurrent_streams: Option<u32>,
    initial_window_size: Option<u32>,
    max_frame_size: Option<u32>,
    max_header_list_size: Option<u32>,
    enable_connect_protocol: Option<bool>,
    no_rfc7540_priorities: Option<bool>,
    entry_count: usize,
}

/// Compares the ACK flag and the typed parameters; [`Settings::entry_count`]
/// (a property of the received encoding) is ignored.
impl PartialEq for Settings {
    fn eq(&self, other: &Settings) -> bool {
        self.ack == other.ack
            && self.header_table_size == other.header_table_size
            && self.enable_push == other.enable_push
            && self.max_concurrent_streams == other.max_concurrent_streams
            && self.initial_window_size == other.initial_window_size
            && self.max_frame_size == other.max_frame_size
            && self.max_header_list_size == other.max_header_list_size
            && self.enable_connect_protocol == other.enable_connect_protocol
            && self.no_rfc7540_priorities == other.no_rfc7540_priorities
    }
}

macro_rules! accessors {
    ($($(#[$doc:meta])* $field:ident, $setter:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $field(&self) -> Option<$ty> {
            self.$field
        }

        #[doc = concat!("Sets or removes the `", stringify!($field), "` parameter.")]
        pub fn $setter(&mut self, value: Option<$ty>) {
            self.$field = value;
        }
    )*};
}

impl Settings {
    /// SETTINGS_HEADER_TABLE_SIZE identifier.
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    /// SETTINGS_ENABLE_PUSH identifier.
    pub const ENABLE_PUSH: u16 = 0x2;
    /// SETTINGS_MAX_CONCURRENT_STREAMS identifier.
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    /// SETTINGS_INITIAL_WINDOW_SIZE identifier.
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    /// SETTINGS_MAX_FRAME_SIZE identifier.
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    /// SETTINGS_MAX_HEADER_LIST_SIZE identifier.
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL identifier (RFC 8441 §3).
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
    /// SETTINGS_NO_RFC7540_PRIORITIES identifier (RFC 9218 §2.1).
    pub const NO_RFC7540_PRIORITIES: u16 = 0x9;

    /// Largest legal SETTINGS_INITIAL_WINDOW_SIZE, 2^31-1.
    pub const MAX_INITIAL_WINDOW_SIZE: u32 = 0x7fff_ffff;
    /// Default and smallest legal SETTINGS_MAX_FRAME_SIZE, 2^14.
    pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
    /// Largest legal SETTINGS_MAX_FRAME_SIZE, 2^24-1.
    pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

    const ENTRY_LEN: usize = 6;

    /// A SETTINGS frame with the ACK flag (and, necessarily, no
    /// parameters).
    pub fn ack() -> Settings {
        Settings {
            ack: true,
            ..Settings::default()
        }
    }

    /// `true` if the ACK flag is set.
    pub fn is_ack(&self) -> bool {
        self.ack
    }

    /// Always stream 0.
    pub fn stream_id(&self) -> StreamId {
        StreamId::ZERO
    }

    /// Number of 6-octet parameter entries in the received frame, including
    /// unknown identifiers and repeats. For a locally built frame: the
    /// number of parameters that are set.
    pub fn entry_count(&self) -> usize {
        if self.entry_count != 0 {
            return self.entry_count;
        }
        self.entries().filter(|(_, v)| v.is_some()).count()
    }

    accessors! {
        /// SETTINGS_HEADER_TABLE_SIZE (0x1): HPACK dynamic table limit.
        header_table_size, set_header_table_size: u32;
        /// SETTINGS_ENABLE_PUSH (0x2): whether server push is allowed.
        enable_push, set_enable_push: bool;
        /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
        max_concurrent_streams, set_max_concurrent_streams: u32;
        /// SETTINGS_INITIAL_WINDOW_SIZE (0x4): initial stream window,
        /// at most 2^31-1.
        initial_window_size, set_initial_window_size: u32;
        /// SETTINGS_MAX_FRAME_SIZE (0x5): 16384..=16777215.
        max_frame_size, set_max_frame_size: u32;
        /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6): advisory field section limit.
        max_header_list_size, set_max_header_list_size: u32;
        /// SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8, RFC 8441): extended
        /// CONNECT support.
        enable_connect_protocol, set_enable_connect_protocol: bool;
        /// SETTINGS_NO_RFC7540_PRIORITIES (0x9, RFC 9218): the sender does
        /// not use RFC 7540 priority signals.
        no_rfc7540_priorities, set_no_rfc7540_priorities: bool;
    }

    /// The known parameters in identifier order, as wire values.
    fn entries(&self) -> impl Iterator<Item = (u16, Option<u32>)> {
        [
            (Settings::HEADER_TABLE_SIZE, self.header_table_size),
            (Settings::ENABLE_PUSH, self.enable_push.map(u32::from)),
            (
                Settings::MAX_CONCURRENT_STREAMS,
                self.max_concurrent_streams,
            ),
            (Settings::INITIAL_WINDOW_SIZE, self.initial_window_size),
            (Settings::MAX_FRAME_SIZE, self.max_frame_size),
            (Settings::MAX_HEADER_LIST_SIZE, self.max_header_list_size),
            (
                Settings::ENABLE_CONNECT_PROTOCOL,
                self.enable_connect_protocol.map(u32::from),
            ),
            (
                Settings::NO_RFC7540_PRIORITIES,
                self.no_rfc7540_priorities.map(u32::from),
            ),
        ]
        .into_iter()
    }

    /// Appends the frame to `dst`: every parameter that is set, in
    /// identifier order (none if this is an ACK).
    pub fn encode(&self, dst: &mut BytesMut) {
        if self.ack {
            FrameHead::new_out(kind::SETTINGS, flags::ACK, StreamId::ZERO, 0).encode(dst);
            return;
        }
        let set = || self.entries().filter_map(|(id, v)| Some((id, v?)));
        let len = set().count() * Settings::ENTRY_LEN;
        dst.reserve(FrameHead::LEN + len);
        FrameHead::new_out(kind::SETTINGS, 0, StreamId::ZERO, len).encode(dst);
        for (id, value) in set() {
            dst.put_u16(id);
            dst.put_u32(value);
        }
    }

    pub(crate) fn decode(head: &FrameHead, payload: Bytes) -> Result<Settings, FrameError> {
        // RFC 9113 §6.5: SETTINGS on a non-zero stream is a connection error.
        if !head.stream_id.is_zero() {
            return Err(conn_protocol("SETTINGS frame on a non-zero stream"));
        }
        if head.has_flag(flags::ACK) {
            // RFC 9113 §6.5: an ACK with a payload is a FRAME_SIZE_ERROR.
            if !payload.is_empty() {
                return Err(conn_frame_size("SETTINGS ACK with a payload"));
            }
            return Ok(Settings::ack());
        }
        // RFC 9113 §6.5: the length must be a multiple of 6.
        if payload.len() % Settings::ENTRY_LEN != 0 {
            return Err(conn_frame_size("SETTINGS length is not a multiple of 6"));
        }
        let mut settings = Settings {
            entry_count: payload.len() / Settings::ENTRY_LEN,
            ..Settings::default()
        };
        for entry in payload.chunks_exact(Settings::ENTRY_LEN) {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
            settings.apply(id, value)?;
        }
        Ok(settings)
    }

    fn apply(&mut self, id: u16, value: u32) -> Result<(), FrameError> {
        let flag = |reason| match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(conn_protocol(reason)),
        };
        match id {
            Settings::HEADER_TABLE_SIZE => self.header_table_size = Some(value),
            // RFC 9113 §6.5.2: ENABLE_PUSH other than 0 or 1 is PROTOCOL_ERROR.
            Settings::ENABLE_PUSH => {
                self.enable_push = Some(flag("SETTINGS_ENABLE_PUSH is not 0 or 1")?);
            }
            Settings::MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(value),
            Settings::INITIAL_WINDOW_SIZE => {
                // RFC 9113 §6.5.2: above 2^31-1 is FLOW_CONTROL_ERROR.
                if value > Settings::MAX_INITIAL_WINDOW_SIZE {
                    return Err(FrameError::connection(
                        ErrorCode::FlowControlError,
                        "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                    ));
                }
                self.initial_window_size = Some(value);
            }
            Settings::MAX_FRAME_SIZE => {
                // RFC 9113 §6.5.2: outside 2^14..=2^24-1 is PROTOCOL_ERROR.
                let range = Settings::DEFAULT_MAX_FRAME_SIZE..=Settings::MAX_MAX_FRAME_SIZE;
                if !range.contains(&value) {
                    return Err(conn_protocol("SETTINGS_MAX_FRAME_SIZE out of range"));
                }
                self.max_frame_size = Some(value);
            }
            Settings::MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(value),
            // RFC 8441 §3: the value MUST be 0 or 1.
            Settings::ENABLE_CONNECT_PROTOCOL => {
                self.enable_connect_protocol =
                    Some(flag("SETTINGS_ENABLE_CONNECT_PROTOCOL is not 0 or 1")?);
            }
            // RFC 9218 §2.1: other values are a PROTOCOL_ERROR.
            Settings::NO_RFC7540_PRIORITIES => {
                self.no_rfc7540_priorities =
                    Some(flag("SETTINGS_NO_RFC7540_PRIORITIES is not 0 or 1")?);
            }
            // RFC 9113 §6.5.2: unknown settings MUST be ignored.
            _ => {}
        }
        Ok(())
    }
}
