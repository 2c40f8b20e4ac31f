//! Conversion of each metric type, names, labels, `target_info`, staleness, exemplars,
//! sample order and request splitting.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar as OtlpExemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Metric, Summary,
    SummaryDataPoint, exemplar,
};
use prost::Message;

use super::convert::{Converted, DropReason, SeriesIndex, Settings, convert};
use super::prompb::{Label, STALE_NAN, TimeSeries, WriteRequest};
use super::request::{encode, split};
use crate::prometheus::accumulator::tests::{
    gauge, histogram, histogram_point, kv, point, request, sum,
};
use crate::prometheus::naming::Namer;

const SECOND: u64 = 1_000_000_000;

fn settings() -> Settings {
    Settings {
        namer: Namer::new("", true),
        external_labels: BTreeMap::new(),
        resource_to_telemetry: false,
        target_info: false,
        send_metadata: false,
    }
}

fn service() -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    vec![
        kv("service.name", "api"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "pod-1"),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("labels are UTF-8")
}

/// `name{a="x",...}` for each series, sorted, with its samples as (value, ms).
fn render(series: &[TimeSeries]) -> BTreeMap<String, Vec<(f64, i64)>> {
    series
        .iter()
        .map(|s| {
            let name = s
                .labels
                .iter()
                .find(|l| l.name == "__name__")
                .map(|l| text(&l.value))
                .unwrap_or_default();
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|l| l.name != "__name__")
                .map(|l| format!("{}=\"{}\"", text(&l.name), text(&l.value)))
                .collect();
            (
                format!("{name}{{{}}}", labels.join(",")),
                s.samples.iter().map(|p| (p.value, p.timestamp)).collect(),
            )
        })
        .collect()
}

fn converted(request: &ExportMetricsServiceRequest, settings: &Settings) -> Converted {
    let converted = convert(request, settings);
    for series in &converted.series {
        let names: Vec<String> = series.labels.iter().map(|l| text(&l.name)).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "labels sorted and unique");
    }
    converted
}

#[test]
fn gauges_keep_their_labels_with_job_and_instance() {
    let req = request(
        service(),
        vec![gauge(
            "queue.depth",
            "{item}",
            vec![point(
                vec![kv("queue-name", "a")],
                0,
                5 * SECOND + 7_000_000,
                3.5,
            )],
        )],
    );
    let out = render(&converted(&req, &settings()).series);
    assert_eq!(
        out,
        BTreeMap::from([(
            r#"queue_depth{instance="pod-1",job="shop/api",queue_name="a"}"#.to_string(),
            vec![(3.5, 5007)]
        )])
    );
}

