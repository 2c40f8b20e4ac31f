//! otelcol's tail-sampling metrics, by their Prometheus names, in the process-wide table.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use weir_core::telemetry::{self, Histogram};

use super::trace::Decision;

const PER_POLICY: &str = "otelcol_processor_tail_sampling_count_traces_sampled_total";
const GLOBAL: &str = "otelcol_processor_tail_sampling_global_count_traces_sampled_total";
const LATENCY: &str = "otelcol_processor_tail_sampling_sampling_decision_latency";
/// Microseconds, as otelcol's.
const LATENCY_BOUNDS: &[u64] = &[
    1, 2, 5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1_000, 2_000, 3_000, 4_000, 5_000,
    10_000, 20_000, 30_000, 50_000,
];
const DECISIONS: [Decision; 5] = [
    Decision::Sampled,
    Decision::NotSampled,
    Decision::Dropped,
    Decision::InvertSampled,
    Decision::InvertNotSampled,
];

fn sampled(decision: Decision) -> &'static str {
    if decision.samples() { "true" } else { "false" }
}

/// One policy's counters and latency histogram.
pub(crate) struct PolicyMetrics {
    by_decision: HashMap<Decision, Arc<AtomicU64>>,
    pub(crate) latency: Arc<Histogram>,
}

impl PolicyMetrics {
    pub(crate) fn new(policy: &str) -> PolicyMetrics {
        let by_decision = DECISIONS
            .iter()
            .map(|&d| {
                let counter = telemetry::counter(
                    PER_POLICY,
                    "Count of traces that were sampled or not per sampling policy.",
                    &[
                        ("policy", policy),
                        ("sampled", sampled(d)),
                        ("decision", d.label()),
                    ],
                );
                (d, counter)
            })
            .collect();
        PolicyMetrics {
            by_decision,
            latency: telemetry::histogram(
                LATENCY,
                "Latency (in microseconds) of a given sampling policy.",
                &[("policy", policy)],
                LATENCY_BOUNDS,
            ),
        }
    }

    pub(crate) fn count(&self, decision: Decision) {
        if let Some(counter) = self.by_decision.get(&decision) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Seconds, as otelcol's.
const AGE_BOUNDS: &[u64] = &[1, 2, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600];

/// The processor's own counters.
pub(crate) struct Metrics {
    pub(crate) removal_age: Arc<Histogram>,
    pub(crate) late_span_age: Arc<Histogram>,
    global: HashMap<Decision, Arc<AtomicU64>>,
    pub(crate) too_early: Arc<AtomicU64>,
    pub(crate) new_traces: Arc<AtomicU64>,
    pub(crate) errors: Arc<AtomicU64>,
    pub(crate) on_memory: Arc<AtomicU64>,
    pub(crate) released_sampled: Arc<AtomicU64>,
    pub(crate) released_not_sampled: Arc<AtomicU64>,
    pub(crate) without_trace_id: Arc<AtomicU64>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let global = [Decision::Sampled, Decision::NotSampled, Decision::Dropped]
            .iter()
            .map(|&d| {
                let counter = telemetry::counter(
                    GLOBAL,
                    "Global count of traces that were sampled or not by at least one policy.",
                    &[("sampled", sampled(d)), ("decision", d.label())],
                );
                (d, counter)
            })
            .collect();
        let released = |sampled: &str| {
            telemetry::counter(
                "otelcol_processor_tail_sampling_early_releases_from_cache_decision_total",
                "Number of spans that were able to be immediately released due to a decision \
                 cache hit.",
                &[("sampled", sampled)],
            )
        };
        Metrics {
            late_span_age: telemetry::histogram(
                "otelcol_processor_tail_sampling_sampling_late_span_age",
                "Time (in seconds) from the sampling decision was taken and the arrival of a \
                 late span.",
                &[],
                AGE_BOUNDS,
            ),
            removal_age: telemetry::histogram(
                "otelcol_processor_tail_sampling_sampling_trace_removal_age",
                "Time (in seconds) from arrival of a new trace until its removal from memory.",
                &[],
                AGE_BOUNDS,
            ),
            global,
            too_early: telemetry::counter(
                "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early_total",
                "Count of traces that needed to be decided before the configured wait time \
                 (Weir decides them on the spans they have instead of dropping them).",
                &[],
            ),
            new_traces: telemetry::counter(
                "otelcol_processor_tail_sampling_new_trace_id_received_total",
                "Counts the arrival of new traces.",
                &[],
            ),
            errors: telemetry::counter(
                "otelcol_processor_tail_sampling_sampling_policy_evaluation_error_total",
                "Count of sampling policy evaluation errors.",
                &[],
            ),
            on_memory: telemetry::gauge(
                "otelcol_processor_tail_sampling_sampling_traces_on_memory",
                "Tracks the number of traces current on memory.",
                &[],
            ),
            released_sampled: released("true"),
            released_not_sampled: released("false"),
            without_trace_id: telemetry::counter(
                "weir_processor_tail_sampling_spans_without_trace_id_total",
                "Spans without a valid 16-byte trace id, held together as the trace of the \
                 empty id (as otelcol does).",
                &[],
            ),
        }
    }

    pub(crate) fn count_final(&self, decision: Decision) {
        if let Some(counter) = self.global.get(&decision) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}
