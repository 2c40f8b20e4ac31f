//! One plugin instance on the calling thread: the host context its vtable points to, the
//! vtable's callbacks (`log`, `emit`, `complete`, `counter_add`), and [`Instance`], which calls
//! `create`, `start`, `consume`, `shutdown` and `destroy`. The runtime drives an `Instance` from
//! a thread of its own ([`super::driver`]); benchmarks drive one directly.

use std::collections::HashMap;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_plugin_abi::{
    self as abi, WeirBytes, WeirComponentV1, WeirHostV1, WeirStatus, WeirStr, status_name,
};

use super::counters::CounterSet;
use super::library::{EntryPoints, signal_bit, signal_of, text};
use super::slot::{Reply, Slot};
use crate::batch::{Batch, Payload, Signal};
use crate::component::{ComponentId, Kind, PushOutcome};

/// An exporter's outcome, from `consume` or a later `complete`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status.
    pub status: WeirStatus,
    /// Delay the plugin asked for before a retry.
    pub retry_after: Option<Duration>,
    /// The plugin's message.
    pub message: String,
}

/// A batch a receiver emitted, with where to send the pipeline's answer.
pub(crate) type Emission = (Signal, Batch, std::sync::mpsc::SyncSender<PushOutcome>);

/// The input of the `consume` call in progress, owned for the call: a range the plugin may
/// emit back uncopied. Emitting it whole moves the batch itself to the emitted list, so a
/// batch passed on unchanged crosses to the instance's thread and back without a copy and
/// without touching its reference counts there.
struct Input {
    /// Address and length of the bytes lent to the plugin.
    base: usize,
    len: usize,
    signal: Signal,
    /// The batch, until an emit of the whole of it moves it to `emitted[moved_to]`.
    batch: Option<Batch>,
    moved_to: Option<usize>,
}

impl Input {
    /// The batch that owns the lent bytes, wherever it is now.
    fn source<'a>(&'a self, emitted: &'a [Batch]) -> Option<&'a Batch> {
        self.batch
            .as_ref()
            .or_else(|| self.moved_to.and_then(|i| emitted.get(i)))
    }
}

/// The `consume` call in progress (processors, connectors): its input and what it emitted.
#[derive(Default)]
struct Call {
    input: Option<Input>,
    emitted: Vec<Batch>,
    /// Connectors: the thread making the `consume` or `shutdown` call in progress (the
    /// instance's own), so that emits from the plugin's other threads meanwhile go to the
    /// pipelines at once instead of joining the call's.
    thread: Option<std::thread::ThreadId>,
    /// Connectors: the signal of the `consume` in progress (`None` during `shutdown`: any
    /// downstream signal goes).
    upstream: Option<Signal>,
}

