//! Every path of every context read from and written to the decoded records.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, Sum, Summary, SummaryDataPoint,
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::Event};

use super::*;
use crate::check::Checker;
use crate::eval::eval;
use crate::parser::parse_condition;
use crate::{Context, EvalError, Record, RecordMut, Statement, Value};

fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    }
}

fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
        ..Default::default()
    }
}

fn resource() -> Resource {
    Resource {
        attributes: vec![kv("service.name", s("checkout"))],
        dropped_attributes_count: 1,
        ..Default::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "lib".into(),
        version: "1.2".into(),
        attributes: vec![kv("scope.attr", s("x"))],
        dropped_attributes_count: 2,
    }
}

fn span() -> Span {
    Span {
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        parent_span_id: vec![9; 8],
        trace_state: "a=1,b=2".into(),
        name: "GET /users".into(),
        kind: 2,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 3_500_000_000,
        attributes: vec![kv("http.method", s("GET"))],
        dropped_attributes_count: 3,
        events: vec![Event {
            time_unix_nano: 2_000_000_000,
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("IOError"))],
            dropped_attributes_count: 4,
        }],
        dropped_events_count: 5,
        dropped_links_count: 6,
        status: Some(Status {
            message: "boom".into(),
            code: 2,
        }),
        flags: 1,
        ..Default::default()
    }
}

fn log() -> LogRecord {
    LogRecord {
        time_unix_nano: 10,
        observed_time_unix_nano: 20,
        severity_number: 13,
        severity_text: "WARN".into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![kv("msg", s("hello"))],
            })),
        }),
        attributes: vec![kv("a", s("b"))],
        dropped_attributes_count: 1,
        flags: 1,
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        event_name: "ev".into(),
    }
}

fn metrics() -> Vec<Metric> {
    let number = |v| NumberDataPoint {
        attributes: vec![kv("host", s("h1"))],
        start_time_unix_nano: 5,
        time_unix_nano: 6,
        flags: 1,
        value: Some(v),
        ..Default::default()
    };
    let metric = |name: &str, data| Metric {
        name: name.into(),
        description: "d".into(),
        unit: "ms".into(),
        data: Some(data),
        ..Default::default()
    };
    vec![
        metric(
            "gauge",
            Data::Gauge(Gauge {
                data_points: vec![number(number_data_point::Value::AsDouble(1.5))],
            }),
        ),
        metric(
            "sum",
            Data::Sum(Sum {
                data_points: vec![number(number_data_point::Value::AsInt(7))],
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "histogram",
            Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    count: 3,
                    sum: Some(4.5),
                    bucket_counts: vec![1, 2],
                    explicit_bounds: vec![1.0],
                    min: Some(0.5),
                    max: Some(2.0),
                    ..Default::default()
                }],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "exponential",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    count: 2,
                    scale: 3,
                    zero_count: 1,
                    positive: Some(Buckets {
                        offset: -1,
                        bucket_counts: vec![1],
                    }),
                    ..Default::default()
                }],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "summary",
            Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    count: 9,
                    sum: 10.0,
                    ..Default::default()
                }],
            }),
        ),
    ]
}

/// Evaluates an expression written in `ctx` against `rec`.
fn read<R: Record + ?Sized>(
    ctx: Context,
    rec: &R,
    text: &str,
) -> Result<Value<'static>, EvalError> {
    let ast = parse_condition(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let (expr, _) = Checker { ctx }
        .expr(&ast)
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    eval(&expr, rec).map(Value::into_owned)
}

fn run<R: RecordMut + ?Sized>(ctx: Context, rec: &mut R, text: &str) -> Result<bool, EvalError> {
    Statement::compile(text, ctx)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .execute(rec)
}

