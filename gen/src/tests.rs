//! Generator → sink over real sockets on 127.0.0.1: exact counts, the id checks, and every fault
//! mode as a client sees it.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use tokio_util::sync::CancellationToken;
use weir_core::batch::Signal;
use weir_core::net::{Compression, RawCodec, RpcStatus};

use crate::generator::{self, GenConfig, Protocol, Report};
use crate::ids::SeqMap;
use crate::sink::{ModeSettings, SignalStats, SinkConfig, SinkHandle, StatusMode};
use crate::template::Template;

async fn sink(mode: ModeSettings) -> SinkHandle {
    sink_with(mode, false).await
}

pub(crate) async fn sink_with(mode: ModeSettings, validate: bool) -> SinkHandle {
    SinkHandle::start(SinkConfig {
        grpc: Some("127.0.0.1:0".into()),
        http: Some("127.0.0.1:0".into()),
        control: Some("127.0.0.1:0".into()),
        mode,
        validate,
    })
    .await
    .unwrap()
}

pub(crate) fn config(
    signal: Signal,
    protocol: Protocol,
    sink: &SinkHandle,
    total: u64,
) -> GenConfig {
    let addr = match protocol {
        Protocol::Grpc => sink.grpc_addr,
        Protocol::Http => sink.http_addr,
    };
    GenConfig {
        signal,
        protocol,
        endpoint: addr.unwrap().to_string(),
        compression: Compression::None,
        rate: 0,
        workers: 4,
        batch: 100,
        duration: None,
        total: Some(total),
        retry: false,
        timeout: Duration::from_secs(10),
        run_id: generator::new_run_id(),
        seq_map: SeqMap::default(),
        trace_spans: 1,
    }
}

pub(crate) async fn generate(config: GenConfig) -> Report {
    generator::run(config, CancellationToken::new())
        .await
        .unwrap()
}

