//! Starting HTTP/2 from an HTTP/1.1 `Upgrade: h2c` request (RFC 7540 §3.2;
//! RFC 9113 §3.1 deprecates it, but `curl --http2 http://…` still uses it).
//!
//! The request sent in HTTP/1.1 becomes stream 1, "half-closed (remote)"
//! for the server and "half-closed (local)" for the client (RFC 7540 §3.2):
//! its body, if any, was sent in HTTP/1.1 framing, outside HTTP/2 flow
//! control. The client's `HTTP2-Settings` header carries a SETTINGS payload
//! that the server applies as if it had arrived in a frame, without an ACK
//! (RFC 7540 §3.2.1: the 101 response acknowledges it). Both sides still
//! send their connection preface afterwards (RFC 7540 §3.5).

use std::fmt;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::recv::Res;
use super::{Config, Connection, Event};
use crate::frame::{FrameHead, Settings, StreamId, kind};
use crate::headers::{BlockBuilder, BlockKind, Message, RequestHead};
use crate::stream::State;
use crate::stream::store::{RecvPhase, Stream};

/// Why an `Upgrade: h2c` request cannot start an HTTP/2 connection; the
/// HTTP/1.1 side answers it (400, or 431 for [`UpgradeError::TooLarge`])
/// instead of switching protocols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpgradeError {
    /// The `HTTP2-Settings` payload is not a valid SETTINGS payload (RFC
    /// 7540 §3.2.1), or one of its values is out of range (RFC 9113 §6.5.2).
    Settings(String),
    /// The request breaks HTTP/2's field rules (RFC 9113 §8.2–§8.3).
    Malformed(&'static str),
    /// The request's field section is over our SETTINGS_MAX_HEADER_LIST_SIZE
    /// or field-count limit.
    TooLarge,
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::Settings(why) => write!(f, "invalid HTTP2-Settings: {why}"),
            UpgradeError::Malformed(why) => write!(f, "malformed request: {why}"),
            UpgradeError::TooLarge => f.write_str("request header fields too large"),
        }
    }
}

impl std::error::Error for UpgradeError {}

/// The stream an upgraded request becomes (RFC 7540 §3.2).
pub const UPGRADE_STREAM: StreamId = StreamId::new(1);

impl Connection {
    /// The SETTINGS payload a client puts, base64url-encoded, in the
    /// `HTTP2-Settings` header of its upgrade request (RFC 7540 §3.2.1):
    /// the same values as the SETTINGS frame of its preface.
    pub fn upgrade_settings_payload(config: Config, now: Instant) -> Bytes {
        let conn = Connection::client(config, now);
        let mut frame = BytesMut::new();
        conn.initial_settings().encode(&mut frame);
        frame.split_off(FrameHead::LEN).freeze()
    }

    /// A server connection taking over after an `Upgrade: h2c` request.
    ///
    /// `http2_settings` is the decoded (base64url) `HTTP2-Settings` value;
    /// `fields` are the request's fields as HTTP/2 would carry them
    /// (`:method`, `:scheme`, `:authority`, `:path`, then the headers in
    /// lowercase without connection-specific ones), checked by the same
    /// rules as a HEADERS block. The request arrives as
    /// [`Event::Request`] on stream 1 with `end_stream: true`: whatever body
    /// it had came in HTTP/1.1 framing, which the caller delivers itself.
    /// Our SETTINGS are queued first; the 101 response must be written
    /// before them.
    pub fn server_upgrade<'a>(
        config: Config,
        now: Instant,
        http2_settings: &[u8],
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<Connection, UpgradeError> {
        let mut conn = Connection::server(config, now);
        // RFC 7540 §3.2.1: decoded and interpreted as a SETTINGS frame's
        // payload, acknowledged by the 101 (no SETTINGS ACK is sent).
        let head = FrameHead {
            length: http2_settings.len() as u32,
            kind: kind::SETTINGS,
            flags: 0,
            stream_id: StreamId::ZERO,
        };
        let settings = Settings::decode(&head, Bytes::copy_from_slice(http2_settings))
            .map_err(|e| UpgradeError::Settings(e.reason.to_owned()))?;
        if settings.entry_count() > conn.config.limits.max_settings_entries {
            return Err(UpgradeError::Settings("too many entries".to_owned()));
        }
        conn.apply_upgrade_settings(&settings)
            .map_err(|e| UpgradeError::Settings(e.why().to_owned()))?;

        let max_list = conn.config.max_header_list_size as usize;
        let max_fields = conn.config.limits.max_header_fields;
        let mut builder = BlockBuilder::new(BlockKind::Request, false);
        let (mut size, mut count) = (0usize, 0usize);
        for (name, value) in fields {
            // RFC 9113 §6.5.2: name + value + 32 per field.
            size = size.saturating_add(name.len() + value.len() + 32);
            count += 1;
            if size > max_list || count > max_fields {
                return Err(UpgradeError::TooLarge);
            }
            builder.field(name, value, false);
        }
        let head: RequestHead = match builder.finish() {
            Ok(Message::Request(head)) => head,
            Ok(_) => return Err(UpgradeError::Malformed("not a request")),
            Err(m) => return Err(UpgradeError::Malformed(m.0)),
        };

        let id = UPGRADE_STREAM;
        conn.last_peer_id = id;
        conn.last_processed = id;
        let mut s = Stream::new(id, conn.peer.initial_window, conn.recv_initial);
        s.state = State::HalfClosedRemote;
        s.recv_phase = RecvPhase::Body;
        s.priority = head
            .headers
            .get_all("priority")
            .iter()
            .fold(crate::priority::Priority::default(), |p, v| {
                p.merged(v.as_bytes())
            });
        conn.streams.insert(s);
        conn.events.push_back(Event::Request {
            stream: id,
            head,
            end_stream: true,
        });
        Ok(conn)
    }

    /// A client connection after the server answered our `Upgrade: h2c`
    /// request `head` with 101: the request is stream 1, half-closed
    /// (local), awaiting its response. Our preface and SETTINGS are queued;
    /// new requests get ids from 3 on.
    pub fn client_upgraded(config: Config, now: Instant, head: &RequestHead) -> Connection {
        let mut conn = Connection::client(config, now);
        let id = UPGRADE_STREAM;
        let mut s = Stream::new(id, conn.peer.initial_window, conn.recv_initial);
        s.recv_window.set_target(conn.stream_target);
        s.state = State::HalfClosedLocal;
        s.sent_head = true;
        s.head_request = head.method == http::Method::HEAD;
        conn.streams.insert(s);
        conn.next_local_id = Some(StreamId::new(3));
        // Announced in HTTP/1.1.
        conn.local_announced = Some(id);
        conn
    }

    /// (Server) the upgraded request's HTTP/1.1 body has been read in full.
    /// The client could not acknowledge our SETTINGS before sending it and
    /// its preface (RFC 7540 §3.2, §3.5), so the SETTINGS acknowledgement
    /// timeout (RFC 9113 §6.5.3) counts from `now`.
    pub fn upgrade_body_done(&mut self, now: Instant) {
        for (_, sent) in &mut self.pending_settings {
            *sent = now;
        }
    }

    /// The upgrade's settings, applied as a peer SETTINGS frame would be,
    /// minus the ACK.
    fn apply_upgrade_settings(&mut self, s: &Settings) -> Res {
        self.apply_peer(s)
    }
}
