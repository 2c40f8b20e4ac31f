//! Writes the seed corpora of the fuzz targets in `fuzz/`: small, valid inputs of each kind
//! (real OTLP requests of every signal and metric kind, their OTLP/JSON, gRPC frames plain and
//! compressed, the example configs), so fuzzing starts from the shapes that matter instead of
//! having to discover protobuf from nothing.
//!
//! `cargo run -p weir-core --example fuzz_seeds -- fuzz/corpus configs` (from the repository
//! root; `fuzz/run.sh` does not need it, the output is checked in). Rerun it when the input
//! layout of a target changes.

use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    exponential_histogram_data_point, metric, number_data_point, summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use weir_core::batch::json::encode_json;
use weir_core::batch::{Request, Signal};
use weir_core::net::compression::{Compression, compress};
use weir_core::net::grpc_codec::framed_message;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv(
                "service.name",
                any_value::Value::StringValue(service.into()),
            ),
            kv(
                "host.cores",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(any_value::Value::IntValue(2)),
                    }],
                }),
            ),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "seed".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

fn traces(resources: usize, spans: usize) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: (0..resources)
            .map(|r| ResourceSpans {
                resource: resource(&format!("svc-{r}")),
                scope_spans: vec![ScopeSpans {
                    scope: scope(),
                    spans: (0..spans)
                        .map(|i| Span {
                            trace_id: vec![r as u8 + 1; 16],
                            span_id: vec![i as u8 + 1; 8],
                            name: format!("span {i}"),
                            kind: span::SpanKind::Server as i32,
                            start_time_unix_nano: 1_700_000_000_000_000_000,
                            end_time_unix_nano: 1_700_000_000_100_000_000,
                            attributes: vec![kv("http.status", any_value::Value::IntValue(200))],
                            status: Some(Status {
                                message: "ok".into(),
                                code: 1,
                            }),
                            ..Default::default()
                        })
                        .collect(),
                    schema_url: String::new(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            })
            .collect(),
    })
}

fn number(value: f64) -> NumberDataPoint {
    NumberDataPoint {
        time_unix_nano: 1_700_000_000_000_000_000,
        value: Some(number_data_point::Value::AsDouble(value)),
        attributes: vec![kv("core", any_value::Value::IntValue(value as i64))],
        ..Default::default()
    }
}

fn metric(name: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(data),
        ..Default::default()
    }
}

/// One metric of each of the five kinds, with two points each.
fn metrics() -> Request {
    let metrics = vec![
        metric(
            "gauge",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(1.5), number(2.5)],
            }),
        ),
        metric(
            "sum",
            metric::Data::Sum(Sum {
                data_points: vec![number(3.0), number(4.0)],
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "histogram",
            metric::Data::Histogram(Histogram {
                data_points: (0..2)
                    .map(|i| HistogramDataPoint {
                        count: 3,
                        sum: Some(6.0 + f64::from(i)),
                        bucket_counts: vec![1, 2],
                        explicit_bounds: vec![2.5],
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "exponential",
            metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: (0..2)
                    .map(|i| ExponentialHistogramDataPoint {
                        count: 2,
                        scale: i,
                        zero_count: 1,
                        positive: Some(exponential_histogram_data_point::Buckets {
                            offset: -1,
                            bucket_counts: vec![1],
                        }),
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "summary",
            metric::Data::Summary(Summary {
                data_points: (0..2)
                    .map(|i| SummaryDataPoint {
                        count: 4,
                        sum: 10.0 + f64::from(i),
                        quantile_values: vec![summary_data_point::ValueAtQuantile {
                            quantile: 0.5,
                            value: 2.0,
                        }],
                        ..Default::default()
                    })
                    .collect(),
            }),
        ),
    ];
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("metered"),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

fn logs(records: usize) -> Request {
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("logger"),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: (0..records)
                    .map(|i| LogRecord {
                        time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("line {i}"))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

/// The signal selector byte the targets read (`weir_fuzz::signal_of`).
fn selector(signal: Signal) -> u8 {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("corpus directory");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn with_prefix(prefix: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(body);
    out
}

fn main() {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let corpus = args.next().unwrap_or_else(|| "fuzz/corpus".into());
    let configs = args.next().unwrap_or_else(|| "configs".into());

    let requests = [
        ("traces", traces(2, 2)),
        ("traces-empty", traces(0, 0)),
        ("metrics", metrics()),
        ("logs", logs(3)),
    ];
    for (name, request) in &requests {
        let sel = selector(request.signal());
        let proto = request.encode_to_bytes();
        write(
            &corpus.join("wire_walk"),
            name,
            &with_prefix(&[sel], &proto),
        );
        // Limit 1 and 3 cut inside resources and metrics; the first request is the whole input
        // and the second a copy of it, so concatenation is exercised too.
        for limit in [1u8, 3] {
            let mut input = vec![sel, limit];
            input.extend_from_slice(&(proto.len() as u16).to_le_bytes());
            input.extend_from_slice(&proto);
            input.extend_from_slice(&proto);
            write(
                &corpus.join("split_concat"),
                &format!("{name}-max{limit}"),
                &input,
            );
        }
        write(
            &corpus.join("otlp_json"),
            name,
            &with_prefix(&[sel], &encode_json(request)),
        );
        // Identity, gzip and zstd frames with room to spare (limit byte 255: 1020 bytes).
        for (enc, compression) in [
            (1u8, Compression::None),
            (2, Compression::Gzip),
            (3, Compression::Zstd),
        ] {
            let packed = compress(compression, &proto).expect("in memory");
            let frame = framed_message(!compression.is_none(), &packed);
            write(
                &corpus.join("grpc_frame"),
                &format!("{name}-{compression}"),
                &with_prefix(&[enc, 255], &frame),
            );
            let cap = (proto.len() as u16).to_le_bytes();
            write(
                &corpus.join("decompress"),
                &format!("{name}-{compression}"),
                &with_prefix(&[enc - 1, cap[0], cap[1]], &packed),
            );
        }
    }
    // OTLP/JSON as clients write it: snake_case names, enum names, numbers as strings, NaN.
    write(
        &corpus.join("otlp_json"),
        "spec-variants",
        &with_prefix(&[0], br#"{"resource_spans":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"AQI="}}]},"scope_spans":[{"spans":[{"trace_id":"5B8EFFF798038103D269B633813FC60C","span_id":"EEE19B7EC3C1B174","kind":"SPAN_KIND_CLIENT","start_time_unix_nano":"1544712660000000000","status":{"code":"STATUS_CODE_ERROR"},"attributes":[{"key":"d","value":{"doubleValue":"NaN"}},{"key":"kv","value":{"kvlistValue":{"values":[{"key":"i","value":{"intValue":"-7"}}]}}}]}]}]}]}"#),
    );

    let mut entries: Vec<_> = std::fs::read_dir(&configs)
        .expect("configs directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read(&path).expect("config file");
        let name = path.file_stem().expect("a file").to_string_lossy();
        write(&corpus.join("config_yaml"), &name, &text);
    }
    // A config with a `--set` after the NUL byte, as the target reads it.
    write(
        &corpus.join("config_yaml"),
        "with-set",
        b"receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: ${env:EP:-127.0.0.1:4317}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n\0exporters::debug::verbosity=detailed\n",
    );
}
