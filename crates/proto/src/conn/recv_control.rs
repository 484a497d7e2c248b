//! Receiving control frames: PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY,
//! WINDOW_UPDATE, PRIORITY_UPDATE (RFC 9113 §6.3–§6.9, RFC 9218 §7).

use super::recv::Kind;
use super::recv::{Res, conn_err, stream_err};
use super::{Connection, Error, Event, Initiator, Out, PingKind, Shutdown};
use crate::error::ErrorCode;
use crate::frame::{
    Frame, GoAway, Ping, Priority, PriorityUpdate, RstStream, Settings, StreamId, WindowUpdate,
};
use crate::limits::Limit;
use crate::priority;
use crate::stream::State;
use crate::stream::store::ClosedCause;

impl Connection {
    pub(super) fn on_priority(&mut self, p: Priority) -> Res {
        // CVE-2019-9513.
        if self
            .priority_frames
            .hit(self.config.limits.priority_rate, self.now)
        {
            self.calm(Limit::PriorityRate);
            return Ok(());
        }
        // RFC 7540 §5.3.1: a stream cannot depend on itself (RFC 9113 §5.3.2
        // keeps the mandatory handling of the deprecated fields).
        if p.dependency.dependency == p.stream_id {
            let live = self
                .streams
                .get(p.stream_id)
                .is_some_and(|s| s.state != State::Idle);
            if !live {
                if !self.is_idle(p.stream_id) || self.is_local_id(p.stream_id) {
                    // Closed, or one of our own ids the peer cannot know:
                    // PRIORITY there is ignored (RFC 9113 §5.1).
                    return Ok(());
                }
                // Answer without opening it; it stays usable later.
                self.out
                    .push_back(Out::Frame(Frame::RstStream(RstStream::new(
                        p.stream_id,
                        ErrorCode::ProtocolError,
                    ))));
                if self.resets.hit(self.config.limits.reset_rate, self.now) {
                    self.calm(Limit::ResetRate);
                }
                return Ok(());
            }
            return stream_err(
                p.stream_id,
                ErrorCode::ProtocolError,
                "stream depends on itself",
            );
        }
        // RFC 9113 §5.3.2: otherwise ignored.
        Ok(())
    }

    pub(super) fn on_rst_stream(&mut self, r: RstStream) -> Res {
        let id = r.stream_id;
        let Some(s) = self.streams.get(id) else {
            if self.is_idle(id) {
                // RFC 9113 §6.4: RST_STREAM on an idle stream.
                return conn_err(ErrorCode::ProtocolError, "RST_STREAM on an idle stream");
            }
            return self.on_not_live(id, Kind::RstStream);
        };
        if s.state == State::Idle {
            return conn_err(ErrorCode::ProtocolError, "RST_STREAM on an idle stream");
        }
        let peer_opened = !self.is_local_id(id);
        if let Some(s) = self.streams.close(
            id,
            ClosedCause::RemoteReset,
            self.config.limits.max_closed_streams,
        ) {
            self.forget_stream(&s);
        }
        self.events.push_back(Event::Reset {
            error: Error::Stream {
                id,
                code: r.error_code,
                initiator: Initiator::Remote,
                why: "RST_STREAM received".into(),
                retryable: r.error_code == ErrorCode::RefusedStream,
            },
        });
        // CVE-2023-44487 (Rapid Reset): streams opened and cancelled.
        if peer_opened && self.resets.hit(self.config.limits.reset_rate, self.now) {
            self.calm(Limit::ResetRate);
        }
        Ok(())
    }

