//! The header block decoder (RFC 7541 §3, §6).

use crate::dynamic_table::{DynamicTable, ENTRY_OVERHEAD};
use crate::static_table::{STATIC_LEN, STATIC_TABLE};
use crate::string::{self, StrRef};
use crate::{DecodeError, huffman, integer};

/// Default ceiling for the dynamic table size: the HTTP/2 initial
/// `SETTINGS_HEADER_TABLE_SIZE` (RFC 9113 §6.5.2).
pub const DEFAULT_MAX_TABLE_SIZE: usize = 4096;
/// Default limit on a decoded header list, counted as in RFC 9113 §6.5.2 (64 KiB).
pub const DEFAULT_MAX_HEADER_LIST_SIZE: usize = 65536;
/// Default limit on the number of fields in one header block.
pub const DEFAULT_MAX_FIELD_COUNT: usize = 1024;

/// One decoded header field, borrowed from the block, the dynamic table or the decoder's
/// scratch buffer; valid only for the duration of the callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name, as sent (HPACK does not check case or characters).
    pub name: &'a [u8],
    /// The field value.
    pub value: &'a [u8],
    /// Sent as "literal never indexed" (RFC 7541 §6.2.3): an intermediary re-encoding this field
    /// must use the same representation (RFC 7541 §7.1.3).
    pub never_indexed: bool,
    /// Sent as an index into the dynamic table (RFC 7541 §6.1): that entry's number. Entries
    /// are numbered from 0 in the order they were inserted and never renumbered, so one number
    /// is always the same field: a caller may keep what it made of the field under it, for
    /// the next time the peer sends that index. `None` for literals and static entries.
    pub dynamic: Option<u64>,
}

/// Decodes HPACK header blocks (one decoder per connection direction).
///
/// # Defaults
///
/// | setting | default |
/// | --- | --- |
/// | [`max_table_size`](Self::max_table_size) (our `SETTINGS_HEADER_TABLE_SIZE`) | [`DEFAULT_MAX_TABLE_SIZE`] = 4096 |
/// | header list size limit | [`DEFAULT_MAX_HEADER_LIST_SIZE`] = 65536 |
/// | field count limit | [`DEFAULT_MAX_FIELD_COUNT`] = 1024 |
///
/// # Table size updates (RFC 7541 §4.2, §6.3)
///
/// * Any number of dynamic table size updates may open a block; one after a field is
///   [`DecodeError::SizeUpdateAfterField`].
/// * An update above the ceiling set by [`set_max_table_size`](Self::set_max_table_size) is
///   [`DecodeError::SizeUpdateTooLarge`].
/// * When [`set_max_table_size`](Self::set_max_table_size) lowers the ceiling below the size
///   the encoder is using, the table shrinks at once, and the next block **must** start with
///   a size update at most the lowest ceiling set since the previous block (the encoder has to
///   acknowledge the reduction, RFC 7541 §4.2); otherwise decoding fails with
///   [`DecodeError::MissingSizeUpdate`]. Call it when the peer acknowledges the SETTINGS frame.
///
/// # Limits
///
/// When the header list passes the size limit or the field count limit, the decoder stops
/// calling the sink but still decodes the rest of the block, so the dynamic table stays in
/// sync (the extra work is linear in the block; referenced entries are not copied). It then
/// returns [`DecodeError::HeaderListTooLarge`] or [`DecodeError::TooManyFields`], for which
/// [`DecodeError::is_connection_error`] is `false`: refuse the stream, keep the connection.
///
/// # Allocation
///
/// Fields are borrowed: plain literals from the block, indexed fields from the tables,
/// Huffman-coded strings from a scratch buffer that is reused across fields and blocks. The
/// dynamic table keeps all entries back to back in one byte buffer (at most about twice the
/// table size) indexed by a ring of offsets, so inserting an entry does not allocate once the
/// buffers have grown to their working size.
#[derive(Clone, Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// Our SETTINGS_HEADER_TABLE_SIZE: the ceiling for size updates.
    max_table_size: usize,
    /// Lowest ceiling set since the last block, when it forced the table to shrink.
    required_update: Option<usize>,
    max_header_list_size: usize,
    max_field_count: usize,
    scratch: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a literal's name comes from.
