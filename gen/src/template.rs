//! Request templates: one realistic export request per (signal, batch size, run), encoded once
//! with prost, then re-stamped in place for every request the generator sends.
//!
//! Building a request from structs costs far more than sending it; patching costs a few stores
//! per item. [`Template::build`] encodes the request, finds every item's id and timestamp fields
//! with the [`scan`](crate::scan) (so the offsets come from the real encoding, not from
//! arithmetic that could drift from prost's), and [`Template::render`] writes new ids and times
//! at those offsets. Every patched field has a fixed width, so no length prefix ever changes.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message;
use weir_core::batch::Signal;

use crate::ids::{self, RUN_KEY, SEQ_KEY, SEQ_VARINT_LEN};
use crate::scan::{self, ItemSlots, ScanError};

/// Time every template timestamp is relative to; rendering moves it to "now".
const BASE_TIME_NS: u64 = 1_700_000_000_000_000_000;
/// Resources per request at most (fewer when there are fewer items).
const RESOURCES: usize = 2;
/// Instrumentation scopes per resource at most.
const SCOPES: usize = 3;
/// Data points per metric at most.
const POINTS_PER_METRIC: usize = 5;

/// Why a template could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A request needs at least one item.
    #[error("a request needs at least one item")]
    Empty,
    /// The encoded template could not be scanned (a bug in the builder).
    #[error("template does not scan: {0}")]
    Scan(#[from] ScanError),
    /// An item lacks a slot the generator must patch (a bug in the builder).
    #[error("template item {item} has no fixed-width {what} slot")]
    Layout {
        /// Index of the item.
        item: usize,
        /// The slot.
        what: &'static str,
    },
}

/// Where one item is patched.
#[derive(Clone, Debug)]
struct ItemPatch {
    trace_id: Option<Range<usize>>,
    span_id: Option<Range<usize>>,
    seq: Option<Range<usize>>,
    /// Each timestamp's slot and how long before "now" it lies.
    times: [Option<(Range<usize>, u64)>; 2],
}

/// An encoded request and the places to stamp ids and times into.
#[derive(Clone, Debug)]
pub struct Template {
    signal: Signal,
    /// The request as last rendered, shared with the request sent from it.
    bytes: Bytes,
    items: Vec<ItemPatch>,
    /// `(batch, spans)`: spans of `spans` consecutive `batch`-span requests share trace ids.
    traces: (u64, u64),
}

