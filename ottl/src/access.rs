//! Reading and writing inside maps and lists with keys, shared by every record implementation
//! that holds OTLP `KeyValue`/`AnyValue` trees.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value};

use crate::error::EvalError;
use crate::path::Key;
use crate::value::Value;

/// `value[key]`: a missing map key (and anything indexed on `nil`) is `nil`.
pub fn index_value<'a>(value: Value<'a>, key: &Key) -> Result<Value<'a>, EvalError> {
    match (value, key) {
        (Value::Nil, _) => Ok(Value::Nil),
        (Value::Map(Cow::Borrowed(m)), Key::Str(k)) => Ok(m
            .iter()
            .find(|kv| kv.key == *k)
            .map_or(Value::Nil, |kv| Value::from_opt_any(kv.value.as_ref()))),
        (Value::Map(Cow::Owned(m)), Key::Str(k)) => {
            Ok(m.iter().find(|kv| kv.key == *k).map_or(Value::Nil, |kv| {
                Value::from_opt_any(kv.value.as_ref()).into_owned()
            }))
        }
        (Value::Slice(s), Key::Index(i)) => {
            let len = s.len();
            let out_of_range = EvalError::IndexOutOfRange { index: *i, len };
            let idx = usize::try_from(*i).map_err(|_| out_of_range.clone())?;
            match s {
                Cow::Borrowed(items) => items.get(idx).map(Value::from_any).ok_or(out_of_range),
                Cow::Owned(items) => items
                    .get(idx)
                    .map(|v| Value::from_any(v).into_owned())
                    .ok_or(out_of_range),
            }
        }
        (other, key) => Err(EvalError::NotIndexable {
            found: other.type_name(),
            key: key.to_string(),
        }),
    }
}

/// `value[k1][k2]...`
pub fn index_all<'a>(mut value: Value<'a>, keys: &[Key]) -> Result<Value<'a>, EvalError> {
    for key in keys {
        value = index_value(value, key)?;
    }
    Ok(value)
}

/// The value at `keys` in an attribute list (the list itself when there are none).
pub fn attrs_get<'a>(attrs: &'a [KeyValue], keys: &[Key]) -> Result<Value<'a>, EvalError> {
    index_all(Value::Map(Cow::Borrowed(attrs)), keys)
}

/// The value at `keys` in an `AnyValue` (a log body); a missing value is `nil`.
pub fn any_get<'a>(any: Option<&'a AnyValue>, keys: &[Key]) -> Result<Value<'a>, EvalError> {
    index_all(Value::from_opt_any(any), keys)
}

/// Writes `value` at `keys` in an attribute list; with no keys, `value` must be a map and
/// replaces the list. `nil` writes nothing.
pub fn attrs_set(
    attrs: &mut Vec<KeyValue>,
    keys: &[Key],
    value: Value<'_>,
) -> Result<(), EvalError> {
    if value == Value::Nil {
        return Ok(());
    }
    let Some((first, rest)) = keys.split_first() else {
        return match value {
            Value::Map(m) => {
                *attrs = m.into_owned();
                Ok(())
            }
            other => Err(EvalError::Type {
                what: "map target".into(),
                expected: "map",
                found: other.type_name(),
            }),
        };
    };
    let Key::Str(k) = first else {
        return Err(EvalError::NotIndexable {
            found: "map",
            key: first.to_string(),
        });
    };
    let idx = match attrs.iter().position(|kv| kv.key == *k) {
        Some(i) => i,
        None => {
            attrs.push(KeyValue {
                key: k.clone(),
                value: None,
                ..Default::default()
            });
            attrs.len() - 1
        }
    };
    let Some(entry) = attrs.get_mut(idx) else {
        return Ok(());
    };
    any_set(entry.value.get_or_insert_default(), rest, value)
}

/// Writes `value` at `keys` inside an `AnyValue`; an empty value becomes a map when indexed
/// with a string key. `nil` writes nothing.
pub fn any_set(target: &mut AnyValue, keys: &[Key], value: Value<'_>) -> Result<(), EvalError> {
    if value == Value::Nil {
        return Ok(());
    }
    let Some((first, rest)) = keys.split_first() else {
        *target = value.into_any()?.unwrap_or_default();
        return Ok(());
    };
    match (&mut target.value, first) {
        (None, Key::Str(_)) => {
            let mut values = Vec::new();
            attrs_set(&mut values, keys, value)?;
            target.value = Some(any_value::Value::KvlistValue(KeyValueList { values }));
            Ok(())
        }
        (Some(any_value::Value::KvlistValue(m)), Key::Str(_)) => {
            attrs_set(&mut m.values, keys, value)
        }
        (Some(any_value::Value::ArrayValue(a)), Key::Index(i)) => {
            let len = a.values.len();
            let slot = usize::try_from(*i).ok().and_then(|i| a.values.get_mut(i));
            let Some(slot) = slot else {
                return Err(EvalError::IndexOutOfRange { index: *i, len });
            };
            any_set(slot, rest, value)
        }
        (other, key) => Err(EvalError::NotIndexable {
            found: match other {
                None => "nil",
                Some(v) => Value::from_any(&AnyValue {
                    value: Some(v.clone()),
                })
                .type_name(),
            },
            key: key.to_string(),
        }),
    }
}

