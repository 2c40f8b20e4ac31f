//! Leaving items out of an encoded request without decoding it: the `filter` processor's
//! (and later the samplers' and the routing connector's) way of dropping spans, span events,
//! metrics, data points and log records; and writing single items anew (the `transform`
//! processor's way of changing only the records its statements touch).
//!
//! A [`Selector`] is shown each item as an [`ItemView`]: the item's own bytes beside those of
//! its resource, its scope and (for data points) its metric, so a condition can read any of
//! them on the wire. The first pass only decides and notes the byte ranges of what goes; when
//! nothing goes the request is passed on as it is, not copied. Otherwise the second pass writes
//! the request again without those ranges, fixing the length prefixes around them, and leaves
//! out every scope, resource and metric that lost items and has none left, as otelcol's filter
//! processor does. A span whose events are all dropped stays.
//!
//! The input should be a request the wire walk accepted; anything else is an error, never a
//! panic.

use std::ops::Range;

use prost::encoding::{encode_varint, encoded_len_varint};

use super::Signal;
use super::schema::{self, Count, Kind, Message, RECURSION_LIMIT};
use super::wire::{self, DELIMITED, WireError, fast_delimited, fast_key, fast_skip, put_varint};

/// Field number of `resource` in `Resource*` and `scope` in `Scope*` messages.
const GROUP_HEADER: u32 = 1;
/// Field number of `events` in `Span`.
const SPAN_EVENTS: u32 = 11;

/// What kind of record an [`ItemView`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A span.
    Span,
    /// A log record.
    Log,
    /// A whole metric (shown to [`Selector::keep_metric`]).
    Metric,
    /// A gauge's or sum's data point.
    NumberPoint,
    /// A histogram's data point.
    HistogramPoint,
    /// An exponential histogram's data point.
    ExponentialHistogramPoint,
    /// A summary's data point.
    SummaryPoint,
}

/// One record and what surrounds it, as encoded message contents (no key, no length prefix).
#[derive(Clone, Copy, Debug)]
pub struct ItemView<'a> {
    /// The `Resource` message (empty when the request carries none).
    pub resource: &'a [u8],
    /// The `InstrumentationScope` message (empty when there is none).
    pub scope: &'a [u8],
    /// For data points and metrics, the `Metric` message (data points included); else empty.
    pub metric: &'a [u8],
    /// The record itself: a `Span`, `LogRecord`, `Metric` or data point message.
    pub item: &'a [u8],
    /// Which record it is.
    pub kind: ItemKind,
}

/// Decides what stays. Each method is called once per record, in request order; a record
/// the selector drops hides what is inside it (a dropped metric's data points, a dropped span's
/// events are not shown).
pub trait Selector {
    /// Whether the span, data point or log record stays.
    fn keep(&mut self, item: &ItemView<'_>) -> bool;

    /// Whether to call [`Selector::keep`] at all (false: every item stays, unless its metric
    /// goes).
    fn selects_items(&self) -> bool {
        true
    }

    /// Whether the metric stays (before its data points are shown). Metrics only.
    fn keep_metric(&mut self, metric: &ItemView<'_>) -> bool {
        let _ = metric;
        true
    }

    /// Whether to call [`Selector::keep_metric`].
    fn selects_metrics(&self) -> bool {
        false
    }

    /// Whether the event (an `Event` message) of a span that stays, stays. Traces only.
    fn keep_event(&mut self, span: &ItemView<'_>, event: &[u8]) -> bool {
        let _ = (span, event);
        true
    }

    /// Whether to call [`Selector::keep_event`].
    fn selects_events(&self) -> bool {
        false
    }

    /// A new encoding (the message content) for a span, data point or log record that stays,
    /// or `None` to keep its bytes. A replaced span's events are not shown.
    fn replace(&mut self, item: &ItemView<'_>) -> Option<Vec<u8>> {
        let _ = item;
        None
    }

    /// Whether to call [`Selector::replace`].
    fn replaces_items(&self) -> bool {
        false
    }
}

/// A field of the input the second pass writes otherwise: left out, or with a new content.
#[derive(Debug)]
struct Edit {
    /// The whole field (key to end of content).
    whole: Range<usize>,
    /// `None`: left out.
    with: Option<Vec<u8>>,
}

/// What [`select`] left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The request without what was dropped; `None` when nothing was (the input is the
    /// answer as it is).
    pub request: Option<Vec<u8>>,
    /// Spans, data points or log records dropped (a dropped metric's data points included).
    pub dropped_items: usize,
    /// Span events dropped from spans that stayed.
    pub dropped_events: usize,
    /// Items given a new encoding by [`Selector::replace`].
    pub replaced_items: usize,
}

