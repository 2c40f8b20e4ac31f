//! Held spans, as their encoded bytes: a request is cut into one [`Piece`] per trace and
//! scope, each keeping its spans' fields exactly as they arrived beside a shared copy of the
//! resource's and scope's own fields ([`Headers`]). A decided trace is written back into an
//! export request from those bytes, with nothing decoded.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};
use weir_core::batch::select::{ItemKind, ItemView};

/// A trace id as the span carries it (all zero when the span has none, as otelcol groups
/// such spans under the empty id).
pub(crate) type TraceId = [u8; 16];

/// `scope_spans` in `ResourceSpans`, `spans` in `ScopeSpans`.
const CHILDREN: u32 = 2;
/// `resource` in `ResourceSpans`, `scope` in `ScopeSpans`.
const HEADER: u32 = 1;
/// `trace_id` in `Span`.
const TRACE_ID: u32 = 1;
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

/// Spans of one trace from one scope of one request.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) headers: Arc<Headers>,
    /// `spans` fields (key, length, content), concatenated.
    spans: Vec<u8>,
    count: usize,
}

impl Piece {
    /// The spans' contents, in order.
    pub(crate) fn spans(&self) -> impl Iterator<Item = &[u8]> {
        fields(&self.spans).filter_map(|(number, value)| match value {
            Value::Len(content) if number == CHILDREN => Some(content),
            _ => None,
        })
    }

    /// Spans in the piece.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Bytes it holds: its spans and its share of the headers (counted once per piece, which
    /// over-counts headers shared between the traces of one scope, never under-counts).
    pub(crate) fn bytes(&self) -> usize {
        self.spans.len() + self.headers.bytes()
    }
}

/// A request that could not be cut: the wire walk accepted it, so this is a bug.
#[derive(Debug, thiserror::Error)]
#[error("cannot cut this traces request into traces at byte {0}")]
pub(crate) struct Unreadable(usize);

/// Cuts an encoded traces request into pieces by trace id, in the order spans come.
pub(crate) fn cut(request: &[u8]) -> Result<Vec<(TraceId, Piece)>, Unreadable> {
    let mut out: Vec<(TraceId, Piece)> = Vec::new();
    let mut at: HashMap<TraceId, usize> = HashMap::new();
    for (number, value) in fields_checked(request, 0)? {
        let Value::Len(resource_spans) = value else {
            continue;
        };
        if number != RESOURCE_SPANS {
            continue;
        }
        let offset = offset_in(request, resource_spans);
        let (resource_header, resource) = header(resource_spans, offset)?;
        let resource_header: Arc<[u8]> = resource_header.into();
        for (number, value) in fields_checked(resource_spans, offset)? {
            let Value::Len(scope_spans) = value else {
                continue;
            };
            if number != CHILDREN {
                continue;
            }
            let offset = offset_in(request, scope_spans);
            let (scope_header, scope) = header(scope_spans, offset)?;
            let headers = Arc::new(Headers {
                resource_spans: resource_header.clone(),
                resource: resource.clone(),
                scope_spans: scope_header,
                scope,
            });
            at.clear();
            for (number, value) in fields_checked(scope_spans, offset)? {
                let Value::Len(span) = value else { continue };
                if number != CHILDREN {
                    continue;
                }
                let id = trace_id(span);
                let index = *at.entry(id).or_insert_with(|| {
                    out.push((
                        id,
                        Piece {
                            headers: headers.clone(),
                            spans: Vec::new(),
                            count: 0,
                        },
                    ));
                    out.len() - 1
                });
                let piece = &mut out[index].1;
                put_delimited(&mut piece.spans, CHILDREN, span);
                piece.count += 1;
            }
        }
    }
    Ok(out)
}

/// The trace id of a span: its last `trace_id` field if that is 16 bytes, else all zero.
pub(crate) fn trace_id(span: &[u8]) -> TraceId {
    let mut id = [0; 16];
    for (number, value) in fields(span) {
        if let (TRACE_ID, Value::Len(bytes)) = (number, value) {
            id = bytes.try_into().unwrap_or([0; 16]);
        }
    }
    id
}

/// The pieces written as one export request; pieces sharing headers share a `ScopeSpans`.
pub(crate) fn assemble<'a>(pieces: impl IntoIterator<Item = &'a Piece>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pieces = pieces.into_iter().peekable();
    while let Some(first) = pieces.next() {
        let headers = &first.headers;
        let mut spans_len = first.spans.len();
        let mut group = vec![first];
        while let Some(next) = pieces.next_if(|p| Arc::ptr_eq(&p.headers, headers)) {
            spans_len += next.spans.len();
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
            out.extend_from_slice(&piece.spans);
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
    Varint,
    Fixed,
    Len(&'a [u8]),
}

fn next_field<'a>(bytes: &mut &'a [u8]) -> Option<(u32, Value<'a>)> {
    let key = decode_varint(bytes).ok()?;
    let number = u32::try_from(key >> 3).ok()?;
    let value = match key & 7 {
        0 => {
            decode_varint(bytes).ok()?;
            Value::Varint
        }
        1 => {
            *bytes = bytes.get(8..)?;
            Value::Fixed
        }
        5 => {
            *bytes = bytes.get(4..)?;
            Value::Fixed
        }
        2 => {
            let len = usize::try_from(decode_varint(bytes).ok()?).ok()?;
            let (content, rest) = bytes.split_at_checked(len)?;
            *bytes = rest;
            Value::Len(content)
        }
        _ => return None,
    };
    Some((number, value))
}

/// The fields of a message the walk accepted; stops at anything else.
fn fields(mut bytes: &[u8]) -> impl Iterator<Item = (u32, Value<'_>)> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            None
        } else {
            next_field(&mut bytes)
        }
    })
}

/// The fields of a message, or where reading them failed (`offset`: the message's place in
/// the request, for the error).
fn fields_checked(message: &[u8], offset: usize) -> Result<Vec<(u32, Value<'_>)>, Unreadable> {
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let at = offset + message.len() - rest.len();
        out.push(next_field(&mut rest).ok_or(Unreadable(at))?);
    }
    Ok(out)
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
