//! Reading one traces batch into the series, on the wire: [`select`] shows each span (and,
//! when the events metric is on, each span event) as bytes, keeping everything, and the
//! fields the series need are read there: a span's own fields and its dimensions in one walk
//! over it ([`span_fields_and_attributes`]), the dimensions a span lacks from its resource's
//! values, found once per resource; span events' dimensions by [`find_attribute`]. Spans of a
//! resource without `service.name` are not counted, as in otelcol.

use std::hash::{BuildHasher, Hasher};

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use tokio::time::Instant;
use weir_core::batch::rewrite::{ValueRef, read_value};
use weir_core::batch::select::{ItemKind, ItemView, Selector, select};
use weir_core::batch::{Batch, Signal};
use weir_core::component::ConnectorError;
use weir_processors::value_text::push_value_text;
use weir_processors::wire_record::{
    SpanFields, entry, find_attribute, span_fields, span_fields_and_attributes,
};

use super::config::{SERVICE_NAME, SPAN_KIND, SPAN_NAME, STATUS_CODE};
use super::series::{Kind, Observation, State, key_prefix};

/// `attributes` of a `Resource`, a `Span` and a span `Event`.
const RESOURCE_ATTRIBUTES: u32 = 1;
const SPAN_ATTRIBUTES: u32 = 9;
const EVENT_ATTRIBUTES: u32 = 3;

/// Up to this many dimensions are looked up in a span without allocating.
const INLINE_DIMENSIONS: usize = 16;

/// An added dimension, ready to look up.
pub(super) struct Lookup {
    pub(super) name: String,
    pub(super) default: Option<String>,
}

/// What reading needs from the config.
pub(super) struct Reading {
    /// Which of the default dimensions are kept: service, span name, kind, status.
    pub(super) defaults: [bool; 4],
    pub(super) dimensions: Vec<Lookup>,
    /// The names of `dimensions`, as the span walk takes them.
    pub(super) names: Vec<String>,
    /// `dimensions` then `events.dimensions`, when the events metric is on.
    pub(super) event_dimensions: Option<Vec<Lookup>>,
    /// The resource attributes its key is made of (empty: all).
    pub(super) key_attributes: Vec<String>,
    /// Nanoseconds per unit of the durations.
    pub(super) unit_nanos: f64,
    pub(super) hasher: foldhash::fast::FixedState,
}

/// A dimension's value as found.
#[derive(Clone, Copy)]
enum Found<'a> {
    /// An encoded `AnyValue`.
    Wire(&'a [u8]),
    Default(&'a str),
}

/// The resource being read.
struct Current {
    at: usize,
    /// `None`: no `service.name`, its spans are not counted.
    key: Option<u64>,
    service: String,
}

/// The span whose events are being read.
struct SpanInfo {
    at: usize,
    name: String,
    /// Index into [`SPAN_KINDS`].
    kind: u8,
    /// Index into [`STATUS_CODES`].
    status: u8,
    duration: f64,
    ids: Option<([u8; 16], [u8; 8])>,
}

struct Reader<'r> {
    reading: &'r Reading,
    state: &'r mut State,
    resource: Current,
    span: Option<SpanInfo>,
    /// Per dimension, the text the current resource gives a span without it (its value, else
    /// the default; `None`: left out).
    fallbacks: Vec<Option<String>>,
    values: Vec<u8>,
    /// Scratch for a value as text.
    text: String,
    now: u64,
    instant: Instant,
}

/// `span.kind` by kind, the last for any other (an index into it stands for the text in a
/// series' key).
const SPAN_KINDS: [&str; 7] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
    "",
];

/// `status.code` by code, as [`SPAN_KINDS`].
const STATUS_CODES: [&str; 4] = [
    "STATUS_CODE_UNSET",
    "STATUS_CODE_OK",
    "STATUS_CODE_ERROR",
    "",
];

/// The index of `value` in a table of `len` texts, the last for anything unknown.
fn text_index(value: i32, len: usize) -> u8 {
    usize::try_from(value)
        .ok()
        .filter(|v| *v < len - 1)
        .map_or(len - 1, |v| v) as u8
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

/// The value of `key` in the `KeyValue`s in field `number` of `message`.
fn attribute<'a>(message: &'a [u8], number: u32, key: &str) -> Option<&'a [u8]> {
    find_attribute(message, number, key.as_bytes()).map(|kv| entry(kv).1.unwrap_or(&[]))
}

