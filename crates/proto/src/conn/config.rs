//! Connection configuration: the SETTINGS we advertise, timers and limits.

use std::time::Duration;

use crate::limits::Limits;

/// Configuration of a [`Connection`](super::Connection).
///
/// [`Config::default`] is safe for both roles: a server advertises
/// SETTINGS_MAX_CONCURRENT_STREAMS 100, push is off, every abuse limit of
/// [`Limits::default`] applies. Fields are public; the `with_*` methods
/// allow chaining.
///
/// ```
/// use std::time::Duration;
/// use ropewalk_proto::conn::Config;
///
/// let config = Config::default()
///     .with_max_concurrent_streams(10)
///     .with_initial_window_size(1 << 20)
///     .with_keepalive(Some(Duration::from_secs(30)));
/// assert_eq!(config.max_concurrent_streams, 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// SETTINGS_HEADER_TABLE_SIZE: HPACK dynamic table we let the peer use
    /// for what it sends us. Default 4096.
    pub header_table_size: u32,
    /// SETTINGS_ENABLE_PUSH (client only): accept server push. Default
    /// `false`; pushes are then refused.
    pub enable_push: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams the peer may open.
    /// Default 100 (RFC 9113 §6.5.2 recommends no less than 100).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: receive window of each stream.
    /// Default 256 KiB.
    pub initial_window_size: u32,
    /// Receive window of the connection as a whole (announced with a
    /// WINDOW_UPDATE on stream 0). Default 1 MiB.
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE: largest frame payload we accept.
    /// Default 16384.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: decoded header list size we accept
    /// (RFC 9113 §6.5.2). Default 16 KiB. A larger block refuses only its
    /// stream (a 431 response on a server).
    pub max_header_list_size: u32,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (server only, RFC 8441): accept
    /// extended CONNECT. Default `false`.
    pub enable_connect_protocol: bool,
    /// How long the peer has to acknowledge our SETTINGS before the
    /// connection closes with SETTINGS_TIMEOUT (RFC 9113 §6.5.3).
    /// Default 10 s; `None` waits forever.
    pub settings_timeout: Option<Duration>,
    /// Send a PING after this long without receiving anything. Default
    /// `None` (off).
    pub keepalive_interval: Option<Duration>,
    /// Close the connection if a keep-alive PING is not answered within
    /// this time. Default 20 s.
    pub keepalive_timeout: Duration,
    /// Report extension frames the core does not act on (ALTSVC, ORIGIN
    /// and frames of unknown type) as [`Event::Extension`](super::Event::Extension).
    /// They are ignored either way (RFC 9113 §5.5). Default `false`.
    pub extension_frames: bool,
    /// How long a graceful shutdown waits for open streams before closing.
    /// Default 30 s.
    pub shutdown_timeout: Duration,
    /// Grow receive windows with the measured bandwidth-delay product
    /// (PING-based). Default `true`.
    pub adaptive_window: bool,
    /// Upper bound for windows grown by [`adaptive_window`](Self::adaptive_window).
    /// Default 16 MiB.
    pub max_adaptive_window: u32,
    /// Abuse limits.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            header_table_size: 4096,
            enable_push: false,
            max_concurrent_streams: 100,
            initial_window_size: 256 * 1024,
            connection_window_size: 1 << 20,
            max_frame_size: 16_384,
            max_header_list_size: 16 * 1024,
            enable_connect_protocol: false,
            settings_timeout: Some(Duration::from_secs(10)),
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            extension_frames: false,
            shutdown_timeout: Duration::from_secs(30),
            adaptive_window: true,
            max_adaptive_window: 16 << 20,
            limits: Limits::default(),
        }
    }
}

impl Config {
    /// Sets [`extension_frames`](Self::extension_frames).
    pub fn with_extension_frames(mut self, on: bool) -> Config {
        self.extension_frames = on;
        self
    }

    /// Sets [`max_concurrent_streams`](Self::max_concurrent_streams).
    pub fn with_max_concurrent_streams(mut self, n: u32) -> Config {
        self.max_concurrent_streams = n;
        self
    }

    /// Sets [`initial_window_size`](Self::initial_window_size) (capped at
    /// 2^31-1).
    pub fn with_initial_window_size(mut self, n: u32) -> Config {
        self.initial_window_size = n.min(crate::flow::MAX_WINDOW as u32);
        self
    }

    /// Sets [`connection_window_size`](Self::connection_window_size)
    /// (at least 65535, at most 2^31-1).
    pub fn with_connection_window_size(mut self, n: u32) -> Config {
        self.connection_window_size = n.clamp(65_535, crate::flow::MAX_WINDOW as u32);
        self
    }

    /// Sets [`max_frame_size`](Self::max_frame_size), clamped to the legal
    /// range 16384..=16777215 (RFC 9113 §6.5.2).
    pub fn with_max_frame_size(mut self, n: u32) -> Config {
        self.max_frame_size = n.clamp(16_384, (1 << 24) - 1);
        self
    }

    /// Sets [`max_header_list_size`](Self::max_header_list_size).
    pub fn with_max_header_list_size(mut self, n: u32) -> Config {
        self.max_header_list_size = n;
        self
    }

    /// Sets [`enable_push`](Self::enable_push).
    pub fn with_enable_push(mut self, on: bool) -> Config {
        self.enable_push = on;
        self
    }

    /// Sets [`enable_connect_protocol`](Self::enable_connect_protocol).
    pub fn with_enable_connect_protocol(mut self, on: bool) -> Config {
        self.enable_connect_protocol = on;
        self
    }

    /// Sets [`settings_timeout`](Self::settings_timeout).
    pub fn with_settings_timeout(mut self, t: Option<std::time::Duration>) -> Config {
        self.settings_timeout = t;
        self
    }

    /// Sets [`keepalive_interval`](Self::keepalive_interval).
    pub fn with_keepalive(mut self, interval: Option<std::time::Duration>) -> Config {
        self.keepalive_interval = interval;
        self
    }

    /// Sets [`adaptive_window`](Self::adaptive_window).
    pub fn with_adaptive_window(mut self, on: bool) -> Config {
        self.adaptive_window = on;
        self
    }

    /// Replaces the abuse [`limits`](Self::limits).
    pub fn with_limits(mut self, limits: Limits) -> Config {
        self.limits = limits;
        self
    }
}
