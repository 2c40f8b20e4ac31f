//! One test per conversion rule; the names say the rule.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, SummaryDataPoint, metric,
    number_data_point,
};

use super::*;
use crate::{MetricType, stale_nan};

pub(super) const T0: i64 = 1_700_000_000_000;
const MS: u64 = 1_000_000;

pub(super) fn converter() -> Converter {
    Converter::new(Options {
        scope_version: "1.2.3".into(),
        ..Options::default()
    })
}

pub(super) fn fam(name: &'static str, kind: MetricType) -> FamilyRef<'static> {
    FamilyRef {
        name,
        kind,
        help: None,
        unit: None,
    }
}

/// `job`/`instance` of the default target, then `extra`.
pub(super) fn labels<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut l = vec![("job", "api"), ("instance", "10.0.0.1:9100")];
    l.extend_from_slice(extra);
    l
}

pub(super) fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).map(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.as_str(),
            _ => panic!("{key} is not a string"),
        }
    })
}

fn metrics(rms: &[ResourceMetrics]) -> Vec<&Metric> {
    rms.iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .collect()
}

fn only(rms: &[ResourceMetrics]) -> &Metric {
    let m = metrics(rms);
    assert_eq!(m.len(), 1, "{m:#?}");
    m[0]
}

fn sum_points(m: &Metric) -> (&[NumberDataPoint], bool) {
    match &m.data {
        Some(metric::Data::Sum(s)) => {
            assert_eq!(s.aggregation_temporality, 2, "cumulative");
            (&s.data_points, s.is_monotonic)
        }
        other => panic!("not a sum: {other:?}"),
    }
}

fn gauge_points(m: &Metric) -> &[NumberDataPoint] {
    match &m.data {
        Some(metric::Data::Gauge(g)) => &g.data_points,
        other => panic!("not a gauge: {other:?}"),
    }
}

fn histogram_points(m: &Metric) -> &[HistogramDataPoint] {
    match &m.data {
        Some(metric::Data::Histogram(h)) => {
            assert_eq!(h.aggregation_temporality, 2, "cumulative");
            &h.data_points
        }
        other => panic!("not a histogram: {other:?}"),
    }
}

fn summary_points(m: &Metric) -> &[SummaryDataPoint] {
    match &m.data {
        Some(metric::Data::Summary(s)) => &s.data_points,
        other => panic!("not a summary: {other:?}"),
    }
}

fn value(p: &NumberDataPoint) -> Option<f64> {
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => Some(v),
        Some(number_data_point::Value::AsInt(v)) => Some(v as f64),
        None => None,
    }
}

/// A sample: family, sample name, labels besides job and instance, value.
type SampleOf<'a, L> = (FamilyRef<'a>, &'a str, L, f64);
type Sample<'a> = SampleOf<'a, &'a [(&'a str, &'a str)]>;
type OwnedSample = SampleOf<'static, Vec<(&'static str, &'static str)>>;

