//! The tailing thread: polls the tailer every `poll_interval`, turns each batch of records into
//! a request for the tokio side, applies the acknowledgements that come back, and saves the
//! tailer's state to the storage extension whenever an offset moved. Blocking file I/O stays
//! off tokio's workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use weir_core::component::KvStore;
use weir_tailer::{AckToken, CountersSnapshot, Flow, Tailer, TailerState};

use super::deliver::Outgoing;
use super::encode::Encoder;

/// The storage key of the tailer's state.
pub(crate) const STATE_KEY: &str = "weir.filelog.checkpoints";

/// What reaches the thread from the tokio side.
pub(crate) enum Wake {
    /// A batch was delivered.
    Ack(AckToken),
    /// Save and end.
    Stop,
}

/// The receiver's metrics, fed from the tailer's counters after each poll.
pub(crate) struct TailMetrics {
    pub lines_read: Arc<AtomicU64>,
    pub bytes_read: Arc<AtomicU64>,
    pub records_truncated: Arc<AtomicU64>,
    pub files_open: Arc<AtomicU64>,
    pub read_errors: Arc<AtomicU64>,
}

impl TailMetrics {
    fn update(&self, before: &mut CountersSnapshot, now: CountersSnapshot) {
        let add = |counter: &AtomicU64, then: u64, now: u64| {
            counter.fetch_add(now.saturating_sub(then), Ordering::Relaxed);
        };
        add(&self.lines_read, before.lines_read, now.lines_read);
        add(&self.bytes_read, before.bytes_read, now.bytes_read);
        add(
            &self.records_truncated,
            before.records_truncated,
            now.records_truncated,
        );
        add(&self.read_errors, before.read_errors, now.read_errors);
        self.files_open.store(now.files_open, Ordering::Relaxed);
        *before = now;
    }
}

pub(crate) struct Tail {
    pub id: String,
    pub tailer: Tailer,
    pub encoder: Encoder,
    pub poll_interval: Duration,
    pub store: Option<Arc<dyn KvStore>>,
    pub metrics: TailMetrics,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Tail {
    /// The state an earlier run saved, if any; a state that cannot be read is reported and
    /// started over (files are then read per `start_at`).
    pub(crate) fn restore(&mut self) {
        let Some(store) = &self.store else {
            return;
        };
        match store.get(STATE_KEY) {
            Ok(None) => {}
            Ok(Some(bytes)) => match TailerState::decode(&bytes) {
                Ok(state) => {
                    tracing::info!(receiver = %self.id, files = state.files.len(), "filelog resumes from its saved offsets");
                    self.tailer.restore(state);
                }
                Err(e) => {
                    tracing::error!(receiver = %self.id, error = %e, "filelog's saved offsets cannot be read; starting over");
                }
            },
            Err(e) => {
                tracing::error!(receiver = %self.id, error = %e, "filelog cannot read its saved offsets; starting over");
            }
        }
    }

    fn save(&self, saved: &mut u64) {
        let version = self.tailer.state_version();
        let Some(store) = &self.store else {
            return;
        };
        if version == *saved {
            return;
        }
        match store.set(STATE_KEY, &self.tailer.state().encode()) {
            Ok(()) => *saved = version,
            Err(e) => {
                tracing::warn!(receiver = %self.id, error = %e, "filelog could not save its offsets; will try again");
            }
        }
    }

    /// Applies every acknowledgement already waiting; false when told to stop.
    fn ack_pending(&mut self, wake: &Receiver<Wake>) -> bool {
        loop {
            match wake.try_recv() {
                Ok(Wake::Ack(token)) => self.tailer.ack(token),
                Ok(Wake::Stop) => return false,
                Err(_) => return true,
            }
        }
    }

    /// Runs until [`Wake::Stop`] (or the tokio side is gone), then saves a last time.
    pub(crate) fn run(mut self, requests: mpsc::Sender<Outgoing>, wake: Receiver<Wake>) {
        let counters = self.tailer.counters();
        let mut seen = CountersSnapshot::default();
        let mut saved = self.tailer.state_version();
        let mut open = true;
        'polls: loop {
            if open {
                let encoder = &self.encoder;
                let report = self.tailer.poll(|batch| {
                    let bytes = encoder.encode(batch.file(), batch.records(), now_ns());
                    let out = Outgoing {
                        token: batch.token(),
                        bytes,
                        items: batch.len(),
                    };
                    match requests.blocking_send(out) {
                        Ok(()) => Flow::Continue,
                        Err(_) => Flow::Stop,
                    }
                });
                if requests.is_closed() {
                    open = false;
                }
                for error in &report.errors {
                    tracing::warn!(receiver = %self.id, error = %error, "filelog cannot read a file; retrying at every poll");
                }
                self.metrics.update(&mut seen, counters.snapshot());
                self.save(&mut saved);
                if report.stopped && open {
                    // Held back by unacknowledged batches: go on as soon as one is delivered.
                    match wake.recv_timeout(self.poll_interval) {
                        Ok(Wake::Ack(token)) => {
                            self.tailer.ack(token);
                            if !self.ack_pending(&wake) {
                                break 'polls;
                            }
                            self.save(&mut saved);
                        }
                        Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => break 'polls,
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    continue;
                }
            }
            let deadline = Instant::now() + self.poll_interval;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match wake.recv_timeout(left) {
                    Ok(Wake::Ack(token)) => {
                        self.tailer.ack(token);
                        if !self.ack_pending(&wake) {
                            break 'polls;
                        }
                        // Saved as deliveries come, not only once per poll: a kill between
                        // delivery and save repeats what was delivered since the last save.
                        self.save(&mut saved);
                    }
                    Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => break 'polls,
                    Err(RecvTimeoutError::Timeout) => break,
                }
            }
        }
        while let Ok(Wake::Ack(token)) = wake.try_recv() {
            self.tailer.ack(token);
        }
        self.metrics.update(&mut seen, counters.snapshot());
        self.save(&mut saved);
    }
}
