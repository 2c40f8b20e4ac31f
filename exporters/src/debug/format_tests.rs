//! Golden tests of the `debug` exporter's text for each signal and verbosity.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, Summary, SummaryDataPoint, metric, number_data_point, summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::*;

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![string("service.name", "checkout")],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "weir.test".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

/// 2024-02-29T12:34:56.000000789Z: a leap day, to exercise the calendar conversion.
const T0: u64 = 1_709_210_096_000_000_789;

fn traces() -> Request {
    let span = Span {
        trace_id: (1..=16).collect(),
        span_id: vec![0xaa; 8],
        parent_span_id: vec![0xbb; 8],
        name: "GET /cart".into(),
        kind: 2,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 1_500_000,
        attributes: vec![string("http.method", "GET"), int("http.status_code", 500)],
        events: vec![Event {
            time_unix_nano: T0 + 1000,
            name: "exception".into(),
            attributes: vec![string("exception.message", "boom")],
            dropped_attributes_count: 0,
        }],
        links: vec![Link {
            trace_id: vec![0x11; 16],
            span_id: vec![0x22; 8],
            trace_state: "k=v".into(),
            attributes: vec![],
            dropped_attributes_count: 1,
            flags: 0x100,
        }],
        status: Some(Status {
            message: "failed".into(),
            code: 2,
        }),
        ..Default::default()
    };
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: vec![span],
                schema_url: String::new(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    })
}

