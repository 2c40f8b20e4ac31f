//! An attribute value as text, the way otelcol's `pcommon.Value.AsString` writes it (for the
//! `redaction` processor's `redact_all_types` and log bodies, and the probabilistic sampler's
//! `from_attribute`): ints in decimal, doubles as JavaScript prints numbers, bools as
//! `true`/`false`, bytes in standard base64, arrays and maps as Go's `encoding/json` writes
//! them (map keys sorted, `<`, `>` and `&` escaped), an empty value as the empty string.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use weir_core::batch::rewrite::{ValueRef, read_value};

/// Appends the text of the encoded `AnyValue` `value` (none: the empty string) to `out`.
pub fn push_value_text(value: Option<&[u8]>, out: &mut String) {
    let Some(value) = value else { return };
    match read_value(value) {
        ValueRef::String(text) => out.push_str(&String::from_utf8_lossy(text)),
        ValueRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        ValueRef::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Double(d) => push_double(d, out),
        ValueRef::Bytes(bytes) => STANDARD.encode_string(bytes, out),
        ValueRef::Empty => {}
        // Only arrays and maps are decoded, and only this one value.
        ValueRef::Composite => {
            if let Ok(decoded) = AnyValue::decode(value) {
                let mut json = String::new();
                // Go's encoder fails on NaN and infinities; otelcol then writes nothing.
                if push_json(decoded.value.as_ref(), &mut json).is_some() {
                    out.push_str(&json);
                }
            }
        }
    }
}

/// Appends the text of the decoded value `value` (none: the empty string) to `out`.
pub fn push_decoded_text(value: Option<&Value>, out: &mut String) {
    match value {
        None => {}
        Some(Value::StringValue(text)) => out.push_str(text),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => push_double(*d, out),
        Some(Value::BytesValue(bytes)) => STANDARD.encode_string(bytes, out),
        Some(composite) => {
            let mut json = String::new();
            if push_json(Some(composite), &mut json).is_some() {
                out.push_str(&json);
            }
        }
    }
}

/// A double as Go's `strconv.FormatFloat(f, 'f' or 'e', -1, 64)` with JavaScript's cut-offs,
/// which is how pdata turns doubles into text.
fn push_double(d: f64, out: &mut String) {
    if d.is_nan() {
        out.push_str("json: unsupported value: NaN");
    } else if d.is_infinite() {
        out.push_str(if d > 0.0 {
            "json: unsupported value: +Inf"
        } else {
            "json: unsupported value: -Inf"
        });
    } else {
        push_finite(d, out);
    }
}

fn push_finite(d: f64, out: &mut String) {
    let abs = d.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` and `1e-7`; Go (after pdata's clean-up) `1e+21` and `1e-7`.
        let text = format!("{d:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                let _ = write!(out, "{mantissa}e+{exponent}");
            }
            _ => out.push_str(&text),
        }
    } else {
        let _ = write!(out, "{d}");
    }
}

/// Appends `value` as Go's `json.Marshal` of its raw form; `None` for NaN or an infinity.
fn push_json(value: Option<&Value>, out: &mut String) -> Option<()> {
    match value {
        None => out.push_str("null"),
        Some(Value::StringValue(s)) => push_json_string(s, out),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) if !d.is_finite() => return None,
        Some(Value::DoubleValue(d)) => push_finite(*d, out),
        Some(Value::BytesValue(b)) => {
            out.push('"');
            STANDARD.encode_string(b, out);
            out.push('"');
        }
        Some(Value::ArrayValue(array)) => {
            out.push('[');
            for (i, item) in array.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json(item.value.as_ref(), out)?;
            }
            out.push(']');
        }
        Some(Value::KvlistValue(list)) => {
            // As a Go map: the last of repeated keys wins, keys come out sorted.
            let map: BTreeMap<&str, Option<&Value>> = list
                .values
                .iter()
                .map(|kv| {
                    (
                        kv.key.as_str(),
                        kv.value.as_ref().and_then(|v| v.value.as_ref()),
                    )
                })
                .collect();
            out.push('{');
            for (i, (key, value)) in map.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(key, out);
                out.push(':');
                push_json(value, out)?;
            }
            out.push('}');
        }
        #[allow(unreachable_patterns)]
        Some(_) => out.push_str("null"),
    }
    Some(())
}

/// A JSON string as Go's encoder escapes it (HTML-safe).
fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
