//! OTLP metrics to remote write time series, as otelcol's `prometheusremotewrite`
//! translator does it: gauges and non-monotonic sums as gauges, cumulative monotonic sums as
//! counters (`_total`), cumulative explicit-bucket histograms as classic buckets (`_bucket`
//! with cumulative counts and `le`, `+Inf` included, `_sum`, `_count`), summaries as
//! `quantile` series, `_sum` and `_count`. A point flagged "no recorded value" becomes
//! Prometheus's staleness NaN. Labels are the point's attributes (sanitised, colliding keys
//! joined with `;`), resource attributes with `resource_to_telemetry_conversion`, `job`
//! (`service.namespace/service.name`) and `instance` (`service.instance.id`), then the
//! external labels where the point has no label of that name. One `target_info` series per
//! resource carries its other attributes.
//!
//! What is not converted is dropped and counted by [`DropReason`]: delta (and unspecified)
//! temporality sums and histograms, which need state to become cumulative; exponential
//! histograms, which would be Prometheus native histograms (not written); points without a
//! value or with malformed buckets; metrics whose name has nothing Prometheus can take.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use bytes::Bytes;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar as OtlpExemplar, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, metric, number_data_point,
};
use weir_processors::value_text::push_decoded_text;

use super::prompb::{Exemplar, Label, MetricMetadata, MetricType, STALE_NAN, Sample, TimeSeries};
use crate::prometheus::naming::{Namer, Shape, label_name};

/// OTLP's `DataPointFlags.NO_RECORDED_VALUE`.
const NO_RECORDED_VALUE: u32 = 1;

/// The resource attributes that are `job` and `instance`, not `target_info` labels.
const SERVICE_KEYS: [&str; 3] = ["service.name", "service.namespace", "service.instance.id"];

/// What the conversion needs from the config.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Metric names: namespace and suffixes.
    pub namer: Namer,
    /// Added where a series has no label of the name.
    pub external_labels: BTreeMap<String, String>,
    /// Resource attributes as labels of every series.
    pub resource_to_telemetry: bool,
    /// A `target_info` series per resource.
    pub target_info: bool,
    /// Family metadata in the request.
    pub send_metadata: bool,
}

/// Why data points were not converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DropReason {
    /// A sum or histogram with delta or unspecified temporality.
    NotCumulative,
    /// An exponential histogram (a native histogram in Prometheus; not written).
    ExponentialHistogram,
    /// The metric name has no character a Prometheus name can take.
    InvalidName,
    /// A number point with no value.
    NoValue,
    /// Bucket counts that do not match the bounds, or bounds not increasing.
    InvalidBuckets,
}

impl DropReason {
    /// Every reason, for creating the counters up front.
    pub(crate) const ALL: [DropReason; 5] = [
        DropReason::NotCumulative,
        DropReason::ExponentialHistogram,
        DropReason::InvalidName,
        DropReason::NoValue,
        DropReason::InvalidBuckets,
    ];

    /// The `reason` label of the dropped-points counter.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DropReason::NotCumulative => "not_cumulative",
            DropReason::ExponentialHistogram => "exponential_histogram",
            DropReason::InvalidName => "invalid_name",
            DropReason::NoValue => "no_value",
            DropReason::InvalidBuckets => "invalid_buckets",
        }
    }
}

/// The series of one request, in first-seen order, samples of each in timestamp order.
#[derive(Default)]
pub(crate) struct Converted {
    /// Every series, each with all its samples.
    pub series: Vec<TimeSeries>,
    /// Family metadata (with `send_metadata`), by family name.
    pub metadata: Vec<MetricMetadata>,
    /// Data points left out, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
}

