"""Capture backend: an OTLP gRPC server and an OTLP/HTTP server that record every export request.

Both servers listen on 127.0.0.1 on ports chosen by the kernel. Every request is decoded into the
matching `Export*ServiceRequest` message (protobuf or OTLP/JSON, gzip or not) and appended to one
list, in arrival order, with the transport, path and headers it came with. Tests wait on that list
with a deadline (`wait_for`), never with a bare sleep.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import zlib
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

REQUEST_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
RESPONSE_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}
HTTP_PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}

# OTLP/JSON writes trace and span ids as hex strings; proto3 JSON mapping expects base64 for bytes.
_HEX_ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}


def _hex_ids_to_base64(node):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _HEX_ID_KEYS and isinstance(value, str):
                out[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def parse_otlp_json(signal: str, body: bytes):
    """Decode an OTLP/JSON export request (hex ids, enum numbers, camelCase keys)."""
    msg = REQUEST_TYPES[signal]()
    json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), msg)
    return msg


@dataclass
class Received:
    signal: str  # traces | metrics | logs
    transport: str  # grpc | http
    request: object  # the decoded Export*ServiceRequest
    content_type: str = ""
    content_encoding: str = ""
    headers: dict = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class CaptureBackend:
    """Records every OTLP export request that reaches its gRPC or HTTP port."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self._errors: list[str] = []
        self._grpc_server = None
        self._http_server = None
        self._http_thread = None
        self.grpc_port = 0
        self.http_port = 0

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> "CaptureBackend":
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8),
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        if not self.grpc_port:
            raise RuntimeError("capture: could not bind the gRPC port")
        server.start()
        self._grpc_server = server

        backend = self

        class Handler(_HttpHandler):
            capture = backend

        self._http_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http_server.daemon_threads = True
        self.http_port = self._http_server.server_address[1]
        self._http_thread = threading.Thread(
            target=self._http_server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=1).wait(5)
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_thread.join(5)
            self._http_server = None

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # ---- recording -------------------------------------------------------------------------
    def record(self, item: Received) -> None:
        with self._cond:
            self._received.append(item)
            self._cond.notify_all()

    def record_error(self, text: str) -> None:
        with self._cond:
            self._errors.append(text)
            self._cond.notify_all()

    def received(self, signal: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self._received if signal is None or r.signal == signal]

    @property
    def errors(self) -> list[str]:
        with self._cond:
            return list(self._errors)

    def requests(self, signal: str) -> list:
        return [r.request for r in self.received(signal)]

    def wait_for(self, predicate: Callable[["CaptureBackend"], bool], timeout: float) -> bool:
        """Wait until predicate(self) holds or the deadline passes; returns whether it held."""
        deadline = time.monotonic() + timeout
        with self._cond:  # an RLock: the predicate may call the accessors
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.25))
            return True

    def summary(self) -> str:
        lines = [f"capture backend grpc={self.grpc_endpoint} http={self.http_endpoint}"]
        for r in self.received():
            lines.append(
                f"  {r.transport:4} {r.signal:7} items={count_items(r.signal, r.request)}"
                f" content-type={r.content_type!r} encoding={r.content_encoding!r}"
            )
        for e in self.errors:
            lines.append(f"  ERROR {e}")
        return "\n".join(lines)


def count_items(signal: str, request) -> int:
    if signal == "traces":
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal == "logs":
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    total = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                total += len(getattr(m, kind).data_points) if kind else 0
    return total


def _grpc_record(backend: CaptureBackend, signal: str, request, context) -> None:
    md = {k: v for k, v in (context.invocation_metadata() or ())}
    backend.record(
        Received(
            signal=signal,
            transport="grpc",
            request=request,
            content_type="application/grpc",
            content_encoding=md.get("grpc-encoding", ""),
            headers=md,
        )
    )


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, backend: CaptureBackend) -> None:
        self.backend = backend

    def Export(self, request, context):  # noqa: N802 - gRPC method name
        _grpc_record(self.backend, "traces", request, context)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, backend: CaptureBackend) -> None:
        self.backend = backend

    def Export(self, request, context):  # noqa: N802
        _grpc_record(self.backend, "metrics", request, context)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, backend: CaptureBackend) -> None:
        self.backend = backend

    def Export(self, request, context):  # noqa: N802
        _grpc_record(self.backend, "logs", request, context)
        return logs_service_pb2.ExportLogsServiceResponse()


class _HttpHandler(BaseHTTPRequestHandler):
    capture: CaptureBackend  # set on the per-backend subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - silence per-request stderr lines
        pass

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        signal = HTTP_PATHS.get(path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if signal is None:
            self.capture.record_error(f"http POST to unknown path {self.path}")
            self._reply(404, b"unknown path", "text/plain")
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(raw)
            elif encoding == "deflate":
                body = zlib.decompress(raw)
            elif encoding in ("", "identity"):
                body = raw
            else:
                raise ValueError(f"unsupported Content-Encoding {encoding!r}")
            if content_type == "application/x-protobuf":
                request = REQUEST_TYPES[signal].FromString(body)
            elif content_type == "application/json":
                request = parse_otlp_json(signal, body)
            else:
                raise ValueError(f"unsupported Content-Type {content_type!r}")
        except Exception as e:  # recorded and answered 400: the test reports it
            self.capture.record_error(f"http {path}: {type(e).__name__}: {e}")
            self._reply(400, str(e).encode(), "text/plain")
            return
        self.capture.record(
            Received(
                signal=signal,
                transport="http",
                request=request,
                content_type=content_type,
                content_encoding=encoding,
                headers={k.lower(): v for k, v in self.headers.items()},
            )
        )
        if content_type == "application/json":
            self._reply(200, b"{}", "application/json")
        else:
            self._reply(200, RESPONSE_TYPES[signal]().SerializeToString(), "application/x-protobuf")
