//! The `memory_limiter` end to end through the `weir` binary: `otlp` (HTTP) → memory_limiter →
//! batch → `otlphttp`, whose backend is down, so every accepted batch piles up in the sending
//! queue. A client sends a burst far larger than the limit. With the limiter, the burst is
//! refused with HTTP 503 and `Retry-After` once the limit is reached, the process's anonymous
//! resident memory (`RssAnon`, what the limiter measures), sampled every 5 ms, stays under the
//! limit plus a stated margin, and once the backend comes
//! up a client that retries its refused requests loses nothing. Without the limiter (the
//! control), the same burst is all accepted and the peak goes above that bound, which shows
//! the bound can fail.
//!
//! A limit below what Weir uses on its own shows the gRPC side of a refusal: `UNAVAILABLE` with
//! a `RetryInfo` asking for the longest delay offered.
//!
//! The backend is a small OTLP/HTTP server written here: it keeps only the ids of the spans it
//! received, so the test process itself stays small while tens of MiB flow through.

mod common;

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::http_client::{self, Answer};
use common::proc_status::PeakSampler;
use common::weir::Weir;
use common::{DEADLINE, Ports, otlp, ports, prom, wait_until_async};
use futures::StreamExt as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

const MIB: u64 = 1024 * 1024;

/// The limiter's hard limit. Weir in a debug build starts with about 2 MiB of anonymous memory.
const LIMIT_MIB: u64 = 64;
/// How far above the limit the peak may go: requests in flight when the soft limit (51 MiB)
/// is crossed (up to `CONCURRENCY` bodies of 1 MiB, read before they are admitted, each in the
/// receiver's buffer and as a batch), a `batch` processor's concatenation in progress, and
/// allocator slack.
const MARGIN_MIB: u64 = 16;
/// The burst: this many requests of about 1 MiB each, twice the bound above.
const REQUESTS: u32 = 176;
/// Spans per request, each with a 16 KiB attribute.
const SPANS: u32 = 64;
const BLOB: usize = 16 * 1024;
/// Requests the client has in flight at once.
const CONCURRENCY: usize = 8;
/// How long the retrying client keeps at it before the test fails.
const RETRY_DEADLINE: Duration = Duration::from_secs(40);

