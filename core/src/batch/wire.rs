//! The wire walk: one pass over an encoded OTLP export request, without allocating, that checks
//! its protobuf structure down to the leaves against the [`schema`](super::schema) tables and
//! counts its items (spans, metric data points, log records).
//!
//! The walk accepts exactly what decoding the request with prost accepts, so a receiver can refuse
//! malformed input up front and everything downstream may decode the bytes without failing:
//! unknown fields (groups included) are skipped, packed and unpacked repeated numbers are both
//! read, and prost's rules for varints, keys, wire types, lengths, UTF-8 and its recursion limit
//! are applied. Errors say what is wrong, at which byte, in which message and field.

use std::fmt;
use std::ops::Range;

use super::Signal;
use super::schema::{self, Count, Field, Kind, Message, RECURSION_LIMIT};

/// What a walk over an encoded request found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireSummary {
    /// Spans, metric data points or log records, counted as [`Request::item_count`] counts
    /// the decoded request.
    ///
    /// [`Request::item_count`]: super::Request::item_count
    pub items: usize,
    /// `Resource*` entries at the top level.
    pub resources: usize,
}

/// A protobuf wire type, the low three bits of a field key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    /// 0: a varint.
    Varint,
    /// 1: eight bytes.
    Fixed64,
    /// 2: a length prefix and that many bytes.
    LengthDelimited,
    /// 3: start of a group (proto2).
    StartGroup,
    /// 4: end of a group (proto2).
    EndGroup,
    /// 5: four bytes.
    Fixed32,
}

impl WireType {
    fn from_bits(bits: u64) -> Option<WireType> {
        Some(match bits {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return None,
        })
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::LengthDelimited => "length-delimited",
            WireType::StartGroup => "start-group",
            WireType::EndGroup => "end-group",
            WireType::Fixed32 => "fixed32",
        })
    }
}

/// A field of a message, named when the schema knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldRef {
    /// The message the field is in (`span`).
    pub message: &'static str,
    /// The field's name (`name`), or `None` for a field the schema does not know.
    pub field: Option<&'static str>,
    /// The field number.
    pub number: u32,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(name) => write!(f, "field {}.{}", self.message, name),
            None => write!(f, "unknown field {} of {}", self.number, self.message),
        }
    }
}

/// The part of a message a varint belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// A field key in this message.
    Key {
        /// The message being read.
        message: &'static str,
    },
    /// A field's length prefix.
    Length(FieldRef),
    /// A field's value.
    Value(FieldRef),
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Key { message } => write!(f, "a field key in {message}"),
            Site::Length(field) => write!(f, "the length of {field}"),
            Site::Value(field) => write!(f, "the value of {field}"),
        }
    }
}

