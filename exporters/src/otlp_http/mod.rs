//! The `otlphttp` exporter (alias `otlp_http`): OTLP over HTTP/1.1 as otelcol's `otlphttp`
//! exporter, protobuf or JSON. It owns its config ([`OtlpHttpConfig`]), the per-signal URLs,
//! the hyper client that POSTs each batch once, and the classification of HTTP responses
//! (status codes, `Retry-After`, `google.rpc.Status` bodies, partial success).

mod client;
mod config;

use std::sync::Arc;

use weir_core::batch::Signal;
use weir_core::component::{BuildError, CreateSettings, Exporter, ExporterFactory, Stability};

pub use config::{Encoding, OtlpHttpConfig};

/// Factory of the `otlphttp` exporter.
#[derive(Debug, Default)]
pub struct OtlpHttpExporterFactory;

impl ExporterFactory for OtlpHttpExporterFactory {
    type Config = OtlpHttpConfig;
    const TYPE: &'static str = "otlphttp";
    const ALIASES: &'static [&'static str] = &["otlp_http"];
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &OtlpHttpConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        Ok(Arc::new(client::HttpExporter::new(config, settings)?))
    }
}

#[cfg(test)]
mod tests;