fn metrics() -> Request {
    let sum = Metric {
        name: "requests".into(),
        unit: "1".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                attributes: vec![string("route", "/cart")],
                time_unix_nano: T0,
                value: Some(number_data_point::Value::AsInt(42)),
                exemplars: vec![Exemplar {
                    time_unix_nano: T0,
                    trace_id: vec![0x01; 16],
                    span_id: vec![0x02; 8],
                    value: Some(
                        opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(0.25),
                    ),
                    filtered_attributes: vec![string("user", "u1")],
                }],
                ..Default::default()
            }],
            aggregation_temporality: 2,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let gauge = Metric {
        name: "temperature".into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                value: Some(number_data_point::Value::AsDouble(21.5)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "latency".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                count: 3,
                sum: Some(7.5),
                min: Some(0.5),
                max: Some(5.0),
                bucket_counts: vec![1, 2],
                explicit_bounds: vec![1.0],
                ..Default::default()
            }],
            aggregation_temporality: 1,
        })),
        ..Default::default()
    };
    let summary = Metric {
        name: "sizes".into(),
        data: Some(metric::Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                count: 2,
                sum: 10.0,
                quantile_values: vec![summary_data_point::ValueAtQuantile {
                    quantile: 0.5,
                    value: 4.0,
                }],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![sum, gauge, histogram, summary],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

fn logs() -> Request {
    let body = AnyValue {
        value: Some(Value::KvlistValue(KeyValueList {
            values: vec![
                string("msg", "user logged in"),
                KeyValue {
                    key: "tags".into(),
                    value: Some(AnyValue {
                        value: Some(Value::ArrayValue(ArrayValue {
                            values: vec![
                                AnyValue {
                                    value: Some(Value::BoolValue(true)),
                                },
                                AnyValue {
                                    value: Some(Value::BytesValue(vec![0xde, 0xad])),
                                },
                            ],
                        })),
                    }),
                    ..Default::default()
                },
            ],
        })),
    };
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: vec![
                    LogRecord {
                        time_unix_nano: T0,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(body),
                        attributes: vec![int("attempt", 2)],
                        trace_id: vec![0x01; 16],
                        span_id: vec![0x02; 8],
                        ..Default::default()
                    },
                    LogRecord {
                        body: Some(AnyValue {
                            value: Some(Value::StringValue("plain".into())),
                        }),
                        ..Default::default()
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

#[test]
fn summary_names_signal_resources_and_items() {
    assert_eq!(
        summary(Signal::Traces, 1, 2),
        r#"Traces {"resource spans": 1, "spans": 2}"#
    );
    assert_eq!(
        summary(Signal::Metrics, 3, 40),
        r#"Metrics {"resource metrics": 3, "data points": 40}"#
    );
    assert_eq!(
        summary(Signal::Logs, 0, 0),
        r#"Logs {"resource logs": 0, "log records": 0}"#
    );
}

#[test]
fn normal_traces_one_line_per_span() {
    assert_eq!(
        normal(&traces()),
        vec![
            r#"ResourceSpans #0 [https://opentelemetry.io/schemas/1.26.0] service.name="checkout""#,
            "ScopeSpans #0 weir.test@1.0",
            r#"GET /cart trace_id=0102030405060708090a0b0c0d0e0f10 span_id=aaaaaaaaaaaaaaaa parent_id=bbbbbbbbbbbbbbbb kind=Server status=Error http.method="GET" http.status_code=500"#,
        ]
    );
}

#[test]
fn normal_metrics_one_line_per_data_point() {
    assert_eq!(
        normal(&metrics()),
        vec![
            r#"ResourceMetrics #0 service.name="checkout""#,
            "ScopeMetrics #0 weir.test@1.0",
            r#"requests route="/cart" 42"#,
            "temperature 21.5",
            "latency count=3 sum=7.5 min=0.5 max=5",
            "sizes count=2 sum=10 q0.5=4",
        ]
    );
}

#[test]
fn normal_logs_one_line_per_record() {
    assert_eq!(
        normal(&logs()),
        vec![
            r#"ResourceLogs #0 service.name="checkout""#,
            "ScopeLogs #0 weir.test@1.0",
            r#"{msg: "user logged in", tags: [true, 0xdead]} severity=INFO trace_id=01010101010101010101010101010101 span_id=0202020202020202 attempt=2"#,
            r#""plain""#,
        ]
    );
}

#[test]
fn detailed_traces_show_every_span_field_event_and_link() {
    let expected = r#"ResourceSpans #0
  schema_url: "https://opentelemetry.io/schemas/1.26.0"
  resource.attributes:
    service.name: "checkout"
  resource.dropped_attributes_count: 0
  ScopeSpans #0
    schema_url: ""
    scope.name: "weir.test"
    scope.version: "1.0"
    scope.attributes: {}
    scope.dropped_attributes_count: 0
    Span #0
      name: "GET /cart"
      trace_id: 0102030405060708090a0b0c0d0e0f10
      span_id: aaaaaaaaaaaaaaaa
      parent_span_id: bbbbbbbbbbbbbbbb
      trace_state: ""
      flags: 0x00000000
      kind: Server
      start_time: 2024-02-29T12:34:56.000000789Z
      end_time: 2024-02-29T12:34:56.001500789Z
      status: Error "failed"
      attributes:
        http.method: "GET"
        http.status_code: 500
      dropped_attributes_count: 0
      events:
        Event #0
          name: "exception"
          time: 2024-02-29T12:34:56.000001789Z
          attributes:
            exception.message: "boom"
          dropped_attributes_count: 0
      dropped_events_count: 0
      links:
        Link #0
          trace_id: 11111111111111111111111111111111
          span_id: 2222222222222222
          trace_state: "k=v"
          flags: 0x00000100
          attributes: {}
          dropped_attributes_count: 1
      dropped_links_count: 0"#;
    assert_eq!(detailed(&traces()).join("\n"), expected);
}

#[test]
fn detailed_metrics_show_points_exemplars_and_buckets() {
    let text = detailed(&metrics()).join("\n");
    let expected_sum = r#"    Metric #0
      name: "requests"
      description: ""
      unit: "1"
      metadata: {}
      type: Sum
      aggregation_temporality: Cumulative
      is_monotonic: true
      NumberDataPoint #0
        attributes:
          route: "/cart"
        start_time: (unset)
        time: 2024-02-29T12:34:56.000000789Z
        value: 42
        flags: 0
        exemplars:
          Exemplar #0
            time: 2024-02-29T12:34:56.000000789Z
            value: 0.25
            trace_id: 01010101010101010101010101010101
            span_id: 0202020202020202
            filtered_attributes:
              user: "u1"
"#;
    assert!(text.contains(expected_sum), "{text}");
    let expected_histogram = r#"      type: Histogram
      aggregation_temporality: Delta
      HistogramDataPoint #0
        attributes: {}
        start_time: (unset)
        time: (unset)
        count: 3
        sum: 7.5
        min: 0.5
        max: 5
        explicit_bounds: [1]
        bucket_counts: [1, 2]
        flags: 0
        exemplars: []
"#;
    assert!(text.contains(expected_histogram), "{text}");
    assert!(
        text.contains("      type: Gauge\n      NumberDataPoint #0\n"),
        "{text}"
    );
    assert!(text.contains("        value: 21.5\n"), "{text}");
    assert!(
        text.contains("        quantile_values: [0.5: 4]\n"),
        "{text}"
    );
}

#[test]
fn detailed_logs_show_bodies_severity_and_ids() {
    let text = detailed(&logs()).join("\n");
    let expected_first = r#"    LogRecord #0
      time: 2024-02-29T12:34:56.000000789Z
      observed_time: (unset)
      severity_number: Info (9)
      severity_text: "INFO"
      event_name: ""
      body: {msg: "user logged in", tags: [true, 0xdead]}
      attributes:
        attempt: 2
      dropped_attributes_count: 0
      flags: 0x00000000
      trace_id: 01010101010101010101010101010101
      span_id: 0202020202020202
    LogRecord #1
"#;
    assert!(text.contains(expected_first), "{text}");
    assert!(text.contains("      body: \"plain\"\n"), "{text}");
    assert!(
        text.contains("      severity_number: Unspecified (0)\n"),
        "{text}"
    );
}

#[test]
fn timestamps_cross_calendar_edges() {
    assert_eq!(timestamp(1), "1970-01-01T00:00:00.000000001Z");
    assert_eq!(
        timestamp(951_782_400_000_000_000),
        "2000-02-29T00:00:00.000000000Z"
    );
    assert_eq!(
        timestamp(1_735_689_599_999_999_999),
        "2024-12-31T23:59:59.999999999Z"
    );
    assert_eq!(timestamp(0), "(unset)");
}

#[test]
fn strings_are_escaped_and_unknown_enums_named() {
    let kv = string("k", "a \"quoted\"\nline");
    assert_eq!(inline_attributes(&[kv]), r#"k="a \"quoted\"\nline""#);
    assert_eq!(span_kind(99), "unknown(99)");
    assert_eq!(span_kind(5), "Consumer");
    assert_eq!(
        any_value(&AnyValue {
            value: Some(Value::DoubleValue(2.0))
        }),
        "2.0"
    );
}
