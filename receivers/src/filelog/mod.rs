//! The `filelog` receiver (otelcol-contrib's name): tails files with `weir-tailer` and commits
//! each file's offset only once what was read before it is delivered (exported, or held in a
//! persistent sending queue), so `kill -9` loses no line and repeats at most what was not yet
//! delivered.
//!
//! - `config`: otelcol's fields and defaults, and what Weir refuses by name;
//! - `encode`: records straight to OTLP protobuf (no operators);
//! - `operators`: records through the stanza operators (`weir-stanza`) to OTLP;
//! - `ledger`: which reads each request holds, so an offset moves only over what was delivered,
//!   including what `recombine` held across reads;
//! - `tail`: the blocking thread that polls, hands requests over, applies deliveries and saves
//!   the offsets to the storage extension;
//! - `deliver`: the tokio side that offers requests to the pipelines and hears their delivery.

mod config;
mod deliver;
mod encode;
mod ledger;
mod operators;
mod tail;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use weir_core::batch::Signal;
use weir_core::component::{
    BuildError, CreateSettings, Receiver, ReceiverContext, ReceiverError, ReceiverFactory,
    Stability,
};
use weir_core::telemetry;
use weir_tailer::Tailer;

pub use config::FilelogConfig;

use deliver::{Delivery, DeliveryCounters, Outgoing};
use encode::{Encoder, FileAttributes};
use operators::Operators;
use tail::{Converter, Tail, TailMetrics, Wake};

/// Requests made and not yet offered to the pipelines; the thread waits beyond it.
const REQUESTS_IN_HAND: usize = 16;

/// Factory of the `filelog` receiver.
#[derive(Debug, Default)]
pub struct FilelogReceiverFactory;

impl ReceiverFactory for FilelogReceiverFactory {
    type Config = FilelogConfig;
    const TYPE: &'static str = "filelog";
    const SIGNALS: &'static [Signal] = &[Signal::Logs];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &FilelogConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Receiver>, BuildError> {
        let files = FileAttributes {
            name: config.include_file_name,
            path: config.include_file_path,
            name_resolved: config.include_file_name_resolved,
            path_resolved: config.include_file_path_resolved,
        };
        let converter = if config.operators.is_empty() {
            Converter::Plain(Encoder::new(&config.resource, &config.attributes, files))
        } else {
            let pipeline = weir_stanza::Pipeline::build_list(&config.operators)
                .map_err(|e| BuildError(e.to_string()))?;
            Converter::Operators(Box::new(Operators::new(
                &settings.id.to_string(),
                pipeline,
                &config.attributes,
                &config.resource,
                files,
            )))
        };
        // Checked by `validate`; built again here because the tailer holds compiled globs.
        let tailer = Tailer::new(config.tailer().map_err(|(_, e)| BuildError(e))?)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Box::new(FilelogReceiver {
            config: config.clone(),
            tailer,
            converter,
        }))
    }
}

/// A `filelog` receiver, built and not yet started.
struct FilelogReceiver {
    config: FilelogConfig,
    tailer: Tailer,
    converter: Converter,
}

fn metrics(id: &str) -> (TailMetrics, DeliveryCounters) {
    let labels = [("receiver", id)];
    let counter = |name, help| telemetry::counter(name, help, &labels);
    (
        TailMetrics {
            lines_read: counter(
                "weir_receiver_filelog_lines_read_total",
                "Records read from files (a multiline record counts once).",
            ),
            bytes_read: counter(
                "weir_receiver_filelog_bytes_read_total",
                "File bytes read into records.",
            ),
            records_truncated: counter(
                "weir_receiver_filelog_records_truncated_total",
                "Records cut at max_log_size (each piece counts).",
            ),
            files_open: telemetry::gauge(
                "weir_receiver_filelog_files_open",
                "Files the receiver holds open.",
                &labels,
            ),
            read_errors: counter(
                "weir_receiver_filelog_read_errors_total",
                "Times a file could not be opened or read (counted when it starts failing).",
            ),
        },
        DeliveryCounters {
            emitted: counter(
                "weir_receiver_filelog_records_emitted_total",
                "Log records delivered by the pipelines (exported or stored durably).",
            ),
            failed: counter(
                "weir_receiver_filelog_records_failed_total",
                "Log records the pipelines failed to deliver and that were passed over.",
            ),
        },
    )
}

#[async_trait]
impl Receiver for FilelogReceiver {
    async fn start(self: Box<Self>, ctx: ReceiverContext) -> Result<JoinHandle<()>, ReceiverError> {
        let id = ctx.id.to_string();
        let FilelogReceiver {
            config,
            tailer,
            converter,
        } = *self;
        let Some(consumer) = ctx.consumers.get(&Signal::Logs).cloned() else {
            return Err(ReceiverError::Other(
                "filelog feeds logs pipelines only".into(),
            ));
        };
        let store = match &config.storage {
            Some(storage) => Some(
                ctx.host
                    .storage_client(storage, &format!("receiver_{id}"))
                    .map_err(ReceiverError::Other)?,
            ),
            None => None,
        };
        let (tail_metrics, delivery_counters) = metrics(&id);
        let mut tail = Tail {
            id: id.clone(),
            tailer,
            converter,
            poll_interval: config.poll_interval,
            store,
            metrics: tail_metrics,
        };
        // Reading the saved state is file I/O: off the async threads, before the first poll.
        let tail = tokio::task::spawn_blocking(move || {
            tail.restore();
            tail
        })
        .await
        .map_err(|e| ReceiverError::Other(format!("restoring filelog's offsets: {e}")))?;
        let (requests_tx, requests_rx) = mpsc::channel::<Outgoing>(REQUESTS_IN_HAND);
        let (wake_tx, wake_rx) = std::sync::mpsc::channel::<Wake>();
        let thread = std::thread::Builder::new()
            .name(format!("filelog {id}"))
            .spawn(move || tail.run(requests_tx, wake_rx))
            .map_err(|e| ReceiverError::Other(format!("cannot start the tailing thread: {e}")))?;
        let delivery = Arc::new(Delivery {
            id,
            consumer,
            retry: config.retry_on_failure.clone(),
            counters: delivery_counters,
        });
        let stop = ctx.shutdown.clone();
        Ok(tokio::spawn(async move {
            delivery.run(requests_rx, wake_tx.clone(), stop).await;
            let _ = wake_tx.send(Wake::Stop);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }))
    }
}
