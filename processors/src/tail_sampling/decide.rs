//! The final decision from every policy's, as otelcol makes it: `drop` policies are evaluated
//! first, and the first that drops the trace ends the evaluation (so that rate limits spend
//! nothing on it); then the others, in order: an inverted "not sampled" wins; then any
//! "sampled"; then an inverted "sampled" if no policy said "not sampled"; otherwise the trace is
//! not kept. A policy that fails is counted and has no say.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::held::TraceId;
use super::metrics::{Metrics, PolicyMetrics};
use super::policies::Policy;
use super::trace::{Decision, Trace, TraceView};

/// How often a failing policy is logged.
const LOG_EVERY: Duration = Duration::from_secs(10);

pub(crate) struct Decider {
    /// `drop` policies first, then the others, each in config order.
    policies: Vec<(Policy, PolicyMetrics, bool)>,
    processor: String,
    last_logged: Option<Instant>,
}

impl Decider {
    /// `policies` in config order, each with whether it is a `drop` policy.
    pub(crate) fn new(policies: Vec<(Policy, bool)>, processor: &str) -> Decider {
        let (mut first, rest): (Vec<_>, Vec<_>) = policies
            .into_iter()
            .map(|(p, drop)| {
                let metrics = PolicyMetrics::new(&p.name);
                (p, metrics, drop)
            })
            .partition(|(_, _, drop)| *drop);
        first.extend(rest);
        Decider {
            policies: first,
            processor: processor.to_string(),
            last_logged: None,
        }
    }

    /// Whether trace `id` is kept; counted by policy and in total.
    pub(crate) fn decide(
        &mut self,
        id: &TraceId,
        trace: &Trace,
        now: Instant,
        metrics: &Metrics,
    ) -> bool {
        let view = TraceView { id, trace };
        let mut seen = Seen::default();
        for (policy, policy_metrics, drop) in &mut self.policies {
            let started = std::time::Instant::now();
            let result = policy.evaluator.evaluate(&view, now);
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            policy_metrics.latency.observe(micros);
            match result {
                Ok(decision) => {
                    policy_metrics.count(decision);
                    seen.add(decision);
                    if *drop && decision == Decision::Dropped {
                        break;
                    }
                }
                Err(error) => {
                    metrics.errors.fetch_add(1, Ordering::Relaxed);
                    if self
                        .last_logged
                        .is_none_or(|at| now.duration_since(at) >= LOG_EVERY)
                    {
                        self.last_logged = Some(now);
                        tracing::warn!(
                            processor = %self.processor,
                            policy = %policy.name,
                            %error,
                            "a sampling policy failed on a trace; it has no say in its decision"
                        );
                    }
                }
            }
        }
        let decision = seen.final_decision();
        metrics.count_final(decision);
        let age = now.saturating_duration_since(trace.arrival).as_secs();
        metrics.removal_age.observe(age);
        decision == Decision::Sampled
    }
}

/// Which decisions the policies made.
#[derive(Default)]
pub(crate) struct Seen {
    sampled: bool,
    not_sampled: bool,
    dropped: bool,
    invert_sampled: bool,
    invert_not_sampled: bool,
}

impl Seen {
    pub(crate) fn add(&mut self, decision: Decision) {
        match decision {
            Decision::Sampled => self.sampled = true,
            Decision::NotSampled => self.not_sampled = true,
            Decision::Dropped => self.dropped = true,
            Decision::InvertSampled => self.invert_sampled = true,
            Decision::InvertNotSampled => self.invert_not_sampled = true,
        }
    }

    /// `Sampled`, `NotSampled` or `Dropped`.
    pub(crate) fn final_decision(&self) -> Decision {
        if self.dropped {
            Decision::Dropped
        } else if self.invert_not_sampled {
            Decision::NotSampled
        } else if self.sampled || (self.invert_sampled && !self.not_sampled) {
            Decision::Sampled
        } else {
            Decision::NotSampled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(decisions: &[Decision]) -> Decision {
        let mut seen = Seen::default();
        for &d in decisions {
            seen.add(d);
        }
        seen.final_decision()
    }

    #[test]
    fn drop_and_inverted_refusals_win_then_any_sample_then_inverted_samples_alone() {
        use Decision::*;
        assert_eq!(of(&[]), NotSampled);
        assert_eq!(of(&[Sampled, NotSampled]), Sampled);
        assert_eq!(of(&[Sampled, Dropped]), Dropped);
        assert_eq!(of(&[Sampled, InvertNotSampled]), NotSampled);
        assert_eq!(of(&[InvertSampled]), Sampled);
        assert_eq!(of(&[InvertSampled, NotSampled]), NotSampled);
        assert_eq!(of(&[InvertSampled, NotSampled, Sampled]), Sampled);
        assert_eq!(of(&[InvertSampled, InvertNotSampled]), NotSampled);
    }
}
