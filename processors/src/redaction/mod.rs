//! The `redaction` processor: otelcol-contrib's `redaction` processor (same type name, same
//! fields) for traces, metrics and logs. It deletes attributes whose keys are not allowed,
//! masks blocked keys' values and the parts of values that match blocked patterns (`****` or
//! a hash), and writes otelcol's `redaction.*` summary attributes, in the attributes of every
//! resource, instrumentation scope, span, span event, log record and metric data point, and in
//! log record bodies (see [`body`]).
//!
//! It works on the encoded batch: four passes of [`weir_core::batch::rewrite`] (resource,
//! scope, item and span event attributes), each writing a new request only if it changed
//! something, and for logs one pass of [`weir_core::batch::select`] that decodes only the
//! records whose body it changes, so a batch nothing matches passes as the very same bytes.
//!
//! Left out, and refused as unknown fields: `url_sanitizer`, `db_sanitizer` and otelcol's span
//! name sanitizing.

mod body;
mod config;
mod mask;
mod redactor;

use async_trait::async_trait;
use weir_core::batch::rewrite::{AttributeRewriter, Level};
use weir_core::batch::select::select;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

pub use config::{HashFunction, RedactionConfig, Summary};
use redactor::{Redactor, Scratch};

/// Factory of the `redaction` processor.
pub struct RedactionFactory;

impl ProcessorFactory for RedactionFactory {
    type Config = RedactionConfig;
    const TYPE: &'static str = "redaction";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &RedactionConfig,
        _settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(RedactionProcessor::new(config)?))
    }
}

/// One pipeline's `redaction` processor.
pub struct RedactionProcessor {
    redactor: Redactor,
    /// Kept between batches so their buffers are allocated once.
    rewriter: AttributeRewriter,
    scratch: Scratch,
}

/// The attribute lists otelcol redacts that the rewriter reaches, in otelcol's order.
const LEVELS: [Level; 4] = [Level::Resource, Level::Scope, Level::Item, Level::SpanEvent];

impl RedactionProcessor {
    /// A processor applying `config` (a validated config).
    pub fn new(config: &RedactionConfig) -> Result<Self, BuildError> {
        Ok(RedactionProcessor {
            redactor: Redactor::new(config).map_err(BuildError)?,
            rewriter: AttributeRewriter::new(),
            scratch: Scratch::default(),
        })
    }

    /// The batch redacted: the same batch if nothing changed, otherwise a new encoded batch
    /// (same items and metadata; its bytes accounted anew).
    pub fn apply(&mut self, batch: Batch) -> Result<Batch, ProcessError> {
        // A decoded batch (OTLP/JSON input) is encoded once here, as its exporter would.
        let input = batch.to_bytes();
        let mut current: Option<Vec<u8>> = None;
        for level in LEVELS {
            let bytes = current.as_deref().unwrap_or(&input);
            let (redactor, scratch) = (&self.redactor, &mut self.scratch);
            let rewritten = self
                .rewriter
                .rewrite_level(batch.signal(), level, bytes, |attributes| {
                    redactor.apply(attributes, scratch)
                })
                .map_err(|e| ProcessError(e.to_string()))?;
            if rewritten.is_some() {
                current = rewritten;
            }
        }
        if batch.signal() == Signal::Logs {
            let bytes = current.as_deref().unwrap_or(&input);
            let mut bodies = body::Bodies::new(&self.redactor);
            let selected = select(Signal::Logs, bytes, &mut bodies)
                .map_err(|e| ProcessError(e.to_string()))?;
            if let Some(failed) = bodies.failed {
                return Err(ProcessError(failed));
            }
            if selected.request.is_some() {
                current = selected.request;
            }
        }
        let items = batch.items();
        Ok(batch.rewritten(current, items))
    }
}

#[async_trait]
impl Processor for RedactionProcessor {
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
