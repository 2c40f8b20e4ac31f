//! weir-plugin-sdk: write Weir receivers, processors, exporters and connectors in Rust and ship them as a
//! shared library Weir loads at run time, without touching the C ABI
//! ([`weir_plugin_abi`], re-exported as [`abi`]) yourself.
//!
//! - implement [`Receiver`], [`Processor`], [`Exporter`] or [`Connector`] (each with a
//!   `type Config: Deserialize + JsonSchema`; the schema is what Weir validates configs with);
//! - list them in [`export_plugin!`], which generates the entry point and wraps every call in
//!   `catch_unwind`: an instance that panicked is poisoned and answers `PANICKED` from then on,
//!   and Weir keeps running;
//! - talk to Weir through the [`Host`] each instance gets: `emit` batches, `log`, counters;
//!   plain `tracing` events are forwarded to Weir's log too ([`logging`]);
//! - do I/O on a [`runtime::PluginRuntime`] (feature `runtime`), a tokio runtime the instance
//!   owns;
//! - unit-test without Weir through [`testing::TestHost`], which drives the same shims Weir
//!   calls.
//!
//! The crate refuses to build with `panic = "abort"`: a panic would then take Weir down with it.

#[cfg(panic = "abort")]
compile_error!(
    "weir-plugin-sdk: Weir plugins must be built with panic = \"unwind\" (a panic in a plugin \
     built with panic = \"abort\" would abort Weir); remove `panic = \"abort\"` from the profile"
);

mod descriptor;
mod duration;
mod host;
pub mod logging;
#[cfg(feature = "runtime")]
pub mod runtime;
mod shim;
pub mod testing;

use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

pub use descriptor::{
    ComponentDescriptor, LibraryDescriptor, connector_descriptor, exporter_descriptor,
    library_entry, processor_descriptor, receiver_descriptor, schema_of,
};
pub use duration::parse_duration;
pub use host::{Completion, Host, Level};
pub use weir_plugin_abi as abi;

/// What the SDK reports as the library's `sdk_version`.
pub const SDK_VERSION: &str = concat!("weir-plugin-sdk ", env!("CARGO_PKG_VERSION"));

/// The three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Spans: `ExportTraceServiceRequest`.
    Traces,
    /// Metric data points: `ExportMetricsServiceRequest`.
    Metrics,
    /// Log records: `ExportLogsServiceRequest`.
    Logs,
}

impl Signal {
    /// Every signal.
    pub const ALL: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The ABI's `WEIR_SIGNAL_*` value.
    pub fn to_abi(self) -> u32 {
        match self {
            Signal::Traces => abi::WEIR_SIGNAL_TRACES,
            Signal::Metrics => abi::WEIR_SIGNAL_METRICS,
            Signal::Logs => abi::WEIR_SIGNAL_LOGS,
        }
    }

    /// The signal of an ABI value, if it is exactly one known signal.
    pub fn from_abi(value: u32) -> Option<Signal> {
        Signal::ALL.iter().copied().find(|s| s.to_abi() == value)
    }

    /// The ABI bit set of `signals`.
    pub fn bits(signals: &[Signal]) -> u32 {
        signals.iter().fold(0, |bits, s| bits | s.to_abi())
    }

    /// The ABI's `WEIR_PAIR_*` bit set of connector pairs (upstream, downstream).
    pub fn pair_bits(pairs: &[(Signal, Signal)]) -> u32 {
        let index = |s: Signal| match s {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        };
        pairs.iter().fold(0, |bits, (from, to)| {
            bits | 1 << (index(*from) * 3 + index(*to))
        })
    }

