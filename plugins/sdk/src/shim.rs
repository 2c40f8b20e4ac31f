//! The `extern "C"` entry points behind every component: they check arguments, enter the
//! instance's logging scope and run the author's code under `catch_unwind`. A panic poisons the
//! instance: it answers `PANICKED` from then on, and only `destroy` still runs.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::{self, WeirBytes, WeirHostV1, WeirStatus, WeirStr};
use crate::host::Completion;
use crate::{Connector, Error, Exporter, Host, Level, Processor, Receiver, Signal, logging};

/// One instance as the host holds it (behind `*mut c_void`).
struct Slot<T> {
    component: T,
    host: Host,
    poisoned: bool,
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic payload".to_string()
    }
}

fn report(host: &Host, call: &str, result: Result<(), Error>) -> WeirStatus {
    match result {
        Ok(()) => abi::WEIR_OK,
        Err(e) => {
            host.log(Level::Error, &format!("{call} failed: {e}"));
            e.status()
        }
    }
}

/// # Safety
/// `text` must be valid UTF-8 bytes for the call (or null with length 0).
unsafe fn str_arg<'a>(text: WeirStr) -> Result<&'a str, Error> {
    if text.len == 0 {
        return Ok("");
    }
    if text.ptr.is_null() {
        return Err(Error::InvalidArgument("null string".into()));
    }
    // SAFETY: non-null and `len` bytes long for the call, per the caller.
    let bytes = unsafe { std::slice::from_raw_parts(text.ptr, text.len) };
    std::str::from_utf8(bytes).map_err(|e| Error::InvalidArgument(format!("not UTF-8: {e}")))
}

/// # Safety
/// `data` must be valid for reads of `len` bytes for the call (or null with length 0).
unsafe fn bytes_arg<'a>(data: WeirBytes) -> &'a [u8] {
    if data.len == 0 || data.ptr.is_null() {
        return &[];
    }
    // SAFETY: per the caller.
    unsafe { std::slice::from_raw_parts(data.ptr, data.len) }
}

/// Shared by every kind's `create`: host check, config parse, construction, all panic-guarded.
///
/// # Safety
/// The arguments are those the host passes to `create` (ABI contract).
unsafe fn create<T: Send + 'static, C: serde::de::DeserializeOwned>(
    host: *const WeirHostV1,
    config: WeirStr,
    instance: *mut *mut c_void,
    make: impl FnOnce(C, Host) -> Result<T, Error>,
) -> WeirStatus {
    if instance.is_null() {
        return abi::WEIR_INVALID_ARGUMENT;
    }
    // SAFETY: per the caller, `host` is the vtable given to create.
    let host = match unsafe { Host::from_raw(host) } {
        Ok(host) => host,
        Err(e) => return e.status(),
    };
    let _scope = logging::enter(host);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the config is UTF-8 JSON borrowed for the call (ABI contract).
        let text = unsafe { str_arg(config) }?;
        let text = if text.trim().is_empty() { "{}" } else { text };
        let config: C = serde_json::from_str(text)
            .map_err(|e| Error::InvalidArgument(format!("config: {e}")))?;
        make(config, host)
    }));
    match outcome {
        Ok(Ok(component)) => {
            let slot = Box::new(Slot {
                component,
                host,
                poisoned: false,
            });
            // SAFETY: checked non-null above; the host gave it for this result.
            unsafe { *instance = Box::into_raw(slot).cast() };
            abi::WEIR_OK
        }
        Ok(Err(e)) => report(&host, "create", Err(e)),
        Err(payload) => {
            host.log(
                Level::Error,
                &format!("create panicked: {}", panic_message(payload.as_ref())),
            );
            abi::WEIR_PANICKED
        }
    }
}

