//! `and`, `drop` and `composite`: truth tables, error propagation, and the composite's
//! per-second budgets over decision times.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::tail_sampling::policies::composite::{Allotted, And, Composite, Drop};

const ALL: [Decision; 5] = [
    Decision::Sampled,
    Decision::NotSampled,
    Decision::Dropped,
    Decision::InvertSampled,
    Decision::InvertNotSampled,
];

fn fixed(decisions: &[Decision]) -> Vec<Box<dyn Evaluate>> {
    decisions
        .iter()
        .map(|&d| Box::new(Fixed(d)) as Box<dyn Evaluate>)
        .collect()
}

fn run(policy: &mut dyn Evaluate) -> Result<Decision, String> {
    policy.evaluate(&view(&spans(vec![span("a")])), Instant::now())
}

#[test]
fn and_and_drop_truth_tables() {
    let refuses = |d: Decision| matches!(d, Decision::NotSampled | Decision::InvertNotSampled);
    for first in ALL {
        for second in ALL {
            let subs = [first, second];
            let refused = subs.iter().any(|&d| refuses(d));
            let and = run(&mut And { subs: fixed(&subs) });
            let drop = run(&mut Drop { subs: fixed(&subs) });
            let (and_wanted, drop_wanted) = if refused {
                (Decision::NotSampled, Decision::NotSampled)
            } else {
                (Decision::Sampled, Decision::Dropped)
            };
            assert_eq!(and, Ok(and_wanted), "and of {subs:?}");
            assert_eq!(drop, Ok(drop_wanted), "drop of {subs:?}");
        }
    }
}

#[test]
fn and_and_drop_fail_with_a_sub_policy_they_reach() {
    let failing = || -> Vec<Box<dyn Evaluate>> {
        vec![Box::new(Fixed(Decision::Sampled)), Box::new(Failing)]
    };
    assert!(run(&mut And { subs: failing() }).is_err());
    assert!(run(&mut Drop { subs: failing() }).is_err());
    let stopped = || -> Vec<Box<dyn Evaluate>> {
        vec![Box::new(Fixed(Decision::NotSampled)), Box::new(Failing)]
    };
    assert_eq!(run(&mut And { subs: stopped() }), Ok(Decision::NotSampled));
    assert_eq!(run(&mut Drop { subs: stopped() }), Ok(Decision::NotSampled));
}

#[test]
fn and_and_drop_from_config() {
    let subs = json!([
        {"name": "slow", "type": "latency", "latency": {"threshold_ms": 100}},
        {"name": "cart", "type": "string_attribute",
         "string_attribute": {"key": "svc", "values": ["cart"]}},
    ]);
    let mut and = policy(json!({"name": "a", "type": "and", "and": {"and_sub_policy": subs}}));
    let mut drop = policy(json!({"name": "d", "type": "drop", "drop": {"drop_sub_policy": subs}}));
    let slow = |svc: &str| {
        spans(vec![with_attributes(
            timed(span("a"), 0, 200_000_000),
            vec![kv("svc", s(svc))],
        )])
    };
    assert_eq!(decide(&mut *and, &slow("cart")), Decision::Sampled);
    assert_eq!(decide(&mut *and, &slow("shop")), Decision::NotSampled);
    assert_eq!(decide(&mut *drop, &slow("cart")), Decision::Dropped);
    assert_eq!(decide(&mut *drop, &slow("shop")), Decision::NotSampled);
}

fn errors_then_all(order: &[&str]) -> Box<dyn Evaluate> {
    policy(json!({
        "name": "c", "type": "composite",
        "composite": {
            "max_total_spans_per_second": 10,
            "policy_order": order,
            "composite_sub_policy": [
                {"name": "errors", "type": "status_code",
                 "status_code": {"status_codes": ["ERROR"]}},
                {"name": "all", "type": "always_sample"},
            ],
            "rate_allocation": [
                {"policy": "errors", "percent": 60},
                {"policy": "all", "percent": 40},
            ],
        },
    }))
}

/// A trace of three spans, with an error or not.
fn three(error: bool) -> Trace {
    spans(
        (0..3)
            .map(|n| with_status(span(&n.to_string()), if error { 2 } else { 1 }))
            .collect(),
    )
}

fn at(policy: &mut dyn Evaluate, trace: &Trace, now: Instant) -> Decision {
    policy.evaluate(&view(trace), now).expect("decides")
}

