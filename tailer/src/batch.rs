//! What a poll hands over: records of one file in one buffer, with the token to acknowledge.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// A file's names as found: the receiver picks which become attributes
/// (`include_file_name`, `include_file_path`, `..._resolved`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileNames {
    /// The last component of `path` (`log.file.name`).
    pub name: String,
    /// The path the include glob matched (`log.file.path`).
    pub path: PathBuf,
    /// The last component of `resolved_path` (`log.file.name_resolved`).
    pub resolved_name: String,
    /// `path` with symlinks resolved (`log.file.path_resolved`).
    pub resolved_path: PathBuf,
}

impl FileNames {
    pub(crate) fn new(path: PathBuf, resolved_path: PathBuf) -> FileNames {
        let name_of = |p: &PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        FileNames {
            name: name_of(&path),
            resolved_name: name_of(&resolved_path),
            path,
            resolved_path,
        }
    }
}

/// Names a handed-over batch to [`crate::Tailer::ack`]. Copy it; it is only numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AckToken {
    pub(crate) file: u64,
    pub(crate) seq: u64,
}

/// One record: text for every encoding but `nop`, which passes bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// Decoded text.
    Text(&'a str),
    /// Bytes as they are in the file (`encoding: nop`).
    Bytes(&'a [u8]),
}

impl<'a> Record<'a> {
    /// The record's bytes (UTF-8 for text).
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Record::Text(s) => s.as_bytes(),
            Record::Bytes(b) => b,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Body {
    Text(String),
    Bytes(Vec<u8>),
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::Text(s) => s.len(),
            Body::Bytes(b) => b.len(),
        }
    }
}

/// Records read from one file, in order, ending at [`Batch::end_offset`]. Records share one
/// buffer, so a batch costs three allocations however many records it holds.
#[derive(Debug)]
pub struct Batch {
    pub(crate) file: Arc<FileNames>,
    pub(crate) body: Body,
    pub(crate) ranges: Vec<Range<usize>>,
    pub(crate) token: AckToken,
    pub(crate) end_offset: u64,
    pub(crate) file_bytes: u64,
}

impl Batch {
    /// The file the records came from.
    pub fn file(&self) -> &Arc<FileNames> {
        &self.file
    }

    /// What to pass to [`crate::Tailer::ack`] once the pipeline has accepted the records.
    pub fn token(&self) -> AckToken {
        self.token
    }

    /// The file offset just after the last record (decompressed offset for gzip).
    pub fn end_offset(&self) -> u64 {
        self.end_offset
    }

    /// File bytes the records were read from, separators and trimmed whitespace included.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are none (never, for a batch handed over).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The `i`th record.
    pub fn get(&self, i: usize) -> Option<Record<'_>> {
        let range = self.ranges.get(i)?.clone();
        Some(match &self.body {
            Body::Text(s) => Record::Text(&s[range]),
            Body::Bytes(b) => Record::Bytes(&b[range]),
        })
    }

    /// The records in file order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = Record<'_>> + '_ {
        self.ranges.iter().map(move |range| match &self.body {
            Body::Text(s) => Record::Text(&s[range.clone()]),
            Body::Bytes(b) => Record::Bytes(&b[range.clone()]),
        })
    }
}
