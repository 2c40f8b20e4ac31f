//! The `otlp` receiver's configuration, in otelcol's shape:
//! `protocols: { grpc: {endpoint, …}, http: {endpoint, …} }`, each protocol on when its key is
//! present (even with no body, as in otelcol).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use weir_core::component::{AuthConfig, ComponentConfig};
use weir_core::exporter::{DurationString, humantime_serde};
use weir_core::net::server::DEFAULT_MAX_HEADER_BYTES;
use weir_core::net::tls::{ServerTls, ServerTlsConfig};

/// Config of the `otlp` receiver.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpReceiverConfig {
    /// The protocols to serve; at least one must be listed.
    pub protocols: Protocols,
    /// End-to-end acknowledgements (a Weir addition): answer a client only once every exporter
    /// of every pipeline that received its data has delivered it or stored it durably; a
    /// failure becomes a retryable error to the client, and a destination's partial success
    /// is passed back as the answer's `partial_success` (when the exported batch is the
    /// client's own request, i.e. no `batch` processor merged it with others). Off: the client
    /// is answered once the data is in the pipelines.
    pub acknowledgements: bool,
}

/// Which transports the receiver listens on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Protocols {
    /// OTLP/gRPC. Enabled when the key is present, even empty (`grpc:`).
    #[serde(
        deserialize_with = "present_means_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub grpc: Option<GrpcConfig>,
    /// OTLP/HTTP (protobuf and JSON). Enabled when the key is present, even empty (`http:`).
    #[serde(
        deserialize_with = "present_means_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub http: Option<HttpConfig>,
}

/// OTLP/gRPC server settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// `host:port` to listen on. The default listens on loopback only, as otelcol does; use
    /// `0.0.0.0:4317` to accept remote clients. Port 0 picks a free port.
    pub endpoint: String,
    /// Largest request message accepted, in MiB, measured after decompression. Larger requests
    /// get `RESOURCE_EXHAUSTED`, whether the frame alone or the
    /// decompressed message is too big.
    pub max_recv_msg_size_mib: u64,
    /// Concurrent HTTP/2 streams (requests) allowed per client connection; 0 means no limit
    /// (the default, as grpc-go).
    pub max_concurrent_streams: u32,
    /// Keep the client's gRPC metadata with each batch, for processors that read it.
    pub include_metadata: bool,
    /// Serve TLS (`cert_file`, `key_file`, `client_ca_file` for mutual TLS, ...). Present means
    /// on; plaintext clients are then refused.
    #[serde(
        deserialize_with = "present_means_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls: Option<ServerTlsConfig>,
    /// Require credentials checked by an authenticator extension
    /// (`auth: {authenticator: bearertokenauth}`); others get `UNAUTHENTICATED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// Open client connections at once (a Weir addition); more wait to be accepted. 0 (the
    /// default) means no limit.
    pub max_connections: usize,
    /// Close a connection that has had no request in flight and no traffic for this long
    /// (grpc-go's `max_connection_idle`); clients reconnect when they next export. `0s` (the
    /// default) keeps idle connections open.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub idle_timeout: Duration,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            endpoint: "localhost:4317".to_string(),
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: 0,
            include_metadata: false,
            tls: None,
            auth: None,
            max_connections: 0,
            idle_timeout: Duration::ZERO,
        }
    }
}

impl GrpcConfig {
    /// The message size limit in bytes.
    pub fn max_recv_msg_size(&self) -> usize {
        usize::try_from(self.max_recv_msg_size_mib.saturating_mul(1024 * 1024))
            .unwrap_or(usize::MAX)
    }
}

