//! `hpack_decode`: arbitrary header blocks through one [`Decoder`] with small limits, and a
//! round-trip oracle through the [`Encoder`].
//!
//! # Input format
//!
//! ```text
//! byte 0        config: bits 0-1 table size ceiling, 2-3 header list size limit,
//!               4-5 field count limit, 6-7 oracle encoder's index policy (indexes into
//!               TABLE_SIZES, LIST_LIMITS, FIELD_LIMITS, POLICIES)
//! then, repeated until the input ends, one segment per header block:
//!   ctl         bit 7 set: before this block, change the table size ceiling to
//!               TABLE_SIZES[ctl & 3] (decoder: SETTINGS_HEADER_TABLE_SIZE we advertise;
//!               oracle encoder: the size the peer acknowledged); bits 4-5: the oracle
//!               encoder's Huffman mode from this block on (index into HUFFMAN)
//!   len (u16 BE) block length; a segment whose length runs past the end takes the rest
//!   block       `len` bytes of HPACK
//! ```
//!
//! `fuzz/seeds.sh` writes the hpack-test-case stories in this format.
//!
//! # Oracle
//!
//! Every block goes through decoder `A`. If `A` decodes it without error, its fields are
//! re-encoded by one [`Encoder`] (kept across blocks, [`Header::sensitive`] for fields that came
//! never-indexed) and decoded by a second decoder `B` with the same limits: `B` must succeed and
//! give back exactly the same fields, names, values and never-indexed flags, in order (with
//! [`IndexPolicy::Default`] the encoder may also send `authorization`, `proxy-authorization` and
//! short `cookie` fields never-indexed on its own; that is allowed, the reverse is not).
//!
//! After an error that breaks the compression context ([`DecodeError::is_connection_error`])
//! the oracle stops (HTTP/2 would close the connection), but the remaining blocks are still fed
//! to `A`, which must not panic. After a limit error (header list size, field count) the
//! decoder is documented to stay in sync, so decoding goes on; that block is left out of the
//! oracle, since some of its fields were not delivered.

use ropewalk_hpack::{DecodeError, Decoder, Encoder, Header, HuffmanMode, IndexPolicy};

/// Table size ceilings the input can choose.
const TABLE_SIZES: [usize; 4] = [4096, 0, 64, 256];
/// Header list size limits (RFC 9113 §6.5.2 accounting) the input can choose.
const LIST_LIMITS: [usize; 4] = [16 * 1024, 64, 512, 4096];
/// Field count limits the input can choose.
const FIELD_LIMITS: [usize; 4] = [1000, 1, 8, 64];
/// Index policies of the oracle's encoder.
const POLICIES: [IndexPolicy; 4] = [
    IndexPolicy::Default,
    IndexPolicy::All,
    IndexPolicy::None,
    IndexPolicy::Default,
];
/// Huffman modes of the oracle's encoder.
const HUFFMAN: [HuffmanMode; 4] = [
    HuffmanMode::Shorter,
    HuffmanMode::Always,
    HuffmanMode::Never,
    HuffmanMode::Shorter,
];

/// One decoded field, owned.
type Field = (Vec<u8>, Vec<u8>, bool);

/// The limits the input's config byte selects.
#[derive(Clone, Copy, Debug)]
struct Config {
    table_size: usize,
    list_limit: usize,
    field_limit: usize,
    policy: IndexPolicy,
}

impl Config {
    fn from_byte(b: u8) -> Config {
        Config {
            table_size: TABLE_SIZES[usize::from(b & 3)],
            list_limit: LIST_LIMITS[usize::from((b >> 2) & 3)],
            field_limit: FIELD_LIMITS[usize::from((b >> 4) & 3)],
            policy: POLICIES[usize::from(b >> 6)],
        }
    }

    fn decoder(&self) -> Decoder {
        let mut d = Decoder::new();
        d.set_max_table_size(self.table_size);
        d.set_max_header_list_size(self.list_limit);
        d.set_max_field_count(self.field_limit);
        d
    }
}

