//! The access log's lines, formatted by hand.
//!
//! `ropewalk serve` logs a line per request (target `ropewalk::access`).
//! tracing-subscriber's default format spends about 12,000 instructions on
//! such a line (a generic field visitor that styles every field name, a
//! calendar computation per timestamp), more than the server spends on the
//! request itself. This formatter writes the same text for those events:
//! the date and time are computed once a second per thread, integers and
//! the peer's address are written directly. Every other event, and every
//! event when the output is a terminal (colours), keeps the default format.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::SystemTime as DefaultTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The access log's target.
pub const ACCESS_TARGET: &str = "ropewalk::access";

/// Formats events as tracing-subscriber's default `Format` does; access-log
/// events (when `fast`) by hand, to the same text.
pub struct Lines {
    default: Format<Full, DefaultTime>,
    fast: bool,
}

impl Lines {
    /// `ansi`: the output is a terminal (then the default, coloured format
    /// is kept for every line).
    pub fn new(ansi: bool) -> Lines {
        Lines {
            default: Format::default().with_ansi(ansi),
            fast: !ansi,
        }
    }
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // Only events without spans around them: the default format would
        // print the spans' names and fields.
        if self.fast
            && meta.target() == ACCESS_TARGET
            && *meta.level() == tracing::Level::INFO
            && ctx.lookup_current().is_none()
        {
            return access_line(&mut writer, event, SystemTime::now());
        }
        self.default.format_event(ctx, writer, event)
    }
}

/// Writes `{time}  INFO ropewalk::access: {message} {name}={value}...` and
/// a newline, as the default format does.
fn access_line(w: &mut impl fmt::Write, event: &Event<'_>, now: SystemTime) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    write_time(w, since.as_secs(), since.subsec_micros())?;
    w.write_str("  INFO ")?;
    w.write_str(ACCESS_TARGET)?;
    w.write_str(": ")?;
    let mut fields = Fields {
        w,
        first: true,
        result: Ok(()),
    };
    event.record(&mut fields);
    fields.result?;
    w.write_char('\n')
}

/// Writes each field as the default format does: the message bare, then
/// ` name=value` (strings quoted and escaped, other values as `Debug`).
struct Fields<'a, W> {
    w: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<W: fmt::Write> Fields<'_, W> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if field.name() == "message" {
                if !self.first {
                    self.w.write_char(' ')?;
                }
            } else {
                if !self.first {
                    self.w.write_char(' ')?;
                }
                self.w.write_str(field.name())?;
                self.w.write_char('=')?;
            }
            self.first = false;
            value(self.w)
        })();
    }
}

impl<W: fmt::Write> Visit for Fields<'_, W> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        // Decimal digits without `fmt`'s padding machinery.
        self.field(field, |w| w.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, |w| w.write_str(value));
        } else {
            self.field(field, |w| write!(w, "{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| write!(w, "{value:?}"));
    }
}

thread_local! {
    /// The second last formatted on this thread, and its text
    /// (`YYYY-MM-DDTHH:MM:SS`).
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Writes `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` (UTC), the default format's time.
fn write_time(w: &mut impl fmt::Write, secs: u64, micros: u32) -> fmt::Result {
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let (y, mo, d) = civil_from_days(secs / 86_400);
            let s = secs % 86_400;
            cached.1.clear();
            let _ = write!(
                cached.1,
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
                s / 3600,
                s / 60 % 60,
                s % 60
            );
            cached.0 = secs;
        }
        w.write_str(&cached.1)
    })?;
    w.write_char('.')?;
    let mut digits = [b'0'; 6];
    let mut m = micros.min(999_999);
    for d in digits.iter_mut().rev() {
        *d = b'0' + (m % 10) as u8;
        m /= 10;
    }
    w.write_str(std::str::from_utf8(&digits).unwrap_or("000000"))?;
    w.write_char('Z')
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[test]
    fn dates_and_times() {
        let t = |secs, micros| {
            let mut s = String::new();
            write_time(&mut s, secs, micros).unwrap();
            s
        };
        assert_eq!(t(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(t(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(t(1_798_761_599, 999_999), "2026-12-31T23:59:59.999999Z");
        assert_eq!(t(1_798_761_600, 123_456), "2027-01-01T00:00:00.123456Z");
        assert_eq!(t(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
    }

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Sink;
        fn make_writer(&'a self) -> Sink {
            self.clone()
        }
    }

    /// The lines `log` writes with the default format and with ours.
    fn both(log: impl Fn()) -> (String, String) {
        let run = |fast: bool| {
            let sink = Sink::default();
            let fmt = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(sink.clone());
            if fast {
                tracing::subscriber::with_default(
                    fmt.event_format(Lines::new(false)).finish(),
                    &log,
                );
            } else {
                tracing::subscriber::with_default(fmt.finish(), &log);
            }
            String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
        };
        (run(false), run(true))
    }

    #[test]
    fn access_lines_read_as_the_default_format_writes_them() {
        let peer: std::net::SocketAddr = "127.0.0.1:60200".parse().unwrap();
        let (default, ours) = both(|| {
            tracing::info!(
                target: "ropewalk::access",
                peer = %peer,
                method = %"GET",
                path = "/hello?x=\"1\"&é",
                status = 200u16,
                bytes = 13u64,
                complete = true,
                us = 91u64,
                "request"
            );
        });
        // The same text after the timestamp (27 characters).
        assert_eq!(default.len(), ours.len(), "{default:?} vs {ours:?}");
        assert_eq!(default[27..], ours[27..]);
        assert!(ours[27..].starts_with("  INFO ropewalk::access: request peer=127.0.0.1:60200"));
        assert!(ours.ends_with("complete=true us=91\n"), "{ours:?}");
        // The timestamp has the default's shape and is close to it.
        let (a, b) = (&default[..27], &ours[..27]);
        assert_eq!(a.len(), b.len());
        assert_eq!(a[..16], b[..16], "{a} vs {b}");
        assert_eq!(&b[19..20], ".");
        assert!(b.ends_with('Z'));
    }

    #[test]
    fn integers_at_their_extremes_read_as_the_default_writes_them() {
        let (default, ours) = both(|| {
            tracing::info!(target: "ropewalk::access", bytes = u64::MAX, us = 0u64, "request");
        });
        assert_eq!(default[27..], ours[27..]);
        assert!(
            ours.ends_with("bytes=18446744073709551615 us=0\n"),
            "{ours:?}"
        );
    }

    #[test]
    fn other_events_keep_the_default_format() {
        let (default, ours) = both(|| {
            tracing::warn!(target: "ropewalk::server", stream = 3u32, "handler failed");
            let _span = tracing::info_span!("conn", id = 7u64).entered();
            tracing::info!(target: "ropewalk::access", peer = "x", "inside a span");
        });
        assert_eq!(default.lines().count(), 2);
        assert_eq!(
            default.lines().map(|l| &l[27..]).collect::<Vec<_>>(),
            ours.lines().map(|l| &l[27..]).collect::<Vec<_>>()
        );
    }
}
