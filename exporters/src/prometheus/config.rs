//! The `prometheus` exporter's configuration, in otelcol-contrib's shape: confighttp's server
//! settings squashed at the top (`endpoint`, `tls`, timeouts) beside the exporter's own.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde};
use weir_core::net::server::DEFAULT_MAX_HEADER_BYTES;
use weir_core::net::tls::ServerTlsConfig;

use super::naming::{Namer, is_valid_label_name};

/// How OTLP metric and attribute names become Prometheus names (otelcol's
/// `translation_strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TranslationStrategy {
    /// Characters Prometheus's classic names cannot take become `_`; unit and type suffixes
    /// (`_seconds`, `_total`, `_ratio`) are added.
    UnderscoreEscapingWithSuffixes,
    /// Characters are escaped to `_`; no suffixes are added.
    UnderscoreEscapingWithoutSuffixes,
    /// Names keep their UTF-8 characters; suffixes are added. Refused: Weir writes classic
    /// names only.
    NoUTF8EscapingWithSuffixes,
    /// Names pass through as they are. Refused: Weir writes classic names only.
    NoTranslation,
}

/// Resource attributes as labels of every series of that resource (otelcol's
/// `resource_to_telemetry_conversion`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceToTelemetry {
    /// Copy every resource attribute onto each of the resource's series as a label.
    pub enabled: bool,
    /// With `enabled`, leave out `service.name`, `service.namespace` and
    /// `service.instance.id`, which are already the `job` and `instance` labels.
    pub exclude_service_attributes: bool,
}

/// `prometheus` exporter: serves the metrics it receives on `/metrics` for Prometheus to
/// scrape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// `host:port` serving `/metrics`, such as `0.0.0.0:8889`. Required. Port 0 picks a free
    /// port (logged at startup).
    pub endpoint: String,
    /// Serve HTTPS (`cert_file`, `key_file`, `client_ca_file` for mutual TLS, ...). Present
    /// means on; plaintext scrapers are then refused.
    #[serde(
        deserialize_with = "present_means_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls: Option<ServerTlsConfig>,
    /// How long a scraper may take to send a request's headers (and to complete the TLS
    /// handshake); a kept-alive connection waiting for its next request is closed after this
    /// too.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub read_header_timeout: Duration,
    /// Close a connection that has had no request in flight for this long; `0s` keeps idle
    /// connections open.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers), in bytes.
    pub max_request_header_size: usize,
    /// Prefix of every metric name (`namespace_metric`); characters a metric name cannot take
    /// become `_`.
    pub namespace: String,
    /// Labels added to every series, such as `{region: eu-west-1}`. Names must be valid
    /// Prometheus label names.
    pub const_labels: BTreeMap<String, String>,
    /// Write each sample's own timestamp (the data point's time) after its value; off lets
    /// Prometheus stamp samples with the scrape time.
    pub send_timestamps: bool,
    /// A series not updated for this long is no longer served and its memory is freed.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub metric_expiration: Duration,
    /// Resource attributes as labels on every series of the resource.
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    /// Answer scrapers that accept `application/openmetrics-text` in OpenMetrics 1.0 (with
    /// exemplars and `# EOF`); others, and all scrapers when off, get text format 0.0.4.
    pub enable_open_metrics: bool,
    /// Leave out the `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels.
    pub without_scope_info: bool,
    /// Add unit and type suffixes to metric names (`_seconds`, `_total`, `_ratio`).
    /// Deprecated in otelcol for `translation_strategy`, which wins when set.
    pub add_metric_suffixes: bool,
    /// How names are translated: `UnderscoreEscapingWithSuffixes`,
    /// `UnderscoreEscapingWithoutSuffixes` (the UTF-8 ones, `NoUTF8EscapingWithSuffixes` and
    /// `NoTranslation`, are refused). Unset: `add_metric_suffixes` decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translation_strategy: Option<TranslationStrategy>,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            endpoint: String::new(),
            tls: None,
            read_header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_request_header_size: DEFAULT_MAX_HEADER_BYTES,
            namespace: String::new(),
            const_labels: BTreeMap::new(),
            send_timestamps: false,
            metric_expiration: Duration::from_secs(5 * 60),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            enable_open_metrics: false,
            without_scope_info: false,
            add_metric_suffixes: true,
            translation_strategy: None,
        }
    }
}

impl ComponentConfig for PrometheusConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.endpoint.trim().is_empty() {
            problems.push(
                "endpoint is required: the host:port serving /metrics, such as 0.0.0.0:8889"
                    .to_string(),
            );
        } else if !self.endpoint.contains(':') {
            problems.push(format!(
                "endpoint `{}` must be host:port, such as 0.0.0.0:8889",
                self.endpoint
            ));
        }
        if self.metric_expiration.is_zero() {
            problems.push("metric_expiration must be greater than 0".to_string());
        }
        for name in self.const_labels.keys() {
            if !is_valid_label_name(name) {
                problems.push(format!(
                    "const_labels.{name}: not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                ));
            } else if name.starts_with("__") {
                problems.push(format!(
                    "const_labels.{name}: label names starting with `__` are reserved"
                ));
            }
        }
        if let Some(
            strategy @ (TranslationStrategy::NoUTF8EscapingWithSuffixes
            | TranslationStrategy::NoTranslation),
        ) = self.translation_strategy
        {
            problems.push(format!(
                "translation_strategy `{strategy:?}` keeps UTF-8 names, which need the quoted \
                 names of Prometheus 3's exposition; Weir writes classic names only: use \
                 UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes"
            ));
        }
        if let Some(tls) = &self.tls {
            problems.extend(tls.shape_problems("tls"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl PrometheusConfig {
    /// The namer these settings ask for (`translation_strategy` wins over
    /// `add_metric_suffixes`, as in otelcol).
    pub fn namer(&self) -> Namer {
        let suffixes = match self.translation_strategy {
            Some(TranslationStrategy::UnderscoreEscapingWithSuffixes) => true,
            Some(TranslationStrategy::UnderscoreEscapingWithoutSuffixes) => false,
            // Refused by `validate`.
            Some(TranslationStrategy::NoUTF8EscapingWithSuffixes) => true,
            Some(TranslationStrategy::NoTranslation) => false,
            None => self.add_metric_suffixes,
        };
        Namer::new(&self.namespace, suffixes)
    }
}

/// A key present with no body (`tls:`) turns the block on with its defaults.
fn present_means_enabled<'de, D>(deserializer: D) -> Result<Option<ServerTlsConfig>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Some(
        Option::<ServerTlsConfig>::deserialize(deserializer)?.unwrap_or_default(),
    ))
}
