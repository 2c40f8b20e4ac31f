//! The engine: each poll finds files, knows them by fingerprint, finishes the ones that went
//! away from their open handles, reads the rest from their offsets, and ages out checkpoints.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::batch::{AckToken, Batch, FileNames};
use crate::checkpoint::{AckLog, FileCheckpoint, TailerState};
use crate::config::{ConfigError, TailerConfig};
use crate::counters::Counters;
use crate::finder::{Finder, Found};
use crate::fingerprint::Fingerprint;
use crate::reader::{Cursor, Flow, ReadEnd, Reading};
use crate::split::Splitter;

mod handles;
mod matching;

use handles::{GZ_CACHE, GzCursor, Open};

/// A file that could not be opened or read. Reported once when it starts failing; it is
/// retried at every poll and reported again only after it has worked in between.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The path as matched.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollReport {
    /// Files the globs matched.
    pub matched: usize,
    /// Batches handed over.
    pub batches: usize,
    /// Reading stopped before every file was read to its end (the callback said stop, or
    /// unacknowledged batches or bytes reached their limits): poll again once batches are
    /// acknowledged rather than after a full `poll_interval`.
    pub stopped: bool,
    /// Files that started failing in this poll.
    pub errors: Vec<FileError>,
}

/// One file the tailer knows, by fingerprint.
#[derive(Debug)]
struct Known {
    fingerprint: Fingerprint,
    cursor: Cursor,
    /// The poll that last matched it (a file is matched by one path per poll).
    seen_poll: u64,
    /// The pass (every matched file's turn once) in which it was last matched.
    seen_pass: u64,
    gzip: bool,
    /// A gzip file read to its end, or a file deleted after reading: not read again.
    finished: bool,
    /// `delete_after_read`: delete once everything up to here is acknowledged.
    delete_at: Option<u64>,
    /// Device and inode where it was last found, so a path reused by another file is not
    /// deleted in its place.
    inode: Option<(u64, u64)>,
}

/// How reading one file ended, for the poll.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Read to its end, failed, or not to be read.
    Done,
    /// This file has all the unacknowledged batches it may; others go on.
    Full,
    /// The poll must stop.
    Stop,
}

/// Tails the files a [`TailerConfig`] names. Synchronous: drive it from one blocking thread
/// (`poll` every `poll_interval`, `ack` as batches are accepted downstream, `state` to persist).
pub struct Tailer {
    cfg: TailerConfig,
    finder: Finder,
    splitter: Splitter,
    counters: Arc<Counters>,
    known: HashMap<u64, Known>,
    next_id: u64,
    previous: Vec<Open>,
    gz_cache: Vec<GzCursor>,
    failing: HashSet<PathBuf>,
    polls: u64,
    /// Complete passes over the matched files; files first met in pass 0 obey `start_at`.
    passes: u64,
    groups_in_pass: usize,
    /// The group the next poll starts with.
    next_group: usize,
    unacked_bytes: u64,
    /// A file was left unread in this poll because of its unacknowledged batches.
    held_back: bool,
    state_version: u64,
    buf: Vec<u8>,
}

impl Tailer {
    /// A tailer that knows no files yet; [`Tailer::restore`] gives it a saved state.
    pub fn new(cfg: TailerConfig) -> Result<Tailer, ConfigError> {
        cfg.check()?;
        let finder = Finder::new(&cfg.include, &cfg.exclude, cfg.exclude_older_than)?;
        let splitter = Splitter::new(cfg.encoding, cfg.multiline.as_ref())?;
        Ok(Tailer {
            cfg,
            finder,
            splitter,
            counters: Arc::default(),
            known: HashMap::new(),
            next_id: 0,
            previous: Vec::new(),
            gz_cache: Vec::new(),
            failing: HashSet::new(),
            polls: 0,
            passes: 0,
            groups_in_pass: 0,
            next_group: 0,
            unacked_bytes: 0,
            held_back: false,
            state_version: 0,
            buf: Vec::new(),
        })
    }

