//! `always_sample`, `latency`, `status_code`, `span_count` and `trace_state`.

use opentelemetry_proto::tonic::trace::v1::Status;
use serde_json::json;

use super::*;
use crate::tail_sampling::policies::span::tracestate_get;

const MS: u64 = 1_000_000;

#[test]
fn always_samples() {
    let mut p = policy(json!({"name": "all", "type": "always_sample"}));
    assert_eq!(decide(&mut *p, &spans(vec![span("a")])), Decision::Sampled);
}

#[test]
fn latency_spans_the_earliest_start_to_the_latest_end() {
    let mut p = of("latency", json!({"threshold_ms": 100}));
    let long = spans(vec![
        timed(span("a"), 1000 * MS, 1050 * MS),
        timed(span("b"), 1040 * MS, 1100 * MS),
    ]);
    let short = spans(vec![timed(span("a"), 1000 * MS, 1099 * MS)]);
    assert_eq!(decide(&mut *p, &long), Decision::Sampled);
    assert_eq!(decide(&mut *p, &short), Decision::NotSampled);
}

#[test]
fn latency_with_an_upper_bound_excludes_the_lower_and_stops_at_the_first_fit() {
    let mut p = of(
        "latency",
        json!({"threshold_ms": 100, "upper_threshold_ms": 200}),
    );
    let exactly_lower = spans(vec![timed(span("a"), 0, 100 * MS)]);
    let within = spans(vec![timed(span("a"), 5 * MS, 205 * MS)]);
    let beyond = spans(vec![timed(span("a"), 5 * MS, 206 * MS)]);
    assert_eq!(decide(&mut *p, &exactly_lower), Decision::NotSampled);
    assert_eq!(decide(&mut *p, &within), Decision::Sampled);
    assert_eq!(decide(&mut *p, &beyond), Decision::NotSampled);
    // otelcol decides span by span: 150 ms after the first span is enough, though the whole
    // trace lasts 500 ms.
    let prefix = spans(vec![
        timed(span("a"), 10 * MS, 160 * MS),
        timed(span("b"), 10 * MS, 510 * MS),
    ]);
    assert_eq!(decide(&mut *p, &prefix), Decision::Sampled);
}

#[test]
fn latency_takes_a_zero_time_as_unset() {
    // The first span's 0 start is replaced by the second's.
    let mut p = of("latency", json!({"threshold_ms": 100}));
    let t = spans(vec![
        timed(span("a"), 0, 60 * MS),
        timed(span("b"), 50 * MS, 120 * MS),
    ]);
    assert_eq!(decide(&mut *p, &t), Decision::NotSampled);
}

#[test]
fn status_code_samples_a_trace_with_a_span_of_a_listed_code() {
    let mut errors = of("status_code", json!({"status_codes": ["ERROR"]}));
    let mut unset = of("status_code", json!({"status_codes": ["UNSET", "OK"]}));
    let one_error = spans(vec![with_status(span("a"), 1), with_status(span("b"), 2)]);
    let all_ok = spans(vec![with_status(span("a"), 1)]);
    let no_status = spans(vec![span("a")]);
    assert_eq!(decide(&mut *errors, &one_error), Decision::Sampled);
    assert_eq!(decide(&mut *errors, &all_ok), Decision::NotSampled);
    assert_eq!(decide(&mut *unset, &no_status), Decision::Sampled);
    assert_eq!(decide(&mut *unset, &all_ok), Decision::Sampled);
}

#[test]
fn status_code_reads_a_repeated_status_as_protobuf_merges_it() {
    // `status` twice on the wire: the later code wins, a later status without one keeps it.
    let mut bytes = span("a").encode_to_vec();
    let error = Status {
        message: "x".to_string(),
        code: 2,
    };
    prost::encoding::message::encode(15, &error, &mut bytes);
    prost::encoding::message::encode(15, &Status::default(), &mut bytes);
    assert_eq!(
        Span::decode(&bytes[..]).expect("decodes").status,
        Some(error)
    );
    let mut errors = of("status_code", json!({"status_codes": ["ERROR"]}));
    assert_eq!(decide(&mut *errors, &held_raw(&bytes)), Decision::Sampled);
}

#[test]
fn span_count_counts_every_held_span() {
    let mut p = of("span_count", json!({"min_spans": 2, "max_spans": 3}));
    let mut open = of("span_count", json!({"min_spans": 2}));
    let one = spans(vec![span("a")]);
    let two_requests = held(&[
        request(vec![Res(vec![], vec![span("a")])]),
        request(vec![Res(vec![], vec![span("b")])]),
    ]);
    let four = spans((0..4).map(|n| span(&n.to_string())).collect());
    assert_eq!(decide(&mut *p, &one), Decision::NotSampled);
    assert_eq!(decide(&mut *p, &two_requests), Decision::Sampled);
    assert_eq!(decide(&mut *p, &four), Decision::NotSampled);
    assert_eq!(decide(&mut *open, &four), Decision::Sampled);
}

fn with_trace_state(mut span: Span, state: &str) -> Span {
    span.trace_state = state.to_string();
    span
}

#[test]
fn trace_state_samples_a_span_with_the_key_and_a_listed_value() {
    let mut p = of(
        "trace_state",
        json!({"key": "vendor", "values": ["keep", "yes"]}),
    );
    let matching = spans(vec![
        span("a"),
        with_trace_state(span("b"), "other=1, vendor=keep"),
    ]);
    let other_value = spans(vec![with_trace_state(span("a"), "vendor=drop")]);
    let invalid = spans(vec![with_trace_state(span("a"), "Vendor=x,vendor=keep")]);
    assert_eq!(decide(&mut *p, &matching), Decision::Sampled);
    assert_eq!(decide(&mut *p, &other_value), Decision::NotSampled);
    assert_eq!(decide(&mut *p, &invalid), Decision::NotSampled);
}

#[test]
fn tracestate_parses_as_otel_go_does() {
    assert_eq!(tracestate_get("a=1,b=2", "b"), Some("2"));
    assert_eq!(tracestate_get(" \ta=1 \t,,b=2", "a"), Some("1"));
    assert_eq!(tracestate_get("a=1,a=2", "a"), None, "duplicate keys");
    assert_eq!(tracestate_get("a=1,B=2", "a"), None, "an invalid member");
    assert_eq!(tracestate_get("a=1,b", "a"), None, "a member without =");
    assert_eq!(tracestate_get("a=x=y", "a"), None, "= in a value");
    assert_eq!(
        tracestate_get("a=x ", "a"),
        Some("x"),
        "trailing space trimmed"
    );
    assert_eq!(
        tracestate_get("a= x", "a"),
        Some(" x"),
        "leading space kept"
    );
    assert_eq!(
        tracestate_get("t1@sys=v", "t1@sys"),
        Some("v"),
        "a tenant key"
    );
    assert_eq!(
        tracestate_get("t@system-too-long=v", "t@system-too-long"),
        None
    );
    assert_eq!(tracestate_get("", "a"), None);
    let many: Vec<String> = (0..33).map(|n| format!("k{n}=v")).collect();
    assert_eq!(
        tracestate_get(&many.join(","), "k0"),
        None,
        "more than 32 members"
    );
    assert_eq!(tracestate_get(&many[..32].join(","), "k0"), Some("v"));
    // otel-go tests each rune's low byte: 'š' (U+0161) passes as 'a' (0x61) does.
    assert_eq!(tracestate_get("kš=v", "kš"), Some("v"));
}
