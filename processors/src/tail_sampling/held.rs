//! Held spans, as their encoded bytes: a request is cut into one [`Piece`] per trace and
//! scope, each pointing at its spans in the request as it arrived ([`Source`]: no copy) beside
//! a shared copy of the resource's and scope's own fields ([`Headers`]). The request's bytes
//! count as held until the last piece cut from it is gone. A decided trace is written back into
//! an export request from those bytes, with nothing decoded. The fields the policies read on
//! every span (times and status) are read once, while cutting ([`SpanFacts`]).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};
use smallvec::SmallVec;
use weir_core::batch::accounting::Holding;
use weir_core::batch::select::{ItemKind, ItemView};

/// A trace id as the span carries it (all zero when the span has none, as otelcol groups
/// such spans under the empty id).
pub(crate) type TraceId = [u8; 16];

/// A table keyed by trace id.
pub(crate) type IdMap<V> = HashMap<TraceId, V, foldhash::fast::RandomState>;

/// `scope_spans` in `ResourceSpans`, `spans` in `ScopeSpans`.
const CHILDREN: u32 = 2;
/// `resource` in `ResourceSpans`, `scope` in `ScopeSpans`.
const HEADER: u32 = 1;
/// `trace_id`, `start_time_unix_nano`, `end_time_unix_nano` and `status` in `Span`.
const TRACE_ID: u32 = 1;
const START: u32 = 7;
const END: u32 = 8;
const STATUS: u32 = 15;
/// `code` in `Status`.
const STATUS_CODE: u32 = 3;
/// `resource_spans` in the request.
const RESOURCE_SPANS: u32 = 1;

/// The fields of one `ResourceSpans` and one `ScopeSpans` other than their children, encoded.
/// The resource's are shared by the headers of all the scopes under it.
#[derive(Debug)]
pub(crate) struct Headers {
    resource_spans: Arc<[u8]>,
    /// The `Resource` message's content inside `resource_spans`.
    resource: Range<usize>,
    scope_spans: Vec<u8>,
    /// The `InstrumentationScope` message's content inside `scope_spans`.
    scope: Range<usize>,
}

impl Headers {
    /// The `Resource` message (empty when absent).
    pub(crate) fn resource(&self) -> &[u8] {
        &self.resource_spans[self.resource.clone()]
    }

    /// The `InstrumentationScope` message (empty when absent).
    pub(crate) fn scope(&self) -> &[u8] {
        &self.scope_spans[self.scope.clone()]
    }

    fn bytes(&self) -> usize {
        self.resource_spans.len() + self.scope_spans.len()
    }
}

/// A request as received, which the pieces cut from it point into.
#[derive(Debug)]
struct Source {
    bytes: Bytes,
    /// Its bytes, counted as held for the memory limiter while a piece needs them.
    _holding: Holding,
}

/// What the policies read of every span, read once while cutting: the last `start` and `end`
/// times (0 when absent) and the status code, merged over repeated `status` fields as
/// protobuf merges them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SpanFacts {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) status: i32,
}

#[derive(Clone, Debug)]
struct HeldSpan {
    /// The span's content in the source.
    at: Range<usize>,
    facts: SpanFacts,
}

/// Spans of one trace from one scope of one request.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) headers: Arc<Headers>,
    source: Arc<Source>,
    /// Most pieces hold one span (a trace's spans spread over many requests), or a few.
    spans: SmallVec<[HeldSpan; 1]>,
}

impl Piece {
    /// The spans' contents, in order.
    pub(crate) fn spans(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|s| &self.source.bytes[s.at.clone()])
    }

    /// What the policies read of each span, in order.
    pub(crate) fn facts(&self) -> impl Iterator<Item = SpanFacts> + '_ {
        self.spans.iter().map(|s| s.facts)
    }

    /// Spans in the piece.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Bytes of its spans and its headers (the headers counted once per piece).
    pub(crate) fn bytes(&self) -> usize {
        self.spans.iter().map(|s| s.at.len()).sum::<usize>() + self.headers.bytes()
    }

    /// Bytes of its spans as written into a request (key and length prefix each).
    fn encoded_len(&self) -> usize {
        self.spans
            .iter()
            .map(|s| 1 + encoded_len_varint(s.at.len() as u64) + s.at.len())
            .sum()
    }
}

