//! A scrape as OTLP metrics, as OpenTelemetry's "Prometheus and OpenMetrics Compatibility"
//! specification says and otelcol-contrib's `prometheus` receiver does (its
//! `receiver/prometheusreceiver/internal` `transaction.go`, `metricfamily.go`, `util.go`,
//! `prom_to_otlp.go`).
//!
//! A [`Converter`] lives as long as its target (it remembers start times across scrapes);
//! [`Converter::begin`] opens one scrape's [`Scrape`], the receiver [`Scrape::append`]s every
//! sample as `metric_relabel_configs` left it, and [`Scrape::finish`] gives one
//! `ResourceMetrics` per distinct `(job, instance)` that has a metric:
//!
//! - resource: `service.name` = job (whole: a `/` does not make a `service.namespace`),
//!   `service.instance.id` = instance, `server.address` (unless a loopback, unspecified or
//!   `localhost` host), `server.port` (a string, empty without a port), `url.scheme`, the
//!   `k8s.*` attributes of Kubernetes discovery ([`Converter::set_discovered_labels`]), then
//!   every label of `target_info` but `job` and `instance`; `target_info` is not a metric;
//! - scope: `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url`, and
//!   `otel_scope_<key>` labels as attributes; a scope without such attributes takes those of
//!   its `otel_scope_info` sample (not a metric unless [`Options::ignore_scope_info`]). No
//!   scope labels: [`Options::scope_name`] (otelcol's) and [`Options::scope_version`];
//! - metrics: one per family and scope, named as the family (no suffix trimmed: otelcol's
//!   `trim_metric_suffixes` is off by default, and the specification says SHOULD NOT alter),
//!   described by HELP, with UNIT as UCUM ([`mod@unit`]) and `prometheus.type` in `metadata`;
//! - points: one per label set less `le`/`quantile`, attributes without `job`, `instance`,
//!   `otel_scope_*` labels and empty values; types, staleness and dropped points as in the
//!   `family` module: counter → monotonic Sum, info/stateset → non-monotonic Sum, gauge and
//!   unknown → Gauge, histogram → Histogram, summary → Summary, gauge histogram dropped (the
//!   specification's MUST; otelcol has no type for it);
//! - start times: `_created`, else as [`StartTime`] says ([`Options::start_time`]); gauges
//!   have none;
//! - exemplars: on the point of their sample (never on summaries), ids from `trace_id` and
//!   `span_id` as the `exemplar` module says.
//!
//! No input panics; what `finish` gives always encodes, and histogram bounds strictly
//! increase with one more bucket count than bounds.

mod exemplar;
mod family;
mod hash;
mod resource;
mod scope;
mod scrape;
mod start_time;
pub mod unit;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

pub use scrape::Scrape;

use crate::model::MetricType;

/// otelcol's scope name for what its `prometheus` receiver makes (`mdata.ScopeName`).
pub const OTELCOL_SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver";

/// How cumulative points without `_created` get a start time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartTime {
    /// The `metricstarttime` processor's default strategy (and otelcol's receiver before
    /// v0.142): the first point starts at its own timestamp, a reset at its timestamp less
    /// 1 ms, the rest at their series' start.
    #[default]
    TrueResetPoint,
    /// Left at 0, as otelcol's receiver leaves it since v0.142.
    Unset,
}

/// How a [`Converter`] converts.
#[derive(Clone, Debug)]
pub struct Options {
    /// The scope of samples without `otel_scope_*` labels: [`OTELCOL_SCOPE_NAME`] by default,
    /// so that what downstream matches on keeps working.
    pub scope_name: String,
    /// That scope's version: Weir's.
    pub scope_version: String,
    pub start_time: StartTime,
    /// Series unseen for this long (scrape time, milliseconds) are forgotten: 10 minutes, as
    /// the `metricstarttime` processor's `gc_interval`.
    pub gc_interval_ms: i64,
    /// Take `otel_scope_info` as an ordinary metric instead of scope attributes (otelcol's
    /// `receiver.prometheusreceiver.IgnoreScopeInfoMetric` gate, off by default).
    pub ignore_scope_info: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scope_name: OTELCOL_SCOPE_NAME.to_owned(),
            scope_version: String::new(),
            start_time: StartTime::default(),
            gc_interval_ms: 10 * 60 * 1000,
            ignore_scope_info: false,
        }
    }
}

/// Per-target state that lives across scrapes (start-time adjustment, series seen).
#[derive(Debug)]
pub struct Converter {
    options: Options,
    start_times: start_time::StartTimes,
    /// `k8s.*` resource attributes from the target's discovered labels.
    discovered: Vec<KeyValue>,
}

impl Converter {
    pub fn new(options: Options) -> Converter {
        Converter {
            options,
            start_times: start_time::StartTimes::default(),
            discovered: Vec::new(),
        }
    }

    /// The target's labels as service discovery found them (before `relabel_configs`):
    /// Kubernetes discovery's `__meta_kubernetes_*` labels become `k8s.*` resource attributes
    /// as otelcol adds them. Other labels are ignored.
    pub fn set_discovered_labels(&mut self, labels: &[(&str, &str)]) {
        self.discovered = resource::kubernetes_attributes(labels);
    }

    /// Starts one scrape's transaction. `scheme` is the target's `__scheme__` (http/https).
    pub fn begin(&mut self, scheme: &str, scrape_time_ms: i64) -> Scrape<'_> {
        self.start_times
            .maybe_gc(scrape_time_ms, self.options.gc_interval_ms);
        Scrape::new(self, scheme)
    }

    /// How many series' start times are remembered.
    pub fn series_remembered(&self) -> usize {
        self.start_times.len()
    }

    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// The family a sample belongs to, as the parser (or relabelling) left it.
#[derive(Clone, Copy, Debug)]
pub struct FamilyRef<'a> {
    pub name: &'a str,
    pub kind: MetricType,
    pub help: Option<&'a str>,
    pub unit: Option<&'a str>,
}

/// An OpenMetrics exemplar of a sample.
#[derive(Clone, Copy, Debug)]
pub struct ExemplarRef<'a> {
    pub labels: &'a [(&'a str, &'a str)],
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

pub(crate) fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// Milliseconds since the epoch as OTLP nanoseconds (before the epoch: 0).
pub(crate) fn ms_to_ns(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000)
}

/// `_created` (seconds, with a fraction) as nanoseconds, as otelcol's
/// `timestampFromFloat64`; `None` for 0, negative or non-finite values.
pub(crate) fn created_to_ns(seconds: f64) -> Option<u64> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return None;
    }
    let whole = seconds.trunc();
    let nanos = ((seconds - whole) * 1e9) as u64;
    Some(
        (whole as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nanos),
    )
}
