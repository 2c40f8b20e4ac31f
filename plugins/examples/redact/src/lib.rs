//! `redact`: a processor that masks every part of a string attribute value matching one of the
//! configured regular expressions, on traces, metrics and logs: resource, scope, span, span
//! event and link, data point and exemplar, and log record attributes, including values nested
//! in arrays and maps, and optionally log bodies. A batch with nothing to mask is passed on as
//! the very bytes it came in (no decode of the output, no copy).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Exemplar, Metric};
use prost::Message;
use regex::RegexSet;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_plugin_sdk::{Error, Host, Processor, Signal, export_plugin};

fn default_mask() -> String {
    "****".to_string()
}

/// Config of the `redact` processor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactConfig {
    /// Regular expressions (Rust `regex` syntax); every match inside a string attribute value
    /// is replaced by `mask`. At least one.
    #[schemars(length(min = 1))]
    pub patterns: Vec<String>,
    /// The text that replaces each match.
    #[serde(default = "default_mask")]
    pub mask: String,
    /// Only attributes with these keys are examined (with everything nested in them); empty
    /// means every attribute.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Also mask matches in string log record bodies.
    #[serde(default)]
    pub bodies: bool,
}

/// The `redact` processor.
pub struct Redact {
    patterns: Vec<regex::Regex>,
    any: RegexSet,
    mask: String,
    keys: Vec<String>,
    bodies: bool,
}

impl Redact {
    /// Masks every match in `text`; whether anything changed.
    fn mask_text(&self, text: &mut String) -> bool {
        if !self.any.is_match(text) {
            return false;
        }
        let mut out = text.clone();
        for pattern in &self.patterns {
            out = pattern.replace_all(&out, self.mask.as_str()).into_owned();
        }
        let changed = out != *text;
        *text = out;
        changed
    }

    fn mask_value(&self, value: &mut AnyValue) -> u64 {
        match &mut value.value {
            Some(Value::StringValue(text)) => u64::from(self.mask_text(text)),
            Some(Value::ArrayValue(array)) => {
                array.values.iter_mut().map(|v| self.mask_value(v)).sum()
            }
            Some(Value::KvlistValue(list)) => list
                .values
                .iter_mut()
                .filter_map(|kv| kv.value.as_mut())
                .map(|v| self.mask_value(v))
                .sum(),
            _ => 0,
        }
    }

    fn mask_attributes(&self, attributes: &mut [KeyValue]) -> u64 {
        attributes
            .iter_mut()
            .filter(|kv| self.keys.is_empty() || self.keys.contains(&kv.key))
            .filter_map(|kv| kv.value.as_mut())
            .map(|v| self.mask_value(v))
            .sum()
    }

    fn mask_exemplars(&self, exemplars: &mut [Exemplar]) -> u64 {
        exemplars
            .iter_mut()
            .map(|e| self.mask_attributes(&mut e.filtered_attributes))
            .sum()
    }

