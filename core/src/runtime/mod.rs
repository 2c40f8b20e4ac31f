//! Runs a validated config: builds every component through its factory, joins them with
//! bounded channels, starts receivers last and stops them first; reloads a new config keeping
//! what did not change.
//!
//! Shape of a running graph (DESIGN.md §5):
//! receiver → [`switch::Switch`] → [`entry::PipelineEntry`] (all-or-nothing admission into each
//! pipeline's bounded channel) → [`pipeline::PipelineTask`] (processors in order) → one
//! [`crate::exporter::SendingQueue`] per exporter and signal → the exporter, with retry. A
//! connector in a pipeline's exporters is a sink that hands each batch to the connector, which
//! sends it into the input channels of the pipelines it feeds (waiting for room there, so
//! backpressure crosses it); pipelines drain upstream first, so nothing a connector still
//! carries finds its pipeline gone.

pub mod entry;
pub mod pipeline;
pub mod switch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::batch::Signal;
use crate::component::{
    Built, ComponentId, Connector, Consumer, CreateSettings, Exporter, Extension, ExtensionContext,
    Host, Kind, Output, Outputs, ReceiverContext, ReceiverError, StatusBoard,
};
use crate::config::{ComponentEntry, Config};
use crate::exporter::{ExportSink, ExporterHelperConfig, QueueStats, SendingQueue};
use entry::{EntryStats, PipelineEntry, PipelinePort};
use pipeline::{PipelineTask, ProcessorStats, Stage};
use switch::Switch;

/// Tunables of the runtime itself (not of any component).
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Batches a pipeline's input channel holds before receivers wait.
    pub pipeline_capacity: usize,
    /// How long a receiver waits for room in its pipelines before refusing a batch with a
    /// retryable error.
    pub admission_timeout: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            pipeline_capacity: 16,
            admission_timeout: Duration::from_secs(5),
        }
    }
}

/// A component that could not be built or started, or a reload that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A factory refused a config it had validated.
    #[error("{kind} `{id}`: {message}")]
    Build {
        /// Component kind.
        kind: Kind,
        /// Component id.
        id: ComponentId,
        /// The factory's message.
        message: String,
    },
    /// A receiver could not start (for example its port is in use).
    #[error("receiver `{id}`: {source}")]
    Receiver {
        /// Receiver id.
        id: ComponentId,
        /// What went wrong.
        #[source]
        source: ReceiverError,
    },
    /// A change that a reload cannot apply while running.
    #[error("{0}")]
    Reload(String),
}

/// Counters of the running graph, for internal telemetry.
#[derive(Clone, Default)]
pub struct GraphStats {
    /// Per receiver and signal.
    pub receivers: Vec<(ComponentId, Signal, Arc<EntryStats>)>,
    /// Per processor and pipeline.
    pub processors: Vec<(ComponentId, String, Signal, Arc<ProcessorStats>)>,
    /// Per exporter and signal.
    pub exporters: Vec<(ComponentId, Signal, Arc<QueueStats>)>,
}

/// One exporter: its instance and a queue per signal it serves.
struct ExporterSlot {
    raw: serde_json::Value,
    instance: Arc<dyn Exporter>,
    queues: BTreeMap<Signal, SendingQueue>,
}

/// One running receiver and the switches it pushes through.
struct ReceiverSlot {
    raw: serde_json::Value,
    stop: CancellationToken,
    handle: JoinHandle<()>,
    switches: BTreeMap<Signal, Arc<Switch>>,
}

/// The pipelines of one config generation, and the entries into them.
#[derive(Default)]
struct Pipelines {
    /// Each task with its stop and its drain step: twice its depth behind connectors for a
    /// pipeline (0: fed by receivers only), one more than its deepest upstream pipeline's for a
    /// connector's own work ([`Connector::run`]).
    tasks: Vec<(usize, CancellationToken, JoinHandle<()>)>,
    entries: BTreeMap<(ComponentId, Signal), Arc<PipelineEntry>>,
    processor_stats: Vec<(ComponentId, String, Signal, Arc<ProcessorStats>)>,
}

