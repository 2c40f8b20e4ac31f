//! Which records of a queue are done (exported, or dropped for good), and the file that keeps
//! it across restarts.
//!
//! Records finish out of order (several consumers, retries), so "done" is a contiguous prefix —
//! every sequence number below `acked` — plus ranges above it. The file, integers
//! little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 3 | magic `WQA` |
//! | 3 | 1 | format version (1) |
//! | 4 | 8 | `acked`: every record numbered below it is done |
//! | 12 | 4 | number of ranges `n` |
//! | 16 | 16·n | done ranges above `acked`: start (inclusive), end (exclusive), sorted |
//! | 16+16·n | 4 | CRC-32 of everything before it |
//!
//! It is replaced atomically: written to `ack.tmp`, fsynced, renamed over `ack`, and the folder
//! fsynced. A crash at any point leaves either the old file or the new one, whole.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const MAGIC: [u8; 3] = *b"WQA";
const VERSION: u8 = 1;
/// The file's name inside a queue folder.
pub(crate) const ACK_FILE: &str = "ack";
/// Where a new version is written before it replaces the file.
pub(crate) const ACK_TEMP: &str = "ack.tmp";

/// Done records: everything below `acked`, and the ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AckState {
    pub acked: u64,
    /// Sorted, disjoint, non-empty ranges `[start, end)`, all at or above `acked`.
    pub done: Vec<(u64, u64)>,
}

impl AckState {
    pub(crate) fn is_done(&self, seq: u64) -> bool {
        if seq < self.acked {
            return true;
        }
        let i = self.done.partition_point(|&(_, end)| end <= seq);
        self.done.get(i).is_some_and(|&(start, _)| start <= seq)
    }