#[derive(Clone, Copy)]
enum NameRef {
    Static(&'static [u8]),
    /// 0-based position from the newest dynamic entry.
    Dynamic(usize),
    Literal(StrRef),
}

/// Running header-list accounting for one block.
struct ListLimits {
    size: usize,
    count: usize,
    max_size: usize,
    max_count: usize,
    exceeded: bool,
}

impl ListLimits {
    /// Accounts one field; returns whether it may still be delivered.
    #[inline]
    fn admit(&mut self, name_len: usize, value_len: usize) -> bool {
        // RFC 9113 §6.5.2: name + value + 32 per field.
        self.size = self
            .size
            .saturating_add(name_len + value_len + ENTRY_OVERHEAD);
        self.count += 1;
        if self.size > self.max_size || self.count > self.max_count {
            self.exceeded = true;
        }
        !self.exceeded
    }
}

impl Decoder {
    /// A decoder with the [defaults](Self#defaults).
    pub fn new() -> Self {
        Self::with_max_table_size(DEFAULT_MAX_TABLE_SIZE)
    }

    /// A fresh decoder whose peer is known to use a dynamic table of `n` bytes from the start
    /// (no size update required), as in RFC 7541 §C.5. Over HTTP/2 use [`Decoder::new`] and
    /// [`set_max_table_size`](Self::set_max_table_size) instead.
    pub fn with_max_table_size(n: usize) -> Self {
        Self {
            table: DynamicTable::new(n),
            max_table_size: n,
            required_update: None,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            max_field_count: DEFAULT_MAX_FIELD_COUNT,
            scratch: Vec::new(),
        }
    }

    /// Sets our `SETTINGS_HEADER_TABLE_SIZE`, the ceiling for the encoder's size updates.
    ///
    /// If `n` is below the size the encoder currently uses, the table is shrunk (evicting
    /// entries) and the next block must start with a size update `<= n` (see
    /// [Table size updates](Self#table-size-updates-rfc-7541-42-63)).
    pub fn set_max_table_size(&mut self, n: usize) {
        self.max_table_size = n;
        if n < self.table.max_size() {
            self.table.set_max_size(n);
            self.required_update = Some(self.required_update.map_or(n, |r| r.min(n)));
        }
    }

    /// Our current ceiling for the dynamic table size.
    pub fn max_table_size(&self) -> usize {
        self.max_table_size
    }

    /// Sets the header list size limit (RFC 9113 §6.5.2: sum of name + value + 32 per field).
    pub fn set_max_header_list_size(&mut self, n: usize) {
        self.max_header_list_size = n;
    }

    /// Sets the limit on the number of fields per block.
    pub fn set_max_field_count(&mut self, n: usize) {
        self.max_field_count = n;
    }

    /// The dynamic table's current size (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// The dynamic table's current maximum size, as last set by a size update (or shrunk by
    /// [`set_max_table_size`](Self::set_max_table_size)).
    pub fn table_capacity(&self) -> usize {
        self.table.max_size()
    }

    /// Number of entries in the dynamic table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Dynamic table entry `i` (1 = newest; HPACK index `61 + i`, RFC 7541 §2.3.3).
    pub fn table_entry(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.table.get(i.checked_sub(1)?)
    }

