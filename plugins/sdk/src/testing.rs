//! A test host: drives a component through the same `extern "C"` shims Weir calls, with a host
//! vtable that records what the instance logs, emits, completes and counts. Plugin authors
//! unit-test their components with it, without Weir.
//!
//! ```ignore
//! let host = TestHost::new();
//! let mut redact = host.processor::<Redact>(serde_json::json!({"patterns": ["\\d{4}"]}))?;
//! assert_eq!(redact.consume(Signal::Traces, &request_bytes), abi::WEIR_OK);
//! let out = host.emitted();
//! ```

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::abi::{self, WeirBytes, WeirHostV1, WeirStatus, WeirStr};
use crate::descriptor::ComponentDescriptor;
use crate::{
    Connector, Exporter, Processor, Receiver, Signal, connector_descriptor, exporter_descriptor,
    processor_descriptor, receiver_descriptor,
};

/// A batch an instance emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emitted {
    /// Its signal.
    pub signal: Signal,
    /// Its bytes (copied, as Weir copies what is not its own buffer).
    pub data: Vec<u8>,
    /// Whether the bytes were a range of the buffer of the `consume` in progress (where Weir
    /// would have made no copy).
    pub borrowed_input: bool,
}

/// An exporter's asynchronous outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completed {
    /// The token of the `consume` it answers.
    pub token: u64,
    /// Its status.
    pub status: WeirStatus,
    /// The delay asked for, in milliseconds (0: none).
    pub retry_after_ms: u64,
    /// Its message.
    pub message: String,
}

/// The detail an exporter gave (ABI 1.1 `answer`) for an outcome it returned at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The token of the `consume` it belongs to.
    pub token: u64,
    /// The delay asked for, in milliseconds (0: none).
    pub retry_after_ms: u64,
    /// Its message.
    pub message: String,
}

#[derive(Default)]
struct Record {
    logs: Vec<(u32, String)>,
    emitted: Vec<Emitted>,
    completed: Vec<Completed>,
    answered: Vec<Answered>,
    counters: BTreeMap<String, u64>,
    /// The buffer of the `consume` in progress, as an address range.
    input: Option<(usize, usize)>,
    emit_answer: WeirStatus,
}