/// OTLP/HTTP server settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to listen on. The default listens on loopback only, as otelcol does; use
    /// `0.0.0.0:4318` to accept remote clients. Port 0 picks a free port.
    pub endpoint: String,
    /// URL path that receives traces.
    pub traces_url_path: String,
    /// URL path that receives metrics.
    pub metrics_url_path: String,
    /// URL path that receives logs.
    pub logs_url_path: String,
    /// Largest request body accepted, in bytes, applied both to the body as sent and to the
    /// body after decompression. Larger requests get `413 Payload Too Large`.
    pub max_request_body_size: u64,
    /// Keep the client's HTTP headers with each batch, for processors that read them.
    pub include_metadata: bool,
    /// Serve HTTPS (`cert_file`, `key_file`, `client_ca_file` for mutual TLS, ...). Present
    /// means on; plaintext clients are then refused.
    #[serde(
        deserialize_with = "present_means_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub tls: Option<ServerTlsConfig>,
    /// Require credentials checked by an authenticator extension
    /// (`auth: {authenticator: basicauth}`); others get `401 Unauthorized`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// Open client connections at once (a Weir addition); more wait to be accepted. 0 (the
    /// default) means no limit.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and to complete the TLS
    /// handshake; a kept-alive connection waiting for its next request is closed after this
    /// too. Default `1m`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub read_header_timeout: Duration,
    /// How long a client may take to send a request's body; slower requests get
    /// `408 Request Timeout`. `0s` means no limit. Default `1m` (otelcol: no limit).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub read_timeout: Duration,
    /// Close a connection that has had no request in flight and no traffic for this long.
    /// `0s` keeps idle connections open. Default `1m`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers), in bytes; larger heads are refused
    /// (`431`). Default 1 MiB (1048576), as Go's `http.DefaultMaxHeaderBytes`. For HTTP/1.1,
    /// values under 8192 act as 8192 (hyper's smallest read buffer).
    pub max_request_header_size: usize,
    /// Cross-origin resource sharing, so that web pages on other origins may export from a
    /// browser (otelcol's `cors`). On only when `allowed_origins` lists at least one origin.
    /// A Weir choice where otelcol passes the request on without CORS headers: a request (other
    /// than a preflight) whose `Origin` is not allowed gets `403 Forbidden` and its data is not
    /// taken; requests without an `Origin` (SDKs, curl) are served as always.
    #[serde(
        deserialize_with = "present_means_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub cors: Option<CorsConfig>,
}

/// Which web origins may send telemetry from a browser, and what their preflights are answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Values of the `Origin` header allowed, compared without regard to case, e.g.
    /// `https://app.example.com`. One `*` stands for 0 or more characters
    /// (`https://*.example.com`); `*` alone allows every origin and is then answered with
    /// `Access-Control-Allow-Origin: *` (as otelcol does), which browsers accept only for
    /// requests without credentials. Empty (the default): CORS is off and `OPTIONS` gets `405`.
    pub allowed_origins: Vec<String>,
    /// Request headers a preflight may ask for (`Access-Control-Request-Headers`) besides
    /// `Accept`, `Accept-Language`, `Content-Language` and `Content-Type`, which are always
    /// allowed; when empty, `X-Requested-With` is allowed too. `*` allows any header. Compared
    /// without regard to case.
    pub allowed_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`). 0 (the
    /// default) sends no header, leaving the browser's default (5 s); a negative value sends
    /// `0`, asking the browser not to cache at all.
    #[serde(deserialize_with = "seconds")]
    pub max_age: i64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            endpoint: "localhost:4318".to_string(),
            traces_url_path: "/v1/traces".to_string(),
            metrics_url_path: "/v1/metrics".to_string(),
            logs_url_path: "/v1/logs".to_string(),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            max_connections: 0,
            read_header_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_request_header_size: DEFAULT_MAX_HEADER_BYTES,
            cors: None,
        }
    }
}

impl HttpConfig {
    /// The body size limit in bytes.
    pub fn max_body_size(&self) -> usize {
        usize::try_from(self.max_request_body_size).unwrap_or(usize::MAX)
    }
}

/// `grpc:` with no body is YAML null: the protocol is on, with defaults. An absent key never
/// reaches this function (`#[serde(default)]` leaves it `None`).
fn present_means_enabled<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(
        Option::<T>::deserialize(deserializer)?.unwrap_or_default(),
    ))
}

