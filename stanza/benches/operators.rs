//! The operators on realistic lines, per line: the issue's `regex_parser` + `timestamp` +
//! `severity` case, `json_parser`, `key_value_parser`, `syslog_parser` (RFC 5424), and the
//! conversion of parsed entries to OTLP.
//!
//! `cargo bench -p weir-stanza --bench operators` (`-- regex` to run one). Throughput is in
//! lines per second; each iteration runs a batch of `LINES` entries, as a reader hands over.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use weir_stanza::{Entry, Pipeline, otlp};

const LINES: usize = 1000;

fn lines(make: impl Fn(usize) -> String) -> Vec<Entry> {
    (0..LINES)
        .map(|i| {
            let mut e = Entry::new(make(i), 1_700_000_000_000_000_000);
            e.attributes
                .insert("log.file.name".into(), "app.log".into());
            e
        })
        .collect()
}

fn bench(c: &mut Criterion, name: &str, operators: serde_json::Value, input: &[Entry]) {
    let mut pipeline = Pipeline::build(&operators).expect("valid operators");
    // A bench of lines that fail to parse would measure the error path instead.
    pipeline.process(input.to_vec());
    assert_eq!(
        pipeline.total_parse_errors(),
        0,
        "{name}: the lines must parse"
    );
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("process", |b| {
        b.iter(|| black_box(pipeline.process(input.to_vec())))
    });
    group.bench_function("process+otlp", |b| {
        b.iter(|| black_box(otlp::to_resource_logs(pipeline.process(input.to_vec()))))
    });
    group.finish();
}

fn operators(c: &mut Criterion) {
    let regex_lines = lines(|i| {
        format!(
            "2024-05-06 07:08:{:02}.{:03} {} [worker-{}] request {} served in {} ms",
            i % 60,
            i % 1000,
            ["INFO", "WARN", "ERROR", "DEBUG"][i % 4],
            i % 8,
            i,
            i % 250
        )
    });
    bench(
        c,
        "regex",
        json!([{
            "type": "regex_parser",
            "regex": "^(?P<time>\\S+ \\S+) (?P<sev>[A-Z]+) \\[(?P<thread>[^\\]]+)\\] (?P<msg>.*)$",
            "timestamp": {"parse_from": "attributes.time", "layout": "%Y-%m-%d %H:%M:%S.%L", "location": "UTC"},
            "severity": {"parse_from": "attributes.sev"}
        }]),
        &regex_lines,
    );
    let json_lines = lines(|i| {
        format!(
            r#"{{"ts":"2024-05-06T07:08:09.{:03}Z","level":"info","msg":"request {i}","status":200,"took_ms":{}}}"#,
            i % 1000,
            i % 250
        )
    });
    bench(
        c,
        "json",
        json!([{"type": "json_parser",
                "timestamp": {"parse_from": "attributes.ts", "layout_type": "gotime", "layout": "2006-01-02T15:04:05Z07:00"}}]),
        &json_lines,
    );
    let kv_lines = lines(|i| {
        format!(
            r#"level=info request={i} path="/api/v1/items" status=200 took={}"#,
            i % 250
        )
    });
    bench(
        c,
        "key_value",
        json!([{"type": "key_value_parser"}]),
        &kv_lines,
    );
    let syslog_lines = lines(|i| {
        format!(
            r#"<165>1 2024-05-06T07:08:09.{:03}Z host{} app {} ID47 [meta seq="{i}"] request served"#,
            i % 1000,
            i % 4,
            i % 100
        )
    });
    bench(
        c,
        "syslog",
        json!([{"type": "syslog_parser", "protocol": "rfc5424"}]),
        &syslog_lines,
    );
}

criterion_group!(benches, operators);
criterion_main!(benches);