/// One scrape at `at` of `samples`.
fn scrape(c: &mut Converter, at: i64, samples: &[Sample<'_>]) -> Vec<ResourceMetrics> {
    let mut s = c.begin("http", at);
    for (f, name, extra, v) in samples {
        s.append(f, name, &labels(extra), *v, at, None);
    }
    s.finish()
}

fn histogram_samples(
    count: Option<f64>,
    sum: Option<f64>,
    buckets: &[(&'static str, f64)],
) -> Vec<OwnedSample> {
    let f = fam("rpc_seconds", MetricType::Histogram);
    let mut out: Vec<_> = buckets
        .iter()
        .map(|&(le, v)| (f, "rpc_seconds_bucket", vec![("le", le)], v))
        .collect();
    if let Some(s) = sum {
        out.push((f, "rpc_seconds_sum", vec![], s));
    }
    if let Some(c) = count {
        out.push((f, "rpc_seconds_count", vec![], c));
    }
    out
}

fn scrape_owned(c: &mut Converter, at: i64, samples: &[OwnedSample]) -> Vec<ResourceMetrics> {
    let mut s = c.begin("http", at);
    for (f, name, extra, v) in samples {
        s.append(f, name, &labels(extra), *v, at, None);
    }
    s.finish()
}

#[test]
fn counter_becomes_a_monotonic_cumulative_sum_named_as_its_family() {
    let mut c = converter();
    let f = fam("http_requests_total", MetricType::Counter);
    let out = scrape(
        &mut c,
        T0,
        &[(f, "http_requests_total", &[("code", "200")], 7.0)],
    );
    let m = only(&out);
    assert_eq!(
        m.name, "http_requests_total",
        "suffixes are not trimmed by default"
    );
    let (points, monotonic) = sum_points(m);
    assert!(monotonic);
    assert_eq!(value(&points[0]), Some(7.0));
    assert_eq!(points[0].time_unix_nano, T0 as u64 * MS);
    assert_eq!(attr(&points[0].attributes, "code"), Some("200"));
    assert_eq!(attr(&m.metadata, "prometheus.type"), Some("counter"));
}

#[test]
fn openmetrics_counter_is_named_without_total_as_its_family_is() {
    let mut c = converter();
    let f = fam("http_requests", MetricType::Counter);
    let out = scrape(&mut c, T0, &[(f, "http_requests_total", &[], 1.0)]);
    assert_eq!(only(&out).name, "http_requests");
}

#[test]
fn gauge_and_unknown_become_gauges_without_start_time() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[
            (fam("temp", MetricType::Gauge), "temp", &[], 21.5),
            (fam("mystery", MetricType::Unknown), "mystery", &[], 3.0),
        ],
    );
    let m = metrics(&out);
    assert_eq!(m.len(), 2);
    for (metric, v, ty) in [(m[0], 21.5, "gauge"), (m[1], 3.0, "unknown")] {
        let p = &gauge_points(metric)[0];
        assert_eq!(value(p), Some(v));
        assert_eq!(p.start_time_unix_nano, 0);
        assert_eq!(attr(&metric.metadata, "prometheus.type"), Some(ty));
    }
}

#[test]
fn info_and_stateset_become_non_monotonic_cumulative_sums() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[
            (
                fam("build", MetricType::Info),
                "build_info",
                &[("version", "1")],
                1.0,
            ),
            (
                fam("state", MetricType::StateSet),
                "state",
                &[("state", "a")],
                1.0,
            ),
            (
                fam("state", MetricType::StateSet),
                "state",
                &[("state", "b")],
                0.0,
            ),
        ],
    );
    let m = metrics(&out);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].name, "build");
    let (points, monotonic) = sum_points(m[0]);
    assert!(!monotonic);
    assert_eq!(attr(&points[0].attributes, "version"), Some("1"));
    let (points, monotonic) = sum_points(m[1]);
    assert!(!monotonic);
    assert_eq!(points.len(), 2);
    assert_eq!(attr(&m[1].metadata, "prometheus.type"), Some("stateset"));
}

#[test]
fn gauge_histogram_is_dropped() {
    let mut c = converter();
    let f = fam("queue", MetricType::GaugeHistogram);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "queue_bucket", &[("le", "+Inf")], 2.0),
            (f, "queue_gcount", &[], 2.0),
            (f, "queue_gsum", &[], 2.0),
        ],
    );
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn histogram_bounds_leave_out_inf_and_bucket_counts_are_decumulated() {
    let mut c = converter();
    let samples = histogram_samples(
        Some(10.0),
        Some(4.5),
        &[("0.1", 2.0), ("0.5", 5.0), ("1", 9.0), ("+Inf", 10.0)],
    );
    let out = scrape_owned(&mut c, T0, &samples);
    let m = only(&out);
    assert_eq!(m.name, "rpc_seconds");
    let p = &histogram_points(m)[0];
    assert_eq!(p.explicit_bounds, vec![0.1, 0.5, 1.0]);
    assert_eq!(p.bucket_counts, vec![2, 3, 4, 1]);
    assert_eq!(p.count, 10);
    assert_eq!(p.sum, Some(4.5));
    assert!(
        p.attributes.is_empty(),
        "le is not an attribute: {:?}",
        p.attributes
    );
}

#[test]
fn histogram_buckets_out_of_order_are_sorted_by_le() {
    let mut c = converter();
    let samples = histogram_samples(
        Some(5.0),
        Some(1.0),
        &[("+Inf", 5.0), ("1", 3.0), ("0.5", 1.0)],
    );
    let out = scrape_owned(&mut c, T0, &samples);
    let p = &histogram_points(only(&out))[0];
    assert_eq!(p.explicit_bounds, vec![0.5, 1.0]);
    assert_eq!(p.bucket_counts, vec![1, 2, 2]);
}

#[test]
fn histogram_without_inf_bucket_takes_its_last_bucket_from_count() {
    let mut c = converter();
    let samples = histogram_samples(Some(8.0), Some(1.0), &[("1", 3.0)]);
    let out = scrape_owned(&mut c, T0, &samples);
    let p = &histogram_points(only(&out))[0];
    assert_eq!(p.explicit_bounds, vec![1.0]);
    assert_eq!(p.bucket_counts, vec![3, 5]);
}

