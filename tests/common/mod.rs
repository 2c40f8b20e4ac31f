//! Helpers shared by the end-to-end tests of the `weir` binary: a process guard that runs the
//! real binary on a temporary config, free ports, a capture OTLP backend (gRPC and HTTP) that
//! records what Weir exports and can be scripted to fail, a Prometheus scraper for Weir's own
//! metrics, and helpers that flatten OTLP requests into comparable items.
//!
//! Every test file compiles this module on its own and uses a different part of it, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod capture;
pub mod certs;
pub mod grpc;
pub mod http_client;
pub mod otlp;
pub mod ports;
pub mod proc_status;
pub mod prom;
pub mod prometheus_server;
pub mod weir;

use std::time::{Duration, Instant};

/// How long a test waits for something that should happen promptly (a port to open, data to
/// arrive). Generous, because CI builds in debug on two busy cores; a passing test never waits
/// this long.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The async twin of [`wait_until`], for tests running on a tokio runtime.
pub async fn wait_until_async(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The ports one Weir process listens on: OTLP/gRPC, OTLP/HTTP and its own metrics.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// The `otlp` receiver's gRPC port.
    pub grpc: u16,
    /// The `otlp` receiver's HTTP port.
    pub http: u16,
    /// `service.telemetry.metrics.address`.
    pub metrics: u16,
}

impl Ports {
    /// Three free ports, all different: the three sockets that find them are open at once
    /// (one after the other, a port released by the first can be handed out again).
    pub fn free() -> Ports {
        let [grpc, http, metrics] = ports::free_ports::<3>();
        Ports {
            grpc,
            http,
            metrics,
        }
    }

    /// All three, to wait for.
    pub fn all(&self) -> [u16; 3] {
        [self.grpc, self.http, self.metrics]
    }

    /// `http://127.0.0.1:PORT/v1/<signal>` of the receiver's HTTP side.
    pub fn http_url(&self, signal: &str) -> String {
        format!("http://127.0.0.1:{}/v1/{signal}", self.http)
    }
}

/// A Weir config: the `otlp` receiver on `ports` (extra receiver settings, a YAML flow mapping
/// body such as `max_recv_msg_size_mib: 1`, go into both protocols via `grpc_extra` and
/// `http_extra`), a `batch` processor with `batch` settings (flow mapping body; `None` for no
/// processor), the given exporters (`id`, flow mapping body) and one pipeline per
/// `(pipeline id, exporter ids)`, with internal metrics on `ports.metrics`.
pub fn weir_yaml(
    ports: &Ports,
    grpc_extra: &str,
    http_extra: &str,
    batch: Option<&str>,
    exporters: &[(&str, String)],
    pipelines: &[(&str, &[&str])],
) -> String {
    let sep = |extra: &str| {
        if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        }
    };
    let mut yaml = format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc: {{ endpoint: \"127.0.0.1:{}\"{} }}\n      http: {{ endpoint: \"127.0.0.1:{}\"{} }}\n",
        ports.grpc,
        sep(grpc_extra),
        ports.http,
        sep(http_extra)
    );
    if let Some(batch) = batch {
        yaml.push_str(&format!("processors:\n  batch: {{ {batch} }}\n"));
    }
    yaml.push_str("exporters:\n");
    for (id, body) in exporters {
        yaml.push_str(&format!("  {id}: {{ {body} }}\n"));
    }
    yaml.push_str(&format!(
        "service:\n  telemetry:\n    metrics:\n      address: \"127.0.0.1:{}\"\n  pipelines:\n",
        ports.metrics
    ));
    for (id, exporter_ids) in pipelines {
        let processors = if batch.is_some() { "[batch]" } else { "[]" };
        yaml.push_str(&format!(
            "    {id}:\n      receivers: [otlp]\n      processors: {processors}\n      exporters: [{}]\n",
            exporter_ids.join(", ")
        ));
    }
    yaml
}

/// Retry settings small enough for tests: real processes cannot use paused time, so the
/// backoff itself is shortened instead.
pub const FAST_RETRY: &str = "retry_on_failure: { enabled: true, initial_interval: 50ms, multiplier: 1.5, randomization_factor: 0, max_interval: 200ms, max_elapsed_time: 10s }";
