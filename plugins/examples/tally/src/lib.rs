//! `tally`: a connector that counts the spans and log records exported into it per
//! `service.name`, and emits the counts as cumulative monotonic sums into the metrics pipelines
//! it feeds: every `interval` from its own thread, and once more at shutdown so the last counts
//! are not lost. With `passthrough`, each batch also goes on unchanged (no copy) to the traces
//! or logs pipelines it feeds.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_plugin_sdk::{Connector, Error, Host, Signal, export_plugin, logging, parse_duration};

fn default_interval() -> String {
    "10s".to_string()
}
fn default_metric() -> String {
    "weir.tally.items".to_string()
}

/// Config of the `tally` connector.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TallyConfig {
    /// Time between emissions of the counts, as otelcol writes durations (`500ms`, `10s`).
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = r"^(\d+(ms|s|m|h))+$"))]
    pub interval: String,
    /// Name of the sum metric.
    #[serde(default = "default_metric")]
    pub metric_name: String,
    /// Also hand each batch on unchanged to the pipelines of its own signal.
    #[serde(default)]
    pub passthrough: bool,
}

/// Counts so far, by (signal, service name).
type Counts = BTreeMap<(Signal, String), u64>;

/// What the timer thread and the instance share.
struct Shared {
    counts: Mutex<Counts>,
    metric_name: String,
    started: SystemTime,
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn string(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(value.to_string())),
    })
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: string(value),
        ..Default::default()
    }
}

fn service_of(resource: Option<&Resource>) -> String {
    resource
        .into_iter()
        .flat_map(|r| &r.attributes)
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "unknown_service".to_string())
}

/// The items of one request per service.
fn count(signal: Signal, data: &[u8]) -> Result<Vec<(String, u64)>, Error> {
    let bad = |e: prost::DecodeError| {
        Error::InvalidArgument(format!("not OTLP {}: {e}", signal.as_str()))
    };
    Ok(match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(data)
            .map_err(bad)?
            .resource_spans
            .iter()
            .map(|rs| {
                let n = rs.scope_spans.iter().map(|ss| ss.spans.len() as u64).sum();
                (service_of(rs.resource.as_ref()), n)
            })
            .collect(),
        Signal::Logs => ExportLogsServiceRequest::decode(data)
            .map_err(bad)?
            .resource_logs
            .iter()
            .map(|rl| {
                let n = rl
                    .scope_logs
                    .iter()
                    .map(|sl| sl.log_records.len() as u64)
                    .sum();
                (service_of(rl.resource.as_ref()), n)
            })
            .collect(),
        Signal::Metrics => return Err(Error::Unsupported("tally counts spans and logs".into())),
    })
}

impl Shared {
    /// The counts as one metrics request (none when nothing was counted yet).
    fn snapshot(&self) -> Option<Vec<u8>> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.is_empty() {
            return None;
        }
        let now = nanos(SystemTime::now());
        let data_points = counts
            .iter()
            .map(|((signal, service), n)| NumberDataPoint {
                attributes: vec![kv("service.name", service), kv("signal", signal.as_str())],
                start_time_unix_nano: nanos(self.started),
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsInt(*n as i64)),
                ..Default::default()
            })
            .collect();
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource::default()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: env!("CARGO_PKG_NAME").into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics: vec![Metric {
                        name: self.metric_name.clone(),
                        description: "Spans and log records counted by the tally connector.".into(),
                        unit: "{item}".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points,
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        Some(request.encode_to_vec())
    }
}

/// The `tally` connector.
pub struct Tally {
    host: Host,
    interval: Duration,
    passthrough: bool,
    shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Connector for Tally {
    type Config = TallyConfig;
    const TYPE: &'static str = "tally";
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Metrics),
        (Signal::Logs, Signal::Metrics),
        (Signal::Traces, Signal::Traces),
        (Signal::Logs, Signal::Logs),
    ];

    fn create(config: TallyConfig, host: Host) -> Result<Self, Error> {
        let interval = parse_duration(&config.interval)
            .map_err(|e| Error::InvalidArgument(format!("interval: {e}")))?;
        if interval.is_zero() {
            return Err(Error::InvalidArgument(
                "interval: must be more than 0".into(),
            ));
        }
        Ok(Tally {
            host,
            interval,
            passthrough: config.passthrough,
            shared: Arc::new(Shared {
                counts: Mutex::new(Counts::new()),
                metric_name: config.metric_name,
                started: SystemTime::now(),
            }),
            stop: None,
            thread: None,
        })
    }

    fn start(&mut self) -> Result<(), Error> {
        let (stop, stopped) = mpsc::channel::<()>();
        let (host, shared, interval) = (self.host, self.shared.clone(), self.interval);
        let thread = std::thread::Builder::new()
            .name("tally".into())
            .spawn(move || {
                logging::set_thread_host(host);
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    // Cumulative sums: a tick the pipelines refused is made good by the next.
                    if let Some(bytes) = shared.snapshot()
                        && let Err(e) = host.emit(Signal::Metrics, &bytes)
                    {
                        host.counter("refused_emits", 1);
                        tracing::warn!(error = %e, "tally counts not taken by the pipeline");
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("spawning the tally thread: {e}")))?;
        self.stop = Some(stop);
        self.thread = Some(thread);
        Ok(())
    }

    fn consume(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error> {
        let counted = count(signal, data)?;
        if self.passthrough {
            out.emit(signal, data)?;
        }
        let mut counts = self.shared.counts.lock().unwrap_or_else(|e| e.into_inner());
        for (service, n) in counted {
            *counts.entry((signal, service)).or_default() += n;
        }
        Ok(())
    }

    fn shutdown(&mut self, out: &Host) -> Result<(), Error> {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|_| Error::Internal("the tally thread panicked".into()))?;
        }
        match self.shared.snapshot() {
            Some(bytes) => out.emit(Signal::Metrics, &bytes),
            None => Ok(()),
        }
    }
}