#[test]
fn histogram_without_count_is_dropped() {
    let mut c = converter();
    let samples = histogram_samples(None, Some(1.0), &[("1", 3.0), ("+Inf", 3.0)]);
    assert!(scrape_owned(&mut c, T0, &samples).is_empty());
}

#[test]
fn histogram_without_sum_has_its_sum_unset() {
    let mut c = converter();
    let samples = histogram_samples(Some(3.0), None, &[("1", 3.0), ("+Inf", 3.0)]);
    let out = scrape_owned(&mut c, T0, &samples);
    let p = &histogram_points(only(&out))[0];
    assert_eq!(p.sum, None);
    assert_eq!(p.count, 3);
}

#[test]
fn histogram_with_only_count_has_one_bucket() {
    let mut c = converter();
    let samples = histogram_samples(Some(3.0), Some(2.0), &[]);
    let out = scrape_owned(&mut c, T0, &samples);
    let p = &histogram_points(only(&out))[0];
    assert!(p.explicit_bounds.is_empty());
    assert_eq!(p.bucket_counts, vec![3]);
}

#[test]
fn histogram_with_decreasing_or_nan_buckets_or_count_below_them_is_dropped() {
    for buckets in [
        &[("1", 5.0), ("2", 3.0)][..],
        &[("1", f64::NAN), ("2", 3.0)][..],
        &[("1", 2.0), ("2", 9.0)][..],
    ] {
        let mut c = converter();
        let samples = histogram_samples(Some(5.0), Some(1.0), buckets);
        assert!(scrape_owned(&mut c, T0, &samples).is_empty(), "{buckets:?}");
    }
    let mut c = converter();
    let samples = histogram_samples(Some(f64::NAN), Some(1.0), &[("1", 1.0)]);
    assert!(scrape_owned(&mut c, T0, &samples).is_empty());
}

#[test]
fn histogram_bucket_with_repeated_le_is_left_out() {
    let mut c = converter();
    let samples = histogram_samples(
        Some(5.0),
        Some(1.0),
        &[("1", 2.0), ("1.0", 2.0), ("+Inf", 5.0)],
    );
    let out = scrape_owned(&mut c, T0, &samples);
    let p = &histogram_points(only(&out))[0];
    assert_eq!(p.explicit_bounds, vec![1.0]);
    assert_eq!(p.bucket_counts, vec![2, 3]);
}

#[test]
fn histogram_bucket_without_le_is_ignored() {
    let mut c = converter();
    let f = fam("h", MetricType::Histogram);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "h_bucket", &[], 1.0),
            (f, "h_bucket", &[("le", "x")], 1.0),
            (f, "h_count", &[], 1.0),
        ],
    );
    let p = &histogram_points(only(&out))[0];
    assert_eq!(p.bucket_counts, vec![1]);
}

#[test]
fn summary_has_sorted_quantiles_count_and_sum() {
    let mut c = converter();
    let f = fam("lat", MetricType::Summary);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "lat", &[("quantile", "0.99")], 9.0),
            (f, "lat", &[("quantile", "0.5")], 2.0),
            (f, "lat_sum", &[], 40.0),
            (f, "lat_count", &[], 12.0),
        ],
    );
    let p = &summary_points(only(&out))[0];
    let q: Vec<_> = p
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(q, vec![(0.5, 2.0), (0.99, 9.0)]);
    assert_eq!((p.count, p.sum), (12, 40.0));
    assert!(p.attributes.is_empty(), "quantile is not an attribute");
}

#[test]
fn summary_without_count_is_dropped_and_without_sum_has_zero_sum() {
    let mut c = converter();
    let f = fam("lat", MetricType::Summary);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "lat", &[("quantile", "0.5")], 2.0),
            (f, "lat_sum", &[], 4.0),
        ],
    );
    assert!(out.is_empty());
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "lat", &[("quantile", "0.5")], 2.0),
            (f, "lat_count", &[], 4.0),
        ],
    );
    let p = &summary_points(only(&out))[0];
    assert_eq!((p.count, p.sum), (4, 0.0));
}

#[test]
fn description_comes_from_help_and_unit_from_openmetrics_unit_in_ucum() {
    let mut c = converter();
    let f = FamilyRef {
        name: "rpc_duration_seconds",
        kind: MetricType::Gauge,
        help: Some("How long."),
        unit: Some("seconds"),
    };
    let out = scrape(&mut c, T0, &[(f, "rpc_duration_seconds", &[], 1.0)]);
    let m = only(&out);
    assert_eq!(m.description, "How long.");
    assert_eq!(m.unit, "s");
}

