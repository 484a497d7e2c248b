//! Connection and stream teardown: errors, resets, limits, shutdown.

use std::borrow::Cow;

use bytes::Bytes;

use super::{Connection, Error, Event, Initiator, Out, Shutdown};
use crate::error::ErrorCode;
use crate::frame::{Frame, GoAway, RstStream, StreamId};
use crate::limits::Limit;
use crate::priority::Scheduler;
use crate::stream::store::{ClosedCause, Stream};

impl Connection {
    /// A connection error: GOAWAY, fail all streams, stop reading.
    pub(super) fn fail(&mut self, error: Error) {
        if self.closing.is_some() {
            return;
        }
        if let Error::Connection {
            code,
            initiator: Initiator::Local,
            why,
        } = &error
        {
            let goaway = GoAway::new(self.last_processed, *code)
                .with_debug_data(Bytes::copy_from_slice(why.as_bytes()));
            // Nothing else is worth sending (RFC 9113 §5.4.1).
            self.out
                .retain(|o| matches!(o, Out::Frame(Frame::Settings(_) | Frame::Ping(_))));
            self.out.push_back(Out::Frame(Frame::GoAway(goaway)));
            self.goaway_sent = Some(self.last_processed);
        }
        self.teardown(error);
    }

    pub(super) fn teardown(&mut self, error: Error) {
        for id in self.streams.ids() {
            self.streams.close(id, ClosedCause::EndStream, 0);
            self.events.push_back(Event::Reset {
                error: Error::Stream {
                    id,
                    code: error.code(),
                    initiator: match &error {
                        Error::Connection { initiator, .. } | Error::Stream { initiator, .. } => {
                            *initiator
                        }
                    },
                    why: "connection closed".into(),
                    retryable: false,
                },
            });
        }
        self.queued_open.clear();
        self.scheduler = Scheduler::new();
        self.conn_blocked.clear();
        self.send_buffered = 0;
        self.closing = Some(error.clone());
        if !self.closed_emitted {
            self.closed_emitted = true;
            self.events.push_back(Event::Closed { error });
        }
    }

    /// A limit was exceeded: GOAWAY ENHANCE_YOUR_CALM naming it.
    pub(super) fn calm(&mut self, limit: Limit) {
        self.fail(Error::conn(ErrorCode::EnhanceYourCalm, limit.name()));
    }

    /// Resets a live stream: RST_STREAM, forget it, tell the application.
    /// `peer_fault` counts the reset against the reset budget (MadeYouReset,
    /// CVE-2025-8671).
    pub(super) fn reset_stream(
        &mut self,
        id: StreamId,
        code: ErrorCode,
        why: &'static str,
        peer_fault: bool,
    ) {
        self.send_rst(id, code, why.into(), peer_fault, true);
    }

    pub(super) fn send_rst(
        &mut self,
        id: StreamId,
        code: ErrorCode,
        why: Cow<'static, str>,
        peer_fault: bool,
        notify: bool,
    ) {
        // RFC 9113 §6.4: no RST_STREAM for an idle stream (a queued request
        // the peer has never seen).
        let idle = self
            .streams
            .get(id)
            .is_some_and(|s| s.state == crate::stream::State::Idle);
        if !idle {
            self.out
                .push_back(Out::Frame(Frame::RstStream(RstStream::new(id, code))));
        }
        let now = self.now;
        let grace = ClosedCause::LocalReset(now);
        if let Some(s) = self
            .streams
            .close(id, grace, self.config.limits.max_closed_streams)
        {
            self.forget_stream(&s);
            if notify {
                self.events.push_back(Event::Reset {
                    error: Error::Stream {
                        id,
                        code,
                        initiator: Initiator::Local,
                        why,
                        retryable: code == ErrorCode::RefusedStream,
                    },
                });
            }
        }
        if peer_fault && self.resets.hit(self.config.limits.reset_rate, now) {
            self.calm(Limit::ResetRate);
        }
    }

    /// Bookkeeping when a live stream goes away.
    pub(super) fn forget_stream(&mut self, s: &Stream) {
        self.send_buffered -= s.send_buffered.min(self.send_buffered);
        self.scheduler.remove(s.id);
        self.conn_blocked.retain(|&b| b != s.id);
        if self.conn_blocked.is_empty() {
            self.conn_stalled_since = None;
        }
        if s.window_dirty {
            self.window_dirty.retain(|&b| b != s.id);
        }
        self.capacity_waiters.retain(|&b| b != s.id);
        self.queued_open.retain(|&b| b != s.id);
        if self.streams.len() == 0 {
            // Maps of requests that got no response (reset).
            self.recycled_maps.clear();
        }
        self.open_queued();
        self.check_drained();
    }

    /// Forgets a stream that reached "closed" through END_STREAM.
    pub(super) fn maybe_close(&mut self, id: StreamId) {
        let closed = self.streams.get(id).is_some_and(|s| s.state.is_closed());
        if closed {
            if let Some(s) = self.streams.close(
                id,
                ClosedCause::EndStream,
                self.config.limits.max_closed_streams,
            ) {
                self.forget_stream(&s);
            }
        }
    }

    /// During shutdown: close once no stream is left.
    pub(super) fn check_drained(&mut self) {
        if self.closing.is_some() {
            return;
        }
        let draining = matches!(self.shutdown, Some((Shutdown::Draining, _)))
            || (self.goaway_recv.is_some() && self.goaway_sent.is_some());
        let peer_draining = self.goaway_recv.is_some();
        if (draining || peer_draining) && self.streams.len() == 0 {
            let (code, initiator) = if peer_draining && !draining {
                (ErrorCode::NoError, Initiator::Remote)
            } else {
                (ErrorCode::NoError, Initiator::Local)
            };
            self.teardown(Error::Connection {
                code,
                initiator,
                why: "shutdown complete".into(),
            });
        }
    }
}
