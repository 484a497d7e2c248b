//! The stream life cycle of RFC 9113 §5.1 as an explicit transition table.
//!
//! ```text
//!                          +--------+
//!                  send PP |        | recv PP
//!                 ,--------+  idle  +--------.
//!                /         |        |         \
//!               v          +--------+          v
//!        +----------+          |           +----------+
//!        |          |          | send H /  |          |
//! ,------+ reserved |          | recv H    | reserved +------.
//! |      | (local)  |          |           | (remote) |      |
//! |      +---+------+          v           +------+---+      |
//! |          |             +--------+             |          |
//! |          |     recv ES |        | send ES     |          |
//! |   send H |     ,-------+  open  +-------.     | recv H   |
//! |          |    /        |        |        \    |          |
//! |          v   v         +---+----+         v   v          |
//! |      +----------+          |           +----------+      |
//! |      |   half-  |          |           |   half-  |      |
//! |      |  closed  |          | send R /  |  closed  |      |
//! |      | (remote) |          | recv R    | (local)  |      |
//! |      +----+-----+          |           +-----+----+      |
//! |           |                |                 |           |
//! |           | send ES /      |       recv ES / |           |
//! |           | send R /       v        send R / |           |
//! |           | recv R     +--------+   recv R   |           |
//! | send R /  `----------->|        |<-----------'  send R / |
//! | recv R                 | closed |               recv R   |
//! `----------------------->|        |<-----------------------'
//!                          +--------+
//! ```
//!
//! (Figure 2 of RFC 9113.) `H` is a HEADERS frame (with its CONTINUATIONs),
//! `PP` a PUSH_PROMISE (the transition applies to the *promised* stream),
//! `ES` the END_STREAM flag and `R` a RST_STREAM frame. A HEADERS frame that
//! carries END_STREAM is two transitions: `H`, then `ES`.

use std::fmt;

/// A stream state (RFC 9113 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No frame has been exchanged on the stream yet.
    Idle,
    /// We sent a PUSH_PROMISE reserving this stream.
    ReservedLocal,
    /// The peer sent a PUSH_PROMISE reserving this stream.
    ReservedRemote,
    /// Both sides may send frames.
    Open,
    /// We sent END_STREAM; only the peer sends data.
    HalfClosedLocal,
    /// The peer sent END_STREAM; only we send data.
    HalfClosedRemote,
    /// The final state.
    Closed,
}

/// What happens to a stream: a frame or flag sent or received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// We send HEADERS (or a header block with CONTINUATION).
    SendHeaders,
    /// We receive HEADERS.
    RecvHeaders,
    /// We send a PUSH_PROMISE that reserves this stream.
    SendPushPromise,
    /// We receive a PUSH_PROMISE that reserves this stream.
    RecvPushPromise,
    /// We send a frame with END_STREAM.
    SendEndStream,
    /// We receive a frame with END_STREAM.
    RecvEndStream,
    /// We send RST_STREAM.
    SendReset,
    /// We receive RST_STREAM.
    RecvReset,
}

use State::*;
use Transition::*;

/// Every legal transition of RFC 9113 §5.1, one row per arrow of Figure 2
/// (plus the self-loops for trailers and informational responses, which are
/// HEADERS frames that do not change the state).
///
/// Anything not in this table is a protocol violation; what kind of error it
/// is (stream or connection, PROTOCOL_ERROR or STREAM_CLOSED) depends on the
/// state and the frame, as RFC 9113 §5.1 lists per state; the connection
/// applies those rules when a frame arrives.
pub const TRANSITIONS: &[(State, Transition, State)] = &[
    // idle
    (Idle, SendHeaders, Open),
    (Idle, RecvHeaders, Open),
    (Idle, SendPushPromise, ReservedLocal),
    (Idle, RecvPushPromise, ReservedRemote),
    // reserved (local)
    (ReservedLocal, SendHeaders, HalfClosedRemote),
    (ReservedLocal, SendReset, Closed),
    (ReservedLocal, RecvReset, Closed),
    // reserved (remote)
    (ReservedRemote, RecvHeaders, HalfClosedLocal),
    (ReservedRemote, SendReset, Closed),
    (ReservedRemote, RecvReset, Closed),
    // open
    (Open, SendHeaders, Open),
    (Open, RecvHeaders, Open),
    (Open, SendEndStream, HalfClosedLocal),
    (Open, RecvEndStream, HalfClosedRemote),
    (Open, SendReset, Closed),
    (Open, RecvReset, Closed),
    // half-closed (local): the peer may still send
    (HalfClosedLocal, RecvHeaders, HalfClosedLocal),
    (HalfClosedLocal, RecvEndStream, Closed),
    (HalfClosedLocal, SendReset, Closed),
    (HalfClosedLocal, RecvReset, Closed),
    // half-closed (remote): we may still send
    (HalfClosedRemote, SendHeaders, HalfClosedRemote),
    (HalfClosedRemote, SendEndStream, Closed),
    (HalfClosedRemote, SendReset, Closed),
    (HalfClosedRemote, RecvReset, Closed),
];

