//! Configuration of the `prometheus` receiver: otelcol-contrib's shape, with `config:` holding
//! a Prometheus configuration in Prometheus's own syntax (`global`, `scrape_configs`).
//! Fields Prometheus has and Weir does not build (other service discoveries, OAuth2, proxies,
//! rules) are refused by name rather than accepted and ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::{ComponentConfig, FieldError};
use weir_prom::relabel::{self, RelabelConfig};

use super::units::{PromDuration, PromSize};

/// Scrapes Prometheus targets as Prometheus does, from a Prometheus configuration under
/// `config:`, and turns each scrape into OTLP metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusReceiverConfig {
    /// A Prometheus configuration: `global` and `scrape_configs`, as in `prometheus.yml`.
    /// Write `$$` for a literal `$` (in `replacement: $$1`), as otelcol requires.
    pub config: PromConfig,
    /// Also report `scrape_body_size_bytes`, `scrape_sample_limit` and
    /// `scrape_timeout_seconds` for every target, as Prometheus's `extra-scrape-metrics`.
    pub report_extra_scrape_metrics: bool,
    /// otelcol's option to cut `_total` and unit suffixes from names; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trim_metric_suffixes: Option<bool>,
    /// otelcol's option to take start times from `process_start_time_seconds`; refused (not
    /// built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_start_time_metric: Option<bool>,
    /// Goes with `use_start_time_metric`; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time_metric_regex: Option<String>,
    /// otelcol's target allocator client; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub target_allocator: Option<serde_json::Value>,
    /// otelcol's Prometheus-API server; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub api_server: Option<serde_json::Value>,
}

/// The Prometheus configuration under `config:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PromConfig {
    /// Defaults for every scrape config.
    pub global: GlobalConfig,
    /// The scrape jobs.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Prometheus's included scrape-config files; refused (not built): list the jobs here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_config_files: Option<Vec<String>>,
    /// Recording and alerting rules; refused: the receiver only scrapes (as in otelcol).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_files: Option<Vec<String>>,
    /// Prometheus's own alerting, remote write and remote read; refused: use exporters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub alerting: Option<serde_json::Value>,
    /// Refused: use the `prometheusremotewrite` exporter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<BTreeMap<String, String>>>")]
    pub remote_write: Option<serde_json::Value>,
    /// Refused: the receiver does not read from Prometheus.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<BTreeMap<String, String>>>")]
    pub remote_read: Option<serde_json::Value>,
}

/// `global`: what every scrape config takes unless it says otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// How often targets are scraped. Default `1m`.
    pub scrape_interval: PromDuration,
    /// How long a scrape may take. Default `10s`; never more than the interval.
    pub scrape_timeout: PromDuration,
    /// Rule evaluation interval: taken so `prometheus.yml` files load, without effect (there
    /// are no rules to evaluate, as in otelcol).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_interval: Option<PromDuration>,
    /// Labels added to every scraped series that does not have them.
    pub external_labels: BTreeMap<String, String>,
    /// The formats offered in `Accept`, in order of preference: `OpenMetricsText1.0.0`,
    /// `OpenMetricsText0.0.1`, `PrometheusText0.0.4`. Default all three, in that order.
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// Default `body_size_limit` of every scrape config.
    pub body_size_limit: PromSize,
    /// Default `sample_limit`.
    pub sample_limit: u64,
    /// Default `label_limit`.
    pub label_limit: u64,
    /// Default `label_name_length_limit`.
    pub label_name_length_limit: u64,
    /// Default `label_value_length_limit`.
    pub label_value_length_limit: u64,
    /// Default `target_limit`.
    pub target_limit: u64,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: PromDuration(Duration::from_secs(60)),
            scrape_timeout: PromDuration(Duration::from_secs(10)),
            evaluation_interval: None,
            external_labels: BTreeMap::new(),
            scrape_protocols: ScrapeProtocol::DEFAULT.to_vec(),
            body_size_limit: PromSize(0),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            target_limit: 0,
        }
    }
}

