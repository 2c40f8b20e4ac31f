//! The tailing thread: polls the tailer every `poll_interval`, turns each batch of records into
//! a request for the tokio side (straight to protobuf, or through the operators), applies the
//! deliveries that come back, and saves the tailer's state to the storage extension whenever an
//! offset moved. Blocking file I/O stays off tokio's workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use weir_core::component::KvStore;
use weir_tailer::{AckToken, Batch, CountersSnapshot, Flow, Tailer, TailerState};

use super::deliver::Outgoing;
use super::encode::Encoder;
use super::ledger::Ledger;
use super::operators::{Made, Operators};

/// The storage key of the tailer's state.
pub(crate) const STATE_KEY: &str = "weir.filelog.checkpoints";

/// What reaches the thread from the tokio side.
pub(crate) enum Wake {
    /// A request was delivered (or given up on).
    Delivered(u64),
    /// Stop reading, hand over what the operators hold, and close the way to the tokio side.
    Finish,
    /// Save and end.
    Stop,
}

/// How records become requests.
pub(crate) enum Converter {
    /// No operators: records straight to protobuf, one request per tailer batch.
    Plain(Encoder),
    /// Through the stanza operators.
    Operators(Box<Operators>),
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
    pub converter: Converter,
    pub poll_interval: Duration,
    pub store: Option<Arc<dyn KvStore>>,
    pub metrics: TailMetrics,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What the thread keeps besides the tailer.
struct Books {
    ledger: Ledger<AckToken>,
    saved: u64,
}

/// Makes the request(s) of one tailer batch and hands them over; false when the tokio side is
/// gone.
fn hand_over(
    converter: &mut Converter,
    ledger: &mut Ledger<AckToken>,
    requests: &mpsc::Sender<Outgoing>,
    batch: Batch,
) -> bool {
    let tag = ledger.read(batch.token());
    let made = match converter {
        Converter::Plain(encoder) => Some(Made {
            bytes: encoder.encode(batch.file(), batch.records(), now_ns()),
            items: batch.len(),
            origins: vec![(tag, tag)],
        }),
        Converter::Operators(operators) => {
            let entries = operators.entries(&batch, tag, now_ns() as i64);
            operators.run(entries, Instant::now())
        }
    };
    match made {
        Some(made) => send(ledger, requests, made),
        None => true,
    }
}

fn send(ledger: &mut Ledger<AckToken>, requests: &mpsc::Sender<Outgoing>, made: Made) -> bool {
    let request = ledger.request(made.origins);
    requests
        .blocking_send(Outgoing {
            request,
            bytes: made.bytes,
            items: made.items,
        })
        .is_ok()
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

    fn save(&self, books: &mut Books) {
        let version = self.tailer.state_version();
        let Some(store) = &self.store else {
            return;
        };
        if version == books.saved {
            return;
        }
        match store.set(STATE_KEY, &self.tailer.state().encode()) {
            Ok(()) => books.saved = version,
            Err(e) => {
                tracing::warn!(receiver = %self.id, error = %e, "filelog could not save its offsets; will try again");
            }
        }
    }

    /// Acknowledges to the tailer every read nothing undelivered holds any more, and saves
    /// when an offset moved.
    fn release(&mut self, books: &mut Books) {
        let held_from = match &self.converter {
            Converter::Plain(_) => None,
            Converter::Operators(operators) => operators.held_from(),
        };
        for token in books.ledger.releasable(held_from) {
            self.tailer.ack(token);
        }
        self.save(books);
    }

    /// Applies a delivery and every other one already waiting; returns a finish or stop met
    /// on the way.
    fn delivered(&mut self, books: &mut Books, first: u64, wake: &Receiver<Wake>) -> Option<Wake> {
        books.ledger.delivered(first);
        let mut met = None;
        loop {
            match wake.try_recv() {
                Ok(Wake::Delivered(request)) => books.ledger.delivered(request),
                Ok(other) => {
                    met = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        // Saved as deliveries come, not only once per poll: a kill between delivery and save
        // repeats what was delivered since the last save.
        self.release(books);
        met
    }

    /// Hands over what the operators still hold, then applies deliveries until told to stop.
    fn finish(
        &mut self,
        books: &mut Books,
        requests: mpsc::Sender<Outgoing>,
        wake: &Receiver<Wake>,
    ) {
        if let Converter::Operators(operators) = &mut self.converter
            && let Some(made) = operators.flush(Instant::now(), true)
        {
            let _ = send(&mut books.ledger, &requests, made);
        }
        drop(requests);
        self.release(books);
        loop {
            match wake.recv() {
                Ok(Wake::Delivered(request)) => {
                    if let Some(Wake::Stop) = self.delivered(books, request, wake) {
                        return;
                    }
                }
                Ok(Wake::Finish) => {}
                Ok(Wake::Stop) | Err(_) => return,
            }
        }
    }

    /// Sends what `recombine` held past its flush period.
    fn flush_due(&mut self, books: &mut Books, requests: &mpsc::Sender<Outgoing>) {
        if let Converter::Operators(operators) = &mut self.converter
            && operators
                .next_deadline()
                .is_some_and(|d| d <= Instant::now())
            && let Some(made) = operators.flush(Instant::now(), false)
        {
            let _ = send(&mut books.ledger, requests, made);
        }
        self.release(books);
    }

    /// When the thread must wake next at the latest: the next poll, or an earlier flush.
    fn next_wake(&self, poll_at: Instant) -> Instant {
        match &self.converter {
            Converter::Operators(operators) => operators
                .next_deadline()
                .map_or(poll_at, |d| d.min(poll_at)),
            Converter::Plain(_) => poll_at,
        }
    }

    /// Waits up to `wait` for a delivery, flushing what `recombine` has due when none comes.
    /// `Some` when polling must end: with the finish or stop met, or `None` when the tokio side
    /// is gone.
    fn wait_once(
        &mut self,
        books: &mut Books,
        wake: &Receiver<Wake>,
        requests: &mpsc::Sender<Outgoing>,
        wait: Duration,
    ) -> Option<Option<Wake>> {
        match wake.recv_timeout(wait) {
            Ok(Wake::Delivered(request)) => self.delivered(books, request, wake).map(Some),
            Ok(met) => Some(Some(met)),
            Err(RecvTimeoutError::Disconnected) => Some(None),
            Err(RecvTimeoutError::Timeout) => {
                self.flush_due(books, requests);
                None
            }
        }
    }

    /// Runs until [`Wake::Finish`] and [`Wake::Stop`] (or the tokio side is gone), then saves
    /// a last time.
    pub(crate) fn run(mut self, requests: mpsc::Sender<Outgoing>, wake: Receiver<Wake>) {
        let counters = self.tailer.counters();
        let mut seen = CountersSnapshot::default();
        let mut books = Books {
            ledger: Ledger::default(),
            saved: self.tailer.state_version(),
        };
        let ended = 'polls: loop {
            if !requests.is_closed() {
                let Tail {
                    tailer, converter, ..
                } = &mut self;
                let ledger = &mut books.ledger;
                let report =
                    tailer.poll(
                        |batch| match hand_over(converter, ledger, &requests, batch) {
                            true => Flow::Continue,
                            false => Flow::Stop,
                        },
                    );
                for error in &report.errors {
                    tracing::warn!(receiver = %self.id, error = %error, "filelog cannot read a file; retrying at every poll");
                }
                self.metrics.update(&mut seen, counters.snapshot());
                self.release(&mut books);
                if report.stopped && !requests.is_closed() {
                    // Held back by undelivered batches: go on as soon as one is delivered.
                    let wait = self
                        .next_wake(Instant::now() + self.poll_interval)
                        .saturating_duration_since(Instant::now());
                    if let Some(end) = self.wait_once(&mut books, &wake, &requests, wait) {
                        break 'polls end;
                    }
                    continue;
                }
            }
            let poll_at = Instant::now() + self.poll_interval;
            loop {
                let now = Instant::now();
                if now >= poll_at {
                    break;
                }
                let wait = self.next_wake(poll_at).saturating_duration_since(now);
                if let Some(end) = self.wait_once(&mut books, &wake, &requests, wait) {
                    break 'polls end;
                }
            }
        };
        if let Some(Wake::Finish) = ended {
            self.finish(&mut books, requests, &wake);
        }
        while let Ok(Wake::Delivered(request)) = wake.try_recv() {
            books.ledger.delivered(request);
        }
        self.metrics.update(&mut seen, counters.snapshot());
        self.release(&mut books);
    }
}
