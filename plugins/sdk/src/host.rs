//! The instance's view of Weir: the host vtable behind a safe, cloneable handle, and the
//! completion of an asynchronous export.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::abi::{self, WeirBytes, WeirHostV1, WeirStatus, WeirStr};
use crate::{Error, Signal};

/// Log levels, as the ABI numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Errors.
    Error = 1,
    /// Warnings.
    Warn = 2,
    /// Information.
    Info = 3,
    /// Debugging.
    Debug = 4,
    /// Tracing.
    Trace = 5,
}

/// Weir, as one instance sees it. Cheap to clone; usable from any thread until the instance is
/// destroyed (so threads a plugin spawns must be joined in `shutdown`).
#[derive(Clone, Copy)]
pub struct Host {
    vtable: WeirHostV1,
}

// SAFETY: the ABI makes every host function callable from any thread, with `ctx`, until the
// instance's `destroy` returns; the handle holds nothing else.
unsafe impl Send for Host {}
// SAFETY: as above; the handle is never mutated.
unsafe impl Sync for Host {}

pub(crate) fn str_of(text: &str) -> WeirStr {
    WeirStr {
        ptr: text.as_ptr(),
        len: text.len(),
    }
}

impl Host {
    /// Wraps the vtable given to `create`, if it is one this SDK understands.
    ///
    /// # Safety
    /// `vtable` must point to a host vtable valid for the call, whose functions and `ctx` stay
    /// valid until the instance is destroyed.
    pub(crate) unsafe fn from_raw(vtable: *const WeirHostV1) -> Result<Host, Error> {
        if vtable.is_null() {
            return Err(Error::InvalidArgument("null host vtable".into()));
        }
        // SAFETY: non-null and valid for reads per the caller; the size is checked before any
        // other field is read.
        let size = unsafe { (*vtable).struct_size } as usize;
        if size < abi::WEIR_HOST_V1_0_SIZE as usize {
            return Err(Error::InvalidArgument(format!(
                "host vtable of {size} bytes is shorter than ABI 1.0's"
            )));
        }
        // Fields a later minor appended are read only when the host's struct has them.
        let has = |offset: usize, len: usize| size >= offset + len;
        let answer_at = std::mem::offset_of!(WeirHostV1, answer);
        // SAFETY: the host's struct is `size` bytes long, per the caller; each field is read
        // through the raw pointer (no reference to the whole struct is made) and only when it
        // lies within those bytes. 1.0's fields do, per the check above.
        let vtable = unsafe {
            WeirHostV1 {
                struct_size: (*vtable).struct_size,
                max_log_level: (*vtable).max_log_level,
                ctx: (*vtable).ctx,
                log: (*vtable).log,
                emit: (*vtable).emit,
                complete: (*vtable).complete,
                counter_add: (*vtable).counter_add,
                answer: if has(answer_at, std::mem::size_of::<usize>()) {
                    (*vtable).answer
                } else {
                    None
                },
            }
        };
        Ok(Host { vtable })
    }

    /// The most verbose level Weir records.
    pub fn max_log_level(&self) -> u32 {
        self.vtable.max_log_level
    }

    /// Writes a line into Weir's log, tagged with the instance's component id.
    pub fn log(&self, level: Level, message: &str) {
        if level as u32 > self.vtable.max_log_level {
            return;
        }
        // SAFETY: the vtable is valid until destroy (type invariant); the message is borrowed
        // for the call only.
        unsafe { (self.vtable.log)(self.vtable.ctx, level as u32, str_of(message)) }
    }

