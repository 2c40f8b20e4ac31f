//! OTLP/JSON: converts between the JSON encoding of the OTLP export requests and [`Request`].
//!
//! The rules are the OTLP specification's ("JSON Protobuf Encoding"), which is proto3 JSON with
//! OTLP's exceptions:
//! - field names are lowerCamelCase; the original snake_case names are accepted on input;
//! - `traceId` / `spanId` / `parentSpanId` are hex strings, not base64; `bytesValue` is base64;
//! - enums are written as integers; names (`SPAN_KIND_SERVER`) are accepted on input;
//! - 64-bit integers are written as decimal strings; numbers are accepted on input;
//! - `NaN`, `Infinity`, `-Infinity` doubles are strings;
//! - unknown fields are ignored, `null` means "not set".
//!
//! `opentelemetry-proto`'s `with-serde` derive covers only part of this (no snake_case names,
//! no enum names, special doubles only in some fields), so the conversion is written out here
//! over `serde_json::Value`, one function per message. Errors name the path of the bad field.

use std::fmt;

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use serde_json::{Map, Value};

use super::{Request, Signal};

/// OTLP/JSON that cannot be read as a request.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all.
    #[error("invalid OTLP/JSON {signal} request: {source}")]
    Syntax {
        /// The signal expected.
        signal: Signal,
        /// What the JSON parser found.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but a field has the wrong shape.
    #[error("invalid OTLP/JSON {signal} request at `{path}`: {message}")]
    Field {
        /// The signal expected.
        signal: Signal,
        /// Where, e.g. `resourceSpans[0].scopeSpans[1].spans[2].traceId`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The `partial_success` of an `Export*ServiceResponse`, whatever the signal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialSuccess {
    /// Spans, data points or log records the server rejected.
    pub rejected: i64,
    /// Why, in the server's words.
    pub error_message: String,
}

/// Reads an `Export*ServiceRequest` of `signal` from OTLP/JSON.
pub fn decode_json(signal: Signal, bytes: &[u8]) -> Result<Request, JsonError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| JsonError::Syntax { signal, source })?;
    let located = |fail: Fail| fail.into_error(signal);
    let root = object(&value).map_err(located)?;
    Ok(match signal {
        Signal::Traces => Request::Traces(ExportTraceServiceRequest {
            resource_spans: root
                .list("resourceSpans", "resource_spans", resource_spans)
                .map_err(located)?,
        }),
        Signal::Metrics => Request::Metrics(ExportMetricsServiceRequest {
            resource_metrics: root
                .list("resourceMetrics", "resource_metrics", resource_metrics)
                .map_err(located)?,
        }),
        Signal::Logs => Request::Logs(ExportLogsServiceRequest {
            resource_logs: root
                .list("resourceLogs", "resource_logs", resource_logs)
                .map_err(located)?,
        }),
    })
}

/// Writes a request as OTLP/JSON (lowerCamelCase, default values left out).
pub fn encode_json(request: &Request) -> Vec<u8> {
    let mut out = Out::default();
    match request {
        Request::Traces(r) => out.list("resourceSpans", &r.resource_spans, resource_spans_json),
        Request::Metrics(r) => out.list(
            "resourceMetrics",
            &r.resource_metrics,
            resource_metrics_json,
        ),
        Request::Logs(r) => out.list("resourceLogs", &r.resource_logs, resource_logs_json),
    }
    out.into_bytes()
}

/// Writes an `Export*ServiceResponse` of `signal` as OTLP/JSON: `{}` when everything was
/// accepted, with `partialSuccess` otherwise.
pub fn encode_response_json(signal: Signal, partial: Option<&PartialSuccess>) -> Vec<u8> {
    let mut out = Out::default();
    if let Some(partial) = partial {
        let mut inner = Out::default();
        inner.i64(rejected_field(signal).0, partial.rejected);
        inner.str("errorMessage", &partial.error_message);
        // Present even when empty: its presence is what tells the client about partial success.
        out.0.insert("partialSuccess".into(), inner.into_value());
    }
    out.into_bytes()
}

/// Reads an `Export*ServiceResponse` of `signal` from OTLP/JSON; `None` when it has no
/// `partialSuccess`.
pub fn decode_response_json(
    signal: Signal,
    bytes: &[u8],
) -> Result<Option<PartialSuccess>, JsonError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| JsonError::Syntax { signal, source })?;
    let read = || -> R<Option<PartialSuccess>> {
        let root = object(&value)?;
        root.message("partialSuccess", "partial_success", |v| {
            let o = object(v)?;
            let (camel, snake) = rejected_field(signal);
            Ok(PartialSuccess {
                rejected: o.i64(camel, snake)?,
                error_message: o.string("errorMessage", "error_message")?,
            })
        })
    };
    read().map_err(|fail| fail.into_error(signal))
}

fn rejected_field(signal: Signal) -> (&'static str, &'static str) {
    match signal {
        Signal::Traces => ("rejectedSpans", "rejected_spans"),
        Signal::Metrics => ("rejectedDataPoints", "rejected_data_points"),
        Signal::Logs => ("rejectedLogRecords", "rejected_log_records"),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// A field error on its way up; each level adds its segment so the path is built only on error.
#[derive(Debug)]
struct Fail {
    /// Innermost first.
    path: Vec<Segment>,
    message: String,
}

#[derive(Debug)]
enum Segment {
    Field(&'static str),
    Index(usize),
}

impl Fail {
    fn new(message: impl Into<String>) -> Fail {
        Fail {
            path: Vec::new(),
            message: message.into(),
        }
    }

    fn into_error(self, signal: Signal) -> JsonError {
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Field(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        if path.is_empty() {
            path.push('$');
        }
        JsonError::Field {
            signal,
            path,
            message: self.message,
        }
    }
}

type R<T> = Result<T, Fail>;

trait At<T> {
    fn at(self, segment: Segment) -> R<T>;
}

impl<T> At<T> for R<T> {
    fn at(self, segment: Segment) -> R<T> {
        self.map_err(|mut fail| {
            fail.path.push(segment);
            fail
        })
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected<T>(what: &str, got: &Value) -> R<T> {
    Err(Fail::new(format!(
        "expected {what}, found {}",
        kind_of(got)
    )))
}

/// A JSON object seen as a protobuf message: fields looked up by JSON name, then proto name.
#[derive(Clone, Copy)]
struct Obj<'a>(&'a Map<String, Value>);

fn object(v: &Value) -> R<Obj<'_>> {
    match v {
        Value::Object(map) => Ok(Obj(map)),
        other => expected("an object", other),
    }
}

impl<'a> Obj<'a> {
    /// The field's value; `null` counts as absent, as proto3 JSON says.
    fn get(self, camel: &'static str, snake: &'static str) -> Option<&'a Value> {
        self.0
            .get(camel)
            .filter(|v| !v.is_null())
            .or_else(|| self.0.get(snake).filter(|v| !v.is_null()))
    }

    fn scalar<T: Default>(
        self,
        camel: &'static str,
        snake: &'static str,
        read: fn(&Value) -> R<T>,
    ) -> R<T> {
        match self.get(camel, snake) {
            Some(v) => read(v).at(Segment::Field(camel)),
            None => Ok(T::default()),
        }
    }

    fn string(self, camel: &'static str, snake: &'static str) -> R<String> {
        self.scalar(camel, snake, read_string)
    }

    fn bool(self, camel: &'static str, snake: &'static str) -> R<bool> {
        self.scalar(camel, snake, read_bool)
    }

    fn u64(self, camel: &'static str, snake: &'static str) -> R<u64> {
        self.scalar(camel, snake, read_u64)
    }

    fn i64(self, camel: &'static str, snake: &'static str) -> R<i64> {
        self.scalar(camel, snake, read_i64)
    }

    fn u32(self, camel: &'static str, snake: &'static str) -> R<u32> {
        self.scalar(camel, snake, read_u32)
    }

    fn i32(self, camel: &'static str, snake: &'static str) -> R<i32> {
        self.scalar(camel, snake, read_i32)
    }

    fn f64(self, camel: &'static str, snake: &'static str) -> R<f64> {
        self.scalar(camel, snake, read_f64)
    }

    fn opt_f64(self, camel: &'static str, snake: &'static str) -> R<Option<f64>> {
        self.message(camel, snake, read_f64)
    }

    /// A trace or span id: hex of exactly `len` bytes, or empty.
    fn id(self, camel: &'static str, snake: &'static str, len: usize) -> R<Vec<u8>> {
        match self.get(camel, snake) {
            Some(v) => read_hex_id(v, len).at(Segment::Field(camel)),
            None => Ok(Vec::new()),
        }
    }

    /// An enum field: its number, or its name as the .proto spells it.
    fn enumeration(
        self,
        camel: &'static str,
        snake: &'static str,
        from_name: fn(&str) -> Option<i32>,
    ) -> R<i32> {
        let Some(v) = self.get(camel, snake) else {
            return Ok(0);
        };
        let read = || match v {
            Value::String(name) => {
                from_name(name).ok_or_else(|| Fail::new(format!("unknown enum value `{name}`")))
            }
            other => read_i32(other),
        };
        read().at(Segment::Field(camel))
    }

    fn message<T>(
        self,
        camel: &'static str,
        snake: &'static str,
        read: impl FnOnce(&Value) -> R<T>,
    ) -> R<Option<T>> {
        match self.get(camel, snake) {
            Some(v) => read(v).map(Some).at(Segment::Field(camel)),
            None => Ok(None),
        }
    }

    fn list<T>(
        self,
        camel: &'static str,
        snake: &'static str,
        read: impl Fn(&Value) -> R<T>,
    ) -> R<Vec<T>> {
        let Some(v) = self.get(camel, snake) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = v else {
            return expected("an array", v).at(Segment::Field(camel));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| read(item).at(Segment::Index(i)))
            .collect::<R<Vec<T>>>()
            .at(Segment::Field(camel))
    }
}

fn read_string(v: &Value) -> R<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => expected("a string", other),
    }
}

fn read_bool(v: &Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => expected("a boolean", other),
    }
}

