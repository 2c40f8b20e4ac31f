//! `hash_seed` mode's arithmetic, otelcol-contrib's to the bit so that the same items are
//! kept: a 32-bit FNV-1a hash of the seed (4 bytes, little-endian) followed by the trace id
//! or attribute bytes; its low 14 bits are a bucket out of 2^14, and an item is kept when its
//! bucket is below `uint32(percentage * 163.84)`, computed in 32-bit floats.
//!
//! So that kept spans can carry consistent-sampling values like the other modes' (`rv` and
//! `th`), the hash is spread into 56 bits of randomness the way otelcol does it: the top 14
//! bits are `16383 - bucket`, so `th <= rv` holds exactly when `bucket < scaled rate`.

use super::threshold::{Randomness, Threshold};

/// 2^14 buckets.
const BUCKETS_LOG2: u32 = 14;
const BUCKETS: u32 = 1 << BUCKETS_LOG2;
const BUCKET_MASK: u32 = BUCKETS - 1;

const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a over the seed's little-endian bytes, then `bytes` (otelcol's `computeHash`).
pub(crate) fn compute_hash(bytes: &[u8], seed: u32) -> u32 {
    seed.to_le_bytes()
        .iter()
        .chain(bytes)
        .fold(FNV_OFFSET_BASIS, |hash, &b| {
            (hash ^ u32::from(b)).wrapping_mul(FNV_PRIME)
        })
}

/// The buckets of 2^14 kept at `percentage` (0 to 100): `uint32(pct * percentageScaleFactor)`
/// with Go's float32 multiplication and truncation.
pub(crate) fn scaled_rate(percentage: f32) -> u32 {
    (percentage * (BUCKETS as f32 / 100.0)) as u32
}

/// The rejection threshold for `scaled` kept buckets: the top 14 bits of 56.
pub(crate) fn threshold(scaled: u32) -> Threshold {
    Threshold::from_rejected(u64::from(BUCKETS.saturating_sub(scaled)) << (56 - BUCKETS_LOG2))
}

/// The randomness otelcol derives from the hash of `bytes`: most significant 14 bits
/// `16383 - bucket`, then 28 bits mixed from the hash's top bits, then the bucket.
pub(crate) fn randomness(bytes: &[u8], seed: u32) -> Randomness {
    let hashed32 = compute_hash(bytes, seed);
    let bucket = u64::from(hashed32 & BUCKET_MASK);
    let flipped = u64::from(BUCKET_MASK) - bucket;
    // otelcol's "unused 18 bits" are in fact its shift by 18: the hash's top 14 bits.
    let unused = u64::from(hashed32 >> (32 - BUCKETS_LOG2));
    let mixed = unused ^ (unused << 10);
    Randomness::from_bits((flipped << 42) | (mixed << 14) | bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// otelcol-contrib's `TestEmptyHashFunction`: no bytes with seed 0 land in bucket 0x3515,
    /// 16 zero bytes in 0x2455.
    #[test]
    fn buckets_match_otelcols_empty_hash_test() {
        assert_eq!(compute_hash(&[], 0) & BUCKET_MASK, 0x3515);
        assert_eq!(compute_hash(&[0; 16], 0) & BUCKET_MASK, 0x2455);
    }

    /// otelcol-contrib's `Test_tracesamplerprocessor_HashSeedTraceState`: the `th` written at
    /// each percentage (14-bit rounding makes 10 % `e668`, a third `aaac`).
    #[test]
    fn thresholds_match_otelcols_hash_seed_tracestate_test() {
        let th = |pct: f32| threshold(scaled_rate(pct)).tvalue();
        assert_eq!(th(100.0), "0");
        assert_eq!(th(75.0), "4");
        assert_eq!(th(50.0), "8");
        assert_eq!(th(25.0), "c");
        assert_eq!(th(10.0), "e668");
        assert_eq!(th(100.0 / 3.0), "aaac");
        assert_eq!(scaled_rate(0.001), 0);
    }

    #[test]
    fn the_randomness_keeps_exactly_the_buckets_below_the_rate() {
        for seed in [0, 22, 4312] {
            for i in 0u32..2000 {
                let bytes = i.to_be_bytes();
                let bucket = compute_hash(&bytes, seed) & BUCKET_MASK;
                for pct in [1.0, 10.0, 33.3, 50.0, 99.0] {
                    let scaled = scaled_rate(pct);
                    assert_eq!(
                        threshold(scaled).should_sample(randomness(&bytes, seed)),
                        bucket < scaled,
                        "seed {seed} item {i} at {pct} %"
                    );
                }
            }
        }
    }
}
