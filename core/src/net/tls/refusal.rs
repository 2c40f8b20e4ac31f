//! Why a TLS handshake a server accepted a connection for did not complete, in words a user
//! can act on: a `reason` label for `weir_receiver_tls_handshake_failures_total` and a message
//! saying what is wrong and what to do.
//!
//! tokio-rustls hands back an `io::Error`: rustls's own error wrapped as `InvalidData`, or the
//! socket's error (the client closed or reset the connection). rustls reports a certificate
//! webpki could not parse as X.509 v3 as `CertificateError::Other` holding webpki's
//! `UnsupportedCertVersion`, which is only reachable through its text (webpki's `Display` is its
//! variant name) without depending on webpki directly.

use std::io;

use rustls::{AlertDescription, CertificateError, Error as TlsError};

/// A classified handshake failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeRefusal {
    /// The metric label: `no_client_certificate`, `unknown_ca`, `expired`, ...
    pub reason: &'static str,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl HandshakeRefusal {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        HandshakeRefusal {
            reason,
            message: message.into(),
        }
    }

    /// The client did not finish the handshake within the server's header read timeout.
    pub fn timed_out() -> Self {
        Self::new(
            "timeout",
            "the client did not complete the TLS handshake in time (read_header_timeout); a \
             client that opens connections and sends nothing, or a very slow network",
        )
    }

    /// Classifies what the handshake returned.
    pub fn classify(error: &io::Error) -> Self {
        if let Some(tls) = error.get_ref().and_then(|e| e.downcast_ref::<TlsError>()) {
            return Self::of_tls(tls);
        }
        match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Self::new(
                "closed",
                "the client closed the connection during the TLS handshake (TCP health checks \
                 do this; a TLS client that does it usually did not like the server's \
                 certificate: see the client's own log)",
            ),
            _ => Self::new("other", format!("TLS handshake failed: {error}")),
        }
    }

    fn of_tls(error: &TlsError) -> Self {
        match error {
            TlsError::NoCertificatesPresented => Self::new(
                "no_client_certificate",
                "the client sent no certificate, and this server requires one (tls.client_ca_file \
                 is set): configure the client with a certificate and key signed by a CA in \
                 client_ca_file, or remove client_ca_file to stop requiring one",
            ),
            TlsError::InvalidCertificate(cert) => Self::of_certificate(cert),
            TlsError::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
            | TlsError::InvalidMessage(rustls::InvalidMessage::UnknownProtocolVersion) => {
                Self::new(
                    "not_tls",
                    "the client does not speak TLS (plain HTTP or gRPC to a TLS port?): use \
                     https:// in the client's endpoint, or enable TLS in the client",
                )
            }
            TlsError::AlertReceived(alert) => Self::of_alert(*alert),
            TlsError::PeerIncompatible(why) => Self::new(
                "incompatible_version_or_cipher",
                format!(
                    "the client and this server share no TLS version, cipher suite or \
                     signature scheme ({why:?}): check the client's TLS settings against \
                     tls.min_version and tls.max_version (rustls offers TLS 1.2 and 1.3 with \
                     modern ciphers only)"
                ),
            ),
            TlsError::NoApplicationProtocol => Self::new(
                "incompatible_version_or_cipher",
                "the client offered no application protocol (ALPN) this server speaks: gRPC \
                 needs h2, OTLP/HTTP h2 or http/1.1",
            ),
            other => Self::new("other", format!("TLS handshake failed: {other}")),
        }
    }

    fn of_certificate(error: &CertificateError) -> Self {
        use CertificateError as E;
        match error {
            E::UnknownIssuer => Self::new(
                "unknown_ca",
                "the client's certificate is not signed by a CA this server trusts: add its CA \
                 to the file named by tls.client_ca_file, or issue the client a certificate \
                 from one of those CAs (the client must also send any intermediate CAs)",
            ),
            E::Expired | E::ExpiredContext { .. } => Self::new(
                "expired",
                format!(
                    "the client's certificate has expired ({}): renew it, and check the \
                     client's clock",
                    describe(error)
                ),
            ),
            E::NotValidYet | E::NotValidYetContext { .. } => Self::new(
                "not_yet_valid",
                format!(
                    "the client's certificate is not valid yet ({}): check the clocks of the \
                     client, the issuing CA and this host",
                    describe(error)
                ),
            ),
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => Self::new(
                "wrong_key_usage",
                format!(
                    "the client's certificate is not allowed for client authentication ({}): \
                     reissue it with extended key usage clientAuth",
                    describe(error)
                ),
            ),
            E::BadSignature => Self::new(
                "bad_signature",
                "the client's certificate signature does not verify against its issuer: the \
                 certificate was altered or the issuing CA's key changed; reissue it",
            ),
            #[allow(deprecated)]
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext { .. }
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => Self::new(
                "bad_signature",
                "the client's certificate is signed with an algorithm rustls does not accept \
                 (such as SHA-1 or DSA): reissue it with ECDSA, Ed25519 or RSA with SHA-256 or \
                 better",
            ),
            E::Revoked => Self::new(
                "revoked",
                "the client's certificate is revoked: issue the client a new certificate",
            ),
            E::Other(other) if other.to_string() == "UnsupportedCertVersion" => Self::new(
                "not_x509_v3",
                "the client's certificate is X.509 v1 or v2 (it has no v3 extensions); rustls \
                 accepts only X.509 v3 certificates, although some other collectors accept \
                 older ones: reissue it as v3 (with openssl, sign it with `-extfile` naming \
                 basicConstraints=CA:FALSE and extendedKeyUsage=clientAuth)",
            ),
            other => Self::new(
                "other",
                format!("the client's certificate was refused: {other}"),
            ),
        }
    }

    fn of_alert(alert: AlertDescription) -> Self {
        use AlertDescription as A;
        match alert {
            A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::DecryptError => Self::new(
                "client_rejected_server_certificate",
                format!(
                    "the client refused this server's certificate (alert {alert:?}): the \
                     client must trust the CA that signed tls.cert_file, connect by a name the \
                     certificate lists, and the certificate must be valid now"
                ),
            ),
            A::ProtocolVersion | A::HandshakeFailure | A::InsufficientSecurity => Self::new(
                "incompatible_version_or_cipher",
                format!(
                    "the client found no TLS version or cipher suite it accepts (alert \
                     {alert:?}): check tls.min_version and tls.max_version against the client"
                ),
            ),
            A::NoApplicationProtocol => Self::new(
                "incompatible_version_or_cipher",
                "the client found no application protocol (ALPN) it accepts",
            ),
            other => Self::new(
                "other",
                format!("the client ended the handshake with alert {other:?}"),
            ),
        }
    }
}

