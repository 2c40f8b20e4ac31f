"""Field-by-field comparison of OTLP export requests.

A pipeline may regroup what it forwards (batching merges requests, splits at resource
boundaries), so requests are first flattened into items — one span, one log record, or one metric
data point — each carrying its full context: the Resource (and its schema_url), the
InstrumentationScope (and its schema_url), and for metrics the Metric without its other points.
Two sides are equal when they hold the same multiset of items, every field identical.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from google.protobuf import text_format
from google.protobuf.message import Message


@dataclass(frozen=True)
class Item:
    key: str  # how a human finds it: span name + ids, log body, metric name + attributes
    resource: bytes
    resource_schema_url: str
    scope: bytes
    scope_schema_url: str
    body: bytes  # the serialized span / log record / single-point metric

    def identity(self) -> tuple:
        return (self.resource, self.resource_schema_url, self.scope, self.scope_schema_url, self.body)


def _ser(msg: Message) -> bytes:
    return msg.SerializeToString(deterministic=True)


def flatten(signal: str, requests) -> list[Item]:
    items: list[Item] = []
    for req in requests:
        if signal == "traces":
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        key = f"span {span.name!r} trace={span.trace_id.hex()} span={span.span_id.hex()}"
                        items.append(Item(key, _ser(rs.resource), rs.schema_url, _ser(ss.scope),
                                          ss.schema_url, _ser(span)))
        elif signal == "logs":
            for rl in req.resource_logs:
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        body = text_format.MessageToString(rec.body, as_one_line=True)[:80]
                        key = f"log {body} time={rec.time_unix_nano}"
                        items.append(Item(key, _ser(rl.resource), rl.schema_url, _ser(sl.scope),
                                          sl.schema_url, _ser(rec)))
        elif signal == "metrics":
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        points = list(getattr(metric, kind).data_points) if kind else []
                        for point in points or [None]:
                            one = type(metric)()
                            one.CopyFrom(metric)
                            if kind:
                                del getattr(one, kind).data_points[:]
                                if point is not None:
                                    getattr(one, kind).data_points.add().CopyFrom(point)
                            attrs = ", ".join(f"{kv.key}={text_format.MessageToString(kv.value, as_one_line=True)}"
                                              for kv in point.attributes) if point is not None else ""
                            key = f"metric {metric.name!r} {kind} [{attrs}]"
                            items.append(Item(key, _ser(rm.resource), rm.schema_url, _ser(sm.scope),
                                              sm.schema_url, _ser(one)))
        else:
            raise ValueError(signal)
    return items


def _describe(signal: str, item: Item) -> str:
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
    from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    body_type = {"traces": Span, "logs": LogRecord, "metrics": Metric}[signal]
    res = Resource.FromString(item.resource)
    scope = InstrumentationScope.FromString(item.scope)
    body = body_type.FromString(item.body)
    return (
        f"{item.key}\n"
        f"    resource(schema_url={item.resource_schema_url!r}): {text_format.MessageToString(res, as_one_line=True)}\n"
        f"    scope(schema_url={item.scope_schema_url!r}): {text_format.MessageToString(scope, as_one_line=True)}\n"
        f"    {signal[:-1] if signal != 'metrics' else 'metric'}: {text_format.MessageToString(body, as_one_line=True)}"
    )


def diff_items(signal: str, expected: list[Item], got: list[Item], limit: int = 8) -> str:
    """Empty when equal as multisets; otherwise a readable account of the differences."""
    want = Counter(i.identity() for i in expected)
    have = Counter(i.identity() for i in got)
    if want == have and len(expected) == len(got):
        return ""
    by_id = {i.identity(): i for i in expected + got}
    missing = want - have
    extra = have - want
    lines = [f"{signal}: expected {len(expected)} items, received {len(got)};"
             f" {sum(missing.values())} missing or different, {sum(extra.values())} unexpected or different"]
    # Pair a missing and an unexpected item with the same key: then it is one changed item.
    extra_by_key: dict[str, list] = {}
    for ident, n in extra.items():
        extra_by_key.setdefault(by_id[ident].key, []).append((ident, n))
    shown = 0
    for ident, n in missing.items():
        if shown >= limit:
            break
        item = by_id[ident]
        lines.append(f"- expected x{n}: " + _describe(signal, item))
        for other, m in extra_by_key.get(item.key, []):
            lines.append(f"+ received x{m} with the same key: " + _describe(signal, by_id[other]))
        shown += 1
    for ident, n in extra.items():
        if shown >= 2 * limit:
            break
        item = by_id[ident]
        if any(by_id[m].key == item.key for m in missing):
            continue
        lines.append(f"+ unexpected x{n}: " + _describe(signal, item))
        shown += 1
    return "\n".join(lines)
