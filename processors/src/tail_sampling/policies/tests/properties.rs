//! Properties over generated traces: an ERROR span always samples by `status_code: [ERROR]`,
//! and `and` is the conjunction of its sub-policies.

use proptest::prelude::*;
use serde_json::json;

use super::*;

/// A span with anything in the fields the policies read.
fn any_span() -> impl Strategy<Value = Span> {
    (
        "[a-z]{0,6}",
        0..3i32,
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(("[a-c]", -3..3i64), 0..3),
    )
        .prop_map(|(name, code, start, end, attributes)| {
            let span = with_status(timed(span(&name), start, end), code);
            with_attributes(
                span,
                attributes.into_iter().map(|(k, v)| kv(&k, i(v))).collect(),
            )
        })
}

fn any_trace() -> impl Strategy<Value = Vec<Vec<Span>>> {
    prop::collection::vec(prop::collection::vec(any_span(), 1..4), 1..4)
}

fn build_trace(resources: Vec<Vec<Span>>) -> Trace {
    trace(
        resources
            .into_iter()
            .map(|spans| Res(vec![], spans))
            .collect(),
    )
}

proptest! {
    #[test]
    fn a_trace_with_an_error_span_is_always_sampled_by_status_code_error(
        resources in any_trace(),
        at in (0usize..4, 0usize..4),
    ) {
        let mut resources = resources;
        let r = at.0 % resources.len();
        let k = at.1 % resources[r].len();
        resources[r][k] = with_status(resources[r][k].clone(), 2);
        let mut p = of("status_code", json!({"status_codes": ["ERROR"]}));
        prop_assert_eq!(decide(&mut *p, &build_trace(resources)), Decision::Sampled);
    }

    #[test]
    fn and_is_the_conjunction_of_its_sub_policies(
        resources in any_trace(),
        min in -3..3i64,
        spans_at_least in 1..6i32,
        codes in prop::sample::subsequence(vec!["OK", "ERROR", "UNSET"], 1..3),
    ) {
        let subs = json!([
            {"name": "n", "type": "numeric_attribute",
             "numeric_attribute": {"key": "a", "min_value": min, "max_value": 2}},
            {"name": "c", "type": "span_count", "span_count": {"min_spans": spans_at_least}},
            {"name": "s", "type": "status_code", "status_code": {"status_codes": codes}},
        ]);
        let t = build_trace(resources);
        let each: Vec<bool> = subs
            .as_array()
            .expect("a list")
            .iter()
            .map(|sub| decide(&mut *policy(sub.clone()), &t).samples())
            .collect();
        let mut and = policy(json!({"name": "and", "type": "and", "and": {"and_sub_policy": subs}}));
        prop_assert_eq!(decide(&mut *and, &t).samples(), each.iter().all(|&s| s));
    }
}
