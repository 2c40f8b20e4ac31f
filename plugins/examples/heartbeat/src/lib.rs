//! `heartbeat`: a receiver that emits, at start and then every `interval`, one log record and
//! one data point of a monotonic counter (the number of heartbeats so far), under a resource
//! named by `service_name`. A pipeline that stops receiving them has stopped flowing; alert on
//! the counter's rate in the backend.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_plugin_sdk::{Error, Host, Receiver, Signal, export_plugin, logging, parse_duration};

fn default_interval() -> String {
    "10s".to_string()
}
fn default_service() -> String {
    "weir-heartbeat".to_string()
}
fn default_message() -> String {
    "heartbeat".to_string()
}
fn default_metric() -> String {
    "weir.heartbeat".to_string()
}
fn yes() -> bool {
    true
}

/// Config of the `heartbeat` receiver.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Time between heartbeats, as otelcol writes durations (`500ms`, `10s`, `1m30s`).
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = r"^(\d+(ms|s|m|h))+$"))]
    pub interval: String,
    /// `service.name` of the resource the heartbeats come from.
    #[serde(default = "default_service")]
    pub service_name: String,
    /// More resource attributes (string values).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Body of the heartbeat log record.
    #[serde(default = "default_message")]
    pub message: String,
    /// Name of the counter metric (a monotonic cumulative sum of heartbeats).
    #[serde(default = "default_metric")]
    pub metric_name: String,
    /// Emit the log record.
    #[serde(default = "yes")]
    pub logs: bool,
    /// Emit the metric.
    #[serde(default = "yes")]
    pub metrics: bool,
}

fn string(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(value.to_string())),
    })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value,
        ..Default::default()
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What one heartbeat thread needs.
struct Beat {
    host: Host,
    resource: Resource,
    scope: InstrumentationScope,
    message: String,
    metric_name: String,
    logs: bool,
    metrics: bool,
    started: SystemTime,
}

impl Beat {
    fn log_request(&self, sequence: u64, now: SystemTime) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(self.resource.clone()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(self.scope.clone()),
                    log_records: vec![LogRecord {
                        time_unix_nano: nanos(now),
                        observed_time_unix_nano: nanos(now),
                        severity_number: SeverityNumber::Info as i32,
                        severity_text: "INFO".into(),
                        body: string(&self.message),
                        attributes: vec![kv(
                            "heartbeat.sequence",
                            Some(AnyValue {
                                value: Some(Value::IntValue(sequence as i64)),
                            }),
                        )],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn metric_request(&self, count: u64, now: SystemTime) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(self.scope.clone()),
                    metrics: vec![Metric {
                        name: self.metric_name.clone(),
                        description: "Heartbeats emitted since the receiver started.".into(),
                        unit: "{heartbeat}".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                start_time_unix_nano: nanos(self.started),
                                time_unix_nano: nanos(now),
                                value: Some(number_data_point::Value::AsInt(count as i64)),
                                ..Default::default()
                            }],
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn beat(&self, sequence: u64) {
        let now = SystemTime::now();
        if self.logs {
            self.send(
                Signal::Logs,
                &self.log_request(sequence, now).encode_to_vec(),
            );
        }
        if self.metrics {
            self.send(
                Signal::Metrics,
                &self.metric_request(sequence, now).encode_to_vec(),
            );
        }
    }

    fn send(&self, signal: Signal, bytes: &[u8]) {
        match self.host.emit(signal, bytes) {
            Ok(()) => self.host.counter("emitted_batches", 1),
            Err(e) => {
                self.host.counter("refused_batches", 1);
                tracing::warn!(signal = signal.as_str(), error = %e, "heartbeat not taken by the pipeline");
            }
        }
    }
}

/// The `heartbeat` receiver.
pub struct Heartbeat {
    interval: Duration,
    beat: Option<Beat>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver for Heartbeat {
    type Config = HeartbeatConfig;
    const TYPE: &'static str = "heartbeat";
    const SIGNALS: &'static [Signal] = &[Signal::Metrics, Signal::Logs];

    fn create(config: HeartbeatConfig, host: Host) -> Result<Self, Error> {
        let interval = parse_duration(&config.interval)
            .map_err(|e| Error::InvalidArgument(format!("interval: {e}")))?;
        if interval.is_zero() {
            return Err(Error::InvalidArgument(
                "interval: must be more than 0".into(),
            ));
        }
        let mut attributes = vec![kv("service.name", string(&config.service_name))];
        attributes.extend(config.attributes.iter().map(|(k, v)| kv(k, string(v))));
        Ok(Heartbeat {
            interval,
            beat: Some(Beat {
                host,
                resource: Resource {
                    attributes,
                    ..Default::default()
                },
                scope: InstrumentationScope {
                    name: env!("CARGO_PKG_NAME").into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                },
                message: config.message,
                metric_name: config.metric_name,
                logs: config.logs,
                metrics: config.metrics,
                started: SystemTime::now(),
            }),
            stop: None,
            thread: None,
        })
    }

    fn start(&mut self) -> Result<(), Error> {
        let beat = self
            .beat
            .take()
            .ok_or_else(|| Error::Internal("started twice".into()))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = self.interval;
        let thread = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                logging::set_thread_host(beat.host);
                let mut sequence = 1;
                loop {
                    beat.beat(sequence);
                    sequence += 1;
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("spawning the heartbeat thread: {e}")))?;
        self.stop = Some(stop);
        self.thread = Some(thread);
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|_| Error::Internal("the heartbeat thread panicked".into()))?;
        }
        Ok(())
    }
}

export_plugin!(receiver Heartbeat);

#[cfg(test)]
mod tests {
    use weir_plugin_sdk::abi;
    use weir_plugin_sdk::testing::TestHost;