/// An exposition format a target may answer in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScrapeProtocol {
    /// OpenMetrics 1.0.0 text.
    #[serde(rename = "OpenMetricsText1.0.0")]
    OpenMetrics1,
    /// OpenMetrics 0.0.1 text.
    #[serde(rename = "OpenMetricsText0.0.1")]
    OpenMetrics0,
    /// The Prometheus text format 0.0.4.
    #[serde(rename = "PrometheusText0.0.4")]
    Text,
}

impl ScrapeProtocol {
    pub(crate) const DEFAULT: [ScrapeProtocol; 3] = [
        ScrapeProtocol::OpenMetrics1,
        ScrapeProtocol::OpenMetrics0,
        ScrapeProtocol::Text,
    ];

    pub(crate) fn media_type(self) -> &'static str {
        match self {
            ScrapeProtocol::OpenMetrics1 => "application/openmetrics-text;version=1.0.0",
            ScrapeProtocol::OpenMetrics0 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::Text => "text/plain;version=0.0.4",
        }
    }
}

/// One `scrape_configs` entry. Unknown fields land in `unsupported` (serde cannot deny them
/// beside a flattened map) and are refused by `jobs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ScrapeConfig {
    /// The job: every target's `job` label (unless relabelling sets it). Required, unique.
    pub job_name: String,
    /// How often; default `global.scrape_interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<PromDuration>,
    /// How long a scrape may take; default `global.scrape_timeout`, cut to the interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<PromDuration>,
    /// Formats offered in `Accept`, in order; default `global.scrape_protocols`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Path of the metrics on each target. Default `/metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_path: Option<String>,
    /// `http` (default) or `https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// URL query parameters sent with every scrape.
    pub params: BTreeMap<String, Vec<String>>,
    /// On a clash between a scraped label and a target label (`job`, `instance`, static
    /// labels), keep the scraped one; by default the scraped one is renamed `exported_<name>`.
    pub honor_labels: bool,
    /// Use the timestamps the target writes (default true); `false` stamps every sample with
    /// the scrape's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub honor_timestamps: Option<bool>,
    /// Also mark series with explicit timestamps stale when they disappear.
    pub track_timestamps_staleness: bool,
    /// Ask for gzip (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_compression: Option<bool>,
    /// Follow HTTP redirects, up to 10 (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    /// More samples than this in one scrape fails the scrape (`up` 0). 0 (default
    /// `global.sample_limit`) is no limit. Counted after `metric_relabel_configs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_limit: Option<u64>,
    /// A larger (uncompressed) body fails the scrape. 0 is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_size_limit: Option<PromSize>,
    /// More labels than this on one sample fails the scrape. 0 is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_limit: Option<u64>,
    /// A longer label name fails the scrape. 0 is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_name_length_limit: Option<u64>,
    /// A longer label value fails the scrape. 0 is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_value_length_limit: Option<u64>,
    /// More targets than this after relabelling: none of the job's targets is scraped (each
    /// reports `up` 0). 0 is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_limit: Option<u64>,
    /// Username and password sent with every scrape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// An `Authorization` header sent with every scrape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// A bearer token (Prometheus 2's field; `authorization` is the newer spelling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<weir_core::config::Secret>,
    /// A file holding the bearer token, read at every scrape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<String>,
    /// TLS for `https` targets.
    pub tls_config: TlsConfig,
    /// Targets listed here.
    pub static_configs: Vec<StaticConfig>,
    /// Targets listed in JSON or YAML files, reread when they change.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Relabelling of discovered targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabelling of every scraped sample, before it is counted against `sample_limit`.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Fields Prometheus has and Weir refuses (other discoveries, OAuth2, proxies, native
    /// histograms), kept to name them in the error.
    #[serde(flatten, skip_serializing)]
    #[schemars(skip)]
    pub unsupported: BTreeMap<String, serde_json::Value>,
}

