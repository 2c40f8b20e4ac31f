//! The metrics request of a flush: per resource held, its attributes and one scope
//! `spanmetricsconnector` with `<namespace>.calls` (monotonic int sum), `<namespace>.duration`
//! (histogram, explicit or exponential, in the configured unit) and `<namespace>.events` when
//! enabled, one data point per series.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exemplar,
    metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::config::{Temporality, Unit};
use super::histogram;
use super::series::{Exemplar, Kind, Series, State, key_parts};

/// The scope of the metrics, as otelcol names it.
pub(super) const SCOPE: &str = "spanmetricsconnector";

/// Names and unit of the metrics.
pub(super) struct Names {
    pub(super) calls: String,
    pub(super) duration: String,
    pub(super) events: String,
    pub(super) unit: Unit,
}

impl Names {
    pub(super) fn new(namespace: &str, unit: Unit) -> Names {
        let name = |n: &str| {
            if namespace.is_empty() {
                n.to_string()
            } else {
                format!("{namespace}.{n}")
            }
        };
        Names {
            calls: name("calls"),
            duration: name("duration"),
            events: name("events"),
            unit,
        }
    }
}

fn exemplars(
    list: &[Exemplar],
    now: u64,
) -> Vec<opentelemetry_proto::tonic::metrics::v1::Exemplar> {
    list.iter()
        .map(|e| opentelemetry_proto::tonic::metrics::v1::Exemplar {
            time_unix_nano: now,
            trace_id: e.trace_id.to_vec(),
            span_id: e.span_id.to_vec(),
            value: Some(exemplar::Value::AsDouble(e.value)),
            ..Default::default()
        })
        .collect()
}

fn sum_point(s: &Series, now: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: s.attributes.clone(),
        start_time_unix_nano: s.start,
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsInt(s.calls as i64)),
        exemplars: exemplars(&s.exemplars, now),
        ..Default::default()
    }
}

fn sum(name: &str, points: Vec<NumberDataPoint>, temporality: i32) -> Metric {
    Metric {
        name: name.to_string(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// The metrics of everything `state` holds now, `None` when there is nothing to emit.
pub(super) fn build(state: &State, names: &Names, now: u64) -> Option<ExportMetricsServiceRequest> {
    let temporality = match state.temporality() {
        Temporality::Cumulative => AggregationTemporality::Cumulative as i32,
        Temporality::Delta => AggregationTemporality::Delta as i32,
    };
    // The series by resource, oldest resource first.
    let mut by_resource: BTreeMap<u64, Vec<&Series>> = BTreeMap::new();
    let mut events: BTreeMap<u64, Vec<&Series>> = BTreeMap::new();
    for (key, series) in state.series.iter() {
        if !state.emits(series) {
            continue;
        }
        let (resource, kind) = key_parts(key);
        let to = if kind == Kind::Spans {
            &mut by_resource
        } else {
            &mut events
        };
        to.entry(resource).or_default().push(series);
    }
    let mut resource_metrics = Vec::new();
    for (key, resource) in state.resources.iter() {
        let spans = by_resource.remove(key).unwrap_or_default();
        let evented = events.remove(key).unwrap_or_default();
        if spans.is_empty() && evented.is_empty() {
            continue;
        }
        let mut metrics = Vec::new();
        if !spans.is_empty() {
            let points = spans.iter().map(|s| sum_point(s, now)).collect();
            metrics.push(sum(&names.calls, points, temporality));
            if let Some(duration) = duration(&spans, names, &state.bounds, temporality, now) {
                metrics.push(duration);
            }
        }
        if !evented.is_empty() {
            let points = evented.iter().map(|s| sum_point(s, now)).collect();
            metrics.push(sum(&names.events, points, temporality));
        }
        resource_metrics.push(ResourceMetrics {
            resource: Some(Resource {
                attributes: resource.attributes.clone(),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: SCOPE.to_string(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
}

fn duration(
    spans: &[&Series],
    names: &Names,
    bounds: &[f64],
    temporality: i32,
    now: u64,
) -> Option<Metric> {
    let mut explicit = Vec::new();
    let mut exponential = Vec::new();
    for s in spans {
        match s.histogram.as_ref()? {
            histogram::Histogram::Explicit(h) => explicit.push(HistogramDataPoint {
                attributes: s.attributes.clone(),
                start_time_unix_nano: s.start,
                time_unix_nano: now,
                count: h.count,
                sum: Some(h.sum),
                bucket_counts: h.counts.clone(),
                explicit_bounds: bounds.to_vec(),
                exemplars: exemplars(&s.exemplars, now),
                ..Default::default()
            }),
            histogram::Histogram::Exponential(h) => {
                exponential.push(ExponentialHistogramDataPoint {
                    attributes: s.attributes.clone(),
                    start_time_unix_nano: s.start,
                    time_unix_nano: now,
                    count: h.count,
                    sum: Some(h.sum),
                    scale: h.scale,
                    zero_count: h.zero_count,
                    positive: Some(h.buckets()),
                    negative: Some(Default::default()),
                    exemplars: exemplars(&s.exemplars, now),
                    min: (h.count > 0).then_some(h.min),
                    max: (h.count > 0).then_some(h.max),
                    ..Default::default()
                })
            }
        }
    }
    let data = if exponential.is_empty() {
        metric::Data::Histogram(Histogram {
            data_points: explicit,
            aggregation_temporality: temporality,
        })
    } else {
        metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: exponential,
            aggregation_temporality: temporality,
        })
    };
    Some(Metric {
        name: names.duration.clone(),
        unit: names.unit.text().to_string(),
        data: Some(data),
        ..Default::default()
    })
}
