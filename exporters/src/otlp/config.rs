//! The `otlp` (gRPC) exporter's configuration, and the client `tls` block it shares with
//! `otlphttp`.

use std::collections::BTreeMap;
use std::time::Duration;

use http::uri::Authority;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::{AuthConfig, ComponentConfig};
use weir_core::exporter::{DurationString, humantime_serde};
use weir_core::net::Compression;
use weir_core::net::tls::{ClientTlsConfig, client_config};

/// `otlp` exporter: sends OTLP over gRPC to a collector or backend.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpGrpcConfig {
    /// Server address (required): `host:port` or `https://host:port` for TLS,
    /// `http://host:port` for plaintext (or `tls: {insecure: true}`).
    pub endpoint: String,
    /// gRPC metadata sent with every export, such as an authorization token.
    pub headers: BTreeMap<String, String>,
    /// Compression of the exported messages: `gzip`, `zstd` or `none`.
    pub compression: Compression,
    /// Deadline of one export call; on expiry the export fails as retryable.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub timeout: Duration,
    /// Transport security: TLS unless `insecure: true` or an `http://` endpoint; `ca_file`,
    /// client certificate for mutual TLS, `server_name_override`, `min_version`.
    pub tls: ClientTlsConfig,
    /// Credentials from an authenticator extension (`auth: {authenticator: bearertokenauth}`),
    /// added to every export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

impl Default for OtlpGrpcConfig {
    fn default() -> Self {
        OtlpGrpcConfig {
            endpoint: String::new(),
            headers: BTreeMap::new(),
            compression: Compression::Gzip,
            timeout: Duration::from_secs(5),
            tls: ClientTlsConfig::default(),
            auth: None,
        }
    }
}

/// Printed as its JSON with credentials redacted: `headers` often carry tokens.
impl std::fmt::Debug for OtlpGrpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        weir_core::config::debug_redacted("OtlpGrpcConfig", self, f)
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
        problems.extend(tls_problems(&self.endpoint, &self.tls));
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

/// `host:port` after any `http://` or `https://` prefix.
fn strip_scheme(endpoint: &str) -> &str {
    endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint)
}

impl OtlpGrpcConfig {
    /// Whether the connection is TLS. As otelcol: TLS unless `tls.insecure` is true, except
    /// that an `http://` endpoint with `insecure` unset means plaintext, as the OpenTelemetry
    /// SDKs read it; `insecure: false` asks for TLS whatever the scheme.
    pub fn uses_tls(&self) -> bool {
        match self.tls.insecure {
            Some(insecure) => !insecure,
            None => !self.endpoint.trim().starts_with("http://"),
        }
    }
}

/// TLS problems: contradictions, TLS settings on a plaintext connection (they would do
/// nothing), and files that cannot be used.
fn tls_problems(endpoint: &str, tls: &ClientTlsConfig) -> Vec<String> {
    let endpoint = endpoint.trim();
    if tls.insecure == Some(true) && endpoint.starts_with("https://") {
        return vec![format!(
            "tls.insecure is true but endpoint `{endpoint}` asks for TLS (https://); remove one"
        )];
    }
    let config = OtlpGrpcConfig {
        endpoint: endpoint.to_string(),
        tls: tls.clone(),
        ..OtlpGrpcConfig::default()
    };
    if !config.uses_tls() {
        let set = tls.tls_settings_present("tls");
        return if set.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "{} set, but the connection is plaintext (tls.insecure: true or an http:// endpoint); \
                 remove {} or use TLS",
                set.join(", "),
                if set.len() == 1 { "it" } else { "them" }
            )]
        };
    }
    let shape = tls.shape_problems("tls");
    if !shape.is_empty() {
        return shape;
    }
    match client_config(tls, "tls", &[]) {
        Ok(_) => Vec::new(),
        Err(e) => vec![e.to_string()],
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
    fn tls_is_used_as_otelcol_decides() {
        let tls = |json: serde_json::Value| parse(json).uses_tls();
        assert!(tls(serde_json::json!({"endpoint": "collector:4317"})));
        assert!(tls(
            serde_json::json!({"endpoint": "https://collector:4317"})
        ));
        assert!(tls(
            serde_json::json!({"endpoint": "http://collector:4317", "tls": {"insecure": false}})
        ));
        assert!(!tls(
            serde_json::json!({"endpoint": "http://collector:4317"})
        ));
        assert!(!tls(
            serde_json::json!({"endpoint": "collector:4317", "tls": {"insecure": true}})
        ));
    }

    #[test]
    fn tls_settings_on_a_plaintext_connection_and_contradictions_are_refused() {
        let problems = parse(serde_json::json!({"endpoint": "collector:4317", "tls": {"insecure": true, "ca_file": "/ca.pem"}}))
            .validate()
            .expect_err("plaintext with a CA");
        assert!(
            problems[0].starts_with("tls.ca_file set, but the connection is plaintext"),
            "{problems:?}"
        );
        let problems = parse(
            serde_json::json!({"endpoint": "https://collector:4317", "tls": {"insecure": true}}),
        )
        .validate()
        .expect_err("https and insecure");
        assert!(problems[0].contains("remove one"), "{problems:?}");
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let problems = parse(serde_json::json!({"endpoint": "collector:4317", "tls": {"ca_file": "/nonexistent/ca.pem"}}))
            .validate()
            .expect_err("missing CA");
        assert_eq!(
            problems,
            ["tls.ca_file `/nonexistent/ca.pem`: file not found"]
        );
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
    fn debug_output_hides_credential_headers() {
        let config = parse(serde_json::json!({
            "endpoint": "c:4317",
            "headers": {"authorization": "Bearer s3cret", "x-tenant": "acme"},
        }));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("acme"), "{printed}");
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
