//! Paths and enums of the metric context.

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    f("name", Field::MetricName, Type::String, true),
    f("description", Field::MetricDescription, Type::String, true),
    f("unit", Field::MetricUnit, Type::String, true),
    f("type", Field::MetricType, Type::Int, false),
    f(
        "aggregation_temporality",
        Field::MetricAggregationTemporality,
        Type::Int,
        true,
    ),
    f("is_monotonic", Field::MetricIsMonotonic, Type::Bool, true),
    keyed("metadata", Field::MetricMetadata, Type::Map),
];

pub(crate) const ENUMS: &[(&str, i64)] = &[
    ("METRIC_DATA_TYPE_NONE", 0),
    ("METRIC_DATA_TYPE_GAUGE", 1),
    ("METRIC_DATA_TYPE_SUM", 2),
    ("METRIC_DATA_TYPE_HISTOGRAM", 3),
    ("METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM", 4),
    ("METRIC_DATA_TYPE_SUMMARY", 5),
    ("AGGREGATION_TEMPORALITY_UNSPECIFIED", 0),
    ("AGGREGATION_TEMPORALITY_DELTA", 1),
    ("AGGREGATION_TEMPORALITY_CUMULATIVE", 2),
];
