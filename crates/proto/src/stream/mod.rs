//! Streams: the RFC 9113 §5.1 state machine and the per-connection store.

mod state;
pub(crate) mod store;

pub use self::state::{InvalidTransition, State, TRANSITIONS, Transition};
