//! One target's scrape loop: a scrape every interval at the target's own offset within it
//! (from a hash of its labels, so a job's targets are spread over the interval rather than
//! all scraped at once), the body parsed and converted, the synthetic series (`up`,
//! `scrape_duration_seconds`, ...) added, and the result offered to the pipelines. A failed
//! scrape gives `up` 0 and staleness markers for what the target gave before; so does a
//! target that goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::Uri;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, BatchMeta, Request};
use weir_core::component::{Consumer, PushOutcome};
use weir_core::telemetry;
use weir_prom::MetricType;
use weir_prom::otlp::{Converter, FamilyRef, Options, Scrape};
use weir_prom::relabel::Labels;

use super::client::{FetchError, ScrapeClient};
use super::config::Job;
use super::samples::{Counts, LimitError, SeriesCache, prepare};

/// A target as relabelling left it.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The labels its series carry.
    pub series: Labels,
    pub url: Uri,
    pub hash: u64,
}

/// What one job's loops count.
pub(crate) struct JobMetrics {
    pub up: Arc<AtomicU64>,
    pub scrapes: Arc<AtomicU64>,
    pub samples: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
    receiver: String,
    job: String,
}

impl JobMetrics {
    pub(crate) fn new(receiver: &str, job: &str) -> JobMetrics {
        let labels = [("receiver", receiver), ("job", job)];
        JobMetrics {
            up: telemetry::gauge(
                "weir_receiver_prometheus_targets_up",
                "Targets whose last scrape succeeded.",
                &labels,
            ),
            scrapes: telemetry::counter(
                "weir_receiver_prometheus_scrapes_total",
                "Scrapes made, failed or not.",
                &labels,
            ),
            samples: telemetry::counter(
                "weir_receiver_prometheus_samples_scraped_total",
                "Samples taken from scrapes after metric relabelling.",
                &labels,
            ),
            dropped: telemetry::counter(
                "weir_receiver_prometheus_dropped_data_points_total",
                "Data points of scrapes the pipelines refused or failed.",
                &labels,
            ),
            receiver: receiver.to_string(),
            job: job.to_string(),
        }
    }

    fn failure(&self, reason: &str) {
        telemetry::counter(
            "weir_receiver_prometheus_scrape_failures_total",
            "Scrapes that gave up 0, by reason.",
            &[
                ("receiver", &self.receiver),
                ("job", &self.job),
                ("reason", reason),
            ],
        )
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// Milliseconds since the epoch.
fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long until the target's next slot: the instant within each interval that its hash
/// picks.
pub(crate) fn until_next_slot(hash: u64, interval: Duration, now: SystemTime) -> Duration {
    let interval_ms = interval.as_millis().max(1) as u64;
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let phase = hash % interval_ms;
    let into = now_ms % interval_ms;
    Duration::from_millis((phase + interval_ms - into) % interval_ms)
}

pub(crate) struct Loop {
    pub target: Target,
    pub job: Arc<Job>,
    pub client: Arc<ScrapeClient>,
    pub consumer: Arc<dyn Consumer>,
    pub metrics: Arc<JobMetrics>,
    pub over_target_limit: Arc<AtomicBool>,
    pub extra_metrics: bool,
    pub receiver: String,
}

/// Why a scrape gave `up` 0.
enum Failure {
    Fetch(FetchError),
    Parse(weir_prom::ParseError),
    Limit(LimitError),
    TargetLimit(u64),
}

impl Failure {
    fn reason(&self) -> &'static str {
        match self {
            Failure::Fetch(e) => e.reason(),
            Failure::Parse(_) => "parse",
            Failure::Limit(e) => e.reason(),
            Failure::TargetLimit(_) => "target_limit",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Fetch(e) => write!(f, "{e}"),
            Failure::Parse(e) => write!(f, "malformed exposition: {e}"),
            Failure::Limit(e) => write!(f, "{e}"),
            Failure::TargetLimit(limit) => write!(f, "target_limit exceeded (limit {limit})"),
        }
    }
}

/// What one scrape reported about itself.
#[derive(Clone, Copy, Default)]
struct Report {
    up: bool,
    duration: Duration,
    scraped: usize,
    counts: Counts,
    /// -1 when the body was over `body_size_limit`, as Prometheus reports it.
    body_bytes: i64,
}

impl Loop {
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut converter = Converter::new(Options {
            scope_version: env!("CARGO_PKG_VERSION").to_string(),
            ..Options::default()
        });
        let mut cache = SeriesCache::default();
        let mut was_up = false;
        let wait = until_next_slot(self.target.hash, self.job.interval, SystemTime::now());
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let mut ticker = tokio::time::interval(self.job.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let up = self.scrape_once(&mut converter, &mut cache).await;
            if up != was_up {
                if up {
                    self.metrics.up.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.metrics.up.fetch_sub(1, Ordering::Relaxed);
                }
                was_up = up;
            }
        }
        if was_up {
            self.metrics.up.fetch_sub(1, Ordering::Relaxed);
        }
        // Gone: everything it gave is stale, `up` and the other reports too.
        let now = unix_ms(SystemTime::now());
        let mut scrape = converter.begin(&self.scheme(), now);
        cache.all_stale(&mut scrape, &self.job, &self.target.series, now);
        self.append_reports(&mut scrape, None, now);
        self.send(scrape).await;
    }

