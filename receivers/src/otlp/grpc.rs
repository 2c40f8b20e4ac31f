//! OTLP/gRPC: the three `Export` methods served over HTTP/2 with a raw codec, so the request
//! message reaches `Batch::from_encoded` as the bytes the client sent.
//!
//! tonic still does the gRPC work (except for the common request in one DATA frame, whose
//! message is taken without tonic's copy: `weir_core::net::grpc_preread`): framing,
//! `grpc-encoding` gzip/zstd, and the size limit, which
//! it applies to the frame and again to the decompressed message; both answer
//! `RESOURCE_EXHAUSTED`, as grpc-go (and so otelcol) does. Only services with a pipeline behind them exist; the others answer
//! `UNIMPLEMENTED` ("unknown service …"), as grpc-go does for otelcol.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::future::BoxFuture;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{Consumer, PushOutcome};
use weir_core::net::RpcStatus;
use weir_core::net::grpc_codec::{RawCodec, signal_of_path};
use weir_core::net::grpc_preread::{Preread, preread};
use weir_core::net::server::{self, ServerOptions};

use super::config::GrpcConfig;
use super::security::{Guard, Security};
use super::{Shared, batch_meta, partial_success, response_protobuf};

/// Serves OTLP/gRPC on `listener` until `shutdown`, then drains.
pub(crate) fn serve(
    listener: TcpListener,
    config: &GrpcConfig,
    shared: Arc<Shared>,
    security: Security,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let options = ServerOptions {
        http2_only: true,
        max_concurrent_streams: (config.max_concurrent_streams > 0)
            .then_some(config.max_concurrent_streams),
        max_connections: config.max_connections,
        idle_timeout: (!config.idle_timeout.is_zero()).then_some(config.idle_timeout),
        tls: security.tls,
        name: format!("{}/grpc", shared.id),
        ..ServerOptions::default()
    };
    let max_message_size = config.max_recv_msg_size();
    let include_metadata = config.include_metadata;
    let guard = security.guard;
    let make = move |peer| GrpcService {
        shared: shared.clone(),
        peer,
        max_message_size,
        include_metadata,
        guard: guard.clone(),
    };
    server::serve(listener, make, options, shutdown)
}

/// The service of one client connection.
#[derive(Clone)]
struct GrpcService {
    shared: Arc<Shared>,
    peer: SocketAddr,
    max_message_size: usize,
    include_metadata: bool,
    guard: Option<Guard>,
}

impl hyper::service::Service<http::Request<Incoming>> for GrpcService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.route(request).await) })
    }
}

impl GrpcService {
    async fn route(self, request: http::Request<Incoming>) -> http::Response<tonic::body::Body> {
        // Before routing, as grpc-go's interceptors: an unauthenticated client learns nothing,
        // not even which signals have a pipeline.
        if let Some(guard) = &self.guard
            && let Err(message) = guard.check(request.headers(), self.peer).await
        {
            return Status::unauthenticated(message).into_http();
        }
        let path = request.uri().path();
        let consumer = signal_of_path(path)
            .and_then(|signal| Some((signal, self.shared.consumers.get(&signal)?.clone())));
        let Some((signal, consumer)) = consumer else {
            let status = unknown(path);
            self.refused("unknown_method", status.message());
            return status.into_http();
        };
        let mut grpc = tonic::server::Grpc::new(RawCodec)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .max_decoding_message_size(self.max_message_size);
        let (peer, include_metadata) = (self.peer, self.include_metadata);
        // Whether tonic handed the message on: an error answered before that is a refusal of
        // the framing, size or compression, one after it the handler's own.
        let reached = Arc::new(AtomicBool::new(false));
        let reached_export = reached.clone();
        let receiver = self.receiver();
        let export = tower::service_fn(move |request: tonic::Request<Bytes>| {
            reached_export.store(true, Ordering::Relaxed);
            export(
                signal,
                consumer.clone(),
                (peer, receiver.clone()),
                include_metadata,
                request,
            )
        });
        // The body's bytes count as held while they are received, so the memory limiter sees
        // a burst of large requests before they are batches.
        let (parts, body) = request.into_parts();
        let body = weir_core::net::counted_body::Counted::new(body);
        let (message, body) = preread(body, self.max_message_size).await;
        let mut request = http::Request::from_parts(parts, body);
        if let Some(message) = message {
            request.extensions_mut().insert(message);
        }
        let mut response = grpc.unary(export, request).await;
        if !reached.load(Ordering::Relaxed)
            && let Some(code) = grpc_status(&response)
        {
            let message = response
                .headers()
                .get("grpc-message")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            let message = percent_decoded(&message);
            self.refused(
                tonic_refusal(code, &message),
                &format!("{code:?}: {message}"),
            );
        }
        oversize_as_resource_exhausted(&mut response);
        response
    }

