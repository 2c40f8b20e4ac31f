//! Certificate rotation without a restart: the server's certificate comes from a resolver whose
//! key can be swapped while connections are open. A handshake takes whatever key is current, so
//! new connections get the new certificate and established ones keep the session they have.
//!
//! A watcher task reads the files every `reload_interval` and swaps only when their bytes
//! changed and the new pair loads and matches; a half-written or mismatched pair (a rotation
//! caught between writing the certificate and the key) is logged and the old pair kept, and the
//! next check tries again.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use super::TlsError;
use super::pem::{PemSource, certified_key};

/// Where the certificate and key are read from (owned, for the watcher task).
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// A config field naming a file.
    File {
        /// Config path of the field.
        field: String,
        /// The file.
        path: String,
    },
    /// PEM text in the config (never changes).
    Inline {
        /// Config path of the field.
        field: String,
        /// The text.
        text: String,
    },
}

impl Origin {
    pub(crate) fn source(&self) -> PemSource<'_> {
        match self {
            Origin::File { field, path } => PemSource::File { field, path },
            Origin::Inline { field, text } => PemSource::Inline { field, text },
        }
    }

    fn is_file(&self) -> bool {
        matches!(self, Origin::File { .. })
    }
}

/// What was loaded last: the bytes (to notice changes) and the key made of them.
struct Current {
    cert_bytes: Vec<u8>,
    key_bytes: Vec<u8>,
    key: Arc<CertifiedKey>,
}

/// A [`ResolvesServerCert`] serving the current certificate, swappable at any time.
pub struct ReloadingResolver {
    cert: Origin,
    key: Origin,
    provider: Arc<CryptoProvider>,
    current: RwLock<Current>,
}

impl std::fmt::Debug for ReloadingResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingResolver")
            .field("cert", &self.cert.source().describe())
            .field("key", &self.key.source().describe())
            .finish()
    }
}

impl ReloadingResolver {
    /// Loads the pair once; a failure here is a startup error.
    pub(crate) fn load(
        cert: Origin,
        key: Origin,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let cert_bytes = cert.source().read()?;
        let key_bytes = key.source().read()?;
        let certified = certified_key(
            &cert.source(),
            &cert_bytes,
            &key.source(),
            &key_bytes,
            &provider,
        )?;
        Ok(ReloadingResolver {
            cert,
            key,
            provider,
            current: RwLock::new(Current {
                cert_bytes,
                key_bytes,
                key: certified,
            }),
        })
    }

    /// Whether anything can change (inline PEM never does).
    pub(crate) fn watches_files(&self) -> bool {
        self.cert.is_file() || self.key.is_file()
    }

    /// Reads the files again and swaps in the new pair if it changed. `Ok(true)` when swapped.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let cert_bytes = self.cert.source().read()?;
        let key_bytes = self.key.source().read()?;
        let unchanged = self
            .current
            .read()
            .map(|c| c.cert_bytes == cert_bytes && c.key_bytes == key_bytes)
            .unwrap_or(false);
        if unchanged {
            return Ok(false);
        }
        let key = certified_key(
            &self.cert.source(),
            &cert_bytes,
            &self.key.source(),
            &key_bytes,
            &self.provider,
        )?;
        if let Ok(mut current) = self.current.write() {
            *current = Current {
                cert_bytes,
                key_bytes,
                key,
            };
        }
        Ok(true)
    }

    /// Checks every `interval` until `shutdown`, logging what happened under `server`.
    pub(crate) fn watch(
        self: Arc<Self>,
        interval: Duration,
        server: String,
        shutdown: CancellationToken,
    ) {
        if interval.is_zero() || !self.watches_files() {
            return;
        }
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                // File reads and key parsing are blocking work; keep them off the I/O threads.
                let this = self.clone();
                let outcome = tokio::task::spawn_blocking(move || this.reload()).await;
                match outcome {
                    Ok(Ok(true)) => tracing::info!(
                        server = %server,
                        certificate = %self.cert.source().describe(),
                        "TLS certificate reloaded; new connections get the new one"
                    ),
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::warn!(
                        server = %server,
                        %error,
                        "TLS certificate not reloaded; still serving the previous one"
                    ),
                    Err(error) => {
                        tracing::warn!(server = %server, %error, "TLS reload task failed")
                    }
                }
            }
        });
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    fn files(dir: &std::path::Path) -> (Origin, Origin) {
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        (
            Origin::File {
                field: "tls.cert_file".into(),
                path: path("cert.pem"),
            },
            Origin::File {
                field: "tls.key_file".into(),
                path: path("key.pem"),
            },
        )
    }

    fn leaf(resolver: &ReloadingResolver) -> Vec<u8> {
        let current = resolver.current.read().unwrap();
        current.key.cert[0].to_vec()
    }

    #[test]
    fn a_changed_pair_is_swapped_in_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair("one.test");
        std::fs::write(dir.path().join("cert.pem"), &cert).unwrap();
        std::fs::write(dir.path().join("key.pem"), &key).unwrap();
        let (c, k) = files(dir.path());
        let resolver =
            ReloadingResolver::load(c, k, Arc::new(rustls::crypto::ring::default_provider()))
                .unwrap();
        let first = leaf(&resolver);
        assert!(!resolver.reload().unwrap(), "nothing changed");

        // Half a rotation: a new certificate with the old key.
        let (cert2, key2) = pair("two.test");
        std::fs::write(dir.path().join("cert.pem"), &cert2).unwrap();
        let err = resolver.reload().unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        assert_eq!(
            leaf(&resolver),
            first,
            "a mismatched pair must not be served"
        );

        std::fs::write(dir.path().join("key.pem"), &key2).unwrap();
        assert!(resolver.reload().unwrap());
        assert_ne!(leaf(&resolver), first);
    }
}
