//! Paths of the instrumentation scope context.

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    f("name", Field::ScopeName, Type::String, true),
    f("version", Field::ScopeVersion, Type::String, true),
    keyed("attributes", Field::ScopeAttributes, Type::Map),
    f(
        "dropped_attributes_count",
        Field::ScopeDroppedAttributesCount,
        Type::Int,
        true,
    ),
];
