//! The `prometheus` receiver end to end, against Debian's `prometheus` binary: the real
//! `weir` binary scrapes real targets (Prometheus's own `/metrics`, Weir's own internal
//! metrics endpoint, and a fixture target this test serves) and remote-writes what it scraped
//! to that Prometheus (`--web.enable-remote-write-receiver`), which also scrapes the fixture
//! itself. The checks go through Prometheus's query API.
//!
//! - `scraped_series_arrive_in_prometheus_and_match_a_direct_scrape`: the fixture's counter,
//!   gauge and histogram buckets written by Weir equal what Prometheus scraped directly (same
//!   names, labels but `job`, values); `up` is 1 for every job, Prometheus's and Weir's own
//!   metrics arrive under their jobs.
//! - `a_down_target_is_up_0_and_the_others_are_not_affected`.
//! - `https_targets_are_scraped_with_the_configured_ca_and_client_certificate`: mutual TLS
//!   with `tls_config`; without the client certificate the same target is `up` 0.
//!
//! Fails, saying so, when `prometheus` is not on PATH.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use common::certs::{Pki, Role};
use common::ports::free_port;
use common::prometheus_server::{Options, Prometheus, label};
use common::wait_until;
use common::weir::Weir;

const FIXTURE: &str = "# HELP fixture_requests_total Requests.\n\
# TYPE fixture_requests_total counter\n\
fixture_requests_total{code=\"200\",path=\"/a\"} 1027\n\
fixture_requests_total{code=\"500\",path=\"/a\"} 3\n\
# HELP fixture_temperature_celsius Temperature.\n\
# TYPE fixture_temperature_celsius gauge\n\
fixture_temperature_celsius{room=\"lab\"} 21.25\n\
# HELP fixture_latency_seconds Latency.\n\
# TYPE fixture_latency_seconds histogram\n\
fixture_latency_seconds_bucket{route=\"/r\",le=\"0.05\"} 4\n\
fixture_latency_seconds_bucket{route=\"/r\",le=\"0.25\"} 9\n\
fixture_latency_seconds_bucket{route=\"/r\",le=\"2.5\"} 12\n\
fixture_latency_seconds_bucket{route=\"/r\",le=\"+Inf\"} 13\n\
fixture_latency_seconds_sum{route=\"/r\"} 7.5\n\
fixture_latency_seconds_count{route=\"/r\"} 13\n";

/// Serves `FIXTURE` on a free loopback port until the process ends.
fn fixture() -> u16 {
    serve(|stream| Some(Box::new(stream)))
}

