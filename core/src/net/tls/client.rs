//! An exporter's TLS: the rustls client config built from a [`ClientTlsConfig`] — the CAs to
//! trust (configured, or the operating system's), an optional client certificate for mutual
//! TLS, and `insecure_skip_verify`'s verifier that accepts any certificate.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::config::ClientTlsConfig;
use super::pem::{PemSource, certificates, certified_key, private_key, root_store};
use super::{TlsError, protocol_versions, provider};

/// Builds the client config for `config` (fields under `prefix`, such as `tls`), offering
/// `alpn` protocols.
pub fn client_config(
    config: &ClientTlsConfig,
    prefix: &str,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, TlsError> {
    if let Some(problem) = config.shape_problems(prefix).into_iter().next() {
        return Err(TlsError::new(problem));
    }
    let provider = Arc::new(provider());
    let (min, max) = config.versions();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(min, max))
        .map_err(|e| TlsError::new(format!("{prefix}: {e}")))?;
    let builder = if config.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider.clone())))
    } else {
        builder.with_root_certificates(roots(config, prefix)?)
    };
    let ca_field = |name: &str| format!("{prefix}.{name}");
    let (cert_field, key_field) = (ca_field("cert_file"), ca_field("key_file"));
    let (cert_pem_field, key_pem_field) = (ca_field("cert_pem"), ca_field("key_pem"));
    let cert = match (&config.cert_file, &config.cert_pem) {
        (Some(path), _) => Some(PemSource::File {
            field: &cert_field,
            path,
        }),
        (None, Some(text)) => Some(PemSource::Inline {
            field: &cert_pem_field,
            text,
        }),
        (None, None) => None,
    };
    let key = match (&config.key_file, &config.key_pem) {
        (Some(path), _) => Some(PemSource::File {
            field: &key_field,
            path,
        }),
        (None, Some(text)) => Some(PemSource::Inline {
            field: &key_pem_field,
            text: text.expose(),
        }),
        (None, None) => None,
    };
    let mut client = match (cert, key) {
        (Some(cert), Some(key)) => {
            let (cert_bytes, key_bytes) = (cert.read()?, key.read()?);
            // Checked as a pair first, so a mismatch is reported by name, not by rustls.
            certified_key(&cert, &cert_bytes, &key, &key_bytes, &provider)?;
            builder
                .with_client_auth_cert(
                    certificates(&cert, &cert_bytes)?,
                    private_key(&key, &key_bytes)?,
                )
                .map_err(|e| TlsError::new(format!("{}: {e}", key.describe())))?
        }
        _ => builder.with_no_client_auth(),
    };
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(client))
}

/// The CAs to trust: the configured file or text, or else the system's.
fn roots(config: &ClientTlsConfig, prefix: &str) -> Result<RootCertStore, TlsError> {
    let file_field = format!("{prefix}.ca_file");
    let pem_field = format!("{prefix}.ca_pem");
    let source = match (&config.ca_file, &config.ca_pem) {
        (Some(path), _) => PemSource::File {
            field: &file_field,
            path,
        },
        (None, Some(text)) => PemSource::Inline {
            field: &pem_field,
            text,
        },
        (None, None) => return system_roots(prefix),
    };
    root_store(&source, &source.read()?)
}

fn system_roots(prefix: &str) -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(TlsError::new(format!(
            "{prefix}: no CA certificates found on this system{why}; set {prefix}.ca_file"
        )));
    }
    Ok(roots)
}

/// `insecure_skip_verify`: any certificate is accepted, but handshake signatures are still
/// checked, so the connection is at least encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
