//! The `filter` processor on each signal and context: what matches goes (and what it holds),
//! emptied scopes, resources and metrics go, what matches nothing passes as the same bytes,
//! each error mode, otelcol's counters, and config errors that say where.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
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

fn config(body: serde_json::Value) -> FilterConfig {
    let config: FilterConfig = serde_json::from_value(body).expect("parses");
    config.validate().expect("valid");
    config
}

fn batch(request: &Request) -> Batch {
    Batch::from_encoded(
        request.signal(),
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request")
}

/// Runs `config` on `request` as processor `id`; the decoded output and its item count.
fn run(config: &FilterConfig, id: &str, request: &Request) -> Option<(Request, usize)> {
    let mut processor = FilterProcessor::new(config, id).expect("builds");
    let out = processor.apply(batch(request)).expect("processes")?;
    let decoded = Request::decode(request.signal(), &out.to_bytes()).expect("decodes");
    assert_eq!(out.items(), decoded.item_count(), "item count follows");
    Some((decoded, out.items()))
}

fn span(name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        name: name.to_string(),
        attributes,
        ..Default::default()
    }
}

fn traces(resources: Vec<Vec<Span>>) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .enumerate()
            .map(|(i, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s(&format!("svc-{i}")))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    })
}

fn counter(name: &'static str, id: &str) -> u64 {
    weir_core::telemetry::counter(name, "", &[("filter", id)]).load(Ordering::Relaxed)
}

#[test]
fn spans_matching_any_condition_go_and_resources_left_empty_go_too() {
    let config = config(json!({ "traces": { "span": [
        r#"attributes["http.route"] == "/health""#,
        r#"IsMatch(name, "^GET /internal") and resource.attributes["service.name"] == "svc-0""#,
    ]}}));
    let request = traces(vec![
        vec![
            span("GET /users", vec![kv("http.route", s("/users"))]),
            span("GET /health", vec![kv("http.route", s("/health"))]),
            span("GET /internal/x", vec![]),
        ],
        vec![span(
            "GET /internal/y",
            vec![kv("http.route", s("/health"))],
        )],
        vec![span("GET /internal/z", vec![])],
    ]);
    let id = "filter/spans-test";
    let (out, items) = run(&config, id, &request).unwrap();
    assert_eq!(items, 2);
    // Resource svc-1 lost its only span and goes; svc-0 keeps its first span, svc-2 all.
    let Request::Traces(mut expected) = request.clone() else {
        unreachable!()
    };
    expected.resource_spans.remove(1);
    expected.resource_spans[0].scope_spans[0].spans.truncate(1);
    assert_eq!(out, Request::Traces(expected));
    assert_eq!(
        counter("otelcol_processor_filter_spans_filtered_total", id),
        3
    );
}

