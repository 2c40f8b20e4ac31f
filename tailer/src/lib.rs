//! File tailing for the filelog receiver: finding files, knowing them by fingerprint through
//! rotation, reading them into records, and the offsets to checkpoint once records are
//! acknowledged. otelcol-contrib's `fileconsumer` semantics; no async, no YAML, no OTLP.
//!
//! # Use
//!
//! ```no_run
//! use weir_tailer::{Flow, Tailer, TailerConfig, TailerState};
//!
//! let cfg = TailerConfig { include: vec!["/var/log/app/*.log".into()], ..TailerConfig::default() };
//! let mut tailer = Tailer::new(cfg).expect("valid config");
//! # let saved: Option<Vec<u8>> = None;
//! if let Some(bytes) = saved {
//!     tailer.restore(TailerState::decode(&bytes).expect("our own state"));
//! }
//! let mut accepted = Vec::new();
//! let report = tailer.poll(|batch| {
//!     for record in batch.records() { let _ = record.as_bytes(); }
//!     accepted.push(batch.token()); // acknowledge later, once the pipeline has the records
//!     Flow::Continue
//! });
//! for error in &report.errors { eprintln!("{error}"); } // each failing file once
//! for token in accepted { tailer.ack(token); }
//! let _to_store: Vec<u8> = tailer.state().encode();
//! ```
//!
//! # Contract
//!
//! - One thread drives a [`Tailer`] (`spawn_blocking` in the receiver): [`Tailer::poll`] every
//!   `poll_interval`, and again at once when [`PollReport::stopped`] says reading stopped early.
//!   The sink callback runs inside `poll`; returning [`Flow::Stop`] ends the poll after that
//!   batch, which is already handed over.
//! - A [`Batch`] holds records of one file in order, and the file offset after them. Hand its
//!   [`AckToken`] to [`Tailer::ack`] once the pipeline accepted it, in any order; a file's
//!   committed offset is the end of its longest acknowledged prefix of batches. A batch that
//!   can never be delivered is the receiver's to retry: the tailer does not read it again
//!   until a restart.
//! - [`Tailer::state`] gives each known file's fingerprint and committed offset;
//!   [`TailerState::encode`] / [`TailerState::decode`] are its storage form, and
//!   [`Tailer::restore`] at start resumes there, so a restart repeats at most what was not
//!   acknowledged. [`Tailer::state_version`] moves when the state does (with every ack that
//!   commits): save when it moved, at most every so often (the state holds up to
//!   `fingerprint_size` bytes per file), and once more at shutdown after
//!   [`Tailer::unacked_batches`] reached zero or the wait for it timed out.
//! - Backpressure: reading a file stops when it has `max_unacked_batches_per_file` batches
//!   unacknowledged, and a poll stops when `max_unacked_bytes` file bytes are unacknowledged
//!   overall; nothing is read ahead beyond that. Memory per file read is at most
//!   `max_log_size` plus a 64 KiB chunk.
//! - [`Counters`] are shared atomics for the receiver's metrics. [`PollReport::errors`] lists
//!   a file that cannot be opened or read once, when it starts failing; it is retried every
//!   poll and the others go on.
//! - Config: [`TailerConfig`] holds otelcol's field names and defaults; the receiver parses
//!   YAML into it (with [`Encoding::from_name`], [`StartAt::from_name`],
//!   [`Compression::from_name`]) and reports positions. [`Tailer::new`] refuses what cannot
//!   run (bad glob or regex, zero sizes, `delete_after_read` without `start_at: beginning`).
//!   The attributes (`include_file_name` and the like, `attributes`, `resource`) are the
//!   receiver's: each batch carries its file's [`FileNames`].
//!
//! # Semantics (as otelcol's)
//!
//! - A poll reads the matched files in groups of `max_concurrent_files / 2` (at most
//!   `max_batches` groups). Groups are taken round-robin from where the last poll stopped
//!   (otelcol restarts at the first group, starving later files). The last group's handles
//!   stay open until the next poll, so a file of that group renamed out of `include` or
//!   deleted is finished from its handle, its unterminated tail included. Handles do not
//!   survive a restart: a file moved out of `include` and not yet read to its end (under
//!   backpressure) is not finished after one.
//! - `start_at: end` applies to files met during the first pass over the matched files (the
//!   first poll, unless `max_batches` or backpressure spread it over several); files met later,
//!   and files in a restored state, are read from the beginning or their checkpoint. A gzip
//!   file at `end` is taken as read.
//! - Files are known by their first `fingerprint_size` bytes; a known fingerprint that starts
//!   a file's longer one is that file grown. Empty files wait. Two paths with the same first
//!   bytes in one poll are one file (a symlink and its target; a rotated copy). A file is
//!   matched on the inode it was read from first, then by fingerprint; on its own inode, a
//!   plain file shorter than its read offset is new content. Gzip files (`compression`) are read once to
//!   their end; the fingerprint is of the compressed bytes, offsets are in the decompressed
//!   stream.
//! - `encoding` takes otelcol's names and any other WHATWG label (encoding_rs), where otelcol
//!   takes IANA names through Go's tables: the same for the common character sets.
//! - Multiline patterns run on the raw bytes, as in otelcol (so for UTF-16 they must be
//!   written for its bytes); `^` and `$` match at line boundaries.
//! - Records are trimmed of whitespace (unless `preserve_*_whitespaces`); records empty after
//!   trimming are dropped. A record longer than `max_log_size` is cut into pieces.
//! - `delete_after_read` deletes a file once it was read to its end and all of it was
//!   acknowledged (otelcol deletes as soon as it was read).
//! - Copytruncate loses what is written between the copy and the truncation, as everywhere.
//!   A file truncated while it is read is noticed before its next batch is handed over (the
//!   file must still start with its fingerprint), so new content is not taken for the old
//!   file's continuation; a copy still being written waits rather than being read as new.
//! - Checkpoints of files unseen for `forget_after_polls` passes (a pass: every matched file's
//!   turn once; one poll by default) are dropped, unless they have unacknowledged batches.

mod batch;
mod checkpoint;
mod config;
mod counters;
mod encoding;
mod finder;
mod fingerprint;
mod reader;
mod split;
mod tailer;

pub use batch::{AckToken, Batch, FileNames, Record};
pub use checkpoint::{FileCheckpoint, StateError, TailerState};
pub use config::{Compression, ConfigError, Encoding, Multiline, StartAt, TailerConfig};
pub use counters::{Counters, CountersSnapshot};
pub use reader::Flow;
pub use tailer::{FileError, PollReport, Tailer};
