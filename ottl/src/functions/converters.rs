//! The converters: pure functions from values to a value.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::digest;

use super::Converter;
use crate::error::EvalError;
use crate::eval::{Arg, eval, eval_arg};
use crate::record::Record;
use crate::value::{Value, hex};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Runs converter `c` on its compiled arguments.
pub(crate) fn call<'a, R: Record + ?Sized>(
    c: Converter,
    args: &'a [Arg],
    rec: &'a R,
) -> Result<Value<'a>, EvalError> {
    use Converter as C;
    let first = || eval_arg(args, 0, rec);
    Ok(match c {
        C::IsMatch => {
            let target = first()?;
            let Some(Arg::Regex(re)) = args.get(1) else {
                return Err(missing("IsMatch"));
            };
            Value::Bool(target.to_string_like().is_some_and(|s| re.is_match(&s)))
        }
        C::Concat => {
            let delimiter = eval_arg(args, 1, rec)?;
            let delimiter = want_str("Concat", "delimiter", &delimiter)?;
            let Some(Arg::ExprList(values)) = args.first() else {
                return Err(missing("Concat"));
            };
            let mut out = String::new();
            for (i, e) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(delimiter);
                }
                match eval(e, rec)?.to_string_like() {
                    Some(s) => out.push_str(&s),
                    None => out.push_str("<nil>"),
                }
            }
            Value::Str(Cow::Owned(out))
        }
        C::Split => {
            let target = first()?;
            let target = want_str("Split", "target", &target)?;
            let delimiter = eval_arg(args, 1, rec)?;
            let delimiter = want_str("Split", "delimiter", &delimiter)?;
            let parts: Vec<_> = if delimiter.is_empty() {
                // Go's strings.Split with an empty separator splits into characters.
                target.chars().map(|c| str_any(c.to_string())).collect()
            } else {
                target
                    .split(delimiter)
                    .map(|s| str_any(s.to_owned()))
                    .collect()
            };
            Value::Slice(Cow::Owned(parts))
        }
        C::Substring => {
            let target = first()?;
            let target = want_str("Substring", "target", &target)?;
            let start = want_int("Substring", "start", &eval_arg(args, 1, rec)?)?;
            let length = want_int("Substring", "length", &eval_arg(args, 2, rec)?)?;
            Value::Str(Cow::Owned(substring(target, start, length)?.to_owned()))
        }
        C::Hex => Value::Str(Cow::Owned(hex(&bytes_like("Hex", &first()?)?))),
        C::TraceId | C::SpanId => {
            let (name, len) = if c == C::TraceId {
                ("TraceID", 16)
            } else {
                ("SpanID", 8)
            };
            let v = first()?;
            match v {
                Value::Bytes(b) if b.len() == len => Value::Bytes(Cow::Owned(b.into_owned())),
                Value::Bytes(b) => {
                    return Err(EvalError::function(
                        name,
                        format!("needs {len} bytes, got {}", b.len()),
                    ));
                }
                other => return Err(type_error(name, "bytes", "bytes", &other)),
            }
        }
        C::Unix => {
            let secs = want_int("Unix", "seconds", &first()?)?;
            let nanos = match eval_arg(args, 1, rec)? {
                Value::Nil => 0,
                v => want_int("Unix", "nanoseconds", &v)?,
            };
            secs.checked_mul(NANOS_PER_SEC)
                .and_then(|n| n.checked_add(nanos))
                .map(Value::Time)
                .ok_or(EvalError::Overflow("Unix"))?
        }
        C::Now => Value::Time(now()),
        _ => single(c, first()?)?,
    })
}

