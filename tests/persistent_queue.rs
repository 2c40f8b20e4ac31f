//! Persistent queues end to end: the `weir` binary with a `file_storage` extension, an exporter
//! whose backend is down, a real gRPC client whose spans are acknowledged once on disk, then
//! `kill -9`; the restarted process delivers every acknowledged span to the backend, and a
//! clean stop after that leaves nothing to deliver again.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::capture::{Capture, Transport};
use common::weir::{Weir, run_cli};
use common::{DEADLINE, Ports, otlp, ports};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

/// Requests sent, and spans in each.
const REQUESTS: u8 = 12;
const SPANS: usize = 5;

/// Weir on `ports` exporting traces over gRPC to `endpoint` through a queue stored in
/// `storage`. The client is answered once its batch is stored (`wait_for_result`), and the
/// exporter retries forever, so nothing is dropped while the backend is down.
fn config(ports: &Ports, endpoint: &str, storage: &Path) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
      http: {{ endpoint: "127.0.0.1:{http}" }}
exporters:
  otlp:
    endpoint: "{endpoint}"
    sending_queue: {{ storage: file_storage, wait_for_result: true, num_consumers: 2 }}
    retry_on_failure: {{ initial_interval: 50ms, randomization_factor: 0, max_interval: 200ms, max_elapsed_time: 0 }}
extensions:
  file_storage:
    directory: "{dir}"
    fsync: always
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        dir = storage.display(),
    )
}

fn span_names(capture: &Capture) -> Vec<String> {
    let requests = capture.traces(Transport::Grpc);
    otlp::flatten_spans(requests.iter().flat_map(|r| &r.resource_spans))
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|span| span.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_kill_9_and_arrive_after_the_restart() {
    let storage = tempfile::tempdir().expect("storage directory");
    let down = format!("http://127.0.0.1:{}", ports::free_port());
    let first_ports = Ports::free();
    let mut first = Weir::start(
        &config(&first_ports, &down, storage.path()),
        &first_ports.all(),
    );

    let mut client = TraceServiceClient::new(common::grpc::channel(first_ports.grpc));
    let mut acknowledged = BTreeSet::new();
    for seed in 1..=REQUESTS {
        client
            .export(otlp::trace_request(seed, SPANS))
            .await
            .expect("weir acknowledges the spans once they are stored");
        acknowledged.extend((0..SPANS).map(|i| format!("span-{seed}-{i}")));
    }
    first.kill_9();
    drop(first);

    let capture = Capture::start();
    let second_ports = Ports::free();
    let second = Weir::start(
        &config(&second_ports, &capture.grpc_endpoint(), storage.path()),
        &second_ports.all(),
    );
    assert!(
        second
            .logs()
            .contains("delivering batches stored by an earlier run"),
        "{}",
        second.logs()
    );
    let expected = acknowledged.len();
    assert!(
        capture.wait_for_items(
            Transport::Grpc,
            common::capture::Signal::Traces,
            expected,
            DEADLINE
        ),
        "not every acknowledged span arrived: {}",
        capture.summary()
    );
    let arrived: BTreeSet<String> = span_names(&capture).into_iter().collect();
    let missing: Vec<&String> = acknowledged.difference(&arrived).collect();
    assert!(missing.is_empty(), "lost after kill -9: {missing:?}");
    let stopped = second.stop();
    assert!(stopped.status.success(), "{}", stopped.logs);

    // Everything was exported and the stop was clean: a third start owes nothing.
    let third_ports = Ports::free();
    let third = Weir::start(
        &config(&third_ports, &capture.grpc_endpoint(), storage.path()),
        &third_ports.all(),
    );
    let stopped = third.stop();
    assert!(
        !stopped
            .logs
            .contains("delivering batches stored by an earlier run"),
        "{}",
        stopped.logs
    );
}

#[test]
fn a_missing_storage_directory_stops_startup_and_is_named() {
    let root = tempfile::tempdir().expect("temporary directory");
    let missing = root.path().join("no-such-dir");
    let ports = Ports::free();
    let yaml = config(&ports, "http://127.0.0.1:4317", &missing).replace(
        "    fsync: always\n",
        "    fsync: always\n    create_directory: false\n",
    );
    let path = root.path().join("weir.yaml");
    std::fs::write(&path, yaml).expect("writing the config");
    let out = run_cli(&["--config", path.to_str().expect("utf-8 path")], None);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "{}",
        out.stderr
    );
}