#[test]
fn units_convert_to_ucum_as_otelcol_does() {
    assert_eq!(unit::ucum("seconds"), "s");
    assert_eq!(unit::ucum("bytes"), "By");
    assert_eq!(unit::ucum("ratio"), "1");
    assert_eq!(unit::ucum("bytes_per_second"), "By/s");
    assert_eq!(unit::ucum("widgets_per_fortnight"), "widgets/fortnight");
    assert_eq!(unit::ucum("furlongs"), "furlongs");
    assert_eq!(unit::ucum("meters_per_"), "m");
}

#[test]
fn resource_has_service_and_server_attributes_from_job_instance_and_scheme() {
    let mut c = converter();
    let mut s = c.begin("https", T0);
    s.append(
        &fam("g", MetricType::Gauge),
        "g",
        &labels(&[]),
        1.0,
        T0,
        None,
    );
    let out = s.finish();
    assert_eq!(out.len(), 1);
    let attrs = &out[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(attrs, "service.name"), Some("api"));
    assert_eq!(attr(attrs, "service.instance.id"), Some("10.0.0.1:9100"));
    assert_eq!(attr(attrs, "server.address"), Some("10.0.0.1"));
    assert_eq!(attr(attrs, "server.port"), Some("9100"));
    assert_eq!(attr(attrs, "url.scheme"), Some("https"));
    assert_eq!(
        attr(attrs, "service.namespace"),
        None,
        "otelcol does not split job"
    );
    assert_eq!(attr(attrs, "net.host.name"), None);
}

#[test]
fn loopback_and_unspecified_hosts_are_not_a_server_address() {
    for instance in [
        "localhost:9090",
        "127.0.0.1:9090",
        "[::1]:9090",
        "0.0.0.0:80",
        "[::]:80",
    ] {
        let mut c = converter();
        let mut s = c.begin("http", T0);
        s.append(
            &fam("g", MetricType::Gauge),
            "g",
            &[("job", "j"), ("instance", instance)],
            1.0,
            T0,
            None,
        );
        let out = s.finish();
        let attrs = &out[0].resource.as_ref().unwrap().attributes;
        assert_eq!(attr(attrs, "server.address"), None, "{instance}");
        assert!(
            attr(attrs, "server.port").is_some_and(|p| !p.is_empty()),
            "{instance}"
        );
    }
}

#[test]
fn instance_without_port_is_the_address_with_an_empty_port_and_ipv6_loses_brackets() {
    assert_eq!(resource::split_host_port("db.local"), None);
    assert_eq!(
        resource::split_host_port("[2001:db8::1]:9100"),
        Some(("2001:db8::1", "9100"))
    );
    assert_eq!(resource::split_host_port("2001:db8::1"), None);
    let attrs = resource::attributes("j", "db.local", "http");
    assert_eq!(attr(&attrs, "server.address"), Some("db.local"));
    assert_eq!(attr(&attrs, "server.port"), Some(""));
}

#[test]
fn each_job_and_instance_is_its_own_resource() {
    let mut c = converter();
    let mut s = c.begin("http", T0);
    let f = fam("g", MetricType::Gauge);
    s.append(&f, "g", &[("job", "a"), ("instance", "x:1")], 1.0, T0, None);
    s.append(&f, "g", &[("job", "b"), ("instance", "x:1")], 1.0, T0, None);
    s.append(
        &f,
        "g",
        &[("job", "a"), ("instance", "x:1"), ("k", "v")],
        1.0,
        T0,
        None,
    );
    let out = s.finish();
    assert_eq!(out.len(), 2);
    assert_eq!(gauge_points(&out[0].scope_metrics[0].metrics[0]).len(), 2);
}

#[test]
fn target_info_becomes_resource_attributes_and_is_not_a_metric() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[
            (
                fam("target", MetricType::Info),
                "target_info",
                &[("region", "eu"), ("service_version", "2")],
                1.0,
            ),
            (fam("g", MetricType::Gauge), "g", &[], 1.0),
        ],
    );
    assert_eq!(metrics(&out).len(), 1);
    let attrs = &out[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(attrs, "region"), Some("eu"));
    assert_eq!(
        attr(attrs, "service_version"),
        Some("2"),
        "names are not altered"
    );
    assert_eq!(attr(attrs, "service.name"), Some("api"));
}

#[test]
fn job_instance_and_empty_labels_are_not_point_attributes() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[(
            fam("g", MetricType::Gauge),
            "g",
            &[("a", "1"), ("empty", "")],
            1.0,
        )],
    );
    let p = &gauge_points(only(&out))[0];
    assert_eq!(p.attributes.len(), 1, "{:?}", p.attributes);
    assert_eq!(attr(&p.attributes, "a"), Some("1"));
}

