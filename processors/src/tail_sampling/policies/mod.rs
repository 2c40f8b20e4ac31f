//! The sampling policies of `tail_sampling`, as otelcol-contrib's
//! `processor/tailsamplingprocessor/internal/sampling`: each decides on a held trace, reading
//! its spans on the wire. The config ([`PolicyConfig`]) is checked by [`validate`] and turned
//! into evaluators by [`build`].

mod attribute;
mod composite;
mod config;
mod go_regex;
mod ottl;
mod probabilistic;
mod rate;
mod span;
mod validate;
mod wire;

use weir_ottl::{Condition, Context};

pub use config::{PolicyConfig, PolicyType};
pub(crate) use validate::validate;

use super::trace::Evaluate;
use config::{AndConfig, CompositeConfig, Shared, SubPolicyConfig};

/// A built policy.
pub(crate) struct Policy {
    /// Its `name`, for metrics and logs.
    pub(crate) name: String,
    pub(crate) evaluator: Box<dyn Evaluate>,
}

/// The policies of `policies` (validated here first; the problems joined by `; `), in order.
/// `processor` (the processor's id) labels the OTTL failures counted.
pub(crate) fn build(policies: &[PolicyConfig], processor: &str) -> Result<Vec<Policy>, String> {
    let problems = validate(policies);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    policies
        .iter()
        .map(|p| {
            Ok(Policy {
                name: p.name.clone(),
                evaluator: top_level(p, processor)?,
            })
        })
        .collect()
}

fn top_level(p: &PolicyConfig, processor: &str) -> Result<Box<dyn Evaluate>, String> {
    Ok(match p.kind {
        PolicyType::And => and(p.and.as_ref(), &p.name, processor)?,
        PolicyType::Drop => {
            let drop = p.drop.as_ref().ok_or_else(|| absent(&p.name, "drop"))?;
            Box::new(composite::Drop {
                subs: subs(&drop.drop_sub_policy, processor)?,
            })
        }
        PolicyType::Composite => {
            let c = p
                .composite
                .as_ref()
                .ok_or_else(|| absent(&p.name, "composite"))?;
            composite(c, processor)?
        }
        _ => shared(p.shared(), processor)?,
    })
}

/// A block validation guarantees, missing anyway: a bug, reported rather than a panic.
fn absent(name: &str, block: &str) -> String {
    format!("policy `{name}` has no {block} block")
}

fn and(
    block: Option<&AndConfig>,
    name: &str,
    processor: &str,
) -> Result<Box<dyn Evaluate>, String> {
    let and = block.ok_or_else(|| absent(name, "and"))?;
    Ok(Box::new(composite::And {
        subs: subs(&and.and_sub_policy, processor)?,
    }))
}

fn subs(list: &[SubPolicyConfig], processor: &str) -> Result<Vec<Box<dyn Evaluate>>, String> {
    list.iter()
        .map(|sub| shared(sub.shared(), processor))
        .collect()
}

/// `composite`: sub-policies in `policy_order`, then the others in their order.
fn composite(c: &CompositeConfig, processor: &str) -> Result<Box<dyn Evaluate>, String> {
    let subs = &c.composite_sub_policy;
    let mut order: Vec<usize> = c
        .policy_order
        .iter()
        .filter_map(|name| subs.iter().position(|s| s.name == *name))
        .collect();
    let rest: Vec<usize> = (0..subs.len()).filter(|i| !order.contains(i)).collect();
    order.extend(rest);
    let mut allotted = Vec::with_capacity(subs.len());
    for i in order {
        let sub = &subs[i];
        let evaluator = match sub.kind {
            PolicyType::And => and(sub.and.as_ref(), &sub.name, processor)?,
            _ => shared(sub.shared(), processor)?,
        };
        // A sub-policy without an entry gets 0, as otelcol's map lookup does.
        let allocation = c
            .rate_allocation
            .iter()
            .find(|a| a.policy == sub.name)
            .map_or(0, |a| {
                composite::allocation(a.percent, c.max_total_spans_per_second, subs.len())
            });
        allotted.push(composite::Allotted::new(evaluator, allocation));
    }
    Ok(Box::new(composite::Composite::new(
        allotted,
        c.max_total_spans_per_second,
    )))
}

