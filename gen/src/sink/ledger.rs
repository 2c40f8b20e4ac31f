//! The sink's books: items and requests per signal, and per generator run a bitset of the
//! sequence numbers seen, from which duplicates and gaps follow.
//!
//! The bitset is chunked (64 Ki seqs per 8 KiB chunk, allocated on first use) so a run costs
//! memory in proportion to what it sent, and capped ([`TRACKED_SEQS`]) so a stray huge seq from
//! a foreign client cannot make the sink allocate gigabytes: seqs past the cap are counted as
//! untracked instead. Gaps are the seqs below the run's highest seq that never arrived; items lost
//! after the highest one are invisible here and show up as `items_accepted` on the generator
//! minus `unique` on the sink.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use weir_core::batch::Signal;

const CHUNK_WORDS: usize = 1024;
const CHUNK_SEQS: u64 = (CHUNK_WORDS * 64) as u64;
const MAX_CHUNKS: u64 = 16_384;
/// Seqs at or above this are counted, not tracked (2^30, about a billion items per run, at most
/// 128 MiB of bitset).
pub const TRACKED_SEQS: u64 = CHUNK_SEQS * MAX_CHUNKS;

type Chunk = Box<[u64; CHUNK_WORDS]>;

/// One run's seqs.
#[derive(Default)]
struct RunBook {
    chunks: Vec<Option<Chunk>>,
    unique: u64,
    duplicates: u64,
    max_seq: Option<u64>,
}

impl RunBook {
    /// Marks `seq` seen; `false` when it is past the tracked range.
    fn record(&mut self, seq: u64) -> bool {
        if seq >= TRACKED_SEQS {
            return false;
        }
        let (chunk, bit) = ((seq / CHUNK_SEQS) as usize, seq % CHUNK_SEQS);
        if self.chunks.len() <= chunk {
            self.chunks.resize_with(chunk + 1, || None);
        }
        let words = self.chunks[chunk].get_or_insert_with(|| Box::new([0; CHUNK_WORDS]));
        let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
        if words[word] & mask == 0 {
            words[word] |= mask;
            self.unique += 1;
        } else {
            self.duplicates += 1;
        }
        self.max_seq = Some(self.max_seq.map_or(seq, |m| m.max(seq)));
        true
    }

    fn missing(&self) -> u64 {
        self.max_seq
            .map_or(0, |m| (m + 1).saturating_sub(self.unique))
    }

    fn stats(&self) -> RunStats {
        RunStats {
            unique: self.unique,
            duplicates: self.duplicates,
            max_seq: self.max_seq,
            missing: self.missing(),
        }
    }
}

/// The counts of one signal.
#[derive(Default)]
struct SignalBook {
    items: u64,
    requests: u64,
    untracked: u64,
    refused_requests: u64,
    invalid_requests: u64,
    runs: HashMap<u64, RunBook>,
}

/// What `GET /stats` reports for one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Distinct seqs seen.
    pub unique: u64,
    /// Items whose seq had been seen before.
    pub duplicates: u64,
    /// Highest seq seen.
    pub max_seq: Option<u64>,
    /// Seqs below `max_seq` never seen.
    pub missing: u64,
}

/// What `GET /stats` reports for one signal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalStats {
    /// Items in accepted requests (as the wire walk counts them).
    pub items: u64,
    /// Accepted requests.
    pub requests: u64,
    /// Distinct (run, seq) pairs, over all runs.
    pub unique: u64,
    /// Items whose (run, seq) had been seen before.
    pub duplicates: u64,
    /// Highest seq of any run.
    pub max_seq: Option<u64>,
    /// Gaps, summed over runs.
    pub missing: u64,
    /// Items without generator ids (or with a seq past the tracked range).
    pub untracked: u64,
    /// Requests answered with a refusal (UNAVAILABLE / 503).
    pub refused_requests: u64,
    /// Requests answered INVALID_ARGUMENT / 400 (malformed, or `status: invalid`).
    pub invalid_requests: u64,
    /// The same per run id (decimal, as JSON keys are strings).
    pub runs: BTreeMap<String, RunStats>,
}

/// `GET /stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Spans.
    pub traces: SignalStats,
    /// Metric data points.
    pub metrics: SignalStats,
    /// Log records.
    pub logs: SignalStats,
}

impl Stats {
    /// The stats of `signal`.
    pub fn signal(&self, signal: Signal) -> &SignalStats {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }
}