/// A request that could not be cut: the wire walk accepted it, so this is a bug.
#[derive(Debug, thiserror::Error)]
#[error("cannot cut this traces request into traces at byte {0}")]
pub(crate) struct Unreadable(usize);

/// Cuts an encoded traces request into pieces by trace id, in the order spans come.
pub(crate) fn cut(bytes: &Bytes) -> Result<Vec<(TraceId, Piece)>, Unreadable> {
    let mut holding = Holding::default();
    holding.add(bytes.len());
    let source = Arc::new(Source {
        bytes: bytes.clone(),
        _holding: holding,
    });
    let request: &[u8] = bytes;
    let mut out: Vec<(TraceId, Piece)> = Vec::new();
    let mut at: IdMap<usize> = IdMap::default();
    for resource_spans in children(request, RESOURCE_SPANS, 0) {
        let resource_spans = resource_spans?;
        let offset = offset_in(request, resource_spans);
        let (resource_header, resource) = header(resource_spans, offset)?;
        let resource_header: Arc<[u8]> = resource_header.into();
        for scope_spans in children(resource_spans, CHILDREN, offset) {
            let scope_spans = scope_spans?;
            let offset = offset_in(request, scope_spans);
            let (scope_header, scope) = header(scope_spans, offset)?;
            let headers = Arc::new(Headers {
                resource_spans: resource_header.clone(),
                resource: resource.clone(),
                scope_spans: scope_header,
                scope,
            });
            at.clear();
            for span in children(scope_spans, CHILDREN, offset) {
                let span = span?;
                let (id, facts) = read_span(span);
                let index = *at.entry(id).or_insert_with(|| {
                    out.push((
                        id,
                        Piece {
                            headers: headers.clone(),
                            source: source.clone(),
                            spans: SmallVec::new(),
                        },
                    ));
                    out.len() - 1
                });
                let start = offset_in(request, span);
                out[index].1.spans.push(HeldSpan {
                    at: start..start + span.len(),
                    facts,
                });
            }
        }
    }
    Ok(out)
}

/// The trace id of a span (its last `trace_id` field if that is 16 bytes, else all zero) and
/// the facts the policies read, in one pass over its fields.
pub(crate) fn read_span(span: &[u8]) -> (TraceId, SpanFacts) {
    let mut id = [0; 16];
    let mut facts = SpanFacts::default();
    let mut rest = span;
    while let Some((number, value)) = next_field(&mut rest) {
        match (number, value) {
            (TRACE_ID, Value::Len(bytes)) => id = bytes.try_into().unwrap_or([0; 16]),
            (START, Value::Fixed(v)) => facts.start = v,
            (END, Value::Fixed(v)) => facts.end = v,
            (STATUS, Value::Len(status)) => {
                let mut inner = status;
                while let Some((number, value)) = next_field(&mut inner) {
                    if let (STATUS_CODE, Value::Varint(code)) = (number, value) {
                        // An int32 enum: the low 32 bits, as protobuf reads it.
                        facts.status = code as i32;
                    }
                }
            }
            _ => {}
        }
    }
    (id, facts)
}

/// The pieces written as one export request; pieces sharing headers share a `ScopeSpans`.
pub(crate) fn assemble<'a>(pieces: impl IntoIterator<Item = &'a Piece>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pieces = pieces.into_iter().peekable();
    while let Some(first) = pieces.next() {
        let headers = &first.headers;
        let mut spans_len = first.encoded_len();
        let mut group = vec![first];
        while let Some(next) = pieces.next_if(|p| Arc::ptr_eq(&p.headers, headers)) {
            spans_len += next.encoded_len();
            group.push(next);
        }
        let scope_len = headers.scope_spans.len() + spans_len;
        let resource_len =
            headers.resource_spans.len() + 1 + encoded_len_varint(scope_len as u64) + scope_len;
        put_header(&mut out, RESOURCE_SPANS, resource_len);
        out.extend_from_slice(&headers.resource_spans);
        put_header(&mut out, CHILDREN, scope_len);
        out.extend_from_slice(&headers.scope_spans);
        for piece in group {
            for span in piece.spans() {
                put_delimited(&mut out, CHILDREN, span);
            }
        }
    }
    out
}

