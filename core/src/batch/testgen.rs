//! proptest strategies for realistic OTLP export requests, and the flattening used to compare
//! requests whose resources were regrouped by splitting.
//!
//! The generators cover every field of the schema the wire walker knows: resources with
//! attributes of every `AnyValue` kind (nested key-value lists and arrays included) and entity
//! references, scopes, spans with events, links, status and flags, metrics of all five data kinds
//! with exemplars, log records with bodies. Sizes are small so debug-build tests stay fast;
//! benchmarks can scale them with the `size` parameters. [`wire_soup`] makes protobuf-shaped
//! bytes that are almost, but not quite, valid, for comparing the walk with prost on bad input.
//!
//! This module depends only on `proptest` and `opentelemetry_proto`, so benchmarks and
//! integration tests can include it with
//! `#[allow(dead_code)] #[path = "../src/batch/testgen.rs"] mod testgen;`.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// How many of each repeated thing a generated request holds at most.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Resources per request.
    pub resources: usize,
    /// Scopes per resource.
    pub scopes: usize,
    /// Spans, metrics or log records per scope.
    pub items: usize,
    /// Data points per metric.
    pub points: usize,
    /// Attributes per attribute list.
    pub attributes: usize,
}

impl Size {
    /// Small enough for many cases in a debug build.
    pub const SMALL: Size = Size {
        resources: 3,
        scopes: 3,
        items: 4,
        points: 4,
        attributes: 3,
    };
}

/// Short names, sometimes with multi-byte characters so UTF-8 checks see them.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z._]{0,10}", 1 => "\\PC{0,5}"]
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => Just(Vec::new()), 4 => vec(any::<u8>(), len)]
}

/// Finite doubles: decoded requests are compared with `==`, which NaN would break.
fn double() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), -1.0e9..1.0e9f64]
}

/// Any `AnyValue`, nesting arrays and key-value lists up to three levels.
pub fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        text().prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        double().prop_map(Value::DoubleValue),
        vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
        (0..100i32).prop_map(Value::StringValueStrindex),
    ];
    let leaf = option::weighted(0.9, leaf).prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone(),
            vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values })),
            }),
            vec(("[a-z]{1,6}", option::of(inner)), 0..3).prop_map(|pairs| AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: pairs
                        .into_iter()
                        .map(|(key, value)| KeyValue {
                            key,
                            value,
                            key_strindex: 0,
                        })
                        .collect(),
                })),
            }),
        ]
    })
}

pub fn key_value() -> impl Strategy<Value = KeyValue> {
    (
        "[a-z.]{1,10}",
        option::weighted(0.9, any_value()),
        prop_oneof![4 => Just(0), 1 => 1..50i32],
    )
        .prop_map(|(key, value, key_strindex)| KeyValue {
            key,
            value,
            key_strindex,
        })
}

pub fn attributes(size: Size) -> impl Strategy<Value = Vec<KeyValue>> {
    vec(key_value(), 0..=size.attributes)
}

fn dropped() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 1 => any::<u32>()]
}

pub fn entity_ref() -> impl Strategy<Value = EntityRef> {
    (text(), text(), vec(text(), 0..3), vec(text(), 0..3)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef {
            schema_url,
            r#type,
            id_keys,
            description_keys,
        },
    )
}

pub fn resource(size: Size) -> impl Strategy<Value = Resource> {
    (attributes(size), dropped(), vec(entity_ref(), 0..2)).prop_map(
        |(attributes, dropped_attributes_count, entity_refs)| Resource {
            attributes,
            dropped_attributes_count,
            entity_refs,
        },
    )
}

pub fn scope(size: Size) -> impl Strategy<Value = InstrumentationScope> {
    (text(), text(), attributes(size), dropped()).prop_map(
        |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
            name,
            version,
            attributes,
            dropped_attributes_count,
        },
    )
}

// ---- traces -------------------------------------------------------------------------------

