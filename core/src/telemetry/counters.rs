//! Counters components keep beyond the runtime's item counts, with otelcol's names and
//! labels (the `filter` processor's `otelcol_processor_filter_spans_filtered_total{filter}`,
//! ...), and the gauges and histograms some of them keep (the tail sampler's traces in memory
//! and decision latency). One process-wide table, so a component rebuilt by a reload keeps
//! counting where it left off, and the metrics endpoint renders everything in it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A counter's name and labels (in the order given).
type Series = (&'static str, Vec<(&'static str, String)>);

struct Entry {
    kind: &'static str,
    help: &'static str,
    value: Arc<AtomicU64>,
}

type Table = Mutex<BTreeMap<Series, Entry>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// The counter `name{labels}`, created at zero on first use so the series exists before the
/// first count. `name` is the Prometheus name, `_total` included.
pub fn counter(
    name: &'static str,
    help: &'static str,
    labels: &[(&'static str, &str)],
) -> Arc<AtomicU64> {
    entry("counter", name, help, labels)
}

/// The gauge `name{labels}` (a value set, not only added to), created at zero on first use.
pub fn gauge(
    name: &'static str,
    help: &'static str,
    labels: &[(&'static str, &str)],
) -> Arc<AtomicU64> {
    entry("gauge", name, help, labels)
}

fn entry(
    kind: &'static str,
    name: &'static str,
    help: &'static str,
    labels: &[(&'static str, &str)],
) -> Arc<AtomicU64> {
    let labels = labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect();
    let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .entry((name, labels))
        .or_insert_with(|| Entry {
            kind,
            help,
            value: Arc::default(),
        })
        .value
        .clone()
}

/// One counter as rendered.
pub struct CounterSample {
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// Prometheus name.
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Label pairs.
    pub labels: Vec<(&'static str, String)>,
    /// Current value.
    pub value: u64,
}

/// Every counter in the table.
pub fn counters() -> Vec<CounterSample> {
    let table = table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .iter()
        .map(|((name, labels), entry)| CounterSample {
            kind: entry.kind,
            name,
            help: entry.help,
            labels: labels.clone(),
            value: entry.value.load(Ordering::Relaxed),
        })
        .collect()
}

/// A histogram of whole-number observations (microseconds, milliseconds, ...) with fixed
/// upper bounds, as Prometheus renders them (cumulative buckets, sum, count).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    /// One per bound, then `+Inf`; not cumulative here.
    buckets: Vec<AtomicU64>,
    sum: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// Counts one observation.
    pub fn observe(&self, value: u64) {
        let at = self.bounds.partition_point(|&bound| bound < value);
        if let Some(bucket) = self.buckets.get(at) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

struct HistogramEntry {
    help: &'static str,
    histogram: Arc<Histogram>,
}

type HistogramTable = Mutex<BTreeMap<Series, HistogramEntry>>;

fn histogram_table() -> &'static HistogramTable {
    static TABLE: OnceLock<HistogramTable> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// The histogram `name{labels}` with upper bounds `bounds` (ascending), created empty on
/// first use; a later call with other bounds gets the first one's.
pub fn histogram(
    name: &'static str,
    help: &'static str,
    labels: &[(&'static str, &str)],
    bounds: &'static [u64],
) -> Arc<Histogram> {
    let labels = labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect();
    let mut table = histogram_table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .entry((name, labels))
        .or_insert_with(|| HistogramEntry {
            help,
            histogram: Arc::new(Histogram {
                bounds,
                buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                sum: AtomicU64::new(0),
                count: AtomicU64::new(0),
            }),
        })
        .histogram
        .clone()
}

/// One histogram as rendered.
pub struct HistogramSample {
    /// Prometheus name (without `_bucket`, `_sum`, `_count`).
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Label pairs.
    pub labels: Vec<(&'static str, String)>,
    /// Upper bounds with the cumulative count of each, `+Inf` last as `None`.
    pub buckets: Vec<(Option<u64>, u64)>,
    /// Sum of the observations.
    pub sum: u64,
    /// Observations.
    pub count: u64,
}

/// Every histogram in the table.
pub fn histograms() -> Vec<HistogramSample> {
    let table = histogram_table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .iter()
        .map(|((name, labels), entry)| {
            let h = &entry.histogram;
            let mut total = 0;
            let buckets = h
                .buckets
                .iter()
                .enumerate()
                .map(|(i, bucket)| {
                    total += bucket.load(Ordering::Relaxed);
                    (h.bounds.get(i).copied(), total)
                })
                .collect();
            HistogramSample {
                name,
                help: entry.help,
                labels: labels.clone(),
                buckets,
                sum: h.sum.load(Ordering::Relaxed),
                count: h.count.load(Ordering::Relaxed),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_each_observation_in_the_first_bucket_that_holds_it() {
        let h = histogram(
            "weir_test_histogram_buckets",
            "test",
            &[("k", "v")],
            &[10, 100],
        );
        for value in [0, 10, 11, 100, 101, 5000] {
            h.observe(value);
        }
        let sample = histograms()
            .into_iter()
            .find(|s| s.name == "weir_test_histogram_buckets")
            .expect("registered");
        assert_eq!(
            sample.buckets,
            vec![(Some(10), 2), (Some(100), 4), (None, 6)]
        );
        assert_eq!(sample.sum, 5222);
        assert_eq!(sample.count, 6);
    }
}
