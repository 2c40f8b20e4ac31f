//! A span's W3C `tracestate` with its OpenTelemetry entry (`ot=rv:…;th:…`) read and written
//! as otelcol-contrib's `pkg/sampling` does: the whole header is checked against the W3C
//! grammar and limits, the `ot` value against OpenTelemetry's, `rv` and `th` are parsed, and
//! on the way out `ot` comes first (`rv`, `th`, then its other keys) followed by the other
//! vendors' entries in their order, without spaces or empty members.
//!
//! Parsing keeps what it read before a problem, as otelcol's does, because the sampler that
//! keeps nothing (`sampling_percentage: 0`) still writes into a failed parse when a span is
//! kept anyway.

use std::borrow::Cow;

use super::sampler::{Carrier, Inconsistent};
use super::threshold::{Randomness, Threshold, ValueError};

/// W3C limits (otelcol's): header length, list members, key and key part lengths.
const MAX_W3C_LENGTH: usize = 1024;
const MAX_MEMBERS: usize = 32;
const MAX_KEY_LENGTH: usize = 256;
const MAX_TENANT_LENGTH: usize = 241;
const MAX_SYSTEM_LENGTH: usize = 14;
const MAX_VALUE_LENGTH: usize = 256;
/// OpenTelemetry's limit on the `ot` value.
const MAX_OTEL_LENGTH: usize = 256;

/// Why a `tracestate` was refused (otelcol's words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TraceStateError {
    #[error("invalid tracestate size")]
    Size,
    #[error("invalid syntax")]
    Syntax,
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// A parsed `tracestate`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TraceState<'a> {
    ot: OtelEntry<'a>,
    /// Other vendors' entries, in order.
    others: Vec<(&'a str, &'a str)>,
}

/// The `ot` entry.
#[derive(Clone, Debug, Default, PartialEq)]
struct OtelEntry<'a> {
    /// `rv` as written (its case kept) and its value.
    rvalue: Option<Cow<'a, str>>,
    randomness: Randomness,
    /// `th` as written until the sampler changes it, and its value.
    tvalue: Option<Cow<'a, str>>,
    threshold: Threshold,
    /// Other keys of the entry, in order.
    extra: Vec<(&'a str, &'a str)>,
}

/// The members of a list separated by `separator`, as otelcol's scanner cuts them: a separator
/// at the very end opens no member.
fn members(mut input: &str, separator: char) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        if input.is_empty() {
            return None;
        }
        let (member, rest) = input.split_once(separator).unwrap_or((input, ""));
        input = rest;
        Some(member)
    })
}

fn is_lc_alpha(b: u8) -> bool {
    b.is_ascii_lowercase()
}

fn is_lc_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_key_char(b: u8) -> bool {
    is_lc_alnum(b) || matches!(b, b'_' | b'-' | b'*' | b'/')
}

fn is_w3c_key(key: &str) -> bool {
    let key = key.as_bytes();
    let (first, rest) = match key.iter().position(|&b| b == b'@') {
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            let (Some(&t), Some(&s)) = (tenant.first(), system.first()) else {
                return false;
            };
            return is_lc_alnum(t)
                && is_lc_alpha(s)
                && tenant[1..].iter().all(|&b| is_key_char(b))
                && system[1..].iter().all(|&b| is_key_char(b));
        }
        None => match key.split_first() {
            Some(split) => split,
            None => return false,
        },
    };
    is_lc_alpha(*first) && rest.iter().all(|&b| is_key_char(b))
}

fn is_nonblank_value_char(b: u8) -> bool {
    matches!(b, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e)
}

fn is_w3c_value(value: &str) -> bool {
    let value = value.as_bytes();
    let Some((last, rest)) = value.split_last() else {
        return false;
    };
    value.len() <= MAX_VALUE_LENGTH
        && is_nonblank_value_char(*last)
        && rest.iter().all(|&b| b == b' ' || is_nonblank_value_char(b))
}

fn trim_ows(member: &str) -> &str {
    member.trim_matches([' ', '\t'])
}

fn is_w3c_tracestate(input: &str) -> bool {
    members(input, ',').map(trim_ows).all(|member| {
        member.is_empty()
            || match member.split_once('=') {
                Some((key, value)) => is_w3c_key(key) && is_w3c_value(value),
                None => false,
            }
    })
}