/// A running graph.
pub struct Running {
    options: RuntimeOptions,
    status: Arc<StatusBoard>,
    extensions: Vec<(ComponentId, Arc<dyn Extension>)>,
    /// The same extensions, as components look them up.
    host: Host,
    extensions_raw: BTreeMap<ComponentId, serde_json::Value>,
    extensions_stop: CancellationToken,
    exporters: BTreeMap<ComponentId, ExporterSlot>,
    pipelines: Pipelines,
    receivers: BTreeMap<ComponentId, ReceiverSlot>,
    stats: GraphStats,
}

fn build(
    kind: Kind,
    id: &ComponentId,
    entry: &ComponentEntry,
    settings: CreateSettings,
) -> Result<Built, StartError> {
    entry
        .factory
        .build(&entry.config, &settings)
        .map_err(|e| StartError::Build {
            kind,
            id: id.clone(),
            message: e.0,
        })
}

fn settings(id: &ComponentId, host: &Host) -> CreateSettings {
    CreateSettings {
        id: id.clone(),
        signal: None,
        pipeline: None,
        host: host.clone(),
    }
}

fn wrong_kind(kind: Kind, id: &ComponentId) -> StartError {
    StartError::Build {
        kind,
        id: id.clone(),
        message: format!("factory did not build a {kind}"),
    }
}

/// Starts the extensions `service.extensions` lists, in order.
async fn start_extensions(
    config: &Config,
    status: &Arc<StatusBoard>,
    stop: &CancellationToken,
) -> Result<Vec<(ComponentId, Arc<dyn Extension>)>, StartError> {
    let mut started: Vec<(ComponentId, Arc<dyn Extension>)> = Vec::new();
    for id in &config.service.extensions {
        let Some(entry) = config.extensions.get(id) else {
            continue;
        };
        let extension = match build(Kind::Extension, id, entry, settings(id, &Host::default())) {
            Ok(Built::Extension(e)) => e,
            Ok(_) => return Err(wrong_kind(Kind::Extension, id)),
            Err(e) => return Err(e),
        };
        let ctx = ExtensionContext {
            id: id.clone(),
            shutdown: stop.child_token(),
            status: status.clone(),
        };
        if let Err(e) = extension.start(ctx).await {
            for (_, e) in started.iter().rev() {
                e.shutdown().await;
            }
            return Err(StartError::Build {
                kind: Kind::Extension,
                id: id.clone(),
                message: e.0,
            });
        }
        started.push((id.clone(), extension));
    }
    Ok(started)
}

/// Opens the queue an exporter's `sending_queue` asks for: in memory, on a storage extension,
/// or none.
fn open_queue(
    id: &ComponentId,
    signal: Signal,
    exporter: Arc<dyn Exporter>,
    helper: &ExporterHelperConfig,
    extensions: &[(ComponentId, Arc<dyn Extension>)],
) -> Result<SendingQueue, StartError> {
    let queue = &helper.sending_queue;
    let Some(storage_id) = queue.storage.as_deref().filter(|_| queue.enabled) else {
        return Ok(SendingQueue::start(id.clone(), signal, exporter, helper));
    };
    let fail = |message: String| StartError::Build {
        kind: Kind::Exporter,
        id: id.clone(),
        message,
    };
    let extension = extensions
        .iter()
        .find(|(ext_id, _)| ext_id.to_string() == storage_id)
        .map(|(_, e)| e)
        .ok_or_else(|| fail(format!("sending_queue.storage `{storage_id}` is not an extension listed in service.extensions")))?;
    let storage = extension.storage().ok_or_else(|| {
        fail(format!(
            "sending_queue.storage `{storage_id}` is not a storage extension"
        ))
    })?;
    let name = format!("{}-{}", id.to_string().replace('/', "_"), signal.as_str());
    let store = storage
        .open_queue(&name, signal, queue.sizer, queue.queue_size)
        .map_err(|e| {
            fail(format!(
                "cannot open its persistent queue on `{storage_id}`: {e}"
            ))
        })?;
    Ok(SendingQueue::start_with_store(
        id.clone(),
        signal,
        exporter,
        helper,
        Some(store),
    ))
}

