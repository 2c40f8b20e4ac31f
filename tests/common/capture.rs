//! A capture OTLP backend: the place Weir exports to in the tests. It serves OTLP/gRPC (the
//! generated `opentelemetry-proto` tonic services over a hyper HTTP/2 server) and OTLP/HTTP
//! (hyper 1, protobuf and JSON, gzip and zstd) on 127.0.0.1, records every call it gets with
//! its headers and decoded request, and answers from a script: a queue of replies per transport,
//! each call taking the next one, and plain success once the queue is empty.
//!
//! It runs on its own thread with its own tokio runtime, so a test that blocks (waiting for a
//! process, scraping metrics) never starves it, and dropping it stops everything it runs.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::codegen::Service as _;

use super::otlp::{self, RpcStatus};

/// Which side of the backend a call came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP.
    Http,
}

/// The OTLP signal of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `TraceService/Export`, `/v1/traces`.
    Traces,
    /// `MetricsService/Export`, `/v1/metrics`.
    Metrics,
    /// `LogsService/Export`, `/v1/logs`.
    Logs,
}

/// A decoded export request.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// Spans.
    Traces(ExportTraceServiceRequest),
    /// Metrics.
    Metrics(ExportMetricsServiceRequest),
    /// Logs.
    Logs(ExportLogsServiceRequest),
}

impl Payload {
    /// Spans, data points or log records in the request.
    pub fn items(&self) -> usize {
        match self {
            Payload::Traces(r) => otlp::span_count(r),
            Payload::Metrics(r) => otlp::data_point_count(r),
            Payload::Logs(r) => otlp::log_record_count(r),
        }
    }
}

/// What the gRPC side answers to one call.
#[derive(Clone, Debug)]
pub enum GrpcReply {
    /// Success (an empty `Export*ServiceResponse`).
    Ok,
    /// Success, after holding the call this long (a slow backend).
    OkAfter(Duration),
    /// A gRPC error status.
    Status(tonic::Code, String),
    /// A gRPC error status carrying a `google.rpc.RetryInfo` with this delay.
    StatusWithRetryInfo(tonic::Code, String, Duration),
    /// Success with a `partial_success`: this many items rejected, with this message.
    Partial(i64, String),
}

/// What the HTTP side answers to one call.
#[derive(Clone, Debug)]
pub enum HttpReply {
    /// 200 with an empty `Export*ServiceResponse`.
    Ok,
    /// 200, after holding the call this long (a slow backend).
    OkAfter(Duration),
    /// This status, with a `google.rpc.Status` body carrying `message`, and a `Retry-After`
    /// header when given.
    Status {
        status: u16,
        retry_after: Option<String>,
        message: String,
    },
}

/// One call the backend received.
#[derive(Clone, Debug)]
pub struct Call {
    /// gRPC or HTTP.
    pub transport: Transport,
    /// The signal, from the gRPC method or the HTTP path.
    pub signal: Signal,
    /// When the call arrived.
    pub at: Instant,
    /// Whether the backend answered success.
    pub accepted: bool,
    /// Request headers (gRPC metadata for gRPC calls).
    pub headers: http::HeaderMap,
    /// The request's `content-type`.
    pub content_type: String,
    /// The request's `content-encoding` (HTTP) or `grpc-encoding` (gRPC), if any.
    pub content_encoding: Option<String>,
    /// The decoded request, or `None` if it could not be decoded (see `error`).
    pub payload: Option<Payload>,
    /// Why the request could not be decoded.
    pub error: Option<String>,
}

impl Call {
    /// The value of a request header, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct State {
    calls: Vec<Call>,
    grpc_script: VecDeque<GrpcReply>,
    http_script: VecDeque<HttpReply>,
    grpc_default: GrpcReply,
    http_default: HttpReply,
}