/// Splits the input (after the config byte) into `(ctl, block)` segments.
pub fn segments(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&ctl, rest) = data.split_first()?;
        let (len, rest) = match rest {
            [hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
            _ => (rest.len(), &[][..]),
        };
        let (block, rest) = rest.split_at(len.min(rest.len()));
        data = rest;
        Some((ctl, block))
    })
}

fn decode(decoder: &mut Decoder, block: &[u8]) -> (Vec<Field>, Result<(), DecodeError>) {
    let mut fields = Vec::new();
    let result = decoder.decode(block, |f| {
        fields.push((f.name.to_vec(), f.value.to_vec(), f.never_indexed));
    });
    (fields, result)
}

/// `fields` for a panic message: `name: value` with non-printable bytes escaped, `[never]`
/// marking never-indexed fields.
fn show(fields: &[Field]) -> String {
    let one = |(n, v, never): &Field| {
        let never = if *never { " [never]" } else { "" };
        format!("\"{}: {}\"{never}", n.escape_ascii(), v.escape_ascii())
    };
    format!(
        "[{}]",
        fields.iter().map(one).collect::<Vec<_>>().join(", ")
    )
}

/// Fields that [`IndexPolicy::Default`] may send never-indexed though not marked sensitive.
fn auto_never(name: &[u8]) -> bool {
    matches!(name, b"authorization" | b"proxy-authorization" | b"cookie")
}

/// The whole target.
pub fn run(data: &[u8]) {
    let Some((&config, data)) = data.split_first() else {
        return;
    };
    let config = Config::from_byte(config);
    let mut a = config.decoder();
    let mut b = config.decoder();
    let mut encoder = Encoder::new();
    encoder.set_max_table_size(config.table_size);
    encoder.set_index_policy(config.policy);
    let mut oracle = true;
    let mut wire = Vec::new();

    for (i, (ctl, block)) in segments(data).enumerate() {
        if ctl & 0x80 != 0 {
            let size = TABLE_SIZES[usize::from(ctl & 3)];
            a.set_max_table_size(size);
            b.set_max_table_size(size);
            encoder.set_max_table_size(size);
        }
        encoder.set_huffman(HUFFMAN[usize::from((ctl >> 4) & 3)]);
        let (fields, result) = decode(&mut a, block);
        match result {
            Ok(()) => {}
            Err(e) if e.is_connection_error() => {
                oracle = false;
                continue;
            }
            Err(_) => continue,
        }
        // A successful decode stays within the limits.
        assert!(
            fields.len() <= config.field_limit,
            "block {i}: {} fields > limit",
            fields.len()
        );
        let list_size: usize = fields.iter().map(|(n, v, _)| n.len() + v.len() + 32).sum();
        assert!(
            list_size <= config.list_limit,
            "block {i}: list size {list_size} > limit"
        );
        if !oracle {
            continue;
        }

        wire.clear();
        encoder.encode(
            fields.iter().map(|(n, v, never)| {
                if *never {
                    Header::sensitive(n.as_slice(), v.as_slice())
                } else {
                    Header::new(n.as_slice(), v.as_slice())
                }
            }),
            &mut wire,
        );
        let (again, result) = decode(&mut b, &wire);
        if let Err(e) = result {
            panic!(
                "block {i}: our encoding of decoded fields does not decode: {e:?}\n\
                 fields: {}\nwire: {wire:02x?}",
                show(&fields),
            );
        }
        let same = again.len() == fields.len()
            && again.iter().zip(&fields).all(|(got, sent)| {
                got.0 == sent.0
                    && got.1 == sent.1
                    && (got.2 == sent.2
                        || (got.2 && config.policy == IndexPolicy::Default && auto_never(&sent.0)))
            });
        assert!(
            same,
            "block {i}: round trip through Encoder changed the fields\n\
             sent: {}\ngot:  {}\nwire: {wire:02x?}",
            show(&fields),
            show(&again),
        );
    }
}
