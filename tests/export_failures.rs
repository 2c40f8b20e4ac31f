//! What Weir does when the backend fails: retryable errors (gRPC UNAVAILABLE, HTTP 503) are
//! retried until they succeed, honouring `RetryInfo` / `Retry-After`, and nothing is lost or
//! duplicated; permanent errors (gRPC INVALID_ARGUMENT, HTTP 400) are not retried, the batch is
//! dropped with an error log and counted on the internal metrics endpoint; a backend that is
//! too slow pushes back to the client instead of losing data.
//!
//! Real processes cannot use tokio's paused time, so the tests shorten the backoff through the
//! config instead (`initial_interval: 50ms`, no jitter) and wait with deadlines.

mod common;

use std::time::Duration;

use common::capture::{Capture, GrpcReply, HttpReply, Signal, Transport};
use common::weir::Weir;
use common::{DEADLINE, FAST_RETRY, Ports, otlp, prom, wait_until_async, weir_yaml};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message as _;

/// Field order is drop order: Weir stops before its backend goes away.
struct Fixture {
    weir: Weir,
    capture: Capture,
    ports: Ports,
}

/// Weir: otlp receiver → batch (20 ms) → the exporter `id` with `settings`, to the capture.
fn start(id: &str, settings: &str, capture: Capture) -> Fixture {
    let ports = Ports::free();
    let endpoint = if id.starts_with("otlphttp") {
        capture.http_endpoint()
    } else {
        capture.grpc_endpoint()
    };
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        Some("timeout: 20ms"),
        &[(id, format!("endpoint: \"{endpoint}\", {settings}"))],
        &[("traces", &[id])],
    );
    let weir = Weir::start(&yaml, &ports.all());
    Fixture {
        weir,
        capture,
        ports,
    }
}

async fn send_spans(ports: &Ports, seed: u8, n: usize) {
    let mut client = TraceServiceClient::new(common::grpc::channel(ports.grpc));
    client
        .export(otlp::trace_request(seed, n))
        .await
        .expect("weir accepts the spans");
}

