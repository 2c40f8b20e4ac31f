//! OTLP/HTTP receiver tests against a real server on a loopback port, with a hyper client.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use weir_core::batch::{Payload, Request as OtlpRequest};
use weir_core::net::compression::compress;

use super::super::testing::{FakeConsumer, TestReceiver};
use super::super::{GrpcConfig, HttpConfig};
use super::*;

fn trace_request(spans: usize) -> ExportTraceServiceRequest {
    let span = |i: usize| Span {
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        name: format!("span-{i}"),
        start_time_unix_nano: 1_544_712_660_000_000_000,
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
}

fn traces(spans: usize) -> Bytes {
    trace_request(spans).encode_to_vec().into()
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

const JSON_TRACES: &str = r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
    "name": "from json", "kind": 2, "startTimeUnixNano": "1544712660000000000"}]}]}]}"#;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: Option<&str>,
    encoding: Option<&str>,
    body: impl Into<Bytes>,
) -> Answer {
    send(
        addr,
        Method::POST,
        path,
        content_type,
        encoding,
        body.into(),
    )
    .await
}

async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    encoding: Option<&str>,
    body: Bytes,
) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    if let Some(encoding) = encoding {
        request = request.header(CONTENT_ENCODING, encoding);
    }
    request = request.header("x-tenant", "acme");
    let response = client
        .request(request.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

fn content_type(answer: &Answer) -> &str {
    answer.headers.get(CONTENT_TYPE).unwrap().to_str().unwrap()
}

fn encoded(batch: &Batch) -> Bytes {
    match batch.payload() {
        Payload::Encoded(bytes) => bytes.clone(),
        Payload::Decoded(_) => panic!("protobuf batches must stay encoded"),
    }
}

#[tokio::test]
async fn protobuf_is_accepted_byte_identical() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let body = traces(3);
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(PROTOBUF),
        None,
        body.clone(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(content_type(&answer), PROTOBUF);
    assert_eq!(
        ExportTraceServiceResponse::decode(answer.body).unwrap(),
        Default::default()
    );

    let batches = consumer.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(encoded(&batches[0]), body);
    assert_eq!(batches[0].items(), 3);
    let client = &batches[0].meta().client;
    assert_eq!(client.peer.unwrap().ip(), receiver.http_addr().ip());
    assert!(
        client.headers.is_empty(),
        "headers kept without include_metadata"
    );
    receiver.stop().await;
}

#[tokio::test]
async fn json_is_decoded_and_answered_in_json() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some("application/json; charset=utf-8"),
        None,
        JSON_TRACES,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(content_type(&answer), JSON);
    assert_eq!(answer.body.as_ref(), b"{}");

    let batches = consumer.batches();
    let expected =
        weir_core::batch::json::decode_json(Signal::Traces, JSON_TRACES.as_bytes()).unwrap();
    assert_eq!(*batches[0].decoded().unwrap(), expected);
    let OtlpRequest::Traces(request) = expected else {
        panic!("traces")
    };
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(
        (span.name.as_str(), span.kind, span.span_id.len()),
        ("from json", 2, 8)
    );
    receiver.stop().await;
}

#[tokio::test]
async fn include_metadata_keeps_headers() {
    let consumer = FakeConsumer::accepting();
    let http = HttpConfig {
        include_metadata: true,
        ..HttpConfig::default()
    };
    let receiver = TestReceiver::start(
        &[(Signal::Logs, consumer.clone())],
        GrpcConfig::default(),
        http,
    )
    .await;
    let answer = post(
        receiver.http_addr(),
        "/v1/logs",
        Some(PROTOBUF),
        None,
        logs(1),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let batches = consumer.batches();
    let headers = &batches[0].meta().client.headers;
    assert!(
        headers.contains(&("x-tenant".to_string(), "acme".to_string())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("content-type".to_string(), PROTOBUF.to_string())),
        "{headers:?}"
    );
    receiver.stop().await;
}

#[tokio::test]
async fn gzip_and_zstd_bodies_are_decompressed() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let body = traces(50);
    for (name, encoding) in [("gzip", Compression::Gzip), ("zstd", Compression::Zstd)] {
        let packed = compress(encoding, &body).unwrap();
        let answer = post(
            receiver.http_addr(),
            "/v1/traces",
            Some(PROTOBUF),
            Some(name),
            packed,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{name}");
        let packed_json = compress(encoding, JSON_TRACES.as_bytes()).unwrap();
        let answer = post(
            receiver.http_addr(),
            "/v1/traces",
            Some(JSON),
            Some(name),
            packed_json,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{name} json");
    }
    let batches = consumer.batches();
    assert_eq!(batches.len(), 4);
    assert_eq!(encoded(&batches[0]), body);
    assert_eq!(encoded(&batches[2]), body);
    assert_eq!(batches[1].items(), 1);
    receiver.stop().await;
}

#[tokio::test]
async fn malformed_protobuf_is_400_with_a_protobuf_status() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(PROTOBUF),
        None,
        vec![0x0a, 100, 1, 2],
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type(&answer), PROTOBUF);
    let status = RpcStatus::decode(answer.body).unwrap();
    assert_eq!(status.grpc_code(), Code::InvalidArgument);
    assert!(status.message.contains("traces"), "{}", status.message);
    assert!(consumer.batches().is_empty());
    receiver.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400_with_a_json_status() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let bad = r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}"#;
    let answer = post(receiver.http_addr(), "/v1/traces", Some(JSON), None, bad).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type(&answer), JSON);
    let status = RpcStatus::from_json(&answer.body).unwrap();
    assert_eq!(status.grpc_code(), Code::InvalidArgument);
    assert!(
        status
            .message
            .contains("resourceSpans[0].scopeSpans[0].spans[0].traceId"),
        "{}",
        status.message
    );

    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(JSON),
        None,
        "{oops",
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        RpcStatus::from_json(&answer.body)
            .unwrap()
            .message
            .contains("invalid OTLP/JSON")
    );
    assert!(consumer.batches().is_empty());
    receiver.stop().await;
}

