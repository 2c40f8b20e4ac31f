//! The OTLP 1.x message schema as data: every message reachable from the three export requests
//! (common, resource, trace, metrics, logs), each field with its number, name and protobuf type,
//! and the role it plays in counting items. The wire walker and the splitter read these tables
//! instead of hand-writing one parser per message, so adding a field to OTLP is one line here.
//!
//! Field numbers follow opentelemetry-proto 0.33 (OTLP 1.x). Names are the proto field names and
//! message names in snake case, because that is how errors point at them (`span.name`).

use std::fmt;

use super::Signal;
use super::wire::{DELIMITED, FIXED32, FIXED64, VARINT};

/// prost's recursion limit: how many messages deep a decode may go below the request.
pub const RECURSION_LIMIT: u32 = 100;

/// Field number of `resource_spans` / `resource_metrics` / `resource_logs` in a request.
pub const REQUEST_RESOURCES: u32 = 1;
/// Field number of `scope_spans` / `scope_metrics` / `scope_logs` in a `Resource*` message.
pub const RESOURCE_SCOPES: u32 = 2;
/// Field number of `spans` / `metrics` / `log_records` in a `Scope*` message.
pub const SCOPE_ITEMS: u32 = 2;
/// Field number of `data_points` in every metric data kind (gauge, sum, histogram, ...).
pub const DATA_POINTS: u32 = 1;

/// How a field's value is laid out on the wire, as far as validation needs to know.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// int32, int64, uint32, uint64, sint32, bool, enum: any valid varint.
    Varint,
    /// fixed32.
    Fixed32,
    /// fixed64, sfixed64, double.
    Fixed64,
    /// bytes: any length-delimited content.
    Bytes,
    /// string: length-delimited UTF-8.
    String,
    /// A nested message (singular, repeated or a oneof member: the wire form is the same).
    Message(&'static Message),
    /// A repeated varint field; prost accepts it packed or one value per key.
    RepeatedVarint,
    /// A repeated fixed64/double field; prost accepts it packed or one value per key.
    RepeatedFixed64,
}

impl Kind {
    /// The wire type this kind is written with by prost and the OpenTelemetry SDKs (repeated
    /// numbers packed, as proto3 does by default).
    const fn usual_wire_type(&self) -> u8 {
        match self {
            Kind::Varint => VARINT,
            Kind::Fixed32 => FIXED32,
            Kind::Fixed64 => FIXED64,
            Kind::Bytes
            | Kind::String
            | Kind::Message(_)
            | Kind::RepeatedVarint
            | Kind::RepeatedFixed64 => DELIMITED,
        }
    }
}

/// What a field contributes to its message's item count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Nothing.
    None,
    /// Each occurrence is one item (a span, a data point, a log record).
    Item,
    /// Each occurrence adds the items counted inside it (repeated containers).
    Sum,
    /// A message member of a oneof. prost merges a repeated occurrence of the member that is
    /// already set and replaces the value when another member arrives, so only the last run of
    /// occurrences of one member counts.
    OneofRun,
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    /// Field number.
    pub number: u32,
    /// Proto field name.
    pub name: &'static str,
    /// Wire layout.
    pub kind: Kind,
    /// Role in counting items.
    pub count: Count,
}

/// Field numbers below this are found through [`Message::field`]'s table, without a search;
/// OTLP's go up to 16.
const INDEXED: usize = 32;
/// "No field with this number" in the table.
const UNKNOWN: u8 = u8::MAX;

/// One message type: its name and every field it knows.
pub struct Message {
    /// Proto message name in snake case.
    pub name: &'static str,
    /// Known fields; anything else is an unknown field and is skipped, as prost does.
    pub fields: &'static [Field],
    /// Position in `fields` of each field number below [`INDEXED`], or [`UNKNOWN`]: the walk
    /// looks up every field key it reads, so this is on its hottest path.
    index: [u8; INDEXED],
    /// Position in `fields` of the field each one-byte key (field numbers 1 to 15) names, when
    /// the key's wire type is the one the field is usually encoded with; otherwise [`UNKNOWN`].
    /// Nearly every key of a request is one of these: the fast walk reads it with one lookup
    /// instead of decoding the key, checking it and looking up its number.
    by_key: [u8; 128],
}

