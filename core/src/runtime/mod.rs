//! Runs a validated config: builds every component through its factory, joins them with
//! bounded channels, starts receivers last and stops them first.
//!
//! Shape of a running graph (DESIGN.md §5):
//! receiver → [`entry::PipelineEntry`] (all-or-nothing admission into each pipeline's bounded
//! channel) → [`pipeline::PipelineTask`] (processors in order) → one
//! [`crate::exporter::SendingQueue`] per exporter and signal → the exporter, with retry.

pub mod entry;
pub mod pipeline;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batch, Signal};
use crate::component::{
    Built, ComponentId, Consumer, CreateSettings, Exporter, Kind, ReceiverContext, ReceiverError,
};
use crate::config::{ComponentEntry, Config};
use crate::exporter::{QueueStats, SendingQueue};
use entry::{EntryStats, PipelineEntry};
use pipeline::{PipelineTask, ProcessorStats, Stage};

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

/// A component that could not be built or started.
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

/// A running graph.
pub struct Running {
    receivers_stop: CancellationToken,
    receivers: Vec<(ComponentId, JoinHandle<()>)>,
    pipelines_stop: CancellationToken,
    pipelines: Vec<JoinHandle<()>>,
    queues: Vec<SendingQueue>,
    exporters: Vec<Arc<dyn Exporter>>,
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

fn settings(id: &ComponentId) -> CreateSettings {
    CreateSettings {
        id: id.clone(),
        signal: None,
        pipeline: None,
    }
}

/// Builds and starts everything `config` describes.
pub async fn start(config: &Config, options: &RuntimeOptions) -> Result<Running, StartError> {
    let pipelines = &config.service.pipelines;
    let mut stats = GraphStats::default();

    // Exporters: one instance per id, one queue per (id, signal).
    let mut exporters: BTreeMap<ComponentId, Arc<dyn Exporter>> = BTreeMap::new();
    let mut queues: BTreeMap<(ComponentId, Signal), SendingQueue> = BTreeMap::new();
    for (pid, pipeline) in pipelines {
        for id in &pipeline.exporters {
            let Some(entry) = config.exporters.get(id) else {
                continue;
            };
            if !exporters.contains_key(id) {
                let Built::Exporter(exporter) = build(Kind::Exporter, id, entry, settings(id))?
                else {
                    return Err(wrong_kind(Kind::Exporter, id));
                };
                exporters.insert(id.clone(), exporter);
            }
            if let std::collections::btree_map::Entry::Vacant(slot) =
                queues.entry((id.clone(), pid.signal))
            {
                let helper = entry.helper.clone().unwrap_or_default();
                let queue =
                    SendingQueue::start(id.clone(), pid.signal, exporters[id].clone(), &helper);
                stats
                    .exporters
                    .push((id.clone(), pid.signal, queue.stats()));
                slot.insert(queue);
            }
        }
    }

    // Pipelines: processors per pipeline, an input channel, a task.
    let pipelines_stop = CancellationToken::new();
    let mut pipeline_inputs: BTreeMap<String, mpsc::Sender<Batch>> = BTreeMap::new();
    let mut tasks = Vec::new();
    for (pid, pipeline) in pipelines {
        let mut stages = Vec::new();
        for id in &pipeline.processors {
            let Some(entry) = config.processors.get(id) else {
                continue;
            };
            let settings = CreateSettings {
                id: id.clone(),
                signal: Some(pid.signal),
                pipeline: Some(pid.to_string()),
            };
            let Built::Processor(processor) = build(Kind::Processor, id, entry, settings)? else {
                return Err(wrong_kind(Kind::Processor, id));
            };
            let stage_stats = Arc::new(ProcessorStats::default());
            stats
                .processors
                .push((id.clone(), pid.to_string(), pid.signal, stage_stats.clone()));
            stages.push(Stage {
                id: id.clone(),
                processor,
                stats: stage_stats,
            });
        }
        let sinks = pipeline
            .exporters
            .iter()
            .filter_map(|id| {
                queues
                    .get(&(id.clone(), pid.signal))
                    .map(SendingQueue::sink)
            })
            .collect();
        let (tx, rx) = mpsc::channel(options.pipeline_capacity.max(1));
        pipeline_inputs.insert(pid.to_string(), tx);
        let task = PipelineTask {
            name: pid.to_string(),
            input: rx,
            stages,
            sinks,
            stop: pipelines_stop.clone(),
        };
        tasks.push(tokio::spawn(task.run()));
    }

    // Receivers: one instance per id, one entry per signal it feeds.
    let receivers_stop = CancellationToken::new();
    let mut running = Running {
        receivers_stop: receivers_stop.clone(),
        receivers: Vec::new(),
        pipelines_stop,
        pipelines: tasks,
        queues: queues.into_values().collect(),
        exporters: exporters.into_values().collect(),
        stats,
    };
    let mut fed: BTreeMap<ComponentId, BTreeMap<Signal, Vec<mpsc::Sender<Batch>>>> =
        BTreeMap::new();
    for (pid, pipeline) in pipelines {
        for id in &pipeline.receivers {
            fed.entry(id.clone())
                .or_default()
                .entry(pid.signal)
                .or_default()
                .push(pipeline_inputs[&pid.to_string()].clone());
        }
    }
    drop(pipeline_inputs);
    for (id, by_signal) in fed {
        let Some(entry) = config.receivers.get(&id) else {
            continue;
        };
        let mut consumers: BTreeMap<Signal, Arc<dyn Consumer>> = BTreeMap::new();
        for (signal, senders) in by_signal {
            let entry_stats = Arc::new(EntryStats::default());
            running
                .stats
                .receivers
                .push((id.clone(), signal, entry_stats.clone()));
            consumers.insert(
                signal,
                Arc::new(PipelineEntry::new(
                    senders,
                    options.admission_timeout,
                    entry_stats,
                )),
            );
        }
        let receiver = match build(Kind::Receiver, &id, entry, settings(&id)) {
            Ok(Built::Receiver(r)) => r,
            Ok(_) => {
                running.shutdown(Duration::from_secs(5)).await;
                return Err(wrong_kind(Kind::Receiver, &id));
            }
            Err(e) => {
                running.shutdown(Duration::from_secs(5)).await;
                return Err(e);
            }
        };
        let ctx = ReceiverContext {
            id: id.clone(),
            consumers,
            shutdown: receivers_stop.child_token(),
        };
        match receiver.start(ctx).await {
            Ok(handle) => running.receivers.push((id.clone(), handle)),
            Err(source) => {
                running.shutdown(Duration::from_secs(5)).await;
                return Err(StartError::Receiver { id, source });
            }
        }
    }
    Ok(running)
}

fn wrong_kind(kind: Kind, id: &ComponentId) -> StartError {
    StartError::Build {
        kind,
        id: id.clone(),
        message: format!("factory did not build a {kind}"),
    }
}

impl Running {
    /// Counters of every component, for internal telemetry.
    pub fn stats(&self) -> &GraphStats {
        &self.stats
    }

    /// Stops receivers, drains pipelines (flushing processors such as `batch`) and exporter
    /// queues, within `deadline` overall; what is still queued after it is dropped and counted.
    pub async fn shutdown(self, deadline: Duration) {
        let until = tokio::time::Instant::now() + deadline;
        self.receivers_stop.cancel();
        for (id, handle) in self.receivers {
            if tokio::time::timeout_at(until, handle).await.is_err() {
                tracing::warn!(receiver = %id, "receiver did not stop before the shutdown deadline");
            }
        }
        self.pipelines_stop.cancel();
        for handle in self.pipelines {
            let abort = handle.abort_handle();
            if tokio::time::timeout_at(until, handle).await.is_err() {
                tracing::warn!("a pipeline did not drain before the shutdown deadline");
                abort.abort();
            }
        }
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        futures::future::join_all(self.queues.into_iter().map(|q| q.drain(left))).await;
        futures::future::join_all(self.exporters.iter().map(|e| e.shutdown())).await;
    }
}

#[cfg(test)]
mod tests;