    /// The first number above everything this state says is done.
    pub(crate) fn horizon(&self) -> u64 {
        self.done
            .last()
            .map_or(self.acked, |&(_, end)| end.max(self.acked))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + 16 * self.done.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.acked.to_le_bytes());
        let n = u32::try_from(self.done.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for &(start, end) in self.done.iter().take(n as usize) {
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&end.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<AckState, AckFileError> {
        if bytes.len() < 20 {
            return Err(AckFileError::Short);
        }
        if bytes[..3] != MAGIC || bytes[3] != VERSION {
            return Err(AckFileError::Format);
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32_at(crc, 0) {
            return Err(AckFileError::Checksum);
        }
        let acked = u64_at(body, 4);
        let n = u32_at(body, 12) as usize;
        if n.checked_mul(16).and_then(|r| r.checked_add(16)) != Some(body.len()) {
            return Err(AckFileError::Format);
        }
        let done: Vec<(u64, u64)> = (0..n)
            .map(|i| (u64_at(body, 16 + 16 * i), u64_at(body, 24 + 16 * i)))
            .collect();
        let mut floor = acked;
        for &(start, end) in &done {
            if start < floor || end <= start {
                return Err(AckFileError::Format);
            }
            floor = end;
        }
        Ok(AckState { acked, done })
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Why an acknowledgement file cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AckFileError {
    #[error("file cut short")]
    Short,
    #[error("not an acknowledgement file of this format")]
    Format,
    #[error("checksum mismatch")]
    Checksum,
}

/// Reads the acknowledgement file of the queue folder `dir`; `None` when there is none.
pub(crate) fn read(dir: &Path) -> io::Result<Option<Result<AckState, AckFileError>>> {
    match fs::read(dir.join(ACK_FILE)) {
        Ok(bytes) => Ok(Some(AckState::decode(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A new version written next to the file, not yet in its place.
pub(crate) struct Staged {
    dir: PathBuf,
    sync: bool,
}

/// Writes `state` to `ack.tmp` (fsynced when `sync`), the first half of a replacement.
pub(crate) fn stage(dir: &Path, state: &AckState, sync: bool) -> io::Result<Staged> {
    let mut file = File::create(dir.join(ACK_TEMP))?;
    file.write_all(&state.encode())?;
    if sync {
        file.sync_all()?;
    }
    Ok(Staged {
        dir: dir.to_path_buf(),
        sync,
    })
}

impl Staged {
    /// Renames the staged file over the current one; with `sync`, the folder is fsynced so the
    /// rename itself survives a power loss.
    pub(crate) fn commit(self) -> io::Result<()> {
        fs::rename(self.dir.join(ACK_TEMP), self.dir.join(ACK_FILE))?;
        if self.sync {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Fsyncs a directory, making the creation, removal and renaming of its entries durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Done records above the contiguous prefix, kept as merged ranges: consumers finishing out of
/// order leave holes, and a range per hole keeps this as small as the number of records still
/// outstanding below the newest done one.
#[derive(Debug, Default)]
pub(crate) struct DoneSet {
    /// start → end (exclusive), disjoint and not adjacent.
    ranges: BTreeMap<u64, u64>,
}

impl DoneSet {
    pub(crate) fn from_ranges(ranges: &[(u64, u64)]) -> DoneSet {
        let mut set = DoneSet::default();
        for &(start, end) in ranges {
            set.insert_range(start, end);
        }
        set
    }

    pub(crate) fn insert(&mut self, seq: u64) {
        self.insert_range(seq, seq.saturating_add(1));
    }

    fn insert_range(&mut self, mut start: u64, mut end: u64) {
        if end <= start {
            return;
        }
        // Absorb every range touching or overlapping [start, end).
        let touching: Vec<(u64, u64)> = self
            .ranges
            .range(..=end)
            .rev()
            .take_while(|&(_, &e)| e >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in touching {
            self.ranges.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
    }

    /// Forgets what lies below `acked` (the contiguous prefix covers it) and returns the
    /// ranges above.
    pub(crate) fn above(&mut self, acked: u64) -> Vec<(u64, u64)> {
        let below: Vec<u64> = self.ranges.range(..acked).map(|(&s, _)| s).collect();
        for s in below {
            if let Some(e) = self.ranges.remove(&s)
                && e > acked
            {
                self.ranges.insert(acked, e);
            }
        }
        self.ranges.iter().map(|(&s, &e)| (s, e)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_any_damage_is_refused() {
        let state = AckState {
            acked: 7,
            done: vec![(9, 12), (20, 21)],
        };
        let bytes = state.encode();
        assert_eq!(AckState::decode(&bytes), Ok(state.clone()));
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x08;
            assert!(AckState::decode(&damaged).is_err(), "byte {i}");
        }
        for len in 0..bytes.len() {
            assert!(AckState::decode(&bytes[..len]).is_err(), "length {len}");
        }
        assert!(state.is_done(6) && !state.is_done(7) && !state.is_done(8));
        assert!(state.is_done(9) && state.is_done(11) && !state.is_done(12));
        assert!(state.is_done(20) && !state.is_done(21));
        assert_eq!(state.horizon(), 21);
    }

    #[test]
    fn done_ranges_merge_and_are_trimmed_below_the_prefix() {
        let mut set = DoneSet::default();
        for seq in [5, 7, 6, 10, 12, 11, 20] {
            set.insert(seq);
        }
        assert_eq!(set.above(0), vec![(5, 8), (10, 13), (20, 21)]);
        assert_eq!(set.above(11), vec![(11, 13), (20, 21)]);
        assert_eq!(set.above(21), vec![]);
        let set = DoneSet::from_ranges(&[(1, 3), (3, 4), (2, 9)]);
        assert_eq!(set.ranges.into_iter().collect::<Vec<_>>(), vec![(1, 9)]);
    }

    #[test]
    fn a_crash_between_staging_and_renaming_leaves_the_old_file_valid() {
        let dir = tempfile::tempdir().unwrap();
        let old = AckState {
            acked: 3,
            done: vec![],
        };
        stage(dir.path(), &old, true).unwrap().commit().unwrap();
        let new = AckState {
            acked: 9,
            done: vec![(11, 12)],
        };
        // Staged but never renamed: what a crash right before the rename leaves.
        drop(stage(dir.path(), &new, true).unwrap());
        assert_eq!(read(dir.path()).unwrap(), Some(Ok(old.clone())));
        // A staged file torn by the crash does not matter either.
        fs::write(dir.path().join(ACK_TEMP), &new.encode()[..10]).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(Ok(old)));
        stage(dir.path(), &new, false).unwrap().commit().unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(Ok(new)));
        assert!(!dir.path().join(ACK_TEMP).exists());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let _ = AckState::decode(&bytes);
            let mut sealed = bytes.clone();
            sealed.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
            if let Ok(state) = AckState::decode(&sealed) {
                proptest::prop_assert_eq!(state.encode(), sealed);
            }
        }
    }
}
