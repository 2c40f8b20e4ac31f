//! Reading one file from its read offset: bytes in bounded chunks, cut into records, gathered
//! into batches handed to the caller. Memory per file is at most `max_log_size` plus one `read_chunk`,
//! however long a line is.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Instant;

use crate::batch::{AckToken, Batch, Body, FileNames};
use crate::checkpoint::AckLog;
use crate::config::{Encoding, TailerConfig};
use crate::counters::Counters;
use crate::encoding::decode_into;
use crate::fingerprint::Fingerprint;
use crate::split::{Split, Splitter};

/// Whether the caller wants more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Hand over the next batch.
    Continue,
    /// Stop reading for this poll; what was not handed over is read at the next one.
    Stop,
}

/// The part of a known file's state that reading moves.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub id: u64,
    pub names: Arc<FileNames>,
    /// Where the next record starts: the end of the last record handed over or skipped.
    pub read_offset: u64,
    pub acks: AckLog,
    /// The end of an unterminated tail and when the file last grew to it.
    pub tail_since: Option<(u64, Instant)>,
}

/// Everything reading shares across files.
pub(crate) struct Reading<'a> {
    pub cfg: &'a TailerConfig,
    pub splitter: &'a Splitter,
    pub counters: &'a Counters,
    pub buf: &'a mut Vec<u8>,
    pub unacked_bytes: &'a mut u64,
    pub sink: &'a mut dyn FnMut(Batch) -> Flow,
    pub now: Instant,
    /// For a plain file: its handle and known fingerprint, checked before each batch.
    pub same_file: Option<(&'a File, &'a Fingerprint)>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// Read to the end; `tail` says whether bytes without a record end were left.
    Eof { tail: bool },
    /// The caller said stop, or the bytes not yet acknowledged reached the limit.
    Stopped,
    /// This file has as many unacknowledged batches as it may; others may still be read.
    FileFull,
    /// The file no longer starts with its fingerprint: reading it stopped.
    Changed,
}

struct Draft {
    body: Body,
    ranges: Vec<std::ops::Range<usize>>,
    file_bytes: u64,
}

