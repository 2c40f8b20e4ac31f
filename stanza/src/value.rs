//! The values an entry holds in its body, attributes and resource: stanza's `any`, narrowed to
//! what OTLP's `AnyValue` can carry.

use std::collections::BTreeMap;

/// A map of values; sorted so that output and tests do not depend on hashing.
pub type Map = BTreeMap<String, Value>;

/// One value of a body, attribute or resource field.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// Absent or JSON `null`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Double(f64),
    /// A UTF-8 string.
    String(String),
    /// Raw bytes (a body read with `encoding: nop`).
    Bytes(Vec<u8>),
    /// A map.
    Map(Map),
    /// A list.
    List(Vec<Value>),
}

impl Value {
    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The map inside, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The text a parser reads: strings as they are, bytes when they are UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The type's name as error messages show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Double(_) => "double",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Map(_) => "map",
            Value::List(_) => "list",
        }
    }

    /// Renders scalars as text (what `combine_field` and string functions see); maps and lists
    /// as JSON.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Double(d) => d.to_string(),
            Value::String(s) => s.clone(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => serde_json::Value::from(other).to_string(),
        }
    }

    /// Converts JSON, keeping integers as integers when `ints` is set; otherwise every number
    /// is a double, as stanza's JSON decoding gives Go's `float64`.
    pub fn from_json(json: serde_json::Value, ints: bool) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) if ints => Value::Int(i),
                _ => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => Value::List(
                items
                    .into_iter()
                    .map(|v| Value::from_json(v, ints))
                    .collect(),
            ),
            serde_json::Value::Object(map) => Value::Map(
                map.into_iter()
                    .map(|(k, v)| (k, Value::from_json(v, ints)))
                    .collect(),
            ),
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => s.as_str().into(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned().into(),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.into())).collect())
            }
            Value::List(l) => serde_json::Value::Array(l.iter().map(Into::into).collect()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}
