"""Fixtures of the interop suite.

- `capture`: a fresh capture backend (OTLP gRPC + HTTP servers) per test, stopped afterwards.
- `procs`: the child processes of one test. They are stopped at teardown, and as soon as the
  test fails; their logs and the capture summary are then attached to the failure report.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from capture import CaptureBackend
from procs import ProcessGroup
from targets import target_name

# The SDK warns once per attribute it drops on purpose (sdkdata exercises span limits).
logging.getLogger("opentelemetry.attributes").setLevel(logging.ERROR)


def pytest_report_header(config):
    import os

    return [f"interop target: {target_name()} (WEIR_BIN={os.environ.get('WEIR_BIN', '')})"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        group: ProcessGroup | None = getattr(item, "_interop_procs", None)
        capture: CaptureBackend | None = getattr(item, "_interop_capture", None)
        if group is not None:
            group.stop_all()  # kill on failure, so the logs below are complete
            report.sections.append(("interop process logs", group.logs()))
        if capture is not None:
            report.sections.append(("interop capture backend", capture.summary()))


@pytest.fixture
def capture(request):
    backend = CaptureBackend().start()
    request.node._interop_capture = backend
    try:
        yield backend
    finally:
        backend.stop()


@pytest.fixture
def procs(request, tmp_path: Path):
    group = ProcessGroup(tmp_path)
    request.node._interop_procs = group
    try:
        yield group
    finally:
        group.stop_all()
