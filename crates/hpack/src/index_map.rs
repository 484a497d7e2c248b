//! The encoder's hash index into its dynamic table: 64-bit hash → absolute entry index.
//!
//! A small open-addressing table with linear probing and backward-shift deletion, sized to keep
//! the load factor at or below 1/2, so a lookup is usually one probe and nothing is allocated
//! per entry. Keys are already well-mixed hashes; a hash collision between two different
//! fields only makes the encoder miss a match, because every hit is confirmed by comparing
//! bytes.

/// Marks an empty slot (absolute indices never reach it).
const EMPTY: u64 = u64::MAX;

#[derive(Clone, Debug, Default)]
pub(crate) struct IndexMap {
    /// `(hash, absolute index)`; `EMPTY` index = free slot.
    slots: Vec<(u64, u64)>,
    len: usize,
}

impl IndexMap {
    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The absolute index stored for `hash`.
    #[inline]
    pub(crate) fn get(&self, hash: u64) -> Option<u64> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let (h, abs) = self.slots[i];
            if abs == EMPTY {
                return None;
            }
            if h == hash {
                return Some(abs);
            }
            i = (i + 1) & mask;
        }
    }

    /// Maps `hash` to `abs`, replacing any previous value.
    #[inline]
    pub(crate) fn insert(&mut self, hash: u64, abs: u64) {
        if (self.len + 1) * 8 > self.slots.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.1 == EMPTY {
                *slot = (hash, abs);
                self.len += 1;
                return;
            }
            if slot.0 == hash {
                slot.1 = abs;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes `hash` if it maps to `abs` (an entry for a newer field is left alone).
    #[inline]
    pub(crate) fn remove(&mut self, hash: u64, abs: u64) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let (h, a) = self.slots[i];
            if a == EMPTY {
                return;
            }
            if h == hash {
                if a != abs {
                    return;
                }
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: pull later members of the probe run into the hole.
        self.len -= 1;
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let (h, a) = self.slots[j];
            if a == EMPTY {
                break;
            }
            let home = h as usize & mask;
            // Move slot j into the hole if its home is not cyclically in (hole, j].
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole] = (0, EMPTY);
    }

    #[cold]
    fn grow(&mut self) {
        let new_cap = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![(0, EMPTY); new_cap]);
        self.len = 0;
        for (h, a) in old {
            if a != EMPTY {
                self.insert(h, a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_hash_map() {
        let mut m = IndexMap::default();
        let mut model: HashMap<u64, u64> = HashMap::new();
        let mut x = 0x1234_5678_9abc_def1u64;
        for step in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct keys with colliding low bits, to exercise probing and deletion.
            let key = (x % 97) * 0x1_0000 + (x % 3);
            if x % 3 == 0 {
                let abs = model.get(&key).copied().unwrap_or(step);
                m.remove(key, abs);
                if model.get(&key) == Some(&abs) {
                    model.remove(&key);
                }
            } else {
                m.insert(key, step);
                model.insert(key, step);
            }
            assert_eq!(m.len, model.len());
        }
        for k in 0..97 * 0x1_0000 + 3 {
            if k % 0x1_0000 < 3 {
                assert_eq!(m.get(k), model.get(&k).copied(), "key {k}");
            }
        }
    }
}
