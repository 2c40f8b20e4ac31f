//! The `prometheusremotewrite` exporter: otelcol-contrib's push exporter to Prometheus remote
//! write 1.0 endpoints. Each batch is decoded, converted to time series ([`convert`]: the
//! otelcol translator's rules and names, reusing the `prometheus` exporter's
//! [`naming`](crate::prometheus::naming)), split under `max_batch_size_bytes` and encoded as
//! snappy-compressed `WriteRequest`s ([`request`], messages in [`prompb`]), and POSTed
//! ([`client`]) with up to `remote_write_queue.num_consumers` requests in flight. It owns its
//! config ([`RemoteWriteConfig`]) and counters ([`metrics`]); the runtime's sending queue and
//! retry wrap it as every exporter.
//!
//! Batches are exported one at a time (a lock held across the sends, and, as in otelcol,
//! one queue consumer: [`RemoteWriteExporterFactory::adjust_helper`]), so that the samples
//! of a series reach the server in timestamp order; a retried batch resends all of its
//! requests, and the server ignores the samples it already has.

mod client;
mod config;
mod convert;
mod metrics;
pub mod prompb;
mod request;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use weir_core::batch::{Batch, Request, Signal};
use weir_core::component::{
    BuildError, CreateSettings, Delivered, ExportError, Exporter, ExporterFactory, FieldError,
    Stability,
};
use weir_core::exporter::ExporterHelperConfig;

pub use config::{RemoteWriteConfig, RemoteWriteQueue, Switch};

use client::RemoteWriteClient;
use convert::Settings;
use metrics::Counters;

/// Factory of the `prometheusremotewrite` exporter.
#[derive(Debug, Default)]
pub struct RemoteWriteExporterFactory;

