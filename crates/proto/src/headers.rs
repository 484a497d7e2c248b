//! HTTP message heads: validation of received field blocks (RFC 9113
//! §8.2–§8.3, RFC 8441 §4) into an [`http::HeaderMap`] plus pseudo-headers,
//! and the field list we send.
//!
//! A block that breaks a rule is *malformed* (RFC 9113 §8.1.1): the stream is
//! reset with PROTOCOL_ERROR; the connection survives.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, TE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};

use crate::field_cache::Parsed;

/// The `:protocol` pseudo-header of an extended CONNECT request (RFC 8441
/// §4). Inserted into `http::Extensions` by [`RequestHead::into_parts`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Protocol(pub String);

/// A request head: pseudo-headers and regular fields.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestHead {
    /// `:method`.
    pub method: Method,
    /// `:scheme` (absent only for CONNECT).
    pub scheme: Option<Scheme>,
    /// `:authority`.
    pub authority: Option<Authority>,
    /// `:path` (absent only for CONNECT).
    pub path: Option<PathAndQuery>,
    /// `:protocol` (extended CONNECT only).
    pub protocol: Option<Protocol>,
    /// Regular fields.
    pub headers: HeaderMap,
}

impl RequestHead {
    /// A request with `method` and `uri` (scheme, authority and path taken
    /// from it) and no fields.
    ///
    /// ```
    /// use ropewalk_proto::headers::RequestHead;
    ///
    /// let head = RequestHead::new(http::Method::GET, "https://example.com/a?b".parse().unwrap());
    /// assert_eq!(head.path.as_ref().unwrap().as_str(), "/a?b");
    /// let parts = head.into_parts();
    /// assert_eq!(parts.uri, "https://example.com/a?b");
    /// ```
    pub fn new(method: Method, uri: Uri) -> RequestHead {
        let parts = uri.into_parts();
        let connect = method == Method::CONNECT;
        RequestHead {
            scheme: if connect { None } else { parts.scheme },
            authority: parts.authority,
            path: if connect {
                None
            } else {
                Some(
                    parts
                        .path_and_query
                        .unwrap_or_else(|| PathAndQuery::from_static("/")),
                )
            },
            method,
            protocol: None,
            headers: HeaderMap::new(),
        }
    }

    /// Converts from `http` request parts (the `Protocol` extension, if any,
    /// becomes `:protocol`).
    pub fn from_parts(parts: http::request::Parts) -> RequestHead {
        let mut head = RequestHead::new(parts.method, parts.uri);
        head.protocol = parts.extensions.get::<Protocol>().cloned();
        if head.protocol.is_some() && head.path.is_none() {
            head.path = Some(PathAndQuery::from_static("/"));
        }
        head.headers = parts.headers;
        head
    }

    /// Converts into `http` request parts (version HTTP/2; `:protocol` as a
    /// [`Protocol`] extension). Field values are moved, not copied.
    pub fn into_parts(self) -> http::request::Parts {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let mut uri = http::uri::Parts::default();
        uri.scheme = self.scheme;
        uri.authority = self.authority;
        uri.path_and_query = self.path;
        if uri.scheme.is_some() && uri.authority.is_none() {
            // `Uri` cannot carry a scheme without an authority.
            uri.scheme = None;
        }
        parts.uri = Uri::from_parts(uri).unwrap_or_default();
        parts.method = self.method;
        parts.version = http::Version::HTTP_2;
        parts.headers = self.headers;
        if let Some(p) = self.protocol {
            parts.extensions.insert(p);
        }
        parts
    }
}

/// A response head (final or informational).
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseHead {
    /// `:status`.
    pub status: StatusCode,
    /// Regular fields.
    pub headers: HeaderMap,
}

impl ResponseHead {
    /// A response with `status` and no fields.
    pub fn new(status: StatusCode) -> ResponseHead {
        ResponseHead {
            status,
            headers: HeaderMap::new(),
        }
    }

    /// Converts from `http` response parts.
    pub fn from_parts(parts: http::response::Parts) -> ResponseHead {
        ResponseHead {
            status: parts.status,
            headers: parts.headers,
        }
    }

    /// Converts into `http` response parts (version HTTP/2).
    pub fn into_parts(self) -> http::response::Parts {
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = self.status;
        parts.version = http::Version::HTTP_2;
        parts.headers = self.headers;
        parts
    }
}

/// What a field block is expected to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// A request (HEADERS on a new stream, or a PUSH_PROMISE).
    Request,
    /// A response (final or 1xx).
    Response,
    /// Trailers.
    Trailers,
}

/// A validated field block.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A request head.
    Request(RequestHead),
    /// A response head.
    Response(ResponseHead),
    /// A trailer section.
    Trailers(HeaderMap),
}

/// Why a field block is malformed (RFC 9113 §8.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed message: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

/// RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2.
const CONNECTION_SPECIFIC: [&[u8]; 5] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];

/// Whether a block had fields the connection reads from its map
/// (`content-length`, RFC 9110 §8.6; `priority`, RFC 9218 §5), so that
/// it looks them up only then.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen {
    pub(crate) content_length: bool,
    pub(crate) priority: bool,
    /// `host`, which the builder compares with `:authority`.
    host: bool,
}

impl Seen {
    fn note(&mut self, name: &HeaderName) {
        self.content_length |= name == CONTENT_LENGTH;
        self.priority |= name.as_str() == "priority";
        self.host |= name == HOST;
    }

    /// [`content_length`] of `headers`, the map of the block seen.
    pub(crate) fn content_length_in(self, headers: &HeaderMap) -> Result<Option<u64>, Malformed> {
        if self.content_length {
            content_length(headers)
        } else {
            Ok(None)
        }
    }
}

