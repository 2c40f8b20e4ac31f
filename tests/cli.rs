//! The `weir` command line end to end: `components`, `schema`, `validate`, `graph`, merging
//! several `--config` files with `--set` overrides, shutdown on SIGTERM/SIGINT flushing what the
//! batch processor holds, and the built-in default config.

mod common;

use std::time::{Duration, Instant};

use common::capture::{Capture, Signal, Transport};
use common::weir::{Weir, run_cli, strip_ansi};
use common::{DEADLINE, FAST_RETRY, Ports, otlp, ports, weir_yaml};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing a config file");
    path.to_string_lossy().into_owned()
}

#[test]
fn components_lists_every_builtin_type_with_its_kind() {
    let out = run_cli(&["components"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let rows: Vec<(String, String)> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect();
    for (kind, ty) in [
        ("receiver", "otlp"),
        ("processor", "batch"),
        ("processor", "attributes"),
        ("exporter", "otlp"),
        ("exporter", "otlphttp"),
        ("exporter", "debug"),
    ] {
        assert!(
            rows.iter().any(|(k, t)| k == kind && t == ty),
            "`weir components` does not list {kind} `{ty}`:\n{}",
            out.stdout
        );
    }
    // The otelcol aliases are advertised with the exporters they name.
    let otlp_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("exporter") && l.split_whitespace().nth(1) == Some("otlp"));
    assert!(
        otlp_row.is_some_and(|l| l.contains("otlp_grpc")),
        "otlp exporter row lacks alias otlp_grpc:\n{}",
        out.stdout
    );
    let http_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("exporter") && l.split_whitespace().nth(1) == Some("otlphttp"));
    assert!(
        http_row.is_some_and(|l| l.contains("otlp_http")),
        "otlphttp row lacks alias otlp_http:\n{}",
        out.stdout
    );
}

#[test]
fn schema_is_json_schema_covering_every_section_and_component_field() {
    let out = run_cli(&["schema"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let schema: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`weir schema` is not JSON ({e}):\n{}", out.stdout));
    let properties = schema["properties"]
        .as_object()
        .expect("top-level `properties` object");
    for section in ["receivers", "processors", "exporters", "service"] {
        assert!(
            properties.contains_key(section),
            "schema lacks top-level `{section}`: {:?}",
            properties.keys()
        );
    }
    // Component configs are described, so editors can complete their fields.
    for field in [
        "send_batch_size",
        "max_recv_msg_size_mib",
        "traces_endpoint",
        "verbosity",
        "sending_queue",
    ] {
        assert!(
            out.stdout.contains(&format!("\"{field}\"")),
            "schema does not describe `{field}`"
        );
    }
}

#[test]
fn validate_accepts_a_good_config_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = Ports::free();
    let yaml = weir_yaml(
        &p,
        "",
        "",
        Some(""),
        &[("debug", String::new())],
        &[("traces", &["debug"])],
    );
    let file = write(dir.path(), "ok.yaml", &yaml);
    let out = run_cli(&["validate", "--config", &file], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout.trim(), "configuration is valid", "{out:?}");
}

#[test]
fn a_port_in_use_stops_startup_with_exit_code_1_and_says_so_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The port is held from the moment it is chosen: a port picked free and bound later can
    // be taken in between by another test's connection.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("holding a port");
    let p = Ports {
        grpc: taken.local_addr().expect("its address").port(),
        ..Ports::free()
    };
    let yaml = weir_yaml(
        &p,
        "",
        "",
        None,
        &[("debug", String::new())],
        &[("traces", &["debug"])],
    );
    let file = write(dir.path(), "taken.yaml", &yaml);
    let out = run_cli(&["--config", &file], None);
    drop(taken);
    assert_eq!(out.code, Some(1), "{out:?}");
    let all = strip_ansi(&format!("{}{}", out.stdout, out.stderr));
    let endpoint = format!("127.0.0.1:{}", p.grpc);
    assert!(
        all.contains(&format!(
            "starting the pipelines: receiver `otlp`: cannot listen on {endpoint}: Address already in use"
        )),
        "{all}"
    );
    assert_eq!(
        all.matches("Address already in use").count(),
        1,
        "the cause is said once: {all}"
    );
}

#[test]
fn validate_rejects_a_bad_config_with_exit_code_1_and_the_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "bad.yaml",
        "receivers:\n  otlp:\n    protocols:\n      grpc:\nprocessors:\n  batch:\n    send_batch_sise: 10\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug]\n",
    );
    let out = run_cli(&["validate", "--config", &file], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("invalid configuration:"), "{all}");
    assert!(
        all.contains(&format!("{file}:7:5")),
        "error does not point at line 7, column 5 of {file}:\n{all}"
    );
    assert!(
        all.contains("send_batch_size"),
        "no suggestion of `send_batch_size`:\n{all}"
    );
}

