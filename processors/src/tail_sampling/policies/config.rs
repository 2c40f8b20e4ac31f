//! The policy configuration, as otelcol-contrib's `PolicyCfg`: a `name`, a `type`, and beside
//! them the block of that type. Three shapes, as otelcol nests them: a top-level policy
//! ([`PolicyConfig`]: any type), a sub-policy of `and` or `drop` ([`SubPolicyConfig`]: no
//! `and`, `drop` or `composite`), and a sub-policy of `composite`
//! ([`CompositeSubPolicyConfig`]: those, or `and`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error_mode::ErrorMode;

/// The kind of a policy, naming the block that configures it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyType {
    /// Samples every trace.
    #[default]
    AlwaysSample,
    /// Samples by the trace's duration (`latency`).
    Latency,
    /// Samples by an integer attribute in a range (`numeric_attribute`).
    NumericAttribute,
    /// Samples a share of traces by a hash of the trace id (`probabilistic`).
    Probabilistic,
    /// Samples traces with a span of a status code (`status_code`).
    StatusCode,
    /// Samples by a string attribute's value or pattern (`string_attribute`).
    StringAttribute,
    /// Samples until spans per second run out (`rate_limiting`).
    RateLimiting,
    /// Samples until bytes per second run out (`bytes_limiting`).
    BytesLimiting,
    /// Samples by the number of spans (`span_count`).
    SpanCount,
    /// Samples by a `tracestate` entry (`trace_state`).
    TraceState,
    /// Samples by a boolean attribute (`boolean_attribute`).
    BooleanAttribute,
    /// Samples traces with a span or span event matching an OTTL condition
    /// (`ottl_condition`).
    OttlCondition,
    /// Samples when all its sub-policies sample (`and`).
    And,
    /// Drops, whatever the other policies say, when all its sub-policies sample (`drop`).
    Drop,
    /// Samples by the first of its sub-policies that samples, within per-second span budgets
    /// (`composite`).
    Composite,
}

impl PolicyType {
    /// The name, as written in `type:` and as the block's key.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PolicyType::AlwaysSample => "always_sample",
            PolicyType::Latency => "latency",
            PolicyType::NumericAttribute => "numeric_attribute",
            PolicyType::Probabilistic => "probabilistic",
            PolicyType::StatusCode => "status_code",
            PolicyType::StringAttribute => "string_attribute",
            PolicyType::RateLimiting => "rate_limiting",
            PolicyType::BytesLimiting => "bytes_limiting",
            PolicyType::SpanCount => "span_count",
            PolicyType::TraceState => "trace_state",
            PolicyType::BooleanAttribute => "boolean_attribute",
            PolicyType::OttlCondition => "ottl_condition",
            PolicyType::And => "and",
            PolicyType::Drop => "drop",
            PolicyType::Composite => "composite",
        }
    }
}

/// The shared blocks of a policy, borrowed: what every shape has.
#[derive(Clone, Copy)]
pub(crate) struct Shared<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: PolicyType,
    pub(crate) latency: Option<&'a LatencyConfig>,
    pub(crate) numeric_attribute: Option<&'a NumericAttributeConfig>,
    pub(crate) probabilistic: Option<&'a ProbabilisticConfig>,
    pub(crate) status_code: Option<&'a StatusCodeConfig>,
    pub(crate) string_attribute: Option<&'a StringAttributeConfig>,
    pub(crate) rate_limiting: Option<&'a RateLimitingConfig>,
    pub(crate) bytes_limiting: Option<&'a BytesLimitingConfig>,
    pub(crate) span_count: Option<&'a SpanCountConfig>,
    pub(crate) trace_state: Option<&'a TraceStateConfig>,
    pub(crate) boolean_attribute: Option<&'a BooleanAttributeConfig>,
    pub(crate) ottl_condition: Option<&'a OttlConditionConfig>,
}

/// The three shapes differ only in their compound blocks, and serde cannot flatten a shared
/// part into a struct that refuses unknown fields, so one macro writes the shared fields.
macro_rules! policy_shape {
    (
        $(#[$meta:meta])*
        $shape:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $shape {
            /// The policy's name, in metrics and logs. Required and unique among the
            /// top-level policies and among a composite's sub-policies (`rate_allocation` and
            /// `policy_order` name them); a label only inside `and` and `drop`.
            #[serde(default)]
            pub name: String,
            /// The policy's type; its block (the key of the same name) configures it, and no
            /// other type's block may be given beside it.
            #[serde(rename = "type")]
            pub kind: PolicyType,
            /// `type: latency`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub latency: Option<LatencyConfig>,
            /// `type: numeric_attribute`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub numeric_attribute: Option<NumericAttributeConfig>,
            /// `type: probabilistic`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub probabilistic: Option<ProbabilisticConfig>,
            /// `type: status_code`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status_code: Option<StatusCodeConfig>,
            /// `type: string_attribute`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub string_attribute: Option<StringAttributeConfig>,
            /// `type: rate_limiting`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub rate_limiting: Option<RateLimitingConfig>,
            /// `type: bytes_limiting`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub bytes_limiting: Option<BytesLimitingConfig>,
            /// `type: span_count`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub span_count: Option<SpanCountConfig>,
            /// `type: trace_state`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub trace_state: Option<TraceStateConfig>,
            /// `type: boolean_attribute`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub boolean_attribute: Option<BooleanAttributeConfig>,
            /// `type: ottl_condition`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ottl_condition: Option<OttlConditionConfig>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $shape {
            pub(crate) fn shared(&self) -> Shared<'_> {
                Shared {
                    name: &self.name,
                    kind: self.kind,
                    latency: self.latency.as_ref(),
                    numeric_attribute: self.numeric_attribute.as_ref(),
                    probabilistic: self.probabilistic.as_ref(),
                    status_code: self.status_code.as_ref(),
                    string_attribute: self.string_attribute.as_ref(),
                    rate_limiting: self.rate_limiting.as_ref(),
                    bytes_limiting: self.bytes_limiting.as_ref(),
                    span_count: self.span_count.as_ref(),
                    trace_state: self.trace_state.as_ref(),
                    boolean_attribute: self.boolean_attribute.as_ref(),
                    ottl_condition: self.ottl_condition.as_ref(),
                }
            }
        }
    };
}

