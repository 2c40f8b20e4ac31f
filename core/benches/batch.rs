//! The encoded-batch fast path, measured: the wire walk a receiver does on every request
//! (validate + count), the batch processor's concatenation, splitting at resource boundaries and
//! inside an oversize resource, and for comparison the decode/encode a processor that looks
//! inside pays (prost) and the OTLP/JSON conversions of the HTTP receiver and exporter; and the
//! attribute rewrite on the wire that the `attributes` processor runs (`-- rewrite`), to set
//! against the walk and against prost's decode + encode.
//!
//! `cargo bench -p weir-core --bench batch` (`-- walk` to run one group). Throughput is in items
//! (spans) per second; the walk is also given in bytes per second.
//!
//! The request is realistic and built here: resources with `service.name`, `service.version`,
//! `service.instance.id`, `host.name`, `deployment.environment`, `telemetry.sdk.*`; three
//! instrumentation scopes per resource; spans with ids, parent ids, names, kinds, timestamps,
//! a status and 8 attributes (strings and ints, as an HTTP server span carries).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use weir_core::batch::json::{decode_json, encode_json};
use weir_core::batch::rewrite::{AttributeRewriter, Attributes, put_string_value};
use weir_core::batch::split::{Concat, split};
use weir_core::batch::{Request, Signal, wire};

/// Spans in the main request.
const SPANS: usize = 1000;
/// Requests concatenated into one batch (as `batch` does with 500-span requests up to 8192).
const CONCAT_N: usize = 16;

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn resource(service: &str, host: usize) -> Resource {
    Resource {
        attributes: vec![
            string("service.name", service),
            string("service.version", "1.14.2"),
            string(
                "service.instance.id",
                format!("{service}-7d9f8c6b5-{host:05}"),
            ),
            string("host.name", format!("node-{host:03}.eu-west-1.internal")),
            string("deployment.environment", "production"),
            string("telemetry.sdk.name", "opentelemetry"),
            string("telemetry.sdk.language", "rust"),
            string("telemetry.sdk.version", "0.33.0"),
        ],
        ..Default::default()
    }
}

