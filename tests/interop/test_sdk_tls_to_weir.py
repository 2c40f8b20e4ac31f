"""(a') The OpenTelemetry Python SDK → Weir over TLS (gRPC and HTTPS), with a certificate made by
openssl for this run and signed by a CA the SDK is told to trust. Every item must arrive, as in
the plaintext case. Weir only: rotel standing in would need its own TLS flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scenarios import sdk_roundtrip, stop_cleanly
from targets import Pipeline, start_system_under_test, target_name


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def certs(tmp_path: Path) -> dict:
    """A CA and a server certificate for localhost and 127.0.0.1, valid for two days."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=weir interop CA", "-days", "2", cwd=tmp_path)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=tmp_path)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-copy_extensions", "copy", "-out", "server.pem", cwd=tmp_path)
    return {"ca": str(tmp_path / "ca.pem"), "cert": str(tmp_path / "server.pem"), "key": str(tmp_path / "server.key")}


@pytest.mark.skipif(target_name() != "weir", reason="TLS settings are Weir's config")
@pytest.mark.parametrize("ingress", ["grpc", "http"])
def test_sdk_over_tls_through_weir(procs, capture, certs, ingress, monkeypatch):
    # requests lets these variables override the CA an exporter was given (a session's `verify`
    # loses to them), and some machines set them; the SDK must use the CA it is handed.
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    pipeline = Pipeline(exporter="otlp", endpoint=capture.grpc_endpoint,
                        tls={"cert_file": certs["cert"], "key_file": certs["key"]})
    weir = start_system_under_test(procs, pipeline)
    sdk_roundtrip(
        capture, "traces", ingress,
        pipeline.grpc_endpoint if ingress == "grpc" else pipeline.http_endpoint,
        stop=lambda: stop_cleanly(weir, "weir"), expect_transport="grpc", ca_file=certs["ca"],
    )
