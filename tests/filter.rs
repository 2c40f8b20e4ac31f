//! The `filter` processor through the real binary: health-check spans sent over OTLP/gRPC and
//! debug logs sent over OTLP/HTTP never reach the backend, everything else arrives as sent,
//! and the metrics endpoint counts the drops with otelcol's names.

mod common;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::http_client;
use common::otlp::{self, kv, s};
use common::prom;
use common::weir::Weir;
use common::{DEADLINE, Ports};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message as _;

fn config(ports: &Ports, capture: &Capture) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
      http: {{ endpoint: "127.0.0.1:{http}" }}
processors:
  filter/noise:
    error_mode: ignore
    traces:
      span:
        - 'attributes["http.route"] == "/health"'
        - 'IsMatch(name, "^GET /internal/")'
    logs:
      log_record:
        - 'severity_number < SEVERITY_NUMBER_INFO'
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
      processors: [filter/noise]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [filter/noise]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_spans_and_logs_are_dropped_and_counted_the_rest_arrives_as_sent() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(&config(&ports, &capture), &ports.all());

    let mut request = otlp::trace_request(5, 6);
    let spans = &mut request.resource_spans[0].scope_spans[0].spans;
    spans[1].attributes.push(kv("http.route", s("/health")));
    spans[3].name = "GET /internal/metrics".to_string();
    spans[4].attributes.push(kv("http.route", s("/health")));
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request.clone())
        .await
        .expect("export accepted");

    let log = |severity: i32, body: &str| LogRecord {
        severity_number: severity,
        body: Some(AnyValue {
            value: Some(s(body)),
        }),
        ..Default::default()
    };
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(otlp::resource("e2e")),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    log(5, "cache miss"),
                    log(9, "request served"),
                    log(1, "trace"),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let answer = http_client::post(
        &ports.http_url("logs"),
        "application/x-protobuf",
        logs.encode_to_vec(),
    )
    .await
    .expect("HTTP request");
    assert_eq!(answer.status, 200, "{}", answer.text());

    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 3, DEADLINE)
        .await
        && capture
            .wait_for_items_async(Transport::Grpc, Signal::Logs, 1, DEADLINE)
            .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());

    let mut expected = request.clone();
    let sent = &mut expected.resource_spans[0].scope_spans[0].spans;
    for i in [4, 3, 1] {
        sent.remove(i);
    }
    assert_eq!(capture.traces(Transport::Grpc), vec![expected]);

    let mut expected_logs = logs.clone();
    expected_logs.resource_logs[0].scope_logs[0].log_records = vec![log(9, "request served")];
    assert_eq!(capture.logs(Transport::Grpc), vec![expected_logs]);

    let label = [("filter", "filter/noise")];
    assert_eq!(
        prom::counter(
            ports.metrics,
            "otelcol_processor_filter_spans_filtered_total",
            &label
        ),
        Some(3.0)
    );
    assert_eq!(
        prom::counter(
            ports.metrics,
            "otelcol_processor_filter_logs_filtered_total",
            &label
        ),
        Some(2.0)
    );
    weir.stop();
}
