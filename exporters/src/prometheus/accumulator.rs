//! What the exporter serves: the last value of every series, as otelcol's accumulator keeps it.
//!
//! Each OTLP metric becomes a family under its Prometheus name ([`super::naming`]); each data
//! point a series under its rendered label set (attributes, scope labels, `job`/`instance`,
//! const labels), so a scrape only writes strings made once per update. Gauges and cumulative
//! points replace the value unless older than it; delta sums and delta histograms whose start
//! is the previous point's time are added to it (a cumulative series starting at the first
//! delta's start), a later start resets it, and an earlier one is dropped (a second writer);
//! non-monotonic delta sums and unspecified temporalities are dropped, as otelcol does. A point
//! flagged "no recorded value" removes its series. A family keeps the type it was first seen
//! with; a metric of another type under the same name is logged and skipped. Series not
//! updated for `metric_expiration` are removed (when exporting or scraping), and with them
//! families and `target_info` entries nothing refers to, so memory follows what is live.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar as OtlpExemplar, Metric, exemplar, metric::Data,
    number_data_point,
};
use tokio::time::Instant;
use weir_processors::value_text::push_decoded_text;

use super::config::ResourceToTelemetry;
use super::naming::{Namer, Shape, label_name, unit_word};

/// OTLP's "no recorded value" data point flag.
const NO_RECORDED_VALUE: u32 = 1;

/// A family's Prometheus type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `gauge`.
    Gauge,
    /// `counter`.
    Counter,
    /// `histogram`.
    Histogram,
    /// `summary`.
    Summary,
}

impl Kind {
    /// The `# TYPE` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// A series' value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A gauge or counter value.
    Number(f64),
    /// Bucket counts (not cumulative) for `bounds`, one more count than bounds (the last for
    /// `+Inf`); an exponential histogram has no bounds and its count in the one bucket.
    Histogram {
        /// Upper bounds, increasing.
        bounds: Vec<f64>,
        /// Counts per bucket.
        counts: Vec<u64>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
    /// Quantiles, sum and count.
    Summary {
        /// (quantile, value) pairs.
        quantiles: Vec<(f64, f64)>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
}

/// An exemplar as OpenMetrics writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// Rendered labels (`span_id="…",trace_id="…"`), possibly empty.
    pub labels: String,
    /// The measurement.
    pub value: f64,
    /// Nanoseconds since the epoch; 0 for none.
    pub time_unix_nano: u64,
}

/// One series: its value and when it was last updated.
#[derive(Debug)]
pub struct Series {
    /// The value.
    pub value: Value,
    /// The data point's start time (ns); 0 when unknown.
    pub start_unix_nano: u64,
    /// The data point's time (ns).
    pub time_unix_nano: u64,
    /// Exemplars of the last update (counters and histograms).
    pub exemplars: Vec<Exemplar>,
    updated: Instant,
    /// Keeps its resource's `target_info` alive.
    _target: Option<Arc<str>>,
}

/// One metric family.
#[derive(Debug)]
pub struct Family {
    /// Its type.
    pub kind: Kind,
    /// Its description (the first one seen).
    pub help: String,
    /// OpenMetrics' unit word, when the name ends with it.
    pub unit: Option<String>,
    /// Series by rendered label set.
    pub series: BTreeMap<Box<str>, Series>,
    /// No series was updated before this (the least update time at the last sweep, or the
    /// family's creation): a sweep passes over the family until this is expired.
    oldest: Instant,
}

/// The settings that decide names and labels.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Metric naming.
    pub namer: Namer,
    /// Leave out the scope labels.
    pub without_scope_info: bool,
    /// Resource attributes as labels.
    pub resource_to_telemetry: ResourceToTelemetry,
    /// Labels of every series, already valid names.
    pub const_labels: BTreeMap<String, String>,
    /// How long a series lives without updates.
    pub expiration: Duration,
}

