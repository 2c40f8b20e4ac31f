//! otelcol's decision counters, `{policy, sampled}` per signal. Each series is taken from the
//! process-wide table the first time it counts (so, as in otelcol, only series that happened
//! exist), and a batch's decisions are tallied locally and added once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use weir_core::telemetry;

use super::sampler::Policy;

/// Decisions of one batch, by policy and outcome.
#[derive(Debug, Default)]
pub(crate) struct Tally([[u64; 2]; Policy::ALL.len()]);

impl Tally {
    pub(crate) fn count(&mut self, policy: Policy, sampled: bool) {
        self.0[index(policy)][usize::from(sampled)] += 1;
    }
}

fn index(policy: Policy) -> usize {
    Policy::ALL
        .iter()
        .position(|p| *p == policy)
        .unwrap_or_default()
}

/// One signal's counter series.
pub(crate) struct Counts {
    name: &'static str,
    help: &'static str,
    /// The `from_attribute` name, the label of records hashed by it.
    attribute: String,
    series: [[Option<Arc<AtomicU64>>; 2]; Policy::ALL.len()],
}

impl Counts {
    pub(crate) fn new(name: &'static str, help: &'static str, attribute: &str) -> Counts {
        Counts {
            name,
            help,
            attribute: attribute.to_string(),
            series: Default::default(),
        }
    }

    pub(crate) fn add(&mut self, tally: &Tally) {
        for (policy, counts) in Policy::ALL.into_iter().zip(&tally.0) {
            for (sampled, &n) in counts.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let series = &mut self.series[index(policy)][sampled];
                let counter = series.get_or_insert_with(|| {
                    let labels = [
                        ("policy", policy.label(&self.attribute)),
                        ("sampled", if sampled == 1 { "true" } else { "false" }),
                    ];
                    telemetry::counter(self.name, self.help, &labels)
                });
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}