#[tokio::test]
async fn corrupt_or_unsupported_encoding_is_400() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(PROTOBUF),
        Some("br"),
        traces(1),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        RpcStatus::decode(answer.body)
            .unwrap()
            .message
            .contains("unsupported content encoding `br`")
    );
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(JSON),
        Some("gzip"),
        JSON_TRACES,
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        RpcStatus::from_json(&answer.body)
            .unwrap()
            .message
            .contains("invalid gzip data")
    );
    assert!(consumer.batches().is_empty());
    receiver.stop().await;
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    for method in [Method::GET, Method::PUT] {
        let answer = send(
            receiver.http_addr(),
            method.clone(),
            "/v1/traces",
            Some(PROTOBUF),
            None,
            Bytes::new(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.headers.get(ALLOW).unwrap(), "POST");
    }
    receiver.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_signals_without_a_pipeline_are_404() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    for path in [
        "/",
        "/v1/trace",
        "/v1/traces/extra",
        "/v1/metrics",
        "/v1/logs",
    ] {
        let answer = post(
            receiver.http_addr(),
            path,
            Some(PROTOBUF),
            None,
            Bytes::new(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    let answer = post(
        receiver.http_addr(),
        "/v1/traces?tenant=a",
        Some(PROTOBUF),
        None,
        traces(1),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "query strings do not change the route"
    );
    receiver.stop().await;
}

#[tokio::test]
async fn custom_paths_route_to_their_signal() {
    let consumer = FakeConsumer::accepting();
    let http = HttpConfig {
        logs_url_path: "/ingest/logs".into(),
        ..HttpConfig::default()
    };
    let receiver = TestReceiver::start(
        &[(Signal::Logs, consumer.clone())],
        GrpcConfig::default(),
        http,
    )
    .await;
    assert_eq!(
        post(
            receiver.http_addr(),
            "/ingest/logs",
            Some(PROTOBUF),
            None,
            logs(2)
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        post(
            receiver.http_addr(),
            "/v1/logs",
            Some(PROTOBUF),
            None,
            logs(2)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(consumer.batches()[0].items(), 2);
    receiver.stop().await;
}

#[tokio::test]
async fn other_content_types_are_415() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    for content_type in [Some("text/plain"), Some("application/protobuf-ish"), None] {
        let answer = post(
            receiver.http_addr(),
            "/v1/traces",
            content_type,
            None,
            traces(1),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
    }
    assert!(consumer.batches().is_empty());
    receiver.stop().await;
}

#[tokio::test]
async fn oversize_bodies_and_gzip_bombs_are_413() {
    let consumer = FakeConsumer::accepting();
    let http = HttpConfig {
        max_request_body_size: 64 * 1024,
        ..HttpConfig::default()
    };
    let receiver = TestReceiver::start(
        &[(Signal::Traces, consumer.clone())],
        GrpcConfig::default(),
        http,
    )
    .await;
    let big = traces(1_000);
    assert!(big.len() > 64 * 1024);
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(PROTOBUF),
        None,
        big.clone(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        RpcStatus::decode(answer.body).unwrap().grpc_code(),
        Code::ResourceExhausted
    );

    // A few KiB on the wire, 64 MiB once inflated.
    let bomb = compress(Compression::Gzip, &vec![0u8; 64 * 1024 * 1024]).unwrap();
    assert!(bomb.len() < 64 * 1024);
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(PROTOBUF),
        Some("gzip"),
        bomb,
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Compressed below the limit, the same spans above it once decompressed.
    let packed = compress(Compression::Zstd, &big).unwrap();
    assert!(packed.len() < 64 * 1024);
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(JSON),
        Some("zstd"),
        packed,
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type(&answer), JSON);
    assert!(consumer.batches().is_empty());
    receiver.stop().await;
}

#[tokio::test]
async fn refused_is_503_with_retry_after() {
    let consumer = FakeConsumer::answering(PushOutcome::Refused {
        retry_after: Some(Duration::from_millis(6_500)),
        reason: "memory limit reached".into(),
    });
    let receiver = TestReceiver::for_signal(Signal::Traces, &consumer).await;
    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(PROTOBUF),
        None,
        traces(1),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers.get(RETRY_AFTER).unwrap(), "7");
    let status = RpcStatus::decode(answer.body).unwrap();
    assert_eq!(status.grpc_code(), Code::Unavailable);
    assert_eq!(status.message, "memory limit reached");
    assert_eq!(status.retry_delay(), Some(Duration::from_millis(6_500)));

    let answer = post(
        receiver.http_addr(),
        "/v1/traces",
        Some(JSON),
        None,
        JSON_TRACES,
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        RpcStatus::from_json(&answer.body).unwrap().retry_delay(),
        Some(Duration::from_millis(6_500))
    );
    receiver.stop().await;
}

#[tokio::test]
async fn refused_without_a_delay_has_no_retry_after() {
    let consumer = FakeConsumer::answering(PushOutcome::Refused {
        retry_after: None,
        reason: "busy".into(),
    });
    let receiver = TestReceiver::for_signal(Signal::Logs, &consumer).await;
    let answer = post(
        receiver.http_addr(),
        "/v1/logs",
        Some(PROTOBUF),
        None,
        logs(1),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers.get(RETRY_AFTER).is_none());
    receiver.stop().await;
}

#[tokio::test]
async fn failed_is_500() {
    let consumer = FakeConsumer::answering(PushOutcome::Failed {
        reason: "permanently closed".into(),
    });
    let receiver = TestReceiver::for_signal(Signal::Logs, &consumer).await;
    let answer = post(
        receiver.http_addr(),
        "/v1/logs",
        Some(PROTOBUF),
        None,
        logs(1),
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    let status = RpcStatus::decode(answer.body).unwrap();
    assert_eq!(
        (status.grpc_code(), status.message.as_str()),
        (Code::Internal, "permanently closed")
    );
    receiver.stop().await;
}

#[tokio::test]
async fn partial_success_is_passed_back_in_both_encodings() {
    let consumer = FakeConsumer::answering(PushOutcome::Partial {
        rejected: 3,
        message: "3 data points dropped".into(),
    });
    let receiver = TestReceiver::for_signal(Signal::Metrics, &consumer).await;
    let metrics = r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {"dataPoints": [{"asInt": "1"}, {"asDouble": 2.5}]}}]}]}]}"#;
    let answer = post(
        receiver.http_addr(),
        "/v1/metrics",
        Some(JSON),
        None,
        metrics,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "3 data points dropped"}})
    );

    let OtlpRequest::Metrics(request) =
        weir_core::batch::json::decode_json(Signal::Metrics, metrics.as_bytes()).unwrap()
    else {
        panic!("metrics")
    };
    let answer = post(
        receiver.http_addr(),
        "/v1/metrics",
        Some(PROTOBUF),
        None,
        request.encode_to_vec(),
    )
    .await;
    let partial = ExportMetricsServiceResponse::decode(answer.body)
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(
        (partial.rejected_data_points, partial.error_message.as_str()),
        (3, "3 data points dropped")
    );
    assert_eq!(
        consumer
            .batches()
            .iter()
            .map(Batch::items)
            .collect::<Vec<_>>(),
        [2, 2]
    );
    receiver.stop().await;
}

