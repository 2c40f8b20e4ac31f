"""The flows the tests run, shared by the Weir scenarios and the reference runs that check the
harness without Weir (peer → capture directly)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Callable

import compare
import sdkdata
from capture import CaptureBackend
from procs import ManagedProcess, ProcessGroup
from targets import start_otelcol

DELIVERY_TIMEOUT = 30.0  # seconds for data to cross a pipeline; generous for debug builds on 2 cores
STOP_TIMEOUT = 45.0  # SIGTERM → exit; above Weir's 30 s drain deadline


def stop_cleanly(proc: ManagedProcess, what: str) -> None:
    """SIGTERM must make the process flush and exit 0 within the deadline."""
    rc = proc.stop(timeout=STOP_TIMEOUT)
    assert rc == 0, f"{what} did not exit 0 after SIGTERM (exit code {rc}; None = killed after {STOP_TIMEOUT}s)"


def _run_stop(stop: Callable[[], None]) -> AssertionError | None:
    """Run `stop`; keep its failure to report after (or with) the delivery check."""
    try:
        stop()
    except AssertionError as e:
        return e
    return None


def _also(error: AssertionError | None) -> str:
    return f" (and stopping failed: {error})" if error else ""


def sdk_roundtrip(capture: CaptureBackend, signal: str, transport: str, endpoint: str,
                  stop: Callable[[], None] = lambda: None, expect_transport: str | None = None,
                  compression: str = "none", ca_file: str | None = None) -> None:
    """SDK exports `signal` over `transport` to `endpoint`; whatever is in between must deliver
    every item to `capture`, field for field, exactly once. `stop` runs once the expected count
    arrived (it stops the pipeline, which must flush), before the final comparison."""
    batches, expected_requests = sdkdata.make(signal, run_id=uuid.uuid4().hex)
    expected = compare.flatten(signal, expected_requests)
    assert expected, "the SDK produced no data"
    sdkdata.send(signal, transport, endpoint, batches, compression=compression, ca_file=ca_file)

    arrived = capture.wait_for(
        lambda c: len(compare.flatten(signal, c.requests(signal))) >= len(expected), DELIVERY_TIMEOUT)
    stop_error = _run_stop(stop)
    got = compare.flatten(signal, capture.requests(signal))
    assert arrived, (f"only {len(got)} of {len(expected)} {signal} items arrived within {DELIVERY_TIMEOUT}s"
                     f"{_also(stop_error)}\n" + compare.diff_items(signal, expected, got))
    if stop_error:
        raise stop_error
    assert not capture.errors, f"capture backend refused requests: {capture.errors}"
    diff = compare.diff_items(signal, expected, got)
    assert not diff, diff
    if expect_transport:
        transports = Counter(r.transport for r in capture.received(signal))
        assert set(transports) == {expect_transport}, f"expected only {expect_transport} exports, got {transports}"
    other = [r.signal for r in capture.received() if r.signal != signal]
    assert not other, f"signals that were never sent arrived: {Counter(other)}"


def filelog_config(log_file: Path, endpoint: str, encoding: str, compression: str) -> dict:
    """otelcol-contrib: filelog receiver tailing `log_file` → otlphttp exporter to `endpoint`."""
    return {
        "receivers": {
            "filelog": {
                "include": [str(log_file)],
                "start_at": "beginning",
                "poll_interval": "50ms",
                "include_file_name": True,
            }
        },
        "exporters": {
            "otlphttp": {
                "endpoint": endpoint,
                "encoding": encoding,
                "compression": compression,
                "timeout": "5s",
                "retry_on_failure": {"enabled": True, "initial_interval": "100ms", "max_interval": "1s",
                                     "max_elapsed_time": "60s"},
            }
        },
        "service": {
            # No internal metrics endpoint: nothing of otelcol's listens anywhere.
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "info"}},
            "pipelines": {"logs": {"receivers": ["filelog"], "exporters": ["otlphttp"]}},
        },
    }


def filelog_roundtrip(procs: ProcessGroup, capture: CaptureBackend, work_dir: Path, endpoint: str,
                      encoding: str, compression: str, stop: Callable[[], None] = lambda: None,
                      lines: int = 500) -> None:
    """otelcol tails a file the test writes, in two halves (one before it starts, one appended
    while it runs); every line must reach `capture` exactly once, as the log record body."""
    run_id = uuid.uuid4().hex[:12]
    t_start = time.time_ns()
    expected = [f"{run_id} line {i:05d} level={'INFO' if i % 3 else 'WARN'} msg=\"interop ✓ {i * 7919}\""
                for i in range(lines)]
    log_file = work_dir / "app.log"
    first, second = expected[: lines // 2], expected[lines // 2:]
    log_file.write_text("".join(line + "\n" for line in first), encoding="utf-8")

    otelcol = start_otelcol(procs, filelog_config(log_file, endpoint, encoding, compression))

    def bodies(c: CaptureBackend) -> list[str]:
        out = []
        for req in c.requests("logs"):
            for rl in req.resource_logs:
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        out.append(rec.body.string_value if rec.body.HasField("string_value")
                                   else f"<non-string body {rec.body}>")
        return out

    started = capture.wait_for(lambda c: len(bodies(c)) > 0, DELIVERY_TIMEOUT)
    assert started, f"no log record arrived within {DELIVERY_TIMEOUT}s of otelcol starting"
    with log_file.open("a", encoding="utf-8") as f:  # tailing: lines appended while it runs
        for i in range(0, len(second), 50):
            f.write("".join(line + "\n" for line in second[i:i + 50]))
            f.flush()

    arrived = capture.wait_for(lambda c: len(bodies(c)) >= lines, DELIVERY_TIMEOUT)
    stop_error = _run_stop(lambda: (stop_cleanly(otelcol, "otelcol-contrib"), stop()))
    got = bodies(capture)
    counts = Counter(got)
    missing = [line for line in expected if counts[line] == 0]
    duplicated = {line: n for line, n in counts.items() if n > 1}
    wanted = set(expected)
    unexpected = [b for b in counts if b not in wanted]
    assert arrived and not missing, (f"{len(missing)} of {lines} lines missing after {DELIVERY_TIMEOUT}s "
                                     f"(received {len(got)}){_also(stop_error)}; first missing: {missing[:5]}")
    if stop_error:
        raise stop_error
    assert not duplicated, f"{len(duplicated)} lines arrived more than once: {list(duplicated.items())[:5]}"
    assert not unexpected, f"records that were never written arrived: {unexpected[:5]}"
    assert len(got) == lines
    assert not capture.errors, f"capture backend refused requests: {capture.errors}"
    for req in capture.requests("logs"):
        for rl in req.resource_logs:
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    names = [kv.value.string_value for kv in rec.attributes if kv.key == "log.file.name"]
                    assert names == ["app.log"], f"log.file.name attribute lost or changed: {rec}"
                    # filelog stamps the observed time (a uint64: a string in OTLP/JSON).
                    assert t_start <= rec.observed_time_unix_nano <= time.time_ns(), (
                        f"observed_time_unix_nano {rec.observed_time_unix_nano} is not the time it was read: {rec}")