pub fn event(size: Size) -> impl Strategy<Value = Event> {
    (any::<u64>(), text(), attributes(size), dropped()).prop_map(
        |(time_unix_nano, name, attributes, dropped_attributes_count)| Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count,
        },
    )
}

pub fn link(size: Size) -> impl Strategy<Value = Link> {
    (
        id(16),
        id(8),
        text(),
        attributes(size),
        dropped(),
        any::<u32>(),
    )
        .prop_map(
            |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| Link {
                trace_id,
                span_id,
                trace_state,
                attributes,
                dropped_attributes_count,
                flags,
            },
        )
}

pub fn span(size: Size) -> impl Strategy<Value = Span> {
    let ids = (id(16), id(8), id(8), text(), any::<u32>());
    let body = (
        text(),
        0..6i32,
        any::<u64>(),
        any::<u64>(),
        attributes(size),
        dropped(),
    );
    let children = (
        vec(event(size), 0..3),
        dropped(),
        vec(link(size), 0..2),
        dropped(),
        option::of((text(), 0..3i32).prop_map(|(message, code)| Status { message, code })),
    );
    (ids, body, children).prop_map(
        |(
            (trace_id, span_id, parent_span_id, trace_state, flags),
            (
                name,
                kind,
                start_time_unix_nano,
                end_time_unix_nano,
                attributes,
                dropped_attributes_count,
            ),
            (events, dropped_events_count, links, dropped_links_count, status),
        )| Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id,
            flags,
            name,
            kind,
            start_time_unix_nano,
            end_time_unix_nano,
            attributes,
            dropped_attributes_count,
            events,
            dropped_events_count,
            links,
            dropped_links_count,
            status,
        },
    )
}

pub fn traces_request(size: Size) -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans = (
        option::of(scope(size)),
        vec(span(size), 0..=size.items),
        text(),
    )
        .prop_map(|(scope, spans, schema_url)| ScopeSpans {
            scope,
            spans,
            schema_url,
        });
    let resource_spans = (
        option::of(resource(size)),
        vec(scope_spans, 0..=size.scopes),
        text(),
    )
        .prop_map(|(resource, scope_spans, schema_url)| ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        });
    vec(resource_spans, 0..=size.resources)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

// ---- metrics ------------------------------------------------------------------------------

pub fn exemplar(size: Size) -> impl Strategy<Value = Exemplar> {
    let value = option::of(prop_oneof![
        double().prop_map(exemplar::Value::AsDouble),
        any::<i64>().prop_map(exemplar::Value::AsInt),
    ]);
    (attributes(size), any::<u64>(), id(8), id(16), value).prop_map(
        |(filtered_attributes, time_unix_nano, span_id, trace_id, value)| Exemplar {
            filtered_attributes,
            time_unix_nano,
            span_id,
            trace_id,
            value,
        },
    )
}

fn times() -> impl Strategy<Value = (u64, u64)> {
    (any::<u64>(), any::<u64>())
}

pub fn number_point(size: Size) -> impl Strategy<Value = NumberDataPoint> {
    let value = option::of(prop_oneof![
        double().prop_map(number_data_point::Value::AsDouble),
        any::<i64>().prop_map(number_data_point::Value::AsInt),
    ]);
    (
        attributes(size),
        times(),
        value,
        vec(exemplar(size), 0..2),
        0..2u32,
    )
        .prop_map(
            |(attributes, (start_time_unix_nano, time_unix_nano), value, exemplars, flags)| {
                NumberDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    exemplars,
                    flags,
                    value,
                }
            },
        )
}

