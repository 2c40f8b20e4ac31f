//! Opening a queue folder left by an earlier run: which stored batches are still to be
//! delivered, in order, and repairing what a crash or a bad disk left behind. Damage is cut or
//! skipped with a warning naming the file and offset; it never stops the queue from opening.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use weir_core::batch::Signal;

use super::StoreError;
use super::ack::{self, ACK_TEMP, AckState, DoneSet};
use super::record::{self, Damage, RecordHeader};

const SEGMENT_SUFFIX: &str = ".seg";

/// The file name of the segment whose first record is numbered `seq`: zero-padded, so names
/// sort as numbers do.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("{seq:020}{SEGMENT_SUFFIX}")
}

fn segment_seq(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment file of the queue.
#[derive(Debug)]
pub(crate) struct Segment {
    pub path: PathBuf,
    /// Its length on disk.
    pub bytes: u64,
    /// Opened on the first read of one of its records, shared by concurrent reads.
    pub reader: Option<Arc<File>>,
}

/// One stored batch not yet done.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub header: RecordHeader,
    /// First sequence number (key) of the segment holding it.
    pub segment: u64,
    pub offset: u64,
    /// What it counts against the queue's capacity.
    pub cost: u64,
    /// The payload, when still in memory from being written (the read-ahead).
    pub cached: Option<Bytes>,
}

/// What an earlier run left, ready to continue from.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub pending: VecDeque<Entry>,
    pub segments: BTreeMap<u64, Segment>,
    /// Done records above the contiguous prefix, carried over from the acknowledgement file.
    pub done: DoneSet,
    /// The first sequence number the next record may take: above every number used before,
    /// so an old acknowledgement can never cover a new record.
    pub next_seq: u64,
    pub report: RecoveryReport,
}

/// What recovery found, for the log and the tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RecoveryReport {
    /// Batches to be delivered (again).
    pub batches: u64,
    pub items: u64,
    /// Damaged stretches that were cut (tails) or skipped.
    pub tails_cut: u64,
    pub skipped: u64,
    /// Records lost inside skipped stretches, by their sequence numbers.
    pub lost_records: u64,
    /// The acknowledgement file was unreadable: everything stored is delivered again.
    pub ack_reset: bool,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads the queue folder `dir`: the acknowledgement file, then every segment in order.
/// `cost` prices a record against the queue's capacity; `sync` fsyncs repairs.
pub(crate) fn recover(
    dir: &Path,
    signal: Signal,
    cost: impl Fn(&RecordHeader) -> u64,
    sync: bool,
) -> Result<Recovered, StoreError> {
    // A staged acknowledgement a crash kept from being renamed: the previous one still holds.
    match fs::remove_file(dir.join(ACK_TEMP)) {
        Ok(()) => {
            tracing::debug!(folder = %dir.display(), "removed an unfinished acknowledgement file")
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&dir.join(ACK_TEMP))(e)),
    }
    let mut report = RecoveryReport::default();
    let acks = match ack::read(dir).map_err(io_error(&dir.join(ack::ACK_FILE)))? {
        None => AckState::default(),
        Some(Ok(state)) => state,
        Some(Err(e)) => {
            tracing::warn!(file = %dir.join(ack::ACK_FILE).display(), error = %e,
                "persistent queue: the record of exported batches is unreadable; every stored batch will be delivered again");
            report.ack_reset = true;
            AckState::default()
        }
    };

    let mut names = Vec::new();
    for item in fs::read_dir(dir).map_err(io_error(dir))? {
        let item = item.map_err(io_error(dir))?;
        if let Some(seq) = item.file_name().to_str().and_then(segment_seq) {
            names.push((seq, item.path()));
        }
    }
    names.sort();

    let mut next_seq = acks.horizon();
    let mut pending = VecDeque::new();
    let mut segments = BTreeMap::new();
    for (first, path) in names {
        next_seq = next_seq.max(first.saturating_add(1));
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        let scan = record::scan(&bytes, signal, first);
        let mut length = bytes.len() as u64;
        for damage in &scan.damage {
            match *damage {
                Damage::Skipped {
                    offset,
                    resumed_at,
                    lost,
                } => {
                    report.skipped += 1;
                    report.lost_records += lost;
                    tracing::warn!(file = %path.display(), offset, resumed_at, lost_batches = lost,
                        "persistent queue: corrupt data skipped; the batches stored there are lost");
                }
                Damage::Tail { offset, bytes } => {
                    report.tails_cut += 1;
                    length = offset;
                    tracing::warn!(file = %path.display(), offset, bytes,
                        "persistent queue: torn or corrupt end of a segment cut (a write interrupted by a crash, or damage)");
                    if let Err(e) = cut(&path, offset, sync) {
                        // Harmless: the next start finds and skips the same bytes again.
                        tracing::warn!(file = %path.display(), error = %e, "persistent queue: could not cut the segment");
                    }
                }
            }
        }
        let mut live = false;
        for (offset, header) in scan.records {
            next_seq = next_seq.max(header.seq.saturating_add(1));
            if acks.is_done(header.seq) {
                continue;
            }
            live = true;
            report.batches += 1;
            report.items += u64::from(header.items);
            pending.push_back(Entry {
                cost: cost(&header),
                header,
                segment: first,
                offset,
                cached: None,
            });
        }
        if live {
            segments.insert(
                first,
                Segment {
                    path,
                    bytes: length,
                    reader: None,
                },
            );
        } else if let Err(e) = fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), error = %e, "persistent queue: could not remove a finished segment");
        }
    }
    Ok(Recovered {
        pending,
        segments,
        done: DoneSet::from_ranges(&acks.done),
        next_seq,
        report,
    })
}

fn cut(path: &Path, at: u64, sync: bool) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(at)?;
    if sync {
        file.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_as_numbers_and_others_are_ignored() {
        assert_eq!(segment_name(42), "00000000000000000042.seg");
        assert_eq!(segment_seq(&segment_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(segment_seq("42.seg"), None);
        assert_eq!(segment_seq("0000000000000000004x.seg"), None);
        assert_eq!(segment_seq("ack"), None);
        assert!(segment_name(9) < segment_name(10));
    }
}
