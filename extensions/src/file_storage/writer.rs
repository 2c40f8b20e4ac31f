//! The one thread that writes a queue's folder: it appends records to the active segment,
//! fsyncs as the policy says, saves which records are done, and deletes finished segments.
//! Keeping every write on one thread keeps appends in order without a lock across I/O, keeps
//! blocking I/O off the async runtime, and lets batches that arrive together share an fsync.
//!
//! A batch counts as stored — and its sender's acknowledgement fires, by the batch being
//! dropped here — once it is written (`interval`, `never`) or written and fsynced (`always`).
//! When it cannot be written (size limit, disk full, any write error) the queue reports itself
//! full, so receivers refuse new data, and the write is retried as space is freed; nothing
//! already stored is touched.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use weir_core::batch::Batch;

use super::StoreError;
use super::ack;
use super::config::{FsyncPolicy, QueueOptions};
use super::lock::FolderLock;
use super::queue::{READ_AHEAD_BYTES, Shared};
use super::record::{self, HEADER_LEN, RecordHeader};
use super::recovery::{Entry, Segment, segment_name};

/// How often a blocked writer tries again without being woken (space freed by another queue
/// of the same extension, or a disk that had no room).
const RETRY: Duration = Duration::from_millis(250);
/// Bytes written before the group is fsynced and acknowledged, so one large burst does not
/// hold back the first batches' acknowledgements.
const GROUP_BYTES: u64 = 8 * 1024 * 1024;

/// What the writer is asked to do.
pub(crate) enum Command {
    Append(Append),
    /// Records were done: a blocked writer may be able to free space.
    Wake,
    /// No more pushes are coming; a blocked writer refuses what waits.
    Close,
    /// Store what waits, fsync, save, and stop.
    Shutdown,
    /// Stop at once, as a crash would.
    #[cfg(test)]
    Crash,
    /// Fsync and save the done records now, then answer (tests: a checkpoint without timing).
    #[cfg(test)]
    Checkpoint(std::sync::mpsc::Sender<()>),
}

/// A batch to store. Whatever happens to it, its pusher hears back and the queue's accounting
/// is settled: dropping an unresolved append refuses it.
pub(crate) struct Append {
    shared: Arc<Shared>,
    batch: Option<Batch>,
    cost: u64,
    reply: Option<oneshot::Sender<Result<(), Batch>>>,
}

impl Append {
    pub(crate) fn new(
        shared: Arc<Shared>,
        batch: Batch,
        cost: u64,
        reply: oneshot::Sender<Result<(), Batch>>,
    ) -> Append {
        Append {
            shared,
            batch: Some(batch),
            cost,
            reply: Some(reply),
        }
    }

    /// Stored: the pusher may go on. The batch is returned to be held until it is as durable
    /// as the policy asks; dropping it then acknowledges it to its senders.
    fn stored(mut self) -> Option<Batch> {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Ok(()));
        }
        self.shared.write_finished();
        self.batch.take()
    }

    /// Not stored: its senders are told, its room is given back, and the batch returns to the
    /// pusher (`None` only if it was already settled).
    pub(crate) fn refuse(mut self, reason: &str) -> Option<Batch> {
        self.settle_refused(reason)
    }

    /// Refused before the writer saw it: the batch goes straight back to the pusher.
    pub(crate) fn take_back(mut self, reason: &str) -> Option<Batch> {
        self.reply = None;
        self.settle_refused(reason)
    }

    fn settle_refused(&mut self, reason: &str) -> Option<Batch> {
        let batch = self.batch.take()?;
        batch.meta().fail_acks(reason);
        {
            let mut state = self.shared.lock();
            self.shared.release(&mut state, self.cost);
        }
        self.shared.write_finished();
        match self.reply.take() {
            Some(reply) => reply.send(Err(batch)).err().and_then(Result::err),
            None => Some(batch),
        }
    }
}

impl Drop for Append {
    fn drop(&mut self) {
        let _ = self.settle_refused("the persistent queue stopped before storing the batch");
    }
}

