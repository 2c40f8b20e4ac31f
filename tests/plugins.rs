//! Plugins in the `weir` binary: the example libraries (Rust `redact`, `webhook`, `heartbeat`
//! and the C `drop_spans`) load from the config's `plugins:` list and from `--plugin`, show up
//! in `weir components` with their library and version, and run in one graph with built-in
//! components, end to end.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use weir_plugin_testkit as testkit;

use common::capture::{Capture, Signal as CaptureSignal, Transport};
use common::weir::{Weir, run_cli};
use common::{DEADLINE, Ports, prom, wait_until};

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `200 OK` and keeps the bodies,
/// standing in for a webhook endpoint.
struct WebhookSink {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl WebhookSink {
    fn start() -> WebhookSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let sink = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || serve(stream, &sink));
            }
        });
        WebhookSink { url, bodies }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// Answers the requests of one keep-alive connection until it closes.
fn serve(mut stream: std::net::TcpStream, sink: &Mutex<Vec<String>>) {
    let mut data: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let head_end = data.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).to_string();
                sink.lock().unwrap().push(body);
                data.drain(..end + 4 + length);
                if stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .is_err()
                {
                    return;
                }
                continue;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn string(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(common::otlp::s(value)),
    })
}

fn span(name: &str, id: u8, email: &str) -> Span {
    Span {
        trace_id: vec![id; 16],
        span_id: vec![id; 8],
        name: name.to_string(),
        attributes: vec![KeyValue {
            key: "user.email".into(),
            value: string(email),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn components_lists_plugin_types_with_their_library_and_version() {
    let redact = testkit::cdylib("weir-plugin-redact");
    let c = testkit::c_example();
    let out = run_cli(
        &[
            "components",
            "--plugin",
            redact.to_str().unwrap(),
            "--plugin",
            c.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let line = |ty: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(ty))
            .unwrap_or_else(|| panic!("no `{ty}` in:\n{}", out.stdout))
            .to_string()
    };
    let redact_line = line("redact");
    assert!(redact_line.starts_with("processor"), "{redact_line}");
    assert!(
        redact_line.contains(&format!("plugin {}", redact.display())),
        "{redact_line}"
    );
    assert!(
        redact_line.contains("weir-plugin-redact 0.1.0"),
        "{redact_line}"
    );
    assert!(redact_line.contains("traces,metrics,logs"), "{redact_line}");
    let c_line = line("drop_spans");
    assert!(
        c_line.contains(&format!(
            "weir-plugin-drop-spans 0.1.0, c, ABI {}.{}",
            weir_plugin_abi::ABI_MAJOR,
            weir_plugin_abi::ABI_MINOR
        )),
        "{c_line}"
    );
    assert!(c_line.contains(&c.display().to_string()), "{c_line}");
    // Built-ins are still there, listed as such.
    assert!(line("batch").ends_with("built-in"));
}

#[test]
fn a_pipeline_mixing_built_in_and_plugin_components_runs_end_to_end() {
    let capture = Capture::start();
    let webhook = WebhookSink::start();
    let ports = Ports::free();
    let redact = testkit::cdylib("weir-plugin-redact");
    let heartbeat = testkit::cdylib("weir-plugin-heartbeat");
    let webhook_lib = testkit::cdylib("weir-plugin-webhook");
    let c = testkit::c_example();
    // Rust plugins from the config (one through an environment variable), the C one from the
    // command line.
    let yaml = format!(
        r#"plugins:
  - {redact}
  - ${{env:WEIR_TEST_HEARTBEAT}}
  - {webhook_lib}
receivers:
  otlp:
    protocols:
      http: {{ endpoint: "127.0.0.1:{http}" }}
  heartbeat:
    interval: 100ms
    service_name: edge-7
    metrics: false
processors:
  redact:
    patterns: ['[\w.]+@[\w.]+']
    mask: "<email>"
  batch:
    timeout: 50ms
  drop_spans:
    prefix: "GET /health"
exporters:
  otlp:
    endpoint: {backend}
    compression: none
  webhook:
    url: {webhook_url}
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      processors: [redact, batch, drop_spans]
      exporters: [otlp, webhook]
    logs:
      receivers: [heartbeat]
      processors: [redact]
      exporters: [otlp]
"#,
        redact = redact.display(),
        webhook_lib = webhook_lib.display(),
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
        webhook_url = webhook.url,
    );
    let weir = Weir::builder()
        .config(yaml)
        .env("WEIR_TEST_HEARTBEAT", heartbeat.display().to_string())
        .arg("--plugin")
        .arg(c.display().to_string())
        .wait_for(ports.http)
        .wait_for(ports.metrics)
        .start();

    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span("GET /health", 1, "probe@k8s.local"),
                    span("checkout", 2, "alice@example.com"),
                    span("GET /healthz", 3, "probe@k8s.local"),
                    span("pay", 4, "bob@example.org"),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = rt
        .block_on(common::http_client::post(
            &ports.http_url("traces"),
            "application/x-protobuf",
            request.encode_to_vec(),
        ))
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());

    assert!(
        capture.wait_for_items(Transport::Grpc, CaptureSignal::Traces, 2, DEADLINE),
        "{}\n{}",
        capture.summary(),
        weir.logs()
    );
    let spans: Vec<Span> = capture
        .traces(Transport::Grpc)
        .into_iter()
        .flat_map(|r| r.resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["checkout", "pay"],
        "drop_spans (C) removed the health checks"
    );
    for span in &spans {
        assert_eq!(
            span.attributes[0].value,
            string("<email>"),
            "redact masked {}",
            span.name
        );
    }

    assert!(
        wait_until(DEADLINE, || !webhook.bodies().is_empty()),
        "the webhook got the batch; logs:\n{}",
        weir.logs()
    );
    let json: serde_json::Value = serde_json::from_str(&webhook.bodies()[0]).unwrap();
    let posted = &json["resourceSpans"][0]["scopeSpans"][0]["spans"];
    assert_eq!(posted[0]["name"], "checkout");
    assert_eq!(posted[1]["name"], "pay");
    assert_eq!(posted.as_array().map(Vec::len), Some(2));

    assert!(
        capture.wait_for_items(Transport::Grpc, CaptureSignal::Logs, 2, DEADLINE),
        "heartbeats arrive through the logs pipeline: {}",
        capture.summary()
    );
    let heartbeat_logs = capture.logs(Transport::Grpc);
    let resource = heartbeat_logs[0].resource_logs[0]
        .resource
        .as_ref()
        .unwrap();
    assert_eq!(resource.attributes[0].value, string("edge-7"));

    // The C plugin's own counter, on /metrics with its plugin type, library and component.
    assert!(
        wait_until(DEADLINE, || prom::counter(
            ports.metrics,
            "weir_plugin_dropped_spans_total",
            &[
                ("plugin", "drop_spans"),
                ("library", "weir-plugin-drop-spans"),
                ("component", "drop_spans"),
            ]
        ) == Some(2.0)),
        "{}",
        weir.logs()
    );
    // Plugins load before logging starts; the binary logs them once it has.
    let logs = weir.logs();
    for (path, library) in [
        (redact.display().to_string(), "weir-plugin-redact"),
        (c.display().to_string(), "weir-plugin-drop-spans"),
    ] {
        let line = logs
            .lines()
            .find(|l| l.contains("plugin library loaded") && l.contains(&path))
            .unwrap_or_else(|| panic!("no load line for {path}:\n{logs}"));
        assert!(line.contains(library), "{line}");
        assert!(line.contains("version=0.1.0"), "{line}");
    }
    assert!(
        logs.contains("components=processor drop_spans"),
        "component types are listed: {logs}"
    );

    let stopped = weir.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}

/// The `tally` example connector in a running graph: traces exported into it come out of its
/// traces pipeline unchanged (emitted during `consume`), and its counts come out of its metrics
/// pipeline from its own timer thread.
#[test]
fn a_plugin_connector_joins_a_traces_pipeline_to_traces_and_metrics_pipelines() {
    let capture = Capture::start();
    let ports = Ports::free();
    let tally = testkit::cdylib("weir-plugin-tally");
    let yaml = format!(
        r#"plugins: [{tally}]
receivers:
  otlp:
    protocols:
      http: {{ endpoint: "127.0.0.1:{http}" }}
connectors:
  tally:
    interval: 100ms
    passthrough: true
exporters:
  otlp:
    endpoint: {backend}
    compression: none
service:
  pipelines:
    traces/in:
      receivers: [otlp]
      exporters: [tally]
    traces/out:
      receivers: [tally]
      exporters: [otlp]
    metrics:
      receivers: [tally]
      exporters: [otlp]
"#,
        tally = tally.display(),
        http = ports.http,
        backend = capture.grpc_endpoint(),
    );
    let weir = Weir::builder().config(yaml).wait_for(ports.http).start();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: string("cart"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span("a", 1, "x@y.z"),
                    span("b", 2, "x@y.z"),
                    span("c", 3, "x@y.z"),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = rt
        .block_on(common::http_client::post(
            &ports.http_url("traces"),
            "application/x-protobuf",
            request.encode_to_vec(),
        ))
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());

    assert!(
        capture.wait_for_items(Transport::Grpc, CaptureSignal::Traces, 3, DEADLINE),
        "the spans pass through: {}\n{}",
        capture.summary(),
        weir.logs()
    );
    assert_eq!(capture.traces(Transport::Grpc), vec![request]);
    let counted = || {
        capture
            .metrics(Transport::Grpc)
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter(|m| m.name == "weir.tally.items")
            .filter_map(|m| match &m.data {
                Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) => {
                    sum.data_points.last().and_then(|p| p.value)
                }
                _ => None,
            })
            .next_back()
    };
    assert!(
        wait_until(DEADLINE, || counted()
            == Some(
                opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(3)
            )),
        "the timer emits the count: {:?}\n{}",
        counted(),
        weir.logs()
    );
    let stopped = weir.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}

/// A plugin connector's pairs are checked like a built-in's: a metrics pipeline exporting into
/// `tally` (which joins only traces and logs) is refused at its place.
#[test]
fn validate_refuses_a_pipeline_a_plugin_connector_cannot_join() {
    let dir = tempfile::tempdir().unwrap();
    let tally = testkit::cdylib("weir-plugin-tally");
    let path = dir.path().join("weir.yaml");
    std::fs::write(
        &path,
        format!(
            r#"plugins: [{tally}]
receivers:
  otlp:
    protocols:
      http: {{ endpoint: "127.0.0.1:4318" }}
connectors:
  tally: {{}}
exporters:
  debug: {{}}
service:
  pipelines:
    metrics/in:
      receivers: [otlp]
      exporters: [tally]
    metrics/out:
      receivers: [tally]
      exporters: [debug]
"#,
            tally = tally.display()
        ),
    )
    .unwrap();
    let out = run_cli(&["validate", "--config", path.to_str().unwrap()], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("connector `tally` cannot join metrics")
            && out.stderr.contains("traces → metrics")
            && out.stderr.contains("weir.yaml:14:"),
        "{}",
        out.stderr
    );
}
