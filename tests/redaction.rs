//! The `redaction` processor through the real binary: spans sent over OTLP/gRPC reach the
//! backend with keys not allowed deleted, card numbers masked in place, a token key's value
//! masked whole, an ignored key untouched and otelcol's debug summary written (in the
//! resource's attributes too); logs sent over OTLP/HTTP through a second `redaction` have the
//! e-mail addresses in their attribute values and inside their map bodies replaced by their
//! HMAC-SHA256, keyed from the environment.

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
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValueList};
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
  redaction:
    allowed_keys: [service.name, i, note, auth.token]
    ignored_keys: [debug.raw]
    blocked_values: ["4[0-9]{{15}}"]
    blocked_key_patterns: ["token"]
    summary: debug
  redaction/hashed:
    allow_all_keys: true
    blocked_values: ['[a-z]+@example\.com']
    hash_function: hmac-sha256
    hmac_key: ${{env:WEIR_TEST_REDACTION_KEY}}
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
      processors: [redaction]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [redaction/hashed]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

/// A map body with the recipient `to` nested under `mail`, beside a number.
fn body(to: Value) -> Value {
    let map = |values| Value::KvlistValue(KeyValueList { values });
    map(vec![
        kv("mail", map(vec![kv("to", to), kv("n", Value::IntValue(1))])),
        kv("level", s("info")),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_logs_arrive_redacted_masked_hashed_and_summarized() {
    let capture = Capture::start();
    let ports = Ports::free();
    let mut builder = Weir::builder()
        .config(config(&ports, &capture))
        .env("WEIR_TEST_REDACTION_KEY", "e2e-key");
    for port in ports.all() {
        builder = builder.wait_for(port);
    }
    let weir = builder.start();

    let mut request = otlp::trace_request(9, 2);
    request.resource_spans[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(kv("host.ip", s("10.0.0.1")));
    for span in &mut request.resource_spans[0].scope_spans[0].spans {
        span.attributes.extend([
            kv("note", s("paid 4111111111111111, then 4222222222222222")),
            kv("auth.token", s("s3cr3t")),
            kv("debug.raw", s("4111111111111111")),
            kv("user.email", s("alice@example.com")),
        ]);
    }
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
                        value: Some(body(s("alice@example.com"))),
                    }),
                    attributes: vec![
                        kv("from", s("alice@example.com to bob@example.com")),
                        kv("n", Value::IntValue(3)),
                    ],
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
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 2, DEADLINE)
        .await
        && capture
            .wait_for_items_async(Transport::Grpc, Signal::Logs, 1, DEADLINE)
            .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());

    let traces = capture.traces(Transport::Grpc);
    let resource = traces[0].resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        resource.attributes,
        vec![
            kv("service.name", s("e2e")),
            kv("redaction.redacted.keys", s("host.ip")),
            kv("redaction.redacted.count", Value::IntValue(1)),
        ]
    );
    let spans: Vec<_> = traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect();
    assert_eq!(spans.len(), 2);
    for (i, span) in spans.iter().enumerate() {
        assert_eq!(
            span.attributes,
            vec![
                kv("i", Value::IntValue(i as i64)),
                kv("note", s("paid ****, then ****")),
                kv("auth.token", s("****")),
                kv("debug.raw", s("4111111111111111")),
                kv("redaction.redacted.keys", s("user.email")),
                kv("redaction.redacted.count", Value::IntValue(1)),
                kv("redaction.masked.keys", s("auth.token,note")),
                kv("redaction.masked.count", Value::IntValue(2)),
                kv("redaction.ignored.count", Value::IntValue(1)),
            ],
            "span {i}"
        );
        // Everything else about the span is what was sent.
        let mut sent = request.resource_spans[0].scope_spans[0].spans[i].clone();
        sent.attributes.clone_from(&span.attributes);
        assert_eq!(**span, sent);
    }

    let logs = capture.logs(Transport::Grpc);
    let log = &logs[0].resource_logs[0].scope_logs[0].log_records[0];
    // HMAC-SHA256 with key `e2e-key`, from Python's hmac module.
    let alice = "bf17cfb6f810f12e1f7842ab91f7adf5c09fdf66aac4abda6a354c37dc1edf91";
    let bob = "ba592264a5f0e6005d7bea711d8009ae9ba1210fb3b3aa6ca53eb78e73137f34";
    assert_eq!(
        log.attributes,
        vec![
            kv("from", s(&format!("{alice} to {bob}"))),
            kv("n", Value::IntValue(3)),
        ]
    );
    assert_eq!(
        log.body.as_ref().and_then(|b| b.value.clone()),
        Some(body(s(alice)))
    );
    weir.stop();
}