/// Why an append cannot happen now.
enum Blocked {
    /// Retried when space may have been freed.
    Full(String),
    /// This batch can never be stored.
    Refused(String),
}

/// The segment being appended to.
struct Active {
    first: u64,
    file: File,
    len: u64,
    records: u64,
    /// A failed write could not be undone: the next append starts a new segment, and the
    /// damaged end is cut on the next start.
    poisoned: bool,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Command>,
    options: QueueOptions,
    dir: PathBuf,
    active: Active,
    next_seq: u64,
    queue: VecDeque<Append>,
    /// Written since the last fsync.
    unsynced: bool,
    next_tick: Instant,
    blocked: Option<String>,
    closing: bool,
    _lock: FolderLock,
}

impl Writer {
    /// Creates the first segment and saves the recovered done records, so that from here on
    /// the folder describes this run (finished segments are deleted with it).
    pub(crate) fn new(
        shared: Arc<Shared>,
        rx: Receiver<Command>,
        options: QueueOptions,
        next_seq: u64,
        folder_lock: FolderLock,
    ) -> Result<Writer, StoreError> {
        let dir = shared.dir.clone();
        let sync = options.fsync != FsyncPolicy::Never;
        let active = create_segment(&shared, next_seq, sync).map_err(|source| StoreError::Io {
            path: dir.join(segment_name(next_seq)).display().to_string(),
            source,
        })?;
        let mut writer = Writer {
            shared,
            rx,
            next_tick: Instant::now() + options.fsync_interval,
            options,
            dir,
            active,
            next_seq,
            queue: VecDeque::new(),
            unsynced: false,
            blocked: None,
            closing: false,
            _lock: folder_lock,
        };
        // Not saving now only delays it to the next tick: new records are numbered above
        // everything the old file says is done. A full disk must not keep the backlog that
        // would free it from being delivered.
        writer.checkpoint();
        Ok(writer)
    }

    fn sync(&self) -> bool {
        self.options.fsync != FsyncPolicy::Never
    }

