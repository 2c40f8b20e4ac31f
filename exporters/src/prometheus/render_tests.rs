//! Both text formats, whole, for each metric type.

use opentelemetry_proto::tonic::metrics::v1::{Exemplar as OtlpExemplar, exemplar};
use tokio::time::Instant;

use super::super::accumulator::tests::{
    exponential, gauge, histogram, histogram_point, kv, point, request, settings, sum, summary,
};
use super::*;
use crate::prometheus::accumulator::Accumulator;

fn text(value: f64, format: Format) -> String {
    let mut out = Vec::new();
    write_float(&mut out, value, format);
    String::from_utf8(out).unwrap()
}

#[test]
fn floats_as_go_writes_them() {
    for (value, go) in [
        (0.0, "0"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (1e300, "1e+300"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(text(value, Format::Text), go, "{value}");
    }
    assert_eq!(text(1.0, Format::OpenMetrics), "1.0");
    assert_eq!(text(0.0, Format::OpenMetrics), "0.0");
    assert_eq!(text(2.5, Format::OpenMetrics), "2.5");
    assert_eq!(text(1e6, Format::OpenMetrics), "1e+06");
    assert_eq!(text(f64::INFINITY, Format::OpenMetrics), "+Inf");
}

fn loaded() -> Accumulator {
    let mut acc = Accumulator::new(settings());
    let resource = vec![
        kv("service.name", "shop"),
        kv("service.instance.id", "i-1"),
        kv("region", "eu"),
    ];
    let mut counter = point(vec![kv("code", "200")], 1_000_000_000, 2_000_000_000, 7.0);
    counter.exemplars = vec![OtlpExemplar {
        time_unix_nano: 1_500_000_000,
        trace_id: vec![0x0a; 16],
        span_id: vec![0x0b; 8],
        value: Some(exemplar::Value::AsInt(1)),
        ..Default::default()
    }];
    let mut hist = histogram_point(1_000_000_000, 2_000_000_000, &[0.1, 1.0], &[1, 2, 1], 2.25);
    hist.exemplars = vec![OtlpExemplar {
        time_unix_nano: 1_700_000_000,
        trace_id: vec![0x0c; 16],
        value: Some(exemplar::Value::AsDouble(0.5)),
        ..Default::default()
    }];
    acc.accumulate(
        &request(
            resource,
            vec![
                sum("http.requests", "", true, false, vec![counter]),
                gauge(
                    "cpu.utilization",
                    "1",
                    vec![point(vec![], 0, 2_000_000_000, 0.25)],
                ),
                histogram("http.duration", false, vec![hist]),
                summary(),
            ],
        ),
        Instant::now(),
    );
    acc
}

fn rendered(acc: &Accumulator, format: Format, timestamps: bool) -> String {
    let pieces = render(acc, format, timestamps);
    String::from_utf8(pieces.concat()).unwrap()
}

#[test]
fn text_format() {
    let expected = r#"# HELP target_info Target metadata
# TYPE target_info gauge
target_info{instance="i-1",job="shop",region="eu"} 1
# HELP cpu_utilization_ratio cpu.utilization help
# TYPE cpu_utilization_ratio gauge
cpu_utilization_ratio{instance="i-1",job="shop"} 0.25
# HELP http_duration_seconds 
# TYPE http_duration_seconds histogram
http_duration_seconds_bucket{instance="i-1",job="shop",le="0.1"} 1
http_duration_seconds_bucket{instance="i-1",job="shop",le="1"} 3
http_duration_seconds_bucket{instance="i-1",job="shop",le="+Inf"} 4
http_duration_seconds_sum{instance="i-1",job="shop"} 2.25
http_duration_seconds_count{instance="i-1",job="shop"} 4
# HELP http_requests_total http.requests help
# TYPE http_requests_total counter
http_requests_total{code="200",instance="i-1",job="shop"} 7
# HELP rpc_latency_milliseconds RPC "latency"\nper call
# TYPE rpc_latency_milliseconds summary
rpc_latency_milliseconds{instance="i-1",job="shop",quantile="0.5"} 2
rpc_latency_milliseconds{instance="i-1",job="shop",quantile="0.99"} 4
rpc_latency_milliseconds_sum{instance="i-1",job="shop"} 10
rpc_latency_milliseconds_count{instance="i-1",job="shop"} 4
"#;
    assert_eq!(rendered(&loaded(), Format::Text, false), expected);
}

#[test]
fn open_metrics_format() {
    let expected = r#"# HELP target_info Target metadata
# TYPE target_info gauge
target_info{instance="i-1",job="shop",region="eu"} 1.0
# HELP cpu_utilization_ratio cpu.utilization help
# TYPE cpu_utilization_ratio gauge
cpu_utilization_ratio{instance="i-1",job="shop"} 0.25
# HELP http_duration_seconds 
# TYPE http_duration_seconds histogram
# UNIT http_duration_seconds seconds
http_duration_seconds_bucket{instance="i-1",job="shop",le="0.1"} 1.0
http_duration_seconds_bucket{instance="i-1",job="shop",le="1.0"} 3.0 # {trace_id="0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"} 0.5 1.700
http_duration_seconds_bucket{instance="i-1",job="shop",le="+Inf"} 4.0
http_duration_seconds_sum{instance="i-1",job="shop"} 2.25
http_duration_seconds_count{instance="i-1",job="shop"} 4.0
# HELP http_requests http.requests help
# TYPE http_requests counter
http_requests_total{code="200",instance="i-1",job="shop"} 7.0 # {span_id="0b0b0b0b0b0b0b0b",trace_id="0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"} 1.0 1.500
# HELP rpc_latency_milliseconds RPC \"latency\"\nper call
# TYPE rpc_latency_milliseconds summary
# UNIT rpc_latency_milliseconds milliseconds
rpc_latency_milliseconds{instance="i-1",job="shop",quantile="0.5"} 2.0
rpc_latency_milliseconds{instance="i-1",job="shop",quantile="0.99"} 4.0
rpc_latency_milliseconds_sum{instance="i-1",job="shop"} 10.0
rpc_latency_milliseconds_count{instance="i-1",job="shop"} 4.0
# EOF
"#;
    assert_eq!(rendered(&loaded(), Format::OpenMetrics, false), expected);
}

#[test]
fn timestamps_when_asked() {
    let out = rendered(&loaded(), Format::Text, true);
    assert!(
        out.contains("cpu_utilization_ratio{instance=\"i-1\",job=\"shop\"} 0.25 2000\n"),
        "{out}"
    );
    // target_info has no time of its own.
    assert!(out.contains("region=\"eu\"} 1\n"), "{out}");
    let out = rendered(&loaded(), Format::OpenMetrics, true);
    assert!(
        out.contains(
            "http_requests_total{code=\"200\",instance=\"i-1\",job=\"shop\"} 7.0 2.000 # {"
        ),
        "{out}"
    );
}

#[test]
fn exponential_histograms_render_count_and_sum_only() {
    let mut acc = Accumulator::new(settings());
    acc.accumulate(&request(vec![], vec![exponential()]), Instant::now());
    let out = rendered(&acc, Format::Text, false);
    assert_eq!(
        out,
        "# HELP size_bytes \n# TYPE size_bytes histogram\nsize_bytes_bucket{le=\"+Inf\"} 7\nsize_bytes_sum 70\nsize_bytes_count 7\n"
    );
}

#[test]
fn empty_exposition() {
    let acc = Accumulator::new(settings());
    assert_eq!(rendered(&acc, Format::Text, false), "");
    assert_eq!(rendered(&acc, Format::OpenMetrics, false), "# EOF\n");
}

#[test]
fn large_expositions_come_in_pieces_cut_at_line_ends() {
    let mut acc = Accumulator::new(settings());
    let points = (0..3000)
        .map(|i| point(vec![kv("series", &format!("s{i:05}"))], 0, 1, i as f64))
        .collect();
    acc.accumulate(
        &request(vec![], vec![gauge("g", "", points)]),
        Instant::now(),
    );
    let pieces = render(&acc, Format::OpenMetrics, false);
    assert!(pieces.len() > 1, "{} piece(s)", pieces.len());
    assert!(pieces.iter().all(|p| p.ends_with(b"\n")));
    let text = String::from_utf8(pieces.concat()).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("g{")).count(), 3000);
    assert!(text.contains("g{series=\"s02999\"} 2999.0\n"));
    assert!(text.ends_with("# EOF\n"));
}