/// The map at `keys` in an attribute list, to edit in place.
pub fn attrs_map_mut<'a>(
    attrs: &'a mut Vec<KeyValue>,
    keys: &[Key],
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(attrs);
    };
    let Key::Str(k) = first else {
        return Err(EvalError::NotIndexable {
            found: "map",
            key: first.to_string(),
        });
    };
    let Some(kv) = attrs.iter_mut().find(|kv| kv.key == *k) else {
        return Err(not_a_map("nil"));
    };
    match kv.value.as_mut() {
        Some(any) => any_map_mut(any, rest),
        None => Err(not_a_map("nil")),
    }
}

/// The map at `keys` inside an `AnyValue`, to edit in place.
pub fn any_map_mut<'a>(
    any: &'a mut AnyValue,
    keys: &[Key],
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match (&mut any.value, keys.split_first()) {
        (Some(any_value::Value::KvlistValue(m)), None) => Ok(&mut m.values),
        (Some(any_value::Value::KvlistValue(m)), Some(_)) => attrs_map_mut(&mut m.values, keys),
        (Some(any_value::Value::ArrayValue(a)), Some((Key::Index(i), rest))) => {
            let len = a.values.len();
            match usize::try_from(*i).ok().and_then(|i| a.values.get_mut(i)) {
                Some(item) => any_map_mut(item, rest),
                None => Err(EvalError::IndexOutOfRange { index: *i, len }),
            }
        }
        (None, _) => Err(not_a_map("nil")),
        (Some(v), _) => Err(not_a_map(
            Value::from_any(&AnyValue {
                value: Some(v.clone()),
            })
            .type_name(),
        )),
    }
}

fn not_a_map(found: &'static str) -> EvalError {
    EvalError::Type {
        what: "map target".into(),
        expected: "map",
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(k: &str) -> Key {
        Key::Str(k.into())
    }

    #[test]
    fn nested_set_creates_maps_and_get_reads_them_back() {
        let mut attrs = Vec::new();
        attrs_set(&mut attrs, &[s("a"), s("b")], Value::Int(3)).unwrap();
        assert_eq!(attrs_get(&attrs, &[s("a"), s("b")]).unwrap(), Value::Int(3));
        assert_eq!(
            attrs_get(&attrs, &[s("a"), s("missing")]).unwrap(),
            Value::Nil
        );
        assert_eq!(
            attrs_get(&attrs, &[s("x"), s("y"), Key::Index(3)]).unwrap(),
            Value::Nil
        );
    }

    #[test]
    fn list_index_out_of_range_is_an_error_not_a_panic() {
        let mut attrs = Vec::new();
        let list = Value::Slice(Cow::Owned(vec![AnyValue::default()]));
        attrs_set(&mut attrs, &[s("l")], list).unwrap();
        assert!(matches!(
            attrs_get(&attrs, &[s("l"), Key::Index(5)]),
            Err(EvalError::IndexOutOfRange { index: 5, len: 1 })
        ));
        assert!(attrs_get(&attrs, &[s("l"), Key::Index(-1)]).is_err());
        assert!(attrs_set(&mut attrs, &[s("l"), Key::Index(9)], Value::Int(1)).is_err());
        assert!(attrs_get(&attrs, &[s("l"), s("k")]).is_err());
    }

    #[test]
    fn setting_nil_changes_nothing() {
        let mut attrs = Vec::new();
        attrs_set(&mut attrs, &[s("a")], Value::Nil).unwrap();
        assert!(attrs.is_empty());
    }

    #[test]
    fn map_mut_reaches_nested_maps_and_refuses_scalars() {
        let mut attrs = Vec::new();
        attrs_set(&mut attrs, &[s("a"), s("b")], Value::Int(1)).unwrap();
        attrs_set(&mut attrs, &[s("c")], Value::str("x")).unwrap();
        assert_eq!(attrs_map_mut(&mut attrs, &[s("a")]).unwrap().len(), 1);
        assert!(attrs_map_mut(&mut attrs, &[s("c")]).is_err());
        assert!(attrs_map_mut(&mut attrs, &[s("zz")]).is_err());
    }
}
