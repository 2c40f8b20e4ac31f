//! The `convert` action's value conversions, as otelcol's attribute actions make them: what
//! converts, what is left as it is, and how values print as strings (pcommon's `AsString`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use weir_core::batch::rewrite::{
    ValueRef, put_double_value, put_int_value, put_string_value, read_value,
};

use super::config::ConvertedType;

/// The encoded `AnyValue` that `value` (an encoded `AnyValue`) becomes as `to`, or `None` when
/// it stays as it is (already of that type, or not convertible).
pub(crate) fn convert(value: &[u8], to: ConvertedType) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = read_value(value);
    match (to, read) {
        (ConvertedType::String, ValueRef::String(_)) => return None,
        (ConvertedType::String, _) => put_string_value(&mut out, as_string(value, read).as_bytes()),
        (ConvertedType::Int, ValueRef::Double(d)) => put_int_value(&mut out, d as i64),
        (ConvertedType::Int, ValueRef::Bool(b)) => put_int_value(&mut out, i64::from(b)),
        (ConvertedType::Int, ValueRef::String(s)) => {
            put_int_value(&mut out, std::str::from_utf8(s).ok()?.parse().ok()?)
        }
        (ConvertedType::Double, ValueRef::Int(i)) => put_double_value(&mut out, i as f64),
        (ConvertedType::Double, ValueRef::Bool(b)) => {
            put_double_value(&mut out, if b { 1.0 } else { 0.0 })
        }
        (ConvertedType::Double, ValueRef::String(s)) => {
            put_double_value(&mut out, parse_float(std::str::from_utf8(s).ok()?)?)
        }
        _ => return None,
    }
    Some(out)
}

/// Go's `strconv.ParseFloat` for what it and Rust both accept, plus its `Inf`/`+Inf` spelling.
fn parse_float(text: &str) -> Option<f64> {
    match text {
        "Inf" | "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// How pcommon prints a value as a string: bools and numbers as text, doubles as JavaScript
/// prints them, bytes in base64, arrays and maps as JSON, nothing as the empty string.
fn as_string(encoded: &[u8], value: ValueRef<'_>) -> String {
    match value {
        ValueRef::String(s) => String::from_utf8_lossy(s).into_owned(),
        ValueRef::Bool(b) => b.to_string(),
        ValueRef::Int(i) => i.to_string(),
        ValueRef::Double(d) => js_number(d),
        ValueRef::Bytes(b) => STANDARD.encode(b),
        ValueRef::Empty => String::new(),
        ValueRef::Composite => AnyValue::decode(encoded)
            .ok()
            .and_then(|v| v.value)
            .map_or(String::new(), |v| json(&v).to_string()),
    }
}

/// A double as ECMAScript's Number::toString writes it (pcommon's rule): plain digits from
/// 1e-6 up to 1e21, exponent form (`1e+21`, `1.5e-7`) outside.
fn js_number(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let abs = d.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return format!("{d}");
    }
    let text = format!("{d:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => {
            format!("{mantissa}e+{exponent}")
        }
        _ => text,
    }
}

/// A value as pcommon writes it in JSON: its natural JSON form, bytes in base64.
fn json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    let any = |v: &Option<AnyValue>| {
        v.as_ref()
            .and_then(|v| v.value.as_ref())
            .map_or(J::Null, json)
    };
    match value {
        Value::StringValue(s) => J::String(s.clone()),
        Value::BoolValue(b) => J::Bool(*b),
        Value::IntValue(i) => J::from(*i),
        Value::DoubleValue(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::BytesValue(b) => J::String(STANDARD.encode(b)),
        Value::ArrayValue(a) => J::Array(a.values.iter().map(|v| any(&Some(v.clone()))).collect()),
        Value::KvlistValue(kv) => J::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), any(&kv.value)))
                .collect(),
        ),
        Value::StringValueStrindex(_) => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: Value) -> Vec<u8> {
        AnyValue { value: Some(value) }.encode_to_vec()
    }

    fn converted(value: Value, to: ConvertedType) -> Option<Value> {
        convert(&encoded(value), to)
            .map(|out| AnyValue::decode(out.as_slice()).unwrap().value.unwrap())
    }

    #[test]
    fn to_int_truncates_doubles_counts_bools_and_parses_base_ten_strings() {
        use ConvertedType::Int;
        assert_eq!(
            converted(Value::DoubleValue(-2.9), Int),
            Some(Value::IntValue(-2))
        );
        assert_eq!(
            converted(Value::BoolValue(true), Int),
            Some(Value::IntValue(1))
        );
        assert_eq!(
            converted(Value::StringValue("+42".into()), Int),
            Some(Value::IntValue(42))
        );
        assert_eq!(
            converted(Value::StringValue("4.2".into()), Int),
            None,
            "not an integer"
        );
        assert_eq!(converted(Value::StringValue("abc".into()), Int), None);
        assert_eq!(converted(Value::IntValue(3), Int), None, "already an int");
        assert_eq!(converted(Value::BytesValue(vec![1]), Int), None);
    }

    #[test]
    fn to_double_widens_ints_counts_bools_and_parses_strings() {
        use ConvertedType::Double;
        assert_eq!(
            converted(Value::IntValue(7), Double),
            Some(Value::DoubleValue(7.0))
        );
        assert_eq!(
            converted(Value::BoolValue(false), Double),
            Some(Value::DoubleValue(0.0))
        );
        assert_eq!(
            converted(Value::StringValue("1e3".into()), Double),
            Some(Value::DoubleValue(1000.0))
        );
        assert_eq!(converted(Value::StringValue("x".into()), Double), None);
        assert_eq!(converted(Value::DoubleValue(1.5), Double), None);
    }

    #[test]
    fn to_string_prints_values_as_pcommon_does() {
        use ConvertedType::String as S;
        let text = |v| match converted(v, S) {
            Some(Value::StringValue(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(text(Value::IntValue(-5)), "-5");
        assert_eq!(text(Value::BoolValue(true)), "true");
        assert_eq!(text(Value::DoubleValue(1.0)), "1");
        assert_eq!(text(Value::DoubleValue(0.25)), "0.25");
        assert_eq!(text(Value::DoubleValue(1e21)), "1e+21");
        assert_eq!(text(Value::DoubleValue(1.5e-7)), "1.5e-7");
        assert_eq!(text(Value::BytesValue(b"hi".to_vec())), "aGk=");
        let map = Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
            values: vec![opentelemetry_proto::tonic::common::v1::KeyValue {
                key: "a".into(),
                value: Some(AnyValue {
                    value: Some(Value::IntValue(1)),
                }),
                key_strindex: 0,
            }],
        });
        assert_eq!(text(map), r#"{"a":1}"#);
        assert_eq!(
            converted(Value::StringValue("s".into()), S),
            None,
            "already a string"
        );
    }
}