/// The signals each exporter and receiver serves in `config`.
fn signals_by_component(
    config: &Config,
) -> (
    BTreeMap<ComponentId, BTreeSet<Signal>>,
    BTreeMap<ComponentId, BTreeSet<Signal>>,
) {
    let (mut exporters, mut receivers) = (
        BTreeMap::<_, BTreeSet<Signal>>::new(),
        BTreeMap::<_, BTreeSet<Signal>>::new(),
    );
    for (pid, p) in &config.service.pipelines {
        for id in &p.exporters {
            exporters.entry(id.clone()).or_default().insert(pid.signal);
        }
        for id in &p.receivers {
            receivers.entry(id.clone()).or_default().insert(pid.signal);
        }
    }
    (exporters, receivers)
}

/// Processors of every pipeline of `config`, built (no I/O), with their counters; counters of a
/// processor that existed before are kept so they stay monotonic across reloads.
fn build_processors(
    config: &Config,
    previous: &GraphStats,
) -> Result<BTreeMap<String, Vec<Stage>>, StartError> {
    let mut out = BTreeMap::new();
    for (pid, pipeline) in &config.service.pipelines {
        let mut stages = Vec::new();
        for id in &pipeline.processors {
            let Some(entry) = config.processors.get(id) else {
                continue;
            };
            let settings = CreateSettings {
                id: id.clone(),
                signal: Some(pid.signal),
                pipeline: Some(pid.to_string()),
                host: Default::default(),
            };
            let Built::Processor(processor) = build(Kind::Processor, id, entry, settings)? else {
                return Err(wrong_kind(Kind::Processor, id));
            };
            let stats = previous
                .processors
                .iter()
                .find(|(pid2, name, _, _)| pid2 == id && *name == pid.to_string())
                .map(|(_, _, _, s)| s.clone())
                .unwrap_or_default();
            stages.push(Stage {
                id: id.clone(),
                processor,
                stats,
            });
        }
        out.insert(pid.to_string(), stages);
    }
    Ok(out)
}

/// The connectors `config`'s pipelines use, built (no I/O).
fn build_connectors(
    config: &Config,
    host: &Host,
) -> Result<BTreeMap<ComponentId, Arc<dyn Connector>>, StartError> {
    let mut out = BTreeMap::new();
    for (id, entry) in &config.connectors {
        let used = config
            .service
            .pipelines
            .values()
            .any(|p| p.exporters.contains(id) || p.receivers.contains(id));
        if !used {
            continue;
        }
        let Built::Connector(connector) = build(Kind::Connector, id, entry, settings(id, host))?
        else {
            return Err(wrong_kind(Kind::Connector, id));
        };
        out.insert(id.clone(), connector);
    }
    Ok(out)
}

/// How many connectors deep each pipeline is: 0 when no connector feeds it, else one more than
/// the deepest pipeline exporting into a connector it takes from. The config has no cycles.
fn depths(config: &Config) -> BTreeMap<String, usize> {
    fn depth(
        name: &str,
        upstream: &BTreeMap<String, BTreeSet<String>>,
        memo: &mut BTreeMap<String, usize>,
        guard: usize,
    ) -> usize {
        if let Some(&d) = memo.get(name) {
            return d;
        }
        let d = match upstream.get(name) {
            Some(ups) if guard < 64 => ups
                .iter()
                .map(|u| depth(u, upstream, memo, guard + 1) + 1)
                .max()
                .unwrap_or(0),
            _ => 0,
        };
        memo.insert(name.to_string(), d);
        d
    }
    let mut upstream: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (pid, p) in &config.service.pipelines {
        for (qid, q) in &config.service.pipelines {
            let joined = p
                .receivers
                .iter()
                .any(|id| config.connectors.contains_key(id) && q.exporters.contains(id));
            if joined && pid != qid {
                upstream
                    .entry(pid.to_string())
                    .or_default()
                    .insert(qid.to_string());
            }
        }
    }
    let mut memo = BTreeMap::new();
    config
        .service
        .pipelines
        .keys()
        .map(|pid| {
            let name = pid.to_string();
            let d = depth(&name, &upstream, &mut memo, 0);
            (name, d)
        })
        .collect()
}

