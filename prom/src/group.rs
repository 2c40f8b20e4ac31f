//! Samples of one family gathered into points: the samples that share a label set (less
//! `le` and `quantile`), with a histogram's buckets, a summary's quantiles, the sum, count and
//! `_created` that go with them. This is what a converter to OTLP needs: one OTLP data point
//! per [`Point`].

use std::collections::HashMap;

use crate::model::{Exemplar, Exposition, Family, Label, MetricType, Suffix};
use crate::parse::line::number;

/// One histogram bucket: its upper bound and the cumulative count at or below it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket<'e> {
    pub upper_bound: f64,
    pub count: f64,
    pub exemplar: Option<&'e Exemplar>,
}

/// One point of a family.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point<'e, 'a> {
    /// The point's labels in body order, without `le` and `quantile`.
    pub labels: Vec<&'e Label<'a>>,
    /// A counter's `_total`, a gauge's, unknown's, stateset's or info's value.
    pub value: Option<f64>,
    /// A histogram's or gauge histogram's buckets, in body order.
    pub buckets: Vec<Bucket<'e>>,
    /// A summary's `(quantile, value)` pairs, in body order.
    pub quantiles: Vec<(f64, f64)>,
    /// `_sum` (or `_gsum`).
    pub sum: Option<f64>,
    /// `_count` (or `_gcount`).
    pub count: Option<f64>,
    /// OpenMetrics `_created`, in seconds since the epoch.
    pub created: Option<f64>,
    /// The latest timestamp among the point's samples, in milliseconds.
    pub timestamp_ms: Option<i64>,
    /// A counter's exemplar.
    pub exemplar: Option<&'e Exemplar>,
}

impl<'a> Exposition<'a> {
    /// The family's samples gathered into points, in the order each point first appears.
    pub fn points<'e>(&'e self, family: &Family<'a>) -> Vec<Point<'e, 'a>> {
        let mut points: Vec<Point<'e, 'a>> = Vec::new();
        let mut index: HashMap<Vec<(&'e str, &'e str)>, usize> = HashMap::new();
        for sample in self.samples(family) {
            let labels = self.labels(sample);
            let own = || {
                labels
                    .iter()
                    .filter(|l| !is_point_label(family.kind, sample.suffix, l.name))
            };
            // A point's samples are usually adjacent: compare with the last point before
            // building a key to look up.
            let same_as_last = points.last().is_some_and(|p| {
                p.labels.len() == own().count() && p.labels.iter().copied().eq(own())
            });
            let at = if same_as_last {
                points.len() - 1
            } else {
                let key: Vec<(&str, &str)> = own().map(|l| (l.name, l.value.as_ref())).collect();
                match index.get(&key) {
                    Some(&at) => at,
                    None => {
                        index.insert(key, points.len());
                        points.push(Point {
                            labels: own().collect(),
                            ..Point::default()
                        });
                        points.len() - 1
                    }
                }
            };
            let point = &mut points[at];
            let label = |name: &str| {
                labels
                    .iter()
                    .find(|l| l.name == name)
                    .and_then(|l| number(&l.value))
            };
            match (family.kind, sample.suffix) {
                (MetricType::Histogram | MetricType::GaugeHistogram, Suffix::Bucket) => {
                    // The parser refused buckets without a numeric `le`.
                    let upper_bound = label("le").unwrap_or(f64::NAN);
                    point.buckets.push(Bucket {
                        upper_bound,
                        count: sample.value,
                        exemplar: sample.exemplar.as_ref(),
                    });
                }
                (MetricType::Summary, Suffix::None) => {
                    let q = label("quantile").unwrap_or(f64::NAN);
                    point.quantiles.push((q, sample.value));
                }
                (_, Suffix::Sum | Suffix::GSum) => point.sum = Some(sample.value),
                (_, Suffix::Count | Suffix::GCount) => point.count = Some(sample.value),
                (_, Suffix::Created) => point.created = Some(sample.value),
                _ => {
                    point.value = Some(sample.value);
                    if point.exemplar.is_none() {
                        point.exemplar = sample.exemplar.as_ref();
                    }
                }
            }
            point.timestamp_ms = point.timestamp_ms.max(sample.timestamp_ms);
        }
        points
    }
}

fn is_point_label(kind: MetricType, suffix: Suffix, name: &str) -> bool {
    match kind {
        MetricType::Histogram | MetricType::GaugeHistogram => {
            suffix == Suffix::Bucket && name == "le"
        }
        MetricType::Summary => suffix == Suffix::None && name == "quantile",
        _ => false,
    }
}