pub fn histogram_point(size: Size) -> impl Strategy<Value = HistogramDataPoint> {
    let stats = (
        any::<u64>(),
        option::of(double()),
        option::of(double()),
        option::of(double()),
    );
    let buckets = (vec(any::<u64>(), 0..5), vec(double(), 0..4));
    (
        attributes(size),
        times(),
        stats,
        buckets,
        vec(exemplar(size), 0..2),
        0..2u32,
    )
        .prop_map(
            |(
                attributes,
                (start_time_unix_nano, time_unix_nano),
                (count, sum, min, max),
                (bucket_counts, explicit_bounds),
                exemplars,
                flags,
            )| {
                HistogramDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count,
                    sum,
                    bucket_counts,
                    explicit_bounds,
                    exemplars,
                    flags,
                    min,
                    max,
                }
            },
        )
}

fn buckets() -> impl Strategy<Value = Buckets> {
    (any::<i32>(), vec(any::<u64>(), 0..5)).prop_map(|(offset, bucket_counts)| Buckets {
        offset,
        bucket_counts,
    })
}

pub fn exponential_point(size: Size) -> impl Strategy<Value = ExponentialHistogramDataPoint> {
    let stats = (
        any::<u64>(),
        option::of(double()),
        option::of(double()),
        option::of(double()),
    );
    let shape = (
        any::<i32>(),
        any::<u64>(),
        option::of(buckets()),
        option::of(buckets()),
        double(),
    );
    (
        attributes(size),
        times(),
        stats,
        shape,
        vec(exemplar(size), 0..2),
        0..2u32,
    )
        .prop_map(
            |(
                attributes,
                (start_time_unix_nano, time_unix_nano),
                (count, sum, min, max),
                (scale, zero_count, positive, negative, zero_threshold),
                exemplars,
                flags,
            )| ExponentialHistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                scale,
                zero_count,
                positive,
                negative,
                flags,
                exemplars,
                min,
                max,
                zero_threshold,
            },
        )
}

pub fn summary_point(size: Size) -> impl Strategy<Value = SummaryDataPoint> {
    let quantiles = vec(
        (double(), double()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value }),
        0..3,
    );
    (
        attributes(size),
        times(),
        any::<u64>(),
        double(),
        quantiles,
        0..2u32,
    )
        .prop_map(
            |(
                attributes,
                (start_time_unix_nano, time_unix_nano),
                count,
                sum,
                quantile_values,
                flags,
            )| SummaryDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                quantile_values,
                flags,
            },
        )
}

/// Metric data of any of the five kinds, or none.
pub fn metric_data(size: Size) -> impl Strategy<Value = Option<metric::Data>> {
    let n = 0..=size.points;
    option::weighted(
        0.95,
        prop_oneof![
            vec(number_point(size), n.clone())
                .prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
            (vec(number_point(size), n.clone()), 0..3i32, any::<bool>()).prop_map(
                |(data_points, aggregation_temporality, is_monotonic)| metric::Data::Sum(Sum {
                    data_points,
                    aggregation_temporality,
                    is_monotonic,
                })
            ),
            (vec(histogram_point(size), n.clone()), 0..3i32).prop_map(
                |(data_points, aggregation_temporality)| {
                    metric::Data::Histogram(Histogram {
                        data_points,
                        aggregation_temporality,
                    })
                }
            ),
            (vec(exponential_point(size), n.clone()), 0..3i32).prop_map(
                |(data_points, aggregation_temporality)| {
                    metric::Data::ExponentialHistogram(ExponentialHistogram {
                        data_points,
                        aggregation_temporality,
                    })
                }
            ),
            vec(summary_point(size), n)
                .prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
        ],
    )
}

pub fn metric(size: Size) -> impl Strategy<Value = Metric> {
    (text(), text(), text(), attributes(size), metric_data(size)).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data,
        },
    )
}

pub fn metrics_request(size: Size) -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics = (
        option::of(scope(size)),
        vec(metric(size), 0..=size.items),
        text(),
    )
        .prop_map(|(scope, metrics, schema_url)| ScopeMetrics {
            scope,
            metrics,
            schema_url,
        });
    let resource_metrics = (
        option::of(resource(size)),
        vec(scope_metrics, 0..=size.scopes),
        text(),
    )
        .prop_map(|(resource, scope_metrics, schema_url)| ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
        });
    vec(resource_metrics, 0..=size.resources)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

