//! Config checks, each problem at its place under `policies.N`. Stricter than otelcol where
//! otelcol would silently ignore what was written (a block of another type, an empty value, a
//! cache size without regexes) or build a policy that can never decide sensibly (no bound, no
//! rate); as otelcol where it refuses (unknown status codes, bad regexes, bad OTTL).

use std::collections::HashMap;

use weir_ottl::{Condition, Context};

use super::config::{
    AndConfig, CompositeConfig, CompositeSubPolicyConfig, PolicyConfig, PolicyType, Shared,
    SubPolicyConfig,
};
use super::{go_regex, span};

/// Every problem of `policies`, as `policies.N.… what is wrong`.
pub(crate) fn validate(policies: &[PolicyConfig]) -> Vec<String> {
    let mut problems = Vec::new();
    unique_names(
        "policies",
        policies.iter().map(|p| p.name.as_str()),
        &mut problems,
    );
    for (i, policy) in policies.iter().enumerate() {
        let at = format!("policies.{i}");
        let s = policy.shared();
        stray_blocks(&at, s, &mut problems);
        let compounds = [
            (PolicyType::And, policy.and.is_some()),
            (PolicyType::Drop, policy.drop.is_some()),
            (PolicyType::Composite, policy.composite.is_some()),
        ];
        stray_compounds(&at, s.kind, &compounds, &mut problems);
        match s.kind {
            PolicyType::And => {
                and(&at, "and", policy.and.as_ref(), &mut problems);
            }
            PolicyType::Drop => match &policy.drop {
                None => problems.push(missing(&at, PolicyType::Drop)),
                Some(drop) => sub_policies(
                    &format!("{at}.drop.drop_sub_policy"),
                    "drop_sub_policy",
                    &drop.drop_sub_policy,
                    &mut problems,
                ),
            },
            PolicyType::Composite => match &policy.composite {
                None => problems.push(missing(&at, PolicyType::Composite)),
                Some(composite) => {
                    self::composite(&format!("{at}.composite"), composite, &mut problems)
                }
            },
            _ => shared(&at, s, &mut problems),
        }
    }
    problems
}

fn missing(at: &str, kind: PolicyType) -> String {
    let kind = kind.as_str();
    format!("{at}.{kind} is required by type {kind}")
}

/// Names must be there and differ, where something refers to them.
fn unique_names<'a>(at: &str, names: impl Iterator<Item = &'a str>, problems: &mut Vec<String>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in names.enumerate() {
        if name.is_empty() {
            problems.push(format!("{at}.{i}.name must not be empty"));
        } else if let Some(first) = seen.get(name) {
            problems.push(format!(
                "{at}.{i}.name `{name}` is already the name of {at}.{first}"
            ));
        } else {
            seen.insert(name, i);
        }
    }
}

/// The shared blocks given, by type.
fn blocks(s: Shared<'_>) -> [(PolicyType, bool); 11] {
    [
        (PolicyType::Latency, s.latency.is_some()),
        (PolicyType::NumericAttribute, s.numeric_attribute.is_some()),
        (PolicyType::Probabilistic, s.probabilistic.is_some()),
        (PolicyType::StatusCode, s.status_code.is_some()),
        (PolicyType::StringAttribute, s.string_attribute.is_some()),
        (PolicyType::RateLimiting, s.rate_limiting.is_some()),
        (PolicyType::BytesLimiting, s.bytes_limiting.is_some()),
        (PolicyType::SpanCount, s.span_count.is_some()),
        (PolicyType::TraceState, s.trace_state.is_some()),
        (PolicyType::BooleanAttribute, s.boolean_attribute.is_some()),
        (PolicyType::OttlCondition, s.ottl_condition.is_some()),
    ]
}

/// A block for another type than the policy's would be ignored by otelcol: refused.
fn stray_blocks(at: &str, s: Shared<'_>, problems: &mut Vec<String>) {
    stray_compounds(at, s.kind, &blocks(s), problems);
}

fn stray_compounds(
    at: &str,
    kind: PolicyType,
    given: &[(PolicyType, bool)],
    problems: &mut Vec<String>,
) {
    for &(block, present) in given {
        if present && block != kind {
            problems.push(format!(
                "{at}.{} is given but {at}.type is {} (otelcol would ignore the block)",
                block.as_str(),
                kind.as_str()
            ));
        }
    }
}

/// `and` (at top level or in a composite): its block and sub-policies.
fn and(at: &str, key: &str, block: Option<&AndConfig>, problems: &mut Vec<String>) {
    match block {
        None => problems.push(missing(at, PolicyType::And)),
        Some(and) => sub_policies(
            &format!("{at}.{key}.and_sub_policy"),
            "and_sub_policy",
            &and.and_sub_policy,
            problems,
        ),
    }
}

