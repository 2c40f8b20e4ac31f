//! OTTL's `error_mode`, shared by `filter` and `transform`: what a condition or statement that
//! fails on a record at run time does to the batch, and how it is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::telemetry;

/// How a statement or condition that fails at run time (a wrong type, a bad index) is handled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorMode {
    /// The failure is logged (at most once per 10 s per processor, with how many were left
    /// unlogged) and counted; the record goes on as if the condition were false or the
    /// statement had not run.
    Ignore,
    /// As `ignore`, counted but never logged.
    Silent,
    /// The whole batch is refused with a permanent error (the default, as in otelcol).
    #[default]
    Propagate,
}

/// How often `ignore` logs.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Applies an [`ErrorMode`] for one processor instance: counts failures on
/// `weir_processor_ottl_errors_total{processor}` and logs them as the mode says.
pub struct ErrorPolicy {
    mode: ErrorMode,
    processor: String,
    errors: Arc<AtomicU64>,
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl ErrorPolicy {
    pub fn new(mode: ErrorMode, processor: &str) -> Self {
        ErrorPolicy {
            mode,
            processor: processor.to_string(),
            errors: telemetry::counter(
                "weir_processor_ottl_errors_total",
                "OTTL conditions and statements that failed on a record at run time.",
                &[("processor", processor)],
            ),
            last_logged: None,
            unlogged: 0,
        }
    }

    pub fn mode(&self) -> ErrorMode {
        self.mode
    }

    /// Records one failure of `what` (the statement or condition text). Under `propagate` the
    /// caller refuses the batch; otherwise it goes on.
    pub fn failed(&mut self, what: &str, error: &dyn std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if self.mode != ErrorMode::Ignore {
            return;
        }
        let now = Instant::now();
        if self
            .last_logged
            .is_some_and(|at| now.duration_since(at) < LOG_EVERY)
        {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(
            processor = %self.processor,
            statement = what,
            error = %error,
            since_last_logged = self.unlogged,
            "OTTL failed on a record; it goes on as if the condition were false (error_mode: ignore)"
        );
        self.last_logged = Some(now);
        self.unlogged = 0;
    }
}