impl Message {
    /// A message named `name` with `fields`.
    pub const fn new(name: &'static str, fields: &'static [Field]) -> Message {
        let mut index = [UNKNOWN; INDEXED];
        let mut by_key = [UNKNOWN; 128];
        let mut i = 0;
        while i < fields.len() {
            let number = fields[i].number as usize;
            assert!(i < UNKNOWN as usize, "too many fields to index");
            if number < INDEXED {
                index[number] = i as u8;
            }
            let key = number << 3 | fields[i].kind.usual_wire_type() as usize;
            if number > 0 && key < by_key.len() {
                by_key[key] = i as u8;
            }
            i += 1;
        }
        Message {
            name,
            fields,
            index,
            by_key,
        }
    }

    /// The known field that the one-byte key `key` names with its usual wire type, if any.
    #[inline(always)]
    pub fn field_by_key(&self, key: u8) -> Option<&'static Field> {
        match self.by_key.get(usize::from(key)) {
            Some(&UNKNOWN) | None => None,
            Some(&at) => self.fields.get(usize::from(at)),
        }
    }

    /// The known field with this number, if any.
    #[inline]
    pub fn field(&self, number: u32) -> Option<&'static Field> {
        match self.index.get(number as usize) {
            Some(&UNKNOWN) => None,
            Some(&at) => self.fields.get(usize::from(at)),
            None => self.fields.iter().find(|f| f.number == number),
        }
    }
}

// Messages refer to each other in cycles (any_value -> key_value_list -> key_value -> any_value),
// so Debug prints the name only instead of recursing forever.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The export request message of a signal.
pub fn request(signal: Signal) -> &'static Message {
    match signal {
        Signal::Traces => &EXPORT_TRACE_SERVICE_REQUEST,
        Signal::Metrics => &EXPORT_METRICS_SERVICE_REQUEST,
        Signal::Logs => &EXPORT_LOGS_SERVICE_REQUEST,
    }
}

/// The `Resource*` message of a signal.
pub fn resource_group(signal: Signal) -> &'static Message {
    match signal {
        Signal::Traces => &RESOURCE_SPANS,
        Signal::Metrics => &RESOURCE_METRICS,
        Signal::Logs => &RESOURCE_LOGS,
    }
}

/// The `Scope*` message of a signal.
pub fn scope_group(signal: Signal) -> &'static Message {
    match signal {
        Signal::Traces => &SCOPE_SPANS,
        Signal::Metrics => &SCOPE_METRICS,
        Signal::Logs => &SCOPE_LOGS,
    }
}

const fn field(number: u32, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        count: Count::None,
    }
}
const fn varint(number: u32, name: &'static str) -> Field {
    field(number, name, Kind::Varint)
}
const fn fixed32(number: u32, name: &'static str) -> Field {
    field(number, name, Kind::Fixed32)
}
const fn fixed64(number: u32, name: &'static str) -> Field {
    field(number, name, Kind::Fixed64)
}
const fn bytes(number: u32, name: &'static str) -> Field {
    field(number, name, Kind::Bytes)
}
const fn string(number: u32, name: &'static str) -> Field {
    field(number, name, Kind::String)
}
const fn message(number: u32, name: &'static str, message: &'static Message) -> Field {
    field(number, name, Kind::Message(message))
}
const fn counted(
    number: u32,
    name: &'static str,
    message: &'static Message,
    count: Count,
) -> Field {
    Field {
        number,
        name,
        kind: Kind::Message(message),
        count,
    }
}

// ---- common.v1 ----------------------------------------------------------------------------

pub static ANY_VALUE: Message = Message::new(
    "any_value",
    &[
        string(1, "string_value"),
        varint(2, "bool_value"),
        varint(3, "int_value"),
        fixed64(4, "double_value"),
        message(5, "array_value", &ARRAY_VALUE),
        message(6, "kvlist_value", &KEY_VALUE_LIST),
        bytes(7, "bytes_value"),
        varint(8, "string_value_strindex"),
    ],
);

pub static ARRAY_VALUE: Message = Message::new("array_value", &[message(1, "values", &ANY_VALUE)]);

pub static KEY_VALUE_LIST: Message =
    Message::new("key_value_list", &[message(1, "values", &KEY_VALUE)]);

pub static KEY_VALUE: Message = Message::new(
    "key_value",
    &[
        string(1, "key"),
        message(2, "value", &ANY_VALUE),
        varint(3, "key_strindex"),
    ],
);

pub static INSTRUMENTATION_SCOPE: Message = Message::new(
    "instrumentation_scope",
    &[
        string(1, "name"),
        string(2, "version"),
        message(3, "attributes", &KEY_VALUE),
        varint(4, "dropped_attributes_count"),
    ],
);

