//! The OTLP/HTTP client: one POST per batch through hyper's pooled client, and the
//! classification of responses as otelcol's `otlphttp` exporter does.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use weir_core::batch::json::{decode_response_json, encode_json};
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, ClientAuthenticator, CreateSettings, Delivered, ExportError, Exporter,
};
use weir_core::net::rpc_status::parse_retry_after;
use weir_core::net::tls::Connector;

use crate::http_client::{authenticator, configured_headers, http1_client};
use weir_core::net::{Compression, RpcStatus, compress, decompress_bytes, error_chain};

use super::config::{Encoding, OtlpHttpConfig};

/// Largest response body read: OTLP responses are a few bytes, error pages rarely more; a
/// larger body is cut off rather than buffered.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Longest piece of a non-`Status` error body quoted in an error message.
const MAX_QUOTED_BODY: usize = 256;

/// One exporter instance: a pooled client shared by all concurrent exports.
pub(crate) struct HttpExporter {
    id: String,
    client: Client<Connector, Full<Bytes>>,
    /// Adds credentials to each request (`auth`).
    auth: Option<Arc<dyn ClientAuthenticator>>,
    /// Indexed like [`Signal::ALL`].
    urls: [Option<Uri>; 3],
    /// Configured headers plus content type, encoding and user agent, built once.
    headers: HeaderMap,
    encoding: Encoding,
    compression: Compression,
    timeout: Duration,
}

/// Why a request did not produce a response.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("could not encode the batch: {0}")]
    Encode(String),
    #[error("request failed: {}", error_chain(.0))]
    Request(#[from] hyper_util::client::legacy::Error),
    #[error("no credentials to send: {0}")]
    Auth(String),
}

impl HttpExporter {
    pub(crate) fn new(
        config: &OtlpHttpConfig,
        settings: &CreateSettings,
    ) -> Result<Self, BuildError> {
        let id = settings.id.to_string();
        let urls = Signal::ALL.map(|signal| config.signal_url(signal));
        let mut headers = configured_headers(&config.headers)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(config.encoding.content_type()),
        );
        if !config.compression.is_none() {
            headers.insert(
                CONTENT_ENCODING,
                HeaderValue::from_static(config.compression.as_header_value()),
            );
        }
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("weir/", env!("CARGO_PKG_VERSION"))),
        );
        let auth = authenticator(config.auth.as_ref(), settings)?;
        let client = http1_client(&config.tls, config.uses_tls())?;
        Ok(HttpExporter {
            id,
            client,
            auth,
            urls,
            headers,
            encoding: config.encoding,
            compression: config.compression,
            timeout: config.timeout,
        })
    }

    fn url(&self, signal: Signal) -> Option<&Uri> {
        let index = Signal::ALL.iter().position(|s| *s == signal)?;
        self.urls.get(index)?.as_ref()
    }

    /// The request body: the batch's protobuf bytes as they are, or OTLP/JSON; then compressed.
    fn body(&self, batch: &Batch) -> Result<Bytes, SendError> {
        let encoded = match self.encoding {
            Encoding::Proto => batch.to_bytes(),
            Encoding::Json => {
                let request = batch
                    .decoded()
                    .map_err(|e| SendError::Encode(e.to_string()))?;
                Bytes::from(encode_json(&request))
            }
        };
        if self.compression.is_none() {
            return Ok(encoded);
        }
        compress(self.compression, &encoded)
            .map(Bytes::from)
            .map_err(|e| SendError::Encode(e.to_string()))
    }

    async fn send(&self, url: &Uri, body: Bytes) -> Result<(Response<()>, Bytes), SendError> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = url.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(auth) = &self.auth {
            for (name, value) in auth.headers().map_err(|e| SendError::Auth(e.0))? {
                request.headers_mut().insert(name, value);
            }
        }
        let response = self.client.request(request).await?;
        let (parts, body) = response.into_parts();
        let bytes = self.read_limited(body).await;
        Ok((Response::from_parts(parts, ()), bytes))
    }

    /// The response body, or nothing when it is too large or breaks off: the status code has
    /// already decided the outcome, and the body only adds detail to it.
    async fn read_limited(&self, body: Incoming) -> Bytes {
        match Limited::new(body, MAX_RESPONSE_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                tracing::debug!(exporter = %self.id, error = %e, "export response body not read");
                Bytes::new()
            }
        }
    }
}