/// Converts `request`.
pub(crate) fn convert(request: &ExportMetricsServiceRequest, settings: &Settings) -> Converted {
    let mut builder = Builder {
        settings,
        index: SeriesIndex::default(),
        converted: Converted::default(),
        metadata: BTreeMap::new(),
    };
    for resource_metrics in &request.resource_metrics {
        let attributes = resource_metrics
            .resource
            .as_ref()
            .map_or(&[][..], |r| &r.attributes[..]);
        let resource = Resource::new(attributes, settings);
        let mut latest = 0;
        for scope in &resource_metrics.scope_metrics {
            for metric in &scope.metrics {
                latest = latest.max(builder.metric(metric, &resource));
            }
        }
        if settings.target_info && latest > 0 {
            builder.target_info(attributes, &resource, latest);
        }
    }
    let mut converted = builder.converted;
    converted.metadata = builder.metadata.into_values().collect();
    for series in &mut converted.series {
        series.samples.sort_by_key(|s| s.timestamp);
        // Two points of one series at one time (the same metric in two scopes): the server
        // would refuse the whole request as a duplicate sample, so the later one is kept.
        series.samples.dedup_by(|later, earlier| {
            if later.timestamp == earlier.timestamp {
                *earlier = *later;
                true
            } else {
                false
            }
        });
        series.exemplars.sort_by_key(|e| e.timestamp);
    }
    converted
}

/// A resource's `job`, `instance` and, when converted, attributes as labels.
struct Resource {
    job: Option<String>,
    instance: Option<String>,
    /// `resource_to_telemetry_conversion`: attribute key and text.
    copied: Vec<(String, String)>,
}

impl Resource {
    fn new(attributes: &[KeyValue], settings: &Settings) -> Resource {
        let get = |key: &str| attributes.iter().find(|kv| kv.key == key).map(text);
        let job = get("service.name").map(|name| match get("service.namespace") {
            Some(namespace) if !namespace.is_empty() => format!("{namespace}/{name}"),
            _ => name,
        });
        let copied = if settings.resource_to_telemetry {
            attributes
                .iter()
                .map(|kv| (kv.key.clone(), text(kv)))
                .collect()
        } else {
            Vec::new()
        };
        Resource {
            job,
            instance: get("service.instance.id"),
            copied,
        }
    }
}

fn text(kv: &KeyValue) -> String {
    let mut out = String::new();
    push_decoded_text(kv.value.as_ref().and_then(|v| v.value.as_ref()), &mut out);
    out
}

