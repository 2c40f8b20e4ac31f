//! The duration histograms of one series: explicit buckets (upper bounds inclusive, as
//! otelcol's binary search places a value equal to a bound in that bound's bucket), or a
//! base-2 exponential histogram that starts at the finest scale and halves its resolution
//! whenever its buckets would pass `max_size`.

use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;

/// The finest scale an exponential histogram starts at (as the Go aggregator otelcol uses).
const MAX_SCALE: i32 = 20;

/// One series' histogram.
#[derive(Clone, Debug)]
pub(super) enum Histogram {
    Explicit(Explicit),
    Exponential(Exponential),
}

impl Histogram {
    pub(super) fn observe(&mut self, value: f64, bounds: &[f64]) {
        match self {
            Histogram::Explicit(h) => h.observe(value, bounds),
            Histogram::Exponential(h) => h.observe(value),
        }
    }
}

/// Counts per explicit bucket (the bounds are shared, in the connector).
#[derive(Clone, Debug, Default)]
pub(super) struct Explicit {
    pub(super) counts: Vec<u64>,
    pub(super) count: u64,
    pub(super) sum: f64,
}

impl Explicit {
    pub(super) fn new(bounds: &[f64]) -> Explicit {
        Explicit {
            counts: vec![0; bounds.len() + 1],
            count: 0,
            sum: 0.0,
        }
    }

    fn observe(&mut self, value: f64, bounds: &[f64]) {
        let at = bounds.partition_point(|b| *b < value);
        if let Some(c) = self.counts.get_mut(at) {
            *c += 1;
        }
        self.count += 1;
        self.sum += value;
    }
}

/// A base-2 exponential histogram of values ≥ 0 (durations): bucket `i` at scale `s` holds
/// values in `(2^(i/2^s), 2^((i+1)/2^s)]`.
#[derive(Clone, Debug)]
pub(super) struct Exponential {
    max_size: usize,
    pub(super) scale: i32,
    /// Index of `counts[0]`.
    pub(super) offset: i32,
    pub(super) counts: Vec<u64>,
    pub(super) zero_count: u64,
    pub(super) count: u64,
    pub(super) sum: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

/// The bucket index of `value` (> 0, finite) at `scale`.
fn index(value: f64, scale: i32) -> i64 {
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1 << 52) - 1);
    if mantissa == 0 && exponent != 0 {
        // An exact power of two: the upper bound of the bucket below it.
        let power = exponent - 1023;
        return if scale >= 0 {
            (power << scale) - 1
        } else {
            ((power - 1) >> -scale).max(i64::MIN / 2)
        };
    }
    let scaled = value.log2() * 2f64.powi(scale);
    scaled.ceil() as i64 - 1
}