/// Asserts the sink saw items 0..total of the report's run exactly once each.
pub(crate) fn assert_exactly_once(stats: &SignalStats, report: &Report, total: u64) {
    assert_eq!(report.items_accepted, total, "{report:?}");
    assert_eq!((report.errors, report.items_refused), (0, 0), "{report:?}");
    let run = &stats.runs[&report.run_id.to_string()];
    assert_eq!(
        (run.unique, run.duplicates, run.missing, run.max_seq),
        (total, 0, 0, Some(total - 1)),
        "{stats:?}"
    );
    assert_eq!((stats.items, stats.untracked), (total, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_spans_over_grpc_arrive_exactly_once() {
    let sink = sink(ModeSettings::default()).await;
    let report = generate(config(Signal::Traces, Protocol::Grpc, &sink, 10_000)).await;
    assert_eq!(report.requests, 100);
    assert_eq!(report.items_sent, 10_000);
    assert!(report.latency_ms.max >= report.latency_ms.p50);
    let stats = sink.shutdown().await;
    assert_exactly_once(&stats.traces, &report, 10_000);
    assert_eq!(stats.traces.requests, 100);
    assert_eq!(stats.logs, SignalStats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_spans_over_http_arrive_exactly_once() {
    let sink = sink(ModeSettings::default()).await;
    let report = generate(config(Signal::Traces, Protocol::Http, &sink, 10_000)).await;
    let stats = sink.shutdown().await;
    assert_exactly_once(&stats.traces, &report, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_signal_transport_and_compression_counts_exactly() {
    let cases = [
        (Signal::Traces, Protocol::Http, Compression::Gzip),
        (Signal::Logs, Protocol::Grpc, Compression::Gzip),
        (Signal::Logs, Protocol::Http, Compression::None),
        (Signal::Metrics, Protocol::Grpc, Compression::Zstd),
        (Signal::Metrics, Protocol::Http, Compression::Zstd),
    ];
    for (signal, protocol, compression) in cases {
        // Counted by the wire walk here, by the scan elsewhere: both must agree.
        let sink = sink_with(ModeSettings::default(), true).await;
        // 2 003 is not a multiple of the batch: the last request is a short one.
        let report = generate(GenConfig {
            compression,
            ..config(signal, protocol, &sink, 2_003)
        })
        .await;
        assert_eq!(report.requests, 21, "{signal} {protocol:?} {compression}");
        let stats = sink.shutdown().await;
        assert_exactly_once(stats.signal(signal), &report, 2_003);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_multi_span_traces_are_counted_exactly_once_by_the_sink() {
    let sink = sink_with(ModeSettings::default(), true).await;
    let report = generate(GenConfig {
        trace_spans: 10,
        ..config(Signal::Traces, Protocol::Grpc, &sink, 2_000)
    })
    .await;
    let stats = sink.shutdown().await;
    assert_exactly_once(stats.signal(Signal::Traces), &report, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_and_repeated_seqs_show_as_missing_and_duplicate() {
    let sink = sink(ModeSettings::default()).await;
    let skipping = generate(GenConfig {
        seq_map: SeqMap {
            skip: Some(500),
            repeat: None,
        },
        ..config(Signal::Logs, Protocol::Grpc, &sink, 1_000)
    })
    .await;
    let repeating = generate(GenConfig {
        seq_map: SeqMap {
            skip: None,
            repeat: Some(700),
        },
        ..config(Signal::Logs, Protocol::Http, &sink, 1_000)
    })
    .await;
    let logs = sink.shutdown().await.logs;
    let skipped = &logs.runs[&skipping.run_id.to_string()];
    assert_eq!(
        (
            skipped.unique,
            skipped.duplicates,
            skipped.missing,
            skipped.max_seq
        ),
        (1_000, 0, 1, Some(1_000))
    );
    let repeated = &logs.runs[&repeating.run_id.to_string()];
    assert_eq!(
        (
            repeated.unique,
            repeated.duplicates,
            repeated.missing,
            repeated.max_seq
        ),
        (999, 1, 0, Some(998))
    );
    assert_eq!((logs.items, logs.duplicates, logs.missing), (2_000, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_and_not_resent_without_retry() {
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let sink = sink(ModeSettings {
            refuse_first: 3,
            ..ModeSettings::default()
        })
        .await;
        let report = generate(GenConfig {
            workers: 1,
            batch: 10,
            ..config(Signal::Metrics, protocol, &sink, 100)
        })
        .await;
        assert_eq!(report.requests, 10, "{protocol:?}");
        assert_eq!(
            (report.items_accepted, report.items_refused, report.retries),
            (70, 30, 0)
        );
        assert_eq!(report.retry_after_seen, 3, "{protocol:?}");
        let metrics = sink.shutdown().await.metrics;
        assert_eq!((metrics.refused_requests, metrics.requests), (3, 7));
        // The refused requests were the first three: seqs 0..30 never arrived.
        assert_eq!(
            (metrics.unique, metrics.missing, metrics.duplicates),
            (70, 30, 0)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_resends_refusals_until_all_arrive_once_over_grpc() {
    let sink = sink(ModeSettings {
        refuse_first: 5,
        refuse_rate: 0.3,
        retry_after: Duration::from_millis(5),
        ..ModeSettings::default()
    })
    .await;
    let report = generate(GenConfig {
        retry: true,
        batch: 50,
        ..config(Signal::Traces, Protocol::Grpc, &sink, 5_000)
    })
    .await;
    assert!(report.retries >= 5, "{report:?}");
    assert_eq!(report.retry_after_seen, report.retries);
    assert_eq!(report.requests, 100 + report.retries);
    let stats = sink.shutdown().await;
    assert_eq!(stats.traces.refused_requests, report.retries);
    assert_exactly_once(&stats.traces, &report, 5_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_honours_retry_after_over_http() {
    let sink = sink(ModeSettings {
        refuse_first: 2,
        retry_after: Duration::from_millis(10),
        ..ModeSettings::default()
    })
    .await;
    let report = generate(GenConfig {
        retry: true,
        workers: 2,
        ..config(Signal::Logs, Protocol::Http, &sink, 1_000)
    })
    .await;
    // Retry-After is whole seconds: the 10 ms delay goes out as 1 s, and is waited out.
    assert_eq!(
        (report.retries, report.retry_after_seen),
        (2, 2),
        "{report:?}"
    );
    assert!(report.elapsed_s >= 1.0, "{report:?}");
    let stats = sink.shutdown().await;
    assert_exactly_once(&stats.logs, &report, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_status_fails_every_request_and_delay_slows_answers() {
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let sink = sink(ModeSettings {
            status: StatusMode::Invalid,
            ..ModeSettings::default()
        })
        .await;
        let report = generate(GenConfig {
            retry: true,
            ..config(Signal::Traces, protocol, &sink, 1_000)
        })
        .await;
        // Invalid is permanent: no retry even with --retry.
        assert_eq!(
            (
                report.errors,
                report.requests,
                report.items_accepted,
                report.retries
            ),
            (10, 10, 0, 0),
            "{protocol:?}"
        );
        let last_error = report.last_error.unwrap_or_default();
        assert!(
            last_error.contains("InvalidArgument") || last_error.contains("HTTP 400"),
            "{last_error}"
        );
        let traces = sink.shutdown().await.traces;
        assert_eq!((traces.invalid_requests, traces.items), (10, 0));
    }

    let sink = sink(ModeSettings {
        delay: Duration::from_millis(50),
        ..ModeSettings::default()
    })
    .await;
    let report = generate(GenConfig {
        workers: 1,
        ..config(Signal::Metrics, Protocol::Grpc, &sink, 300)
    })
    .await;
    // A lower bound the sink's sleep guarantees, not a performance assertion.
    assert!(report.latency_ms.p50 >= 50.0, "{report:?}");
    sink.shutdown().await;
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header(CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_endpoint_changes_mode_reports_and_resets() {
    let sink = sink(ModeSettings::default()).await;
    let control = sink.control_addr.unwrap();
    let json = "application/json";
    let (status, _, body) = http(
        control,
        "POST",
        "/mode",
        json,
        r#"{"refuse_first": 1, "retry_after": "3s"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let shown: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (
            shown["refuse_first"].as_u64(),
            shown["retry_after"].as_str()
        ),
        (Some(1), Some("3s"))
    );

    // The refusal as an HTTP client sees it: 503, Retry-After, a Status body with RetryInfo.
    let mut template = Template::build(Signal::Logs, 5, 42).unwrap();
    let request = template.render(42, |i| i as u64, 1).to_vec();
    let otlp = sink.http_addr.unwrap();
    let proto = "application/x-protobuf";
    let (status, headers, body) = http(otlp, "POST", "/v1/logs", proto, request.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[RETRY_AFTER], "3");
    let rpc = RpcStatus::decode(body).unwrap();
    assert_eq!(rpc.retry_delay(), Some(Duration::from_secs(3)));
    let (status, _, _) = http(otlp, "POST", "/v1/logs", proto, request).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, body) = http(control, "GET", "/stats", json, "").await;
    assert_eq!(status, StatusCode::OK);
    let stats: crate::sink::Stats = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (
            stats.logs.items,
            stats.logs.unique,
            stats.logs.refused_requests
        ),
        (5, 5, 1)
    );
    assert_eq!(stats.logs.runs["42"].max_seq, Some(4));

    let (status, _, _) = http(control, "POST", "/reset", json, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sink.stats(), crate::sink::Stats::default());
    let (status, _, _) = http(control, "POST", "/mode", json, r#"{"refuse_rate": 2}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = http(control, "GET", "/nothing", json, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sink.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_refuses_what_is_not_otlp_protobuf() {
    let sink = sink(ModeSettings::default()).await;
    let otlp = sink.http_addr.unwrap();
    let proto = "application/x-protobuf";
    let cases = [
        ("POST", "/v1/spans", proto, StatusCode::NOT_FOUND),
        ("GET", "/v1/traces", proto, StatusCode::METHOD_NOT_ALLOWED),
        (
            "POST",
            "/v1/traces",
            "application/json",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("POST", "/v1/traces", proto, StatusCode::BAD_REQUEST),
    ];
    for (method, path, content_type, expected) in cases {
        let (status, _, _) = http(otlp, method, path, content_type, &b"\x0a\x05\x01"[..]).await;
        assert_eq!(status, expected, "{method} {path} {content_type}");
    }

    // A malformed gRPC message is INVALID_ARGUMENT, and booked as invalid.
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", sink.grpc_addr.unwrap()))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static(weir_core::net::grpc_codec::export_path(
        Signal::Traces,
    ));
    let status = grpc
        .unary(
            tonic::Request::new(Bytes::from_static(b"\x0a\x05\x01")),
            path,
            RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(sink.shutdown().await.traces.invalid_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_runs_end_and_leave_no_gaps() {
    let sink = sink(ModeSettings::default()).await;
    let report = generate(GenConfig {
        total: None,
        duration: Some(Duration::from_millis(300)),
        rate: 20_000,
        batch: 50,
        ..config(Signal::Traces, Protocol::Grpc, &sink, 0)
    })
    .await;
    assert!(report.items_accepted > 0, "{report:?}");
    let stats = sink.shutdown().await;
    assert_exactly_once(&stats.traces, &report, report.items_accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_refuses_what_the_counting_scan_does_not_read() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: crate::ids::trace_id(7, 0).to_vec(),
                    span_id: crate::ids::span_id(0).to_vec(),
                    name: "~~".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut bytes = request.encode_to_vec();
    let at = bytes.windows(2).position(|w| w == b"~~").unwrap();
    // A span name that is not UTF-8: the scan never reads names, the walk does.
    bytes[at..at + 2].copy_from_slice(&[0xff, 0xfe]);
    for (validate, expected) in [(false, StatusCode::OK), (true, StatusCode::BAD_REQUEST)] {
        let sink = sink_with(ModeSettings::default(), validate).await;
        let proto = "application/x-protobuf";
        let (status, _, _) = http(
            sink.http_addr.unwrap(),
            "POST",
            "/v1/traces",
            proto,
            bytes.clone(),
        )
        .await;
        assert_eq!(status, expected, "validate: {validate}");
        let traces = sink.shutdown().await.traces;
        assert_eq!(traces.unique, u64::from(!validate));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_an_error_not_a_refusal() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = closed.local_addr().unwrap().to_string();
    drop(closed);
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let report = generate(GenConfig {
            signal: Signal::Traces,
            protocol,
            endpoint: endpoint.clone(),
            compression: Compression::None,
            rate: 0,
            workers: 1,
            batch: 10,
            duration: None,
            total: Some(30),
            retry: true,
            timeout: Duration::from_secs(5),
            run_id: 1,
            seq_map: SeqMap::default(),
            trace_spans: 1,
        })
        .await;
        assert_eq!(
            (
                report.requests,
                report.errors,
                report.items_refused,
                report.items_accepted
            ),
            (3, 3, 0, 0),
            "{protocol:?}: {report:?}"
        );
    }
}
