//! The decision for one item, the same for spans and log records (otelcol-contrib's
//! `makeSampler` and `commonShouldSampleLogic`): the item's randomness and the sampling values
//! it arrived with (its carrier: the `tracestate`, or the record's attributes) are read; a
//! problem (no randomness, unreadable values, an arriving threshold its randomness does not
//! pass) makes the threshold keep nothing under `fail_closed`, everything otherwise; else the
//! mode picks the threshold. The item's priority then may override it, the item is kept when
//! threshold <= randomness, and a kept item's carrier records the threshold it was kept at.

use super::config::{ProbabilisticSamplerConfig, SamplerMode};
use super::hash;
use super::threshold::{MIN_SAMPLING_PROBABILITY, Randomness, Threshold, ValueError};
use super::tracestate::TraceStateError;

/// The sampling values an item carries.
pub(crate) trait Carrier {
    /// The threshold it arrived with, if any.
    fn threshold(&self) -> Option<Threshold>;
    /// Its explicit randomness (`rv`, `sampling.randomness`), if any.
    fn explicit_randomness(&self) -> Option<Randomness>;
    /// Records explicit randomness (`hash_seed` mode, which has its own).
    fn set_randomness(&mut self, randomness: Randomness);
    /// Forgets an arriving threshold that its randomness contradicts.
    fn clear_threshold(&mut self);
    /// Records the threshold the item was kept at; refused when that would raise the
    /// probability it arrived with.
    fn update_threshold(&mut self, threshold: Threshold) -> Result<(), Inconsistent>;
}

/// "cannot raise existing sampling probability".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Inconsistent;

/// Where an item's randomness came from: otelcol's `policy` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    TraceIdHash,
    TraceIdW3c,
    SamplingRandomness,
    SamplingPriority,
    MissingRandomness,
    /// The log record attribute `from_attribute` (labelled with its name).
    Attribute,
}

impl Policy {
    pub(crate) const ALL: [Policy; 6] = [
        Policy::TraceIdHash,
        Policy::TraceIdW3c,
        Policy::SamplingRandomness,
        Policy::SamplingPriority,
        Policy::MissingRandomness,
        Policy::Attribute,
    ];

    /// The label value; `attribute` names the `Attribute` policy.
    pub(crate) fn label(self, attribute: &str) -> &str {
        match self {
            Policy::TraceIdHash => "trace_id_hash",
            Policy::TraceIdW3c => "trace_id_w3c",
            Policy::SamplingRandomness => "sampling_randomness",
            Policy::SamplingPriority => "sampling_priority",
            Policy::MissingRandomness => "missing_randomness",
            Policy::Attribute => attribute,
        }
    }
}

/// An item's randomness and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) policy: Policy,
    pub(crate) randomness: Randomness,
}

impl Source {
    /// No randomness: kept at any probability above zero if the error is let through.
    pub(crate) const MISSING: Source = Source {
        policy: Policy::MissingRandomness,
        randomness: Randomness::ALL,
    };

    pub(crate) fn new(policy: Policy, randomness: Randomness) -> Source {
        Source { policy, randomness }
    }

    /// The same randomness, counted as decided by priority.
    pub(crate) fn by_priority(self) -> Source {
        Source::new(Policy::SamplingPriority, self.randomness)
    }
}

/// Why an item could not be decided as configured (otelcol's words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Problem {
    #[error(transparent)]
    TraceState(#[from] TraceStateError),
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("inconsistent arriving threshold: item should not have been sampled")]
    InconsistentThreshold,
    #[error("missing randomness")]
    MissingRandomness,
    #[error("item has sampling randomness, equalizing or proportional mode recommended")]
    RandomnessInUse,
    #[error("item has sampling threshold, equalizing or proportional mode recommended")]
    ThresholdInUse,
}

/// How the threshold is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
    /// `sampling_percentage: 0`, or a hash rate that rounds to no bucket.
    Never,
    HashSeed {
        seed: u32,
        threshold: Threshold,
    },
    Equalizing {
        threshold: Threshold,
    },
    Proportional {
        ratio: f64,
        precision: u32,
    },
}

