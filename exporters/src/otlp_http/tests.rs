//! The `otlphttp` exporter against a real hyper server on 127.0.0.1 that records requests and
//! answers as each test says, plus the pure classification of responses.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::net::TcpListener;
use tonic::Code;
use weir_core::batch::json::{PartialSuccess, decode_json, encode_response_json};
use weir_core::batch::{Batch, BatchMeta, Request, Signal};
use weir_core::component::{
    ComponentConfig, ComponentId, CreateSettings, Delivered, ExportError, Exporter, ExporterFactory,
};
use weir_core::net::{Compression, RpcStatus, decompress_limited};

use super::client::{classify, retry_after};
use super::*;

/// What the server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// Status, extra headers and body of the server's answer.
type Answer = (StatusCode, Vec<(&'static str, String)>, Bytes);
type Reply = Arc<dyn Fn() -> Answer + Send + Sync>;

struct Backend {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Backend {
    async fn start(reply: Reply, delay: Duration) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
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
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            recorded.lock().expect("not poisoned").push(Seen {
                                path,
                                headers,
                                body,
                            });
                            tokio::time::sleep(delay).await;
                            let (status, extra, body) = reply();
                            let mut response = Response::builder().status(status);
                            for (name, value) in extra {
                                response = response.header(name, value);
                            }
                            Ok::<_, Infallible>(
                                response.body(Full::new(body)).expect("valid response"),
                            )
                        }
                    });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Backend { addr, seen }
    }

    async fn ok() -> Backend {
        Backend::start(
            Arc::new(|| (StatusCode::OK, vec![], Bytes::new())),
            Duration::ZERO,
        )
        .await
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

fn build(config: serde_json::Value) -> Arc<dyn Exporter> {
    let config: OtlpHttpConfig = serde_json::from_value(config).expect("config parses");
    assert_eq!(config.validate(), Ok(()));
    let settings = CreateSettings {
        id: ComponentId::new("otlphttp", None),
        signal: None,
        pipeline: None,
        host: Default::default(),
    };
    OtlpHttpExporterFactory
        .create(&config, &settings)
        .expect("created")
}

fn traces_request() -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    name: "checkout".into(),
                    trace_id: (1..=16).collect(),
                    span_id: vec![7; 8],
                    start_time_unix_nano: 1_700_000_000_000_000_000,
                    attributes: vec![KeyValue {
                        key: "user".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue("u1".into())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// Protobuf bytes that a decode and re-encode would change (an unknown field at the end).
fn traces_bytes() -> Bytes {
    let mut bytes = traces_request().encode_to_bytes().to_vec();
    bytes.extend_from_slice(&[15 << 3, 1]);
    Bytes::from(bytes)
}

fn traces_batch() -> Batch {
    Batch::from_walked(
        Signal::Traces,
        traces_bytes(),
        1,
        Arc::new(BatchMeta::default()),
    )
}

fn metrics_batch() -> Batch {
    let request = Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "up".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint::default()],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    Batch::from_request(request, Arc::new(BatchMeta::default()))
}

fn header(seen: &Seen, name: &str) -> Option<String> {
    seen.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test]
async fn protobuf_bytes_arrive_unchanged_with_headers() {
    let backend = Backend::ok().await;
    let exporter = build(serde_json::json!({
        "endpoint": backend.url(),
        "compression": "none",
        "headers": {"Authorization": "Bearer s3cret", "X-Scope-OrgID": "acme"},
    }));
    assert_eq!(
        exporter.export(&traces_batch()).await,
        Ok(Delivered::default())
    );
    let seen = backend.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/traces");
    assert_eq!(seen[0].body, traces_bytes(), "payload changed on the way");
    assert_eq!(
        header(&seen[0], "content-type").as_deref(),
        Some("application/x-protobuf")
    );
    assert_eq!(header(&seen[0], "content-encoding"), None);
    assert_eq!(
        header(&seen[0], "authorization").as_deref(),
        Some("Bearer s3cret")
    );
    assert_eq!(header(&seen[0], "x-scope-orgid").as_deref(), Some("acme"));
    assert!(header(&seen[0], "user-agent").is_some_and(|ua| ua.starts_with("weir/")));
}

#[tokio::test]
async fn gzip_and_zstd_bodies_decompress_to_the_batch() {
    for compression in [Compression::Gzip, Compression::Zstd] {
        let backend = Backend::ok().await;
        let exporter =
            build(serde_json::json!({"endpoint": backend.url(), "compression": compression}));
        exporter.export(&traces_batch()).await.expect("delivered");
        let seen = backend.seen();
        assert_eq!(
            header(&seen[0], "content-encoding").as_deref(),
            Some(compression.as_header_value())
        );
        assert_ne!(
            seen[0].body,
            traces_bytes(),
            "{compression}: body was not compressed"
        );
        let body = decompress_limited(compression, &seen[0].body, 1 << 20).expect("decodable");
        assert_eq!(body, traces_bytes(), "{compression}");
    }
}

#[tokio::test]
async fn json_encoding_decodes_to_the_same_request() {
    let backend = Backend::ok().await;
    let exporter = build(
        serde_json::json!({"endpoint": backend.url(), "encoding": "json", "compression": "gzip"}),
    );
    exporter.export(&traces_batch()).await.expect("delivered");
    let seen = backend.seen();
    assert_eq!(
        header(&seen[0], "content-type").as_deref(),
        Some("application/json")
    );
    let body = decompress_limited(Compression::Gzip, &seen[0].body, 1 << 20).expect("gzip");
    assert_eq!(
        decode_json(Signal::Traces, &body).expect("OTLP/JSON"),
        traces_request()
    );
}

#[tokio::test]
async fn per_signal_endpoints_override_the_base() {
    let backend = Backend::ok().await;
    let exporter = build(serde_json::json!({
        "endpoint": format!("{}/base/", backend.url()),
        "metrics_endpoint": format!("{}/custom/metrics", backend.url()),
    }));
    exporter.export(&traces_batch()).await.expect("traces");
    exporter.export(&metrics_batch()).await.expect("metrics");
    let paths: Vec<String> = backend.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, vec!["/base/v1/traces", "/custom/metrics"]);
}

#[tokio::test]
async fn signal_without_url_is_permanent() {
    let backend = Backend::ok().await;
    let exporter = build(serde_json::json!({"traces_endpoint": format!("{}/t", backend.url())}));
    exporter
        .export(&traces_batch())
        .await
        .expect("traces have a URL");
    match exporter.export(&metrics_batch()).await {
        Err(ExportError::Permanent { reason }) => {
            assert!(reason.contains("metrics_endpoint"), "{reason}")
        }
        other => panic!("expected permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn unavailable_with_retry_after_is_retryable() {
    let status = RpcStatus::new(Code::Unavailable, "ingester draining");
    let body = Bytes::from(status.encode_to_vec());
    let reply: Reply = Arc::new(move || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            vec![
                ("retry-after", "7".to_string()),
                ("content-type", "application/x-protobuf".to_string()),
            ],
            body.clone(),
        )
    });
    let backend = Backend::start(reply, Duration::ZERO).await;
    let exporter = build(serde_json::json!({"endpoint": backend.url()}));
    assert_eq!(
        exporter.export(&traces_batch()).await,
        Err(ExportError::Retryable {
            retry_after: Some(Duration::from_secs(7)),
            reason: "HTTP 503 Service Unavailable: ingester draining".into(),
        })
    );
}

#[tokio::test]
async fn bad_request_with_json_status_is_permanent() {
    let body = Bytes::from(RpcStatus::new(Code::InvalidArgument, "span name missing").to_json());
    let reply: Reply = Arc::new(move || {
        (
            StatusCode::BAD_REQUEST,
            vec![("content-type", "application/json".to_string())],
            body.clone(),
        )
    });
    let backend = Backend::start(reply, Duration::ZERO).await;
    let exporter = build(serde_json::json!({"endpoint": backend.url(), "encoding": "json"}));
    assert_eq!(
        exporter.export(&traces_batch()).await,
        Err(ExportError::Permanent {
            reason: "HTTP 400 Bad Request: span name missing".into()
        })
    );
}

#[tokio::test]
async fn partial_success_is_read_from_protobuf_and_json() {
    let response = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 1,
            error_message: "too old".into(),
        }),
    };
    let proto = Bytes::from(response.encode_to_vec());
    let reply: Reply = Arc::new(move || {
        (
            StatusCode::OK,
            vec![("content-type", "application/x-protobuf".to_string())],
            proto.clone(),
        )
    });
    let backend = Backend::start(reply, Duration::ZERO).await;
    let exporter = build(serde_json::json!({"endpoint": backend.url()}));
    let expected = Delivered {
        rejected_items: 1,
        message: "too old".into(),
    };
    assert_eq!(exporter.export(&traces_batch()).await, Ok(expected.clone()));

    let partial = PartialSuccess {
        rejected: 1,
        error_message: "too old".into(),
    };
    let json = Bytes::from(encode_response_json(Signal::Traces, Some(&partial)));
    let reply: Reply = Arc::new(move || {
        (
            StatusCode::OK,
            vec![("content-type", "application/json".to_string())],
            json.clone(),
        )
    });
    let backend = Backend::start(reply, Duration::ZERO).await;
    let exporter = build(serde_json::json!({"endpoint": backend.url(), "encoding": "json"}));
    assert_eq!(exporter.export(&traces_batch()).await, Ok(expected));
}

