//! A receiver's TLS: the rustls server config built from a [`ServerTlsConfig`], with the
//! certificate served through a [`ReloadingResolver`] and, with `client_ca_file`, client
//! certificates required and verified (mutual TLS).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio_util::sync::CancellationToken;

use super::config::ServerTlsConfig;
use super::pem::{PemSource, root_store};
use super::reload::{Origin, ReloadingResolver};
use super::{TlsError, protocol_versions, provider};

/// A built server TLS setup: the acceptor for the accept loop, and the resolver to watch.
#[derive(Clone)]
pub struct ServerTls {
    /// Performs handshakes with the current certificate.
    pub acceptor: tokio_rustls::TlsAcceptor,
    resolver: Arc<ReloadingResolver>,
    reload_interval: Duration,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("resolver", &self.resolver)
            .field("reload_interval", &self.reload_interval)
            .finish()
    }
}

impl ServerTls {
    /// Loads the certificate, key and client CAs named by `config` (whose fields live under
    /// `prefix`, such as `protocols.grpc.tls`), offering `alpn` protocols (`h2`, `http/1.1`).
    pub fn build(
        config: &ServerTlsConfig,
        prefix: &str,
        alpn: &[&[u8]],
    ) -> Result<ServerTls, TlsError> {
        if let Some(problem) = config.shape_problems(prefix).into_iter().next() {
            return Err(TlsError::new(problem));
        }
        let provider = Arc::new(provider());
        let cert = origin(
            prefix,
            ("cert_file", config.cert_file.as_deref()),
            ("cert_pem", config.cert_pem.as_deref()),
        );
        let key = origin(
            prefix,
            ("key_file", config.key_file.as_deref()),
            ("key_pem", config.key_pem.as_ref().map(|k| k.expose())),
        );
        let (Some(cert), Some(key)) = (cert, key) else {
            return Err(TlsError::new(format!(
                "{prefix}: a certificate and a key are required"
            )));
        };
        let resolver = Arc::new(ReloadingResolver::load(cert, key, provider.clone())?);
        let (min, max) = config.versions();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&protocol_versions(min, max))
            .map_err(|e| TlsError::new(format!("{prefix}: {e}")))?;
        let builder = match &config.client_ca_file {
            Some(path) => {
                let field = format!("{prefix}.client_ca_file");
                let source = PemSource::File {
                    field: &field,
                    path,
                };
                let roots = root_store(&source, &source.read()?)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| TlsError::new(format!("{}: {e}", source.describe())))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut server = builder.with_cert_resolver(resolver.clone());
        server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            resolver,
            reload_interval: config.reload_interval,
        })
    }

    /// Starts checking the certificate files every `reload_interval`, until `shutdown`.
    pub fn watch(&self, server: String, shutdown: CancellationToken) {
        self.resolver
            .clone()
            .watch(self.reload_interval, server, shutdown);
    }

    /// Reads the files again now; `Ok(true)` when a new pair was swapped in.
    pub fn reload(&self) -> Result<bool, TlsError> {
        self.resolver.reload()
    }
}

fn origin(
    prefix: &str,
    file: (&str, Option<&str>),
    inline: (&str, Option<&str>),
) -> Option<Origin> {
    match (file.1, inline.1) {
        (Some(path), _) => Some(Origin::File {
            field: format!("{prefix}.{}", file.0),
            path: path.to_string(),
        }),
        (None, Some(text)) => Some(Origin::Inline {
            field: format!("{prefix}.{}", inline.0),
            text: text.to_string(),
        }),
        (None, None) => None,
    }
}
