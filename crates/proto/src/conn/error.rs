//! Errors of the connection core: which scope failed, the RFC 9113 §7 code,
//! who detected it, and why.

use std::borrow::Cow;
use std::fmt;

use crate::error::ErrorCode;
use crate::frame::StreamId;
use crate::headers::Malformed;

/// Which side ended the stream or connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// We did (because of a peer error, a limit, or an application command).
    Local,
    /// The peer did (RST_STREAM or GOAWAY received).
    Remote,
}

/// A stream or connection failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// One stream failed (RFC 9113 §5.4.2); the connection goes on.
    Stream {
        /// The stream.
        id: StreamId,
        /// The RST_STREAM code sent or received.
        code: ErrorCode,
        /// Who reset it.
        initiator: Initiator,
        /// Why.
        why: Cow<'static, str>,
        /// The request was certainly not processed by the peer and may be
        /// retried (REFUSED_STREAM, or above a GOAWAY's last stream id).
        retryable: bool,
    },
    /// The connection failed (RFC 9113 §5.4.1) or was closed.
    Connection {
        /// The GOAWAY code sent or received.
        code: ErrorCode,
        /// Who closed it.
        initiator: Initiator,
        /// Why (our reason, or the peer's GOAWAY debug data).
        why: Cow<'static, str>,
    },
}

impl Error {
    /// The error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Stream { code, .. } | Error::Connection { code, .. } => *code,
        }
    }

    /// `true` for a connection error.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    /// `true` if the failed request may safely be retried on another
    /// connection.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Stream {
                retryable: true,
                ..
            }
        )
    }

    /// The reason.
    pub fn why(&self) -> &str {
        match self {
            Error::Stream { why, .. } | Error::Connection { why, .. } => why,
        }
    }

    pub(crate) fn stream(
        id: StreamId,
        code: ErrorCode,
        why: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Stream {
            id,
            code,
            initiator: Initiator::Local,
            why: why.into(),
            retryable: false,
        }
    }

    pub(crate) fn conn(code: ErrorCode, why: impl Into<Cow<'static, str>>) -> Error {
        Error::Connection {
            code,
            initiator: Initiator::Local,
            why: why.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stream {
                id,
                code,
                initiator,
                why,
                ..
            } => write!(f, "stream {id} reset ({initiator:?}) {code}: {why}"),
            Error::Connection {
                code,
                initiator,
                why,
            } => write!(f, "connection closed ({initiator:?}) {code}: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// A command the application issued could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    /// No such stream (never opened, or already closed and forgotten).
    UnknownStream(StreamId),
    /// The stream's state does not allow this (e.g. data after END_STREAM).
    InvalidState(StreamId),
    /// This command belongs to the other role.
    WrongRole,
    /// The head breaks RFC 9113 §8.2–§8.3.
    Malformed(Malformed),
    /// No stream identifiers left (RFC 9113 §5.1.1); open a new connection.
    StreamIdsExhausted,
    /// The stream's or connection's send buffer is full; wait for
    /// [`Event::SendCapacity`](super::Event::SendCapacity).
    SendBufferFull,
    /// The peer disabled server push.
    PushDisabled,
    /// The peer did not enable extended CONNECT (RFC 8441 §3).
    ConnectProtocolDisabled,
    /// The connection is going away (GOAWAY sent or received) or closed.
    GoingAway,
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached (a pushed
    /// response must wait for a slot).
    ConcurrencyLimit,
    /// Too many of our PINGs or SETTINGS are unacknowledged.
    TooManyPending,
    /// A SETTINGS value out of range.
    InvalidSetting,
    /// The field section is larger than the peer's
    /// SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2), counted as the sum
    /// of name + value + 32 per field; the peer would refuse it.
    HeaderListTooLarge {
        /// The size of the field section we were asked to send.
        size: usize,
        /// The peer's advertised limit.
        limit: u32,
    },
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::UnknownStream(id) => write!(f, "unknown stream {id}"),
            UserError::InvalidState(id) => write!(f, "stream {id} cannot do that in its state"),
            UserError::WrongRole => f.write_str("command not available in this role"),
            UserError::Malformed(m) => write!(f, "{m}"),
            UserError::StreamIdsExhausted => f.write_str("stream identifiers exhausted"),
            UserError::SendBufferFull => f.write_str("send buffer full"),
            UserError::PushDisabled => f.write_str("peer disabled server push"),
            UserError::ConnectProtocolDisabled => {
                f.write_str("peer did not enable extended CONNECT")
            }
            UserError::GoingAway => f.write_str("connection is going away"),
            UserError::ConcurrencyLimit => f.write_str("peer's concurrent stream limit reached"),
            UserError::TooManyPending => f.write_str("too many unacknowledged frames"),
            UserError::InvalidSetting => f.write_str("invalid SETTINGS value"),
            UserError::HeaderListTooLarge { size, limit } => write!(
                f,
                "field section of {size} bytes exceeds the peer's SETTINGS_MAX_HEADER_LIST_SIZE of {limit}"
            ),
        }
    }
}

impl std::error::Error for UserError {}

impl From<Malformed> for UserError {
    fn from(m: Malformed) -> UserError {
        UserError::Malformed(m)
    }
}
