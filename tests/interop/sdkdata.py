"""Telemetry made with the OpenTelemetry Python SDK, and the OTLP exporters that send it.

Each `make_*` returns the SDK objects in batches (one OTLP export call per batch) plus the
`Export*ServiceRequest`s the SDK's own OTLP encoder makes of them: what the receiving end must see.
The data covers every field a pipeline could drop or mangle: several resources and scopes with
schema URLs and scope attributes, every attribute value type, parents, events, links with trace
state, status, kinds, dropped counts; log bodies of each type, severities, event names, trace
context; counter, up-down counter, histogram, exponential histogram and gauge points.
"""

from __future__ import annotations

import uuid

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.metrics import Observation
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

BASE_NS = 1_700_000_000_000_000_000


def _resources(run_id: str) -> list[Resource]:
    return [
        Resource.create(
            {"service.name": "interop-frontend", "service.instance.id": run_id, "deployment.environment": "test",
             "host.cores": 2, "feature.flags": ("a", "b"), "sampling.ratio": 0.25, "canary": True},
            schema_url="https://opentelemetry.io/schemas/1.21.0",
        ),
        Resource.create({"service.name": "interop-backend", "service.instance.id": run_id, "ünïcode.key": "värde ✓"}),
    ]


def make_traces(run_id: str | None = None):
    """Returns (batches of ReadableSpan, expected ExportTraceServiceRequest per batch)."""
    run_id = run_id or uuid.uuid4().hex
    spans = []
    for r_idx, resource in enumerate(_resources(run_id)):
        memory = InMemorySpanExporter()
        provider = TracerProvider(resource=resource, span_limits=SpanLimits(max_span_attributes=16,
                                                                            max_event_attributes=4,
                                                                            max_link_attributes=4))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        tracers = [
            provider.get_tracer("interop.scope.http", "1.2.3", schema_url="https://opentelemetry.io/schemas/1.24.0",
                                attributes={"scope.attr": "x", "scope.num": 7}),
            provider.get_tracer("interop.scope.db"),
        ]
        for t_idx, tracer in enumerate(tracers):
            t0 = BASE_NS + (r_idx * 10 + t_idx) * 1_000_000_000
            foreign = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C + r_idx * 100 + t_idx,
                                  span_id=0xB7AD6B7169203331 + t_idx, is_remote=True,
                                  trace_flags=TraceFlags(TraceFlags.SAMPLED),
                                  trace_state=TraceState([("vendor", "v1"), ("other", "x-y")]))
            for n in range(6):
                # n == 5 continues the remote trace: parent_span_id and trace_state come from it.
                parent = trace.set_span_in_context(trace.NonRecordingSpan(foreign)) if n == 5 else None
                root = tracer.start_span(
                    f"GET /items/{n}", context=parent, kind=SpanKind.SERVER, start_time=t0 + n * 1000,
                    attributes={"http.request.method": "GET", "http.response.status_code": 200 + n,
                                "latency.ratio": n / 7, "cache.hit": n % 2 == 0,
                                "tags": ["x", "y", str(n)], "ints": [1, 2, n], "floats": [0.5, n * 1.5],
                                "bools": [True, False], "empty.string": "", "run.id": run_id},
                    links=[Link(foreign, attributes={"link.kind": "follows", "link.n": n})],
                )
                root.add_event("cache.lookup", attributes={"key": f"item:{n}", "hit": n % 2 == 0},
                               timestamp=t0 + n * 1000 + 10)
                root.add_event("no.attributes", timestamp=t0 + n * 1000 + 11)
                ctx = trace.set_span_in_context(root)
                child = tracer.start_span(f"SELECT items {n}", context=ctx, kind=SpanKind.CLIENT,
                                          start_time=t0 + n * 1000 + 20,
                                          attributes={"db.system": "postgresql", "db.rows": n * 3})
                if n == 3:
                    child.set_status(Status(StatusCode.ERROR, "deadlock detected"))
                    child.record_exception(ValueError("boom"), timestamp=t0 + n * 1000 + 25)
                else:
                    child.set_status(Status(StatusCode.OK))
                if n == 4:  # more attributes than the limit: dropped_attributes_count > 0
                    for k in range(24):
                        child.set_attribute(f"extra.{k}", k)
                child.end(end_time=t0 + n * 1000 + 30)
                for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL):
                    s = tracer.start_span(f"{kind.name.lower()} {n}", context=ctx, kind=kind,
                                          start_time=t0 + n * 1000 + 40)
                    s.end(end_time=t0 + n * 1000 + 50)
                root.end(end_time=t0 + n * 1000 + 100)
        provider.force_flush()
        spans.extend(memory.get_finished_spans())
        provider.shutdown()
    batches = [spans[i::3] for i in range(3)]  # three export calls, resources interleaved
    return batches, [encode_spans(b) for b in batches]


