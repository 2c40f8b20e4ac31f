//! Counts the receiver exports as metrics; shared, so it can read them while a poll runs.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals since the tailer was made (`files_open` is a gauge).
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) lines_read: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) records_truncated: AtomicU64,
    pub(crate) files_open: AtomicU64,
    pub(crate) read_errors: AtomicU64,
}

/// One reading of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Records read (a record of several lines counts once).
    pub lines_read: u64,
    /// File bytes consumed into records.
    pub bytes_read: u64,
    /// Records cut at `max_log_size`, each piece counted.
    pub records_truncated: u64,
    /// Files held open now.
    pub files_open: u64,
    /// Files that could not be opened or read, counted once each time a file starts failing.
    pub read_errors: u64,
}

impl Counters {
    /// The totals now.
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            lines_read: get(&self.lines_read),
            bytes_read: get(&self.bytes_read),
            records_truncated: get(&self.records_truncated),
            files_open: get(&self.files_open),
            read_errors: get(&self.read_errors),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
