//! `spanmetrics` on real batches: config defaults and refusals, the default attributes and
//! the dimension lookup order, explicit and exponential bucket counts, cumulative against
//! delta across flushes, expiration, the series bound, exemplars, the events metric,
//! resource grouping by key attributes, and the flush timer and stop.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{ComponentConfig, Connector, Output, Outputs};

use super::{SpanMetrics, SpanMetricsConfig};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

fn config(value: serde_json::Value) -> SpanMetricsConfig {
    serde_json::from_value(value).expect("parses")
}

fn connector(value: serde_json::Value) -> SpanMetrics {
    SpanMetrics::new(&config(value)).expect("valid")
}

/// A span of `name` lasting `ms` milliseconds.
fn span(name: &str, ms: u64, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: name.into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_000_000_000 + ms * 1_000_000,
        attributes,
        ..Default::default()
    }
}

fn request(resources: Vec<(Vec<KeyValue>, Vec<Span>)>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(attributes, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

fn service(name: &str) -> Vec<KeyValue> {
    vec![kv("service.name", s(name))]
}

async fn feed(c: &SpanMetrics, request: Vec<u8>) {
    let batch = Batch::from_encoded(
        Signal::Traces,
        request.into(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request");
    c.consume(Signal::Traces, batch, &Outputs::default())
        .await
        .expect("aggregated");
}

fn flush(c: &SpanMetrics) -> Option<ExportMetricsServiceRequest> {
    c.take()
        .map(|b| ExportMetricsServiceRequest::decode(b.as_slice()).expect("decodes"))
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> Vec<&'a Metric> {
    request
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
        .collect()
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => format!("int {i}"),
        other => format!("{other:?}"),
    }
}

fn attrs(list: &[KeyValue]) -> Vec<(String, String)> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

fn calls(request: &ExportMetricsServiceRequest) -> Vec<&NumberDataPoint> {
    metric(request, "traces.span.metrics.calls")
        .into_iter()
        .flat_map(|m| match &m.data {
            Some(metric::Data::Sum(s)) => {
                assert!(s.is_monotonic);
                s.data_points.iter()
            }
            other => panic!("calls is a sum: {other:?}"),
        })
        .collect()
}

fn int(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(number_data_point::Value::AsInt(n)) => n,
        other => panic!("an int: {other:?}"),
    }
}

#[test]
fn defaults_are_otelcols() {
    let c = SpanMetricsConfig::default();
    assert_eq!(c.metrics_flush_interval, Duration::from_secs(60));
    assert_eq!(c.namespace, "traces.span.metrics");
    assert_eq!(c.dimensions_cache_size, 1000);
    assert_eq!(c.resource_metrics_cache_size, 1000);
    assert_eq!(c.exemplars.max_per_data_point, 5);
    assert_eq!(c.metrics_expiration, Duration::ZERO);
    assert_eq!(
        c.bounds(),
        vec![
            2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0,
            5000.0, 10000.0, 15000.0
        ]
    );
    let s = config(json!({"histogram": {"unit": "s", "explicit": {"buckets": ["100us", "1s"]}}}));
    assert_eq!(s.bounds(), vec![0.0001, 1.0]);
    let s = config(json!({"histogram": {"unit": "s"}}));
    assert_eq!(s.bounds()[0], 0.002);
    let e = config(json!({"histogram": {"exponential": {}}}));
    assert_eq!(e.exponential_max_size(), Some(160));
    let d = config(json!({"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}));
    assert_eq!(d.aggregation_temporality, super::Temporality::Delta);
}

#[test]
fn what_it_does_not_implement_is_refused() {
    for field in [
        json!({"aggregation_cardinality_limit": 10}),
        json!({"calls_dimensions": []}),
        json!({"include_instrumentation_scope": ["a"]}),
        json!({"histogram": {"dimensions": []}}),
        json!({"dimensions": [{"glob": "http.*"}]}),
        json!({"aggregation_temporality": "DELTA"}),
        json!({"histogram": {"unit": "h"}}),
    ] {
        let err = serde_json::from_value::<SpanMetricsConfig>(field.clone()).unwrap_err();
        assert!(
            err.to_string().contains("unknown") || err.to_string().contains("variant"),
            "{field}: {err}"
        );
    }
    let problems = |v| config(v).validate().unwrap_err().join("\n");
    assert!(
        problems(json!({"dimensions": [{"name": "service.name"}]}))
            .contains("duplicate dimension name service.name")
    );
    assert!(
        problems(json!({"events": {"enabled": true}}))
            .contains("no dimensions configured for events")
    );
    assert!(
        problems(json!({"histogram": {"explicit": {}, "exponential": {}}}))
            .contains("use either `explicit` or `exponential`")
    );
    assert!(problems(json!({"metrics_flush_interval": "0s"})).contains("metrics_flush_interval"));
    assert!(problems(json!({"dimensions_cache_size": 0})).contains("dimensions_cache_size"));
}

#[tokio::test]
async fn default_attributes_and_dimensions_span_then_resource_then_default() {
    let c = connector(json!({
        "dimensions": [
            {"name": "region"},
            {"name": "http.method", "default": "GET"},
            {"name": "absent"},
        ],
    }));
    let mut resource = service("shop");
    resource.push(kv("region", s("resource-region")));
    let mut error = span("b", 5, vec![kv("region", s("span-region"))]);
    error.status = Some(Status {
        code: status::StatusCode::Error as i32,
        ..Default::default()
    });
    error.kind = SpanKind::Client as i32;
    feed(
        &c,
        request(vec![(
            resource,
            vec![
                span(
                    "a",
                    5,
                    vec![kv("http.method", any_value::Value::IntValue(7))],
                ),
                error,
            ],
        )]),
    )
    .await;
    let got = flush(&c).expect("metrics");
    assert_eq!(got.resource_metrics.len(), 1);
    let rm = &got.resource_metrics[0];
    assert_eq!(
        rm.scope_metrics[0].scope.as_ref().unwrap().name,
        "spanmetricsconnector"
    );
    let names: Vec<&str> = rm.scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["traces.span.metrics.calls", "traces.span.metrics.duration"]
    );
    let mut points: Vec<Vec<(String, String)>> =
        calls(&got).iter().map(|p| attrs(&p.attributes)).collect();
    points.sort();
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        points,
        vec![
            vec![
                pair("service.name", "shop"),
                pair("span.name", "a"),
                pair("span.kind", "SPAN_KIND_SERVER"),
                pair("status.code", "STATUS_CODE_UNSET"),
                pair("region", "resource-region"),
                pair("http.method", "int 7"),
            ],
            vec![
                pair("service.name", "shop"),
                pair("span.name", "b"),
                pair("span.kind", "SPAN_KIND_CLIENT"),
                pair("status.code", "STATUS_CODE_ERROR"),
                pair("region", "span-region"),
                pair("http.method", "GET"),
            ],
        ]
    );
}

#[tokio::test]
async fn a_default_equal_to_a_value_found_is_the_same_series() {
    let c = connector(json!({"dimensions": [{"name": "http.method", "default": "GET"}]}));
    let spans = vec![
        span("a", 1, vec![kv("http.method", s("GET"))]),
        span("a", 1, vec![]),
    ];
    feed(&c, request(vec![(service("shop"), spans)])).await;
    let got = flush(&c).expect("metrics");
    assert_eq!(calls(&got).len(), 1);
    assert_eq!(int(calls(&got)[0]), 2);
}

#[tokio::test]
async fn a_value_found_on_the_span_or_its_resource_is_keyed_by_its_text() {
    let c = connector(json!({"dimensions": [{"name": "code"}]}));
    let mut resource = service("shop");
    resource.push(kv("code", any_value::Value::IntValue(200)));
    let spans = vec![
        span("a", 1, vec![kv("code", s("200"))]),
        span("a", 1, vec![]),
        span("a", 1, vec![kv("code", any_value::Value::IntValue(-7))]),
    ];
    feed(&c, request(vec![(resource, spans)])).await;
    let got = flush(&c).expect("metrics");
    let mut counts: Vec<(String, i64)> = calls(&got)
        .iter()
        .map(|p| (attrs(&p.attributes)[4].1.clone(), int(p)))
        .collect();
    counts.sort();
    assert_eq!(counts, [("200".to_string(), 2), ("int -7".to_string(), 1)]);
}

#[tokio::test]
async fn more_dimensions_than_are_looked_up_inline_are_keyed_alike() {
    let names: Vec<String> = (0..20).map(|i| format!("d{i}")).collect();
    let dimensions: Vec<serde_json::Value> = names
        .iter()
        .map(|n| match n.as_str() {
            "d17" => json!({"name": n, "default": "fallback"}),
            _ => json!({"name": n}),
        })
        .collect();
    let c = connector(json!({ "dimensions": dimensions }));
    let mut resource = service("shop");
    resource.push(kv("d18", s("from-resource")));
    let with = |last: &str| {
        let mut attributes: Vec<KeyValue> = (0..17).map(|i| kv(&names[i], s("v"))).collect();
        attributes.push(kv("d19", s(last)));
        span("a", 1, attributes)
    };
    let spans = vec![with("x"), with("y"), with("x")];
    feed(&c, request(vec![(resource, spans)])).await;
    let got = flush(&c).expect("metrics");
    let mut points: Vec<(Vec<(String, String)>, i64)> = calls(&got)
        .iter()
        .map(|p| (attrs(&p.attributes)[4..].to_vec(), int(p)))
        .collect();
    points.sort();
    let dims = |last: &str| {
        let mut d: Vec<(String, String)> = (0..17)
            .map(|i| (names[i].clone(), "v".to_string()))
            .collect();
        d.push(("d17".into(), "fallback".into()));
        d.push(("d18".into(), "from-resource".into()));
        d.push(("d19".into(), last.to_string()));
        d
    };
    assert_eq!(points, [(dims("x"), 2), (dims("y"), 1)]);
}

#[tokio::test]
async fn excluded_dimensions_and_spans_without_a_service_are_left_out() {
    let c = connector(json!({"exclude_dimensions": ["status.code", "span.kind"]}));
    feed(
        &c,
        request(vec![
            (service("shop"), vec![span("a", 1, vec![])]),
            (vec![kv("host", s("h"))], vec![span("x", 1, vec![])]),
        ]),
    )
    .await;
    let got = flush(&c).expect("metrics");
    let points = calls(&got);
    assert_eq!(
        points.len(),
        1,
        "the resource without service.name is not counted"
    );
    assert_eq!(
        attrs(&points[0].attributes),
        vec![
            ("service.name".to_string(), "shop".to_string()),
            ("span.name".to_string(), "a".to_string())
        ]
    );
}

#[tokio::test]
async fn explicit_histogram_counts_each_duration_in_its_bucket() {
    let c = connector(json!({"histogram": {"explicit": {"buckets": ["2ms", "10ms", "1s"]}}}));
    let spans = [1, 2, 3, 10, 500, 20_000]
        .iter()
        .map(|ms| span("a", *ms, vec![]))
        .collect();
    let mut backwards = span("a", 0, vec![]);
    backwards.end_time_unix_nano = 1;
    feed(&c, request(vec![(service("shop"), spans)])).await;
    feed(&c, request(vec![(service("shop"), vec![backwards])])).await;
    let got = flush(&c).expect("metrics");
    let m = metric(&got, "traces.span.metrics.duration")[0];
    assert_eq!(m.unit, "ms");
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!("explicit: {m:?}")
    };
    assert_eq!(
        h.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, vec![2.0, 10.0, 1000.0]);
    // 0 (end before start) and 1, 2 | 3, 10 | 500 | 20000.
    assert_eq!(p.bucket_counts, vec![3, 2, 1, 1]);
    assert_eq!(p.count, 7);
    assert_eq!(p.sum, Some(20_516.0));
    assert_eq!(int(calls(&got)[0]), 7);
}

#[tokio::test]
async fn exponential_histogram_in_seconds() {
    let c = connector(json!({"histogram": {"unit": "s", "exponential": {"max_size": 8}}}));
    let spans = [1, 10, 100, 1000, 10_000]
        .iter()
        .map(|ms| span("a", *ms, vec![]))
        .collect();
    feed(&c, request(vec![(service("shop"), spans)])).await;
    let got = flush(&c).expect("metrics");
    let m = metric(&got, "traces.span.metrics.duration")[0];
    assert_eq!(m.unit, "s");
    let Some(metric::Data::ExponentialHistogram(h)) = &m.data else {
        panic!("exponential: {m:?}")
    };
    let p = &h.data_points[0];
    assert_eq!(p.count, 5);
    assert_eq!((p.min, p.max), (Some(0.001), Some(10.0)));
    let buckets = p.positive.as_ref().unwrap();
    assert!(buckets.bucket_counts.len() <= 8);
    assert_eq!(buckets.bucket_counts.iter().sum::<u64>(), 5);
    // Each value lies in the bucket it was counted in.
    let base = 2f64.powf(2f64.powi(-p.scale));
    let mut left = vec![0.001, 0.01, 0.1, 1.0, 10.0];
    for (i, n) in buckets.bucket_counts.iter().enumerate() {
        let index = f64::from(buckets.offset) + i as f64;
        let (low, high) = (base.powf(index), base.powf(index + 1.0));
        let inside: Vec<f64> = left
            .iter()
            .copied()
            .filter(|v| low < *v && *v <= high * (1.0 + 1e-12))
            .collect();
        assert_eq!(inside.len() as u64, *n, "bucket {index} ({low}, {high}]");
        left.retain(|v| !inside.contains(v));
    }
}

#[tokio::test]
async fn cumulative_keeps_totals_and_start_and_delta_restarts_each_flush() {
    for delta in [false, true] {
        let temporality = if delta {
            "AGGREGATION_TEMPORALITY_DELTA"
        } else {
            "AGGREGATION_TEMPORALITY_CUMULATIVE"
        };
        let c = connector(json!({"aggregation_temporality": temporality}));
        feed(
            &c,
            request(vec![(service("shop"), vec![span("a", 1, vec![]); 2])]),
        )
        .await;
        let first = flush(&c).expect("metrics");
        feed(
            &c,
            request(vec![(service("shop"), vec![span("a", 1, vec![]); 3])]),
        )
        .await;
        let second = flush(&c).expect("metrics");
        let (p1, p2) = (calls(&first)[0], calls(&second)[0]);
        assert_eq!(int(p1), 2);
        if delta {
            assert_eq!(int(p2), 3, "counts since the previous flush");
            assert_eq!(p2.start_time_unix_nano, p1.time_unix_nano);
            assert!(flush(&c).is_none(), "nothing new: nothing to send");
        } else {
            assert_eq!(int(p2), 5, "totals");
            assert_eq!(p2.start_time_unix_nano, p1.start_time_unix_nano);
            let third = flush(&c).expect("cumulative series are sent every flush");
            assert_eq!(int(calls(&third)[0]), 5);
        }
        let Some(metric::Data::Sum(sum)) = &metric(&second, "traces.span.metrics.calls")[0].data
        else {
            panic!("a sum")
        };
        let want = if delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        };
        assert_eq!(sum.aggregation_temporality, want as i32);
    }
}

#[tokio::test(start_paused = true)]
async fn a_resource_not_updated_within_the_expiration_is_forgotten() {
    let c = connector(json!({"metrics_expiration": "5m"}));
    feed(
        &c,
        request(vec![(service("old"), vec![span("a", 1, vec![])])]),
    )
    .await;
    tokio::time::advance(Duration::from_secs(240)).await;
    feed(
        &c,
        request(vec![(service("new"), vec![span("a", 1, vec![])])]),
    )
    .await;
    assert_eq!(flush(&c).expect("both").resource_metrics.len(), 2);
    tokio::time::advance(Duration::from_secs(120)).await;
    // `old` is 6 minutes old: sent once more, then forgotten.
    assert_eq!(flush(&c).expect("both").resource_metrics.len(), 2);
    let left = flush(&c).expect("new");
    assert_eq!(left.resource_metrics.len(), 1);
    assert_eq!(
        attrs(
            &left.resource_metrics[0]
                .resource
                .as_ref()
                .unwrap()
                .attributes
        ),
        vec![("service.name".to_string(), "new".to_string())]
    );
}

#[tokio::test]
async fn the_series_held_are_bounded_by_dimensions_cache_size() {
    let c = connector(json!({"dimensions_cache_size": 3}));
    for name in ["a", "b", "c", "d"] {
        feed(
            &c,
            request(vec![(service("shop"), vec![span(name, 1, vec![])])]),
        )
        .await;
    }
    // `b` is updated again, so `c` is now the least recently updated.
    feed(
        &c,
        request(vec![(service("shop"), vec![span("b", 1, vec![])])]),
    )
    .await;
    feed(
        &c,
        request(vec![(service("shop"), vec![span("e", 1, vec![])])]),
    )
    .await;
    let got = flush(&c).expect("metrics");
    let mut names: Vec<(String, i64)> = calls(&got)
        .iter()
        .map(|p| (attrs(&p.attributes)[1].1.clone(), int(p)))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("b".into(), 2), ("d".into(), 1), ("e".into(), 1)]
    );
}