impl Template {
    /// Encodes a request of `items` items of `signal`, with run id `run` where it is a constant
    /// attribute, and locates its patch slots.
    pub fn build(signal: Signal, items: usize, run: u64) -> Result<Template, TemplateError> {
        if items == 0 {
            return Err(TemplateError::Empty);
        }
        let bytes = match signal {
            Signal::Traces => traces(items, run).encode_to_vec(),
            Signal::Logs => logs(items, run).encode_to_vec(),
            Signal::Metrics => metrics(items, run).encode_to_vec(),
        };
        let mut found = Vec::with_capacity(items);
        scan::scan(signal, &bytes, |slots| found.push(slots))?;
        let items = found
            .into_iter()
            .enumerate()
            .map(|(item, slots)| item_patch(signal, &bytes, item, slots))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Template {
            signal,
            bytes: Bytes::from(bytes),
            items,
            traces: (1, 1),
        })
    }

    /// Makes each trace `spans` spans long, one span in each of `spans` consecutive requests of
    /// `batch` spans ([`ids::trace_seq`]).
    pub fn with_trace_spans(mut self, batch: usize, spans: usize) -> Template {
        self.traces = (batch as u64, spans as u64);
        self
    }

    /// The signal of the request.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Items in the request.
    pub fn items(&self) -> usize {
        self.items.len()
    }

    /// The encoded request as last rendered.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Stamps item `i` with sequence number `seq_of(i)` of run `run` and moves every timestamp
    /// so the newest is `now_ns`; returns the request.
    ///
    /// The stamps go into the previous rendering's buffer when nothing holds it any more (a
    /// worker's last request has been answered), so a request costs no allocation and no copy;
    /// a rendering still held elsewhere is copied first and stays as it was.
    pub fn render(&mut self, run: u64, seq_of: impl Fn(usize) -> u64, now_ns: u64) -> Bytes {
        let mut buf = match std::mem::take(&mut self.bytes).try_into_mut() {
            Ok(unique) => unique,
            Err(shared) => BytesMut::from(&shared[..]),
        };
        self.stamp(&mut buf, run, seq_of, now_ns);
        self.bytes = buf.freeze();
        self.bytes.clone()
    }

    fn stamp(&self, buf: &mut [u8], run: u64, seq_of: impl Fn(usize) -> u64, now_ns: u64) {
        for (i, item) in self.items.iter().enumerate() {
            let seq = seq_of(i);
            // The slots were checked for width when the template was built, so the patches
            // cannot fail; their results only guard against a builder bug.
            if let Some(at) = &item.trace_id {
                let (batch, spans) = self.traces;
                ids::patch(
                    buf,
                    at,
                    &ids::trace_id(run, ids::trace_seq(seq, batch, spans)),
                );
            }
            if let Some(at) = &item.span_id {
                ids::patch(buf, at, &ids::span_id(seq));
            }
            if let Some(at) = &item.seq {
                let mut varint = [0u8; SEQ_VARINT_LEN];
                ids::write_wide_varint(&mut varint, seq);
                ids::patch(buf, at, &varint);
            }
            for (at, before) in item.times.iter().flatten() {
                ids::patch(buf, at, &now_ns.saturating_sub(*before).to_le_bytes());
            }
        }
    }
}

fn item_patch(
    signal: Signal,
    bytes: &[u8],
    item: usize,
    slots: ItemSlots,
) -> Result<ItemPatch, TemplateError> {
    let fixed = |slot: Option<Range<usize>>, width: usize, what| {
        slot.filter(|r| r.len() == width)
            .ok_or(TemplateError::Layout { item, what })
    };
    let (trace_id, span_id) = match signal {
        Signal::Traces | Signal::Logs => (
            Some(fixed(slots.trace_id, 16, "trace_id")?),
            Some(fixed(slots.span_id, 8, "span_id")?),
        ),
        Signal::Metrics => (None, None),
    };
    let seq = match signal {
        Signal::Traces => None,
        Signal::Logs | Signal::Metrics => Some(fixed(
            slots.seq.map(|s| s.at),
            SEQ_VARINT_LEN,
            "weir.gen.seq",
        )?),
    };
    let mut times = [None, None];
    for (slot, time) in times.iter_mut().zip(slots.times) {
        let at = fixed(time, 8, "timestamp")?;
        let value = bytes
            .get(at.clone())
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or(TemplateError::Layout {
                item,
                what: "timestamp",
            })?;
        *slot = Some((at, BASE_TIME_NS.saturating_sub(value)));
    }
    Ok(ItemPatch {
        trace_id,
        span_id,
        seq,
        times,
    })
}

/// Sizes of `parts` nearly equal, non-empty chunks of `total` (fewer when `total` is small).
fn split(total: usize, parts: usize) -> Vec<usize> {
    let parts = parts.clamp(1, total.max(1));
    (0..parts)
        .map(|p| total / parts + usize::from(p < total % parts))
        .filter(|n| *n > 0)
        .collect()
}

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

