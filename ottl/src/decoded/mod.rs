//! [`Record`](crate::Record) implementations over the decoded `opentelemetry-proto` structs,
//! one per context. Each comes twice: a `*Ctx` holding `&mut` references (conditions and
//! editors) and a `*View` holding shared ones (conditions only, for components that only read,
//! such as routing or counting). Records of a lower context reach their parents: a
//! [`SpanCtx`] answers `resource.*` and `scope.*` paths too; a [`SpanEventCtx`] also `span.*`.
//!
//! A missing resource or scope in a request is an empty one: pass `Resource::default()`.

mod datapoint;
mod log;
mod metric;
mod resource;
mod scope;
mod span;
mod spanevent;

#[cfg(test)]
mod tests;

pub use datapoint::{DataPointCtx, DataPointView};
pub use log::{LogCtx, LogView};
pub use metric::{MetricCtx, MetricView};
pub use resource::{ResourceCtx, ResourceView};
pub use scope::{ScopeCtx, ScopeView};
pub use span::{SpanCtx, SpanView};
pub use spanevent::{SpanEventCtx, SpanEventView};

use std::borrow::Cow;

use crate::Context;
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::value::{Value, hex, unhex};

/// The context whose record holds `field`.
pub(crate) fn owner(field: Field) -> Context {
    use Field::*;
    match field {
        ResourceAttributes | ResourceDroppedAttributesCount => Context::Resource,
        ScopeName | ScopeVersion | ScopeAttributes | ScopeDroppedAttributesCount => Context::Scope,
        SpanTraceId
        | SpanTraceIdString
        | SpanSpanId
        | SpanSpanIdString
        | SpanParentSpanId
        | SpanParentSpanIdString
        | SpanTraceState
        | SpanName
        | SpanKind
        | SpanKindString
        | SpanStartTimeUnixNano
        | SpanEndTimeUnixNano
        | SpanStartTime
        | SpanEndTime
        | SpanAttributes
        | SpanDroppedAttributesCount
        | SpanDroppedEventsCount
        | SpanDroppedLinksCount
        | SpanStatusCode
        | SpanStatusMessage
        | SpanFlags => Context::Span,
        EventName
        | EventTimeUnixNano
        | EventTime
        | EventAttributes
        | EventDroppedAttributesCount
        | EventIndex => Context::SpanEvent,
        MetricName
        | MetricDescription
        | MetricUnit
        | MetricType
        | MetricAggregationTemporality
        | MetricIsMonotonic
        | MetricMetadata => Context::Metric,
        DataPointAttributes
        | DataPointStartTimeUnixNano
        | DataPointTimeUnixNano
        | DataPointStartTime
        | DataPointTime
        | DataPointValueDouble
        | DataPointValueInt
        | DataPointFlags
        | DataPointCount
        | DataPointSum
        | DataPointMin
        | DataPointMax
        | DataPointBucketCounts
        | DataPointExplicitBounds
        | DataPointScale
        | DataPointZeroCount
        | DataPointPositiveOffset
        | DataPointPositiveBucketCounts
        | DataPointNegativeOffset
        | DataPointNegativeBucketCounts => Context::DataPoint,
        LogTimeUnixNano
        | LogObservedTimeUnixNano
        | LogTime
        | LogObservedTime
        | LogSeverityNumber
        | LogSeverityText
        | LogBody
        | LogBodyString
        | LogAttributes
        | LogDroppedAttributesCount
        | LogFlags
        | LogTraceId
        | LogTraceIdString
        | LogSpanId
        | LogSpanIdString
        | LogEventName => Context::Log,
    }
}

pub(crate) fn unsupported(record: Context, field: Field) -> EvalError {
    EvalError::Unsupported(format!("{field:?} is not a field of a {record} record"))
}

pub(crate) fn not_a_map(field: Field) -> EvalError {
    EvalError::Type {
        what: format!("{field:?}"),
        expected: "map",
        found: "a field that is not a map",
    }
}

/// Refuses keys on a field that takes none (the checker already does for compiled paths;
/// this guards hand-made ones).
pub(crate) fn no_keys(path: &Path) -> Result<(), EvalError> {
    match path.keys.first() {
        None => Ok(()),
        Some(k) => Err(EvalError::NotIndexable {
            found: "field",
            key: k.to_string(),
        }),
    }
}

fn wrong(field: Field, expected: &'static str, found: &Value<'_>) -> EvalError {
    EvalError::Type {
        what: format!("{field:?}"),
        expected,
        found: found.type_name(),
    }
}

pub(crate) fn int(u: u64) -> Value<'static> {
    Value::Int(i64::try_from(u).unwrap_or(i64::MAX))
}

pub(crate) fn time(u: u64) -> Value<'static> {
    Value::Time(i64::try_from(u).unwrap_or(i64::MAX))
}

pub(crate) fn bytes(b: &[u8]) -> Value<'_> {
    Value::Bytes(Cow::Borrowed(b))
}

