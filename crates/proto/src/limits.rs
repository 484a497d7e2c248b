//! Abuse limits: every budget a peer can exhaust, with safe defaults.
//!
//! When a budget is spent the connection ends with GOAWAY
//! ENHANCE_YOUR_CALM and debug data naming the limit (see
//! [`Limit::name`]).

use std::fmt;
use std::time::{Duration, Instant};

/// A budget of `max` events per `per` (counted in fixed windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed per window.
    pub max: u32,
    /// Window length.
    pub per: Duration,
}

impl RateLimit {
    /// `max` events per `per`.
    pub const fn new(max: u32, per: Duration) -> RateLimit {
        RateLimit { max, per }
    }
}

/// Counts events against a [`RateLimit`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RateCounter {
    window_start: Option<Instant>,
    count: u32,
}

impl RateCounter {
    /// Records one event at `now`; returns `true` if the budget is exceeded.
    pub fn hit(&mut self, limit: RateLimit, now: Instant) -> bool {
        match self.window_start {
            Some(start) if now.saturating_duration_since(start) < limit.per => {}
            _ => {
                self.window_start = Some(now);
                self.count = 0;
            }
        }
        self.count = self.count.saturating_add(1);
        self.count > limit.max
    }

    /// Events counted in the current window.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// Which limit a peer exceeded (named in GOAWAY debug data and errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Streams reset (by the peer, or by us because of the peer's errors)
    /// faster than the budget (CVE-2023-44487, CVE-2025-8671).
    ResetRate,
    /// Too many CONTINUATION frames in one header block (CVE-2024-27316).
    ContinuationFrames,
    /// Header block (compressed) larger than the cap.
    HeaderBlockSize,
    /// A decoded header list (or field count) far beyond the advertised
    /// limit: an HPACK bomb.
    HeaderListSize,
    /// Too many PING / SETTINGS acknowledgements pending (CVE-2019-9512,
    /// CVE-2019-9515). Never ends the connection: reading pauses.
    PendingAcks,
    /// Too many empty DATA/HEADERS/CONTINUATION frames (CVE-2019-9518).
    EmptyFrames,
    /// Too many SETTINGS entries in one frame.
    SettingsEntries,
    /// Too many PRIORITY / PRIORITY_UPDATE frames (CVE-2019-9513).
    PriorityRate,
    /// Too many WINDOW_UPDATE frames.
    WindowUpdateRate,
    /// Too many SETTINGS frames.
    SettingsRate,
    /// Too many PING frames.
    PingRate,
    /// A stream stayed at a zero send window too long (CVE-2019-9517).
    ZeroWindowStall,
    /// A header block (HEADERS or PUSH_PROMISE and its CONTINUATION frames)
    /// was not completed in time: a slow trickle of individually complete
    /// frames (RFC 9113 §10.5).
    HeaderBlockTimeout,
}