/// The series the exporter serves.
#[derive(Debug)]
pub struct Accumulator {
    settings: Settings,
    families: BTreeMap<String, Family>,
    /// `target_info` label sets by `job`/`instance`, alive while a series holds them.
    targets: BTreeMap<String, Arc<str>>,
    last_sweep: Option<Instant>,
}

impl Accumulator {
    /// An empty accumulator.
    pub fn new(settings: Settings) -> Accumulator {
        Accumulator {
            settings,
            families: BTreeMap::new(),
            targets: BTreeMap::new(),
            last_sweep: None,
        }
    }

    /// The families, by name.
    pub fn families(&self) -> &BTreeMap<String, Family> {
        &self.families
    }

    /// `target_info` label sets, one per `job`/`instance`.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.targets.values().map(|t| &**t)
    }

    /// The `target_info` family name (with the namespace).
    pub fn target_info_name(&self) -> String {
        match self.settings.namer.namespace() {
            "" => "target_info".to_string(),
            namespace => format!("{namespace}_target_info"),
        }
    }

    /// Number of series held.
    pub fn series_count(&self) -> usize {
        self.families.values().map(|f| f.series.len()).sum()
    }

    /// Folds `request` in at `now`; returns the data points taken.
    pub fn accumulate(&mut self, request: &ExportMetricsServiceRequest, now: Instant) -> usize {
        let mut taken = 0;
        for resource_metrics in &request.resource_metrics {
            let attributes: &[KeyValue] = resource_metrics
                .resource
                .as_ref()
                .map_or(&[], |r| &r.attributes);
            let resource = ResourceLabels::new(attributes, &self.settings);
            let target = self.target(attributes, &resource);
            for scope_metrics in &resource_metrics.scope_metrics {
                let scope = self.scope_labels(scope_metrics);
                for metric in &scope_metrics.metrics {
                    let context = PointContext {
                        resource: &resource,
                        scope: &scope,
                        target: target.clone(),
                        now,
                    };
                    taken += self.add_metric(metric, &context);
                }
            }
        }
        self.sweep_if_due(now);
        taken
    }

    /// Removes series not updated within the expiration, and what only they used. A family
    /// none of whose series can have expired is not walked, so a scrape of series that are
    /// kept up to date costs no walk of them beyond writing them.
    pub fn sweep(&mut self, now: Instant) {
        let expiration = self.settings.expiration;
        self.families.retain(|_, family| {
            if now.saturating_duration_since(family.oldest) < expiration {
                return true;
            }
            let mut oldest = now;
            family.series.retain(|_, s| {
                let live = now.saturating_duration_since(s.updated) < expiration;
                if live {
                    oldest = oldest.min(s.updated);
                }
                live
            });
            family.oldest = oldest;
            !family.series.is_empty()
        });
        self.targets.retain(|_, t| Arc::strong_count(t) > 1);
        self.last_sweep = Some(now);
    }

    /// Sweeps at most every tenth of the expiration (at least every second), so that memory
    /// is freed without scrapes and an export does not walk every series.
    fn sweep_if_due(&mut self, now: Instant) {
        let every = (self.settings.expiration / 10).max(Duration::from_secs(1));
        match self.last_sweep {
            Some(last) if now.saturating_duration_since(last) < every => {}
            _ => self.sweep(now),
        }
    }

    /// The resource's `target_info` entry, when it has a `job` or an `instance`.
    fn target(&mut self, attributes: &[KeyValue], resource: &ResourceLabels) -> Option<Arc<str>> {
        if resource.job.is_none() && resource.instance.is_none() {
            return None;
        }
        let mut labels = BTreeMap::new();
        let others = attributes.iter().filter(|kv| !is_service_key(&kv.key));
        add_attribute_labels(&mut labels, others, "");
        if let Some(job) = &resource.job {
            labels.insert("job".to_string(), job.clone());
        }
        if let Some(instance) = &resource.instance {
            labels.insert("instance".to_string(), instance.clone());
        }
        let key = format!(
            "{}\u{0}{}",
            resource.job.as_deref().unwrap_or(""),
            resource.instance.as_deref().unwrap_or("")
        );
        let rendered = render_labels(&labels);
        match self.targets.get(&key) {
            Some(existing) if **existing == *rendered => Some(existing.clone()),
            _ => {
                let target: Arc<str> = rendered.into();
                self.targets.insert(key, target.clone());
                Some(target)
            }
        }
    }

    fn scope_labels(
        &self,
        scope_metrics: &opentelemetry_proto::tonic::metrics::v1::ScopeMetrics,
    ) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        if self.settings.without_scope_info {
            return labels;
        }
        let scope = scope_metrics.scope.as_ref();
        if let Some(scope) = scope {
            add_attribute_labels(&mut labels, scope.attributes.iter(), "otel_scope_");
        }
        labels.insert(
            "otel_scope_name".to_string(),
            scope.map(|s| s.name.clone()).unwrap_or_default(),
        );
        labels.insert(
            "otel_scope_version".to_string(),
            scope.map(|s| s.version.clone()).unwrap_or_default(),
        );
        labels.insert(
            "otel_scope_schema_url".to_string(),
            scope_metrics.schema_url.clone(),
        );
        labels
    }

    fn add_metric(&mut self, metric: &Metric, context: &PointContext) -> usize {
        let Some(data) = &metric.data else {
            return 0;
        };
        let (shape, kind) = match data {
            Data::Gauge(_) => (Shape::Gauge, Kind::Gauge),
            Data::Sum(sum) => {
                let temporality = sum.aggregation_temporality;
                if temporality == AggregationTemporality::Unspecified as i32
                    || (temporality == AggregationTemporality::Delta as i32 && !sum.is_monotonic)
                {
                    tracing::debug!(metric = %metric.name, "sum with unspecified temporality or non-monotonic delta dropped");
                    return 0;
                }
                if sum.is_monotonic {
                    (Shape::Counter, Kind::Counter)
                } else {
                    (Shape::UpDownCounter, Kind::Gauge)
                }
            }
            Data::Histogram(_) | Data::ExponentialHistogram(_) => {
                (Shape::Histogram, Kind::Histogram)
            }
            Data::Summary(_) => (Shape::Summary, Kind::Summary),
        };
        let Some(name) = self
            .settings
            .namer
            .metric_name(&metric.name, &metric.unit, shape)
        else {
            tracing::warn!(metric = %metric.name, "metric name has no character Prometheus can take; dropped");
            return 0;
        };
        let unit = unit_word(&name, &metric.unit);
        let family = self.families.entry(name).or_insert_with_key(|_| Family {
            kind,
            help: metric.description.clone(),
            unit,
            series: BTreeMap::new(),
            oldest: context.now,
        });
        if family.kind != kind {
            tracing::warn!(
                metric = %metric.name,
                existing = family.kind.as_str(),
                dropped = kind.as_str(),
                "instrument type conflict, using existing type definition"
            );
            return 0;
        }
        let settings = &self.settings;
        let mut taken = 0;
        let mut fold = |attributes: &[KeyValue], flags: u32, point: Point| {
            let labels = series_labels(settings, context, attributes);
            if flags & NO_RECORDED_VALUE != 0 {
                family.series.remove(labels.as_str());
                return;
            }
            if fold_point(family, labels, point, context) {
                taken += 1;
            }
        };
        match data {
            Data::Gauge(gauge) => {
                for p in &gauge.data_points {
                    let Some(value) = number(p.value, p.flags) else {
                        continue;
                    };
                    fold(
                        &p.attributes,
                        p.flags,
                        Point::number(value, p.start_time_unix_nano, p.time_unix_nano, false),
                    );
                }
            }
            Data::Sum(sum) => {
                let delta = sum.aggregation_temporality == AggregationTemporality::Delta as i32;
                for p in &sum.data_points {
                    let Some(value) = number(p.value, p.flags) else {
                        continue;
                    };
                    let mut point =
                        Point::number(value, p.start_time_unix_nano, p.time_unix_nano, delta);
                    if sum.is_monotonic {
                        point.exemplars = exemplars(&p.exemplars);
                    }
                    fold(&p.attributes, p.flags, point);
                }
            }
            Data::Histogram(histogram) => {
                let Some(delta) = histogram_delta(histogram.aggregation_temporality) else {
                    return 0;
                };
                for p in &histogram.data_points {
                    if !buckets_valid(&p.explicit_bounds, &p.bucket_counts) {
                        tracing::warn!(metric = %metric.name, "histogram point with bucket counts not matching its bounds, or bounds not increasing; dropped");
                        continue;
                    }
                    let counts = if p.bucket_counts.is_empty() {
                        vec![p.count]
                    } else {
                        p.bucket_counts.clone()
                    };
                    let mut point = Point::histogram(
                        p.explicit_bounds.clone(),
                        counts,
                        (p.sum, p.count),
                        (p.start_time_unix_nano, p.time_unix_nano),
                        delta,
                    );
                    point.exemplars = exemplars(&p.exemplars);
                    fold(&p.attributes, p.flags, point);
                }
            }
            Data::ExponentialHistogram(histogram) => {
                let Some(delta) = histogram_delta(histogram.aggregation_temporality) else {
                    return 0;
                };
                // The text formats cannot carry a native histogram's buckets; client_golang
                // writes only its count (as the `+Inf` bucket), sum and count there.
                for p in &histogram.data_points {
                    let point = Point::histogram(
                        Vec::new(),
                        vec![p.count],
                        (p.sum, p.count),
                        (p.start_time_unix_nano, p.time_unix_nano),
                        delta,
                    );
                    fold(&p.attributes, p.flags, point);
                }
            }
            Data::Summary(summary) => {
                for p in &summary.data_points {
                    let point = Point {
                        value: Value::Summary {
                            quantiles: p
                                .quantile_values
                                .iter()
                                .map(|q| (q.quantile, q.value))
                                .collect(),
                            sum: p.sum,
                            count: p.count,
                        },
                        start: p.start_time_unix_nano,
                        time: p.time_unix_nano,
                        delta: false,
                        exemplars: Vec::new(),
                    };
                    fold(&p.attributes, p.flags, point);
                }
            }
        }
        taken
    }
}