/// A request [`select`] could not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The bytes are not a well-formed request.
    #[error(transparent)]
    Malformed(#[from] WireError),
    /// The walk accepts the bytes but the selection could not follow them (a bug; the batch
    /// is refused rather than guessed at).
    #[error("cannot select from this {signal} request at byte {offset}")]
    Unreadable {
        /// Request kind.
        signal: Signal,
        /// Where it stopped.
        offset: usize,
    },
}

/// Shows every record of `request` (an encoded export request of `signal`) to `selector` and
/// leaves out what it drops.
pub fn select(
    signal: Signal,
    request: &[u8],
    selector: &mut impl Selector,
) -> Result<Selected, SelectError> {
    let mut decide = Decide {
        input: request,
        drops: Vec::new(),
        dropped_items: 0,
        dropped_events: 0,
        replaced_items: 0,
        at: 0,
        selector,
    };
    let unreadable = |at| match wire::walk(signal, request) {
        Err(e) => SelectError::Malformed(e),
        Ok(_) => SelectError::Unreadable { signal, offset: at },
    };
    let around = Around {
        resource: &[],
        scope: &[],
        metric: &[],
    };
    if decide
        .container(schema::request(signal), 0..request.len(), around, 0)
        .is_none()
    {
        return Err(unreadable(decide.at));
    }
    let (dropped_items, dropped_events, replaced_items) = (
        decide.dropped_items,
        decide.dropped_events,
        decide.replaced_items,
    );
    if decide.drops.is_empty() {
        return Ok(Selected {
            request: None,
            dropped_items,
            dropped_events,
            replaced_items,
        });
    }
    let mut write = Write {
        input: request,
        drops: &decide.drops,
        next: 0,
        out: Vec::with_capacity(request.len()),
    };
    match write.container(schema::request(signal), 0..request.len(), 0) {
        Some(_) => Ok(Selected {
            request: Some(write.out),
            dropped_items,
            dropped_events,
            replaced_items,
        }),
        None => Err(unreadable(0)),
    }
}

/// The resource, scope and metric around the records being walked.
#[derive(Clone, Copy)]
struct Around<'a> {
    resource: &'a [u8],
    scope: &'a [u8],
    metric: &'a [u8],
}

/// The first pass: shows records to the selector and notes the fields to leave out.
struct Decide<'a, 's, S> {
    input: &'a [u8],
    /// Fields to leave out or write anew, in input order.
    drops: Vec<Edit>,
    dropped_items: usize,
    dropped_events: usize,
    replaced_items: usize,
    at: usize,
    selector: &'s mut S,
}

impl<'a, S: Selector> Decide<'a, '_, S> {
    fn container(
        &mut self,
        message: &'static Message,
        range: Range<usize>,
        mut around: Around<'a>,
        depth: u32,
    ) -> Option<()> {
        let input = self.input;
        if depth > RECURSION_LIMIT {
            return None;
        }
        if is_one_of(message, schema::resource_group) {
            around.resource = header(input, range.clone())?;
        } else if is_one_of(message, schema::scope_group) {
            around.scope = header(input, range.clone())?;
        }
        let bytes = input.get(..range.end)?;
        let mut pos = range.start;
        while pos < range.end {
            self.at = pos;
            let start = pos;
            let (number, wire_type) = fast_key(bytes, &mut pos)?;
            let counted = message.field(number).filter(|f| f.count != Count::None);
            let (Some(field), DELIMITED) = (counted, wire_type) else {
                fast_skip(bytes, &mut pos, number, wire_type, RECURSION_LIMIT)?;
                continue;
            };
            let Kind::Message(child) = field.kind else {
                return None;
            };
            let content = delimited(bytes, &mut pos)?;
            let whole = start..pos;
            if field.count == Count::Item {
                self.item(child, whole, content, around)?;
            } else if std::ptr::eq(child, &schema::METRIC) {
                let metric = input.get(content.clone())?;
                let view = ItemView {
                    item: metric,
                    metric,
                    kind: ItemKind::Metric,
                    ..view(around)
                };
                if self.selector.selects_metrics() && !self.selector.keep_metric(&view) {
                    self.dropped_items += items_in(input, child, content, depth + 1)?;
                    self.drops.push(Edit { whole, with: None });
                } else {
                    let inner = Around { metric, ..around };
                    self.container(child, content, inner, depth + 1)?;
                }
            } else {
                self.container(child, content, around, depth + 1)?;
            }
        }
        Some(())
    }

    fn item(
        &mut self,
        message: &'static Message,
        whole: Range<usize>,
        content: Range<usize>,
        around: Around<'a>,
    ) -> Option<()> {
        let item = self.input.get(content.clone())?;
        let view = ItemView {
            item,
            kind: kind_of(message)?,
            ..view(around)
        };
        if self.selector.selects_items() && !self.selector.keep(&view) {
            self.dropped_items += 1;
            self.drops.push(Edit { whole, with: None });
            return Some(());
        }
        if self.selector.replaces_items()
            && let Some(with) = self.selector.replace(&view)
        {
            self.replaced_items += 1;
            self.drops.push(Edit {
                whole,
                with: Some(with),
            });
            return Some(());
        }
        if view.kind == ItemKind::Span && self.selector.selects_events() {
            let events = SPAN_EVENTS;
            let bytes = self.input.get(..content.end)?;
            let mut pos = content.start;
            while pos < content.end {
                let start = pos;
                let (number, wire_type) = fast_key(bytes, &mut pos)?;
                if number == events && wire_type == DELIMITED {
                    let event = delimited(bytes, &mut pos)?;
                    if !self.selector.keep_event(&view, self.input.get(event)?) {
                        self.dropped_events += 1;
                        self.drops.push(Edit {
                            whole: start..pos,
                            with: None,
                        });
                    }
                } else {
                    fast_skip(bytes, &mut pos, number, wire_type, RECURSION_LIMIT)?;
                }
            }
        }
        Some(())
    }
}

