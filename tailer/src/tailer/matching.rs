//! Which known file each opened path is: by inode first, then by the longest fitting
//! fingerprint, or a new file; copies still being written wait.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use super::handles::OpenCount;
use super::{FileError, Known, Tailer};
use crate::batch::FileNames;
use crate::checkpoint::AckLog;
use crate::config::{Compression, StartAt};
use crate::finder::Found;
use crate::fingerprint::Fingerprint;
use crate::reader::Cursor;

/// A matched path opened this group.
pub(super) struct Opened {
    pub found: Found,
    pub file: File,
    pub fingerprint: Fingerprint,
    pub size: u64,
    pub inode: (u64, u64),
    pub gzip: bool,
    pub count: OpenCount,
}

impl Tailer {
    pub(super) fn open_all(&mut self, paths: &[Found], errors: &mut Vec<FileError>) -> Vec<Opened> {
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
    pub(super) fn match_all(&mut self, opened: &[Opened], first: bool) -> Vec<Option<u64>> {
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
}