// ---- logs ---------------------------------------------------------------------------------

pub fn log_record(size: Size) -> impl Strategy<Value = LogRecord> {
    let head = (
        any::<u64>(),
        any::<u64>(),
        0..25i32,
        text(),
        option::weighted(0.8, any_value()),
    );
    let tail = (
        attributes(size),
        dropped(),
        any::<u32>(),
        id(16),
        id(8),
        text(),
    );
    (head, tail).prop_map(
        |(
            (time_unix_nano, observed_time_unix_nano, severity_number, severity_text, body),
            (attributes, dropped_attributes_count, flags, trace_id, span_id, event_name),
        )| LogRecord {
            time_unix_nano,
            observed_time_unix_nano,
            severity_number,
            severity_text,
            body,
            attributes,
            dropped_attributes_count,
            flags,
            trace_id,
            span_id,
            event_name,
        },
    )
}

pub fn logs_request(size: Size) -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope_logs = (
        option::of(scope(size)),
        vec(log_record(size), 0..=size.items),
        text(),
    )
        .prop_map(|(scope, log_records, schema_url)| ScopeLogs {
            scope,
            log_records,
            schema_url,
        });
    let resource_logs = (
        option::of(resource(size)),
        vec(scope_logs, 0..=size.scopes),
        text(),
    )
        .prop_map(|(resource, scope_logs, schema_url)| ResourceLogs {
            resource,
            scope_logs,
            schema_url,
        });
    vec(resource_logs, 0..=size.resources)
        .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

// ---- comparing regrouped requests ---------------------------------------------------------

/// One entry of a flattened request: an item with the resource and scope it belongs to (each
/// stripped of its children), or a resource or scope that holds no items, so that empty
/// containers are accounted for too. Two requests that differ only in how items are grouped
/// into `Resource*`/`Scope*` entries flatten to the same list.
#[derive(Clone, Debug, PartialEq)]
pub enum Flat<R, S, I> {
    /// An item and where it lives.
    Item(R, S, I),
    /// A scope without items.
    EmptyScope(R, S),
    /// A resource without scopes.
    EmptyResource(R),
}

/// Flattens a trace request.
pub fn flatten_traces(
    request: &ExportTraceServiceRequest,
) -> Vec<Flat<ResourceSpans, ScopeSpans, Span>> {
    let mut out = Vec::new();
    for rs in &request.resource_spans {
        let r = ResourceSpans {
            scope_spans: Vec::new(),
            ..rs.clone()
        };
        if rs.scope_spans.is_empty() {
            out.push(Flat::EmptyResource(r.clone()));
        }
        for ss in &rs.scope_spans {
            let s = ScopeSpans {
                spans: Vec::new(),
                ..ss.clone()
            };
            if ss.spans.is_empty() {
                out.push(Flat::EmptyScope(r.clone(), s.clone()));
            }
            for span in &ss.spans {
                out.push(Flat::Item(r.clone(), s.clone(), span.clone()));
            }
        }
    }
    out
}

/// A data point of any kind, for flattened metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum Point {
    /// Gauge or sum point.
    Number(NumberDataPoint),
    /// Histogram point.
    Histogram(HistogramDataPoint),
    /// Exponential histogram point.
    Exponential(ExponentialHistogramDataPoint),
    /// Summary point.
    Summary(SummaryDataPoint),
}

