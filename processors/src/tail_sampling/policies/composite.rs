//! The policies made of policies: `and`, `drop` and `composite`. A sub-policy's error is the
//! compound's error, as in otelcol.

use tokio::time::Instant;

use crate::tail_sampling::trace::{Decision, Evaluate, TraceView};

/// Whether a sub-policy's decision stops `and` and `drop`.
fn refuses(decision: Decision) -> bool {
    matches!(decision, Decision::NotSampled | Decision::InvertNotSampled)
}

/// `and`: sampled when no sub-policy refuses (a `Dropped` sub-decision counts as agreeing, as
/// in otelcol).
pub(super) struct And {
    pub(super) subs: Vec<Box<dyn Evaluate>>,
}

impl Evaluate for And {
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String> {
        for sub in &mut self.subs {
            if refuses(sub.evaluate(trace, now)?) {
                return Ok(Decision::NotSampled);
            }
        }
        Ok(Decision::Sampled)
    }
}

/// `drop`: dropped when no sub-policy refuses.
pub(super) struct Drop {
    pub(super) subs: Vec<Box<dyn Evaluate>>,
}

impl Evaluate for Drop {
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String> {
        for sub in &mut self.subs {
            if refuses(sub.evaluate(trace, now)?) {
                return Ok(Decision::NotSampled);
            }
        }
        Ok(Decision::Dropped)
    }
}

/// One sub-policy of a `composite`, with its spans per second.
pub(super) struct Allotted {
    pub(super) evaluator: Box<dyn Evaluate>,
    pub(super) allocation: i64,
    sampled: i64,
}

impl Allotted {
    pub(super) fn new(evaluator: Box<dyn Evaluate>, allocation: i64) -> Allotted {
        Allotted {
            evaluator,
            allocation,
            sampled: 0,
        }
    }
}

/// `composite`: the first sub-policy (in evaluation order) that samples decides. It samples
/// the trace if its spans fit both in that sub-policy's allocation and in the total for this
/// second, counting only that sub-policy's spans; if they do not, the trace is not sampled
/// and no later sub-policy is asked.
///
/// otelcol's seconds are the wall clock's Unix seconds; here a second is one second of `now`
/// from the first decision on, so counts restart every whole second after it.
pub(super) struct Composite {
    pub(super) subs: Vec<Allotted>,
    pub(super) max_total: i64,
    start: Option<Instant>,
    second: u64,
}

impl Composite {
    /// `subs` in evaluation order.
    pub(super) fn new(subs: Vec<Allotted>, max_total: i64) -> Composite {
        Composite {
            subs,
            max_total,
            start: None,
            second: 0,
        }
    }
}

/// otelcol's per-sub-policy budget: `percent` of the total, or with percent 0 an equal share,
/// computed in float64 and truncated as Go's `int64()` does.
pub(super) fn allocation(percent: i64, max_total: i64, subs: usize) -> i64 {
    let total = max_total as f64;
    if percent > 0 {
        (percent as f64 / 100.0 * total) as i64
    } else {
        (total / subs as f64) as i64
    }
}

impl Evaluate for Composite {
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String> {
        let start = *self.start.get_or_insert(now);
        let second = now.saturating_duration_since(start).as_secs();
        if second != self.second {
            self.second = second;
            for sub in &mut self.subs {
                sub.sampled = 0;
            }
        }
        let spans = i64::try_from(trace.span_count()).unwrap_or(i64::MAX);
        for sub in &mut self.subs {
            if !sub.evaluator.evaluate(trace, now)?.samples() {
                continue;
            }
            let after = sub.sampled.saturating_add(spans);
            if after <= sub.allocation && after <= self.max_total {
                sub.sampled = after;
                return Ok(Decision::Sampled);
            }
            return Ok(Decision::NotSampled);
        }
        Ok(Decision::NotSampled)
    }
}
