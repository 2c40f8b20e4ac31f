//! The exporter's own counters, beside what the runtime counts for every exporter
//! (`otelcol_exporter_sent_metric_points_total`, `..._send_failed_metric_points_total`,
//! `weir_exporter_retries_total`): the runtime counts OTLP data points per batch, these count
//! what remote write sends (samples, requests, compressed bytes), samples in failed requests,
//! and data points the conversion left out, by reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use weir_core::telemetry::counter;

use super::convert::DropReason;

/// Counters of one exporter id.
pub(crate) struct Counters {
    sent_samples: Arc<AtomicU64>,
    sent_requests: Arc<AtomicU64>,
    sent_bytes: Arc<AtomicU64>,
    retryable_samples: Arc<AtomicU64>,
    permanent_samples: Arc<AtomicU64>,
    /// Indexed like [`DropReason::ALL`].
    dropped: Vec<Arc<AtomicU64>>,
}

impl Counters {
    /// The counters of exporter `id`, created at zero.
    pub(crate) fn new(id: &str) -> Counters {
        let failed = |failure: &'static str| {
            counter(
                "weir_exporter_prometheusremotewrite_failed_samples_total",
                "Samples in remote write requests that failed (retryable: the batch is retried; permanent: refused by the server).",
                &[("exporter", id), ("failure", failure)],
            )
        };
        Counters {
            sent_samples: counter(
                "weir_exporter_prometheusremotewrite_sent_samples_total",
                "Samples in remote write requests the server accepted.",
                &[("exporter", id)],
            ),
            sent_requests: counter(
                "weir_exporter_prometheusremotewrite_sent_requests_total",
                "Remote write requests the server accepted.",
                &[("exporter", id)],
            ),
            sent_bytes: counter(
                "weir_exporter_prometheusremotewrite_sent_bytes_total",
                "Snappy-compressed body bytes of remote write requests the server accepted.",
                &[("exporter", id)],
            ),
            retryable_samples: failed("retryable"),
            permanent_samples: failed("permanent"),
            dropped: DropReason::ALL
                .iter()
                .map(|reason| {
                    counter(
                        "weir_exporter_prometheusremotewrite_dropped_points_total",
                        "OTLP data points not converted to remote write, by reason.",
                        &[("exporter", id), ("reason", reason.as_str())],
                    )
                })
                .collect(),
        }
    }

    pub(crate) fn sent(&self, samples: u64, bytes: usize) {
        self.sent_samples.fetch_add(samples, Ordering::Relaxed);
        self.sent_requests.fetch_add(1, Ordering::Relaxed);
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, samples: u64, retryable: bool) {
        let counter = if retryable {
            &self.retryable_samples
        } else {
            &self.permanent_samples
        };
        counter.fetch_add(samples, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason, points: u64) {
        if let Some(at) = DropReason::ALL.iter().position(|r| *r == reason) {
            self.dropped[at].fetch_add(points, Ordering::Relaxed);
        }
    }
}