/// What every point of one resource and scope shares.
struct PointContext<'a> {
    resource: &'a ResourceLabels,
    scope: &'a BTreeMap<String, String>,
    target: Option<Arc<str>>,
    now: Instant,
}

/// One incoming data point, converted.
struct Point {
    value: Value,
    start: u64,
    time: u64,
    delta: bool,
    exemplars: Vec<Exemplar>,
}

impl Point {
    /// A histogram point; `sum_count` is the point's (optional) sum and count, `times` its
    /// start and time.
    fn histogram(
        bounds: Vec<f64>,
        counts: Vec<u64>,
        sum_count: (Option<f64>, u64),
        times: (u64, u64),
        delta: bool,
    ) -> Point {
        Point {
            value: Value::Histogram {
                bounds,
                counts,
                sum: sum_count.0.unwrap_or(0.0),
                count: sum_count.1,
            },
            start: times.0,
            time: times.1,
            delta,
            exemplars: Vec::new(),
        }
    }

    fn number(value: f64, start: u64, time: u64, delta: bool) -> Point {
        Point {
            value: Value::Number(value),
            start,
            time,
            delta,
            exemplars: Vec::new(),
        }
    }
}

/// Folds `point` into the series `labels` of `family`; false when it was dropped.
fn fold_point(family: &mut Family, labels: String, point: Point, context: &PointContext) -> bool {
    let Some(series) = family.series.get_mut(labels.as_str()) else {
        family.series.insert(
            labels.into_boxed_str(),
            Series {
                value: point.value,
                start_unix_nano: point.start,
                time_unix_nano: point.time,
                exemplars: point.exemplars,
                updated: context.now,
                _target: context.target.clone(),
            },
        );
        return true;
    };
    let (value, start) = if point.delta {
        if point.start == series.time_unix_nano {
            match add(&series.value, point.value) {
                Some(sum) => (sum, series.start_unix_nano),
                None => return false,
            }
        } else if point.start > series.time_unix_nano {
            // A later start: the source restarted; the series starts again from this point.
            (point.value, point.start)
        } else {
            tracing::debug!("delta point overlapping the accumulated one dropped");
            return false;
        }
    } else {
        if point.time < series.time_unix_nano {
            return false;
        }
        (point.value, point.start)
    };
    series.value = value;
    series.start_unix_nano = start;
    series.time_unix_nano = point.time;
    series.exemplars = point.exemplars;
    series.updated = context.now;
    series._target = context.target.clone();
    true
}

