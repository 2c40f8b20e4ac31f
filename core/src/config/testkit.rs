//! A registry of fake component types with realistic configs, for the loader's tests. Their
//! `create` refuses: the loader only parses and validates.

use std::collections::HashMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::expand::Env;
use crate::batch::Signal;
use crate::component::{
    BuildError, ComponentConfig, CreateSettings, Exporter, ExporterFactory, Processor,
    ProcessorFactory, Receiver, ReceiverFactory, Registry,
};

fn refuse<T>() -> Result<T, BuildError> {
    Err(BuildError("test factories only parse configs".into()))
}

/// The `otlp` receiver's config.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpReceiverConfig {
    /// Protocols to serve.
    pub protocols: Protocols,
}

/// Protocols of the `otlp` receiver.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Protocols {
    /// gRPC server.
    pub grpc: Option<Server>,
    /// HTTP server.
    pub http: Option<Server>,
}

/// A server endpoint.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// Largest request accepted, in MiB.
    pub max_recv_msg_size_mib: u32,
}

impl ComponentConfig for OtlpReceiverConfig {}

struct OtlpReceiver;
impl ReceiverFactory for OtlpReceiver {
    type Config = OtlpReceiverConfig;
    const TYPE: &'static str = "otlp";
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Box<dyn Receiver>, BuildError> {
        refuse()
    }
}

/// The `hostmetrics` receiver's config.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HostMetricsConfig {
    /// How often to scrape.
    pub collection_interval: String,
}

impl Default for HostMetricsConfig {
    fn default() -> Self {
        HostMetricsConfig {
            collection_interval: "1m".into(),
        }
    }
}

impl ComponentConfig for HostMetricsConfig {}

struct HostMetrics;
impl ReceiverFactory for HostMetrics {
    type Config = HostMetricsConfig;
    const TYPE: &'static str = "hostmetrics";
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Box<dyn Receiver>, BuildError> {
        refuse()
    }
}

/// The `batch` processor's config.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Items that trigger a send.
    pub send_batch_size: u32,
    /// Largest batch sent; 0 means no limit.
    pub send_batch_max_size: u32,
    /// Longest wait before sending.
    pub timeout: String,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: "200ms".into(),
        }
    }
}

impl ComponentConfig for BatchConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        if self.send_batch_max_size != 0 && self.send_batch_max_size < self.send_batch_size {
            return Err(vec![
                "send_batch_max_size must be 0 or at least send_batch_size".into(),
            ]);
        }
        Ok(())
    }
}

struct Batch;
impl ProcessorFactory for Batch {
    type Config = BatchConfig;
    const TYPE: &'static str = "batch";
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        refuse()
    }
}

/// The `memory_limiter` processor's config.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryLimiterConfig {
    /// Hard limit in MiB; required.
    pub limit_mib: u32,
    /// Headroom below the limit, in MiB.
    pub spike_limit_mib: u32,
}

impl ComponentConfig for MemoryLimiterConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.limit_mib == 0 {
            problems.push("limit_mib must be greater than 0".to_string());
        }
        if self.spike_limit_mib >= self.limit_mib && self.limit_mib > 0 {
            problems.push("spike_limit_mib must be less than limit_mib".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

struct MemoryLimiter;
impl ProcessorFactory for MemoryLimiter {
    type Config = MemoryLimiterConfig;
    const TYPE: &'static str = "memory_limiter";
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        refuse()
    }
}

/// The `otlp` exporter's config.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpExporterConfig {
    /// `host:port` to send to; required.
    pub endpoint: String,
    /// Request compression.
    pub compression: Compression,
    /// Client TLS.
    pub tls: Tls,
}

/// Request compression.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip.
    #[default]
    Gzip,
    /// zstd.
    Zstd,
    /// None.
    None,
}

/// Client TLS settings.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// Plain text instead of TLS.
    pub insecure: bool,
}

impl ComponentConfig for OtlpExporterConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        if self.endpoint.is_empty() {
            Err(vec!["endpoint must be set".into()])
        } else {
            Ok(())
        }
    }
}

struct OtlpExporter;
impl ExporterFactory for OtlpExporter {
    type Config = OtlpExporterConfig;
    const TYPE: &'static str = "otlp";
    const ALIASES: &'static [&'static str] = &["otlp_grpc"];
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        refuse()
    }
}

/// The `debug` exporter's config.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    /// How much to print.
    pub verbosity: Verbosity,
}

/// Debug output detail.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    /// Counts only.
    #[default]
    Basic,
    /// One line per item.
    Normal,
    /// Everything.
    Detailed,
}

impl ComponentConfig for DebugConfig {}

struct Debug;
impl ExporterFactory for Debug {
    type Config = DebugConfig;
    const TYPE: &'static str = "debug";
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        refuse()
    }
}

/// The `zipkin` exporter's config (traces only).
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ZipkinConfig {
    /// Zipkin's span endpoint URL.
    pub endpoint: String,
}

impl ComponentConfig for ZipkinConfig {}

struct Zipkin;
impl ExporterFactory for Zipkin {
    type Config = ZipkinConfig;
    const TYPE: &'static str = "zipkin";
    const SIGNALS: &'static [Signal] = &[Signal::Traces];
    fn create(
        &self,
        _: &Self::Config,
        _: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError> {
        refuse()
    }
}

/// Receivers `otlp`, `hostmetrics` (metrics); processors `batch`, `memory_limiter`; exporters
/// `otlp` (alias `otlp_grpc`), `debug`, `zipkin` (traces).
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.receiver(OtlpReceiver).receiver(HostMetrics);
    registry.processor(Batch).processor(MemoryLimiter);
    registry
        .exporter(OtlpExporter)
        .exporter(Debug)
        .exporter(Zipkin);
    registry
}

/// The fixed environment tests expand against.
pub fn env() -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("OTLP_PORT", "4317"),
        ("BACKEND", "backend.example:4317"),
        ("INSECURE", "true"),
        ("BATCH", "512"),
        ("HOME", "/home/weir"),
    ]);
    move |name| vars.get(name).map(|v| v.to_string())
}

/// Loads YAML texts named `a.yaml`, `b.yaml`, … with the test registry and environment.
pub fn load(texts: &[&str], sets: &[&str]) -> Result<super::Loaded, super::ConfigErrors> {
    let sources: Vec<super::Source> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| super::Source::Yaml {
            name: format!("{}.yaml", (b'a' + i as u8) as char),
            text: text.to_string(),
        })
        .collect();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let env = env();
    let env: Env<'_> = &env;
    super::load_with_env(&sources, &sets, &registry(), env)
}
