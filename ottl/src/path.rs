//! [`Path`]: a resolved path, what a [`crate::Record`] is asked to read or write. The field is
//! an enum over every context's paths, so a record matches on it instead of comparing names.

/// A key or index applied to a path: `attributes["k"]`, `body[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A map key.
    Str(String),
    /// A list index.
    Index(i64),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Str(s) => write!(f, "[{s:?}]"),
            Key::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A resolved path: the field, and the keys written after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Which field.
    pub field: Field,
    /// Keys into it, outermost first (`attributes["a"]["b"]` is `[Str("a"), Str("b")]`).
    pub keys: Vec<Key>,
}

/// Every field of every context. The prefix says which record holds it: a span record
/// answers `Resource*`, `Scope*` and `Span*` fields; a span event record also `Event*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Field {
    ResourceAttributes,
    ResourceDroppedAttributesCount,

    ScopeName,
    ScopeVersion,
    ScopeAttributes,
    ScopeDroppedAttributesCount,

    SpanTraceId,
    SpanTraceIdString,
    SpanSpanId,
    SpanSpanIdString,
    SpanParentSpanId,
    SpanParentSpanIdString,
    /// The W3C trace state string; with a key, one of its entries.
    SpanTraceState,
    SpanName,
    SpanKind,
    /// `kind.string`: `Server`, `Client`, ...
    SpanKindString,
    SpanStartTimeUnixNano,
    SpanEndTimeUnixNano,
    SpanStartTime,
    SpanEndTime,
    SpanAttributes,
    SpanDroppedAttributesCount,
    SpanDroppedEventsCount,
    SpanDroppedLinksCount,
    SpanStatusCode,
    SpanStatusMessage,
    SpanFlags,

    EventName,
    EventTimeUnixNano,
    EventTime,
    EventAttributes,
    EventDroppedAttributesCount,
    /// The event's index in its span.
    EventIndex,

    MetricName,
    MetricDescription,
    MetricUnit,
    /// `METRIC_DATA_TYPE_*`
    MetricType,
    MetricAggregationTemporality,
    MetricIsMonotonic,
    MetricMetadata,

    DataPointAttributes,
    DataPointStartTimeUnixNano,
    DataPointTimeUnixNano,
    DataPointStartTime,
    DataPointTime,
    DataPointValueDouble,
    DataPointValueInt,
    DataPointFlags,
    DataPointCount,
    DataPointSum,
    DataPointMin,
    DataPointMax,
    DataPointBucketCounts,
    DataPointExplicitBounds,
    DataPointScale,
    DataPointZeroCount,
    DataPointPositiveOffset,
    DataPointPositiveBucketCounts,
    DataPointNegativeOffset,
    DataPointNegativeBucketCounts,

    LogTimeUnixNano,
    LogObservedTimeUnixNano,
    LogTime,
    LogObservedTime,
    LogSeverityNumber,
    LogSeverityText,
    LogBody,
    /// `body.string`: the body as a string (maps and lists as JSON).
    LogBodyString,
    LogAttributes,
    LogDroppedAttributesCount,
    LogFlags,
    LogTraceId,
    LogTraceIdString,
    LogSpanId,
    LogSpanIdString,
    LogEventName,
}

impl Field {
    /// The context whose record holds this field (`ResourceAttributes`: the resource).
    pub fn context(self) -> crate::Context {
        crate::decoded::owner(self)
    }
}

impl Path {
    /// A path without keys.
    pub fn new(field: Field) -> Self {
        Self {
            field,
            keys: Vec::new(),
        }
    }

    /// A path with keys.
    pub fn with_keys(field: Field, keys: Vec<Key>) -> Self {
        Self { field, keys }
    }
}
