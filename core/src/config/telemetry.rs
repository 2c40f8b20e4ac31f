//! `service.telemetry` as written: Weir's own log level, metrics level and Prometheus address,
//! accepting otelcol's `metrics.readers` shape for the address. These types give the schema its
//! descriptions; [`super::model::Telemetry`] is what the runtime reads.

use schemars::JsonSchema;
use serde::Deserialize;

use super::error::ConfigError;
use super::fields;
use super::model::{Telemetry, TelemetryLogs, TelemetryMetrics};
use super::tree::Node;

/// Weir's own logs and metrics.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TelemetryConfig {
    /// Weir's own logs, written through `tracing`.
    logs: LogsConfig,
    /// Weir's own metrics, served for Prometheus with otelcol's metric names.
    metrics: MetricsConfig,
}

/// `service.telemetry.logs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
struct LogsConfig {
    /// The least severe level logged (default `info`; `RUST_LOG` and `--log-level` override it).
    level: LogLevel,
}

/// Log levels, as otelcol names them.
#[derive(Debug, Default, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum LogLevel {
    /// Everything, including per-batch detail.
    Debug,
    /// Start-up, shutdown, reloads and problems.
    #[default]
    Info,
    /// Problems only.
    Warn,
    /// Failures only.
    Error,
}

/// `service.telemetry.metrics`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
struct MetricsConfig {
    /// How many internal metrics to record (default `normal`; `none` serves no metrics endpoint).
    level: MetricsLevel,
    /// `host:port` to serve Prometheus metrics on at `/metrics` (default `localhost:8888`, as
    /// otelcol; Weir's shorthand for a pull reader).
    address: Option<String>,
    /// otelcol's reader list; Weir serves one Prometheus pull endpoint, so at most one reader,
    /// and it must be `pull` with a `prometheus` exporter.
    readers: Vec<MetricReader>,
}

/// Internal metrics levels, as otelcol names them.
#[derive(Debug, Default, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum MetricsLevel {
    /// No internal metrics.
    None,
    /// The essential ones.
    Basic,
    /// The standard set.
    #[default]
    Normal,
    /// Everything, with more attributes.
    Detailed,
}

/// One otelcol metric reader.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MetricReader {
    /// A reader scraped by Prometheus.
    pull: PullReader,
}

/// `readers[].pull`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PullReader {
    /// The pull exporter.
    exporter: PullExporter,
}

/// `readers[].pull.exporter`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PullExporter {
    /// The Prometheus endpoint.
    prometheus: PrometheusEndpoint,
}

/// `readers[].pull.exporter.prometheus`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PrometheusEndpoint {
    /// Interface to listen on.
    #[serde(default = "default_host")]
    host: String,
    /// Port to listen on.
    #[serde(default = "default_port")]
    port: u16,
}

fn default_host() -> String {
    "localhost".to_string()
}

fn default_port() -> u16 {
    8888
}

/// Reads `service.telemetry`; `node` is its value and may be absent or empty.
pub(crate) fn load(node: Option<&Node>) -> Result<Telemetry, Box<ConfigError>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Telemetry::default());
    };
    let path = "service.telemetry";
    let parsed: TelemetryConfig = fields::deserialize(node.to_json(), node, path)?;
    let metrics = parsed.metrics;
    let address = match (metrics.address, metrics.readers.as_slice()) {
        (address, []) => address,
        (None, [reader]) => {
            let p = &reader.pull.exporter.prometheus;
            Some(if p.host.contains(':') {
                format!("[{}]:{}", p.host, p.port)
            } else {
                format!("{}:{}", p.host, p.port)
            })
        }
        (Some(_), [_]) => {
            let at = node.locate(&["metrics".into(), "readers".into()]).0;
            return Err(Box::new(ConfigError::invalid(
                &at,
                format!("{path}.metrics"),
                "set either `address` or `readers`, not both",
            )));
        }
        (_, readers) => {
            let at = node.locate(&["metrics".into(), "readers".into()]).0;
            let n = readers.len();
            return Err(Box::new(ConfigError::invalid(
                &at,
                format!("{path}.metrics.readers"),
                format!(
                    "Weir serves one Prometheus endpoint, so at most one reader is allowed; found {n}"
                ),
            )));
        }
    };
    let level = match parsed.logs.level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let metrics_level = match metrics.level {
        MetricsLevel::None => "none",
        MetricsLevel::Basic => "basic",
        MetricsLevel::Normal => "normal",
        MetricsLevel::Detailed => "detailed",
    };
    Ok(Telemetry {
        logs: TelemetryLogs {
            level: level.to_string(),
        },
        metrics: TelemetryMetrics {
            level: metrics_level.to_string(),
            address,
        },
    })
}