/// What the host keeps for one instance; the vtable's `ctx` points to it.
pub(crate) struct HostContext {
    pub(crate) id: ComponentId,
    kind: Kind,
    /// For processors: the pipeline's signal, the only one it may emit.
    signal: Option<Signal>,
    /// For connectors: the (upstream, downstream) signals it joins.
    pairs: Vec<(Signal, Signal)>,
    call: Mutex<Call>,
    /// Exporters: outcomes awaited by token.
    pending: Mutex<HashMap<u64, Arc<Slot>>>,
    /// Exporters: the delay and message the plugin gave (ABI 1.1 `answer`) for the answer the
    /// `consume` in progress is about to return, with its token.
    answer_detail: Mutex<Option<(u64, Option<Duration>, String)>>,
    /// Receivers and connectors (for emits outside a call): the way into the pipelines.
    bridge: Mutex<Option<mpsc::Sender<Emission>>>,
    /// The last error or warning the plugin logged during the current call, for messages about
    /// failed calls.
    last_error: Mutex<Option<String>>,
    counters: Arc<CounterSet>,
    /// Set once the instance is shut down: late emits are refused.
    closed: AtomicBool,
    panicked: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl HostContext {
    /// The context of a new instance of component `id`, of plugin type `plugin` from the
    /// library named `library` (the labels of its counters).
    pub(crate) fn new(
        id: ComponentId,
        kind: Kind,
        signal: Option<Signal>,
        pairs: &[(Signal, Signal)],
        plugin: &str,
        library: &str,
    ) -> Arc<HostContext> {
        let counters = CounterSet::register(&id, plugin, library);
        Arc::new(HostContext {
            id,
            kind,
            signal,
            pairs: pairs.to_vec(),
            call: Mutex::new(Call::default()),
            pending: Mutex::new(HashMap::new()),
            answer_detail: Mutex::new(None),
            bridge: Mutex::new(None),
            last_error: Mutex::new(None),
            counters,
            closed: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
        })
    }

    /// Connects a receiver's `emit` (a connector's outside a call) to the pipelines.
    pub(crate) fn attach(&self, bridge: mpsc::Sender<Emission>) {
        *lock(&self.bridge) = Some(bridge);
    }

    /// Refuses every later `emit` and drops the way into the pipelines.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        lock(&self.bridge).take();
        // Exports still pending will never complete: their callers are told the instance is
        // gone, and fail them as retryable.
        let pending: Vec<Arc<Slot>> = lock(&self.pending).drain().map(|(_, s)| s).collect();
        for slot in pending {
            slot.answer(Reply::Gone, None);
        }
    }

    /// Moves what a processor emitted to `out` (the context's vector keeps its capacity).
    fn drain_emitted(&self, out: &mut Vec<Batch>) {
        out.append(&mut lock(&self.call).emitted);
    }

    pub(crate) fn await_outcome(&self, token: u64, slot: &Arc<Slot>) {
        lock(&self.pending).insert(token, slot.clone());
    }

    pub(crate) fn take_pending(&self, token: u64) -> Option<Arc<Slot>> {
        lock(&self.pending).remove(&token)
    }

