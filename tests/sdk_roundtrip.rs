//! The OpenTelemetry Rust SDK sends traces, metrics and logs to Weir over OTLP/gRPC,
//! OTLP/HTTP+protobuf and OTLP/HTTP+JSON; Weir (`otlp` receiver → `batch` → `otlp` and
//! `otlphttp` exporters, fanned out) forwards them to the capture backend; every resource,
//! scope, attribute, event, link, id and data point must arrive unchanged, exactly once, on both
//! exporters.
//!
//! What the SDK sent is known exactly: each SDK exporter is wrapped in a tee that converts the
//! batch it is given with `opentelemetry_proto::transform` (the conversion the SDK's own OTLP
//! exporters use) before handing the same batch to the real OTLP exporter. The two sides are
//! compared after flattening into one item per request (spans, log records and data points each
//! with their resource and scope), because batching may regroup them.
//!
//! The SDK's batch processors export from their own threads, outside any tokio runtime, while
//! the OTLP clients (tonic, async reqwest) need one; the tee polls the export future inside the
//! test's runtime context (`Handle::enter`) so the clients find it.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime};

use common::capture::{Capture, Signal, Transport};
use common::otlp::{assert_same_items, flatten_logs, flatten_metrics, flatten_spans};
use common::weir::Weir;
use common::{DEADLINE, Ports, weir_yaml};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
    TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics as ProtoResourceMetrics;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tokio::runtime::Handle;

/// How the SDK talks to Weir.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    Grpc,
    HttpProto,
    HttpJson,
}

const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

// ---- running an export future inside the test's runtime ----------------------------------

/// Polls `F` with the runtime entered, so tokio-based clients work on the SDK's own threads.
struct InRuntime<F> {
    handle: Handle,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for InRuntime<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = this.handle.enter();
        this.future.as_mut().poll(cx)
    }
}

fn in_runtime<F: Future>(handle: &Handle, future: F) -> InRuntime<F> {
    InRuntime {
        handle: handle.clone(),
        future: Box::pin(future),
    }
}

/// What a tee saw: the batches as OTLP protos, and any export that failed.
#[derive(Debug, Default)]
struct Seen<T> {
    items: Mutex<Vec<T>>,
    failures: Mutex<Vec<String>>,
}

impl<T: Clone> Seen<T> {
    fn items(&self) -> Vec<T> {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, items: impl IntoIterator<Item = T>) {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(items);
    }

    fn result(&self, result: &OTelSdkResult) {
        if let Err(e) = result {
            self.failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{e:?}"));
        }
    }
}

// ---- tee exporters -------------------------------------------------------------------------

#[derive(Debug)]
struct TeeSpans {
    otlp: opentelemetry_otlp::SpanExporter,
    handle: Handle,
    resource: Resource,
    seen: Arc<Seen<ResourceSpans>>,
}

impl SpanExporter for TeeSpans {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource = ResourceAttributesWithSchema::from(&self.resource);
        self.seen
            .record(group_spans_by_resource_and_scope(batch.clone(), &resource));
        let seen = self.seen.clone();
        let export = self.otlp.export(batch);
        in_runtime(&self.handle, async move {
            let result = export.await;
            seen.result(&result);
            result
        })
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _entered = self.handle.enter();
        self.otlp.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
        self.otlp.set_resource(resource);
    }
}

#[derive(Debug)]
struct TeeLogs {
    otlp: opentelemetry_otlp::LogExporter,
    handle: Handle,
    resource: Resource,
    seen: Arc<Seen<ResourceLogs>>,
}

impl LogExporter for TeeLogs {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource = ResourceAttributesWithSchema::from(&self.resource);
        self.seen
            .record(group_logs_by_resource_and_scope(&batch, &resource));
        let seen = self.seen.clone();
        let export = self.otlp.export(batch);
        in_runtime(&self.handle, async move {
            let result = export.await;
            seen.result(&result);
            result
        })
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _entered = self.handle.enter();
        self.otlp.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
        self.otlp.set_resource(resource);
    }
}

#[derive(Debug)]
struct TeeMetrics {
    otlp: opentelemetry_otlp::MetricExporter,
    handle: Handle,
    seen: Arc<Seen<ProtoResourceMetrics>>,
}