impl Reader<'_> {
    fn enter_resource(&mut self, resource: &[u8]) {
        let at = resource.as_ptr() as usize;
        if self.resource.at == at {
            return;
        }
        self.span = None;
        let Some(service) = attribute(resource, RESOURCE_ATTRIBUTES, SERVICE_NAME) else {
            self.resource = Current {
                at,
                key: None,
                service: String::new(),
            };
            return;
        };
        let mut text = String::new();
        push_value_text(Some(service), &mut text);
        // The key: the (chosen) attributes sorted by key, so that order does not matter.
        let mut entries: Vec<(&[u8], &[u8])> = Vec::new();
        let decoded = opentelemetry_proto::tonic::resource::v1::Resource::decode(resource)
            .map(|r| r.attributes)
            .unwrap_or_default();
        for kv in &decoded {
            let chosen = self.reading.key_attributes.is_empty()
                || self.reading.key_attributes.contains(&kv.key);
            if chosen && let Some(found) = attribute(resource, RESOURCE_ATTRIBUTES, &kv.key) {
                entries.push((kv.key.as_bytes(), found));
            }
        }
        entries.sort();
        entries.dedup_by(|a, b| a.0 == b.0);
        let mut hasher = self.reading.hasher.build_hasher();
        for (k, v) in &entries {
            hasher.write_usize(k.len());
            hasher.write(k);
            hasher.write_usize(v.len());
            hasher.write(v);
        }
        let key = hasher.finish();
        self.state.touch_resource(key, || decoded, self.instant);
        self.fallbacks.clear();
        for d in &self.reading.dimensions {
            let fallback = match attribute(resource, RESOURCE_ATTRIBUTES, &d.name) {
                Some(v) => {
                    let mut text = String::new();
                    push_value_text(Some(v), &mut text);
                    Some(text)
                }
                None => d.default.clone(),
            };
            self.fallbacks.push(fallback);
        }
        self.resource = Current {
            at,
            key: Some(key),
            service: text,
        };
    }

    /// Writes the key of the series of the span of `info` (or of its `event`) into
    /// `self.values`: the resource and metric, the default dimensions kept, then `dimensions`
    /// looked up, each by its value as text, as otelcol keys series (so a default equal to a
    /// value found is the same series).
    fn write_key(
        &mut self,
        resource: u64,
        kind: Kind,
        dimensions: &[Lookup],
        view: &ItemView<'_>,
        event: Option<&[u8]>,
        info: &SpanInfo,
    ) {
        self.write_key_start(resource, kind, info);
        for d in dimensions {
            match find(d, view, event) {
                Some(Found::Wire(v)) => push_text(&mut self.values, &mut self.text, v),
                Some(Found::Default(v)) => push_part(&mut self.values, 1, v.as_bytes()),
                None => self.values.push(0),
            }
        }
    }

    /// The key's resource and metric and the default dimensions kept.
    fn write_key_start(&mut self, resource: u64, kind: Kind, info: &SpanInfo) {
        key_prefix(resource, kind, &mut self.values);
        // Kind and status by their index: one byte each in every key instead of their text.
        let fixed = [
            self.resource.service.as_bytes(),
            info.name.as_bytes(),
            &[info.kind],
            &[info.status],
        ];
        for (keep, value) in self.reading.defaults.iter().zip(fixed) {
            if *keep {
                push_part(&mut self.values, 1, value);
            }
        }
    }

    /// Counts a span into its series: its dimensions read in the walk that read its fields,
    /// those it lacks taken from the resource's fallbacks; the key is that of
    /// [`Self::write_key`].
    fn count_span(&mut self, view: &ItemView<'_>) {
        let Some(resource) = self.resource.key else {
            return;
        };
        let reading = self.reading;
        let wanted = reading.names.len();
        let mut inline = [None; INLINE_DIMENSIONS];
        let mut spilled = Vec::new();
        let found: &mut [Option<&[u8]>] = if wanted <= INLINE_DIMENSIONS {
            &mut inline[..wanted]
        } else {
            spilled.resize(wanted, None);
            &mut spilled
        };
        let fields = span_fields_and_attributes(view.item, &reading.names, found);
        let info = self.span_info(view, &fields);
        self.write_key_start(resource, Kind::Spans, &info);
        for (found, fallback) in found.iter().zip(&self.fallbacks) {
            match (found, fallback) {
                (Some(value), _) => push_text(&mut self.values, &mut self.text, value),
                (None, Some(text)) => push_part(&mut self.values, 1, text.as_bytes()),
                (None, None) => self.values.push(0),
            }
        }
        self.observe(Kind::Spans, &reading.dimensions, view, None, info);
    }

    /// Counts the span of `info` (or its `event`) into its series.
    fn count(
        &mut self,
        kind: Kind,
        dimensions: &[Lookup],
        view: &ItemView<'_>,
        event: Option<&[u8]>,
        info: SpanInfo,
    ) {
        let Some(resource) = self.resource.key else {
            return;
        };
        self.write_key(resource, kind, dimensions, view, event, &info);
        self.observe(kind, dimensions, view, event, info);
    }

    /// Counts the span of `info` (or its `event`) into the series of the key written.
    fn observe(
        &mut self,
        kind: Kind,
        dimensions: &[Lookup],
        view: &ItemView<'_>,
        event: Option<&[u8]>,
        info: SpanInfo,
    ) {
        let seen = Observation {
            kind,
            key: &self.values,
            duration: info.duration,
            ids: info.ids,
        };
        let (service, defaults) = (self.resource.service.as_str(), &self.reading.defaults);
        // Only a new series needs its attributes: looked up again then.
        let make = || attributes(defaults, service, dimensions, view, event, &info);
        self.state.observe(&seen, make, self.now);
        self.span = Some(info);
    }

    /// What the series need of a span (the previous span's name buffer reused).
    fn span_info(&mut self, view: &ItemView<'_>, fields: &SpanFields<'_>) -> SpanInfo {
        let mut name = self.span.take().map(|s| s.name).unwrap_or_default();
        name.clear();
        name.push_str(fields.name);
        let duration = if fields.end > fields.start {
            (fields.end - fields.start) as f64 / self.reading.unit_nanos
        } else {
            0.0
        };
        let trace_id = <[u8; 16]>::try_from(fields.trace_id).ok();
        let span_id = <[u8; 8]>::try_from(fields.span_id).unwrap_or([0; 8]);
        SpanInfo {
            at: view.item.as_ptr() as usize,
            name,
            kind: text_index(fields.kind, SPAN_KINDS.len()),
            status: text_index(fields.status_code, STATUS_CODES.len()),
            duration,
            ids: trace_id
                .filter(|t| t.iter().any(|b| *b != 0))
                .map(|t| (t, span_id)),
        }
    }
}

