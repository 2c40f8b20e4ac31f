//! The rewriter on hand-made requests: where bytes must be exactly the same, where lengths
//! change size, and what it says about bytes it cannot read. The comparison with decoding on
//! generated requests is in `batch::props`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::*;
use crate::batch::wire::put_varint;

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_string())),
        }),
        key_strindex: 0,
    }
}

fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn span(name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        name: name.to_string(),
        attributes,
        ..Default::default()
    }
}

fn delete(key: &'static [u8]) -> impl FnMut(&mut Attributes<'_>) {
    move |attributes| {
        while let Some(i) = attributes.find(key) {
            attributes.remove(i);
        }
    }
}

#[test]
fn only_changed_items_differ_and_the_rest_is_the_same_bytes() {
    let request = traces(vec![
        span("keep", vec![string("a", "1")]),
        span("edit", vec![string("a", "1"), string("user.id", "u-7")]),
        span("keep-too", vec![]),
    ]);
    let bytes = request.encode_to_vec();
    let out = AttributeRewriter::new()
        .rewrite(Signal::Traces, &bytes, delete(b"user.id"))
        .unwrap()
        .expect("one span changed");
    let mut expected = request.clone();
    expected.resource_spans[0].scope_spans[0].spans[1]
        .attributes
        .pop();
    assert_eq!(
        out,
        expected.encode_to_vec(),
        "prost's own encoding of the edit"
    );
}

#[test]
fn a_request_nothing_matches_is_not_copied() {
    let bytes = traces(vec![span("s", vec![string("a", "1")])]).encode_to_vec();
    let out = AttributeRewriter::new().rewrite(Signal::Traces, &bytes, delete(b"user.id"));
    assert_eq!(out, Ok(None));
}

/// Unknown fields inside a span, before, between and after its attributes, come out byte for
/// byte, in order; the new list takes the place of the first old attribute.
#[test]
fn unknown_fields_inside_a_span_pass_through_byte_for_byte() {
    let unknown_a = [0xa8, 0x06, 0x2a]; // field 101, varint 42
    let unknown_b = [0xb2, 0x06, 0x03, b'x', b'y', b'z']; // field 102, 3 bytes
    let unknown_c = [0xbb, 0x06, 0x08, 0x01, 0xbc, 0x06]; // group 103 holding field 1 = 1
    let kv = |key: &str| {
        let mut field = vec![0x4a]; // span.attributes
        let kv = string(key, "v").encode_to_vec();
        put_varint(&mut field, kv.len() as u64);
        field.extend(kv);
        field
    };
    let mut content = b"\x2a\x01n".to_vec(); // name "n"
    content.extend(unknown_a);
    content.extend(kv("gone"));
    content.extend(unknown_b);
    content.extend(kv("kept"));
    content.extend(unknown_c);
    let wrap = |number: u8, content: &[u8]| {
        let mut out = vec![number << 3 | 2];
        put_varint(&mut out, content.len() as u64);
        out.extend_from_slice(content);
        out
    };
    let request = |span: &[u8]| wrap(1, &wrap(2, &wrap(2, span)));
    let bytes = request(&content);
    assert!(crate::batch::wire::walk(Signal::Traces, &bytes).is_ok());

    let out = AttributeRewriter::new()
        .rewrite(Signal::Traces, &bytes, delete(b"gone"))
        .unwrap()
        .expect("changed");
    let mut expected = b"\x2a\x01n".to_vec();
    expected.extend(unknown_a);
    expected.extend(kv("kept"));
    expected.extend(unknown_b);
    expected.extend(unknown_c);
    assert_eq!(out, request(&expected));
}

/// Growing a span past 127 bytes makes every enclosing length prefix one byte longer; shrinking
/// it back makes them shorter again.
#[test]
fn length_prefixes_that_change_size_are_rewritten() {
    let small = traces(vec![span("s", vec![string("k", &"x".repeat(100))])]);
    let bytes = small.encode_to_vec();
    assert!(bytes.len() < 128);
    let long = "y".repeat(300);
    let mut value = Vec::new();
    put_string_value(&mut value, long.as_bytes());
    let out = AttributeRewriter::new()
        .rewrite(Signal::Traces, &bytes, |attributes| {
            attributes.push(b"grown", Some(&value));
        })
        .unwrap()
        .expect("changed");
    let mut expected = small.clone();
    expected.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .push(string("grown", &long));
    assert_eq!(out, expected.encode_to_vec());

    let back = AttributeRewriter::new()
        .rewrite(Signal::Traces, &out, delete(b"grown"))
        .unwrap()
        .expect("changed");
    assert_eq!(back, bytes);
}

