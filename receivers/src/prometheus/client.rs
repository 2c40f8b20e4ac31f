//! One job's HTTP client: the scrape request as Prometheus makes it (`Accept` from
//! `scrape_protocols`, gzip, `X-Prometheus-Scrape-Timeout-Seconds`, credentials), redirects
//! followed, and the body read within `body_size_limit`.

use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, LOCATION, USER_AGENT,
};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use weir_core::net::tls::{ClientTlsConfig, Connector, TlsVersion};
use weir_core::net::{Compression, decompress_bytes, error_chain};

use super::config::{Job, PromTlsVersion, ScrapeConfig};

/// A scrape that did not give a body to parse, as `up` 0's logged reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{0}")]
    Request(String),
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("scrape timed out after {0:?}")]
    Timeout(Duration),
    #[error("body size limit exceeded ({0} bytes)")]
    TooLarge(u64),
    #[error("could not read credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    Body(String),
}

impl FetchError {
    /// The `reason` label of the failure counter.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            FetchError::Request(_) => "connection",
            FetchError::Status(_) => "http_status",
            FetchError::Timeout(_) => "timeout",
            FetchError::TooLarge(_) => "body_size_limit",
            FetchError::Credentials(_) => "credentials",
            FetchError::Body(_) => "body",
        }
    }
}

/// What a scrape fetched.
pub(crate) struct Fetched {
    /// The uncompressed body.
    pub body: Bytes,
    pub content_type: Option<String>,
}

pub(crate) struct ScrapeClient {
    client: Client<Connector, Empty<Bytes>>,
    accept: HeaderValue,
    compression: bool,
    follow_redirects: bool,
    body_limit: u64,
    timeout: Duration,
    config: ScrapeConfig,
}

/// Prometheus's `Accept`: each protocol with a falling `q`, then `*/*` last.
fn accept_header(job: &Job) -> HeaderValue {
    let mut parts = Vec::new();
    let mut q = 0.5f64;
    for (i, p) in job.protocols.iter().enumerate() {
        if i == 0 {
            parts.push(p.media_type().to_string());
        } else {
            parts.push(format!("{};q={:.1}", p.media_type(), q));
            q = (q - 0.1).max(0.1);
        }
    }
    parts.push(format!("*/*;q={:.1}", (q - 0.1).max(0.1)));
    HeaderValue::from_str(&parts.join(",")).unwrap_or(HeaderValue::from_static("*/*"))
}

pub(crate) fn tls_config(job: &Job) -> ClientTlsConfig {
    let tls = &job.config.tls_config;
    let version = |v: PromTlsVersion| match v {
        PromTlsVersion::Tls12 => TlsVersion::V1_2,
        PromTlsVersion::Tls13 => TlsVersion::V1_3,
    };
    ClientTlsConfig {
        insecure: None,
        insecure_skip_verify: tls.insecure_skip_verify,
        ca_file: tls.ca_file.clone(),
        ca_pem: tls.ca.clone(),
        cert_file: tls.cert_file.clone(),
        cert_pem: tls.cert.clone(),
        key_file: tls.key_file.clone(),
        key_pem: tls.key.clone(),
        server_name_override: tls.server_name.clone(),
        min_version: tls.min_version.map(version),
        max_version: tls.max_version.map(version),
    }
}

impl ScrapeClient {
    pub(crate) fn new(job: &Job) -> Result<ScrapeClient, String> {
        let connector = Connector::for_exporter(
            &tls_config(job),
            job.scheme == "https",
            &[b"http/1.1"],
            false,
        )
        .map_err(|e| format!("job `{}`: tls_config: {e}", job.name))?;
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(job.interval.max(Duration::from_secs(30)) * 2)
            .build(connector);
        Ok(ScrapeClient {
            client,
            accept: accept_header(job),
            compression: job.compression,
            follow_redirects: job.follow_redirects,
            body_limit: job.limits.body_bytes,
            timeout: job.timeout,
            config: job.config.clone(),
        })
    }