#[test]
fn composite_budgets_each_sub_policy_per_second() {
    let mut p = errors_then_all(&[]);
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    // errors: 6 spans a second, all: 4.
    assert_eq!(at(&mut *p, &three(true), t0), Decision::Sampled);
    assert_eq!(at(&mut *p, &three(true), ms(10)), Decision::Sampled);
    assert_eq!(
        at(&mut *p, &three(true), ms(20)),
        Decision::NotSampled,
        "errors' budget is spent, and `all` is not asked"
    );
    assert_eq!(at(&mut *p, &three(false), ms(30)), Decision::Sampled);
    assert_eq!(at(&mut *p, &three(false), ms(999)), Decision::NotSampled);
    // A new second from the first decision: budgets start again.
    assert_eq!(at(&mut *p, &three(true), ms(1000)), Decision::Sampled);
    assert_eq!(at(&mut *p, &three(false), ms(1500)), Decision::Sampled);
    assert_eq!(at(&mut *p, &three(true), ms(1999)), Decision::Sampled);
    assert_eq!(at(&mut *p, &three(true), ms(2000)), Decision::Sampled);
}

#[test]
fn composite_follows_policy_order() {
    let mut p = errors_then_all(&["all"]);
    let t0 = Instant::now();
    // `all` comes first now and takes the error traces too, up to its 4 spans.
    assert_eq!(at(&mut *p, &three(true), t0), Decision::Sampled);
    assert_eq!(at(&mut *p, &three(true), t0), Decision::NotSampled);
}

#[test]
fn composite_shares_equally_for_percent_zero_and_gives_nothing_without_an_entry() {
    let composite = |allocations: serde_json::Value| {
        policy(json!({
            "name": "c", "type": "composite",
            "composite": {
                "max_total_spans_per_second": 10,
                "composite_sub_policy": [
                    {"name": "first", "type": "always_sample"},
                    {"name": "second", "type": "always_sample"},
                    {"name": "third", "type": "always_sample"},
                ],
                "rate_allocation": allocations,
            },
        }))
    };
    // 10 / 3 sub-policies: 3 spans each.
    let mut equal = composite(json!([{"policy": "first", "percent": 0}]));
    let t0 = Instant::now();
    assert_eq!(at(&mut *equal, &three(false), t0), Decision::Sampled);
    assert_eq!(at(&mut *equal, &three(false), t0), Decision::NotSampled);
    // `first` has no entry: it would sample, so nothing is sampled.
    let mut none = composite(json!([{"policy": "second", "percent": 100}]));
    assert_eq!(at(&mut *none, &three(false), t0), Decision::NotSampled);
}

#[test]
fn composite_caps_a_sub_policy_at_the_total() {
    let mut p = Composite::new(
        vec![Allotted::new(Box::new(Fixed(Decision::Sampled)), 100)],
        2,
    );
    assert_eq!(
        at(&mut p, &three(false), Instant::now()),
        Decision::NotSampled
    );
}

#[test]
fn composite_passes_invert_sampled_and_skips_what_does_not_sample() {
    let subs = vec![
        Allotted::new(Box::new(Fixed(Decision::NotSampled)), 0),
        Allotted::new(Box::new(Fixed(Decision::Dropped)), 0),
        Allotted::new(Box::new(Fixed(Decision::InvertSampled)), 3),
    ];
    let mut p = Composite::new(subs, 10);
    assert_eq!(at(&mut p, &three(false), Instant::now()), Decision::Sampled);
    let mut failing = Composite::new(vec![Allotted::new(Box::new(Failing), 10)], 10);
    assert!(
        failing
            .evaluate(&view(&three(false)), Instant::now())
            .is_err()
    );
}

#[test]
fn composite_can_hold_an_and() {
    let mut p = policy(json!({
        "name": "c", "type": "composite",
        "composite": {
            "max_total_spans_per_second": 100,
            "composite_sub_policy": [{
                "name": "both", "type": "and",
                "and": {"and_sub_policy": [
                    {"name": "e", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
                    {"name": "n", "type": "span_count", "span_count": {"min_spans": 3}},
                ]},
            }],
            "rate_allocation": [{"policy": "both", "percent": 100}],
        },
    }));
    assert_eq!(decide(&mut *p, &three(true)), Decision::Sampled);
    assert_eq!(decide(&mut *p, &three(false)), Decision::NotSampled);
}