fn is_otel_tracestate(input: &str) -> bool {
    !input.is_empty()
        && !input.ends_with(';')
        && members(input, ';').all(|member| match member.split_once(':') {
            Some((key, value)) => {
                let key = key.as_bytes();
                key.first().is_some_and(|&b| is_lc_alpha(b))
                    && key[1..].iter().all(|&b| is_lc_alnum(b))
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            None => false,
        })
}

impl<'a> TraceState<'a> {
    /// Parses a `tracestate` header value: what it could read, and the first problem if any.
    pub(crate) fn parse(input: &'a str) -> (TraceState<'a>, Option<TraceStateError>) {
        let mut state = TraceState::default();
        if input.is_empty() {
            return (state, None);
        }
        if input.len() > MAX_W3C_LENGTH {
            return (state, Some(TraceStateError::Size));
        }
        if !is_w3c_tracestate(input) {
            return (state, Some(TraceStateError::Syntax));
        }
        let mut first_error = None;
        for (count, member) in members(input, ',').enumerate() {
            // otelcol stops at the 32nd member, empty ones counted.
            if count + 1 >= MAX_MEMBERS {
                return (state, Some(TraceStateError::Size));
            }
            let Some((key, value)) = trim_ows(member).split_once('=') else {
                continue;
            };
            let oversized = key.len() > MAX_KEY_LENGTH
                || key.split_once('@').is_some_and(|(tenant, system)| {
                    tenant.len() > MAX_TENANT_LENGTH || system.len() > MAX_SYSTEM_LENGTH
                });
            let error = if oversized {
                Some(TraceStateError::Size)
            } else if key == "ot" {
                let (ot, error) = OtelEntry::parse(value);
                state.ot = ot;
                error
            } else {
                state.others.push((key, value));
                None
            };
            first_error = first_error.or(error);
        }
        (state, first_error)
    }

    /// Appends the header value (empty when nothing is left).
    pub(crate) fn write(&self, out: &mut String) {
        let mut separator = "";
        if self.ot.has_any_value() {
            out.push_str("ot=");
            self.ot.write(out);
            separator = ",";
        }
        for (key, value) in &self.others {
            out.push_str(separator);
            out.push_str(key);
            out.push('=');
            out.push_str(value);
            separator = ",";
        }
    }
}

impl<'a> OtelEntry<'a> {
    fn parse(input: &'a str) -> (OtelEntry<'a>, Option<TraceStateError>) {
        let mut entry = OtelEntry::default();
        if input.len() > MAX_OTEL_LENGTH {
            return (entry, Some(TraceStateError::Size));
        }
        if !is_otel_tracestate(input) {
            return (entry, Some(TraceStateError::Syntax));
        }
        let mut first_error = None;
        for (key, value) in members(input, ';').filter_map(|m| m.split_once(':')) {
            let error = match key {
                "rv" => match Randomness::parse(value) {
                    Ok(r) => {
                        entry.rvalue = Some(Cow::Borrowed(value));
                        entry.randomness = r;
                        None
                    }
                    Err(e) => {
                        entry.rvalue = None;
                        entry.randomness = Randomness::default();
                        Some(e)
                    }
                },
                "th" => match Threshold::parse(value) {
                    Ok(t) => {
                        entry.tvalue = Some(Cow::Borrowed(value));
                        entry.threshold = t;
                        None
                    }
                    Err(e) => {
                        entry.tvalue = None;
                        entry.threshold = Threshold::ALWAYS;
                        Some(e)
                    }
                },
                _ => {
                    entry.extra.push((key, value));
                    None
                }
            };
            first_error = first_error.or(error.map(TraceStateError::Value));
        }
        (entry, first_error)
    }

    fn has_any_value(&self) -> bool {
        self.rvalue.is_some() || self.tvalue.is_some() || !self.extra.is_empty()
    }

    fn write(&self, out: &mut String) {
        let mut separator = "";
        for (key, value) in [("rv", &self.rvalue), ("th", &self.tvalue)] {
            if let Some(value) = value {
                out.push_str(separator);
                out.push_str(key);
                out.push(':');
                out.push_str(value);
                separator = ";";
            }
        }
        for (key, value) in &self.extra {
            out.push_str(separator);
            out.push_str(key);
            out.push(':');
            out.push_str(value);
            separator = ";";
        }
    }
}

impl Carrier for TraceState<'_> {
    fn threshold(&self) -> Option<Threshold> {
        self.ot.tvalue.as_ref().map(|_| self.ot.threshold)
    }

    fn explicit_randomness(&self) -> Option<Randomness> {
        self.ot.rvalue.as_ref().map(|_| self.ot.randomness)
    }

    fn set_randomness(&mut self, randomness: Randomness) {
        self.ot.rvalue = Some(Cow::Owned(randomness.rvalue()));
        self.ot.randomness = randomness;
    }

    fn clear_threshold(&mut self) {
        self.ot.tvalue = None;
        self.ot.threshold = Threshold::ALWAYS;
    }

    fn update_threshold(&mut self, threshold: Threshold) -> Result<(), Inconsistent> {
        if self.ot.tvalue.is_some() && self.ot.threshold > threshold {
            return Err(Inconsistent);
        }
        self.ot.threshold = threshold;
        self.ot.tvalue = (threshold != Threshold::NEVER).then(|| Cow::Owned(threshold.tvalue()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &str) -> String {
        let (state, error) = TraceState::parse(input);
        assert_eq!(error, None, "{input}");
        let mut out = String::new();
        state.write(&mut out);
        out
    }

    #[test]
    fn ot_comes_first_and_the_rest_keeps_its_order() {
        assert_eq!(round_trip(""), "");
        assert_eq!(round_trip("ot=th:8"), "ot=th:8");
        assert_eq!(
            round_trip("vendor=x , ot=th:8;rv:FD70A3D70A3D71;k:v,,t@s=1"),
            "ot=rv:FD70A3D70A3D71;th:8;k:v,vendor=x,t@s=1"
        );
        assert_eq!(round_trip(" , "), "");
    }

    #[test]
    fn rv_and_th_are_read() {
        let (mut state, _) = TraceState::parse("ot=rv:c0000000000000;th:8");
        assert_eq!(state.threshold(), Threshold::parse("8").ok());
        assert_eq!(
            state.explicit_randomness(),
            Randomness::parse("c0000000000000").ok()
        );
        // Raising the probability is refused; lowering it is written.
        assert_eq!(state.update_threshold(Threshold::ALWAYS), Err(Inconsistent));
        state
            .update_threshold(Threshold::parse("c").unwrap())
            .unwrap();
        let mut out = String::new();
        state.write(&mut out);
        assert_eq!(out, "ot=rv:c0000000000000;th:c");
    }

    /// The errors of otelcol's `Test_tracesamplerprocessor_TraceStateErrors` and the W3C limits.
    #[test]
    fn bad_headers_are_refused_with_otelcols_reasons() {
        let error = |input: &str| TraceState::parse(input).1.map(|e| e.to_string());
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            error("ot=rv:abababababababab"),
            some("r-value must have 14 hex digits")
        );
        assert_eq!(
            error("ot=th:abababababababab"),
            some("t-value exceeds 14 hex digits")
        );
        assert_eq!(error("ot=th:-1"), some("invalid syntax"));
        assert_eq!(error("ot=th:"), some("t-value is empty"));
        assert_eq!(error("ot=th:8;"), some("invalid syntax"));
        assert_eq!(error("Upper=1"), some("invalid syntax"));
        assert_eq!(error("a=b=c"), some("invalid syntax"));
        assert_eq!(error("a="), some("invalid syntax"));
        assert_eq!(error(&"a".repeat(1025)), some("invalid tracestate size"));
        let many = (0..32)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(error(&many), some("invalid tracestate size"));
        let fewer = (0..31)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(error(&fewer), None);
        assert_eq!(
            error("t@abcdefghijklmno=1"),
            some("invalid tracestate size")
        );
    }

    #[test]
    fn what_was_read_before_a_problem_is_kept() {
        let (state, error) = TraceState::parse("a=1,ot=rv:123;x:y,b=2");
        assert!(error.is_some());
        let mut out = String::new();
        state.write(&mut out);
        assert_eq!(out, "ot=x:y,a=1,b=2");
    }
}
