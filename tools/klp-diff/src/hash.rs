//! A small, fast and deterministic 64-bit hash: the same input gives the same
//! value in every run and on every thread, so hashes may be compared across
//! the two files and stored instead of what they summarise.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
};

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// A hash state folded one word at a time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fold(u64);

impl Fold {
    /// A state seeded with `seed`, so that hashes of different things differ.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(K))
    }

    /// Folds in one word.
    #[inline]
    pub(crate) fn u64(self, x: u64) -> Self {
        Self((self.0 ^ x).wrapping_mul(K).rotate_left(31))
    }

    /// Folds in a byte string and its length.
    pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0; 8];
            w.copy_from_slice(c);
            self = self.u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0; 8];
            w[..rest.len()].copy_from_slice(rest);
            self = self.u64(u64::from_le_bytes(w));
        }
        self.u64(b.len() as u64)
    }

    /// The final value, mixed so that every input bit affects every output bit.
    pub(crate) fn get(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl Hasher for Fold {
    fn write(&mut self, bytes: &[u8]) {
        *self = self.bytes(bytes);
    }

    fn write_u64(&mut self, x: u64) {
        *self = self.u64(x);
    }

    fn finish(&self) -> u64 {
        self.get()
    }
}

/// A `HashMap` with the deterministic hash.
pub(crate) type Map<K, V> = HashMap<K, V, BuildHasherDefault<Fold>>;

#[cfg(test)]
mod tests {
    use super::Fold;

    #[test]
    fn equal_inputs_hash_equal_and_lengths_matter() {
        let a = Fold::new(1).bytes(b"task_struct").get();
        assert_eq!(a, Fold::new(1).bytes(b"task_struct").get());
        assert_ne!(a, Fold::new(2).bytes(b"task_struct").get());
        assert_ne!(
            Fold::new(1).bytes(b"ab\0").get(),
            Fold::new(1).bytes(b"ab").get()
        );
    }
}
