//! The attributes the sampler reads on the wire (`sampling.priority`, `sampling.threshold`,
//! `sampling.randomness`, `from_attribute`, `sampling_priority`) and writes into log records,
//! with pdata's map semantics: the first entry of a key is the one read and replaced, a removal
//! moves the last entry into the gap, an addition goes at the end.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message as _;
use weir_core::batch::rewrite::{ValueRef, put_string_value, read_value};

use crate::wire_record::{entry, find_attribute};

/// The encoded `AnyValue` of attribute `key` in the `KeyValue` list of field `number`:
/// borrowed, unless the entry has several value fields, which are merged as decoding does.
pub(crate) fn value<'a>(message: &'a [u8], number: u32, key: &[u8]) -> Option<Cow<'a, [u8]>> {
    let kv = find_attribute(message, number, key)?;
    match entry(kv) {
        (_, value, 0 | 1) => value.map(Cow::Borrowed),
        _ => KeyValue::decode(kv)
            .ok()?
            .value
            .map(|v| Cow::Owned(v.encode_to_vec())),
    }
}

/// The value of a string attribute (pdata's `Str()` of a string-typed value); `None` for
/// other types, absent keys and text that is not UTF-8.
pub(crate) fn string_value(value: &[u8]) -> Option<&str> {
    match read_value(value) {
        ValueRef::String(text) => std::str::from_utf8(text).ok(),
        _ => None,
    }
}

/// Appends a `KeyValue` message's content holding `key: "text"`.
pub(crate) fn put_string_entry(out: &mut Vec<u8>, key: &[u8], text: &str) {
    let mut value = Vec::with_capacity(text.len() + 2);
    put_string_value(&mut value, text.as_bytes());
    put_field(out, 1, key);
    put_field(out, 2, &value);
}

/// Appends length-delimited field `number` holding `content`.
pub(crate) fn put_field(out: &mut Vec<u8>, number: u32, content: &[u8]) {
    prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(content.len() as u64, out);
    out.extend_from_slice(content);
}

/// The span attribute `sampling.priority`, as OpenTracing's convention reads it: 0 drops the
/// span, above 0 keeps it, anything else (negative, NaN, not a number) leaves it to sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpanPriority {
    Defer,
    Keep,
    Drop,
}

impl SpanPriority {
    pub(crate) fn of(value: Option<&[u8]>) -> SpanPriority {
        let number = match value.map(read_value) {
            Some(ValueRef::Int(i)) => i as f64,
            Some(ValueRef::Double(d)) => d,
            Some(ValueRef::String(text)) => match std::str::from_utf8(text).ok().and_then(go_float)
            {
                Some(d) => d,
                None => return SpanPriority::Defer,
            },
            _ => return SpanPriority::Defer,
        };
        if number == 0.0 {
            SpanPriority::Drop
        } else if number > 0.0 {
            SpanPriority::Keep
        } else {
            SpanPriority::Defer
        }
    }
}

/// Go's `strconv.ParseFloat(text, 64)` as far as the sign of the result goes: decimal and
/// special forms as Rust reads them, hexadecimal ones (`0x1p-2`) by hand, and out-of-range
/// values refused as Go refuses them.
fn go_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let negative = text.starts_with('-');
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        let zero = hex_float_is_zero(hex)?;
        return Some(match (zero, negative) {
            (true, _) => 0.0,
            (false, false) => 1.0,
            (false, true) => -1.0,
        });
    }
    let value: f64 = text.parse().ok()?;
    let spelled_infinite = ["inf", "infinity"]
        .iter()
        .any(|s| unsigned.eq_ignore_ascii_case(s));
    (!value.is_infinite() || spelled_infinite).then_some(value)
}

/// Whether the hexadecimal float mantissa-and-exponent `text` (after `0x`) is zero; `None`
/// when it is not one (Go requires the `p` exponent and at least one digit).
fn hex_float_is_zero(text: &str) -> Option<bool> {
    let (mantissa, exponent) = text.split_once(['p', 'P'])?;
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if exponent.is_empty() || !exponent.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = whole.len() + fraction.len();
    if digits == 0
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_hexdigit())
    {
        return None;
    }
    Some(whole.chars().chain(fraction.chars()).all(|c| c == '0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priority(value: &[u8]) -> SpanPriority {
        SpanPriority::of(Some(value))
    }

    fn string(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        put_string_value(&mut out, text.as_bytes());
        out
    }

    /// The cases of otelcol-contrib's `Test_parseSpanSamplingPriority`.
    #[test]
    fn span_priorities_read_as_otelcol_reads_them() {
        use weir_core::batch::rewrite::{put_double_value, put_int_value};
        let int = |i| {
            let mut out = Vec::new();
            put_int_value(&mut out, i);
            out
        };
        let double = |d| {
            let mut out = Vec::new();
            put_double_value(&mut out, d);
            out
        };
        assert_eq!(priority(&int(0)), SpanPriority::Drop);
        assert_eq!(priority(&int(1)), SpanPriority::Keep);
        assert_eq!(priority(&int(-1)), SpanPriority::Defer);
        assert_eq!(priority(&double(0.0)), SpanPriority::Drop);
        assert_eq!(priority(&double(1.0)), SpanPriority::Keep);
        assert_eq!(priority(&double(-1.0)), SpanPriority::Defer);
        assert_eq!(priority(&string("0.0")), SpanPriority::Drop);
        assert_eq!(priority(&string("0.5")), SpanPriority::Keep);
        assert_eq!(priority(&string("-0.5")), SpanPriority::Defer);
        assert_eq!(priority(&string("NaN")), SpanPriority::Defer);
        assert_eq!(priority(&string("yes")), SpanPriority::Defer);
        assert_eq!(SpanPriority::of(None), SpanPriority::Defer);
    }

    #[test]
    fn go_float_edges() {
        assert_eq!(go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(go_float("1e400"), None);
        assert_eq!(go_float("0x1p-2"), Some(1.0));
        assert_eq!(go_float("-0x0.0p0"), Some(0.0));
        assert_eq!(go_float("0x1"), None);
        assert_eq!(go_float("+-1"), None);
        assert_eq!(go_float("1_0"), None);
    }
}
