//! OTLP/HTTP: `POST` of an `Export*ServiceRequest` to the signal's path, as protobuf
//! (`application/x-protobuf`, kept encoded) or JSON (`application/json`, decoded), optionally
//! gzip- or zstd-compressed.
//!
//! Answers, in the request's content type wherever a body carries an OTLP message:
//! - 200 with an `Export*ServiceResponse` (with `partial_success` when items were rejected);
//! - 400 with a `google.rpc.Status` for malformed bodies and unsupported `Content-Encoding`;
//! - 413 when the body, as sent or decompressed, is larger than `max_request_body_size`;
//! - 503 with `Retry-After` when the pipeline refuses, 500 when it fails for good;
//! - 404 for unknown paths and signals without a pipeline, 405 (`Allow: POST`) for other
//!   methods, 415 for other content types (plain text, like otelcol);
//! - 401 when `auth` is configured and the credentials are missing or wrong (checked first,
//!   after CORS);
//! - with `cors`, 204 to preflights and 403 to other requests from an origin not allowed
//!   (see [`super::cors`]);
//! - 408 when the body does not arrive within `read_timeout`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{
    ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use weir_core::batch::json::{decode_json, encode_response_json};
use weir_core::batch::{Batch, Signal};
use weir_core::component::PushOutcome;
use weir_core::net::compression::{Compression, DecompressError, decompress_bytes};
use weir_core::net::rpc_status::{RpcStatus, retry_after_header};
use weir_core::net::server::{self, ServerOptions};

use super::config::HttpConfig;
use super::cors::{Admission, Cors};
use super::security::{Guard, Security};
use super::{Shared, batch_meta, partial_success, response_protobuf};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// Serves OTLP/HTTP on `listener` until `shutdown`, then drains.
pub(crate) fn serve(
    listener: TcpListener,
    config: &HttpConfig,
    shared: Arc<Shared>,
    security: Security,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let options = ServerOptions {
        max_connections: config.max_connections,
        header_read_timeout: config.read_header_timeout,
        idle_timeout: (!config.idle_timeout.is_zero()).then_some(config.idle_timeout),
        max_header_bytes: config.max_request_header_size,
        tls: security.tls,
        name: format!("{}/http", shared.id),
        ..ServerOptions::default()
    };
    let routes = Arc::new(Routes {
        paths: [
            (config.traces_url_path.clone(), Signal::Traces),
            (config.metrics_url_path.clone(), Signal::Metrics),
            (config.logs_url_path.clone(), Signal::Logs),
        ],
        max_body_size: config.max_body_size(),
        read_timeout: (!config.read_timeout.is_zero()).then_some(config.read_timeout),
        include_metadata: config.include_metadata,
        guard: security.guard,
        cors: config.cors.as_ref().and_then(Cors::new),
        shared,
    });
    if let Some(cors) = &config.cors
        && cors.allowed_origins.is_empty()
        && (!cors.allowed_headers.is_empty() || cors.max_age != 0)
    {
        tracing::warn!(receiver = %routes.shared.id, "protocols.http.cors lists no allowed_origins, so CORS is off and its other settings are ignored");
    }
    server::serve(
        listener,
        move |peer| HttpService {
            routes: routes.clone(),
            peer,
        },
        options,
        shutdown,
    )
}

/// Per-receiver request settings.
struct Routes {
    paths: [(String, Signal); 3],
    max_body_size: usize,
    read_timeout: Option<std::time::Duration>,
    include_metadata: bool,
    guard: Option<Guard>,
    cors: Option<Cors>,
    shared: Arc<Shared>,
}

/// The service of one client connection.
#[derive(Clone)]
struct HttpService {
    routes: Arc<Routes>,
    peer: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for HttpService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

/// The two OTLP/HTTP encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// From `Content-Type`, ignoring parameters (`application/json; charset=utf-8`).
    fn of(headers: &HeaderMap) -> Option<Format> {
        let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
        let media_type = value.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case(PROTOBUF) {
            Some(Format::Protobuf)
        } else if media_type.eq_ignore_ascii_case(JSON) {
            Some(Format::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => PROTOBUF,
            Format::Json => JSON,
        }
    }
}

impl HttpService {
    /// Counts and logs (rate-limited) a request refused before it reached a pipeline.
    fn refused(&self, reason: &'static str, detail: &str) {
        weir_core::telemetry::refused_request(
            &self.routes.shared.id.to_string(),
            "http",
            self.peer,
            reason,
            detail,
        );
    }