/// Encoded bytes that are not a well-formed request: what is wrong and where.
///
/// Every variant carries the signal, the byte offset into the request where the problem starts,
/// and the message or field it was found in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The message ends in the middle of a varint or a fixed-width value.
    #[error(
        "malformed {signal} request at byte {offset}: {site} is cut off by the end of its message"
    )]
    Truncated {
        /// Request kind.
        signal: Signal,
        /// Where the cut-off value starts.
        offset: usize,
        /// What was being read.
        site: Site,
    },
    /// A varint longer than ten bytes or larger than 64 bits.
    #[error("malformed {signal} request at byte {offset}: {site} is a varint longer than 64 bits")]
    VarintOverflow {
        /// Request kind.
        signal: Signal,
        /// Where the varint starts.
        offset: usize,
        /// What was being read.
        site: Site,
    },
    /// A field key that does not fit in 32 bits.
    #[error(
        "malformed {signal} request at byte {offset}: field key {key} in {message} is larger than 32 bits"
    )]
    KeyOverflow {
        /// Request kind.
        signal: Signal,
        /// Where the key starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The key as read.
        key: u64,
    },
    /// A field key with wire type 6 or 7.
    #[error(
        "malformed {signal} request at byte {offset}: field key in {message} has invalid wire type {wire_type}"
    )]
    InvalidWireType {
        /// Request kind.
        signal: Signal,
        /// Where the key starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The wire type bits.
        wire_type: u8,
    },
    /// A field key with field number 0.
    #[error(
        "malformed {signal} request at byte {offset}: field key in {message} has field number 0"
    )]
    ZeroFieldNumber {
        /// Request kind.
        signal: Signal,
        /// Where the key starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
    },
    /// A known field encoded with a wire type its type does not allow.
    #[error(
        "malformed {signal} request at byte {offset}: {field} has wire type {found}, expected {expected}"
    )]
    WrongWireType {
        /// Request kind.
        signal: Signal,
        /// Where the key starts.
        offset: usize,
        /// The field.
        field: FieldRef,
        /// The wire type in the key.
        found: WireType,
        /// The wire type the field's type requires.
        expected: WireType,
    },
    /// A length prefix larger than what is left of the enclosing message.
    #[error(
        "malformed {signal} request at byte {offset}: length {length} of {field} runs past the end of its message ({available} available)"
    )]
    LengthPastEnd {
        /// Request kind.
        signal: Signal,
        /// Where the length prefix starts.
        offset: usize,
        /// The field.
        field: FieldRef,
        /// The length as read.
        length: u64,
        /// Bytes left in the enclosing message after the prefix.
        available: usize,
    },
    /// A packed run of fixed-width numbers whose length is not a multiple of their width.
    #[error(
        "malformed {signal} request at byte {offset}: packed {field} is {length} bytes long, not a multiple of {width}"
    )]
    PackedLength {
        /// Request kind.
        signal: Signal,
        /// Where the packed content starts.
        offset: usize,
        /// The field.
        field: FieldRef,
        /// Its length.
        length: usize,
        /// The width of one element.
        width: usize,
    },
    /// A string field that is not UTF-8.
    #[error("malformed {signal} request at byte {offset}: {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Request kind.
        signal: Signal,
        /// The first byte that is not part of valid UTF-8.
        offset: usize,
        /// The field.
        field: FieldRef,
    },
    /// An end-group key with no group open, or closing a group of another field number.
    #[error(
        "malformed {signal} request at byte {offset}: end-group key for field {number} in {message} closes no open group"
    )]
    UnexpectedEndGroup {
        /// Request kind.
        signal: Signal,
        /// Where the key starts.
        offset: usize,
        /// The message being read.
        message: &'static str,
        /// The field number in the end-group key.
        number: u32,
    },
    /// A group that the enclosing message ends inside of.
    #[error(
        "malformed {signal} request at byte {offset}: group {field} has no end-group key before the end of its message"
    )]
    UnterminatedGroup {
        /// Request kind.
        signal: Signal,
        /// Where the start-group key is.
        offset: usize,
        /// The group field.
        field: FieldRef,
    },
    /// Messages (or groups) nested deeper than prost's recursion limit.
    #[error(
        "malformed {signal} request at byte {offset}: {field} is nested deeper than the decoder's limit of {limit} levels"
    )]
    TooDeep {
        /// Request kind.
        signal: Signal,
        /// Where the field's key starts.
        offset: usize,
        /// The field that would go one level too deep.
        field: FieldRef,
        /// The limit.
        limit: u32,
    },
}

/// Checks that `bytes` is a well-formed export request of `signal` and counts its items and
/// resources. Accepts exactly what prost decoding accepts; never allocates, never panics.
pub fn walk(signal: Signal, bytes: &[u8]) -> Result<WireSummary, WireError> {
    match fast::walk(schema::request(signal), bytes, RECURSION_LIMIT) {
        Some(summary) => Ok(summary),
        None => diagnose(signal, bytes),
    }
}

/// Both walks of `bytes`: the fast path's verdict and the diagnosing walker's.
#[cfg(test)]
pub(crate) fn both_walks(
    signal: Signal,
    bytes: &[u8],
) -> (Option<WireSummary>, Result<WireSummary, WireError>) {
    (
        fast::walk(schema::request(signal), bytes, RECURSION_LIMIT),
        diagnose(signal, bytes),
    )
}

/// [`walk`] by the diagnosing walker, which says what is wrong and where.
fn diagnose(signal: Signal, bytes: &[u8]) -> Result<WireSummary, WireError> {
    let mut resources = 0;
    let items = walk_fields(
        signal,
        bytes,
        schema::request(signal),
        0..bytes.len(),
        |field| {
            if field.number == schema::REQUEST_RESOURCES {
                resources += 1;
            }
        },
    )?;
    Ok(WireSummary { items, resources })
}

/// One field at the level a [`walk_fields`] visitor is called for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    /// Field number.
    pub number: u32,
    /// The whole field: key, length prefix and content.
    pub whole: Range<usize>,
    /// The content: what follows the length prefix, or the value itself.
    pub content: Range<usize>,
    /// Items counted inside the field (0 for fields that hold no items).
    pub items: usize,
}

