//! The span record.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::scope::{get_upper, map_mut_upper, set_upper};
use super::{
    bytes, hex_string, int, no_keys, not_a_map, owner, set_hex_id, set_i32, set_id, set_string,
    set_time, set_u32, set_u64, string, time, unsupported,
};
use crate::Context;
use crate::access::{attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Key, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

const KIND_NAMES: [&str; 6] = [
    "Unspecified",
    "Internal",
    "Server",
    "Client",
    "Producer",
    "Consumer",
];

pub(crate) fn get<'a>(s: &'a Span, path: &Path) -> Result<Value<'a>, EvalError> {
    use Field::*;
    match path.field {
        SpanAttributes => return attrs_get(&s.attributes, &path.keys),
        SpanTraceState => {
            return match path.keys.as_slice() {
                [] => Ok(string(&s.trace_state)),
                [Key::Str(k)] => {
                    Ok(trace_state_entry(&s.trace_state, k).map_or(Value::Nil, string))
                }
                [k, ..] => Err(EvalError::NotIndexable {
                    found: "trace state",
                    key: k.to_string(),
                }),
            };
        }
        _ => no_keys(path)?,
    }
    let status = s.status.as_ref();
    Ok(match path.field {
        SpanTraceId => bytes(&s.trace_id),
        SpanTraceIdString => hex_string(&s.trace_id),
        SpanSpanId => bytes(&s.span_id),
        SpanSpanIdString => hex_string(&s.span_id),
        SpanParentSpanId => bytes(&s.parent_span_id),
        SpanParentSpanIdString => hex_string(&s.parent_span_id),
        SpanName => string(&s.name),
        SpanKind => Value::Int(s.kind.into()),
        SpanKindString => {
            let name = usize::try_from(s.kind)
                .ok()
                .and_then(|k| KIND_NAMES.get(k))
                .copied()
                .unwrap_or("");
            Value::Str(Cow::Borrowed(name))
        }
        SpanStartTimeUnixNano => int(s.start_time_unix_nano),
        SpanEndTimeUnixNano => int(s.end_time_unix_nano),
        SpanStartTime => time(s.start_time_unix_nano),
        SpanEndTime => time(s.end_time_unix_nano),
        SpanDroppedAttributesCount => int(s.dropped_attributes_count.into()),
        SpanDroppedEventsCount => int(s.dropped_events_count.into()),
        SpanDroppedLinksCount => int(s.dropped_links_count.into()),
        SpanStatusCode => Value::Int(status.map_or(0, |st| st.code).into()),
        SpanStatusMessage => status.map_or(Value::str(""), |st| string(&st.message)),
        SpanFlags => int(s.flags.into()),
        f => return Err(unsupported(Context::Span, f)),
    })
}

