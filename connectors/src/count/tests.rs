//! `count` on real batches: the default metrics per resource, conditions and attributes with
//! their defaults, items without a counted attribute left out, metrics, data points and log
//! records, the metrics request's shape as otelcol writes it, and config errors by field.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message;
use serde_json::json;
use tokio::sync::mpsc;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{ComponentConfig, Connector, Output, Outputs};

use super::{Count, CountConfig, Definitions};

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn connector(config: serde_json::Value) -> Count {
    let config: CountConfig = serde_json::from_value(config).expect("parses");
    config.validate().expect("valid");
    Count {
        definitions: Definitions::new(&config).expect("builds"),
    }
}

/// Counts `request` and returns the metrics request sent on.
async fn run(
    count: &Count,
    signal: Signal,
    request: Vec<u8>,
) -> Option<ExportMetricsServiceRequest> {
    let (tx, mut rx) = mpsc::channel(4);
    let mut outputs = Outputs::default();
    outputs.add(Signal::Metrics, Output::new("metrics".into(), tx));
    let batch = Batch::from_encoded(signal, request.into(), Arc::new(BatchMeta::default()))
        .expect("a valid request");
    count
        .consume(signal, batch, &outputs)
        .await
        .expect("counted");
    rx.try_recv().ok().map(|b| {
        ExportMetricsServiceRequest::decode(b.to_bytes().as_ref()).expect("metrics decode")
    })
}

