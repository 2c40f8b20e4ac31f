//! The walk's fast path: the same rules as [`Walker`](super::Walker), with nothing kept for
//! diagnostics. It runs on every request a receiver takes, so it works on sub-slices instead of
//! offsets, reads one-byte varints inline, and answers only "well-formed, with these counts" or
//! "not well-formed". On the second answer [`super::walk`] walks again with the diagnosing
//! walker, which says what is wrong and where; malformed input is rare, its cost is not the
//! one that matters.

use super::super::schema::{ANY_VALUE, Count, Field, KEY_VALUE, Kind, Message, REQUEST_RESOURCES};
use super::WireSummary;

/// Counts the items and top-level resources of the well-formed request `bytes` whose schema is
/// `request`; `None` if `bytes` breaks any rule the diagnosing walker checks.
pub(super) fn walk(request: &'static Message, bytes: &[u8], budget: u32) -> Option<WireSummary> {
    let mut resources = 0;
    let items = message(request, bytes, budget, &mut |number| {
        if number == REQUEST_RESOURCES {
            resources += 1;
        }
    })?;
    Some(WireSummary { items, resources })
}

/// Walks `bytes` as `message`, calling `seen` with the number of each field of this level;
/// returns the items counted.
fn message(
    message: &'static Message,
    bytes: &[u8],
    budget: u32,
    seen: &mut impl FnMut(u32),
) -> Option<usize> {
    let mut pos = 0;
    let mut items = 0;
    // The oneof member (field number, items) prost would keep, see `Count::OneofRun`.
    let mut oneof: Option<(u32, usize)> = None;
    while let Some(&first) = bytes.get(pos) {
        // Nearly every key is one byte naming a known field with its usual wire type: one
        // lookup (about 9 % of the walk). Anything else (longer keys, unknown fields, other wire
        // types) is read in full.
        let (field, number, wire_type) = match message.field_by_key(first) {
            Some(field) => {
                pos += 1;
                (field, u32::from(first >> 3), first & 7)
            }
            None => {
                let (number, wire_type) = key(bytes, &mut pos)?;
                let Some(field) = message.field(number) else {
                    seen(number);
                    skip(bytes, &mut pos, number, wire_type, budget)?;
                    continue;
                };
                (field, number, wire_type)
            }
        };
        seen(number);
        let inner = known(field, bytes, &mut pos, wire_type, budget)?;
        match field.count {
            Count::None => {}
            Count::Item => items += 1,
            Count::Sum => items += inner,
            Count::OneofRun => match &mut oneof {
                Some((member, run)) if *member == number => *run += inner,
                _ => oneof = Some((number, inner)),
            },
        }
    }
    Some(items + oneof.map_or(0, |(_, run)| run))
}

/// Wire types, by their number in a field key.
pub(in crate::batch) const VARINT: u8 = 0;
pub(in crate::batch) const FIXED64: u8 = 1;
pub(in crate::batch) const DELIMITED: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
pub(in crate::batch) const FIXED32: u8 = 5;

/// A field key: (field number, wire type), by prost's rules.
#[inline]
pub(in crate::batch) fn key(bytes: &[u8], pos: &mut usize) -> Option<(u32, u8)> {
    let key = u32::try_from(varint(bytes, pos)?).ok()?;
    let (number, wire_type) = (key >> 3, (key & 7) as u8);
    (wire_type <= FIXED32 && number != 0).then_some((number, wire_type))
}

/// One occurrence of a known field; returns the items counted inside it.
#[inline(always)]
fn known(
    field: &'static Field,
    bytes: &[u8],
    pos: &mut usize,
    wire_type: u8,
    budget: u32,
) -> Option<usize> {
    // Dispatch on the wire type, which is in the key byte already read, and only then on the
    // field's kind: the length can be read while the kind is still being loaded from the
    // schema. Matching on the kind first made that load chain and its jump table the walk's
    // costliest instructions. A kind read with another wire type is malformed either way.
    match wire_type {
        DELIMITED => {
            let content = delimited(bytes, pos)?;
            match field.kind {
                Kind::Message(child) => nested(child, content, budget),
                Kind::String => utf8(content).then_some(0),
                Kind::Bytes => Some(0),
                Kind::RepeatedVarint => {
                    let mut at = 0;
                    while at < content.len() {
                        varint(content, &mut at)?;
                    }
                    Some(0)
                }
                Kind::RepeatedFixed64 => content.len().is_multiple_of(8).then_some(0),
                Kind::Varint | Kind::Fixed32 | Kind::Fixed64 => None,
            }
        }
        VARINT => match field.kind {
            Kind::Varint | Kind::RepeatedVarint => varint(bytes, pos).map(|_| 0),
            _ => None,
        },
        FIXED64 => match field.kind {
            Kind::Fixed64 | Kind::RepeatedFixed64 => fixed(bytes, pos, 8).map(|_| 0),
            _ => None,
        },
        FIXED32 => match field.kind {
            Kind::Fixed32 => fixed(bytes, pos, 4).map(|_| 0),
            _ => None,
        },
        _ => None,
    }
}

/// The content of one occurrence of a nested message field; returns the items counted inside.
#[inline(always)]
fn nested(child: &'static Message, content: &[u8], budget: u32) -> Option<usize> {
    if budget == 0 {
        return None;
    }
    if std::ptr::eq(child, &KEY_VALUE)
        && let Some(valid) = attribute(content, budget - 1)
    {
        return valid.then_some(0);
    }
    message(child, content, budget - 1, &mut |_| {})
}

