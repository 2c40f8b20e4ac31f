//! Each plugin instance lives on a thread of its own, fed through a bounded queue: a slow or
//! blocking plugin stalls only the pipeline waiting on it, never tokio's workers. The thread
//! creates the instance, runs requests in order, and destroys it on `Shutdown` (or when the
//! [`Driver`] is dropped).
//!
//! The hand-off is built so that a batch's round trip costs little more than the ABI call
//! itself when batches keep coming, and nothing when they do not:
//!
//! - a request is a reusable [`Slot`] (command in, reply and emitted batches out, the caller's
//!   waker) taken from a per-instance free list: nothing is allocated per call once warm;
//! - the queue is a `VecDeque` of at most [`COMMAND_CAPACITY`] requests behind a mutex: when it
//!   is full, callers wait (backpressure) on a `Notify` the thread signals only when it makes
//!   room in a full queue, so the common path touches no semaphore;
//! - the thread is woken with `Thread::unpark` (an atomic swap, plus a futex wake only when the
//!   thread is really asleep) and takes every queued request before it sleeps again, so a burst
//!   (exporter consumers, several pipelines) costs one wake;
//! - replies come back through the slot's waker;
//! - both sides spin for at most [`SPIN`] before sleeping: the thread after it ran out of work,
//!   the caller on its first poll (only while the plugin's recent answers came within the spin).
//!   A futex wake and context switch costs ~8–20 µs each way on the 2-vCPU VM measured (the
//!   crossing benchmark's `floor`: a park/unpark round trip between two threads), and an idle
//!   vCPU takes longer to wake than a busy one; a batch that follows within the spin, or an
//!   answer that comes within it, skips both. Spins of 2–5 µs did not help there (shorter than
//!   the other side's wake-up, they expire before it answers); 20 µs brings an idle machine's
//!   round trip from ~50 µs to ~0.7 µs;
//! - spinning backs off when it stops paying ([`SpinGate`]): on a machine whose cores are all
//!   busy, a spinning thread steals time from the very thread it waits for (measured 5–40×
//!   slower than sleeping at once before the gate), and with sparse traffic the thread's spin
//!   after each batch would find nothing. After a miss, spins are tried every 2nd, 4th, ...
//!   64th time until one pays again. An idle instance costs no CPU; a busy one at most one
//!   bounded spin per batch.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Duration;

use tokio::sync::Notify;
use weir_plugin_abi::{self as abi, WeirStatus, status_name};

use super::instance::{HostContext, Instance, Outcome};
use super::library::EntryPoints;
use super::slot::{Answer, Command, Reply, Slot, SpinGate, spin_until};
use crate::batch::Batch;
use crate::component::Kind;

/// Requests waiting for the instance; the bound keeps a stuck plugin from queueing without
/// limit (callers then wait, which is backpressure).
const COMMAND_CAPACITY: usize = 64;

/// How long each side busy-waits before sleeping (see the module docs; measured by the
/// crossing benchmark's spin variants).
pub(crate) const SPIN: Duration = Duration::from_micros(20);

/// What the caller and the instance's thread share. The parts both sides write are kept on
/// cache lines of their own: the spinning thread reads the doorbell in a loop, and every write
/// to a line it reads costs the writer a round trip between cores.
struct Shared {
    queue: Padded<Mutex<Queue>>,
    doorbell: Padded<Doorbell>,
    /// Signalled when a full queue gets room, or closes.
    room: Notify,
    /// What only callers touch.
    callers: Padded<Callers>,
    /// How long each side spins at most before sleeping.
    spin: Duration,
}

struct Callers {
    /// Slots ready for reuse.
    free: Mutex<Vec<Arc<Slot>>>,
    /// Moving average of how long answers take once the instance's thread has taken the
    /// request, in nanoseconds (the plugin's own time: no queueing, no wake-up). A caller spins
    /// only while it is within the spin budget: waiting on a slow plugin sleeps at once.
    latency_ns: AtomicU64,
    /// Whether callers' spins have been paying off.
    gate: SpinGate,
}

