//! The unit that flows through a pipeline: a [`Batch`] of one signal, kept as the OTLP protobuf
//! bytes it arrived as until a processor must look inside (DESIGN.md §2).
//!
//! - [`wire`] walks encoded requests without allocating: validates structure, counts items;
//! - [`split`] splits encoded requests at resource boundaries and concatenates them;
//! - `schema` is the OTLP message schema as tables, read by both;
//! - [`rewrite`] edits item attributes on the encoded bytes, copying what it does not change;
//! - [`select`] leaves records out of the encoded bytes (the filter processor's drop);
//! - [`request`] is the decoded form, used only when someone must read or change content;
//! - [`json`] converts between OTLP/JSON and the decoded form.

pub mod accounting;
pub mod ack;
pub mod json;
mod meta;
#[cfg(test)]
mod props;
mod request;
pub mod rewrite;
mod schema;
pub mod select;
mod signal;
pub mod split;
#[cfg(test)]
pub(crate) mod testgen;
pub mod wire;

use std::sync::Arc;

use bytes::Bytes;

pub use ack::{AckGuard, AckResult};
pub use meta::{BatchMeta, ClientInfo, SENSITIVE_HEADERS, is_sensitive_header};
pub use request::{DecodeError, Request, point_count};
pub use signal::Signal;
pub use wire::WireError;

/// A batch's content: encoded bytes, or decoded structs shared copy-on-write between fan-out
/// branches.
#[derive(Clone, Debug)]
pub enum Payload {
    /// An `Export*ServiceRequest` as protobuf bytes.
    Encoded(Bytes),
    /// The same request decoded into prost structs.
    Decoded(Arc<Request>),
}

/// One OTLP export request of one signal, with what is known about where it came from.
///
/// Cloning is cheap (`Bytes` and `Arc`), so fan-out hands each branch its own clone; a branch
/// that mutates gets a private copy of the decoded request (`Arc::make_mut`).
#[derive(Clone, Debug)]
pub struct Batch {
    signal: Signal,
    payload: Payload,
    /// Item count of the encoded payload, known from the wire walk. A decoded payload is
    /// counted on demand because processors may have changed it.
    encoded_items: usize,
    meta: Arc<BatchMeta>,
    /// This payload's share of the process-wide byte accounting, released with the last clone.
    held: Arc<accounting::Held>,
}

impl Batch {
    /// Takes encoded request bytes after checking their wire structure and counting items.
    pub fn from_encoded(
        signal: Signal,
        bytes: Bytes,
        meta: Arc<BatchMeta>,
    ) -> Result<Self, WireError> {
        let summary = wire::walk(signal, &bytes)?;
        Ok(Self::from_walked(signal, bytes, summary.items, meta))
    }

    /// Takes bytes already walked by the caller (for example, pieces produced by [`split`]).
    pub fn from_walked(signal: Signal, bytes: Bytes, items: usize, meta: Arc<BatchMeta>) -> Self {
        let held = Arc::new(accounting::Held::new(bytes.len()));
        Batch {
            signal,
            payload: Payload::Encoded(bytes),
            encoded_items: items,
            meta,
            held,
        }
    }

    /// Wraps a decoded request (OTLP/JSON input, or data a receiver built itself).
    pub fn from_request(request: Request, meta: Arc<BatchMeta>) -> Self {
        let held = Arc::new(accounting::Held::new(request.encoded_len()));
        Batch {
            signal: request.signal(),
            payload: Payload::Decoded(Arc::new(request)),
            encoded_items: 0,
            meta,
            held,
        }
    }

    /// The signal this batch carries.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Spans, metric data points or log records in the batch.
    pub fn items(&self) -> usize {
        match &self.payload {
            Payload::Encoded(_) => self.encoded_items,
            Payload::Decoded(request) => request.item_count(),
        }
    }

    /// Bytes this batch was accounted for when made (its encoded size then; a decoded batch
    /// changed by a processor keeps the figure until it is encoded again).
    pub fn held_bytes(&self) -> usize {
        self.held.bytes()
    }

    /// Exact size of the batch as protobuf bytes.
    pub fn byte_size(&self) -> usize {
        match &self.payload {
            Payload::Encoded(bytes) => bytes.len(),
            Payload::Decoded(request) => request.encoded_len(),
        }
    }

    /// Where the batch came from.
    pub fn meta(&self) -> &Arc<BatchMeta> {
        &self.meta
    }

    /// The payload as it is now.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Whether the payload is still the bytes that arrived (or were produced by concatenation).
    pub fn is_encoded(&self) -> bool {
        matches!(self.payload, Payload::Encoded(_))
    }

    /// The protobuf bytes: free for an encoded batch, one encode for a decoded one.
    pub fn to_bytes(&self) -> Bytes {
        match &self.payload {
            Payload::Encoded(bytes) => bytes.clone(),
            Payload::Decoded(request) => request.encode_to_bytes(),
        }
    }

    /// The decoded request, decoding the bytes if needed (the batch itself stays as it is).
    pub fn decoded(&self) -> Result<Arc<Request>, DecodeError> {
        match &self.payload {
            Payload::Encoded(bytes) => Ok(Arc::new(Request::decode(self.signal, bytes)?)),
            Payload::Decoded(request) => Ok(request.clone()),
        }
    }

    /// The request for changing it: decoded at most once, private to this batch.
    pub fn decoded_mut(&mut self) -> Result<&mut Request, DecodeError> {
        if let Payload::Encoded(bytes) = &self.payload {
            let request = Request::decode(self.signal, bytes)?;
            self.payload = Payload::Decoded(Arc::new(request));
        }
        match &mut self.payload {
            Payload::Decoded(request) => Ok(Arc::make_mut(request)),
            Payload::Encoded(_) => unreachable!("decoded just above"),
        }
    }

    /// Turns a decoded batch back into bytes (once, on the way out of a mutating stage).
    pub fn into_encoded(self) -> Batch {
        match &self.payload {
            Payload::Encoded(_) => self,
            Payload::Decoded(request) => {
                let items = request.item_count();
                let bytes = request.encode_to_bytes();
                Batch::from_walked(self.signal, bytes, items, self.meta)
            }
        }
    }

    /// The batch an in-place edit made of this one: itself when `rewritten` is `None` (nothing
    /// changed), else the new bytes with the same signal, metadata and `items` (an edit that
    /// drops records says how many are left), accounted anew.
    pub fn rewritten(self, rewritten: Option<Vec<u8>>, items: usize) -> Batch {
        match rewritten {
            None => self,
            Some(out) => Batch::from_walked(self.signal, Bytes::from(out), items, self.meta),
        }
    }

    /// Replaces the metadata (used when batches from several clients are merged).
    pub fn with_meta(mut self, meta: Arc<BatchMeta>) -> Batch {
        self.meta = meta;
        self
    }
}
