//! The `tls:` blocks, with otelcol's option names: [`ServerTlsConfig`] for receivers and
//! [`ClientTlsConfig`] for exporters. Both only describe; [`super::server`] and
//! [`super::client`] load the files and build rustls configs from them.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::Secret;
use crate::exporter::{DurationString, humantime_serde};

/// A TLS protocol version, written as otelcol writes it (`"1.2"`, `"1.3"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[schemars(with = "String")]
pub enum TlsVersion {
    /// TLS 1.2.
    V1_2,
    /// TLS 1.3.
    V1_3,
}

impl TlsVersion {
    /// The name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
}

impl Serialize for TlsVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim() {
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            "1.0" | "1.1" => Err(serde::de::Error::custom(format!(
                "TLS {text} is not supported: it is insecure, and rustls implements only 1.2 and 1.3"
            ))),
            other => Err(serde::de::Error::custom(format!(
                "unknown TLS version `{other}`, expected `1.2` or `1.3`"
            ))),
        }
    }
}

/// How often certificate files are checked for changes when `reload_interval` is not set.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(60);

/// Server TLS of a receiver's protocol (otelcol's `configtls.ServerConfig`). The block being
/// present turns TLS on: plaintext clients are then refused.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerTlsConfig {
    /// PEM file with the server's certificate chain, leaf first. This or `cert_pem` is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// The certificate chain as PEM text, instead of `cert_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_pem: Option<String>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1). This or `key_pem`
    /// is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The private key as PEM text, instead of `key_file`; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pem: Option<Secret>,
    /// PEM file of the CAs that sign client certificates. Setting it turns on mutual TLS:
    /// clients without a certificate from one of these CAs are refused during the handshake.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<String>,
    /// Oldest TLS version accepted: `1.2` (default) or `1.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// Newest TLS version offered: `1.2` or `1.3` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
    /// How often `cert_file` and `key_file` are read again; a changed pair that loads and
    /// matches is served to new connections while open connections keep theirs. A pair that
    /// fails to load is logged and the previous one kept. `0s` turns reloading off. Default
    /// `1m` (otelcol reloads only when this is set).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub reload_interval: Duration,
}

impl Default for ServerTlsConfig {
    fn default() -> Self {
        ServerTlsConfig {
            cert_file: None,
            cert_pem: None,
            key_file: None,
            key_pem: None,
            client_ca_file: None,
            min_version: None,
            max_version: None,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        }
    }
}

impl std::fmt::Debug for ServerTlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTlsConfig")
            .field("cert_file", &self.cert_file)
            .field("cert_pem", &self.cert_pem.as_ref().map(|_| "<pem>"))
            .field("key_file", &self.key_file)
            .field("key_pem", &self.key_pem)
            .field("client_ca_file", &self.client_ca_file)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .field("reload_interval", &self.reload_interval)
            .finish()
    }
}

impl ServerTlsConfig {
    /// Problems found without touching files, each starting with its field path under `prefix`
    /// (`protocols.grpc.tls`) so the loader can point at the line.
    pub fn shape_problems(&self, prefix: &str) -> Vec<String> {
        let mut problems = Vec::new();
        pair_problems(
            prefix,
            ("cert_file", self.cert_file.is_some()),
            ("cert_pem", self.cert_pem.is_some()),
            true,
            &mut problems,
        );
        pair_problems(
            prefix,
            ("key_file", self.key_file.is_some()),
            ("key_pem", self.key_pem.is_some()),
            true,
            &mut problems,
        );
        version_problems(prefix, self.min_version, self.max_version, &mut problems);
        problems
    }

    /// The TLS versions to offer.
    pub fn versions(&self) -> (TlsVersion, TlsVersion) {
        (
            self.min_version.unwrap_or(TlsVersion::V1_2),
            self.max_version.unwrap_or(TlsVersion::V1_3),
        )
    }
}

/// Client TLS of an exporter (otelcol's `configtls.ClientConfig`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTlsConfig {
    /// `true` sends in plaintext. For `otlp`, unset means plaintext only with an `http://`
    /// endpoint and TLS otherwise, as otelcol; `false` asks for TLS whatever the endpoint. For
    /// `otlphttp` the URL's scheme decides (`https://` is TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Accept any server certificate without verifying it (encryption without
    /// authentication; for tests only).
    pub insecure_skip_verify: bool,
    /// PEM file of the CAs that sign the server's certificate. Without it (or `ca_pem`) the
    /// operating system's trusted roots are used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The CA certificates as PEM text, instead of `ca_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// PEM file with a client certificate chain, for servers that require mutual TLS; needs
    /// `key_file` or `key_pem`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// The client certificate chain as PEM text, instead of `cert_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_pem: Option<String>,
    /// PEM file with the client certificate's private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The client private key as PEM text, instead of `key_file`; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pem: Option<Secret>,
    /// Name to verify the server's certificate against (and send as SNI) instead of the
    /// endpoint's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name_override: Option<String>,
    /// Oldest TLS version accepted: `1.2` (default) or `1.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// Newest TLS version offered: `1.2` or `1.3` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
}

impl std::fmt::Debug for ClientTlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTlsConfig")
            .field("insecure", &self.insecure)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("ca_file", &self.ca_file)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("cert_file", &self.cert_file)
            .field("cert_pem", &self.cert_pem.as_ref().map(|_| "<pem>"))
            .field("key_file", &self.key_file)
            .field("key_pem", &self.key_pem)
            .field("server_name_override", &self.server_name_override)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .finish()
    }
}

