//! Exact accounting of the bytes Weir holds in batches, wherever they are: channels, processors,
//! queues. Every [`super::Batch`] registers its size when it is made and releases it when its
//! last clone is dropped; the memory limiter reads the total. A request body being received
//! counts too ([`Receiving`]), from its first byte until it has become a batch or been dropped,
//! so a burst of large requests in flight is seen before any of them is a batch.

use std::sync::atomic::{AtomicUsize, Ordering};

static HELD_BYTES: AtomicUsize = AtomicUsize::new(0);
static HELD_BATCHES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of batch payloads alive in this process, and of request bodies being received.
pub fn held_bytes() -> usize {
    HELD_BYTES.load(Ordering::Relaxed)
}

/// Batches alive in this process (clones counted once).
pub fn held_batches() -> usize {
    HELD_BATCHES.load(Ordering::Relaxed)
}

/// One batch payload's share of the total; shared by the batch's clones.
#[derive(Debug)]
pub struct Held(usize);

impl Held {
    /// Registers `bytes`.
    pub fn new(bytes: usize) -> Held {
        HELD_BYTES.fetch_add(bytes, Ordering::Relaxed);
        HELD_BATCHES.fetch_add(1, Ordering::Relaxed);
        Held(bytes)
    }

    /// The bytes registered.
    pub fn bytes(&self) -> usize {
        self.0
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD_BYTES.fetch_sub(self.0, Ordering::Relaxed);
        HELD_BATCHES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The bytes of one request body received so far; they count as held until this is dropped.
#[derive(Debug, Default)]
pub struct Receiving(usize);

impl Receiving {
    /// Counts `bytes` more.
    pub fn add(&mut self, bytes: usize) {
        HELD_BYTES.fetch_add(bytes, Ordering::Relaxed);
        self.0 += bytes;
    }

    /// The bytes counted.
    pub fn bytes(&self) -> usize {
        self.0
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        HELD_BYTES.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// Bytes a component keeps outside batches (the tail sampler's held spans): they count as held
/// from [`Holding::add`] until [`Holding::release`] or the drop of this.
#[derive(Debug, Default)]
pub struct Holding(usize);

impl Holding {
    /// Counts `bytes` more.
    pub fn add(&mut self, bytes: usize) {
        HELD_BYTES.fetch_add(bytes, Ordering::Relaxed);
        self.0 += bytes;
    }

    /// Counts `bytes` fewer (at most what is counted).
    pub fn release(&mut self, bytes: usize) {
        let bytes = bytes.min(self.0);
        HELD_BYTES.fetch_sub(bytes, Ordering::Relaxed);
        self.0 -= bytes;
    }

    /// The bytes counted.
    pub fn bytes(&self) -> usize {
        self.0
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        HELD_BYTES.fetch_sub(self.0, Ordering::Relaxed);
    }
}
