//! OTTL's [`Record`] over the encoded batch: a condition reads a span, span event, metric,
//! data point or log record straight from its protobuf bytes ([`ItemView`]), so `filter`
//! decides without decoding the request, and `transform` decodes only the records one of its
//! statements applies to.
//!
//! The fields conditions read most (attributes with their keys, names, kinds, status, ids,
//! times, severities, bodies, resource and scope attributes) are read on the wire, strings and
//! bytes borrowed from the request. Any other path decodes the one message it needs (the
//! item, its metric, scope or resource) and asks the decoded record, so every path answers
//! exactly what the decoded record would; a test holds the two to that.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use weir_core::batch::rewrite::{ValueRef, read_value};
use weir_core::batch::select::{ItemKind, ItemView};
use weir_ottl::decoded::{DataPointView, LogView, MetricView, SpanEventView, SpanView};
use weir_ottl::{EvalError, Field, Key, Path, Record, Value, hex, index_value};

/// One record on the wire: the item (and around it) and, for the span event context, the
/// event with its index in the span; for data points, the point's index in its metric.
#[derive(Clone, Copy, Debug)]
pub struct WireRecord<'a> {
    /// The item and what surrounds it.
    pub view: ItemView<'a>,
    /// The span event (its bytes) being looked at, for span event conditions.
    pub event: Option<&'a [u8]>,
    /// The event's index in its span, or the data point's in its metric.
    pub index: usize,
}

impl Record for WireRecord<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        match self.on_wire(path) {
            Some(value) => value,
            None => self.decoded(path),
        }
    }
}

/// What a field holds on the wire.
#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// A varint at the front of `bytes`, which it advances; one-byte ones (nearly every key and
/// length here) read inline.
#[inline(always)]
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    match bytes.split_first() {
        Some((&b, rest)) if b < 0x80 => {
            *bytes = rest;
            Some(u64::from(b))
        }
        _ => long_varint(bytes),
    }
}

/// The rest of [`varint`], out of line so that the one-byte case stays small enough to
/// inline into the walks.
#[inline(never)]
fn long_varint(bytes: &mut &[u8]) -> Option<u64> {
    prost::encoding::decode_varint(bytes).ok()
}

/// The fields of a message, in order; stops at anything it cannot read (groups, bad bytes),
/// which the wire walk already refused for batches.
fn fields(mut bytes: &[u8]) -> impl Iterator<Item = (u32, Wire<'_>)> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let key = varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).ok()?;
        let value = match key & 7 {
            0 => Wire::Varint(varint(&mut bytes)?),
            1 => {
                let (head, rest) = bytes.split_first_chunk::<8>()?;
                bytes = rest;
                Wire::Fixed64(u64::from_le_bytes(*head))
            }
            5 => {
                let (head, rest) = bytes.split_first_chunk::<4>()?;
                bytes = rest;
                Wire::Fixed32(u32::from_le_bytes(*head))
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (content, rest) = bytes.split_at_checked(len)?;
                bytes = rest;
                Wire::Len(content)
            }
            _ => return None,
        };
        Some((number, value))
    })
}

/// The last occurrence of field `number` (prost keeps the last scalar).
fn last(bytes: &[u8], number: u32) -> Option<Wire<'_>> {
    fields(bytes)
        .filter(|(n, _)| *n == number)
        .map(|(_, w)| w)
        .last()
}

/// The content of the last length-delimited field `number` of a message, if any.
pub(crate) fn last_delimited(bytes: &[u8], number: u32) -> Option<&[u8]> {
    match last(bytes, number) {
        Some(Wire::Len(content)) => Some(content),
        _ => None,
    }
}

fn string(bytes: &[u8], number: u32) -> Value<'_> {
    match last(bytes, number) {
        Some(Wire::Len(b)) => std::str::from_utf8(b).map_or(Value::str(""), Value::str),
        _ => Value::str(""),
    }
}

fn id(bytes: &[u8], number: u32) -> &[u8] {
    match last(bytes, number) {
        Some(Wire::Len(b)) => b,
        _ => &[],
    }
}

