//! The persistent queue: a [`QueueStore`] whose batches live in segment files. Pipelines push
//! through a writer thread that appends and fsyncs (see `writer`); consumers pop records in
//! order, read back from disk unless still in the small read-ahead; `done` records what is
//! finished, and the writer saves that and frees whole segments.
//!
//! Delivery is at least once: a record is forgotten only after `done`. What is done but not
//! yet saved when Weir crashes is delivered again after the restart.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{Notify, Semaphore, oneshot};
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::exporter::{QueueStore, Sizer, Ticket};

use super::StoreError;
use super::ack::{AckState, DoneSet};
use super::config::{FsyncPolicy, QueueOptions};
use super::lock;
use super::record::{self, HEADER_LEN, RecordHeader};
use super::recovery::{self, Entry, Segment};
use super::writer::{Append, Command, Writer};

/// Payload bytes kept in memory for records written but not yet popped, so a queue that keeps
/// up never reads back what it just wrote, and a big backlog stays on disk.
pub(crate) const READ_AHEAD_BYTES: u64 = 4 * 1024 * 1024;

/// Disk space shared by the queues of one extension (`max_size_mib`).
#[derive(Debug, Default)]
pub(crate) struct DiskBudget {
    /// 0: no bound.
    pub max: u64,
    pub used: AtomicU64,
}

/// A record handed out and not yet finished.
#[derive(Debug)]
pub(crate) struct Flight {
    /// `keep` was called: not done, left for the next start.
    kept: bool,
}

/// What the pushers, consumers and the writer share, under one lock.
#[derive(Debug)]
pub(crate) struct State {
    /// Stored, not handed out, in order.
    pub pending: VecDeque<Entry>,
    /// Handed out and not done, by sequence number; all below `pending`'s.
    pub in_flight: BTreeMap<u64, Flight>,
    /// Done records above the first one not done.
    pub done: DoneSet,
    /// One past the last stored record.
    pub stored_end: u64,
    /// Pushes sent to the writer and not yet stored or refused.
    pub writes_in_flight: usize,
    /// Capacity still owed: a backlog from an earlier run can exceed today's capacity, and
    /// room is given back to pushers only once it is paid.
    pub debt: u64,
    pub segments: BTreeMap<u64, Segment>,
    /// The segment being written (never deleted).
    pub active: u64,
    /// Bytes of all segment files.
    pub disk_bytes: u64,
    pub cached_bytes: u64,
    /// Done records changed since the acknowledgement file was last written.
    pub dirty: bool,
}

impl State {
    /// The first record not done: everything numbered below it is.
    fn first_live(&self) -> u64 {
        self.in_flight
            .keys()
            .next()
            .copied()
            .or_else(|| self.pending.front().map(|e| e.header.seq))
            .unwrap_or(self.stored_end)
    }

    fn holds_live(&self, from: u64, to: u64) -> bool {
        if self.in_flight.range(from..to).next().is_some() {
            return true;
        }
        let i = self.pending.partition_point(|e| e.header.seq < from);
        self.pending.get(i).is_some_and(|e| e.header.seq < to) || to > self.stored_end
    }

    /// What to save, and the segments whose records are all done (safe to delete once it is
    /// saved). Clears `dirty`.
    pub(crate) fn checkpoint(&mut self) -> (AckState, Vec<(u64, PathBuf)>) {
        let acked = self.first_live();
        let done = self.done.above(acked);
        let firsts: Vec<u64> = self.segments.keys().copied().collect();
        let finished = firsts
            .windows(2)
            .filter(|w| w[0] != self.active && !self.holds_live(w[0], w[1]))
            .filter_map(|w| self.segments.get(&w[0]).map(|s| (w[0], s.path.clone())))
            .collect();
        self.dirty = false;
        (AckState { acked, done }, finished)
    }

    /// Whether some closed segment holds nothing live (space a checkpoint would free).
    pub(crate) fn has_finished_segment(&self) -> bool {
        let firsts: Vec<u64> = self.segments.keys().copied().collect();
        firsts
            .windows(2)
            .any(|w| w[0] != self.active && !self.holds_live(w[0], w[1]))
    }
}

