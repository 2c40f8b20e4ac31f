//! The `transform` processor: both statement forms, every context of every signal, statements
//! in order per record, group conditions, error modes, absent resources left absent, and
//! config errors that say where.

use std::sync::Arc;

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
use proptest::prelude::Strategy;
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

fn config(body: serde_json::Value) -> TransformConfig {
    let config: TransformConfig = serde_json::from_value(body).expect("parses");
    config.validate().expect("valid");
    config
}

fn run(config: &TransformConfig, request: &Request) -> Result<Request, ProcessError> {
    let batch = Batch::from_encoded(
        request.signal(),
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request");
    let out = TransformProcessor::new(config, "transform/test")
        .expect("builds")
        .apply(batch)?;
    assert!(out.is_encoded(), "leaves encoded");
    Ok(Request::decode(request.signal(), &out.to_bytes()).expect("decodes"))
}

fn traces(resource: Option<Resource>, spans: Vec<Span>) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource,
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn spans(request: &Request) -> &[Span] {
    match request {
        Request::Traces(r) => &r.resource_spans[0].scope_spans[0].spans,
        _ => unreachable!(),
    }
}

fn server(name: &str) -> Span {
    Span {
        name: name.to_string(),
        kind: 2,
        attributes: vec![kv("http.route", s("/users/{id}"))],
        ..Default::default()
    }
}

#[test]
fn structured_statements_run_in_order_on_each_record_of_their_context() {
    let config = config(json!({ "trace_statements": [{
        "context": "span",
        "statements": [
            r#"set(attributes["route.copy"], attributes["http.route"]) where kind == SPAN_KIND_SERVER"#,
            r#"set(name, Concat([name, attributes["route.copy"]], " ")) where attributes["route.copy"] != nil"#,
            r#"delete_key(attributes, "http.route")"#,
        ],
    }]}));
    let client = Span {
        name: "call".into(),
        kind: 3,
        ..Default::default()
    };
    let out = run(&config, &traces(None, vec![server("GET"), client.clone()])).unwrap();
    assert_eq!(spans(&out)[0].name, "GET /users/{id}");
    assert_eq!(
        spans(&out)[0].attributes,
        vec![kv("route.copy", s("/users/{id}"))]
    );
    assert_eq!(spans(&out)[1], client, "the where clauses skip it");
    match &out {
        Request::Traces(r) => assert_eq!(r.resource_spans[0].resource, None, "absent stays absent"),
        _ => unreachable!(),
    }
}

#[test]
fn flat_statements_run_in_the_context_their_prefixes_name() {
    let config = config(json!({ "trace_statements": [
        r#"set(resource.attributes["deployment.environment"], "prod")"#,
        r#"set(span.attributes["service"], resource.attributes["service.name"])"#,
        r#"set(spanevent.attributes["span"], span.name)"#,
    ]}));
    let resource = Resource {
        attributes: vec![kv("service.name", s("api"))],
        ..Default::default()
    };
    let mut span = server("GET");
    span.events = vec![Event {
        name: "e".into(),
        ..Default::default()
    }];
    let out = run(&config, &traces(Some(resource), vec![span])).unwrap();
    let Request::Traces(r) = &out else {
        unreachable!()
    };
    assert_eq!(
        r.resource_spans[0].resource.as_ref().unwrap().attributes,
        vec![
            kv("service.name", s("api")),
            kv("deployment.environment", s("prod"))
        ]
    );
    let span = &spans(&out)[0];
    assert_eq!(span.attributes.last(), Some(&kv("service", s("api"))));
    assert_eq!(span.events[0].attributes, vec![kv("span", s("GET"))]);
}

#[test]
fn group_conditions_select_the_records_a_group_runs_on() {
    let config = config(json!({ "trace_statements": [{
        "context": "span",
        "conditions": [r#"name == "b""#, r#"name == "c""#],
        "statements": [r#"set(attributes["picked"], true)"#],
    }]}));
    let names = ["a", "b", "c"].map(|n| Span {
        name: n.into(),
        ..Default::default()
    });
    let out = run(&config, &traces(None, names.to_vec())).unwrap();
    let picked: Vec<bool> = spans(&out)
        .iter()
        .map(|s| !s.attributes.is_empty())
        .collect();
    assert_eq!(picked, [false, true, true]);
}

#[test]
fn metrics_are_renamed_and_data_points_changed() {
    let config = config(json!({ "metric_statements": [
        { "context": "metric", "statements": [r#"set(name, Concat([name, "total"], "_")) where type == METRIC_DATA_TYPE_GAUGE"#] },
        { "context": "datapoint", "statements": [r#"set(attributes["doubled"], value_int * 2)"#] },
    ]}));
    let request = Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "requests".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            value: Some(number_data_point::Value::AsInt(21)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let out = run(&config, &request).unwrap();
    let Request::Metrics(r) = &out else {
        unreachable!()
    };
    let metric = &r.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_eq!(metric.name, "requests_total");
    let Some(metric::Data::Gauge(g)) = &metric.data else {
        unreachable!()
    };
    assert_eq!(
        g.data_points[0].attributes,
        vec![kv("doubled", Value::IntValue(42))]
    );
}

#[test]
fn log_bodies_are_parsed_and_merged_into_attributes() {
    let config = config(json!({ "log_statements": [{
        "context": "log",
        "statements": [
            r#"merge_maps(attributes, ParseJSON(body), "upsert") where IsMatch(body, "^\\{")"#,
            r#"set(severity_text, "WARN") where severity_number == SEVERITY_NUMBER_WARN"#,
        ],
    }]}));
    let request = |attributes: Vec<KeyValue>, text: &str| {
        Request::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        severity_number: 13,
                        severity_text: text.into(),
                        body: Some(AnyValue {
                            value: Some(s(r#"{"user":"u-1","n":2}"#)),
                        }),
                        attributes,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    };
    let out = run(&config, &request(vec![kv("user", s("old"))], "")).unwrap();
    let Request::Logs(r) = &out else {
        unreachable!()
    };
    let log = &r.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(log.severity_text, "WARN");
    assert_eq!(log.attributes[0], kv("user", s("u-1")));
    assert_eq!(log.attributes.len(), 2, "{:?}", log.attributes);
}

fn failing(mode: &str) -> TransformConfig {
    config(json!({
        "error_mode": mode,
        "trace_statements": [{ "context": "span", "statements": [
            r#"set(attributes["ratio"], 1 / attributes["zero"])"#,
            r#"set(attributes["after"], true)"#,
        ]}],
    }))
}

#[test]
fn propagate_refuses_the_batch_and_ignore_goes_on_with_the_next_statement() {
    let span = || Span {
        attributes: vec![kv("zero", Value::IntValue(0))],
        ..Default::default()
    };
    let error = run(&failing("propagate"), &traces(None, vec![span()])).unwrap_err();
    assert!(error.to_string().contains("division by zero"), "{error}");
    for mode in ["ignore", "silent"] {
        let out = run(&failing(mode), &traces(None, vec![span()])).unwrap();
        assert_eq!(
            spans(&out)[0].attributes,
            vec![
                kv("zero", Value::IntValue(0)),
                kv("after", Value::BoolValue(true))
            ],
            "{mode}"
        );
    }
    // A group's own error mode wins over the processor's.
    let mixed = config(json!({
        "error_mode": "propagate",
        "trace_statements": [{ "context": "span", "error_mode": "ignore", "statements": [
            r#"set(attributes["ratio"], 1 / attributes["zero"])"#,
        ]}],
    }));
    assert!(run(&mixed, &traces(None, vec![span()])).is_ok());
}

#[test]
fn statements_that_do_not_compile_are_config_errors_that_say_where() {
    let problems = serde_json::from_value::<TransformConfig>(json!({
        "trace_statements": [
            { "context": "span", "statements": [r#"set(name, "x")"#, r#"sett(name, "y")"#] },
            r#"set(attributes["x"], "y")"#,
            { "context": "log", "statements": [r#"set(body, "x")"#] },
            r#"set(log.body, "x")"#,
        ],
        "metric_statements": [{ "context": "datapoint", "statements": [], "conditions": ["true"] }],
    }))
    .unwrap()
    .validate()
    .unwrap_err();
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(
        problems[0].starts_with("trace_statements.0.statements.1 is not a valid OTTL statement: ")
            && problems[0].contains("did you mean `set`?"),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("trace_statements.1 needs a context: "),
        "{problems:#?}"
    );
    assert!(
        problems[2]
            .starts_with("trace_statements.2.context `log` is not a context of trace_statements"),
        "{problems:#?}"
    );
    assert!(
        problems[3].starts_with("trace_statements.3 names the `log` context"),
        "{problems:#?}"
    );
    assert_eq!(
        problems[4],
        "metric_statements.0.statements must list at least one statement"
    );
    let unknown = serde_json::from_value::<TransformConfig>(json!({
        "trace_statements": [{ "context": "span", "statement": [] }],
    }))
    .unwrap_err();
    assert!(
        unknown.to_string().contains("unknown field `statement`"),
        "{unknown}"
    );
}

// ---- record by record on the wire, against the decoded run -------------------------------

/// Runs `config`'s trace or log groups the decoded way, group by group over the request.
fn decoded_run(config: &TransformConfig, request: &Request) -> Request {
    let mut request = request.clone();
    let mut problems = Vec::new();
    let (at, signal, groups) = match &request {
        Request::Traces(_) => config.lists()[0],
        Request::Logs(_) => config.lists()[2],
        Request::Metrics(_) => config.lists()[1],
    };
    for group in config::compile(at, signal, groups, &mut problems) {
        let mut runner = run::Runner {
            policy: crate::error_mode::ErrorPolicy::new(config.error_mode, "transform/model"),
            group,
        };
        let done = match &mut request {
            Request::Traces(r) => run::traces(&mut runner, r),
            Request::Logs(r) => run::logs(&mut runner, r),
            Request::Metrics(r) => run::metrics(&mut runner, r),
        };
        assert!(done.is_ok());
    }
    assert!(problems.is_empty(), "{problems:?}");
    request
}

fn per_record_config() -> TransformConfig {
    config(json!({
        "error_mode": "ignore",
        "trace_statements": [
            { "context": "span", "statements": [
                r#"set(attributes["fast"], true) where kind == SPAN_KIND_SERVER"#,
                r#"set(name, Concat([name, "x"], "-")) where attributes["fast"] == true"#,
                r#"delete_matching_keys(attributes, "^a") where IsMatch(name, "^[a-m]")"#,
            ]},
            { "context": "span", "conditions": ["status.code == STATUS_CODE_ERROR"], "statements": [
                r#"set(attributes["error"], 1 / attributes["zero"])"#,
            ]},
        ],
        "log_statements": [{ "context": "log", "statements": [
            r#"set(severity_text, "high") where severity_number > 12"#,
            r#"set(attributes["copied"], body) where severity_text == "high""#,
        ]}],
    }))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..Default::default() })]

    /// Record by record on the wire gives what the decoded run gives, for spans and logs.
    #[test]
    fn record_by_record_on_the_wire_matches_the_decoded_run(
        request in proptest::prop_oneof![
            crate::testgen::traces_request(crate::testgen::Size::SMALL).prop_map(Request::Traces),
            crate::testgen::logs_request(crate::testgen::Size::SMALL).prop_map(Request::Logs),
        ]
    ) {
        let config = per_record_config();
        let mut processor = TransformProcessor::new(&config, "transform/prop").unwrap();
        let signal = request.signal();
        let slot = if signal == Signal::Traces { 0 } else { 2 };
        let possible = per_record::possible(signal, &processor.runners[slot]);
        proptest::prop_assert!(possible, "record by record");
        let batch = Batch::from_encoded(signal, request.encode_to_bytes(), Arc::new(BatchMeta::default())).unwrap();
        let out = processor.apply(batch).unwrap();
        let got = Request::decode(signal, &out.to_bytes()).unwrap();
        proptest::prop_assert_eq!(got, decoded_run(&config, &request));
    }
}

/// Statements that only set attributes by constant keys, reading what earlier ones set: run
/// on the bytes without decoding.
fn attribute_sets_config() -> TransformConfig {
    config(json!({
        "error_mode": "ignore",
        "trace_statements": [{ "context": "span", "statements": [
            r#"set(attributes["a"], "server") where kind == SPAN_KIND_SERVER"#,
            r#"set(attributes["b"], attributes["a"]) where attributes["a"] != nil"#,
            r#"set(attributes["c"], name)"#,
            r#"set(attributes["d"], attributes["missing"])"#,
        ]}],
        "log_statements": [{ "context": "log", "statements": [
            r#"set(attributes["a"], severity_number) where severity_number > 0"#,
            r#"set(attributes["k"], Concat([severity_text, "!"], ""))"#,
        ]}],
    }))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..Default::default() })]

    /// Attribute sets on the wire give what the decoded run gives, keys already present
    /// (replaced where they first appear) and absent (appended) alike.
    #[test]
    fn attribute_sets_on_the_wire_match_the_decoded_run(
        request in proptest::prop_oneof![
            crate::testgen::traces_request(crate::testgen::Size::SMALL).prop_map(Request::Traces),
            crate::testgen::logs_request(crate::testgen::Size::SMALL).prop_map(Request::Logs),
        ]
    ) {
        let config = attribute_sets_config();
        let mut processor = TransformProcessor::new(&config, "transform/sets").unwrap();
        let signal = request.signal();
        let batch = Batch::from_encoded(signal, request.encode_to_bytes(), Arc::new(BatchMeta::default())).unwrap();
        let out = processor.apply(batch).unwrap();
        let got = Request::decode(signal, &out.to_bytes()).unwrap();
        proptest::prop_assert_eq!(got, decoded_run(&config, &request));
    }
}

#[test]
fn records_no_statement_applies_to_are_copied_and_a_batch_of_them_is_not() {
    let config = config(
        json!({ "trace_statements": [{ "context": "span", "statements": [
            r#"set(attributes["x"], 1) where name == "hit""#,
        ]}]}),
    );
    let request = traces(None, vec![server("miss")]);
    let input = Batch::from_encoded(
        Signal::Traces,
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap();
    let bytes = input.to_bytes();
    let out = TransformProcessor::new(&config, "transform/copy")
        .unwrap()
        .apply(input)
        .unwrap();
    assert_eq!(out.to_bytes().as_ptr(), bytes.as_ptr(), "not copied");

    let request = traces(None, vec![server("miss"), server("hit")]);
    let out = run(&config, &request).unwrap();
    assert_eq!(spans(&out)[0], server("miss"));
    assert_eq!(
        spans(&out)[1].attributes.last(),
        Some(&kv("x", Value::IntValue(1)))
    );
}

#[test]
fn statements_that_write_the_resource_from_a_span_run_on_the_decoded_batch() {
    let config = config(
        json!({ "trace_statements": [{ "context": "span", "statements": [
            r#"set(resource.attributes["seen"], name)"#,
        ]}]}),
    );
    let processor = TransformProcessor::new(&config, "transform/upper").unwrap();
    assert!(!per_record::possible(Signal::Traces, &processor.runners[0]));
    let out = run(&config, &traces(None, vec![server("a"), server("b")])).unwrap();
    let Request::Traces(r) = &out else {
        unreachable!()
    };
    assert_eq!(
        r.resource_spans[0].resource.as_ref().unwrap().attributes,
        vec![kv("seen", s("b"))],
        "the last span's name, as the group runs over every span"
    );
}

/// A key already present is set where it first appears (a repeated key keeps its later
/// copies), an absent one is appended, as the decoded run does; the span is never decoded
/// whole for it, and what it holds besides comes out as it went in.
#[test]
fn attribute_sets_on_the_wire_replace_the_first_copy_and_append_the_rest() {
    let config = attribute_sets_config();
    let span = Span {
        name: "GET /".into(),
        kind: 2,
        attributes: vec![
            kv("a", Value::IntValue(1)),
            kv("x", Value::IntValue(2)),
            kv("a", Value::IntValue(3)),
        ],
        ..Default::default()
    };
    let request = traces(None, vec![span.clone()]);
    let out = run(&config, &request).unwrap();
    assert_eq!(out, decoded_run(&config, &request));
    assert_eq!(
        spans(&out)[0].attributes,
        vec![
            kv("a", s("server")),
            kv("x", Value::IntValue(2)),
            kv("a", Value::IntValue(3)),
            kv("b", s("server")),
            kv("c", s("GET /")),
        ]
    );
}