    fn mask_metric(&self, metric: &mut Metric) -> u64 {
        let mut n = 0;
        match &mut metric.data {
            Some(Data::Gauge(g)) => {
                for p in &mut g.data_points {
                    n += self.mask_attributes(&mut p.attributes)
                        + self.mask_exemplars(&mut p.exemplars);
                }
            }
            Some(Data::Sum(s)) => {
                for p in &mut s.data_points {
                    n += self.mask_attributes(&mut p.attributes)
                        + self.mask_exemplars(&mut p.exemplars);
                }
            }
            Some(Data::Histogram(h)) => {
                for p in &mut h.data_points {
                    n += self.mask_attributes(&mut p.attributes)
                        + self.mask_exemplars(&mut p.exemplars);
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                for p in &mut h.data_points {
                    n += self.mask_attributes(&mut p.attributes)
                        + self.mask_exemplars(&mut p.exemplars);
                }
            }
            Some(Data::Summary(s)) => {
                for p in &mut s.data_points {
                    n += self.mask_attributes(&mut p.attributes);
                }
            }
            None => {}
        }
        n
    }

    fn traces(&self, request: &mut ExportTraceServiceRequest) -> u64 {
        let mut n = 0;
        for rs in &mut request.resource_spans {
            if let Some(r) = &mut rs.resource {
                n += self.mask_attributes(&mut r.attributes);
            }
            for ss in &mut rs.scope_spans {
                if let Some(s) = &mut ss.scope {
                    n += self.mask_attributes(&mut s.attributes);
                }
                for span in &mut ss.spans {
                    n += self.mask_attributes(&mut span.attributes);
                    for event in &mut span.events {
                        n += self.mask_attributes(&mut event.attributes);
                    }
                    for link in &mut span.links {
                        n += self.mask_attributes(&mut link.attributes);
                    }
                }
            }
        }
        n
    }

    fn metrics(&self, request: &mut ExportMetricsServiceRequest) -> u64 {
        let mut n = 0;
        for rm in &mut request.resource_metrics {
            if let Some(r) = &mut rm.resource {
                n += self.mask_attributes(&mut r.attributes);
            }
            for sm in &mut rm.scope_metrics {
                if let Some(s) = &mut sm.scope {
                    n += self.mask_attributes(&mut s.attributes);
                }
                for metric in &mut sm.metrics {
                    n += self.mask_metric(metric);
                }
            }
        }
        n
    }

    fn logs(&self, request: &mut ExportLogsServiceRequest) -> u64 {
        let mut n = 0;
        for rl in &mut request.resource_logs {
            if let Some(r) = &mut rl.resource {
                n += self.mask_attributes(&mut r.attributes);
            }
            for sl in &mut rl.scope_logs {
                if let Some(s) = &mut sl.scope {
                    n += self.mask_attributes(&mut s.attributes);
                }
                for record in &mut sl.log_records {
                    n += self.mask_attributes(&mut record.attributes);
                    if self.bodies
                        && let Some(body) = &mut record.body
                    {
                        n += self.mask_value(body);
                    }
                }
            }
        }
        n
    }

    /// The masked request's bytes, or `None` when nothing matched.
    fn redact(&self, signal: Signal, data: &[u8]) -> Result<Option<(Vec<u8>, u64)>, Error> {
        let invalid = |e: prost::DecodeError| {
            Error::InvalidArgument(format!("not an OTLP {} request: {e}", signal.as_str()))
        };
        let (bytes, n) = match signal {
            Signal::Traces => {
                let mut r = ExportTraceServiceRequest::decode(data).map_err(invalid)?;
                let n = self.traces(&mut r);
                (r.encode_to_vec(), n)
            }
            Signal::Metrics => {
                let mut r = ExportMetricsServiceRequest::decode(data).map_err(invalid)?;
                let n = self.metrics(&mut r);
                (r.encode_to_vec(), n)
            }
            Signal::Logs => {
                let mut r = ExportLogsServiceRequest::decode(data).map_err(invalid)?;
                let n = self.logs(&mut r);
                (r.encode_to_vec(), n)
            }
        };
        Ok((n > 0).then_some((bytes, n)))
    }
}

impl Processor for Redact {
    type Config = RedactConfig;
    const TYPE: &'static str = "redact";
    const SIGNALS: &'static [Signal] = Signal::ALL;

    fn create(config: RedactConfig, _host: Host) -> Result<Self, Error> {
        if config.patterns.is_empty() {
            return Err(Error::InvalidArgument(
                "patterns: at least one is needed".into(),
            ));
        }
        let patterns = config
            .patterns
            .iter()
            .map(|p| regex::Regex::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::InvalidArgument(format!("patterns: {e}")))?;
        let any = RegexSet::new(&config.patterns)
            .map_err(|e| Error::InvalidArgument(format!("patterns: {e}")))?;
        Ok(Redact {
            patterns,
            any,
            mask: config.mask,
            keys: config.keys,
            bodies: config.bodies,
        })
    }

    fn process(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error> {
        match self.redact(signal, data)? {
            Some((bytes, masked)) => {
                out.counter("masked_values", masked);
                out.emit(signal, &bytes)
            }
            None => out.emit(signal, data),
        }
    }
}

export_plugin!(processor Redact);

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use weir_plugin_sdk::abi;
    use weir_plugin_sdk::testing::TestHost;

    use super::*;