impl Exponential {
    pub(super) fn new(max_size: u32) -> Exponential {
        Exponential {
            max_size: (max_size as usize).max(1),
            scale: MAX_SCALE,
            offset: 0,
            counts: Vec::new(),
            zero_count: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub(super) fn observe(&mut self, value: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if value == 0.0 {
            self.zero_count += 1;
            return;
        }
        let mut at = index(value, self.scale);
        if self.counts.is_empty() {
            self.offset = clamp(at);
            self.counts.push(1);
            return;
        }
        let low = i64::from(self.offset);
        let high = low + self.counts.len() as i64 - 1;
        let (new_low, new_high) = (low.min(at), high.max(at));
        let mut change = 0;
        while (new_high >> change) - (new_low >> change) + 1 > self.max_size as i64 {
            change += 1;
        }
        if change > 0 {
            self.downscale(change);
            at = index(value, self.scale);
        }
        let low = i64::from(self.offset);
        if at < low {
            let grow = (low - at) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = clamp(at);
        } else if at - low >= self.counts.len() as i64 {
            self.counts.resize((at - low + 1) as usize, 0);
        }
        let i = (at - i64::from(self.offset)) as usize;
        self.counts[i] += 1;
    }

    /// Halves the resolution `change` times, merging buckets.
    fn downscale(&mut self, change: i32) {
        let low = i64::from(self.offset);
        let new_low = low >> change;
        let high = low + self.counts.len() as i64 - 1;
        let mut merged = vec![0u64; ((high >> change) - new_low + 1) as usize];
        for (i, c) in self.counts.iter().enumerate() {
            let at = ((low + i as i64) >> change) - new_low;
            merged[at as usize] += c;
        }
        self.counts = merged;
        self.offset = clamp(new_low);
        self.scale -= change;
    }

    /// The positive buckets as OTLP has them.
    pub(super) fn buckets(&self) -> Buckets {
        Buckets {
            offset: self.offset,
            bucket_counts: self.counts.clone(),
        }
    }
}

fn clamp(i: i64) -> i32 {
    i.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket's bounds, `(lower, upper]`.
    fn bounds(i: i64, scale: i32) -> (f64, f64) {
        let base = 2f64.powf(2f64.powi(-scale));
        (base.powf(i as f64), base.powf((i + 1) as f64))
    }

    #[test]
    fn explicit_buckets_take_a_value_equal_to_a_bound_in_that_bound() {
        let bounds = [1.0, 5.0, 10.0];
        let mut h = Explicit::new(&bounds);
        for v in [0.5, 1.0, 1.5, 5.0, 9.0, 10.0, 11.0, 1000.0] {
            h.observe(v, &bounds);
        }
        assert_eq!(h.counts, vec![2, 2, 2, 2]);
        assert_eq!(h.count, 8);
        assert_eq!(h.sum, 1038.0);
    }

    #[test]
    fn exponential_indexes_place_values_inside_their_buckets() {
        for scale in [-2, 0, 3, 10, 20] {
            for v in [0.001, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 7.3, 1024.0, 123_456.7] {
                let i = index(v, scale);
                let (low, high) = bounds(i, scale);
                let eps = high * 1e-9;
                assert!(
                    low - eps <= v && v <= high + eps,
                    "{v} at scale {scale}: bucket {i} is ({low}, {high}]"
                );
            }
        }
        // Exact powers of two are the upper bound of the bucket below.
        assert_eq!(index(1.0, 0), -1);
        assert_eq!(index(2.0, 0), 0);
        assert_eq!(index(4.0, 1), 3);
        assert_eq!(index(3.0, 0), 1);
    }

    #[test]
    fn exponential_downscales_to_stay_within_max_size() {
        let mut h = Exponential::new(4);
        for v in [1.5, 3.0, 6.0, 12.0, 24.0, 48.0, 0.0] {
            h.observe(v);
        }
        assert!(h.counts.len() <= 4, "{h:?}");
        assert_eq!(h.count, 7);
        assert_eq!(h.zero_count, 1);
        assert_eq!(h.counts.iter().sum::<u64>(), 6);
        assert_eq!((h.min, h.max), (0.0, 48.0));
        // Six values doubling each time span six powers of two: at scale 0 that is six
        // buckets, so four buckets need scale -1 (each bucket two powers of two).
        assert_eq!(h.scale, -1);
        for (i, c) in h.counts.iter().enumerate() {
            let (low, high) = bounds(i64::from(h.offset) + i as i64, h.scale);
            let inside = [1.5, 3.0, 6.0, 12.0, 24.0, 48.0]
                .iter()
                .filter(|v| low < **v && **v <= high)
                .count() as u64;
            assert_eq!(*c, inside, "bucket {i} ({low}, {high}]");
        }
    }

    #[test]
    fn one_value_keeps_the_finest_scale() {
        let mut h = Exponential::new(160);
        h.observe(12.5);
        h.observe(12.5);
        assert_eq!(h.scale, MAX_SCALE);
        assert_eq!(h.counts, vec![2]);
        assert_eq!(h.offset as i64, index(12.5, MAX_SCALE));
    }
}
