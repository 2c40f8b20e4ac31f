//! One metric family of one scrape: its samples gathered into groups (one per label set less
//! `le`/`quantile`), and the groups turned into OTLP data points as otelcol's
//! `metricfamily.go` does.
//!
//! - counter → monotonic cumulative Sum; info and stateset → non-monotonic cumulative Sum
//!   (the specification, and otelcol's `convToMetricType`); gauge and unknown → Gauge.
//! - histogram → cumulative Histogram: buckets sorted by `le`, a final `+Inf` bucket replaced
//!   by `_count`, counts de-cumulated. Without `_count` the point is dropped; without `_sum`
//!   its sum is unset. A point whose bucket counts are NaN or decrease, or whose count is NaN
//!   or below the last bucket, is dropped (otelcol does the same; OTLP cannot carry it).
//!   Buckets with a NaN or repeated `le` are left out so that bounds strictly increase.
//! - summary → Summary: quantiles sorted, count from `_count` (dropped without it), sum from
//!   `_sum` (0 without it).
//! - a stale marker in a point's value (or a histogram's/summary's `_sum` or `_count`) makes
//!   a point flagged `FLAG_NO_RECORDED_VALUE`: no number value; zero count, bucket counts
//!   and quantile values; no sum.
//! - a group's timestamp is its first sample's; a later sample of the group with another
//!   timestamp is ignored ("inconsistent timestamps" in otelcol).

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, DataPointFlags, Exemplar, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, Sum, Summary, SummaryDataPoint, metric, number_data_point,
    summary_data_point::ValueAtQuantile,
};

use super::hash::{self, Index};
use super::start_time::{Current, StartTimes};
use super::{StartTime, created_to_ns, ms_to_ns, string_kv};
use crate::is_stale_nan;
use crate::model::MetricType;
use crate::parse::line::number;

/// What one sample contributes to its group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Role {
    Value,
    Created,
    Sum,
    Count,
    /// A bucket's `le` or a quantile.
    Bound(f64),
}

/// Whether `sample` is `family`'s `_created` series (a text-format family may keep `_total`).
fn is_created(family: &str, sample: &str) -> bool {
    sample.strip_suffix("_created").is_some_and(|base| {
        base == family || family.strip_suffix("_total").is_some_and(|f| f == base)
    })
}

/// The label a histogram's or summary's samples are told apart by.
pub(super) fn bound_label(kind: MetricType) -> Option<&'static str> {
    match kind {
        MetricType::Histogram => Some("le"),
        MetricType::Summary => Some("quantile"),
        _ => None,
    }
}

/// A sample's role in its family, as otelcol's `addSeries` decides it; `None` drops it.
pub(super) fn role(
    kind: MetricType,
    family: &str,
    sample: &str,
    labels: &[(&str, &str)],
) -> Option<Role> {
    match kind {
        MetricType::Histogram | MetricType::Summary => {
            if sample.ends_with("_sum") {
                Some(Role::Sum)
            } else if sample.ends_with("_count") {
                Some(Role::Count)
            } else if is_created(family, sample) {
                Some(Role::Created)
            } else {
                let label = bound_label(kind)?;
                let (_, v) = labels.iter().find(|(n, _)| *n == label)?;
                number(v).map(Role::Bound)
            }
        }
        MetricType::Counter | MetricType::Info | MetricType::StateSet => {
            if is_created(family, sample) {
                Some(Role::Created)
            } else {
                Some(Role::Value)
            }
        }
        MetricType::Gauge | MetricType::Unknown => Some(Role::Value),
        MetricType::GaugeHistogram => None,
    }
}

/// The samples of one label set.
#[derive(Debug)]
pub(super) struct Group {
    pub attributes: Vec<KeyValue>,
    /// The label-set hash of `attributes`.
    pub hash: u64,
    pub timestamp_ms: i64,
    pub value: Option<f64>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
    /// `_created`, seconds since the epoch.
    pub created: Option<f64>,
    /// `(le or quantile, value)` in arrival order.
    pub bounds: Vec<(f64, f64)>,
    pub exemplars: Vec<Exemplar>,
}

impl Group {
    fn matches<'a>(&self, mut labels: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> bool {
        let n = labels.clone().count();
        if n != self.attributes.len() {
            return false;
        }
        // Usually the same order; otherwise as sets (names are unique within a set).
        let same_order = labels
            .clone()
            .zip(&self.attributes)
            .all(|((k, v), kv)| kv.key == k && value_str(kv) == v);
        same_order
            || labels.all(|(k, v)| {
                self.attributes
                    .iter()
                    .any(|kv| kv.key == k && value_str(kv) == v)
            })
    }
}

