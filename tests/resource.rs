//! The `resource` processor through the real binary: spans over OTLP/gRPC, metrics over
//! OTLP/HTTP (protobuf) and logs over OTLP/HTTP (JSON) reach the backend with their resource
//! attributes upserted, deleted, extracted and converted, and their items as they were sent.

mod common;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::http_client;
use common::otlp::{self, kv, s};
use common::weir::Weir;
use common::{DEADLINE, Ports};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
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
  resource:
    attributes:
      - key: deployment.environment
        value: production
        action: upsert
      - key: internal.build
        action: delete
      - key: k8s.pod.name
        pattern: ^(?P<k8s_deployment_name>.+)-(?P<k8s_pod_suffix>[a-z0-9]+)$
        action: extract
      - key: process.pid
        converted_type: int
        action: convert
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
      processors: [resource]
      exporters: [otlp]
    metrics:
      receivers: [otlp]
      processors: [resource]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [resource]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

/// The resource each request is sent with.
fn sent_resource(service: &str) -> Resource {
    let mut resource = otlp::resource(service);
    resource.attributes.extend([
        kv("deployment.environment", s("dev")),
        kv("internal.build", s("b-77")),
        kv("k8s.pod.name", s("checkout-7f9c")),
        kv("process.pid", s("4242")),
    ]);
    resource
}

/// What the processor makes of it.
fn expected_resource(service: &str) -> Vec<KeyValue> {
    vec![
        kv("service.name", s(service)),
        kv("deployment.environment", s("production")),
        kv("k8s.pod.name", s("checkout-7f9c")),
        kv("process.pid", Value::IntValue(4242)),
        kv("k8s_deployment_name", s("checkout")),
        kv("k8s_pod_suffix", s("7f9c")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_attributes_of_every_signal_are_edited_on_the_way_through() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(&config(&ports, &capture), &ports.all());

    let mut traces = otlp::trace_request(3, 4);
    traces.resource_spans[0].resource = Some(sent_resource("checkout"));
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(traces.clone())
        .await
        .expect("export accepted");

    let mut metrics = otlp::metrics_request_with_exemplars();
    for resource_metrics in &mut metrics.resource_metrics {
        resource_metrics.resource = Some(sent_resource("billing"));
    }
    let answer = http_client::post(
        &ports.http_url("metrics"),
        "application/x-protobuf",
        metrics.encode_to_vec(),
    )
    .await
    .expect("HTTP request");
    assert_eq!(answer.status, 200, "{}", answer.text());

    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(sent_resource("search")),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: Some(AnyValue {
                        value: Some(s("query took 12 ms")),
                    }),
                    attributes: vec![kv("deployment.environment", s("record-level"))],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let json = serde_json::to_vec(&logs).expect("OTLP/JSON");
    let answer = http_client::post(&ports.http_url("logs"), "application/json", json)
        .await
        .expect("HTTP request");
    assert_eq!(answer.status, 200, "{}", answer.text());

    let points = otlp::data_point_count(&metrics);
    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 4, DEADLINE)
        .await
        && capture
            .wait_for_items_async(Transport::Grpc, Signal::Metrics, points, DEADLINE)
            .await
        && capture
            .wait_for_items_async(Transport::Grpc, Signal::Logs, 1, DEADLINE)
            .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());

    let got = capture.traces(Transport::Grpc);
    assert_eq!(got.len(), 1);
    let mut expected = traces.clone();
    expected.resource_spans[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes = expected_resource("checkout");
    assert_eq!(got[0], expected, "spans as sent, resource edited");

    let got = capture.metrics(Transport::Grpc);
    let mut expected = metrics.clone();
    for resource_metrics in &mut expected.resource_metrics {
        resource_metrics.resource.as_mut().unwrap().attributes = expected_resource("billing");
    }
    assert_eq!(got, vec![expected], "data points as sent, resources edited");

    let got = capture.logs(Transport::Grpc);
    let mut expected = logs.clone();
    expected.resource_logs[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes = expected_resource("search");
    assert_eq!(got, vec![expected], "the record keeps its own attribute");
    weir.stop();
}