#[test]
fn span_events_matching_go_and_their_span_stays() {
    let config = config(json!({ "traces": { "spanevent": [r#"name == "debug""#] }}));
    let event = |name: &str| Event {
        name: name.to_string(),
        ..Default::default()
    };
    let mut with = span("s", vec![]);
    with.events = vec![event("debug"), event("exception")];
    let mut only_debug = span("t", vec![]);
    only_debug.events = vec![event("debug")];
    let (out, items) = run(
        &config,
        "filter/events",
        &traces(vec![vec![with, only_debug]]),
    )
    .unwrap();
    assert_eq!(items, 2, "spans stay");
    let mut kept = span("s", vec![]);
    kept.events = vec![event("exception")];
    assert_eq!(out, traces(vec![vec![kept, span("t", vec![])]]));
}

fn gauge(name: &str, points: &[(i64, &str)]) -> Metric {
    Metric {
        name: name.to_string(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: points
                .iter()
                .map(|(v, host)| NumberDataPoint {
                    attributes: vec![kv("host", s(host))],
                    value: Some(number_data_point::Value::AsInt(*v)),
                    ..Default::default()
                })
                .collect(),
        })),
        ..Default::default()
    }
}

fn metrics(metrics: Vec<Metric>) -> Request {
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

#[test]
fn metrics_and_data_points_matching_go_and_metrics_left_empty_go_too() {
    let config = config(json!({ "metrics": {
        "metric": [r#"name == "debug.internal""#],
        "datapoint": [r#"attributes["host"] == "canary" or value_int < 0"#, r#"metric.name == "all.gone""#],
    }}));
    let request = metrics(vec![
        gauge("debug.internal", &[(1, "a")]),
        gauge("cpu", &[(5, "a"), (7, "canary"), (-1, "b")]),
        gauge("all.gone", &[(1, "a"), (2, "b")]),
    ]);
    let id = "filter/metrics-test";
    let (out, items) = run(&config, id, &request).unwrap();
    assert_eq!(items, 1);
    assert_eq!(out, metrics(vec![gauge("cpu", &[(5, "a")])]));
    assert_eq!(
        counter("otelcol_processor_filter_datapoints_filtered_total", id),
        5,
        "the dropped metric's point, two by the point conditions, two of the emptied metric"
    );
}

#[test]
fn log_records_matching_go() {
    let config = config(json!({ "logs": { "log_record": [
        "severity_number < SEVERITY_NUMBER_WARN",
        r#"IsMatch(body, "password")"#,
    ]}}));
    let log = |severity: i32, body: &str| LogRecord {
        severity_number: severity,
        body: Some(AnyValue {
            value: Some(s(body)),
        }),
        ..Default::default()
    };
    let request = |records| {
        Request::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    };
    let (out, _) = run(
        &config,
        "filter/logs",
        &request(vec![
            log(5, "debug"),
            log(13, "disk almost full"),
            log(17, "password=hunter2"),
        ]),
    )
    .unwrap();
    assert_eq!(out, request(vec![log(13, "disk almost full")]));
}

#[test]
fn a_batch_nothing_matches_passes_as_the_same_bytes() {
    let config = config(json!({ "traces": { "span": [r#"name == "nothing""#] }}));
    let input = batch(&traces(vec![vec![span("a", vec![])]]));
    let bytes = input.to_bytes();
    let out = FilterProcessor::new(&config, "filter/same")
        .unwrap()
        .apply(input)
        .unwrap()
        .unwrap();
    assert_eq!(out.to_bytes().as_ptr(), bytes.as_ptr(), "not copied");
}

#[test]
fn a_batch_everything_matches_is_dropped_whole() {
    let config = config(json!({ "traces": { "span": ["true"] }}));
    let out = FilterProcessor::new(&config, "filter/all")
        .unwrap()
        .apply(batch(&traces(vec![vec![span("a", vec![])]])))
        .unwrap();
    assert!(out.is_none());
}

/// `1 / attributes["zero"]` fails on a record whose `zero` is 0.
fn failing(mode: &str) -> FilterConfig {
    config(json!({
        "error_mode": mode,
        "traces": { "span": [r#"1 / attributes["zero"] == 1"#, r#"name == "drop""#] },
    }))
}

fn with_zero(name: &str) -> Span {
    span(name, vec![kv("zero", Value::IntValue(0))])
}

#[test]
fn propagate_refuses_the_batch_naming_the_condition() {
    let mut processor = FilterProcessor::new(&failing("propagate"), "filter/propagate").unwrap();
    let error = processor
        .apply(batch(&traces(vec![vec![with_zero("keep")]])))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains(r#"`1 / attributes["zero"] == 1` failed: division by zero"#),
        "{error}"
    );
    assert_eq!(
        serde_json::from_value::<FilterConfig>(json!({}))
            .unwrap()
            .error_mode,
        ErrorMode::Propagate,
        "the default, as in otelcol"
    );
}

#[test]
fn ignore_and_silent_count_the_failure_and_go_on_with_the_next_condition() {
    for mode in ["ignore", "silent"] {
        let id = format!("filter/{mode}");
        let request = traces(vec![vec![with_zero("keep"), with_zero("drop")]]);
        let (out, _) = run(&failing(mode), &id, &request).unwrap();
        assert_eq!(out, traces(vec![vec![with_zero("keep")]]), "{mode}");
        let errors = weir_core::telemetry::counter(
            "weir_processor_ottl_errors_total",
            "",
            &[("processor", &id)],
        );
        assert_eq!(errors.load(Ordering::Relaxed), 2, "{mode}: one per span");
    }
}

#[test]
fn conditions_that_do_not_compile_are_config_errors_with_the_column_and_a_suggestion() {
    let problems = serde_json::from_value::<FilterConfig>(json!({
        "traces": { "span": [r#"name == "a""#, r#"IsMatc(name, "x")"#] },
        "logs": { "log_record": [r#"severity_number < SEVERITY_NUMBER_WRN"#] },
        "metrics": { "datapoint": ["attributes[\"a\" == 1"] },
    }))
    .unwrap()
    .validate()
    .unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("traces.span.1 is not a valid OTTL condition: ")
            && problems[0].contains("at column 1")
            && problems[0].contains("did you mean `IsMatch`?"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("metrics.datapoint.0 "),
        "{problems:?}"
    );
    assert!(
        problems[2].starts_with("logs.log_record.0 ")
            && problems[2].contains("at column 19")
            && problems[2].contains("SEVERITY_NUMBER_WARN"),
        "{problems:?}"
    );
    let legacy = serde_json::from_value::<FilterConfig>(json!({ "spans": { "include": {} } }));
    assert!(
        legacy
            .unwrap_err()
            .to_string()
            .contains("unknown field `spans`"),
        "the legacy include/exclude form is refused"
    );
}
