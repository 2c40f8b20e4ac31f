//! Connectors (otelcol's `connectors:`): the exporter of some pipelines and the receiver of
//! others. Each batch an upstream pipeline exports into a connector is handed to
//! [`Connector::consume`] with the pipelines the connector feeds ([`Outputs`]); sending into
//! them waits for room in their bounded input channels, so a slow downstream pipeline slows its
//! upstream one instead of filling a buffer in between.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batch, Signal};

/// A connector instance, shared by every pipeline that exports into it.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// Takes one batch that an upstream pipeline of `signal` exported into the connector.
    async fn consume(
        &self,
        signal: Signal,
        batch: Batch,
        outputs: &Outputs,
    ) -> Result<(), ConnectorError>;

    /// Work the connector does on its own beside `consume`, such as `spanmetrics` emitting on
    /// its flush interval. It runs from start until `stop` fires, which happens once every
    /// pipeline exporting into the connector has drained and before any pipeline it feeds does:
    /// a connector holding data should send it into `outputs` then and return.
    async fn run(&self, _outputs: Arc<Outputs>, _stop: CancellationToken) {}
}

/// A batch a connector could not pass on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectorError(pub String);

/// One pipeline a connector feeds.
#[derive(Clone, Debug)]
pub struct Output {
    /// The pipeline (`traces/out`).
    pub pipeline: String,
    sender: mpsc::Sender<Batch>,
}

impl Output {
    /// The pipeline `pipeline`, fed through its input channel `sender`.
    pub fn new(pipeline: String, sender: mpsc::Sender<Batch>) -> Output {
        Output { pipeline, sender }
    }
}

/// The pipelines a connector feeds, by their signal, in config order.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    by_signal: BTreeMap<Signal, Vec<Output>>,
}

impl Outputs {
    /// Adds a pipeline of `signal`.
    pub fn add(&mut self, signal: Signal, output: Output) {
        self.by_signal.entry(signal).or_default().push(output);
    }

    /// The pipelines of `signal` (empty when there are none).
    pub fn pipelines(&self, signal: Signal) -> &[Output] {
        self.by_signal.get(&signal).map_or(&[], Vec::as_slice)
    }

    /// Sends `batch` into every pipeline of `signal`.
    pub async fn send(&self, signal: Signal, batch: Batch) -> Result<(), ConnectorError> {
        let all: Vec<usize> = (0..self.pipelines(signal).len()).collect();
        self.send_to(signal, &all, batch).await
    }

    /// Sends `batch` into the pipelines of `signal` at `indices` (of [`Outputs::pipelines`]),
    /// all or none: room is taken in every one of them first, waiting as long as it takes, then
    /// each gets the batch (clones share its bytes and acknowledgement).
    pub async fn send_to(
        &self,
        signal: Signal,
        indices: &[usize],
        batch: Batch,
    ) -> Result<(), ConnectorError> {
        let pipelines = self.pipelines(signal);
        let mut permits = Vec::with_capacity(indices.len());
        for &i in indices {
            let output = pipelines
                .get(i)
                .ok_or_else(|| ConnectorError(format!("no {signal} pipeline at position {i}")))?;
            let permit =
                output.sender.reserve().await.map_err(|_| {
                    ConnectorError(format!("pipeline {} has stopped", output.pipeline))
                })?;
            permits.push(permit);
        }
        let mut batch = Some(batch);
        let last = permits.len().saturating_sub(1);
        for (n, permit) in permits.into_iter().enumerate() {
            let b = if n == last {
                batch.take()
            } else {
                batch.clone()
            };
            if let Some(b) = b {
                permit.send(b);
            }
        }
        Ok(())
    }
}