    fn scheme(&self) -> String {
        self.target.url.scheme_str().unwrap_or("http").to_string()
    }

    async fn scrape_once(&self, converter: &mut Converter, cache: &mut SeriesCache) -> bool {
        self.metrics.scrapes.fetch_add(1, Ordering::Relaxed);
        let started = SystemTime::now();
        let clock = Instant::now();
        let scrape_ms = unix_ms(started);
        let fetched = if self.over_target_limit.load(Ordering::Relaxed) {
            Err(Failure::TargetLimit(self.job.target_limit))
        } else {
            self.client
                .fetch(self.target.url.clone())
                .await
                .map_err(Failure::Fetch)
        };
        let mut report = Report::default();
        let mut scrape = converter.begin(&self.scheme(), scrape_ms);
        let outcome = fetched.and_then(|fetched| {
            report.body_bytes = fetched.body.len() as i64;
            let exposition = weir_prom::parse(&fetched.body, fetched.content_type.as_deref())
                .map_err(Failure::Parse)?;
            report.scraped = exposition.sample_count();
            let prepared =
                prepare(&exposition, &self.job, &self.target.series).map_err(Failure::Limit)?;
            report.counts = cache.append(
                &mut scrape,
                &exposition,
                &prepared,
                (fetched.body.clone(), fetched.content_type.clone()),
                &self.job,
                &self.target.series,
                scrape_ms,
            );
            Ok(())
        });
        report.duration = clock.elapsed();
        match &outcome {
            Ok(()) => report.up = true,
            Err(failure) => {
                tracing::warn!(
                    receiver = %self.receiver,
                    job = %self.job.name,
                    target = %self.target.url,
                    reason = failure.reason(),
                    "scrape failed: {failure}"
                );
                self.metrics.failure(failure.reason());
                if matches!(failure, Failure::Fetch(FetchError::TooLarge(_))) {
                    report.body_bytes = -1;
                }
                cache.all_stale(&mut scrape, &self.job, &self.target.series, scrape_ms);
            }
        }
        self.metrics
            .samples
            .fetch_add(report.counts.post_relabel as u64, Ordering::Relaxed);
        self.append_reports(&mut scrape, Some(&report), scrape_ms);
        self.send(scrape).await;
        report.up
    }

    /// The synthetic series; `None` marks them stale.
    fn append_reports(&self, scrape: &mut Scrape<'_>, report: Option<&Report>, scrape_ms: i64) {
        let labels: Vec<(&str, &str)> = self
            .target
            .series
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let value = |v: f64| report.map_or(weir_prom::stale_nan(), |_| v);
        let r = report.copied().unwrap_or_default();
        let mut series: Vec<(&str, &str, f64)> = vec![
            (
                "up",
                "Whether the target's last scrape succeeded.",
                if r.up { 1.0 } else { 0.0 },
            ),
            (
                "scrape_duration_seconds",
                "How long the scrape took.",
                r.duration.as_secs_f64(),
            ),
            (
                "scrape_samples_scraped",
                "Samples the target exposed.",
                r.scraped as f64,
            ),
            (
                "scrape_samples_post_metric_relabeling",
                "Samples left after metric relabelling.",
                r.counts.post_relabel as f64,
            ),
            (
                "scrape_series_added",
                "Series new in this scrape.",
                r.counts.added as f64,
            ),
        ];
        if self.extra_metrics {
            series.push((
                "scrape_timeout_seconds",
                "The scrape timeout.",
                self.job.timeout.as_secs_f64(),
            ));
            series.push((
                "scrape_sample_limit",
                "The sample limit (0 is none).",
                self.job.limits.samples as f64,
            ));
            series.push(("scrape_body_size_bytes", "The uncompressed body size of the last successful scrape (-1 over body_size_limit).", r.body_bytes as f64));
        }
        for (name, help, v) in series {
            let family = FamilyRef {
                name,
                kind: MetricType::Gauge,
                help: Some(help),
                unit: None,
            };
            scrape.append(&family, name, &labels, value(v), scrape_ms, None);
        }
    }

    async fn send(&self, scrape: Scrape<'_>) {
        let resource_metrics = scrape.finish();
        if resource_metrics.is_empty() {
            return;
        }
        let request = Request::Metrics(ExportMetricsServiceRequest { resource_metrics });
        let batch = Batch::from_request(request, Arc::new(BatchMeta::default()));
        let points = batch.items() as u64;
        match self.consumer.consume(batch).await {
            PushOutcome::Accepted | PushOutcome::Partial { .. } => {}
            PushOutcome::Refused { reason, .. } | PushOutcome::Failed { reason } => {
                // A scrape is not sent again: the next one carries the values anew.
                self.metrics.dropped.fetch_add(points, Ordering::Relaxed);
                tracing::warn!(
                    receiver = %self.receiver,
                    job = %self.job.name,
                    target = %self.target.url,
                    "the pipelines did not take a scrape of {points} data points: {reason}"
                );
            }
        }
    }
}