    /// Hands a batch (OTLP protobuf bytes of `signal`) to the pipeline. A receiver's `emit`
    /// blocks while the pipeline admits it; [`Error::Full`] means it was refused for now.
    pub fn emit(&self, signal: Signal, data: &[u8]) -> Result<(), Error> {
        let bytes = WeirBytes {
            ptr: data.as_ptr(),
            len: data.len(),
        };
        // SAFETY: the vtable is valid until destroy (type invariant); `data` is borrowed for
        // the call only.
        let status = unsafe { (self.vtable.emit)(self.vtable.ctx, signal.to_abi(), bytes) };
        match Error::from_status(status, "emit refused") {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Adds `value` to this instance's counter `name` (letters, digits, `_`).
    pub fn counter(&self, name: &str, value: u64) {
        // SAFETY: as in `log`.
        unsafe { (self.vtable.counter_add)(self.vtable.ctx, str_of(name), value) }
    }

    /// Gives the retry delay and message of the status the `consume` of `token` is about to
    /// return at once, if Weir is recent enough to take them (ABI 1.1); returns whether it was.
    pub(crate) fn answer(&self, token: u64, retry_after: Option<Duration>, message: &str) -> bool {
        let Some(answer) = self.vtable.answer else {
            return false;
        };
        let millis = retry_after.map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64);
        // SAFETY: as in `log`; present per the host's struct size (checked in `from_raw`).
        unsafe { answer(self.vtable.ctx, token, millis, str_of(message)) };
        true
    }

    pub(crate) fn complete(
        &self,
        token: u64,
        status: WeirStatus,
        retry_after: Option<Duration>,
        message: &str,
    ) {
        let millis = retry_after.map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64);
        // SAFETY: as in `log`.
        unsafe { (self.vtable.complete)(self.vtable.ctx, token, status, millis, str_of(message)) }
    }
}

/// Where an export's outcome goes: answered at once if [`Completion::complete`] is called
/// before `export` returns, through the host's `complete` otherwise. Dropping it without
/// completing reports a retryable failure, so a lost completion never leaves a batch hanging.
pub struct Completion {
    state: Arc<Mutex<CompletionState>>,
    host: Host,
    token: u64,
    done: bool,
}

type Outcome = (WeirStatus, Option<Duration>, String);

enum CompletionState {
    /// `export` has not returned yet and nothing is known.
    Waiting,
    /// Completed before `export` returned: the status is its return value.
    Early(Outcome),
    /// `export` returned `PENDING`: the outcome goes through the host.
    Returned,
}

/// The shim's side of a [`Completion`]: turns the state at return into the call's status.
pub(crate) struct CompletionReturn {
    state: Arc<Mutex<CompletionState>>,
    host: Host,
    token: u64,
}

impl CompletionReturn {
    /// The status `consume` answers: the early outcome, or `PENDING`. An early failure's retry
    /// delay and message go with it through the host's `answer` (ABI 1.1); an older Weir gets
    /// the message as a warning (which it uses as the failure's message) and no delay.
    pub(crate) fn status(self) -> WeirStatus {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match std::mem::replace(&mut *state, CompletionState::Returned) {
            CompletionState::Early((status, retry_after, message)) => {
                drop(state);
                if status != abi::WEIR_OK
                    && (retry_after.is_some() || !message.is_empty())
                    && !self.host.answer(self.token, retry_after, &message)
                    && !message.is_empty()
                {
                    self.host.log(Level::Warn, &message);
                }
                status
            }
            CompletionState::Waiting | CompletionState::Returned => abi::WEIR_PENDING,
        }
    }
}

impl Completion {
    pub(crate) fn new(host: Host, token: u64) -> (Completion, CompletionReturn) {
        let state = Arc::new(Mutex::new(CompletionState::Waiting));
        (
            Completion {
                state: state.clone(),
                host,
                token,
                done: false,
            },
            CompletionReturn { state, host, token },
        )
    }

    /// Reports the outcome of the export.
    pub fn complete(mut self, result: Result<(), Error>) {
        self.finish(result);
    }

    fn finish(&mut self, result: Result<(), Error>) {
        self.done = true;
        let outcome = match result {
            Ok(()) => (abi::WEIR_OK, None, String::new()),
            Err(e) => {
                let retry_after = match &e {
                    Error::Retryable { retry_after, .. } => *retry_after,
                    _ => None,
                };
                (e.status(), retry_after, e.to_string())
            }
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &*state {
            CompletionState::Waiting => *state = CompletionState::Early(outcome),
            CompletionState::Returned => {
                drop(state);
                self.host
                    .complete(self.token, outcome.0, outcome.1, &outcome.2);
            }
            CompletionState::Early(_) => {}
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Err(Error::retryable(
                "the plugin dropped the export without reporting an outcome",
            )));
        }
    }
}
