//! `weir_receiver_unauthenticated_requests_total{receiver, transport}`: requests a receiver
//! refused because their credentials were missing or wrong. Kept apart from the item counters
//! (a refused request was never decoded, so it has no items), in one process-wide table so a
//! receiver restarted by a reload keeps counting where it left off.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

type Table = Mutex<BTreeMap<(String, String), Arc<AtomicU64>>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// The counter of `receiver` on `transport` (`grpc`, `http`), created at zero on first use so
/// the series exists before the first refusal.
pub fn unauthenticated_counter(receiver: &str, transport: &str) -> Arc<AtomicU64> {
    let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .entry((receiver.to_string(), transport.to_string()))
        .or_default()
        .clone()
}

/// Every counter: receiver, transport, value.
pub fn unauthenticated_counts() -> Vec<(String, String, u64)> {
    let table = table().lock().unwrap_or_else(|e| e.into_inner());
    table
        .iter()
        .map(|((r, t), v)| (r.clone(), t.clone(), v.load(Ordering::Relaxed)))
        .collect()
}
