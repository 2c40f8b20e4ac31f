//! Configuration of the `batch` processor (otelcol's names and defaults).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde};

/// Groups incoming batches into larger ones before export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Items (spans, data points, log records) after which a batch is sent, whatever the
    /// timeout.
    pub send_batch_size: usize,
    /// Upper bound of items in a sent batch; larger input is split. `0` means no bound.
    pub send_batch_max_size: usize,
    /// Time after which a batch is sent regardless of its size. `0` sends every batch at once
    /// (split by `send_batch_max_size` only).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub timeout: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: Duration::from_millis(200),
        }
    }
}

impl ComponentConfig for BatchConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        if self.send_batch_max_size > 0 && self.send_batch_max_size < self.send_batch_size {
            return Err(vec![format!(
                "send_batch_max_size ({}) must be 0 or at least send_batch_size ({})",
                self.send_batch_max_size, self.send_batch_size
            )]);
        }
        Ok(())
    }
}
