//! The parsed exposition: families, samples, labels and exemplars, borrowed from the body.
//!
//! Everything an exposition holds lives in three flat vectors (families, samples, labels) that
//! refer to each other by index ranges, so parsing a body allocates a handful of growing
//! vectors rather than one per sample. Names borrow the body; label values and HELP texts
//! borrow it too unless they had escapes to undo.

use std::borrow::Cow;
use std::ops::Range;

/// The bit pattern Prometheus writes as a staleness marker (`value.StaleNaN`). No text body
/// can carry it (`NaN` parses to the ordinary quiet NaN), but a scraper that marks a vanished
/// series stale writes this value, and converters must tell it from a NaN the target sent.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is Prometheus's staleness marker rather than an ordinary NaN.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Which text format a body is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// The format a response's `Content-Type` names. Anything that is not OpenMetrics,
    /// including no header at all, is read as the text format, as Prometheus falls back to.
    pub fn from_content_type(content_type: Option<&str>) -> Format {
        let media = content_type
            .and_then(|ct| ct.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// A metric family's type, as its `# TYPE` line says (or `Unknown` without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    /// OpenMetrics only.
    GaugeHistogram,
    Summary,
    /// OpenMetrics only.
    Info,
    /// OpenMetrics only.
    StateSet,
    /// `untyped` in the text format, `unknown` in OpenMetrics, and any family without a TYPE.
    Unknown,
}

impl MetricType {
    pub(crate) fn parse(s: &str, format: Format) -> Option<MetricType> {
        Some(match (s, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The suffixes a sample of a family of this type may add to the family's name.
    pub(crate) fn allows(self, suffix: Suffix, format: Format) -> bool {
        let om = format == Format::OpenMetrics;
        match self {
            // Exporters write a counter's samples with and without `_total`; Prometheus
            // takes both, in OpenMetrics too, though the specification asks for `_total`.
            MetricType::Counter => match suffix {
                Suffix::None | Suffix::Total => true,
                Suffix::Created => om,
                _ => false,
            },
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => {
                suffix == Suffix::None
            }
            MetricType::Histogram => match suffix {
                Suffix::Bucket | Suffix::Sum | Suffix::Count => true,
                Suffix::Created => om,
                _ => false,
            },
            MetricType::GaugeHistogram => {
                matches!(suffix, Suffix::Bucket | Suffix::GSum | Suffix::GCount)
            }
            MetricType::Summary => match suffix {
                Suffix::None | Suffix::Sum | Suffix::Count => true,
                Suffix::Created => om,
                _ => false,
            },
            MetricType::Info => suffix == Suffix::Info,
        }
    }
}

/// What a sample's name adds to its family's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suffix {
    None,
    Total,
    Created,
    Bucket,
    Sum,
    Count,
    GSum,
    GCount,
    Info,
}

impl Suffix {
    pub(crate) const ALL: [(Suffix, &'static str); 8] = [
        (Suffix::Total, "_total"),
        (Suffix::Created, "_created"),
        (Suffix::Bucket, "_bucket"),
        (Suffix::Sum, "_sum"),
        (Suffix::Count, "_count"),
        (Suffix::GSum, "_gsum"),
        (Suffix::GCount, "_gcount"),
        (Suffix::Info, "_info"),
    ];

    /// The suffix `sample` has over `family`, if `sample` is `family` plus a known suffix.
    pub(crate) fn of(sample: &str, family: &str) -> Option<Suffix> {
        let rest = sample.strip_prefix(family)?;
        if rest.is_empty() {
            return Some(Suffix::None);
        }
        Suffix::ALL
            .iter()
            .find(|(_, s)| *s == rest)
            .map(|(suffix, _)| *suffix)
    }
}

/// One label: a name and its unescaped value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// An OpenMetrics exemplar attached to a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    pub(crate) labels: Range<usize>,
    pub value: f64,
    /// Milliseconds since the epoch (OpenMetrics writes seconds; fractions below a
    /// millisecond are cut, as Prometheus cuts them).
    pub timestamp_ms: Option<i64>,
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<'a> {
    /// The full name as written, suffix included (`http_requests_total`).
    pub name: &'a str,
    /// What `name` adds to its family's name.
    pub suffix: Suffix,
    pub(crate) labels: Range<usize>,
    /// The value; `NaN`, `+Inf` and `-Inf` as written. Never the staleness marker.
    pub value: f64,
    /// Milliseconds since the epoch, when the line carries a timestamp.
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<Exemplar>,
}

/// A metric family: its metadata and its samples, in body order.
#[derive(Clone, Debug, PartialEq)]
pub struct Family<'a> {
    /// The family's name: the TYPE/HELP line's name, or the sample's own name when the
    /// family had no metadata.
    pub name: &'a str,
    pub kind: MetricType,
    pub help: Option<Cow<'a, str>>,
    /// OpenMetrics `# UNIT`.
    pub unit: Option<&'a str>,
    pub(crate) samples: Range<usize>,
}

/// A parsed body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition<'a> {
    pub(crate) families: Vec<Family<'a>>,
    pub(crate) samples: Vec<Sample<'a>>,
    pub(crate) labels: Vec<Label<'a>>,
}

impl<'a> Exposition<'a> {
    /// The families in body order.
    pub fn families(&self) -> &[Family<'a>] {
        &self.families
    }

    /// A family's samples in body order.
    pub fn samples(&self, family: &Family<'a>) -> &[Sample<'a>] {
        &self.samples[family.samples.clone()]
    }

    /// Where a family's samples are in [`Exposition::all_samples`].
    pub fn sample_range(&self, family: &Family<'a>) -> Range<usize> {
        family.samples.clone()
    }

    /// Every sample of the body, in body order.
    pub fn all_samples(&self) -> &[Sample<'a>] {
        &self.samples
    }

    /// A sample's labels in the order written.
    pub fn labels(&self, sample: &Sample<'a>) -> &[Label<'a>] {
        &self.labels[sample.labels.clone()]
    }

    /// An exemplar's labels in the order written.
    pub fn exemplar_labels(&self, exemplar: &Exemplar) -> &[Label<'a>] {
        &self.labels[exemplar.labels.clone()]
    }

    /// The number of samples in the body (what `sample_limit` counts).
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }
}
