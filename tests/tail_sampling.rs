//! The `tail_sampling` processor through the real binary: the spans of twenty traces are sent
//! in pieces over two OTLP/gRPC connections and OTLP/HTTP; the backend receives every span of
//! each trace with an error span or a slow one, and no span of any other trace, and the
//! metrics endpoint counts the decisions with otelcol's names.

mod common;

use std::collections::BTreeMap;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::http_client;
use common::otlp::{self, kv, s};
use common::prom;
use common::weir::Weir;
use common::{DEADLINE, Ports};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message as _;

fn config(ports: &Ports, capture: &Capture) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
      http: {{ endpoint: "127.0.0.1:{http}" }}
processors:
  tail_sampling:
    decision_wait: 2s
    num_traces: 1000
    policies:
      - name: errors
        type: status_code
        status_code: {{ status_codes: [ERROR] }}
      - name: slow
        type: latency
        latency: {{ threshold_ms: 500 }}
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
      processors: [tail_sampling]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    )
}

const TRACES: u8 = 20;
const SPANS: u8 = 6;
const START: u64 = 1_700_000_000_000_000_000;

/// Span `i` of trace `t`: every fourth trace has an error span, the next one is 600 ms long,
/// the others are quick and fine.
fn span(t: u8, i: u8) -> Span {
    let slow = t % 4 == 1 && i == 0;
    Span {
        trace_id: vec![t + 1; 16],
        span_id: vec![t + 1, i, 0, 0, 0, 0, 0, 1],
        name: format!("trace {t} span {i}"),
        start_time_unix_nano: START,
        end_time_unix_nano: START + if slow { 600_000_000 } else { 1_000_000 },
        status: (t.is_multiple_of(4) && i == 3).then(|| Status {
            code: status::StatusCode::Error as i32,
            ..Default::default()
        }),
        attributes: vec![kv("part", s(&format!("{}", i / 2)))],
        ..Default::default()
    }
}

/// Spans `range` of every trace, as one request.
fn part(range: std::ops::Range<u8>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(otlp::resource("e2e")),
            scope_spans: vec![ScopeSpans {
                scope: Some(otlp::scope("e2e-scope")),
                spans: (0..TRACES)
                    .flat_map(|t| range.clone().map(move |i| span(t, i)))
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn kept(t: u8) -> bool {
    t % 4 < 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_sent_in_pieces_over_several_connections_arrive_whole_or_not_at_all() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(&config(&ports, &capture), &ports.all());

    // Two gRPC connections and one HTTP one, each with a third of every trace.
    let mut first = TraceServiceClient::new(grpc::channel(ports.grpc));
    let mut second = TraceServiceClient::new(grpc::channel(ports.grpc));
    first.export(part(0..2)).await.expect("export accepted");
    second.export(part(2..4)).await.expect("export accepted");
    let answer = http_client::post(
        &ports.http_url("traces"),
        "application/x-protobuf",
        part(4..6).encode_to_vec(),
    )
    .await
    .expect("HTTP request");
    assert_eq!(answer.status, 200, "{}", answer.text());

    let kept_spans = (0..TRACES).filter(|&t| kept(t)).count() * usize::from(SPANS);
    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, kept_spans, DEADLINE)
        .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());
    // Every trace is decided once the global count has all twenty.
    let decided = || {
        prom::counter(
            ports.metrics,
            "otelcol_processor_tail_sampling_global_count_traces_sampled_total",
            &[],
        )
    };
    let until = std::time::Instant::now() + DEADLINE;
    while decided() != Some(f64::from(TRACES)) && std::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(decided(), Some(f64::from(TRACES)), "{}", weir.logs());

    let mut by_trace: BTreeMap<u8, Vec<Span>> = BTreeMap::new();
    for request in capture.traces(Transport::Grpc) {
        for rs in &request.resource_spans {
            assert_eq!(rs.resource, Some(otlp::resource("e2e")));
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    by_trace
                        .entry(span.trace_id[0] - 1)
                        .or_default()
                        .push(span.clone());
                }
            }
        }
    }
    assert_eq!(
        by_trace.keys().copied().collect::<Vec<_>>(),
        (0..TRACES).filter(|&t| kept(t)).collect::<Vec<_>>()
    );
    for (t, spans) in &mut by_trace {
        spans.sort_by_key(|s| s.span_id.clone());
        let sent: Vec<Span> = (0..SPANS).map(|i| span(*t, i)).collect();
        assert_eq!(*spans, sent, "trace {t} arrives whole, as sent");
    }

    let per_policy = |policy: &str, sampled: &str| {
        prom::counter(
            ports.metrics,
            "otelcol_processor_tail_sampling_count_traces_sampled_total",
            &[("policy", policy), ("sampled", sampled)],
        )
    };
    assert_eq!(per_policy("errors", "true"), Some(5.0));
    assert_eq!(per_policy("errors", "false"), Some(15.0));
    assert_eq!(per_policy("slow", "true"), Some(5.0));
    assert_eq!(
        prom::counter(
            ports.metrics,
            "otelcol_processor_tail_sampling_new_trace_id_received_total",
            &[]
        ),
        Some(f64::from(TRACES))
    );
    assert_eq!(
        prom::counter(
            ports.metrics,
            "otelcol_processor_tail_sampling_sampling_decision_latency_count",
            &[("policy", "errors")]
        ),
        Some(f64::from(TRACES))
    );
    weir.stop();
}
