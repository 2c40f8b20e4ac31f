//! Paths of the resource context.

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    keyed("attributes", Field::ResourceAttributes, Type::Map),
    f(
        "dropped_attributes_count",
        Field::ResourceDroppedAttributesCount,
        Type::Int,
        true,
    ),
];
