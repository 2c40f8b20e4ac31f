//! The generator's item identity: how a (run id, sequence number) pair is written into spans,
//! log records and metric points, and read back by the sink.
//!
//! - Spans: `trace_id` = run id (8 bytes big-endian) ‖ seq (8 bytes big-endian); `span_id` = seq
//!   with the top bit set (big-endian). With `--trace-spans N` the spans of N consecutive
//!   requests share trace ids ([`trace_seq`]): the trace id carries the seq of its first span. Both are fixed-width bytes fields, so patching them never
//!   moves other bytes. The top bit keeps `span_id` non-zero (all-zero ids are invalid in OTLP)
//!   and, with the repeated seq in the `trace_id`, lets the sink tell the generator's spans from
//!   anyone else's.
//! - Log records and metric points: an int attribute `weir.gen.seq` and an int attribute
//!   `weir.gen.run`. An `int_value` is a varint, whose width follows its value; the generator
//!   writes the seq as a *ten-byte* varint (continuation bits on the first nine bytes, padding
//!   with zero groups). Protobuf decoders (prost, Go, Java) accept non-minimal varints and read
//!   the same number, so the attribute stays a real `int`, and the slot has one width for every
//!   seq. The template reserves the slot by encoding a negative placeholder, which protobuf
//!   always writes in ten bytes. Log records also carry the span scheme's trace context.

use std::ops::Range;

/// Attribute key of the sequence number on log records and metric points.
pub const SEQ_KEY: &str = "weir.gen.seq";
/// Attribute key of the run id on log records and metric points.
pub const RUN_KEY: &str = "weir.gen.run";
/// Width of the seq attribute's varint slot.
pub const SEQ_VARINT_LEN: usize = 10;
/// Bit set in every generated `span_id`.
const SPAN_MARK: u64 = 1 << 63;
/// Largest sequence number: the top bit is the span mark.
pub const MAX_SEQ: u64 = SPAN_MARK - 1;

/// The `trace_id` of item `seq` of run `run`.
pub fn trace_id(run: u64, seq: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&run.to_be_bytes());
    id[8..].copy_from_slice(&seq.to_be_bytes());
    id
}

/// The `span_id` of item `seq`.
pub fn span_id(seq: u64) -> [u8; 8] {
    (seq | SPAN_MARK).to_be_bytes()
}

/// The seq in the trace id of span `seq` when each trace has `spans` spans, one in each of
/// `spans` consecutive requests of `batch` spans: the span at the same place in each request of
/// a group shares the trace of the group's first request.
pub fn trace_seq(seq: u64, batch: u64, spans: u64) -> u64 {
    let (batch, spans) = (batch.max(1), spans.max(1));
    let group = batch.saturating_mul(spans);
    seq / group * group + seq % batch
}

/// Most spans a generated trace holds (so the trace's seq lies this close below the span's).
pub const MAX_TRACE_SPREAD: u64 = 1 << 32;

/// The (run, seq) a generated span carries, or `None` when the ids do not follow the scheme.
pub fn span_ids(trace_id: &[u8], span_id: &[u8]) -> Option<(u64, u64)> {
    let trace: [u8; 16] = trace_id.try_into().ok()?;
    let span = u64::from_be_bytes(span_id.try_into().ok()?);
    let (run, seq_in_trace) = trace.split_at(8);
    let run = u64::from_be_bytes(run.try_into().ok()?);
    let seq_in_trace = u64::from_be_bytes(seq_in_trace.try_into().ok()?);
    let seq = span & !SPAN_MARK;
    let in_trace = seq
        .checked_sub(seq_in_trace)
        .is_some_and(|spread| spread < MAX_TRACE_SPREAD);
    (span & SPAN_MARK != 0 && in_trace).then_some((run, seq))
}

/// Writes `value` as a varint of exactly [`SEQ_VARINT_LEN`] bytes.
pub fn write_wide_varint(slot: &mut [u8; SEQ_VARINT_LEN], value: u64) {
    for (i, byte) in slot.iter_mut().enumerate() {
        let group = (value >> (7 * i)) & 0x7f;
        // Every byte but the last continues, whatever the value: that is the fixed width.
        let more = if i + 1 < SEQ_VARINT_LEN { 0x80 } else { 0 };
        *byte = u8::try_from(group).unwrap_or(0) | more;
    }
}