impl Mode {
    /// otelcol's `makeSampler`: above 100 % is 100 %, below 2^-56 is 2^-56.
    pub(crate) fn new(config: &ProbabilisticSamplerConfig) -> Mode {
        let pct = config.percentage();
        if pct == 0.0 {
            return Mode::Never;
        }
        let ratio = (f64::from(pct) / 100.0).max(MIN_SAMPLING_PROBABILITY);
        let precision = config.precision();
        match config.mode {
            SamplerMode::Equalizing => Mode::Equalizing {
                threshold: Threshold::from_probability(ratio, precision)
                    .unwrap_or(Threshold::ALWAYS),
            },
            SamplerMode::Proportional => Mode::Proportional { ratio, precision },
            SamplerMode::HashSeed => match hash::scaled_rate(pct) {
                0 => Mode::Never,
                scaled => Mode::HashSeed {
                    seed: config.hash_seed,
                    threshold: hash::threshold(scaled),
                },
            },
        }
    }

    /// The threshold for an item without problems.
    fn threshold(self, arrived: Option<Threshold>) -> Threshold {
        match self {
            Mode::Never => Threshold::NEVER,
            Mode::HashSeed { threshold, .. } => threshold,
            Mode::Equalizing { threshold } => match arrived {
                Some(arrived) if threshold < arrived => arrived,
                _ => threshold,
            },
            Mode::Proportional { ratio, precision } => {
                let incoming = arrived.map_or(1.0, Threshold::probability);
                // Below 2^-56 the item simply goes.
                Threshold::from_probability(incoming * ratio, precision).unwrap_or(Threshold::NEVER)
            }
        }
    }
}

/// One item's reading before the decision.
pub(crate) struct Reading<C> {
    pub(crate) source: Source,
    /// `None` when its values could not be read (they are then left as they are).
    pub(crate) carrier: Option<C>,
    pub(crate) problem: Option<Problem>,
}

/// The outcome for one item.
#[derive(Debug)]
pub(crate) struct Decision {
    pub(crate) sampled: bool,
    pub(crate) policy: Policy,
    /// Why it was not decided as configured, for the debug log.
    pub(crate) problem: Option<Problem>,
}

/// Decides one item. `priority` may replace the source and threshold (after `fail_closed`
/// has had its say, so a priority keeps an item despite errors).
pub(crate) fn decide<C: Carrier>(
    mode: Mode,
    fail_closed: bool,
    reading: &mut Reading<C>,
    priority: impl FnOnce(Source, Threshold) -> (Source, Threshold),
) -> Decision {
    let source = reading.source;
    let mut problem = reading.problem.take();
    if problem.is_none() {
        problem = consistency(source, reading.carrier.as_mut());
    }
    let threshold = match problem {
        Some(_) if fail_closed => Threshold::NEVER,
        Some(_) => Threshold::ALWAYS,
        None => mode.threshold(reading.carrier.as_ref().and_then(C::threshold)),
    };
    let (source, threshold) = priority(source, threshold);
    let sampled = threshold.should_sample(source.randomness);
    if sampled && let Some(carrier) = reading.carrier.as_mut() {
        // Refused when it would raise the probability: the arriving threshold stays.
        let _ = carrier.update_threshold(threshold);
    }
    Decision {
        sampled,
        policy: source.policy,
        problem,
    }
}

/// An item without randomness, or whose arriving threshold its randomness would not pass (that
/// threshold is then forgotten, as the specification recommends).
fn consistency<C: Carrier>(source: Source, carrier: Option<&mut C>) -> Option<Problem> {
    if source.policy == Policy::MissingRandomness {
        return Some(Problem::MissingRandomness);
    }
    let carrier = carrier?;
    match carrier.threshold() {
        Some(arrived) if !arrived.should_sample(source.randomness) => {
            carrier.clear_threshold();
            Some(Problem::InconsistentThreshold)
        }
        _ => None,
    }
}