impl PushMetricExporter for TeeMetrics {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        self.seen
            .record(ExportMetricsServiceRequest::from(metrics).resource_metrics);
        let seen = self.seen.clone();
        let export = self.otlp.export(metrics);
        in_runtime(&self.handle, async move {
            let result = export.await;
            seen.result(&result);
            result
        })
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.otlp.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _entered = self.handle.enter();
        self.otlp.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.otlp.temporality()
    }
}

// ---- the SDK's exporters pointed at Weir -------------------------------------------------------

fn protocol(wire: Wire) -> Protocol {
    match wire {
        Wire::Grpc => Protocol::Grpc,
        Wire::HttpProto => Protocol::HttpBinary,
        Wire::HttpJson => Protocol::HttpJson,
    }
}

fn span_exporter(wire: Wire, ports: &Ports) -> opentelemetry_otlp::SpanExporter {
    let built = match wire {
        Wire::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://127.0.0.1:{}", ports.grpc))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        Wire::HttpProto | Wire::HttpJson => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol(wire))
            .with_endpoint(ports.http_url("traces"))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    };
    built.expect("building the SDK's OTLP span exporter")
}

fn log_exporter(wire: Wire, ports: &Ports) -> opentelemetry_otlp::LogExporter {
    let built = match wire {
        Wire::Grpc => opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://127.0.0.1:{}", ports.grpc))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        Wire::HttpProto | Wire::HttpJson => opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_protocol(protocol(wire))
            .with_endpoint(ports.http_url("logs"))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    };
    built.expect("building the SDK's OTLP log exporter")
}

fn metric_exporter(
    wire: Wire,
    ports: &Ports,
    temporality: Temporality,
) -> opentelemetry_otlp::MetricExporter {
    let built = match wire {
        Wire::Grpc => opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_temporality(temporality)
            .with_endpoint(format!("http://127.0.0.1:{}", ports.grpc))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        Wire::HttpProto | Wire::HttpJson => opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_temporality(temporality)
            .with_protocol(protocol(wire))
            .with_endpoint(ports.http_url("metrics"))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    };
    built.expect("building the SDK's OTLP metric exporter")
}

// ---- what the SDK produces ---------------------------------------------------------------------

/// A resource with attributes of every type and a schema URL, on top of the SDK's own
/// detected attributes (`telemetry.sdk.*`, `service.name`).
fn resource(wire: Wire) -> Resource {
    Resource::builder()
        .with_service_name("weir-e2e")
        .with_schema_url(
            [
                KeyValue::new("deployment.environment.name", "test"),
                KeyValue::new("host.cpu.count", 2i64),
                KeyValue::new("sample.ratio", 0.25f64),
                KeyValue::new("is.canary", true),
                KeyValue::new("wire", format!("{wire:?}")),
                KeyValue::new(
                    "zones",
                    Value::Array(Array::String(vec!["a".into(), "b".into()])),
                ),
            ],
            "https://opentelemetry.io/schemas/1.26.0",
        )
        .build()
}

fn scope_a() -> InstrumentationScope {
    InstrumentationScope::builder("weir.e2e.alpha")
        .with_version("1.2.3")
        .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
        .with_attributes([
            KeyValue::new("scope.flag", true),
            KeyValue::new("scope.count", 3i64),
        ])
        .build()
}

fn scope_b() -> InstrumentationScope {
    InstrumentationScope::builder("weir.e2e.beta").build()
}

/// Attributes of every type the API has: string, int, double, bool, and arrays of each.
fn every_attribute_type(i: i64) -> Vec<KeyValue> {
    vec![
        KeyValue::new("attr.string", format!("value-{i}")),
        KeyValue::new("attr.empty_string", ""),
        KeyValue::new("attr.int", i),
        KeyValue::new("attr.negative_int", -i - 1_000_000_000_000),
        KeyValue::new("attr.double", i as f64 + 0.5),
        KeyValue::new("attr.bool", i % 2 == 0),
        KeyValue::new(
            "attr.bool_array",
            Value::Array(Array::Bool(vec![true, false])),
        ),
        KeyValue::new(
            "attr.int_array",
            Value::Array(Array::I64(vec![i, -1, i64::MAX])),
        ),
        KeyValue::new(
            "attr.double_array",
            Value::Array(Array::F64(vec![1.5, -0.0, 1e300])),
        ),
        KeyValue::new(
            "attr.string_array",
            Value::Array(Array::String(vec![
                StringValue::from("x"),
                StringValue::from("ünïcödé ✓"),
            ])),
        ),
    ]
}