#[tokio::test]
async fn exemplars_are_capped_per_point_and_cleared_each_flush() {
    let c = connector(json!({"exemplars": {"enabled": true, "max_per_data_point": 2}}));
    let spans = (0..5u8)
        .map(|i| {
            let mut s = span("a", 3, vec![]);
            s.span_id = vec![i; 8];
            s
        })
        .collect();
    feed(&c, request(vec![(service("shop"), spans)])).await;
    let got = flush(&c).expect("metrics");
    let Some(metric::Data::Histogram(h)) = &metric(&got, "traces.span.metrics.duration")[0].data
    else {
        panic!("a histogram")
    };
    let exemplars = &h.data_points[0].exemplars;
    assert_eq!(exemplars.len(), 2);
    assert_eq!(exemplars[0].trace_id, vec![1; 16]);
    assert_eq!(exemplars[1].span_id, vec![1; 8]);
    assert_eq!(
        exemplars[0].value,
        Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(3.0))
    );
    assert_eq!(calls(&got)[0].exemplars.len(), 2);
    let again = flush(&c).expect("cumulative");
    assert!(calls(&again)[0].exemplars.is_empty());
    // Off by default.
    let c = connector(json!({}));
    feed(
        &c,
        request(vec![(service("shop"), vec![span("a", 1, vec![])])]),
    )
    .await;
    assert!(calls(&flush(&c).unwrap())[0].exemplars.is_empty());
}