impl Running {
    /// Builds and starts everything `config` describes.
    pub async fn start(config: &Config, options: &RuntimeOptions) -> Result<Running, StartError> {
        let status = Arc::new(StatusBoard::default());
        let extensions_stop = CancellationToken::new();
        let extensions = start_extensions(config, &status, &extensions_stop).await?;
        let mut running = Running {
            options: options.clone(),
            status,
            host: Host::new(extensions.clone()),
            extensions,
            extensions_raw: config
                .extensions
                .iter()
                .map(|(id, e)| (id.clone(), e.raw.clone()))
                .collect(),
            extensions_stop,
            exporters: BTreeMap::new(),
            pipelines: Pipelines::default(),
            receivers: BTreeMap::new(),
            stats: GraphStats::default(),
        };
        // The first start is a reload from nothing.
        if let Err(e) = running.reload(config, Duration::from_secs(5)).await {
            running.shutdown(Duration::from_secs(5)).await;
            return Err(e);
        }
        Ok(running)
    }

    /// Counters of every component, for internal telemetry.
    pub fn stats(&self) -> &GraphStats {
        &self.stats
    }

    /// The board extensions and telemetry read the running graph from; it follows reloads.
    pub fn status(&self) -> Arc<StatusBoard> {
        self.status.clone()
    }