    /// The retry delay and message the plugin gave for `token`'s immediate answer, if any.
    pub(crate) fn take_answer_detail(&self, token: u64) -> (Option<Duration>, Option<String>) {
        match lock(&self.answer_detail).take() {
            Some((t, retry_after, message)) if t == token => {
                (retry_after, (!message.is_empty()).then_some(message))
            }
            _ => (None, None),
        }
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Logs a call's failure; a panic once at error level (then the instance is poisoned and
    /// every later answer is the same).
    pub(crate) fn note_status(&self, call: &str, status: WeirStatus) {
        if status == abi::WEIR_PANICKED {
            self.counters.add("panicked_calls", 1);
            if !self.panicked.swap(true, Ordering::AcqRel) {
                tracing::error!(plugin = %self.id, call, "plugin instance panicked; it is poisoned and its batches are dropped from now on");
            }
        }
    }

    fn log(&self, level: u32, message: String) {
        let id = &self.id;
        match level {
            abi::WEIR_LOG_ERROR => {
                tracing::error!(plugin = %id, "{message}");
                *lock(&self.last_error) = Some(message);
            }
            abi::WEIR_LOG_WARN => {
                tracing::warn!(plugin = %id, "{message}");
                *lock(&self.last_error) = Some(message);
            }
            abi::WEIR_LOG_INFO => tracing::info!(plugin = %id, "{message}"),
            abi::WEIR_LOG_DEBUG => tracing::debug!(plugin = %id, "{message}"),
            _ => tracing::trace!(plugin = %id, "{message}"),
        }
    }

    /// The emitted bytes as a batch: the input itself when they are the whole of it (moved the
    /// first time, no copy and no second wire walk), a range of its buffer when they lie inside
    /// it, a checked copy otherwise.
    fn batch_of(call: &mut Call, signal: Signal, data: WeirBytes) -> Result<Batch, WeirStatus> {
        let start = data.ptr as usize;
        let Call { input, emitted, .. } = call;
        let mut meta = None;
        if let Some(input) = input {
            if start >= input.base && start + data.len <= input.base + input.len {
                if start == input.base && data.len == input.len && signal == input.signal {
                    if let Some(batch) = input.batch.take() {
                        input.moved_to = Some(emitted.len());
                        return Ok(batch);
                    }
                    if let Some(batch) = input.source(emitted) {
                        return Ok(batch.clone());
                    }
                }
                if let Some(source) = input.source(emitted)
                    && let Payload::Encoded(bytes) = source.payload()
                {
                    let offset = start - input.base;
                    let range = bytes.slice(offset..offset + data.len);
                    return Batch::from_encoded(signal, range, source.meta().clone())
                        .map_err(|_| abi::WEIR_INVALID_ARGUMENT);
                }
            }
            meta = input.source(emitted).map(|b| b.meta().clone());
        }
        let bytes = if data.len == 0 {
            Bytes::new()
        } else if data.ptr.is_null() {
            return Err(abi::WEIR_INVALID_ARGUMENT);
        } else {
            // SAFETY: the plugin lends `len` bytes for the call (ABI contract); they are copied
            // before it returns because they are not the host's.
            Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(data.ptr, data.len) })
        };
        Batch::from_encoded(signal, bytes, meta.unwrap_or_default())
            .map_err(|_| abi::WEIR_INVALID_ARGUMENT)
    }

    fn emit(&self, signal: u32, data: WeirBytes) -> WeirStatus {
        if self.closed.load(Ordering::Acquire) {
            return abi::WEIR_SHUTTING_DOWN;
        }
        let Some(signal) = signal_of(signal) else {
            return abi::WEIR_INVALID_ARGUMENT;
        };
        let invalid = || {
            tracing::warn!(plugin = %self.id, %signal, "plugin emitted bytes that are not a valid OTLP request");
        };
        match self.kind {
            Kind::Processor => {
                if self.signal.is_some_and(|s| s != signal) {
                    return abi::WEIR_INVALID_ARGUMENT;
                }
                let mut call = lock(&self.call);
                match Self::batch_of(&mut call, signal, data) {
                    Ok(batch) => {
                        call.emitted.push(batch);
                        abi::WEIR_OK
                    }
                    Err(status) => {
                        drop(call);
                        invalid();
                        status
                    }
                }
            }
            Kind::Receiver => match Self::batch_of(&mut Call::default(), signal, data) {
                Ok(batch) => self.emit_to_pipelines(signal, batch),
                Err(status) => {
                    invalid();
                    status
                }
            },
            Kind::Connector => self.connector_emit(signal, data),
            _ => abi::WEIR_UNSUPPORTED,
        }
    }

    /// A connector's emit: during its `consume` (on the instance's thread) a batch of a signal
    /// paired with the input's, kept with the call's (and carrying the input's metadata) until
    /// the call answers; during `shutdown` one of any downstream signal, kept likewise; from
    /// anywhere else, straight to the pipelines as a receiver's emit.
    fn connector_emit(&self, signal: Signal, data: WeirBytes) -> WeirStatus {
        let refused = |upstream: Option<Signal>| {
            let from = upstream.map_or("any".to_string(), |s| s.to_string());
            tracing::warn!(connector = %self.id, %signal, upstream = %from, "plugin connector emitted a signal it does not pair with its input; refused");
            abi::WEIR_INVALID_ARGUMENT
        };
        let invalid = |status| {
            tracing::warn!(connector = %self.id, %signal, "plugin connector emitted bytes that are not a valid OTLP request");
            status
        };
        let downstream = |to: Signal| self.pairs.iter().any(|(_, s)| *s == to);
        let mut call = lock(&self.call);
        if call.thread == Some(std::thread::current().id()) {
            let allowed = match call.upstream {
                Some(from) => self.pairs.contains(&(from, signal)),
                None => downstream(signal),
            };
            if !allowed {
                let upstream = call.upstream;
                drop(call);
                return refused(upstream);
            }
            return match Self::batch_of(&mut call, signal, data) {
                Ok(batch) => {
                    call.emitted.push(batch);
                    abi::WEIR_OK
                }
                Err(status) => {
                    drop(call);
                    invalid(status)
                }
            };
        }
        drop(call);
        if !downstream(signal) {
            return refused(None);
        }
        match Self::batch_of(&mut Call::default(), signal, data) {
            Ok(batch) => self.emit_to_pipelines(signal, batch),
            Err(status) => invalid(status),
        }
    }

    /// Hands a receiver's batch to the tokio side and waits for the pipelines' answer.
    fn emit_to_pipelines(&self, signal: Signal, batch: Batch) -> WeirStatus {
        let Some(bridge) = lock(&self.bridge).clone() else {
            return abi::WEIR_SHUTTING_DOWN;
        };
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        match bridge.try_send((signal, batch, reply)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return abi::WEIR_FULL,
            Err(mpsc::error::TrySendError::Closed(_)) => return abi::WEIR_SHUTTING_DOWN,
        }
        drop(bridge);
        match answer.recv() {
            Ok(PushOutcome::Accepted | PushOutcome::Partial { .. }) => abi::WEIR_OK,
            Ok(PushOutcome::Refused { .. }) => abi::WEIR_FULL,
            Ok(PushOutcome::Failed { .. }) | Err(_) => abi::WEIR_SHUTTING_DOWN,
        }
    }

    fn complete(&self, token: u64, status: WeirStatus, retry_after_ms: u64, message: String) {
        let Some(slot) = self.take_pending(token) else {
            tracing::warn!(plugin = %self.id, token, status = status_name(status), "plugin completed an export that is not pending; ignored");
            return;
        };
        slot.answer(
            Reply::Outcome(Outcome {
                status,
                retry_after: (retry_after_ms > 0).then(|| Duration::from_millis(retry_after_ms)),
                message,
            }),
            None,
        );
    }

    /// ABI 1.1: the detail of the answer the `consume` of `token` is about to return.
    fn answer(&self, token: u64, retry_after_ms: u64, message: String) {
        if self.kind != Kind::Exporter {
            return;
        }
        let retry_after = (retry_after_ms > 0).then(|| Duration::from_millis(retry_after_ms));
        *lock(&self.answer_detail) = Some((token, retry_after, message));
    }
}