/// An attribute (`key_value`) in the shape nearly every one has: `key`, then `value` holding one
/// scalar. Attributes are most of the fields of a request, so this shape is checked without the
/// table walk. `None`: another shape, for the table walk to judge; otherwise whether it is
/// well-formed, exactly as the table walk would say. `budget` is the attribute's own.
#[inline(always)]
fn attribute(bytes: &[u8], budget: u32) -> Option<bool> {
    const KEY: u8 = 1 << 3 | DELIMITED;
    const VALUE: u8 = 2 << 3 | DELIMITED;
    if bytes.first() != Some(&KEY) || budget == 0 {
        return None;
    }
    let mut pos = 1;
    let Some(key) = delimited(bytes, &mut pos) else {
        return Some(false);
    };
    if bytes.get(pos) != Some(&VALUE) {
        return None;
    }
    pos += 1;
    let Some(value) = delimited(bytes, &mut pos) else {
        return Some(false);
    };
    if pos != bytes.len() {
        return None;
    }
    let key_ok = utf8(key);
    let value_ok = match scalar(value) {
        Some(valid) => valid,
        None => message(&ANY_VALUE, value, budget - 1, &mut |_| {}).is_some(),
    };
    Some(key_ok && value_ok)
}

/// An `any_value` holding exactly one scalar field (string, bool, int, double or bytes): whether
/// it is well-formed; `None` for any other shape.
#[inline(always)]
fn scalar(bytes: &[u8]) -> Option<bool> {
    const STRING: u8 = 1 << 3 | DELIMITED;
    const BOOL: u8 = 2 << 3 | VARINT;
    const INT: u8 = 3 << 3 | VARINT;
    const DOUBLE: u8 = 4 << 3 | FIXED64;
    const BYTES: u8 = 7 << 3 | DELIMITED;
    let mut pos = 1;
    let valid = match *bytes.first()? {
        STRING => delimited(bytes, &mut pos).is_some_and(utf8),
        BOOL | INT => varint(bytes, &mut pos).is_some(),
        DOUBLE => fixed(bytes, &mut pos, 8).is_some(),
        BYTES => delimited(bytes, &mut pos).is_some(),
        _ => return None,
    };
    // A second field: not this shape (unless the first was already malformed).
    if valid && pos != bytes.len() {
        return None;
    }
    Some(valid)
}

/// Whether `text` is UTF-8. Most OTLP strings are short and ASCII, so ASCII is checked first,
/// inline; anything else goes to the general validator.
#[inline(always)]
fn utf8(text: &[u8]) -> bool {
    ascii(text) || std::str::from_utf8(text).is_ok()
}

/// Whether every byte of `text` is below 0x80. `<[u8]>::is_ascii` is an out-of-line call that
/// was a tenth of the walk's time; OTLP strings are mostly a few to a few dozen bytes, which
/// this reads as overlapping words: no loop over single bytes past three.
#[inline(always)]
fn ascii(text: &[u8]) -> bool {
    let n = text.len();
    if n >= 8 {
        let mut seen = word(text, n - 8);
        let mut at = 0;
        while at + 8 < n {
            seen |= word(text, at);
            at += 8;
        }
        seen & 0x8080_8080_8080_8080 == 0
    } else if n >= 4 {
        let half = |at: usize| {
            text.get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0x80, u32::from_ne_bytes)
        };
        (half(0) | half(n - 4)) & 0x8080_8080 == 0
    } else {
        text.iter().all(|&b| b < 0x80)
    }
}

/// The eight bytes of `text` at `at` as one word (`at + 8 <= text.len()`).
#[inline(always)]
fn word(text: &[u8], at: usize) -> u64 {
    text.get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0x80, u64::from_ne_bytes)
}

/// Skips an unknown field as prost's `skip_field` does, groups included.
pub(in crate::batch) fn skip(
    bytes: &[u8],
    pos: &mut usize,
    number: u32,
    wire_type: u8,
    budget: u32,
) -> Option<()> {
    // prost checks the limit before skipping anything, even a varint.
    if budget == 0 {
        return None;
    }
    match wire_type {
        VARINT => varint(bytes, pos).map(|_| ()),
        FIXED64 => fixed(bytes, pos, 8),
        FIXED32 => fixed(bytes, pos, 4),
        DELIMITED => delimited(bytes, pos).map(|_| ()),
        START_GROUP => loop {
            let (inner, inner_type) = key(bytes, pos)?;
            if inner_type == END_GROUP {
                return (inner == number).then_some(());
            }
            skip(bytes, pos, inner, inner_type, budget - 1)?;
        },
        _ => None,
    }
}

/// A varint by prost's rules: at most ten bytes, the tenth carrying only bit 63. One- and
/// two-byte varints (keys, lengths under 16 KiB, small ints) are most of a request's, so they are
/// read inline; longer ones out of line.
#[inline(always)]
pub(in crate::batch) fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *bytes.get(*pos)?;
    if first < 0x80 {
        *pos += 1;
        return Some(u64::from(first));
    }
    if let Some(&second) = bytes.get(*pos + 1)
        && second < 0x80
    {
        *pos += 2;
        return Some(u64::from(first & 0x7f) | u64::from(second) << 7);
    }
    long_varint(bytes, pos)
}

#[inline(never)]
fn long_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in bytes.get(*pos..)?.iter().take(10).enumerate() {
        if i == 9 && byte >= 0x02 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            *pos += i + 1;
            return Some(value);
        }
    }
    None
}

#[inline]
fn fixed(bytes: &[u8], pos: &mut usize, width: usize) -> Option<()> {
    if bytes.len().saturating_sub(*pos) < width {
        return None;
    }
    *pos += width;
    Some(())
}

/// A length prefix and the content it announces.
#[inline(always)]
pub(in crate::batch) fn delimited<'a>(bytes: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let length = usize::try_from(varint(bytes, pos)?).ok()?;
    let content = bytes.get(*pos..pos.checked_add(length)?)?;
    *pos += length;
    Some(content)
}
