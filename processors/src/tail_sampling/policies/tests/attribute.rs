//! `numeric_attribute`, `string_attribute` and `boolean_attribute`: resource and span matches,
//! `invert_match` (with the key absent too), and pdata's reading of other types.

use serde_json::json;

use super::*;
use crate::tail_sampling::policies::attribute::Lru;

fn numeric(min: i64, max: i64, invert: bool) -> Box<dyn Evaluate> {
    of(
        "numeric_attribute",
        json!({"key": "code", "min_value": min, "max_value": max, "invert_match": invert}),
    )
}

#[test]
fn numeric_matches_on_a_resource_or_a_span() {
    let on_resource = trace(vec![Res(vec![kv("code", i(503))], vec![span("a")])]);
    let on_span = spans(vec![
        span("a"),
        with_attributes(span("b"), vec![kv("code", i(500))]),
    ]);
    let outside = spans(vec![with_attributes(span("a"), vec![kv("code", i(200))])]);
    let absent = spans(vec![span("a")]);
    let mut p = numeric(500, 599, false);
    assert_eq!(decide(&mut *p, &on_resource), Decision::Sampled);
    assert_eq!(decide(&mut *p, &on_span), Decision::Sampled);
    assert_eq!(decide(&mut *p, &outside), Decision::NotSampled);
    assert_eq!(decide(&mut *p, &absent), Decision::NotSampled);
}

#[test]
fn numeric_zero_bounds_are_unbounded_and_other_types_read_as_zero() {
    let low = spans(vec![with_attributes(span("a"), vec![kv("code", i(-1000))])]);
    assert_eq!(decide(&mut *numeric(0, 10, false), &low), Decision::Sampled);
    let high = spans(vec![with_attributes(
        span("a"),
        vec![kv("code", i(i64::MAX))],
    )]);
    assert_eq!(decide(&mut *numeric(5, 0, false), &high), Decision::Sampled);
    // pdata's `Int()` of a string is 0, which -1..=1 holds.
    let text = spans(vec![with_attributes(span("a"), vec![kv("code", s("500"))])]);
    assert_eq!(
        decide(&mut *numeric(-1, 1, false), &text),
        Decision::Sampled
    );
    assert_eq!(
        decide(&mut *numeric(1, 600, false), &text),
        Decision::NotSampled
    );
}

#[test]
fn numeric_invert_refuses_a_match_and_samples_an_absent_key() {
    let mut p = numeric(500, 599, true);
    let matching = trace(vec![
        Res(vec![], vec![span("a")]),
        Res(vec![kv("code", i(500))], vec![span("b")]),
    ]);
    let other = spans(vec![with_attributes(span("a"), vec![kv("code", i(200))])]);
    let absent = spans(vec![span("a")]);
    assert_eq!(decide(&mut *p, &matching), Decision::InvertNotSampled);
    assert_eq!(decide(&mut *p, &other), Decision::InvertSampled);
    assert_eq!(decide(&mut *p, &absent), Decision::InvertSampled);
}

#[test]
fn the_first_attribute_with_the_key_counts() {
    let twice = spans(vec![with_attributes(
        span("a"),
        vec![kv("code", i(200)), kv("code", i(500))],
    )]);
    assert_eq!(
        decide(&mut *numeric(500, 599, false), &twice),
        Decision::NotSampled
    );
}

fn strings(values: &[&str], regex: bool, invert: bool) -> Box<dyn Evaluate> {
    of(
        "string_attribute",
        json!({"key": "svc", "values": values, "enabled_regex_matching": regex,
               "invert_match": invert}),
    )
}

#[test]
fn string_exact_matches_on_a_resource_or_a_span() {
    let mut p = strings(&["cart", "checkout"], false, false);
    let on_resource = trace(vec![Res(vec![kv("svc", s("cart"))], vec![span("a")])]);
    let on_span = spans(vec![with_attributes(
        span("a"),
        vec![kv("svc", s("checkout"))],
    )]);
    let other = spans(vec![with_attributes(
        span("a"),
        vec![kv("svc", s("carts"))],
    )]);
    assert_eq!(decide(&mut *p, &on_resource), Decision::Sampled);
    assert_eq!(decide(&mut *p, &on_span), Decision::Sampled);
    assert_eq!(decide(&mut *p, &other), Decision::NotSampled);
}