/// Emits spans of every kind, in two scopes, with parents local and remote, a trace state,
/// events, links and every status. Returns how many spans were ended.
fn emit_spans(provider: &SdkTracerProvider) -> usize {
    let alpha = provider.tracer_with_scope(scope_a());
    let beta = provider.tracer_with_scope(scope_b());
    let mut ended = 0;
    for i in 0..4i64 {
        let mut root = alpha
            .span_builder(format!("root-{i}"))
            .with_kind(SpanKind::Server)
            .with_attributes(every_attribute_type(i))
            .start(&alpha);
        root.add_event(
            "request.received",
            vec![KeyValue::new("bytes", 512 * i), KeyValue::new("ok", true)],
        );
        root.add_event_with_timestamp(
            "timed.event",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64),
            vec![],
        );
        let root_context = root.span_context().clone();
        let cx = opentelemetry::Context::current_with_span(root);

        let mut client = alpha
            .span_builder(format!("client-{i}"))
            .with_kind(SpanKind::Client)
            .start_with_context(&alpha, &cx);
        client.set_attribute(KeyValue::new("http.request.method", "GET"));
        client.set_status(Status::error(format!("upstream failed {i}")));
        client.end();
        ended += 1;

        let mut producer = beta
            .span_builder(format!("producer-{i}"))
            .with_kind(SpanKind::Producer)
            .with_links(vec![Link::new(
                root_context.clone(),
                vec![
                    KeyValue::new("link.reason", "fan-out"),
                    KeyValue::new("link.index", i),
                ],
                0,
            )])
            .start_with_context(&beta, &cx);
        producer.set_status(Status::Ok);
        producer.end();
        ended += 1;

        // A consumer continuing a trace from elsewhere: remote parent with a trace state.
        let remote = SpanContext::new(
            TraceId::from_bytes([
                0xab,
                0xcd,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                i as u8 + 1,
            ]),
            SpanId::from_bytes([0x12, 0x34, 0, 0, 0, 0, 0, i as u8 + 1]),
            TraceFlags::SAMPLED,
            true,
            TraceState::from_key_value([("vendor", format!("v{i}")), ("other", "x".to_string())])
                .expect("valid trace state"),
        );
        let remote_cx = opentelemetry::Context::new().with_remote_span_context(remote);
        let mut consumer = beta
            .span_builder(format!("consumer-{i}"))
            .with_kind(SpanKind::Consumer)
            .with_links(vec![Link::with_context(root_context)])
            .start_with_context(&beta, &remote_cx);
        consumer.add_event("message.processed", vec![KeyValue::new("queue", "orders")]);
        consumer.end();
        ended += 1;

        let mut internal = beta
            .span_builder(format!("internal-{i}"))
            .with_kind(SpanKind::Internal)
            .start(&beta);
        internal.set_attribute(KeyValue::new("attr.int", i));
        internal.end();
        ended += 1;

        cx.span().end();
        ended += 1;
    }
    ended
}

