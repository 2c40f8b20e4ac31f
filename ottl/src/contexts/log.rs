//! Paths and enums of the log context.

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    f("time_unix_nano", Field::LogTimeUnixNano, Type::Int, true),
    f(
        "observed_time_unix_nano",
        Field::LogObservedTimeUnixNano,
        Type::Int,
        true,
    ),
    f("time", Field::LogTime, Type::Time, true),
    f("observed_time", Field::LogObservedTime, Type::Time, true),
    f("severity_number", Field::LogSeverityNumber, Type::Int, true),
    f("severity_text", Field::LogSeverityText, Type::String, true),
    keyed("body", Field::LogBody, Type::Any),
    f("body.string", Field::LogBodyString, Type::String, true),
    keyed("attributes", Field::LogAttributes, Type::Map),
    f(
        "dropped_attributes_count",
        Field::LogDroppedAttributesCount,
        Type::Int,
        true,
    ),
    f("flags", Field::LogFlags, Type::Int, true),
    f("trace_id", Field::LogTraceId, Type::Bytes, true),
    f(
        "trace_id.string",
        Field::LogTraceIdString,
        Type::String,
        true,
    ),
    f("span_id", Field::LogSpanId, Type::Bytes, true),
    f("span_id.string", Field::LogSpanIdString, Type::String, true),
    f("event_name", Field::LogEventName, Type::String, true),
];

pub(crate) const ENUMS: &[(&str, i64)] = &[
    ("SEVERITY_NUMBER_UNSPECIFIED", 0),
    ("SEVERITY_NUMBER_TRACE", 1),
    ("SEVERITY_NUMBER_TRACE2", 2),
    ("SEVERITY_NUMBER_TRACE3", 3),
    ("SEVERITY_NUMBER_TRACE4", 4),
    ("SEVERITY_NUMBER_DEBUG", 5),
    ("SEVERITY_NUMBER_DEBUG2", 6),
    ("SEVERITY_NUMBER_DEBUG3", 7),
    ("SEVERITY_NUMBER_DEBUG4", 8),
    ("SEVERITY_NUMBER_INFO", 9),
    ("SEVERITY_NUMBER_INFO2", 10),
    ("SEVERITY_NUMBER_INFO3", 11),
    ("SEVERITY_NUMBER_INFO4", 12),
    ("SEVERITY_NUMBER_WARN", 13),
    ("SEVERITY_NUMBER_WARN2", 14),
    ("SEVERITY_NUMBER_WARN3", 15),
    ("SEVERITY_NUMBER_WARN4", 16),
    ("SEVERITY_NUMBER_ERROR", 17),
    ("SEVERITY_NUMBER_ERROR2", 18),
    ("SEVERITY_NUMBER_ERROR3", 19),
    ("SEVERITY_NUMBER_ERROR4", 20),
    ("SEVERITY_NUMBER_FATAL", 21),
    ("SEVERITY_NUMBER_FATAL2", 22),
    ("SEVERITY_NUMBER_FATAL3", 23),
    ("SEVERITY_NUMBER_FATAL4", 24),
];