/// # Safety
/// `ctx` must be the pointer a vtable of this module carries, whose context is alive (until
/// `destroy` returns, per the ABI).
unsafe fn context<'a>(ctx: *mut c_void) -> &'a HostContext {
    // SAFETY: per the caller.
    unsafe { &*ctx.cast::<HostContext>() }
}

/// Runs a callback body so that a bug on this side can never unwind into plugin code.
fn guarded<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

unsafe extern "C" fn host_log(ctx: *mut c_void, level: u32, message: WeirStr) {
    guarded((), || {
        // SAFETY: called by the plugin with its vtable's ctx and a message lent for the call.
        let (ctx, message) = unsafe { (context(ctx), text(message)) };
        ctx.log(
            level,
            message.unwrap_or_else(|e| format!("<unreadable log message: {e}>")),
        );
    })
}

unsafe extern "C" fn host_emit(ctx: *mut c_void, signal: u32, data: WeirBytes) -> WeirStatus {
    guarded(abi::WEIR_INTERNAL, || {
        // SAFETY: called by the plugin with its vtable's ctx.
        unsafe { context(ctx) }.emit(signal, data)
    })
}

unsafe extern "C" fn host_complete(
    ctx: *mut c_void,
    token: u64,
    status: WeirStatus,
    retry_after_ms: u64,
    message: WeirStr,
) {
    guarded((), || {
        // SAFETY: called by the plugin with its vtable's ctx and a message lent for the call.
        let (ctx, message) = unsafe { (context(ctx), text(message).unwrap_or_default()) };
        ctx.complete(token, status, retry_after_ms, message);
    })
}

