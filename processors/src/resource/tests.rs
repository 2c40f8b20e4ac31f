//! The `resource` processor on each signal: resource attributes edited as otelcol's actions
//! say, item and scope attributes left alone, absent resources created by `insert`, batches
//! nothing touches passed as the same bytes, and config errors that name the field.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::json;
use weir_core::batch::{BatchMeta, Request};
use weir_core::component::ComponentConfig;

use super::*;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn s(text: &str) -> Value {
    Value::StringValue(text.to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use ring::digest::{SHA256, digest};
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn resource(attributes: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes,
        ..Default::default()
    })
}

fn config(actions: serde_json::Value) -> ResourceConfig {
    let config: ResourceConfig =
        serde_json::from_value(json!({ "attributes": actions })).expect("config parses");
    config.validate().expect("config is valid");
    config
}

fn run(config: &ResourceConfig, request: &Request) -> (Batch, Request) {
    let input = Batch::from_encoded(
        request.signal(),
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request");
    let out = ResourceProcessor::new(config)
        .expect("builds")
        .apply(input)
        .expect("processes");
    assert_eq!(out.items(), request.item_count());
    let decoded = Request::decode(request.signal(), &out.to_bytes()).expect("output decodes");
    (out, decoded)
}

fn traces(resource: Option<Resource>) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource,
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    name: "GET /users".to_string(),
                    attributes: vec![kv("deployment.environment", s("span-level"))],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn metrics(resource: Option<Resource>) -> Request {
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource,
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".to_string(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            attributes: vec![kv("deployment.environment", s("point-level"))],
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn logs(resource: Option<Resource>) -> Request {
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource,
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    attributes: vec![kv("deployment.environment", s("record-level"))],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn resources(request: &Request) -> Vec<Option<Resource>> {
    match request {
        Request::Traces(r) => r
            .resource_spans
            .iter()
            .map(|r| r.resource.clone())
            .collect(),
        Request::Metrics(r) => r
            .resource_metrics
            .iter()
            .map(|r| r.resource.clone())
            .collect(),
        Request::Logs(r) => r.resource_logs.iter().map(|r| r.resource.clone()).collect(),
    }
}

/// Every action on the resource of each signal, as otelcol's resource processor applies them;
/// the item with the same key keeps its own value.
#[test]
fn every_action_edits_the_resource_of_every_signal_and_nothing_else() {
    let config = config(json!([
        { "key": "deployment.environment", "value": "prod", "action": "upsert" },
        { "key": "cloud.region", "value": "eu-west-1", "action": "insert" },
        { "key": "service.name", "value": "never", "action": "insert" },
        { "key": "host.name", "value": "unknown", "action": "update" },
        { "key": "absent", "value": "x", "action": "update" },
        { "key": "k8s.pod.uid", "from_attribute": "host.id", "action": "upsert" },
        { "key": "user.email", "action": "hash" },
        { "pattern": "^internal\\.", "action": "delete" },
        { "key": "service.instance", "pattern": "^(?P<pod>[^.]+)\\.(?P<zone>.+)$", "action": "extract" },
        { "key": "process.pid", "converted_type": "int", "action": "convert" },
    ]));
    let input = || {
        resource(vec![
            kv("service.name", s("checkout")),
            kv("host.name", s("h1")),
            kv("host.id", s("i-123")),
            kv("user.email", s("a@example.com")),
            kv("internal.build", s("42")),
            kv("internal.token", s("t")),
            kv("service.instance", s("pod-7.zone-b")),
            kv("process.pid", s("4242")),
        ])
    };
    let expected = resource(vec![
        kv("service.name", s("checkout")),
        kv("host.name", s("unknown")),
        kv("host.id", s("i-123")),
        kv("user.email", s(&sha256_hex(b"a@example.com"))),
        kv("service.instance", s("pod-7.zone-b")),
        kv("process.pid", Value::IntValue(4242)),
        kv("deployment.environment", s("prod")),
        kv("cloud.region", s("eu-west-1")),
        kv("k8s.pod.uid", s("i-123")),
        kv("pod", s("pod-7")),
        kv("zone", s("zone-b")),
    ]);
    for make in [traces, metrics, logs] {
        let (_, out) = run(&config, &make(input()));
        assert_eq!(
            resources(&out),
            vec![expected.clone()],
            "{:?}",
            out.signal()
        );
        assert_eq!(
            out,
            make(expected.clone()),
            "items keep their own attributes"
        );
    }
}

/// A request without a resource gets one from `insert`; `update` leaves it without.
#[test]
fn an_absent_resource_is_created_by_insert_and_left_absent_by_update() {
    let insert = config(json!([{ "key": "env", "value": "prod", "action": "insert" }]));
    let (_, out) = run(&insert, &traces(None));
    assert_eq!(resources(&out), vec![resource(vec![kv("env", s("prod"))])]);

    let update = config(json!([{ "key": "env", "value": "prod", "action": "update" }]));
    let request = traces(None);
    let (batch, out) = run(&update, &request);
    assert_eq!(out, request);
    assert_eq!(batch.to_bytes(), request.encode_to_bytes());
}

/// Nothing to change: the batch leaves as the very bytes it came as, not a copy.
#[test]
fn a_batch_no_action_touches_passes_as_the_same_bytes() {
    let config = config(json!([
        { "key": "absent", "action": "delete" },
        { "key": "service.name", "value": "api", "action": "update" },
    ]));
    let request = logs(resource(vec![kv("service.name", s("api"))]));
    let input = Batch::from_encoded(
        Signal::Logs,
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap();
    let bytes = input.to_bytes();
    let out = ResourceProcessor::new(&config)
        .unwrap()
        .apply(input)
        .unwrap();
    assert_eq!(out.to_bytes().as_ptr(), bytes.as_ptr(), "not copied");
}

#[test]
fn config_errors_name_the_action_field() {
    let problems = |actions| {
        serde_json::from_value::<ResourceConfig>(json!({ "attributes": actions }))
            .expect("parses")
            .validate()
            .unwrap_err()
    };
    assert_eq!(
        problems(json!([])),
        ["attributes must list at least one action"]
    );
    assert_eq!(
        problems(json!([{ "key": "k", "action": "insert" }])),
        ["attributes.0 needs `value` or `from_attribute` for `insert`"]
    );
    assert_eq!(
        problems(json!([{ "key": "ok", "action": "delete" }, { "key": "k", "action": "convert" }])),
        ["attributes.1 needs `converted_type` for `convert`: `int`, `double` or `string`"]
    );
    let unknown = serde_json::from_value::<ResourceConfig>(json!({ "actions": [] })).unwrap_err();
    assert!(
        unknown.to_string().contains("unknown field `actions`"),
        "{unknown}"
    );
}

#[test]
fn malformed_bytes_are_an_error_not_a_panic() {
    let config = config(json!([{ "key": "env", "value": "prod", "action": "upsert" }]));
    let bytes = traces(None).encode_to_bytes();
    let cut = bytes.slice(..bytes.len() - 3);
    let batch = Batch::from_walked(Signal::Traces, cut, 1, Arc::new(BatchMeta::default()));
    let error = ResourceProcessor::new(&config)
        .unwrap()
        .apply(batch)
        .unwrap_err();
    assert!(
        error.to_string().contains("malformed traces request"),
        "{error}"
    );
}
