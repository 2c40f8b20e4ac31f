//! Configuration of the `tail_sampling` processor: otelcol-contrib's fields and defaults.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde};

use super::policies::{self, PolicyConfig};

/// Holds the spans of each trace until `decision_wait` after its first span, then keeps or
/// drops the whole trace by its policies. Spans are held as their encoded bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TailSamplingConfig {
    /// How long after the first span of a trace arrives its decision is made; spans of the
    /// trace arriving later follow the decision. Default 30s.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub decision_wait: Duration,
    /// Traces kept in memory, held or recently decided (whose late spans follow their
    /// decision). When a new trace would pass it, the oldest is forgotten, and if it was
    /// still held it is decided at once on the spans it has, counted in
    /// `otelcol_processor_tail_sampling_sampling_trace_dropped_too_early`. Default 50000.
    pub num_traces: usize,
    /// New traces expected per second: the trace tables are sized for this many times
    /// `decision_wait` (at most `num_traces`) up front instead of growing. Default 0.
    pub expected_new_traces_per_sec: u64,
    /// Decisions remembered after their trace left memory, so that later spans still follow
    /// them.
    pub decision_cache: DecisionCacheConfig,
    /// The policies, evaluated on every trace; at least one. The trace is kept if a policy
    /// samples it, unless a `drop` policy drops it or an `invert_match` policy refuses it.
    pub policies: Vec<PolicyConfig>,
}

/// `decision_cache:` sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionCacheConfig {
    /// Trace ids of kept traces remembered (least recently used forgotten first); their
    /// late spans are passed on at once. 0 (the default) remembers none.
    pub sampled_cache_size: usize,
    /// Trace ids of dropped traces remembered; their late spans are dropped at once. 0 (the
    /// default) remembers none.
    pub non_sampled_cache_size: usize,
}

impl Default for TailSamplingConfig {
    fn default() -> Self {
        TailSamplingConfig {
            decision_wait: Duration::from_secs(30),
            num_traces: 50_000,
            expected_new_traces_per_sec: 0,
            decision_cache: DecisionCacheConfig::default(),
            policies: Vec::new(),
        }
    }
}

impl ComponentConfig for TailSamplingConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.decision_wait.is_zero() {
            problems.push("decision_wait must be more than 0s".to_string());
        }
        if self.num_traces == 0 {
            problems.push("num_traces must be at least 1".to_string());
        }
        if self.policies.is_empty() {
            problems.push("policies must list at least one policy".to_string());
        }
        problems.extend(policies::validate(&self.policies));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
