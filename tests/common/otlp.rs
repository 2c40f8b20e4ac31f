//! OTLP helpers: item counts, flattening requests into one-item requests so that two streams can
//! be compared regardless of how batching regrouped them, a multiset comparison that reports
//! what is missing and what is extra, `google.rpc.Status`, and hand-built requests.

use std::fmt::Debug;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::metrics::v1::{
    ResourceMetrics, ScopeMetrics, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use prost::Message;

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for a person.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details (`google.protobuf.Any`).
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoAny {
    /// The type of `value`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    /// How long the client should wait.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds on top.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// An encoded `google.rpc.Status` whose details hold a `RetryInfo` asking for `delay`: what a
/// gRPC server puts in `grpc-status-details-bin`.
pub fn retry_info_status(code: i32, message: &str, delay: std::time::Duration) -> Vec<u8> {
    let info = RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: i64::try_from(delay.as_secs()).expect("short delay"),
            nanos: i32::try_from(delay.subsec_nanos()).expect("nanos fit"),
        }),
    };
    RpcStatus {
        code,
        message: message.to_string(),
        details: vec![ProtoAny {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".to_string(),
            value: info.encode_to_vec(),
        }],
    }
    .encode_to_vec()
}

/// Spans in a trace request.
pub fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// Log records in a logs request.
pub fn log_record_count(request: &ExportLogsServiceRequest) -> usize {
    request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

/// Data points in a metrics request (otelcol's unit for metrics).
pub fn data_point_count(request: &ExportMetricsServiceRequest) -> usize {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(metric_points)
        .sum()
}

fn metric_points(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// Every span as its own `ResourceSpans` (its resource, its scope, the span alone).
pub fn flatten_spans<'a>(
    resource_spans: impl IntoIterator<Item = &'a ResourceSpans>,
) -> Vec<ResourceSpans> {
    let mut out = Vec::new();
    for rs in resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                out.push(ResourceSpans {
                    resource: rs.resource.clone(),
                    schema_url: rs.schema_url.clone(),
                    scope_spans: vec![ScopeSpans {
                        scope: ss.scope.clone(),
                        schema_url: ss.schema_url.clone(),
                        spans: vec![span.clone()],
                    }],
                });
            }
        }
    }
    out
}

/// Every log record as its own `ResourceLogs`.
pub fn flatten_logs<'a>(
    resource_logs: impl IntoIterator<Item = &'a ResourceLogs>,
) -> Vec<ResourceLogs> {
    let mut out = Vec::new();
    for rl in resource_logs {
        for sl in &rl.scope_logs {
            for record in &sl.log_records {
                out.push(ResourceLogs {
                    resource: rl.resource.clone(),
                    schema_url: rl.schema_url.clone(),
                    scope_logs: vec![ScopeLogs {
                        scope: sl.scope.clone(),
                        schema_url: sl.schema_url.clone(),
                        log_records: vec![record.clone()],
                    }],
                });
            }
        }
    }
    out
}

/// Every data point as its own `ResourceMetrics` (its resource, scope, metric metadata and the
/// point alone).
pub fn flatten_metrics<'a>(
    resource_metrics: impl IntoIterator<Item = &'a ResourceMetrics>,
) -> Vec<ResourceMetrics> {
    let mut out = Vec::new();
    for rm in resource_metrics {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                for data in split_points(m.data.as_ref()) {
                    out.push(ResourceMetrics {
                        resource: rm.resource.clone(),
                        schema_url: rm.schema_url.clone(),
                        scope_metrics: vec![ScopeMetrics {
                            scope: sm.scope.clone(),
                            schema_url: sm.schema_url.clone(),
                            metrics: vec![Metric {
                                data: Some(data),
                                ..m.clone()
                            }],
                        }],
                    });
                }
            }
        }
    }
    out
}

fn split_points(data: Option<&metric::Data>) -> Vec<metric::Data> {
    use metric::Data;
    match data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| {
                Data::Gauge(Gauge {
                    data_points: vec![p.clone()],
                })
            })
            .collect(),
        Some(Data::Sum(s)) => s
            .data_points
            .iter()
            .map(|p| {
                Data::Sum(Sum {
                    data_points: vec![p.clone()],
                    ..s.clone()
                })
            })
            .collect(),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| {
                Data::Histogram(Histogram {
                    data_points: vec![p.clone()],
                    ..h.clone()
                })
            })
            .collect(),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| {
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![p.clone()],
                    ..h.clone()
                })
            })
            .collect(),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| {
                Data::Summary(Summary {
                    data_points: vec![p.clone()],
                })
            })
            .collect(),
        None => Vec::new(),
    }
}