#[test]
fn graph_shows_merged_configs_with_set_overrides_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = write(
        dir.path(),
        "base.yaml",
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:4317\nprocessors:\n  batch:\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug]\n    metrics:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug]\n",
    );
    let overlay = write(
        dir.path(),
        "overlay.yaml",
        "exporters:\n  otlp/backend:\n    endpoint: http://127.0.0.1:9\nservice:\n  pipelines:\n    traces:\n      exporters: [otlp/backend, debug]\n    logs:\n      receivers: [otlp]\n      exporters: [debug]\n",
    );
    let merged = run_cli(&["graph", "--config", &base, "--config", &overlay], None);
    assert_eq!(merged.code, Some(0), "{merged:?}");
    let lines: Vec<&str> = merged.stdout.lines().collect();
    // The overlay's list replaced the base's list; its new pipeline was added; the base's
    // untouched pipeline stayed.
    assert!(
        lines.contains(&"traces: otlp → [batch] → otlp/backend, debug"),
        "{}",
        merged.stdout
    );
    assert!(
        lines.contains(&"metrics: otlp → [batch] → debug"),
        "{}",
        merged.stdout
    );
    assert!(
        lines.contains(&"logs: otlp → [] → debug"),
        "{}",
        merged.stdout
    );

    let overridden = run_cli(
        &[
            "graph",
            "--config",
            &base,
            "--config",
            &overlay,
            "--set",
            "service.pipelines.traces.exporters=[otlp/backend]",
            "--set",
            "service.pipelines.metrics.processors=[]",
        ],
        None,
    );
    assert_eq!(overridden.code, Some(0), "{overridden:?}");
    let lines: Vec<&str> = overridden.stdout.lines().collect();
    assert!(
        lines.contains(&"traces: otlp → [batch] → otlp/backend"),
        "{}",
        overridden.stdout
    );
    assert!(
        lines.contains(&"metrics: otlp → [] → debug"),
        "{}",
        overridden.stdout
    );

    let dot = run_cli(
        &["graph", "--dot", "--config", &base, "--config", &overlay],
        None,
    );
    assert_eq!(dot.code, Some(0), "{dot:?}");
    assert!(dot.stdout.starts_with("digraph"), "{}", dot.stdout);
    assert!(
        dot.stdout.contains("exporter:otlp/backend"),
        "{}",
        dot.stdout
    );
}

#[test]
fn set_overrides_the_receiver_endpoint_of_a_running_weir() {
    let p = Ports::free();
    let moved = ports::free_port();
    let yaml = weir_yaml(
        &p,
        "",
        "",
        None,
        &[("debug", String::new())],
        &[("traces", &["debug"])],
    );
    let weir = Weir::builder()
        .config(yaml)
        .set(format!(
            "receivers.otlp.protocols.http.endpoint=127.0.0.1:{moved}"
        ))
        .wait_for(moved)
        .wait_for(p.grpc)
        .start();
    assert!(
        !ports::accepts(p.http),
        "the endpoint from the file is still served although --set replaced it"
    );
    let stopped = weir.stop();
    assert!(stopped.status.success(), "exit status {}", stopped.status);
}

/// Sends `n` spans over gRPC and returns once Weir has answered.
async fn send_spans(port: u16, seed: u8, n: usize) {
    let mut client = TraceServiceClient::new(common::grpc::channel(port));
    client
        .export(otlp::trace_request(seed, n))
        .await
        .expect("weir accepts the spans");
}

