//! Certificates made for a test with rcgen: a CA, server and client certificates it signs (or
//! that another CA signs, or that have expired), written as PEM files in a temporary folder
//! that the Weir config and curl can name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A CA and the folder its files go to.
pub struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and key written to files.
#[derive(Clone, Debug)]
pub struct Issued {
    /// PEM of the certificate.
    pub cert_pem: String,
    /// PEM of the private key.
    pub key_pem: String,
    /// Its certificate file.
    pub cert: PathBuf,
    /// Its key file.
    pub key: PathBuf,
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A server named `localhost` and `127.0.0.1`.
    Server,
    /// A client.
    Client,
}

impl Pki {
    /// A new CA called `name`, its certificate written to `<name>-ca.pem`.
    pub fn new(name: &str) -> Pki {
        let dir = tempfile::tempdir().expect("temporary folder for certificates");
        let ca = Self::ca(name);
        std::fs::write(dir.path().join(format!("{name}-ca.pem")), ca.pem()).expect("write CA");
        Pki { dir, ca }
    }

    fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate")
    }

    /// The folder the files are in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA certificate's PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate's file.
    pub fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("ca.pem");
        if !path.exists() {
            std::fs::write(&path, self.ca.pem()).expect("write CA file");
        }
        path
    }

    /// A certificate for `role`, valid now, written as `<file>.pem` and `<file>.key`.
    pub fn issue(&self, role: Role, file: &str) -> Issued {
        self.issue_dated(role, file, None)
    }

    /// A certificate that expired in 2001.
    pub fn issue_expired(&self, role: Role, file: &str) -> Issued {
        self.issue_dated(role, file, Some((2000, 2001)))
    }

    fn issue_dated(&self, role: Role, file: &str, years: Option<(i32, i32)>) -> Issued {
        let names = match role {
            Role::Server => vec!["localhost".to_string(), "127.0.0.1".to_string()],
            Role::Client => vec!["weir-test-client".to_string()],
        };
        let mut params = CertificateParams::new(names).expect("certificate params");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("weir test {file}"));
        params.extended_key_usages = vec![match role {
            Role::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Role::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        if let Some((from, to)) = years {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(to, 1, 1);
        }
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.ca)
            .expect("signed certificate");
        let issued = Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert: self.dir.path().join(format!("{file}.pem")),
            key: self.dir.path().join(format!("{file}.key")),
        };
        std::fs::write(&issued.cert, &issued.cert_pem).expect("write certificate");
        std::fs::write(&issued.key, &issued.key_pem).expect("write key");
        issued
    }

    /// An X.509 v1 client certificate (no extensions at all) signed by this CA, made with the
    /// `openssl` CLI (`x509 -req` without `-extfile` makes v1; rcgen only makes v3), written as
    /// `<file>.pem` and `<file>.key`.
    pub fn issue_v1_with_openssl(&self, file: &str) -> Issued {
        let dir = self.dir.path();
        let ca_key = dir.join("ca-key-for-openssl.key");
        std::fs::write(&ca_key, self.ca.key().serialize_pem()).expect("write CA key");
        let cert = dir.join(format!("{file}.pem"));
        let key = dir.join(format!("{file}.key"));
        let csr = dir.join(format!("{file}.csr"));
        let openssl = |args: &[&std::ffi::OsStr]| {
            let output = std::process::Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl runs (.ci/run installs it)");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let os = |s: &'static str| std::ffi::OsStr::new(s);
        openssl(&[
            os("req"),
            os("-new"),
            os("-newkey"),
            os("ec"),
            os("-pkeyopt"),
            os("ec_paramgen_curve:prime256v1"),
            os("-nodes"),
            os("-subj"),
            os("/CN=weir-test-v1-client"),
            os("-keyout"),
            key.as_os_str(),
            os("-out"),
            csr.as_os_str(),
        ]);
        openssl(&[
            os("x509"),
            os("-req"),
            os("-in"),
            csr.as_os_str(),
            os("-CA"),
            self.ca_file().as_os_str(),
            os("-CAkey"),
            ca_key.as_os_str(),
            os("-set_serial"),
            os("4242"),
            os("-days"),
            os("30"),
            os("-out"),
            cert.as_os_str(),
        ]);
        Issued {
            cert_pem: std::fs::read_to_string(&cert).expect("read v1 certificate"),
            key_pem: std::fs::read_to_string(&key).expect("read v1 key"),
            cert,
            key,
        }
    }

    /// A rustls client config trusting this CA that presents `client` as it is: rustls's
    /// `with_client_auth_cert` parses the certificate first and so cannot present what a
    /// server must refuse (an X.509 v1 certificate).
    pub fn client_config_presenting_unchecked(
        &self,
        client: &Issued,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes())
            .expect("client key PEM");
        let key = provider
            .key_provider
            .load_private_key(key)
            .expect("client key");
        let chain = vec![
            rustls_pki_types::CertificateDer::from_pem_slice(client.cert_pem.as_bytes())
                .expect("client certificate PEM"),
        ];
        let certified = Arc::new(rustls::sign::CertifiedKey::new(chain, key));
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("CA as root");
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(Present(certified)));
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }

    /// A rustls server config for a test backend serving `server`, requiring client
    /// certificates from this CA when `mtls`.
    pub fn server_config(&self, server: &Issued, mtls: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if mtls {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.der().clone()).expect("CA as root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let certs = vec![
            rustls_pki_types::CertificateDer::from_pem_slice(server.cert_pem.as_bytes())
                .expect("certificate PEM"),
        ];
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes())
            .expect("key PEM");
        let mut config = builder
            .with_single_cert(certs, key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A rustls client config trusting this CA, presenting `client` when given.
    pub fn client_config(
        &self,
        client: Option<&Issued>,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("CA as root");
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
        let mut config = match client {
            Some(client) => builder
                .with_client_auth_cert(
                    vec![
                        rustls_pki_types::CertificateDer::from_pem_slice(
                            client.cert_pem.as_bytes(),
                        )
                        .expect("client certificate PEM"),
                    ],
                    rustls_pki_types::PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes())
                        .expect("client key PEM"),
                )
                .expect("client certificate"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        // A resumed session carries no certificate: each connection must show what the server
        // serves now.
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }
}

use rustls_pki_types::pem::PemObject;

/// Presents one certificate whatever the server asks for.
#[derive(Debug)]
struct Present(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Present {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
