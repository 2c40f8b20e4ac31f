//! `probabilistic`: sampled when the FNV-1a hash of the salt and trace id is at most
//! `u64::MAX × percentage / 100`, so that Weir and otelcol with the same salt keep the same
//! traces.

use tokio::time::Instant;

use crate::tail_sampling::trace::{Decision, Evaluate, TraceView};

/// otelcol's salt when none is given.
pub(super) const DEFAULT_SALT: &str = "default-hash-seed";

pub(super) struct Probabilistic {
    salt: Vec<u8>,
    threshold: u64,
}

impl Probabilistic {
    pub(super) fn new(salt: &str, percentage: f64) -> Probabilistic {
        let salt = if salt.is_empty() { DEFAULT_SALT } else { salt };
        Probabilistic {
            salt: salt.as_bytes().to_vec(),
            threshold: threshold(percentage / 100.0),
        }
    }
}

impl Evaluate for Probabilistic {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Ok(if fnv1a(&[&self.salt, trace.id]) <= self.threshold {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// FNV-1a, 64 bits, over the parts in order.
pub(super) fn fnv1a(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(OFFSET, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        })
}

/// otelcol's `calculateThreshold`: `u64::MAX` times `ratio` as Go's `big.Float` computes it
/// (the product rounded to 64 bits of mantissa, to nearest even), truncated to an integer and
/// saturating (0 below, `u64::MAX` above). A float multiplication would lose the low bits of
/// `u64::MAX`, so the product is taken exactly on integers.
pub(super) fn threshold(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    if ratio.is_infinite() {
        return u64::MAX;
    }
    // ratio = mantissa × 2^exponent, exactly.
    let bits = ratio.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, mut exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let mut product = u128::from(u64::MAX) * u128::from(mantissa);
    let width = 128 - product.leading_zeros() as i32;
    if width > 64 {
        let shift = width - 64;
        let rest = product & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        product >>= shift;
        exponent += shift;
        if rest > half || (rest == half && product & 1 == 1) {
            product += 1;
            if product == 1u128 << 64 {
                product >>= 1;
                exponent += 1;
            }
        }
    }
    let value = if exponent >= 0 {
        if exponent >= 64 || product.leading_zeros() < exponent as u32 {
            return u64::MAX;
        }
        product << exponent
    } else if -exponent >= 128 {
        0
    } else {
        product >> -exponent
    };
    u64::try_from(value).unwrap_or(u64::MAX)
}