impl Default for State {
    fn default() -> Self {
        State {
            calls: Vec::new(),
            grpc_script: VecDeque::new(),
            http_script: VecDeque::new(),
            grpc_default: GrpcReply::Ok,
            http_default: HttpReply::Ok,
        }
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running capture backend; dropping it shuts it down.
pub struct Capture {
    tls: bool,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Binds both sides on free ports of 127.0.0.1 and starts serving.
    pub fn start() -> Capture {
        Self::start_with(None)
    }

    /// The same, serving TLS with `config` on both sides (`https://` endpoints).
    pub fn start_tls(config: Arc<rustls::ServerConfig>) -> Capture {
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(config)))
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Capture {
        let secure = tls.is_some();
        let grpc = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("binding the capture gRPC port");
        let http = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("binding the capture HTTP port");
        let grpc_addr = grpc.local_addr().expect("gRPC address");
        let http_addr = http.local_addr().expect("HTTP address");
        grpc.set_nonblocking(true).expect("non-blocking listener");
        http.set_nonblocking(true).expect("non-blocking listener");
        let state = Shared::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("capture-backend".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("capture runtime");
                runtime.block_on(async move {
                    let grpc = tokio::net::TcpListener::from_std(grpc).expect("tokio listener");
                    let http = tokio::net::TcpListener::from_std(http).expect("tokio listener");
                    tokio::select! {
                        _ = serve_grpc(grpc, thread_state.clone(), tls.clone()) => {}
                        _ = serve_http(http, thread_state, tls) => {}
                        _ = rx => {}
                    }
                });
            })
            .expect("spawning the capture thread");
        Capture {
            tls: secure,
            grpc_addr,
            http_addr,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` of the gRPC side (`https://` when serving TLS).
    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}", self.scheme(), self.grpc_addr)
    }

    /// `http://127.0.0.1:PORT` of the HTTP side (the base URL; paths are `/v1/<signal>`;
    /// `https://` when serving TLS).
    pub fn http_endpoint(&self) -> String {
        format!("{}://{}", self.scheme(), self.http_addr)
    }

    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Queues replies for the next gRPC calls (any signal), in order.
    pub fn script_grpc(&self, replies: impl IntoIterator<Item = GrpcReply>) {
        self.state.lock().grpc_script.extend(replies);
    }

    /// Queues replies for the next HTTP calls (any signal), in order.
    pub fn script_http(&self, replies: impl IntoIterator<Item = HttpReply>) {
        self.state.lock().http_script.extend(replies);
    }

    /// What gRPC calls get once the script is used up (initially `Ok`).
    pub fn grpc_default(&self, reply: GrpcReply) {
        self.state.lock().grpc_default = reply;
    }

    /// What HTTP calls get once the script is used up (initially `Ok`).
    pub fn http_default(&self, reply: HttpReply) {
        self.state.lock().http_default = reply;
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().calls.clone()
    }