    pub(crate) fn run(mut self) {
        loop {
            let now = Instant::now();
            if self.queue.is_empty() || self.blocked.is_some() {
                let mut wait = self.next_tick.saturating_duration_since(now);
                if self.blocked.is_some() {
                    wait = wait.min(RETRY);
                }
                match self.rx.recv_timeout(wait) {
                    Ok(command) => {
                        if !self.handle(command) {
                            return;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return self.finish(),
                }
            }
            while let Ok(command) = self.rx.try_recv() {
                if !self.handle(command) {
                    return;
                }
            }
            if self.blocked.is_some() {
                self.make_room();
            }
            self.write_queued();
            if Instant::now() >= self.next_tick {
                self.tick();
            }
        }
    }

    /// Returns whether to keep running.
    fn handle(&mut self, command: Command) -> bool {
        match command {
            Command::Append(append) if self.closing && self.blocked.is_some() => {
                append.refuse("the persistent queue is full and shutting down");
            }
            Command::Append(append) => self.queue.push_back(append),
            Command::Wake => {}
            Command::Close => {
                self.closing = true;
                if self.blocked.is_some() {
                    for append in self.queue.drain(..) {
                        append.refuse("the persistent queue is full and shutting down");
                    }
                }
            }
            Command::Shutdown => {
                self.finish();
                return false;
            }
            #[cfg(test)]
            Command::Crash => return false,
            #[cfg(test)]
            Command::Checkpoint(answer) => {
                self.write_queued();
                self.tick();
                self.checkpoint();
                let _ = answer.send(());
            }
        }
        true
    }

    /// Appends what waits, fsyncs the group if the policy says so, and acknowledges it.
    fn write_queued(&mut self) {
        let mut stored = Vec::new();
        let mut group = 0u64;
        while group < GROUP_BYTES {
            let Some(append) = self.queue.pop_front() else {
                break;
            };
            match self.append(&append) {
                Ok(bytes) => {
                    group += bytes;
                    if self.blocked.take().is_some() {
                        self.shared.blocked.store(false, Ordering::Release);
                        tracing::info!(queue = %self.shared.name, "persistent queue: room again; taking new data");
                    }
                    stored.extend(append.stored());
                }
                Err(Blocked::Refused(reason)) => {
                    tracing::error!(queue = %self.shared.name, %reason, "persistent queue: batch refused");
                    append.refuse(&reason);
                }
                Err(Blocked::Full(reason)) => {
                    self.queue.push_front(append);
                    self.block(reason);
                    break;
                }
            }
        }
        if !stored.is_empty() && self.options.fsync == FsyncPolicy::Always {
            self.fsync_active(&stored);
        }
        // Dropping the batches acknowledges them to whoever waits.
        drop(stored);
    }

    /// Writes one record; returns its size on disk.
    fn append(&mut self, append: &Append) -> Result<u64, Blocked> {
        let Some(batch) = append.batch.as_ref() else {
            return Err(Blocked::Refused("nothing to store".into()));
        };
        let payload = batch.to_bytes();
        let len = u32::try_from(payload.len())
            .map_err(|_| Blocked::Refused("batch larger than 4 GiB".into()))?;
        let header = RecordHeader {
            signal: self.shared.signal,
            seq: self.next_seq,
            items: u32::try_from(batch.items()).unwrap_or(u32::MAX),
            len,
        };
        let total = header.total_len();
        if self.active.poisoned
            || (self.active.records > 0 && self.active.len + total > self.options.segment_bytes)
        {
            self.rotate()
                .map_err(|e| Blocked::Full(format!("cannot start a new segment: {e}")))?;
        }
        let budget = &self.shared.budget;
        let own = self.shared.lock().disk_bytes;
        // A queue that stores nothing may take one batch larger than the whole budget, which
        // would otherwise wait forever.
        if budget.max > 0 && own > 0 && budget.used.load(Ordering::Relaxed) + total > budget.max {
            return Err(Blocked::Full("max_size_mib reached".into()));
        }
        let at = self.active.len;
        if let Err(e) = self.write_at(&record::encode_header(&header, &payload), &payload, at) {
            if self.active.file.set_len(at).is_err() {
                self.active.poisoned = true;
            }
            return Err(Blocked::Full(format!("cannot write: {e}")));
        }
        self.next_seq += 1;
        self.active.len += total;
        self.active.records += 1;
        self.unsynced = true;
        budget.used.fetch_add(total, Ordering::Relaxed);
        let mut state = self.shared.lock();
        let cached = (state.cached_bytes + u64::from(len) <= READ_AHEAD_BYTES).then_some(payload);
        if cached.is_some() {
            state.cached_bytes += u64::from(len);
        }
        state.pending.push_back(Entry {
            header,
            segment: self.active.first,
            offset: at,
            cost: append.cost,
            cached,
        });
        state.stored_end = self.next_seq;
        state.disk_bytes += total;
        if let Some(segment) = state.segments.get_mut(&self.active.first) {
            segment.bytes += total;
        }
        drop(state);
        self.shared.available.notify_one();
        Ok(total)
    }

    fn write_at(&self, header: &[u8], payload: &[u8], at: u64) -> io::Result<()> {
        #[cfg(test)]
        if self
            .shared
            .faults
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        self.active.file.write_all_at(header, at)?;
        self.active
            .file
            .write_all_at(payload, at + HEADER_LEN as u64)
    }

    /// Fsyncs the active segment for `always`. If that fails nobody can say what reached the
    /// disk: the batches stay queued, their senders are told to retry (a duplicate beats a
    /// loss), and writing moves to a new segment.
    fn fsync_active(&mut self, stored: &[Batch]) {
        if let Err(e) = self.active.file.sync_data() {
            tracing::error!(queue = %self.shared.name, error = %e, "persistent queue: fsync failed");
            for batch in stored {
                batch
                    .meta()
                    .fail_acks("the persistent queue could not fsync");
            }
            self.active.poisoned = true;
        } else {
            self.unsynced = false;
        }
    }

    /// Closes the active segment (fsynced unless `never`) and starts the next one.
    fn rotate(&mut self) -> io::Result<()> {
        if self.sync() && self.unsynced {
            self.active.file.sync_data()?;
            self.unsynced = false;
        }
        self.active = create_segment(&self.shared, self.next_seq, self.sync())?;
        self.shared.lock().dirty = true;
        Ok(())
    }

    fn block(&mut self, reason: String) {
        if self.blocked.is_none() {
            self.shared.blocked.store(true, Ordering::Release);
            tracing::warn!(queue = %self.shared.name, %reason,
                "persistent queue is full; refusing new data until exported batches free space");
        }
        self.blocked = Some(reason);
        self.make_room();
    }

    /// Frees what can be freed now: the active segment is closed if it holds records (a
    /// segment is deleted only once closed), and finished segments are deleted.
    fn make_room(&mut self) {
        if self.active.records > 0 && self.rotate().is_err() {
            return;
        }
        if self.shared.lock().has_finished_segment() {
            self.checkpoint();
        }
    }

    fn tick(&mut self) {
        if self.options.fsync == FsyncPolicy::Interval && self.unsynced {
            match self.active.file.sync_data() {
                Ok(()) => self.unsynced = false,
                Err(e) => {
                    tracing::error!(queue = %self.shared.name, error = %e, "persistent queue: fsync failed");
                    self.active.poisoned = true;
                }
            }
        }
        if self.shared.lock().dirty {
            self.checkpoint();
        }
        self.next_tick = Instant::now() + self.options.fsync_interval;
    }

    /// Saves the done records, then deletes the segments they finish.
    fn checkpoint(&mut self) {
        if let Err(e) = self.save_done() {
            tracing::warn!(queue = %self.shared.name, error = %e,
                "persistent queue: cannot save which batches are done; retrying");
            self.shared.lock().dirty = true;
        }
    }

    fn save_done(&mut self) -> io::Result<()> {
        let (acks, finished) = self.shared.lock().checkpoint();
        ack::stage(&self.dir, &acks, self.sync())?.commit()?;
        for (first, path) in finished {
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(file = %path.display(), error = %e,
                    "persistent queue: cannot remove a finished segment; the next start will");
            }
            let mut state = self.shared.lock();
            if let Some(segment) = state.segments.remove(&first) {
                state.disk_bytes = state.disk_bytes.saturating_sub(segment.bytes);
                let used = &self.shared.budget.used;
                used.fetch_sub(
                    segment.bytes.min(used.load(Ordering::Relaxed)),
                    Ordering::Relaxed,
                );
            }
        }
        Ok(())
    }

    /// A clean stop: what waits is stored (or refused if there is no room), fsynced, and the
    /// done records saved.
    fn finish(&mut self) {
        self.closing = true;
        if self.blocked.is_none() {
            while !self.queue.is_empty() && self.blocked.is_none() {
                self.write_queued();
            }
        }
        for append in self.queue.drain(..) {
            append.refuse("the persistent queue is full and shutting down");
        }
        if self.sync()
            && self.unsynced
            && let Err(e) = self.active.file.sync_data()
        {
            tracing::error!(queue = %self.shared.name, error = %e, "persistent queue: fsync failed");
        }
        self.checkpoint();
    }
}

/// Creates the segment whose first record will be `first` and makes it the active one.
fn create_segment(shared: &Shared, first: u64, sync: bool) -> io::Result<Active> {
    let path = shared.dir.join(segment_name(first));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    if sync {
        // The new name must survive a power loss before records in it are acknowledged.
        ack::sync_dir(&shared.dir)?;
    }
    let mut state = shared.lock();
    if let Some(old) = state.segments.insert(
        first,
        Segment {
            path,
            bytes: 0,
            reader: None,
        },
    ) {
        // Reusing the name of an empty segment: its bytes are gone with the truncation.
        state.disk_bytes = state.disk_bytes.saturating_sub(old.bytes);
        let used = &shared.budget.used;
        used.fetch_sub(
            old.bytes.min(used.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }
    state.active = first;
    Ok(Active {
        first,
        file,
        len: 0,
        records: 0,
        poisoned: false,
    })
}
