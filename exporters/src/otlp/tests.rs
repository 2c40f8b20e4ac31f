//! The `otlp` exporter against a real tonic gRPC server on 127.0.0.1 that records what arrives
//! (headers and message bytes, after tonic's decompression) and answers as each test says.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};
use weir_core::batch::{Batch, BatchMeta, Request, Signal};
use weir_core::component::{
    ComponentConfig, ComponentId, CreateSettings, Delivered, ExportError, Exporter, ExporterFactory,
};
use weir_core::net::grpc_codec::{LOGS_EXPORT_PATH, TRACES_EXPORT_PATH};
use weir_core::net::{Compression, RawCodec, RpcStatus};

use super::grpc::classify;
use super::*;

/// What the server saw of one call.
#[derive(Clone, Debug)]
struct Call {
    path: String,
    headers: HeaderMap,
    message: Bytes,
}

type Reply = Arc<dyn Fn() -> Result<Bytes, Status> + Send + Sync>;

struct Backend {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Backend {
    /// A gRPC server answering every export with `reply` after `delay`.
    async fn start(reply: Reply, delay: Duration) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let reply = reply.clone();
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let recorded = recorded.clone();
                        let reply = reply.clone();
                        async move {
                            let path = request.uri().path().to_string();
                            let headers = request.headers().clone();
                            let unary = tower::service_fn(move |message: tonic::Request<Bytes>| {
                                let recorded = recorded.clone();
                                let reply = reply.clone();
                                let call = Call {
                                    path: path.clone(),
                                    headers: headers.clone(),
                                    message: message.into_inner(),
                                };
                                async move {
                                    recorded.lock().expect("not poisoned").push(call);
                                    tokio::time::sleep(delay).await;
                                    reply().map(tonic::Response::new)
                                }
                            });
                            let mut grpc = tonic::server::Grpc::new(RawCodec)
                                .accept_compressed(CompressionEncoding::Gzip)
                                .accept_compressed(CompressionEncoding::Zstd);
                            Ok::<_, Infallible>(grpc.unary(unary, request).await)
                        }
                    });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Backend { addr, calls }
    }

    async fn ok() -> Backend {
        Backend::start(Arc::new(|| Ok(Bytes::new())), Duration::ZERO).await
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("not poisoned").clone()
    }
}

fn build(config: serde_json::Value) -> Arc<dyn Exporter> {
    let config: OtlpGrpcConfig = serde_json::from_value(config).expect("config parses");
    assert_eq!(config.validate(), Ok(()));
    let settings = CreateSettings {
        id: ComponentId::new("otlp", None),
        signal: None,
        pipeline: None,
        host: Default::default(),
    };
    OtlpGrpcExporterFactory
        .create(&config, &settings)
        .expect("created")
}

fn traces_request() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    Span {
                        name: "a".into(),
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        ..Default::default()
                    },
                    Span {
                        name: "b".into(),
                        trace_id: vec![1; 16],
                        span_id: vec![3; 8],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Protobuf bytes that a decode and re-encode would change: an unknown field (number 15,
/// varint 1) after the spans, which prost drops.
fn traces_bytes() -> Bytes {
    let mut bytes = traces_request().encode_to_vec();
    bytes.extend_from_slice(&[15 << 3, 1]);
    Bytes::from(bytes)
}

fn traces_batch() -> Batch {
    Batch::from_walked(
        Signal::Traces,
        traces_bytes(),
        2,
        Arc::new(BatchMeta::default()),
    )
}

#[tokio::test]
async fn bytes_arrive_unchanged_with_metadata_and_each_compression() {
    for (compression, wire_name) in [
        (Compression::Gzip, Some("gzip")),
        (Compression::Zstd, Some("zstd")),
        (Compression::None, None),
    ] {
        let backend = Backend::ok().await;
        let exporter = build(serde_json::json!({
            "endpoint": format!("http://{}", backend.addr),
            "compression": compression,
            "headers": {"authorization": "Bearer s3cret", "x-tenant": "acme"},
        }));
        assert_eq!(
            exporter.export(&traces_batch()).await,
            Ok(Delivered::default()),
            "{compression}"
        );

        let calls = backend.calls();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!(call.path, TRACES_EXPORT_PATH);
        assert_eq!(
            call.message,
            traces_bytes(),
            "{compression}: payload changed on the way"
        );
        let header = |name: &str| {
            call.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            header("grpc-encoding").as_deref(),
            wire_name,
            "{compression}"
        );
        assert_eq!(header("authorization").as_deref(), Some("Bearer s3cret"));
        assert_eq!(header("x-tenant").as_deref(), Some("acme"));
        assert!(
            header("grpc-timeout").is_some(),
            "the deadline is sent to the server"
        );
        assert!(
            header("user-agent").is_some_and(|ua| ua.starts_with("weir/")),
            "{:?}",
            header("user-agent")
        );
    }
}

#[tokio::test]
async fn each_signal_uses_its_service_and_plaintext_via_insecure() {
    let backend = Backend::ok().await;
    let exporter =
        build(serde_json::json!({"endpoint": backend.addr.to_string(), "tls": {"insecure": true}}));
    let logs = Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let batch = Batch::from_request(logs.clone(), Arc::new(BatchMeta::default()));
    exporter.export(&batch).await.expect("delivered");
    let calls = backend.calls();
    assert_eq!(calls[0].path, LOGS_EXPORT_PATH);
    assert_eq!(
        Request::decode(Signal::Logs, &calls[0].message).expect("valid logs"),
        logs
    );
}

#[tokio::test]
async fn partial_success_is_reported() {
    let response = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 1,
            error_message: "span b too old".into(),
        }),
    };
    let body = Bytes::from(response.encode_to_vec());
    let backend = Backend::start(Arc::new(move || Ok(body.clone())), Duration::ZERO).await;
    let exporter = build(serde_json::json!({"endpoint": format!("http://{}", backend.addr)}));
    assert_eq!(
        exporter.export(&traces_batch()).await,
        Ok(Delivered {
            rejected_items: 1,
            message: "span b too old".into()
        })
    );
}

