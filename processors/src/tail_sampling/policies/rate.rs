//! `rate_limiting` and `bytes_limiting`: a token bucket per policy, as otelcol's
//! `golang.org/x/time/rate.Limiter` with `AllowN(now, n)`. The bucket starts full, refills at
//! the rate up to the burst, and a trace passes when all its spans (or bytes) can be taken at
//! once; a trace that does not pass takes nothing. Time is the decision's `now`, never the
//! wall clock, so tests run on paused time.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use tokio::time::Instant;
use weir_core::batch::rewrite::{ValueRef, read_value};

use super::wire::{
    EVENT_ATTRIBUTES, EVENT_NAME, LINK_ATTRIBUTES, LINK_TRACE_STATE, RESOURCE_ATTRIBUTES,
    SCOPE_ATTRIBUTES, SCOPE_NAME, SCOPE_VERSION, SPAN_ATTRIBUTES, SPAN_EVENTS, SPAN_LINKS,
    SPAN_NAME, SPAN_TRACE_STATE, last_bytes, repeated, status_message,
};
use crate::tail_sampling::trace::{Decision, Evaluate, TraceView};
use crate::wire_record::entry;

/// A token bucket with x/time/rate's arithmetic: tokens as a float, elapsed time as Go's
/// `Duration.Seconds()`, and the wait for a deficit truncated to whole nanoseconds (a deficit
/// needing less than a nanosecond of refill passes).
pub(super) struct Bucket {
    rate: f64,
    burst: i64,
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    pub(super) fn new(rate: i64, burst: i64) -> Bucket {
        Bucket {
            rate: rate as f64,
            burst,
            tokens: 0.0,
            last: None,
        }
    }

    /// Takes `n` tokens at `now` if the bucket has them.
    pub(super) fn allow(&mut self, now: Instant, n: i64) -> bool {
        let burst = self.burst as f64;
        let tokens = match self.last {
            // A limiter never used counts from Go's zero time: full.
            None => burst,
            Some(last) => {
                let elapsed = now.saturating_duration_since(last);
                (self.tokens + seconds(elapsed) * self.rate).min(burst)
            }
        };
        let left = tokens - n as f64;
        let wait_nanos = if left < 0.0 {
            -left / self.rate * 1e9
        } else {
            0.0
        };
        // Go's `time.Duration(float)` truncates toward zero; NaN and infinity never pass.
        let ok = n <= self.burst && wait_nanos < 1.0;
        if ok {
            self.tokens = left;
            // As x/time/rate, even when `now` is before the last use.
            self.last = Some(now);
        }
        ok
    }
}

/// Go's `Duration.Seconds()`.
fn seconds(d: Duration) -> f64 {
    let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    (nanos / 1_000_000_000) as f64 + (nanos % 1_000_000_000) as f64 / 1e9
}

/// Twice the rate when no burst is given, as otelcol defaults it.
pub(super) fn burst_or_default(rate: i64, burst: i64) -> i64 {
    if burst > 0 {
        burst
    } else {
        rate.saturating_mul(2)
    }
}

/// `rate_limiting`: spans.
pub(super) struct RateLimiting {
    pub(super) bucket: Bucket,
}

impl Evaluate for RateLimiting {
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String> {
        let spans = i64::try_from(trace.span_count()).unwrap_or(i64::MAX);
        Ok(if self.bucket.allow(now, spans) {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// `bytes_limiting`: otelcol's estimate of the trace's size.
pub(super) struct BytesLimiting {
    pub(super) bucket: Bucket,
}

impl Evaluate for BytesLimiting {
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String> {
        Ok(if self.bucket.allow(now, trace_size(trace)) {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// otelcol's `calculateTraceSize`: per received resource its attributes and 4 bytes, per
/// scope its name, version, attributes and 4 bytes, per span 68 bytes of fixed fields, its
/// strings, attributes, events and links. A resource is counted once for consecutive pieces
/// holding the same resource bytes in memory (one received `ResourceSpans`); pieces holding
/// copies of it count it again.
pub(super) fn trace_size(trace: &TraceView<'_>) -> i64 {
    let mut size = 0;
    let mut last_resource: Option<*const u8> = None;
    for piece in trace.pieces() {
        let resource = piece.headers.resource();
        if last_resource != Some(resource.as_ptr()) || resource.is_empty() {
            size += 4 + attributes_size(resource, RESOURCE_ATTRIBUTES);
        }
        last_resource = Some(resource.as_ptr());
        let scope = piece.headers.scope();
        size += len(last_bytes(scope, SCOPE_NAME))
            + len(last_bytes(scope, SCOPE_VERSION))
            + 4
            + attributes_size(scope, SCOPE_ATTRIBUTES);
        size += piece.spans().map(span_size).sum::<i64>();
    }
    size
}

fn len(bytes: &[u8]) -> i64 {
    i64::try_from(bytes.len()).unwrap_or(i64::MAX)
}

fn span_size(span: &[u8]) -> i64 {
    let mut size = 68
        + len(last_bytes(span, SPAN_NAME))
        + len(last_bytes(span, SPAN_TRACE_STATE))
        + len(status_message(span))
        + attributes_size(span, SPAN_ATTRIBUTES);
    for event in repeated(span, SPAN_EVENTS) {
        size += 12 + len(last_bytes(event, EVENT_NAME)) + attributes_size(event, EVENT_ATTRIBUTES);
    }
    for link in repeated(span, SPAN_LINKS) {
        size +=
            28 + len(last_bytes(link, LINK_TRACE_STATE)) + attributes_size(link, LINK_ATTRIBUTES);
    }
    size
}

/// Each attribute's key length and value size.
fn attributes_size(message: &[u8], number: u32) -> i64 {
    repeated(message, number)
        .map(|kv| {
            let (key, value, _) = entry(kv);
            len(key) + value.map_or(0, value_size)
        })
        .sum()
}

fn value_size(value: &[u8]) -> i64 {
    match read_value(value) {
        ValueRef::String(s) | ValueRef::Bytes(s) => len(s),
        ValueRef::Int(_) | ValueRef::Double(_) => 8,
        ValueRef::Bool(_) => 1,
        ValueRef::Empty => 0,
        ValueRef::Composite => AnyValue::decode(value)
            .ok()
            .and_then(|v| v.value)
            .map_or(0, |v| decoded_size(&v)),
    }
}

fn decoded_size(value: &Value) -> i64 {
    match value {
        Value::StringValue(s) => len(s.as_bytes()),
        Value::BytesValue(b) => len(b),
        Value::IntValue(_) | Value::DoubleValue(_) => 8,
        Value::BoolValue(_) => 1,
        Value::KvlistValue(list) => list
            .values
            .iter()
            .map(|kv| {
                len(kv.key.as_bytes())
                    + kv.value
                        .as_ref()
                        .and_then(|v| v.value.as_ref())
                        .map_or(0, decoded_size)
            })
            .sum(),
        Value::ArrayValue(array) => array
            .values
            .iter()
            .filter_map(|v| v.value.as_ref())
            .map(decoded_size)
            .sum(),
        // An index into a profiles dictionary, which traces do not have.
        Value::StringValueStrindex(_) => 0,
    }
}
