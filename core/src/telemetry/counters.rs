//! Counters components keep beyond the runtime's item counts, with otelcol's names and
//! labels (the `filter` processor's `otelcol_processor_filter_spans_filtered_total{filter}`,
//! ...). One process-wide table, so a component rebuilt by a reload keeps counting where it
//! left off, and the metrics endpoint renders every counter in it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A counter's name and labels (in the order given).
type Series = (&'static str, Vec<(&'static str, String)>);

struct Entry {
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
    let labels = labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect();
    let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .entry((name, labels))
        .or_insert_with(|| Entry {
            help,
            value: Arc::default(),
        })
        .value
        .clone()
}

/// One counter as rendered.
pub struct CounterSample {
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
            name,
            help: entry.help,
            labels: labels.clone(),
            value: entry.value.load(Ordering::Relaxed),
        })
        .collect()
}
