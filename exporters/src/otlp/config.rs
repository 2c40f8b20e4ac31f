//! The `otlp` (gRPC) exporter's configuration, and the client `tls` block it shares with
//! `otlphttp`.

use std::collections::BTreeMap;
use std::time::Duration;

use http::uri::Authority;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde};
use weir_core::net::Compression;

/// Client TLS settings, named as in otelcol. Only plaintext is supported for now: the block is
/// accepted so that otelcol configs parse, and any setting that asks for TLS is refused by
/// validation with a message saying so.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTlsConfig {
    /// `true` sends in plaintext. For `otlp`, leaving it unset means plaintext only with an
    /// `http://` endpoint (otelcol would use TLS for a bare `host:port`, which Weir cannot yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Skip verifying the server's certificate. Refused: TLS is not supported yet.
    pub insecure_skip_verify: bool,
    /// CA certificate file to verify the server with. Refused: TLS is not supported yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Client certificate file for mutual TLS. Refused: TLS is not supported yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// Client key file for mutual TLS. Refused: TLS is not supported yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Server name to verify instead of the endpoint's host. Refused: TLS is not supported yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name_override: Option<String>,
}

/// The message every refused TLS setting carries, so that users know it is not a typo.
pub(crate) const TLS_UNSUPPORTED: &str = "TLS is not supported yet; only plaintext connections are";

impl ClientTlsConfig {
    /// The TLS-only settings that are set, by their YAML names.
    pub(crate) fn tls_settings_present(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        if self.insecure_skip_verify {
            set.push("tls.insecure_skip_verify");
        }
        if self.ca_file.is_some() {
            set.push("tls.ca_file");
        }
        if self.cert_file.is_some() {
            set.push("tls.cert_file");
        }
        if self.key_file.is_some() {
            set.push("tls.key_file");
        }
        if self.server_name_override.is_some() {
            set.push("tls.server_name_override");
        }
        set
    }
}

/// `otlp` exporter: sends OTLP over gRPC to a collector or backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpGrpcConfig {
    /// Server address, `host:port` or `http://host:port` (required).
    pub endpoint: String,
    /// gRPC metadata sent with every export, such as an authorization token.
    pub headers: BTreeMap<String, String>,
    /// Compression of the exported messages: `gzip`, `zstd` or `none`.
    pub compression: Compression,
    /// Deadline of one export call; on expiry the export fails as retryable.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub timeout: Duration,
    /// Transport security; only `insecure: true` (plaintext) is supported for now.
    pub tls: ClientTlsConfig,
}

impl Default for OtlpGrpcConfig {
    fn default() -> Self {
        OtlpGrpcConfig {
            endpoint: String::new(),
            headers: BTreeMap::new(),
            compression: Compression::Gzip,
            timeout: Duration::from_secs(5),
            tls: ClientTlsConfig::default(),
        }
    }
}

impl ComponentConfig for OtlpGrpcConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(e) = self.authority() {
            problems.push(e);
        }
        if self.timeout.is_zero() {
            problems.push("timeout must be greater than 0".to_string());
        }
        problems.extend(header_problems(&self.headers, true));
        if let Err(e) = plaintext_check(&self.endpoint, &self.tls) {
            problems.push(e);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl OtlpGrpcConfig {
    /// `host:port` of the endpoint, with or without its `http://` prefix.
    pub(crate) fn authority(&self) -> Result<Authority, String> {
        let endpoint = self.endpoint.trim();
        if endpoint.is_empty() {
            return Err("endpoint is required (`host:port` or `http://host:port`)".to_string());
        }
        let rest = strip_scheme(endpoint);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(format!(
                "endpoint `{endpoint}` must not have a path: gRPC uses `host:port`"
            ));
        }
        let authority: Authority = rest
            .parse()
            .map_err(|e| format!("endpoint `{endpoint}` is not `host:port`: {e}"))?;
        if authority.port_u16().is_none() {
            return Err(format!(
                "endpoint `{endpoint}` has no port (OTLP/gRPC usually listens on 4317)"
            ));
        }
        Ok(authority)
    }
}

/// `host:port` after any `http://` or `https://` prefix (the https case is refused separately).
fn strip_scheme(endpoint: &str) -> &str {
    endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint)
}

