//! Converting a parsed 100 k-series body to OTLP, as the receiver does each scrape: every
//! sample appended with the target's labels, then `finish`. The converter is kept across
//! iterations, as across scrapes, so start times are looked up, not created.

use criterion::{Criterion, criterion_group, criterion_main};
use weir_prom::otlp::{Converter, ExemplarRef, FamilyRef, Options};
use weir_prom::{Exposition, parse};

/// 90 k counter series and 1 k histograms of 9 buckets with sum and count (11 k samples),
/// about 101 k samples in all; `scope` adds the `otel_scope_*` labels an OpenTelemetry SDK's
/// exporter writes on every series.
fn body(scope: &str) -> String {
    let mut s = String::with_capacity(110_000 * 80);
    s.push_str("# HELP http_requests Requests served.\n# TYPE http_requests counter\n");
    for i in 0..90_000 {
        s.push_str(&format!(
            "http_requests_total{{{scope}method=\"GET\",code=\"200\",path=\"/api/v1/item/{i}\"}} {i}\n"
        ));
    }
    s.push_str("# HELP rpc_seconds Latency.\n# TYPE rpc_seconds histogram\n");
    for i in 0..1_000 {
        let mut cumulative = 0;
        for le in [
            "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "10", "+Inf",
        ] {
            cumulative += i % 7 + 1;
            s.push_str(&format!(
                "rpc_seconds_bucket{{{scope}service=\"s{i}\",le=\"{le}\"}} {cumulative}\n"
            ));
        }
        s.push_str(&format!(
            "rpc_seconds_sum{{{scope}service=\"s{i}\"}} {i}.5\n"
        ));
        s.push_str(&format!(
            "rpc_seconds_count{{service=\"s{i}\"}} {cumulative}\n"
        ));
    }
    s
}

fn convert(converter: &mut Converter, e: &Exposition<'_>, at: i64) -> usize {
    let mut scrape = converter.begin("http", at);
    let mut labels: Vec<(&str, &str)> = Vec::with_capacity(8);
    for family in e.families() {
        let fam = FamilyRef {
            name: family.name,
            kind: family.kind,
            help: family.help.as_deref(),
            unit: family.unit,
        };
        for sample in e.samples(family) {
            labels.clear();
            labels.push(("job", "node"));
            labels.push(("instance", "host-1:9100"));
            labels.extend(e.labels(sample).iter().map(|l| (l.name, l.value.as_ref())));
            let exemplar: Option<ExemplarRef<'_>> = None;
            let ts = sample.timestamp_ms.unwrap_or(at);
            scrape.append(
                &fam,
                sample.name,
                &labels,
                sample.value,
                ts,
                exemplar.as_ref(),
            );
        }
    }
    scrape.finish().len()
}

fn bench(c: &mut Criterion) {
    for (name, scope) in [
        ("convert_100k", ""),
        (
            "convert_100k_scoped",
            "otel_scope_name=\"io.weir.http\",otel_scope_version=\"1.4.0\",",
        ),
    ] {
        let text = body(scope);
        let exposition = parse(text.as_bytes(), None).unwrap();
        let mut converter = Converter::new(Options::default());
        let mut at = 1_700_000_000_000;
        convert(&mut converter, &exposition, at);
        c.bench_function(name, |b| {
            b.iter(|| {
                at += 15_000;
                convert(&mut converter, &exposition, at)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
