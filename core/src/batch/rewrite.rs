//! Editing the attributes of every item (span, metric data point, log record), every resource
//! or every instrumentation scope of an encoded request without decoding it into structs.
//!
//! The rewriter walks the request down the [`schema`]'s counted fields (resources, scopes,
//! metrics and their data, items), hands each item's attribute list to an editor as an
//! [`Attributes`], and writes a new request only if the editor changed something: everything
//! up to a changed item is copied in bulk, the item is written again with its new attribute
//! list in place of the old one (its other fields, unknown ones included, copied byte for
//! byte), and the length prefixes of the messages around it (scope, resource, metric, data)
//! are fixed up when they close. A request nobody changed is not copied at all.
//!
//! The enclosing messages are written lazily: their headers are only written once something
//! inside them changes, with room for a length prefix as long as the old one, which is
//! patched in place when the message closes (and moved only in the rare case its length
//! needs another number of bytes).
//!
//! At the [`Level::Resource`] and [`Level::Scope`] levels the walk stops at the resource or
//! scope messages and copies what is inside them (spans, data points, log records) in bulk:
//! editing resource attributes reads only the top of the request. A `Resource*` or `Scope*`
//! message without its `resource` or `scope` field is edited as an empty one (an absent
//! resource decodes as an empty resource), and the field is written only if the editor added
//! something.
//!
//! The input should be a request the wire walk accepted; anything else makes the rewriter
//! stop with an error (never a panic), diagnosed by the walk.

mod attributes;
mod value;

use std::ops::Range;

pub use attributes::Attributes;
use attributes::Entry;
use prost::encoding::{encode_varint, encoded_len_varint};
pub use value::{
    ValueRef, put_bool_value, put_double_value, put_int_value, put_string_value, read_value,
};

use super::Signal;
use super::schema::{self, Count, Kind, Message, RECURSION_LIMIT};
use super::wire::{
    self, DELIMITED, FIXED64, VARINT, WireError, fast_delimited, fast_key, fast_skip, put_varint,
};

/// How deep groups inside unknown fields are followed, as prost's recursion limit allows.
const GROUP_BUDGET: u32 = RECURSION_LIMIT;

/// A request the rewriter could not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// The bytes are not a well-formed request.
    #[error(transparent)]
    Malformed(#[from] WireError),
    /// The walk accepts the bytes but the rewriter could not follow them (a bug of the
    /// rewriter; the batch is refused rather than guessed at).
    #[error("cannot rewrite the attributes of this {signal} request at byte {offset}")]
    Unreadable {
        /// Request kind.
        signal: Signal,
        /// Where the rewriter stopped.
        offset: usize,
    },
}

/// Whose attributes a rewrite edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Each resource's (`resource_spans.resource.attributes`, ...).
    Resource,
    /// Each instrumentation scope's (`scope_spans.scope.attributes`, ...).
    Scope,
    /// Each span's, metric data point's and log record's.
    Item,
    /// Each span event's (`span.events.attributes`); requests of other signals have none.
    SpanEvent,
    /// Each span link's (`span.links.attributes`); requests of other signals have none.
    SpanLink,
}

/// Field number of `resource` in `Resource*` and of `scope` in `Scope*` messages.
const GROUP_HEADER: u32 = 1;
/// Field numbers of `events` and `links` in `Span`.
const SPAN_EVENTS: u32 = 11;
const SPAN_LINKS: u32 = 13;

/// Rewrites item attributes of encoded requests; keeps its scratch buffers between items and
/// between requests, so a rewrite allocates only its output.
#[derive(Debug, Default)]
pub struct AttributeRewriter {
    entries: Vec<Entry>,
    arena: Vec<u8>,
    frames: Vec<Frame>,
}

