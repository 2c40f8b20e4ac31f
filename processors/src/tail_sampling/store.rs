//! Where traces are while the processor knows them: held (spans waiting for the decision),
//! decided and still in memory (late spans follow the decision), or only remembered by the
//! decision caches. At most `num_traces` traces are in memory, held or decided: a new one
//! pushes out the oldest, which is decided at once if it was still held.

use std::collections::VecDeque;
use std::time::Duration;

use hashlink::LruCache;
use tokio::time::Instant;

use super::held::{IdMap, Piece, TraceId};
use super::trace::Trace;

/// What the store knows of a trace id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    /// Held, waiting for its decision.
    Held,
    /// Decided at `at` and still in memory: `kept` is the decision.
    Late { kept: bool, at: Instant },
    /// Decided and forgotten, but remembered by a decision cache: `true` kept.
    Cached(bool),
    /// Never seen, or forgotten.
    New,
}

type Cache = LruCache<TraceId, (), foldhash::fast::RandomState>;

pub(crate) struct Store {
    held: IdMap<Trace>,
    /// Decided traces still in memory: the decision and when it was made.
    decided: IdMap<(bool, Instant)>,
    /// Every trace in memory, held or decided, oldest first.
    ring: VecDeque<TraceId>,
    /// Held traces by arrival (entries of traces decided early stay until they reach the
    /// front).
    pending: VecDeque<(Instant, TraceId)>,
    sampled: Option<Cache>,
    non_sampled: Option<Cache>,
    num_traces: usize,
    /// Bytes of the held spans and their headers (the requests they point into are what the
    /// memory limiter counts, see [`super::held`]).
    held_bytes: usize,
}

impl Store {
    pub(crate) fn new(
        num_traces: usize,
        expected: usize,
        sampled_cache: usize,
        non_sampled_cache: usize,
    ) -> Store {
        let cache = |size: usize| (size > 0).then(|| Cache::with_hasher(size, Default::default()));
        let expected = expected.min(num_traces);
        Store {
            held: IdMap::with_capacity_and_hasher(expected, Default::default()),
            decided: IdMap::with_capacity_and_hasher(expected, Default::default()),
            ring: VecDeque::with_capacity(expected),
            pending: VecDeque::with_capacity(expected),
            sampled: cache(sampled_cache),
            non_sampled: cache(non_sampled_cache),
            num_traces,
            held_bytes: 0,
        }
    }

    pub(crate) fn known(&mut self, id: &TraceId) -> Known {
        if self.held.contains_key(id) {
            return Known::Held;
        }
        if let Some(&(kept, at)) = self.decided.get(id) {
            return Known::Late { kept, at };
        }
        if let Some(cache) = &mut self.sampled
            && cache.get(id).is_some()
        {
            return Known::Cached(true);
        }
        if let Some(cache) = &mut self.non_sampled
            && cache.get(id).is_some()
        {
            return Known::Cached(false);
        }
        Known::New
    }

    /// Makes room for one more trace: the oldest trace in memory is forgotten, and returned
    /// if it was still held (to be decided now).
    pub(crate) fn make_room(&mut self) -> Option<(TraceId, Trace)> {
        while self.ring.len() >= self.num_traces {
            let oldest = self.ring.pop_front()?;
            if self.decided.remove(&oldest).is_none()
                && let Some(trace) = self.take(&oldest)
            {
                return Some((oldest, trace));
            }
        }
        None
    }

    /// Holds `piece` of trace `id` (new or held).
    pub(crate) fn hold(&mut self, id: TraceId, piece: Piece, now: Instant) {
        let trace = self.held.entry(id).or_insert_with(|| {
            self.ring.push_back(id);
            self.pending.push_back((now, id));
            Trace::new(now)
        });
        let bytes = trace.push(piece);
        self.held_bytes += bytes;
    }

    /// The next held trace whose wait is over at `now`.
    pub(crate) fn next_due(&mut self, wait: Duration, now: Instant) -> Option<(TraceId, Trace)> {
        while let Some(&(arrival, id)) = self.pending.front() {
            if arrival + wait > now {
                return None;
            }
            self.pending.pop_front();
            if let Some(trace) = self.take(&id) {
                return Some((id, trace));
            }
        }
        None
    }

    /// The oldest held trace, whatever its wait (shutdown).
    pub(crate) fn next_held(&mut self) -> Option<(TraceId, Trace)> {
        while let Some((_, id)) = self.pending.pop_front() {
            if let Some(trace) = self.take(&id) {
                return Some((id, trace));
            }
        }
        None
    }

    /// When the oldest held trace is due (or a little earlier, if it was decided early).
    pub(crate) fn deadline(&self, wait: Duration) -> Option<Instant> {
        self.pending.front().map(|&(arrival, _)| arrival + wait)
    }

    /// Records the decision of a trace taken out of the store. It stays in memory if it still
    /// is in the ring (decided on time), and goes into the cache of its kind.
    pub(crate) fn decided(&mut self, id: TraceId, kept: bool, in_ring: bool, now: Instant) {
        if in_ring {
            self.decided.insert(id, (kept, now));
        }
        let cache = if kept {
            &mut self.sampled
        } else {
            &mut self.non_sampled
        };
        if let Some(cache) = cache {
            cache.insert(id, ());
        }
    }

    /// Traces in memory, held or decided.
    pub(crate) fn in_memory(&self) -> usize {
        self.ring.len()
    }

    /// Traces held.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// Bytes held.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    fn take(&mut self, id: &TraceId) -> Option<Trace> {
        let trace = self.held.remove(id)?;
        self.held_bytes -= trace.bytes;
        Some(trace)
    }
}
