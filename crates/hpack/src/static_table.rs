//! The static table (RFC 7541 §2.3.1, Appendix A) and the encoder's lookup into it.

use crate::bytes;

/// The 61 static table entries, RFC 7541 Appendix A. `STATIC_TABLE[i - 1]` is index `i`.
pub const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Number of entries in the static table; dynamic indices start after it (RFC 7541 §2.3.3).
pub const STATIC_LEN: usize = STATIC_TABLE.len();

/// Result of looking a field up in the static table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StaticMatch {
    /// No entry has this name.
    None,
    /// Entry `.0` has this name (the lowest such index) but no entry has this value too.
    Name(usize),
    /// Entry `.0` has this name and value.
    Full(usize),
}

/// Multiplier of the perfect hash over the 52 distinct static names; [`NAME_SLOTS`] is built
/// from it at compile time and the build fails if two names collide.
const NAME_HASH_MUL: u32 = 0x47fc_816b;

#[inline(always)]
const fn name_slot(name: &[u8]) -> usize {
    let len = name.len();
    let key = (len as u32)
        ^ ((name[0] as u32) << 8)
        ^ ((name[len - 1] as u32) << 16)
        ^ ((name[len / 2] as u32) << 24);
    (key.wrapping_mul(NAME_HASH_MUL) >> 24) as usize
}

/// Perfect hash slot → lowest static index with that name (0 = no name).
static NAME_SLOTS: [u8; 256] = {
    let mut slots = [0u8; 256];
    let mut i = 0;
    while i < STATIC_LEN {
        let name = STATIC_TABLE[i].0;
        let slot = name_slot(name);
        if slots[slot] == 0 {
            slots[slot] = (i + 1) as u8;
        } else {
            let first = STATIC_TABLE[slots[slot] as usize - 1].0;
            // Same name as an earlier entry (e.g. `:method`), or a collision: must be the former.
            assert!(first.len() == name.len(), "static name hash collision");
            let mut k = 0;
            while k < name.len() {
                assert!(first[k] == name[k], "static name hash collision");
                k += 1;
            }
        }
        i += 1;
    }
    slots
};

/// Finds `(name, value)` in the static table with one perfect-hash probe on the name (confirmed
/// by one comparison), then a `match` on the value for the five names that have non-empty
/// values in the table; every other name's entry has an empty value. No hashing of the value,
/// no allocation. The unit test below checks the `match` against [`STATIC_TABLE`].
#[inline]
pub(crate) fn lookup(name: &[u8], value: &[u8]) -> StaticMatch {
    if name.is_empty() {
        return StaticMatch::None;
    }
    let first = NAME_SLOTS[name_slot(name)] as usize;
    if first == 0 || !bytes::eq(STATIC_TABLE[first - 1].0, name) {
        return StaticMatch::None;
    }
    let full = match first {
        // :method
        2 => match value {
            b"GET" => 2,
            b"POST" => 3,
            _ => 0,
        },
        // :path
        4 => match value {
            b"/" => 4,
            b"/index.html" => 5,
            _ => 0,
        },
        // :scheme
        6 => match value {
            b"http" => 6,
            b"https" => 7,
            _ => 0,
        },
        // :status
        8 => match value {
            b"200" => 8,
            b"204" => 9,
            b"206" => 10,
            b"304" => 11,
            b"400" => 12,
            b"404" => 13,
            b"500" => 14,
            _ => 0,
        },
        // accept-encoding
        16 => match value {
            b"gzip, deflate" => 16,
            _ => 0,
        },
        _ if value.is_empty() => first,
        _ => 0,
    };
    if full == 0 {
        StaticMatch::Name(first)
    } else {
        StaticMatch::Full(full)
    }
}

/// Static indices of names the encoder's default policy treats specially (RFC 7541 Appendix A).
pub(crate) mod index {
    /// `:path`
    pub(crate) const PATH: usize = 4;
    /// `authorization`
    pub(crate) const AUTHORIZATION: usize = 23;
    /// `content-length`
    pub(crate) const CONTENT_LENGTH: usize = 28;
    /// `cookie`
    pub(crate) const COOKIE: usize = 32;
    /// `proxy-authorization`
    pub(crate) const PROXY_AUTHORIZATION: usize = 49;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_agrees_with_table() {
        for (i, &(name, value)) in STATIC_TABLE.iter().enumerate() {
            let first = STATIC_TABLE.iter().position(|e| e.0 == name).unwrap() + 1;
            assert_eq!(lookup(name, value), StaticMatch::Full(i + 1));
            assert_eq!(lookup(name, b"\x00no such value"), StaticMatch::Name(first));
        }
        assert_eq!(lookup(b"x-unknown", b""), StaticMatch::None);
        // Every (static name, static value) pair: `Full` exactly when the table has the pair.
        for &(name, _) in &STATIC_TABLE {
            let first = STATIC_TABLE.iter().position(|e| e.0 == name).unwrap() + 1;
            for &(_, value) in &STATIC_TABLE {
                let expected = match STATIC_TABLE.iter().position(|e| *e == (name, value)) {
                    Some(i) => StaticMatch::Full(i + 1),
                    None => StaticMatch::Name(first),
                };
                assert_eq!(lookup(name, value), expected);
            }
        }
    }
}
