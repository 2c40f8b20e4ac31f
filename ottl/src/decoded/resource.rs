//! The resource record, and the resource fields every lower record answers.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::{int, no_keys, not_a_map, owner, set_u32, unsupported};
use crate::Context;
use crate::access::{attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

pub(crate) fn get<'a>(r: &'a Resource, path: &Path) -> Result<Value<'a>, EvalError> {
    match path.field {
        Field::ResourceAttributes => attrs_get(&r.attributes, &path.keys),
        Field::ResourceDroppedAttributesCount => {
            no_keys(path)?;
            Ok(int(r.dropped_attributes_count.into()))
        }
        f => Err(unsupported(Context::Resource, f)),
    }
}

pub(crate) fn set(r: &mut Resource, path: &Path, v: Value<'_>) -> Result<(), EvalError> {
    match path.field {
        Field::ResourceAttributes => attrs_set(&mut r.attributes, &path.keys, v),
        Field::ResourceDroppedAttributesCount => {
            no_keys(path)?;
            set_u32(&mut r.dropped_attributes_count, path.field, v)
        }
        f => Err(unsupported(Context::Resource, f)),
    }
}

pub(crate) fn map_mut<'a>(
    r: &'a mut Resource,
    path: &Path,
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match path.field {
        Field::ResourceAttributes => attrs_map_mut(&mut r.attributes, &path.keys),
        f => Err(not_a_map(f)),
    }
}

/// A resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct ResourceView<'a> {
    /// The resource.
    pub resource: &'a Resource,
}

/// A resource, for statements that change it.
#[derive(Debug)]
pub struct ResourceCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
}

impl Record for ResourceView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        get(self.resource, path)
    }
}

impl Record for ResourceCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        get(self.resource, path)
    }
}

impl RecordMut for ResourceCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        match owner(path.field) {
            Context::Resource => set(self.resource, path, value),
            _ => Err(unsupported(Context::Resource, path.field)),
        }
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        map_mut(self.resource, path)
    }
}