/// Walks the message `message` stored at `range` of `bytes` like [`walk`] does, calling `visit`
/// for each of its own fields (known or not) in order, and returns its item count. Offsets are
/// positions in `bytes`, so errors point into the whole request. The recursion limit counts
/// from `message`, not from the request, so this is for re-reading bytes [`walk`] already
/// accepted (the splitter does), not for validating a message found deep inside one.
pub(crate) fn walk_fields(
    signal: Signal,
    bytes: &[u8],
    message: &'static Message,
    range: Range<usize>,
    mut visit: impl FnMut(FieldSpan),
) -> Result<usize, WireError> {
    if range.start > range.end || range.end > bytes.len() {
        // Only reachable through a caller bug; refuse instead of slicing out of bounds.
        return Err(WireError::Truncated {
            signal,
            offset: range.start.min(bytes.len()),
            site: Site::Key {
                message: message.name,
            },
        });
    }
    Walker { bytes, signal }.message(message, range.start, range.end, RECURSION_LIMIT, &mut visit)
}

/// The visitor for levels nobody asked to see.
fn ignore(_: FieldSpan) {}

/// Failure reading a varint, before it is known which part of the message it belongs to.
enum VarintFault {
    Truncated,
    Overflow,
}

struct Walker<'a> {
    bytes: &'a [u8],
    signal: Signal,
}

