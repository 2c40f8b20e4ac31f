//! Which reads each request carries, so a file's offset moves only once everything read before
//! it is delivered. A read (one tailer batch) gets a tag; a request carries the tags of the
//! entries in it (an entry `recombine` made of several reads carries all of theirs); a read is
//! acknowledged to the tailer once no request holding it is undelivered and the operators hold
//! nothing of it (nothing held is tagged at or below it). A read whose entries were all
//! dropped (a `filter`) is acknowledged as soon as the operators let go of it.

use std::collections::{BTreeMap, HashMap};

struct Read<T> {
    token: T,
    /// Undelivered requests holding some of it.
    outstanding: u32,
}

/// `T` is what acknowledges a read to the tailer (its `AckToken`).
pub(crate) struct Ledger<T> {
    next_tag: u64,
    next_request: u64,
    reads: BTreeMap<u64, Read<T>>,
    requests: HashMap<u64, Vec<u64>>,
}

impl<T> Default for Ledger<T> {
    fn default() -> Self {
        Ledger {
            next_tag: 0,
            next_request: 0,
            reads: BTreeMap::new(),
            requests: HashMap::new(),
        }
    }
}

impl<T> Ledger<T> {
    /// Tags a tailer batch.
    pub(crate) fn read(&mut self, token: T) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.reads.insert(
            tag,
            Read {
                token,
                outstanding: 0,
            },
        );
        tag
    }

    /// Registers a request holding entries of the reads tagged `first..=last` for each range.
    pub(crate) fn request(&mut self, ranges: impl IntoIterator<Item = (u64, u64)>) -> u64 {
        let mut tags: Vec<u64> = Vec::new();
        for (first, last) in ranges {
            for (tag, _) in self.reads.range(first..=last) {
                tags.push(*tag);
            }
        }
        tags.sort_unstable();
        tags.dedup();
        for tag in &tags {
            if let Some(read) = self.reads.get_mut(tag) {
                read.outstanding += 1;
            }
        }
        let id = self.next_request;
        self.next_request += 1;
        self.requests.insert(id, tags);
        id
    }

    /// A request was delivered (or given up on).
    pub(crate) fn delivered(&mut self, request: u64) {
        for tag in self.requests.remove(&request).unwrap_or_default() {
            if let Some(read) = self.reads.get_mut(&tag) {
                read.outstanding = read.outstanding.saturating_sub(1);
            }
        }
    }

    /// The tailer tokens that may be acknowledged now, given that the operators hold entries
    /// tagged `held_from` and above (`None`: nothing held).
    pub(crate) fn releasable(&mut self, held_from: Option<u64>) -> Vec<T> {
        let limit = held_from.unwrap_or(u64::MAX);
        let done: Vec<u64> = self
            .reads
            .range(..limit)
            .filter(|(_, read)| read.outstanding == 0)
            .map(|(tag, _)| *tag)
            .collect();
        done.into_iter()
            .filter_map(|tag| self.reads.remove(&tag).map(|r| r.token))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u64) -> u64 {
        n
    }

    #[test]
    fn a_read_is_released_once_every_request_holding_it_is_delivered() {
        let mut ledger = Ledger::<u64>::default();
        let a = ledger.read(token(1));
        let b = ledger.read(token(2));
        let r1 = ledger.request([(a, a)]);
        let r2 = ledger.request([(a, b)]);
        assert!(ledger.releasable(None).is_empty(), "both undelivered");
        ledger.delivered(r2);
        assert_eq!(ledger.releasable(None), vec![token(2)], "b is in r2 only");
        ledger.delivered(r1);
        assert_eq!(ledger.releasable(None), vec![token(1)]);
        assert!(ledger.releasable(None).is_empty(), "released once");
    }

    #[test]
    fn what_the_operators_hold_keeps_its_reads_and_later_ones() {
        let mut ledger = Ledger::<u64>::default();
        let tags: Vec<u64> = (1..=3).map(|n| ledger.read(token(n))).collect();
        // Read 1 was dropped by a filter, reads 2 and 3 are held by recombine.
        assert_eq!(ledger.releasable(Some(tags[1])), vec![token(1)]);
        let r = ledger.request([(tags[1], tags[2])]);
        assert!(ledger.releasable(None).is_empty(), "in flight");
        ledger.delivered(r);
        assert_eq!(ledger.releasable(None), vec![token(2), token(3)]);
    }
}
