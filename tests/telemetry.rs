//! Weir's own telemetry through the real binary: the `health_check` extension (otelcol's answer,
//! turning unhealthy while an exporter keeps failing or its queue is full, and healthy again
//! once the backend appears) and `/metrics` (process metrics, the receivers' `transport` label,
//! `otelcol_exporter_enqueue_failed_*` when a full queue refuses a batch).
//!
//! Real processes cannot use paused time: the retry backoff and the health check's interval are
//! shortened through the config, and every wait polls with a deadline.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::weir::Weir;
use common::{DEADLINE, Ports, http_client, otlp, ports, prom, wait_until_async, weir_yaml};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tonic::codegen::Service as _;

/// `GET path` on 127.0.0.1:`port`: the status code and the body, or why it failed.
fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP header end in {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Polls the health check until it answers `want`; returns the last answer as JSON.
async fn health_until(port: u16, want: u16) -> (u16, serde_json::Value) {
    let mut last = (0, serde_json::Value::Null);
    wait_until_async(DEADLINE, || {
        if let Ok((status, body)) = get(port, "/health") {
            last = (
                status,
                serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
            );
        }
        last.0 == want
    })
    .await;
    last
}

/// The `health_check` extension on `port`, checking the pipelines every 100 ms, as a config
/// file to merge over the pipeline's.
fn health_yaml(port: u16) -> String {
    format!(
        "extensions:\n  health_check:\n    endpoint: \"127.0.0.1:{port}\"\n    path: /health\n    \
         check_collector_pipeline: {{ enabled: true, interval: 100ms, exporter_failure_threshold: 1s }}\n\
         service:\n  extensions: [health_check]\n"
    )
}

/// A small OTLP/gRPC trace backend that accepts everything and counts the spans.
#[derive(Clone, Default)]
struct Backend {
    spans: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl TraceService for Backend {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.spans
            .fetch_add(otlp::span_count(request.get_ref()), Ordering::SeqCst);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Serves `backend` over HTTP/2 (gRPC) on `listener` until the task is aborted.
async fn serve_backend(listener: tokio::net::TcpListener, backend: Backend) {
    let service = TraceServiceServer::new(backend);
    while let Ok((stream, _)) = listener.accept().await {
        let service = service.clone();
        let hyper_service = hyper::service::service_fn(move |request| {
            let mut service = service.clone();
            async move { service.call(request).await }
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await;
        });
    }
}

async fn send_spans(ports: &Ports, seed: u8, n: usize) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::new(common::grpc::channel(ports.grpc));
    client
        .export(otlp::trace_request(seed, n))
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_turns_unavailable_while_an_exporter_fails_and_recovers_with_its_backend() {
    let ports = Ports::free();
    let health = ports::free_port();
    // Nothing listens here until the test starts the backend.
    let reserved = ports::Reserved::new();
    let backend_port = reserved.port();
    let exporter = format!(
        "endpoint: \"http://127.0.0.1:{backend_port}\", compression: none, \
         retry_on_failure: {{ enabled: true, initial_interval: 100ms, multiplier: 1.5, \
         randomization_factor: 0, max_interval: 200ms, max_elapsed_time: 0 }}"
    );
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        None,
        &[("otlp", exporter)],
        &[("traces", &["otlp"])],
    );
    let weir = Weir::builder()
        .config(yaml)
        .config(health_yaml(health))
        .wait_for(ports.grpc)
        .wait_for(ports.metrics)
        .wait_for(health)
        .start();

    let (status, body) = health_until(health, 200).await;
    assert_eq!(status, 200, "{body}\nlogs:\n{}", weir.logs());
    let fields: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        ["status", "upSince", "uptime"],
        "otelcol's shape: {body}"
    );
    assert_eq!(body["status"], "Server available");
    let up_since = body["upSince"].as_str().unwrap_or_default();
    assert!(
        up_since.len() >= 20 && up_since.as_bytes()[10] == b'T' && up_since.ends_with('Z'),
        "RFC 3339: {up_since}"
    );
    assert!(
        body["uptime"].as_str().unwrap_or_default().ends_with('s'),
        "{body}"
    );

    send_spans(&ports, 1, 5)
        .await
        .expect("weir takes the spans");
    let (status, body) = health_until(health, 503).await;
    assert_eq!(
        status,
        503,
        "still healthy while the exporter fails: {body}\nlogs:\n{}",
        weir.logs()
    );
    assert_eq!(body["status"], "Server not available");
    let unhealthy = &body["unhealthy"][0];
    assert_eq!(unhealthy["reason"], "exporter_failing", "{body}");
    assert_eq!(unhealthy["exporter"], "otlp", "{body}");
    assert_eq!(unhealthy["dataType"], "traces", "{body}");

    let backend = Backend::default();
    let listener = reserved.listen();
    let server = tokio::spawn(serve_backend(listener, backend.clone()));
    let (status, body) = health_until(health, 200).await;
    assert_eq!(
        status,
        200,
        "not healthy again after the backend appeared: {body}\nlogs:\n{}",
        weir.logs()
    );
    assert!(body.get("unhealthy").is_none(), "{body}");
    let delivered = wait_until_async(DEADLINE, || backend.spans.load(Ordering::SeqCst) == 5).await;
    assert!(delivered, "the retried spans reach the backend");

    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
    server.abort();
}

/// A backend that accepts connections and never answers, so the one export in flight holds the
/// queue's only slot. Dropping it closes every connection and the port.
struct BlackHole {
    port: u16,
    accept: tokio::task::JoinHandle<()>,
    held: Arc<Mutex<Vec<tokio::net::TcpStream>>>,
}

impl BlackHole {
    async fn start() -> BlackHole {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("binding the black hole");
        let port = listener.local_addr().expect("its address").port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                keep.lock().unwrap_or_else(|e| e.into_inner()).push(stream);
            }
        });
        BlackHole { port, accept, held }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.accept.abort();
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_process_transports_and_batches_a_full_queue_refused() {
    let hole = BlackHole::start().await;
    let ports = Ports::free();
    let health = ports::free_port();
    let exporter = format!(
        "endpoint: \"http://127.0.0.1:{}\", compression: none, timeout: 60s, \
         retry_on_failure: {{ enabled: false }}, sending_queue: {{ queue_size: 1, num_consumers: 1 }}",
        hole.port
    );
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        None,
        &[("otlp", exporter)],
        &[("traces", &["otlp"])],
    );
    let weir = Weir::builder()
        .config(yaml)
        .config(health_yaml(health))
        .wait_for(ports.grpc)
        .wait_for(ports.http)
        .wait_for(ports.metrics)
        .wait_for(health)
        .start();

    // The first batch takes the queue's only slot and stays in flight.
    send_spans(&ports, 1, 3)
        .await
        .expect("an empty queue takes the batch");
    let queue = [("exporter", "otlp"), ("data_type", "traces")];
    let full = wait_until_async(DEADLINE, || {
        prom::counter(ports.metrics, "otelcol_exporter_queue_size", &queue) == Some(1.0)
    })
    .await;
    assert!(
        full,
        "the queue never held the batch\nlogs:\n{}",
        weir.logs()
    );

    // The second, over OTLP/HTTP, finds the queue full and is refused at once.
    let body = otlp::trace_request(2, 2).encode_to_vec();
    let answer = http_client::post(&ports.http_url("traces"), "application/x-protobuf", body)
        .await
        .expect("the HTTP receiver answers");
    assert_eq!(answer.status, 503, "{}", answer.text());

    let text = prom::scrape(ports.metrics).expect("scraping /metrics");
    let value = |name: &str, labels: &[(&str, &str)]| prom::value(&text, name, labels);
    assert_eq!(
        value(
            "otelcol_exporter_enqueue_failed_spans_total",
            &[("exporter", "otlp")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            "otelcol_receiver_accepted_spans_total",
            &[("receiver", "otlp"), ("transport", "grpc")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            "otelcol_receiver_refused_spans_total",
            &[("receiver", "otlp"), ("transport", "http")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            "otelcol_receiver_refused_spans_total",
            &[("receiver", "otlp"), ("transport", "grpc")]
        ),
        Some(0.0),
        "{text}"
    );
    let uptime = value("otelcol_process_uptime_seconds_total", &[]).unwrap_or(0.0);
    assert!(uptime > 0.0, "uptime {uptime}: {text}");
    let rss = value("otelcol_process_memory_rss_bytes", &[]).unwrap_or(0.0);
    assert!(rss > 1024.0 * 1024.0, "rss {rss}: {text}");
    let cpu = value("otelcol_process_cpu_seconds_total", &[]);
    assert!(cpu.is_some_and(|c| c >= 0.0), "{text}");
    // The batch in flight is held until its export ends.
    let held = value("weir_held_bytes", &[]).unwrap_or(0.0);
    assert!(held > 0.0, "held bytes {held}: {text}");
    assert!(
        value("weir_held_batches", &[]).is_some_and(|b| b >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE otelcol_process_memory_rss_bytes gauge\n"),
        "{text}"
    );

    let (status, body) = health_until(health, 503).await;
    assert_eq!(status, 503, "healthy with a full queue: {body}");
    let unhealthy = &body["unhealthy"][0];
    assert_eq!(unhealthy["reason"], "queue_full", "{body}");
    assert_eq!(unhealthy["exporter"], "otlp", "{body}");
    assert_eq!(unhealthy["queueSize"], 1, "{body}");
    assert_eq!(unhealthy["queueCapacity"], 1, "{body}");

    // Closing the black hole fails the export in flight (no retry), so Weir stops promptly.
    drop(hole);
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
}
