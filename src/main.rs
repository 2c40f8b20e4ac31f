//! The `weir` binary: the command line, and the one place built-in components are registered.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use weir::registry;
use weir_core::component::Registry;
use weir_core::config::{self, Loaded, Source};
use weir_core::runtime::{self, RuntimeOptions};
use weir_core::telemetry;

/// The config `weir` runs when given none.
const DEFAULT_CONFIG: &str = include_str!("../configs/default.yaml");

/// Where internal metrics are served unless `service.telemetry.metrics.address` says otherwise
/// (otelcol's default).
const DEFAULT_METRICS_ADDRESS: &str = "localhost:8888";

/// How long SIGTERM/SIGINT waits for queues to drain before dropping what is left.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(
    name = "weir",
    version,
    about = "An OpenTelemetry Collector-style pipeline host: OTLP in, OTLP out."
)]
struct Cli {
    /// Config file (otelcol YAML). Repeat to deep-merge several, later files winning.
    #[arg(long = "config", short = 'c', global = true, value_name = "FILE")]
    configs: Vec<PathBuf>,
    /// Override one config value, e.g. `--set processors.batch.timeout=1s`.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Log level or filter (`info`, `debug`, `weir=debug,info`); `RUST_LOG` wins if set.
    #[arg(long = "log-level", global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check the config and exit: 0 when valid, 1 with every problem listed otherwise.
    Validate,
    /// List the component types this binary knows.
    Components,
    /// Print the JSON Schema of the whole config file.
    Schema,
    /// Print the Markdown reference of every component option (the README's reference).
    Reference,
    /// Print the pipeline graph of the config.
    Graph {
        /// Graphviz DOT instead of text.
        #[arg(long)]
        dot: bool,
    },
}

fn sources(cli: &Cli) -> Vec<Source> {
    if cli.configs.is_empty() {
        vec![Source::Yaml {
            name: "<default config>".to_string(),
            text: DEFAULT_CONFIG.to_string(),
        }]
    } else {
        cli.configs.iter().cloned().map(Source::File).collect()
    }
}

/// Loads the config; logging starts here, once the config's own log level is known.
fn load(cli: &Cli, registry: &Registry) -> Result<Loaded, ExitCode> {
    match config::load(&sources(cli), &cli.sets, registry) {
        Ok(loaded) => {
            init_logging(cli, Some(&loaded.config.service.telemetry.logs.level));
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            Ok(loaded)
        }
        Err(errors) => {
            init_logging(cli, None);
            eprintln!("invalid configuration:\n{errors}");
            Err(ExitCode::from(1))
        }
    }
}

/// `RUST_LOG` wins over `--log-level`, which wins over `service.telemetry.logs.level`.
fn init_logging(cli: &Cli, config_level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| cli.log_level.clone())
        .or_else(|| config_level.map(str::to_string))
        .unwrap_or_else(|| "info".to_string());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("invalid log level `{filter}` ({e}); using info");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let registry = registry();
    match &cli.command {
        Some(Command::Components) => {
            init_logging(&cli, None);
            print_components(&registry);
            ExitCode::SUCCESS
        }
        Some(Command::Schema) => {
            init_logging(&cli, None);
            let schema = config::schema(&registry);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Some(Command::Reference) => {
            init_logging(&cli, None);
            print!("{}", weir::reference::markdown(&registry));
            ExitCode::SUCCESS
        }
        Some(Command::Validate) => match load(&cli, &registry) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Some(Command::Graph { dot }) => match load(&cli, &registry) {
            Ok(loaded) => {
                let graph = if *dot {
                    weir_core::graph::to_dot(&loaded.config)
                } else {
                    weir_core::graph::to_text(&loaded.config)
                };
                print!("{graph}");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        None => {
            let loaded = match load(&cli, &registry) {
                Ok(loaded) => loaded,
                Err(code) => return code,
            };
            if cli.configs.is_empty() {
                tracing::info!(
                    "no --config given: running the built-in default config (OTLP gRPC on localhost:4317 and HTTP on localhost:4318 → batch → debug)"
                );
            }
            match run(loaded) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn print_components(registry: &Registry) {
    println!(
        "{:<10} {:<16} {:<22} {:<12} {:<14} ORIGIN",
        "KIND", "TYPE", "SIGNALS", "STABILITY", "ALIASES"
    );
    for f in registry.all() {
        let signals: Vec<&str> = f.signals().iter().map(|s| s.as_str()).collect();
        println!(
            "{:<10} {:<16} {:<22} {:<12} {:<14} {}",
            f.kind().as_str(),
            f.type_name(),
            signals.join(","),
            f.stability().as_str(),
            if f.aliases().is_empty() {
                "-".to_string()
            } else {
                f.aliases().join(",")
            },
            f.origin()
        );
    }
}

fn run(loaded: Loaded) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(async move {
        let running = runtime::start(&loaded.config, &RuntimeOptions::default()).await.context("starting the pipelines")?;
        let telemetry_stop = CancellationToken::new();
        let metrics = &loaded.config.service.telemetry.metrics;
        let metrics_server = if metrics.level == "none" {
            None
        } else {
            let address = metrics.address.as_deref().unwrap_or(DEFAULT_METRICS_ADDRESS);
            match telemetry::serve_metrics(address, running.stats().clone(), telemetry_stop.clone()).await {
                Ok((bound, task)) => {
                    tracing::info!(address = %bound, "internal metrics at http://{bound}/metrics");
                    Some(task)
                }
                Err(e) => {
                    running.shutdown(Duration::from_secs(5)).await;
                    anyhow::bail!("cannot serve internal metrics on {address}: {e} (set service.telemetry.metrics.address, or level: none)");
                }
            }
        };
        tracing::info!(pipelines = loaded.config.service.pipelines.len(), "weir is running");
        wait_for_signal().await?;
        tracing::info!(deadline = ?SHUTDOWN_DEADLINE, "shutting down: draining pipelines and queues");
        running.shutdown(SHUTDOWN_DEADLINE).await;
        telemetry_stop.cancel();
        if let Some(task) = metrics_server {
            let _ = task.await;
        }
        tracing::info!("shutdown complete");
        Ok(())
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}
