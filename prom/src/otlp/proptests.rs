//! Any sequence of appends, over several scrapes, never panics, and what `finish` gives
//! encodes, decodes to itself, and keeps OTLP's invariants.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, metric};
use proptest::prelude::*;
use prost::Message;

use super::{Converter, ExemplarRef, FamilyRef, Options, StartTime};
use crate::{MetricType, stale_nan};

const KINDS: [MetricType; 8] = [
    MetricType::Counter,
    MetricType::Gauge,
    MetricType::Histogram,
    MetricType::GaugeHistogram,
    MetricType::Summary,
    MetricType::Info,
    MetricType::StateSet,
    MetricType::Unknown,
];
const FAMILIES: [&str; 4] = ["a", "b_total", "target", "otel_scope"];
const SUFFIXES: [&str; 9] = [
    "", "_total", "_bucket", "_sum", "_count", "_created", "_info", "_gsum", "_x",
];
const NAMES: [&str; 8] = [
    "job",
    "instance",
    "le",
    "quantile",
    "k",
    "otel_scope_name",
    "otel_scope_x",
    "trace_id",
];
const VALUES: [&str; 9] = [
    "",
    "1",
    "0.5",
    "+Inf",
    "NaN",
    "x",
    "api",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "-1",
];

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(stale_nan()),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-1.0),
        Just(0.0),
        Just(1e300),
        0.0..1e6f64,
    ]
}

#[derive(Debug, Clone)]
struct Append {
    kind: usize,
    family: usize,
    suffix: usize,
    labels: Vec<(usize, usize)>,
    value: f64,
    timestamp_ms: i64,
    exemplar: Option<Vec<(usize, usize)>>,
}

fn append() -> impl Strategy<Value = Append> {
    let labels = || proptest::collection::vec((0..NAMES.len(), 0..VALUES.len()), 0..4);
    (
        0..KINDS.len(),
        0..FAMILIES.len(),
        0..SUFFIXES.len(),
        labels(),
        value(),
        prop_oneof![
            Just(1_700_000_000_000i64),
            Just(-5),
            Just(i64::MAX),
            0..3i64
        ],
        proptest::option::of(labels()),
    )
        .prop_map(
            |(kind, family, suffix, labels, value, timestamp_ms, exemplar)| Append {
                kind,
                family,
                suffix,
                labels,
                value,
                timestamp_ms,
                exemplar,
            },
        )
}

fn check(out: &[ResourceMetrics]) {
    let request = ExportMetricsServiceRequest {
        resource_metrics: out.to_vec(),
    };
    let back = ExportMetricsServiceRequest::decode(request.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back.resource_metrics.len(), out.len());
    for rm in out {
        assert!(!rm.scope_metrics.is_empty());
        for sm in &rm.scope_metrics {
            assert!(!sm.metrics.is_empty());
            for m in &sm.metrics {
                match m.data.as_ref().expect("data") {
                    metric::Data::Gauge(g) => {
                        assert!(!g.data_points.is_empty());
                        assert!(g.data_points.iter().all(|p| p.start_time_unix_nano == 0));
                    }
                    metric::Data::Sum(s) => assert!(!s.data_points.is_empty()),
                    metric::Data::Histogram(h) => {
                        for p in &h.data_points {
                            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
                            assert!(p.explicit_bounds.windows(2).all(|w| w[0] < w[1]));
                            assert!(
                                p.explicit_bounds
                                    .iter()
                                    .all(|b| b.is_finite() || *b == f64::NEG_INFINITY)
                            );
                            if p.flags == 0 {
                                assert!(
                                    p.bucket_counts
                                        .iter()
                                        .fold(0u64, |a, b| a.saturating_add(*b))
                                        <= p.count
                                );
                            }
                        }
                    }
                    metric::Data::Summary(s) => assert!(!s.data_points.is_empty()),
                    metric::Data::ExponentialHistogram(_) => panic!("never made"),
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_appends_never_panic_and_finish_is_valid_otlp(
        scrapes in proptest::collection::vec(proptest::collection::vec(append(), 0..40), 1..4),
        unset in any::<bool>(),
    ) {
        let mut c = Converter::new(Options {
            start_time: if unset { StartTime::Unset } else { StartTime::TrueResetPoint },
            gc_interval_ms: 1,
            ..Options::default()
        });
        for (i, appends) in scrapes.iter().enumerate() {
            let mut s = c.begin("http", i as i64 * 1000);
            for a in appends {
                let name = format!("{}{}", FAMILIES[a.family], SUFFIXES[a.suffix]);
                let labels: Vec<(&str, &str)> = a.labels.iter().map(|&(n, v)| (NAMES[n], VALUES[v])).collect();
                let ex_labels: Vec<(&str, &str)> = a.exemplar.iter().flatten().map(|&(n, v)| (NAMES[n], VALUES[v])).collect();
                let exemplar = a.exemplar.as_ref().map(|_| ExemplarRef { labels: &ex_labels, value: a.value, timestamp_ms: None });
                let family = FamilyRef { name: FAMILIES[a.family], kind: KINDS[a.kind], help: Some("h"), unit: Some("seconds") };
                s.append(&family, &name, &labels, a.value, a.timestamp_ms, exemplar.as_ref());
            }
            check(&s.finish());
        }
    }
}