fn int(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// The seq attribute's placeholder: negative ints always take ten varint bytes.
fn seq_placeholder() -> KeyValue {
    int(SEQ_KEY, -1)
}

fn run_attribute(run: u64) -> KeyValue {
    int(RUN_KEY, i64::try_from(run).unwrap_or(i64::MAX))
}

const SERVICES: [(&str, &str); 4] = [
    ("checkout", "1.14.2"),
    ("cart", "2.3.0"),
    ("payment", "0.9.7"),
    ("frontend", "5.0.1"),
];
const SCOPE_NAMES: [&str; 3] = [
    "io.opentelemetry.http-server",
    "io.opentelemetry.jdbc",
    "io.opentelemetry.grpc-client",
];
const ROUTES: [&str; 5] = [
    "/api/v1/orders/{id}",
    "/api/v1/cart",
    "/api/v1/users/{id}/profile",
    "/healthz",
    "/api/v1/payments",
];
const METHODS: [&str; 3] = ["GET", "POST", "PUT"];
const STATUSES: [i64; 6] = [200, 200, 200, 201, 404, 503];
const PEERS: [&str; 3] = ["db-primary.internal", "cache-1.internal", "auth.internal"];

fn resource(r: usize) -> Resource {
    let (service, version) = SERVICES[r % SERVICES.len()];
    Resource {
        attributes: vec![
            string("service.name", service),
            string("service.version", version),
            string(
                "host.name",
                format!("node-{:03}.prod.example", r * 17 % 256),
            ),
            string("deployment.environment", "production"),
            string("telemetry.sdk.name", "weir-gen"),
        ],
        ..Default::default()
    }
}

fn scope(s: usize) -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAMES[s % SCOPE_NAMES.len()].to_string(),
        version: "2.4.0".to_string(),
        ..Default::default()
    }
}

/// Calls `item(resource, scope, global item index)` for the items of each scope of each resource.
fn layout<R, S, I>(
    items: usize,
    mut resource: impl FnMut(usize, Vec<S>) -> R,
    mut scope: impl FnMut(usize, Vec<I>) -> S,
    mut item: impl FnMut(usize) -> I,
) -> Vec<R> {
    let mut next = 0usize;
    split(items, RESOURCES)
        .into_iter()
        .enumerate()
        .map(|(r, in_resource)| {
            let scopes = split(in_resource, SCOPES)
                .into_iter()
                .enumerate()
                .map(|(s, in_scope)| {
                    let built = (next..next + in_scope).map(&mut item).collect();
                    next += in_scope;
                    scope(s, built)
                })
                .collect();
            resource(r, scopes)
        })
        .collect()
}