#[test]
fn sums_are_counters_when_monotonic_and_gauges_otherwise() {
    let req = request(
        vec![kv("service.name", "api")],
        vec![
            sum(
                "http.sent",
                "By",
                true,
                false,
                vec![point(vec![], 0, SECOND, 10.0)],
            ),
            sum(
                "active",
                "{request}",
                false,
                false,
                vec![point(vec![], 0, SECOND, -2.0)],
            ),
            sum(
                "delta.count",
                "1",
                true,
                true,
                vec![point(vec![], 0, SECOND, 1.0)],
            ),
            sum(
                "delta.updown",
                "1",
                false,
                true,
                vec![point(vec![], 0, SECOND, 1.0)],
            ),
        ],
    );
    let converted = converted(&req, &settings());
    let out = render(&converted.series);
    assert_eq!(
        out,
        BTreeMap::from([
            (
                r#"http_sent_bytes_total{job="api"}"#.to_string(),
                vec![(10.0, 1000)]
            ),
            (r#"active{job="api"}"#.to_string(), vec![(-2.0, 1000)]),
        ])
    );
    assert_eq!(
        converted.dropped,
        BTreeMap::from([(DropReason::NotCumulative, 2)])
    );
}

#[test]
fn histograms_become_cumulative_buckets_with_sum_and_count() {
    let mut p = histogram_point(0, 2 * SECOND, &[0.1, 0.5, 1.0], &[2, 3, 0, 1], 2.25);
    p.exemplars = vec![OtlpExemplar {
        time_unix_nano: SECOND,
        value: Some(exemplar::Value::AsDouble(0.3)),
        trace_id: vec![0xab; 16],
        span_id: vec![0x01, 0x02, 0, 0, 0, 0, 0, 0xff],
        ..Default::default()
    }];
    let req = request(vec![], vec![histogram("rpc.duration", false, vec![p])]);
    let converted = converted(&req, &settings());
    let out = render(&converted.series);
    let expected: BTreeMap<String, Vec<(f64, i64)>> = [
        (r#"rpc_duration_seconds_bucket{le="0.1"}"#, 2.0),
        (r#"rpc_duration_seconds_bucket{le="0.5"}"#, 5.0),
        (r#"rpc_duration_seconds_bucket{le="1"}"#, 5.0),
        (r#"rpc_duration_seconds_bucket{le="+Inf"}"#, 6.0),
        (r#"rpc_duration_seconds_sum{}"#, 2.25),
        (r#"rpc_duration_seconds_count{}"#, 6.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), vec![(v, 2000)]))
    .collect();
    assert_eq!(out, expected);
    // The exemplar (0.3) is in the `le="0.5"` bucket, with its ids in hex.
    let with_exemplar: Vec<&TimeSeries> = converted
        .series
        .iter()
        .filter(|s| !s.exemplars.is_empty())
        .collect();
    assert_eq!(with_exemplar.len(), 1);
    assert!(
        with_exemplar[0]
            .labels
            .iter()
            .any(|l| l.name == "le" && l.value == "0.5")
    );
    let e = &with_exemplar[0].exemplars[0];
    assert_eq!((e.value, e.timestamp), (0.3, 1000));
    let labels: Vec<(String, String)> = e
        .labels
        .iter()
        .map(|l| (text(&l.name), text(&l.value)))
        .collect();
    assert_eq!(
        labels,
        [
            ("span_id".to_string(), "01020000000000ff".to_string()),
            (
                "trace_id".to_string(),
                "abababababababababababababababab".to_string()
            )
        ]
    );
}

#[test]
fn histograms_without_buckets_or_sum_still_count_and_bad_buckets_are_dropped() {
    let mut no_sum = histogram_point(0, SECOND, &[], &[], 0.0);
    no_sum.sum = None;
    no_sum.count = 4;
    let bad = histogram_point(0, SECOND, &[1.0, 0.5], &[1, 1, 1], 1.0);
    let req = request(
        vec![],
        vec![
            histogram("plain", false, vec![no_sum]),
            histogram("bad", false, vec![bad]),
            histogram(
                "delta",
                true,
                vec![histogram_point(0, SECOND, &[1.0], &[1, 1], 1.0)],
            ),
        ],
    );
    let converted = converted(&req, &settings());
    assert_eq!(
        render(&converted.series),
        BTreeMap::from([
            (
                r#"plain_seconds_bucket{le="+Inf"}"#.to_string(),
                vec![(4.0, 1000)]
            ),
            (r#"plain_seconds_count{}"#.to_string(), vec![(4.0, 1000)]),
        ])
    );
    assert_eq!(
        converted.dropped,
        BTreeMap::from([
            (DropReason::NotCumulative, 1),
            (DropReason::InvalidBuckets, 1)
        ])
    );
}

fn summary(name: &str, points: Vec<SummaryDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: "ms".into(),
        data: Some(Data::Summary(Summary {
            data_points: points,
        })),
        ..Default::default()
    }
}

#[test]
fn summaries_become_quantiles_sum_and_count() {
    let point = SummaryDataPoint {
        time_unix_nano: 3 * SECOND,
        count: 10,
        sum: 42.0,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 3.0,
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 9.0,
            },
        ],
        attributes: vec![kv("route", "/a")],
        ..Default::default()
    };
    let req = request(vec![], vec![summary("latency", vec![point])]);
    let out = render(&converted(&req, &settings()).series);
    let expected: BTreeMap<String, Vec<(f64, i64)>> = [
        (r#"latency_milliseconds{quantile="0.5",route="/a"}"#, 3.0),
        (r#"latency_milliseconds{quantile="0.99",route="/a"}"#, 9.0),
        (r#"latency_milliseconds_sum{route="/a"}"#, 42.0),
        (r#"latency_milliseconds_count{route="/a"}"#, 10.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), vec![(v, 3000)]))
    .collect();
    assert_eq!(out, expected);
}

#[test]
fn exponential_histograms_are_dropped_and_counted() {
    let metric = Metric {
        name: "exp".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint::default(); 3],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let converted = converted(&request(vec![], vec![metric]), &settings());
    assert!(converted.series.is_empty());
    assert_eq!(
        converted.dropped,
        BTreeMap::from([(DropReason::ExponentialHistogram, 3)])
    );
}

#[test]
fn namespace_and_suffixes_follow_the_settings() {
    let req = request(
        vec![],
        vec![sum(
            "http.sent",
            "By",
            true,
            false,
            vec![point(vec![], 0, SECOND, 1.0)],
        )],
    );
    let mut s = settings();
    s.namer = Namer::new("edge", true);
    assert!(render(&converted(&req, &s).series).contains_key("edge_http_sent_bytes_total{}"));
    s.namer = Namer::new("edge", false);
    assert!(render(&converted(&req, &s).series).contains_key("edge_http_sent{}"));
    let nameless = request(
        vec![],
        vec![gauge("...", "", vec![point(vec![], 0, 1, 1.0)])],
    );
    assert_eq!(
        converted(&nameless, &settings()).dropped,
        BTreeMap::from([(DropReason::InvalidName, 1)])
    );
}

#[test]
fn external_labels_are_added_unless_the_point_has_the_label() {
    let req = request(
        vec![],
        vec![gauge(
            "g",
            "",
            vec![point(vec![kv("region", "us")], 0, SECOND, 1.0)],
        )],
    );
    let mut s = settings();
    s.external_labels = BTreeMap::from([
        ("region".to_string(), "eu".to_string()),
        ("cluster".to_string(), "c1".to_string()),
    ]);
    assert_eq!(
        render(&converted(&req, &s).series)
            .into_keys()
            .collect::<Vec<_>>(),
        [r#"g{cluster="c1",region="us"}"#]
    );
}

#[test]
fn resource_attributes_become_labels_when_converted() {
    let mut resource = service();
    resource.push(kv("host.name", "box"));
    let req = request(
        resource,
        vec![gauge(
            "g",
            "",
            vec![point(vec![kv("host.name", "point")], 0, SECOND, 1.0)],
        )],
    );
    let mut s = settings();
    s.resource_to_telemetry = true;
    assert_eq!(
        render(&converted(&req, &s).series)
            .into_keys()
            .collect::<Vec<_>>(),
        [
            r#"g{host_name="box",instance="pod-1",job="shop/api",service_instance_id="pod-1",service_name="api",service_namespace="shop"}"#
        ]
    );
}

#[test]
fn target_info_carries_the_other_resource_attributes() {
    let mut resource = service();
    resource.push(kv("host.name", "box"));
    let req = request(
        resource,
        vec![
            gauge("g", "", vec![point(vec![], 0, SECOND, 1.0)]),
            gauge("h", "", vec![point(vec![], 0, 4 * SECOND, 1.0)]),
        ],
    );
    let mut s = settings();
    s.target_info = true;
    s.namer = Namer::new("ns", true);
    let out = render(&converted(&req, &s).series);
    assert_eq!(
        out.get(r#"ns_target_info{host_name="box",instance="pod-1",job="shop/api"}"#),
        Some(&vec![(1.0, 4000)]),
        "{out:?}"
    );
    // Only service attributes: nothing to say beyond job and instance.
    let bare = request(
        service(),
        vec![gauge("g", "", vec![point(vec![], 0, SECOND, 1.0)])],
    );
    assert_eq!(converted(&bare, &s).series.len(), 1);
    s.target_info = false;
    assert_eq!(converted(&req, &s).series.len(), 2);
}

#[test]
fn no_recorded_value_is_the_staleness_marker() {
    let mut stale = point(vec![], 0, SECOND, 0.0);
    stale.flags = 1;
    stale.value = None;
    let mut h = histogram_point(0, SECOND, &[1.0], &[1, 2], 5.0);
    h.flags = 1;
    let req = request(
        vec![],
        vec![gauge("g", "", vec![stale]), histogram("h", false, vec![h])],
    );
    let converted = converted(&req, &settings());
    assert_eq!(converted.series.len(), 5);
    for series in &converted.series {
        assert_eq!(series.samples[0].value.to_bits(), STALE_NAN);
    }
}

#[test]
fn samples_of_a_series_are_in_timestamp_order_without_duplicates() {
    let req = request(
        vec![],
        vec![
            gauge(
                "g",
                "",
                vec![
                    point(vec![], 0, 3 * SECOND, 3.0),
                    point(vec![], 0, SECOND, 1.0),
                ],
            ),
            gauge(
                "g",
                "",
                vec![
                    point(vec![], 0, 2 * SECOND, 2.0),
                    point(vec![], 0, SECOND, 1.5),
                ],
            ),
        ],
    );
    let out = render(&converted(&req, &settings()).series);
    assert_eq!(out["g{}"], [(1.5, 1000), (2.0, 2000), (3.0, 3000)]);
}

#[test]
fn points_without_values_are_dropped_and_nothing_panics() {
    let mut empty = point(vec![kv("", "x"), kv("9lives", "y")], 0, u64::MAX, 0.0);
    empty.value = None;
    let odd = point(
        vec![kv("_x", "1"), kv("a.b", "1"), kv("a_b", "2")],
        0,
        u64::MAX,
        f64::NAN,
    );
    let req = request(
        vec![kv("service.name", "")],
        vec![gauge("g", "", vec![empty, odd]), Metric::default()],
    );
    let converted = converted(&req, &settings());
    assert_eq!(
        converted.dropped,
        BTreeMap::from([(DropReason::NoValue, 1)])
    );
    let out = render(&converted.series);
    assert_eq!(
        out.keys().collect::<Vec<_>>(),
        [r#"g{a_b="1;2",key_x="1"}"#],
        "colliding keys joined in key order; empty job left out"
    );
}

#[test]
fn metadata_is_sent_once_per_family_when_asked() {
    let req = request(
        vec![],
        vec![
            sum("c", "", true, false, vec![point(vec![], 0, SECOND, 1.0)]),
            histogram(
                "h",
                false,
                vec![histogram_point(0, SECOND, &[1.0], &[1, 1], 1.0)],
            ),
        ],
    );
    assert!(converted(&req, &settings()).metadata.is_empty());
    let mut s = settings();
    s.send_metadata = true;
    let metadata: Vec<(String, i32, String, String)> = converted(&req, &s)
        .metadata
        .into_iter()
        .map(|m| (m.metric_family_name, m.r#type, m.help, m.unit))
        .collect();
    assert_eq!(
        metadata,
        [
            (
                "c_total".to_string(),
                1,
                "c help".to_string(),
                String::new()
            ),
            ("h_seconds".to_string(), 3, String::new(), "s".to_string()),
        ]
    );
}

#[test]
fn requests_are_split_under_the_size_limit_without_splitting_a_series() {
    let points = (0..200)
        .map(|i| {
            point(
                vec![kv("i", &format!("{i:03}"))],
                0,
                SECOND,
                1.0 + f64::from(i),
            )
        })
        .collect();
    let req = request(vec![], vec![gauge("g", "", points)]);
    let converted = converted(&req, &settings());
    let one = converted.series[0].encoded_len() + 2;
    let max = one * 10 + one / 2;
    let requests = split(converted.series.clone(), Vec::new(), max);
    assert_eq!(requests.len(), 20);
    let mut seen = 0;
    for r in &requests {
        assert!(r.encoded_len() <= max, "{} > {max}", r.encoded_len());
        seen += r.timeseries.len();
    }
    assert_eq!(seen, 200);
    // A series larger than the limit goes alone; nothing is lost.
    let alone = split(converted.series, Vec::new(), 1);
    assert_eq!(alone.len(), 200);
    // The body is snappy block format of the protobuf request.
    let body = encode(&requests[0]).expect("compresses");
    assert_eq!(body.samples, 10);
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&body.body)
        .expect("snappy");
    assert_eq!(
        WriteRequest::decode(&raw[..]).expect("protobuf"),
        requests[0]
    );
}

#[test]
fn label_sets_with_the_same_hash_stay_apart() {
    let labels = |v: &'static str| vec![Label::new("__name__", "g"), Label::new("a", v)];
    let mut index = SeriesIndex::default();
    let mut series = Vec::new();
    // Every label set given the same hash, as a collision would.
    assert_eq!(index.find_or_add(&mut series, labels("x"), 7), 0);
    assert_eq!(index.find_or_add(&mut series, labels("y"), 7), 1);
    assert_eq!(index.find_or_add(&mut series, labels("z"), 7), 2);
    assert_eq!(index.find_or_add(&mut series, labels("y"), 7), 1);
    assert_eq!(index.find_or_add(&mut series, labels("x"), 7), 0);
    assert_eq!(
        index.find_or_add(&mut series, labels("x"), 8),
        3,
        "another hash is another series"
    );
    assert_eq!(series.len(), 4);
    assert_eq!(series[1].labels, labels("y"));
}
