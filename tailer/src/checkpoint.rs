//! Committed offsets: a file's offset moves only over the longest acknowledged prefix of its
//! handed-over batches; and the state to persist, in a small binary form.

use std::collections::VecDeque;
use std::path::PathBuf;

use thiserror::Error;

/// One handed-over batch of a file, oldest first.
#[derive(Debug)]
struct InFlight {
    seq: u64,
    end_offset: u64,
    bytes: u64,
    acked: bool,
}

/// The batches of one file between handing over and the committed offset.
#[derive(Debug)]
pub(crate) struct AckLog {
    committed: u64,
    next_seq: u64,
    in_flight: VecDeque<InFlight>,
}

/// What an acknowledgement did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Acked {
    /// File bytes of the acknowledged batch, no longer held downstream.
    pub bytes: u64,
    /// Whether the committed offset moved.
    pub moved: bool,
}

impl AckLog {
    pub fn new(committed: u64) -> AckLog {
        AckLog {
            committed,
            next_seq: 0,
            in_flight: VecDeque::new(),
        }
    }

    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Batches handed over and not yet behind the committed offset.
    pub fn pending(&self) -> usize {
        self.in_flight.len()
    }

    /// Records a batch handed over; returns its sequence number.
    pub fn hand_over(&mut self, end_offset: u64, bytes: u64) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight.push_back(InFlight {
            seq,
            end_offset,
            bytes,
            acked: false,
        });
        seq
    }

    /// Marks `seq` acknowledged and commits the acknowledged prefix. `None` for a sequence
    /// number not in flight (acknowledged twice, or from before a restore).
    pub fn ack(&mut self, seq: u64) -> Option<Acked> {
        let first = self.in_flight.front()?.seq;
        let entry = self
            .in_flight
            .get_mut(usize::try_from(seq.checked_sub(first)?).ok()?)?;
        if entry.acked {
            return None;
        }
        entry.acked = true;
        let bytes = entry.bytes;
        let mut moved = false;
        while self.in_flight.front().is_some_and(|f| f.acked) {
            let done = self.in_flight.pop_front().expect("front was just seen");
            self.committed = done.end_offset;
            moved = true;
        }
        Some(Acked { bytes, moved })
    }
}

/// One file's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheckpoint {
    /// The file's first bytes, up to `fingerprint_size`: its identity.
    pub fingerprint: Vec<u8>,
    /// Everything before this offset was acknowledged (decompressed offset for gzip).
    pub offset: u64,
    /// Where it was last found; a hint for people reading the state, not used to match.
    pub path: PathBuf,
    /// A gzip file read to its end: it is not read again.
    pub finished: bool,
    /// Device and inode where it was last found: a file still there is matched to this
    /// checkpoint before any other with a fitting fingerprint, and one that became shorter
    /// there is known to be new content.
    pub inode: Option<(u64, u64)>,
}

/// What a restarted tailer needs to go on where the acknowledged records end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TailerState {
    /// One per known file.
    pub files: Vec<FileCheckpoint>,
}

/// Bytes that are not a state this crate wrote.
#[derive(Debug, Error)]
pub enum StateError {
    /// Not this format, or a version this build cannot read.
    #[error("not a weir-tailer state (bad magic or version)")]
    Format,
    /// Cut short or inconsistent.
    #[error("tailer state is truncated or corrupt")]
    Corrupt,
}

const MAGIC: &[u8; 4] = b"WTS1";

impl TailerState {
    /// The state as bytes: `WTS1`, a count, then per file the fingerprint, offset, flags
    /// (1: finished, 2: an inode follows), device and inode, and path; lengths and numbers as
    /// little-endian u32/u64.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.files.len() * 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        for f in &self.files {
            put_bytes(&mut out, &f.fingerprint);
            out.extend_from_slice(&f.offset.to_le_bytes());
            out.push(u8::from(f.finished) | if f.inode.is_some() { 2 } else { 0 });
            if let Some((dev, ino)) = f.inode {
                out.extend_from_slice(&dev.to_le_bytes());
                out.extend_from_slice(&ino.to_le_bytes());
            }
            put_bytes(&mut out, f.path.as_os_str().as_encoded_bytes());
        }
        out
    }

    /// Reads what [`TailerState::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<TailerState, StateError> {
        let mut r = Cursor(bytes);
        if r.take(4).ok() != Some(MAGIC.as_slice()) {
            return Err(StateError::Format);
        }
        let count = r.u32()? as usize;
        let mut files = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            let fingerprint = r.bytes()?.to_vec();
            let offset = r.u64()?;
            let flags = r.take(1)?[0];
            if flags & !3 != 0 {
                return Err(StateError::Corrupt);
            }
            let inode = if flags & 2 != 0 {
                Some((r.u64()?, r.u64()?))
            } else {
                None
            };
            let path = PathBuf::from(String::from_utf8_lossy(r.bytes()?).into_owned());
            files.push(FileCheckpoint {
                fingerprint,
                offset,
                path,
                finished: flags & 1 != 0,
                inode,
            });
        }
        if !r.0.is_empty() {
            return Err(StateError::Corrupt);
        }
        Ok(TailerState { files })
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StateError> {
        if self.0.len() < n {
            return Err(StateError::Corrupt);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, StateError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| StateError::Corrupt)?,
        ))
    }
    fn u64(&mut self) -> Result<u64, StateError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| StateError::Corrupt)?,
        ))
    }
    fn bytes(&mut self) -> Result<&'a [u8], StateError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_acks_commit_only_the_acknowledged_prefix() {
        let mut log = AckLog::new(0);
        let a = log.hand_over(10, 10);
        let b = log.hand_over(25, 15);
        let c = log.hand_over(40, 15);
        assert_eq!(
            log.ack(c),
            Some(Acked {
                bytes: 15,
                moved: false
            })
        );
        assert_eq!(log.committed(), 0);
        assert_eq!(
            log.ack(a),
            Some(Acked {
                bytes: 10,
                moved: true
            })
        );
        assert_eq!(log.committed(), 10);
        assert_eq!(log.ack(a), None);
        assert_eq!(log.ack(b).map(|x| x.moved), Some(true));
        assert_eq!(log.committed(), 40);
        assert_eq!(log.pending(), 0);
        assert_eq!(log.ack(99), None);
    }

    #[test]
    fn state_round_trips_and_junk_is_refused_without_panicking() {
        let state = TailerState {
            files: vec![FileCheckpoint {
                fingerprint: b"abc".to_vec(),
                offset: 7,
                path: "/var/log/a.log".into(),
                finished: true,
                inode: Some((8, 1234)),
            }],
        };
        let bytes = state.encode();
        assert_eq!(TailerState::decode(&bytes).unwrap(), state);
        for cut in 0..bytes.len() {
            assert!(TailerState::decode(&bytes[..cut]).is_err());
        }
        assert!(TailerState::decode(b"WTS1\xff\xff\xff\xff").is_err());
        let mut x: u32 = 7;
        let mut junk = bytes.clone();
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let at = x as usize % junk.len();
            junk[at] = (x >> 8) as u8;
            let _ = TailerState::decode(&junk);
        }
    }
}
