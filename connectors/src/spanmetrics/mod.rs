//! The `spanmetrics` connector: otelcol-contrib's (type `spanmetrics`, or `span_metrics` as
//! current otelcol names it). It aggregates the spans of the traces pipelines exporting into
//! it into request, error and duration metrics per service, span name, kind, status code
//! and configured dimensions (`<namespace>.calls`, `<namespace>.duration`, and
//! `<namespace>.events` counting span events when enabled), and every
//! `metrics_flush_interval` sends what it holds into the metrics pipelines it feeds, as
//! cumulative or delta sums and histograms; when it is stopped (after the pipelines in front
//! of it drained) it sends what it holds once more.
//!
//! It is an aggregator, as otelcol's is: a traces batch is acknowledged (the client hears
//! success) once its spans are counted, not when the metrics made of them are delivered. A
//! malformed batch is refused on its own. Memory is bounded: at most
//! `dimensions_cache_size` series and `resource_metrics_cache_size` resources are held, the
//! least recently updated forgotten first.
//!
//! Spans are read on the encoded batch ([`read`]), never decoded as a whole.

mod config;
mod emit;
mod histogram;
mod read;
mod series;

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use prost::Message;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{
    BuildError, ComponentConfig, Connector, ConnectorError, ConnectorFactory, CreateSettings,
    Outputs, Stability,
};

pub use config::{
    Dimension, EventsConfig, ExemplarsConfig, ExplicitConfig, ExponentialConfig, HistogramConfig,
    SpanMetricsConfig, Temporality, Unit,
};
use config::{SERVICE_NAME, SPAN_KIND, SPAN_NAME, STATUS_CODE};
use emit::Names;
use read::{Lookup, Reading};
use series::State;

/// Factory of the `spanmetrics` connector.
pub struct SpanMetricsFactory;

impl ConnectorFactory for SpanMetricsFactory {
    type Config = SpanMetricsConfig;
    const TYPE: &'static str = "spanmetrics";
    const ALIASES: &'static [&'static str] = &["span_metrics"];
    const PAIRS: &'static [(Signal, Signal)] = &[(Signal::Traces, Signal::Metrics)];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &SpanMetricsConfig,
        _settings: &CreateSettings,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        Ok(Arc::new(SpanMetrics::new(config).map_err(BuildError)?))
    }
}

/// The `spanmetrics` connector.
pub struct SpanMetrics {
    reading: Reading,
    names: Names,
    interval: std::time::Duration,
    state: Mutex<State>,
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn lookups(dimensions: &[Dimension]) -> Vec<Lookup> {
    dimensions
        .iter()
        .map(|d| Lookup {
            name: d.name.clone(),
            default: d.default.clone(),
        })
        .collect()
}

impl SpanMetrics {
    /// An instance for `config` (which it validates).
    pub fn new(config: &SpanMetricsConfig) -> Result<SpanMetrics, String> {
        config.validate().map_err(|p| p.join("; "))?;
        let excluded = |name: &str| config.exclude_dimensions.iter().any(|e| e == name);
        let mut event_dimensions = lookups(&config.dimensions);
        event_dimensions.extend(lookups(&config.events.dimensions));
        Ok(SpanMetrics {
            reading: Reading {
                defaults: [SERVICE_NAME, SPAN_NAME, SPAN_KIND, STATUS_CODE].map(|d| !excluded(d)),
                dimensions: lookups(&config.dimensions),
                names: config.dimensions.iter().map(|d| d.name.clone()).collect(),
                event_dimensions: config.events.enabled.then_some(event_dimensions),
                key_attributes: config.resource_metrics_key_attributes.clone(),
                unit_nanos: config.histogram.unit.nanos(),
                hasher: foldhash::fast::FixedState::default(),
            },
            names: Names::new(&config.namespace, config.histogram.unit),
            interval: config.metrics_flush_interval,
            state: Mutex::new(State::new(config, unix_nanos())),
        })
    }

    /// The metrics request of what is held, the state reset as the temporality says; `None`
    /// when nothing is held.
    fn take(&self) -> Option<Vec<u8>> {
        let now = unix_nanos();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let request = emit::build(&state, &self.names, now);
        state.reset(now, Instant::now());
        request.map(|r| r.encode_to_vec())
    }

    /// Sends what is held into the metrics pipelines.
    async fn flush(&self, outputs: &Outputs) {
        let Some(request) = self.take() else {
            return;
        };
        let sent = match Batch::from_encoded(
            Signal::Metrics,
            request.into(),
            Arc::new(BatchMeta::default()),
        ) {
            Ok(batch) => outputs.send(Signal::Metrics, batch).await,
            Err(e) => Err(ConnectorError(format!("span metrics did not encode: {e}"))),
        };
        if let Err(e) = sent {
            tracing::error!(connector = "spanmetrics", error = %e, "span metrics not sent");
        }
    }
}

#[async_trait]
impl Connector for SpanMetrics {
    async fn consume(
        &self,
        _signal: Signal,
        batch: Batch,
        _outputs: &Outputs,
    ) -> Result<(), ConnectorError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        read::aggregate(
            &self.reading,
            &mut state,
            &batch,
            unix_nanos(),
            Instant::now(),
        )
        // The batch (and its acknowledgement) is let go here: counted is done.
    }

    async fn run(&self, outputs: Arc<Outputs>, stop: CancellationToken) {
        let mut ticks = tokio::time::interval_at(Instant::now() + self.interval, self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.flush(&outputs).await,
                () = stop.cancelled() => {
                    self.flush(&outputs).await;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