#[tokio::test]
async fn server_errors_are_classified_with_retry_info() {
    let cases: Vec<(RpcStatus, ExportError)> = vec![
        (
            RpcStatus::new(Code::Unavailable, "draining")
                .with_retry_delay(Duration::from_millis(1500)),
            ExportError::Retryable {
                retry_after: Some(Duration::from_millis(1500)),
                reason: "gRPC status Unavailable: draining".into(),
            },
        ),
        (
            RpcStatus::new(Code::ResourceExhausted, "slow down")
                .with_retry_delay(Duration::from_secs(3)),
            ExportError::Retryable {
                retry_after: Some(Duration::from_secs(3)),
                reason: "gRPC status ResourceExhausted: slow down".into(),
            },
        ),
        (
            RpcStatus::new(Code::ResourceExhausted, "quota exceeded"),
            ExportError::Permanent {
                reason: "gRPC status ResourceExhausted: quota exceeded".into(),
            },
        ),
        (
            RpcStatus::new(Code::InvalidArgument, "bad span"),
            ExportError::Permanent {
                reason: "gRPC status InvalidArgument: bad span".into(),
            },
        ),
    ];
    for (status, expected) in cases {
        let tonic_status = status.to_tonic();
        let reply: Reply = Arc::new(move || Err(tonic_status.clone()));
        let backend = Backend::start(reply, Duration::ZERO).await;
        let exporter = build(serde_json::json!({"endpoint": format!("http://{}", backend.addr)}));
        assert_eq!(exporter.export(&traces_batch()).await, Err(expected));
    }
}

#[test]
fn classification_table_matches_otelcol() {
    let retryable = [
        Code::Cancelled,
        Code::DeadlineExceeded,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unavailable,
        Code::DataLoss,
    ];
    let permanent = [
        Code::Unknown,
        Code::InvalidArgument,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Unimplemented,
        Code::Internal,
        Code::Unauthenticated,
    ];
    for code in retryable {
        assert!(
            matches!(
                classify(&Status::new(code, "x")),
                ExportError::Retryable {
                    retry_after: None,
                    ..
                }
            ),
            "{code:?} should be retryable"
        );
    }
    for code in permanent {
        assert!(
            matches!(
                classify(&Status::new(code, "x")),
                ExportError::Permanent { .. }
            ),
            "{code:?} should be permanent"
        );
    }
}

#[tokio::test]
async fn unreachable_server_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let exporter = build(serde_json::json!({"endpoint": format!("http://{addr}")}));
    match exporter.export(&traces_batch()).await {
        Err(ExportError::Retryable { reason, .. }) => {
            assert!(reason.contains("Unavailable"), "{reason}")
        }
        other => panic!("expected retryable, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_is_retryable() {
    let backend = Backend::start(Arc::new(|| Ok(Bytes::new())), Duration::from_secs(3600)).await;
    let exporter = build(
        serde_json::json!({"endpoint": format!("http://{}", backend.addr), "timeout": "200ms"}),
    );
    match exporter.export(&traces_batch()).await {
        Err(ExportError::Retryable {
            retry_after: None,
            reason,
        }) => assert!(reason.contains("timed out after 200ms"), "{reason}"),
        other => panic!("expected a retryable timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn one_exporter_serves_concurrent_exports() {
    let backend = Backend::ok().await;
    let exporter = build(serde_json::json!({"endpoint": format!("http://{}", backend.addr)}));
    let exports = (0..8).map(|_| {
        let exporter = exporter.clone();
        tokio::spawn(async move { exporter.export(&traces_batch()).await })
    });
    for export in futures::future::join_all(exports).await {
        assert_eq!(export.expect("task"), Ok(Delivered::default()));
    }
    assert_eq!(backend.calls().len(), 8);
}
