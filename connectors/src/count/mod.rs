//! The `count` connector: otelcol-contrib's. For each batch a pipeline exports into it, every
//! span, span event, metric, data point or log record is counted into the metrics its config
//! defines (those whose conditions hold for it, by the values of their attributes), and a
//! metrics batch goes to the metrics pipelines it feeds: per resource of the batch, its
//! attributes copied, one scope `otelcol/countconnector`, each metric a monotonic delta sum with
//! one int data point per set of attribute values, stamped with the time of counting.
//!
//! It counts on the encoded batch: items are shown to it as bytes ([`weir_core::batch::select`],
//! keeping everything) and the conditions and attributes read there ([`WireRecord`]). The
//! metrics batch carries the counted batch's acknowledgement, so the sender hears back once
//! the counts are delivered too; a condition that fails on an item fails the batch, as in
//! otelcol.

mod config;
mod counts;

use std::sync::Arc;

use async_trait::async_trait;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, Connector, ConnectorError, ConnectorFactory, CreateSettings, Outputs, Stability,
};

pub use config::{AttributeConfig, CountConfig, MetricInfo};
use counts::{Definitions, count};

/// Factory of the `count` connector.
pub struct CountFactory;

impl ConnectorFactory for CountFactory {
    type Config = CountConfig;
    const TYPE: &'static str = "count";
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Metrics),
        (Signal::Metrics, Signal::Metrics),
        (Signal::Logs, Signal::Metrics),
    ];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &CountConfig,
        _settings: &CreateSettings,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        Ok(Arc::new(Count {
            definitions: Definitions::new(config).map_err(BuildError)?,
        }))
    }
}

/// The `count` connector.
pub struct Count {
    definitions: Definitions,
}

#[async_trait]
impl Connector for Count {
    async fn consume(
        &self,
        signal: Signal,
        batch: Batch,
        outputs: &Outputs,
    ) -> Result<(), ConnectorError> {
        let counted = count(&self.definitions, signal, &batch)?;
        let Some(request) = counted else {
            return Ok(());
        };
        let metrics = Batch::from_encoded(Signal::Metrics, request.into(), batch.meta().clone())
            .map_err(|e| ConnectorError(format!("counts did not encode: {e}")))?;
        outputs.send(Signal::Metrics, metrics).await
    }
}

#[cfg(test)]
mod tests;