async fn shutdown_flushes_held_spans(signal: &'static str) {
    let capture = Capture::start();
    let p = Ports::free();
    let yaml = weir_yaml(
        &p,
        "",
        "",
        Some("timeout: 10s, send_batch_size: 8192"),
        &[(
            "otlp",
            format!("endpoint: \"{}\", {FAST_RETRY}", capture.grpc_endpoint()),
        )],
        &[("traces", &["otlp"])],
    );
    let weir = Weir::start(&yaml, &p.all());
    send_spans(p.grpc, 7, 5).await;
    // The batch processor holds them (10 s timeout, batch of 8192): nothing has left yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        capture.accepted_items(Transport::Grpc, Signal::Traces),
        0,
        "spans left before the batch timeout"
    );
    let signalled = Instant::now();
    let stopped = tokio::task::spawn_blocking(move || {
        if signal == "TERM" {
            weir.stop()
        } else {
            weir.interrupt()
        }
    })
    .await
    .expect("stop task");
    assert!(
        stopped.status.success(),
        "weir exited with {} after SIG{signal}",
        stopped.status
    );
    assert_eq!(
        capture.accepted_items(Transport::Grpc, Signal::Traces),
        5,
        "held spans were not flushed on SIG{signal}: {}",
        capture.summary()
    );
    assert!(
        stopped.shutdown_took < Duration::from_secs(9)
            && signalled.elapsed() < Duration::from_secs(9),
        "shutdown waited for the batch timeout instead of flushing ({:?})",
        stopped.shutdown_took
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_batch_timeout_flushes_held_spans_and_exits_zero() {
    shutdown_flushes_held_spans("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_batch_timeout_flushes_held_spans_and_exits_zero() {
    shutdown_flushes_held_spans("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_arguments_runs_the_default_config_on_4317_and_4318() {
    // The default config binds localhost:4317, localhost:4318 and (internal metrics)
    // localhost:8888; on a machine where something else holds them, this test cannot run.
    if !["127.0.0.1:4317", "127.0.0.1:4318", "127.0.0.1:8888"]
        .iter()
        .all(|a| ports::bindable(a))
    {
        eprintln!(
            "skipped: localhost:4317, 4318 or 8888 is in use, and the default config needs them"
        );
        return;
    }
    let weir = Weir::builder().without_config().start();
    let open = common::wait_until_async(DEADLINE, || {
        std::net::TcpStream::connect(("localhost", 4317)).is_ok()
            && std::net::TcpStream::connect(("localhost", 4318)).is_ok()
    })
    .await;
    assert!(
        open,
        "default config did not open localhost:4317 and localhost:4318; logs:\n{}",
        weir.logs()
    );
    assert!(
        weir.logs().contains("default config"),
        "no log line says the default config is running:\n{}",
        weir.logs()
    );
    let body = prost::Message::encode_to_vec(&otlp::trace_request(3, 3));
    let answer = common::http_client::post(
        "http://localhost:4318/v1/traces",
        "application/x-protobuf",
        body,
    )
    .await
    .expect("POST to the default HTTP endpoint");
    assert_eq!(answer.status, 200, "{}", answer.text());
    // The default pipeline batches (200 ms) and prints through the debug exporter.
    assert!(
        weir.wait_for_log("\"spans\": 3", DEADLINE),
        "the debug exporter did not log the 3 spans; logs:\n{}",
        weir.logs()
    );
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop task");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
}

#[test]
fn unknown_subcommand_or_flag_fails_with_usage() {
    let out = run_cli(&["frobnicate"], None);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.to_lowercase().contains("usage"), "{out:?}");
}

/// A connector is one node joining the pipeline it ends and the one it starts, in every format.
#[test]
fn graph_prints_dot_mermaid_and_json_with_connectors_joining_pipelines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(
        dir.path(),
        "graph.yaml",
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:4317\nprocessors:\n  batch:\nexporters:\n  debug:\n  otlp/backend:\n    endpoint: http://127.0.0.1:9\nconnectors:\n  count:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [otlp/backend, count]\n    metrics/counts:\n      receivers: [count]\n      exporters: [debug]\n",
    );
    let mermaid = run_cli(&["graph", "--format", "mermaid", "--config", &config], None);
    assert_eq!(mermaid.code, Some(0), "{mermaid:?}");
    assert_eq!(
        mermaid.stdout,
        "flowchart LR\n  n0[\"otlp\"]\n  n1(\"batch<br>(traces)\")\n  n2{{\"count\"}}\n  n3[\"debug\"]\n  n4[\"otlp/backend\"]\n  n0 -->|\"traces\"| n1\n  n1 -->|\"traces\"| n4\n  n1 -->|\"traces\"| n2\n  n2 -->|\"metrics/counts\"| n3\n"
    );
    let dot = run_cli(&["graph", "--format", "dot", "--config", &config], None);
    assert_eq!(dot.code, Some(0), "{dot:?}");
    for line in [
        "\"connector:count\" [label=\"count\", shape=hexagon];",
        "\"processor:traces:batch\" -> \"connector:count\" [label=\"traces\"];",
        "\"connector:count\" -> \"exporter:debug\" [label=\"metrics/counts\"];",
    ] {
        assert!(dot.stdout.contains(line), "{line} not in\n{}", dot.stdout);
    }
    assert!(
        !dot.stdout.contains("receiver:count") && !dot.stdout.contains("exporter:count"),
        "the connector is drawn twice:\n{}",
        dot.stdout
    );
    let json = run_cli(&["graph", "--format", "json", "--config", &config], None);
    assert_eq!(json.code, Some(0), "{json:?}");
    let graph: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let kinds: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["receiver", "processor", "connector", "exporter", "exporter"]
    );
    assert_eq!(graph["edges"].as_array().unwrap().len(), 4);
    let bad = run_cli(&["graph", "--format", "svg", "--config", &config], None);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}

