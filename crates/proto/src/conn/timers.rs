//! Timers: SETTINGS timeout, keep-alive, shutdown deadline, zero-window
//! stalls, unfinished header blocks. Time only comes in as an argument.

use std::time::Instant;

use super::{Connection, Error, KEEPALIVE_PING, PingKind, at, expired};
use crate::error::ErrorCode;
use crate::frame::StreamId;
use crate::limits::Limit;

impl Connection {
    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.closing.is_some() {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        };
        if let (Some(timeout), Some((_, sent))) =
            (self.config.settings_timeout, self.pending_settings.front())
        {
            min(at(*sent, timeout));
        }
        if let Some(interval) = self.config.keepalive_interval {
            match self.pings.iter().find(|p| p.2 == PingKind::Keepalive) {
                Some((_, sent, _)) => min(at(*sent, self.config.keepalive_timeout)),
                None => min(at(self.last_recv, interval)),
            }
        }
        if let Some((_, deadline)) = self.shutdown {
            min(Some(deadline));
        }
        if let Some(p) = &self.partial {
            min(at(p.started, self.config.limits.header_block_timeout));
        }
        let stall = self.config.limits.zero_window_timeout;
        for s in self.streams.live.values() {
            if let Some(since) = s.stalled_since {
                min(at(since, stall));
            }
        }
        if let Some(since) = self.conn_stalled_since.filter(|_| self.conn_stalled()) {
            min(at(since, stall));
        }
        t
    }

    /// Processes timers that expired at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.closing.is_some() {
            return;
        }
        // RFC 9113 §6.5.3: SETTINGS_TIMEOUT.
        if let (Some(timeout), Some((_, sent))) =
            (self.config.settings_timeout, self.pending_settings.front())
        {
            if expired(now, *sent, timeout) {
                self.fail(Error::conn(
                    ErrorCode::SettingsTimeout,
                    "SETTINGS not acknowledged in time",
                ));
                return;
            }
        }
        if let Some(interval) = self.config.keepalive_interval {
            match self.pings.iter().find(|p| p.2 == PingKind::Keepalive) {
                Some((_, sent, _)) => {
                    if expired(now, *sent, self.config.keepalive_timeout) {
                        self.teardown(Error::conn(ErrorCode::NoError, "keep-alive timeout"));
                        return;
                    }
                }
                None => {
                    if expired(now, self.last_recv, interval) {
                        self.send_ping(KEEPALIVE_PING, PingKind::Keepalive, now);
                    }
                }
            }
        }
        if let Some((_, deadline)) = self.shutdown {
            if now >= deadline {
                self.fail(Error::conn(ErrorCode::NoError, "shutdown timeout"));
                return;
            }
        }
        // RFC 9113 §10.5: a header block trickled in as many small, complete
        // CONTINUATION frames (each within any per-frame timeout) holds the
        // connection — no other frame may be sent in between (§6.10). Its
        // whole block must arrive in time; past that, a connection error.
        let block_timeout = self.config.limits.header_block_timeout;
        if self
            .partial
            .as_ref()
            .is_some_and(|p| expired(now, p.started, block_timeout))
        {
            self.partial = None;
            self.calm(Limit::HeaderBlockTimeout);
            return;
        }
        let stall = self.config.limits.zero_window_timeout;
        if self.conn_stalled()
            && self
                .conn_stalled_since
                .is_some_and(|since| expired(now, since, stall))
        {
            self.calm(Limit::ZeroWindowStall);
            return;
        }
        let stalled: Vec<StreamId> = self
            .streams
            .live
            .values()
            .filter(|s| {
                s.stalled_since
                    .is_some_and(|since| expired(now, since, stall))
            })
            .map(|s| s.id)
            .collect();
        for id in stalled {
            // CVE-2019-9517: a peer that never opens its window.
            self.reset_stream(id, ErrorCode::Cancel, Limit::ZeroWindowStall.name(), false);
        }
    }

    /// Data is waiting and only the connection window stops it
    /// (CVE-2019-9517: a peer that never opens its window).
    fn conn_stalled(&self) -> bool {
        self.send_buffered > 0 && self.send_window.available() == 0 && !self.conn_blocked.is_empty()
    }
}