/// Collects the fields of one block (as the HPACK decoder yields them) and
/// validates them.
#[derive(Debug)]
pub struct BlockBuilder {
    kind: BlockKind,
    connect_protocol: bool,
    method: Option<Method>,
    scheme: Option<Scheme>,
    authority: Option<Authority>,
    path: Option<PathAndQuery>,
    protocol: Option<Protocol>,
    status: Option<StatusCode>,
    headers: HeaderMap,
    seen_regular: bool,
    /// `cookie` fields so far (crumbs to join when more than one).
    cookies: usize,
    /// Which fields looked up later came (see [`Seen`]).
    seen: Seen,
    error: Option<&'static str>,
    /// Where field values are copied: each value is split off as a `Bytes`
    /// sharing one buffer, so a block costs one allocation (or none, when
    /// the buffer of an earlier block is free again) rather than one per
    /// value. A value kept longer keeps that buffer alive.
    values: BytesMut,
    /// Octets copied into `values` for this block.
    copied: usize,
}

/// Octets a connection's field-value buffer gets when it runs low: the
/// values of a few dozen typical requests.
const VALUE_BUFFER: usize = 4096;

impl BlockBuilder {
    /// A builder for a block of `kind`; `connect_protocol` says whether we
    /// advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
    pub fn new(kind: BlockKind, connect_protocol: bool) -> BlockBuilder {
        BlockBuilder::with_buffer(kind, connect_protocol, BytesMut::new())
    }

    /// As [`new`](BlockBuilder::new), copying field values into `values`
    /// (get it back with [`take_buffer`](BlockBuilder::take_buffer) for the
    /// next block). The buffer is topped up to a few KiB first: its space
    /// is reused once the values split off it earlier are dropped.
    pub fn with_buffer(
        kind: BlockKind,
        connect_protocol: bool,
        mut values: BytesMut,
    ) -> BlockBuilder {
        if values.capacity() < VALUE_BUFFER / 4 {
            values.reserve(VALUE_BUFFER);
        }
        BlockBuilder {
            kind,
            connect_protocol,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            protocol: None,
            status: None,
            headers: HeaderMap::new(),
            seen_regular: false,
            cookies: 0,
            seen: Seen::default(),
            error: None,
            values,
            copied: 0,
        }
    }

    /// Decodes into `headers` (emptied first) rather than into a new map:
    /// a map allocated elsewhere (on the thread that will free it) is
    /// filled instead of one allocated here.
    pub fn with_map(mut self, mut headers: HeaderMap) -> BlockBuilder {
        headers.clear();
        self.headers = headers;
        self
    }

    /// The value buffer, for the next block's [`with_buffer`](BlockBuilder::with_buffer).
    /// After a block whose values outgrew the usual size an empty one, so
    /// that a connection does not keep a large buffer for the rest of its
    /// life (it is freed with the last of those values).
    pub fn take_buffer(&mut self) -> BytesMut {
        let values = std::mem::take(&mut self.values);
        if self.copied > VALUE_BUFFER {
            BytesMut::new()
        } else {
            values
        }
    }

    /// `value` copied into the shared buffer.
    fn copy(&mut self, value: &[u8]) -> Bytes {
        self.copied += value.len();
        self.values.extend_from_slice(value);
        self.values.split().freeze()
    }

    fn fail(&mut self, why: &'static str) {
        if self.error.is_none() {
            self.error = Some(why);
        }
    }

    /// Adds one decoded field. After the first error the remaining fields
    /// are ignored (the caller still decodes them to keep HPACK in sync).
    pub fn field(&mut self, name: &[u8], value: &[u8], sensitive: bool) {
        if self.error.is_some() {
            return;
        }
        if let Err(why) = self.try_field(name, value, sensitive, false) {
            self.fail(why);
        }
    }

    /// As [`field`](Self::field), for a field of the peer's dynamic table
    /// (sent by its index) that is to be kept (`FieldCache`): its value gets
    /// octets of its own, not a slice of the shared buffer, and what it was
    /// parsed into comes back (`None` for fields not kept: `:method`,
    /// `:scheme`, `:protocol`, `:status`, or one that was refused).
    pub(crate) fn field_to_keep(&mut self, name: &[u8], value: &[u8]) -> Option<Parsed> {
        if self.error.is_some() {
            return None;
        }
        match self.try_field(name, value, false, true) {
            Ok(parsed) => parsed,
            Err(why) => {
                self.fail(why);
                None
            }
        }
    }

    /// Adds a field kept from an earlier block (`FieldCache`): its octets
    /// were checked then; what depends on this block (the order and
    /// repetition of pseudo-headers, the kind of block, cookies) is checked
    /// now, with the same verdicts as [`field`](Self::field).
    pub(crate) fn kept(&mut self, parsed: &Parsed) {
        if self.error.is_some() {
            return;
        }
        let res = match parsed {
            Parsed::Field(name, value) => {
                self.note_regular(name);
                self.headers.append(name.clone(), value.clone());
                Ok(())
            }
            Parsed::Authority(a) => self.pseudo_place(b"authority").map(|()| {
                self.authority = Some(a.clone());
            }),
            Parsed::Path(p) => self.pseudo_place(b"path").map(|()| {
                self.path = Some(p.clone());
            }),
        };
        if let Err(why) = res {
            self.fail(why);
        }
    }

    /// What a regular field, parsed now or kept, tells of the block: no
    /// pseudo-header may follow, cookie crumbs to join, fields looked up
    /// later ([`Seen`]).
    fn note_regular(&mut self, name: &HeaderName) {
        self.seen_regular = true;
        if name == http::header::COOKIE {
            self.cookies += 1;
        }
        self.seen.note(name);
    }

    /// A value's octets: a slice of the shared buffer, or (`own`) a copy of
    /// its own.
    fn value_bytes(&mut self, value: &[u8], own: bool) -> Bytes {
        if own {
            Bytes::copy_from_slice(value)
        } else {
            self.copy(value)
        }
    }

