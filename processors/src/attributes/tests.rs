//! The processor against a model of otelcol's semantics written on the decoded structs: the
//! output, decoded, must equal the model's edit of the decoded input, for every action, every
//! signal, keys present and absent, empty lists, and (by property) random requests and random
//! action lists. Plus: batches nothing touches pass as they are, bad bytes are errors, never
//! panics, and config errors name the field.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;
use regex::Regex;
use serde_json::json;
use weir_core::batch::{BatchMeta, Request};
use weir_core::component::ComponentConfig;

use super::*;

use crate::testgen;

// ---- the model: otelcol's semantics on decoded attributes ----------------------------------

fn literal(value: &AttributeValue) -> AnyValue {
    AnyValue {
        value: Some(match value {
            AttributeValue::String(s) => Value::StringValue(s.clone()),
            AttributeValue::Int(i) => Value::IntValue(*i),
            AttributeValue::Double(d) => Value::DoubleValue(*d),
            AttributeValue::Bool(b) => Value::BoolValue(*b),
        }),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn hashed(value: &Option<AnyValue>) -> AnyValue {
    let text = match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) if !s.is_empty() => sha256_hex(s.as_bytes()),
        Some(Value::BoolValue(b)) => sha256_hex(&[u8::from(*b)]),
        Some(Value::IntValue(i)) => sha256_hex(&i.to_le_bytes()),
        Some(Value::DoubleValue(d)) => sha256_hex(&d.to_bits().to_le_bytes()),
        _ => String::new(),
    };
    AnyValue {
        value: Some(Value::StringValue(text)),
    }
}

fn selects(action: &ActionConfig, key: &str) -> bool {
    match (&action.key, &action.pattern) {
        (Some(k), _) => k == key,
        (None, Some(p)) => Regex::new(p).unwrap().is_match(key),
        (None, None) => false,
    }
}

fn model_action(action: &ActionConfig, attributes: &mut Vec<KeyValue>) {
    let key = action.key.clone().unwrap_or_default();
    let present = attributes.iter().any(|kv| kv.key == key);
    // What a writing action writes; `None`: nothing (its `from_attribute` is missing).
    let written: Option<Option<AnyValue>> = match (&action.value, &action.from_attribute) {
        (Some(v), _) => Some(Some(literal(v))),
        (None, Some(from)) => attributes
            .iter()
            .find(|kv| &kv.key == from)
            .map(|kv| kv.value.clone()),
        (None, None) => None,
    };
    match action.action.expect("validated") {
        ActionKind::Insert | ActionKind::Upsert if !present => {
            if let Some(value) = written {
                attributes.push(KeyValue {
                    key,
                    value,
                    key_strindex: 0,
                });
            }
        }
        ActionKind::Update | ActionKind::Upsert => {
            if let Some(value) = written {
                for kv in attributes.iter_mut().filter(|kv| kv.key == key) {
                    kv.value = value.clone();
                }
            }
        }
        ActionKind::Insert => {}
        ActionKind::Delete => attributes.retain(|kv| !selects(action, &kv.key)),
        ActionKind::Hash => {
            for kv in attributes.iter_mut().filter(|kv| selects(action, &kv.key)) {
                kv.value = Some(hashed(&kv.value));
            }
        }
        // Checked by their own tests, on values chosen for each rule.
        ActionKind::Extract | ActionKind::Convert => {
            panic!("the model covers the actions the property test generates")
        }
    }
}

fn item_attributes(request: &mut Request) -> Vec<&mut Vec<KeyValue>> {
    match request {
        Request::Traces(r) => testgen::span_attributes(r),
        Request::Metrics(r) => testgen::point_attributes(r),
        Request::Logs(r) => testgen::log_attributes(r),
    }
}

fn model(actions: &[ActionConfig], request: &Request) -> Request {
    let mut request = request.clone();
    for attributes in item_attributes(&mut request) {
        for action in actions {
            model_action(action, attributes);
        }
    }
    request
}

// ---- running the processor -----------------------------------------------------------------

