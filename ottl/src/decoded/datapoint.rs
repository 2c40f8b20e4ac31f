//! The data point record: one point of a metric of any kind, addressed by its index, so that
//! the point and its metric are reached through one `&mut Metric`. Fields a kind of point does
//! not have read as `nil` and are left alone by `set`, as in otelcol.

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
    metric::Data,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::{
    f64_list, int, metric, no_keys, not_a_map, owner, set_f64, set_f64_list, set_i32, set_time,
    set_u32, set_u64, set_u64_list, time, u64_list, unsupported,
};
use crate::Context;
use crate::access::{attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

enum Point<'a> {
    Number(&'a NumberDataPoint),
    Histogram(&'a HistogramDataPoint),
    Exponential(&'a ExponentialHistogramDataPoint),
    Summary(&'a SummaryDataPoint),
}

enum PointMut<'a> {
    Number(&'a mut NumberDataPoint),
    Histogram(&'a mut HistogramDataPoint),
    Exponential(&'a mut ExponentialHistogramDataPoint),
    Summary(&'a mut SummaryDataPoint),
}

fn missing(index: usize) -> EvalError {
    EvalError::Unsupported(format!("the metric has no data point {index}"))
}

fn point(m: &Metric, i: usize) -> Result<Point<'_>, EvalError> {
    let p = match &m.data {
        Some(Data::Gauge(g)) => g.data_points.get(i).map(Point::Number),
        Some(Data::Sum(s)) => s.data_points.get(i).map(Point::Number),
        Some(Data::Histogram(h)) => h.data_points.get(i).map(Point::Histogram),
        Some(Data::ExponentialHistogram(e)) => e.data_points.get(i).map(Point::Exponential),
        Some(Data::Summary(s)) => s.data_points.get(i).map(Point::Summary),
        None => None,
    };
    p.ok_or_else(|| missing(i))
}

fn point_mut(m: &mut Metric, i: usize) -> Result<PointMut<'_>, EvalError> {
    let p = match &mut m.data {
        Some(Data::Gauge(g)) => g.data_points.get_mut(i).map(PointMut::Number),
        Some(Data::Sum(s)) => s.data_points.get_mut(i).map(PointMut::Number),
        Some(Data::Histogram(h)) => h.data_points.get_mut(i).map(PointMut::Histogram),
        Some(Data::ExponentialHistogram(e)) => e.data_points.get_mut(i).map(PointMut::Exponential),
        Some(Data::Summary(s)) => s.data_points.get_mut(i).map(PointMut::Summary),
        None => None,
    };
    p.ok_or_else(|| missing(i))
}

macro_rules! common {
    ($p:expr, $field:ident) => {
        match $p {
            Point::Number(p) => &p.$field,
            Point::Histogram(p) => &p.$field,
            Point::Exponential(p) => &p.$field,
            Point::Summary(p) => &p.$field,
        }
    };
}

macro_rules! common_mut {
    ($p:expr, $field:ident) => {
        match $p {
            PointMut::Number(p) => &mut p.$field,
            PointMut::Histogram(p) => &mut p.$field,
            PointMut::Exponential(p) => &mut p.$field,
            PointMut::Summary(p) => &mut p.$field,
        }
    };
}

fn get<'a>(p: Point<'a>, path: &Path) -> Result<Value<'a>, EvalError> {
    use Field::*;
    if path.field == DataPointAttributes {
        return attrs_get(common!(p, attributes), &path.keys);
    }
    no_keys(path)?;
    let opt = |d: Option<f64>| d.map_or(Value::Nil, Value::Double);
    Ok(match (path.field, &p) {
        (DataPointStartTimeUnixNano, _) => int(*common!(p, start_time_unix_nano)),
        (DataPointTimeUnixNano, _) => int(*common!(p, time_unix_nano)),
        (DataPointStartTime, _) => time(*common!(p, start_time_unix_nano)),
        (DataPointTime, _) => time(*common!(p, time_unix_nano)),
        (DataPointFlags, _) => int((*common!(p, flags)).into()),
        // As pdata: the other kind of number reads as zero.
        (DataPointValueDouble, Point::Number(n)) => Value::Double(match n.value {
            Some(Number::AsDouble(d)) => d,
            _ => 0.0,
        }),
        (DataPointValueInt, Point::Number(n)) => Value::Int(match n.value {
            Some(Number::AsInt(i)) => i,
            _ => 0,
        }),
        (DataPointCount, Point::Histogram(h)) => int(h.count),
        (DataPointCount, Point::Exponential(e)) => int(e.count),
        (DataPointCount, Point::Summary(s)) => int(s.count),
        (DataPointSum, Point::Histogram(h)) => Value::Double(h.sum.unwrap_or(0.0)),
        (DataPointSum, Point::Exponential(e)) => Value::Double(e.sum.unwrap_or(0.0)),
        (DataPointSum, Point::Summary(s)) => Value::Double(s.sum),
        (DataPointMin, Point::Histogram(h)) => opt(h.min),
        (DataPointMin, Point::Exponential(e)) => opt(e.min),
        (DataPointMax, Point::Histogram(h)) => opt(h.max),
        (DataPointMax, Point::Exponential(e)) => opt(e.max),
        (DataPointBucketCounts, Point::Histogram(h)) => u64_list(&h.bucket_counts),
        (DataPointExplicitBounds, Point::Histogram(h)) => f64_list(&h.explicit_bounds),
        (DataPointScale, Point::Exponential(e)) => Value::Int(e.scale.into()),
        (DataPointZeroCount, Point::Exponential(e)) => int(e.zero_count),
        (DataPointPositiveOffset, Point::Exponential(e)) => {
            Value::Int(e.positive.as_ref().map_or(0, |b| b.offset).into())
        }
        (DataPointPositiveBucketCounts, Point::Exponential(e)) => {
            u64_list(e.positive.as_ref().map_or(&[][..], |b| &b.bucket_counts))
        }
        (DataPointNegativeOffset, Point::Exponential(e)) => {
            Value::Int(e.negative.as_ref().map_or(0, |b| b.offset).into())
        }
        (DataPointNegativeBucketCounts, Point::Exponential(e)) => {
            u64_list(e.negative.as_ref().map_or(&[][..], |b| &b.bucket_counts))
        }
        (
            DataPointValueDouble
            | DataPointValueInt
            | DataPointCount
            | DataPointSum
            | DataPointMin
            | DataPointMax
            | DataPointBucketCounts
            | DataPointExplicitBounds
            | DataPointScale
            | DataPointZeroCount
            | DataPointPositiveOffset
            | DataPointPositiveBucketCounts
            | DataPointNegativeOffset
            | DataPointNegativeBucketCounts,
            _,
        ) => Value::Nil,
        (f, _) => return Err(unsupported(Context::DataPoint, f)),
    })
}

fn set(p: PointMut<'_>, path: &Path, v: Value<'_>) -> Result<(), EvalError> {
    use Field::*;
    let f = path.field;
    if f == DataPointAttributes {
        return attrs_set(common_mut!(p, attributes), &path.keys, v);
    }
    no_keys(path)?;
    match (f, p) {
        (DataPointStartTimeUnixNano, p) => set_u64(common_mut!(p, start_time_unix_nano), f, v),
        (DataPointTimeUnixNano, p) => set_u64(common_mut!(p, time_unix_nano), f, v),
        (DataPointStartTime, p) => set_time(common_mut!(p, start_time_unix_nano), f, v),
        (DataPointTime, p) => set_time(common_mut!(p, time_unix_nano), f, v),
        (DataPointFlags, p) => set_u32(common_mut!(p, flags), f, v),
        (DataPointValueDouble, PointMut::Number(n)) => {
            let mut d = 0.0;
            set_f64(&mut d, f, v.clone())?;
            if v != Value::Nil {
                n.value = Some(Number::AsDouble(d));
            }
            Ok(())
        }
        (DataPointValueInt, PointMut::Number(n)) => match v {
            Value::Nil => Ok(()),
            Value::Int(i) => {
                n.value = Some(Number::AsInt(i));
                Ok(())
            }
            other => Err(EvalError::Type {
                what: "value_int".into(),
                expected: "int",
                found: other.type_name(),
            }),
        },
        (DataPointCount, PointMut::Histogram(h)) => set_u64(&mut h.count, f, v),
        (DataPointCount, PointMut::Exponential(e)) => set_u64(&mut e.count, f, v),
        (DataPointCount, PointMut::Summary(s)) => set_u64(&mut s.count, f, v),
        (DataPointSum, PointMut::Histogram(h)) => set_opt_f64(&mut h.sum, f, v),
        (DataPointSum, PointMut::Exponential(e)) => set_opt_f64(&mut e.sum, f, v),
        (DataPointSum, PointMut::Summary(s)) => set_f64(&mut s.sum, f, v),
        (DataPointMin, PointMut::Histogram(h)) => set_opt_f64(&mut h.min, f, v),
        (DataPointMin, PointMut::Exponential(e)) => set_opt_f64(&mut e.min, f, v),
        (DataPointMax, PointMut::Histogram(h)) => set_opt_f64(&mut h.max, f, v),
        (DataPointMax, PointMut::Exponential(e)) => set_opt_f64(&mut e.max, f, v),
        (DataPointBucketCounts, PointMut::Histogram(h)) => set_u64_list(&mut h.bucket_counts, f, v),
        (DataPointExplicitBounds, PointMut::Histogram(h)) => {
            set_f64_list(&mut h.explicit_bounds, f, v)
        }
        (DataPointScale, PointMut::Exponential(e)) => set_i32(&mut e.scale, f, v),
        (DataPointZeroCount, PointMut::Exponential(e)) => set_u64(&mut e.zero_count, f, v),
        (DataPointPositiveOffset, PointMut::Exponential(e)) => {
            set_i32(&mut e.positive.get_or_insert_default().offset, f, v)
        }
        (DataPointPositiveBucketCounts, PointMut::Exponential(e)) => {
            set_u64_list(&mut e.positive.get_or_insert_default().bucket_counts, f, v)
        }
        (DataPointNegativeOffset, PointMut::Exponential(e)) => {
            set_i32(&mut e.negative.get_or_insert_default().offset, f, v)
        }
        (DataPointNegativeBucketCounts, PointMut::Exponential(e)) => {
            set_u64_list(&mut e.negative.get_or_insert_default().bucket_counts, f, v)
        }
        (
            DataPointValueDouble
            | DataPointValueInt
            | DataPointCount
            | DataPointSum
            | DataPointMin
            | DataPointMax
            | DataPointBucketCounts
            | DataPointExplicitBounds
            | DataPointScale
            | DataPointZeroCount
            | DataPointPositiveOffset
            | DataPointPositiveBucketCounts
            | DataPointNegativeOffset
            | DataPointNegativeBucketCounts,
            _,
        ) => Ok(()),
        (f, _) => Err(unsupported(Context::DataPoint, f)),
    }
}

fn set_opt_f64(target: &mut Option<f64>, f: Field, v: Value<'_>) -> Result<(), EvalError> {
    if v == Value::Nil {
        return Ok(());
    }
    let mut d = 0.0;
    set_f64(&mut d, f, v)?;
    *target = Some(d);
    Ok(())
}

fn read<'a>(
    r: &'a Resource,
    s: &'a InstrumentationScope,
    m: &'a Metric,
    index: usize,
    path: &Path,
) -> Result<Value<'a>, EvalError> {
    match owner(path.field) {
        Context::DataPoint => get(point(m, index)?, path),
        _ => metric::read(r, s, m, path, Context::DataPoint),
    }
}

/// One data point of a metric, with the metric, its scope and resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct DataPointView<'a> {
    /// The resource.
    pub resource: &'a Resource,
    /// The scope.
    pub scope: &'a InstrumentationScope,
    /// The metric holding the point.
    pub metric: &'a Metric,
    /// The point's index in the metric's data points, whatever its kind.
    pub index: usize,
}

