//! `weir` running a config: start, serve internal metrics, reload on SIGHUP (or when the config
//! files change, with `--watch-config`), drain and stop on SIGTERM/SIGINT.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use weir_core::component::Registry;
use weir_core::config::{self, Loaded, Source};
use weir_core::runtime::{Running, RuntimeOptions};
use weir_core::telemetry;

/// Where internal metrics are served unless `service.telemetry.metrics.address` says otherwise
/// (otelcol's default).
const DEFAULT_METRICS_ADDRESS: &str = "localhost:8888";

/// How often `--watch-config` looks at the config files' modification times.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// What a reload needs to read the config again.
pub struct ConfigSources {
    /// The config sources, in merge order.
    pub sources: Vec<Source>,
    /// `--set` overrides.
    pub sets: Vec<String>,
    /// Files to watch for changes (`--watch-config`); empty: do not watch.
    pub watched: Vec<PathBuf>,
}

/// Runs `loaded` until SIGTERM or SIGINT.
pub fn run(loaded: Loaded, registry: Registry, sources: ConfigSources) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(serve(loaded, registry, sources))
}

async fn serve(loaded: Loaded, registry: Registry, sources: ConfigSources) -> anyhow::Result<()> {
    let mut config = loaded.config;
    let mut running = Running::start(&config, &RuntimeOptions::default())
        .await
        .context("starting the pipelines")?;
    let telemetry_stop = CancellationToken::new();
    let metrics = &config.service.telemetry.metrics;
    let metrics_server = if metrics.level == "none" {
        None
    } else {
        let address = metrics
            .address
            .clone()
            .unwrap_or_else(|| DEFAULT_METRICS_ADDRESS.to_string());
        match telemetry::serve_metrics(&address, running.status(), telemetry_stop.clone()).await {
            Ok((bound, task)) => {
                tracing::info!(address = %bound, "internal metrics at http://{bound}/metrics");
                Some(task)
            }
            Err(e) => {
                running.shutdown(Duration::from_secs(5)).await;
                anyhow::bail!(
                    "cannot serve internal metrics on {address}: {e} (set service.telemetry.metrics.address, or level: none)"
                );
            }
        }
    };
    tracing::info!(
        pipelines = config.service.pipelines.len(),
        "weir is running"
    );

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut watch = tokio::time::interval(WATCH_INTERVAL);
    let mut seen = modified(&sources.watched);
    loop {
        let reason = tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM received"); break; }
            _ = int.recv() => { tracing::info!("SIGINT received"); break; }
            _ = hup.recv() => "SIGHUP received",
            _ = watch.tick(), if !sources.watched.is_empty() => {
                let now = modified(&sources.watched);
                if now == seen {
                    continue;
                }
                seen = now;
                "a config file changed"
            }
        };
        if let Some(new) = reload(&mut running, &registry, &sources, reason).await {
            if new.service.telemetry != config.service.telemetry {
                tracing::warn!(
                    "service.telemetry changed; the metrics endpoint and log level keep their old settings until restart"
                );
            }
            config = new;
        }
    }
    let deadline = config.service.shutdown_timeout;
    tracing::info!(?deadline, "shutting down: draining pipelines and queues");
    running.shutdown(deadline).await;
    telemetry_stop.cancel();
    if let Some(task) = metrics_server {
        let _ = task.await;
    }
    tracing::info!("shutdown complete");
    Ok(())
}

/// Loads the config again and applies it; on any error the running config stays and the
/// reason is logged. Returns the new config when it was applied.
async fn reload(
    running: &mut Running,
    registry: &Registry,
    sources: &ConfigSources,
    reason: &str,
) -> Option<config::Config> {
    tracing::info!("{reason}: reloading the config");
    let loaded = match config::load(&sources.sources, &sources.sets, registry) {
        Ok(loaded) => loaded,
        Err(errors) => {
            tracing::error!("reload refused, the running config stays:\n{errors}");
            return None;
        }
    };
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let deadline = loaded.config.service.shutdown_timeout;
    match running.reload(&loaded.config, deadline).await {
        Ok(()) => {
            tracing::info!(
                pipelines = loaded.config.service.pipelines.len(),
                "config reloaded"
            );
            Some(loaded.config)
        }
        Err(e) => {
            tracing::error!("reload could not be fully applied: {e}");
            None
        }
    }
}

fn modified(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}
