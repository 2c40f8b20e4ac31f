//! The `batch` processor: groups batches into larger ones by item count and time, on the
//! encoded bytes (concatenation is a byte append; only an oversize batch is split).

mod config;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::time::Instant;
use weir_core::batch::split::{Concat, split_batch};
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

pub use config::BatchConfig;

/// Factory of the `batch` processor.
pub struct BatchFactory;

impl ProcessorFactory for BatchFactory {
    type Config = BatchConfig;
    const TYPE: &'static str = "batch";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &BatchConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        let signal = settings.signal.ok_or_else(|| {
            BuildError("the batch processor needs the pipeline's signal".to_string())
        })?;
        Ok(Box::new(BatchProcessor::new(config.clone(), signal)))
    }
}

/// One pipeline's batcher.
pub struct BatchProcessor {
    config: BatchConfig,
    signal: Signal,
    pending: Concat,
    /// Metadata of the batches held: the merged batch takes the first one's client (merged
    /// batches come from many clients; the first is as good as any) and every one's
    /// acknowledgement guards.
    pending_metas: Vec<Arc<BatchMeta>>,
    deadline: Option<Instant>,
}

impl BatchProcessor {
    /// A batcher for one pipeline of `signal`.
    pub fn new(config: BatchConfig, signal: Signal) -> Self {
        BatchProcessor {
            config,
            signal,
            pending: Concat::new(),
            pending_metas: Vec::new(),
            deadline: None,
        }
    }

    fn emit(&mut self, out: &mut Vec<Batch>) {
        if self.pending.items() == 0 && self.pending.is_empty() {
            return;
        }
        let items = self.pending.items();
        let bytes = self.pending.take();
        let meta = BatchMeta::merged(&self.pending_metas);
        self.pending_metas.clear();
        self.deadline = None;
        out.push(Batch::from_walked(self.signal, bytes, items, meta));
    }

    fn hold(&mut self, piece: Batch, out: &mut Vec<Batch>) {
        let max = self.config.send_batch_max_size;
        if max > 0 && self.pending.items() + piece.items() > max {
            self.emit(out);
        }
        if !self
            .pending_metas
            .last()
            .is_some_and(|m| Arc::ptr_eq(m, piece.meta()))
        {
            self.pending_metas.push(piece.meta().clone());
        }
        self.pending.push(&piece.to_bytes(), piece.items());
        if self.config.timeout.is_zero() || self.pending.items() >= self.config.send_batch_size {
            self.emit(out);
        } else if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + self.config.timeout);
        }
    }
}

#[async_trait]
impl Processor for BatchProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        let max = self.config.send_batch_max_size;
        if max > 0 && batch.items() > max {
            let pieces = split_batch(&batch, max).map_err(|e| ProcessError(e.to_string()))?;
            for piece in pieces {
                self.hold(piece, out);
            }
        } else {
            self.hold(batch, out);
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    async fn on_deadline(&mut self, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        self.emit(out);
        Ok(())
    }

    async fn flush(&mut self, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        self.emit(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
