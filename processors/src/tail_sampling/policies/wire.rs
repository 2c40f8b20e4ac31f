//! The few span, resource and attribute fields the policies read, straight from the held
//! bytes. Each reader answers what otelcol's pdata getter would on the decoded message: the
//! last occurrence of a scalar field, the first attribute with the key, and a value of another
//! type read as the getter's zero (`Str()` is `""`, `Int()` 0, `Bool()` false).

use weir_core::batch::rewrite::{ValueRef, read_value};

use crate::wire_record::entry;

/// `attributes` in `Resource`.
pub(super) const RESOURCE_ATTRIBUTES: u32 = 1;
/// `name`, `version` and `attributes` in `InstrumentationScope`.
pub(super) const SCOPE_NAME: u32 = 1;
pub(super) const SCOPE_VERSION: u32 = 2;
pub(super) const SCOPE_ATTRIBUTES: u32 = 3;
/// Fields of `Span`.
pub(super) const SPAN_TRACE_STATE: u32 = 3;
pub(super) const SPAN_NAME: u32 = 5;
pub(super) const SPAN_ATTRIBUTES: u32 = 9;
pub(super) const SPAN_EVENTS: u32 = 11;
pub(super) const SPAN_LINKS: u32 = 13;
pub(super) const SPAN_STATUS: u32 = 15;
/// Fields of `Status`.
const STATUS_MESSAGE: u32 = 2;
/// Fields of `Span.Event`.
pub(super) const EVENT_NAME: u32 = 2;
pub(super) const EVENT_ATTRIBUTES: u32 = 3;
/// Fields of `Span.Link`.
pub(super) const LINK_TRACE_STATE: u32 = 3;
pub(super) const LINK_ATTRIBUTES: u32 = 4;

/// A field's value as encoded.
#[derive(Clone, Copy, Debug)]
pub(super) enum Wire<'a> {
    /// A varint, fixed64 or fixed32 (none of which the policies read here).
    Scalar,
    Len(&'a [u8]),
}

/// A varint at the front of `bytes`, which it advances; the one-byte ones (nearly every key
/// and most lengths) read inline, as they are most of what a policy reads.
#[inline]
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    match bytes.first() {
        Some(&b) if b < 0x80 => {
            *bytes = &bytes[1..];
            Some(u64::from(b))
        }
        _ => prost::encoding::decode_varint(bytes).ok(),
    }
}

/// The fields of a message in order; stops at bytes it cannot read, which the receivers'
/// wire walk already refused.
pub(super) fn fields(mut bytes: &[u8]) -> impl Iterator<Item = (u32, Wire<'_>)> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let key = varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).ok()?;
        let value = match key & 7 {
            0 => {
                varint(&mut bytes)?;
                Wire::Scalar
            }
            1 => {
                bytes = bytes.get(8..)?;
                Wire::Scalar
            }
            5 => {
                bytes = bytes.get(4..)?;
                Wire::Scalar
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

/// The contents of every length-delimited field `number`.
pub(super) fn repeated(message: &[u8], number: u32) -> impl Iterator<Item = &[u8]> {
    fields(message).filter_map(move |(n, wire)| match wire {
        Wire::Len(content) if n == number => Some(content),
        _ => None,
    })
}

/// The last length-delimited field `number` (a string or bytes field), or empty.
pub(super) fn last_bytes(message: &[u8], number: u32) -> &[u8] {
    repeated(message, number).last().unwrap_or(&[])
}

/// The span's status message, merged over repeated `status` fields as protobuf merges them.
pub(super) fn status_message(span: &[u8]) -> &[u8] {
    let mut message: &[u8] = &[];
    for status in repeated(span, SPAN_STATUS) {
        if let Some(m) = repeated(status, STATUS_MESSAGE).last() {
            message = m;
        }
    }
    message
}

/// The first attribute named `key` in the `KeyValue` list field `number` of `message`: its
/// value, [`ValueRef::Empty`] when it has none, `None` when no attribute has the key.
pub(super) fn attribute<'a>(message: &'a [u8], number: u32, key: &str) -> Option<ValueRef<'a>> {
    repeated(message, number).find_map(|kv| {
        let (k, value, _) = entry(kv);
        (k == key.as_bytes()).then(|| value.map_or(ValueRef::Empty, read_value))
    })
}

/// pdata's `Value.Str()`.
pub(super) fn as_str<'a>(value: &ValueRef<'a>) -> &'a [u8] {
    match value {
        ValueRef::String(s) => s,
        _ => &[],
    }
}

/// pdata's `Value.Int()`.
pub(super) fn as_int(value: &ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Int(i) => *i,
        _ => 0,
    }
}

/// pdata's `Value.Bool()`.
pub(super) fn as_bool(value: &ValueRef<'_>) -> bool {
    match value {
        ValueRef::Bool(b) => *b,
        _ => false,
    }
}