/// What the waiting thread watches.
struct Doorbell {
    /// Requests queued so far (the thread counts those it took).
    posted: AtomicU64,
    /// Set when the [`Driver`] is dropped: the thread finishes what is queued and ends.
    hung_up: AtomicBool,
}

/// Aligned to two cache lines (x86 fetches lines in adjacent pairs).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

struct Queue {
    requests: VecDeque<(Command, Arc<Slot>)>,
    /// Set once the thread has ended: nothing more is queued.
    closed: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn new(spin: Duration) -> Shared {
        Shared {
            queue: Padded(Mutex::new(Queue {
                requests: VecDeque::with_capacity(COMMAND_CAPACITY),
                closed: false,
            })),
            doorbell: Padded(Doorbell {
                posted: AtomicU64::new(0),
                hung_up: AtomicBool::new(false),
            }),
            room: Notify::new(),
            callers: Padded(Callers {
                free: Mutex::new(Vec::new()),
                latency_ns: AtomicU64::new(0),
                gate: SpinGate::default(),
            }),
            spin,
        }
    }

    /// The next request, waking callers waiting for room if the queue was full.
    fn pop(&self) -> Option<(Command, Arc<Slot>)> {
        let mut queue = lock(&self.queue);
        let was_full = queue.requests.len() >= COMMAND_CAPACITY;
        let request = queue.requests.pop_front()?;
        drop(queue);
        if was_full {
            self.room.notify_waiters();
        }
        Some(request)
    }

    /// Whether requests beyond the `taken` first ones were posted, or the driver hung up.
    fn has_work(&self, taken: u64) -> bool {
        self.doorbell.posted.load(Ordering::SeqCst) != taken
            || self.doorbell.hung_up.load(Ordering::SeqCst)
    }

    fn hung_up(&self) -> bool {
        self.doorbell.hung_up.load(Ordering::SeqCst)
    }

    /// Spins for a while, then parks until a request (or the hang-up) arrives. A request
    /// posted between the last check and `park` has unparked the thread already, and `park`
    /// then returns at once.
    fn wait_for_work(&self, taken: u64, gate: &SpinGate) {
        if !self.spin.is_zero() && gate.should_spin() {
            let paid = spin_until(self.spin, || self.has_work(taken));
            gate.record(paid);
            if paid {
                return;
            }
        }
        while !self.has_work(taken) {
            std::thread::park();
        }
    }
}

/// Ends the queue when the thread ends, however it ends: later calls and everything still
/// queued are answered [`Reply::Gone`].
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        let mut queue = lock(&self.0.queue);
        queue.closed = true;
        let left = std::mem::take(&mut queue.requests);
        drop(queue);
        self.0.room.notify_waiters();
        for (_, slot) in left {
            slot.answer(Reply::Gone, None);
        }
    }
}

/// The tokio side of one instance's thread.
pub(crate) struct Driver {
    shared: Arc<Shared>,
    thread: Thread,
    ctx: Arc<HostContext>,
}

/// The instance has shut down (or its thread died).
#[derive(Debug)]
pub(crate) struct Gone;