/// State and signals shared by the queue handle, its pushers and consumers, and the writer.
#[derive(Debug)]
pub(crate) struct Shared {
    pub name: String,
    pub dir: PathBuf,
    pub signal: Signal,
    pub sizer: Sizer,
    pub capacity: u64,
    pub room: Semaphore,
    pub state: Mutex<State>,
    /// Woken when a record is stored or the last write finishes.
    pub available: Notify,
    pub closed: AtomicBool,
    /// The writer cannot store more now (size limit, disk full, write errors).
    pub blocked: AtomicBool,
    pub used: AtomicU64,
    pub budget: Arc<DiskBudget>,
    /// Writes that fail with "no space left on device" before any succeeds (tests).
    #[cfg(test)]
    pub faults: std::sync::atomic::AtomicU32,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under this lock is a few field updates that cannot panic halfway, so a
        // poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives `cost` units of capacity back, paying the backlog's debt first.
    pub(crate) fn release(&self, state: &mut State, cost: u64) {
        self.used.fetch_sub(
            cost.min(self.used.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        let paid = cost.min(state.debt);
        state.debt -= paid;
        self.room.add_permits((cost - paid) as usize);
    }

    /// A push is resolved, stored or not: consumers waiting for the queue to end recheck.
    pub(crate) fn write_finished(&self) {
        let mut state = self.lock();
        state.writes_in_flight = state.writes_in_flight.saturating_sub(1);
        drop(state);
        self.available.notify_waiters();
    }
}

/// The writer thread's mailbox and handle; the extension keeps a weak reference to stop it at
/// shutdown, the queue a strong one.
#[derive(Debug)]
pub(crate) struct WriterHandle {
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::Sender<Command>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl WriterHandle {
    /// Whether the queue was closed: nothing more will be pushed to it.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    fn send(&self, command: Command) -> Result<(), Command> {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match tx.as_ref() {
            Some(tx) => tx.send(command).map_err(|e| e.0),
            None => Err(command),
        }
    }

    /// Stops the writer after it has stored what it was given, fsynced and saved the done
    /// records; blocks until it has. Later pushes are refused.
    pub(crate) fn shutdown(&self) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = tx {
            let _ = tx.send(Command::Shutdown);
        }
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("persistent queue writer panicked");
        }
    }

    /// Stops the writer as a crash would: nothing more is written, synced or saved.
    #[cfg(test)]
    pub(crate) fn crash(&self) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = tx {
            let _ = tx.send(Command::Crash);
        }
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A persistent sending queue over one folder.
#[derive(Debug)]
pub(crate) struct FileQueue {
    shared: Arc<Shared>,
    writer: Arc<WriterHandle>,
    #[cfg(test)]
    report: recovery::RecoveryReport,
}

