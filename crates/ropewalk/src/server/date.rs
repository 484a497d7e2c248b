//! The `Date` header of responses (RFC 9110 §6.6.1), formatted at most once
//! per second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::DATE;
use http::{HeaderMap, HeaderValue, StatusCode};

thread_local! {
    static CACHED: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
}

/// The current time as an IMF-fixdate (RFC 9110 §5.6.7).
pub(crate) fn now() -> HeaderValue {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if let Some((at, value)) = &*cached {
            if *at == secs {
                return value.clone();
            }
        }
        let text = httpdate::fmt_http_date(now);
        // IMF-fixdate is plain ASCII, always a valid field value.
        let value = HeaderValue::from_maybe_shared(Bytes::from(text))
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        *cached = Some((secs, value.clone()));
        value
    })
}

/// RFC 9110 §6.6.1: an origin server with a clock MUST send `Date` in 2xx,
/// 3xx and 4xx responses (and MAY in 1xx and 5xx: we do in 5xx). A `Date`
/// the handler set is kept. `date` gives the value (the caller may have it
/// already: the server reads the clock once per batch of responses).
pub(crate) fn ensure(
    headers: &mut HeaderMap,
    status: StatusCode,
    date: impl FnOnce() -> HeaderValue,
) {
    if !status.is_informational() {
        // One lookup, not a lookup and then an insert.
        if let http::header::Entry::Vacant(e) = headers.entry(DATE) {
            e.insert(date());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_an_imf_fixdate_of_now_and_kept_when_set() {
        let mut h = HeaderMap::new();
        ensure(&mut h, StatusCode::OK, now);
        let v = h[DATE].to_str().unwrap();
        assert_eq!(v.len(), 29, "{v}");
        assert!(v.ends_with(" GMT"), "{v}");
        let t = httpdate::parse_http_date(v).unwrap();
        let age = SystemTime::now().duration_since(t).unwrap();
        assert!(age.as_secs() <= 2, "{v}");

        let mut h = HeaderMap::new();
        h.insert(
            DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        ensure(&mut h, StatusCode::NOT_FOUND, now);
        assert_eq!(h[DATE], "Sun, 06 Nov 1994 08:49:37 GMT");

        let mut h = HeaderMap::new();
        ensure(&mut h, StatusCode::EARLY_HINTS, now);
        assert!(h.get(DATE).is_none());
    }
}