/// Waits until the counter reaches `want`; returns its last value.
async fn wait_for_counter(
    port: u16,
    name: &str,
    labels: &[(&str, &str)],
    want: f64,
) -> Option<f64> {
    let mut last = None;
    wait_until_async(DEADLINE, || {
        last = prom::counter(port, name, labels);
        last == Some(want)
    })
    .await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_twice_then_ok_delivers_every_span_exactly_once() {
    let capture = Capture::start();
    capture.script_grpc([
        GrpcReply::Status(tonic::Code::Unavailable, "backend restarting".into()),
        GrpcReply::Status(tonic::Code::Unavailable, "backend restarting".into()),
    ]);
    let f = start("otlp", FAST_RETRY, capture);
    send_spans(&f.ports, 1, 10).await;
    let delivered = f
        .capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 10, DEADLINE)
        .await;
    assert!(
        delivered,
        "spans not delivered after two UNAVAILABLE: {}\nlogs:\n{}",
        f.capture.summary(),
        f.weir.logs()
    );
    let sent = wait_for_counter(
        f.ports.metrics,
        "otelcol_exporter_sent_spans_total",
        &[("exporter", "otlp")],
        10.0,
    )
    .await;
    assert_eq!(sent, Some(10.0), "sent spans counter");
    let Fixture {
        weir,
        capture,
        ports,
    } = f;
    let failed = prom::counter(
        ports.metrics,
        "otelcol_exporter_send_failed_spans_total",
        &[("exporter", "otlp")],
    );
    assert_eq!(
        failed,
        Some(0.0),
        "retried-then-delivered spans must not count as failed"
    );
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);

    let calls = capture.calls_for(Transport::Grpc, Signal::Traces);
    assert_eq!(
        calls.len(),
        3,
        "two failures and one success: {}",
        capture.summary()
    );
    assert_eq!(
        capture.accepted_items(Transport::Grpc, Signal::Traces),
        10,
        "nothing lost, nothing doubled"
    );
    // Each retry resent the same batch.
    assert!(
        calls.windows(2).all(|w| w[0].payload == w[1].payload),
        "a retry sent different content"
    );
    // The backoff waited (50 ms, then 75 ms, no jitter) rather than hammering the backend.
    for (i, pair) in calls.windows(2).enumerate() {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(45),
            "retry {} came after only {gap:?}",
            i + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_with_retry_info_waits_the_asked_delay() {
    let capture = Capture::start();
    capture.script_grpc([GrpcReply::StatusWithRetryInfo(
        tonic::Code::Unavailable,
        "overloaded".into(),
        Duration::from_secs(1),
    )]);
    let f = start("otlp", FAST_RETRY, capture);
    send_spans(&f.ports, 2, 4).await;
    let delivered = f
        .capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 4, DEADLINE)
        .await;
    assert!(
        delivered,
        "not delivered after RetryInfo: {}\nlogs:\n{}",
        f.capture.summary(),
        f.weir.logs()
    );
    let calls = f.capture.calls_for(Transport::Grpc, Signal::Traces);
    assert_eq!(calls.len(), 2, "{}", f.capture.summary());
    let gap = calls[1].at.duration_since(calls[0].at);
    assert!(
        gap >= Duration::from_secs(1),
        "RetryInfo asked for 1 s; the retry came after {gap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_with_retry_after_then_ok_delivers_after_the_asked_delay() {
    let capture = Capture::start();
    capture.script_http([HttpReply::Status {
        status: 503,
        retry_after: Some("1".into()),
        message: "try again later".into(),
    }]);
    let f = start("otlphttp", FAST_RETRY, capture);
    send_spans(&f.ports, 3, 6).await;
    let delivered = f
        .capture
        .wait_for_items_async(Transport::Http, Signal::Traces, 6, DEADLINE)
        .await;
    assert!(
        delivered,
        "not delivered after 503: {}\nlogs:\n{}",
        f.capture.summary(),
        f.weir.logs()
    );
    let Fixture { weir, capture, .. } = f;
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
    let calls = capture.calls_for(Transport::Http, Signal::Traces);
    assert_eq!(
        calls.len(),
        2,
        "one 503 and one success: {}",
        capture.summary()
    );
    assert_eq!(
        capture.accepted_items(Transport::Http, Signal::Traces),
        6,
        "nothing lost, nothing doubled"
    );
    let gap = calls[1].at.duration_since(calls[0].at);
    assert!(
        gap >= Duration::from_secs(1),
        "Retry-After: 1 asked for 1 s; the retry came after {gap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_502_504_are_retried_until_delivered() {
    let capture = Capture::start();
    capture.script_http([429u16, 502, 504].map(|status| HttpReply::Status {
        status,
        retry_after: None,
        message: format!("status {status}"),
    }));
    let f = start("otlphttp", FAST_RETRY, capture);
    send_spans(&f.ports, 4, 3).await;
    let delivered = f
        .capture
        .wait_for_items_async(Transport::Http, Signal::Traces, 3, DEADLINE)
        .await;
    assert!(
        delivered,
        "not delivered: {}\nlogs:\n{}",
        f.capture.summary(),
        f.weir.logs()
    );
    assert_eq!(
        f.capture.calls_for(Transport::Http, Signal::Traces).len(),
        4,
        "{}",
        f.capture.summary()
    );
}

/// A permanent error: exactly one call, an error log saying the batch was dropped, the spans
/// counted as failed, and the exporter keeps working for the next batch.
async fn permanent_error_is_dropped_and_counted(id: &str, transport: Transport, capture: Capture) {
    let f = start(id, FAST_RETRY, capture);
    send_spans(&f.ports, 5, 4).await;
    let failed = wait_for_counter(
        f.ports.metrics,
        "otelcol_exporter_send_failed_spans_total",
        &[("exporter", id)],
        4.0,
    )
    .await;
    assert_eq!(
        failed,
        Some(4.0),
        "send_failed_spans for {id}; scrape:\n{}\nlogs:\n{}",
        prom::scrape(f.ports.metrics).unwrap_or_default(),
        f.weir.logs()
    );
    assert!(
        f.weir.wait_for_log("dropping the batch", DEADLINE),
        "no drop logged:\n{}",
        f.weir.logs()
    );
    let logs = f.weir.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("dropping the batch"))
        .unwrap_or_default();
    assert!(
        line.contains("ERROR"),
        "the drop is not logged at error level: {line}"
    );
    // Several backoff intervals (50 ms) pass: a retry would have happened by now.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        f.capture.calls_for(transport, Signal::Traces).len(),
        1,
        "a permanent error was retried: {}",
        f.capture.summary()
    );
    assert_eq!(
        prom::counter(
            f.ports.metrics,
            "otelcol_exporter_sent_spans_total",
            &[("exporter", id)]
        ),
        Some(0.0)
    );

    // The next batch goes through.
    send_spans(&f.ports, 6, 2).await;
    let delivered = f
        .capture
        .wait_for_items_async(transport, Signal::Traces, 2, DEADLINE)
        .await;
    assert!(
        delivered,
        "the exporter stopped working after a permanent error: {}",
        f.capture.summary()
    );
    assert_eq!(
        f.capture.calls_for(transport, Signal::Traces).len(),
        2,
        "{}",
        f.capture.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_invalid_argument_is_not_retried_but_dropped_and_counted() {
    let capture = Capture::start();
    capture.script_grpc([GrpcReply::Status(
        tonic::Code::InvalidArgument,
        "bad spans".into(),
    )]);
    permanent_error_is_dropped_and_counted("otlp", Transport::Grpc, capture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_400_is_not_retried_but_dropped_and_counted() {
    let capture = Capture::start();
    capture.script_http([HttpReply::Status {
        status: 400,
        retry_after: None,
        message: "bad spans".into(),
    }]);
    permanent_error_is_dropped_and_counted("otlphttp", Transport::Http, capture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_past_max_elapsed_time_are_dropped_and_counted() {
    let capture = Capture::start();
    capture.grpc_default(GrpcReply::Status(
        tonic::Code::Unavailable,
        "down for good".into(),
    ));
    let retry = "retry_on_failure: { enabled: true, initial_interval: 50ms, multiplier: 1.5, randomization_factor: 0, max_interval: 100ms, max_elapsed_time: 500ms }";
    let f = start("otlp", retry, capture);
    send_spans(&f.ports, 7, 3).await;
    let failed = wait_for_counter(
        f.ports.metrics,
        "otelcol_exporter_send_failed_spans_total",
        &[("exporter", "otlp")],
        3.0,
    )
    .await;
    assert_eq!(
        failed,
        Some(3.0),
        "spans given up on are counted as failed; logs:\n{}",
        f.weir.logs()
    );
    let calls = f.capture.calls_for(Transport::Grpc, Signal::Traces).len();
    assert!(
        calls >= 3,
        "retried a few times within 500 ms before giving up, got {calls} calls"
    );
    assert!(
        f.weir.logs().contains("dropping the batch"),
        "no drop logged:\n{}",
        f.weir.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_and_exporter_count_accepted_and_sent_items_per_signal() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    let capture = Capture::start();
    let ports = Ports::free();
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        Some("timeout: 20ms"),
        &[("otlp", format!("endpoint: \"{}\"", capture.grpc_endpoint()))],
        &[
            ("traces", &["otlp"]),
            ("metrics", &["otlp"]),
            ("logs", &["otlp"]),
        ],
    );
    let weir = Weir::start(&yaml, &ports.all());
    send_spans(&ports, 8, 3).await;
    let metrics = otlp::metrics_request_with_exemplars();
    let answer = common::http_client::post(
        &ports.http_url("metrics"),
        "application/x-protobuf",
        metrics.encode_to_vec(),
    )
    .await
    .expect("metrics");
    assert_eq!(answer.status, 200, "{}", answer.text());
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(otlp::resource("e2e")),
            scope_logs: vec![ScopeLogs {
                scope: Some(otlp::scope("e2e")),
                log_records: (0..5)
                    .map(|i| LogRecord {
                        body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                            value: Some(otlp::s(&format!("log {i}"))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let answer = common::http_client::post(
        &ports.http_url("logs"),
        "application/x-protobuf",
        logs.encode_to_vec(),
    )
    .await
    .expect("logs");
    assert_eq!(answer.status, 200, "{}", answer.text());

    for (noun, n) in [("spans", 3.0), ("metric_points", 7.0), ("log_records", 5.0)] {
        let accepted = wait_for_counter(
            ports.metrics,
            &format!("otelcol_receiver_accepted_{noun}_total"),
            &[("receiver", "otlp")],
            n,
        )
        .await;
        assert_eq!(accepted, Some(n), "otelcol_receiver_accepted_{noun}_total");
        let sent = wait_for_counter(
            ports.metrics,
            &format!("otelcol_exporter_sent_{noun}_total"),
            &[("exporter", "otlp")],
            n,
        )
        .await;
        assert_eq!(
            sent,
            Some(n),
            "otelcol_exporter_sent_{noun}_total; logs:\n{}",
            weir.logs()
        );
    }
    let text = prom::scrape(ports.metrics).expect("scrape");
    assert!(
        prom::value(
            &text,
            "otelcol_exporter_queue_size",
            &[("exporter", "otlp")]
        )
        .is_some(),
        "no otelcol_exporter_queue_size for the otlp exporter:\n{text}"
    );
    drop(capture);
}

/// A backend that holds the first call for 7 s, a queue of one batch and one consumer: the
/// pipeline fills up, and once a request has waited the admission timeout (5 s) the receiver
/// answers "retry later" (HTTP 503 or 429 with Retry-After) instead of buffering without bound;
/// every request it accepted is delivered in the end. (The slowest test here, because that
/// timeout is not configurable.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pipeline_pushes_back_with_retry_later_and_loses_nothing_accepted() {
    let capture = Capture::start();
    capture.script_grpc([GrpcReply::OkAfter(Duration::from_secs(7))]);
    let f = start(
        "otlp",
        &format!(
            "timeout: 20s, sending_queue: {{ enabled: true, num_consumers: 1, queue_size: 1 }}, {FAST_RETRY}"
        ),
        capture,
    );
    let mut accepted = 0usize;
    let mut pushed_back = None;
    let started = std::time::Instant::now();
    for seed in 0..200u8 {
        let body = otlp::trace_request(seed, 1).encode_to_vec();
        let answer =
            common::http_client::post(&f.ports.http_url("traces"), "application/x-protobuf", body)
                .await
                .expect("answer");
        match answer.status {
            200 => accepted += 1,
            429 | 503 => {
                pushed_back = Some(answer);
                break;
            }
            other => panic!("unexpected answer {other}: {}", answer.text()),
        }
    }
    let answer = pushed_back.unwrap_or_else(|| {
        panic!(
            "200 requests to a stalled pipeline were all accepted within {:?}; no backpressure reached the client. \
             Backend: {} calls, {} spans. Internal metrics:\n{}",
            started.elapsed(),
            f.capture.calls().len(),
            f.capture.accepted_items(Transport::Grpc, Signal::Traces),
            prom::scrape(f.ports.metrics).unwrap_or_default()
        )
    });
    assert!(
        answer.header("retry-after").is_some(),
        "a {} without Retry-After: {:?}",
        answer.status,
        answer.headers
    );
    // Once the slow call returns, every accepted span must arrive.
    let delivered = f
        .capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, accepted, DEADLINE)
        .await;
    assert!(
        delivered,
        "{accepted} spans were accepted, {} delivered: {}\nlogs:\n{}",
        f.capture.accepted_items(Transport::Grpc, Signal::Traces),
        f.capture.summary(),
        f.weir.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_acknowledgements_the_backends_partial_success_reaches_the_client() {
    let capture = Capture::start();
    capture.script_grpc([GrpcReply::Partial(2, "2 spans without a name".into())]);
    let ports = Ports::free();
    let exporter = format!(
        "endpoint: \"{}\", compression: none",
        capture.grpc_endpoint()
    );
    // No batch processor: the exported batch is the client's request, so the rejected spans
    // are known to be its own.
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        None,
        &[("otlp", exporter)],
        &[("traces", &["otlp"])],
    )
    .replacen(
        "receivers:\n  otlp:\n",
        "receivers:\n  otlp:\n    acknowledgements: true\n",
        1,
    );
    let weir = Weir::start(&yaml, &ports.all());
    let mut client = TraceServiceClient::new(common::grpc::channel(ports.grpc));
    let response = client
        .export(otlp::trace_request(1, 5))
        .await
        .unwrap_or_else(|e| panic!("weir refused: {e}\nlogs:\n{}", weir.logs()))
        .into_inner();
    let partial = response
        .partial_success
        .unwrap_or_else(|| panic!("no partial success passed back; logs:\n{}", weir.logs()));
    assert_eq!(
        (partial.rejected_spans, partial.error_message.as_str()),
        (2, "2 spans without a name")
    );
    assert_eq!(
        capture.accepted_items(Transport::Grpc, Signal::Traces),
        5,
        "the backend got the request"
    );
}