/// Asserts that `actual` holds exactly the items of `expected`, each as many times, in any
/// order. On failure the message names how many are missing and extra and shows a few of each.
pub fn assert_same_items<T: Message + PartialEq + Debug>(what: &str, expected: &[T], actual: &[T]) {
    let mut missing: Vec<&T> = Vec::new();
    let mut remaining: Vec<Option<&T>> = actual.iter().map(Some).collect();
    for item in expected {
        match remaining
            .iter_mut()
            .find(|slot| slot.is_some_and(|a| a == item))
        {
            Some(slot) => *slot = None,
            None => missing.push(item),
        }
    }
    let extra: Vec<&T> = remaining.into_iter().flatten().collect();
    if missing.is_empty() && extra.is_empty() {
        return;
    }
    let show = |items: &[&T]| -> String {
        items
            .iter()
            .take(2)
            .map(|i| format!("{i:#?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    panic!(
        "{what}: expected {} items, got {}; {} expected items did not arrive (or arrived changed), {} arrived that \
         were not sent.\n--- first missing ---\n{}\n--- first extra ---\n{}",
        expected.len(),
        actual.len(),
        missing.len(),
        extra.len(),
        show(&missing),
        show(&extra)
    );
}

// ---- hand-built requests --------------------------------------------------------------------

/// A string attribute.
pub fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// A string value.
pub fn s(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_string())
}

/// A resource with `service.name` = `service`.
pub fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![kv("service.name", s(service))],
        ..Default::default()
    }
}

/// A scope.
pub fn scope(name: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_string(),
        version: "1.0.0".to_string(),
        ..Default::default()
    }
}

