//! The wire record answers every path exactly as the decoded record does, on generated
//! requests of every signal: the fields read on the wire and those it hands to decoding.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use proptest::prelude::*;
use prost::Message;
use weir_core::batch::Signal;
use weir_core::batch::select::{ItemKind, ItemView, Selector, select};
use weir_ottl::decoded::{DataPointView, LogView, MetricView, SpanEventView, SpanView};
use weir_ottl::{EvalError, Field, Key, Path, Record, Value};

use super::WireRecord;

use crate::testgen;

use Field::*;

const UPPER: &[Field] = &[
    ResourceAttributes,
    ResourceDroppedAttributesCount,
    ScopeName,
    ScopeVersion,
    ScopeAttributes,
    ScopeDroppedAttributesCount,
];
const SPAN: &[Field] = &[
    SpanTraceId,
    SpanTraceIdString,
    SpanSpanId,
    SpanSpanIdString,
    SpanParentSpanId,
    SpanParentSpanIdString,
    SpanTraceState,
    SpanName,
    SpanKind,
    SpanKindString,
    SpanStartTimeUnixNano,
    SpanEndTimeUnixNano,
    SpanStartTime,
    SpanEndTime,
    SpanAttributes,
    SpanDroppedAttributesCount,
    SpanDroppedEventsCount,
    SpanDroppedLinksCount,
    SpanStatusCode,
    SpanStatusMessage,
    SpanFlags,
];
const EVENT: &[Field] = &[
    EventName,
    EventTimeUnixNano,
    EventTime,
    EventAttributes,
    EventDroppedAttributesCount,
    EventIndex,
];
const METRIC: &[Field] = &[
    MetricName,
    MetricDescription,
    MetricUnit,
    MetricType,
    MetricAggregationTemporality,
    MetricIsMonotonic,
    MetricMetadata,
];
const POINT: &[Field] = &[
    DataPointAttributes,
    DataPointStartTimeUnixNano,
    DataPointTimeUnixNano,
    DataPointStartTime,
    DataPointTime,
    DataPointValueDouble,
    DataPointValueInt,
    DataPointFlags,
    DataPointCount,
    DataPointSum,
    DataPointMin,
    DataPointMax,
    DataPointBucketCounts,
    DataPointExplicitBounds,
    DataPointScale,
    DataPointZeroCount,
    DataPointPositiveOffset,
    DataPointPositiveBucketCounts,
    DataPointNegativeOffset,
    DataPointNegativeBucketCounts,
];
const LOG: &[Field] = &[
    LogTimeUnixNano,
    LogObservedTimeUnixNano,
    LogTime,
    LogObservedTime,
    LogSeverityNumber,
    LogSeverityText,
    LogBody,
    LogBodyString,
    LogAttributes,
    LogDroppedAttributesCount,
    LogFlags,
    LogTraceId,
    LogTraceIdString,
    LogSpanId,
    LogSpanIdString,
    LogEventName,
];

/// Every path to try on `fields`: each field bare, and map fields with keys that are present
/// (taken from the record) and absent, nested too.
fn paths(fields: &[Field], keys: &[String]) -> Vec<Path> {
    let mut out = Vec::new();
    for &field in fields {
        out.push(Path::new(field));
        let keyed = matches!(
            field,
            ResourceAttributes
                | ScopeAttributes
                | SpanAttributes
                | EventAttributes
                | DataPointAttributes
                | LogAttributes
                | LogBody
                | SpanTraceState
        );
        if keyed {
            for key in keys.iter().map(String::as_str).chain(["absent", "k"]) {
                out.push(Path::with_keys(field, vec![Key::Str(key.to_string())]));
                out.push(Path::with_keys(
                    field,
                    vec![Key::Str(key.to_string()), Key::Str("inner".into())],
                ));
                out.push(Path::with_keys(
                    field,
                    vec![Key::Str(key.to_string()), Key::Index(0)],
                ));
            }
            out.push(Path::with_keys(field, vec![Key::Index(0)]));
        }
    }
    out
}

/// Compares two answers: equal values, or both errors (NaN compares as NaN).
fn same(wire: &Result<Value<'_>, EvalError>, decoded: &Result<Value<'_>, EvalError>) -> bool {
    match (wire, decoded) {
        (Ok(Value::Double(a)), Ok(Value::Double(b))) => a.to_bits() == b.to_bits(),
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.to_string() == b.to_string(),
        _ => false,
    }
}