impl ExporterFactory for RemoteWriteExporterFactory {
    type Config = RemoteWriteConfig;
    const TYPE: &'static str = "prometheusremotewrite";
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &RemoteWriteConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        Ok(Arc::new(RemoteWriteExporter::new(config, settings)?))
    }

    /// otelcol's queue and retry for this exporter: `remote_write_queue.enabled` and
    /// `queue_size` (default 10000 batches) are the sending queue's, which has one consumer,
    /// and retries start at 50 ms and back off to 200 ms for at most a minute, unless
    /// `sending_queue` / `retry_on_failure` say otherwise. A setting given in both places
    /// with different values, or more than one consumer, is refused.
    fn adjust_helper(
        &self,
        config: &RemoteWriteConfig,
        helper: &mut ExporterHelperConfig,
        given: &serde_json::Value,
    ) -> Result<(), Vec<FieldError>> {
        let given_queue = |key: &str| given.get("sending_queue").and_then(|q| q.get(key));
        let given_retry = |key: &str| {
            given
                .get("retry_on_failure")
                .and_then(|r| r.get(key))
                .is_some()
        };
        let mut problems = Vec::new();
        let mut problem = |path: &[&str], message: String| {
            problems.push(FieldError {
                path: path.iter().map(|p| p.to_string()).collect(),
                message,
                expected: Vec::new(),
            })
        };
        let queue = &config.remote_write_queue;
        let contradiction = |key: &str| {
            format!(
                "remote_write_queue.{key} contradicts sending_queue.{key}; give it in one place"
            )
        };
        if let Some(enabled) = queue.enabled {
            match given_queue("enabled").and_then(|v| v.as_bool()) {
                Some(theirs) if theirs != enabled => {
                    problem(&["remote_write_queue", "enabled"], contradiction("enabled"))
                }
                _ => helper.sending_queue.enabled = enabled,
            }
        }
        let theirs = given_queue("queue_size").and_then(|v| v.as_u64());
        match (queue.queue_size, theirs) {
            (Some(ours), Some(theirs)) if ours as u64 != theirs => problem(
                &["remote_write_queue", "queue_size"],
                contradiction("queue_size"),
            ),
            (Some(ours), _) => helper.sending_queue.queue_size = ours,
            // otelcol's default, counted in batches as otelcol counts it.
            (None, None) if helper.sending_queue.sizer == weir_core::exporter::Sizer::Requests => {
                helper.sending_queue.queue_size = 10_000
            }
            (None, _) => {}
        }
        match given_queue("num_consumers").and_then(|v| v.as_u64()) {
            Some(n) if n > 1 => problem(
                &["sending_queue", "num_consumers"],
                "prometheusremotewrite takes batches from its queue one at a time so that the samples of a series arrive in order, as otelcol; `remote_write_queue.num_consumers` sets the requests in flight".to_string(),
            ),
            _ => helper.sending_queue.num_consumers = 1,
        }
        let retry = &mut helper.retry_on_failure;
        if !given_retry("initial_interval") {
            retry.initial_interval = Duration::from_millis(50);
        }
        if !given_retry("max_interval") {
            retry.max_interval = Duration::from_millis(200);
        }
        if !given_retry("max_elapsed_time") {
            retry.max_elapsed_time = Duration::from_secs(60);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Converts and sends batches of metrics.
pub struct RemoteWriteExporter {
    id: String,
    client: RemoteWriteClient,
    settings: Settings,
    max_batch_size_bytes: usize,
    concurrency: usize,
    counters: Counters,
    /// Held across one batch's sends: batches go one after another.
    sending: tokio::sync::Mutex<()>,
}

impl RemoteWriteExporter {
    /// An exporter for `config` (no I/O until the first export).
    pub fn new(
        config: &RemoteWriteConfig,
        settings: &CreateSettings,
    ) -> Result<RemoteWriteExporter, BuildError> {
        let id = settings.id.to_string();
        Ok(RemoteWriteExporter {
            client: RemoteWriteClient::new(config, settings)?,
            settings: Settings {
                namer: config.namer(),
                external_labels: config.external_labels.clone(),
                resource_to_telemetry: config.resource_to_telemetry_conversion.enabled,
                target_info: config.target_info.enabled,
                send_metadata: config.send_metadata,
            },
            max_batch_size_bytes: config.max_batch_size_bytes,
            concurrency: config.remote_write_queue.num_consumers.max(1),
            counters: Counters::new(&id),
            sending: tokio::sync::Mutex::new(()),
            id,
        })
    }
}

#[async_trait]
impl Exporter for RemoteWriteExporter {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        let decoded = batch.decoded().map_err(|e| ExportError::Permanent {
            reason: format!("metrics could not be decoded: {e}"),
        })?;
        let Request::Metrics(metrics) = &*decoded else {
            return Err(ExportError::Permanent {
                reason: format!(
                    "the prometheusremotewrite exporter takes metrics, not {}",
                    batch.signal()
                ),
            });
        };
        let converted = convert::convert(metrics, &self.settings);
        for (reason, points) in &converted.dropped {
            self.counters.dropped(*reason, *points);
            tracing::warn!(
                exporter = %self.id,
                points,
                reason = reason.as_str(),
                "data points dropped: not convertible to remote write"
            );
        }
        let requests = request::split(
            converted.series,
            converted.metadata,
            self.max_batch_size_bytes,
        );
        let mut encoded = Vec::with_capacity(requests.len());
        for one in &requests {
            encoded.push(request::encode(one).map_err(|e| ExportError::Permanent {
                reason: format!("remote write request could not be compressed: {e}"),
            })?);
        }
        drop(requests);
        let _turn = self.sending.lock().await;
        let outcomes: Vec<(u64, Result<(), ExportError>)> =
            futures::stream::iter(encoded.into_iter().map(|one| async move {
                let bytes = one.body.len();
                let outcome = self.client.send(one.body).await;
                if outcome.is_ok() {
                    self.counters.sent(one.samples, bytes);
                }
                (one.samples, outcome)
            }))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        self.outcome(outcomes)
    }
}

impl RemoteWriteExporter {
    /// One failed request fails the batch: retryable if any failure is (the whole batch is
    /// sent again), else permanent.
    fn outcome(
        &self,
        outcomes: Vec<(u64, Result<(), ExportError>)>,
    ) -> Result<Delivered, ExportError> {
        let total = outcomes.len();
        let mut retry: Option<(Option<Duration>, String)> = None;
        let mut permanent: Option<String> = None;
        let mut failed = 0;
        for (samples, outcome) in outcomes {
            match outcome {
                Ok(()) => {}
                Err(ExportError::Retryable {
                    retry_after,
                    reason,
                }) => {
                    failed += 1;
                    self.counters.failed(samples, true);
                    tracing::debug!(exporter = %self.id, reason, "remote write failed; the batch will be retried");
                    // The longest wait any server asked for.
                    if retry.as_ref().is_none_or(|(wait, _)| *wait < retry_after) {
                        retry = Some((retry_after, reason));
                    }
                }
                Err(ExportError::Permanent { reason }) => {
                    failed += 1;
                    self.counters.failed(samples, false);
                    tracing::warn!(exporter = %self.id, reason, "remote write refused by the server");
                    permanent.get_or_insert(reason);
                }
            }
        }
        let reason = |reason: String| {
            if total > 1 {
                format!("{failed} of {total} remote write requests failed: {reason}")
            } else {
                reason
            }
        };
        match (retry, permanent) {
            (Some((retry_after, first)), _) => Err(ExportError::Retryable {
                retry_after,
                reason: reason(first),
            }),
            (None, Some(first)) => Err(ExportError::Permanent {
                reason: reason(first),
            }),
            (None, None) => Ok(Delivered::default()),
        }
    }
}

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod convert_tests;