    /// Switches to `config`, losing nothing in flight: receivers and exporters whose config did
    /// not change keep running (sockets, connections and queues); the pipelines are rebuilt;
    /// changed receivers are restarted and changed exporters' queues drained into their old
    /// instance before the new one takes over. A config that cannot be applied leaves the old
    /// one running.
    pub async fn reload(
        &mut self,
        config: &Config,
        drain_deadline: Duration,
    ) -> Result<(), StartError> {
        let new_extensions: BTreeMap<ComponentId, serde_json::Value> = config
            .extensions
            .iter()
            .map(|(id, e)| (id.clone(), e.raw.clone()))
            .collect();
        let listed: Vec<&ComponentId> = self.extensions.iter().map(|(id, _)| id).collect();
        if new_extensions != self.extensions_raw
            || config.service.extensions.iter().collect::<Vec<_>>() != listed
        {
            return Err(StartError::Reload(
                "extensions changed; a reload keeps extensions as they are, so restart Weir to apply this config".into(),
            ));
        }
        // Everything that can fail without I/O first, so a bad config changes nothing.
        let processors = build_processors(config, &self.stats)?;
        let connectors = build_connectors(config, &self.host)?;
        let (exporter_signals, receiver_signals) = signals_by_component(config);
        let mut new_exporters = BTreeMap::new();
        for id in exporter_signals.keys() {
            let Some(entry) = config.exporters.get(id) else {
                continue;
            };
            let kept = self
                .exporters
                .get(id)
                .is_some_and(|slot| slot.raw == entry.raw);
            if !kept {
                let Built::Exporter(instance) =
                    build(Kind::Exporter, id, entry, settings(id, &self.host))?
                else {
                    return Err(wrong_kind(Kind::Exporter, id));
                };
                new_exporters.insert(id.clone(), instance);
            }
        }
        let mut new_receivers = BTreeMap::new();
        for (id, signals) in &receiver_signals {
            let Some(entry) = config.receivers.get(id) else {
                continue;
            };
            let kept = self.receivers.get(id).is_some_and(|slot| {
                slot.raw == entry.raw
                    && slot.switches.keys().copied().collect::<BTreeSet<_>>() == *signals
            });
            if !kept {
                let Built::Receiver(receiver) =
                    build(Kind::Receiver, id, entry, settings(id, &self.host))?
                else {
                    return Err(wrong_kind(Kind::Receiver, id));
                };
                new_receivers.insert(id.clone(), receiver);
            }
        }
        let deadline = Instant::now() + drain_deadline;

        // 1. Hold the receivers that stay (their clients wait); stop the ones that go or change.
        for (id, slot) in &self.receivers {
            if new_receivers.contains_key(id) || !receiver_signals.contains_key(id) {
                slot.stop.cancel();
            } else {
                for switch in slot.switches.values() {
                    switch.hold();
                }
            }
        }
        let leaving: Vec<ComponentId> = self
            .receivers
            .keys()
            .filter(|id| new_receivers.contains_key(*id) || !receiver_signals.contains_key(*id))
            .cloned()
            .collect();
        for id in leaving {
            if let Some(slot) = self.receivers.remove(&id) {
                let _ = tokio::time::timeout_at(deadline, slot.handle).await;
                // A receiver task that outlived the deadline must not reach the old entries.
                for switch in slot.switches.values() {
                    switch.hold();
                }
            }
        }
        // 2. Drain the old pipelines into the queues once nothing pushes into them any more.
        let old = std::mem::take(&mut self.pipelines);
        old.drain(deadline).await;
        // 3. Changed or removed exporters: drain their queues, shut them down.
        let retired: Vec<ComponentId> = self
            .exporters
            .keys()
            .filter(|id| new_exporters.contains_key(*id) || !exporter_signals.contains_key(*id))
            .cloned()
            .collect();
        let mut retired_stats = BTreeMap::new();
        for id in retired {
            if let Some(slot) = self.exporters.remove(&id) {
                let left = deadline.saturating_duration_since(Instant::now());
                for (signal, queue) in &slot.queues {
                    retired_stats.insert((id.clone(), *signal), queue.stats());
                }
                futures::future::join_all(slot.queues.into_values().map(|q| q.drain(left))).await;
                slot.instance.shutdown().await;
            }
        }
        for (id, slot) in &mut self.exporters {
            let signals = exporter_signals.get(id).cloned().unwrap_or_default();
            let dropped: Vec<Signal> = slot
                .queues
                .keys()
                .filter(|s| !signals.contains(s))
                .copied()
                .collect();
            for signal in dropped {
                if let Some(queue) = slot.queues.remove(&signal) {
                    queue
                        .drain(deadline.saturating_duration_since(Instant::now()))
                        .await;
                }
            }
        }
        // 4. New exporters and queues; kept exporters get queues for signals they gained.
        let mut failure = None;
        for (id, instance) in new_exporters {
            if let Err(message) = instance.start().await {
                failure.get_or_insert(StartError::Build {
                    kind: Kind::Exporter,
                    id: id.clone(),
                    message,
                });
            }
            let raw = config.exporters[&id].raw.clone();
            self.exporters.insert(
                id,
                ExporterSlot {
                    raw,
                    instance,
                    queues: BTreeMap::new(),
                },
            );
        }
        for (id, signals) in &exporter_signals {
            let Some(slot) = self.exporters.get_mut(id) else {
                continue;
            };
            let helper = config
                .exporters
                .get(id)
                .and_then(|e| e.helper.clone())
                .unwrap_or_default();
            for signal in signals {
                if !slot.queues.contains_key(signal) {
                    let queue = open_queue(
                        id,
                        *signal,
                        slot.instance.clone(),
                        &helper,
                        &self.extensions,
                    )?;
                    if let Some(old) = retired_stats.get(&(id.clone(), *signal)) {
                        queue.stats().absorb(old);
                    }
                    slot.queues.insert(*signal, queue);
                }
            }
        }
        // 5. New pipelines and entries; point the held receivers at them; start the new ones.
        self.pipelines = self.start_pipelines(config, processors, &connectors);
        for (id, slot) in &self.receivers {
            for (signal, switch) in &slot.switches {
                if let Some(entry) = self.pipelines.entries.get(&(id.clone(), *signal)) {
                    switch.set(entry.clone());
                }
            }
        }
        for (id, receiver) in new_receivers {
            let Some(entry) = config.receivers.get(&id) else {
                continue;
            };
            let switches: BTreeMap<Signal, Arc<Switch>> = self
                .pipelines
                .entries
                .iter()
                .filter(|((rid, _), _)| *rid == id)
                .map(|((_, signal), entry)| {
                    (
                        *signal,
                        Arc::new(Switch::new(entry.clone(), self.options.admission_timeout)),
                    )
                })
                .collect();
            let consumers = switches
                .iter()
                .map(|(signal, switch)| (*signal, switch.clone() as Arc<dyn Consumer>))
                .collect();
            let stop = CancellationToken::new();
            let ctx = ReceiverContext {
                id: id.clone(),
                consumers,
                shutdown: stop.clone(),
                host: self.host.clone(),
            };
            match receiver.start(ctx).await {
                Ok(handle) => {
                    self.receivers.insert(
                        id.clone(),
                        ReceiverSlot {
                            raw: entry.raw.clone(),
                            stop,
                            handle,
                            switches,
                        },
                    );
                }
                Err(source) => {
                    failure.get_or_insert(StartError::Receiver { id, source });
                }
            }
        }
        self.refresh_stats();
        failure.map_or(Ok(()), Err)
    }

