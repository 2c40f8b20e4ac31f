//! The C ABI between Weir and plugin libraries: `#[repr(C)]` types, constants and the contract
//! of every call, and nothing else (no dependencies, no code that runs). `weir_plugin.h` beside
//! this crate is the same contract for C; a test compiles it and compares every size, offset and
//! constant with these definitions.
//!
//! # Shape
//!
//! A library exports one function, [`ENTRY_SYMBOL`] (`weir_plugin_entry_v1`), returning a
//! pointer to a [`WeirLibraryV1`] that lives as long as the library. It starts with
//! [`WeirLibraryPrefix`] (magic, ABI major and minor, struct size, flags), the one part that no
//! version ever changes: the host reads the magic and the major version before anything else.
//! The library lists [`WeirComponentV1`] descriptors (kind, type name, signals, config JSON
//! Schema and the five entry points `create / start / consume / shutdown / destroy`). `create`
//! receives a [`WeirHostV1`] vtable (`log`, `emit`, `complete`, `counter_add`) with the
//! instance's host context.
//!
//! # Memory
//!
//! Nothing allocated on one side is freed on the other. Data crosses as OTLP protobuf bytes
//! ([`WeirBytes`]) and text as UTF-8 ([`WeirStr`]), both borrowed for the duration of the call
//! only: a callee that needs them later copies them. The host passes a batch's own bytes to
//! `consume` (no copy); when a processor `emit`s a range that lies inside the bytes it is being
//! given, the host reuses that range without copying either, so passing a batch on unchanged
//! costs no copy in either direction.
//!
//! # Threads
//!
//! The host drives each instance from one thread of its own: `create`, `start`, `consume`,
//! `shutdown` and `destroy` of one instance never overlap and may block (briefly: a blocked
//! instance stalls its pipeline, never the host's other work). The host vtable's functions may be
//! called from any thread, at any time between `create` and the return of `destroy`.
//!
//! # Versioning
//!
//! A minor version only appends: fields at the end of a struct (each struct records its
//! `struct_size`, so either side reads a field only if the other side's struct is long enough),
//! new status codes, kinds, signals, flags and log levels. Anything else (removing, reordering or
//! retyping a field, changing a call's meaning) needs a new major version, and a library built
//! for another major is refused before its descriptor is read further.

#![no_std]

use core::ffi::c_void;

/// Major version of the plugin ABI: a library built for another major is refused.
pub const ABI_MAJOR: u32 = 1;
/// Minor version of the plugin ABI: minors only append fields.
///
/// - 1.1: [`WeirHostV1::answer`], the retry delay and message of an exporter's immediate
///   answer.
/// - 1.2: the connector kind ([`WEIR_KIND_CONNECTOR`]) and [`WeirComponentV1::pairs`], the
///   signal pairs a connector joins.
pub const ABI_MINOR: u32 = 2;
/// First field of every library descriptor: `"WEIRPLUG"` read as a big-endian `u64`.
pub const WEIR_PLUGIN_MAGIC: u64 = 0x5745_4952_504C_5547;
/// Name of the function a library exports (without the C string's NUL).
pub const ENTRY_SYMBOL: &str = "weir_plugin_entry_v1";

/// What every call answers.
pub type WeirStatus = u32;
/// Done.
pub const WEIR_OK: WeirStatus = 0;
/// Accepted; the outcome comes later through the host's `complete` (exporters only).
pub const WEIR_PENDING: WeirStatus = 1;
/// Cannot take it now; the caller should try again later (backpressure).
pub const WEIR_FULL: WeirStatus = 2;
/// Failed, worth trying again.
pub const WEIR_RETRYABLE: WeirStatus = 3;
/// Failed, never worth trying again.
pub const WEIR_PERMANENT: WeirStatus = 4;
/// The arguments are wrong (bad config, malformed data, unknown signal).
pub const WEIR_INVALID_ARGUMENT: WeirStatus = 5;
/// The call is not supported by this component.
pub const WEIR_UNSUPPORTED: WeirStatus = 6;
/// The callee is shutting down and takes nothing more.
pub const WEIR_SHUTTING_DOWN: WeirStatus = 7;
/// The instance panicked, in this call or an earlier one; it answers this from then on.
pub const WEIR_PANICKED: WeirStatus = 8;
/// Anything else: a bug on the callee's side.
pub const WEIR_INTERNAL: WeirStatus = 9;

