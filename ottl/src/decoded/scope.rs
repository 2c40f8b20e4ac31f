//! The instrumentation scope record, and the scope fields every lower record answers.

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::{int, no_keys, not_a_map, owner, resource, set_string, set_u32, string, unsupported};
use crate::Context;
use crate::access::{attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

pub(crate) fn get<'a>(s: &'a InstrumentationScope, path: &Path) -> Result<Value<'a>, EvalError> {
    if path.field == Field::ScopeAttributes {
        return attrs_get(&s.attributes, &path.keys);
    }
    no_keys(path)?;
    match path.field {
        Field::ScopeName => Ok(string(&s.name)),
        Field::ScopeVersion => Ok(string(&s.version)),
        Field::ScopeDroppedAttributesCount => Ok(int(s.dropped_attributes_count.into())),
        f => Err(unsupported(Context::Scope, f)),
    }
}

pub(crate) fn set(
    s: &mut InstrumentationScope,
    path: &Path,
    v: Value<'_>,
) -> Result<(), EvalError> {
    if path.field == Field::ScopeAttributes {
        return attrs_set(&mut s.attributes, &path.keys, v);
    }
    no_keys(path)?;
    match path.field {
        Field::ScopeName => set_string(&mut s.name, path.field, v),
        Field::ScopeVersion => set_string(&mut s.version, path.field, v),
        Field::ScopeDroppedAttributesCount => {
            set_u32(&mut s.dropped_attributes_count, path.field, v)
        }
        f => Err(unsupported(Context::Scope, f)),
    }
}

pub(crate) fn map_mut<'a>(
    s: &'a mut InstrumentationScope,
    path: &Path,
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match path.field {
        Field::ScopeAttributes => attrs_map_mut(&mut s.attributes, &path.keys),
        f => Err(not_a_map(f)),
    }
}

/// Reads a resource or scope field, or says the field is not one: shared by every record.
pub(crate) fn get_upper<'a>(
    r: &'a Resource,
    s: &'a InstrumentationScope,
    path: &Path,
    record: Context,
) -> Result<Value<'a>, EvalError> {
    match owner(path.field) {
        Context::Resource => resource::get(r, path),
        Context::Scope => get(s, path),
        _ => Err(unsupported(record, path.field)),
    }
}

pub(crate) fn set_upper(
    r: &mut Resource,
    s: &mut InstrumentationScope,
    path: &Path,
    v: Value<'_>,
    record: Context,
) -> Result<(), EvalError> {
    match owner(path.field) {
        Context::Resource => resource::set(r, path, v),
        Context::Scope => set(s, path, v),
        _ => Err(unsupported(record, path.field)),
    }
}

pub(crate) fn map_mut_upper<'a>(
    r: &'a mut Resource,
    s: &'a mut InstrumentationScope,
    path: &Path,
    record: Context,
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match owner(path.field) {
        Context::Resource => resource::map_mut(r, path),
        Context::Scope => map_mut(s, path),
        _ => Err(unsupported(record, path.field)),
    }
}

/// An instrumentation scope with its resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct ScopeView<'a> {
    /// The resource.
    pub resource: &'a Resource,
    /// The scope.
    pub scope: &'a InstrumentationScope,
}

/// An instrumentation scope with its resource, for statements that change them.
#[derive(Debug)]
pub struct ScopeCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
    /// The scope.
    pub scope: &'a mut InstrumentationScope,
}

impl Record for ScopeView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        get_upper(self.resource, self.scope, path, Context::Scope)
    }
}

impl Record for ScopeCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        get_upper(self.resource, self.scope, path, Context::Scope)
    }
}

impl RecordMut for ScopeCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        set_upper(self.resource, self.scope, path, value, Context::Scope)
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        map_mut_upper(self.resource, self.scope, path, Context::Scope)
    }
}
