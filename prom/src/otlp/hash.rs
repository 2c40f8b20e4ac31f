//! Hashing label sets without allocating: a fast 64-bit string hash, an order-independent
//! label-set hash (so `{a,b}` and `{b,a}` are the same series), and a `HashMap` hasher that
//! passes such hashes through instead of hashing them again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x9e37_79b9_7f4a_7c15;

fn fold(x: u64, y: u64) -> u64 {
    let r = u128::from(x) * u128::from(y);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Splitmix64's finaliser: every input bit reaches every output bit.
pub(super) fn finish(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `s` hashed onto `seed`.
pub(super) fn str_hash(seed: u64, s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h = fold(seed ^ K, (bytes.len() as u64) ^ 0x2d35_8dcc_aa6c_78a5);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = fold(h ^ u64::from_le_bytes(w), K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = fold(h ^ u64::from_le_bytes(w), 0x8ebc_6af0_9c88_c6e3);
    }
    h
}

/// One label's contribution to a label-set hash.
pub(super) fn pair_hash(name: &str, value: &str) -> u64 {
    finish(str_hash(str_hash(0, name), value))
}

/// A label-set hash that does not depend on the labels' order.
pub(super) fn set_hash<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (name, value) in pairs {
        sum = sum.wrapping_add(pair_hash(name, value));
        n += 1;
    }
    finish(sum ^ n.wrapping_mul(K))
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
pub(super) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub(super) type HashedMap<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

/// Entries looked up by a precomputed hash and an equality test, with no key stored:
/// `heads` maps a hash to the last entry inserted with it, `next` chains to earlier ones.
#[derive(Debug, Default)]
pub(super) struct Index {
    heads: HashedMap<usize>,
    next: Vec<usize>,
}

const NONE: usize = usize::MAX;

impl Index {
    /// The entry with `hash` for which `eq` holds.
    pub(super) fn find(&self, hash: u64, mut eq: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut at = *self.heads.get(&hash)?;
        while at != NONE {
            if eq(at) {
                return Some(at);
            }
            at = self.next[at];
        }
        None
    }

    /// Records that entry number `self.len()` has `hash`, and returns that number.
    pub(super) fn insert(&mut self, hash: u64) -> usize {
        let at = self.next.len();
        let previous = self.heads.insert(hash, at).unwrap_or(NONE);
        self.next.push(previous);
        at
    }
}
