//! Attribute values (`AnyValue`) as the rewriter hands them out: the encoded content of the
//! message, read the way prost would decode it, and the encodings of the scalar values a
//! processor may set.

use super::super::wire::{fast_key, fast_skip, fast_varint, put_varint};
use super::{DELIMITED, FIXED64, VARINT};

/// What an encoded `AnyValue` holds, as prost decodes it: the last member of the `value` oneof
/// on the wire wins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// `string_value`, as bytes (UTF-8 when the request passed the wire walk).
    String(&'a [u8]),
    /// `bool_value`.
    Bool(bool),
    /// `int_value`.
    Int(i64),
    /// `double_value`.
    Double(f64),
    /// `bytes_value`.
    Bytes(&'a [u8]),
    /// An array, a key-value list or a string-table index.
    Composite,
    /// No member set.
    Empty,
}

/// Field numbers of `AnyValue`'s oneof members.
const STRING: u32 = 1;
const BOOL: u32 = 2;
const INT: u32 = 3;
const DOUBLE: u32 = 4;
const BYTES: u32 = 7;

/// Reads an encoded `AnyValue`. Bytes that are not one (the rewriter only hands out values of
/// requests the walk accepted) read as [`ValueRef::Composite`], never as a panic.
pub fn read_value(content: &[u8]) -> ValueRef<'_> {
    let mut pos = 0;
    let mut value = ValueRef::Empty;
    while pos < content.len() {
        let Some((number, wire_type)) = fast_key(content, &mut pos) else {
            return ValueRef::Composite;
        };
        let read = match (number, wire_type) {
            (STRING, DELIMITED) => delimited(content, &mut pos).map(ValueRef::String),
            (BYTES, DELIMITED) => delimited(content, &mut pos).map(ValueRef::Bytes),
            (BOOL, VARINT) => fast_varint(content, &mut pos).map(|v| ValueRef::Bool(v != 0)),
            (INT, VARINT) => fast_varint(content, &mut pos).map(|v| ValueRef::Int(v as i64)),
            (DOUBLE, FIXED64) => content
                .get(pos..pos + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(|b| {
                    pos += 8;
                    ValueRef::Double(f64::from_le_bytes(b))
                }),
            (5 | 6 | 8, _) => {
                fast_skip(content, &mut pos, number, wire_type, 1).map(|_| ValueRef::Composite)
            }
            _ => {
                // An unknown field: prost skips it and the value stays what it was.
                if fast_skip(content, &mut pos, number, wire_type, 1).is_none() {
                    return ValueRef::Composite;
                }
                continue;
            }
        };
        match read {
            Some(read) => value = read,
            None => return ValueRef::Composite,
        }
    }
    value
}

fn delimited<'a>(bytes: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let length = usize::try_from(fast_varint(bytes, pos)?).ok()?;
    let content = bytes.get(*pos..pos.checked_add(length)?)?;
    *pos += length;
    Some(content)
}

/// Appends an `AnyValue` holding `string_value: text`.
pub fn put_string_value(out: &mut Vec<u8>, text: &[u8]) {
    out.push((STRING << 3) as u8 | DELIMITED);
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text);
}

/// Appends an `AnyValue` holding `bool_value: value`.
pub fn put_bool_value(out: &mut Vec<u8>, value: bool) {
    out.push((BOOL << 3) as u8 | VARINT);
    out.push(u8::from(value));
}

/// Appends an `AnyValue` holding `int_value: value`.
pub fn put_int_value(out: &mut Vec<u8>, value: i64) {
    out.push((INT << 3) as u8 | VARINT);
    put_varint(out, value as u64);
}

/// Appends an `AnyValue` holding `double_value: value`.
pub fn put_double_value(out: &mut Vec<u8>, value: f64) {
    out.push((DOUBLE << 3) as u8 | FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
}
