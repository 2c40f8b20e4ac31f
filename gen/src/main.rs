//! The `weir-gen` binary: `weir-gen traces|metrics|logs` runs the load generator and prints one
//! JSON report; `weir-gen sink` runs the counting sink until interrupted and prints its final
//! stats; `weir-gen floor` runs the benchmark's yardstick collector until interrupted.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use weir_core::batch::Signal;
use weir_core::exporter::parse_duration;
use weir_core::net::Compression;
use weir_gen::floor::{FloorConfig, FloorHandle};
use weir_gen::generator::{self, GenConfig, Protocol};
use weir_gen::ids::SeqMap;
use weir_gen::sink::{ModeSettings, SinkConfig, SinkHandle, StatusMode};

#[derive(Parser)]
#[command(
    name = "weir-gen",
    version,
    about = "OTLP load generator and counting sink"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Runtime worker threads; 0 uses every CPU the process may run on.
    #[arg(long, global = true, default_value_t = 0)]
    threads: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Send spans.
    Traces(GenArgs),
    /// Send metric data points.
    Metrics(GenArgs),
    /// Send log records.
    Logs(GenArgs),
    /// Receive OTLP, count items and check the generator's ids.
    Sink(SinkArgs),
    /// The least a trace collector must do, as a benchmark yardstick: read each request, answer
    /// it, concatenate and forward; no validation.
    Floor(FloorArgs),
}

#[derive(Args)]
struct GenArgs {
    /// Transport.
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    protocol: Protocol,
    /// Receiver address, `host:port` or URL (default 127.0.0.1:4317 for gRPC, 127.0.0.1:4318 for
    /// HTTP; HTTP endpoints without a path get `/v1/<signal>`).
    #[arg(long)]
    endpoint: Option<String>,
    /// Request compression: none, gzip or zstd.
    #[arg(long, default_value = "none", value_parser = parse_compression)]
    compression: Compression,
    /// Items per second over all workers; 0 sends as fast as the server answers.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Concurrent connections, each with one request in flight.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Items per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Run for this long (`30s`, `2m`).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many items.
    #[arg(long)]
    total: Option<u64>,
    /// Resend refused requests after the server's RetryInfo / Retry-After until accepted or the
    /// duration ends.
    #[arg(long)]
    retry: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Run id stamped on every item (default: random).
    #[arg(long)]
    run_id: Option<u64>,
    /// Spans per trace (traces only): each trace gets one span in each of this many
    /// consecutive requests, so that its spans arrive over several connections.
    #[arg(long, default_value_t = 1)]
    trace_spans: usize,
    /// Test hook: never send this seq.
    #[arg(long, hide = true)]
    skip_seq: Option<u64>,
    /// Test hook: send this seq twice.
    #[arg(long, hide = true)]
    repeat_seq: Option<u64>,
}

#[derive(Args)]
struct SinkArgs {
    /// OTLP/gRPC listen address.
    #[arg(long)]
    grpc: Option<String>,
    /// OTLP/HTTP listen address.
    #[arg(long)]
    http: Option<String>,
    /// Control/stats listen address (`GET /stats`, `POST /mode`, `POST /reset`).
    #[arg(long)]
    control: Option<String>,
    /// Refuse the first N requests (UNAVAILABLE + RetryInfo / 503 + Retry-After).
    #[arg(long, default_value_t = 0)]
    refuse_first: u64,
    /// Refuse this fraction of requests at random (0..=1).
    #[arg(long, default_value_t = 0.0)]
    refuse_rate: f64,
    /// Wait this long before answering each request.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    delay: Duration,
    /// `invalid` answers INVALID_ARGUMENT / 400 to everything.
    #[arg(long, value_enum, default_value_t = StatusMode::Ok)]
    status: StatusMode,
    /// Delay a refusal asks the client to wait.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    retry_after: Duration,
    /// Also validate every request's full protobuf structure with Weir's wire walk (about three
    /// times the CPU of counting alone).
    #[arg(long)]
    validate: bool,
}

