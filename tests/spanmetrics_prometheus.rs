//! Span metrics all the way into a real Prometheus: spans sent to the `weir` binary over
//! OTLP/gRPC become `spanmetrics` calls and duration histograms, the `prometheus` exporter
//! serves them, Debian's `prometheus` scrapes them every second, and its query API shows the
//! series with Prometheus's names, the span's labels, each bucket's count and the sums.
//! Fails, saying so, when `prometheus` is not on PATH (`.ci/run` installs it).

mod common;

use common::Ports;
use common::grpc;
use common::otlp::{kv, resource, s};
use common::prometheus_server::{Prometheus, label};
use common::weir::Weir;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};

const START: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// A server span `GET /a` of `service` lasting `ms` milliseconds.
fn span_of(ms: u64, error: bool, n: u8) -> Span {
    Span {
        trace_id: vec![n; 16],
        span_id: vec![n; 8],
        name: "GET /a".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: START,
        end_time_unix_nano: START + ms * MS,
        attributes: vec![kv("http.method", s("GET"))],
        status: error.then(|| Status {
            code: status::StatusCode::Error as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_metrics_reach_prometheus_with_names_labels_and_bucket_counts() {
    let ports = Ports::free();
    let exporter = common::ports::free_port();
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
connectors:
  spanmetrics:
    metrics_flush_interval: 1s
    histogram:
      explicit:
        buckets: [10ms, 100ms, 1s]
    dimensions:
      - name: http.method
exporters:
  prometheus:
    endpoint: "127.0.0.1:{exporter}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [prometheus]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    );
    let weir = Weir::start(&config, &[ports.grpc, ports.metrics, exporter]);
    let prometheus = Prometheus::start(&[("weir", exporter)]);

    // Five spans that succeed (5 ms, 50 ms twice, 500 ms, 2 s) and one that fails (20 ms).
    let spans = [
        (5, false),
        (50, false),
        (50, false),
        (500, false),
        (2000, false),
        (20, true),
    ]
    .into_iter()
    .zip(1..)
    .map(|((ms, error), n)| span_of(ms, error, n))
    .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource("shop")),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request)
        .await
        .expect("spans accepted");

    let ok = r#"span_name="GET /a",status_code="STATUS_CODE_UNSET""#;
    let (labels, calls) = prometheus.one(&format!("traces_span_metrics_calls_total{{{ok}}}"));
    assert_eq!(calls, 5.0, "{labels:?}");
    for (name, value) in [
        ("service_name", "shop"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("http_method", "GET"),
        ("job", "shop"),
        ("otel_scope_name", "spanmetricsconnector"),
    ] {
        assert_eq!(label(&labels, name), value, "{name}: {labels:?}");
    }
    let (_, errors) = prometheus.one(
        r#"traces_span_metrics_calls_total{span_name="GET /a",status_code="STATUS_CODE_ERROR"}"#,
    );
    assert_eq!(errors, 1.0);
    for (le, count) in [("10", 1.0), ("100", 3.0), ("1000", 4.0), ("+Inf", 5.0)] {
        let (labels, value) = prometheus.one(&format!(
            "traces_span_metrics_duration_milliseconds_bucket{{{ok},le=\"{le}\"}}"
        ));
        assert_eq!(value, count, "bucket le={le}: {labels:?}");
    }
    let (_, count) = prometheus.one(&format!(
        "traces_span_metrics_duration_milliseconds_count{{{ok}}}"
    ));
    assert_eq!(count, 5.0);
    let (_, sum) = prometheus.one(&format!(
        "traces_span_metrics_duration_milliseconds_sum{{{ok}}}"
    ));
    assert_eq!(sum, 2605.0, "5 + 50 + 50 + 500 + 2000 ms");
    drop(prometheus);
    weir.stop();
}
