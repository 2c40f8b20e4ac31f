//! The exporter end to end in process: config parsing, the server on a free port, formats
//! negotiated by `Accept`, gzip, a port in use, and the factory's validation.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_core::batch::BatchMeta;
use weir_core::component::{ComponentConfig, ComponentId};

use super::accumulator::tests::{gauge, kv, point, request, sum};
use super::*;

fn config(yaml: serde_json::Value) -> PrometheusConfig {
    serde_json::from_value(yaml).expect("config parses")
}

fn exporter(config: &PrometheusConfig) -> PrometheusExporter {
    PrometheusExporter::new(
        config,
        &CreateSettings {
            id: ComponentId::new("prometheus", None),
            signal: None,
            pipeline: None,
            host: Default::default(),
        },
    )
}

/// One HTTP/1.1 GET; returns the head and the body.
async fn get(addr: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    (head, response[split + 4..].to_vec())
}

fn metrics_batch() -> Batch {
    let request = request(
        vec![kv("service.name", "svc")],
        vec![
            sum("jobs.done", "", true, false, vec![point(vec![], 1, 2, 3.0)]),
            gauge("temperature", "Cel", vec![point(vec![], 0, 2, 20.5)]),
        ],
    );
    Batch::from_request(Request::Metrics(request), Arc::new(BatchMeta::default()))
}

#[test]
fn defaults_and_validation() {
    let defaults = PrometheusConfig::default();
    assert_eq!(
        defaults.metric_expiration,
        std::time::Duration::from_secs(300)
    );
    assert!(defaults.add_metric_suffixes);
    assert!(!defaults.send_timestamps);
    assert!(!defaults.enable_open_metrics);
    let problems = defaults.validate().unwrap_err();
    assert!(problems[0].contains("endpoint is required"), "{problems:?}");
    let bad = config(serde_json::json!({
        "endpoint": "localhost:0",
        "const_labels": {"bad-name": "x", "__reserved": "y", "fine": "z"},
        "metric_expiration": "0s",
        "translation_strategy": "NoTranslation",
    }));
    let problems = bad.validate().unwrap_err().join("\n");
    assert!(problems.contains("const_labels.bad-name"), "{problems}");
    assert!(problems.contains("const_labels.__reserved"), "{problems}");
    assert!(!problems.contains("const_labels.fine"), "{problems}");
    assert!(problems.contains("metric_expiration"), "{problems}");
    assert!(
        problems.contains("translation_strategy `NoTranslation`"),
        "{problems}"
    );
    assert!(
        serde_json::from_value::<PrometheusConfig>(
            serde_json::json!({"endpoint": "x:1", "cors": {}})
        )
        .is_err()
    );
}

#[test]
fn translation_strategy_wins_over_add_metric_suffixes() {
    let plain = config(serde_json::json!({"endpoint": "x:1", "add_metric_suffixes": false}));
    assert_eq!(
        plain
            .namer()
            .metric_name("a.b", "s", naming::Shape::Counter)
            .as_deref(),
        Some("a_b")
    );
    let strategy = config(serde_json::json!({
        "endpoint": "x:1",
        "add_metric_suffixes": false,
        "translation_strategy": "UnderscoreEscapingWithSuffixes",
    }));
    assert_eq!(
        strategy
            .namer()
            .metric_name("a.b", "s", naming::Shape::Counter)
            .as_deref(),
        Some("a_b_seconds_total")
    );
}

#[tokio::test]
async fn serves_text_and_open_metrics_and_gzip() {
    let exporter = exporter(&config(serde_json::json!({
        "endpoint": "127.0.0.1:0",
        "enable_open_metrics": true,
        "namespace": "app",
        "without_scope_info": true,
    })));
    exporter.start().await.expect("starts");
    let addr = exporter.local_addr().expect("bound");
    exporter.export(&metrics_batch()).await.expect("exported");

    let (head, body) = get(addr, "/metrics", "").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("# TYPE app_jobs_done_total counter\n"),
        "{body}"
    );
    assert!(
        body.contains("app_jobs_done_total{job=\"svc\"} 3\n"),
        "{body}"
    );
    assert!(
        body.contains("app_temperature_celsius{job=\"svc\"} 20.5\n"),
        "{body}"
    );
    assert!(body.contains("app_target_info{job=\"svc\"} 1\n"), "{body}");

    let accept =
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n";
    let (head, body) = get(addr, "/metrics", accept).await;
    assert!(
        head.to_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("# TYPE app_jobs_done counter\n"), "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");

    let (head, body) = get(addr, "/metrics", "Accept-Encoding: gzip\r\n").await;
    assert!(
        head.to_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text).unwrap();
    assert!(
        text.contains("app_jobs_done_total{job=\"svc\"} 3\n"),
        "{text}"
    );

    let (head, _) = get(addr, "/other", "").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    exporter.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test]
async fn open_metrics_is_not_served_unless_enabled() {
    let exporter = exporter(&config(serde_json::json!({"endpoint": "127.0.0.1:0"})));
    exporter.start().await.expect("starts");
    let (head, _) = get(
        exporter.local_addr().unwrap(),
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0\r\n",
    )
    .await;
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_port_in_use_fails_start() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = taken.local_addr().unwrap().to_string();
    let exporter = exporter(&config(serde_json::json!({"endpoint": endpoint})));
    let error = exporter.start().await.unwrap_err();
    assert!(error.contains("cannot listen on"), "{error}");
}

#[tokio::test]
async fn traces_are_refused() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let exporter = exporter(&config(serde_json::json!({"endpoint": "127.0.0.1:0"})));
    let batch = Batch::from_request(
        Request::Traces(ExportTraceServiceRequest::default()),
        Arc::new(BatchMeta::default()),
    );
    assert!(matches!(
        exporter.export(&batch).await,
        Err(ExportError::Permanent { .. })
    ));
}