#[test]
fn values_read_as_prost_decodes_them() {
    let encode = |value: Value| AnyValue { value: Some(value) }.encode_to_vec();
    assert_eq!(
        read_value(&encode(Value::StringValue("s".into()))),
        ValueRef::String(b"s")
    );
    assert_eq!(
        read_value(&encode(Value::BoolValue(true))),
        ValueRef::Bool(true)
    );
    assert_eq!(read_value(&encode(Value::IntValue(-3))), ValueRef::Int(-3));
    assert_eq!(
        read_value(&encode(Value::DoubleValue(1.5))),
        ValueRef::Double(1.5)
    );
    assert_eq!(
        read_value(&encode(Value::BytesValue(vec![1]))),
        ValueRef::Bytes(&[1])
    );
    assert_eq!(
        read_value(&encode(Value::StringValueStrindex(4))),
        ValueRef::Composite
    );
    assert_eq!(read_value(&[]), ValueRef::Empty);
    // The last member on the wire wins, as in prost.
    let mut two = encode(Value::StringValue("s".into()));
    two.extend(encode(Value::IntValue(9)));
    assert_eq!(read_value(&two), ValueRef::Int(9));
    assert_eq!(read_value(&[0x0a, 0x05, b'x']), ValueRef::Composite);

    let mut out = Vec::new();
    put_double_value(&mut out, -2.25);
    put_bool_value(&mut out, false);
    assert_eq!(read_value(&out), ValueRef::Bool(false));
    assert_eq!(
        AnyValue::decode(&out[..9]).unwrap(),
        AnyValue {
            value: Some(Value::DoubleValue(-2.25))
        }
    );
}

#[test]
fn malformed_requests_are_refused_with_the_walks_diagnosis() {
    let bytes = traces(vec![span("s", vec![string("user.id", "1")])]).encode_to_vec();
    let cut = &bytes[..bytes.len() - 2];
    let error = AttributeRewriter::new()
        .rewrite(Signal::Traces, cut, delete(b"user.id"))
        .unwrap_err();
    assert!(matches!(error, RewriteError::Malformed(_)), "{error}");
    assert!(
        error.to_string().contains("malformed traces request"),
        "{error}"
    );
}

#[test]
fn the_rewriter_is_reusable_after_an_error() {
    let bytes = traces(vec![span("s", vec![string("user.id", "1")])]).encode_to_vec();
    let mut rewriter = AttributeRewriter::new();
    assert!(
        rewriter
            .rewrite(
                Signal::Traces,
                &bytes[..bytes.len() - 1],
                delete(b"user.id")
            )
            .is_err()
    );
    let out = rewriter
        .rewrite(Signal::Traces, &bytes, delete(b"user.id"))
        .unwrap()
        .unwrap();
    assert_eq!(out, traces(vec![span("s", vec![])]).encode_to_vec());
}

fn upsert(key: &'static [u8], value: &'static str) -> impl FnMut(&mut Attributes<'_>) {
    move |attributes| {
        let mut encoded = Vec::new();
        put_string_value(&mut encoded, value.as_bytes());
        match attributes.find(key) {
            Some(i) => attributes.set_value(i, Some(&encoded)),
            None => attributes.push(key, Some(&encoded)),
        }
    }
}

fn with_resource(
    mut request: ExportTraceServiceRequest,
    attributes: Vec<KeyValue>,
) -> ExportTraceServiceRequest {
    request.resource_spans[0].resource = Some(Resource {
        attributes,
        ..Default::default()
    });
    request
}

/// The resource level edits `resource.attributes` and leaves a span attribute with the same key
/// as it was.
#[test]
fn the_resource_level_edits_resource_attributes_only() {
    let request = with_resource(
        traces(vec![span("s", vec![string("env", "span-level")])]),
        vec![string("env", "old"), string("host", "h1")],
    );
    let out = AttributeRewriter::new()
        .rewrite_level(
            Signal::Traces,
            Level::Resource,
            &request.encode_to_vec(),
            upsert(b"env", "prod"),
        )
        .unwrap()
        .expect("changed");
    let expected = with_resource(
        traces(vec![span("s", vec![string("env", "span-level")])]),
        vec![string("env", "prod"), string("host", "h1")],
    );
    assert_eq!(out, expected.encode_to_vec());
}