pub(crate) fn string(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

pub(crate) fn hex_string(b: &[u8]) -> Value<'static> {
    Value::Str(Cow::Owned(hex(b)))
}

// Setters: `nil` leaves the field alone, as otelcol's `set` does.

pub(crate) fn set_string(target: &mut String, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Str(s) => {
            *target = s.into_owned();
            Ok(())
        }
        other => Err(wrong(field, "string", &other)),
    }
}

pub(crate) fn set_u64(target: &mut u64, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Int(i) => {
            *target = u64::try_from(i).map_err(|_| wrong(field, "a non-negative int", &v))?;
            Ok(())
        }
        other => Err(wrong(field, "int", &other)),
    }
}

pub(crate) fn set_u32(target: &mut u32, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Int(i) => {
            *target =
                u32::try_from(i).map_err(|_| wrong(field, "an int from 0 to 4294967295", &v))?;
            Ok(())
        }
        other => Err(wrong(field, "int", &other)),
    }
}

pub(crate) fn set_i32(target: &mut i32, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Int(i) => {
            *target = i32::try_from(i).map_err(|_| wrong(field, "a 32-bit int", &v))?;
            Ok(())
        }
        other => Err(wrong(field, "int", &other)),
    }
}

pub(crate) fn set_time(target: &mut u64, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Time(t) => {
            *target = u64::try_from(t).map_err(|_| wrong(field, "a time after 1970", &v))?;
            Ok(())
        }
        other => Err(wrong(field, "time", &other)),
    }
}

pub(crate) fn set_f64(target: &mut f64, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Double(d) => {
            *target = d;
            Ok(())
        }
        Value::Int(i) => {
            *target = i as f64;
            Ok(())
        }
        other => Err(wrong(field, "double", &other)),
    }
}

pub(crate) fn set_bool(target: &mut bool, field: Field, v: Value<'_>) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Bool(b) => {
            *target = b;
            Ok(())
        }
        other => Err(wrong(field, "bool", &other)),
    }
}

/// A trace (16 bytes) or span (8 bytes) id from bytes.
pub(crate) fn set_id(
    target: &mut Vec<u8>,
    len: usize,
    field: Field,
    v: Value<'_>,
) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Bytes(b) if b.len() == len || b.is_empty() => {
            *target = b.into_owned();
            Ok(())
        }
        other => Err(wrong(
            field,
            if len == 16 { "16 bytes" } else { "8 bytes" },
            &other,
        )),
    }
}

/// A trace or span id from its hex string (`trace_id.string`).
pub(crate) fn set_hex_id(
    target: &mut Vec<u8>,
    len: usize,
    field: Field,
    v: Value<'_>,
) -> Result<(), EvalError> {
    match v {
        Value::Nil => Ok(()),
        Value::Str(s) => match unhex(&s) {
            Some(b) if b.len() == len => {
                *target = b;
                Ok(())
            }
            _ => Err(wrong(
                field,
                if len == 16 {
                    "32 hex digits"
                } else {
                    "16 hex digits"
                },
                &Value::Str(s),
            )),
        },
        other => Err(wrong(field, "string", &other)),
    }
}

/// A list of unsigned ints (bucket counts) as a list value.
pub(crate) fn u64_list(items: &[u64]) -> Value<'static> {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    Value::Slice(Cow::Owned(
        items
            .iter()
            .map(|n| AnyValue {
                value: Some(any_value::Value::IntValue(
                    i64::try_from(*n).unwrap_or(i64::MAX),
                )),
            })
            .collect(),
    ))
}

pub(crate) fn f64_list(items: &[f64]) -> Value<'static> {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    Value::Slice(Cow::Owned(
        items
            .iter()
            .map(|d| AnyValue {
                value: Some(any_value::Value::DoubleValue(*d)),
            })
            .collect(),
    ))
}

pub(crate) fn set_u64_list(
    target: &mut Vec<u64>,
    field: Field,
    v: Value<'_>,
) -> Result<(), EvalError> {
    let Value::Slice(items) = v else {
        return if v == Value::Nil {
            Ok(())
        } else {
            Err(wrong(field, "list of ints", &v))
        };
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        match Value::from_any(item) {
            Value::Int(i) if i >= 0 => out.push(i as u64),
            other => return Err(wrong(field, "list of non-negative ints", &other)),
        }
    }
    *target = out;
    Ok(())
}

pub(crate) fn set_f64_list(
    target: &mut Vec<f64>,
    field: Field,
    v: Value<'_>,
) -> Result<(), EvalError> {
    let Value::Slice(items) = v else {
        return if v == Value::Nil {
            Ok(())
        } else {
            Err(wrong(field, "list of doubles", &v))
        };
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        match Value::from_any(item) {
            Value::Double(d) => out.push(d),
            Value::Int(i) => out.push(i as f64),
            other => return Err(wrong(field, "list of doubles", &other)),
        }
    }
    *target = out;
    Ok(())
}
