//! The targeted wire scan: walks an encoded OTLP export request down to its items (spans, log
//! records, metric data points) and reports where each item's identity and timestamp fields are,
//! without decoding anything else.
//!
//! The generator uses it once per template to learn the byte offsets it patches; the sink uses it
//! per request to read the ids. It reads only the path to the items and, inside an item, the
//! fields named in [`ItemSlots`]; everything else is skipped by its length. It never panics and
//! never allocates: bytes that are not a well-formed request end the scan with a [`ScanError`]
//! (the sink validates with `weir_core::batch::wire::walk` first, so that is rare there).

use std::ops::Range;

use weir_core::batch::Signal;

use crate::ids::{RUN_KEY, SEQ_KEY};

/// Where an item's identity and time fields are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemSlots {
    /// A span's or log record's `trace_id` bytes.
    pub trace_id: Option<Range<usize>>,
    /// A span's or log record's `span_id` bytes.
    pub span_id: Option<Range<usize>>,
    /// The `weir.gen.seq` int attribute of a log record or metric point: its value and the
    /// bytes of its varint. Spans' attributes are not read.
    pub seq: Option<IntSlot>,
    /// The `weir.gen.run` int attribute.
    pub run: Option<IntSlot>,
    /// The item's fixed64 timestamps (span start/end, log time/observed time, point
    /// start/time), in field order.
    pub times: [Option<Range<usize>>; 2],
}

/// An int attribute value as found on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntSlot {
    /// The value (an `int64` read as its two's-complement bits).
    pub value: u64,
    /// The bytes of its varint.
    pub at: Range<usize>,
}

/// Bytes that are not a well-formed request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// A value runs past the end of its message.
    #[error("truncated field at byte {0}")]
    Truncated(usize),
    /// A varint longer than ten bytes.
    #[error("overlong varint at byte {0}")]
    Varint(usize),
    /// Wire types 3, 4 (groups), 6 and 7 do not occur in OTLP.
    #[error("unsupported wire type {wire_type} at byte {at}")]
    WireType {
        /// The wire type bits.
        wire_type: u8,
        /// Where the key starts.
        at: usize,
    },
}

/// One field's value.
enum Value {
    Varint(u64, Range<usize>),
    Fixed(Range<usize>),
    Bytes(Range<usize>),
}

/// Field reader over `buf[range]`; offsets stay absolute so callers can patch `buf`.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8], range: Range<usize>) -> Self {
        Fields {
            buf,
            pos: range.start,
            end: range.end.min(buf.len()),
        }
    }

    #[inline]
    fn varint(&mut self) -> Result<(u64, Range<usize>), ScanError> {
        let start = self.pos;
        // Keys and most lengths are one byte: the sink scans every field of every item it
        // receives, so this path, inlined, is most of its work.
        if start < self.end
            && let Some(&byte) = self.buf.get(start)
            && byte & 0x80 == 0
        {
            self.pos = start + 1;
            return Ok((u64::from(byte), start..self.pos));
        }
        self.long_varint()
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Result<(u64, Range<usize>), ScanError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self
                .buf
                .get(self.pos)
                .filter(|_| self.pos < self.end)
                .ok_or(ScanError::Truncated(start))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok((value, start..self.pos));
            }
        }
        Err(ScanError::Varint(start))
    }

    fn take(&mut self, len: usize) -> Result<Range<usize>, ScanError> {
        let start = self.pos;
        let stop = start
            .checked_add(len)
            .filter(|stop| *stop <= self.end)
            .ok_or(ScanError::Truncated(start))?;
        self.pos = stop;
        Ok(start..stop)
    }

    #[inline]
    fn next(&mut self) -> Option<Result<(u64, Value), ScanError>> {
        (self.pos < self.end).then(|| self.field())
    }

    #[inline]
    fn field(&mut self) -> Result<(u64, Value), ScanError> {
        let at = self.pos;
        let (key, _) = self.varint()?;
        let number = key >> 3;
        let value = match key & 7 {
            0 => {
                let (v, range) = self.varint()?;
                Value::Varint(v, range)
            }
            1 => Value::Fixed(self.take(8)?),
            2 => {
                let (len, _) = self.varint()?;
                let len = usize::try_from(len).map_err(|_| ScanError::Truncated(at))?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed(self.take(4)?),
            other => {
                return Err(ScanError::WireType {
                    wire_type: u8::try_from(other).unwrap_or(u8::MAX),
                    at,
                });
            }
        };
        Ok((number, value))
    }
}

