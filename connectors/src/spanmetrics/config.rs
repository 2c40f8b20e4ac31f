//! Configuration of the `spanmetrics` connector: otelcol-contrib's fields, names and defaults.
//! Fields of current otelcol that Weir does not implement (`aggregation_cardinality_limit`,
//! `calls_dimensions`, `histogram.dimensions`, `include_instrumentation_scope`,
//! `metric_timestamp_cache_size`, `add_resource_attributes`, `series_expiration`,
//! `enable_metrics_sampling_method`, a dimension's `glob`) are refused as unknown fields.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, format_duration, humantime_serde, parse_duration};

/// The dimensions every series has, which `dimensions` may not repeat.
pub(super) const SERVICE_NAME: &str = "service.name";
pub(super) const SPAN_NAME: &str = "span.name";
pub(super) const SPAN_KIND: &str = "span.kind";
pub(super) const STATUS_CODE: &str = "status.code";
const RESERVED: [&str; 4] = [SERVICE_NAME, SPAN_NAME, SPAN_KIND, STATUS_CODE];

/// otelcol's default explicit buckets, in milliseconds.
pub(super) const DEFAULT_BUCKETS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10_000.0, 15_000.0,
];

/// Aggregates spans into request, error and duration metrics (`calls`, `duration`, and
/// `events` when enabled) per service, span name, kind, status code and configured
/// dimensions, emitted on `metrics_flush_interval` into the metrics pipelines it feeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SpanMetricsConfig {
    /// The `duration` histogram.
    pub histogram: HistogramConfig,
    /// Dimensions added to the default ones (`service.name`, `span.name`, `span.kind`,
    /// `status.code`), each looked up in the span's attributes, then its resource's, then
    /// its `default`; without a default a missing dimension is left out of the series.
    pub dimensions: Vec<Dimension>,
    /// Default dimensions left out of every series (e.g. `status.code`); other names have
    /// no effect, as in otelcol.
    pub exclude_dimensions: Vec<String>,
    /// The most series (sets of dimension values) held; past it the least recently updated
    /// series is forgotten (a cumulative series seen again restarts from zero with a new
    /// start time). Bounds the connector's memory. Default 1000.
    pub dimensions_cache_size: usize,
    /// `AGGREGATION_TEMPORALITY_CUMULATIVE` (default: totals since each series started) or
    /// `AGGREGATION_TEMPORALITY_DELTA` (counts since the previous flush).
    pub aggregation_temporality: Temporality,
    /// How often the metrics are emitted. Default 60s.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub metrics_flush_interval: Duration,
    /// A resource (with all its series) not updated for this long is emitted one last time
    /// and forgotten. 0 (the default): never.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub metrics_expiration: Duration,
    /// Prefix of the metric names (`<namespace>.calls`); empty for none. Default
    /// `traces.span.metrics`.
    pub namespace: String,
    /// The resource attributes that tell resources apart (empty: all of them); resources
    /// alike in these share their series.
    pub resource_metrics_key_attributes: Vec<String>,
    /// The most resources held; past it the least recently updated one is forgotten with
    /// its series. Default 1000.
    pub resource_metrics_cache_size: usize,
    /// Exemplars (trace and span id with the duration) on the data points.
    pub exemplars: ExemplarsConfig,
    /// The `events` metric, counting span events.
    pub events: EventsConfig,
}

/// `histogram:`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HistogramConfig {
    /// No `duration` metric at all.
    pub disable: bool,
    /// Unit of the durations: `ms` (default) or `s`.
    pub unit: Unit,
    /// Explicit buckets (the default kind).
    pub explicit: Option<ExplicitConfig>,
    /// An exponential histogram instead of explicit buckets.
    pub exponential: Option<ExponentialConfig>,
}

/// `histogram.explicit:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExplicitConfig {
    /// Bucket bounds as durations (`[2ms, 100ms, 1s]`). Absent: otelcol's `[2ms, 4ms, 6ms,
    /// 8ms, 10ms, 50ms, 100ms, 200ms, 400ms, 800ms, 1s, 1400ms, 2s, 5s, 10s, 15s]`.
    #[serde(with = "durations")]
    #[schemars(with = "Option<Vec<DurationString>>")]
    pub buckets: Option<Vec<Duration>>,
}

/// `histogram.exponential:`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExponentialConfig {
    /// The most buckets; past it the histogram halves its resolution. 0 or absent: 160.
    pub max_size: u32,
}

impl Default for ExponentialConfig {
    fn default() -> Self {
        ExponentialConfig { max_size: 160 }
    }
}

/// Unit of the duration histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Unit {
    /// Milliseconds.
    #[default]
    #[serde(rename = "ms")]
    Milliseconds,
    /// Seconds.
    #[serde(rename = "s")]
    Seconds,
}

impl Unit {
    /// Nanoseconds in one unit.
    pub(super) fn nanos(self) -> f64 {
        match self {
            Unit::Milliseconds => 1e6,
            Unit::Seconds => 1e9,
        }
    }

    /// As a metric's `unit`.
    pub(super) fn text(self) -> &'static str {
        match self {
            Unit::Milliseconds => "ms",
            Unit::Seconds => "s",
        }
    }
}

