//! The exporters' connector: TCP, then TLS when the URL is `https://` or the exporter asks for
//! TLS whatever the URL says (gRPC, whose channel is always given an `http://` URL so that tonic
//! leaves the handshake to us). One type serves hyper's pooled client and tonic's channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use super::client::client_config;
use super::{ClientTlsConfig, TlsError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects to `host:port` of a URI, with or without TLS.
#[derive(Clone)]
pub struct Connector {
    http: HttpConnector,
    tls: Option<tokio_rustls::TlsConnector>,
    server_name: Option<ServerName<'static>>,
    always_tls: bool,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("tls", &self.tls.is_some())
            .field("server_name", &self.server_name)
            .field("always_tls", &self.always_tls)
            .finish()
    }
}

impl Connector {
    /// A connector using `tls` for `https://` URLs (and for every URL when `always_tls`),
    /// verifying the server as `server_name` instead of the URL's host when given.
    pub fn new(
        tls: Option<Arc<ClientConfig>>,
        server_name: Option<ServerName<'static>>,
        always_tls: bool,
    ) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        // The scheme is ours to judge: HttpConnector would refuse `https://` outright.
        http.enforce_http(false);
        Connector {
            http,
            tls: tls.map(tokio_rustls::TlsConnector::from),
            server_name,
            always_tls,
        }
    }
}

impl Connector {
    /// The connector an exporter with `config` uses: TLS set up from `config` when `uses_tls`
    /// (offering `alpn`), `server_name_override` applied, TLS for every URL when `always_tls`
    /// and TLS is on.
    pub fn for_exporter(
        config: &ClientTlsConfig,
        uses_tls: bool,
        alpn: &[&[u8]],
        always_tls: bool,
    ) -> Result<Self, TlsError> {
        let tls = if uses_tls {
            Some(client_config(config, "tls", alpn)?)
        } else {
            None
        };
        let server_name = config
            .server_name_override
            .as_ref()
            .map(|name| {
                ServerName::try_from(name.clone())
                    .map_err(|e| TlsError::new(format!("tls.server_name_override `{name}`: {e}")))
            })
            .transpose()?;
        let always_tls = always_tls && tls.is_some();
        Ok(Connector::new(tls, server_name, always_tls))
    }
}

/// A connection, plaintext or TLS.
pub enum MaybeTlsStream {
    /// Plaintext TCP.
    Plain(TokioIo<TcpStream>),
    /// TLS over TCP.
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl tower::Service<Uri> for Connector {
    type Response = MaybeTlsStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeTlsStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::<Uri>::poll_ready(&mut self.http, cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let wants_tls = self.always_tls || uri.scheme_str() == Some("https");
        let tls = self.tls.clone();
        let name = self.server_name.clone();
        let connecting = tower::Service::call(&mut self.http, uri.clone());
        Box::pin(async move {
            let tcp = connecting.await?;
            if !wants_tls {
                return Ok(MaybeTlsStream::Plain(tcp));
            }
            let Some(tls) = tls else {
                return Err(format!("{uri}: TLS is needed but not configured").into());
            };
            let name = match name {
                Some(name) => name,
                None => {
                    let host = uri.host().unwrap_or_default();
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    ServerName::try_from(host.to_string())
                        .map_err(|e| format!("`{host}` cannot be verified by TLS: {e}"))?
                }
            };
            let stream = tls
                .connect(name.clone(), tcp.into_inner())
                .await
                .map_err(|e| format!("TLS handshake with {} failed: {e}", name.to_str()))?;
            Ok(MaybeTlsStream::Tls(Box::new(TokioIo::new(stream))))
        })
    }
}

impl Connection for MaybeTlsStream {
    fn connected(&self) -> Connected {
        match self {
            MaybeTlsStream::Plain(s) => s.connected(),
            MaybeTlsStream::Tls(s) => {
                let (tcp, session) = s.inner().get_ref();
                let connected = tcp.connected();
                if session.alpn_protocol() == Some(b"h2") {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl hyper::rt::Read for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::net::tls::config::{ClientTlsConfig, ServerTlsConfig, TlsVersion};
    use crate::net::tls::{ServerTls, client_config};

    /// A self-signed certificate for `name`, as inline PEM.
    fn self_signed(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    /// A TLS server on a free port that answers each connection with `ok` and closes.
    async fn server(cert: &str, key: &str, max_version: Option<TlsVersion>) -> u16 {
        let config = ServerTlsConfig {
            cert_pem: Some(cert.to_string()),
            key_pem: Some(crate::config::Secret::new(key)),
            max_version,
            ..ServerTlsConfig::default()
        };
        let tls = ServerTls::build(&config, "tls", &[]).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = tls.acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut stream) = acceptor.accept(tcp).await {
                        let _ = stream.write_all(b"ok").await;
                        let _ = stream.shutdown().await;
                    }
                });
            }
        });
        port
    }