    /// Decodes one complete header block, calling `on_field` for each field in order.
    ///
    /// # Errors
    ///
    /// See [`DecodeError`]. After an error for which
    /// [`is_connection_error`](DecodeError::is_connection_error) is true the decoder's state is
    /// unspecified and it must not be used again.
    pub fn decode<F: FnMut(Field<'_>)>(
        &mut self,
        block: &[u8],
        mut on_field: F,
    ) -> Result<(), DecodeError> {
        // Room for every Huffman string of one field (the encoded strings of a field add up to
        // less than the block), sized once per block: the strings are decoded straight into it,
        // with no per-string resizing or zero-filling. `used` counts its bytes in use.
        let need = huffman::decoded_capacity(block.len());
        if self.scratch.len() < need {
            self.scratch.resize(need, 0);
        }
        let mut used = 0;
        let mut pos = self.decode_size_updates(block)?;
        let mut limits = ListLimits {
            size: 0,
            count: 0,
            max_size: self.max_header_list_size,
            max_count: self.max_field_count,
            exceeded: false,
        };
        while pos < block.len() {
            let b = block[pos];
            if b & 0x80 != 0 {
                // RFC 7541 §6.1: indexed header field, 7-bit prefix.
                let (index, n) = integer::decode(&block[pos..], 7)?;
                pos += n;
                let (name, value) = self.lookup(index)?;
                let dynamic = (index as usize)
                    .checked_sub(STATIC_LEN + 1)
                    .map(|rel| self.table.inserted() - 1 - rel as u64);
                if limits.admit(name.len(), value.len()) {
                    on_field(Field {
                        name,
                        value,
                        never_indexed: false,
                        dynamic,
                    });
                }
                continue;
            }
            let (prefix, indexing, never_indexed) = if b & 0x40 != 0 {
                // RFC 7541 §6.2.1: literal with incremental indexing, 6-bit prefix.
                (6, true, false)
            } else if b & 0x20 != 0 {
                // RFC 7541 §4.2: a size update must come before the first field.
                return Err(DecodeError::SizeUpdateAfterField);
            } else {
                // RFC 7541 §6.2.2 (0000) / §6.2.3 (0001): 4-bit prefix.
                (4, false, b & 0x10 != 0)
            };
            let (index, n) = integer::decode(&block[pos..], prefix)?;
            pos += n;
            let name_ref = match index {
                0 => NameRef::Literal(string::decode(
                    block,
                    &mut pos,
                    &mut self.scratch,
                    &mut used,
                )?),
                i if (i as usize) <= STATIC_LEN => NameRef::Static(STATIC_TABLE[i as usize - 1].0),
                i => {
                    let rel = i as usize - STATIC_LEN - 1;
                    if rel >= self.table.len() {
                        return Err(self.out_of_range(i));
                    }
                    NameRef::Dynamic(rel)
                }
            };
            let value = string::decode(block, &mut pos, &mut self.scratch, &mut used)?;
            let name = match name_ref {
                NameRef::Static(s) => s,
                NameRef::Dynamic(rel) => self.table.get(rel).map_or(&[][..], |e| e.0),
                NameRef::Literal(s) => s.resolve(block, &self.scratch),
            };
            let value_bytes = value.resolve(block, &self.scratch);
            if limits.admit(name.len(), value.len()) {
                on_field(Field {
                    name,
                    value: value_bytes,
                    never_indexed,
                    dynamic: None,
                });
            }
            if indexing {
                // RFC 7541 §6.2.1: the field is appended to the dynamic table.
                match name_ref {
                    NameRef::Dynamic(rel) => self.table.insert_with_name_of(rel, value_bytes),
                    NameRef::Static(s) => self.table.insert(s, value_bytes),
                    NameRef::Literal(s) => self
                        .table
                        .insert(s.resolve(block, &self.scratch), value_bytes),
                };
            }
            used = 0;
        }
        if limits.size > limits.max_size {
            return Err(DecodeError::HeaderListTooLarge {
                size: limits.size,
                limit: limits.max_size,
            });
        }
        if limits.count > limits.max_count {
            return Err(DecodeError::TooManyFields {
                count: limits.count,
                limit: limits.max_count,
            });
        }
        Ok(())
    }