/// The name of a status code, for messages (`"UNKNOWN"` for codes a later minor may add).
pub fn status_name(status: WeirStatus) -> &'static str {
    match status {
        WEIR_OK => "OK",
        WEIR_PENDING => "PENDING",
        WEIR_FULL => "FULL",
        WEIR_RETRYABLE => "RETRYABLE",
        WEIR_PERMANENT => "PERMANENT",
        WEIR_INVALID_ARGUMENT => "INVALID_ARGUMENT",
        WEIR_UNSUPPORTED => "UNSUPPORTED",
        WEIR_SHUTTING_DOWN => "SHUTTING_DOWN",
        WEIR_PANICKED => "PANICKED",
        WEIR_INTERNAL => "INTERNAL",
        _ => "UNKNOWN",
    }
}

/// Component kind: takes telemetry in and `emit`s it.
pub const WEIR_KIND_RECEIVER: u32 = 1;
/// Component kind: `consume`s a batch and `emit`s what passes on.
pub const WEIR_KIND_PROCESSOR: u32 = 2;
/// Component kind: `consume`s a batch and sends it out of Weir.
pub const WEIR_KIND_EXPORTER: u32 = 3;
/// Component kind (since 1.2): `consume`s a batch an upstream pipeline exported into it and
/// `emit`s batches into the pipelines it feeds, of the downstream signals of its
/// [`WeirComponentV1::pairs`].
pub const WEIR_KIND_CONNECTOR: u32 = 4;

/// Connector pair bit (since 1.2): traces in, traces out.
pub const WEIR_PAIR_TRACES_TRACES: u32 = 1 << 0;
/// Connector pair bit: traces in, metrics out.
pub const WEIR_PAIR_TRACES_METRICS: u32 = 1 << 1;
/// Connector pair bit: traces in, logs out.
pub const WEIR_PAIR_TRACES_LOGS: u32 = 1 << 2;
/// Connector pair bit: metrics in, traces out.
pub const WEIR_PAIR_METRICS_TRACES: u32 = 1 << 3;
/// Connector pair bit: metrics in, metrics out.
pub const WEIR_PAIR_METRICS_METRICS: u32 = 1 << 4;
/// Connector pair bit: metrics in, logs out.
pub const WEIR_PAIR_METRICS_LOGS: u32 = 1 << 5;
/// Connector pair bit: logs in, traces out.
pub const WEIR_PAIR_LOGS_TRACES: u32 = 1 << 6;
/// Connector pair bit: logs in, metrics out.
pub const WEIR_PAIR_LOGS_METRICS: u32 = 1 << 7;
/// Connector pair bit: logs in, logs out.
pub const WEIR_PAIR_LOGS_LOGS: u32 = 1 << 8;

/// Signal bit and value: spans (`ExportTraceServiceRequest`).
pub const WEIR_SIGNAL_TRACES: u32 = 1;
/// Signal bit and value: metrics (`ExportMetricsServiceRequest`).
pub const WEIR_SIGNAL_METRICS: u32 = 2;
/// Signal bit and value: logs (`ExportLogsServiceRequest`).
pub const WEIR_SIGNAL_LOGS: u32 = 4;

/// Log level: errors.
pub const WEIR_LOG_ERROR: u32 = 1;
/// Log level: warnings.
pub const WEIR_LOG_WARN: u32 = 2;
/// Log level: information.
pub const WEIR_LOG_INFO: u32 = 3;
/// Log level: debugging.
pub const WEIR_LOG_DEBUG: u32 = 4;
/// Log level: tracing.
pub const WEIR_LOG_TRACE: u32 = 5;

