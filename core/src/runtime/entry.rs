//! A receiver's way into its pipelines: one [`Consumer`] per (receiver, signal) that offers
//! each batch to every pipeline listing the receiver, all or nothing, and answers the way the
//! pipelines behind it ask: refuse at once when an exporter's queue is full, wait for room, or
//! wait for delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::batch::{AckGuard, AckResult, Batch, BatchMeta};
use crate::component::{Admission, Consumer, PushOutcome};
use crate::exporter::QueueStats;

/// How long a receiver may be told to wait at least, and at most, before retrying.
const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How long a batch may wait for room when a queue blocks on overflow and the client gave no
/// deadline of its own.
const BLOCK_WITHOUT_DEADLINE: Duration = Duration::from_secs(60);

/// The transports receivers name in [`BatchMeta::transport`] that get their own counters (and
/// otelcol's `transport` label); the last slot counts batches that name none (or another).
pub const TRANSPORTS: [Option<&str>; 3] = [Some("grpc"), Some("http"), None];

/// One counter per slot of [`TRANSPORTS`]. A fixed array rather than a map, so counting a batch
/// stays one atomic add whatever its transport.
#[derive(Debug, Default)]
pub struct PerTransport([AtomicU64; TRANSPORTS.len()]);

impl PerTransport {
    fn slot(transport: Option<&str>) -> usize {
        TRANSPORTS
            .iter()
            .position(|t| t.is_some() && *t == transport)
            .unwrap_or(TRANSPORTS.len() - 1)
    }

    /// Counts `n` items that came over `transport`.
    pub fn add(&self, transport: Option<&str>, n: u64) {
        self.0[Self::slot(transport)].fetch_add(n, Ordering::Relaxed);
    }

    /// The count of slot `slot` of [`TRANSPORTS`] (0 past the end).
    pub fn get(&self, slot: usize) -> u64 {
        self.0.get(slot).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The total over every transport.
    pub fn load(&self, order: Ordering) -> u64 {
        self.0.iter().map(|c| c.load(order)).sum()
    }
}

/// Counters of one receiver for one signal, per transport, counted per batch.
#[derive(Debug, Default)]
pub struct EntryStats {
    /// Items every pipeline took.
    pub accepted_items: PerTransport,
    /// Items refused with a retryable answer (pipelines full, memory limit, delivery failed
    /// while the client waited).
    pub refused_items: PerTransport,
    /// Items refused for good (shutting down).
    pub failed_items: PerTransport,
}

/// One pipeline as its entry sees it.
#[derive(Clone)]
pub struct PipelinePort {
    /// The pipeline's bounded input.
    pub input: mpsc::Sender<Batch>,
    /// Checks its processors make before admitting a batch.
    pub admissions: Vec<Arc<dyn Admission>>,
    /// The sending queues of its exporters.
    pub queues: Vec<Arc<QueueStats>>,
}

/// Fans a receiver's batches out to the pipelines of one signal.
pub struct PipelineEntry {
    ports: Vec<PipelinePort>,
    admission_timeout: Duration,
    stats: Arc<EntryStats>,
}

impl PipelineEntry {
    /// An entry into `ports`; a batch that cannot enter all of them within
    /// `admission_timeout` (or the client's deadline, when a queue blocks on overflow) is
    /// refused with a retry delay.
    pub fn new(
        ports: Vec<PipelinePort>,
        admission_timeout: Duration,
        stats: Arc<EntryStats>,
    ) -> Self {
        PipelineEntry {
            ports,
            admission_timeout,
            stats,
        }
    }

    /// This entry's counters.
    pub fn stats(&self) -> Arc<EntryStats> {
        self.stats.clone()
    }

    fn queues(&self) -> impl Iterator<Item = &Arc<QueueStats>> {
        self.ports.iter().flat_map(|p| &p.queues)
    }

    /// How long a refused client should wait: the time the fullest queue needs to drain what
    /// it holds, from how long exports take now.
    fn retry_after(&self) -> Duration {
        let drain = self
            .queues()
            .map(|q| q.drain_estimate())
            .max()
            .unwrap_or_default();
        drain.clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
    }

