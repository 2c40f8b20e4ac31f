//! The loaded config as the runtime sees it: components with parsed configs and their factories,
//! pipelines by id, internal telemetry settings, plugin paths. Built only by [`super::load`],
//! so everything in it has been validated.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::batch::Signal;
use crate::component::{ComponentId, DynFactory, Kind, ParsedConfig};
use crate::exporter::ExporterHelperConfig;

/// A config that loaded and passed validation, and what deserved a warning on the way.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// Unset environment variables, components no pipeline uses; one message each, positioned.
    pub warnings: Vec<String>,
}

/// A whole Weir config, otelcol's shape plus `plugins:`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `receivers:`, by id as written.
    pub receivers: BTreeMap<ComponentId, ComponentEntry>,
    /// `processors:`.
    pub processors: BTreeMap<ComponentId, ComponentEntry>,
    /// `exporters:`.
    pub exporters: BTreeMap<ComponentId, ComponentEntry>,
    /// `connectors:` (no connector types exist yet, so a valid config has none).
    pub connectors: BTreeMap<ComponentId, ComponentEntry>,
    /// `extensions:`.
    pub extensions: BTreeMap<ComponentId, ComponentEntry>,
    /// `service:`.
    pub service: Service,
    /// `plugins:`: shared libraries to load, `~` and environment variables expanded.
    pub plugins: Vec<PathBuf>,
}

impl Config {
    /// The section holding components of `kind`.
    pub fn section(&self, kind: Kind) -> &BTreeMap<ComponentId, ComponentEntry> {
        match kind {
            Kind::Receiver => &self.receivers,
            Kind::Processor => &self.processors,
            Kind::Exporter => &self.exporters,
            Kind::Connector => &self.connectors,
            Kind::Extension => &self.extensions,
        }
    }

    pub(crate) fn section_mut(&mut self, kind: Kind) -> &mut BTreeMap<ComponentId, ComponentEntry> {
        match kind {
            Kind::Receiver => &mut self.receivers,
            Kind::Processor => &mut self.processors,
            Kind::Exporter => &mut self.exporters,
            Kind::Connector => &mut self.connectors,
            Kind::Extension => &mut self.extensions,
        }
    }
}

/// One configured component.
#[derive(Clone)]
pub struct ComponentEntry {
    /// The factory its type (or alias) names.
    pub factory: Arc<dyn DynFactory>,
    /// Its config, parsed and validated by that factory.
    pub config: ParsedConfig,
    /// The expanded config as written (an empty body is `{}`), including an exporter's
    /// `sending_queue` and `retry_on_failure`; reload compares it to see what changed.
    pub raw: serde_json::Value,
    /// For exporters, the queue and retry settings the runtime wraps it in; `None` otherwise.
    pub helper: Option<ExporterHelperConfig>,
}

impl fmt::Debug for ComponentEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentEntry")
            .field("type", &self.factory.type_name())
            .field("raw", &super::secret::redact_json(&self.raw))
            .field("helper", &self.helper)
            .finish()
    }
}

/// `service:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// How long shutdown waits for pipelines and queues to drain (`shutdown_timeout`, 30s).
    pub shutdown_timeout: std::time::Duration,
    /// Pipelines by id.
    pub pipelines: BTreeMap<PipelineId, Pipeline>,
    /// Extensions to start, in order.
    pub extensions: Vec<ComponentId>,
    /// Weir's own logs and metrics.
    pub telemetry: Telemetry,
}

impl Default for Service {
    fn default() -> Self {
        Service {
            shutdown_timeout: std::time::Duration::from_secs(30),
            pipelines: BTreeMap::new(),
            extensions: Vec::new(),
            telemetry: Telemetry::default(),
        }
    }
}

/// A pipeline id: its signal and an optional name, `traces` or `traces/2`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineId {
    /// The signal the pipeline carries.
    pub signal: Signal,
    /// The part after `/`.
    pub name: Option<String>,
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.signal, name),
            None => write!(f, "{}", self.signal),
        }
    }
}

/// One pipeline's components, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// Where its data comes from (at least one).
    pub receivers: Vec<ComponentId>,
    /// Applied in order.
    pub processors: Vec<ComponentId>,
    /// Where its data goes (at least one); each gets every batch.
    pub exporters: Vec<ComponentId>,
}

/// `service.telemetry`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Telemetry {
    /// Weir's own logs.
    pub logs: TelemetryLogs,
    /// Weir's own metrics.
    pub metrics: TelemetryMetrics,
}

/// `service.telemetry.logs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetryLogs {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
}

impl Default for TelemetryLogs {
    fn default() -> Self {
        TelemetryLogs {
            level: "info".to_string(),
        }
    }
}

/// `service.telemetry.metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetryMetrics {
    /// `none`, `basic`, `normal` or `detailed`.
    pub level: String,
    /// `host:port` of the Prometheus endpoint, from `address` or otelcol's `readers`; `None`
    /// leaves the runtime's default.
    pub address: Option<String>,
}

impl Default for TelemetryMetrics {
    fn default() -> Self {
        TelemetryMetrics {
            level: "normal".to_string(),
            address: None,
        }
    }
}