    async fn fetch(config: &ClientTlsConfig, port: u16) -> Result<String, String> {
        let tls = client_config(config, "tls", &[]).map_err(|e| e.to_string())?;
        let name = config
            .server_name_override
            .clone()
            .map(|n| ServerName::try_from(n).unwrap());
        let mut connector = Connector::new(Some(tls), name, false);
        let uri: Uri = format!("https://127.0.0.1:{port}").parse().unwrap();
        let stream = tower::Service::call(&mut connector, uri)
            .await
            .map_err(|e| e.to_string())?;
        let MaybeTlsStream::Tls(stream) = stream else {
            return Err("plaintext".into());
        };
        let mut stream = stream.into_inner();
        let mut text = String::new();
        stream
            .read_to_string(&mut text)
            .await
            .map_err(|e| e.to_string())?;
        Ok(text)
    }

    #[tokio::test]
    async fn server_name_override_verifies_a_certificate_for_another_name() {
        let (cert, key) = self_signed("backend.internal");
        let port = server(&cert, &key, None).await;
        let trusting = ClientTlsConfig {
            ca_pem: Some(cert.clone()),
            ..ClientTlsConfig::default()
        };
        let err = fetch(&trusting, port).await.unwrap_err();
        assert!(err.contains("certificate"), "{err}");
        let overridden = ClientTlsConfig {
            server_name_override: Some("backend.internal".into()),
            ..trusting
        };
        assert_eq!(fetch(&overridden, port).await.as_deref(), Ok("ok"));
    }

    #[tokio::test]
    async fn insecure_skip_verify_accepts_an_unknown_certificate_and_verification_refuses_it() {
        let (cert, key) = self_signed("localhost");
        let (other_ca, _) = self_signed("someone-else");
        let port = server(&cert, &key, None).await;
        let verifying = ClientTlsConfig {
            ca_pem: Some(other_ca),
            ..ClientTlsConfig::default()
        };
        let err = fetch(&verifying, port).await.unwrap_err();
        // rcgen gives both certificates the same subject, so rustls reports the signature.
        assert!(err.contains("invalid peer certificate"), "{err}");
        let skipping = ClientTlsConfig {
            insecure_skip_verify: true,
            ..ClientTlsConfig::default()
        };
        assert_eq!(fetch(&skipping, port).await.as_deref(), Ok("ok"));
    }

    #[tokio::test]
    async fn min_version_1_3_refuses_a_server_that_stops_at_1_2() {
        let (cert, key) = self_signed("localhost");
        let port = server(&cert, &key, Some(TlsVersion::V1_2)).await;
        let base = ClientTlsConfig {
            ca_pem: Some(cert),
            server_name_override: Some("localhost".into()),
            ..ClientTlsConfig::default()
        };
        assert_eq!(fetch(&base, port).await.as_deref(), Ok("ok"));
        let strict = ClientTlsConfig {
            min_version: Some(TlsVersion::V1_3),
            ..base
        };
        assert!(fetch(&strict, port).await.is_err());
    }
}
