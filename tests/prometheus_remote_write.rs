//! The `prometheusremotewrite` exporter end to end: the real `weir` binary with an OTLP
//! receiver feeding the exporter, metrics sent by an OTLP/gRPC client, and Debian's
//! `prometheus` binary as the remote write receiver (`--web.enable-remote-write-receiver`).
//! Fails, saying so, when `prometheus` is not on PATH.
//!
//! - `series_arrive_in_prometheus`: a gauge, a counter, a histogram and a summary arrive with
//!   otelcol's names and labels (`job`, `instance`, external labels, `target_info`), values and
//!   cumulative buckets, as Prometheus's query API shows them.
//! - `delivered_once_prometheus_starts`: the exporter retries while nothing listens on the
//!   endpoint; Prometheus started later on that port gets the data.
//! - `a_refusal_is_permanent_and_not_retried`: a sample older than Prometheus's head accepts
//!   gets a 400 (out of bounds); the batch is counted as a permanent failure, never retried.

mod common;

use common::ports::free_port;
use common::prometheus_server::{Prometheus, label};
use common::weir::Weir;
use common::{DEADLINE, Ports, prom, wait_until};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
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

fn number(attributes: Vec<KeyValue>, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: time - 60_000_000_000,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

/// One resource (`shop/checkout`, instance `i-1`, host `node-7`) with `metrics`.
fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
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
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A gauge, a monotonic cumulative counter, a histogram and a summary at `time`.
fn every_type(time: u64) -> ExportMetricsServiceRequest {
    let cumulative = AggregationTemporality::Cumulative as i32;
    request(vec![
        gauge("memory.usage", "By", vec![number(vec![], time, 2048.0)]),
        Metric {
            name: "http.server.requests".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![number(vec![kv("http.method", "GET")], time, 5.0)],
                aggregation_temporality: cumulative,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        Metric {
            name: "http.server.duration".into(),
            unit: "s".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: vec![kv("route", "/a")],
                    time_unix_nano: time,
                    count: 6,
                    sum: Some(2.75),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![0.1, 0.5],
                    ..Default::default()
                }],
                aggregation_temporality: cumulative,
            })),
            ..Default::default()
        },
        Metric {
            name: "rpc.latency".into(),
            unit: "ms".into(),
            data: Some(Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
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
    ])
}

async fn send(ports: &Ports, request: ExportMetricsServiceRequest) {
    MetricsServiceClient::new(common::grpc::channel(ports.grpc))
        .export(request)
        .await
        .expect("Weir takes the metrics");
}

/// Weir with the exporter writing to 127.0.0.1:`port` (short retries, external label
/// `region: eu`).
fn start_weir(ports: &Ports, port: u16) -> Weir {
    let exporter = format!(
        "endpoint: \"http://127.0.0.1:{port}/api/v1/write\", external_labels: {{ region: eu }}, \
         retry_on_failure: {{ initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }}"
    );
    let config = common::weir_yaml(
        ports,
        "",
        "",
        None,
        &[("prometheusremotewrite", exporter)],
        &[("metrics", &["prometheusremotewrite"])],
    );
    Weir::start(&config, &ports.all())
}

