//! `sending_queue` and `retry_on_failure`, accepted in every exporter's config as in otelcol.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::{DurationString, humantime_serde};

/// The exporter-helper part of an exporter's config, taken out before the exporter's own
/// config is parsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExporterHelperConfig {
    /// The queue between the pipeline and the exporter's consumers.
    pub sending_queue: SendingQueueConfig,
    /// Retries of failed exports.
    pub retry_on_failure: RetryConfig,
}

/// The sending queue in front of an exporter: in memory, or on disk through a storage
/// extension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SendingQueueConfig {
    /// Queue batches before export. When false, the pipeline waits for each export.
    pub enabled: bool,
    /// Number of concurrent exports taking batches from the queue.
    pub num_consumers: usize,
    /// Capacity of the queue, in the unit `sizer` names.
    pub queue_size: usize,
    /// What `queue_size` counts: `requests` (batches), `items` (spans, data points, log
    /// records) or `bytes` (exact protobuf size).
    pub sizer: Sizer,
    /// When the queue is full: `false` refuses new data at the receivers at once (clients are
    /// told to retry later); `true` makes receivers wait for room, up to the client's deadline.
    pub block_on_overflow: bool,
    /// Answer the client only after this exporter has delivered the data (or given up on it),
    /// instead of once it is queued.
    pub wait_for_result: bool,
    /// Id of a storage extension (`file_storage`) that makes this queue persistent: batches
    /// survive restarts and crashes. Unset: the queue is in memory.
    pub storage: Option<String>,
}

/// The unit of a queue's capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sizer {
    /// Batches (export requests).
    #[default]
    Requests,
    /// Spans, metric data points or log records.
    Items,
    /// Bytes of encoded protobuf.
    Bytes,
}

impl Default for SendingQueueConfig {
    fn default() -> Self {
        SendingQueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            block_on_overflow: false,
            wait_for_result: false,
            storage: None,
        }
    }
}

/// Exponential backoff with jitter for retryable export failures; a server's `RetryInfo` or
/// `Retry-After` delay replaces the computed interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retry failed exports at all.
    pub enabled: bool,
    /// Wait before the first retry.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub initial_interval: Duration,
    /// Each interval is the previous one times this.
    pub multiplier: f64,
    /// Each wait is the interval ± this fraction of it, at random.
    pub randomization_factor: f64,
    /// Upper bound of one interval.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub max_interval: Duration,
    /// Give up on a batch (drop it, counted) after retrying this long; `0` retries forever.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            enabled: true,
            initial_interval: Duration::from_secs(5),
            multiplier: 1.5,
            randomization_factor: 0.5,
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

impl ExporterHelperConfig {
    /// Problems serde cannot see.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let q = &self.sending_queue;
        if q.enabled && q.num_consumers == 0 {
            problems.push("sending_queue.num_consumers must be at least 1".to_string());
        }
        if q.enabled && q.queue_size == 0 {
            problems.push("sending_queue.queue_size must be at least 1".to_string());
        }
        let r = &self.retry_on_failure;
        if r.enabled {
            if r.multiplier < 1.0 {
                problems.push("retry_on_failure.multiplier must be at least 1".to_string());
            }
            if !(0.0..=1.0).contains(&r.randomization_factor) {
                problems.push(
                    "retry_on_failure.randomization_factor must be between 0 and 1".to_string(),
                );
            }
            if r.initial_interval > r.max_interval {
                problems.push(
                    "retry_on_failure.initial_interval must not exceed max_interval".to_string(),
                );
            }
        }
        problems
    }
}
