//! The `resource` processor: otelcol's `resource` processor (same type name, same
//! `attributes` list of actions) for the resource attributes of traces, metrics and logs,
//! working on the encoded batch: only the top of the request (each `Resource*` message's
//! `resource` field) is read, a changed resource is written again in place of the old one and
//! everything inside it (scopes, spans, data points, log records) is copied in bulk
//! ([`weir_core::batch::rewrite`] at [`Level::Resource`]).

mod config;

use async_trait::async_trait;
use weir_core::batch::rewrite::{AttributeRewriter, Level};
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};

use crate::attributes::actions::Action;
pub use config::ResourceConfig;

/// Factory of the `resource` processor.
pub struct ResourceFactory;

impl ProcessorFactory for ResourceFactory {
    type Config = ResourceConfig;
    const TYPE: &'static str = "resource";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &ResourceConfig,
        _settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(ResourceProcessor::new(config)?))
    }
}

/// One pipeline's `resource` processor.
pub struct ResourceProcessor {
    actions: Vec<Action>,
    /// Kept between batches so its scratch buffers are allocated once.
    rewriter: AttributeRewriter,
}

impl ResourceProcessor {
    /// A processor running `config`'s actions (a validated config).
    pub fn new(config: &ResourceConfig) -> Result<Self, BuildError> {
        let actions = config
            .attributes
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Action::compile(a).map_err(|e| BuildError(format!("attributes.{i}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(ResourceProcessor {
            actions,
            rewriter: AttributeRewriter::new(),
        })
    }

    /// The batch with the actions applied to every resource: the same batch if nothing
    /// changed, otherwise a new encoded batch (same items and metadata; bytes accounted anew).
    pub fn apply(&mut self, batch: Batch) -> Result<Batch, ProcessError> {
        let bytes = batch.to_bytes();
        let actions = &self.actions;
        let rewritten = self
            .rewriter
            .rewrite_level(batch.signal(), Level::Resource, &bytes, |attributes| {
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
impl Processor for ResourceProcessor {
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