/// The converters of one value, also used as a `function` argument of the `replace_*` editors.
pub(crate) fn single(c: Converter, v: Value<'_>) -> Result<Value<'_>, EvalError> {
    use Converter as C;
    Ok(match c {
        C::ToLowerCase => Value::Str(Cow::Owned(
            want_str("ToLowerCase", "target", &v)?.to_lowercase(),
        )),
        C::ToUpperCase => Value::Str(Cow::Owned(
            want_str("ToUpperCase", "target", &v)?.to_uppercase(),
        )),
        C::Sha1 => digest_hex(&digest::SHA1_FOR_LEGACY_USE_ONLY, "SHA1", &v)?,
        C::Sha256 => digest_hex(&digest::SHA256, "SHA256", &v)?,
        C::Sha512 => digest_hex(&digest::SHA512, "SHA512", &v)?,
        C::Int => match v {
            Value::Int(i) => Value::Int(i),
            // Truncates toward zero; out of range saturates, NaN is 0.
            Value::Double(d) => Value::Int(d as i64),
            Value::Bool(b) => Value::Int(i64::from(b)),
            Value::Str(s) => s.trim().parse().map_or(Value::Nil, Value::Int),
            _ => Value::Nil,
        },
        C::Double => match v {
            Value::Double(d) => Value::Double(d),
            Value::Int(i) => Value::Double(i as f64),
            Value::Bool(b) => Value::Double(if b { 1.0 } else { 0.0 }),
            Value::Str(s) => s.trim().parse().map_or(Value::Nil, Value::Double),
            _ => Value::Nil,
        },
        C::String => match v {
            Value::Str(s) => Value::Str(s),
            other => other
                .to_string_like()
                .map_or(Value::Nil, |s| Value::Str(Cow::Owned(s.into_owned()))),
        },
        C::Len => Value::Int(match &v {
            Value::Str(s) => s.len(),
            Value::Slice(s) => s.len(),
            Value::Map(m) => m.len(),
            other => return Err(type_error("Len", "target", "string, list or map", other)),
        } as i64),
        C::IsString => Value::Bool(matches!(v, Value::Str(_))),
        C::IsMap => Value::Bool(matches!(v, Value::Map(_))),
        C::IsInt => Value::Bool(matches!(v, Value::Int(_))),
        C::IsDouble => Value::Bool(matches!(v, Value::Double(_))),
        C::IsBool => Value::Bool(matches!(v, Value::Bool(_))),
        C::IsList => Value::Bool(matches!(v, Value::Slice(_))),
        C::Duration => Value::Duration(
            parse_duration(want_str("Duration", "duration", &v)?)
                .map_err(|m| EvalError::function("Duration", m))?,
        ),
        C::UnixNano => Value::Int(want_time("UnixNano", &v)?),
        C::UnixMicro => Value::Int(want_time("UnixMicro", &v)?.div_euclid(1_000)),
        C::UnixMilli => Value::Int(want_time("UnixMilli", &v)?.div_euclid(1_000_000)),
        C::UnixSeconds => Value::Int(want_time("UnixSeconds", &v)?.div_euclid(NANOS_PER_SEC)),
        C::Nanoseconds => Value::Int(want_duration("Nanoseconds", &v)?),
        C::Microseconds => Value::Int(want_duration("Microseconds", &v)? / 1_000),
        C::Milliseconds => Value::Int(want_duration("Milliseconds", &v)? / 1_000_000),
        C::Seconds => Value::Double(want_duration("Seconds", &v)? as f64 / 1e9),
        C::Minutes => Value::Double(want_duration("Minutes", &v)? as f64 / 6e10),
        C::Hours => Value::Double(want_duration("Hours", &v)? as f64 / 3.6e12),
        C::ParseJson => {
            let text = want_str("ParseJSON", "target", &v)?;
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| EvalError::function("ParseJSON", e.to_string()))?;
            if !(json.is_object() || json.is_array()) {
                return Err(EvalError::function(
                    "ParseJSON",
                    "expected a JSON object or array",
                ));
            }
            Value::from_json(&json)
        }
        C::Hex => Value::Str(Cow::Owned(hex(&bytes_like("Hex", &v)?))),
        C::IsMatch
        | C::Concat
        | C::Split
        | C::Substring
        | C::TraceId
        | C::SpanId
        | C::Unix
        | C::Now => {
            return Err(EvalError::function(
                "converter",
                "takes more than one argument",
            ));
        }
    })
}

/// Applies a converter passed by name to a string, as `replace_pattern(..., SHA256)` does.
pub(crate) fn apply_string_function(c: Converter, s: &str) -> Result<String, EvalError> {
    match single(c, Value::str(s))? {
        Value::Str(out) => Ok(out.into_owned()),
        other => Err(EvalError::Type {
            what: "function argument result".into(),
            expected: "string",
            found: other.type_name(),
        }),
    }
}

fn str_any(s: String) -> opentelemetry_proto::tonic::common::v1::AnyValue {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    AnyValue {
        value: Some(any_value::Value::StringValue(s)),
    }
}

fn missing(function: &'static str) -> EvalError {
    EvalError::function(function, "argument not compiled")
}

fn type_error(
    function: &'static str,
    arg: &str,
    expected: &'static str,
    found: &Value<'_>,
) -> EvalError {
    EvalError::Type {
        what: format!("{function} argument `{arg}`"),
        expected,
        found: found.type_name(),
    }
}

fn want_str<'v>(function: &'static str, arg: &str, v: &'v Value<'_>) -> Result<&'v str, EvalError> {
    v.as_str()
        .ok_or_else(|| type_error(function, arg, "string", v))
}

fn want_int(function: &'static str, arg: &str, v: &Value<'_>) -> Result<i64, EvalError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(type_error(function, arg, "int", other)),
    }
}

fn want_time(function: &'static str, v: &Value<'_>) -> Result<i64, EvalError> {
    match v {
        Value::Time(t) => Ok(*t),
        other => Err(type_error(function, "time", "time", other)),
    }
}

fn want_duration(function: &'static str, v: &Value<'_>) -> Result<i64, EvalError> {
    match v {
        Value::Duration(d) => Ok(*d),
        other => Err(type_error(function, "duration", "duration", other)),
    }
}