fn varint_field(bytes: &[u8], number: u32) -> u64 {
    match last(bytes, number) {
        Some(Wire::Varint(v)) => v,
        _ => 0,
    }
}

fn fixed64(bytes: &[u8], number: u32) -> u64 {
    match last(bytes, number) {
        Some(Wire::Fixed64(v)) => v,
        _ => 0,
    }
}

fn fixed32(bytes: &[u8], number: u32) -> u32 {
    match last(bytes, number) {
        Some(Wire::Fixed32(v)) => v,
        _ => 0,
    }
}

fn int(u: u64) -> Value<'static> {
    Value::Int(i64::try_from(u).unwrap_or(i64::MAX))
}

/// An enum (int32) field as the decoded record gives it.
fn enum_int(bytes: &[u8], number: u32) -> Value<'static> {
    Value::Int(i64::from(varint_field(bytes, number) as i32))
}

/// An encoded `AnyValue` as a value: scalars borrowed, arrays and maps decoded.
fn any_value(content: &[u8]) -> Option<Value<'_>> {
    Some(match read_value(content) {
        ValueRef::String(s) => Value::Str(Cow::Borrowed(std::str::from_utf8(s).ok()?)),
        ValueRef::Bool(b) => Value::Bool(b),
        ValueRef::Int(i) => Value::Int(i),
        ValueRef::Double(d) => Value::Double(d),
        ValueRef::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
        ValueRef::Empty => Value::Nil,
        ValueRef::Composite => Value::from_any(&AnyValue::decode(content).ok()?).into_owned(),
    })
}

/// The contents of the length-delimited fields numbered `number` of `message`, the others
/// skipped without being read: attribute lookups run per record, so this is on the filter's
/// hot path.
fn delimited_fields(message: &[u8], number: u32) -> impl Iterator<Item = &[u8]> {
    let mut bytes = message;
    std::iter::from_fn(move || {
        loop {
            let key = varint(&mut bytes)?;
            match key & 7 {
                2 => {
                    let len = usize::try_from(varint(&mut bytes)?).ok()?;
                    let (content, rest) = bytes.split_at_checked(len)?;
                    bytes = rest;
                    if key >> 3 == u64::from(number) {
                        return Some(content);
                    }
                }
                0 => {
                    let end = bytes.iter().position(|b| b & 0x80 == 0)?;
                    bytes = bytes.get(end + 1..)?;
                }
                1 => bytes = bytes.get(8..)?,
                5 => bytes = bytes.get(4..)?,
                _ => return None,
            }
        }
    })
}

/// The first `KeyValue` in field `number` of `message` whose key is `key` (its content), as
/// pdata's `Get` finds it; `None` when there is none.
pub fn find_attribute<'a>(message: &'a [u8], number: u32, key: &[u8]) -> Option<&'a [u8]> {
    delimited_fields(message, number).find(|kv| entry(kv).0 == key)
}

/// Each field of `message` with its number and its whole encoding (key to end), in order; a
/// field it cannot read ends the walk, so callers compare the lengths to tell.
pub(crate) fn whole_fields(message: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut rest = message;
    std::iter::from_fn(move || {
        let start = rest;
        let mut bytes = rest;
        let key = varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).ok()?;
        let skip = match key & 7 {
            0 => {
                varint(&mut bytes)?;
                0
            }
            1 => 8,
            5 => 4,
            2 => usize::try_from(varint(&mut bytes)?).ok()?,
            _ => return None,
        };
        bytes = bytes.get(skip..)?;
        rest = bytes;
        Some((number, &start[..start.len() - bytes.len()]))
    })
}

/// The key and value of a `KeyValue` encoded as SDKs and prost write it (`key`, then at most
/// one `value`, short lengths); `None` for anything else, which is read field by field.
#[inline(always)]
fn plain_entry(kv: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let [0x0a, key_len, rest @ ..] = kv else {
        return None;
    };
    if *key_len >= 0x80 {
        return None;
    }
    let (key, after) = rest.split_at_checked(usize::from(*key_len))?;
    match after {
        [] => Some((key, None)),
        [0x12, value_len, value @ ..]
            if *value_len < 0x80 && value.len() == usize::from(*value_len) =>
        {
            Some((key, Some(value)))
        }
        _ => None,
    }
}