    /// The `Authorization` header, files read now (so a rotated token is picked up).
    fn authorization(&self) -> Result<Option<HeaderValue>, FetchError> {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| FetchError::Credentials(format!("{path}: {e}")))
        };
        let value = if let Some(basic) = &self.config.basic_auth {
            let user = match &basic.username_file {
                Some(path) => read(path)?,
                None => basic.username.clone(),
            };
            let password = match (&basic.password, &basic.password_file) {
                (Some(p), _) => p.expose().to_string(),
                (None, Some(path)) => read(path)?,
                (None, None) => String::new(),
            };
            use base64::Engine;
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        } else if let Some(auth) = &self.config.authorization {
            let kind = auth.kind.clone().unwrap_or_else(|| "Bearer".to_string());
            let credentials = match (&auth.credentials, &auth.credentials_file) {
                (Some(c), _) => c.expose().to_string(),
                (None, Some(path)) => read(path)?,
                (None, None) => return Ok(None),
            };
            format!("{kind} {credentials}")
        } else if let Some(token) = &self.config.bearer_token {
            format!("Bearer {}", token.expose())
        } else if let Some(path) = &self.config.bearer_token_file {
            format!("Bearer {}", read(path)?)
        } else {
            return Ok(None);
        };
        HeaderValue::from_str(&value)
            .map(Some)
            .map_err(|_| FetchError::Credentials("credentials are not a valid header value".into()))
    }

    /// GETs `url` within the scrape timeout.
    pub(crate) async fn fetch(&self, url: Uri) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(self.timeout, self.fetch_inner(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch_inner(&self, mut url: Uri) -> Result<Fetched, FetchError> {
        let auth = self.authorization()?;
        let timeout_header = HeaderValue::from_str(&format!("{}", self.timeout.as_secs_f64()))
            .unwrap_or(HeaderValue::from_static("10"));
        for _ in 0..=10 {
            let mut request = Request::new(Empty::<Bytes>::new());
            *request.uri_mut() = url.clone();
            let headers = request.headers_mut();
            headers.insert(ACCEPT, self.accept.clone());
            if self.compression {
                headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
            } else {
                headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
            }
            headers.insert(
                USER_AGENT,
                HeaderValue::from_static(concat!("Weir/", env!("CARGO_PKG_VERSION"))),
            );
            headers.insert(
                "X-Prometheus-Scrape-Timeout-Seconds",
                timeout_header.clone(),
            );
            if let Some(auth) = &auth {
                headers.insert(AUTHORIZATION, auth.clone());
            }
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FetchError::Request(error_chain(&e)))?;
            let status = response.status();
            if status.is_redirection() && self.follow_redirects {
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| resolve(&url, l));
                match next {
                    Some(next) => {
                        url = next;
                        continue;
                    }
                    None => return Err(FetchError::Status(status_text(status))),
                }
            }
            if status != StatusCode::OK {
                return Err(FetchError::Status(status_text(status)));
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let gzip = response
                .headers()
                .get(CONTENT_ENCODING)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
            let limit = if self.body_limit == 0 {
                usize::MAX
            } else {
                self.body_limit as usize
            };
            let raw = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge(self.body_limit)
                    } else {
                        FetchError::Body(format!("reading the body: {e}"))
                    }
                })?
                .to_bytes();
            let body = if gzip {
                decompress_bytes(Compression::Gzip, raw, limit).map_err(|e| match e {
                    weir_core::net::DecompressError::TooLarge { .. } => {
                        FetchError::TooLarge(self.body_limit)
                    }
                    other => FetchError::Body(other.to_string()),
                })?
            } else {
                raw
            };
            return Ok(Fetched { body, content_type });
        }
        Err(FetchError::Request(
            "stopped after 10 redirects".to_string(),
        ))
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// A `Location` against the URL it answered.
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let uri: Uri = location.parse().ok()?;
    if uri.scheme().is_some() {
        return Some(uri);
    }
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(location.parse().ok()?);
    Uri::from_parts(parts).ok()
}