fn digest_hex(
    alg: &'static digest::Algorithm,
    function: &'static str,
    v: &Value<'_>,
) -> Result<Value<'static>, EvalError> {
    let s = want_str(function, "value", v)?;
    Ok(Value::Str(Cow::Owned(hex(digest::digest(
        alg,
        s.as_bytes(),
    )
    .as_ref()))))
}

/// The bytes `Hex` encodes: bytes as they are, strings' UTF-8, numbers big-endian.
fn bytes_like(function: &'static str, v: &Value<'_>) -> Result<Vec<u8>, EvalError> {
    Ok(match v {
        Value::Bytes(b) => b.to_vec(),
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_be_bytes().to_vec(),
        Value::Double(d) => d.to_bits().to_be_bytes().to_vec(),
        Value::Bool(b) => vec![u8::from(*b)],
        other => {
            return Err(type_error(
                function,
                "value",
                "bytes, string, int, double or bool",
                other,
            ));
        }
    })
}

/// `[start, start+length)` in bytes, as otelcol's Substring: errors, never a panic, when the
/// range leaves the string or splits a character.
fn substring(s: &str, start: i64, length: i64) -> Result<&str, EvalError> {
    let err = |m: String| EvalError::function("Substring", m);
    if start < 0 {
        return Err(err(format!("invalid start {start}")));
    }
    if length <= 0 {
        return Err(err(format!("invalid length {length}")));
    }
    let begin = usize::try_from(start).map_err(|_| err("start too large".into()))?;
    let end = begin
        .checked_add(usize::try_from(length).map_err(|_| err("length too large".into()))?)
        .filter(|end| *end <= s.len())
        .ok_or_else(|| {
            err(format!(
                "start {start} + length {length} exceeds {} bytes",
                s.len()
            ))
        })?;
    s.get(begin..end)
        .ok_or_else(|| err("the range splits a multi-byte character".into()))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Go's `time.ParseDuration`: `[-+]` then `<number><unit>` repeated, units `ns us µs ms s m h`;
/// `0` alone is allowed.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, next) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration {text:?}")),
            other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(bad)?;
        if !frac_part.is_empty() {
            let digits = frac_part.get(..frac_part.len().min(18)).unwrap_or("");
            let frac: i128 = digits.parse().map_err(|_| bad())?;
            let denom = 10i128.pow(digits.len() as u32);
            value += frac * scale / denom;
        }
        total = total.checked_add(value).ok_or_else(bad)?;
        if total > i128::from(i64::MAX) + 1 {
            return Err(bad());
        }
        rest = next;
    }
    let total = if negative { -total } else { total };
    i64::try_from(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("3s"), Ok(3_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_duration("-2us"), Ok(-2_000));
        assert_eq!(parse_duration("5µs"), Ok(5_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("10000000000h").is_err());
    }

    #[test]
    fn substring_is_bytewise_and_refuses_bad_ranges() {
        assert_eq!(substring("123456789", 0, 3), Ok("123"));
        assert_eq!(substring("123456789", 6, 3), Ok("789"));
        assert!(substring("123", 2, 2).is_err());
        assert!(substring("123", -1, 1).is_err());
        assert!(substring("123", 0, 0).is_err());
        assert!(substring("é", 0, 1).is_err());
        assert!(substring("1", i64::MAX, i64::MAX).is_err());
    }

    #[test]
    fn int_and_double_convert_like_otelcol() {
        assert_eq!(
            single(Converter::Int, Value::Double(-2.7)).unwrap(),
            Value::Int(-2)
        );
        assert_eq!(
            single(Converter::Int, Value::str("42")).unwrap(),
            Value::Int(42)
        );
        assert_eq!(
            single(Converter::Int, Value::str("4.2")).unwrap(),
            Value::Nil
        );
        assert_eq!(
            single(Converter::Int, Value::Bool(true)).unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            single(Converter::Double, Value::str("2.5")).unwrap(),
            Value::Double(2.5)
        );
        assert_eq!(
            single(Converter::Double, Value::Int(2)).unwrap(),
            Value::Double(2.0)
        );
        assert_eq!(single(Converter::Double, Value::Nil).unwrap(), Value::Nil);
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            apply_string_function(Converter::Sha256, "abc").unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            apply_string_function(Converter::Sha1, "abc").unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn len_counts_bytes_items_and_entries() {
        assert_eq!(
            single(Converter::Len, Value::str("é")).unwrap(),
            Value::Int(2)
        );
        assert!(single(Converter::Len, Value::Int(1)).is_err());
    }

    #[test]
    fn unix_conversions_floor() {
        assert_eq!(
            single(Converter::UnixSeconds, Value::Time(1_500_000_000)).unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            single(Converter::UnixSeconds, Value::Time(-1)).unwrap(),
            Value::Int(-1)
        );
        assert_eq!(
            single(Converter::UnixMilli, Value::Time(2_500_000)).unwrap(),
            Value::Int(2)
        );
    }
}
