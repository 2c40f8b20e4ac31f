//! Exporters: send batches out of Weir. They only send and classify failures; the runtime
//! wraps every exporter in the sending queue, retry and timeout (as otelcol's exporterhelper).

use std::time::Duration;

use async_trait::async_trait;

use crate::batch::Batch;

/// A successful export, possibly partial (OTLP partial success): rejected items are recorded,
/// never retried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Items the server said it rejected.
    pub rejected_items: u64,
    /// The server's message about them.
    pub message: String,
}

/// A failed export.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    /// Worth trying again, after `retry_after` if the server said so.
    #[error("retryable: {reason}")]
    Retryable {
        /// `RetryInfo` / `Retry-After` from the server.
        retry_after: Option<Duration>,
        /// What went wrong.
        reason: String,
    },
    /// Never worth trying again: the batch is dropped and counted.
    #[error("permanent: {reason}")]
    Permanent {
        /// What went wrong.
        reason: String,
    },
}

/// An exporter instance, shared by every pipeline that lists its id. `export` is called
/// concurrently by the queue's consumers (`num_consumers`), so an exporter holds its
/// connections behind `&self`.
#[async_trait]
pub trait Exporter: Send + Sync + 'static {
    /// Sends one batch once. Must not retry or queue.
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError>;

    /// Called once by the runtime before the instance's queues open, after the instance it
    /// replaces on a reload (same id, changed config) has shut down. An exporter that serves
    /// (the `prometheus` exporter's `/metrics`) binds here, so a port in use fails startup
    /// with its message and a reload can take over the port. The default does nothing.
    async fn start(&self) -> Result<(), String> {
        Ok(())
    }

    /// Called once after the last export, before the process exits.
    async fn shutdown(&self) {}
}
