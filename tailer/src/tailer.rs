//! The engine: each poll finds files, knows them by fingerprint, finishes the ones that went
//! away from their open handles, reads the rest from their offsets, and ages out checkpoints.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use flate2::read::MultiGzDecoder;

use crate::batch::{AckToken, Batch, FileNames};
use crate::checkpoint::{AckLog, FileCheckpoint, TailerState};
use crate::config::{Compression, ConfigError, StartAt, TailerConfig};
use crate::counters::Counters;
use crate::finder::{Finder, Found};
use crate::fingerprint::Fingerprint;
use crate::reader::{Cursor, Flow, ReadEnd, Reading};
use crate::split::Splitter;

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

/// A file kept open until the next group is matched, so that one that went away can be
/// finished from its handle.
struct Open {
    id: u64,
    file: File,
    inode: (u64, u64),
    /// Gone from the matched files and not yet read to its end.
    lost: bool,
    _count: OpenCount,
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

/// Holds one count of `files_open` for as long as a handle lives.
struct OpenCount(Arc<Counters>);

impl OpenCount {
    fn new(counters: &Arc<Counters>) -> OpenCount {
        Counters::add(&counters.files_open, 1);
        OpenCount(counters.clone())
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0
            .files_open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Gzip decoders kept between polls, for files whose reading stopped before their end.
const GZ_CACHE: usize = 4;

/// A gzip file's decoder, `pos` bytes into the decompressed stream.
struct GzCursor {
    id: u64,
    pos: u64,
    decoder: MultiGzDecoder<BufReader<File>>,
    _count: OpenCount,
}

impl GzCursor {
    /// A decoder on its own handle to `file`, moved to `offset` (or to the end, if shorter).
    fn open(id: u64, file: &File, offset: u64, counters: &Arc<Counters>) -> io::Result<GzCursor> {
        let mut own = file.try_clone()?;
        own.seek(SeekFrom::Start(0))?;
        let mut decoder = MultiGzDecoder::new(BufReader::new(own));
        let pos = io::copy(&mut (&mut decoder).take(offset), &mut io::sink())?;
        Ok(GzCursor {
            id,
            pos,
            decoder,
            _count: OpenCount::new(counters),
        })
    }
}

/// A matched path opened this group.
struct Opened {
    found: Found,
    file: File,
    fingerprint: Fingerprint,
    size: u64,
    inode: (u64, u64),
    gzip: bool,
    count: OpenCount,
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

    fn open_all(&mut self, paths: &[Found], errors: &mut Vec<FileError>) -> Vec<Opened> {
        let mut opened: Vec<Opened> = Vec::with_capacity(paths.len());
        for found in paths {
            let file = File::open(&found.path).and_then(|file| {
                let meta = file.metadata()?;
                let fingerprint = Fingerprint::of_file(&file, self.cfg.fingerprint_size)?;
                Ok((file, meta, fingerprint))
            });
            let (file, meta, fingerprint) = match file {
                Ok(ok) => ok,
                // Gone between the walk and the open (rotated or deleted): not an error.
                Err(source) if source.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => {
                    self.fail(&found.path, source, errors);
                    continue;
                }
            };
            let inode = (meta.dev(), meta.ino());
            // Empty files wait for content; a file met twice (a symlink and its target) is
            // read once.
            if fingerprint.is_empty() {
                // Opened and read: whatever failed before works now.
                self.failing.remove(&found.path);
            }
            if fingerprint.is_empty()
                || opened
                    .iter()
                    .any(|o| o.inode == inode || o.fingerprint == fingerprint)
            {
                continue;
            }
            let gzip = match self.cfg.compression {
                Compression::None => false,
                Compression::Gzip => true,
                Compression::Auto => found.path.extension().is_some_and(|e| e == "gz"),
            };
            let count = OpenCount::new(&self.counters);
            opened.push(Opened {
                found: found.clone(),
                file,
                fingerprint,
                size: meta.len(),
                inode,
                gzip,
                count,
            });
        }
        opened
    }

    /// Whether known file `k` can be the opened file: its fingerprint starts the file's, no
    /// other path matched it this poll, and (for a plain file) the file is not shorter than
    /// where reading was, which would make it new content.
    fn fits(&self, k: &Known, o: &Opened) -> bool {
        // On another inode, a shorter file is a copy still being written (copytruncate): it
        // is the known file, read once it grows past where reading was.
        let shorter_here = !o.gzip && k.cursor.read_offset > o.size && k.inode == Some(o.inode);
        k.seen_poll != self.polls && k.fingerprint.is_start_of(&o.fingerprint) && !shorter_here
    }

    /// Whether `o` is the start of a known file on another inode: a copy still being written,
    /// which waits for its next poll rather than be taken for a new file and read twice.
    fn is_partial_copy(&self, o: &Opened) -> bool {
        self.known.values().any(|k| {
            k.inode != Some(o.inode)
                && k.fingerprint.0.len() > o.fingerprint.0.len()
                && k.fingerprint.0.starts_with(&o.fingerprint.0)
        })
    }

    /// The known file each opened one is, or a new one. Files still on the inode they were
    /// read from are matched first, so a short fingerprint that also starts another file (a
    /// new file after a rename with the same first line) does not take the wrong one; the
    /// rest by the longest fitting fingerprint (a copy has a new inode).
    fn match_all(&mut self, opened: &[Opened], first: bool) -> Vec<Option<u64>> {
        let by_inode: HashMap<(u64, u64), u64> = self
            .known
            .iter()
            .filter_map(|(id, k)| Some((k.inode?, *id)))
            .collect();
        let mut ids: Vec<Option<u64>> = vec![None; opened.len()];
        for (slot, o) in ids.iter_mut().zip(opened) {
            let id = by_inode.get(&o.inode).copied();
            if let Some(id) = id.filter(|id| self.fits(&self.known[id], o)) {
                self.claim(id, o);
                *slot = Some(id);
            }
        }
        for (slot, o) in ids.iter_mut().zip(opened) {
            if slot.is_none() {
                let best = self
                    .known
                    .iter()
                    .filter(|(_, k)| self.fits(k, o))
                    .max_by_key(|(id, k)| (k.fingerprint.0.len(), **id))
                    .map(|(id, _)| *id);
                *slot = match best {
                    Some(id) => {
                        self.claim(id, o);
                        Some(id)
                    }
                    None if self.is_partial_copy(o) => None,
                    None => Some(self.add(o, first)),
                };
            }
        }
        ids
    }

    /// Known file `id` was found as `o` this poll.
    fn claim(&mut self, id: u64, o: &Opened) {
        let (polls, passes) = (self.polls, self.passes);
        let Some(known) = self.known.get_mut(&id) else {
            return;
        };
        if o.fingerprint.0.len() > known.fingerprint.0.len() {
            known.fingerprint = o.fingerprint.clone();
            self.state_version += 1;
        }
        if known.cursor.names.path != o.found.path
            || known.cursor.names.resolved_path != o.found.resolved
        {
            known.cursor.names = Arc::new(FileNames::new(
                o.found.path.clone(),
                o.found.resolved.clone(),
            ));
        }
        known.seen_poll = polls;
        known.seen_pass = passes;
        known.gzip = o.gzip;
        known.inode = Some(o.inode);
    }

    /// A file not known before.
    fn add(&mut self, o: &Opened, first: bool) -> u64 {
        let names = Arc::new(FileNames::new(
            o.found.path.clone(),
            o.found.resolved.clone(),
        ));
        let at_end = first && self.cfg.start_at == StartAt::End;
        let offset = if at_end && !o.gzip { o.size } else { 0 };
        let id = self.new_id();
        self.state_version += 1;
        self.known.insert(
            id,
            Known {
                fingerprint: o.fingerprint.clone(),
                cursor: Cursor {
                    id,
                    names,
                    read_offset: offset,
                    acks: AckLog::new(offset),
                    tail_since: None,
                },
                seen_poll: self.polls,
                seen_pass: self.passes,
                gzip: o.gzip,
                // A compressed file's end is only known by reading it: at the end means unread.
                finished: at_end && o.gzip,
                delete_at: None,
                inode: Some(o.inode),
            },
        );
        id
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
