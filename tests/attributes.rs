//! The `attributes` processor through the real binary: spans sent over OTLP/gRPC and logs over
//! OTLP/HTTP reach the backend with their attributes deleted, upserted and hashed, and the
//! resource's attributes as they were.

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
  attributes/scrub:
    actions:
      - key: user.id
        action: delete
      - key: env
        value: prod
        action: upsert
      - pattern: ^secret\.
        action: hash
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
      processors: [attributes/scrub]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [attributes/scrub]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_and_log_attributes_are_deleted_upserted_and_hashed_on_the_way_through() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(&config(&ports, &capture), &ports.all());

    let mut request = otlp::trace_request(7, 3);
    for span in request
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans)
    {
        span.attributes.push(kv("user.id", s("u-123")));
        span.attributes.push(kv("env", s("dev")));
        span.attributes.push(kv("secret.token", s("abc")));
    }
    request.resource_spans[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(kv("user.id", s("resource-level")));
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request.clone())
        .await
        .expect("export accepted");

    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(otlp::resource("e2e")),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: Some(AnyValue {
                        value: Some(s("hello")),
                    }),
                    attributes: vec![kv("user.id", s("u-9")), kv("keep", s("k"))],
                    ..Default::default()
                }],
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

    let traces = capture.traces(Transport::Grpc);
    let spans: Vec<_> = traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect();
    assert_eq!(spans.len(), 3);
    for (i, span) in spans.iter().enumerate() {
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["i", "env", "secret.token"], "span {i}");
        assert_eq!(
            value(&span.attributes, "i"),
            Some(&Value::IntValue(i as i64))
        );
        assert_eq!(value(&span.attributes, "env"), Some(&s("prod")));
        assert_eq!(
            value(&span.attributes, "secret.token"),
            Some(&s(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ))
        );
        // Everything else about the span is what was sent.
        let mut sent = request.resource_spans[0].scope_spans[0].spans[i].clone();
        sent.attributes.clone_from(&span.attributes);
        assert_eq!(**span, sent);
    }
    let resource = traces[0].resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        value(&resource.attributes, "user.id"),
        Some(&s("resource-level"))
    );

    let logs = capture.logs(Transport::Grpc);
    let log = &logs[0].resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(
        log.attributes,
        vec![kv("keep", s("k")), kv("env", s("prod"))]
    );
    weir.stop();
}
