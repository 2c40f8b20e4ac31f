//! Paths and enums of the span context.

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    f("trace_id", Field::SpanTraceId, Type::Bytes, true),
    f(
        "trace_id.string",
        Field::SpanTraceIdString,
        Type::String,
        true,
    ),
    f("span_id", Field::SpanSpanId, Type::Bytes, true),
    f(
        "span_id.string",
        Field::SpanSpanIdString,
        Type::String,
        true,
    ),
    f("parent_span_id", Field::SpanParentSpanId, Type::Bytes, true),
    f(
        "parent_span_id.string",
        Field::SpanParentSpanIdString,
        Type::String,
        true,
    ),
    keyed("trace_state", Field::SpanTraceState, Type::String),
    f("name", Field::SpanName, Type::String, true),
    f("kind", Field::SpanKind, Type::Int, true),
    f("kind.string", Field::SpanKindString, Type::String, true),
    f(
        "start_time_unix_nano",
        Field::SpanStartTimeUnixNano,
        Type::Int,
        true,
    ),
    f(
        "end_time_unix_nano",
        Field::SpanEndTimeUnixNano,
        Type::Int,
        true,
    ),
    f("start_time", Field::SpanStartTime, Type::Time, true),
    f("end_time", Field::SpanEndTime, Type::Time, true),
    keyed("attributes", Field::SpanAttributes, Type::Map),
    f(
        "dropped_attributes_count",
        Field::SpanDroppedAttributesCount,
        Type::Int,
        true,
    ),
    f(
        "dropped_events_count",
        Field::SpanDroppedEventsCount,
        Type::Int,
        true,
    ),
    f(
        "dropped_links_count",
        Field::SpanDroppedLinksCount,
        Type::Int,
        true,
    ),
    f("status.code", Field::SpanStatusCode, Type::Int, true),
    f(
        "status.message",
        Field::SpanStatusMessage,
        Type::String,
        true,
    ),
    f("flags", Field::SpanFlags, Type::Int, true),
];

pub(crate) const ENUMS: &[(&str, i64)] = &[
    ("SPAN_KIND_UNSPECIFIED", 0),
    ("SPAN_KIND_INTERNAL", 1),
    ("SPAN_KIND_SERVER", 2),
    ("SPAN_KIND_CLIENT", 3),
    ("SPAN_KIND_PRODUCER", 4),
    ("SPAN_KIND_CONSUMER", 5),
    ("STATUS_CODE_UNSET", 0),
    ("STATUS_CODE_OK", 1),
    ("STATUS_CODE_ERROR", 2),
];