/// Checks every path of every record it is shown; collects the first difference.
struct Compare {
    failure: Option<String>,
    checked: usize,
    parent: *const u8,
    index: usize,
}

impl Compare {
    fn check(
        &mut self,
        record: &WireRecord<'_>,
        decoded: &dyn Record,
        fields: &[&[Field]],
        keys: &[String],
    ) {
        for fields in fields {
            for path in paths(fields, keys) {
                let (w, d) = (record.get(&path), decoded.get(&path));
                self.checked += 1;
                if !same(&w, &d) && self.failure.is_none() {
                    self.failure = Some(format!("{path:?}: wire {w:?}, decoded {d:?}"));
                }
            }
        }
    }

    fn next_index(&mut self, parent: &[u8]) -> usize {
        if !std::ptr::eq(self.parent, parent.as_ptr()) {
            self.parent = parent.as_ptr();
            self.index = 0;
        }
        self.index += 1;
        self.index - 1
    }
}

fn keys_of(attributes: &[KeyValue]) -> Vec<String> {
    attributes.iter().map(|kv| kv.key.clone()).take(3).collect()
}

impl Selector for Compare {
    fn keep(&mut self, v: &ItemView<'_>) -> bool {
        let resource = Resource::decode(v.resource).unwrap();
        let scope = InstrumentationScope::decode(v.scope).unwrap();
        let (resource, scope) = (&resource, &scope);
        let mut keys = keys_of(&resource.attributes);
        keys.extend(keys_of(&scope.attributes));
        match v.kind {
            ItemKind::Span => {
                let span = Span::decode(v.item).unwrap();
                keys.extend(keys_of(&span.attributes));
                let record = WireRecord {
                    view: *v,
                    event: None,
                    index: 0,
                };
                let decoded = SpanView {
                    resource,
                    scope,
                    span: &span,
                };
                self.check(&record, &decoded, &[UPPER, SPAN], &keys);
            }
            ItemKind::Log => {
                let log = LogRecord::decode(v.item).unwrap();
                keys.extend(keys_of(&log.attributes));
                let record = WireRecord {
                    view: *v,
                    event: None,
                    index: 0,
                };
                let decoded = LogView {
                    resource,
                    scope,
                    log: &log,
                };
                self.check(&record, &decoded, &[UPPER, LOG], &keys);
            }
            ItemKind::Metric => {}
            _ => {
                let metric = Metric::decode(v.metric).unwrap();
                let index = self.next_index(v.metric);
                let record = WireRecord {
                    view: *v,
                    event: None,
                    index,
                };
                let decoded = DataPointView {
                    resource,
                    scope,
                    metric: &metric,
                    index,
                };
                let point_keys = decoded
                    .get(&Path::new(DataPointAttributes))
                    .ok()
                    .and_then(|m| match m {
                        Value::Map(m) => Some(keys_of(&m)),
                        _ => None,
                    })
                    .unwrap_or_default();
                keys.extend(point_keys);
                self.check(&record, &decoded, &[UPPER, METRIC, POINT], &keys);
            }
        }
        true
    }

    fn keep_metric(&mut self, v: &ItemView<'_>) -> bool {
        let resource = Resource::decode(v.resource).unwrap();
        let scope = InstrumentationScope::decode(v.scope).unwrap();
        let metric = Metric::decode(v.item).unwrap();
        let record = WireRecord {
            view: *v,
            event: None,
            index: 0,
        };
        let decoded = MetricView {
            resource: &resource,
            scope: &scope,
            metric: &metric,
        };
        self.check(
            &record,
            &decoded,
            &[UPPER, METRIC],
            &keys_of(&resource.attributes),
        );
        true
    }

    fn selects_metrics(&self) -> bool {
        true
    }

    fn keep_event(&mut self, v: &ItemView<'_>, event: &[u8]) -> bool {
        let resource = Resource::decode(v.resource).unwrap();
        let scope = InstrumentationScope::decode(v.scope).unwrap();
        let span = Span::decode(v.item).unwrap();
        let index = self.next_index(v.item);
        let record = WireRecord {
            view: *v,
            event: Some(event),
            index,
        };
        let decoded = SpanEventView {
            resource: &resource,
            scope: &scope,
            span: &span,
            index,
        };
        let keys = span
            .events
            .get(index)
            .map(|e| keys_of(&e.attributes))
            .unwrap_or_default();
        self.check(&record, &decoded, &[UPPER, SPAN, EVENT], &keys);
        true
    }

    fn selects_events(&self) -> bool {
        true
    }
}