export_plugin!(connector Tally);

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use weir_plugin_sdk::abi;
    use weir_plugin_sdk::testing::TestHost;

    use super::*;

    fn resource(service: &str) -> Option<Resource> {
        Some(Resource {
            attributes: vec![kv("service.name", service)],
            ..Default::default()
        })
    }

    fn spans(service: &str, n: usize) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: resource(service),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(); n],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    fn logs(service: &str, n: usize) -> Vec<u8> {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource(service),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default(); n],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    /// (service, signal, value) of every point of an emitted metrics request.
    fn points(data: &[u8]) -> Vec<(String, String, i64)> {
        let request = ExportMetricsServiceRequest::decode(data).unwrap();
        let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(metric.name, "weir.tally.items");
        let Some(metric::Data::Sum(sum)) = &metric.data else {
            panic!("not a sum");
        };
        assert!(sum.is_monotonic);
        sum.data_points
            .iter()
            .map(|p| {
                let text = |i: usize| match &p.attributes[i].value.as_ref().unwrap().value {
                    Some(Value::StringValue(s)) => s.clone(),
                    other => panic!("{other:?}"),
                };
                let Some(number_data_point::Value::AsInt(n)) = p.value else {
                    panic!("not an int");
                };
                (text(0), text(1), n)
            })
            .collect()
    }

    #[test]
    fn counts_per_service_and_signal_are_emitted_at_shutdown() {
        let host = TestHost::new();
        let mut tally = host
            .connector::<Tally>(serde_json::json!({"interval": "1h"}))
            .unwrap();
        assert_eq!(tally.start(), abi::WEIR_OK);
        assert_eq!(
            tally.consume(Signal::Traces, &spans("cart", 3)),
            abi::WEIR_OK
        );
        assert_eq!(
            tally.consume(Signal::Traces, &spans("cart", 2)),
            abi::WEIR_OK
        );
        assert_eq!(tally.consume(Signal::Logs, &logs("pay", 4)), abi::WEIR_OK);
        assert!(host.emitted().is_empty(), "nothing before the interval");
        assert_eq!(tally.shutdown(), abi::WEIR_OK);
        let emitted = host.emitted();
        assert_eq!(emitted.len(), 1);
        assert_eq!(emitted[0].signal, Signal::Metrics);
        assert_eq!(
            points(&emitted[0].data),
            vec![
                ("cart".to_string(), "traces".to_string(), 5),
                ("pay".to_string(), "logs".to_string(), 4),
            ]
        );
    }

    #[test]
    fn the_timer_emits_cumulative_counts_every_interval() {
        let host = TestHost::new();
        let mut tally = host
            .connector::<Tally>(serde_json::json!({"interval": "10ms"}))
            .unwrap();
        assert_eq!(tally.start(), abi::WEIR_OK);
        assert_eq!(
            tally.consume(Signal::Traces, &spans("cart", 3)),
            abi::WEIR_OK
        );
        assert!(host.wait_for(Duration::from_secs(10), |h| !h.emitted().is_empty()));
        assert_eq!(
            tally.consume(Signal::Traces, &spans("cart", 1)),
            abi::WEIR_OK
        );
        assert!(host.wait_for(Duration::from_secs(10), |h| {
            h.emitted()
                .last()
                .is_some_and(|e| points(&e.data)[0].2 == 4)
        }));
        assert_eq!(tally.shutdown(), abi::WEIR_OK);
    }

    #[test]
    fn passthrough_hands_the_batch_on_unchanged() {
        let host = TestHost::new();
        let mut tally = host
            .connector::<Tally>(serde_json::json!({"interval": "1h", "passthrough": true}))
            .unwrap();
        assert_eq!(tally.start(), abi::WEIR_OK);
        let batch = spans("cart", 2);
        assert_eq!(tally.consume(Signal::Traces, &batch), abi::WEIR_OK);
        let emitted = host.take_emitted();
        assert_eq!(emitted.len(), 1);
        assert_eq!(
            (emitted[0].signal, emitted[0].data.as_slice()),
            (Signal::Traces, &batch[..])
        );
        assert_eq!(tally.shutdown(), abi::WEIR_OK);
    }

    #[test]
    fn malformed_input_is_refused_and_counts_nothing() {
        let host = TestHost::new();
        let mut tally = host
            .connector::<Tally>(serde_json::json!({"interval": "1h"}))
            .unwrap();
        assert_eq!(tally.start(), abi::WEIR_OK);
        assert_eq!(
            tally.consume(Signal::Traces, &[0x0a, 0xff, 0xff]),
            abi::WEIR_INVALID_ARGUMENT
        );
        assert_eq!(tally.shutdown(), abi::WEIR_OK);
        assert!(host.emitted().is_empty());
    }
}