    /// CORS stands in front of everything else, as otelcol's rs/cors wrapper does: browsers send
    /// preflights without credentials, and need the CORS headers on errors too.
    async fn handle(self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let routes = self.routes.clone();
        let Some(cors) = &routes.cors else {
            return self.serve(request).await;
        };
        match cors.admit(request.method(), request.headers()) {
            Admission::Answer(response) => {
                if response.status() == StatusCode::FORBIDDEN {
                    self.refused(
                        "origin_not_allowed",
                        "the request's Origin is not in cors.allowed_origins",
                    );
                }
                response
            }
            Admission::Serve(decoration) => {
                let mut response = self.serve(request).await;
                decoration.apply(response.headers_mut());
                response
            }
        }
    }

    async fn serve(self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let routes = &self.routes;
        if let Some(guard) = &routes.guard
            && let Err(message) = guard.check(request.headers(), self.peer).await
        {
            let mut response = respond(
                StatusCode::UNAUTHORIZED,
                "text/plain; charset=utf-8",
                Bytes::from(format!("401 Unauthorized: {message}")),
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic, Bearer"));
            return response;
        }
        let path = request.uri().path();
        let Some(signal) = routes
            .paths
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| *s)
        else {
            let shown: String = path.chars().take(100).collect();
            self.refused(
                "unknown_path",
                &format!("no OTLP signal is served at {shown:?}"),
            );
            return plain(StatusCode::NOT_FOUND, "404 page not found");
        };
        // otelcol registers no handler for a signal without a pipeline.
        let Some(consumer) = routes.shared.consumers.get(&signal).cloned() else {
            self.refused(
                "unknown_path",
                &format!("no pipeline takes {signal:?} from this receiver"),
            );
            return plain(StatusCode::NOT_FOUND, "404 page not found");
        };
        if request.method() != Method::POST {
            self.refused(
                "method_not_allowed",
                &format!("method {} (OTLP/HTTP takes POST only)", request.method()),
            );
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 method not allowed, supported: [POST]",
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let Some(format) = Format::of(request.headers()) else {
            let sent = request
                .headers()
                .get(CONTENT_TYPE)
                .map_or("none".to_string(), |v| {
                    String::from_utf8_lossy(v.as_bytes())
                        .chars()
                        .take(100)
                        .collect()
                });
            self.refused(
                "unsupported_content_type",
                &format!(
                    "Content-Type {sent:?} is neither application/x-protobuf nor application/json"
                ),
            );
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "415 unsupported media type, supported: [application/json, application/x-protobuf]",
            );
        };
        let encoding = request
            .headers()
            .get(CONTENT_ENCODING)
            .map(|v| {
                v.to_str()
                    .map_err(|_| "Content-Encoding is not text".to_string())
            })
            .transpose()
            .and_then(|v| Compression::from_header(v).map_err(|e| e.to_string()));
        let encoding = match encoding {
            Ok(encoding) => encoding,
            Err(message) => {
                self.refused("unsupported_encoding", &message);
                return status(
                    format,
                    StatusCode::BAD_REQUEST,
                    RpcStatus::new(Code::InvalidArgument, message),
                );
            }
        };
        let max = routes.max_body_size;
        let too_large = || {
            status(
                format,
                StatusCode::PAYLOAD_TOO_LARGE,
                RpcStatus::new(
                    Code::ResourceExhausted,
                    format!("request body is larger than max_request_body_size ({max} bytes)"),
                ),
            )
        };
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let Some(len) = declared.filter(|len| *len > max as u64) {
            self.refused(
                "too_large",
                &format!("Content-Length {len} is over max_request_body_size ({max} bytes)"),
            );
            return too_large();
        }
        let headers = routes.include_metadata.then(|| request.headers().clone());
        // Counted as held while it arrives, so the memory limiter sees bodies in flight.
        let body = weir_core::net::counted_body::Counted::new(request.into_body());
        let reading = Limited::new(body, max).collect();
        let read = match routes.read_timeout {
            Some(limit) => match tokio::time::timeout(limit, reading).await {
                Ok(read) => read,
                Err(_) => {
                    self.refused(
                        "body_timeout",
                        "the request body did not arrive within read_timeout",
                    );
                    return plain(
                        StatusCode::REQUEST_TIMEOUT,
                        "408 request timeout: the body did not arrive within read_timeout",
                    );
                }
            },
            None => reading.await,
        };
        let body = match read {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                self.refused(
                    "too_large",
                    &format!("the body is over max_request_body_size ({max} bytes)"),
                );
                return too_large();
            }
            Err(error) => {
                let message = format!("failed to read the request body: {error}");
                self.refused("body_read_failed", &message);
                return status(
                    format,
                    StatusCode::BAD_REQUEST,
                    RpcStatus::new(Code::InvalidArgument, message),
                );
            }
        };
        let body = match decompress_bytes(encoding, body, max) {
            Ok(body) => body,
            Err(DecompressError::TooLarge { .. }) => {
                self.refused(
                    "decompressed_too_large",
                    &format!(
                        "the {encoding} body decompresses to more than max_request_body_size ({max} bytes)"
                    ),
                );
                return too_large();
            }
            Err(error) => {
                self.refused("corrupt_encoding", &error.to_string());
                return status(
                    format,
                    StatusCode::BAD_REQUEST,
                    RpcStatus::new(Code::InvalidArgument, error.to_string()),
                );
            }
        };
        let meta = batch_meta(self.peer, "http", headers.as_ref());
        let batch = match format {
            Format::Protobuf => Batch::from_encoded(signal, body, meta).map_err(|e| e.to_string()),
            Format::Json => decode_json(signal, &body)
                .map(|request| Batch::from_request(request, meta))
                .map_err(|e| e.to_string()),
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(message) => {
                self.refused("malformed", &format!("{format:?} body: {message}"));
                return status(
                    format,
                    StatusCode::BAD_REQUEST,
                    RpcStatus::new(Code::InvalidArgument, message),
                );
            }
        };
        let outcome = consumer.consume(batch).await;
        match &outcome {
            PushOutcome::Accepted | PushOutcome::Partial { .. } => {
                let partial = partial_success(&outcome);
                let body = match format {
                    Format::Protobuf => response_protobuf(signal, partial.as_ref()),
                    Format::Json => Bytes::from(encode_response_json(signal, partial.as_ref())),
                };
                respond(StatusCode::OK, format.content_type(), body)
            }
            PushOutcome::Refused {
                retry_after,
                reason,
            } => {
                let mut rpc = RpcStatus::new(Code::Unavailable, reason.clone());
                if let Some(delay) = retry_after {
                    rpc = rpc.with_retry_delay(*delay);
                }
                let mut response = status(format, StatusCode::SERVICE_UNAVAILABLE, rpc);
                if let Some(delay) = retry_after
                    && let Ok(value) = HeaderValue::from_str(&retry_after_header(*delay))
                {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                response
            }
            // 500 is not retryable for OTLP clients, which is what "can never be taken" means.
            PushOutcome::Failed { reason } => status(
                format,
                StatusCode::INTERNAL_SERVER_ERROR,
                RpcStatus::new(Code::Internal, reason.clone()),
            ),
        }
    }
}

fn respond(code: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn plain(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    respond(
        code,
        "text/plain; charset=utf-8",
        Bytes::from_static(text.as_bytes()),
    )
}

/// An error answer: a `google.rpc.Status` encoded as the request was.
fn status(format: Format, code: StatusCode, rpc: RpcStatus) -> Response<Full<Bytes>> {
    let body = match format {
        Format::Protobuf => Bytes::from(prost::Message::encode_to_vec(&rpc)),
        Format::Json => Bytes::from(rpc.to_json()),
    };
    respond(code, format.content_type(), body)
}

#[cfg(test)]
mod tests;
