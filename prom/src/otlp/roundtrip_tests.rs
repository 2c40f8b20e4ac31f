//! Realistic bodies parsed with [`crate::parse`], every sample appended as the receiver
//! appends it, and the OTLP checked whole.

use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, metric, number_data_point};
use prost::Message;

use super::tests::{T0, attr, converter};
use super::{Converter, ExemplarRef, FamilyRef};
use crate::{Exposition, parse};

const OPENMETRICS: &str = r#"# TYPE target info
target_info{env="prod",region="eu-west-1"} 1
# TYPE otel_scope info
otel_scope_info{otel_scope_name="io.weir.http",otel_scope_version="1.4.0",owner="edge"} 1
# HELP http_requests Requests served.
# TYPE http_requests counter
# UNIT http_requests requests
http_requests_total{method="GET",code="200"} 1027 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 1 1699999999.5
http_requests_created{method="GET",code="200"} 1699990000.5
http_requests_total{method="POST",code="500"} 3
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds histogram
# UNIT rpc_duration_seconds seconds
rpc_duration_seconds_bucket{service="auth",le="0.05"} 24054
rpc_duration_seconds_bucket{service="auth",le="0.1"} 33444 # {trace_id="0af7651916cd43dd8448eb211c80319c"} 0.067
rpc_duration_seconds_bucket{service="auth",le="0.5"} 129389
rpc_duration_seconds_bucket{service="auth",le="+Inf"} 144320
rpc_duration_seconds_sum{service="auth"} 53423.5
rpc_duration_seconds_count{service="auth"} 144320
# TYPE gc_pause_seconds summary
gc_pause_seconds{quantile="0.5"} 0.0002
gc_pause_seconds{quantile="0.99"} 0.011
gc_pause_seconds_sum 1.5
gc_pause_seconds_count 1200
# TYPE memory_bytes gauge
# UNIT memory_bytes bytes
memory_bytes{area="heap",otel_scope_name="io.weir.http",otel_scope_version="1.4.0"} 1.5e+08
# TYPE build info
build_info{version="2.1.0",revision="abc"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue_size gaugehistogram
queue_size_bucket{le="+Inf"} 2
queue_size_gcount 2
queue_size_gsum 4
# EOF
"#;

const TEXT: &str = r#"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 2.5e+06
node_cpu_seconds_total{cpu="0",mode="user"} 12345.6
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.42
untyped_thing 7 1699999990000
"#;

/// Every sample of `exposition` appended as the receiver does, for target `job`/`instance`.
pub(super) fn convert(c: &mut Converter, e: &Exposition<'_>, at: i64) -> Vec<ResourceMetrics> {
    let mut scrape = c.begin("http", at);
    for family in e.families() {
        let fam = FamilyRef {
            name: family.name,
            kind: family.kind,
            help: family.help.as_deref(),
            unit: family.unit,
        };
        for sample in e.samples(family) {
            let mut labels = vec![("job", "node"), ("instance", "host-1:9100")];
            labels.extend(e.labels(sample).iter().map(|l| (l.name, l.value.as_ref())));
            let ex_labels: Vec<(&str, &str)>;
            let exemplar = match &sample.exemplar {
                Some(x) => {
                    ex_labels = e
                        .exemplar_labels(x)
                        .iter()
                        .map(|l| (l.name, l.value.as_ref()))
                        .collect();
                    Some(ExemplarRef {
                        labels: &ex_labels,
                        value: x.value,
                        timestamp_ms: x.timestamp_ms,
                    })
                }
                None => None,
            };
            let ts = sample.timestamp_ms.unwrap_or(at);
            scrape.append(
                &fam,
                sample.name,
                &labels,
                sample.value,
                ts,
                exemplar.as_ref(),
            );
        }
    }
    scrape.finish()
}

#[test]
fn an_openmetrics_body_round_trips_to_the_otlp_otelcol_would_make() {
    let exposition = parse(OPENMETRICS.as_bytes(), Some("application/openmetrics-text")).unwrap();
    let mut c = converter();
    let out = convert(&mut c, &exposition, T0);
    assert_eq!(out.len(), 1);
    let rm = &out[0];
    let res = &rm.resource.as_ref().unwrap().attributes;
    assert_eq!(attr(res, "service.name"), Some("node"));
    assert_eq!(attr(res, "service.instance.id"), Some("host-1:9100"));
    assert_eq!(attr(res, "server.address"), Some("host-1"));
    assert_eq!(attr(res, "env"), Some("prod"));
    assert_eq!(attr(res, "region"), Some("eu-west-1"));

    assert_eq!(rm.scope_metrics.len(), 2);
    let receiver = &rm.scope_metrics[0];
    let names: Vec<_> = receiver.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "http_requests",
            "rpc_duration_seconds",
            "gc_pause_seconds",
            "build",
            "feature"
        ],
        "target_info, otel_scope_info and the gauge histogram are not metrics here"
    );
    let lib = &rm.scope_metrics[1];
    let scope = lib.scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("io.weir.http", "1.4.0")
    );
    assert_eq!(attr(&scope.attributes, "owner"), Some("edge"));
    assert_eq!(lib.metrics[0].name, "memory_bytes");
    assert_eq!(lib.metrics[0].unit, "By");

    let requests = &receiver.metrics[0];
    assert_eq!(requests.description, "Requests served.");
    assert_eq!(requests.unit, "requests");
    let Some(metric::Data::Sum(sum)) = &requests.data else {
        panic!("{requests:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.data_points.len(), 2);
    let get = &sum.data_points[0];
    assert_eq!(get.value, Some(number_data_point::Value::AsDouble(1027.0)));
    assert_eq!(get.start_time_unix_nano, 1_699_990_000_500_000_000);
    assert_eq!(get.exemplars[0].trace_id.len(), 16);
    assert_eq!(get.exemplars[0].time_unix_nano, 1_699_999_999_500_000_000);
    assert_eq!(
        sum.data_points[1].start_time_unix_nano,
        T0 as u64 * 1_000_000
    );

    let Some(metric::Data::Histogram(h)) = &receiver.metrics[1].data else {
        panic!()
    };
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, vec![0.05, 0.1, 0.5]);
    assert_eq!(p.bucket_counts, vec![24054, 9390, 95945, 14931]);
    assert_eq!((p.count, p.sum), (144320, Some(53423.5)));
    assert_eq!(attr(&p.attributes, "service"), Some("auth"));
    assert_eq!(p.exemplars.len(), 1);

    let Some(metric::Data::Summary(s)) = &receiver.metrics[2].data else {
        panic!()
    };
    assert_eq!(s.data_points[0].quantile_values.len(), 2);
    assert_eq!(s.data_points[0].count, 1200);

    // Encodes and decodes to the same.
    let request = opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest {
        resource_metrics: out.clone(),
    };
    let bytes = request.encode_to_vec();
    let back =
        opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::decode(
            bytes.as_slice(),
        )
        .unwrap();
    assert_eq!(back.resource_metrics, out);
}

#[test]
fn a_text_body_round_trips_and_a_second_scrape_keeps_start_times() {
    let exposition = parse(TEXT.as_bytes(), None).unwrap();
    let mut c = converter();
    let first = convert(&mut c, &exposition, T0);
    let metrics = &first[0].scope_metrics[0].metrics;
    let names: Vec<_> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["node_cpu_seconds_total", "node_load1", "untyped_thing"]
    );
    let Some(metric::Data::Gauge(g)) = &metrics[2].data else {
        panic!()
    };
    assert_eq!(
        g.data_points[0].time_unix_nano, 1_699_999_990_000_000_000,
        "own timestamp"
    );
    assert_eq!(
        attr(&metrics[2].metadata, "prometheus.type"),
        Some("unknown")
    );

    let second = convert(&mut c, &exposition, T0 + 30_000);
    let Some(metric::Data::Sum(s)) = &second[0].scope_metrics[0].metrics[0].data else {
        panic!()
    };
    for p in &s.data_points {
        assert_eq!(p.start_time_unix_nano, T0 as u64 * 1_000_000);
        assert_eq!(p.time_unix_nano, (T0 + 30_000) as u64 * 1_000_000);
    }
}
