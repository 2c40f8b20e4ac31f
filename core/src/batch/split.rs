//! Batching without decoding: concatenating encoded requests and splitting them into pieces of
//! at most a given number of items.
//!
//! Repeated fields concatenate in protobuf, so the byte-append of two requests of one signal is a
//! request holding both: [`Concat`] is a reusable buffer doing exactly that. [`split`] cuts a
//! request between its top-level `Resource*` entries and hands out zero-copy slices of the input;
//! only a resource holding more items than the limit is cut further, on the wire: each piece
//! repeats the resource's and scope's own fields (and for metrics the metric's) around a share of
//! the items, copied as they are. Nothing is decoded into structs.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::schema::{self, Count, Kind, Message};
use super::wire::{self, FieldSpan, WireError, put_delimited_header};
use super::{Batch, BatchMeta, Signal};

/// Headroom of a batch buffer, as a fraction (1 / this) of the bytes it is sized for.
const GROWTH_DIVISOR: usize = 4;

/// A buffer that concatenates encoded requests of one signal into one request.
///
/// It only appends bytes, so pushing costs a copy and nothing else. [`Concat::take`] hands the
/// request out and leaves the buffer empty; the next batch starts in one allocation the size of
/// the last (the handed-out `Bytes` usually still own the old one), so it is not regrown.
#[derive(Debug, Default)]
pub struct Concat {
    buf: BytesMut,
    items: usize,
    /// Bytes of the last batch taken: the next one is likely the same size, so its buffer is
    /// allocated at that size once instead of regrown (and copied) from small.
    last: usize,
}

impl Concat {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        Concat {
            buf: BytesMut::with_capacity(bytes),
            items: 0,
            last: 0,
        }
    }

    /// Appends an encoded request holding `items` items. The caller vouches for both (they come
    /// from a wire walk or from [`split`]); nothing is checked here.
    pub fn push(&mut self, request: &[u8], items: usize) {
        let needed = self.buf.len() + request.len();
        if needed > self.buf.capacity() {
            // The taken batch still owns the old allocation, so the next starts in a new one, at
            // the size of the last with some headroom: batches closed by the timeout vary by a
            // request or two. Past that it grows by a quarter, not by `BytesMut`'s doubling,
            // which would hold up to twice the batch (and, while copying, three times).
            let wanted = if self.buf.is_empty() {
                self.last.max(needed)
            } else {
                needed
            };
            let mut grown = BytesMut::with_capacity(wanted + wanted / GROWTH_DIVISOR);
            grown.extend_from_slice(&self.buf);
            self.buf = grown;
        }
        self.buf.extend_from_slice(request);
        self.items += items;
    }

    /// Appends a batch's request (a decoded batch is encoded for this).
    pub fn push_batch(&mut self, batch: &Batch) {
        match batch.payload() {
            super::Payload::Encoded(bytes) => self.push(bytes, batch.items()),
            super::Payload::Decoded(_) => self.push(&batch.to_bytes(), batch.items()),
        }
    }

    /// Items pushed since the last take.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Bytes pushed since the last take.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was pushed since the last take.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The concatenated request; the buffer is left empty (item count 0) and ready for reuse.
    pub fn take(&mut self) -> Bytes {
        self.items = 0;
        self.last = self.buf.len();
        // All of it, spare room included: a tail left here would take the next batch's first
        // request and then regrow from that size, not from the last batch's.
        std::mem::take(&mut self.buf).freeze()
    }

    /// The concatenated request as a batch of `signal` with `meta`; the buffer is left empty.
    pub fn take_batch(&mut self, signal: Signal, meta: Arc<BatchMeta>) -> Batch {
        let items = self.items;
        Batch::from_walked(signal, self.take(), items, meta)
    }
}

/// Batches that cannot be concatenated into one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConcatError {
    /// There was nothing to concatenate.
    #[error("no batches to concatenate")]
    Empty,
    /// The batches carry different signals.
    #[error("cannot concatenate batch {index} of {found} onto {expected} batches")]
    MixedSignals {
        /// The signal of the first batch.
        expected: Signal,
        /// The signal of the offending batch.
        found: Signal,
        /// Its position in the list.
        index: usize,
    },
}

/// One batch holding the items of all `batches` in order, with the first batch's client and
/// every batch's acknowledgement guards.
/// A single batch is returned as it is; otherwise the requests are byte-appended.
pub fn concat_batches(batches: &[Batch]) -> Result<Batch, ConcatError> {
    let [first, rest @ ..] = batches else {
        return Err(ConcatError::Empty);
    };
    if let Some((index, odd)) = batches
        .iter()
        .enumerate()
        .find(|(_, b)| b.signal() != first.signal())
    {
        return Err(ConcatError::MixedSignals {
            expected: first.signal(),
            found: odd.signal(),
            index,
        });
    }
    if rest.is_empty() {
        return Ok(first.clone());
    }
    let mut concat = Concat::with_capacity(batches.iter().map(Batch::byte_size).sum());
    for batch in batches {
        concat.push_batch(batch);
    }
    Ok(concat.take_batch(
        first.signal(),
        BatchMeta::merged(batches.iter().map(Batch::meta)),
    ))
}

