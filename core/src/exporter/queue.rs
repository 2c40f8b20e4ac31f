//! The sending queue in front of one exporter for one signal: a bounded in-memory queue whose
//! consumers export with retry. A full queue makes the pipeline wait, so backpressure travels
//! back to the receivers instead of growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ExporterHelperConfig;
use super::retry::{ExportOutcome, RetryPolicy};
use crate::batch::{Batch, Signal};
use crate::component::{ComponentId, Exporter};

/// Counters of one queue, read by internal telemetry. Counted per batch, never per item.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Items delivered (including items the server rejected as partial success).
    pub sent_items: AtomicU64,
    /// Items dropped: permanent errors, exhausted retries, abandoned at shutdown.
    pub send_failed_items: AtomicU64,
    /// Items a server rejected inside an otherwise successful export (partial success).
    pub rejected_items: AtomicU64,
    /// Export attempts that failed and were retried.
    pub retries: AtomicU64,
    /// Batches waiting in the queue or being exported (otelcol's `queue_size`).
    pub queued_batches: AtomicU64,
    /// Capacity of the queue, in batches.
    pub capacity: AtomicU64,
}

/// Where a pipeline hands batches for one exporter and signal.
#[derive(Clone)]
pub enum ExportSink {
    /// Through a sending queue (`sending_queue.enabled: true`).
    Queued {
        /// The queue.
        tx: mpsc::Sender<Batch>,
        /// Its counters.
        stats: Arc<QueueStats>,
    },
    /// Straight to the exporter with retry, the pipeline waiting for the result
    /// (`sending_queue.enabled: false`).
    Direct(Arc<Worker>),
}

impl ExportSink {
    /// Hands a batch on; waits while the queue is full. Returns the batch if the queue has
    /// shut down.
    pub async fn send(&self, batch: Batch) -> Result<(), Batch> {
        match self {
            ExportSink::Queued { tx, stats } => {
                // Reserve first: waiting is cancel-safe, and the count goes up before the
                // consumer can possibly take the batch and count it down.
                let Ok(permit) = tx.reserve().await else {
                    return Err(batch);
                };
                stats.queued_batches.fetch_add(1, Ordering::Relaxed);
                permit.send(batch);
                Ok(())
            }
            ExportSink::Direct(worker) => {
                worker.stats.queued_batches.fetch_add(1, Ordering::Relaxed);
                worker.export(batch).await;
                worker.stats.queued_batches.fetch_sub(1, Ordering::Relaxed);
                Ok(())
            }
        }
    }
}

/// Exports one batch with retry and accounts for the outcome.
pub struct Worker {
    id: ComponentId,
    signal: Signal,
    exporter: Arc<dyn Exporter>,
    retry: RetryPolicy,
    stats: Arc<QueueStats>,
    /// Fired when the drain deadline has passed: batches still retrying are given up.
    abandon: CancellationToken,
}

impl Worker {
    async fn export(&self, batch: Batch) {
        let items = batch.items() as u64;
        let outcome = self
            .retry
            .export(&self.exporter, &batch, &self.abandon, |error, delay| {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(exporter = %self.id, signal = %self.signal, error = %error, delay = ?delay, "export failed, will retry");
            })
            .await;
        match outcome {
            ExportOutcome::Delivered(delivered) => {
                self.stats.sent_items.fetch_add(items, Ordering::Relaxed);
                if delivered.rejected_items > 0 {
                    self.stats
                        .rejected_items
                        .fetch_add(delivered.rejected_items, Ordering::Relaxed);
                    tracing::warn!(exporter = %self.id, signal = %self.signal, rejected = delivered.rejected_items,
                        message = %delivered.message, "server accepted the batch partially");
                }
            }
            ExportOutcome::Permanent(reason) => {
                self.stats
                    .send_failed_items
                    .fetch_add(items, Ordering::Relaxed);
                tracing::error!(exporter = %self.id, signal = %self.signal, items, error = %reason,
                    "export failed permanently; dropping the batch");
            }
            ExportOutcome::RetriesExhausted(reason) | ExportOutcome::Abandoned(reason) => {
                self.stats
                    .send_failed_items
                    .fetch_add(items, Ordering::Relaxed);
                tracing::error!(exporter = %self.id, signal = %self.signal, items, error = %reason,
                    "export failed; dropping the batch");
            }
        }
    }
}