/// Aggregation temporality of the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Temporality {
    /// Totals since each series started.
    #[default]
    #[serde(rename = "AGGREGATION_TEMPORALITY_CUMULATIVE")]
    Cumulative,
    /// Counts since the previous flush.
    #[serde(rename = "AGGREGATION_TEMPORALITY_DELTA")]
    Delta,
}

/// One added dimension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Dimension {
    /// The attribute's key, also the dimension's name. Required.
    pub name: String,
    /// The value when neither the span nor its resource has the attribute.
    pub default: Option<String>,
}

/// `exemplars:`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExemplarsConfig {
    /// Attach exemplars (spans with a trace id) to the data points; they are cleared at each
    /// flush.
    pub enabled: bool,
    /// The most exemplars per data point and flush. Default 5.
    pub max_per_data_point: usize,
}

impl Default for ExemplarsConfig {
    fn default() -> Self {
        ExemplarsConfig {
            enabled: false,
            max_per_data_point: 5,
        }
    }
}

/// `events:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Emit `<namespace>.events`, counting span events.
    pub enabled: bool,
    /// Dimensions of the events metric, after `dimensions`: looked up in the span's
    /// attributes, then the event's, then the resource's. Required when enabled.
    pub dimensions: Vec<Dimension>,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            histogram: HistogramConfig::default(),
            dimensions: Vec::new(),
            exclude_dimensions: Vec::new(),
            dimensions_cache_size: 1000,
            aggregation_temporality: Temporality::Cumulative,
            metrics_flush_interval: Duration::from_secs(60),
            metrics_expiration: Duration::ZERO,
            namespace: "traces.span.metrics".to_string(),
            resource_metrics_key_attributes: Vec::new(),
            resource_metrics_cache_size: 1000,
            exemplars: ExemplarsConfig::default(),
            events: EventsConfig::default(),
        }
    }
}

impl Default for HistogramConfig {
    fn default() -> Self {
        HistogramConfig {
            disable: false,
            unit: Unit::Milliseconds,
            explicit: None,
            exponential: None,
        }
    }
}

impl SpanMetricsConfig {
    /// The explicit bucket bounds in the histogram's unit.
    pub(super) fn bounds(&self) -> Vec<f64> {
        let unit = self.histogram.unit;
        match self
            .histogram
            .explicit
            .as_ref()
            .and_then(|e| e.buckets.as_ref())
        {
            Some(buckets) => buckets
                .iter()
                .map(|d| d.as_nanos() as f64 / unit.nanos())
                .collect(),
            None => DEFAULT_BUCKETS_MS
                .iter()
                .map(|ms| ms * 1e6 / unit.nanos())
                .collect(),
        }
    }

    /// The exponential histogram's bucket limit, when it is exponential.
    pub(super) fn exponential_max_size(&self) -> Option<u32> {
        self.histogram
            .exponential
            .as_ref()
            .map(|e| if e.max_size == 0 { 160 } else { e.max_size })
    }
}

fn check_dimensions(at: &str, dimensions: &[Dimension], problems: &mut Vec<String>) {
    let mut seen: Vec<&str> = RESERVED.to_vec();
    for (i, d) in dimensions.iter().enumerate() {
        if d.name.is_empty() {
            problems.push(format!("{at}.{i}.name must not be empty"));
        } else if seen.contains(&d.name.as_str()) {
            problems.push(format!("{at}.{i}: duplicate dimension name {}", d.name));
        } else {
            seen.push(&d.name);
        }
    }
}

impl ComponentConfig for SpanMetricsConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        check_dimensions("dimensions", &self.dimensions, &mut problems);
        if self.events.enabled {
            if self.events.dimensions.is_empty() {
                problems.push("events.dimensions: no dimensions configured for events".into());
            }
            check_dimensions("events.dimensions", &self.events.dimensions, &mut problems);
        }
        if self.histogram.explicit.is_some() && self.histogram.exponential.is_some() {
            problems
                .push("histogram: use either `explicit` or `exponential` buckets histogram".into());
        }
        if let Some(buckets) = self
            .histogram
            .explicit
            .as_ref()
            .and_then(|e| e.buckets.as_ref())
            && buckets.windows(2).any(|w| w[0] >= w[1])
        {
            problems.push("histogram.explicit.buckets must be in increasing order".into());
        }
        if self.metrics_flush_interval.is_zero() {
            problems.push("metrics_flush_interval must be more than 0".into());
        }
        if self.dimensions_cache_size == 0 {
            problems.push("dimensions_cache_size must be a positive number".into());
        }
        if self.resource_metrics_cache_size == 0 {
            problems.push("resource_metrics_cache_size must be a positive number".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// A list of durations (`[2ms, 1s]`), or none.
mod durations {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Vec<Duration>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(list) => s.collect_seq(list.iter().map(|d| format_duration(*d))),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Duration>>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Nanos(u64),
        }
        let raw: Option<Vec<Raw>> = Option::deserialize(d)?;
        raw.map(|list| {
            list.into_iter()
                .map(|r| match r {
                    Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
                    Raw::Nanos(n) => Ok(Duration::from_nanos(n)),
                })
                .collect()
        })
        .transpose()
    }
}