/// Every path of the context (unprefixed and prefixed, and those of its parents) reads
/// without error, and every writable one takes back the value it holds.
fn every_path_reads_and_writes_back<R: RecordMut>(ctx: Context, rec: &mut R) {
    for path in ctx.path_names() {
        let before =
            read(ctx, &*rec, &path).unwrap_or_else(|e| panic!("{ctx}: reading {path}: {e}"));
        let statement = format!("set({path}, {path})");
        if let Ok(st) = Statement::compile(&statement, ctx) {
            st.execute(rec)
                .unwrap_or_else(|e| panic!("{ctx}: {statement}: {e}"));
            let after = read(ctx, &*rec, &path).unwrap();
            assert!(
                crate::value::values_equal(&before, &after),
                "{ctx}: {path}: {before:?} became {after:?}"
            );
        }
    }
}

#[test]
fn resource_and_scope_paths() {
    let (mut r, mut sc) = (resource(), scope());
    let mut rec = ScopeCtx {
        resource: &mut r,
        scope: &mut sc,
    };
    every_path_reads_and_writes_back(Context::Scope, &mut rec);
    assert_eq!(
        read(Context::Scope, &rec, "name").unwrap(),
        Value::str("lib")
    );
    assert_eq!(
        read(Context::Scope, &rec, "instrumentation_scope.version").unwrap(),
        Value::str("1.2")
    );
    assert_eq!(
        read(Context::Scope, &rec, r#"scope.attributes["scope.attr"]"#).unwrap(),
        Value::str("x")
    );
    assert_eq!(
        read(Context::Scope, &rec, "dropped_attributes_count").unwrap(),
        Value::Int(2)
    );
    assert_eq!(
        read(Context::Scope, &rec, "resource.dropped_attributes_count").unwrap(),
        Value::Int(1)
    );
    run(Context::Scope, &mut rec, r#"set(name, "other")"#).unwrap();
    assert_eq!(rec.scope.name, "other");

    let mut r = resource();
    let mut rec = ResourceCtx { resource: &mut r };
    every_path_reads_and_writes_back(Context::Resource, &mut rec);
    run(Context::Resource, &mut rec, r#"set(attributes["k"], 1)"#).unwrap();
    assert_eq!(
        read(Context::Resource, &rec, r#"resource.attributes["k"]"#).unwrap(),
        Value::Int(1)
    );
    assert!(rec.get(&crate::Path::new(crate::Field::SpanName)).is_err());
}

#[test]
fn span_paths() {
    let (mut r, mut sc, mut sp) = (resource(), scope(), span());
    let mut rec = SpanCtx {
        resource: &mut r,
        scope: &mut sc,
        span: &mut sp,
    };
    every_path_reads_and_writes_back(Context::Span, &mut rec);
    let c = Context::Span;
    assert_eq!(
        read(c, &rec, "trace_id.string").unwrap(),
        Value::str("0102030405060708090a0b0c0d0e0f10")
    );
    assert_eq!(
        read(c, &rec, "span.span_id").unwrap(),
        Value::Bytes((1..=8).collect::<Vec<u8>>().into())
    );
    assert_eq!(
        read(c, &rec, "parent_span_id.string").unwrap(),
        Value::str("0909090909090909")
    );
    assert_eq!(
        read(c, &rec, r#"trace_state["b"]"#).unwrap(),
        Value::str("2")
    );
    assert_eq!(read(c, &rec, "kind").unwrap(), Value::Int(2));
    assert_eq!(read(c, &rec, "kind.string").unwrap(), Value::str("Server"));
    assert_eq!(read(c, &rec, "status.code").unwrap(), Value::Int(2));
    assert_eq!(
        read(c, &rec, "span.status.message").unwrap(),
        Value::str("boom")
    );
    assert_eq!(
        read(c, &rec, "start_time").unwrap(),
        Value::Time(1_000_000_000)
    );
    assert_eq!(
        read(c, &rec, "end_time - start_time").unwrap(),
        Value::Duration(2_500_000_000)
    );
    assert_eq!(
        read(c, &rec, "dropped_events_count").unwrap(),
        Value::Int(5)
    );
    assert_eq!(
        read(c, &rec, r#"resource.attributes["service.name"]"#).unwrap(),
        Value::str("checkout")
    );
    assert_eq!(read(c, &rec, "scope.name").unwrap(), Value::str("lib"));

    run(c, &mut rec, r#"set(trace_state["c"], "3")"#).unwrap();
    assert_eq!(rec.span.trace_state, "c=3,a=1,b=2");
    run(c, &mut rec, r#"set(kind.string, "Client")"#).unwrap();
    assert_eq!(rec.span.kind, 3);
    run(c, &mut rec, "set(status.code, STATUS_CODE_OK)").unwrap();
    assert_eq!(rec.span.status.as_ref().unwrap().code, 1);
    run(c, &mut rec, r#"set(span_id.string, "ffffffffffffffff")"#).unwrap();
    assert_eq!(rec.span.span_id, vec![0xff; 8]);
    assert!(run(c, &mut rec, r#"set(span_id.string, "abc")"#).is_err());
    assert!(run(c, &mut rec, "set(trace_id, 0x01)").is_err());
    run(c, &mut rec, r#"set(end_time, start_time + Duration("1s"))"#).unwrap();
    assert_eq!(rec.span.end_time_unix_nano, 2_000_000_000);
    assert!(run(c, &mut rec, "set(name, 1)").is_err());
    run(c, &mut rec, r#"set(resource.attributes["env"], "prod")"#).unwrap();
    assert_eq!(
        read(c, &rec, r#"resource.attributes["env"]"#).unwrap(),
        Value::str("prod")
    );

    let view = SpanView {
        resource: &r,
        scope: &sc,
        span: &sp,
    };
    assert_eq!(read(c, &view, "name").unwrap(), Value::str("GET /users"));
}

#[test]
fn span_event_paths_reach_their_span() {
    let (mut r, mut sc, mut sp) = (resource(), scope(), span());
    let mut rec = SpanEventCtx {
        resource: &mut r,
        scope: &mut sc,
        span: &mut sp,
        index: 0,
    };
    every_path_reads_and_writes_back(Context::SpanEvent, &mut rec);
    let c = Context::SpanEvent;
    assert_eq!(read(c, &rec, "name").unwrap(), Value::str("exception"));
    assert_eq!(
        read(c, &rec, "spanevent.time").unwrap(),
        Value::Time(2_000_000_000)
    );
    assert_eq!(
        read(c, &rec, r#"attributes["exception.type"]"#).unwrap(),
        Value::str("IOError")
    );
    assert_eq!(read(c, &rec, "event_index").unwrap(), Value::Int(0));
    assert_eq!(
        read(c, &rec, "span.name").unwrap(),
        Value::str("GET /users")
    );
    run(
        c,
        &mut rec,
        r#"set(span.attributes["had_exception"], true) where name == "exception""#,
    )
    .unwrap();
    assert_eq!(
        read(c, &rec, r#"span.attributes["had_exception"]"#).unwrap(),
        Value::Bool(true)
    );
    run(c, &mut rec, r#"delete_key(attributes, "exception.type")"#).unwrap();
    assert!(rec.span.events[0].attributes.is_empty());
    rec.index = 7;
    assert!(matches!(
        read(c, &rec, "name"),
        Err(EvalError::Unsupported(_))
    ));
}

#[test]
fn metric_paths() {
    for mut m in metrics() {
        let (mut r, mut sc) = (resource(), scope());
        let mut rec = MetricCtx {
            resource: &mut r,
            scope: &mut sc,
            metric: &mut m,
        };
        every_path_reads_and_writes_back(Context::Metric, &mut rec);
    }
    let mut ms = metrics();
    let (mut r, mut sc) = (resource(), scope());
    let c = Context::Metric;
    let expected = [
        ("gauge", 1, 0, false),
        ("sum", 2, 2, true),
        ("histogram", 3, 1, false),
        ("exponential", 4, 2, false),
        ("summary", 5, 0, false),
    ];
    for (m, (name, ty, temporality, monotonic)) in ms.iter_mut().zip(expected) {
        let mut rec = MetricCtx {
            resource: &mut r,
            scope: &mut sc,
            metric: m,
        };
        assert_eq!(read(c, &rec, "name").unwrap(), Value::str(name));
        assert_eq!(read(c, &rec, "metric.type").unwrap(), Value::Int(ty));
        assert_eq!(
            read(c, &rec, "aggregation_temporality").unwrap(),
            Value::Int(temporality)
        );
        assert_eq!(
            read(c, &rec, "is_monotonic").unwrap(),
            Value::Bool(monotonic)
        );
        assert_eq!(read(c, &rec, "unit").unwrap(), Value::str("ms"));
        run(
            c,
            &mut rec,
            "set(aggregation_temporality, AGGREGATION_TEMPORALITY_DELTA)",
        )
        .unwrap();
        run(c, &mut rec, r#"set(metadata["k"], "v")"#).unwrap();
        assert_eq!(read(c, &rec, r#"metadata["k"]"#).unwrap(), Value::str("v"));
    }
    let temporality = |m: &Metric| match &m.data {
        Some(Data::Sum(s)) => s.aggregation_temporality,
        Some(Data::Histogram(h)) => h.aggregation_temporality,
        _ => -1,
    };
    assert_eq!(temporality(&ms[1]), 1);
    assert_eq!(temporality(&ms[2]), 1);
    assert_eq!(temporality(&ms[0]), -1);
}

#[test]
fn data_point_paths_of_every_kind() {
    for mut m in metrics() {
        let (mut r, mut sc) = (resource(), scope());
        let mut rec = DataPointCtx {
            resource: &mut r,
            scope: &mut sc,
            metric: &mut m,
            index: 0,
        };
        every_path_reads_and_writes_back(Context::DataPoint, &mut rec);
    }
    let mut ms = metrics();
    let (mut r, mut sc) = (resource(), scope());
    let c = Context::DataPoint;
    macro_rules! point {
        ($i:expr) => {
            DataPointCtx {
                resource: &mut r,
                scope: &mut sc,
                metric: &mut ms[$i],
                index: 0,
            }
        };
    }
    let gauge = point!(0);
    assert_eq!(read(c, &gauge, "value_double").unwrap(), Value::Double(1.5));
    assert_eq!(read(c, &gauge, "value_int").unwrap(), Value::Int(0));
    assert_eq!(
        read(c, &gauge, r#"attributes["host"]"#).unwrap(),
        Value::str("h1")
    );
    assert_eq!(read(c, &gauge, "time").unwrap(), Value::Time(6));
    assert_eq!(read(c, &gauge, "datapoint.flags").unwrap(), Value::Int(1));
    assert_eq!(read(c, &gauge, "count").unwrap(), Value::Nil);
    assert_eq!(read(c, &gauge, "metric.name").unwrap(), Value::str("gauge"));
    let mut sum = point!(1);
    assert_eq!(read(c, &sum, "value_int").unwrap(), Value::Int(7));
    run(
        c,
        &mut sum,
        "set(value_int, value_int * 2) where metric.type == METRIC_DATA_TYPE_SUM",
    )
    .unwrap();
    assert_eq!(read(c, &sum, "value_int").unwrap(), Value::Int(14));
    run(c, &mut sum, "set(value_double, 0.25)").unwrap();
    assert_eq!(read(c, &sum, "value_double").unwrap(), Value::Double(0.25));
    let mut hist = point!(2);
    assert_eq!(read(c, &hist, "count").unwrap(), Value::Int(3));
    assert_eq!(read(c, &hist, "sum").unwrap(), Value::Double(4.5));
    assert_eq!(
        read(c, &hist, "bucket_counts == [1, 2]").unwrap(),
        Value::Bool(true)
    );
    assert_eq!(
        read(c, &hist, "explicit_bounds").unwrap(),
        Value::from_json(&serde_json::json!([1.0]))
    );
    assert_eq!(read(c, &hist, "max").unwrap(), Value::Double(2.0));
    run(c, &mut hist, "set(bucket_counts, [3, 4, 5])").unwrap();
    assert_eq!(read(c, &hist, "Len(bucket_counts)").unwrap(), Value::Int(3));
    assert!(run(c, &mut hist, "set(bucket_counts, [-1])").is_err());
    let exp = point!(3);
    assert_eq!(read(c, &exp, "scale").unwrap(), Value::Int(3));
    assert_eq!(read(c, &exp, "positive.offset").unwrap(), Value::Int(-1));
    assert_eq!(
        read(c, &exp, "negative.bucket_counts").unwrap(),
        Value::from_json(&serde_json::json!([]))
    );
    let summary = point!(4);
    assert_eq!(read(c, &summary, "sum").unwrap(), Value::Double(10.0));
    assert_eq!(read(c, &summary, "value_double").unwrap(), Value::Nil);
}

#[test]
fn log_paths() {
    let (mut r, mut sc, mut l) = (resource(), scope(), log());
    // `set(body.string, body.string)` turns a map body into its JSON, so the round trip gets
    // its own record.
    let mut copy = l.clone();
    every_path_reads_and_writes_back(
        Context::Log,
        &mut LogCtx {
            resource: &mut r,
            scope: &mut sc,
            log: &mut copy,
        },
    );
    assert_eq!(
        Value::from_opt_any(copy.body.as_ref()),
        Value::str(r#"{"msg":"hello"}"#)
    );
    let (mut r, mut sc) = (resource(), scope());
    let mut rec = LogCtx {
        resource: &mut r,
        scope: &mut sc,
        log: &mut l,
    };
    let c = Context::Log;
    assert_eq!(
        read(c, &rec, r#"body["msg"]"#).unwrap(),
        Value::str("hello")
    );
    assert_eq!(
        read(c, &rec, "body.string").unwrap(),
        Value::str(r#"{"msg":"hello"}"#)
    );
    assert_eq!(
        read(c, &rec, "log.severity_number").unwrap(),
        Value::Int(13)
    );
    assert_eq!(read(c, &rec, "severity_text").unwrap(), Value::str("WARN"));
    assert_eq!(read(c, &rec, "observed_time").unwrap(), Value::Time(20));
    assert_eq!(
        read(c, &rec, "trace_id.string").unwrap(),
        Value::str(&"ab".repeat(16))
    );
    assert_eq!(
        read(c, &rec, "span_id.string").unwrap(),
        Value::str(&"cd".repeat(8))
    );
    assert_eq!(read(c, &rec, "event_name").unwrap(), Value::str("ev"));
    assert_eq!(read(c, &rec, "flags").unwrap(), Value::Int(1));

    run(c, &mut rec, r#"set(body["nested"]["deep"], 1)"#).unwrap();
    assert_eq!(
        read(c, &rec, r#"body["nested"]["deep"]"#).unwrap(),
        Value::Int(1)
    );
    run(c, &mut rec, r#"delete_key(body, "msg")"#).unwrap();
    assert_eq!(read(c, &rec, r#"body["msg"]"#).unwrap(), Value::Nil);
    run(c, &mut rec, r#"set(body, "plain text")"#).unwrap();
    assert_eq!(read(c, &rec, "body").unwrap(), Value::str("plain text"));
    assert!(matches!(
        read(c, &rec, r#"body["x"]"#),
        Err(EvalError::NotIndexable { .. })
    ));
    assert!(run(c, &mut rec, r#"delete_key(body, "x")"#).is_err());
    run(c, &mut rec, r#"set(body.string, "again")"#).unwrap();
    assert_eq!(read(c, &rec, "body").unwrap(), Value::str("again"));
    run(c, &mut rec, r#"set(body, ["a", 1])"#).unwrap();
    assert_eq!(read(c, &rec, "body[1]").unwrap(), Value::Int(1));
    assert!(read(c, &rec, "body[2]").is_err());
    run(c, &mut rec, "set(severity_number, SEVERITY_NUMBER_ERROR)").unwrap();
    assert_eq!(rec.log.severity_number, 17);
    assert!(run(c, &mut rec, "set(severity_number, 9999999999)").is_err());
    run(c, &mut rec, "set(time, Unix(2))").unwrap();
    assert_eq!(rec.log.time_unix_nano, 2_000_000_000);
    assert!(run(c, &mut rec, "set(time, Unix(-2))").is_err());

    let view = LogView {
        resource: &r,
        scope: &sc,
        log: &l,
    };
    assert_eq!(read(c, &view, "body[0]").unwrap(), Value::str("a"));
}
