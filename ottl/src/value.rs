//! [`Value`], what expressions evaluate to, and [`Type`], what the checker knows of it before.
//!
//! Strings, bytes, maps and lists borrow from the record where they can (`Cow`), so reading
//! an attribute to compare it copies nothing. Maps and lists are the OTLP types themselves
//! (`KeyValue`, `AnyValue`), which is what the decoded records hold and what setting writes.

use std::borrow::Cow;
use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};

use crate::error::EvalError;

/// An OTTL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `nil`: a missing attribute, an unset field, or the literal.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// A UTF-8 string.
    Str(Cow<'a, str>),
    /// Bytes (trace and span ids, bytes attributes).
    Bytes(Cow<'a, [u8]>),
    /// A map (attributes, a map body), in its stored order.
    Map(Cow<'a, [KeyValue]>),
    /// A list.
    Slice(Cow<'a, [AnyValue]>),
    /// A point in time, nanoseconds since the Unix epoch.
    Time(i64),
    /// A duration in nanoseconds.
    Duration(i64),
}

/// What the checker knows about an expression's value before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Not known until run time (an attribute, a log body).
    Any,
    /// `nil`
    Nil,
    /// A boolean.
    Bool,
    /// An integer.
    Int,
    /// A float.
    Double,
    /// A string.
    String,
    /// Bytes.
    Bytes,
    /// A map.
    Map,
    /// A list.
    Slice,
    /// A time.
    Time,
    /// A duration.
    Duration,
}

impl Type {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Type::Any => "any value",
            Type::Nil => "nil",
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Double => "double",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Map => "map",
            Type::Slice => "list",
            Type::Time => "time",
            Type::Duration => "duration",
        }
    }

    /// Whether a value of type `found` may be passed where `self` is wanted. Unknown types pass
    /// (they are checked when the statement runs); an int passes for a double.
    pub(crate) fn accepts(self, found: Type) -> bool {
        self == Type::Any
            || found == Type::Any
            || self == found
            || (self == Type::Double && found == Type::Int)
    }
}

impl<'a> Value<'a> {
    /// A string value borrowing `s`.
    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// The static type of this value.
    pub fn ty(&self) -> Type {
        match self {
            Value::Nil => Type::Nil,
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Double(_) => Type::Double,
            Value::Str(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::Map(_) => Type::Map,
            Value::Slice(_) => Type::Slice,
            Value::Time(_) => Type::Time,
            Value::Duration(_) => Type::Duration,
        }
    }

    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        self.ty().name()
    }

    /// The value of an OTLP `AnyValue`, borrowed. An empty value and the profiles-only string
    /// index are `nil`.
    pub fn from_any(any: &'a AnyValue) -> Self {
        match &any.value {
            None | Some(any_value::Value::StringValueStrindex(_)) => Value::Nil,
            Some(any_value::Value::StringValue(s)) => Value::Str(Cow::Borrowed(s)),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::IntValue(i)) => Value::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => Value::Double(*d),
            Some(any_value::Value::BytesValue(b)) => Value::Bytes(Cow::Borrowed(b)),
            Some(any_value::Value::ArrayValue(a)) => Value::Slice(Cow::Borrowed(&a.values)),
            Some(any_value::Value::KvlistValue(m)) => Value::Map(Cow::Borrowed(&m.values)),
        }
    }

    /// [`Value::from_any`] of an optional value; `None` is `nil`.
    pub fn from_opt_any(any: Option<&'a AnyValue>) -> Self {
        any.map_or(Value::Nil, Value::from_any)
    }

    /// The same value borrowing from this one (no copy of strings, bytes, maps or lists).
    pub fn reborrow(&self) -> Value<'_> {
        match self {
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Double(d) => Value::Double(*d),
            Value::Str(s) => Value::Str(Cow::Borrowed(s)),
            Value::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
            Value::Map(m) => Value::Map(Cow::Borrowed(m)),
            Value::Slice(s) => Value::Slice(Cow::Borrowed(s)),
            Value::Time(t) => Value::Time(*t),
            Value::Duration(d) => Value::Duration(*d),
        }
    }

    /// The same value owning its data.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Double(d) => Value::Double(d),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
            Value::Map(m) => Value::Map(Cow::Owned(m.into_owned())),
            Value::Slice(s) => Value::Slice(Cow::Owned(s.into_owned())),
            Value::Time(t) => Value::Time(t),
            Value::Duration(d) => Value::Duration(d),
        }
    }

    /// The value as an OTLP `AnyValue` to store; `nil` is `None`. Times and durations have no
    /// OTLP form and are refused (convert them with `UnixNano` or `Nanoseconds` first).
    pub fn into_any(self) -> Result<Option<AnyValue>, EvalError> {
        use any_value::Value as V;
        let v = match self {
            Value::Nil => return Ok(None),
            Value::Bool(b) => V::BoolValue(b),
            Value::Int(i) => V::IntValue(i),
            Value::Double(d) => V::DoubleValue(d),
            Value::Str(s) => V::StringValue(s.into_owned()),
            Value::Bytes(b) => V::BytesValue(b.into_owned()),
            Value::Map(m) => V::KvlistValue(KeyValueList {
                values: m.into_owned(),
            }),
            Value::Slice(s) => V::ArrayValue(ArrayValue {
                values: s.into_owned(),
            }),
            Value::Time(_) | Value::Duration(_) => {
                return Err(EvalError::Type {
                    what: "stored value".into(),
                    expected: "bool, int, double, string, bytes, map or list",
                    found: self.type_name(),
                });
            }
        };
        Ok(Some(AnyValue { value: Some(v) }))
    }

    /// The string if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// OTTL's "string-like" reading: strings as they are, numbers and booleans formatted,
    /// bytes as lower-case hex, maps and lists as JSON; `nil` is `None`.
    pub fn to_string_like(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Value::Nil => return None,
            Value::Str(s) => Cow::Borrowed(s.as_ref()),
            Value::Bool(b) => Cow::Owned(b.to_string()),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Double(d) => Cow::Owned(format_double(*d)),
            Value::Bytes(b) => Cow::Owned(hex(b)),
            Value::Map(_) | Value::Slice(_) => Cow::Owned(self.to_json().to_string()),
            Value::Time(t) => Cow::Owned(t.to_string()),
            Value::Duration(d) => Cow::Owned(format!("{d}ns")),
        })
    }

    /// The value as JSON (bytes as hex, times and durations as nanoseconds).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) | Value::Time(i) | Value::Duration(i) => J::from(*i),
            Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::Bytes(b) => J::String(hex(b)),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|kv| {
                        (
                            kv.key.clone(),
                            Value::from_opt_any(kv.value.as_ref()).to_json(),
                        )
                    })
                    .collect(),
            ),
            Value::Slice(s) => J::Array(s.iter().map(|v| Value::from_any(v).to_json()).collect()),
        }
    }

    /// The value of parsed JSON, as otelcol's `ParseJSON` makes it: numbers are doubles.
    pub fn from_json(json: &serde_json::Value) -> Value<'static> {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => Value::Str(Cow::Owned(s.clone())),
            J::Array(items) => Value::Slice(Cow::Owned(
                items.iter().map(|v| any_of(Value::from_json(v))).collect(),
            )),
            J::Object(m) => Value::Map(Cow::Owned(
                m.iter()
                    .map(|(k, v)| KeyValue {
                        key: k.clone(),
                        value: Some(any_of(Value::from_json(v))),
                        ..Default::default()
                    })
                    .collect(),
            )),
        }
    }
}

