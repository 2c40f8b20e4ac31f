//! TLS with rustls (ring provider) for receivers and exporters.
//!
//! - [`config`]: the `tls:` blocks with otelcol's option names;
//! - [`pem`]: reading PEM files and inline PEM, with errors naming the field and the file;
//! - [`validity`]: certificate dates, read at startup so an expired certificate is named;
//! - [`reload`]: the server certificate resolver whose key is swapped when the files change;
//! - [`server`]: a receiver's rustls server config (optionally mutual TLS);
//! - [`client`]: an exporter's rustls client config;
//! - [`connector`]: the exporters' TCP+TLS connector for hyper and tonic;
//! - [`refusal`]: why a handshake was refused, as a metric label and words a user can act on.

pub mod client;
pub mod config;
pub mod connector;
pub mod pem;
pub mod refusal;
pub mod reload;
pub mod server;
pub mod validity;

pub use client::client_config;
pub use config::{ClientTlsConfig, ServerTlsConfig, TlsVersion};
pub use connector::Connector;
pub use rustls_pki_types::ServerName;
pub use server::ServerTls;

/// A TLS setting that cannot be used; the message names the field and the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

impl TlsError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        TlsError(message.into())
    }
}

/// The one crypto provider: ring (aws-lc needs cmake and a long build).
pub(crate) fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The rustls versions from `min` to `max`.
pub(crate) fn protocol_versions(
    min: TlsVersion,
    max: TlsVersion,
) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut versions = Vec::new();
    if min <= TlsVersion::V1_2 && max >= TlsVersion::V1_2 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::V1_3 {
        versions.push(&rustls::version::TLS13);
    }
    versions
}
