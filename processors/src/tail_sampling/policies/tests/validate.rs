//! Config problems, each at its place.

use serde_json::json;

use super::*;
use crate::tail_sampling::policies::validate;

fn problems(policies: serde_json::Value) -> Vec<String> {
    let policies: Vec<PolicyConfig> = serde_json::from_value(policies).expect("parses");
    validate(&policies)
}

/// The problems of one policy of `type` with `block`.
fn of_block(kind: &str, block: serde_json::Value) -> Vec<String> {
    problems(json!([{"name": "p", "type": kind, kind: block}]))
}

#[track_caller]
fn only(found: Vec<String>, wanted: &str) {
    assert_eq!(found, vec![wanted.to_string()]);
}

#[test]
fn a_valid_config_has_no_problems() {
    let found = problems(json!([
        {"name": "all", "type": "always_sample"},
        {"name": "slow", "type": "latency", "latency": {"threshold_ms": 10}},
        {"name": "num", "type": "numeric_attribute",
         "numeric_attribute": {"key": "k", "min_value": 1}},
        {"name": "prob", "type": "probabilistic", "probabilistic": {"sampling_percentage": 150}},
        {"name": "err", "type": "status_code", "status_code": {"status_codes": ["ERROR", "OK"]}},
        {"name": "str", "type": "string_attribute",
         "string_attribute": {"key": "k", "values": ["a.*"], "enabled_regex_matching": true,
                              "cache_max_size": 10}},
        {"name": "rate", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 5}},
        {"name": "bytes", "type": "bytes_limiting", "bytes_limiting": {"bytes_per_second": 5}},
        {"name": "count", "type": "span_count", "span_count": {"max_spans": 9}},
        {"name": "fast", "type": "latency", "latency": {"upper_threshold_ms": 10}},
        {"name": "ts", "type": "trace_state", "trace_state": {"key": "k", "values": ["v"]}},
        {"name": "bool", "type": "boolean_attribute",
         "boolean_attribute": {"key": "k", "value": false}},
        {"name": "ottl", "type": "ottl_condition", "ottl_condition": {"span": ["name == \"a\""]}},
        {"name": "and", "type": "and", "and": {"and_sub_policy": [{"type": "always_sample"}]}},
        {"name": "drop", "type": "drop", "drop": {"drop_sub_policy": [{"type": "always_sample"}]}},
        {"name": "comp", "type": "composite", "composite": {
            "max_total_spans_per_second": 10,
            "policy_order": ["b", "a"],
            "composite_sub_policy": [
                {"name": "a", "type": "always_sample"},
                {"name": "b", "type": "and",
                 "and": {"and_sub_policy": [{"type": "always_sample"}]}},
            ],
            "rate_allocation": [{"policy": "a", "percent": 60}, {"policy": "b", "percent": 40}],
        }},
    ]));
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn names_must_be_given_and_unique() {
    let found = problems(json!([
        {"name": "a", "type": "always_sample"},
        {"type": "always_sample"},
        {"name": "a", "type": "always_sample"},
    ]));
    assert_eq!(
        found,
        [
            "policies.1.name must not be empty",
            "policies.2.name `a` is already the name of policies.0",
        ]
    );
}

#[test]
fn a_block_of_another_type_is_refused_naming_both() {
    let found = problems(json!([{
        "name": "p", "type": "boolean_attribute",
        "boolean_attribute": {"key": "k", "value": true},
        "string_attribute": {"key": "k", "values": ["v"]},
    }]));
    only(
        found,
        "policies.0.string_attribute is given but policies.0.type is boolean_attribute \
         (otelcol would ignore the block)",
    );
    let found = problems(json!([{"name": "p", "type": "always_sample", "and": {}}]));
    only(
        found,
        "policies.0.and is given but policies.0.type is always_sample (otelcol would ignore \
         the block)",
    );
}

#[test]
fn the_block_of_the_type_is_required() {
    only(
        problems(json!([{"name": "p", "type": "latency"}])),
        "policies.0.latency is required by type latency",
    );
    only(
        problems(json!([{"name": "p", "type": "composite"}])),
        "policies.0.composite is required by type composite",
    );
}