impl ClientTlsConfig {
    /// Problems found without touching files, each starting with its field path under `prefix`.
    pub fn shape_problems(&self, prefix: &str) -> Vec<String> {
        let mut problems = Vec::new();
        pair_problems(
            prefix,
            ("ca_file", self.ca_file.is_some()),
            ("ca_pem", self.ca_pem.is_some()),
            false,
            &mut problems,
        );
        let has_cert = self.cert_file.is_some() || self.cert_pem.is_some();
        let has_key = self.key_file.is_some() || self.key_pem.is_some();
        pair_problems(
            prefix,
            ("cert_file", self.cert_file.is_some()),
            ("cert_pem", self.cert_pem.is_some()),
            false,
            &mut problems,
        );
        pair_problems(
            prefix,
            ("key_file", self.key_file.is_some()),
            ("key_pem", self.key_pem.is_some()),
            false,
            &mut problems,
        );
        if has_cert != has_key {
            let (set, missing) = if has_cert {
                ("cert_file", "key_file")
            } else {
                ("key_file", "cert_file")
            };
            problems.push(format!(
                "{prefix}.{set} needs {prefix}.{missing} (or its _pem form) for a client certificate"
            ));
        }
        if let Some(name) = &self.server_name_override
            && rustls_pki_types::ServerName::try_from(name.as_str()).is_err()
        {
            problems.push(format!(
                "{prefix}.server_name_override `{name}` is not a DNS name or IP address"
            ));
        }
        version_problems(prefix, self.min_version, self.max_version, &mut problems);
        problems
    }

    /// The TLS-only settings that are set, by their names under `prefix`: with a plaintext
    /// connection they would silently do nothing.
    pub fn tls_settings_present(&self, prefix: &str) -> Vec<String> {
        let set = [
            ("insecure_skip_verify", self.insecure_skip_verify),
            ("ca_file", self.ca_file.is_some()),
            ("ca_pem", self.ca_pem.is_some()),
            ("cert_file", self.cert_file.is_some()),
            ("cert_pem", self.cert_pem.is_some()),
            ("key_file", self.key_file.is_some()),
            ("key_pem", self.key_pem.is_some()),
            ("server_name_override", self.server_name_override.is_some()),
            ("min_version", self.min_version.is_some()),
            ("max_version", self.max_version.is_some()),
        ];
        set.iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| format!("{prefix}.{name}"))
            .collect()
    }

    /// The TLS versions to offer.
    pub fn versions(&self) -> (TlsVersion, TlsVersion) {
        (
            self.min_version.unwrap_or(TlsVersion::V1_2),
            self.max_version.unwrap_or(TlsVersion::V1_3),
        )
    }
}

/// A value that may come from a file or be written inline: exactly one (or, when optional,
/// at most one) of the two.
fn pair_problems(
    prefix: &str,
    file: (&str, bool),
    inline: (&str, bool),
    required: bool,
    problems: &mut Vec<String>,
) {
    match (file.1, inline.1) {
        (true, true) => problems.push(format!(
            "{prefix}.{} and {prefix}.{} are both set; use one",
            file.0, inline.0
        )),
        (false, false) if required => problems.push(format!(
            "{prefix}.{} (or {prefix}.{}) is required",
            file.0, inline.0
        )),
        _ => {}
    }
}

fn version_problems(
    prefix: &str,
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
    problems: &mut Vec<String>,
) {
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        problems.push(format!(
            "{prefix}.min_version {} is newer than max_version {}",
            min.as_str(),
            max.as_str()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_default_to_tls_1_2_through_1_3_and_old_ones_are_refused() {
        let config: ServerTlsConfig =
            serde_json::from_value(serde_json::json!({"cert_file": "c", "key_file": "k"})).unwrap();
        assert_eq!(config.versions(), (TlsVersion::V1_2, TlsVersion::V1_3));
        assert_eq!(config.reload_interval, DEFAULT_RELOAD_INTERVAL);
        let err = serde_json::from_value::<ServerTlsConfig>(
            serde_json::json!({"cert_file": "c", "key_file": "k", "min_version": "1.0"}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("TLS 1.0 is not supported"),
            "{err}"
        );
    }

    #[test]
    fn server_needs_a_certificate_and_a_key_from_one_place_each() {
        let config = ServerTlsConfig {
            cert_file: Some("c".into()),
            cert_pem: Some("p".into()),
            min_version: Some(TlsVersion::V1_3),
            max_version: Some(TlsVersion::V1_2),
            ..ServerTlsConfig::default()
        };
        let problems = config.shape_problems("protocols.grpc.tls");
        assert_eq!(
            problems,
            [
                "protocols.grpc.tls.cert_file and protocols.grpc.tls.cert_pem are both set; use one",
                "protocols.grpc.tls.key_file (or protocols.grpc.tls.key_pem) is required",
                "protocols.grpc.tls.min_version 1.3 is newer than max_version 1.2",
            ]
        );
    }

    #[test]
    fn client_certificate_needs_its_key() {
        let config = ClientTlsConfig {
            cert_file: Some("c".into()),
            server_name_override: Some("bad name!".into()),
            ..ClientTlsConfig::default()
        };
        let problems = config.shape_problems("tls");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("tls.cert_file needs tls.key_file"));
        assert!(problems[1].contains("server_name_override"));
    }

    #[test]
    fn debug_output_hides_inline_keys() {
        let server = ServerTlsConfig {
            key_pem: Some(Secret::new("-----BEGIN PRIVATE KEY----- secret")),
            ..ServerTlsConfig::default()
        };
        let client = ClientTlsConfig {
            key_pem: Some(Secret::new("-----BEGIN PRIVATE KEY----- secret")),
            ..ClientTlsConfig::default()
        };
        let printed = format!("{server:?} {client:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("[REDACTED]"), "{printed}");
    }
}