const TEST_CONFIG: &str = "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:4318\nprocessors:\n  filter/health:\n    traces:\n      span:\n        - 'IsMatch(name, \"^GET /health\")'\n  transform:\n    log_statements:\n      - context: log\n        statements:\n          - set(severity_text, \"ERROR\") where severity_number >= 17\n  batch:\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [filter/health, batch]\n      exporters: [debug]\n    logs:\n      receivers: [otlp]\n      processors: [transform]\n      exporters: [debug]\n";

const SPANS: &str = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"GET /health\",\"kind\":2},{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b175\",\"name\":\"GET /users\",\"kind\":2}]}]}]}";

/// `weir test` runs each case's input through its pipeline's processors (`batch` flushed) and
/// judges the output: passing cases say ok, a failing one says what was wrong and exits 1.
#[test]
fn weir_test_runs_cases_through_a_pipelines_processors_and_reports_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "config.yaml", TEST_CONFIG);
    write(dir.path(), "spans.json", SPANS);
    let passing = write(
        dir.path(),
        "pass.yaml",
        "tests:\n  - name: health checks are dropped\n    pipeline: traces\n    input_file: spans.json\n    expect:\n      count: 1\n      all: ['name == \"GET /users\"']\n      any: ['kind == SPAN_KIND_SERVER']\n  - name: errors get their text\n    pipeline: logs\n    input:\n      resourceLogs:\n        - scopeLogs:\n            - logRecords:\n                - {severityNumber: 17, body: {stringValue: boom}}\n                - {severityNumber: 9, body: {stringValue: fine}}\n    expect:\n      count: 2\n      any: ['severity_text == \"ERROR\" and body == \"boom\"']\n      none: ['severity_text == \"ERROR\" and body == \"fine\"']\n",
    );
    let ok = run_cli(&["test", "--config", &config, &passing], None);
    assert_eq!(ok.code, Some(0), "{ok:?}");
    assert!(
        ok.stdout.contains("test health checks are dropped ... ok"),
        "{}",
        ok.stdout
    );
    assert!(
        ok.stdout.contains("weir test: 2 passed, 0 failed"),
        "{}",
        ok.stdout
    );

    let failing = write(
        dir.path(),
        "fail.yaml",
        "tests:\n  - name: expects the health check to stay\n    pipeline: traces\n    input_file: spans.json\n    expect:\n      count: 2\n      any: ['name == \"GET /health\"']\n",
    );
    let failed = run_cli(&["test", "--config", &config, &failing], None);
    assert_eq!(failed.code, Some(1), "{failed:?}");
    assert!(
        failed
            .stdout
            .contains("test expects the health check to stay ... FAILED"),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("expected 2 spans out, got 1"),
        "{}",
        failed.stdout
    );
    assert!(
        failed
            .stdout
            .contains("`name == \"GET /health\"` (any) is false for every one of the 1 spans"),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("output: [{\"resourceSpans\""),
        "{}",
        failed.stdout
    );
}

#[test]
fn weir_test_refuses_bad_cases_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(dir.path(), "config.yaml", TEST_CONFIG);
    let cases = [
        (
            "syntax.yaml",
            "tests:\n  - name: [unclosed\n",
            "syntax.yaml:3:1: invalid YAML",
        ),
        (
            "field.yaml",
            "tests:\n  - name: x\n    pipeline: traces\n    input: {}\n    expekt: {}\n",
            "unknown field `expekt`",
        ),
        (
            "pipeline.yaml",
            "tests:\n  - name: x\n    pipeline: trace\n    input: {}\n",
            "no pipeline `trace` in the config (there are: traces, logs)",
        ),
        (
            "ottl.yaml",
            "tests:\n  - name: x\n    pipeline: traces\n    input: {}\n    expect:\n      all: ['nam == \"a\"']\n",
            "expect.all: `nam == \"a\"` is not a valid OTTL condition",
        ),
        (
            "input.yaml",
            "tests:\n  - name: x\n    pipeline: traces\n    input: '{\"resourceSpans\": 3}'\n",
            "input is not OTLP/JSON traces",
        ),
        (
            "both.yaml",
            "tests:\n  - name: x\n    pipeline: traces\n",
            "give `input` or `input_file`",
        ),
    ];
    for (file, text, want) in cases {
        let path = write(dir.path(), file, text);
        let out = run_cli(&["test", "--config", &config, &path], None);
        assert_eq!(out.code, Some(1), "{file}: {out:?}");
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains(want), "{file}: `{want}` not in\n{all}");
    }
}
