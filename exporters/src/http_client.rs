//! What the HTTP-based exporters (`otlphttp`, `prometheusremotewrite`) and the gRPC one share
//! when they are built: the configured headers, the client authenticator an `auth` names,
//! and hyper's pooled HTTP/1.1 client over Weir's TLS connector.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use weir_core::component::{AuthConfig, BuildError, ClientAuthenticator, CreateSettings};
use weir_core::net::tls::{ClientTlsConfig, Connector};

/// `headers:` as a header map, each bad name or value refused by name.
pub(crate) fn configured_headers(
    headers: &BTreeMap<String, String>,
) -> Result<HeaderMap, BuildError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| BuildError(format!("header name `{name}`: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| BuildError(format!("value of header `{name}`: {e}")))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// The authenticator extension `auth` names, started and found in the host.
pub(crate) fn authenticator(
    auth: Option<&AuthConfig>,
    settings: &CreateSettings,
) -> Result<Option<Arc<dyn ClientAuthenticator>>, BuildError> {
    auth.map(|auth| {
        settings
            .host
            .client_authenticator(&auth.authenticator)
            .map_err(|e| BuildError(format!("auth: {e}")))
    })
    .transpose()
}

/// hyper's pooled client speaking HTTP/1.1 only (so that is all ALPN offers), with TLS from
/// `tls` when `uses_tls`.
pub(crate) fn http1_client(
    tls: &ClientTlsConfig,
    uses_tls: bool,
) -> Result<Client<Connector, Full<Bytes>>, BuildError> {
    let connector = Connector::for_exporter(tls, uses_tls, &[b"http/1.1"], false)
        .map_err(|e| BuildError(e.to_string()))?;
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .build(connector))
}