fn view(around: Around<'_>) -> ItemView<'_> {
    ItemView {
        resource: around.resource,
        scope: around.scope,
        metric: around.metric,
        item: &[],
        kind: ItemKind::Span,
    }
}

/// The content of the `resource` or `scope` field of the `Resource*` or `Scope*` message at
/// `range` (the first one; empty when absent).
fn header(input: &[u8], range: Range<usize>) -> Option<&[u8]> {
    let bytes = input.get(..range.end)?;
    let mut pos = range.start;
    while pos < range.end {
        let (number, wire_type) = fast_key(bytes, &mut pos)?;
        if number == GROUP_HEADER && wire_type == DELIMITED {
            return input.get(delimited(bytes, &mut pos)?);
        }
        fast_skip(bytes, &mut pos, number, wire_type, RECURSION_LIMIT)?;
    }
    Some(&[])
}

/// Whether `message` is `group`'s message of one of the signals.
fn is_one_of(message: &'static Message, group: fn(Signal) -> &'static Message) -> bool {
    [Signal::Traces, Signal::Metrics, Signal::Logs]
        .into_iter()
        .any(|signal| std::ptr::eq(group(signal), message))
}

/// Items inside the `message` at `range` (a dropped metric's data points).
fn items_in(
    input: &[u8],
    message: &'static Message,
    range: Range<usize>,
    depth: u32,
) -> Option<usize> {
    if depth > RECURSION_LIMIT {
        return None;
    }
    let bytes = input.get(..range.end)?;
    let mut pos = range.start;
    let mut count = 0;
    while pos < range.end {
        let (number, wire_type) = fast_key(bytes, &mut pos)?;
        let counted = message.field(number).filter(|f| f.count != Count::None);
        match (counted, wire_type) {
            (Some(field), DELIMITED) => {
                let content = delimited(bytes, &mut pos)?;
                count += match field.kind {
                    _ if field.count == Count::Item => 1,
                    Kind::Message(child) => items_in(input, child, content, depth + 1)?,
                    _ => return None,
                };
            }
            _ => fast_skip(bytes, &mut pos, number, wire_type, RECURSION_LIMIT)?,
        }
    }
    Some(count)
}

fn kind_of(message: &'static Message) -> Option<ItemKind> {
    let kinds = [
        (&schema::SPAN, ItemKind::Span),
        (&schema::LOG_RECORD, ItemKind::Log),
        (&schema::NUMBER_DATA_POINT, ItemKind::NumberPoint),
        (&schema::HISTOGRAM_DATA_POINT, ItemKind::HistogramPoint),
        (
            &schema::EXPONENTIAL_HISTOGRAM_DATA_POINT,
            ItemKind::ExponentialHistogramPoint,
        ),
        (&schema::SUMMARY_DATA_POINT, ItemKind::SummaryPoint),
    ];
    kinds
        .into_iter()
        .find(|(m, _)| std::ptr::eq(*m, message))
        .map(|(_, kind)| kind)
}

/// The second pass: writes the request again without the dropped fields.
struct Write<'a> {
    input: &'a [u8],
    drops: &'a [Edit],
    /// The first edit not passed yet.
    next: usize,
    out: Vec<u8>,
}

