//! Processors: look at, change, group or drop batches between receivers and exporters.

use async_trait::async_trait;
use tokio::time::Instant;

use crate::batch::Batch;

/// A refusal at the door of a pipeline: the client is told to come back later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// When to come back, if known.
    pub retry_after: Option<std::time::Duration>,
    /// Why, for the client.
    pub reason: String,
}

/// A check a processor asks the runtime to make before a batch enters its pipeline, so that
/// refusing happens while the client is still waiting for an answer (the memory limiter).
/// Called concurrently from receiver tasks; must be cheap.
pub trait Admission: Send + Sync + 'static {
    /// Whether `batch` may enter now.
    fn admit(&self, batch: &Batch) -> Result<(), Refusal>;
}

/// A processor that failed on a batch; the batch is dropped and counted.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProcessError(pub String);

/// A processor instance. Each pipeline that lists a processor id gets its own instance.
///
/// The runtime drives an instance from one task, one call at a time: `process` for each
/// incoming batch, `on_deadline` when the instant returned by `deadline` has passed, and
/// `flush` once at shutdown. Every call may push any number of batches to `out`; they go to
/// the next stage in order. Pushing nothing drops the batch (counted by the runtime).
#[async_trait]
pub trait Processor: Send + 'static {
    /// Handles one batch.
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError>;

    /// When `on_deadline` should next be called, if ever.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Called once the deadline has passed (the batch processor's timeout).
    async fn on_deadline(&mut self, _out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        Ok(())
    }

    /// Called once when the pipeline shuts down: emit everything still held.
    async fn flush(&mut self, _out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        Ok(())
    }

    /// A check the runtime makes before admitting a batch into this processor's pipeline.
    fn admission(&self) -> Option<std::sync::Arc<dyn Admission>> {
        None
    }

    /// Whether this processor changes content (so fan-out must not share decoded data with it).
    fn mutates_data(&self) -> bool {
        false
    }
}
