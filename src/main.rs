//! The `weir` binary: the command line. Built-in components are listed in `weir::registry`.

mod run;
mod unit_test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weir::registry;
use weir_core::component::{Kind, Registry};
use weir_core::config::{self, Loaded, Source};
use weir_core::plugin::Registered;

/// The config `weir` runs when given none.
const DEFAULT_CONFIG: &str = include_str!("../configs/default.yaml");

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
    /// Plugin library to load (a `.so` built with weir-plugin-sdk or against weir_plugin.h), in
    /// addition to the config's `plugins:` list. Repeat for several.
    #[arg(long = "plugin", global = true, value_name = "PATH")]
    plugins: Vec<PathBuf>,
    /// Reload the config when one of the `--config` files changes (as SIGHUP does).
    #[arg(long = "watch-config", global = true)]
    watch_config: bool,
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
    /// Run config unit tests: OTLP JSON through a pipeline's processors, checked with OTTL
    /// conditions; exits 1 when a case fails.
    Test {
        /// Files of cases (YAML or JSON, `tests:` list).
        #[arg(required = true)]
        cases: Vec<std::path::PathBuf>,
    },
    /// Print the pipeline graph of the config.
    Graph {
        /// `text` (one line per pipeline), `dot` (Graphviz), `mermaid` (flowchart), or `json`
        /// (nodes and edges).
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
        /// Same as `--format dot`.
        #[arg(long)]
        dot: bool,
    },
}

/// `weir test`: every case of every file, a line each, failures explained; exit 1 if any
/// failed or a file could not be read.
fn run_unit_tests(config: &weir_core::config::Config, files: &[std::path::PathBuf]) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let cases = match unit_test::load_cases(file) {
            Ok(cases) => cases,
            Err(problems) => {
                for p in problems {
                    eprintln!("{p}");
                }
                failed += 1;
                continue;
            }
        };
        let base = file.parent().unwrap_or(std::path::Path::new("."));
        for (name, problems) in unit_test::run_all(config, &cases, base) {
            if problems.is_empty() {
                passed += 1;
                println!("test {name} ... ok");
            } else {
                failed += 1;
                println!("test {name} ... FAILED");
                for p in problems {
                    println!("  {p}");
                }
            }
        }
    }
    println!("weir test: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// How `weir graph` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
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
fn load(cli: &Cli, registry: &Registry, plugins: &[Registered]) -> Result<Loaded, ExitCode> {
    match config::load(&sources(cli), &cli.sets, registry) {
        Ok(loaded) => {
            init_logging(cli, Some(&loaded.config.service.telemetry.logs.level));
            log_plugins(plugins);
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            Ok(loaded)
        }
        Err(errors) => {
            init_logging(cli, None);
            log_plugins(plugins);
            eprintln!("invalid configuration:\n{errors}");
            for warning in &errors.warnings {
                eprintln!("warning: {warning}");
            }
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
    // Colour only on a terminal: logs captured by files and tests stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

/// Adds the component types of every plugin library (`--plugin`, then the config's `plugins:`)
/// to the registry, before the config's components are parsed against it. Logging has not
/// started yet (the config's log level is read after), so what was loaded is returned for
/// [`log_plugins`].
fn load_plugins(cli: &Cli, registry: &mut Registry) -> Result<Vec<Registered>, ExitCode> {
    let from_config = if cli.configs.is_empty() {
        Vec::new()
    } else {
        config::plugin_paths(&sources(cli), &cli.sets)
    };
    let mut loaded = Vec::new();
    for path in cli.plugins.iter().chain(&from_config) {
        match weir_core::plugin::register(registry, path) {
            // Listed twice (`--plugin` and the config): logged once.
            Ok(registered) if registered.added == 0 && !registered.components.is_empty() => {}
            Ok(registered) => loaded.push(registered),
            Err(e) => {
                eprintln!("{e}");
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok(loaded)
}

/// Logs the plugin libraries [`load_plugins`] loaded, once logging has started.
fn log_plugins(plugins: &[Registered]) {
    for plugin in plugins {
        let library = &plugin.library;
        tracing::info!(
            path = %library.path.display(),
            library = %library.name,
            version = %library.version,
            sdk = %library.sdk_version,
            abi = %format!("{}.{}", library.abi.0, library.abi.1),
            components = %plugin.components.join(", "),
            "plugin library loaded"
        );
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut registry = registry();
    let plugins = match load_plugins(&cli, &mut registry) {
        Ok(plugins) => plugins,
        Err(code) => return code,
    };
    match &cli.command {
        Some(Command::Components) => {
            init_logging(&cli, None);
            log_plugins(&plugins);
            print_components(&registry);
            ExitCode::SUCCESS
        }
        Some(Command::Schema) => {
            init_logging(&cli, None);
            log_plugins(&plugins);
            let schema = config::schema(&registry);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Some(Command::Reference) => {
            init_logging(&cli, None);
            log_plugins(&plugins);
            print!("{}", weir::reference::markdown(&registry));
            ExitCode::SUCCESS
        }
        Some(Command::Validate) => match load(&cli, &registry, &plugins) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Some(Command::Test { cases }) => match load(&cli, &registry, &plugins) {
            Ok(loaded) => run_unit_tests(&loaded.config, cases),
            Err(code) => code,
        },
        Some(Command::Graph { format, dot }) => match load(&cli, &registry, &plugins) {
            Ok(loaded) => {
                let format = if *dot { GraphFormat::Dot } else { *format };
                let graph = match format {
                    GraphFormat::Text => weir_core::graph::to_text(&loaded.config),
                    GraphFormat::Dot => weir_core::graph::to_dot(&loaded.config),
                    GraphFormat::Mermaid => weir_core::graph::to_mermaid(&loaded.config),
                    GraphFormat::Json => {
                        let graph = weir_core::graph::Graph::of(&loaded.config);
                        serde_json::to_string_pretty(&graph).unwrap_or_default() + "\n"
                    }
                };
                print!("{graph}");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        None => {
            let loaded = match load(&cli, &registry, &plugins) {
                Ok(loaded) => loaded,
                Err(code) => return code,
            };
            if cli.configs.is_empty() {
                tracing::info!(
                    "no --config given: running the built-in default config (OTLP gRPC on localhost:4317 and HTTP on localhost:4318 → batch → debug)"
                );
            }
            let config_sources = run::ConfigSources {
                sources: sources(&cli),
                sets: cli.sets.clone(),
                watched: if cli.watch_config {
                    cli.configs.clone()
                } else {
                    Vec::new()
                },
            };
            match run::run(loaded, registry, config_sources) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{}", describe(&e));
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text the messages before
/// it already include (many errors here name their source in their own message too).
fn describe(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn print_components(registry: &Registry) {
    println!(
        "{:<10} {:<16} {:<22} {:<12} {:<14} ORIGIN",
        "KIND", "TYPE", "SIGNALS", "STABILITY", "ALIASES"
    );
    for f in registry.all() {
        let signals: Vec<String> = if f.kind() == Kind::Connector {
            f.connector_pairs()
                .iter()
                .map(|(from, to)| format!("{from}>{to}"))
                .collect()
        } else {
            f.signals().iter().map(|s| s.to_string()).collect()
        };
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