/// Scrape-config fields of Prometheus that are not built; anything else unknown is a typo.
const UNSUPPORTED: &[&str] = &[
    "azure_sd_configs",
    "consul_sd_configs",
    "digitalocean_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "dns_sd_configs",
    "ec2_sd_configs",
    "eureka_sd_configs",
    "gce_sd_configs",
    "hetzner_sd_configs",
    "http_sd_configs",
    "ionos_sd_configs",
    "kubernetes_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "openstack_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
    "oauth2",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "enable_http2",
    "native_histogram_bucket_limit",
    "native_histogram_min_bucket_factor",
    "scrape_classic_histograms",
    "always_scrape_classic_histograms",
    "convert_classic_histograms_to_nhcb",
    "keep_dropped_targets",
    "metric_name_validation_scheme",
    "metric_name_escaping_scheme",
    "scrape_failure_log_file",
];

/// The fields of [`ScrapeConfig`], for "did you mean" (a test keeps it equal to the schema's).
pub(crate) const SCRAPE_CONFIG_FIELDS: &[&str] = &[
    "job_name",
    "scrape_interval",
    "scrape_timeout",
    "scrape_protocols",
    "metrics_path",
    "scheme",
    "params",
    "honor_labels",
    "honor_timestamps",
    "track_timestamps_staleness",
    "enable_compression",
    "follow_redirects",
    "sample_limit",
    "body_size_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
    "target_limit",
    "basic_auth",
    "authorization",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "static_configs",
    "file_sd_configs",
    "relabel_configs",
    "metric_relabel_configs",
];

/// `relabel_configs[0].regex` as path keys.
fn relabel_path(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            if open > 0 {
                keys.push(rest[..open].to_string());
            }
            let close = rest[open..].find(']').map_or(rest.len(), |c| open + c);
            keys.push(rest[open + 1..close].to_string());
            rest = rest.get(close + 1..).unwrap_or("");
        }
        if !rest.is_empty() {
            keys.push(rest.to_string());
        }
    }
    keys
}

/// `basic_auth`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuth {
    /// The username.
    pub username: String,
    /// A file holding the username, instead of `username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_file: Option<String>,
    /// The password; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<weir_core::config::Secret>,
    /// A file holding the password, read at every scrape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// `authorization`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Authorization {
    /// The scheme written before the credentials. Default `Bearer`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The credentials; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<weir_core::config::Secret>,
    /// A file holding the credentials, read at every scrape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
}

/// `tls_config`, in Prometheus's names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file of the CAs that sign targets' certificates (default: the system's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The CAs as PEM text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// Client certificate (PEM file) for targets that require mutual TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// The client certificate as PEM text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// The client certificate's key (PEM file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The key as PEM text; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<weir_core::config::Secret>,
    /// Name to verify targets' certificates against, instead of the address's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Accept any certificate (for tests only).
    pub insecure_skip_verify: bool,
    /// Oldest TLS version: `TLS12` (default) or `TLS13`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<PromTlsVersion>,
    /// Newest TLS version: `TLS12` or `TLS13` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version: Option<PromTlsVersion>,
}

/// A TLS version as Prometheus spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PromTlsVersion {
    /// TLS 1.2.
    #[serde(rename = "TLS12")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS13")]
    Tls13,
}

/// `static_configs` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StaticConfig {
    /// `host:port` of each target.
    pub targets: Vec<String>,
    /// Labels every target of this group gets.
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FileSdConfig {
    /// Files of target groups (`.json`, `.yml`, `.yaml`); the last path element may be a
    /// glob (`targets/*.json`).
    pub files: Vec<String>,
    /// How often the files are reread even when no change was seen. Default `5m`; changes
    /// are seen within a second.
    pub refresh_interval: PromDuration,
}

impl Default for FileSdConfig {
    fn default() -> Self {
        FileSdConfig {
            files: Vec::new(),
            refresh_interval: PromDuration(Duration::from_secs(300)),
        }
    }
}