/// rustls's text of a certificate error, which carries the dates where it has them.
fn describe(error: &CertificateError) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn wrapped(error: TlsError) -> io::Error {
        // As tokio-rustls returns it.
        io::Error::new(io::ErrorKind::InvalidData, error)
    }

    fn reason(error: TlsError) -> &'static str {
        HandshakeRefusal::classify(&wrapped(error)).reason
    }

    #[derive(Debug)]
    struct WebpkiLike(&'static str);
    impl std::fmt::Display for WebpkiLike {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for WebpkiLike {}

    fn other_certificate_error(text: &'static str) -> TlsError {
        TlsError::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
            WebpkiLike(text),
        ))))
    }

    #[test]
    fn certificate_errors_get_their_own_reasons() {
        assert_eq!(
            reason(TlsError::NoCertificatesPresented),
            "no_client_certificate"
        );
        assert_eq!(reason(CertificateError::UnknownIssuer.into()), "unknown_ca");
        assert_eq!(reason(CertificateError::Expired.into()), "expired");
        assert_eq!(
            reason(CertificateError::NotValidYet.into()),
            "not_yet_valid"
        );
        assert_eq!(
            reason(CertificateError::InvalidPurpose.into()),
            "wrong_key_usage"
        );
        assert_eq!(
            reason(CertificateError::BadSignature.into()),
            "bad_signature"
        );
        assert_eq!(reason(CertificateError::Revoked.into()), "revoked");
        assert_eq!(reason(CertificateError::BadEncoding.into()), "other");
    }

    #[test]
    fn a_v1_certificate_is_named_as_such_with_what_to_do() {
        let refusal =
            HandshakeRefusal::classify(&wrapped(other_certificate_error("UnsupportedCertVersion")));
        assert_eq!(refusal.reason, "not_x509_v3");
        assert!(refusal.message.contains("X.509 v3"), "{}", refusal.message);
        assert_eq!(reason(other_certificate_error("SomethingElse")), "other");
    }

    #[test]
    fn an_unknown_ca_message_names_the_option_that_lists_the_cas() {
        let refusal = HandshakeRefusal::classify(&wrapped(CertificateError::UnknownIssuer.into()));
        assert!(
            refusal.message.contains("client_ca_file"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn plain_http_to_a_tls_port_is_not_tls() {
        assert_eq!(
            reason(TlsError::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            )),
            "not_tls"
        );
    }

    #[test]
    fn alerts_from_the_client_say_who_refused_what() {
        assert_eq!(
            reason(TlsError::AlertReceived(AlertDescription::UnknownCA)),
            "client_rejected_server_certificate"
        );
        assert_eq!(
            reason(TlsError::AlertReceived(AlertDescription::ProtocolVersion)),
            "incompatible_version_or_cipher"
        );
        assert_eq!(
            reason(TlsError::PeerIncompatible(
                rustls::PeerIncompatible::NoCipherSuitesInCommon
            )),
            "incompatible_version_or_cipher"
        );
    }

    #[test]
    fn socket_errors_and_timeouts_are_closed_and_timeout() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert_eq!(HandshakeRefusal::classify(&eof).reason, "closed");
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(HandshakeRefusal::classify(&reset).reason, "closed");
        let odd = io::Error::other("something");
        assert_eq!(HandshakeRefusal::classify(&odd).reason, "other");
        assert_eq!(HandshakeRefusal::timed_out().reason, "timeout");
    }
}