    fn s(v: &str) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(Value::StringValue(v.to_string())),
        })
    }

    fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value,
            ..Default::default()
        }
    }

    fn logs() -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("owner", s("alice@example.com"))],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        body: s("card 4111-1111-1111-1111 declined"),
                        attributes: vec![
                            kv("card", s("4111-1111-1111-1111")),
                            kv(
                                "count",
                                Some(AnyValue {
                                    value: Some(Value::IntValue(4111)),
                                }),
                            ),
                            kv(
                                "nested",
                                Some(AnyValue {
                                    value: Some(Value::KvlistValue(KeyValueList {
                                        values: vec![kv(
                                            "list",
                                            Some(AnyValue {
                                                value: Some(Value::ArrayValue(ArrayValue {
                                                    values: vec![s("bob@example.org").unwrap()],
                                                })),
                                            }),
                                        )],
                                    })),
                                }),
                            ),
                        ],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn config() -> serde_json::Value {
        serde_json::json!({
            "patterns": [r"\d{4}-\d{4}-\d{4}-\d{4}", r"[\w.]+@[\w.]+"],
            "mask": "<redacted>",
            "bodies": true,
        })
    }

    #[test]
    fn masks_matches_everywhere_including_nested_values_and_bodies() {
        let host = TestHost::new();
        let mut redact = host.processor::<Redact>(config()).unwrap();
        let input = logs().encode_to_vec();
        assert_eq!(redact.consume(Signal::Logs, &input), abi::WEIR_OK);
        let emitted = host.emitted();
        assert_eq!(emitted.len(), 1);
        assert!(!emitted[0].borrowed_input);
        let out = ExportLogsServiceRequest::decode(emitted[0].data.as_slice()).unwrap();
        let rl = &out.resource_logs[0];
        assert_eq!(
            rl.resource.as_ref().unwrap().attributes[0].value,
            s("<redacted>")
        );
        let record = &rl.scope_logs[0].log_records[0];
        assert_eq!(record.body, s("card <redacted> declined"));
        assert_eq!(record.attributes[0].value, s("<redacted>"));
        // Not a string: untouched even though it would match as text.
        assert_eq!(
            record.attributes[1].value,
            Some(AnyValue {
                value: Some(Value::IntValue(4111))
            })
        );
        let mut expected = logs();
        let nested = &mut expected.resource_logs[0].scope_logs[0].log_records[0].attributes[2];
        if let Some(AnyValue {
            value: Some(Value::KvlistValue(list)),
        }) = &mut nested.value
            && let Some(AnyValue {
                value: Some(Value::ArrayValue(array)),
            }) = &mut list.values[0].value
        {
            array.values[0] = s("<redacted>").unwrap();
        }
        assert_eq!(
            record.attributes[2],
            expected.resource_logs[0].scope_logs[0].log_records[0].attributes[2]
        );
        assert_eq!(host.counters().get("masked_values"), Some(&4));
    }

    #[test]
    fn keys_limit_what_is_examined() {
        let host = TestHost::new();
        let mut config = config();
        config["keys"] = serde_json::json!(["owner"]);
        config["bodies"] = serde_json::json!(false);
        let mut redact = host.processor::<Redact>(config).unwrap();
        assert_eq!(
            redact.consume(Signal::Logs, &logs().encode_to_vec()),
            abi::WEIR_OK
        );
        let out = ExportLogsServiceRequest::decode(host.emitted()[0].data.as_slice()).unwrap();
        let record = &out.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.attributes[0].value, s("4111-1111-1111-1111"));
        assert_eq!(record.body, s("card 4111-1111-1111-1111 declined"));
        assert_eq!(host.counters().get("masked_values"), Some(&1));
    }

    #[test]
    fn nothing_to_mask_passes_the_input_bytes_on() {
        let host = TestHost::new();
        let mut redact = host
            .processor::<Redact>(serde_json::json!({"patterns": ["^never$"]}))
            .unwrap();
        let input = logs().encode_to_vec();
        assert_eq!(redact.consume(Signal::Logs, &input), abi::WEIR_OK);
        let emitted = host.emitted();
        assert!(
            emitted[0].borrowed_input,
            "the same buffer, so Weir copies nothing"
        );
        assert_eq!(emitted[0].data, input);
    }

    #[test]
    fn bad_regex_and_bad_bytes_are_invalid_arguments() {
        let host = TestHost::new();
        assert_eq!(
            host.processor::<Redact>(serde_json::json!({"patterns": ["("]}))
                .err(),
            Some(abi::WEIR_INVALID_ARGUMENT)
        );
        let mut redact = host.processor::<Redact>(config()).unwrap();
        assert_eq!(
            redact.consume(Signal::Traces, &[0xff, 0xff]),
            abi::WEIR_INVALID_ARGUMENT
        );
    }
}