/// A scrape config with every default applied.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub name: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub protocols: Vec<ScrapeProtocol>,
    pub metrics_path: String,
    pub scheme: String,
    pub params: BTreeMap<String, Vec<String>>,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub compression: bool,
    pub follow_redirects: bool,
    pub limits: Limits,
    pub target_limit: u64,
    pub external_labels: Vec<(String, String)>,
    pub relabel: Vec<relabel::Rule>,
    pub metric_relabel: Vec<relabel::Rule>,
    pub config: ScrapeConfig,
}

/// What fails a scrape; 0 is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    pub samples: u64,
    pub body_bytes: u64,
    pub labels: u64,
    pub label_name_length: u64,
    pub label_value_length: u64,
}

fn field(path: &[&str], message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.iter().map(|s| s.to_string()).collect(),
        message: message.into(),
        expected: Vec::new(),
    }
}

impl PrometheusReceiverConfig {
    /// Every scrape config with the defaults applied and relabelling compiled, or every
    /// problem found, each at its field.
    pub(crate) fn jobs(&self) -> Result<Vec<Job>, Vec<FieldError>> {
        let mut problems = Vec::new();
        let refused: [(&str, bool); 5] = [
            (
                "trim_metric_suffixes",
                self.trim_metric_suffixes == Some(true),
            ),
            (
                "use_start_time_metric",
                self.use_start_time_metric == Some(true),
            ),
            (
                "start_time_metric_regex",
                self.start_time_metric_regex.is_some(),
            ),
            ("target_allocator", self.target_allocator.is_some()),
            ("api_server", self.api_server.is_some()),
        ];
        for (name, set) in refused {
            if set {
                problems.push(field(
                    &[name],
                    format!("`{name}` is not supported by Weir's prometheus receiver"),
                ));
            }
        }
        let prom = &self.config;
        let top: [(&str, bool, &str); 5] = [
            (
                "scrape_config_files",
                prom.scrape_config_files.is_some(),
                "list the scrape configs under `scrape_configs`",
            ),
            (
                "rule_files",
                prom.rule_files.is_some(),
                "the receiver only scrapes; it evaluates no rules",
            ),
            (
                "alerting",
                prom.alerting.is_some(),
                "the receiver only scrapes; it sends no alerts",
            ),
            (
                "remote_write",
                prom.remote_write.is_some(),
                "use the `prometheusremotewrite` exporter",
            ),
            (
                "remote_read",
                prom.remote_read.is_some(),
                "the receiver only scrapes",
            ),
        ];
        for (name, set, hint) in top {
            if set {
                problems.push(field(
                    &["config", name],
                    format!("`{name}` is not supported: {hint}"),
                ));
            }
        }
        let global = &prom.global;
        if global.scrape_interval.0.is_zero() {
            problems.push(field(
                &["config", "global", "scrape_interval"],
                "must be more than 0s",
            ));
        }
        if global.scrape_timeout.0 > global.scrape_interval.0 {
            problems.push(field(
                &["config", "global", "scrape_timeout"],
                format!(
                    "{} is longer than scrape_interval ({})",
                    global.scrape_timeout, global.scrape_interval
                ),
            ));
        }
        for name in global.external_labels.keys() {
            if !relabel::is_valid_label_name(name) {
                problems.push(field(
                    &["config", "global", "external_labels", name],
                    format!("`{name}` is not a valid label name"),
                ));
            }
        }
        let mut jobs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, sc) in prom.scrape_configs.iter().enumerate() {
            let index = i.to_string();
            let at = |rest: &[&str]| {
                let mut path = vec!["config", "scrape_configs", index.as_str()];
                path.extend_from_slice(rest);
                path.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            };
            let problem = |rest: &[&str], message: String| FieldError {
                path: at(rest),
                message,
                expected: Vec::new(),
            };
            for name in sc.unsupported.keys() {
                if UNSUPPORTED.contains(&name.as_str()) {
                    problems.push(problem(&[name], format!("`{name}` is not supported by Weir's prometheus receiver (static_configs and file_sd_configs are)")));
                } else {
                    problems.push(FieldError {
                        path: at(&[name]),
                        message: format!("unknown field `{name}`"),
                        expected: SCRAPE_CONFIG_FIELDS.iter().map(|s| s.to_string()).collect(),
                    });
                }
            }
            if sc.job_name.is_empty() {
                problems.push(problem(
                    &["job_name"],
                    "every scrape config needs a `job_name`".to_string(),
                ));
            } else if !seen.insert(sc.job_name.clone()) {
                problems.push(problem(
                    &["job_name"],
                    format!("job `{}` is defined twice", sc.job_name),
                ));
            }
            let interval = sc.scrape_interval.unwrap_or(global.scrape_interval).0;
            let mut timeout = sc.scrape_timeout.unwrap_or(global.scrape_timeout).0;
            if interval.is_zero() {
                problems.push(problem(
                    &["scrape_interval"],
                    "must be more than 0s".to_string(),
                ));
            }
            if sc.scrape_timeout.is_some() && timeout > interval {
                problems.push(problem(
                    &["scrape_timeout"],
                    format!(
                        "{} is longer than scrape_interval ({})",
                        PromDuration(timeout),
                        PromDuration(interval)
                    ),
                ));
            }
            // As Prometheus: an inherited timeout longer than the job's interval is cut to it.
            timeout = timeout.min(interval);
            let scheme = sc.scheme.clone().unwrap_or_else(|| "http".to_string());
            if scheme != "http" && scheme != "https" {
                problems.push(problem(
                    &["scheme"],
                    format!("`{scheme}` is not a scheme: http or https"),
                ));
            }
            let metrics_path = sc
                .metrics_path
                .clone()
                .unwrap_or_else(|| "/metrics".to_string());
            if !metrics_path.starts_with('/') {
                problems.push(problem(
                    &["metrics_path"],
                    format!("`{metrics_path}` must start with /"),
                ));
            }
            let protocols = sc
                .scrape_protocols
                .clone()
                .unwrap_or_else(|| global.scrape_protocols.clone());
            if protocols.is_empty() {
                problems.push(problem(
                    &["scrape_protocols"],
                    "needs at least one protocol".to_string(),
                ));
            }
            if let Some(auth) = &sc.basic_auth {
                if auth.password.is_some() && auth.password_file.is_some() {
                    problems.push(problem(
                        &["basic_auth"],
                        "give `password` or `password_file`, not both".to_string(),
                    ));
                }
                if !auth.username.is_empty() && auth.username_file.is_some() {
                    problems.push(problem(
                        &["basic_auth"],
                        "give `username` or `username_file`, not both".to_string(),
                    ));
                }
            }
            let header_auths = [
                sc.basic_auth.is_some(),
                sc.authorization.is_some(),
                sc.bearer_token.is_some() || sc.bearer_token_file.is_some(),
            ];
            if header_auths.iter().filter(|x| **x).count() > 1 {
                problems.push(problem(&[], "give one of `basic_auth`, `authorization` and `bearer_token`/`bearer_token_file`".to_string()));
            }
            if sc.bearer_token.is_some() && sc.bearer_token_file.is_some() {
                problems.push(problem(
                    &["bearer_token_file"],
                    "give `bearer_token` or `bearer_token_file`, not both".to_string(),
                ));
            }
            if let Some(auth) = &sc.authorization {
                if auth.credentials.is_some() && auth.credentials_file.is_some() {
                    problems.push(problem(
                        &["authorization"],
                        "give `credentials` or `credentials_file`, not both".to_string(),
                    ));
                }
                if auth
                    .kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("basic"))
                {
                    problems.push(problem(
                        &["authorization", "type"],
                        "`Basic` authorization is written as `basic_auth`".to_string(),
                    ));
                }
            }
            let tls = &sc.tls_config;
            if tls.ca.is_some() && tls.ca_file.is_some() {
                problems.push(problem(
                    &["tls_config"],
                    "give `ca` or `ca_file`, not both".to_string(),
                ));
            }
            if (tls.cert.is_some() || tls.cert_file.is_some())
                != (tls.key.is_some() || tls.key_file.is_some())
            {
                problems.push(problem(
                    &["tls_config"],
                    "a client certificate needs its key, and a key its certificate".to_string(),
                ));
            }
            for (g, group) in sc.static_configs.iter().enumerate() {
                let g = g.to_string();
                for (t, target) in group.targets.iter().enumerate() {
                    if target.is_empty() || target.contains('/') {
                        problems.push(problem(
                            &["static_configs", &g, "targets", &t.to_string()],
                            format!("`{target}` is not host:port"),
                        ));
                    }
                }
                for name in group.labels.keys() {
                    if !relabel::is_valid_label_name(name) {
                        problems.push(problem(
                            &["static_configs", &g, "labels", name],
                            format!("`{name}` is not a valid label name"),
                        ));
                    }
                }
            }
            for (f, sd) in sc.file_sd_configs.iter().enumerate() {
                let f = f.to_string();
                if sd.files.is_empty() {
                    problems.push(problem(
                        &["file_sd_configs", &f, "files"],
                        "needs at least one file".to_string(),
                    ));
                }
                for (n, path) in sd.files.iter().enumerate() {
                    if !super::discovery::is_sd_file_name(path) {
                        problems.push(problem(
                            &["file_sd_configs", &f, "files", &n.to_string()],
                            format!("`{path}`: file_sd files end in .json, .yml or .yaml"),
                        ));
                    }
                }
                if sd.refresh_interval.0.is_zero() {
                    problems.push(problem(
                        &["file_sd_configs", &f, "refresh_interval"],
                        "must be more than 0s".to_string(),
                    ));
                }
            }
            let rel = relabel::compile(&sc.relabel_configs, "relabel_configs");
            let metric_rel = relabel::compile(&sc.metric_relabel_configs, "metric_relabel_configs");
            for errors in [rel.as_ref().err(), metric_rel.as_ref().err()]
                .into_iter()
                .flatten()
            {
                for e in errors {
                    let mut path = at(&[]);
                    path.extend(relabel_path(&e.path));
                    problems.push(FieldError {
                        path,
                        message: e.message.clone(),
                        expected: Vec::new(),
                    });
                }
            }
            let limit = |own: Option<u64>, global: u64| own.unwrap_or(global);
            if let (Ok(relabel), Ok(metric_relabel)) = (rel, metric_rel) {
                jobs.push(Job {
                    name: sc.job_name.clone(),
                    interval,
                    timeout,
                    protocols,
                    metrics_path,
                    scheme,
                    params: sc.params.clone(),
                    honor_labels: sc.honor_labels,
                    honor_timestamps: sc.honor_timestamps.unwrap_or(true),
                    track_timestamps_staleness: sc.track_timestamps_staleness,
                    compression: sc.enable_compression.unwrap_or(true),
                    follow_redirects: sc.follow_redirects.unwrap_or(true),
                    limits: Limits {
                        samples: limit(sc.sample_limit, global.sample_limit),
                        body_bytes: sc.body_size_limit.unwrap_or(global.body_size_limit).0,
                        labels: limit(sc.label_limit, global.label_limit),
                        label_name_length: limit(
                            sc.label_name_length_limit,
                            global.label_name_length_limit,
                        ),
                        label_value_length: limit(
                            sc.label_value_length_limit,
                            global.label_value_length_limit,
                        ),
                    },
                    target_limit: limit(sc.target_limit, global.target_limit),
                    external_labels: global
                        .external_labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    relabel,
                    metric_relabel,
                    config: sc.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(jobs)
        } else {
            Err(problems)
        }
    }
}

impl ComponentConfig for PrometheusReceiverConfig {
    fn validate_fields(&self) -> Result<(), Vec<FieldError>> {
        self.jobs().map(|_| ())
    }
}
