//! The `prometheus` exporter: otelcol-contrib's pull exporter. Metrics exported into it are
//! folded into an accumulator ([`accumulator`]: the last value of every series, deltas made
//! cumulative, expiry), named by the OpenTelemetry–Prometheus rules ([`naming`]), and written
//! on each scrape of `/metrics` ([`server`]) as text format 0.0.4 or OpenMetrics
//! ([`render`]). It owns its config ([`PrometheusConfig`]) and the HTTP(S) server, bound in
//! `start` so a port in use fails startup.

pub mod accumulator;
mod config;
pub mod naming;
pub mod render;
pub mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, Request, Signal};
use weir_core::component::{
    BuildError, CreateSettings, Delivered, ExportError, Exporter, ExporterFactory, Stability,
};
use weir_core::net::server::{self as http_server, ServerOptions};
use weir_core::net::tls::ServerTls;

pub use config::{PrometheusConfig, ResourceToTelemetry, TranslationStrategy};

use accumulator::{Accumulator, Settings};
use server::{Scrape, ScrapeService};

/// Factory of the `prometheus` exporter.
#[derive(Debug, Default)]
pub struct PrometheusExporterFactory;

impl ExporterFactory for PrometheusExporterFactory {
    type Config = PrometheusConfig;
    const TYPE: &'static str = "prometheus";
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &PrometheusConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        Ok(Arc::new(PrometheusExporter::new(config, settings)))
    }
}

/// Accumulates exported metrics and serves them.
pub struct PrometheusExporter {
    id: String,
    config: PrometheusConfig,
    scrape: Arc<Scrape>,
    stop: CancellationToken,
    serving: Mutex<Option<JoinHandle<()>>>,
    address: Mutex<Option<SocketAddr>>,
}

impl PrometheusExporter {
    /// An exporter for `config` (no I/O until `start`).
    pub fn new(config: &PrometheusConfig, settings: &CreateSettings) -> PrometheusExporter {
        let accumulator = Accumulator::new(Settings {
            namer: config.namer(),
            without_scope_info: config.without_scope_info,
            resource_to_telemetry: config.resource_to_telemetry_conversion.clone(),
            const_labels: config.const_labels.clone(),
            expiration: config.metric_expiration,
        });
        PrometheusExporter {
            id: settings.id.to_string(),
            config: config.clone(),
            scrape: Arc::new(Scrape {
                accumulator: Mutex::new(accumulator),
                open_metrics: config.enable_open_metrics,
                timestamps: config.send_timestamps,
            }),
            stop: CancellationToken::new(),
            serving: Mutex::new(None),
            address: Mutex::new(None),
        }
    }

    /// The address `/metrics` is served on, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The series being served (for tests and the benchmark's checks).
    pub fn scrape(&self) -> &Scrape {
        &self.scrape
    }
}

#[async_trait]
impl Exporter for PrometheusExporter {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        let request = batch.decoded().map_err(|e| ExportError::Permanent {
            reason: format!("metrics could not be decoded: {e}"),
        })?;
        let Request::Metrics(metrics) = &*request else {
            return Err(ExportError::Permanent {
                reason: format!(
                    "the prometheus exporter takes metrics, not {}",
                    batch.signal()
                ),
            });
        };
        let mut accumulator = self
            .scrape
            .accumulator
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        accumulator.accumulate(metrics, Instant::now());
        Ok(Delivered::default())
    }

    async fn start(&self) -> Result<(), String> {
        let tls = match &self.config.tls {
            Some(tls) => Some(
                ServerTls::build(tls, "tls", &[b"h2", b"http/1.1"]).map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let listener = http_server::bind(&self.config.endpoint)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", self.config.endpoint))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {}: {e}", self.config.endpoint))?;
        tracing::info!(exporter = %self.id, endpoint = %address, tls = tls.is_some(), "Prometheus exporter serving /metrics");
        *self.address.lock().unwrap_or_else(|p| p.into_inner()) = Some(address);
        let options = ServerOptions {
            header_read_timeout: self.config.read_header_timeout,
            idle_timeout: (!self.config.idle_timeout.is_zero()).then_some(self.config.idle_timeout),
            max_header_bytes: self.config.max_request_header_size,
            tls,
            name: self.id.clone(),
            ..ServerOptions::default()
        };
        let scrape = self.scrape.clone();
        let handle = http_server::serve(
            listener,
            move |_peer| ScrapeService(scrape.clone()),
            options,
            self.stop.clone(),
        );
        *self.serving.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    async fn shutdown(&self) {
        self.stop.cancel();
        let handle = self
            .serving
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}

#[cfg(test)]
mod tests;