/// Dimension `d` of a span (or of its `event`): in the span's attributes, then the event's,
/// then the resource's, then its default.
fn find<'a>(d: &'a Lookup, view: &ItemView<'a>, event: Option<&'a [u8]>) -> Option<Found<'a>> {
    attribute(view.item, SPAN_ATTRIBUTES, &d.name)
        .or_else(|| event.and_then(|e| attribute(e, EVENT_ATTRIBUTES, &d.name)))
        .or_else(|| attribute(view.resource, RESOURCE_ATTRIBUTES, &d.name))
        .map(Found::Wire)
        .or(d.default.as_deref().map(Found::Default))
}

/// A new series' attributes: the default dimensions kept, then those found.
fn attributes(
    defaults: &[bool; 4],
    service: &str,
    dimensions: &[Lookup],
    view: &ItemView<'_>,
    event: Option<&[u8]>,
    info: &SpanInfo,
) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(4 + dimensions.len());
    let fixed = [
        (SERVICE_NAME, service),
        (SPAN_NAME, info.name.as_str()),
        (SPAN_KIND, SPAN_KINDS[usize::from(info.kind)]),
        (STATUS_CODE, STATUS_CODES[usize::from(info.status)]),
    ];
    for (keep, (key, value)) in defaults.iter().zip(fixed) {
        if *keep {
            out.push(string(key, value));
        }
    }
    for d in dimensions {
        match find(d, view, event) {
            Some(Found::Wire(v)) => out.push(KeyValue {
                key: d.name.clone(),
                value: AnyValue::decode(v).ok(),
                ..Default::default()
            }),
            Some(Found::Default(v)) => out.push(string(&d.name, v)),
            None => {}
        }
    }
    out
}

/// The part of a series' identity for the encoded `AnyValue` `value`: its text, as
/// [`push_value_text`] writes it, with strings and ints (nearly every dimension) written
/// without going through a `String`.
fn push_text(values: &mut Vec<u8>, text: &mut String, value: &[u8]) {
    // What SDKs write, one short `string_value` or one small `int_value`, read without the
    // general reader.
    match value {
        [0x0a, len, s @ ..] if *len < 0x80 && usize::from(*len) == s.len() && s.is_ascii() => {
            return push_part(values, 1, s);
        }
        [0x18, low, high] if *low >= 0x80 && *high < 0x80 => {
            let i = i64::from(low & 0x7f) | i64::from(*high) << 7;
            return push_part(values, 1, decimal(i, &mut [0; 20]));
        }
        [0x18, low] if *low < 0x80 => {
            return push_part(values, 1, decimal(i64::from(*low), &mut [0; 20]));
        }
        _ => {}
    }
    match read_value(value) {
        ValueRef::String(s) if s.is_ascii() || std::str::from_utf8(s).is_ok() => {
            push_part(values, 1, s);
        }
        ValueRef::Int(i) => push_part(values, 1, decimal(i, &mut [0; 20])),
        _ => {
            text.clear();
            push_value_text(Some(value), text);
            push_part(values, 1, text.as_bytes());
        }
    }
}