#[tokio::test]
async fn events_are_counted_by_their_dimensions() {
    let c = connector(json!({
        "dimensions": [{"name": "region", "default": "eu"}],
        "events": {"enabled": true, "dimensions": [{"name": "exception.type"}]},
    }));
    let mut a = span("a", 1, vec![]);
    a.events = vec![
        Event {
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("Timeout"))],
            ..Default::default()
        },
        Event {
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("Timeout"))],
            ..Default::default()
        },
        Event {
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("Refused"))],
            ..Default::default()
        },
    ];
    feed(&c, request(vec![(service("shop"), vec![a])])).await;
    let got = flush(&c).expect("metrics");
    assert_eq!(int(calls(&got)[0]), 1);
    let events = metric(&got, "traces.span.metrics.events");
    let Some(metric::Data::Sum(sum)) = &events[0].data else {
        panic!("a sum")
    };
    let mut points: Vec<(Vec<(String, String)>, i64)> = sum
        .data_points
        .iter()
        .map(|p| (attrs(&p.attributes)[4..].to_vec(), int(p)))
        .collect();
    points.sort();
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        points,
        vec![
            (
                vec![pair("region", "eu"), pair("exception.type", "Refused")],
                1
            ),
            (
                vec![pair("region", "eu"), pair("exception.type", "Timeout")],
                2
            ),
        ]
    );
}