#[test]
fn each_block_says_what_is_missing_or_wrong() {
    only(
        of_block("latency", json!({})),
        "policies.0.latency needs threshold_ms or upper_threshold_ms",
    );
    only(
        of_block(
            "latency",
            json!({"threshold_ms": 100, "upper_threshold_ms": 50}),
        ),
        "policies.0.latency.upper_threshold_ms must be more than threshold_ms (100), or 0 for \
         no upper bound",
    );
    only(
        of_block("numeric_attribute", json!({"key": "k"})),
        "policies.0.numeric_attribute needs min_value or max_value (0 is no bound, as in \
         otelcol)",
    );
    only(
        of_block("numeric_attribute", json!({"min_value": 1})),
        "policies.0.numeric_attribute.key must not be empty",
    );
    only(
        of_block("probabilistic", json!({"sampling_percentage": -1})),
        "policies.0.probabilistic.sampling_percentage must be a number from 0 (100 or more \
         samples every trace)",
    );
    only(
        of_block("probabilistic", json!({})),
        "policies.0.probabilistic.sampling_percentage is required",
    );
    only(
        of_block("status_code", json!({"status_codes": ["ERROR", "error"]})),
        "policies.0.status_code.status_codes.1 `error` is not a status code: OK, ERROR or UNSET",
    );
    only(
        of_block("status_code", json!({})),
        "policies.0.status_code.status_codes must list at least one of OK, ERROR, UNSET",
    );
    only(
        of_block("string_attribute", json!({"values": ["v"]})),
        "policies.0.string_attribute.key must not be empty",
    );
    only(
        of_block("string_attribute", json!({"key": "k", "values": ["v", ""]})),
        "policies.0.string_attribute.values.1 must not be empty (otelcol ignores empty values)",
    );
    only(
        of_block(
            "string_attribute",
            json!({"key": "k", "values": ["v"], "cache_max_size": 5}),
        ),
        "policies.0.string_attribute.cache_max_size is only used with enabled_regex_matching",
    );
    only(
        of_block("rate_limiting", json!({})),
        "policies.0.rate_limiting.spans_per_second must be more than 0",
    );
    only(
        of_block(
            "bytes_limiting",
            json!({"bytes_per_second": 5, "burst_capacity": -1}),
        ),
        "policies.0.bytes_limiting.burst_capacity must not be negative",
    );
    only(
        of_block("span_count", json!({})),
        "policies.0.span_count needs min_spans or max_spans",
    );
    only(
        of_block("span_count", json!({"min_spans": 5, "max_spans": 2})),
        "policies.0.span_count.max_spans must be at least min_spans (5), or 0 for no upper bound",
    );
    only(
        of_block("trace_state", json!({"key": "Key", "values": ["v"]})),
        "policies.0.trace_state.key `Key` is not a W3C tracestate key, so it never matches",
    );
    only(
        of_block(
            "trace_state",
            json!({"key": "k", "values": ["x".repeat(255)]}),
        ),
        "policies.0.trace_state.values.0 with the key is 256 characters or more, longer than a \
         tracestate entry (otelcol ignores it)",
    );
    only(
        of_block("boolean_attribute", json!({"key": "k"})),
        "policies.0.boolean_attribute.value is required",
    );
    only(
        of_block("ottl_condition", json!({})),
        "policies.0.ottl_condition needs at least one condition in span or spanevent",
    );
}

#[test]
fn a_bad_regex_is_refused_with_its_place() {
    let found = of_block(
        "string_attribute",
        json!({"key": "k", "values": ["ok", "a(b"], "enabled_regex_matching": true}),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "policies.0.string_attribute.values.1 is not a valid regular expression: "
        ),
        "{found:?}"
    );
}

