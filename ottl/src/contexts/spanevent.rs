//! Paths of the span event context (its span's paths are reached with the `span.` prefix).

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    f("name", Field::EventName, Type::String, true),
    f("time_unix_nano", Field::EventTimeUnixNano, Type::Int, true),
    f("time", Field::EventTime, Type::Time, true),
    keyed("attributes", Field::EventAttributes, Type::Map),
    f(
        "dropped_attributes_count",
        Field::EventDroppedAttributesCount,
        Type::Int,
        true,
    ),
    f("event_index", Field::EventIndex, Type::Int, false),
];
