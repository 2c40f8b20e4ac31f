//! The extension over real sockets: answers before and after the pipelines start, the periodic
//! pipeline check, other paths and methods, a port in use, and shutdown.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_core::batch::Signal;
use weir_core::exporter::{MemoryStore, QueueStats, Sizer};
use weir_core::runtime::GraphStats;

use super::*;

/// How long a test waits for the periodic check to catch up; a passing test never waits this
/// long.
const PATIENCE: Duration = Duration::from_secs(10);

async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Polls `GET path` until it answers `want`; returns the last answer.
async fn wait_for_status(addr: SocketAddr, path: &str, want: u16) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = request(addr, "GET", path).await;
        if answer.0 == want || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn config(check: bool) -> HealthCheckConfig {
    HealthCheckConfig {
        endpoint: "127.0.0.1:0".into(),
        path: "/health/status".into(),
        check_collector_pipeline: CheckPipelineConfig {
            enabled: check,
            interval: Duration::from_millis(10),
            exporter_failure_threshold: Duration::from_secs(60),
        },
    }
}

async fn started(
    config: HealthCheckConfig,
) -> (HealthCheck, Arc<StatusBoard>, CancellationToken, SocketAddr) {
    let extension = HealthCheck::new(config);
    let board = Arc::new(StatusBoard::default());
    let stop = CancellationToken::new();
    extension
        .start(ExtensionContext {
            id: "health_check".parse().unwrap(),
            shutdown: stop.clone(),
            status: board.clone(),
        })
        .await
        .unwrap();
    let addr = extension.local_addr().unwrap();
    (extension, board, stop, addr)
}

fn one_queue() -> (GraphStats, Arc<QueueStats>) {
    let stats = Arc::new(QueueStats::for_store(Arc::new(MemoryStore::new(
        Sizer::Requests,
        10,
    ))));
    let graph = GraphStats {
        exporters: vec![(
            "otlp/backend".parse().unwrap(),
            Signal::Traces,
            stats.clone(),
        )],
        ..GraphStats::default()
    };
    (graph, stats)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn unavailable_until_the_pipelines_start_then_available() {
    let (extension, board, _stop, addr) = started(config(false)).await;
    let (status, body) = request(addr, "GET", "/health/status").await;
    assert_eq!(status, 503, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "Server not available");

    let (graph, stats) = one_queue();
    board.publish(graph);
    // Without the pipeline check a failing exporter does not matter.
    stats.failing_since.store(1, Ordering::Relaxed);
    let (status, body) = request(addr, "GET", "/health/status").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "Server available");
    assert!(json["upSince"].as_str().unwrap().ends_with('Z'), "{json}");
    assert!(json["uptime"].as_str().unwrap().ends_with('s'), "{json}");
    assert!(json.get("unhealthy").is_none(), "{json}");
    extension.shutdown().await;
}

#[tokio::test]
async fn the_pipeline_check_names_a_failing_exporter_until_it_recovers() {
    let (extension, board, _stop, addr) = started(config(true)).await;
    let (graph, stats) = one_queue();
    board.publish(graph);
    assert_eq!(wait_for_status(addr, "/health/status", 200).await.0, 200);

    stats
        .failing_since
        .store(unix_now() - 120, Ordering::Relaxed);
    let (status, body) = wait_for_status(addr, "/health/status", 503).await;
    assert_eq!(status, 503, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "Server not available");
    assert_eq!(json["unhealthy"][0]["reason"], "exporter_failing", "{json}");
    assert_eq!(json["unhealthy"][0]["exporter"], "otlp/backend", "{json}");
    assert_eq!(json["unhealthy"][0]["dataType"], "traces", "{json}");

    stats.failing_since.store(0, Ordering::Relaxed);
    let (status, body) = wait_for_status(addr, "/health/status", 200).await;
    assert_eq!(status, 200, "{body}");
    extension.shutdown().await;
}

#[tokio::test]
async fn other_paths_and_methods_are_refused() {
    let (extension, board, _stop, addr) = started(config(false)).await;
    board.publish(GraphStats::default());
    assert_eq!(request(addr, "GET", "/").await.0, 404);
    assert_eq!(request(addr, "POST", "/health/status").await.0, 405);
    assert_eq!(request(addr, "HEAD", "/health/status").await.0, 200);
    extension.shutdown().await;
}

#[tokio::test]
async fn a_port_in_use_fails_the_start_naming_the_endpoint() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = taken.local_addr().unwrap().to_string();
    let extension = HealthCheck::new(HealthCheckConfig {
        endpoint: endpoint.clone(),
        ..HealthCheckConfig::default()
    });
    let error = extension
        .start(ExtensionContext {
            id: "health_check".parse().unwrap(),
            shutdown: CancellationToken::new(),
            status: Arc::new(StatusBoard::default()),
        })
        .await
        .expect_err("a port in use fails the start");
    assert!(error.0.contains(&endpoint), "{error}");
}

#[tokio::test]
async fn shutdown_closes_the_port_and_returns() {
    let (extension, _board, stop, addr) = started(config(true)).await;
    stop.cancel();
    tokio::time::timeout(PATIENCE, extension.shutdown())
        .await
        .expect("shutdown returns");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // A second shutdown has nothing left to stop.
    extension.shutdown().await;
}
