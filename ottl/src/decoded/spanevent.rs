//! The span event record: one event of a span, addressed by its index, so that the event and
//! its span can be reached through one `&mut Span`.

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span::Event};

use super::{
    int, no_keys, not_a_map, owner, set_string, set_time, set_u32, set_u64, span, string, time,
    unsupported,
};
use crate::Context;
use crate::access::{attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

fn missing(index: usize) -> EvalError {
    EvalError::Unsupported(format!("the span has no event {index}"))
}

fn get<'a>(e: &'a Event, index: usize, path: &Path) -> Result<Value<'a>, EvalError> {
    use Field::*;
    if path.field == EventAttributes {
        return attrs_get(&e.attributes, &path.keys);
    }
    no_keys(path)?;
    Ok(match path.field {
        EventName => string(&e.name),
        EventTimeUnixNano => int(e.time_unix_nano),
        EventTime => time(e.time_unix_nano),
        EventDroppedAttributesCount => int(e.dropped_attributes_count.into()),
        EventIndex => int(index as u64),
        f => return Err(unsupported(Context::SpanEvent, f)),
    })
}

fn set(e: &mut Event, path: &Path, v: Value<'_>) -> Result<(), EvalError> {
    use Field::*;
    let f = path.field;
    if f == EventAttributes {
        return attrs_set(&mut e.attributes, &path.keys, v);
    }
    no_keys(path)?;
    match f {
        EventName => set_string(&mut e.name, f, v),
        EventTimeUnixNano => set_u64(&mut e.time_unix_nano, f, v),
        EventTime => set_time(&mut e.time_unix_nano, f, v),
        EventDroppedAttributesCount => set_u32(&mut e.dropped_attributes_count, f, v),
        f => Err(unsupported(Context::SpanEvent, f)),
    }
}

fn read<'a>(
    r: &'a Resource,
    sc: &'a InstrumentationScope,
    s: &'a Span,
    index: usize,
    path: &Path,
) -> Result<Value<'a>, EvalError> {
    match owner(path.field) {
        Context::SpanEvent => get(
            s.events.get(index).ok_or_else(|| missing(index))?,
            index,
            path,
        ),
        _ => span::read(r, sc, s, path, Context::SpanEvent),
    }
}

/// One event of a span, with the span, its scope and resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct SpanEventView<'a> {
    /// The resource.
    pub resource: &'a Resource,
    /// The scope.
    pub scope: &'a InstrumentationScope,
    /// The span holding the event.
    pub span: &'a Span,
    /// The event's index in `span.events`.
    pub index: usize,
}

/// One event of a span, with the span, its scope and resource, for statements that change them.
#[derive(Debug)]
pub struct SpanEventCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
    /// The scope.
    pub scope: &'a mut InstrumentationScope,
    /// The span holding the event.
    pub span: &'a mut Span,
    /// The event's index in `span.events`.
    pub index: usize,
}

impl Record for SpanEventView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.span, self.index, path)
    }
}

impl Record for SpanEventCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.span, self.index, path)
    }
}

impl RecordMut for SpanEventCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        match owner(path.field) {
            Context::SpanEvent => {
                let index = self.index;
                set(
                    self.span
                        .events
                        .get_mut(index)
                        .ok_or_else(|| missing(index))?,
                    path,
                    value,
                )
            }
            Context::Span => span::set(self.span, path, value),
            _ => {
                super::scope::set_upper(self.resource, self.scope, path, value, Context::SpanEvent)
            }
        }
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        match owner(path.field) {
            Context::SpanEvent => {
                let index = self.index;
                if path.field != Field::EventAttributes {
                    return Err(not_a_map(path.field));
                }
                let event = self
                    .span
                    .events
                    .get_mut(index)
                    .ok_or_else(|| missing(index))?;
                attrs_map_mut(&mut event.attributes, &path.keys)
            }
            Context::Span => span::map_mut(self.span, path),
            _ => super::scope::map_mut_upper(self.resource, self.scope, path, Context::SpanEvent),
        }
    }
}
