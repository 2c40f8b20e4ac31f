//! The load generator: workers that stamp a pre-encoded request template with fresh ids, send it
//! at a paced rate, optionally resend what the server refuses, and the run's report.
//!
//! Sequence numbers come from one counter shared by all workers, one block of `batch` numbers per
//! request, so a run's items are numbered 0..N without gaps. A worker only takes a block once it
//! is sure to send it (after its pacing wait and the stop checks), so a run that ends on
//! `--duration` leaves no gap the sink would report as loss.

pub mod transport;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use weir_core::batch::Signal;
use weir_core::net::{Compression, compress};

use crate::histogram::LatencyHistogram;
use crate::ids::SeqMap;
use crate::template::{Template, TemplateError};
pub use transport::{Outcome, Protocol, Sender};

/// First wait before resending a refusal that did not say how long to wait.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between resends without a server hint.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What to send, how fast, for how long.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Signal of every request.
    pub signal: Signal,
    /// Transport.
    pub protocol: Protocol,
    /// `host:port` or URL of the receiver.
    pub endpoint: String,
    /// Request compression.
    pub compression: Compression,
    /// Items per second over all workers; 0 sends as fast as answers come back.
    pub rate: u64,
    /// Concurrent connections, each with one request in flight.
    pub workers: usize,
    /// Items per request.
    pub batch: usize,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
    /// Stop after this many items (counting each item once, not its resends).
    pub total: Option<u64>,
    /// Resend refused requests, honouring the server's delay, until accepted or the duration
    /// ends.
    pub retry: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The run id stamped on every item.
    pub run_id: u64,
    /// Test hooks that skip or repeat a seq.
    pub seq_map: SeqMap,
    /// Spans per trace (traces only): each trace has one span in each of this many
    /// consecutive requests, so its spans come over several connections. 1: a trace per span.
    pub trace_spans: usize,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Bad flags.
    #[error("{0}")]
    Config(String),
    /// The endpoint cannot be used.
    #[error(transparent)]
    Endpoint(#[from] transport::EndpointError),
    /// The request template could not be built.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Latency quantiles in milliseconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencyReport {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// The JSON object printed when the run ends.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `traces`, `metrics` or `logs`.
    pub signal: Signal,
    /// `grpc` or `http`.
    pub protocol: Protocol,
    /// Run id stamped on the items (match it with the sink's per-run stats).
    pub run_id: u64,
    /// Requests sent, resends included.
    pub requests: u64,
    /// Items in the requests sent, resends included.
    pub items_sent: u64,
    /// Items the server acknowledged (OK, less partial-success rejections).
    pub items_accepted: u64,
    /// Items whose last answer was a refusal (not resent, or still refused at the end).
    pub items_refused: u64,
    /// Items an OK answer's `partial_success` rejected.
    pub items_rejected: u64,
    /// Requests that failed otherwise: another status, a transport error, a timeout.
    pub errors: u64,
    /// Resends of refused requests.
    pub retries: u64,
    /// Wall time of the run, in seconds.
    pub elapsed_s: f64,
    /// `items_accepted / elapsed_s`.
    pub rate_achieved: f64,
    /// Latency of every answered or timed-out request.
    pub latency_ms: LatencyReport,
    /// Refusals that carried a `RetryInfo` or `Retry-After`.
    pub retry_after_seen: u64,
    /// The last failure's message, to tell why `errors` is not zero.
    pub last_error: Option<String>,
}

/// One worker's tallies.
#[derive(Default)]
struct Tally {
    requests: u64,
    items_sent: u64,
    items_accepted: u64,
    items_refused: u64,
    items_rejected: u64,
    errors: u64,
    retries: u64,
    retry_after_seen: u64,
    last_error: Option<String>,
    latency: LatencyHistogram,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.items_sent += other.items_sent;
        self.items_accepted += other.items_accepted;
        self.items_refused += other.items_refused;
        self.items_rejected += other.items_rejected;
        self.errors += other.errors;
        self.retries += other.retries;
        self.retry_after_seen += other.retry_after_seen;
        if other.last_error.is_some() {
            self.last_error = other.last_error;
        }
        self.latency.merge(&other.latency);
    }
}

/// State shared by the workers of one run.
struct Run {
    config: GenConfig,
    next_seq_index: AtomicU64,
    started: Instant,
    deadline: Option<Instant>,
    stop: CancellationToken,
}

