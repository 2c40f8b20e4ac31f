//! Parsing a 100 k-series text body and the same in OpenMetrics: the scrape loop's cost per
//! target per interval.

use criterion::{Criterion, criterion_group, criterion_main};

fn body(series: usize, openmetrics: bool) -> String {
    let mut s = String::with_capacity(series * 80);
    s.push_str("# HELP http_requests Requests served.\n# TYPE http_requests counter\n");
    for i in 0..series {
        s.push_str(&format!(
            "http_requests_total{{method=\"GET\",code=\"200\",path=\"/api/v1/item/{i}\"}} {i}\n"
        ));
    }
    if openmetrics {
        s.push_str("# EOF\n");
    }
    s
}

fn parse(c: &mut Criterion) {
    let text = body(100_000, false);
    let om = body(100_000, true);
    c.bench_function("parse_text_100k", |b| {
        b.iter(|| weir_prom::parse(text.as_bytes(), None).map(|e| e.sample_count()))
    });
    c.bench_function("parse_openmetrics_100k", |b| {
        b.iter(|| {
            weir_prom::parse(om.as_bytes(), Some("application/openmetrics-text"))
                .map(|e| e.sample_count())
        })
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