/// A whole number of seconds, as otelcol reads `max_age`; a duration string such as `2h` is
/// refused with a message saying what is expected, not serde's type names.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Seconds;
    impl serde::de::Visitor<'_> for Seconds {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number of seconds, e.g. 7200")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("max_age {v} is too large")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            Err(E::custom(format!(
                "max_age must be a whole number of seconds, e.g. 7200, got {v}"
            )))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
            Err(E::custom(format!(
                "max_age must be a whole number of seconds, e.g. 7200, got `{v}`"
            )))
        }
    }
    deserializer.deserialize_any(Seconds)
}

impl ComponentConfig for OtlpReceiverConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let Protocols { grpc, http } = &self.protocols;
        if grpc.is_none() && http.is_none() {
            problems.push(
                "must specify at least one protocol (`protocols.grpc` or `protocols.http`)"
                    .to_string(),
            );
        }
        if let Some(grpc) = grpc {
            check_endpoint("protocols.grpc.endpoint", &grpc.endpoint, &mut problems);
            if grpc.max_recv_msg_size_mib == 0 {
                problems
                    .push("protocols.grpc.max_recv_msg_size_mib must be at least 1".to_string());
            }
            check_tls("protocols.grpc.tls", grpc.tls.as_ref(), &mut problems);
            check_auth("protocols.grpc.auth", grpc.auth.as_ref(), &mut problems);
        }
        if let Some(http) = http {
            check_endpoint("protocols.http.endpoint", &http.endpoint, &mut problems);
            if http.max_request_body_size == 0 {
                problems
                    .push("protocols.http.max_request_body_size must be at least 1".to_string());
            }
            if http.read_header_timeout.is_zero() {
                problems
                    .push("protocols.http.read_header_timeout must be greater than 0".to_string());
            }
            if http.max_request_header_size < 1024 {
                problems.push(format!(
                    "protocols.http.max_request_header_size must be at least 1024, got {}",
                    http.max_request_header_size
                ));
            }
            check_tls("protocols.http.tls", http.tls.as_ref(), &mut problems);
            check_auth("protocols.http.auth", http.auth.as_ref(), &mut problems);
            if let Some(cors) = &http.cors {
                problems.extend(super::cors::problems("protocols.http.cors", cors));
            }
            let paths = [
                ("traces_url_path", &http.traces_url_path),
                ("metrics_url_path", &http.metrics_url_path),
                ("logs_url_path", &http.logs_url_path),
            ];
            for (name, path) in paths {
                if !path.starts_with('/') {
                    problems.push(format!(
                        "protocols.http.{name} must start with `/`, got `{path}`"
                    ));
                }
            }
            for (i, (a, pa)) in paths.iter().enumerate() {
                for (b, pb) in &paths[i + 1..] {
                    if pa == pb {
                        problems.push(format!("protocols.http.{a} and {b} are both `{pa}`"));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// TLS problems, files included: a missing or mismatched certificate is reported with the rest
/// of the config (`weir validate` catches it), not only when the receiver starts.
fn check_tls(prefix: &str, tls: Option<&ServerTlsConfig>, problems: &mut Vec<String>) {
    let Some(tls) = tls else {
        return;
    };
    let shape = tls.shape_problems(prefix);
    if shape.is_empty() {
        if let Err(e) = ServerTls::build(tls, prefix, &[]) {
            problems.push(e.to_string());
        }
    } else {
        problems.extend(shape);
    }
}

fn check_auth(prefix: &str, auth: Option<&AuthConfig>, problems: &mut Vec<String>) {
    if let Some(auth) = auth
        && auth.authenticator.trim().is_empty()
    {
        problems.push(format!("{prefix}.authenticator must name an extension"));
    }
}

/// `host:port` with a numeric port; the host may be a name, an IPv4 address or `[IPv6]`.
fn check_endpoint(field: &str, endpoint: &str, problems: &mut Vec<String>) {
    let port_ok = endpoint
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        problems.push(format!("{field} must be `host:port`, got `{endpoint}`"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml_as_json: serde_json::Value) -> Result<OtlpReceiverConfig, String> {
        let config: OtlpReceiverConfig =
            serde_json::from_value(yaml_as_json).map_err(|e| e.to_string())?;
        config.validate().map_err(|p| p.join("; "))?;
        Ok(config)
    }

    fn testdata(name: &str) -> serde_json::Value {
        let path = format!("{}/src/otlp/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn a_present_but_empty_protocol_is_enabled_with_defaults() {
        let config = parse(serde_json::json!({"protocols": {"grpc": null}})).unwrap();
        assert_eq!(config.protocols.grpc, Some(GrpcConfig::default()));
        assert_eq!(config.protocols.http, None);
        let config = parse(serde_json::json!({"protocols": {"http": {}}})).unwrap();
        assert_eq!(config.protocols.http, Some(HttpConfig::default()));
        assert_eq!(config.protocols.grpc, None);
    }

    #[test]
    fn defaults_match_otelcol() {
        let grpc = GrpcConfig::default();
        assert_eq!(grpc.endpoint, "localhost:4317");
        assert_eq!(grpc.max_recv_msg_size(), 4 * 1024 * 1024);
        let http = HttpConfig::default();
        assert_eq!(http.endpoint, "localhost:4318");
        assert_eq!(
            (
                http.traces_url_path.as_str(),
                http.metrics_url_path.as_str(),
                http.logs_url_path.as_str()
            ),
            ("/v1/traces", "/v1/metrics", "/v1/logs")
        );
        assert_eq!(http.max_body_size(), 20 * 1024 * 1024);
    }

    #[test]
    fn full_config_from_testdata() {
        let config = parse(testdata("full.json")).unwrap();
        let grpc = config.protocols.grpc.unwrap();
        assert_eq!(grpc.endpoint, "0.0.0.0:14317");
        assert_eq!(
            (
                grpc.max_recv_msg_size_mib,
                grpc.max_concurrent_streams,
                grpc.include_metadata
            ),
            (16, 100, true)
        );
        let http = config.protocols.http.unwrap();
        assert_eq!(http.endpoint, "0.0.0.0:14318");
        assert_eq!(http.traces_url_path, "/custom/traces");
        assert_eq!(http.max_request_body_size, 1_048_576);
        assert!(http.include_metadata);
        let cors = http.cors.unwrap();
        assert_eq!(
            cors.allowed_origins,
            ["https://app.example.com", "https://*.example.org"]
        );
        assert_eq!(
            (cors.allowed_headers, cors.max_age),
            (vec!["x-api-key".to_string()], 7200)
        );
    }

    #[test]
    fn cors_is_optional_and_an_empty_block_means_no_origins() {
        let config = parse(serde_json::json!({"protocols": {"http": {}}})).unwrap();
        assert_eq!(config.protocols.http.unwrap().cors, None);
        let config = parse(serde_json::json!({"protocols": {"http": {"cors": null}}})).unwrap();
        assert_eq!(
            config.protocols.http.unwrap().cors,
            Some(CorsConfig::default())
        );
        let config =
            parse(serde_json::json!({"protocols": {"http": {"cors": {"max_age": -1}}}})).unwrap();
        assert_eq!(config.protocols.http.unwrap().cors.unwrap().max_age, -1);
    }

    #[test]
    fn invalid_configs_from_testdata_report_every_problem() {
        let cases = testdata("invalid.json");
        for case in cases.as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let expected = case["error"].as_str().unwrap();
            let err = parse(case["config"].clone()).expect_err(name);
            assert!(err.contains(expected), "{name}: `{err}` lacks `{expected}`");
        }
    }

    #[test]
    fn default_serializes_and_reads_back() {
        let config = OtlpReceiverConfig {
            acknowledgements: false,
            protocols: Protocols {
                grpc: Some(GrpcConfig::default()),
                http: None,
            },
        };
        let value = serde_json::to_value(&config).unwrap();
        assert!(value["protocols"].get("http").is_none());
        assert_eq!(parse(value).unwrap(), config);
    }
}