/// The key (the last, as prost keeps), the value and how many value fields a `KeyValue` has.
#[inline(always)]
pub fn entry(kv: &[u8]) -> (&[u8], Option<&[u8]>, usize) {
    match plain_entry(kv) {
        Some((key, value)) => (key, value, usize::from(value.is_some())),
        None => entry_by_fields(kv),
    }
}

/// [`entry`] of a `KeyValue` written some other way, out of line so that the plain case
/// inlines into the walks.
#[inline(never)]
fn entry_by_fields(kv: &[u8]) -> (&[u8], Option<&[u8]>, usize) {
    let mut key: &[u8] = &[];
    let mut value: Option<&[u8]> = None;
    let mut values = 0;
    for (field, wire) in fields(kv) {
        match (field, wire) {
            (1, Wire::Len(k)) => key = k,
            (2, Wire::Len(v)) => {
                value = Some(v);
                values += 1;
            }
            _ => {}
        }
    }
    (key, value, values)
}

/// `attributes[keys...]` of the `KeyValue` list in field `number` of `message`; `None` when
/// it must be answered decoded (the whole map, or bytes it cannot read).
fn attribute<'a>(
    message: &'a [u8],
    number: u32,
    keys: &[Key],
) -> Option<Result<Value<'a>, EvalError>> {
    let (Key::Str(wanted), rest) = keys.split_first()? else {
        return None;
    };
    let mut found = Value::Nil;
    for kv in delimited_fields(message, number) {
        let (key, value, values) = entry(kv);
        if key == wanted.as_bytes() {
            if values > 1 {
                return None; // merged values: the decoded record reads them as prost does
            }
            found = match value {
                Some(v) => any_value(v)?,
                None => Value::Nil,
            };
            break;
        }
    }
    Some(rest.iter().try_fold(found, |v, key| index_value(v, key)))
}

/// A span's own fields as the decoded `Span` has them, read in one walk over its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpanFields<'a> {
    /// `name` (empty when absent or not UTF-8).
    pub name: &'a str,
    /// `kind`.
    pub kind: i32,
    /// `start_time_unix_nano`.
    pub start: u64,
    /// `end_time_unix_nano`.
    pub end: u64,
    /// `trace_id`.
    pub trace_id: &'a [u8],
    /// `span_id`.
    pub span_id: &'a [u8],
    /// `status.code` (statuses given more than once merged, as prost does).
    pub status_code: i32,
}

/// The fields of an encoded `Span` (its message content) that summaries of spans read, in
/// one walk instead of one per field; the last occurrence of a field wins, as in prost.
pub fn span_fields(span: &[u8]) -> SpanFields<'_> {
    walk_span(span, |_| {})
}

/// [`span_fields`] and, in the same walk, for each of `keys` the value of the first `KeyValue`
/// of the span's attributes with that key, as [`find_attribute`] finds it and [`entry`] reads
/// it (an encoded `AnyValue`, empty when the `KeyValue` has none), into `found` (`None` where
/// there is none; `found` as long as `keys`): a summary keyed by several attributes reads them
/// without walking the attributes once per key.
pub fn span_fields_and_attributes<'a, K: AsRef<[u8]>>(
    span: &'a [u8],
    keys: &[K],
    found: &mut [Option<&'a [u8]>],
) -> SpanFields<'a> {
    found.fill(None);
    let mut missing = keys.len().min(found.len());
    walk_span(span, |kv| {
        if missing == 0 {
            return;
        }
        let (key, value, _) = entry(kv);
        for (wanted, slot) in keys.iter().zip(found.iter_mut()) {
            if slot.is_none() && wanted.as_ref() == key {
                *slot = Some(value.unwrap_or(&[]));
                missing -= 1;
            }
        }
    })
}

