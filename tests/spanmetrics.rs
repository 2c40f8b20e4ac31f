//! The `spanmetrics` connector through the real binary: spans sent over OTLP/gRPC into a
//! traces pipeline become `traces.span.metrics.calls` and `.duration` in a metrics pipeline
//! exported to an OTLP backend, with otelcol's attributes, counts and bucket counts, sent
//! again on each flush (cumulative); the traces pipeline beside it still forwards the spans;
//! and what the connector holds when Weir is stopped is flushed on the way out.

mod common;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::otlp::{kv, resource, s};
use common::weir::Weir;
use common::{DEADLINE, Ports};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};

fn config(ports: &Ports, capture: &Capture, flush: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
connectors:
  spanmetrics:
    metrics_flush_interval: {flush}
    dimensions:
      - name: http.method
        default: GET
      - name: region
  forward:
exporters:
  otlp:
    endpoint: "{backend}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [spanmetrics, forward]
    traces/out:
      receivers: [forward]
      exporters: [otlp]
    metrics:
      receivers: [spanmetrics]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

/// A span of `name` lasting `ms` milliseconds.
fn timed(name: &str, ms: u64, i: u8, attributes: Vec<KeyValue>) -> Span {
    let start = 1_700_000_000_000_000_000;
    Span {
        trace_id: vec![i + 1; 16],
        span_id: vec![i + 1; 8],
        name: name.into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + ms * 1_000_000,
        attributes,
        ..Default::default()
    }
}

/// Three 5 ms `GET /cart` spans (one with no `http.method`, taking the default) and one
/// 300 ms failed `POST /cart`, of service `shop` in region `eu` (a resource attribute).
fn spans() -> ExportTraceServiceRequest {
    let get = || vec![kv("http.method", s("GET"))];
    let mut failed = timed("/cart", 300, 3, vec![kv("http.method", s("POST"))]);
    failed.status = Some(Status {
        code: status::StatusCode::Error as i32,
        ..Default::default()
    });
    let mut shop = resource("shop");
    shop.attributes.push(kv("region", s("eu")));
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(shop),
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    timed("/cart", 5, 0, get()),
                    timed("/cart", 5, 1, get()),
                    timed("/cart", 5, 2, vec![]),
                    failed,
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn attrs(list: &[KeyValue]) -> Vec<(String, String)> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

fn metrics_named<'a>(got: &'a [ExportMetricsServiceRequest], name: &str) -> Vec<&'a Metric> {
    got.iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
        .collect()
}

/// Checks one flush of [`spans`]: the calls by attributes and the duration buckets.
fn check_flush(request: &ExportMetricsServiceRequest) {
    assert_eq!(request.resource_metrics.len(), 1);
    let rm = &request.resource_metrics[0];
    assert_eq!(
        attrs(&rm.resource.as_ref().unwrap().attributes),
        vec![
            ("service.name".into(), "shop".into()),
            ("region".into(), "eu".into())
        ]
    );
    let scope = &rm.scope_metrics[0];
    assert_eq!(scope.scope.as_ref().unwrap().name, "spanmetricsconnector");
    let names: Vec<&str> = scope.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["traces.span.metrics.calls", "traces.span.metrics.duration"]
    );
    let Some(metric::Data::Sum(calls)) = &scope.metrics[0].data else {
        panic!("calls is a sum")
    };
    assert!(calls.is_monotonic);
    let mut counted: Vec<(Vec<(String, String)>, i64)> = calls
        .data_points
        .iter()
        .map(|p| {
            let Some(number_data_point::Value::AsInt(n)) = p.value else {
                panic!("an int")
            };
            (attrs(&p.attributes), n)
        })
        .collect();
    counted.sort();
    let series = |method: &str, status: &str| {
        vec![
            ("service.name".to_string(), "shop".to_string()),
            ("span.name".into(), "/cart".into()),
            ("span.kind".into(), "SPAN_KIND_SERVER".into()),
            ("status.code".into(), status.into()),
            ("http.method".into(), method.into()),
            ("region".into(), "eu".into()),
        ]
    };
    assert_eq!(
        counted,
        vec![
            (series("POST", "STATUS_CODE_ERROR"), 1),
            (series("GET", "STATUS_CODE_UNSET"), 3),
        ]
    );
    let duration = &scope.metrics[1];
    assert_eq!(duration.unit, "ms");
    let Some(metric::Data::Histogram(h)) = &duration.data else {
        panic!("duration is an explicit histogram")
    };
    for p in &h.data_points {
        assert_eq!(
            p.explicit_bounds,
            vec![
                2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0,
                5000.0, 10000.0, 15000.0
            ]
        );
        let mut want = vec![0u64; 17];
        if attrs(&p.attributes)[4].1 == "GET" {
            want[2] = 3; // (4 ms, 6 ms]
            assert_eq!((p.count, p.sum), (3, Some(15.0)));
        } else {
            want[8] = 1; // (200 ms, 400 ms]
            assert_eq!((p.count, p.sum), (1, Some(300.0)));
        }
        assert_eq!(p.bucket_counts, want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_become_calls_and_duration_metrics_on_each_flush() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(
        &config(&ports, &capture, "500ms"),
        &[ports.grpc, ports.metrics],
    );
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(spans())
        .await
        .expect("export accepted");
    // Two flushes of two series' calls and durations (4 data points each).
    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Metrics, 8, DEADLINE)
        .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());
    let got = capture.metrics(Transport::Grpc);
    check_flush(&got[0]);
    check_flush(&got[1]);
    // Cumulative: the second flush repeats the totals from the same start.
    let calls = metrics_named(&got, "traces.span.metrics.calls");
    let start = |m: &Metric| match &m.data {
        Some(metric::Data::Sum(s)) => s.data_points[0].start_time_unix_nano,
        _ => 0,
    };
    assert_eq!(start(calls[0]), start(calls[1]));
    // The spans went on unchanged beside.
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 4, DEADLINE)
            .await
    );
    assert_eq!(
        capture.traces(Transport::Grpc)[0].resource_spans,
        spans().resource_spans
    );
    weir.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_spanmetrics_holds_at_shutdown_is_flushed() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(
        &config(&ports, &capture, "1h"),
        &[ports.grpc, ports.metrics],
    );
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(spans())
        .await
        .expect("export accepted");
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 4, DEADLINE)
            .await
    );
    assert!(
        capture.metrics(Transport::Grpc).is_empty(),
        "held until the hourly flush"
    );
    let stopped = weir.stop();
    let got = capture.metrics(Transport::Grpc);
    assert_eq!(got.len(), 1, "one flush at shutdown:\n{}", stopped.logs);
    check_flush(&got[0]);
}