    /// The counters, shared: read them from any thread.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// File bytes handed over and not yet acknowledged.
    pub fn unacked_bytes(&self) -> u64 {
        self.unacked_bytes
    }

    /// Batches handed over and not yet behind a committed offset (acknowledged out of order
    /// ones included): zero when everything read is committed, e.g. before a clean shutdown.
    pub fn unacked_batches(&self) -> usize {
        self.known.values().map(|k| k.cursor.acks.pending()).sum()
    }

    /// Goes up whenever [`Tailer::state`] would say something new: save the state when it moved.
    pub fn state_version(&self) -> u64 {
        self.state_version
    }

    /// Every known file's fingerprint and committed offset.
    pub fn state(&self) -> TailerState {
        let mut known: Vec<(&u64, &Known)> = self.known.iter().collect();
        known.sort_by_key(|(id, _)| **id);
        let files = known
            .into_iter()
            .map(|(_, k)| FileCheckpoint {
                fingerprint: k.fingerprint.0.clone(),
                offset: k.cursor.acks.committed(),
                path: k.cursor.names.path.clone(),
                // Finished only counts once nothing read from it can still be lost.
                finished: k.finished && k.cursor.acks.pending() == 0,
                inode: k.inode,
            })
            .collect();
        TailerState { files }
    }

    /// Takes a saved state: its files are known and resume at their committed offsets (so what
    /// was handed over but never acknowledged is read again). Call before the first poll.
    pub fn restore(&mut self, state: TailerState) {
        for file in state.files {
            if file.fingerprint.is_empty() {
                continue;
            }
            let id = self.new_id();
            let names = Arc::new(FileNames::new(file.path.clone(), file.path));
            self.known.insert(
                id,
                Known {
                    fingerprint: Fingerprint(file.fingerprint),
                    cursor: Cursor {
                        id,
                        names,
                        read_offset: file.offset,
                        acks: AckLog::new(file.offset),
                        tail_since: None,
                    },
                    seen_poll: self.polls,
                    seen_pass: self.passes,
                    gzip: false,
                    finished: file.finished,
                    delete_at: None,
                    inode: file.inode,
                },
            );
        }
    }

    /// Acknowledges a batch: the pipeline has it. Tokens may come in any order; the committed
    /// offset moves over the acknowledged prefix. Unknown or repeated tokens are ignored.
    pub fn ack(&mut self, token: AckToken) {
        let Some(known) = self.known.get_mut(&token.file) else {
            return;
        };
        let Some(acked) = known.cursor.acks.ack(token.seq) else {
            return;
        };
        self.unacked_bytes = self.unacked_bytes.saturating_sub(acked.bytes);
        if acked.moved {
            self.state_version += 1;
            delete_if_done(known);
        }
    }

    /// One poll, now.
    pub fn poll(&mut self, sink: impl FnMut(Batch) -> Flow) -> PollReport {
        self.poll_at(Instant::now(), sink)
    }

    /// One poll at `now` (for `force_flush_period`): hands each batch to `sink`, in file order
    /// within a file.
    pub fn poll_at(&mut self, now: Instant, mut sink: impl FnMut(Batch) -> Flow) -> PollReport {
        self.polls += 1;
        self.held_back = false;
        let found = self.finder.find();
        let mut report = PollReport {
            matched: found.len(),
            ..PollReport::default()
        };
        let mut counted = |batch: Batch| {
            report.batches += 1;
            sink(batch)
        };
        let matched: HashSet<&Path> = found.iter().map(|f| f.path.as_path()).collect();
        self.failing.retain(|p| matched.contains(p.as_path()));
        let group = (self.cfg.max_concurrent_files / 2).max(1);
        let mut errors = Vec::new();
        let present: HashSet<(u64, u64)> = found.iter().filter_map(|f| f.inode).collect();
        let mut stopped = self.finish_lost(&present, now, &mut counted, &mut errors);
        let groups: Vec<&[Found]> = found.chunks(group).collect();
        if groups.is_empty() {
            self.pass_done();
        }
        // Groups are read round-robin from where the last poll left off, so that neither
        // `max_batches` nor backpressure starves the files late in the list (otelcol would
        // start from the first group every poll).
        let limit = match self.cfg.max_batches {
            0 => groups.len(),
            n => n.min(groups.len()),
        };
        let mut next = if self.next_group < groups.len() {
            self.next_group
        } else {
            0
        };
        for _ in 0..limit {
            if stopped {
                break;
            }
            let first = self.passes == 0;
            stopped = self.consume(groups[next], first, now, &mut counted, &mut errors);
            if stopped {
                // The next poll starts with this group again; its files read to their end
                // cost a fingerprint and a seek, nothing is read twice.
                break;
            }
            next = (next + 1) % groups.len();
            self.groups_in_pass += 1;
            if self.groups_in_pass >= groups.len() {
                self.pass_done();
            }
        }
        self.next_group = next;
        report.stopped = stopped || self.held_back;
        report.errors = errors;
        report
    }

