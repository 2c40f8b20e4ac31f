//! One error log line per burst of dropped batches, not per batch: a backend that refuses
//! everything for an hour must not write a million lines.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long after a logged drop further drops are only counted.
const QUIET: Duration = Duration::from_secs(10);

/// Drops counted since the last line written.
#[derive(Debug, Default)]
struct Pending {
    last_logged: Option<Instant>,
    batches: u64,
    items: u64,
}

/// Decides which drops are written and what a line summarises.
#[derive(Debug, Default)]
pub struct DropLog {
    pending: Mutex<Pending>,
}

/// What to write for one drop, if anything.
#[derive(Debug, PartialEq, Eq)]
pub struct DropLine {
    /// Batches dropped since the last line, this one included.
    pub batches: u64,
    /// Items in them.
    pub items: u64,
}

impl DropLog {
    /// Records a dropped batch of `items`; returns the line to write now, if any: the first
    /// drop of a burst at once, later ones summarised once `QUIET` has passed.
    pub fn record(&self, items: u64) -> Option<DropLine> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.batches += 1;
        p.items += items;
        let now = Instant::now();
        if p.last_logged
            .is_some_and(|at| now.duration_since(at) < QUIET)
        {
            return None;
        }
        p.last_logged = Some(now);
        let line = DropLine {
            batches: p.batches,
            items: p.items,
        };
        p.batches = 0;
        p.items = 0;
        Some(line)
    }

    /// Drops counted but not written yet (written at shutdown).
    pub fn unreported(&self) -> Option<DropLine> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        (p.batches > 0).then(|| {
            let line = DropLine {
                batches: p.batches,
                items: p.items,
            };
            p.batches = 0;
            p.items = 0;
            line
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn first_drop_is_written_then_a_burst_is_summarised() {
        let log = DropLog::default();
        assert_eq!(
            log.record(5),
            Some(DropLine {
                batches: 1,
                items: 5
            })
        );
        for _ in 0..99 {
            assert_eq!(log.record(2), None);
        }
        tokio::time::sleep(QUIET).await;
        assert_eq!(
            log.record(1),
            Some(DropLine {
                batches: 100,
                items: 199
            })
        );
        assert_eq!(log.unreported(), None);
        assert_eq!(log.record(3), None);
        assert_eq!(
            log.unreported(),
            Some(DropLine {
                batches: 1,
                items: 3
            })
        );
    }
}
