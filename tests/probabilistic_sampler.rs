//! The `probabilistic_sampler` processor through the real binary: spans sent over OTLP/gRPC
//! and log records over OTLP/HTTP reach the backend exactly when otelcol would keep them (the
//! same trace ids and records, with the `tracestate` and `sampling.*` attributes otelcol
//! writes), the decisions are counted with otelcol's names, and a bad config is refused with
//! the field's line.
//!
//! The expected ids and values come from an independent Python rendering of otelcol-contrib's
//! `hash_seed` algorithm (FNV-1a of the little-endian seed and the bytes, kept when the low 14
//! bits are below `uint32(15.3 * 163.84)` = 2506 in float32) and, for the consistent modes,
//! from otelcol-contrib's own `tracesprocessor_test.go` cases.

mod common;

use std::path::Path;

use common::capture::{Capture, Signal, Transport};
use common::otlp::{kv, s};
use common::weir::{Weir, run_cli};
use common::{DEADLINE, Ports, grpc, http_client, prom};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

fn receivers(ports: &Ports) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
      http: {{ endpoint: "127.0.0.1:{http}" }}
"#,
        grpc = ports.grpc,
        http = ports.http,
    )
}

fn span(trace_id: [u8; 16], tracestate: &str) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![0xab; 8],
        trace_state: tracestate.to_string(),
        name: "op".to_string(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Default::default()
    }
}

fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(common::otlp::resource("e2e")),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Trace id `i` of the golden set: byte `j` is `i * 31 + j * 7 + 1`.
fn golden_id(i: usize) -> [u8; 16] {
    std::array::from_fn(|j| (i * 31 + j * 7 + 1) as u8)
}