    /// Opens, matches and reads one group of paths; true when reading must stop.
    fn consume(
        &mut self,
        paths: &[Found],
        first: bool,
        now: Instant,
        sink: &mut dyn FnMut(Batch) -> Flow,
        errors: &mut Vec<FileError>,
    ) -> bool {
        let opened = self.open_all(paths, errors);
        let ids = self.match_all(&opened, first);
        let mut stopped = false;
        for (o, id) in opened.iter().zip(&ids) {
            let Some(id) = *id else { continue };
            if stopped {
                break;
            }
            stopped = self.read_known(id, &o.file, &o.found.path, false, now, sink, errors)
                == Outcome::Stop;
        }
        // Only the last group stays open, so at most `max_concurrent_files` are open at once.
        self.previous.retain(|o| o.lost);
        let group = opened
            .into_iter()
            .zip(ids)
            .filter_map(|(o, id)| Some((o, id?)))
            .filter(|(o, _)| !o.gzip);
        self.previous.extend(group.map(|(o, id)| Open {
            id,
            file: o.file,
            inode: o.inode,
            lost: false,
            _count: o.count,
        }));
        stopped
    }

    /// Files that were open and are no longer matched were moved out of `include` or deleted:
    /// what was written before that is still behind their handles. A handle that no longer
    /// shows the same file (a copytruncate leaves it on the truncated original) is closed.
    /// True when reading must stop.
    fn finish_lost(
        &mut self,
        present: &HashSet<(u64, u64)>,
        now: Instant,
        sink: &mut dyn FnMut(Batch) -> Flow,
        errors: &mut Vec<FileError>,
    ) -> bool {
        let mut stopped = false;
        let mut keep = Vec::new();
        for mut open in std::mem::take(&mut self.previous) {
            if present.contains(&open.inode) {
                continue;
            }
            let Some(known) = self.known.get(&open.id) else {
                continue;
            };
            let same = Fingerprint::of_file(&open.file, known.fingerprint.0.len())
                .is_ok_and(|fp| fp == known.fingerprint);
            if !same {
                continue;
            }
            if stopped {
                keep.push(open);
                continue;
            }
            let path = known.cursor.names.path.clone();
            match self.read_known(open.id, &open.file, &path, true, now, sink, errors) {
                Outcome::Done => {}
                outcome => {
                    stopped = outcome == Outcome::Stop;
                    open.lost = true;
                    keep.push(open);
                }
            }
        }
        self.previous = keep;
        stopped
    }