#[test]
fn an_ottl_condition_that_does_not_compile_is_refused_with_the_column() {
    let found = of_block(
        "ottl_condition",
        json!({"span": ["name == \"a\""], "spanevent": ["IsMatc(name, \"x\")"]}),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .starts_with("policies.0.ottl_condition.spanevent.0 is not a valid OTTL condition: ")
            && found[0].contains("column 1"),
        "{found:?}"
    );
}

#[test]
fn compound_policies_nest_as_in_otelcol() {
    let found = problems(
        json!([{"name": "p", "type": "and", "and": {"and_sub_policy": [
            {"name": "x", "type": "and"},
            {"name": "y", "type": "latency"},
        ]}}]),
    );
    assert_eq!(
        found,
        [
            "policies.0.and.and_sub_policy.0.type and is not allowed in and_sub_policy: otelcol \
             nests only the other types there",
            "policies.0.and.and_sub_policy.1.latency is required by type latency",
        ]
    );
    only(
        problems(json!([{"name": "p", "type": "drop", "drop": {"drop_sub_policy": []}}])),
        "policies.0.drop.drop_sub_policy must list at least one policy",
    );
    let found = problems(json!([{"name": "p", "type": "composite", "composite": {
        "max_total_spans_per_second": 1,
        "composite_sub_policy": [
            {"name": "a", "type": "drop"},
            {"name": "b", "type": "and", "and": {"and_sub_policy": [{"type": "composite"}]}},
        ],
    }}]));
    assert_eq!(
        found,
        [
            "policies.0.composite.composite_sub_policy.0.type drop is not allowed in \
             composite_sub_policy: otelcol nests only and and the types that are not compound \
             there",
            "policies.0.composite.composite_sub_policy.1.and.and_sub_policy.0.type composite is \
             not allowed in and_sub_policy: otelcol nests only the other types there",
        ]
    );
}

#[test]
fn composite_allocations_and_order_must_name_sub_policies() {
    let found = problems(json!([{"name": "p", "type": "composite", "composite": {
        "max_total_spans_per_second": 0,
        "policy_order": ["a", "nope", "a"],
        "composite_sub_policy": [
            {"name": "a", "type": "always_sample"},
            {"name": "b", "type": "always_sample"},
            {"type": "always_sample"},
        ],
        "rate_allocation": [
            {"policy": "a", "percent": 70},
            {"policy": "ghost", "percent": 10},
            {"policy": "b", "percent": 40},
            {"policy": "a", "percent": 101},
        ],
    }}]));
    let at = "policies.0.composite";
    assert_eq!(
        found,
        [
            format!("{at}.max_total_spans_per_second must be more than 0"),
            format!("{at}.composite_sub_policy.2.name must not be empty"),
            format!(
                "{at}.rate_allocation.1.policy `ghost` names no policy of composite_sub_policy"
            ),
            format!("{at}.rate_allocation.3.policy `a` is already allocated by rate_allocation.0"),
            format!("{at}.rate_allocation.3.percent must be from 0 to 100"),
            format!("{at}.rate_allocation percents add up to 120, more than 100"),
            format!("{at}.policy_order.1 `nope` names no policy of composite_sub_policy"),
            format!("{at}.policy_order.2 `a` is already at policy_order.0"),
        ]
    );
}

#[test]
fn build_refuses_what_validate_refuses() {
    let policies: Vec<PolicyConfig> =
        serde_json::from_value(json!([{"name": "p", "type": "latency"}])).expect("parses");
    let error = build(&policies, "tail_sampling").err().expect("refused");
    assert_eq!(error, "policies.0.latency is required by type latency");
}

#[test]
fn unknown_types_and_fields_do_not_parse() {
    let unknown_type = serde_json::from_value::<PolicyConfig>(json!({"name": "p", "type": "nope"}));
    assert!(unknown_type.is_err());
    let nested_block = serde_json::from_value::<PolicyConfig>(json!({
        "name": "p", "type": "and",
        "and": {"and_sub_policy": [{"type": "always_sample", "and": {}}]},
    }));
    assert!(
        nested_block
            .unwrap_err()
            .to_string()
            .contains("unknown field `and`")
    );
}