    fn receiver(&self) -> String {
        self.shared.id.to_string()
    }

    /// Counts and logs (rate-limited) a request refused before it reached a pipeline.
    fn refused(&self, reason: &'static str, detail: &str) {
        weir_core::telemetry::refused_request(&self.receiver(), "grpc", self.peer, reason, detail);
    }
}

/// The reason label of an error tonic answered before the handler saw the message, from its
/// code and (tonic 0.14's) message: `OUT_OF_RANGE` for a message over the limit as sent,
/// `RESOURCE_EXHAUSTED` "Error decompressing: size limit ..." for one that decompresses past
/// it, `UNIMPLEMENTED` for a `grpc-encoding` it does not take, `INTERNAL` "Error decompressing"
/// for corrupt compressed data; anything else (bad framing) is malformed.
fn tonic_refusal(code: Code, message: &str) -> &'static str {
    let decompressing = message.starts_with("Error decompressing");
    match code {
        Code::OutOfRange => "too_large",
        Code::ResourceExhausted if decompressing => "decompressed_too_large",
        Code::ResourceExhausted => "too_large",
        Code::Unimplemented => "unsupported_encoding",
        Code::Internal if decompressing => "corrupt_encoding",
        _ => "malformed",
    }
}

/// The `grpc-status` of an answer that is an error, from its headers (tonic answers errors
/// trailers-only, with the status in the headers).
fn grpc_status(response: &http::Response<tonic::body::Body>) -> Option<Code> {
    let value = response.headers().get("grpc-status")?.to_str().ok()?;
    let code = Code::from_i32(value.parse().ok()?);
    (code != Code::Ok).then_some(code)
}

/// `grpc-message` is percent-encoded; enough of it decoded to read in a log line.
fn percent_decoded(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let hex = tail
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (first, hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).chars().take(300).collect()
}

/// tonic answers a frame over the size limit with `OUT_OF_RANGE`; grpc-go, and so otelcol,
/// answers `RESOURCE_EXHAUSTED`, which is what OTLP clients expect. The export handler never
/// answers `OUT_OF_RANGE` itself, so the status can only come from that check.
fn oversize_as_resource_exhausted(response: &mut http::Response<tonic::body::Body>) {
    let out_of_range = (Code::OutOfRange as i32).to_string();
    if response
        .headers()
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == out_of_range.as_bytes())
    {
        let exhausted = (Code::ResourceExhausted as i32).to_string();
        if let Ok(value) = http::HeaderValue::from_str(&exhausted) {
            response.headers_mut().insert("grpc-status", value);
        }
    }
}

/// grpc-go's answers for a method it does not know, which otelcol clients see for a signal
/// without a pipeline.
fn unknown(path: &str) -> Status {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next(), parts.next()) {
        (Some(service), Some(_)) if signal_of_path(path).is_some() => {
            Status::unimplemented(format!("unknown service {service}"))
        }
        (Some(service), Some(method)) => {
            Status::unimplemented(format!("unknown method {method} for service {service}"))
        }
        _ => Status::unimplemented(format!("malformed method name: {path:?}")),
    }
}

/// When the client stops waiting, from its `grpc-timeout` header (`<digits><unit>`, unit one
/// of `H M S m u n`), so waiting for room or delivery never outlasts the client.
fn client_deadline(metadata: &tonic::metadata::MetadataMap) -> Option<tokio::time::Instant> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => std::time::Duration::from_secs(amount.checked_mul(3600)?),
        "M" => std::time::Duration::from_secs(amount.checked_mul(60)?),
        "S" => std::time::Duration::from_secs(amount),
        "m" => std::time::Duration::from_millis(amount),
        "u" => std::time::Duration::from_micros(amount),
        "n" => std::time::Duration::from_nanos(amount),
        _ => return None,
    };
    tokio::time::Instant::now().checked_add(timeout)
}