    /// `traces`, `metrics` or `logs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

/// A failure a plugin reports; each variant is one ABI status code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Worth trying again (`RETRYABLE`), after `retry_after` if given.
    #[error("retryable: {reason}")]
    Retryable {
        /// What went wrong.
        reason: String,
        /// When to try again, if known (an HTTP `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Never worth trying again (`PERMANENT`).
    #[error("permanent: {0}")]
    Permanent(String),
    /// Cannot take it now (`FULL`): the caller waits and tries again, which is backpressure.
    #[error("full: {0}")]
    Full(String),
    /// Bad config or data (`INVALID_ARGUMENT`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Not supported (`UNSUPPORTED`).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Shutting down (`SHUTTING_DOWN`).
    #[error("shutting down")]
    ShuttingDown,
    /// A bug or an unexpected state (`INTERNAL`).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// A retryable error without a delay.
    pub fn retryable(reason: impl Into<String>) -> Error {
        Error::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// The ABI status code.
    pub fn status(&self) -> abi::WeirStatus {
        match self {
            Error::Retryable { .. } => abi::WEIR_RETRYABLE,
            Error::Permanent(_) => abi::WEIR_PERMANENT,
            Error::Full(_) => abi::WEIR_FULL,
            Error::InvalidArgument(_) => abi::WEIR_INVALID_ARGUMENT,
            Error::Unsupported(_) => abi::WEIR_UNSUPPORTED,
            Error::ShuttingDown => abi::WEIR_SHUTTING_DOWN,
            Error::Internal(_) => abi::WEIR_INTERNAL,
        }
    }

    /// The error a host status stands for (`None` for `OK` and `PENDING`).
    pub fn from_status(status: abi::WeirStatus, message: &str) -> Option<Error> {
        let message = message.to_string();
        Some(match status {
            abi::WEIR_OK | abi::WEIR_PENDING => return None,
            abi::WEIR_FULL => Error::Full(message),
            abi::WEIR_RETRYABLE => Error::retryable(message),
            abi::WEIR_PERMANENT => Error::Permanent(message),
            abi::WEIR_INVALID_ARGUMENT => Error::InvalidArgument(message),
            abi::WEIR_UNSUPPORTED => Error::Unsupported(message),
            abi::WEIR_SHUTTING_DOWN => Error::ShuttingDown,
            other => Error::Internal(format!("{} {message}", abi::status_name(other))),
        })
    }
}

/// A receiver: produces telemetry and hands it to Weir with [`Host::emit`].
///
/// Weir calls `create`, then `start` (spawn your threads or tasks there and return), then
/// `shutdown` when it stops (stop emitting and join what you spawned before returning: the
/// [`Host`] is invalid once the instance is destroyed). Calls never overlap.
pub trait Receiver: Send + Sized + 'static {
    /// The config, deserialized from the component's YAML body (validated against its JSON
    /// Schema by Weir first). Document every field: the docs become the schema's descriptions.
    type Config: DeserializeOwned + JsonSchema;
    /// Type name in YAML (letters, digits, `_`).
    const TYPE: &'static str;
    /// Signals it may emit.
    const SIGNALS: &'static [Signal];
    /// Creates the instance; no I/O yet.
    fn create(config: Self::Config, host: Host) -> Result<Self, Error>;
    /// Starts producing.
    fn start(&mut self) -> Result<(), Error>;
    /// Stops producing and joins everything `start` spawned.
    fn shutdown(&mut self) -> Result<(), Error>;
}

/// A processor: gets each batch of its pipeline and [`Host::emit`]s what passes on (nothing,
/// the batch unchanged, a changed copy, several batches).
///
/// Emitting `data` itself (or a sub-slice of it) costs no copy: Weir recognises its own buffer.
pub trait Processor: Send + Sized + 'static {
    /// The config; see [`Receiver::Config`].
    type Config: DeserializeOwned + JsonSchema;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Signals it can process.
    const SIGNALS: &'static [Signal];
    /// Creates one instance for one pipeline.
    fn create(config: Self::Config, host: Host) -> Result<Self, Error>;
    /// Handles one batch of `signal` (OTLP protobuf bytes, valid during the call only).
    /// Returning [`Error::Full`] makes Weir wait and offer the same batch again.
    fn process(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error>;
    /// Called once when the pipeline stops: emit what is still held.
    fn shutdown(&mut self, _out: &Host) -> Result<(), Error> {
        Ok(())
    }
}

/// An exporter: sends batches out of Weir. Weir's sending queue and retry wrap it as they wrap
/// built-in exporters, so it sends once and says whether a failure is retryable.
pub trait Exporter: Send + Sized + 'static {
    /// The config; see [`Receiver::Config`].
    type Config: DeserializeOwned + JsonSchema;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Signals it can send.
    const SIGNALS: &'static [Signal];
    /// Creates the instance.
    fn create(config: Self::Config, host: Host) -> Result<Self, Error>;
    /// Called once before the first export.
    fn start(&mut self) -> Result<(), Error> {
        Ok(())
    }
    /// Sends one batch of `signal`. `data` is valid during the call only: copy or convert what
    /// an asynchronous send needs. Report the outcome through `done`, now or later from any
    /// thread; several exports may be in flight at once.
    fn export(&mut self, signal: Signal, data: &[u8], done: Completion);
    /// Called once at the end: finish or fail what is in flight, then return.
    fn shutdown(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// A connector (otelcol's `connectors:`, ABI 1.2): the exporter of some pipelines and the
/// receiver of others. It gets each batch an upstream pipeline exports into it and
/// [`Host::emit`]s batches into the pipelines it feeds, of the downstream signals its
/// [`Connector::PAIRS`] allow.
///
/// - Emits during [`Connector::consume`] must be of a signal paired with the input's; Weir
///   sends them on once `consume` returned `Ok`, carrying the input's client metadata and
///   acknowledgement (the upstream sender hears success once they are delivered). After
///   [`Error::Full`] they are dropped and the same batch is offered again. Emitting `data`
///   itself (or a sub-slice) costs no copy.
/// - Emits from the connector's own threads (spawned in `start`, such as a flush timer) may be
///   of any downstream signal; each blocks until the pipelines take the batch, as a receiver's
///   does, and answers [`Error::Full`] when too many are waiting.
/// - [`Connector::shutdown`] comes once every pipeline exporting into the connector has
///   drained: emit what is held, join your threads, return. What it emits reaches the
///   pipelines behind before they drain.
///
/// One instance serves every pipeline that uses the connector; calls never overlap.
pub trait Connector: Send + Sized + 'static {
    /// The config; see [`Receiver::Config`].
    type Config: DeserializeOwned + JsonSchema;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// The (upstream, downstream) signal pairs it joins, such as `(Traces, Metrics)`.
    const PAIRS: &'static [(Signal, Signal)];
    /// Creates the instance.
    fn create(config: Self::Config, host: Host) -> Result<Self, Error>;
    /// Called once before the first batch: spawn what emits on its own here.
    fn start(&mut self) -> Result<(), Error> {
        Ok(())
    }
    /// Handles one batch of `signal` (OTLP protobuf bytes, valid during the call only).
    fn consume(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error>;
    /// Called once at the end: emit what is still held and join what `start` spawned.
    fn shutdown(&mut self, _out: &Host) -> Result<(), Error> {
        Ok(())
    }
}

/// Generates the library's entry point, `weir_plugin_entry_v1`, for the listed components:
///
/// ```ignore
/// weir_plugin_sdk::export_plugin!(processor Redact, exporter Webhook, receiver Heartbeat,
///     connector Tally);
/// ```
///
/// The library's name and version are the crate's (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION`).
#[macro_export]
macro_rules! export_plugin {
    ($($kind:ident $ty:ty),+ $(,)?) => {
        /// The entry point Weir's loader looks up: the library's descriptor.
        // SAFETY (no_mangle): the ABI names this one symbol; nothing else in a plugin library
        // may define it.
        #[unsafe(no_mangle)]
        pub extern "C" fn weir_plugin_entry_v1() -> *const $crate::abi::WeirLibraryV1 {
            static LIBRARY: ::std::sync::OnceLock<$crate::LibraryDescriptor> =
                ::std::sync::OnceLock::new();
            $crate::library_entry(
                &LIBRARY,
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
                || ::std::vec![$($crate::export_plugin!(@one $kind $ty)),+],
            )
        }
    };
    (@one processor $ty:ty) => { $crate::processor_descriptor::<$ty>() };
    (@one exporter $ty:ty) => { $crate::exporter_descriptor::<$ty>() };
    (@one receiver $ty:ty) => { $crate::receiver_descriptor::<$ty>() };
    (@one connector $ty:ty) => { $crate::connector_descriptor::<$ty>() };
}
