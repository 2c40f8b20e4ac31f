//! What stands between a client and the pipelines, per protocol: TLS on the connection and the
//! authenticator each request must satisfy. Built before any port is bound, so a missing
//! certificate or authenticator fails startup with nothing left running.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use weir_core::component::{AuthConfig, ComponentId, Host, ReceiverError, ServerAuthenticator};
use weir_core::net::tls::{ServerTls, ServerTlsConfig};

/// A protocol's TLS and authentication.
#[derive(Clone)]
pub(crate) struct Security {
    /// TLS for the accept loop, if configured.
    pub(crate) tls: Option<ServerTls>,
    /// The request check, if `auth` is configured.
    pub(crate) guard: Option<Guard>,
}

impl Security {
    /// Loads TLS and finds the authenticator for one protocol (`grpc`, `http`).
    pub(crate) fn prepare(
        id: &ComponentId,
        transport: &'static str,
        tls: Option<&ServerTlsConfig>,
        auth: Option<&AuthConfig>,
        alpn: &[&[u8]],
        host: &Host,
    ) -> Result<Security, ReceiverError> {
        let prefix = format!("protocols.{transport}");
        let tls = tls
            .map(|tls| ServerTls::build(tls, &format!("{prefix}.tls"), alpn))
            .transpose()
            .map_err(|e| ReceiverError::Other(e.to_string()))?;
        let guard = auth
            .map(|auth| {
                let authenticator = host
                    .server_authenticator(&auth.authenticator)
                    .map_err(|e| ReceiverError::Other(format!("{prefix}.auth: {e}")))?;
                Ok::<_, ReceiverError>(Guard {
                    receiver: id.to_string(),
                    authenticator,
                    refused: weir_core::telemetry::unauthenticated_counter(
                        &id.to_string(),
                        transport,
                    ),
                })
            })
            .transpose()?;
        Ok(Security { tls, guard })
    }
}

/// Checks each request's credentials, counting and logging refusals.
#[derive(Clone)]
pub(crate) struct Guard {
    receiver: String,
    authenticator: Arc<dyn ServerAuthenticator>,
    refused: Arc<AtomicU64>,
}

impl Guard {
    /// `Err` with a message for the client (it never repeats the credentials).
    pub(crate) async fn check(
        &self,
        headers: &http::HeaderMap,
        peer: std::net::SocketAddr,
    ) -> Result<(), String> {
        match self.authenticator.authenticate(headers).await {
            Ok(()) => Ok(()),
            Err(error) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(receiver = %self.receiver, %peer, %error, "request refused: not authenticated");
                Err(error.0)
            }
        }
    }
}