impl Reading<'_> {
    /// Whether the overall limit of unacknowledged bytes has been reached.
    pub fn over_budget(&self) -> bool {
        *self.unacked_bytes >= self.cfg.max_unacked_bytes
    }

    /// Reads `src`, positioned at `cur.read_offset`, to its end or until told to stop.
    /// `flush_at_eof`: the file will not grow (gzip, or gone), so an unterminated tail is a
    /// record now.
    pub fn read(
        &mut self,
        cur: &mut Cursor,
        src: &mut dyn Read,
        flush_at_eof: bool,
    ) -> io::Result<ReadEnd> {
        if self.over_budget() {
            return Ok(ReadEnd::Stopped);
        }
        if cur.acks.pending() >= self.cfg.max_unacked_batches_per_file {
            return Ok(ReadEnd::FileFull);
        }
        let unit = self.cfg.encoding.unit();
        let max = (self.cfg.max_log_size / unit * unit).max(unit);
        let mut draft = self.draft();
        // `buf[start..end]` holds bytes read and not yet made records; past `end` is room that
        // was zeroed once, when the buffer grew, and is not zeroed again for each read.
        let mut buf = std::mem::take(self.buf);
        let mut start = 0;
        let mut end_read = 0;
        let mut eof = false;
        let end = loop {
            let mut stop = None;
            loop {
                let data = &buf[start..end_read];
                let window = &data[..data.len().min(max)];
                let whole = window.len() == data.len();
                let (token, advance, truncated) =
                    match self.splitter.next(window, eof && whole, false) {
                        Split::Token { token, advance } => (token, advance, false),
                        Split::NeedMore if window.len() >= max => {
                            let cut = cut_point(data, max, self.cfg.encoding);
                            (0..cut, cut, true)
                        }
                        Split::NeedMore => break,
                    };
                self.push(&mut draft, &window[token], truncated);
                draft.file_bytes += advance as u64;
                cur.read_offset += advance as u64;
                start += advance;
                if self.full(&draft)
                    && let Some(end) = self.hand_over(cur, &mut draft)
                {
                    stop = Some(end);
                    break;
                }
            }
            if let Some(end) = stop {
                break Ok(end);
            }
            if eof {
                break Ok(self.tail(cur, &mut draft, &buf[start..end_read], flush_at_eof));
            }
            buf.copy_within(start..end_read, 0);
            end_read -= start;
            start = 0;
            let chunk = self.cfg.read_chunk;
            if buf.len() < end_read + chunk {
                buf.resize(end_read + chunk, 0);
            }
            let old = end_read;
            let n = loop {
                match src.read(&mut buf[old..old + chunk]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            };
            match n {
                Ok(n) => {
                    end_read = old + n;
                    eof = n == 0;
                }
                Err(e) => break Err(e),
            }
        };
        // What was read is handed over even when reading failed or the file ended.
        let end = match (end, self.hand_over(cur, &mut draft)) {
            (Ok(ReadEnd::Eof { .. }), Some(stopped)) => Ok(stopped),
            (end, _) => end,
        };
        *self.buf = buf;
        end
    }

    /// At the end of what the file holds now: an unterminated tail waits until the file has not
    /// grown for `force_flush_period`, then is a record.
    fn tail(
        &mut self,
        cur: &mut Cursor,
        draft: &mut Draft,
        rest: &[u8],
        flush_at_eof: bool,
    ) -> ReadEnd {
        if rest.is_empty() {
            cur.tail_since = None;
            return ReadEnd::Eof { tail: false };
        }
        let end = cur.read_offset + rest.len() as u64;
        let period = self.cfg.force_flush_period;
        let waited = match cur.tail_since {
            Some((at, since)) if at == end => {
                !period.is_zero() && self.now.duration_since(since) >= period
            }
            _ => {
                cur.tail_since = Some((end, self.now));
                false
            }
        };
        if !(flush_at_eof || waited) {
            return ReadEnd::Eof { tail: true };
        }
        let mut data = rest;
        while let Split::Token { token, advance } = self.splitter.next(data, true, true) {
            self.push(draft, &data[token], false);
            draft.file_bytes += advance as u64;
            cur.read_offset += advance as u64;
            data = &data[advance..];
        }
        cur.tail_since = None;
        ReadEnd::Eof { tail: false }
    }

    fn draft(&self) -> Draft {
        let body = match self.cfg.encoding {
            Encoding::Nop => Body::Bytes(Vec::new()),
            _ => Body::Text(String::new()),
        };
        Draft {
            body,
            ranges: Vec::new(),
            file_bytes: 0,
        }
    }

    fn full(&self, draft: &Draft) -> bool {
        draft.ranges.len() >= self.cfg.batch_records || draft.body.len() >= self.cfg.batch_bytes
    }

    /// Adds one record, trimmed as configured; a record that trims to nothing is dropped, as
    /// otelcol drops empty lines.
    fn push(&self, draft: &mut Draft, raw: &[u8], truncated: bool) {
        let (lead, trail) = (
            !self.cfg.preserve_leading_whitespaces,
            !self.cfg.preserve_trailing_whitespaces,
        );
        let before = draft.body.len();
        if draft.ranges.capacity() == 0 {
            // Room for typical lines at the first record, rather than doubling from nothing in
            // every batch (and nothing for a file with nothing new).
            draft.ranges.reserve(self.cfg.batch_records.min(1024));
            let room = (self.cfg.batch_records * 128).min(self.cfg.batch_bytes);
            match &mut draft.body {
                Body::Text(text) => text.reserve(room),
                Body::Bytes(bytes) => bytes.reserve(room),
            }
        }
        let range = match &mut draft.body {
            Body::Text(text) => {
                decode_into(self.cfg.encoding, raw, text);
                let added = &text[before..];
                let start = if lead {
                    added.len() - added.trim_start().len()
                } else {
                    0
                };
                let end = if trail {
                    added.trim_end().len()
                } else {
                    added.len()
                };
                before + start..before + end.max(start)
            }
            Body::Bytes(bytes) => {
                bytes.extend_from_slice(raw);
                let added = &bytes[before..];
                let start = if lead {
                    added.len() - added.trim_ascii_start().len()
                } else {
                    0
                };
                let end = if trail {
                    added.trim_ascii_end().len()
                } else {
                    added.len()
                };
                before + start..before + end.max(start)
            }
        };
        if truncated {
            Counters::add(&self.counters.records_truncated, 1);
        }
        if range.is_empty() {
            match &mut draft.body {
                Body::Text(text) => text.truncate(before),
                Body::Bytes(bytes) => bytes.truncate(before),
            }
            return;
        }
        draft.ranges.push(range);
    }

    /// Hands the draft over if it has records; `Some` when reading must stop.
    fn hand_over(&mut self, cur: &mut Cursor, draft: &mut Draft) -> Option<ReadEnd> {
        if draft.file_bytes == 0 {
            return None;
        }
        if let Some((file, known)) = self.same_file {
            // Truncated (and written again) since it was fingerprinted: what was just read may
            // be the new content at the old offset. The old content's rest is in the copy,
            // which has the old fingerprint; the new content is read as a new file.
            let now = Fingerprint::of_file(file, known.0.len());
            if now.ok().as_ref() != Some(known) {
                cur.read_offset -= draft.file_bytes;
                cur.tail_since = None;
                *draft = self.draft();
                return Some(ReadEnd::Changed);
            }
        }
        Counters::add(&self.counters.bytes_read, draft.file_bytes);
        if draft.ranges.is_empty() {
            draft.file_bytes = 0;
            return None;
        }
        Counters::add(&self.counters.lines_read, draft.ranges.len() as u64);
        let fresh = self.draft();
        let Draft {
            body,
            ranges,
            file_bytes,
        } = std::mem::replace(draft, fresh);
        let seq = cur.acks.hand_over(cur.read_offset, file_bytes);
        *self.unacked_bytes += file_bytes;
        let batch = Batch {
            file: cur.names.clone(),
            body,
            ranges,
            token: AckToken { file: cur.id, seq },
            end_offset: cur.read_offset,
            file_bytes,
        };
        if (self.sink)(batch) == Flow::Stop || self.over_budget() {
            return Some(ReadEnd::Stopped);
        }
        if cur.acks.pending() >= self.cfg.max_unacked_batches_per_file {
            return Some(ReadEnd::FileFull);
        }
        None
    }
}

/// Where to cut a record longer than `max` (`data` goes on past it): at `max`, moved back so
/// that a UTF-8 character is not split when it can be helped.
fn cut_point(data: &[u8], max: usize, encoding: Encoding) -> usize {
    if matches!(encoding, Encoding::Utf8 | Encoding::Ascii) {
        let mut cut = max;
        while cut > 0 && max - cut < 3 && data.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
            cut -= 1;
        }
        if cut > 0 {
            return cut;
        }
    }
    max
}
