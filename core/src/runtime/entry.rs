//! A receiver's way into its pipelines: one [`Consumer`] per (receiver, signal) that offers
//! each batch to every pipeline listing the receiver, all or nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::batch::Batch;
use crate::component::{Consumer, PushOutcome};

/// Counters of one receiver for one signal, counted per batch.
#[derive(Debug, Default)]
pub struct EntryStats {
    /// Items every pipeline took.
    pub accepted_items: AtomicU64,
    /// Items refused because the pipelines were full (the client was told to retry).
    pub refused_items: AtomicU64,
    /// Items refused for good (shutting down).
    pub failed_items: AtomicU64,
}

/// Fans a receiver's batches out to the pipelines of one signal.
pub struct PipelineEntry {
    pipelines: Vec<mpsc::Sender<Batch>>,
    admission_timeout: Duration,
    stats: Arc<EntryStats>,
}

impl PipelineEntry {
    /// An entry into `pipelines`; a batch that cannot enter all of them within
    /// `admission_timeout` is refused with a retry delay.
    pub fn new(
        pipelines: Vec<mpsc::Sender<Batch>>,
        admission_timeout: Duration,
        stats: Arc<EntryStats>,
    ) -> Self {
        PipelineEntry {
            pipelines,
            admission_timeout,
            stats,
        }
    }
}

#[async_trait]
impl Consumer for PipelineEntry {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        let items = batch.items() as u64;
        let deadline = Instant::now() + self.admission_timeout;
        // Reserve a slot in every pipeline before sending to any, so a batch is taken by all
        // pipelines or by none, and a refused client's retry duplicates nothing.
        let mut permits = Vec::with_capacity(self.pipelines.len());
        for tx in &self.pipelines {
            match tokio::time::timeout_at(deadline, tx.reserve()).await {
                Ok(Ok(permit)) => permits.push(permit),
                Ok(Err(_closed)) => {
                    self.stats.failed_items.fetch_add(items, Ordering::Relaxed);
                    return PushOutcome::Failed {
                        reason: "the pipeline is shutting down".to_string(),
                    };
                }
                Err(_elapsed) => {
                    self.stats.refused_items.fetch_add(items, Ordering::Relaxed);
                    return PushOutcome::Refused {
                        retry_after: Some(Duration::from_secs(1)),
                        reason: format!(
                            "pipeline full: no room for the batch within {:?}; retry later",
                            self.admission_timeout
                        ),
                    };
                }
            }
        }
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
        self.stats
            .accepted_items
            .fetch_add(items, Ordering::Relaxed);
        PushOutcome::Accepted
    }
}