/// Library flag: an error inside the library is reported as a status code and never aborts the
/// process. Rust libraries set it only when built with `panic = "unwind"` (the SDK sets it and
/// refuses to build with `panic = "abort"`); C libraries set it when they never call `abort`.
/// The host refuses libraries without it.
pub const WEIR_LIBRARY_PANIC_UNWIND: u32 = 1;

/// UTF-8 text borrowed for one call (not NUL-terminated; `ptr` may be null when `len` is 0).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WeirStr {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// Bytes borrowed for one call: an OTLP `Export*ServiceRequest` in protobuf encoding.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WeirBytes {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// The part of the library descriptor that no ABI version changes: the host reads it first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WeirLibraryPrefix {
    /// [`WEIR_PLUGIN_MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] the library was built for.
    pub abi_major: u32,
    /// [`ABI_MINOR`] the library was built for.
    pub abi_minor: u32,
    /// `sizeof` the library's descriptor struct.
    pub struct_size: u32,
    /// `WEIR_LIBRARY_*` bits.
    pub flags: u32,
}

/// The host's entry points into one instance's context, given to `create` and valid (with
/// `ctx`) until `destroy` returns. Every function may be called from any thread.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WeirHostV1 {
    /// `sizeof` the host's struct: fields past it do not exist.
    pub struct_size: u32,
    /// The most verbose `WEIR_LOG_*` level the host records; skip formatting the rest.
    pub max_log_level: u32,
    /// The instance's host context, passed back as the first argument of every function.
    pub ctx: *mut c_void,
    /// Writes one log line at a `WEIR_LOG_*` level into the host's log.
    pub log: unsafe extern "C" fn(ctx: *mut c_void, level: u32, message: WeirStr),
    /// Receivers and processors: hands a batch of one `WEIR_SIGNAL_*` to the pipeline. The
    /// host copies `data` (unless it lies in the buffer of the `consume` call in progress) and
    /// answers `OK`, `FULL` (the pipeline refused it for now: try later), `INVALID_ARGUMENT`
    /// (not a valid request of that signal), `SHUTTING_DOWN` or `UNSUPPORTED` (exporters).
    /// A receiver's `emit` blocks while the pipeline admits the batch.
    pub emit: unsafe extern "C" fn(ctx: *mut c_void, signal: u32, data: WeirBytes) -> WeirStatus,
    /// Exporters: the outcome of a `consume` that answered `PENDING`, once per token:
    /// `OK`, `RETRYABLE` (after `retry_after_ms` if not 0), `PERMANENT`, ... with a message.
    pub complete: unsafe extern "C" fn(
        ctx: *mut c_void,
        token: u64,
        status: WeirStatus,
        retry_after_ms: u64,
        message: WeirStr,
    ),
    /// Adds `value` to the instance's counter `name` (letters, digits, `_`), shown among Weir's
    /// own metrics.
    pub counter_add: unsafe extern "C" fn(ctx: *mut c_void, name: WeirStr, value: u64),
    /// Since ABI 1.1; a 1.0 host's vtable ends before it (check `struct_size`), and a host may
    /// leave it null. Exporters, during the `consume` call of `token`, before it returns a
    /// status at once (anything but `PENDING`): the delay to wait before a retry
    /// (`retry_after_ms`, 0 for the retry policy's own) and a message, as `complete` carries
    /// them for a `PENDING` answer. The last call before `consume` returns counts.
    pub answer: Option<
        unsafe extern "C" fn(ctx: *mut c_void, token: u64, retry_after_ms: u64, message: WeirStr),
    >,
}

/// `struct_size` of an ABI 1.0 host vtable: the fields up to `counter_add`.
pub const WEIR_HOST_V1_0_SIZE: u32 = 48;