    pub(super) fn on_settings(&mut self, s: Settings) -> Res {
        if s.is_ack() {
            // An unsolicited ACK is ignored.
            let Some((sent, _)) = self.pending_settings.pop_front() else {
                return Ok(());
            };
            self.apply_local(&sent);
            self.events.push_back(Event::SettingsAcknowledged);
            return Ok(());
        }
        if self
            .settings_frames
            .hit(self.config.limits.settings_rate, self.now)
        {
            self.calm(Limit::SettingsRate);
            return Ok(());
        }
        if s.entry_count() > self.config.limits.max_settings_entries {
            self.calm(Limit::SettingsEntries);
            return Ok(());
        }
        self.got_peer_settings = true;
        self.apply_peer(&s)?;
        self.open_queued();
        // RFC 9113 §6.5.3: acknowledge every SETTINGS frame.
        self.out
            .push_back(Out::Frame(Frame::Settings(Settings::ack())));
        self.pending_acks += 1;
        self.events.push_back(Event::PeerSettings(s));
        Ok(())
    }

    pub(super) fn apply_peer(&mut self, s: &Settings) -> Res {
        if let Some(n) = s.header_table_size() {
            self.encoder.set_max_table_size(n as usize);
        }
        if let Some(push) = s.enable_push() {
            // RFC 9113 §6.5.2: a server never sends ENABLE_PUSH = 1.
            if self.role.is_client() && push {
                return conn_err(
                    ErrorCode::ProtocolError,
                    "server sent SETTINGS_ENABLE_PUSH = 1",
                );
            }
            self.peer.enable_push = push;
        }
        if let Some(n) = s.max_frame_size() {
            self.peer.max_frame_size = n;
        }
        if let Some(n) = s.max_header_list_size() {
            self.peer.max_header_list_size = n;
        }
        if let Some(on) = s.enable_connect_protocol() {
            // RFC 8441 §3: once enabled it cannot be disabled.
            if self.peer.connect_protocol && !on {
                return conn_err(
                    ErrorCode::ProtocolError,
                    "SETTINGS_ENABLE_CONNECT_PROTOCOL went back to 0",
                );
            }
            self.peer.connect_protocol = on;
        }
        if let Some(w) = s.initial_window_size() {
            // RFC 9113 §6.9.2: adjust every stream by the difference; windows
            // may go negative, but not above 2^31-1.
            let delta = i64::from(w) - i64::from(self.peer.initial_window);
            self.peer.initial_window = w;
            let mut ready = Vec::new();
            for st in self.streams.live.values_mut() {
                if st.send_window.adjust(delta).is_err() {
                    return conn_err(
                        ErrorCode::FlowControlError,
                        "INITIAL_WINDOW_SIZE overflows a stream window",
                    );
                }
                if delta > 0 && st.send_window.available() > 0 && st.has_send_work() {
                    st.stalled_since = None;
                    ready.push((st.id, st.priority));
                }
            }
            for (id, p) in ready {
                self.scheduler.push(id, p);
            }
        }
        if let Some(n) = s.max_concurrent_streams() {
            self.peer.max_concurrent = n;
            self.open_queued();
        }
        Ok(())
    }

    /// Our SETTINGS were acknowledged: apply them (RFC 9113 §6.5.3).
    pub(super) fn apply_local(&mut self, s: &Settings) {
        if let Some(w) = s.initial_window_size() {
            let delta = i64::from(w) - i64::from(self.recv_initial);
            if delta < 0 {
                for st in self.streams.live.values_mut() {
                    st.recv_window.adjust(delta, w);
                }
            }
            self.recv_initial = w;
            self.local.initial_window = w;
            self.stream_target = w.max(if self.config.adaptive_window {
                self.stream_target.min(self.config.max_adaptive_window)
            } else {
                w
            });
        }
        if let Some(f) = s.max_frame_size() {
            if (16_384..=(1 << 24) - 1).contains(&f) {
                self.parser.set_max_frame_size(f);
            }
            self.local.max_frame_size = f;
        }
        if let Some(n) = s.header_table_size() {
            self.decoder.set_max_table_size(n as usize);
            self.local.header_table_size = n;
        }
        if let Some(p) = s.enable_push() {
            self.local.enable_push = p;
        }
        if let Some(n) = s.max_concurrent_streams() {
            self.local.max_concurrent = n;
        }
        if let Some(n) = s.max_header_list_size() {
            self.local.max_header_list_size = n;
        }
        if let Some(c) = s.enable_connect_protocol() {
            self.local.connect_protocol = c;
        }
    }