#[derive(Default)]
struct Shared {
    record: Mutex<Record>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Records what instances created through it do. Clone it to share the record.
#[derive(Clone, Default)]
pub struct TestHost {
    shared: Arc<Shared>,
    /// Offers only ABI 1.0's vtable, as an older Weir does.
    abi_1_0: bool,
}

/// # Safety
/// `text` is valid for the call (ABI contract).
unsafe fn text_of(text: WeirStr) -> String {
    if text.ptr.is_null() || text.len == 0 {
        return String::new();
    }
    // SAFETY: per the caller.
    let bytes = unsafe { std::slice::from_raw_parts(text.ptr, text.len) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// # Safety
/// `ctx` is the `Arc<Shared>` pointer this module put in the vtable, alive for the instance.
unsafe fn shared<'a>(ctx: *mut c_void) -> &'a Shared {
    // SAFETY: per the caller.
    unsafe { &*ctx.cast::<Shared>() }
}

unsafe extern "C" fn log(ctx: *mut c_void, level: u32, message: WeirStr) {
    // SAFETY: called by the instance with the vtable's ctx and a message valid for the call.
    let (shared, message) = unsafe { (shared(ctx), text_of(message)) };
    shared.lock().logs.push((level, message));
    shared.changed.notify_all();
}

unsafe extern "C" fn emit(ctx: *mut c_void, signal: u32, data: WeirBytes) -> WeirStatus {
    // SAFETY: called by the instance with the vtable's ctx.
    let shared = unsafe { shared(ctx) };
    let Some(signal) = Signal::from_abi(signal) else {
        return abi::WEIR_INVALID_ARGUMENT;
    };
    let bytes = if data.ptr.is_null() || data.len == 0 {
        Vec::new()
    } else {
        // SAFETY: the instance lends `data` for the call (ABI contract).
        unsafe { std::slice::from_raw_parts(data.ptr, data.len) }.to_vec()
    };
    let mut record = shared.lock();
    let start = data.ptr as usize;
    let borrowed_input = record
        .input
        .is_some_and(|(lo, hi)| start >= lo && start + data.len <= hi);
    let answer = record.emit_answer;
    if answer == abi::WEIR_OK {
        record.emitted.push(Emitted {
            signal,
            data: bytes,
            borrowed_input,
        });
    }
    drop(record);
    shared.changed.notify_all();
    answer
}

unsafe extern "C" fn complete(
    ctx: *mut c_void,
    token: u64,
    status: WeirStatus,
    retry_after_ms: u64,
    message: WeirStr,
) {
    // SAFETY: called by the instance with the vtable's ctx and a message valid for the call.
    let (shared, message) = unsafe { (shared(ctx), text_of(message)) };
    shared.lock().completed.push(Completed {
        token,
        status,
        retry_after_ms,
        message,
    });
    shared.changed.notify_all();
}

unsafe extern "C" fn answer(ctx: *mut c_void, token: u64, retry_after_ms: u64, message: WeirStr) {
    // SAFETY: called by the instance with the vtable's ctx and a message valid for the call.
    let (shared, message) = unsafe { (shared(ctx), text_of(message)) };
    shared.lock().answered.push(Answered {
        token,
        retry_after_ms,
        message,
    });
    shared.changed.notify_all();
}

unsafe extern "C" fn counter_add(ctx: *mut c_void, name: WeirStr, value: u64) {
    // SAFETY: called by the instance with the vtable's ctx and a name valid for the call.
    let (shared, name) = unsafe { (shared(ctx), text_of(name)) };
    *shared.lock().counters.entry(name).or_default() += value;
}

impl TestHost {
    /// A host whose `emit` answers `OK`.
    pub fn new() -> TestHost {
        TestHost::default()
    }

    /// A host that offers only ABI 1.0's vtable (its `struct_size` ends before `answer`), to
    /// check that a component still works in an older Weir.
    pub fn abi_1_0() -> TestHost {
        TestHost {
            abi_1_0: true,
            ..TestHost::default()
        }
    }

    /// Makes `emit` answer `status` from now on (`FULL` to test backpressure); batches are
    /// recorded only when it answers `OK`.
    pub fn answer_emits_with(&self, status: WeirStatus) {
        self.shared.lock().emit_answer = status;
    }

    /// Creates a processor instance from `config`.
    pub fn processor<P: Processor>(
        &self,
        config: serde_json::Value,
    ) -> Result<TestInstance, WeirStatus> {
        self.create(processor_descriptor::<P>(), config)
    }

    /// Creates an exporter instance from `config`.
    pub fn exporter<E: Exporter>(
        &self,
        config: serde_json::Value,
    ) -> Result<TestInstance, WeirStatus> {
        self.create(exporter_descriptor::<E>(), config)
    }

    /// Creates a receiver instance from `config`.
    pub fn receiver<R: Receiver>(
        &self,
        config: serde_json::Value,
    ) -> Result<TestInstance, WeirStatus> {
        self.create(receiver_descriptor::<R>(), config)
    }

    /// Creates a connector instance from `config`.
    pub fn connector<C: Connector>(
        &self,
        config: serde_json::Value,
    ) -> Result<TestInstance, WeirStatus> {
        self.create(connector_descriptor::<C>(), config)
    }

    fn create(
        &self,
        descriptor: ComponentDescriptor,
        config: serde_json::Value,
    ) -> Result<TestInstance, WeirStatus> {
        let vtable = Box::new(WeirHostV1 {
            struct_size: if self.abi_1_0 {
                abi::WEIR_HOST_V1_0_SIZE
            } else {
                std::mem::size_of::<WeirHostV1>() as u32
            },
            max_log_level: abi::WEIR_LOG_TRACE,
            ctx: Arc::as_ptr(&self.shared).cast_mut().cast(),
            log,
            emit,
            complete,
            counter_add,
            // A 1.0 host has no such field; the SDK must not read it (the struct size says
            // so), so a null here would not even be seen.
            answer: (!self.abi_1_0).then_some(answer as _),
        });
        let text = config.to_string();
        let create = descriptor.raw().create.ok_or(abi::WEIR_INVALID_ARGUMENT)?;
        let mut instance: *mut c_void = std::ptr::null_mut();
        // SAFETY: the vtable and its ctx (an Arc kept by the TestInstance) outlive the instance;
        // the config text is valid for the call.
        let status = unsafe {
            create(
                &*vtable,
                WeirStr {
                    ptr: text.as_ptr(),
                    len: text.len(),
                },
                &mut instance,
            )
        };
        if status != abi::WEIR_OK {
            return Err(status);
        }
        Ok(TestInstance {
            descriptor,
            instance,
            _vtable: vtable,
            shared: self.shared.clone(),
            next_token: 1,
        })
    }

    /// Everything emitted so far.
    pub fn emitted(&self) -> Vec<Emitted> {
        self.shared.lock().emitted.clone()
    }

    /// Takes what was emitted so far, leaving the record empty.
    pub fn take_emitted(&self) -> Vec<Emitted> {
        std::mem::take(&mut self.shared.lock().emitted)
    }

    /// Log lines so far, with their `WEIR_LOG_*` level.
    pub fn logs(&self) -> Vec<(u32, String)> {
        self.shared.lock().logs.clone()
    }

    /// Asynchronous export outcomes so far.
    pub fn completed(&self) -> Vec<Completed> {
        self.shared.lock().completed.clone()
    }

    /// Details given for outcomes returned at once (ABI 1.1 `answer`).
    pub fn answered(&self) -> Vec<Answered> {
        self.shared.lock().answered.clone()
    }

    /// The instance's counters.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.shared.lock().counters.clone()
    }

    /// Waits until `condition` holds on the record (checked whenever the instance calls the
    /// host), or `timeout` passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, condition: impl Fn(&TestHost) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.shared.lock();
        loop {
            drop(guard);
            if condition(self) {
                return true;
            }
            guard = self.shared.lock();
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Re-checks at least every 50 ms, in case a change raced the unlocked check.
            let wait = (deadline - now).min(Duration::from_millis(50));
            guard = self
                .shared
                .changed
                .wait_timeout(guard, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// One instance, destroyed when dropped (after `shutdown` if it was not called).
pub struct TestInstance {
    descriptor: ComponentDescriptor,
    instance: *mut c_void,
    _vtable: Box<WeirHostV1>,
    shared: Arc<Shared>,
    next_token: u64,
}

impl TestInstance {
    /// Calls `start` (`OK` if the component has none).
    pub fn start(&mut self) -> WeirStatus {
        match self.descriptor.raw().start {
            // SAFETY: the instance is live and used from this one owner.
            Some(start) => unsafe { start(self.instance) },
            None => abi::WEIR_OK,
        }
    }

    /// Calls `consume` with `data`, as Weir would; returns the status and the token used.
    pub fn consume(&mut self, signal: Signal, data: &[u8]) -> WeirStatus {
        self.consume_with_token(signal, data).0
    }

    /// [`TestInstance::consume`], also returning the token (to match a later completion).
    pub fn consume_with_token(&mut self, signal: Signal, data: &[u8]) -> (WeirStatus, u64) {
        let Some(consume) = self.descriptor.raw().consume else {
            return (abi::WEIR_UNSUPPORTED, 0);
        };
        let token = self.next_token;
        self.next_token += 1;
        let start = data.as_ptr() as usize;
        self.shared.lock().input = Some((start, start + data.len()));
        let bytes = WeirBytes {
            ptr: data.as_ptr(),
            len: data.len(),
        };
        // SAFETY: the instance is live and used from this one owner; `data` outlives the call.
        let status = unsafe { consume(self.instance, signal.to_abi(), bytes, token) };
        self.shared.lock().input = None;
        (status, token)
    }

    /// Calls `shutdown` (`OK` if the component has none).
    pub fn shutdown(&mut self) -> WeirStatus {
        match self.descriptor.raw().shutdown {
            // SAFETY: the instance is live and used from this one owner.
            Some(shutdown) => unsafe { shutdown(self.instance) },
            None => abi::WEIR_OK,
        }
    }
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        if let Some(destroy) = self.descriptor.raw().destroy {
            // SAFETY: the instance is live and destroyed once, here, last.
            unsafe { destroy(self.instance) };
        }
    }
}
