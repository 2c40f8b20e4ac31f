//! The generator's two ways to send one encoded request: OTLP/gRPC (a tonic channel over HTTP/2;
//! uncompressed requests go out as their own bytes through the `otlp` exporter's `unary` call,
//! compressed ones through tonic's encoder with `RawCodec`) and OTLP/HTTP (a protobuf `POST`
//! through hyper's client), and how an answer is classified: accepted, refused (the server asks
//! for a retry), or failed.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Channel, Endpoint};
use tower::Service as _;
use weir_core::batch::Signal;
use weir_core::net::grpc_codec::export_path;
use weir_core::net::rpc_status::parse_retry_after;
use weir_core::net::{Compression, RawCodec, RpcStatus};
use weir_exporters::otlp::unary;

/// Largest response body read; OTLP answers are a few bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
const USER_AGENT_VALUE: &str = concat!("weir-gen/", env!("CARGO_PKG_VERSION"));

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server took the request; `rejected` items were refused in a partial success.
    Accepted {
        /// Items the server's `partial_success` rejected.
        rejected: u64,
    },
    /// gRPC `UNAVAILABLE`/`RESOURCE_EXHAUSTED`, HTTP 429/503: try again later.
    Refused {
        /// The server's `RetryInfo` or `Retry-After`.
        retry_after: Option<Duration>,
        /// What the server said.
        reason: String,
    },
    /// Anything else: another status, a transport error, a timeout.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// Transport to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    Http,
}

/// An endpoint that cannot be turned into a URI.
#[derive(Debug, thiserror::Error)]
#[error("invalid endpoint `{endpoint}`: {reason}")]
pub struct EndpointError {
    endpoint: String,
    reason: String,
}

/// One worker's connection.
pub enum Sender {
    /// gRPC over one HTTP/2 connection.
    Grpc(GrpcSender),
    /// HTTP/1.1 over a pooled (kept-alive) connection (boxed: hyper's client is large).
    Http(Box<HttpSender>),
}

impl Sender {
    /// A sender for `signal` to `endpoint` (`host:port` or an `http://` URL). Connects lazily: an
    /// unreachable server shows up as failed requests, not as an error here.
    pub fn new(
        protocol: Protocol,
        signal: Signal,
        endpoint: &str,
        compression: Compression,
        timeout: Duration,
    ) -> Result<Sender, EndpointError> {
        let error = |reason: String| EndpointError {
            endpoint: endpoint.to_string(),
            reason,
        };
        let base = if endpoint.contains("://") {
            endpoint.to_string()
        } else {
            format!("http://{endpoint}")
        };
        match protocol {
            Protocol::Grpc => {
                let channel = Endpoint::from_shared(base)
                    .and_then(|e| e.user_agent(USER_AGENT_VALUE))
                    .map_err(|e| error(e.to_string()))?
                    .tcp_nodelay(true)
                    .connect_lazy();
                Ok(Sender::Grpc(GrpcSender {
                    channel,
                    compression: compression.grpc_encoding(),
                    path: export_path(signal),
                    signal,
                    timeout,
                }))
            }
            Protocol::Http => {
                let uri: Uri = base
                    .parse()
                    .map_err(|e: http::uri::InvalidUri| error(e.to_string()))?;
                // An endpoint without a path gets the signal's standard path, as OTLP SDKs do
                // with OTEL_EXPORTER_OTLP_ENDPOINT.
                let uri = match uri.path() {
                    "" | "/" => format!("{}/v1/{}", base.trim_end_matches('/'), signal.as_str())
                        .parse()
                        .map_err(|e: http::uri::InvalidUri| error(e.to_string()))?,
                    _ => uri,
                };
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                let client = Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .build(connector);
                Ok(Sender::Http(Box::new(HttpSender {
                    client,
                    uri,
                    compression,
                    signal,
                    timeout,
                })))
            }
        }
    }

    /// Sends one encoded request (for HTTP already compressed as configured; gRPC compresses
    /// itself) and classifies the answer.
    pub async fn send(&mut self, body: Bytes) -> Outcome {
        match self {
            Sender::Grpc(grpc) => grpc.send(body).await,
            Sender::Http(http) => http.send(body).await,
        }
    }
}

/// gRPC client state of one worker.
pub struct GrpcSender {
    channel: Channel,
    compression: Option<CompressionEncoding>,
    path: &'static str,
    signal: Signal,
    timeout: Duration,
}

