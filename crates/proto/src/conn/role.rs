//! Which end of the connection we are.

/// Client or server (RFC 9113 §3, §5.1.1: clients open odd streams,
/// servers even ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the connection preface and requests.
    Client,
    /// Receives the preface and requests; sends responses and pushes.
    Server,
}

impl Role {
    /// `true` for [`Role::Client`].
    pub fn is_client(self) -> bool {
        self == Role::Client
    }

    /// `true` for [`Role::Server`].
    pub fn is_server(self) -> bool {
        self == Role::Server
    }
}