/// An integer given as a JSON number (possibly written `1e3` or `5.0`) or a decimal string.
fn read_integer<T: TryFrom<i128>>(v: &Value, what: &str) -> R<T> {
    let wide: Option<i128> = match v {
        Value::Number(n) => n
            .as_u64()
            .map(i128::from)
            .or_else(|| n.as_i64().map(i128::from))
            .or_else(|| n.as_f64().and_then(integral_f64)),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        other => return expected(what, other),
    };
    wide.and_then(|w| T::try_from(w).ok())
        .ok_or_else(|| Fail::new(format!("expected {what}, found `{}`", short(v))))
}

fn integral_f64(f: f64) -> Option<i128> {
    // Beyond 2^64 an f64 cannot be an exact protobuf integer anyway.
    (f.fract() == 0.0 && f.abs() <= 1.8446744073709552e19).then_some(f as i128)
}

fn short(v: &Value) -> String {
    let mut text = v.to_string();
    if text.len() > 40 {
        let mut cut = 40;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn read_u64(v: &Value) -> R<u64> {
    read_integer(v, "an unsigned 64-bit integer")
}

fn read_i64(v: &Value) -> R<i64> {
    read_integer(v, "a 64-bit integer")
}

fn read_u32(v: &Value) -> R<u32> {
    read_integer(v, "an unsigned 32-bit integer")
}

fn read_i32(v: &Value) -> R<i32> {
    read_integer(v, "a 32-bit integer")
}

fn read_f64(v: &Value) -> R<f64> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| Fail::new("number out of range")),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            // proto3 JSON also allows a double as a string; Rust's parser alone would accept
            // `inf` and `nan`, which proto3 does not.
            text if text
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
            {
                text.parse()
                    .map_err(|_| Fail::new(format!("expected a number, found `{}`", short(v))))
            }
            _ => Err(Fail::new(format!(
                "expected a number, found `{}`",
                short(v)
            ))),
        },
        other => expected("a number or \"NaN\" / \"Infinity\" / \"-Infinity\"", other),
    }
}

fn read_hex_id(v: &Value, len: usize) -> R<Vec<u8>> {
    let Value::String(text) = v else {
        return expected("a hex string", v);
    };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text.len() != len * 2 {
        return Err(Fail::new(format!(
            "expected {} hex digits ({len} bytes), found {} characters",
            len * 2,
            text.len()
        )));
    }
    hex_decode(text).ok_or_else(|| Fail::new(format!("`{}` is not hex", short(v))))
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

fn read_base64(v: &Value) -> R<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let Value::String(text) = v else {
        return expected("a base64 string", v);
    };
    // proto3 JSON accepts the standard and the URL-safe alphabet, padded or not.
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if text.contains(['-', '_']) {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config)
        .decode(text)
        .map_err(|e| Fail::new(format!("invalid base64: {e}")))
}

fn key_value(v: &Value) -> R<KeyValue> {
    let o = object(v)?;
    Ok(KeyValue {
        key: o.string("key", "key")?,
        value: o.message("value", "value", any_value)?,
        key_strindex: o.i32("keyStrindex", "key_strindex")?,
    })
}

fn any_value(v: &Value) -> R<AnyValue> {
    use any_value::Value as V;
    let o = object(v)?;
    let mut found: Option<(&'static str, V)> = None;
    let mut set = |name: &'static str, value: Option<V>| -> R<()> {
        match (value, &found) {
            (None, _) => Ok(()),
            (Some(_), Some((first, _))) => {
                Err(Fail::new(format!("both `{first}` and `{name}` are set")))
            }
            (Some(value), None) => {
                found = Some((name, value));
                Ok(())
            }
        }
    };
    set(
        "stringValue",
        o.message("stringValue", "string_value", read_string)?
            .map(V::StringValue),
    )?;
    set(
        "boolValue",
        o.message("boolValue", "bool_value", read_bool)?
            .map(V::BoolValue),
    )?;
    set(
        "intValue",
        o.message("intValue", "int_value", read_i64)?
            .map(V::IntValue),
    )?;
    set(
        "doubleValue",
        o.message("doubleValue", "double_value", read_f64)?
            .map(V::DoubleValue),
    )?;
    set(
        "arrayValue",
        o.message("arrayValue", "array_value", array_value)?
            .map(V::ArrayValue),
    )?;
    set(
        "kvlistValue",
        o.message("kvlistValue", "kvlist_value", kvlist_value)?
            .map(V::KvlistValue),
    )?;
    set(
        "bytesValue",
        o.message("bytesValue", "bytes_value", read_base64)?
            .map(V::BytesValue),
    )?;
    set(
        "stringValueStrindex",
        o.message("stringValueStrindex", "string_value_strindex", read_i32)?
            .map(V::StringValueStrindex),
    )?;
    Ok(AnyValue {
        value: found.map(|(_, value)| value),
    })
}

fn array_value(v: &Value) -> R<ArrayValue> {
    Ok(ArrayValue {
        values: object(v)?.list("values", "values", any_value)?,
    })
}

fn kvlist_value(v: &Value) -> R<KeyValueList> {
    Ok(KeyValueList {
        values: object(v)?.list("values", "values", key_value)?,
    })
}

fn attributes(o: Obj<'_>) -> R<Vec<KeyValue>> {
    o.list("attributes", "attributes", key_value)
}