/// The fields of a `ResourceSpans` or `ScopeSpans` other than its children, and where its
/// resource or scope message's content lies in them.
fn header(message: &[u8], offset: usize) -> Result<(Vec<u8>, Range<usize>), Unreadable> {
    let mut out = Vec::new();
    let mut inner = 0..0;
    let mut rest = message;
    while !rest.is_empty() {
        let start = message.len() - rest.len();
        let (number, value) = next_field(&mut rest).ok_or(Unreadable(offset + start))?;
        if number == CHILDREN {
            continue;
        }
        let end = message.len() - rest.len();
        if let (HEADER, Value::Len(content)) = (number, value) {
            let content_at = out.len() + (end - start - content.len());
            inner = content_at..content_at + content.len();
        }
        out.extend_from_slice(&message[start..end]);
    }
    Ok((out, inner))
}

/// A span of a held piece, shown as the selectors and OTTL see records.
pub(crate) fn view<'a>(headers: &'a Headers, span: &'a [u8]) -> ItemView<'a> {
    ItemView {
        resource: headers.resource(),
        scope: headers.scope(),
        metric: &[],
        item: span,
        kind: ItemKind::Span,
    }
}

#[derive(Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    Fixed(u64),
    Len(&'a [u8]),
}

/// A varint at the front of `bytes`, which it advances; one-byte ones read inline.
#[inline]
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    match bytes.first() {
        Some(&b) if b < 0x80 => {
            *bytes = &bytes[1..];
            Some(u64::from(b))
        }
        _ => decode_varint(bytes).ok(),
    }
}

fn next_field<'a>(bytes: &mut &'a [u8]) -> Option<(u32, Value<'a>)> {
    let key = varint(bytes)?;
    let number = u32::try_from(key >> 3).ok()?;
    let value = match key & 7 {
        0 => Value::Varint(varint(bytes)?),
        1 => {
            let (head, rest) = bytes.split_first_chunk::<8>()?;
            *bytes = rest;
            Value::Fixed(u64::from_le_bytes(*head))
        }
        5 => {
            let (head, rest) = bytes.split_first_chunk::<4>()?;
            *bytes = rest;
            Value::Fixed(u64::from(u32::from_le_bytes(*head)))
        }
        2 => {
            let len = usize::try_from(varint(bytes)?).ok()?;
            let (content, rest) = bytes.split_at_checked(len)?;
            *bytes = rest;
            Value::Len(content)
        }
        _ => return None,
    };
    Some((number, value))
}

/// The length-delimited fields `number` of a message, or where reading failed (`offset`: the
/// message's place in the request, for the error).
fn children(
    message: &[u8],
    number: u32,
    offset: usize,
) -> impl Iterator<Item = Result<&[u8], Unreadable>> {
    let mut rest = message;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            let at = offset + message.len() - rest.len();
            match next_field(&mut rest) {
                None => {
                    rest = &[];
                    return Some(Err(Unreadable(at)));
                }
                Some((n, Value::Len(content))) if n == number => return Some(Ok(content)),
                Some(_) => {}
            }
        }
    })
}

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

fn put_header(out: &mut Vec<u8>, number: u32, len: usize) {
    encode_varint(u64::from(number << 3 | 2), out);
    encode_varint(len as u64, out);
}

fn put_delimited(out: &mut Vec<u8>, number: u32, content: &[u8]) {
    put_header(out, number, content.len());
    out.extend_from_slice(content);
}
