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
                    transport,
                    authenticator_id: auth.authenticator.to_string(),
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
    transport: &'static str,
    /// The extension's id, for the log.
    authenticator_id: String,
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
                // The authenticator's message never repeats the credentials (the
                // `ServerAuthenticator` contract), so it can be logged as it is sent.
                let place = format!("auth {}/{}", self.receiver, self.transport);
                if let Some(left_out) = weir_core::telemetry::admit_log(&place, "unauthenticated") {
                    tracing::warn!(
                        receiver = %self.receiver,
                        transport = self.transport,
                        %peer,
                        authenticator = %self.authenticator_id,
                        similar_not_logged = left_out,
                        "request refused: not authenticated: {error}"
                    );
                }
                Err(error.0)
            }
        }
    }
}