/// A transition that [`TRANSITIONS`] does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTransition {
    /// The state the stream was in.
    pub from: State,
    /// The attempted transition.
    pub transition: Transition,
}

impl fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not allowed in state {:?}",
            self.transition, self.from
        )
    }
}

impl std::error::Error for InvalidTransition {}

impl State {
    /// The state after `transition`, looked up in [`TRANSITIONS`].
    ///
    /// ```
    /// use ropewalk_proto::stream::{State, Transition};
    ///
    /// let s = State::Idle.next(Transition::RecvHeaders).unwrap();
    /// let s = s.next(Transition::RecvEndStream).unwrap();
    /// assert_eq!(s, State::HalfClosedRemote);
    /// assert!(s.next(Transition::RecvEndStream).is_err());
    /// ```
    pub fn next(self, transition: Transition) -> Result<State, InvalidTransition> {
        TRANSITIONS
            .iter()
            .find(|(from, t, _)| *from == self && *t == transition)
            .map(|&(_, _, to)| to)
            .ok_or(InvalidTransition {
                from: self,
                transition,
            })
    }

    /// `true` if we may still send DATA or trailers (open or half-closed
    /// remote; RFC 9113 §5.1).
    pub fn can_send_data(self) -> bool {
        matches!(self, Open | HalfClosedRemote)
    }

    /// `true` if the peer may still send DATA or trailers.
    pub fn can_recv_data(self) -> bool {
        matches!(self, Open | HalfClosedLocal)
    }

    /// `true` for the states that count toward SETTINGS_MAX_CONCURRENT_STREAMS
    /// (RFC 9113 §5.1.2: "open" and either "half-closed" state).
    pub fn is_active(self) -> bool {
        matches!(self, Open | HalfClosedLocal | HalfClosedRemote)
    }

    /// `true` once the stream is closed.
    pub fn is_closed(self) -> bool {
        self == Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STATES: [State; 7] = [
        Idle,
        ReservedLocal,
        ReservedRemote,
        Open,
        HalfClosedLocal,
        HalfClosedRemote,
        Closed,
    ];

    #[test]
    fn rfc9113_5_1_table_has_no_duplicate_rows() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(!(a.0 == b.0 && a.1 == b.1), "duplicate row {a:?}");
            }
        }
    }

    #[test]
    fn rfc9113_5_1_closed_is_terminal() {
        for t in [
            SendHeaders,
            RecvHeaders,
            SendPushPromise,
            RecvPushPromise,
            SendEndStream,
            RecvEndStream,
            SendReset,
            RecvReset,
        ] {
            assert!(Closed.next(t).is_err());
        }
    }

    #[test]
    fn rfc9113_5_1_reset_closes_every_non_idle_state() {
        for s in ALL_STATES {
            let r = s.next(SendReset);
            match s {
                Idle | Closed => assert!(r.is_err()),
                _ => assert_eq!(r, Ok(Closed)),
            }
        }
    }

    #[test]
    fn rfc9113_5_1_request_response_lifecycle() {
        // client view
        let s = Idle.next(SendHeaders).unwrap();
        let s = s.next(SendEndStream).unwrap();
        assert_eq!(s, HalfClosedLocal);
        let s = s.next(RecvHeaders).unwrap();
        assert_eq!(s.next(RecvEndStream), Ok(Closed));
    }

    #[test]
    fn rfc9113_5_1_push_lifecycle() {
        let s = Idle.next(SendPushPromise).unwrap();
        assert_eq!(s, ReservedLocal);
        assert!(s.next(SendEndStream).is_err());
        let s = s.next(SendHeaders).unwrap();
        assert_eq!(s, HalfClosedRemote);
        assert_eq!(s.next(SendEndStream), Ok(Closed));
        let r = Idle.next(RecvPushPromise).unwrap();
        assert!(r.next(SendHeaders).is_err());
        assert_eq!(r.next(RecvHeaders), Ok(HalfClosedLocal));
    }

    #[test]
    fn rfc9113_5_1_half_closed_remote_rejects_recv() {
        assert!(HalfClosedRemote.next(RecvHeaders).is_err());
        assert!(HalfClosedRemote.next(RecvEndStream).is_err());
        assert!(HalfClosedLocal.next(SendHeaders).is_err());
        assert!(HalfClosedLocal.next(SendEndStream).is_err());
    }

    #[test]
    fn rfc9113_5_1_2_active_states() {
        let active: Vec<_> = ALL_STATES.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [&Open, &HalfClosedLocal, &HalfClosedRemote]);
    }
}
