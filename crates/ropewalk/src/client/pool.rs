//! Connections by origin: one per origin by default, multiplexing as many
//! requests as the server's SETTINGS_MAX_CONCURRENT_STREAMS allows; past
//! that, requests wait in the core for a stream slot (RFC 9113 §5.1.2), or
//! another connection opens when the client allows more than one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http::Uri;
use http::uri::{Authority, Scheme};
use tokio::sync::mpsc;

use super::conn::{Cmd, Shared};
use super::error::Error;

/// Scheme, host and port (RFC 9110 §4.3.1, the origin of a URI).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub(crate) https: bool,
    /// Host name or address, without IPv6 brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Origin {
    pub(crate) fn of(uri: &Uri) -> Result<Origin, Error> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(s) => {
                return Err(Error::InvalidUrl(format!(
                    "{uri}: scheme {s:?} is not http or https"
                )));
            }
            None => return Err(Error::InvalidUrl(format!("{uri}: no scheme"))),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::InvalidUrl(format!("{uri}: no host")))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Origin { https, host, port })
    }
}

/// A live connection's handle.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    pub(crate) tx: mpsc::UnboundedSender<Cmd>,
    pub(crate) shared: Arc<Shared>,
}

impl ConnHandle {
    pub(crate) fn usable(&self) -> bool {
        !self.shared.is_going_away() && !self.tx.is_closed()
    }
}

/// One origin's connections.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) origin: Origin,
    conns: tokio::sync::Mutex<Vec<ConnHandle>>,
}

#[derive(Debug, Default)]
struct Slots {
    map: HashMap<Origin, Arc<Slot>>,
    /// The slot found last, with the scheme and authority it was found
    /// for: most clients talk to one origin, and finding it again this way
    /// takes neither parsing the authority nor hashing.
    last: Option<(Scheme, Authority, Arc<Slot>)>,
}

/// The client's connections.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    slots: Mutex<Slots>,
    pub(crate) opened: AtomicU64,
}

impl Pool {
    /// The connections of the origin of `scheme` and `authority` (a
    /// request's); `origin` finds that origin, or says why there is none,
    /// when they are not the ones used last.
    pub(crate) fn slot(
        &self,
        scheme: Option<&Scheme>,
        authority: Option<&Authority>,
        origin: impl FnOnce() -> Result<Origin, Error>,
    ) -> Result<Arc<Slot>, Error> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(s), Some(a), Some((ls, la, slot))) = (scheme, authority, &slots.last) {
            if s.as_str() == ls.as_str() && a.as_str() == la.as_str() {
                return Ok(slot.clone());
            }
        }
        let origin = origin()?;
        let slot = match slots.map.get(&origin) {
            Some(s) => s.clone(),
            None => {
                // Forget origins whose connections are all gone.
                slots.last = None;
                slots.map.retain(|_, s| {
                    Arc::strong_count(s) > 1 || s.conns.try_lock().is_ok_and(|v| !v.is_empty())
                });
                let slot = Arc::new(Slot {
                    origin: origin.clone(),
                    conns: tokio::sync::Mutex::default(),
                });
                slots.map.insert(origin, slot.clone());
                slot
            }
        };
        slots.last = match (scheme, authority) {
            (Some(s), Some(a)) => Some((s.clone(), a.clone(), slot.clone())),
            _ => None,
        };
        Ok(slot)
    }

    /// A connection of `slot`: an open one with a free stream slot, a new
    /// one if fewer than `max_per_origin` are open, else the least busy
    /// (the request waits there for a slot). `connect` opens one; requests
    /// arriving meanwhile wait for it rather than opening their own.
    pub(crate) async fn checkout<F, Fut>(
        &self,
        slot: &Slot,
        max_per_origin: usize,
        connect: F,
    ) -> Result<ConnHandle, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<ConnHandle, Error>>,
    {
        // Uncontended (nobody is connecting) it is taken without waiting.
        let mut conns = match slot.conns.try_lock() {
            Ok(conns) => conns,
            Err(_) => slot.conns.lock().await,
        };
        conns.retain(ConnHandle::usable);
        if let Some(c) = conns.iter().find(|c| c.shared.has_slot()) {
            c.shared.active.fetch_add(1, Ordering::Relaxed);
            return Ok(c.clone());
        }
        if conns.len() < max_per_origin.max(1) {
            let c = connect().await?;
            self.opened.fetch_add(1, Ordering::Relaxed);
            c.shared.active.fetch_add(1, Ordering::Relaxed);
            conns.push(c.clone());
            return Ok(c);
        }
        let c = conns
            .iter()
            .min_by_key(|c| c.shared.active.load(Ordering::Relaxed))
            .cloned()
            .ok_or(Error::GoingAway)?;
        c.shared.active.fetch_add(1, Ordering::Relaxed);
        Ok(c)
    }
}