fn compare(signal: Signal, bytes: &[u8]) -> Result<usize, TestCaseError> {
    let mut compare = Compare {
        failure: None,
        checked: 0,
        parent: std::ptr::null(),
        index: 0,
    };
    select(signal, bytes, &mut compare).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let Some(failure) = compare.failure {
        return Err(TestCaseError::fail(failure));
    }
    Ok(compare.checked)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_wire_record_answers_every_span_and_event_path_as_the_decoded_one(
        request in testgen::traces_request(testgen::Size::SMALL)
    ) {
        let bytes = request.encode_to_vec();
        let checked = compare(Signal::Traces, &bytes)?;
        let items = weir_core::batch::wire::walk(Signal::Traces, &bytes).unwrap().items;
        prop_assert!(items == 0 || checked > items, "{checked} paths checked on {items} items");
    }

    #[test]
    fn the_wire_record_answers_every_metric_and_point_path_as_the_decoded_one(
        request in testgen::metrics_request(testgen::Size::SMALL)
    ) {
        let bytes = request.encode_to_vec();
        let checked = compare(Signal::Metrics, &bytes)?;
        let items = weir_core::batch::wire::walk(Signal::Metrics, &bytes).unwrap().items;
        prop_assert!(items == 0 || checked > items, "{checked} paths checked on {items} items");
    }

    #[test]
    fn the_wire_record_answers_every_log_path_as_the_decoded_one(
        request in testgen::logs_request(testgen::Size::SMALL)
    ) {
        let bytes = request.encode_to_vec();
        let checked = compare(Signal::Logs, &bytes)?;
        let items = weir_core::batch::wire::walk(Signal::Logs, &bytes).unwrap().items;
        prop_assert!(items == 0 || checked > items, "{checked} paths checked on {items} items");
    }
}

/// Every span of `request` read by [`super::span_fields`] and decoded.
struct SpanFieldsCheck(Vec<String>);

impl Selector for SpanFieldsCheck {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        let got = super::span_fields(item.item);
        let span = Span::decode(item.item).expect("a span");
        let want = super::SpanFields {
            name: &span.name,
            kind: span.kind,
            start: span.start_time_unix_nano,
            end: span.end_time_unix_nano,
            trace_id: &span.trace_id,
            span_id: &span.span_id,
            status_code: span.status.as_ref().map_or(0, |s| s.code),
        };
        if got != want {
            self.0.push(format!("{got:?} != {want:?}"));
        }
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn span_fields_are_those_of_the_decoded_span(
        request in testgen::traces_request(testgen::Size::SMALL)
    ) {
        let bytes = request.encode_to_vec();
        let mut check = SpanFieldsCheck(Vec::new());
        select(Signal::Traces, &bytes, &mut check).expect("selects");
        prop_assert!(check.0.is_empty(), "{:?}", check.0);
    }
}

/// Every span of `request` read by [`super::span_fields_and_attributes`], with keys present,
/// repeated and absent, against the decoded span and [`super::find_attribute`].
struct SpanAttributesCheck(Vec<String>);

impl Selector for SpanAttributesCheck {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        let span = Span::decode(item.item).expect("a span");
        let mut keys: Vec<String> = span.attributes.iter().map(|kv| kv.key.clone()).collect();
        keys.extend(keys.first().cloned());
        keys.push("absent".into());
        let mut found = vec![None; keys.len()];
        let got = super::span_fields_and_attributes(item.item, &keys, &mut found);
        if got != super::span_fields(item.item) {
            self.0.push(format!("{got:?} differs from span_fields"));
        }
        for (key, found) in keys.iter().zip(&found) {
            let on_wire = super::find_attribute(item.item, 9, key.as_bytes())
                .map(|kv| super::entry(kv).1.unwrap_or(&[]));
            let decoded = span
                .attributes
                .iter()
                .find(|kv| &kv.key == key)
                .map(|kv| kv.value.clone().unwrap_or_default());
            let read = found.map(|v| AnyValue::decode(v).expect("an AnyValue"));
            if *found != on_wire || read != decoded {
                self.0.push(format!("{key}: {read:?} != {decoded:?}"));
            }
        }
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn span_attributes_found_in_one_walk_are_those_of_the_decoded_span(
        request in testgen::traces_request(testgen::Size::SMALL)
    ) {
        let bytes = request.encode_to_vec();
        let mut check = SpanAttributesCheck(Vec::new());
        select(Signal::Traces, &bytes, &mut check).expect("selects");
        prop_assert!(check.0.is_empty(), "{:?}", check.0);
    }
}