/// The sub-policies of `and` or `drop`: shared types only, as otelcol's `AndSubPolicyCfg`.
fn sub_policies(at: &str, list: &str, subs: &[SubPolicyConfig], problems: &mut Vec<String>) {
    if subs.is_empty() {
        problems.push(format!("{at} must list at least one policy"));
    }
    for (j, sub) in subs.iter().enumerate() {
        let at = format!("{at}.{j}");
        let s = sub.shared();
        stray_blocks(&at, s, problems);
        match s.kind {
            PolicyType::And | PolicyType::Drop | PolicyType::Composite => {
                problems.push(format!(
                    "{at}.type {} is not allowed in {list}: otelcol nests only the other types \
                     there",
                    s.kind.as_str()
                ));
            }
            _ => shared(&at, s, problems),
        }
    }
}

fn composite(at: &str, c: &CompositeConfig, problems: &mut Vec<String>) {
    if c.max_total_spans_per_second <= 0 {
        problems.push(format!(
            "{at}.max_total_spans_per_second must be more than 0"
        ));
    }
    let subs_at = format!("{at}.composite_sub_policy");
    if c.composite_sub_policy.is_empty() {
        problems.push(format!("{subs_at} must list at least one policy"));
    }
    unique_names(
        &subs_at,
        c.composite_sub_policy.iter().map(|p| p.name.as_str()),
        problems,
    );
    for (j, sub) in c.composite_sub_policy.iter().enumerate() {
        composite_sub(&format!("{subs_at}.{j}"), sub, problems);
    }
    let named = |name: &str| c.composite_sub_policy.iter().any(|p| p.name == name);
    let mut allocated: HashMap<&str, usize> = HashMap::new();
    let mut total = 0i64;
    for (k, allocation) in c.rate_allocation.iter().enumerate() {
        let at = format!("{at}.rate_allocation.{k}");
        let policy = allocation.policy.as_str();
        if !named(policy) {
            problems.push(format!(
                "{at}.policy `{policy}` names no policy of composite_sub_policy"
            ));
        } else if let Some(first) = allocated.get(policy) {
            problems.push(format!(
                "{at}.policy `{policy}` is already allocated by rate_allocation.{first}"
            ));
        } else {
            allocated.insert(policy, k);
        }
        if !(0..=100).contains(&allocation.percent) {
            problems.push(format!("{at}.percent must be from 0 to 100"));
        } else {
            total += allocation.percent;
        }
    }
    if total > 100 {
        problems.push(format!(
            "{at}.rate_allocation percents add up to {total}, more than 100"
        ));
    }
    let mut ordered: HashMap<&str, usize> = HashMap::new();
    for (k, name) in c.policy_order.iter().enumerate() {
        if !named(name) {
            problems.push(format!(
                "{at}.policy_order.{k} `{name}` names no policy of composite_sub_policy"
            ));
        } else if let Some(first) = ordered.get(name.as_str()) {
            problems.push(format!(
                "{at}.policy_order.{k} `{name}` is already at policy_order.{first}"
            ));
        } else {
            ordered.insert(name, k);
        }
    }
}

/// A composite's sub-policy: a shared type or `and`, as otelcol's `CompositeSubPolicyCfg`.
fn composite_sub(at: &str, sub: &CompositeSubPolicyConfig, problems: &mut Vec<String>) {
    let s = sub.shared();
    stray_blocks(at, s, problems);
    stray_compounds(
        at,
        s.kind,
        &[(PolicyType::And, sub.and.is_some())],
        problems,
    );
    match s.kind {
        PolicyType::And => and(at, "and", sub.and.as_ref(), problems),
        PolicyType::Drop | PolicyType::Composite => problems.push(format!(
            "{at}.type {} is not allowed in composite_sub_policy: otelcol nests only and and \
             the types that are not compound there",
            s.kind.as_str()
        )),
        _ => shared(at, s, problems),
    }
}