/// Runs `call` on a live, unpoisoned instance, poisoning it if `call` panics.
///
/// # Safety
/// `instance` must be null or what `create` stored for a `Slot<T>`, not destroyed, and not in
/// use by another call (ABI contract: calls on one instance never overlap).
unsafe fn with_instance<T>(
    instance: *mut c_void,
    name: &str,
    call: impl FnOnce(&mut T, &Host) -> WeirStatus,
) -> WeirStatus {
    if instance.is_null() {
        return abi::WEIR_INVALID_ARGUMENT;
    }
    let slot = instance.cast::<Slot<T>>();
    // SAFETY: per the caller, a live Slot<T> that nothing else is using.
    let (poisoned, host) = unsafe { ((*slot).poisoned, (*slot).host) };
    if poisoned {
        return abi::WEIR_PANICKED;
    }
    let _scope = logging::enter(host);
    // SAFETY: as above; the reference does not outlive the closure.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        call(unsafe { &mut (*slot).component }, &host)
    }));
    match outcome {
        Ok(status) => status,
        Err(payload) => {
            // SAFETY: as above; the closure and its borrow are gone.
            unsafe { (*slot).poisoned = true };
            host.log(
                Level::Error,
                &format!(
                    "{name} panicked: {}; the instance is poisoned and answers PANICKED from now on",
                    panic_message(payload.as_ref())
                ),
            );
            host.counter("panics", 1);
            abi::WEIR_PANICKED
        }
    }
}

/// # Safety
/// `instance` is what `create` stored, passed to `destroy` once, last.
unsafe fn destroy<T>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: per the caller, the Box `create` leaked, reclaimed exactly once.
    let slot = unsafe { Box::from_raw(instance.cast::<Slot<T>>()) };
    let host = slot.host;
    let _scope = logging::enter(host);
    if catch_unwind(AssertUnwindSafe(move || drop(slot))).is_err() {
        host.log(Level::Error, "dropping the instance panicked");
    }
}

fn signal_arg(signal: u32) -> Result<Signal, Error> {
    Signal::from_abi(signal)
        .ok_or_else(|| Error::InvalidArgument(format!("unknown signal {signal}")))
}

// ---- processors -------------------------------------------------------------------------------

pub(crate) unsafe extern "C" fn processor_create<P: Processor>(
    host: *const WeirHostV1,
    config: WeirStr,
    instance: *mut *mut c_void,
) -> WeirStatus {
    // SAFETY: called by the host with create's arguments.
    unsafe { create::<P, P::Config>(host, config, instance, P::create) }
}

/// The `consume` of the kinds that emit during it (processors, connectors).
///
/// # Safety
/// As [`with_instance`]; `data` must be valid for the call.
unsafe fn consume_emitting<T>(
    instance: *mut c_void,
    signal: u32,
    data: WeirBytes,
    name: &str,
    call: impl FnOnce(&mut T, Signal, &[u8], &Host) -> Result<(), Error>,
) -> WeirStatus {
    // SAFETY: per the caller.
    unsafe {
        with_instance::<T>(instance, name, |t, host| {
            let result = signal_arg(signal).and_then(|s| call(t, s, bytes_arg(data), host));
            match result {
                // FULL is backpressure, not a failure worth an error line.
                Err(Error::Full(_)) => abi::WEIR_FULL,
                other => report(host, name, other),
            }
        })
    }
}

/// The `shutdown` of the kinds that may emit what they hold (processors, connectors).
///
/// # Safety
/// As [`with_instance`].
unsafe fn shutdown_emitting<T>(
    instance: *mut c_void,
    call: impl FnOnce(&mut T, &Host) -> Result<(), Error>,
) -> WeirStatus {
    // SAFETY: per the caller.
    unsafe {
        with_instance::<T>(instance, "shutdown", |t, host| {
            report(host, "shutdown", call(t, host))
        })
    }
}

pub(crate) unsafe extern "C" fn processor_consume<P: Processor>(
    instance: *mut c_void,
    signal: u32,
    data: WeirBytes,
    _token: u64,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made and a buffer valid for the call.
    unsafe { consume_emitting::<P>(instance, signal, data, "process", P::process) }
}

pub(crate) unsafe extern "C" fn processor_shutdown<P: Processor>(
    instance: *mut c_void,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe { shutdown_emitting::<P>(instance, P::shutdown) }
}

pub(crate) unsafe extern "C" fn processor_destroy<P: Processor>(instance: *mut c_void) {
    // SAFETY: the host calls destroy once, last.
    unsafe { destroy::<P>(instance) }
}

