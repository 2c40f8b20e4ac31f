//! Policies on the spans' own fields: `always_sample`, `latency`, `status_code`, `span_count`
//! and `trace_state`.

use tokio::time::Instant;

use super::wire::{SPAN_TRACE_STATE, last_bytes};
use crate::tail_sampling::trace::{Decision, Evaluate, TraceView};

/// `always_sample`.
pub(super) struct Always;

impl Evaluate for Always {
    fn evaluate(&mut self, _: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Ok(Decision::Sampled)
    }
}

/// `latency`.
pub(super) struct Latency {
    pub(super) threshold_ms: i64,
    /// 0: no upper bound.
    pub(super) upper_threshold_ms: i64,
}

impl Latency {
    fn holds(&self, ms: i64) -> bool {
        if self.upper_threshold_ms == 0 {
            ms >= self.threshold_ms
        } else {
            self.threshold_ms < ms && ms <= self.upper_threshold_ms
        }
    }
}

impl Evaluate for Latency {
    /// otelcol's loop: spans in arrival order, keeping the earliest start and latest end (a
    /// 0 time counts as unset), sampled as soon as the span so far meets the bounds. So with
    /// an upper bound a trace can be sampled on a prefix of its spans that a later span
    /// would have taken past the bound.
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        let (mut min, mut max) = (0u64, 0u64);
        for facts in trace.facts() {
            let (start, end) = (facts.start, facts.end);
            if min == 0 || start < min {
                min = start;
            }
            if max == 0 || end > max {
                max = end;
            }
            // Go's `Timestamp.AsTime().Sub`: nanoseconds as int64, the difference saturating.
            let nanos = (max as i64).saturating_sub(min as i64);
            if self.holds(nanos / 1_000_000) {
                return Ok(Decision::Sampled);
            }
        }
        Ok(Decision::NotSampled)
    }
}

/// `status_code`: the codes as `Status.code` numbers (UNSET 0, OK 1, ERROR 2).
pub(super) struct StatusCode {
    pub(super) codes: Vec<i32>,
}

/// A status code's number, as otelcol names them.
pub(super) fn status_number(name: &str) -> Option<i32> {
    match name {
        "UNSET" => Some(0),
        "OK" => Some(1),
        "ERROR" => Some(2),
        _ => None,
    }
}

impl Evaluate for StatusCode {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        let any = trace
            .facts()
            .any(|facts| self.codes.contains(&facts.status));
        Ok(if any {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// `span_count`.
pub(super) struct SpanCount {
    pub(super) min: i32,
    /// 0: no upper bound.
    pub(super) max: i32,
}

impl Evaluate for SpanCount {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        let count = i64::try_from(trace.span_count()).unwrap_or(i64::MAX);
        let (min, max) = (i64::from(self.min), i64::from(self.max));
        let sampled = count >= min && (max == 0 || count <= max);
        Ok(if sampled {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// `trace_state`: `values` as validated (non-empty, and with the key under 256 bytes; otelcol
/// drops the others).
pub(super) struct TraceState {
    pub(super) key: String,
    pub(super) values: Vec<String>,
}

impl Evaluate for TraceState {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        let any = trace.spans().any(|span| {
            let raw = last_bytes(span.item, SPAN_TRACE_STATE);
            std::str::from_utf8(raw)
                .ok()
                .and_then(|raw| tracestate_get(raw, &self.key))
                .is_some_and(|value| self.values.iter().any(|v| v == value))
        });
        Ok(if any {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// The value of `key` in a W3C `tracestate`, `None` when it is absent or the whole header
/// does not parse: otel-go's `ParseTraceState` and `Get`, which otelcol uses.
pub(super) fn tracestate_get<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    let mut found: Option<&str> = None;
    let mut keys: Vec<&str> = Vec::new();
    for member in raw.split(',') {
        if member.is_empty() {
            continue;
        }
        let (k, v) = member.split_once('=')?;
        let k = k.trim_start_matches([' ', '\t']);
        let v = v.trim_end_matches([' ', '\t']);
        if !valid_key(k) || !valid_value(v) || keys.contains(&k) {
            return None;
        }
        keys.push(k);
        if keys.len() > 32 {
            return None;
        }
        if k == key && found.is_none() {
            found = Some(v);
        }
    }
    found
}

/// otel-go's `checkKeyRemain`: it tests each rune's low byte, so a non-ASCII rune whose low
/// byte is a lower-case letter or digit passes, as there.
fn key_rest(rest: &str) -> bool {
    rest.chars().all(|c| {
        let low = c as u32 as u8;
        low.is_ascii_lowercase() || low.is_ascii_digit() || matches!(c, '_' | '-' | '*' | '/')
    })
}

fn key_part(part: &str, max_rest: usize) -> bool {
    let mut chars = part.chars();
    match chars.next() {
        Some(first) => {
            part.len() - first.len_utf8() <= max_rest
                && first.is_ascii_lowercase()
                && key_rest(chars.as_str())
        }
        None => false,
    }
}

/// A W3C `tracestate` key: `simple-key` or `tenant@system`.
pub(super) fn valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => key_part(key, 255),
        Some((tenant, system)) => {
            let mut chars = tenant.chars();
            let tenant_ok = chars.next().is_some_and(|first| {
                let low = first as u32 as u8;
                first.is_ascii()
                    && (low.is_ascii_lowercase() || low.is_ascii_digit())
                    && tenant.len() - first.len_utf8() <= 240
                    && key_rest(chars.as_str())
            });
            tenant_ok && key_part(system, 13)
        }
    }
}

fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some((&last, rest)) = bytes.split_last() else {
        return false;
    };
    let chr = |b: u8| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=';
    bytes.len() <= 256 && rest.iter().all(|&b| chr(b)) && chr(last) && last != b' '
}
