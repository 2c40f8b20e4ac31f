//! Open files the tailer holds between steps: the last group's handles, gzip decoders left
//! mid-file, each counted in `files_open` for as long as it lives.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::counters::Counters;

/// A file kept open until the next group is matched, so that one that went away can be
/// finished from its handle.
pub(super) struct Open {
    pub id: u64,
    pub file: File,
    pub inode: (u64, u64),
    /// Gone from the matched files and not yet read to its end.
    pub lost: bool,
    /// Counts it in `files_open` until it is dropped.
    pub _count: OpenCount,
}

/// Holds one count of `files_open` for as long as a handle lives.
pub(super) struct OpenCount(Arc<Counters>);

impl OpenCount {
    pub fn new(counters: &Arc<Counters>) -> OpenCount {
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
pub(super) const GZ_CACHE: usize = 4;

/// A gzip file's decoder, `pos` bytes into the decompressed stream.
pub(super) struct GzCursor {
    pub id: u64,
    pub pos: u64,
    pub decoder: MultiGzDecoder<BufReader<File>>,
    _count: OpenCount,
}

impl GzCursor {
    /// A decoder on its own handle to `file`, moved to `offset` (or to the end, if shorter).
    pub fn open(
        id: u64,
        file: &File,
        offset: u64,
        counters: &Arc<Counters>,
    ) -> io::Result<GzCursor> {
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
