//! A file's identity: its first bytes, not its name, so it is recognised after a rename or a
//! copy. A shorter fingerprint that starts a longer one is the same file, grown.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fingerprint(pub Vec<u8>);

impl Fingerprint {
    /// The first `size` bytes of a plain file, read without moving its cursor.
    pub fn of_file(file: &File, size: usize) -> io::Result<Fingerprint> {
        let mut buf = vec![0; size];
        let mut filled = 0;
        while filled < size {
            match file.read_at(&mut buf[filled..], filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok(Fingerprint(buf))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` (known earlier) is this file's `now` fingerprint, or the start of it.
    pub fn is_start_of(&self, now: &Fingerprint) -> bool {
        !self.0.is_empty() && now.0.starts_with(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_fingerprint_matches_the_grown_file() {
        let old = Fingerprint(b"line 1\n".to_vec());
        let grown = Fingerprint(b"line 1\nline 2\n".to_vec());
        assert!(old.is_start_of(&grown));
        assert!(!grown.is_start_of(&old));
        assert!(!Fingerprint::default().is_start_of(&grown));
    }
}