impl Driver {
    /// Spawns the thread and creates the instance on it; returns once `create` has answered
    /// (blocking the caller for that long: creation happens once, at startup). For anything
    /// but receivers, `start` follows `create` at once.
    /// `spin` is how long each side busy-waits before sleeping ([`SPIN`] but in benchmarks).
    pub(crate) fn spawn(
        raw: EntryPoints,
        ctx: Arc<HostContext>,
        kind: Kind,
        config: String,
        spin: Duration,
    ) -> Result<Driver, String> {
        let shared = Arc::new(Shared::new(spin));
        let (created_tx, created_rx) = std::sync::mpsc::channel();
        let thread_ctx = ctx.clone();
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name(format!("plugin {}", ctx.id))
            .spawn(move || {
                let closer = Closer(thread_shared);
                let mut instance = match Instance::create(raw, thread_ctx, &config) {
                    Ok(instance) => instance,
                    Err(e) => {
                        let _ = created_tx.send(Err(e));
                        return;
                    }
                };
                if kind != Kind::Receiver {
                    let status = instance.start();
                    if status != abi::WEIR_OK {
                        let _ =
                            created_tx.send(Err(format!("start answered {}", status_name(status))));
                        return;
                    }
                }
                let _ = created_tx.send(Ok(()));
                run(instance, &closer.0);
            })
            .map_err(|e| format!("cannot spawn the instance's thread: {e}"))?;
        let thread = handle.thread().clone();
        match created_rx.recv() {
            Ok(Ok(())) => Ok(Driver {
                shared,
                thread,
                ctx,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the instance's thread ended during create".into()),
        }
    }

    pub(crate) fn context(&self) -> &Arc<HostContext> {
        &self.ctx
    }

    /// Queues `command` and waits for its reply; `out` receives what the instance emitted when
    /// `keep` accepts the reply.
    async fn call(
        &self,
        command: Command,
        out: Option<&mut Vec<Batch>>,
        keep: fn(&Reply) -> bool,
    ) -> Result<Reply, Gone> {
        let callers = &self.shared.callers;
        let slot = lock(&callers.free).pop().unwrap_or_default();
        let mut command = Some(command);
        loop {
            // Created before the check, so a signal between the check and the wait counts.
            let room = self.shared.room.notified();
            {
                let mut queue = lock(&self.shared.queue);
                if queue.closed {
                    return Err(Gone);
                }
                if queue.requests.len() < COMMAND_CAPACITY {
                    if let Some(command) = command.take() {
                        queue.requests.push_back((command, slot.clone()));
                        // Under the lock, so the thread never takes more than was posted.
                        self.shared.doorbell.posted.fetch_add(1, Ordering::SeqCst);
                    }
                    break;
                }
            }
            // Full: waiting for room is the backpressure of a bounded channel.
            room.await;
        }
        self.thread.unpark();
        let expected = Duration::from_nanos(callers.latency_ns.load(Ordering::Relaxed));
        let spin = if expected <= self.shared.spin && callers.gate.should_spin() {
            self.shared.spin
        } else {
            Duration::ZERO
        };
        // Recycled only once answered: if this future is dropped first, the thread (or a later
        // `complete`) still holds the slot and answers it into the void.
        let (reply, latency, spun) = Answer {
            slot: &slot,
            out,
            keep,
            spin,
            spun: None,
        }
        .await;
        lock(&callers.free).push(slot);
        if let Some(paid) = spun {
            callers.gate.record(paid);
        }
        // An average over the last eight or so calls; races between concurrent callers lose
        // an update at worst.
        let latency = latency.as_nanos().min(u128::from(u64::MAX / 8)) as u64;
        let average = callers.latency_ns.load(Ordering::Relaxed);
        callers
            .latency_ns
            .store((average * 7 + latency) / 8, Ordering::Relaxed);
        match reply {
            Reply::Gone => Err(Gone),
            reply => Ok(reply),
        }
    }

    pub(crate) async fn start(&self) -> Result<WeirStatus, Gone> {
        match self.call(Command::Start, None, |_| false).await? {
            Reply::Status(status) => Ok(status),
            _ => Err(Gone),
        }
    }

    /// Processes one batch; what the instance emitted is appended to `out` only when it
    /// answered `OK` (the same batch is offered again after `FULL`, and passing both on would
    /// duplicate it). Returns the status and the batch, unless the instance passed it on whole
    /// (it is always returned after a failure).
    pub(crate) async fn process(
        &self,
        batch: Batch,
        out: &mut Vec<Batch>,
    ) -> Result<(WeirStatus, Option<Batch>), Gone> {
        let keep = |reply: &Reply| matches!(reply, Reply::Processed(abi::WEIR_OK, _));
        match self.call(Command::Process(batch), Some(out), keep).await? {
            Reply::Processed(status, batch) => Ok((status, batch)),
            _ => Err(Gone),
        }
    }

    pub(crate) async fn export(&self, batch: Batch, token: u64) -> Result<Outcome, Gone> {
        match self
            .call(Command::Export(batch, token), None, |_| false)
            .await?
        {
            Reply::Outcome(outcome) => Ok(outcome),
            _ => Err(Gone),
        }
    }

    /// Shuts the instance down and destroys it; what a processor emitted while shutting down
    /// is appended to `out` whatever the status.
    pub(crate) async fn shutdown(&self, out: &mut Vec<Batch>) -> Result<WeirStatus, Gone> {
        match self.call(Command::Shutdown, Some(out), |_| true).await? {
            Reply::Status(status) => Ok(status),
            _ => Err(Gone),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shared.doorbell.hung_up.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// The thread's loop: every queued request in order, then wait for more.
fn run(mut instance: Instance, shared: &Shared) {
    // Reused for every call, so emitted batches cost no allocation once warm.
    let mut emitted = Vec::new();
    // Requests taken so far, compared with those posted.
    let mut taken = 0u64;
    let gate = SpinGate::default();
    loop {
        let Some((command, slot)) = shared.pop() else {
            if shared.hung_up() {
                break;
            }
            shared.wait_for_work(taken, &gate);
            continue;
        };
        taken += 1;
        slot.mark_started();
        let shutdown = matches!(command, Command::Shutdown);
        let ran = catch_unwind(AssertUnwindSafe(|| {
            execute(&mut instance, command, &slot, &mut emitted)
        }));
        if ran.is_err() {
            // A bug on the host side: this instance cannot be trusted to continue.
            tracing::error!(plugin = %instance.context().id, "the host side of a plugin call panicked; the instance is shut down");
            slot.answer(Reply::Gone, None);
            emitted.clear();
            break;
        }
        if shutdown {
            return;
        }
    }
    // The driver is gone without a Shutdown (the component was dropped), or a call went
    // wrong: shut down and destroy anyway, on this thread as always.
    drop(instance);
}

fn execute(instance: &mut Instance, command: Command, slot: &Arc<Slot>, emitted: &mut Vec<Batch>) {
    match command {
        Command::Start => slot.answer(Reply::Status(instance.start()), None),
        Command::Process(batch) => {
            let token = instance.next_token();
            let (status, input) = instance.consume_owned(batch, token, emitted);
            slot.answer(Reply::Processed(status, input), Some(emitted));
        }
        Command::Export(batch, token) => export(instance, batch, token, slot),
        Command::Shutdown => {
            let status = instance.shutdown_into(emitted);
            // Destroyed before answering, so that the host's shutdown has really finished
            // with the plugin when it returns. The instance is replaced by nothing: `run`
            // returns right after.
            instance.destroy();
            slot.answer(Reply::Status(status), Some(emitted));
        }
    }
}

fn export(instance: &mut Instance, batch: Batch, token: u64, slot: &Arc<Slot>) {
    let ctx = instance.context().clone();
    // Registered first: the plugin may complete from another thread before `consume` has
    // even returned.
    ctx.await_outcome(token, slot);
    let mut ignored = Vec::new();
    let (status, _) = instance.consume_owned(batch, token, &mut ignored);
    if status == abi::WEIR_PENDING {
        return;
    }
    if let Some(slot) = ctx.take_pending(token) {
        let (retry_after, message) = ctx.take_answer_detail(token);
        let message = message.or_else(|| ctx.last_error()).unwrap_or_default();
        slot.answer(
            Reply::Outcome(Outcome {
                status,
                retry_after,
                message,
            }),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::c_void;
    use std::sync::atomic::AtomicUsize;

    use weir_plugin_abi::{WeirBytes, WeirComponentV1, WeirHostV1, WeirStr};

    use super::*;
    use crate::batch::Signal;

    /// Opened by the test: until then the processor's `consume` holds its thread.
    static GATE: AtomicBool = AtomicBool::new(false);
    static ENTERED: AtomicBool = AtomicBool::new(false);
    static CONSUMED: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn create(
        _: *const WeirHostV1,
        _: WeirStr,
        instance: *mut *mut c_void,
    ) -> WeirStatus {
        // SAFETY: the host passes a valid out-pointer.
        unsafe { *instance = std::ptr::null_mut() };
        abi::WEIR_OK
    }

    unsafe extern "C" fn consume(_: *mut c_void, _: u32, _: WeirBytes, _: u64) -> WeirStatus {
        ENTERED.store(true, Ordering::SeqCst);
        while !GATE.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        CONSUMED.fetch_add(1, Ordering::SeqCst);
        abi::WEIR_OK
    }

    unsafe extern "C" fn destroy(_: *mut c_void) {}

    fn gated_processor() -> Driver {
        let raw = WeirComponentV1 {
            struct_size: std::mem::size_of::<WeirComponentV1>() as u32,
            kind: abi::WEIR_KIND_PROCESSOR,
            signals: abi::WEIR_SIGNAL_TRACES,
            reserved: 0,
            type_name: WeirStr {
                ptr: "gate".as_ptr(),
                len: 4,
            },
            config_schema: WeirStr {
                ptr: "{}".as_ptr(),
                len: 2,
            },
            create: Some(create),
            start: None,
            consume: Some(consume),
            shutdown: None,
            destroy: Some(destroy),
            pairs: 0,
            reserved2: 0,
        };
        let ctx = HostContext::new(
            "gate".parse().unwrap(),
            Kind::Processor,
            Some(Signal::Traces),
            &[],
            "gate",
            "driver-test",
        );
        Driver::spawn(
            EntryPoints(raw),
            ctx,
            Kind::Processor,
            "{}".into(),
            Duration::ZERO,
        )
        .unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_makes_callers_wait_and_a_shutdown_ends_the_instance() {
        let driver = gated_processor();
        let batch =
            Batch::from_encoded(Signal::Traces, bytes::Bytes::new(), Default::default()).unwrap();
        let mut outs: Vec<Vec<Batch>> = (0..COMMAND_CAPACITY + 2).map(|_| Vec::new()).collect();
        let mut calls: Vec<_> = outs
            .iter_mut()
            .map(|out| Box::pin(driver.process(batch.clone(), out)))
            .collect();
        // The first request is taken by the thread, which the gate then holds.
        assert!(futures::poll!(calls[0].as_mut()).is_pending());
        while !ENTERED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        for call in &mut calls[1..=COMMAND_CAPACITY] {
            assert!(futures::poll!(call.as_mut()).is_pending());
        }
        let queued = || lock(&driver.shared.queue).requests.len();
        assert_eq!(queued(), COMMAND_CAPACITY);
        // One more has no room: it waits without queueing.
        assert!(futures::poll!(calls[COMMAND_CAPACITY + 1].as_mut()).is_pending());
        assert_eq!(queued(), COMMAND_CAPACITY);
        GATE.store(true, Ordering::SeqCst);
        for call in calls {
            let (status, input) = call.await.unwrap();
            assert_eq!(status, abi::WEIR_OK);
            assert!(
                input.is_some(),
                "nothing was emitted, so the batch comes back"
            );
        }
        assert_eq!(CONSUMED.load(Ordering::SeqCst), COMMAND_CAPACITY + 2);
        assert!(outs.iter().all(Vec::is_empty));

        assert_eq!(
            driver.shutdown(&mut Vec::new()).await.unwrap(),
            abi::WEIR_OK
        );
        let mut out = Vec::new();
        assert!(driver.process(batch, &mut out).await.is_err(), "gone");
    }
}