/// The checks of a shared (non-compound) policy's block.
fn shared(at: &str, s: Shared<'_>, out: &mut Vec<String>) {
    let b = format!("{at}.{}", s.kind.as_str());
    macro_rules! block {
        ($field:ident) => {
            match s.$field {
                Some(c) => c,
                None => return out.push(missing(at, s.kind)),
            }
        };
    }
    match s.kind {
        PolicyType::AlwaysSample => {}
        PolicyType::Latency => {
            let c = block!(latency);
            let (lower, upper) = (c.threshold_ms, c.upper_threshold_ms);
            if lower < 0 || upper < 0 {
                out.push(format!(
                    "{b}.threshold_ms and upper_threshold_ms must not be negative"
                ));
            } else if lower == 0 && upper == 0 {
                out.push(format!("{b} needs threshold_ms or upper_threshold_ms"));
            } else if upper != 0 && upper <= lower {
                out.push(format!(
                    "{b}.upper_threshold_ms must be more than threshold_ms ({lower}), or 0 for \
                     no upper bound"
                ));
            }
        }
        PolicyType::NumericAttribute => {
            let c = block!(numeric_attribute);
            key(&b, &c.key, out);
            if c.min_value == 0 && c.max_value == 0 {
                out.push(format!(
                    "{b} needs min_value or max_value (0 is no bound, as in otelcol)"
                ));
            } else if c.min_value != 0 && c.max_value != 0 && c.min_value > c.max_value {
                out.push(format!(
                    "{b}.min_value ({}) is more than max_value ({})",
                    c.min_value, c.max_value
                ));
            }
        }
        PolicyType::Probabilistic => {
            let c = block!(probabilistic);
            match c.sampling_percentage {
                None => out.push(format!("{b}.sampling_percentage is required")),
                Some(p) if p.is_nan() || p < 0.0 => out.push(format!(
                    "{b}.sampling_percentage must be a number from 0 (100 or more samples \
                     every trace)"
                )),
                Some(_) => {}
            }
        }
        PolicyType::StatusCode => {
            let c = block!(status_code);
            if c.status_codes.is_empty() {
                out.push(format!(
                    "{b}.status_codes must list at least one of OK, ERROR, UNSET"
                ));
            }
            for (j, code) in c.status_codes.iter().enumerate() {
                if span::status_number(code).is_none() {
                    out.push(format!(
                        "{b}.status_codes.{j} `{code}` is not a status code: OK, ERROR or \
                             UNSET"
                    ));
                }
            }
        }
        PolicyType::StringAttribute => {
            let c = block!(string_attribute);
            key(&b, &c.key, out);
            if c.values.is_empty() {
                out.push(format!("{b}.values must list at least one value"));
            }
            for (j, value) in c.values.iter().enumerate() {
                if c.enabled_regex_matching {
                    if let Err(e) = go_regex::compile(value) {
                        out.push(format!(
                            "{b}.values.{j} is not a valid regular expression: {e}"
                        ));
                    }
                } else if value.is_empty() {
                    out.push(format!(
                        "{b}.values.{j} must not be empty (otelcol ignores empty values)"
                    ));
                }
            }
            if c.cache_max_size != 0 && !c.enabled_regex_matching {
                out.push(format!(
                    "{b}.cache_max_size is only used with enabled_regex_matching"
                ));
            }
        }
        PolicyType::RateLimiting => {
            let c = block!(rate_limiting);
            rate(
                &b,
                "spans_per_second",
                c.spans_per_second,
                c.burst_capacity,
                out,
            );
        }
        PolicyType::BytesLimiting => {
            let c = block!(bytes_limiting);
            rate(
                &b,
                "bytes_per_second",
                c.bytes_per_second,
                c.burst_capacity,
                out,
            );
        }
        PolicyType::SpanCount => {
            let c = block!(span_count);
            let (min, max) = (c.min_spans, c.max_spans);
            if min < 0 || max < 0 {
                out.push(format!("{b}.min_spans and max_spans must not be negative"));
            } else if min == 0 && max == 0 {
                out.push(format!("{b} needs min_spans or max_spans"));
            } else if max != 0 && max < min {
                out.push(format!(
                    "{b}.max_spans must be at least min_spans ({min}), or 0 for no upper bound"
                ));
            }
        }
        PolicyType::TraceState => {
            let c = block!(trace_state);
            key(&b, &c.key, out);
            if !c.key.is_empty() && !span::valid_key(&c.key) {
                out.push(format!(
                    "{b}.key `{}` is not a W3C tracestate key, so it never matches",
                    c.key
                ));
            }
            if c.values.is_empty() {
                out.push(format!("{b}.values must list at least one value"));
            }
            for (j, value) in c.values.iter().enumerate() {
                if value.is_empty() {
                    out.push(format!(
                        "{b}.values.{j} must not be empty (otelcol ignores empty values)"
                    ));
                } else if c.key.len() + value.len() >= 256 {
                    out.push(format!(
                        "{b}.values.{j} with the key is 256 characters or more, longer \
                             than a tracestate entry (otelcol ignores it)"
                    ));
                }
            }
        }
        PolicyType::BooleanAttribute => {
            let c = block!(boolean_attribute);
            key(&b, &c.key, out);
            if c.value.is_none() {
                out.push(format!("{b}.value is required"));
            }
        }
        PolicyType::OttlCondition => {
            let c = block!(ottl_condition);
            if c.span.is_empty() && c.spanevent.is_empty() {
                out.push(format!(
                    "{b} needs at least one condition in span or spanevent"
                ));
            }
            Condition::compile_list(&format!("{b}.span"), Context::Span, &c.span, out);
            Condition::compile_list(
                &format!("{b}.spanevent"),
                Context::SpanEvent,
                &c.spanevent,
                out,
            );
        }
        PolicyType::And | PolicyType::Drop | PolicyType::Composite => {}
    }
}

fn key(b: &str, key: &str, out: &mut Vec<String>) {
    if key.is_empty() {
        out.push(format!("{b}.key must not be empty"));
    }
}

fn rate(b: &str, field: &str, rate: i64, burst: i64, out: &mut Vec<String>) {
    if rate <= 0 {
        out.push(format!("{b}.{field} must be more than 0"));
    }
    if burst < 0 {
        out.push(format!("{b}.burst_capacity must not be negative"));
    }
}
