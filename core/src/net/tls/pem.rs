//! Reading certificates and keys from PEM files or inline PEM text, with errors that name the
//! config field, the file, and what is wrong with it.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;
use super::validity::{Standing, standing};

/// Where a PEM value comes from, with the config field that named it.
#[derive(Clone, Copy, Debug)]
pub enum PemSource<'a> {
    /// A file: `field` is its config path (`protocols.grpc.tls.cert_file`).
    File {
        /// Config path of the field.
        field: &'a str,
        /// The file.
        path: &'a str,
    },
    /// PEM text written in the config.
    Inline {
        /// Config path of the field.
        field: &'a str,
        /// The text.
        text: &'a str,
    },
}

impl PemSource<'_> {
    /// `field `path`` or `field`, for messages.
    pub fn describe(&self) -> String {
        match self {
            PemSource::File { field, path } => format!("{field} `{path}`"),
            PemSource::Inline { field, .. } => field.to_string(),
        }
    }

    /// The bytes, read now.
    pub fn read(&self) -> Result<Vec<u8>, TlsError> {
        match self {
            PemSource::Inline { text, .. } => Ok(text.as_bytes().to_vec()),
            PemSource::File { path, .. } => std::fs::read(path).map_err(|e| {
                let what = match e.kind() {
                    std::io::ErrorKind::NotFound => "file not found".to_string(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    _ => format!("cannot be read: {e}"),
                };
                TlsError::new(format!("{}: {what}", self.describe()))
            }),
        }
    }
}

/// Every certificate in `bytes`; at least one.
pub fn certificates(
    source: &PemSource<'_>,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(format!("{}: invalid PEM: {e}", source.describe())))?;
    if certs.is_empty() {
        return Err(TlsError::new(format!(
            "{}: not PEM certificates (no `-----BEGIN CERTIFICATE-----` block)",
            source.describe()
        )));
    }
    Ok(certs)
}

/// The one private key in `bytes`.
pub fn private_key(
    source: &PemSource<'_>,
    bytes: &[u8],
) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::new(format!(
            "{}: no PEM private key (expected a `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY` block)",
            source.describe()
        )),
        other => TlsError::new(format!("{}: invalid PEM: {other}", source.describe())),
    })
}

/// Refuses a leaf certificate outside its validity period: it would only fail later, in every
/// peer's handshake.
pub fn check_validity(
    source: &PemSource<'_>,
    leaf: &CertificateDer<'_>,
    now: SystemTime,
) -> Result<(), TlsError> {
    match standing(leaf, now) {
        Standing::Valid => Ok(()),
        Standing::Expired(at) => Err(TlsError::new(format!(
            "{}: the certificate expired on {at}",
            source.describe()
        ))),
        Standing::NotYetValid(at) => Err(TlsError::new(format!(
            "{}: the certificate is not valid before {at}",
            source.describe()
        ))),
    }
}

/// A certificate chain and its key, checked: readable, in date, and the key belongs to the
/// leaf certificate.
pub fn certified_key(
    cert: &PemSource<'_>,
    cert_bytes: &[u8],
    key: &PemSource<'_>,
    key_bytes: &[u8],
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = certificates(cert, cert_bytes)?;
    let der = private_key(key, key_bytes)?;
    if let Some(leaf) = chain.first() {
        check_validity(cert, leaf, SystemTime::now())?;
    }
    let signing = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| TlsError::new(format!("{}: unsupported private key: {e}", key.describe())))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(Arc::new(certified)),
        // rustls cannot compare every key type; the handshake still proves possession.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(_) => Err(TlsError::new(format!(
            "{}: the key does not match the certificate in {}",
            key.describe(),
            cert.describe()
        ))),
    }
}

/// A root store of the CA certificates in `bytes`.
pub fn root_store(source: &PemSource<'_>, bytes: &[u8]) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(source, bytes)? {
        roots.add(cert).map_err(|e| {
            TlsError::new(format!(
                "{}: not a usable CA certificate: {e}",
                source.describe()
            ))
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn inline<'a>(field: &'a str, text: &'a str) -> PemSource<'a> {
        PemSource::Inline { field, text }
    }

    #[test]
    fn a_matching_pair_loads() {
        let (cert, key) = pair();
        certified_key(
            &inline("tls.cert_pem", &cert),
            cert.as_bytes(),
            &inline("tls.key_pem", &key),
            key.as_bytes(),
            &provider(),
        )
        .expect("pair loads");
    }

    #[test]
    fn a_key_of_another_certificate_is_named_as_such() {
        let (cert, _) = pair();
        let (_, other_key) = pair();
        let err = certified_key(
            &PemSource::File {
                field: "tls.cert_file",
                path: "/c.pem",
            },
            cert.as_bytes(),
            &PemSource::File {
                field: "tls.key_file",
                path: "/k.pem",
            },
            other_key.as_bytes(),
            &provider(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tls.key_file `/k.pem`: the key does not match the certificate in tls.cert_file `/c.pem`"
        );
    }

    #[test]
    fn missing_files_and_non_pem_content_are_named() {
        let missing = PemSource::File {
            field: "tls.cert_file",
            path: "/nonexistent/weir-cert.pem",
        };
        assert_eq!(
            missing.read().unwrap_err().to_string(),
            "tls.cert_file `/nonexistent/weir-cert.pem`: file not found"
        );
        let source = inline("tls.cert_pem", "hello");
        let err = certificates(&source, b"hello").unwrap_err();
        assert!(err.to_string().contains("not PEM certificates"), "{err}");
        let (cert, _) = pair();
        let err = private_key(&inline("tls.key_pem", ""), cert.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("no PEM private key"), "{err}");
    }

    #[test]
    fn an_expired_certificate_is_refused_with_its_date() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let cert = params.self_signed(&key).unwrap().pem();
        let key = key.serialize_pem();
        let err = certified_key(
            &inline("tls.cert_pem", &cert),
            cert.as_bytes(),
            &inline("tls.key_pem", &key),
            key.as_bytes(),
            &provider(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tls.cert_pem: the certificate expired on 2001-01-01 00:00:00 UTC"
        );
    }
}
