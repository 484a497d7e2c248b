//! What can go wrong with a request, said plainly.

use std::fmt;
use std::sync::Arc;

use ropewalk_proto::conn::{Error as ConnError, Initiator};
use ropewalk_proto::error::ErrorCode;

/// A failed request or connection.
///
/// Each variant names the stage that failed, so that a caller (or the
/// `ropewalk get` exit code) can tell a connection problem from a protocol
/// error or an HTTP status.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not usable (not `http`/`https`, no host, …).
    InvalidUrl(String),
    /// The request could not be built or sent (bad header, body error…).
    Request(String),
    /// The TCP connection could not be made.
    Connect(Arc<std::io::Error>),
    /// The TLS handshake failed (certificate not trusted, wrong name…).
    Tls(String),
    /// The server does not speak HTTP/2 (ALPN did not select `h2`, or the
    /// HTTP/1.1 upgrade was declined).
    NoHttp2(String),
    /// A connection error (RFC 9113 §5.4.1): GOAWAY sent or received with
    /// this code.
    Protocol {
        /// The RFC 9113 §7 error code.
        code: ErrorCode,
        /// Who detected it: `Remote` means the server sent GOAWAY.
        initiator: Initiator,
        /// Why (our reason, or the server's GOAWAY debug data).
        why: String,
    },
    /// The stream was reset (RFC 9113 §5.4.2, §6.4).
    Reset {
        /// The RST_STREAM code.
        code: ErrorCode,
        /// `Remote`: the server reset it; `Local`: we did, because the
        /// server broke a rule on this stream.
        initiator: Initiator,
        /// Why.
        why: String,
        /// The server certainly did not process the request
        /// (REFUSED_STREAM, or above a GOAWAY's last-stream-id).
        retryable: bool,
    },
    /// The connection closed before the response was complete.
    Closed(String),
    /// The connection takes no new requests (GOAWAY); used internally to
    /// move a request to a new connection.
    GoingAway,
    /// A timeout expired.
    Timeout(&'static str),
}

impl Error {
    /// The server certainly did not process the request: it may be sent
    /// again on another connection, whatever its method (RFC 9113 §8.7).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::GoingAway
                | Error::Reset {
                    retryable: true,
                    ..
                }
        )
    }

    /// A connection, TLS or HTTP/2-negotiation failure (nothing was sent).
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            Error::Connect(_) | Error::Tls(_) | Error::NoHttp2(_) | Error::Timeout("connect")
        )
    }

    /// The RFC 9113 error code of a reset or connection error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Protocol { code, .. } | Error::Reset { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn from_conn(e: &ConnError) -> Error {
        match e {
            ConnError::Stream {
                code,
                initiator,
                why,
                retryable,
                ..
            } => Error::Reset {
                code: *code,
                initiator: *initiator,
                why: why.to_string(),
                retryable: *retryable,
            },
            ConnError::Connection {
                code,
                initiator,
                why,
            } => Error::Protocol {
                code: *code,
                initiator: *initiator,
                why: why.to_string(),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            Error::Request(m) => write!(f, "request failed: {m}"),
            Error::Connect(e) => write!(f, "could not connect: {e}"),
            Error::Tls(m) => write!(f, "TLS handshake failed: {m}"),
            Error::NoHttp2(m) => write!(f, "the server does not speak HTTP/2: {m}"),
            Error::Protocol {
                code,
                initiator: Initiator::Remote,
                why,
            } => {
                write!(f, "the server closed the connection with {code} (GOAWAY)")?;
                if !why.is_empty() {
                    write!(f, ": {why}")?;
                }
                Ok(())
            }
            Error::Protocol { code, why, .. } => {
                write!(
                    f,
                    "HTTP/2 protocol error: connection closed with {code}: {why}"
                )
            }
            Error::Reset {
                code,
                initiator: Initiator::Remote,
                why,
                ..
            } => write!(f, "stream reset by the server with {code} ({why})"),
            Error::Reset { code, why, .. } => {
                write!(f, "stream reset by the client with {code}: {why}")
            }
            Error::Closed(m) => {
                write!(f, "connection closed before the response was complete: {m}")
            }
            Error::GoingAway => f.write_str("the connection is going away"),
            Error::Timeout(what) => write!(f, "{what} timed out"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect(e) => Some(&**e),
            _ => None,
        }
    }
}
