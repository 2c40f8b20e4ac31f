//! The `attributes` processor: otelcol-contrib's `attributes` processor (same type name, same
//! `actions` list) for span, log record and metric data point attributes, working on the
//! encoded batch: the request is walked as bytes, each item's attribute list is edited in
//! place of the old one, and the rest of the request is copied as it is, or not at all when no
//! action touched any item ([`weir_core::batch::rewrite`]). No decode into structs, no
//! re-encode.
//!
//! Left out, and refused as unknown fields: `include`/`exclude` matching and `from_context`.

pub(crate) mod actions;
mod config;
mod convert;

use async_trait::async_trait;
use weir_core::batch::rewrite::AttributeRewriter;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

use actions::Action;
pub use config::{ActionConfig, ActionKind, AttributeValue, AttributesConfig, ConvertedType};

/// Factory of the `attributes` processor.
pub struct AttributesFactory;

impl ProcessorFactory for AttributesFactory {
    type Config = AttributesConfig;
    const TYPE: &'static str = "attributes";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &AttributesConfig,
        _settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(AttributesProcessor::new(config)?))
    }
}

/// One pipeline's `attributes` processor.
pub struct AttributesProcessor {
    actions: Vec<Action>,
    /// Kept between batches so its scratch buffers are allocated once.
    rewriter: AttributeRewriter,
}

impl AttributesProcessor {
    /// A processor running `config`'s actions (a validated config).
    pub fn new(config: &AttributesConfig) -> Result<Self, BuildError> {
        let actions = config
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| Action::compile(a).map_err(|e| BuildError(format!("actions.{i}: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(AttributesProcessor {
            actions,
            rewriter: AttributeRewriter::new(),
        })
    }

    /// The batch with the actions applied: the same batch if no action changed anything,
    /// otherwise a new encoded batch (same items and metadata; its bytes accounted anew).
    pub fn apply(&mut self, batch: Batch) -> Result<Batch, ProcessError> {
        // A decoded batch (OTLP/JSON input) is encoded once here, as its exporter would.
        let bytes = batch.to_bytes();
        let actions = &self.actions;
        let rewritten = self
            .rewriter
            .rewrite(batch.signal(), &bytes, |attributes| {
                for action in actions {
                    action.apply(attributes);
                }
            })
            .map_err(|e| ProcessError(e.to_string()))?;
        let items = batch.items();
        Ok(batch.rewritten(rewritten, items))
    }
}

#[async_trait]
impl Processor for AttributesProcessor {
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
