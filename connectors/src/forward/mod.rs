//! The `forward` connector: otelcol's, passing every batch of a pipeline on to the pipelines
//! of the same signal that list it as a receiver, as it is (the same bytes, shared, and the same
//! acknowledgement: the sender hears back once every pipeline behind it has delivered).

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, ComponentConfig, Connector, ConnectorError, ConnectorFactory, CreateSettings,
    Outputs, Stability,
};

/// Passes batches from the pipelines exporting into it to the pipelines of the same signal it
/// feeds. No options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {}

impl ComponentConfig for ForwardConfig {}

/// Factory of the `forward` connector.
pub struct ForwardFactory;

impl ConnectorFactory for ForwardFactory {
    type Config = ForwardConfig;
    const TYPE: &'static str = "forward";
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Traces),
        (Signal::Metrics, Signal::Metrics),
        (Signal::Logs, Signal::Logs),
    ];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        _config: &ForwardConfig,
        _settings: &CreateSettings,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        Ok(Arc::new(Forward))
    }
}

/// The `forward` connector.
pub struct Forward;

#[async_trait]
impl Connector for Forward {
    async fn consume(
        &self,
        signal: Signal,
        batch: Batch,
        outputs: &Outputs,
    ) -> Result<(), ConnectorError> {
        outputs.send(signal, batch).await
    }
}

#[cfg(test)]
mod tests;
