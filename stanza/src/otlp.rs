//! Entries to OTLP: each entry becomes a `LogRecord`, its resource the `Resource` of a
//! `ResourceLogs`; entries with equal resources share one, as stanza's converter groups them.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::entry::{Entry, Severity};
use crate::value::{Map, Value};

/// The OTLP severity number for a stanza severity: they share the numbers 1–24; anything
/// above is FATAL4's 24, and the default is UNSPECIFIED.
pub fn severity_number(severity: Severity) -> i32 {
    i32::from(severity.0.min(24))
}

/// An OTLP value. Null becomes an empty `AnyValue`, as pdata's empty value does.
pub fn any_value(value: Value) -> AnyValue {
    use any_value::Value as V;
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(V::BoolValue(b)),
        Value::Int(i) => Some(V::IntValue(i)),
        Value::Double(d) => Some(V::DoubleValue(d)),
        Value::String(s) => Some(V::StringValue(s)),
        Value::Bytes(b) => Some(V::BytesValue(b)),
        Value::Map(m) => Some(V::KvlistValue(KeyValueList {
            values: key_values(m),
        })),
        Value::List(items) => Some(V::ArrayValue(ArrayValue {
            values: items.into_iter().map(any_value).collect(),
        })),
    };
    AnyValue { value }
}

/// A map as OTLP attributes.
pub fn key_values(map: Map) -> Vec<KeyValue> {
    map.into_iter()
        .map(|(key, value)| KeyValue {
            key,
            value: Some(any_value(value)),
            key_strindex: 0,
        })
        .collect()
}

/// One entry as a log record, with its resource's attributes and its scope's name.
pub fn to_log_record(entry: Entry) -> (LogRecord, Map, String) {
    let record = LogRecord {
        time_unix_nano: entry.timestamp.map_or(0, |t| t.max(0) as u64),
        observed_time_unix_nano: entry.observed_timestamp.max(0) as u64,
        severity_number: severity_number(entry.severity),
        severity_text: entry.severity_text,
        body: match entry.body {
            Value::Null => None,
            body => Some(any_value(body)),
        },
        attributes: key_values(entry.attributes),
        flags: u32::from(entry.trace_flags),
        trace_id: entry.trace_id,
        span_id: entry.span_id,
        ..LogRecord::default()
    };
    (record, entry.resource, entry.scope_name)
}

/// The records of one scope name.
type ScopeGroup = (String, Vec<LogRecord>);

/// Entries as `ResourceLogs`: one per distinct resource and, inside it, one `ScopeLogs` per
/// scope name, each in order of first appearance, as stanza's converter groups them.
pub fn to_resource_logs(entries: Vec<Entry>) -> Vec<ResourceLogs> {
    let mut groups: Vec<(Map, Vec<ScopeGroup>)> = Vec::new();
    for entry in entries {
        let (record, resource, scope) = to_log_record(entry);
        // Consecutive entries usually share a resource (one file's lines): look from the end.
        let at = match groups.iter().rposition(|(r, _)| *r == resource) {
            Some(at) => at,
            None => {
                groups.push((resource, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[at].1;
        match scopes.iter().rposition(|(s, _)| *s == scope) {
            Some(i) => scopes[i].1.push(record),
            None => scopes.push((scope, vec![record])),
        }
    }
    groups
        .into_iter()
        .map(|(resource, scopes)| ResourceLogs {
            resource: Some(Resource {
                attributes: key_values(resource),
                ..Resource::default()
            }),
            scope_logs: scopes
                .into_iter()
                .map(|(name, log_records)| ScopeLogs {
                    scope: (!name.is_empty()).then(|| InstrumentationScope {
                        name,
                        ..InstrumentationScope::default()
                    }),
                    log_records,
                    ..ScopeLogs::default()
                })
                .collect(),
            ..ResourceLogs::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_becomes_a_log_record() {
        let mut e = Entry::new("hello", 7);
        e.timestamp = Some(5);
        e.severity = Severity::ERROR2;
        e.severity_text = "crit".into();
        e.attributes.insert("k".into(), Value::Int(1));
        e.resource.insert("host".into(), "a".into());
        e.trace_id = vec![1; 16];
        e.trace_flags = 1;
        let (record, resource, _) = to_log_record(e);
        assert_eq!(record.time_unix_nano, 5);
        assert_eq!(record.observed_time_unix_nano, 7);
        assert_eq!(record.severity_number, 18);
        assert_eq!(record.severity_text, "crit");
        assert_eq!(record.flags, 1);
        assert_eq!(record.attributes[0].key, "k");
        assert_eq!(
            record.body.unwrap().value,
            Some(any_value::Value::StringValue("hello".into()))
        );
        assert_eq!(resource["host"], "a".into());
    }

    #[test]
    fn entries_are_grouped_by_resource() {
        let mk = |host: &str| {
            let mut e = Entry::new("x", 0);
            e.resource.insert("host".into(), host.into());
            e
        };
        let mut scoped = mk("a");
        scoped.scope_name = "lib".into();
        let logs = to_resource_logs(vec![mk("a"), mk("b"), mk("a"), scoped]);
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].scope_logs.len(), 2);
        assert_eq!(logs[0].scope_logs[0].log_records.len(), 2);
        assert!(logs[0].scope_logs[0].scope.is_none());
        assert_eq!(logs[0].scope_logs[1].scope.as_ref().unwrap().name, "lib");
    }

    #[test]
    fn nested_values_convert() {
        let mut m = Map::new();
        m.insert(
            "l".into(),
            Value::List(vec![Value::Bool(true), Value::Null]),
        );
        let v = any_value(Value::Map(m));
        let Some(any_value::Value::KvlistValue(kv)) = v.value else {
            panic!("not a kvlist")
        };
        assert_eq!(kv.values[0].key, "l");
    }
}
