//! Records to an OTLP `ExportLogsServiceRequest`, written straight to protobuf: the common case
//! (no operators) never builds a `LogRecord` struct. The attributes every record of a batch
//! shares (the configured ones, the file's names) are encoded once per batch and copied into
//! each record; each record is then its observed time, its body and those bytes.

use std::collections::BTreeMap;

use weir_core::batch::wire::{put_delimited_header, put_varint};
use weir_tailer::{FileNames, Record};

/// Which of a file's names become attributes, as `include_file_*` say.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FileAttributes {
    pub name: bool,
    pub path: bool,
    pub name_resolved: bool,
    pub path_resolved: bool,
}

/// Writes requests for one receiver: its resource and constant attributes, pre-encoded.
#[derive(Debug)]
pub(crate) struct Encoder {
    /// `ResourceLogs.resource`, field and all (empty when there is no resource attribute).
    resource: Vec<u8>,
    /// `LogRecord.attributes` entries from `attributes:`.
    attributes: Vec<u8>,
    files: FileAttributes,
}

const VARINT_MAX: usize = 10;

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// A `KeyValue` with a string value, as the length-delimited field `number`.
fn put_string_attribute(out: &mut Vec<u8>, number: u32, key: &str, value: &str) {
    let any_len = 1 + varint_len(value.len() as u64) + value.len();
    let kv_len =
        1 + varint_len(key.len() as u64) + key.len() + 1 + varint_len(any_len as u64) + any_len;
    put_delimited_header(out, number, kv_len);
    put_delimited_header(out, 1, key.len());
    out.extend_from_slice(key.as_bytes());
    put_delimited_header(out, 2, any_len);
    put_delimited_header(out, 1, value.len());
    out.extend_from_slice(value.as_bytes());
}

/// `LogRecord.attributes` is field 6; `Resource.attributes` is field 1.
const LOG_ATTRIBUTES: u32 = 6;
const RESOURCE_ATTRIBUTES: u32 = 1;

impl Encoder {
    pub(crate) fn new(
        resource: &BTreeMap<String, String>,
        attributes: &BTreeMap<String, String>,
        files: FileAttributes,
    ) -> Encoder {
        let mut inner = Vec::new();
        for (key, value) in resource {
            put_string_attribute(&mut inner, RESOURCE_ATTRIBUTES, key, value);
        }
        let mut encoded_resource = Vec::new();
        if !inner.is_empty() {
            put_delimited_header(&mut encoded_resource, 1, inner.len());
            encoded_resource.extend_from_slice(&inner);
        }
        let mut encoded_attributes = Vec::new();
        for (key, value) in attributes {
            put_string_attribute(&mut encoded_attributes, LOG_ATTRIBUTES, key, value);
        }
        Encoder {
            resource: encoded_resource,
            attributes: encoded_attributes,
            files,
        }
    }

    /// The attribute bytes every record of a batch from `file` carries.
    fn shared_attributes(&self, file: &FileNames) -> Vec<u8> {
        let mut out = self.attributes.clone();
        let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
        if self.files.name {
            put_string_attribute(&mut out, LOG_ATTRIBUTES, "log.file.name", &file.name);
        }
        if self.files.path {
            put_string_attribute(&mut out, LOG_ATTRIBUTES, "log.file.path", &path(&file.path));
        }
        if self.files.name_resolved {
            put_string_attribute(
                &mut out,
                LOG_ATTRIBUTES,
                "log.file.name_resolved",
                &file.resolved_name,
            );
        }
        if self.files.path_resolved {
            put_string_attribute(
                &mut out,
                LOG_ATTRIBUTES,
                "log.file.path_resolved",
                &path(&file.resolved_path),
            );
        }
        out
    }