policy_shape! {
    /// One sampling policy. A trace is kept when a policy samples it, unless a `drop` policy
    /// drops it or an `invert_match` policy refuses it.
    PolicyConfig {
        /// `type: and`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        and: Option<AndConfig>,
        /// `type: drop`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drop: Option<DropConfig>,
        /// `type: composite`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        composite: Option<CompositeConfig>,
    }
}

policy_shape! {
    /// A sub-policy of `and` or `drop`: any type but `and`, `drop` and `composite`.
    SubPolicyConfig {}
}

policy_shape! {
    /// A sub-policy of `composite`: any type but `drop` and `composite`.
    CompositeSubPolicyConfig {
        /// `type: and`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        and: Option<AndConfig>,
    }
}

/// `latency:` samples a trace by its duration, from the earliest span start to the latest
/// span end seen so far as its spans are read in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    /// The lower bound, in milliseconds. Without `upper_threshold_ms` a trace lasting at least
    /// this long is sampled; with it, one lasting more than this. One of the two bounds is
    /// required.
    #[serde(default)]
    pub threshold_ms: i64,
    /// The upper bound, in milliseconds: a trace lasting more than `threshold_ms` and at most
    /// this long is sampled. 0 (the default) is no upper bound.
    #[serde(default)]
    pub upper_threshold_ms: i64,
}

/// `numeric_attribute:` samples a trace having a resource or span attribute `key` in
/// `[min_value, max_value]`. A value that is not an integer counts as 0, as otelcol reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumericAttributeConfig {
    /// The attribute key. Required.
    #[serde(default)]
    pub key: String,
    /// The lowest value matching. 0 (the default) is no lower bound, as in otelcol; one of
    /// `min_value` and `max_value` is required.
    #[serde(default)]
    pub min_value: i64,
    /// The highest value matching. 0 (the default) is no upper bound, as in otelcol.
    #[serde(default)]
    pub max_value: i64,
    /// Sample a trace only when no resource and no span has `key` in the range (a trace
    /// without the attribute is sampled); one that has it is refused whatever the other
    /// policies say.
    #[serde(default)]
    pub invert_match: bool,
}

/// `probabilistic:` samples a share of traces by an FNV-1a hash of the salt and trace id, so
/// every collector with the same salt decides the same for a trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbabilisticConfig {
    /// The hash salt; collectors in layers sampling at different rates should use different
    /// salts. Empty (the default) is otelcol's `default-hash-seed`.
    #[serde(default)]
    pub hash_salt: String,
    /// The percentage of traces sampled, from 0; 100 or more samples every trace, as in
    /// otelcol. Required.
    #[serde(default)]
    pub sampling_percentage: Option<f64>,
}

/// `status_code:` samples a trace having a span with one of the status codes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusCodeConfig {
    /// `OK`, `ERROR` or `UNSET`; at least one.
    #[serde(default)]
    pub status_codes: Vec<String>,
}

/// `string_attribute:` samples a trace having a resource or span attribute `key` whose string
/// value is one of `values` (or matches one of them as a regular expression). A resource
/// attribute that is not a string reads as the empty string; a span's is skipped, as in
/// otelcol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringAttributeConfig {
    /// The attribute key. Required.
    #[serde(default)]
    pub key: String,
    /// The values matched exactly, or with `enabled_regex_matching` the regular expressions
    /// (Go RE2 syntax, unanchored: `^…$` for a whole value); at least one.
    #[serde(default)]
    pub values: Vec<String>,
    /// Match `values` as regular expressions.
    #[serde(default)]
    pub enabled_regex_matching: bool,
    /// How many attribute values' regex results are remembered (least recently used forgotten
    /// first). 0 (the default) is 128. Only with `enabled_regex_matching`.
    #[serde(default)]
    pub cache_max_size: usize,
    /// Sample a trace only when no resource and no span matches (a trace without the
    /// attribute is sampled); one that matches is refused whatever the other policies say.
    #[serde(default)]
    pub invert_match: bool,
}