fn value_str(kv: &KeyValue) -> &str {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

/// Whether a label stays a data point attribute in a family of `kind` (otelcol's
/// `populateAttributes`): not `job`, `instance`, `__name__`, `__scheme__`,
/// `__metrics_path__`, a histogram's `le`, a summary's `quantile`, an `otel_scope_` label, or
/// an empty value.
pub(super) fn is_attribute(kind: MetricType, name: &str, value: &str) -> bool {
    !(value.is_empty()
        || matches!(
            name,
            "job" | "instance" | "__name__" | "__scheme__" | "__metrics_path__"
        )
        || bound_label(kind) == Some(name)
        || name.starts_with(super::scope::PREFIX))
}

/// One family of one scope of one resource, as the scrape goes.
#[derive(Debug)]
pub(super) struct FamilyBuild {
    pub name: String,
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
    pub groups: Vec<Group>,
    index: Index,
    last: Option<usize>,
}

impl FamilyBuild {
    pub(super) fn new(
        name: &str,
        kind: MetricType,
        help: Option<&str>,
        unit: Option<&str>,
    ) -> Self {
        FamilyBuild {
            name: name.to_owned(),
            kind,
            help: help.unwrap_or_default().to_owned(),
            unit: unit
                .map(|u| super::unit::ucum(u).into_owned())
                .unwrap_or_default(),
            groups: Vec::new(),
            index: Index::default(),
            last: None,
        }
    }

    /// The group of `labels` (less the labels that are not attributes), created at
    /// `timestamp_ms` if new.
    pub(super) fn group(&mut self, labels: &[(&str, &str)], timestamp_ms: i64) -> &mut Group {
        let kind = self.kind;
        let own = labels
            .iter()
            .copied()
            .filter(move |&(n, v)| is_attribute(kind, n, v));
        let h = hash::set_hash(own.clone());
        if let Some(at) = self.last
            && self.groups[at].hash == h
            && self.groups[at].matches(own.clone())
        {
            return &mut self.groups[at];
        }
        let groups = &self.groups;
        let at = match self
            .index
            .find(h, |i| groups[i].hash == h && groups[i].matches(own.clone()))
        {
            Some(at) => at,
            None => {
                let at = self.index.insert(h);
                self.groups.push(Group {
                    attributes: own.map(|(k, v)| string_kv(k, v)).collect(),
                    hash: h,
                    timestamp_ms,
                    value: None,
                    sum: None,
                    count: None,
                    created: None,
                    bounds: Vec::new(),
                    exemplars: Vec::new(),
                });
                at
            }
        };
        self.last = Some(at);
        &mut self.groups[at]
    }

    /// The family as an OTLP metric, `None` when no group made a point. `series_seed`
    /// identifies the family's series across scrapes for start times.
    pub(super) fn into_metric(
        self,
        start_times: &mut StartTimes,
        start_time: StartTime,
        series_seed: u64,
    ) -> Option<Metric> {
        let mut starts = Starts {
            times: start_times,
            mode: start_time,
            seed: series_seed,
        };
        let cumulative = AggregationTemporality::Cumulative as i32;
        let groups = self.groups;
        let data = match self.kind {
            MetricType::Counter | MetricType::Info | MetricType::StateSet => {
                points(groups, |g| number_point(g, Some(&mut starts))).map(|data_points| {
                    metric::Data::Sum(Sum {
                        data_points,
                        aggregation_temporality: cumulative,
                        is_monotonic: self.kind == MetricType::Counter,
                    })
                })
            }
            MetricType::Gauge | MetricType::Unknown => points(groups, |g| number_point(g, None))
                .map(|data_points| metric::Data::Gauge(Gauge { data_points })),
            MetricType::Histogram => {
                points(groups, |g| histogram_point(g, &mut starts)).map(|data_points| {
                    metric::Data::Histogram(Histogram {
                        data_points,
                        aggregation_temporality: cumulative,
                    })
                })
            }
            MetricType::Summary => points(groups, |g| summary_point(g, &mut starts))
                .map(|data_points| metric::Data::Summary(Summary { data_points })),
            MetricType::GaugeHistogram => None,
        }?;
        Some(Metric {
            name: self.name,
            description: self.help,
            unit: self.unit,
            metadata: vec![string_kv("prometheus.type", type_name(self.kind))],
            data: Some(data),
        })
    }
}

/// The groups' points, `None` when no group made one.
fn points<P>(groups: Vec<Group>, point: impl FnMut(Group) -> Option<P>) -> Option<Vec<P>> {
    let points: Vec<P> = groups.into_iter().filter_map(point).collect();
    (!points.is_empty()).then_some(points)
}

/// The TYPE as Prometheus's `model.MetricType` spells it (`untyped` is `unknown`).
pub(super) fn type_name(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::GaugeHistogram => "gaugehistogram",
        MetricType::Summary => "summary",
        MetricType::Info => "info",
        MetricType::StateSet => "stateset",
        MetricType::Unknown => "unknown",
    }
}

