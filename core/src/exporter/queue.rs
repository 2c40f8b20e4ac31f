//! The sending queue in front of one exporter for one signal: a bounded store (memory or disk)
//! whose consumers export with retry. A full queue makes pipelines wait or receivers refuse
//! (`block_on_overflow`), so backpressure reaches clients instead of growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ExporterHelperConfig;
use super::drop_log::DropLog;
use super::retry::{ExportOutcome, RetryPolicy};
use super::store::{MemoryStore, QueueStore};
use crate::batch::{Batch, Signal};
use crate::component::{ComponentId, Connector, Exporter, Outputs};

/// Counters of one queue, read by internal telemetry and by receivers deciding how long a
/// client should wait. Counted per batch, never per item.
#[derive(Default)]
pub struct QueueStats {
    /// Items delivered (including items the server rejected as partial success).
    pub sent_items: AtomicU64,
    /// Items dropped: permanent errors, exhausted retries, abandoned at shutdown.
    pub send_failed_items: AtomicU64,
    /// Items a server rejected inside an otherwise successful export (partial success).
    pub rejected_items: AtomicU64,
    /// Export attempts that failed and were retried.
    pub retries: AtomicU64,
    /// Items refused before entering the queue because it was full (otelcol's
    /// `otelcol_exporter_enqueue_failed_*`); counted by the receivers' entry, which refuses them.
    pub enqueue_failed_items: AtomicU64,
    /// Batches waiting in the queue or being exported.
    pub queued_batches: AtomicU64,
    /// Moving average of how long one export takes until it is finished (retries included),
    /// in microseconds: with the backlog it tells how long the queue needs to drain.
    pub export_micros_avg: AtomicU64,
    /// Unix seconds of the first failure of the current run of failed exports; 0 while exports
    /// succeed (the health check reads it).
    pub failing_since: AtomicU64,
    /// The store, for its size and capacity; `None` without a queue.
    store: Option<Arc<dyn QueueStore>>,
    /// Consumers exporting at once.
    consumers: u64,
    /// Whether receivers wait for room instead of refusing.
    block_on_overflow: bool,
    /// Whether clients are answered only after delivery.
    wait_for_result: bool,
}

impl QueueStats {
    /// Counters for a queue over `store` (tests and telemetry).
    pub fn for_store(store: Arc<dyn QueueStore>) -> QueueStats {
        Self::for_store_with(store, false, false)
    }

    /// Counters for a queue over `store` with its overflow and result-waiting behaviour.
    pub fn for_store_with(
        store: Arc<dyn QueueStore>,
        block_on_overflow: bool,
        wait_for_result: bool,
    ) -> QueueStats {
        QueueStats {
            store: Some(store),
            consumers: 1,
            block_on_overflow,
            wait_for_result,
            ..QueueStats::default()
        }
    }