    /// Processes the dynamic table size updates that open a block; returns where fields start.
    fn decode_size_updates(&mut self, block: &[u8]) -> Result<usize, DecodeError> {
        let required = self.required_update.take();
        let mut satisfied = required.is_none();
        let mut pos = 0;
        // RFC 7541 §4.2: size updates (001xxxxx) are allowed only at the start of a block.
        while let Some(&b) = block.get(pos) {
            if b & 0xe0 != 0x20 {
                break;
            }
            let (size, n) = integer::decode(&block[pos..], 5)?;
            pos += n;
            let size_us = size as usize;
            if size_us > self.max_table_size {
                // RFC 7541 §6.3: the new maximum must not exceed the protocol limit.
                return Err(DecodeError::SizeUpdateTooLarge {
                    requested: size,
                    max: self.max_table_size,
                });
            }
            if required.is_some_and(|r| size_us <= r) {
                satisfied = true;
            }
            self.table.set_max_size(size_us);
        }
        match required {
            // RFC 7541 §4.2: after a reduction the encoder must signal it at the start of the
            // next block.
            Some(required) if !satisfied => Err(DecodeError::MissingSizeUpdate { required }),
            _ => Ok(pos),
        }
    }

    /// Resolves an index into the static or dynamic table (RFC 7541 §2.3.3).
    #[inline]
    fn lookup(&self, index: u32) -> Result<(&[u8], &[u8]), DecodeError> {
        let i = index as usize;
        if i == 0 {
            // RFC 7541 §6.1: "The index value of 0 is not used."
            return Err(DecodeError::ZeroIndex);
        }
        if i <= STATIC_LEN {
            return Ok(STATIC_TABLE[i - 1]);
        }
        self.table
            .get(i - STATIC_LEN - 1)
            .ok_or_else(|| self.out_of_range(index))
    }

    #[cold]
    fn out_of_range(&self, index: u32) -> DecodeError {
        if index == 0 {
            return DecodeError::ZeroIndex;
        }
        // RFC 7541 §2.3.3: indices past both tables are decoding errors.
        DecodeError::IndexOutOfRange {
            index,
            max: STATIC_LEN + self.table.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, value, dynamic) of each field of `block`.
    fn fields(d: &mut Decoder, block: &[u8]) -> Vec<(Vec<u8>, Vec<u8>, Option<u64>)> {
        let mut out = Vec::new();
        d.decode(block, |f| {
            out.push((f.name.to_vec(), f.value.to_vec(), f.dynamic))
        })
        .unwrap();
        out
    }

    /// A field sent by dynamic index carries its entry's number, the same
    /// whatever its index is now; literals and static entries carry none.
    #[test]
    fn dynamic_entries_are_numbered_by_insertion() {
        let f =
            |n: &str, v: &str, d: Option<u64>| (n.as_bytes().to_vec(), v.as_bytes().to_vec(), d);
        let mut d = Decoder::new();
        // Literal with incremental indexing, new name "a", value "1": entry 0.
        assert_eq!(fields(&mut d, b"\x40\x01a\x011"), [f("a", "1", None)]);
        // Index 62 (the newest entry) and index 2 (static ":method GET").
        assert_eq!(
            fields(&mut d, b"\xbe\x82"),
            [f("a", "1", Some(0)), f(":method", "GET", None)]
        );
        // Entry 1 goes in front: index 62 is now "b: 2", index 63 still entry 0.
        assert_eq!(fields(&mut d, b"\x40\x01b\x012"), [f("b", "2", None)]);
        assert_eq!(
            fields(&mut d, b"\xbe\xbf"),
            [f("b", "2", Some(1)), f("a", "1", Some(0))]
        );
    }

    /// Memory stays bounded on arbitrary input: the scratch buffer by the block's length, the
    /// table's byte buffer by about twice the ceiling.
    #[test]
    fn memory_is_bounded_on_random_input() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mut d = Decoder::new();
            d.set_max_header_list_size(usize::MAX);
            let mut longest = 0;
            for _ in 0..4 {
                let len = (next() % 600) as usize;
                longest = longest.max(len);
                let mut block: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                // Bias towards literals with incremental indexing so the table fills up.
                if let Some(b) = block.first_mut() {
                    *b = 0x40;
                }
                let _ = d.decode(&block, |_| {});
                // Huffman output is at most 8/5 of its input; Vec growth at most doubles that.
                assert!(d.scratch.capacity() <= longest * 4 + 64);
                assert!(d.table.buffer_len() <= 2 * d.max_table_size + 1024 + block.len());
                assert!(d.table.size() <= d.max_table_size);
            }
        }
    }
}
