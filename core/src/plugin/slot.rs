//! The reusable rendezvous between a caller on tokio and an instance's thread: for one request
//! (a [`Command`], queued beside the slot), one [`Reply`] comes back, with the batches a
//! processor emitted. A
//! slot is recycled after each call, so the hand-off allocates nothing once warm (no boxed
//! closure, no oneshot channel per call); the waker it keeps plays the part of an
//! `AtomicWaker`, guarded by the slot's own (uncontended) lock.
//!
//! The answering side (the instance's thread, or whichever thread the plugin calls `complete`
//! from) sets the reply under the lock, raises [`Slot::is_answered`]'s flag, and wakes the
//! caller after releasing the lock. The caller may spin on that flag for a few microseconds
//! before registering its waker (see [`super::driver`] for when that pays).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use weir_plugin_abi::WeirStatus;

use super::instance::Outcome;
use crate::batch::Batch;

/// What an instance's thread is asked to do.
pub(crate) enum Command {
    /// `start` (receivers; others start right after `create`).
    Start,
    /// A processor's batch.
    Process(Batch),
    /// An exporter's batch, with the token of its `consume`.
    Export(Batch, u64),
    /// `shutdown`, then `destroy`; the thread ends after answering.
    Shutdown,
}

/// What comes back.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The status of `start` or `shutdown`; a processor's batches are in the slot.
    Status(WeirStatus),
    /// A processor's `consume`: its status, and the input batch unless it was passed on whole
    /// (always there after a failure, to be offered again); the emitted batches are in the
    /// slot.
    Processed(WeirStatus, Option<Batch>),
    /// An exporter's outcome, from `consume` or a later `complete`.
    Outcome(Outcome),
    /// The instance is gone (shut down, or its thread ended) without answering.
    Gone,
}

#[derive(Default)]
struct State {
    /// When the instance's thread took the request, and how long after that it was answered:
    /// the instance's own time, without queueing or anyone's wake-up.
    started: Option<Instant>,
    latency: Duration,
    reply: Option<Reply>,
    /// Batches a processor emitted during the call; the vector keeps its capacity across calls.
    emitted: Vec<Batch>,
    waker: Option<Waker>,
}

/// One call's rendezvous.
#[derive(Default)]
pub(crate) struct Slot {
    /// Raised once `reply` is set: read without the lock by a spinning caller.
    answered: AtomicBool,
    state: Mutex<State>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes when the instance's thread takes the request, to measure how long answers take.
    pub(crate) fn mark_started(&self) {
        self.lock().started = Some(Instant::now());
    }

    /// Whether the reply is there.
    pub(crate) fn is_answered(&self) -> bool {
        self.answered.load(Ordering::Acquire)
    }