/// Splits a batch into batches of at most `max_items` items (0: no limit), in order, each with
/// the batch's metadata. A batch within the limit comes back as it is; a decoded batch over the
/// limit is encoded once and split as bytes.
pub fn split_batch(batch: &Batch, max_items: usize) -> Result<Vec<Batch>, WireError> {
    if max_items == 0 || batch.items() <= max_items {
        return Ok(vec![batch.clone()]);
    }
    let bytes = batch.to_bytes();
    let pieces = split(batch.signal(), &bytes, max_items)?;
    Ok(pieces
        .into_iter()
        .map(|(piece, items)| {
            Batch::from_walked(batch.signal(), piece, items, batch.meta().clone())
        })
        .collect())
}

/// Splits an encoded request of `signal` into requests of at most `max_items` items each
/// (0: no limit), returned in order with their item counts. There is always at least one piece.
///
/// Pieces are cut between top-level `Resource*` entries and are slices of `bytes` sharing its
/// memory, so appending them gives back `bytes` exactly. Only a resource with more than
/// `max_items` items is divided further, into new buffers that repeat its resource, scope and
/// metric fields around a share of its items (filling each piece up to `max_items`); decoded,
/// the pieces together hold the same resources, scopes and items in the same order. Unknown
/// top-level fields between such a resource and the next cut, which every decoder ignores, are
/// not carried over.
pub fn split(
    signal: Signal,
    bytes: &Bytes,
    max_items: usize,
) -> Result<Vec<(Bytes, usize)>, WireError> {
    let mut resources: Vec<FieldSpan> = Vec::new();
    let total = wire::walk_fields(
        signal,
        bytes,
        schema::request(signal),
        0..bytes.len(),
        |field| {
            if field.number == schema::REQUEST_RESOURCES {
                resources.push(field);
            }
        },
    )?;
    if max_items == 0 || total <= max_items {
        return Ok(vec![(bytes.clone(), total)]);
    }

    let mut pieces = Vec::new();
    // The run of whole resources that goes into the next slice.
    let mut run_start = 0;
    let mut run_items = 0;
    let mut run_has_resources = false;
    for resource in resources {
        if resource.items > max_items {
            if run_has_resources {
                pieces.push((bytes.slice(run_start..resource.whole.start), run_items));
            }
            ResourceSplitter::new(signal, bytes, max_items, &mut pieces).split(&resource)?;
            run_start = resource.whole.end;
            run_items = 0;
            run_has_resources = false;
            continue;
        }
        if run_has_resources && run_items + resource.items > max_items {
            pieces.push((bytes.slice(run_start..resource.whole.start), run_items));
            run_start = resource.whole.start;
            run_items = 0;
        }
        run_items += resource.items;
        run_has_resources = true;
    }
    if run_has_resources {
        pieces.push((bytes.slice(run_start..), run_items));
    }
    Ok(pieces)
}

/// Cuts one oversized `Resource*` entry into pieces of exactly `max` items (the last may hold
/// fewer), copying fields as they are on the wire.
struct ResourceSplitter<'a> {
    signal: Signal,
    bytes: &'a [u8],
    max: usize,
    /// The resource's fields other than its scopes, repeated in every piece.
    header: Vec<u8>,
    /// Encoded scope entries of the piece being built.
    scopes: Vec<u8>,
    /// Items in the piece being built, including those of the open scope part.
    items: usize,
    pieces: &'a mut Vec<(Bytes, usize)>,
}

/// The share of one scope entry that goes into the piece being built.
struct ScopePart {
    /// The scope's fields other than its items, repeated in every part.
    header: Vec<u8>,
    /// Encoded item fields of this part.
    items: Vec<u8>,
    /// Whether some part of this scope is already in a piece.
    emitted: bool,
}

impl<'a> ResourceSplitter<'a> {
    fn new(
        signal: Signal,
        bytes: &'a [u8],
        max: usize,
        pieces: &'a mut Vec<(Bytes, usize)>,
    ) -> Self {
        ResourceSplitter {
            signal,
            bytes,
            max,
            header: Vec::new(),
            scopes: Vec::new(),
            items: 0,
            pieces,
        }
    }

    fn split(mut self, resource: &FieldSpan) -> Result<(), WireError> {
        let (header, scopes) = self.partition(
            schema::resource_group(self.signal),
            resource.content.clone(),
            schema::RESOURCE_SCOPES,
        )?;
        self.header = header;
        for scope in scopes {
            let (header, items) = self.partition(
                schema::scope_group(self.signal),
                scope.content,
                schema::SCOPE_ITEMS,
            )?;
            let mut part = ScopePart {
                header,
                items: Vec::new(),
                emitted: false,
            };
            for item in items {
                if item.items <= self.room() {
                    part.items
                        .extend_from_slice(&self.bytes[item.whole.clone()]);
                    self.items += item.items;
                } else if self.signal == Signal::Metrics {
                    self.split_metric(&item, &mut part)?;
                } else {
                    // A span or log record, and the piece is full.
                    self.next_piece(&mut part);
                    part.items
                        .extend_from_slice(&self.bytes[item.whole.clone()]);
                    self.items += item.items;
                }
            }
            // A scope without items still goes into one piece, so nothing is lost.
            let force = !part.emitted;
            self.close_part(&mut part, force);
        }
        self.flush();
        Ok(())
    }