    pub(super) fn on_ping(&mut self, p: Ping) -> Res {
        if p.ack {
            let Some(pos) = self.pings.iter().position(|q| q.0 == p.payload) else {
                return Ok(());
            };
            let Some((payload, sent, kind)) = self.pings.remove(pos) else {
                return Ok(());
            };
            let rtt = self.now.saturating_duration_since(sent);
            match kind {
                PingKind::User => self.events.push_back(Event::PingAck { payload, rtt }),
                PingKind::Shutdown => {
                    // RFC 9113 §6.8: second step of the graceful shutdown.
                    if let Some((Shutdown::AwaitingPing, deadline)) = self.shutdown {
                        self.send_final_goaway();
                        self.shutdown = Some((Shutdown::Draining, deadline));
                        self.check_drained();
                    }
                }
                PingKind::Keepalive => {}
                PingKind::Bdp => self.bdp_on_ack(rtt),
            }
            return Ok(());
        }
        if self.ping_frames.hit(self.config.limits.ping_rate, self.now) {
            self.calm(Limit::PingRate);
            return Ok(());
        }
        // RFC 9113 §6.7: answer with the same payload.
        self.out.push_back(Out::Frame(Frame::Ping(p.to_pong())));
        self.pending_acks += 1;
        Ok(())
    }

    pub(super) fn on_goaway(&mut self, g: GoAway) -> Res {
        let last = match self.goaway_recv {
            Some(prev) => prev.min(g.last_stream_id),
            None => g.last_stream_id,
        };
        self.goaway_recv = Some(last);
        // RFC 9113 §6.8: our streams above last-stream-id were not
        // processed; they may be retried. Queued ones were never sent.
        let failed: Vec<StreamId> = self
            .streams
            .ids()
            .into_iter()
            .filter(|&id| {
                self.is_local_id(id)
                    && (id > last
                        || self
                            .streams
                            .get(id)
                            .is_some_and(|s| s.pending_open.is_some()))
            })
            .collect();
        self.events.push_back(Event::GoAway {
            last_stream_id: g.last_stream_id,
            code: g.error_code,
            debug_data: g.debug_data.clone(),
        });
        for id in failed {
            if let Some(s) = self.streams.close(
                id,
                ClosedCause::RemoteReset,
                self.config.limits.max_closed_streams,
            ) {
                self.forget_stream(&s);
            }
            self.events.push_back(Event::Reset {
                error: Error::Stream {
                    id,
                    code: ErrorCode::RefusedStream,
                    initiator: Initiator::Remote,
                    why: "above GOAWAY last-stream-id; safe to retry".into(),
                    retryable: true,
                },
            });
        }
        if g.error_code != ErrorCode::NoError {
            self.teardown(Error::Connection {
                code: g.error_code,
                initiator: Initiator::Remote,
                why: String::from_utf8_lossy(&g.debug_data).into_owned().into(),
            });
            return Ok(());
        }
        self.check_drained();
        Ok(())
    }

