//! What the connection reports to the application.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;

use super::Error;
use crate::error::ErrorCode;
use crate::frame::{Frame, Settings, StreamId};
use crate::headers::{RequestHead, ResponseHead};

/// Something that happened on the connection; take them with
/// [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// (Server) a request head arrived on a new stream.
    Request {
        /// The new stream.
        stream: StreamId,
        /// The request head.
        head: RequestHead,
        /// No body follows.
        end_stream: bool,
    },
    /// (Client) the final response head arrived.
    Response {
        /// The request stream (or a pushed stream).
        stream: StreamId,
        /// The response head.
        head: ResponseHead,
        /// No body follows.
        end_stream: bool,
        /// The length of the body that follows, when known: 0 for a
        /// response that has none (to HEAD, 204, 304; RFC 9110 §6.4.1),
        /// whatever its `content-length` says; else that `content-length`,
        /// checked (RFC 9110 §8.6; RFC 9113 §8.1.1: the DATA must add up to
        /// it).
        body_len: Option<u64>,
    },
    /// (Client) an informational (1xx) response arrived.
    Informational {
        /// The request stream.
        stream: StreamId,
        /// The 1xx head.
        head: ResponseHead,
    },
    /// Body data. Release it with
    /// [`Connection::release_capacity`](super::Connection::release_capacity)
    /// once consumed, or the peer stops sending.
    Data {
        /// The stream.
        stream: StreamId,
        /// The payload (padding removed).
        data: Bytes,
        /// This is the last data of the stream.
        end_stream: bool,
    },
    /// Trailers arrived (the stream's receive side is finished).
    Trailers {
        /// The stream.
        stream: StreamId,
        /// The trailer fields.
        trailers: HeaderMap,
    },
    /// A stream was reset (by the peer or by us) or failed.
    Reset {
        /// The failure.
        error: Error,
    },
    /// (Client) the server promised a pushed response (RFC 9113 §8.4).
    PushPromise {
        /// The stream the promise arrived on.
        stream: StreamId,
        /// The reserved stream that will carry the response.
        promised: StreamId,
        /// The promised request.
        head: RequestHead,
    },
    /// The peer's SETTINGS were applied (and acknowledged).
    PeerSettings(Settings),
    /// The peer acknowledged our SETTINGS; they are now in effect.
    SettingsAcknowledged,
    /// Our PING was answered.
    PingAck {
        /// Its payload.
        payload: [u8; 8],
        /// Round-trip time.
        rtt: Duration,
    },
    /// The peer sent GOAWAY: no new streams; streams above `last_stream_id`
    /// were failed as retryable.
    GoAway {
        /// The last stream the peer may process.
        last_stream_id: StreamId,
        /// The error code.
        code: ErrorCode,
        /// Debug data.
        debug_data: Bytes,
    },
    /// More data may be queued on the stream: everything queued so far has
    /// been handed to `poll_transmit`, or a stream refused with
    /// [`UserError::SendBufferFull`](super::UserError::SendBufferFull) now
    /// has room (the buffers drained below half their limits).
    SendCapacity {
        /// The stream.
        stream: StreamId,
    },
    /// An extension frame the core ignores (ALTSVC, ORIGIN, or an unknown
    /// type; RFC 9113 §5.5), reported only with
    /// [`Config::extension_frames`](super::Config::extension_frames) on:
    /// the hook for extensions built above the core.
    Extension(Frame),
    /// The connection is closed; nothing more will be sent or received.
    Closed {
        /// Why (`code` NO_ERROR after a clean shutdown).
        error: Error,
    },
}
