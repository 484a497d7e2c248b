//! Hashing of stream ids for maps keyed by them.

use std::hash::BuildHasher as _;

/// Hashes stream ids for maps that are looked up several times per frame or
/// request, where SipHash costs more than the rest of a lookup. A peer
/// chooses its stream ids, so the hash is keyed: the id times a random odd
/// number, the high half folded into the low half (a table takes its
/// buckets from the low bits). Without the key a peer cannot aim ids at
/// one bucket. Each value has its own key, drawn from the standard
/// library's randomly seeded state (one SipHash per map).
///
/// ```
/// use std::collections::HashMap;
/// use ropewalk_proto::frame::StreamId;
/// use ropewalk_proto::stream::IdHashing;
///
/// let mut m: HashMap<StreamId, &str, IdHashing> = HashMap::default();
/// m.insert(StreamId::new(1), "a");
/// assert_eq!(m[&StreamId::new(1)], "a");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct IdHashing {
    key: u64,
}

impl Default for IdHashing {
    fn default() -> IdHashing {
        let key = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        IdHashing { key: key | 1 }
    }
}

impl std::hash::BuildHasher for IdHashing {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            key: self.key,
            value: 0,
        }
    }
}

/// The hasher of [`IdHashing`].
#[derive(Debug)]
pub struct IdHasher {
    key: u64,
    value: u64,
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.value = (self.value << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.value = u64::from(n);
    }
    fn finish(&self) -> u64 {
        let h = self.value.wrapping_add(1).wrapping_mul(self.key);
        h ^ (h >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn keys_differ_and_ids_spread_over_the_low_bits() {
        let (a, b) = (IdHashing::default(), IdHashing::default());
        assert_ne!(a.hash_one(1u32), b.hash_one(1u32), "same key twice");
        // Odd ids (a client's) fill the buckets of a 64-slot table evenly
        // enough: no bucket takes more than a few of 256 ids.
        let mut buckets = [0u32; 64];
        for id in (1..512u32).step_by(2) {
            buckets[(a.hash_one(id) & 63) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| n <= 12), "{buckets:?}");
    }
}
