//! Accumulation: naming and labels of series, delta to cumulative, resets, staleness,
//! expiration, type conflicts.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar as OtlpExemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::*;

pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

pub(crate) fn settings() -> Settings {
    Settings {
        namer: Namer::new("", true),
        without_scope_info: true,
        resource_to_telemetry: ResourceToTelemetry::default(),
        const_labels: BTreeMap::new(),
        expiration: Duration::from_secs(300),
    }
}

pub(crate) fn request(
    resource: Vec<KeyValue>,
    metrics: Vec<Metric>,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "meter".into(),
                    version: "1.2".into(),
                    attributes: vec![kv("lib.kind", "http")],
                    ..Default::default()
                }),
                metrics,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: String::new(),
        }],
    }
}

pub(crate) fn point(
    attributes: Vec<KeyValue>,
    start: u64,
    time: u64,
    value: f64,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

pub(crate) fn sum(
    name: &str,
    unit: &str,
    monotonic: bool,
    delta: bool,
    points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: if delta {
                AggregationTemporality::Delta as i32
            } else {
                AggregationTemporality::Cumulative as i32
            },
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

pub(crate) fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

pub(crate) fn histogram_point(
    start: u64,
    time: u64,
    bounds: &[f64],
    counts: &[u64],
    sum: f64,
) -> HistogramDataPoint {
    HistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: counts.iter().sum(),
        sum: Some(sum),
        bucket_counts: counts.to_vec(),
        explicit_bounds: bounds.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn histogram(name: &str, delta: bool, points: Vec<HistogramDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: "s".into(),
        description: String::new(),
        data: Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: if delta {
                AggregationTemporality::Delta as i32
            } else {
                AggregationTemporality::Cumulative as i32
            },
        })),
        ..Default::default()
    }
}

fn at(base: Instant, secs: u64) -> Instant {
    base + Duration::from_secs(secs)
}

fn only_series<'a>(acc: &'a Accumulator, family: &str) -> (&'a str, &'a Series) {
    let family = acc.families().get(family).unwrap_or_else(|| {
        panic!(
            "no family {family}: {:?}",
            acc.families().keys().collect::<Vec<_>>()
        )
    });
    assert_eq!(
        family.series.len(),
        1,
        "{:?}",
        family.series.keys().collect::<Vec<_>>()
    );
    let (labels, series) = family.series.iter().next().unwrap();
    (labels, series)
}