/// `rate_limiting:` samples traces while a token bucket of spans has room for all of the
/// trace's spans, as otelcol's (golang.org/x/time/rate).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitingConfig {
    /// Spans per second refilling the bucket; more than 0. Required.
    #[serde(default)]
    pub spans_per_second: i64,
    /// The bucket's size in spans, which a trace must fit in. 0 (the default) is twice
    /// `spans_per_second`.
    #[serde(default)]
    pub burst_capacity: i64,
}

/// `bytes_limiting:` samples traces while a token bucket of bytes has room for the trace's
/// size, estimated as otelcol does (the strings, ids, times and attribute values it holds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BytesLimitingConfig {
    /// Bytes per second refilling the bucket; more than 0. Required.
    #[serde(default)]
    pub bytes_per_second: i64,
    /// The bucket's size in bytes, which a trace must fit in. 0 (the default) is twice
    /// `bytes_per_second`.
    #[serde(default)]
    pub burst_capacity: i64,
}

/// `span_count:` samples a trace by how many spans it has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpanCountConfig {
    /// The fewest spans sampled. One of `min_spans` and `max_spans` is required.
    #[serde(default)]
    pub min_spans: i32,
    /// The most spans sampled; 0 (the default) is no upper bound.
    #[serde(default)]
    pub max_spans: i32,
}

/// `trace_state:` samples a trace having a span whose W3C `tracestate` has `key` with one of
/// `values`. A span whose `tracestate` is not valid W3C never matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceStateConfig {
    /// The `tracestate` key. Required.
    #[serde(default)]
    pub key: String,
    /// The values matched exactly; at least one, none empty, each with `key` under 256
    /// characters.
    #[serde(default)]
    pub values: Vec<String>,
}

/// `boolean_attribute:` samples a trace having a resource or span attribute `key` equal to
/// `value`. A value that is not a boolean counts as `false`, as otelcol reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BooleanAttributeConfig {
    /// The attribute key. Required.
    #[serde(default)]
    pub key: String,
    /// The value matched. Required.
    #[serde(default)]
    pub value: Option<bool>,
    /// Sample a trace only when no resource and no span has `key` equal to `value` (a trace
    /// without the attribute is sampled); one that has it is refused whatever the other
    /// policies say.
    #[serde(default)]
    pub invert_match: bool,
}

/// `ottl_condition:` samples a trace having a span matching any `span` condition, or a span
/// event matching any `spanevent` condition, spans read in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OttlConditionConfig {
    /// What a condition failing on a span or event does: `propagate` (the default, as in
    /// otelcol: the policy makes no decision for the trace), `ignore` (logged at most every
    /// 10 s; the condition counts as false) or `silent` (as `ignore`, not logged).
    #[serde(default)]
    pub error_mode: ErrorMode,
    /// OTTL conditions in the span context.
    #[serde(default)]
    pub span: Vec<String>,
    /// OTTL conditions in the span event context. At least one condition in `span` or
    /// `spanevent` is required.
    #[serde(default)]
    pub spanevent: Vec<String>,
}

/// `and:` samples a trace when every sub-policy samples it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AndConfig {
    /// The sub-policies, evaluated in order until one does not sample; at least one.
    #[serde(default)]
    pub and_sub_policy: Vec<SubPolicyConfig>,
}

/// `drop:` drops a trace, whatever the other policies say, when every sub-policy samples it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DropConfig {
    /// The sub-policies, evaluated in order until one does not sample; at least one.
    #[serde(default)]
    pub drop_sub_policy: Vec<SubPolicyConfig>,
}

/// `composite:` samples a trace by the first sub-policy that samples it, if that sub-policy
/// still has room for the trace's spans in its share of this second's budget.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompositeConfig {
    /// Spans sampled per second at most by any one sub-policy, and the total the
    /// `rate_allocation` percentages share; more than 0. Required.
    #[serde(default)]
    pub max_total_spans_per_second: i64,
    /// The order the sub-policies are evaluated in, by name; those not named follow in
    /// `composite_sub_policy` order. (otelcol accepts this field but evaluates in
    /// `composite_sub_policy` order whatever it says; Weir follows it.)
    #[serde(default)]
    pub policy_order: Vec<String>,
    /// The sub-policies; at least one.
    #[serde(default)]
    pub composite_sub_policy: Vec<CompositeSubPolicyConfig>,
    /// Each sub-policy's share of `max_total_spans_per_second`. A sub-policy with no entry
    /// may sample nothing: when it would, the trace is not sampled and later sub-policies are
    /// not asked, as in otelcol.
    #[serde(default)]
    pub rate_allocation: Vec<RateAllocationConfig>,
}

/// One `rate_allocation` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateAllocationConfig {
    /// The sub-policy's name.
    #[serde(default)]
    pub policy: String,
    /// Its share of `max_total_spans_per_second`, in percent (0 to 100; all entries together
    /// at most 100). 0 (the default) is an equal share: the total over the number of
    /// sub-policies.
    #[serde(default)]
    pub percent: i64,
}