/// Patches a fixed-width field in place; `false` when the range is not inside `buf` or has
/// another width.
pub fn patch(buf: &mut [u8], at: &Range<usize>, value: &[u8]) -> bool {
    match buf.get_mut(at.clone()) {
        Some(slot) if slot.len() == value.len() => {
            slot.copy_from_slice(value);
            true
        }
        _ => false,
    }
}

/// Which sequence number the `index`-th item of a run gets. The identity, except for the test
/// hooks: `skip` leaves one number out (the sink must report it missing), `repeat` sends one
/// number twice (the sink must report a duplicate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqMap {
    /// Never send this seq; the items after it shift up by one.
    pub skip: Option<u64>,
    /// Send this seq twice; the items after it shift down by one.
    pub repeat: Option<u64>,
}

impl SeqMap {
    /// The seq of the `index`-th item.
    pub fn seq(&self, index: u64) -> u64 {
        let mut seq = index;
        if let Some(repeat) = self.repeat
            && seq > repeat
        {
            seq -= 1;
        }
        if let Some(skip) = self.skip
            && seq >= skip
        {
            seq = seq.saturating_add(1);
        }
        seq.min(MAX_SEQ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_varint(bytes: &[u8]) -> u64 {
        prost::encoding::decode_varint(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn span_ids_round_trip_and_reject_foreign_ids() {
        let run = 0x0123_4567_89ab_cdef;
        for seq in [0, 1, 255, 1 << 40, MAX_SEQ] {
            let (t, s) = (trace_id(run, seq), span_id(seq));
            assert_ne!(s, [0; 8]);
            assert_eq!(span_ids(&t, &s), Some((run, seq)));
        }
        // An SDK's random ids: the mark bit or the repeated seq does not match.
        assert_eq!(span_ids(&[7; 16], &[7; 8]), None);
        assert_eq!(span_ids(&trace_id(1, 5), &6u64.to_be_bytes()), None);
        assert_eq!(span_ids(&[1; 15], &span_id(1)), None);
        // A span later in a generated trace than the trace's first span is the generator's.
        assert_eq!(span_ids(&trace_id(run, 5), &span_id(205)), Some((run, 205)));
        assert_eq!(span_ids(&trace_id(run, 206), &span_id(205)), None);
    }

    #[test]
    fn trace_spans_group_the_same_place_of_consecutive_requests() {
        // Requests of 3 spans, traces of 2: seqs 0..3 and 3..6 make traces 0, 1, 2.
        let traces: Vec<u64> = (0..12).map(|seq| trace_seq(seq, 3, 2)).collect();
        assert_eq!(traces, vec![0, 1, 2, 0, 1, 2, 6, 7, 8, 6, 7, 8]);
        assert_eq!(trace_seq(41, 10, 1), 41);
    }

    #[test]
    fn wide_varints_decode_to_their_value() {
        for value in [0, 1, 127, 128, 1 << 35, MAX_SEQ, u64::MAX] {
            let mut slot = [0u8; SEQ_VARINT_LEN];
            write_wide_varint(&mut slot, value);
            assert_eq!(read_varint(&slot), value, "{value}");
        }
        // The placeholder a template reserves the slot with is ten bytes wide.
        assert_eq!(
            prost::encoding::encoded_len_varint(-1i64 as u64),
            SEQ_VARINT_LEN
        );
    }

    #[test]
    fn patch_refuses_wrong_widths() {
        let mut buf = [0u8; 4];
        assert!(patch(&mut buf, &(1..3), &[9, 9]));
        assert_eq!(buf, [0, 9, 9, 0]);
        assert!(!patch(&mut buf, &(3..5), &[1, 1]));
        assert!(!patch(&mut buf, &(0..2), &[1]));
    }

    #[test]
    fn seq_map_hooks() {
        let plain = SeqMap::default();
        assert_eq!(
            (0..5).map(|i| plain.seq(i)).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        let skip = SeqMap {
            skip: Some(2),
            repeat: None,
        };
        assert_eq!(
            (0..5).map(|i| skip.seq(i)).collect::<Vec<_>>(),
            [0, 1, 3, 4, 5]
        );
        let repeat = SeqMap {
            skip: None,
            repeat: Some(2),
        };
        assert_eq!(
            (0..5).map(|i| repeat.seq(i)).collect::<Vec<_>>(),
            [0, 1, 2, 2, 3]
        );
    }
}
