//! Spans on the wire: a span's trace id, `tracestate` and `sampling.priority` attribute are
//! read from its bytes, decided on ([`super::sampler::decide`]), and a kept span whose
//! `tracestate` the decision changed is written again with only that field new.

use super::attributes::{self, SpanPriority, put_field};
use super::hash;
use super::sampler::{self, Carrier, Decision, Mode, Problem, Reading, Source};
use super::threshold::{Randomness, Threshold};
use super::tracestate::{TraceState, TraceStateError};
use crate::wire_record::{last_delimited, whole_fields};

/// `Span` field numbers.
const TRACE_ID: u32 = 1;
const TRACE_STATE: u32 = 3;
const ATTRIBUTES: u32 = 9;

/// The trace id of an item: its last `trace_id` field; `None` when that is absent, not 16
/// bytes (pdata would not read it) or all zeros (invalid in W3C trace context).
pub(crate) fn trace_id(item: &[u8], number: u32) -> Option<[u8; 16]> {
    let id: [u8; 16] = last_delimited(item, number)?.try_into().ok()?;
    (id != [0; 16]).then_some(id)
}

/// Decides one span; when it is kept with a new `tracestate`, also its new encoding.
pub(crate) fn sample(
    mode: Mode,
    fail_closed: bool,
    span: &[u8],
    scratch: &mut String,
) -> (Decision, Option<Vec<u8>>) {
    let id = trace_id(span, TRACE_ID);
    let raw = last_delimited(span, TRACE_STATE).unwrap_or_default();
    let (state, error) = match std::str::from_utf8(raw) {
        Ok(text) => TraceState::parse(text),
        Err(_) => (TraceState::default(), Some(TraceStateError::Syntax)),
    };
    let mut reading = read(mode, id, state, error);
    let decision = sampler::decide(mode, fail_closed, &mut reading, |source, threshold| {
        let value = attributes::value(span, ATTRIBUTES, b"sampling.priority");
        match SpanPriority::of(value.as_deref()) {
            SpanPriority::Defer => (source, threshold),
            SpanPriority::Keep => (source.by_priority(), Threshold::ALWAYS),
            SpanPriority::Drop => (source.by_priority(), Threshold::NEVER),
        }
    });
    let Some(state) = reading.carrier.filter(|_| decision.sampled) else {
        return (decision, None);
    };
    scratch.clear();
    state.write(scratch);
    if scratch.as_bytes() == raw {
        return (decision, None);
    }
    (decision, with_tracestate(span, scratch))
}

/// The span's randomness and carrier as each mode reads them (otelcol's `randomnessFromSpan`).
fn read<'a>(
    mode: Mode,
    id: Option<[u8; 16]>,
    mut state: TraceState<'a>,
    error: Option<TraceStateError>,
) -> Reading<TraceState<'a>> {
    let problem = error.map(Problem::from);
    match mode {
        // Its randomness is never looked at; the state is kept even when unreadable, so a span
        // kept anyway (fail open, priority) is written with what could be read.
        Mode::Never => Reading {
            source: Source::new(sampler::Policy::SamplingPriority, Randomness::ALL),
            carrier: Some(state),
            problem,
        },
        Mode::HashSeed { seed, .. } => {
            let source = id.map_or(Source::MISSING, |id| {
                Source::new(sampler::Policy::TraceIdHash, hash::randomness(&id, seed))
            });
            // Spans already carrying consistent-sampling values are left as they are.
            let problem = problem
                .or_else(|| {
                    state
                        .explicit_randomness()
                        .map(|_| Problem::RandomnessInUse)
                })
                .or_else(|| state.threshold().map(|_| Problem::ThresholdInUse));
            if problem.is_some() {
                return Reading {
                    source,
                    carrier: None,
                    problem,
                };
            }
            state.set_randomness(source.randomness);
            Reading {
                source,
                carrier: Some(state),
                problem: None,
            }
        }
        Mode::Equalizing { .. } | Mode::Proportional { .. } => {
            if problem.is_some() {
                return Reading {
                    source: Source::MISSING,
                    carrier: None,
                    problem,
                };
            }
            let source = match (state.explicit_randomness(), id) {
                (Some(rv), _) => Source::new(sampler::Policy::SamplingRandomness, rv),
                (None, Some(id)) => {
                    Source::new(sampler::Policy::TraceIdW3c, Randomness::from_trace_id(&id))
                }
                (None, None) => Source::MISSING,
            };
            Reading {
                source,
                carrier: Some(state),
                problem: None,
            }
        }
    }
}

/// `span` with `tracestate` in place of its `trace_state` field(s), every other field copied
/// as it is; `None` if the span cannot be read field by field (it is then kept unchanged).
fn with_tracestate(span: &[u8], tracestate: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(span.len() + tracestate.len() + 2);
    let mut written = false;
    let mut read = 0;
    let put = |out: &mut Vec<u8>| {
        if !tracestate.is_empty() {
            put_field(out, TRACE_STATE, tracestate.as_bytes());
        }
    };
    for (number, field) in whole_fields(span) {
        read += field.len();
        if !written && number >= TRACE_STATE {
            put(&mut out);
            written = true;
        }
        if number != TRACE_STATE {
            out.extend_from_slice(field);
        }
    }
    if !written {
        put(&mut out);
    }
    (read == span.len()).then_some(out)
}
