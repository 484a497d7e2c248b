//! Streams: the RFC 9113 §5.1 state machine and the per-connection store.

pub(crate) mod closed;
mod id_hash;
pub(crate) mod send_queue;
mod state;
pub(crate) mod store;

pub use self::id_hash::{IdHasher, IdHashing};
pub use self::state::{InvalidTransition, State, TRANSITIONS, Transition};