#[test]
fn series_labels_carry_attributes_scope_job_instance_and_const_labels() {
    let mut settings = settings();
    settings.without_scope_info = false;
    settings.const_labels.insert("region".into(), "eu".into());
    let mut acc = Accumulator::new(settings);
    let resource = vec![
        kv("service.name", "checkout"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "pod-1"),
        kv("host.name", "node-7"),
    ];
    let attrs = vec![
        kv("http.method", "GET"),
        kv("http_method", "POST"),
        kv("q", "a\"b\\c\nd"),
    ];
    let now = Instant::now();
    acc.accumulate(
        &request(
            resource,
            vec![sum(
                "http.requests",
                "{request}",
                true,
                false,
                vec![point(attrs, 1, 2, 3.0)],
            )],
        ),
        now,
    );
    let (labels, series) = only_series(&acc, "http_requests_total");
    assert_eq!(
        labels,
        labels_of(&[
            ("http_method", "GET;POST"),
            ("instance", "pod-1"),
            ("job", "shop/checkout"),
            ("otel_scope_lib_kind", "http"),
            ("otel_scope_name", "meter"),
            (
                "otel_scope_schema_url",
                "https://opentelemetry.io/schemas/1.26.0"
            ),
            ("otel_scope_version", "1.2"),
            ("q", "a\"b\\c\nd"),
            ("region", "eu"),
        ])
    );
    assert!(labels.contains(r#"q="a\"b\\c\nd""#), "{labels}");
    assert_eq!(series.value, Value::Number(3.0));
    let targets: Vec<&str> = acc.targets().collect();
    assert_eq!(
        targets,
        [labels_of(&[
            ("host_name", "node-7"),
            ("instance", "pod-1"),
            ("job", "shop/checkout")
        ])
        .as_str()]
    );
}

#[test]
fn resource_to_telemetry_copies_resource_attributes() {
    let mut settings = settings();
    settings.resource_to_telemetry = ResourceToTelemetry {
        enabled: true,
        exclude_service_attributes: true,
    };
    let mut acc = Accumulator::new(settings);
    let resource = vec![kv("service.name", "api"), kv("k8s.pod.name", "p1")];
    acc.accumulate(
        &request(
            resource,
            vec![gauge(
                "temp",
                "Cel",
                vec![point(vec![kv("k8s.pod.name", "mine")], 0, 5, 21.5)],
            )],
        ),
        Instant::now(),
    );
    let (labels, _) = only_series(&acc, "temp_celsius");
    // The resource's value wins over the point's, as otelcol's conversion overwrites it.
    assert_eq!(labels, labels_of(&[("job", "api"), ("k8s_pod_name", "p1")]));
}

#[test]
fn no_job_or_instance_means_no_target_info() {
    let mut acc = Accumulator::new(settings());
    acc.accumulate(
        &request(
            vec![kv("host.name", "h")],
            vec![gauge("g", "", vec![point(vec![], 0, 1, 1.0)])],
        ),
        Instant::now(),
    );
    assert_eq!(acc.targets().count(), 0);
    assert_eq!(acc.series_count(), 1);
}

/// Folds one point of a delta (or cumulative) monotonic sum `c` and returns its series.
fn fold_sum(acc: &mut Accumulator, delta: bool, (start, time, value): (u64, u64, f64)) -> &Series {
    let metric = sum(
        "c",
        "",
        true,
        delta,
        vec![point(vec![], start, time, value)],
    );
    acc.accumulate(&request(vec![], vec![metric]), Instant::now());
    only_series(acc, "c_total").1
}

#[test]
fn delta_sums_become_cumulative_from_the_first_start() {
    let mut acc = Accumulator::new(settings());
    fold_sum(&mut acc, true, (10, 20, 1.0));
    fold_sum(&mut acc, true, (20, 30, 2.0));
    let series = fold_sum(&mut acc, true, (30, 40, 4.0));
    assert_eq!(series.value, Value::Number(7.0));
    assert_eq!((series.start_unix_nano, series.time_unix_nano), (10, 40));
    // A later start than the last point's time: a restart; the count starts again.
    let series = fold_sum(&mut acc, true, (100, 110, 5.0));
    assert_eq!(series.value, Value::Number(5.0));
    assert_eq!(series.start_unix_nano, 100);
    // An earlier start (a second writer of the same series) is dropped.
    let series = fold_sum(&mut acc, true, (50, 120, 9.0));
    assert_eq!(series.value, Value::Number(5.0));
}

#[test]
fn cumulative_points_replace_unless_older() {
    let mut acc = Accumulator::new(settings());
    fold_sum(&mut acc, false, (1, 20, 5.0));
    assert_eq!(
        fold_sum(&mut acc, false, (1, 10, 3.0)).value,
        Value::Number(5.0)
    );
    assert_eq!(
        fold_sum(&mut acc, false, (1, 30, 8.0)).value,
        Value::Number(8.0)
    );
}

#[test]
fn non_monotonic_sums_are_gauges_and_their_deltas_are_dropped() {
    let mut acc = Accumulator::new(settings());
    let now = Instant::now();
    acc.accumulate(
        &request(
            vec![],
            vec![sum(
                "queue.size",
                "1",
                false,
                false,
                vec![point(vec![], 0, 1, 4.0)],
            )],
        ),
        now,
    );
    let family = &acc.families()["queue_size"];
    assert_eq!(family.kind, Kind::Gauge);
    acc.accumulate(
        &request(
            vec![],
            vec![sum(
                "updown",
                "",
                false,
                true,
                vec![point(vec![], 0, 1, 4.0)],
            )],
        ),
        now,
    );
    assert!(!acc.families().contains_key("updown"));
}

#[test]
fn no_recorded_value_removes_the_series() {
    let mut acc = Accumulator::new(settings());
    let now = Instant::now();
    acc.accumulate(
        &request(vec![], vec![gauge("g", "", vec![point(vec![], 0, 1, 1.0)])]),
        now,
    );
    let mut stale = point(vec![], 0, 2, 0.0);
    stale.flags = NO_RECORDED_VALUE;
    stale.value = None;
    acc.accumulate(&request(vec![], vec![gauge("g", "", vec![stale])]), now);
    assert_eq!(acc.series_count(), 0);
}

#[test]
fn delta_histograms_add_aligned_points_and_take_new_bounds_whole() {
    let mut acc = Accumulator::new(settings());
    let now = Instant::now();
    let bounds = [0.1, 1.0];
    acc.accumulate(
        &request(
            vec![],
            vec![histogram(
                "lat",
                true,
                vec![histogram_point(0, 10, &bounds, &[1, 2, 3], 5.0)],
            )],
        ),
        now,
    );
    acc.accumulate(
        &request(
            vec![],
            vec![histogram(
                "lat",
                true,
                vec![histogram_point(10, 20, &bounds, &[1, 0, 1], 2.5)],
            )],
        ),
        now,
    );
    let (_, series) = only_series(&acc, "lat_seconds");
    assert_eq!(
        series.value,
        Value::Histogram {
            bounds: bounds.to_vec(),
            counts: vec![2, 2, 4],
            sum: 7.5,
            count: 8
        }
    );
    // Misaligned and overlapping: dropped.
    acc.accumulate(
        &request(
            vec![],
            vec![histogram(
                "lat",
                true,
                vec![histogram_point(5, 25, &bounds, &[9, 9, 9], 1.0)],
            )],
        ),
        now,
    );
    assert_eq!(only_series(&acc, "lat_seconds").1.time_unix_nano, 20);
    // Aligned with other bounds: the new point as it is.
    acc.accumulate(
        &request(
            vec![],
            vec![histogram(
                "lat",
                true,
                vec![histogram_point(20, 30, &[5.0], &[1, 1], 6.0)],
            )],
        ),
        now,
    );
    assert_eq!(
        only_series(&acc, "lat_seconds").1.value,
        Value::Histogram {
            bounds: vec![5.0],
            counts: vec![1, 1],
            sum: 6.0,
            count: 2
        }
    );
}

#[test]
fn histograms_with_bad_buckets_are_dropped_without_panicking() {
    let mut acc = Accumulator::new(settings());
    let now = Instant::now();
    let bad = vec![
        histogram_point(0, 1, &[1.0, 2.0], &[1, 2], 1.0),
        histogram_point(0, 1, &[2.0, 1.0], &[1, 2, 3], 1.0),
        histogram_point(0, 1, &[f64::NAN], &[1, 2], 1.0),
    ];
    acc.accumulate(&request(vec![], vec![histogram("h", false, bad)]), now);
    assert_eq!(acc.series_count(), 0);
}

/// An exponential histogram `size` (bytes) with one cumulative point of count 7, sum 70.
pub(crate) fn exponential() -> Metric {
    Metric {
        name: "size".into(),
        unit: "By".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                time_unix_nano: 5,
                count: 7,
                sum: Some(70.0),
                scale: 2,
                zero_count: 1,
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    }
}

/// A summary `rpc.latency` (ms) with quantiles 0.5 and 0.99, count 4, sum 10.
pub(crate) fn summary() -> Metric {
    Metric {
        name: "rpc.latency".into(),
        unit: "ms".into(),
        description: "RPC \"latency\"\nper call".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: 2_000_000_000,
                count: 4,
                sum: 10.0,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 2.0,
                    },
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 4.0,
                    },
                ],
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

#[test]
fn exponential_histograms_keep_count_and_sum() {
    let mut acc = Accumulator::new(settings());
    acc.accumulate(&request(vec![], vec![exponential()]), Instant::now());
    assert_eq!(
        only_series(&acc, "size_bytes").1.value,
        Value::Histogram {
            bounds: vec![],
            counts: vec![7],
            sum: 70.0,
            count: 7
        }
    );
}

#[test]
fn summaries_keep_quantiles() {
    let mut acc = Accumulator::new(settings());
    acc.accumulate(&request(vec![], vec![summary()]), Instant::now());
    let family = &acc.families()["rpc_latency_milliseconds"];
    assert_eq!(family.kind, Kind::Summary);
    assert_eq!(
        only_series(&acc, "rpc_latency_milliseconds").1.value,
        Value::Summary {
            quantiles: vec![(0.5, 2.0), (0.99, 4.0)],
            sum: 10.0,
            count: 4
        }
    );
}

#[test]
fn a_second_type_under_one_name_is_skipped() {
    let mut acc = Accumulator::new(settings());
    let now = Instant::now();
    acc.accumulate(
        &request(
            vec![],
            vec![gauge("x_total", "", vec![point(vec![], 0, 1, 1.0)])],
        ),
        now,
    );
    acc.accumulate(
        &request(
            vec![],
            vec![sum(
                "x",
                "",
                true,
                false,
                vec![point(vec![kv("a", "b")], 0, 1, 2.0)],
            )],
        ),
        now,
    );
    let family = &acc.families()["x_total"];
    assert_eq!(family.kind, Kind::Gauge);
    assert_eq!(family.series.len(), 1);
}

#[test]
fn unnameable_metrics_are_dropped() {
    let mut acc = Accumulator::new(settings());
    acc.accumulate(
        &request(
            vec![],
            vec![gauge("...", "", vec![point(vec![], 0, 1, 1.0)])],
        ),
        Instant::now(),
    );
    assert_eq!(acc.series_count(), 0);
}

#[test]
fn exemplars_are_kept_for_counters_and_histograms() {
    let mut acc = Accumulator::new(settings());
    let mut p = point(vec![], 0, 1, 1.0);
    p.exemplars = vec![OtlpExemplar {
        time_unix_nano: 1_500_000_000,
        trace_id: vec![0xab; 16],
        span_id: vec![0x01; 8],
        value: Some(exemplar::Value::AsDouble(0.5)),
        ..Default::default()
    }];
    acc.accumulate(
        &request(vec![], vec![sum("c", "", true, false, vec![p.clone()])]),
        Instant::now(),
    );
    let (_, series) = only_series(&acc, "c_total");
    assert_eq!(series.exemplars.len(), 1);
    assert_eq!(
        series.exemplars[0].labels,
        format!(
            r#"span_id="{}",trace_id="{}""#,
            "01".repeat(8),
            "ab".repeat(16)
        )
    );
    acc.accumulate(
        &request(vec![], vec![gauge("g", "", vec![p])]),
        Instant::now(),
    );
    assert!(only_series(&acc, "g").1.exemplars.is_empty());
}

#[tokio::test(start_paused = true)]
async fn series_expire_and_take_their_target_info_with_them() {
    let mut settings = settings();
    settings.expiration = Duration::from_secs(60);
    let mut acc = Accumulator::new(settings);
    let base = Instant::now();
    let resource = vec![kv("service.name", "a")];
    acc.accumulate(
        &request(
            resource.clone(),
            vec![gauge("old", "", vec![point(vec![], 0, 1, 1.0)])],
        ),
        base,
    );
    acc.accumulate(
        &request(
            vec![kv("service.name", "b")],
            vec![gauge("new", "", vec![point(vec![], 0, 1, 1.0)])],
        ),
        at(base, 50),
    );
    acc.sweep(at(base, 59));
    assert_eq!(acc.series_count(), 2);
    assert_eq!(acc.targets().count(), 2);
    acc.sweep(at(base, 61));
    assert_eq!(acc.families().keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(
        acc.targets().collect::<Vec<_>>(),
        [labels_of(&[("job", "b")]).as_str()]
    );
    // Updating a series keeps it alive.
    acc.accumulate(
        &request(
            vec![kv("service.name", "b")],
            vec![gauge("new", "", vec![point(vec![], 0, 2, 1.0)])],
        ),
        at(base, 100),
    );
    acc.sweep(at(base, 140));
    assert_eq!(acc.series_count(), 1);
    acc.sweep(at(base, 161));
    assert_eq!(acc.series_count(), 0);
    assert_eq!(acc.targets().count(), 0);
}

#[test]
fn exports_sweep_without_scrapes() {
    let mut settings = settings();
    settings.expiration = Duration::from_secs(10);
    let mut acc = Accumulator::new(settings);
    let base = Instant::now();
    for i in 0..100u64 {
        let name = format!("m{i}");
        acc.accumulate(
            &request(
                vec![],
                vec![gauge(&name, "", vec![point(vec![], 0, 1, 1.0)])],
            ),
            at(base, i),
        );
        // Only what was updated within the expiration (plus one sweep interval) is held.
        assert!(
            acc.series_count() <= 12,
            "{} series at {i}s",
            acc.series_count()
        );
    }
}
