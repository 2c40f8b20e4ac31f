//! Components' keyed records (otelcol's storage client): one file per key in a folder per
//! owner, under `clients/` in the extension's directory. A value is written to a temporary file,
//! fsynced, and renamed over the old one (then the folder is fsynced), so a key always holds its
//! old value or its new one, whole, whatever moment Weir or the machine dies at. The records are
//! small and set at most a few times a second (a receiver's offsets per poll), so a file per
//! key costs less than keeping a log and compacting it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use weir_core::component::{ExtensionError, KvStore};

use super::lock::{self, FolderLock};

/// How long opening waits for an earlier holder of the same owner (a receiver being replaced by
/// a reload) to let go.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The records of one owner.
#[derive(Debug)]
pub(crate) struct FileClient {
    folder: PathBuf,
    _lock: FolderLock,
}

/// A file name for `text`: letters, digits, `-` and `_` as they are, every other byte as
/// `%XX`, so distinct keys never share a file and none reaches outside the folder.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn io_error(path: &Path, e: io::Error) -> ExtensionError {
    ExtensionError(format!("{}: {e}", path.display()))
}

impl FileClient {
    /// Opens (creating) the folder of `owner` under `directory`, locked for this holder.
    pub(crate) fn open(directory: &Path, owner: &str) -> Result<FileClient, ExtensionError> {
        if owner.is_empty() {
            return Err(ExtensionError(
                "a storage client needs an owner name".into(),
            ));
        }
        let folder = directory.join("clients").join(escape(owner));
        fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
        let lock = lock::lock(&folder, LOCK_WAIT).map_err(|e| ExtensionError(e.to_string()))?;
        Ok(FileClient {
            folder,
            _lock: lock,
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, ExtensionError> {
        if key.is_empty() {
            return Err(ExtensionError("a stored record needs a key".into()));
        }
        // `k` keeps keys apart from the lock file and the temporary files.
        Ok(self.folder.join(format!("k{}", escape(key))))
    }

    fn sync_folder(&self) -> Result<(), ExtensionError> {
        File::open(&self.folder)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| io_error(&self.folder, e))
    }
}

impl KvStore for FileClient {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ExtensionError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), ExtensionError> {
        let path = self.path(key)?;
        let temporary = self.folder.join(format!("t{}", escape(key)));
        let written = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&temporary)
            .and_then(|mut file| {
                file.write_all(value)?;
                file.sync_all()
            });
        written.map_err(|e| io_error(&temporary, e))?;
        fs::rename(&temporary, &path).map_err(|e| io_error(&path, e))?;
        self.sync_folder()
    }

    fn delete(&self, key: &str) -> Result<(), ExtensionError> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => self.sync_folder(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_set_is_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let client = FileClient::open(dir.path(), "filelog/app").unwrap();
        assert_eq!(client.get("knownFiles").unwrap(), None);
        client.set("knownFiles", b"first").unwrap();
        client.set("knownFiles", b"second").unwrap();
        client.set("other", b"").unwrap();
        drop(client);
        let client = FileClient::open(dir.path(), "filelog/app").unwrap();
        assert_eq!(
            client.get("knownFiles").unwrap().as_deref(),
            Some(&b"second"[..])
        );
        assert_eq!(client.get("other").unwrap().as_deref(), Some(&b""[..]));
        client.delete("knownFiles").unwrap();
        client.delete("never-set").unwrap();
        assert_eq!(client.get("knownFiles").unwrap(), None);
    }

    #[test]
    fn owners_and_keys_are_kept_apart_and_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileClient::open(dir.path(), "filelog/a").unwrap();
        let b = FileClient::open(dir.path(), "filelog_a").unwrap();
        a.set("../../escape", b"a").unwrap();
        a.set("..%2F..%2Fescape", b"a2").unwrap();
        b.set("../../escape", b"b").unwrap();
        assert_eq!(a.get("../../escape").unwrap().as_deref(), Some(&b"a"[..]));
        assert_eq!(
            a.get("..%2F..%2Fescape").unwrap().as_deref(),
            Some(&b"a2"[..])
        );
        assert_eq!(b.get("../../escape").unwrap().as_deref(), Some(&b"b"[..]));
        let outside: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, vec![std::ffi::OsString::from("clients")]);
    }

    #[test]
    fn a_second_holder_of_the_same_owner_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let _first = FileClient::open(dir.path(), "filelog/app").unwrap();
        let second = std::thread::spawn({
            let dir = dir.path().to_path_buf();
            move || FileClient::open(&dir, "filelog/app").map(|_| ())
        })
        .join()
        .unwrap();
        assert!(second.unwrap_err().0.contains("held by another"));
    }

    #[test]
    fn empty_owners_and_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(FileClient::open(dir.path(), "").is_err());
        let client = FileClient::open(dir.path(), "x").unwrap();
        assert!(client.set("", b"v").is_err());
    }
}