/// A `resource_spans` without its `resource` field is edited as an empty resource: an insert
/// creates the field, an edit that adds nothing leaves the request as it was.
#[test]
fn an_absent_resource_is_edited_as_an_empty_one() {
    let request = traces(vec![span("s", vec![])]);
    assert!(request.resource_spans[0].resource.is_none());
    let bytes = request.encode_to_vec();
    let out = AttributeRewriter::new()
        .rewrite_level(
            Signal::Traces,
            Level::Resource,
            &bytes,
            upsert(b"env", "prod"),
        )
        .unwrap()
        .expect("changed");
    let decoded = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
    assert_eq!(
        decoded,
        with_resource(traces(vec![span("s", vec![])]), vec![string("env", "prod")])
    );
    let untouched = AttributeRewriter::new()
        .rewrite_level(Signal::Traces, Level::Resource, &bytes, delete(b"env"))
        .unwrap();
    assert_eq!(untouched, None);
}

/// Every resource of a request is edited, each on its own.
#[test]
fn every_resource_of_a_request_is_edited() {
    let mut request = traces(vec![span("a", vec![])]);
    request
        .resource_spans
        .push(request.resource_spans[0].clone());
    request.resource_spans[1].resource = Some(Resource {
        attributes: vec![string("env", "dev")],
        ..Default::default()
    });
    let out = AttributeRewriter::new()
        .rewrite_level(
            Signal::Traces,
            Level::Resource,
            &request.encode_to_vec(),
            upsert(b"env", "prod"),
        )
        .unwrap()
        .expect("changed");
    let decoded = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
    for resource_spans in &decoded.resource_spans {
        let resource = resource_spans.resource.as_ref().expect("a resource");
        assert_eq!(resource.attributes, vec![string("env", "prod")]);
        assert_eq!(resource_spans.scope_spans[0].spans[0].name, "a");
    }
}

/// The scope level edits `scope.attributes`, on metrics and logs too.
#[test]
fn the_scope_level_edits_scope_attributes_of_every_signal() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};

    let scope = |attributes| {
        Some(InstrumentationScope {
            name: "lib".into(),
            attributes,
            ..Default::default()
        })
    };
    let logs = |attributes| ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                scope: scope(attributes),
                log_records: vec![LogRecord {
                    attributes: vec![string("team", "record")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let out = AttributeRewriter::new()
        .rewrite_level(
            Signal::Logs,
            Level::Scope,
            &logs(vec![]).encode_to_vec(),
            upsert(b"team", "core"),
        )
        .unwrap()
        .expect("changed");
    assert_eq!(out, logs(vec![string("team", "core")]).encode_to_vec());

    let metrics = |attributes| ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                scope: scope(attributes),
                metrics: vec![Metric {
                    name: "m".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let out = AttributeRewriter::new()
        .rewrite_level(
            Signal::Metrics,
            Level::Scope,
            &metrics(vec![string("team", "old")]).encode_to_vec(),
            upsert(b"team", "core"),
        )
        .unwrap()
        .expect("changed");
    assert_eq!(out, metrics(vec![string("team", "core")]).encode_to_vec());
}

/// The span event level edits every event's attributes and leaves the span's own alone.
#[test]
fn the_span_event_level_edits_event_attributes_only() {
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    let with_events = |value: &str| {
        let mut s = span("s", vec![string("env", "span-level")]);
        s.events = vec![
            Event {
                name: "e1".into(),
                attributes: vec![string("env", value)],
                ..Default::default()
            },
            Event {
                name: "e2".into(),
                ..Default::default()
            },
        ];
        traces(vec![s])
    };
    let out = AttributeRewriter::new()
        .rewrite_level(
            Signal::Traces,
            Level::SpanEvent,
            &with_events("old").encode_to_vec(),
            upsert(b"env", "prod"),
        )
        .unwrap()
        .expect("changed");
    let mut expected = with_events("prod");
    expected.resource_spans[0].scope_spans[0].spans[0].events[1].attributes =
        vec![string("env", "prod")];
    assert_eq!(out, expected.encode_to_vec());
}