/// A metric's points, and the metric with its points removed.
fn take_points(metric: &Metric) -> (Metric, Vec<Point>) {
    let mut bare = metric.clone();
    let points = match &mut bare.data {
        Some(metric::Data::Gauge(g)) => std::mem::take(&mut g.data_points)
            .into_iter()
            .map(Point::Number)
            .collect(),
        Some(metric::Data::Sum(s)) => std::mem::take(&mut s.data_points)
            .into_iter()
            .map(Point::Number)
            .collect(),
        Some(metric::Data::Histogram(h)) => std::mem::take(&mut h.data_points)
            .into_iter()
            .map(Point::Histogram)
            .collect(),
        Some(metric::Data::ExponentialHistogram(h)) => std::mem::take(&mut h.data_points)
            .into_iter()
            .map(Point::Exponential)
            .collect(),
        Some(metric::Data::Summary(s)) => std::mem::take(&mut s.data_points)
            .into_iter()
            .map(Point::Summary)
            .collect(),
        None => Vec::new(),
    };
    (bare, points)
}

/// Flattens a metrics request down to data points; a metric without points counts as an
/// item of its own (it is kept whole by splitting).
pub fn flatten_metrics(
    request: &ExportMetricsServiceRequest,
) -> Vec<Flat<ResourceMetrics, ScopeMetrics, (Metric, Option<Point>)>> {
    let mut out = Vec::new();
    for rm in &request.resource_metrics {
        let r = ResourceMetrics {
            scope_metrics: Vec::new(),
            ..rm.clone()
        };
        if rm.scope_metrics.is_empty() {
            out.push(Flat::EmptyResource(r.clone()));
        }
        for sm in &rm.scope_metrics {
            let s = ScopeMetrics {
                metrics: Vec::new(),
                ..sm.clone()
            };
            if sm.metrics.is_empty() {
                out.push(Flat::EmptyScope(r.clone(), s.clone()));
            }
            for m in &sm.metrics {
                let (bare, points) = take_points(m);
                if points.is_empty() {
                    out.push(Flat::Item(r.clone(), s.clone(), (bare.clone(), None)));
                }
                for p in points {
                    out.push(Flat::Item(r.clone(), s.clone(), (bare.clone(), Some(p))));
                }
            }
        }
    }
    out
}

/// Flattens a logs request.
pub fn flatten_logs(
    request: &ExportLogsServiceRequest,
) -> Vec<Flat<ResourceLogs, ScopeLogs, LogRecord>> {
    let mut out = Vec::new();
    for rl in &request.resource_logs {
        let r = ResourceLogs {
            scope_logs: Vec::new(),
            ..rl.clone()
        };
        if rl.scope_logs.is_empty() {
            out.push(Flat::EmptyResource(r.clone()));
        }
        for sl in &rl.scope_logs {
            let s = ScopeLogs {
                log_records: Vec::new(),
                ..sl.clone()
            };
            if sl.log_records.is_empty() {
                out.push(Flat::EmptyScope(r.clone(), s.clone()));
            }
            for log in &sl.log_records {
                out.push(Flat::Item(r.clone(), s.clone(), log.clone()));
            }
        }
    }
    out
}

// ---- item attributes ----------------------------------------------------------------------

/// The attribute lists of every span, in order: what an attribute processor edits.
pub fn span_attributes(request: &mut ExportTraceServiceRequest) -> Vec<&mut Vec<KeyValue>> {
    request
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans)
        .map(|span| &mut span.attributes)
        .collect()
}

/// The attribute lists of every log record, in order.
pub fn log_attributes(request: &mut ExportLogsServiceRequest) -> Vec<&mut Vec<KeyValue>> {
    request
        .resource_logs
        .iter_mut()
        .flat_map(|rl| &mut rl.scope_logs)
        .flat_map(|sl| &mut sl.log_records)
        .map(|log| &mut log.attributes)
        .collect()
}