/// One of Weir's own metrics for this exporter.
fn weir_metric(ports: &Ports, name: &str, extra: &[(&str, &str)]) -> f64 {
    let Ok(text) = prom::scrape(ports.metrics) else {
        return 0.0;
    };
    let mut labels = vec![("exporter", "prometheusremotewrite")];
    labels.extend_from_slice(extra);
    prom::value(&text, name, &labels).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_arrive_in_prometheus() {
    let prometheus = Prometheus::start_receiver(None);
    let ports = Ports::free();
    let weir = start_weir(&ports, prometheus.port());
    send(&ports, every_type(now_nanos())).await;

    let (labels, value) = prometheus.one("memory_usage_bytes");
    assert_eq!(value, 2048.0);
    assert_eq!(label(&labels, "job"), "shop/checkout");
    assert_eq!(label(&labels, "instance"), "i-1");
    assert_eq!(label(&labels, "region"), "eu");
    assert_eq!(
        labels.len(),
        4,
        "__name__, job, instance, region: {labels:?}"
    );

    let (labels, value) = prometheus.one("http_server_requests_total");
    assert_eq!(value, 5.0);
    assert_eq!(label(&labels, "http_method"), "GET");

    for (le, count) in [("0.1", 1.0), ("0.5", 3.0), ("+Inf", 6.0)] {
        let query = format!("http_server_duration_seconds_bucket{{le=\"{le}\"}}");
        let (labels, value) = prometheus.one(&query);
        assert_eq!(value, count, "bucket le={le}");
        assert_eq!(label(&labels, "route"), "/a");
    }
    assert_eq!(prometheus.one("http_server_duration_seconds_sum").1, 2.75);
    assert_eq!(prometheus.one("http_server_duration_seconds_count").1, 6.0);
    assert_eq!(
        prometheus
            .query("http_server_duration_seconds_bucket")
            .len(),
        3,
        "two bounds and +Inf"
    );
    // histogram_quantile works over the buckets as over scraped ones.
    let (_, median) =
        prometheus.one("histogram_quantile(0.5, http_server_duration_seconds_bucket)");
    assert!(median > 0.1 && median <= 0.5, "median {median}");

    assert_eq!(
        prometheus
            .one(r#"rpc_latency_milliseconds{quantile="0.5"}"#)
            .1,
        4.0
    );
    assert_eq!(
        prometheus
            .one(r#"rpc_latency_milliseconds{quantile="0.99"}"#)
            .1,
        9.5
    );
    assert_eq!(prometheus.one("rpc_latency_milliseconds_sum").1, 55.0);
    assert_eq!(prometheus.one("rpc_latency_milliseconds_count").1, 10.0);

    let (labels, value) = prometheus.one("target_info");
    assert_eq!(value, 1.0);
    assert_eq!(label(&labels, "host_name"), "node-7");
    assert_eq!(label(&labels, "job"), "shop/checkout");

    // 1 gauge + 1 counter + 5 histogram + 4 summary + target_info samples.
    let sent = wait_until(DEADLINE, || {
        weir_metric(
            &ports,
            "weir_exporter_prometheusremotewrite_sent_samples_total",
            &[],
        ) == 12.0
    });
    assert!(sent, "sent samples counted:\n{}", weir.logs());
    drop(weir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_once_prometheus_starts() {
    let port = free_port();
    let ports = Ports::free();
    let weir = start_weir(&ports, port);
    send(&ports, every_type(now_nanos())).await;
    let retried = wait_until(DEADLINE, || {
        weir_metric(
            &ports,
            "weir_exporter_retries_total",
            &[("data_type", "metrics")],
        ) >= 2.0
    });
    assert!(retried, "the exporter never retried:\n{}", weir.logs());
    assert_eq!(
        weir_metric(
            &ports,
            "weir_exporter_prometheusremotewrite_sent_samples_total",
            &[]
        ),
        0.0
    );

    let prometheus = Prometheus::start_receiver(Some(port));
    assert_eq!(prometheus.one("http_server_requests_total").1, 5.0);
    assert_eq!(
        prometheus
            .one(r#"http_server_duration_seconds_bucket{le="+Inf"}"#)
            .1,
        6.0
    );
    assert!(
        weir_metric(
            &ports,
            "weir_exporter_prometheusremotewrite_failed_samples_total",
            &[("failure", "retryable")]
        ) >= 24.0,
        "two failed attempts of 12 samples each"
    );
    drop(weir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_permanent_and_not_retried() {
    let prometheus = Prometheus::start_receiver(None);
    let ports = Ports::free();
    let weir = start_weir(&ports, prometheus.port());
    let now = now_nanos();
    send(
        &ports,
        request(vec![gauge("fresh", "", vec![number(vec![], now, 1.0)])]),
    )
    .await;
    assert_eq!(prometheus.one("fresh").1, 1.0);

    // A day older than the head's newest sample: Prometheus answers 400 (out of bounds) to
    // the request, the gauge's sample and its resource's `target_info`.
    let day = 86_400_000_000_000;
    send(
        &ports,
        request(vec![gauge(
            "stale",
            "",
            vec![number(vec![], now - day, 1.0)],
        )]),
    )
    .await;
    let refused = wait_until(DEADLINE, || {
        weir_metric(
            &ports,
            "weir_exporter_prometheusremotewrite_failed_samples_total",
            &[("failure", "permanent")],
        ) == 2.0
    });
    assert!(refused, "no permanent failure counted:\n{}", weir.logs());
    let failed_points = wait_until(DEADLINE, || {
        weir_metric(
            &ports,
            "otelcol_exporter_send_failed_metric_points_total",
            &[],
        ) == 1.0
    });
    assert!(
        failed_points,
        "the runtime counts the failed point:\n{}",
        weir.logs()
    );
    assert_eq!(
        weir_metric(
            &ports,
            "weir_exporter_retries_total",
            &[("data_type", "metrics")]
        ),
        0.0,
        "a 400 is not retried"
    );
    assert!(
        weir.logs().contains("out of bounds"),
        "the server's reason is logged:\n{}",
        weir.logs()
    );
    assert!(prometheus.query("stale").is_empty());
    drop(weir);
}
