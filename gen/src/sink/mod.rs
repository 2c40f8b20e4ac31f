//! The counting sink: an OTLP gRPC + HTTP server that accepts all three signals, counts items,
//! checks the generator's ids for exactly-once delivery, and misbehaves on demand.
//!
//! Per accepted request the sink makes one pass over the bytes without decoding: the targeted
//! [`scan`](crate::scan), which counts the items and reads their ids, then takes the signal's
//! lock once to book them. With `validate` it first runs `weir_core::batch::wire::walk` too,
//! which checks the whole request as Weir's receiver does (every field's wire type, UTF-8 of
//! every string) and counts items as Weir counts them. Measured on one core, the walk costs about
//! three times the scan (it was 70 % of the sink's CPU at 0.9 M spans/s), so it is off by default
//! to keep the sink from being the bottleneck of a benchmark; decoding with prost would cost more
//! still, allocating every attribute string. Numbers in `gen/README.md`.

mod control;
mod grpc;
mod http;
pub mod ledger;
pub mod mode;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::batch::Signal;
use weir_core::batch::wire::walk;

use crate::ids;
use crate::scan::{self, ItemSlots};
pub use ledger::{Ledger, RunStats, SignalStats, Stats};
pub use mode::{Mode, ModePatch, ModeSettings, StatusMode, Verdict};

/// Largest request accepted, compressed or not.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;
/// How long open requests may take to finish when the sink stops.
const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

/// Where the sink listens and how it starts out behaving.
#[derive(Clone, Debug, Default)]
pub struct SinkConfig {
    /// OTLP/gRPC listen address (`127.0.0.1:4317`; port 0 picks one).
    pub grpc: Option<String>,
    /// OTLP/HTTP listen address.
    pub http: Option<String>,
    /// Control/stats HTTP listen address.
    pub control: Option<String>,
    /// Initial fault settings.
    pub mode: ModeSettings,
    /// Also check every request's full wire structure with Weir's walk (about 3x the CPU).
    pub validate: bool,
}

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Bad initial settings.
    #[error(transparent)]
    Mode(#[from] mode::BadRate),
    /// Nothing to listen on.
    #[error("give at least one of --grpc and --http")]
    NoListener,
}

/// What the sink answers a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Counted; OK.
    Accepted,
    /// UNAVAILABLE / 503 with this retry delay.
    Refused(Duration),
    /// INVALID_ARGUMENT / 400 with this message.
    Invalid(String),
}

/// The state every server of one sink shares.
#[derive(Default)]
pub struct SinkCore {
    /// The counts.
    pub ledger: Ledger,
    /// The fault settings.
    pub mode: Mode,
    /// Run the full wire walk on every request.
    pub validate: bool,
}

impl SinkCore {
    /// Handles one decompressed export request.
    pub async fn export(&self, signal: Signal, body: &[u8]) -> Answer {
        let (delay, verdict) = self.mode.decide();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match verdict {
            Verdict::Refuse(retry_after) => {
                self.ledger.refused(signal);
                Answer::Refused(retry_after)
            }
            Verdict::Invalid => {
                self.ledger.invalid(signal);
                Answer::Invalid("the sink is in `status: invalid` mode".to_string())
            }
            Verdict::Accept => match count(signal, body, self.validate) {
                Ok((items, ids)) => {
                    self.ledger.accepted(signal, items, &ids);
                    Answer::Accepted
                }
                Err(message) => {
                    self.ledger.invalid(signal);
                    Answer::Invalid(message)
                }
            },
        }
    }
}

/// Items in a request and the (run, seq) of those that carry generator ids; with `validate`,
/// only after the request passed Weir's wire walk.
pub fn count(
    signal: Signal,
    body: &[u8],
    validate: bool,
) -> Result<(u64, Vec<(u64, u64)>), String> {
    let walked = if validate {
        Some(walk(signal, body).map_err(|e| e.to_string())?.items)
    } else {
        None
    };
    let mut ids = Vec::with_capacity(walked.unwrap_or(0));
    let scanned = scan::scan(signal, body, |slots| {
        if let Some(id) = item_id(signal, body, &slots) {
            ids.push(id);
        }
    })
    .map_err(|e| e.to_string())?;
    let items = walked.unwrap_or(scanned);
    Ok((u64::try_from(items).unwrap_or(u64::MAX), ids))
}

fn item_id(signal: Signal, body: &[u8], slots: &ItemSlots) -> Option<(u64, u64)> {
    match signal {
        Signal::Traces => ids::span_ids(
            body.get(slots.trace_id.clone()?)?,
            body.get(slots.span_id.clone()?)?,
        ),
        Signal::Logs | Signal::Metrics => {
            Some((slots.run.as_ref()?.value, slots.seq.as_ref()?.value))
        }
    }
}

/// A running sink.
pub struct SinkHandle {
    /// Bound OTLP/gRPC address.
    pub grpc_addr: Option<SocketAddr>,
    /// Bound OTLP/HTTP address.
    pub http_addr: Option<SocketAddr>,
    /// Bound control address.
    pub control_addr: Option<SocketAddr>,
    core: Arc<SinkCore>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

async fn bind(address: &str) -> Result<tokio::net::TcpListener, SinkError> {
    weir_core::net::server::bind(address)
        .await
        .map_err(|source| SinkError::Bind {
            address: address.to_string(),
            source,
        })
}

impl SinkHandle {
    /// Binds every listener, then serves until [`SinkHandle::shutdown`].
    pub async fn start(config: SinkConfig) -> Result<SinkHandle, SinkError> {
        if config.grpc.is_none() && config.http.is_none() {
            return Err(SinkError::NoListener);
        }
        let core = Arc::new(SinkCore {
            ledger: Ledger::default(),
            mode: Mode::new(config.mode)?,
            validate: config.validate,
        });
        let shutdown = CancellationToken::new();
        let mut handle = SinkHandle {
            grpc_addr: None,
            http_addr: None,
            control_addr: None,
            core: core.clone(),
            shutdown: shutdown.clone(),
            tasks: Vec::new(),
        };
        if let Some(address) = &config.grpc {
            let listener = bind(address).await?;
            handle.grpc_addr = listener.local_addr().ok();
            handle
                .tasks
                .push(grpc::serve(listener, core.clone(), shutdown.clone()));
        }
        if let Some(address) = &config.http {
            let listener = bind(address).await?;
            handle.http_addr = listener.local_addr().ok();
            handle
                .tasks
                .push(http::serve(listener, core.clone(), shutdown.clone()));
        }
        if let Some(address) = &config.control {
            let listener = bind(address).await?;
            handle.control_addr = listener.local_addr().ok();
            handle
                .tasks
                .push(control::serve(listener, core.clone(), shutdown.clone()));
        }
        Ok(handle)
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        self.core.ledger.stats()
    }

    /// The shared state (to change the mode or reset from a test).
    pub fn core(&self) -> &SinkCore {
        &self.core
    }

    /// Stops listening, lets open requests finish (for at most a couple of seconds) and returns
    /// the final counts.
    pub async fn shutdown(self) -> Stats {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.core.ledger.stats()
    }
}

fn server_options(name: &str, http2_only: bool) -> weir_core::net::server::ServerOptions {
    weir_core::net::server::ServerOptions {
        http2_only,
        drain_deadline: DRAIN_DEADLINE,
        name: name.to_string(),
        ..Default::default()
    }
}

/// A body as `Bytes` for the HTTP responses.
fn json_body(value: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}
