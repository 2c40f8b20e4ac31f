//! The `probabilistic_sampler` processor: otelcol-contrib's `probabilistic_sampler` (same type
//! name, same fields and defaults) for traces and logs. Each span or log record is kept or
//! dropped on its own, statelessly, from its trace id's randomness (or a log record
//! attribute's hash):
//!
//! - `hash_seed` (the default): otelcol's FNV hash of the seed and the trace id, so the same
//!   trace ids are kept as otelcol keeps them ([`hash`]);
//! - `proportional` and `equalizing`: OpenTelemetry consistent probability sampling
//!   ([`threshold`]) against the W3C `tracestate`'s `ot=th:`/`rv:` values ([`tracestate`]).
//!
//! Kept spans record the threshold they were kept at in their `tracestate` (`ot=th:…`, plus
//! `rv:…` in `hash_seed` mode), kept log records in `sampling.threshold` (and
//! `sampling.randomness`) attributes, as otelcol writes them. A span's `sampling.priority`
//! attribute forces the decision (0 drops, above 0 keeps), a log record's `sampling_priority`
//! attribute gives its own percentage ([`sampler`] has the order of it all).
//!
//! It decides on the encoded batch: the trace id, `tracestate` and the few attributes it
//! needs are read on the wire ([`spans`], [`logs`]), dropped items are left out and a kept
//! item whose sampling values change is written again with only those fields new
//! ([`weir_core::batch::select`]). A batch kept whole and unchanged passes as the same bytes.
//!
//! Decisions are counted with otelcol's names and labels:
//! `otelcol_processor_probabilistic_sampler_count_traces_sampled_total` and
//! `…_count_logs_sampled_total`, labelled `policy` (where the randomness came from) and
//! `sampled`.

mod attributes;
mod config;
mod counts;
mod hash;
mod logs;
mod sampler;
mod spans;
mod threshold;
mod tracestate;

use async_trait::async_trait;
use weir_core::batch::select::{ItemKind, ItemView, Selector, select};
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

pub use config::{AttributeSource, ProbabilisticSamplerConfig, SamplerMode};

use counts::{Counts, Tally};
use logs::LogSampler;
use sampler::{Decision, Mode};

/// Factory of the `probabilistic_sampler` processor.
pub struct ProbabilisticSamplerFactory;

impl ProcessorFactory for ProbabilisticSamplerFactory {
    type Config = ProbabilisticSamplerConfig;
    const TYPE: &'static str = "probabilistic_sampler";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Logs];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &ProbabilisticSamplerConfig,
        _settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(ProbabilisticSamplerProcessor::new(config)))
    }
}

/// One pipeline's `probabilistic_sampler` processor.
pub struct ProbabilisticSamplerProcessor {
    spans: Mode,
    logs: LogSampler,
    fail_closed: bool,
    traces_counts: Counts,
    logs_counts: Counts,
    /// Kept between batches so the `tracestate` buffer is allocated once.
    scratch: String,
}

impl ProbabilisticSamplerProcessor {
    /// A processor applying `config` (a validated config).
    pub fn new(config: &ProbabilisticSamplerConfig) -> Self {
        ProbabilisticSamplerProcessor {
            spans: Mode::new(config),
            logs: LogSampler::new(config),
            fail_closed: config.fail_closed,
            traces_counts: Counts::new(
                "otelcol_processor_probabilistic_sampler_count_traces_sampled_total",
                "Count of traces that were sampled or not",
                &config.from_attribute,
            ),
            logs_counts: Counts::new(
                "otelcol_processor_probabilistic_sampler_count_logs_sampled_total",
                "Count of logs that were sampled or not",
                &config.from_attribute,
            ),
            scratch: String::new(),
        }
    }

    /// The batch with only the kept items: the same batch when all are kept unchanged, `None`
    /// when none is.
    pub fn apply(&mut self, batch: Batch) -> Result<Option<Batch>, ProcessError> {
        let signal = batch.signal();
        if signal == Signal::Metrics {
            return Ok(Some(batch));
        }
        let bytes = batch.to_bytes();
        let mut run = Run {
            processor: self,
            pending: None,
            tally: Tally::default(),
        };
        let selected = select(signal, &bytes, &mut run).map_err(|e| ProcessError(e.to_string()))?;
        let tally = run.tally;
        match signal {
            Signal::Traces => self.traces_counts.add(&tally),
            _ => self.logs_counts.add(&tally),
        }
        let items = batch.items().saturating_sub(selected.dropped_items);
        if items == 0 && selected.request.as_ref().is_some_and(Vec::is_empty) {
            return Ok(None);
        }
        Ok(Some(batch.rewritten(selected.request, items)))
    }
}

/// One batch's selection: decides each item, holding a kept item's new encoding until
/// [`Selector::replace`] asks for it.
struct Run<'p> {
    processor: &'p mut ProbabilisticSamplerProcessor,
    pending: Option<Vec<u8>>,
    tally: Tally,
}

impl Selector for Run<'_> {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        let p = &mut *self.processor;
        let (decision, rewritten): (Decision, _) = match item.kind {
            ItemKind::Span => spans::sample(p.spans, p.fail_closed, item.item, &mut p.scratch),
            ItemKind::Log => p.logs.sample(item.item),
            _ => return true,
        };
        if let Some(problem) = &decision.problem {
            let sampler = if item.kind == ItemKind::Span {
                "traces sampler"
            } else {
                "logs sampler"
            };
            tracing::debug!(error = %problem, sampled = decision.sampled, "{sampler}");
        }
        self.tally.count(decision.policy, decision.sampled);
        self.pending = rewritten;
        decision.sampled
    }

    fn replace(&mut self, _item: &ItemView<'_>) -> Option<Vec<u8>> {
        self.pending.take()
    }

    fn replaces_items(&self) -> bool {
        true
    }
}

#[async_trait]
impl Processor for ProbabilisticSamplerProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        if let Some(batch) = self.apply(batch)? {
            out.push(batch);
        }
        Ok(())
    }

    fn mutates_data(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