impl Limit {
    /// The limit's name, as sent in GOAWAY debug data.
    pub fn name(self) -> &'static str {
        match self {
            Limit::ResetRate => "reset rate limit exceeded",
            Limit::ContinuationFrames => "CONTINUATION frame limit exceeded",
            Limit::HeaderBlockSize => "header block size limit exceeded",
            Limit::HeaderListSize => "header list size limit exceeded",
            Limit::PendingAcks => "pending ACK limit reached",
            Limit::EmptyFrames => "empty frame limit exceeded",
            Limit::SettingsEntries => "SETTINGS entry limit exceeded",
            Limit::PriorityRate => "PRIORITY frame rate limit exceeded",
            Limit::WindowUpdateRate => "WINDOW_UPDATE rate limit exceeded",
            Limit::SettingsRate => "SETTINGS rate limit exceeded",
            Limit::PingRate => "PING rate limit exceeded",
            Limit::ZeroWindowStall => "zero-window stall timeout",
            Limit::HeaderBlockTimeout => "header block timeout",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every abuse limit of a connection. [`Limits::default`] is safe for a
/// server exposed to the internet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stream resets the peer may cause (its RST_STREAM on streams it
    /// opened, plus our RST_STREAMs for its errors). Default: 200 per 10 s.
    pub reset_rate: RateLimit,
    /// CONTINUATION frames allowed in one header block. Default: 32.
    pub max_continuation_frames: u32,
    /// Compressed header block octets (HEADERS/PUSH_PROMISE and all
    /// CONTINUATIONs). Default: 64 KiB.
    pub max_header_block_size: u32,
    /// Decoded header fields per block (HPACK bomb, CVE-2019-9516).
    /// Default: 128.
    pub max_header_fields: usize,
    /// A header list over SETTINGS_MAX_HEADER_LIST_SIZE (or over
    /// [`max_header_fields`](Self::max_header_fields)) refuses its stream
    /// (431); one over this many times the limit ends the connection with
    /// ENHANCE_YOUR_CALM. Default: 4.
    pub header_list_fatal_multiple: u32,
    /// PING and SETTINGS ACKs we may owe before we stop reading.
    /// Default: 16.
    pub max_pending_acks: usize,
    /// Empty DATA/HEADERS/CONTINUATION frames without END_STREAM.
    /// Default: 100 per 10 s.
    pub empty_frame_rate: RateLimit,
    /// Entries in one SETTINGS frame. Default: 32.
    pub max_settings_entries: usize,
    /// PRIORITY and PRIORITY_UPDATE frames. Default: 1000 per 10 s.
    pub priority_rate: RateLimit,
    /// WINDOW_UPDATE frames for windows with nothing waiting to be sent
    /// (updates that unblock queued data are not counted). Default: 10000
    /// per 10 s.
    pub window_update_rate: RateLimit,
    /// SETTINGS frames. Default: 100 per 10 s.
    pub settings_rate: RateLimit,
    /// PING frames. Default: 1000 per 10 s.
    pub ping_rate: RateLimit,
    /// How long a stream with data to send may sit at a zero (or negative)
    /// window before it is reset with CANCEL. Default: 30 s.
    pub zero_window_timeout: Duration,
    /// How long a header block may take from its first frame (HEADERS or
    /// PUSH_PROMISE without END_HEADERS) to the CONTINUATION frame that
    /// ends it. A peer trickling small, individually complete frames never
    /// leaves an incomplete frame in the read buffer, yet holds the
    /// connection: nothing else may be sent in between (RFC 9113 §6.10),
    /// so the connection ends with ENHANCE_YOUR_CALM (RFC 9113 §10.5).
    /// Default: 10 s.
    pub header_block_timeout: Duration,
    /// Octets the application may queue for sending on one stream.
    /// Default: 1 MiB.
    pub max_send_buffer_per_stream: usize,
    /// Octets the application may queue for sending on the connection:
    /// what a peer that stops reading (or keeps its windows shut) makes us
    /// hold per connection (CVE-2019-9511, CVE-2019-9517). Default: 2 MiB.
    pub max_send_buffer: usize,
    /// Closed streams remembered for §5.1 handling of late frames, at
    /// most. They are kept by stream id, so a peer's last this-many
    /// streams are remembered (one that spaces its ids apart shortens its
    /// own memory). Default: 1000.
    pub max_closed_streams: usize,
    /// How long frames on a stream we reset are ignored (RFC 9113 §5.1).
    /// Default: 5 s.
    pub reset_grace_period: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        let ten = Duration::from_secs(10);
        Limits {
            reset_rate: RateLimit::new(200, ten),
            max_continuation_frames: 32,
            max_header_block_size: 64 * 1024,
            max_header_fields: 128,
            header_list_fatal_multiple: 4,
            max_pending_acks: 16,
            empty_frame_rate: RateLimit::new(100, ten),
            max_settings_entries: 32,
            priority_rate: RateLimit::new(1000, ten),
            window_update_rate: RateLimit::new(10_000, ten),
            settings_rate: RateLimit::new(100, ten),
            ping_rate: RateLimit::new(1000, ten),
            zero_window_timeout: Duration::from_secs(30),
            header_block_timeout: Duration::from_secs(10),
            max_send_buffer_per_stream: 1 << 20,
            max_send_buffer: 2 << 20,
            max_closed_streams: 1000,
            reset_grace_period: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counter_trips_and_resets() {
        let limit = RateLimit::new(3, Duration::from_secs(1));
        let mut c = RateCounter::default();
        let t0 = Instant::now();
        assert!(!c.hit(limit, t0));
        assert!(!c.hit(limit, t0));
        assert!(!c.hit(limit, t0));
        assert!(c.hit(limit, t0));
        // a new window
        assert!(!c.hit(limit, t0 + Duration::from_secs(1)));
        assert_eq!(c.count(), 1);
    }

    #[test]
    fn every_limit_has_a_name() {
        assert_eq!(Limit::ResetRate.to_string(), "reset rate limit exceeded");
        assert!(!Limit::ZeroWindowStall.name().is_empty());
    }
}
