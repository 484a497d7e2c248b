//! Receive-window auto-tuning from the measured bandwidth-delay product:
//! a PING times one round trip, the DATA received meanwhile is the BDP.

use super::{Connection, PingKind};
use crate::frame::StreamId;

impl Connection {
    pub(super) fn bdp_on_data(&mut self, len: u32) {
        if !self.config.adaptive_window || self.stream_target >= self.config.max_adaptive_window {
            return;
        }
        // Bytes received while a probe is in flight: one round trip's worth.
        if self.bdp.ping_sent.is_some() {
            self.bdp.bytes += u64::from(len);
            return;
        }
        let due = self
            .bdp
            .last_probe
            .is_none_or(|t| super::expired(self.now, t, super::BDP_PROBE_INTERVAL));
        if due && self.pings.len() < self.config.limits.max_pending_acks {
            let now = self.now;
            self.bdp.bytes = u64::from(len);
            self.bdp.ping_sent = Some(now);
            self.send_ping(super::BDP_PING, PingKind::Bdp, now);
        }
    }

    pub(super) fn bdp_on_ack(&mut self, _rtt: std::time::Duration) {
        let bytes = self.bdp.bytes;
        self.bdp = super::Bdp {
            last_probe: Some(self.now),
            ..super::Bdp::default()
        };
        // The link carried at least 2/3 of the window in one round trip:
        // the window, not the link, is the bottleneck. Double it (capped).
        if bytes * 3 < u64::from(self.stream_target) * 2 {
            return;
        }
        let new = (bytes.saturating_mul(2))
            .min(u64::from(self.config.max_adaptive_window))
            .min(crate::flow::MAX_WINDOW as u64) as u32;
        if new <= self.stream_target {
            return;
        }
        self.stream_target = new;
        let conn_target = self.recv_window.target().max(new);
        self.recv_window.set_target(conn_target);
        let ids: Vec<StreamId> = self.streams.live.keys().copied().collect();
        for id in ids {
            if let Some(s) = self.streams.get_mut(id) {
                if s.state.can_recv_data() {
                    s.recv_window.set_target(new);
                    self.mark_window_dirty(id);
                }
            }
        }
    }
}