/// A trace request with `n` spans of one resource and scope, ids derived from `seed` so that
/// different requests never share a span id.
pub fn trace_request(seed: u8, n: usize) -> ExportTraceServiceRequest {
    let spans = (0..n)
        .map(|i| {
            let i = u32::try_from(i).expect("few spans");
            let mut trace_id = vec![seed; 16];
            trace_id[12..].copy_from_slice(&i.to_be_bytes());
            let mut span_id = vec![seed; 8];
            span_id[4..].copy_from_slice(&i.to_be_bytes());
            Span {
                trace_id,
                span_id,
                name: format!("span-{seed}-{i}"),
                kind: span::SpanKind::Server as i32,
                start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(i),
                end_time_unix_nano: 1_700_000_000_000_500_000 + u64::from(i),
                attributes: vec![kv("i", any_value::Value::IntValue(i64::from(i)))],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource("e2e")),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope("e2e-scope")),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A metrics request with every OTLP metric type (gauge, monotonic and non-monotonic sums,
/// histogram, exponential histogram, summary), int and double values, flags, exemplars with
/// trace context and filtered attributes, and attributes of every value type.
pub fn metrics_request_with_exemplars() -> ExportMetricsServiceRequest {
    let t0 = 1_700_000_000_000_000_000u64;
    let exemplar = |v: exemplar::Value, seed: u8| Exemplar {
        filtered_attributes: vec![
            kv("user", s("u-1")),
            kv("retry", any_value::Value::BoolValue(true)),
        ],
        time_unix_nano: t0 + 123,
        span_id: vec![seed; 8],
        trace_id: vec![seed.wrapping_add(1); 16],
        value: Some(v),
    };
    let all_types = vec![
        kv("str", s("text")),
        kv("int", any_value::Value::IntValue(-42)),
        kv("double", any_value::Value::DoubleValue(2.5)),
        kv("bool", any_value::Value::BoolValue(false)),
        kv("bytes", any_value::Value::BytesValue(vec![0, 1, 2, 255])),
        kv(
            "array",
            any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(s("a")),
                    },
                    AnyValue {
                        value: Some(any_value::Value::IntValue(1)),
                    },
                ],
            }),
        ),
        kv(
            "map",
            any_value::Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
                values: vec![kv("nested", s("yes"))],
            }),
        ),
    ];
    let number = |v: number_data_point::Value, seed: u8, attrs: Vec<KeyValue>| NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: t0,
        time_unix_nano: t0 + 1_000,
        exemplars: vec![exemplar(
            match v {
                number_data_point::Value::AsDouble(d) => exemplar::Value::AsDouble(d),
                number_data_point::Value::AsInt(i) => exemplar::Value::AsInt(i),
            },
            seed,
        )],
        flags: 0,
        value: Some(v),
    };
    let metrics = vec![
        Metric {
            name: "e2e.gauge".into(),
            description: "a gauge".into(),
            unit: "1".into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![
                    number(
                        number_data_point::Value::AsDouble(1.25),
                        1,
                        all_types.clone(),
                    ),
                    number(
                        number_data_point::Value::AsInt(-7),
                        2,
                        vec![kv("k", s("v"))],
                    ),
                ],
            })),
            metadata: vec![kv("meta", s("data"))],
        },
        Metric {
            name: "e2e.counter".into(),
            description: "a monotonic cumulative sum".into(),
            unit: "By".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![number(
                    number_data_point::Value::AsInt(1 << 40),
                    3,
                    vec![kv("k", s("v"))],
                )],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            metadata: vec![],
        },
        Metric {
            name: "e2e.updown".into(),
            description: "a non-monotonic delta sum".into(),
            unit: "{item}".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    flags: 1, // no recorded value
                    ..number(number_data_point::Value::AsDouble(-3.5), 4, vec![])
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
                is_monotonic: false,
            })),
            metadata: vec![],
        },
        Metric {
            name: "e2e.histogram".into(),
            description: "an explicit-bucket histogram".into(),
            unit: "ms".into(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: all_types.clone(),
                    start_time_unix_nano: t0,
                    time_unix_nano: t0 + 2_000,
                    count: 6,
                    sum: Some(321.5),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![10.0, 100.0],
                    exemplars: vec![
                        exemplar(exemplar::Value::AsDouble(55.5), 5),
                        exemplar(exemplar::Value::AsInt(3), 6),
                    ],
                    flags: 0,
                    min: Some(0.5),
                    max: Some(250.0),
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            })),
            metadata: vec![],
        },
        Metric {
            name: "e2e.exphistogram".into(),
            description: "an exponential histogram".into(),
            unit: "s".into(),
            data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    attributes: vec![kv("k", s("exp"))],
                    start_time_unix_nano: t0,
                    time_unix_nano: t0 + 3_000,
                    count: 10,
                    sum: Some(12.75),
                    scale: 3,
                    zero_count: 1,
                    positive: Some(exponential_histogram_data_point::Buckets {
                        offset: -2,
                        bucket_counts: vec![1, 4, 2],
                    }),
                    negative: Some(exponential_histogram_data_point::Buckets {
                        offset: 1,
                        bucket_counts: vec![2],
                    }),
                    flags: 0,
                    exemplars: vec![exemplar(exemplar::Value::AsDouble(1.5), 7)],
                    min: Some(-3.0),
                    max: Some(8.0),
                    zero_threshold: 0.001,
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            metadata: vec![],
        },
        Metric {
            name: "e2e.summary".into(),
            description: "a summary".into(),
            unit: "ms".into(),
            data: Some(metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    attributes: vec![kv("k", s("sum"))],
                    start_time_unix_nano: t0,
                    time_unix_nano: t0 + 4_000,
                    count: 4,
                    sum: 10.0,
                    quantile_values: vec![
                        summary_data_point::ValueAtQuantile {
                            quantile: 0.5,
                            value: 2.0,
                        },
                        summary_data_point::ValueAtQuantile {
                            quantile: 0.99,
                            value: 4.0,
                        },
                    ],
                    flags: 0,
                }],
            })),
            metadata: vec![],
        },
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: all_types,
                dropped_attributes_count: 2,
                entity_refs: vec![],
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "hand-built".into(),
                    version: "9.9.9".into(),
                    attributes: vec![kv("scope.attr", any_value::Value::IntValue(7))],
                    dropped_attributes_count: 1,
                }),
                metrics,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.25.0".into(),
        }],
    }
}