/// A policy that is not compound.
fn shared(s: Shared<'_>, processor: &str) -> Result<Box<dyn Evaluate>, String> {
    let none = |block: &str| absent(s.name, block);
    Ok(match s.kind {
        PolicyType::AlwaysSample => Box::new(span::Always),
        PolicyType::Latency => {
            let c = s.latency.ok_or_else(|| none("latency"))?;
            Box::new(span::Latency {
                threshold_ms: c.threshold_ms,
                upper_threshold_ms: c.upper_threshold_ms,
            })
        }
        PolicyType::NumericAttribute => {
            let c = s
                .numeric_attribute
                .ok_or_else(|| none("numeric_attribute"))?;
            Box::new(attribute::Numeric::new(
                &c.key,
                c.min_value,
                c.max_value,
                c.invert_match,
            ))
        }
        PolicyType::Probabilistic => {
            let c = s.probabilistic.ok_or_else(|| none("probabilistic"))?;
            Box::new(probabilistic::Probabilistic::new(
                &c.hash_salt,
                c.sampling_percentage.unwrap_or(0.0),
            ))
        }
        PolicyType::StatusCode => {
            let c = s.status_code.ok_or_else(|| none("status_code"))?;
            Box::new(span::StatusCode {
                codes: c
                    .status_codes
                    .iter()
                    .filter_map(|code| span::status_number(code))
                    .collect(),
            })
        }
        PolicyType::StringAttribute => {
            let c = s.string_attribute.ok_or_else(|| none("string_attribute"))?;
            if c.enabled_regex_matching {
                let patterns = c
                    .values
                    .iter()
                    .map(|v| go_regex::compile(v))
                    .collect::<Result<Vec<_>, _>>()?;
                Box::new(attribute::Strings::regex(
                    &c.key,
                    patterns,
                    c.cache_max_size,
                    c.invert_match,
                ))
            } else {
                Box::new(attribute::Strings::exact(&c.key, &c.values, c.invert_match))
            }
        }
        PolicyType::RateLimiting => {
            let c = s.rate_limiting.ok_or_else(|| none("rate_limiting"))?;
            let burst = rate::burst_or_default(c.spans_per_second, c.burst_capacity);
            Box::new(rate::RateLimiting {
                bucket: rate::Bucket::new(c.spans_per_second, burst),
            })
        }
        PolicyType::BytesLimiting => {
            let c = s.bytes_limiting.ok_or_else(|| none("bytes_limiting"))?;
            let burst = rate::burst_or_default(c.bytes_per_second, c.burst_capacity);
            Box::new(rate::BytesLimiting {
                bucket: rate::Bucket::new(c.bytes_per_second, burst),
            })
        }
        PolicyType::SpanCount => {
            let c = s.span_count.ok_or_else(|| none("span_count"))?;
            Box::new(span::SpanCount {
                min: c.min_spans,
                max: c.max_spans,
            })
        }
        PolicyType::TraceState => {
            let c = s.trace_state.ok_or_else(|| none("trace_state"))?;
            Box::new(span::TraceState {
                key: c.key.clone(),
                values: c.values.clone(),
            })
        }
        PolicyType::BooleanAttribute => {
            let c = s
                .boolean_attribute
                .ok_or_else(|| none("boolean_attribute"))?;
            Box::new(attribute::Boolean::new(
                &c.key,
                c.value.unwrap_or(false),
                c.invert_match,
            ))
        }
        PolicyType::OttlCondition => {
            let c = s.ottl_condition.ok_or_else(|| none("ottl_condition"))?;
            let mut problems = Vec::new();
            let span = Condition::compile_list("span", Context::Span, &c.span, &mut problems);
            let spanevent = Condition::compile_list(
                "spanevent",
                Context::SpanEvent,
                &c.spanevent,
                &mut problems,
            );
            if !problems.is_empty() {
                return Err(problems.join("; "));
            }
            Box::new(ottl::Ottl::new(
                s.name,
                span,
                spanevent,
                c.error_mode,
                processor,
            ))
        }
        PolicyType::And | PolicyType::Drop | PolicyType::Composite => {
            return Err(format!(
                "policy `{}`: type {} cannot be nested here",
                s.name,
                s.kind.as_str()
            ));
        }
    })
}

#[cfg(test)]
mod tests;