pub static ENTITY_REF: Message = Message::new(
    "entity_ref",
    &[
        string(1, "schema_url"),
        string(2, "type"),
        string(3, "id_keys"),
        string(4, "description_keys"),
    ],
);

// ---- resource.v1 --------------------------------------------------------------------------

pub static RESOURCE: Message = Message::new(
    "resource",
    &[
        message(1, "attributes", &KEY_VALUE),
        varint(2, "dropped_attributes_count"),
        message(3, "entity_refs", &ENTITY_REF),
    ],
);

// ---- trace.v1 -----------------------------------------------------------------------------

pub static EXPORT_TRACE_SERVICE_REQUEST: Message = Message::new(
    "export_trace_service_request",
    &[counted(1, "resource_spans", &RESOURCE_SPANS, Count::Sum)],
);

pub static RESOURCE_SPANS: Message = Message::new(
    "resource_spans",
    &[
        message(1, "resource", &RESOURCE),
        counted(2, "scope_spans", &SCOPE_SPANS, Count::Sum),
        string(3, "schema_url"),
    ],
);

pub static SCOPE_SPANS: Message = Message::new(
    "scope_spans",
    &[
        message(1, "scope", &INSTRUMENTATION_SCOPE),
        counted(2, "spans", &SPAN, Count::Item),
        string(3, "schema_url"),
    ],
);

pub static SPAN: Message = Message::new(
    "span",
    &[
        bytes(1, "trace_id"),
        bytes(2, "span_id"),
        string(3, "trace_state"),
        bytes(4, "parent_span_id"),
        string(5, "name"),
        varint(6, "kind"),
        fixed64(7, "start_time_unix_nano"),
        fixed64(8, "end_time_unix_nano"),
        message(9, "attributes", &KEY_VALUE),
        varint(10, "dropped_attributes_count"),
        message(11, "events", &SPAN_EVENT),
        varint(12, "dropped_events_count"),
        message(13, "links", &SPAN_LINK),
        varint(14, "dropped_links_count"),
        message(15, "status", &STATUS),
        fixed32(16, "flags"),
    ],
);

pub static SPAN_EVENT: Message = Message::new(
    "event",
    &[
        fixed64(1, "time_unix_nano"),
        string(2, "name"),
        message(3, "attributes", &KEY_VALUE),
        varint(4, "dropped_attributes_count"),
    ],
);

pub static SPAN_LINK: Message = Message::new(
    "link",
    &[
        bytes(1, "trace_id"),
        bytes(2, "span_id"),
        string(3, "trace_state"),
        message(4, "attributes", &KEY_VALUE),
        varint(5, "dropped_attributes_count"),
        fixed32(6, "flags"),
    ],
);

pub static STATUS: Message = Message::new("status", &[string(2, "message"), varint(3, "code")]);

// ---- metrics.v1 ---------------------------------------------------------------------------

pub static EXPORT_METRICS_SERVICE_REQUEST: Message = Message::new(
    "export_metrics_service_request",
    &[counted(
        1,
        "resource_metrics",
        &RESOURCE_METRICS,
        Count::Sum,
    )],
);

pub static RESOURCE_METRICS: Message = Message::new(
    "resource_metrics",
    &[
        message(1, "resource", &RESOURCE),
        counted(2, "scope_metrics", &SCOPE_METRICS, Count::Sum),
        string(3, "schema_url"),
    ],
);

pub static SCOPE_METRICS: Message = Message::new(
    "scope_metrics",
    &[
        message(1, "scope", &INSTRUMENTATION_SCOPE),
        counted(2, "metrics", &METRIC, Count::Sum),
        string(3, "schema_url"),
    ],
);

pub static METRIC: Message = Message::new(
    "metric",
    &[
        string(1, "name"),
        string(2, "description"),
        string(3, "unit"),
        counted(5, "gauge", &GAUGE, Count::OneofRun),
        counted(7, "sum", &SUM, Count::OneofRun),
        counted(9, "histogram", &HISTOGRAM, Count::OneofRun),
        counted(
            10,
            "exponential_histogram",
            &EXPONENTIAL_HISTOGRAM,
            Count::OneofRun,
        ),
        counted(11, "summary", &SUMMARY, Count::OneofRun),
        message(12, "metadata", &KEY_VALUE),
    ],
);

pub static GAUGE: Message = Message::new(
    "gauge",
    &[counted(1, "data_points", &NUMBER_DATA_POINT, Count::Item)],
);

pub static SUM: Message = Message::new(
    "sum",
    &[
        counted(1, "data_points", &NUMBER_DATA_POINT, Count::Item),
        varint(2, "aggregation_temporality"),
        varint(3, "is_monotonic"),
    ],
);

