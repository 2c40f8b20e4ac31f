//! Connectors through the real binary: `forward` fans one pipeline into two, each adding its
//! own attribute, and the backend receives both copies with every value as sent; a slow backend
//! behind a connector slows the client to its pace (no buffer without bound in between) and
//! everything the client was told was accepted arrives once; a reload with connectors in the
//! graph, under load, loses nothing; what a pipeline flushes into a connector at shutdown still
//! arrives; and `count` turns spans into sums in a metrics pipeline.

mod common;
// The drills' process guards; this file uses only some of them.
#[allow(dead_code)]
#[path = "drills/harness.rs"]
mod harness;

use std::time::Duration;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::otlp::{self, kv, s};
use common::weir::Weir;
use common::{DEADLINE, Ports};
use harness::{Generator, Load, Sink, signal};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

const RETRY: &str =
    "retry_on_failure: { initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0s }";

fn fan_out_config(ports: &Ports, capture: &Capture) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
processors:
  attributes/in:
    actions: [{{ key: stage, value: in, action: insert }}]
  attributes/a:
    actions: [{{ key: branch, value: a, action: insert }}]
  attributes/b:
    actions: [{{ key: branch, value: b, action: insert }}]
connectors:
  forward:
exporters:
  otlp:
    endpoint: "{backend}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces/in:
      receivers: [otlp]
      processors: [attributes/in]
      exporters: [forward]
    traces/a:
      receivers: [forward]
      processors: [attributes/a]
      exporters: [otlp]
    traces/b:
      receivers: [forward]
      processors: [attributes/b]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_fans_one_pipeline_into_two_and_each_gets_every_span_as_sent() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(
        &fan_out_config(&ports, &capture),
        &[ports.grpc, ports.metrics],
    );
    let request = otlp::trace_request(7, 3);
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request.clone())
        .await
        .expect("export accepted");
    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 6, DEADLINE)
        .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());
    let mut by_branch = std::collections::BTreeMap::new();
    for got in capture.traces(Transport::Grpc) {
        let spans = &got.resource_spans[0].scope_spans[0].spans;
        let branch = spans[0]
            .attributes
            .iter()
            .find(|a| a.key == "branch")
            .cloned()
            .expect("a branch attribute");
        let mut expected = request.clone();
        for span in &mut expected.resource_spans[0].scope_spans[0].spans {
            span.attributes.push(kv("stage", s("in")));
            span.attributes.push(branch.clone());
        }
        assert_eq!(
            got, expected,
            "what {branch:?} delivered is what was sent, stamped"
        );
        by_branch
            .entry(format!("{:?}", branch.value))
            .and_modify(|n| *n += 1)
            .or_insert(1);
    }
    assert_eq!(by_branch.len(), 2, "one copy per branch: {by_branch:?}");
    weir.stop();
}

/// A pipeline into `forward` and one out of it to the sink, with a small sending queue.
fn chained_config(ports: &Ports, sink: &Sink, downstream_batch: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
processors:
  batch: {{ {downstream_batch} }}
connectors:
  forward:
exporters:
  otlp:
    endpoint: "{backend}"
    compression: none
    timeout: 2s
    sending_queue: {{ queue_size: 4, num_consumers: 1 }}
    {RETRY}
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces/in:
      receivers: [otlp]
      exporters: [forward]
    traces/out:
      receivers: [forward]
      processors: [batch]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        backend = sink.grpc_endpoint(),
    )
}

#[test]
fn a_slow_backend_behind_a_connector_slows_the_client_and_loses_nothing() {
    const TOTAL: u64 = 20_000;
    // 50 ms per request, one at a time: about 2 000 spans/s through a queue of 4 batches.
    let sink = Sink::start(&["--delay", "50ms"]);
    let ports = Ports::free();
    let weir = Weir::start(
        &chained_config(
            &ports,
            &sink,
            "send_batch_size: 100, send_batch_max_size: 100",
        ),
        &[ports.grpc, ports.metrics],
    );
    let load = Load {
        rate: 0,
        batch: 100,
        workers: 4,
        total: Some(TOTAL),
        duration: None,
        retry: true,
    };
    let report = Generator::start(ports.grpc, &load).wait(Duration::from_secs(120));
    sink.wait_for_unique(report.run_id, TOTAL, Duration::from_secs(60));
    let stats = sink.run(report.run_id);
    // The backend takes about 2 000 spans/s; with a buffer without bound between the pipelines
    // the client would run at tens of thousands. It waited instead: its answers came at the
    // backend's pace.
    let rate = serde_json::from_str::<serde_json::Value>(&report.raw)
        .ok()
        .and_then(|r| r["rate_achieved"].as_f64())
        .expect("the report's rate");
    assert!(
        rate < 5_000.0,
        "the client was not slowed to the backend's pace ({rate:.0} spans/s): {}\n{}",
        report.raw,
        weir.logs()
    );
    assert_eq!(
        (report.errors, report.items_refused, report.items_accepted),
        (0, 0, TOTAL),
        "every item acknowledged in the end: {}",
        report.raw
    );
    assert_eq!(
        (stats.unique, stats.missing, stats.duplicates),
        (TOTAL, 0, 0),
        "every acknowledged item delivered once"
    );
    weir.stop();
}

