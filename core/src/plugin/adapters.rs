//! Plugin instances as Weir components: a [`Processor`] whose `process` hands the batch to the
//! instance's thread and collects what it emits, an [`Exporter`] that awaits the plugin's
//! outcome (the runtime wraps it in the sending queue and retry like any exporter), and a
//! [`Receiver`] whose `emit`s reach the pipelines through a bounded channel and a tokio task
//! (connectors, which are both, are in `connector`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use weir_plugin_abi::{self as abi, status_name};

use super::driver::Driver;
use super::instance::{Emission, Outcome};
use crate::batch::Batch;
use crate::component::{
    Delivered, ExportError, Exporter, ProcessError, Processor, Receiver, ReceiverContext,
    ReceiverError,
};

/// First wait before a batch a processor answered `FULL` for is offered again; it doubles up
/// to [`FULL_MAX_WAIT`]. Meanwhile the pipeline waits, so the pressure reaches the receivers.
const FULL_FIRST_WAIT: Duration = Duration::from_millis(10);
const FULL_MAX_WAIT: Duration = Duration::from_secs(1);

/// Batches a receiver may have on their way into the pipelines at once; beyond it `emit`
/// answers `FULL` at once.
pub(super) const EMIT_CAPACITY: usize = 16;

/// A plugin processor instance (one per pipeline).
pub(crate) struct PluginProcessor {
    pub(crate) driver: Driver,
}

/// Hands `batch` to the instance until it takes it: after `FULL` the same batch is offered
/// again, after a wait that doubles up to [`FULL_MAX_WAIT`] (meanwhile the caller waits, so the
/// pressure reaches the receivers). What it emitted reaches `out` only when it answered OK.
pub(super) async fn consume_until_taken(
    driver: &Driver,
    batch: Batch,
    out: &mut Vec<Batch>,
) -> Result<(), String> {
    let mut wait = FULL_FIRST_WAIT;
    // Moved to the instance's thread and back (a batch passed on whole comes back in `out`):
    // no reference count is touched on the other thread.
    let mut batch = batch;
    loop {
        let (status, returned) = driver
            .process(batch, out)
            .await
            .map_err(|_| "the plugin instance has shut down".to_string())?;
        match status {
            abi::WEIR_OK => return Ok(()),
            // What was emitted before FULL is dropped: the same batch is offered again, and
            // passing both on would duplicate it.
            abi::WEIR_FULL => {
                batch = returned
                    .ok_or_else(|| "the plugin instance kept a batch it refused".to_string())?;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(FULL_MAX_WAIT);
            }
            abi::WEIR_PANICKED => {
                return Err("the plugin instance panicked and is poisoned".into());
            }
            other => {
                let detail = driver
                    .context()
                    .last_error()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(format!(
                    "the plugin answered {}{detail}",
                    status_name(other)
                ));
            }
        }
    }
}

#[async_trait]
impl Processor for PluginProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        consume_until_taken(&self.driver, batch, out)
            .await
            .map_err(ProcessError)
    }

    async fn flush(&mut self, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        match self.driver.shutdown(out).await {
            Ok(abi::WEIR_OK) => Ok(()),
            Ok(status) => Err(ProcessError(format!(
                "the plugin's shutdown answered {}",
                status_name(status)
            ))),
            Err(_) => Ok(()),
        }
    }
}

/// A plugin exporter instance, shared by the queue consumers of every pipeline that lists it.
pub(crate) struct PluginExporter {
    pub(crate) driver: Driver,
    pub(crate) next_token: AtomicU64,
}

/// How a plugin's export status maps onto the runtime's retry decision.
pub(crate) fn export_result(outcome: Outcome) -> Result<Delivered, ExportError> {
    let reason = if outcome.message.is_empty() {
        format!("plugin answered {}", status_name(outcome.status))
    } else {
        outcome.message
    };
    match outcome.status {
        abi::WEIR_OK => Ok(Delivered::default()),
        abi::WEIR_RETRYABLE | abi::WEIR_FULL | abi::WEIR_SHUTTING_DOWN => {
            Err(ExportError::Retryable {
                retry_after: outcome.retry_after,
                reason,
            })
        }
        // PERMANENT, INVALID_ARGUMENT, UNSUPPORTED, PANICKED (poisoned for good), INTERNAL,
        // and codes a later minor may add: retrying cannot help.
        _ => Err(ExportError::Permanent { reason }),
    }
}

#[async_trait]
impl Exporter for PluginExporter {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        match self.driver.export(batch.clone(), token).await {
            Ok(outcome) => export_result(outcome),
            Err(_) => Err(ExportError::Retryable {
                retry_after: None,
                reason: "the plugin instance shut down before answering".into(),
            }),
        }
    }

    async fn shutdown(&self) {
        let _ = self.driver.shutdown(&mut Vec::new()).await;
    }
}

/// A plugin receiver instance.
pub(crate) struct PluginReceiver {
    pub(crate) driver: Driver,
}

#[async_trait]
impl Receiver for PluginReceiver {
    async fn start(self: Box<Self>, ctx: ReceiverContext) -> Result<JoinHandle<()>, ReceiverError> {
        let (tx, mut rx) = mpsc::channel::<Emission>(EMIT_CAPACITY);
        let consumers = ctx.consumers.clone();
        let id = ctx.id.clone();
        // In order, one at a time: each waits for admission into the pipelines as a built-in
        // receiver's request would, and the plugin thread that emitted waits for the answer.
        let forward = tokio::spawn(async move {
            while let Some((signal, batch, reply)) = rx.recv().await {
                let outcome = match consumers.get(&signal) {
                    Some(consumer) => consumer.consume(batch).await,
                    None => {
                        tracing::warn!(receiver = %id, %signal, "plugin receiver emitted a signal no pipeline takes from it; dropped");
                        crate::component::PushOutcome::Accepted
                    }
                };
                let _ = reply.send(outcome);
            }
        });
        self.driver.context().attach(tx);
        match self.driver.start().await {
            Ok(abi::WEIR_OK) => {}
            Ok(status) => {
                let _ = self.driver.shutdown(&mut Vec::new()).await;
                let detail = self
                    .driver
                    .context()
                    .last_error()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(ReceiverError::Other(format!(
                    "plugin start answered {}{detail}",
                    status_name(status)
                )));
            }
            Err(_) => {
                return Err(ReceiverError::Other(
                    "the plugin instance ended before starting".into(),
                ));
            }
        }
        let driver = Arc::new(self.driver);
        Ok(tokio::spawn(async move {
            ctx.shutdown.cancelled().await;
            let _ = driver.shutdown(&mut Vec::new()).await;
            let _ = forward.await;
        }))
    }
}
