//! The record a persistent queue appends to its segment files for each batch, and the scan that
//! reads a segment back, finding where it is damaged. Pure bytes in, values out: every damaged
//! shape is unit-tested without touching a disk.
//!
//! A record, integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 3 | magic `WQR` |
//! | 3 | 1 | format version (1) |
//! | 4 | 1 | signal: 1 traces, 2 metrics, 3 logs |
//! | 5 | 3 | reserved, zero |
//! | 8 | 8 | sequence number, increasing through the queue's life |
//! | 16 | 4 | item count (spans, data points, log records) |
//! | 20 | 4 | payload length |
//! | 24 | 4 | CRC-32 of bytes 0..24 followed by the payload |
//! | 28 | n | payload: the batch's OTLP protobuf bytes |

use weir_core::batch::Signal;

/// Bytes before the payload.
pub(crate) const HEADER_LEN: usize = 28;
const MAGIC: [u8; 3] = *b"WQR";
const VERSION: u8 = 1;
const CRC_AT: usize = 24;

/// What a valid record says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub signal: Signal,
    pub seq: u64,
    pub items: u32,
    pub len: u32,
}

impl RecordHeader {
    /// Header and payload together.
    pub(crate) fn total_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.len)
    }
}

/// Why bytes are not a valid record.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("record cut short")]
    Short,
    #[error("no record magic")]
    Magic,
    #[error("unknown record format version {0}")]
    Version(u8),
    #[error("invalid header")]
    Header,
    #[error("checksum mismatch")]
    Checksum,
}

fn signal_code(signal: Signal) -> u8 {
    match signal {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
    }
}

fn signal_of(code: u8) -> Option<Signal> {
    match code {
        1 => Some(Signal::Traces),
        2 => Some(Signal::Metrics),
        3 => Some(Signal::Logs),
        _ => None,
    }
}

/// The header to write before `payload`. The payload is written after it as it is, so a batch
/// is never copied to build its record.
pub(crate) fn encode_header(header: &RecordHeader, payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..3].copy_from_slice(&MAGIC);
    out[3] = VERSION;
    out[4] = signal_code(header.signal);
    out[8..16].copy_from_slice(&header.seq.to_le_bytes());
    out[16..20].copy_from_slice(&header.items.to_le_bytes());
    out[20..24].copy_from_slice(&header.len.to_le_bytes());
    let crc = checksum(&out[..CRC_AT], payload);
    out[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    out
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize()
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(b)
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

/// Parses the record at the start of `buf` (which may go on past it), checking its checksum.
pub(crate) fn parse(buf: &[u8]) -> Result<RecordHeader, RecordError> {
    if buf.len() < HEADER_LEN {
        return Err(RecordError::Short);
    }
    if buf[0..3] != MAGIC {
        return Err(RecordError::Magic);
    }
    if buf[3] != VERSION {
        return Err(RecordError::Version(buf[3]));
    }
    let signal = signal_of(buf[4]).ok_or(RecordError::Header)?;
    if buf[5..8] != [0, 0, 0] {
        return Err(RecordError::Header);
    }
    let header = RecordHeader {
        signal,
        seq: le_u64(&buf[8..16]),
        items: le_u32(&buf[16..20]),
        len: le_u32(&buf[20..24]),
    };
    let end = usize::try_from(header.total_len()).map_err(|_| RecordError::Short)?;
    if buf.len() < end {
        return Err(RecordError::Short);
    }
    if checksum(&buf[..CRC_AT], &buf[HEADER_LEN..end]) != le_u32(&buf[CRC_AT..HEADER_LEN]) {
        return Err(RecordError::Checksum);
    }
    Ok(header)
}

/// A part of a segment that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Damage {
    /// Unreadable bytes from `offset` up to a valid record at `resumed_at`; `lost` records
    /// (by their sequence numbers) were in between.
    Skipped {
        offset: u64,
        resumed_at: u64,
        lost: u64,
    },
    /// Unreadable bytes from `offset` to the end of the segment: a write cut short by a crash,
    /// or damage with nothing valid after it.
    Tail { offset: u64, bytes: u64 },
}

/// A segment read back: its valid records in order, and where it is damaged.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Offset and header of each valid record.
    pub records: Vec<(u64, RecordHeader)>,
    pub damage: Vec<Damage>,
}