#[test]
fn a_reload_with_connectors_in_the_graph_loses_nothing() {
    const TOTAL: u64 = 20_000;
    let sink = Sink::start(&[]);
    let ports = Ports::free();
    let weir = Weir::start(
        &chained_config(&ports, &sink, "send_batch_size: 500, timeout: 200ms"),
        &[ports.grpc, ports.metrics],
    );
    let config_file = weir.config_dir().join("config-0.yaml");
    let load = Load {
        rate: 4_000,
        batch: 100,
        workers: 2,
        total: Some(TOTAL),
        duration: None,
        retry: true,
    };
    let generator = Generator::start(ports.grpc, &load);
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write(
        &config_file,
        chained_config(&ports, &sink, "send_batch_size: 300, timeout: 50ms"),
    )
    .expect("rewriting the config");
    signal(weir.pid(), "HUP");
    let applied = common::wait_until(Duration::from_secs(15), || {
        weir.logs().contains("config reloaded")
    });
    assert!(applied, "the reload was not applied:\n{}", weir.logs());
    let report = generator.wait(Duration::from_secs(60));
    sink.wait_for_unique(report.run_id, TOTAL, Duration::from_secs(30));
    let stats = sink.run(report.run_id);
    assert_eq!(report.items_accepted, TOTAL, "{}", report.raw);
    assert_eq!(
        (stats.unique, stats.missing),
        (TOTAL, 0),
        "every item delivered across the reload"
    );
    weir.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_turns_spans_into_sums_by_attribute_in_a_metrics_pipeline() {
    let capture = Capture::start();
    let ports = Ports::free();
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
connectors:
  count:
    spans:
      spans.by.i:
        description: Spans by their i.
        attributes: [{{ key: i }}]
    spanevents: {{}}
exporters:
  otlp:
    endpoint: "{backend}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [count]
    metrics:
      receivers: [count]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    );
    let weir = Weir::start(&config, &[ports.grpc, ports.metrics]);
    // Three spans with `i` 0, 1, 2 (ints: counted by their text).
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(otlp::trace_request(9, 3))
        .await
        .expect("export accepted");
    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Metrics, 3, DEADLINE)
        .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());
    let got = capture.metrics(Transport::Grpc);
    let rm = &got[0].resource_metrics[0];
    assert_eq!(
        rm.resource.as_ref().unwrap().attributes,
        otlp::resource("e2e").attributes
    );
    let m = &rm.scope_metrics[0].metrics[0];
    assert_eq!(
        (m.name.as_str(), m.description.as_str()),
        ("spans.by.i", "Spans by their i.")
    );
    let Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) = &m.data else {
        panic!("a sum: {m:?}")
    };
    let values: Vec<(String, i64)> = sum
        .data_points
        .iter()
        .map(|p| {
            let i = match &p.attributes[0].value.as_ref().unwrap().value {
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) => {
                    s.clone()
                }
                other => panic!("a string attribute: {other:?}"),
            };
            let n = match p.value {
                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(
                    n,
                )) => n,
                other => panic!("an int: {other:?}"),
            };
            (i, n)
        })
        .collect();
    assert_eq!(
        values,
        vec![("0".into(), 1), ("1".into(), 1), ("2".into(), 1)]
    );
    weir.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_pipeline_flushes_into_a_connector_at_shutdown_still_arrives() {
    let capture = Capture::start();
    let ports = Ports::free();
    // The batch in front of the connector holds everything until shutdown flushes it.
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
processors:
  batch: {{ send_batch_size: 100000, timeout: 1h }}
connectors:
  forward:
exporters:
  otlp:
    endpoint: "{backend}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    # Named so that the pipeline behind the connector comes first in the config's order.
    traces/upstream:
      receivers: [otlp]
      processors: [batch]
      exporters: [forward]
    traces/downstream:
      receivers: [forward]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    );
    let weir = Weir::start(&config, &[ports.grpc, ports.metrics]);
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(otlp::trace_request(3, 5))
        .await
        .expect("export accepted");
    assert!(capture.traces(Transport::Grpc).is_empty(), "held by batch");
    let stopped = weir.stop();
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 5, DEADLINE)
            .await,
        "the flushed spans went through the connector:\n{}",
        stopped.logs
    );
}