/// `previous` plus the delta `next`; a histogram whose bounds changed takes the new one whole,
/// as otelcol does. `None` when the shapes differ.
fn add(previous: &Value, next: Value) -> Option<Value> {
    match (previous, next) {
        (Value::Number(a), Value::Number(b)) => Some(Value::Number(a + b)),
        (
            Value::Histogram {
                bounds: old_bounds,
                counts: old_counts,
                sum: old_sum,
                count: old_count,
            },
            Value::Histogram {
                bounds,
                mut counts,
                sum,
                count,
            },
        ) => {
            if *old_bounds == bounds && old_counts.len() == counts.len() {
                for (c, old) in counts.iter_mut().zip(old_counts) {
                    *c = c.saturating_add(*old);
                }
                Some(Value::Histogram {
                    bounds,
                    counts,
                    sum: sum + old_sum,
                    count: count.saturating_add(*old_count),
                })
            } else {
                Some(Value::Histogram {
                    bounds,
                    counts,
                    sum,
                    count,
                })
            }
        }
        _ => None,
    }
}

/// A number point's value; a point flagged "no recorded value" counts as 0 (it only removes
/// its series); `None` for one with no value at all.
fn number(value: Option<number_data_point::Value>, flags: u32) -> Option<f64> {
    if flags & NO_RECORDED_VALUE != 0 {
        return Some(0.0);
    }
    match value? {
        number_data_point::Value::AsDouble(d) => Some(d),
        number_data_point::Value::AsInt(i) => Some(i as f64),
    }
}