/// Calls `each` for every item of an encoded `signal` request, in order, and returns how many
/// there were.
pub fn scan(
    signal: Signal,
    buf: &[u8],
    mut each: impl FnMut(ItemSlots),
) -> Result<usize, ScanError> {
    let mut count = 0usize;
    let mut emit = |slots: ItemSlots| {
        count += 1;
        each(slots);
    };
    // Request → Resource* (1) → Scope* (2) → item (2) for spans and logs; metrics go one level
    // deeper, through the metric's data field, to its points.
    for_each(buf, 0..buf.len(), 1, &mut |resource| {
        for_each(buf, resource, 2, &mut |scope| {
            for_each(buf, scope, 2, &mut |item| {
                match signal {
                    Signal::Traces => emit(item_slots(buf, item, &SPAN)?),
                    Signal::Logs => emit(item_slots(buf, item, &LOG)?),
                    Signal::Metrics => metric_points(buf, item, &mut emit)?,
                }
                Ok(())
            })
        })
    })?;
    Ok(count)
}

/// Calls `f` with the bytes of every length-delimited field `number` in `range`.
fn for_each(
    buf: &[u8],
    range: Range<usize>,
    number: u64,
    f: &mut dyn FnMut(Range<usize>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut fields = Fields::new(buf, range);
    while let Some(field) = fields.next() {
        if let (n, Value::Bytes(inner)) = field?
            && n == number
        {
            f(inner)?;
        }
    }
    Ok(())
}

/// Field numbers of an item's slots in one message type.
struct Layout {
    trace_id: u64,
    span_id: u64,
    /// Where the `weir.gen.*` attributes are; `None` for spans, whose ids are their identity,
    /// so their attributes are skipped unread.
    attributes: Option<u64>,
    times: [u64; 2],
}

const SPAN: Layout = Layout {
    trace_id: 1,
    span_id: 2,
    attributes: None,
    times: [7, 8],
};
const LOG: Layout = Layout {
    trace_id: 9,
    span_id: 10,
    attributes: Some(6),
    times: [1, 11],
};
/// Number, histogram and summary points: attributes 7, 9, 7; start/time 2, 3. The exponential
/// histogram point has its attributes at 1 (see `point_layout`).
const fn point(attributes: u64) -> Layout {
    Layout {
        trace_id: 0,
        span_id: 0,
        attributes: Some(attributes),
        times: [2, 3],
    }
}

/// `Metric.data` oneof: gauge 5, sum 7, histogram 9, exponential histogram 10, summary 11.
fn point_layout(data_field: u64) -> Option<Layout> {
    match data_field {
        5 | 7 | 11 => Some(point(7)),
        9 => Some(point(9)),
        10 => Some(point(1)),
        _ => None,
    }
}

fn metric_points(
    buf: &[u8],
    metric: Range<usize>,
    emit: &mut dyn FnMut(ItemSlots),
) -> Result<(), ScanError> {
    let mut fields = Fields::new(buf, metric);
    while let Some(field) = fields.next() {
        if let (n, Value::Bytes(data)) = field?
            && let Some(layout) = point_layout(n)
        {
            for_each(buf, data, 1, &mut |p| {
                emit(item_slots(buf, p, &layout)?);
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn item_slots(buf: &[u8], item: Range<usize>, layout: &Layout) -> Result<ItemSlots, ScanError> {
    let mut slots = ItemSlots::default();
    let mut fields = Fields::new(buf, item);
    while let Some(field) = fields.next() {
        match field? {
            (n, Value::Bytes(r)) if n == layout.trace_id => slots.trace_id = Some(r),
            (n, Value::Bytes(r)) if n == layout.span_id => slots.span_id = Some(r),
            (n, Value::Fixed(r)) if n == layout.times[0] && r.len() == 8 => {
                slots.times[0] = Some(r)
            }
            (n, Value::Fixed(r)) if n == layout.times[1] && r.len() == 8 => {
                slots.times[1] = Some(r)
            }
            (n, Value::Bytes(kv)) if Some(n) == layout.attributes => {
                match int_attribute(buf, kv)? {
                    Some((Key::Seq, slot)) => slots.seq = Some(slot),
                    Some((Key::Run, slot)) => slots.run = Some(slot),
                    None => {}
                }
            }
            _ => {}
        }
    }
    Ok(slots)
}

enum Key {
    Seq,
    Run,
}

/// A `KeyValue` that is one of the generator's int attributes.
fn int_attribute(buf: &[u8], kv: Range<usize>) -> Result<Option<(Key, IntSlot)>, ScanError> {
    let mut key = None;
    let mut value = None;
    let mut fields = Fields::new(buf, kv);
    while let Some(field) = fields.next() {
        match field? {
            (1, Value::Bytes(k)) => {
                key = match buf.get(k) {
                    Some(k) if k == SEQ_KEY.as_bytes() => Some(Key::Seq),
                    Some(k) if k == RUN_KEY.as_bytes() => Some(Key::Run),
                    // Not ours: the value need not be read.
                    _ => return Ok(None),
                };
            }
            (2, Value::Bytes(any)) => value = Some(any),
            _ => {}
        }
    }
    let (Some(key), Some(any)) = (key, value) else {
        return Ok(None);
    };
    let mut int = None;
    let mut fields = Fields::new(buf, any);
    while let Some(field) = fields.next() {
        match field? {
            (3, Value::Varint(v, at)) => int = Some(IntSlot { value: v, at }),
            // A later oneof member wins in protobuf, so a value of another type clears the int.
            _ => int = None,
        }
    }
    Ok(int.map(|slot| (key, slot)))
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
        metric,
    };
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    use super::*;

    fn int_kv(key: &str, v: i64) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(v)),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn finds_span_ids_and_times() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        Span {
                            trace_id: vec![1; 16],
                            span_id: vec![2; 8],
                            start_time_unix_nano: 5,
                            end_time_unix_nano: 6,
                            attributes: vec![int_kv("other", 1)],
                            ..Default::default()
                        },
                        Span::default(),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let buf = request.encode_to_vec();
        let mut found = Vec::new();
        assert_eq!(scan(Signal::Traces, &buf, |s| found.push(s)), Ok(2));
        let first = &found[0];
        assert_eq!(&buf[first.trace_id.clone().unwrap()], &[1; 16]);
        assert_eq!(&buf[first.span_id.clone().unwrap()], &[2; 8]);
        assert_eq!(&buf[first.times[0].clone().unwrap()], &5u64.to_le_bytes());
        assert_eq!(&buf[first.times[1].clone().unwrap()], &6u64.to_le_bytes());
        assert_eq!(first.seq, None);
        assert_eq!(found[1], ItemSlots::default());
    }

    #[test]
    fn span_attributes_are_not_read_for_ids() {
        // A span's identity is its trace_id and span_id; a `weir.gen.seq` attribute on it is
        // someone else's data and must not change what the sink counts.
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        attributes: vec![int_kv(SEQ_KEY, 5), int_kv(RUN_KEY, 6)],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let buf = request.encode_to_vec();
        let mut found = Vec::new();
        assert_eq!(scan(Signal::Traces, &buf, |s| found.push(s)), Ok(1));
        assert_eq!((found[0].seq.clone(), found[0].run.clone()), (None, None));
        assert_eq!(&buf[found[0].span_id.clone().unwrap()], &[2; 8]);
    }

    #[test]
    fn finds_attributes_on_exponential_histogram_points() {
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "m".into(),
                        data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![ExponentialHistogramDataPoint {
                                attributes: vec![int_kv(SEQ_KEY, 42), int_kv(RUN_KEY, -3)],
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let buf = request.encode_to_vec();
        let mut found = Vec::new();
        assert_eq!(scan(Signal::Metrics, &buf, |s| found.push(s)), Ok(1));
        assert_eq!(found[0].seq.as_ref().map(|s| s.value), Some(42));
        assert_eq!(found[0].run.as_ref().map(|s| s.value), Some(-3i64 as u64));
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        let buf = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans::default(); 3],
        }
        .encode_to_vec();
        let mut long = vec![
            0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        ];
        long.push(0x01);
        for bad in [&[0x0a, 0x05, 0x12][..], &[0x0b][..], &[0x0a][..], &long[..]] {
            assert!(scan(Signal::Traces, bad, |_| {}).is_err(), "{bad:?}");
        }
        // Every prefix of a valid request is either valid or an error; none panics.
        let big = crate::template::Template::build(Signal::Logs, 7, 1).unwrap();
        for len in 0..big.bytes().len() {
            let _ = scan(Signal::Logs, &big.bytes()[..len], |_| {});
        }
        assert_eq!(scan(Signal::Traces, &buf, |_| {}), Ok(0));
    }
}
