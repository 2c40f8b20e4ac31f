//! Paths and enums of the data point context (its metric's paths are reached with `metric.`).

use super::{FieldInfo, f, keyed};
use crate::path::Field;
use crate::value::Type;

pub(crate) const FIELDS: &[FieldInfo] = &[
    keyed("attributes", Field::DataPointAttributes, Type::Map),
    f(
        "start_time_unix_nano",
        Field::DataPointStartTimeUnixNano,
        Type::Int,
        true,
    ),
    f(
        "time_unix_nano",
        Field::DataPointTimeUnixNano,
        Type::Int,
        true,
    ),
    f("start_time", Field::DataPointStartTime, Type::Time, true),
    f("time", Field::DataPointTime, Type::Time, true),
    f(
        "value_double",
        Field::DataPointValueDouble,
        Type::Double,
        true,
    ),
    f("value_int", Field::DataPointValueInt, Type::Int, true),
    f("flags", Field::DataPointFlags, Type::Int, true),
    f("count", Field::DataPointCount, Type::Int, true),
    f("sum", Field::DataPointSum, Type::Double, true),
    f("min", Field::DataPointMin, Type::Double, true),
    f("max", Field::DataPointMax, Type::Double, true),
    f(
        "bucket_counts",
        Field::DataPointBucketCounts,
        Type::Slice,
        true,
    ),
    f(
        "explicit_bounds",
        Field::DataPointExplicitBounds,
        Type::Slice,
        true,
    ),
    f("scale", Field::DataPointScale, Type::Int, true),
    f("zero_count", Field::DataPointZeroCount, Type::Int, true),
    f(
        "positive.offset",
        Field::DataPointPositiveOffset,
        Type::Int,
        true,
    ),
    f(
        "positive.bucket_counts",
        Field::DataPointPositiveBucketCounts,
        Type::Slice,
        true,
    ),
    f(
        "negative.offset",
        Field::DataPointNegativeOffset,
        Type::Int,
        true,
    ),
    f(
        "negative.bucket_counts",
        Field::DataPointNegativeBucketCounts,
        Type::Slice,
        true,
    ),
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
    ("FLAG_NONE", 0),
    ("FLAG_NO_RECORDED_VALUE", 1),
];