/// The attribute lists of every data point of every kind, in order (not the exemplars').
pub fn point_attributes(request: &mut ExportMetricsServiceRequest) -> Vec<&mut Vec<KeyValue>> {
    let mut out = Vec::new();
    let metrics = request
        .resource_metrics
        .iter_mut()
        .flat_map(|rm| &mut rm.scope_metrics)
        .flat_map(|sm| &mut sm.metrics);
    for metric in metrics {
        match &mut metric.data {
            Some(metric::Data::Gauge(g)) => {
                out.extend(g.data_points.iter_mut().map(|p| &mut p.attributes))
            }
            Some(metric::Data::Sum(s)) => {
                out.extend(s.data_points.iter_mut().map(|p| &mut p.attributes))
            }
            Some(metric::Data::Histogram(h)) => {
                out.extend(h.data_points.iter_mut().map(|p| &mut p.attributes))
            }
            Some(metric::Data::ExponentialHistogram(h)) => {
                out.extend(h.data_points.iter_mut().map(|p| &mut p.attributes))
            }
            Some(metric::Data::Summary(s)) => {
                out.extend(s.data_points.iter_mut().map(|p| &mut p.attributes))
            }
            None => {}
        }
    }
    out
}

// ---- malformed input ----------------------------------------------------------------------

fn soup_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn soup_key(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    soup_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

/// Field numbers that mostly hit known fields (1..=16), sometimes 0 or unknown ones.
fn soup_number() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![12 => 1..17u32, 1 => Just(0u32), 2 => 17..2000u32, 1 => (1u32 << 28)..(1u32 << 29)]
}

/// One field with any wire type (6 and 7 included) and a payload that may or may not suit it:
/// varints of every length (overlong ones too), fixed values that may be short, lengths that
/// may lie, stray end-group keys.
fn soup_leaf() -> impl Strategy<Value = Vec<u8>> + Clone {
    (
        soup_number(),
        0..8u8,
        vec(any::<u8>(), 0..10),
        any::<u64>(),
        0..4u8,
    )
        .prop_map(|(number, wire_type, raw, value, shape)| {
            let mut out = Vec::new();
            soup_key(&mut out, number, wire_type);
            match (wire_type, shape) {
                (0, 0) => out.extend(
                    std::iter::repeat_n(0xffu8, 9).chain([raw.first().copied().unwrap_or(2)]),
                ),
                (0, _) => soup_varint(&mut out, value >> (value % 64)),
                (1, _) => {
                    out.extend(
                        raw.iter()
                            .copied()
                            .cycle()
                            .take(if shape == 0 { 5 } else { 8 }),
                    )
                }
                (5, _) => {
                    out.extend(
                        raw.iter()
                            .copied()
                            .cycle()
                            .take(if shape == 0 { 3 } else { 4 }),
                    )
                }
                (2, 0) => {
                    soup_varint(&mut out, value % 64);
                    out.extend(&raw);
                }
                (2, _) => {
                    soup_varint(&mut out, raw.len() as u64);
                    out.extend(&raw);
                }
                (3, _) => {
                    out.extend(&raw[..raw.len().min(usize::from(shape))]);
                    soup_key(&mut out, if shape == 0 { number ^ 1 } else { number }, 4);
                }
                _ => {}
            }
            out
        })
}

/// Protobuf-shaped bytes that are usually almost, but not quite, a valid message of any of
/// the OTLP types: fields with arbitrary numbers and wire types, nested length-delimited
/// fields and groups holding more of the same. For comparing the walk with prost on inputs
/// that get past the first byte.
pub fn wire_soup() -> impl Strategy<Value = Vec<u8>> {
    let fields = vec(soup_leaf(), 0..5).prop_map(|f| f.concat());
    fields.prop_recursive(5, 48, 5, |inner| {
        let nested = (soup_number(), inner.clone()).prop_map(|(number, content)| {
            let mut out = Vec::new();
            soup_key(&mut out, number, 2);
            soup_varint(&mut out, content.len() as u64);
            out.extend(content);
            out
        });
        let group = (soup_number(), inner).prop_map(|(number, content)| {
            let mut out = Vec::new();
            soup_key(&mut out, number, 3);
            out.extend(content);
            soup_key(&mut out, number, 4);
            out
        });
        vec(prop_oneof![2 => soup_leaf(), 4 => nested, 1 => group], 0..5).prop_map(|f| f.concat())
    })
}
