//! What the tailer is told to do: otelcol's `filelog` fields as plain Rust values (the receiver
//! parses YAML and reports positions; this crate only checks what it cannot run).

use std::time::Duration;

use thiserror::Error;

/// Where a file first seen at the first poll starts being read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartAt {
    /// From the first byte.
    Beginning,
    /// From its size at the first poll; files that appear later are read from the beginning.
    #[default]
    End,
}

impl StartAt {
    /// `beginning` or `end`.
    pub fn from_name(name: &str) -> Option<StartAt> {
        match name {
            "beginning" => Some(StartAt::Beginning),
            "end" => Some(StartAt::End),
            _ => None,
        }
    }
}

/// How file bytes become records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8; each byte of an invalid sequence becomes U+FFFD, as Go's decoder does.
    #[default]
    Utf8,
    /// Little-endian UTF-16; unpaired surrogates and a dangling byte become U+FFFD.
    Utf16Le,
    /// Big-endian UTF-16.
    Utf16Be,
    /// Read as UTF-8, which otelcol also does for `ascii`.
    Ascii,
    /// Bytes passed on as they are ([`crate::Record::Bytes`]).
    Nop,
    /// Any other character set by its WHATWG label (`shift_jis`, `gbk`, `windows-1252`,
    /// `iso-8859-2`, ...), malformed sequences replaced with U+FFFD. All are ASCII-compatible
    /// for newlines. (WHATWG reads `latin1` / `iso-8859-1` as windows-1252.)
    Other(&'static encoding_rs::Encoding),
}

impl Encoding {
    /// The otelcol name (case-insensitive) to an encoding; `None` for names not supported.
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().as_str() {
            "" | "utf-8" | "utf8" => Some(Encoding::Utf8),
            "utf-16le" | "utf16le" | "utf-16" | "utf16" => Some(Encoding::Utf16Le),
            "utf-16be" | "utf16be" => Some(Encoding::Utf16Be),
            "ascii" | "us-ascii" => Some(Encoding::Ascii),
            "nop" => Some(Encoding::Nop),
            other => match encoding_rs::Encoding::for_label(other.as_bytes())? {
                e if e == encoding_rs::UTF_8 => Some(Encoding::Utf8),
                e if e == encoding_rs::UTF_16LE => Some(Encoding::Utf16Le),
                e if e == encoding_rs::UTF_16BE => Some(Encoding::Utf16Be),
                // Its decoder outputs a single U+FFFD for any input: no text to read.
                e if e == encoding_rs::REPLACEMENT => None,
                e => Some(Encoding::Other(e)),
            },
        }
    }

    /// The width of one code unit: splits and cuts never fall inside one.
    pub(crate) fn unit(self) -> usize {
        match self {
            Encoding::Utf16Le | Encoding::Utf16Be => 2,
            _ => 1,
        }
    }
}

/// Whether files are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Plain files.
    #[default]
    None,
    /// Every file is gzip.
    Gzip,
    /// Files whose name ends in `.gz` are gzip.
    Auto,
}

impl Compression {
    /// otelcol's names: empty for none, `gzip`, `auto`.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name {
            "" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "auto" => Some(Compression::Auto),
            _ => None,
        }
    }
}

/// Where one record ends and the next begins, when it is not every newline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Multiline {
    /// A record starts where this regex matches (`^` and `$` match at line boundaries).
    LineStart(String),
    /// A record ends where this regex's match ends.
    LineEnd(String),
}