def make_logs(run_id: str | None = None):
    """Returns (batches of ReadableLogRecord, expected ExportLogsServiceRequest per batch)."""
    run_id = run_id or uuid.uuid4().hex
    records = []
    for r_idx, resource in enumerate(_resources(run_id)):
        memory = InMemoryLogRecordExporter()
        provider = LoggerProvider(resource=resource)
        provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
        loggers = [
            provider.get_logger("interop.logs.app", "0.9", schema_url="https://opentelemetry.io/schemas/1.24.0",
                                attributes={"logger.attr": True}),
            provider.get_logger("interop.logs.audit"),
        ]
        tracer_ctx = trace.set_span_in_context(trace.NonRecordingSpan(SpanContext(
            trace_id=0x5B8EFFF798038103D269B633813FC60C + r_idx, span_id=0xEEE19B7EC3C1B174, is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED))))
        bodies = [
            "plain text line",
            "",
            {"user": {"id": 42, "roles": ["admin", "dev"]}, "ok": True, "ratio": 0.5},
            ["a", 1, 2.5, False],
            12345,
            3.25,
            True,
            b"\x00\x01binary\xff",
        ]
        for l_idx, logger in enumerate(loggers):
            for n, body in enumerate(bodies):
                severity = list(SeverityNumber)[(n * 3 + l_idx) % len(SeverityNumber)]
                logger.emit(
                    timestamp=BASE_NS + (r_idx * 100 + l_idx * 10 + n) * 1000,
                    observed_timestamp=BASE_NS + (r_idx * 100 + l_idx * 10 + n) * 1000 + 7,
                    context=tracer_ctx if n % 2 == 0 else None,
                    severity_number=severity,
                    severity_text=severity.name,
                    body=body,
                    attributes={"run.id": run_id, "n": n, "nested": ["x", "y"], "flag": n % 3 == 0},
                    event_name="interop.event" if n == 2 else None,
                )
        provider.force_flush()
        records.extend(memory.get_finished_logs())
        provider.shutdown()
    batches = [records[i::2] for i in range(2)]
    return batches, [encode_logs(b) for b in batches]


def make_metrics(run_id: str | None = None):
    """Returns (list of MetricsData, expected ExportMetricsServiceRequest per MetricsData)."""
    run_id = run_id or uuid.uuid4().hex
    batches = []
    for resource in _resources(run_id):
        reader = InMemoryMetricReader()
        provider = MeterProvider(
            resource=resource, metric_readers=[reader],
            views=[View(instrument_name="interop.latency.exp", aggregation=ExponentialBucketHistogramAggregation())],
        )
        meter = provider.get_meter("interop.meter", "2.0.0", schema_url="https://opentelemetry.io/schemas/1.24.0",
                                   attributes={"meter.attr": "m"})
        counter = meter.create_counter("interop.requests", unit="{request}", description="Requests served")
        updown = meter.create_up_down_counter("interop.queue.depth", unit="{item}")
        hist = meter.create_histogram("interop.latency", unit="ms", description="Latency",
                                      explicit_bucket_boundaries_advisory=[1, 5, 10, 50, 100, 500])
        exp_hist = meter.create_histogram("interop.latency.exp", unit="s")
        meter.create_observable_gauge(
            "interop.temperature", unit="Cel",
            callbacks=[lambda options: [Observation(21.5, {"room": "a"}), Observation(-3.0, {"room": "b"})]],
        )
        gauge = meter.create_gauge("interop.sync.gauge", unit="1")
        for route in ("/a", "/b", "/c"):
            attrs = {"http.route": route, "run.id": run_id}
            counter.add(5, attrs)
            counter.add(len(route), attrs)
            updown.add(10, attrs)
            updown.add(-4, attrs)
            gauge.set(len(route) * 1.5, attrs)
            for v in (0.5, 3, 7, 12, 75, 420, 999):
                hist.record(v, attrs)
                exp_hist.record(v / 1000, attrs)
        data = reader.get_metrics_data()
        batches.append(data)
        provider.shutdown()
    return batches, [encode_metrics(b) for b in batches]


def make(signal: str, run_id: str | None = None):
    return {"traces": make_traces, "logs": make_logs, "metrics": make_metrics}[signal](run_id)


def exporter(signal: str, transport: str, endpoint: str, compression: str = "none",
             ca_file: str | None = None):
    """An OTLP exporter of the Python SDK. endpoint: host:port for grpc, http(s)://host:port for
    http. With `ca_file` it speaks TLS, trusting that CA (gRPC: ssl channel credentials; HTTP:
    `certificate_file`, with an https:// endpoint)."""
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc import _log_exporter, metric_exporter, trace_exporter
        from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression

        cls = {"traces": trace_exporter.OTLPSpanExporter, "metrics": metric_exporter.OTLPMetricExporter,
               "logs": _log_exporter.OTLPLogExporter}[signal]
        comp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
        if ca_file:
            import grpc

            with open(ca_file, "rb") as f:
                creds = grpc.ssl_channel_credentials(root_certificates=f.read())
            return cls(endpoint=endpoint, insecure=False, credentials=creds, timeout=10, compression=comp)
        return cls(endpoint=endpoint, insecure=True, timeout=10, compression=comp)
    if transport == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression, _log_exporter, metric_exporter, trace_exporter

        cls = {"traces": trace_exporter.OTLPSpanExporter, "metrics": metric_exporter.OTLPMetricExporter,
               "logs": _log_exporter.OTLPLogExporter}[signal]
        comp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
        if ca_file:
            return cls(endpoint=f"{endpoint}/v1/{signal}", timeout=10, compression=comp, certificate_file=ca_file)
        return cls(endpoint=f"{endpoint}/v1/{signal}", timeout=10, compression=comp)
    raise ValueError(transport)


def send(signal: str, transport: str, endpoint: str, batches, compression: str = "none",
         ca_file: str | None = None) -> None:
    """Export every batch in its own call; fail unless each call reports success."""
    exp = exporter(signal, transport, endpoint, compression, ca_file)
    try:
        for i, batch in enumerate(batches):
            result = exp.export(batch)
            if getattr(result, "name", str(result)) != "SUCCESS":
                raise AssertionError(f"SDK {transport} export of {signal} batch {i} to {endpoint} returned {result}")
    finally:
        exp.shutdown()
