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

/// The in-memory sending queue in front of an exporter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SendingQueueConfig {
    /// Queue batches before export. When false, the pipeline waits for each export.
    pub enabled: bool,
    /// Number of concurrent exports taking batches from the queue.
    pub num_consumers: usize,
    /// Maximum number of batches (requests) held in the queue.
    pub queue_size: usize,
}

impl Default for SendingQueueConfig {
    fn default() -> Self {
        SendingQueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
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
