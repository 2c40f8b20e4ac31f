//! otelcol-contrib's `prometheus` receiver: scrapes targets as Prometheus does, from a
//! Prometheus configuration (`config.scrape_configs`), and turns what it scrapes into OTLP
//! metrics as OpenTelemetry's Prometheus compatibility specification says.
//!
//! - `config.rs`: the receiver's fields, the Prometheus scrape config, defaults and checks;
//! - `discovery.rs`: `static_configs` and `file_sd_configs` target groups;
//! - `client.rs`: the HTTP scrape (content negotiation, gzip, credentials, limits);
//! - `samples.rs`: label merging, metric relabelling, limits and staleness;
//! - `scrape.rs`: one target's loop and its synthetic series;
//! - this file: one task per job that follows discovery and starts and stops target loops.
//!
//! Parsing, relabelling and the conversion to OTLP are `weir_prom`'s.

mod client;
mod config;
mod discovery;
mod samples;
mod scrape;
mod units;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::Uri;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use weir_core::batch::Signal;
use weir_core::component::{
    BuildError, Consumer, CreateSettings, Receiver, ReceiverContext, ReceiverError,
    ReceiverFactory, Stability,
};
use weir_core::telemetry;
use weir_prom::relabel::{self, Labels, ScrapeDefaults};

pub use config::PrometheusReceiverConfig;

use client::ScrapeClient;
use config::Job;
use discovery::{FileSd, Group, static_groups};
use scrape::{JobMetrics, Loop, Target};

/// How often file_sd files are looked at for changes.
const DISCOVERY_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct PrometheusReceiverFactory;