#[derive(Args)]
struct FloorArgs {
    /// OTLP/gRPC listen address.
    #[arg(long)]
    grpc: Option<String>,
    /// OTLP/HTTP listen address.
    #[arg(long)]
    http: Option<String>,
    /// Where batches go, `host:port` or URL.
    #[arg(long)]
    to: String,
    /// How batches go.
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    protocol: Protocol,
    /// Send once this many bytes are held (about 8192 spans of `weir-gen traces`).
    #[arg(long, default_value_t = 3 * 1024 * 1024)]
    batch_bytes: usize,
    /// Send what is held this long after its first request.
    #[arg(long, default_value = "200ms", value_parser = parse_duration)]
    timeout: Duration,
}

fn parse_compression(text: &str) -> Result<Compression, String> {
    text.parse()
        .map_err(|e: weir_core::net::compression::UnsupportedEncoding| e.to_string())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if cli.threads > 0 {
        runtime.worker_threads(cli.threads);
    }
    let runtime = runtime.build().context("starting the tokio runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Traces(args) => generate(Signal::Traces, args).await,
            Command::Metrics(args) => generate(Signal::Metrics, args).await,
            Command::Logs(args) => generate(Signal::Logs, args).await,
            Command::Sink(args) => sink(args).await,
            Command::Floor(args) => floor(args).await,
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn generate(signal: Signal, args: GenArgs) -> anyhow::Result<()> {
    let endpoint = args.endpoint.unwrap_or_else(|| {
        match args.protocol {
            Protocol::Grpc => "127.0.0.1:4317",
            Protocol::Http => "127.0.0.1:4318",
        }
        .to_string()
    });
    let config = GenConfig {
        signal,
        protocol: args.protocol,
        endpoint,
        compression: args.compression,
        rate: args.rate,
        workers: args.workers,
        batch: args.batch,
        duration: args.duration,
        total: args.total,
        retry: args.retry,
        timeout: args.timeout,
        run_id: args.run_id.unwrap_or_else(generator::new_run_id),
        seq_map: SeqMap {
            skip: args.skip_seq,
            repeat: args.repeat_seq,
        },
        trace_spans: args.trace_spans.max(1),
    };
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        interrupted().await;
        on_signal.cancel();
    });
    let report = generator::run(config, stop).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn sink(args: SinkArgs) -> anyhow::Result<()> {
    let config = SinkConfig {
        grpc: args.grpc,
        http: args.http,
        control: args.control,
        mode: ModeSettings {
            refuse_first: args.refuse_first,
            refuse_rate: args.refuse_rate,
            delay: args.delay,
            status: args.status,
            retry_after: args.retry_after,
        },
        validate: args.validate,
    };
    let handle = SinkHandle::start(config).await?;
    let listening = serde_json::json!({
        "grpc": address(handle.grpc_addr),
        "http": address(handle.http_addr),
        "control": address(handle.control_addr),
    });
    serve_until_interrupted(listening, handle.shutdown()).await
}

async fn floor(args: FloorArgs) -> anyhow::Result<()> {
    let handle = FloorHandle::start(FloorConfig {
        grpc: args.grpc,
        http: args.http,
        to: args.to,
        protocol: args.protocol,
        batch_bytes: args.batch_bytes,
        timeout: args.timeout,
    })
    .await?;
    let listening = serde_json::json!({
        "grpc": address(handle.grpc_addr),
        "http": address(handle.http_addr),
    });
    serve_until_interrupted(listening, handle.shutdown()).await
}

fn address(bound: Option<std::net::SocketAddr>) -> Option<String> {
    bound.map(|a| a.to_string())
}

/// Prints `{"listening": …}`, serves until SIGINT or SIGTERM, then prints what `shutdown`
/// reports (a server's final stats).
async fn serve_until_interrupted<S: serde::Serialize>(
    listening: serde_json::Value,
    shutdown: impl std::future::Future<Output = S>,
) -> anyhow::Result<()> {
    println!("{}", serde_json::json!({ "listening": listening }));
    interrupted().await;
    let stats = shutdown.await;
    println!("{}", serde_json::to_string(&stats)?);
    Ok(())
}