    /// Checks and adds a field; with `keep`, its value has octets of its own
    /// and what it was parsed into comes back, for the fields `Parsed` has.
    fn try_field(
        &mut self,
        name: &[u8],
        value: &[u8],
        sensitive: bool,
        keep: bool,
    ) -> Result<Option<Parsed>, &'static str> {
        // RFC 9113 §8.2.1: a field name is never empty (also CVE-2019-9516).
        if name.is_empty() {
            return Err("empty field name");
        }
        // RFC 9113 §8.2.1: no leading or trailing whitespace in a value.
        if matches!(value.first(), Some(b' ' | b'\t')) || matches!(value.last(), Some(b' ' | b'\t'))
        {
            return Err("whitespace around field value");
        }
        if name[0] == b':' {
            // RFC 9113 §8.2.1: no NUL, CR or LF in a value (for regular
            // fields, `HeaderValue` sees to it below).
            if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
                return Err("NUL, CR or LF in field value");
            }
            return self.pseudo(&name[1..], value, keep);
        }
        // RFC 9113 §8.2.1: names contain no 0x00-0x20, 0x41-0x5a, 0x7f-0xff,
        // and a colon only starts pseudo-headers. `HeaderName` takes token
        // characters only, which excludes all of those but uppercase
        // letters, and those it lowercases: a name that comes out changed
        // had some.
        let parsed = HeaderName::from_bytes(name).map_err(|_| "invalid character in field name")?;
        if parsed.as_str().as_bytes() != name {
            return Err("invalid character in field name");
        }
        // RFC 9113 §8.2.2: connection-specific fields.
        if CONNECTION_SPECIFIC.contains(&name) {
            return Err("connection-specific field");
        }
        // RFC 9113 §8.2.2: TE may only contain "trailers".
        if name == b"te" && value != b"trailers" {
            return Err("TE other than \"trailers\"");
        }
        self.note_regular(&parsed);
        // RFC 9113 §8.2.1: no NUL, CR or LF in a value; `HeaderValue`
        // refuses every control octet but HTAB.
        let bytes = self.value_bytes(value, keep);
        let mut value = HeaderValue::from_maybe_shared(bytes).map_err(|_| "invalid field value")?;
        value.set_sensitive(sensitive);
        let kept = keep.then(|| Parsed::Field(parsed.clone(), value.clone()));
        self.headers.append(parsed, value);
        Ok(kept)
    }

    /// RFC 9113 §8.3: pseudo-headers precede regular fields, appear once,
    /// are never in trailers, and only the defined ones are allowed (those
    /// of requests in requests, `:status` in responses).
    fn pseudo_place(&self, name: &[u8]) -> Result<(), &'static str> {
        if self.kind == BlockKind::Trailers {
            return Err("pseudo-header in trailers");
        }
        if self.seen_regular {
            return Err("pseudo-header after regular field");
        }
        let request = self.kind == BlockKind::Request;
        let (seen, why) = match (name, request) {
            (b"method", true) => (self.method.is_some(), "duplicate :method"),
            (b"scheme", true) => (self.scheme.is_some(), "duplicate :scheme"),
            (b"authority", true) => (self.authority.is_some(), "duplicate :authority"),
            (b"path", true) => (self.path.is_some(), "duplicate :path"),
            (b"protocol", true) => (self.protocol.is_some(), "duplicate :protocol"),
            (b"status", false) => (self.status.is_some(), "duplicate :status"),
            _ => return Err("unknown or misplaced pseudo-header"),
        };
        if seen {
            return Err(why);
        }
        Ok(())
    }

    fn pseudo(
        &mut self,
        name: &[u8],
        value: &[u8],
        keep: bool,
    ) -> Result<Option<Parsed>, &'static str> {
        self.pseudo_place(name)?;
        match name {
            b"method" => {
                self.method = Some(Method::from_bytes(value).map_err(|_| "invalid :method")?);
            }
            b"scheme" => {
                self.scheme = Some(Scheme::try_from(value).map_err(|_| "invalid :scheme")?);
            }
            b"authority" => {
                let bytes = self.value_bytes(value, keep);
                let a = Authority::from_maybe_shared(bytes).map_err(|_| "invalid :authority")?;
                let kept = keep.then(|| Parsed::Authority(a.clone()));
                self.authority = Some(a);
                return Ok(kept);
            }
            b"path" => {
                // RFC 9113 §8.3.1: ":path" MUST NOT be empty.
                if value.is_empty() {
                    return Err("empty :path");
                }
                let bytes = self.value_bytes(value, keep);
                let p = PathAndQuery::from_maybe_shared(bytes).map_err(|_| "invalid :path")?;
                let kept = keep.then(|| Parsed::Path(p.clone()));
                self.path = Some(p);
                return Ok(kept);
            }
            b"protocol" => {
                // RFC 8441 §3: only when we advertised the setting.
                if !self.connect_protocol {
                    return Err(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL");
                }
                let p = std::str::from_utf8(value).map_err(|_| "invalid :protocol")?;
                self.protocol = Some(Protocol(p.to_owned()));
            }
            // `pseudo_place` let only `:status` through besides those.
            _ => {
                if value.len() != 3 {
                    return Err("invalid :status");
                }
                self.status = Some(StatusCode::from_bytes(value).map_err(|_| "invalid :status")?);
            }
        }
        Ok(None)
    }

    /// Which of the fields the connection looks up came in this block.
    pub(crate) fn seen(&self) -> Seen {
        self.seen
    }

    /// Finishes the block: checks the required pseudo-headers.
    pub fn finish(mut self) -> Result<Message, Malformed> {
        if let Some(why) = self.error {
            return Err(Malformed(why));
        }
        // RFC 9113 §8.2.3: cookie crumbs are joined with "; " before the
        // message leaves HTTP/2.
        if self.cookies > 1 {
            let joined = self
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(|v| v.as_bytes())
                .collect::<Vec<_>>()
                .join(&b"; "[..]);
            let value = HeaderValue::from_maybe_shared(Bytes::from(joined))
                .map_err(|_| Malformed("invalid cookie"))?;
            self.headers.insert(http::header::COOKIE, value);
        }
        match self.kind {
            BlockKind::Trailers => Ok(Message::Trailers(self.headers)),
            BlockKind::Response => {
                let status = self.status.ok_or(Malformed("missing :status"))?;
                // RFC 9113 §8.6: 101 (Switching Protocols) is not allowed.
                if status == StatusCode::SWITCHING_PROTOCOLS {
                    return Err(Malformed("101 response"));
                }
                Ok(Message::Response(ResponseHead {
                    status,
                    headers: self.headers,
                }))
            }
            BlockKind::Request => {
                let method = self.method.ok_or(Malformed("missing :method"))?;
                if method == Method::CONNECT && self.protocol.is_none() {
                    // RFC 9113 §8.5: CONNECT has only :method and :authority.
                    if self.scheme.is_some() || self.path.is_some() {
                        return Err(Malformed("CONNECT with :scheme or :path"));
                    }
                    if self.authority.is_none() {
                        return Err(Malformed("CONNECT without :authority"));
                    }
                } else {
                    if self.protocol.is_some() {
                        // RFC 8441 §4: :protocol only on CONNECT, which then
                        // carries :scheme, :path and :authority.
                        if method != Method::CONNECT {
                            return Err(Malformed(":protocol on a non-CONNECT request"));
                        }
                        if self.authority.is_none() {
                            return Err(Malformed("extended CONNECT without :authority"));
                        }
                    }
                    // RFC 9113 §8.3.1: :method, :scheme and :path are required.
                    if self.scheme.is_none() {
                        return Err(Malformed("missing :scheme"));
                    }
                    let path = self.path.as_ref().ok_or(Malformed("missing :path"))?;
                    // RFC 9113 §8.3.1: "*" only for OPTIONS; otherwise http(s)
                    // paths start with "/".
                    let p = path.as_str();
                    if p == "*" {
                        if method != Method::OPTIONS {
                            return Err(Malformed(":path \"*\" on a non-OPTIONS request"));
                        }
                    } else if !p.starts_with('/') {
                        return Err(Malformed(":path is not absolute"));
                    }
                }
                // RFC 9113 §8.3.1: Host and :authority must agree.
                let host = if self.seen.host {
                    self.headers.get(HOST)
                } else {
                    None
                };
                if let (Some(auth), Some(host)) = (&self.authority, host) {
                    if host.as_bytes() != auth.as_str().as_bytes() {
                        return Err(Malformed("Host differs from :authority"));
                    }
                }
                Ok(Message::Request(RequestHead {
                    method,
                    scheme: self.scheme,
                    authority: self.authority,
                    path: self.path,
                    protocol: self.protocol,
                    headers: self.headers,
                }))
            }
        }
    }
}

