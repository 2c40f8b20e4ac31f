//! The log record.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::scope::{get_upper, map_mut_upper, set_upper};
use super::{
    bytes, hex_string, int, no_keys, not_a_map, owner, set_hex_id, set_i32, set_id, set_string,
    set_time, set_u32, set_u64, string, time, unsupported,
};
use crate::Context;
use crate::access::{any_get, any_map_mut, any_set, attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

fn get<'a>(l: &'a LogRecord, path: &Path) -> Result<Value<'a>, EvalError> {
    use Field::*;
    match path.field {
        LogAttributes => return attrs_get(&l.attributes, &path.keys),
        LogBody => return any_get(l.body.as_ref(), &path.keys),
        _ => no_keys(path)?,
    }
    Ok(match path.field {
        LogTimeUnixNano => int(l.time_unix_nano),
        LogObservedTimeUnixNano => int(l.observed_time_unix_nano),
        LogTime => time(l.time_unix_nano),
        LogObservedTime => time(l.observed_time_unix_nano),
        LogSeverityNumber => Value::Int(l.severity_number.into()),
        LogSeverityText => string(&l.severity_text),
        LogBodyString => match Value::from_opt_any(l.body.as_ref()) {
            Value::Str(s) => Value::Str(s),
            other => Value::Str(Cow::Owned(
                other
                    .to_string_like()
                    .map(Cow::into_owned)
                    .unwrap_or_default(),
            )),
        },
        LogDroppedAttributesCount => int(l.dropped_attributes_count.into()),
        LogFlags => int(l.flags.into()),
        LogTraceId => bytes(&l.trace_id),
        LogTraceIdString => hex_string(&l.trace_id),
        LogSpanId => bytes(&l.span_id),
        LogSpanIdString => hex_string(&l.span_id),
        LogEventName => string(&l.event_name),
        f => return Err(unsupported(Context::Log, f)),
    })
}

fn set(l: &mut LogRecord, path: &Path, v: Value<'_>) -> Result<(), EvalError> {
    use Field::*;
    let f = path.field;
    match f {
        LogAttributes => return attrs_set(&mut l.attributes, &path.keys, v),
        LogBody => {
            if v == Value::Nil {
                return Ok(());
            }
            return any_set(l.body.get_or_insert_default(), &path.keys, v);
        }
        _ => no_keys(path)?,
    }
    match f {
        LogTimeUnixNano => set_u64(&mut l.time_unix_nano, f, v),
        LogObservedTimeUnixNano => set_u64(&mut l.observed_time_unix_nano, f, v),
        LogTime => set_time(&mut l.time_unix_nano, f, v),
        LogObservedTime => set_time(&mut l.observed_time_unix_nano, f, v),
        LogSeverityNumber => set_i32(&mut l.severity_number, f, v),
        LogSeverityText => set_string(&mut l.severity_text, f, v),
        LogBodyString => match v {
            Value::Nil => Ok(()),
            Value::Str(_) => any_set(l.body.get_or_insert_default(), &[], v),
            other => Err(EvalError::Type {
                what: "body.string".into(),
                expected: "string",
                found: other.type_name(),
            }),
        },
        LogDroppedAttributesCount => set_u32(&mut l.dropped_attributes_count, f, v),
        LogFlags => set_u32(&mut l.flags, f, v),
        LogTraceId => set_id(&mut l.trace_id, 16, f, v),
        LogTraceIdString => set_hex_id(&mut l.trace_id, 16, f, v),
        LogSpanId => set_id(&mut l.span_id, 8, f, v),
        LogSpanIdString => set_hex_id(&mut l.span_id, 8, f, v),
        LogEventName => set_string(&mut l.event_name, f, v),
        f => Err(unsupported(Context::Log, f)),
    }
}

fn map_mut<'a>(l: &'a mut LogRecord, path: &Path) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match path.field {
        Field::LogAttributes => attrs_map_mut(&mut l.attributes, &path.keys),
        Field::LogBody => match l.body.as_mut() {
            Some(body) => any_map_mut(body, &path.keys),
            None => Err(not_a_map(Field::LogBody)),
        },
        f => Err(not_a_map(f)),
    }
}

fn read<'a>(
    r: &'a Resource,
    s: &'a InstrumentationScope,
    l: &'a LogRecord,
    path: &Path,
) -> Result<Value<'a>, EvalError> {
    match owner(path.field) {
        Context::Log => get(l, path),
        _ => get_upper(r, s, path, Context::Log),
    }
}

/// A log record with its scope and resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct LogView<'a> {
    /// The resource.
    pub resource: &'a Resource,
    /// The scope.
    pub scope: &'a InstrumentationScope,
    /// The log record.
    pub log: &'a LogRecord,
}

/// A log record with its scope and resource, for statements that change them.
#[derive(Debug)]
pub struct LogCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
    /// The scope.
    pub scope: &'a mut InstrumentationScope,
    /// The log record.
    pub log: &'a mut LogRecord,
}

impl Record for LogView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.log, path)
    }
}

impl Record for LogCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.log, path)
    }
}

impl RecordMut for LogCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        match owner(path.field) {
            Context::Log => set(self.log, path, value),
            _ => set_upper(self.resource, self.scope, path, value, Context::Log),
        }
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        match owner(path.field) {
            Context::Log => map_mut(self.log, path),
            _ => map_mut_upper(self.resource, self.scope, path, Context::Log),
        }
    }
}
