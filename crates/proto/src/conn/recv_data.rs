//! Receiving DATA (RFC 9113 §6.1): flow control, content-length, events.

use super::recv::Kind;
use super::recv::{Res, conn_err, stream_err};
use super::{Connection, Error, Event};
use crate::error::ErrorCode;
use crate::frame::Data;
use crate::stream::store::RecvPhase;
use crate::stream::{State, Transition};

impl Connection {
    pub(super) fn on_data(&mut self, d: Data) -> Res {
        let id = d.stream_id;
        let len = u32::try_from(d.flow_controlled_len()).unwrap_or(u32::MAX);
        // RFC 9113 §6.9.1: the connection window is checked first.
        if self.recv_window.recv(len).is_err() {
            return conn_err(
                ErrorCode::FlowControlError,
                "connection flow-control window exceeded",
            );
        }
        if d.data.is_empty() && !d.end_stream && self.empty_frame() {
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(id) else {
            self.recv_window.release(len as usize);
            return self.on_not_live(id, Kind::Data);
        };
        let fail = match s.state {
            State::Open | State::HalfClosedLocal => None,
            // RFC 9113 §5.1 half-closed (remote): STREAM_CLOSED.
            State::HalfClosedRemote | State::Closed => Some(Error::stream(
                id,
                ErrorCode::StreamClosed,
                "DATA after END_STREAM",
            )),
            // RFC 9113 §5.1 idle / reserved: PROTOCOL_ERROR.
            State::Idle | State::ReservedLocal | State::ReservedRemote => Some(Error::conn(
                ErrorCode::ProtocolError,
                "DATA on an idle or reserved stream",
            )),
        };
        let fail = fail.or_else(|| {
            // RFC 9113 §8.1: DATA before the final head is malformed.
            (s.recv_phase != RecvPhase::Body)
                .then(|| Error::stream(id, ErrorCode::ProtocolError, "DATA before HEADERS"))
        });
        let fail = fail.or_else(|| {
            // RFC 9113 §6.9.1: stream window.
            s.recv_window.recv(len).is_err().then(|| {
                Error::stream(
                    id,
                    ErrorCode::FlowControlError,
                    "stream flow-control window exceeded",
                )
            })
        });
        if let Some(e) = fail {
            self.recv_window.release(len as usize);
            return Err(e);
        }
        // Padding is never delivered: release it at once.
        let padding = len as usize - d.data.len();
        if padding > 0 {
            s.recv_window.release(padding);
            self.recv_window.release(padding);
            if !s.window_dirty {
                s.window_dirty = true;
                self.window_dirty.push(id);
            }
        }
        s.received += d.data.len() as u64;
        // RFC 9113 §8.1.1: content-length must match the DATA received;
        // RFC 9110 §9.3.2, §15.3.5, §15.4.5: no content after HEAD, 204, 304.
        let bad_length = if s.no_body {
            s.received > 0
        } else if let Some(cl) = s.content_length {
            s.received > cl || (d.end_stream && s.received != cl)
        } else {
            false
        };
        if bad_length {
            self.recv_window.release(d.data.len());
            return stream_err(id, ErrorCode::ProtocolError, "content-length mismatch");
        }
        if d.end_stream {
            s.state = s
                .state
                .next(Transition::RecvEndStream)
                .unwrap_or(State::Closed);
        }
        if !d.data.is_empty() || d.end_stream {
            self.events.push_back(Event::Data {
                stream: id,
                data: d.data,
                end_stream: d.end_stream,
            });
        }
        self.bdp_on_data(len);
        if d.end_stream {
            self.maybe_close(id);
        }
        Ok(())
    }
}