impl Walker<'_> {
    /// Walks the fields in `start..end` as `message`. `budget` is prost's recursion context: how
    /// many more message levels may be entered below this one.
    fn message<V: FnMut(FieldSpan)>(
        &self,
        message: &'static Message,
        start: usize,
        end: usize,
        budget: u32,
        visit: &mut V,
    ) -> Result<usize, WireError> {
        let mut pos = start;
        let mut items = 0;
        // The oneof member (field number, items) that prost would keep, see `Count::OneofRun`.
        let mut oneof: Option<(u32, usize)> = None;
        while pos < end {
            let key_at = pos;
            let (number, wire_type, after_key) = self.key(message, pos, end)?;
            let field = message.field(number);
            let (content, next, inner) = match field {
                Some(field) => {
                    self.known(message, field, wire_type, key_at, after_key, end, budget)?
                }
                None => {
                    let place = FieldRef {
                        message: message.name,
                        field: None,
                        number,
                    };
                    let (content, next) =
                        self.skip(message, place, wire_type, key_at, after_key, end, budget)?;
                    (content, next, 0)
                }
            };
            let count = field.map_or(Count::None, |f| f.count);
            match count {
                Count::None => {}
                Count::Item => items += 1,
                Count::Sum => items += inner,
                Count::OneofRun => match &mut oneof {
                    Some((member, run)) if *member == number => *run += inner,
                    _ => oneof = Some((number, inner)),
                },
            }
            visit(FieldSpan {
                number,
                whole: key_at..next,
                content,
                items: if count == Count::Item { 1 } else { inner },
            });
            pos = next;
        }
        Ok(items + oneof.map_or(0, |(_, run)| run))
    }

    /// Reads a field key: (field number, wire type, position after the key).
    fn key(
        &self,
        message: &'static Message,
        pos: usize,
        end: usize,
    ) -> Result<(u32, WireType, usize), WireError> {
        let site = Site::Key {
            message: message.name,
        };
        let (key, next) = self.varint(pos, end, site)?;
        let signal = self.signal;
        if key > u64::from(u32::MAX) {
            return Err(WireError::KeyOverflow {
                signal,
                offset: pos,
                message: message.name,
                key,
            });
        }
        let Some(wire_type) = WireType::from_bits(key & 7) else {
            return Err(WireError::InvalidWireType {
                signal,
                offset: pos,
                message: message.name,
                wire_type: (key & 7) as u8,
            });
        };
        let number = (key >> 3) as u32;
        if number == 0 {
            return Err(WireError::ZeroFieldNumber {
                signal,
                offset: pos,
                message: message.name,
            });
        }
        Ok((number, wire_type, next))
    }

    /// Checks one occurrence of a known field whose value starts at `pos`: returns its content
    /// range, the position after it, and the items counted inside it.
    #[allow(clippy::too_many_arguments)]
    fn known(
        &self,
        message: &'static Message,
        field: &'static Field,
        wire_type: WireType,
        key_at: usize,
        pos: usize,
        end: usize,
        budget: u32,
    ) -> Result<(Range<usize>, usize, usize), WireError> {
        let place = FieldRef {
            message: message.name,
            field: Some(field.name),
            number: field.number,
        };
        let expect = |expected: WireType| {
            if wire_type == expected {
                Ok(())
            } else {
                Err(WireError::WrongWireType {
                    signal: self.signal,
                    offset: key_at,
                    field: place,
                    found: wire_type,
                    expected,
                })
            }
        };
        match field.kind {
            Kind::Varint => {
                expect(WireType::Varint)?;
                let (_, next) = self.varint(pos, end, Site::Value(place))?;
                Ok((pos..next, next, 0))
            }
            Kind::Fixed32 => {
                expect(WireType::Fixed32)?;
                let next = self.fixed(pos, end, 4, place)?;
                Ok((pos..next, next, 0))
            }
            Kind::Fixed64 => {
                expect(WireType::Fixed64)?;
                let next = self.fixed(pos, end, 8, place)?;
                Ok((pos..next, next, 0))
            }
            Kind::Bytes => {
                expect(WireType::LengthDelimited)?;
                let content = self.delimited(pos, end, place)?;
                Ok((content.clone(), content.end, 0))
            }
            Kind::String => {
                expect(WireType::LengthDelimited)?;
                let content = self.delimited(pos, end, place)?;
                let text = self.bytes.get(content.clone()).unwrap_or_default();
                if let Err(e) = std::str::from_utf8(text) {
                    return Err(WireError::InvalidUtf8 {
                        signal: self.signal,
                        offset: content.start + e.valid_up_to(),
                        field: place,
                    });
                }
                Ok((content.clone(), content.end, 0))
            }
            Kind::Message(child) => {
                expect(WireType::LengthDelimited)?;
                if budget == 0 {
                    return Err(self.too_deep(key_at, place));
                }
                let content = self.delimited(pos, end, place)?;
                let items =
                    self.message(child, content.start, content.end, budget - 1, &mut ignore)?;
                Ok((content.clone(), content.end, items))
            }
            Kind::RepeatedVarint => {
                if wire_type == WireType::LengthDelimited {
                    let content = self.delimited(pos, end, place)?;
                    let mut at = content.start;
                    while at < content.end {
                        at = self.varint(at, content.end, Site::Value(place))?.1;
                    }
                    Ok((content.clone(), content.end, 0))
                } else {
                    expect(WireType::Varint)?;
                    let (_, next) = self.varint(pos, end, Site::Value(place))?;
                    Ok((pos..next, next, 0))
                }
            }
            Kind::RepeatedFixed64 => {
                if wire_type == WireType::LengthDelimited {
                    let content = self.delimited(pos, end, place)?;
                    if !content.len().is_multiple_of(8) {
                        return Err(WireError::PackedLength {
                            signal: self.signal,
                            offset: content.start,
                            field: place,
                            length: content.len(),
                            width: 8,
                        });
                    }
                    Ok((content.clone(), content.end, 0))
                } else {
                    expect(WireType::Fixed64)?;
                    let next = self.fixed(pos, end, 8, place)?;
                    Ok((pos..next, next, 0))
                }
            }
        }
    }

    /// Skips an unknown field as prost's `skip_field` does, groups included; returns its content
    /// range and the position after it.
    #[allow(clippy::too_many_arguments)]
    fn skip(
        &self,
        message: &'static Message,
        place: FieldRef,
        wire_type: WireType,
        key_at: usize,
        pos: usize,
        end: usize,
        budget: u32,
    ) -> Result<(Range<usize>, usize), WireError> {
        // prost checks the limit before skipping anything, even a varint.
        if budget == 0 {
            return Err(self.too_deep(key_at, place));
        }
        match wire_type {
            WireType::Varint => {
                let (_, next) = self.varint(pos, end, Site::Value(place))?;
                Ok((pos..next, next))
            }
            WireType::Fixed64 => {
                let next = self.fixed(pos, end, 8, place)?;
                Ok((pos..next, next))
            }
            WireType::Fixed32 => {
                let next = self.fixed(pos, end, 4, place)?;
                Ok((pos..next, next))
            }
            WireType::LengthDelimited => {
                let content = self.delimited(pos, end, place)?;
                Ok((content.clone(), content.end))
            }
            WireType::StartGroup => {
                let mut at = pos;
                loop {
                    if at >= end {
                        return Err(WireError::UnterminatedGroup {
                            signal: self.signal,
                            offset: key_at,
                            field: place,
                        });
                    }
                    let inner_at = at;
                    let (number, inner_type, after_key) = self.key(message, at, end)?;
                    if inner_type == WireType::EndGroup {
                        if number != place.number {
                            return Err(self.unexpected_end_group(inner_at, message, number));
                        }
                        return Ok((pos..inner_at, after_key));
                    }
                    let inner = FieldRef {
                        message: message.name,
                        field: None,
                        number,
                    };
                    at = self
                        .skip(
                            message,
                            inner,
                            inner_type,
                            inner_at,
                            after_key,
                            end,
                            budget - 1,
                        )?
                        .1;
                }
            }
            WireType::EndGroup => Err(self.unexpected_end_group(key_at, message, place.number)),
        }
    }

    /// Reads a varint starting at `pos` that must end before `end`, by prost's rules: at most
    /// ten bytes, and the tenth may only carry the 64th bit.
    fn varint(&self, pos: usize, end: usize, site: Site) -> Result<(u64, usize), WireError> {
        let signal = self.signal;
        match read_varint(self.bytes, pos, end) {
            Ok(read) => Ok(read),
            Err(VarintFault::Truncated) => Err(WireError::Truncated {
                signal,
                offset: pos,
                site,
            }),
            Err(VarintFault::Overflow) => Err(WireError::VarintOverflow {
                signal,
                offset: pos,
                site,
            }),
        }
    }

    /// Checks that `width` bytes are left before `end`; returns the position after them.
    fn fixed(
        &self,
        pos: usize,
        end: usize,
        width: usize,
        place: FieldRef,
    ) -> Result<usize, WireError> {
        if end.saturating_sub(pos) < width {
            return Err(WireError::Truncated {
                signal: self.signal,
                offset: pos,
                site: Site::Value(place),
            });
        }
        Ok(pos + width)
    }

    /// Reads a length prefix at `pos` and checks that the content fits before `end`.
    fn delimited(
        &self,
        pos: usize,
        end: usize,
        place: FieldRef,
    ) -> Result<Range<usize>, WireError> {
        let (length, start) = self.varint(pos, end, Site::Length(place))?;
        let available = end - start;
        if length > available as u64 {
            return Err(WireError::LengthPastEnd {
                signal: self.signal,
                offset: pos,
                field: place,
                length,
                available,
            });
        }
        Ok(start..start + length as usize)
    }

    fn too_deep(&self, offset: usize, field: FieldRef) -> WireError {
        WireError::TooDeep {
            signal: self.signal,
            offset,
            field,
            limit: RECURSION_LIMIT,
        }
    }

    fn unexpected_end_group(
        &self,
        offset: usize,
        message: &'static Message,
        number: u32,
    ) -> WireError {
        WireError::UnexpectedEndGroup {
            signal: self.signal,
            offset,
            message: message.name,
            number,
        }
    }
}