    /// Builds the pipeline tasks of `config` over the current exporters' queues, and the entries
    /// receivers push into.
    fn start_pipelines(
        &self,
        config: &Config,
        mut processors: BTreeMap<String, Vec<Stage>>,
        connectors: &BTreeMap<ComponentId, Arc<dyn Connector>>,
    ) -> Pipelines {
        let mut tasks = Vec::new();
        let mut ports: BTreeMap<String, PipelinePort> = BTreeMap::new();
        let mut inputs = BTreeMap::new();
        let mut processor_stats = Vec::new();
        // Every pipeline's channel first: connectors send into the pipelines they feed.
        for pid in config.service.pipelines.keys() {
            let (tx, rx) = mpsc::channel(self.options.pipeline_capacity.max(1));
            inputs.insert(pid.to_string(), (tx, rx));
        }
        let mut outputs: BTreeMap<&ComponentId, Outputs> = BTreeMap::new();
        for (pid, pipeline) in &config.service.pipelines {
            for id in pipeline
                .receivers
                .iter()
                .filter(|id| connectors.contains_key(*id))
            {
                let tx = inputs[&pid.to_string()].0.clone();
                outputs
                    .entry(id)
                    .or_default()
                    .add(pid.signal, Output::new(pid.to_string(), tx));
            }
        }
        let outputs: BTreeMap<&ComponentId, Arc<Outputs>> = outputs
            .into_iter()
            .map(|(id, o)| (id, Arc::new(o)))
            .collect();
        let depths = depths(config);
        for (pid, pipeline) in &config.service.pipelines {
            let stages = processors.remove(&pid.to_string()).unwrap_or_default();
            for stage in &stages {
                processor_stats.push((
                    stage.id.clone(),
                    pid.to_string(),
                    pid.signal,
                    stage.stats.clone(),
                ));
            }
            let queues: Vec<&SendingQueue> = pipeline
                .exporters
                .iter()
                .filter_map(|id| {
                    self.exporters
                        .get(id)
                        .and_then(|slot| slot.queues.get(&pid.signal))
                })
                .collect();
            let sinks: Vec<ExportSink> = pipeline
                .exporters
                .iter()
                .filter_map(|id| match connectors.get(id) {
                    Some(connector) => Some(ExportSink::Connector {
                        id: id.clone(),
                        connector: connector.clone(),
                        signal: pid.signal,
                        outputs: outputs.get(id).cloned().unwrap_or_default(),
                    }),
                    None => self
                        .exporters
                        .get(id)
                        .and_then(|slot| slot.queues.get(&pid.signal))
                        .map(SendingQueue::sink),
                })
                .collect();
            let admissions = stages
                .iter()
                .filter_map(|s| s.processor.admission())
                .collect();
            let Some((tx, rx)) = inputs.remove(&pid.to_string()) else {
                continue;
            };
            ports.insert(
                pid.to_string(),
                PipelinePort {
                    input: tx,
                    admissions,
                    queues: queues.iter().map(|q| q.stats()).collect(),
                },
            );
            let stop = CancellationToken::new();
            let task = PipelineTask {
                name: pid.to_string(),
                input: rx,
                stages,
                sinks,
                stop: stop.clone(),
            };
            // Pipelines drain at even steps, the connectors between them at odd ones.
            let depth = depths.get(&pid.to_string()).copied().unwrap_or(0);
            tasks.push((2 * depth, stop, tokio::spawn(task.run())));
        }
        for (id, connector) in connectors {
            let upstream = config
                .service
                .pipelines
                .iter()
                .filter(|(_, p)| p.exporters.contains(id))
                .filter_map(|(pid, _)| depths.get(&pid.to_string()).copied())
                .max()
                .unwrap_or(0);
            let stop = CancellationToken::new();
            let outputs = outputs.get(id).cloned().unwrap_or_default();
            let (connector, token) = (connector.clone(), stop.clone());
            let run = async move { connector.run(outputs, token).await };
            tasks.push((2 * upstream + 1, stop, tokio::spawn(run)));
        }
        let mut fed: BTreeMap<(ComponentId, Signal), Vec<PipelinePort>> = BTreeMap::new();
        for (pid, pipeline) in &config.service.pipelines {
            for id in pipeline
                .receivers
                .iter()
                .filter(|id| !connectors.contains_key(*id))
            {
                fed.entry((id.clone(), pid.signal))
                    .or_default()
                    .push(ports[&pid.to_string()].clone());
            }
        }
        let entries = fed
            .into_iter()
            .map(|((id, signal), ports)| {
                let stats = self
                    .stats
                    .receivers
                    .iter()
                    .find(|(rid, s, _)| *rid == id && *s == signal)
                    .map(|(_, _, stats)| stats.clone())
                    .unwrap_or_default();
                let entry = Arc::new(PipelineEntry::new(
                    ports,
                    self.options.admission_timeout,
                    stats,
                ));
                ((id, signal), entry)
            })
            .collect();
        Pipelines {
            tasks,
            entries,
            processor_stats,
        }
    }

