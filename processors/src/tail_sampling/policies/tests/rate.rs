//! `rate_limiting` and `bytes_limiting`: the token bucket over decision times, and otelcol's
//! size estimate.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use serde_json::json;

use super::*;
use crate::tail_sampling::policies::rate::trace_size;

fn at(policy: &mut dyn Evaluate, trace: &Trace, now: Instant) -> Decision {
    policy.evaluate(&view(trace), now).expect("decides")
}

fn of_spans(n: usize) -> Trace {
    spans((0..n).map(|k| span(&k.to_string())).collect())
}

#[test]
fn rate_limiting_starts_full_at_twice_the_rate_and_refills_by_time() {
    let mut p = of("rate_limiting", json!({"spans_per_second": 10}));
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    assert_eq!(
        at(&mut *p, &of_spans(20), t0),
        Decision::Sampled,
        "burst is 20"
    );
    assert_eq!(at(&mut *p, &of_spans(1), t0), Decision::NotSampled);
    assert_eq!(
        at(&mut *p, &of_spans(1), ms(100)),
        Decision::Sampled,
        "1 span per 100 ms"
    );
    assert_eq!(at(&mut *p, &of_spans(1), ms(100)), Decision::NotSampled);
    assert_eq!(
        at(&mut *p, &of_spans(20), ms(60_000)),
        Decision::Sampled,
        "refilled to 20"
    );
    assert_eq!(
        at(&mut *p, &of_spans(21), ms(120_000)),
        Decision::NotSampled,
        "more than the burst never passes"
    );
}

#[test]
fn a_trace_that_does_not_fit_takes_nothing() {
    let mut p = of(
        "rate_limiting",
        json!({"spans_per_second": 10, "burst_capacity": 20}),
    );
    let t0 = Instant::now();
    assert_eq!(at(&mut *p, &of_spans(15), t0), Decision::Sampled);
    assert_eq!(at(&mut *p, &of_spans(10), t0), Decision::NotSampled);
    assert_eq!(at(&mut *p, &of_spans(5), t0), Decision::Sampled);
    assert_eq!(at(&mut *p, &of_spans(1), t0), Decision::NotSampled);
}

#[test]
fn burst_capacity_bounds_the_largest_trace() {
    let mut p = of(
        "rate_limiting",
        json!({"spans_per_second": 100, "burst_capacity": 5}),
    );
    let t0 = Instant::now();
    assert_eq!(at(&mut *p, &of_spans(6), t0), Decision::NotSampled);
    assert_eq!(at(&mut *p, &of_spans(5), t0), Decision::Sampled);
}

#[test]
fn a_deficit_refilled_within_a_nanosecond_passes_as_in_x_time_rate() {
    // 3 per second: after 333_333_333 ns 0.999999999 tokens are back; the missing 1e-9 token
    // takes a third of a nanosecond, which Go's Duration truncates to 0.
    let mut p = of(
        "rate_limiting",
        json!({"spans_per_second": 3, "burst_capacity": 3}),
    );
    let t0 = Instant::now();
    let ns = |n| t0 + Duration::from_nanos(n);
    assert_eq!(at(&mut *p, &of_spans(3), t0), Decision::Sampled);
    assert_eq!(
        at(&mut *p, &of_spans(1), ns(333_333_332)),
        Decision::NotSampled
    );
    assert_eq!(
        at(&mut *p, &of_spans(1), ns(333_333_333)),
        Decision::Sampled
    );
}

/// A trace whose otelcol size estimate is 230 bytes: resource 4 + 12 + 4, scope 5 + 3 + 4,
/// span "ab" 68 + 2 + (1 + 8), span "c" 68 + 1 + event (12 + 2 + 1 + 1) + link (28 + 3 + 1 +
/// 2).
fn sized() -> Trace {
    let mut c = span("c");
    c.events = vec![Event {
        name: "ev".to_string(),
        attributes: vec![kv("x", b(true))],
        ..Default::default()
    }];
    c.links = vec![Link {
        trace_state: "a=b".to_string(),
        attributes: vec![kv("y", s("zz"))],
        ..Default::default()
    }];
    trace(vec![Res(
        vec![kv("service.name", s("cart"))],
        vec![with_attributes(span("ab"), vec![kv("k", i(1))]), c],
    )])
}

#[test]
fn the_size_is_otelcols_estimate() {
    assert_eq!(trace_size(&view(&sized())), 230);
    // Maps and lists count their keys and values; a double 8, bytes their length.
    let nested = spans(vec![with_attributes(
        span(""),
        vec![
            kv(
                "m",
                Value::KvlistValue(KeyValueList {
                    values: vec![kv("p", i(1)), kv("q", s("abc"))],
                }),
            ),
            kv(
                "arr",
                Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue { value: Some(i(2)) },
                        AnyValue {
                            value: Some(Value::DoubleValue(1.5)),
                        },
                        AnyValue {
                            value: Some(s("xy")),
                        },
                    ],
                }),
            ),
            kv("raw", Value::BytesValue(vec![0; 5])),
        ],
    )]);
    // resource 4, scope 12, span 68 + m (1 + 1 + 8 + 1 + 3) + arr (3 + 8 + 8 + 2) + raw 8.
    assert_eq!(trace_size(&view(&nested)), 4 + 12 + 68 + 14 + 21 + 8);
    // Each request's resource counts again, as each is another received batch in otelcol.
    let one = request(vec![Res(vec![], vec![span("")])]);
    let twice = held(&[one.clone(), one]);
    assert_eq!(trace_size(&view(&twice)), 2 * (4 + 12 + 68));
}

#[test]
fn bytes_limiting_takes_the_estimate_from_a_bucket_of_twice_the_rate() {
    let mut p = of("bytes_limiting", json!({"bytes_per_second": 230}));
    let t0 = Instant::now();
    let t = sized();
    assert_eq!(at(&mut *p, &t, t0), Decision::Sampled);
    assert_eq!(at(&mut *p, &t, t0), Decision::Sampled);
    assert_eq!(at(&mut *p, &t, t0), Decision::NotSampled);
    assert_eq!(
        at(&mut *p, &t, t0 + Duration::from_secs(1)),
        Decision::Sampled
    );
}

#[test]
fn bytes_limiting_burst_capacity_bounds_the_largest_trace() {
    let mut small = of(
        "bytes_limiting",
        json!({"bytes_per_second": 1000, "burst_capacity": 229}),
    );
    let mut exact = of(
        "bytes_limiting",
        json!({"bytes_per_second": 1, "burst_capacity": 230}),
    );
    let t0 = Instant::now();
    assert_eq!(at(&mut *small, &sized(), t0), Decision::NotSampled);
    assert_eq!(at(&mut *exact, &sized(), t0), Decision::Sampled);
    assert_eq!(
        at(&mut *exact, &sized(), t0 + Duration::from_secs(1)),
        Decision::NotSampled
    );
}