pub static HISTOGRAM: Message = Message::new(
    "histogram",
    &[
        counted(1, "data_points", &HISTOGRAM_DATA_POINT, Count::Item),
        varint(2, "aggregation_temporality"),
    ],
);

pub static EXPONENTIAL_HISTOGRAM: Message = Message::new(
    "exponential_histogram",
    &[
        counted(
            1,
            "data_points",
            &EXPONENTIAL_HISTOGRAM_DATA_POINT,
            Count::Item,
        ),
        varint(2, "aggregation_temporality"),
    ],
);

pub static SUMMARY: Message = Message::new(
    "summary",
    &[counted(1, "data_points", &SUMMARY_DATA_POINT, Count::Item)],
);

pub static NUMBER_DATA_POINT: Message = Message::new(
    "number_data_point",
    &[
        fixed64(2, "start_time_unix_nano"),
        fixed64(3, "time_unix_nano"),
        fixed64(4, "as_double"),
        message(5, "exemplars", &EXEMPLAR),
        fixed64(6, "as_int"),
        message(7, "attributes", &KEY_VALUE),
        varint(8, "flags"),
    ],
);

pub static HISTOGRAM_DATA_POINT: Message = Message::new(
    "histogram_data_point",
    &[
        fixed64(2, "start_time_unix_nano"),
        fixed64(3, "time_unix_nano"),
        fixed64(4, "count"),
        fixed64(5, "sum"),
        field(6, "bucket_counts", Kind::RepeatedFixed64),
        field(7, "explicit_bounds", Kind::RepeatedFixed64),
        message(8, "exemplars", &EXEMPLAR),
        message(9, "attributes", &KEY_VALUE),
        varint(10, "flags"),
        fixed64(11, "min"),
        fixed64(12, "max"),
    ],
);

pub static EXPONENTIAL_HISTOGRAM_DATA_POINT: Message = Message::new(
    "exponential_histogram_data_point",
    &[
        message(1, "attributes", &KEY_VALUE),
        fixed64(2, "start_time_unix_nano"),
        fixed64(3, "time_unix_nano"),
        fixed64(4, "count"),
        fixed64(5, "sum"),
        varint(6, "scale"),
        fixed64(7, "zero_count"),
        message(8, "positive", &BUCKETS),
        message(9, "negative", &BUCKETS),
        varint(10, "flags"),
        message(11, "exemplars", &EXEMPLAR),
        fixed64(12, "min"),
        fixed64(13, "max"),
        fixed64(14, "zero_threshold"),
    ],
);

pub static BUCKETS: Message = Message::new(
    "buckets",
    &[
        varint(1, "offset"),
        field(2, "bucket_counts", Kind::RepeatedVarint),
    ],
);

pub static SUMMARY_DATA_POINT: Message = Message::new(
    "summary_data_point",
    &[
        fixed64(2, "start_time_unix_nano"),
        fixed64(3, "time_unix_nano"),
        fixed64(4, "count"),
        fixed64(5, "sum"),
        message(6, "quantile_values", &VALUE_AT_QUANTILE),
        message(7, "attributes", &KEY_VALUE),
        varint(8, "flags"),
    ],
);

pub static VALUE_AT_QUANTILE: Message = Message::new(
    "value_at_quantile",
    &[fixed64(1, "quantile"), fixed64(2, "value")],
);

pub static EXEMPLAR: Message = Message::new(
    "exemplar",
    &[
        fixed64(2, "time_unix_nano"),
        fixed64(3, "as_double"),
        bytes(4, "span_id"),
        bytes(5, "trace_id"),
        fixed64(6, "as_int"),
        message(7, "filtered_attributes", &KEY_VALUE),
    ],
);

// ---- logs.v1 ------------------------------------------------------------------------------

pub static EXPORT_LOGS_SERVICE_REQUEST: Message = Message::new(
    "export_logs_service_request",
    &[counted(1, "resource_logs", &RESOURCE_LOGS, Count::Sum)],
);

pub static RESOURCE_LOGS: Message = Message::new(
    "resource_logs",
    &[
        message(1, "resource", &RESOURCE),
        counted(2, "scope_logs", &SCOPE_LOGS, Count::Sum),
        string(3, "schema_url"),
    ],
);

pub static SCOPE_LOGS: Message = Message::new(
    "scope_logs",
    &[
        message(1, "scope", &INSTRUMENTATION_SCOPE),
        counted(2, "log_records", &LOG_RECORD, Count::Item),
        string(3, "schema_url"),
    ],
);

