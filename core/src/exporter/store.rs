//! Where a sending queue keeps its batches: in memory ([`MemoryStore`]) or on disk (a storage
//! extension's persistent queue). The queue's consumers do not care which.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};

use super::Sizer;
use crate::batch::Batch;

/// A claim on one stored batch, handed out by `pop` and given back through `done` or `keep`.
#[derive(Debug)]
pub struct Ticket {
    /// Store-specific position of the batch.
    pub id: u64,
    /// What the batch counts against the capacity.
    pub cost: u64,
}

/// Storage behind a sending queue. Called concurrently: `push` from pipelines, `pop`/`done`
/// from the queue's consumers.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Stores a batch, waiting while there is no room. Gives the batch back once closed.
    async fn push(&self, batch: Batch) -> Result<(), Batch>;
    /// Whether the store is at capacity now (new batches would wait).
    fn is_full(&self) -> bool;
    /// The oldest stored batch not yet handed out, waiting for one; `None` once closed and
    /// empty.
    async fn pop(&self) -> Option<(Batch, Ticket)>;
    /// The batch is exported or dropped for good: forget it and free its room.
    fn done(&self, ticket: Ticket);
    /// The batch could not be finished before shutdown. A durable store keeps it for the next
    /// start; a memory store loses it.
    fn keep(&self, ticket: Ticket);
    /// No more pushes; `pop` hands out what is left, then `None`.
    fn close(&self);
    /// Current size in the sizer's unit.
    fn size(&self) -> u64;
    /// Capacity in the sizer's unit.
    fn capacity(&self) -> u64;
    /// Whether stored batches survive a restart.
    fn durable(&self) -> bool;
}

impl Sizer {
    /// What `batch` counts against a capacity in this unit.
    pub fn cost(self, batch: &Batch) -> u64 {
        match self {
            Sizer::Requests => 1,
            Sizer::Items => batch.items() as u64,
            Sizer::Bytes => batch.byte_size() as u64,
        }
    }
}

/// The in-memory store: a FIFO bounded by a capacity in the sizer's unit.
pub struct MemoryStore {
    sizer: Sizer,
    capacity: u64,
    room: Semaphore,
    queue: Mutex<VecDeque<(Batch, u64)>>,
    used: AtomicU64,
    available: Notify,
    closed: AtomicBool,
}

impl MemoryStore {
    /// An empty store holding up to `capacity` units.
    pub fn new(sizer: Sizer, capacity: usize) -> Self {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS) as u64;
        MemoryStore {
            sizer,
            capacity,
            room: Semaphore::new(capacity as usize),
            queue: Mutex::new(VecDeque::new()),
            used: AtomicU64::new(0),
            available: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Batch, u64)>> {
        // A panic while holding this lock cannot leave the deque half-changed.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl QueueStore for MemoryStore {
    async fn push(&self, batch: Batch) -> Result<(), Batch> {
        if self.closed.load(Ordering::Acquire) {
            return Err(batch);
        }
        // A batch bigger than the whole capacity would wait forever: it takes all of it.
        let cost = self.sizer.cost(&batch).clamp(1, self.capacity);
        let Ok(permit) = self.room.acquire_many(cost as u32).await else {
            return Err(batch);
        };
        permit.forget();
        self.used.fetch_add(cost, Ordering::Relaxed);
        self.lock().push_back((batch, cost));
        self.available.notify_one();
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.room.available_permits() == 0
    }

    async fn pop(&self) -> Option<(Batch, Ticket)> {
        loop {
            let notified = self.available.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some((batch, cost)) = self.lock().pop_front() {
                return Some((batch, Ticket { id: 0, cost }));
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
        }
    }

    fn done(&self, ticket: Ticket) {
        self.used.fetch_sub(ticket.cost, Ordering::Relaxed);
        self.room.add_permits(ticket.cost as usize);
    }

    fn keep(&self, ticket: Ticket) {
        self.done(ticket);
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.room.close();
        self.available.notify_waiters();
    }

    fn size(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn capacity(&self) -> u64 {
        self.capacity
    }

    fn durable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::batch::{BatchMeta, Request};

    fn batch(spans: usize) -> Batch {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
        let r = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(); spans],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        Batch::from_request(Request::Traces(r), Arc::new(BatchMeta::default())).into_encoded()
    }

    #[tokio::test(start_paused = true)]
    async fn items_sizer_counts_items_and_waits_for_room() {
        let store = Arc::new(MemoryStore::new(Sizer::Items, 10));
        store.push(batch(6)).await.unwrap();
        assert_eq!(store.size(), 6);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), store.push(batch(5)))
                .await
                .is_err()
        );
        let (b, ticket) = store.pop().await.unwrap();
        assert_eq!(b.items(), 6);
        store.done(ticket);
        store.push(batch(5)).await.unwrap();
        assert_eq!(store.size(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_sizer_counts_encoded_size() {
        let store = MemoryStore::new(Sizer::Bytes, 1_000_000);
        let b = batch(3);
        let size = b.byte_size() as u64;
        store.push(b).await.unwrap();
        assert_eq!(store.size(), size);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_larger_than_capacity_takes_all_of_it_instead_of_waiting_forever() {
        let store = MemoryStore::new(Sizer::Items, 4);
        store.push(batch(9)).await.unwrap();
        assert!(store.is_full());
        assert_eq!(store.size(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn close_hands_out_what_is_left_then_ends_and_refuses_pushes() {
        let store = MemoryStore::new(Sizer::Requests, 4);
        store.push(batch(1)).await.unwrap();
        store.close();
        assert!(store.push(batch(1)).await.is_err());
        assert!(store.pop().await.is_some());
        assert!(store.pop().await.is_none());
    }
}
