//! The `prometheusremotewrite` exporter's configuration, in otelcol-contrib's shape
//! (confighttp's client settings squashed at the top beside the exporter's own), and the
//! fields otelcol has that Weir refuses rather than accept and ignore.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Uri;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::{AuthConfig, ComponentConfig};
use weir_core::exporter::{DurationString, humantime_serde};
use weir_core::net::tls::client_config;

use crate::otlp::{ClientTlsConfig, header_problems};
use crate::prometheus::naming::{Namer, is_valid_label_name};

/// Headers the exporter sets itself; otelcol does not let `headers` change them either.
pub(crate) const FIXED_HEADERS: [&str; 4] = [
    "content-encoding",
    "content-type",
    "x-prometheus-remote-write-version",
    "user-agent",
];

/// An `enabled` switch (`target_info`, `resource_to_telemetry_conversion`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// Whether it is on.
    pub enabled: bool,
}

/// otelcol's `remote_write_queue`: the exporter's queue, as otelcol spells it. Its
/// `enabled` and `queue_size` become the runtime's `sending_queue.enabled` and
/// `sending_queue.queue_size` (in batches), so `sending_queue`'s other settings (a
/// persistent `storage`, `block_on_overflow`) still apply; giving a setting in both places
/// with different values is an error. As in otelcol, the queue has one consumer, so the
/// samples of a series reach the server in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueue {
    /// Queue batches before export (default true); `sending_queue.enabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Batches the queue holds (default 10000); `sending_queue.queue_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_size: Option<usize>,
    /// How many remote write requests of one batch (split at `max_batch_size_bytes`) are
    /// in flight at once, as otelcol's (default 5).
    pub num_consumers: usize,
}

impl Default for RemoteWriteQueue {
    fn default() -> Self {
        RemoteWriteQueue {
            enabled: None,
            queue_size: None,
            num_consumers: 5,
        }
    }
}

/// `prometheusremotewrite` exporter: sends metrics to a Prometheus remote write 1.0 endpoint
/// (Prometheus with `--web.enable-remote-write-receiver`, Mimir, Cortex, Thanos, ...).
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteConfig {
    /// The remote write URL, such as `http://prometheus:9090/api/v1/write`. Required.
    pub endpoint: String,
    /// HTTP headers sent with every request, such as a tenant id (`X-Scope-OrgID`).
    /// `Content-Encoding`, `Content-Type`, `X-Prometheus-Remote-Write-Version` and
    /// `User-Agent` are the exporter's own and refused here.
    pub headers: BTreeMap<String, String>,
    /// Prefix of every metric name (`namespace_metric`), `target_info` included.
    pub namespace: String,
    /// Labels added to every series, such as `{cluster: eu-1}`; a label of the same name
    /// that the data point already has wins. Names must be valid Prometheus label names
    /// (`__` prefixes are allowed, as in otelcol).
    pub external_labels: BTreeMap<String, String>,
    /// `enabled: true` copies every resource attribute onto each of the resource's series as
    /// a label (default off: they go to `target_info`).
    pub resource_to_telemetry_conversion: Switch,
    /// Add unit and type suffixes to metric names (`_seconds`, `_bytes`, `_total`,
    /// `_ratio`).
    pub add_metric_suffixes: bool,
    /// Send each family's type, help (the OTLP description) and unit in the request's
    /// `metadata`.
    pub send_metadata: bool,
    /// `enabled: true` (the default) sends a `target_info` series per resource whose
    /// attributes are its labels (besides `service.name`, `service.namespace` and
    /// `service.instance.id`, which are `job` and `instance`).
    pub target_info: Switch,
    /// Largest remote write request before compression, in bytes; a batch that converts to
    /// more is split into several requests (a single larger series goes alone).
    pub max_batch_size_bytes: usize,
    /// The exporter's queue, in otelcol's words: `enabled` and `queue_size` set the runtime's
    /// `sending_queue`; `num_consumers` is how many requests of a batch are in flight.
    pub remote_write_queue: RemoteWriteQueue,
    /// Transport security for an `https://` endpoint: `ca_file`, client certificate for
    /// mutual TLS, `server_name_override`, `min_version`.
    pub tls: ClientTlsConfig,
    /// Credentials from an authenticator extension (`auth: {authenticator: basicauth}`),
    /// added to every request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// Deadline of one request, from connecting to reading the response; on expiry the
    /// export fails as retryable.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub timeout: Duration,
    /// Body compression: remote write 1.0 is always snappy; `snappy` is accepted, anything
    /// else is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// Refused: otelcol's write-ahead log. Use `sending_queue.storage` (a `file_storage`
    /// extension) for a queue that survives restarts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub wal: Option<serde_json::Value>,
    /// Refused: `_created` series are not written.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub export_created_metric: Option<serde_json::Value>,
    /// Only `prometheus.WriteRequest` (remote write 1.0) is accepted; remote write 2.0
    /// (`io.prometheus.write.v2.Request`) is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protobuf_message: Option<String>,
    /// Refused: remote write 2.0 is not written; remove it (1.0 is what is sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub remote_write_version: Option<serde_json::Value>,
    /// Refused: use `remote_write_queue.num_consumers`, which does the same here.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub max_batch_request_parallelism: Option<serde_json::Value>,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        RemoteWriteConfig {
            endpoint: String::new(),
            headers: BTreeMap::new(),
            namespace: String::new(),
            external_labels: BTreeMap::new(),
            resource_to_telemetry_conversion: Switch { enabled: false },
            add_metric_suffixes: true,
            send_metadata: false,
            target_info: Switch { enabled: true },
            max_batch_size_bytes: 3_000_000,
            remote_write_queue: RemoteWriteQueue::default(),
            tls: ClientTlsConfig::default(),
            auth: None,
            timeout: Duration::from_secs(5),
            compression: None,
            wal: None,
            export_created_metric: None,
            protobuf_message: None,
            remote_write_version: None,
            max_batch_request_parallelism: None,
        }
    }
}