fn resource(v: &Value) -> R<Resource> {
    let o = object(v)?;
    Ok(Resource {
        attributes: attributes(o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        entity_refs: o.list("entityRefs", "entity_refs", entity_ref)?,
    })
}

fn entity_ref(v: &Value) -> R<EntityRef> {
    let o = object(v)?;
    Ok(EntityRef {
        schema_url: o.string("schemaUrl", "schema_url")?,
        r#type: o.string("type", "type")?,
        id_keys: o.list("idKeys", "id_keys", read_string)?,
        description_keys: o.list("descriptionKeys", "description_keys", read_string)?,
    })
}

fn scope(v: &Value) -> R<InstrumentationScope> {
    let o = object(v)?;
    Ok(InstrumentationScope {
        name: o.string("name", "name")?,
        version: o.string("version", "version")?,
        attributes: attributes(o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
    })
}

fn resource_spans(v: &Value) -> R<ResourceSpans> {
    let o = object(v)?;
    Ok(ResourceSpans {
        resource: o.message("resource", "resource", resource)?,
        scope_spans: o.list("scopeSpans", "scope_spans", scope_spans)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn scope_spans(v: &Value) -> R<ScopeSpans> {
    let o = object(v)?;
    Ok(ScopeSpans {
        scope: o.message("scope", "scope", scope)?,
        spans: o.list("spans", "spans", read_span)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn read_span(v: &Value) -> R<Span> {
    let o = object(v)?;
    Ok(Span {
        trace_id: o.id("traceId", "trace_id", 16)?,
        span_id: o.id("spanId", "span_id", 8)?,
        trace_state: o.string("traceState", "trace_state")?,
        parent_span_id: o.id("parentSpanId", "parent_span_id", 8)?,
        flags: o.u32("flags", "flags")?,
        name: o.string("name", "name")?,
        kind: o.enumeration("kind", "kind", |n| {
            span::SpanKind::from_str_name(n).map(|k| k as i32)
        })?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        end_time_unix_nano: o.u64("endTimeUnixNano", "end_time_unix_nano")?,
        attributes: attributes(o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        events: o.list("events", "events", span_event)?,
        dropped_events_count: o.u32("droppedEventsCount", "dropped_events_count")?,
        links: o.list("links", "links", span_link)?,
        dropped_links_count: o.u32("droppedLinksCount", "dropped_links_count")?,
        status: o.message("status", "status", span_status)?,
    })
}

fn span_event(v: &Value) -> R<span::Event> {
    let o = object(v)?;
    Ok(span::Event {
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        name: o.string("name", "name")?,
        attributes: attributes(o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
    })
}

fn span_link(v: &Value) -> R<span::Link> {
    let o = object(v)?;
    Ok(span::Link {
        trace_id: o.id("traceId", "trace_id", 16)?,
        span_id: o.id("spanId", "span_id", 8)?,
        trace_state: o.string("traceState", "trace_state")?,
        attributes: attributes(o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        flags: o.u32("flags", "flags")?,
    })
}

fn span_status(v: &Value) -> R<Status> {
    let o = object(v)?;
    Ok(Status {
        message: o.string("message", "message")?,
        code: o.enumeration("code", "code", |n| {
            status::StatusCode::from_str_name(n).map(|c| c as i32)
        })?,
    })
}

fn resource_logs(v: &Value) -> R<ResourceLogs> {
    let o = object(v)?;
    Ok(ResourceLogs {
        resource: o.message("resource", "resource", resource)?,
        scope_logs: o.list("scopeLogs", "scope_logs", scope_logs)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn scope_logs(v: &Value) -> R<ScopeLogs> {
    let o = object(v)?;
    Ok(ScopeLogs {
        scope: o.message("scope", "scope", scope)?,
        log_records: o.list("logRecords", "log_records", log_record)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn log_record(v: &Value) -> R<LogRecord> {
    let o = object(v)?;
    Ok(LogRecord {
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        observed_time_unix_nano: o.u64("observedTimeUnixNano", "observed_time_unix_nano")?,
        severity_number: o.enumeration("severityNumber", "severity_number", |n| {
            SeverityNumber::from_str_name(n).map(|s| s as i32)
        })?,
        severity_text: o.string("severityText", "severity_text")?,
        body: o.message("body", "body", any_value)?,
        attributes: attributes(o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        flags: o.u32("flags", "flags")?,
        trace_id: o.id("traceId", "trace_id", 16)?,
        span_id: o.id("spanId", "span_id", 8)?,
        event_name: o.string("eventName", "event_name")?,
    })
}

fn resource_metrics(v: &Value) -> R<ResourceMetrics> {
    let o = object(v)?;
    Ok(ResourceMetrics {
        resource: o.message("resource", "resource", resource)?,
        scope_metrics: o.list("scopeMetrics", "scope_metrics", scope_metrics)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn scope_metrics(v: &Value) -> R<ScopeMetrics> {
    let o = object(v)?;
    Ok(ScopeMetrics {
        scope: o.message("scope", "scope", scope)?,
        metrics: o.list("metrics", "metrics", read_metric)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn temporality(o: Obj<'_>) -> R<i32> {
    o.enumeration("aggregationTemporality", "aggregation_temporality", |n| {
        AggregationTemporality::from_str_name(n).map(|t| t as i32)
    })
}

fn read_metric(v: &Value) -> R<Metric> {
    use metric::Data;
    let o = object(v)?;
    let mut data: Option<(&'static str, Data)> = None;
    let mut set = |name: &'static str, value: Option<Data>| -> R<()> {
        match (value, &data) {
            (None, _) => Ok(()),
            (Some(_), Some((first, _))) => {
                Err(Fail::new(format!("both `{first}` and `{name}` are set")))
            }
            (Some(value), None) => {
                data = Some((name, value));
                Ok(())
            }
        }
    };
    let gauge = |v: &Value| -> R<Gauge> {
        Ok(Gauge {
            data_points: object(v)?.list("dataPoints", "data_points", number_point)?,
        })
    };
    let sum = |v: &Value| -> R<Sum> {
        let o = object(v)?;
        Ok(Sum {
            data_points: o.list("dataPoints", "data_points", number_point)?,
            aggregation_temporality: temporality(o)?,
            is_monotonic: o.bool("isMonotonic", "is_monotonic")?,
        })
    };
    let histogram = |v: &Value| -> R<Histogram> {
        let o = object(v)?;
        Ok(Histogram {
            data_points: o.list("dataPoints", "data_points", histogram_point)?,
            aggregation_temporality: temporality(o)?,
        })
    };
    let exponential = |v: &Value| -> R<ExponentialHistogram> {
        let o = object(v)?;
        Ok(ExponentialHistogram {
            data_points: o.list("dataPoints", "data_points", exponential_point)?,
            aggregation_temporality: temporality(o)?,
        })
    };
    let summary = |v: &Value| -> R<Summary> {
        Ok(Summary {
            data_points: object(v)?.list("dataPoints", "data_points", summary_point)?,
        })
    };
    set(
        "gauge",
        o.message("gauge", "gauge", gauge)?.map(Data::Gauge),
    )?;
    set("sum", o.message("sum", "sum", sum)?.map(Data::Sum))?;
    set(
        "histogram",
        o.message("histogram", "histogram", histogram)?
            .map(Data::Histogram),
    )?;
    set(
        "exponentialHistogram",
        o.message("exponentialHistogram", "exponential_histogram", exponential)?
            .map(Data::ExponentialHistogram),
    )?;
    set(
        "summary",
        o.message("summary", "summary", summary)?.map(Data::Summary),
    )?;
    Ok(Metric {
        name: o.string("name", "name")?,
        description: o.string("description", "description")?,
        unit: o.string("unit", "unit")?,
        metadata: o.list("metadata", "metadata", key_value)?,
        data: data.map(|(_, d)| d),
    })
}

/// `asDouble` / `asInt`, shared by number data points and exemplars.
fn number_value(o: Obj<'_>) -> R<Option<NumberValue>> {
    let double = o.message("asDouble", "as_double", read_f64)?;
    let int = o.message("asInt", "as_int", read_i64)?;
    match (double, int) {
        (Some(_), Some(_)) => Err(Fail::new("both `asDouble` and `asInt` are set")),
        (Some(d), None) => Ok(Some(NumberValue::Double(d))),
        (None, Some(i)) => Ok(Some(NumberValue::Int(i))),
        (None, None) => Ok(None),
    }
}

enum NumberValue {
    Double(f64),
    Int(i64),
}

fn number_point(v: &Value) -> R<NumberDataPoint> {
    use number_data_point::Value as V;
    let o = object(v)?;
    Ok(NumberDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        exemplars: o.list("exemplars", "exemplars", read_exemplar)?,
        flags: o.u32("flags", "flags")?,
        value: number_value(o)?.map(|n| match n {
            NumberValue::Double(d) => V::AsDouble(d),
            NumberValue::Int(i) => V::AsInt(i),
        }),
    })
}

fn read_exemplar(v: &Value) -> R<Exemplar> {
    use exemplar::Value as V;
    let o = object(v)?;
    Ok(Exemplar {
        filtered_attributes: o.list("filteredAttributes", "filtered_attributes", key_value)?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        span_id: o.id("spanId", "span_id", 8)?,
        trace_id: o.id("traceId", "trace_id", 16)?,
        value: number_value(o)?.map(|n| match n {
            NumberValue::Double(d) => V::AsDouble(d),
            NumberValue::Int(i) => V::AsInt(i),
        }),
    })
}

fn histogram_point(v: &Value) -> R<HistogramDataPoint> {
    let o = object(v)?;
    Ok(HistogramDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        count: o.u64("count", "count")?,
        sum: o.opt_f64("sum", "sum")?,
        bucket_counts: o.list("bucketCounts", "bucket_counts", read_u64)?,
        explicit_bounds: o.list("explicitBounds", "explicit_bounds", read_f64)?,
        exemplars: o.list("exemplars", "exemplars", read_exemplar)?,
        flags: o.u32("flags", "flags")?,
        min: o.opt_f64("min", "min")?,
        max: o.opt_f64("max", "max")?,
    })
}

fn buckets(v: &Value) -> R<exponential_histogram_data_point::Buckets> {
    let o = object(v)?;
    Ok(exponential_histogram_data_point::Buckets {
        offset: o.i32("offset", "offset")?,
        bucket_counts: o.list("bucketCounts", "bucket_counts", read_u64)?,
    })
}

fn exponential_point(v: &Value) -> R<ExponentialHistogramDataPoint> {
    let o = object(v)?;
    Ok(ExponentialHistogramDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        count: o.u64("count", "count")?,
        sum: o.opt_f64("sum", "sum")?,
        scale: o.i32("scale", "scale")?,
        zero_count: o.u64("zeroCount", "zero_count")?,
        positive: o.message("positive", "positive", buckets)?,
        negative: o.message("negative", "negative", buckets)?,
        flags: o.u32("flags", "flags")?,
        exemplars: o.list("exemplars", "exemplars", read_exemplar)?,
        min: o.opt_f64("min", "min")?,
        max: o.opt_f64("max", "max")?,
        zero_threshold: o.f64("zeroThreshold", "zero_threshold")?,
    })
}

fn summary_point(v: &Value) -> R<SummaryDataPoint> {
    let o = object(v)?;
    let quantile = |v: &Value| -> R<summary_data_point::ValueAtQuantile> {
        let o = object(v)?;
        Ok(summary_data_point::ValueAtQuantile {
            quantile: o.f64("quantile", "quantile")?,
            value: o.f64("value", "value")?,
        })
    };
    Ok(SummaryDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        count: o.u64("count", "count")?,
        sum: o.f64("sum", "sum")?,
        quantile_values: o.list("quantileValues", "quantile_values", quantile)?,
        flags: o.u32("flags", "flags")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// A JSON object under construction; setters leave proto3 default values out.
#[derive(Default)]
struct Out(Map<String, Value>);

impl Out {
    fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        // Serializing a `Value` cannot fail: its keys are strings and it holds no non-finite
        // floats (those are written as strings).
        serde_json::to_vec(&self.0).unwrap_or_default()
    }

    fn put(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_string(), value);
    }

    fn str(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.put(name, Value::String(value.to_string()));
        }
    }

    fn bool(&mut self, name: &str, value: bool) {
        if value {
            self.put(name, Value::Bool(true));
        }
    }

    fn u64(&mut self, name: &str, value: u64) {
        if value != 0 {
            self.put(name, Value::String(value.to_string()));
        }
    }

    fn i64(&mut self, name: &str, value: i64) {
        if value != 0 {
            self.put(name, Value::String(value.to_string()));
        }
    }

    /// 32-bit integers and enums: JSON numbers.
    fn int(&mut self, name: &str, value: impl Into<i64>) {
        let value = value.into();
        if value != 0 {
            self.put(name, Value::from(value));
        }
    }

    fn f64(&mut self, name: &str, value: f64) {
        if value != 0.0 || value.is_sign_negative() || value.is_nan() {
            self.put(name, f64_json(value));
        }
    }

    fn opt_f64(&mut self, name: &str, value: Option<f64>) {
        if let Some(value) = value {
            self.put(name, f64_json(value));
        }
    }

    fn id(&mut self, name: &str, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.put(name, Value::String(hex_encode(bytes)));
        }
    }

    fn message<T>(&mut self, name: &str, value: Option<&T>, write: fn(&T) -> Value) {
        if let Some(value) = value {
            self.put(name, write(value));
        }
    }

    fn list<T>(&mut self, name: &str, items: &[T], write: fn(&T) -> Value) {
        if !items.is_empty() {
            self.put(name, Value::Array(items.iter().map(write).collect()));
        }
    }

    fn attributes(&mut self, items: &[KeyValue]) {
        self.list("attributes", items, key_value_json);
    }
}

fn f64_json(value: f64) -> Value {
    if value.is_nan() {
        Value::String("NaN".into())
    } else if value == f64::INFINITY {
        Value::String("Infinity".into())
    } else if value == f64::NEG_INFINITY {
        Value::String("-Infinity".into())
    } else {
        Value::from(value)
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    text
}

fn key_value_json(kv: &KeyValue) -> Value {
    let mut out = Out::default();
    // `key` is written even when empty: an attribute without it would read as malformed.
    out.put("key", Value::String(kv.key.clone()));
    out.message("value", kv.value.as_ref(), any_value_json);
    out.int("keyStrindex", kv.key_strindex);
    out.into_value()
}

fn any_value_json(v: &AnyValue) -> Value {
    use any_value::Value as V;
    let mut out = Out::default();
    // A oneof member is written even when it holds its default: `{"stringValue": ""}` is not `{}`.
    match &v.value {
        Some(V::StringValue(s)) => out.put("stringValue", Value::String(s.clone())),
        Some(V::BoolValue(b)) => out.put("boolValue", Value::Bool(*b)),
        Some(V::IntValue(i)) => out.put("intValue", Value::String(i.to_string())),
        Some(V::DoubleValue(d)) => out.put("doubleValue", f64_json(*d)),
        Some(V::ArrayValue(a)) => {
            let mut inner = Out::default();
            inner.list("values", &a.values, any_value_json);
            out.put("arrayValue", inner.into_value());
        }
        Some(V::KvlistValue(kv)) => {
            let mut inner = Out::default();
            inner.list("values", &kv.values, key_value_json);
            out.put("kvlistValue", inner.into_value());
        }
        Some(V::BytesValue(b)) => out.put(
            "bytesValue",
            Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
        Some(V::StringValueStrindex(i)) => out.put("stringValueStrindex", Value::from(*i)),
        None => {}
    }
    out.into_value()
}

fn resource_json(r: &Resource) -> Value {
    let mut out = Out::default();
    out.attributes(&r.attributes);
    out.int("droppedAttributesCount", r.dropped_attributes_count);
    out.list("entityRefs", &r.entity_refs, |e| {
        let mut out = Out::default();
        out.str("schemaUrl", &e.schema_url);
        out.str("type", &e.r#type);
        out.list("idKeys", &e.id_keys, |k| Value::String(k.clone()));
        out.list("descriptionKeys", &e.description_keys, |k| {
            Value::String(k.clone())
        });
        out.into_value()
    });
    out.into_value()
}

fn scope_json(s: &InstrumentationScope) -> Value {
    let mut out = Out::default();
    out.str("name", &s.name);
    out.str("version", &s.version);
    out.attributes(&s.attributes);
    out.int("droppedAttributesCount", s.dropped_attributes_count);
    out.into_value()
}

fn resource_spans_json(rs: &ResourceSpans) -> Value {
    let mut out = Out::default();
    out.message("resource", rs.resource.as_ref(), resource_json);
    out.list("scopeSpans", &rs.scope_spans, |ss| {
        let mut out = Out::default();
        out.message("scope", ss.scope.as_ref(), scope_json);
        out.list("spans", &ss.spans, span_json);
        out.str("schemaUrl", &ss.schema_url);
        out.into_value()
    });
    out.str("schemaUrl", &rs.schema_url);
    out.into_value()
}

fn span_json(s: &Span) -> Value {
    let mut out = Out::default();
    out.id("traceId", &s.trace_id);
    out.id("spanId", &s.span_id);
    out.str("traceState", &s.trace_state);
    out.id("parentSpanId", &s.parent_span_id);
    out.int("flags", s.flags);
    out.str("name", &s.name);
    out.int("kind", s.kind);
    out.u64("startTimeUnixNano", s.start_time_unix_nano);
    out.u64("endTimeUnixNano", s.end_time_unix_nano);
    out.attributes(&s.attributes);
    out.int("droppedAttributesCount", s.dropped_attributes_count);
    out.list("events", &s.events, |e| {
        let mut out = Out::default();
        out.u64("timeUnixNano", e.time_unix_nano);
        out.str("name", &e.name);
        out.attributes(&e.attributes);
        out.int("droppedAttributesCount", e.dropped_attributes_count);
        out.into_value()
    });
    out.int("droppedEventsCount", s.dropped_events_count);
    out.list("links", &s.links, |l| {
        let mut out = Out::default();
        out.id("traceId", &l.trace_id);
        out.id("spanId", &l.span_id);
        out.str("traceState", &l.trace_state);
        out.attributes(&l.attributes);
        out.int("droppedAttributesCount", l.dropped_attributes_count);
        out.int("flags", l.flags);
        out.into_value()
    });
    out.int("droppedLinksCount", s.dropped_links_count);
    out.message("status", s.status.as_ref(), |st| {
        let mut out = Out::default();
        out.str("message", &st.message);
        out.int("code", st.code);
        out.into_value()
    });
    out.into_value()
}

fn resource_logs_json(rl: &ResourceLogs) -> Value {
    let mut out = Out::default();
    out.message("resource", rl.resource.as_ref(), resource_json);
    out.list("scopeLogs", &rl.scope_logs, |sl| {
        let mut out = Out::default();
        out.message("scope", sl.scope.as_ref(), scope_json);
        out.list("logRecords", &sl.log_records, log_record_json);
        out.str("schemaUrl", &sl.schema_url);
        out.into_value()
    });
    out.str("schemaUrl", &rl.schema_url);
    out.into_value()
}

fn log_record_json(l: &LogRecord) -> Value {
    let mut out = Out::default();
    out.u64("timeUnixNano", l.time_unix_nano);
    out.u64("observedTimeUnixNano", l.observed_time_unix_nano);
    out.int("severityNumber", l.severity_number);
    out.str("severityText", &l.severity_text);
    out.message("body", l.body.as_ref(), any_value_json);
    out.attributes(&l.attributes);
    out.int("droppedAttributesCount", l.dropped_attributes_count);
    out.int("flags", l.flags);
    out.id("traceId", &l.trace_id);
    out.id("spanId", &l.span_id);
    out.str("eventName", &l.event_name);
    out.into_value()
}

fn resource_metrics_json(rm: &ResourceMetrics) -> Value {
    let mut out = Out::default();
    out.message("resource", rm.resource.as_ref(), resource_json);
    out.list("scopeMetrics", &rm.scope_metrics, |sm| {
        let mut out = Out::default();
        out.message("scope", sm.scope.as_ref(), scope_json);
        out.list("metrics", &sm.metrics, metric_json);
        out.str("schemaUrl", &sm.schema_url);
        out.into_value()
    });
    out.str("schemaUrl", &rm.schema_url);
    out.into_value()
}

fn metric_json(m: &Metric) -> Value {
    use metric::Data;
    let mut out = Out::default();
    out.str("name", &m.name);
    out.str("description", &m.description);
    out.str("unit", &m.unit);
    out.list("metadata", &m.metadata, key_value_json);
    let (name, data) = match &m.data {
        None => return out.into_value(),
        Some(Data::Gauge(g)) => {
            let mut inner = Out::default();
            inner.list("dataPoints", &g.data_points, number_point_json);
            ("gauge", inner)
        }
        Some(Data::Sum(s)) => {
            let mut inner = Out::default();
            inner.list("dataPoints", &s.data_points, number_point_json);
            inner.int("aggregationTemporality", s.aggregation_temporality);
            inner.bool("isMonotonic", s.is_monotonic);
            ("sum", inner)
        }
        Some(Data::Histogram(h)) => {
            let mut inner = Out::default();
            inner.list("dataPoints", &h.data_points, histogram_point_json);
            inner.int("aggregationTemporality", h.aggregation_temporality);
            ("histogram", inner)
        }
        Some(Data::ExponentialHistogram(h)) => {
            let mut inner = Out::default();
            inner.list("dataPoints", &h.data_points, exponential_point_json);
            inner.int("aggregationTemporality", h.aggregation_temporality);
            ("exponentialHistogram", inner)
        }
        Some(Data::Summary(s)) => {
            let mut inner = Out::default();
            inner.list("dataPoints", &s.data_points, summary_point_json);
            ("summary", inner)
        }
    };
    out.put(name, data.into_value());
    out.into_value()
}

fn number_value_json(out: &mut Out, value: Option<NumberValue>) {
    match value {
        Some(NumberValue::Double(d)) => out.put("asDouble", f64_json(d)),
        Some(NumberValue::Int(i)) => out.put("asInt", Value::String(i.to_string())),
        None => {}
    }
}

fn number_point_json(p: &NumberDataPoint) -> Value {
    use number_data_point::Value as V;
    let mut out = Out::default();
    out.attributes(&p.attributes);
    out.u64("startTimeUnixNano", p.start_time_unix_nano);
    out.u64("timeUnixNano", p.time_unix_nano);
    number_value_json(
        &mut out,
        p.value.map(|v| match v {
            V::AsDouble(d) => NumberValue::Double(d),
            V::AsInt(i) => NumberValue::Int(i),
        }),
    );
    out.list("exemplars", &p.exemplars, exemplar_json);
    out.int("flags", p.flags);
    out.into_value()
}

fn exemplar_json(e: &Exemplar) -> Value {
    use exemplar::Value as V;
    let mut out = Out::default();
    out.list("filteredAttributes", &e.filtered_attributes, key_value_json);
    out.u64("timeUnixNano", e.time_unix_nano);
    number_value_json(
        &mut out,
        e.value.map(|v| match v {
            V::AsDouble(d) => NumberValue::Double(d),
            V::AsInt(i) => NumberValue::Int(i),
        }),
    );
    out.id("spanId", &e.span_id);
    out.id("traceId", &e.trace_id);
    out.into_value()
}

fn u64_list(values: &[u64]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| Value::String(v.to_string()))
            .collect(),
    )
}

fn histogram_point_json(p: &HistogramDataPoint) -> Value {
    let mut out = Out::default();
    out.attributes(&p.attributes);
    out.u64("startTimeUnixNano", p.start_time_unix_nano);
    out.u64("timeUnixNano", p.time_unix_nano);
    out.u64("count", p.count);
    out.opt_f64("sum", p.sum);
    if !p.bucket_counts.is_empty() {
        out.put("bucketCounts", u64_list(&p.bucket_counts));
    }
    if !p.explicit_bounds.is_empty() {
        out.put(
            "explicitBounds",
            Value::Array(p.explicit_bounds.iter().copied().map(f64_json).collect()),
        );
    }
    out.list("exemplars", &p.exemplars, exemplar_json);
    out.int("flags", p.flags);
    out.opt_f64("min", p.min);
    out.opt_f64("max", p.max);
    out.into_value()
}

fn buckets_json(b: &exponential_histogram_data_point::Buckets) -> Value {
    let mut out = Out::default();
    out.int("offset", b.offset);
    if !b.bucket_counts.is_empty() {
        out.put("bucketCounts", u64_list(&b.bucket_counts));
    }
    out.into_value()
}

fn exponential_point_json(p: &ExponentialHistogramDataPoint) -> Value {
    let mut out = Out::default();
    out.attributes(&p.attributes);
    out.u64("startTimeUnixNano", p.start_time_unix_nano);
    out.u64("timeUnixNano", p.time_unix_nano);
    out.u64("count", p.count);
    out.opt_f64("sum", p.sum);
    out.int("scale", p.scale);
    out.u64("zeroCount", p.zero_count);
    out.message("positive", p.positive.as_ref(), buckets_json);
    out.message("negative", p.negative.as_ref(), buckets_json);
    out.int("flags", p.flags);
    out.list("exemplars", &p.exemplars, exemplar_json);
    out.opt_f64("min", p.min);
    out.opt_f64("max", p.max);
    out.f64("zeroThreshold", p.zero_threshold);
    out.into_value()
}

fn summary_point_json(p: &SummaryDataPoint) -> Value {
    let mut out = Out::default();
    out.attributes(&p.attributes);
    out.u64("startTimeUnixNano", p.start_time_unix_nano);
    out.u64("timeUnixNano", p.time_unix_nano);
    out.u64("count", p.count);
    out.f64("sum", p.sum);
    out.list("quantileValues", &p.quantile_values, |q| {
        let mut out = Out::default();
        out.f64("quantile", q.quantile);
        out.f64("value", q.value);
        out.into_value()
    });
    out.int("flags", p.flags);
    out.into_value()
}

impl fmt::Display for PartialSuccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rejected: {}", self.rejected, self.error_message)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;

    use super::*;

    /// The trace example of the OTLP specification, with events, links, status and an attribute
    /// of every `AnyValue` kind added.
    const TRACES: &str = r#"{
      "resourceSpans": [{
        "resource": {
          "attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}],
          "droppedAttributesCount": 1
        },
        "scopeSpans": [{
          "scope": {
            "name": "my.library", "version": "1.0.0",
            "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]
          },
          "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "parentSpanId": "EEE19B7EC3C1B173",
            "traceState": "k=v",
            "flags": 257,
            "name": "I'm a server span",
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "kind": 2,
            "attributes": [
              {"key": "string", "value": {"stringValue": "some value"}},
              {"key": "bool", "value": {"boolValue": true}},
              {"key": "int", "value": {"intValue": "-9007199254740993"}},
              {"key": "double", "value": {"doubleValue": 1.5}},
              {"key": "nan", "value": {"doubleValue": "NaN"}},
              {"key": "inf", "value": {"doubleValue": "-Infinity"}},
              {"key": "bytes", "value": {"bytesValue": "aGVsbG8="}},
              {"key": "array", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 7}]}}},
              {"key": "kvlist", "value": {"kvlistValue": {"values": [{"key": "inner", "value": {"boolValue": false}}]}}},
              {"key": "empty", "value": {}}
            ],
            "events": [{"timeUnixNano": "1544712660500000000", "name": "ev", "droppedAttributesCount": 2}],
            "droppedEventsCount": 3,
            "links": [{"traceId": "00000000000000000000000000000001", "spanId": "0000000000000002", "traceState": "a=b", "flags": 1}],
            "droppedLinksCount": 4,
            "status": {"message": "oops", "code": 2}
          }]
        }],
        "schemaUrl": "https://opentelemetry.io/schemas/1.26.0"
      }]
    }"#;

    const METRICS: &str = r#"{
      "resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeMetrics": [{
          "scope": {"name": "my.library", "version": "1.0.0"},
          "metrics": [
            {
              "name": "my.counter", "unit": "1", "description": "I am a Counter",
              "sum": {
                "aggregationTemporality": 1, "isMonotonic": true,
                "dataPoints": [{
                  "asDouble": 5, "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                  "attributes": [{"key": "my.counter.attr", "value": {"stringValue": "some value"}}],
                  "exemplars": [{
                    "timeUnixNano": "1544712660300000001", "asInt": "3",
                    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                    "filteredAttributes": [{"key": "x", "value": {"stringValue": "y"}}]
                  }]
                }]
              }
            },
            {
              "name": "my.gauge", "unit": "1",
              "gauge": {"dataPoints": [{"asInt": "-10", "timeUnixNano": "1544712660300000000", "flags": 1}]}
            },
            {
              "name": "my.histogram", "unit": "1",
              "histogram": {
                "aggregationTemporality": 1,
                "dataPoints": [{
                  "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                  "count": "2", "sum": 2, "bucketCounts": ["1", 1], "explicitBounds": [1, "Infinity"],
                  "min": 0, "max": 2,
                  "exemplars": [{"asDouble": 1.5, "timeUnixNano": "1"}]
                }]
              }
            },
            {
              "name": "my.exponential.histogram",
              "exponentialHistogram": {
                "aggregationTemporality": 2,
                "dataPoints": [{
                  "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                  "count": "3", "sum": 10, "scale": -1, "zeroCount": "1", "zeroThreshold": 0.001,
                  "positive": {"offset": -2, "bucketCounts": ["0", "2"]},
                  "negative": {"offset": 1, "bucketCounts": []},
                  "min": 0, "max": 5
                }]
              }
            },
            {
              "name": "my.summary",
              "summary": {
                "dataPoints": [{
                  "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                  "count": "4", "sum": 12.5,
                  "quantileValues": [{"quantile": 0.5, "value": 3}, {"quantile": 1, "value": "NaN"}]
                }]
              }
            }
          ]
        }]
      }]
    }"#;

    const LOGS: &str = r#"{
      "resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeLogs": [{
          "scope": {"name": "my.library", "version": "1.0.0"},
          "logRecords": [{
            "timeUnixNano": "1544712660300000000",
            "observedTimeUnixNano": "1544712660300000000",
            "severityNumber": 10,
            "severityText": "Information",
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "flags": 1,
            "eventName": "my.event",
            "body": {"stringValue": "Example log record"},
            "attributes": [{"key": "bytes", "value": {"bytesValue": "3q2+7w=="}}]
          }]
        }]
      }]
    }"#;

    fn traces(json: &str) -> ExportTraceServiceRequest {
        match decode_json(Signal::Traces, json.as_bytes()).unwrap() {
            Request::Traces(r) => r,
            other => panic!("not traces: {other:?}"),
        }
    }

    fn metrics(json: &str) -> ExportMetricsServiceRequest {
        match decode_json(Signal::Metrics, json.as_bytes()).unwrap() {
            Request::Metrics(r) => r,
            other => panic!("not metrics: {other:?}"),
        }
    }

    fn logs(json: &str) -> ExportLogsServiceRequest {
        match decode_json(Signal::Logs, json.as_bytes()).unwrap() {
            Request::Logs(r) => r,
            other => panic!("not logs: {other:?}"),
        }
    }

    fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> &'a V {
        let kv = attrs
            .iter()
            .find(|kv| kv.key == key)
            .unwrap_or_else(|| panic!("no {key}"));
        kv.value
            .as_ref()
            .and_then(|v| v.value.as_ref())
            .unwrap_or_else(|| panic!("{key} empty"))
    }

    fn error_of(signal: Signal, json: &str) -> (String, String) {
        match decode_json(signal, json.as_bytes()) {
            Err(JsonError::Field { path, message, .. }) => (path, message),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn decodes_the_spec_trace_example() {
        let request = traces(TRACES);
        let rs = &request.resource_spans[0];
        assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.26.0");
        let resource = rs.resource.as_ref().unwrap();
        assert_eq!(
            attr(&resource.attributes, "service.name"),
            &V::StringValue("my.service".into())
        );
        assert_eq!(resource.dropped_attributes_count, 1);
        let ss = &rs.scope_spans[0];
        let scope = ss.scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("my.library", "1.0.0")
        );
        let span = &ss.spans[0];
        assert_eq!(
            span.trace_id,
            [
                0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
                0xc6, 0x0c
            ]
        );
        assert_eq!(
            span.span_id,
            [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]
        );
        assert_eq!(
            span.parent_span_id,
            [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73]
        );
        assert_eq!(span.trace_state, "k=v");
        assert_eq!(span.flags, 257);
        assert_eq!(span.kind, span::SpanKind::Server as i32);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.events[0].time_unix_nano, 1_544_712_660_500_000_000);
        assert_eq!(
            (
                span.events[0].name.as_str(),
                span.events[0].dropped_attributes_count
            ),
            ("ev", 2)
        );
        assert_eq!(span.dropped_events_count, 3);
        let link = &span.links[0];
        assert_eq!(link.trace_id[15], 1);
        assert_eq!(link.span_id[7], 2);
        assert_eq!((link.trace_state.as_str(), link.flags), ("a=b", 1));
        assert_eq!(span.dropped_links_count, 4);
        let status = span.status.as_ref().unwrap();
        assert_eq!(
            (status.message.as_str(), status.code),
            ("oops", status::StatusCode::Error as i32)
        );
    }

    #[test]
    fn decodes_every_any_value_kind() {
        let request = traces(TRACES);
        let attrs = &request.resource_spans[0].scope_spans[0].spans[0].attributes;
        assert_eq!(attr(attrs, "string"), &V::StringValue("some value".into()));
        assert_eq!(attr(attrs, "bool"), &V::BoolValue(true));
        assert_eq!(attr(attrs, "int"), &V::IntValue(-9_007_199_254_740_993));
        assert_eq!(attr(attrs, "double"), &V::DoubleValue(1.5));
        assert!(matches!(attr(attrs, "nan"), V::DoubleValue(d) if d.is_nan()));
        assert_eq!(attr(attrs, "inf"), &V::DoubleValue(f64::NEG_INFINITY));
        assert_eq!(attr(attrs, "bytes"), &V::BytesValue(b"hello".to_vec()));
        let V::ArrayValue(array) = attr(attrs, "array") else {
            panic!("array")
        };
        assert_eq!(array.values[0].value, Some(V::StringValue("a".into())));
        assert_eq!(array.values[1].value, Some(V::IntValue(7)));
        let V::KvlistValue(kvlist) = attr(attrs, "kvlist") else {
            panic!("kvlist")
        };
        assert_eq!(kvlist.values[0].key, "inner");
        assert_eq!(
            kvlist.values[0].value.as_ref().unwrap().value,
            Some(V::BoolValue(false))
        );
        let empty = attrs.iter().find(|kv| kv.key == "empty").unwrap();
        assert_eq!(empty.value, Some(AnyValue { value: None }));
    }

    #[test]
    fn decodes_metrics_of_all_five_kinds_with_exemplars() {
        let request = metrics(METRICS);
        let m = &request.resource_metrics[0].scope_metrics[0].metrics;
        assert_eq!(m.len(), 5);

        let Some(Data::Sum(sum)) = &m[0].data else {
            panic!("sum")
        };
        assert_eq!(
            (
                m[0].name.as_str(),
                m[0].unit.as_str(),
                m[0].description.as_str()
            ),
            ("my.counter", "1", "I am a Counter")
        );
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert!(sum.is_monotonic);
        let point = &sum.data_points[0];
        assert_eq!(point.value, Some(number_data_point::Value::AsDouble(5.0)));
        assert_eq!(point.start_time_unix_nano, 1_544_712_660_300_000_000);
        let ex = &point.exemplars[0];
        assert_eq!(ex.value, Some(exemplar::Value::AsInt(3)));
        assert_eq!(ex.time_unix_nano, 1_544_712_660_300_000_001);
        assert_eq!(ex.trace_id.len(), 16);
        assert_eq!(ex.span_id, [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]);
        assert_eq!(
            attr(&ex.filtered_attributes, "x"),
            &V::StringValue("y".into())
        );

        let Some(Data::Gauge(gauge)) = &m[1].data else {
            panic!("gauge")
        };
        assert_eq!(
            gauge.data_points[0].value,
            Some(number_data_point::Value::AsInt(-10))
        );
        assert_eq!(gauge.data_points[0].flags, 1);

        let Some(Data::Histogram(h)) = &m[2].data else {
            panic!("histogram")
        };
        let hp = &h.data_points[0];
        assert_eq!(
            (hp.count, hp.sum, hp.min, hp.max),
            (2, Some(2.0), Some(0.0), Some(2.0))
        );
        assert_eq!(hp.bucket_counts, [1, 1]);
        assert_eq!(hp.explicit_bounds, [1.0, f64::INFINITY]);
        assert_eq!(hp.exemplars[0].value, Some(exemplar::Value::AsDouble(1.5)));

        let Some(Data::ExponentialHistogram(e)) = &m[3].data else {
            panic!("exponential")
        };
        assert_eq!(
            e.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let ep = &e.data_points[0];
        assert_eq!(
            (ep.count, ep.sum, ep.scale, ep.zero_count, ep.zero_threshold),
            (3, Some(10.0), -1, 1, 0.001)
        );
        let positive = ep.positive.as_ref().unwrap();
        assert_eq!(
            (positive.offset, positive.bucket_counts.as_slice()),
            (-2, [0u64, 2].as_slice())
        );
        assert_eq!(ep.negative.as_ref().unwrap().offset, 1);
        assert_eq!((ep.min, ep.max), (Some(0.0), Some(5.0)));

        let Some(Data::Summary(s)) = &m[4].data else {
            panic!("summary")
        };
        let sp = &s.data_points[0];
        assert_eq!((sp.count, sp.sum), (4, 12.5));
        assert_eq!(
            (sp.quantile_values[0].quantile, sp.quantile_values[0].value),
            (0.5, 3.0)
        );
        assert!(sp.quantile_values[1].value.is_nan());
        assert_eq!(Request::Metrics(request.clone()).item_count(), 5);
    }

    #[test]
    fn decodes_logs() {
        let request = logs(LOGS);
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.time_unix_nano, 1_544_712_660_300_000_000);
        assert_eq!(record.observed_time_unix_nano, 1_544_712_660_300_000_000);
        assert_eq!(record.severity_number, SeverityNumber::Info2 as i32);
        assert_eq!(record.severity_text, "Information");
        assert_eq!(record.trace_id.len(), 16);
        assert_eq!(record.span_id.len(), 8);
        assert_eq!((record.flags, record.event_name.as_str()), (1, "my.event"));
        assert_eq!(
            record.body.as_ref().unwrap().value,
            Some(V::StringValue("Example log record".into()))
        );
        assert_eq!(
            attr(&record.attributes, "bytes"),
            &V::BytesValue(vec![0xde, 0xad, 0xbe, 0xef])
        );
    }

    #[test]
    fn accepts_snake_case_names_enum_names_and_numbers() {
        let request = traces(
            r#"{"resource_spans": [{"scope_spans": [{"spans": [{
                "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174",
                "kind": "SPAN_KIND_CLIENT", "start_time_unix_nano": 1544712660000000000,
                "dropped_attributes_count": "2",
                "status": {"code": "STATUS_CODE_OK"},
                "attributes": [{"key": "k", "value": {"int_value": 5, "string_value": null}}]
            }]}]}]}"#,
        );
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.kind, span::SpanKind::Client as i32);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.dropped_attributes_count, 2);
        assert_eq!(
            span.status.as_ref().unwrap().code,
            status::StatusCode::Ok as i32
        );
        assert_eq!(attr(&span.attributes, "k"), &V::IntValue(5));

        let request = logs(
            r#"{"resourceLogs": [{"scopeLogs": [{"log_records": [{"severity_number": "SEVERITY_NUMBER_WARN", "observed_time_unix_nano": "18446744073709551615"}]}]}]}"#,
        );
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(record.observed_time_unix_nano, u64::MAX);

        let request = metrics(
            r#"{"resource_metrics": [{"scope_metrics": [{"metrics": [{"name": "c", "sum": {
                "aggregation_temporality": "AGGREGATION_TEMPORALITY_CUMULATIVE", "is_monotonic": true,
                "data_points": [{"as_int": 42, "time_unix_nano": "7"}]}}]}]}]}"#,
        );
        let Some(Data::Sum(sum)) = &request.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!("sum")
        };
        assert_eq!(sum.aggregation_temporality, 2);
        assert_eq!(
            sum.data_points[0].value,
            Some(number_data_point::Value::AsInt(42))
        );
        assert_eq!(sum.data_points[0].time_unix_nano, 7);
    }

    #[test]
    fn ignores_unknown_fields_and_nulls() {
        let request = traces(
            r#"{"resourceSpans": [{"futureField": {"deep": [1, 2]}, "resource": null,
                "scopeSpans": [{"spans": [{"name": "s", "unknown": 1, "traceId": null, "events": null}]}]}],
                "extra": true}"#,
        );
        let rs = &request.resource_spans[0];
        assert!(rs.resource.is_none());
        let span = &rs.scope_spans[0].spans[0];
        assert_eq!(span.name, "s");
        assert!(span.trace_id.is_empty() && span.events.is_empty());
        assert_eq!(traces("{}"), ExportTraceServiceRequest::default());
        assert_eq!(
            traces(r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": ""}]}]}]}"#)
                .resource_spans[0]
                .scope_spans[0]
                .spans[0]
                .trace_id,
            Vec::<u8>::new()
        );
    }

    #[test]
    fn errors_name_the_path_and_the_problem() {
        let (path, message) = error_of(
            Signal::Traces,
            r#"{"resourceSpans": [{"scopeSpans": [{}, {"spans": [{}, {"traceId": "abc"}]}]}]}"#,
        );
        assert_eq!(path, "resourceSpans[0].scopeSpans[1].spans[1].traceId");
        assert!(message.contains("32 hex digits"), "{message}");

        let (path, message) = error_of(
            Signal::Traces,
            r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "zzzzzzzzzzzzzzzz"}]}]}]}"#,
        );
        assert_eq!(path, "resourceSpans[0].scopeSpans[0].spans[0].spanId");
        assert!(message.contains("not hex"), "{message}");

        let (path, message) = error_of(
            Signal::Traces,
            r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SPAN_KIND_WHATEVER"}]}]}]}"#,
        );
        assert!(path.ends_with("spans[0].kind"), "{path}");
        assert!(message.contains("SPAN_KIND_WHATEVER"), "{message}");

        let (path, message) = error_of(Signal::Logs, r#"{"resourceLogs": {"not": "a list"}}"#);
        assert_eq!(
            (path.as_str(), message.as_str()),
            ("resourceLogs", "expected an array, found an object")
        );

        let (path, message) = error_of(
            Signal::Metrics,
            r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {"dataPoints": [{"timeUnixNano": "-1"}]}}]}]}]}"#,
        );
        assert!(path.ends_with("dataPoints[0].timeUnixNano"), "{path}");
        assert!(message.contains("unsigned 64-bit"), "{message}");

        let (_, message) = error_of(
            Signal::Metrics,
            r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {}, "gauge": {}}]}]}]}"#,
        );
        assert!(message.contains("both"), "{message}");

        let (path, message) = error_of(
            Signal::Traces,
            r#"{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": {"stringValue": "a", "intValue": "1"}}]}}]}"#,
        );
        assert!(path.ends_with("attributes[0].value"), "{path}");
        assert!(message.contains("both"), "{message}");

        let (_, message) = error_of(
            Signal::Logs,
            r#"{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"bytesValue": "!!"}}]}]}]}"#,
        );
        assert!(message.contains("base64"), "{message}");

        let (path, _) = error_of(Signal::Traces, "[1, 2]");
        assert_eq!(path, "$");
        let (_, message) = error_of(
            Signal::Traces,
            r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"flags": 4294967296}]}]}]}"#,
        );
        assert!(message.contains("32-bit"), "{message}");

        let err = decode_json(Signal::Logs, b"{not json").unwrap_err();
        assert!(matches!(
            err,
            JsonError::Syntax {
                signal: Signal::Logs,
                ..
            }
        ));
        assert!(
            err.to_string()
                .starts_with("invalid OTLP/JSON logs request"),
            "{err}"
        );
    }

    #[test]
    fn truncated_or_deeply_nested_input_is_an_error_not_a_panic() {
        for example in [TRACES, METRICS, LOGS] {
            for cut in (0..example.len()).filter(|c| example.is_char_boundary(*c)) {
                for signal in Signal::ALL {
                    let _ = decode_json(signal, &example.as_bytes()[..cut]);
                }
            }
        }
        let deep = format!(
            r#"{{"resourceLogs": [{{"scopeLogs": [{{"logRecords": [{{"body": {}{}}}]}}]}}]}}"#,
            r#"{"arrayValue": {"values": ["#.repeat(5000),
            "]}}".repeat(5000)
        );
        assert!(decode_json(Signal::Logs, deep.as_bytes()).is_err());
    }

    #[test]
    fn encodes_as_the_spec_says() {
        let request = traces(TRACES);
        let json: Value = serde_json::from_slice(&encode_json(&Request::Traces(request))).unwrap();
        let span = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["traceId"], "5b8efff798038103d269b633813fc60c");
        assert_eq!(span["spanId"], "eee19b7ec3c1b174");
        assert_eq!(span["parentSpanId"], "eee19b7ec3c1b173");
        assert_eq!(span["kind"], 2);
        assert_eq!(span["flags"], 257);
        assert_eq!(span["startTimeUnixNano"], "1544712660000000000");
        assert_eq!(
            span["status"],
            serde_json::json!({"message": "oops", "code": 2})
        );
        let attrs = span["attributes"].as_array().unwrap();
        let find = |key: &str| attrs.iter().find(|a| a["key"] == key).unwrap()["value"].clone();
        assert_eq!(
            find("int"),
            serde_json::json!({"intValue": "-9007199254740993"})
        );
        assert_eq!(find("nan"), serde_json::json!({"doubleValue": "NaN"}));
        assert_eq!(find("inf"), serde_json::json!({"doubleValue": "-Infinity"}));
        assert_eq!(find("bytes"), serde_json::json!({"bytesValue": "aGVsbG8="}));
        assert_eq!(find("empty"), serde_json::json!({}));
        assert_eq!(
            find("array"),
            serde_json::json!({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "7"}]}})
        );
        // Default values are left out.
        assert!(span.get("droppedAttributesCount").is_none());
        assert!(
            json["resourceSpans"][0]["resource"]
                .get("entityRefs")
                .is_none()
        );

        let metrics_json: Value =
            serde_json::from_slice(&encode_json(&Request::Metrics(metrics(METRICS)))).unwrap();
        let m = &metrics_json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
        assert_eq!(m[1]["gauge"]["dataPoints"][0]["asInt"], "-10");
        assert_eq!(
            m[2]["histogram"]["dataPoints"][0]["bucketCounts"],
            serde_json::json!(["1", "1"])
        );
        assert_eq!(
            m[2]["histogram"]["dataPoints"][0]["explicitBounds"],
            serde_json::json!([1.0, "Infinity"])
        );
        assert_eq!(m[2]["histogram"]["dataPoints"][0]["min"], 0.0);
        assert_eq!(m[3]["exponentialHistogram"]["dataPoints"][0]["scale"], -1);
        assert_eq!(
            m[3]["exponentialHistogram"]["dataPoints"][0]["zeroCount"],
            "1"
        );
        assert_eq!(m[0]["sum"]["dataPoints"][0]["exemplars"][0]["asInt"], "3");
        assert_eq!(
            m[4]["summary"]["dataPoints"][0]["quantileValues"][1]["value"],
            "NaN"
        );
    }

    #[test]
    fn round_trips_every_signal() {
        for (signal, example) in [
            (Signal::Traces, TRACES),
            (Signal::Metrics, METRICS),
            (Signal::Logs, LOGS),
        ] {
            let first = decode_json(signal, example.as_bytes()).unwrap();
            let encoded = encode_json(&first);
            let second = decode_json(signal, &encoded).unwrap();
            // Compared as protobuf bytes, because NaN != NaN in the structs.
            assert_eq!(
                first.encode_to_bytes(),
                second.encode_to_bytes(),
                "{signal}"
            );
            assert_eq!(encoded, encode_json(&second), "{signal}");
        }
    }

    #[test]
    fn round_trips_structs_with_extreme_values() {
        use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
        let span = Span {
            trace_id: vec![0xff; 16],
            span_id: vec![0x01; 8],
            start_time_unix_nano: u64::MAX,
            kind: SpanKind::Consumer as i32,
            attributes: vec![
                KeyValue {
                    key: "min".into(),
                    value: Some(AnyValue {
                        value: Some(V::IntValue(i64::MIN)),
                    }),
                    key_strindex: 0,
                },
                KeyValue {
                    key: String::new(),
                    value: Some(AnyValue {
                        value: Some(V::StringValue(String::new())),
                    }),
                    key_strindex: 0,
                },
                KeyValue {
                    key: "zero".into(),
                    value: Some(AnyValue {
                        value: Some(V::DoubleValue(-0.0)),
                    }),
                    key_strindex: 0,
                },
                KeyValue {
                    key: "bytes".into(),
                    value: Some(AnyValue {
                        value: Some(V::BytesValue((0..=255).collect())),
                    }),
                    key_strindex: 0,
                },
            ],
            ..Default::default()
        };
        let request = Request::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let back = decode_json(Signal::Traces, &encode_json(&request)).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn accepts_url_safe_and_unpadded_base64() {
        for text in ["+/8=", "+/8", "-_8=", "-_8"] {
            let json = format!(
                r#"{{"resourceLogs": [{{"scopeLogs": [{{"logRecords": [{{"body": {{"bytesValue": "{text}"}}}}]}}]}}]}}"#
            );
            let request = logs(&json);
            let body = request.resource_logs[0].scope_logs[0].log_records[0]
                .body
                .clone()
                .unwrap();
            assert_eq!(body.value, Some(V::BytesValue(vec![0xfb, 0xff])), "{text}");
        }
    }

    #[test]
    fn responses_with_and_without_partial_success() {
        assert_eq!(encode_response_json(Signal::Traces, None), b"{}");
        let partial = PartialSuccess {
            rejected: 3,
            error_message: "filtered".into(),
        };
        let json: Value =
            serde_json::from_slice(&encode_response_json(Signal::Metrics, Some(&partial))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "filtered"}})
        );
        for signal in Signal::ALL {
            let encoded = encode_response_json(signal, Some(&partial));
            assert_eq!(
                decode_response_json(signal, &encoded).unwrap(),
                Some(partial.clone())
            );
        }
        assert_eq!(decode_response_json(Signal::Logs, b"{}").unwrap(), None);
        let numeric = br#"{"partialSuccess": {"rejectedLogRecords": 2}}"#;
        assert_eq!(
            decode_response_json(Signal::Logs, numeric)
                .unwrap()
                .unwrap()
                .rejected,
            2
        );
    }
}
