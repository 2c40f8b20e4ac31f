//! Configuration of the `probabilistic_sampler` processor: otelcol-contrib's fields, defaults
//! (`fail_closed: true`, `sampling_precision: 4`, `attribute_source: traceID`, mode
//! `hash_seed`) and validation rules, plus refusals of the combinations otelcol accepts and
//! then ignores.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;

use super::threshold::{MIN_SAMPLING_PROBABILITY, NUM_HEX_DIGITS};

/// Keeps a share of spans and log records, decided statelessly per item from its trace id
/// (or a log record attribute), and records the sampling probability in the W3C `tracestate`
/// (`ot=th:`) or the record's `sampling.threshold` attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProbabilisticSamplerConfig {
    /// Percentage of traces or log records kept: `0` keeps none, `100` or more keeps all. A
    /// 32-bit float, as in otelcol.
    pub sampling_percentage: f32,
    /// Seed of the FNV hash in `hash_seed` mode. Collectors of one tier (behind one load
    /// balancer) must share it; tiers sampling again should each use their own.
    pub hash_seed: u32,
    /// How the decision is made: `hash_seed` (the default, otelcol's legacy behaviour: an FNV
    /// hash of the seed and the trace id, 14 bits of precision), `proportional` (consistent
    /// sampling from the trace id's randomness, multiplying the probability a span arrived
    /// with) or `equalizing` (consistent sampling, lowering every span to at most the
    /// configured probability).
    pub mode: SamplerMode,
    /// Drop items whose randomness cannot be read (an all-zero trace id, an invalid
    /// `tracestate`, a missing `from_attribute`) or that arrive with an inconsistent threshold.
    /// `false` keeps them. Item priorities still apply after this.
    pub fail_closed: bool,
    /// Significant hex digits of the thresholds written (`ot=th:` and `sampling.threshold`),
    /// from 1 to 14; more are kept automatically near 0 % and 100 %. In `hash_seed` mode it
    /// applies only to log records' `sampling_priority` thresholds.
    pub sampling_precision: i64,
    /// Logs only: where a log record's randomness comes from in `hash_seed` mode: `traceID`
    /// (the record's trace id; `from_attribute` when that is empty) or `record` (the
    /// `from_attribute` attribute).
    pub attribute_source: AttributeSource,
    /// Logs only, `hash_seed` mode: the log record attribute hashed for the decision (a
    /// unique record id, say); bytes hash as they are, other values as their text.
    pub from_attribute: String,
    /// Logs only: a log record attribute holding the record's own sampling percentage (an int
    /// or double, above 0 and at most 100), used instead of `sampling_percentage`.
    pub sampling_priority: String,
}

impl Default for ProbabilisticSamplerConfig {
    fn default() -> Self {
        ProbabilisticSamplerConfig {
            sampling_percentage: 0.0,
            hash_seed: 0,
            mode: SamplerMode::HashSeed,
            fail_closed: true,
            sampling_precision: 4,
            attribute_source: AttributeSource::TraceId,
            from_attribute: String::new(),
            sampling_priority: String::new(),
        }
    }
}

/// The sampling decision's method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SamplerMode {
    /// An FNV hash of `hash_seed` and the trace id (or attribute), compared with the
    /// percentage in 2^14 buckets; kept spans get an `rv` and a `th`.
    #[default]
    HashSeed,
    /// OpenTelemetry consistent probability sampling: the probability an item arrived with is
    /// multiplied by `sampling_percentage`.
    Proportional,
    /// OpenTelemetry consistent probability sampling: items arriving with a higher probability
    /// are lowered to `sampling_percentage`, others pass as they came.
    Equalizing,
}

/// Where log records' randomness comes from in `hash_seed` mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AttributeSource {
    /// The record's trace id, or `from_attribute` when it has none.
    #[default]
    #[serde(rename = "traceID")]
    TraceId,
    /// The `from_attribute` attribute.
    #[serde(rename = "record")]
    Record,
}

impl ProbabilisticSamplerConfig {
    /// The percentage as the sampler uses it: above 100 means 100.
    pub(crate) fn percentage(&self) -> f32 {
        self.sampling_percentage.min(100.0)
    }

    /// The validated precision (1 to 14).
    pub(crate) fn precision(&self) -> u32 {
        u32::try_from(self.sampling_precision)
            .unwrap_or(NUM_HEX_DIGITS)
            .clamp(1, NUM_HEX_DIGITS)
    }
}

impl ComponentConfig for ProbabilisticSamplerConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let pct = self.sampling_percentage;
        if !pct.is_finite() {
            problems.push(format!("sampling_percentage must be a number, not {pct}"));
        } else if pct < 0.0 {
            problems.push(format!("sampling_percentage must not be negative ({pct})"));
        } else if pct > 0.0 && f64::from(pct) / 100.0 < MIN_SAMPLING_PROBABILITY {
            problems.push(format!(
                "sampling_percentage {pct} is too small: the least is 100 * 2^-56"
            ));
        }
        if !(1..=i64::from(NUM_HEX_DIGITS)).contains(&self.sampling_precision) {
            problems.push(format!(
                "sampling_precision must be from 1 to {NUM_HEX_DIGITS} hex digits, not {}",
                self.sampling_precision
            ));
        }
        if self.mode == SamplerMode::HashSeed
            && self.attribute_source == AttributeSource::Record
            && self.from_attribute.is_empty()
        {
            problems.push(
                "attribute_source `record` needs from_attribute: the attribute to hash".to_string(),
            );
        }
        // otelcol accepts these and then never reads them: refusing says so.
        if self.mode != SamplerMode::HashSeed {
            let mode = match self.mode {
                SamplerMode::Proportional => "proportional",
                _ => "equalizing",
            };
            if self.hash_seed != 0 {
                problems.push(format!(
                    "hash_seed is used only in mode `hash_seed`; mode `{mode}` samples by the \
                     trace id's randomness"
                ));
            }
            if !self.from_attribute.is_empty() {
                problems.push(format!(
                    "from_attribute is used only in mode `hash_seed`; mode `{mode}` samples log \
                     records by their trace id or `sampling.randomness`"
                ));
            } else if self.attribute_source == AttributeSource::Record {
                problems.push(format!(
                    "attribute_source `record` is used only in mode `hash_seed`, not `{mode}`"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