    /// Adds the counts of a queue this one replaces (an exporter rebuilt by a reload), so
    /// counters stay monotonic.
    pub fn absorb(&self, old: &QueueStats) {
        for (mine, theirs) in [
            (&self.sent_items, &old.sent_items),
            (&self.send_failed_items, &old.send_failed_items),
            (&self.rejected_items, &old.rejected_items),
            (&self.retries, &old.retries),
        ] {
            mine.fetch_add(theirs.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// Size now, in the sizer's unit (otelcol's `otelcol_exporter_queue_size`).
    pub fn size(&self) -> u64 {
        self.store
            .as_ref()
            .map_or(self.queued_batches.load(Ordering::Relaxed), |s| s.size())
    }

    /// Capacity in the sizer's unit.
    pub fn capacity(&self) -> u64 {
        self.store.as_ref().map_or(1, |s| s.capacity())
    }

    /// Whether new batches would have to wait for room.
    pub fn is_full(&self) -> bool {
        self.store.as_ref().is_some_and(|s| s.is_full())
    }

    /// Whether receivers should wait for room rather than refuse.
    pub fn blocks_on_overflow(&self) -> bool {
        self.block_on_overflow || self.store.is_none()
    }

    /// Whether clients must be answered only after delivery.
    /// With a persistent store this is always so: a client is acknowledged once its data is
    /// stored as the fsync policy says (the store drops a batch once it is written).
    pub fn waits_for_result(&self) -> bool {
        self.wait_for_result || self.store.as_ref().is_some_and(|s| s.durable())
    }

    /// How long the batches queued now should take to export, from the recent export time.
    pub fn drain_estimate(&self) -> Duration {
        let per_batch = self.export_micros_avg.load(Ordering::Relaxed);
        let queued = self.queued_batches.load(Ordering::Relaxed);
        Duration::from_micros(per_batch.saturating_mul(queued) / self.consumers.max(1))
    }

    fn record_export_time(&self, took: Duration) {
        let sample = took.as_micros().min(u64::MAX as u128) as u64;
        let old = self.export_micros_avg.load(Ordering::Relaxed);
        // An exponential moving average weighting the newest export by 1/8: follows a backend
        // slowing down within a few batches without jumping on one outlier.
        let new = if old == 0 {
            sample
        } else {
            old - old / 8 + sample / 8
        };
        self.export_micros_avg.store(new, Ordering::Relaxed);
    }
}

/// Where a pipeline hands batches for one exporter and signal.
#[derive(Clone)]
pub enum ExportSink {
    /// Through a sending queue (`sending_queue.enabled: true`).
    Queued {
        /// The queue's store.
        store: Arc<dyn QueueStore>,
        /// Its counters.
        stats: Arc<QueueStats>,
    },
    /// Straight to the exporter with retry, the pipeline waiting for the result
    /// (`sending_queue.enabled: false`).
    Direct(Arc<Worker>),
    /// Into a connector, which passes it on to the pipelines it feeds, waiting for room there.
    Connector {
        /// The connector's id, for logs.
        id: ComponentId,
        /// The instance.
        connector: Arc<dyn Connector>,
        /// The signal of the pipeline exporting into it.
        signal: Signal,
        /// The pipelines it feeds.
        outputs: Arc<Outputs>,
    },
}

impl ExportSink {
    /// Hands a batch on; waits while the queue is full. Gives the batch back if the queue has
    /// shut down.
    pub async fn send(&self, batch: Batch) -> Result<(), Batch> {
        match self {
            ExportSink::Queued { store, stats } => {
                // Counted before the push so a consumer's count-down can never come first;
                // the guard takes it back if the push fails or the caller gives up waiting.
                let counted = Counted::new(&stats.queued_batches);
                store.push(batch).await?;
                counted.keep();
                Ok(())
            }
            ExportSink::Direct(worker) => {
                worker.stats.queued_batches.fetch_add(1, Ordering::Relaxed);
                worker.export(batch).await;
                worker.stats.queued_batches.fetch_sub(1, Ordering::Relaxed);
                Ok(())
            }
            ExportSink::Connector {
                id,
                connector,
                signal,
                outputs,
            } => {
                let meta = batch.meta().clone();
                let items = batch.items();
                if let Err(e) = connector.consume(*signal, batch, outputs).await {
                    // Not passed on: the sender hears it, as from an exporter that gave up.
                    meta.fail_acks(&e.0);
                    tracing::error!(connector = %id, items, error = %e, "connector dropped a batch");
                }
                Ok(())
            }
        }
    }
}

/// One batch counted in a gauge, taken back on drop unless kept.
struct Counted<'a>(Option<&'a AtomicU64>);

impl<'a> Counted<'a> {
    fn new(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Counted(Some(gauge))
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some(gauge) = self.0 {
            gauge.fetch_sub(1, Ordering::Relaxed);
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
    /// Whether the store keeps abandoned batches for the next start.
    durable: bool,
    /// Rate limit of the "dropping" error line.
    drops: DropLog,
}

impl Worker {
    async fn export(&self, batch: Batch) -> ExportOutcome {
        let items = batch.items() as u64;
        let started = Instant::now();
        let outcome = self
            .retry
            .export(&self.exporter, &batch, &self.abandon, |error, delay| {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let now = unix_seconds();
                let _ = self.stats.failing_since.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
                tracing::debug!(exporter = %self.id, signal = %self.signal, %error, ?delay, "export failed, will retry");
            })
            .await;
        self.stats.record_export_time(started.elapsed());
        match &outcome {
            ExportOutcome::Delivered(delivered) => {
                self.stats.failing_since.store(0, Ordering::Relaxed);
                self.stats.sent_items.fetch_add(items, Ordering::Relaxed);
                if delivered.rejected_items > 0 {
                    self.stats
                        .rejected_items
                        .fetch_add(delivered.rejected_items, Ordering::Relaxed);
                    tracing::warn!(exporter = %self.id, signal = %self.signal, rejected = delivered.rejected_items,
                        message = %delivered.message, "server accepted the batch partially");
                    batch
                        .meta()
                        .reject_acks(delivered.rejected_items, &delivered.message);
                }
            }
            ExportOutcome::Permanent(reason) | ExportOutcome::RetriesExhausted(reason) => {
                self.stats
                    .send_failed_items
                    .fetch_add(items, Ordering::Relaxed);
                batch.meta().fail_acks(reason);
                let cause = if matches!(outcome, ExportOutcome::Permanent(_)) {
                    "refused permanently"
                } else {
                    "retries exhausted"
                };
                if let Some(line) = self.drops.record(items) {
                    tracing::error!(exporter = %self.id, signal = %self.signal, batches = line.batches,
                        items = line.items, error = %reason,
                        "export failed ({cause}); dropping the batch (and any others counted here since the last such line)");
                }
            }
            // A durable store keeps the batch for the next start: not lost, not counted.
            ExportOutcome::Abandoned(_) if self.durable => {}
            ExportOutcome::Abandoned(reason) => {
                self.stats
                    .send_failed_items
                    .fetch_add(items, Ordering::Relaxed);
                batch.meta().fail_acks(reason);
            }
        }
        outcome
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}

/// A running sending queue (or direct sink) with its consumers.
pub struct SendingQueue {
    sink: ExportSink,
    stats: Arc<QueueStats>,
    store: Option<Arc<dyn QueueStore>>,
    abandon: CancellationToken,
    dispatcher: Option<JoinHandle<()>>,
}

impl SendingQueue {
    /// Starts an in-memory queue (or a direct sink, when the queue is disabled) and its
    /// consumers for `exporter` on `signal`.
    pub fn start(
        id: ComponentId,
        signal: Signal,
        exporter: Arc<dyn Exporter>,
        config: &ExporterHelperConfig,
    ) -> Self {
        let queue = &config.sending_queue;
        let store: Option<Arc<dyn QueueStore>> = queue.enabled.then(|| {
            Arc::new(MemoryStore::new(queue.sizer, queue.queue_size)) as Arc<dyn QueueStore>
        });
        Self::start_with_store(id, signal, exporter, config, store)
    }

    /// Starts a queue over `store` (`None`: no queue, exports happen in the pipeline's task).
    pub fn start_with_store(
        id: ComponentId,
        signal: Signal,
        exporter: Arc<dyn Exporter>,
        config: &ExporterHelperConfig,
        store: Option<Arc<dyn QueueStore>>,
    ) -> Self {
        let queue = &config.sending_queue;
        let stats = Arc::new(QueueStats {
            store: store.clone(),
            consumers: queue.num_consumers.max(1) as u64,
            block_on_overflow: queue.block_on_overflow,
            wait_for_result: queue.wait_for_result,
            ..QueueStats::default()
        });
        let abandon = CancellationToken::new();
        let worker = Arc::new(Worker {
            id,
            signal,
            exporter,
            retry: RetryPolicy::new(config.retry_on_failure.clone()),
            stats: stats.clone(),
            abandon: abandon.clone(),
            durable: store.as_ref().is_some_and(|s| s.durable()),
            drops: DropLog::default(),
        });
        let Some(store) = store else {
            return SendingQueue {
                sink: ExportSink::Direct(worker),
                stats,
                store: None,
                abandon,
                dispatcher: None,
            };
        };
        let dispatcher = tokio::spawn(dispatch(store.clone(), worker, queue.num_consumers.max(1)));
        SendingQueue {
            sink: ExportSink::Queued {
                store: store.clone(),
                stats: stats.clone(),
            },
            stats,
            store: Some(store),
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

    /// Closes the queue and waits until every batch in it has been exported or dropped,
    /// giving up after `deadline`: a memory queue then drops (and counts) what is left, a
    /// durable one keeps it for the next start. Pipelines must be done sending first.
    pub async fn drain(mut self, deadline: Duration) {
        drop(self.sink);
        if let Some(store) = &self.store {
            store.close();
        }
        let Some(mut dispatcher) = self.dispatcher.take() else {
            return;
        };
        if tokio::time::timeout(deadline, &mut dispatcher)
            .await
            .is_err()
        {
            let left = self.stats.queued_batches.load(Ordering::Relaxed);
            let durable = self.store.as_ref().is_some_and(|s| s.durable());
            if durable {
                tracing::warn!(
                    batches = left,
                    "shutdown deadline reached; the persistent queue keeps what is left"
                );
            } else {
                tracing::warn!(
                    batches = left,
                    "shutdown deadline reached; dropping what the queue still holds"
                );
            }
            self.abandon.cancel();
            let _ = dispatcher.await;
        }
    }
}

/// Takes batches from the store and runs up to `consumers` exports at once.
async fn dispatch(store: Arc<dyn QueueStore>, worker: Arc<Worker>, consumers: usize) {
    let slots = Arc::new(Semaphore::new(consumers));
    let mut running = tokio::task::JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let next = tokio::select! {
            next = store.pop() => next,
            _ = worker.abandon.cancelled() => None,
        };
        let Some((batch, ticket)) = next else { break };
        let worker = worker.clone();
        let store = store.clone();
        running.spawn(async move {
            let outcome = worker.export(batch).await;
            if matches!(outcome, ExportOutcome::Abandoned(_)) {
                store.keep(ticket);
            } else {
                store.done(ticket);
            }
            // Batches recovered from disk at start were never counted in: do not wrap below 0.
            let _ = worker.stats.queued_batches.fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |n| n.checked_sub(1),
            );
            drop(slot);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    report_unlogged_drops(&worker);
    // Abandoned at the deadline: what a memory store still holds is lost, and counted.
    if !store.durable() {
        // The store is closed, so `pop` hands out what is left without waiting.
        while let Some((batch, ticket)) = store.pop().await {
            worker
                .stats
                .send_failed_items
                .fetch_add(batch.items() as u64, Ordering::Relaxed);
            worker.stats.queued_batches.fetch_sub(1, Ordering::Relaxed);
            batch.meta().fail_acks("dropped at shutdown");
            store.done(ticket);
        }
    }
}

/// Writes the drops a burst summary had not written yet.
fn report_unlogged_drops(worker: &Worker) {
    if let Some(line) = worker.drops.unreported() {
        tracing::error!(exporter = %worker.id, signal = %worker.signal, batches = line.batches, items = line.items,
            "batches dropped since the last report (export failed)");
    }
}