    /// Sets the reply, with the batches emitted (moved out of `emitted`, which keeps its
    /// capacity), and wakes the caller. Only the first answer counts.
    pub(crate) fn answer(&self, reply: Reply, emitted: Option<&mut Vec<Batch>>) {
        let mut state = self.lock();
        if state.reply.is_some() {
            return;
        }
        if let Some(emitted) = emitted {
            state.emitted.append(emitted);
        }
        state.latency = state
            .started
            .take()
            .map(|t| t.elapsed())
            .unwrap_or_default();
        state.reply = Some(reply);
        self.answered.store(true, Ordering::Release);
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes the reply if there is one, appending the emitted batches to `out` when `keep`
    /// says so for this reply (they are dropped otherwise), and readies the slot for reuse.
    /// Also returns how long the answer took after the instance's thread took the request.
    fn take(
        &self,
        out: Option<&mut Vec<Batch>>,
        keep: fn(&Reply) -> bool,
    ) -> Option<(Reply, Duration)> {
        let mut state = self.lock();
        let reply = state.reply.take()?;
        match out {
            Some(out) if keep(&reply) => out.append(&mut state.emitted),
            _ => state.emitted.clear(),
        }
        state.waker = None;
        state.started = None;
        self.answered.store(false, Ordering::Relaxed);
        Some((reply, state.latency))
    }

    /// Registers the caller's waker unless the reply is already there.
    fn register(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if state.reply.is_some() {
            return false;
        }
        match &state.waker {
            Some(current) if current.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
        true
    }
}

/// Waits for a slot's reply: spins up to `spin` on the first poll, then sleeps on the waker.
/// Yields the reply, how long it took after the instance's thread took the request, and
/// whether the spin paid off (`None`: no spin).
pub(crate) struct Answer<'a> {
    pub(crate) slot: &'a Arc<Slot>,
    pub(crate) out: Option<&'a mut Vec<Batch>>,
    pub(crate) keep: fn(&Reply) -> bool,
    pub(crate) spin: Duration,
    pub(crate) spun: Option<bool>,
}

/// What an [`Answer`] yields.
pub(crate) type Answered = (Reply, Duration, Option<bool>);

impl Future for Answer<'_> {
    type Output = Answered;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answered> {
        let this = self.get_mut();
        if !this.spin.is_zero() {
            let paid = this.slot.is_answered() || spin_until(this.spin, || this.slot.is_answered());
            this.spun = Some(paid);
            // Spin once per call: a later poll comes from a wake, when the reply is there.
            this.spin = Duration::ZERO;
        }
        loop {
            if let Some((reply, latency)) = this.slot.take(this.out.as_deref_mut(), this.keep) {
                return Poll::Ready((reply, latency, this.spun));
            }
            if this.slot.register(cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

/// Whether spinning has been paying off, for one side of a hand-off. After a spin that found
/// nothing, the next ones are tried only every 2nd, 4th, ... 64th time, until one pays again:
/// when every core is busy, a spinning thread steals time from the very thread it waits for
/// (measured: 5–40× slower than sleeping at once), and traffic too sparse for spinning to help
/// then costs a probe now and then instead of a spin per batch.
#[derive(Default)]
pub(crate) struct SpinGate {
    misses: AtomicU32,
    turns: AtomicU32,
}

impl SpinGate {
    /// At most one spin in this many after misses.
    const MAX_BACKOFF_LOG2: u32 = 6;

    pub(crate) fn should_spin(&self) -> bool {
        let misses = self.misses.load(Ordering::Relaxed);
        if misses == 0 {
            return true;
        }
        let turn = self.turns.fetch_add(1, Ordering::Relaxed);
        turn.is_multiple_of(1 << misses.min(Self::MAX_BACKOFF_LOG2))
    }

    pub(crate) fn record(&self, paid: bool) {
        if paid {
            self.misses.store(0, Ordering::Relaxed);
        } else {
            let misses = self.misses.load(Ordering::Relaxed);
            self.misses
                .store((misses + 1).min(Self::MAX_BACKOFF_LOG2), Ordering::Relaxed);
        }
    }
}

/// Busy-waits until `done` or `budget` has passed; returns whether `done` held.
pub(crate) fn spin_until(budget: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= budget {
            return done();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_op_waker() -> Waker {
        Waker::noop().clone()
    }

    #[test]
    fn a_reply_set_before_the_first_poll_is_taken_and_the_slot_reset() {
        let slot = Arc::new(Slot::default());
        slot.answer(Reply::Status(7), None);
        // A second answer (a late `complete`) never replaces the first.
        slot.answer(Reply::Status(8), None);
        let mut answer = Answer {
            slot: &slot,
            out: None,
            keep: |_| true,
            spin: Duration::ZERO,
            spun: None,
        };
        let waker = no_op_waker();
        let mut cx = Context::from_waker(&waker);
        match Pin::new(&mut answer).poll(&mut cx) {
            Poll::Ready((Reply::Status(7), _, None)) => {}
            other => panic!("{other:?}"),
        }
        assert!(!slot.is_answered(), "reset for reuse");
        assert!(slot.take(None, |_| true).is_none());
    }

    #[test]
    fn the_waker_registered_while_waiting_is_woken_by_the_answer() {
        use std::sync::atomic::AtomicUsize;
        use std::task::Wake;
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let slot = Arc::new(Slot::default());
        let mut out = Vec::new();
        {
            let mut answer = Answer {
                slot: &slot,
                out: Some(&mut out),
                keep: |reply| matches!(reply, Reply::Status(0)),
                spin: Duration::from_micros(1),
                spun: None,
            };
            assert!(Pin::new(&mut answer).poll(&mut cx).is_pending());
            assert_eq!(answer.spun, Some(false), "nobody answered during the spin");
            assert_eq!(count.0.load(Ordering::SeqCst), 0);
            let batch = Batch::from_encoded(
                crate::batch::Signal::Logs,
                bytes::Bytes::new(),
                Default::default(),
            )
            .unwrap();
            let mut emitted = vec![batch.clone(), batch];
            slot.answer(Reply::Status(0), Some(&mut emitted));
            assert!(emitted.is_empty());
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
            assert!(Pin::new(&mut answer).poll(&mut cx).is_ready());
        }
        assert_eq!(out.len(), 2, "kept: the reply is OK");
    }

    #[test]
    fn emitted_batches_are_dropped_when_the_reply_says_so() {
        let slot = Slot::default();
        let batch = Batch::from_encoded(
            crate::batch::Signal::Logs,
            bytes::Bytes::new(),
            Default::default(),
        )
        .unwrap();
        slot.answer(Reply::Status(2), Some(&mut vec![batch]));
        let mut out = Vec::new();
        let reply = slot.take(Some(&mut out), |r| matches!(r, Reply::Status(0)));
        assert!(matches!(reply, Some((Reply::Status(2), _))));
        assert!(out.is_empty());
        assert!(slot.lock().emitted.is_empty());
    }

    #[test]
    fn spinning_backs_off_after_misses_and_resumes_when_it_pays() {
        let gate = SpinGate::default();
        assert!((0..10).all(|_| gate.should_spin()));
        gate.record(false);
        let tried = |gate: &SpinGate, n| (0..n).filter(|_| gate.should_spin()).count();
        assert_eq!(tried(&gate, 64), 32, "every 2nd after one miss");
        for _ in 0..10 {
            gate.record(false);
        }
        assert_eq!(tried(&gate, 640), 10, "every 64th at most");
        gate.record(true);
        assert_eq!(tried(&gate, 10), 10);
    }
}