    use super::*;

    #[test]
    fn emits_a_log_and_a_counter_at_start_and_every_interval() {
        let host = TestHost::new();
        let mut hb = host
            .receiver::<Heartbeat>(serde_json::json!({
                "interval": "10ms",
                "service_name": "edge-1",
                "attributes": {"region": "eu"},
                "message": "still here",
            }))
            .unwrap();
        assert_eq!(hb.start(), abi::WEIR_OK);
        assert!(host.wait_for(Duration::from_secs(10), |h| h.emitted().len() >= 4));
        assert_eq!(hb.shutdown(), abi::WEIR_OK);
        let emitted = host.emitted();
        let log = emitted.iter().find(|e| e.signal == Signal::Logs).unwrap();
        let log = ExportLogsServiceRequest::decode(log.data.as_slice()).unwrap();
        let rl = &log.resource_logs[0];
        let resource = &rl.resource.as_ref().unwrap().attributes;
        assert_eq!(resource[0], kv("service.name", string("edge-1")));
        assert_eq!(resource[1], kv("region", string("eu")));
        assert_eq!(rl.scope_logs[0].log_records[0].body, string("still here"));
        let counts: Vec<i64> = emitted
            .iter()
            .filter(|e| e.signal == Signal::Metrics)
            .map(|e| {
                let m = ExportMetricsServiceRequest::decode(e.data.as_slice()).unwrap();
                let Some(metric::Data::Sum(sum)) =
                    &m.resource_metrics[0].scope_metrics[0].metrics[0].data
                else {
                    panic!("not a sum");
                };
                match sum.data_points[0].value {
                    Some(number_data_point::Value::AsInt(n)) => n,
                    _ => panic!("not an int"),
                }
            })
            .collect();
        assert_eq!(counts[..2], [1, 2]);
    }

    #[test]
    fn refused_heartbeats_are_counted_not_fatal() {
        let host = TestHost::new();
        host.answer_emits_with(abi::WEIR_FULL);
        let mut hb = host
            .receiver::<Heartbeat>(serde_json::json!({"interval": "5ms", "metrics": false}))
            .unwrap();
        assert_eq!(hb.start(), abi::WEIR_OK);
        assert!(host.wait_for(Duration::from_secs(10), |h| {
            h.counters().get("refused_batches").is_some_and(|n| *n >= 2)
        }));
        assert_eq!(hb.shutdown(), abi::WEIR_OK);
        assert!(
            host.logs()
                .iter()
                .any(|(_, l)| l.contains("heartbeat not taken"))
        );
    }
}
