"""(c) Python SDK → Weir → Weir's `otlp` exporter → rotel (the `rotel` wheel's agent) as the
downstream OTLP gRPC receiver → rotel's OTLP exporter → capture backend. Every span arrives once and
unchanged; logs and metrics are checked the same way."""

from __future__ import annotations

import pytest

from procs import free_port
from scenarios import sdk_roundtrip, stop_cleanly
from targets import Pipeline, start_rotel, start_system_under_test


@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
def test_weir_exports_to_rotel(procs, capture, signal):
    rotel_grpc, rotel_http = free_port(), free_port()
    rotel = start_rotel(procs, name="rotel", grpc_port=rotel_grpc, http_port=rotel_http,
                        exporter="otlp", endpoint=capture.grpc_endpoint)
    pipeline = Pipeline(exporter="otlp", endpoint=f"127.0.0.1:{rotel_grpc}")
    weir = start_system_under_test(procs, pipeline)

    def stop_both():
        stop_cleanly(weir, "weir")  # flushes into rotel
        stop_cleanly(rotel, "rotel")  # flushes into the capture backend

    sdk_roundtrip(capture, signal, "grpc", pipeline.grpc_endpoint, stop=stop_both, expect_transport="grpc")
