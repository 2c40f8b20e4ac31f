//! Request latency recording: a fixed-size log-linear histogram, so a long run at a high request
//! rate costs constant memory and one array increment per request.
//!
//! Values are microseconds. Each power of two is cut into [`SUB_BUCKETS`] linear buckets, so a
//! reported quantile is at most 1/32 (about 3 %) above the true value; the maximum is exact.

use std::time::Duration;

/// Linear buckets per power of two.
const SUB_BUCKETS: u64 = 32;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// Buckets for values up to 2^40 µs (about 12 days).
const BUCKETS: usize = (41 - SUB_BITS as usize) * SUB_BUCKETS as usize + SUB_BUCKETS as usize;

/// Latencies of one worker, mergeable with others.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < SUB_BUCKETS {
        return us as usize;
    }
    let magnitude = 63 - us.leading_zeros(); // >= SUB_BITS
    let shift = magnitude - SUB_BITS;
    let sub = (us >> shift) - SUB_BUCKETS; // 0..SUB_BUCKETS
    let index = (shift as u64 + 1) * SUB_BUCKETS + sub;
    usize::try_from(index)
        .unwrap_or(usize::MAX)
        .min(BUCKETS - 1)
}

/// The largest value that falls in bucket `index`.
fn bucket_top(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return index;
    }
    let shift = index / SUB_BUCKETS - 1;
    let sub = index % SUB_BUCKETS;
    ((SUB_BUCKETS + sub + 1) << shift) - 1
}

impl LatencyHistogram {
    /// Records one request's latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(count) = self.counts.get_mut(bucket_of(us)) {
            *count += 1;
        }
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Adds another histogram's records.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Requests recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (0..=1) in milliseconds, never above the maximum; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket_top(index).min(self.max_us) as f64 / 1_000.0;
            }
        }
        self.max_ms()
    }

    /// The largest latency in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_their_values_within_three_percent() {
        for us in (0..100_000u64).chain([1 << 30, (1 << 40) - 1]) {
            let index = bucket_of(us);
            let top = bucket_top(index);
            assert!(top >= us, "{us} above its bucket top {top}");
            assert!(top - us <= us / 32 + 1, "{us} -> {top}");
            if index > 0 {
                assert!(bucket_top(index - 1) < us, "{us} belongs lower");
            }
        }
    }

    #[test]
    fn quantiles_and_merge() {
        let mut a = LatencyHistogram::default();
        let mut b = LatencyHistogram::default();
        for ms in 1..=99u64 {
            a.record(Duration::from_millis(ms));
        }
        b.record(Duration::from_secs(2));
        a.merge(&b);
        assert_eq!(a.count(), 100);
        let p50 = a.quantile_ms(0.5);
        assert!((50.0..=51.6).contains(&p50), "{p50}");
        let p99 = a.quantile_ms(0.99);
        assert!((99.0..=102.1).contains(&p99), "{p99}");
        assert_eq!(a.quantile_ms(1.0), 2_000.0);
        assert_eq!(a.max_ms(), 2_000.0);
        assert_eq!(LatencyHistogram::default().quantile_ms(0.5), 0.0);
    }

    #[test]
    fn huge_values_land_in_the_last_bucket() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_secs(u64::MAX / 4));
        assert_eq!(h.count(), 1);
        assert!(h.quantile_ms(0.5) > 0.0);
    }
}