unsafe extern "C" fn host_answer(
    ctx: *mut c_void,
    token: u64,
    retry_after_ms: u64,
    message: WeirStr,
) {
    guarded((), || {
        // SAFETY: called by the plugin with its vtable's ctx and a message lent for the call.
        let (ctx, message) = unsafe { (context(ctx), text(message).unwrap_or_default()) };
        ctx.answer(token, retry_after_ms, message);
    })
}

unsafe extern "C" fn host_counter_add(ctx: *mut c_void, name: WeirStr, value: u64) {
    guarded((), || {
        // SAFETY: called by the plugin with its vtable's ctx and a name lent for the call.
        let (ctx, name) = unsafe { (context(ctx), text(name)) };
        if let Ok(name) = name {
            ctx.counters.add(&name, value);
        }
    })
}

fn max_log_level() -> u32 {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => 0,
        LevelFilter::ERROR => abi::WEIR_LOG_ERROR,
        LevelFilter::WARN => abi::WEIR_LOG_WARN,
        LevelFilter::INFO => abi::WEIR_LOG_INFO,
        LevelFilter::DEBUG => abi::WEIR_LOG_DEBUG,
        _ => abi::WEIR_LOG_TRACE,
    }
}

/// One live plugin instance, used from the thread that created it. Destroyed on drop (after
/// `shutdown`, if that was not called).
pub struct Instance {
    raw: WeirComponentV1,
    instance: *mut c_void,
    ctx: Arc<HostContext>,
    // The vtable the plugin was given; boxed so its address stays put.
    _vtable: Box<WeirHostV1>,
    shut_down: bool,
    destroyed: bool,
    next_token: AtomicU64,
}

impl Instance {
    /// Calls `create` with `config` (JSON text already validated against the schema).
    pub(crate) fn create(
        raw: EntryPoints,
        ctx: Arc<HostContext>,
        config: &str,
    ) -> Result<Instance, String> {
        let vtable = Box::new(WeirHostV1 {
            struct_size: std::mem::size_of::<WeirHostV1>() as u32,
            max_log_level: max_log_level(),
            ctx: Arc::as_ptr(&ctx).cast_mut().cast(),
            log: host_log,
            emit: host_emit,
            complete: host_complete,
            counter_add: host_counter_add,
            answer: Some(host_answer),
        });
        let raw = raw.0;
        let Some(create) = raw.create else {
            return Err("the plugin has no create".into());
        };
        let mut instance: *mut c_void = std::ptr::null_mut();
        // SAFETY: the vtable and its context live in the returned Instance, which destroys the
        // plugin instance before dropping them; the config text is lent for the call.
        let status = unsafe {
            create(
                &*vtable,
                WeirStr {
                    ptr: config.as_ptr(),
                    len: config.len(),
                },
                &mut instance,
            )
        };
        if status != abi::WEIR_OK {
            ctx.note_status("create", status);
            let detail = ctx
                .last_error()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Err(format!("create answered {}{detail}", status_name(status)));
        }
        Ok(Instance {
            raw,
            instance,
            ctx,
            _vtable: vtable,
            shut_down: false,
            destroyed: false,
            next_token: AtomicU64::new(1),
        })
    }

    pub(crate) fn context(&self) -> &Arc<HostContext> {
        &self.ctx
    }

    /// Calls `start` (`OK` when the plugin has none).
    pub fn start(&mut self) -> WeirStatus {
        let status = match self.raw.start {
            // SAFETY: a live instance, called from its one thread.
            Some(start) => unsafe { start(self.instance) },
            None => abi::WEIR_OK,
        };
        self.ctx.note_status("start", status);
        status
    }

    /// Calls `consume` with the batch's bytes (borrowed, never copied; a decoded batch is
    /// encoded once) and returns the status with what a processor emitted during the call.
    pub fn consume(&mut self, batch: &Batch) -> (WeirStatus, Vec<Batch>) {
        let mut out = Vec::new();
        let status = self.consume_into(batch, &mut out);
        (status, out)
    }