    /// Divides a metric's data points over the current and following pieces. Each share is a
    /// metric with the original's own fields and one data field holding the data kind's own
    /// fields and the share of points.
    fn split_metric(&mut self, metric: &FieldSpan, part: &mut ScopePart) -> Result<(), WireError> {
        let bytes = self.bytes;
        let mut header = Vec::new();
        // prost keeps only the last run of one oneof member (see `Count::OneofRun`), so earlier
        // data fields are dropped here exactly as decoding would drop them.
        let mut member: Option<&'static schema::Field> = None;
        let mut data: Vec<Range<usize>> = Vec::new();
        wire::walk_fields(
            self.signal,
            bytes,
            &schema::METRIC,
            metric.content.clone(),
            |f| match schema::METRIC.field(f.number) {
                Some(field) if field.count == Count::OneofRun => {
                    if member.is_none_or(|m| m.number != f.number) {
                        member = Some(field);
                        data.clear();
                    }
                    data.push(f.content);
                }
                _ => header.extend_from_slice(&bytes[f.whole]),
            },
        )?;
        let Some(member) = member else {
            // No data, so no items: it cannot be over the limit, but keep it whole regardless.
            part.items.extend_from_slice(&bytes[metric.whole.clone()]);
            return Ok(());
        };
        let Kind::Message(kind) = member.kind else {
            part.items.extend_from_slice(&bytes[metric.whole.clone()]);
            self.items += metric.items;
            return Ok(());
        };

        let mut data_header = Vec::new();
        let mut points: Vec<Range<usize>> = Vec::new();
        for content in data {
            wire::walk_fields(self.signal, bytes, kind, content, |f| {
                if f.number == schema::DATA_POINTS {
                    points.push(f.whole);
                } else {
                    data_header.extend_from_slice(&bytes[f.whole]);
                }
            })?;
        }

        let mut rest = points.as_slice();
        while !rest.is_empty() {
            if self.room() == 0 {
                self.next_piece(part);
            }
            let (share, later) = rest.split_at(self.room().min(rest.len()));
            let data_len = data_header.len() + share.iter().map(Range::len).sum::<usize>();
            let mut encoded = Vec::with_capacity(header.len() + data_len + 10);
            encoded.extend_from_slice(&header);
            put_delimited_header(&mut encoded, member.number, data_len);
            encoded.extend_from_slice(&data_header);
            for point in share {
                encoded.extend_from_slice(&bytes[point.clone()]);
            }
            put_delimited_header(&mut part.items, schema::SCOPE_ITEMS, encoded.len());
            part.items.extend_from_slice(&encoded);
            self.items += share.len();
            rest = later;
        }
        Ok(())
    }

    /// Splits `range`, a `message`, into its fields numbered `number` and the bytes of all
    /// other fields, kept in order.
    fn partition(
        &self,
        message: &'static Message,
        range: Range<usize>,
        number: u32,
    ) -> Result<(Vec<u8>, Vec<FieldSpan>), WireError> {
        let bytes = self.bytes;
        let mut others = Vec::new();
        let mut matching = Vec::new();
        wire::walk_fields(self.signal, bytes, message, range, |f| {
            if f.number == number {
                matching.push(f);
            } else {
                others.extend_from_slice(&bytes[f.whole]);
            }
        })?;
        Ok((others, matching))
    }

    fn room(&self) -> usize {
        self.max.saturating_sub(self.items)
    }

    /// Closes the open scope part and the piece, so the scope continues in a new piece.
    fn next_piece(&mut self, part: &mut ScopePart) {
        self.close_part(part, false);
        self.flush();
    }

    /// Writes the open scope part into the piece if it has items (or `force`).
    fn close_part(&mut self, part: &mut ScopePart, force: bool) {
        if part.items.is_empty() && !force {
            return;
        }
        put_delimited_header(
            &mut self.scopes,
            schema::RESOURCE_SCOPES,
            part.header.len() + part.items.len(),
        );
        self.scopes.extend_from_slice(&part.header);
        self.scopes.extend_from_slice(&part.items);
        part.items.clear();
        part.emitted = true;
    }

    /// Emits the piece being built, if it holds anything.
    fn flush(&mut self) {
        if self.scopes.is_empty() {
            return;
        }
        let mut piece = Vec::with_capacity(self.header.len() + self.scopes.len() + 10);
        put_delimited_header(
            &mut piece,
            schema::REQUEST_RESOURCES,
            self.header.len() + self.scopes.len(),
        );
        piece.extend_from_slice(&self.header);
        piece.extend_from_slice(&self.scopes);
        self.pieces.push((Bytes::from(piece), self.items));
        self.scopes.clear();
        self.items = 0;
    }
}

#[cfg(test)]
mod tests;