impl Write<'_> {
    /// Writes the fields of `message` at `range`, leaving out drops; returns whether any
    /// counted field (an item, or a container with items left) was written.
    fn container(
        &mut self,
        message: &'static Message,
        range: Range<usize>,
        depth: u32,
    ) -> Option<bool> {
        if depth > RECURSION_LIMIT {
            return None;
        }
        let bytes = self.input.get(..range.end)?;
        let mut pos = range.start;
        let mut kept = false;
        while pos < range.end {
            let start = pos;
            let (number, wire_type) = fast_key(bytes, &mut pos)?;
            let counted = message.field(number).filter(|f| f.count != Count::None);
            let (Some(field), DELIMITED) = (counted, wire_type) else {
                fast_skip(bytes, &mut pos, number, wire_type, RECURSION_LIMIT)?;
                self.copy(start..pos)?;
                continue;
            };
            let Kind::Message(child) = field.kind else {
                return None;
            };
            let content = delimited(bytes, &mut pos)?;
            let whole = start..pos;
            if let Some(edit) = self.drops.get(self.next).filter(|e| e.whole == whole) {
                self.next += 1;
                if let Some(with) = &edit.with {
                    wire::put_delimited_header(&mut self.out, number, with.len());
                    self.out.extend_from_slice(with);
                    kept = true;
                }
                continue;
            }
            if !self.drop_inside(&content) {
                self.copy(whole)?;
                kept = true;
                continue;
            }
            // Something inside goes: the field is written again around what stays.
            let mark = self.out.len();
            put_varint(
                &mut self.out,
                (u64::from(number) << 3) | u64::from(DELIMITED),
            );
            let length_at = self.out.len();
            let reserved = encoded_len_varint(content.len() as u64);
            self.out.resize(length_at + reserved, 0);
            let inner_kept = if field.count == Count::Item {
                // A span losing events: it stays, whatever is left in it.
                self.fields_of(content)?;
                true
            } else {
                self.container(child, content, depth + 1)?
            };
            if inner_kept {
                self.close(length_at, reserved)?;
                kept = true;
            } else {
                self.out.truncate(mark);
            }
        }
        Some(kept)
    }

    /// Copies the fields at `range` except the dropped ones.
    fn fields_of(&mut self, range: Range<usize>) -> Option<()> {
        let bytes = self.input.get(..range.end)?;
        let mut pos = range.start;
        while pos < range.end {
            let start = pos;
            let (number, wire_type) = fast_key(bytes, &mut pos)?;
            fast_skip(bytes, &mut pos, number, wire_type, RECURSION_LIMIT)?;
            if self
                .drops
                .get(self.next)
                .is_some_and(|e| e.whole == (start..pos))
            {
                self.next += 1;
            } else {
                self.copy(start..pos)?;
            }
        }
        Some(())
    }

    /// Whether the next drop lies inside `content`.
    fn drop_inside(&self, content: &Range<usize>) -> bool {
        self.drops
            .get(self.next)
            .is_some_and(|e| e.whole.start >= content.start && e.whole.end <= content.end)
    }

    fn copy(&mut self, range: Range<usize>) -> Option<()> {
        self.out.extend_from_slice(self.input.get(range)?);
        Some(())
    }

    /// Writes the length of what follows the `reserved` bytes at `length_at`.
    fn close(&mut self, length_at: usize, reserved: usize) -> Option<()> {
        let end = length_at + reserved;
        let length = self.out.len().checked_sub(end)?;
        let mut prefix = [0u8; 10];
        let mut unwritten = &mut prefix[..];
        encode_varint(length as u64, &mut unwritten);
        let n = 10 - unwritten.len();
        let prefix = prefix.get(..n)?;
        if n == reserved {
            self.out.get_mut(length_at..end)?.copy_from_slice(prefix);
        } else {
            // Shorter now (the content lost at least one power of 128): the content moves.
            self.out.get(length_at..end)?;
            self.out.splice(length_at..end, prefix.iter().copied());
        }
        Some(())
    }
}

/// A length prefix at `pos` and the range of the content it announces.
fn delimited(bytes: &[u8], pos: &mut usize) -> Option<Range<usize>> {
    let content = fast_delimited(bytes, pos)?;
    Some(*pos - content.len()..*pos)
}

#[cfg(test)]
mod tests;
