//! The `otlphttp` exporter's configuration and how it turns into one URL per signal.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Uri;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::batch::Signal;
use weir_core::component::{AuthConfig, ComponentConfig};
use weir_core::exporter::{DurationString, humantime_serde};
use weir_core::net::Compression;
use weir_core::net::tls::client_config;

use crate::otlp::{ClientTlsConfig, header_problems};

/// How request bodies are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Binary protobuf (`application/x-protobuf`); encoded batches are sent without re-encoding.
    #[default]
    Proto,
    /// OTLP/JSON (`application/json`).
    Json,
}

impl Encoding {
    /// The `Content-Type` of a request body.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Proto => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// `otlphttp` exporter: sends OTLP over HTTP to a collector or backend.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpHttpConfig {
    /// Base URL such as `https://collector:4318` (TLS) or `http://collector:4318`;
    /// `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended for each signal. Required unless
    /// every signal used has its own URL below.
    pub endpoint: String,
    /// Full URL for traces, used as is instead of `endpoint` + `/v1/traces`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces_endpoint: Option<String>,
    /// Full URL for metrics, used as is instead of `endpoint` + `/v1/metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_endpoint: Option<String>,
    /// Full URL for logs, used as is instead of `endpoint` + `/v1/logs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_endpoint: Option<String>,
    /// Body encoding: `proto` or `json`.
    pub encoding: Encoding,
    /// Body compression (`Content-Encoding`): `gzip`, `zstd` or `none`.
    pub compression: Compression,
    /// HTTP headers sent with every request, such as an authorization token.
    pub headers: BTreeMap<String, String>,
    /// Deadline of one request, from connecting to reading the response; on expiry the export
    /// fails as retryable.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub timeout: Duration,
    /// Transport security for `https://` URLs (the scheme decides, as otelcol): `ca_file`,
    /// client certificate for mutual TLS, `server_name_override`, `min_version`.
    pub tls: ClientTlsConfig,
    /// Credentials from an authenticator extension (`auth: {authenticator: basicauth}`), added
    /// to every request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

impl Default for OtlpHttpConfig {
    fn default() -> Self {
        OtlpHttpConfig {
            endpoint: String::new(),
            traces_endpoint: None,
            metrics_endpoint: None,
            logs_endpoint: None,
            encoding: Encoding::Proto,
            compression: Compression::Gzip,
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            tls: ClientTlsConfig::default(),
            auth: None,
        }
    }
}

/// Printed as its JSON with credentials redacted: `headers` often carry tokens.
impl std::fmt::Debug for OtlpHttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        weir_core::config::debug_redacted("OtlpHttpConfig", self, f)
    }
}

impl ComponentConfig for OtlpHttpConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let overrides = [
            &self.traces_endpoint,
            &self.metrics_endpoint,
            &self.logs_endpoint,
        ];
        if self.endpoint.trim().is_empty() && overrides.iter().all(|o| o.is_none()) {
            problems.push(
                "endpoint is required (or traces_endpoint / metrics_endpoint / logs_endpoint)"
                    .to_string(),
            );
        }
        if !self.endpoint.trim().is_empty()
            && let Err(e) = parse_url("endpoint", &self.endpoint)
        {
            problems.push(e);
        }
        for signal in Signal::ALL {
            if let Some(url) = self.signal_override(signal)
                && let Err(e) = parse_url(&format!("{signal}_endpoint"), url)
            {
                problems.push(e);
            }
        }
        if self.timeout.is_zero() {
            problems.push("timeout must be greater than 0".to_string());
        }
        problems.extend(header_problems(&self.headers, false));
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

impl OtlpHttpConfig {
    /// Whether any signal is sent to an `https://` URL.
    pub fn uses_tls(&self) -> bool {
        Signal::ALL
            .iter()
            .filter_map(|s| self.signal_url(*s))
            .any(|url| url.scheme_str() == Some("https"))
    }

    /// TLS settings without an `https://` URL would do nothing; with one, the files must load.
    fn tls_problems(&self) -> Vec<String> {
        if !self.uses_tls() {
            let set = self.tls.tls_settings_present("tls");
            return if set.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "{} set, but no endpoint is an https:// URL; remove {} or use https://",
                    set.join(", "),
                    if set.len() == 1 { "it" } else { "them" }
                )]
            };
        }
        let shape = self.tls.shape_problems("tls");
        if !shape.is_empty() {
            return shape;
        }
        match client_config(&self.tls, "tls", &[]) {
            Ok(_) => Vec::new(),
            Err(e) => vec![e.to_string()],
        }
    }

    fn signal_override(&self, signal: Signal) -> Option<&String> {
        match signal {
            Signal::Traces => self.traces_endpoint.as_ref(),
            Signal::Metrics => self.metrics_endpoint.as_ref(),
            Signal::Logs => self.logs_endpoint.as_ref(),
        }
    }

    /// Where `signal` is sent: its own URL if given, else `endpoint` + `/v1/<signal>`; `None`
    /// when neither is configured (or valid, which validation has already reported).
    pub fn signal_url(&self, signal: Signal) -> Option<Uri> {
        if let Some(url) = self.signal_override(signal) {
            return parse_url("", url).ok();
        }
        let base = self.endpoint.trim();
        if base.is_empty() {
            return None;
        }
        let separator = if base.ends_with('/') { "" } else { "/" };
        parse_url("", &format!("{base}{separator}v1/{signal}")).ok()
    }
}