struct Starts<'s> {
    times: &'s mut StartTimes,
    mode: StartTime,
    seed: u64,
}

impl Starts<'_> {
    fn start(&mut self, g: &Group, time_ns: u64, current: Option<Current<'_>>) -> u64 {
        let created = g.created.and_then(created_to_ns);
        match self.mode {
            StartTime::Unset => created.unwrap_or(0),
            StartTime::TrueResetPoint => {
                let key = hash::finish(self.seed ^ g.hash);
                self.times.start(key, time_ns, current, created)
            }
        }
    }
}

const NO_RECORDED_VALUE: u32 = DataPointFlags::NoRecordedValueMask as u32;

fn number_point(g: Group, starts: Option<&mut Starts<'_>>) -> Option<NumberDataPoint> {
    let value = g.value?;
    let stale = is_stale_nan(value);
    let time = ms_to_ns(g.timestamp_ms);
    let start = match starts {
        Some(s) => s.start(&g, time, (!stale).then_some(Current::Number(value))),
        None => 0,
    };
    Some(NumberDataPoint {
        attributes: g.attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        exemplars: g.exemplars,
        flags: if stale { NO_RECORDED_VALUE } else { 0 },
        value: (!stale).then_some(number_data_point::Value::AsDouble(value)),
    })
}

/// Sorts by bound as Go's `cmp.Compare` does (NaN first).
fn sort_bounds(bounds: &mut [(f64, f64)]) {
    bounds.sort_by(|a, b| match (a.0.is_nan(), b.0.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.0.total_cmp(&b.0),
    });
}

/// f64 → u64 as a count: truncated, negative and NaN to 0, too large to `u64::MAX`.
fn as_count(v: f64) -> u64 {
    v as u64
}

fn histogram_point(mut g: Group, starts: &mut Starts<'_>) -> Option<HistogramDataPoint> {
    let count = g.count?;
    let stale = g.sum.is_some_and(is_stale_nan) || is_stale_nan(count);
    sort_bounds(&mut g.bounds);
    // Strictly increasing bounds: no NaN, no repeated `le` (the first sample of a bound wins).
    g.bounds.retain(|b| !b.0.is_nan());
    g.bounds.dedup_by(|later, first| later.0 == first.0);
    let mut finite = g.bounds.as_slice();
    if finite.last().is_some_and(|b| b.0 == f64::INFINITY) {
        finite = &finite[..finite.len() - 1];
    }
    if !stale {
        let mut previous = 0.0;
        for &(_, v) in finite {
            if v.is_nan() || v < previous {
                return None;
            }
            previous = v;
        }
        if count.is_nan() || count < previous {
            return None;
        }
    }
    let explicit_bounds: Vec<f64> = finite.iter().map(|b| b.0).collect();
    let mut bucket_counts = Vec::with_capacity(finite.len() + 1);
    if stale {
        bucket_counts.resize(finite.len() + 1, 0);
    } else {
        let mut previous = 0.0;
        for &(_, v) in finite {
            bucket_counts.push(as_count(v - previous));
            previous = v;
        }
        bucket_counts.push(as_count(count - previous));
    }
    let time = ms_to_ns(g.timestamp_ms);
    let (count, sum) = if stale {
        (0, None)
    } else {
        (as_count(count), g.sum)
    };
    let current = (!stale).then_some(Current::Histogram {
        count,
        sum: sum.unwrap_or(0.0),
        bounds: &explicit_bounds,
        buckets: &bucket_counts,
    });
    let start = starts.start(&g, time, current);
    Some(HistogramDataPoint {
        attributes: g.attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count,
        sum,
        bucket_counts,
        explicit_bounds,
        exemplars: g.exemplars,
        flags: if stale { NO_RECORDED_VALUE } else { 0 },
        min: None,
        max: None,
    })
}

fn summary_point(mut g: Group, starts: &mut Starts<'_>) -> Option<SummaryDataPoint> {
    let count = g.count?;
    let stale = g.sum.is_some_and(is_stale_nan) || is_stale_nan(count);
    sort_bounds(&mut g.bounds);
    let quantile_values = g
        .bounds
        .iter()
        .map(|&(quantile, value)| ValueAtQuantile {
            quantile,
            value: if stale { 0.0 } else { value },
        })
        .collect();
    let time = ms_to_ns(g.timestamp_ms);
    let (count, sum) = if stale {
        (0, 0.0)
    } else {
        (as_count(count), g.sum.unwrap_or(0.0))
    };
    let current = (!stale).then_some(Current::Summary { count, sum });
    let start = starts.start(&g, time, current);
    Some(SummaryDataPoint {
        attributes: g.attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count,
        sum,
        quantile_values,
        flags: if stale { NO_RECORDED_VALUE } else { 0 },
    })
}