/// Emits log records with bodies of every type, severities, attributes, trace context, event
/// names, and a target that overrides the scope name. Returns how many were emitted.
fn emit_logs(provider: &SdkLoggerProvider) -> usize {
    let alpha = provider.logger_with_scope(scope_a());
    let beta = provider.logger_with_scope(scope_b());
    let bodies: Vec<AnyValue> = vec![
        AnyValue::String("plain text body".into()),
        AnyValue::Int(-42),
        AnyValue::Double(3.25),
        AnyValue::Boolean(true),
        AnyValue::Bytes(Box::new(vec![0, 1, 2, 254, 255])),
        AnyValue::ListAny(Box::new(vec![
            AnyValue::Int(1),
            AnyValue::String("two".into()),
            AnyValue::Boolean(false),
        ])),
        AnyValue::Map(Box::new(
            [
                ("user".into(), AnyValue::String("ada".into())),
                (
                    "nested".into(),
                    AnyValue::Map(Box::new(
                        [("depth".into(), AnyValue::Int(2))].into_iter().collect(),
                    )),
                ),
            ]
            .into_iter()
            .collect(),
        )),
    ];
    let severities = [
        (Severity::Trace, "TRACE"),
        (Severity::Debug, "DEBUG"),
        (Severity::Info, "INFO"),
        (Severity::Warn, "WARN"),
        (Severity::Error, "ERROR"),
        (Severity::Fatal, "FATAL"),
        (Severity::Info3, "INFO3"),
    ];
    let mut emitted = 0;
    for (i, body) in bodies.into_iter().enumerate() {
        let (severity, text) = severities[i % severities.len()];
        let logger = if i % 2 == 0 { &alpha } else { &beta };
        let mut record = logger.create_log_record();
        record.set_body(body);
        record.set_severity_number(severity);
        record.set_severity_text(text);
        record.set_timestamp(
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + i as u64),
        );
        record.add_attribute("log.index", i as i64);
        record.add_attribute("log.text", format!("attr-{i}"));
        record.add_attribute("log.double", i as f64 / 4.0);
        record.add_attribute("log.bool", i % 3 == 0);
        record.add_attribute(
            "log.list",
            AnyValue::ListAny(Box::new(vec![
                AnyValue::Int(i as i64),
                AnyValue::Double(0.5),
            ])),
        );
        if i % 2 == 1 {
            record.set_trace_context(
                TraceId::from_bytes([7; 16]),
                SpanId::from_bytes([i as u8 + 1; 8]),
                Some(TraceFlags::SAMPLED),
            );
        }
        if i == 3 {
            record.set_event_name("weir.e2e.event");
        }
        if i == 4 {
            record.set_target("weir.e2e.target");
        }
        logger.emit(record);
        emitted += 1;
    }
    // A record with nothing but a body: every optional field left empty.
    let mut bare = beta.create_log_record();
    bare.set_body(AnyValue::String("bare".into()));
    beta.emit(bare);
    emitted + 1
}

/// Records on counters, an up-down counter, histograms and gauges, in two scopes, with
/// several attribute sets each.
fn emit_metrics(provider: &SdkMeterProvider) {
    let alpha = provider.meter_with_scope(scope_a());
    let beta = provider.meter_with_scope(scope_b());
    let requests = alpha
        .u64_counter("e2e.requests")
        .with_description("Requests handled")
        .with_unit("{request}")
        .build();
    let bytes = alpha.f64_counter("e2e.bytes").with_unit("By").build();
    let inflight = alpha
        .i64_up_down_counter("e2e.inflight")
        .with_description("In flight")
        .build();
    let latency = alpha
        .f64_histogram("e2e.latency")
        .with_unit("ms")
        .with_boundaries(vec![1.0, 5.0, 25.0, 100.0])
        .build();
    let sizes = beta.u64_histogram("e2e.sizes").build();
    let temperature = beta.f64_gauge("e2e.temperature").with_unit("Cel").build();
    let queue = beta.i64_gauge("e2e.queue").build();
    let threads = beta.u64_gauge("e2e.threads").build();
    for (i, route) in ["/a", "/b", "/c"].iter().enumerate() {
        let attrs = [
            KeyValue::new("route", *route),
            KeyValue::new("code", 200 + i as i64),
        ];
        requests.add(5 + i as u64, &attrs);
        bytes.add(1024.5 * (i as f64 + 1.0), &attrs);
        inflight.add(10, &attrs);
        inflight.add(-3 - i as i64, &attrs);
        for v in [0.5, 3.0, 12.0, 80.0, 500.0] {
            latency.record(v * (i as f64 + 1.0), &attrs);
        }
        sizes.record(100 * (i as u64 + 1), &[KeyValue::new("kind", "payload")]);
        temperature.record(20.5 + i as f64, &attrs);
        queue.record(-(i as i64), &attrs);
        threads.record(
            8,
            &[
                KeyValue::new("pool", *route),
                KeyValue::new("busy", i % 2 == 0),
            ],
        );
    }
    requests.add(1, &[]);
}

// ---- Weir and the comparison -------------------------------------------------------------------

/// Field order is drop order: Weir stops before the backend it exports to goes away.
struct Setup {
    weir: Weir,
    capture: Capture,
    ports: Ports,
}