    /// One request holding `records` of `file`, observed at `observed_ns`.
    pub(crate) fn encode<'a>(
        &self,
        file: &FileNames,
        records: impl Iterator<Item = Record<'a>>,
        observed_ns: u64,
    ) -> Vec<u8> {
        let shared = self.shared_attributes(file);
        let mut log_records = Vec::new();
        for record in records {
            let (body_field, body) = match record {
                // AnyValue.string_value is field 1, bytes_value field 7.
                Record::Text(text) => (1, text.as_bytes()),
                Record::Bytes(bytes) => (7, bytes),
            };
            let any_len = 1 + varint_len(body.len() as u64) + body.len();
            let record_len = 1 + varint_len(any_len as u64) + any_len + shared.len() + 9;
            log_records.reserve(record_len + 1 + VARINT_MAX);
            // ScopeLogs.log_records is field 2.
            put_delimited_header(&mut log_records, 2, record_len);
            // LogRecord.body is field 5.
            put_delimited_header(&mut log_records, 5, any_len);
            put_delimited_header(&mut log_records, body_field, body.len());
            log_records.extend_from_slice(body);
            log_records.extend_from_slice(&shared);
            // LogRecord.observed_time_unix_nano: field 11, fixed64.
            put_varint(&mut log_records, (11 << 3) | 1);
            log_records.extend_from_slice(&observed_ns.to_le_bytes());
        }
        let scope_logs_len = log_records.len();
        let resource_logs_len =
            self.resource.len() + 1 + varint_len(scope_logs_len as u64) + scope_logs_len;
        let mut out = Vec::with_capacity(resource_logs_len + 1 + VARINT_MAX);
        // ExportLogsServiceRequest.resource_logs is field 1; ResourceLogs.scope_logs field 2.
        put_delimited_header(&mut out, 1, resource_logs_len);
        out.extend_from_slice(&self.resource);
        put_delimited_header(&mut out, 2, scope_logs_len);
        out.extend_from_slice(&log_records);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
    use prost::Message;

    use super::*;

    fn file() -> FileNames {
        FileNames {
            name: "app.log".into(),
            path: PathBuf::from("/var/log/app.log"),
            resolved_name: "app-1.log".into(),
            resolved_path: PathBuf::from("/data/app-1.log"),
        }
    }

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn records_decode_as_otelcol_would_build_them() {
        let encoder = Encoder::new(
            &BTreeMap::from([("host.name".to_string(), "edge-1".to_string())]),
            &BTreeMap::from([("team".to_string(), "payments".to_string())]),
            FileAttributes {
                name: true,
                path: true,
                name_resolved: true,
                path_resolved: true,
            },
        );
        let long = "x".repeat(300);
        let records = [
            Record::Text("first line"),
            Record::Text(&long),
            Record::Text("ünïcode"),
        ];
        let bytes = encoder.encode(&file(), records.into_iter(), 1_700_000_000_000_000_123);
        let request = ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(request.resource_logs.len(), 1);
        let resource_logs = &request.resource_logs[0];
        assert_eq!(
            resource_logs.resource.as_ref().unwrap().attributes,
            vec![kv("host.name", "edge-1")]
        );
        let logs = &resource_logs.scope_logs[0].log_records;
        let bodies: Vec<_> = logs
            .iter()
            .map(|r| match &r.body.as_ref().unwrap().value {
                Some(Value::StringValue(s)) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            bodies,
            vec!["first line".to_string(), long.clone(), "ünïcode".into()]
        );
        for record in logs {
            assert_eq!(record.observed_time_unix_nano, 1_700_000_000_000_000_123);
            assert_eq!(record.time_unix_nano, 0);
            assert_eq!(
                record.attributes,
                vec![
                    kv("team", "payments"),
                    kv("log.file.name", "app.log"),
                    kv("log.file.path", "/var/log/app.log"),
                    kv("log.file.name_resolved", "app-1.log"),
                    kv("log.file.path_resolved", "/data/app-1.log"),
                ]
            );
        }
        let summary = weir_core::batch::wire::walk(weir_core::batch::Signal::Logs, &bytes).unwrap();
        assert_eq!(summary.items, 3);
    }

    #[test]
    fn nop_records_are_bytes_and_no_resource_is_an_absent_one() {
        let encoder = Encoder::new(
            &BTreeMap::new(),
            &BTreeMap::new(),
            FileAttributes::default(),
        );
        let bytes = encoder.encode(&file(), [Record::Bytes(&[0xff, 0x00, 0x41])].into_iter(), 7);
        let request = ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap();
        let resource_logs = &request.resource_logs[0];
        assert!(resource_logs.resource.is_none());
        let record = &resource_logs.scope_logs[0].log_records[0];
        assert_eq!(
            record.body.as_ref().unwrap().value,
            Some(Value::BytesValue(vec![0xff, 0x00, 0x41]))
        );
        assert!(record.attributes.is_empty());
    }

    #[test]
    fn varint_lengths_match_the_encoder() {
        for value in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(varint_len(value), out.len(), "{value}");
        }
    }
}