/// A point's labels before `__name__` and the per-series extras (`le`, `quantile`), sorted
/// by name, empty values left out (Prometheus treats an empty label as absent).
fn base_labels(settings: &Settings, resource: &Resource, attributes: &[KeyValue]) -> Vec<Label> {
    // Resource attributes copied onto the point win over the point's own of the same key.
    let mut by_key: BTreeMap<&str, String> = BTreeMap::new();
    for kv in attributes {
        by_key.insert(&kv.key, text(kv));
    }
    for (key, value) in &resource.copied {
        by_key.insert(key, value.clone());
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in by_key {
        let Some(name) = label_name(key) else {
            continue;
        };
        match labels.get_mut(&name) {
            Some(existing) => {
                existing.push(';');
                existing.push_str(&value);
            }
            None => {
                labels.insert(name, value);
            }
        }
    }
    if let Some(job) = &resource.job {
        labels.insert("job".to_string(), job.clone());
    }
    if let Some(instance) = &resource.instance {
        labels.insert("instance".to_string(), instance.clone());
    }
    for (name, value) in &settings.external_labels {
        labels.entry(name.clone()).or_insert_with(|| value.clone());
    }
    labels
        .into_iter()
        .filter(|(name, value)| !value.is_empty() && name != NAME)
        .map(|(name, value)| Label::new(name, value))
        .collect()
}

/// The label `__name__`.
const NAME: &str = "__name__";

/// The sorted labels of a series: `base` (sorted, shared texts) with `__name__` and `extra`.
fn series_labels(
    base: &[Label],
    name: &Bytes,
    extra: Option<(&'static str, String)>,
) -> Vec<Label> {
    let mut labels: Vec<Label> = Vec::with_capacity(base.len() + 2);
    let extra_name = extra.as_ref().map(|(n, _)| *n);
    labels.extend(
        base.iter()
            .filter(|l| extra_name.is_none_or(|n| l.name != n))
            .cloned(),
    );
    labels.push(Label::new(
        Bytes::from_static(NAME.as_bytes()),
        name.clone(),
    ));
    if let Some((label, value)) = extra {
        labels.push(Label::new(Bytes::from_static(label.as_bytes()), value));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

fn millis(time_unix_nano: u64) -> i64 {
    i64::try_from(time_unix_nano / 1_000_000).unwrap_or(i64::MAX)
}

fn stale() -> f64 {
    f64::from_bits(STALE_NAN)
}

/// Upper bounds as Prometheus writes `le` and `quantile` (shortest form, no exponent).
fn bound_text(bound: f64) -> String {
    if bound == f64::INFINITY {
        "+Inf".to_string()
    } else if bound == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        bound.to_string()
    }
}

fn is_cumulative(temporality: i32) -> bool {
    temporality == AggregationTemporality::Cumulative as i32
}

/// Counts one more than bounds (or none at all), bounds increasing and not NaN.
fn buckets_valid(bounds: &[f64], counts: &[u64]) -> bool {
    if counts.is_empty() {
        return true;
    }
    counts.len() == bounds.len() + 1
        && bounds.iter().all(|b| !b.is_nan())
        && bounds.windows(2).all(|w| w[0] < w[1])
}

fn exemplar(e: &OtlpExemplar) -> Exemplar {
    let mut labels = Vec::new();
    for (name, id) in [("span_id", &e.span_id), ("trace_id", &e.trace_id)] {
        if id.iter().any(|b| *b != 0) {
            labels.push(Label::new(Bytes::from_static(name.as_bytes()), hex(id)));
        }
    }
    for kv in &e.filtered_attributes {
        if let Some(name) = label_name(&kv.key)
            && !labels.iter().any(|l| l.name == name.as_bytes())
        {
            labels.push(Label::new(name, text(kv)));
        }
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    Exemplar {
        labels,
        value: match e.value {
            Some(exemplar::Value::AsDouble(d)) => d,
            Some(exemplar::Value::AsInt(i)) => i as f64,
            None => 0.0,
        },
        timestamp: millis(e.time_unix_nano),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The `__name__` values of one metric's series, made once per metric.
struct Names {
    family: Bytes,
    bucket: Bytes,
    sum: Bytes,
    count: Bytes,
}

impl Names {
    fn new(family: &str) -> Names {
        Names {
            family: Bytes::from(family.to_string()),
            bucket: Bytes::from(format!("{family}_bucket")),
            sum: Bytes::from(format!("{family}_sum")),
            count: Bytes::from(format!("{family}_count")),
        }
    }
}

/// FxHash's mixing, eight bytes at a time: label sets are hashed once per sample, and the
/// default SipHash was a tenth of the exporter's CPU. A collision costs only a comparison
/// (see [`Builder::series`]).
#[derive(Default)]
struct LabelHasher(u64);

impl Hasher for LabelHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn write_u64(&mut self, value: u64) {
        // The index is keyed by a finished hash: used as it is.
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<LabelHasher>>;

fn label_hash(labels: &[Label]) -> u64 {
    let mut hasher = LabelHasher::default();
    labels.hash(&mut hasher);
    hasher.finish()
}

/// Series by the hash of their sorted labels, as indices into a list of series.
#[derive(Default)]
pub(crate) struct SeriesIndex {
    by_hash: FastMap<u64, usize>,
    /// Series whose labels' hash is another series' (compared one by one).
    collided: Vec<usize>,
}

impl SeriesIndex {
    /// The index in `series` of the series with `labels` (whose hash is `hash`), added at the
    /// end when there is none.
    pub(crate) fn find_or_add(
        &mut self,
        series: &mut Vec<TimeSeries>,
        labels: Vec<Label>,
        hash: u64,
    ) -> usize {
        let found = match self.by_hash.get(&hash) {
            Some(&at) if series[at].labels == labels => Some(at),
            Some(_) => self
                .collided
                .iter()
                .copied()
                .find(|&at| series[at].labels == labels),
            None => None,
        };
        if let Some(at) = found {
            return at;
        }
        let at = series.len();
        match self.by_hash.entry(hash) {
            Entry::Occupied(_) => self.collided.push(at),
            Entry::Vacant(slot) => {
                slot.insert(at);
            }
        }
        series.push(TimeSeries {
            labels,
            samples: Vec::new(),
            exemplars: Vec::new(),
        });
        at
    }
}

struct Builder<'a> {
    settings: &'a Settings,
    /// Where each series is in `converted.series`.
    index: SeriesIndex,
    converted: Converted,
    metadata: BTreeMap<String, MetricMetadata>,
}

impl Builder<'_> {
    fn drop_points(&mut self, reason: DropReason, points: usize, metric: &str) {
        if points == 0 {
            return;
        }
        tracing::debug!(
            metric,
            points,
            reason = reason.as_str(),
            "data points not converted to remote write"
        );
        *self.converted.dropped.entry(reason).or_default() += points as u64;
    }

    /// The series with `labels`, created when new.
    fn series(&mut self, labels: Vec<Label>) -> &mut TimeSeries {
        let hash = label_hash(&labels);
        let at = self
            .index
            .find_or_add(&mut self.converted.series, labels, hash);
        &mut self.converted.series[at]
    }

    fn push(&mut self, labels: Vec<Label>, value: f64, timestamp: i64) -> &mut TimeSeries {
        let series = self.series(labels);
        series.samples.push(Sample { value, timestamp });
        series
    }

    fn describe(&mut self, family: &str, kind: MetricType, metric: &Metric) {
        if self.settings.send_metadata && !self.metadata.contains_key(family) {
            self.metadata.insert(
                family.to_string(),
                MetricMetadata {
                    r#type: kind as i32,
                    metric_family_name: family.to_string(),
                    help: metric.description.clone(),
                    unit: metric.unit.clone(),
                },
            );
        }
    }

    /// Converts one metric; returns the latest point time seen (for `target_info`).
    fn metric(&mut self, metric: &Metric, resource: &Resource) -> u64 {
        let Some(data) = &metric.data else {
            return 0;
        };
        let (shape, points) = match data {
            metric::Data::Gauge(g) => (Shape::Gauge, g.data_points.len()),
            metric::Data::Sum(s) if !is_cumulative(s.aggregation_temporality) => {
                self.drop_points(DropReason::NotCumulative, s.data_points.len(), &metric.name);
                return 0;
            }
            metric::Data::Sum(s) if s.is_monotonic => (Shape::Counter, s.data_points.len()),
            metric::Data::Sum(s) => (Shape::UpDownCounter, s.data_points.len()),
            metric::Data::Histogram(h) if !is_cumulative(h.aggregation_temporality) => {
                self.drop_points(DropReason::NotCumulative, h.data_points.len(), &metric.name);
                return 0;
            }
            metric::Data::Histogram(h) => (Shape::Histogram, h.data_points.len()),
            metric::Data::Summary(s) => (Shape::Summary, s.data_points.len()),
            metric::Data::ExponentialHistogram(e) => {
                self.drop_points(
                    DropReason::ExponentialHistogram,
                    e.data_points.len(),
                    &metric.name,
                );
                return 0;
            }
        };
        let Some(family) = self
            .settings
            .namer
            .metric_name(&metric.name, &metric.unit, shape)
        else {
            self.drop_points(DropReason::InvalidName, points, &metric.name);
            return 0;
        };
        let names = Names::new(&family);
        let mut latest = 0;
        match data {
            metric::Data::Gauge(g) => {
                let kind = MetricType::Gauge;
                self.describe(&family, kind, metric);
                for point in &g.data_points {
                    latest = latest.max(self.number(&names, point, resource, &metric.name));
                }
            }
            metric::Data::Sum(s) => {
                let kind = if s.is_monotonic {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                };
                self.describe(&family, kind, metric);
                for point in &s.data_points {
                    latest = latest.max(self.number(&names, point, resource, &metric.name));
                }
            }
            metric::Data::Histogram(h) => {
                self.describe(&family, MetricType::Histogram, metric);
                for point in &h.data_points {
                    latest = latest.max(self.histogram(&names, point, resource, &metric.name));
                }
            }
            metric::Data::Summary(s) => {
                self.describe(&family, MetricType::Summary, metric);
                for point in &s.data_points {
                    latest = latest.max(self.summary(&names, point, resource));
                }
            }
            metric::Data::ExponentialHistogram(_) => {}
        }
        latest
    }

    fn number(
        &mut self,
        names: &Names,
        point: &NumberDataPoint,
        resource: &Resource,
        metric: &str,
    ) -> u64 {
        let value = if point.flags & NO_RECORDED_VALUE != 0 {
            stale()
        } else {
            match point.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => {
                    self.drop_points(DropReason::NoValue, 1, metric);
                    return 0;
                }
            }
        };
        let base = base_labels(self.settings, resource, &point.attributes);
        let series = self.push(
            series_labels(&base, &names.family, None),
            value,
            millis(point.time_unix_nano),
        );
        series
            .exemplars
            .extend(point.exemplars.iter().map(exemplar));
        point.time_unix_nano
    }

    fn histogram(
        &mut self,
        names: &Names,
        point: &HistogramDataPoint,
        resource: &Resource,
        metric: &str,
    ) -> u64 {
        if !buckets_valid(&point.explicit_bounds, &point.bucket_counts) {
            self.drop_points(DropReason::InvalidBuckets, 1, metric);
            return 0;
        }
        let no_value = point.flags & NO_RECORDED_VALUE != 0;
        let value = |v: f64| if no_value { stale() } else { v };
        let time = millis(point.time_unix_nano);
        let base = base_labels(self.settings, resource, &point.attributes);
        // Each exemplar goes to the first bucket whose bound holds its value.
        let mut exemplars: Vec<Vec<Exemplar>> = vec![Vec::new(); point.explicit_bounds.len() + 1];
        for e in &point.exemplars {
            let e = exemplar(e);
            let at = point
                .explicit_bounds
                .iter()
                .position(|b| e.value <= *b)
                .unwrap_or(point.explicit_bounds.len());
            exemplars[at].push(e);
        }
        let mut cumulative: u64 = 0;
        let bounds = point
            .explicit_bounds
            .iter()
            .copied()
            .zip(point.bucket_counts.iter().copied());
        for (at, (bound, count)) in bounds.enumerate() {
            cumulative = cumulative.saturating_add(count);
            let labels = series_labels(&base, &names.bucket, Some(("le", bound_text(bound))));
            let series = self.push(labels, value(cumulative as f64), time);
            series.exemplars.append(&mut exemplars[at]);
        }
        let labels = series_labels(&base, &names.bucket, Some(("le", "+Inf".to_string())));
        let series = self.push(labels, value(point.count as f64), time);
        if let Some(last) = exemplars.last_mut() {
            series.exemplars.append(last);
        }
        if let Some(sum) = point.sum {
            let labels = series_labels(&base, &names.sum, None);
            self.push(labels, value(sum), time);
        }
        let labels = series_labels(&base, &names.count, None);
        self.push(labels, value(point.count as f64), time);
        point.time_unix_nano
    }

    fn summary(&mut self, names: &Names, point: &SummaryDataPoint, resource: &Resource) -> u64 {
        let no_value = point.flags & NO_RECORDED_VALUE != 0;
        let value = |v: f64| if no_value { stale() } else { v };
        let time = millis(point.time_unix_nano);
        let base = base_labels(self.settings, resource, &point.attributes);
        for quantile in &point.quantile_values {
            let labels = series_labels(
                &base,
                &names.family,
                Some(("quantile", bound_text(quantile.quantile))),
            );
            self.push(labels, value(quantile.value), time);
        }
        let labels = series_labels(&base, &names.sum, None);
        self.push(labels, value(point.sum), time);
        let labels = series_labels(&base, &names.count, None);
        self.push(labels, value(point.count as f64), time);
        point.time_unix_nano
    }

    /// `target_info{job, instance, <other resource attributes>} 1` at the resource's latest
    /// point time; none for a resource with no other attributes or no `job`/`instance`.
    fn target_info(&mut self, attributes: &[KeyValue], resource: &Resource, latest: u64) {
        let others: Vec<KeyValue> = attributes
            .iter()
            .filter(|kv| !SERVICE_KEYS.contains(&kv.key.as_str()))
            .cloned()
            .collect();
        if others.is_empty() || (resource.job.is_none() && resource.instance.is_none()) {
            return;
        }
        let identity = Resource {
            job: resource.job.clone(),
            instance: resource.instance.clone(),
            copied: Vec::new(),
        };
        let base = base_labels(self.settings, &identity, &others);
        let namespace = self.settings.namer.namespace();
        let name = if namespace.is_empty() {
            "target_info".to_string()
        } else {
            format!("{namespace}_target_info")
        };
        self.push(
            series_labels(&base, &Bytes::from(name), None),
            1.0,
            millis(latest),
        );
    }
}