/// Weir with `otlp` receiver → `batch` → `otlp` (gRPC) and `otlphttp` exporters, both to the
/// capture backend, for one pipeline.
fn start(pipeline: &str, otlphttp_extra: &str) -> Setup {
    let capture = Capture::start();
    let ports = Ports::free();
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        Some("timeout: 100ms"),
        &[
            (
                "otlp",
                format!(
                    "endpoint: \"{}\", headers: {{ x-exporter: otlp }}",
                    capture.grpc_endpoint()
                ),
            ),
            (
                "otlphttp",
                format!(
                    "endpoint: \"{}\", headers: {{ x-exporter: otlphttp }}{otlphttp_extra}",
                    capture.http_endpoint()
                ),
            ),
        ],
        &[(pipeline, &["otlp", "otlphttp"])],
    );
    let weir = Weir::start(&yaml, &ports.all());
    Setup {
        capture,
        ports,
        weir,
    }
}

/// Waits until both exporters delivered `n` items, stops Weir (so nothing more can arrive) and
/// checks it exited cleanly.
async fn deliver_and_stop(setup: Setup, signal: Signal, n: usize) -> Capture {
    let Setup { capture, weir, .. } = setup;
    for transport in [Transport::Grpc, Transport::Http] {
        let arrived = capture
            .wait_for_items_async(transport, signal, n, DEADLINE)
            .await;
        assert!(
            arrived,
            "{transport:?} exporter delivered {} of {n} items; {}\nweir logs:\n{}",
            capture.accepted_items(transport, signal),
            capture.summary(),
            weir.logs()
        );
    }
    let stopped = tokio::task::spawn_blocking(move || weir.stop())
        .await
        .expect("stop task");
    assert!(
        stopped.status.success(),
        "weir exited with {}",
        stopped.status
    );
    for call in capture.calls() {
        let exporter = if call.transport == Transport::Grpc {
            "otlp"
        } else {
            "otlphttp"
        };
        assert_eq!(
            call.header("x-exporter"),
            Some(exporter),
            "configured header missing on a {:?} call: {:?}",
            call.transport,
            call.headers
        );
    }
    capture
}

async fn traces_roundtrip(wire: Wire) {
    let setup = start("traces", "");
    let seen = Arc::new(Seen::default());
    let tee = TeeSpans {
        otlp: span_exporter(wire, &setup.ports),
        handle: Handle::current(),
        resource: Resource::builder_empty().build(),
        seen: seen.clone(),
    };
    let ended = tokio::task::spawn_blocking(move || {
        let provider = SdkTracerProvider::builder()
            .with_resource(resource(wire))
            .with_batch_exporter(tee)
            .build();
        let ended = emit_spans(&provider);
        provider
            .shutdown()
            .expect("SDK tracer provider shuts down (flushing its spans)");
        ended
    })
    .await
    .expect("SDK thread");
    assert!(
        seen.failures().is_empty(),
        "the SDK's exports to Weir failed: {:?}",
        seen.failures()
    );
    let expected = flatten_spans(&seen.items());
    assert_eq!(
        expected.len(),
        ended,
        "the SDK exported every span it ended"
    );
    let capture = deliver_and_stop(setup, Signal::Traces, expected.len()).await;
    for transport in [Transport::Grpc, Transport::Http] {
        let received: Vec<ResourceSpans> = capture
            .traces(transport)
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .collect();
        assert_same_items(
            &format!("{wire:?} spans via {transport:?} exporter"),
            &expected,
            &flatten_spans(&received),
        );
    }
}

async fn logs_roundtrip(wire: Wire) {
    let setup = start("logs", "");
    let seen = Arc::new(Seen::default());
    let tee = TeeLogs {
        otlp: log_exporter(wire, &setup.ports),
        handle: Handle::current(),
        resource: Resource::builder_empty().build(),
        seen: seen.clone(),
    };
    let emitted = tokio::task::spawn_blocking(move || {
        let provider = SdkLoggerProvider::builder()
            .with_resource(resource(wire))
            .with_batch_exporter(tee)
            .build();
        let emitted = emit_logs(&provider);
        provider
            .shutdown()
            .expect("SDK logger provider shuts down (flushing its records)");
        emitted
    })
    .await
    .expect("SDK thread");
    assert!(
        seen.failures().is_empty(),
        "the SDK's exports to Weir failed: {:?}",
        seen.failures()
    );
    let expected = flatten_logs(&seen.items());
    assert_eq!(
        expected.len(),
        emitted,
        "the SDK exported every record it emitted"
    );
    let capture = deliver_and_stop(setup, Signal::Logs, expected.len()).await;
    for transport in [Transport::Grpc, Transport::Http] {
        let received: Vec<ResourceLogs> = capture
            .logs(transport)
            .into_iter()
            .flat_map(|r| r.resource_logs)
            .collect();
        assert_same_items(
            &format!("{wire:?} log records via {transport:?} exporter"),
            &expected,
            &flatten_logs(&received),
        );
    }
}