    fn refuse(
        &self,
        transport: Option<&str>,
        items: u64,
        reason: String,
        retry_after: Option<Duration>,
    ) -> PushOutcome {
        self.stats.refused_items.add(transport, items);
        PushOutcome::Refused {
            retry_after: Some(retry_after.unwrap_or_else(|| self.retry_after())),
            reason,
        }
    }
}

#[async_trait]
impl Consumer for PipelineEntry {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        let items = batch.items() as u64;
        let transport = batch.meta().transport;
        for admission in self.ports.iter().flat_map(|p| &p.admissions) {
            if let Err(refusal) = admission.admit(&batch) {
                return self.refuse(transport, items, refusal.reason, refusal.retry_after);
            }
        }
        let mut overflowing = false;
        for queue in self
            .queues()
            .filter(|q| q.is_full() && !q.blocks_on_overflow())
        {
            queue
                .enqueue_failed_items
                .fetch_add(items, Ordering::Relaxed);
            overflowing = true;
        }
        if overflowing {
            return self.refuse(
                transport,
                items,
                "an exporter's sending queue is full; retry later".to_string(),
                None,
            );
        }
        let blocking = self.queues().any(|q| q.blocks_on_overflow() && q.is_full());
        let deadline = if blocking {
            batch
                .meta()
                .deadline
                .unwrap_or_else(|| Instant::now() + BLOCK_WITHOUT_DEADLINE)
        } else {
            Instant::now() + self.admission_timeout
        };
        // Reserve a slot in every pipeline before sending to any, so a batch is taken by all
        // pipelines or by none, and a refused client's retry duplicates nothing.
        let mut permits = Vec::with_capacity(self.ports.len());
        for port in &self.ports {
            match tokio::time::timeout_at(deadline, port.input.reserve()).await {
                Ok(Ok(permit)) => permits.push(permit),
                Ok(Err(_closed)) => {
                    self.stats.failed_items.add(transport, items);
                    return PushOutcome::Failed {
                        reason: "the pipeline is shutting down".to_string(),
                    };
                }
                Err(_elapsed) => {
                    return self.refuse(
                        transport,
                        items,
                        "pipeline full: no room for the batch in time; retry later".to_string(),
                        None,
                    );
                }
            }
        }
        let wait_for_delivery = !batch.meta().sender_holds_ack
            && (batch.meta().acknowledge || self.queues().any(|q| q.waits_for_result()));
        let (batch, delivery) = if wait_for_delivery {
            let (guard, delivered) = AckGuard::new();
            let mut meta = BatchMeta::clone(batch.meta());
            meta.acks.push(Arc::new(guard));
            (batch.with_meta(Arc::new(meta)), Some(delivered))
        } else {
            (batch, None)
        };
        let client_deadline = batch.meta().deadline;
        let last = permits.len().saturating_sub(1);
        let mut batch = Some(batch);
        for (i, permit) in permits.into_iter().enumerate() {
            let b = if i == last {
                batch.take()
            } else {
                batch.clone()
            };
            if let Some(b) = b {
                permit.send(b);
            }
        }
        drop(batch);
        let Some(delivered) = delivery else {
            self.stats.accepted_items.add(transport, items);
            return PushOutcome::Accepted;
        };
        let result = match client_deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, delivered).await.ok(),
            None => Some(delivered.await),
        };
        match result {
            Some(Ok(AckResult::Done)) => {
                self.stats.accepted_items.add(transport, items);
                PushOutcome::Accepted
            }
            Some(Ok(AckResult::Partial { rejected, message })) => {
                self.stats.accepted_items.add(transport, items);
                PushOutcome::Partial { rejected, message }
            }
            Some(Ok(AckResult::Failed(reason))) => {
                self.refuse(transport, items, format!("not delivered: {reason}"), None)
            }
            Some(Err(_)) => self.refuse(
                transport,
                items,
                "not delivered: the pipeline stopped".to_string(),
                None,
            ),
            None => self.refuse(
                transport,
                items,
                "not delivered before the client's deadline".to_string(),
                None,
            ),
        }
    }
}