/// The books of all three signals; each behind its own lock, taken once per request.
#[derive(Default)]
pub struct Ledger {
    books: [Mutex<SignalBook>; 3],
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

impl Ledger {
    fn with<T>(&self, signal: Signal, f: impl FnOnce(&mut SignalBook) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-update; counts are still usable.
        let mut book = self.books[index(signal)]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut book)
    }

    /// Books an accepted request of `items` items, of which `ids` carried generator ids.
    pub fn accepted(&self, signal: Signal, items: u64, ids: &[(u64, u64)]) {
        self.with(signal, |book| {
            book.requests += 1;
            book.items += items;
            let mut tracked = 0u64;
            // A request almost always holds one run: one map lookup per stretch of a run.
            for stretch in ids.chunk_by(|a, b| a.0 == b.0) {
                let run_book = book.runs.entry(stretch[0].0).or_default();
                for &(_, seq) in stretch {
                    tracked += u64::from(run_book.record(seq));
                }
            }
            book.untracked += items.saturating_sub(tracked);
        });
    }

    /// Books a request answered with a refusal.
    pub fn refused(&self, signal: Signal) {
        self.with(signal, |book| book.refused_requests += 1);
    }

    /// Books a request answered as invalid.
    pub fn invalid(&self, signal: Signal) {
        self.with(signal, |book| book.invalid_requests += 1);
    }

    /// Forgets everything.
    pub fn reset(&self) {
        for signal in Signal::ALL {
            self.with(signal, |book| *book = SignalBook::default());
        }
    }

    /// A snapshot of the counts.
    pub fn stats(&self) -> Stats {
        let one = |signal| {
            self.with(signal, |book| {
                let runs: BTreeMap<String, RunStats> = book
                    .runs
                    .iter()
                    .map(|(run, b)| (run.to_string(), b.stats()))
                    .collect();
                SignalStats {
                    items: book.items,
                    requests: book.requests,
                    unique: runs.values().map(|r| r.unique).sum(),
                    duplicates: runs.values().map(|r| r.duplicates).sum(),
                    max_seq: runs.values().filter_map(|r| r.max_seq).max(),
                    missing: runs.values().map(|r| r.missing).sum(),
                    untracked: book.untracked,
                    refused_requests: book.refused_requests,
                    invalid_requests: book.invalid_requests,
                    runs,
                }
            })
        };
        Stats {
            traces: one(Signal::Traces),
            metrics: one(Signal::Metrics),
            logs: one(Signal::Logs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_duplicates_and_gaps_per_run() {
        let ledger = Ledger::default();
        ledger.accepted(Signal::Traces, 4, &[(1, 0), (1, 1), (1, 3), (2, 0)]);
        ledger.accepted(Signal::Traces, 3, &[(1, 3), (2, 1)]);
        let stats = ledger.stats();
        let traces = &stats.traces;
        assert_eq!((traces.items, traces.requests), (7, 2));
        assert_eq!(
            (traces.unique, traces.duplicates, traces.missing),
            (5, 1, 1)
        );
        assert_eq!((traces.max_seq, traces.untracked), (Some(3), 1));
        assert_eq!(
            traces.runs["1"],
            RunStats {
                unique: 3,
                duplicates: 1,
                max_seq: Some(3),
                missing: 1
            }
        );
        assert_eq!(traces.runs["2"].missing, 0);
        assert_eq!(stats.logs, SignalStats::default());
    }

    #[test]
    fn seqs_across_chunks_and_past_the_cap() {
        let ledger = Ledger::default();
        let far = CHUNK_SEQS * 3 + 5;
        ledger.accepted(Signal::Logs, 3, &[(9, far), (9, far), (9, TRACKED_SEQS)]);
        let logs = ledger.stats().logs;
        assert_eq!((logs.unique, logs.duplicates, logs.untracked), (1, 1, 1));
        assert_eq!((logs.max_seq, logs.missing), (Some(far), far));
    }

    #[test]
    fn reset_forgets_and_refusals_are_counted_apart() {
        let ledger = Ledger::default();
        ledger.accepted(Signal::Metrics, 1, &[(1, 0)]);
        ledger.refused(Signal::Metrics);
        ledger.invalid(Signal::Metrics);
        let metrics = ledger.stats().metrics;
        assert_eq!(
            (
                metrics.requests,
                metrics.refused_requests,
                metrics.invalid_requests
            ),
            (1, 1, 1)
        );
        ledger.reset();
        assert_eq!(ledger.stats(), Stats::default());
    }
}