async fn metrics_roundtrip(wire: Wire, temporality: Temporality) {
    let setup = start("metrics", "");
    let seen = Arc::new(Seen::default());
    let tee = TeeMetrics {
        otlp: metric_exporter(wire, &setup.ports, temporality),
        handle: Handle::current(),
        seen: seen.clone(),
    };
    tokio::task::spawn_blocking(move || {
        // A long interval: the one export happens at shutdown, so every point is sent once.
        let reader = PeriodicReader::builder(tee)
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource(wire))
            .with_reader(reader)
            .build();
        emit_metrics(&provider);
        provider
            .shutdown()
            .expect("SDK meter provider shuts down (exporting its metrics)");
    })
    .await
    .expect("SDK thread");
    assert!(
        seen.failures().is_empty(),
        "the SDK's exports to Weir failed: {:?}",
        seen.failures()
    );
    let expected = flatten_metrics(&seen.items());
    // 7 instruments with 3 attribute sets each, `e2e.sizes` with one, the counter's empty set.
    assert_eq!(
        expected.len(),
        7 * 3 + 1 + 1,
        "the SDK exported every data point: {expected:#?}"
    );
    let capture = deliver_and_stop(setup, Signal::Metrics, expected.len()).await;
    for transport in [Transport::Grpc, Transport::Http] {
        let received: Vec<ProtoResourceMetrics> = capture
            .metrics(transport)
            .into_iter()
            .flat_map(|r| r.resource_metrics)
            .collect();
        assert_same_items(
            &format!("{wire:?} data points via {transport:?} exporter"),
            &expected,
            &flatten_metrics(&received),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_traces_over_grpc_arrive_identical_on_both_exporters() {
    traces_roundtrip(Wire::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_traces_over_http_protobuf_arrive_identical_on_both_exporters() {
    traces_roundtrip(Wire::HttpProto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_traces_over_http_json_arrive_identical_on_both_exporters() {
    traces_roundtrip(Wire::HttpJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_logs_over_grpc_arrive_identical_on_both_exporters() {
    logs_roundtrip(Wire::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_logs_over_http_protobuf_arrive_identical_on_both_exporters() {
    logs_roundtrip(Wire::HttpProto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_logs_over_http_json_arrive_identical_on_both_exporters() {
    logs_roundtrip(Wire::HttpJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_cumulative_metrics_over_grpc_arrive_identical_on_both_exporters() {
    metrics_roundtrip(Wire::Grpc, Temporality::Cumulative).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_delta_metrics_over_http_protobuf_arrive_identical_on_both_exporters() {
    metrics_roundtrip(Wire::HttpProto, Temporality::Delta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_cumulative_metrics_over_http_json_arrive_identical_on_both_exporters() {
    metrics_roundtrip(Wire::HttpJson, Temporality::Cumulative).await;
}

// ---- beyond what the SDK produces --------------------------------------------------------------

/// `metrics_request_with_exemplars` tagged with the wire it is sent over, so that the three
/// copies are distinguishable.
fn tagged_metrics(wire: Wire) -> ExportMetricsServiceRequest {
    let mut request = common::otlp::metrics_request_with_exemplars();
    for rm in &mut request.resource_metrics {
        if let Some(resource) = rm.resource.as_mut() {
            resource.attributes.push(common::otlp::kv(
                "wire",
                common::otlp::s(&format!("{wire:?}")),
            ));
        }
    }
    request
}

/// The SDK never attaches exemplars, and has no summaries or exponential histograms by
/// default, so a hand-built request with all of them goes over each wire too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_and_every_metric_type_arrive_identical_over_every_wire() {
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use prost::Message as _;

    let setup = start("metrics", "");
    let mut client = MetricsServiceClient::new(common::grpc::channel(setup.ports.grpc));
    client
        .export(tagged_metrics(Wire::Grpc))
        .await
        .expect("gRPC export accepted");
    let proto = common::http_client::post(
        &setup.ports.http_url("metrics"),
        "application/x-protobuf",
        tagged_metrics(Wire::HttpProto).encode_to_vec(),
    )
    .await
    .expect("HTTP/protobuf export");
    assert_eq!(proto.status, 200, "{}", proto.text());
    let json_body =
        serde_json::to_vec(&tagged_metrics(Wire::HttpJson)).expect("OTLP JSON encoding");
    let json = common::http_client::post(
        &setup.ports.http_url("metrics"),
        "application/json",
        json_body,
    )
    .await
    .expect("HTTP/JSON export");
    assert_eq!(json.status, 200, "{}", json.text());

    let expected: Vec<ProtoResourceMetrics> = [Wire::Grpc, Wire::HttpProto, Wire::HttpJson]
        .into_iter()
        .flat_map(|w| tagged_metrics(w).resource_metrics)
        .collect();
    let expected = flatten_metrics(&expected);
    assert_eq!(expected.len(), 3 * 7, "7 data points per request");
    let capture = deliver_and_stop(setup, Signal::Metrics, expected.len()).await;
    for transport in [Transport::Grpc, Transport::Http] {
        let received: Vec<ProtoResourceMetrics> = capture
            .metrics(transport)
            .into_iter()
            .flat_map(|r| r.resource_metrics)
            .collect();
        let received = flatten_metrics(&received);
        assert_same_items(
            &format!("hand-built data points via {transport:?} exporter"),
            &expected,
            &received,
        );
        let exemplars = received
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| format!("{:?}", m.data).matches("Exemplar {").count())
            .sum::<usize>();
        assert_eq!(exemplars, 3 * 7, "every exemplar arrived via {transport:?}");
    }
}

/// The exporters' wire options: `otlphttp` with `encoding: json` and zstd, `otlp` with zstd;
/// the backend sees those encodings and still the same spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_send_json_and_zstd_when_configured_and_spans_arrive_identical() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

    let capture = Capture::start();
    let ports = Ports::free();
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        Some("timeout: 50ms"),
        &[
            (
                "otlp",
                format!(
                    "endpoint: \"{}\", compression: zstd, headers: {{ x-exporter: otlp }}",
                    capture.grpc_endpoint()
                ),
            ),
            (
                "otlphttp/json",
                format!(
                    "endpoint: \"{}\", encoding: json, compression: zstd, headers: {{ x-exporter: otlphttp }}",
                    capture.http_endpoint()
                ),
            ),
        ],
        &[("traces", &["otlp", "otlphttp/json"])],
    );
    let weir = Weir::start(&yaml, &ports.all());
    let sent = common::otlp::trace_request(9, 12);
    let mut client = TraceServiceClient::new(common::grpc::channel(ports.grpc));
    client
        .export(sent.clone())
        .await
        .expect("gRPC export accepted");
    let capture = deliver_and_stop(
        Setup {
            weir,
            capture,
            ports,
        },
        Signal::Traces,
        12,
    )
    .await;
    let expected = flatten_spans(&sent.resource_spans);
    for transport in [Transport::Grpc, Transport::Http] {
        let received: Vec<ResourceSpans> = capture
            .traces(transport)
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .collect();
        assert_same_items(
            &format!("spans via {transport:?}"),
            &expected,
            &flatten_spans(&received),
        );
    }
    for call in capture.calls_for(Transport::Http, Signal::Traces) {
        assert!(
            call.content_type.starts_with("application/json"),
            "otlphttp sent {:?}",
            call.content_type
        );
        assert_eq!(
            call.content_encoding.as_deref(),
            Some("zstd"),
            "otlphttp compression"
        );
    }
    for call in capture.calls_for(Transport::Grpc, Signal::Traces) {
        assert_eq!(
            call.content_encoding.as_deref(),
            Some("zstd"),
            "otlp (gRPC) compression"
        );
    }
}
