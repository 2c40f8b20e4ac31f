//! One pipeline's task: takes batches from its input channel, runs them through the
//! pipeline's processors in order, and hands the results to each exporter's sink.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::batch::Batch;
use crate::component::{ComponentId, Processor};
use crate::exporter::ExportSink;

/// Counters of one processor in one pipeline (otelcol's processor incoming/outgoing items).
#[derive(Debug, Default)]
pub struct ProcessorStats {
    /// Items handed to the processor.
    pub incoming_items: AtomicU64,
    /// Items the processor passed on.
    pub outgoing_items: AtomicU64,
    /// Items in batches the processor failed on (dropped).
    pub failed_items: AtomicU64,
}

/// A processor instance with its id and counters.
pub struct Stage {
    /// The processor's id.
    pub id: ComponentId,
    /// The instance.
    pub processor: Box<dyn Processor>,
    /// Its counters.
    pub stats: Arc<ProcessorStats>,
}

/// Everything one pipeline task owns.
pub struct PipelineTask {
    /// The pipeline's name (`traces/2`), for logs.
    pub name: String,
    /// Batches from the receivers.
    pub input: mpsc::Receiver<Batch>,
    /// The processors, in order.
    pub stages: Vec<Stage>,
    /// One sink per exporter.
    pub sinks: Vec<ExportSink>,
    /// Cancelled once the receivers have stopped: drain the input, flush, return.
    pub stop: CancellationToken,
}

impl PipelineTask {
    /// Runs until stopped and drained.
    pub async fn run(mut self) {
        loop {
            let deadline = self
                .stages
                .iter()
                .filter_map(|s| s.processor.deadline())
                .min();
            tokio::select! {
                batch = self.input.recv() => match batch {
                    Some(batch) => self.push(0, vec![batch]).await,
                    None => break,
                },
                _ = sleep_until(deadline) => {
                    let now = tokio::time::Instant::now();
                    for i in 0..self.stages.len() {
                        if self.stages[i].processor.deadline().is_some_and(|d| d <= now) {
                            let mut out = Vec::new();
                            let result = self.stages[i].processor.on_deadline(&mut out).await;
                            self.after_stage(i, result, 0, &out);
                            self.push(i + 1, out).await;
                        }
                    }
                },
                _ = self.stop.cancelled(), if !self.input.is_closed() => {
                    // Receivers are done: take what is buffered, then `recv` ends.
                    self.input.close();
                }
            }
        }
        for i in 0..self.stages.len() {
            let mut out = Vec::new();
            let result = self.stages[i].processor.flush(&mut out).await;
            self.after_stage(i, result, 0, &out);
            self.push(i + 1, out).await;
        }
        tracing::debug!(pipeline = %self.name, "pipeline drained");
    }

    /// Runs `batches` through the stages from `first` on, then to the exporters.
    async fn push(&mut self, first: usize, mut batches: Vec<Batch>) {
        for i in first..self.stages.len() {
            if batches.is_empty() {
                return;
            }
            let mut out = Vec::with_capacity(batches.len());
            for batch in batches {
                let items = batch.items() as u64;
                self.stages[i]
                    .stats
                    .incoming_items
                    .fetch_add(items, Ordering::Relaxed);
                let result = self.stages[i].processor.process(batch, &mut out).await;
                self.after_stage(i, result, items, &[]);
            }
            let passed: usize = out.iter().map(Batch::items).sum();
            self.stages[i]
                .stats
                .outgoing_items
                .fetch_add(passed as u64, Ordering::Relaxed);
            batches = out;
        }
        for batch in batches {
            deliver(&self.name, &self.sinks, batch).await;
        }
    }

    fn after_stage(
        &self,
        i: usize,
        result: Result<(), crate::component::ProcessError>,
        items: u64,
        emitted: &[Batch],
    ) {
        let stage = &self.stages[i];
        if !emitted.is_empty() {
            let n: usize = emitted.iter().map(Batch::items).sum();
            stage
                .stats
                .outgoing_items
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        if let Err(e) = result {
            stage.stats.failed_items.fetch_add(items, Ordering::Relaxed);
            tracing::warn!(pipeline = %self.name, processor = %stage.id, error = %e, items, "processor failed; batch dropped");
        }
    }
}

/// Hands a batch to every exporter of the pipeline (the last one gets the original).
async fn deliver(pipeline: &str, sinks: &[ExportSink], batch: Batch) {
    let last = sinks.len().saturating_sub(1);
    let mut batch = Some(batch);
    for (i, sink) in sinks.iter().enumerate() {
        let b = if i == last {
            batch.take()
        } else {
            batch.clone()
        };
        if let Some(b) = b
            && let Err(lost) = sink.send(b).await
        {
            tracing::error!(pipeline = %pipeline, items = lost.items(), "exporter queue closed; batch dropped");
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