impl AttributeRewriter {
    /// A rewriter with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `edit` on the attributes of every item of `request`, an encoded export request of
    /// `signal`, in order. Returns the rewritten request, or `None` if `edit` changed nothing
    /// (the input is then the answer as it is).
    pub fn rewrite(
        &mut self,
        signal: Signal,
        request: &[u8],
        edit: impl FnMut(&mut Attributes<'_>),
    ) -> Result<Option<Vec<u8>>, RewriteError> {
        self.rewrite_level(signal, Level::Item, request, edit)
    }

    /// Calls `edit` on the attributes of every resource, scope or item of `request` (as
    /// `level` says), in order. Returns the rewritten request, or `None` if `edit` changed
    /// nothing.
    pub fn rewrite_level(
        &mut self,
        signal: Signal,
        level: Level,
        request: &[u8],
        edit: impl FnMut(&mut Attributes<'_>),
    ) -> Result<Option<Vec<u8>>, RewriteError> {
        self.frames.clear();
        let header_of = match level {
            Level::Resource => Some(schema::resource_group(signal)),
            Level::Scope => Some(schema::scope_group(signal)),
            Level::Item | Level::SpanEvent | Level::SpanLink => None,
        };
        let inside_spans = match level {
            Level::SpanEvent => Some((SPAN_EVENTS, &schema::SPAN_EVENT)),
            Level::SpanLink => Some((SPAN_LINKS, &schema::SPAN_LINK)),
            _ => None,
        };
        let mut run = Run {
            header_of,
            inside_spans,
            input: request,
            out: Vec::new(),
            started: false,
            copied: 0,
            written: 0,
            at: 0,
            items_message: None,
            scratch: self,
            edit,
        };
        let walked = run.container(schema::request(signal), 0..request.len());
        let at = run.at;
        match walked.and_then(|()| run.finish()) {
            Some(out) => Ok(out),
            None => Err(match wire::walk(signal, request) {
                Err(e) => RewriteError::Malformed(e),
                Ok(_) => RewriteError::Unreadable { signal, offset: at },
            }),
        }
    }
}

/// A message around items (resource, scope, metric, metric data) the walk is inside of.
#[derive(Clone, Debug)]
struct Frame {
    number: u32,
    /// Where its field (key first) starts in the input.
    field_start: usize,
    /// Its content in the input.
    content: Range<usize>,
    /// Once its header is written: where its length prefix is in the output, and how many
    /// bytes were kept for it.
    length_at: usize,
    reserved: usize,
}

/// One rewrite in progress.
struct Run<'a, 's, F> {
    /// At the resource and scope levels: the `Resource*` or `Scope*` message whose header
    /// field (`resource`, `scope`) is edited; the walk goes no deeper than it.
    header_of: Option<&'static Message>,
    /// At the span event and link levels: the span field whose messages are edited, and
    /// their message.
    inside_spans: Option<(u32, &'static Message)>,
    input: &'a [u8],
    out: Vec<u8>,
    /// Whether anything changed, so `out` is the answer.
    started: bool,
    /// The input up to here is accounted for in `out`.
    copied: usize,
    /// Open frames (outermost first) whose headers are in `out`.
    written: usize,
    /// Where the walk is, for the error.
    at: usize,
    /// The item message last seen and the number of its `attributes` field.
    items_message: Option<(&'static Message, Option<u32>)>,
    scratch: &'s mut AttributeRewriter,
    edit: F,
}

impl<F: FnMut(&mut Attributes<'_>)> Run<'_, '_, F> {
    /// Walks the fields of `message` at `range`, going down into the fields that hold items.
    fn container(&mut self, message: &'static Message, range: Range<usize>) -> Option<()> {
        if self.header_of.is_some_and(|m| std::ptr::eq(m, message)) {
            return self.group(message, range);
        }
        let bytes = self.input.get(..range.end)?;
        let mut pos = range.start;
        while pos < range.end {
            self.at = pos;
            let field_start = pos;
            let (number, wire_type) = fast_key(bytes, &mut pos)?;
            let counted = message.field(number).filter(|f| f.count != Count::None);
            let (Some(field), DELIMITED) = (counted, wire_type) else {
                fast_skip(bytes, &mut pos, number, wire_type, GROUP_BUDGET)?;
                continue;
            };
            let Kind::Message(child) = field.kind else {
                return None;
            };
            let content = delimited(bytes, &mut pos)?;
            if let (Count::Item, Some((inner, inner_message))) = (field.count, self.inside_spans)
                && std::ptr::eq(child, &schema::SPAN)
            {
                // A span is a frame around its events or links, which are the items here.
                self.scratch.frames.push(Frame {
                    number,
                    field_start,
                    content: content.clone(),
                    length_at: 0,
                    reserved: 0,
                });
                self.nested(inner, inner_message, content)?;
                self.close_frame()?;
            } else if field.count == Count::Item && self.inside_spans.is_none() {
                self.item(child, number, field_start, content)?;
            } else if field.count == Count::Item {
                // Data points and log records have no events or links.
            } else {
                self.scratch.frames.push(Frame {
                    number,
                    field_start,
                    content: content.clone(),
                    length_at: 0,
                    reserved: 0,
                });
                self.container(child, content)?;
                self.close_frame()?;
            }
        }
        Some(())
    }

    /// Edits the header (`resource` or `scope`) of the `Resource*` or `Scope*` message at
    /// `range`, leaving everything else in it as it is.
    fn group(&mut self, message: &'static Message, range: Range<usize>) -> Option<()> {
        let Kind::Message(header) = message.field(GROUP_HEADER)?.kind else {
            return None;
        };
        let bytes = self.input.get(..range.end)?;
        let mut pos = range.start;
        let mut seen = false;
        while pos < range.end {
            self.at = pos;
            let field_start = pos;
            let (number, wire_type) = fast_key(bytes, &mut pos)?;
            if number == GROUP_HEADER && wire_type == DELIMITED {
                let content = delimited(bytes, &mut pos)?;
                self.item(header, number, field_start, content)?;
                seen = true;
            } else {
                fast_skip(bytes, &mut pos, number, wire_type, GROUP_BUDGET)?;
            }
        }
        if !seen {
            // Edited as an empty header; written at the end of the message if it gains
            // attributes (field order does not matter to a decoder).
            self.item(header, GROUP_HEADER, range.end, range.end..range.end)?;
        }
        Some(())
    }

    /// Edits the attributes of every field `number` (a `message`) of the span at `range`.
    fn nested(
        &mut self,
        number: u32,
        message: &'static Message,
        range: Range<usize>,
    ) -> Option<()> {
        let bytes = self.input.get(..range.end)?;
        let mut pos = range.start;
        while pos < range.end {
            self.at = pos;
            let field_start = pos;
            let (field, wire_type) = fast_key(bytes, &mut pos)?;
            if field == number && wire_type == DELIMITED {
                let content = delimited(bytes, &mut pos)?;
                self.item(message, number, field_start, content)?;
            } else {
                fast_skip(bytes, &mut pos, field, wire_type, GROUP_BUDGET)?;
            }
        }
        Some(())
    }

    /// Gives one item's attributes to the editor and writes the item again if they changed.
    fn item(
        &mut self,
        message: &'static Message,
        number: u32,
        field_start: usize,
        content: Range<usize>,
    ) -> Option<()> {
        let Some(attributes) = self.attributes_field(message) else {
            return Some(());
        };
        let scratch = &mut *self.scratch;
        scratch.entries.clear();
        scratch.arena.clear();
        let bytes = self.input.get(..content.end)?;
        let mut pos = content.start;
        while pos < content.end {
            let at = pos;
            let (field, wire_type) = fast_key(bytes, &mut pos)?;
            if field == attributes && wire_type == DELIMITED {
                let kv = delimited(bytes, &mut pos)?;
                let entry = Entry::parse(self.input, at..pos, kv, &mut scratch.arena)?;
                scratch.entries.push(entry);
            } else {
                fast_skip(bytes, &mut pos, field, wire_type, GROUP_BUDGET)?;
            }
        }
        let mut list = Attributes {
            input: self.input,
            entries: &mut scratch.entries,
            arena: &mut scratch.arena,
            changed: false,
        };
        (self.edit)(&mut list);
        if !list.changed {
            return Some(());
        }

        let mut old = 0;
        let mut new = 0;
        for entry in &scratch.entries {
            old += entry.whole.as_ref().map_or(0, Range::len);
            new += entry.emitted_len(self.input, &scratch.arena, attributes);
        }
        let length = content.len().checked_sub(old)? + new;
        self.start_frames()?;
        self.flush(field_start)?;
        let scratch = &*self.scratch;
        let input = self.input;
        let out = &mut self.out;
        wire::put_delimited_header(out, number, length);
        // The new list goes where the first old attribute was (or at the end); the fields
        // between and after the old attributes are copied as they are.
        let originals = || scratch.entries.iter().filter_map(|e| e.whole.as_ref());
        let first = originals().next().map_or(content.end, |w| w.start);
        out.extend_from_slice(input.get(content.start..first)?);
        // Attributes kept as they were and adjacent on the wire are copied as one run.
        let mut run: Option<Range<usize>> = None;
        for entry in &scratch.entries {
            match (entry.untouched(), &mut run) {
                (Some(whole), Some(r)) if r.end == whole.start => r.end = whole.end,
                (untouched, _) => {
                    if let Some(r) = run.take() {
                        out.extend_from_slice(input.get(r)?);
                    }
                    match untouched {
                        Some(whole) => run = Some(whole.clone()),
                        None => entry.emit(input, &scratch.arena, attributes, out)?,
                    }
                }
            }
        }
        if let Some(r) = run {
            out.extend_from_slice(input.get(r)?);
        }
        let mut from = first;
        for whole in originals() {
            out.extend_from_slice(input.get(from..whole.start)?);
            from = whole.end;
        }
        out.extend_from_slice(input.get(from..content.end)?);
        self.copied = content.end;
        Some(())
    }

    /// The number of the `attributes` field of the item message `message`, if it has one.
    fn attributes_field(&mut self, message: &'static Message) -> Option<u32> {
        if let Some((seen, number)) = self.items_message
            && std::ptr::eq(seen, message)
        {
            return number;
        }
        let number = message
            .fields
            .iter()
            .find(|f| f.name == "attributes")
            .map(|f| f.number);
        self.items_message = Some((message, number));
        number
    }

    /// Writes the headers of the open frames not written yet, with room for their length.
    fn start_frames(&mut self) -> Option<()> {
        if !self.started {
            self.started = true;
            // Room for the request and some growth, so the output is rarely regrown.
            self.out
                .reserve(self.input.len() + self.input.len() / 8 + 64);
        }
        for i in self.written..self.scratch.frames.len() {
            let (number, field_start, content) = {
                let f = self.scratch.frames.get(i)?;
                (f.number, f.field_start, f.content.clone())
            };
            self.flush(field_start)?;
            put_varint(
                &mut self.out,
                (u64::from(number) << 3) | u64::from(DELIMITED),
            );
            let reserved = encoded_len_varint(content.len() as u64);
            let length_at = self.out.len();
            self.out.resize(length_at + reserved, 0);
            let f = self.scratch.frames.get_mut(i)?;
            f.length_at = length_at;
            f.reserved = reserved;
            self.copied = content.start;
        }
        self.written = self.scratch.frames.len();
        Some(())
    }

    /// Leaves the innermost frame; if its header was written, copies the rest of its content
    /// and patches its length.
    fn close_frame(&mut self) -> Option<()> {
        let frame = self.scratch.frames.pop()?;
        if self.written <= self.scratch.frames.len() {
            return Some(());
        }
        self.written = self.scratch.frames.len();
        self.flush(frame.content.end)?;
        let length_end = frame.length_at + frame.reserved;
        let length = self.out.len().checked_sub(length_end)?;
        let mut prefix = [0u8; 10];
        let mut unwritten = &mut prefix[..];
        encode_varint(length as u64, &mut unwritten);
        let n = 10 - unwritten.len();
        let prefix = prefix.get(..n)?;
        if n == frame.reserved {
            self.out
                .get_mut(frame.length_at..length_end)?
                .copy_from_slice(prefix);
        } else {
            // The new length needs another number of bytes: the content moves (rare: the size
            // crossed a power of 128).
            self.out.get(frame.length_at..length_end)?;
            self.out
                .splice(frame.length_at..length_end, prefix.iter().copied());
        }
        Some(())
    }

    /// Copies the input from where the last copy stopped up to `to`.
    fn flush(&mut self, to: usize) -> Option<()> {
        self.out.extend_from_slice(self.input.get(self.copied..to)?);
        self.copied = to;
        Some(())
    }

    /// The rewritten request, or `None` inside `Some` if nothing changed.
    fn finish(&mut self) -> Option<Option<Vec<u8>>> {
        if !self.started {
            return Some(None);
        }
        self.flush(self.input.len())?;
        Some(Some(std::mem::take(&mut self.out)))
    }
}

/// A length prefix at `pos` and the range of the content it announces.
fn delimited(bytes: &[u8], pos: &mut usize) -> Option<Range<usize>> {
    let content = fast_delimited(bytes, pos)?;
    Some(*pos - content.len()..*pos)
}

#[cfg(test)]
mod tests;
