//! Streams: the RFC 9113 §5.1 state machine and the per-connection store.

pub(crate) mod send_queue;
mod state;
pub(crate) mod store;

pub use self::state::{InvalidTransition, State, TRANSITIONS, Transition};