fn span(name: &str, attributes: Vec<KeyValue>, error: bool, events: usize) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: name.into(),
        attributes,
        status: error.then(|| Status {
            code: status::StatusCode::Error as i32,
            ..Default::default()
        }),
        events: (0..events)
            .map(|i| Event {
                name: format!("event {i}"),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn traces(resources: Vec<(&str, Vec<Span>)>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", service)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

/// A metric as the tests compare it: its resource's service, its name, and each data point's
/// attributes and value.
type Counted = (String, String, Vec<(Vec<KeyValue>, i64)>);

/// Every metric of `request`, checking the shape otelcol writes on the way.
fn points(request: &ExportMetricsServiceRequest) -> Vec<Counted> {
    let mut out = Vec::new();
    for rm in &request.resource_metrics {
        let service = rm.resource.as_ref().unwrap().attributes[0]
            .value
            .as_ref()
            .and_then(|v| match &v.value {
                Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        assert_eq!(rm.scope_metrics.len(), 1);
        let scope = &rm.scope_metrics[0];
        assert_eq!(scope.scope.as_ref().unwrap().name, "otelcol/countconnector");
        for m in &scope.metrics {
            let Some(metric::Data::Sum(sum)) = &m.data else {
                panic!("a sum")
            };
            assert!(sum.is_monotonic);
            assert_eq!(
                sum.aggregation_temporality,
                AggregationTemporality::Delta as i32
            );
            let values = sum
                .data_points
                .iter()
                .map(|p| {
                    assert!(p.time_unix_nano > 0);
                    let Some(number_data_point::Value::AsInt(n)) = p.value else {
                        panic!("an int")
                    };
                    (p.attributes.clone(), n)
                })
                .collect();
            out.push((service.clone(), m.name.clone(), values));
        }
    }
    out
}

#[tokio::test]
async fn by_default_spans_and_span_events_are_counted_per_resource() {
    let count = connector(json!({}));
    let request = traces(vec![
        (
            "a",
            vec![
                span("1", vec![], false, 2),
                span("2", vec![], false, 0),
                span("3", vec![], true, 0),
            ],
        ),
        ("b", vec![span("4", vec![], false, 0)]),
    ]);
    let out = run(&count, Signal::Traces, request)
        .await
        .expect("counts sent");
    assert_eq!(
        points(&out),
        vec![
            ("a".into(), "trace.span.count".into(), vec![(vec![], 3)]),
            (
                "a".into(),
                "trace.span.event.count".into(),
                vec![(vec![], 2)]
            ),
            ("b".into(), "trace.span.count".into(), vec![(vec![], 1)]),
        ]
    );
    let description = &out.resource_metrics[0].scope_metrics[0].metrics[0].description;
    assert_eq!(description, "The number of spans observed.");
}

#[tokio::test]
async fn conditions_and_attributes_pick_and_split_what_is_counted() {
    let count = connector(json!({
        "spans": {
            "span.errors": {
                "description": "Failed spans by route.",
                "conditions": ["status.code == STATUS_CODE_ERROR"],
                "attributes": [{ "key": "http.route", "default_value": "unknown" }],
            },
            "span.by.tier": {
                "attributes": [{ "key": "tier" }],
            },
        },
        "spanevents": {},
    }));
    let request = traces(vec![(
        "a",
        vec![
            span(
                "1",
                vec![kv("http.route", "/a"), kv("tier", "gold")],
                true,
                1,
            ),
            span("2", vec![kv("http.route", "/a")], true, 0),
            span(
                "3",
                vec![kv("http.route", "/b"), kv("tier", "gold")],
                false,
                0,
            ),
            span("4", vec![], true, 0),
        ],
    )]);
    let out = run(&count, Signal::Traces, request)
        .await
        .expect("counts sent");
    assert_eq!(
        points(&out),
        vec![
            // Spans without `tier` and no default are not counted by it.
            (
                "a".into(),
                "span.by.tier".into(),
                vec![(vec![kv("tier", "gold")], 2)]
            ),
            (
                "a".into(),
                "span.errors".into(),
                vec![
                    (vec![kv("http.route", "/a")], 2),
                    (vec![kv("http.route", "unknown")], 1),
                ]
            ),
        ]
    );
}

#[tokio::test]
async fn nothing_counted_sends_nothing() {
    let count = connector(json!({
        "spans": { "none": { "conditions": ["name == \"nope\""] } },
        "spanevents": {},
    }));
    let request = traces(vec![("a", vec![span("1", vec![], false, 0)])]);
    assert!(run(&count, Signal::Traces, request).await.is_none());
}

#[tokio::test]
async fn metrics_data_points_and_log_records_are_counted() {
    let count = connector(json!({
        "datapoints": { "points.by.host": { "attributes": [{ "key": "host" }] } },
    }));
    let point = |host: &str| NumberDataPoint {
        attributes: vec![kv("host", host)],
        value: Some(number_data_point::Value::AsDouble(1.0)),
        ..Default::default()
    };
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "m")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "cpu".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point("x"), point("y"), point("x")],
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "mem".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point("x")],
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let out = run(&count, Signal::Metrics, metrics)
        .await
        .expect("counts sent");
    assert_eq!(
        points(&out),
        vec![
            ("m".into(), "metric.count".into(), vec![(vec![], 2)]),
            (
                "m".into(),
                "points.by.host".into(),
                vec![(vec![kv("host", "x")], 3), (vec![kv("host", "y")], 1)]
            ),
        ]
    );
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "l")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(), LogRecord::default()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let out = run(&count, Signal::Logs, logs).await.expect("counts sent");
    assert_eq!(
        points(&out),
        vec![("l".into(), "log.record.count".into(), vec![(vec![], 2)])]
    );
}

#[test]
fn config_errors_name_the_field() {
    let config: CountConfig = serde_json::from_value(json!({
        "spans": { "bad": { "conditions": ["IsMatc(name, \"x\")"] } },
        "metrics": { "m": { "attributes": [{ "key": "k" }] } },
        "logs": { "l": { "attributes": [{ "key": "" }] } },
    }))
    .unwrap();
    let problems = config.validate().unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "spans.bad.conditions.0 is not a valid OTTL condition: unknown function `IsMatc`"
        ),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("metrics.m.attributes: metrics are not counted by attributes"),
        "{}",
        problems[1]
    );
    assert_eq!(problems[2], "logs.l.attributes.0.key must not be empty");
}