#[test]
fn samples_without_scope_labels_get_the_receivers_scope() {
    let mut c = converter();
    let out = scrape(&mut c, T0, &[(fam("g", MetricType::Gauge), "g", &[], 1.0)]);
    let scope = out[0].scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, OTELCOL_SCOPE_NAME);
    assert_eq!(scope.version, "1.2.3");
}

#[test]
fn otel_scope_labels_name_the_scope_and_are_not_point_attributes() {
    let mut c = converter();
    let f = fam("g", MetricType::Gauge);
    let out = scrape(
        &mut c,
        T0,
        &[
            (
                f,
                "g",
                &[
                    ("otel_scope_name", "lib"),
                    ("otel_scope_version", "v2"),
                    ("otel_scope_team", "core"),
                    ("k", "1"),
                ],
                1.0,
            ),
            (f, "g", &[("k", "2")], 2.0),
        ],
    );
    let sms = &out[0].scope_metrics;
    assert_eq!(sms.len(), 2);
    let scope = sms[0].scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("lib", "v2"));
    assert_eq!(attr(&scope.attributes, "team"), Some("core"));
    let p = &gauge_points(&sms[0].metrics[0])[0];
    assert_eq!(p.attributes.len(), 1, "{:?}", p.attributes);
    assert_eq!(sms[1].scope.as_ref().unwrap().name, OTELCOL_SCOPE_NAME);
}

#[test]
fn otel_scope_info_gives_its_scope_attributes_and_is_not_a_metric() {
    let mut c = converter();
    let scope = [("otel_scope_name", "lib"), ("otel_scope_version", "v2")];
    let out = scrape(
        &mut c,
        T0,
        &[
            (
                fam("otel_scope", MetricType::Info),
                "otel_scope_info",
                &[scope[0], scope[1], ("library_mascot", "bear")],
                1.0,
            ),
            (fam("g", MetricType::Gauge), "g", &scope, 1.0),
        ],
    );
    assert_eq!(metrics(&out).len(), 1);
    let scope = out[0].scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, "lib");
    assert_eq!(attr(&scope.attributes, "library_mascot"), Some("bear"));
}

#[test]
fn created_is_the_start_time() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "reqs_total", &[], 5.0),
            (f, "reqs_created", &[], 1_600_000_000.25),
        ],
    );
    let (points, _) = sum_points(only(&out));
    assert_eq!(points.len(), 1, "_created is not a point of its own");
    assert_eq!(points[0].start_time_unix_nano, 1_600_000_000_250_000_000);
    let f = fam("lat", MetricType::Histogram);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "lat_count", &[], 1.0),
            (f, "lat_created", &[], 1_600_000_000.0),
        ],
    );
    assert_eq!(
        histogram_points(only(&out))[0].start_time_unix_nano,
        1_600_000_000 * 1_000_000_000
    );
}

#[test]
fn first_point_of_a_series_starts_at_its_own_timestamp_and_later_ones_keep_it() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    let out = scrape(&mut c, T0, &[(f, "reqs_total", &[], 5.0)]);
    assert_eq!(
        sum_points(only(&out)).0[0].start_time_unix_nano,
        T0 as u64 * MS
    );
    let out = scrape(&mut c, T0 + 15_000, &[(f, "reqs_total", &[], 9.0)]);
    let p = &sum_points(only(&out)).0[0];
    assert_eq!(p.start_time_unix_nano, T0 as u64 * MS);
    assert_eq!(p.time_unix_nano, (T0 + 15_000) as u64 * MS);
}

#[test]
fn a_counter_reset_starts_one_millisecond_before_the_reset_point() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    scrape(&mut c, T0, &[(f, "reqs_total", &[], 5.0)]);
    let out = scrape(&mut c, T0 + 15_000, &[(f, "reqs_total", &[], 2.0)]);
    let reset = (T0 + 15_000) as u64 * MS - MS;
    assert_eq!(sum_points(only(&out)).0[0].start_time_unix_nano, reset);
    let out = scrape(&mut c, T0 + 30_000, &[(f, "reqs_total", &[], 3.0)]);
    assert_eq!(sum_points(only(&out)).0[0].start_time_unix_nano, reset);
}

