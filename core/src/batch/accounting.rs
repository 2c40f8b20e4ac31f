//! Exact accounting of the bytes Weir holds in batches, wherever they are: channels, processors,
//! queues. Every [`super::Batch`] registers its size when it is made and releases it when its
//! last clone is dropped; the memory limiter reads the total.

use std::sync::atomic::{AtomicUsize, Ordering};

static HELD_BYTES: AtomicUsize = AtomicUsize::new(0);
static HELD_BATCHES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of batch payloads alive in this process.
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