/// Whether this gRPC config lets Weir connect in plaintext. otelcol uses TLS unless
/// `tls.insecure` is true; an explicit `http://` endpoint with `insecure` unset is read as a
/// plaintext request, as OpenTelemetry SDKs read it.
fn plaintext_check(endpoint: &str, tls: &ClientTlsConfig) -> Result<(), String> {
    let mut asked = tls.tls_settings_present();
    let endpoint = endpoint.trim();
    if endpoint.starts_with("https://") {
        asked.push("an https:// endpoint");
    } else if tls.insecure == Some(false) {
        asked.push("tls.insecure: false");
    } else if tls.insecure.is_none() && !endpoint.starts_with("http://") && !endpoint.is_empty() {
        return Err(format!(
            "{TLS_UNSUPPORTED}: a `host:port` endpoint without `tls: {{insecure: true}}` means TLS, as in otelcol; \
             set `tls: {{insecure: true}}` or write the endpoint as `http://{endpoint}`"
        ));
    }
    if asked.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{TLS_UNSUPPORTED} (asked for by {})",
            asked.join(", ")
        ))
    }
}

/// Problems with configured header names and values. gRPC metadata keys ending in `-bin`
/// carry base64 binary values, which a YAML string map cannot express, so they are refused.
pub(crate) fn header_problems(headers: &BTreeMap<String, String>, grpc: bool) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, value) in headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(format!("headers: `{name}` is not a valid header name"));
        } else if grpc && name.to_ascii_lowercase().ends_with("-bin") {
            problems.push(format!(
                "headers: binary metadata `{name}` is not supported"
            ));
        }
        if http::HeaderValue::from_str(value).is_err() {
            problems.push(format!(
                "headers: the value of `{name}` is not a valid header value"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> OtlpGrpcConfig {
        serde_json::from_value(json).expect("config parses")
    }

    #[test]
    fn defaults_match_otelcol() {
        let config =
            parse(serde_json::json!({"endpoint": "collector:4317", "tls": {"insecure": true}}));
        assert_eq!(config.compression, Compression::Gzip);
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert!(config.headers.is_empty());
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(
            config.authority().map(|a| a.to_string()),
            Ok("collector:4317".to_string())
        );
    }

    #[test]
    fn http_scheme_means_plaintext() {
        let config = parse(
            serde_json::json!({"endpoint": "http://127.0.0.1:4317", "compression": "none", "timeout": "250ms"}),
        );
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(
            config.authority().map(|a| a.to_string()),
            Ok("127.0.0.1:4317".to_string())
        );
        assert_eq!(config.compression, Compression::None);
        assert_eq!(config.timeout, Duration::from_millis(250));
    }

    #[test]
    fn tls_requests_are_refused_with_the_reason() {
        for json in [
            serde_json::json!({"endpoint": "collector:4317"}),
            serde_json::json!({"endpoint": "https://collector:4317"}),
            serde_json::json!({"endpoint": "http://collector:4317", "tls": {"insecure": false}}),
            serde_json::json!({"endpoint": "collector:4317", "tls": {"insecure": true, "ca_file": "/ca.pem"}}),
        ] {
            let problems = parse(json.clone())
                .validate()
                .expect_err("TLS must be refused");
            assert_eq!(problems.len(), 1, "{json}: {problems:?}");
            assert!(
                problems[0].contains(TLS_UNSUPPORTED),
                "{json}: {problems:?}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let config = parse(serde_json::json!({
            "endpoint": "collector",
            "timeout": "0s",
            "headers": {"bad header": "x", "trace-bin": "AAA="},
            "tls": {"insecure": true},
        }));
        let problems = config.validate().expect_err("invalid");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("has no port"), "{problems:?}");
        assert!(problems[1].contains("timeout"), "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`bad header` is not a valid header name"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("binary metadata `trace-bin`"))
        );
    }

    #[test]
    fn missing_endpoint_and_paths_are_refused() {
        let problems = OtlpGrpcConfig::default()
            .validate()
            .expect_err("endpoint required");
        assert!(problems[0].contains("endpoint is required"), "{problems:?}");
        let config = parse(serde_json::json!({"endpoint": "http://c:4317/v1/traces"}));
        assert!(config.validate().expect_err("path")[0].contains("must not have a path"));
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = serde_json::from_value::<OtlpGrpcConfig>(
            serde_json::json!({"endpoint": "c:1", "compresion": "gzip"}),
        )
        .expect_err("typo");
        assert!(
            err.to_string().contains("unknown field `compresion`"),
            "{err}"
        );
        let err =
            serde_json::from_value::<OtlpGrpcConfig>(serde_json::json!({"compression": "snappy"}))
                .expect_err("codec");
        assert!(err.to_string().contains("snappy"), "{err}");
    }
}