/// An `AnyValue` of a value that has an OTLP form (`nil` is the empty value).
fn any_of(v: Value<'static>) -> AnyValue {
    v.into_any().ok().flatten().unwrap_or_default()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Bytes of a hex string (either case), `None` if it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A double as Go's `strconv.FormatFloat(d, 'f', -1, 64)` writes it, which is what otelcol's
/// string conversions use: the shortest digits that read back the same, never an exponent.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{d}")
    }
}

/// Deep equality of two OTLP values as OTTL sees it: maps ignore key order, types must match.
pub(crate) fn values_equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => maps_equal(x, y),
        (Value::Slice(x), Value::Slice(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| values_equal(&Value::from_any(p), &Value::from_any(q)))
        }
        (Value::Double(x), Value::Double(y)) => x == y,
        _ => a == b,
    }
}

fn maps_equal(x: &[KeyValue], y: &[KeyValue]) -> bool {
    x.len() == y.len()
        && x.iter().all(|kv| {
            y.iter().find(|o| o.key == kv.key).is_some_and(|o| {
                values_equal(
                    &Value::from_opt_any(kv.value.as_ref()),
                    &Value::from_opt_any(o.value.as_ref()),
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_string_attribute_borrows() {
        let any = AnyValue {
            value: Some(any_value::Value::StringValue("abc".into())),
        };
        assert!(matches!(
            Value::from_any(&any),
            Value::Str(Cow::Borrowed("abc"))
        ));
    }

    #[test]
    fn string_like_formats_like_otelcol() {
        assert_eq!(Value::Double(1.5).to_string_like().unwrap(), "1.5");
        assert_eq!(
            Value::Double(1e21).to_string_like().unwrap(),
            "1000000000000000000000"
        );
        assert_eq!(Value::Double(3.0).to_string_like().unwrap(), "3");
        assert_eq!(
            Value::Bytes(Cow::Owned(vec![0xab, 1]))
                .to_string_like()
                .unwrap(),
            "ab01"
        );
        assert_eq!(Value::Nil.to_string_like(), None);
    }

    #[test]
    fn maps_compare_equal_in_any_order() {
        let j1 = serde_json::json!({"a": 1, "b": [true]});
        let j2 = serde_json::json!({"b": [true], "a": 1});
        assert!(values_equal(&Value::from_json(&j1), &Value::from_json(&j2)));
        let j3 = serde_json::json!({"b": [false], "a": 1});
        assert!(!values_equal(
            &Value::from_json(&j1),
            &Value::from_json(&j3)
        ));
    }

    #[test]
    fn times_cannot_be_stored() {
        assert!(Value::Time(1).into_any().is_err());
        assert_eq!(Value::Nil.into_any().unwrap(), None);
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 255, 16])).unwrap(), vec![0, 255, 16]);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