#[test]
fn a_histogram_resets_when_its_count_or_a_bucket_decreases_or_its_bounds_change() {
    let start = T0 as u64 * MS;
    let cases: [&[(&str, f64)]; 3] = [
        &[("1", 1.0), ("+Inf", 4.0)],             // count 4 < 5
        &[("1", 0.0), ("+Inf", 5.0)],             // bucket 1 decreases
        &[("1", 2.0), ("2", 3.0), ("+Inf", 5.0)], // new bound
    ];
    for (i, buckets) in cases.into_iter().enumerate() {
        let mut c = converter();
        scrape_owned(
            &mut c,
            T0,
            &histogram_samples(Some(5.0), Some(1.0), &[("1", 2.0), ("+Inf", 5.0)]),
        );
        let count = buckets.last().unwrap().1;
        let out = scrape_owned(
            &mut c,
            T0 + 1000,
            &histogram_samples(Some(count), Some(1.0), buckets),
        );
        let p = &histogram_points(only(&out))[0];
        assert_eq!(
            p.start_time_unix_nano,
            (T0 + 1000) as u64 * MS - MS,
            "case {i}"
        );
        assert_ne!(p.start_time_unix_nano, start);
    }
    let mut c = converter();
    scrape_owned(
        &mut c,
        T0,
        &histogram_samples(Some(5.0), Some(1.0), &[("1", 2.0)]),
    );
    let out = scrape_owned(
        &mut c,
        T0 + 1000,
        &histogram_samples(Some(6.0), Some(2.0), &[("1", 2.0)]),
    );
    assert_eq!(
        histogram_points(only(&out))[0].start_time_unix_nano,
        start,
        "no reset"
    );
}

#[test]
fn a_summary_resets_when_its_count_or_sum_decreases() {
    let mut c = converter();
    let f = fam("lat", MetricType::Summary);
    scrape(
        &mut c,
        T0,
        &[(f, "lat_count", &[], 5.0), (f, "lat_sum", &[], 5.0)],
    );
    let out = scrape(
        &mut c,
        T0 + 1000,
        &[(f, "lat_count", &[], 6.0), (f, "lat_sum", &[], 4.0)],
    );
    assert_eq!(
        summary_points(only(&out))[0].start_time_unix_nano,
        (T0 + 1000) as u64 * MS - MS
    );
}

#[test]
fn start_times_can_be_left_unset_as_current_otelcol_leaves_them() {
    let mut c = Converter::new(Options {
        start_time: StartTime::Unset,
        ..Options::default()
    });
    let f = fam("reqs", MetricType::Counter);
    let out = scrape(&mut c, T0, &[(f, "reqs_total", &[], 5.0)]);
    assert_eq!(sum_points(only(&out)).0[0].start_time_unix_nano, 0);
    let out = scrape(
        &mut c,
        T0,
        &[(f, "reqs_total", &[], 5.0), (f, "reqs_created", &[], 10.0)],
    );
    assert_eq!(
        sum_points(only(&out)).0[0].start_time_unix_nano,
        10_000_000_000
    );
    assert_eq!(c.series_remembered(), 0);
}

#[test]
fn series_unseen_for_a_gc_interval_are_forgotten() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    let minute = 60_000;
    scrape(
        &mut c,
        T0,
        &[
            (f, "reqs_total", &[("a", "1")], 5.0),
            (f, "reqs_total", &[("a", "2")], 5.0),
        ],
    );
    assert_eq!(c.series_remembered(), 2);
    // Only a=1 is seen from now on; a=2 survives one sweep (it was seen before it), not two.
    for m in 1..=21 {
        scrape(
            &mut c,
            T0 + m * minute,
            &[(f, "reqs_total", &[("a", "1")], 5.0)],
        );
    }
    assert_eq!(c.series_remembered(), 1);
    // Seen again, a=2 starts afresh.
    let at = T0 + 22 * minute;
    let out = scrape(&mut c, at, &[(f, "reqs_total", &[("a", "2")], 6.0)]);
    assert_eq!(
        sum_points(only(&out)).0[0].start_time_unix_nano,
        at as u64 * MS
    );
}

#[test]
fn stale_counter_has_no_recorded_value_and_keeps_its_start_time() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    scrape(&mut c, T0, &[(f, "reqs_total", &[], 5.0)]);
    let out = scrape(&mut c, T0 + 1000, &[(f, "reqs_total", &[], stale_nan())]);
    let p = &sum_points(only(&out)).0[0];
    assert_eq!(p.flags, 1);
    assert_eq!(value(p), None);
    assert_eq!(p.start_time_unix_nano, T0 as u64 * MS);
    // The stale point is not a reset: the series continues from its start.
    let out = scrape(&mut c, T0 + 2000, &[(f, "reqs_total", &[], 6.0)]);
    assert_eq!(
        sum_points(only(&out)).0[0].start_time_unix_nano,
        T0 as u64 * MS
    );
}

#[test]
fn stale_gauge_has_no_recorded_value() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[(fam("g", MetricType::Gauge), "g", &[], stale_nan())],
    );
    let p = &gauge_points(only(&out))[0];
    assert_eq!((p.flags, value(p)), (1, None));
}

