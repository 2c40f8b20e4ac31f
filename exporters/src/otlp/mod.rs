//! The `otlp` exporter (alias `otlp_grpc`): OTLP over gRPC, as otelcol's `otlp` exporter. It
//! owns its config ([`OtlpGrpcConfig`], and the client [`ClientTlsConfig`] block `otlphttp`
//! shares), the client that sends a batch's encoded bytes unchanged, and the classification of
//! gRPC outcomes into retryable and permanent failures.

mod config;
mod grpc;
mod proxy_answer;
pub mod unary;

use std::sync::Arc;

use weir_core::batch::Signal;
use weir_core::component::{BuildError, CreateSettings, Exporter, ExporterFactory, Stability};

pub use config::OtlpGrpcConfig;
pub(crate) use config::header_problems;
pub use weir_core::net::tls::ClientTlsConfig;

/// Factory of the `otlp` exporter.
#[derive(Debug, Default)]
pub struct OtlpGrpcExporterFactory;

impl ExporterFactory for OtlpGrpcExporterFactory {
    type Config = OtlpGrpcConfig;
    const TYPE: &'static str = "otlp";
    const ALIASES: &'static [&'static str] = &["otlp_grpc"];
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &OtlpGrpcConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        Ok(Arc::new(grpc::GrpcExporter::new(config, settings)?))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod unary_tests;