    /// Rebuilds the counters' index after the graph changed, and publishes it.
    fn refresh_stats(&mut self) {
        let mut stats = GraphStats::default();
        for ((id, signal), entry) in &self.pipelines.entries {
            stats.receivers.push((id.clone(), *signal, entry.stats()));
        }
        stats.processors = self.pipelines.processor_stats.clone();
        for (id, slot) in &self.exporters {
            for (signal, queue) in &slot.queues {
                stats.exporters.push((id.clone(), *signal, queue.stats()));
            }
        }
        self.stats = stats;
        self.status.publish(self.stats.clone());
    }

    /// Stops receivers, drains pipelines (flushing processors such as `batch`) and exporter
    /// queues, within `deadline` overall; what is still queued after it is dropped and counted
    /// (memory queues) or kept for the next start (persistent queues).
    pub async fn shutdown(self, deadline: Duration) {
        self.status.mark_stopping();
        let until = Instant::now() + deadline;
        for slot in self.receivers.values() {
            slot.stop.cancel();
        }
        for (id, slot) in self.receivers {
            if tokio::time::timeout_at(until, slot.handle).await.is_err() {
                tracing::warn!(receiver = %id, "receiver did not stop before the shutdown deadline");
            }
        }
        self.pipelines.drain(until).await;
        let left = until.saturating_duration_since(Instant::now());
        let mut instances = Vec::new();
        let mut drains = Vec::new();
        for slot in self.exporters.into_values() {
            instances.push(slot.instance);
            drains.extend(slot.queues.into_values().map(|q| q.drain(left)));
        }
        futures::future::join_all(drains).await;
        futures::future::join_all(instances.iter().map(|e| e.shutdown())).await;
        self.extensions_stop.cancel();
        for (_, extension) in self.extensions.iter().rev() {
            extension.shutdown().await;
        }
    }
}

impl Pipelines {
    /// Waits until no receiver is inside an entry any more (their last batches are in the
    /// channels), then lets the tasks take what is buffered, flush their processors and end:
    /// those no connector feeds first, then the ones they feed through connectors, and so on,
    /// so that what a pipeline flushes into a connector still finds the pipelines behind it.
    async fn drain(self, until: Instant) {
        let Pipelines { tasks, entries, .. } = self;
        for entry in entries.into_values() {
            // Receivers hold entries only through switches (now pointing elsewhere or held) and
            // in-flight calls; when the count drops to ours, no batch can still arrive.
            while Arc::strong_count(&entry) > 1 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let mut tasks = tasks;
        tasks.sort_by_key(|(depth, _, _)| *depth);
        let mut rest = tasks.into_iter().peekable();
        while let Some(&(depth, _, _)) = rest.peek() {
            let mut level = Vec::new();
            while let Some(task) = rest.next_if(|(d, _, _)| *d == depth) {
                task.1.cancel();
                level.push(task.2);
            }
            for handle in level {
                let abort = handle.abort_handle();
                if tokio::time::timeout_at(until, handle).await.is_err() {
                    tracing::warn!("a pipeline did not drain before the deadline");
                    abort.abort();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