/// A running sending queue (or direct sink) with its consumers.
pub struct SendingQueue {
    sink: ExportSink,
    stats: Arc<QueueStats>,
    abandon: CancellationToken,
    dispatcher: Option<JoinHandle<()>>,
}

impl SendingQueue {
    /// Starts the queue and its consumers for `exporter` on `signal`.
    pub fn start(
        id: ComponentId,
        signal: Signal,
        exporter: Arc<dyn Exporter>,
        config: &ExporterHelperConfig,
    ) -> Self {
        let stats = Arc::new(QueueStats::default());
        let abandon = CancellationToken::new();
        let worker = Arc::new(Worker {
            id,
            signal,
            exporter,
            retry: RetryPolicy::new(config.retry_on_failure.clone()),
            stats: stats.clone(),
            abandon: abandon.clone(),
        });
        let queue = &config.sending_queue;
        if !queue.enabled {
            stats.capacity.store(1, Ordering::Relaxed);
            return SendingQueue {
                sink: ExportSink::Direct(worker),
                stats,
                abandon,
                dispatcher: None,
            };
        }
        stats
            .capacity
            .store(queue.queue_size as u64, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(queue.queue_size);
        let dispatcher = tokio::spawn(dispatch(rx, worker, queue.num_consumers));
        SendingQueue {
            sink: ExportSink::Queued {
                tx,
                stats: stats.clone(),
            },
            stats,
            abandon,
            dispatcher: Some(dispatcher),
        }
    }

    /// Where pipelines send batches for this exporter.
    pub fn sink(&self) -> ExportSink {
        self.sink.clone()
    }

    /// The queue's counters.
    pub fn stats(&self) -> Arc<QueueStats> {
        self.stats.clone()
    }

    /// Waits until every batch handed in so far has been exported or dropped, giving up on
    /// what is left after `deadline`. Pipelines must have dropped their sinks first (the
    /// queue ends when its last sender is gone).
    pub async fn drain(mut self, deadline: Duration) {
        drop(self.sink);
        let Some(dispatcher) = self.dispatcher.take() else {
            return;
        };
        let abandon = self.abandon.clone();
        let mut dispatcher = dispatcher;
        if tokio::time::timeout(deadline, &mut dispatcher)
            .await
            .is_err()
        {
            let left = self.stats.queued_batches.load(Ordering::Relaxed);
            tracing::warn!(
                batches = left,
                "shutdown deadline reached; dropping what the queue still holds"
            );
            abandon.cancel();
            let _ = dispatcher.await;
        }
    }
}

/// Takes batches off the queue and runs up to `consumers` exports at once.
async fn dispatch(mut rx: mpsc::Receiver<Batch>, worker: Arc<Worker>, consumers: usize) {
    let slots = Arc::new(Semaphore::new(consumers));
    let mut running = tokio::task::JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let batch = tokio::select! {
            batch = rx.recv() => batch,
            _ = worker.abandon.cancelled() => None,
        };
        let Some(batch) = batch else { break };
        let worker = worker.clone();
        running.spawn(async move {
            worker.export(batch).await;
            worker.stats.queued_batches.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
        while running.try_join_next().is_some() {}
    }
    // Batches still in the channel after abandonment are counted as failed.
    rx.close();
    while let Some(batch) = rx.recv().await {
        worker
            .stats
            .send_failed_items
            .fetch_add(batch.items() as u64, Ordering::Relaxed);
        worker.stats.queued_batches.fetch_sub(1, Ordering::Relaxed);
    }
    while running.join_next().await.is_some() {}
}