/// Reads every record of a segment whose first record was numbered `first_seq`. A record
/// counts only if its checksum holds, it carries `signal`, and its sequence number follows the
/// previous one's; after damage, the scan resynchronises on the next such record.
pub(crate) fn scan(buf: &[u8], signal: Signal, first_seq: u64) -> Scan {
    let mut out = Scan::default();
    // Sequence numbers below this belong to earlier segments or records already read.
    let mut next_seq = first_seq;
    let mut at = 0usize;
    let valid_at = |at: usize, next_seq: u64| {
        parse(&buf[at..])
            .ok()
            .filter(|h| h.signal == signal && h.seq >= next_seq)
    };
    while at < buf.len() {
        if let Some(header) = valid_at(at, next_seq) {
            out.records.push((at as u64, header));
            next_seq = header.seq.saturating_add(1);
            at += header.total_len() as usize;
            continue;
        }
        let resumed = (at + 1..buf.len())
            .filter(|&i| buf[i..].starts_with(&MAGIC))
            .find_map(|i| valid_at(i, next_seq).map(|h| (i, h)));
        match resumed {
            Some((i, header)) => {
                out.damage.push(Damage::Skipped {
                    offset: at as u64,
                    resumed_at: i as u64,
                    lost: header.seq - next_seq,
                });
                at = i;
            }
            None => {
                out.damage.push(Damage::Tail {
                    offset: at as u64,
                    bytes: (buf.len() - at) as u64,
                });
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, payload: &[u8]) -> Vec<u8> {
        let header = RecordHeader {
            signal: Signal::Logs,
            seq,
            items: 3,
            len: payload.len() as u32,
        };
        let mut out = encode_header(&header, payload).to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn segment(first: u64, n: u64) -> (Vec<u8>, Vec<u64>) {
        let mut buf = Vec::new();
        let mut offsets = Vec::new();
        for seq in first..first + n {
            offsets.push(buf.len() as u64);
            buf.extend(record(seq, format!("payload {seq}").as_bytes()));
        }
        (buf, offsets)
    }

    fn seqs(scan: &Scan) -> Vec<u64> {
        scan.records.iter().map(|(_, h)| h.seq).collect()
    }

    #[test]
    fn a_record_round_trips_and_every_header_byte_is_checked() {
        let bytes = record(42, b"hello");
        let header = parse(&bytes).unwrap();
        assert_eq!(
            header,
            RecordHeader {
                signal: Signal::Logs,
                seq: 42,
                items: 3,
                len: 5
            }
        );
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x40;
            assert!(parse(&damaged).is_err(), "flipping byte {i} went unnoticed");
        }
        assert_eq!(parse(&bytes[..bytes.len() - 1]), Err(RecordError::Short));
        assert_eq!(parse(&bytes[..10]), Err(RecordError::Short));
    }

    #[test]
    fn scans_a_clean_segment() {
        let (buf, offsets) = segment(10, 5);
        let scan = scan(&buf, Signal::Logs, 10);
        assert!(scan.damage.is_empty());
        assert_eq!(seqs(&scan), vec![10, 11, 12, 13, 14]);
        let found: Vec<u64> = scan.records.iter().map(|(o, _)| *o).collect();
        assert_eq!(found, offsets);
    }

    #[test]
    fn a_torn_tail_is_reported_with_its_offset() {
        let (buf, offsets) = segment(0, 4);
        let cut = offsets[3] as usize + 7;
        let scan = scan(&buf[..cut], Signal::Logs, 0);
        assert_eq!(seqs(&scan), vec![0, 1, 2]);
        assert_eq!(
            scan.damage,
            vec![Damage::Tail {
                offset: offsets[3],
                bytes: 7
            }]
        );
    }

    #[test]
    fn a_flipped_byte_mid_segment_skips_that_record_and_counts_it() {
        let (mut buf, offsets) = segment(5, 6);
        buf[offsets[2] as usize + HEADER_LEN + 2] ^= 1;
        let scan = scan(&buf, Signal::Logs, 5);
        assert_eq!(seqs(&scan), vec![5, 6, 8, 9, 10]);
        assert_eq!(
            scan.damage,
            vec![Damage::Skipped {
                offset: offsets[2],
                resumed_at: offsets[3],
                lost: 1
            }]
        );
    }

    #[test]
    fn garbage_between_records_loses_nothing_and_garbage_alone_is_a_tail() {
        let (first, _) = segment(0, 2);
        let (second, _) = segment(2, 2);
        let mut buf = first.clone();
        buf.extend_from_slice(b"WQR\x01 garbage that starts like a record");
        let garbage_at = first.len() as u64;
        buf.extend_from_slice(&second);
        let scan = scan(&buf, Signal::Logs, 0);
        assert_eq!(seqs(&scan), vec![0, 1, 2, 3]);
        assert!(matches!(
            scan.damage[..],
            [Damage::Skipped { offset, lost: 0, .. }] if offset == garbage_at
        ));
        let noise: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        let scan = super::scan(&noise, Signal::Logs, 0);
        assert!(scan.records.is_empty());
        assert_eq!(
            scan.damage,
            vec![Damage::Tail {
                offset: 0,
                bytes: 200
            }]
        );
    }

    #[test]
    fn records_of_another_signal_or_out_of_sequence_are_not_taken() {
        let mut buf = record(0, b"a");
        let mut other = record(1, b"b");
        other[4] = signal_code(Signal::Traces);
        // Re-seal so only the signal differs from a valid record.
        let header = parse_unchecked_len(&other);
        let sealed = encode_header(
            &RecordHeader {
                signal: Signal::Traces,
                ..header
            },
            b"b",
        );
        other[..HEADER_LEN].copy_from_slice(&sealed);
        buf.extend(other);
        buf.extend(record(0, b"stale"));
        buf.extend(record(2, b"c"));
        let scan = scan(&buf, Signal::Logs, 0);
        assert_eq!(seqs(&scan), vec![0, 2]);
        assert!(matches!(scan.damage[..], [Damage::Skipped { lost: 1, .. }]));
    }

    fn parse_unchecked_len(bytes: &[u8]) -> RecordHeader {
        RecordHeader {
            signal: Signal::Logs,
            seq: le_u64(&bytes[8..16]),
            items: le_u32(&bytes[16..20]),
            len: le_u32(&bytes[20..24]),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Whatever a disk hands back, the scan accounts for every byte without panicking:
        /// valid records, then damage, covering the buffer to its end.
        #[test]
        fn any_bytes_scan_without_panicking(
            prefix in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            records in 0u64..4,
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let mut buf = prefix;
            for seq in 0..records {
                buf.extend(record(seq, b"payload"));
            }
            buf.extend(noise);
            let scan = scan(&buf, Signal::Logs, 0);
            let covered: u64 = scan.records.iter().map(|(_, h)| h.total_len()).sum::<u64>()
                + scan.damage.iter().map(|d| match *d {
                    Damage::Skipped { offset, resumed_at, .. } => resumed_at - offset,
                    Damage::Tail { bytes, .. } => bytes,
                }).sum::<u64>();
            proptest::prop_assert_eq!(covered, buf.len() as u64);
        }
    }
}