impl FileQueue {
    /// Opens the queue in `dir` (created if missing), recovering what an earlier run left, and
    /// starts its writer thread.
    pub(crate) fn open(
        dir: &Path,
        name: &str,
        signal: Signal,
        sizer: Sizer,
        capacity: usize,
        options: QueueOptions,
        budget: Arc<DiskBudget>,
    ) -> Result<FileQueue, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let folder_lock = lock::lock(dir, options.lock_timeout)?;
        let capacity = (capacity as u64).clamp(1, u64::from(u32::MAX));
        let sync = options.fsync != FsyncPolicy::Never;
        let cost = |header: &RecordHeader| {
            let cost = match sizer {
                Sizer::Requests => 1,
                Sizer::Items => u64::from(header.items),
                Sizer::Bytes => u64::from(header.len),
            };
            cost.clamp(1, capacity)
        };
        let recovered = recovery::recover(dir, signal, cost, sync)?;
        let backlog: u64 = recovered.pending.iter().map(|e| e.cost).sum();
        let disk_bytes: u64 = recovered.segments.values().map(|s| s.bytes).sum();
        budget.used.fetch_add(disk_bytes, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            signal,
            sizer,
            capacity,
            room: Semaphore::new((capacity - backlog.min(capacity)) as usize),
            state: Mutex::new(State {
                pending: recovered.pending,
                in_flight: BTreeMap::new(),
                done: recovered.done,
                stored_end: recovered.next_seq,
                writes_in_flight: 0,
                debt: backlog.saturating_sub(capacity),
                segments: recovered.segments,
                active: recovered.next_seq,
                disk_bytes,
                cached_bytes: 0,
                dirty: true,
            }),
            available: Notify::new(),
            closed: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            used: AtomicU64::new(backlog),
            budget,
            #[cfg(test)]
            faults: std::sync::atomic::AtomicU32::new(0),
        });
        let report = recovered.report;
        if report.batches > 0 {
            tracing::info!(queue = name, folder = %dir.display(), batches = report.batches, items = report.items,
                "persistent queue: delivering batches stored by an earlier run");
        }
        let (tx, rx) = mpsc::channel();
        let writer = Writer::new(shared.clone(), rx, options, recovered.next_seq, folder_lock)?;
        let thread = std::thread::Builder::new()
            .name(format!("weir-queue-{name}"))
            .spawn(move || writer.run())
            .map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        Ok(FileQueue {
            shared: shared.clone(),
            writer: Arc::new(WriterHandle {
                shared,
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
            }),
            #[cfg(test)]
            report,
        })
    }

    pub(crate) fn writer(&self) -> &Arc<WriterHandle> {
        &self.writer
    }

    /// Has the writer fsync and save the done records now.
    #[cfg(test)]
    pub(crate) fn checkpoint_now(&self) {
        let (tx, rx) = mpsc::channel();
        if self.writer.send(Command::Checkpoint(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// What opening found.
    #[cfg(test)]
    pub(crate) fn report(&self) -> &recovery::RecoveryReport {
        &self.report
    }

    fn finish(&self, seq: u64, cost: u64, kept: bool) {
        let mut state = self.shared.lock();
        match state.in_flight.get_mut(&seq) {
            // Unknown or already finished: a ticket counts once.
            None => return,
            Some(flight) if flight.kept => return,
            Some(flight) if kept => flight.kept = true,
            Some(_) => {
                state.in_flight.remove(&seq);
                state.done.insert(seq);
                state.dirty = true;
            }
        }
        self.shared.release(&mut state, cost);
        drop(state);
        if self.shared.blocked.load(Ordering::Acquire) {
            // Done records may free a segment: the blocked writer checks at once.
            let _ = self.writer.send(Command::Wake);
        }
    }
}

/// A record taken from `pending` while it is read; put back at the front if the pop is
/// cancelled, so it is neither lost nor reordered.
struct Claim<'a> {
    shared: &'a Shared,
    entry: Option<Entry>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            let mut state = self.shared.lock();
            state.in_flight.remove(&entry.header.seq);
            if let Some(cached) = &entry.cached {
                if state.cached_bytes + cached.len() as u64 <= READ_AHEAD_BYTES {
                    state.cached_bytes += cached.len() as u64;
                } else {
                    entry.cached = None;
                }
            }
            state.pending.push_front(entry);
            drop(state);
            self.shared.available.notify_one();
        }
    }
}

/// Why a stored record could not be read back.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Record(#[from] record::RecordError),
    #[error("the record there is not the one expected")]
    Mismatch,
}

fn read_record(file: &File, entry_offset: u64, expected: RecordHeader) -> Result<Bytes, ReadError> {
    let mut buf = vec![0u8; expected.total_len() as usize];
    file.read_exact_at(&mut buf, entry_offset)?;
    let header = record::parse(&buf)?;
    if header != expected {
        return Err(ReadError::Mismatch);
    }
    let mut bytes = Bytes::from(buf);
    Ok(bytes.split_off(HEADER_LEN))
}