/// Everything the tailer needs; [`TailerConfig::default`] holds otelcol's defaults.
#[derive(Clone, Debug)]
pub struct TailerConfig {
    /// Globs of files to read (`*` stays within a directory, `**` crosses directories).
    pub include: Vec<String>,
    /// Globs of files not to read, even when `include` matches them.
    pub exclude: Vec<String>,
    /// Files last modified longer ago than this are not read.
    pub exclude_older_than: Option<Duration>,
    /// Where files present at the first poll start.
    pub start_at: StartAt,
    /// How many leading bytes identify a file (otelcol's `1kb`, which is 1000 bytes).
    pub fingerprint_size: usize,
    /// Files open at once; a poll works through the matched files in groups of half this.
    pub max_concurrent_files: usize,
    /// Groups read per poll at most; 0 for all.
    pub max_batches: usize,
    /// Longest record; a longer one is cut into pieces of this size, each counted as truncated.
    pub max_log_size: usize,
    /// How bytes become text.
    pub encoding: Encoding,
    /// Records spanning lines; `None` splits at every newline.
    pub multiline: Option<Multiline>,
    /// Keep whitespace at the start of a record (otelcol trims it by default).
    pub preserve_leading_whitespaces: bool,
    /// Keep whitespace at the end of a record.
    pub preserve_trailing_whitespaces: bool,
    /// An unterminated last record is emitted once the file has not grown for this long; zero
    /// never emits it.
    pub force_flush_period: Duration,
    /// Delete a file once it was read to its end and everything read from it is acknowledged.
    pub delete_after_read: bool,
    /// Whether files are gzip.
    pub compression: Compression,
    /// Bytes asked of the file per read (otelcol's `initial_buffer_size`, 16 KiB by default).
    pub read_chunk: usize,
    /// Records in one [`crate::Batch`] at most.
    pub batch_records: usize,
    /// Text bytes in one batch after which it is handed over (a single record may exceed it).
    pub batch_bytes: usize,
    /// Batches of one file handed over and not yet acknowledged; reading that file stops here.
    pub max_unacked_batches_per_file: usize,
    /// File bytes handed over and not yet acknowledged, over all files; a poll stops here.
    pub max_unacked_bytes: u64,
    /// Polls a file may go unseen before its checkpoint is forgotten (never while it has
    /// unacknowledged batches).
    pub forget_after_polls: u64,
}

impl Default for TailerConfig {
    fn default() -> Self {
        TailerConfig {
            include: Vec::new(),
            exclude: Vec::new(),
            exclude_older_than: None,
            start_at: StartAt::End,
            fingerprint_size: 1000,
            max_concurrent_files: 1024,
            max_batches: 0,
            max_log_size: 1024 * 1024,
            encoding: Encoding::Utf8,
            multiline: None,
            preserve_leading_whitespaces: false,
            preserve_trailing_whitespaces: false,
            force_flush_period: Duration::from_millis(500),
            delete_after_read: false,
            compression: Compression::None,
            read_chunk: 16 * 1024,
            batch_records: 100,
            batch_bytes: 256 * 1024,
            max_unacked_batches_per_file: 64,
            max_unacked_bytes: 16 * 1024 * 1024,
            forget_after_polls: 3,
        }
    }
}

/// A config the tailer cannot run.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// `include` is empty.
    #[error("`include` names no files")]
    NoInclude,
    /// A glob does not parse.
    #[error("bad glob `{pattern}`: {source}")]
    Glob {
        /// The glob as given.
        pattern: String,
        /// Why.
        source: globset::Error,
    },
    /// A multiline regex does not parse.
    #[error("bad multiline pattern `{pattern}`: {source}")]
    Regex {
        /// The regex as given.
        pattern: String,
        /// Why.
        source: regex::Error,
    },
    /// A size or count that must be positive is zero.
    #[error("`{0}` must be greater than 0")]
    Zero(&'static str),
    /// `delete_after_read` needs `start_at: beginning`, or files present at start would be
    /// deleted unread.
    #[error("`delete_after_read` requires `start_at: beginning`")]
    DeleteNeedsBeginning,
}

impl TailerConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.include.is_empty() {
            return Err(ConfigError::NoInclude);
        }
        for (value, name) in [
            (self.fingerprint_size, "fingerprint_size"),
            (self.max_concurrent_files, "max_concurrent_files"),
            (self.max_log_size, "max_log_size"),
            (self.read_chunk, "read_chunk"),
            (self.batch_records, "batch_records"),
            (self.batch_bytes, "batch_bytes"),
            (
                self.max_unacked_batches_per_file,
                "max_unacked_batches_per_file",
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.max_unacked_bytes == 0 {
            return Err(ConfigError::Zero("max_unacked_bytes"));
        }
        if self.delete_after_read && self.start_at != StartAt::Beginning {
            return Err(ConfigError::DeleteNeedsBeginning);
        }
        Ok(())
    }
}