pub(crate) fn set(s: &mut Span, path: &Path, v: Value<'_>) -> Result<(), EvalError> {
    use Field::*;
    let f = path.field;
    match f {
        SpanAttributes => return attrs_set(&mut s.attributes, &path.keys, v),
        SpanTraceState => {
            return match path.keys.as_slice() {
                [] => set_string(&mut s.trace_state, f, v),
                [Key::Str(k)] => {
                    let mut value = String::new();
                    set_string(&mut value, f, v.clone())?;
                    if v != Value::Nil {
                        s.trace_state = with_trace_state_entry(&s.trace_state, k, &value);
                    }
                    Ok(())
                }
                [k, ..] => Err(EvalError::NotIndexable {
                    found: "trace state",
                    key: k.to_string(),
                }),
            };
        }
        _ => no_keys(path)?,
    }
    match f {
        SpanTraceId => set_id(&mut s.trace_id, 16, f, v),
        SpanTraceIdString => set_hex_id(&mut s.trace_id, 16, f, v),
        SpanSpanId => set_id(&mut s.span_id, 8, f, v),
        SpanSpanIdString => set_hex_id(&mut s.span_id, 8, f, v),
        SpanParentSpanId => set_id(&mut s.parent_span_id, 8, f, v),
        SpanParentSpanIdString => set_hex_id(&mut s.parent_span_id, 8, f, v),
        SpanName => set_string(&mut s.name, f, v),
        SpanKind => set_i32(&mut s.kind, f, v),
        SpanKindString => match v {
            Value::Nil => Ok(()),
            Value::Str(name) => match KIND_NAMES.iter().position(|k| *k == name) {
                Some(k) => {
                    s.kind = k as i32;
                    Ok(())
                }
                None => Err(EvalError::Type {
                    what: "kind.string".into(),
                    expected: "Unspecified, Internal, Server, Client, Producer or Consumer",
                    found: "another string",
                }),
            },
            other => Err(EvalError::Type {
                what: "kind.string".into(),
                expected: "string",
                found: other.type_name(),
            }),
        },
        SpanStartTimeUnixNano => set_u64(&mut s.start_time_unix_nano, f, v),
        SpanEndTimeUnixNano => set_u64(&mut s.end_time_unix_nano, f, v),
        SpanStartTime => set_time(&mut s.start_time_unix_nano, f, v),
        SpanEndTime => set_time(&mut s.end_time_unix_nano, f, v),
        SpanDroppedAttributesCount => set_u32(&mut s.dropped_attributes_count, f, v),
        SpanDroppedEventsCount => set_u32(&mut s.dropped_events_count, f, v),
        SpanDroppedLinksCount => set_u32(&mut s.dropped_links_count, f, v),
        SpanStatusCode => set_i32(&mut s.status.get_or_insert_default().code, f, v),
        SpanStatusMessage => set_string(&mut s.status.get_or_insert_default().message, f, v),
        SpanFlags => set_u32(&mut s.flags, f, v),
        f => Err(unsupported(Context::Span, f)),
    }
}

pub(crate) fn map_mut<'a>(
    s: &'a mut Span,
    path: &Path,
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match path.field {
        Field::SpanAttributes => attrs_map_mut(&mut s.attributes, &path.keys),
        f => Err(not_a_map(f)),
    }
}

/// The value of `key` in a W3C `tracestate` (`k1=v1,k2=v2`).
fn trace_state_entry<'a>(state: &'a str, key: &str) -> Option<&'a str> {
    state
        .split(',')
        .filter_map(|m| m.trim().split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The trace state with `key` set to `value`; an updated entry moves to the front, as W3C
/// says a changed entry does.
fn with_trace_state_entry(state: &str, key: &str, value: &str) -> String {
    let mut out = format!("{key}={value}");
    for member in state.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if member.split_once('=').is_some_and(|(k, _)| k == key) {
            continue;
        }
        out.push(',');
        out.push_str(member);
    }
    out
}

/// A span with its scope and resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct SpanView<'a> {
    /// The resource.
    pub resource: &'a Resource,
    /// The scope.
    pub scope: &'a InstrumentationScope,
    /// The span.
    pub span: &'a Span,
}

/// A span with its scope and resource, for statements that change them.
#[derive(Debug)]
pub struct SpanCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
    /// The scope.
    pub scope: &'a mut InstrumentationScope,
    /// The span.
    pub span: &'a mut Span,
}

pub(crate) fn read<'a>(
    r: &'a Resource,
    sc: &'a InstrumentationScope,
    s: &'a Span,
    path: &Path,
    record: Context,
) -> Result<Value<'a>, EvalError> {
    match owner(path.field) {
        Context::Span => get(s, path),
        _ => get_upper(r, sc, path, record),
    }
}

impl Record for SpanView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.span, path, Context::Span)
    }
}

impl Record for SpanCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.span, path, Context::Span)
    }
}

impl RecordMut for SpanCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        match owner(path.field) {
            Context::Span => set(self.span, path, value),
            _ => set_upper(self.resource, self.scope, path, value, Context::Span),
        }
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        match owner(path.field) {
            Context::Span => map_mut(self.span, path),
            _ => map_mut_upper(self.resource, self.scope, path, Context::Span),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_state_entries_read_and_update() {
        assert_eq!(trace_state_entry("a=1, b=2", "b"), Some("2"));
        assert_eq!(trace_state_entry("a=1", "c"), None);
        assert_eq!(with_trace_state_entry("a=1,b=2", "b", "3"), "b=3,a=1");
        assert_eq!(with_trace_state_entry("", "x", "y"), "x=y");
    }
}