fn traces(items: usize, run: u64) -> ExportTraceServiceRequest {
    let span = |i: usize| {
        let method = METHODS[i % METHODS.len()];
        let route = ROUTES[i % ROUTES.len()];
        let code = STATUSES[i % STATUSES.len()];
        let seq = i as u64;
        // Durations from 0.2 ms to about 50 ms, ending up to 1 ms before "now".
        let duration = 200_000 + (i as u64 * 7_919 % 250) * 200_000;
        let end = BASE_TIME_NS - (i as u64 % 1_000) * 1_000;
        Span {
            trace_id: ids::trace_id(run, seq).to_vec(),
            span_id: ids::span_id(seq).to_vec(),
            name: format!("{method} {route}"),
            kind: match i % 3 {
                0 => span::SpanKind::Server,
                1 => span::SpanKind::Client,
                _ => span::SpanKind::Internal,
            } as i32,
            start_time_unix_nano: end - duration,
            end_time_unix_nano: end,
            attributes: vec![
                string("http.method", method),
                string("http.route", route),
                int("http.status_code", code),
                string("net.peer.name", PEERS[i % PEERS.len()]),
                int("net.peer.port", 5432 + (i % 4) as i64),
                string("user.id", format!("user-{:06}", i * 7_919 % 1_000_000)),
                string(
                    "http.user_agent",
                    "Mozilla/5.0 (X11; Linux x86_64) weir-gen/0.1",
                ),
                int(
                    "http.response_content_length",
                    512 + (i * 37 % 4_096) as i64,
                ),
            ],
            status: Some(Status {
                code: if code >= 500 {
                    status::StatusCode::Error
                } else {
                    status::StatusCode::Unset
                } as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    ExportTraceServiceRequest {
        resource_spans: layout(
            items,
            |r, scope_spans| ResourceSpans {
                resource: Some(resource(r)),
                scope_spans,
                ..Default::default()
            },
            |s, spans| ScopeSpans {
                scope: Some(scope(s)),
                spans,
                ..Default::default()
            },
            span,
        ),
    }
}

fn logs(items: usize, run: u64) -> ExportLogsServiceRequest {
    let record = |i: usize| {
        let method = METHODS[i % METHODS.len()];
        let route = ROUTES[i % ROUTES.len()];
        let code = STATUSES[i % STATUSES.len()];
        let (severity, text) = match code {
            500.. => (17, "ERROR"),
            400.. => (13, "WARN"),
            _ => (9, "INFO"),
        };
        LogRecord {
            time_unix_nano: BASE_TIME_NS - (i as u64 % 1_000) * 1_000,
            observed_time_unix_nano: BASE_TIME_NS,
            severity_number: severity,
            severity_text: text.to_string(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!(
                    "{method} {route} answered {code} in {} ms",
                    1 + i * 13 % 97
                ))),
            }),
            attributes: vec![
                string("http.method", method),
                string("http.route", route),
                int("http.status_code", code),
                string("user.id", format!("user-{:06}", i * 7_919 % 1_000_000)),
                string("code.function", "handle_request"),
                string("thread.name", format!("worker-{}", i % 8)),
                seq_placeholder(),
                run_attribute(run),
            ],
            flags: 1,
            trace_id: ids::trace_id(run, i as u64).to_vec(),
            span_id: ids::span_id(i as u64).to_vec(),
            ..Default::default()
        }
    };
    ExportLogsServiceRequest {
        resource_logs: layout(
            items,
            |r, scope_logs| ResourceLogs {
                resource: Some(resource(r)),
                scope_logs,
                ..Default::default()
            },
            |s, log_records| ScopeLogs {
                scope: Some(scope(s)),
                log_records,
                ..Default::default()
            },
            record,
        ),
    }
}

/// A metric point before it is placed in its metric: its index in the request.
struct PointSeed(usize);

fn metrics(items: usize, run: u64) -> ExportMetricsServiceRequest {
    let attributes = |i: usize| {
        vec![
            string("http.method", METHODS[i % METHODS.len()]),
            string("http.route", ROUTES[i % ROUTES.len()]),
            int("http.status_code", STATUSES[i % STATUSES.len()]),
            seq_placeholder(),
            run_attribute(run),
        ]
    };
    // Cumulative points started a minute before "now".
    let (start, time) = (BASE_TIME_NS - 60_000_000_000, BASE_TIME_NS);
    let number = |i: usize, value: number_data_point::Value| NumberDataPoint {
        attributes: attributes(i),
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(value),
        ..Default::default()
    };
    let metric_of = |m: usize, points: Vec<PointSeed>| {
        let ints = |f: &dyn Fn(usize) -> i64| -> Vec<NumberDataPoint> {
            points
                .iter()
                .map(|p| number(p.0, number_data_point::Value::AsInt(f(p.0))))
                .collect()
        };
        let (name, unit, data) = match m % 4 {
            0 => (
                "http.server.request.count",
                "{request}",
                metric::Data::Sum(Sum {
                    data_points: ints(&|i| 1_000 + (i * 31) as i64),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                }),
            ),
            1 => (
                "process.memory.usage",
                "By",
                metric::Data::Gauge(Gauge {
                    data_points: ints(&|i| 200_000_000 + (i * 4_099) as i64),
                }),
            ),
            2 => (
                "http.server.request.duration",
                "ms",
                metric::Data::Histogram(Histogram {
                    data_points: points
                        .iter()
                        .map(|p| HistogramDataPoint {
                            attributes: attributes(p.0),
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: 90,
                            sum: Some(2_345.5),
                            bucket_counts: vec![10, 20, 30, 15, 8, 4, 2, 1, 0],
                            explicit_bounds: vec![
                                5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0,
                            ],
                            min: Some(0.4),
                            max: Some(812.0),
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                }),
            ),
            _ => (
                "system.cpu.utilization",
                "1",
                metric::Data::Gauge(Gauge {
                    data_points: points
                        .iter()
                        .map(|p| {
                            number(
                                p.0,
                                number_data_point::Value::AsDouble((p.0 % 100) as f64 / 100.0),
                            )
                        })
                        .collect(),
                }),
            ),
        };
        Metric {
            name: name.to_string(),
            unit: unit.to_string(),
            description: format!("{name} as recorded by the service"),
            data: Some(data),
            ..Default::default()
        }
    };
    let mut metric_index = 0usize;
    ExportMetricsServiceRequest {
        resource_metrics: layout(
            items,
            |r, scope_metrics| ResourceMetrics {
                resource: Some(resource(r)),
                scope_metrics,
                ..Default::default()
            },
            |s, points: Vec<PointSeed>| {
                let mut points = points.into_iter().peekable();
                let mut metrics = Vec::new();
                while points.peek().is_some() {
                    let chunk: Vec<PointSeed> = points.by_ref().take(POINTS_PER_METRIC).collect();
                    metrics.push(metric_of(metric_index, chunk));
                    metric_index += 1;
                }
                ScopeMetrics {
                    scope: Some(scope(s)),
                    metrics,
                    ..Default::default()
                }
            },
            PointSeed,
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use weir_core::batch::wire::walk;

    use super::*;

    const RUN: u64 = 0x1234_5678_9abc_def0 >> 1;

    #[test]
    fn split_is_even_and_never_empty() {
        assert_eq!(split(10, 3), [4, 3, 3]);
        assert_eq!(split(2, 3), [1, 1]);
        assert_eq!(split(1, 2), [1]);
        assert_eq!(split(0, 2), Vec::<usize>::new());
    }

    #[test]
    fn empty_templates_are_refused() {
        assert!(matches!(
            Template::build(Signal::Traces, 0, RUN),
            Err(TemplateError::Empty)
        ));
    }

    #[test]
    fn rendered_spans_decode_with_the_intended_ids() {
        for items in [1, 2, 7, 100] {
            let mut template = Template::build(Signal::Traces, items, RUN).unwrap();
            let now = BASE_TIME_NS + 123_456_789_000;
            let bytes = template
                .render(RUN, |i| 1_000_000 + i as u64 * 2, now)
                .to_vec();
            assert_eq!(walk(Signal::Traces, &bytes).unwrap().items, items);
            let request = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
            assert!(request.resource_spans.len() <= RESOURCES);
            let spans: Vec<&Span> = request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .collect();
            assert_eq!(spans.len(), items);
            for (i, span) in spans.iter().enumerate() {
                let seq = 1_000_000 + i as u64 * 2;
                assert_eq!(span.trace_id, ids::trace_id(RUN, seq));
                assert_eq!(span.span_id, ids::span_id(seq));
                assert_eq!(
                    ids::span_ids(&span.trace_id, &span.span_id),
                    Some((RUN, seq))
                );
                assert_eq!(span.attributes.len(), 8);
                assert!(span.end_time_unix_nano <= now);
                assert!(span.end_time_unix_nano > now - 1_000_000_000);
                assert!(span.start_time_unix_nano < span.end_time_unix_nano);
            }
            let resource = request.resource_spans[0].resource.as_ref().unwrap();
            let keys: BTreeSet<&str> = resource
                .attributes
                .iter()
                .map(|kv| kv.key.as_str())
                .collect();
            assert!(keys.is_superset(&BTreeSet::from([
                "service.name",
                "service.version",
                "host.name"
            ])));
        }
    }

    fn int_attr(attributes: &[KeyValue], key: &str) -> Option<i64> {
        attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
            match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::IntValue(v) => Some(*v),
                _ => None,
            }
        })
    }

    #[test]
    fn rendered_logs_decode_with_the_intended_ids() {
        let mut template = Template::build(Signal::Logs, 50, RUN).unwrap();
        // Render twice: the second stamp must fully replace the first.
        template.render(RUN, |i| u64::MAX >> 1 ^ i as u64, BASE_TIME_NS);
        let bytes = template
            .render(RUN, |i| 77 + i as u64, BASE_TIME_NS + 5)
            .to_vec();
        assert_eq!(walk(Signal::Logs, &bytes).unwrap().items, 50);
        let request = ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap();
        let records: Vec<&LogRecord> = request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .collect();
        assert_eq!(records.len(), 50);
        for (i, record) in records.iter().enumerate() {
            let seq = 77 + i as u64;
            assert_eq!(int_attr(&record.attributes, SEQ_KEY), Some(seq as i64));
            assert_eq!(int_attr(&record.attributes, RUN_KEY), Some(RUN as i64));
            assert_eq!(record.trace_id, ids::trace_id(RUN, seq));
            assert_eq!(record.span_id, ids::span_id(seq));
            assert_eq!(record.observed_time_unix_nano, BASE_TIME_NS + 5);
            assert!(record.body.is_some() && record.severity_number > 0);
        }
    }

    #[test]
    fn rendered_metrics_decode_with_the_intended_ids() {
        let mut template = Template::build(Signal::Metrics, 43, RUN).unwrap();
        let bytes = template
            .render(RUN, |i| 5 * i as u64, BASE_TIME_NS)
            .to_vec();
        assert_eq!(walk(Signal::Metrics, &bytes).unwrap().items, 43);
        let request = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
        let mut seqs = Vec::new();
        let mut kinds = BTreeSet::new();
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
        {
            let attributes: Vec<&Vec<KeyValue>> = match metric.data.as_ref().unwrap() {
                metric::Data::Sum(s) => {
                    kinds.insert("sum");
                    s.data_points.iter().map(|p| &p.attributes).collect()
                }
                metric::Data::Gauge(g) => {
                    kinds.insert("gauge");
                    g.data_points.iter().map(|p| &p.attributes).collect()
                }
                metric::Data::Histogram(h) => {
                    kinds.insert("histogram");
                    h.data_points.iter().map(|p| &p.attributes).collect()
                }
                other => panic!("unexpected metric data {other:?}"),
            };
            for a in attributes {
                seqs.push(int_attr(a, SEQ_KEY).unwrap());
                assert_eq!(int_attr(a, RUN_KEY), Some(RUN as i64));
            }
        }
        assert_eq!(seqs, (0..43).map(|i| 5 * i).collect::<Vec<i64>>());
        assert_eq!(kinds, BTreeSet::from(["sum", "gauge", "histogram"]));
    }

    #[test]
    fn rendering_changes_only_the_patched_bytes() {
        let mut template = Template::build(Signal::Traces, 10, RUN).unwrap();
        let a = template.render(RUN, |i| i as u64, BASE_TIME_NS).to_vec();
        let b = template
            .render(RUN, |i| i as u64 + 10, BASE_TIME_NS)
            .to_vec();
        assert_eq!(a.len(), b.len());
        let changed = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        // At most 16 + 8 id bytes per span differ; nothing else may.
        assert!(changed > 0 && changed <= 10 * 24, "{changed}");
    }

    #[test]
    fn a_rendering_nothing_holds_is_stamped_again_in_its_own_buffer() {
        let mut template = Template::build(Signal::Traces, 10, RUN).unwrap();
        let first = template.render(RUN, |i| i as u64, BASE_TIME_NS).as_ptr();
        let second = template
            .render(RUN, |i| i as u64 + 10, BASE_TIME_NS)
            .as_ptr();
        assert_eq!(first, second, "the answered request's buffer is reused");
    }

    #[test]
    fn a_rendering_still_held_is_not_overwritten_by_the_next() {
        let mut template = Template::build(Signal::Traces, 10, RUN).unwrap();
        let held = template.render(RUN, |i| i as u64, BASE_TIME_NS);
        let copy = held.to_vec();
        let next = template.render(RUN, |i| i as u64 + 10, BASE_TIME_NS);
        assert_eq!(held.to_vec(), copy, "the request in flight keeps its ids");
        assert_ne!(next.to_vec(), copy);
        assert_ne!(held.as_ptr(), next.as_ptr());
    }
}