#[tokio::test]
async fn h2c_clients_are_served() {
    let consumer = FakeConsumer::accepting();
    let receiver = TestReceiver::for_signal(Signal::Logs, &consumer).await;
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let request = Request::post(format!("http://{}/v1/logs", receiver.http_addr()))
        .header(CONTENT_TYPE, PROTOBUF)
        .body(Full::new(logs(4)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        ExportLogsServiceResponse::decode(body).unwrap(),
        Default::default()
    );
    assert_eq!(consumer.batches()[0].items(), 4);
    receiver.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_body_slower_than_read_timeout_gets_408_and_is_not_consumed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let consumer = FakeConsumer::accepting();
    let http_config = HttpConfig {
        read_timeout: Duration::from_secs(2),
        ..HttpConfig::default()
    };
    let receiver = TestReceiver::start(
        &[(Signal::Traces, consumer.clone())],
        GrpcConfig::default(),
        http_config,
    )
    .await;
    let mut stream = tokio::net::TcpStream::connect(receiver.http_addr())
        .await
        .unwrap();
    // Promises 100 bytes, sends 10, then stalls.
    stream
        .write_all(
            b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: 100\r\n\r\n0123456789",
        )
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = vec![0u8; 1024];
    let n = stream.read(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(consumer.batches().is_empty());
    receiver.stop().await;
}
