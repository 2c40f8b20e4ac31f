//! The `tail_sampling` processor: otelcol-contrib's (same type name, fields, policies and
//! metrics). Spans are grouped by trace id and held until `decision_wait` after the first span
//! of their trace arrived; then every policy is evaluated on the whole trace and the trace is
//! passed on or dropped in one piece. Spans arriving after the decision follow it while the
//! trace is still in memory (or in a decision cache).
//!
//! Spans are held as their encoded bytes ([`held`]), cut out of the request they came in and
//! written back into new requests without decoding; policies read them on the wire. Their bytes
//! count as held for the memory limiter, and at most `num_traces` traces are in memory.
//!
//! The request a span came in is acknowledged once its spans are held, as otelcol does: a
//! client cannot wait `decision_wait` for its answer. So held spans live in memory only, and a
//! crash loses the traces not yet decided; what is decided goes on with the usual guarantees.

mod config;
mod decide;
mod held;
mod metrics;
mod policies;
mod store;
mod trace;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

pub use config::{DecisionCacheConfig, TailSamplingConfig};
pub use policies::{PolicyConfig, PolicyType};

use decide::Decider;
use held::Piece;
use metrics::Metrics;
use store::{Known, Store};

/// Factory of the `tail_sampling` processor.
pub struct TailSamplingFactory;

impl ProcessorFactory for TailSamplingFactory {
    type Config = TailSamplingConfig;
    const TYPE: &'static str = "tail_sampling";
    const SIGNALS: &'static [Signal] = &[Signal::Traces];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &TailSamplingConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(TailSamplingProcessor::new(
            config,
            &settings.id.to_string(),
        )?))
    }
}

/// One pipeline's `tail_sampling` processor.
pub struct TailSamplingProcessor {
    wait: Duration,
    store: Store,
    decider: Decider,
    metrics: Metrics,
    /// Traces in memory as last added to the shared gauge.
    on_memory: usize,
}

impl TailSamplingProcessor {
    /// A processor for `config` (a validated config); `id` names it in logs.
    pub fn new(config: &TailSamplingConfig, id: &str) -> Result<Self, BuildError> {
        let built = policies::build(&config.policies, id).map_err(BuildError)?;
        let policies = built
            .into_iter()
            .zip(&config.policies)
            .map(|(policy, config)| (policy, config.kind == PolicyType::Drop))
            .collect();
        let expected = usize::try_from(
            config
                .expected_new_traces_per_sec
                .saturating_mul(config.decision_wait.as_secs().max(1)),
        )
        .unwrap_or(usize::MAX);
        Ok(TailSamplingProcessor {
            wait: config.decision_wait,
            store: Store::new(
                config.num_traces,
                expected,
                config.decision_cache.sampled_cache_size,
                config.decision_cache.non_sampled_cache_size,
            ),
            decider: Decider::new(policies, id),
            metrics: Metrics::new(),
            on_memory: 0,
        })
    }

    /// Takes in the spans of `batch`; what is already decided to be kept comes out at once.
    fn ingest(&mut self, batch: Batch, now: Instant) -> Result<Vec<Piece>, ProcessError> {
        let bytes = batch.to_bytes();
        let pieces = held::cut(&bytes).map_err(|e| ProcessError(e.to_string()))?;
        // The pieces hold the request's bytes (and count them); the request is acknowledged
        // now (see the module docs).
        drop(bytes);
        drop(batch);
        let mut out = Vec::new();
        for (id, piece) in pieces {
            if id == [0; 16] {
                self.metrics
                    .without_trace_id
                    .fetch_add(piece.len() as u64, Ordering::Relaxed);
            }
            match self.store.known(&id) {
                Known::Held => self.store.hold(id, piece, now),
                Known::Late { kept, at } => {
                    let age = now.saturating_duration_since(at).as_secs();
                    self.metrics.late_span_age.observe(age);
                    if kept {
                        out.push(piece);
                    }
                }
                Known::Cached(true) => {
                    self.metrics
                        .released_sampled
                        .fetch_add(piece.len() as u64, Ordering::Relaxed);
                    out.push(piece);
                }
                Known::Cached(false) => {
                    self.metrics
                        .released_not_sampled
                        .fetch_add(piece.len() as u64, Ordering::Relaxed);
                }
                Known::New => {
                    self.metrics.new_traces.fetch_add(1, Ordering::Relaxed);
                    if let Some((old, trace)) = self.store.make_room() {
                        self.metrics.too_early.fetch_add(1, Ordering::Relaxed);
                        let kept = self.decider.decide(&old, &trace, now, &self.metrics);
                        self.store.decided(old, kept, false, now);
                        if kept {
                            out.extend(trace.pieces);
                        }
                    }
                    self.store.hold(id, piece, now);
                }
            }
        }
        Ok(out)
    }

    /// Decides every held trace `next` gives, and returns the pieces of those kept.
    fn decide_all(
        &mut self,
        now: Instant,
        mut next: impl FnMut(&mut Store) -> Option<([u8; 16], trace::Trace)>,
    ) -> Vec<Piece> {
        let mut out = Vec::new();
        while let Some((id, trace)) = next(&mut self.store) {
            let kept = self.decider.decide(&id, &trace, now, &self.metrics);
            self.store.decided(id, kept, true, now);
            if kept {
                out.extend(trace.pieces);
            }
        }
        out
    }

    /// `pieces` as one batch into `out`, and the traces-in-memory gauge brought up to date.
    fn emit(&mut self, pieces: Vec<Piece>, out: &mut Vec<Batch>) {
        let now = self.store.in_memory();
        if now >= self.on_memory {
            let more = (now - self.on_memory) as u64;
            self.metrics.on_memory.fetch_add(more, Ordering::Relaxed);
        } else {
            let fewer = (self.on_memory - now) as u64;
            self.metrics.on_memory.fetch_sub(fewer, Ordering::Relaxed);
        }
        self.on_memory = now;
        if pieces.is_empty() {
            return;
        }
        let items = pieces.iter().map(Piece::len).sum();
        let request = held::assemble(&pieces);
        out.push(Batch::from_walked(
            Signal::Traces,
            Bytes::from(request),
            items,
            Arc::new(BatchMeta::default()),
        ));
    }

    /// Traces held now.
    pub fn held_traces(&self) -> usize {
        self.store.held()
    }

    /// Bytes of spans held now (as counted for the memory limiter).
    pub fn held_bytes(&self) -> usize {
        self.store.held_bytes()
    }
}

impl Drop for TailSamplingProcessor {
    fn drop(&mut self) {
        self.metrics
            .on_memory
            .fetch_sub(self.on_memory as u64, Ordering::Relaxed);
    }
}

#[async_trait]
impl Processor for TailSamplingProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        if batch.signal() != Signal::Traces {
            out.push(batch);
            return Ok(());
        }
        let now = Instant::now();
        let mut pieces = self.ingest(batch, now)?;
        // A burst may arrive before the timer fires: decide what is due now too.
        let wait = self.wait;
        pieces.extend(self.decide_all(now, |store| store.next_due(wait, now)));
        self.emit(pieces, out);
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.store.deadline(self.wait)
    }

    async fn on_deadline(&mut self, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        let now = Instant::now();
        let wait = self.wait;
        let pieces = self.decide_all(now, |store| store.next_due(wait, now));
        self.emit(pieces, out);
        Ok(())
    }

    async fn flush(&mut self, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        let now = Instant::now();
        let pieces = self.decide_all(now, Store::next_held);
        self.emit(pieces, out);
        Ok(())
    }

    fn mutates_data(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests;
