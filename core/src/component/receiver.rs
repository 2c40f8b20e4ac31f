//! Receivers: take telemetry from the outside and push it into pipelines.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{ComponentId, Consumer, Host};
use crate::batch::Signal;

/// What the runtime gives a receiver when it starts it.
#[derive(Clone)]
pub struct ReceiverContext {
    /// The receiver's id.
    pub id: ComponentId,
    /// One consumer per signal this receiver feeds (the pipelines that list it).
    pub consumers: BTreeMap<Signal, Arc<dyn Consumer>>,
    /// Cancelled when the receiver must stop accepting and return.
    pub shutdown: CancellationToken,
    /// The started extensions (receivers find their authenticator here).
    pub host: Host,
}

/// A receiver that could not start or failed while running.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// The address could not be bound.
    #[error("cannot listen on {endpoint}: {source}")]
    Bind {
        /// What the config asked for.
        endpoint: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// A receiver instance. One instance serves every pipeline and signal that lists its id (as
/// otelcol shares the OTLP receiver between the traces, metrics and logs pipelines).
///
/// The runtime calls `start` once, from a tokio task. `start` binds what it needs (so a port in
/// use fails startup with a clear error), spawns its serving tasks and returns a handle that
/// completes after `ctx.shutdown` is cancelled and every accepted request has been answered.
#[async_trait]
pub trait Receiver: Send + 'static {
    /// Binds and starts serving.
    async fn start(self: Box<Self>, ctx: ReceiverContext) -> Result<JoinHandle<()>, ReceiverError>;
}