/// One data point of a metric, with the metric, its scope and resource, for statements that
/// change them.
#[derive(Debug)]
pub struct DataPointCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
    /// The scope.
    pub scope: &'a mut InstrumentationScope,
    /// The metric holding the point.
    pub metric: &'a mut Metric,
    /// The point's index in the metric's data points, whatever its kind.
    pub index: usize,
}

impl Record for DataPointView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.metric, self.index, path)
    }
}

impl Record for DataPointCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(self.resource, self.scope, self.metric, self.index, path)
    }
}

impl RecordMut for DataPointCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        match owner(path.field) {
            Context::DataPoint => set(point_mut(self.metric, self.index)?, path, value),
            Context::Metric => metric::set(self.metric, path, value),
            _ => {
                super::scope::set_upper(self.resource, self.scope, path, value, Context::DataPoint)
            }
        }
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        match owner(path.field) {
            Context::DataPoint => {
                if path.field != Field::DataPointAttributes {
                    return Err(not_a_map(path.field));
                }
                let p = point_mut(self.metric, self.index)?;
                attrs_map_mut(common_mut!(p, attributes), &path.keys)
            }
            Context::Metric => metric::map_mut(self.metric, path),
            _ => super::scope::map_mut_upper(self.resource, self.scope, path, Context::DataPoint),
        }
    }
}
