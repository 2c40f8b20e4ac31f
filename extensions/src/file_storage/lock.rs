//! One writer per queue folder: an exclusive `flock` on its `lock` file, held while the queue is
//! open. Two processes appending to the same segments would interleave records, so a second
//! Weir pointed at the same directory fails to start instead. The kernel drops the lock when
//! the process dies, so `kill -9` leaves nothing stale behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};

const LOCK_FILE: &str = "lock";
const POLL: Duration = Duration::from_millis(50);

/// Held while a queue is open; dropping it releases the folder.
#[derive(Debug)]
pub(crate) struct FolderLock {
    _file: File,
}

/// Why a folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error(
        "{path} is held by another Weir process, or this queue is already open (waited {waited:?})"
    )]
    Busy { path: String, waited: Duration },
    #[error("cannot lock {path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Locks `dir`, retrying for up to `timeout` while another process holds it.
pub(crate) fn lock(dir: &Path, timeout: Duration) -> Result<FolderLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let shown = path.display().to_string();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| LockError::Io {
            path: shown.clone(),
            source,
        })?;
    let started = Instant::now();
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(FolderLock { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                if started.elapsed() >= timeout {
                    return Err(LockError::Busy {
                        path: shown,
                        waited: timeout,
                    });
                }
                std::thread::sleep(POLL.min(timeout.saturating_sub(started.elapsed())));
            }
            Err(e) => {
                return Err(LockError::Io {
                    path: shown,
                    source: e.into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path(), Duration::ZERO).unwrap();
        let err = lock(dir.path(), Duration::from_millis(60)).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("lock"), "{err}");
        drop(first);
        lock(dir.path(), Duration::ZERO).unwrap();
    }
}