/// An absolute `http://` or `https://` URL.
fn parse_url(field: &str, text: &str) -> Result<Uri, String> {
    let uri: Uri = text
        .trim()
        .parse()
        .map_err(|e| format!("{field} `{text}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "{field} `{text}`: unsupported scheme `{other}` (use https:// or http://)"
            ));
        }
        None => {
            return Err(format!(
                "{field} `{text}` must be an absolute URL such as http://collector:4318"
            ));
        }
    }
    if uri.authority().is_none() {
        return Err(format!("{field} `{text}` has no host"));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> OtlpHttpConfig {
        serde_json::from_value(json).expect("config parses")
    }

    #[test]
    fn defaults_match_otelcol() {
        let config = parse(serde_json::json!({"endpoint": "http://collector:4318"}));
        assert_eq!(config.encoding, Encoding::Proto);
        assert_eq!(config.compression, Compression::Gzip);
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn signal_paths_are_appended_to_the_base_url() {
        let config = parse(serde_json::json!({"endpoint": "http://collector:4318"}));
        assert_eq!(
            config.signal_url(Signal::Traces).map(|u| u.to_string()),
            Some("http://collector:4318/v1/traces".into())
        );
        let config = parse(serde_json::json!({"endpoint": "http://gw/otlp/"}));
        assert_eq!(
            config.signal_url(Signal::Logs).map(|u| u.to_string()),
            Some("http://gw/otlp/v1/logs".into())
        );
        let config = parse(serde_json::json!({"endpoint": "http://gw/otlp"}));
        assert_eq!(
            config.signal_url(Signal::Metrics).map(|u| u.to_string()),
            Some("http://gw/otlp/v1/metrics".into())
        );
    }

    #[test]
    fn per_signal_urls_override_the_base() {
        let config = parse(serde_json::json!({
            "endpoint": "http://collector:4318",
            "metrics_endpoint": "http://metrics:9000/ingest",
        }));
        assert_eq!(
            config.signal_url(Signal::Metrics).map(|u| u.to_string()),
            Some("http://metrics:9000/ingest".into())
        );
        assert_eq!(
            config.signal_url(Signal::Logs).map(|u| u.to_string()),
            Some("http://collector:4318/v1/logs".into())
        );

        let only_logs = parse(serde_json::json!({"logs_endpoint": "http://logs:1/l"}));
        assert_eq!(only_logs.validate(), Ok(()));
        assert_eq!(only_logs.signal_url(Signal::Traces), None);
    }

    #[test]
    fn invalid_urls_tls_and_headers_are_all_reported() {
        let config = parse(serde_json::json!({
            "endpoint": "collector:4318",
            "traces_endpoint": "https://secure:4318/v1/traces",
            "metrics_endpoint": "http://",
            "logs_endpoint": "ftp://x/y",
            "headers": {"ok": "line\nbreak"},
            "tls": {"ca_file": "/ca.pem"},
            "timeout": "0s",
        }));
        let problems = config.validate().expect_err("invalid");
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(
            problems[0].contains("endpoint `collector:4318`"),
            "{problems:?}"
        );
        assert!(problems[1].contains("metrics_endpoint"), "{problems:?}");
        assert!(
            problems[2].contains("unsupported scheme `ftp`"),
            "{problems:?}"
        );
        assert!(problems[3].contains("timeout"), "{problems:?}");
        assert!(problems[4].contains("value of `ok`"), "{problems:?}");
        assert_eq!(problems[5], "tls.ca_file `/ca.pem`: file not found");
    }

    #[test]
    fn tls_settings_without_an_https_url_are_refused() {
        let config = parse(serde_json::json!({
            "endpoint": "http://collector:4318",
            "tls": {"insecure_skip_verify": true},
        }));
        let problems = config.validate().expect_err("no https");
        assert_eq!(
            problems,
            [
                "tls.insecure_skip_verify set, but no endpoint is an https:// URL; remove it or use https://"
            ]
        );
        let config = parse(serde_json::json!({
            "endpoint": "https://collector:4318",
            "tls": {"insecure_skip_verify": true},
        }));
        assert_eq!(config.validate(), Ok(()));
        assert!(config.uses_tls());
    }

    #[test]
    fn an_endpoint_is_required() {
        let problems = OtlpHttpConfig::default()
            .validate()
            .expect_err("no endpoint");
        assert!(problems[0].contains("endpoint is required"), "{problems:?}");
        let err = serde_json::from_value::<OtlpHttpConfig>(serde_json::json!({"encoding": "xml"}))
            .expect_err("xml");
        assert!(err.to_string().contains("unknown variant `xml`"), "{err}");
    }

    #[test]
    fn insecure_is_accepted_for_otelcol_configs() {
        let config = parse(
            serde_json::json!({"endpoint": "http://c:4318", "tls": {"insecure": true}, "encoding": "json"}),
        );
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.encoding.content_type(), "application/json");
    }
}
