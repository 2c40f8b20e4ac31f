//! The `debug` exporter's configuration.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;

/// How much of each batch the `debug` exporter writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    /// One line per batch with its counts.
    #[default]
    Basic,
    /// One line per resource, scope and item with the fields that identify it.
    Normal,
    /// Every field of every resource, scope and item.
    Detailed,
}

/// `debug` exporter: writes what passes through a pipeline to Weir's own log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    /// `basic` (counts per batch), `normal` (one line per item) or `detailed` (every field).
    pub verbosity: Verbosity,
    /// Batches written in full in each one-second window before sampling starts.
    pub sampling_initial: u64,
    /// After `sampling_initial` batches in a window, write only every Nth batch; `0` writes
    /// none until the next window.
    pub sampling_thereafter: u64,
}

impl Default for DebugConfig {
    fn default() -> Self {
        DebugConfig {
            verbosity: Verbosity::Basic,
            sampling_initial: 2,
            sampling_thereafter: 1,
        }
    }
}

impl ComponentConfig for DebugConfig {}