pub static LOG_RECORD: Message = Message::new(
    "log_record",
    &[
        fixed64(1, "time_unix_nano"),
        varint(2, "severity_number"),
        string(3, "severity_text"),
        message(5, "body", &ANY_VALUE),
        message(6, "attributes", &KEY_VALUE),
        varint(7, "dropped_attributes_count"),
        fixed32(8, "flags"),
        bytes(9, "trace_id"),
        bytes(10, "span_id"),
        fixed64(11, "observed_time_unix_nano"),
        string(12, "event_name"),
    ],
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message reachable from the requests, each once.
    fn all_messages() -> Vec<&'static Message> {
        let mut seen: Vec<&'static Message> = Vec::new();
        let mut todo: Vec<&'static Message> = Signal::ALL.iter().map(|s| request(*s)).collect();
        while let Some(m) = todo.pop() {
            if seen.iter().any(|s| std::ptr::eq(*s, m)) {
                continue;
            }
            seen.push(m);
            for f in m.fields {
                if let Kind::Message(child) = f.kind {
                    todo.push(child);
                }
            }
        }
        seen
    }

    #[test]
    fn the_field_table_finds_what_a_search_finds_for_every_number() {
        static WIDE: Message = Message::new(
            "wide",
            &[
                string(3, "low"),
                varint(INDEXED as u32, "high"),
                varint(1000, "higher"),
            ],
        );
        let mut messages = all_messages();
        messages.push(&WIDE);
        for m in messages {
            for number in 0..(INDEXED as u32 + 1010) {
                let searched = m.fields.iter().find(|f| f.number == number);
                assert_eq!(
                    m.field(number).map(|f| f.name),
                    searched.map(|f| f.name),
                    "{}: field {number}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn the_key_table_names_a_field_only_for_its_one_byte_key_with_its_usual_wire_type() {
        for m in all_messages() {
            for key in 0..=u8::MAX {
                let (number, wire_type) = (u32::from(key >> 3), key & 7);
                let expected = m
                    .field(number)
                    .filter(|f| key < 0x80 && number > 0 && f.kind.usual_wire_type() == wire_type);
                assert_eq!(
                    m.field_by_key(key).map(|f| f.name),
                    expected.map(|f| f.name),
                    "{}: key {key:#04x}",
                    m.name
                );
            }
        }
        let span = all_messages()
            .into_iter()
            .find(|m| m.name == "span")
            .expect("span");
        // name (5) as a string, kind (6) as a varint, start time (7) fixed64: by the table;
        // kind sent as a length-delimited field is for the full read to refuse.
        assert_eq!(span.field_by_key(5 << 3 | 2).map(|f| f.name), Some("name"));
        assert_eq!(span.field_by_key(6 << 3).map(|f| f.name), Some("kind"));
        assert_eq!(
            span.field_by_key(7 << 3 | 1).map(|f| f.name),
            Some("start_time_unix_nano")
        );
        assert_eq!(span.field_by_key(6 << 3 | 2).map(|f| f.name), None);
    }

    #[test]
    fn field_numbers_are_unique_and_valid_within_each_message() {
        let messages = all_messages();
        assert_eq!(messages.len(), 34, "{messages:?}");
        for m in messages {
            for (i, f) in m.fields.iter().enumerate() {
                assert!(
                    f.number >= 1 && f.number < (1 << 29),
                    "{}.{}",
                    m.name,
                    f.name
                );
                assert!(
                    m.fields[i + 1..]
                        .iter()
                        .all(|g| g.number != f.number && g.name != f.name),
                    "{}.{} is listed twice",
                    m.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn containers_used_by_the_splitter_have_the_expected_numbers() {
        for signal in Signal::ALL {
            let resources = request(signal).field(REQUEST_RESOURCES).map(|f| f.count);
            assert_eq!(resources, Some(Count::Sum));
            let scopes = resource_group(signal).field(RESOURCE_SCOPES);
            assert!(
                matches!(scopes.map(|f| f.kind), Some(Kind::Message(m)) if std::ptr::eq(m, scope_group(signal)))
            );
            assert!(scope_group(signal).field(SCOPE_ITEMS).is_some());
        }
        for f in METRIC.fields.iter().filter(|f| f.count == Count::OneofRun) {
            let Kind::Message(kind) = f.kind else {
                panic!("{} is not a message", f.name)
            };
            assert_eq!(
                kind.field(DATA_POINTS).map(|p| p.count),
                Some(Count::Item),
                "{}",
                kind.name
            );
        }
    }
}