impl GrpcSender {
    async fn send(&mut self, body: Bytes) -> Outcome {
        // With the cause as source, as tonic reports transport failures: a failure, not a
        // refusal (see below).
        let not_ready = |e: &dyn std::fmt::Display| {
            tonic::Status::from_error(format!("channel not ready: {e}").into())
        };
        let call = async {
            // The request's metadata: `grpc-timeout`, as tonic writes it.
            let mut request = tonic::Request::new(body);
            request.set_timeout(self.timeout);
            match self.compression {
                // tonic's encoder would copy the whole message into its own buffer first.
                None => {
                    std::future::poll_fn(|cx| self.channel.poll_ready(cx))
                        .await
                        .map_err(|e| not_ready(&e))?;
                    let (metadata, _, body) = request.into_parts();
                    let request = unary::request(self.path, metadata, body)?;
                    unary::call(&mut self.channel, request).await
                }
                Some(encoding) => {
                    let mut grpc =
                        tonic::client::Grpc::new(self.channel.clone()).send_compressed(encoding);
                    grpc.ready().await.map_err(|e| not_ready(&e))?;
                    let path = PathAndQuery::from_static(self.path);
                    grpc.unary(request, path, RawCodec)
                        .await
                        .map(tonic::Response::into_inner)
                }
            }
        };
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Outcome::Failed {
                reason: format!("no answer within {:?}", self.timeout),
            },
            Ok(Ok(response)) => accepted(self.signal, &response),
            // tonic reports its own transport failures (connect refused, reset) as UNAVAILABLE
            // with the cause as source; the server did not answer, so they are failures.
            Ok(Err(status)) if std::error::Error::source(&status).is_some() => Outcome::Failed {
                reason: format!("{:?}: {}", status.code(), status.message()),
            },
            Ok(Err(status)) => match status.code() {
                Code::Unavailable | Code::ResourceExhausted => Outcome::Refused {
                    retry_after: RpcStatus::from_tonic(&status).retry_delay(),
                    reason: format!("{:?}: {}", status.code(), status.message()),
                },
                code => Outcome::Failed {
                    reason: format!("{code:?}: {}", status.message()),
                },
            },
        }
    }
}

/// HTTP client state of one worker.
pub struct HttpSender {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    compression: Compression,
    signal: Signal,
    timeout: Duration,
}

impl HttpSender {
    async fn send(&mut self, body: Bytes) -> Outcome {
        let mut builder = Request::post(self.uri.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            )
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if !self.compression.is_none() {
            builder = builder.header(
                CONTENT_ENCODING,
                HeaderValue::from_static(self.compression.as_header_value()),
            );
        }
        let request = match builder.body(Full::new(body)) {
            Ok(request) => request,
            Err(e) => {
                return Outcome::Failed {
                    reason: format!("request: {e}"),
                };
            }
        };
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, retry_after, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Outcome::Failed {
                reason: format!("no answer within {:?}", self.timeout),
            },
            Ok(Err(reason)) => Outcome::Failed { reason },
            Ok(Ok((status, _, body))) if status.is_success() => accepted(self.signal, &body),
            Ok(Ok((status, retry_after, body))) => {
                let message = RpcStatus::decode(body.as_ref())
                    .map(|s| s.message)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
                let reason = format!("HTTP {}: {message}", status.as_u16());
                if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE
                {
                    Outcome::Refused {
                        retry_after,
                        reason,
                    }
                } else {
                    Outcome::Failed { reason }
                }
            }
        }
    }
}

/// An OK answer, with the items its `partial_success` rejected.
fn accepted(signal: Signal, body: &[u8]) -> Outcome {
    if body.is_empty() {
        return Outcome::Accepted { rejected: 0 };
    }
    let rejected = match signal {
        Signal::Traces => ExportTraceServiceResponse::decode(body)
            .map(|r| r.partial_success.map_or(0, |p| p.rejected_spans)),
        Signal::Metrics => ExportMetricsServiceResponse::decode(body)
            .map(|r| r.partial_success.map_or(0, |p| p.rejected_data_points)),
        Signal::Logs => ExportLogsServiceResponse::decode(body)
            .map(|r| r.partial_success.map_or(0, |p| p.rejected_log_records)),
    };
    // The server said OK, so the items arrived even if its answer is not OTLP.
    Outcome::Accepted {
        rejected: rejected
            .ok()
            .and_then(|r| u64::try_from(r).ok())
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    use super::*;

    #[test]
    fn partial_success_counts_rejected_items() {
        let body = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "too old".into(),
            }),
        }
        .encode_to_vec();
        assert_eq!(
            accepted(Signal::Traces, &body),
            Outcome::Accepted { rejected: 3 }
        );
        assert_eq!(
            accepted(Signal::Logs, &[]),
            Outcome::Accepted { rejected: 0 }
        );
        assert_eq!(
            accepted(Signal::Metrics, b"\xff\xff not protobuf"),
            Outcome::Accepted { rejected: 0 }
        );
    }

    #[tokio::test]
    async fn http_endpoints_get_the_signal_path() {
        let t = Duration::from_secs(1);
        let uri = |endpoint: &str| match Sender::new(
            Protocol::Http,
            Signal::Logs,
            endpoint,
            Compression::None,
            t,
        )
        .unwrap()
        {
            Sender::Http(h) => h.uri.to_string(),
            Sender::Grpc(_) => unreachable!("asked for HTTP"),
        };
        assert_eq!(uri("127.0.0.1:4318"), "http://127.0.0.1:4318/v1/logs");
        assert_eq!(
            uri("http://collector:4318/"),
            "http://collector:4318/v1/logs"
        );
        assert_eq!(
            uri("http://collector:4318/custom/logs"),
            "http://collector:4318/custom/logs"
        );
        assert!(
            Sender::new(
                Protocol::Http,
                Signal::Logs,
                "bad host:1",
                Compression::None,
                t
            )
            .is_err()
        );
    }
}