#[tokio::test]
async fn oversized_success_body_is_still_a_success() {
    let junk = Bytes::from(vec![b'x'; 1 << 20]);
    let reply: Reply = Arc::new(move || {
        (
            StatusCode::OK,
            vec![("content-type", "text/plain".to_string())],
            junk.clone(),
        )
    });
    let backend = Backend::start(reply, Duration::ZERO).await;
    let exporter = build(serde_json::json!({"endpoint": backend.url()}));
    // Reporting a failure here would make the runtime send accepted data again.
    assert_eq!(
        exporter.export(&traces_batch()).await,
        Ok(Delivered::default())
    );
}

#[tokio::test]
async fn unreachable_server_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let exporter = build(serde_json::json!({"endpoint": format!("http://{addr}")}));
    assert!(matches!(
        exporter.export(&traces_batch()).await,
        Err(ExportError::Retryable {
            retry_after: None,
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn timeout_is_retryable() {
    let backend = Backend::start(
        Arc::new(|| (StatusCode::OK, vec![], Bytes::new())),
        Duration::from_secs(3600),
    )
    .await;
    let exporter = build(serde_json::json!({"endpoint": backend.url(), "timeout": "1s"}));
    match exporter.export(&traces_batch()).await {
        Err(ExportError::Retryable {
            retry_after: None,
            reason,
        }) => assert!(reason.contains("timed out after 1s"), "{reason}"),
        other => panic!("expected a retryable timeout, got {other:?}"),
    }
}

fn response(status: u16, headers: &[(&str, &str)]) -> Response<()> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("valid response")
}

#[test]
fn status_codes_are_classified_like_otelcol() {
    let now = SystemTime::UNIX_EPOCH;
    for code in [429, 502, 503, 504] {
        assert!(
            matches!(
                classify(Signal::Logs, &response(code, &[]), b"", now),
                Err(ExportError::Retryable {
                    retry_after: None,
                    ..
                })
            ),
            "{code} should be retryable"
        );
    }
    for code in [301, 400, 401, 403, 404, 413, 500, 501] {
        assert!(
            matches!(
                classify(Signal::Logs, &response(code, &[]), b"", now),
                Err(ExportError::Permanent { .. })
            ),
            "{code} should be permanent"
        );
    }
    for code in [200, 202, 204] {
        assert_eq!(
            classify(Signal::Logs, &response(code, &[]), b"", now),
            Ok(Delivered::default())
        );
    }
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_450);
    assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
    // 2015-10-21T07:28:00Z is 30 s after `now`.
    assert_eq!(
        retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after("soon", now), None);

    let throttled = response(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
    assert!(matches!(
        classify(Signal::Traces, &throttled, b"", now),
        Err(ExportError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(30)
    ));
}

#[test]
fn error_text_uses_status_message_or_quotes_the_body() {
    let now = SystemTime::UNIX_EPOCH;
    let html = response(502, &[("content-type", "text/html")]);
    match classify(Signal::Traces, &html, b"<html>\nbad gateway</html>", now) {
        Err(ExportError::Retryable { reason, .. }) => {
            assert_eq!(reason, "HTTP 502 Bad Gateway: <html> bad gateway</html>")
        }
        other => panic!("{other:?}"),
    }
    // A RetryInfo in the status body is honoured when there is no Retry-After header.
    let status =
        RpcStatus::new(Code::ResourceExhausted, "quota").with_retry_delay(Duration::from_secs(4));
    let json = response(429, &[("content-type", "application/json; charset=utf-8")]);
    assert_eq!(
        classify(Signal::Traces, &json, &status.to_json(), now),
        Err(ExportError::Retryable {
            retry_after: Some(Duration::from_secs(4)),
            reason: "HTTP 429 Too Many Requests: quota".into()
        })
    );
}