async fn export(
    signal: Signal,
    consumer: Arc<dyn Consumer>,
    (peer, receiver): (SocketAddr, String),
    include_metadata: bool,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<Bytes>, Status> {
    let meta = if include_metadata {
        let headers = request.metadata().clone().into_headers();
        batch_meta(peer, "grpc", Some(&headers))
    } else {
        batch_meta(peer, "grpc", None)
    };
    let meta = match client_deadline(request.metadata()) {
        Some(deadline) => Arc::new(BatchMeta {
            deadline: Some(deadline),
            ..BatchMeta::clone(&meta)
        }),
        None => meta,
    };
    let (_, mut extensions, message) = request.into_parts();
    // A message taken from its DATA frame; tonic decoded an empty stand-in.
    let message = extensions
        .remove::<Preread>()
        .map_or(message, |Preread(taken)| taken);
    let batch = Batch::from_encoded(signal, message, meta).map_err(|error| {
        let message = error.to_string();
        weir_core::telemetry::refused_request(
            &receiver,
            "grpc",
            peer,
            "malformed",
            &format!("protobuf: {message}"),
        );
        Status::invalid_argument(message)
    })?;
    let outcome = consumer.consume(batch).await;
    match &outcome {
        PushOutcome::Accepted | PushOutcome::Partial { .. } => Ok(tonic::Response::new(
            response_protobuf(signal, partial_success(&outcome).as_ref()),
        )),
        PushOutcome::Refused {
            retry_after,
            reason,
        } => {
            let status = RpcStatus::new(Code::Unavailable, reason.clone());
            Err(match retry_after {
                Some(delay) => status.with_retry_delay(*delay),
                None => status,
            }
            .to_tonic())
        }
        // INTERNAL is not in OTLP's retryable set: the client drops the data instead of
        // retrying something that can never be taken.
        PushOutcome::Failed { reason } => Err(Status::internal(reason.clone())),
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[test]
    fn tonic_refusals_get_their_reasons() {
        assert_eq!(
            tonic_refusal(Code::OutOfRange, "Error, decoded message length too large"),
            "too_large"
        );
        assert_eq!(
            tonic_refusal(
                Code::ResourceExhausted,
                "Error decompressing: size limit, of 10 bytes, exceeded while decompressing message"
            ),
            "decompressed_too_large"
        );
        assert_eq!(
            tonic_refusal(
                Code::Unimplemented,
                "Content is compressed with `br` which isn't supported"
            ),
            "unsupported_encoding"
        );
        assert_eq!(
            tonic_refusal(
                Code::Internal,
                "Error decompressing: invalid gzip header, while sending request"
            ),
            "corrupt_encoding"
        );
        assert_eq!(
            tonic_refusal(Code::Internal, "Unexpected EOF decoding stream."),
            "malformed"
        );
    }

    #[test]
    fn grpc_messages_are_percent_decoded() {
        assert_eq!(percent_decoded("a%20b%25c%zz"), "a b%c%zz");
    }

    fn metadata(value: &str) -> tonic::metadata::MetadataMap {
        let mut m = tonic::metadata::MetadataMap::new();
        m.insert("grpc-timeout", value.parse().unwrap());
        m
    }

    #[tokio::test(start_paused = true)]
    async fn grpc_timeout_header_becomes_the_batch_deadline() {
        let now = tokio::time::Instant::now();
        assert_eq!(
            client_deadline(&metadata("250m")),
            Some(now + std::time::Duration::from_millis(250))
        );
        assert_eq!(
            client_deadline(&metadata("2S")),
            Some(now + std::time::Duration::from_secs(2))
        );
        assert_eq!(
            client_deadline(&metadata("1H")),
            Some(now + std::time::Duration::from_secs(3600))
        );
        assert_eq!(client_deadline(&metadata("x")), None);
        assert_eq!(client_deadline(&metadata("10q")), None);
        assert_eq!(client_deadline(&tonic::metadata::MetadataMap::new()), None);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;
    use tonic::transport::{Channel, Endpoint};
    use weir_core::batch::Payload;
    use weir_core::net::grpc_codec::export_path;

    use super::super::testing::{FakeConsumer, TestReceiver};
    use super::super::{GrpcConfig, HttpConfig};
    use super::*;

    fn traces(spans: usize) -> Bytes {
        let span = |i: usize| Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: format!("span-{i}"),
            attributes: vec![KeyValue {
                key: "payload".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("x".repeat(100))),
                }),
                key_strindex: 0,
            }],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: (0..spans).map(span).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
        .into()
    }

    fn logs(records: usize) -> Bytes {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default(); records],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
        .into()
    }

    async fn client(addr: SocketAddr) -> tonic::client::Grpc<Channel> {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        tonic::client::Grpc::new(channel)
    }

    async fn call(
        grpc: &mut tonic::client::Grpc<Channel>,
        signal: Signal,
        body: Bytes,
    ) -> Result<tonic::Response<Bytes>, Status> {
        call_request(grpc, signal, tonic::Request::new(body)).await
    }

    async fn call_request(
        grpc: &mut tonic::client::Grpc<Channel>,
        signal: Signal,
        request: tonic::Request<Bytes>,
    ) -> Result<tonic::Response<Bytes>, Status> {
        grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static(export_path(signal));
        grpc.unary(request, path, RawCodec).await
    }

    fn encoded(batch: &Batch) -> Bytes {
        match batch.payload() {
            Payload::Encoded(bytes) => bytes.clone(),
            Payload::Decoded(_) => panic!("gRPC batches must stay encoded"),
        }
    }

    #[tokio::test]
    async fn export_arrives_byte_identical_with_peer_and_metadata() {
        let consumer = FakeConsumer::accepting();
        let grpc_config = GrpcConfig {
            include_metadata: true,
            ..GrpcConfig::default()
        };
        let receiver = TestReceiver::start(
            &[(Signal::Traces, consumer.clone())],
            grpc_config,
            HttpConfig::default(),
        )
        .await;
        let mut grpc = client(receiver.grpc_addr()).await;
        let body = traces(3);
        let mut request = tonic::Request::new(body.clone());
        request
            .metadata_mut()
            .insert("x-tenant", "acme".parse().unwrap());
        let response = call_request(&mut grpc, Signal::Traces, request)
            .await
            .unwrap();
        assert!(
            response.get_ref().is_empty(),
            "accepted answers an empty response"
        );
        assert_eq!(
            ExportTraceServiceResponse::decode(response.into_inner()).unwrap(),
            Default::default()
        );

        let batches = consumer.batches();
        assert_eq!(batches.len(), 1);
        assert_eq!(encoded(&batches[0]), body);
        assert_eq!(batches[0].items(), 3);
        assert_eq!(batches[0].signal(), Signal::Traces);
        let client = &batches[0].meta().client;
        assert_eq!(client.peer.unwrap().ip(), receiver.grpc_addr().ip());
        assert!(
            client
                .headers
                .contains(&("x-tenant".to_string(), "acme".to_string())),
            "{:?}",
            client.headers
        );
        receiver.stop().await;
    }

    /// A request whose message spans several DATA frames is not taken out of its frame
    /// (`grpc_preread`) but handed to tonic as it came, and arrives byte-identical.
    #[tokio::test]
    async fn a_message_split_over_several_data_frames_arrives_whole() {
        use http_body_util::{BodyExt as _, StreamBody};
        use hyper::body::Frame;
        use hyper_util::client::legacy::Client;
        use hyper_util::rt::TokioExecutor;

        let consumer = FakeConsumer::accepting();
        let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
        let message = traces(20);
        let framed = Bytes::from(weir_core::net::grpc_codec::framed_message(false, &message));
        let chunks: Vec<Result<Frame<Bytes>, Infallible>> =
            [framed.slice(..3), framed.slice(3..100), framed.slice(100..)]
                .into_iter()
                .map(|chunk| Ok(Frame::data(chunk)))
                .collect();
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http();
        let request = http::Request::post(format!(
            "http://{}{}",
            receiver.grpc_addr(),
            export_path(Signal::Traces)
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(StreamBody::new(futures::stream::iter(chunks)))
        .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        let trailers = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .trailers()
            .cloned()
            .expect("trailers");
        assert_eq!(trailers.get("grpc-status").unwrap(), "0", "{trailers:?}");
        let batches = consumer.batches();
        assert_eq!(batches.len(), 1);
        assert_eq!(encoded(&batches[0]), message);
        assert_eq!(batches[0].items(), 20);
        receiver.stop().await;
    }

    #[tokio::test]
    async fn metadata_is_left_out_unless_asked_for() {
        let consumer = FakeConsumer::accepting();
        let receiver = TestReceiver::for_signal(Signal::Logs, &consumer).await;
        let mut grpc = client(receiver.grpc_addr()).await;
        let mut request = tonic::Request::new(logs(1));
        request
            .metadata_mut()
            .insert("x-tenant", "acme".parse().unwrap());
        call_request(&mut grpc, Signal::Logs, request)
            .await
            .unwrap();
        assert!(consumer.batches()[0].meta().client.headers.is_empty());
        receiver.stop().await;
    }

    #[tokio::test]
    async fn gzip_and_zstd_requests_are_decompressed() {
        let consumer = FakeConsumer::accepting();
        let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
        let body = traces(20);
        for encoding in [CompressionEncoding::Gzip, CompressionEncoding::Zstd] {
            let mut grpc = client(receiver.grpc_addr()).await.send_compressed(encoding);
            call(&mut grpc, Signal::Traces, body.clone()).await.unwrap();
        }
        let batches = consumer.batches();
        assert_eq!(batches.len(), 2);
        assert!(
            batches
                .iter()
                .all(|b| encoded(b) == body && b.items() == 20)
        );
        receiver.stop().await;
    }

    #[tokio::test]
    async fn malformed_protobuf_is_invalid_argument() {
        let consumer = FakeConsumer::accepting();
        let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
        let mut grpc = client(receiver.grpc_addr()).await;
        // Field 1 (resource_spans), length-delimited, claims 100 bytes but has 2.
        let status = call(
            &mut grpc,
            Signal::Traces,
            Bytes::from_static(&[0x0a, 100, 1, 2]),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("traces"), "{}", status.message());
        assert!(consumer.batches().is_empty());
        receiver.stop().await;
    }

    #[tokio::test]
    async fn refused_is_unavailable_with_retry_info() {
        let consumer = FakeConsumer::answering(PushOutcome::Refused {
            retry_after: Some(Duration::from_secs(7)),
            reason: "pipeline full".into(),
        });
        let receiver = TestReceiver::start(
            &[(Signal::Traces, consumer)],
            GrpcConfig::default(),
            HttpConfig::default(),
        )
        .await;
        let mut grpc = client(receiver.grpc_addr()).await;
        let status = call(&mut grpc, Signal::Traces, traces(1))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "pipeline full");
        let details = RpcStatus::from_tonic(&status);
        assert_eq!(details.retry_delay(), Some(Duration::from_secs(7)));
        receiver.stop().await;
    }

    #[tokio::test]
    async fn failed_is_internal() {
        let consumer = FakeConsumer::answering(PushOutcome::Failed {
            reason: "shutting down".into(),
        });
        let receiver = TestReceiver::start(
            &[(Signal::Traces, consumer)],
            GrpcConfig::default(),
            HttpConfig::default(),
        )
        .await;
        let mut grpc = client(receiver.grpc_addr()).await;
        let status = call(&mut grpc, Signal::Traces, traces(1))
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::Internal, "shutting down")
        );
        receiver.stop().await;
    }

    #[tokio::test]
    async fn partial_success_is_passed_back() {
        let consumer = FakeConsumer::answering(PushOutcome::Partial {
            rejected: 2,
            message: "filtered".into(),
        });
        let receiver = TestReceiver::start(
            &[(Signal::Logs, consumer)],
            GrpcConfig::default(),
            HttpConfig::default(),
        )
        .await;
        let mut grpc = client(receiver.grpc_addr()).await;
        let response = call(&mut grpc, Signal::Logs, logs(5)).await.unwrap();
        let partial = ExportLogsServiceResponse::decode(response.into_inner())
            .unwrap()
            .partial_success
            .unwrap();
        assert_eq!(
            (partial.rejected_log_records, partial.error_message.as_str()),
            (2, "filtered")
        );
        receiver.stop().await;
    }

    #[tokio::test]
    async fn oversize_messages_are_refused_before_and_after_decompression() {
        let consumer = FakeConsumer::accepting();
        let grpc_config = GrpcConfig {
            max_recv_msg_size_mib: 1,
            ..GrpcConfig::default()
        };
        let receiver = TestReceiver::start(
            &[(Signal::Traces, consumer.clone())],
            grpc_config,
            HttpConfig::default(),
        )
        .await;
        // ~1.3 MiB of spans.
        let big = traces(10_000);
        assert!(big.len() > 1024 * 1024);

        let mut plain = client(receiver.grpc_addr()).await;
        let status = call(&mut plain, Signal::Traces, big.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

        // Small on the wire, too large once decompressed.
        let mut gzip = client(receiver.grpc_addr())
            .await
            .send_compressed(CompressionEncoding::Gzip);
        let status = call(&mut gzip, Signal::Traces, big).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(consumer.batches().is_empty());
        receiver.stop().await;
    }

    #[tokio::test]
    async fn a_signal_without_a_pipeline_is_unimplemented() {
        let receiver = TestReceiver::start(
            &[(Signal::Traces, FakeConsumer::accepting())],
            GrpcConfig::default(),
            HttpConfig::default(),
        )
        .await;
        let mut grpc = client(receiver.grpc_addr()).await;
        let metrics = Bytes::from(ExportMetricsServiceRequest::default().encode_to_vec());
        let status = call(&mut grpc, Signal::Metrics, metrics).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(
            status.message(),
            "unknown service opentelemetry.proto.collector.metrics.v1.MetricsService"
        );

        grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Nope",
        );
        let status = grpc
            .unary(tonic::Request::new(Bytes::new()), path, RawCodec)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        assert!(
            status.message().contains("unknown method Nope"),
            "{}",
            status.message()
        );
        receiver.stop().await;
    }

    #[tokio::test]
    async fn shutdown_lets_an_in_flight_export_finish() {
        use tokio::sync::{Mutex, oneshot};
        /// Tells the test when a batch arrived, then holds it until released.
        struct Held {
            arrived: Mutex<Option<oneshot::Sender<()>>>,
            release: Mutex<Option<oneshot::Receiver<()>>>,
        }
        #[async_trait::async_trait]
        impl Consumer for Held {
            async fn consume(&self, _batch: Batch) -> PushOutcome {
                if let Some(tx) = self.arrived.lock().await.take() {
                    let _ = tx.send(());
                }
                if let Some(rx) = self.release.lock().await.take() {
                    let _ = rx.await;
                }
                PushOutcome::Accepted
            }
        }
        let (arrived_tx, arrived) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        let held: Arc<dyn Consumer> = Arc::new(Held {
            arrived: Mutex::new(Some(arrived_tx)),
            release: Mutex::new(Some(release_rx)),
        });
        let shutdown = CancellationToken::new();
        let ctx = weir_core::component::ReceiverContext {
            id: weir_core::component::ComponentId::new("otlp", None),
            consumers: [(Signal::Traces, held)].into_iter().collect(),
            shutdown: shutdown.clone(),
            host: Default::default(),
        };
        let config = super::super::OtlpReceiverConfig {
            acknowledgements: false,
            protocols: super::super::Protocols {
                grpc: Some(GrpcConfig {
                    endpoint: "127.0.0.1:0".into(),
                    ..GrpcConfig::default()
                }),
                http: None,
            },
        };
        let running = super::super::OtlpReceiver::new(config)
            .run(ctx)
            .await
            .unwrap();
        let mut grpc = client(running.grpc.unwrap()).await;
        let in_flight =
            tokio::spawn(async move { call(&mut grpc, Signal::Traces, traces(1)).await });
        arrived.await.unwrap();
        shutdown.cancel();
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            !running.handle.is_finished(),
            "receiver stopped with a request in flight"
        );
        release.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), running.handle)
            .await
            .unwrap()
            .unwrap();
        assert!(
            in_flight.await.unwrap().is_ok(),
            "in-flight export was not answered"
        );
    }
}