impl Run {
    fn stopping(&self) -> bool {
        self.stop.is_cancelled() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps until `at`; `false` when the run is stopped or its deadline comes first.
    async fn wait_until(&self, at: Instant) -> bool {
        if self.deadline.is_some_and(|d| at >= d) {
            return false;
        }
        tokio::select! {
            () = self.stop.cancelled() => false,
            () = tokio::time::sleep_until(at) => true,
        }
    }
}

/// A fresh run id: random and non-zero, below 2^53 so JSON readers that hold numbers as doubles
/// (jq, JavaScript) read the report's `run_id` exactly.
pub fn new_run_id() -> u64 {
    (rand::random::<u64>() >> 11).max(1)
}

/// Runs the generator until `--total` items are sent, `--duration` passes or `stop` is
/// cancelled, and reports.
pub async fn run(config: GenConfig, stop: CancellationToken) -> Result<Report, GenError> {
    if config.workers == 0 || config.batch == 0 {
        return Err(GenError::Config(
            "--workers and --batch must be at least 1".into(),
        ));
    }
    if i64::try_from(config.run_id).is_err() {
        return Err(GenError::Config(
            "--run-id must fit an int64 attribute (below 2^63)".into(),
        ));
    }
    if config.duration.is_none() && config.total.is_none() {
        return Err(GenError::Config(
            "give --duration or --total (or both)".into(),
        ));
    }
    let template = Template::build(config.signal, config.batch, config.run_id)?
        .with_trace_spans(config.batch, config.trace_spans);
    let mut senders = Vec::with_capacity(config.workers);
    for _ in 0..config.workers {
        senders.push(Sender::new(
            config.protocol,
            config.signal,
            &config.endpoint,
            config.compression,
            config.timeout,
        )?);
    }
    let started = Instant::now();
    let run = Arc::new(Run {
        deadline: config.duration.map(|d| started + d),
        config,
        next_seq_index: AtomicU64::new(0),
        started,
        stop,
    });
    let workers: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(index, sender)| tokio::spawn(worker(run.clone(), index, sender, template.clone())))
        .collect();
    let mut tally = Tally::default();
    for handle in workers {
        match handle.await {
            Ok(Ok(worker_tally)) => tally.merge(worker_tally),
            Ok(Err(error)) => return Err(error),
            Err(join) => {
                tally.errors += 1;
                tally.last_error = Some(format!("worker ended abnormally: {join}"));
            }
        }
    }
    let elapsed = run.started.elapsed().as_secs_f64();
    let config = &run.config;
    Ok(Report {
        signal: config.signal,
        protocol: config.protocol,
        run_id: config.run_id,
        requests: tally.requests,
        items_sent: tally.items_sent,
        items_accepted: tally.items_accepted,
        items_refused: tally.items_refused,
        items_rejected: tally.items_rejected,
        errors: tally.errors,
        retries: tally.retries,
        elapsed_s: elapsed,
        rate_achieved: if elapsed > 0.0 {
            tally.items_accepted as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: LatencyReport {
            p50: tally.latency.quantile_ms(0.5),
            p99: tally.latency.quantile_ms(0.99),
            max: tally.latency.max_ms(),
        },
        retry_after_seen: tally.retry_after_seen,
        last_error: tally.last_error,
    })
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn worker(
    run: Arc<Run>,
    index: usize,
    mut sender: Sender,
    mut template: Template,
) -> Result<Tally, GenError> {
    let config = &run.config;
    let batch = config.batch as u64;
    let per_worker_rate = config.rate as f64 / config.workers as f64;
    // Workers start a fraction of a request interval apart so their requests interleave instead
    // of reaching the server in bursts of `workers` at once.
    let phase = batch as f64 / per_worker_rate * index as f64 / config.workers as f64;
    let mut tally = Tally::default();
    let mut items_started = 0u64;
    loop {
        if config.rate > 0 {
            // Open-loop pacing from the run's start: a slow answer is caught up on, as long as
            // the worker's answers come faster than its request interval on average.
            let offset =
                Duration::try_from_secs_f64(phase + items_started as f64 / per_worker_rate);
            // An offset too large for a Duration lies past any run's end.
            let Some(due) = offset.ok().and_then(|o| run.started.checked_add(o)) else {
                break;
            };
            if !run.wait_until(due).await {
                break;
            }
        }
        if run.stopping() {
            break;
        }
        let first = run.next_seq_index.fetch_add(batch, Ordering::Relaxed);
        let items = match config.total {
            Some(total) if first >= total => break,
            Some(total) => batch.min(total - first),
            None => batch,
        };
        items_started += items;
        let seq_of = |i: usize| config.seq_map.seq(first + i as u64);
        let rendered = if items == batch {
            template.render(config.run_id, seq_of, now_unix_ns())
        } else {
            // Only the last request of a `--total` run is short; building it once is cheap.
            let short = usize::try_from(items).unwrap_or(config.batch);
            let mut last = Template::build(config.signal, short, config.run_id)?
                .with_trace_spans(config.batch, config.trace_spans);
            last.render(config.run_id, seq_of, now_unix_ns())
        };
        // gRPC compresses in tonic; HTTP bodies are compressed here.
        let body = match (config.protocol, config.compression) {
            (Protocol::Http, c) if !c.is_none() => match compress(c, &rendered) {
                Ok(packed) => Bytes::from(packed),
                Err(e) => {
                    tally.errors += 1;
                    tally.last_error = Some(e.to_string());
                    continue;
                }
            },
            _ => rendered,
        };
        send(&run, &mut sender, body, items, &mut tally).await;
    }
    Ok(tally)
}

/// Sends one request, resending refusals when `--retry` asks for it.
async fn send(run: &Run, sender: &mut Sender, body: Bytes, items: u64, tally: &mut Tally) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let sent_at = Instant::now();
        let outcome = sender.send(body.clone()).await;
        tally.latency.record(sent_at.elapsed());
        tally.requests += 1;
        tally.items_sent += items;
        match outcome {
            Outcome::Accepted { rejected } => {
                let rejected = rejected.min(items);
                tally.items_accepted += items - rejected;
                tally.items_rejected += rejected;
                return;
            }
            Outcome::Refused {
                retry_after,
                reason,
            } => {
                if retry_after.is_some() {
                    tally.retry_after_seen += 1;
                }
                let wait = retry_after.unwrap_or(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if !run.config.retry || !run.wait_until(Instant::now() + wait).await {
                    tally.items_refused += items;
                    tally.last_error = Some(reason);
                    return;
                }
                tally.retries += 1;
            }
            Outcome::Failed { reason } => {
                tally.errors += 1;
                tally.last_error = Some(reason);
                return;
            }
        }
    }
}