#[async_trait]
impl Exporter for HttpExporter {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        let signal = batch.signal();
        let Some(url) = self.url(signal) else {
            return Err(ExportError::Permanent {
                reason: format!("no URL for {signal}: set `endpoint` or `{signal}_endpoint`"),
            });
        };
        let body = self.body(batch).map_err(|e| ExportError::Permanent {
            reason: e.to_string(),
        })?;
        let outcome = match tokio::time::timeout(self.timeout, self.send(url, body)).await {
            Err(_elapsed) => {
                return Err(ExportError::Retryable {
                    retry_after: None,
                    reason: format!("POST {url} timed out after {:?}", self.timeout),
                });
            }
            Ok(outcome) => outcome,
        };
        let (response, body) = outcome.map_err(|e| ExportError::Retryable {
            retry_after: None,
            reason: format!("POST {url}: {e}"),
        })?;
        let body = decoded_body(&response, body);
        classify(signal, &response, &body, SystemTime::now()).inspect_err(|e| {
            tracing::debug!(exporter = %self.id, url = %url, error = %e, "export failed");
        })
    }
}

/// The response body without its `Content-Encoding`; a body that cannot be decompressed is
/// kept as is (it only feeds messages and partial-success counts).
fn decoded_body(response: &Response<()>, body: Bytes) -> Bytes {
    let encoding = response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    match Compression::from_header(encoding) {
        Ok(Compression::None) | Err(_) => body,
        Ok(encoding) => {
            decompress_bytes(encoding, body.clone(), MAX_RESPONSE_BYTES).unwrap_or(body)
        }
    }
}

/// otelcol's classification: 2xx succeeds (maybe partially); 429, 502, 503 and 504 are worth
/// retrying, after `Retry-After` when given; every other status is permanent.
pub(crate) fn classify(
    signal: Signal,
    response: &Response<()>,
    body: &[u8],
    now: SystemTime,
) -> Result<Delivered, ExportError> {
    let status = response.status();
    let json = is_json(response.headers());
    if status.is_success() {
        return Ok(partial_success(signal, body, json));
    }
    let rpc = error_status(body, json, response.headers());
    let mut reason = format!("HTTP {status}");
    match &rpc {
        Some(rpc) if !rpc.message.is_empty() => {
            reason.push_str(": ");
            reason.push_str(&rpc.message);
        }
        Some(_) => {}
        None if !body.is_empty() => {
            reason.push_str(": ");
            reason.push_str(&quote_body(body));
        }
        None => {}
    }
    let retryable = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    );
    if !retryable {
        return Err(ExportError::Permanent { reason });
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, now))
        .or_else(|| rpc.as_ref().and_then(RpcStatus::retry_delay));
    Err(ExportError::Retryable {
        retry_after,
        reason,
    })
}

/// `Retry-After` in seconds or as an HTTP date (a date in the past means "now").
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_retry_after(value).or_else(|| {
        let at = httpdate::parse_http_date(value.trim()).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

fn is_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-protobuf")
        })
}

/// The `google.rpc.Status` of an error body, read per its content type as otelcol does; a
/// body of any other type (a proxy's HTML page) is not a status.
fn error_status(body: &[u8], json: bool, headers: &HeaderMap) -> Option<RpcStatus> {
    if body.is_empty() {
        None
    } else if json {
        RpcStatus::from_json(body)
    } else if is_protobuf(headers) {
        RpcStatus::decode(body).ok()
    } else {
        None
    }
}

/// The start of a body that is not a `Status`, on one line, so that the reason still says
/// what the server or a proxy answered.
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

/// The `partial_success` of a 2xx body; an empty or unreadable body is a full success, since
/// the server has accepted the data.
fn partial_success(signal: Signal, body: &[u8], json: bool) -> Delivered {
    if body.is_empty() {
        return Delivered::default();
    }
    if json {
        return match decode_response_json(signal, body) {
            Ok(Some(p)) => Delivered {
                rejected_items: u64::try_from(p.rejected).unwrap_or(0),
                message: p.error_message,
            },
            Ok(None) | Err(_) => Delivered::default(),
        };
    }
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceResponse::decode(body).map(|r| {
            r.partial_success
                .map(|p| (p.rejected_spans, p.error_message))
        }),
        Signal::Metrics => ExportMetricsServiceResponse::decode(body).map(|r| {
            r.partial_success
                .map(|p| (p.rejected_data_points, p.error_message))
        }),
        Signal::Logs => ExportLogsServiceResponse::decode(body).map(|r| {
            r.partial_success
                .map(|p| (p.rejected_log_records, p.error_message))
        }),
    };
    match decoded {
        Ok(Some((rejected, message))) => Delivered {
            rejected_items: u64::try_from(rejected).unwrap_or(0),
            message,
        },
        Ok(None) | Err(_) => Delivered::default(),
    }
}