/// Serves `FIXTURE` over TLS with `config`.
fn tls_fixture(config: Arc<rustls::ServerConfig>) -> u16 {
    serve(move |stream| {
        let connection = rustls::ServerConnection::new(config.clone()).ok()?;
        Some(Box::new(rustls::StreamOwned::new(connection, stream)))
    })
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn serve(
    wrap: impl Fn(std::net::TcpStream) -> Option<Box<dyn Stream>> + Send + Sync + 'static,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the fixture");
    let port = listener.local_addr().expect("its address").port();
    let wrap = Arc::new(wrap);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let wrap = wrap.clone();
            std::thread::spawn(move || {
                let Some(mut stream) = wrap(stream) else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{FIXTURE}",
                    FIXTURE.len()
                );
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    port
}

/// A scrape config of `job` for one target, with `extra` YAML lines (indented for a job).
fn job(job: &str, port: u16, extra: &str) -> String {
    format!(
        "        - job_name: {job}\n          static_configs:\n            - targets: [\"127.0.0.1:{port}\"]\n{extra}"
    )
}

fn weir_config(jobs: &[String], prometheus: u16, telemetry: u16) -> String {
    let mut config = String::from(
        "receivers:\n  prometheus:\n    config:\n      global:\n        scrape_interval: 1s\n        scrape_timeout: 900ms\n      scrape_configs:\n",
    );
    for job in jobs {
        config.push_str(job);
    }
    config.push_str(&format!(
        "exporters:\n  prometheusremotewrite:\n    endpoint: http://127.0.0.1:{prometheus}/api/v1/write\n\
         service:\n  telemetry:\n    metrics:\n      address: 127.0.0.1:{telemetry}\n  pipelines:\n    metrics:\n      receivers: [prometheus]\n      exporters: [prometheusremotewrite]\n"
    ));
    config
}

type Series = Vec<(serde_json::Map<String, serde_json::Value>, f64)>;

/// Waits until `query` gives `count` series; returns them without `job` and the `host` that
/// Weir's relabelling adds, sorted by their labels.
fn series(prometheus: &Prometheus, query: &str, count: usize) -> Series {
    let mut last = Vec::new();
    let found = wait_until(Duration::from_secs(30), || {
        last = prometheus.query(query);
        last.len() == count
    });
    assert!(
        found,
        "`{query}` gave {last:?}, not {count} series\n{}",
        prometheus.log()
    );
    let key = |labels: &serde_json::Map<String, serde_json::Value>| {
        let mut pairs: Vec<(String, String)> = labels
            .iter()
            .filter(|(k, _)| *k != "job" && *k != "host")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        pairs.sort();
        pairs
    };
    last.sort_by_key(|(labels, _)| key(labels));
    last.into_iter()
        .map(|(mut labels, v)| {
            labels.remove("job");
            labels.remove("host");
            (labels, v)
        })
        .collect()
}

#[test]
fn scraped_series_arrive_in_prometheus_and_match_a_direct_scrape() {
    let fixture = fixture();
    let prom_port = free_port();
    let telemetry = free_port();
    let prometheus = Prometheus::start_with(
        &[("direct", fixture)],
        Options {
            remote_write_receiver: true,
            port: Some(prom_port),
        },
    );
    // `$$1` is otelcol's escape for the `$1` Prometheus expands.
    let relabel = "          relabel_configs:\n            - source_labels: [__address__]\n              regex: '(.*):\\d+'\n              target_label: host\n              replacement: $$1\n";
    let jobs = [
        job("via_weir", fixture, relabel),
        job("prom", prom_port, ""),
        job("weir_self", telemetry, ""),
    ];
    let config = weir_config(&jobs, prom_port, telemetry);
    let weir = Weir::start(&config, &[telemetry]);

    for job in ["via_weir", "prom", "weir_self"] {
        let (labels, up) = prometheus.one(&format!("up{{job=\"{job}\"}}"));
        assert_eq!(up, 1.0, "up of {job}: {labels:?}\n{}", weir.logs());
    }
    for (metric, count) in [
        ("fixture_requests_total", 2),
        ("fixture_temperature_celsius", 1),
        ("fixture_latency_seconds_bucket", 4),
        ("fixture_latency_seconds_sum", 1),
        ("fixture_latency_seconds_count", 1),
    ] {
        let via_weir = series(&prometheus, &format!("{metric}{{job=\"via_weir\"}}"), count);
        let direct = series(&prometheus, &format!("{metric}{{job=\"direct\"}}"), count);
        assert_eq!(
            via_weir, direct,
            "{metric}: Weir's series differ from Prometheus's own scrape"
        );
    }
    let buckets = series(
        &prometheus,
        "fixture_latency_seconds_bucket{job=\"via_weir\"}",
        4,
    );
    let le: Vec<(&str, f64)> = buckets.iter().map(|(l, v)| (label(l, "le"), *v)).collect();
    for want in [("0.05", 4.0), ("0.25", 9.0), ("2.5", 12.0), ("+Inf", 13.0)] {
        assert!(le.contains(&want), "bucket {want:?} not in {le:?}");
    }
    let (labels, _) = prometheus.one("fixture_temperature_celsius{job=\"via_weir\"}");
    assert_eq!(label(&labels, "instance"), format!("127.0.0.1:{fixture}"));
    assert_eq!(label(&labels, "room"), "lab");
    assert_eq!(
        label(&labels, "host"),
        "127.0.0.1",
        "replacement $$1: {labels:?}"
    );

    // A real target's own metrics: Prometheus's, and Weir's.
    let (labels, _) = prometheus.one("prometheus_build_info{job=\"prom\"}");
    assert!(label(&labels, "version").starts_with("2."), "{labels:?}");
    let (_, accepted) = prometheus.one(
        "otelcol_receiver_accepted_metric_points_total{job=\"weir_self\",receiver=\"prometheus\"}",
    );
    assert!(accepted > 0.0);
    weir.stop();
}

#[test]
fn a_down_target_is_up_0_and_the_others_are_not_affected() {
    let fixture = fixture();
    let down = free_port();
    let prometheus = Prometheus::start_with(
        &[],
        Options {
            remote_write_receiver: true,
            port: None,
        },
    );
    let telemetry = free_port();
    let jobs = [job("alive", fixture, ""), job("down", down, "")];
    let config = weir_config(&jobs, prometheus.port(), telemetry);
    let weir = Weir::start(&config, &[telemetry]);
    let (_, up) = prometheus.one("up{job=\"down\"}");
    assert_eq!(up, 0.0);
    let (_, up) = prometheus.one("up{job=\"alive\"}");
    assert_eq!(up, 1.0);
    prometheus.one("fixture_temperature_celsius{job=\"alive\"}");
    let metrics = common::prometheus_server::get(telemetry, "/metrics", "")
        .expect("Weir's metrics")
        .2;
    assert!(
        metrics.lines().any(
            |l| l.starts_with("weir_receiver_prometheus_scrape_failures_total")
                && l.contains("job=\"down\"")
                && l.contains("reason=\"connection\"")
        ),
        "{metrics}"
    );
    assert!(weir.logs().contains("scrape failed"), "{}", weir.logs());
    weir.stop();
}

#[test]
fn https_targets_are_scraped_with_the_configured_ca_and_client_certificate() {
    let pki = Pki::new("scrape");
    let server = pki.issue(Role::Server, "server");
    let client = pki.issue(Role::Client, "client");
    let target = tls_fixture(pki.server_config(&server, true));
    let prometheus = Prometheus::start_with(
        &[],
        Options {
            remote_write_receiver: true,
            port: None,
        },
    );
    let telemetry = free_port();
    let ca = pki.ca_file().display().to_string();
    let mtls = format!(
        "          scheme: https\n          tls_config:\n            ca_file: {ca}\n            cert_file: {}\n            key_file: {}\n",
        client.cert.display(),
        client.key.display()
    );
    let no_client_cert =
        format!("          scheme: https\n          tls_config:\n            ca_file: {ca}\n");
    let jobs = [
        job("mtls", target, &mtls),
        job("no_client_cert", target, &no_client_cert),
    ];
    let config = weir_config(&jobs, prometheus.port(), telemetry);
    let weir = Weir::start(&config, &[telemetry]);
    let (_, up) = prometheus.one("up{job=\"mtls\"}");
    assert_eq!(up, 1.0, "{}", weir.logs());
    let (_, value) = prometheus.one("fixture_temperature_celsius{job=\"mtls\"}");
    assert_eq!(value, 21.25);
    let (_, up) = prometheus.one("up{job=\"no_client_cert\"}");
    assert_eq!(
        up, 0.0,
        "a target that requires a client certificate was scraped without one"
    );
    weir.stop();
}