impl ReceiverFactory for PrometheusReceiverFactory {
    type Config = PrometheusReceiverConfig;
    const TYPE: &'static str = "prometheus";
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &PrometheusReceiverConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Receiver>, BuildError> {
        let jobs = config.jobs().map_err(|problems| {
            BuildError(
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path.join("."), p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let jobs = jobs
            .into_iter()
            .map(|job| {
                let client = ScrapeClient::new(&job).map_err(BuildError)?;
                Ok((Arc::new(job), Arc::new(client)))
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        Ok(Box::new(PrometheusReceiver {
            id: settings.id.to_string(),
            jobs,
            extra_metrics: config.report_extra_scrape_metrics,
        }))
    }
}

struct PrometheusReceiver {
    id: String,
    jobs: Vec<(Arc<Job>, Arc<ScrapeClient>)>,
    extra_metrics: bool,
}

#[async_trait]
impl Receiver for PrometheusReceiver {
    async fn start(self: Box<Self>, ctx: ReceiverContext) -> Result<JoinHandle<()>, ReceiverError> {
        let Some(consumer) = ctx.consumers.get(&Signal::Metrics).cloned() else {
            return Err(ReceiverError::Other(
                "the prometheus receiver feeds metrics pipelines only".into(),
            ));
        };
        let mut tasks = JoinSet::new();
        for (job, client) in self.jobs {
            let manager = JobManager {
                receiver: self.id.clone(),
                metrics: Arc::new(JobMetrics::new(&self.id, &job.name)),
                job,
                client,
                consumer: consumer.clone(),
                extra_metrics: self.extra_metrics,
            };
            tasks.spawn(manager.run(ctx.shutdown.clone()));
        }
        Ok(tokio::spawn(async move {
            while tasks.join_next().await.is_some() {}
        }))
    }
}

struct JobManager {
    receiver: String,
    job: Arc<Job>,
    client: Arc<ScrapeClient>,
    consumer: Arc<dyn Consumer>,
    metrics: Arc<JobMetrics>,
    extra_metrics: bool,
}

struct Running {
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

impl JobManager {
    async fn run(self, shutdown: CancellationToken) {
        let statics = static_groups(&self.job.config.static_configs);
        let mut files: Vec<FileSd> = self
            .job
            .config
            .file_sd_configs
            .iter()
            .cloned()
            .map(FileSd::new)
            .collect();
        let sd_errors = telemetry::counter(
            "weir_receiver_prometheus_sd_file_read_errors_total",
            "file_sd files that could not be read or parsed.",
            &[("receiver", &self.receiver), ("job", &self.job.name)],
        );
        let targets_gauge = telemetry::gauge(
            "weir_receiver_prometheus_targets",
            "Targets being scraped.",
            &[("receiver", &self.receiver), ("job", &self.job.name)],
        );
        let over_limit = Arc::new(AtomicBool::new(false));
        let mut running: HashMap<u64, Running> = HashMap::new();
        let mut first = true;
        loop {
            let mut changed = first;
            first = false;
            for sd in &mut files {
                let (c, errors) = sd.poll(Instant::now());
                changed |= c;
                for e in errors {
                    sd_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(receiver = %self.receiver, job = %self.job.name, "file_sd: cannot use {}: {}", e.path.display(), e.reason);
                }
            }
            if changed {
                let groups: Vec<&Group> = statics
                    .iter()
                    .chain(files.iter().flat_map(|f| f.groups()))
                    .collect();
                let targets = self.targets(&groups);
                let limit = self.job.target_limit;
                let over = limit > 0 && targets.len() as u64 > limit;
                if over && !over_limit.load(Ordering::Relaxed) {
                    tracing::warn!(receiver = %self.receiver, job = %self.job.name, "{} targets exceed target_limit {limit}: none is scraped", targets.len());
                }
                over_limit.store(over, Ordering::Relaxed);
                self.reconcile(&mut running, targets, &over_limit);
                targets_gauge.store(running.len() as u64, Ordering::Relaxed);
            }
            if files.is_empty() {
                shutdown.cancelled().await;
                break;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(DISCOVERY_POLL) => {}
            }
        }
        for (_, r) in running.drain() {
            r.stop.cancel();
            let _ = r.handle.await;
        }
        targets_gauge.store(0, Ordering::Relaxed);
    }

    /// Relabelled, deduplicated targets of the groups.
    fn targets(&self, groups: &[&Group]) -> Vec<Target> {
        let job = &self.job;
        let defaults = ScrapeDefaults {
            job: job.name.clone(),
            scrape_interval: units::format_duration(job.interval),
            scrape_timeout: units::format_duration(job.timeout),
            metrics_path: job.metrics_path.clone(),
            scheme: job.scheme.clone(),
            params: job
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let mut out: Vec<Target> = Vec::new();
        for group in groups {
            for target in &group.targets {
                let discovered = relabel::discovered_labels(target, &group.labels, &defaults);
                match relabel::target_labels(discovered, &job.relabel) {
                    Ok(Some(mut labels)) => {
                        labels.sort();
                        let hash = {
                            let mut h = std::collections::hash_map::DefaultHasher::new();
                            labels.hash(&mut h);
                            h.finish()
                        };
                        if out.iter().any(|t| t.hash == hash) {
                            continue;
                        }
                        match scrape_url(&labels, job) {
                            Ok(url) => out.push(Target {
                                series: relabel::series_labels(&labels),
                                url,
                                hash,
                            }),
                            Err(e) => {
                                tracing::warn!(receiver = %self.receiver, job = %job.name, "dropping a target: {e}")
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(receiver = %self.receiver, job = %job.name, "dropping a target: {e}")
                    }
                }
            }
        }
        out
    }

    fn reconcile(
        &self,
        running: &mut HashMap<u64, Running>,
        targets: Vec<Target>,
        over_limit: &Arc<AtomicBool>,
    ) {
        let keep: std::collections::HashSet<u64> = targets.iter().map(|t| t.hash).collect();
        running.retain(|hash, r| {
            if keep.contains(hash) {
                return true;
            }
            // Its loop writes the staleness markers and ends on its own.
            r.stop.cancel();
            false
        });
        for target in targets {
            if running.contains_key(&target.hash) {
                continue;
            }
            let stop = CancellationToken::new();
            let hash = target.hash;
            let scrape_loop = Loop {
                target,
                job: self.job.clone(),
                client: self.client.clone(),
                consumer: self.consumer.clone(),
                metrics: self.metrics.clone(),
                over_target_limit: over_limit.clone(),
                extra_metrics: self.extra_metrics,
                receiver: self.receiver.clone(),
            };
            let handle = tokio::spawn(scrape_loop.run(stop.clone()));
            running.insert(hash, Running { stop, handle });
        }
    }
}

/// `__scheme__://__address____metrics_path__?params`, `__param_<name>` overriding the
/// configured parameter's first value.
fn scrape_url(labels: &Labels, job: &Job) -> Result<Uri, String> {
    let get = |name: &str| {
        labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let scheme = get("__scheme__");
    let address = get("__address__");
    let path = get("__metrics_path__");
    let mut params: Vec<(String, Vec<String>)> = job
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, value) in labels {
        if let Some(param) = name.strip_prefix("__param_") {
            match params.iter_mut().find(|(k, _)| k == param) {
                Some((_, values)) if !values.is_empty() => values[0] = value.clone(),
                Some((_, values)) => values.push(value.clone()),
                None => params.push((param.to_string(), vec![value.clone()])),
            }
        }
    }
    let mut url = format!("{scheme}://{address}{path}");
    let query: Vec<String> = params
        .iter()
        .flat_map(|(k, values)| {
            values
                .iter()
                .map(move |v| format!("{}={}", escape(k), escape(v)))
        })
        .collect();
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    }
    url.parse::<Uri>()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))
}

/// Query-string escaping as Go's `url.QueryEscape`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