fn span(seq: usize) -> Span {
    let s = seq as u64;
    let start = 1_760_000_000_000_000_000 + s * 1_000;
    let routes = [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/cart",
        "/health",
    ];
    Span {
        trace_id: [(s >> 3).to_be_bytes(), 0x5eed_u64.to_be_bytes()].concat(),
        span_id: (s | 1 << 63).to_be_bytes().to_vec(),
        parent_span_id: ((s >> 3) | 1 << 62).to_be_bytes().to_vec(),
        name: format!("GET {}", routes[seq % routes.len()]),
        kind: 2, // server
        start_time_unix_nano: start,
        end_time_unix_nano: start + 350_000 + s % 7 * 10_000,
        attributes: vec![
            string("http.method", "GET"),
            string("http.route", routes[seq % routes.len()]),
            int(
                "http.status_code",
                if seq.is_multiple_of(50) { 500 } else { 200 },
            ),
            string("net.peer.name", format!("10.0.{}.{}", seq % 7, seq % 250)),
            int("net.peer.port", 40_000 + (seq % 20_000) as i64),
            string("user.id", format!("user-{:06}", seq * 7_919 % 1_000_000)),
            string(
                "http.user_agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            ),
            int("http.response_content_length", (seq % 4096) as i64 * 17),
        ],
        status: Some(Status {
            code: if seq.is_multiple_of(50) { 2 } else { 1 },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A request of `spans` spans over `resources` resources, three scopes each, `first` the
/// sequence number of the first span.
fn request(resources: usize, spans: usize, first: usize) -> ExportTraceServiceRequest {
    let scopes = [
        "io.opentelemetry.http",
        "io.opentelemetry.db",
        "app.checkout",
    ];
    let groups = resources * scopes.len();
    let mut seq = first;
    let resource_spans = (0..resources)
        .map(|r| ResourceSpans {
            resource: Some(resource(["checkout", "cart", "payments"][r % 3], r)),
            scope_spans: scopes
                .iter()
                .enumerate()
                .map(|(i, scope)| {
                    let group = r * scopes.len() + i;
                    let n = spans / groups + usize::from(group < spans % groups);
                    let spans = (seq..seq + n).map(span).collect();
                    seq += n;
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: (*scope).into(),
                            version: "0.52.0".into(),
                            ..Default::default()
                        }),
                        spans,
                        schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                    }
                })
                .collect(),
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn encoded(resources: usize, spans: usize, first: usize) -> Bytes {
    Bytes::from(request(resources, spans, first).encode_to_vec())
}

fn walk(c: &mut Criterion) {
    let bytes = encoded(2, SPANS, 0);
    assert_eq!(wire::walk(Signal::Traces, &bytes).unwrap().items, SPANS);
    let mut g = c.benchmark_group("walk");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.bench_function(BenchmarkId::new("items", SPANS), |b| {
        b.iter(|| wire::walk(Signal::Traces, black_box(&bytes)).unwrap())
    });
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(BenchmarkId::new("bytes", bytes.len()), |b| {
        b.iter(|| wire::walk(Signal::Traces, black_box(&bytes)).unwrap())
    });
    g.finish();
}

fn concat(c: &mut Criterion) {
    // CONCAT_N requests of 500 spans, as the batch processor receives them.
    let requests: Vec<Bytes> = (0..CONCAT_N).map(|i| encoded(2, 500, i * 500)).collect();
    let mut buf = Concat::new();
    let mut g = c.benchmark_group("concat");
    g.throughput(Throughput::Elements((CONCAT_N * 500) as u64));
    g.bench_function(BenchmarkId::new("requests", CONCAT_N), |b| {
        b.iter(|| {
            for r in &requests {
                buf.push(black_box(r), 500);
            }
            buf.take()
        })
    });
    g.finish();
}

fn split_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("split");
    // 16 resources of 512 spans (what concatenating 16 requests gives), cut to 2048: every cut
    // falls between resources, the pieces are slices of the input.
    let mut many = Vec::new();
    for i in 0..16 {
        many.extend_from_slice(&encoded(1, 512, i * 512));
    }
    let many = Bytes::from(many);
    assert_eq!(split(Signal::Traces, &many, 2048).unwrap().len(), 4);
    g.throughput(Throughput::Elements(16 * 512));
    g.bench_function("resource_boundaries/8192_to_2048", |b| {
        b.iter(|| split(Signal::Traces, black_box(&many), 2048).unwrap())
    });
    // One resource of 8192 spans over three scopes, cut to 1000: the resource is divided on
    // the wire, each piece repeating the resource and scope fields.
    let oversize = encoded(1, 8192, 0);
    assert_eq!(split(Signal::Traces, &oversize, 1000).unwrap().len(), 9);
    g.bench_function("oversize_resource/8192_to_1000", |b| {
        b.iter(|| split(Signal::Traces, black_box(&oversize), 1000).unwrap())
    });
    g.finish();
}

fn prost_codec(c: &mut Criterion) {
    let bytes = encoded(2, SPANS, 0);
    let decoded = Request::decode(Signal::Traces, &bytes).unwrap();
    assert_eq!(decoded.encode_to_bytes(), bytes);
    let mut g = c.benchmark_group("prost");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.bench_function("decode", |b| {
        b.iter(|| Request::decode(Signal::Traces, black_box(&bytes)).unwrap())
    });
    g.bench_function("encode", |b| {
        b.iter(|| black_box(&decoded).encode_to_bytes())
    });
    g.bench_function("decode_encode", |b| {
        b.iter(|| {
            Request::decode(Signal::Traces, black_box(&bytes))
                .unwrap()
                .encode_to_bytes()
        })
    });
    g.finish();
}

fn json_codec(c: &mut Criterion) {
    let decoded = Request::decode(Signal::Traces, &encoded(2, SPANS, 0)).unwrap();
    let json = encode_json(&decoded);
    assert_eq!(decode_json(Signal::Traces, &json).unwrap(), decoded);
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.bench_function("decode", |b| {
        b.iter(|| decode_json(Signal::Traces, black_box(&json)).unwrap())
    });
    g.bench_function("encode", |b| b.iter(|| encode_json(black_box(&decoded))));
    g.finish();
}

/// `delete` of `key`, as the `attributes` processor runs it.
fn delete(attributes: &mut Attributes<'_>, key: &[u8]) {
    for i in 0..attributes.len() {
        if !attributes.is_removed(i) && attributes.key(i) == key {
            attributes.remove(i);
        }
    }
}

/// `upsert` of `key` with the encoded `value`, as the `attributes` processor runs it.
fn upsert(attributes: &mut Attributes<'_>, key: &[u8], value: &[u8]) {
    if attributes.find(key).is_none() {
        attributes.push(key, Some(value));
        return;
    }
    for i in 0..attributes.len() {
        if !attributes.is_removed(i) && attributes.key(i) == key {
            attributes.set_value(i, Some(value));
        }
    }
}

fn rewrite(c: &mut Criterion) {
    let bytes = encoded(2, SPANS, 0);
    let mut prod = Vec::new();
    put_string_value(&mut prod, b"prod");
    let mut rewriter = AttributeRewriter::new();
    let out = rewriter
        .rewrite(Signal::Traces, &bytes, |a| delete(a, b"user.id"))
        .unwrap()
        .expect("every span has user.id");
    assert_eq!(wire::walk(Signal::Traces, &out).unwrap().items, SPANS);
    let mut g = c.benchmark_group("rewrite");
    g.throughput(Throughput::Elements(SPANS as u64));
    // Every span changes: one attribute out of eight removed.
    g.bench_function("delete", |b| {
        b.iter(|| {
            rewriter
                .rewrite(Signal::Traces, black_box(&bytes), |a| delete(a, b"user.id"))
                .unwrap()
        })
    });
    // Every span changes: one attribute added.
    g.bench_function("upsert", |b| {
        b.iter(|| {
            rewriter
                .rewrite(Signal::Traces, black_box(&bytes), |a| {
                    upsert(a, b"deployment.environment", &prod)
                })
                .unwrap()
        })
    });
    g.bench_function("delete_upsert", |b| {
        b.iter(|| {
            rewriter
                .rewrite(Signal::Traces, black_box(&bytes), |a| {
                    delete(a, b"user.id");
                    upsert(a, b"deployment.environment", &prod);
                })
                .unwrap()
        })
    });
    // No span has the key: the walk and the look-ups, no copy.
    g.bench_function("no_match", |b| {
        b.iter(|| {
            rewriter
                .rewrite(Signal::Traces, black_box(&bytes), |a| delete(a, b"absent"))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    walk,
    concat,
    split_bench,
    prost_codec,
    json_codec,
    rewrite
);
criterion_main!(benches);