/// Creates an instance from its config (JSON text already checked against `config_schema`) and
/// stores it in `*instance`. `host` stays valid until `destroy` returns.
pub type WeirCreateFn = unsafe extern "C" fn(
    host: *const WeirHostV1,
    config: WeirStr,
    instance: *mut *mut c_void,
) -> WeirStatus;
/// Starts an instance (receivers begin emitting); `OK` or a failure status.
pub type WeirStartFn = unsafe extern "C" fn(instance: *mut c_void) -> WeirStatus;
/// Processors, exporters and connectors: one batch of one `WEIR_SIGNAL_*`, borrowed for the
/// call. `token` identifies an exporter's `PENDING` answer in `complete`; processors `emit`
/// during the call; connectors `emit` during the call batches of the downstream signals paired
/// with `signal`, which the host sends on once the call answered `OK` (with the input's
/// metadata and acknowledgement; after `FULL` they are dropped and the batch is offered again).
/// A connector's `emit` outside a call (from its own threads) blocks until the pipelines take
/// the batch, as a receiver's does.
pub type WeirConsumeFn = unsafe extern "C" fn(
    instance: *mut c_void,
    signal: u32,
    data: WeirBytes,
    token: u64,
) -> WeirStatus;
/// Stops an instance: receivers stop emitting, processors and connectors `emit` what they hold,
/// exporters `complete` what is pending. After it returns the host calls `destroy` and nothing else.
pub type WeirShutdownFn = unsafe extern "C" fn(instance: *mut c_void) -> WeirStatus;
/// Frees an instance. Called once, last.
pub type WeirDestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// One component type a library provides.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WeirComponentV1 {
    /// `sizeof` the library's struct.
    pub struct_size: u32,
    /// `WEIR_KIND_*`.
    pub kind: u32,
    /// `WEIR_SIGNAL_*` bits it supports.
    pub signals: u32,
    /// Zero.
    pub reserved: u32,
    /// Type name in YAML (letters, digits, `_`).
    pub type_name: WeirStr,
    /// JSON Schema of its config, as JSON text; the host validates configs against it.
    pub config_schema: WeirStr,
    /// Required.
    pub create: Option<WeirCreateFn>,
    /// Optional (null: nothing to start).
    pub start: Option<WeirStartFn>,
    /// Required for processors, exporters and connectors.
    pub consume: Option<WeirConsumeFn>,
    /// Optional (null: nothing to stop).
    pub shutdown: Option<WeirShutdownFn>,
    /// Required.
    pub destroy: Option<WeirDestroyFn>,
    /// Since ABI 1.2, read for connectors only (a 1.0 or 1.1 descriptor ends before it): the
    /// `WEIR_PAIR_*` bits of the (upstream, downstream) signals it joins. A connector's
    /// `signals` must be exactly the upstream signals of its pairs.
    pub pairs: u32,
    /// Zero (since 1.2; keeps the struct's tail free of padding, for a later minor).
    pub reserved2: u32,
}

/// `struct_size` of an ABI 1.0 (and 1.1) component descriptor: the fields up to `destroy`.
pub const WEIR_COMPONENT_V1_0_SIZE: u32 = 88;

/// The library descriptor [`ENTRY_SYMBOL`] returns, valid for the life of the process.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WeirLibraryV1 {
    /// Magic, versions, size and flags: read before anything else.
    pub prefix: WeirLibraryPrefix,
    /// The library's name (`weir-plugin-redact`).
    pub name: WeirStr,
    /// The library's own version.
    pub version: WeirStr,
    /// What built it (`weir-plugin-sdk 0.1.0`, `c`).
    pub sdk_version: WeirStr,
    /// `component_count` pointers to component descriptors.
    pub components: *const *const WeirComponentV1,
    /// How many.
    pub component_count: usize,
}

/// The type of [`ENTRY_SYMBOL`].
pub type WeirEntryV1 = unsafe extern "C" fn() -> *const WeirLibraryV1;
