//! The `transform` processor through the real binary: spans over OTLP/gRPC and logs over
//! OTLP/HTTP (JSON) reach the backend changed by statements in both forms, everything else as
//! sent.

mod common;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::http_client;
use common::otlp::{self, kv, s};
use common::weir::Weir;
use common::{DEADLINE, Ports};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

fn config(ports: &Ports, capture: &Capture) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
      http: {{ endpoint: "127.0.0.1:{http}" }}
processors:
  transform:
    error_mode: ignore
    trace_statements:
      - context: span
        statements:
          - 'set(attributes["tenant"], resource.attributes["service.name"]) where attributes["i"] == 1'
          - 'replace_pattern(name, "^span-", "op-")'
      - 'set(resource.attributes["deployment.environment"], "prod")'
    log_statements:
      - context: log
        statements:
          - 'merge_maps(attributes, ParseJSON(body), "insert") where IsMatch(body, "^\\{{")'
          - 'set(body, "[parsed]") where attributes["user"] != nil'
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
      processors: [transform]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [transform]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_change_spans_resources_and_logs_on_the_way_through() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(&config(&ports, &capture), &ports.all());

    let request = otlp::trace_request(9, 3);
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request.clone())
        .await
        .expect("export accepted");

    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(otlp::resource("e2e")),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        body: Some(AnyValue {
                            value: Some(s(r#"{"user":"u-7","plan":"pro"}"#)),
                        }),
                        attributes: vec![kv("plan", s("free"))],
                        ..Default::default()
                    },
                    LogRecord {
                        body: Some(AnyValue {
                            value: Some(s("plain text")),
                        }),
                        ..Default::default()
                    },
                ],
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

    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 3, DEADLINE)
        .await
        && capture
            .wait_for_items_async(Transport::Grpc, Signal::Logs, 2, DEADLINE)
            .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());

    let mut expected = request.clone();
    let rs = &mut expected.resource_spans[0];
    let service = rs.resource.as_ref().unwrap().attributes[0].value.clone();
    rs.resource
        .as_mut()
        .unwrap()
        .attributes
        .push(kv("deployment.environment", s("prod")));
    for span in &mut rs.scope_spans[0].spans {
        span.name = span.name.replacen("span-", "op-", 1);
        if span.attributes[0].value
            == Some(AnyValue {
                value: Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(1)),
            })
        {
            span.attributes
                .push(opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: "tenant".into(),
                    value: service.clone(),
                    ..Default::default()
                });
        }
    }
    assert_eq!(capture.traces(Transport::Grpc), vec![expected]);

    let got = capture.logs(Transport::Grpc);
    let records = &got[0].resource_logs[0].scope_logs[0].log_records;
    assert_eq!(
        records[0].attributes,
        vec![kv("plan", s("free")), kv("user", s("u-7"))],
        "insert keeps the record's own plan"
    );
    assert_eq!(
        records[0].body,
        Some(AnyValue {
            value: Some(s("[parsed]"))
        })
    );
    assert_eq!(
        records[1],
        logs.resource_logs[0].scope_logs[0].log_records[1]
    );
    weir.stop();
}