fn hex_id(text: &str) -> [u8; 16] {
    std::array::from_fn(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
}

/// The spans that arrived, as (trace id, tracestate), in arrival order.
fn arrived_spans(capture: &Capture) -> Vec<(Vec<u8>, String)> {
    capture
        .traces(Transport::Grpc)
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| (s.trace_id.clone(), s.trace_state.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_seed_keeps_the_spans_and_records_otelcol_keeps() {
    let capture = Capture::start();
    let ports = Ports::free();
    let config = format!(
        r#"{receivers}
processors:
  probabilistic_sampler:
    sampling_percentage: 15.3
    hash_seed: 22
    attribute_source: record
    from_attribute: log.id
    sampling_priority: keep.percent
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
      processors: [probabilistic_sampler]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [probabilistic_sampler]
      exporters: [otlp]
"#,
        receivers = receivers(&ports),
        backend = capture.grpc_endpoint(),
        metrics = ports.metrics,
    );
    let weir = Weir::start(&config, &ports.all());

    let request = traces((0..32).map(|i| span(golden_id(i), "")).collect());
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request)
        .await
        .expect("export accepted");

    let record = |id: &str, extra: Vec<_>| LogRecord {
        severity_number: 9,
        body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
            value: Some(s("served")),
        }),
        attributes: [vec![kv("log.id", s(id))], extra].concat(),
        ..Default::default()
    };
    let mut records: Vec<LogRecord> = (0..20)
        .map(|i| record(&format!("log-{i}"), vec![]))
        .collect();
    records.push(record(
        "log-keep",
        vec![kv("keep.percent", Value::IntValue(100))],
    ));
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(common::otlp::resource("e2e")),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let answer = http_client::post(
        &ports.http_url("logs"),
        "application/x-protobuf",
        logs.encode_to_vec(),
    )
    .await
    .expect("HTTP request");
    assert_eq!(answer.status, 200, "{}", answer.text());

    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 5, DEADLINE)
        .await
        && capture
            .wait_for_items_async(Transport::Grpc, Signal::Logs, 6, DEADLINE)
            .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());

    let expected: Vec<(Vec<u8>, String)> = [
        (5, "de30119c660873"),
        (6, "dc3023b5ef48f3"),
        (15, "f8b01c2009c1d3"),
        (18, "f13034a42a43b3"),
        (24, "daf039605b8943"),
    ]
    .into_iter()
    .map(|(i, rv)| (golden_id(i).to_vec(), format!("ot=rv:{rv};th:d8d8")))
    .collect();
    assert_eq!(arrived_spans(&capture), expected);

    // Records by `log.id`: 1, 4, 5, 6 and 7 hash below the rate; `log-keep` asks for 100 %.
    let kept: Vec<(String, String, String)> = capture
        .logs(Transport::Grpc)
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|r| {
            let text = |i: usize| match r.attributes[i].value.as_ref().and_then(|v| v.value.clone())
            {
                Some(Value::StringValue(text)) => text,
                other => panic!("{other:?}"),
            };
            let last = r.attributes.len() - 1;
            assert_eq!(r.attributes[last - 1].key, "sampling.randomness");
            assert_eq!(r.attributes[last].key, "sampling.threshold");
            (text(0), text(last - 1), text(last))
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("log-1", "ff781afebe0021", "d8d8"),
        ("log-4", "ec941bbeee04da", "d8d8"),
        ("log-5", "e6481bfefe066d", "d8d8"),
        ("log-6", "f92c1b3ece01b4", "d8d8"),
        ("log-7", "f2e01b7ede0347", "d8d8"),
        ("log-keep", "6640321e84a66f", "0"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(kept, expected);

    let count = |name: &str, policy: &str, sampled: &str| {
        prom::counter(
            ports.metrics,
            name,
            &[("policy", policy), ("sampled", sampled)],
        )
    };
    let traces = "otelcol_processor_probabilistic_sampler_count_traces_sampled_total";
    let logs = "otelcol_processor_probabilistic_sampler_count_logs_sampled_total";
    assert_eq!(count(traces, "trace_id_hash", "true"), Some(5.0));
    assert_eq!(count(traces, "trace_id_hash", "false"), Some(27.0));
    assert_eq!(count(logs, "log.id", "true"), Some(5.0));
    assert_eq!(count(logs, "log.id", "false"), Some(15.0));
    assert_eq!(count(logs, "sampling_priority", "true"), Some(1.0));
    weir.stop();
}

/// otelcol-contrib's `tracesprocessor_test.go` cases at 25 %: a span arriving at 50 %
/// (`th:8`) is kept by equalizing at 25 % (`th:c`) and by proportional at 12.5 % (`th:e`)
/// when its randomness passes; other vendors' entries stay behind `ot`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistent_modes_write_the_new_threshold_into_the_tracestate() {
    let equalizing = Capture::start();
    let proportional = Capture::start();
    let ports = Ports::free();
    let config = format!(
        r#"{receivers}
processors:
  probabilistic_sampler/equalizing:
    mode: equalizing
    sampling_percentage: 25
  probabilistic_sampler/proportional:
    mode: proportional
    sampling_percentage: 25
exporters:
  otlp/equalizing:
    endpoint: "{equalizing}"
  otlp/proportional:
    endpoint: "{proportional}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces/equalizing:
      receivers: [otlp]
      processors: [probabilistic_sampler/equalizing]
      exporters: [otlp/equalizing]
    traces/proportional:
      receivers: [otlp]
      processors: [probabilistic_sampler/proportional]
      exporters: [otlp/proportional]
"#,
        receivers = receivers(&ports),
        equalizing = equalizing.grpc_endpoint(),
        proportional = proportional.grpc_endpoint(),
        metrics = ports.metrics,
    );
    let weir = Weir::start(&config, &ports.all());

    let always = hex_id("ffffffffffffffffffffffffffffffff");
    let d0 = hex_id("a0a0a0a0a0a0a0a0a0d0000000000000");
    let c0 = hex_id("ddddddddddddddddddc0000000000000");
    let low = hex_id("fefefefefefefefefe80000000000000");
    let request = traces(vec![
        span(always, "ot=th:8"),
        span(d0, "vendor=x,ot=th:8"),
        span(c0, ""),
        span(low, ""),
    ]);
    TraceServiceClient::new(grpc::channel(ports.grpc))
        .export(request)
        .await
        .expect("export accepted");

    let arrived = equalizing
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 3, DEADLINE)
        .await
        && proportional
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 2, DEADLINE)
            .await;
    assert!(
        arrived,
        "{}\n{}\nlogs:\n{}",
        equalizing.summary(),
        proportional.summary(),
        weir.logs()
    );
    let of = |id: [u8; 16], state: &str| (id.to_vec(), state.to_string());
    assert_eq!(
        arrived_spans(&equalizing),
        [
            of(always, "ot=th:c"),
            of(d0, "ot=th:c,vendor=x"),
            of(c0, "ot=th:c")
        ]
    );
    assert_eq!(
        arrived_spans(&proportional),
        [of(always, "ot=th:e"), of(c0, "ot=th:c")]
    );
    let count = |sampled| {
        prom::counter(
            ports.metrics,
            "otelcol_processor_probabilistic_sampler_count_traces_sampled_total",
            &[("policy", "trace_id_w3c"), ("sampled", sampled)],
        )
    };
    assert_eq!(count("true"), Some(5.0));
    assert_eq!(count("false"), Some(3.0));
    weir.stop();
}

#[test]
fn a_bad_config_is_refused_at_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sampler.yaml");
    let yaml = "receivers:\n  otlp:\n    protocols:\n      grpc:\nprocessors:\n  probabilistic_sampler:\n    sampling_percentage: -5\n    mode: proportional\n    hash_seed: 3\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [probabilistic_sampler]\n      exporters: [debug]\n";
    std::fs::write(&path, yaml).expect("writing the config");
    let file = path.to_string_lossy().into_owned();
    let out = run_cli(&["validate", "--config", &file], None::<&Path>);
    assert_eq!(out.code, Some(1), "{out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!(
            "{file}:7:5: processors.probabilistic_sampler: sampling_percentage must not be negative (-5)"
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "{file}:9:5: processors.probabilistic_sampler: hash_seed is used only in mode `hash_seed`"
        )),
        "{all}"
    );
}