#[async_trait]
impl QueueStore for FileQueue {
    async fn push(&self, batch: Batch) -> Result<(), Batch> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(batch);
        }
        let cost = self
            .shared
            .sizer
            .cost(&batch)
            .clamp(1, self.shared.capacity);
        let Ok(permit) = self.shared.room.acquire_many(cost as u32).await else {
            return Err(batch);
        };
        permit.forget();
        self.shared.used.fetch_add(cost, Ordering::Relaxed);
        self.shared.lock().writes_in_flight += 1;
        let (reply, answer) = oneshot::channel();
        let append = Append::new(self.shared.clone(), batch, cost, reply);
        if let Err(Command::Append(append)) = self.writer.send(Command::Append(append)) {
            return append
                .take_back("the persistent queue is shut down")
                .map_or(Ok(()), Err);
        }
        match answer.await {
            Ok(result) => result,
            // The writer resolves every append before it goes; this only means it is gone,
            // and the batch with it (its senders were told it failed).
            Err(_) => Ok(()),
        }
    }

    fn is_full(&self) -> bool {
        self.shared.room.available_permits() == 0 || self.shared.blocked.load(Ordering::Acquire)
    }

    async fn pop(&self) -> Option<(Batch, Ticket)> {
        loop {
            let notified = self.shared.available.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let claimed = {
                let mut state = self.shared.lock();
                match state.pending.pop_front() {
                    Some(entry) => {
                        state
                            .in_flight
                            .insert(entry.header.seq, Flight { kept: false });
                        if let Some(cached) = &entry.cached {
                            state.cached_bytes =
                                state.cached_bytes.saturating_sub(cached.len() as u64);
                        }
                        let file = match entry.cached {
                            Some(_) => Ok(None),
                            None => reader(&mut state, entry.segment).map(Some),
                        };
                        Some((entry, file))
                    }
                    None if self.shared.closed.load(Ordering::Acquire)
                        && state.writes_in_flight == 0 =>
                    {
                        return None;
                    }
                    None => None,
                }
            };
            let Some((entry, file)) = claimed else {
                notified.await;
                continue;
            };
            let (seq, cost, header, offset) =
                (entry.header.seq, entry.cost, entry.header, entry.offset);
            let mut claim = Claim {
                shared: &self.shared,
                entry: Some(entry),
            };
            let read = match file {
                Ok(None) => Ok(claim
                    .entry
                    .as_mut()
                    .and_then(|e| e.cached.take())
                    .unwrap_or_default()),
                Ok(Some(file)) => {
                    match tokio::task::spawn_blocking(move || read_record(&file, offset, header))
                        .await
                    {
                        Ok(result) => result,
                        Err(e) => Err(ReadError::Io(std::io::Error::other(e))),
                    }
                }
                Err(e) => Err(ReadError::Io(e)),
            };
            let segment = claim.entry.take().map(|e| e.segment).unwrap_or_default();
            match read {
                Ok(bytes) => {
                    let batch = Batch::from_walked(
                        self.shared.signal,
                        bytes,
                        header.items as usize,
                        Arc::new(BatchMeta::default()),
                    );
                    return Some((batch, Ticket { id: seq, cost }));
                }
                Err(e) => {
                    let file = self
                        .shared
                        .lock()
                        .segments
                        .get(&segment)
                        .map(|s| s.path.display().to_string())
                        .unwrap_or_default();
                    tracing::warn!(queue = %self.shared.name, file, offset, error = %e,
                        "persistent queue: a stored batch cannot be read back; skipped (1 batch lost)");
                    self.finish(seq, cost, false);
                }
            }
        }
    }

    fn done(&self, ticket: Ticket) {
        self.finish(ticket.id, ticket.cost, false);
    }

    fn keep(&self, ticket: Ticket) {
        self.finish(ticket.id, ticket.cost, true);
    }

    fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.room.close();
        let _ = self.writer.send(Command::Close);
        self.shared.available.notify_waiters();
    }

    fn size(&self) -> u64 {
        self.shared.used.load(Ordering::Relaxed)
    }

    fn capacity(&self) -> u64 {
        self.shared.capacity
    }

    fn durable(&self) -> bool {
        true
    }
}

/// The shared read handle of a segment, opened on first use.
fn reader(state: &mut State, segment: u64) -> std::io::Result<Arc<File>> {
    let segment = state
        .segments
        .get_mut(&segment)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "segment is gone"))?;
    if let Some(file) = &segment.reader {
        return Ok(file.clone());
    }
    let file = Arc::new(File::open(&segment.path)?);
    segment.reader = Some(file.clone());
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pop cancelled while it reads (the dispatcher stops at the shutdown deadline) must not
    /// leave its record half taken: it goes back to the front, and is handed out next.
    #[tokio::test]
    async fn a_claim_dropped_mid_read_puts_the_record_back_in_front() {
        let dir = tempfile::tempdir().unwrap();
        let queue = FileQueue::open(
            dir.path(),
            "claim",
            Signal::Logs,
            Sizer::Requests,
            10,
            QueueOptions::from_config(&super::super::FileStorageConfig::default()),
            Arc::default(),
        )
        .unwrap();
        for payload in ["first", "second"] {
            let batch = Batch::from_walked(
                Signal::Logs,
                Bytes::from(payload),
                1,
                Arc::new(BatchMeta::default()),
            );
            queue.push(batch).await.unwrap();
        }
        let entry = {
            let mut state = queue.shared.lock();
            let entry = state.pending.pop_front().unwrap();
            state
                .in_flight
                .insert(entry.header.seq, Flight { kept: false });
            entry
        };
        drop(Claim {
            shared: &queue.shared,
            entry: Some(entry),
        });
        assert!(queue.shared.lock().in_flight.is_empty());
        let (batch, _) = queue.pop().await.unwrap();
        assert_eq!(batch.to_bytes(), Bytes::from("first"));
    }
}