fn config(actions: serde_json::Value) -> AttributesConfig {
    let config: AttributesConfig =
        serde_json::from_value(json!({ "actions": actions })).expect("config parses");
    config.validate().expect("config is valid");
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

/// Runs the processor and checks the result against the model; returns the decoded output.
fn run_and_compare(config: &AttributesConfig, request: &Request) -> Request {
    let mut processor = AttributesProcessor::new(config).expect("builds");
    let input = batch(request);
    let out = processor.apply(input).expect("processes");
    assert_eq!(out.items(), request.item_count());
    assert_eq!(
        out.held_bytes(),
        out.byte_size(),
        "held bytes follow the new size"
    );
    let decoded = Request::decode(request.signal(), &out.to_bytes()).expect("output decodes");
    assert_eq!(decoded, model(&config.actions, request));
    decoded
}

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

fn traces(spans: Vec<Span>) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("user.id", s("resource-level"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn span(name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        name: name.to_string(),
        attributes,
        events: vec![Event {
            name: "e".to_string(),
            attributes: vec![kv("user.id", s("event-level"))],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn get<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn spans(request: &Request) -> &[Span] {
    match request {
        Request::Traces(r) => &r.resource_spans[0].scope_spans[0].spans,
        _ => panic!("not traces"),
    }
}

// ---- every action on spans -----------------------------------------------------------------

#[test]
fn every_action_on_spans_matches_the_model_and_otelcol() {
    let request = traces(vec![
        span(
            "full",
            vec![
                kv("user.id", s("u-1")),
                kv("env", s("dev")),
                kv("n", Value::IntValue(42)),
                kv("d", Value::DoubleValue(1.5)),
                kv("b", Value::BoolValue(true)),
                kv("raw", Value::BytesValue(vec![1, 2])),
                KeyValue {
                    key: "none".to_string(),
                    value: None,
                    key_strindex: 0,
                },
                kv("secret.a", s("abc")),
                kv("secret.b", s("")),
                kv("src", s("copied")),
            ],
        ),
        span("empty", vec![]),
        span("other", vec![kv("env", s("prod"))]),
    ]);
    let config = config(json!([
        { "key": "user.id", "action": "delete" },
        { "key": "env", "value": "prod", "action": "upsert" },
        { "key": "env", "value": "never", "action": "insert" },
        { "key": "added", "value": true, "action": "insert" },
        { "key": "missing", "value": 1, "action": "update" },
        { "key": "d", "value": 2.5, "action": "update" },
        { "key": "dst", "from_attribute": "src", "action": "insert" },
        { "key": "dst2", "from_attribute": "nowhere", "action": "insert" },
        { "key": "env2", "from_attribute": "env", "action": "upsert" },
        { "pattern": "^secret\\.", "action": "hash" },
        { "key": "n", "action": "hash" },
        { "key": "b", "action": "hash" },
        { "key": "raw", "action": "hash" },
        { "key": "none", "action": "hash" },
        { "pattern": "^sr", "action": "delete" },
    ]));
    let out = run_and_compare(&config, &request);

    // The facts, independently of the model.
    let [full, empty, other] = spans(&out) else {
        panic!("three spans")
    };
    assert_eq!(get(&full.attributes, "user.id"), None);
    assert_eq!(get(&full.attributes, "env"), Some(&s("prod")));
    assert_eq!(
        get(&full.attributes, "added"),
        Some(&Value::BoolValue(true))
    );
    assert_eq!(get(&full.attributes, "missing"), None);
    assert_eq!(get(&full.attributes, "d"), Some(&Value::DoubleValue(2.5)));
    assert_eq!(get(&full.attributes, "dst"), Some(&s("copied")));
    assert_eq!(get(&full.attributes, "src"), None, "deleted by pattern");
    assert_eq!(get(&full.attributes, "dst2"), None);
    assert_eq!(get(&full.attributes, "env2"), Some(&s("prod")));
    assert_eq!(
        get(&full.attributes, "secret.a"),
        Some(&s(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        ))
    );
    assert_eq!(get(&full.attributes, "secret.b"), Some(&s("")));
    assert_eq!(
        get(&full.attributes, "n"),
        Some(&s(
            "ed049108bc18f2c64369e8d0ea42850bdd1a7d1dd340cfde716315579702a76c"
        ))
    );
    assert_eq!(
        get(&full.attributes, "b"),
        Some(&s(
            "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"
        ))
    );
    assert_eq!(get(&full.attributes, "raw"), Some(&s("")));
    assert_eq!(get(&full.attributes, "none"), Some(&s("")));
    // The empty list gets what is inserted; the order is the input's, additions at the end.
    let keys: Vec<&str> = empty.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["env", "added", "env2"]);
    let keys: Vec<&str> = other.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["env", "added", "env2"]);
    // Resource and event attributes are not item attributes.
    let Request::Traces(r) = &out else {
        unreachable!()
    };
    let resource = r.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        get(&resource.attributes, "user.id"),
        Some(&s("resource-level"))
    );
    assert_eq!(
        get(&full.events[0].attributes, "user.id"),
        Some(&s("event-level"))
    );
}

#[test]
fn hash_of_a_double_is_the_sha256_of_its_little_endian_bits() {
    let request = traces(vec![span("s", vec![kv("d", Value::DoubleValue(1.5))])]);
    let out = run_and_compare(&config(json!([{ "key": "d", "action": "hash" }])), &request);
    assert_eq!(
        get(&spans(&out)[0].attributes, "d"),
        Some(&s(
            "e163f8cb0f7067a7fc78ca859a77f849aea3214f38fb75b884e4a16be725c905"
        ))
    );
}

#[test]
fn update_and_delete_act_on_every_copy_of_a_repeated_key() {
    let request = traces(vec![span(
        "dup",
        vec![kv("k", s("1")), kv("x", s("2")), kv("k", s("3"))],
    )]);
    let out = run_and_compare(
        &config(json!([{ "key": "k", "value": "v", "action": "update" }])),
        &request,
    );
    let values: Vec<_> = spans(&out)[0]
        .attributes
        .iter()
        .map(|kv| kv.value.clone())
        .collect();
    assert_eq!(values[0], values[2]);
    let out = run_and_compare(
        &config(json!([{ "key": "k", "action": "delete" }])),
        &request,
    );
    assert_eq!(spans(&out)[0].attributes, vec![kv("x", s("2"))]);
}

// ---- logs and metrics ----------------------------------------------------------------------

fn logs() -> Request {
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("user.id", s("r"))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        body: Some(AnyValue {
                            value: Some(s("hello")),
                        }),
                        attributes: vec![kv("user.id", s("u")), kv("env", s("dev"))],
                        ..Default::default()
                    },
                    LogRecord::default(),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn metrics() -> Request {
    let attributes = || vec![kv("user.id", s("u")), kv("k", Value::IntValue(1))];
    let exemplars = || {
        vec![Exemplar {
            filtered_attributes: vec![kv("user.id", s("exemplar"))],
            ..Default::default()
        }]
    };
    let number = || NumberDataPoint {
        attributes: attributes(),
        exemplars: exemplars(),
        ..Default::default()
    };
    let metric = |name: &str, data: metric::Data| Metric {
        name: name.to_string(),
        data: Some(data),
        ..Default::default()
    };
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    metric(
                        "gauge",
                        metric::Data::Gauge(Gauge {
                            data_points: vec![number(), NumberDataPoint::default()],
                        }),
                    ),
                    metric(
                        "sum",
                        metric::Data::Sum(Sum {
                            data_points: vec![number()],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "histogram",
                        metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                attributes: attributes(),
                                exemplars: exemplars(),
                                bucket_counts: vec![1, 2],
                                explicit_bounds: vec![0.5],
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "exponential",
                        metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![ExponentialHistogramDataPoint {
                                attributes: attributes(),
                                exemplars: exemplars(),
                                scale: 3,
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "summary",
                        metric::Data::Summary(Summary {
                            data_points: vec![SummaryDataPoint {
                                attributes: attributes(),
                                count: 4,
                                ..Default::default()
                            }],
                        }),
                    ),
                    Metric {
                        name: "no data".to_string(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn edit_user_and_env() -> AttributesConfig {
    config(json!([
        { "key": "user.id", "action": "delete" },
        { "key": "env", "value": "prod", "action": "upsert" },
        { "key": "k", "value": 2, "action": "update" },
    ]))
}

#[test]
fn log_record_attributes_are_edited_and_nothing_else() {
    let out = run_and_compare(&edit_user_and_env(), &logs());
    let Request::Logs(r) = out else {
        unreachable!()
    };
    let rl = &r.resource_logs[0];
    assert_eq!(
        get(&rl.resource.as_ref().unwrap().attributes, "user.id"),
        Some(&s("r"))
    );
    for log in &rl.scope_logs[0].log_records {
        assert_eq!(
            log.attributes
                .iter()
                .filter(|kv| kv.key == "user.id")
                .count(),
            0
        );
        assert_eq!(get(&log.attributes, "env"), Some(&s("prod")));
    }
    assert_eq!(
        rl.scope_logs[0].log_records[0].body,
        Some(AnyValue {
            value: Some(s("hello"))
        })
    );
}

#[test]
fn every_kind_of_data_point_is_edited_and_exemplars_are_not() {
    let mut out = run_and_compare(&edit_user_and_env(), &metrics());
    let points = item_attributes(&mut out);
    assert_eq!(points.len(), 6);
    for attributes in points {
        assert_eq!(get(attributes, "user.id"), None);
        assert_eq!(get(attributes, "env"), Some(&s("prod")));
    }
    let Request::Metrics(r) = &out else {
        unreachable!()
    };
    let metrics = &r.resource_metrics[0].scope_metrics[0].metrics;
    let Some(metric::Data::Gauge(gauge)) = &metrics[0].data else {
        panic!("gauge")
    };
    assert_eq!(
        get(&gauge.data_points[0].attributes, "k"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(
        get(
            &gauge.data_points[0].exemplars[0].filtered_attributes,
            "user.id"
        ),
        Some(&s("exemplar"))
    );
}

// ---- batches as a whole --------------------------------------------------------------------

#[test]
fn a_batch_no_action_touches_passes_as_the_same_bytes() {
    let request = traces(vec![span("s", vec![kv("a", s("1"))])]);
    let input = batch(&request);
    let bytes = input.to_bytes();
    let mut processor = AttributesProcessor::new(&config(json!([
        { "key": "user.id", "action": "delete" },
        { "key": "a", "value": "1", "action": "update" },
        { "pattern": "^secret", "action": "hash" },
    ])))
    .unwrap();
    let out = processor.apply(input).unwrap();
    assert_eq!(out.to_bytes().as_ptr(), bytes.as_ptr(), "not copied");
}

#[test]
fn a_decoded_batch_is_edited_and_leaves_encoded() {
    let request = traces(vec![span("s", vec![kv("user.id", s("1"))])]);
    let input = Batch::from_request(request.clone(), Arc::new(BatchMeta::default()));
    let config = edit_user_and_env();
    let out = AttributesProcessor::new(&config)
        .unwrap()
        .apply(input)
        .unwrap();
    assert!(out.is_encoded());
    assert_eq!(*out.decoded().unwrap(), model(&config.actions, &request));
}

#[test]
fn malformed_bytes_are_an_error_that_says_where() {
    let bytes = traces(vec![span("s", vec![kv("user.id", s("1"))])]).encode_to_bytes();
    let cut = bytes.slice(..bytes.len() - 3);
    let input = Batch::from_walked(Signal::Traces, cut, 1, Arc::new(BatchMeta::default()));
    let error = AttributesProcessor::new(&edit_user_and_env())
        .unwrap()
        .apply(input)
        .unwrap_err();
    assert!(
        error.0.contains("malformed traces request at byte"),
        "{error}"
    );
}

/// A span with fields prost does not know (a newer OTLP, a vendor's extension): they come out
/// byte for byte, where they were.
#[test]
fn unknown_fields_inside_a_span_pass_through_byte_for_byte() {
    let unknown = [0xa8, 0x06, 0x2a, 0xb2, 0x06, 0x02, b'h', b'i']; // fields 101 and 102
    let field = |number: u8, content: &[u8]| {
        let mut out = vec![number << 3 | 2, u8::try_from(content.len()).unwrap()];
        out.extend_from_slice(content);
        out
    };
    let attribute = |key: &str| field(9, &kv(key, s("v")).encode_to_vec());
    let span = |attributes: &[&str]| {
        let mut content = field(5, b"name");
        content.extend(unknown);
        for key in attributes {
            content.extend(attribute(key));
        }
        field(1, &field(2, &field(2, &content)))
    };
    let input = Batch::from_encoded(
        Signal::Traces,
        span(&["user.id", "keep"]).into(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap();
    let out = AttributesProcessor::new(&config(json!([
        { "key": "user.id", "action": "delete" },
        { "key": "env", "value": "v", "action": "insert" },
    ])))
    .unwrap()
    .apply(input)
    .unwrap();
    assert_eq!(out.to_bytes(), span(&["keep", "env"]));
}

#[tokio::test]
async fn the_processor_pushes_one_batch_per_batch() {
    let mut processor = AttributesProcessor::new(&edit_user_and_env()).unwrap();
    let mut out = Vec::new();
    processor.process(batch(&logs()), &mut out).await.unwrap();
    processor
        .process(batch(&metrics()), &mut out)
        .await
        .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].items(), metrics().item_count());
}

// ---- properties ----------------------------------------------------------------------------

const KEYS: [&str; 6] = ["user.id", "env", "a", "b", "secret.x", "secret.y"];
const PATTERNS: [&str; 4] = ["^secret\\.", "a|b", "^env$", "id"];

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(KEYS.to_vec()).prop_map(String::from),
        1 => Just("absent".to_string()),
    ]
}

fn any_literal() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        "[a-z]{0,6}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1.0e6..1.0e6f64).prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
    ]
}

/// A valid action as YAML would give it.
fn any_action() -> impl Strategy<Value = serde_json::Value> {
    let writes = (
        prop_oneof![Just("insert"), Just("update"), Just("upsert")],
        any_key(),
        prop_oneof![
            any_literal().prop_map(|v| ("value", v)),
            any_key().prop_map(|k| ("from_attribute", serde_json::Value::from(k))),
        ],
    )
        .prop_map(
            |(action, key, (field, value))| json!({ "action": action, "key": key, field: value }),
        );
    let selects = (
        prop_oneof![Just("delete"), Just("hash")],
        prop_oneof![
            any_key().prop_map(|k| ("key", k)),
            proptest::sample::select(PATTERNS.to_vec()).prop_map(|p| ("pattern", p.to_string())),
        ],
    )
        .prop_map(|(action, (field, value))| json!({ "action": action, field: value }));
    prop_oneof![2 => writes, 1 => selects]
}

/// A generated request whose item attribute keys are drawn from [`KEYS`], so actions hit them
/// (repeated keys included).
fn any_request() -> impl Strategy<Value = Request> {
    let size = testgen::Size {
        attributes: 6,
        ..testgen::Size::SMALL
    };
    prop_oneof![
        testgen::traces_request(size).prop_map(Request::Traces),
        testgen::metrics_request(size).prop_map(Request::Metrics),
        testgen::logs_request(size).prop_map(Request::Logs),
    ]
    .prop_map(|mut request| {
        for attributes in item_attributes(&mut request) {
            for (j, kv) in attributes.iter_mut().enumerate() {
                kv.key = KEYS[(kv.key.len() + j) % KEYS.len()].to_string();
            }
        }
        request
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_actions_on_random_requests_match_the_model(
        request in any_request(),
        actions in vec(any_action(), 1..6),
    ) {
        let config = config(serde_json::Value::Array(actions));
        run_and_compare(&config, &request);
    }

    /// Whatever the bytes, the processor answers with a batch or an error.
    #[test]
    fn random_bytes_never_panic(
        signal in prop_oneof![Just(Signal::Traces), Just(Signal::Metrics), Just(Signal::Logs)],
        bytes in prop_oneof![vec(any::<u8>(), 0..64), testgen::wire_soup()],
    ) {
        let input = Batch::from_walked(signal, bytes.into(), 0, Arc::new(BatchMeta::default()));
        let _ = AttributesProcessor::new(&edit_user_and_env()).unwrap().apply(input);
    }

    #[test]
    fn mutated_requests_never_panic(
        request in any_request(),
        at in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut bytes = request.encode_to_bytes().to_vec();
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
            bytes.truncate(cut.index(bytes.len() + 1).max(i));
        }
        let input = Batch::from_walked(request.signal(), bytes.into(), 0, Arc::new(BatchMeta::default()));
        let _ = AttributesProcessor::new(&edit_user_and_env()).unwrap().apply(input);
    }
}

// ---- config errors -------------------------------------------------------------------------

fn problems(actions: serde_json::Value) -> Vec<String> {
    let config: AttributesConfig =
        serde_json::from_value(json!({ "actions": actions })).expect("parses");
    config.validate().expect_err("invalid")
}

fn parse_error(body: serde_json::Value) -> String {
    serde_json::from_value::<AttributesConfig>(body)
        .expect_err("refused")
        .to_string()
}

#[test]
fn action_combinations_otelcol_refuses_are_errors_that_name_the_field() {
    let cases = [
        (
            json!([{ "key": "a", "pattern": "b", "action": "delete" }]),
            "actions.0.pattern cannot be combined with `key`; use one of them",
        ),
        (
            json!([{ "action": "delete" }]),
            "actions.0 needs `key` or `pattern`",
        ),
        (
            json!([{ "value": 1, "action": "insert" }]),
            "actions.0 needs `key`",
        ),
        (
            json!([{ "pattern": "^a", "value": 1, "action": "upsert" }]),
            "actions.0.pattern works with `delete`, `hash` and `extract` only; `upsert` needs `key`",
        ),
        (
            json!([{ "key": "k", "action": "delete" }, { "key": "k", "action": "insert" }]),
            "actions.1 needs `value` or `from_attribute` for `insert`",
        ),
        (
            json!([{ "key": "k", "value": 1, "from_attribute": "j", "action": "update" }]),
            "actions.0.from_attribute cannot be combined with `value`; use one of them",
        ),
        (
            json!([{ "key": "k", "value": "x", "action": "delete" }]),
            "actions.0.value is not used by `delete`; remove it",
        ),
        (
            json!([{ "key": "k", "from_attribute": "x", "action": "hash" }]),
            "actions.0.from_attribute is not used by `hash`; remove it",
        ),
        (
            json!([{ "pattern": "(", "action": "delete" }]),
            "actions.0.pattern is not a valid regular expression: unclosed group",
        ),
        (
            json!([{ "key": "", "action": "delete" }]),
            "actions.0.key must not be empty",
        ),
        (json!([]), "actions must list at least one action"),
    ];
    for (actions, expected) in cases {
        assert_eq!(
            problems(actions.clone()),
            vec![expected.to_string()],
            "{actions}"
        );
    }
}

#[test]
fn every_problem_is_reported() {
    let found = problems(json!([
        { "key": "k", "action": "insert" },
        { "action": "hash", "value": true },
    ]));
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn unknown_actions_fields_and_value_types_are_refused_by_name() {
    let error = parse_error(json!({ "actions": [{ "key": "k", "action": "rename" }] }));
    assert!(
        error.contains("unknown variant `rename`, expected one of `insert`, `update`, `upsert`, `delete`, `hash`, `extract`, `convert`"),
        "{error}"
    );
    let error = parse_error(json!({ "include": { "match_type": "strict" }, "actions": [] }));
    assert!(error.contains("unknown field `include`"), "{error}");
    let error = parse_error(
        json!({ "actions": [{ "key": "k", "action": "convert", "converted_type": "bool" }] }),
    );
    assert!(
        error.contains("unknown variant `bool`, expected one of `int`, `double`, `string`"),
        "{error}"
    );
    let error = parse_error(
        json!({ "actions": [{ "key": "k", "action": "upsert", "value": { "a": 1 } }] }),
    );
    assert!(
        error.contains("invalid type: map, expected a string, integer, double or boolean"),
        "{error}"
    );
    assert_eq!(
        problems(json!([{ "key": "k" }])),
        [
            "actions.0 needs `action`: `insert`, `update`, `upsert`, `delete`, `hash`, `extract` or `convert`"
        ]
    );
}

#[test]
fn extract_and_convert_combinations_otelcol_refuses_are_errors_that_name_the_field() {
    let cases = [
        (
            json!([{ "key": "k", "action": "extract" }]),
            "actions.0 needs `pattern` for `extract`: a regular expression with named groups",
        ),
        (
            json!([{ "pattern": "(?P<a>.*)", "action": "extract" }]),
            "actions.0 needs `key`: the attribute to extract from",
        ),
        (
            json!([{ "key": "k", "pattern": "^a.*$", "action": "extract" }]),
            "actions.0.pattern has no groups; `extract` needs named ones like `(?P<name>…)`",
        ),
        (
            json!([{ "key": "k", "pattern": "(?P<a>x)(y)", "action": "extract" }]),
            "actions.0.pattern's group 2 has no name; `extract` names the attributes it writes by the groups' names (`(?P<name>…)`)",
        ),
        (
            json!([{ "key": "k", "pattern": "(?P<a>x)", "value": 1, "action": "extract" }]),
            "actions.0.value is not used by `extract`; remove it",
        ),
        (
            json!([{ "key": "k", "action": "convert" }]),
            "actions.0 needs `converted_type` for `convert`: `int`, `double` or `string`",
        ),
        (
            json!([{ "key": "k", "pattern": "x", "converted_type": "int", "action": "convert" }]),
            "actions.0.pattern is not used by `convert`; remove it",
        ),
        (
            json!([{ "key": "k", "converted_type": "int", "action": "delete" }]),
            "actions.0.converted_type is not used by `delete`; remove it",
        ),
    ];
    for (actions, expected) in cases {
        assert_eq!(
            problems(actions.clone()),
            vec![expected.to_string()],
            "{actions}"
        );
    }
}

/// `extract` upserts every named group of the first match, an absent group as an empty
/// string, and leaves items whose value is missing, not a string or not matching alone;
/// `convert` changes the type where it converts and leaves the value where it does not.
#[test]
fn extract_and_convert_edit_as_otelcol_does() {
    let config = config(json!([
        { "key": "http.request", "pattern": "^(?P<method>[A-Z]+) (?P<path>/[^ ?]*)(?:\\?(?P<query>.*))?$", "action": "extract" },
        { "key": "count", "converted_type": "int", "action": "convert" },
        { "key": "ratio", "converted_type": "string", "action": "convert" },
    ]));
    let request = traces(vec![
        span(
            "matched",
            vec![
                kv("http.request", s("GET /users")),
                kv("path", s("old")),
                kv("count", s("17")),
                kv("ratio", Value::DoubleValue(0.5)),
            ],
        ),
        span(
            "unmatched",
            vec![
                kv("http.request", s("not a request")),
                kv("count", s("many")),
                kv("ratio", s("already")),
            ],
        ),
        span("not a string", vec![kv("http.request", Value::IntValue(3))]),
    ]);
    let mut processor = AttributesProcessor::new(&config).expect("builds");
    let out = processor.apply(batch(&request)).expect("processes");
    let out = Request::decode(request.signal(), &out.to_bytes()).expect("output decodes");
    let spans = self::spans(&out);
    let attributes = &spans[0].attributes;
    assert_eq!(get(attributes, "method"), Some(&s("GET")));
    assert_eq!(
        get(attributes, "path"),
        Some(&s("/users")),
        "upserted over the old value"
    );
    assert_eq!(
        get(attributes, "query"),
        Some(&s("")),
        "a group that took no part"
    );
    assert_eq!(get(attributes, "count"), Some(&Value::IntValue(17)));
    assert_eq!(get(attributes, "ratio"), Some(&s("0.5")));
    assert_eq!(spans[1].attributes, self::spans(&request)[1].attributes);
    assert_eq!(spans[2].attributes, self::spans(&request)[2].attributes);
}

#[test]
fn values_are_typed_as_yaml_types_them() {
    let config: AttributesConfig = serde_json::from_value(json!({ "actions": [
        { "key": "a", "value": "42", "action": "insert" },
        { "key": "b", "value": 42, "action": "insert" },
        { "key": "c", "value": 4.5, "action": "insert" },
        { "key": "d", "value": false, "action": "insert" },
    ]}))
    .unwrap();
    let values: Vec<_> = config
        .actions
        .iter()
        .map(|a| a.value.clone().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            AttributeValue::String("42".to_string()),
            AttributeValue::Int(42),
            AttributeValue::Double(4.5),
            AttributeValue::Bool(false),
        ]
    );
}