#[test]
fn string_regex_is_unanchored_and_tests_a_non_string_resource_value_as_empty() {
    let mut p = strings(&["^pay", "art"], true, false);
    let inner = spans(vec![with_attributes(
        span("a"),
        vec![kv("svc", s("cartoon"))],
    )]);
    let prefix = spans(vec![with_attributes(
        span("a"),
        vec![kv("svc", s("payments"))],
    )]);
    let neither = spans(vec![with_attributes(
        span("a"),
        vec![kv("svc", s("repay"))],
    )]);
    assert_eq!(decide(&mut *p, &inner), Decision::Sampled);
    assert_eq!(decide(&mut *p, &prefix), Decision::Sampled);
    assert_eq!(decide(&mut *p, &neither), Decision::NotSampled);
    // otelcol tests a resource's value even when `Str()` is "" (an int here), a span's not.
    let mut empty = strings(&["^$"], true, false);
    let resource_int = trace(vec![Res(vec![kv("svc", i(1))], vec![span("a")])]);
    let span_int = spans(vec![with_attributes(span("a"), vec![kv("svc", i(1))])]);
    assert_eq!(decide(&mut *empty, &resource_int), Decision::Sampled);
    assert_eq!(decide(&mut *empty, &span_int), Decision::NotSampled);
}

#[test]
fn string_invert_refuses_a_match_and_samples_an_absent_key() {
    let mut p = strings(&["health.*"], true, true);
    let matching = spans(vec![
        span("a"),
        with_attributes(span("b"), vec![kv("svc", s("healthcheck"))]),
    ]);
    let other = spans(vec![with_attributes(span("a"), vec![kv("svc", s("cart"))])]);
    let absent = spans(vec![span("a")]);
    assert_eq!(decide(&mut *p, &matching), Decision::InvertNotSampled);
    assert_eq!(decide(&mut *p, &other), Decision::InvertSampled);
    assert_eq!(decide(&mut *p, &absent), Decision::InvertSampled);
}

#[test]
fn string_regex_results_stay_right_through_a_small_cache() {
    let mut p = of(
        "string_attribute",
        json!({"key": "svc", "values": ["^a"], "enabled_regex_matching": true,
               "cache_max_size": 2}),
    );
    for round in 0..3 {
        for (value, expected) in [
            ("apple", Decision::Sampled),
            ("banana", Decision::NotSampled),
            ("avocado", Decision::Sampled),
            ("cherry", Decision::NotSampled),
        ] {
            let t = spans(vec![with_attributes(span("a"), vec![kv("svc", s(value))])]);
            assert_eq!(decide(&mut *p, &t), expected, "{value} in round {round}");
        }
    }
}

#[test]
fn the_cache_forgets_the_least_recently_used() {
    let mut cache = Lru::new(2);
    cache.put("a".to_string(), true);
    cache.put("b".to_string(), false);
    assert_eq!(cache.get("a"), Some(true));
    cache.put("c".to_string(), true);
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get("b"), None, "b was used least recently");
    assert_eq!(cache.get("a"), Some(true));
    assert_eq!(cache.get("c"), Some(true));
    cache.put("a".to_string(), false);
    assert_eq!((cache.get("a"), cache.len()), (Some(false), 2));
}

fn boolean(value: bool, invert: bool) -> Box<dyn Evaluate> {
    of(
        "boolean_attribute",
        json!({"key": "debug", "value": value, "invert_match": invert}),
    )
}

#[test]
fn boolean_matches_on_a_resource_or_a_span() {
    let on_resource = trace(vec![Res(vec![kv("debug", b(true))], vec![span("a")])]);
    let on_span = spans(vec![with_attributes(
        span("a"),
        vec![kv("debug", b(false))],
    )]);
    assert_eq!(
        decide(&mut *boolean(true, false), &on_resource),
        Decision::Sampled
    );
    assert_eq!(
        decide(&mut *boolean(true, false), &on_span),
        Decision::NotSampled
    );
    assert_eq!(
        decide(&mut *boolean(false, false), &on_span),
        Decision::Sampled
    );
    // pdata's `Bool()` of a string is false.
    let text = spans(vec![with_attributes(
        span("a"),
        vec![kv("debug", s("true"))],
    )]);
    assert_eq!(
        decide(&mut *boolean(false, false), &text),
        Decision::Sampled
    );
    assert_eq!(
        decide(&mut *boolean(true, false), &text),
        Decision::NotSampled
    );
}

#[test]
fn boolean_invert_refuses_a_match_and_samples_an_absent_key() {
    let matching = trace(vec![Res(vec![kv("debug", b(true))], vec![span("a")])]);
    let absent = spans(vec![span("a")]);
    let mut p = boolean(true, true);
    assert_eq!(decide(&mut *p, &matching), Decision::InvertNotSampled);
    assert_eq!(decide(&mut *p, &absent), Decision::InvertSampled);
}
