//! The metric record, and the metric fields a data point record answers.

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::scope::{get_upper, map_mut_upper, set_upper};
use super::{no_keys, not_a_map, owner, set_bool, set_i32, set_string, string, unsupported};
use crate::Context;
use crate::access::{attrs_get, attrs_map_mut, attrs_set};
use crate::error::EvalError;
use crate::path::{Field, Path};
use crate::record::{Record, RecordMut};
use crate::value::Value;

/// `METRIC_DATA_TYPE_*` of a metric.
pub(crate) fn data_type(m: &Metric) -> i64 {
    match &m.data {
        None => 0,
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
    }
}

pub(crate) fn get<'a>(m: &'a Metric, path: &Path) -> Result<Value<'a>, EvalError> {
    use Field::*;
    if path.field == MetricMetadata {
        return attrs_get(&m.metadata, &path.keys);
    }
    no_keys(path)?;
    Ok(match path.field {
        MetricName => string(&m.name),
        MetricDescription => string(&m.description),
        MetricUnit => string(&m.unit),
        MetricType => Value::Int(data_type(m)),
        MetricAggregationTemporality => Value::Int(match &m.data {
            Some(Data::Sum(s)) => s.aggregation_temporality.into(),
            Some(Data::Histogram(h)) => h.aggregation_temporality.into(),
            Some(Data::ExponentialHistogram(e)) => e.aggregation_temporality.into(),
            _ => 0,
        }),
        MetricIsMonotonic => Value::Bool(matches!(&m.data, Some(Data::Sum(s)) if s.is_monotonic)),
        f => return Err(unsupported(Context::Metric, f)),
    })
}

pub(crate) fn set(m: &mut Metric, path: &Path, v: Value<'_>) -> Result<(), EvalError> {
    use Field::*;
    let f = path.field;
    if f == MetricMetadata {
        return attrs_set(&mut m.metadata, &path.keys, v);
    }
    no_keys(path)?;
    match f {
        MetricName => set_string(&mut m.name, f, v),
        MetricDescription => set_string(&mut m.description, f, v),
        MetricUnit => set_string(&mut m.unit, f, v),
        // Metrics of kinds without the field are left alone, as in otelcol.
        MetricAggregationTemporality => match &mut m.data {
            Some(Data::Sum(s)) => set_i32(&mut s.aggregation_temporality, f, v),
            Some(Data::Histogram(h)) => set_i32(&mut h.aggregation_temporality, f, v),
            Some(Data::ExponentialHistogram(e)) => set_i32(&mut e.aggregation_temporality, f, v),
            _ => Ok(()),
        },
        MetricIsMonotonic => match &mut m.data {
            Some(Data::Sum(s)) => set_bool(&mut s.is_monotonic, f, v),
            _ => Ok(()),
        },
        f => Err(unsupported(Context::Metric, f)),
    }
}

pub(crate) fn map_mut<'a>(
    m: &'a mut Metric,
    path: &Path,
) -> Result<&'a mut Vec<KeyValue>, EvalError> {
    match path.field {
        Field::MetricMetadata => attrs_map_mut(&mut m.metadata, &path.keys),
        f => Err(not_a_map(f)),
    }
}

pub(crate) fn read<'a>(
    r: &'a Resource,
    s: &'a InstrumentationScope,
    m: &'a Metric,
    path: &Path,
    record: Context,
) -> Result<Value<'a>, EvalError> {
    match owner(path.field) {
        Context::Metric => get(m, path),
        _ => get_upper(r, s, path, record),
    }
}

/// A metric with its scope and resource, read-only.
#[derive(Debug, Clone, Copy)]
pub struct MetricView<'a> {
    /// The resource.
    pub resource: &'a Resource,
    /// The scope.
    pub scope: &'a InstrumentationScope,
    /// The metric.
    pub metric: &'a Metric,
}

/// A metric with its scope and resource, for statements that change them.
#[derive(Debug)]
pub struct MetricCtx<'a> {
    /// The resource.
    pub resource: &'a mut Resource,
    /// The scope.
    pub scope: &'a mut InstrumentationScope,
    /// The metric.
    pub metric: &'a mut Metric,
}

impl Record for MetricView<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(
            self.resource,
            self.scope,
            self.metric,
            path,
            Context::Metric,
        )
    }
}

impl Record for MetricCtx<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        read(
            self.resource,
            self.scope,
            self.metric,
            path,
            Context::Metric,
        )
    }
}

impl RecordMut for MetricCtx<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        match owner(path.field) {
            Context::Metric => set(self.metric, path, value),
            _ => set_upper(self.resource, self.scope, path, value, Context::Metric),
        }
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        match owner(path.field) {
            Context::Metric => map_mut(self.metric, path),
            _ => map_mut_upper(self.resource, self.scope, path, Context::Metric),
        }
    }
}