    pub(super) fn on_window_update(&mut self, w: WindowUpdate) -> Res {
        // A WINDOW_UPDATE that unblocks nothing is pure overhead; a flood of
        // them is abuse. Updates for windows we are using are not counted.
        let useful = if w.stream_id.is_zero() {
            self.send_buffered > 0
        } else {
            self.streams
                .get(w.stream_id)
                .is_some_and(|s| s.send_buffered > 0)
        };
        if !useful
            && self
                .window_updates
                .hit(self.config.limits.window_update_rate, self.now)
        {
            self.calm(Limit::WindowUpdateRate);
            return Ok(());
        }
        if w.stream_id.is_zero() {
            // RFC 9113 §6.9.1: overflow is a connection FLOW_CONTROL_ERROR.
            if self.send_window.increase(w.increment).is_err() {
                return conn_err(ErrorCode::FlowControlError, "connection window overflow");
            }
            self.conn_stalled_since = None;
            for id in std::mem::take(&mut self.conn_blocked) {
                if let Some(s) = self.streams.get(id) {
                    self.scheduler.push(id, s.priority);
                }
            }
            return Ok(());
        }
        let id = w.stream_id;
        let Some(s) = self.streams.get_mut(id) else {
            return self.on_not_live(id, Kind::WindowUpdate);
        };
        if s.state == State::Idle && s.pending_open.is_none() {
            return conn_err(ErrorCode::ProtocolError, "WINDOW_UPDATE on an idle stream");
        }
        if s.pending_open.is_some() {
            return conn_err(ErrorCode::ProtocolError, "WINDOW_UPDATE on an idle stream");
        }
        // RFC 9113 §6.9.1: overflow of a stream window is a stream error.
        if s.send_window.increase(w.increment).is_err() {
            return stream_err(id, ErrorCode::FlowControlError, "stream window overflow");
        }
        if s.send_window.available() > 0 {
            s.stalled_since = None;
        }
        if s.has_send_work() {
            self.scheduler.push(id, s.priority);
        }
        Ok(())
    }

    pub(super) fn on_priority_update(&mut self, p: PriorityUpdate) -> Res {
        // RFC 9218 §7.1: only clients send PRIORITY_UPDATE.
        if self.role.is_client() {
            return conn_err(ErrorCode::ProtocolError, "server sent PRIORITY_UPDATE");
        }
        if self
            .priority_frames
            .hit(self.config.limits.priority_rate, self.now)
        {
            self.calm(Limit::PriorityRate);
            return Ok(());
        }
        let id = p.prioritized_stream_id;
        let prio = priority::Priority::parse(&p.field_value);
        if let Some(s) = self.streams.get_mut(id) {
            // Open, half-closed or reserved: it applies now. (RFC 9218
            // §7.1 lets a server discard it for a stream it has finished
            // sending on; it is as cheap to keep.)
            s.priority = prio;
            if self.scheduler.contains(id) {
                self.scheduler.remove(id);
                self.scheduler.push(id, prio);
            }
            return Ok(());
        }
        if !self.is_idle(id) {
            // Closed: nothing left to schedule.
            return Ok(());
        }
        // RFC 9218 §7.1: a push stream not yet promised.
        if !id.is_client_initiated() {
            return conn_err(
                ErrorCode::ProtocolError,
                "PRIORITY_UPDATE for an idle push stream",
            );
        }
        // RFC 9218 §7: a request stream not yet open. The latest update
        // is kept for when it opens. RFC 9218 §7.1: the streams so
        // prioritized and the active ones together stay within our
        // SETTINGS_MAX_CONCURRENT_STREAMS.
        self.prune_early_priorities();
        let idle =
            self.early_priorities.len() + usize::from(!self.early_priorities.contains_key(&id));
        let limit = self.config.max_concurrent_streams as usize;
        let active_room = limit.saturating_sub(idle);
        if idle > limit
            || self.streams.active_at_least(
                self.role.is_client(),
                false,
                u32::try_from(active_room + 1).unwrap_or(u32::MAX),
            )
        {
            return conn_err(
                ErrorCode::ProtocolError,
                "PRIORITY_UPDATEs for more idle streams than SETTINGS_MAX_CONCURRENT_STREAMS allows",
            );
        }
        self.early_priorities.insert(id, prio);
        Ok(())
    }

    /// Drops the early priorities of streams the peer can no longer open
    /// (RFC 9113 §5.1.1: a higher stream id closes the idle ones below it).
    pub(super) fn prune_early_priorities(&mut self) {
        if self
            .early_priorities
            .first_key_value()
            .is_some_and(|(&first, _)| first <= self.last_peer_id)
        {
            match self
                .last_peer_id
                .get()
                .checked_add(1)
                .filter(|&n| n <= StreamId::MAX.get())
            {
                Some(next) => {
                    self.early_priorities = self.early_priorities.split_off(&StreamId::new(next));
                }
                // The last id there is: no stream is idle any more.
                None => self.early_priorities.clear(),
            }
        }
    }
}
