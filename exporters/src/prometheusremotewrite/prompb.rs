//! Prometheus remote write 1.0 messages (`prometheus/prompb`: `remote.proto`, `types.proto`),
//! written by hand with prost's derive: only the fields remote write 1.0 sends.

use bytes::Bytes;

/// One request: time series and, with `send_metadata`, their families' metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series, each with its samples in timestamp order.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Type, help and unit of metric families.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// A series: its labels (`__name__` included, sorted by name) and samples.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name; names are unique.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars of the series.
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
}

/// A label pair. `string` in `types.proto`; held as [`Bytes`] (the same wire encoding, and
/// always UTF-8 here) so that the series of one point share their label texts instead of
/// copying them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Label {
    /// Label name.
    #[prost(bytes = "bytes", tag = "1")]
    pub name: Bytes,
    /// Label value.
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

impl Label {
    /// A label from texts.
    pub fn new(name: impl Into<Bytes>, value: impl Into<Bytes>) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A value at a time.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// The value; [`STALE_NAN`] marks the series stale.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// An exemplar: a traced measurement behind a sample.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// `trace_id`, `span_id` and filtered attributes.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The measurement.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// Metadata of a metric family.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// The family's type.
    #[prost(enumeration = "MetricType", tag = "1")]
    pub r#type: i32,
    /// The family name (without `_bucket`, `_sum`, `_count`).
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// The OTLP description.
    #[prost(string, tag = "4")]
    pub help: String,
    /// The OTLP unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// `MetricMetadata.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Unknown.
    Unknown = 0,
    /// Counter.
    Counter = 1,
    /// Gauge.
    Gauge = 2,
    /// Histogram.
    Histogram = 3,
    /// Gauge histogram.
    Gaugehistogram = 4,
    /// Summary.
    Summary = 5,
    /// Info.
    Info = 6,
    /// State set.
    Stateset = 7,
}

/// Prometheus's staleness marker: a NaN with this bit pattern ends a series.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