    /// Reads one known file from its read offset through `file`.
    #[allow(clippy::too_many_arguments)]
    fn read_known(
        &mut self,
        id: u64,
        file: &File,
        path: &Path,
        gone: bool,
        now: Instant,
        sink: &mut dyn FnMut(Batch) -> Flow,
        errors: &mut Vec<FileError>,
    ) -> Outcome {
        let Some(known) = self.known.get_mut(&id) else {
            return Outcome::Done;
        };
        if known.finished {
            return Outcome::Done;
        }
        let mut reading = Reading {
            cfg: &self.cfg,
            splitter: &self.splitter,
            counters: &self.counters,
            buf: &mut self.buf,
            unacked_bytes: &mut self.unacked_bytes,
            sink,
            now,
            same_file: (!known.gzip).then_some((file, &known.fingerprint)),
        };
        let offset = known.cursor.read_offset;
        let result = if known.gzip {
            // A decoder left where the last read of this file stopped saves decompressing
            // everything before it again.
            let cached = self
                .gz_cache
                .iter()
                .position(|g| g.id == id && g.pos == offset);
            let resumed = match cached {
                Some(i) => Ok(self.gz_cache.remove(i)),
                None => GzCursor::open(id, file, offset, &self.counters),
            };
            resumed.and_then(|mut gz| {
                if gz.pos < offset {
                    return Ok(ReadEnd::Eof { tail: false });
                }
                let end = reading.read(&mut known.cursor, &mut gz.decoder, true)?;
                gz.pos = known.cursor.read_offset;
                if end != (ReadEnd::Eof { tail: false }) {
                    if self.gz_cache.len() >= GZ_CACHE {
                        self.gz_cache.remove(0);
                    }
                    self.gz_cache.push(gz);
                }
                Ok(end)
            })
        } else {
            let mut handle = file;
            handle
                .seek(SeekFrom::Start(offset))
                .and_then(|_| reading.read(&mut known.cursor, &mut handle, gone))
        };
        if result.is_ok() {
            self.failing.remove(path);
        }
        match result {
            Ok(ReadEnd::Eof { tail }) => {
                if known.gzip {
                    known.finished = true;
                }
                if self.cfg.delete_after_read && !tail && !gone {
                    known.delete_at = Some(known.cursor.read_offset);
                    delete_if_done(known);
                }
                Outcome::Done
            }
            Ok(ReadEnd::FileFull) => {
                self.held_back = true;
                Outcome::Full
            }
            Ok(ReadEnd::Stopped) => Outcome::Stop,
            Ok(ReadEnd::Changed) => Outcome::Done,
            Err(source) => {
                let path = path.to_path_buf();
                self.fail(&path, source, errors);
                Outcome::Done
            }
        }
    }

    fn fail(&mut self, path: &Path, source: io::Error, errors: &mut Vec<FileError>) {
        if self.failing.insert(path.to_path_buf()) {
            Counters::add(&self.counters.read_errors, 1);
            errors.push(FileError {
                path: path.to_path_buf(),
                source,
            });
        }
    }

    /// Every matched file has had its turn since the last pass: drops checkpoints of files
    /// unseen for `forget_after_polls` passes, unless batches of theirs are still
    /// unacknowledged, so the state stays as large as the files on disk.
    fn pass_done(&mut self) {
        self.passes += 1;
        self.groups_in_pass = 0;
        let passes = self.passes;
        let keep = self.cfg.forget_after_polls;
        let open: HashSet<u64> = self.previous.iter().map(|o| o.id).collect();
        let before = self.known.len();
        self.known.retain(|id, k| {
            k.seen_pass + keep >= passes || k.cursor.acks.pending() > 0 || open.contains(id)
        });
        if self.known.len() != before {
            self.state_version += 1;
            let known = &self.known;
            self.gz_cache.retain(|g| known.contains_key(&g.id));
        }
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// `delete_after_read`: deletes the file once everything read from it is acknowledged, if its
/// path still names the same file.
fn delete_if_done(known: &mut Known) {
    let Some(at) = known.delete_at else { return };
    if known.cursor.acks.committed() < at || known.cursor.acks.pending() > 0 {
        return;
    }
    let path = &known.cursor.names.path;
    let same = std::fs::metadata(path).is_ok_and(|m| Some((m.dev(), m.ino())) == known.inode);
    if same && std::fs::remove_file(path).is_ok() {
        known.finished = true;
        known.delete_at = None;
    }
}
