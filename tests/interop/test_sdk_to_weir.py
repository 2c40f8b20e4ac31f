"""(a) OpenTelemetry Python SDK → Weir (OTLP gRPC or OTLP/HTTP receiver) → Weir's `otlp` (gRPC) or
`otlphttp` exporter → capture backend. Every span, log record and metric point must arrive once,
identical field for field (resource, scope, attributes, events, links, status, ids, counts)."""

from __future__ import annotations

import pytest

from scenarios import sdk_roundtrip, stop_cleanly
from targets import Pipeline, start_system_under_test


@pytest.mark.parametrize("egress", ["otlp", "otlphttp"])
@pytest.mark.parametrize("ingress", ["grpc", "http"])
@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
def test_sdk_through_weir(procs, capture, signal, ingress, egress):
    endpoint = capture.grpc_endpoint if egress == "otlp" else capture.http_endpoint
    pipeline = Pipeline(exporter=egress, endpoint=endpoint)
    weir = start_system_under_test(procs, pipeline)
    sdk_roundtrip(
        capture, signal, ingress,
        pipeline.grpc_endpoint if ingress == "grpc" else pipeline.http_endpoint,
        stop=lambda: stop_cleanly(weir, "weir"),
        expect_transport="grpc" if egress == "otlp" else "http",
    )
    if egress == "otlphttp":  # `encoding: proto` was configured
        assert {r.content_type for r in capture.received(signal)} == {"application/x-protobuf"}


@pytest.mark.parametrize("ingress", ["grpc", "http"])
def test_sdk_gzip_through_weir(procs, capture, ingress):
    """The SDK's gzip compression on the way in (grpc-encoding / Content-Encoding: gzip)."""
    pipeline = Pipeline(exporter="otlp", endpoint=capture.grpc_endpoint)
    weir = start_system_under_test(procs, pipeline)
    sdk_roundtrip(
        capture, "traces", ingress,
        pipeline.grpc_endpoint if ingress == "grpc" else pipeline.http_endpoint,
        stop=lambda: stop_cleanly(weir, "weir"), expect_transport="grpc", compression="gzip",
    )