/// Printed as its JSON with credentials redacted: `headers` often carry tokens.
impl std::fmt::Debug for RemoteWriteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        weir_core::config::debug_redacted("RemoteWriteConfig", self, f)
    }
}

impl ComponentConfig for RemoteWriteConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        match self.url() {
            Ok(_) => {}
            Err(e) => problems.push(e),
        }
        problems.extend(header_problems(&self.headers, false));
        for name in self.headers.keys() {
            if FIXED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                problems.push(format!(
                    "headers.{name} is set by the exporter itself (remote write 1.0) and cannot be changed"
                ));
            }
        }
        for name in self.external_labels.keys() {
            if !is_valid_label_name(name) {
                problems.push(format!(
                    "external_labels.{name} is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                ));
            }
        }
        if self.max_batch_size_bytes == 0 {
            problems.push("max_batch_size_bytes must be greater than 0".to_string());
        }
        if self.timeout.is_zero() {
            problems.push("timeout must be greater than 0".to_string());
        }
        problems.extend(self.queue_problems());
        problems.extend(self.refused());
        problems.extend(self.tls_problems());
        if let Some(auth) = &self.auth
            && auth.authenticator.trim().is_empty()
        {
            problems.push("auth.authenticator must name an extension".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl RemoteWriteConfig {
    /// The endpoint as an absolute `http://` or `https://` URL.
    pub fn url(&self) -> Result<Uri, String> {
        let text = self.endpoint.trim();
        if text.is_empty() {
            return Err(
                "endpoint is required: the remote write URL, such as http://prometheus:9090/api/v1/write"
                    .to_string(),
            );
        }
        if !text.contains("://") {
            return Err(format!(
                "endpoint `{text}` must be an http:// or https:// URL such as http://prometheus:9090/api/v1/write"
            ));
        }
        let uri: Uri = text
            .parse()
            .map_err(|e| format!("endpoint `{text}` is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http" | "https") if uri.authority().is_some() => Ok(uri),
            Some("http" | "https") => Err(format!("endpoint `{text}` has no host")),
            _ => Err(format!(
                "endpoint `{text}` must be an http:// or https:// URL such as http://prometheus:9090/api/v1/write"
            )),
        }
    }

    /// Whether the endpoint is an `https://` URL.
    pub fn uses_tls(&self) -> bool {
        self.url()
            .is_ok_and(|url| url.scheme_str() == Some("https"))
    }

    /// The namer these settings ask for.
    pub(crate) fn namer(&self) -> Namer {
        Namer::new(&self.namespace, self.add_metric_suffixes)
    }

    fn queue_problems(&self) -> Vec<String> {
        let queue = &self.remote_write_queue;
        let mut problems = Vec::new();
        if queue.queue_size == Some(0) {
            problems.push("remote_write_queue.queue_size must be at least 1".to_string());
        }
        if queue.num_consumers == 0 {
            problems.push("remote_write_queue.num_consumers must be at least 1".to_string());
        }
        problems
    }

    /// otelcol fields Weir does not implement, each refused by name.
    fn refused(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(compression) = &self.compression
            && !compression.eq_ignore_ascii_case("snappy")
        {
            problems.push(format!(
                "compression `{compression}`: remote write 1.0 is snappy-compressed; remove the field or write `snappy`"
            ));
        }
        if self.wal.is_some() {
            problems.push(
                "wal (the write-ahead log) is not implemented; use `sending_queue: {storage: file_storage}` for a queue that survives restarts"
                    .to_string(),
            );
        }
        if self.export_created_metric.is_some() {
            problems.push(
                "export_created_metric (`_created` series) is not implemented; remove the field"
                    .to_string(),
            );
        }
        if let Some(message) = &self.protobuf_message
            && message != "prometheus.WriteRequest"
        {
            problems.push(format!(
                "protobuf_message `{message}`: only remote write 1.0 (`prometheus.WriteRequest`) is implemented"
            ));
        }
        if self.remote_write_version.is_some() {
            problems.push(
                "remote_write_version is refused: only remote write 1.0 is implemented; remove the field"
                    .to_string(),
            );
        }
        if self.max_batch_request_parallelism.is_some() {
            problems.push(
                "max_batch_request_parallelism is not implemented; remote_write_queue.num_consumers sets how many requests of a batch are sent at once"
                    .to_string(),
            );
        }
        problems
    }

    /// TLS settings without an `https://` endpoint would do nothing; with one, the files must
    /// load.
    fn tls_problems(&self) -> Vec<String> {
        if !self.uses_tls() {
            let set = self.tls.tls_settings_present("tls");
            if set.is_empty() {
                return Vec::new();
            }
            return vec![format!(
                "{} set, but endpoint is not an https:// URL; remove {} or use https://",
                set.join(", "),
                if set.len() == 1 { "it" } else { "them" }
            )];
        }
        let shape = self.tls.shape_problems("tls");
        if !shape.is_empty() {
            return shape;
        }
        client_config(&self.tls, "tls", &[])
            .err()
            .map(|e| vec![e.to_string()])
            .unwrap_or_default()
    }
}