/// Reads a varint at `pos`, which must end before `end`: (value, position after it).
fn read_varint(bytes: &[u8], pos: usize, end: usize) -> Result<(u64, usize), VarintFault> {
    let window = bytes.get(pos..end.min(bytes.len())).unwrap_or_default();
    let mut value = 0u64;
    for (i, &byte) in window.iter().take(10).enumerate() {
        if i == 9 && byte >= 0x02 {
            // A tenth byte may only hold bit 63; anything more overflows u64 (or continues).
            return Err(VarintFault::Overflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, pos + i + 1));
        }
    }
    Err(VarintFault::Truncated)
}

/// Appends `value` as a varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends the key and length prefix of a length-delimited field.
pub fn put_delimited_header(out: &mut Vec<u8>, number: u32, length: usize) {
    put_varint(out, (u64::from(number) << 3) | 2);
    put_varint(out, length as u64);
}

mod fast;

/// The fast walk's readers, for the attribute rewriter, which walks bytes the walk accepted and
/// must read keys, varints and unknown fields by the same rules.
pub(super) use fast::{
    DELIMITED, FIXED32, FIXED64, VARINT, delimited as fast_delimited, key as fast_key,
    skip as fast_skip, varint as fast_varint,
};

#[cfg(test)]
mod tests;
