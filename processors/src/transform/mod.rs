//! The `transform` processor: otelcol-contrib's `transform` (same type name, `error_mode`,
//! `trace_statements`, `metric_statements`, `log_statements` in the flat and the structured
//! form). Each group runs in order over every record of its context, its statements in order
//! per record, each with its own `where`; a group's `conditions` select the records it runs on.
//!
//! When every group runs in the span or log context and writes only the record itself, it
//! works on the encoded batch and decodes only the records a statement applies to
//! ([`per_record`]); otherwise it decodes the batch into structs and encodes it once on the
//! way out. A batch whose signal has no statements passes untouched.

mod config;
mod per_record;
mod run;
mod wire_set;

use async_trait::async_trait;
use weir_core::batch::select::select;
use weir_core::batch::{Batch, Request, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

pub use config::{GroupConfig, StatementGroup, TransformConfig};
use run::Runner;

use crate::error_mode::ErrorPolicy;

/// Factory of the `transform` processor.
pub struct TransformFactory;

impl ProcessorFactory for TransformFactory {
    type Config = TransformConfig;
    const TYPE: &'static str = "transform";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &TransformConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(TransformProcessor::new(
            config,
            &settings.id.to_string(),
        )?))
    }
}

/// One pipeline's `transform` processor.
pub struct TransformProcessor {
    /// Groups of traces, metrics and logs.
    runners: [Vec<Runner>; 3],
}

impl TransformProcessor {
    /// A processor for `config` (a validated config), counting failures as `id`.
    pub fn new(config: &TransformConfig, id: &str) -> Result<Self, BuildError> {
        let mut problems = Vec::new();
        let runners = config.lists().map(|(at, signal, groups)| {
            config::compile(at, signal, groups, &mut problems)
                .into_iter()
                .map(|group| Runner {
                    policy: ErrorPolicy::new(group.error_mode.unwrap_or(config.error_mode), id),
                    group,
                })
                .collect()
        });
        if !problems.is_empty() {
            return Err(BuildError(problems.join("; ")));
        }
        Ok(TransformProcessor { runners })
    }

    /// The batch with every group applied, encoded again; the same batch when its signal has
    /// no statements.
    pub fn apply(&mut self, mut batch: Batch) -> Result<Batch, ProcessError> {
        let runners = match batch.signal() {
            Signal::Traces => &mut self.runners[0],
            Signal::Metrics => &mut self.runners[1],
            Signal::Logs => &mut self.runners[2],
        };
        if runners.is_empty() {
            return Ok(batch);
        }
        let signal = batch.signal();
        if per_record::possible(signal, runners) {
            let bytes = batch.to_bytes();
            let mut per = per_record::PerRecord {
                runners,
                refused: None,
                around: None,
            };
            let selected =
                select(signal, &bytes, &mut per).map_err(|e| ProcessError(e.to_string()))?;
            if let Some(why) = per.refused {
                return Err(ProcessError(why));
            }
            let items = batch.items();
            return Ok(batch.rewritten(selected.request, items));
        }
        let request = batch
            .decoded_mut()
            .map_err(|e| ProcessError(e.to_string()))?;
        for runner in runners.iter_mut() {
            let done = match request {
                Request::Traces(r) => run::traces(runner, r),
                Request::Metrics(r) => run::metrics(runner, r),
                Request::Logs(r) => run::logs(runner, r),
            };
            done.map_err(|run::Refused(why)| ProcessError(why))?;
        }
        Ok(batch.into_encoded())
    }
}

#[async_trait]
impl Processor for TransformProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        out.push(self.apply(batch)?);
        Ok(())
    }

    fn mutates_data(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