#[test]
fn stale_histogram_has_no_recorded_value_zero_counts_and_no_sum() {
    let mut c = converter();
    let s = stale_nan();
    let samples = histogram_samples(Some(s), Some(s), &[("1", s), ("+Inf", s)]);
    let out = scrape_owned(&mut c, T0, &samples);
    let p = &histogram_points(only(&out))[0];
    assert_eq!(p.flags, 1);
    assert_eq!((p.count, p.sum), (0, None));
    assert_eq!(p.explicit_bounds, vec![1.0]);
    assert_eq!(p.bucket_counts, vec![0, 0]);
}

#[test]
fn stale_summary_has_no_recorded_value_and_zero_quantile_values() {
    let mut c = converter();
    let s = stale_nan();
    let f = fam("lat", MetricType::Summary);
    let out = scrape(
        &mut c,
        T0,
        &[
            (f, "lat", &[("quantile", "0.5")], s),
            (f, "lat_sum", &[], s),
            (f, "lat_count", &[], s),
        ],
    );
    let p = &summary_points(only(&out))[0];
    assert_eq!(p.flags, 1);
    assert_eq!((p.count, p.sum), (0, 0.0));
    assert_eq!(p.quantile_values[0].quantile, 0.5);
    assert_eq!(p.quantile_values[0].value, 0.0);
}

#[test]
fn ordinary_nan_values_are_kept() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[
            (fam("g", MetricType::Gauge), "g", &[], f64::NAN),
            (fam("c", MetricType::Counter), "c_total", &[], f64::NAN),
        ],
    );
    for m in metrics(&out) {
        let p = match &m.data {
            Some(metric::Data::Gauge(g)) => &g.data_points[0],
            Some(metric::Data::Sum(s)) => &s.data_points[0],
            _ => unreachable!(),
        };
        assert_eq!(p.flags, 0);
        assert!(value(p).is_some_and(f64::is_nan));
    }
}

#[test]
fn samples_of_a_family_need_not_be_adjacent_nor_labels_in_order() {
    let mut c = converter();
    let f = fam("h", MetricType::Histogram);
    let out = scrape(
        &mut c,
        T0,
        &[
            (
                f,
                "h_bucket",
                &[("a", "1"), ("b", "2"), ("le", "+Inf")],
                3.0,
            ),
            (fam("g", MetricType::Gauge), "g", &[], 1.0),
            (f, "h_count", &[("b", "2"), ("a", "1")], 3.0),
            (f, "h_count", &[("a", "9")], 1.0),
        ],
    );
    let m = metrics(&out);
    assert_eq!(m.len(), 2);
    let points = histogram_points(m[0]);
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].bucket_counts, vec![3]);
}

#[test]
fn a_sample_with_another_timestamp_than_its_group_is_ignored() {
    let mut c = converter();
    let f = fam("h", MetricType::Histogram);
    let mut s = c.begin("http", T0);
    s.append(&f, "h_bucket", &labels(&[("le", "+Inf")]), 3.0, T0, None);
    s.append(&f, "h_count", &labels(&[]), 5.0, T0 + 1, None);
    assert!(s.finish().is_empty(), "the count came at another time");
}

#[test]
fn exemplar_trace_and_span_ids_are_decoded_and_other_labels_kept() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    let mut s = c.begin("http", T0);
    let e = ExemplarRef {
        labels: &[
            ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("Span_ID", "00f067aa0ba902b7"),
            ("user", "x"),
        ],
        value: 0.5,
        timestamp_ms: Some(T0 - 10),
    };
    s.append(&f, "reqs_total", &labels(&[]), 1.0, T0, Some(&e));
    let out = s.finish();
    let ex = &sum_points(only(&out)).0[0].exemplars[0];
    assert_eq!(ex.trace_id.len(), 16);
    assert_eq!(ex.trace_id[0], 0x4b);
    assert_eq!(
        ex.span_id,
        vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
    );
    assert_eq!(ex.filtered_attributes.len(), 1);
    assert_eq!(attr(&ex.filtered_attributes, "user"), Some("x"));
    assert_eq!(ex.time_unix_nano, (T0 - 10) as u64 * MS);
}