/// `i` in decimal, written at the end of `buffer`.
fn decimal(i: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    let mut rest = i.unsigned_abs();
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if i < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    &buffer[at..]
}

/// One part of a series' identity: a tag, then the length and bytes.
fn push_part(values: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    values.push(tag);
    values.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    values.extend_from_slice(bytes);
}

impl Selector for Reader<'_> {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        if item.kind != ItemKind::Span {
            return true;
        }
        self.enter_resource(item.resource);
        self.count_span(item);
        true
    }

    fn keep_event(&mut self, span: &ItemView<'_>, event: &[u8]) -> bool {
        let reading = self.reading;
        if let (Some(_), Some(dimensions)) = (self.resource.key, &reading.event_dimensions) {
            let info = match self.span.take() {
                Some(info) if info.at == span.item.as_ptr() as usize => info,
                _ => self.span_info(span, &span_fields(span.item)),
            };
            self.count(Kind::Events, dimensions, span, Some(event), info);
        }
        true
    }

    fn selects_events(&self) -> bool {
        self.reading.event_dimensions.is_some()
    }
}

/// Reads every span of `batch` (a traces batch) into `state`.
pub(super) fn aggregate(
    reading: &Reading,
    state: &mut State,
    batch: &Batch,
    now: u64,
    instant: Instant,
) -> Result<(), ConnectorError> {
    let bytes = batch.to_bytes();
    let mut reader = Reader {
        reading,
        state,
        resource: Current {
            at: 0,
            key: None,
            service: String::new(),
        },
        span: None,
        fallbacks: Vec::new(),
        values: Vec::with_capacity(256),
        text: String::new(),
        now,
        instant,
    };
    select(Signal::Traces, &bytes, &mut reader).map_err(|e| ConnectorError(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value::Value};
    use prost::Message;
    use weir_processors::value_text::push_value_text;

    use super::{SPAN_KINDS, STATUS_CODES, push_part, push_text, text_index};

    #[test]
    fn kinds_and_codes_out_of_range_share_the_empty_text() {
        let kind = |k| SPAN_KINDS[usize::from(text_index(k, SPAN_KINDS.len()))];
        assert_eq!(kind(0), "SPAN_KIND_UNSPECIFIED");
        assert_eq!(kind(5), "SPAN_KIND_CONSUMER");
        for k in [6, 7, -1, i32::MAX, i32::MIN] {
            assert_eq!(kind(k), "");
        }
        let code = |c| STATUS_CODES[usize::from(text_index(c, STATUS_CODES.len()))];
        assert_eq!(code(2), "STATUS_CODE_ERROR");
        assert_eq!([code(3), code(-2)], ["", ""]);
    }

    #[test]
    fn a_value_is_keyed_by_the_text_otelcol_gives_it() {
        let mut values: Vec<Vec<u8>> = [
            Value::StringValue("GET".into()),
            Value::StringValue(String::new()),
            Value::IntValue(0),
            Value::IntValue(127),
            Value::IntValue(128),
            Value::IntValue(200),
            Value::IntValue(16_383),
            Value::IntValue(16_384),
            Value::StringValue("é".repeat(40)),
            Value::StringValue("a".repeat(200)),
            Value::IntValue(-1),
            Value::IntValue(i64::MIN),
            Value::IntValue(i64::MAX),
            Value::DoubleValue(1.5),
            Value::BoolValue(true),
            Value::BytesValue(vec![0, 255]),
            Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(Value::IntValue(1)),
                }],
            }),
        ]
        .into_iter()
        .map(|v| AnyValue { value: Some(v) }.encode_to_vec())
        .collect();
        // A string field that is not UTF-8 (prost would refuse it; otelcol's text is lossy).
        values.push(vec![0x0a, 2, 0xff, b'a']);
        // An int written longer than it needs.
        values.push(vec![0x18, 0x80, 0x00]);
        values.push(Vec::new());
        for value in values {
            let (mut got, mut scratch) = (Vec::new(), String::new());
            push_text(&mut got, &mut scratch, &value);
            let mut text = String::new();
            push_value_text(Some(&value), &mut text);
            let mut want = Vec::new();
            push_part(&mut want, 1, text.as_bytes());
            assert_eq!(got, want, "{value:?}");
        }
    }
}
