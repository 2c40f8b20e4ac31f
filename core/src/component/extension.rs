//! Extensions: components outside pipelines — storage for persistent queues, health checks,
//! authenticators.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{ClientAuthenticator, ComponentId, ServerAuthenticator};
use crate::batch::Signal;
use crate::exporter::{QueueStore, Sizer};
use crate::runtime::GraphStats;

/// An extension that could not start or open what was asked of it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExtensionError(pub String);

/// What the runtime knows about the running graph, published for extensions that report on it
/// (health check). Filled once the pipelines are built.
#[derive(Default)]
pub struct StatusBoard {
    graph: RwLock<Option<GraphStats>>,
    started_at: RwLock<Option<SystemTime>>,
    stopping: std::sync::atomic::AtomicBool,
}

impl StatusBoard {
    /// Publishes the running graph's counters.
    pub fn publish(&self, stats: GraphStats) {
        if let Ok(mut graph) = self.graph.write() {
            *graph = Some(stats);
        }
        if let Ok(mut started) = self.started_at.write() {
            started.get_or_insert_with(SystemTime::now);
        }
    }

    /// The running graph's counters, once published.
    pub fn graph(&self) -> Option<GraphStats> {
        self.graph.read().ok().and_then(|g| g.clone())
    }

    /// Marks the graph as shutting down (health checks then answer unavailable).
    pub fn mark_stopping(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// When the pipelines started.
    pub fn started_at(&self) -> Option<SystemTime> {
        self.started_at.read().ok().and_then(|s| *s)
    }
}

/// What the runtime gives an extension when it starts it.
#[derive(Clone)]
pub struct ExtensionContext {
    /// The extension's id.
    pub id: ComponentId,
    /// Cancelled when the extension must stop.
    pub shutdown: CancellationToken,
    /// The running graph, for extensions that report on it.
    pub status: Arc<StatusBoard>,
}

/// A component's own small keyed records in a storage extension (otelcol's storage client),
/// such as the `filelog` receiver's file offsets. Calls block on disk: make them off tokio's
/// worker threads. A value `set` returns only once it is durable, and replaces the key's old
/// value whole or not at all, whatever moment the process dies at.
pub trait KvStore: Send + Sync {
    /// The value of `key`, if it has one.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ExtensionError>;
    /// Gives `key` the value `value`.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), ExtensionError>;
    /// Removes `key` (nothing happens when it has no value).
    fn delete(&self, key: &str) -> Result<(), ExtensionError>;
}

/// Opens persistent queues for exporters whose `sending_queue.storage` names this extension,
/// and keyed records for components whose `storage` does.
pub trait Storage: Send + Sync {
    /// Opens (or creates) the records of `owner` (a component id and what it keeps, such as
    /// `filelog/app`): what an earlier run set is in them. One holder at a time: a second open
    /// of the same owner, in this process or another, waits for the first to be dropped, then
    /// fails.
    fn open_client(&self, owner: &str) -> Result<Arc<dyn KvStore>, ExtensionError> {
        let _ = owner;
        Err(ExtensionError(
            "this storage extension keeps no component records".into(),
        ))
    }

    /// Opens (or creates) the queue named `name` for one exporter and signal; batches left
    /// from a previous run are in it.
    fn open_queue(
        &self,
        name: &str,
        signal: Signal,
        sizer: Sizer,
        capacity: usize,
    ) -> Result<Arc<dyn QueueStore>, ExtensionError>;
}

/// An extension instance. Started before any pipeline (storage must exist before queues open)
/// and shut down after all of them.
#[async_trait]
pub trait Extension: Send + Sync + 'static {
    /// Starts serving (binds ports, opens directories).
    async fn start(&self, ctx: ExtensionContext) -> Result<(), ExtensionError>;

    /// Stops; called once, after every pipeline has stopped.
    async fn shutdown(&self) {}

    /// The storage this extension provides, if it is a storage extension.
    fn storage(&self) -> Option<&dyn Storage> {
        None
    }

    /// The authenticator receivers use, if this extension checks incoming credentials.
    fn server_authenticator(&self) -> Option<Arc<dyn ServerAuthenticator>> {
        None
    }

    /// The authenticator exporters use, if this extension adds credentials to requests.
    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        None
    }
}
