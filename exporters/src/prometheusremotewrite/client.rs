//! The remote write client: one POST per request through hyper's pooled client (TLS through
//! `weir_core`'s connector, credentials from an authenticator extension), and the
//! classification of responses as remote write 1.0 asks: 2xx accepted; 5xx and 429 worth
//! retrying, after `Retry-After` when given; any other status refused for good, with the
//! server's reason (its body) in the error.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use weir_core::component::{BuildError, ClientAuthenticator, CreateSettings, ExportError};
use weir_core::net::error_chain;
use weir_core::net::rpc_status::parse_retry_after;
use weir_core::net::tls::Connector;

use crate::http_client::{authenticator, configured_headers, http1_client};

use super::config::RemoteWriteConfig;

/// Largest response body read: error reasons are short; a larger body is cut off.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Longest piece of the server's reason quoted in an error.
const MAX_QUOTED_BODY: usize = 512;

/// The version header remote write 1.0 receivers check.
const VERSION_HEADER: &str = "x-prometheus-remote-write-version";

/// A pooled client POSTing to one URL.
pub(crate) struct RemoteWriteClient {
    client: Client<Connector, Full<Bytes>>,
    url: Uri,
    headers: HeaderMap,
    auth: Option<Arc<dyn ClientAuthenticator>>,
    timeout: Duration,
}

impl RemoteWriteClient {
    pub(crate) fn new(
        config: &RemoteWriteConfig,
        settings: &CreateSettings,
    ) -> Result<Self, BuildError> {
        let url = config.url().map_err(BuildError)?;
        let mut headers = configured_headers(&config.headers)?;
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            HeaderName::from_static(VERSION_HEADER),
            HeaderValue::from_static("0.1.0"),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("weir/", env!("CARGO_PKG_VERSION"))),
        );
        let auth = authenticator(config.auth.as_ref(), settings)?;
        let client = http1_client(&config.tls, config.uses_tls())?;
        Ok(RemoteWriteClient {
            client,
            url,
            headers,
            auth,
            timeout: config.timeout,
        })
    }

    /// POSTs one compressed request and classifies the answer.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), ExportError> {
        let url = &self.url;
        let outcome = tokio::time::timeout(self.timeout, self.post(body)).await;
        let (status, headers, body) = match outcome {
            Err(_elapsed) => {
                return Err(ExportError::Retryable {
                    retry_after: None,
                    reason: format!("POST {url} timed out after {:?}", self.timeout),
                });
            }
            Ok(Err(reason)) => {
                return Err(ExportError::Retryable {
                    retry_after: None,
                    reason: format!("POST {url}: {reason}"),
                });
            }
            Ok(Ok(response)) => response,
        };
        classify(status, &headers, &body, SystemTime::now())
    }

    async fn post(&self, body: Bytes) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.url.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(auth) = &self.auth {
            let credentials = auth
                .headers()
                .map_err(|e| format!("no credentials to send: {}", e.0))?;
            for (name, value) in credentials {
                request.headers_mut().insert(name, value);
            }
        }
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| error_chain(&e))?;
        let (parts, body) = response.into_parts();
        // The status decides; a body that breaks off only loses the detail.
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Ok((parts.status, parts.headers, body))
    }
}

/// 2xx accepted; 429 and 5xx retryable (after `Retry-After`); everything else permanent.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), ExportError> {
    if status.is_success() {
        return Ok(());
    }
    let mut reason = format!("HTTP {status}");
    let quoted = quote_body(body);
    if !quoted.is_empty() {
        reason.push_str(": ");
        reason.push_str(&quoted);
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        return Err(ExportError::Retryable {
            retry_after,
            reason,
        });
    }
    Err(ExportError::Permanent { reason })
}

/// `Retry-After` in seconds or as an HTTP date (one in the past means now).
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_retry_after(value).or_else(|| {
        let at = httpdate::parse_http_date(value.trim()).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    })
}

/// The start of the server's answer on one line.
fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut quoted: String = text
        .chars()
        .take(MAX_QUOTED_BODY)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX_QUOTED_BODY {
        quoted.push('…');
    }
    quoted.trim().to_string()
}
