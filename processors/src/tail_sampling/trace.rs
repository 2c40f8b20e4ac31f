//! One held trace, and the view of it the policies evaluate.

use tokio::time::Instant;
use weir_core::batch::select::ItemView;

use super::held::{Piece, SpanFacts, TraceId, view};

/// What a policy, or the processor in the end, decided for a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Decision {
    /// Keep it.
    Sampled,
    /// Do not keep it (unless another policy keeps it).
    NotSampled,
    /// Do not keep it, whatever the other policies say (the `drop` policy).
    Dropped,
    /// Keep it: an `invert_match` policy found nothing it refuses.
    InvertSampled,
    /// Do not keep it, whatever the other policies say: an `invert_match` policy found what
    /// it refuses.
    InvertNotSampled,
}

impl Decision {
    /// The `decision` label of otelcol's metrics.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Decision::Sampled | Decision::InvertSampled => "sampled",
            Decision::NotSampled | Decision::InvertNotSampled => "not_sampled",
            Decision::Dropped => "dropped",
        }
    }

    /// Whether it keeps the trace on its own.
    pub(crate) fn samples(self) -> bool {
        matches!(self, Decision::Sampled | Decision::InvertSampled)
    }
}

/// A policy: one decision per trace. `now` is the decision's time (rate limits count by it).
pub(crate) trait Evaluate: Send {
    /// The decision for `trace`, or why it could not be made.
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String>;
}

/// A trace held until its decision.
#[derive(Debug)]
pub(crate) struct Trace {
    pub(crate) pieces: Vec<Piece>,
    pub(crate) spans: usize,
    pub(crate) bytes: usize,
    /// When its first span arrived.
    pub(crate) arrival: Instant,
}

impl Trace {
    pub(crate) fn new(arrival: Instant) -> Trace {
        Trace {
            pieces: Vec::new(),
            spans: 0,
            bytes: 0,
            arrival,
        }
    }

    /// Adds a piece; the bytes it added.
    pub(crate) fn push(&mut self, piece: Piece) -> usize {
        let bytes = piece.bytes();
        self.spans += piece.len();
        self.bytes += bytes;
        self.pieces.push(piece);
        bytes
    }
}

/// What a policy sees of a trace.
#[derive(Clone, Copy)]
pub(crate) struct TraceView<'a> {
    pub(crate) id: &'a TraceId,
    pub(crate) trace: &'a Trace,
}

impl<'a> TraceView<'a> {
    /// Spans held.
    pub(crate) fn span_count(&self) -> usize {
        self.trace.spans
    }

    /// The pieces as they arrived: each one resource and scope with some of the trace's spans
    /// (otelcol's "resource spans" of the batches it received).
    pub(crate) fn pieces(&self) -> &'a [Piece] {
        &self.trace.pieces
    }

    /// The times and status of every span, in arrival order (read while cutting).
    pub(crate) fn facts(&self) -> impl Iterator<Item = SpanFacts> + 'a {
        self.trace.pieces.iter().flat_map(Piece::facts)
    }

    /// Every span, with its resource and scope, in arrival order.
    pub(crate) fn spans(&self) -> impl Iterator<Item = ItemView<'a>> + 'a {
        self.trace
            .pieces
            .iter()
            .flat_map(|piece| piece.spans().map(|span| view(&piece.headers, span)))
    }
}