/// The `content-length` of a head, if any (RFC 9110 §8.6; RFC 9113 §8.1.1).
/// Several equal values are accepted; differing or invalid ones are
/// malformed.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Malformed> {
    let mut found = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        for part in v.as_bytes().split(|&b| b == b',') {
            let n = decimal(part.trim_ascii()).ok_or(Malformed("invalid content-length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(Malformed("conflicting content-length"));
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// A `content-length` value: 1 to 19 ASCII digits (RFC 9110 §8.6), which
/// always fit a `u64`. Read by hand: the value of nearly every response.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// A field to encode. Regular fields keep the [`HeaderName`] and
/// [`HeaderValue`] they came in (moved or shared, not copied); pseudo-header
/// names are static.
#[derive(Clone, Debug, PartialEq)]
pub struct OutField {
    name: OutName,
    value: OutValue,
}

#[derive(Clone, Debug, PartialEq)]
enum OutName {
    Pseudo(&'static str),
    Regular(HeaderName),
}

#[derive(Clone, Debug, PartialEq)]
enum OutValue {
    /// A pseudo-header's value.
    Octets(Bytes),
    /// `:authority`, as the request had it (no copy).
    Authority(Authority),
    /// `:path`, as the request had it (no copy).
    Path(PathAndQuery),
    /// A regular field's value; it says whether it is sensitive.
    Header(HeaderValue),
}

impl OutField {
    /// A regular field.
    pub fn new(name: HeaderName, value: HeaderValue) -> OutField {
        OutField {
            name: OutName::Regular(name),
            value: OutValue::Header(value),
        }
    }

    fn pseudo(name: &'static str, value: Bytes) -> OutField {
        OutField {
            name: OutName::Pseudo(name),
            value: OutValue::Octets(value),
        }
    }

    /// The name's octets (pseudo-headers with their colon).
    pub fn name(&self) -> &[u8] {
        match &self.name {
            OutName::Pseudo(n) => n.as_bytes(),
            OutName::Regular(n) => n.as_str().as_bytes(),
        }
    }

    /// The value's octets.
    pub fn value(&self) -> &[u8] {
        match &self.value {
            OutValue::Octets(v) => v,
            OutValue::Authority(a) => a.as_str().as_bytes(),
            OutValue::Path(p) => p.as_str().as_bytes(),
            OutValue::Header(v) => v.as_bytes(),
        }
    }

    /// Never to be indexed (RFC 7541 §7.1.3): [`HeaderValue::is_sensitive`].
    pub fn is_sensitive(&self) -> bool {
        matches!(&self.value, OutValue::Header(v) if v.is_sensitive())
    }
}

/// Checks a regular field we are about to send against RFC 9113 §8.2.2.
fn check_out(name: &HeaderName, value: &HeaderValue) -> Result<(), Malformed> {
    if CONNECTION_SPECIFIC.contains(&name.as_str().as_bytes()) {
        return Err(Malformed("connection-specific field"));
    }
    if name == TE && value.as_bytes() != b"trailers" {
        return Err(Malformed("TE other than \"trailers\""));
    }
    Ok(())
}

/// Moves `headers`' fields into `out`, checked; a name repeated in the map
/// comes once per value.
/// The map is left empty, its allocation kept (see
/// [`request_fields_keeping_map`]).
fn push_regular(out: &mut Vec<OutField>, headers: &mut HeaderMap) -> Result<(), Malformed> {
    let mut last: Option<HeaderName> = None;
    for (name, value) in headers.drain() {
        let name = match name {
            Some(n) => {
                last = Some(n.clone());
                n
            }
            // `HeaderMap::drain` gives a repeated name once.
            None => match &last {
                Some(n) => n.clone(),
                None => continue,
            },
        };
        check_out(&name, &value)?;
        out.push(OutField::new(name, value));
    }
    Ok(())
}

fn pseudo(name: &'static str, value: &str) -> OutField {
    OutField::pseudo(name, Bytes::copy_from_slice(value.as_bytes()))
}

fn pseudo_static(name: &'static str, value: &'static [u8]) -> OutField {
    OutField::pseudo(name, Bytes::from_static(value))
}

/// The fields of a request we send (pseudo-headers first, RFC 9113 §8.3).
pub fn request_fields(head: RequestHead) -> Result<Vec<OutField>, Malformed> {
    request_fields_keeping_map(head).map(|(fields, _)| fields)
}

/// As [`request_fields`], also giving back the request's header map,
/// emptied but with its allocation, to decode the response into (see
/// `Connection::send_request`).
pub(crate) fn request_fields_keeping_map(
    mut head: RequestHead,
) -> Result<(Vec<OutField>, HeaderMap), Malformed> {
    let mut out = Vec::with_capacity(head.headers.len() + 5);
    // The common methods and schemes without copying them.
    let method: Option<&'static [u8]> = match head.method {
        Method::GET => Some(b"GET"),
        Method::POST => Some(b"POST"),
        Method::HEAD => Some(b"HEAD"),
        Method::PUT => Some(b"PUT"),
        Method::DELETE => Some(b"DELETE"),
        _ => None,
    };
    match method {
        Some(m) => out.push(pseudo_static(":method", m)),
        None => out.push(pseudo(":method", head.method.as_str())),
    }
    if let Some(s) = &head.scheme {
        if *s == Scheme::HTTP {
            out.push(pseudo_static(":scheme", b"http"));
        } else if *s == Scheme::HTTPS {
            out.push(pseudo_static(":scheme", b"https"));
        } else {
            out.push(pseudo(":scheme", s.as_str()));
        }
    }
    if let Some(a) = head.authority {
        out.push(OutField {
            name: OutName::Pseudo(":authority"),
            value: OutValue::Authority(a),
        });
    }
    if let Some(p) = head.path {
        out.push(OutField {
            name: OutName::Pseudo(":path"),
            value: OutValue::Path(p),
        });
    }
    if let Some(p) = &head.protocol {
        out.push(pseudo(":protocol", &p.0));
    }
    push_regular(&mut out, &mut head.headers)?;
    Ok((out, head.headers))
}

/// A field section to send, as it will be encoded: a list of fields, or a
/// response head encoded straight from its own map (no list is made for
/// the most common head of all).
#[derive(Debug)]
pub(crate) enum OutFields {
    /// Fields in order (requests, trailers, promised requests).
    List(Vec<OutField>),
    /// A response head whose fields were checked (`check_response`).
    Response(ResponseHead),
}

/// Checks a response head we send (RFC 9113 §8.2.2) and gives its size as
/// RFC 9113 §6.5.2 counts it ([`field_section_size`]).
pub(crate) fn check_response(head: &ResponseHead) -> Result<usize, Malformed> {
    let mut size = ":status".len() + 3 + 32;
    for (name, value) in &head.headers {
        check_out(name, value)?;
        size += name.as_str().len() + value.len() + 32;
    }
    Ok(size)
}

/// The fields of a response we send.
pub fn response_fields(mut head: ResponseHead) -> Result<Vec<OutField>, Malformed> {
    let mut out = Vec::with_capacity(head.headers.len() + 1);
    // The common statuses without copying them.
    let status: Option<&'static [u8]> = match head.status.as_u16() {
        200 => Some(b"200"),
        204 => Some(b"204"),
        206 => Some(b"206"),
        301 => Some(b"301"),
        302 => Some(b"302"),
        304 => Some(b"304"),
        404 => Some(b"404"),
        _ => None,
    };
    match status {
        Some(v) => out.push(pseudo_static(":status", v)),
        None => out.push(pseudo(":status", head.status.as_str())),
    }
    push_regular(&mut out, &mut head.headers)?;
    Ok(out)
}

/// The size of a field section as RFC 9113 §6.5.2 counts it for
/// SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 octets per field.
pub fn field_section_size(fields: &[OutField]) -> usize {
    fields
        .iter()
        .map(|f| f.name().len() + f.value().len() + 32)
        .sum()
}

/// The fields of a trailer section we send.
pub fn trailer_fields(mut trailers: HeaderMap) -> Result<Vec<OutField>, Malformed> {
    let mut out = Vec::with_capacity(trailers.len());
    push_regular(&mut out, &mut trailers)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(kind: BlockKind, fields: &[(&str, &str)]) -> Result<Message, Malformed> {
        build_ext(kind, false, fields)
    }

    fn build_ext(
        kind: BlockKind,
        connect_protocol: bool,
        fields: &[(&str, &str)],
    ) -> Result<Message, Malformed> {
        let mut b = BlockBuilder::new(kind, connect_protocol);
        for (n, v) in fields {
            b.field(n.as_bytes(), v.as_bytes(), false);
        }
        b.finish()
    }

    const GET: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/x"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = GET.to_vec();
        v.extend_from_slice(extra);
        v
    }

    /// Where `v` starts, counted from `base` (the first octet of a block's
    /// value buffer).
    fn offset(base: *const u8, v: &[u8]) -> usize {
        v.as_ptr() as usize - base as usize
    }

    #[test]
    fn a_blocks_values_share_one_buffer_which_later_blocks_reuse() {
        let block = |values: BytesMut| {
            let mut b = BlockBuilder::with_buffer(BlockKind::Request, false, values);
            for (n, v) in with(&[("accept", "*/*"), ("user-agent", "t/1")]) {
                b.field(n.as_bytes(), v.as_bytes(), false);
            }
            let rest = b.take_buffer();
            let Ok(Message::Request(r)) = b.finish() else {
                panic!("valid request");
            };
            (r, rest)
        };
        let (r, rest) = block(BytesMut::new());
        // Values in the order they came, back to back in one buffer:
        // "example.com", "/x", "*/*", "t/1".
        let base = r.authority.as_ref().unwrap().as_str().as_ptr();
        assert_eq!(r.authority.as_ref().unwrap().as_str(), "example.com");
        assert_eq!(
            offset(base, r.path.as_ref().unwrap().as_str().as_bytes()),
            11
        );
        assert_eq!(offset(base, r.headers["accept"].as_bytes()), 13);
        assert_eq!(offset(base, r.headers["user-agent"].as_bytes()), 16);
        // While they live, the next block writes after them; once they are
        // dropped, a block that runs the buffer low starts over at its
        // beginning instead of allocating.
        let (r2, rest) = block(rest);
        assert_eq!(
            offset(base, r2.authority.as_ref().unwrap().as_str().as_bytes()),
            19
        );
        drop((r, r2));
        let mut rest = rest;
        let left = rest.capacity();
        rest.extend_from_slice(&vec![b'x'; left]);
        drop(rest.split());
        let (r3, _) = block(rest);
        assert_eq!(r3.authority.as_ref().unwrap().as_str().as_ptr(), base);
    }

    #[test]
    fn a_block_with_large_values_does_not_leave_its_buffer_behind() {
        let big = "x".repeat(3 * VALUE_BUFFER);
        let mut b = BlockBuilder::with_buffer(BlockKind::Request, false, BytesMut::new());
        for (n, v) in GET {
            b.field(n.as_bytes(), v.as_bytes(), false);
        }
        b.field(b"cookie", big.as_bytes(), false);
        let rest = b.take_buffer();
        let Ok(Message::Request(r)) = b.finish() else {
            panic!("valid request");
        };
        assert_eq!(r.headers["cookie"].len(), big.len());
        drop(r);
        // The next block gets a buffer of the usual size, not the large one
        // back (its values are gone, so it could be).
        let mut b = BlockBuilder::with_buffer(BlockKind::Request, false, rest);
        for (n, v) in GET {
            b.field(n.as_bytes(), v.as_bytes(), false);
        }
        let next = b.take_buffer();
        assert!(next.capacity() < 2 * VALUE_BUFFER, "{}", next.capacity());
        assert!(next.capacity() > 0, "an ordinary block keeps its buffer");
    }

    #[test]
    fn rfc9113_8_3_1_valid_request() {
        let Message::Request(r) = build(BlockKind::Request, &with(&[("accept", "*/*")])).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.method, Method::GET);
        assert_eq!(r.headers["accept"], "*/*");
        let parts = r.into_parts();
        assert_eq!(parts.uri, "https://example.com/x");
        assert_eq!(parts.version, http::Version::HTTP_2);
    }

    /// What `field_to_keep` makes of a field on its own, if it keeps it.
    fn keepable(name: &str, value: &str) -> Option<Parsed> {
        BlockBuilder::new(BlockKind::Request, false)
            .field_to_keep(name.as_bytes(), value.as_bytes())
    }

    /// A field kept from an earlier block gets the verdict a fresh one
    /// gets: pseudo-header order, repetition and kind of block are checked
    /// each time, and cookies still join.
    #[test]
    fn kept_fields_get_the_verdicts_of_fresh_ones() {
        let cases: Vec<(BlockKind, Vec<(&str, &str)>)> = vec![
            (
                BlockKind::Request,
                with(&[("x-a", "1"), ("user-agent", "t/1")]),
            ),
            (
                BlockKind::Request,
                vec![
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/x"),
                    ("x-a", "1"),
                    (":authority", "e.com"),
                ],
            ),
            (
                BlockKind::Request,
                with(&[])
                    .into_iter()
                    .chain([(":authority", "f.com")])
                    .collect(),
            ),
            (
                BlockKind::Request,
                with(&[]).into_iter().chain([(":path", "/y")]).collect(),
            ),
            (
                BlockKind::Response,
                vec![(":status", "200"), (":authority", "e.com")],
            ),
            (
                BlockKind::Response,
                vec![(":path", "/x"), (":status", "200")],
            ),
            (BlockKind::Response, vec![(":status", "200"), ("x-a", "1")]),
            (BlockKind::Trailers, vec![(":path", "/x")]),
            (BlockKind::Trailers, vec![("x-a", "1")]),
            (
                BlockKind::Request,
                with(&[("cookie", "a=1"), ("cookie", "b=2")]),
            ),
        ];
        let mut kept = 0;
        for (kind, fields) in cases {
            let fresh = build(kind, &fields);
            let mut b = BlockBuilder::new(kind, false);
            for (n, v) in &fields {
                match keepable(n, v) {
                    Some(p) => {
                        b.kept(&p);
                        kept += 1;
                    }
                    None => b.field(n.as_bytes(), v.as_bytes(), false),
                }
            }
            assert_eq!(b.finish(), fresh, "{kind:?} {fields:?}");
        }
        assert!(kept >= 20, "{kept} fields went through `kept`");
        // What is kept: `:authority`, `:path` and regular fields.
        assert!(keepable(":method", "GET").is_none());
        assert!(keepable(":scheme", "https").is_none());
        assert!(matches!(
            keepable(":authority", "e.com"),
            Some(Parsed::Authority(_))
        ));
        assert!(matches!(keepable(":path", "/x"), Some(Parsed::Path(_))));
        assert!(matches!(keepable("x-a", "1"), Some(Parsed::Field(..))));
        assert!(keepable("x-a", "bad\u{1}").is_none());
    }

    /// A kept value has octets of its own: it would otherwise keep the
    /// connection's shared value buffer alive for as long as it is kept.
    #[test]
    fn kept_values_do_not_use_the_shared_buffer() {
        let mut b = BlockBuilder::with_buffer(BlockKind::Request, false, BytesMut::new());
        let before = b.values.capacity();
        assert!(b.field_to_keep(b":authority", b"example.com").is_some());
        assert!(b.field_to_keep(b"x-a", b"1").is_some());
        assert_eq!(b.copied, 0);
        b.field(b"x-b", b"2", false);
        assert_eq!(b.copied, 1);
        assert_eq!(b.values.capacity(), before - 1);
    }

    /// Whether a GET with the one extra field `name: value` is well formed.
    fn accepted(name: &'static str, value: &'static str) -> bool {
        build(BlockKind::Request, &with(&[(name, value)])).is_ok()
    }

    #[test]
    fn rfc9113_8_2_uppercase_name_malformed() {
        assert!(!accepted("Accept", "x"));
        // A standard name and an unknown one, each with one capital.
        assert!(!accepted("content-Type", "x"));
        assert!(!accepted("x-fOo", "x"));
        assert!(accepted("x-foo", "x"));
    }

    #[test]
    fn rfc9113_8_2_1_name_chars() {
        // 0x00-0x20, 0x7f-0xff and a colon after the first octet.
        for n in [
            "a b",
            "a\tb",
            "a\0b",
            "a\x7fb",
            "caf\u{e9}",
            "a:b",
            "a\r",
            "\x01",
        ] {
            assert_eq!(
                build(BlockKind::Request, &with(&[(n, "x")])),
                Err(Malformed("invalid character in field name")),
                "{n:?}"
            );
        }
    }

    #[test]
    fn rfc9113_8_2_1_empty_name_malformed() {
        assert_eq!(
            build(BlockKind::Request, &with(&[("", "x")])),
            Err(Malformed("empty field name"))
        );
    }

    #[test]
    fn rfc9113_8_2_1_value_chars() {
        for v in ["x\ny", "x\0y", "x\ry", "\r", " x", "x\t"] {
            assert!(!accepted("a", v), "{v:?}");
        }
        assert!(!accepted("user-agent", "\r"));
        assert!(accepted("a", "x y"));
        // Pseudo-header values too.
        let mut get = GET.to_vec();
        get[3] = (":path", "/a\nb");
        assert!(build(BlockKind::Request, &get).is_err());
    }

    #[test]
    fn rfc9113_8_2_2_connection_specific_malformed() {
        for n in [
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
            "upgrade",
        ] {
            assert!(
                build(BlockKind::Request, &with(&[(n, "x")])).is_err(),
                "{n}"
            );
        }
    }

    #[test]
    fn rfc9113_8_2_2_te_only_trailers() {
        assert!(build(BlockKind::Request, &with(&[("te", "trailers")])).is_ok());
        assert!(build(BlockKind::Request, &with(&[("te", "gzip")])).is_err());
    }

    #[test]
    fn rfc9113_8_3_pseudo_after_regular_malformed() {
        let f = [
            (":method", "GET"),
            (":scheme", "https"),
            ("a", "b"),
            (":path", "/"),
        ];
        assert!(build(BlockKind::Request, &f).is_err());
    }

    #[test]
    fn rfc9113_8_3_duplicate_pseudo_malformed() {
        assert!(build(BlockKind::Request, &with(&[(":path", "/y")])).is_err());
    }

    #[test]
    fn rfc9113_8_3_unknown_pseudo_malformed() {
        assert!(build(BlockKind::Request, &with(&[(":foo", "y")])).is_err());
        assert!(build(BlockKind::Request, &with(&[(":status", "200")])).is_err());
    }

    #[test]
    fn rfc9113_8_3_1_missing_pseudo_malformed() {
        for (skip, missing) in GET.iter().enumerate() {
            let f: Vec<_> = GET
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, f)| *f)
                .collect();
            let r = build(BlockKind::Request, &f);
            // :authority is optional
            assert_eq!(r.is_ok(), missing.0 == ":authority", "{missing:?}");
        }
    }

    #[test]
    fn rfc9113_8_3_1_empty_path_malformed() {
        let f = [(":method", "GET"), (":scheme", "https"), (":path", "")];
        assert!(build(BlockKind::Request, &f).is_err());
    }

    #[test]
    fn rfc9113_8_3_1_asterisk_only_for_options() {
        let f = [(":method", "OPTIONS"), (":scheme", "https"), (":path", "*")];
        assert!(build(BlockKind::Request, &f).is_ok());
        let f = [(":method", "GET"), (":scheme", "https"), (":path", "*")];
        assert!(build(BlockKind::Request, &f).is_err());
    }

    #[test]
    fn rfc9113_8_3_1_host_must_match_authority() {
        assert!(build(BlockKind::Request, &with(&[("host", "example.com")])).is_ok());
        assert!(build(BlockKind::Request, &with(&[("host", "evil.com")])).is_err());
        // The same, for a host field kept from an earlier block (sent again
        // by its table index, `FieldCache`).
        for (host, ok) in [("example.com", true), ("evil.com", false)] {
            let mut first = BlockBuilder::new(BlockKind::Request, false);
            let kept = first.field_to_keep(b"host", host.as_bytes()).unwrap();
            let mut b = BlockBuilder::new(BlockKind::Request, false);
            for (n, v) in GET {
                b.field(n.as_bytes(), v.as_bytes(), false);
            }
            b.kept(&kept);
            assert_eq!(b.finish().is_ok(), ok, "host: {host}");
        }
    }

    /// The connection reads `content-length` and `priority` from the map
    /// only when the block had them: parsed or kept from an earlier block.
    #[test]
    fn seen_notes_the_fields_the_connection_reads() {
        let mut first = BlockBuilder::new(BlockKind::Request, false);
        let kept: Vec<_> = [("content-length", "5"), ("priority", "u=1")]
            .iter()
            .map(|(n, v)| first.field_to_keep(n.as_bytes(), v.as_bytes()).unwrap())
            .collect();
        let fresh = |extra: &[(&'static str, &'static str)]| {
            let mut b = BlockBuilder::new(BlockKind::Request, false);
            for (n, v) in with(extra) {
                b.field(n.as_bytes(), v.as_bytes(), false);
            }
            b
        };
        let none = fresh(&[("user-agent", "x")]).seen();
        assert!(!none.content_length && !none.priority);
        let both = fresh(&[("content-length", "5"), ("priority", "u=1")]).seen();
        assert!(both.content_length && both.priority);
        for (i, k) in kept.iter().enumerate() {
            let mut b = fresh(&[]);
            b.kept(k);
            let seen = b.seen();
            assert_eq!((seen.content_length, seen.priority), (i == 0, i == 1));
            let head = match b.finish() {
                Ok(Message::Request(head)) => head,
                other => panic!("{other:?}"),
            };
            let cl = seen.content_length_in(&head.headers).unwrap();
            assert_eq!(cl, (i == 0).then_some(5));
        }
    }

    #[test]
    fn rfc9113_8_5_connect() {
        let ok = [(":method", "CONNECT"), (":authority", "example.com:443")];
        assert!(build(BlockKind::Request, &ok).is_ok());
        let no_auth = [(":method", "CONNECT")];
        assert!(build(BlockKind::Request, &no_auth).is_err());
        let with_path = [
            (":method", "CONNECT"),
            (":authority", "example.com:443"),
            (":path", "/"),
        ];
        assert!(build(BlockKind::Request, &with_path).is_err());
    }

    #[test]
    fn rfc8441_4_extended_connect() {
        let f = [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "example.com"),
        ];
        assert!(build_ext(BlockKind::Request, false, &f).is_err());
        let Message::Request(r) = build_ext(BlockKind::Request, true, &f).unwrap() else {
            panic!()
        };
        assert_eq!(r.protocol, Some(Protocol("websocket".into())));
        let parts = r.into_parts();
        assert_eq!(
            parts.extensions.get::<Protocol>(),
            Some(&Protocol("websocket".into()))
        );
        let get = [
            (":method", "GET"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
        ];
        assert!(build_ext(BlockKind::Request, true, &get).is_err());
    }

    #[test]
    fn rfc9113_8_3_2_response() {
        let Message::Response(r) =
            build(BlockKind::Response, &[(":status", "204"), ("a", "b")]).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(build(BlockKind::Response, &[("a", "b")]).is_err());
        assert!(build(BlockKind::Response, &[(":status", "2000")]).is_err());
        assert!(build(BlockKind::Response, &[(":status", "200"), (":path", "/")]).is_err());
    }

    #[test]
    fn rfc9113_8_6_101_malformed() {
        assert!(build(BlockKind::Response, &[(":status", "101")]).is_err());
    }

    #[test]
    fn rfc9113_8_1_trailers_without_pseudo() {
        assert!(build(BlockKind::Trailers, &[("grpc-status", "0")]).is_ok());
        assert!(build(BlockKind::Trailers, &[(":status", "200")]).is_err());
    }

    #[test]
    fn rfc9113_8_2_3_cookie_crumbs_joined() {
        let Message::Request(r) = build(
            BlockKind::Request,
            &with(&[("cookie", "a=1"), ("cookie", "b=2")]),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(r.headers["cookie"], "a=1; b=2");
        assert_eq!(r.headers.get_all("cookie").iter().count(), 1);
    }

    #[test]
    fn rfc9110_8_6_content_length() {
        let mut h = HeaderMap::new();
        assert_eq!(content_length(&h), Ok(None));
        h.append(CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert_eq!(content_length(&h), Ok(Some(10)));
        h.append(CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert_eq!(content_length(&h), Ok(Some(10)));
        h.append(CONTENT_LENGTH, HeaderValue::from_static("11"));
        assert!(content_length(&h).is_err());
        let one = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.append(CONTENT_LENGTH, HeaderValue::from_static(v));
            content_length(&h)
        };
        assert_eq!(one("0"), Ok(Some(0)));
        assert_eq!(one(" 7 "), Ok(Some(7)));
        // A list of equal values is that value; of unequal ones, malformed.
        assert_eq!(one("42, 42,42"), Ok(Some(42)));
        assert!(one("42, 43").is_err());
        assert_eq!(
            one("9999999999999999999"),
            Ok(Some(9_999_999_999_999_999_999))
        );
        for bad in [
            "-1",
            "+1",
            "",
            " ",
            "1,",
            ",1",
            "1 2",
            "0x10",
            "1e3",
            "12a",
            "99999999999999999999",
        ] {
            assert!(one(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sending_connection_specific_is_refused() {
        let mut head = ResponseHead::new(StatusCode::OK);
        head.headers
            .insert("connection", HeaderValue::from_static("close"));
        assert!(response_fields(head).is_err());
        let mut head = RequestHead::new(Method::GET, "https://a/".parse().unwrap());
        head.headers.insert("x", HeaderValue::from_static("y"));
        let f = request_fields(head).unwrap();
        assert_eq!(f[0].name(), b":method");
        assert_eq!(f.last().unwrap().name(), b"x");
    }

    #[test]
    fn sent_fields_keep_repeated_names_order_and_sensitivity() {
        let mut head = ResponseHead::new(StatusCode::from_u16(299).unwrap());
        head.headers
            .append("set-cookie", HeaderValue::from_static("a=1"));
        head.headers
            .append("x-custom", HeaderValue::from_static("x"));
        let mut secret = HeaderValue::from_static("b=2");
        secret.set_sensitive(true);
        head.headers.append("set-cookie", secret);
        let f = response_fields(head).unwrap();
        let got: Vec<(&[u8], &[u8], bool)> = f
            .iter()
            .map(|f| (f.name(), f.value(), f.is_sensitive()))
            .collect();
        assert_eq!(
            got,
            [
                (&b":status"[..], &b"299"[..], false),
                (b"set-cookie", b"a=1", false),
                (b"set-cookie", b"b=2", true),
                (b"x-custom", b"x", false),
            ]
        );
        assert_eq!(
            field_section_size(&f),
            7 + 3 + 2 * (10 + 3) + 8 + 1 + 4 * 32
        );
        let mut t = HeaderMap::new();
        t.append("grpc-status", HeaderValue::from_static("0"));
        t.append("te", HeaderValue::from_static("gzip"));
        assert!(trailer_fields(t).is_err());
    }
}