    /// [`Instance::consume`], appending what a processor emitted to `out`.
    pub fn consume_into(&mut self, batch: &Batch, out: &mut Vec<Batch>) -> WeirStatus {
        let token = self.next_token();
        self.consume_owned(batch.clone(), token, out).0
    }

    /// A token for a `consume` call.
    pub(crate) fn next_token(&self) -> u64 {
        self.next_token.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls `consume` with the batch's bytes, the batch owned by the host context for the
    /// call, and appends what a processor emitted to `out`. Returns the status, and the input
    /// batch when the plugin did not pass it on whole (always, for a status other than `OK`,
    /// so the caller can offer it again).
    pub(crate) fn consume_owned(
        &mut self,
        batch: Batch,
        token: u64,
        out: &mut Vec<Batch>,
    ) -> (WeirStatus, Option<Batch>) {
        let Some(consume) = self.raw.consume else {
            return (abi::WEIR_UNSUPPORTED, Some(batch));
        };
        // A decoded batch is encoded once; an encoded one is moved as it is.
        let batch = batch.into_encoded();
        let (base, len) = match batch.payload() {
            Payload::Encoded(bytes) => (bytes.as_ptr(), bytes.len()),
            Payload::Decoded(_) => (std::ptr::null(), 0),
        };
        let signal = batch.signal();
        lock(&self.ctx.last_error).take();
        {
            let mut call = lock(&self.ctx.call);
            call.input = Some(Input {
                base: base as usize,
                len,
                signal,
                batch: Some(batch),
                moved_to: None,
            });
            call.thread = Some(std::thread::current().id());
            call.upstream = Some(signal);
        }
        let data = WeirBytes { ptr: base, len };
        // SAFETY: a live instance, called from its one thread; `data` points into the bytes of
        // the batch held in the context (as the input, or moved to the emitted list) until
        // after the call.
        let status = unsafe { consume(self.instance, signal_bit(signal), data, token) };
        let mut call = lock(&self.ctx.call);
        call.thread = None;
        call.upstream = None;
        let input = call.input.take();
        let returned = input.and_then(|input| match input.batch {
            Some(batch) => Some(batch),
            // Passed on whole: offered again after a failure, so it comes back as a copy.
            None if status != abi::WEIR_OK => input.source(&call.emitted).cloned(),
            None => None,
        });
        out.append(&mut call.emitted);
        drop(call);
        self.ctx.note_status("consume", status);
        (status, returned)
    }

    /// Calls `shutdown` once and returns its status with what a processor emitted.
    pub fn shutdown(&mut self) -> (WeirStatus, Vec<Batch>) {
        let mut out = Vec::new();
        let status = self.shutdown_into(&mut out);
        (status, out)
    }

    /// [`Instance::shutdown`], appending what a processor emitted to `out`.
    pub fn shutdown_into(&mut self, out: &mut Vec<Batch>) -> WeirStatus {
        if self.shut_down {
            return abi::WEIR_OK;
        }
        self.shut_down = true;
        lock(&self.ctx.call).thread = Some(std::thread::current().id());
        let status = match self.raw.shutdown {
            // SAFETY: a live instance, called from its one thread.
            Some(shutdown) => unsafe { shutdown(self.instance) },
            None => abi::WEIR_OK,
        };
        lock(&self.ctx.call).thread = None;
        self.ctx.note_status("shutdown", status);
        self.ctx.drain_emitted(out);
        self.ctx.close();
        status
    }

    /// Shuts the instance down if that was not done, then calls `destroy`; nothing is called
    /// after it (dropping the `Instance` then does nothing more).
    pub fn destroy(&mut self) {
        if self.destroyed {
            return;
        }
        if !self.shut_down {
            let _ = self.shutdown_into(&mut Vec::new());
        }
        self.destroyed = true;
        if let Some(destroy) = self.raw.destroy {
            // SAFETY: a live instance, destroyed once (the flag above), last; the context
            // outlives the call.
            unsafe { destroy(self.instance) };
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.destroy();
    }
}