/// Request `index`: `SPANS` spans whose ids say which request and which span they are.
fn request(index: u32) -> Vec<u8> {
    let spans = (0..SPANS)
        .map(|i| {
            let mut span_id = index.to_be_bytes().to_vec();
            span_id.extend_from_slice(&i.to_be_bytes());
            let mut trace_id = vec![7u8; 8];
            trace_id.extend_from_slice(&span_id);
            Span {
                trace_id,
                span_id,
                name: format!("burst-{index}-{i}"),
                start_time_unix_nano: 1_700_000_000_000_000_000,
                end_time_unix_nano: 1_700_000_000_000_500_000,
                attributes: vec![otlp::kv(
                    "blob",
                    any_value::Value::StringValue(
                        char::from(b'a' + (i % 26) as u8).to_string().repeat(BLOB),
                    ),
                )],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(otlp::resource("memory-limiter-e2e")),
            scope_spans: vec![ScopeSpans {
                scope: Some(otlp::scope("burst")),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// Span ids the backend received, each once however often it was delivered.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<HashSet<Vec<u8>>>>);

impl Received {
    fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The backend coming up: an OTLP/HTTP server on the reserved `port` (refusing connections until now, so
/// Weir's exports were refused and retried until now) that records span ids.
async fn backend_up(port: ports::Reserved) -> Received {
    let listener = port.listen();
    let received = Received::default();
    let ids = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let ids = ids.clone();
            let service = service_fn(move |request: http::Request<Incoming>| {
                let ids = ids.clone();
                async move {
                    let body = request.into_body().collect().await.map(|b| b.to_bytes());
                    let status = match body
                        .ok()
                        .and_then(|b| ExportTraceServiceRequest::decode(b).ok())
                    {
                        Some(decoded) => {
                            let mut ids = ids.0.lock().unwrap_or_else(|e| e.into_inner());
                            for span in decoded
                                .resource_spans
                                .iter()
                                .flat_map(|r| &r.scope_spans)
                                .flat_map(|s| &s.spans)
                            {
                                ids.insert(span.span_id.clone());
                            }
                            200
                        }
                        None => 400,
                    };
                    let response = http::Response::builder()
                        .status(status)
                        .header("content-type", "application/x-protobuf")
                        .body(Full::new(Bytes::from(
                            ExportTraceServiceResponse::default().encode_to_vec(),
                        )))
                        .expect("valid response");
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    received
}

/// Weir: otlp → [memory_limiter with `limit_mib`, checked every 100 ms] → batch → otlphttp to
/// `backend`, retrying forever with a short backoff and a queue that never fills, so memory is
/// the only limit.
fn start_weir(ports: &Ports, backend: u16, limit_mib: Option<u64>) -> Weir {
    let (processor, listed) = match limit_mib {
        Some(limit) => (
            format!("  memory_limiter: {{ check_interval: 100ms, limit_mib: {limit} }}\n"),
            "memory_limiter, batch",
        ),
        None => (String::new(), "batch"),
    };
    let yaml = format!(
        "receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: \"127.0.0.1:{grpc}\" }}
      http: {{ endpoint: \"127.0.0.1:{http}\" }}
processors:
{processor}  batch: {{ send_batch_size: 128, timeout: 20ms }}
exporters:
  otlphttp:
    endpoint: \"http://127.0.0.1:{backend}\"
    compression: none
    timeout: 5s
    sending_queue: {{ queue_size: 100000, num_consumers: 4 }}
    retry_on_failure: {{ enabled: true, initial_interval: 100ms, multiplier: 1.5, randomization_factor: 0, max_interval: 300ms, max_elapsed_time: 0 }}
service:
  telemetry:
    metrics:
      address: \"127.0.0.1:{metrics}\"
  pipelines:
    traces:
      receivers: [otlp]
      processors: [{listed}]
      exporters: [otlphttp]
",
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
    );
    Weir::start(&yaml, &ports.all())
}

/// Sends every request in `indices` once, `CONCURRENCY` at a time; the answers by index, with
/// when they came.
async fn send_once(
    url: &str,
    indices: impl IntoIterator<Item = u32>,
) -> Vec<(u32, tokio::time::Instant, Answer)> {
    futures::stream::iter(indices)
        .map(|index| async move {
            let answer = http_client::post(url, "application/x-protobuf", request(index))
                .await
                .unwrap_or_else(|e| panic!("request {index}: {e}"));
            (index, tokio::time::Instant::now(), answer)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// What a refused request was told: 503 with a `Retry-After` in whole seconds.
fn retry_after(answer: &Answer) -> Duration {
    assert_eq!(
        answer.status,
        503,
        "a refusal is 503, got {}: {}",
        answer.status,
        answer.text()
    );
    let seconds: u64 = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("503 without Retry-After: {}", answer.text()))
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(seconds >= 1, "Retry-After {seconds}");
    Duration::from_secs(seconds)
}

/// Sends request `index` until it is accepted, each time no earlier than the refusal before
/// asked (the first one came at `refused_at`); returns how many refusals it got in all.
async fn send_until_accepted(
    url: &str,
    index: u32,
    refused_at: tokio::time::Instant,
    wait: Duration,
) -> u32 {
    let mut refusals = 1;
    let mut retry_at = refused_at + wait;
    loop {
        tokio::time::sleep_until(retry_at).await;
        let answer = http_client::post(url, "application/x-protobuf", request(index))
            .await
            .unwrap_or_else(|e| panic!("request {index}: {e}"));
        if answer.status == 200 {
            return refusals;
        }
        retry_at = tokio::time::Instant::now() + retry_after(&answer);
        refusals += 1;
    }
}

fn all_span_ids() -> usize {
    (REQUESTS * SPANS) as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_limit_is_refused_with_retry_after_and_nothing_is_lost_on_retry() {
    let ports = Ports::free();
    let backend = ports::Reserved::new();
    let weir = start_weir(&ports, backend.port(), Some(LIMIT_MIB));
    let url = ports.http_url("traces");
    let sampler = PeakSampler::start(weir.pid(), "RssAnon");

    let answers = send_once(&url, 0..REQUESTS).await;
    let refused: Vec<(u32, tokio::time::Instant, Duration)> = answers
        .iter()
        .filter(|(_, _, a)| a.status != 200)
        .map(|(index, at, a)| (*index, *at, retry_after(a)))
        .collect();
    let accepted = answers.len() - refused.len();
    assert!(
        !refused.is_empty(),
        "a burst of {REQUESTS} MiB was all accepted under a {LIMIT_MIB} MiB limit; logs:\n{}",
        weir.logs()
    );
    assert!(accepted > 0, "nothing was accepted below the limit");
    assert!(
        weir.wait_for_log(
            "memory usage is above the soft limit; refusing data",
            DEADLINE
        ),
        "the refusal is logged: {}",
        weir.logs()
    );
    let refused_metric = prom::counter(
        ports.metrics,
        "otelcol_receiver_refused_spans_total",
        &[("receiver", "otlp")],
    );
    assert_eq!(
        refused_metric,
        Some(f64::from(SPANS) * refused.len() as f64),
        "refused spans counted"
    );

    let received = backend_up(backend).await;
    let retries = tokio::time::timeout(
        RETRY_DEADLINE,
        futures::stream::iter(refused.iter().copied())
            .map(|(index, at, wait)| {
                let url = url.clone();
                async move { send_until_accepted(&url, index, at, wait).await }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<u32>>(),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "refused requests still refused after {RETRY_DEADLINE:?} of retrying; logs:\n{}",
            weir.logs()
        )
    });
    let delivered = wait_until_async(DEADLINE, || received.count() == all_span_ids()).await;
    assert!(
        delivered,
        "the backend got {} distinct spans of {}",
        received.count(),
        all_span_ids()
    );
    // One sampler from start to end: the burst, the retries and the drain.
    let peak = sampler.peak();
    eprintln!(
        "memory_limiter e2e: {accepted} of {REQUESTS} accepted at first, {} refused ({} refusals \
         in all), peak RssAnon {:.1} MiB (bound {} MiB)",
        refused.len(),
        refused.len() as u32 + retries.iter().sum::<u32>() - retries.len() as u32,
        peak as f64 / MIB as f64,
        LIMIT_MIB + MARGIN_MIB
    );
    assert!(
        peak < (LIMIT_MIB + MARGIN_MIB) * MIB,
        "peak RssAnon {:.1} MiB above the limit {LIMIT_MIB} MiB + margin {MARGIN_MIB} MiB; logs:\n{}",
        peak as f64 / MIB as f64,
        weir.logs()
    );
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_limiter_the_same_burst_goes_above_the_bound() {
    let ports = Ports::free();
    let backend = ports::Reserved::new();
    let weir = start_weir(&ports, backend.port(), None);
    let url = ports.http_url("traces");
    let sampler = PeakSampler::start(weir.pid(), "RssAnon");

    let answers = send_once(&url, 0..REQUESTS).await;
    let refused = answers.iter().filter(|(_, _, a)| a.status != 200).count();
    assert_eq!(
        refused, 0,
        "without a limiter the queue takes the whole burst"
    );
    let peak = sampler.peak();
    eprintln!(
        "without memory_limiter: peak RssAnon {:.1} MiB (bound with the limiter {} MiB)",
        peak as f64 / MIB as f64,
        LIMIT_MIB + MARGIN_MIB
    );
    assert!(
        peak > (LIMIT_MIB + MARGIN_MIB) * MIB,
        "the burst peaked at {:.1} MiB, within the bound even without a limiter, so the bound \
         proves nothing",
        peak as f64 / MIB as f64
    );

    // Drained, so that stopping does not wait out the shutdown deadline.
    let received = backend_up(backend).await;
    let delivered = wait_until_async(DEADLINE, || received.count() == all_span_ids()).await;
    assert!(
        delivered,
        "the backend got {} distinct spans of {}",
        received.count(),
        all_span_ids()
    );
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limit_from_the_start_grpc_gets_unavailable_with_retry_info() {
    let ports = Ports::free();
    // 1 MiB is below what Weir's data takes on its own (a debug build starts with 1.5–2 MiB
    // of anonymous memory): everything is refused, more than one spike headroom (0.2 MiB)
    // over the soft limit, so the delay offered is two to ten check intervals, growing with
    // the excess.
    let weir = start_weir(&ports, ports::free_port(), Some(1));
    assert!(
        weir.wait_for_log(
            "the soft limit is below what the process uses already",
            DEADLINE
        ),
        "a limit below the process's own size is pointed out at startup: {}",
        weir.logs()
    );
    let mut client = TraceServiceClient::new(common::grpc::channel(ports.grpc));
    let status = client
        .export(otlp::trace_request(1, 3))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .contains("memory usage is above the hard limit (1 MiB)"),
        "{status:?}"
    );
    let details = otlp::RpcStatus::decode(status.details()).expect("google.rpc.Status details");
    let info = details
        .details
        .iter()
        .find(|d| d.type_url == "type.googleapis.com/google.rpc.RetryInfo")
        .map(|d| otlp::RetryInfo::decode(&d.value[..]).expect("RetryInfo"))
        .expect("RetryInfo among the details");
    let delay = info.retry_delay.expect("a retry delay");
    let millis = delay.seconds * 1000 + i64::from(delay.nanos) / 1_000_000;
    assert!(
        (200..=1000).contains(&millis) && millis % 100 == 0,
        "two to ten check intervals of 100 ms: {delay:?}"
    );

    let answer = http_client::post(
        &ports.http_url("traces"),
        "application/x-protobuf",
        otlp::trace_request(2, 3).encode_to_vec(),
    )
    .await
    .expect("an answer");
    assert_eq!(retry_after(&answer), Duration::from_secs(1));
    assert_eq!(
        prom::counter(
            ports.metrics,
            "otelcol_receiver_refused_spans_total",
            &[("receiver", "otlp")]
        ),
        Some(6.0)
    );
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop");
    assert!(stopped.status.success(), "exit status {}", stopped.status);
}