#[tokio::test]
async fn resources_alike_in_their_key_attributes_share_series() {
    let resource = |pod: &str| {
        let mut r = service("shop");
        r.push(kv("k8s.pod.name", s(pod)));
        r
    };
    let keyed = connector(json!({"resource_metrics_key_attributes": ["service.name"]}));
    let all = connector(json!({}));
    for c in [&keyed, &all] {
        feed(
            c,
            request(vec![
                (resource("pod-1"), vec![span("a", 1, vec![])]),
                (resource("pod-2"), vec![span("a", 1, vec![])]),
            ]),
        )
        .await;
    }
    let got = flush(&keyed).expect("metrics");
    assert_eq!(got.resource_metrics.len(), 1);
    assert_eq!(int(calls(&got)[0]), 2);
    assert_eq!(
        attrs(
            &got.resource_metrics[0]
                .resource
                .as_ref()
                .unwrap()
                .attributes
        )[1]
        .1,
        "pod-1",
        "the first resource's attributes"
    );
    let got = flush(&all).expect("metrics");
    assert_eq!(got.resource_metrics.len(), 2);
}

#[tokio::test]
async fn the_resources_held_are_bounded_by_resource_metrics_cache_size() {
    let c = connector(json!({"resource_metrics_cache_size": 2}));
    for name in ["a", "b", "c"] {
        feed(
            &c,
            request(vec![(service(name), vec![span("x", 1, vec![])])]),
        )
        .await;
    }
    let got = flush(&c).expect("metrics");
    assert_eq!(got.resource_metrics.len(), 2);
    assert_eq!(
        calls(&got).len(),
        2,
        "the forgotten resource's series went with it"
    );
}

#[tokio::test(start_paused = true)]
async fn it_emits_on_its_interval_and_what_it_holds_when_stopped() {
    let c = Arc::new(connector(json!({"metrics_flush_interval": "10s"})));
    let (tx, mut rx) = mpsc::channel(4);
    let mut outputs = Outputs::default();
    outputs.add(Signal::Metrics, Output::new("metrics".into(), tx));
    let outputs = Arc::new(outputs);
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (c, outputs, stop) = (c.clone(), outputs.clone(), stop.clone());
        async move { c.run(outputs, stop).await }
    });
    feed(
        &c,
        request(vec![(service("shop"), vec![span("a", 1, vec![])])]),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(rx.try_recv().is_err(), "not before the interval");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let batch = rx.recv().await.expect("flushed on the interval");
    assert_eq!(batch.signal(), Signal::Metrics);
    feed(
        &c,
        request(vec![(service("shop"), vec![span("a", 1, vec![])])]),
    )
    .await;
    stop.cancel();
    task.await.expect("run returns when stopped");
    let last = rx.try_recv().expect("what it held is sent at stop");
    let got = ExportMetricsServiceRequest::decode(last.to_bytes().as_ref()).unwrap();
    assert_eq!(int(calls(&got)[0]), 2);
}