#[test]
fn invalid_exemplar_ids_stay_attributes_and_empty_ones_are_dropped() {
    let mut c = converter();
    let f = fam("reqs", MetricType::Counter);
    let mut s = c.begin("http", T0);
    let e = ExemplarRef {
        labels: &[
            ("trace_id", "abc"),
            ("span_id", "0000000000000000"),
            ("x", ""),
        ],
        value: 0.5,
        timestamp_ms: None,
    };
    s.append(&f, "reqs_total", &labels(&[]), 1.0, T0, Some(&e));
    let e2 = ExemplarRef {
        labels: &[("trace_id", "")],
        value: 1.0,
        timestamp_ms: None,
    };
    s.append(&f, "reqs_total", &labels(&[("k", "v")]), 1.0, T0, Some(&e2));
    let out = s.finish();
    let points = sum_points(only(&out)).0;
    let ex = &points[0].exemplars[0];
    assert!(ex.trace_id.is_empty() && ex.span_id.is_empty());
    assert_eq!(attr(&ex.filtered_attributes, "trace_id"), Some("abc"));
    assert_eq!(
        attr(&ex.filtered_attributes, "span_id"),
        Some("0000000000000000")
    );
    assert_eq!(ex.time_unix_nano, T0 as u64 * MS, "the sample's timestamp");
    assert!(points[1].exemplars[0].filtered_attributes.is_empty());
}

#[test]
fn bucket_exemplars_attach_to_the_histogram_point_and_summary_exemplars_are_dropped() {
    let mut c = converter();
    let e = ExemplarRef {
        labels: &[("user", "x")],
        value: 0.2,
        timestamp_ms: None,
    };
    let h = fam("h", MetricType::Histogram);
    let q = fam("q", MetricType::Summary);
    let mut s = c.begin("http", T0);
    s.append(&h, "h_bucket", &labels(&[("le", "1")]), 1.0, T0, Some(&e));
    s.append(&h, "h_count", &labels(&[]), 1.0, T0, None);
    s.append(&q, "q_count", &labels(&[]), 1.0, T0, Some(&e));
    let out = s.finish();
    let m = metrics(&out);
    assert_eq!(histogram_points(m[0])[0].exemplars.len(), 1);
    assert_eq!(summary_points(m[1]).len(), 1);
}

#[test]
fn a_renamed_metric_passed_as_unknown_is_a_gauge_under_its_new_name() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[(
            fam("renamed_total", MetricType::Unknown),
            "renamed_total",
            &[],
            4.0,
        )],
    );
    let m = only(&out);
    assert_eq!(m.name, "renamed_total");
    assert_eq!(value(&gauge_points(m)[0]), Some(4.0));
}

#[test]
fn a_job_with_a_slash_is_the_whole_service_name_as_otelcol_keeps_it() {
    let mut c = converter();
    let mut s = c.begin("http", T0);
    let l = [("job", "shop/cart"), ("instance", "cart:80")];
    s.append(&fam("g", MetricType::Gauge), "g", &l, 1.0, T0, None);
    let out = s.finish();
    let attrs = &out[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(attrs, "service.name"), Some("shop/cart"));
    assert_eq!(attr(attrs, "service.namespace"), None);
}

#[test]
fn kubernetes_discovery_labels_become_k8s_resource_attributes() {
    let mut c = converter();
    c.set_discovered_labels(&[
        ("__meta_kubernetes_pod_name", "web-7d9f"),
        ("__meta_kubernetes_pod_uid", "u-1"),
        ("__meta_kubernetes_namespace", "shop"),
        ("__meta_kubernetes_pod_node_name", "node-3"),
        ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
        ("__meta_kubernetes_pod_controller_name", "web-7d9"),
        ("__meta_env", "prod"),
    ]);
    let out = scrape(&mut c, T0, &[(fam("g", MetricType::Gauge), "g", &[], 1.0)]);
    let attrs = &out[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(attrs, "k8s.pod.name"), Some("web-7d9f"));
    assert_eq!(attr(attrs, "k8s.pod.uid"), Some("u-1"));
    assert_eq!(attr(attrs, "k8s.namespace.name"), Some("shop"));
    assert_eq!(attr(attrs, "k8s.node.name"), Some("node-3"));
    assert_eq!(attr(attrs, "k8s.replicaset.name"), Some("web-7d9"));
    assert_eq!(attrs.len(), 10, "{attrs:?}");
}

#[test]
fn a_family_keeps_the_kind_it_was_first_seen_with() {
    let mut c = converter();
    let out = scrape(
        &mut c,
        T0,
        &[
            (fam("x", MetricType::Gauge), "x", &[], 1.0),
            (
                fam("x", MetricType::Histogram),
                "x_bucket",
                &[("le", "1"), ("k", "v")],
                1.0,
            ),
            (
                fam("x", MetricType::Histogram),
                "x_count",
                &[("k", "v")],
                1.0,
            ),
        ],
    );
    let m = only(&out);
    assert_eq!(
        gauge_points(m).len(),
        3,
        "every sample a gauge point, `le` an attribute"
    );
}
