//! The `debug` exporter: writes every batch it receives to Weir's log (`tracing`, target
//! `weir::debug`, level info) at one of three verbosities, sampled per second as otelcol's is.
//! It owns its config ([`DebugConfig`]), the sampler, and the text format ([`format`]).

mod config;
pub mod format;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use weir_core::batch::Signal;
use weir_core::batch::{Batch, Request, wire};
use weir_core::component::{
    BuildError, CreateSettings, Delivered, ExportError, Exporter, ExporterFactory,
};

pub use config::{DebugConfig, Verbosity};

/// Factory of the `debug` exporter.
#[derive(Debug, Default)]
pub struct DebugExporterFactory;

impl ExporterFactory for DebugExporterFactory {
    type Config = DebugConfig;
    const TYPE: &'static str = "debug";
    const SIGNALS: &'static [Signal] = &Signal::ALL;

    fn create(
        &self,
        config: &DebugConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        Ok(Arc::new(DebugExporter {
            id: settings.id.to_string(),
            verbosity: config.verbosity,
            sampler: Mutex::new(Sampler::new(
                config.sampling_initial,
                config.sampling_thereafter,
            )),
        }))
    }
}

/// Logs batches; never fails.
struct DebugExporter {
    id: String,
    verbosity: Verbosity,
    sampler: Mutex<Sampler>,
}

#[async_trait]
impl Exporter for DebugExporter {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        let admitted = match self.sampler.lock() {
            Ok(mut sampler) => sampler.admit(Instant::now()),
            // A poisoned sampler only means another export panicked mid-count; logging
            // everything is the safe side for a debugging tool.
            Err(_) => true,
        };
        if admitted {
            // One event per batch, so that lines of concurrent batches do not interleave.
            let text = render(self.verbosity, batch).join("\n");
            tracing::info!(target: "weir::debug", exporter = %self.id, "{text}");
        }
        Ok(Delivered::default())
    }
}

/// The lines one admitted batch logs: the summary, then (above `basic`) its content.
pub fn render(verbosity: Verbosity, batch: &Batch) -> Vec<String> {
    let (resources, items, decoded) = match verbosity {
        Verbosity::Basic => {
            let (resources, items) = counts(batch);
            (resources, items, None)
        }
        Verbosity::Normal | Verbosity::Detailed => match batch.decoded() {
            Ok(request) => (
                resource_count(&request),
                request.item_count(),
                Some(request),
            ),
            Err(e) => {
                return vec![format!(
                    "{} (content not shown: {e})",
                    format::summary(batch.signal(), 0, batch.items())
                )];
            }
        },
    };
    let mut out = vec![format::summary(batch.signal(), resources, items)];
    if let Some(request) = decoded {
        out.extend(match verbosity {
            Verbosity::Detailed => format::detailed(&request),
            _ => format::normal(&request),
        });
    }
    out
}

/// Resources and items without decoding an encoded batch.
fn counts(batch: &Batch) -> (usize, usize) {
    match batch.payload() {
        weir_core::batch::Payload::Encoded(bytes) => match wire::walk(batch.signal(), bytes) {
            Ok(summary) => (summary.resources, summary.items),
            Err(_) => (0, batch.items()),
        },
        weir_core::batch::Payload::Decoded(request) => {
            (resource_count(request), request.item_count())
        }
    }
}

fn resource_count(request: &Request) -> usize {
    match request {
        Request::Traces(r) => r.resource_spans.len(),
        Request::Metrics(r) => r.resource_metrics.len(),
        Request::Logs(r) => r.resource_logs.len(),
    }
}

/// otelcol's (zap's) sampling: in each one-second window the first `initial` batches are
/// logged, then every `thereafter`-th; `thereafter == 0` logs none until the next window.
#[derive(Debug)]
struct Sampler {
    initial: u64,
    thereafter: u64,
    window_start: Option<Instant>,
    seen: u64,
}

const SAMPLING_WINDOW: Duration = Duration::from_secs(1);

impl Sampler {
    fn new(initial: u64, thereafter: u64) -> Self {
        Sampler {
            initial,
            thereafter,
            window_start: None,
            seen: 0,
        }
    }

    fn admit(&mut self, now: Instant) -> bool {
        match self.window_start {
            Some(start) if now.duration_since(start) < SAMPLING_WINDOW => {}
            _ => {
                self.window_start = Some(now);
                self.seen = 0;
            }
        }
        self.seen += 1;
        if self.seen <= self.initial {
            return true;
        }
        // `n.is_multiple_of(0)` holds only for `n == 0`, and `n` is at least 1 here: so a
        // `thereafter` of 0 admits none.
        (self.seen - self.initial).is_multiple_of(self.thereafter)
    }
}

#[cfg(test)]
mod tests;
