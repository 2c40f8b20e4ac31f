//! The `prometheus` exporter end to end: the real `weir` binary with an OTLP receiver feeding
//! the exporter on loopback ports, metrics sent by an OTLP/gRPC client.
//!
//! - `text_exposition_over_http`: a plain GET of `/metrics` shows each type with otelcol's
//!   names and labels (suffixes, `_total`, buckets with `+Inf`, quantiles, `target_info`,
//!   scope labels, const labels), delta sums accumulated, a sanitised name; an OpenMetrics
//!   scrape of the same exporter ends in `# EOF` and carries exemplars.
//! - `debian_prometheus_scrapes_both_formats`: Debian's `prometheus` binary scrapes one
//!   exporter in text format and one in OpenMetrics every second; its query API then shows
//!   the series with the right names, labels, bucket counts and values (a delta counter sent
//!   in two requests arrives summed). Fails, saying so, when `prometheus` is not on PATH.
//! - `reload_keeps_the_port_and_applies_the_new_settings`: SIGHUP with the exporter's
//!   namespace changed on the same port; the new names are served.
//! - `serves_https_with_tls`: `tls:` serves HTTPS (curl with the test CA); plaintext fails.

mod common;

use std::process::Command;

use common::ports::free_port;
use common::prometheus_server::{Prometheus, get, label};
use common::weir::Weir;
use common::{DEADLINE, Ports, wait_until};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar,
    metric::Data, number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn kv(key: &str, value: &str) -> KeyValue {
    common::otlp::kv(key, any_value::Value::StringValue(value.into()))
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

fn number(attributes: Vec<KeyValue>, start: u64, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn sum(name: &str, unit: &str, delta: bool, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} counted"),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: if delta {
                AggregationTemporality::Delta
            } else {
                AggregationTemporality::Cumulative
            } as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// The resource, scope and metrics every test sends; `delta` is the second or first part of
/// the delta counter `jobs.done` (3 then 4, contiguous).
fn request(start: u64, time: u64, second: bool) -> ExportMetricsServiceRequest {
    let mut metrics = vec![sum(
        "jobs.done",
        "{job}",
        true,
        vec![if second {
            number(vec![], time, time + 1_000_000, 4.0)
        } else {
            number(vec![], start, time, 3.0)
        }],
    )];
    if !second {
        let mut requests = number(vec![kv("http.method", "GET")], start, time, 5.0);
        requests.exemplars = vec![Exemplar {
            time_unix_nano: time,
            trace_id: vec![0x4b; 16],
            span_id: vec![0x1f; 8],
            value: Some(exemplar::Value::AsDouble(1.0)),
            ..Default::default()
        }];
        metrics.extend([
            sum("http.server.requests", "{request}", false, vec![requests]),
            Metric {
                name: "memory.usage".into(),
                unit: "By".into(),
                description: "Resident memory".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![number(vec![], 0, time, 2048.0)],
                })),
                ..Default::default()
            },
            Metric {
                name: "http.server.duration".into(),
                unit: "s".into(),
                description: "Request latency".into(),
                data: Some(Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![kv("route", "/a")],
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        count: 6,
                        sum: Some(2.75),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![0.1, 0.5],
                        ..Default::default()
                    }],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })),
                ..Default::default()
            },
            Metric {
                name: "rpc.latency".into(),
                unit: "ms".into(),
                data: Some(Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        count: 10,
                        sum: 55.0,
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 4.0,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 9.5,
                            },
                        ],
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            },
            Metric {
                name: "2nd-queue/depth".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![number(vec![kv("queue.name", "q1")], 0, time, 7.0)],
                })),
                ..Default::default()
            },
        ]);
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "checkout"),
                    kv("service.namespace", "shop"),
                    kv("service.instance.id", "i-1"),
                    kv("host.name", "node-7"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "shop.meter".into(),
                    version: "1.4".into(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Sends both requests (the delta counter's two parts) over OTLP/gRPC.
async fn send(ports: &Ports) {
    let mut client = MetricsServiceClient::new(common::grpc::channel(ports.grpc));
    let time = now_nanos();
    let start = time - 60_000_000_000;
    for second in [false, true] {
        client
            .export(request(start, time, second))
            .await
            .expect("Weir takes the metrics");
    }
}

fn weir_config(ports: &Ports, exporters: &[(&str, String)]) -> String {
    let ids: Vec<&str> = exporters.iter().map(|(id, _)| *id).collect();
    common::weir_yaml(ports, "", "", None, exporters, &[("metrics", &ids)])
}

/// Scrapes until `needle` shows up (the receiver answers before the exporter's queue has
/// delivered), returning the body.
fn scrape_until(port: u16, headers: &str, needle: &str) -> String {
    let mut last = String::new();
    let found = wait_until(DEADLINE, || match get(port, "/metrics", headers) {
        Ok((_, _, body)) => {
            last = body;
            last.contains(needle)
        }
        Err(_) => false,
    });
    assert!(
        found,
        "`{needle}` never appeared in the exposition:\n{last}"
    );
    last
}

const SCOPE: &str =
    r#"otel_scope_name="shop.meter",otel_scope_schema_url="",otel_scope_version="1.4""#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_exposition_over_http() {
    let ports = Ports::free();
    let exporter_port = free_port();
    let config = weir_config(
        &ports,
        &[(
            "prometheus",
            format!(
                "endpoint: \"127.0.0.1:{exporter_port}\", enable_open_metrics: true, const_labels: {{ env: test }}"
            ),
        )],
    );
    let mut wait = ports.all().to_vec();
    wait.push(exporter_port);
    let weir = Weir::start(&config, &wait);
    send(&ports).await;

    let labels = format!(r#"env="test",instance="i-1",job="shop/checkout",{SCOPE}"#);
    let text = scrape_until(exporter_port, "", "jobs_done_total{");
    let (status, headers, _) = get(exporter_port, "/metrics", "").unwrap();
    assert!(status.contains(" 200"), "{status}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    for line in [
        "# HELP target_info Target metadata".to_string(),
        "# TYPE target_info gauge".to_string(),
        r#"target_info{host_name="node-7",instance="i-1",job="shop/checkout"} 1"#.to_string(),
        "# HELP http_server_requests_total http.server.requests counted".to_string(),
        "# TYPE http_server_requests_total counter".to_string(),
        format!(
            r#"http_server_requests_total{{env="test",http_method="GET",instance="i-1",job="shop/checkout",{SCOPE}}} 5"#
        ),
        // The delta counter's two requests, 3 then 4, summed.
        format!("jobs_done_total{{{labels}}} 7"),
        "# TYPE memory_usage_bytes gauge".to_string(),
        format!("memory_usage_bytes{{{labels}}} 2048"),
        "# HELP http_server_duration_seconds Request latency".to_string(),
        "# TYPE http_server_duration_seconds histogram".to_string(),
        format!(
            r#"http_server_duration_seconds_bucket{{env="test",instance="i-1",job="shop/checkout",{SCOPE},route="/a",le="0.1"}} 1"#
        ),
        format!(
            r#"http_server_duration_seconds_bucket{{env="test",instance="i-1",job="shop/checkout",{SCOPE},route="/a",le="0.5"}} 3"#
        ),
        format!(
            r#"http_server_duration_seconds_bucket{{env="test",instance="i-1",job="shop/checkout",{SCOPE},route="/a",le="+Inf"}} 6"#
        ),
        format!(
            r#"http_server_duration_seconds_sum{{env="test",instance="i-1",job="shop/checkout",{SCOPE},route="/a"}} 2.75"#
        ),
        format!(
            r#"http_server_duration_seconds_count{{env="test",instance="i-1",job="shop/checkout",{SCOPE},route="/a"}} 6"#
        ),
        "# TYPE rpc_latency_milliseconds summary".to_string(),
        format!(r#"rpc_latency_milliseconds{{{labels},quantile="0.5"}} 4"#),
        format!(r#"rpc_latency_milliseconds{{{labels},quantile="0.99"}} 9.5"#),
        format!("rpc_latency_milliseconds_sum{{{labels}}} 55"),
        format!("rpc_latency_milliseconds_count{{{labels}}} 10"),
        // `2nd-queue/depth`: invalid characters become `_`, a leading digit gets one too.
        format!(
            r#"_2nd_queue_depth{{env="test",instance="i-1",job="shop/checkout",{SCOPE},queue_name="q1"}} 7"#
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing line `{line}` in:\n{text}"
        );
    }
    assert!(!text.contains("# EOF"), "{text}");
    assert!(!text.contains(" # {"), "exemplars in text format:\n{text}");

    let accept =
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n";
    let (_, headers, om) = get(exporter_port, "/metrics", accept).unwrap();
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{headers}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE http_server_requests counter\n"), "{om}");
    assert!(om.contains("# UNIT memory_usage_bytes bytes\n"), "{om}");
    let exemplar = format!(
        r#" # {{span_id="{}",trace_id="{}"}} 1.0 "#,
        "1f".repeat(8),
        "4b".repeat(16)
    );
    assert!(
        om.lines()
            .any(|l| l.starts_with("http_server_requests_total{") && l.contains(&exemplar)),
        "no exemplar on the counter:\n{om}"
    );
    drop(weir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_prometheus_scrapes_both_formats() {
    let ports = Ports::free();
    let [text_port, om_port] = common::ports::free_ports::<2>();
    let config = weir_config(
        &ports,
        &[
            (
                "prometheus/text",
                format!("endpoint: \"127.0.0.1:{text_port}\", const_labels: {{ format: text }}"),
            ),
            (
                "prometheus/om",
                format!(
                    "endpoint: \"127.0.0.1:{om_port}\", enable_open_metrics: true, const_labels: {{ format: om }}"
                ),
            ),
        ],
    );
    let mut wait = ports.all().to_vec();
    wait.extend([text_port, om_port]);
    let weir = Weir::start(&config, &wait);
    let prometheus = Prometheus::start(&[("weir_text", text_port), ("weir_om", om_port)]);
    send(&ports).await;

    for format in ["text", "om"] {
        let sel = |name: &str, extra: &str| format!("{name}{{format=\"{format}\"{extra}}}");
        let (labels, value) = prometheus.one(&sel("http_server_requests_total", ""));
        assert_eq!(value, 5.0, "{format}: {labels:?}");
        assert_eq!(
            label(&labels, "job"),
            "shop/checkout",
            "{format}: {labels:?}"
        );
        assert_eq!(label(&labels, "instance"), "i-1", "{format}: {labels:?}");
        assert_eq!(label(&labels, "http_method"), "GET", "{format}: {labels:?}");
        assert_eq!(
            label(&labels, "otel_scope_name"),
            "shop.meter",
            "{format}: {labels:?}"
        );
        assert_eq!(
            label(&labels, "otel_scope_version"),
            "1.4",
            "{format}: {labels:?}"
        );

        let (_, value) = prometheus.one(&sel("jobs_done_total", ""));
        assert_eq!(value, 7.0, "{format}: the delta counter's parts summed");
        let (_, value) = prometheus.one(&sel("memory_usage_bytes", ""));
        assert_eq!(value, 2048.0, "{format}");
        for (le, count) in [("0.1", 1.0), ("0.5", 3.0), ("+Inf", 6.0)] {
            let (labels, value) = prometheus.one(&sel(
                "http_server_duration_seconds_bucket",
                &format!(",le=\"{le}\""),
            ));
            assert_eq!(value, count, "{format}: bucket le={le}: {labels:?}");
            assert_eq!(label(&labels, "route"), "/a", "{format}: {labels:?}");
        }
        let (_, value) = prometheus.one(&sel("http_server_duration_seconds_count", ""));
        assert_eq!(value, 6.0, "{format}");
        let (_, value) = prometheus.one(&sel("http_server_duration_seconds_sum", ""));
        assert_eq!(value, 2.75, "{format}");
        let (_, value) = prometheus.one(&sel("rpc_latency_milliseconds", ",quantile=\"0.99\""));
        assert_eq!(value, 9.5, "{format}");
        let (labels, _) = prometheus.one(&sel("_2nd_queue_depth", ""));
        assert_eq!(label(&labels, "queue_name"), "q1", "{format}: {labels:?}");
    }
    // target_info carries no const labels (as otelcol's): both exporters give the same series.
    let (labels, value) = prometheus.one("target_info{job=\"shop/checkout\",instance=\"i-1\"}");
    assert_eq!(value, 1.0);
    assert_eq!(label(&labels, "host_name"), "node-7", "{labels:?}");
    drop(prometheus);
    drop(weir);
}

/// A reload that changes the exporter's config on the same port: the old instance lets the
/// port go before the new one binds, and the new settings are what is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_the_port_and_applies_the_new_settings() {
    let ports = Ports::free();
    let exporter_port = free_port();
    let config = |namespace: &str| {
        weir_config(
            &ports,
            &[(
                "prometheus",
                format!("endpoint: \"127.0.0.1:{exporter_port}\", namespace: {namespace}"),
            )],
        )
    };
    let mut wait = ports.all().to_vec();
    wait.push(exporter_port);
    let weir = Weir::start(&config("one"), &wait);
    send(&ports).await;
    scrape_until(exporter_port, "", "one_jobs_done_total{");

    std::fs::write(weir.config_dir().join("config-0.yaml"), config("two")).unwrap();
    let status = Command::new("kill")
        .arg("-HUP")
        .arg(weir.pid().to_string())
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    assert!(
        weir.wait_for_log("config reloaded", DEADLINE),
        "no reload:\n{}",
        weir.logs()
    );
    send(&ports).await;
    let text = scrape_until(exporter_port, "", "two_jobs_done_total{");
    assert!(!text.contains("one_jobs_done_total"), "{text}");
    assert!(!weir.logs().contains("cannot listen"), "{}", weir.logs());
}

/// `tls:` serves /metrics over HTTPS (curl trusting the test CA gets the exposition); a
/// plaintext scrape gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_tls() {
    use common::certs::{Pki, Role};
    let pki = Pki::new("prom");
    let server = pki.issue(Role::Server, "server");
    let ports = Ports::free();
    let exporter_port = free_port();
    let config = weir_config(
        &ports,
        &[(
            "prometheus",
            format!(
                "endpoint: \"127.0.0.1:{exporter_port}\", tls: {{ cert_file: \"{}\", key_file: \"{}\" }}",
                server.cert.display(),
                server.key.display()
            ),
        )],
    );
    let mut wait = ports.all().to_vec();
    wait.push(exporter_port);
    let weir = Weir::start(&config, &wait);
    send(&ports).await;
    let url = format!("https://127.0.0.1:{exporter_port}/metrics");
    let mut body = String::new();
    let served = wait_until(DEADLINE, || {
        let output = Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(pki.ca_file())
            .arg(&url)
            .output()
            .expect("curl runs (.ci/run installs it)");
        body = String::from_utf8_lossy(&output.stdout).into_owned();
        body.contains("jobs_done_total{")
    });
    assert!(served, "no exposition over HTTPS: {body}\n{}", weir.logs());
    assert!(
        get(exporter_port, "/metrics", "").map_or(true, |(status, _, _)| !status.contains(" 200")),
        "plaintext scrape served"
    );
}