    /// Calls on one transport for one signal, accepted or not.
    pub fn calls_for(&self, transport: Transport, signal: Signal) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.transport == transport && c.signal == signal)
            .collect()
    }

    /// Decoded requests the backend accepted, on one transport for one signal.
    pub fn accepted(&self, transport: Transport, signal: Signal) -> Vec<Payload> {
        self.calls_for(transport, signal)
            .into_iter()
            .filter(|c| c.accepted)
            .filter_map(|c| c.payload)
            .collect()
    }

    /// Items (spans, data points, log records) accepted on one transport for one signal.
    pub fn accepted_items(&self, transport: Transport, signal: Signal) -> usize {
        self.accepted(transport, signal)
            .iter()
            .map(Payload::items)
            .sum()
    }

    /// Accepted trace requests on one transport.
    pub fn traces(&self, transport: Transport) -> Vec<ExportTraceServiceRequest> {
        self.accepted(transport, Signal::Traces)
            .into_iter()
            .filter_map(|p| match p {
                Payload::Traces(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Accepted metrics requests on one transport.
    pub fn metrics(&self, transport: Transport) -> Vec<ExportMetricsServiceRequest> {
        self.accepted(transport, Signal::Metrics)
            .into_iter()
            .filter_map(|p| match p {
                Payload::Metrics(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Accepted logs requests on one transport.
    pub fn logs(&self, transport: Transport) -> Vec<ExportLogsServiceRequest> {
        self.accepted(transport, Signal::Logs)
            .into_iter()
            .filter_map(|p| match p {
                Payload::Logs(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Waits (at most `timeout`) until `n` items of `signal` were accepted on `transport`.
    pub fn wait_for_items(
        &self,
        transport: Transport,
        signal: Signal,
        n: usize,
        timeout: Duration,
    ) -> bool {
        super::wait_until(timeout, || self.accepted_items(transport, signal) >= n)
    }

    /// The async twin of [`Capture::wait_for_items`].
    pub async fn wait_for_items_async(
        &self,
        transport: Transport,
        signal: Signal,
        n: usize,
        timeout: Duration,
    ) -> bool {
        super::wait_until_async(timeout, || self.accepted_items(transport, signal) >= n).await
    }

    /// A one-line summary of the calls so far, for assertion messages.
    pub fn summary(&self) -> String {
        let calls = self.calls();
        let parts: Vec<String> = calls
            .iter()
            .map(|c| {
                format!(
                    "{:?}/{:?} {} items={} {}",
                    c.transport,
                    c.signal,
                    if c.accepted { "ok" } else { "refused" },
                    c.payload.as_ref().map_or(0, Payload::items),
                    c.error.as_deref().unwrap_or("")
                )
            })
            .collect();
        format!("{} calls: [{}]", calls.len(), parts.join("; "))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---- gRPC side ------------------------------------------------------------------------------

#[derive(Clone)]
struct GrpcSide(Shared);

impl GrpcSide {
    async fn record<T>(
        &self,
        signal: Signal,
        request: tonic::Request<T>,
        wrap: fn(T) -> Payload,
    ) -> Result<Option<(i64, String)>, tonic::Status> {
        let headers = request.metadata().clone().into_headers();
        let content_encoding = headers
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/grpc")
            .to_owned();
        let payload = wrap(request.into_inner());
        let reply = {
            let mut state = self.0.lock();
            let reply = state
                .grpc_script
                .pop_front()
                .unwrap_or_else(|| state.grpc_default.clone());
            let accepted = matches!(
                reply,
                GrpcReply::Ok | GrpcReply::OkAfter(_) | GrpcReply::Partial(..)
            );
            state.calls.push(Call {
                transport: Transport::Grpc,
                signal,
                at: Instant::now(),
                accepted,
                headers,
                content_type,
                content_encoding,
                payload: Some(payload),
                error: None,
            });
            reply
        };
        match reply {
            GrpcReply::Ok => Ok(None),
            GrpcReply::OkAfter(delay) => {
                tokio::time::sleep(delay).await;
                Ok(None)
            }
            GrpcReply::Partial(rejected, message) => Ok(Some((rejected, message))),
            GrpcReply::Status(code, message) => Err(tonic::Status::new(code, message)),
            GrpcReply::StatusWithRetryInfo(code, message, delay) => {
                let details = otlp::retry_info_status(code as i32, &message, delay);
                Err(tonic::Status::with_details(
                    code,
                    message,
                    Bytes::from(details),
                ))
            }
        }
    }
}

#[tonic::async_trait]
impl TraceService for GrpcSide {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let partial = self
            .record(Signal::Traces, request, Payload::Traces)
            .await?;
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcSide {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let partial = self
            .record(Signal::Metrics, request, Payload::Metrics)
            .await?;
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcSide {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let partial = self.record(Signal::Logs, request, Payload::Logs).await?;
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: partial.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }))
    }
}

/// The largest message the capture accepts: far above anything the tests send.
const CAPTURE_MAX_MESSAGE: usize = 256 * 1024 * 1024;

async fn serve_grpc(
    listener: tokio::net::TcpListener,
    state: Shared,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let side = GrpcSide(state);
    let traces = TraceServiceServer::new(side.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(CAPTURE_MAX_MESSAGE);
    let metrics = MetricsServiceServer::new(side.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(CAPTURE_MAX_MESSAGE);
    let logs = LogsServiceServer::new(side)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(CAPTURE_MAX_MESSAGE);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (traces, metrics, logs) = (traces.clone(), metrics.clone(), logs.clone());
        let service = service_fn(move |request: http::Request<Incoming>| {
            let (mut traces, mut metrics, mut logs) =
                (traces.clone(), metrics.clone(), logs.clone());
            async move {
                let path = request.uri().path();
                if path.starts_with("/opentelemetry.proto.collector.trace.v1.TraceService/") {
                    traces.call(request).await
                } else if path
                    .starts_with("/opentelemetry.proto.collector.metrics.v1.MetricsService/")
                {
                    metrics.call(request).await
                } else if path.starts_with("/opentelemetry.proto.collector.logs.v1.LogsService/") {
                    logs.call(request).await
                } else {
                    Ok::<_, Infallible>(
                        tonic::Status::unimplemented(format!("no service at {path}")).into_http(),
                    )
                }
            }
        });
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            match tls {
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

// ---- HTTP side ------------------------------------------------------------------------------

async fn serve_http(
    listener: tokio::net::TcpListener,
    state: Shared,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        let service =
            service_fn(move |request: http::Request<Incoming>| http_call(request, state.clone()));
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

fn decompress(encoding: Option<&str>, body: Bytes) -> Result<Vec<u8>, String> {
    use std::io::Read;
    match encoding {
        None | Some("identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .map_err(|e| format!("gzip: {e}"))?;
            Ok(out)
        }
        Some("zstd") => zstd::decode_all(&body[..]).map_err(|e| format!("zstd: {e}")),
        Some(other) => Err(format!("unknown content-encoding {other}")),
    }
}

fn decode(signal: Signal, json: bool, body: &[u8]) -> Result<Payload, String> {
    Ok(match (signal, json) {
        (Signal::Traces, false) => {
            Payload::Traces(ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string())?)
        }
        (Signal::Metrics, false) => {
            Payload::Metrics(ExportMetricsServiceRequest::decode(body).map_err(|e| e.to_string())?)
        }
        (Signal::Logs, false) => {
            Payload::Logs(ExportLogsServiceRequest::decode(body).map_err(|e| e.to_string())?)
        }
        (Signal::Traces, true) => {
            Payload::Traces(serde_json::from_slice(body).map_err(|e| e.to_string())?)
        }
        (Signal::Metrics, true) => {
            Payload::Metrics(serde_json::from_slice(body).map_err(|e| e.to_string())?)
        }
        (Signal::Logs, true) => {
            Payload::Logs(serde_json::from_slice(body).map_err(|e| e.to_string())?)
        }
    })
}

fn ok_body(signal: Signal, json: bool) -> Vec<u8> {
    match (signal, json) {
        (Signal::Traces, false) => ExportTraceServiceResponse::default().encode_to_vec(),
        (Signal::Metrics, false) => ExportMetricsServiceResponse::default().encode_to_vec(),
        (Signal::Logs, false) => ExportLogsServiceResponse::default().encode_to_vec(),
        (Signal::Traces, true) => {
            serde_json::to_vec(&ExportTraceServiceResponse::default()).unwrap_or_default()
        }
        (Signal::Metrics, true) => {
            serde_json::to_vec(&ExportMetricsServiceResponse::default()).unwrap_or_default()
        }
        (Signal::Logs, true) => {
            serde_json::to_vec(&ExportLogsServiceResponse::default()).unwrap_or_default()
        }
    }
}

async fn http_call(
    request: http::Request<Incoming>,
    state: Shared,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let signal = match request.uri().path() {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        "/v1/logs" => Signal::Logs,
        other => {
            return Ok(respond(
                404,
                "text/plain",
                format!("no route {other}").into_bytes(),
            ));
        }
    };
    if request.method() != http::Method::POST {
        return Ok(respond(405, "text/plain", b"POST only".to_vec()));
    }
    let headers = request.headers().clone();
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = text("content-type").unwrap_or_default();
    let content_encoding = text("content-encoding");
    let json = content_type.starts_with("application/json");
    let decoded = match request.into_body().collect().await {
        Ok(body) => decompress(content_encoding.as_deref(), body.to_bytes())
            .and_then(|b| decode(signal, json, &b)),
        Err(e) => Err(format!("reading the body: {e}")),
    };
    let (payload, error) = match decoded {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let reply = {
        let mut state = state.lock();
        let reply = if error.is_some() {
            HttpReply::Status {
                status: 400,
                retry_after: None,
                message: error.clone().unwrap_or_default(),
            }
        } else {
            state
                .http_script
                .pop_front()
                .unwrap_or_else(|| state.http_default.clone())
        };
        let accepted = matches!(reply, HttpReply::Ok | HttpReply::OkAfter(_));
        state.calls.push(Call {
            transport: Transport::Http,
            signal,
            at: Instant::now(),
            accepted,
            headers,
            content_type: content_type.clone(),
            content_encoding,
            payload,
            error,
        });
        reply
    };
    let response_type = if json {
        "application/json"
    } else {
        "application/x-protobuf"
    };
    Ok(match reply {
        HttpReply::Ok => respond(200, response_type, ok_body(signal, json)),
        HttpReply::OkAfter(delay) => {
            tokio::time::sleep(delay).await;
            respond(200, response_type, ok_body(signal, json))
        }
        HttpReply::Status {
            status,
            retry_after,
            message,
        } => {
            let body = RpcStatus {
                code: grpc_code_for_http(status),
                message,
                details: vec![],
            };
            let body = if json {
                serde_json::json!({ "code": body.code, "message": body.message })
                    .to_string()
                    .into_bytes()
            } else {
                body.encode_to_vec()
            };
            let mut response = respond(status, response_type, body);
            if let Some(after) = retry_after {
                response.headers_mut().insert(
                    "retry-after",
                    after.parse().expect("valid Retry-After value"),
                );
            }
            response
        }
    })
}

/// The gRPC code otelcol puts in the Status body for an HTTP status.
fn grpc_code_for_http(status: u16) -> i32 {
    match status {
        400 => tonic::Code::InvalidArgument as i32,
        429 => tonic::Code::ResourceExhausted as i32,
        502..=504 => tonic::Code::Unavailable as i32,
        _ => tonic::Code::Unknown as i32,
    }
}