// ---- exporters --------------------------------------------------------------------------------

pub(crate) unsafe extern "C" fn exporter_create<E: Exporter>(
    host: *const WeirHostV1,
    config: WeirStr,
    instance: *mut *mut c_void,
) -> WeirStatus {
    // SAFETY: called by the host with create's arguments.
    unsafe { create::<E, E::Config>(host, config, instance, E::create) }
}

pub(crate) unsafe extern "C" fn exporter_start<E: Exporter>(instance: *mut c_void) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe {
        with_instance::<E>(instance, "start", |e, host| {
            report(host, "start", e.start())
        })
    }
}

pub(crate) unsafe extern "C" fn exporter_consume<E: Exporter>(
    instance: *mut c_void,
    signal: u32,
    data: WeirBytes,
    token: u64,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made and a buffer valid for the call.
    unsafe {
        with_instance::<E>(instance, "export", |e, host| {
            let signal = match signal_arg(signal) {
                Ok(s) => s,
                Err(err) => return report(host, "export", Err(err)),
            };
            let (done, at_return) = Completion::new(*host, token);
            e.export(signal, bytes_arg(data), done);
            at_return.status()
        })
    }
}

pub(crate) unsafe extern "C" fn exporter_shutdown<E: Exporter>(
    instance: *mut c_void,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe {
        with_instance::<E>(instance, "shutdown", |e, host| {
            report(host, "shutdown", e.shutdown())
        })
    }
}

pub(crate) unsafe extern "C" fn exporter_destroy<E: Exporter>(instance: *mut c_void) {
    // SAFETY: the host calls destroy once, last.
    unsafe { destroy::<E>(instance) }
}

// ---- receivers --------------------------------------------------------------------------------

pub(crate) unsafe extern "C" fn receiver_create<R: Receiver>(
    host: *const WeirHostV1,
    config: WeirStr,
    instance: *mut *mut c_void,
) -> WeirStatus {
    // SAFETY: called by the host with create's arguments.
    unsafe { create::<R, R::Config>(host, config, instance, R::create) }
}

pub(crate) unsafe extern "C" fn receiver_start<R: Receiver>(instance: *mut c_void) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe {
        with_instance::<R>(instance, "start", |r, host| {
            report(host, "start", r.start())
        })
    }
}

pub(crate) unsafe extern "C" fn receiver_shutdown<R: Receiver>(
    instance: *mut c_void,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe {
        with_instance::<R>(instance, "shutdown", |r, host| {
            report(host, "shutdown", r.shutdown())
        })
    }
}

pub(crate) unsafe extern "C" fn receiver_destroy<R: Receiver>(instance: *mut c_void) {
    // SAFETY: the host calls destroy once, last.
    unsafe { destroy::<R>(instance) }
}

// ---- connectors -------------------------------------------------------------------------------

pub(crate) unsafe extern "C" fn connector_create<C: Connector>(
    host: *const WeirHostV1,
    config: WeirStr,
    instance: *mut *mut c_void,
) -> WeirStatus {
    // SAFETY: called by the host with create's arguments.
    unsafe { create::<C, C::Config>(host, config, instance, C::create) }
}

pub(crate) unsafe extern "C" fn connector_start<C: Connector>(instance: *mut c_void) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe {
        with_instance::<C>(instance, "start", |c, host| {
            report(host, "start", c.start())
        })
    }
}

pub(crate) unsafe extern "C" fn connector_consume<C: Connector>(
    instance: *mut c_void,
    signal: u32,
    data: WeirBytes,
    _token: u64,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made and a buffer valid for the call.
    unsafe { consume_emitting::<C>(instance, signal, data, "consume", C::consume) }
}

pub(crate) unsafe extern "C" fn connector_shutdown<C: Connector>(
    instance: *mut c_void,
) -> WeirStatus {
    // SAFETY: the host passes the instance create made.
    unsafe { shutdown_emitting::<C>(instance, C::shutdown) }
}

pub(crate) unsafe extern "C" fn connector_destroy<C: Connector>(instance: *mut c_void) {
    // SAFETY: the host calls destroy once, last.
    unsafe { destroy::<C>(instance) }
}