/// The walk of [`span_fields`], handing each attribute (`KeyValue` content) to `attribute` in
/// order. Written out rather than over [`fields`] so that it compiles to one loop: it runs
/// once per span in span summaries. It stops where [`fields`] stops.
fn walk_span<'a>(span: &'a [u8], mut attribute: impl FnMut(&'a [u8])) -> SpanFields<'a> {
    let mut out = SpanFields::default();
    let mut bytes = span;
    while !bytes.is_empty() {
        let Some(key) = varint(&mut bytes) else { break };
        let Ok(number) = u32::try_from(key >> 3) else {
            break;
        };
        // Length-delimited fields first: all but four of a span's fields are.
        let wire_type = key & 7;
        if wire_type == 2 {
            let Some(len) = varint(&mut bytes).and_then(|l| usize::try_from(l).ok()) else {
                break;
            };
            let Some((content, rest)) = bytes.split_at_checked(len) else {
                break;
            };
            bytes = rest;
            if number == 9 {
                attribute(content);
                continue;
            }
            match number {
                1 => out.trace_id = content,
                2 => out.span_id = content,
                5 => out.name = std::str::from_utf8(content).unwrap_or(""),
                15 => match content {
                    // A status of a short code alone, as SDKs write an unset or error one.
                    [0x18, code] if *code < 0x80 => out.status_code = i32::from(*code),
                    _ => {
                        if let Some(Wire::Varint(code)) = last(content, 3) {
                            out.status_code = code as i32;
                        }
                    }
                },
                _ => {}
            }
        } else if wire_type == 1 {
            let Some((head, rest)) = bytes.split_first_chunk::<8>() else {
                break;
            };
            bytes = rest;
            match number {
                7 => out.start = u64::from_le_bytes(*head),
                8 => out.end = u64::from_le_bytes(*head),
                _ => {}
            }
        } else if wire_type == 0 {
            let Some(v) = varint(&mut bytes) else { break };
            if number == 6 {
                out.kind = v as i32;
            }
        } else if wire_type == 5 {
            let Some((_, rest)) = bytes.split_first_chunk::<4>() else {
                break;
            };
            bytes = rest;
        } else {
            break;
        }
    }
    out
}

/// Attribute fields per data point kind.
/// The field number of an item's own attributes (`None` for a metric, which has none).
pub fn attributes_field(kind: ItemKind) -> Option<u32> {
    match kind {
        ItemKind::Span => Some(9),
        ItemKind::Log => Some(6),
        ItemKind::Metric => None,
        _ => Some(point_attributes(kind)),
    }
}

fn point_attributes(kind: ItemKind) -> u32 {
    match kind {
        ItemKind::ExponentialHistogramPoint => 1,
        ItemKind::HistogramPoint => 9,
        _ => 7,
    }
}

impl<'a> WireRecord<'a> {
    /// The fields read on the wire; `None` for those answered decoded.
    fn on_wire(&self, path: &Path) -> Option<Result<Value<'a>, EvalError>> {
        use Field::*;
        let v = &self.view;
        let keys = &path.keys;
        if !keys.is_empty() {
            return match path.field {
                ResourceAttributes => attribute(v.resource, 1, keys),
                ScopeAttributes => attribute(v.scope, 3, keys),
                SpanAttributes if v.kind == ItemKind::Span => attribute(v.item, 9, keys),
                EventAttributes => attribute(self.event?, 3, keys),
                LogAttributes if v.kind == ItemKind::Log => attribute(v.item, 6, keys),
                DataPointAttributes if v.kind != ItemKind::Metric => {
                    attribute(v.item, point_attributes(v.kind), keys)
                }
                _ => None,
            };
        }
        let span = || (v.kind == ItemKind::Span).then_some(v.item);
        let log = || (v.kind == ItemKind::Log).then_some(v.item);
        Some(Ok(match path.field {
            ScopeName => string(v.scope, 1),
            ScopeVersion => string(v.scope, 2),
            SpanName => string(span()?, 5),
            SpanKind => enum_int(span()?, 6),
            SpanTraceId => Value::Bytes(Cow::Borrowed(id(span()?, 1))),
            SpanSpanId => Value::Bytes(Cow::Borrowed(id(span()?, 2))),
            SpanParentSpanId => Value::Bytes(Cow::Borrowed(id(span()?, 4))),
            SpanTraceIdString => Value::Str(Cow::Owned(hex(id(span()?, 1)))),
            SpanSpanIdString => Value::Str(Cow::Owned(hex(id(span()?, 2)))),
            SpanStartTimeUnixNano => int(fixed64(span()?, 7)),
            SpanEndTimeUnixNano => int(fixed64(span()?, 8)),
            SpanStatusCode | SpanStatusMessage => {
                // `status` may come more than once (prost merges): decoded then.
                let mut statuses = fields(span()?).filter(|(n, _)| *n == 15);
                let status = match (statuses.next(), statuses.next()) {
                    (None, _) => &[][..],
                    (Some((_, Wire::Len(s))), None) => s,
                    _ => return None,
                };
                if path.field == SpanStatusCode {
                    enum_int(status, 3)
                } else {
                    string(status, 2)
                }
            }
            EventName => string(self.event?, 2),
            EventTimeUnixNano => int(fixed64(self.event?, 1)),
            MetricName => string(v.metric, 1),
            MetricDescription => string(v.metric, 2),
            MetricUnit => string(v.metric, 3),
            LogSeverityNumber => enum_int(log()?, 2),
            LogSeverityText => string(log()?, 3),
            LogTimeUnixNano => int(fixed64(log()?, 1)),
            LogObservedTimeUnixNano => int(fixed64(log()?, 11)),
            LogFlags => int(u64::from(fixed32(log()?, 8))),
            LogEventName => string(log()?, 12),
            LogTraceId => Value::Bytes(Cow::Borrowed(id(log()?, 9))),
            LogSpanId => Value::Bytes(Cow::Borrowed(id(log()?, 10))),
            LogBody => {
                let mut bodies = fields(log()?).filter(|(n, _)| *n == 5);
                match (bodies.next(), bodies.next()) {
                    (None, _) => Value::Nil,
                    (Some((_, Wire::Len(b))), None) => any_value(b)?,
                    _ => return None,
                }
            }
            _ => return None,
        }))
    }

    /// Any path, from the decoded messages around the item.
    fn decoded(&self, path: &Path) -> Result<Value<'static>, EvalError> {
        let bad = |what: &str| EvalError::Unsupported(format!("the {what} could not be decoded"));
        let v = &self.view;
        let resource = Resource::decode(v.resource).map_err(|_| bad("resource"))?;
        let scope = InstrumentationScope::decode(v.scope).map_err(|_| bad("scope"))?;
        let (resource, scope) = (&resource, &scope);
        let value = match v.kind {
            ItemKind::Span => {
                let span = Span::decode(v.item).map_err(|_| bad("span"))?;
                match self.event {
                    Some(_) => SpanEventView {
                        resource,
                        scope,
                        span: &span,
                        index: self.index,
                    }
                    .get(path)?
                    .into_owned(),
                    None => SpanView {
                        resource,
                        scope,
                        span: &span,
                    }
                    .get(path)?
                    .into_owned(),
                }
            }
            ItemKind::Log => {
                let log = LogRecord::decode(v.item).map_err(|_| bad("log record"))?;
                LogView {
                    resource,
                    scope,
                    log: &log,
                }
                .get(path)?
                .into_owned()
            }
            ItemKind::Metric => {
                let metric = Metric::decode(v.metric).map_err(|_| bad("metric"))?;
                MetricView {
                    resource,
                    scope,
                    metric: &metric,
                }
                .get(path)?
                .into_owned()
            }
            _ => {
                let metric = Metric::decode(v.metric).map_err(|_| bad("metric"))?;
                DataPointView {
                    resource,
                    scope,
                    metric: &metric,
                    index: self.index,
                }
                .get(path)?
                .into_owned()
            }
        };
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