/// Whether a histogram's temporality is delta; `None` for unspecified (dropped).
fn histogram_delta(temporality: i32) -> Option<bool> {
    if temporality == AggregationTemporality::Delta as i32 {
        Some(true)
    } else if temporality == AggregationTemporality::Cumulative as i32 {
        Some(false)
    } else {
        None
    }
}

/// Counts one more than bounds (or none at all), bounds increasing and not NaN.
fn buckets_valid(bounds: &[f64], counts: &[u64]) -> bool {
    if counts.is_empty() {
        return bounds.is_empty();
    }
    counts.len() == bounds.len() + 1
        && bounds.iter().all(|b| !b.is_nan())
        && bounds.windows(2).all(|w| w[0] < w[1])
}

fn exemplars(exemplars: &[OtlpExemplar]) -> Vec<Exemplar> {
    exemplars
        .iter()
        .map(|e| {
            let mut labels = BTreeMap::new();
            if !e.span_id.is_empty() && e.span_id.iter().any(|b| *b != 0) {
                labels.insert("span_id".to_string(), hex(&e.span_id));
            }
            if !e.trace_id.is_empty() && e.trace_id.iter().any(|b| *b != 0) {
                labels.insert("trace_id".to_string(), hex(&e.trace_id));
            }
            Exemplar {
                labels: render_labels(&labels),
                value: match e.value {
                    Some(exemplar::Value::AsDouble(d)) => d,
                    Some(exemplar::Value::AsInt(i)) => i as f64,
                    None => 0.0,
                },
                time_unix_nano: e.time_unix_nano,
            }
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A resource's `job` and `instance`, and its attributes as labels when converted.
struct ResourceLabels {
    job: Option<String>,
    instance: Option<String>,
    /// Resource attributes copied onto every point (`resource_to_telemetry_conversion`), by
    /// attribute key.
    copied: Vec<(String, String)>,
}

impl ResourceLabels {
    fn new(attributes: &[KeyValue], settings: &Settings) -> ResourceLabels {
        let get = |key: &str| {
            attributes.iter().find(|kv| kv.key == key).map(|kv| {
                let mut text = String::new();
                push_decoded_text(kv.value.as_ref().and_then(|v| v.value.as_ref()), &mut text);
                text
            })
        };
        let job = get("service.name").map(|name| match get("service.namespace") {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name,
        });
        let instance = get("service.instance.id");
        let conversion = &settings.resource_to_telemetry;
        let copied = if conversion.enabled {
            attributes
                .iter()
                .filter(|kv| !(conversion.exclude_service_attributes && is_service_key(&kv.key)))
                .map(|kv| {
                    let mut text = String::new();
                    push_decoded_text(kv.value.as_ref().and_then(|v| v.value.as_ref()), &mut text);
                    (kv.key.clone(), text)
                })
                .collect()
        } else {
            Vec::new()
        };
        ResourceLabels {
            job,
            instance,
            copied,
        }
    }
}

fn is_service_key(key: &str) -> bool {
    matches!(
        key,
        "service.name" | "service.namespace" | "service.instance.id"
    )
}

/// A point's rendered label set: its attributes (with converted resource attributes over
/// them), the scope labels, `job` and `instance`, then the const labels.
fn series_labels(settings: &Settings, context: &PointContext, attributes: &[KeyValue]) -> String {
    let mut by_key: BTreeMap<&str, String> = BTreeMap::new();
    for kv in attributes {
        let mut text = String::new();
        push_decoded_text(kv.value.as_ref().and_then(|v| v.value.as_ref()), &mut text);
        by_key.insert(&kv.key, text);
    }
    for (key, value) in &context.resource.copied {
        by_key.insert(key, value.clone());
    }
    let mut labels = BTreeMap::new();
    for (key, value) in by_key {
        add_label(&mut labels, key, "", value);
    }
    for (name, value) in context.scope {
        labels.insert(name.clone(), value.clone());
    }
    if let Some(job) = &context.resource.job {
        labels.insert("job".to_string(), job.clone());
    }
    if let Some(instance) = &context.resource.instance {
        labels.insert("instance".to_string(), instance.clone());
    }
    for (name, value) in &settings.const_labels {
        labels.insert(name.clone(), value.clone());
    }
    render_labels(&labels)
}

/// Adds attributes as labels; keys that sanitise to one name join their values with `;`
/// (in key order), as the compatibility spec says.
fn add_attribute_labels<'a>(
    labels: &mut BTreeMap<String, String>,
    attributes: impl Iterator<Item = &'a KeyValue>,
    prefix: &str,
) {
    let mut by_key: BTreeMap<&str, String> = BTreeMap::new();
    for kv in attributes {
        let mut text = String::new();
        push_decoded_text(kv.value.as_ref().and_then(|v| v.value.as_ref()), &mut text);
        by_key.insert(&kv.key, text);
    }
    for (key, value) in by_key {
        add_label(labels, key, prefix, value);
    }
}

fn add_label(labels: &mut BTreeMap<String, String>, key: &str, prefix: &str, value: String) {
    let Some(name) = label_name(&format!("{prefix}{key}")) else {
        tracing::debug!(
            attribute = key,
            "attribute key has no character a label can take; left out"
        );
        return;
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

/// `a="x",b="y"`, values escaped as both text formats want (`\\`, `\"`, `\n`).
pub fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (name, value) in labels {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

/// A rendered label set from pairs (tests' expectations).
#[cfg(test)]
pub fn labels_of(pairs: &[(&str, &str)]) -> String {
    render_labels(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[cfg(test)]
#[path = "accumulator_tests.rs"]
pub(crate) mod tests;
